#!/usr/bin/env bash
# flood_hostile (issue 17, memory accounted as held): tools/wtcast-flood
# --mode hostile on loopback against one wtcast shard: clients that send
# 1-byte STREAM frames (each a frame of its own) on many streams and
# sessions while holding their receive windows at 256 bytes and never
# consuming what the server sends back, so no echo can drain.
#   echo       4 connections x 64 bidi streams on /echo, 1000 bytes each
#   pub        4 connections x 16 sessions on /pub?ch=hN (64 channels, no
#              subscriber), 1 uni stream (a group) each, 4000 bytes each
#   overflow   1 connection x 16 bidi streams on /echo, 20000 bytes each:
#              more than the stream's send window + --echo-max-pending, so
#              every stream is stopped and reset with the echo's overflow
#              code 0x100 (apps.echo_overflow_resets counts them)
# Before this test's fixes the server held a pooled 16 KiB buffer per
# frame (the bridge's receive copy, the worker's write buffer, the relay's
# late-join cache): ~1 GB for the echo flood, ~0.5 GB for the pub flood
# (tests/ROBUSTNESS.md has the figures).
#
# Two bounds are asserted. The process memory budget: the server runs with
# --memory-max 32 MiB and what it counts as held (buffer capacity,
# docs/operations.md "The memory budget") must peak under it in every
# flood. And the RSS bound, derived from the server's configured bounds,
# which this test sets small. What a stream of
# these floods can make the server hold:
#   receive: one partly filled 16 KiB buffer (received bytes are coalesced
#            into the stream's tail buffer, posted once per turn);
#   send:    --stream-send-window 16 KiB of echoed bytes not yet
#            acknowledged, coalesced into 16 KiB buffers (at most 2 partly
#            filled), one engine entry per buffer;
#   echo:    --echo-max-pending 1 KiB held back;
# so 64 KiB per stream with room to spare; per channel the late-join cache
# is at most --relay-group-max 64 KiB (counted as buffer capacity); per
# connection 256 KiB (QUIC and TLS state, measured ~100 KB); plus 32 MB for
# the buffer pools' free lists, rings and allocator slack. The server's
# VmHWM (its peak RSS, which covers every moment of the flood) must stay
# under VmRSS before the floods + that sum (under ASan + 1 GB: quarantine
# and redzones). VmRSS is also sampled every 100 ms and the peak printed.
# A healthy session (wtcast-client --dgram-rtt from 127.0.0.1, opened 1 s
# into the flood) measures its datagram echo RTT during each flood and must
# verify every echo; after the floods a new session echoes. No speed is asserted. WT_SERVER_BIN=an older wtcast runs
# the same floods against it (the before figures).
. "$(dirname "$0")/lib.sh"
wt_init flood_hostile
wt_cert
T=$WT_TMP
if [ ! -x "$WT_BIN/wtcast-flood" ]; then
  wt_log "FAIL: $WT_BIN/wtcast-flood is missing (not built?)"
  exit 1
fi
wt_server_start --apps echo,relay --workers 1 --stream-send-window 16384 --stream-send-window-max 16384 \
  --echo-max-pending 1024 --relay-group-max 65536 --idle-timeout 30000 --memory-max 33554432 \
  --log-level error
N_RTT=1500
SLACK_KB=32768 # 32 MB
if wt_sanitized; then
  N_RTT=600
  SLACK_KB=$((SLACK_KB + 1048576))
fi

wt_flood_baseline 1000

first=0
BOUND_KB=0
# flood NAME CONNS STREAMS CHANNELS FLOOD_ARGS...: the measured session, the
# flood, the RSS sampler; then the memory checks against the bound for
# STREAMS streams, CHANNELS relay channels and CONNS connections.
flood() {
  local name=$1 conns=$2 streams=$3 channels=$4 pid spid
  shift 4
  local b=$((RSS0 + streams * 64 + channels * 64 + conns * 256 + SLACK_KB))
  if [ "$b" -gt "$BOUND_KB" ]; then BOUND_KB=$b; fi # VmHWM is the peak so far
  (
    peak=0
    for _ in $(seq 150); do
      r=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$WT_SERVER_PID/status" 2>/dev/null) || break
      if [ -n "$r" ] && [ "$r" -gt "$peak" ]; then peak=$r; echo "$peak" >"$T/$name.peak"; fi
      [ -e "$T/$name.done" ] && break
      sleep 0.1
    done
  ) &
  spid=$!
  WT_BG_PIDS+=("$spid")
  wt_log "flood $name: $*"
  timeout -k 5 30 "$WT_BIN/wtcast-flood" --server "127.0.0.1:$WT_PORT" --first-source "$first" \
    --mode hostile --duration 7000 --conns "$conns" "$@" >"$T/$name.flood.json" \
    2>"$T/$name.flood.err" &
  pid=$!
  WT_BG_PIDS+=("$pid")
  sleep 1 # the flood is under way: the measured session starts (and echoes) during it
  timeout -k 5 60 "$WT_BIN/wtcast-client" "$WT_URL/echo" --cert-hash "$WT_HASH" \
    --dgram-rtt "$N_RTT" --timeout 50000 >"$T/$name.rtt.json" 2>"$T/$name.rtt.err"
  wt_expect_rc "$name: a session opened during the flood verified every datagram echo" 0 $?
  wait "$pid"
  wt_expect_rc "flood $name ran" 0 $?
  touch "$T/$name.done"
  wait "$spid"
  first=$((first + 10))
  wt_log "    $name flood: $(cat "$T/$name.flood.json")"
  wt_log "    $name: session rtt_us during the flood: $(wt_jget "$T/$name.rtt.json" \
    connections.0.sessions.0.dgram_rtt.rtt_us), $(wt_jget "$T/$name.rtt.json" \
    connections.0.sessions.0.dgram_rtt.received) echoes in $(wt_jget "$T/$name.rtt.json" \
    connections.0.sessions.0.dgram_rtt.duration_ms) ms"
  wt_check "$name: server still running" kill -0 "$WT_SERVER_PID"
  wt_server_stats "$T/$name.stats.json"
  local hwm
  hwm=$(wt_server_kb VmHWM)
  wt_log "    $name: server VmRSS peak sampled $(cat "$T/$name.peak" 2>/dev/null) kB, now $(wt_server_kb VmRSS) kB, VmHWM ${hwm} kB; bound ${BOUND_KB} kB"
  wt_check "$name: server VmHWM ${hwm} kB under the bound ${BOUND_KB} kB" test "$hwm" -lt "$BOUND_KB"
  wt_log "    $name: memory budget $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["memory_budget"])' "$T/$name.stats.json" 2>&1)"
  wt_jcheck "$name: the memory the server counts as held peaked under --memory-max (32 MiB)" \
    "$T/$name.stats.json" "d['memory_budget']['peak'] <= d['memory_budget']['max'] == 33554432"
}

flood echo 4 256 0 --sources 2 --path /echo --streams 64 --stream-bytes 1000
wt_jcheck "echo: 4 sessions, 256 streams, tiny frames sent, the echo stopped at the 256-byte windows" \
  "$T/echo.flood.json" \
  "d['sessions_open'] == 4 and d['streams_opened'] == 256 and d['tiny_writes'] > 0 and d['stream_bytes_held'] <= 256 * 256 and d['write_errors'] == 0"

flood pub 4 64 64 --sources 2 --sessions 16 --path '/pub?ch=h%u' --streams 1 --stream-bytes 4000
wt_jcheck "pub: 64 publisher sessions, one tiny-frame group each" "$T/pub.flood.json" \
  "d['sessions_open'] == 64 and d['streams_opened'] == 64 and d['tiny_writes'] > 0"

flood overflow 1 16 0 --sources 1 --path /echo --streams 16 --stream-bytes 20000
# the echo could not send (the client's window): 16 KiB of stream send
# window + 1 KiB pending, then the stream is aborted both ways with 0x100
wt_jcheck "overflow: every stream stopped and reset (RESET_STREAM code 0x100, the echo overflow)" \
  "$T/overflow.flood.json" \
  "d['streams_stopped_by_peer'] == 16 and d['reset_codes'] == {'wt:0x100': 16}"
wt_jcheck "overflow: counted (apps.echo_overflow_resets)" "$T/overflow.stats.json" \
  "d['apps']['echo_overflow_resets'] >= 16"

# (at most the send window + the pending bound in flight: a larger bidi
# echo that the client writes faster than it reads is aborted by design)
wt_client "$T/after.json" "$WT_URL/echo" --echo hello --bidi-bytes 12000 --timeout 30000
wt_expect_rc "after the floods: a new session echoes" 0 "$WT_RC"
wt_server_stats "$T/final.json"
wt_jcheck "no protocol or internal errors counted" "$T/final.json" \
  "d['errors']['proto'] == 0 and d['errors']['internal'] == 0"
wt_check "server still running" kill -0 "$WT_SERVER_PID"
wt_server_stop
wt_expect_rc "server exit status after SIGTERM" 0 "$WT_SERVER_RC"
wt_done
