/* fuzz_stream_hdr.c: the WebTransport stream prefix (core/wt_stream_hdr.h).
 *
 * Input: byte 0 bit 0 = bidirectional, bytes 1..8 seed the split points, the
 * rest is the stream. The stream is fed in one call and in pieces; each run
 * reassembles what the caller would pass on (to nghttp3 for an HTTP/3
 * stream, to the application for a WebTransport stream) following the byte
 * accounting of the header, and the oracles are:
 *  - no byte lost or duplicated: HTTP/3 gets exactly the whole stream, the
 *    application exactly stream[hdr_len..], before a decision the parser
 *    holds exactly the bytes fed so far;
 *  - the decision, first varint, Session ID and header length do not depend
 *    on the split; the Session ID is a multiple of 4;
 *  - after a decision or an error the parser answers WT_ERR_STATE. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "wt_error.h"
#include "wt_stream_hdr.h"
#include "wt_varint.h"

typedef struct result {
  int rv; /* last return value */
  uint64_t type, session_id;
  size_t hdr_len;
  uint8_t *out; /* bytes handed on (H3: the stream; WT: the payload) */
  size_t nout;
} result;

static void emit(result *res, const uint8_t *p, size_t n) {
  if (n) {
    memcpy(res->out + res->nout, p, n);
    res->nout += n;
  }
}

static void run(result *res, int bidi, const uint8_t *data, size_t len, fuzz_split *r) {
  wt_stream_hdr h;
  wt_stream_hdr_init(&h, bidi);
  res->rv = WT_STREAM_HDR_NEED_MORE;
  res->nout = 0;
  size_t off = 0, fed = 0; /* fed: bytes given in NEED_MORE calls */
  int decided = 0;
  while (off < len || (r == NULL && off == 0)) {
    size_t chunk = r ? fuzz_split_len(r, len - off) : len;
    const uint8_t *d = data + off;
    size_t used = 12345;
    int was_decided = decided;
    int rv =
        decided ? WT_STREAM_HDR_NEED_MORE : wt_stream_hdr_feed(&h, chunk ? d : NULL, chunk, &used);
    if (decided) {
      /* Past the header every byte goes straight on. */
      emit(res, d, chunk);
    } else if (rv == WT_STREAM_HDR_NEED_MORE) {
      FUZZ_CHECK(used == chunk);
      fed += chunk;
      size_t nb;
      const uint8_t *b = wt_stream_hdr_buffered(&h, &nb);
      FUZZ_CHECK(nb == fed && memcmp(b, data, fed) == 0);
    } else if (rv == WT_STREAM_HDR_H3) {
      FUZZ_CHECK(used == 0);
      size_t nb;
      const uint8_t *b = wt_stream_hdr_buffered(&h, &nb);
      FUZZ_CHECK(nb == fed);
      emit(res, b, nb);
      emit(res, d, chunk);
      decided = 1;
    } else if (rv == WT_STREAM_HDR_WT) {
      FUZZ_CHECK(used <= chunk);
      size_t nb;
      (void)wt_stream_hdr_buffered(&h, &nb);
      FUZZ_CHECK(nb == 0);
      FUZZ_CHECK(h.hdr_len == fed + used);
      FUZZ_CHECK(h.session_id % 4 == 0);
      emit(res, d + used, chunk - used);
      decided = 1;
    } else {
      FUZZ_CHECK(rv == WT_ERR_MALFORMED);
      FUZZ_CHECK(used == 0);
    }
    if (!was_decided) {
      res->rv = rv;
    }
    if (decided || rv < 0) {
      size_t u2;
      FUZZ_CHECK(wt_stream_hdr_feed(&h, data, len, &u2) == WT_ERR_STATE);
    }
    off += chunk;
    if (rv < 0 || r == NULL) {
      break;
    }
  }
  res->type = decided ? wt_stream_hdr_type(&h) : 0;
  res->session_id = res->rv == WT_STREAM_HDR_WT ? h.session_id : 0;
  res->hdr_len = res->rv == WT_STREAM_HDR_WT ? h.hdr_len : 0;
  if (res->rv == WT_STREAM_HDR_NEED_MORE) {
    size_t nb;
    const uint8_t *b = wt_stream_hdr_buffered(&h, &nb);
    FUZZ_CHECK(nb == len && (len == 0 || memcmp(b, data, len) == 0));
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) {
    return 0;
  }
  int bidi = data[0] & 1;
  size_t seedlen = size - 1 < 8 ? size - 1 : 8;
  fuzz_split r;
  fuzz_split_init(&r, data + 1, seedlen);
  const uint8_t *s = data + 1 + seedlen;
  size_t n = size - 1 - seedlen;

  result whole, split;
  whole.out = malloc(n + 1);
  split.out = malloc(n + 1);
  FUZZ_CHECK(whole.out && split.out);
  run(&whole, bidi, s, n, NULL);
  run(&split, bidi, s, n, &r);

  FUZZ_CHECK(whole.rv == split.rv);
  FUZZ_CHECK(whole.type == split.type);
  FUZZ_CHECK(whole.session_id == split.session_id);
  FUZZ_CHECK(whole.hdr_len == split.hdr_len);
  const result *rs[2] = {&whole, &split};
  for (int i = 0; i < 2; i++) {
    const result *x = rs[i];
    if (x->rv == WT_STREAM_HDR_H3) {
      /* Everything goes to nghttp3, from byte 0. */
      FUZZ_CHECK(x->nout == n && memcmp(x->out, s, n) == 0);
      FUZZ_CHECK(x->type != (bidi ? WT_STREAM_SIGNAL_BIDI : WT_STREAM_TYPE_UNI));
    } else if (x->rv == WT_STREAM_HDR_WT) {
      FUZZ_CHECK(x->hdr_len <= n && x->hdr_len <= WT_STREAM_HDR_MAX);
      FUZZ_CHECK(x->nout == n - x->hdr_len && memcmp(x->out, s + x->hdr_len, x->nout) == 0);
      /* The header is exactly the two varints. */
      uint64_t t, sid;
      int a = wt_varint_decode(s, n, &t);
      FUZZ_CHECK(a > 0);
      int b = wt_varint_decode(s + a, n - (size_t)a, &sid);
      FUZZ_CHECK(b > 0 && (size_t)(a + b) == x->hdr_len && sid == x->session_id);
      FUZZ_CHECK(t == x->type);
    } else if (x->rv == WT_STREAM_HDR_NEED_MORE) {
      FUZZ_CHECK(x->nout == 0);
    }
  }
  free(whole.out);
  free(split.out);
  return 0;
}
