#!/usr/bin/env bash
# loopback_migration (issue #5): connection IDs outlive addresses and
# processes.
#  - NAT rebinding: wtcast-client --rebind-after 300 moves to a new UDP
#    socket (new source port) in the middle of a 100 MB bidi echo; the
#    server (2 shards, CID steering) validates the new path, the echo still
#    verifies, and the connection stays on its shard: no packet is forwarded
#    between shards and one shard holds the connection.
#  - Restart: with --key-file, stateless reset tokens derive from the file's
#    secret. After kill -9 and a restart on the same port with the same
#    file, a client holding its session (--hold) gets a stateless reset
#    within 2 s instead of waiting for the idle timeout (30 s).
#  - Retry: a server with --retry=always sends a Retry to every new
#    connection; handshakes complete and the echoes verify.
. "$(dirname "$0")/lib.sh"
wt_init loopback_migration
wt_cert
T=$WT_TMP

python3 -c 'import os; print(os.urandom(32).hex())' >"$T/secret.hex"
wt_server_start --key-file "$T/secret.hex" --workers 2

# --- NAT rebinding mid-transfer
wt_client "$T/mig.json" "$WT_URL/echo" --bidi-bytes 100000000 --rebind-after 300 --timeout 120000
wt_expect_rc "100 MB echo across a rebinding: every check verified" 0 "$WT_RC"
wt_jcheck "the client moved to a new source port mid-transfer" "$T/mig.json" \
  "d['rebind']['done'] and d['rebind']['new_port'] != d['rebind']['old_port'] and d['rebind']['at_ms'] < ops['bidi_bytes']['duration_ms']"
wt_jcheck "the echo verified after the rebinding" "$T/mig.json" \
  "ops['bidi_bytes']['verified'] and s0['verified']"
wt_log "    rebind: $(wt_jget "$T/mig.json" rebind)"
wt_server_stats "$T/mig-stats.json"
wt_jcheck "the connection stayed on its shard (nothing forwarded, one shard has it)" \
  "$T/mig-stats.json" \
  "d['forwarding']['out'] == 0 and sorted(x['conns_accepted'] for x in d['shards']) == [0, 1]"
wt_check "server still running" kill -0 "$WT_SERVER_PID"

# --- restart: stateless reset for an old client
{
  port=$WT_PORT
  wt_log "client holds a session for 20 s on port $port"
  timeout -k 5 40 "$WT_BIN/wtcast-client" "$WT_URL/echo" --cert-hash "$WT_HASH" --echo hi \
    --hold 20000 --timeout 35000 >"$T/hold.json" 2>"$T/hold.json.err" &
  cpid=$!
  WT_BG_PIDS+=("$cpid")
  sleep 1.5
  wt_log "kill -9 server pid $WT_SERVER_PID"
  kill -KILL "$WT_SERVER_PID" 2>/dev/null
  wait "$WT_SERVER_PID" 2>/dev/null
  WT_SERVER_PID=
  sleep 0.3
  WT_LISTEN=127.0.0.1:$port wt_server_start --key-file "$T/secret.hex"
  t0=$(date +%s%N)
  client_gone() { wt_pid_gone "$cpid"; }
  if wt_wait_until 10 client_gone; then
    t1=$(date +%s%N)
    wait "$cpid" 2>/dev/null
    ms=$(((t1 - t0) / 1000000))
    wt_log "    client ended ${ms} ms after the restart; conn: $(wt_jget "$T/hold.json" connections.0.conn_closed)"
    if [ "$ms" -lt 2000 ]; then
      wt_pass "the old client ended within 2 s of the restart ($ms ms)"
    else
      wt_failc "the old client ended within 2 s of the restart ($ms ms)"
    fi
    wt_jcheck "it ended by a stateless reset" "$T/hold.json" \
      "conns[0]['conn_closed']['stateless_reset'] == True"
    wt_jcheck "its echo had verified before" "$T/hold.json" "ops['echo']['verified']"
  else
    wt_failc "the old client ended within 10 s of the restart"
  fi
  wt_server_stats "$T/stats.json" && wt_log "    restarted server: $(head -c 600 "$T/stats.json")"
}
wt_server_stop 15
wt_expect_rc "server exits on SIGTERM" 0 "$WT_SERVER_RC"

# --- Retry: every handshake goes through a Retry and still completes
wt_server_start --retry=always
wt_client "$T/retry.json" "$WT_URL/echo" --connections 4 --echo via-retry --timeout 20000
wt_expect_rc "--retry=always: 4 connections handshake and echo" 0 "$WT_RC"
wt_server_stats "$T/retry-stats.json"
wt_jcheck "the server sent a Retry to each of them" "$T/retry-stats.json" \
  "d['address_validation']['retries_sent'] >= 4 and d['handshakes']['ok'] >= 4"
wt_server_stop 15
wt_expect_rc "server exits on SIGTERM" 0 "$WT_SERVER_RC"
wt_done
