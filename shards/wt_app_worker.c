/* wt_app_worker.c: an application worker thread (see wt_app_worker.h). */
#define WT_LOG_MODULE "worker"
#include "wt_app_worker.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wt_app_ctx.h"
#include "wt_error.h"
#include "wt_log.h"
#include "wt_modules.h"
#include "wt_timer.h"

#define WORKER_POLL_MAX   4096                  /* events per turn */
#define WORKER_PUBLISH_NS (50ull * 1000 * 1000) /* counters copied for readers */

struct wt_app_worker {
  wt_app_worker_config cfg;
  wt_link *links[64];
  wt_app_router *router;
  wt_timer_heap timers;
  int timers_init;
  wt_app_ctx *ctx;
  wt_modules mods;
  _Atomic int stop;
  uint64_t last_publish;
  _Atomic uint64_t req_seq, pub_seq;
  pthread_mutex_t mu; /* guards the published copies */
  uint64_t pub_counters[WT_APP_MAX_COUNTERS];
  wt_app_ctx_stats pub_ctx;
};

static uint64_t worker_clock_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int wt_app_worker_new(wt_app_worker **out, const wt_app_worker_config *cfg) {
  if (!out || !cfg || !cfg->links || !cfg->waker || cfg->n_shards == 0 || cfg->n_shards > 64) {
    return WT_ERR_INVAL;
  }
  wt_app_worker *w = calloc(1, sizeof(*w));
  if (!w) {
    return WT_ERR_NOMEM;
  }
  w->cfg = *cfg;
  for (uint32_t i = 0; i < cfg->n_shards; i++) {
    w->links[i] = cfg->links[i];
  }
  w->cfg.links = w->links;
  pthread_mutex_init(&w->mu, NULL);
  int rv = wt_app_router_new(&w->router);
  if (rv == 0) {
    rv = wt_modules_init(&w->mods, cfg->modules, cfg->n_modules, w->router, 1, cfg->id);
  }
  if (rv == 0) {
    rv = wt_timer_init(&w->timers);
    w->timers_init = rv == 0;
  }
  if (rv == 0) {
    wt_app_ctx_config cc = {.router = w->router,
                            .timers = &w->timers,
                            .worker = cfg->id,
                            .n_workers = cfg->n_workers,
                            .n_shards = cfg->n_shards,
                            .links = w->links,
                            .stream_credit = cfg->stream_credit,
                            .stream_credit_max = cfg->stream_credit_max,
                            .protocols = cfg->protocols,
                            .n_protocols = cfg->n_protocols};
    rv = wt_app_ctx_new(&w->ctx, &cc);
  }
  if (rv == 0) {
    wt_buf_pool_set_budget(wt_app_ctx_pool(w->ctx), cfg->mem);
  }
  if (rv < 0) {
    WT_LOG_ERROR("worker %u cannot start: %s", cfg->id, wt_err_str(rv));
    wt_app_worker_del(w);
    return rv;
  }
  wt_app_ctx_set_now(w->ctx, worker_clock_ns());
  *out = w;
  return 0;
}

void wt_app_worker_del(wt_app_worker *w) {
  if (!w) {
    return;
  }
  wt_app_ctx_del(w->ctx); /* closes reach the apps while their state exists */
  wt_modules_free(&w->mods);
  if (w->timers_init) {
    wt_timer_free(&w->timers);
  }
  wt_app_router_del(w->router);
  pthread_mutex_destroy(&w->mu);
  free(w);
}

void wt_app_worker_stop(wt_app_worker *w) {
  atomic_store_explicit(&w->stop, 1, memory_order_seq_cst);
  uint64_t one = 1;
  if (write(w->cfg.waker->efd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
    WT_LOG_WARN("stop: %s", strerror(errno));
  }
}

static void worker_publish(wt_app_worker *w) {
  uint64_t req = atomic_load_explicit(&w->req_seq, memory_order_acquire);
  pthread_mutex_lock(&w->mu);
  if (w->mods.n_init) { /* after wt_modules_free: the last ones stay */
    wt_modules_counters(&w->mods, w->pub_counters);
  }
  w->pub_ctx = *wt_app_ctx_get_stats(w->ctx);
  pthread_mutex_unlock(&w->mu);
  atomic_store_explicit(&w->pub_seq, req, memory_order_release);
}

uint64_t wt_app_worker_request_counters(wt_app_worker *w) {
  uint64_t seq = atomic_fetch_add(&w->req_seq, 1) + 1;
  uint64_t one = 1;
  if (write(w->cfg.waker->efd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
    WT_LOG_WARN("counters request: %s", strerror(errno));
  }
  return seq;
}

int wt_app_worker_read_counters(wt_app_worker *w, uint64_t seq, uint64_t *out,
                                wt_app_ctx_stats *ctx_out) {
  int ok = atomic_load_explicit(&w->pub_seq, memory_order_acquire) >= seq;
  pthread_mutex_lock(&w->mu);
  if (out) {
    memcpy(out, w->pub_counters, sizeof(w->pub_counters));
  }
  if (ctx_out) {
    *ctx_out = w->pub_ctx;
  }
  pthread_mutex_unlock(&w->mu);
  return ok;
}

#define WORKER_OVERFLOW_RETRY_MS 1 /* commands wait in overflow: next look */

/* Sleep until an event, a wake-up or the next timer (or, with commands
 * waiting in overflow, which nothing signals when a ring drains, 1 ms). */
static void worker_sleep(wt_app_worker *w, uint64_t now, int overflow) {
  wt_waker *k = w->cfg.waker;
  wt_waker_sleep_begin(k);
  if (wt_app_ctx_pending(w->ctx) || atomic_load(&w->stop) ||
      atomic_load(&w->req_seq) != atomic_load(&w->pub_seq)) {
    wt_waker_sleep_end(k);
    return;
  }
  uint64_t t = wt_timer_next(&w->timers);
  int timeout = -1;
  if (t != UINT64_MAX) {
    uint64_t d = t > now ? t - now : 0;
    timeout = (int)((d + 999999) / 1000000); /* ms, rounded up: never early */
    if (d > 3600ull * 1000000000ull) {
      timeout = 3600 * 1000;
    }
  }
  if (overflow && (timeout < 0 || timeout > WORKER_OVERFLOW_RETRY_MS)) {
    timeout = WORKER_OVERFLOW_RETRY_MS;
  }
  struct pollfd pfd = {.fd = k->efd, .events = POLLIN};
  int r = poll(&pfd, 1, timeout);
  wt_waker_sleep_end(k);
  if (r > 0) {
    uint64_t v;
    if (read(k->efd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
      WT_LOG_WARN("wake-up eventfd: %s", strerror(errno));
    }
  }
}

size_t wt_app_worker_turn(wt_app_worker *w, uint64_t now, int *overflow) {
  wt_app_ctx_set_now(w->ctx, now);
  size_t n = wt_app_ctx_poll(w->ctx, WORKER_POLL_MAX);
  wt_app_run_timers(w->ctx, now);
  *overflow = wt_app_ctx_flush(w->ctx);
  if (now - w->last_publish >= WORKER_PUBLISH_NS ||
      atomic_load_explicit(&w->req_seq, memory_order_relaxed) !=
          atomic_load_explicit(&w->pub_seq, memory_order_relaxed)) {
    w->last_publish = now;
    worker_publish(w);
  }
  return n;
}

int wt_app_worker_pending(wt_app_worker *w) {
  return wt_app_ctx_pending(w->ctx) || atomic_load(&w->req_seq) != atomic_load(&w->pub_seq);
}

uint64_t wt_app_worker_next_timer(wt_app_worker *w) {
  return wt_timer_next(&w->timers);
}

void wt_app_worker_finish(wt_app_worker *w) {
  /* bounded: the shards have detached, so only what is in the rings is left */
  for (int i = 0; i < 1024 && wt_app_ctx_poll(w->ctx, WORKER_POLL_MAX) > 0; i++) {
  }
  wt_app_ctx_close_all(w->ctx); /* sessions the shards never reported closed */
  worker_publish(w);            /* the modules' last counters */
  wt_modules_free(&w->mods);    /* the apps drop the buffers they kept */
  wt_app_ctx_flush(w->ctx);
  worker_publish(w);
}

int wt_app_worker_run(wt_app_worker *w) {
  int overflow = 0;
  for (;;) {
    uint64_t now = worker_clock_ns();
    size_t n = wt_app_worker_turn(w, now, &overflow);
    if (atomic_load_explicit(&w->stop, memory_order_acquire) && n == 0 &&
        !wt_app_ctx_pending(w->ctx)) {
      break; /* the shards have detached: nothing more will come */
    }
    if (n < WORKER_POLL_MAX) {
      worker_sleep(w, now, overflow);
    }
  }
  wt_app_worker_finish(w);
  return 0;
}
