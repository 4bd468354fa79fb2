#!/usr/bin/env bash
# ops_drain: SIGTERM drains. With a 200 MB echo in flight the server sends
# GOAWAY + DRAIN (the client sees it), refuses new sessions, lets the echo
# complete (hash-checked) and exits 0 once the client has left, before the
# drain timeout; with a session that never leaves it closes at the drain
# timeout.
. "$(dirname "$0")/lib.sh"
wt_init ops_drain
wt_cert
T=$WT_TMP
N=400000000
DRAIN_MS=60000

wt_server_start --workers 1 --drain-timeout "$DRAIN_MS"
wt_client_bg() { # OUT URL ARGS...: like wt_client, in the background (pid in BG)
  local out=$1 url=$2
  shift 2
  timeout -k 5 150 "$WT_BIN/wtcast-client" "$url" --cert-hash "$WT_HASH" "$@" >"$out" 2>"$out.err" &
  BG=$!
}
# --hold keeps the session 3 s past the echo: on a fast machine 400 MB echo
# in under a second, so without it the SIGTERM below could come after the
# client had already left (seen under load); the drain must still find the
# connection and let the client leave by itself.
wt_client_bg "$T/big.json" "$WT_URL/echo" --bidi-bytes "$N" --hold 3000 --timeout 120000 \
  --log-level info
BIG=$BG

# SIGTERM once the echo is under way (the session is open and the first MB
# has arrived: a fixed delay is not enough in a sanitizer build next to
# another test); the server's log below proves the connection was still
# there, and the figure says how much of the echo was still to come
echo_started() {
  wt_server_stats "$T/pre.json" && python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["sessions"]["active"] >= 1 and d["bytes"]["in"] > 1000000 else 1)' "$T/pre.json"
}
wt_check "the echo started" wt_wait_until 30 echo_started
t0=$(date +%s%N)
kill -TERM "$WT_SERVER_PID"
wt_check "server logged the drain" wt_wait_until 5 grep -q 'SIGTERM: draining' "$WT_SERVER_ERR"
wt_check "the session was live at SIGTERM (draining 1 connection)" wt_wait_until 5 \
  grep -q 'draining 1 connection(s)' "$WT_SERVER_ERR"
echo "figure: echo bytes received by the server before SIGTERM: $(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["bytes"]["in"])' "$T/pre.json") of $N"

# a new session while draining is not served
timeout -k 5 20 "$WT_BIN/wtcast-client" "$WT_URL/echo" --cert-hash "$WT_HASH" --echo late \
  --timeout 5000 >"$T/late.json" 2>"$T/late.json.err"
LATE_RC=$?
if [ "$LATE_RC" != 0 ] && ! wt_jtest "$T/late.json" 'ops.get("echo", {}).get("verified")'; then
  wt_pass "a new session during the drain is not served (client exit $LATE_RC)"
else
  wt_failc "a new session during the drain was served (client exit $LATE_RC)"
fi

wait "$BIG"
BIG_RC=$?
wt_figures "$T/big.json"
wt_expect_rc "the in-flight echo" 0 "$BIG_RC"
wt_jcheck "client saw DRAIN (GOAWAY/DRAIN_WEBTRANSPORT_SESSION)" "$T/big.json" 's0.get("drain_received") is True'
wt_jcheck "the in-flight echo completed: $N bytes back, hashes equal" "$T/big.json" \
  "ops['bidi_bytes']['bytes_received'] == $N and ops['bidi_bytes']['sent_hash'] == ops['bidi_bytes']['received_hash'] and ops['bidi_bytes']['verified']"

if wt_wait_until 20 wt_server_gone; then
  wait "$WT_SERVER_PID" 2>/dev/null
  rc=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  WT_SERVER_PID=
  wt_expect_rc "server exit after the drain" 0 "$rc"
  if [ "$ms" -lt "$DRAIN_MS" ]; then
    wt_pass "server left once the client had gone ($ms ms after SIGTERM, drain timeout $DRAIN_MS ms)"
  else
    wt_failc "server took $ms ms (drain timeout $DRAIN_MS ms)"
  fi
else
  wt_failc "server still running 20 s after the client left"
fi

# --- a session that stays: closed at the drain timeout
wt_server_start --workers 1 --drain-timeout 1500
wt_client_bg "$T/stay.json" "$WT_URL/echo" --echo hi --hold 30000 --timeout 40000
STAY=$BG
sleep 1
wt_server_stop 15
wt_expect_rc "server exits at the drain timeout" 0 "$WT_SERVER_RC"
if [ "$WT_STOP_MS" -ge 1400 ] && [ "$WT_STOP_MS" -lt 10000 ]; then
  wt_pass "closed after the drain timeout ($WT_STOP_MS ms, timeout 1500 ms)"
else
  wt_failc "stop took $WT_STOP_MS ms (drain timeout 1500 ms)"
fi
wait "$STAY"
wt_jcheck "the staying client saw DRAIN first" "$T/stay.json" 's0.get("drain_received") is True'
wt_done
