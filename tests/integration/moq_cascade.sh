#!/usr/bin/env bash
# moq_cascade: the moq-lite cascade (apps/wt_apps.h "moq-lite cascade",
# docs/operations.md "Cluster") on loopback, wtcast processes with static
# peers (no registry):
#   A  the origin (no peers);
#   B  an edge of A (--cluster-peers A, --cluster-pin: A's certificate);
#   C  an edge of B (--cluster-peers B).
#  1. moq subscribers first (3 on B, 2 on C: wtcast-bench --scenario fanout
#     --verify --moq --role sub, every frame checked in order), then a moq
#     publisher on A: all complete; A holds ONE subscription of the track
#     (B's upstream) whatever the number of B's subscribers, so it sends
#     the group bytes once; they crossed each hop once (B's and C's upstream
#     bytes equal A's bytes from its publisher);
#  2. two nodes pulling from each other (D peers E, E peers D): the pull
#     stops at the hop limit with a logged error, counted.
# Every step is bounded (the verifier's --timeout plus a guard).
. "$(dirname "$0")/lib.sh"
wt_init moq_cascade
T=$WT_TMP
if [ ! -x "$WT_BIN/wtcast-bench" ]; then
  wt_log "FAIL: $WT_BIN/wtcast-bench is missing (not built yet?)"
  exit 1
fi
wt_cert
RATE=200 N=300 G=15
if wt_sanitized; then
  RATE=80 N=150
fi
PIN=(--cluster-pin "$WT_HASH")
MOQ=(--moq --transport stream --group-msgs $G --count $N)
# fo / fo_bg OUT PORT ARGS...: the verifier against 127.0.0.1:PORT.
fo() { wt_fo "$1" "https://127.0.0.1:$2" "${@:3}"; }
fo_bg() { wt_fo_bg "$1" "https://127.0.0.1:$2" "${@:3}"; }

wt_node A
wt_node B --cluster-peers "127.0.0.1:$A_PORT" "${PIN[@]}"
wt_node C --cluster-peers "127.0.0.1:$B_PORT" "${PIN[@]}"

# ------------------------------------------------------------------ 1. A -> B -> C, subscribers first
fo_bg "$T/b1.json" "$B_PORT" --role sub --ch m1 --subs 3 "${MOQ[@]}" --timeout 40 --idle 8000
pb=$FO_PID
fo_bg "$T/c1.json" "$C_PORT" --role sub --ch m1 --subs 2 "${MOQ[@]}" --timeout 40 --idle 8000
pc=$FO_PID
# shellcheck disable=SC2317
pulling() {
  grep -q 'broadcast moq/m1/b: upstream open' "$B_ERR" &&
    grep -q 'broadcast moq/m1/b: upstream open' "$C_ERR"
}
if wt_wait_until 10 pulling; then
  wt_pass "1: B and C opened their upstream sessions for moq/m1/b before any publisher"
  fo "$T/a1.json" "$A_PORT" --role pub --ch m1 "${MOQ[@]}" --rate $RATE --timeout 30
  wt_expect_rc "1: the publisher on A" 0 "$FO_RC"
  wt_fo_wait "$pb" 30
  wt_fo_figures "$T/b1.json"
  wt_expect_rc "1: B's 3 subscribers" 0 "$FO_RC"
  wt_fo_wait "$pc" 30
  wt_fo_figures "$T/c1.json"
  wt_expect_rc "1: C's 2 subscribers" 0 "$FO_RC"
  for n in b c; do
    wt_jcheck "1: $n: every group complete, in order, nothing torn or corrupt" "$T/${n}1.json" \
      "d['roles']['sub']['groups_complete'] == d['roles']['sub']['groups_expected'] > 0 and d['roles']['sub']['groups_torn'] == 0 and d['roles']['sub']['corrupt'] == 0 and d['roles']['sub']['subscribers_complete'] == d['roles']['sub']['sessions']"
  done
  wt_node_json A "$T/a1.stats" && wt_node_json B "$T/b1.stats" && wt_node_json C "$T/c1.stats"
  ain=$(wt_relay_apps "$T/a1.stats" moq_bytes_in)
  bup=$(wt_relay_apps "$T/b1.stats" cluster_upstream_bytes)
  cup=$(wt_relay_apps "$T/c1.stats" cluster_upstream_bytes)
  wt_log "group bytes: A from its publisher $ain, B from A $bup, C from B $cup"
  adel=$(wt_relay_apps "$T/a1.stats" moq_delivered_bytes)
  bop=$(wt_relay_apps "$T/b1.stats" cluster_upstream_opened)
  cop=$(wt_relay_apps "$T/c1.stats" cluster_upstream_opened)
  wt_log "A delivered $adel group bytes (to B's one upstream session); upstream sessions opened: B $bop, C $cop"
  wt_check "1: A subscribed its publisher's track once" \
    test "$(wt_relay_apps "$T/a1.stats" moq_upstream_subscribes)" = 1
  wt_check "1: A delivered the group bytes once (to B), not once per B subscriber" \
    test "$adel" -ge "$ain" -a "$adel" -lt $((2 * ain))
  wt_check "1: upstream bytes once per node (B = C = A's, > 0)" \
    test "$ain" -gt 0 -a "$bup" = "$ain" -a "$cup" = "$ain"
  # B's may have re-opened once with C's hop count (while nothing flowed)
  wt_check "1: one upstream session on C, at most two on B" test "$cop" = 1 -a "$bop" -le 2
else
  wt_failc "1: no upstream sessions within 10 s"
  grep -h 'moq/m1' "$B_ERR" "$C_ERR" | tail -n 6 | sed 's/^/    /'
fi
kill -KILL "$pb" "$pc" 2>/dev/null
wait "$pb" "$pc" 2>/dev/null

# ------------------------------------------------------------------ 2. a loop stops at the hop limit
EP=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
wt_node D --cluster-peers "127.0.0.1:$EP" "${PIN[@]}"
WT_LISTEN=127.0.0.1:$EP wt_node E --cluster-peers "127.0.0.1:$D_PORT" "${PIN[@]}"
fo_bg "$T/d2.json" "$D_PORT" --role sub --ch loop --subs 1 "${MOQ[@]}" --timeout 8 --idle 8000
p2=$FO_PID
# shellcheck disable=SC2317
hoplog() { grep -q 'broadcast moq/loop/b: not pulled: a subscription came with hops=' "$D_ERR" "$E_ERR"; }
if wt_wait_until 15 hoplog; then
  wt_pass "2: the loop D <-> E stopped at the hop limit: $(grep -h 'not pulled' "$D_ERR" "$E_ERR" | head -n1 | sed 's/.*broadcast/broadcast/')"
else
  wt_failc "2: no hop-limit error within 15 s"
  grep -h 'loop' "$D_ERR" "$E_ERR" | tail -n 8 | sed 's/^/    /'
fi
sleep 1 # nothing more happens: no new upstream sessions
n1=$(cat "$D_ERR" "$E_ERR" | grep -c 'broadcast moq/loop/b: pulling from')
sleep 1
n2=$(cat "$D_ERR" "$E_ERR" | grep -c 'broadcast moq/loop/b: pulling from')
wt_check "2: no more pulls after the limit ($n1 in all)" test "$n1" = "$n2"
wt_node_json D "$T/d2.stats" && wt_node_json E "$T/e2.stats"
wt_check "2: counted (cluster_hops_refused)" \
  test $(($(wt_relay_apps "$T/d2.stats" cluster_hops_refused) + $(wt_relay_apps "$T/e2.stats" cluster_hops_refused))) -ge 1
kill -KILL "$p2" 2>/dev/null
wait "$p2" 2>/dev/null

wt_done
