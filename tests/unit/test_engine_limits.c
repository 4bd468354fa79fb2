/* test_engine_limits.c: the server engine's connection limits, with client
 * engines.
 *
 * max_conns_per_ip: with a limit of 3, three connections from 127.0.0.1
 * (three ports) complete their handshakes, a fourth from the same address
 * is refused with a stateless CONNECTION_REFUSED close (the client sees
 * transport error 0x2) and counted (conns_refused, conns_refused_per_ip),
 * while 127.0.0.2 and an IPv6 source are still served; once one of the
 * three is closed and gone, 127.0.0.1 is served again. max_conns: the
 * total limit refuses the same way and counts conns_refused only.
 * handshake_timeout_ns: a client whose Initials go unanswered after the
 * first flight is dropped by the server within the configured time.
 *
 * The clients and the server run on the simulated network of tests/sim
 * (wt_sim.h): 1 ms delay, no loss, virtual time. */
#include "wt_sim_check.h"

#define MS  WT_SIM_MS
#define SEC WT_SIM_SEC

static char g_cert[512], g_key[512];

static void run_for(wt_sim *w, uint64_t t) {
  wt_sim_run_until(w, NULL, NULL, t);
}

/* No delay to speak of (1 ms), no loss; batches of single packets. */
static int world_init(wt_sim *w, uint32_t per_ip, uint32_t max_conns, uint64_t hs_timeout) {
  wt_sim_config cfg;
  wt_sim_config_default(&cfg);
  cfg.up.delay_ns = cfg.down.delay_ns = 1 * MS;
  cfg.tx = (wt_sim_tx){.cap = 32 * 1500, .max = 16, .max_segments = 1};
  wt_sim_init(w, &cfg, NULL);
  wt_engine_config sc;
  wt_engine_config_default(&sc, 1);
  CHECK_EQ(sc.max_conns_per_ip, 1024);
  CHECK_EQ(sc.handshake_timeout_ns, 10 * SEC);
  sc.cert_file = g_cert;
  sc.key_file = g_key;
  sc.retry_mode = WT_RETRY_NEVER;
  sc.max_conns_per_ip = per_ip;
  if (max_conns) {
    sc.max_conns = max_conns;
  }
  if (hs_timeout) {
    sc.handshake_timeout_ns = hs_timeout;
  }
  return wt_sim_server_new(w, &sc);
}

/* A client engine (its own, so each has its own conn_close record) at ip
 * and port, connected; returns its index. */
static int add_client(wt_sim *w, const char *ip, uint16_t port) {
  wt_engine_config cc;
  wt_engine_config_default(&cc, 0);
  cc.insecure = 1;
  wt_addr a, to;
  wt_sim_addr(&a, ip, port);
  int i = wt_sim_client_add(w, &cc, &a);
  CHECK(i >= 0);
  /* an IPv6 client talks to the server's IPv6 address */
  wt_sim_addr(&to, a.ss.ss_family == AF_INET6 ? "::1" : "127.0.0.1", 4433);
  CHECK(wt_sim_connect(w, i, &to) != NULL);
  return i;
}

static uint64_t cli_handshakes(wt_sim *w, int i) {
  return wt_engine_get_stats(w->cli[i].e)->handshakes_ok;
}

static void world_free(wt_sim *w) {
  CHECK_EQ(w->unroutable, 0); /* every server packet went to a known client */
  wt_sim_free(w);
}

static void test_per_ip(void) {
  wt_sim w;
  CHECK_FATAL(world_init(&w, 3, 0, 0) == 0);
  for (int i = 0; i < 3; i++) {
    add_client(&w, "127.0.0.1", (uint16_t)(50000 + i));
  }
  run_for(&w, 2 * SEC);
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(cli_handshakes(&w, i), 1);
    CHECK(!w.cli[i].conn_closed);
  }
  const wt_engine_stats *ss = wt_engine_get_stats(w.srv.e);
  CHECK_EQ(ss->conns_active, 3);
  CHECK_EQ(ss->conns_refused, 0);

  /* the fourth from 127.0.0.1: refused, counted */
  int four = add_client(&w, "127.0.0.1", 50003);
  /* other sources are not affected */
  int other = add_client(&w, "127.0.0.2", 50000);
  int v6 = add_client(&w, "2001:db8::1", 50000);
  run_for(&w, 5 * SEC); /* the refused client drains (3 x PTO) before conn_close */
  CHECK(w.cli[four].conn_closed);
  CHECK_EQ(w.cli[four].conn_close_code, 0x2); /* CONNECTION_REFUSED */
  CHECK_EQ(w.cli[four].conn_close_app, 0);
  CHECK_EQ(cli_handshakes(&w, four), 0);
  CHECK_EQ(cli_handshakes(&w, other), 1);
  CHECK_EQ(cli_handshakes(&w, v6), 1);
  CHECK_EQ(ss->conns_refused, 1);
  CHECK_EQ(ss->conns_refused_per_ip, 1);
  CHECK_EQ(ss->conns_active, 5);

  /* close one of the three; once it is gone, 127.0.0.1 is served again */
  wt_engine_close_all(w.cli[0].e, w.now);
  run_for(&w, 3 * SEC);
  CHECK_EQ(ss->conns_active, 4);
  int again = add_client(&w, "127.0.0.1", 50004);
  run_for(&w, 2 * SEC);
  CHECK_EQ(cli_handshakes(&w, again), 1);
  CHECK(!w.cli[again].conn_closed);
  CHECK_EQ(ss->conns_refused_per_ip, 1);
  CHECK_EQ(ss->conns_active, 5);

  /* only live connections count: one that is draining (the client closed
   * it; the server keeps it for 3 x PTO) leaves room for a new one at once */
  size_t before = wt_engine_conn_count(w.srv.e);
  wt_engine_close_all(w.cli[1].e, w.now);
  run_for(&w, 50 * MS);
  CHECK_EQ(wt_engine_conn_count(w.srv.e), before); /* still there, draining */
  int during = add_client(&w, "127.0.0.1", 50005);
  run_for(&w, 2 * SEC);
  CHECK_EQ(cli_handshakes(&w, during), 1);
  CHECK(!w.cli[during].conn_closed);
  CHECK_EQ(ss->conns_refused_per_ip, 1);
  world_free(&w);
}

static void test_max_conns(void) {
  wt_sim w;
  CHECK_FATAL(world_init(&w, 0, 2, 0) == 0); /* per-ip 0: the default (64) */
  for (int i = 0; i < 3; i++) {
    char ip[32];
    snprintf(ip, sizeof(ip), "127.0.1.%d", i + 1);
    add_client(&w, ip, 40000);
  }
  run_for(&w, 5 * SEC);
  const wt_engine_stats *ss = wt_engine_get_stats(w.srv.e);
  int ok = 0, refused = 0;
  for (int i = 0; i < 3; i++) {
    ok += cli_handshakes(&w, i) == 1;
    refused += w.cli[i].conn_closed && w.cli[i].conn_close_code == 0x2;
  }
  CHECK_EQ(ok, 2);
  CHECK_EQ(refused, 1);
  CHECK_EQ(ss->conns_refused, 1);
  CHECK_EQ(ss->conns_refused_per_ip, 0);
  world_free(&w);
}

static void test_handshake_timeout(void) {
  wt_sim w;
  CHECK_FATAL(world_init(&w, 0, 0, 2 * SEC) == 0);
  w.drop_next[1] = UINT64_MAX; /* the client never sees the server's flight */
  add_client(&w, "127.0.0.1", 50000);
  run_for(&w, 500 * MS);
  const wt_engine_stats *ss = wt_engine_get_stats(w.srv.e);
  CHECK_EQ(ss->conns_active, 1);
  /* 2.5 s: dropped at 2 s, before the client's next Initial (PTO backoff,
   * about 3 s) opens another one */
  run_for(&w, 2 * SEC);
  CHECK_EQ(ss->conns_active, 0);
  /* the virtual clock stops at the deadline (the old harness overshot it to
   * about 5 s): by then that second connection is gone as well */
  run_for(&w, 2500 * MS);
  CHECK_EQ(ss->conns_active, 0);
  CHECK_EQ(ss->handshakes_ok, 0);
  world_free(&w);
}

int main(void) {
  wt_sim_test_init(NULL, 0);
  const char *src = getenv("WTCAST_SRC");
  snprintf(g_cert, sizeof(g_cert), "%s/tests/data/fuzz-cert.pem", src ? src : ".");
  snprintf(g_key, sizeof(g_key), "%s/tests/data/fuzz-key.pem", src ? src : ".");
  WT_RUN(test_per_ip);
  WT_RUN(test_max_conns);
  WT_RUN(test_handshake_timeout);
  WT_DONE();
}
