/* wt_app_gcache.c: see wt_app_gcache.h. */
#include "wt_app_gcache.h"

#include <stdlib.h>

void wt_app_gcache_clear(wt_app_gcache *g) {
  for (size_t i = 0; i < g->n; i++) {
    wt_buf_unref(g->slices[i].buf);
  }
  g->n = 0;
  g->bytes = 0;
  g->on = 0;
}

void wt_app_gcache_start(wt_app_gcache *g) {
  wt_app_gcache_clear(g);
  g->on = 1;
}

void wt_app_gcache_retain(wt_app_gcache *g, wt_buf *b, size_t off, size_t len, uint64_t max) {
  if (!g->on || len == 0) {
    return;
  }
  wt_app_gcache_slice *last = g->n ? &g->slices[g->n - 1] : NULL;
  if (b && last && last->buf == b && (size_t)last->off + last->len == off &&
      last->len <= UINT32_MAX - len) {
    last->len += (uint32_t)len; /* already referenced and counted */
    return;
  }
  if (!b || g->bytes + b->cap > max || g->n >= WT_APP_GCACHE_SLICES || off > UINT32_MAX ||
      len > UINT32_MAX) {
    wt_app_gcache_clear(g); /* too big to replay: late joiners wait for the next group */
    return;
  }
  if (g->n == g->cap) {
    size_t nc = g->cap ? 2 * g->cap : 16;
    wt_app_gcache_slice *s = realloc(g->slices, nc * sizeof(*s));
    if (!s) {
      wt_app_gcache_clear(g);
      return;
    }
    g->slices = s;
    g->cap = nc;
  }
  wt_buf_ref(b);
  g->slices[g->n++] = (wt_app_gcache_slice){.buf = b, .off = (uint32_t)off, .len = (uint32_t)len};
  g->bytes += b->cap;
}

void wt_app_gcache_replay(const wt_app_gcache *g, wt_app_group *grp, wt_app_session *as,
                          uint64_t gsid, int fin) {
  for (size_t i = 0; i < g->n; i++) {
    const wt_app_gcache_slice *s = &g->slices[i];
    wt_app_group_catchup_data(grp, as, gsid, s->buf, s->off, s->len, fin && i + 1 == g->n);
  }
  if (fin && g->n == 0) {
    wt_app_group_catchup_data(grp, as, gsid, NULL, 0, 0, 1);
  }
}

void wt_app_gcache_free(wt_app_gcache *g) {
  wt_app_gcache_clear(g);
  free(g->slices);
  g->slices = NULL;
  g->cap = 0;
}
