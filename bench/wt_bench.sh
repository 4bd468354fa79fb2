#!/usr/bin/env bash
# wt_bench.sh: loopback figures for wtcast (prints them, asserts nothing).
#
#   bench/wt_bench.sh [--bin DIR] [--runs R] [--bytes N] [--sessions N]
#                     [--dgram-rtt N] [--dgram-rate N] [--io uring|portable]
#
# Builds nothing: uses wtcast, wtcast-cert and wtcast-client from DIR
# (default: build/bin of this checkout). Creates a certificate in a temp dir,
# starts one wtcast on 127.0.0.1:0 and measures, each over R runs (default 3;
# every run and the median are printed):
#  (a) download of N bytes (default 100 MiB) from /source: Gbit/s, server CPU
#      seconds for the run and CPU seconds per GB;
#  (b) --sessions (default 1000) sequential sessions, each on a new connection
#      (handshake + CONNECT + a 1-byte echo + close): sessions/s, client-side
#      latency p50/p99 and server CPU ms per session;
#  (c) bidi echo of N bytes on /echo: Gbit/s (payload one way) and server CPU;
#  (d) datagram echo on /echo, 1000-byte datagrams: --dgram-rtt N (default
#      2000) sent one at a time (RTT p50/p99 in us) and --dgram-rate N (default
#      100000) with up to 64 unanswered (echoes/s). Server CPU per datagram =
#      server CPU seconds of the run / datagrams echoed (echoes the client
#      received); it includes the run's handshake and CONNECT (a few ms of
#      CPU, so about 1 us per datagram in the 2000-datagram RTT run).
# --io passes --io uring|portable to the server (default: the server's own
# default, auto); the header shows the backend the server reports.
# Server CPU = utime + stime deltas of the server process (/proc/PID/stat) over
# the client run, in seconds (ticks / getconf CLK_TCK). The server is stopped
# by its PID only.
set -u

here=$(cd "$(dirname "$0")" && pwd)
BIN=$here/../build/bin
RUNS=${R:-3}
BYTES=104857600
SEQ=1000
DGRTT=2000
DGRATE=100000
IO=
while [ $# -gt 0 ]; do
  case $1 in
  --bin) BIN=$2; shift 2 ;;
  --runs | -R) RUNS=$2; shift 2 ;;
  --bytes) BYTES=$2; shift 2 ;;
  --sessions) SEQ=$2; shift 2 ;;
  --dgram-rtt) DGRTT=$2; shift 2 ;;
  --dgram-rate) DGRATE=$2; shift 2 ;;
  --io)
    case ${2:-} in
    uring | portable) IO=$2 ;;
    *) echo "wt_bench: --io wants uring or portable" >&2; exit 2 ;;
    esac
    shift 2 ;;
  -h | --help) sed -n '2,30p' "$0"; exit 0 ;;
  *) echo "wt_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
BIN=$(cd "$BIN" 2>/dev/null && pwd) || { echo "wt_bench: no such directory" >&2; exit 2; }
for b in wtcast wtcast-cert wtcast-client; do
  [ -x "$BIN/$b" ] || { echo "wt_bench: $BIN/$b is missing (build first)" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "wt_bench: python3 is needed" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/wt_bench.XXXXXX") || exit 1
SPID=
cleanup() {
  if [ -n "$SPID" ] && kill -0 "$SPID" 2>/dev/null; then
    kill -TERM "$SPID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SPID" 2>/dev/null
    wait "$SPID" 2>/dev/null
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

HZ=$(getconf CLK_TCK)

# ---------------------------------------------------------------- configuration
build_type=unknown
cache=$BIN/../CMakeCache.txt
if [ -f "$cache" ]; then
  bt=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$cache")
  san=$(sed -n 's/^WTCAST_SANITIZE:[A-Z]*=//p' "$cache")
  build_type="${bt:-?}$([ "$san" = ON ] && echo ' + ASan/UBSan')"
fi
echo "== wt_bench configuration"
echo "   binaries   $BIN"
echo "   build      $build_type"
echo "   cpu        $(nproc) cores online, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
echo "   kernel     $(uname -sr)"
echo "   runs       $RUNS (median shown), transfer $BYTES bytes, $SEQ sequential sessions"
echo "   datagrams  1000 bytes: $DGRTT one at a time (RTT), $DGRATE with 64 in flight (rate)"
echo "   cpu clock  $HZ ticks/s"

# ---------------------------------------------------------------- server
"$BIN/wtcast-cert" --out-cert "$TMP/cert.pem" --out-key "$TMP/key.pem" --days 10 --quiet \
  >"$TMP/cert.log" 2>&1 || { echo "wt_bench: wtcast-cert failed" >&2; cat "$TMP/cert.log" >&2; exit 1; }
HASH=$("$BIN/wtcast-cert" --print-hash "$TMP/cert.pem" 2>/dev/null |
  sed -n 's/^sha256: *\([0-9a-fA-F]\{64\}\).*/\1/p' | head -n1)
# --log-level info: the server logs its datapath backend once per shard at
# start (and nothing per connection or session).
"$BIN/wtcast" --listen 127.0.0.1:0 --cert "$TMP/cert.pem" --key "$TMP/key.pem" --log-level info --apps all \
  ${IO:+--io "$IO"} >"$TMP/server.out" 2>"$TMP/server.err" &
SPID=$!
PORT=
for _ in $(seq 100); do
  PORT=$(sed -n 's/.*listening on .*:\([0-9][0-9]*\).*/\1/p' "$TMP/server.out" | head -n1)
  [ -n "$PORT" ] && break
  sleep 0.1
done
[ -n "$PORT" ] || { echo "wt_bench: wtcast did not start" >&2; tail "$TMP/server.err" >&2; exit 1; }
URL=https://127.0.0.1:$PORT
echo "   server     pid $SPID on 127.0.0.1:$PORT ($(sed -n 's/^Threads:[[:space:]]*//p' /proc/$SPID/status) threads)"
backend=$(sed -n 's/.*(backend \([^;]*\);.*/\1/p' "$TMP/server.err" | sort -u | paste -sd '|')
echo "   io         --io ${IO:-(not given: server default)}; server reports backend ${backend:-unknown}"

# utime + stime of the server, in ticks.
cpu_ticks() {
  sed 's/.*) //' "/proc/$SPID/stat" | awk '{print $12 + $13}'
}

# run_client OUT ARGS...: one client run; prints "<cpu seconds>" of the server.
run_client() {
  local out=$1 t0 t1
  shift
  t0=$(cpu_ticks)
  "$BIN/wtcast-client" "$@" --cert-hash "$HASH" --timeout 600000 >"$out" 2>"$out.err"
  echo $? >"$out.rc"
  t1=$(cpu_ticks)
  python3 -c "print('%.3f' % (($t1 - $t0) / $HZ))"
}

# figures FILE KIND CPU: one line of figures for a run (python reads the report).
figures() {
  python3 - "$1" "$2" "$3" "$(cat "$1.rc")" <<'EOF'
import json, sys
path, kind, cpu, rc = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
try:
    d = json.load(open(path))
except Exception as e:
    print("FAILED (no report: %s)" % e); sys.exit(0)
t = d.get("totals", {})
ok = d.get("ok") and rc == "0"
note = "" if ok else "  [NOT VERIFIED: %s]" % "; ".join(d.get("errors", [])[:2])
if kind == "seq":
    s = d.get("sequential", {})
    lat = s.get("latency_ms", {})
    n = s.get("completed", 0) or 1
    print("%.1f sessions/s  latency p50 %.2f ms p99 %.2f ms  server CPU %.3f s = %.3f ms/session%s"
          % (s.get("sessions_per_s", 0), lat.get("p50", 0), lat.get("p99", 0), cpu,
             cpu * 1000 / n, note))
    print("VALUE %f %f" % (s.get("sessions_per_s", 0), cpu * 1000 / n))
elif kind == "dgrtt":
    r = d.get("dgram_rtt") or {}
    rtt = r.get("rtt_us") or {}
    n = r.get("received", 0)
    per = cpu * 1e6 / n if n else 0
    print("RTT p50 %.1f us p99 %.1f us (min %.1f, max %.1f)  %d/%d echoed  server CPU %.3f s = %.2f us/datagram%s"
          % (rtt.get("p50", 0), rtt.get("p99", 0), rtt.get("min", 0), rtt.get("max", 0), n,
             r.get("sent", 0), cpu, per, note))
    print("VALUE %f %f %f" % (rtt.get("p50", 0), rtt.get("p99", 0), per))
elif kind == "dgrate":
    r = d.get("dgram_rate") or {}
    n = r.get("received", 0)
    per = cpu * 1e6 / n if n else 0
    print("%.0f datagrams/s  %d/%d echoed in %.1f ms  server CPU %.3f s = %.2f us/datagram%s"
          % (r.get("datagrams_per_s", 0), n, r.get("sent", 0), r.get("duration_ms", 0), cpu, per,
             note))
    print("VALUE %f %f" % (r.get("datagrams_per_s", 0), per))
else:
    op = t.get("ops", {}).get("download" if kind == "download" else "bidi_bytes", {})
    by = op.get("bytes", 0)
    ms = op.get("duration_ms_max") or 0
    gbps = by * 8 / (ms / 1000) / 1e9 if ms else 0
    per_gb = cpu / (by / 1e9) if by else 0
    print("%.3f Gbit/s  (%d bytes in %.1f ms)  server CPU %.3f s = %.3f s/GB%s"
          % (gbps, by, ms, cpu, per_gb, note))
    print("VALUE %f %f %f" % (gbps, cpu, per_gb))
EOF
}

median() { # values on stdin -> median
  python3 -c 'import sys, statistics; v=[float(x) for x in sys.stdin.read().split()]; print("%.3f" % statistics.median(v) if v else "n/a")'
}

bench() { # NAME KIND CLIENT-ARGS...
  local name=$1 kind=$2 i cpu line
  shift 2
  echo "== $name"
  : >"$TMP/values"
  for i in $(seq "$RUNS"); do
    cpu=$(run_client "$TMP/$kind.$i.json" "$@")
    line=$(figures "$TMP/$kind.$i.json" "$kind" "$cpu")
    echo "   run $i: $(printf '%s\n' "$line" | grep -v '^VALUE')"
    printf '%s\n' "$line" | sed -n 's/^VALUE //p' >>"$TMP/values"
  done
  if [ "$kind" = seq ]; then
    echo "   median: $(cut -d' ' -f1 "$TMP/values" | median) sessions/s, $(cut -d' ' -f2 "$TMP/values" | median) server CPU ms/session"
  elif [ "$kind" = dgrtt ]; then
    echo "   median: RTT p50 $(cut -d' ' -f1 "$TMP/values" | median) us, p99 $(cut -d' ' -f2 "$TMP/values" | median) us, server CPU $(cut -d' ' -f3 "$TMP/values" | median) us/datagram"
  elif [ "$kind" = dgrate ]; then
    echo "   median: $(cut -d' ' -f1 "$TMP/values" | median) datagrams/s, server CPU $(cut -d' ' -f2 "$TMP/values" | median) us/datagram"
  else
    echo "   median: $(cut -d' ' -f1 "$TMP/values" | median) Gbit/s, server CPU $(cut -d' ' -f2 "$TMP/values" | median) s, $(cut -d' ' -f3 "$TMP/values" | median) s/GB"
  fi
}

bench "(a) download $BYTES bytes (/source, server uni stream)" download \
  "$URL/source?bytes=$BYTES" --download "$BYTES"
bench "(b) $SEQ sequential sessions (new connection each, --echo x)" seq \
  "$URL/echo" --sequential "$SEQ" --echo x
bench "(c) bidi echo $BYTES bytes (/echo; Gbit/s of payload one way)" bidi \
  "$URL/echo" --bidi-bytes "$BYTES"
bench "(d1) datagram echo RTT, $DGRTT x 1000 bytes one at a time (/echo)" dgrtt \
  "$URL/echo" --dgram-rtt "$DGRTT" --dgram-size 1000
bench "(d2) datagram echo rate, $DGRATE x 1000 bytes, 64 in flight (/echo)" dgrate \
  "$URL/echo" --dgram-rate "$DGRATE" --dgram-size 1000

# ---------------------------------------------------------------- stop
kill -TERM "$SPID" 2>/dev/null
for _ in $(seq 100); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SPID" 2>/dev/null; then
  kill -KILL "$SPID" 2>/dev/null
  echo "== server did not exit on SIGTERM within 10 s (killed)"
fi
wait "$SPID" 2>/dev/null
SPID=
