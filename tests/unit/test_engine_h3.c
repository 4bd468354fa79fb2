/* test_engine_h3.c: the HTTP/3 streams of a connection (core/wt_h3.c), with
 * a client engine and a server engine on the simulated network of tests/sim
 * (wt_sim.h).
 *
 * No QPACK dynamic table and no QPACK stream on the wire
 * (docs/protocol.md sections 5 and 6.2): each side opens only its control
 * stream, so its first WebTransport uni stream has the next uni stream ID
 * (server 3 then 7, client 2 then 6), which is what lets Deno's client see
 * the server's uni streams. The SETTINGS carry no QPACK table capacity,
 * nghttp3 wrote nothing on its bound QPACK encoder stream but the stream
 * type, and requests and responses still work: a 200 session with streams
 * both ways, a 404, and a CONNECT stream the client aborts (nghttp3 may then
 * write a Stream Cancellation on its decoder stream: dropped). */
#include "wt_sim_check.h"

#include "wt_conn.h" /* internal: the QPACK stream IDs and counters */
#include "wt_settings.h"

#define MS  WT_SIM_MS
#define SEC WT_SIM_SEC

static wt_sim_certs g_certs;

static const char srv_msg[] = "server-uni";
static const char cli_msg[] = "client-uni";

/* Server: /echo is accepted (200), anything else 404; an accepted session
 * gets one server uni stream carrying srv_msg + FIN. */
static int hook_session_request(void *user, wt_session *s, const wt_request *req) {
  wt_sim_node *sd = user;
  if (req->path == NULL || strcmp(req->path, "/echo") != 0) {
    return 404;
  }
  wt_sim_sess_new(sd, s);
  return 200;
}

static void hook_session_open(void *user, wt_session *s) {
  wt_sim_node *sd = user;
  if (!sd->is_server) {
    return;
  }
  wt_stream *o = NULL;
  CHECK_EQ(wt_session_open_stream(s, 0, &o), 0);
  if (o) {
    wt_sim_stream *y = wt_sim_stream_new(sd, o, 1);
    wt_sim_buf_add(&y->tx, &y->txlen, &y->txcap, (const uint8_t *)srv_msg, strlen(srv_msg));
    y->tx_fin_want = 1;
    wt_sim_stream_flush(y);
  }
}

static const wt_engine_callbacks g_hooks = {
    .session_request = hook_session_request,
    .session_open = hook_session_open,
};

static int world_init(wt_sim *w) {
  wt_sim_config cfg;
  wt_sim_config_default(&cfg);
  cfg.strict = 1;
  wt_sim_init(w, &cfg, &g_hooks);
  wt_engine_config sc, cc;
  wt_engine_config_default(&sc, 1);
  sc.cert_file = g_certs.cert[0];
  sc.key_file = g_certs.key[0];
  wt_engine_config_default(&cc, 0);
  cc.pin_sha256 = g_certs.pin[0];
  if (wt_sim_server_new(w, &sc) != 0 || wt_sim_client_add(w, &cc, NULL) != 0) {
    wt_sim_free(w);
    return -1;
  }
  return 0;
}

/* The node's uni stream record opened by `local` side (the first found). */
static wt_sim_stream *uni_stream(wt_sim_node *n, int local) {
  for (wt_sim_stream *x = n->streams; x; x = x->next) {
    if (!x->bidi && x->local == local) {
      return x;
    }
  }
  return NULL;
}

static int c_both_uni(wt_sim *w, void *arg) {
  wt_sim_stream *a = uni_stream(&w->cli[0], 0), *b = uni_stream(&w->srv, 0);
  return a && a->rx_fin && b && b->rx_fin;
}

/* The checks on one side's connection c (after traffic both ways). */
static void check_side(wt_conn *c, int is_server) {
  int64_t top = ((int64_t)1 << 62) - (is_server ? 1 : 2); /* the largest uni ID of the side */
  CHECK_EQ(c->ctrl_sid, is_server ? 3 : 2);
  CHECK_EQ(c->qenc_sid, top);
  CHECK_EQ(c->qdec_sid, top - 4);
  /* nghttp3 wrote the stream types only on its encoder stream: no encoder
   * instruction was ever lost (wt_h3_drop_qpack) */
  CHECK_EQ(c->qenc_bytes, 1);
  CHECK(c->qdec_bytes >= 1);
  printf("  %s: nghttp3 wrote %llu byte(s) on its QPACK decoder stream (dropped)\n",
         is_server ? "server" : "client", (unsigned long long)c->qdec_bytes);
  /* the peer's control stream is its first uni stream */
  CHECK_EQ(c->peer_ctrl_sid, is_server ? 2 : 3);
  /* the peer's SETTINGS hold no QPACK table capacity (0 if present) */
  uint64_t v = 0;
  if (wt_ctrl_reader_get(&c->rd, WT_SETTING_QPACK_MAX_TABLE_CAPACITY, &v)) {
    CHECK_EQ(v, 0);
  }
  if (wt_ctrl_reader_get(&c->rd, WT_SETTING_QPACK_BLOCKED_STREAMS, &v)) {
    CHECK_EQ(v, 0);
  }
}

static void test_no_qpack_streams(void) {
  wt_sim w;
  CHECK_FATAL(world_init(&w) == 0);
  wt_conn *c = wt_sim_connect(&w, 0, NULL);
  CHECK_FATAL(c != NULL);
  CHECK(wt_sim_run_until(&w, wt_sim_c_handshake, NULL, 20 * SEC));

  /* an accepted session; one uni stream each way */
  wt_sim_sess *cs = wt_sim_open_session(&w, 0, c, "/echo", NULL);
  CHECK_FATAL(cs != NULL);
  CHECK(wt_sim_run_until(&w, wt_sim_c_sess_settled, cs, 20 * SEC));
  CHECK_FATAL(cs->open);
  wt_stream *us = NULL;
  CHECK_EQ(wt_session_open_stream(cs->s, 0, &us), 0);
  CHECK_FATAL(us != NULL);
  wt_sim_stream *ux = wt_sim_stream_new(&w.cli[0], us, 1);
  wt_sim_buf_add(&ux->tx, &ux->txlen, &ux->txcap, (const uint8_t *)cli_msg, strlen(cli_msg));
  ux->tx_fin_want = 1;
  wt_sim_stream_flush(ux);
  CHECK(wt_sim_run_until(&w, c_both_uni, NULL, 20 * SEC));

  /* the first WT uni stream of each side follows its control stream */
  CHECK_EQ(ux->id, 6);
  wt_sim_stream *got = uni_stream(&w.cli[0], 0);
  CHECK_FATAL(got != NULL);
  CHECK_EQ(got->id, 7);
  CHECK_EQ(got->rxlen, strlen(srv_msg));
  CHECK(got->rxlen == strlen(srv_msg) && memcmp(got->rx, srv_msg, got->rxlen) == 0);
  wt_sim_stream *sgot = uni_stream(&w.srv, 0);
  CHECK_FATAL(sgot != NULL);
  CHECK_EQ(sgot->id, 6);
  CHECK(sgot->rxlen == strlen(cli_msg) && memcmp(sgot->rx, cli_msg, sgot->rxlen) == 0);

  /* a refused request: the response still decodes */
  wt_sim_sess *nf = wt_sim_open_session(&w, 0, c, "/missing", NULL);
  CHECK_FATAL(nf != NULL);
  CHECK(wt_sim_run_until(&w, wt_sim_c_sess_settled, nf, 20 * SEC));
  CHECK(nf->refused);
  CHECK_EQ(nf->refused_status, 404);

  /* a CONNECT stream aborted by the client before its answer */
  wt_sim_sess *ab = wt_sim_open_session(&w, 0, c, "/echo", NULL);
  CHECK_FATAL(ab != NULL);
  wt_sim_run_until(&w, NULL, NULL, 1 * MS); /* the CONNECT is sent, not answered */
  if (ab->s && !ab->open) {
    CHECK_EQ(ngtcp2_conn_shutdown_stream(c->qc, 0, wt_session_id(ab->s), 0x10c), 0);
  }
  wt_sim_run_until(&w, NULL, NULL, 100 * MS);
  CHECK_EQ(w.cli[0].conn_closed, 0);

  check_side(c, 0);
  wt_sim_sess *ss = NULL;
  for (wt_sim_sess *x = w.srv.sessions; x; x = x->next) {
    if (x->open && !x->closed && x->s) {
      ss = x;
    }
  }
  CHECK_FATAL(ss != NULL);
  check_side(wt_session_conn(ss->s), 1);
  CHECK_EQ(w.cli[0].conn_closed, 0);
  CHECK_EQ(wt_sim_close_all(&w, 20 * SEC), 1);
  wt_sim_free(&w);
}

int main(void) {
  if (wt_sim_test_init(&g_certs, 1) != 0) {
    return 1;
  }
  WT_RUN(test_no_qpack_streams);
  wt_sim_certs_remove(&g_certs);
  WT_DONE();
}
