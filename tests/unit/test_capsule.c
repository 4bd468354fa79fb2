/* test_capsule.c: capsule parser and encoders (and wt_utf8, which the CLOSE
 * capsule uses). */
#include "check.h"
#include "wt_capsule.h"
#include "wt_error.h"
#include "wt_utf8.h"
#include "wt_varint.h"

static uint64_t rng_state = UINT64_C(0x243f6a8885a308d3);

static uint64_t rng(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * UINT64_C(0x2545f4914f6cdd1d);
}

/* ------------------------------------------------------------------- utf-8 */

/* Reference validator written the other way round: decode each sequence to
 * a code point, then check minimality and range. */
static int ref_utf8_valid(const uint8_t *p, size_t len) {
  size_t i = 0;
  while (i < len) {
    uint8_t b = p[i];
    size_t n;
    uint32_t cp, min;
    if (b < 0x80) {
      i++;
      continue;
    } else if ((b & 0xe0) == 0xc0) {
      n = 2, cp = b & 0x1f, min = 0x80;
    } else if ((b & 0xf0) == 0xe0) {
      n = 3, cp = b & 0x0f, min = 0x800;
    } else if ((b & 0xf8) == 0xf0) {
      n = 4, cp = b & 0x07, min = 0x10000;
    } else {
      return 0;
    }
    if (len - i < n) {
      return 0;
    }
    for (size_t k = 1; k < n; k++) {
      if ((p[i + k] & 0xc0) != 0x80) {
        return 0;
      }
      cp = cp << 6 | (p[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return 0;
    }
    i += n;
  }
  return 1;
}

static void test_utf8_cases(void) {
  struct {
    const char *s;
    int valid;
  } cases[] = {
      {"", 1},
      {"plain ascii", 1},
      {"caf\xc3\xa9", 1},
      {"\xe2\x82\xac", 1},     /* U+20AC */
      {"\xf0\x9f\x98\x80", 1}, /* U+1F600 */
      {"\xed\x9f\xbf", 1},     /* U+D7FF */
      {"\xee\x80\x80", 1},     /* U+E000 */
      {"\xef\xbf\xbf", 1},     /* U+FFFF */
      {"\xf4\x8f\xbf\xbf", 1}, /* U+10FFFF */
      {"\xc0\x80", 0},         /* overlong NUL */
      {"\xc1\xbf", 0},         /* overlong */
      {"\xe0\x80\x80", 0},     /* overlong */
      {"\xe0\x9f\xbf", 0},     /* overlong U+07FF */
      {"\xf0\x80\x80\x80", 0}, /* overlong */
      {"\xf0\x8f\xbf\xbf", 0}, /* overlong U+FFFF */
      {"\xed\xa0\x80", 0},     /* U+D800 */
      {"\xed\xbf\xbf", 0},     /* U+DFFF */
      {"\xf4\x90\x80\x80", 0}, /* U+110000 */
      {"\xf5\x80\x80\x80", 0},
      {"\xff", 0},
      {"\xfe", 0},
      {"\x80", 0},         /* stray continuation */
      {"a\xc3", 0},        /* truncated */
      {"\xe2\x82", 0},     /* truncated */
      {"\xf0\x9f\x98", 0}, /* truncated */
      {"\xe2\x28\xa1", 0}, /* bad continuation */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    size_t len = strlen(cases[i].s);
    int v = wt_utf8_valid((const uint8_t *)cases[i].s, len);
    if (v != cases[i].valid) {
      fprintf(stderr, "utf8 case %zu\n", i);
    }
    CHECK_EQ(v, cases[i].valid);
  }
  /* Embedded NUL is valid UTF-8. */
  CHECK(wt_utf8_valid((const uint8_t *)"a\0b", 3));
  CHECK(wt_utf8_valid(NULL, 0));
}

static void test_utf8_exhaustive(void) {
  /* Every 1-, 2- and 3-byte string, and random 4..8-byte strings. */
  uint8_t b[8];
  int bad = 0;
  for (uint32_t x = 0; x < (1u << 24); x++) {
    b[0] = (uint8_t)(x >> 16), b[1] = (uint8_t)(x >> 8), b[2] = (uint8_t)x;
    if (wt_utf8_valid(b, 3) != ref_utf8_valid(b, 3)) {
      bad++;
    }
    if (x < (1u << 16) && (wt_utf8_valid(b + 1, 2) != ref_utf8_valid(b + 1, 2) ||
                           wt_utf8_valid(b + 2, 1) != ref_utf8_valid(b + 2, 1))) {
      bad++;
    }
  }
  for (int i = 0; i < 2000000; i++) {
    uint64_t r = rng();
    memcpy(b, &r, 8);
    /* Bias towards lead bytes F0..F4 so 4-byte sequences get covered. */
    b[0] = (uint8_t)(0xf0 | (b[0] & 0x07));
    b[1] = (uint8_t)(0x80 | (b[1] & 0x3f));
    size_t len = 4 + (size_t)(r >> 62);
    if (wt_utf8_valid(b, len) != ref_utf8_valid(b, len)) {
      bad++;
    }
  }
  CHECK_EQ(bad, 0);
}

/* ------------------------------------------------------------------ capsule */

typedef struct {
  uint64_t type;
  size_t len;
  uint8_t value[WT_CAPSULE_VALUE_MAX];
} got_capsule;

/* Feed stream[0..len) in chunks whose sizes come from split(); collect the
 * capsules returned. Returns the number collected, or a negative error. */
static int parse_stream(wt_capsule_parser *p, const uint8_t *stream, size_t len, int mode,
                        got_capsule *got, int max) {
  size_t pos = 0;
  int n = 0;
  while (pos < len) {
    size_t chunk;
    if (mode == 0) {
      chunk = len - pos; /* all at once */
    } else if (mode == 1) {
      chunk = 1; /* byte by byte */
    } else {
      chunk = 1 + (size_t)(rng() % 40); /* random splits */
      if (rng() % 8 == 0) {
        chunk = 1 + (size_t)(rng() % 3000);
      }
    }
    if (chunk > len - pos) {
      chunk = len - pos;
    }
    const uint8_t *d = stream + pos;
    size_t left = chunk;
    for (;;) {
      size_t used = 0;
      wt_capsule c;
      int rv = wt_capsule_parser_feed(p, d, left, &used, &c);
      if (rv < 0) {
        return rv;
      }
      if (used > left) {
        return -1000;
      }
      d += used;
      left -= used;
      if (rv == 0) {
        if (left != 0) {
          return -1001; /* 0 must mean all consumed */
        }
        break;
      }
      if (n < max) {
        got[n].type = c.type;
        got[n].len = c.len;
        if (c.len > WT_CAPSULE_VALUE_MAX || c.value == NULL) {
          return -1002;
        }
        memcpy(got[n].value, c.value, c.len);
      }
      n++;
    }
    pos += chunk;
  }
  return n;
}

static size_t put_capsule(uint8_t *buf, size_t cap, uint64_t type, const uint8_t *v, size_t len) {
  int n = wt_capsule_encode(buf, cap, type, v, len);
  return n > 0 ? (size_t)n : 0;
}

static void test_close_round_trip(void) {
  const char *reasons[] = {"", "bye", "caf\xc3\xa9 \xf0\x9f\x98\x80"};
  const uint32_t codes[] = {0, 1, 0xdeadbeef, 0xffffffffu};
  for (size_t i = 0; i < 3; i++) {
    for (size_t k = 0; k < 4; k++) {
      uint8_t buf[WT_CAPSULE_CLOSE_ENCODED_MAX];
      size_t rl = strlen(reasons[i]);
      int n = wt_capsule_close_encode(buf, sizeof(buf), codes[k], (const uint8_t *)reasons[i], rl);
      CHECK_FATAL(n > 0);
      /* Type 0x2843 is a 2-byte varint, the length 1 byte here. */
      CHECK_EQ(buf[0], 0x68);
      CHECK_EQ(buf[1], 0x43);
      CHECK_EQ(buf[2], 4 + rl);
      wt_capsule_parser p;
      wt_capsule_parser_init(&p);
      size_t used;
      wt_capsule c;
      CHECK_EQ(wt_capsule_parser_feed(&p, buf, (size_t)n, &used, &c), 1);
      CHECK_EQ(used, (size_t)n);
      CHECK_EQ(c.type, WT_CAPSULE_CLOSE_SESSION);
      uint32_t code;
      const uint8_t *r;
      size_t len;
      CHECK_EQ(wt_capsule_close_decode(&c, &code, &r, &len), 0);
      CHECK_EQ(code, codes[k]);
      CHECK_EQ(len, rl);
      CHECK_MEM(r, reasons[i], rl);
      CHECK(wt_capsule_parser_at_boundary(&p));
    }
  }
  /* NULL reason with length 0. */
  uint8_t buf[16];
  CHECK_EQ(wt_capsule_close_encode(buf, sizeof(buf), 5, NULL, 0), 7);
}

static void test_close_reason_limits(void) {
  static uint8_t reason[WT_CLOSE_REASON_MAX + 1];
  static uint8_t buf[WT_CAPSULE_CLOSE_ENCODED_MAX + 16];
  memset(reason, 'x', sizeof(reason));
  /* Exactly 1024 bytes: fine, and WT_CAPSULE_CLOSE_ENCODED_MAX is enough. */
  int n =
      wt_capsule_close_encode(buf, WT_CAPSULE_CLOSE_ENCODED_MAX, 9, reason, WT_CLOSE_REASON_MAX);
  CHECK_EQ(n, WT_CAPSULE_CLOSE_ENCODED_MAX);
  wt_capsule_parser p;
  wt_capsule_parser_init(&p);
  got_capsule got[2];
  CHECK_EQ(parse_stream(&p, buf, (size_t)n, 1, got, 2), 1);
  wt_capsule c = {got[0].type, got[0].value, got[0].len};
  uint32_t code;
  const uint8_t *r;
  size_t rl;
  CHECK_EQ(wt_capsule_close_decode(&c, &code, &r, &rl), 0);
  CHECK_EQ(rl, WT_CLOSE_REASON_MAX);

  /* 1025 bytes: refused on encode ... */
  CHECK_EQ(wt_capsule_close_encode(buf, sizeof(buf), 9, reason, WT_CLOSE_REASON_MAX + 1),
           WT_ERR_RANGE);
  /* ... and on decode, both by the parser (length 1029 > 1028) ... */
  static uint8_t val[4 + WT_CLOSE_REASON_MAX + 1];
  memset(val, 'y', sizeof(val));
  n = (int)put_capsule(buf, sizeof(buf), WT_CAPSULE_CLOSE_SESSION, val, sizeof(val));
  CHECK_FATAL(n > 0);
  for (int mode = 0; mode < 2; mode++) {
    wt_capsule_parser_init(&p);
    CHECK_EQ(parse_stream(&p, buf, (size_t)n, mode, got, 2), WT_ERR_MALFORMED);
    /* Sticky. */
    size_t used;
    CHECK_EQ(wt_capsule_parser_feed(&p, buf, 1, &used, &c), WT_ERR_MALFORMED);
  }
  /* ... and by close_decode given such a capsule directly. */
  c.type = WT_CAPSULE_CLOSE_SESSION;
  c.value = buf;
  c.len = 4 + WT_CLOSE_REASON_MAX + 1;
  CHECK_EQ(wt_capsule_close_decode(&c, &code, &r, &rl), WT_ERR_MALFORMED);
}

static void test_close_bad_utf8(void) {
  const uint8_t bad[] = {'o', 'k', 0xed, 0xa0, 0x80}; /* a surrogate */
  uint8_t buf[64];
  CHECK_EQ(wt_capsule_close_encode(buf, sizeof(buf), 1, bad, sizeof(bad)), WT_ERR_RANGE);
  uint8_t val[4 + sizeof(bad)] = {0, 0, 0, 1};
  memcpy(val + 4, bad, sizeof(bad));
  size_t n = put_capsule(buf, sizeof(buf), WT_CAPSULE_CLOSE_SESSION, val, sizeof(val));
  wt_capsule_parser p;
  wt_capsule_parser_init(&p);
  wt_capsule c;
  size_t used;
  CHECK_EQ(wt_capsule_parser_feed(&p, buf, n, &used, &c), 1);
  uint32_t code = 42;
  const uint8_t *r = NULL;
  size_t rl = 42;
  CHECK_EQ(wt_capsule_close_decode(&c, &code, &r, &rl), WT_ERR_MALFORMED);
  CHECK_EQ(code, 42);
  CHECK(r == NULL);
}

static void test_close_truncated(void) {
  const uint8_t val[3] = {1, 2, 3};
  for (size_t len = 0; len < 4; len++) {
    uint8_t buf[16];
    size_t n = put_capsule(buf, sizeof(buf), WT_CAPSULE_CLOSE_SESSION, val, len);
    wt_capsule_parser p;
    wt_capsule_parser_init(&p);
    wt_capsule c;
    size_t used;
    CHECK_EQ(wt_capsule_parser_feed(&p, buf, n, &used, &c), 1);
    CHECK_EQ(c.len, len);
    uint32_t code;
    const uint8_t *r;
    size_t rl;
    CHECK_EQ(wt_capsule_close_decode(&c, &code, &r, &rl), WT_ERR_MALFORMED);
  }
  /* close_decode on a capsule of another type is a caller error. */
  wt_capsule d = {WT_CAPSULE_DRAIN_SESSION, val, 0};
  uint32_t code;
  const uint8_t *r;
  size_t rl;
  CHECK_EQ(wt_capsule_close_decode(&d, &code, &r, &rl), WT_ERR_INVAL);
}

static void test_drain(void) {
  /* 0x78ae needs a 4-byte varint (RFC 9000 section 16), then length 0. */
  const uint8_t want[5] = {0x80, 0x00, 0x78, 0xae, 0x00};
  uint8_t buf[8];
  CHECK_EQ(wt_capsule_drain_encode(buf, sizeof(buf)), 5);
  CHECK_MEM(buf, want, 5);
  CHECK_EQ(wt_capsule_drain_encode(buf, 4), WT_ERR_NOBUF);
  wt_capsule_parser p;
  wt_capsule_parser_init(&p);
  wt_capsule c;
  size_t used;
  CHECK_EQ(wt_capsule_parser_feed(&p, want, 5, &used, &c), 1);
  CHECK_EQ(used, 5);
  CHECK_EQ(c.type, WT_CAPSULE_DRAIN_SESSION);
  CHECK_EQ(c.len, 0);
  CHECK(c.value != NULL);
}

static void test_drain_nonzero_rejected(void) {
  uint8_t buf[16];
  const uint8_t v[1] = {0};
  size_t n = put_capsule(buf, sizeof(buf), WT_CAPSULE_DRAIN_SESSION, v, 1);
  for (int mode = 0; mode < 2; mode++) {
    wt_capsule_parser p;
    wt_capsule_parser_init(&p);
    got_capsule got[1];
    CHECK_EQ(parse_stream(&p, buf, n, mode, got, 1), WT_ERR_MALFORMED);
  }
}

/* A capsule stream mixing known, unknown and GREASE capsules. */
static size_t build_mixed(uint8_t *s, size_t cap, size_t *n_known, size_t *n_unknown) {
  static uint8_t big[3000];
  for (size_t i = 0; i < sizeof(big); i++) {
    big[i] = (uint8_t)i;
  }
  size_t off = 0;
  off += put_capsule(s + off, cap - off, 0x29 * 1000 + 0x17, big, 5); /* GREASE */
  off += put_capsule(s + off, cap - off, WT_CAPSULE_DRAIN_SESSION, NULL, 0);
  uint8_t v[8];
  int vl = wt_varint_encode(v, sizeof(v), 123456);
  off += put_capsule(s + off, cap - off, WT_CAPSULE_MAX_DATA, v, (size_t)vl);
  off += put_capsule(s + off, cap - off, 0x29 * UINT64_C(0x1000000000) + 0x17, NULL, 0);
  off += put_capsule(s + off, cap - off, 0x00, big, 2000); /* DATAGRAM capsule: unknown here */
  off += put_capsule(s + off, cap - off, WT_CAPSULE_DRAIN_SESSION, NULL, 0);
  int n = wt_capsule_close_encode(s + off, cap - off, 0x01020304, (const uint8_t *)"done", 4);
  off += (size_t)n;
  off += put_capsule(s + off, cap - off, 0x17, big, 64); /* GREASE N=0 */
  *n_known = 3;                                          /* plus MAX_DATA when flow control is on */
  *n_unknown = 4; /* plus MAX_DATA when flow control is off */
  return off;
}

static void check_mixed(const got_capsule *got, int n, int fc) {
  CHECK_FATAL(n == 3 + fc);
  int i = 0;
  CHECK_EQ(got[i].type, WT_CAPSULE_DRAIN_SESSION);
  CHECK_EQ(got[i].len, 0);
  i++;
  if (fc) {
    wt_capsule c = {got[i].type, got[i].value, got[i].len};
    uint64_t v = 0;
    CHECK_EQ(got[i].type, WT_CAPSULE_MAX_DATA);
    CHECK_EQ(wt_capsule_fc_decode(&c, &v), 0);
    CHECK_EQ(v, 123456);
    i++;
  }
  CHECK_EQ(got[i].type, WT_CAPSULE_DRAIN_SESSION);
  i++;
  CHECK_EQ(got[i].type, WT_CAPSULE_CLOSE_SESSION);
  CHECK_EQ(got[i].len, 8);
  CHECK_MEM(got[i].value,
            "\x01\x02\x03\x04"
            "done",
            8);
}

static void test_stream_splits(void) {
  static uint8_t s[8192];
  size_t n_known, n_unknown;
  size_t len = build_mixed(s, sizeof(s), &n_known, &n_unknown);
  for (int fc = 0; fc < 2; fc++) {
    for (int mode = 0; mode < 3; mode++) {
      int rounds = mode == 2 ? 300 : 1;
      for (int r = 0; r < rounds; r++) {
        wt_capsule_parser p;
        got_capsule got[8];
        wt_capsule_parser_init(&p);
        wt_capsule_parser_set_flow_control(&p, fc);
        int n = parse_stream(&p, s, len, mode, got, 8);
        check_mixed(got, n, fc);
        CHECK_EQ(p.skipped, n_unknown + (fc ? 0 : 1));
        CHECK(wt_capsule_parser_at_boundary(&p));
      }
    }
    /* Every two-piece split. */
    for (size_t cut = 0; cut <= len; cut++) {
      wt_capsule_parser p;
      got_capsule got[8];
      int n = 0, bad = 0;
      wt_capsule_parser_init(&p);
      wt_capsule_parser_set_flow_control(&p, fc);
      const size_t starts[2] = {0, cut}, ends[2] = {cut, len};
      for (int part = 0; part < 2; part++) {
        const uint8_t *d = s + starts[part];
        size_t left = ends[part] - starts[part];
        for (;;) {
          size_t used;
          wt_capsule c;
          int rv = wt_capsule_parser_feed(&p, d, left, &used, &c);
          if (rv < 0) {
            bad++;
            break;
          }
          d += used;
          left -= used;
          if (rv == 0) {
            break;
          }
          if (n < 8) {
            got[n].type = c.type;
            got[n].len = c.len;
            memcpy(got[n].value, c.value, c.len);
          }
          n++;
        }
      }
      CHECK_EQ(bad, 0);
      check_mixed(got, n, fc);
    }
  }
}

static void test_huge_unknown_skipped(void) {
  /* A 1 MB GREASE capsule, then a DRAIN, fed in pieces: skipped without
   * buffering, the DRAIN still found. */
  const size_t big = 1u << 20;
  uint8_t *s = malloc(big + 64);
  CHECK_FATAL(s != NULL);
  int h = wt_capsule_encode_header(s, 64, 0x29 * 77 + 0x17, big);
  CHECK_FATAL(h > 0);
  for (size_t i = 0; i < big; i++) {
    s[(size_t)h + i] = (uint8_t)(i * 7);
  }
  size_t len = (size_t)h + big;
  len += (size_t)wt_capsule_drain_encode(s + len, 64);
  for (int mode = 0; mode < 3; mode++) {
    wt_capsule_parser p;
    got_capsule got[2];
    wt_capsule_parser_init(&p);
    int n = parse_stream(&p, s, len, mode, got, 2);
    CHECK_EQ(n, 1);
    CHECK_EQ(got[0].type, WT_CAPSULE_DRAIN_SESSION);
    CHECK_EQ(p.skipped, 1);
    CHECK_EQ(p.skipped_bytes, big);
  }
  /* Cut in the middle of the big value: not at a boundary. */
  wt_capsule_parser p;
  wt_capsule_parser_init(&p);
  size_t used;
  wt_capsule c;
  CHECK_EQ(wt_capsule_parser_feed(&p, s, 1000, &used, &c), 0);
  CHECK(!wt_capsule_parser_at_boundary(&p));
  /* The parser's memory does not depend on the capsule size. */
  CHECK(sizeof(wt_capsule_parser) < WT_CAPSULE_BUF_MAX + 128);
  free(s);
}

static void test_boundary_mid_header(void) {
  uint8_t buf[8];
  int n = wt_capsule_drain_encode(buf, sizeof(buf));
  wt_capsule_parser p;
  wt_capsule_parser_init(&p);
  CHECK(wt_capsule_parser_at_boundary(&p));
  size_t used;
  wt_capsule c;
  CHECK_EQ(wt_capsule_parser_feed(&p, buf, 2, &used, &c), 0);
  CHECK_EQ(used, 2);
  CHECK(!wt_capsule_parser_at_boundary(&p));
  CHECK_EQ(wt_capsule_parser_feed(&p, buf + 2, (size_t)n - 2, &used, &c), 1);
  CHECK(wt_capsule_parser_at_boundary(&p));
  CHECK_EQ(wt_capsule_parser_feed(&p, NULL, 0, &used, &c), 0);
  CHECK_EQ(used, 0);
}

static void test_fc_limits(void) {
  /* With flow control on, a flow-control capsule longer than 8 bytes is
   * malformed; a value that is not exactly one varint fails fc_decode. */
  uint8_t buf[32], v[9] = {0};
  size_t n = put_capsule(buf, sizeof(buf), WT_CAPSULE_MAX_STREAMS_UNI, v, 9);
  wt_capsule_parser p;
  wt_capsule_parser_init(&p);
  wt_capsule_parser_set_flow_control(&p, 1);
  size_t used;
  wt_capsule c;
  CHECK_EQ(wt_capsule_parser_feed(&p, buf, n, &used, &c), WT_ERR_MALFORMED);
  n = put_capsule(buf, sizeof(buf), WT_CAPSULE_DATA_BLOCKED, v, 2); /* 0x00 0x00 */
  wt_capsule_parser_init(&p);
  wt_capsule_parser_set_flow_control(&p, 1);
  CHECK_EQ(wt_capsule_parser_feed(&p, buf, n, &used, &c), 1);
  uint64_t val;
  CHECK_EQ(wt_capsule_fc_decode(&c, &val), WT_ERR_MALFORMED);
  n = put_capsule(buf, sizeof(buf), WT_CAPSULE_STREAMS_BLOCKED_BIDI, NULL, 0);
  wt_capsule_parser_init(&p);
  wt_capsule_parser_set_flow_control(&p, 1);
  CHECK_EQ(wt_capsule_parser_feed(&p, buf, n, &used, &c), 1);
  CHECK_EQ(wt_capsule_fc_decode(&c, &val), WT_ERR_MALFORMED);
}

static void test_fc_round_trip(void) {
  /* Every flow-control capsule, with values of each varint length, through
   * the parser byte by byte (draft-ietf-webtrans-http3-16 section 5.6). */
  const uint64_t types[] = {
      WT_CAPSULE_MAX_DATA,     WT_CAPSULE_MAX_STREAMS_BIDI,     WT_CAPSULE_MAX_STREAMS_UNI,
      WT_CAPSULE_DATA_BLOCKED, WT_CAPSULE_STREAMS_BLOCKED_BIDI, WT_CAPSULE_STREAMS_BLOCKED_UNI};
  const uint64_t vals[] = {
      0, 63, 64, 16383, 16384, (UINT64_C(1) << 30) - 1, UINT64_C(1) << 30, WT_VARINT_MAX};
  for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
    for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
      uint8_t buf[WT_CAPSULE_FC_ENCODED_MAX];
      int n = wt_capsule_fc_encode(buf, sizeof(buf), types[t], vals[k]);
      CHECK_FATAL(n > 0);
      CHECK_EQ((size_t)n, 4 + 1 + wt_varint_len(vals[k]));
      wt_capsule_parser p;
      wt_capsule_parser_init(&p);
      wt_capsule_parser_set_flow_control(&p, 1);
      int got = 0;
      for (int i = 0; i < n; i++) {
        size_t used;
        wt_capsule c;
        int rv = wt_capsule_parser_feed(&p, buf + i, 1, &used, &c);
        if (rv == 1) {
          uint64_t v;
          CHECK_EQ(c.type, types[t]);
          CHECK_EQ(wt_capsule_fc_decode(&c, &v), 0);
          CHECK_EQ(v, vals[k]);
          got++;
        }
      }
      CHECK_EQ(got, 1);
      /* with flow control off the same bytes are skipped */
      wt_capsule_parser_init(&p);
      size_t used;
      wt_capsule c;
      CHECK_EQ(wt_capsule_parser_feed(&p, buf, (size_t)n, &used, &c), 0);
      CHECK_EQ(p.skipped, 1);
      /* a buffer one byte short */
      CHECK_EQ(wt_capsule_fc_encode(buf, (size_t)n - 1, types[t], vals[k]), WT_ERR_NOBUF);
    }
  }
  uint8_t buf[32];
  CHECK_EQ(wt_capsule_fc_encode(buf, sizeof(buf), WT_CAPSULE_CLOSE_SESSION, 1), WT_ERR_INVAL);
  CHECK_EQ(wt_capsule_fc_encode(buf, sizeof(buf), WT_CAPSULE_MAX_DATA, WT_VARINT_MAX + 1),
           WT_ERR_RANGE);
}

static void test_generic_encode(void) {
  const uint64_t types[] = {0, 0x17, 0x2843, 0x78ae, 0x190b4d3d, WT_VARINT_MAX};
  uint8_t val[300];
  for (size_t i = 0; i < sizeof(val); i++) {
    val[i] = (uint8_t)(i ^ 0x5a);
  }
  for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
    const size_t lens[] = {0, 1, 63, 64, 300};
    for (size_t l = 0; l < 5; l++) {
      uint8_t buf[400];
      size_t need = wt_varint_len(types[t]) + wt_varint_len(lens[l]) + lens[l];
      /* Every too-small capacity fails and writes nothing. */
      for (size_t cap = 0; cap < need; cap += (need > 40 ? 37 : 1)) {
        memset(buf, 0xcc, sizeof(buf));
        CHECK_EQ(wt_capsule_encode(buf, cap, types[t], val, lens[l]), WT_ERR_NOBUF);
        CHECK_EQ(buf[0], 0xcc);
      }
      int n = wt_capsule_encode(buf, sizeof(buf), types[t], val, lens[l]);
      CHECK_EQ(n, (int)need);
      uint64_t ty, ln;
      int a = wt_varint_decode(buf, (size_t)n, &ty);
      int b = wt_varint_decode(buf + a, (size_t)(n - a), &ln);
      CHECK_EQ(ty, types[t]);
      CHECK_EQ(ln, lens[l]);
      CHECK_MEM(buf + a + b, val, lens[l]);
    }
  }
  uint8_t buf[32];
  CHECK_EQ(wt_capsule_encode(buf, sizeof(buf), WT_VARINT_MAX + 1, NULL, 0), WT_ERR_RANGE);
  CHECK_EQ(wt_capsule_encode_header(buf, sizeof(buf), 1, WT_VARINT_MAX + 1), WT_ERR_RANGE);
  CHECK_EQ(wt_capsule_encode_header(buf, 1, 0x2843, 4), WT_ERR_NOBUF);
  CHECK_EQ(wt_capsule_encode_header(buf, sizeof(buf), 0x2843, 4), 3);
  /* close_encode: every too-small capacity fails. */
  int full = wt_capsule_close_encode(buf, sizeof(buf), 3, (const uint8_t *)"abc", 3);
  CHECK_EQ(full, 2 + 1 + 4 + 3);
  for (int cap = 0; cap < full; cap++) {
    CHECK_EQ(wt_capsule_close_encode(buf, (size_t)cap, 3, (const uint8_t *)"abc", 3), WT_ERR_NOBUF);
  }
}

static void test_zero_copy_and_lifetime(void) {
  /* A value that arrives whole points into the caller's data; a split one
   * into the parser's buffer. */
  uint8_t buf[64];
  int n = wt_capsule_close_encode(buf, sizeof(buf), 7, (const uint8_t *)"xy", 2);
  wt_capsule_parser p;
  wt_capsule_parser_init(&p);
  wt_capsule c;
  size_t used;
  CHECK_EQ(wt_capsule_parser_feed(&p, buf, (size_t)n, &used, &c), 1);
  CHECK(c.value >= buf && c.value < buf + n);
  wt_capsule_parser_init(&p);
  CHECK_EQ(wt_capsule_parser_feed(&p, buf, (size_t)n - 1, &used, &c), 0);
  CHECK_EQ(wt_capsule_parser_feed(&p, buf + n - 1, 1, &used, &c), 1);
  CHECK(c.value == p.buf);
  CHECK_EQ(c.len, 6);
}

int main(void) {
  WT_RUN(test_utf8_cases);
  WT_RUN(test_utf8_exhaustive);
  WT_RUN(test_close_round_trip);
  WT_RUN(test_close_reason_limits);
  WT_RUN(test_close_bad_utf8);
  WT_RUN(test_close_truncated);
  WT_RUN(test_drain);
  WT_RUN(test_drain_nonzero_rejected);
  WT_RUN(test_stream_splits);
  WT_RUN(test_huge_unknown_skipped);
  WT_RUN(test_boundary_mid_header);
  WT_RUN(test_fc_limits);
  WT_RUN(test_fc_round_trip);
  WT_RUN(test_generic_encode);
  WT_RUN(test_zero_copy_and_lifetime);
  WT_DONE();
}
