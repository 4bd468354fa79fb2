/* test_gcache.c: the group cache (apps/wt_app_gcache.h): the newest group
 * for late joiners, and the last few complete groups for moq-lite-05's
 * FETCH: which groups are kept, evicted (by count, by bytes of capacity
 * held), dropped (torn, too big), and that every buffer reference it takes
 * is given back. */
#include <stdatomic.h>

#include "check.h"
#include "wt_app_gcache.h"
#include "wt_buf.h"

#define CAP 1024u

static wt_buf_pool *g_pool;
static wt_buf *bufs[16];

static uint32_t refs(int i) {
  return atomic_load(&bufs[i]->refs);
}

/* Retain len bytes at off of bufs[i]. */
static void keep(wt_app_gcache *g, int i, size_t off, size_t len, uint64_t max, uint64_t total) {
  wt_app_gcache_retain_total(g, bufs[i], off, len, max, total);
}

static int has(const wt_app_gcache *g, uint64_t seq, size_t *n) {
  const wt_app_gcache_slice *s;
  size_t k = 0;
  int rv = wt_app_gcache_find(g, seq, &s, &k);
  if (n) {
    *n = k;
  }
  return rv;
}

static void test_past_groups(void) {
  wt_app_gcache g = {0};
  const uint64_t max = 4 * CAP, total = 64 * CAP;
  /* groups 1..3 complete, 3 kept (keep = 3) */
  for (int seq = 1; seq <= 3; seq++) {
    wt_app_gcache_begin(&g, (uint64_t)seq, 3);
    keep(&g, seq, 0, 10, max, total);
    keep(&g, seq, 10, 20, max, total); /* continues the slice: joined */
    wt_app_gcache_fin(&g);
  }
  size_t n;
  CHECK(has(&g, 1, &n) && n == 1);
  CHECK(has(&g, 3, &n) && n == 1);
  CHECK_EQ(g.bytes, 3 * CAP);
  CHECK_EQ(refs(1), 2);
  /* group 4 begins: 1 goes (3 at most, the new one included) */
  wt_app_gcache_begin(&g, 4, 3);
  CHECK(!has(&g, 1, NULL) && has(&g, 2, NULL) && has(&g, 3, NULL));
  CHECK(!has(&g, 4, NULL)); /* not complete: not served */
  CHECK_EQ(refs(1), 1);
  CHECK_EQ(g.evicted, 1);
  keep(&g, 4, 0, 5, max, total);
  keep(&g, 5, 0, 5, max, total); /* another buffer: a slice of its own */
  const wt_app_gcache_slice *cur;
  wt_app_gcache_cur(&g, &cur, &n);
  CHECK(n == 2 && cur[0].buf == bufs[4] && cur[1].buf == bufs[5]);
  /* its stream is reset: it goes, the complete ones stay */
  wt_app_gcache_drop_cur(&g);
  CHECK(!g.on && has(&g, 2, NULL) && has(&g, 3, NULL));
  wt_app_gcache_cur(&g, &cur, &n);
  CHECK_EQ(n, 0);
  CHECK(refs(4) == 1 && refs(5) == 1);
  /* a torn group (no FIN) is dropped when the next begins */
  wt_app_gcache_begin(&g, 6, 3);
  keep(&g, 6, 0, 5, max, total);
  wt_app_gcache_begin(&g, 7, 3);
  CHECK(!has(&g, 6, NULL) && refs(6) == 1);
  CHECK(has(&g, 2, NULL) && has(&g, 3, NULL)); /* with 7: three */
  CHECK_EQ(g.evicted, 1);
  wt_app_gcache_free(&g);
  for (int i = 0; i < 16; i++) {
    CHECK_EQ(refs(i), 1);
  }
}

/* The bytes of capacity held bound all groups: the oldest go first; a
 * group over max alone (or over the total with nothing left to evict) is
 * dropped whole. */
static void test_byte_bounds(void) {
  wt_app_gcache g = {0};
  const uint64_t max = 2 * CAP, total = 3 * CAP;
  for (int seq = 0; seq < 3; seq++) {
    wt_app_gcache_begin(&g, (uint64_t)seq, 8);
    keep(&g, seq, 0, 1, max, total);
    wt_app_gcache_fin(&g);
  }
  CHECK_EQ(g.bytes, 3 * CAP);
  wt_app_gcache_begin(&g, 3, 8);
  keep(&g, 3, 0, 1, max, total); /* 4 buffers > 3: group 0 goes */
  CHECK(!has(&g, 0, NULL) && has(&g, 1, NULL) && has(&g, 2, NULL));
  CHECK_EQ(g.bytes, 3 * CAP);
  keep(&g, 4, 0, 1, max, total); /* group 1 goes */
  CHECK(!has(&g, 1, NULL) && has(&g, 2, NULL));
  keep(&g, 5, 0, 1, max, total); /* 3 buffers in group 3 > max: it is dropped */
  CHECK(!g.on);
  wt_app_gcache_fin(&g); /* nothing: it is gone */
  CHECK(!has(&g, 3, NULL) && has(&g, 2, NULL));
  CHECK(refs(3) == 1 && refs(4) == 1 && refs(5) == 1);
  CHECK_EQ(g.bytes, CAP);
  /* keep 1 (the plain relay's start): only the newest, never a past one */
  wt_app_gcache_start(&g);
  CHECK(!has(&g, 2, NULL) && refs(2) == 1);
  keep(&g, 6, 0, 3, max, total);
  wt_app_gcache_fin(&g);
  CHECK(has(&g, 0, NULL)); /* start's group is number 0 */
  wt_app_gcache_start(&g);
  CHECK(!has(&g, 0, NULL) && refs(6) == 1);
  CHECK_EQ(g.evicted, 2);
  wt_app_gcache_free(&g);
  for (int i = 0; i < 16; i++) {
    CHECK_EQ(refs(i), 1);
  }
}

static void setup(void) {
  CHECK_FATAL(wt_buf_pool_new(&g_pool, CAP, 0) == 0);
  for (int i = 0; i < 16; i++) {
    bufs[i] = wt_buf_alloc(g_pool, 0);
    CHECK_FATAL(bufs[i] && bufs[i]->cap == CAP);
  }
}

int main(void) {
  setup();
  if (!bufs[15]) {
    return 1;
  }
  WT_RUN(test_past_groups);
  WT_RUN(test_byte_bounds);
  for (int i = 0; i < 16; i++) {
    wt_buf_unref(bufs[i]);
  }
  wt_buf_pool_del(g_pool);
  WT_DONE();
}
