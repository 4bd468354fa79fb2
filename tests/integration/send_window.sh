#!/usr/bin/env bash
# send_window: an application stream's send credit grows with its
# connection's congestion window (shards/wt_app_ctx.c, --stream-send-window
# and --stream-send-window-max).
# A 1 MiB credit caps one stream at 1 MiB per round trip: ~400 Mbit/s at a
# 20 ms RTT, far below what the path could carry. Through wtcast-netem
# (10 ms each way, no loss; the kernel here has no sch_netem):
#  - default server: a 32 MB /source download verifies byte for byte and
#    the stream's window grew (apps.send_window_grows > 0 in the SIGUSR1
#    line, wtcast_app_send_window_grows_total on /metrics);
#  - --stream-send-window-max 1048576 (= the initial window: no growth,
#    the behaviour before): the same download verifies and nothing grew;
#  - a --stream-send-window below one buffer is refused with a clear error.
# The two rates are printed for the reader, never compared (CI machines
# vary).
. "$(dirname "$0")/lib.sh"
wt_init send_window
wt_cert
T=$WT_TMP
if [ ! -x "$WT_BIN/wtcast-netem" ]; then
  wt_log "FAIL: $WT_BIN/wtcast-netem is missing (not built?)"
  exit 1
fi
N=32000000

NM_PID=
NM_OUT=
NM_PORT=
nm_port() {
  NM_PORT=$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$NM_OUT" | head -n1)
  [ -n "$NM_PORT" ]
}
# nm_start NAME: the proxy in front of the current server; NM_PORT.
nm_start() {
  NM_OUT=$T/$1.netem.json
  "$WT_BIN/wtcast-netem" --listen 127.0.0.1:0 --upstream "127.0.0.1:$WT_PORT" --delay 10 \
    --queue-max 100000 --seed 1 >"$NM_OUT" 2>"$NM_OUT.err" &
  NM_PID=$!
  WT_BG_PIDS+=("$NM_PID")
  if ! wt_wait_until 5 nm_port; then
    wt_log "FAIL: wtcast-netem did not start:"
    sed 's/^/    /' "$NM_OUT.err"
    exit 1
  fi
}
nm_stop() {
  kill -TERM "$NM_PID" 2>/dev/null
  wt_wait_until 5 wt_pid_gone "$NM_PID"
  wait "$NM_PID" 2>/dev/null
}

# run NAME [server args...]: one server + proxy, one download, the stats.
run() {
  local name=$1
  shift
  wt_server_start --workers 1 --log-level warn --metrics 127.0.0.1:0 "$@"
  nm_start "$name"
  wt_client "$T/$name.json" "https://127.0.0.1:$NM_PORT/source?bytes=$N" --download "$N" \
    --timeout 120000
  wt_expect_rc "$name: $N-byte /source download over a 20 ms round trip" 0 "$WT_RC"
  wt_jcheck "$name: byte-exact" "$T/$name.json" \
    "ops['download']['verified'] and ops['download']['bytes_received'] == $N"
  wt_log "    $name: $(wt_jget "$T/$name.json" connections.0.sessions.0.ops.download.rate_mbps) Mbit/s"
  wt_server_stats "$T/$name.stats.json" || wt_log "FAIL: $name: no SIGUSR1 line"
  nm_stop
}

run grow
wt_jcheck "default: the stream's send window grew" "$T/grow.stats.json" \
  "d['apps']['send_window_grows'] > 0"
murl=$(sed -n 's/^metrics on \(http:[^ ]*\)$/\1/p' "$WT_SERVER_OUT" | head -n1)
if [ -n "$murl" ]; then
  python3 - "$murl" >"$T/metrics.txt" <<'PY'
import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())
PY
  wt_check "/metrics: wtcast_app_send_window_grows_total > 0" \
    awk '$1 == "wtcast_app_send_window_grows_total" && $2 > 0 {ok = 1} END {exit !ok}' "$T/metrics.txt"
else
  wt_failc "no 'metrics on URL' line on stdout"
fi
wt_server_stop

run fixed --stream-send-window-max 1048576
wt_jcheck "--stream-send-window-max = the initial window: nothing grew" "$T/fixed.stats.json" \
  "d['apps']['send_window_grows'] == 0"
wt_server_stop

"$WT_BIN/wtcast" --listen 127.0.0.1:0 --cert "$WT_CERT" --key "$WT_KEY" \
  --stream-send-window 100 >"$T/bad.out" 2>"$T/bad.err"
wt_expect_rc "--stream-send-window 100 is refused (bad usage)" 2 "$?"
wt_check "the refusal names the option" grep -q -- "--stream-send-window" "$T/bad.err"
wt_done
