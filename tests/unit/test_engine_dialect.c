/* test_engine_dialect.c: WebTransport dialects and session flow control
 * (core/wt_settings.c profiles, core/wt_h3.c, core/wt_sfc.c; docs/protocol.md
 * sections 2 and 7) with a client engine and a server engine on the
 * simulated network of tests/sim (wt_sim.h).
 *
 * - Every client dialect (draft02, draft07, draft14, draft16, compat) against
 *   a server of profile compat and of the client's own profile: the session
 *   opens, a bidi echo, a server uni stream and a datagram go through; the
 *   server saw the dialect the client spoke; flow control is on exactly when
 *   both ends offered it.
 * - A draft-16 client without flow control gets one session per connection
 *   (the second CONNECT: H3_REQUEST_REJECTED); a draft-02 client several.
 * - A client granting 1 KiB and 2 + 2 streams while the server pushes 18 KB on
 *   9 streams: it is never overrun (no WT_FLOW_CONTROL_ERROR), gets every
 *   byte, and sees BLOCKED capsules; the server counts blocked time.
 * - A client that ignores the server's limits (wt_testhook) has its session
 *   reset with WT_FLOW_CONTROL_ERROR: too many streams, too many bytes.
 * - A CONNECT that arrives before the client's SETTINGS waits for them
 *   (draft-16 section 3.1), and is refused when they do not come in time. */
#include "wt_sim_check.h"

#include "wt_errmap.h"
#include "wt_session.h" /* internal: the session's dialect and flow control */
#include "wt_testhook.h"

#define MS  WT_SIM_MS
#define SEC WT_SIM_SEC

static wt_sim_certs g_certs;

/* What the server pushes on every session it opens. */
static int g_push_uni = 1, g_push_bidi = 0;
static size_t g_push_bytes = 100;

static void push(wt_sim_node *n, wt_session *s, int bidi) {
  wt_stream *o = NULL;
  CHECK_EQ(wt_session_open_stream(s, bidi, &o), 0);
  if (o == NULL) {
    return;
  }
  wt_sim_stream *y = wt_sim_stream_new(n, o, 1);
  uint8_t *buf = malloc(g_push_bytes);
  CHECK_FATAL(buf != NULL);
  wt_sim_fill_pattern(buf, g_push_bytes, (uint32_t)wt_stream_id(o));
  wt_sim_buf_add(&y->tx, &y->txlen, &y->txcap, buf, g_push_bytes);
  free(buf);
  y->tx_fin_want = 1;
  wt_sim_stream_flush(y);
}

static void hook_session_open(void *user, wt_session *s) {
  wt_sim_node *n = user;
  if (!n->is_server) {
    return;
  }
  for (int i = 0; i < g_push_uni; i++) {
    push(n, s, 0);
  }
  for (int i = 0; i < g_push_bidi; i++) {
    push(n, s, 1);
  }
}

/* Server: echo a client bidi stream. Client: answer a server bidi stream's
 * FIN with ours (so it closes and gives its stream credit back). */
static void hook_stream_data(void *user, wt_stream *st, const uint8_t *data, size_t len, int fin) {
  wt_sim_node *n = user;
  wt_sim_stream *x = wt_stream_get_user(st);
  if (x == NULL || !x->bidi || x->local) {
    return;
  }
  if (n->is_server) {
    wt_sim_buf_add(&x->tx, &x->txlen, &x->txcap, data, len);
  }
  if (fin) {
    x->tx_fin_want = 1;
  }
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

/* srv_fc / cli_fc: WT_INITIAL_* data, bidi, uni (NULL: the defaults). */
static int world_init(wt_sim *w, int srv_profile, int cli_profile, const uint64_t *srv_fc,
                      const uint64_t *cli_fc) {
  wt_sim_config cfg;
  wt_sim_config_default(&cfg);
  cfg.strict = 1;
  wt_sim_init(w, &cfg, &g_hooks);
  wt_engine_config sc, cc;
  wt_engine_config_default(&sc, 1);
  sc.cert_file = g_certs.cert[0];
  sc.key_file = g_certs.key[0];
  sc.wt_profile = srv_profile;
  if (srv_fc) {
    sc.wt_initial_max_data = srv_fc[0];
    sc.wt_initial_max_streams_bidi = srv_fc[1];
    sc.wt_initial_max_streams_uni = srv_fc[2];
  }
  wt_engine_config_default(&cc, 0);
  cc.pin_sha256 = g_certs.pin[0];
  cc.wt_profile = cli_profile;
  if (cli_fc) {
    cc.wt_initial_max_data = cli_fc[0];
    cc.wt_initial_max_streams_bidi = cli_fc[1];
    cc.wt_initial_max_streams_uni = cli_fc[2];
  }
  if (wt_sim_server_new(w, &sc) != 0 || wt_sim_client_add(w, &cc, NULL) != 0) {
    wt_sim_free(w);
    return -1;
  }
  return 0;
}

/* The first open session record of node n that still has its session. */
static wt_sim_sess *live_sess(wt_sim_node *n) {
  for (wt_sim_sess *x = n->sessions; x; x = x->next) {
    if (x->open && !x->closed && x->s) {
      return x;
    }
  }
  return NULL;
}

static int count_done(wt_sim_node *n, int local, int bidi) {
  int k = 0;
  for (wt_sim_stream *x = n->streams; x; x = x->next) {
    k += x->local == local && x->bidi == bidi && x->rx_fin && !x->reset;
  }
  return k;
}

typedef struct {
  int uni, bidi;
} want_streams;

static int c_client_got(wt_sim *w, void *arg) {
  want_streams *ws = arg;
  return count_done(&w->cli[0], 0, 0) >= ws->uni && count_done(&w->cli[0], 0, 1) >= ws->bidi;
}

static int c_echo_and_dgram(wt_sim *w, void *arg) {
  wt_sim_stream *x = arg;
  wt_sim_sess *cs = live_sess(&w->cli[0]);
  return x->rx_fin && cs && cs->dgrams >= 1 && count_done(&w->cli[0], 0, 0) >= 1;
}

static const char *const prof_names[] = {"compat", "draft02", "draft07", "draft14", "draft16"};

static void one_pair(int srv_profile, int cli_profile) {
  printf("  client %s x server %s\n", prof_names[cli_profile], prof_names[srv_profile]);
  g_push_uni = 1;
  g_push_bidi = 0;
  g_push_bytes = 100;
  wt_sim w;
  CHECK_FATAL(world_init(&w, srv_profile, cli_profile, NULL, NULL) == 0);
  wt_conn *c = wt_sim_connect(&w, 0, NULL);
  CHECK_FATAL(c != NULL);
  wt_sim_sess *cs = wt_sim_open_session(&w, 0, c, "/echo", NULL);
  CHECK_FATAL(cs != NULL);
  CHECK(wt_sim_run_until(&w, wt_sim_c_sess_settled, cs, 20 * SEC));
  CHECK_FATAL(cs->open);
  /* bidi echo, datagram echo, and the server's uni stream */
  wt_stream *bs = NULL;
  CHECK_EQ(wt_session_open_stream(cs->s, 1, &bs), 0);
  CHECK_FATAL(bs != NULL);
  wt_sim_stream *bx = wt_sim_stream_new(&w.cli[0], bs, 1);
  wt_sim_buf_add(&bx->tx, &bx->txlen, &bx->txcap, (const uint8_t *)"hello", 5);
  bx->tx_fin_want = 1;
  wt_sim_stream_flush(bx);
  CHECK_EQ(wt_session_send_datagram(cs->s, (const uint8_t *)"dg", 2), 0);
  CHECK(wt_sim_run_until(&w, c_echo_and_dgram, bx, 20 * SEC));
  CHECK(bx->rxlen == 5 && memcmp(bx->rx, "hello", 5) == 0);

  /* what the server saw */
  wt_sim_sess *ss = live_sess(&w.srv);
  CHECK_FATAL(ss != NULL);
  static const int dialect_of[] = {WT_DIALECT_16, WT_DIALECT_02, WT_DIALECT_07, WT_DIALECT_14,
                                   WT_DIALECT_16};
  CHECK_EQ(ss->s->dialect, dialect_of[cli_profile]);
  int fc = wt_settings_profile_offers_fc(cli_profile) && wt_settings_profile_offers_fc(srv_profile);
  CHECK_EQ(ss->s->fc.on, fc);
  CHECK_EQ(cs->s->fc.on, fc);
  if (fc) {
    CHECK_EQ(ss->s->fc.rx_streams[WT_SFC_BIDI], 1); /* the echo stream was counted */
    CHECK_EQ(ss->s->fc.rx_data, 5);
    CHECK_EQ(ss->s->fc.tx_data, 5 + 100); /* echo + push, headers not counted */
  }
  CHECK_EQ(wt_engine_get_stats(w.srv.e)->fc_errors, 0);
  CHECK_EQ(wt_sim_close_all(&w, 20 * SEC), 1);
  wt_sim_free(&w);
}

static void test_matrix(void) {
  for (int cp = WT_PROFILE_COMPAT; cp <= WT_PROFILE_DRAFT16; cp++) {
    one_pair(WT_PROFILE_COMPAT, cp);
    if (cp != WT_PROFILE_COMPAT) {
      one_pair(cp, cp);
    }
  }
}

/* Without flow control a draft-15+ client gets one session per connection
 * (draft-16 section 5.2); a draft-02 client keeps several. */
static void test_single_session(void) {
  static const uint64_t nofc[3] = {0, 0, 0};
  g_push_uni = 0;
  for (int cp = WT_PROFILE_DRAFT02; cp <= WT_PROFILE_DRAFT16; cp += WT_PROFILE_DRAFT16 - 1) {
    wt_sim w;
    CHECK_FATAL(world_init(&w, WT_PROFILE_COMPAT, cp, NULL, nofc) == 0);
    wt_conn *c = wt_sim_connect(&w, 0, NULL);
    CHECK_FATAL(c != NULL);
    wt_sim_sess *a = wt_sim_open_session(&w, 0, c, "/a", NULL);
    CHECK_FATAL(a != NULL);
    CHECK(wt_sim_run_until(&w, wt_sim_c_sess_settled, a, 20 * SEC));
    wt_sim_sess *b = wt_sim_open_session(&w, 0, c, "/b", NULL);
    CHECK_FATAL(b != NULL);
    CHECK(wt_sim_run_until(&w, wt_sim_c_sess_settled, b, 20 * SEC));
    CHECK(a->open);
    if (cp == WT_PROFILE_DRAFT16) {
      CHECK(b->refused);
      CHECK_EQ(b->raw_reset, WT_H3_REQUEST_REJECTED);
      CHECK_EQ(wt_engine_get_stats(w.srv.e)->sessions_rejected_single, 1);
    } else {
      CHECK(b->open);
    }
    CHECK_EQ(wt_sim_close_all(&w, 20 * SEC), 1);
    wt_sim_free(&w);
  }
  g_push_uni = 1;
}

/* A client granting 1 KiB and 2 streams of each kind: the server pushes
 * 6 uni + 3 bidi streams of 2000 bytes. */
static void test_tiny_window(void) {
  static const uint64_t tiny[3] = {1024, 2, 2};
  g_push_uni = 6;
  g_push_bidi = 3;
  g_push_bytes = 2000;
  wt_sim w;
  CHECK_FATAL(world_init(&w, WT_PROFILE_COMPAT, WT_PROFILE_DRAFT16, NULL, tiny) == 0);
  wt_conn *c = wt_sim_connect(&w, 0, NULL);
  CHECK_FATAL(c != NULL);
  wt_sim_sess *cs = wt_sim_open_session(&w, 0, c, "/push", NULL);
  CHECK_FATAL(cs != NULL);
  CHECK(wt_sim_run_until(&w, wt_sim_c_sess_settled, cs, 20 * SEC));
  CHECK_FATAL(cs->open);
  CHECK(cs->s->fc.on);
  want_streams ws = {6, 3};
  CHECK(wt_sim_run_until(&w, c_client_got, &ws, 60 * SEC));
  CHECK_EQ(count_done(&w.cli[0], 0, 0), 6);
  CHECK_EQ(count_done(&w.cli[0], 0, 1), 3);
  for (wt_sim_stream *x = w.cli[0].streams; x; x = x->next) {
    if (!x->local) {
      uint8_t ref[2000];
      wt_sim_fill_pattern(ref, sizeof(ref), (uint32_t)x->id);
      CHECK(x->rxlen == sizeof(ref) && memcmp(x->rx, ref, sizeof(ref)) == 0);
    }
  }
  const wt_engine_stats *sst = wt_engine_get_stats(w.srv.e);
  const wt_engine_stats *cst = wt_engine_get_stats(w.cli[0].e);
  /* never overrun: the client found no violation, its session lives */
  CHECK_EQ(cst->fc_errors, 0);
  CHECK(cs->s != NULL && !cs->closed);
  CHECK(cs->s->fc.rx_data <= cs->s->fc.rx_max_data);
  CHECK_EQ(cs->s->fc.rx_data, 9 * 2000);
  CHECK(cs->s->fc.rx_streams[WT_SFC_UNI] == 6 && cs->s->fc.rx_streams[WT_SFC_BIDI] == 3);
  /* the server waited for credit, said so, and the client granted more */
  CHECK(sst->fc_data_blocked > 0);
  CHECK(sst->fc_streams_waited >= 4 + 1);
  CHECK(sst->fc_blocked_ns > 0);
  CHECK(cst->fc_blocked_recv > 0);
  CHECK(cst->fc_updates_sent > 0);
  printf("  server: %llu data-blocked, %llu streams waited, blocked %.1f ms; client: %llu "
         "BLOCKED capsules, %llu updates sent\n",
         (unsigned long long)sst->fc_data_blocked, (unsigned long long)sst->fc_streams_waited,
         (double)sst->fc_blocked_ns / 1e6, (unsigned long long)cst->fc_blocked_recv,
         (unsigned long long)cst->fc_updates_sent);
  CHECK_EQ(wt_sim_close_all(&w, 20 * SEC), 1);
  wt_sim_free(&w);
  g_push_uni = 1;
  g_push_bidi = 0;
  g_push_bytes = 100;
}

/* A client that ignores the server's limits: 1 KiB, 1 uni stream. */
static void test_overrun(void) {
  static const uint64_t small[3] = {1024, 4, 1};
  g_push_uni = 0;
  for (int kind = 0; kind < 2; kind++) {
    wt_sim w;
    CHECK_FATAL(world_init(&w, WT_PROFILE_COMPAT, WT_PROFILE_DRAFT16, small, NULL) == 0);
    wt_conn *c = wt_sim_connect(&w, 0, NULL);
    CHECK_FATAL(c != NULL);
    wt_sim_sess *cs = wt_sim_open_session(&w, 0, c, "/x", NULL);
    CHECK_FATAL(cs != NULL);
    CHECK(wt_sim_run_until(&w, wt_sim_c_sess_settled, cs, 20 * SEC));
    CHECK_FATAL(cs->open);
    CHECK_EQ(wt_testhook_ignore_flow_control(cs->s), 0);
    uint8_t data[3000];
    memset(data, 'x', sizeof(data));
    for (int i = 0; i < (kind == 0 ? 3 : 1); i++) {
      wt_stream *st = NULL;
      CHECK_EQ(wt_session_open_stream(cs->s, kind == 0 ? 0 : 1, &st), 0);
      CHECK_FATAL(st != NULL);
      wt_sim_stream *x = wt_sim_stream_new(&w.cli[0], st, 1);
      wt_sim_buf_add(&x->tx, &x->txlen, &x->txcap, data, kind == 0 ? 10 : sizeof(data));
      wt_sim_stream_flush(x);
    }
    CHECK(wt_sim_run_until(&w, wt_sim_c_sess_closed, cs, 20 * SEC));
    CHECK(cs->closed && !cs->clean);
    CHECK_EQ(cs->raw_reset, WT_FLOW_CONTROL_ERROR);
    CHECK_EQ(wt_engine_get_stats(w.srv.e)->fc_errors, 1);
    CHECK_EQ(w.cli[0].conn_closed, 0); /* the session only */
    CHECK_EQ(wt_sim_close_all(&w, 20 * SEC), 1);
    wt_sim_free(&w);
  }
  g_push_uni = 1;
}

/* draft-16 section 3.1: a CONNECT before the client's SETTINGS waits. */
static void test_settings_first(void) {
  g_push_uni = 1;
  g_push_bytes = 100;
  for (int late = 0; late < 2; late++) {
    wt_sim w;
    CHECK_FATAL(world_init(&w, WT_PROFILE_COMPAT, WT_PROFILE_DRAFT16, NULL, NULL) == 0);
    wt_conn *c = wt_sim_connect(&w, 0, NULL);
    CHECK_FATAL(c != NULL);
    CHECK_EQ(wt_testhook_hold_settings(c, 1), 0);
    CHECK(wt_sim_run_until(&w, wt_sim_c_handshake, NULL, 20 * SEC));
    wt_sim_sess *cs = wt_sim_open_session(&w, 0, c, "/held", NULL);
    CHECK_FATAL(cs != NULL);
    wt_sim_run_until(&w, NULL, NULL, 300 * MS);
    const wt_engine_stats *sst = wt_engine_get_stats(w.srv.e);
    CHECK_EQ(sst->sessions_held, 1);
    CHECK(!cs->open && !cs->refused); /* not answered without SETTINGS */
    if (!late) {
      CHECK_EQ(wt_testhook_hold_settings(c, 0), 0);
      CHECK(wt_sim_run_until(&w, wt_sim_c_sess_settled, cs, 20 * SEC));
      CHECK(cs->open);
      wt_sim_sess *ss = live_sess(&w.srv);
      CHECK_FATAL(ss != NULL);
      CHECK_EQ(ss->s->dialect, WT_DIALECT_16); /* decided with the SETTINGS */
      CHECK(ss->s->fc.on);
      want_streams ws = {1, 0};
      CHECK(wt_sim_run_until(&w, c_client_got, &ws, 20 * SEC));
    } else {
      CHECK(wt_sim_run_until(&w, wt_sim_c_sess_settled, cs, 20 * SEC));
      CHECK(cs->refused);
      CHECK_EQ(cs->raw_reset, WT_H3_REQUEST_REJECTED);
      CHECK_EQ(sst->sessions_held_expired, 1);
      CHECK_EQ(wt_testhook_hold_settings(c, 0), 0);
    }
    CHECK_EQ(wt_sim_close_all(&w, 20 * SEC), 1);
    wt_sim_free(&w);
  }
}

int main(void) {
  if (wt_sim_test_init(&g_certs, 1) != 0) {
    return 1;
  }
  WT_RUN(test_matrix);
  WT_RUN(test_single_session);
  WT_RUN(test_tiny_window);
  WT_RUN(test_overrun);
  WT_RUN(test_settings_first);
  wt_sim_certs_remove(&g_certs);
  WT_DONE();
}
