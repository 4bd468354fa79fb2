/* wt_modules.c: the application modules of one router (see wt_modules.h). */
#include "wt_modules.h"

#include <string.h>

#include "wt_error.h"

int wt_modules_check(const wt_app_module *const *mods, size_t n) {
  if (n > WT_APP_MAX_MODULES || (n && !mods)) {
    return WT_ERR_INVAL;
  }
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    const wt_app_module *md = mods[i];
    if (!md || (md->n_counters && !md->counter_names)) {
      return WT_ERR_INVAL;
    }
    for (size_t k = 0; k < md->n_counters; k++) {
      if (!md->counter_names[k]) {
        return WT_ERR_INVAL;
      }
    }
    total += md->n_counters;
  }
  return total > WT_APP_MAX_COUNTERS ? WT_ERR_INVAL : (int)total;
}

int wt_modules_init(wt_modules *m, const wt_app_module *const *mods, size_t n, wt_app_router *r,
                    int on_worker, uint32_t index) {
  memset(m, 0, sizeof(*m));
  int rv = wt_modules_check(mods, n);
  if (rv < 0) {
    return rv;
  }
  m->mods = mods;
  m->n = n;
  for (size_t i = 0; i < n; i++) {
    const wt_app_module *md = mods[i];
    rv = md->init ? md->init(md->arg, r, on_worker, index, &m->state[i]) : 0;
    if (rv < 0) {
      wt_modules_free(m);
      return rv;
    }
    m->n_init = i + 1;
  }
  return 0;
}

void wt_modules_free(wt_modules *m) {
  while (m->n_init > 0) {
    size_t i = --m->n_init;
    const wt_app_module *md = m->mods[i];
    if (md->fini) {
      md->fini(md->arg, m->state[i]);
    }
    m->state[i] = NULL;
  }
}

void wt_modules_counters(const wt_modules *m, uint64_t *out) {
  memset(out, 0, WT_APP_MAX_COUNTERS * sizeof(*out));
  size_t off = 0;
  for (size_t i = 0; i < m->n_init; i++) {
    const wt_app_module *md = m->mods[i];
    if (md->counters && md->n_counters) {
      md->counters(md->arg, m->state[i], out + off);
    }
    off += md->n_counters;
  }
}
