/* test_engine_upstream.c: client connections inside a server engine
 * (wt_engine_config.client_*, wt_engine_connect on a server; core/wt_tls.c's
 * second context, core/wt_conn.c; docs/architecture.md "Client connections
 * in a server engine") on the simulated network of tests/sim (wt_sim.h).
 *
 * The "client" node of the sim runs a SERVER engine (shard 2 of 4, as a
 * shard of an edge node would) that dials the sim's server engine:
 * - the session opens; a bidi echo, a datagram echo and the server's uni
 *   stream go through;
 * - every packet the origin sends to it names, in its DCID, the edge
 *   engine's shard (the steering byte: the reuseport steering brings the
 *   replies back to the shard that owns the connection);
 * - a server engine without a client trust refuses to dial (WT_ERR_STATE);
 * - a wrong pin fails the handshake (the session is refused);
 * - the origin restarts (same static secret): the edge's next packet gets
 *   a stateless reset, which the edge (a server engine, where unknown
 *   short-header packets are normally answered, not read) offers to its
 *   client connections: it closes at once, not at the idle timeout. */
#include "wt_sim_check.h"

#include "wt_cid.h"

#define SEC WT_SIM_SEC

static wt_sim_certs g_certs;

/* Server side: echo a bidi stream, echo datagrams, push one uni stream. */
static void hook_session_open(void *user, wt_session *s) {
  wt_sim_node *n = user;
  if (!n->is_server) {
    return;
  }
  wt_stream *o = NULL;
  CHECK_EQ(wt_session_open_stream(s, 0, &o), 0);
  if (o) {
    wt_sim_stream *y = wt_sim_stream_new(n, o, 1);
    wt_sim_buf_add(&y->tx, &y->txlen, &y->txcap, (const uint8_t *)"pushed", 6);
    y->tx_fin_want = 1;
    wt_sim_stream_flush(y);
  }
}

static void hook_stream_data(void *user, wt_stream *st, const uint8_t *data, size_t len, int fin) {
  wt_sim_node *n = user;
  wt_sim_stream *x = wt_stream_get_user(st);
  if (!n->is_server || x == NULL || !x->bidi || x->local) {
    return;
  }
  wt_sim_buf_add(&x->tx, &x->txlen, &x->txcap, data, len);
  x->tx_fin_want |= fin;
  wt_sim_stream_flush(x);
}

static void hook_datagram(void *user, wt_session *s, const uint8_t *data, size_t len) {
  wt_sim_node *n = user;
  if (n->is_server) {
    CHECK_EQ(wt_session_send_datagram(s, data, len), 0);
  }
}

static const wt_engine_callbacks g_hooks = {
    .session_open = hook_session_open,
    .stream_data = hook_stream_data,
    .datagram = hook_datagram,
};

#define EDGE_SHARD  2u
#define EDGE_SHARDS 4u

typedef struct {
  unsigned down, wrong_shard;
} steer_count;

/* Every packet to the edge: its DCID's first byte names the edge's shard. */
static int steer_filter(void *arg, wt_sim *sim, wt_sim_pkt *p) {
  steer_count *sc = arg;
  (void)sim;
  if (p->to_server || p->len < 2) {
    return 0;
  }
  const uint8_t *dcid;
  if (p->data[0] & 0x80) { /* long header: version (4), DCID length, DCID */
    if (p->len < 7 || p->data[5] == 0) {
      return 0;
    }
    dcid = p->data + 6;
  } else {
    dcid = p->data + 1;
  }
  sc->down++;
  sc->wrong_shard += wt_cid_shard(dcid, EDGE_SHARDS, WT_CID_SHARD_MASK) != EDGE_SHARD;
  return 0;
}

static int c_echo_done(wt_sim *w, void *arg) {
  wt_sim_stream *bx = arg;
  int uni = 0;
  for (wt_sim_stream *x = w->cli[0].streams; x; x = x->next) {
    uni += !x->local && !x->bidi && x->rx_fin;
  }
  wt_sim_sess *cs = w->cli[0].sessions;
  return bx->rx_fin && uni >= 1 && cs && cs->dgrams >= 1;
}

/* The edge: a server engine (own certificate, shard EDGE_SHARD) with a
 * client trust pin (NULL: none). */
static const uint8_t g_secret[32] = {7};

static int world(wt_sim *w, const uint8_t *pin) {
  wt_sim_config cfg;
  wt_sim_config_default(&cfg);
  cfg.strict = 1;
  wt_sim_init(w, &cfg, &g_hooks);
  wt_engine_config sc, ec;
  wt_engine_config_default(&sc, 1);
  sc.cert_file = g_certs.cert[0];
  sc.key_file = g_certs.key[0];
  sc.static_secret = g_secret;
  wt_engine_config_default(&ec, 1);
  ec.cert_file = g_certs.cert[1];
  ec.key_file = g_certs.key[1];
  ec.shard_id = EDGE_SHARD;
  ec.n_shards = EDGE_SHARDS;
  ec.client_pin_sha256 = pin;
  if (wt_sim_server_new(w, &sc) != 0 || wt_sim_client_add(w, &ec, NULL) != 0) {
    wt_sim_free(w);
    return -1;
  }
  return 0;
}

static void test_upstream_session(void) {
  wt_sim w;
  CHECK_FATAL(world(&w, g_certs.pin[0]) == 0);
  steer_count sc = {0, 0};
  w.filter = steer_filter;
  w.filter_arg = &sc;
  wt_conn *c = wt_sim_connect(&w, 0, NULL);
  CHECK_FATAL(c != NULL);
  wt_sim_sess *cs = wt_sim_open_session(&w, 0, c, "/echo", NULL);
  CHECK_FATAL(cs != NULL);
  CHECK(wt_sim_run_until(&w, wt_sim_c_sess_settled, cs, 20 * SEC));
  CHECK_FATAL(cs->open);
  wt_stream *bs = NULL;
  CHECK_EQ(wt_session_open_stream(cs->s, 1, &bs), 0);
  CHECK_FATAL(bs != NULL);
  wt_sim_stream *bx = wt_sim_stream_new(&w.cli[0], bs, 1);
  wt_sim_buf_add(&bx->tx, &bx->txlen, &bx->txcap, (const uint8_t *)"hello", 5);
  bx->tx_fin_want = 1;
  wt_sim_stream_flush(bx);
  CHECK_EQ(wt_session_send_datagram(cs->s, (const uint8_t *)"dg", 2), 0);
  CHECK(wt_sim_run_until(&w, c_echo_done, bx, 20 * SEC));
  CHECK(bx->rxlen == 5 && memcmp(bx->rx, "hello", 5) == 0);
  CHECK(sc.down > 5);
  CHECK_EQ(sc.wrong_shard, 0);
  /* the edge engine counts the connection like any other */
  CHECK_EQ(wt_engine_conn_count(w.cli[0].e), 1);
  CHECK_EQ(wt_sim_close_all(&w, 20 * SEC), 1);
  wt_sim_free(&w);
}

static void test_no_trust(void) {
  wt_sim w;
  CHECK_FATAL(world(&w, NULL) == 0);
  wt_path p = {.local = w.cli[0].addr, .remote = w.srv.addr};
  wt_conn *c = NULL;
  CHECK_EQ(wt_engine_connect(w.cli[0].e, &p, "localhost", w.now, &c), WT_ERR_STATE);
  CHECK(c == NULL);
  wt_sim_free(&w);
}

static void test_wrong_pin(void) {
  wt_sim w;
  CHECK_FATAL(world(&w, g_certs.pin[1]) == 0); /* the edge's own pin, not the origin's */
  wt_conn *c = wt_sim_connect(&w, 0, NULL);
  CHECK_FATAL(c != NULL);
  wt_sim_sess *cs = wt_sim_open_session(&w, 0, c, "/echo", NULL);
  CHECK_FATAL(cs != NULL);
  CHECK(wt_sim_run_until(&w, wt_sim_c_sess_settled, cs, 20 * SEC));
  CHECK(cs->refused && !cs->open);
  CHECK(wt_engine_get_stats(w.cli[0].e)->handshakes_failed >= 1);
  CHECK_EQ(wt_sim_close_all(&w, 20 * SEC), 1);
  wt_sim_free(&w);
}

static void test_origin_restart(void) {
  wt_sim w;
  CHECK_FATAL(world(&w, g_certs.pin[0]) == 0);
  wt_conn *c = wt_sim_connect(&w, 0, NULL);
  CHECK_FATAL(c != NULL);
  wt_sim_sess *cs = wt_sim_open_session(&w, 0, c, "/echo", NULL);
  CHECK_FATAL(cs != NULL);
  CHECK(wt_sim_run_until(&w, wt_sim_c_sess_settled, cs, 20 * SEC));
  CHECK_FATAL(cs->open);
  wt_sim_run_until(&w, NULL, NULL, 200 * WT_SIM_MS);
  CHECK_FATAL(wt_sim_server_restart(&w) == 0);
  uint64_t t0 = w.now;
  CHECK_EQ(wt_session_send_datagram(cs->s, (const uint8_t *)"after the restart", 17), 0);
  CHECK(wt_sim_run_until(&w, wt_sim_c_conn_closed, NULL, 20 * SEC));
  CHECK(w.now - t0 < 2 * SEC); /* not the idle timeout (30 s) */
  CHECK_EQ(w.cli[0].conn_close_sr, 1);
  CHECK(cs->closed);
  CHECK_EQ(wt_engine_conn_count(w.cli[0].e), 0);
  wt_sim_free(&w);
}

int main(void) {
  if (wt_sim_test_init(&g_certs, 2) != 0) {
    return 1;
  }
  WT_RUN(test_upstream_session);
  WT_RUN(test_no_trust);
  WT_RUN(test_wrong_pin);
  WT_RUN(test_origin_restart);
  wt_sim_certs_remove(&g_certs);
  WT_DONE();
}
