/* test_hist: client/wt_hist.h: nearest-rank percentiles of samples, the
 * log-bucket histogram's edges and percentiles, merging; client/wt_errlist.h. */
#include "check.h"
#include "wt_errlist.h"
#include "wt_hist.h"

static void test_samples(void) {
  wt_samples a = {0}, b = {0};
  for (uint64_t i = 100; i >= 1; i--) {
    wt_samples_add(i % 2 ? &a : &b, i);
  }
  wt_samples_merge(&a, &b);
  CHECK_EQ(a.n, 100);
  CHECK_EQ(a.dropped, 0);
  wt_samples_sort(a.v, a.n);
  CHECK_EQ(a.v[0], 1);
  CHECK_EQ(a.v[99], 100);
  CHECK_EQ(wt_samples_pct(a.v, a.n, 50), 50);
  CHECK_EQ(wt_samples_pct(a.v, a.n, 99), 99);
  CHECK_EQ(wt_samples_pct(a.v, a.n, 99.9), 100);
  CHECK_EQ(wt_samples_pct(a.v, a.n, 100), 100);
  CHECK_EQ(wt_samples_pct(a.v, a.n, 0), 1);
  uint64_t one = 7;
  CHECK_EQ(wt_samples_pct(&one, 1, 50), 7);
  wt_samples_free(&a);
  wt_samples_free(&b);
  CHECK(a.v == NULL && a.n == 0);
}

static void test_hist(void) {
  static wt_hist h, g;
  CHECK_EQ(wt_hist_pct(&h, 50), 0);
  for (uint64_t i = 0; i < 100; i++) {
    wt_hist_add(&h, i); /* exact buckets below 128 */
  }
  CHECK_EQ(h.n, 100);
  CHECK_EQ(wt_hist_pct(&h, 50), 50);
  CHECK_EQ(wt_hist_pct(&h, 99), 99);
  wt_hist_add(&g, 1000000);
  wt_hist_merge(&h, &g);
  CHECK_EQ(h.n, 101);
  uint64_t top = wt_hist_pct(&h, 100);
  /* the bucket's upper edge: at most 1/64 above the value */
  CHECK(top >= 1000000 && top <= 1000000 + 1000000 / 64);
  wt_hist_add(&g, UINT64_MAX); /* clamped into the last bucket */
  CHECK(wt_hist_pct(&g, 100) >= (UINT64_C(1) << 45));
}

static void test_errlist(void) {
  wt_errlist l = {0};
  l.max = 2;
  wt_errlist_add(&l, "a");
  wt_errlist_add(&l, "b");
  wt_errlist_add(&l, "c");
  CHECK_EQ(l.n, 2);
  CHECK_EQ(l.total, 3);
  CHECK(strcmp(l.v[0], "a") == 0 && strcmp(l.v[1], "b") == 0);
  wt_errlist_free(&l);
  CHECK(l.v == NULL && l.total == 0);
  for (int i = 0; i < 40; i++) {
    wt_errlist_add(&l, "x"); /* unbounded: grows */
  }
  CHECK_EQ(l.n, 40);
  wt_errlist_free(&l);
}

int main(void) {
  WT_RUN(test_samples);
  WT_RUN(test_hist);
  WT_RUN(test_errlist);
  WT_DONE();
}
