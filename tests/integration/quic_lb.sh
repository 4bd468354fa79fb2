#!/usr/bin/env bash
# quic_lb: QUIC-LB connection IDs (--quic-lb-*, core/wt_qlb.h;
# docs/architecture.md "Connection IDs and steering").
#  - 2 shards, plaintext and single-pass AES: 16 echo connections verify;
#    every CID the server issued (its qlog: NEW_CONNECTION_ID frames sent and
#    the initial_source_connection_id it announced) decodes, with a decoder
#    written here from the draft (openssl for AES), to the configured config
#    rotation and server ID; all CIDs of one connection name one shard
#    ((byte0 & 0x1f) mod 2), and per shard as many connections as that
#    shard's conns_accepted;
#  - the same with --steering=off: the shards forward by the masked byte and
#    every echo still verifies;
#  - refused at start with a clear message: 33 shards, a key with server ID +
#    nonce != 16, QUIC-LB options without a server ID; a bad hex value is a
#    bad option (exit 2).
. "$(dirname "$0")/lib.sh"
wt_init quic_lb
wt_cert
T=$WT_TMP
KEY=8f95f09245765f80256934e50c66207f

if ! command -v openssl >/dev/null; then
  wt_log "SKIP: openssl (the test's AES decoder) is not installed"
  exit 77
fi

# decode DIR STATS CR SID KEY|- N: check every qlog trace in DIR; prints a summary
decode() {
  python3 - "$@" <<'PY'
import json, os, subprocess, sys
d, stats, cr, sid, key, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], int(sys.argv[6])
sid = bytes.fromhex(sid)
def server_ids(cids):
    # draft-ietf-quic-load-balancers-21: first octet (3 bits config rotation),
    # then server ID || nonce, in the clear or as one AES-128-ECB block (all
    # the blocks through one openssl run: ECB decrypts each on its own)
    bodies = [c[1:] for c in cids]
    if key != "-":
        assert all(len(b) == 16 for b in bodies), "single-pass needs 16 bytes"
        out = subprocess.run(["openssl", "enc", "-d", "-aes-128-ecb", "-nopad", "-K", key],
                             input=b"".join(bodies), capture_output=True, check=True).stdout
        bodies = [out[16 * i:16 * i + 16] for i in range(len(bodies))]
    return [b[:len(sid)] for b in bodies]
per_shard = [0] * n
files = sorted(f for f in os.listdir(d) if f.endswith(".sqlog"))
total = 0
for f in files:
    cids = set()
    for r in open(os.path.join(d, f), "rb").read().split(b"\x1e")[1:]:
        o = json.loads(r.decode())
        data = o.get("data") or {}
        if o.get("name", "").endswith("packet_sent"):
            for fr in data.get("frames", []):
                if fr.get("frame_type") == "new_connection_id":
                    cids.add(fr["connection_id"])
        if o.get("name", "").endswith("parameters_set") and data.get("owner") == "local":
            if data.get("initial_source_connection_id"):
                cids.add(data["initial_source_connection_id"])
    assert len(cids) >= 2, (f, "fewer than 2 server CIDs in the trace", cids)
    shards = set()
    cl = [bytes.fromhex(h) for h in sorted(cids)]
    for c, s in zip(cl, server_ids(cl)):
        assert c[0] >> 5 == cr, (f, c.hex(), "config rotation", c[0] >> 5)
        assert s == sid, (f, c.hex(), "server ID", s.hex())
        shards.add((c[0] & 0x1F) % n)
    assert len(shards) == 1, (f, "CIDs of one connection name several shards", cids)
    per_shard[shards.pop()] += 1
    total += len(cids)
st = [l for l in open(stats) if l.lstrip().startswith("{")]
acc = [s["conns_accepted"] for s in json.loads(st[-1])["shards"]]
assert acc == per_shard, ("per-shard connections: stats", acc, "CIDs", per_shard)
print("%d connections, %d CIDs, per shard %s" % (len(files), total, per_shard))
PY
}

# run_case LABEL CR SID KEY|- STEERING [wtcast args...]
run_case() {
  local label=$1 cr=$2 sid=$3 key=$4 steer=$5
  shift 5
  local kargs=()
  [ "$key" = - ] || kargs=(--quic-lb-key "$key")
  mkdir -p "$T/$label"
  wt_server_start --workers 2 --steering="$steer" --qlog-dir "$T/$label" \
    --quic-lb-server-id "$sid" --quic-lb-config "$cr" "${kargs[@]}" "$@"
  wt_client "$T/$label.json" "$WT_URL/echo" --connections 16 --echo hi --timeout 20000
  wt_expect_rc "$label: 16 echo connections" 0 "$WT_RC"
  wt_jcheck "$label: every echo verified" "$T/$label.json" \
    "t.get('sessions') == 16 and t.get('sessions_verified') == 16"
  wt_server_stats "$T/$label.stats.json" || wt_failc "$label: SIGUSR1 printed no JSON line"
  if [ "$steer" = off ]; then
    wt_jcheck "$label: steering off, datagrams forwarded by the masked byte" \
      "$T/$label.stats.json" "d['forwarding']['out'] > 0 and d['forwarding']['drops'] == 0"
  fi
  wt_server_finish "$label"
  local out
  if out=$(decode "$T/$label" "$T/$label.stats.json" "$cr" "$sid" "$key" 2 2>&1); then
    wt_pass "$label: every CID decodes to config $cr, server ID $sid, its connection's shard ($out)"
  else
    wt_failc "$label: CID check: $(tail -n 3 <<<"$out")"
  fi
}

run_case plain 3 0a0b0c - on --quic-lb-nonce-len 10
run_case aes 2 ed793a51d49b8f5f "$KEY" on
run_case aes_off 6 0102030405 "$KEY" off

# refuse REGEX EXPECTED_RC ARGS...: wtcast exits with that status and says REGEX
refuse() {
  local want=$1 rc_want=$2
  shift 2
  timeout -k 2 10 "$WT_BIN/wtcast" --listen 127.0.0.1:0 --cert "$WT_CERT" --key "$WT_KEY" \
    "$@" >"$T/refuse.out" 2>"$T/refuse.err"
  local rc=$?
  wt_expect_rc "refused: $*" "$rc_want" "$rc"
  if grep -q -- "$want" "$T/refuse.err" "$T/refuse.out"; then
    wt_pass "its message says '$want'"
  else
    wt_failc "no message '$want'; stderr: $(tail -n 2 "$T/refuse.err")"
  fi
}
refuse "at most 32" 1 --workers 33 --quic-lb-server-id 01
refuse "four-pass" 1 --quic-lb-server-id 0a0b0c --quic-lb-nonce-len 4 --quic-lb-key "$KEY"
refuse "without --quic-lb-server-id" 1 --quic-lb-key "$KEY"
refuse "quic-lb-server-id" 2 --quic-lb-server-id 0g
wt_done
