/* fuzz_settings.c: the control-stream SETTINGS reader and rewriter
 * (core/wt_settings.h).
 *
 * Input: byte 0 = number of extra settings (mod 20), bytes 1..8 seed the
 * split points, 8 bytes per extra setting, then the control stream.
 * Oracles:
 *  - reader: one call and any split give the same result, settings,
 *    counters and HTTP/3 error; stored settings are unique, non-GREASE, and
 *    never the reserved HTTP/2 ids;
 *  - rewriter (fed in pieces, with NOBUF retries at the size it asks for):
 *    keeps the extras the header promises (valid, first of each id, at most
 *    WT_CTRL_EXTRA_MAX); once done, its output is the input with the
 *    SETTINGS payload extended by exactly the extras whose id was absent,
 *    each id then occurs exactly once more than zero times, the stream and
 *    frame type bytes and everything after the frame are unchanged, and the
 *    reader parses the output back with the extras' values whenever it
 *    accepted the input;
 *  - WebTransport view of an accepted SETTINGS frame (wt_dialect_detect,
 *    wt_settings_fc_negotiated, wt_settings_check_peer): a known dialect;
 *    :protocol webtransport-h3 always gives draft 16; flow control only
 *    when we offer it and a WT_INITIAL_* is non-zero; H3_SETTINGS_ERROR
 *    exactly when WT_ENABLED > 1 (draft-16 section 9.2);
 *  - the profiles (wt_settings_profile) with parameters from the input:
 *    at most WT_SETTINGS_PROFILE_MAX settings, unique ids, all varints,
 *    what the rewriter keeps. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "wt_error.h"
#include "wt_settings.h"
#include "wt_varint.h"

#define MAX_EXTRA_IN 19

static const uint64_t known_ids[] = {
    WT_SETTING_QPACK_MAX_TABLE_CAPACITY,
    WT_SETTING_MAX_FIELD_SECTION_SIZE,
    WT_SETTING_QPACK_BLOCKED_STREAMS,
    WT_SETTING_ENABLE_CONNECT_PROTOCOL,
    WT_SETTING_H3_DATAGRAM,
    WT_SETTING_H3_DATAGRAM_OLD,
    WT_SETTING_ENABLE_WEBTRANSPORT,
    WT_SETTING_WEBTRANSPORT_MAX_SESSIONS,
    WT_SETTING_WT_ENABLED,
    WT_SETTING_WT_MAX_SESSIONS,
    WT_SETTING_WT_INITIAL_MAX_DATA,
    WT_SETTING_WT_INITIAL_MAX_STREAMS_UNI,
    WT_SETTING_WT_INITIAL_MAX_STREAMS_BIDI,
    0x21 /* GREASE */,
    0x02 /* reserved HTTP/2 id */,
};
#define N_KNOWN (sizeof(known_ids) / sizeof(known_ids[0]))

static wt_setting make_extra(const uint8_t *b) {
  uint8_t sel = b[0];
  wt_setting s;
  s.id = (sel & 0x80) ? known_ids[sel % N_KNOWN] : fuzz_load_be(b + 1, 3);
  s.value = fuzz_load_be(b + 4, 4);
  if (sel & 0x40) {
    s.value <<= 30; /* up to 2^62 - 1, 8-byte varints */
  }
  if ((sel & 0x30) == 0x30) {
    s.value = UINT64_MAX; /* dropped: not a varint */
  } else if ((sel & 0x38) == 0x28) {
    s.id = WT_VARINT_MAX + 1; /* dropped */
  }
  return s;
}

/* ------------------------------------------------------------- reader */

static int feed_reader(wt_ctrl_reader *r, const uint8_t *p, size_t n, fuzz_split *sp) {
  wt_ctrl_reader_init(r, 0);
  if (sp == NULL) {
    return wt_ctrl_reader_feed(r, n ? p : NULL, n);
  }
  int rv = wt_ctrl_reader_feed(r, NULL, 0);
  size_t off = 0;
  while (off < n && rv >= 0) {
    size_t c = fuzz_split_len(sp, n - off);
    rv = wt_ctrl_reader_feed(r, p + off, c);
    off += c;
  }
  return rv;
}

static void check_wt_view(const wt_ctrl_reader *r) {
  int d1 = wt_dialect_detect(r, "webtransport");
  int d2 = wt_dialect_detect(r, "webtransport-h3");
  FUZZ_CHECK(d1 == WT_DIALECT_02 || d1 == WT_DIALECT_07 || d1 == WT_DIALECT_14 ||
             d1 == WT_DIALECT_16);
  FUZZ_CHECK(d2 == WT_DIALECT_16);
  uint64_t v = 0, any = 0;
  const uint64_t ids[3] = {WT_SETTING_WT_INITIAL_MAX_DATA, WT_SETTING_WT_INITIAL_MAX_STREAMS_UNI,
                           WT_SETTING_WT_INITIAL_MAX_STREAMS_BIDI};
  for (int i = 0; i < 3; i++) {
    any |= wt_ctrl_reader_get(r, ids[i], &v) && v != 0;
  }
  FUZZ_CHECK(wt_settings_fc_negotiated(r, 0) == 0);
  FUZZ_CHECK(wt_settings_fc_negotiated(r, 1) == (int)any);
  int bad = wt_ctrl_reader_get(r, WT_SETTING_WT_ENABLED, &v) && v > 1;
  FUZZ_CHECK(wt_settings_check_peer(r) == (bad ? WT_H3_SETTINGS_ERROR : 0));
}

static void check_profile(const uint8_t *b) {
  wt_settings_params sp = {
      .profile = b[0] % 7 - 1, /* -1 and 5: unknown, treated as compat */
      .max_sessions = fuzz_load_be(b + 1, 2),
      .initial_max_data = b[3] & 1 ? fuzz_load_be(b + 4, 4) << (b[3] >> 2 & 31) : 0,
      .initial_max_streams_bidi = b[3] & 2 ? b[5] : 0,
      .initial_max_streams_uni = b[3] & 2 ? b[6] : 0,
  };
  wt_setting s[WT_SETTINGS_PROFILE_MAX];
  size_t n = wt_settings_profile(&sp, s, WT_SETTINGS_PROFILE_MAX);
  FUZZ_CHECK(n >= 1 && n <= WT_SETTINGS_PROFILE_MAX);
  for (size_t i = 0; i < n; i++) {
    FUZZ_CHECK(s[i].id <= WT_VARINT_MAX && s[i].value <= WT_VARINT_MAX);
    for (size_t k = 0; k < i; k++) {
      FUZZ_CHECK(s[k].id != s[i].id);
    }
  }
  wt_ctrl_rewriter rw;
  wt_ctrl_rewriter_init(&rw, s, n);
  FUZZ_CHECK(rw.n_extra == n);
}

static void check_reader(const uint8_t *p, size_t n, fuzz_split *sp, int *whole_rv) {
  static wt_ctrl_reader a, b;
  int ra = feed_reader(&a, p, n, NULL);
  int rb = feed_reader(&b, p, n, sp);
  FUZZ_CHECK(ra == 0 || ra == 1 || ra == WT_ERR_MALFORMED || ra == WT_ERR_LIMIT);
  FUZZ_CHECK(ra == rb);
  FUZZ_CHECK(wt_ctrl_reader_h3_error(&a) == wt_ctrl_reader_h3_error(&b));
  FUZZ_CHECK((ra < 0) == (wt_ctrl_reader_h3_error(&a) != WT_H3_NO_ERROR));
  if (ra >= 0) {
    FUZZ_CHECK(a.n == b.n && a.n_dropped == b.n_dropped && a.n_grease == b.n_grease);
    FUZZ_CHECK(a.n <= WT_CTRL_READER_SETTINGS);
    FUZZ_CHECK(memcmp(a.settings, b.settings, a.n * sizeof(a.settings[0])) == 0);
    for (size_t i = 0; i < a.n; i++) {
      FUZZ_CHECK(!wt_setting_is_grease(a.settings[i].id));
      FUZZ_CHECK(a.settings[i].id < 0x02 || a.settings[i].id > 0x05);
      for (size_t k = 0; k < i; k++) {
        FUZZ_CHECK(a.settings[k].id != a.settings[i].id);
      }
      uint64_t v;
      FUZZ_CHECK(wt_ctrl_reader_get(&a, a.settings[i].id, &v) == 1 && v == a.settings[i].value);
    }
  }
  if (ra == 1) {
    check_wt_view(&a);
  }
  /* Errors are sticky. */
  if (ra < 0) {
    FUZZ_CHECK(wt_ctrl_reader_feed(&a, p, n) == ra);
  }
  *whole_rv = ra;
}

/* ------------------------------------------------------------- rewriter */

typedef struct frame {
  size_t type_bytes; /* stream type + frame type varints */
  size_t hdr;        /* ... + length varint */
  uint64_t flen;
} frame;

/* The stream type, frame type and length of a control stream prefix. */
static int parse_frame(const uint8_t *p, size_t n, frame *f) {
  uint64_t v;
  int a = wt_varint_decode(p, n, &v);
  if (a < 0) {
    return -1;
  }
  int b = wt_varint_decode(p + a, n - (size_t)a, &v);
  if (b < 0) {
    return -1;
  }
  int c = wt_varint_decode(p + a + b, n - (size_t)(a + b), &f->flen);
  if (c < 0) {
    return -1;
  }
  f->type_bytes = (size_t)(a + b);
  f->hdr = (size_t)(a + b + c);
  return 0;
}

/* Occurrences of id among the ids of a SETTINGS payload (-1: not whole
 * pairs); *value = the value of the last one. */
static int count_id(const uint8_t *p, size_t n, uint64_t id, uint64_t *value) {
  size_t off = 0;
  int count = 0;
  while (off < n) {
    uint64_t i, v;
    int a = wt_varint_decode(p + off, n - off, &i);
    if (a < 0) {
      return -1;
    }
    off += (size_t)a;
    int b = wt_varint_decode(p + off, n - off, &v);
    if (b < 0) {
      return -1;
    }
    off += (size_t)b;
    if (i == id) {
      count++;
      *value = v;
    }
  }
  return count;
}

static void check_output(const wt_ctrl_rewriter *rw, const uint8_t *in, size_t inlen,
                         const uint8_t *out, size_t outlen, int reader_rv) {
  frame fi, fo;
  FUZZ_CHECK(parse_frame(in, inlen, &fi) == 0 && fi.hdr + fi.flen <= inlen);
  FUZZ_CHECK(parse_frame(out, outlen, &fo) == 0 && fo.hdr + fo.flen <= outlen);
  FUZZ_CHECK(fo.type_bytes == fi.type_bytes && memcmp(out, in, fi.type_bytes) == 0);
  FUZZ_CHECK(fo.hdr - fo.type_bytes == wt_varint_len(fo.flen)); /* minimal length */
  const uint8_t *pi = in + fi.hdr, *po = out + fo.hdr;
  FUZZ_CHECK(fo.flen >= fi.flen && memcmp(po, pi, (size_t)fi.flen) == 0);
  /* The appended pairs: exactly the extras absent from the input, in order. */
  uint8_t want[WT_CTRL_EXTRA_MAX * 16], *q = want;
  int any_reserved = 0;
  for (size_t k = 0; k < rw->n_extra; k++) {
    uint64_t v = 0;
    int cin = count_id(pi, (size_t)fi.flen, rw->extra[k].id, &v);
    int cout = count_id(po, (size_t)fo.flen, rw->extra[k].id, &v);
    FUZZ_CHECK(cin >= 0 && cout >= 0);
    if (cin == 0) {
      FUZZ_CHECK(cout == 1 && v == rw->extra[k].value);
      q = wt_varint_put(q, rw->extra[k].id);
      q = wt_varint_put(q, rw->extra[k].value);
    } else {
      FUZZ_CHECK(cout == cin);
    }
    any_reserved |= rw->extra[k].id >= 0x02 && rw->extra[k].id <= 0x05;
  }
  size_t nwant = (size_t)(q - want);
  FUZZ_CHECK(fo.flen - fi.flen == nwant && memcmp(po + fi.flen, want, nwant) == 0);
  /* The rest of the stream is untouched. */
  size_t rest_in = inlen - fi.hdr - (size_t)fi.flen, rest_out = outlen - fo.hdr - (size_t)fo.flen;
  FUZZ_CHECK(rest_in == rest_out &&
             memcmp(in + inlen - rest_in, out + outlen - rest_out, rest_in) == 0);

  /* The peer's reader sees the extras (if it accepted the original). */
  if (reader_rv == 1 && !any_reserved) {
    static wt_ctrl_reader rd;
    wt_ctrl_reader_init(&rd, 0);
    FUZZ_CHECK(wt_ctrl_reader_feed(&rd, out, outlen) == 1);
    if (rd.n_dropped == 0) {
      for (size_t k = 0; k < rw->n_extra; k++) {
        uint64_t v = 0, vin = 0;
        if (wt_setting_is_grease(rw->extra[k].id)) {
          continue;
        }
        int cin = count_id(pi, (size_t)fi.flen, rw->extra[k].id, &vin);
        FUZZ_CHECK(wt_ctrl_reader_get(&rd, rw->extra[k].id, &v) == 1);
        FUZZ_CHECK(v == (cin ? vin : rw->extra[k].value));
      }
    }
  }
}

static void check_rewriter(const wt_setting *extra, size_t n_extra, const uint8_t *in, size_t inlen,
                           fuzz_split *sp, int reader_rv) {
  static wt_ctrl_rewriter rw;
  wt_ctrl_rewriter_init(&rw, extra, n_extra);
  /* The model of init: valid, first of each id, at most WT_CTRL_EXTRA_MAX. */
  size_t m = 0;
  for (size_t i = 0; i < n_extra && m < WT_CTRL_EXTRA_MAX; i++) {
    if (extra[i].id > WT_VARINT_MAX || extra[i].value > WT_VARINT_MAX) {
      continue;
    }
    int dup = 0;
    for (size_t k = 0; k < m; k++) {
      dup |= rw.extra[k].id == extra[i].id;
    }
    if (!dup) {
      FUZZ_CHECK(m < rw.n_extra && rw.extra[m].id == extra[i].id &&
                 rw.extra[m].value == extra[i].value);
      m++;
    }
  }
  FUZZ_CHECK(m == rw.n_extra);

  size_t cap = inlen + WT_CTRL_SETTINGS_MAX + WT_CTRL_REWRITE_GROWTH;
  uint8_t *out = malloc(cap + 1), *tmp = malloc(cap + 1);
  FUZZ_CHECK(out && tmp);
  size_t outlen = 0, off = 0;
  int rv = 0;
  while (off < inlen) {
    size_t c = fuzz_split_len(sp, inlen - off);
    size_t ocap = c + WT_CTRL_SETTINGS_MAX + WT_CTRL_REWRITE_GROWTH, got = 0;
    if (fuzz_split_next(sp) & 1) {
      /* Too small an output buffer first: NOBUF changes nothing. */
      size_t small = (size_t)(fuzz_split_next(sp) % (ocap + 1));
      rv = wt_ctrl_rewriter_feed(&rw, in + off, c, tmp, small, &got);
      if (rv == WT_ERR_NOBUF) {
        FUZZ_CHECK(got > small && got <= ocap);
        ocap = got; /* exactly what it asked for */
      } else if (rv == 0) {
        FUZZ_CHECK(got <= small);
        memcpy(out + outlen, tmp, got);
        outlen += got;
        off += c;
        continue;
      } else {
        break;
      }
    }
    rv = wt_ctrl_rewriter_feed(&rw, in + off, c, out + outlen, ocap, &got);
    FUZZ_CHECK(rv != WT_ERR_NOBUF);
    if (rv < 0) {
      FUZZ_CHECK(rv == WT_ERR_MALFORMED || rv == WT_ERR_LIMIT);
      FUZZ_CHECK(wt_ctrl_rewriter_feed(&rw, in, inlen, tmp, cap, &got) == rv); /* sticky */
      FUZZ_CHECK(!wt_ctrl_rewriter_done(&rw));
      break;
    }
    FUZZ_CHECK(got <= ocap);
    outlen += got;
    off += c;
    FUZZ_CHECK(outlen <= cap);
  }
  if (rv == 0 && wt_ctrl_rewriter_done(&rw)) {
    check_output(&rw, in, inlen, out, outlen, reader_rv);
  } else if (rv == 0) {
    FUZZ_CHECK(outlen == 0); /* nothing written before the frame completes */
  }
  free(out);
  free(tmp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 9) {
    return 0;
  }
  size_t n_extra = data[0] % (MAX_EXTRA_IN + 1);
  fuzz_split sp;
  fuzz_split_init(&sp, data + 1, 8);
  const uint8_t *p = data + 9;
  size_t n = size - 9;
  wt_setting extra[MAX_EXTRA_IN];
  size_t ne = 0;
  while (ne < n_extra && n >= 8) {
    extra[ne++] = make_extra(p);
    p += 8;
    n -= 8;
  }
  check_profile(data + 1);
  int reader_rv;
  check_reader(p, n, &sp, &reader_rv);
  check_rewriter(extra, ne, p, n, &sp, reader_rv);
  return 0;
}
