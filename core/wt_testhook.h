/* wt_testhook.h: fault injection for tests and wtcast-client (--inject).
 *
 * NOT for production paths. These functions let a client misbehave on
 * purpose, so the server's handling of malformed peer input can be tested
 * end to end (issue #3). The raw HTTP/3 codes the peer answers with are read
 * through the public API (wt_stream_peer_reset_code, wt_stream_peer_stop_code,
 * wt_session_reset_code in wt_engine.h).
 *
 * Every function checks its arguments and state and returns WT_ERR_INVAL /
 * WT_ERR_STATE / WT_ERR_RANGE instead of misbehaving itself: a wrong call
 * never corrupts the engine. Same threading rule as wt_engine.h (call on the
 * engine's thread). Built on engine internals (wt_conn.h). */
#ifndef WT_TESTHOOK_H
#define WT_TESTHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "wt_engine.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WT_TESTHOOK_PREFIX_MAX  64          /* bytes of a raw stream header */
#define WT_TESTHOOK_CAPSULE_MAX (64 * 1024) /* bytes of raw capsule data per call */

/* Open a WT stream on the open session s, like wt_session_open_stream, but
 * the stream starts with prefix[0..len) instead of the WT stream header
 * (signal 0x41 / type 0x54 + Session ID). Example: a bidi stream whose
 * prefix is varint 0x41 + varint (session ID + 1), which is not a
 * client-initiated bidi stream ID: the peer must abort it with H3_ID_ERROR.
 * Afterwards use the stream like any other (wt_stream_write, ...).
 * Returns 0 (*out set), WT_ERR_INVAL (NULL args, len 0 or >
 * WT_TESTHOOK_PREFIX_MAX), or what wt_session_open_stream returns. */
int wt_testhook_open_raw_stream(wt_session *s, int bidi, const uint8_t *prefix, size_t len,
                                wt_stream **out);

/* Queue bytes[0..len) as capsule data on the CONNECT stream of the open
 * session s (they travel inside HTTP/3 DATA frames, like real capsules; no
 * framing or validation is applied). Example: a CLOSE_WEBTRANSPORT_SESSION
 * capsule whose length is 2 (< 4): the peer must reset the CONNECT stream
 * with H3_MESSAGE_ERROR (RFC 9297 section 3.3) and end only that session.
 * Returns 0, WT_ERR_INVAL (NULL, len 0 or > WT_TESTHOOK_CAPSULE_MAX),
 * WT_ERR_STATE (session not open, or we already closed/FINed it),
 * WT_ERR_NOMEM. */
int wt_testhook_send_raw_capsule(wt_session *s, const uint8_t *bytes, size_t len);

/* Make the open session s ignore the peer's session flow-control limits
 * (draft-ietf-webtrans-http3-16 section 5): from now on it opens streams
 * and sends bytes as if the peer had granted 2^60 streams and 2^62 - 1
 * bytes. Example: the peer must reset the session's CONNECT stream with
 * WT_FLOW_CONTROL_ERROR (0x045d4487) once its limits are overrun.
 * Returns 0, WT_ERR_INVAL (NULL) or WT_ERR_STATE (not open, or flow control
 * is off for s). */
int wt_testhook_ignore_flow_control(wt_session *s);

/* Client: hold back (on = 1) or release (on = 0) our HTTP/3 control
 * stream, i.e. our SETTINGS, while requests go out: what a server that
 * must not process a CONNECT before the client's SETTINGS (draft-16
 * section 3.1) has to cope with. Returns 0, WT_ERR_INVAL (NULL) or
 * WT_ERR_STATE (not a client). */
int wt_testhook_hold_settings(wt_conn *c, int on);

#ifdef __cplusplus
}
#endif

#endif
