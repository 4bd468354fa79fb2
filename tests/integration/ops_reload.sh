#!/usr/bin/env bash
# ops_reload: SIGHUP reloads the certificate and key without dropping
# sessions. A session opened with certificate A stays up (held, datagrams
# echoed) across the reload; new connections get certificate B (a client
# pinned to B connects, one pinned to A is refused); /config.json and
# /certificate.sha256 publish B's hash; a reload with a broken file keeps B in use. sd_notify: READY=1
# at start, RELOADING=1 then READY=1 around the reload, STOPPING=1 at SIGTERM.
. "$(dirname "$0")/lib.sh"
wt_init ops_reload
wt_cert
T=$WT_TMP
HASH_A=$WT_HASH

# a NOTIFY_SOCKET listener (systemd's side of sd_notify)
python3 - "$T/notify.sock" "$T/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
with open(sys.argv[2], "a") as f:
    try:
        while True:
            m = s.recv(4096).decode()
            f.write(m.replace("\n", " ") + "\n")
            f.flush()
            if "STOPPING=1" in m:
                break
    except socket.timeout:
        pass
PY
NOTIFY_PID=$!
WT_BG_PIDS+=("$NOTIFY_PID")
wt_wait_until 5 test -S "$T/notify.sock" || wt_failc "notify listener did not start"

NOTIFY_SOCKET=$T/notify.sock wt_server_start --workers 2 --http 127.0.0.1:0
HTTP_URL=$(sed -n 's/^demo page on \(http:[^ ]*\) .*/\1/p' "$WT_SERVER_OUT" | head -n1)
wt_check "sd_notify READY=1 once listening" wt_wait_until 5 grep -q '^READY=1' "$T/notify.log"

# --- a session with certificate A, held across the reload
wt_client "$T/held.json" "$WT_URL/echo" --echo before-reload --hold 8000 --timeout 25000 &
HELD=$!
sleep 1

# --- certificate B in place of A, then SIGHUP
"$WT_BIN/wtcast-cert" --out-cert "$T/b.pem" --out-key "$T/b.key" --days 10 --quiet >/dev/null 2>&1
HASH_B=$("$WT_BIN/wtcast-cert" --print-hash "$T/b.pem" | sed -n 's/^sha256: *\([0-9a-fA-F]\{64\}\).*/\1/p')
mv "$T/b.pem" "$WT_CERT"
mv "$T/b.key" "$WT_KEY"
kill -HUP "$WT_SERVER_PID"
if wt_wait_until 5 grep -q 'certificate reloaded on every shard (2)' "$WT_SERVER_ERR"; then
  wt_pass "SIGHUP: certificate reloaded on every shard"
else
  wt_failc "SIGHUP: no 'reloaded on every shard' line"
  tail -5 "$WT_SERVER_ERR" | sed 's/^/    /'
fi
wt_check "sd_notify RELOADING=1 then READY=1" wt_wait_until 5 \
  python3 -c 'import sys; l=[x for x in open(sys.argv[1])]; i=[k for k,x in enumerate(l) if x.startswith("RELOADING=1")]; sys.exit(0 if i and any(x.startswith("READY=1") for x in l[i[0]:]) else 1)' "$T/notify.log"

wt_server_stats "$T/mid.json" || wt_failc "no stats line"
wt_jcheck "the held session is still open on the server" "$T/mid.json" 'd["sessions"]["active"] >= 1'
WT_TRUST=(--cert-hash "$HASH_B")
wt_client "$T/newb.json" "$WT_URL/echo" --echo after-reload --timeout 10000
wt_expect_rc "a new connection pinned to certificate B" 0 "$WT_RC"
WT_TRUST=(--cert-hash "$HASH_A")
wt_client "$T/newa.json" "$WT_URL/echo" --echo old-cert --timeout 5000
if [ "$WT_RC" != 0 ]; then
  wt_pass "a new connection pinned to certificate A is refused (exit $WT_RC)"
else
  wt_failc "a new connection pinned to A still connected: the old certificate is in use"
fi
wt_check "/config.json publishes B's hash" sh -c "curl_json() { python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \"\$1\"; }; curl_json '${HTTP_URL}config.json' | grep -q '$HASH_B'"
wt_check "/certificate.sha256 is B's hash, bare" \
  test "$(python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "${HTTP_URL}certificate.sha256")" = "$HASH_B"


# --- the held session, made with A, lived through it
wait "$HELD"
HELD_RC=$?
wt_expect_rc "held session (certificate A) across the reload" 0 "$HELD_RC"
wt_jcheck "held: echo verified, hold ran to its end, connection not closed under it" "$T/held.json" \
  'ops["echo"]["verified"] and conns[0]["hold"]["started"] and conns[0]["hold"]["datagrams_sent"] >= 20 and "conn_closed" not in conns[0]'

# --- a broken certificate: the reload fails, B stays in use
echo "not a certificate" >"$WT_CERT"
kill -HUP "$WT_SERVER_PID"
wt_check "broken file: reload failure logged" wt_wait_until 5 grep -q 'failed on 2' "$WT_SERVER_ERR"
WT_TRUST=(--cert-hash "$HASH_B")
wt_client "$T/stillb.json" "$WT_URL/echo" --echo still-b --timeout 10000
wt_expect_rc "after a failed reload, certificate B still serves" 0 "$WT_RC"

wt_server_stop 15
wt_expect_rc "server exits on SIGTERM" 0 "$WT_SERVER_RC"
wt_check "sd_notify STOPPING=1 at SIGTERM" wt_wait_until 5 grep -q '^STOPPING=1' "$T/notify.log"
wt_done
