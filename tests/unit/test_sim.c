/* test_sim.c: the simulated network of tests/sim (wt_sim.h) itself, with a
 * client and a server engine on it: each direction has its own delay (the
 * first packet each way arrives exactly then), a run is the same for the
 * same seed (and differs for another), duplicated and reordered packets
 * still carry a session and a verified bidi echo, a full queue drops and
 * counts, NAT rebinding changes the address the server sees, and the
 * run/step bounds hold (the clock never passes a deadline). */
#include "fuzz_detrand.h"
#include "wt_sim_check.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#define MS  WT_SIM_MS
#define SEC WT_SIM_SEC

static wt_sim_certs g_certs;

/* The server echoes bidi streams (on top of the recording). */
static void hook_stream_data(void *user, wt_stream *st, const uint8_t *data, size_t len, int fin) {
  wt_sim_node *n = user;
  wt_sim_stream *x = wt_stream_get_user(st);
  if (!n->is_server || x == NULL || !x->bidi) {
    return;
  }
  wt_sim_buf_add(&x->tx, &x->txlen, &x->txcap, data, len);
  x->tx_fin_want |= fin;
  wt_sim_stream_flush(x);
}

static const wt_engine_callbacks g_hooks = {.stream_data = hook_stream_data};

static int world_init(wt_sim *w, const wt_sim_config *cfg) {
  wt_sim_init(w, cfg, &g_hooks);
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

static int c_srv_pkt(wt_sim *w, void *arg) {
  return wt_engine_get_stats(w->srv.e)->pkts_in > 0;
}
static int c_cli_pkt(wt_sim *w, void *arg) {
  return wt_engine_get_stats(w->cli[0].e)->pkts_in > 0;
}

static void test_delay_per_direction(void) {
  wt_sim_config cfg;
  wt_sim_config_default(&cfg);
  cfg.up.delay_ns = 30 * MS;
  cfg.down.delay_ns = 5 * MS;
  wt_sim w;
  CHECK_FATAL(world_init(&w, &cfg) == 0);
  uint64_t t0 = w.now;
  CHECK(wt_sim_connect(&w, 0, NULL) != NULL);
  CHECK(wt_sim_run_until(&w, c_srv_pkt, NULL, SEC));
  CHECK_EQ(w.now - t0, 30 * MS);
  CHECK(wt_sim_run_until(&w, c_cli_pkt, NULL, SEC));
  CHECK_EQ(w.now - t0, 35 * MS);
  CHECK(wt_sim_run_until(&w, wt_sim_c_handshake, NULL, 5 * SEC));
  CHECK_EQ(w.lost, 0);
  CHECK_EQ(w.dups, 0);
  wt_sim_free(&w);
}

/* A session and a 200 kB verified echo; returns 1 when it completed. */
static int echo(wt_sim *w, size_t n) {
  wt_conn *c = wt_sim_connect(w, 0, NULL);
  CHECK(wt_sim_run_until(w, wt_sim_c_handshake, NULL, 20 * SEC));
  wt_sim_sess *cs = c ? wt_sim_open_session(w, 0, c, "/echo", NULL) : NULL;
  if (cs == NULL || !wt_sim_run_until(w, wt_sim_c_sess_settled, cs, 20 * SEC) || !cs->open) {
    return 0;
  }
  wt_stream *st = NULL;
  CHECK_EQ(wt_session_open_stream(cs->s, 1, &st), 0);
  if (st == NULL) {
    return 0;
  }
  wt_sim_stream *x = wt_sim_stream_new(&w->cli[0], st, 1);
  x->tx = malloc(n);
  x->txlen = x->txcap = n;
  wt_sim_fill_pattern(x->tx, n, 9);
  x->tx_fin_want = 1;
  wt_sim_stream_flush(x);
  CHECK(wt_sim_run_until(w, wt_sim_c_stream_fin, x, 120 * SEC));
  return x->rx_fin && x->rxlen == n && memcmp(x->rx, x->tx, n) == 0;
}

typedef struct outcome {
  uint64_t sent, lost, dups, now, srv_pkts_in;
  int ok;
} outcome;

static outcome lossy_run(uint64_t seed) {
  wt_sim_config cfg;
  wt_sim_config_default(&cfg);
  cfg.seed = seed;
  cfg.up.loss_pm = cfg.down.loss_pm = 50;
  cfg.up.dup_pm = cfg.down.dup_pm = 50;
  cfg.up.jitter_ns = cfg.down.jitter_ns = 5 * MS;
  wt_sim w;
  outcome o = {0};
  fuzz_detrand_reset(); /* the engines' RNGs start alike each run */
  if (world_init(&w, &cfg) != 0) {
    return o;
  }
  o.ok = echo(&w, 200000);
  o.sent = w.sent;
  o.lost = w.lost;
  o.dups = w.dups;
  o.now = w.now;
  o.srv_pkts_in = wt_engine_get_stats(w.srv.e)->pkts_in;
  wt_sim_free(&w);
  return o;
}

static void test_deterministic(void) {
  outcome a = lossy_run(7), b = lossy_run(7), c = lossy_run(8);
  CHECK(a.ok && b.ok && c.ok);
  CHECK(a.lost > 0 && a.dups > 0);
  CHECK_EQ(a.sent, b.sent);
  CHECK_EQ(a.lost, b.lost);
  CHECK_EQ(a.dups, b.dups);
  CHECK_EQ(a.now, b.now);
  CHECK_EQ(a.srv_pkts_in, b.srv_pkts_in);
  CHECK(a.sent != c.sent || a.lost != c.lost || a.dups != c.dups || a.now != c.now);
}

/* Every packet twice, reordered: the engines drop the copies. The client
 * closes (not both at once: two closing endpoints answer each other's
 * duplicated CONNECTION_CLOSE packets). */
static void test_duplicates(void) {
  wt_sim_config cfg;
  wt_sim_config_default(&cfg);
  cfg.up.dup_pm = cfg.down.dup_pm = 1000;
  cfg.up.jitter_ns = cfg.down.jitter_ns = 8 * MS;
  wt_sim w;
  CHECK_FATAL(world_init(&w, &cfg) == 0);
  CHECK(echo(&w, 200000));
  CHECK_EQ(w.dups, w.sent);
  CHECK_EQ(w.lost, 0);
  wt_engine_close_all(w.cli[0].e, w.now);
  CHECK(wt_sim_run_until(&w, wt_sim_c_no_conns, NULL, 60 * SEC));
  wt_sim_free(&w);
}

/* Both sides close at once with every packet duplicated and reordered:
 * each closing endpoint answers the other's CONNECTION_CLOSE packets, and
 * answering every one of them doubles the traffic each round trip (it grew
 * to the 65,536-packet queue bound within 150 ms before replies were
 * spaced out, RFC 9000 section 10.2.1). Both connections must still end,
 * with a small bounded number of packets. */
static void test_close_storm(void) {
  wt_sim_config cfg;
  wt_sim_config_default(&cfg);
  cfg.up.dup_pm = cfg.down.dup_pm = 1000;
  cfg.up.jitter_ns = cfg.down.jitter_ns = 8 * MS;
  wt_sim w;
  CHECK_FATAL(world_init(&w, &cfg) == 0);
  CHECK(echo(&w, 200000));
  uint64_t sent = w.sent;
  wt_engine_close_all(w.cli[0].e, w.now);
  wt_engine_close_all(w.srv.e, w.now);
  CHECK(wt_sim_run_until(&w, wt_sim_c_no_conns, NULL, 60 * SEC));
  fprintf(stderr, "close storm: %llu packets sent after both closed, %llu overflowed\n",
          (unsigned long long)(w.sent - sent), (unsigned long long)w.overflow);
  CHECK(w.sent - sent < 200);
  CHECK_EQ(w.overflow, 0);
  wt_sim_free(&w);
}

/* At most 8 packets in flight: the rest of a flight is dropped and
 * counted; retransmissions still carry the echo. */
static void test_queue_bound(void) {
  wt_sim_config cfg;
  wt_sim_config_default(&cfg);
  cfg.max_queue = 8;
  wt_sim w;
  CHECK_FATAL(world_init(&w, &cfg) == 0);
  CHECK(echo(&w, 200000));
  CHECK(w.overflow > 0);
  CHECK(w.lost >= w.overflow);
  CHECK_EQ(w.nq_max, 8);
  wt_sim_free(&w);
}

static void test_nat(void) {
  wt_sim_config cfg;
  wt_sim_config_default(&cfg);
  wt_sim w;
  CHECK_FATAL(world_init(&w, &cfg) == 0);
  wt_conn *c = wt_sim_connect(&w, 0, NULL);
  CHECK(wt_sim_run_until(&w, wt_sim_c_handshake, NULL, 5 * SEC));
  wt_sim_nat(&w, 0, 40000);
  wt_sim_sess *cs = wt_sim_open_session(&w, 0, c, "/echo", NULL);
  CHECK_FATAL(cs != NULL);
  CHECK(wt_sim_run_until(&w, wt_sim_c_sess_settled, cs, 20 * SEC));
  CHECK(cs->open);
  wt_sim_sess *ss = w.srv.sessions;
  CHECK_FATAL(ss != NULL && ss->s != NULL);
  const struct sockaddr_in *ra =
      (const struct sockaddr_in *)&wt_conn_path(wt_session_conn(ss->s))->remote.ss;
  CHECK_EQ(ntohs(ra->sin_port), 40000);
  wt_sim_free(&w);
}

/* run_until(NULL) stops at its deadline; step never jumps past one. */
static void test_bounds(void) {
  wt_sim_config cfg;
  wt_sim_config_default(&cfg);
  wt_sim w;
  CHECK_FATAL(world_init(&w, &cfg) == 0);
  CHECK(wt_sim_connect(&w, 0, NULL) != NULL);
  uint64_t t0 = w.now;
  CHECK(wt_sim_run_until(&w, NULL, NULL, 7 * MS));
  CHECK_EQ(w.now, t0 + 7 * MS + 1);
  CHECK_EQ(wt_engine_get_stats(w.srv.e)->pkts_in, 0); /* 10 ms away */
  CHECK_EQ(w.nq, 1);
  uint64_t t1 = w.now;
  CHECK_EQ(wt_sim_step(&w, t1 + 1 * MS), 0);
  CHECK_EQ(w.now, t1 + 1 * MS + 1);
  CHECK(wt_sim_run_until(&w, c_srv_pkt, NULL, SEC));
  CHECK_EQ(w.now, t0 + 10 * MS);
  wt_sim_free(&w);
}

int main(void) {
  if (wt_sim_test_init(&g_certs, 1) != 0) {
    return 1;
  }
  WT_RUN(test_delay_per_direction);
  WT_RUN(test_deterministic);
  WT_RUN(test_duplicates);
  WT_RUN(test_close_storm);
  WT_RUN(test_queue_bound);
  WT_RUN(test_nat);
  WT_RUN(test_bounds);
  wt_sim_certs_remove(&g_certs);
  WT_DONE();
}
