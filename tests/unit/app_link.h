/* app_link.h: the shared part of the unit tests that drive an application
 * worker's dispatcher (shards/wt_app_ctx.h) from the shard's side of a
 * link on one thread (test_app_ctx.c, test_moq_app.c): the link and its
 * wakers, a router, a timer heap, a buffer pool for the events' bytes, and
 * the dispatcher. Each test reads the worker's commands back its own way.
 *
 * Ownership: a wt_test_link is embedded in the test; app_link_open makes
 * everything in it, app_link_free frees it after the test deleted the
 * dispatcher (wt_app_ctx_del, whose commands it may still read) and read
 * or dropped the commands. Header-only (static functions), one thread. */
#ifndef APP_LINK_H
#define APP_LINK_H

#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "check.h"
#include "wt_app.h"
#include "wt_app_ctx.h"
#include "wt_buf.h"
#include "wt_link.h"
#include "wt_timer.h"

typedef struct wt_test_link {
  wt_waker swk, wwk;
  wt_link *link;
  wt_app_router *router;
  wt_timer_heap timers;
  wt_app_ctx *ctx;
  wt_buf_pool *pool; /* the "shard's" buffers (requests, stream data) */
} wt_test_link;

/* Make t: a link of ring_cap messages each way, a pool of pool_buf-byte
 * buffers, a router filled by routes(arg, router) (may be NULL), then the
 * dispatcher from c (its router, timers, links and worker/shard counts are
 * set here: worker 0 of 1, 1 shard). 0 or -1. */
static inline int app_link_open(wt_test_link *t, uint32_t ring_cap, size_t pool_buf,
                                int (*routes)(void *arg, wt_app_router *r), void *arg,
                                wt_app_ctx_config c) {
  memset(t, 0, sizeof(*t));
  t->swk.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  t->wwk.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (t->swk.efd < 0 || t->wwk.efd < 0 ||
      wt_link_new(&t->link, 0, 0, ring_cap, &t->swk, &t->wwk) < 0 ||
      wt_app_router_new(&t->router) < 0 || (routes && routes(arg, t->router) < 0) ||
      wt_timer_init(&t->timers) < 0 || wt_buf_pool_new(&t->pool, pool_buf, 0) < 0) {
    return -1;
  }
  wt_link *links[1] = {t->link};
  c.router = t->router;
  c.timers = &t->timers;
  c.worker = 0;
  c.n_workers = 1;
  c.n_shards = 1;
  c.links = links;
  return wt_app_ctx_new(&t->ctx, &c);
}

/* Post one event to the worker and let it handle everything queued (its
 * commands stay in the link for the test to read). */
static inline void app_link_event(wt_test_link *t, const wt_msg *m) {
  CHECK_EQ(wt_lring_post(&t->link->ev, m), 0);
  wt_lring_flush(&t->link->ev);
  wt_app_ctx_poll(t->ctx, 1000);
}

/* Free what app_link_open made, but the dispatcher (deleted before). */
static inline void app_link_free(wt_test_link *t) {
  wt_link_del(t->link);
  wt_buf_pool_del(t->pool);
  wt_timer_free(&t->timers);
  wt_app_router_del(t->router);
  close(t->swk.efd);
  close(t->wwk.efd);
}

#endif
