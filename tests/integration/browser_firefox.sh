#!/usr/bin/env bash
# Real browser: Debian's firefox-esr, headless, with a fresh profile and no
# WebDriver, opens a page from the test's own listener on http://127.0.0.1
# that connects to wtcast with serverCertificateHashes, runs the same checks
# as integration.browser_chromium (tests/browser/wt_page_checks.js: bidi
# echo, a uni stream round trip, the pushed streams, 100 datagrams, three
# sessions at once, a server-initiated close with code + reason) and posts
# its results back (tests/browser/wt_firefox_test.js). The protocol
# negotiation check (`protocols` / `transport.protocol`; the server prefers
# moq-lite-03) is reported SKIPPED if this Firefox lacks the API. Skips (77) when
# firefox-esr or node is missing, unless WTCAST_REQUIRE_BROWSER=1 (tools/test
# sets it: tools/deps --browser installs both).
. "$(dirname "$0")/lib.sh"
wt_init browser_firefox
src=${WTCAST_SRC:?}
missing=""
[ -x /usr/bin/firefox-esr ] || missing="firefox-esr (tools/deps --browser)"
command -v node >/dev/null || missing="$missing node"
if [ -n "$missing" ]; then
  wt_log "SKIP: missing $missing"
  [ "${WTCAST_REQUIRE_BROWSER:-0}" = 1 ] && exit 1
  exit 77
fi

wt_cert
# debug: the echo app logs each session's close code and reason
wt_server_start --wt-protocols moq-lite-03 --log-level debug
timeout -k 5 170 node "$src/tests/browser/wt_firefox_test.js" --server "127.0.0.1:$WT_PORT" \
  --hash "$WT_HASH" --timeout 150000 >"$WT_TMP/result.json" 2>"$WT_TMP/node.err"
rc=$?
cat "$WT_TMP/result.json"
wt_expect_rc "WebTransport checks in firefox-esr" 0 "$rc"
grep -h 'SKIPPED' "$WT_TMP/node.err" | sed 's/^/    /'
if [ "$rc" != 0 ]; then
  wt_log "node stderr (tail):"
  tail -n 30 "$WT_TMP/node.err" | sed 's/^/    /'
fi

wt_server_stop
wt_expect_rc "server exits cleanly on SIGTERM" 0 "$WT_SERVER_RC"
# the page closes its three parallel sessions with code 7, reason "bye"
n=$(grep -c '\[echo\] session [0-9]*: closed code=7 clean=1 reason=bye$' "$WT_SERVER_ERR")
wt_expect_rc "client close code + reason reached the server (sessions logging code=7 reason=bye)" 3 "$n"
if [ "$wt_fail" != 0 ]; then
  wt_log "server stderr (tail):"
  tail -n 30 "$WT_SERVER_ERR" | sed 's/^/    /'
fi
wt_done
