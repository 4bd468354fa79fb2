#!/usr/bin/env bash
# protocols: application protocol negotiation (docs/protocol.md section 3).
# wtcast --wt-protocols moq-lite-03,moq-lite-02 (server preference order)
# against wtcast-client --protocols: an offer that overlaps gets the
# server's first preference the client offered as WT-Protocol (echo and the
# relay alike); an offer without overlap, no offer and malformed offers
# (not a List of Strings) get none, and the malformed ones are counted; a
# request past --max-request-header-bytes is answered 431 and counted;
# /metrics counts sessions per protocol (configured + none + other) and the
# SIGUSR1 line has the counters.
. "$(dirname "$0")/lib.sh"
wt_init protocols
wt_cert
wt_server_start --wt-protocols moq-lite-03,moq-lite-02 --max-request-header-bytes 1024 \
  --metrics 127.0.0.1:0 --log-level info
T=$WT_TMP
MURL=$(sed -n 's/^metrics on \(http:[^ ]*\)$/\1/p' "$WT_SERVER_OUT" | head -n1)

# --- overlap: the server's preference decides (moq-lite-03 before -02)
wt_client "$T/overlap.json" "$WT_URL/echo" --protocols moq-lite-04,moq-lite-02,moq-lite-03 \
  --echo hello --timeout 20000
wt_expect_rc "an overlapping offer works" 0 "$WT_RC"
wt_jcheck "overlap: WT-Protocol is the server's first preference that was offered" \
  "$T/overlap.json" \
  "s0['protocol'] == 'moq-lite-03' and s0['wt_protocol_header'] == '\"moq-lite-03\"' and not s0['protocol_rejected'] and ops['echo']['verified']"

wt_client "$T/relay.json" "$WT_URL/sub?ch=proto" --protocols moq-lite-02 --timeout 20000
wt_expect_rc "the relay negotiates too" 0 "$WT_RC"
wt_jcheck "relay: WT-Protocol moq-lite-02" "$T/relay.json" "s0['protocol'] == 'moq-lite-02'"

# --- no overlap: no WT-Protocol, the session still opens
wt_client "$T/none.json" "$WT_URL/echo" --protocols moqt-16,x --echo hello --timeout 20000
wt_expect_rc "an offer without overlap still opens the session" 0 "$WT_RC"
wt_jcheck "no overlap: no WT-Protocol" "$T/none.json" \
  "s0['status'] == 200 and s0['protocol'] is None and 'wt_protocol_header' not in s0"

# --- no offer: nothing about protocols
wt_client "$T/nooffer.json" "$WT_URL/echo" --echo hello --timeout 20000
wt_expect_rc "no offer" 0 "$WT_RC"
wt_jcheck "no offer: no protocol in the report" "$T/nooffer.json" "'protocol' not in s0"

# --- malformed offers: treated as absent (and counted below)
for raw in 'moq-lite-03, "x"' '"moq-lite-03",' '("moq-lite-03")'; do
  wt_client "$T/bad.json" "$WT_URL/echo" --protocols-raw "$raw" --echo hello --timeout 20000
  wt_expect_rc "malformed offer [$raw]: the session still opens" 0 "$WT_RC"
  wt_jcheck "malformed offer [$raw]: no WT-Protocol" "$T/bad.json" \
    "s0['status'] == 200 and s0['protocol'] is None and 'wt_protocol_header' not in s0"
done

# --- a request past --max-request-header-bytes: 431
big=\"$(head -c 1100 /dev/zero | tr '\0' a)\"
wt_client "$T/big.json" "$WT_URL/echo" --protocols-raw "$big" --echo hello --timeout 20000
wt_expect_rc "an oversized request fails" 1 "$WT_RC"
wt_jcheck "oversized request: 431" "$T/big.json" "s0['status'] == 431"
wt_check "the 431 is logged" grep -q "request header section past the bounds" "$WT_SERVER_ERR"

# --- counters
if [ -n "$MURL" ] && python3 - "$MURL" "$T/metrics.txt" <<'PY'; then
import sys, urllib.request
open(sys.argv[2], "w").write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())
PY
  m() { awk -v k="$1" '$1 == k { s += $2 } END { print s + 0 }' "$T/metrics.txt"; }
  wt_check "metrics: 1 session on moq-lite-03" [ "$(m 'wtcast_sessions_protocol_total{protocol="moq-lite-03"}')" = 1 ]
  wt_check "metrics: 1 session on moq-lite-02" [ "$(m 'wtcast_sessions_protocol_total{protocol="moq-lite-02"}')" = 1 ]
  wt_check "metrics: 5 sessions without a protocol" [ "$(m 'wtcast_sessions_protocol_total{protocol="none"}')" = 5 ]
  wt_check "metrics: no other protocol" [ "$(m 'wtcast_sessions_protocol_total{protocol="other"}')" = 0 ]
  wt_check "metrics: exactly 4 protocol series" \
    [ "$(grep -c '^wtcast_sessions_protocol_total{' "$T/metrics.txt")" = 4 ]
  mal=$(grep '^wtcast_protocols_malformed_total' "$T/metrics.txt" | awk '{ s += $2 } END { print s + 0 }')
  big431=$(grep '^wtcast_requests_too_large_total' "$T/metrics.txt" | awk '{ s += $2 } END { print s + 0 }')
  wt_check "metrics: 3 malformed offers" [ "$mal" = 3 ]
  wt_check "metrics: 1 request too large" [ "$big431" = 1 ]
else
  wt_failc "no /metrics"
fi
if wt_server_stats "$T/stats.json"; then
  wt_jcheck "SIGUSR1: protocols_malformed 3, protocols_chosen 2, too_large 1" "$T/stats.json" \
    "d['sessions']['protocols_malformed'] == 3 and d['sessions']['protocols_chosen'] == 2 and d['sessions']['too_large'] == 1"
else
  wt_failc "no SIGUSR1 stats line"
fi
wt_server_stop 15
wt_expect_rc "server exits on SIGTERM" 0 "$WT_SERVER_RC"
wt_done
