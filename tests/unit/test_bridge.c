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
 * under the bound.
 *
 * Pooled members (wt_app.h wt_app_group_join_opts, moq-lite's priority and
 * max latency): two tracks of one session share one bound, the lower
 * priority loses its groups first (equal priorities: the oldest first);
 * a group older than the member's latency budget is reset once a newer
 * one exists (on the simulation's clock), and a policy update applies;
 * when the track then goes quiet (no group opens or writes), the bridge's
 * timer (wt_bridge_next_expiry, run by wt_bridge_poll, where the shard
 * sleeps until it) still resets the stale group once past its budget.
 * A throttled subscriber (the network stalls for a while, then recovers)
 * of two pooled tracks loses whole groups of the lower-priority one only:
 * what it receives is every byte of a group then FIN, or a reset 0x10.
 * A member leaving (or its group deleted) still gets its whole groups in
 * flight; only incomplete ones are reset. */
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

static uint64_t sim_clock(void *arg) {
  return ((wt_sim *)arg)->now;
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
  wt_bridge_config bc = {.shard = 0,
                         .n_workers = 1,
                         .router = w->router,
                         .links = links,
                         .clock = sim_clock,
                         .clock_arg = &w->sim};
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
  /* one member: it lost every dropped group (the counters' worst member) */
  CHECK_EQ(atomic_load(&gc->member_dropped_max), lagged);
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

/* A group of one byte in a buffer of its own on group gid (stream gsid),
 * FIN when fin. */
static void one_group(world *w, uint64_t gid, uint64_t gsid, int open, int fin) {
  if (open) {
    wt_msg m = wt_msg_cmd_group_stream(gid, gsid, 0);
    post(w, &m);
  }
  wt_buf *b = wt_buf_alloc(w->pool, 0);
  CHECK_FATAL(b != NULL);
  b->data[0] = (uint8_t)gsid;
  b->len = 1;
  wt_msg m = wt_msg_cmd_group_write(gid, gsid, b, 0, 1, fin); /* takes our reference */
  post(w, &m);
  wt_sim_run_until(&w->sim, c_never, w, 5 * MS);
}

/* Two groups (tracks) A = 1 and B = 2 of one subscriber that acknowledges
 * nothing, pooled with priorities pa and pb: A1 B1 A2 B2 A3 B3, each
 * pinning 16 KiB against one 64 KiB bound: two of the six must go. */
static void prio_case(int pooled, uint8_t pa, uint8_t pb, uint64_t lagged[2], uint64_t prio[2]) {
  world w;
  CHECK_FATAL(world_init(&w) == 0);
  wt_app_group_counters *gc[2];
  for (int k = 0; k < 2; k++) {
    gc[k] = wt_app_group_counters_new();
    CHECK_FATAL(gc[k] != NULL);
    wt_app_group_counters_ref(gc[k]); /* the message's */
    wt_msg m = wt_msg_cmd_group_new((uint64_t)k + 1, BOUND, gc[k]);
    post(&w, &m);
    m = wt_msg_cmd_group_join_opts((uint64_t)k + 1, w.h, pooled, k ? pb : pa, 0);
    post(&w, &m);
  }
  w.sim.filter = drop_down;
  for (uint64_t i = 1; i <= 3; i++) {
    one_group(&w, 1, i, 1, 1);
    one_group(&w, 2, i, 1, 1);
  }
  for (int k = 0; k < 2; k++) {
    lagged[k] = atomic_load(&gc[k]->dropped_streams_lagged);
    prio[k] = atomic_load(&gc[k]->dropped_streams_priority);
    CHECK_EQ(atomic_load(&gc[k]->dropped_streams_latency), 0);
    wt_msg m = wt_msg_cmd_group_del((uint64_t)k + 1, 0);
    post(&w, &m);
    wt_app_group_counters_unref(gc[k]);
  }
  world_free(&w);
}

static void test_pooled_priorities(void) {
  uint64_t lagged[2], prio[2];
  /* A below B: both drops are A's (A1 for A3's room, A2 for B3's) */
  prio_case(1, 1, 2, lagged, prio);
  CHECK_EQ(lagged[0], 2);
  CHECK_EQ(lagged[1], 0);
  CHECK_EQ(prio[0], 1);
  CHECK_EQ(prio[1], 0);
  /* the other way round: B loses B1 (for A3) and B2 (its own B3's room) */
  prio_case(1, 2, 1, lagged, prio);
  CHECK_EQ(lagged[0], 0);
  CHECK_EQ(lagged[1], 2);
  CHECK_EQ(prio[1], 1);
  /* equal priorities: the oldest first, A1 (for A3) then B1 (for B3) */
  prio_case(1, 0, 0, lagged, prio);
  CHECK_EQ(lagged[0], 1);
  CHECK_EQ(lagged[1], 1);
  CHECK_EQ(prio[0], 0);
  CHECK_EQ(prio[1], 0);
  /* not pooled (the plain relay): each member its own 64 KiB, 48 KiB
   * held each: nothing is dropped, priorities are not looked at */
  prio_case(0, 1, 2, lagged, prio);
  CHECK_EQ(lagged[0] + lagged[1], 0);
  CHECK_EQ(prio[0] + prio[1], 0);
}

static void test_latency_budget(void) {
  world w;
  CHECK_FATAL(world_init(&w) == 0);
  wt_app_group_counters *gc = wt_app_group_counters_new();
  CHECK_FATAL(gc != NULL);
  wt_app_group_counters_ref(gc);
  wt_msg m = wt_msg_cmd_group_new(1, 64 * BOUND, gc);
  post(&w, &m);
  m = wt_msg_cmd_group_join_opts(1, w.h, 1, 0, 100 * MS);
  post(&w, &m);
  w.sim.filter = drop_down; /* nothing is acknowledged: every group is still in flight */
  one_group(&w, 1, 1, 1, 1);
  wt_sim_run_until(&w.sim, c_never, &w, 50 * MS);
  one_group(&w, 1, 2, 1, 0); /* group 1 is ~55 ms old: kept */
  CHECK_EQ(atomic_load(&gc->dropped_streams_latency), 0);
  wt_sim_run_until(&w.sim, c_never, &w, 100 * MS);
  one_group(&w, 1, 2, 0, 0); /* group 1 is > 100 ms old and 2 exists: reset */
  CHECK_EQ(atomic_load(&gc->dropped_streams_latency), 1);
  wt_sim_run_until(&w.sim, c_never, &w, 200 * MS);
  one_group(&w, 1, 2, 0, 1); /* group 2 is old but the newest: kept */
  CHECK_EQ(atomic_load(&gc->dropped_streams_latency), 1);
  /* an unbounded budget (a SUBSCRIBE_UPDATE to 0) keeps old groups ... */
  m = wt_msg_cmd_group_join_opts(1, w.h, 1, 0, 0);
  post(&w, &m);
  one_group(&w, 1, 3, 1, 1);
  wt_sim_run_until(&w.sim, c_never, &w, 200 * MS);
  one_group(&w, 1, 4, 1, 1);
  CHECK_EQ(atomic_load(&gc->dropped_streams_latency), 1);
  /* ... and one of 100 ms again drops groups 2 and 3 (older, unacknowledged) */
  m = wt_msg_cmd_group_join_opts(1, w.h, 1, 0, 100 * MS);
  post(&w, &m);
  one_group(&w, 1, 5, 1, 1);
  CHECK_EQ(atomic_load(&gc->dropped_streams_latency), 3);
  CHECK_EQ(atomic_load(&gc->dropped_streams_lagged), 0);
  m = wt_msg_cmd_group_del(1, 0);
  post(&w, &m);
  wt_app_group_counters_unref(gc);
  world_free(&w);
}

/* Run the simulation until t (>= now), then play the worker at t: what the
 * shard does when it sleeps until its bridge's next expiry. */
static void run_to(world *w, uint64_t t) {
  CHECK_FATAL(t >= w->sim.now);
  if (t > w->sim.now) {
    wt_sim_run_until(&w->sim, NULL, NULL, t - w->sim.now - 1); /* ends at t */
  }
  CHECK_EQ(w->sim.now, t);
  worker(w);
}

/* A track that goes quiet (issue 18): group 1 is still in flight when
 * group 2, its last, opens 50 ms later; nothing opens or writes after that.
 * Group 1 is reset by the bridge's timer once past its 100 ms budget (not
 * before, within the 5 ms tick after), group 2 (the newest) is kept, and
 * nothing is due once no group can pass its budget. */
static void test_latency_timer(void) {
  world w;
  CHECK_FATAL(world_init(&w) == 0);
  wt_app_group_counters *gc = wt_app_group_counters_new();
  CHECK_FATAL(gc != NULL);
  wt_app_group_counters_ref(gc);
  wt_msg m = wt_msg_cmd_group_new(1, 64 * BOUND, gc);
  post(&w, &m);
  m = wt_msg_cmd_group_join_opts(1, w.h, 1, 0, 100 * MS);
  post(&w, &m);
  CHECK_EQ(wt_bridge_next_expiry(w.b), UINT64_MAX); /* no group yet */
  w.sim.filter = drop_down; /* nothing is acknowledged: every group is still in flight */
  uint64_t t1 = w.sim.now;
  one_group(&w, 1, 1, 1, 1);
  CHECK_EQ(wt_bridge_next_expiry(w.b), UINT64_MAX); /* group 1 is the newest */
  wt_sim_run_until(&w.sim, c_never, &w, 50 * MS);
  one_group(&w, 1, 2, 1, 1);
  uint64_t due = wt_bridge_next_expiry(w.b);
  CHECK(due > t1 + 100 * MS && due <= t1 + 100 * MS + 5 * MS + 1);
  CHECK_EQ(atomic_load(&gc->dropped_streams_latency), 0);
  run_to(&w, due - 1); /* the track is quiet from here on */
  CHECK_EQ(atomic_load(&gc->dropped_streams_latency), 0);
  CHECK_EQ(wt_bridge_next_expiry(w.b), due);
  run_to(&w, due);
  CHECK_EQ(atomic_load(&gc->dropped_streams_latency), 1);
  CHECK_EQ(wt_bridge_next_expiry(w.b), UINT64_MAX); /* group 2 is the newest */
  wt_sim_run_until(&w.sim, c_never, &w, 300 * MS);
  CHECK_EQ(atomic_load(&gc->dropped_streams_latency), 1);
  CHECK_EQ(atomic_load(&gc->dropped_streams_lagged), 0);
  /* group 3 opening still resets group 2 at once (the check on open);
   * a member that leaves takes its budget off the timer's list: group 3,
   * due once group 4 opened, is not reset for it */
  one_group(&w, 1, 3, 1, 1);
  CHECK_EQ(atomic_load(&gc->dropped_streams_latency), 2);
  one_group(&w, 1, 4, 1, 1);
  CHECK(wt_bridge_next_expiry(w.b) != UINT64_MAX);
  m = wt_msg_cmd_group_leave(1, w.h);
  post(&w, &m);
  wt_sim_run_until(&w.sim, c_never, &w, 300 * MS);
  CHECK_EQ(wt_bridge_next_expiry(w.b), UINT64_MAX);
  CHECK_EQ(atomic_load(&gc->dropped_streams_latency), 2);
  CHECK_EQ(atomic_load(&gc->member_dropped_max), 2); /* its two latency drops */
  m = wt_msg_cmd_group_del(1, 0);
  post(&w, &m);
  wt_app_group_counters_unref(gc);
  world_free(&w);
}

/* Drop what the server sends during [stall_from, stall_to). */
static uint64_t g_stall_from, g_stall_to;
static int stall_down(void *arg, wt_sim *sim, wt_sim_pkt *p) {
  (void)arg;
  return !p->to_server && sim->now >= g_stall_from && sim->now < g_stall_to;
}

#define GROUP_BYTES 1000

static void test_throttled_subscriber(void) {
  world w;
  CHECK_FATAL(world_init(&w) == 0);
  wt_app_group_counters *gc[2];
  for (int k = 0; k < 2; k++) {
    gc[k] = wt_app_group_counters_new();
    CHECK_FATAL(gc[k] != NULL);
    wt_app_group_counters_ref(gc[k]);
    wt_msg m = wt_msg_cmd_group_new((uint64_t)k + 1, BOUND, gc[k]);
    post(&w, &m);
    /* track A (1) priority 1, B (2) priority 2: one bound of 64 KiB */
    m = wt_msg_cmd_group_join_opts((uint64_t)k + 1, w.h, 1, (uint8_t)(k + 1), 0);
    post(&w, &m);
  }
  g_stall_from = w.sim.now + 200 * MS;
  g_stall_to = g_stall_from + 250 * MS;
  w.sim.filter = stall_down;
  /* 1 s of groups: A every 20 ms, B every 100 ms, 1000 bytes each in a
   * 16 KiB buffer of its own (byte 0: the track, 1: the sequence) */
  uint64_t seq[2] = {0, 0};
  for (int tick = 0; tick < 50; tick++) {
    for (int k = 0; k < 2; k++) {
      if (k == 1 && tick % 5) {
        continue;
      }
      uint64_t gsid = ++seq[k];
      wt_msg m = wt_msg_cmd_group_stream((uint64_t)k + 1, gsid, 0);
      post(&w, &m);
      wt_buf *b = wt_buf_alloc(w.pool, 0);
      CHECK_FATAL(b != NULL);
      for (size_t i = 0; i < GROUP_BYTES; i++) {
        b->data[i] = (uint8_t)(i == 0 ? (size_t)k : i == 1 ? gsid : i);
      }
      b->len = GROUP_BYTES;
      m = wt_msg_cmd_group_write((uint64_t)k + 1, gsid, b, 0, GROUP_BYTES, 1);
      post(&w, &m);
    }
    wt_sim_run_until(&w.sim, c_never, &w, 20 * MS);
  }
  wt_sim_run_until(&w.sim, c_never, &w, 3000 * MS); /* everything settles */
  /* the subscriber's view: whole groups, or resets 0x10 */
  int whole[2] = {0, 0}, resets = 0, torn = 0, open = 0;
  for (wt_sim_stream *x = w.sim.cli[0].streams; x; x = x->next) {
    if (x->bidi || x->local) {
      continue;
    }
    if (x->reset) {
      CHECK_EQ(x->reset_code, WT_APP_GROUP_LAGGED);
      resets++;
    } else if (x->rx_fin) {
      int k = x->rxlen >= 1 && x->rx[0] < 2 ? x->rx[0] : -1;
      int ok = x->rxlen == GROUP_BYTES && k >= 0;
      for (size_t i = 2; ok && i < GROUP_BYTES; i++) {
        ok = x->rx[i] == (uint8_t)i;
      }
      if (ok) {
        whole[k]++;
      } else {
        torn++;
      }
    } else {
      open++;
    }
  }
  uint64_t lag[2], prio[2];
  for (int k = 0; k < 2; k++) {
    lag[k] = atomic_load(&gc[k]->dropped_streams_lagged);
    prio[k] = atomic_load(&gc[k]->dropped_streams_priority);
  }
  printf("# throttled: A %d whole, %llu dropped (%llu for B); B %d whole, %llu dropped; %d "
         "resets seen\n",
         whole[0], (unsigned long long)lag[0], (unsigned long long)prio[0], whole[1],
         (unsigned long long)lag[1], resets);
  CHECK_EQ(torn, 0);
  CHECK_EQ(open, 0);
  CHECK(lag[0] > 0);      /* the stall made the subscriber lag ... */
  CHECK_EQ(lag[1], 0);    /* ... and only the lower-priority track lost groups */
  CHECK_EQ(whole[1], 10); /* every B group arrived whole */
  CHECK(prio[0] > 0);     /* some of A's for B's room */
  /* every A group arrived whole or was dropped (a few both: a reset that
   * raced the last acknowledgement of a group the client had complete) */
  CHECK(whole[0] > 0 && whole[0] < 50 && (uint64_t)whole[0] + lag[0] >= 50);
  for (int k = 0; k < 2; k++) {
    wt_msg m = wt_msg_cmd_group_del((uint64_t)k + 1, 0);
    post(&w, &m);
    wt_app_group_counters_unref(gc[k]);
  }
  world_free(&w);
}

/* A member that leaves (or whose group is deleted) while its last whole
 * group is still in flight gets that group whole; an incomplete one is
 * reset (e.g. a moq broadcast ending right after its last group). */
static void test_leave_keeps_whole_groups(void) {
  for (int del = 0; del < 2; del++) {
    world w;
    CHECK_FATAL(world_init(&w) == 0);
    wt_msg m = wt_msg_cmd_group_new(1, BOUND, NULL);
    post(&w, &m);
    m = wt_msg_cmd_group_join(1, w.h);
    post(&w, &m);
    g_stall_from = w.sim.now;
    g_stall_to = w.sim.now + 100 * MS; /* nothing is acknowledged meanwhile */
    w.sim.filter = stall_down;
    for (uint64_t gsid = 1; gsid <= 2; gsid++) {
      m = wt_msg_cmd_group_stream(1, gsid, 0);
      post(&w, &m);
      wt_buf *b = wt_buf_alloc(w.pool, 0);
      CHECK_FATAL(b != NULL);
      memset(b->data, (int)gsid, GROUP_BYTES);
      b->len = GROUP_BYTES;
      m = wt_msg_cmd_group_write(1, gsid, b, 0, GROUP_BYTES, gsid == 1); /* 2: no FIN */
      post(&w, &m);
    }
    m = del ? wt_msg_cmd_group_del(1, 0x33) : wt_msg_cmd_group_leave(1, w.h);
    post(&w, &m);
    wt_sim_run_until(&w.sim, c_never, &w, 1000 * MS);
    int whole = 0, other = 0;
    for (wt_sim_stream *x = w.sim.cli[0].streams; x; x = x->next) {
      if (x->bidi || x->local) {
        continue;
      }
      if (x->rx_fin && x->rxlen == GROUP_BYTES && x->rx[0] == 1) {
        whole++;
      } else if (x->rx_fin) {
        other++;
      }
    }
    CHECK_EQ(whole, 1); /* group 1: FIN written before the leave */
    CHECK_EQ(other, 0); /* group 2 (incomplete) was reset: never FINed */
    if (!del) {
      m = wt_msg_cmd_group_del(1, 0);
      post(&w, &m);
    }
    world_free(&w);
  }
}

int main(void) {
  if (wt_sim_test_init(&g_certs, 1) != 0) {
    return 1;
  }
  WT_RUN(test_lag_counts_held_buffers);
  WT_RUN(test_pooled_priorities);
  WT_RUN(test_latency_budget);
  WT_RUN(test_latency_timer);
  WT_RUN(test_throttled_subscriber);
  WT_RUN(test_leave_keeps_whole_groups);
  wt_sim_certs_remove(&g_certs);
  WT_DONE();
}
