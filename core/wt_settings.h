/* wt_settings.h: HTTP/3 SETTINGS for WebTransport (RFC 9114 section 7.2.4,
 * docs/protocol.md section 2 and 6.2).
 *
 * nghttp3 cannot write unknown SETTINGS, so the engine takes over the bytes
 * nghttp3 writes on its control stream and runs them through a
 * wt_ctrl_rewriter, which appends the WebTransport settings to the first
 * SETTINGS frame. The peer's control stream is observed (read-only, in
 * parallel with nghttp3) by a wt_ctrl_reader, which records the peer's
 * SETTINGS. Both are sans-I/O with fixed-size state; no allocation. */
#ifndef WT_SETTINGS_H
#define WT_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "wt_varint.h"

/* Setting identifiers. */
#define WT_SETTING_QPACK_MAX_TABLE_CAPACITY  UINT64_C(0x01)       /* RFC 9204 section 5 */
#define WT_SETTING_MAX_FIELD_SECTION_SIZE    UINT64_C(0x06)       /* RFC 9114 section 7.2.4.1 */
#define WT_SETTING_QPACK_BLOCKED_STREAMS     UINT64_C(0x07)       /* RFC 9204 section 5 */
#define WT_SETTING_ENABLE_CONNECT_PROTOCOL   UINT64_C(0x08)       /* RFC 9220 section 3 */
#define WT_SETTING_H3_DATAGRAM               UINT64_C(0x33)       /* RFC 9297 section 2.1.1 */
#define WT_SETTING_H3_DATAGRAM_OLD           UINT64_C(0xffd277)   /* pre-RFC 9297 drafts */
#define WT_SETTING_ENABLE_WEBTRANSPORT       UINT64_C(0x2b603742) /* draft-02 */
#define WT_SETTING_WEBTRANSPORT_MAX_SESSIONS UINT64_C(0xc671706a) /* drafts 07..12 */
/* Drafts 13..16 (docs/protocol.md section 2). */
#define WT_SETTING_WT_ENABLED                  UINT64_C(0x2c7cf000) /* drafts 15, 16 */
#define WT_SETTING_WT_MAX_SESSIONS             UINT64_C(0x14e9cd29) /* drafts 13, 14 */
#define WT_SETTING_WT_INITIAL_MAX_DATA         UINT64_C(0x2b61)     /* drafts 12+ */
#define WT_SETTING_WT_INITIAL_MAX_STREAMS_UNI  UINT64_C(0x2b64)
#define WT_SETTING_WT_INITIAL_MAX_STREAMS_BIDI UINT64_C(0x2b65)

/* HTTP/3 frame and stream types used here (RFC 9114 sections 6.2.1, 7.2). */
#define WT_H3_STREAM_CONTROL UINT64_C(0x00)
#define WT_H3_FRAME_SETTINGS UINT64_C(0x04)
#define WT_H3_FRAME_GOAWAY   UINT64_C(0x07)

typedef struct {
  uint64_t id, value;
} wt_setting;

/* 1 if id is a reserved GREASE setting identifier 0x1f * N + 0x21
 * (RFC 9114 section 7.2.4.1), else 0. */
int wt_setting_is_grease(uint64_t id);

/* SETTINGS profiles (wt_engine_config.wt_profile; docs/protocol.md
 * section 2): which WebTransport settings an endpoint sends. A server's
 * "compat" sends every dialect's settings at once; a draft profile only that
 * dialect's. A client speaks one dialect (compat: all settings, :protocol
 * webtransport). Values are those of WT_PROFILE_* in wt_engine.h. */
typedef struct wt_settings_params {
  int profile;               /* WT_PROFILE_* */
  uint64_t max_sessions;     /* 0xc671706a / 0x14e9cd29 (0 is raised to 1) */
  uint64_t initial_max_data; /* 0x2b61 (0: flow control not offered) */
  uint64_t initial_max_streams_bidi, initial_max_streams_uni; /* 0x2b65 / 0x2b64 */
} wt_settings_params;

/* Most settings wt_settings_profile() produces. */
#define WT_SETTINGS_PROFILE_MAX 8

/* The WebTransport settings of profile p->profile, on top of what nghttp3
 * writes itself (0x08 on a server, 0x33): 0xffd277 = 1 (all but draft14/16),
 * 0x2b603742 = 1 (compat, draft02), 0xc671706a = max_sessions (compat,
 * draft07), 0x14e9cd29 = max_sessions (compat, draft14), 0x2c7cf000 = 1
 * (compat, draft16), and the three WT_INITIAL_* (compat, draft14, draft16;
 * left out when all three are 0). Values above 2^62 - 1 are sent as
 * 2^62 - 1. Writes at most cap entries into out, in that order; returns
 * the number written. An unknown profile gives compat. */
size_t wt_settings_profile(const wt_settings_params *p, wt_setting *out, size_t cap);

/* 1 if profile sends the WT_INITIAL_* settings (flow control offered). */
int wt_settings_profile_offers_fc(int profile);

/* ------------------------------------------------------------------ dialect */

/* The dialect a peer spoke (WT_DIALECT_*): the newest enable setting in its
 * SETTINGS, else (no WebTransport setting at all: Chromium's CONNECT may be
 * all a client sends) the :protocol token. */
enum {
  WT_DIALECT_NONE = 0, /* not known yet */
  WT_DIALECT_02 = 2,   /* 0x2b603742 */
  WT_DIALECT_07 = 7,   /* 0xc671706a (drafts 07..12) */
  WT_DIALECT_14 = 14,  /* 0x14e9cd29 (drafts 13, 14) */
  WT_DIALECT_16 = 16,  /* 0x2c7cf000 = 1 (drafts 15, 16) or :protocol webtransport-h3 */
};

struct wt_ctrl_reader;
/* Dialect from the peer's SETTINGS (rd, complete; may be NULL) and the
 * request's :protocol (may be NULL). :protocol webtransport-h3 always means
 * draft 15+ (draft-ietf-webtrans-http3-16 section 3.2). */
int wt_dialect_detect(const struct wt_ctrl_reader *rd, const char *protocol);

/* 1 if the peer's SETTINGS (rd, complete) switch session flow control on
 * with us: some WT_INITIAL_* of the peer is non-zero, and we offered it
 * (we_offer). Docs/protocol.md section 7. */
int wt_settings_fc_negotiated(const struct wt_ctrl_reader *rd, int we_offer);

/* Check the WebTransport settings of a complete peer SETTINGS frame:
 * returns 0, or the HTTP/3 error to close the connection with
 * (H3_SETTINGS_ERROR: 0x2c7cf000 greater than 1, draft-16 section 9.2). */
uint64_t wt_settings_check_peer(const struct wt_ctrl_reader *rd);

/* ------------------------------------------------------------------ rewriter */

/* Largest stream prefix (stream type + SETTINGS frame header + payload) the
 * rewriter buffers. */
#define WT_CTRL_SETTINGS_MAX 1024
/* Most extra settings a rewriter holds. */
#define WT_CTRL_EXTRA_MAX 16
/* Output the completing call can add on top of its input: a longer length
 * varint (up to 7 more bytes) and the extra settings (16 bytes each). */
#define WT_CTRL_REWRITE_GROWTH (7 + WT_CTRL_EXTRA_MAX * 16)

/* Rewrites our control stream on its way from nghttp3 to QUIC. Embed it;
 * initialize with wt_ctrl_rewriter_init(); nothing to free. */
typedef struct wt_ctrl_rewriter {
  wt_setting extra[WT_CTRL_EXTRA_MAX];
  size_t n_extra;
  int state; /* internal; negative: sticky error */
  size_t nbuf;
  uint8_t buf[WT_CTRL_SETTINGS_MAX];
} wt_ctrl_rewriter;

/* Prepare r to append extra[0..n_extra) to the first SETTINGS frame. Copies
 * the settings (extra need not outlive the call); keeps at most
 * WT_CTRL_EXTRA_MAX; drops entries whose id or value exceeds 2^62 - 1 and
 * entries whose id repeats an earlier entry (first one wins). */
void wt_ctrl_rewriter_init(wt_ctrl_rewriter *r, const wt_setting *extra, size_t n_extra);

/* Feed the next bytes in[0..inlen) of the control stream as nghttp3 wrote
 * them: stream type 0x00, a SETTINGS frame (type 0x04, varint length,
 * payload), then any frames. Output goes to out[0..outcap), starting at
 * out[0]; *outlen is set to the bytes written.
 *
 * Until the first SETTINGS frame is complete, its bytes are buffered and
 * nothing is written. The call that completes it writes the stream type and
 * frame type bytes unchanged, a re-encoded (minimal) length, the original
 * payload, then every extra setting whose id the payload does not already
 * contain, then the rest of in unchanged. Afterwards in is copied through.
 *
 * Returns 0 when all of in was consumed (always all, on success).
 * Errors (the call consumed nothing and changed no state unless noted):
 *   WT_ERR_NOBUF      outcap is too small for this call's output; *outlen is
 *                     set to the capacity needed. Retry with the same in and
 *                     a larger out (inlen + WT_CTRL_SETTINGS_MAX +
 *                     WT_CTRL_REWRITE_GROWTH always suffices, since the
 *                     completing call also writes the bytes buffered by
 *                     earlier calls).
 *   WT_ERR_MALFORMED  the stream type is not 0x00, the first frame is not
 *                     SETTINGS (RFC 9114 section 6.2.1), or its payload is not
 *                     a whole number of id/value varint pairs (section 7.1).
 *                     Sticky.
 *   WT_ERR_LIMIT      the prefix up to the end of the SETTINGS frame exceeds
 *                     WT_CTRL_SETTINGS_MAX bytes. Sticky.
 * in may be NULL if inlen == 0. */
int wt_ctrl_rewriter_feed(wt_ctrl_rewriter *r, const uint8_t *in, size_t inlen, uint8_t *out,
                          size_t outcap, size_t *outlen);

/* 1 once the SETTINGS frame has been rewritten (bytes now pass through). */
int wt_ctrl_rewriter_done(const wt_ctrl_rewriter *r);

/* ------------------------------------------------------------------- reader */

/* Default and hard limits of the reader. */
#define WT_CTRL_READER_DEFAULT_MAX 4096
#define WT_CTRL_READER_SETTINGS    32

/* Observes a copy of the peer's control stream (the bytes also go to
 * nghttp3) and records the settings of its first SETTINGS frame. Parses
 * incrementally (wt_varint_acc); any split of the input gives the same
 * result. Stores up to WT_CTRL_READER_SETTINGS non-GREASE settings; further
 * ones are counted in n_dropped (duplicates are detected among stored ones
 * only). GREASE ids are counted in n_grease and otherwise ignored
 * (RFC 9114 section 7.2.4.1). Embed it; init with wt_ctrl_reader_init(). */
typedef struct wt_ctrl_reader {
  int state;          /* internal */
  int err;            /* sticky error, 0 if none */
  uint64_t h3_error;  /* HTTP/3 code for err (see wt_ctrl_reader_h3_error) */
  size_t max_len;     /* largest accepted SETTINGS payload */
  uint64_t remaining; /* payload bytes left in the SETTINGS frame */
  uint64_t cur_id;    /* id of the setting whose value is being read */
  wt_varint_acc acc;  /* a varint split across calls */
  size_t n;           /* settings stored */
  size_t n_dropped;   /* settings beyond WT_CTRL_READER_SETTINGS */
  size_t n_grease;    /* GREASE settings seen */
  wt_setting settings[WT_CTRL_READER_SETTINGS];
} wt_ctrl_reader;

/* Prepare r; max_settings_len is the largest SETTINGS payload accepted
 * (0 means WT_CTRL_READER_DEFAULT_MAX). */
void wt_ctrl_reader_init(wt_ctrl_reader *r, size_t max_settings_len);

/* Observe the next bytes in[0..inlen) of the peer's control stream, from
 * stream offset 0 (the stream type). Returns:
 *   1  the SETTINGS frame is complete (in this or an earlier call; later
 *      bytes, e.g. further frames, are ignored and 1 is returned again);
 *   0  more bytes are needed;
 *   WT_ERR_MALFORMED  the stream type is not 0x00; the first frame is not
 *      SETTINGS (H3_MISSING_SETTINGS, RFC 9114 section 6.2.1); a setting id
 *      repeats (H3_SETTINGS_ERROR, section 7.2.4) or is a reserved HTTP/2
 *      id 0x02..0x05 (H3_SETTINGS_ERROR, section 7.2.4.1); or a varint
 *      overruns the frame (H3_FRAME_ERROR, section 7.1);
 *   WT_ERR_LIMIT  the SETTINGS payload is longer than max_settings_len
 *      (H3_EXCESSIVE_LOAD).
 * Errors are sticky. wt_ctrl_reader_h3_error() gives the HTTP/3 code. */
int wt_ctrl_reader_feed(wt_ctrl_reader *r, const uint8_t *in, size_t inlen);

/* 1 and *value set if the peer's SETTINGS contained id (among the stored
 * ones), else 0 (*value untouched). Meaningful once feed returned 1. */
int wt_ctrl_reader_get(const wt_ctrl_reader *r, uint64_t id, uint64_t *value);

/* The HTTP/3 error code (RFC 9114 section 8.1) matching the reader's error,
 * or WT_H3_NO_ERROR (0x100) if there is none. */
uint64_t wt_ctrl_reader_h3_error(const wt_ctrl_reader *r);

#endif
