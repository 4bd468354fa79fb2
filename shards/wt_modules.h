/* wt_modules.h: the application modules (wt_app_module, wt_app.h) of one
 * router: the runtime side of the registration hook.
 *
 * Every shard and every application worker embeds one wt_modules: init
 * calls each module's init hook for the thread's router (routes and
 * per-router state), free its fini hook, counters gathers the worker's
 * counters for a snapshot (wt_snapshot.h: app_counters, modules one after
 * the other in the order given). The runtime never knows which
 * applications it runs.
 *
 * Threads: a wt_modules belongs to the thread of its router. */
#ifndef WT_MODULES_H
#define WT_MODULES_H

#include <stddef.h>
#include <stdint.h>

#include "wt_app.h"

typedef struct wt_modules {
  const wt_app_module *const *mods;
  size_t n, n_init;
  void *state[WT_APP_MAX_MODULES];
} wt_modules;

/* Check a module list: at most WT_APP_MAX_MODULES modules, non-NULL, with
 * at most WT_APP_MAX_COUNTERS counters together (names non-NULL). Returns
 * the number of counters or WT_ERR_INVAL. */
int wt_modules_check(const wt_app_module *const *mods, size_t n);

/* Run every module's init for router r (on_worker, index: see
 * wt_app_module.init). On failure the modules already initialised are
 * freed again, and the first error is returned. mods must outlive m. */
int wt_modules_init(wt_modules *m, const wt_app_module *const *mods, size_t n, wt_app_router *r,
                    int on_worker, uint32_t index);

/* Every module's fini, in reverse order. Idempotent. */
void wt_modules_free(wt_modules *m);

/* The counters of every module into out[0..WT_APP_MAX_COUNTERS) (zeros
 * after the last). On the router's thread. */
void wt_modules_counters(const wt_modules *m, uint64_t *out);

#endif
