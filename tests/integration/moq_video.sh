#!/usr/bin/env bash
# moq_video: the live-video demo (web/live.html with /live.js: @moq/publish
# and @moq/watch from npm, bundled into wtcast at build time) in headless
# Chromium with its fake camera (--use-fake-device-for-media-stream), through
# wtcast's moq-lite relay (--apps moq, two shards; docs/protocol.md section
# 9). tests/browser/wt_live_test.js loads the page from wtcast's own --http
# origin, which publishes the camera and plays it in two <moq-watch>
# players; the pictures the players paint must change over time (two
# screenshots of each canvas differ, neither blank), their decoded frame
# counts must grow, and the page must show the relay's counters (/moq.json).
# Then the server's own counters must agree (SIGUSR1: 3 moq sessions, the
# groups read once, delivered to both players, no bad input) and it must
# exit cleanly. The page screenshot is kept in the build tree:
#   $WTCAST_BUILD/tests/moq_video/live-video.png   (docs/img/live-video.png)
# Skips (77) when Chromium, playwright-core or node is missing, or when the
# binary has no live page (-DWTCAST_WEB_LIVE=OFF), unless
# WTCAST_REQUIRE_BROWSER=1.
. "$(dirname "$0")/lib.sh"
wt_init moq_video
src=${WTCAST_SRC:?}
node_modules="${XDG_CACHE_HOME:-$HOME/.cache}/wtcast/node_modules"
missing=""
[ -x /usr/bin/chromium ] || missing="chromium (apt install chromium)"
[ -d "$node_modules/playwright-core" ] || missing="$missing playwright-core (tools/deps --browser)"
command -v node >/dev/null || missing="$missing node"
skip() {
  wt_log "SKIP: missing $1"
  [ "${WTCAST_REQUIRE_BROWSER:-0}" = 1 ] && exit 1
  exit 77
}
[ -z "$missing" ] || skip "$missing"

shots=${WTCAST_BUILD:-$WT_TMP}/tests/moq_video
mkdir -p "$shots"
rm -f "$shots/live-video.png"

wt_cert
WT_APPS=moq wt_server_start --workers 2 --http 127.0.0.1:0
demo_line() {
  grep -m1 '^demo page on http://127\.0\.0\.1:[0-9]*/' "$WT_SERVER_OUT" >/dev/null
}
if ! wt_wait_until 5 demo_line; then
  wt_failc "wtcast printed no 'demo page on http://127.0.0.1:PORT/' line"
  wt_server_finish
  wt_done
fi
http=$(sed -n 's#^demo page on http://\(127\.0\.0\.1:[0-9]*\)/.*#\1#p' "$WT_SERVER_OUT" | head -n1)
if ! curl -sfo /dev/null --max-time 5 "http://$http/live.js"; then
  wt_server_finish
  skip "/live.js (a build with -DWTCAST_WEB_LIVE=OFF)"
fi

NODE_PATH="$node_modules" timeout -k 5 60 node "$src/tests/browser/wt_live_test.js" \
  --http "$http" --watchers 2 --shot "$shots/live-video.png" --timeout 50000 \
  >"$WT_TMP/result.json" 2>"$WT_TMP/node.err"
rc=$?
wt_expect_rc "live-video page in Chromium (fake camera, two players)" 0 "$rc"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for k, v in d.get("checks", {}).items():
    print("%s %s" % ("PASS" if v else "FAIL", k))
w = d.get("watchers") or []
print("FIGURES frames decoded per player %s, bytes %s, browser run %s ms"
      % ([x.get("frames") for x in w], [x.get("bytes") for x in w], d.get("ms")))
' "$WT_TMP/result.json" >"$WT_TMP/checks.txt" 2>&1
while read -r verdict what; do
  case $verdict in
  PASS) wt_pass "page: $what" ;;
  FAIL) wt_failc "page: $what" ;;
  *) wt_log "$verdict $what" ;;
  esac
done <"$WT_TMP/checks.txt"
if [ "$rc" != 0 ]; then
  head -c 4000 "$WT_TMP/result.json"
  echo
  wt_log "node stderr (tail):"
  tail -n 30 "$WT_TMP/node.err" | sed 's/^/    /'
fi
wt_check "screenshot saved ($shots/live-video.png)" test -s "$shots/live-video.png"

# the server's view: the publisher and two players; the catalog and video
# tracks each read once from the publisher (2 upstream subscribes), groups
# delivered to the players, nothing malformed or refused
S=$WT_TMP/stats.json
wt_server_stats "$S"
wt_jcheck "server: 3 moq sessions, 2 upstream subscribes, groups read and delivered" "$S" \
  "d['apps']['moq_sessions'] == 3 and d['apps']['moq_upstream_subscribes'] == 2 \
   and d['apps']['moq_groups_in'] >= 2 and d['apps']['moq_delivered_streams'] >= 2 \
   and d['apps']['moq_malformed'] == 0 and d['apps']['moq_refused'] == 0 \
   and d['apps']['moq_unsupported'] == 0"
# the broadcast's own counters as the page fetched them (/moq.json
# "broadcasts", while it was live): its subscriptions (catalog and video of
# each player), deliveries and drop columns; the SIGUSR1 line carries the
# same list (relay.broadcasts: the broadcast, or none once the server has
# seen the browser's sessions end)
bfields="all(isinstance(b[k], int) for k in ('subscribers', 'delivered_streams', 'delivered_bytes', \
   'dropped_lagged', 'dropped_priority', 'dropped_limit', 'dropped_latency', 'subscriber_dropped_max'))"
wt_jcheck "/moq.json on the page: the broadcast's counters (subscribers, delivered, drops, worst subscriber)" \
  "$WT_TMP/result.json" "d['relay']['broadcasts_live'] == 1 and any(b['name'].endswith('/cam.hang') \
   and b['subscribers'] >= 4 and b['delivered_streams'] >= 2 and $bfields for b in d['relay']['broadcasts'])"
wt_jcheck "SIGUSR1: relay.broadcasts (the broadcast or none)" "$S" \
  "d['relay']['broadcasts_live'] == len(d['relay']['broadcasts']) <= 1 \
   and all(b['name'].endswith('/cam.hang') and $bfields for b in d['relay']['broadcasts'])"
wt_server_finish
wt_server_report
wt_done
