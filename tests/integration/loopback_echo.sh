#!/usr/bin/env bash
# loopback_echo: wtcast-client against wtcast's /echo on 127.0.0.1: bidi echo
# of a word, of 1 MB and of 100 MB (hash-checked), uni echo, pushed streams,
# 1,000 datagrams, session close in both directions, 4 sessions on one
# connection, 100 connections at once. Figures are printed, never asserted.
. "$(dirname "$0")/lib.sh"
wt_init loopback_echo
wt_cert
wt_server_start --log-level info --spin-us 100
T=$WT_TMP

# --- bidi echo of a word
wt_client "$T/hello.json" "$WT_URL/echo" --echo hello --timeout 20000
wt_expect_rc "echo hello" 0 "$WT_RC"
wt_jcheck "echo hello: status 200, same text back with FIN" "$T/hello.json" \
  's0["status"] == 200 and ops["echo"]["received"] == "hello" and ops["echo"]["fin_received"] and ops["echo"]["verified"]'

# --- bidi echo of 1 MB and 100 MB, hash-checked
for n in 1048576 104857600; do
  wt_client "$T/bidi$n.json" "$WT_URL/echo" --bidi-bytes "$n" --timeout 240000
  wt_expect_rc "bidi echo of $n bytes" 0 "$WT_RC"
  wt_jcheck "bidi echo of $n bytes: hashes equal" "$T/bidi$n.json" \
    "ops['bidi_bytes']['bytes_received'] == $n and ops['bidi_bytes']['sent_hash'] == ops['bidi_bytes']['received_hash'] and ops['bidi_bytes']['verified']"
  wt_log "    bidi $n: $(wt_jget "$T/bidi$n.json" connections.0.sessions.0.ops.bidi_bytes.duration_ms) ms, $(wt_jget "$T/bidi$n.json" connections.0.sessions.0.ops.bidi_bytes.rate_mbps) Mbit/s, hash $(wt_jget "$T/bidi$n.json" connections.0.sessions.0.ops.bidi_bytes.received_hash)"
done

# --- uni echo: our uni stream comes back on a server uni stream
wt_client "$T/uni.json" "$WT_URL/echo" --uni 1048576 --timeout 60000
wt_expect_rc "uni echo of 1 MiB" 0 "$WT_RC"
wt_jcheck "uni echo: bytes and hash match" "$T/uni.json" \
  "ops['uni']['bytes_received'] == 1048576 and ops['uni']['sent_hash'] == ops['uni']['received_hash'] and ops['uni']['verified']"

# --- streams pushed by the server right after the session opens
wt_client "$T/push.json" "$WT_URL/echo?push=1" --expect-push --echo ping --timeout 20000
wt_expect_rc "pushed streams (/echo?push=1)" 0 "$WT_RC"
wt_jcheck "push: server-bidi-hello and server-uni-hello received" "$T/push.json" \
  "ops['push_bidi']['verified'] and ops['push_uni']['verified'] and ops['echo']['verified']"

# --- datagrams (loss is allowed, but some must come back, all intact)
wt_client "$T/dgram.json" "$WT_URL/echo" --datagrams 1000 --timeout 30000
wt_log "    datagrams: sent $(wt_jget "$T/dgram.json" connections.0.sessions.0.datagrams.sent), received $(wt_jget "$T/dgram.json" connections.0.sessions.0.datagrams.received), lost $(wt_jget "$T/dgram.json" connections.0.sessions.0.datagrams.lost), bad $(wt_jget "$T/dgram.json" connections.0.sessions.0.datagrams.bad)"
wt_expect_rc "1000 datagrams" 0 "$WT_RC"
wt_jcheck "datagrams: all 1000 sent, some echoed, none corrupt" "$T/dgram.json" \
  "s0['datagrams']['sent'] == 1000 and s0['datagrams']['received'] > 0 and s0['datagrams']['bad'] == 0"

# --- client closes the session with a code and a reason
wt_client "$T/close_c.json" "$WT_URL/echo" --echo hello --close 42:bye --timeout 20000
wt_expect_rc "client close 42:bye" 0 "$WT_RC"
wt_jcheck "client close: capsule sent (42, bye) and the session ended cleanly" "$T/close_c.json" \
  "s0['close_sent'] == {'code': 42, 'reason': 'bye'} and s0.get('closed', {}).get('clean') is True and 'closed_by_server' not in s0"
if grep -q 'bye' "$WT_SERVER_ERR"; then
  wt_log "    server log mentions the reason: $(grep -m1 'bye' "$WT_SERVER_ERR")"
else
  wt_log "    (server log at info level does not mention the reason 'bye')"
fi

# --- server closes the session (CLOSE_WEBTRANSPORT_SESSION capsule)
wt_client "$T/close_s.json" "$WT_URL/echo?close=7&reason=done&delay=50" --echo hi --timeout 20000
wt_expect_rc "server close (close=7, reason=done, delay=50)" 0 "$WT_RC"
wt_jcheck "server close: closed_by_server {code 7, reason done}" "$T/close_s.json" \
  "s0['closed_by_server']['code'] == 7 and s0['closed_by_server']['reason'] == 'done' and ops['echo']['verified']"

# --- 4 sessions on one connection
wt_client "$T/sessions.json" "$WT_URL/echo" --sessions 4 --echo hello --bidi-bytes 65536 \
  --datagrams 20 --timeout 30000
wt_expect_rc "4 sessions on one connection" 0 "$WT_RC"
wt_jcheck "4 sessions: all 200 and verified, distinct session IDs" "$T/sessions.json" \
  "len(conns) == 1 and len(sess) == 4 and all(s['status'] == 200 and s['verified'] for s in sess) and len(set(s['session_id'] for s in sess)) == 4"

# --- 100 connections in parallel
wt_client "$T/conns.json" "$WT_URL/echo" --connections 100 --echo hello --timeout 60000
wt_expect_rc "100 connections in parallel" 0 "$WT_RC"
wt_jcheck "100 connections: 100 sessions verified" "$T/conns.json" \
  "len(conns) == 100 and t['sessions_verified'] == 100"

# --- the server is still healthy and stops cleanly. First the 100
# connections leave: each stays in its closing or draining period for three
# PTOs (RFC 9000 section 10.2; seconds under ASan) and counts toward the
# per-address limit (--max-conns-per-ip) until then, so with the old
# default of 64 per shard a new connection from 127.0.0.1 could be refused
# if one shard drew more than 64 of them (seen once: CONNECTION_REFUSED
# under ASan, inline apps; the default is 1024 now)
conns_gone() {
  wt_server_stats "$T/idle.json" && python3 -c 'import json, sys
sys.exit(0 if json.load(open(sys.argv[1]))["connections"]["active"] == 0 else 1)' "$T/idle.json"
}
wt_check "the 100 connections have left the server" wt_wait_until 30 conns_gone
wt_client "$T/after.json" "$WT_URL/echo" --echo still-there --timeout 20000
wt_expect_rc "echo after all of the above" 0 "$WT_RC"
if [ "$WT_RC" != 0 ]; then
  wt_server_stats "$T/fail.json" && python3 -c 'import json, sys
print("    server connections:", json.load(open(sys.argv[1]))["connections"])' "$T/fail.json"
fi

# --- the shards polled for the workers' answers before sleeping (--spin-us
# 100 below): every spin is counted, as a hit or a miss. With the apps
# inline (WTCAST_APPS=inline) there is no other thread to wait for.
if wt_server_stats "$T/stats.json"; then
  if [ "${WTCAST_APPS:-}" = inline ]; then
    wt_jcheck "inline apps: no spinning and no eventfd wake-up (sessions stay on their shard)" \
      "$T/stats.json" "d['loop']['spin_hits'] + d['loop']['spin_miss'] == 0 and d['links']['wakeups'] == 0"
  else
    wt_jcheck "spin before sleep: counted (loop.spin_hits + loop.spin_miss > 0)" "$T/stats.json" \
      "d['loop']['spin_hits'] + d['loop']['spin_miss'] > 0 and d['links']['wakeups'] > 0"
  fi
  wt_log "    shard wake-ups by eventfd: $(wt_jget "$T/stats.json" links.wakeups)"
  wt_log "    spins: $(wt_jget "$T/stats.json" loop.spin_hits) answered, $(wt_jget "$T/stats.json" loop.spin_miss) ran out"
else
  wt_failc "server stats line (SIGUSR1)"
fi
wt_server_stop 15
wt_expect_rc "server exits on SIGTERM" 0 "$WT_SERVER_RC"
wt_done
