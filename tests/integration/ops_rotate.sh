#!/usr/bin/env bash
# ops_rotate: --cert-rotate for serverCertificateHashes deployments. The
# server generates the next certificate ahead (CERT.next), publishes the
# current and next hashes at /cert-hashes.json, and at each interval moves
# the next one into place and reloads: a client pinned to the announced
# "next" hash connects after the rotation, a session opened before it is
# kept, and a new "next" is announced.
. "$(dirname "$0")/lib.sh"
wt_init ops_rotate
T=$WT_TMP
WT_CERT=$T/cert.pem # does not exist yet: --cert-rotate generates it
WT_KEY=$T/key.pem
INTERVAL=20 # long enough for a sanitizer build to start, fetch and connect first

hashes() { # OUT: fetch /cert-hashes.json
  python3 -c 'import sys, urllib.request; open(sys.argv[2], "w").write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "${HTTP_URL}cert-hashes.json" "$1"
}
file_hash() {
  "$WT_BIN/wtcast-cert" --print-hash "$1" 2>/dev/null | sed -n 's/^sha256: *\([0-9a-fA-F]\{64\}\).*/\1/p' | head -n1
}

wt_server_start --workers 2 --http 127.0.0.1:0 --cert-rotate "$INTERVAL"
HTTP_URL=$(sed -n 's/^demo page on \(http:[^ ]*\) .*/\1/p' "$WT_SERVER_OUT" | head -n1)
wt_check "the current certificate was generated" test -s "$WT_CERT"
wt_check "the next certificate waits in cert.pem.next" test -s "$WT_CERT.next"
hashes "$T/h0.json" || wt_failc "/cert-hashes.json unreachable"
CUR0=$(wt_jget "$T/h0.json" current)
NEXT0=$(wt_jget "$T/h0.json" next)
wt_log "current $CUR0, next $NEXT0"
# a session held across the rotation, opened at once (before the rotation)
timeout -k 5 60 "$WT_BIN/wtcast-client" "$WT_URL/echo" --cert-hash "$CUR0" --echo held \
  --hold $(((INTERVAL + 3) * 1000)) --timeout 50000 >"$T/held.json" 2>"$T/held.err" &
HELD=$!
held_open() {
  wt_server_stats "$T/pre.json" && python3 -c 'import json, sys
sys.exit(0 if json.load(open(sys.argv[1]))["sessions"]["active"] >= 1 else 1)' "$T/pre.json"
}
wt_check "the held session is open before the rotation" wt_wait_until 10 held_open
wt_check "current hash = hash of cert.pem" test "$CUR0" = "$(file_hash "$WT_CERT")"
wt_check "next hash = hash of cert.pem.next" test "$NEXT0" = "$(file_hash "$WT_CERT.next")"
wt_jcheck "hashes lists both (for serverCertificateHashes)" "$T/h0.json" \
  'd["hashes"] == [d["current"], d["next"]] and d["current"] != d["next"]'

WT_TRUST=(--cert-hash "$CUR0")
wt_client "$T/c0.json" "$WT_URL/echo" --echo before --timeout 10000
wt_expect_rc "client pinned to the current hash" 0 "$WT_RC"

rotated() {
  hashes "$T/h1.json" 2>/dev/null && [ "$(wt_jget "$T/h1.json" current)" = "$NEXT0" ]
}
if wt_wait_until $((INTERVAL + 10)) rotated; then
  wt_pass "rotated: the announced next hash is now current"
else
  wt_failc "no rotation within $((INTERVAL + 10)) s"
fi
wt_check "reload logged on every shard" wt_wait_until 5 grep -q 'reloaded on every shard (2)' "$WT_SERVER_ERR"
NEXT1=$(wt_jget "$T/h1.json" next)
wt_check "a new next hash is announced" test -n "$NEXT1" -a "$NEXT1" != "$NEXT0" -a "$NEXT1" != "$CUR0"
WT_TRUST=(--cert-hash "$NEXT0")
wt_client "$T/c1.json" "$WT_URL/echo" --echo after --timeout 10000
wt_expect_rc "client pinned to the previously announced next hash" 0 "$WT_RC"

wait "$HELD"
wt_expect_rc "session opened before the rotation held through it" 0 $?
wt_jcheck "held session: verified, not closed under it" "$T/held.json" \
  'ops["echo"]["verified"] and "conn_closed" not in conns[0]'
wt_server_stop 15
wt_expect_rc "server exits on SIGTERM" 0 "$WT_SERVER_RC"
wt_done
