#!/usr/bin/env bash
# wt_fanout.sh: fan-out relay figures on loopback (prints them, asserts nothing).
#
#   bench/wt_fanout.sh [--bin DIR] [--runs R] [--subs "10 100 1000"] [--rate MSG/S]
#                      [--secs S] [--size BYTES] [--group-msgs G] [--io uring|portable]
#                      [--transports "datagram stream moq"]
#
# Builds nothing: uses wtcast, wtcast-cert, wtcast-bench and bench_udp from
# DIR (default: build/bin of this checkout; build it as Release). Starts one
# wtcast on 127.0.0.1:0 with --workers $(nproc), runs bench_udp once for the
# raw loopback UDP packet rate of this machine in this run, then for each
# subscriber count K (default 10, 100, 1000) and each transport (datagram,
# stream, moq: the same stream records as moq-lite frames through the
# moq-lite relay, --scenario fanout --verify --moq, docs/protocol.md
# section 9): 1 publisher -> K subscribers (wtcast-bench --scenario fanout --verify, every subscriber on
# its own connection, all in one client process), --size-byte messages
# (default 1000) at --rate messages/s (default 100) for --secs seconds
# (default 5), new group stream every --group-msgs messages (default 50).
# Each case runs R times (default 3); every run and the median are printed:
#   deliveries/s      messages delivered to subscribers per second (datagrams
#                     or stream records), first publish to last delivery
#   srv us/deliv      server CPU (utime+stime of the wtcast process over the
#                     run, /proc/PID/stat) per delivery, in microseconds
#   cli us/deliv      the same for the client process (getrusage): when it
#                     nears 1e6 / deliveries/s the client is the bottleneck
#   p50/p99 us        publish -> deliver latency (CLOCK_MONOTONIC, same machine)
#   loss              1 - delivered / expected (datagrams; streams: groups lost
#                     to lagged resets show up as missing records)
#   x raw             deliveries/s divided by bench_udp's raw packets/s
#                     (sendmmsg/recvmmsg, 1200-byte payloads, one core each way)
# The client (wtcast-bench --scenario fanout --verify, one thread) shares the machine with the server:
# at high K it is usually the bottleneck, which shows up as latency and loss,
# not as server CPU. The server is stopped by its PID only.
set -u

here=$(cd "$(dirname "$0")" && pwd)
BIN=$here/../build/bin
RUNS=3
SUBS="10 100 1000"
RATE=100
SECS=5
SIZE=1000
GROUP=50
IO=
TRANSPORTS="datagram stream moq"
while [ $# -gt 0 ]; do
  case $1 in
  --bin) BIN=$2; shift 2 ;;
  --runs | -R) RUNS=$2; shift 2 ;;
  --subs) SUBS=$2; shift 2 ;;
  --rate) RATE=$2; shift 2 ;;
  --secs) SECS=$2; shift 2 ;;
  --size) SIZE=$2; shift 2 ;;
  --group-msgs) GROUP=$2; shift 2 ;;
  --transports) TRANSPORTS=$2; shift 2 ;;
  --io)
    case ${2:-} in
    uring | portable) IO=$2 ;;
    *) echo "wt_fanout: --io wants uring or portable" >&2; exit 2 ;;
    esac
    shift 2 ;;
  -h | --help) sed -n '2,37p' "$0"; exit 0 ;;
  *) echo "wt_fanout: unknown argument $1" >&2; exit 2 ;;
  esac
done
BIN=$(cd "$BIN" 2>/dev/null && pwd) || { echo "wt_fanout: no such directory" >&2; exit 2; }
for b in wtcast wtcast-cert wtcast-bench bench_udp; do
  [ -x "$BIN/$b" ] || { echo "wt_fanout: $BIN/$b is missing (build first)" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "wt_fanout: python3 is needed" >&2; exit 2; }
case $RUNS in '' | *[!0-9]* | 0) echo "wt_fanout: --runs wants >= 1" >&2; exit 2 ;; esac

TMP=$(mktemp -d "${TMPDIR:-/tmp}/wt_fanout.XXXXXX") || exit 1
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

build_type=unknown
cache=$BIN/../CMakeCache.txt
[ -f "$cache" ] && build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$cache")
NPROC=$(nproc)
echo "wt_fanout: $(uname -r), $NPROC CPUs, build $build_type ($BIN), $RUNS run(s) per case"
[ "$build_type" = Release ] || echo "wt_fanout: WARNING: not a Release build; figures are not representative"

# ---------------------------------------------------------------- raw UDP
echo "== raw UDP (bench_udp --runs 1 --secs 1)"
"$BIN/bench_udp" --runs 1 --secs 1 >"$TMP/udp.txt" 2>&1
grep MEDIAN "$TMP/udp.txt" | sed 's/^/   /'
RAW_PPS=$(python3 - "$TMP/udp.txt" <<'EOF'
import re, sys
for line in open(sys.argv[1]):
    if line.startswith("mmsg") and "MEDIAN" in line:
        m = re.search(r"MEDIAN:\s*([0-9.]+) Mpkt/s", line)
        print(int(float(m.group(1)) * 1e6))
        break
else:
    print(0)
EOF
)
echo "   raw reference: $RAW_PPS packets/s (sendmmsg/recvmmsg)"

# ---------------------------------------------------------------- server
"$BIN/wtcast-cert" --out-cert "$TMP/cert.pem" --out-key "$TMP/key.pem" --days 10 --quiet \
  >/dev/null 2>&1 || { echo "wt_fanout: wtcast-cert failed" >&2; exit 1; }
HASH=$("$BIN/wtcast-cert" --print-hash "$TMP/cert.pem" | sed -n 's/^sha256: *\([0-9a-fA-F]\{64\}\).*/\1/p')
io=()
[ -n "$IO" ] && io=(--io "$IO")
"$BIN/wtcast" --listen 127.0.0.1:0 --cert "$TMP/cert.pem" --key "$TMP/key.pem" --workers "$NPROC" \
  --apps relay,moq --log-level error "${io[@]}" >"$TMP/server.out" 2>"$TMP/server.err" &
SPID=$!
PORT=
for _ in $(seq 100); do
  PORT=$(sed -n 's/.*listening on .*:\([0-9][0-9]*\).*/\1/p' "$TMP/server.out" | head -n1)
  [ -n "$PORT" ] && break
  sleep 0.1
done
if [ -z "$PORT" ]; then
  echo "wt_fanout: wtcast did not start:" >&2
  tail -n 20 "$TMP/server.err" >&2
  exit 1
fi
echo "== wtcast pid $SPID on 127.0.0.1:$PORT, --workers $NPROC ${io[*]}"
COUNT=$((RATE * SECS))

printf '%-9s %6s %4s %12s %12s %12s %9s %9s %8s %9s\n' transport subs run deliveries/s \
  "srv us/deliv" "cli us/deliv" "p50 us" "p99 us" loss "x raw"
for k in $SUBS; do
  for tr in $TRANSPORTS; do
    for r in $(seq "$RUNS"); do
      out=$TMP/f-$k-$tr-$r.json
      mode=(--transport "$tr")
      [ "$tr" = moq ] && mode=(--moq)
      timeout -k 5 $((SECS * 4 + 120)) "$BIN/wtcast-bench" --scenario fanout --verify --url "https://127.0.0.1:$PORT" \
        --cert-hash "$HASH" --ch "bench$k$tr$r" --subs "$k" "${mode[@]}" --count "$COUNT" \
        --rate "$RATE" --size "$SIZE" --group-msgs "$GROUP" --timeout $((SECS * 4 + 100)) \
        --server-pid "$SPID" --json >"$out" 2>"$out.err"
      python3 - "$out" "$tr" "$k" "$r" "$RAW_PPS" <<'EOF'
import json, sys
f, tr, k, r, raw = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
try:
    d = json.load(open(f))
    s = d["roles"]["sub"]
except Exception as e:
    print("%-9s %6s %4s   (no report: %s)" % (tr, k, r, e))
    sys.exit(0)
dps = d.get("deliveries_per_s", 0)
cpu = (d.get("server") or {}).get("cpu_us_per_delivery")
if tr == "datagram":
    loss = s.get("loss_ratio", 0)
else:
    exp = s.get("groups_expected", 0)
    loss = 1 - s.get("groups_complete", 0) / exp if exp else 0
cli = d.get("client_cpu_us_per_delivery")
print("%-9s %6s %4s %12.0f %12s %12s %9s %9s %8.4f %9.4f%s" % (
    tr, k, r, dps, "%.2f" % cpu if cpu is not None else "-", "%.2f" % cli if cli is not None else "-",
    s.get("latency_p50_us"),
    s.get("latency_p99_us"), loss, dps / raw if raw else 0,
    "" if d.get("ok") else "  (not ok: %s)" % "; ".join(d.get("errors", [])[:2])))
EOF
    done
    python3 - "$TMP" "$tr" "$k" "$RUNS" "$RAW_PPS" <<'EOF'
import json, statistics, sys
tmp, tr, k, runs, raw = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
rows = []
for r in range(1, runs + 1):
    try:
        d = json.load(open("%s/f-%s-%s-%d.json" % (tmp, k, tr, r)))
        s = d["roles"]["sub"]
    except Exception:
        continue
    exp = s.get("groups_expected", 0)
    loss = s.get("loss_ratio", 0) if tr == "datagram" else (1 - s.get("groups_complete", 0) / exp if exp else 0)
    rows.append((d.get("deliveries_per_s", 0), (d.get("server") or {}).get("cpu_us_per_delivery"),
                 s.get("latency_p50_us") or 0, s.get("latency_p99_us") or 0, loss,
                 d.get("client_cpu_us_per_delivery")))
if not rows:
    print("%-9s %6s  MEDIAN: no data" % (tr, k))
    sys.exit(0)
med = lambda i: statistics.median([x[i] for x in rows if x[i] is not None] or [0])
print("%-9s %6s  MED %12.0f %12.2f %12.2f %9.0f %9.0f %8.4f %9.4f" % (
    tr, k, med(0), med(1), med(5), med(2), med(3), med(4), med(0) / raw if raw else 0))
EOF
  done
done
if ! kill -0 "$SPID" 2>/dev/null; then
  echo "wt_fanout: the server died during the run; its stderr:"
  tail -n 20 "$TMP/server.err"
fi
