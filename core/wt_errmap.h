/* wt_errmap.h: WebTransport error codes and the mapping between 32-bit
 * WebTransport application error codes and HTTP/3 error codes
 * (draft-ietf-webtrans-http3-16 section 4.4 and 9.5).
 *
 * A WebTransport application resets a stream (or stops sending) with a 32-bit
 * code n; on the wire it travels as the HTTP/3 code h in
 * [WT_APP_ERR_FIRST, WT_APP_ERR_LAST], skipping the reserved HTTP/3 GREASE
 * code points 0x1f * N + 0x21 (RFC 9114 section 8.1). Pure functions. */
#ifndef WT_ERRMAP_H
#define WT_ERRMAP_H

#include <stdint.h>

/* HTTP/3 error codes defined by WebTransport (draft-ietf-webtrans-http3-16
 * section 9.5). */
#define WT_BUFFERED_STREAM_REJECTED UINT64_C(0x3994bd84)
#define WT_SESSION_GONE             UINT64_C(0x170d7b68)
#define WT_FLOW_CONTROL_ERROR       UINT64_C(0x045d4487)

/* The HTTP/3 codes of WT application error 0 and 0xffffffff. */
#define WT_APP_ERR_FIRST UINT64_C(0x52e4a40fa8db)
#define WT_APP_ERR_LAST  UINT64_C(0x52e5ac983162)

/* The HTTP/3 code for WebTransport application error n:
 * WT_APP_ERR_FIRST + n + n / 0x1e. Total: every n maps into
 * [WT_APP_ERR_FIRST, WT_APP_ERR_LAST] and never onto a GREASE point. */
uint64_t wt_errmap_app_to_h3(uint32_t n);

/* The WebTransport application error for HTTP/3 code h. Returns 0 and sets
 * *n if WT_APP_ERR_FIRST <= h <= WT_APP_ERR_LAST and h is not a reserved
 * GREASE code point ((h - 0x21) % 0x1f == 0). Otherwise returns WT_ERR_RANGE
 * and leaves *n untouched: the reset carries "no application error code"
 * (draft-ietf-webtrans-http3-16 section 4.4), which is not a protocol error. */
int wt_errmap_h3_to_app(uint64_t h, uint32_t *n);

/* 1 if h is a reserved HTTP/3 GREASE error code 0x1f * N + 0x21
 * (RFC 9114 section 8.1), else 0. */
int wt_errmap_is_grease(uint64_t h);

#endif
