#!/usr/bin/env bash
# loopback_refuse: the ways wtcast says no. 404 for an unknown path, 403 for
# an Origin outside --origin (the listed one and no Origin at all are
# accepted), with --max-sessions 2 a third session on one connection has its
# CONNECT stream reset (H3_REQUEST_REJECTED) while the two others work, and
# the client itself refuses a certificate that does not match its pin.
# Routes are chosen (--apps): the default serves the relay alone, /echo,
# /source and /sink are then 404 like any unknown path; the start log names
# the enabled apps.
. "$(dirname "$0")/lib.sh"
wt_init loopback_refuse
wt_cert
wt_server_start --origin https://good.example --max-sessions 2 --log-level info --workers 1
T=$WT_TMP

# --- unknown path
wt_client "$T/nope.json" "$WT_URL/nope" --echo hello --timeout 20000
wt_expect_rc "/nope is refused" 1 "$WT_RC"
wt_jcheck "/nope: status 404" "$T/nope.json" \
  "s0['status'] == 404 and s0['outcome'] == 'refused' and not d['ok']"

# --- origin policy
wt_client "$T/evil.json" "$WT_URL/echo" --origin https://evil.example --echo hello --timeout 20000
wt_expect_rc "Origin https://evil.example is refused" 1 "$WT_RC"
wt_jcheck "evil origin: status 403" "$T/evil.json" "s0['status'] == 403 and s0['outcome'] == 'refused'"

wt_client "$T/good.json" "$WT_URL/echo" --origin https://good.example --echo hello --timeout 20000
wt_expect_rc "Origin https://good.example is accepted" 0 "$WT_RC"
wt_jcheck "good origin: status 200, echo verified" "$T/good.json" \
  "s0['status'] == 200 and ops['echo']['verified']"

# No Origin header (Deno, native clients): the policy applies only to
# browsers' Origin (docs/protocol.md section 3).
wt_client "$T/noorigin.json" "$WT_URL/echo" --echo hello --timeout 20000
wt_expect_rc "no Origin header is accepted" 0 "$WT_RC"

# --- session limit per connection
wt_client "$T/limit.json" "$WT_URL/echo" --origin https://good.example --sessions 3 \
  --echo hello --bidi-bytes 100000 --timeout 20000
wt_expect_rc "--sessions 3 against --max-sessions 2 fails as a whole" 1 "$WT_RC"
wt_jcheck "session limit: two sessions verified, the third reset without a reply" "$T/limit.json" \
  "len(sess) == 3 and sum(1 for s in sess if s['status'] == 200 and s['verified']) == 2 and sum(1 for s in sess if s['outcome'] == 'reset' and s['status'] == 0) == 1"
wt_log "    session outcomes: $(wt_jget "$T/limit.json" connections.0.sessions | python3 -c 'import json,sys; print([(s["index"], s["status"], s["outcome"]) for s in json.load(sys.stdin)])')"

# --- the client refuses a server whose certificate does not match the pin
WT_TRUST=(--cert-hash "$(printf '%064d' 0)")
wt_client "$T/badpin.json" "$WT_URL/echo" --echo hello --timeout 10000
WT_TRUST=()
wt_expect_rc "a certificate that does not match --cert-hash is rejected" 1 "$WT_RC"
wt_jcheck "bad pin: no session, the connection failed" "$T/badpin.json" \
  "s0['status'] != 200 and not d['ok'] and len(d['errors']) > 0"

# --- junk datagrams (empty, 1 byte, a truncated long header, 1500 random
# bytes) are dropped and counted; they once aborted the server (an empty
# datagram hit an assertion in ngtcp2; found by fuzz_engine_server)
python3 - "$WT_PORT" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for d in (b"", b"\x00", b"\xc0\x00\x00\x00\x01\x14", os.urandom(1500)):
    s.sendto(d, ("127.0.0.1", int(sys.argv[1])))
PY
sleep 0.3
wt_check "junk datagrams do not stop the server" kill -0 "$WT_SERVER_PID"

# --- the refusals did not hurt the server
wt_client "$T/after.json" "$WT_URL/echo" --origin https://good.example --sessions 2 \
  --echo hello --timeout 20000
wt_expect_rc "two sessions still work afterwards" 0 "$WT_RC"

# --- the default per-address limit (1024 per shard) admits an audience
# behind one address: 150 connections at once from 127.0.0.1 (the old
# default, 64 per shard, refused most of them on this one-shard server)
wt_client "$T/many.json" "$WT_URL/echo" --origin https://good.example --connections 150 \
  --echo hi --timeout 60000
wt_expect_rc "150 connections from one address are all admitted" 0 "$WT_RC"
wt_server_stop 15
wt_expect_rc "server exits on SIGTERM" 0 "$WT_SERVER_RC"
wt_check "the start log names the apps (lib.sh asks for all)" \
  grep -q "apps: echo,source,sink,relay" "$WT_SERVER_ERR"

# --- built-in routes: by default only the relay (what the shipped
# configuration asks for too); the others are unknown paths
WT_APPS= wt_server_start --log-level info
wt_check "the start log names the apps: relay" grep -q "apps: relay (--apps" "$WT_SERVER_ERR"
for p in echo source sink; do
  wt_client "$T/off-$p.json" "$WT_URL/$p" --timeout 20000
  wt_expect_rc "/$p is not served by default" 1 "$WT_RC"
  wt_jcheck "/$p: status 404" "$T/off-$p.json" "s0['status'] == 404 and s0['outcome'] == 'refused'"
done
wt_client "$T/on-sub.json" "$WT_URL/sub?ch=refuse-test" --hold 200 --timeout 20000
wt_expect_rc "/sub is served by default" 0 "$WT_RC"
wt_jcheck "/sub: status 200" "$T/on-sub.json" "s0['status'] == 200"
wt_server_stop 15

# --apps echo: /echo served, the relay not
WT_APPS=echo wt_server_start --log-level info
wt_client "$T/echo-only.json" "$WT_URL/echo" --echo hello --timeout 20000
wt_expect_rc "/echo is served with --apps echo" 0 "$WT_RC"
wt_client "$T/echo-only-sub.json" "$WT_URL/sub?ch=x" --timeout 20000
wt_jcheck "/sub: 404 with --apps echo" "$T/echo-only-sub.json" "s0['status'] == 404"
wt_server_stop 15
wt_done
