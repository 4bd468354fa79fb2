# shellcheck shell=bash
# tests/integration/lib.sh: helpers shared by the integration scripts (sourced).
#
# A script does:
#   . "$(dirname "$0")/lib.sh"
#   wt_init NAME              # temp dir, cleanup trap, binaries check
#   wt_cert                   # WT_CERT, WT_KEY, WT_HASH
#   wt_server_start [args]    # WT_SERVER_PID, WT_PORT, WT_URL (https://127.0.0.1:PORT)
#   wt_client OUT.json URL args...   # runs wtcast-client, WT_RC = its exit status
#   wt_jcheck "what" OUT.json 'python expression over d'
#   wt_server_stop            # SIGTERM, bounded wait; WT_SERVER_RC
#   wt_done                   # summary; exit 1 if any check failed
#
# Environment (set by ctest): WTCAST_BIN (the build's bin dir), WTCAST_SRC,
# WTCAST_BUILD, and for loopback_* WTCAST_IO (uring or portable: the
# server's --io). Everything binds 127.0.0.1 only. Only PIDs started here are
# ever signalled. A missing binary is a failure, not a skip: these tests are
# meant to fail loudly until the pieces they exercise exist.

set -u

# python3 is Debian's (/usr/bin/python3: tools/deps installs python3 and the
# modules the scripts import for it), not whichever comes first in PATH: a
# version manager's shim there (pyenv) costs ~0.8 s per start instead of
# ~0.1 s, and the scripts start python dozens of times each (relay_fanout
# took 61 s through the shim, 43 s without it). A function, so every
# `python3` in a script that sources this file uses it.
if [ -x /usr/bin/python3 ]; then
  python3() { /usr/bin/python3 "$@"; }
fi

# The test glob also picks this file up as "integration.lib": nothing to run.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  echo "lib.sh: helpers for the loopback_*.sh scripts; nothing to run on its own"
  exit 0
fi

WT_BIN=${WTCAST_BIN:-}
WT_NAME=integration
WT_TMP=
WT_SERVER_PID=
WT_SERVER_RC=
WT_SERVER_OUT=
WT_SERVER_ERR=
WT_PORT=
WT_URL=
WT_RC=
WT_BG_PIDS=()
WT_FO_PREFIX=()
declare -A WT_FO_OUT=() # background verifier PID -> its report
WT_TRUST=()
wt_pass=0
wt_fail=0
wt_failed=()
wt_nserver=0

wt_log() {
  printf '[%s %s] %s\n' "$WT_NAME" "$(date +%H:%M:%S)" "$*"
}

wt_cleanup() {
  local pid
  for pid in "${WT_BG_PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null
  done
  if [ -n "$WT_SERVER_PID" ] && kill -0 "$WT_SERVER_PID" 2>/dev/null; then
    kill -KILL "$WT_SERVER_PID" 2>/dev/null
    wait "$WT_SERVER_PID" 2>/dev/null
  fi
  [ -n "$WT_TMP" ] && rm -rf "$WT_TMP"
}

# wt_init NAME: temp dir, trap, and the binaries every script needs.
wt_init() {
  WT_NAME=$1
  if [ -z "$WT_BIN" ]; then
    echo "[$WT_NAME] FAIL: WTCAST_BIN is not set (run through ctest)" >&2
    exit 1
  fi
  WT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/wtcast-$WT_NAME.XXXXXX") || exit 1
  trap wt_cleanup EXIT
  trap 'exit 130' INT TERM
  local b missing=0
  for b in wtcast wtcast-cert wtcast-client; do
    if [ ! -x "$WT_BIN/$b" ]; then
      wt_log "FAIL: $WT_BIN/$b is missing (not built yet?)"
      missing=1
    fi
  done
  if ! command -v python3 >/dev/null; then
    wt_log "FAIL: python3 is needed to read the JSON reports"
    missing=1
  fi
  [ "$missing" = 0 ] || exit 1
}

# ------------------------------------------------------------------ checks

wt_pass() {
  wt_pass=$((wt_pass + 1))
  wt_log "PASS: $*"
}

wt_failc() {
  wt_fail=$((wt_fail + 1))
  wt_failed+=("$*")
  wt_log "FAIL: $*"
}

# wt_check "what" CMD...: pass if CMD succeeds.
wt_check() {
  local what=$1
  shift
  if "$@"; then wt_pass "$what"; else wt_failc "$what"; fi
}

# wt_expect_rc "what" EXPECTED ACTUAL
wt_expect_rc() {
  if [ "$3" = "$2" ]; then
    wt_pass "$1 (exit $3)"
  else
    wt_failc "$1 (exit $3, expected $2)"
  fi
}

# wt_done: summary line, exit status.
wt_done() {
  wt_log "$wt_pass passed, $wt_fail failed"
  local f
  for f in "${wt_failed[@]}"; do
    wt_log "  failed: $f"
  done
  [ "$wt_fail" = 0 ] && exit 0
  exit 1
}

# wt_wait_until SECONDS CMD...: poll CMD every 0.1 s; 0 once it succeeds.
wt_wait_until() {
  local limit=$(($1 * 10)) i=0
  shift
  while [ "$i" -lt "$limit" ]; do
    "$@" && return 0
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}

# ------------------------------------------------------------------ JSON

# wt_jget FILE PATH: print the value at a dotted path ("totals.sessions",
# "connections.0.sessions.1.status"): strings raw, the rest as JSON.
wt_jget() {
  python3 -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    for k in [k for k in sys.argv[2].split(".") if k]:
        d = d[int(k)] if isinstance(d, list) else d[k]
except Exception as e:
    print("<missing: %s>" % e)
    sys.exit(1)
print(d if isinstance(d, str) else json.dumps(d))
' "$1" "$2"
}

# wt_jtest FILE EXPR: exit 0 if the Python expression EXPR is true. Names
# available: d (the document), conns (d["connections"]), sess (every session
# of every connection, flattened), s0 (the first session), ops (s0["ops"]),
# t (d["totals"]).
wt_jtest() {
  python3 -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("    not JSON: %s" % e)
    sys.exit(1)
def get(o, k, default):
    v = o.get(k, default) if isinstance(o, dict) else default
    return v if isinstance(v, type(default)) else default
conns = get(d, "connections", [])
sess = [s for c in conns for s in get(c, "sessions", [])]
s0 = sess[0] if sess else {}
ops = get(s0, "ops", {})
t = get(d, "totals", {})
try:
    ok = eval(sys.argv[2])
except Exception as e:
    print("    %s: %r" % (type(e).__name__, e))
    ok = False
sys.exit(0 if ok else 1)
' "$1" "$2"
}

# wt_jcheck "what" FILE EXPR: a check on a JSON report.
wt_jcheck() {
  if wt_jtest "$2" "$3"; then
    wt_pass "$1"
  else
    wt_failc "$1  [$3]"
  fi
}

# wt_figures FILE: print the measured figures of a client report.
wt_figures() {
  python3 -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("    (no JSON report: %s)" % e)
    sys.exit(0)
t = d.get("totals", {})
line = "    sessions %s/%s verified, handshake ms min/avg/max %s/%s/%s, run %s ms" % (
    t.get("sessions_verified"), t.get("sessions"), t.get("handshake_ms_min"),
    t.get("handshake_ms_avg"), t.get("handshake_ms_max"), t.get("duration_ms"))
print(line)
for name, a in sorted(t.get("ops", {}).items()):
    print("    %-10s %s/%s verified, %s bytes in all, duration ms min/avg/max %s/%s/%s, "
          "aggregate %s Mbit/s" % (name, a.get("verified"), a.get("count"), a.get("bytes"),
          a.get("duration_ms_min"), a.get("duration_ms_avg"), a.get("duration_ms_max"),
          a.get("aggregate_rate_mbps")))
if t.get("datagrams_sent"):
    print("    datagrams sent %s, received %s, lost %s" % (t.get("datagrams_sent"),
          t.get("datagrams_received"), t.get("datagrams_lost")))
for e in d.get("errors", [])[:10]:
    print("    error: %s" % e)
' "$1"
}

# ------------------------------------------------------------------ certificate

# wt_cert: a fresh self-signed certificate in the temp dir.
wt_cert() {
  WT_CERT=$WT_TMP/cert.pem
  WT_KEY=$WT_TMP/key.pem
  if ! "$WT_BIN/wtcast-cert" --out-cert "$WT_CERT" --out-key "$WT_KEY" --days 10 --quiet \
    >"$WT_TMP/cert.log" 2>&1; then
    wt_log "FAIL: wtcast-cert could not create a certificate:"
    sed 's/^/    /' "$WT_TMP/cert.log"
    exit 1
  fi
  WT_HASH=$("$WT_BIN/wtcast-cert" --print-hash "$WT_CERT" 2>/dev/null |
    sed -n 's/^sha256: *\([0-9a-fA-F]\{64\}\).*/\1/p' | head -n1)
  if [ -z "$WT_HASH" ]; then
    wt_log "FAIL: wtcast-cert --print-hash gave no 'sha256: <hex>' line"
    exit 1
  fi
  wt_log "certificate sha256 $WT_HASH"
}

# ------------------------------------------------------------------ server

wt_server_port() {
  local line
  line=$(grep -m1 'listening on ' "$WT_SERVER_OUT" 2>/dev/null) || return 1
  WT_PORT=$(printf '%s\n' "$line" | sed -n 's/.*listening on .*:\([0-9][0-9]*\).*/\1/p')
  [ -n "$WT_PORT" ] && [ "$WT_PORT" != 0 ]
}

# Gone = no such process, or a zombie not yet reaped by this shell.
wt_pid_gone() {
  local st
  st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 0
  [ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}

wt_server_gone() {
  wt_pid_gone "$WT_SERVER_PID"
}

# wt_server_start [wtcast args...]: start the server on 127.0.0.1:0 (or on
# $WT_LISTEN, e.g. to restart on the same port) with the
# certificate from wt_cert and wait (10 s at most) for its "listening on" line.
# Exits the script (failure) if it does not come up.
wt_server_start() {
  wt_nserver=$((wt_nserver + 1))
  WT_SERVER_OUT=$WT_TMP/server$wt_nserver.out
  WT_SERVER_ERR=$WT_TMP/server$wt_nserver.err
  WT_SERVER_RC=
  local io=()
  # WTCAST_IO (set by ctest: uring or portable) picks the server's datapath.
  if [ -n "${WTCAST_IO:-}" ]; then io=(--io "$WTCAST_IO"); fi
  # WTCAST_APPS (set by ctest for the .inline runs): --app-workers VALUE.
  if [ -n "${WTCAST_APPS:-}" ]; then io+=(--app-workers "$WTCAST_APPS"); fi
  # wtcast serves only the relay unless told (--apps): the tests use every
  # built-in route (WT_APPS=LIST another list, WT_APPS= none: the default);
  # a test's own --apps (later on the line) wins. WT_SERVER_BIN: another
  # server program with wtcast's basic options (not --apps)
  if [ -z "${WT_SERVER_BIN:-}" ] && [ -n "${WT_APPS-all}" ]; then io+=(--apps "${WT_APPS-all}"); fi
  "${WT_SERVER_BIN:-$WT_BIN/wtcast}" --listen "${WT_LISTEN:-127.0.0.1:0}" --cert "$WT_CERT" --key "$WT_KEY" "${io[@]}" "$@" \
    >"$WT_SERVER_OUT" 2>"$WT_SERVER_ERR" &
  WT_SERVER_PID=$!
  if ! wt_wait_until 10 wt_server_port; then
    if wt_server_gone; then
      wait "$WT_SERVER_PID" 2>/dev/null
      wt_log "FAIL: wtcast exited with status $? before listening; its stderr:"
    else
      wt_log "FAIL: wtcast printed no 'listening on' line within 10 s; its stderr:"
    fi
    tail -n 30 "$WT_SERVER_ERR" | sed 's/^/    /'
    exit 1
  fi
  WT_URL=https://127.0.0.1:$WT_PORT
  wt_log "server pid $WT_SERVER_PID listening on 127.0.0.1:$WT_PORT ($*)"
}

# wt_server_stop [SECONDS]: SIGTERM and wait (default 10 s); SIGKILL after
# that. WT_SERVER_RC = exit status (or "killed"), WT_STOP_MS = time taken.
# Returns 0 if it exited by itself.
wt_server_stop() {
  local limit=${1:-10} t0 t1
  [ -n "$WT_SERVER_PID" ] || return 1
  t0=$(date +%s%N)
  kill -TERM "$WT_SERVER_PID" 2>/dev/null
  if wt_wait_until "$limit" wt_server_gone; then
    wait "$WT_SERVER_PID" 2>/dev/null
    WT_SERVER_RC=$?
    t1=$(date +%s%N)
    WT_STOP_MS=$(((t1 - t0) / 1000000))
    WT_SERVER_PID=
    return 0
  fi
  kill -KILL "$WT_SERVER_PID" 2>/dev/null
  wait "$WT_SERVER_PID" 2>/dev/null
  WT_SERVER_RC=killed
  WT_STOP_MS=$((limit * 1000))
  WT_SERVER_PID=
  return 1
}

wt_json_lines() {
  grep -c '^[[:space:]]*{' "$WT_SERVER_OUT" 2>/dev/null
}

wt_more_json_lines() {
  [ "$(wt_json_lines)" -gt "$1" ]
}

# wt_server_stats FILE: SIGUSR1 the server and write the JSON line it prints
# (5 s at most) to FILE. Returns 1 if none came.
# wt_server_finish [LABEL]: stop the server (SIGTERM, 10 s) and check that it
# exited 0 (checks named "LABEL: ..." when a label is given).
wt_server_finish() {
  local p=${1:+$1: }
  if wt_server_stop 10; then
    wt_expect_rc "${p}SIGTERM: server exit status" 0 "$WT_SERVER_RC"
  else
    wt_failc "${p}server still running 10 s after SIGTERM (killed)"
  fi
}

# wt_server_report: when a check has failed, the server's sanitizer report
# (ASan, UBSan, TSan), else the tail of its stderr.
wt_server_report() {
  [ "$wt_fail" != 0 ] || return 0
  local pat='ERROR: [A-Za-z]*Sanitizer\|runtime error\|WARNING: ThreadSanitizer'
  if grep -q "$pat" "$WT_SERVER_ERR"; then
    wt_log "server stderr (sanitizer report):"
    grep -m1 -A16 "$pat" "$WT_SERVER_ERR" | sed 's/^/    /'
  else
    wt_log "server stderr (tail):"
    tail -n 20 "$WT_SERVER_ERR" | sed 's/^/    /'
  fi
}

# wt_sanitized: true when the build under test ($WTCAST_BUILD) is a
# sanitizer build (ASan+UBSan or TSan): several times slower, and ASan keeps
# freed memory in its quarantine (larger memory bounds).
wt_sanitized() {
  grep -qsE '^WTCAST_SANITIZE:BOOL=ON|^CMAKE_C_FLAGS:STRING=.*-fsanitize=thread' \
    "${WTCAST_BUILD:-/nonexistent}/CMakeCache.txt"
}

# wt_server_kb FIELD: FIELD (VmRSS, VmHWM) of the running server's
# /proc/PID/status, in kB.
wt_server_kb() {
  awk -v f="$1:" '$1 == f {print $2}' "/proc/$WT_SERVER_PID/status"
}

# wt_flood_baseline N: before the floods of a flood test: a datagram echo
# RTT baseline of N datagrams (checked and logged), the server's counters
# into $WT_TMP/s0.json, and RSS0 = its VmRSS in kB (logged).
wt_flood_baseline() {
  wt_client "$WT_TMP/base.json" "$WT_URL/echo" --dgram-rtt "$1" --timeout 30000
  wt_expect_rc "baseline: datagram echo RTT without a flood" 0 "$WT_RC"
  wt_log "    baseline rtt_us: $(wt_jget "$WT_TMP/base.json" connections.0.sessions.0.dgram_rtt.rtt_us)"
  wt_server_stats "$WT_TMP/s0.json"
  RSS0=$(wt_server_kb VmRSS)
  wt_log "    server VmRSS ${RSS0} kB before the floods"
}

wt_server_stats() {
  local before
  before=$(wt_json_lines)
  kill -USR1 "$WT_SERVER_PID" 2>/dev/null || return 1
  wt_wait_until 5 wt_more_json_lines "$before" || return 1
  sleep 0.1 # let the line be complete
  grep '^[[:space:]]*{' "$WT_SERVER_OUT" | tail -n1 >"$1"
}

# ------------------------------------------------------------------ client

# wt_client OUT URL [wtcast-client args...]: run the client (its --timeout,
# default 30 s, plus a 15 s guard) with the pinned certificate (or with the
# trust options in the array WT_TRUST, when a script sets it); the report
# goes to OUT, stderr to OUT.err, the exit status to WT_RC. Prints the
# figures of the report.
wt_client() {
  local out=$1 url=$2 ms=30000 a prev=
  shift 2
  for a in "$@"; do
    if [ "$prev" = --timeout ]; then ms=$a; fi
    prev=$a
  done
  wt_log "client $url $*"
  if [ ${#WT_TRUST[@]} -eq 0 ]; then
    WT_TRUST=(--cert-hash "$WT_HASH")
  fi
  timeout -k 5 $((ms / 1000 + 15)) "$WT_BIN/wtcast-client" "$url" "${WT_TRUST[@]}" "$@" \
    >"$out" 2>"$out.err"
  WT_RC=$?
  wt_figures "$out"
  if [ "$WT_RC" -gt 2 ]; then
    wt_log "client crashed or was killed (exit $WT_RC); stderr tail:"
    tail -n 25 "$out.err" | sed 's/^/    /'
  fi
  return 0
}

# ------------------------------------------------------------------ relay nodes
# Helpers of the scripts that run several relay nodes and the fan-out
# verifier (relay_cascade, cluster_netns).

# wt_node NAME ARGS...: start a wtcast with 2 workers (wt_server_start) and
# remember it as NAME_PID, NAME_PORT, NAME_OUT, NAME_ERR (killed by the
# cleanup). wt_node_json NAME FILE: its SIGUSR1 JSON line into FILE.
# --datagram-max-age 0: these tests count every datagram through the
# cascade; a shard stalled 250 ms by a loaded (sanitized) CI host would
# expire some (what relay_fanout accounts for, not these).
wt_node() {
  local name=$1
  shift
  wt_server_start --workers 2 --datagram-max-age 0 "$@"
  WT_BG_PIDS+=("$WT_SERVER_PID")
  eval "${name}_PID=$WT_SERVER_PID ${name}_PORT=$WT_PORT ${name}_OUT=$WT_SERVER_OUT ${name}_ERR=$WT_SERVER_ERR"
  WT_SERVER_PID=
}
wt_node_json() {
  local pid out
  eval "pid=\$${1}_PID out=\$${1}_OUT"
  wt_node_stats "$pid" "$out" "$2"
}

# wt_node_stats PID SERVER_OUT FILE: SIGUSR1 the node PID (its stdout is
# SERVER_OUT) and write the JSON line it prints (5 s at most) to FILE.
wt_node_stats() {
  local pid=$1 o=$2 out=$3 n0
  n0=$(grep -c '^{' "$o" 2>/dev/null)
  kill -USR1 "$pid" 2>/dev/null || return 1
  # shellcheck disable=SC2317
  wt__more() { [ "$(grep -c '^{' "$o" 2>/dev/null)" -gt "$n0" ]; }
  wt_wait_until 5 wt__more || return 1
  sleep 0.1 # let the line be complete
  grep '^{' "$o" | tail -n 1 >"$out"
}

# wt_relay_chan STATS CH KEY: a number (dotted KEY) of channel CH's entry in
# the relay JSON of a SIGUSR1 line; -1 if the channel is not there.
wt_relay_chan() {
  python3 - "$1" "$2" "$3" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
for c in d.get("relay", {}).get("channels", []):
    if c.get("name") == sys.argv[2]:
        v = c
        for k in sys.argv[3].split("."):
            v = v[k]
        print(v); sys.exit(0)
print(-1)
PYEOF
}

# wt_relay_apps STATS KEY: a counter of the apps object (-1 if absent).
wt_relay_apps() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["apps"].get(sys.argv[2], -1))' "$1" "$2"
}

# The fan-out verifier (wtcast-bench --scenario fanout --verify, pinned to
# WT_HASH). WT_FO_PREFIX (an array, e.g. (ip netns exec NS)) runs it inside
# something. wt_fo OUT URL ARGS...: in the foreground (60 s guard), FO_RC.
# wt_fo_bg OUT URL ARGS...: in the background, FO_PID (in WT_BG_PIDS).
# wt_fo_wait PID SECONDS: wait for a background run; FO_RC (or "killed").
wt_fo() {
  local out=$1 url=$2
  shift 2
  wt_log "fanout $url $*"
  timeout -k 5 60 "${WT_FO_PREFIX[@]}" "$WT_BIN/wtcast-bench" --scenario fanout --verify \
    --url "$url" --cert-hash "$WT_HASH" --json "$@" >"$out" 2>"$out.err"
  FO_RC=$?
  if [ "$FO_RC" != 0 ]; then # what went wrong, for the log
    wt_fo_figures "$out"
    tail -n 3 "$out.err" | sed 's/^/    stderr: /'
  fi
}
wt_fo_bg() {
  local out=$1 url=$2
  shift 2
  wt_log "fanout (background) $url $*"
  "${WT_FO_PREFIX[@]}" "$WT_BIN/wtcast-bench" --scenario fanout --verify --url "$url" \
    --cert-hash "$WT_HASH" --json "$@" >"$out" 2>"$out.err" &
  FO_PID=$!
  WT_BG_PIDS+=("$FO_PID")
  WT_FO_OUT[$FO_PID]=$out
}
wt_fo_wait() {
  if wt_wait_until "$2" wt_pid_gone "$1"; then
    wait "$1" 2>/dev/null
    FO_RC=$?
  else
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    FO_RC=killed
  fi
  local out=${WT_FO_OUT[$1]:-}
  if [ "$FO_RC" != 0 ] && [ -n "$out" ]; then # what went wrong, for the log
    wt_fo_figures "$out"
    tail -n 3 "$out.err" | sed 's/^/    stderr: /'
  fi
}
# wt_ready FILE: FILE exists and is not empty (a --ready-file written).
wt_ready() { [ -s "$1" ]; }
# wt_fo_figures FILE: the subscribers' figures of a verifier report.
wt_fo_figures() {
  python3 - "$1" <<'PYEOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("    (no report: %s)" % e); sys.exit(0)
for k, r in d.get("roles", {}).items():
    if k == "pub":
        continue
    print("    %s: %s sessions (%s failed, %s complete), datagrams %s/%s, groups %s/%s, torn %s, "
          "corrupt %s, lagged %s, gone %s, missing %s, latency p50/p99 %s/%s us"
          % (k, r.get("sessions"), r.get("sessions_failed"), r.get("subscribers_complete"),
             r.get("delivered_datagrams"), r.get("expected_datagrams"), r.get("groups_complete"),
             r.get("groups_expected"), r.get("groups_torn"), r.get("corrupt"),
             r.get("groups_reset_lagged"), r.get("groups_reset_publisher_gone"),
             r.get("groups_missing"), r.get("latency_p50_us"), r.get("latency_p99_us")))
for e in d.get("errors", [])[:5]:
    print("    error: %s" % e)
PYEOF
}
