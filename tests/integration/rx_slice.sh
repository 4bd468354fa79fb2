#!/usr/bin/env bash
# rx_slice: a shard stops receiving for the turn once handshake work has used
# its slice (--rx-slice-us), sends the replies, and goes on with the rest of
# the batch it already holds (shards/wt_shard.c).
# 16 handshakes in flight from wtcast-bench (each a new connection: TLS work
# per Initial) against one shard:
#  - --rx-slice-us 1 (cut after any handshake packet with more behind it):
#    every handshake completes, loop.rx_sliced > 0, and no datagram was lost
#    between the cut and the next turn (the shard's io counted exactly the
#    datagrams its engine was given: rx_datagrams == packets_in);
#  - --rx-slice-us 0 (never cut): the same handshakes complete and
#    rx_sliced stays 0.
# Latency and rates are printed, never compared (CI machines vary).
. "$(dirname "$0")/lib.sh"
wt_init rx_slice
wt_cert
T=$WT_TMP

# run NAME SLICE_US
run() {
  local name=$1 slice=$2
  wt_server_start --workers 1 --log-level warn --max-conns-per-ip 100000 --rx-slice-us "$slice"
  timeout 120 "$WT_BIN/wtcast-bench" --url "$WT_URL" --cert-hash "$WT_HASH" \
    --server-pid "$WT_SERVER_PID" --json --runs 1 --warmup 0.3 --duration 1.5 --threads 1 \
    --scenario handshake --concurrency 16 >"$T/$name.json" 2>"$T/$name.err"
  wt_expect_rc "$name: wtcast-bench handshake scenario" 0 "$?"
  wt_jcheck "$name: every handshake completed" "$T/$name.json" \
    "(lambda r: r['completed'] > 0 and r['failed'] == 0 and r['errors'] == 0)(d['medians']['wtcast'])"
  wt_log "    $name: $(wt_jget "$T/$name.json" medians.wtcast.sessions_per_s) sessions/s, p50 $(wt_jget "$T/$name.json" medians.wtcast.latency_p50_us) us"
  wt_server_stats "$T/$name.stats.json" || wt_failc "$name: no SIGUSR1 line"
  wt_jcheck "$name: no datagram lost across cut turns (rx_datagrams == packets_in)" \
    "$T/$name.stats.json" "d['shards'][0]['rx_datagrams'] == d['shards'][0]['packets_in'] > 0"
  wt_server_stop
}

run sliced 1
wt_jcheck "--rx-slice-us 1: turns were cut (loop.rx_sliced > 0)" "$T/sliced.stats.json" \
  "d['loop']['rx_sliced'] > 0"
run whole 0
wt_jcheck "--rx-slice-us 0: no turn was cut" "$T/whole.stats.json" "d['loop']['rx_sliced'] == 0"
wt_done
