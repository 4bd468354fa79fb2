#!/usr/bin/env bash
# ops_metrics: wtcast --metrics serves Prometheus text at /metrics; the
# official parser (python3-prometheus-client) reads it; per-shard labels;
# counters move with traffic (echo sessions, bytes, datagrams) and never go
# back; relay channels appear once used; the listener thread is wt-metrics.
. "$(dirname "$0")/lib.sh"
wt_init ops_metrics
# Debian's python3-prometheus-client lives in the system python (a python3
# earlier on PATH, e.g. pyenv's, may not see it)
PYP=
for p in python3 /usr/bin/python3; do
  if "$p" -c 'import prometheus_client.parser' 2>/dev/null; then
    PYP=$p
    break
  fi
done
if [ -z "$PYP" ]; then
  wt_log "FAIL: python3-prometheus-client is missing (tools/deps installs it)"
  exit 1
fi
wt_cert
T=$WT_TMP
# --metrics-max-channels 2: the relay test below uses 3 channels
wt_server_start --workers 2 --metrics 127.0.0.1:0 --metrics-max-channels 2
MURL=$(sed -n 's/^metrics on \(http:[^ ]*\)$/\1/p' "$WT_SERVER_OUT" | head -n1)
if [ -z "$MURL" ]; then
  wt_failc "no 'metrics on URL' line on stdout"
  wt_done
fi
wt_log "metrics at $MURL"
# the listener's thread is named (ps -T, top -H), not libmicrohttpd's "MHD-single"
wt_check "the metrics listener's thread is named wt-metrics" \
  grep -qx wt-metrics /proc/"$WT_SERVER_PID"/task/*/comm

# scrape FILE [SRC]: fetch (from source address SRC, default 127.0.0.1),
# parse with prometheus_client, write {name{labels}: value} as JSON
scrape() {
  "$PYP" - "$MURL" "$1" "${2:-127.0.0.1}" <<'PY'
import http.client, json, sys, urllib.parse
from prometheus_client.parser import text_string_to_metric_families
u = urllib.parse.urlsplit(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=10, source_address=(sys.argv[3], 0))
c.request("GET", u.path)
r = c.getresponse()
assert r.status == 200, r.status
ctype = r.getheader("Content-Type", "")
assert ctype.startswith("text/plain") and "version=0.0.4" in ctype, ctype
text = r.read().decode()
out = {}
fams = 0
for fam in text_string_to_metric_families(text):
    fams += 1
    assert fam.type in ("counter", "gauge"), (fam.name, fam.type)
    for s in fam.samples:
        key = s.name + "{" + ",".join("%s=%s" % kv for kv in sorted(s.labels.items())) + "}"
        assert key not in out, "duplicate sample " + key
        out[key] = s.value
out["_families"] = fams
json.dump(out, open(sys.argv[2], "w"), indent=0, sort_keys=True)
PY
}

if scrape "$T/m0.json"; then
  wt_pass "scrape 1 parses ($(wt_jget "$T/m0.json" _families) families)"
else
  wt_failc "scrape 1 does not parse"
  wt_done
fi
wt_jcheck "per-shard labels: shards 0 and 1, backend info" "$T/m0.json" \
  'd["wtcast_shards{}"] == 2 and "wtcast_connections_accepted_total{shard=0}" in d and "wtcast_connections_accepted_total{shard=1}" in d and any(k.startswith("wtcast_io_backend_info{backend=") for k in d)'
wt_jcheck "every family of the issue is there" "$T/m0.json" \
  'all(any(k.startswith(p) for k in d) for p in ["wtcast_connections_active{", "wtcast_sessions_opened_total{", "wtcast_streams_opened_total{", "wtcast_datagrams_total{dir=in", "wtcast_datagrams_dropped_total{", "wtcast_bytes_total{dir=out", "wtcast_handshakes_total{result=ok", "wtcast_retries_sent_total{", "wtcast_forwarded_total{dir=in", "wtcast_errors_total{kind=proto", "wtcast_app_sessions_total{app=echo"])'
wt_jcheck "the memory budget's families parse (gauges, levels, responses)" "$T/m0.json" \
  'd["wtcast_memory_max_bytes{}"] > 0 and d["wtcast_memory_pressure_level{}"] == 0 and "wtcast_memory_pressure_total{level=close}" in d and "wtcast_memory_responses_total{kind=conn_closed,shard=1}" in d'

# --- traffic: echo sessions, bytes and datagrams
wt_client "$T/echo.json" "$WT_URL/echo" --connections 4 --bidi-bytes 200000 --datagrams 50 --timeout 30000
wt_expect_rc "4 echo connections" 0 "$WT_RC"
scrape "$T/m1.json" || wt_failc "scrape 2 does not parse"
sum() { # FILE PREFIX: the sum of the samples whose key starts with PREFIX
  "$PYP" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(int(sum(v for k, v in d.items() if k.startswith(sys.argv[2]))))' "$1" "$2"
}
for m in 'wtcast_sessions_opened_total{' 'wtcast_connections_accepted_total{' \
  'wtcast_handshakes_total{result=ok' 'wtcast_bytes_total{dir=in' 'wtcast_bytes_total{dir=out' \
  'wtcast_streams_opened_total{' 'wtcast_datagrams_total{dir=in' 'wtcast_app_sessions_total{app=echo'; do
  a=$(sum "$T/m0.json" "$m")
  b=$(sum "$T/m1.json" "$m")
  if [ "$b" -gt "$a" ]; then
    wt_pass "$m moved with traffic ($a -> $b)"
  else
    wt_failc "$m did not move ($a -> $b)"
  fi
done
a=$(sum "$T/m1.json" 'wtcast_sessions_opened_total{')
wt_check "4 sessions opened in all (shards summed: $a)" test "$a" -ge 4

# --- the relay: a publisher's channel appears with its counters
# (3 channels, 2 series: all live, none carries bytes, 1 subscriber each,
# so the names decide: metrics-test and metrics-x1 get their own,
# metrics-x2 is summed into channel="other")
wt_client "$T/sub.json" "$WT_URL/sub?ch=metrics-test" --hold 1500 --timeout 15000 &
SUB=$!
wt_client "$T/sub1.json" "$WT_URL/sub?ch=metrics-x1" --hold 1500 --timeout 15000 &
SUB1=$!
wt_client "$T/sub2.json" "$WT_URL/sub?ch=metrics-x2" --hold 1500 --timeout 15000 &
SUB2=$!
sleep 0.7
scrape "$T/m2.json" || wt_failc "scrape 3 does not parse"
wait "$SUB" "$SUB1" "$SUB2"
wt_jcheck "scrapes counted" "$T/m2.json" \
  '"wtcast_metrics_scrapes_total{}" in d and d["wtcast_metrics_scrapes_total{}"] >= 3'
wt_jcheck "relay channel metrics-test: 1 subscriber, its counters" "$T/m2.json" \
  'd.get("wtcast_relay_subscribers{channel=metrics-test}") == 1 and "wtcast_relay_delivered_total{channel=metrics-test,kind=stream_bytes}" in d and "wtcast_relay_dropped_total{channel=metrics-test,reason=streams_lagged}" in d'

wt_jcheck "--metrics-max-channels 2: metrics-x1 has its own series, metrics-x2 is in channel=other" "$T/m2.json" \
  'd.get("wtcast_relay_subscribers{channel=metrics-x1}") == 1 and "wtcast_relay_subscribers{channel=metrics-x2}" not in d and d.get("wtcast_relay_subscribers{channel=other}") == 1 and d.get("wtcast_relay_metrics_channels{series=other}") == 1 and d.get("wtcast_relay_channel_live{channel=other,worker=all}") == 1'

# --- counters never go back
scrape "$T/m3.json" || wt_failc "scrape 4 does not parse"
if python3 - "$T/m1.json" "$T/m3.json" <<'PY'; then
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
bad = [k for k in a if "_total{" in k and k in b and b[k] < a[k]]
assert not bad, bad
PY
  wt_pass "no counter went back between scrapes"
else
  wt_failc "a counter went back"
fi
# --- slow clients: 20 sockets from 127.0.0.1 that never send take their
# share (--http-conns-per-ip, default 8) and no more; a scrape from another
# address (127.0.0.2) is answered at once and counts the 12 refused
MPORT=${MURL#http://127.0.0.1:}
MPORT=${MPORT%%/*}
IDLE=()
for _ in $(seq 1 20); do
  if exec {fd}<>"/dev/tcp/127.0.0.1/$MPORT"; then IDLE+=("$fd"); fi
done
wt_check "20 idle sockets opened to the metrics listener" test "${#IDLE[@]}" -eq 20
refused=0
for _ in $(seq 1 20); do
  if ! scrape "$T/m4.json" 127.0.0.2; then
    break
  fi
  refused=$(wt_jget "$T/m4.json" 'wtcast_http_refused_total{listener=metrics,reason=per_ip}')
  [ "${refused%.*}" -ge 12 ] && break
  sleep 0.1
done
wt_check "a scrape from another address is answered while 127.0.0.1 holds idle sockets" \
  test -s "$T/m4.json"
wt_check "12 connections refused at accept, counted per_ip (got $refused)" test "${refused%.*}" -eq 12
wt_check "the refusal is logged" grep -q "connection from 127.0.0.1 refused" "$WT_SERVER_ERR"
for fd in "${IDLE[@]}"; do exec {fd}>&-; done

wt_server_stop 15
wt_expect_rc "server exits on SIGTERM" 0 "$WT_SERVER_RC"
wt_done
