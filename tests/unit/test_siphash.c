/* test_siphash.c: SipHash (core/base/wt_siphash.h) against the paper's
 * vectors, and its use by the keyed hash map. */
#include <string.h>

#include "check.h"
#include "wt_hmap.h"
#include "wt_siphash.h"

/* key 00 01 .. 0f, as the paper's vectors use */
static const wt_siphash_key k_paper = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};

static void test_vectors(void) {
  uint8_t msg[64];
  for (int i = 0; i < 64; i++) {
    msg[i] = (uint8_t)i;
  }
  /* SipHash-2-4: the empty message, 8 bytes 00..07, and the paper's worked
   * example of 15 bytes 00..0e (Appendix A) */
  CHECK_EQ(wt_siphash24(&k_paper, msg, 0), 0x726fdb47dd0e0e31ULL);
  CHECK_EQ(wt_siphash24(&k_paper, msg, 8), 0x93f5f5799a932462ULL);
  CHECK_EQ(wt_siphash24(&k_paper, msg, 15), 0xa129ca6149be45e5ULL);
  /* -1-3 differs from -2-4, depends on every byte, on the length, on the key */
  uint64_t h = wt_siphash13(&k_paper, msg, 15);
  CHECK(h != wt_siphash24(&k_paper, msg, 15));
  uint8_t m2[15];
  memcpy(m2, msg, 15);
  for (int i = 0; i < 15; i++) {
    m2[i] ^= 1;
    CHECK(wt_siphash13(&k_paper, m2, 15) != h);
    m2[i] ^= 1;
  }
  CHECK(wt_siphash13(&k_paper, msg, 14) != h);
  wt_siphash_key k2 = k_paper;
  k2.k1 ^= 1ULL << 63;
  CHECK(wt_siphash13(&k2, msg, 15) != h);
  /* the u64 form is the hash of its 8 little-endian bytes */
  CHECK_EQ(wt_siphash13_u64(&k_paper, 0x0706050403020100ULL), wt_siphash13(&k_paper, msg, 8));
}

/* A keyed map works like the plain one, and keys that land in one run of
 * slots under one key spread under another. */
static void test_keyed_map(void) {
  wt_hmap m;
  wt_siphash_key k = {0x1234, 0x5678};
  wt_hmap_init_keyed(&m, &k);
  for (uint64_t i = 1; i <= 1000; i++) {
    CHECK_EQ(wt_hmap_put(&m, i << 32, (void *)(uintptr_t)i), 0);
  }
  for (uint64_t i = 1; i <= 1000; i++) {
    CHECK(wt_hmap_get(&m, i << 32) == (void *)(uintptr_t)i);
  }
  for (uint64_t i = 1; i <= 1000; i += 2) {
    CHECK(wt_hmap_del(&m, i << 32) == (void *)(uintptr_t)i);
  }
  CHECK_EQ(wt_hmap_count(&m), 500);
  for (uint64_t i = 2; i <= 1000; i += 2) {
    CHECK(wt_hmap_get(&m, i << 32) == (void *)(uintptr_t)i);
  }
  wt_hmap_free(&m);
  CHECK(m.keyed); /* free keeps the key: the map can be used again */

  /* 64 keys that share one home slot in a 128-slot map under key k share
   * no more than a few under another key */
  wt_siphash_key kb = {0x9abc, 0xdef0};
  uint64_t same[64];
  int n = 0;
  size_t home = wt_siphash13_u64(&k, 1) & 127;
  for (uint64_t key = 1; n < 64 && key < 10000000; key++) {
    if ((wt_siphash13_u64(&k, key) & 127) == home) {
      same[n++] = key;
    }
  }
  CHECK_EQ(n, 64);
  int in_one = 0;
  size_t home_b = wt_siphash13_u64(&kb, same[0]) & 127;
  for (int i = 0; i < n; i++) {
    in_one += (wt_siphash13_u64(&kb, same[i]) & 127) == home_b;
  }
  CHECK(in_one < 8);
}

int main(void) {
  WT_RUN(test_vectors);
  WT_RUN(test_keyed_map);
  WT_DONE();
}
