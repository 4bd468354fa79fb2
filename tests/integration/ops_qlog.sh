#!/usr/bin/env bash
# ops_qlog: --qlog-dir writes one DIR/<start>-<pid>-<seq>.sqlog per traced
# connection (a name the server chooses, mode 0600), each valid JSON-SEQ
# (RFC 7464: records start with RS 0x1e, each one JSON; the first is the
# qlog header); --qlog-sample N traces 1 in N connections. A trace starts
# once the handshake completed: a flood of junk Initials and of ClientHellos
# never completed (tools/wtcast-flood) writes nothing; the budgets
# (--qlog-max-files, --qlog-max-file-bytes, --qlog-max-bytes) hold and cut
# between whole records. --keylog-file writes TLS secrets and logs a warning.
. "$(dirname "$0")/lib.sh"
wt_init ops_qlog
wt_cert
T=$WT_TMP

check_seq() { # DIR PID: every file is JSON-SEQ qlog named by server PID; prints the count
  python3 - "$1" "$2" <<'PY'
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
    parts = os.path.splitext(f)[0].split("-")
    assert len(parts) == 3 and all(p.isdigit() for p in parts) and len(parts[2]) == 6, f
    assert parts[1] == sys.argv[2], (f, "not the server's pid", sys.argv[2])
    mode = os.stat(os.path.join(d, f)).st_mode & 0o777
    assert mode == 0o600, (f, oct(mode))
print(len(files))
PY
}

# --- every connection traced
mkdir -p "$T/q1"
wt_server_start --qlog-dir "$T/q1" --keylog-file "$T/keys.log" --workers 1
pid=$WT_SERVER_PID
wt_client "$T/c1.json" "$WT_URL/echo" --connections 3 --echo hello --timeout 20000
wt_expect_rc "3 echo connections" 0 "$WT_RC"
wt_server_stop 15
wt_expect_rc "server exits on SIGTERM" 0 "$WT_SERVER_RC"
n=$(check_seq "$T/q1" "$pid")
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
pid=$WT_SERVER_PID
wt_client "$T/c2.json" "$WT_URL/echo" --sequential 4 --echo hi --timeout 30000
wt_expect_rc "4 sequential connections" 0 "$WT_RC"
wt_server_stop 15
n=$(check_seq "$T/q2" "$pid")
rc=$?
if [ "$rc" = 0 ] && [ "$n" = 2 ]; then
  wt_pass "--qlog-sample 2: 2 of 4 connections traced, valid JSON-SEQ"
else
  wt_failc "--qlog-sample 2: '$n' files (expected 2 valid)"
fi

# --- floods write nothing: junk Initials (never decrypt) and real
# ClientHellos never completed (held in memory until the handshake
# timeout, then dropped); a real connection afterwards is traced
mkdir -p "$T/q3"
wt_server_start --qlog-dir "$T/q3" --workers 1 --handshake-timeout 1000 --max-conns-per-ip 16
pid=$WT_SERVER_PID
timeout -k 5 30 "$WT_BIN/wtcast-flood" --server "127.0.0.1:$WT_PORT" --first-source 0 \
  --duration 2000 --mode junk --conns 3000 --sources 20 --rate 2000 >"$T/junk.json" 2>"$T/junk.err"
wt_expect_rc "junk-Initial flood ran" 0 $?
timeout -k 5 30 "$WT_BIN/wtcast-flood" --server "127.0.0.1:$WT_PORT" --first-source 30 \
  --duration 2000 --mode initials --conns 200 --sources 10 --rate 200 >"$T/initials.json" \
  2>"$T/initials.err"
wt_expect_rc "never-completed ClientHello flood ran" 0 $?
wt_log "    floods: junk $(cat "$T/junk.json"); initials $(cat "$T/initials.json")"
sleep 1.5 # the 1 s handshake timeout drops the half-open ones
n=$(find "$T/q3" -type f | wc -l)
wt_check "no qlog file from either flood ($n files)" test "$n" -eq 0
wt_client "$T/c3.json" "$WT_URL/echo" --echo hi --timeout 20000
wt_expect_rc "a real connection after the floods" 0 "$WT_RC"
wt_server_stop 15
n=$(check_seq "$T/q3" "$pid")
wt_check "the real connection alone is traced, valid JSON-SEQ ($n)" test "$n" = 1

# --- budgets: 2 files at most; 6000 bytes per file; 10000 bytes in all
mkdir -p "$T/q4" "$T/q5"
wt_server_start --qlog-dir "$T/q4" --workers 1 --qlog-max-files 2 --qlog-max-file-bytes 6000
pid=$WT_SERVER_PID
wt_client "$T/c4.json" "$WT_URL/echo" --sequential 4 --echo hi --bidi-bytes 200000 --timeout 30000
wt_expect_rc "4 sequential connections (file budgets)" 0 "$WT_RC"
wt_server_stats "$T/q4.stats.json" || wt_failc "no stats line"
wt_jcheck "counted: 2 connections skipped, traces cut" "$T/q4.stats.json" \
  "d['loop']['qlog_skipped'] == 2 and d['loop']['qlog_cut'] >= 1"
wt_server_stop 15
n=$(check_seq "$T/q4" "$pid")
wt_check "--qlog-max-files 2: 2 traces of 4 connections, each valid JSON-SEQ ($n)" test "$n" = 2
big=$(find "$T/q4" -type f -size +6000c | wc -l)
wt_check "--qlog-max-file-bytes 6000: no trace above it" test "$big" -eq 0
wt_check "the cut trace is logged" grep -q "trace stopped at" "$WT_SERVER_ERR"
wt_check "the skipped connections are logged" grep -q "qlog-max-files" "$WT_SERVER_ERR"
wt_server_start --qlog-dir "$T/q5" --workers 1 --qlog-max-bytes 10000
pid=$WT_SERVER_PID
wt_client "$T/c5.json" "$WT_URL/echo" --sequential 4 --echo hi --bidi-bytes 200000 --timeout 30000
wt_expect_rc "4 sequential connections (byte budget)" 0 "$WT_RC"
wt_server_stop 15
n=$(check_seq "$T/q5" "$pid")
wt_check "--qlog-max-bytes 10000: what was written is valid JSON-SEQ ($n files)" test "$n" -ge 1
total=$(find "$T/q5" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
wt_check "--qlog-max-bytes 10000: $total bytes in all" test "$total" -le 10000

# --- an unusable directory is refused at start-up
touch "$T/notadir"
timeout 10 "$WT_BIN/wtcast" --listen 127.0.0.1:0 --cert "$WT_CERT" --key "$WT_KEY" \
  --qlog-dir "$T/notadir" >/dev/null 2>"$T/bad.err"
wt_expect_rc "--qlog-dir on a plain file: refused" 1 $?
wt_done
