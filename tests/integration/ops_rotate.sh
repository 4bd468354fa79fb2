#!/usr/bin/env bash
# ops_rotate: --cert-rotate for serverCertificateHashes deployments. The
# server keeps certificate generations in a state directory of its own (as
# under the shipped systemd unit: $STATE_DIRECTORY, never the configuration
# directory, which the unit mounts read-only): DIR/rotate-N/{cert,key}.pem,
# DIR/current and DIR/next links. It publishes the current and next hashes
# at /cert-hashes.json (the served one alone at /certificate.sha256, the
# @moq/net development convention), and at each interval switches the pair whole (one
# rename of the current link) and reloads: a client pinned to the announced
# "next" hash connects after the rotation, a session opened before it is
# kept, and a new "next" is announced. A restart continues with the same
# pair; --cert-rotate-dir with a readable --cert/--key starts from that pair.
. "$(dirname "$0")/lib.sh"
wt_init ops_rotate
T=$WT_TMP
mkdir -p "$T/etc" "$T/state"
WT_CERT=$T/etc/cert.pem # does not exist: --cert-rotate generates the first pair
WT_KEY=$T/etc/key.pem
export STATE_DIRECTORY=$T/state
INTERVAL=20 # long enough for a sanitizer build to start, fetch and connect first

hashes() { # OUT: fetch /cert-hashes.json
  python3 -c 'import sys, urllib.request; open(sys.argv[2], "w").write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "${HTTP_URL}cert-hashes.json" "$1"
}
cert_sha256() { # "content type|allowed origin|body" of /certificate.sha256 (@moq/net's dev pin)
  python3 -c 'import sys, urllib.request
r = urllib.request.urlopen(sys.argv[1], timeout=5)
sys.stdout.write("%s|%s|%s" % (r.headers.get("Content-Type"), r.headers.get("Access-Control-Allow-Origin"), r.read().decode()))' \
    "${HTTP_URL}certificate.sha256"
}
file_hash() {
  "$WT_BIN/wtcast-cert" --print-hash "$1" 2>/dev/null | sed -n 's/^sha256: *\([0-9a-fA-F]\{64\}\).*/\1/p' | head -n1
}

wt_server_start --workers 2 --http 127.0.0.1:0 --cert-rotate "$INTERVAL"
HTTP_URL=$(sed -n 's/^demo page on \(http:[^ ]*\) .*/\1/p' "$WT_SERVER_OUT" | head -n1)
S=$T/state
wt_check "the current pair was generated in the state directory" \
  test -s "$S/current/cert.pem" -a -s "$S/current/key.pem"
wt_check "the next pair waits there" test -s "$S/next/cert.pem" -a -s "$S/next/key.pem"
wt_check "current and next are links to generations" \
  test -L "$S/current" -a -L "$S/next" -a "$(readlink "$S/current")" != "$(readlink "$S/next")"
wt_check "nothing is written next to the configuration" test -z "$(ls -A "$T/etc")"
wt_check "keys are 0600, generations 0700" test "$(stat -c %a "$S/current/key.pem")" = 600 \
  -a "$(stat -c %a "$S/$(readlink "$S/next")")" = 700
wt_check "the start log names the state directory" grep -q "cert rotation in $S" "$WT_SERVER_ERR"
GEN_NEXT0=$(readlink "$S/next")
GEN_CUR0=$(readlink "$S/current")
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
wt_check "current hash = hash of current/cert.pem" test "$CUR0" = "$(file_hash "$S/current/cert.pem")"
wt_check "next hash = hash of next/cert.pem" test "$NEXT0" = "$(file_hash "$S/next/cert.pem")"
wt_jcheck "hashes lists both (for serverCertificateHashes)" "$T/h0.json" \
  'd["hashes"] == [d["current"], d["next"]] and d["current"] != d["next"]'
wt_check "/certificate.sha256: the current hash alone, text/plain, any origin" \
  test "$(cert_sha256)" = "text/plain|*|$CUR0"

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
sha_is_next0() { [ "$(cert_sha256)" = "text/plain|*|$NEXT0" ]; }
wt_check "/certificate.sha256 follows the rotation (after its reload)" wt_wait_until 5 sha_is_next0
wt_check "the switch moved the current link to the announced generation ($GEN_NEXT0)" \
  test "$(readlink "$S/current")" = "$GEN_NEXT0"
wt_check "the generation served before is kept until the next rotation" test -d "$S/$GEN_CUR0"
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

# --- a restart continues with the same pair; stale generations go
wt_server_start --workers 1 --http 127.0.0.1:0 --cert-rotate 3600
HTTP_URL=$(sed -n 's/^demo page on \(http:[^ ]*\) .*/\1/p' "$WT_SERVER_OUT" | head -n1)
hashes "$T/h2.json" || wt_failc "/cert-hashes.json unreachable after the restart"
wt_check "after a restart the current hash is the one served before" \
  test "$(wt_jget "$T/h2.json" current)" = "$NEXT0"
wt_check "after a restart the announced next hash is kept" test "$(wt_jget "$T/h2.json" next)" = "$NEXT1"
wt_check "only the current and next generations are left" \
  test "$(find "$S" -maxdepth 1 -name 'rotate-*' | wc -l)" -eq 2
wt_server_stop 15
unset STATE_DIRECTORY

# --- --cert-rotate-dir with a readable --cert/--key: the first pair is that one
wt_cert
SEED=$(file_hash "$WT_CERT")
wt_server_start --workers 1 --http 127.0.0.1:0 --cert-rotate 3600 --cert-rotate-dir "$T/state2"
HTTP_URL=$(sed -n 's/^demo page on \(http:[^ ]*\) .*/\1/p' "$WT_SERVER_OUT" | head -n1)
hashes "$T/h3.json" || wt_failc "/cert-hashes.json unreachable (--cert-rotate-dir)"
wt_check "--cert-rotate-dir: the first current pair is the --cert/--key one" \
  test "$(wt_jget "$T/h3.json" current)" = "$SEED" -a -s "$T/state2/current/key.pem"
WT_TRUST=(--cert-hash "$SEED")
wt_client "$T/c3.json" "$WT_URL/echo" --echo seeded --timeout 10000
wt_expect_rc "client pinned to the seed certificate" 0 "$WT_RC"
wt_server_stop 15
wt_done
