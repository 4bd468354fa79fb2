#!/usr/bin/env bash
# cluster_registry: cluster discovery on a Valkey/Redis registry
# (--cluster, ops/wt_cluster.h; docs/operations.md "Cluster").
# The test starts its own valkey-server (or redis-server) on a free
# loopback port with its own directory and no persistence, and three wtcast
# nodes A, B, C with --cluster (C only observes):
#  - every node's record appears with a TTL, naming its address;
#  - a relay publisher on A: its channel record names A (with a TTL); B's
#    lookup (GET /cluster?lookup=relay/NAME) answers A's address, A's own
#    lookup answers nothing (never itself);
#  - the publisher stops: the record is gone, B's lookup answers nothing;
#  - the publisher moves from A to B (B's starts while A's still runs): C's
#    map follows (time measured, must be within the TTL), and A's late
#    unpublish deletes neither the record nor C's entry (it names B now);
#  - the registry killed: registry_up 0 (/metrics), one log line per node,
#    an echo session still works, a lookup of an unknown name fails
#    (result -14, WT_ERR_UNSUPPORTED) while the known one still answers;
#  - the registry restarted empty on the same port: every node and B's live
#    channel are registered again (time measured), registry_up 1;
#  - garbage in the registry (malformed notices, a 100 kB notice, a
#    malformed record): counted and logged, the connection dropped for the
#    oversized one, nothing trusted, no crash;
#  - a node killed (no goodbye): C drops its channel within the TTL (time
#    measured), its records expire in the registry;
#  - the other nodes stopped: their records are deleted at once;
#  - registry credentials: an ACL user with its password in
#    --cluster-auth-file registers; a wrong password is logged (never
#    shown) and counted, the node retries; with --cluster-strict a refused
#    AUTH (the legacy form redis://:PASSWORD@) stops the start;
#  - a node's record carries its relay subscribers (subs=N);
#  - the registry down longer than C's --cluster-stale-max: C drops its
#    cached answers (logged, counted) and the known name fails too.
# Skips (77) only when neither valkey-server nor redis-server is installed.
. "$(dirname "$0")/lib.sh"
wt_init cluster_registry

SRV=$(command -v valkey-server || command -v redis-server || true)
CLI=$(command -v valkey-cli || command -v redis-cli || true)
if [ -z "$SRV" ]; then
  wt_log "SKIP: no valkey-server or redis-server (tools/deps installs redis-server)"
  exit 77
fi
if [ -z "$CLI" ]; then
  wt_log "FAIL: $SRV is installed but no valkey-cli / redis-cli"
  exit 1
fi
wt_cert
T=$WT_TMP
TTL=3000
# a name that does not resolve must not wait for a DNS server that is slow
# or absent (glibc's resolver: one try of 1 s at most)
export RES_OPTIONS="timeout:1 attempts:1"

RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
REG_PID=
reg_start() {
  mkdir -p "$T/reg"
  "$SRV" --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$T/reg" \
    --protected-mode yes >>"$T/reg.log" 2>&1 &
  REG_PID=$!
  WT_BG_PIDS+=("$REG_PID")
  wt_wait_until 10 rcli_ok || {
    wt_log "FAIL: $SRV did not answer PING on 127.0.0.1:$RPORT"
    tail -n 20 "$T/reg.log" | sed 's/^/    /'
    exit 1
  }
}
rcli() { "$CLI" -h 127.0.0.1 -p "$RPORT" --raw "$@" 2>/dev/null; }
rcli_ok() { [ "$(rcli PING)" = PONG ]; }
reg_kill() {
  kill -KILL "$REG_PID" 2>/dev/null
  wait "$REG_PID" 2>/dev/null
}

# node NAME: a wtcast node with --http (its /cluster) and --metrics
declare -A PID PORT HTTP METRICS ERR OUT
# [URL=redis://...] node NAME [ARGS...]
node() {
  local n=$1
  shift
  wt_server_start --workers 1 --apps relay,echo --http 127.0.0.1:0 --metrics 127.0.0.1:0 \
    --drain-timeout 300 \
    --cluster "${URL:-redis://127.0.0.1:$RPORT}" --node-id "$n" --cluster-ttl $TTL "$@"
  PID[$n]=$WT_SERVER_PID
  PORT[$n]=$WT_PORT
  ERR[$n]=$WT_SERVER_ERR
  OUT[$n]=$WT_SERVER_OUT
  WT_BG_PIDS+=("$WT_SERVER_PID")
  wt_wait_until 5 grep -q 'metrics on ' "$WT_SERVER_OUT"
  HTTP[$n]=$(sed -n 's|^demo page on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$WT_SERVER_OUT")
  METRICS[$n]=$(sed -n 's|^metrics on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$WT_SERVER_OUT")
  WT_SERVER_PID= # stopped by PID below
}

# get NODE PATH: GET http://127.0.0.1:HTTP[NODE]PATH
get() {
  python3 -c '
import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:%s%s" % (sys.argv[1], sys.argv[2]), timeout=5).read().decode())
' "${HTTP[$1]}" "$2" 2>/dev/null
}
# lookup NODE KEY: "RESULT ADDR" of the node's locator
lookup() {
  get "$1" "/cluster?lookup=$2" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["result"], d["addr"] or "-")'
}
metric() { # NODE SERIES: its value in the node's /metrics
  python3 -c '
import sys, urllib.request
t = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode()
print([l.rsplit(" ", 1)[1] for l in t.splitlines() if l.startswith(sys.argv[2] + " ")][0])
' "${METRICS[$1]}" "$2" 2>/dev/null
}
registry_up() { metric "$1" wtcast_cluster_registry_up; }
# follow NODE KEY WANT SECONDS [T0_NS]: ms from T0_NS (date +%s%N; default
# now) until NODE's lookup of KEY says WANT (polled every 20 ms; -1: never)
follow() {
  python3 -c '
import json, sys, time, urllib.request
port, key, want, limit = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
t0 = int(sys.argv[5]) if len(sys.argv) > 5 else time.time_ns()
while time.time_ns() - t0 < limit * 1e9:
    d = json.load(urllib.request.urlopen("http://127.0.0.1:%s/cluster?lookup=%s" % (port, key), timeout=5))
    if "%s %s" % (d["result"], d["addr"] or "-") == want:
        print((time.time_ns() - t0) // 1000000); sys.exit(0)
    time.sleep(0.02)
print(-1)' "${HTTP[$1]}" "$2" "$3" "$4" ${5:+"$5"}
}
within() { [ "$1" -ge 0 ] && [ "$1" -lt "$2" ]; }
pttl_ok() { # KEY: a TTL in 1..TTL ms
  local t
  t=$(rcli PTTL "$1")
  [ -n "$t" ] && [ "$t" -gt 0 ] && [ "$t" -le "$TTL" ]
}
is_val() { [ "$(rcli GET "$1")" = "$2" ]; }
gone() { [ "$(rcli EXISTS "$1")" = 0 ]; }
all_nodes() { [ "$(rcli EXISTS wtcast:node:A wtcast:node:B wtcast:node:C)" = 3 ]; }
pub() { # NODE CHANNEL HOLD_MS: a relay publisher in the background (PUBPID)
  "$WT_BIN/wtcast-client" "https://127.0.0.1:${PORT[$1]}/pub?ch=$2" --cert-hash "$WT_HASH" \
    --hold "$3" --timeout $(($3 + 10000)) >"$T/pub-$1-$2.json" 2>"$T/pub-$1-$2.err" &
  PUBPID=$!
  WT_BG_PIDS+=("$PUBPID")
}
sub() { # NODE CHANNEL HOLD_MS: a relay subscriber in the background (SUBPID)
  "$WT_BIN/wtcast-client" "https://127.0.0.1:${PORT[$1]}/sub?ch=$2" --cert-hash "$WT_HASH" \
    --hold "$3" --timeout $(($3 + 10000)) >"$T/sub-$1-$2.json" 2>"$T/sub-$1-$2.err" &
  SUBPID=$!
  WT_BG_PIDS+=("$SUBPID")
}

reg_start
wt_log "registry: $SRV on 127.0.0.1:$RPORT"

# ---- credentials (an ACL user; the default user stays open for the rest)
rcli ACL SETUSER wtnode on '>pw-good-1' '~wtcast:*' '&*' '+@all' >/dev/null
printf 'pw-good-1\n' >"$T/pw.good"
printf 'pw-TOPSECRET\n' >"$T/pw.bad"
URL="redis://wtnode@localhost:$RPORT" node D --cluster-auth-file "$T/pw.good" \
  --advertise "localhost:4433"
D_PID=${PID[D]}
d_reg() { rcli GET wtcast:node:D | grep -q '^1 localhost:4433 '; }
wt_check "auth: ACL user with --cluster-auth-file registers (registry URL and --advertise by host name)" \
  wt_wait_until 5 d_reg
URL="redis://wtnode@127.0.0.1:$RPORT" node E --cluster-auth-file "$T/pw.bad"
E_PID=${PID[E]}
auth_refused() { [ "$(metric E 'wtcast_cluster_errors_total{kind="auth_refused"}')" -ge 1 ] 2>/dev/null; }
wt_check "auth: a wrong password is counted" wt_wait_until 5 auth_refused
wt_check "  and logged with the registry's reason" \
  grep -q "refused this node's credentials (AUTH as wtnode refused: WRONGPASS" "${ERR[E]}"
wt_check "  the node is not registered" [ "$(rcli EXISTS wtcast:node:E)" = 0 ]
wt_check "  it keeps retrying (registry_up 0, more failures)" \
  wt_wait_until 5 eval '[ "$(metric E wtcast_cluster_connect_failures_total)" -ge 2 ]'
wt_check "  the password is never logged" eval '! grep -q TOPSECRET "${ERR[E]}" "${OUT[E]}"'
kill -TERM "$D_PID" "$E_PID"
for p in "$D_PID" "$E_PID"; do
  wt_wait_until 10 wt_pid_gone "$p"
  wait "$p" 2>/dev/null
  wt_expect_rc "auth: node (pid $p) exit status" 0 $?
done
wt_check "auth: D's record deleted at its shutdown" [ "$(rcli EXISTS wtcast:node:D)" = 0 ]
timeout -k 5 20 "$WT_BIN/wtcast" --listen 127.0.0.1:0 --cert "$WT_CERT" --key "$WT_KEY" \
  --cluster "redis://:pw-TOPSECRET@127.0.0.1:$RPORT" --node-id F --cluster-strict on \
  >"$T/strict.out" 2>"$T/strict.err"
wt_expect_rc "auth: --cluster-strict with a refused legacy AUTH: no start" 1 $?
wt_check "  with a clear message" grep -q "AUTH refused: .*(--cluster-strict: not starting)" "$T/strict.err"
wt_check "  the password is never shown" eval '! grep -q TOPSECRET "$T/strict.err" "$T/strict.out"'
node A
node B
node C --cluster-stale-max 3000

# ---- node records
wt_check "three node records registered" wt_wait_until 5 all_nodes
for n in A B C; do
  v=$(rcli GET "wtcast:node:$n")
  case "$v" in
  "1 127.0.0.1:${PORT[$n]} sessions="*",conns="*",subs="*",version="*) wt_pass "node $n record: $v" ;;
  *) wt_failc "node $n record: '$v'" ;;
  esac
  wt_check "node $n record has a TTL <= $TTL ms" pttl_ok "wtcast:node:$n"
done

# ---- the load: a subscriber on C shows in C's record (next heartbeat)
sub C load 4000
c_subs() { rcli GET wtcast:node:C | grep -q ',subs=1,'; }
wt_check "C's record counts its relay subscriber (subs=1)" wt_wait_until 5 c_subs

# ---- a publisher on A
pub A cam 2500
P1=$PUBPID
wt_check "channel record names A" wt_wait_until 5 is_val wtcast:ch:relay/cam "1 A 127.0.0.1:${PORT[A]}"
wt_check "channel record has a TTL" pttl_ok wtcast:ch:relay/cam
ms=$(follow B relay/cam "1 127.0.0.1:${PORT[A]}" 5)
wt_check "B's lookup finds relay/cam on A (${ms} ms)" [ "$ms" -ge 0 ]
wt_check "A's lookup never answers A itself" [ "$(lookup A relay/cam)" = "0 -" ]
wait "$P1"
wt_expect_rc "publisher on A ran" 0 $?
wt_check "publisher gone: the record is deleted" wt_wait_until 3 gone wtcast:ch:relay/cam
ms=$(follow B relay/cam "0 -" 3)
wt_check "B's lookup forgets relay/cam (${ms} ms)" [ "$ms" -ge 0 ]

# ---- the publisher moves from A to B
pub A mv 3000
PA=$PUBPID
wt_check "C sees relay/mv on A" [ "$(follow C relay/mv "1 127.0.0.1:${PORT[A]}" 5)" -ge 0 ]
# race NODE KEY WANT VALUE SECONDS T0_NS: "REG_MS MAP_MS": when the registry's
# record of KEY first read VALUE and NODE's lookup first said WANT (polled
# in turn every 5 ms, RESP spoken directly; -1: never)
race() {
  python3 -c '
import json, socket, sys, time, urllib.request
port, key, want, val, limit, t0 = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), int(sys.argv[6])
r = socket.create_connection(("127.0.0.1", int(sys.argv[7])))
f = r.makefile("rb")
def get(k):
    r.sendall(("GET %s\r\n" % k).encode())
    h = f.readline()
    return f.readline()[:-2].decode() if h.startswith(b"$") and h != b"$-1\r\n" else None
reg = mp = -1
while time.time_ns() - t0 < limit * 1e9 and (reg < 0 or mp < 0):
    if reg < 0 and get("wtcast:ch:" + key) == val:
        reg = (time.time_ns() - t0) // 1000000
    if mp < 0:
        d = json.load(urllib.request.urlopen("http://127.0.0.1:%s/cluster?lookup=%s" % (port, key), timeout=5))
        if "%s %s" % (d["result"], d["addr"] or "-") == want:
            mp = (time.time_ns() - t0) // 1000000
    time.sleep(0.005)
print(reg, mp)' "${HTTP[$1]}" "$2" "$3" "$4" "$5" "$6" "$RPORT"
}
t0=$(date +%s%N)
pub B mv 30000
PB=$PUBPID
read -r reg ms < <(race C relay/mv "1 127.0.0.1:${PORT[B]}" "1 B 127.0.0.1:${PORT[B]}" 5 "$t0")
wt_log "figure: publisher moved A -> B: B's record written $reg ms and C's map followed $ms ms" \
  "after B's publisher started (its process start, handshake and CONNECT included; TTL $TTL ms)"
wt_check "C follows the move within the TTL ($ms ms)" within "$ms" "$TTL"
wait "$PA"
sleep 0.3
wt_check "A's late unpublish leaves B's record" is_val wtcast:ch:relay/mv "1 B 127.0.0.1:${PORT[B]}"
wt_check "... and C's entry" [ "$(lookup C relay/mv)" = "1 127.0.0.1:${PORT[B]}" ]
n=$(metric A 'wtcast_cluster_errors_total{kind="refresh_conflict"}')
wt_check "A's heartbeats saw B's record and left it ($n refresh conflicts)" [ "${n:-0}" -ge 1 ]

# ---- advertised host names: C resolves them on its cluster thread
rcli PUBLISH wtcast:0:notices "+ H 60000 localhost:4999 relay/named" >/dev/null
rcli PUBLISH wtcast:0:notices "+ G 60000 no-such-node.invalid:4433 relay/ghost" >/dev/null
wt_check "C answers a name's channel with its numeric address" \
  [ "$(follow C relay/named "1 127.0.0.1:4999" 5)" -ge 0 ]
unresolved() { [ "$(metric C 'wtcast_cluster_errors_total{kind="unresolved"}')" -ge 1 ] 2>/dev/null; }
wt_check "C counts a name that does not resolve" wt_wait_until 5 unresolved
wt_check "  logs it" grep -q "advertised address no-such-node.invalid:4433: 'no-such-node.invalid' does not resolve" "${ERR[C]}"
wt_check "  and answers no candidate for its channel" [ "$(lookup C relay/ghost)" = "0 -" ]
rcli PUBLISH wtcast:0:notices "- H relay/named" >/dev/null
rcli PUBLISH wtcast:0:notices "- G relay/ghost" >/dev/null

# ---- the counters: /metrics parses (Prometheus' own parser) and SIGUSR1 has "cluster"
prom_ok() {
  python3 -c '
import sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families as parse
t = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode()
fam = {f.name: f for f in parse(t)}
look = {s.labels["result"]: s.value for s in fam["wtcast_cluster_lookups"].samples}
assert look["hit"] >= 1 and look["miss"] >= 1, look
assert fam["wtcast_cluster_nodes"].samples[0].value == 3
' "${METRICS[$1]}"
}
wt_check "B's /metrics parses, lookups hit and miss counted, 3 nodes" prom_ok B
kill -USR1 "${PID[B]}"
stats_ok() { grep -q '"cluster":{"registry_up":1,' "${OUT[B]}"; }
wt_check "SIGUSR1 line has the cluster member" wt_wait_until 5 stats_ok

# ---- the registry down
reg_kill
up_is() { [ "$(registry_up "$1")" = "$2" ]; }
t_down=$(date +%s%N)
wt_check "the known one still answers" [ "$(lookup C relay/mv)" = "1 127.0.0.1:${PORT[B]}" ]
wt_check "registry down: registry_up 0 on A" wt_wait_until 5 up_is A 0
wt_client "$T/echo.json" "https://127.0.0.1:${PORT[A]}/echo" --echo hi
wt_expect_rc "an echo session on A while the registry is down" 0 "$WT_RC"
wt_check "lookup of an unknown name fails (-14)" [ "$(lookup C relay/none)" = "-14 -" ]
ms=$(follow C relay/mv "-14 -" 8 "$t_down")
wt_log "figure: registry down: C's cached answer dropped after $ms ms (--cluster-stale-max 3000)"
wt_check "C drops its cached answers after --cluster-stale-max ($ms ms)" within "$ms" 6000
wt_check "  at 3 s at the earliest" [ "$ms" -ge 2900 ]
n=$(metric C 'wtcast_cluster_errors_total{kind="stale_dropped"}')
wt_check "  counted ($n)" [ "${n:-0}" -ge 1 ]
wt_check "  logged" grep -q 'more than --cluster-stale-max 3000 ms): dropped the' "${ERR[C]}"
wt_check "  A (no bound reached: 6 TTLs) still answers it" \
  [ "$(lookup A relay/mv)" = "1 127.0.0.1:${PORT[B]}" ]

# ---- the registry back (empty: no persistence)
t0=$(date +%s%N)
reg_start
wt_check "nodes re-registered" wt_wait_until 10 all_nodes
t1=$(date +%s%N)
wt_check "B's live channel re-registered" wt_wait_until 5 is_val wtcast:ch:relay/mv "1 B 127.0.0.1:${PORT[B]}"
wt_log "figure: registry restarted: all 3 nodes re-registered $(((t1 - t0) / 1000000)) ms after it started"
wt_check "registry_up 1 on A again" wt_wait_until 5 up_is A 1
for n in A B C; do
  lost=$(grep -c 'registry .* lost' "${ERR[$n]}")
  wt_check "node $n logged the loss once ($lost)" [ "$lost" = 1 ]
  wt_check "node $n logged the return" grep -q 'up again after' "${ERR[$n]}"
done
wt_check "C's map after the restart: relay/mv on B" [ "$(follow C relay/mv "1 127.0.0.1:${PORT[B]}" 5)" -ge 0 ]
n=$(metric A wtcast_cluster_reconnects_total)
wt_check "A counted the reconnect ($n)" [ "${n:-0}" -ge 1 ]

clean_log() { ! grep -v 'cluster-stale-max' "$1" | grep -q 'malformed\|error reply\|unexpected reply\|dropped'; }
for n in A B C; do
  wt_check "node $n: no malformed or error reply logged so far" clean_log "${ERR[$n]}"
done

# ---- garbage on the registry: counted and logged, never trusted, never a crash
malformed() { metric C 'wtcast_cluster_errors_total{kind="malformed"}'; }
rcli SET wtcast:ch:relay/bad "not a record" PX 60000 >/dev/null
rcli PUBLISH wtcast:0:notices "+ A 5000 h:1 nokey" >/dev/null
rcli PUBLISH wtcast:0:notices "+ A 5000 h:1 relay/x extra token" >/dev/null
at_least() { [ "$(malformed)" -ge "$1" ] 2>/dev/null; }
wt_check "malformed notices counted on C" wt_wait_until 5 at_least 2
r0=$(metric C wtcast_cluster_reconnects_total)
rcli PUBLISH wtcast:0:notices "$(head -c 100000 /dev/zero | tr '\0' x)" >/dev/null
more_reconnects() { [ "$(metric C wtcast_cluster_reconnects_total)" -gt "$r0" ] 2>/dev/null; }
wt_check "a 100 kB notice: C drops the connection and reconnects" wt_wait_until 5 more_reconnects
wt_check "... its SCAN refused the malformed channel record" wt_wait_until 5 at_least 4
wt_check "C logged it" grep -q 'connection dropped' "${ERR[C]}"
wt_check "C answers nothing for it" [ "$(lookup C relay/bad)" = "0 -" ]
wt_check "C still finds relay/mv on B" [ "$(lookup C relay/mv)" = "1 127.0.0.1:${PORT[B]}" ]
rcli DEL wtcast:ch:relay/bad >/dev/null

# ---- a node dies (SIGKILL, no goodbye): forgotten within the TTL
# C first back on the registry after the dropped connection above (else its
# reconnect's SCAN, not its expiry, forgets the node: seen once under ASan)
c_up() { [ "$(metric C wtcast_cluster_registry_up)" = 1 ]; }
wt_check "C is connected to the registry again" wt_wait_until 10 c_up
t0=$(date +%s%N)
kill -KILL "${PID[B]}"
wait "${PID[B]}" 2>/dev/null
ms=$(follow C relay/mv "0 -" 8 "$t0")
wt_log "figure: node B killed: C's map dropped its channel after $ms ms (TTL $TTL ms)"
wt_check "C forgets the dead node's channel within TTL + 2 s ($ms ms)" within "$ms" $((TTL + 2000))
# a lookup stops answering an entry as soon as its TTL passed; the sweep
# that removes (and counts) it runs every SWEEP_MS (ops/wt_cluster.c) after
expired_counted() { [ "$(metric C wtcast_cluster_records_expired_total)" -ge 1 ] 2>/dev/null; }
wt_check "C counted the expiry (its sweep)" wt_wait_until 5 expired_counted
wt_check "B's records expire in the registry" wt_wait_until 5 gone wtcast:ch:relay/mv
wt_check "... its node record too" wt_wait_until 5 gone wtcast:node:B
kill "$PB" 2>/dev/null
wait "$PB" 2>/dev/null

# ---- leaving
for n in A C; do
  kill -TERM "${PID[$n]}"
done
for n in A C; do
  wt_check "node $n stopped" wt_wait_until 10 wt_pid_gone "${PID[$n]}"
  wait "${PID[$n]}" 2>/dev/null
  wt_expect_rc "node $n exit status (a sanitizer report would fail it)" 0 $?
done
wt_check "node records deleted at shutdown" [ "$(rcli EXISTS wtcast:node:A wtcast:node:B wtcast:node:C)" = 0 ]
wt_check "no channel record left" [ -z "$(rcli --scan --pattern 'wtcast:ch:*')" ]
reg_kill
wt_done
