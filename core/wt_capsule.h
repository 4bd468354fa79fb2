/* wt_capsule.h: the HTTP Capsule Protocol (RFC 9297 section 3.2) as used by
 * WebTransport on the CONNECT stream (draft-ietf-webtrans-http3-16).
 *
 * Capsules travel as the payload of HTTP/3 DATA frames on the CONNECT stream;
 * this layer sees the concatenated DATA payload bytes (nghttp3's recv_data)
 * and nothing else. Format:
 *   Capsule { Type (i), Length (i), Value (..) }
 *
 * The parser is a streaming state machine with a fixed buffer: no
 * allocation, any split of the input gives the same capsules. It returns only
 * capsules of a type it knows (WT_CLOSE_SESSION, WT_DRAIN_SESSION, and the
 * flow-control capsules once enabled); every other type, including the
 * reserved GREASE types 0x29 * N + 0x17 (RFC 9297 section 5.4), is skipped
 * without buffering its value, however long (RFC 9297 section 3.2: unknown
 * capsule types are silently dropped). */
#ifndef WT_CAPSULE_H
#define WT_CAPSULE_H

#include <stddef.h>
#include <stdint.h>

#include "wt_varint.h"

/* Capsule types (draft-ietf-webtrans-http3-16 sections 4.7, 5.6 and 6). */
#define WT_CAPSULE_CLOSE_SESSION        UINT64_C(0x2843)
#define WT_CAPSULE_DRAIN_SESSION        UINT64_C(0x78ae)
#define WT_CAPSULE_MAX_DATA             UINT64_C(0x190b4d3d)
#define WT_CAPSULE_MAX_STREAMS_BIDI     UINT64_C(0x190b4d3f)
#define WT_CAPSULE_MAX_STREAMS_UNI      UINT64_C(0x190b4d40)
#define WT_CAPSULE_DATA_BLOCKED         UINT64_C(0x190b4d41)
#define WT_CAPSULE_STREAMS_BLOCKED_BIDI UINT64_C(0x190b4d43)
#define WT_CAPSULE_STREAMS_BLOCKED_UNI  UINT64_C(0x190b4d44)

/* Longest WT_CLOSE_SESSION message in bytes (draft-ietf-webtrans-http3-16
 * section 6). */
#define WT_CLOSE_REASON_MAX 1024
/* Longest value the parser ever buffers: a CLOSE capsule (4 + 1024). */
#define WT_CAPSULE_VALUE_MAX (4 + WT_CLOSE_REASON_MAX)
/* Size of the parser's buffer (the longest known value plus slack). */
#define WT_CAPSULE_BUF_MAX (WT_CAPSULE_VALUE_MAX + 16)
/* Bytes wt_capsule_close_encode() needs at most: 2 (type) + 2 (length) +
 * 4 + 1024. */
#define WT_CAPSULE_CLOSE_ENCODED_MAX (4 + WT_CAPSULE_VALUE_MAX)

/* One parsed capsule. value points into the parser's buffer or into the
 * data passed to the feed call that returned it; it stays valid until the
 * next call on the parser (and, in the second case, as long as that data). */
typedef struct wt_capsule {
  uint64_t type;
  const uint8_t *value; /* never NULL, even when len == 0 */
  size_t len;
} wt_capsule;

/* Streaming parser state. Embed it (e.g. in the session) and initialize it
 * with wt_capsule_parser_init(); nothing to free. Fields are read-only for
 * callers; skipped and skipped_bytes are statistics. */
typedef struct wt_capsule_parser {
  int state;              /* internal */
  int err;                /* sticky error (0 if none) */
  int flow_control;       /* 1: the WT flow-control capsules are known types */
  wt_varint_acc vacc;     /* a varint split across calls */
  uint64_t type;          /* type of the capsule in progress */
  uint64_t len;           /* its length */
  uint64_t remaining;     /* value bytes still to buffer or skip */
  size_t have;            /* value bytes buffered in buf */
  uint64_t skipped;       /* unknown capsules skipped (counted when fully skipped) */
  uint64_t skipped_bytes; /* value bytes of unknown capsules skipped */
  uint8_t buf[WT_CAPSULE_BUF_MAX];
} wt_capsule_parser;

/* Reset p to expect the start of a capsule; flow-control capsules are
 * unknown (skipped) until wt_capsule_parser_set_flow_control(p, 1). */
void wt_capsule_parser_init(wt_capsule_parser *p);

/* Treat the WT flow-control capsules (WT_MAX_DATA, WT_MAX_STREAMS,
 * WT_DATA_BLOCKED, WT_STREAMS_BLOCKED) as known (on != 0) or skip them
 * (on == 0, the default: flow control not negotiated,
 * draft-ietf-webtrans-http3-16 section 5.1). Known flow-control capsules are
 * returned by feed with a value of at most 8 bytes; decode them with
 * wt_capsule_fc_decode(). Takes effect from the next capsule header. */
void wt_capsule_parser_set_flow_control(wt_capsule_parser *p, int on);

/* Parse data[0..len). Returns:
 *   1  a complete capsule of a known type is in *out; *consumed is the number
 *      of bytes of data up to the end of that capsule (<= len). Call again
 *      with data + *consumed, len - *consumed; keep calling while it
 *      returns 1.
 *   0  all of data was consumed (*consumed == len); more is needed. Unknown
 *      capsules completed in this call were skipped and counted.
 *   WT_ERR_MALFORMED  a known capsule's length exceeds what that type can
 *      hold (CLOSE: 4 + 1024, DRAIN: 0, flow control: 8). The stream must be
 *      reset with H3_MESSAGE_ERROR (RFC 9297 section 3.3). *consumed is set
 *      to the bytes examined; the error is sticky (later calls return it).
 * *out is written only when 1 is returned. data may be NULL if len == 0. */
int wt_capsule_parser_feed(wt_capsule_parser *p, const uint8_t *data, size_t len, size_t *consumed,
                           wt_capsule *out);

/* 1 if the parser sits at a capsule boundary (no partial capsule pending),
 * else 0. When the CONNECT stream ends (FIN) while this is 0, the stream
 * ended mid-capsule: RFC 9297 section 3.3 makes that malformed. */
int wt_capsule_parser_at_boundary(const wt_capsule_parser *p);

/* Decode a WT_CLOSE_SESSION capsule (draft-ietf-webtrans-http3-16 section 6):
 * sets *code (the 32-bit application error code, network byte order on the
 * wire) and *reason / *reason_len (pointing into c->value, same lifetime).
 * Returns 0, WT_ERR_INVAL if c->type is not WT_CAPSULE_CLOSE_SESSION, or
 * WT_ERR_MALFORMED if c->len < 4, the message exceeds WT_CLOSE_REASON_MAX
 * bytes, or it is not valid UTF-8 (the CONNECT stream must then be reset
 * with H3_MESSAGE_ERROR). Outputs are untouched on error. */
int wt_capsule_close_decode(const wt_capsule *c, uint32_t *code, const uint8_t **reason,
                            size_t *reason_len);

/* Decode the single varint value of a flow-control capsule into *value.
 * Returns 0, or WT_ERR_MALFORMED if the value is not exactly one varint. */
int wt_capsule_fc_decode(const wt_capsule *c, uint64_t *value);

/* Encode a WT_CLOSE_SESSION capsule with application error code and message
 * reason[0..reason_len) (reason may be NULL if reason_len == 0) into buf
 * (capacity cap; WT_CAPSULE_CLOSE_ENCODED_MAX always suffices). Returns the
 * bytes written; WT_ERR_RANGE if reason_len > WT_CLOSE_REASON_MAX or the
 * message is not valid UTF-8; WT_ERR_NOBUF if cap is too small. Nothing is
 * written on error. The caller sends FIN right after it (section 6). */
int wt_capsule_close_encode(uint8_t *buf, size_t cap, uint32_t code, const uint8_t *reason,
                            size_t reason_len);

/* Encode an (empty) WT_DRAIN_SESSION capsule (section 4.7). Returns the bytes
 * written (5) or WT_ERR_NOBUF. */
int wt_capsule_drain_encode(uint8_t *buf, size_t cap);

/* Most bytes wt_capsule_fc_encode() writes: type (4) + length (1) + value (8). */
#define WT_CAPSULE_FC_ENCODED_MAX 13

/* Encode a flow-control capsule (WT_MAX_DATA, WT_MAX_STREAMS_BIDI/UNI,
 * WT_DATA_BLOCKED, WT_STREAMS_BLOCKED_BIDI/UNI; draft-ietf-webtrans-http3-16
 * section 5.6) carrying value. Returns the bytes written; WT_ERR_INVAL if
 * type is not one of those, WT_ERR_RANGE if value exceeds 2^62 - 1,
 * WT_ERR_NOBUF if cap is too small. */
int wt_capsule_fc_encode(uint8_t *buf, size_t cap, uint64_t type, uint64_t value);

/* Encode just a capsule header (Type, Length) for a value of len bytes the
 * caller sends separately. Returns the bytes written (2..16), WT_ERR_RANGE if
 * type or len exceeds 2^62 - 1, WT_ERR_NOBUF if cap is too small. */
int wt_capsule_encode_header(uint8_t *buf, size_t cap, uint64_t type, uint64_t len);

/* Encode a whole capsule of any type: header then val[0..len) (val may be
 * NULL if len == 0). Returns the bytes written; WT_ERR_RANGE if type exceeds
 * 2^62 - 1 or the result would exceed INT_MAX bytes; WT_ERR_NOBUF if cap is
 * too small. Nothing is written on error. */
int wt_capsule_encode(uint8_t *buf, size_t cap, uint64_t type, const uint8_t *val, size_t len);

#endif
