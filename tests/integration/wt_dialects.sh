#!/usr/bin/env bash
# wt_dialects: wtcast-client speaking each WebTransport dialect (--wt-draft 02,
# 07, 14, 16) against wtcast's default profile (compat) over real sockets on
# 127.0.0.1: echo round trip, uni echo, pushed streams, datagrams; session
# flow control on for 14/16 and off for 02/07; a client granting 1 KiB and
# 2 + 2 streams downloads 256 KiB and sees BLOCKED capsules; a client that
# ignores the server's limits gets its session reset with
# WT_FLOW_CONTROL_ERROR; a server of profile draft16 serves a draft-16 client
# (docs/protocol.md sections 2 and 7). Figures are printed, never asserted.
. "$(dirname "$0")/lib.sh"
wt_init wt_dialects
wt_cert
wt_server_start --log-level info
T=$WT_TMP

for d in 02 07 14 16; do
  fc=0
  if [ "$d" = 14 ] || [ "$d" = 16 ]; then fc=1; fi
  wt_client "$T/d$d.json" "$WT_URL/echo?push=1" --wt-draft "$d" --expect-push --echo "hello-$d" \
    --uni 65536 --datagrams 50 --timeout 20000
  wt_expect_rc "draft $d: echo, uni echo, push, datagrams" 0 "$WT_RC"
  wt_jcheck "draft $d: all verified, some datagrams back, flow control $fc" "$T/d$d.json" \
    "s0['status'] == 200 and ops['echo']['verified'] and ops['uni']['verified'] and ops['push_bidi']['verified'] and ops['push_uni']['verified'] and s0['datagrams']['received'] > 0 and s0['datagrams']['bad'] == 0 and d['engine']['flow_control']['sessions'] == $fc"
done

# --- several sessions on one connection: draft-02 without flow control,
# draft-16 with it (without it a draft-16 client gets one; unit.engine_dialect)
for d in 02 16; do
  wt_client "$T/s$d.json" "$WT_URL/echo" --wt-draft "$d" --sessions 3 --echo hi --timeout 20000
  wt_expect_rc "draft $d: 3 sessions on one connection" 0 "$WT_RC"
  wt_jcheck "draft $d: 3 sessions verified" "$T/s$d.json" \
    "len(sess) == 3 and all(s['status'] == 200 and s['verified'] for s in sess)"
done

# --- tiny windows: the server's /source stream and the pushed streams wait
# for credit, the client is never overrun and sees WT_DATA_BLOCKED
wt_client "$T/tiny.json" "$WT_URL/echo?push=1" --wt-draft 16 --wt-max-data 1024 \
  --wt-max-streams-bidi 2 --wt-max-streams-uni 2 --expect-push --uni 262144 --timeout 60000
wt_expect_rc "draft 16, 1 KiB / 2 streams: 256 KiB uni echo + push" 0 "$WT_RC"
wt_jcheck "tiny windows: verified, BLOCKED capsules seen, no flow-control error" "$T/tiny.json" \
  "ops['uni']['verified'] and ops['push_uni']['verified'] and d['engine']['flow_control']['blocked_recv'] > 0 and d['engine']['flow_control']['updates_sent'] > 0 and d['engine']['flow_control']['errors'] == 0"
wt_log "    tiny windows: uni echo $(wt_jget "$T/tiny.json" connections.0.sessions.0.ops.uni.duration_ms) ms, BLOCKED capsules $(wt_jget "$T/tiny.json" engine.flow_control.blocked_recv), MAX_* sent $(wt_jget "$T/tiny.json" engine.flow_control.updates_sent)"

wt_server_stop
wt_expect_rc "server exit" 0 "$WT_SERVER_RC"

# --- a client overrunning small server limits; a draft16-only server
wt_server_start --log-level info --wt-profile draft16 --wt-max-data 1024 --wt-max-streams-uni 1
wt_client "$T/over.json" "$WT_URL/echo" --wt-draft 16 --inject fc-overrun --timeout 20000
wt_expect_rc "fc-overrun: session reset as expected" 0 "$WT_RC"
wt_jcheck "fc-overrun: CONNECT stream reset with WT_FLOW_CONTROL_ERROR" "$T/over.json" \
  "s0['inject']['session_reset_code'] == 0x045d4487"
wt_client "$T/p16.json" "$WT_URL/echo" --wt-draft 16 --echo hello --datagrams 10 --timeout 20000
wt_expect_rc "profile draft16 x draft-16 client" 0 "$WT_RC"
wt_jcheck "profile draft16: echo verified with flow control" "$T/p16.json" \
  "ops['echo']['verified'] and d['engine']['flow_control']['sessions'] == 1"
wt_server_stop
wt_expect_rc "server exit" 0 "$WT_SERVER_RC"
wt_done
