#!/usr/bin/env bash
# embed_hello: a program of its own around the public API (tools/wtcast-hello)
# registers /hello through a wt_app_module (wt_server.h) and runs on the application
# workers: a client sees the app's two pushed streams, its datagram reply and
# its close (code 7 "bye"); the built-in apps are off there, so /echo is 404.
. "$(dirname "$0")/lib.sh"
wt_init embed_hello
wt_cert
T=$WT_TMP
WT_SERVER_BIN=$WT_BIN/wtcast-hello wt_server_start --workers 2

wt_client "$T/hello.json" "$WT_URL/hello" --expect-push --wait-close --timeout 20000
wt_expect_rc "/hello: pushed streams and the app's close" 0 "$WT_RC"
wt_jcheck "/hello: both pushed streams verified" "$T/hello.json" \
  "s0['status'] == 200 and ops['push_bidi']['verified'] and ops['push_uni']['verified']"
wt_jcheck "/hello: closed by the app with 7 'bye'" "$T/hello.json" \
  "json.dumps(s0).find('bye') >= 0 and json.dumps(s0).find('\"code\": 7') >= 0"

wt_client "$T/echo.json" "$WT_URL/echo" --echo hi --timeout 20000
wt_expect_rc "/echo is not routed in the embedding program" 1 "$WT_RC"
wt_jcheck "/echo: 404" "$T/echo.json" "s0['status'] == 404"

wt_server_stop 10
wt_check "SIGTERM: the program exits 0" test "$WT_SERVER_RC" = 0
wt_check "it counted its sessions on its workers" grep -q "1 session(s) served" "$WT_SERVER_ERR"
wt_done
