/* wt_testhook.h: fault injection for tests and wtcast-client (--inject).
 *
 * NOT for production paths. These functions let a client misbehave on
 * purpose, so the server's handling of malformed peer input can be tested
 * end to end (issue #3), and let it read back the raw HTTP/3 error codes the
 * peer answered with (the public API reports only codes inside the WT
 * application range, see wt_engine_callbacks.stream_reset).
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

/* Start recording the raw HTTP/3 codes that arrive on c's streams: the
 * code of each RESET_STREAM received, and the code ngtcp2 reports when a
 * stream closes with one (the first of RESET_STREAM / STOP_SENDING
 * received or our own abort). Call it once per connection, before the
 * codes arrive (e.g. right after wt_engine_connect).
 *
 * How: ngtcp2 1.x has no API for these codes and the engine keeps only the
 * WT application codes, so this interposes on the stream_reset and
 * stream_close callbacks inside the ngtcp2_conn (the codes are recorded, then
 * the engine's own callbacks run unchanged). The callback table is located
 * by matching the engine's known ngtcp2_crypto callbacks, within the
 * allocation's bounds; if it cannot be found for certain (another ngtcp2
 * version) nothing is changed and WT_ERR_STATE is returned: callers then
 * report "code unknown". Returns 0 (also when already watching). */
int wt_testhook_watch_codes(wt_conn *c);

enum {
  WT_TESTHOOK_CODE_RESET = 1, /* from a RESET_STREAM the peer sent */
  WT_TESTHOOK_CODE_CLOSE = 2, /* from the stream's close (peer STOP_SENDING, or our abort) */
};

/* The last raw HTTP/3 code recorded for stream_id on c (a CONNECT stream ID
 * is its session ID). A RESET_STREAM code is preferred over a close code.
 * Returns 0 with *code and *how (WT_TESTHOOK_CODE_*) set, or WT_ERR_STATE if
 * none was recorded (not watched, nothing arrived, or too old: the last
 * 64 codes per thread are kept). */
int wt_testhook_peer_code(const wt_conn *c, int64_t stream_id, uint64_t *code, int *how);

#ifdef __cplusplus
}
#endif

#endif
