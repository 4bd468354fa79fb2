/* test_bridge.c: a shard's side of the application links (shards/
 * wt_bridge.h) over the in-memory network (tests/sim): the fan-out group
 * lag bound counts what a subscriber holds (issue 17).
 *
 * The test plays the worker (it answers the session request on the link
 * and posts group commands) and drives a real server engine whose
 * callbacks are the bridge's; the client is the harness's. Once the
 * subscriber's session is open, the network stops carrying anything from
 * the server to the client: nothing the server sends is acknowledged, so
 * every mirrored byte stays held. The publisher's groups are one byte each,
 * each byte in a 16 KiB buffer of its own (what a publisher sending
 * one-byte uni streams makes the shard hold): with a 64 KiB bound the
 * subscriber lags (its oldest groups reset) after 4 groups, at the
 * buffers' capacity, not after 65536 groups of one byte. Slices of one
 * buffer hold it once: a group of 40 one-byte writes into one buffer stays
 * under the bound. */
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "wt_app.h"
#include "wt_bridge.h"
#include "wt_buf.h"
#include "wt_engine.h"
#include "wt_link.h"
#include "wt_msg.h"
#include "wt_sim_check.h"

#define MS    WT_SIM_MS
#define CAP   16384u
#define BOUND (4u * CAP)

static wt_sim_certs g_certs;

static const wt_app_ops g_ops = {.name = "sub"};

typedef struct world {
  wt_sim sim;
  wt_waker swk, wwk;
  wt_link *link;
  wt_app_router *router;
  wt_bridge *b;
  wt_buf_pool *pool; /* the "publisher's" buffers */
  uint64_t h;        /* the bridge's id of the subscriber's session (0: none yet) */
  int open;
} world;

/* Play the worker: answer requests with 200, note the open session, drop
 * the rest. */
static void worker(world *w) {
  wt_msg m[64];
  uint32_t n;
  wt_bridge_flush(w->b);
  while ((n = wt_lring_poll(&w->link->ev, m, 64)) > 0) {
    for (uint32_t i = 0; i < n; i++) {
      if (m[i].kind == WT_EV_SESSION_REQUEST) {
        w->h = wt_msg_get_ev_session_request(&m[i])->session;
        wt_msg r = wt_msg_cmd_respond(w->h, 200, NULL, 0, 0);
        CHECK_EQ(wt_lring_post(&w->link->cmd, &r), 0);
      } else if (m[i].kind == WT_EV_SESSION_OPEN) {
        w->open = 1;
      }
      wt_msg_drop(&m[i]);
    }
  }
  wt_lring_flush(&w->link->cmd);
  wt_bridge_poll(w->b, 1000);
  wt_bridge_flush(w->b);
}

static int c_open(wt_sim *sim, void *arg) {
  world *w = arg;
  (void)sim;
  worker(w);
  return w->open;
}

static int c_never(wt_sim *sim, void *arg) {
  (void)sim;
  worker(arg);
  return 0;
}

/* Drop everything the server sends from now on. */
static int drop_down(void *arg, wt_sim *sim, wt_sim_pkt *p) {
  (void)arg;
  (void)sim;
  return !p->to_server;
}

static int world_init(world *w) {
  memset(w, 0, sizeof(*w));
  wt_sim_config cfg;
  wt_sim_config_default(&cfg);
  wt_sim_init(&w->sim, &cfg, NULL);
  w->swk.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  w->wwk.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (w->swk.efd < 0 || w->wwk.efd < 0 || wt_link_new(&w->link, 0, 0, 256, &w->swk, &w->wwk) < 0 ||
      wt_app_router_new(&w->router) < 0 || wt_app_router_add(w->router, "/sub", &g_ops, NULL) < 0 ||
      wt_buf_pool_new(&w->pool, CAP, 0) < 0) {
    return -1;
  }
  wt_link *links[1] = {w->link};
  wt_bridge_config bc = {.shard = 0, .n_workers = 1, .router = w->router, .links = links};
  if (wt_bridge_new(&w->b, &bc) < 0) {
    return -1;
  }
  wt_engine_callbacks cb;
  wt_bridge_engine_callbacks(&cb);
  wt_engine_config sc, cc;
  wt_engine_config_default(&sc, 1);
  sc.cert_file = g_certs.cert[0];
  sc.key_file = g_certs.key[0];
  wt_engine_config_default(&cc, 0);
  cc.pin_sha256 = g_certs.pin[0];
  w->sim.srv_cfg = sc;
  if (wt_engine_new(&w->sim.srv.e, &w->sim.srv_cfg, &cb, w->b, w->sim.now) != 0 ||
      wt_sim_client_add(&w->sim, &cc, NULL) != 0) {
    return -1;
  }
  wt_bridge_set_engine(w->b, w->sim.srv.e);
  wt_conn *c = wt_sim_connect(&w->sim, 0, NULL);
  if (!c || !wt_sim_open_session(&w->sim, 0, c, "/sub", NULL) ||
      wt_sim_run_until(&w->sim, c_open, w, 2000 * MS) != 1) {
    return -1;
  }
  return 0;
}

static void world_free(world *w) {
  wt_bridge_detach(w->b);
  wt_sim_free(&w->sim); /* the engines: releases come back to the bridge */
  wt_bridge_del(w->b);
  wt_msg m[64];
  uint32_t n;
  while ((n = wt_lring_poll(&w->link->ev, m, 64)) > 0) {
    for (uint32_t i = 0; i < n; i++) {
      wt_msg_drop(&m[i]);
    }
  }
  wt_link_del(w->link);
  wt_app_router_del(w->router);
  wt_buf_pool_del(w->pool);
  close(w->swk.efd);
  close(w->wwk.efd);
}

static void post(world *w, wt_msg *m) {
  CHECK_EQ(wt_lring_post(&w->link->cmd, m), 0);
  wt_lring_flush(&w->link->cmd);
  worker(w);
}

/* To a subscriber that acknowledges nothing: n one-byte groups, each byte
 * in a buffer of its own (shared = 0), or one group of n one-byte writes
 * of one buffer (shared = 1). *lagged: the groups dropped for lag. */
static void lag_case(int shared, uint32_t n, uint64_t *lagged_out) {
  *lagged_out = UINT64_MAX;
  world w;
  CHECK_FATAL(world_init(&w) == 0);
  wt_app_group_counters *gc = wt_app_group_counters_new();
  CHECK_FATAL(gc != NULL);
  wt_app_group_counters_ref(gc); /* the message's */
  wt_msg m = wt_msg_cmd_group_new(1, BOUND, gc);
  post(&w, &m);
  m = wt_msg_cmd_group_join(1, w.h);
  post(&w, &m);
  w.sim.filter = drop_down; /* nothing reaches the client: nothing is acknowledged */
  wt_buf *b = NULL;
  for (uint32_t i = 0; i < n; i++) {
    if (!shared || !b) {
      b = wt_buf_alloc(w.pool, 0);
      CHECK_FATAL(b != NULL);
    }
    b->data[b->len] = (uint8_t)i;
    uint64_t gsid = shared ? 1 : 1 + i;
    if (!shared || i == 0) {
      m = wt_msg_cmd_group_stream(1, gsid, 0);
      post(&w, &m);
    }
    wt_buf_ref(b); /* the message's */
    m = wt_msg_cmd_group_write(1, gsid, b, b->len++, 1, !shared || i + 1 == n);
    post(&w, &m);
    if (!shared) {
      wt_buf_unref(b);
    }
    wt_sim_run_until(&w.sim, c_never, &w, 5 * MS); /* the server sends (and loses) */
  }
  if (shared) {
    wt_buf_unref(b);
  }
  uint64_t lagged = atomic_load(&gc->dropped_streams_lagged);
  CHECK(atomic_load(&gc->delivered_streams) + lagged >=
        (shared ? 1 : n)); /* a FINed one may lag still */
  m = wt_msg_cmd_group_del(1, 0);
  post(&w, &m);
  wt_app_group_counters_unref(gc);
  world_free(&w);
  *lagged_out = lagged;
}

static void test_lag_counts_held_buffers(void) {
  /* 12 groups of one byte, each pinning its own 16 KiB: the bound (64
   * KiB) holds 4 of them at a time; the payload (12 bytes) is far below */
  uint64_t lagged;
  lag_case(0, 12, &lagged);
  CHECK(lagged >= 12 - BOUND / CAP && lagged < 12);
  /* one group of 40 one-byte writes in one buffer: held once, no lag */
  lag_case(1, 40, &lagged);
  CHECK_EQ(lagged, 0);
}

int main(void) {
  if (wt_sim_test_init(&g_certs, 1) != 0) {
    return 1;
  }
  WT_RUN(test_lag_counts_held_buffers);
  wt_sim_certs_remove(&g_certs);
  WT_DONE();
}
