/* wt_app_worker.h: an application worker thread.
 *
 * A worker runs applications (wt_app.h) for the sessions the shards route
 * to it: its own router (the application modules' routes, each with this
 * worker's state and counters: wt_modules.h), timers, buffer pool and dispatcher (wt_app_ctx.h),
 * and one link per shard (wt_link.h).
 *
 * The loop, one turn: events from every link (bounded), due timers, send
 * the commands (waking shards that sleep); sleep on the eventfd with the
 * next timer as timeout when no event is waiting (announced first, so a
 * shard that posts meanwhile writes the eventfd).
 *
 * Stopping: wt_app_worker_stop (any thread) once every shard has detached (so
 * every session's close is already in the rings): the worker handles what
 * is left, delivers the closes, frees its applications and returns.
 *
 * Inline (wt_runtime_config.inline_apps): no thread of its own. Shard j's
 * loop calls wt_app_worker_turn after each of its turns and folds
 * wt_app_worker_pending / wt_app_worker_next_timer / the overflow flag into its
 * sleep; the worker's waker is the shard's, so a shard that posts to it
 * wakes that shard. At the end the shard thread calls wt_app_worker_finish
 * once every shard has detached. */
#ifndef WT_APP_WORKER_H
#define WT_APP_WORKER_H

#include <stdint.h>

#include "wt_app.h"
#include "wt_link.h"

typedef struct wt_app_worker wt_app_worker;

typedef struct wt_app_worker_config {
  uint32_t id, n_workers, n_shards;
  wt_link *const *links;               /* [shard] */
  wt_waker *waker;                     /* this worker's (efd created by the caller) */
  const wt_app_module *const *modules; /* the applications (wt_app.h) ... */
  size_t n_modules;                    /* ... of this many */
  uint32_t stream_credit;              /* a stream's initial send credit (0 = default) */
  uint32_t stream_credit_max;          /* ... and how far it may grow (0 = default; wt_app_ctx.h) */
  const char *const *protocols;        /* the server's protocols, preferred first (wt_app_ctx.h) */
  size_t n_protocols;
  wt_mem_budget *mem; /* the process memory budget its buffers are charged to, or NULL */
} wt_app_worker_config;

/* On the worker's own thread (its pool and timers belong to it). */
int wt_app_worker_new(wt_app_worker **out, const wt_app_worker_config *cfg);
int wt_app_worker_run(wt_app_worker *w);
void wt_app_worker_del(wt_app_worker *w);
/* Inline use, on the thread that created w: one turn at time now (events,
 * due timers, commands sent, counters published when asked). Returns the
 * events handled; *overflow = 1 while commands wait for room in a ring. */
size_t wt_app_worker_turn(wt_app_worker *w, uint64_t now, int *overflow);
/* Something to do now (an event waits, counters were asked for). */
int wt_app_worker_pending(wt_app_worker *w);
/* When the next timer is due (UINT64_MAX: none). */
uint64_t wt_app_worker_next_timer(wt_app_worker *w);
/* Every shard has detached: handle what is left, deliver the closes, free
 * the applications (what wt_app_worker_run does after wt_app_worker_stop). */
void wt_app_worker_finish(wt_app_worker *w);
/* Any thread. */
void wt_app_worker_stop(wt_app_worker *w);
/* Any thread: ask the worker to publish its counters (it also does every
 * 50 ms and when it stops); returns the request's number for
 * wt_app_worker_read_counters. */
uint64_t wt_app_worker_request_counters(wt_app_worker *w);
/* Any thread: copy the last published counters (the modules' into
 * out[0..WT_APP_MAX_COUNTERS), wt_modules_counters); returns 1 if they
 * answer request seq (or a later one), else 0 (the copy is older). */
int wt_app_worker_read_counters(wt_app_worker *w, uint64_t seq, uint64_t *out,
                                wt_app_ctx_stats *ctx_out);

#endif
