/* test_cid.c: the CID shard rule and the CID -> connection table. */
#include "check.h"

#include "wt_cid.h"
#include "wt_error.h"

static uint64_t rng_state = 0x1234567887654321ULL;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}
static void fill(uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    p[i] = (uint8_t)rnd();
  }
}

static void test_shard_rule(void) {
  static const uint32_t ns[] = {1, 2, 3, 4, 7, 8, 16, 64, 255, 256};
  for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
    uint32_t n = ns[k];
    for (uint32_t s = 0; s < n; s++) {
      int seen_distinct = 0;
      uint8_t first = 0;
      for (int i = 0; i < 64; i++) {
        uint8_t cid[16];
        fill(cid, sizeof(cid));
        uint8_t rest[15];
        memcpy(rest, cid + 1, 15);
        CHECK_EQ(wt_cid_apply_shard(cid, sizeof(cid), s, n, WT_CID_SHARD_MASK), 0);
        CHECK_EQ(cid[0] % n, s);
        CHECK_EQ(wt_cid_shard(cid, n, WT_CID_SHARD_MASK), s);
        CHECK_MEM(cid + 1, rest, 15); /* only byte 0 is rewritten */
        if (i == 0) {
          first = cid[0];
        } else if (cid[0] != first) {
          seen_distinct = 1;
        }
      }
      /* byte 0 stays random when more than one value fits the rule */
      if ((255 - s) / n + 1 > 1) {
        CHECK(seen_distinct);
      }
    }
  }
  uint8_t cid[8] = {0};
  CHECK_EQ(wt_cid_apply_shard(cid, 8, 2, 2, WT_CID_SHARD_MASK), WT_ERR_INVAL);
  CHECK_EQ(wt_cid_apply_shard(cid, 8, 0, 0, WT_CID_SHARD_MASK), WT_ERR_INVAL);
  CHECK_EQ(wt_cid_apply_shard(cid, 8, 0, 257, WT_CID_SHARD_MASK), WT_ERR_INVAL);
  CHECK_EQ(wt_cid_apply_shard(cid, 0, 0, 1, WT_CID_SHARD_MASK), WT_ERR_INVAL);
  /* the QUIC-LB mask: 5 bits, at most 32 shards; a mask must be 2^k - 1 */
  CHECK_EQ(wt_cid_apply_shard(cid, 8, 0, 33, 0x1f), WT_ERR_INVAL);
  CHECK_EQ(wt_cid_apply_shard(cid, 8, 0, 2, 0x1e), WT_ERR_INVAL);
}

/* With the 0x1f mask (QUIC-LB: the 3 high bits are the config rotation)
 * only the low 5 bits change, and they stay random among the fitting
 * values. */
static void test_shard_rule_masked(void) {
  for (uint32_t n = 1; n <= 32; n++) {
    for (uint32_t s = 0; s < n; s++) {
      uint8_t seen = 0, first = 0;
      for (int i = 0; i < 64; i++) {
        uint8_t cid[9];
        fill(cid, sizeof(cid));
        uint8_t before[9];
        memcpy(before, cid, sizeof(cid));
        CHECK_EQ(wt_cid_apply_shard(cid, sizeof(cid), s, n, 0x1f), 0);
        CHECK_EQ((cid[0] & 0x1f) % n, s);
        CHECK_EQ(wt_cid_shard(cid, n, 0x1f), s);
        CHECK_EQ(cid[0] & 0xe0, before[0] & 0xe0); /* the high bits are kept */
        CHECK_MEM(cid + 1, before + 1, 8);
        if (i == 0) {
          first = cid[0] & 0x1f;
        } else if ((cid[0] & 0x1f) != first) {
          seen = 1;
        }
      }
      if ((31 - s) / n + 1 > 1) {
        CHECK(seen);
      }
    }
  }
}

static void test_table_basic(void) {
  wt_cid_table t;
  wt_cid_table_init(&t, &(wt_siphash_key){42, 0});
  uint8_t a[16], b[8];
  fill(a, sizeof(a));
  fill(b, sizeof(b));
  int va = 1, vb = 2;
  CHECK(wt_cid_table_lookup(&t, a, sizeof(a)) == NULL);
  CHECK_EQ(wt_cid_table_insert(&t, a, sizeof(a), &va), 0);
  CHECK_EQ(wt_cid_table_insert(&t, a, sizeof(a), &vb), WT_ERR_STATE);
  CHECK_EQ(wt_cid_table_insert(&t, b, sizeof(b), &vb), 0);
  CHECK(wt_cid_table_lookup(&t, a, sizeof(a)) == &va);
  CHECK(wt_cid_table_lookup(&t, b, sizeof(b)) == &vb);
  CHECK(wt_cid_table_lookup(&t, a, 8) == NULL); /* length is part of the key */
  CHECK_EQ(wt_cid_table_count(&t), 2);
  CHECK_EQ(wt_cid_table_remove(&t, a, sizeof(a)), 0);
  CHECK_EQ(wt_cid_table_remove(&t, a, sizeof(a)), WT_ERR_NOTFOUND);
  CHECK(wt_cid_table_lookup(&t, a, sizeof(a)) == NULL);
  CHECK(wt_cid_table_lookup(&t, b, sizeof(b)) == &vb);
  CHECK_EQ(wt_cid_table_insert(&t, a, 0, &va), WT_ERR_INVAL);
  CHECK_EQ(wt_cid_table_insert(&t, a, 21, &va), WT_ERR_INVAL);
  CHECK_EQ(wt_cid_table_insert(&t, a, 16, NULL), WT_ERR_INVAL);
  /* The remembered last hit never outlives its entry. */
  CHECK(wt_cid_table_lookup(&t, b, sizeof(b)) == &vb);
  CHECK(wt_cid_table_lookup(&t, b, sizeof(b)) == &vb);
  CHECK(wt_cid_table_lookup(&t, b, 7) == NULL);
  CHECK_EQ(wt_cid_table_remove(&t, b, sizeof(b)), 0);
  CHECK(wt_cid_table_lookup(&t, b, sizeof(b)) == NULL);
  CHECK_EQ(wt_cid_table_insert(&t, b, sizeof(b), &va), 0);
  CHECK(wt_cid_table_lookup(&t, b, sizeof(b)) == &va);
  wt_cid_table_free(&t);
  CHECK(wt_cid_table_lookup(&t, b, sizeof(b)) == NULL);
}

enum { MANY = 20000 };
static uint8_t many[MANY][20];
static uint8_t many_len[MANY];
static int present[MANY];

static void test_table_many(void) {
  wt_cid_table t;
  wt_cid_table_init(&t, &(wt_siphash_key){7, 0});
  for (int i = 0; i < MANY; i++) {
    many_len[i] = (uint8_t)(8 + rnd() % 13);
    fill(many[i], many_len[i]);
    wt_cid_apply_shard(many[i], many_len[i], (uint32_t)(i % 4), 4, WT_CID_SHARD_MASK);
    CHECK_EQ(wt_cid_table_insert(&t, many[i], many_len[i], &present[i]), 0);
    present[i] = 1;
  }
  CHECK_EQ(wt_cid_table_count(&t), MANY);
  /* remove a random half, interleaved with lookups */
  for (int round = 0; round < 3 * MANY; round++) {
    int i = (int)(rnd() % MANY);
    if (present[i]) {
      CHECK(wt_cid_table_lookup(&t, many[i], many_len[i]) == &present[i]);
      CHECK_EQ(wt_cid_table_remove(&t, many[i], many_len[i]), 0);
      present[i] = 0;
    } else {
      CHECK(wt_cid_table_lookup(&t, many[i], many_len[i]) == NULL);
      if (rnd() & 1) {
        CHECK_EQ(wt_cid_table_insert(&t, many[i], many_len[i], &present[i]), 0);
        present[i] = 1;
      }
    }
  }
  size_t n = 0;
  int bad = 0;
  for (int i = 0; i < MANY; i++) {
    void *v = wt_cid_table_lookup(&t, many[i], many_len[i]);
    if (present[i]) {
      n++;
      bad += v != &present[i];
    } else {
      bad += v != NULL;
    }
  }
  CHECK_EQ(bad, 0);
  CHECK_EQ(wt_cid_table_count(&t), n);
  wt_cid_table_free(&t);
}

int main(void) {
  WT_RUN(test_shard_rule);
  WT_RUN(test_shard_rule_masked);
  WT_RUN(test_table_basic);
  WT_RUN(test_table_many);
  WT_DONE();
}
