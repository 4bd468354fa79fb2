/* fuzz_util.h: helpers shared by the fuzz_* targets (header-only).
 *
 * FUZZ_CHECK aborts with the failed condition, so libFuzzer reports an
 * oracle failure like any crash. fuzz_split is the deterministic source of
 * split points: a xorshift generator seeded from the input itself, so a
 * reproducer replays the same splits. */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                     \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

typedef struct fuzz_split {
  uint64_t s;
} fuzz_split;

/* Seed from up to 8 bytes of the input (any seed, including 0, works). */
static inline void fuzz_split_init(fuzz_split *r, const uint8_t *p, size_t n) {
  uint64_t s = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < n && i < 8; i++) {
    s = (s ^ p[i]) * 0x100000001b3ull;
  }
  r->s = s | 1;
}

static inline uint64_t fuzz_split_next(fuzz_split *r) {
  r->s ^= r->s << 13;
  r->s ^= r->s >> 7;
  r->s ^= r->s << 17;
  return r->s;
}

/* Next chunk length for `left` bytes: mostly short (0..3 and up to 17, where
 * varints split), sometimes long; never more than left. 0 is allowed (an
 * empty feed call must be harmless). */
static inline size_t fuzz_split_len(fuzz_split *r, size_t left) {
  uint64_t x = fuzz_split_next(r);
  size_t n;
  switch (x & 3) {
  case 0:
    n = (size_t)(x >> 8) % 4;
    break;
  case 1:
  case 2:
    n = 1 + (size_t)(x >> 8) % 17;
    break;
  default:
    n = 1 + (size_t)(x >> 8) % 2048;
    break;
  }
  return n < left ? n : left;
}

static inline uint64_t fuzz_load_be(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    v = (v << 8) | p[i];
  }
  return v;
}

#endif
