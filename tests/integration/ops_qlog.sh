#!/usr/bin/env bash
# ops_qlog: --qlog-dir writes one DIR/<odcid>.sqlog per traced connection,
# each valid JSON-SEQ (RFC 7464: records start with RS 0x1e, each one JSON;
# the first is the qlog header); --qlog-sample N traces 1 in N connections.
# --keylog-file writes TLS secrets and logs a warning.
. "$(dirname "$0")/lib.sh"
wt_init ops_qlog
wt_cert
T=$WT_TMP

check_seq() { # DIR: every file is JSON-SEQ qlog; prints the count
  python3 - "$1" <<'PY'
import json, os, sys
d = sys.argv[1]
files = sorted(f for f in os.listdir(d) if f.endswith(".sqlog"))
for f in files:
    raw = open(os.path.join(d, f), "rb").read()
    assert raw.startswith(b"\x1e"), f + ": does not start with RS"
    recs = [r for r in raw.split(b"\x1e")[1:]]
    assert recs, f + ": no record"
    objs = []
    for i, r in enumerate(recs):
        try:
            objs.append(json.loads(r.decode()))
        except Exception as e:
            raise AssertionError("%s: record %d is not JSON: %s: %r" % (f, i, e, r[:80]))
    h = objs[0]
    assert h.get("qlog_format") == "JSON-SEQ", (f, h)
    assert "trace" in h, (f, h)
    names = {o.get("name") for o in objs[1:]}
    assert any(n and n.startswith("transport:packet_") for n in names), (f, sorted(n for n in names if n)[:10])
    assert os.path.splitext(f)[0].isalnum(), f
print(len(files))
PY
}

# --- every connection traced
mkdir -p "$T/q1"
wt_server_start --qlog-dir "$T/q1" --keylog-file "$T/keys.log" --workers 1
wt_client "$T/c1.json" "$WT_URL/echo" --connections 3 --echo hello --timeout 20000
wt_expect_rc "3 echo connections" 0 "$WT_RC"
wt_server_stop 15
wt_expect_rc "server exits on SIGTERM" 0 "$WT_SERVER_RC"
n=$(check_seq "$T/q1")
rc=$?
if [ "$rc" = 0 ] && [ "$n" = 3 ]; then
  wt_pass "3 qlog files, each valid JSON-SEQ with a qlog header and packet events"
else
  wt_failc "qlog files: '$n' (expected 3 valid ones)"
  ls -la "$T/q1" | sed 's/^/    /'
fi
wt_check "qlog warning logged" grep -q 'qlog on' "$WT_SERVER_ERR"
wt_check "keylog warning logged" grep -q 'keylog-file.*decrypt' "$WT_SERVER_ERR"
wt_check "keylog file holds TLS 1.3 secrets" grep -q '^CLIENT_HANDSHAKE_TRAFFIC_SECRET ' "$T/keys.log"
wt_check "keylog file is readable by its owner only (0600)" test "$(stat -c %a "$T/keys.log")" = 600

# --- 1 in 2 connections, one after the other
mkdir -p "$T/q2"
wt_server_start --qlog-dir "$T/q2" --qlog-sample 2 --workers 1
wt_client "$T/c2.json" "$WT_URL/echo" --sequential 4 --echo hi --timeout 30000
wt_expect_rc "4 sequential connections" 0 "$WT_RC"
wt_server_stop 15
n=$(check_seq "$T/q2")
rc=$?
if [ "$rc" = 0 ] && [ "$n" = 2 ]; then
  wt_pass "--qlog-sample 2: 2 of 4 connections traced, valid JSON-SEQ"
else
  wt_failc "--qlog-sample 2: '$n' files (expected 2 valid)"
fi

# --- an unusable directory is refused at start-up
touch "$T/notadir"
timeout 10 "$WT_BIN/wtcast" --listen 127.0.0.1:0 --cert "$WT_CERT" --key "$WT_KEY" \
  --qlog-dir "$T/notadir" >/dev/null 2>"$T/bad.err"
wt_expect_rc "--qlog-dir on a plain file: refused" 1 $?
wt_done
