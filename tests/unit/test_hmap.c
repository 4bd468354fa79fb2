/* test_hmap.c: u64 -> pointer open-addressing map (wt_hmap.h) against a
 * simple model (an array indexed by key number). */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "wt_error.h"
#include "wt_hmap.h"

#define VAL(i) ((void *)(uintptr_t)(i))

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
  /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dull;
}

/* Every slot's key is reachable from its home slot without crossing an
 * empty slot (the invariant backward-shift deletion must keep). */
static int hmap_invariant_ok(const wt_hmap *m) {
  if (!m->slots) {
    return m->n == 0;
  }
  size_t n = 0;
  for (size_t i = 0; i <= m->mask; i++) {
    if (!m->slots[i].key) {
      continue;
    }
    n++;
    if (wt_hmap_get(m, m->slots[i].key) != m->slots[i].val) {
      return 0;
    }
  }
  return n == m->n && m->n * 2 <= m->mask + 1;
}

static void test_basic(void) {
  wt_hmap m;
  wt_hmap_init(&m);
  CHECK(wt_hmap_get(&m, 1) == NULL);
  CHECK(wt_hmap_del(&m, 1) == NULL);
  CHECK_EQ(wt_hmap_count(&m), 0);
  int visits = 0;
  WT_HMAP_FOREACH(&m, s) {
    (void)s;
    visits++;
  }
  CHECK_EQ(visits, 0);
  CHECK_EQ(wt_hmap_put(&m, 0, VAL(1)), WT_ERR_INVAL);
  CHECK_EQ(wt_hmap_count(&m), 0);
  CHECK(wt_hmap_get(&m, 0) == NULL);
  CHECK(wt_hmap_del(&m, 0) == NULL);
  CHECK_EQ(wt_hmap_put(&m, 7, VAL(70)), 0);
  CHECK_EQ(wt_hmap_put(&m, UINT64_MAX, VAL(1)), 0);
  CHECK_EQ(wt_hmap_count(&m), 2);
  CHECK(wt_hmap_get(&m, 7) == VAL(70));
  CHECK(wt_hmap_get(&m, UINT64_MAX) == VAL(1));
  CHECK_EQ(wt_hmap_put(&m, 7, VAL(71)), 0); /* replace */
  CHECK_EQ(wt_hmap_count(&m), 2);
  CHECK(wt_hmap_get(&m, 7) == VAL(71));
  CHECK_EQ(wt_hmap_put(&m, 0, VAL(1)), WT_ERR_INVAL); /* still rejected with slots */
  CHECK(wt_hmap_get(&m, 0) == NULL);
  CHECK(wt_hmap_del(&m, 8) == NULL);
  CHECK(wt_hmap_del(&m, 7) == VAL(71));
  CHECK(wt_hmap_del(&m, 7) == NULL);
  CHECK_EQ(wt_hmap_count(&m), 1);
  CHECK(wt_hmap_put(&m, 9, NULL) == 0); /* a NULL value is stored */
  CHECK_EQ(wt_hmap_count(&m), 2);
  wt_hmap_free(&m);
  CHECK_EQ(wt_hmap_count(&m), 0);
  CHECK(wt_hmap_get(&m, UINT64_MAX) == NULL);
  wt_hmap_free(&m); /* idempotent */
}

/* Growth: sequential ids, then all still there; capacity stays a power of
 * two with load <= 50 %. */
static void test_growth(void) {
  wt_hmap m;
  wt_hmap_init(&m);
  const uint64_t n = 100000;
  for (uint64_t k = 1; k <= n; k++) {
    CHECK_FATAL(wt_hmap_put(&m, k, VAL(k * 3)) == 0);
  }
  CHECK_EQ(wt_hmap_count(&m), n);
  CHECK_EQ((m.mask + 1) & m.mask, 0);
  CHECK(m.n * 2 <= m.mask + 1);
  int bad = 0;
  for (uint64_t k = 1; k <= n; k++) {
    bad += wt_hmap_get(&m, k) != VAL(k * 3);
  }
  CHECK_EQ(bad, 0);
  CHECK(wt_hmap_get(&m, n + 1) == NULL);
  /* FOREACH visits every key exactly once */
  uint8_t *seen = calloc(n + 1, 1);
  CHECK_FATAL(seen != NULL);
  uint64_t visits = 0, dup = 0, wrong = 0;
  WT_HMAP_FOREACH(&m, s) {
    visits++;
    if (s->key > n || s->val != VAL(s->key * 3)) {
      wrong++;
    } else if (seen[s->key]++) {
      dup++;
    }
  }
  CHECK_EQ(visits, n);
  CHECK_EQ(dup, 0);
  CHECK_EQ(wrong, 0);
  free(seen);
  /* delete every other key, then the rest */
  for (uint64_t k = 2; k <= n; k += 2) {
    bad += wt_hmap_del(&m, k) != VAL(k * 3);
  }
  CHECK_EQ(bad, 0);
  CHECK_EQ(wt_hmap_count(&m), n / 2);
  CHECK(hmap_invariant_ok(&m));
  for (uint64_t k = 1; k <= n; k++) {
    bad += wt_hmap_get(&m, k) != ((k & 1) ? VAL(k * 3) : NULL);
  }
  CHECK_EQ(bad, 0);
  for (uint64_t k = 1; k <= n; k += 2) {
    bad += wt_hmap_del(&m, k) != VAL(k * 3);
  }
  CHECK_EQ(bad, 0);
  CHECK_EQ(wt_hmap_count(&m), 0);
  visits = 0;
  WT_HMAP_FOREACH(&m, s) {
    (void)s;
    visits++;
  }
  CHECK_EQ(visits, 0);
  wt_hmap_free(&m);
}

/* Keys chosen to land in a few home slots of a small table, so clusters are
 * long, wrap around the end of the table, and deletions inside them shift
 * entries back. The key pool is found by probing the map's own layout: we
 * insert candidate keys into a 16-slot map (7 entries keep it at 16) and
 * note their home slot from where a lone key lands. */
static void test_clusters(void) {
  /* home slot of a key in a 64-slot table: insert it alone, see where it is */
  enum { CAP = 64, WANT = 31 }; /* 31 entries keep a 64-slot table (50 %) */
  uint64_t keys[WANT];
  size_t nk = 0;
  /* collect keys whose home is in slots {60..63, 0..1}: clusters wrap */
  for (uint64_t k = 1; nk < WANT && k < 10000000; k++) {
    wt_hmap one;
    wt_hmap_init(&one);
    /* grow a scratch map to 64 slots with filler keys that we then delete */
    for (uint64_t f = 0; f < 20; f++) {
      wt_hmap_put(&one, UINT64_MAX - f, VAL(1));
    }
    for (uint64_t f = 0; f < 20; f++) {
      wt_hmap_del(&one, UINT64_MAX - f);
    }
    if (one.mask + 1 != CAP) {
      wt_hmap_free(&one);
      CHECK_FATAL(0 && "scratch map is not 64 slots");
    }
    wt_hmap_put(&one, k, VAL(k));
    size_t home = SIZE_MAX;
    for (size_t i = 0; i < CAP; i++) {
      if (one.slots[i].key == k) {
        home = i;
      }
    }
    wt_hmap_free(&one);
    if (home >= 60 || home <= 1) {
      keys[nk++] = k;
    }
  }
  CHECK_FATAL(nk == WANT);
  for (int round = 0; round < 2000; round++) {
    wt_hmap m;
    wt_hmap_init(&m);
    /* pre-grow to 64 slots, then empty */
    for (uint64_t f = 0; f < 20; f++) {
      wt_hmap_put(&m, UINT64_MAX - f, VAL(1));
    }
    for (uint64_t f = 0; f < 20; f++) {
      wt_hmap_del(&m, UINT64_MAX - f);
    }
    CHECK_FATAL(m.mask + 1 == CAP);
    uint8_t in[WANT] = {0};
    size_t present = 0;
    for (int op = 0; op < 300; op++) {
      size_t i = rnd() % WANT;
      if (rnd() & 1) {
        CHECK_EQ(wt_hmap_put(&m, keys[i], VAL(keys[i] + (uint64_t)round)), 0);
        present += !in[i];
        in[i] = 1;
      } else {
        void *v = wt_hmap_del(&m, keys[i]);
        CHECK(v == (in[i] ? VAL(keys[i] + (uint64_t)round) : NULL));
        present -= in[i];
        in[i] = 0;
      }
      CHECK_EQ(wt_hmap_count(&m), present);
    }
    CHECK_EQ(m.mask + 1, CAP); /* never grew: clusters stayed in 64 slots */
    for (size_t i = 0; i < WANT; i++) {
      CHECK(wt_hmap_get(&m, keys[i]) == (in[i] ? VAL(keys[i] + (uint64_t)round) : NULL));
    }
    CHECK(hmap_invariant_ok(&m));
    wt_hmap_free(&m);
  }
}

/* Random operations against a model: key space small enough that keys
 * repeat, large enough to grow the table several times. */
static void test_random_model(void) {
  enum { KEYS = 5000, OPS = 400000 };
  void **model = calloc(KEYS, sizeof(*model));
  uint8_t *in = calloc(KEYS, 1);
  CHECK_FATAL(model && in);
  wt_hmap m;
  wt_hmap_init(&m);
  size_t present = 0, bad = 0;
  /* keys spread over the whole u64 range (index i <-> key keyof(i)) */
  uint64_t keyof[KEYS];
  for (size_t i = 0; i < KEYS; i++) {
    keyof[i] = (rnd() | 1) ^ (i << 1); /* odd, non-zero */
    for (size_t j = 0; j < i; j++) {
      if (keyof[j] == keyof[i]) {
        keyof[i] += 2;
        j = (size_t)-1;
      }
    }
  }
  for (int op = 0; op < OPS; op++) {
    uint64_t r = rnd();
    /* a window over the key space that moves, so the map fills and drains */
    size_t span = (op / 50000) % 2 ? KEYS : KEYS / 10;
    size_t i = (size_t)(r >> 8) % span;
    uint64_t k = keyof[i];
    switch (r & 3) {
    case 0:
    case 1: {
      void *v = VAL(((uint64_t)op << 1) | 1);
      if (wt_hmap_put(&m, k, v) != 0) {
        bad++;
      }
      present += !in[i];
      in[i] = 1;
      model[i] = v;
      break;
    }
    case 2: {
      void *v = wt_hmap_del(&m, k);
      bad += v != (in[i] ? model[i] : NULL);
      present -= in[i];
      in[i] = 0;
      model[i] = NULL;
      break;
    }
    default:
      bad += wt_hmap_get(&m, k) != (in[i] ? model[i] : NULL);
      break;
    }
    if (wt_hmap_count(&m) != present) {
      bad++;
    }
    if (op % 20000 == 0) {
      CHECK(hmap_invariant_ok(&m));
    }
  }
  CHECK_EQ(bad, 0);
  /* full comparison, and FOREACH once per key */
  for (size_t i = 0; i < KEYS; i++) {
    bad += wt_hmap_get(&m, keyof[i]) != (in[i] ? model[i] : NULL);
  }
  CHECK_EQ(bad, 0);
  size_t visits = 0;
  WT_HMAP_FOREACH(&m, s) {
    visits++;
    size_t hit = 0;
    for (size_t i = 0; i < KEYS; i++) {
      if (keyof[i] == s->key) {
        hit++;
        bad += !in[i] || model[i] != s->val;
      }
    }
    bad += hit != 1;
  }
  CHECK_EQ(visits, present);
  CHECK_EQ(bad, 0);
  CHECK(hmap_invariant_ok(&m));
  /* delete everything in random order */
  for (size_t n = 0; n < KEYS * 4; n++) {
    size_t i = rnd() % KEYS;
    bad += wt_hmap_del(&m, keyof[i]) != (in[i] ? model[i] : NULL);
    present -= in[i];
    in[i] = 0;
  }
  for (size_t i = 0; i < KEYS; i++) {
    bad += wt_hmap_del(&m, keyof[i]) != (in[i] ? model[i] : NULL);
    present -= in[i];
    in[i] = 0;
  }
  CHECK_EQ(bad, 0);
  CHECK_EQ(present, 0);
  CHECK_EQ(wt_hmap_count(&m), 0);
  wt_hmap_free(&m);
  free(model);
  free(in);
}

/* The longest probe distance in a keyed map: slots between a key's home
 * (its SipHash-1-3 under the map's key, as wt_hmap.c hashes keyed maps)
 * and the slot it sits in. */
static size_t max_probe_keyed(const wt_hmap *m) {
  size_t worst = 0;
  for (size_t i = 0; m->slots && i <= m->mask; i++) {
    if (m->slots[i].key) {
      size_t home = (size_t)wt_siphash13_u64(&m->key, m->slots[i].key) & m->mask;
      size_t d = (i - home) & m->mask;
      worst = d > worst ? d : worst;
    }
  }
  return worst;
}

/* Per-address map (core/wt_engine.c max_conns_per_ip: key 2^32 + IPv4
 * address) against chosen keys. An attacker who knew the hash key could
 * choose source addresses whose keys share one home slot: one probe
 * cluster as long as the map, every lookup a linear scan. Shown here with
 * a known key (so the check below can fail); under another key (the
 * engine's: random per engine, test_engine_initial test_keys_random) the
 * same addresses spread, and many distinct addresses keep the map correct
 * and its size proportional to its entries. */
static void test_keyed_collisions(void) {
  enum { N = 1024, HOME_BITS = 12 }; /* 1024 keys: a table of <= 4096 slots */
  const wt_siphash_key known = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
  static uint64_t keys[N];
  size_t n = 0;
  for (uint64_t a = 1; n < N && a < (UINT64_C(1) << 32); a++) {
    uint64_t k = (UINT64_C(1) << 32) | a;
    if ((wt_siphash13_u64(&known, k) & ((1u << HOME_BITS) - 1)) == 0) {
      keys[n++] = k;
    }
  }
  CHECK_FATAL(n == N);
  wt_siphash_key other = {rnd(), rnd()};
  size_t probe[2];
  for (int v = 0; v < 2; v++) {
    wt_hmap m;
    wt_hmap_init_keyed(&m, v == 0 ? &known : &other);
    for (size_t i = 0; i < N; i++) {
      CHECK_EQ(wt_hmap_put(&m, keys[i], VAL(i + 1)), 0);
    }
    CHECK_EQ(wt_hmap_count(&m), N);
    CHECK(m.mask + 1 <= 4 * N);
    size_t bad = 0;
    for (size_t i = 0; i < N; i++) {
      bad += wt_hmap_get(&m, keys[i]) != VAL(i + 1);
    }
    CHECK_EQ(bad, 0);
    CHECK(hmap_invariant_ok(&m));
    probe[v] = max_probe_keyed(&m);
    wt_hmap_free(&m);
  }
  if (getenv("WT_TEST_VERBOSE")) {
    fprintf(stderr, "chosen keys: longest probe %zu under the known key, %zu under another\n",
            probe[0], probe[1]);
  }
  CHECK(probe[0] >= N - 1); /* the attack works when the key is known */
  CHECK(probe[1] < 64);     /* and not under another key */

  /* many distinct addresses (a /16 and then some): correct, bounded */
  enum { MANY = 200000 };
  wt_hmap m;
  wt_hmap_init_keyed(&m, &other);
  for (uint64_t a = 0; a < MANY; a++) {
    CHECK_EQ(wt_hmap_put(&m, (UINT64_C(1) << 32) | (0x0a000000u + a), VAL(a + 1)), 0);
  }
  CHECK_EQ(wt_hmap_count(&m), MANY);
  CHECK(m.mask + 1 <= 4 * (size_t)MANY);
  size_t bad = 0;
  for (uint64_t a = 0; a < MANY; a++) {
    bad += wt_hmap_get(&m, (UINT64_C(1) << 32) | (0x0a000000u + a)) != VAL(a + 1);
  }
  CHECK_EQ(bad, 0);
  size_t worst = max_probe_keyed(&m);
  if (getenv("WT_TEST_VERBOSE")) {
    fprintf(stderr, "%d sequential addresses: %zu slots, longest probe %zu\n", MANY, m.mask + 1,
            worst);
  }
  CHECK(worst < 128);
  for (uint64_t a = 0; a < MANY; a++) {
    bad += wt_hmap_del(&m, (UINT64_C(1) << 32) | (0x0a000000u + a)) != VAL(a + 1);
  }
  CHECK_EQ(bad, 0);
  CHECK_EQ(wt_hmap_count(&m), 0);
  wt_hmap_free(&m);
}

int main(void) {
  WT_RUN(test_basic);
  WT_RUN(test_growth);
  WT_RUN(test_clusters);
  WT_RUN(test_random_model);
  WT_RUN(test_keyed_collisions);
  WT_DONE();
}
