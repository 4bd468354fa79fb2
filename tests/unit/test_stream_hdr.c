/* test_stream_hdr.c: WebTransport stream prefix demultiplexer. */
#include "check.h"
#include "wt_error.h"
#include "wt_stream_hdr.h"
#include "wt_varint.h"

#define PAYLOAD_LEN 23
static const uint8_t payload[PAYLOAD_LEN] = "payload bytes, exactly";

/* What the caller ends up with after feeding a stream in pieces. */
typedef struct {
  int decision; /* WT_STREAM_HDR_WT / _H3 / negative error / 0 undecided */
  uint64_t session_id, type;
  size_t hdr_len;
  uint8_t out[128]; /* WT: payload bytes; H3: bytes handed to nghttp3 */
  size_t nout;
  int protocol_bad; /* a contract violation was seen */
} outcome;

static void emit(outcome *o, const uint8_t *p, size_t n) {
  if (o->nout + n > sizeof(o->out)) {
    o->protocol_bad = 1;
    return;
  }
  memcpy(o->out + o->nout, p, n);
  o->nout += n;
}

/* Feed s[0..len) cut at cuts[0..ncuts) (increasing), acting like the engine:
 * before a decision everything goes to the parser; on WT the rest of the
 * chunk and later chunks are payload; on H3 the buffered bytes, then the
 * whole chunk and later chunks go to "nghttp3". */
static void run(int bidi, const uint8_t *s, size_t len, const size_t *cuts, size_t ncuts,
                outcome *o) {
  wt_stream_hdr h;
  wt_stream_hdr_init(&h, bidi);
  memset(o, 0, sizeof(*o));
  size_t start = 0;
  for (size_t i = 0; i <= ncuts; i++) {
    size_t end = i < ncuts ? cuts[i] : len;
    const uint8_t *d = s + start;
    size_t n = end - start;
    start = end;
    if (o->decision == WT_STREAM_HDR_WT || o->decision == WT_STREAM_HDR_H3) {
      emit(o, d, n);
      continue;
    }
    if (o->decision < 0) {
      break;
    }
    size_t used = 999;
    int rv = wt_stream_hdr_feed(&h, d, n, &used);
    if (rv == WT_STREAM_HDR_NEED_MORE) {
      if (used != n) {
        o->protocol_bad = 1;
      }
      continue;
    }
    o->decision = rv;
    if (rv == WT_STREAM_HDR_WT) {
      if (used > n) {
        o->protocol_bad = 1;
        continue;
      }
      size_t bl;
      wt_stream_hdr_buffered(&h, &bl);
      if (bl != 0) {
        o->protocol_bad = 1;
      }
      o->session_id = h.session_id;
      o->hdr_len = h.hdr_len;
      o->type = wt_stream_hdr_type(&h);
      emit(o, d + used, n - used);
    } else if (rv == WT_STREAM_HDR_H3) {
      if (used != 0) {
        o->protocol_bad = 1;
      }
      size_t bl;
      const uint8_t *b = wt_stream_hdr_buffered(&h, &bl);
      emit(o, b, bl);
      emit(o, d, n);
      o->type = wt_stream_hdr_type(&h);
    } else if (used != 0) {
      o->protocol_bad = 1;
    }
    /* Once decided, the parser refuses more input. */
    if (wt_stream_hdr_feed(&h, d, n, &used) != WT_ERR_STATE) {
      o->protocol_bad = 1;
    }
  }
}

/* Run s with every 1-cut and 2-cut split, and byte by byte; call check on
 * every outcome. */
typedef void (*check_fn)(const outcome *o, const void *arg);

static void all_splits(int bidi, const uint8_t *s, size_t len, check_fn check, const void *arg) {
  outcome o;
  run(bidi, s, len, NULL, 0, &o);
  check(&o, arg);
  for (size_t a = 0; a <= len; a++) {
    size_t cuts1[1] = {a};
    run(bidi, s, len, cuts1, 1, &o);
    check(&o, arg);
    for (size_t b = a; b <= len; b++) {
      size_t cuts2[2] = {a, b};
      run(bidi, s, len, cuts2, 2, &o);
      check(&o, arg);
    }
  }
  size_t cuts[128];
  for (size_t i = 0; i < len && i < 128; i++) {
    cuts[i] = i + 1;
  }
  run(bidi, s, len, cuts, len < 128 ? len : 128, &o);
  check(&o, arg);
}

typedef struct {
  uint64_t type, sid;
  size_t hdr_len;
} wt_expect;

static void check_wt(const outcome *o, const void *arg) {
  const wt_expect *e = arg;
  CHECK_EQ(o->protocol_bad, 0);
  CHECK_EQ(o->decision, WT_STREAM_HDR_WT);
  CHECK_EQ(o->session_id, e->sid);
  CHECK_EQ(o->type, e->type);
  CHECK_EQ(o->hdr_len, e->hdr_len);
  CHECK_EQ(o->nout, PAYLOAD_LEN);
  CHECK_MEM(o->out, payload, PAYLOAD_LEN);
}

static void test_wt_streams(void) {
  const uint64_t sids[] = {0, 4, 60, 64, 16380, 16384, UINT64_C(1) << 30, (UINT64_C(1) << 62) - 4};
  for (int bidi = 0; bidi < 2; bidi++) {
    for (size_t i = 0; i < sizeof(sids) / sizeof(sids[0]); i++) {
      uint8_t s[64];
      wt_expect e = {bidi ? WT_STREAM_SIGNAL_BIDI : WT_STREAM_TYPE_UNI, sids[i], 0};
      uint8_t *q = wt_varint_put(s, e.type);
      q = wt_varint_put(q, sids[i]);
      e.hdr_len = (size_t)(q - s);
      memcpy(q, payload, PAYLOAD_LEN);
      all_splits(bidi, s, e.hdr_len + PAYLOAD_LEN, check_wt, &e);
    }
  }
}

static void test_wt_non_minimal(void) {
  /* 0x41 as a 4-byte varint (minimal is 2) and session 8 as an 8-byte
   * varint: the longest header, 12 bytes. */
  uint8_t s[64] = {0x80, 0, 0, 0x41, 0xc0, 0, 0, 0, 0, 0, 0, 8};
  memcpy(s + 12, payload, PAYLOAD_LEN);
  wt_expect e = {WT_STREAM_SIGNAL_BIDI, 8, 12};
  all_splits(1, s, 12 + PAYLOAD_LEN, check_wt, &e);
  /* 16 bytes: both varints in 8 bytes. */
  uint8_t t[64] = {0xc0, 0, 0, 0, 0, 0, 0, 0x54, 0xc0, 0, 0, 0, 0, 0, 0, 0x0c};
  memcpy(t + 16, payload, PAYLOAD_LEN);
  wt_expect f = {WT_STREAM_TYPE_UNI, 12, 16};
  all_splits(0, t, 16 + PAYLOAD_LEN, check_wt, &f);
}

static void test_header_only(void) {
  /* A header with no payload yet (and FIN later). */
  uint8_t s[] = {0x40, 0x54, 0x44, 0x00}; /* uni, session 0x400 */
  wt_stream_hdr h;
  size_t used;
  wt_stream_hdr_init(&h, 0);
  CHECK_EQ(wt_stream_hdr_feed(&h, NULL, 0, &used), WT_STREAM_HDR_NEED_MORE);
  CHECK_EQ(wt_stream_hdr_feed(&h, s, 4, &used), WT_STREAM_HDR_WT);
  CHECK_EQ(used, 4);
  CHECK_EQ(h.session_id, 0x400);
}

typedef struct {
  const uint8_t *s;
  size_t len;
  uint64_t type;
} h3_expect;

static void check_h3(const outcome *o, const void *arg) {
  const h3_expect *e = arg;
  CHECK_EQ(o->protocol_bad, 0);
  CHECK_EQ(o->decision, WT_STREAM_HDR_H3);
  CHECK_EQ(o->type, e->type);
  /* Every byte reaches nghttp3 exactly once, in order. */
  CHECK_EQ(o->nout, e->len);
  CHECK_MEM(o->out, e->s, e->len);
}

static void h3_case(int bidi, const uint8_t *prefix, size_t plen, uint64_t type) {
  uint8_t s[64];
  memcpy(s, prefix, plen);
  memcpy(s + plen, payload, PAYLOAD_LEN);
  h3_expect e = {s, plen + PAYLOAD_LEN, type};
  all_splits(bidi, s, e.len, check_h3, &e);
}

static void test_h3_streams(void) {
  /* Bidi: HEADERS frame (type 0x01, length 0x10), DATA (0x00), an unknown
   * frame type 0x21 (reserved), the uni WT type 0x54 on a bidi stream. */
  h3_case(1, (const uint8_t[]){0x01, 0x10}, 2, 0x01);
  h3_case(1, (const uint8_t[]){0x00, 0x05}, 2, 0x00);
  h3_case(1, (const uint8_t[]){0x21, 0x00}, 2, 0x21);
  h3_case(1, (const uint8_t[]){0x40, 0x54}, 2, 0x54);
  /* Uni: control 0x00 + SETTINGS, push 0x01, QPACK 0x02 / 0x03, GREASE
   * stream types 0x21 and 0x1f * N + 0x21 as an 8-byte varint, the bidi
   * signal 0x41 on a uni stream. */
  h3_case(0, (const uint8_t[]){0x00, 0x04, 0x02, 0x01, 0x40}, 5, 0x00);
  h3_case(0, (const uint8_t[]){0x01}, 1, 0x01);
  h3_case(0, (const uint8_t[]){0x02}, 1, 0x02);
  h3_case(0, (const uint8_t[]){0x03}, 1, 0x03);
  h3_case(0, (const uint8_t[]){0x21}, 1, 0x21);
  uint8_t g[8];
  uint64_t gt = UINT64_C(0x1f) * UINT64_C(0x10000000000) + 0x21;
  wt_varint_put(g, gt);
  h3_case(0, g, 8, gt);
  h3_case(0, (const uint8_t[]){0x40, 0x41}, 2, 0x41);
}

typedef struct {
  int dummy;
} bad_expect;

static void check_bad(const outcome *o, const void *arg) {
  (void)arg;
  CHECK_EQ(o->protocol_bad, 0);
  CHECK_EQ(o->decision, WT_ERR_MALFORMED);
}

static void test_bad_session_id(void) {
  const uint64_t bad[] = {1, 2, 3, 5, 63, 16383, (UINT64_C(1) << 62) - 1};
  for (int bidi = 0; bidi < 2; bidi++) {
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
      uint8_t s[64];
      uint8_t *q = wt_varint_put(s, bidi ? WT_STREAM_SIGNAL_BIDI : WT_STREAM_TYPE_UNI);
      q = wt_varint_put(q, bad[i]);
      memcpy(q, payload, PAYLOAD_LEN);
      bad_expect e = {0};
      all_splits(bidi, s, (size_t)(q - s) + PAYLOAD_LEN, check_bad, &e);
    }
  }
  /* Sticky: feeding after the error reports a state error, buffered is empty. */
  wt_stream_hdr h;
  size_t used = 5, bl = 5;
  wt_stream_hdr_init(&h, 1);
  CHECK_EQ(wt_stream_hdr_feed(&h, (const uint8_t[]){0x40, 0x41, 0x01, 0xaa}, 4, &used),
           WT_ERR_MALFORMED);
  CHECK_EQ(used, 0);
  wt_stream_hdr_buffered(&h, &bl);
  CHECK_EQ(bl, 0);
  CHECK_EQ(wt_stream_hdr_feed(&h, (const uint8_t[]){0x00}, 1, &used), WT_ERR_STATE);
}

static void test_buffered_before_decision(void) {
  /* A stream that ends (FIN) before the header is complete: the bytes fed
   * so far are all in the buffer. */
  wt_stream_hdr h;
  size_t used, bl;
  wt_stream_hdr_init(&h, 1);
  CHECK_EQ(wt_stream_hdr_feed(&h, (const uint8_t[]){0x40, 0x41, 0x80}, 3, &used),
           WT_STREAM_HDR_NEED_MORE);
  CHECK_EQ(used, 3);
  const uint8_t *b = wt_stream_hdr_buffered(&h, &bl);
  CHECK_EQ(bl, 3);
  CHECK_EQ(b[1], 0x41);
  CHECK_EQ(b[2], 0x80);
  /* A lone first byte 0x40 (start of a 2-byte varint) decides nothing. */
  wt_stream_hdr_init(&h, 0);
  CHECK_EQ(wt_stream_hdr_feed(&h, (const uint8_t[]){0x40}, 1, &used), WT_STREAM_HDR_NEED_MORE);
  CHECK_EQ(used, 1);
  CHECK_EQ(wt_stream_hdr_feed(&h, (const uint8_t[]){0x54, 0x08}, 2, &used), WT_STREAM_HDR_WT);
  CHECK_EQ(used, 2);
  CHECK_EQ(h.session_id, 8);
  CHECK_EQ(h.hdr_len, 3);
}

int main(void) {
  WT_RUN(test_wt_streams);
  WT_RUN(test_wt_non_minimal);
  WT_RUN(test_header_only);
  WT_RUN(test_h3_streams);
  WT_RUN(test_bad_session_id);
  WT_RUN(test_buffered_before_decision);
  WT_DONE();
}
