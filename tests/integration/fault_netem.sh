#!/usr/bin/env bash
# fault_netem (issue #8, faults): wtcast-client -> wtcast-netem -> wtcast on
# loopback. The kernel here has no sch_netem, so the impairments come from
# the UDP proxy tools/wtcast-netem (deterministic with --seed): in each
# direction 5 % loss, 5 % reordering (held back 10 ms), 2 % duplication and
# 25 ms delay + 0..2 ms jitter (50 ms added to the round trip).
#  - a 20 MB /source download and a 5 MB bidi echo finish byte-exact (the
#    client verifies the pattern / the echo hash);
#  - 2000 datagrams: about 10 % are lost on the way there and back; the
#    loss is reported (datagrams_lost) and the run still succeeds;
#  - a path change: the proxy moves its upstream socket to a new source
#    port 1.5 s after the client's first packet, inside a 4 MB download (a
#    NAT rebinding as the server sees it; never inside the handshake, where
#    a server ignores a new path by design, RFC 9000 section 9); the
#    download verifies and the server kept one connection. The client pings
#    after 2 s of silence (--keep-alive): a rebinding that falls while only
#    the server is sending strands its packets on the old mapping, and only
#    a packet from the client shows it the new path (without the ping that
#    run waited for the 30 s idle timeout: 1 run in ~8 under ASan).
# Sizes are picked for ~1 minute in all (the transfers are bound by the
# impaired path, ~5 Mbit/s here, not by the CPU, so ASan builds take about
# as long).
. "$(dirname "$0")/lib.sh"
wt_init fault_netem
wt_cert
T=$WT_TMP
if [ ! -x "$WT_BIN/wtcast-netem" ]; then
  wt_log "FAIL: $WT_BIN/wtcast-netem is missing (not built?)"
  exit 1
fi
wt_server_start --workers 1 --log-level warn

NM_PID=
NM_OUT=
NM_PORT=
# nm_start NAME ARGS...: the proxy in front of the server; NM_PORT.
nm_start() {
  local name=$1
  shift
  NM_OUT=$T/$name.netem.json
  "$WT_BIN/wtcast-netem" --listen 127.0.0.1:0 --upstream "127.0.0.1:$WT_PORT" "$@" \
    >"$NM_OUT" 2>"$NM_OUT.err" &
  NM_PID=$!
  WT_BG_PIDS+=("$NM_PID")
  nm_port() {
    NM_PORT=$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$NM_OUT" | head -n1)
    [ -n "$NM_PORT" ]
  }
  if ! wt_wait_until 5 nm_port; then
    wt_log "FAIL: wtcast-netem did not start:"
    sed 's/^/    /' "$NM_OUT.err"
    exit 1
  fi
  wt_log "netem pid $NM_PID on 127.0.0.1:$NM_PORT ($*)"
}
# nm_stop: SIGTERM, wait; the counters are the last line of NM_OUT.
nm_stop() {
  kill -TERM "$NM_PID" 2>/dev/null
  wt_wait_until 5 wt_pid_gone "$NM_PID"
  wait "$NM_PID" 2>/dev/null
  tail -n1 "$NM_OUT" >"$NM_OUT.last"
  wt_log "    netem: $(cat "$NM_OUT.last")"
}

IMP=(--loss 5 --reorder 5 --reorder-gap 10 --dup 2 --delay 25 --jitter 2)

# --- bulk: 20 MB download, 5 MB bidi echo
nm_start bulk "${IMP[@]}" --seed 8
P=https://127.0.0.1:$NM_PORT
wt_client "$T/dl.json" "$P/source?bytes=20000000" --download 20000000 --timeout 120000
wt_expect_rc "20 MB /source download through 5 % loss, reordering, duplication, delay" 0 "$WT_RC"
wt_jcheck "download byte-exact" "$T/dl.json" \
  "ops['download']['verified'] and ops['download']['bytes_received'] == 20000000"
wt_client "$T/echo.json" "$P/echo" --bidi-bytes 5000000 --timeout 120000
wt_expect_rc "5 MB bidi echo through the same impairments" 0 "$WT_RC"
wt_jcheck "echo byte-exact" "$T/echo.json" "ops['bidi_bytes']['verified']"
nm_stop
wt_jcheck "the proxy did lose, duplicate and reorder packets both ways" "$NM_OUT.last" \
  "all(d[k]['lost'] > 0 and d[k]['duplicated'] > 0 and d[k]['reordered'] > 0 for k in ('up', 'down'))"

# --- datagrams under loss: reported, not fatal
nm_start dgram "${IMP[@]}" --seed 9
wt_client "$T/dg.json" "https://127.0.0.1:$NM_PORT/echo" --datagrams 2000 --echo hello \
  --timeout 60000
wt_expect_rc "2000 datagrams through 5 % loss each way: the run succeeds" 0 "$WT_RC"
wt_jcheck "datagram loss is reported (lost > 0) and the echoes that came back verified" \
  "$T/dg.json" \
  "d['totals']['datagrams_lost'] > 0 and d['totals']['datagrams_received'] > 1000 and s0['datagrams']['verified'] and ops['echo']['verified']"
nm_stop

# --- path change mid-session
nm_start rebind "${IMP[@]}" --seed 10 --rebind-after 1500
wt_server_stats "$T/before.json"
wt_client "$T/rb.json" "https://127.0.0.1:$NM_PORT/source?bytes=4000000" --download 4000000 \
  --timeout 90000 --keep-alive 2000
wt_expect_rc "4 MB download across a proxy rebinding (new source port at 1.5 s)" 0 "$WT_RC"
wt_jcheck "download byte-exact after the path change" "$T/rb.json" \
  "ops['download']['verified'] and ops['download']['duration_ms'] > 1500"
nm_stop
wt_jcheck "the proxy rebound once (two upstream ports)" "$NM_OUT.last" \
  "d['rebinds'] == 1 and len(set(d['upstream_ports'])) == 2"
wt_server_stats "$T/after.json"
python3 - "$T/before.json" "$T/after.json" >"$T/delta.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
print(json.dumps({"accepted": b["connections"]["accepted"] - a["connections"]["accepted"]}))
PY
wt_jcheck "one connection for the whole download (the server migrated it)" "$T/delta.json" \
  "d['accepted'] == 1"

wt_check "server still running" kill -0 "$WT_SERVER_PID"
wt_server_stop
wt_done
