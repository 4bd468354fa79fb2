/* test_varint.c: QUIC varint codec (RFC 9000 section 16). */
#include "check.h"
#include "wt_error.h"
#include "wt_varint.h"

static const struct {
  uint64_t v;
  size_t len;
} boundaries[] = {
    {0, 1},
    {63, 1},
    {64, 2},
    {16383, 2},
    {16384, 4},
    {(UINT64_C(1) << 30) - 1, 4},
    {UINT64_C(1) << 30, 8},
    {(UINT64_C(1) << 62) - 1, 8},
};
#define NBOUND (sizeof(boundaries) / sizeof(boundaries[0]))

static void test_boundaries(void) {
  for (size_t i = 0; i < NBOUND; i++) {
    uint64_t v = boundaries[i].v;
    size_t len = boundaries[i].len;
    uint8_t buf[WT_VARINT_MAXLEN + 1];
    memset(buf, 0xee, sizeof(buf));
    CHECK_EQ(wt_varint_len(v), len);
    int n = wt_varint_encode(buf, sizeof(buf), v);
    CHECK_EQ(n, len);
    CHECK_EQ(buf[len], 0xee); /* nothing written past the encoding */
    CHECK_EQ(wt_varint_len_from_first(buf[0]), len);
    uint64_t out = 0;
    CHECK_EQ(wt_varint_decode(buf, sizeof(buf), &out), len);
    CHECK_EQ(out, v);
    /* Exact-size buffer works in both directions. */
    CHECK_EQ(wt_varint_encode(buf, len, v), len);
    CHECK_EQ(wt_varint_decode(buf, len, &out), len);
    CHECK_EQ(out, v);
    /* The unchecked writer produces the same bytes. */
    uint8_t buf2[WT_VARINT_MAXLEN];
    CHECK(wt_varint_put(buf2, v) == buf2 + len);
    CHECK_MEM(buf, buf2, len);
  }
}

static void test_range(void) {
  uint8_t buf[16];
  memset(buf, 0x5a, sizeof(buf));
  CHECK_EQ(wt_varint_len(UINT64_C(1) << 62), 0);
  CHECK_EQ(wt_varint_len(UINT64_MAX), 0);
  CHECK_EQ(wt_varint_encode(buf, sizeof(buf), UINT64_C(1) << 62), WT_ERR_RANGE);
  CHECK_EQ(wt_varint_encode(buf, sizeof(buf), UINT64_MAX), WT_ERR_RANGE);
  CHECK_EQ(wt_varint_encode(buf, 0, UINT64_C(1) << 62), WT_ERR_RANGE);
  CHECK_EQ(WT_VARINT_MAX, (UINT64_C(1) << 62) - 1);
  for (size_t i = 0; i < sizeof(buf); i++) {
    CHECK_EQ(buf[i], 0x5a);
  }
}

static void test_nobuf(void) {
  for (size_t i = 0; i < NBOUND; i++) {
    for (size_t cap = 0; cap < boundaries[i].len; cap++) {
      uint8_t buf[WT_VARINT_MAXLEN];
      memset(buf, 0xa5, sizeof(buf));
      CHECK_EQ(wt_varint_encode(buf, cap, boundaries[i].v), WT_ERR_NOBUF);
      for (size_t j = 0; j < sizeof(buf); j++) {
        CHECK_EQ(buf[j], 0xa5);
      }
    }
  }
}

static void test_truncated(void) {
  for (size_t i = 0; i < NBOUND; i++) {
    uint8_t buf[WT_VARINT_MAXLEN];
    size_t len = boundaries[i].len;
    CHECK_EQ(wt_varint_encode(buf, sizeof(buf), boundaries[i].v), len);
    for (size_t have = 0; have < len; have++) {
      uint64_t out = 0x1234;
      CHECK_EQ(wt_varint_decode(buf, have, &out), WT_ERR_TRUNCATED);
      CHECK_EQ(out, 0x1234); /* untouched */
    }
  }
  /* Every announced length, whatever the payload bytes. */
  static const uint8_t firsts[] = {0x00, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xff};
  for (size_t i = 0; i < sizeof(firsts); i++) {
    uint8_t buf[WT_VARINT_MAXLEN] = {firsts[i]};
    size_t len = wt_varint_len_from_first(firsts[i]);
    uint64_t out;
    for (size_t have = 0; have < len; have++) {
      CHECK_EQ(wt_varint_decode(buf, have, &out), WT_ERR_TRUNCATED);
    }
    CHECK_EQ(wt_varint_decode(buf, len, &out), len);
  }
}

static void test_non_minimal(void) {
  static const uint8_t e2[] = {0x40, 0x25};
  static const uint8_t e4[] = {0x80, 0x00, 0x00, 0x25};
  static const uint8_t e8[] = {0xc0, 0, 0, 0, 0, 0, 0, 0x25};
  static const uint8_t zero8[] = {0xc0, 0, 0, 0, 0, 0, 0, 0};
  uint64_t v = 0;
  CHECK_EQ(wt_varint_decode(e2, sizeof(e2), &v), 2);
  CHECK_EQ(v, 37);
  CHECK_EQ(wt_varint_decode(e4, sizeof(e4), &v), 4);
  CHECK_EQ(v, 37);
  CHECK_EQ(wt_varint_decode(e8, sizeof(e8), &v), 8);
  CHECK_EQ(v, 37);
  CHECK_EQ(wt_varint_decode(zero8, sizeof(zero8), &v), 8);
  CHECK_EQ(v, 0);
  /* Encoding is always minimal. */
  uint8_t buf[8];
  CHECK_EQ(wt_varint_encode(buf, sizeof(buf), 37), 1);
  CHECK_EQ(buf[0], 0x25);
}

/* RFC 9000 appendix A.1 sample varints. */
static void test_rfc_vectors(void) {
  static const struct {
    uint8_t bytes[8];
    size_t len;
    uint64_t v;
  } vec[] = {
      {{0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c}, 8, UINT64_C(151288809941952652)},
      {{0x9d, 0x7f, 0x3e, 0x7d}, 4, 494878333},
      {{0x7b, 0xbd}, 2, 15293},
      {{0x25}, 1, 37},
      {{0x40, 0x25}, 2, 37},
  };
  for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
    uint64_t v = 0;
    /* Trailing bytes after the varint are not consumed. */
    uint8_t in[16];
    memset(in, 0xff, sizeof(in));
    memcpy(in, vec[i].bytes, vec[i].len);
    CHECK_EQ(wt_varint_decode(in, sizeof(in), &v), vec[i].len);
    CHECK_EQ(v, vec[i].v);
    CHECK_EQ(wt_varint_decode(vec[i].bytes, vec[i].len, &v), vec[i].len);
    CHECK_EQ(v, vec[i].v);
  }
  /* The minimal ones re-encode to the same bytes. */
  for (size_t i = 0; i < 4; i++) {
    uint8_t out[8];
    CHECK_EQ(wt_varint_encode(out, sizeof(out), vec[i].v), vec[i].len);
    CHECK_MEM(out, vec[i].bytes, vec[i].len);
  }
}

static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static void test_random_round_trip(void) {
  uint64_t seed = UINT64_C(0x77746361737421); /* fixed: reproducible */
  size_t per_len[9] = {0};
  int bad = 0;
  for (int i = 0; i < 1000000; i++) {
    uint64_t r = splitmix64(&seed);
    /* Random magnitude so every length is exercised, not just 8 bytes. */
    uint64_t v = (r & WT_VARINT_MAX) >> (splitmix64(&seed) % 62);
    uint8_t buf[WT_VARINT_MAXLEN];
    int n = wt_varint_encode(buf, sizeof(buf), v);
    uint64_t out = ~v;
    int m = wt_varint_decode(buf, sizeof(buf), &out);
    if (n <= 0 || m != n || out != v || (size_t)n != wt_varint_len(v)) {
      if (bad++ < 5) {
        fprintf(stderr, "round trip failed for 0x%" PRIx64 ": n=%d m=%d\n", v, n, m);
      }
      continue;
    }
    per_len[n]++;
  }
  CHECK_EQ(bad, 0);
  CHECK(per_len[1] > 0 && per_len[2] > 0 && per_len[4] > 0 && per_len[8] > 0);
}

/* wt_varint_feed: a stream of varints of every length, fed split at every
 * position and byte by byte, decodes to the same values. */
static void test_feed_splits(void) {
  static const uint64_t vals[] = {0, 63, 64, 16383, 16384, (1u << 30) - 1, 1u << 30, WT_VARINT_MAX};
  uint8_t buf[64];
  size_t len = 0;
  for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
    len += (size_t)wt_varint_encode(buf + len, sizeof(buf) - len, vals[i]);
  }
  for (size_t step = 1; step <= len; step++) {
    wt_varint_acc a = {0};
    size_t got = 0, off = 0;
    while (off < len) {
      size_t n = len - off < step ? len - off : step, pos = 0;
      while (pos < n) {
        size_t used;
        uint64_t v;
        int done = wt_varint_feed(&a, buf + off + pos, n - pos, &used, &v);
        pos += used;
        if (done) {
          CHECK(got < sizeof(vals) / sizeof(vals[0]) && v == vals[got]);
          got++;
        } else {
          CHECK_EQ(pos, n); /* ran out: everything was taken */
        }
      }
      off += n;
    }
    CHECK_EQ(got, sizeof(vals) / sizeof(vals[0]));
    CHECK_EQ(a.n, 0);
  }
  wt_varint_acc a = {0};
  size_t used = 9;
  uint64_t v;
  CHECK_EQ(wt_varint_feed(&a, buf, 0, &used, &v), 0);
  CHECK_EQ(used, 0);
}

int main(void) {
  WT_RUN(test_boundaries);
  WT_RUN(test_range);
  WT_RUN(test_nobuf);
  WT_RUN(test_truncated);
  WT_RUN(test_non_minimal);
  WT_RUN(test_rfc_vectors);
  WT_RUN(test_random_round_trip);
  WT_RUN(test_feed_splits);
  WT_DONE();
}
