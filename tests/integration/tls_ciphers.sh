#!/usr/bin/env bash
# tls_ciphers: --tls-ciphers (config [server] tls_ciphers) picks the TLS 1.3
# suites wtcast offers.
#  - --tls-ciphers TLS13-AES256-GCM-SHA384: a client that offers all three
#    suites gets AES-256-GCM-SHA384, seen in the server's key log (its
#    secrets are SHA-384 sized: 48 bytes, 96 hex digits), and the session
#    works (a datagram echoes);
#  - the default: AES-128-GCM-SHA256 first (32-byte secrets);
#  - a name that is not a TLS 1.3 suite is refused at start (exit 2, the
#    name in the message), and by --check-config in a file (FILE:LINE).
. "$(dirname "$0")/lib.sh"
wt_init tls_ciphers
wt_cert
T=$WT_TMP

# secret_len FILE: the hex length of the server's traffic secrets (one value
# when all agree, else "mixed"/"none").
secret_len() {
  awk '$1 ~ /TRAFFIC_SECRET/ {print length($3)}' "$1" | sort -u |
    awk '{n++; v=$1} END {print n == 1 ? v : (n ? "mixed" : "none")}'
}

# run NAME [server args...]
run() {
  local name=$1
  shift
  wt_server_start --workers 1 --log-level warn --keylog-file "$T/$name.keys" "$@"
  wt_client "$T/$name.json" "$WT_URL/echo" --datagrams 3 --echo hello --timeout 10000
  wt_expect_rc "$name: a datagram echo session" 0 "$WT_RC"
  wt_server_stop
}

run aes256 --tls-ciphers TLS13-AES256-GCM-SHA384
wt_check "--tls-ciphers TLS13-AES256-GCM-SHA384: SHA-384 secrets (96 hex digits)" \
  test "$(secret_len "$T/aes256.keys")" = 96
run default
wt_check "default: AES-128-GCM-SHA256 first (64 hex digits)" \
  test "$(secret_len "$T/default.keys")" = 64

"$WT_BIN/wtcast" --listen 127.0.0.1:0 --cert "$WT_CERT" --key "$WT_KEY" \
  --tls-ciphers TLS13-AES128-GCM-SHA256:TLS13-AES128-CCM-SHA256 >"$T/bad.out" 2>"$T/bad.err"
wt_expect_rc "a suite wtcast does not offer is refused at start" 2 "$?"
wt_check "the refusal names it" grep -q "TLS13-AES128-CCM-SHA256' is not one of" "$T/bad.err"

printf '[server]\ntls_ciphers = TLS13-AES256-GCM-SHA384:\n' >"$T/bad.conf"
"$WT_BIN/wtcast" --check-config "$T/bad.conf" >"$T/check.out" 2>&1
wt_expect_rc "--check-config: an empty suite name in the list is an error" 1 "$?"
wt_check "the error has FILE:LINE" grep -q "bad.conf:2:" "$T/check.out"
wt_done
