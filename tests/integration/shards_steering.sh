#!/usr/bin/env bash
# shards_steering: several shards in one SO_REUSEPORT group with Connection-ID
# steering (shards/wt_runtime.h, wt_steer.h, wt_fwd.h).
#  - --workers 2 (default datapath) and --workers 4 (portable datapath; 4
#    shards on 2 cores is fine): 64 echo connections verify, every shard
#    holds connections, and with the cBPF program attached nothing is
#    forwarded between shards;
#  - --steering=off: the kernel hashes by address, shards forward datagrams
#    to their owners (forwarded > 0) and every echo still verifies;
#  - a second wtcast on the same port exits 1 with a clear message while the
#    first keeps serving;
#  - its threads have distinct names (ps -T, top -H): wt-shard-0/1, and
#    wt-app-0/1 unless the apps run inline on the shard threads.
. "$(dirname "$0")/lib.sh"
wt_init shards_steering
wt_cert
T=$WT_TMP
WT_TRUST=(--insecure)

# stats_check LABEL FILE WORKERS STEERING(on|off)
stats_check() {
  local label=$1 f=$2 n=$3 steer=$4
  wt_log "    shards: $(wt_jget "$f" shards)"
  wt_jcheck "$label: per-shard values for $n shards, totals kept" "$f" \
    "len(d['shards']) == $n and d['steering']['workers'] == $n and d['connections']['accepted'] == sum(s['conns_accepted'] for s in d['shards']) and d['sessions']['opened'] >= 64"
  wt_jcheck "$label: connections on every shard" "$f" \
    "all(s['conns_accepted'] > 0 and s['sessions_opened'] > 0 and s['packets_in'] > 0 for s in d['shards'])"
  if [ "$steer" = on ]; then
    if wt_jtest "$f" "d['steering']['attached'] == 1"; then
      wt_jcheck "$label: steering attached, nothing forwarded" "$f" \
        "d['forwarding']['out'] == 0 and d['forwarding']['in'] == 0 and all(s['forwarded_out'] == 0 and s['forwarded_in'] == 0 for s in d['shards'])"
    else
      wt_log "    SKIP zero-forwarding check: the kernel refused the steering program"
    fi
  else
    wt_jcheck "$label: steering off, datagrams forwarded to their owners" "$f" \
      "d['steering']['attached'] == 0 and d['forwarding']['out'] > 0 and d['forwarding']['in'] == d['forwarding']['out'] and d['forwarding']['drops'] == 0"
  fi
}

# run_case LABEL WORKERS STEERING [wtcast args...]
run_case() {
  local label=$1 n=$2 steer=$3
  shift 3
  wt_server_start --workers "$n" --steering="$steer" "$@"
  wt_client "$T/$label.json" "$WT_URL/echo" --connections 64 --echo hi --timeout 20000
  wt_expect_rc "$label: 64 echo connections" 0 "$WT_RC"
  wt_jcheck "$label: every echo verified" "$T/$label.json" \
    "t.get('sessions') == 64 and t.get('sessions_verified') == 64"
  if wt_server_stats "$T/$label.stats.json"; then
    stats_check "$label" "$T/$label.stats.json" "$n" "$steer"
  else
    wt_failc "$label: SIGUSR1 printed no JSON line"
  fi
  wt_server_finish "$label"
}

run_case w2 2 on
run_case w4 4 on --io portable
run_case w2off 2 off
run_case w4off 4 off --io portable

# --- a second wtcast on the same port refuses to start
wt_server_start --workers 2
first=$WT_SERVER_PID
timeout -k 2 10 "$WT_BIN/wtcast" --listen "127.0.0.1:$WT_PORT" --cert "$WT_CERT" --key "$WT_KEY" \
  --workers 2 >"$T/second.out" 2>"$T/second.err"
rc=$?
wt_expect_rc "second wtcast on port $WT_PORT" 1 "$rc"
wt_log "    its message: $(grep -m1 'already serving' "$T/second.err")"
if grep -q "another wtcast (pid $first) is already serving 127.0.0.1:$WT_PORT" "$T/second.err"; then
  wt_pass "second wtcast names the running one (pid $first) and the address"
else
  wt_failc "second wtcast: no clear message; stderr: $(tail -n 3 "$T/second.err")"
fi
wt_check "the first wtcast is still running" kill -0 "$first"
names=$(cat /proc/"$first"/task/*/comm 2>/dev/null | sort | tr '\n' ' ')
wt_log "    thread names: $names"
want="wt-shard-0 wt-shard-1"
[ "${WTCAST_APPS:-}" = inline ] || want="$want wt-app-0 wt-app-1"
for n in $want; do
  wt_check "a thread is named $n" grep -qw -- "$n" <<<"$names"
done
wt_check "every thread name is distinct" test "$(cat /proc/"$first"/task/*/comm | grep '^wt-' | sort | uniq -d)" = ""
wt_client "$T/after.json" "$WT_URL/echo" --connections 8 --echo again --timeout 20000
wt_expect_rc "the first wtcast still serves" 0 "$WT_RC"
wt_jcheck "echo after the refused start verified" "$T/after.json" \
  "t.get('sessions') == 8 and t.get('sessions_verified') == 8"
wt_server_finish
wt_done
