/* test_pool.c: fixed-size object pool (both the chunked and malloc modes). */
#include "check.h"
#include "wt_error.h"
#include "wt_pool.h"

static wt_pool_stats stats(const wt_pool *p) {
  wt_pool_stats st;
  wt_pool_get_stats(p, &st);
  return st;
}

static void test_init_errors(void) {
  wt_pool p;
  CHECK_EQ(wt_pool_init(NULL, 32, 8, 0), WT_ERR_INVAL);
  CHECK_EQ(wt_pool_init(&p, 32, 0, 0), WT_ERR_INVAL);
  CHECK_EQ(wt_pool_init(&p, SIZE_MAX, 8, 0), WT_ERR_INVAL);
  CHECK_EQ(wt_pool_init(&p, SIZE_MAX / 4, 8, 0), WT_ERR_INVAL); /* chunk size overflows */
  wt_pool_free(&p);
  wt_pool_free(NULL);
  CHECK_EQ(wt_pool_init(&p, 32, 8, 0), 0);
  CHECK_EQ(stats(&p).allocated, 0); /* nothing allocated before the first get */
  wt_pool_free(&p);
}

static void test_reuse(void) {
  wt_pool p;
  CHECK_FATAL(wt_pool_init(&p, 40, 4, 0) == 0);
  void *a = wt_pool_get(&p);
  void *b = wt_pool_get(&p);
  CHECK(a != NULL && b != NULL && a != b);
  memset(a, 0x11, 40);
  memset(b, 0x22, 40);
  wt_pool_put(&p, a);
#ifndef WT_POOL_MALLOC
  /* Chunked mode: the object just put back is handed out next. */
  void *c = wt_pool_get(&p);
  CHECK(c == a);
  CHECK_EQ(stats(&p).allocated, 4);
#else
  void *c = wt_pool_get(&p);
  CHECK(c != NULL);
  CHECK_EQ(stats(&p).allocated, 2);
#endif
  CHECK_EQ(stats(&p).in_use, 2);
  wt_pool_put(&p, b);
  wt_pool_put(&p, c);
  wt_pool_put(&p, NULL); /* ignored */
  CHECK_EQ(stats(&p).in_use, 0);
  CHECK_EQ(stats(&p).high_water, 2);
  wt_pool_free(&p);
}

static void test_max(void) {
  enum { MAX = 10 };
  wt_pool p;
  CHECK_FATAL(wt_pool_init(&p, 24, 4, MAX) == 0);
  void *objs[MAX];
  for (int i = 0; i < MAX; i++) {
    objs[i] = wt_pool_get(&p);
    CHECK(objs[i] != NULL);
  }
  CHECK(wt_pool_get(&p) == NULL);
  CHECK(wt_pool_get(&p) == NULL);
  wt_pool_stats st = stats(&p);
  CHECK_EQ(st.in_use, MAX);
  CHECK_EQ(st.allocated, MAX); /* the last chunk is cut short: 4 + 4 + 2 */
  CHECK_EQ(st.high_water, MAX);
  wt_pool_put(&p, objs[3]);
  objs[3] = wt_pool_get(&p);
  CHECK(objs[3] != NULL);
  CHECK(wt_pool_get(&p) == NULL);
  /* All distinct. */
  for (int i = 0; i < MAX; i++) {
    for (int j = i + 1; j < MAX; j++) {
      CHECK(objs[i] != objs[j]);
    }
  }
  for (int i = 0; i < MAX; i++) {
    wt_pool_put(&p, objs[i]);
  }
  st = stats(&p);
  CHECK_EQ(st.in_use, 0);
  CHECK_EQ(st.high_water, MAX);
  wt_pool_free(&p);
}

static void test_counts(void) {
  wt_pool p;
  CHECK_FATAL(wt_pool_init(&p, 64, 8, 0) == 0);
  void *objs[20];
  for (int i = 0; i < 20; i++) {
    objs[i] = wt_pool_get(&p);
    CHECK(objs[i] != NULL);
    CHECK_EQ(stats(&p).in_use, (size_t)i + 1);
  }
#ifndef WT_POOL_MALLOC
  CHECK_EQ(stats(&p).allocated, 24); /* three chunks of 8 */
#else
  CHECK_EQ(stats(&p).allocated, 20);
#endif
  for (int i = 0; i < 15; i++) {
    wt_pool_put(&p, objs[i]);
  }
  wt_pool_stats st = stats(&p);
  CHECK_EQ(st.in_use, 5);
  CHECK_EQ(st.high_water, 20);
#ifndef WT_POOL_MALLOC
  CHECK_EQ(st.allocated, 24); /* memory is kept until wt_pool_free */
#endif
  /* Objects 15..19 are still out: wt_pool_free releases them too (ASan's
   * leak check would complain otherwise in the malloc mode). */
  wt_pool_free(&p);
  st = stats(&p);
  CHECK_EQ(st.in_use, 0);
  CHECK_EQ(st.allocated, 0);
}

static void test_cycles(void) {
  enum { LIVE = 257 };
  wt_pool p;
  CHECK_FATAL(wt_pool_init(&p, 48, 32, 0) == 0);
  void *live[LIVE] = {0};
  uint32_t seed = 42;
  int bad = 0;
  for (int i = 0; i < 200000; i++) {
    seed = seed * 1664525u + 1013904223u;
    uint32_t k = (seed >> 8) % LIVE;
    if (live[k] != NULL) {
      /* Check that nobody else wrote into this object while it was out. */
      if (*(uint32_t *)live[k] != k || ((unsigned char *)live[k])[47] != (unsigned char)k) {
        bad++;
      }
      wt_pool_put(&p, live[k]);
      live[k] = NULL;
    } else {
      live[k] = wt_pool_get(&p);
      if (live[k] == NULL) {
        bad++;
        continue;
      }
      memset(live[k], 0, 48);
      *(uint32_t *)live[k] = k;
      ((unsigned char *)live[k])[47] = (unsigned char)k;
    }
  }
  CHECK_EQ(bad, 0);
  size_t out = 0;
  for (int k = 0; k < LIVE; k++) {
    out += live[k] != NULL;
  }
  wt_pool_stats st = stats(&p);
  CHECK_EQ(st.in_use, out);
  CHECK(st.high_water <= LIVE);
#ifndef WT_POOL_MALLOC
  CHECK(st.allocated <= ((st.high_water + 31) / 32) * 32); /* never grew beyond need */
#endif
  for (int k = 0; k < LIVE; k++) {
    wt_pool_put(&p, live[k]);
  }
  CHECK_EQ(stats(&p).in_use, 0);
  wt_pool_free(&p);
}

static void test_sizes_aligned(void) {
  static const size_t sizes[] = {0, 1, 3, 7, 8, 15, 16, 17, 31, 33, 100, 1000, 4095};
  for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
    wt_pool p;
    CHECK_FATAL(wt_pool_init(&p, sizes[s], 5, 0) == 0);
    CHECK(p.obj_size % WT_POOL_ALIGN == 0 && p.obj_size >= sizes[s] && p.obj_size > 0);
    void *objs[12];
    for (int i = 0; i < 12; i++) {
      objs[i] = wt_pool_get(&p);
      CHECK(objs[i] != NULL);
      CHECK_EQ((uintptr_t)objs[i] % WT_POOL_ALIGN, 0);
      if (sizes[s] > 0) {
        memset(objs[i], i, sizes[s]); /* the whole requested size is usable */
      }
    }
    for (int i = 0; i < 12; i++) {
      for (size_t b = 0; b < sizes[s]; b++) {
        if (((unsigned char *)objs[i])[b] != (unsigned char)i) {
          CHECK(0);
          break;
        }
      }
    }
    for (int i = 0; i < 12; i++) {
      wt_pool_put(&p, objs[i]);
    }
    wt_pool_free(&p);
  }
}

static void test_reinit_after_free(void) {
  wt_pool p;
  CHECK_FATAL(wt_pool_init(&p, 16, 2, 3) == 0);
  CHECK(wt_pool_get(&p) != NULL);
  wt_pool_free(&p);
  CHECK_FATAL(wt_pool_init(&p, 16, 2, 3) == 0);
  void *a = wt_pool_get(&p), *b = wt_pool_get(&p), *c = wt_pool_get(&p);
  CHECK(a != NULL && b != NULL && c != NULL);
  CHECK(wt_pool_get(&p) == NULL);
  CHECK_EQ(stats(&p).high_water, 3);
  wt_pool_free(&p);
}

int main(void) {
#ifdef WT_POOL_MALLOC
  fprintf(stderr, "(WT_POOL_MALLOC mode)\n");
#endif
  WT_RUN(test_init_errors);
  WT_RUN(test_reuse);
  WT_RUN(test_max);
  WT_RUN(test_counts);
  WT_RUN(test_cycles);
  WT_RUN(test_sizes_aligned);
  WT_RUN(test_reinit_after_free);
  WT_DONE();
}
