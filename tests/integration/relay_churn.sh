#!/usr/bin/env bash
# relay_churn (issue 17): relay channels made and retired while their
# members are backlogged, against wtcast --workers 2 --apps relay. The relay
# keeps the counters of at most 1024 retired channels (apps/wt_app_relay.c
# RELAY_RETIRED_MAX) and frees the oldest while the shards that mirrored a
# channel's group may still write its counters (reference-counted since
# issue 17; unit.app_ctx test_group_counters_outlive covers it at unit
# level). Here, end to end, with two test hooks that make that window
# certain instead of rare: WTCAST_TEST_RELAY_RETIRED_MAX=8 (the registry
# keeps 8 retired channels, not 1024) and WTCAST_TEST_GROUP_DEL_DEFER=24
# (every shard handles a GROUP_DEL only after 24 later ones, shards/
# wt_bridge.h): by then 24 more channels retired, so the registry has
# evicted that channel's entry and the shard's group holds the last
# reference to its counters (the server logs how many groups did; checked
# > 0). Broken reference counting is a use after free there (ASan/TSan).
# wtcast-flood --mode churn (tools/wtcast-flood/churn.h) runs 300 channels,
# at most 16 at once on 2 groups of 3 connections; each channel has a
# subscriber that reads, a subscriber whose streams are never read (its
# 4 KiB stream windows take 4 KiB of each 32 KiB group: the rest is held by
# its shard, a backlogged relay member, when the channel ends) and a
# publisher (3 groups + 1 datagram). Checks: every channel completed (every
# group reached the reading subscriber, no refusal, no timeout, no session
# closed by the server), the stalled subscriber got only its windows, the
# server's registry kept at most 1024 retired channels (/metrics), no group,
# member or mirrored stream is left on any shard and no session is active
# (SIGUSR1), a fresh channel still relays (wtcast-bench fanout --verify),
# and the server exits 0 on SIGTERM (under ASan/TSan: no report). Runs in
# the release, ASan and TSan stages of tools/test.
. "$(dirname "$0")/lib.sh"
wt_init relay_churn
T=$WT_TMP
for b in wtcast-flood wtcast-bench; do
  if [ ! -x "$WT_BIN/$b" ]; then
    wt_log "FAIL: $WT_BIN/$b is missing (not built?)"
    exit 1
  fi
done
CHANNELS=300
RETIRED_MAX=8
wt_cert
WTCAST_TEST_RELAY_RETIRED_MAX=$RETIRED_MAX WTCAST_TEST_GROUP_DEL_DEFER=24 \
  wt_server_start --workers 2 --apps relay --metrics 127.0.0.1:0 --log-level warn
wt_check "the test hooks are on" grep -q 'test hook: the relay keeps 8 retired' "$WT_SERVER_ERR"
MURL=$(sed -n 's/^metrics on \(http:[^ ]*\)$/\1/p' "$WT_SERVER_OUT" | head -n1)
wt_check "metrics listener up" test -n "$MURL"

timeout -k 5 120 "$WT_BIN/wtcast-flood" --server "127.0.0.1:$WT_PORT" --mode churn \
  --conns 6 --sources 6 --channels "$CHANNELS" --duration 100000 >"$T/churn.json" 2>"$T/churn.err"
wt_expect_rc "wtcast-flood --mode churn ran" 0 $?
wt_log "    churn: $(cat "$T/churn.json")"
wt_jcheck "all $CHANNELS channels made and retired: every group delivered, nothing refused, timed out or closed by the server" \
  "$T/churn.json" "(c := d['churn'])['done'] == $CHANNELS and c['timeouts'] == 0 and c['refused'] == 0 and c['closed_by_server'] == 0 and c['conns_lost'] == 0 and c['anchors_lost'] == 0 and c['groups_fin'] == 3 * $CHANNELS and c['groups_reset'] == 0 and c['sub_bytes'] == 3 * 32768 * $CHANNELS"
# The stalled subscriber got at most its 4 KiB window of each group: the
# server held the other 28 KiB of each (backlogged members) until the end.
wt_jcheck "the stalled subscriber got at most its stream window of each group (the rest was held by the server)" \
  "$T/churn.json" "(c := d['churn'])['stall_streams'] > 0 and c['stall_bytes'] <= 4096 * c['stall_streams'] and c['stall_bytes'] < 3 * 32768 * $CHANNELS // 4"

# Nothing left on the shards once the sessions are gone (closes in flight).
left() {
  wt_server_stats "$T/stats.json" &&
    wt_jtest "$T/stats.json" "d['sessions']['active'] == 0 and d['links']['groups'] == 0 and d['links']['group_members'] == 0 and d['links']['mirrored_streams'] == 0"
}
if wt_wait_until 15 left; then
  wt_pass "no session, group, member or mirrored stream left on the shards"
else
  wt_failc "shard state left after the churn: $(cat "$T/stats.json")"
fi
wt_jcheck "every relay session was opened (3 per channel) and closed" "$T/stats.json" \
  "d['sessions']['opened'] >= 3 * $CHANNELS and d['sessions']['refused'] == 0 and d['errors']['internal'] == 0"

# The registry: at most RETIRED_MAX retired channels kept, none live.
metrics() {
  python3 - "$MURL" "$T/metrics.json" <<'PY'
import json, re, sys, urllib.request
text = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode()
out = {}
for line in text.splitlines():
    m = re.match(r'^(wtcast_relay_[a-z_]+)(\{[^}]*\})? ([0-9.e+]+)$', line)
    if m:
        out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
json.dump(out, open(sys.argv[2], "w"))
PY
}
if metrics; then
  wt_jcheck "the registry kept $RETIRED_MAX retired channels of $CHANNELS, none live" "$T/metrics.json" \
    "d.get('wtcast_relay_metrics_channels{series=\"own\"}', -1) + d.get('wtcast_relay_metrics_channels{series=\"other\"}', -1) == $RETIRED_MAX and sum(v for k, v in d.items() if k.startswith('wtcast_relay_channel_live')) == 0"
  wt_log "    registry: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print({k: v for k, v in d.items() if "metrics_channels" in k})' "$T/metrics.json")"
else
  wt_failc "/metrics could not be read"
fi

# Still healthy: a fresh channel relays every message to 2 subscribers.
timeout -k 5 60 "$WT_BIN/wtcast-bench" --scenario fanout --verify --url "$WT_URL" \
  --cert-hash "$WT_HASH" --ch churn-after --subs 2 --count 100 --rate 200 --group-msgs 20 \
  --timeout 40 --json >"$T/after.json" 2>"$T/after.err"
wt_expect_rc "after the churn: a new channel relays every message (fanout --verify)" 0 $?

wt_server_finish
# the window was there: groups that held the last reference to counters the
# registry had already let go (one line per shard at exit)
outlived=$(sed -n 's/.*test hook: \([0-9]*\) held-back group(s) outlived.*/\1/p' "$WT_SERVER_ERR" |
  awk '{n += $1} END {print n + 0}')
wt_log "    groups that outlived their registry entry: $outlived"
wt_check "held-back groups outlived their registry entries ($outlived)" test "$outlived" -gt 0
wt_server_report
wt_done
