/* test_bridge_connect.c: outgoing sessions through a shard's bridge
 * (WT_CMD_CONNECT; shards/wt_bridge.h) over the in-memory network
 * (tests/sim). The test plays the worker on the link; the bridge drives the
 * sim's SERVER engine, which has a client trust (the pin of the other
 * node's certificate) and dials the sim's other node, itself a server
 * engine (an origin) that accepts every CONNECT:
 * - the session opens (WT_EV_SESSION_OPEN with the response's fields); a
 *   datagram and a stream of the worker reach the origin; the origin's uni
 *   stream reaches the worker (WT_EV_STREAM_OPEN / _DATA with FIN);
 * - WT_CMD_CLOSE closes the session and its connection (no connection left
 *   on either engine);
 * - a connect to a non-numeric authority, and one without a local address
 *   (no local_for), are refused at once (WT_EV_SESSION_REFUSED, status 0)
 *   and counted; an origin that refuses (404) gives status 404. */
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

#define MS WT_SIM_MS

static wt_sim_certs g_certs;

typedef struct world {
  wt_sim sim;
  wt_waker swk, wwk;
  wt_link *link;
  wt_app_router *router;
  wt_bridge *b;
  wt_buf_pool *pool;
  /* what the worker saw */
  int open, refused, closed, n_headers;
  uint32_t status;
  char fields[128];
  uint64_t peer_stream;
  char rx[64];
  size_t rxlen;
  int rx_fin;
} world;

static int local_for(void *arg, wt_addr *remote, wt_addr *local) {
  world *w = arg;
  (void)remote;
  *local = w->sim.srv.addr;
  return 0;
}

/* The origin (the sim's other node): push one uni stream on each session,
 * refuse /nope. */
static int hook_request(void *user, wt_session *s, const wt_request *req) {
  wt_sim_node *n = user;
  if (req->path && !strcmp(req->path, "/nope")) {
    return 404;
  }
  wt_sim_sess_new(n, s);
  CHECK_EQ(wt_session_add_header(s, "wt-relay-hdr", "7"), 0);
  return 200;
}

static void hook_open(void *user, wt_session *s) {
  wt_sim_node *n = user;
  if (n != &n->sim->cli[0]) {
    return;
  }
  wt_stream *o = NULL;
  CHECK_EQ(wt_session_open_stream(s, 0, &o), 0);
  if (o) {
    wt_sim_stream *y = wt_sim_stream_new(n, o, 1);
    wt_sim_buf_add(&y->tx, &y->txlen, &y->txcap, (const uint8_t *)"from origin", 11);
    y->tx_fin_want = 1;
    wt_sim_stream_flush(y);
  }
}

static const wt_engine_callbacks g_hooks = {.session_request = hook_request,
                                            .session_open = hook_open};

static void worker(world *w) {
  wt_msg m[64];
  uint32_t n;
  wt_bridge_set_now(w->b, w->sim.now);
  wt_bridge_flush(w->b);
  while ((n = wt_lring_poll(&w->link->ev, m, 64)) > 0) {
    for (uint32_t i = 0; i < n; i++) {
      switch (m[i].kind) {
      case WT_EV_SESSION_OPEN:
        w->open = 1;
        w->n_headers = (int)wt_msg_get_ev_session_open(&m[i])->n_headers;
        if (m[i].buf && m[i].len < sizeof(w->fields)) {
          memcpy(w->fields, wt_msg_data(&m[i]), m[i].len);
        }
        break;
      case WT_EV_SESSION_REFUSED:
        w->refused++;
        w->status = wt_msg_get_ev_session_refused(&m[i])->status;
        break;
      case WT_EV_SESSION_CLOSE:
        w->closed++;
        break;
      case WT_EV_STREAM_OPEN:
        w->peer_stream = wt_msg_get_ev_stream_open(&m[i])->stream;
        break;
      case WT_EV_STREAM_DATA:
        if (m[i].len && w->rxlen + m[i].len <= sizeof(w->rx)) {
          memcpy(w->rx + w->rxlen, wt_msg_data(&m[i]), m[i].len);
          w->rxlen += m[i].len;
        }
        w->rx_fin |= wt_msg_get_ev_stream_data(&m[i])->fin;
        if (m[i].len) {
          wt_msg c = wt_msg_cmd_consume(
              (wt_msg_stream){.id = wt_msg_get_ev_stream_data(&m[i])->stream}, m[i].len);
          CHECK_EQ(wt_lring_post(&w->link->cmd, &c), 0);
        }
        break;
      default:
        break;
      }
      wt_msg_drop(&m[i]);
    }
  }
  wt_lring_flush(&w->link->cmd);
  wt_bridge_poll(w->b, 1000);
  wt_bridge_flush(w->b);
}

static void post(world *w, wt_msg m) {
  CHECK_EQ(wt_lring_post(&w->link->cmd, &m), 0);
  wt_lring_flush(&w->link->cmd);
  worker(w);
  worker(w); /* the events the commands caused */
}

static int c_settled(wt_sim *sim, void *arg) {
  world *w = arg;
  (void)sim;
  worker(w);
  return w->open || w->refused;
}

static int c_got(wt_sim *sim, void *arg) {
  world *w = arg;
  worker(w);
  wt_sim_sess *x = sim->cli[0].sessions;
  int bidi_done = 0;
  for (wt_sim_stream *s = sim->cli[0].streams; s; s = s->next) {
    bidi_done += !s->local && s->rx_fin;
  }
  return w->rx_fin && x && x->dgrams >= 1 && bidi_done >= 1;
}

static int c_gone(wt_sim *sim, void *arg) {
  world *w = arg;
  worker(w);
  return w->closed && wt_engine_conn_count(sim->srv.e) == 0 &&
         wt_engine_conn_count(sim->cli[0].e) == 0;
}

static int world_init(world *w, int with_local) {
  memset(w, 0, sizeof(*w));
  wt_sim_config cfg;
  wt_sim_config_default(&cfg);
  wt_sim_init(&w->sim, &cfg, &g_hooks);
  w->swk.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  w->wwk.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (w->swk.efd < 0 || w->wwk.efd < 0 || wt_link_new(&w->link, 0, 0, 256, &w->swk, &w->wwk) < 0 ||
      wt_app_router_new(&w->router) < 0 || wt_buf_pool_new(&w->pool, 4096, 0) < 0) {
    return -1;
  }
  wt_link *links[1] = {w->link};
  wt_bridge_config bc = {.shard = 0,
                         .n_workers = 1,
                         .router = w->router,
                         .links = links,
                         .local_for = with_local ? local_for : NULL,
                         .local_arg = w};
  if (wt_bridge_new(&w->b, &bc) < 0) {
    return -1;
  }
  wt_engine_callbacks cb;
  wt_bridge_engine_callbacks(&cb);
  wt_engine_config sc, oc;
  wt_engine_config_default(&sc, 1);
  sc.cert_file = g_certs.cert[0];
  sc.key_file = g_certs.key[0];
  sc.client_pin_sha256 = g_certs.pin[1]; /* the origin's certificate */
  wt_engine_config_default(&oc, 1);
  oc.cert_file = g_certs.cert[1];
  oc.key_file = g_certs.key[1];
  w->sim.srv_cfg = sc;
  if (wt_engine_new(&w->sim.srv.e, &w->sim.srv_cfg, &cb, w->b, w->sim.now) != 0 ||
      wt_sim_client_add(&w->sim, &oc, NULL) != 0) {
    return -1;
  }
  wt_bridge_set_engine(w->b, w->sim.srv.e);
  return 0;
}

static void world_free(world *w) {
  wt_bridge_detach(w->b);
  wt_sim_free(&w->sim);
  wt_bridge_del(w->b);
  wt_msg m[64];
  uint32_t n;
  while ((n = wt_lring_poll(&w->link->ev, m, 64)) > 0) {
    for (uint32_t i = 0; i < n; i++) {
      wt_msg_drop(&m[i]);
    }
  }
  while ((n = wt_lring_poll(&w->link->cmd, m, 64)) > 0) {
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

/* authority \0 path \0 sni \0 as a WT_CMD_CONNECT of session h. */
static wt_msg connect_msg(world *w, uint64_t h, const char *authority, const char *path) {
  char b[256];
  size_t n = (size_t)snprintf(b, sizeof(b), "%s%c%s%c%c", authority, 0, path, 0, 0);
  wt_buf *buf = wt_buf_alloc(w->pool, n);
  memcpy(buf->data, b, n);
  buf->len = (uint32_t)n;
  return wt_msg_cmd_connect(h, 0, buf, (uint32_t)n, 0);
}

#define H1 ((UINT64_C(1) << 63) | 1)

static void test_connect(void) {
  world w;
  CHECK_FATAL(world_init(&w, 1) == 0);
  post(&w, connect_msg(&w, H1, "127.0.0.1:50000", "/up?ch=a"));
  CHECK_EQ(wt_bridge_get_stats(w.b)->connects, 1);
  CHECK(wt_sim_run_until(&w.sim, c_settled, &w, 5000 * MS));
  CHECK_FATAL(w.open);
  /* the response's fields, wt-relay-hdr among them */
  int found = 0;
  const char *f = w.fields;
  for (int i = 0; i < w.n_headers && f < w.fields + sizeof(w.fields); i++) {
    const char *v = f + strlen(f) + 1;
    found |= !strcmp(f, "wt-relay-hdr") && !strcmp(v, "7");
    f = v + strlen(v) + 1;
  }
  CHECK(found);
  /* a datagram and a bidi stream with FIN, from the worker */
  wt_buf *d = wt_buf_alloc(w.pool, 2);
  memcpy(d->data, "dg", 2);
  d->len = 2;
  post(&w, wt_msg_cmd_datagram(H1, d, 2));
  post(&w, wt_msg_cmd_open_stream(H1, 77, 1));
  wt_buf *s = wt_buf_alloc(w.pool, 5);
  memcpy(s->data, "hello", 5);
  s->len = 5;
  post(&w, wt_msg_cmd_write((wt_msg_stream){.token = 77}, s, 5, 1));
  CHECK(wt_sim_run_until(&w.sim, c_got, &w, 5000 * MS));
  CHECK(w.rxlen == 11 && !memcmp(w.rx, "from origin", 11));
  wt_sim_stream *bx = NULL;
  for (wt_sim_stream *x = w.sim.cli[0].streams; x; x = x->next) {
    bx = !x->local ? x : bx;
  }
  CHECK(bx && bx->rxlen == 5 && !memcmp(bx->rx, "hello", 5));
  /* close: the session and its connection go */
  post(&w, wt_msg_cmd_close(H1, 0x15, NULL, 0));
  CHECK(wt_sim_run_until(&w.sim, c_gone, &w, 5000 * MS));
  CHECK_EQ(wt_bridge_get_stats(w.b)->connects_live, 0);
  CHECK_EQ(wt_bridge_get_stats(w.b)->sessions, 0);
  world_free(&w);
}

static void test_refusals(void) {
  world w;
  CHECK_FATAL(world_init(&w, 1) == 0);
  post(&w, connect_msg(&w, H1, "origin.example:443", "/up"));
  CHECK_EQ(w.refused, 1);
  CHECK_EQ(w.status, 0);
  CHECK_EQ(wt_bridge_get_stats(w.b)->connects_failed, 1);
  w.refused = 0;
  post(&w, connect_msg(&w, H1 + 1, "127.0.0.1:50000", "/nope"));
  CHECK(wt_sim_run_until(&w.sim, c_settled, &w, 5000 * MS));
  CHECK_EQ(w.refused, 1);
  CHECK_EQ(w.status, 404);
  CHECK_EQ(wt_bridge_get_stats(w.b)->connects_refused, 1);
  CHECK_EQ(wt_bridge_get_stats(w.b)->sessions, 0);
  CHECK_EQ(wt_sim_close_all(&w.sim, 5000 * MS), 1);
  world_free(&w);

  CHECK_FATAL(world_init(&w, 0) == 0); /* no local_for: no outgoing sessions */
  post(&w, connect_msg(&w, H1, "127.0.0.1:50000", "/up"));
  CHECK_EQ(w.refused, 1);
  CHECK_EQ(w.status, 0);
  world_free(&w);
}

int main(void) {
  if (wt_sim_test_init(&g_certs, 2) != 0) {
    return 1;
  }
  WT_RUN(test_connect);
  WT_RUN(test_refusals);
  wt_sim_certs_remove(&g_certs);
  WT_DONE();
}
