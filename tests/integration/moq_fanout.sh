#!/usr/bin/env bash
# moq_fanout: the moq-lite relay (--apps moq, two shards; docs/protocol.md
# section 9) fed by a C client: wtcast-bench --scenario moq-fanout (fanout --verify --moq)
# (bench/wtcast-bench/fanout.h), one publisher answering the relay's
# ANNOUNCE_PLEASE and SUBSCRIBE, 20 subscribers and 3 late joiners of
# broadcast b / track t, every record a moq-lite frame whose bytes the
# verifier checks (no loss, no tear, no duplicate, in order; the late
# joiners start at a group's first frame). Then the relay's counters must
# agree: one upstream subscription, each group read once and fanned out to
# every subscriber, nothing malformed, and /moq.json on the --http
# listener (what the live-video page shows) must give the same counters;
# the subscribers must be on both shards (the fan-out spans them).
# This is also what the benchmark
# bench/wt_fanout.sh runs as its "moq" transport.
. "$(dirname "$0")/lib.sh"
wt_init moq_fanout
FANOUT=$WT_BIN/wtcast-bench
[ -x "$FANOUT" ] || { wt_log "FAIL: $FANOUT is missing (not built yet?)"; exit 1; }
wt_cert
WT_APPS=moq wt_server_start --workers 2 --http 127.0.0.1:0
RATE=300
wt_sanitized && RATE=100
out=$WT_TMP/fanout.json
timeout -k 5 45 "$FANOUT" --scenario moq-fanout --url "$WT_URL" --cert-hash "$WT_HASH" \
  --ch bench --subs 20 --late-join 3 --count 300 --rate "$RATE" --size 500 --group-msgs 30 \
  --timeout 30 --json >"$out" 2>"$out.err"
rc=$?
wt_expect_rc "wtcast-bench --moq: 1 publisher -> 20 + 3 late subscribers, every byte verified" 0 "$rc"
wt_jcheck "every subscriber got the 10 groups complete, the late ones from a group start" "$out" \
  "d['ok'] and d['config']['moq'] and d['roles']['pub']['done'] and d['roles']['sub']['groups_complete'] == 200 \
   and d['roles']['sub']['groups_torn'] == 0 and d['roles']['late']['sessions'] == 3 \
   and d['roles']['late']['first_stream_at_group_start'] == 3"
if [ "$rc" != 0 ]; then
  head -c 2000 "$out"
  echo
  tail -n 20 "$out.err" | sed 's/^/    /'
fi
S=$WT_TMP/stats.json
wt_server_stats "$S"
wt_jcheck "server: 24 sessions, 1 upstream subscribe, 10 groups read once, fanned out to all" "$S" \
  "d['apps']['moq_sessions'] == 24 and d['apps']['moq_upstream_subscribes'] == 1 \
   and d['apps']['moq_groups_in'] == 10 and d['apps']['moq_delivered_streams'] >= 200 \
   and d['apps']['moq_malformed'] == 0 and d['apps']['moq_not_found'] == 0"
# two shards: the 24 connections land where the kernel's reuseport hash puts
# them (all on one: 2 in 2^24), so the broadcast's subscribers span both
wt_jcheck "the subscribers of the broadcast are on both shards" "$S" \
  "len(d['shards']) == 2 and all(s['sessions_opened'] >= 1 for s in d['shards'])"
http=$(sed -n 's#^demo page on http://\(127\.0\.0\.1:[0-9]*\)/.*#\1#p' "$WT_SERVER_OUT" | head -n1)
curl -sS --max-time 5 "http://$http/moq.json" >"$WT_TMP/moq.json" 2>&1
wt_jcheck "/moq.json: the same counters, without the moq_ prefix" "$WT_TMP/moq.json" \
  "d['counters']['sessions'] == 24 and d['counters']['groups_in'] == 10 \
   and d['counters']['upstream_subscribes'] == 1 and 'moq_sessions' not in d['counters'] \
   and not any(k.startswith('relay_') for k in d['counters'])"
wt_server_finish
wt_server_report
wt_done
