#!/usr/bin/env bash
# relay_cascade: the origin -> edge relay cascade (apps/wt_apps.h "Cascade",
# docs/operations.md "Cluster") on loopback, three wtcast processes:
#   A  the origin (no peers);
#   B  an edge of A (--cluster-peers A, --cluster-pin: A's certificate);
#   C  an edge of B (--cluster-peers B).
#  1. a publisher on A, 3 subscribers on B and 2 on C (wtcast-bench --scenario
#     fanout --verify, which checks every datagram and every group byte in
#     order): all complete; A counts exactly ONE subscriber of the channel
#     (B's upstream) whatever the number of B's subscribers, B one (C's);
#     the edges count their upstream sessions, groups and bytes;
#  2. a late joiner on C starts at a group start (from C's own cache);
#  3. A restarted on the same port while B's subscribers stay: B logs the
#     upstream loss, re-subscribes, and its subscribers see only whole-group
#     gaps (nothing torn or corrupt) and the new publisher's data;
#  4. two nodes pulling from each other (D peers E, E peers D): the channel
#     stops at the hop limit with a logged error, counted;
#  5. A with --auth-keys: B without a token is refused (B logs the 401),
#     with --cluster-token it works.
# Every step is bounded (the verifier's --timeout plus a guard).
. "$(dirname "$0")/lib.sh"
wt_init relay_cascade
T=$WT_TMP
if [ ! -x "$WT_BIN/wtcast-bench" ]; then
  wt_log "FAIL: $WT_BIN/wtcast-bench is missing (not built yet?)"
  exit 1
fi
wt_cert
# message counts: a sanitizer build (every process several times slower)
# sends fewer at a lower rate
RATE=200 N=300 N3=150
if wt_sanitized; then
  RATE=60 N=150 N3=90
fi

# node NAME ARGS...: start a wtcast (wt_server_start) and remember it as
# NAME_PID, NAME_PORT, NAME_OUT, NAME_ERR.
node() { wt_node "$@"; }
node_stats() { wt_node_json "$@"; }
# fo / fo_bg OUT PORT ARGS...: the verifier against 127.0.0.1:PORT.
fo() { wt_fo "$1" "https://127.0.0.1:$2" "${@:3}"; }
fo_bg() { wt_fo_bg "$1" "https://127.0.0.1:$2" "${@:3}"; }

PIN=(--cluster-pin "$WT_HASH")
node A
node B --cluster-peers "127.0.0.1:$A_PORT" "${PIN[@]}"
node C --cluster-peers "127.0.0.1:$B_PORT" "${PIN[@]}"

# ------------------------------------------------------------------ 1. A -> B -> C
G=15
fo_bg "$T/b1.json" "$B_PORT" --role sub --ch k1 --subs 3 --transport both --count $N \
  --group-msgs $G --timeout 40 --idle 8000 --ready-file "$T/b1.ready"
pb=$FO_PID
fo_bg "$T/c1.json" "$C_PORT" --role sub --ch k1 --subs 2 --transport both --count $N \
  --group-msgs $G --timeout 40 --idle 8000 --ready-file "$T/c1.ready"
pc=$FO_PID
if wt_wait_until 10 wt_ready "$T/b1.ready" && wt_wait_until 10 wt_ready "$T/c1.ready"; then
  sleep 1 # the upstream sessions open (B -> A, C -> B)
  fo "$T/a1.json" "$A_PORT" --role pub --ch k1 --transport both --count $N --rate $RATE \
    --group-msgs $G --timeout 30
  wt_expect_rc "1: the publisher on A" 0 "$FO_RC"
  wt_fo_wait "$pb" 30
  wt_fo_figures "$T/b1.json"
  wt_expect_rc "1: B's 3 subscribers" 0 "$FO_RC"
  wt_fo_wait "$pc" 30
  wt_fo_figures "$T/c1.json"
  wt_expect_rc "1: C's 2 subscribers" 0 "$FO_RC"
  for n in b c; do
    wt_jcheck "1: $n: every datagram and group complete" "$T/${n}1.json" \
      "d['roles']['sub']['groups_complete'] == d['roles']['sub']['groups_expected'] and d['roles']['sub']['delivered_datagrams'] == d['roles']['sub']['expected_datagrams'] and d['roles']['sub']['groups_torn'] == 0 and d['roles']['sub']['corrupt'] == 0"
  done
else
  wt_failc "1: the subscribers did not get their sessions within 10 s"
fi
# counts while a second round of subscribers is attached
fo_bg "$T/b1x.json" "$B_PORT" --role sub --ch k1x --subs 4 --count 100000 --timeout 20 \
  --idle 20000 --ready-file "$T/b1x.ready"
pbx=$FO_PID
if wt_wait_until 10 wt_ready "$T/b1x.ready"; then
  sleep 1
  node_stats A "$T/a1.stats" && node_stats B "$T/b1.stats"
  wt_check "1: A has exactly one subscriber of k1x (B's upstream) for B's 4" \
    test "$(wt_relay_chan "$T/a1.stats" k1x subscribers)" = 1
  wt_check "1: B has 4 subscribers of k1x" test "$(wt_relay_chan "$T/b1.stats" k1x subscribers)" = 4
  wt_check "1: B counts its upstream sessions (k1 and k1x)" \
    test "$(wt_relay_apps "$T/b1.stats" cluster_upstream_opened)" -ge 2
  wt_check "1: B received k1's groups from upstream" \
    test "$(wt_relay_apps "$T/b1.stats" cluster_upstream_groups)" -ge $((N / G))
  wt_log "B: upstream bytes $(wt_relay_apps "$T/b1.stats" cluster_upstream_bytes), A delivered to B: $(wt_relay_chan "$T/a1.stats" k1 delivered.stream_bytes) stream bytes for k1 (1x: B's 3 subscribers cost A one)"
  wt_check "1: A sent k1's group bytes once (to B), not once per B subscriber" \
    test "$(wt_relay_chan "$T/a1.stats" k1 delivered.stream_bytes)" -le "$(wt_relay_chan "$T/a1.stats" k1 published.stream_bytes)"
fi
kill -KILL "$pbx" 2>/dev/null
wait "$pbx" 2>/dev/null

# ------------------------------------------------------------------ 2. late joiner on C
fo_bg "$T/c2sub.json" "$C_PORT" --role sub --ch k2b --subs 1 --transport stream --count 200 \
  --group-msgs 20 --timeout 30 --idle 8000 --ready-file "$T/c2.ready"
p2=$FO_PID
if wt_wait_until 10 wt_ready "$T/c2.ready"; then
  sleep 1
  fo_bg "$T/a2.json" "$A_PORT" --role pub --ch k2b --transport stream --count 200 --rate 100 \
    --group-msgs 20 --timeout 30
  pa2=$FO_PID
  sleep 1.1 # mid-group (every 0.2 s a group starts)
  fo "$T/c2late.json" "$C_PORT" --role sub --ch k2b --subs 1 --transport stream --count 200 \
    --group-msgs 20 --timeout 30 --idle 1500
  wt_fo_figures "$T/c2late.json"
  wt_jcheck "2: the late joiner on C started at a group start and lost nothing after" \
    "$T/c2late.json" "d['roles']['sub']['groups_torn'] == 0 and d['roles']['sub']['corrupt'] == 0 and d['roles']['sub']['groups_complete'] > 0"
  wt_fo_wait "$pa2" 30
  wt_fo_wait "$p2" 30
fi

# ------------------------------------------------------------------ 3. A restarted: B re-subscribes
fo_bg "$T/b3.json" "$B_PORT" --role sub --ch k3 --subs 3 --pubs 2 --transport both --count $N3 \
  --group-msgs 15 --timeout 50 --idle 15000 --ready-file "$T/b3.ready"
p3=$FO_PID
if wt_wait_until 10 wt_ready "$T/b3.ready"; then
  sleep 1
  fo "$T/a3a.json" "$A_PORT" --role pub --ch k3 --count $N3 --rate $RATE --group-msgs 15 \
    --pub-id 1 --timeout 20
  wt_expect_rc "3: the first publisher on A" 0 "$FO_RC"
  WT_SERVER_PID=$A_PID
  t0=$(date +%s%N)
  wt_server_stop 10
  WT_LISTEN=127.0.0.1:$A_PORT node A
  # shellcheck disable=SC2317
  resub() { grep -q 'channel k3: pulling from' "$B_ERR" && [ "$(grep -c 'channel k3: upstream open' "$B_ERR")" -ge 2 ]; }
  if wt_wait_until 15 resub; then
    t1=$(date +%s%N)
    wt_pass "3: B re-subscribed to the restarted A ($(((t1 - t0) / 1000000)) ms after the stop began)"
  else
    wt_failc "3: B did not re-subscribe within 15 s"
    grep -i 'k3' "$B_ERR" | tail -n 5 | sed 's/^/    /'
  fi
  fo "$T/a3b.json" "$A_PORT" --role pub --ch k3 --count $N3 --rate $RATE --group-msgs 15 \
    --pub-id 2 --timeout 20
  wt_expect_rc "3: the publisher on the restarted A" 0 "$FO_RC"
  wt_fo_wait "$p3" 40
  wt_fo_figures "$T/b3.json"
  wt_jcheck "3: B's subscribers saw whole groups only, and the new publisher's data" "$T/b3.json" \
    "d['roles']['sub']['groups_torn'] == 0 and d['roles']['sub']['corrupt'] == 0 and d['roles']['sub']['groups_complete'] >= 3 * $N3 // 15 * 3 // 2"
else
  wt_failc "3: the subscribers did not get their sessions within 10 s"
fi

# ------------------------------------------------------------------ 4. a loop stops at the hop limit
# E's port is not known before it starts: D points at a port E then takes.
EP=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
node D --cluster-peers "127.0.0.1:$EP" "${PIN[@]}"
WT_LISTEN=127.0.0.1:$EP node E --cluster-peers "127.0.0.1:$D_PORT" "${PIN[@]}"
fo_bg "$T/d4.json" "$D_PORT" --role sub --ch loop --subs 1 --count 10 --timeout 8 --idle 8000 \
  --ready-file "$T/d4.ready"
p4=$FO_PID
# shellcheck disable=SC2317
hoplog() { grep -q 'channel loop: not pulled: a subscription came with hops=' "$D_ERR" "$E_ERR"; }
if wt_wait_until 15 hoplog; then
  wt_pass "4: the loop D <-> E stopped at the hop limit: $(grep -h 'channel loop: not pulled' "$D_ERR" "$E_ERR" | head -n1 | sed 's/.*channel loop/channel loop/')"
else
  wt_failc "4: no hop-limit error within 15 s"
  grep -h 'loop' "$D_ERR" "$E_ERR" | tail -n 8 | sed 's/^/    /'
fi
sleep 1 # nothing more happens: no new upstream sessions
n1=$(cat "$D_ERR" "$E_ERR" | grep -c 'channel loop: pulling from')
sleep 1
n2=$(cat "$D_ERR" "$E_ERR" | grep -c 'channel loop: pulling from')
wt_check "4: no more pulls after the limit ($n1 in all)" test "$n1" = "$n2"
node_stats D "$T/d4.stats" && node_stats E "$T/e4.stats"
wt_check "4: counted (cluster_hops_refused)" \
  test $(($(wt_relay_apps "$T/d4.stats" cluster_hops_refused) + $(wt_relay_apps "$T/e4.stats" cluster_hops_refused))) -ge 1
kill -KILL "$p4" 2>/dev/null
wait "$p4" 2>/dev/null

# ------------------------------------------------------------------ 5. auth on the origin
TOK=$WT_BIN/wtcast-token
if "$TOK" generate --key "$T/hs.jwk" --id chs >/dev/null 2>"$T/tok.err" &&
  "$TOK" sign --key "$T/hs.jwk" --root live --subscribe "" --ttl 3600 >"$T/edge.jwt" 2>>"$T/tok.err"; then
  node F --auth-keys "$T/hs.jwk"
  node G --cluster-peers "127.0.0.1:$F_PORT" "${PIN[@]}"
  node H --cluster-peers "127.0.0.1:$F_PORT" "${PIN[@]}" --cluster-token "$T/edge.jwt"
  fo_bg "$T/g5.json" "$G_PORT" --role sub --ch live/a5 --subs 1 --count 10 --timeout 8 --idle 8000
  p5g=$FO_PID
  fo_bg "$T/h5.json" "$H_PORT" --role sub --ch live/a5 --subs 1 --count 10 --timeout 8 --idle 8000
  p5h=$FO_PID
  # shellcheck disable=SC2317
  refused() { grep -q 'channel live/a5: upstream refused: status 401' "$G_ERR"; }
  if wt_wait_until 10 refused; then
    wt_pass "5: without a token the edge is refused: $(grep -m1 'channel live/a5: upstream refused' "$G_ERR" | sed 's/.*channel live/channel live/')"
  else
    wt_failc "5: no 401 logged by the edge without a token"
    tail -n 5 "$G_ERR" | sed 's/^/    /'
  fi
  # shellcheck disable=SC2317
  admitted() { grep -q 'channel live/a5: upstream open' "$H_ERR"; }
  if wt_wait_until 10 admitted; then
    wt_pass "5: with --cluster-token the edge's upstream /sub is admitted"
  else
    wt_failc "5: the edge with a token got no upstream session"
    tail -n 5 "$H_ERR" | sed 's/^/    /'
  fi
  # the token travels in the upstream CONNECT's query: never in a log line
  # shellcheck disable=SC2317
  no_token_logged() { grep -q 'connecting to .* for /sub$' "$H_ERR" && ! grep -qF "$(cat "$T/edge.jwt")" "$H_ERR"; }
  wt_check "5: the edge logs its outgoing CONNECT without the query (the token is not in its log)" no_token_logged
  kill -KILL "$p5g" "$p5h" 2>/dev/null
  wait "$p5g" "$p5h" 2>/dev/null
else
  wt_failc "5: wtcast-token could not make a key and a token"
  sed 's/^/    /' "$T/tok.err"
fi

# ------------------------------------------------------------------ 6. an edge stops gracefully
# A fresh edge I of A (no killed client holding a connection) with a live
# upstream (lingering after its subscriber left): SIGTERM
# drains it; its upstream is left at once and no new one is opened while
# it stops, so it is done well before the linger (2 s) or the drain
# timeout (5 s) would end it.
node I --cluster-peers "127.0.0.1:$A_PORT" "${PIN[@]}"
fo "$T/i6.json" "$I_PORT" --role sub --ch k6 --subs 1 --count 100000 --timeout 1 --idle 20000
# shellcheck disable=SC2317
up6() { grep -q 'channel k6: upstream open' "$I_ERR"; }
if up6; then
  WT_SERVER_PID=$I_PID
  if wt_server_stop 10 && [ "$WT_STOP_MS" -lt 1800 ]; then
    wt_pass "6: an edge with a live upstream stopped in $WT_STOP_MS ms (status $WT_SERVER_RC)"
  else
    wt_failc "6: the edge took $WT_STOP_MS ms to stop (status $WT_SERVER_RC)"
    grep 'k6' "$I_ERR" | tail -n 5 | sed 's/^/    /'
  fi
else
  wt_failc "6: no upstream for k6 on I"
fi

# (the other nodes are killed by the cleanup: a graceful stop of each is
# covered by ops_drain, case 3 stopped an origin and case 6 an edge)
wt_done
