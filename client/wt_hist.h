/* wt_hist.h: latency figures of the client programs: a growable array of
 * samples with nearest-rank percentiles (exact, for runs that keep every
 * sample) and a fixed log-bucket histogram (bounded memory, mergeable; about
 * 1.6 % wide buckets) for runs that do not.
 *
 * Ownership: wt_samples owns its array (wt_samples_free); wt_hist is a plain
 * value. Threading: none (one owner; merge after the threads are done). */
#ifndef WT_HIST_H
#define WT_HIST_H

#include <stddef.h>
#include <stdint.h>

typedef struct wt_samples {
  uint64_t *v;
  size_t n, cap;
  uint64_t dropped; /* not stored (out of memory): counted, never hidden */
} wt_samples;

void wt_samples_add(wt_samples *s, uint64_t x);
void wt_samples_merge(wt_samples *into, const wt_samples *from);
void wt_samples_free(wt_samples *s);
/* Sort in place (ascending), before wt_samples_pct. */
void wt_samples_sort(uint64_t *v, size_t n);
/* Nearest-rank percentile p (0..100] of sorted v[0..n), n > 0. */
uint64_t wt_samples_pct(const uint64_t *v, size_t n, double p);

/* Buckets: exact below 128, then 64 per power of two, up to 2^46. */
#define WT_HIST_N (128 + 40 * 64)

typedef struct wt_hist {
  uint64_t n;
  uint64_t b[WT_HIST_N];
} wt_hist;

void wt_hist_add(wt_hist *h, uint64_t v);
void wt_hist_merge(wt_hist *into, const wt_hist *h);
/* The upper edge of the bucket holding percentile pct; 0 when empty. */
uint64_t wt_hist_pct(const wt_hist *h, double pct);

#endif
