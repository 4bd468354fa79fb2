/* test_engine_limits.c: the server engine's connection limits, with client
 * engines over an in-memory link (as in test_engine.c: no loss here, a
 * manual clock advanced to the next expiry when idle, bounded loops).
 *
 * max_conns_per_ip: with a limit of 3, three connections from 127.0.0.1
 * (three ports) complete their handshakes, a fourth from the same address
 * is refused with a stateless CONNECTION_REFUSED close (the client sees
 * transport error 0x2) and counted (conns_refused, conns_refused_per_ip),
 * while 127.0.0.2 and an IPv6 source are still served; once one of the
 * three is closed and gone, 127.0.0.1 is served again. max_conns: the
 * total limit refuses the same way and counts conns_refused only.
 * handshake_timeout_ns: a client whose Initials go unanswered after the
 * first flight is dropped by the server within the configured time. */
#include "check.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "wt_engine.h"

#define MS  UINT64_C(1000000)
#define SEC (1000 * MS)

#define MAX_CLIENTS 8

typedef struct pkt {
  struct pkt *next;
  int to; /* -1: the server, else the client engine's index */
  wt_path path;
  size_t len;
  uint8_t data[1500];
} pkt;

typedef struct side {
  wt_engine *e;
  int closed;
  uint64_t close_code;
  int close_app;
} side;

typedef struct world {
  uint64_t now;
  side srv, cli[MAX_CLIENTS];
  wt_addr srv_addr, cli_addr[MAX_CLIENTS];
  int n_cli;
  pkt *q, **qtail;
  int blackhole_srv; /* drop everything the server sends */
} world;

static char g_cert[512], g_key[512];

static void cb_conn_close(void *user, wt_conn *c, uint64_t code, int is_app) {
  (void)c;
  side *sd = user;
  sd->closed = 1;
  sd->close_code = code;
  sd->close_app = is_app;
}

static const wt_engine_callbacks g_cb = {.conn_close = cb_conn_close};

static void addr4(wt_addr *a, const char *ip, uint16_t port) {
  memset(a, 0, sizeof(*a));
  struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;
  in->sin_family = AF_INET;
  in->sin_port = htons(port);
  inet_pton(AF_INET, ip, &in->sin_addr);
  a->len = sizeof(*in);
}

static void addr6(wt_addr *a, const char *ip, uint16_t port) {
  memset(a, 0, sizeof(*a));
  struct sockaddr_in6 *in = (struct sockaddr_in6 *)&a->ss;
  in->sin6_family = AF_INET6;
  in->sin6_port = htons(port);
  inet_pton(AF_INET6, ip, &in->sin6_addr);
  a->len = sizeof(*in);
}

static void enqueue(world *w, int to, const wt_path *from, const uint8_t *p, size_t len) {
  if (to >= 0 && w->blackhole_srv) {
    return;
  }
  pkt *k = calloc(1, sizeof(*k));
  k->to = to;
  k->path.local = from->remote;
  k->path.remote = from->local;
  k->len = len;
  memcpy(k->data, p, len);
  *w->qtail = k;
  w->qtail = &k->next;
}

static int addr_eq(const wt_addr *a, const wt_addr *b) {
  return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

/* Write one engine's output into the queue. idx: -1 server, else a client. */
static void flush(world *w, int idx) {
  static uint8_t buf[32 * 1500];
  static wt_tx_entry ents[16];
  wt_engine *e = idx < 0 ? w->srv.e : w->cli[idx].e;
  for (int round = 0; round < 64; round++) {
    wt_tx_batch b = {.buf = buf, .cap = sizeof(buf), .ents = ents, .max = 16, .max_segments = 1};
    int n = wt_engine_write(e, &b, w->now);
    CHECK(n >= 0);
    if (n <= 0) {
      break;
    }
    for (int i = 0; i < n; i++) {
      int to = -1;
      if (idx < 0) { /* server -> the client at that address */
        for (int j = 0; j < w->n_cli; j++) {
          if (addr_eq(&ents[i].path.remote, &w->cli_addr[j])) {
            to = j;
          }
        }
        CHECK(to >= 0);
        if (to < 0) {
          continue;
        }
      }
      enqueue(w, to, &ents[i].path, ents[i].data, ents[i].len);
    }
  }
}

/* Deliver everything queued, write again; advance the clock when idle. */
static void step(world *w) {
  flush(w, -1);
  for (int i = 0; i < w->n_cli; i++) {
    flush(w, i);
  }
  if (w->q) {
    pkt *q = w->q;
    w->q = NULL;
    w->qtail = &w->q;
    while (q) {
      pkt *k = q;
      q = k->next;
      if (k->to < 0) {
        /* the server's view: from k->path.remote to its address */
        wt_engine_recv(w->srv.e, &k->path, k->data, k->len, 0, w->now);
      } else {
        wt_engine_recv(w->cli[k->to].e, &k->path, k->data, k->len, 0, w->now);
      }
      free(k);
    }
    w->now += 1 * MS;
    return;
  }
  uint64_t next = wt_engine_next_expiry(w->srv.e);
  for (int i = 0; i < w->n_cli; i++) {
    uint64_t t = wt_engine_next_expiry(w->cli[i].e);
    next = t < next ? t : next;
  }
  w->now = next == UINT64_MAX || next > w->now + SEC ? w->now + SEC : next > w->now ? next : w->now;
  wt_engine_handle_expiry(w->srv.e, w->now);
  for (int i = 0; i < w->n_cli; i++) {
    wt_engine_handle_expiry(w->cli[i].e, w->now);
  }
}

static void run_for(world *w, uint64_t t) {
  uint64_t end = w->now + t;
  for (int it = 0; it < 200000 && w->now < end; it++) {
    step(w);
  }
}

static int world_init(world *w, uint32_t per_ip, uint32_t max_conns, uint64_t hs_timeout) {
  memset(w, 0, sizeof(*w));
  w->now = 1000 * SEC;
  w->qtail = &w->q;
  addr4(&w->srv_addr, "127.0.0.1", 4433);
  wt_engine_config sc;
  wt_engine_config_default(&sc, 1);
  CHECK_EQ(sc.max_conns_per_ip, 64);
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
  return wt_engine_new(&w->srv.e, &sc, &g_cb, &w->srv, w->now);
}

/* A client engine (its own, so each has its own conn_close record) from
 * addr; returns its index. */
static int add_client(world *w, const wt_addr *addr) {
  int i = w->n_cli++;
  wt_engine_config cc;
  wt_engine_config_default(&cc, 0);
  cc.insecure = 1;
  CHECK_EQ(wt_engine_new(&w->cli[i].e, &cc, &g_cb, &w->cli[i], w->now), 0);
  w->cli_addr[i] = *addr;
  wt_path p = {.local = *addr, .remote = w->srv_addr};
  /* an IPv6 client talks to the server's IPv6 address */
  if (addr->ss.ss_family == AF_INET6) {
    addr6(&p.remote, "::1", 4433);
  }
  wt_conn *c = NULL;
  CHECK_EQ(wt_engine_connect(w->cli[i].e, &p, "localhost", w->now, &c), 0);
  return i;
}

static uint64_t cli_handshakes(world *w, int i) {
  return wt_engine_get_stats(w->cli[i].e)->handshakes_ok;
}

static void world_free(world *w) {
  for (int i = 0; i < w->n_cli; i++) {
    wt_engine_del(w->cli[i].e);
  }
  wt_engine_del(w->srv.e);
  while (w->q) {
    pkt *k = w->q;
    w->q = k->next;
    free(k);
  }
}

static void test_per_ip(void) {
  world w;
  CHECK_FATAL(world_init(&w, 3, 0, 0) == 0);
  wt_addr a;
  for (int i = 0; i < 3; i++) {
    addr4(&a, "127.0.0.1", (uint16_t)(50000 + i));
    add_client(&w, &a);
  }
  run_for(&w, 2 * SEC);
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(cli_handshakes(&w, i), 1);
    CHECK(!w.cli[i].closed);
  }
  const wt_engine_stats *ss = wt_engine_get_stats(w.srv.e);
  CHECK_EQ(ss->conns_active, 3);
  CHECK_EQ(ss->conns_refused, 0);

  /* the fourth from 127.0.0.1: refused, counted */
  addr4(&a, "127.0.0.1", 50003);
  int four = add_client(&w, &a);
  /* other sources are not affected */
  addr4(&a, "127.0.0.2", 50000);
  int other = add_client(&w, &a);
  addr6(&a, "2001:db8::1", 50000);
  int v6 = add_client(&w, &a);
  run_for(&w, 5 * SEC); /* the refused client drains (3 x PTO) before conn_close */
  CHECK(w.cli[four].closed);
  CHECK_EQ(w.cli[four].close_code, 0x2); /* CONNECTION_REFUSED */
  CHECK_EQ(w.cli[four].close_app, 0);
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
  addr4(&a, "127.0.0.1", 50004);
  int again = add_client(&w, &a);
  run_for(&w, 2 * SEC);
  CHECK_EQ(cli_handshakes(&w, again), 1);
  CHECK(!w.cli[again].closed);
  CHECK_EQ(ss->conns_refused_per_ip, 1);
  CHECK_EQ(ss->conns_active, 5);
  world_free(&w);
}

static void test_max_conns(void) {
  world w;
  CHECK_FATAL(world_init(&w, 0, 2, 0) == 0); /* per-ip 0: the default (64) */
  wt_addr a;
  for (int i = 0; i < 3; i++) {
    char ip[32];
    snprintf(ip, sizeof(ip), "127.0.1.%d", i + 1);
    addr4(&a, ip, 40000);
    add_client(&w, &a);
  }
  run_for(&w, 5 * SEC);
  const wt_engine_stats *ss = wt_engine_get_stats(w.srv.e);
  int ok = 0, refused = 0;
  for (int i = 0; i < 3; i++) {
    ok += cli_handshakes(&w, i) == 1;
    refused += w.cli[i].closed && w.cli[i].close_code == 0x2;
  }
  CHECK_EQ(ok, 2);
  CHECK_EQ(refused, 1);
  CHECK_EQ(ss->conns_refused, 1);
  CHECK_EQ(ss->conns_refused_per_ip, 0);
  world_free(&w);
}

static void test_handshake_timeout(void) {
  world w;
  CHECK_FATAL(world_init(&w, 0, 0, 2 * SEC) == 0);
  w.blackhole_srv = 1; /* the client never sees the server's flight */
  wt_addr a;
  addr4(&a, "127.0.0.1", 50000);
  add_client(&w, &a);
  run_for(&w, 500 * MS);
  const wt_engine_stats *ss = wt_engine_get_stats(w.srv.e);
  CHECK_EQ(ss->conns_active, 1);
  run_for(&w, 3 * SEC);
  CHECK_EQ(ss->conns_active, 0);
  CHECK_EQ(ss->handshakes_ok, 0);
  world_free(&w);
}

int main(void) {
  const char *src = getenv("WTCAST_SRC");
  snprintf(g_cert, sizeof(g_cert), "%s/tests/data/fuzz-cert.pem", src ? src : ".");
  snprintf(g_key, sizeof(g_key), "%s/tests/data/fuzz-key.pem", src ? src : ".");
  WT_RUN(test_per_ip);
  WT_RUN(test_max_conns);
  WT_RUN(test_handshake_timeout);
  WT_DONE();
}
