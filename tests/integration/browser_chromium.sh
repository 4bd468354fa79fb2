#!/usr/bin/env bash
# Real browser: headless Chromium (Debian's package, driven by playwright-core)
# opens a page from http://127.0.0.1 that connects to wtcast with
# serverCertificateHashes and checks bidi echo, a uni stream round trip, the
# pushed streams, 100 datagrams, a server-initiated close (code + reason in
# transport.closed) and protocol negotiation (`protocols` offered,
# `transport.protocol` = the server's --wt-protocols choice;
# tests/browser/wt_page_checks.js). It runs twice: Chromium's default
# dialect (draft-02) and with --enable-features=EnableWebTransportDraft07
# (WEBTRANSPORT_MAX_SESSIONS, which the server sends: docs/protocol.md). A
# check the browser cannot run is reported as SKIPPED. Skips (77) when
# Chromium or playwright-core is missing, unless WTCAST_REQUIRE_BROWSER=1
# (tools/test sets it: it installs both).
set -u
bin=${WTCAST_BIN:?}
src=${WTCAST_SRC:?}
node_modules="${XDG_CACHE_HOME:-$HOME/.cache}/wtcast/node_modules"
missing=""
[ -x /usr/bin/chromium ] || missing="chromium (apt install chromium)"
[ -d "$node_modules/playwright-core" ] || missing="$missing playwright-core (tools/deps --browser)"
command -v node >/dev/null || missing="$missing node"
if [ -n "$missing" ]; then
  echo "browser test: missing $missing"
  [ "${WTCAST_REQUIRE_BROWSER:-0}" = 1 ] && exit 1
  exit 77
fi

tmp=$(mktemp -d /tmp/wtcast-browser.XXXXXX)
srv_pid=""
cleanup() {
  if [ -n "$srv_pid" ] && kill -0 "$srv_pid" 2>/dev/null; then
    kill -KILL "$srv_pid" 2>/dev/null
    wait "$srv_pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

"$bin/wtcast-cert" --out-cert "$tmp/cert.pem" --out-key "$tmp/key.pem" --quiet >"$tmp/cert.txt" || exit 1
hash=$(sed -n 's/^sha256: //p' "$tmp/cert.txt")

# debug: the echo app logs each session's close code and reason (the
# page's client closes are checked there)
"$bin/wtcast" --listen 127.0.0.1:0 --cert "$tmp/cert.pem" --key "$tmp/key.pem" --apps all \
  --wt-protocols moq-lite-03 --log-level debug >"$tmp/server.out" 2>"$tmp/server.err" &
srv_pid=$!
port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/server.out" | head -n1)
  [ -n "$port" ] && break
  kill -0 "$srv_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "browser test: server did not start"
  cat "$tmp/server.err"
  exit 1
fi
echo "browser test: wtcast on 127.0.0.1:$port, certificate sha256 $hash"

rc=0
for features in "" EnableWebTransportDraft07; do
  echo "browser test: Chromium ${features:-default (draft-02)}"
  NODE_PATH="$node_modules" timeout 180 node "$src/tests/browser/wt_browser_test.js" \
    --server "127.0.0.1:$port" --hash "$hash" --timeout 150000 --features "$features" \
    2> >(tee "$tmp/node.err" >&2)
  r=$?
  echo "browser test: Chromium ${features:-default}: $([ $r = 0 ] && echo PASS || echo "FAIL ($r)")"
  grep -h 'SKIPPED' "$tmp/node.err" | sed "s/^/browser test: ${features:-default}: /"
  [ $r = 0 ] || rc=1
done
# The page closes its three parallel sessions with code 7, reason "bye",
# once per Chromium run: the server saw the code and the reason.
n=$(grep -c '\[echo\] session [0-9]*: closed code=7 clean=1 reason=bye$' "$tmp/server.err")
if [ "$n" = 6 ]; then
  echo "browser test: client close code + reason reached the server (6 of 6 sessions): PASS"
else
  echo "browser test: client close code + reason: $n of 6 sessions logged code=7 reason=bye: FAIL"
  rc=1
fi

kill -TERM "$srv_pid"
for _ in $(seq 1 100); do
  kill -0 "$srv_pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$srv_pid" 2>/dev/null; then
  echo "browser test: server did not exit within 10 s of SIGTERM"
  rc=1
else
  wait "$srv_pid"
  src_rc=$?
  srv_pid=""
  [ "$src_rc" = 0 ] || {
    echo "browser test: server exit status $src_rc"
    rc=1
  }
fi
[ "$rc" = 0 ] || {
  echo "--- server stderr (tail)"
  tail -n 40 "$tmp/server.err"
}
exit $rc
