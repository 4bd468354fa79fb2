#!/usr/bin/env bash
# cluster_netns: three wtcast nodes in network namespaces the test makes
# (one veth pair each to one bridge, addresses 10.213.X.0/24 with X from the
# PID), a redis-server / valkey-server the test starts on the bridge
# (its own port, no persistence), --cluster registry discovery
# (ops/wt_cluster.h) driving the relay cascade (apps/wt_apps.h "Cascade"),
# QUIC-LB connection IDs with a server ID per node (core/wt_qlb.h;
# docs/architecture.md "Connection IDs and steering"); docs/operations.md
# "Cluster". Clients (wtcast-bench --scenario fanout --verify: every
# datagram and every group byte in order) run in a fourth namespace:
#  1. a publisher on A, subscribers on B and C: every byte; A counts ONE
#     subscriber of the channel per edge (B's and C's upstreams);
#  2. QUIC-LB routing: a UDP load balancer written here (python3, standard
#     library) on the bridge routes client Initials round robin and every
#     other packet by DECODING the server ID from its DCID
#     (draft-ietf-quic-load-balancers-21: first octet = config rotation
#     bits, then server ID || nonce; A and B plaintext, C single-pass AES
#     through openssl); subscribers connect through it and verify; any packet whose server ID
#     names no node fails, every connection's packets went to one node, and
#     every server CID a node sent decodes to that node; a viewer whose
#     client rebinds mid-stream (wtcast-client --rebind-after: a new source
#     port, same CIDs, as a NAT rebinding) keeps its session: the LB routes
#     its post-rebind short-header packets by CID to the node it was on
#     (a new address, the same node), and that node answers there;
#  3. a late joiner on C starts at a group start (from C's cache);
#  4. A restarted (B's upstream killed): B re-subscribes, its subscribers
#     see only whole-group gaps (recovery time measured);
#  5. the publisher moves from A to B: C follows within the TTL (measured;
#     directly, or first through A), then pulls from B directly (A closes
#     C's /sub once, 0x17: the publisher left it);
#  6. the registry down: a flowing stream keeps flowing, a new lookup fails
#     with a logged error (counted on /metrics);
#  7. the registry restarted: every node and a live channel re-register
#     (time measured).
# Skips (77) only when namespaces / veth / a bridge cannot be made (not
# root, no iproute2) or no redis-server / valkey-server is installed.
. "$(dirname "$0")/lib.sh"
wt_init cluster_netns
T=$WT_TMP
if [ ! -x "$WT_BIN/wtcast-bench" ]; then
  wt_log "FAIL: $WT_BIN/wtcast-bench is missing (not built yet?)"
  exit 1
fi
SRV=$(command -v valkey-server || command -v redis-server || true)
CLI=$(command -v valkey-cli || command -v redis-cli || true)
if ! command -v openssl >/dev/null; then
  wt_log "SKIP: openssl (the test LB's AES decoder) is not installed"
  exit 77
fi
if [ -z "$SRV" ] || [ -z "$CLI" ]; then
  wt_log "SKIP: no valkey-server/redis-server and its cli (tools/deps installs redis-server)"
  exit 77
fi
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# ------------------------------------------------------------------ the network
TAG=$$
X=$((TAG % 200 + 20))
for _ in 1 2 3 4 5 6 7 8; do # a /24 no other run (nor anything else) routes
  ip -4 route 2>/dev/null | grep -q "^10\.213\.$X\." || break
  X=$(((X - 20 + 37) % 200 + 20))
done
NET=10.213.$X
BR=wtbr$TAG
NS_A=wtns$TAG-a NS_B=wtns$TAG-b NS_C=wtns$TAG-c NS_K=wtns$TAG-k
NSS=("$NS_A" "$NS_B" "$NS_C" "$NS_K")
IP_A=$NET.11 IP_B=$NET.12 IP_C=$NET.13 IP_K=$NET.20 IP_R=$NET.1
net_cleanup() {
  local n
  for n in "${NSS[@]}"; do
    ip netns del "$n" 2>/dev/null # its veth end goes with it, and the peer
  done
  ip link del "$BR" 2>/dev/null
}
cleanup_all() {
  wt_cleanup
  net_cleanup
}
trap cleanup_all EXIT
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
  wt_log "SKIP: network namespaces need root and iproute2 (uid $(id -u))"
  exit 77
fi
net_fail() {
  wt_log "SKIP: cannot make namespaces/veth/bridge: $1 ($(tail -n 1 "$T/ip.err" 2>/dev/null))"
  exit 77
}
ip link add "$BR" type bridge 2>"$T/ip.err" || net_fail "bridge $BR"
{ ip addr add "$IP_R/24" dev "$BR" && ip link set "$BR" up; } 2>>"$T/ip.err" || net_fail "bridge address"
i=0
for n in "${NSS[@]}"; do
  i=$((i + 1))
  case $n in
  "$NS_A") a=$IP_A ;; "$NS_B") a=$IP_B ;; "$NS_C") a=$IP_C ;; *) a=$IP_K ;;
  esac
  { ip netns add "$n" &&
    ip link add "wv$TAG$i" type veth peer name "wp$TAG$i" &&
    ip link set "wp$TAG$i" netns "$n" &&
    ip link set "wv$TAG$i" master "$BR" && ip link set "wv$TAG$i" up &&
    ip -n "$n" link set lo up &&
    ip -n "$n" addr add "$a/24" dev "wp$TAG$i" &&
    ip -n "$n" link set "wp$TAG$i" up; } 2>>"$T/ip.err" || net_fail "namespace $n"
done
wt_log "bridge $BR $IP_R/24; A $IP_A, B $IP_B, C $IP_C, clients $IP_K (namespaces wtns$TAG-*)"
wt_cert

# ------------------------------------------------------------------ the registry
RPORT=$((16000 + TAG % 20000))
REG_PID=
rcli() { "$CLI" -h "$IP_R" -p "$RPORT" --raw "$@" 2>/dev/null; }
rcli_ok() { [ "$(rcli PING)" = PONG ]; }
reg_start() {
  mkdir -p "$T/reg"
  "$SRV" --port "$RPORT" --bind "$IP_R" --save '' --appendonly no --dir "$T/reg" \
    --protected-mode no >>"$T/reg.log" 2>&1 &
  REG_PID=$!
  WT_BG_PIDS+=("$REG_PID")
  wt_wait_until 10 rcli_ok || {
    wt_log "FAIL: $SRV did not answer PING on $IP_R:$RPORT"
    tail -n 20 "$T/reg.log" | sed 's/^/    /'
    exit 1
  }
}
reg_kill() {
  kill -KILL "$REG_PID" 2>/dev/null
  wait "$REG_PID" 2>/dev/null
}
reg_start
wt_log "registry: $SRV on $IP_R:$RPORT"

# ------------------------------------------------------------------ the nodes
TTL=5000 # the default --cluster-ttl
RATE=200
if wt_sanitized; then
  RATE=60
fi
# QUIC-LB: A and B plaintext (config rotation 1, server ID 2 bytes, nonce
# 6), C single-pass AES-128 (config rotation 2, server ID 2 bytes, nonce 14):
# an LB that knows both configurations (as during a key rotation)
QKEY=8f95f09245765f80256934e50c66207f
declare -A SID=([A]=0a01 [B]=0a02 [C]=0a03)
declare -A QLB=([A]="--quic-lb-config 1 --quic-lb-nonce-len 6"
  [B]="--quic-lb-config 1 --quic-lb-nonce-len 6"
  [C]="--quic-lb-config 2 --quic-lb-nonce-len 14 --quic-lb-key $QKEY")
declare -A NIP=([A]=$IP_A [B]=$IP_B [C]=$IP_C)
declare -A NNS=([A]=$NS_A [B]=$NS_B [C]=$NS_C)
declare -A PID ERR OUT
# the server programs: wtcast in the node's namespace (wt_server_start;
# exec: the PID is wtcast's)
for n in A B C; do
  printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "${NNS[$n]}" "$WT_BIN/wtcast" >"$T/wtcast-$n"
  chmod +x "$T/wtcast-$n"
done
# --datagram-max-age 0: the steps count every datagram (lib.sh wt_node)
node() {
  local n=$1
  # shellcheck disable=SC2086 # QLB: several words on purpose
  WT_SERVER_BIN=$T/wtcast-$n WT_LISTEN="${NIP[$n]}:4433" wt_server_start \
    --workers 2 --apps relay --metrics "${NIP[$n]}:9100" --datagram-max-age 0 \
    --cluster "redis://$IP_R:$RPORT" --node-id "$n" --advertise "${NIP[$n]}:4433" \
    --cluster-ttl $TTL --cluster-pin "$WT_HASH" \
    --quic-lb-server-id "${SID[$n]}" ${QLB[$n]}
  PID[$n]=$WT_SERVER_PID
  ERR[$n]=$WT_SERVER_ERR
  OUT[$n]=$WT_SERVER_OUT
  WT_BG_PIDS+=("$WT_SERVER_PID")
  WT_SERVER_PID=
}
# node_stats NAME OUT: the node's SIGUSR1 JSON line into OUT.
node_stats() { wt_node_stats "${PID[$1]}" "${OUT[$1]}" "$2"; }
metric() { # NODE SERIES: its value on the node's /metrics
  ip netns exec "$NS_K" "$PY" -c '
import sys, urllib.request
t = urllib.request.urlopen("http://%s:9100/metrics" % sys.argv[1], timeout=5).read().decode()
print(sum(float(l.rsplit(" ", 1)[1]) for l in t.splitlines() if l.startswith(sys.argv[2])))
' "${NIP[$1]}" "$2" 2>/dev/null
}
all_nodes() { [ "$(rcli EXISTS wtcast:node:A wtcast:node:B wtcast:node:C)" = 3 ]; }

# ------------------------------------------------------------------ the clients
# fo / fo_bg OUT IP ARGS...: the verifier against IP:4433 from the client namespace
WT_FO_PREFIX=(ip netns exec "$NS_K")
fo() { wt_fo "$1" "https://$2" "${@:3}"; }
fo_bg() { wt_fo_bg "$1" "https://$2" "${@:3}"; }
ALL="d['roles']['sub']['groups_complete'] == d['roles']['sub']['groups_expected'] and d['roles']['sub']['delivered_datagrams'] == d['roles']['sub']['expected_datagrams'] and d['roles']['sub']['groups_torn'] == 0 and d['roles']['sub']['corrupt'] == 0"
now_ms() { echo $(($(date +%s%N) / 1000000)); }

node A
node B
node C
wt_check "three node records in the registry" wt_wait_until 5 all_nodes
wt_log "records: $(rcli GET wtcast:node:A) | $(rcli GET wtcast:node:B) | $(rcli GET wtcast:node:C)"

# hold NODE CH MS: a plain /sub session held open on NODE (HOLD_PID): it
# keeps the node's channel wanted, so its upstream stays open
hold() {
  ip netns exec "$NS_K" "$WT_BIN/wtcast-client" "https://${NIP[$1]}:4433/sub?ch=$2" \
    --cert-hash "$WT_HASH" --hold "$3" --timeout $(($3 + 10000)) >"$T/hold-$1-$2.json" \
    2>"$T/hold-$1-$2.err" &
  HOLD_PID=$!
  WT_BG_PIDS+=("$HOLD_PID")
}
# up_open NODE CH [N]: the node logged its Nth (default 1st) upstream open for CH
up_open() { [ "$(grep -c "channel $2: upstream open" "${ERR[$1]}")" -ge "${3:-1}" ]; }

# ------------------------------------------------------------------ 1. A -> B, C
# An edge pulls a channel only once the registry names its node: a
# subscriber that comes before the publisher waits for the cascade's next
# lookup (backoff 100 ms .. 5 s) and misses what was sent meanwhile. So the
# edges' upstreams are opened first (a warm-up publisher on A, held /subs on
# B and C; datagrams only: nothing of it is cached for later subscribers),
# then the verified subscribers join and the publisher starts.
N=400
G=20
fo_bg "$T/a0.json" "$IP_A:4433" --role pub --ch k1 --transport datagram --count 40 --rate 40 \
  --group-msgs 20 --pub-id 1 --timeout 20
pa0=$FO_PID
sleep 0.3
hold B k1 30000
hb=$HOLD_PID
hold C k1 30000
hc=$HOLD_PID
wt_check "1: the edges' upstreams open (warm-up)" wt_wait_until 10 eval 'up_open B k1 && up_open C k1'
wt_fo_wait "$pa0" 20
fo_bg "$T/b1.json" "$IP_B:4433" --role sub --ch k1 --subs 3 --transport both --count $N \
  --group-msgs $G --timeout 40 --idle 2500 --ready-file "$T/b1.ready"
pb=$FO_PID
fo_bg "$T/c1.json" "$IP_C:4433" --role sub --ch k1 --subs 2 --transport both --count $N \
  --group-msgs $G --timeout 40 --idle 2500 --ready-file "$T/c1.ready"
pc=$FO_PID
if wt_wait_until 10 wt_ready "$T/b1.ready" && wt_wait_until 10 wt_ready "$T/c1.ready"; then
  fo_bg "$T/a1.json" "$IP_A:4433" --role pub --ch k1 --transport both --count $N \
    --rate $RATE --group-msgs $G --pub-id 2 --timeout 30
  pa=$FO_PID
  sleep 1.2 # mid-run: the edges' upstreams are open
  node_stats A "$T/a1.stats" && node_stats B "$T/b1.stats" && node_stats C "$T/c1.stats"
  wt_check "1: A counts exactly one subscriber of k1 per edge (2: B's and C's upstreams)" \
    test "$(wt_relay_chan "$T/a1.stats" k1 subscribers)" = 2
  wt_check "1: B has its 3 subscribers (+1 held), C its 2 (+1)" \
    test "$(wt_relay_chan "$T/b1.stats" k1 subscribers)/$(wt_relay_chan "$T/c1.stats" k1 subscribers)" = 4/3
  wt_fo_wait "$pa" 30
  wt_expect_rc "1: the publisher on A" 0 "$FO_RC"
  if node_stats A "$T/a1b.stats"; then
    pubb=$(wt_relay_chan "$T/a1b.stats" k1 published.stream_bytes)
    delb=$(wt_relay_chan "$T/a1b.stats" k1 delivered.stream_bytes)
    wt_check "1: A sent k1's group bytes once per edge ($delb bytes for $pubb published: 2x, not 5x)" \
      test "$delb" -le $((2 * pubb)) -a "$pubb" -gt 0
  fi
  wt_fo_wait "$pb" 30
  wt_fo_figures "$T/b1.json"
  wt_expect_rc "1: B's 3 subscribers" 0 "$FO_RC"
  wt_fo_wait "$pc" 30
  wt_fo_figures "$T/c1.json"
  wt_expect_rc "1: C's 2 subscribers" 0 "$FO_RC"
  for n in b c; do
    wt_jcheck "1: $n: every datagram and every group byte, in order" "$T/${n}1.json" "$ALL"
  done
  kill -KILL "$hb" "$hc" 2>/dev/null
  wait "$hb" "$hc" 2>/dev/null
  wt_log "1: upstream opens: B $(grep -c 'channel k1: upstream open' "${ERR[B]}"), C $(grep -c 'channel k1: upstream open' "${ERR[C]}"); $(grep -m1 'channel k1: pulling from' "${ERR[C]}" | sed 's/.*channel/C: channel/')"
else
  wt_failc "1: the subscribers did not get their sessions within 10 s"
fi

# ------------------------------------------------------------------ 2. QUIC-LB routing
# lb.py LISTEN_IP PORT STATS CR:SID:NONCELEN:KEY|-=IP:PORT...: a UDP load
# balancer (draft-ietf-quic-load-balancers-21). A CID's first octet's top 3
# bits name the configuration (config rotation); then server ID || nonce,
# in the clear (plaintext mode) or as one AES-128-ECB block (single-pass
# mode: server ID + nonce = 16 bytes; openssl decrypts, once per CID seen).
# Client -> node: a long-header packet whose DCID decodes to a node's server
# ID, and every short-header packet (the DCID length is the configuration's),
# goes to that node; a client Initial with any other DCID (the client's own random one)
# to the next node in turn (round robin, remembered per DCID: a repeated
# Initial goes where the first went); anything else is counted as
# unroutable and dropped. One upstream socket per (client address, node):
# node -> client packets go back from the listening socket; the server CID
# (SCID) of every long-header packet a node sends must decode to that node.
# A short-header packet whose DCID the LB saw before from another client
# address is a rebinding: counted, with the node it went to compared with
# the node that DCID's packets went to before; the node's answers to the
# new address are counted (from that node, or from another: a reset).
# SIGTERM: the counters as JSON into STATS.
cat >"$T/lb.py" <<'PY'
import json, selectors, signal, socket, subprocess, sys
ip, port, stats_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
nodes = []  # (ip, port)
conf = {}  # config rotation -> (server ID length, nonce length, AES key or None)
by_sid = {}  # (config rotation, server ID) -> node index
for a in sys.argv[4:]:
    spec, addr = a.split("=")
    cr, sid, nl, key = spec.split(":")
    cr, sid = int(cr), bytes.fromhex(sid)
    conf[cr] = (len(sid), int(nl), None if key == "-" else key)
    by_sid[(cr, sid)] = len(nodes)
    h, p = addr.rsplit(":", 1)
    nodes.append((h, int(p)))
plain = {}  # CID -> server ID (single-pass: decrypted once)
first_pick = {}  # a client's first DCID -> the node round robin gave it
st = {"routed": [0] * len(nodes), "by_turn": 0, "by_cid": 0, "unroutable": 0,
      "unroutable_sids": [], "back": [0] * len(nodes), "back_bad_scid": 0, "bad_scids": [],
      "aes_decrypts": 0}
conn_nodes = {}  # client SCID (long headers) -> set of nodes
dcid_at = {}  # short-header DCID -> (first client address, node)
rebound = {}  # client address first seen after a rebinding -> the node its DCID named before
st.update({"rebinds": 0, "rebind_wrong_node": 0, "rebound_pkts": 0, "back_rebound": 0,
           "back_rebound_other": 0})
addr_nodes = {}  # client address -> set of nodes
ups = {}  # (client addr, node) -> socket
sel = selectors.DefaultSelector()
def udp():
    # deep buffers (SO_RCVBUFFORCE: root): a burst queues instead of being
    # dropped while this single thread forwards
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for opt in (33, 32):  # SO_RCVBUFFORCE, SO_SNDBUFFORCE
        try:
            u.setsockopt(socket.SOL_SOCKET, opt, 8 << 20)
        except OSError:
            pass
    return u
lsock = udp()
lsock.bind((ip, port))
sel.register(lsock, selectors.EVENT_READ, None)

def cid_len(first):
    """the CID length the configuration named by its first octet has"""
    c = conf.get(first >> 5)
    return 1 + c[0] + c[1] if c else 0

def decode(cid):
    """the node index a CID names, or None"""
    if not cid or len(cid) != cid_len(cid[0]):
        return None
    cr = cid[0] >> 5
    sidlen, _, key = conf[cr]
    sid = plain.get(cid)
    if sid is None:
        body = cid[1:]
        if key:
            st["aes_decrypts"] += 1
            body = subprocess.run(["openssl", "enc", "-d", "-aes-128-ecb", "-nopad", "-K", key],
                                  input=body, capture_output=True, check=True).stdout
        sid = body[:sidlen]
        if len(plain) < 100000:
            plain[cid] = sid
    return by_sid.get((cr, sid))

def parse_long(d):
    """(type, dcid, scid) of a long-header packet, or None"""
    if len(d) < 7:
        return None
    dl = d[5]
    if len(d) < 6 + dl + 1:
        return None
    dcid = d[6:6 + dl]
    sl = d[6 + dl]
    scid = d[7 + dl:7 + dl + sl]
    return (d[0] >> 4) & 3, dcid, scid

def dump(*_):
    out = dict(st)
    out["connections"] = len(conn_nodes)
    out["conns_on_several_nodes"] = sum(1 for v in conn_nodes.values() if len(v) > 1)
    out["client_addrs"] = len(addr_nodes)
    # one client socket may carry connections to several nodes (the
    # verifier's do): routing is by CID, not by address
    out["addrs_on_several_nodes"] = sum(1 for v in addr_nodes.values() if len(v) > 1)
    with open(stats_path, "w") as f:
        json.dump(out, f)
    sys.exit(0)

signal.signal(signal.SIGTERM, dump)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        s = key.fileobj
        try:
            d, src = s.recvfrom(65536)
        except OSError:
            continue
        if key.data is not None:  # a node's answer to a client
            client, i = key.data
            st["back"][i] += 1
            if client in rebound:  # from the connection's node, or another (a reset)
                st["back_rebound" if rebound[client] == i else "back_rebound_other"] += 1
            if d and d[0] & 0x80:
                lh = parse_long(d)
                if lh and lh[2] and decode(lh[2]) != i:
                    st["back_bad_scid"] += 1
                    if len(st["bad_scids"]) < 5:
                        st["bad_scids"].append(lh[2].hex())
            lsock.sendto(d, client)
            continue
        if not d:
            continue
        i = None
        if d[0] & 0x80:
            lh = parse_long(d)
            if lh is None:
                st["unroutable"] += 1
                continue
            typ, dcid, scid = lh
            i = decode(dcid)
            if i is not None:
                st["by_cid"] += 1
            elif typ == 0:  # a client Initial with its own DCID: round robin
                i = first_pick.get(dcid)
                if i is None and len(first_pick) < 100000:
                    i = first_pick[dcid] = len(first_pick) % len(nodes)
                st["by_turn"] += 1
            conn_nodes.setdefault(scid, set())
            if i is not None:
                conn_nodes[scid].add(i)
        else:
            dcid = d[1:1 + cid_len(d[1])] if len(d) > 1 else b""
            i = decode(dcid)
            if i is not None:
                st["by_cid"] += 1
                seen = dcid_at.get(dcid)
                if seen is None:
                    if len(dcid_at) < 100000:
                        dcid_at[dcid] = (src, i)
                elif seen[0] != src:
                    if src not in rebound:
                        rebound[src] = seen[1]
                        st["rebinds"] += 1
                    st["rebound_pkts"] += 1
                    if seen[1] != i:
                        st["rebind_wrong_node"] += 1
        if i is None:
            st["unroutable"] += 1
            if len(st["unroutable_sids"]) < 5:
                st["unroutable_sids"].append(d[:21].hex())
            continue
        st["routed"][i] += 1
        addr_nodes.setdefault(src, set()).add(i)
        u = ups.get((src, i))
        if u is None:
            u = udp()
            u.bind((ip, 0))
            sel.register(u, selectors.EVENT_READ, (src, i))
            ups[(src, i)] = u
        u.sendto(d, nodes[i])
PY
LBPORT=$((RPORT + 1))
"$PY" "$T/lb.py" "$IP_R" "$LBPORT" "$T/lb.stats" "1:${SID[A]}:6:-=$IP_A:4433" \
  "1:${SID[B]}:6:-=$IP_B:4433" "2:${SID[C]}:14:$QKEY=$IP_C:4433" >"$T/lb.out" 2>"$T/lb.err" &
LB_PID=$!
WT_BG_PIDS+=("$LB_PID")
if wt_wait_until 5 grep -q ready "$T/lb.out"; then
  N2=200
  G2=10
  # the publisher on A; every node wants k2 first (held /subs on B and C,
  # warm-up publisher as in 1), then 10 verified subscribers connect
  # through the LB (one client socket: the LB sees them by their CIDs)
  fo_bg "$T/lb0.json" "$IP_A:4433" --role pub --ch k2 --transport datagram --count 40 \
    --rate 40 --group-msgs 20 --pub-id 1 --timeout 20
  p20=$FO_PID
  sleep 0.3
  hold B k2 30000
  hb=$HOLD_PID
  hold C k2 30000
  hc=$HOLD_PID
  wt_check "2: B's and C's upstreams open (warm-up)" wt_wait_until 10 eval 'up_open B k2 && up_open C k2'
  wt_fo_wait "$p20" 20
  # a viewer whose client rebinds (new source port, same CIDs) while the
  # publisher below sends: through the LB, it must stay on its node
  REB_MS=$((N2 * 1000 / (RATE / 2) / 2 + 1000))
  ip netns exec "$NS_K" "$WT_BIN/wtcast-client" "https://$IP_R:$LBPORT/sub?ch=k2" \
    --cert-hash "$WT_HASH" --hold $((REB_MS * 2 + 2000)) --rebind-after "$REB_MS" \
    --timeout $((REB_MS * 2 + 15000)) >"$T/reb.json" 2>"$T/reb.err" &
  p_reb=$!
  WT_BG_PIDS+=("$p_reb")
  fo_bg "$T/lb1.json" "$IP_R:$LBPORT" --role sub --ch k2 --subs 10 --transport both --count $N2 \
    --group-msgs $G2 --timeout 30 --idle 2500 --ready-file "$T/lb1.ready"
  p21=$FO_PID
  if wt_wait_until 10 wt_ready "$T/lb1.ready"; then
    fo "$T/lb2.json" "$IP_A:4433" --role pub --ch k2 --transport both --count $N2 \
      --rate $((RATE / 2)) --group-msgs $G2 --pub-id 2 --timeout 30
    wt_expect_rc "2: the publisher on A" 0 "$FO_RC"
    wt_fo_wait "$p21" 30
    wt_fo_figures "$T/lb1.json"
    wt_expect_rc "2: 10 subscribers through the LB" 0 "$FO_RC"
    wt_fo_wait "$p_reb" $((REB_MS * 2 / 1000 + 20))
    wt_expect_rc "2: the rebinding viewer's client" 0 "$FO_RC"
    wt_log "2: rebinding viewer: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); c=d["connections"][0]; print("rebind", d.get("rebind"), "hold", c.get("hold"), "closed", c.get("conn_closed"), "errors", d.get("errors"))' "$T/reb.json" 2>&1)"
    wt_jcheck "2: the viewer rebound mid-stream and its session lived through the hold" "$T/reb.json" \
      "d['ok'] and d['rebind']['done'] and d['rebind']['old_port'] != d['rebind']['new_port'] and 'conn_closed' not in d['connections'][0]"
  else
    wt_failc "2: the subscribers through the LB got no sessions within 10 s"
  fi
  kill -KILL "$hb" "$hc" 2>/dev/null
  wait "$hb" "$hc" 2>/dev/null
  kill -TERM "$LB_PID"
  wt_wait_until 5 wt_ready "$T/lb.stats"
  wt_log "2: LB: $(cat "$T/lb.stats" 2>/dev/null)"
  [ -s "$T/lb.stats" ] || tail -n 8 "$T/lb.err" | sed 's/^/    /'
  wt_jcheck "2: through the LB, every subscriber got every datagram and every group byte" \
    "$T/lb1.json" "$ALL and d['roles']['sub']['sessions'] == 10"
  wt_jcheck "2: the LB routed Initials round robin and the rest by the server ID; no packet named no node" \
    "$T/lb.stats" "d['unroutable'] == 0 and d['by_turn'] >= 10 and d['by_cid'] > d['by_turn']"
  wt_jcheck "2: every node got connections (C's CIDs single-pass AES), every server CID decodes to its node" \
    "$T/lb.stats" "min(d['routed']) > 0 and min(d['back']) > 0 and d['back_bad_scid'] == 0 and d['aes_decrypts'] > 0"
  wt_jcheck "2: each connection's packets all went to one node" "$T/lb.stats" \
    "d['connections'] >= 10 and d['conns_on_several_nodes'] == 0"
  wt_jcheck "2: the rebinding: short-header packets from the new address routed by CID to the same node, which answered there" \
    "$T/lb.stats" "d['rebinds'] == 1 and d['rebind_wrong_node'] == 0 and d['rebound_pkts'] > 0 and d['back_rebound'] > 0 and d['back_rebound_other'] == 0"
else
  wt_failc "2: the LB did not start: $(tail -n 3 "$T/lb.err")"
fi

# warm CH NODE...: a warm-up publisher on A (datagrams only: nothing cached)
# and a held /sub on each NODE until each NODE's upstream for CH is open;
# the holds stay (WARM_PIDS) until unwarm. Returns 1 if an upstream did not
# open within 10 s.
warm() {
  local ch=$1 n p0 rc=0
  shift
  WARM_PIDS=()
  fo_bg "$T/warm-$ch.json" "$IP_A:4433" --role pub --ch "$ch" --transport datagram --count 40 \
    --rate 40 --group-msgs 20 --pub-id 1 --timeout 20
  p0=$FO_PID
  sleep 0.3
  for n in "$@"; do
    hold "$n" "$ch" 40000
    WARM_PIDS+=("$HOLD_PID")
  done
  for n in "$@"; do
    wt_wait_until 10 up_open "$n" "$ch" || rc=1
  done
  wt_fo_wait "$p0" 20
  return $rc
}
unwarm() {
  kill -KILL "${WARM_PIDS[@]}" 2>/dev/null
  wait "${WARM_PIDS[@]}" 2>/dev/null
}

# ------------------------------------------------------------------ 3. late joiner on C
wt_check "3: C's upstream for k3 opens" warm k3 C
fo_bg "$T/a3.json" "$IP_A:4433" --role pub --ch k3 --transport stream --count 200 --rate 100 \
  --group-msgs 20 --pub-id 2 --timeout 30
pa3=$FO_PID
sleep 1.1 # mid-group (a group starts every 0.2 s)
fo "$T/c3late.json" "$IP_C:4433" --role sub --ch k3 --subs 1 --transport stream --count 200 \
  --group-msgs 20 --timeout 30 --idle 1500
wt_fo_figures "$T/c3late.json"
wt_jcheck "3: the late joiner on C started at a group start and lost nothing after" \
  "$T/c3late.json" "d['roles']['sub']['groups_torn'] == 0 and d['roles']['sub']['corrupt'] == 0 and d['roles']['sub']['groups_complete'] > 0 and d['roles']['sub']['groups_complete'] + d['roles']['sub']['groups_missing'] == d['roles']['sub']['groups_expected'] and d['roles']['sub']['groups_missing'] <= 7"
wt_check "3: served from C's cache (C opened one upstream for k3)" \
  test "$(grep -c 'channel k3: upstream open' "${ERR[C]}")" = 1
wt_fo_wait "$pa3" 30
wt_expect_rc "3: the publisher" 0 "$FO_RC"
unwarm

# ------------------------------------------------------------------ 4. A restarted: B re-subscribes
wt_check "4: B's upstream for k4 opens" warm k4 B
fo_bg "$T/b4.json" "$IP_B:4433" --role sub --ch k4 --subs 3 --pubs 2 --transport both \
  --count 150 --group-msgs 15 --timeout 40 --idle 5000 --ready-file "$T/b4.ready"
pb4=$FO_PID
if wt_wait_until 10 wt_ready "$T/b4.ready"; then
  fo "$T/a4a.json" "$IP_A:4433" --role pub --ch k4 --transport both --count 150 --rate $RATE \
    --group-msgs 15 --pub-id 2 --timeout 20
  wt_expect_rc "4: the first publisher on A" 0 "$FO_RC"
  WT_SERVER_PID=${PID[A]}
  t0=$(now_ms)
  wt_server_stop 10
  a_err=${ERR[A]}
  node A
  t1=$(now_ms)
  wt_log "4: A's stop: $(grep -a 'draining\|closing [0-9]' "$a_err" | tail -n 2 | sed 's/^[^ ]* *[A-Z]* *//' | tr '\n' ' ')"
  fo_bg "$T/a4b.json" "$IP_A:4433" --role pub --ch k4 --transport both --count 150 --rate 50 \
    --group-msgs 15 --pub-id 3 --timeout 20
  pa4=$FO_PID
  if wt_wait_until 15 up_open B k4 2; then
    t2=$(now_ms)
    RESUB_MS=$((t2 - t1))
    wt_pass "4: B re-subscribed to the restarted A: $((t2 - t0)) ms after the stop began, $RESUB_MS ms after A listened again (A's stop took $((t1 - t0)) ms with its restart)"
  else
    wt_failc "4: B did not re-subscribe within 15 s"
    grep 'k4' "${ERR[B]}" | tail -n 5 | sed 's/^/    /'
  fi
  wt_fo_wait "$pa4" 20
  wt_expect_rc "4: the publisher on the restarted A" 0 "$FO_RC"
  wt_fo_wait "$pb4" 30
  wt_fo_figures "$T/b4.json"
  wt_jcheck "4: B's subscribers saw whole groups only: all of the first publisher's, some of the second's" \
    "$T/b4.json" "d['roles']['sub']['groups_torn'] == 0 and d['roles']['sub']['corrupt'] == 0 and d['roles']['sub']['groups_complete'] >= 3 * 10 + 3"
else
  wt_failc "4: the subscribers on B got no sessions within 10 s"
fi
unwarm

# ------------------------------------------------------------------ 5. the publisher moves A -> B
wt_check "5: C's upstream for k5 opens" warm k5 C
fo_bg "$T/c5.json" "$IP_C:4433" --role sub --ch k5 --subs 2 --pubs 2 --transport both \
  --count 150 --group-msgs 15 --timeout 40 --idle 4000 --ready-file "$T/c5.ready"
pc5=$FO_PID
if wt_wait_until 10 wt_ready "$T/c5.ready"; then
  fo "$T/a5.json" "$IP_A:4433" --role pub --ch k5 --transport both --count 150 --rate $RATE \
    --group-msgs 15 --pub-id 2 --timeout 20
  wt_expect_rc "5: the publisher on A" 0 "$FO_RC"
  t0=$(now_ms)
  fo_bg "$T/b5.json" "$IP_B:4433" --role pub --ch k5 --transport both --count 150 --rate 50 \
    --group-msgs 15 --pub-id 3 --timeout 20
  pb5=$FO_PID
  # C follows B's publisher either directly (C pulls from B) or first
  # through A (A, which has C's subscription and no publisher now, pulls
  # from B), and then directly: A closes C's /sub (0x17, the publisher left
  # it) and C looks k5 up again
  # shellcheck disable=SC2317
  followed() {
    if grep -q "channel k5: pulling from $IP_B:4433" "${ERR[C]}" && up_open C k5 2; then
      FOLLOW_PATH="C pulls from B directly"
    elif grep -q "channel k5: pulling from $IP_B:4433" "${ERR[A]}" && up_open A k5 1; then
      FOLLOW_PATH="first through A: A pulls from B"
    else
      return 1
    fi
  }
  if wt_wait_until $((TTL / 1000 + 3)) followed; then
    FOLLOW_MS=$(($(now_ms) - t0))
    wt_check "5: C followed the publisher to B within the TTL ($FOLLOW_MS ms, TTL $TTL ms; $FOLLOW_PATH)" \
      test "$FOLLOW_MS" -le "$TTL"
  else
    wt_failc "5: neither C nor A pulled k5 from B within $((TTL / 1000 + 3)) s (TTL $TTL ms)"
    grep -h 'k5' "${ERR[C]}" "${ERR[A]}" | tail -n 6 | sed 's/^/    /'
  fi
  # shellcheck disable=SC2317
  direct() { grep -q "channel k5: pulling from $IP_B:4433" "${ERR[C]}"; }
  wt_check "5: then C pulls from B directly (A closed C's /sub once: the publisher left it)" \
    wt_wait_until 5 direct
  wt_fo_wait "$pb5" 20
  wt_expect_rc "5: the publisher on B" 0 "$FO_RC"
  wt_fo_wait "$pc5" 30
  wt_fo_figures "$T/c5.json"
  wt_jcheck "5: C's subscribers: all of A's publisher, whole groups of B's" "$T/c5.json" \
    "d['roles']['sub']['groups_torn'] == 0 and d['roles']['sub']['corrupt'] == 0 and d['roles']['sub']['groups_complete'] >= 2 * 10 + 2"
else
  wt_failc "5: the subscribers on C got no sessions within 10 s"
fi
unwarm

# ------------------------------------------------------------------ 6. the registry down
# a publisher held on B across 6 and 7: its channel record must come back
ip netns exec "$NS_K" "$WT_BIN/wtcast-client" "https://$IP_B:4433/pub?ch=live7" \
  --cert-hash "$WT_HASH" --hold 25000 --timeout 35000 >"$T/pub-live7.json" 2>"$T/pub-live7.err" &
p7=$!
WT_BG_PIDS+=("$p7")
ch_b() { [ "$(rcli GET wtcast:ch:relay/live7)" = "1 B $IP_B:4433" ]; }
wt_check "6: B's held publisher has its channel record" wt_wait_until 5 ch_b
wt_check "6: C's upstream for k6 opens" warm k6 C
fo_bg "$T/c6.json" "$IP_C:4433" --role sub --ch k6 --subs 2 --transport both --count 300 \
  --group-msgs 15 --timeout 40 --idle 2500 --ready-file "$T/c6.ready"
pc6=$FO_PID
if wt_wait_until 10 wt_ready "$T/c6.ready"; then
  fo_bg "$T/a6.json" "$IP_A:4433" --role pub --ch k6 --transport both --count 300 \
    --rate $((RATE / 2)) --group-msgs 15 --pub-id 2 --timeout 30
  pa6=$FO_PID
  sleep 0.5
  reg_kill
  wt_log "6: registry killed"
  hold B nowhere 5000
  h6=$HOLD_PID
  # shellcheck disable=SC2317
  nolookup() { grep -q 'channel nowhere: cannot look up its node' "${ERR[B]}"; }
  if wt_wait_until 5 nolookup; then
    wt_pass "6: a new lookup fails with a logged error: $(grep -m1 'channel nowhere: cannot look up' "${ERR[B]}" | sed 's/.*channel nowhere/channel nowhere/')"
  else
    wt_failc "6: no lookup error logged by B within 5 s"
    tail -n 4 "${ERR[B]}" | sed 's/^/    /'
  fi
  f=$(metric B 'wtcast_cluster_lookups_total{result="failed"}')
  wt_check "6: counted (wtcast_cluster_lookups_total{result=\"failed\"} = ${f:-none})" \
    "$PY" -c 'import sys; sys.exit(0 if float(sys.argv[1] or 0) >= 1 else 1)' "$f"
  wt_check "6: B says the registry is down (wtcast_cluster_registry_up 0)" \
    test "$(metric B wtcast_cluster_registry_up)" = 0.0
  wt_fo_wait "$pa6" 30
  wt_expect_rc "6: the publisher on A" 0 "$FO_RC"
  wt_fo_wait "$pc6" 30
  wt_fo_figures "$T/c6.json"
  wt_jcheck "6: with the registry down the flowing stream kept flowing: every byte on C" \
    "$T/c6.json" "$ALL"
  kill -KILL "$h6" 2>/dev/null
  wait "$h6" 2>/dev/null
else
  wt_failc "6: the subscribers on C got no sessions within 10 s"
fi
unwarm

# ------------------------------------------------------------------ 7. the registry restarted
rcli_ok && wt_failc "7: the registry still answers after its kill"
t0=$(now_ms)
reg_start
if wt_wait_until 15 all_nodes; then
  REREG_MS=$(($(now_ms) - t0))
  wt_pass "7: every node re-registered $REREG_MS ms after the registry started again"
  if wt_wait_until 10 ch_b; then
    wt_pass "7: B's live channel registered again $(($(now_ms) - t0)) ms after the registry started"
  else
    wt_failc "7: B's live channel record did not come back: '$(rcli GET wtcast:ch:relay/live7)'"
  fi
else
  wt_failc "7: the nodes did not re-register within 15 s: $(rcli KEYS 'wtcast:node:*' | tr '\n' ' ')"
fi
reg_up_b() { [ "$(metric B wtcast_cluster_registry_up)" = 1.0 ]; }
wt_check "7: B says the registry is up again" wt_wait_until 5 reg_up_b
san=$(grep -l 'ERROR: AddressSanitizer\|runtime error:\|ThreadSanitizer' "$T"/server*.err 2>/dev/null)
wt_check "no sanitizer report from any node${san:+: $san}" test -z "$san"
kill -KILL "$p7" 2>/dev/null
wait "$p7" 2>/dev/null
wt_log "figures: re-subscribe ${RESUB_MS:--} ms, follow ${FOLLOW_MS:--} ms, re-register ${REREG_MS:--} ms"

# CLUSTER_NETNS_KEEP=DIR: a copy of the logs and reports (debugging)
if [ -n "${CLUSTER_NETNS_KEEP:-}" ]; then
  cp -r "$T" "$CLUSTER_NETNS_KEEP"
fi
wt_done
