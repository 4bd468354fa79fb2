/* wt_sim.c: see wt_sim.h. */
#include "wt_sim.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wt_certgen.h"
#include "wt_errmap.h"

/* ------------------------------------------------------------ checks */

static wt_sim_check_fn g_check;

void wt_sim_set_check(wt_sim_check_fn fn) {
  g_check = fn;
}

static int sim_check(int ok, const char *file, int line, const char *expr) {
  if (ok) {
    return 1;
  }
  if (g_check) {
    g_check(file, line, expr);
    return 0;
  }
  fprintf(stderr, "%s:%d: check failed: %s\n", file, line, expr);
  abort();
}

#define SIM_CHECK(cond) sim_check((cond) != 0, __FILE__, __LINE__, #cond)

/* ------------------------------------------------------------ helpers */

/* One function on purpose: it becomes a call to the certificate generator
 * of the endpoint library once that exists. */
int wt_sim_make_cert(const char *cert_path, const char *key_path, uint8_t pin[32]) {
  /* The one generator of the tree (client/wt_certgen.h): ECDSA P-256, what
   * browsers accept for serverCertificateHashes. */
  return wt_certgen_files(cert_path, key_path, "localhost", 10, pin) == 0 ? 0 : -1;
}

int wt_sim_certs_make(wt_sim_certs *c, int n) {
  memset(c, 0, sizeof(*c));
  const char *tmp = getenv("TMPDIR");
  snprintf(c->dir, sizeof(c->dir), "%s/wtcast-test-XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
  if (n < 1 || n > 2 || mkdtemp(c->dir) == NULL) {
    c->dir[0] = 0;
    return -1;
  }
  char dir[sizeof(c->dir)];
  memcpy(dir, c->dir, sizeof(dir));
  for (int i = 0; i < n; i++) {
    snprintf(c->cert[i], sizeof(c->cert[i]), "%s/cert%d.pem", dir, i);
    snprintf(c->key[i], sizeof(c->key[i]), "%s/key%d.pem", dir, i);
    c->n = i + 1;
    if (wt_sim_make_cert(c->cert[i], c->key[i], c->pin[i]) != 0) {
      wt_sim_certs_remove(c);
      return -1;
    }
  }
  return 0;
}

void wt_sim_certs_remove(wt_sim_certs *c) {
  for (int i = 0; i < c->n; i++) {
    unlink(c->cert[i]);
    unlink(c->key[i]);
  }
  if (c->dir[0]) {
    rmdir(c->dir);
  }
  c->n = 0;
  c->dir[0] = 0;
}

void wt_sim_fill_pattern(uint8_t *p, size_t n, uint32_t seed) {
  uint32_t s = seed;
  for (size_t i = 0; i < n; i++) {
    s = s * 1103515245u + 12345u;
    p[i] = (uint8_t)(s >> 16);
  }
}

void wt_sim_addr(wt_addr *a, const char *ip, uint16_t port) {
  memset(a, 0, sizeof(*a));
  if (strchr(ip, ':')) {
    struct sockaddr_in6 *in = (struct sockaddr_in6 *)&a->ss;
    in->sin6_family = AF_INET6;
    in->sin6_port = htons(port);
    SIM_CHECK(inet_pton(AF_INET6, ip, &in->sin6_addr) == 1);
    a->len = sizeof(*in);
    return;
  }
  struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;
  in->sin_family = AF_INET;
  in->sin_port = htons(port);
  SIM_CHECK(inet_pton(AF_INET, ip, &in->sin_addr) == 1);
  a->len = sizeof(*in);
}

int wt_sim_addr_eq(const wt_addr *a, const wt_addr *b) {
  return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

/* One set of batch buffers per nesting level: out may drive another engine
 * that is drained in turn (gen_seeds: each client packet steps the server). */
#define DRAIN_DEPTH 2

static int drain_batches(wt_engine *e, uint64_t now, const wt_sim_tx *tx, wt_sim_out_fn out,
                         void *arg, uint8_t *buf, wt_tx_entry *ents) {
  size_t cap = tx->cap < WT_SIM_TX_CAP ? tx->cap : WT_SIM_TX_CAP;
  size_t max = tx->max < WT_SIM_TX_ENTS ? tx->max : WT_SIM_TX_ENTS;
  int total = 0, ok = 1;
  int batches = tx->batches > 0 ? tx->batches : 64;
  for (int round = 0; round < batches; round++) {
    wt_tx_batch b = {
        .buf = buf, .cap = cap, .ents = ents, .max = max, .max_segments = tx->max_segments};
    int n = wt_engine_write(e, &b, now);
    ok &= SIM_CHECK(n >= 0 && (size_t)n <= b.max && b.used <= b.cap);
    if (n <= 0) {
      break;
    }
    for (int i = 0; i < n; i++) {
      const wt_tx_entry *ent = &ents[i];
      ok &= SIM_CHECK(ent->segsize > 0 && ent->len > 0);
      ok &= SIM_CHECK((ent->len + ent->segsize - 1) / ent->segsize <= tx->max_segments);
      ok &= SIM_CHECK(ent->data >= buf && ent->data + ent->len <= buf + cap);
      for (size_t off = 0; off < ent->len && ent->segsize > 0; off += ent->segsize) {
        size_t l = ent->len - off < ent->segsize ? ent->len - off : ent->segsize;
        /* GSO rule: every segment but the last has exactly segsize bytes */
        if (off + ent->segsize < ent->len) {
          ok &= SIM_CHECK(l == ent->segsize);
        }
        ok &= SIM_CHECK(l <= 1452);
        if (out) {
          out(arg, &ent->path, ent->data + off, l);
        }
      }
    }
    total += n;
  }
  return ok ? total : -1;
}

int wt_sim_drain(wt_engine *e, uint64_t now, const wt_sim_tx *tx, wt_sim_out_fn out, void *arg) {
  static uint8_t bufs[DRAIN_DEPTH][WT_SIM_TX_CAP];
  static wt_tx_entry ents[DRAIN_DEPTH][WT_SIM_TX_ENTS];
  static int depth;
  if (!SIM_CHECK(depth < DRAIN_DEPTH)) {
    return -1;
  }
  depth++;
  int rv = drain_batches(e, now, tx, out, arg, bufs[depth - 1], ents[depth - 1]);
  depth--;
  return rv;
}

/* ------------------------------------------------------------ records */

wt_sim_stream *wt_sim_stream_new(wt_sim_node *n, wt_stream *st, int local) {
  wt_sim_stream *x = calloc(1, sizeof(*x));
  if (!SIM_CHECK(x != NULL)) {
    return NULL;
  }
  x->node = n;
  x->st = st;
  x->bidi = wt_stream_is_bidi(st);
  x->local = local;
  x->id = wt_stream_id(st);
  x->next = n->streams;
  n->streams = x;
  wt_stream_set_user(st, x);
  return x;
}

wt_sim_sess *wt_sim_sess_new(wt_sim_node *n, wt_session *s) {
  wt_sim_sess *x = calloc(1, sizeof(*x));
  if (!SIM_CHECK(x != NULL)) {
    return NULL;
  }
  x->node = n;
  x->s = s;
  x->next = n->sessions;
  n->sessions = x;
  wt_session_set_user(s, x);
  return x;
}

void wt_sim_buf_add(uint8_t **b, size_t *len, size_t *cap, const uint8_t *d, size_t n) {
  if (n == 0) {
    return;
  }
  if (*len + n > *cap) {
    size_t nc = *cap ? *cap : 4096;
    while (nc < *len + n) {
      nc *= 2;
    }
    uint8_t *nb = realloc(*b, nc);
    if (!SIM_CHECK(nb != NULL)) {
      return;
    }
    *b = nb;
    *cap = nc;
  }
  memcpy(*b + *len, d, n);
  *len += n;
}

void wt_sim_stream_flush(wt_sim_stream *x) {
  if (x->closed || x->st == NULL || x->tx_fin_done || x->reset || x->stopped) {
    return;
  }
  while (x->txoff < x->txlen) {
    int n = wt_stream_write(x->st, x->tx + x->txoff, x->txlen - x->txoff, x->tx_fin_want);
    if (n < 0) {
      SIM_CHECK(n == WT_ERR_AGAIN);
      return;
    }
    x->txoff += (size_t)n;
    if (x->txoff == x->txlen && x->tx_fin_want) {
      x->tx_fin_done = 1;
      return;
    }
  }
  if (x->tx_fin_want && !x->tx_fin_done) {
    int n = wt_stream_write(x->st, NULL, 0, 1);
    SIM_CHECK(n >= 0);
    x->tx_fin_done = 1;
  }
}

static void records_free(wt_sim_node *n) {
  while (n->streams) {
    wt_sim_stream *x = n->streams;
    n->streams = x->next;
    free(x->rx);
    free(x->tx);
    free(x);
  }
  while (n->sessions) {
    wt_sim_sess *x = n->sessions;
    n->sessions = x->next;
    free(x);
  }
}

/* ------------------------------------------------------------ callbacks */

/* Each engine callback records, then calls the test's hook of the same
 * name (user = the node). */
#define HOOK(n, name) ((n)->sim->hooks ? (n)->sim->hooks->name : NULL)

static int on_session_request(void *user, wt_session *s, const wt_request *req) {
  wt_sim_node *n = user;
  if (HOOK(n, session_request)) {
    return HOOK(n, session_request)(n, s, req);
  }
  wt_sim_sess_new(n, s);
  return 200;
}

static void on_session_open(void *user, wt_session *s) {
  wt_sim_node *n = user;
  wt_sim_sess *x = wt_session_get_user(s);
  if (SIM_CHECK(x != NULL)) {
    SIM_CHECK(!x->open);
    x->open = 1;
  }
  if (HOOK(n, session_open)) {
    HOOK(n, session_open)(n, s);
  }
}

static void on_session_close(void *user, wt_session *s, uint32_t code, const uint8_t *reason,
                             size_t reason_len, int clean) {
  wt_sim_node *n = user;
  wt_sim_sess *x = wt_session_get_user(s);
  if (SIM_CHECK(x != NULL)) {
    SIM_CHECK(!x->closed);
    x->closed = 1;
    x->raw_reset = wt_session_reset_code(s);
    x->code = code;
    x->clean = clean;
    x->nreason = reason_len < sizeof(x->reason) ? reason_len : sizeof(x->reason) - 1;
    if (reason_len) {
      memcpy(x->reason, reason, x->nreason);
    }
    x->s = NULL;
  }
  if (HOOK(n, session_close)) {
    HOOK(n, session_close)(n, s, code, reason, reason_len, clean);
  }
}

static void on_session_drain(void *user, wt_session *s) {
  wt_sim_node *n = user;
  wt_sim_sess *x = wt_session_get_user(s);
  if (x) {
    x->drained = 1;
  }
  if (HOOK(n, session_drain)) {
    HOOK(n, session_drain)(n, s);
  }
}

static void on_session_refused(void *user, wt_session *s, int status) {
  wt_sim_node *n = user;
  wt_sim_sess *x = wt_session_get_user(s);
  if (SIM_CHECK(x != NULL)) {
    x->refused = 1;
    x->refused_status = status;
    x->raw_reset = wt_session_reset_code(s);
    x->s = NULL;
  }
  if (HOOK(n, session_refused)) {
    HOOK(n, session_refused)(n, s, status);
  }
}

static void on_stream_open(void *user, wt_session *s, wt_stream *st) {
  wt_sim_node *n = user;
  SIM_CHECK(wt_stream_session(st) == s);
  wt_sim_sess *ss = wt_session_get_user(s);
  SIM_CHECK(ss == NULL || ss->open); /* never before session_open */
  wt_sim_stream *x = wt_sim_stream_new(n, st, 0);
  if (x) {
    x->opened_after_session = ss != NULL && ss->open;
  }
  if (HOOK(n, stream_open)) {
    HOOK(n, stream_open)(n, s, st);
  }
}

static void on_stream_data(void *user, wt_stream *st, const uint8_t *data, size_t len, int fin) {
  wt_sim_node *n = user;
  wt_sim_stream *x = wt_stream_get_user(st);
  if (!SIM_CHECK(x != NULL)) {
    return;
  }
  SIM_CHECK(!x->rx_fin);
  wt_sim_buf_add(&x->rx, &x->rxlen, &x->rxcap, data, len);
  if (fin) {
    x->rx_fin = 1;
  }
  if (HOOK(n, stream_data)) {
    HOOK(n, stream_data)(n, st, data, len, fin);
  }
}

static void on_stream_reset(void *user, wt_stream *st, uint32_t code, int has_code) {
  wt_sim_node *n = user;
  wt_sim_stream *x = wt_stream_get_user(st);
  if (x) {
    x->reset = 1;
    x->reset_code = code;
    x->reset_has = has_code;
    x->raw_reset = wt_stream_peer_reset_code(st); /* set before the callback */
    SIM_CHECK(x->raw_reset != UINT64_MAX);
    if (has_code) {
      SIM_CHECK(wt_stream_peer_reset_code(st) == wt_errmap_app_to_h3(code));
    }
  }
  if (HOOK(n, stream_reset)) {
    HOOK(n, stream_reset)(n, st, code, has_code);
  }
}

static void on_stream_stop(void *user, wt_stream *st, uint32_t code, int has_code) {
  wt_sim_node *n = user;
  wt_sim_stream *x = wt_stream_get_user(st);
  if (x) {
    x->stopped = 1;
    x->stop_code = code;
    x->stop_has = has_code;
  }
  if (HOOK(n, stream_stop)) {
    HOOK(n, stream_stop)(n, st, code, has_code);
  }
}

static void on_stream_writable(void *user, wt_stream *st) {
  wt_sim_node *n = user;
  wt_sim_stream *x = wt_stream_get_user(st);
  if (x) {
    wt_sim_stream_flush(x);
  }
  if (HOOK(n, stream_writable)) {
    HOOK(n, stream_writable)(n, st);
  }
}

static void on_stream_close(void *user, wt_stream *st) {
  wt_sim_node *n = user;
  wt_sim_stream *x = wt_stream_get_user(st);
  if (n->sim->cfg.strict) {
    SIM_CHECK(x != NULL);
  }
  if (x) {
    SIM_CHECK(!x->closed);
    x->closed = 1;
    x->raw_reset = wt_stream_peer_reset_code(st);
    x->raw_stop = wt_stream_peer_stop_code(st);
    x->st = NULL;
  }
  if (HOOK(n, stream_close)) {
    HOOK(n, stream_close)(n, st);
  }
}

static void on_datagram(void *user, wt_session *s, const uint8_t *data, size_t len) {
  wt_sim_node *n = user;
  wt_sim_sess *x = wt_session_get_user(s);
  SIM_CHECK(x == NULL || x->open);
  if (x) {
    x->dgrams++;
    x->dgram_bytes += len;
  }
  if (HOOK(n, datagram)) {
    HOOK(n, datagram)(n, s, data, len);
  }
}

static void on_conn_close(void *user, wt_conn *c, uint64_t code, int is_app) {
  wt_sim_node *n = user;
  n->conn_closed++;
  n->conn_close_code = code;
  n->conn_close_app = is_app;
  n->conn_close_sr = wt_conn_stateless_reset(c);
  if (getenv("WT_TEST_VERBOSE")) {
    fprintf(stderr, "%s: conn_close code=0x%llx app=%d\n", n->is_server ? "server" : "client",
            (unsigned long long)code, is_app);
  }
  if (HOOK(n, conn_close)) {
    HOOK(n, conn_close)(n, c, code, is_app);
  }
}

static const wt_engine_callbacks g_record_cb = {
    .session_request = on_session_request,
    .session_open = on_session_open,
    .session_close = on_session_close,
    .session_drain = on_session_drain,
    .session_refused = on_session_refused,
    .stream_open = on_stream_open,
    .stream_data = on_stream_data,
    .stream_reset = on_stream_reset,
    .stream_stop = on_stream_stop,
    .stream_writable = on_stream_writable,
    .stream_close = on_stream_close,
    .datagram = on_datagram,
    .conn_close = on_conn_close,
};

/* ------------------------------------------------------------ network */

void wt_sim_config_default(wt_sim_config *c) {
  memset(c, 0, sizeof(*c));
  c->t0_ns = 1000 * WT_SIM_SEC;
  c->seed = 0x9e3779b97f4a7c15ULL;
  c->up.delay_ns = c->down.delay_ns = 10 * WT_SIM_MS;
  c->max_queue = 65536;
  c->tx.cap = WT_SIM_TX_CAP;
  c->tx.max = WT_SIM_TX_ENTS;
  c->tx.max_segments = 16;
}

static uint64_t rnd(wt_sim *sim) {
  sim->rng ^= sim->rng << 13;
  sim->rng ^= sim->rng >> 7;
  sim->rng ^= sim->rng << 17;
  return sim->rng;
}

/* Insert after the last packet that arrives no later (most arrive last:
 * the scan starts at the tail). */
static void queue_insert(wt_sim *sim, wt_sim_pkt *k, const wt_sim_link *l) {
  k->at = sim->now + l->delay_ns + (l->jitter_ns ? rnd(sim) % l->jitter_ns : 0);
  wt_sim_pkt *p = sim->q_tail;
  while (p && p->at > k->at) {
    p = p->prev;
  }
  k->prev = p;
  k->next = p ? p->next : sim->q;
  if (k->next) {
    k->next->prev = k;
  } else {
    sim->q_tail = k;
  }
  if (p) {
    p->next = k;
  } else {
    sim->q = k;
  }
  if (++sim->nq > sim->nq_max) {
    sim->nq_max = sim->nq;
  }
}

static wt_sim_pkt *queue_pop(wt_sim *sim) {
  wt_sim_pkt *k = sim->q;
  sim->q = k->next;
  if (sim->q) {
    sim->q->prev = NULL;
  } else {
    sim->q_tail = NULL;
  }
  sim->nq--;
  return k;
}

void wt_sim_init(wt_sim *sim, const wt_sim_config *cfg, const wt_engine_callbacks *hooks) {
  memset(sim, 0, sizeof(*sim));
  sim->cfg = *cfg;
  sim->hooks = hooks;
  sim->rng = cfg->seed ? cfg->seed : 0x9e3779b97f4a7c15ULL;
  sim->now = cfg->t0_ns;
  sim->srv.sim = sim;
  sim->srv.is_server = 1;
  wt_sim_addr(&sim->srv.addr, "127.0.0.1", 4433);
  sim->srv.pub = sim->srv.addr;
}

static void print_stats(const wt_sim *sim) {
  const wt_engine_stats *a = wt_engine_get_stats(sim->cli[0].e);
  const wt_engine_stats *b = wt_engine_get_stats(sim->srv.e);
  fprintf(stderr,
          "  link: %llu pkts sent, %llu lost, %llu duplicated, sim time %.3f s; client out %llu "
          "pkts/%llu B, server out %llu pkts/%llu B, dgrams in c=%llu s=%llu out c=%llu s=%llu "
          "dropped c=%llu s=%llu\n",
          (unsigned long long)sim->sent, (unsigned long long)sim->lost,
          (unsigned long long)sim->dups, (double)(sim->now - sim->cfg.t0_ns) / 1e9,
          (unsigned long long)a->pkts_out, (unsigned long long)a->bytes_out,
          (unsigned long long)b->pkts_out, (unsigned long long)b->bytes_out,
          (unsigned long long)a->datagrams_in, (unsigned long long)b->datagrams_in,
          (unsigned long long)a->datagrams_out, (unsigned long long)b->datagrams_out,
          (unsigned long long)a->datagrams_dropped, (unsigned long long)b->datagrams_dropped);
}

void wt_sim_free(wt_sim *sim) {
  if (getenv("WT_TEST_VERBOSE") && sim->srv.e && sim->n_cli > 0 && sim->cli[0].e) {
    print_stats(sim);
  }
  for (int i = 0; i < sim->n_cli; i++) {
    wt_engine_del(sim->cli[i].e);
    sim->cli[i].e = NULL;
  }
  wt_engine_del(sim->srv.e);
  sim->srv.e = NULL;
  while (sim->q) {
    free(queue_pop(sim));
  }
  for (int i = 0; i < sim->n_cli; i++) {
    records_free(&sim->cli[i]);
  }
  records_free(&sim->srv);
}

int wt_sim_server_new(wt_sim *sim, const wt_engine_config *cfg) {
  sim->srv_cfg = *cfg;
  return wt_engine_new(&sim->srv.e, &sim->srv_cfg, &g_record_cb, &sim->srv, sim->now);
}

int wt_sim_server_restart(wt_sim *sim) {
  wt_engine_del(sim->srv.e);
  sim->srv.e = NULL;
  return wt_engine_new(&sim->srv.e, &sim->srv_cfg, &g_record_cb, &sim->srv, sim->now);
}

int wt_sim_client_add(wt_sim *sim, const wt_engine_config *cfg, const wt_addr *addr) {
  if (sim->n_cli >= WT_SIM_MAX_CLIENTS) {
    return WT_ERR_RANGE;
  }
  wt_sim_node *n = &sim->cli[sim->n_cli];
  memset(n, 0, sizeof(*n));
  n->sim = sim;
  if (addr) {
    n->addr = *addr;
  } else {
    wt_sim_addr(&n->addr, "127.0.0.1", 50000);
  }
  n->pub = n->addr;
  int rv = wt_engine_new(&n->e, cfg, &g_record_cb, n, sim->now);
  if (rv != 0) {
    return rv;
  }
  return sim->n_cli++;
}

wt_conn *wt_sim_connect(wt_sim *sim, int i, const wt_addr *to) {
  wt_path p = {.local = sim->cli[i].addr, .remote = to ? *to : sim->srv.addr};
  wt_conn *c = NULL;
  if (!SIM_CHECK(wt_engine_connect(sim->cli[i].e, &p, "localhost", sim->now, &c) == 0)) {
    return NULL;
  }
  return c;
}

wt_sim_sess *wt_sim_open_session(wt_sim *sim, int i, wt_conn *c, const char *path,
                                 const char *origin) {
  wt_session *s = NULL;
  if (!SIM_CHECK(wt_conn_open_session(c, "localhost:4433", path, origin, &s) == 0)) {
    return NULL;
  }
  wt_sim_sess *x = wt_sim_sess_new(&sim->cli[i], s);
  if (x) {
    snprintf(x->path, sizeof(x->path), "%s", path);
  }
  return x;
}

void wt_sim_client_alias(wt_sim *sim, int i, const wt_addr *addr) {
  wt_sim_node *n = &sim->cli[i];
  if (SIM_CHECK(n->n_alias < (int)(sizeof(n->alias) / sizeof(n->alias[0])))) {
    n->alias[n->n_alias++] = *addr;
  }
}

void wt_sim_nat(wt_sim *sim, int i, uint16_t pub_port) {
  wt_sim_node *n = &sim->cli[i];
  n->pub = n->addr;
  if (n->pub.ss.ss_family == AF_INET6) {
    ((struct sockaddr_in6 *)&n->pub.ss)->sin6_port = htons(pub_port);
  } else {
    ((struct sockaddr_in *)&n->pub.ss)->sin_port = htons(pub_port);
  }
  n->nat = 1;
}

/* The receiver of what from sent to dst, NULL if no node is there. */
static wt_sim_node *route(wt_sim *sim, const wt_sim_node *from, const wt_addr *dst) {
  if (!from->is_server) {
    return &sim->srv;
  }
  for (int i = 0; i < sim->n_cli; i++) {
    const wt_sim_node *n = &sim->cli[i];
    if (wt_sim_addr_eq(dst, &n->pub)) {
      return &sim->cli[i];
    }
    for (int j = 0; j < n->n_alias; j++) {
      if (wt_sim_addr_eq(dst, &n->alias[j])) {
        return &sim->cli[i];
      }
    }
  }
  return NULL;
}

void wt_sim_send(wt_sim *sim, wt_sim_node *from, const wt_path *path, const uint8_t *p,
                 size_t len) {
  int down = from->is_server;
  const wt_sim_link *l = down ? &sim->cfg.down : &sim->cfg.up;
  sim->sent++;
  if (sim->drop_next[down] > 0) {
    sim->drop_next[down]--;
    sim->lost++;
    return;
  }
  if (!SIM_CHECK(len <= WT_SIM_MTU)) {
    return;
  }
  wt_sim_pkt *k = malloc(sizeof(*k));
  if (!SIM_CHECK(k != NULL)) {
    return;
  }
  k->to = NULL;
  k->to_server = !down;
  k->path.local = path->remote;
  k->path.remote = path->local;
  k->len = len;
  memcpy(k->data, p, len);
  int drop = sim->filter && sim->filter(sim->filter_arg, sim, k);
  if (drop || (l->loss_pm > 0 && rnd(sim) % 1000 < l->loss_pm)) {
    sim->lost++;
    free(k);
    return;
  }
  k->to = route(sim, from, &k->path.local);
  if (k->to == NULL || sim->nq >= sim->cfg.max_queue) {
    if (k->to == NULL) {
      sim->unroutable++;
    } else {
      sim->overflow++;
    }
    sim->lost++;
    free(k);
    return;
  }
  if (!down && from->nat && wt_sim_addr_eq(&k->path.remote, &from->addr)) {
    k->path.remote = from->pub; /* the server sees the NAT's mapping */
  } else if (down && k->to->nat && wt_sim_addr_eq(&k->path.local, &k->to->pub)) {
    k->path.local = k->to->addr; /* the NAT hands it to the client's own address */
  }
  queue_insert(sim, k, l);
  if (l->dup_pm > 0 && rnd(sim) % 1000 < l->dup_pm && sim->nq < sim->cfg.max_queue) {
    wt_sim_pkt *d = malloc(sizeof(*d));
    if (SIM_CHECK(d != NULL)) {
      memcpy(d, k, sizeof(*d));
      sim->dups++;
      queue_insert(sim, d, l);
    }
  }
}

static void send_out(void *arg, const wt_path *path, const uint8_t *pkt, size_t len) {
  wt_sim_node *n = arg;
  wt_sim_send(n->sim, n, path, pkt, len);
}

int wt_sim_flush(wt_sim *sim, wt_sim_node *n) {
  if (n->e == NULL) {
    return 0;
  }
  return wt_sim_drain(n->e, sim->now, &sim->cfg.tx, send_out, n);
}

static uint64_t next_event(const wt_sim *sim) {
  uint64_t next = wt_engine_next_expiry(sim->srv.e);
  for (int i = 0; i < sim->n_cli; i++) {
    uint64_t t = wt_engine_next_expiry(sim->cli[i].e);
    next = t < next ? t : next;
  }
  if (sim->q && sim->q->at < next) {
    next = sim->q->at;
  }
  return next;
}

int wt_sim_step(wt_sim *sim, uint64_t deadline) {
  for (int i = 0; i < sim->n_cli; i++) {
    wt_sim_flush(sim, &sim->cli[i]);
  }
  wt_sim_flush(sim, &sim->srv);
  int delivered = 0;
  while (sim->q && sim->q->at <= sim->now) {
    wt_sim_pkt *k = queue_pop(sim);
    wt_engine_recv(k->to->e, &k->path, k->data, k->len, 0, sim->now);
    free(k);
    delivered++;
  }
  sim->delivered += (uint64_t)delivered;
  if (delivered) {
    return 1;
  }
  uint64_t next = next_event(sim);
  if (next == UINT64_MAX) {
    return 0;
  }
  if (next > deadline) {
    sim->now = deadline + 1; /* never jump past the caller's horizon */
    return 0;
  }
  if (next > sim->now) {
    sim->now = next;
  }
  for (int i = 0; i < sim->n_cli; i++) {
    wt_engine_handle_expiry(sim->cli[i].e, sim->now);
  }
  wt_engine_handle_expiry(sim->srv.e, sim->now);
  return 1;
}

int wt_sim_run_until(wt_sim *sim, wt_sim_cond_fn cond, void *arg, uint64_t max_time) {
  uint64_t deadline = sim->now + max_time;
  for (long it = 0; it < 2000000; it++) {
    if (cond && cond(sim, arg)) {
      return 1;
    }
    if (sim->now > deadline) {
      return 0;
    }
    if (!wt_sim_step(sim, deadline)) {
      return cond ? cond(sim, arg) : 1;
    }
  }
  return 0;
}

int wt_sim_close_all(wt_sim *sim, uint64_t max_time) {
  for (int i = 0; i < sim->n_cli; i++) {
    wt_engine_close_all(sim->cli[i].e, sim->now);
  }
  wt_engine_close_all(sim->srv.e, sim->now);
  return wt_sim_run_until(sim, wt_sim_c_no_conns, NULL, max_time);
}

/* ------------------------------------------------------------ conditions */

int wt_sim_c_handshake(wt_sim *sim, void *arg) {
  (void)arg;
  return wt_engine_get_stats(sim->cli[0].e)->handshakes_ok > 0 &&
         wt_engine_get_stats(sim->srv.e)->handshakes_ok > 0;
}

int wt_sim_c_no_conns(wt_sim *sim, void *arg) {
  (void)arg;
  for (int i = 0; i < sim->n_cli; i++) {
    if (wt_engine_conn_count(sim->cli[i].e) != 0) {
      return 0;
    }
  }
  return wt_engine_conn_count(sim->srv.e) == 0;
}

int wt_sim_c_sess_settled(wt_sim *sim, void *arg) {
  (void)sim;
  const wt_sim_sess *x = arg;
  return x->open || x->refused || x->closed;
}

int wt_sim_c_sess_closed(wt_sim *sim, void *arg) {
  (void)sim;
  const wt_sim_sess *x = arg;
  return x->closed;
}

int wt_sim_c_stream_fin(wt_sim *sim, void *arg) {
  (void)sim;
  const wt_sim_stream *x = arg;
  return x->rx_fin || x->reset;
}

int wt_sim_c_conn_closed(wt_sim *sim, void *arg) {
  (void)arg;
  return sim->cli[0].conn_closed > 0;
}
