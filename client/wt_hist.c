/* wt_hist.c: samples and histograms (see wt_hist.h). */
#include "wt_hist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void wt_samples_add(wt_samples *s, uint64_t x) {
  if (s->n == s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 4096;
    uint64_t *nv = realloc(s->v, nc * sizeof(*nv));
    if (!nv) {
      s->dropped++;
      return;
    }
    s->v = nv;
    s->cap = nc;
  }
  s->v[s->n++] = x;
}

void wt_samples_merge(wt_samples *into, const wt_samples *from) {
  for (size_t i = 0; i < from->n; i++) {
    wt_samples_add(into, from->v[i]);
  }
  into->dropped += from->dropped;
}

void wt_samples_free(wt_samples *s) {
  free(s->v);
  memset(s, 0, sizeof(*s));
}

static int samples_cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

void wt_samples_sort(uint64_t *v, size_t n) {
  if (n) {
    qsort(v, n, sizeof(*v), samples_cmp);
  }
}

uint64_t wt_samples_pct(const uint64_t *v, size_t n, double p) {
  size_t i = (size_t)ceil(p / 100.0 * (double)n);
  i = i ? i - 1 : 0;
  return v[i < n ? i : n - 1];
}

static size_t hist_idx(uint64_t v) {
  if (v < 128) {
    return (size_t)v;
  }
  if (v >= (UINT64_C(1) << 46)) {
    v = (UINT64_C(1) << 46) - 1;
  }
  int e = 63 - __builtin_clzll(v); /* 7..45 */
  uint64_t sub = (v >> (e - 6)) - 64;
  return 128 + (size_t)(e - 7) * 64 + (size_t)sub;
}

static uint64_t hist_edge(size_t i) {
  if (i < 128) {
    return i;
  }
  size_t e = (i - 128) / 64 + 7, sub = (i - 128) % 64;
  return ((uint64_t)(sub + 65) << (e - 6)) - 1;
}

void wt_hist_add(wt_hist *h, uint64_t v) {
  h->b[hist_idx(v)]++;
  h->n++;
}

void wt_hist_merge(wt_hist *into, const wt_hist *h) {
  for (size_t i = 0; i < WT_HIST_N; i++) {
    into->b[i] += h->b[i];
  }
  into->n += h->n;
}

uint64_t wt_hist_pct(const wt_hist *h, double pct) {
  if (!h->n) {
    return 0;
  }
  uint64_t want = (uint64_t)((double)h->n * pct / 100.0);
  if (want >= h->n) {
    want = h->n - 1;
  }
  uint64_t seen = 0;
  for (size_t i = 0; i < WT_HIST_N; i++) {
    seen += h->b[i];
    if (seen > want) {
      return hist_edge(i);
    }
  }
  return hist_edge(WT_HIST_N - 1);
}
