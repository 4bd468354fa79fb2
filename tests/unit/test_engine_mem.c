/* test_engine_mem.c: the server engine's memory budget responses
 * (wt_engine_config.mem, max_conn_bytes; core/base/wt_mem.h), with client
 * engines on the simulated network (virtual time).
 *
 * - process levels: at REFUSE a new connection gets CONNECTION_REFUSED
 *   (mem_conns_refused); at NO_DGRAM a session's datagrams are dropped
 *   (mem_dgrams_dropped), echoed again once the level fell (after the
 *   dwell time); at CLOSE the connection holding the most is closed with
 *   H3_EXCESSIVE_LOAD (mem_conns_closed) and the other one is kept;
 * - max_ip_bytes: an address over it gets no new connection
 *   (mem_ip_refused) and loses its costliest connection after the grace
 *   (mem_ip_budget_closed); other addresses are not affected;
 * - max_conn_bytes: a connection whose unconsumed received bytes pass it
 *   gets no more credit (mem_credit_withheld) and is closed with
 *   H3_EXCESSIVE_LOAD after mem_over_grace_ns (mem_conn_budget_closed);
 * - accounting: every attributed byte is given back (the engine logs an
 *   error for a connection freed with bytes still attributed, and the
 *   budget's count returns to what the test charged);
 * - the windows granted at accept (wt_engine_grant_windows), read off the
 *   client's view of the transport parameters and of the session's
 *   WT_INITIAL_MAX_DATA: the configured ones without pressure (no budget,
 *   or a 24 GiB machine's default); the small ones at NO_CREDIT and
 *   NO_DGRAM (withheld, then repaid); in NORMAL the fair share of the
 *   headroom;
 * - session credit (WT_MAX_DATA) held back under pressure and sent when it
 *   ends; the HTTP/3 stream credit floor that keeps a CLOSE capsule
 *   possible;
 * - the libraries' own allocations: a connection's account holds ngtcp2's
 *   and nghttp3's blocks (the budget rose by exactly the accounts' sum),
 *   wolfSSL's are charged to the budget (wt_mem_lib_set_budget), and after
 *   rounds of connections opened and closed the budget is back at its
 *   baseline every time (no drift);
 * - an idle session's cost (issue 20's item 4): what ngtcp2 and nghttp3
 *   hold for a server connection with one WebTransport session and no
 *   stream, once the handshake is over, stays under a fixed number of
 *   bytes (the counting allocator's exact figure, not RSS). */
#include "wt_conn.h"
#include "wt_ctx.h" /* the server's connections and their accounts */
#include "wt_sim_check.h"

#define MS  WT_SIM_MS
#define SEC WT_SIM_SEC

static char g_cert[512], g_key[512];
static int g_hold_next;        /* the server holds the next N peer streams unconsumed */
static uint64_t g_srv_wt_data; /* the server's wt_initial_max_data (0: the default) */

static int hook_session_request(void *user, wt_session *s, const wt_request *req) {
  (void)req;
  wt_sim_sess_new(user, s);
  return 200;
}

static void hook_stream_open(void *user, wt_session *s, wt_stream *st) {
  wt_sim_node *n = user;
  wt_sim_stream *x = wt_stream_get_user(st);
  (void)s;
  if (n->is_server && g_hold_next > 0 && x) {
    g_hold_next--;
    CHECK_EQ(wt_stream_set_manual_credit(st, 1), 0);
    x->hold = 1;
  }
}

/* the server echoes datagrams (the harness counts the client's) */
static void hook_datagram(void *user, wt_session *s, const uint8_t *data, size_t len) {
  wt_sim_node *n = user;
  if (n->is_server) {
    (void)wt_session_send_datagram(s, data, len); /* may be refused under pressure */
  }
}

static const wt_engine_callbacks g_hooks = {.session_request = hook_session_request,
                                            .stream_open = hook_stream_open,
                                            .datagram = hook_datagram};

static int world_init2(wt_sim *w, wt_mem_budget *b, uint64_t max_conn_bytes,
                       uint64_t max_ip_bytes) {
  wt_sim_config cfg;
  wt_sim_config_default(&cfg);
  cfg.up.delay_ns = cfg.down.delay_ns = 1 * MS;
  wt_sim_init(w, &cfg, &g_hooks);
  wt_engine_config sc;
  wt_engine_config_default(&sc, 1);
  CHECK(sc.mem == NULL && sc.max_conn_bytes == 0 && sc.max_ip_bytes == 0); /* off by default */
  sc.cert_file = g_cert;
  sc.key_file = g_key;
  sc.retry_mode = WT_RETRY_NEVER;
  sc.mem = b;
  sc.max_conn_bytes = max_conn_bytes;
  sc.max_ip_bytes = max_ip_bytes;
  sc.mem_over_grace_ns = 1 * SEC;
  if (g_srv_wt_data) {
    sc.wt_initial_max_data = g_srv_wt_data;
  }
  return wt_sim_server_new(w, &sc);
}

static int world_init(wt_sim *w, wt_mem_budget *b, uint64_t max_conn_bytes) {
  return world_init2(w, b, max_conn_bytes, 0);
}

/* A client at ip:port (WT dialect profile: 0 = the default) with one
 * session on /x; returns its index, its connection in *conn (may be NULL). */
static int add_client_conn(wt_sim *w, const char *ip, uint16_t port, int profile,
                           wt_sim_sess **sess, wt_conn **conn) {
  wt_engine_config cc;
  wt_engine_config_default(&cc, 0);
  cc.insecure = 1;
  if (profile) {
    cc.wt_profile = profile;
  }
  wt_addr a;
  wt_sim_addr(&a, ip, port);
  int i = wt_sim_client_add(w, &cc, &a);
  CHECK(i >= 0);
  wt_conn *c = wt_sim_connect(w, i, NULL);
  CHECK(c != NULL);
  *sess = c ? wt_sim_open_session(w, i, c, "/x", NULL) : NULL;
  if (conn) {
    *conn = c;
  }
  return i;
}

static int add_client_at(wt_sim *w, const char *ip, uint16_t port, wt_sim_sess **sess) {
  return add_client_conn(w, ip, port, 0, sess, NULL);
}

static int add_client(wt_sim *w, uint16_t port, wt_sim_sess **sess) {
  return add_client_at(w, "127.0.0.1", port, sess);
}

/* Client session x sends n bytes on a new bidi stream. */
static void send_stream(wt_sim_sess *x, size_t n) {
  wt_stream *st = NULL;
  CHECK_FATAL(x && x->s && wt_session_open_stream(x->s, 1, &st) == 0);
  wt_sim_stream *y = wt_sim_stream_new(x->node, st, 1);
  uint8_t *p = malloc(n);
  CHECK_FATAL(p != NULL);
  wt_sim_fill_pattern(p, n, 7);
  wt_sim_buf_add(&y->tx, &y->txlen, &y->txcap, p, n);
  free(p);
  wt_sim_stream_flush(y);
}

static int cond_one_closed(wt_sim *w, void *arg) {
  (void)w;
  return ((const wt_engine_stats *)arg)->mem_conns_closed >= 1;
}

static void test_process_levels(void) {
  wt_mem_budget b;
  wt_mem_budget_init(&b, 1 << 20);
  wt_sim w;
  CHECK_FATAL(world_init(&w, &b, 0) == 0);
  const wt_engine_stats *ss = wt_engine_get_stats(w.srv.e);
  wt_sim_sess *s0 = NULL, *s1 = NULL, *s2 = NULL;
  int c0 = add_client(&w, 50000, &s0);
  wt_sim_run_until(&w, wt_sim_c_sess_settled, s0, 2 * SEC);
  CHECK_FATAL(s0 && s0->open);
  /* c0's own memory (ngtcp2, nghttp3: ~45 KB) is counted from here on */
  uint64_t base = wt_mem_poll(&b, 0) == WT_MEM_NORMAL ? wt_mem_used(&b) : 0;
  CHECK(base > 0 && base < (1 << 20) / 20);

  /* NO_DGRAM (80 %): datagrams are not echoed, counted */
  uint64_t charged = (1 << 20) / 10 * 8;
  wt_mem_charge(&b, charged);
  CHECK_EQ(wt_mem_poll(&b, w.now), WT_MEM_NO_DGRAM);
  for (int i = 0; i < 5; i++) {
    CHECK_EQ(wt_session_send_datagram(s0->s, (const uint8_t *)"ping", 4), 0);
  }
  wt_sim_run_until(&w, NULL, NULL, 200 * MS);
  CHECK_EQ(s0->dgrams, 0);
  CHECK_EQ(ss->mem_dgrams_dropped, 5);

  /* REFUSE (90 %): a new connection gets CONNECTION_REFUSED */
  wt_mem_charge(&b, (1 << 20) / 10);
  charged += (1 << 20) / 10;
  CHECK_EQ(wt_mem_poll(&b, w.now), WT_MEM_REFUSE);
  int c1 = add_client(&w, 50001, &s1);
  wt_sim_run_until(&w, NULL, NULL, 3 * SEC);
  CHECK(w.cli[c1].conn_closed);
  CHECK_EQ(w.cli[c1].conn_close_code, 0x2);
  CHECK_EQ(ss->mem_conns_refused, 1);

  /* back under: after the dwell time the level falls (the engine's poll),
   * a new connection gets in and datagrams are echoed again */
  wt_mem_uncharge(&b, charged);
  charged = 0;
  wt_sim_run_until(&w, NULL, NULL, WT_MEM_DWELL_NS + 200 * MS);
  CHECK_EQ(wt_mem_level(&b), WT_MEM_NORMAL);
  int c2 = add_client(&w, 50002, &s2);
  wt_sim_run_until(&w, wt_sim_c_sess_settled, s2, 2 * SEC);
  CHECK(s2 && s2->open);
  CHECK_EQ(ss->mem_conns_refused, 1);
  CHECK_EQ(wt_session_send_datagram(s0->s, (const uint8_t *)"ping", 4), 0);
  wt_sim_run_until(&w, NULL, NULL, 200 * MS);
  CHECK_EQ(s0->dgrams, 1);

  /* CLOSE: the costliest connection (c0 holds 48 KiB unconsumed besides
   * its library state) is closed with H3_EXCESSIVE_LOAD; once the use is
   * back under, c2 (holding only its library state) is kept */
  g_hold_next = 1;
  send_stream(s0, 48 * 1024);
  wt_sim_run_until(&w, NULL, NULL, 200 * MS);
  wt_mem_charge(&b, 1 << 20);
  charged = 1 << 20;
  CHECK_EQ(wt_mem_poll(&b, w.now), WT_MEM_CLOSE);
  wt_sim_run_until(&w, cond_one_closed, (void *)ss, 500 * MS);
  CHECK_EQ(ss->mem_conns_closed, 1);
  wt_mem_uncharge(&b, charged);
  charged = 0;
  wt_sim_run_until(&w, NULL, NULL, 500 * MS);
  CHECK_EQ(ss->mem_conns_closed, 1);
  CHECK(w.cli[c0].conn_closed);
  CHECK_EQ(w.cli[c0].conn_close_code, WT_H3_EXCESSIVE_LOAD);
  CHECK_EQ(w.cli[c0].conn_close_app, 1);
  CHECK(!w.cli[c2].conn_closed);
  CHECK_EQ(b.entered[WT_MEM_CLOSE], 1);

  /* every attributed byte given back: the count is what it was before
   * the first connection */
  wt_sim_close_all(&w, 5 * SEC);
  wt_mem_poll(&b, w.now);
  CHECK_EQ(wt_mem_used(&b), 0);
  wt_sim_free(&w);
  wt_mem_budget_fini(&b);
}

static void test_conn_budget(void) {
  wt_sim w;
  /* 96 KiB: above one connection's library state (~45 KB) and 8 KiB */
  CHECK_FATAL(world_init(&w, NULL, 96 * 1024) == 0);
  const wt_engine_stats *ss = wt_engine_get_stats(w.srv.e);
  wt_sim_sess *s0 = NULL, *s1 = NULL;
  int c0 = add_client(&w, 50000, &s0);
  int c1 = add_client(&w, 50001, &s1);
  wt_sim_run_until(&w, NULL, NULL, 1 * SEC);
  CHECK_FATAL(s0 && s0->open && s1 && s1->open);
  /* c0: 128 KiB the server's application does not consume (within the
   * initial windows), then a stream the server consumes: its credit is
   * withheld */
  g_hold_next = 1;
  send_stream(s0, 128 * 1024);
  wt_sim_run_until(&w, NULL, NULL, 100 * MS);
  send_stream(s0, 8 * 1024);
  send_stream(s1, 8 * 1024); /* c1 is under its budget: not affected */
  wt_sim_run_until(&w, NULL, NULL, 300 * MS);
  CHECK_EQ(ss->mem_credit_withheld, 1);
  CHECK(!w.cli[c0].conn_closed);
  /* still over after the grace (1 s): closed */
  wt_sim_run_until(&w, NULL, NULL, 1500 * MS);
  CHECK_EQ(ss->mem_conn_budget_closed, 1);
  CHECK(w.cli[c0].conn_closed);
  CHECK_EQ(w.cli[c0].conn_close_code, WT_H3_EXCESSIVE_LOAD);
  CHECK_EQ(w.cli[c0].conn_close_app, 1);
  CHECK(!w.cli[c1].conn_closed);
  CHECK_EQ(ss->mem_conns_closed, 0); /* no process budget here */
  wt_sim_free(&w);
}

/* max_ip_bytes: two connections from 127.0.0.1 holding 48 and 32 KiB
 * unconsumed, plus each its library state (~45 KB), pass a 128 KiB
 * address budget: a third from that address is
 * refused (mem_ip_refused), one from 127.0.0.2 is not; after the grace the
 * address's costliest connection (48 KiB) is closed with H3_EXCESSIVE_LOAD
 * (mem_ip_budget_closed) and the address is back under its budget, so the
 * other one stays. */
static void test_ip_budget(void) {
  wt_sim w;
  CHECK_FATAL(world_init2(&w, NULL, 0, 128 * 1024) == 0);
  const wt_engine_stats *ss = wt_engine_get_stats(w.srv.e);
  wt_sim_sess *s0 = NULL, *s1 = NULL, *s2 = NULL, *s3 = NULL;
  int c0 = add_client(&w, 50000, &s0);
  int c1 = add_client(&w, 50001, &s1);
  wt_sim_run_until(&w, NULL, NULL, 1 * SEC);
  CHECK_FATAL(s0 && s0->open && s1 && s1->open);
  g_hold_next = 2;
  send_stream(s0, 48 * 1024);
  send_stream(s1, 32 * 1024);
  wt_sim_run_until(&w, NULL, NULL, 200 * MS);
  int c2 = add_client(&w, 50002, &s2);
  int c3 = add_client_at(&w, "127.0.0.2", 50000, &s3);
  wt_sim_run_until(&w, NULL, NULL, 600 * MS);
  CHECK_EQ(ss->mem_ip_refused, 1);
  CHECK(s3 && s3->open);
  CHECK(!w.cli[c3].conn_closed);
  /* the grace (1 s) ends: the costliest of 127.0.0.1 goes */
  wt_sim_run_until(&w, NULL, NULL, 3 * SEC);
  CHECK(w.cli[c2].conn_closed);
  CHECK_EQ(w.cli[c2].conn_close_code, 0x2);
  CHECK_EQ(ss->mem_ip_budget_closed, 1);
  CHECK(w.cli[c0].conn_closed);
  CHECK_EQ(w.cli[c0].conn_close_code, WT_H3_EXCESSIVE_LOAD);
  CHECK(!w.cli[c1].conn_closed);
  CHECK_EQ(ss->mem_conn_budget_closed, 0);
  wt_sim_free(&w);
}

/* ---- the windows a connection is granted at accept (wt_engine_grant_windows) */

/* What the server granted, read off the client's view of its transport
 * parameters. */
static void peer_windows(wt_conn *c, uint64_t *conn_data, uint64_t *stream_data) {
  const ngtcp2_transport_params *p = ngtcp2_conn_get_remote_transport_params(c->qc);
  CHECK_FATAL(p != NULL);
  *conn_data = p->initial_max_data;
  *stream_data = p->initial_max_stream_data_bidi_remote;
  CHECK_EQ(p->initial_max_stream_data_bidi_local, *stream_data);
  CHECK_EQ(p->initial_max_stream_data_uni, *stream_data);
}

/* The server's record of the newest peer stream. */
static wt_sim_stream *srv_peer_stream(wt_sim *w) {
  for (wt_sim_stream *x = w->srv.streams; x; x = x->next) {
    if (!x->local) {
      return x;
    }
  }
  return NULL;
}

/* (c) no pressure: without a budget, and with the budget a 24 GiB machine
 * gets by default (50 %), a connection is granted the configured windows
 * (16 MiB / 1 MiB, WT_INITIAL_MAX_DATA 16 MiB), and nothing is counted. */
static void test_windows_unpressed(void) {
  wt_mem_budget big;
  wt_mem_budget_init(&big, 12ull << 30);
  wt_mem_budget *budgets[2] = {NULL, &big};
  for (int k = 0; k < 2; k++) {
    wt_sim w;
    CHECK_FATAL(world_init(&w, budgets[k], 0) == 0);
    wt_sim_sess *s0 = NULL;
    wt_conn *c0 = NULL;
    add_client_conn(&w, "127.0.0.1", 50000, WT_PROFILE_DRAFT16, &s0, &c0);
    wt_sim_run_until(&w, wt_sim_c_sess_settled, s0, 2 * SEC);
    CHECK_FATAL(s0 && s0->open);
    uint64_t cd = 0, sd = 0;
    peer_windows(c0, &cd, &sd);
    CHECK_EQ(cd, 16u << 20);
    CHECK_EQ(sd, 1u << 20);
    CHECK_EQ(s0->s->fc.on, 1);
    CHECK_EQ(s0->s->fc.tx_max_data, 16u << 20); /* the server's WT_INITIAL_MAX_DATA */
    CHECK_EQ(wt_engine_get_stats(w.srv.e)->mem_small_windows, 0);
    wt_sim_free(&w);
  }
  wt_mem_budget_fini(&big);
}

/* (a) a connection accepted at NO_CREDIT or NO_DGRAM (the levels below
 * REFUSE) gets the small windows: 64 KiB per connection, 32 KiB per
 * stream, WT_INITIAL_MAX_DATA 64 KiB; its CONNECT fits and the session
 * opens; a 100 KiB stream stops within the windows (credit withheld) and
 * completes once the level falls (owed credit repaid). */
static void test_windows_pressed(void) {
  static const int levels[2] = {WT_MEM_NO_CREDIT, WT_MEM_NO_DGRAM};
  for (int k = 0; k < 2; k++) {
    wt_mem_budget b;
    wt_mem_budget_init(&b, 1 << 20);
    wt_sim w;
    CHECK_FATAL(world_init(&w, &b, 0) == 0);
    const wt_engine_stats *ss = wt_engine_get_stats(w.srv.e);
    uint64_t charged = (uint64_t)(b.thresh[levels[k]] + 20) * (1 << 20) / 1000;
    wt_mem_charge(&b, charged);
    CHECK_EQ(wt_mem_poll(&b, w.now), levels[k]);
    wt_sim_sess *s0 = NULL;
    wt_conn *c0 = NULL;
    add_client_conn(&w, "127.0.0.1", 50000, WT_PROFILE_DRAFT16, &s0, &c0);
    wt_sim_run_until(&w, wt_sim_c_sess_settled, s0, 2 * SEC);
    CHECK_FATAL(s0 && s0->open);
    uint64_t cd = 0, sd = 0;
    peer_windows(c0, &cd, &sd);
    CHECK_EQ(cd, WT_WIN_MIN_CONN);
    CHECK_EQ(sd, WT_WIN_MIN_STREAM);
    CHECK_EQ(s0->s->fc.tx_max_data, WT_WIN_MIN_CONN);
    CHECK_EQ(ss->mem_small_windows, 1);
    send_stream(s0, 100 * 1024);
    wt_sim_run_until(&w, NULL, NULL, 300 * MS);
    wt_sim_stream *x = srv_peer_stream(&w);
    CHECK_FATAL(x != NULL);
    CHECK(x->rxlen <= WT_WIN_MIN_STREAM);
    CHECK(ss->mem_credit_withheld >= 1);
    wt_mem_uncharge(&b, charged);
    wt_sim_run_until(&w, NULL, NULL, WT_MEM_DWELL_NS + 2 * SEC);
    CHECK_EQ(wt_mem_level(&b), WT_MEM_NORMAL);
    CHECK_EQ(x->rxlen, 100 * 1024);
    wt_sim_close_all(&w, 5 * SEC);
    wt_sim_free(&w);
    wt_mem_budget_fini(&b);
  }
}

/* (b) NORMAL: the connection window is the fair share of the headroom
 * below the NO_CREDIT threshold, (max x 0.6 - used) / (connections + 1):
 * a first connection on an idle 1 MiB budget gets ~614 KiB (the stream
 * window half of it), a second one with 300 KiB more held ~157 KiB, a third
 * with the headroom gone the small windows. (The count the engine reads
 * lags the charges by at most WT_MEM_BATCH.) */
static void test_windows_headroom(void) {
  wt_mem_budget b;
  wt_mem_budget_init(&b, 1 << 20);
  wt_sim w;
  CHECK_FATAL(world_init(&w, &b, 0) == 0);
  uint64_t limit = (uint64_t)(1 << 20) * b.thresh[WT_MEM_NO_CREDIT] / 1000;
  wt_sim_sess *s[3] = {NULL, NULL, NULL};
  wt_conn *c[3] = {NULL, NULL, NULL};
  uint64_t cd[3] = {0, 0, 0}, sd[3] = {0, 0, 0};
  uint64_t charged = 0;
  for (int i = 0; i < 3; i++) {
    if (i == 1) {
      charged += 300 * 1024;
      wt_mem_charge(&b, 300 * 1024);
    } else if (i == 2) {
      /* just below the threshold: the first connections' ngtcp2/nghttp3
       * bytes count too, and up to a batch of them may not be in the count
       * read here yet */
      uint64_t u = wt_mem_used(&b), gap = 8 * 1024 + WT_MEM_BATCH;
      uint64_t add = limit > u + gap ? limit - u - gap : 0;
      charged += add;
      wt_mem_charge(&b, add);
    }
    CHECK_EQ(wt_mem_poll(&b, w.now), WT_MEM_NORMAL);
    uint64_t used = wt_mem_used(&b);
    add_client_conn(&w, "127.0.0.1", (uint16_t)(50000 + i), 0, &s[i], &c[i]);
    wt_sim_run_until(&w, wt_sim_c_sess_settled, s[i], 2 * SEC);
    CHECK_FATAL(s[i] && s[i]->open);
    peer_windows(c[i], &cd[i], &sd[i]);
    uint64_t want = used < limit ? (limit - used) / (uint64_t)(i + 1) : 0;
    fprintf(stderr, "conn %d: used %llu: granted %llu / %llu (share %llu)\n", i,
            (unsigned long long)used, (unsigned long long)cd[i], (unsigned long long)sd[i],
            (unsigned long long)want);
    if (want < WT_WIN_MIN_CONN) {
      CHECK_EQ(cd[i], WT_WIN_MIN_CONN);
      CHECK_EQ(sd[i], WT_WIN_MIN_STREAM);
    } else {
      /* the engine's own buffers (counted, within one batch) may have
       * shrunk the share a little */
      CHECK(cd[i] <= want && cd[i] + WT_MEM_BATCH / (uint64_t)(i + 1) >= want);
      uint64_t half = cd[i] / 2 < WT_WIN_MIN_STREAM ? WT_WIN_MIN_STREAM : cd[i] / 2;
      CHECK_EQ(sd[i], half < (1u << 20) ? half : (1u << 20));
    }
  }
  CHECK(cd[0] > cd[1] && cd[1] > cd[2]);
  CHECK_EQ(cd[2], WT_WIN_MIN_CONN);
  CHECK_EQ(wt_engine_get_stats(w.srv.e)->mem_small_windows, 3);
  wt_mem_uncharge(&b, charged);
  wt_sim_close_all(&w, 5 * SEC);
  wt_mem_poll(&b, w.now);
  CHECK_EQ(wt_mem_used(&b), 0);
  wt_sim_free(&w);
  wt_mem_budget_fini(&b);
}

/* (d) session credit: a draft-16 session (WT_INITIAL_MAX_DATA 32 KiB)
 * opened in NORMAL sends 64 KiB while the level is NO_CREDIT: the server
 * consumes the first 32 KiB but its WT_MAX_DATA is held back (counted
 * session_credit_withheld), so the client stays at 32 KiB; the client's
 * WT_DATA_BLOCKED capsule arrives all the same (the CONNECT stream keeps
 * credit open; its own credit withheld, counted h3_credit_withheld). When
 * the level falls the WT_MAX_DATA goes out and the rest arrives; a CLOSE
 * capsule with a 1,024-byte reason then reaches the server. */
static void test_session_credit(void) {
  wt_mem_budget b;
  wt_mem_budget_init(&b, 4 << 20);
  g_srv_wt_data = 32 * 1024;
  wt_sim w;
  CHECK_FATAL(world_init(&w, &b, 0) == 0);
  const wt_engine_stats *ss = wt_engine_get_stats(w.srv.e);
  wt_sim_sess *s0 = NULL;
  int c0 = add_client_conn(&w, "127.0.0.1", 50000, WT_PROFILE_DRAFT16, &s0, NULL);
  wt_sim_run_until(&w, wt_sim_c_sess_settled, s0, 2 * SEC);
  CHECK_FATAL(s0 && s0->open && s0->s->fc.on);
  CHECK_EQ(s0->s->fc.tx_max_data, 32 * 1024);
  uint64_t charged = (uint64_t)(4 << 20) / 100 * 65;
  wt_mem_charge(&b, charged);
  CHECK_EQ(wt_mem_poll(&b, w.now), WT_MEM_NO_CREDIT);
  const wt_engine_stats *cs = wt_engine_get_stats(w.cli[c0].e);
  uint64_t blocked_before = cs->fc_data_blocked;
  send_stream(s0, 64 * 1024);
  wt_sim_run_until(&w, NULL, NULL, 400 * MS);
  wt_sim_stream *x = srv_peer_stream(&w);
  CHECK_FATAL(x != NULL);
  CHECK_EQ(x->rxlen, 32 * 1024);
  CHECK_EQ(s0->s->fc.tx_max_data, 32 * 1024);
  CHECK_EQ(ss->mem_session_credit_withheld, 1);
  CHECK(cs->fc_data_blocked > blocked_before);
  CHECK(ss->mem_h3_credit_withheld >= 1);
  CHECK_EQ(ss->fc_updates_sent, 0);
  wt_mem_uncharge(&b, charged);
  wt_sim_run_until(&w, NULL, NULL, WT_MEM_DWELL_NS + 1 * SEC);
  CHECK_EQ(wt_mem_level(&b), WT_MEM_NORMAL);
  CHECK_EQ(x->rxlen, 64 * 1024);
  CHECK(s0->s->fc.tx_max_data > 32 * 1024);
  CHECK(ss->fc_updates_sent >= 1);
  /* under pressure again: the session still closes with a full reason */
  wt_mem_charge(&b, charged);
  CHECK_EQ(wt_mem_poll(&b, w.now), WT_MEM_NO_CREDIT);
  uint8_t reason[1024];
  memset(reason, 'r', sizeof(reason));
  CHECK_EQ(wt_session_close(s0->s, 7, reason, sizeof(reason)), 0);
  wt_sim_run_until(&w, NULL, NULL, 300 * MS);
  wt_sim_sess *sx = w.srv.sessions;
  CHECK_FATAL(sx != NULL);
  CHECK(sx->closed && sx->clean);
  CHECK_EQ(sx->code, 7);
  wt_mem_uncharge(&b, charged);
  g_srv_wt_data = 0;
  wt_sim_close_all(&w, 5 * SEC);
  wt_sim_free(&w);
  wt_mem_budget_fini(&b);
}

/* The HTTP/3 stream credit floor (WT_H3_CREDIT_FLOOR): a session accepted
 * at NO_CREDIT (32 KiB stream windows) gets 40 KiB of unknown capsules
 * (RFC 9297 grease type 0x17, skipped by the server) on its CONNECT stream
 * while the level stays: the stream's credit is withheld (counted
 * h3_credit_withheld, the client sees less than the window open) but never
 * below the floor, so every capsule arrives and then a CLOSE capsule with a
 * 1,024-byte reason too. Withholding it all would stop the capsules at
 * 32 KiB; withholding none would leave 24-32 KiB open. */
static void test_h3_credit_floor(void) {
  wt_mem_budget b;
  wt_mem_budget_init(&b, 1 << 20);
  wt_sim w;
  CHECK_FATAL(world_init(&w, &b, 0) == 0);
  const wt_engine_stats *ss = wt_engine_get_stats(w.srv.e);
  uint64_t charged = (uint64_t)(1 << 20) / 100 * 65;
  wt_mem_charge(&b, charged);
  CHECK_EQ(wt_mem_poll(&b, w.now), WT_MEM_NO_CREDIT);
  wt_sim_sess *s0 = NULL;
  wt_conn *c0 = NULL;
  add_client_conn(&w, "127.0.0.1", 50000, WT_PROFILE_DRAFT16, &s0, &c0);
  wt_sim_run_until(&w, wt_sim_c_sess_settled, s0, 2 * SEC);
  CHECK_FATAL(s0 && s0->open);
  wt_sim_sess *sx = w.srv.sessions;
  CHECK_FATAL(sx && sx->s);
  uint8_t cap[1003];
  memset(cap, 'g', sizeof(cap));
  cap[0] = 0x17; /* type */
  cap[1] = 0x43; /* length 1000, a 2-byte varint */
  cap[2] = 0xe8;
  for (int i = 0; i < 40; i++) {
    CHECK_EQ(wt_session_queue_capsule(s0->s, cap, sizeof(cap), 0), 0);
  }
  wt_sim_run_until(&w, NULL, NULL, 500 * MS);
  CHECK_FATAL(sx->s->cp != NULL);
  CHECK_EQ(sx->s->cp->skipped, 40);
  CHECK(ss->mem_h3_credit_withheld >= 1);
  uint64_t left = ngtcp2_conn_get_max_stream_data_left(c0->qc, (int64_t)wt_session_id(s0->s));
  fprintf(stderr, "CONNECT stream credit the client sees: %llu\n", (unsigned long long)left);
  CHECK(left >= WT_H3_CREDIT_FLOOR && left <= WT_WIN_MIN_STREAM / 2);
  uint8_t reason[1024];
  memset(reason, 'r', sizeof(reason));
  CHECK_EQ(wt_session_close(s0->s, 9, reason, sizeof(reason)), 0);
  wt_sim_run_until(&w, NULL, NULL, 300 * MS);
  CHECK(sx->closed && sx->clean);
  CHECK_EQ(sx->code, 9);
  wt_mem_uncharge(&b, charged);
  wt_sim_close_all(&w, 5 * SEC);
  wt_sim_free(&w);
  wt_mem_budget_fini(&b);
}

/* What a burst can push in before any response applies: 8 connections
 * accepted in NORMAL on a 4 MiB budget, each then sending 8 streams of
 * 512 KiB that the server keeps unconsumed (no credit ever returned). The
 * k-th connection got (0.6 x 4 MiB) / k, so all of them together hold at
 * most 0.6 x 4 MiB x H(8) (~6.8 MB; H: the harmonic number) and each no
 * more than its window; with the configured windows for everyone it was
 * 8 x 4 MiB = 32 MiB. */
static void test_burst_bounded_by_windows(void) {
  enum { NC = 8, NS = 8, SZ = 512 * 1024 };
  wt_mem_budget b;
  wt_mem_budget_init(&b, 4 << 20);
  wt_sim w;
  CHECK_FATAL(world_init(&w, &b, 0) == 0);
  wt_sim_sess *s[NC];
  wt_conn *c[NC];
  uint64_t granted[NC], total_granted = 0;
  for (int i = 0; i < NC; i++) {
    add_client_conn(&w, "127.0.0.1", (uint16_t)(50000 + i), 0, &s[i], &c[i]);
    wt_sim_run_until(&w, wt_sim_c_sess_settled, s[i], 2 * SEC);
    CHECK_FATAL(s[i] && s[i]->open);
    uint64_t sd = 0;
    peer_windows(c[i], &granted[i], &sd);
    total_granted += granted[i];
  }
  g_hold_next = NC * NS;
  for (int i = 0; i < NC; i++) {
    for (int k = 0; k < NS; k++) {
      send_stream(s[i], SZ);
    }
  }
  wt_sim_run_until(&w, NULL, NULL, 2 * SEC);
  g_hold_next = 0;
  uint64_t held = 0;
  for (wt_sim_stream *x = w.srv.streams; x; x = x->next) {
    if (!x->local && x->hold) {
      held += x->rxlen;
    }
  }
  double h = 0;
  for (int k = 1; k <= NC; k++) {
    h += 1.0 / k;
  }
  uint64_t r = (uint64_t)(4 << 20) * b.thresh[WT_MEM_NO_CREDIT] / 1000;
  uint64_t bound = (uint64_t)((double)r * h);
  fprintf(stderr,
          "burst: %u connections granted %llu bytes in all, the server holds %llu (bound %llu)\n",
          NC, (unsigned long long)total_granted, (unsigned long long)held,
          (unsigned long long)bound);
  CHECK(total_granted <= bound);
  CHECK(held <= total_granted);
  CHECK(held * 2 > total_granted); /* the windows were used: the bound is what held it */
  wt_sim_close_all(&w, 5 * SEC);
  wt_sim_free(&w);
  wt_mem_budget_fini(&b);
}

/* The level falls after the last connection is gone: the engine keeps
 * polling while the level is up (the memory of the last connections is
 * given back when they are freed, after their last budget check). */
static void test_level_falls_without_conns(void) {
  wt_mem_budget b;
  wt_mem_budget_init(&b, 1 << 20);
  wt_sim w;
  CHECK_FATAL(world_init(&w, &b, 0) == 0);
  wt_sim_sess *s0 = NULL;
  add_client(&w, 53000, &s0);
  wt_sim_run_until(&w, wt_sim_c_sess_settled, s0, 2 * SEC);
  CHECK_FATAL(s0 && s0->open);
  uint64_t charged = (1 << 20) / 100 * 65;
  wt_mem_charge(&b, charged);
  CHECK_EQ(wt_mem_poll(&b, w.now), WT_MEM_NO_CREDIT);
  wt_sim_close_all(&w, 5 * SEC);
  CHECK_EQ(w.srv.e->n_conns, 0);
  wt_mem_uncharge(&b, charged);
  wt_mem_budget_fini(&b); /* this thread's batch: flushed, no level moved */
  CHECK_EQ(wt_mem_level(&b), WT_MEM_NO_CREDIT);
  wt_sim_run_until(&w, NULL, NULL, WT_MEM_DWELL_NS + 500 * MS);
  CHECK_EQ(wt_mem_level(&b), WT_MEM_NORMAL);
  CHECK_EQ(wt_mem_used(&b), 0);
  /* and the engine goes quiet again: no budget timer at NORMAL */
  CHECK_EQ(wt_engine_next_expiry(w.srv.e), UINT64_MAX);
  wt_sim_free(&w);
  wt_mem_budget_fini(&b);
}

/* Sum of the server's connections' accounts; *n: how many. */
static uint64_t srv_conn_bytes(wt_sim *w, uint64_t *min, size_t *n) {
  uint64_t sum = 0;
  *min = UINT64_MAX;
  *n = 0;
  for (wt_list_node *l = w->srv.e->conns.next; l != &w->srv.e->conns; l = l->next) {
    wt_conn *c = wt_container_of(l, wt_conn, all_link);
    sum += c->mem.bytes;
    *min = c->mem.bytes < *min ? c->mem.bytes : *min;
    (*n)++;
  }
  return sum;
}

static void test_library_bytes(void) {
  wt_mem_budget b;
  wt_mem_budget_init(&b, 0); /* counted, never under pressure */
  wt_sim w;
  CHECK_FATAL(world_init(&w, &b, 0) == 0);
  wt_mem_poll(&b, 0);
  uint64_t base = wt_mem_used(&b);
  /* ngtcp2 + nghttp3: attributed to the connection, charged to the budget */
  enum { N = 6 };
  wt_sim_sess *s[N];
  for (int i = 0; i < N; i++) {
    add_client(&w, (uint16_t)(51000 + i), &s[i]);
  }
  wt_sim_run_until(&w, NULL, NULL, 1 * SEC);
  for (int i = 0; i < N; i++) {
    CHECK_FATAL(s[i] && s[i]->open);
    send_stream(s[i], 4096); /* streams, acked ranges, retransmission state */
  }
  wt_sim_run_until(&w, NULL, NULL, 300 * MS);
  uint64_t min;
  size_t n;
  uint64_t sum = srv_conn_bytes(&w, &min, &n);
  CHECK_EQ(n, N);
  CHECK(min >= 8 * 1024); /* an ngtcp2 connection alone holds more */
  wt_mem_poll(&b, 0);
  CHECK_EQ(wt_mem_used(&b) - base, sum);
  printf("# per connection: %llu bytes attributed (min %llu)\n", (unsigned long long)(sum / N),
         (unsigned long long)min);
  wt_sim_close_all(&w, 5 * SEC);
  wt_mem_poll(&b, 0);
  CHECK_EQ(wt_mem_used(&b), base); /* every block given back */
  wt_sim_free(&w);
  wt_mem_budget_fini(&b);
}

/* wolfSSL too (process-wide), rounds of connections: back to the same
 * count after each round (the first round may leave caches warm). */
static void test_library_no_drift(void) {
  wt_mem_budget b;
  wt_mem_budget_init(&b, 0);
  wt_mem_lib_set_budget(&b);
  wt_sim w;
  CHECK_FATAL(world_init(&w, &b, 0) == 0);
  wt_mem_poll(&b, 0);
  uint64_t empty = wt_mem_used(&b);
  CHECK(empty > 0); /* the server's wolfSSL context */
  uint64_t after[4] = {0}, peak = 0;
  int cli[4];
  for (int r = 0; r < 4; r++) {
    wt_sim_sess *s[4];
    for (int i = 0; i < 4; i++) {
      if (r == 0) {
        cli[i] = add_client(&w, (uint16_t)(52000 + i), &s[i]);
      } else { /* the same client engines, new connections */
        wt_conn *c = wt_sim_connect(&w, cli[i], NULL);
        CHECK_FATAL(c != NULL);
        s[i] = wt_sim_open_session(&w, cli[i], c, "/x", NULL);
      }
    }
    wt_sim_run_until(&w, NULL, NULL, 1 * SEC);
    for (int i = 0; i < 4; i++) {
      CHECK_FATAL(s[i] && s[i]->open);
      send_stream(s[i], 2048);
    }
    wt_sim_run_until(&w, NULL, NULL, 300 * MS);
    wt_mem_poll(&b, 0);
    uint64_t open = wt_mem_used(&b);
    peak = open > peak ? open : peak;
    wt_sim_close_all(&w, 5 * SEC);
    wt_mem_poll(&b, 0);
    after[r] = wt_mem_used(&b);
    CHECK(open > after[r]);
  }
  printf("# budget: %llu empty, %llu with 4 connections, after rounds %llu %llu %llu %llu\n",
         (unsigned long long)empty, (unsigned long long)peak, (unsigned long long)after[0],
         (unsigned long long)after[1], (unsigned long long)after[2], (unsigned long long)after[3]);
  CHECK_EQ(after[2], after[1]);
  CHECK_EQ(after[3], after[1]);
  wt_sim_free(&w);
  wt_mem_lib_set_budget(NULL);
  wt_mem_budget_fini(&b);
}

/* The bytes ngtcp2 and nghttp3 hold for an idle server connection (one
 * session, no stream, handshake done and confirmed, keys of the earlier
 * levels discarded): deterministic, counted by the connection's account.
 * The bound follows the cuts made for issue 20 (item 4): 45 196 bytes
 * with ngtcp2 as released, 42 252 with its ksl blocks at degree 8
 * (tools/patches/ngtcp2/0006), 37 388 with its per-connection object
 * blocks of 4 (0007); it fails without either patch. */
#define IDLE_LIB_BYTES_MAX (38 * 1024)
static void test_idle_session_bytes(void) {
  wt_mem_budget b;
  wt_mem_budget_init(&b, 0);
  wt_sim w;
  CHECK_FATAL(world_init(&w, &b, 0) == 0);
  enum { N = 4 };
  wt_sim_sess *s[N];
  for (int i = 0; i < N; i++) {
    add_client(&w, (uint16_t)(53000 + i), &s[i]);
  }
  wt_sim_run_until(&w, NULL, NULL, 3 * SEC); /* handshakes, then idle (ACKs settled) */
  for (int i = 0; i < N; i++) {
    CHECK_FATAL(s[i] && s[i]->open);
  }
  uint64_t min, max = 0;
  size_t n;
  uint64_t sum = srv_conn_bytes(&w, &min, &n);
  CHECK_EQ(n, N);
  for (wt_list_node *l = w.srv.e->conns.next; l != &w.srv.e->conns; l = l->next) {
    wt_conn *c = wt_container_of(l, wt_conn, all_link);
    max = c->mem.bytes > max ? c->mem.bytes : max;
  }
  printf("# idle session: ngtcp2 + nghttp3 hold %llu bytes per connection (min %llu, max %llu; "
         "bound %u)\n",
         (unsigned long long)(sum / N), (unsigned long long)min, (unsigned long long)max,
         (unsigned)IDLE_LIB_BYTES_MAX);
  CHECK(max <= IDLE_LIB_BYTES_MAX);
  wt_sim_close_all(&w, 5 * SEC);
  wt_sim_free(&w);
  wt_mem_budget_fini(&b);
}

int main(void) {
  wt_sim_test_init(NULL, 0);
  const char *src = getenv("WTCAST_SRC");
  snprintf(g_cert, sizeof(g_cert), "%s/tests/data/fuzz-cert.pem", src ? src : ".");
  snprintf(g_key, sizeof(g_key), "%s/tests/data/fuzz-key.pem", src ? src : ".");
  WT_RUN(test_process_levels);
  WT_RUN(test_conn_budget);
  WT_RUN(test_ip_budget);
  WT_RUN(test_windows_unpressed);
  WT_RUN(test_windows_pressed);
  WT_RUN(test_windows_headroom);
  WT_RUN(test_session_credit);
  WT_RUN(test_h3_credit_floor);
  WT_RUN(test_burst_bounded_by_windows);
  WT_RUN(test_level_falls_without_conns);
  WT_RUN(test_library_bytes);
  WT_RUN(test_library_no_drift);
  WT_RUN(test_idle_session_bytes);
  WT_DONE();
}
