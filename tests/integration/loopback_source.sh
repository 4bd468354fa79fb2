#!/usr/bin/env bash
# loopback_source: bulk transfers and the server's process interface.
# /source?bytes=100 MiB downloaded and verified byte for byte, 10 MB uploaded
# to /sink, SIGUSR1 prints one JSON line of counters (keys from
# ops/wt_stats.h, non-zero after the traffic), SIGTERM with a session
# still open ends the process with status 0 within the drain timeout.
. "$(dirname "$0")/lib.sh"
wt_init loopback_source
wt_cert
DRAIN_MS=2000
wt_server_start --drain-timeout "$DRAIN_MS" --log-level info
T=$WT_TMP

# --- download
N=104857600
wt_client "$T/down.json" "$WT_URL/source?bytes=$N" --download "$N" --timeout 240000
wt_expect_rc "download of $N bytes from /source" 0 "$WT_RC"
wt_jcheck "download: $N pattern bytes then FIN" "$T/down.json" \
  "ops['download']['bytes_received'] == $N and ops['download']['fin_received'] and ops['download']['verified']"
wt_log "    download: $(wt_jget "$T/down.json" connections.0.sessions.0.ops.download.duration_ms) ms, $(wt_jget "$T/down.json" connections.0.sessions.0.ops.download.rate_mbps) Mbit/s, first byte after $(wt_jget "$T/down.json" connections.0.sessions.0.ops.download.first_byte_ms) ms"

# --- upload
U=10485760
wt_client "$T/up.json" "$WT_URL/sink" --upload "$U" --timeout 120000
wt_expect_rc "upload of $U bytes to /sink" 0 "$WT_RC"
wt_jcheck "upload: all bytes and FIN sent, stream completed" "$T/up.json" \
  "ops['upload']['bytes_sent'] == $U and ops['upload']['fin_sent'] and ops['upload']['verified']"
wt_log "    upload: $(wt_jget "$T/up.json" connections.0.sessions.0.ops.upload.duration_ms) ms, $(wt_jget "$T/up.json" connections.0.sessions.0.ops.upload.rate_mbps) Mbit/s"

# --- SIGUSR1: one JSON line of counters
if wt_server_stats "$T/stats.json"; then
  wt_pass "SIGUSR1 printed a JSON line"
  wt_log "    $(head -c 600 "$T/stats.json")"
  wt_jcheck "stats: one object with the documented groups" "$T/stats.json" \
    "d.get('type') == 'stats' and all(isinstance(d.get(g), dict) for g in ('connections', 'handshakes', 'sessions', 'streams', 'datagrams', 'bytes', 'packets', 'io', 'errors', 'apps', 'loop'))"
  wt_jcheck "stats: counters reflect the traffic" "$T/stats.json" \
    "d['connections']['accepted'] >= 2 and d['handshakes']['ok'] >= 2 and d['sessions']['opened'] >= 2 and d['streams']['opened'] >= 2 and d['bytes']['in'] >= $U and d['bytes']['out'] >= $N and d['packets']['in'] > 0 and d['packets']['out'] > 0 and d['apps']['source_bytes'] >= $N and d['apps']['sink_bytes'] >= $U and d['apps']['source_sessions'] >= 1 and d['apps']['sink_sessions'] >= 1"
else
  wt_failc "SIGUSR1 printed no JSON line within 5 s"
fi

# --- SIGTERM with a session still open: drain, then exit 0 in time
"$WT_BIN/wtcast-client" "$WT_URL/echo" --cert-hash "$WT_HASH" --echo hello --wait-close \
  --timeout 20000 >"$T/drain.json" 2>"$T/drain.json.err" &
client_pid=$!
WT_BG_PIDS+=("$client_pid")
sleep 1
limit=$((DRAIN_MS / 1000 + 5))
if wt_server_stop "$limit"; then
  wt_expect_rc "SIGTERM: server exit status" 0 "$WT_SERVER_RC"
  if [ "$WT_STOP_MS" -le $((DRAIN_MS + 2000)) ]; then
    wt_pass "SIGTERM: exited after $WT_STOP_MS ms (drain timeout $DRAIN_MS ms)"
  else
    wt_failc "SIGTERM: exited after $WT_STOP_MS ms, drain timeout is $DRAIN_MS ms"
  fi
else
  wt_failc "SIGTERM: server still running after $limit s (killed)"
fi
wt_wait_until 25 wt_pid_gone "$client_pid"
wait "$client_pid" 2>/dev/null
wt_log "    client during shutdown: exit $?, drain received: $(wt_jget "$T/drain.json" connections.0.sessions.0.drain_received), closed_by_server $(wt_jget "$T/drain.json" connections.0.sessions.0.closed_by_server), errors $(wt_jget "$T/drain.json" errors)"
wt_done
