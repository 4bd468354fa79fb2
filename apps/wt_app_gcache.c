/* wt_app_gcache.c: see wt_app_gcache.h. */
#include "wt_app_gcache.h"

#include <stdlib.h>
#include <string.h>

void wt_app_gcache_clear(wt_app_gcache *g) {
  for (size_t i = 0; i < g->n; i++) {
    wt_buf_unref(g->slices[i].buf);
  }
  g->n = 0;
  g->bytes = 0;
  g->on = 0;
  g->n_grps = 0;
}

/* Remove group k (its slices) from the cache. */
static void grp_remove(wt_app_gcache *g, size_t k) {
  wt_app_gcache_grp *gr = &g->grps[k];
  size_t end = k + 1 < g->n_grps ? g->grps[k + 1].first : g->n, cnt = end - gr->first;
  for (size_t i = gr->first; i < end; i++) {
    wt_buf_unref(g->slices[i].buf);
  }
  memmove(&g->slices[gr->first], &g->slices[end], (g->n - end) * sizeof(g->slices[0]));
  g->n -= cnt;
  g->bytes -= gr->bytes;
  for (size_t j = k + 1; j < g->n_grps; j++) {
    g->grps[j].first -= cnt;
  }
  memmove(&g->grps[k], &g->grps[k + 1], (g->n_grps - k - 1) * sizeof(g->grps[0]));
  g->n_grps--;
}

void wt_app_gcache_drop_cur(wt_app_gcache *g) {
  if (g->on && g->n_grps) {
    grp_remove(g, g->n_grps - 1);
  }
  g->on = 0;
}

void wt_app_gcache_begin(wt_app_gcache *g, uint64_t seq, size_t keep) {
  if (keep < 1) {
    keep = 1;
  }
  if (keep > WT_APP_GCACHE_GROUPS) {
    keep = WT_APP_GCACHE_GROUPS;
  }
  if (g->on && g->n_grps && !g->grps[g->n_grps - 1].fin) {
    grp_remove(g, g->n_grps - 1); /* torn: neither replayed nor fetched */
  }
  while (g->n_grps && g->n_grps >= keep) {
    grp_remove(g, 0);
    if (keep > 1) {
      g->evicted++;
    }
  }
  g->grps[g->n_grps++] = (wt_app_gcache_grp){.seq = seq, .first = g->n};
  g->on = 1;
}

void wt_app_gcache_start(wt_app_gcache *g) {
  wt_app_gcache_clear(g);
  wt_app_gcache_begin(g, 0, 1);
}

void wt_app_gcache_retain_total(wt_app_gcache *g, wt_buf *b, size_t off, size_t len, uint64_t max,
                                uint64_t total_max) {
  if (!g->on || len == 0 || !g->n_grps) {
    return;
  }
  wt_app_gcache_grp *cur = &g->grps[g->n_grps - 1];
  wt_app_gcache_slice *last = g->n > cur->first ? &g->slices[g->n - 1] : NULL;
  if (b && last && last->buf == b && (size_t)last->off + last->len == off &&
      last->len <= UINT32_MAX - len) {
    last->len += (uint32_t)len; /* already referenced and counted */
    return;
  }
  if (b && cur->bytes + b->cap <= max) {
    while (g->n_grps > 1 && (g->bytes + b->cap > total_max || g->n >= WT_APP_GCACHE_SLICES)) {
      grp_remove(g, 0); /* the oldest past group makes room */
      g->evicted++;
    }
  }
  cur = &g->grps[g->n_grps - 1];
  if (!b || cur->bytes + b->cap > max || g->bytes + b->cap > total_max ||
      g->n >= WT_APP_GCACHE_SLICES || off > UINT32_MAX || len > UINT32_MAX) {
    wt_app_gcache_drop_cur(g); /* too big to replay: late joiners wait for the next group */
    return;
  }
  if (g->n == g->cap) {
    size_t nc = g->cap ? 2 * g->cap : 16;
    wt_app_gcache_slice *s = realloc(g->slices, nc * sizeof(*s));
    if (!s) {
      wt_app_gcache_drop_cur(g);
      return;
    }
    g->slices = s;
    g->cap = nc;
  }
  wt_buf_ref(b);
  g->slices[g->n++] = (wt_app_gcache_slice){.buf = b, .off = (uint32_t)off, .len = (uint32_t)len};
  g->bytes += b->cap;
  cur->bytes += b->cap;
}

void wt_app_gcache_retain(wt_app_gcache *g, wt_buf *b, size_t off, size_t len, uint64_t max) {
  wt_app_gcache_retain_total(g, b, off, len, max, UINT64_MAX);
}

void wt_app_gcache_fin(wt_app_gcache *g) {
  if (g->on && g->n_grps) {
    g->grps[g->n_grps - 1].fin = 1;
  }
}

void wt_app_gcache_cur(const wt_app_gcache *g, const wt_app_gcache_slice **first, size_t *n) {
  if (!g->on || !g->n_grps) {
    *first = NULL;
    *n = 0;
    return;
  }
  const wt_app_gcache_grp *cur = &g->grps[g->n_grps - 1];
  *first = g->slices ? &g->slices[cur->first] : NULL;
  *n = g->n - cur->first;
}

int wt_app_gcache_find(const wt_app_gcache *g, uint64_t seq, const wt_app_gcache_slice **first,
                       size_t *n) {
  for (size_t k = 0; k < g->n_grps; k++) {
    const wt_app_gcache_grp *gr = &g->grps[k];
    if (gr->seq != seq || !gr->fin) {
      continue;
    }
    size_t end = k + 1 < g->n_grps ? g->grps[k + 1].first : g->n;
    *first = g->slices ? &g->slices[gr->first] : NULL;
    *n = end - gr->first;
    return 1;
  }
  return 0;
}

void wt_app_gcache_replay(const wt_app_gcache *g, wt_app_group *grp, wt_app_session *as,
                          uint64_t gsid, int fin) {
  const wt_app_gcache_slice *s;
  size_t n;
  wt_app_gcache_cur(g, &s, &n);
  for (size_t i = 0; i < n; i++) {
    wt_app_group_catchup_data(grp, as, gsid, s[i].buf, s[i].off, s[i].len, fin && i + 1 == n);
  }
  if (fin && n == 0) {
    wt_app_group_catchup_data(grp, as, gsid, NULL, 0, 0, 1);
  }
}

void wt_app_gcache_free(wt_app_gcache *g) {
  wt_app_gcache_clear(g);
  free(g->slices);
  g->slices = NULL;
  g->cap = 0;
}
