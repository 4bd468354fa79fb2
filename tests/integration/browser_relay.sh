#!/usr/bin/env bash
# Real browser against the fan-out relay and the demo page: wtcast runs with
# --http on 127.0.0.1 (the pages come from its own origin and read
# /config.json); headless Chromium (Debian's package, driven by
# playwright-core) runs tests/browser/wt_relay_demo_test.js: a publisher page
# and subscriber pages on /pub and /sub (bytes and datagrams intact, a second
# publisher refused, a late joiner gets the newest stream from its start),
# then the demo page (frames in every subscriber pane, late subscriber,
# publisher restart) with a screenshot kept in the build tree:
#   $WTCAST_BUILD/tests/browser_relay/relay-demo.png
# WTCAST_RELAY_TEST_MODE=echo runs the same harness against /echo (for
# working on the page without the relay). Skips (77) when Chromium or
# playwright-core is missing, unless WTCAST_REQUIRE_BROWSER=1.
. "$(dirname "$0")/lib.sh"
wt_init browser_relay
src=${WTCAST_SRC:?}
mode=${WTCAST_RELAY_TEST_MODE:-relay}
node_modules="${XDG_CACHE_HOME:-$HOME/.cache}/wtcast/node_modules"
missing=""
[ -x /usr/bin/chromium ] || missing="chromium (apt install chromium)"
[ -d "$node_modules/playwright-core" ] || missing="$missing playwright-core (tools/deps --browser)"
command -v node >/dev/null || missing="$missing node"
if [ -n "$missing" ]; then
  wt_log "SKIP: missing $missing"
  [ "${WTCAST_REQUIRE_BROWSER:-0}" = 1 ] && exit 1
  exit 77
fi

shots=${WTCAST_BUILD:-$WT_TMP}/tests/browser_relay
mkdir -p "$shots"
rm -f "$shots/relay-demo.png"

wt_cert
wt_server_start --http 127.0.0.1:0
demo_line() {
  grep -m1 '^demo page on http://127\.0\.0\.1:[0-9]*/' "$WT_SERVER_OUT" >/dev/null
}
if ! wt_wait_until 5 demo_line; then
  wt_failc "wtcast printed no 'demo page on http://127.0.0.1:PORT/' line"
  wt_done
fi
http=$(sed -n 's#^demo page on http://\(127\.0\.0\.1:[0-9]*\)/.*#\1#p' "$WT_SERVER_OUT" | head -n1)
wt_log "demo page on http://$http/ (mode $mode)"

NODE_PATH="$node_modules" timeout -k 5 150 node "$src/tests/browser/wt_relay_demo_test.js" \
  --http "$http" --mode "$mode" --shots "$shots" --timeout 140000 >"$WT_TMP/result.json" 2>"$WT_TMP/node.err"
rc=$?
cat "$WT_TMP/result.json"
wt_expect_rc "relay + demo page checks in Chromium" 0 "$rc"
if [ "$rc" != 0 ]; then
  wt_log "node stderr (tail):"
  tail -n 30 "$WT_TMP/node.err" | sed 's/^/    /'
fi
wt_check "screenshot saved ($shots/relay-demo.png)" test -s "$shots/relay-demo.png"

wt_server_stop
wt_expect_rc "server exits cleanly on SIGTERM" 0 "$WT_SERVER_RC"
if [ "$wt_fail" != 0 ]; then
  wt_log "server stderr (tail):"
  tail -n 30 "$WT_SERVER_ERR" | sed 's/^/    /'
fi
wt_done
