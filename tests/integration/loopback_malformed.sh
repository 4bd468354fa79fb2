#!/usr/bin/env bash
# loopback_malformed (issue #3): wtcast refuses malformed peer input with the
# right HTTP/3 codes and only where it occurs, while everything else carries
# on. wtcast-client --inject (fault injection through core/wt_testhook.h)
# misbehaves on the last of three sessions of one connection:
#  - stream-header: a bidi WT stream whose Session ID (session ID + 1) is not
#    a client-initiated bidi stream ID -> that stream is reset with
#    H3_ID_ERROR (0x108), the session stays open;
#  - capsule / capsule-utf8: a CLOSE_WEBTRANSPORT_SESSION capsule of length 2
#    (< 4) / with a reason that is not UTF-8 -> the CONNECT stream is reset
#    with H3_MESSAGE_ERROR (0x10e, RFC 9297 section 3.3), only that session
#    ends.
# The two other sessions verify their echo each time, the server's error
# counters move, and a fresh client is served afterwards.
. "$(dirname "$0")/lib.sh"
wt_init loopback_malformed
wt_cert
wt_server_start --log-level info
T=$WT_TMP

# The injecting session, and the others, from a report.
INJ="[s for s in sess if 'inject' in s]"
OTHERS="[s for s in sess if 'inject' not in s]"

stats_get() { # FILE GROUP KEY
  python3 -c '
import json, sys
try:
    print(json.load(open(sys.argv[1]))[sys.argv[2]][sys.argv[3]])
except Exception:
    print(-1)
' "$1" "$2" "$3"
}

if wt_server_stats "$T/stats0.json"; then
  wt_pass "server answers SIGUSR1 with a stats line"
else
  wt_failc "server answers SIGUSR1 with a stats line"
fi
proto0=$(stats_get "$T/stats0.json" errors proto)

# --- malformed WT stream header
wt_client "$T/hdr.json" "$WT_URL/echo" --sessions 3 --echo hi --inject stream-header --timeout 20000
wt_expect_rc "stream-header injection: every check verified" 0 "$WT_RC"
wt_jcheck "stream-header: the client read the raw code (engine API)" "$T/hdr.json" \
  "len($INJ) == 1 and $INJ[0]['inject']['code_from'] in ('reset_stream', 'stop_sending')"
wt_jcheck "stream-header: the stream was reset with H3_ID_ERROR (0x108)" "$T/hdr.json" \
  "$INJ[0]['inject']['stream_reset'] and $INJ[0]['inject']['stream_reset_code'] == 0x108 and $INJ[0]['inject']['as_expected']"
wt_jcheck "stream-header: the session itself stayed open" "$T/hdr.json" \
  "$INJ[0]['inject']['session_open_after'] and 'closed_by_server' not in $INJ[0]"
wt_jcheck "stream-header: the two other sessions verified their echo" "$T/hdr.json" \
  "len($OTHERS) == 2 and all(s['verified'] and s['ops']['echo']['verified'] and s['ops']['echo']['received'] == 'hi' for s in $OTHERS)"
wt_log "    inject: $(wt_jget "$T/hdr.json" connections.0.sessions.2.inject)"

# --- malformed capsules
for kind in capsule capsule-utf8; do
  wt_client "$T/$kind.json" "$WT_URL/echo" --sessions 3 --echo hi --inject "$kind" --timeout 20000
  wt_expect_rc "$kind injection: every check verified" 0 "$WT_RC"
  wt_jcheck "$kind: the CONNECT stream was reset with H3_MESSAGE_ERROR (0x10e)" "$T/$kind.json" \
    "len($INJ) == 1 and $INJ[0]['inject']['code_from'] == 'connect_reset' and $INJ[0]['inject']['session_reset_code'] == 0x10e and $INJ[0]['inject']['as_expected']"
  wt_jcheck "$kind: only that session ended, not cleanly" "$T/$kind.json" \
    "$INJ[0]['inject']['session_closed'] and not $INJ[0]['inject']['session_clean'] and $INJ[0]['closed_by_server']['clean'] == False"
  wt_jcheck "$kind: the two other sessions verified their echo" "$T/$kind.json" \
    "len($OTHERS) == 2 and all(s['verified'] and s['ops']['echo']['verified'] and 'closed_by_server' not in s for s in $OTHERS)"
  wt_jcheck "$kind: the connection was not closed by the server" "$T/$kind.json" \
    "conns[0]['closed_by_us'] and conns[0].get('conn_close', {}).get('error_code', 0x100) == 0x100"
  wt_log "    inject: $(wt_jget "$T/$kind.json" connections.0.sessions.2.inject)"
done

# --- the server counted the errors and is still fine
if wt_server_stats "$T/stats1.json"; then
  proto1=$(stats_get "$T/stats1.json" errors proto)
  wt_log "    server errors.proto $proto0 -> $proto1, streams.reset $(stats_get "$T/stats1.json" streams reset), sessions $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sessions"])' "$T/stats1.json")"
  if [ "$proto0" -ge 0 ] && [ "$proto1" -ge $((proto0 + 3)) ]; then
    wt_pass "server errors.proto moved by at least 3 ($proto0 -> $proto1)"
  else
    wt_failc "server errors.proto moved by at least 3 ($proto0 -> $proto1)"
  fi
  wt_jcheck "server: no internal error" "$T/stats1.json" "d['errors']['internal'] == 0"
else
  wt_failc "server answers SIGUSR1 after the injections"
fi
wt_check "server still running" kill -0 "$WT_SERVER_PID"

wt_client "$T/after.json" "$WT_URL/echo" --sessions 2 --echo hello --bidi-bytes 100000 --timeout 20000
wt_expect_rc "a fresh client is served afterwards" 0 "$WT_RC"
wt_jcheck "fresh client: both sessions verified" "$T/after.json" \
  "len(sess) == 2 and all(s['verified'] for s in sess)"

wt_server_stop 15
wt_expect_rc "server exits on SIGTERM" 0 "$WT_SERVER_RC"
wt_done
