#!/usr/bin/env bash
# moq_relay: real @moq/net 0.3.4 clients (the npm package, in headless
# Chromium driven by playwright-core) publish and subscribe through
# wtcast's moq-lite relay (wtcast --apps moq; docs/protocol.md section 9):
# tests/browser/wt_moq_test.js runs twice on one server: --mode 05 (every
# client on moq-lite-05, what @moq/net 0.3.4 picks, plus a FETCH of a past
# group and of one no longer kept), then --mode legacy (-04 and -03). Each
# run: one publisher (a broadcast of two
# tracks), two subscribers (-04 and -03 in legacy) and a late one that must
# get every frame in order from a group boundary on, one with a start and
# an end group (exactly those, then the end), an announce watcher
# (the broadcast active, then ended), and a raw WebTransport session whose
# bad streams must be reset with the documented codes, and a throttled one
# (its QUIC path held for a while by the script's UDP forwarder) that must
# lose only whole groups while the others lose none. Then the server's
# counters must agree (SIGUSR1 line: moq sessions, groups read, the bad
# input counted; /metrics: wtcast_moq_total) and it must exit cleanly, with every session freed. Skips
# (77) when Chromium, playwright-core, node or @moq/net is missing, unless
# WTCAST_REQUIRE_BROWSER=1.
. "$(dirname "$0")/lib.sh"
wt_init moq_relay
src=${WTCAST_SRC:?}
node_modules="${XDG_CACHE_HOME:-$HOME/.cache}/wtcast/node_modules"
ver=$(sed -n 's/^MOQ_NET_VER=\([^ ]*\).*/\1/p' "$src/tools/deps")
moq=${WTCAST_MOQ_NET:-${XDG_CACHE_HOME:-$HOME/.cache}/wtcast/node-moq-net-$ver/node_modules/@moq/net}
missing=""
[ -x /usr/bin/chromium ] || missing="chromium (apt install chromium)"
[ -d "$node_modules/playwright-core" ] || missing="$missing playwright-core (tools/deps --browser)"
[ -f "$moq/lite/connection.js" ] || missing="$missing @moq/net $ver (tools/deps --browser)"
command -v node >/dev/null || missing="$missing node"
if [ -n "$missing" ]; then
  wt_log "SKIP: missing $missing"
  [ "${WTCAST_REQUIRE_BROWSER:-0}" = 1 ] && exit 1
  exit 77
fi

wt_cert
# two shards: the clients' sessions usually land on both (the kernel's
# choice), so a fan-out spans shards (logged, not asserted). The lag bound
# is small so that the throttled subscriber's 3 s hold overruns it: 384 KB
# is 24 of the bridge's 16 KB receive buffers (each group pins one), about
# 1.7 s of this publisher; a healthy page holds one or two per track (at
# 128 KB, 0.6 s, both healthy subscribers once lost a group on a host at
# load 12: one browser process runs every page). The hold stays well under
# @moq/net's 5 s group cache window (DEFAULT_LATENCY_MAX_MS).
# --drain-timeout 1000: at SIGTERM the throttled page's connection may still
# be open (its session is closed; the server's debug log showed the
# connection open at SIGTERM and its closing period 2.7 s long, its RTT
# estimate still carrying the hold) and the drain would wait the default 5 s
lag_max=393216
WT_APPS=moq wt_server_start --workers 2 --log-level warn --metrics 127.0.0.1:0 --relay-lag-max $lag_max \
  --drain-timeout 1000
MURL=$(sed -n 's/^metrics on \(http:[^ ]*\)$/\1/p' "$WT_SERVER_OUT" | head -n1)
# the package's node_modules: @moq/net and its dependencies side by side
deps=$(cd "$moq/../.." && pwd)
for mode in 05 legacy; do
NODE_PATH="$node_modules" timeout -k 5 90 node "$src/tests/browser/wt_moq_test.js" \
  --url "$WT_URL/moq/test/room$mode" --hash "$WT_HASH" --moq "$deps" --timeout 60000 --mode $mode --pause 3000 \
  >"$WT_TMP/result.json" 2>"$WT_TMP/node.err"
rc=$?
wt_expect_rc "@moq/net clients through the relay in Chromium (mode $mode)" 0 "$rc"
R=$WT_TMP/result.json
# one line per check of the page (versions: -04 for @moq/net's own offer,
# -03 when it offers only that; announce active then ended; s1, s2 and late:
# every frame of both tracks in order, checksums right; late from a group
# boundary; bad input: each stream reset with its code, the session goes on;
# range: its start and end groups, whole, then its subscription ended)
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for k, v in d.get("checks", {}).items():
    print("%s %s" % ("PASS" if v else "FAIL", k))
if "pub" in d:
    print("FIGURES groups published %s per track, late subscriber from %s, browser run %s ms, "
          "groups arriving before an earlier one %s"
          % (d["pub"]["groups"], d["subs"]["late"]["tracks"]["a"]["first"], d["ms"],
             sum(t.get("reordered", 0) for s in d["subs"].values() for t in s["tracks"].values())))
if "thr" in d:
    print("FIGURES throttled subscriber (held from group %s to %s, %s packets held): %s"
          % (d["thr_pause"]["pub_groups"], d["thr_resume"]["pub_groups"],
             d["thr_resume"]["held_packets"], d["thr"]))
' "$R" >"$WT_TMP/checks.txt" 2>&1
while read -r verdict what; do
  case $verdict in
  PASS) wt_pass "page ($mode): $what" ;;
  FAIL) wt_failc "page ($mode): $what" ;;
  *) wt_log "$verdict $what" ;;
  esac
done <"$WT_TMP/checks.txt"
if [ "$rc" != 0 ]; then
  head -c 3000 "$R"
  echo
  wt_log "node stderr (tail):"
  tail -n 30 "$WT_TMP/node.err" | sed 's/^/    /'
fi
done

# the server's view, both runs: 8 sessions each (the range subscriber's
# ended by the relay after its end group), both tracks' groups read once each, the
# late subscriber caught up on both tracks (the newest group from its start:
# so its first frame is a group's first by the relay's doing, not by luck),
# the bad streams counted (2 malformed and 1 not found each, 1 unsupported:
# legacy's FETCH; -05's FETCH of nothing and of a gone group: fetch_missed),
# one FETCH served, the throttled subscribers' groups dropped for lag (only
# theirs: the other pages got every group, checked above)
S=$WT_TMP/stats.json
wt_server_stats "$S"
wt_jcheck "server: moq sessions, groups read once per track, bad input counted" "$S" \
  "d['apps']['moq_sessions'] == 16 and d['apps']['moq_subs_ended'] == 2 and d['apps']['moq_upstream_subscribes'] == 4 \
   and d['apps']['moq_dropped_lagged'] >= 2 \
   and d['apps']['moq_groups_in'] >= 24 and d['apps']['moq_catchups'] >= 4 \
   and d['apps']['moq_malformed'] >= 4 and d['apps']['moq_delivered_streams'] >= 72 \
   and d['apps']['moq_not_found'] == 2 and d['apps']['moq_unsupported'] == 1 \
   and d['apps']['moq_fetches'] == 1 and d['apps']['moq_fetch_missed'] == 2 \
   and d['apps']['moq_track_infos'] >= 6 and d['apps']['moq_refused'] == 0 \
   and d['apps']['moq_limit'] == 0"
wt_log "moq counters: $(python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["apps"]; print({k[4:]: a[k] for k in ("moq_limit", "moq_fetches", "moq_fetch_missed", "moq_track_infos", "moq_malformed", "moq_unsupported")})' "$S" 2>&1)"
wt_log "fan-out drops: $(python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["apps"]; print({k[11:]: a[k] for k in a if k.startswith("moq_dropped")})' "$S" 2>&1)"
wt_log "sessions per shard: $(python3 -c 'import json,sys; print([s["sessions_opened"] for s in json.load(open(sys.argv[1]))["shards"]])' "$S" 2>&1)"
wt_check "/metrics: wtcast_moq_total{what=\"sessions\"} 16" \
  grep -qx 'wtcast_moq_total{what="sessions"} 16' <(curl -sS --max-time 5 "$MURL")
wt_server_finish
wt_server_report
wt_done
