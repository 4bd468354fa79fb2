/* wt_siphash.c: see wt_siphash.h. Written from the paper's description. */
#include "wt_siphash.h"

#include <string.h>

static inline uint64_t rotl(uint64_t x, int b) {
  return (x << b) | (x >> (64 - b));
}

typedef struct sip_state {
  uint64_t v0, v1, v2, v3;
} sip_state;

static inline void sip_round(sip_state *s) {
  s->v0 += s->v1;
  s->v1 = rotl(s->v1, 13);
  s->v1 ^= s->v0;
  s->v0 = rotl(s->v0, 32);
  s->v2 += s->v3;
  s->v3 = rotl(s->v3, 16);
  s->v3 ^= s->v2;
  s->v0 += s->v3;
  s->v3 = rotl(s->v3, 21);
  s->v3 ^= s->v0;
  s->v2 += s->v1;
  s->v1 = rotl(s->v1, 17);
  s->v1 ^= s->v2;
  s->v2 = rotl(s->v2, 32);
}

static inline uint64_t load_le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) {
    v = v << 8 | p[i];
  }
  return v;
}

static inline void sip_block(sip_state *s, uint64_t m, int c) {
  s->v3 ^= m;
  for (int i = 0; i < c; i++) {
    sip_round(s);
  }
  s->v0 ^= m;
}

static uint64_t siphash(const wt_siphash_key *k, const uint8_t *p, size_t len, int c, int d) {
  sip_state s = {k->k0 ^ 0x736f6d6570736575ULL, k->k1 ^ 0x646f72616e646f6dULL,
                 k->k0 ^ 0x6c7967656e657261ULL, k->k1 ^ 0x7465646279746573ULL};
  size_t whole = len & ~(size_t)7;
  for (size_t i = 0; i < whole; i += 8) {
    sip_block(&s, load_le64(p + i), c);
  }
  /* the last block: the remaining bytes, and len mod 256 in the top byte */
  uint8_t tail[8] = {0};
  memcpy(tail, p + whole, len - whole);
  uint64_t b = load_le64(tail) | (uint64_t)(len & 0xff) << 56;
  sip_block(&s, b, c);
  s.v2 ^= 0xff;
  for (int i = 0; i < d; i++) {
    sip_round(&s);
  }
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint64_t wt_siphash13(const wt_siphash_key *k, const void *data, size_t len) {
  return siphash(k, data, len, 1, 3);
}

uint64_t wt_siphash24(const wt_siphash_key *k, const void *data, size_t len) {
  return siphash(k, data, len, 2, 4);
}

uint64_t wt_siphash13_u64(const wt_siphash_key *k, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) {
    b[i] = (uint8_t)(v >> (8 * i));
  }
  return siphash(k, b, 8, 1, 3);
}
