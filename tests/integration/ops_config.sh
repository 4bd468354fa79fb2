#!/usr/bin/env bash
# ops_config: wtcast's configuration file. --check-config reports every
# error as FILE:LINE: reason (exit 1) and passes the installed example
# (exit 0); --config with errors refuses to start (exit 2); a valid file
# configures the server and the command line overrides it.
. "$(dirname "$0")/lib.sh"
wt_init ops_config
wt_cert
T=$WT_TMP
W=$WT_BIN/wtcast

# --- the example shipped in packaging/ is valid
"$W" --check-config "$WTCAST_SRC/packaging/wtcast.conf.example" >"$T/ex.out" 2>"$T/ex.err"
wt_expect_rc "--check-config on wtcast.conf.example" 0 $?
wt_check "example: reported ok" grep -q 'ok$' "$T/ex.out"

# --- the example and the man page's OPTIONS are what the option table
# generates (ops/wt_options.c; regenerate them with
# `cmake --build build --target options-docs`, which runs these hidden flags)
"$W" --print-config-example >"$T/gen.conf"
wt_check "wtcast.conf.example = wtcast --print-config-example" \
  cmp "$T/gen.conf" "$WTCAST_SRC/packaging/wtcast.conf.example"
"$W" --print-man-options >"$T/gen.man"
sed -n '/^\.\\" BEGIN OPTIONS$/,/^\.\\" END OPTIONS$/p' "$WTCAST_SRC/packaging/wtcast.1" |
  sed '1d;$d' >"$T/man.opts"
wt_check "wtcast.1 OPTIONS = wtcast --print-man-options" cmp "$T/gen.man" "$T/man.opts"
# --help lists every option of the table (every key's [--twin] in the example)
"$W" --help >"$T/help.out"
for opt in $(grep -o '\[--[a-z-]*\]' "$T/gen.conf" | tr -d '[]' | sort -u); do
  grep -q -- "^  $opt " "$T/help.out" || wt_failc "--help lacks $opt"
done
wt_check "--help lists the config keys' options" grep -q -- '--max-conns-per-ip N' "$T/help.out"

# --- a file with one error of each kind, on known lines
cat >"$T/bad.conf" <<'CONF'
; line 1: a comment
[server]
listen = 127.0.0.1:4433
max_conns = lots
colour = blue
[runtime]
io = turbo
this line is not a key
[nosuch]
x = 1
[server]
listen = 127.0.0.1:1
[log]
level = loud
CONF
"$W" --check-config "$T/bad.conf" >"$T/bad.out" 2>"$T/bad.err"
wt_expect_rc "--check-config on a bad file" 1 $?
sed 's/^/    /' "$T/bad.err"
want() { # LINE REGEX: an error on that line matching REGEX
  if grep -qE "^$T/bad.conf:$1: .*$2" "$T/bad.err"; then
    wt_pass "error reported on line $1 ($2)"
  else
    wt_failc "no error on line $1 matching '$2'"
  fi
}
want 4 'max_conns.*lots.*not a number'
want 5 "unknown key 'colour'"
want 7 "io.*turbo"
want 8 'syntax error'
want 10 'unknown section \[nosuch\]'
want 12 'already set on line 3'
want 14 'level.*loud'
wt_check "summary: 7 errors" grep -q '7 error(s)' "$T/bad.err"

# --- --config with errors: no start, exit 2, same line numbers
timeout 10 "$W" --config "$T/bad.conf" --cert "$WT_CERT" --key "$WT_KEY" >"$T/run.out" 2>"$T/run.err"
wt_expect_rc "wtcast --config bad.conf refuses to start" 2 $?
wt_check "--config: errors with line numbers" grep -q "bad.conf:5: unknown key 'colour'" "$T/run.err"

# --- missing file
"$W" --check-config "$T/nope.conf" >/dev/null 2>"$T/nope.err"
wt_expect_rc "--check-config on a missing file" 1 $?

# --- a valid file configures the server; the command line overrides it
cat >"$T/good.conf" <<CONF
[server]
listen = 127.0.0.1:1
cert = $WT_CERT
key = $WT_KEY
drain_timeout_ms = 1000
[runtime]
workers = 1
[log]
level = debug
format = json
CONF
"$W" --check-config "$T/good.conf" >/dev/null 2>&1
wt_expect_rc "--check-config on the good file" 0 $?
# wt_server_start adds --listen 127.0.0.1:0 (overrides the file's port 1)
wt_server_start --config "$T/good.conf"
wt_check "command line --listen overrides the file (port $WT_PORT, not 1)" test "$WT_PORT" != 1
wt_client "$T/echo.json" "$WT_URL/echo" --echo hello --timeout 20000
wt_expect_rc "echo through the configured server" 0 "$WT_RC"
wt_server_stop 15
wt_expect_rc "server exits on SIGTERM" 0 "$WT_SERVER_RC"
# [log] format = json: every stderr line is one JSON object with the fields
if python3 - "$WT_SERVER_ERR" <<'PY'; then
import json, sys
import re
n = 0
conn = None
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert set(o) >= {"ts", "level", "module", "msg"}, o
    assert o["level"] in ("error", "warn", "info", "debug", "trace"), o
    if "conn" in o and conn is None:
        conn = line.strip()
        assert re.fullmatch(r"[0-9a-f]{16,40}", o["conn"]), o
    n += 1
assert n >= 3, n
assert conn, "no line with a conn field"
print("    %d JSON log lines, e.g. %s" % (n, conn[:200]))
PY
  wt_pass "log format json from the file: every line parses, connection lines carry conn"
else
  wt_failc "log format json from the file: a line does not parse"
  head -5 "$WT_SERVER_ERR" | sed 's/^/    /'
fi
wt_done
