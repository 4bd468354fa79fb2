/* test_engine_ref.c: zero-copy stream writes and datagrams
 * (wt_stream_write_ref, wt_session_send_datagram_ref) and deferred answers
 * to a CONNECT (WT_SESSION_DEFER, wt_session_respond), with a client and a
 * server engine in one process over an in-memory link (the harness of
 * test_engine.c, reduced: deterministic PRNG for loss and reordering, a
 * manual clock advanced to the next expiry when idle, bounded loops), and
 * the sendbuf with interleaved owned/external chunks. */
#include "check.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "wt_conn.h" /* internal: a client stream sent before the 200 */
#include "wt_engine.h"
#include "wt_log.h"
#include "wt_sendbuf.h"

#define MS  UINT64_C(1000000)
#define SEC (1000 * MS)

/* ------------------------------------------------------------ certificate */

static char g_dir[64], g_cert[128], g_key[128];
static uint8_t g_pin[32];

static int write_file(const char *path, const uint8_t *p, size_t n) {
  FILE *f = fopen(path, "w");
  if (!f) {
    return -1;
  }
  size_t w = fwrite(p, 1, n, f);
  fclose(f);
  return w == n ? 0 : -1;
}

/* A self-signed ECDSA P-256 certificate (what browsers accept for
 * serverCertificateHashes) written as PEM; pin = SHA-256 of its DER. */
static int make_cert(const char *cert_path, const char *key_path, uint8_t *pin) {
  WC_RNG rng;
  ecc_key key;
  Cert cert;
  static uint8_t der[4096], pem[8192], kder[512], kpem[2048];
  if (wc_InitRng(&rng) != 0 || wc_ecc_init(&key) != 0) {
    return -1;
  }
  int rv = -1;
  if (wc_ecc_make_key_ex(&rng, 32, &key, ECC_SECP256R1) != 0 || wc_InitCert(&cert) != 0) {
    goto out;
  }
  strncpy(cert.subject.commonName, "localhost", CTC_NAME_SIZE - 1);
  strncpy(cert.subject.org, "wtcast-test", CTC_NAME_SIZE - 1);
  cert.sigType = CTC_SHA256wECDSA;
  cert.daysValid = 10;
  cert.selfSigned = 1;
  int n = wc_MakeCert(&cert, der, sizeof(der), NULL, &key, &rng);
  if (n <= 0) {
    goto out;
  }
  n = wc_SignCert(cert.bodySz, cert.sigType, der, sizeof(der), NULL, &key, &rng);
  if (n <= 0) {
    goto out;
  }
  wc_Sha256Hash(der, (word32)n, pin);
  int pn = wc_DerToPem(der, (word32)n, pem, sizeof(pem), CERT_TYPE);
  int kn = wc_EccKeyToDer(&key, kder, sizeof(kder));
  int kpn = kn > 0 ? wc_DerToPem(kder, (word32)kn, kpem, sizeof(kpem), ECC_PRIVATEKEY_TYPE) : -1;
  if (pn <= 0 || kpn <= 0) {
    goto out;
  }
  if (write_file(cert_path, pem, (size_t)pn) != 0 || write_file(key_path, kpem, (size_t)kpn) != 0) {
    goto out;
  }
  rv = 0;
out:
  wc_ecc_free(&key);
  wc_FreeRng(&rng);
  return rv;
}

/* ------------------------------------------------------------ releases */

typedef struct rel {
  const uint8_t *data;
  size_t len;
  int n;             /* releases seen */
  size_t need_rx;    /* the client must have received this many bytes of ... */
  uint64_t watch_id; /* ... its peer stream with this ID first (0 bytes: no check) */
  int *counter;      /* also counted here (shared), if set */
} rel;

static struct world *g_world; /* for on_release's receive check */
static struct sstate *cli_stream(struct world *w, uint64_t id);
static size_t sstate_rxlen(const struct sstate *x);

static void on_release(void *arg, const uint8_t *data, size_t len) {
  rel *r = arg;
  CHECK(data == r->data);
  CHECK_EQ(len, r->len);
  r->n++;
  if (r->counter) {
    (*r->counter)++;
  }
  if (r->need_rx && g_world) {
    /* released after the ack: the peer holds every byte up to our end */
    struct sstate *x = cli_stream(g_world, r->watch_id);
    CHECK(x != NULL && sstate_rxlen(x) >= r->need_rx);
  }
}

/* ------------------------------------------------------------ the link */

typedef struct pkt {
  struct pkt *next;
  uint64_t at;
  int to_server;
  wt_path path; /* as seen by the receiver */
  size_t len;
  uint8_t data[1500];
} pkt;

typedef struct side side;

typedef struct sstate { /* per-stream app state */
  struct sstate *next;
  wt_stream *st;
  uint64_t id;
  int closed, rx_fin, reset, stopped, opened_after_session;
  uint8_t *rx;
  size_t rxlen, rxcap;
} sstate;

typedef struct sess { /* per-session app state */
  struct sess *next;
  wt_session *s;
  int open, closed, refused, refused_status, clean, dgrams;
  size_t dgram_bytes;
  char path[32];
} sess;

struct side {
  struct world *w;
  int is_server;
  wt_engine *e;
  sstate *streams;
  sess *sessions;
  int conn_closed;
};

typedef struct world {
  uint64_t now;
  uint64_t rng;
  int loss_pm;     /* per mille */
  uint64_t delay;  /* one way */
  uint64_t jitter; /* extra random delay: reordering */
  pkt *q;
  side cli, srv;
  wt_addr caddr, saddr;
  uint64_t sent, lost;
} world;

static uint64_t rnd(world *w) {
  w->rng ^= w->rng << 13;
  w->rng ^= w->rng >> 7;
  w->rng ^= w->rng << 17;
  return w->rng;
}

static void addr_init(wt_addr *a, uint16_t port) {
  memset(a, 0, sizeof(*a));
  struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;
  in->sin_family = AF_INET;
  in->sin_port = htons(port);
  in->sin_addr.s_addr = htonl(0x7f000001);
  a->len = sizeof(*in);
}

static void enqueue(world *w, int to_server, const wt_tx_entry *ent, const uint8_t *p, size_t len) {
  w->sent++;
  if (w->loss_pm > 0 && (int)(rnd(w) % 1000) < w->loss_pm) {
    w->lost++;
    return;
  }
  pkt *k = malloc(sizeof(*k));
  k->to_server = to_server;
  k->path.local = ent->path.remote;
  k->path.remote = ent->path.local;
  k->len = len;
  memcpy(k->data, p, len);
  k->at = w->now + w->delay + (w->jitter ? rnd(w) % w->jitter : 0);
  pkt **pp = &w->q;
  while (*pp && (*pp)->at <= k->at) {
    pp = &(*pp)->next;
  }
  k->next = *pp;
  *pp = k;
}

static int flush(world *w, side *sd) {
  static uint8_t buf[64 * 1500];
  static wt_tx_entry ents[32];
  int total = 0;
  for (int round = 0; round < 64; round++) {
    wt_tx_batch b = {.buf = buf, .cap = sizeof(buf), .ents = ents, .max = 32, .max_segments = 16};
    int n = wt_engine_write(sd->e, &b, w->now);
    CHECK(n >= 0);
    if (n <= 0) {
      break;
    }
    for (int i = 0; i < n; i++) {
      const wt_tx_entry *ent = &ents[i];
      for (size_t off = 0; off < ent->len; off += ent->segsize) {
        size_t l = ent->len - off < ent->segsize ? ent->len - off : ent->segsize;
        enqueue(w, !sd->is_server, ent, ent->data + off, l);
      }
    }
    total += n;
  }
  return total;
}

/* One step: write both, deliver due packets; if nothing moved, advance the
 * clock to the next event. Returns 0 when there is nothing left at all. */
static int step(world *w, uint64_t deadline) {
  flush(w, &w->cli);
  flush(w, &w->srv);
  int delivered = 0;
  while (w->q && w->q->at <= w->now) {
    pkt *k = w->q;
    w->q = k->next;
    side *to = k->to_server ? &w->srv : &w->cli;
    wt_engine_recv(to->e, &k->path, k->data, k->len, 0, w->now);
    free(k);
    delivered++;
  }
  if (delivered) {
    return 1;
  }
  uint64_t next = UINT64_MAX;
  uint64_t a = wt_engine_next_expiry(w->cli.e), b = wt_engine_next_expiry(w->srv.e);
  next = a < next ? a : next;
  next = b < next ? b : next;
  if (w->q && w->q->at < next) {
    next = w->q->at;
  }
  if (next == UINT64_MAX) {
    return 0;
  }
  if (next > deadline) {
    w->now = deadline + 1;
    return 0;
  }
  if (next > w->now) {
    w->now = next;
  }
  wt_engine_handle_expiry(w->cli.e, w->now);
  wt_engine_handle_expiry(w->srv.e, w->now);
  return 1;
}

typedef int (*cond_fn)(world *w, void *arg);

static int run_until(world *w, cond_fn cond, void *arg, uint64_t max_time) {
  uint64_t deadline = w->now + max_time;
  for (long it = 0; it < 2000000; it++) {
    if (cond && cond(w, arg)) {
      return 1;
    }
    if (w->now > deadline) {
      return 0;
    }
    if (!step(w, deadline)) {
      return cond ? cond(w, arg) : 1;
    }
  }
  return 0;
}

/* ------------------------------------------------------------ the app */

static sstate *sstate_new(side *sd, wt_stream *st) {
  sstate *x = calloc(1, sizeof(*x));
  x->st = st;
  x->id = wt_stream_id(st);
  x->next = sd->streams;
  sd->streams = x;
  wt_stream_set_user(st, x);
  return x;
}

static sess *sess_new(side *sd, wt_session *s) {
  sess *x = calloc(1, sizeof(*x));
  x->s = s;
  x->next = sd->sessions;
  sd->sessions = x;
  wt_session_set_user(s, x);
  return x;
}

static int g_defer_count; /* server: session_request calls that deferred */

static int cb_session_request(void *user, wt_session *s, const wt_request *req) {
  side *sd = user;
  sess *x = sess_new(sd, s);
  snprintf(x->path, sizeof(x->path), "%s", req->path ? req->path : "");
  if (req->path && strncmp(req->path, "/defer", 6) == 0) {
    g_defer_count++;
    /* answering inside the deferring callback is not allowed */
    CHECK_EQ(wt_session_respond(s, 200), WT_ERR_STATE);
    return WT_SESSION_DEFER;
  }
  return 200;
}

static void cb_session_open(void *user, wt_session *s) {
  sess *x = wt_session_get_user(s);
  CHECK(x != NULL);
  if (x) {
    CHECK(!x->open);
    x->open = 1;
  }
}

static void cb_session_close(void *user, wt_session *s, uint32_t code, const uint8_t *reason,
                             size_t reason_len, int clean) {
  sess *x = wt_session_get_user(s);
  CHECK(x != NULL);
  if (x) {
    CHECK(!x->closed);
    x->closed = 1;
    x->clean = clean;
    x->s = NULL;
  }
}

static void cb_session_refused(void *user, wt_session *s, int status) {
  sess *x = wt_session_get_user(s);
  CHECK(x != NULL);
  if (x) {
    x->refused = 1;
    x->refused_status = status;
    x->s = NULL;
  }
}

static void cb_stream_open(void *user, wt_session *s, wt_stream *st) {
  sess *ss = wt_session_get_user(s);
  sstate *x = sstate_new(user, st);
  x->opened_after_session = ss != NULL && ss->open;
}

static void cb_stream_data(void *user, wt_stream *st, const uint8_t *data, size_t len, int fin) {
  sstate *x = wt_stream_get_user(st);
  CHECK(x != NULL);
  if (x == NULL) {
    return;
  }
  if (len > 0) {
    if (x->rxlen + len > x->rxcap) {
      size_t nc = x->rxcap ? x->rxcap : 4096;
      while (nc < x->rxlen + len) {
        nc *= 2;
      }
      x->rx = realloc(x->rx, nc);
      x->rxcap = nc;
    }
    memcpy(x->rx + x->rxlen, data, len);
    x->rxlen += len;
  }
  if (fin) {
    x->rx_fin = 1;
  }
}

static void cb_stream_reset(void *user, wt_stream *st, uint32_t code, int has_code) {
  sstate *x = wt_stream_get_user(st);
  if (x) {
    x->reset = 1;
  }
}

static void cb_stream_stop(void *user, wt_stream *st, uint32_t code, int has_code) {
  sstate *x = wt_stream_get_user(st);
  if (x) {
    x->stopped = 1;
  }
}

static void cb_stream_close(void *user, wt_stream *st) {
  sstate *x = wt_stream_get_user(st);
  if (x) {
    x->closed = 1;
    x->st = NULL;
  }
}

static void cb_datagram(void *user, wt_session *s, const uint8_t *data, size_t len) {
  sess *x = wt_session_get_user(s);
  CHECK(x == NULL || x->open);
  if (x) {
    x->dgrams++;
    x->dgram_bytes += len;
  }
}

static void cb_conn_close(void *user, wt_conn *c, uint64_t code, int is_app) {
  side *sd = user;
  sd->conn_closed++;
}

static const wt_engine_callbacks g_cb = {
    .session_request = cb_session_request,
    .session_open = cb_session_open,
    .session_close = cb_session_close,
    .session_refused = cb_session_refused,
    .stream_open = cb_stream_open,
    .stream_data = cb_stream_data,
    .stream_reset = cb_stream_reset,
    .stream_stop = cb_stream_stop,
    .stream_close = cb_stream_close,
    .datagram = cb_datagram,
    .conn_close = cb_conn_close,
};

/* ------------------------------------------------------------ world */

static uint32_t g_max_dgram_queue; /* server max_datagram_queue; 0: default */

static int world_init(world *w, int loss_pm) {
  memset(w, 0, sizeof(*w));
  w->rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)loss_pm;
  w->loss_pm = loss_pm;
  w->delay = 10 * MS;
  w->jitter = loss_pm ? 4 * MS : 0;
  w->now = 1000 * SEC;
  addr_init(&w->caddr, 50000);
  addr_init(&w->saddr, 4433);
  w->cli.w = w->srv.w = w;
  w->srv.is_server = 1;
  wt_engine_config sc, cc;
  wt_engine_config_default(&sc, 1);
  sc.cert_file = g_cert;
  sc.key_file = g_key;
  sc.stream_send_buffer = 64 * 1024; /* write_ref is not bound by it */
  if (g_max_dgram_queue) {
    sc.max_datagram_queue = g_max_dgram_queue;
  }
  wt_engine_config_default(&cc, 0);
  cc.pin_sha256 = g_pin;
  if (wt_engine_new(&w->srv.e, &sc, &g_cb, &w->srv, w->now) != 0) {
    return -1;
  }
  if (wt_engine_new(&w->cli.e, &cc, &g_cb, &w->cli, w->now) != 0) {
    wt_engine_del(w->srv.e);
    return -1;
  }
  return 0;
}

static void free_app(side *sd) {
  while (sd->streams) {
    sstate *x = sd->streams;
    sd->streams = x->next;
    free(x->rx);
    free(x);
  }
  while (sd->sessions) {
    sess *x = sd->sessions;
    sd->sessions = x->next;
    free(x);
  }
}

static void world_free(world *w) {
  wt_engine_del(w->cli.e);
  wt_engine_del(w->srv.e);
  while (w->q) {
    pkt *k = w->q;
    w->q = k->next;
    free(k);
  }
  free_app(&w->cli);
  free_app(&w->srv);
}

static int c_handshake(world *w, void *arg) {
  return wt_engine_get_stats(w->cli.e)->handshakes_ok > 0 &&
         wt_engine_get_stats(w->srv.e)->handshakes_ok > 0;
}
static int c_sess_settled(world *w, void *arg) {
  sess *x = arg;
  return x->open || x->refused || x->closed;
}
static int c_closed(world *w, void *arg) {
  sess *x = arg;
  return x->closed;
}
static int c_no_conns(world *w, void *arg) {
  return wt_engine_conn_count(w->cli.e) == 0 && wt_engine_conn_count(w->srv.e) == 0;
}

static wt_conn *connect_client(world *w) {
  wt_path p = {.local = w->caddr, .remote = w->saddr};
  wt_conn *c = NULL;
  CHECK_EQ(wt_engine_connect(w->cli.e, &p, "localhost", w->now, &c), 0);
  return c;
}

static sess *open_session(world *w, wt_conn *c, const char *path) {
  wt_session *s = NULL;
  int rv = wt_conn_open_session(c, "localhost:4433", path, NULL, &s);
  CHECK_EQ(rv, 0);
  if (rv != 0) {
    return NULL;
  }
  sess *x = sess_new(&w->cli, s);
  snprintf(x->path, sizeof(x->path), "%s", path);
  return x;
}

/* The newest server session for path. */
static sess *server_sess(world *w, const char *path) {
  for (sess *x = w->srv.sessions; x; x = x->next) {
    if (strcmp(x->path, path) == 0) {
      return x;
    }
  }
  return NULL;
}

static void fill_pattern(uint8_t *p, size_t n, uint32_t seed) {
  uint32_t s = seed;
  for (size_t i = 0; i < n; i++) {
    s = s * 1103515245u + 12345u;
    p[i] = (uint8_t)(s >> 16);
  }
}

/* Client side app state of the peer stream with this stream ID. */
static sstate *cli_stream(world *w, uint64_t id) {
  for (sstate *x = w->cli.streams; x; x = x->next) {
    if (x->id == id) {
      return x;
    }
  }
  return NULL;
}
static size_t sstate_rxlen(const sstate *x) {
  return x->rxlen;
}

typedef struct rels {
  rel *r;
  int n, want; /* every r[i].n >= want */
} rels;

static int rels_done(const rels *x) {
  for (int i = 0; i < x->n; i++) {
    if (x->r[i].n < x->want) {
      return 0;
    }
  }
  return 1;
}
static int c_rels(world *w, void *arg) {
  return rels_done(arg);
}

static int c_server_deferred(world *w, void *arg) {
  return g_defer_count >= *(int *)arg;
}

static void close_world(world *w) {
  wt_engine_close_all(w->cli.e, w->now);
  wt_engine_close_all(w->srv.e, w->now);
  CHECK(run_until(w, c_no_conns, NULL, 60 * SEC));
}

/* Handshake and one open session on path; returns the client session. */
static sess *setup(world *w, wt_conn **cp, const char *path) {
  wt_conn *c = connect_client(w);
  CHECK(run_until(w, c_handshake, NULL, 20 * SEC));
  sess *cs = open_session(w, c, path);
  if (cs) {
    CHECK(run_until(w, c_sess_settled, cs, 20 * SEC));
  }
  *cp = c;
  return cs;
}

/* ------------------------------------------------------------ tests */

/* Owned and external chunks interleaved, partial acks, drop_unsent, and the
 * release queue. */
static void test_sendbuf_ref(void) {
  static uint8_t own[6000], ext1[10000], ext2[5000], ext3[7000], out[40000];
  fill_pattern(own, sizeof(own), 1);
  fill_pattern(ext1, sizeof(ext1), 2);
  fill_pattern(ext2, sizeof(ext2), 3);
  fill_pattern(ext3, sizeof(ext3), 4);
  rel r1 = {.data = ext1, .len = sizeof(ext1)}, r2 = {.data = ext2, .len = sizeof(ext2)},
      r3 = {.data = ext3, .len = sizeof(ext3)};
  rel r1b = {.data = ext1, .len = sizeof(ext1)}, r4 = {.data = ext2, .len = 100};
  wt_sendbuf b;
  wt_sendbuf_init(&b);
  CHECK_EQ(wt_sendbuf_append_ref(&b, ext1, 0, on_release, &r1), WT_ERR_INVAL);
  CHECK_EQ(wt_sendbuf_append_ref(&b, NULL, 5, on_release, &r1), WT_ERR_INVAL);
  /* own[0..3000) ext1 own[3000..5000) ext2 own[5000..5100) */
  CHECK_EQ(wt_sendbuf_append(&b, own, 3000), 0);
  CHECK_EQ(wt_sendbuf_append_ref(&b, ext1, sizeof(ext1), on_release, &r1), 0);
  CHECK_EQ(wt_sendbuf_append(&b, own + 3000, 2000), 0);
  CHECK_EQ(wt_sendbuf_append_ref(&b, ext2, sizeof(ext2), on_release, &r2), 0);
  CHECK_EQ(wt_sendbuf_append(&b, own + 5000, 100), 0);
  size_t total = 3000 + sizeof(ext1) + 2000 + sizeof(ext2) + 100;
  CHECK_EQ(wt_sendbuf_unsent(&b), total);
  /* the external bytes are referenced, not copied */
  wt_iov iov[8];
  size_t k = wt_sendbuf_peek(&b, iov, 8, SIZE_MAX);
  CHECK_EQ(k, 5);
  CHECK(k == 5 && iov[1].base == ext1 && iov[3].base == ext2);
  size_t got = 0;
  while (got < total) {
    k = wt_sendbuf_peek(&b, iov, 2, 1500);
    CHECK_FATAL(k > 0);
    size_t t = 0;
    for (size_t i = 0; i < k; i++) {
      memcpy(out + got + t, iov[i].base, iov[i].len);
      t += iov[i].len;
    }
    wt_sendbuf_consume(&b, t);
    got += t;
  }
  CHECK_EQ(wt_sendbuf_peek(&b, iov, 8, SIZE_MAX), 0);
  CHECK_MEM(out, own, 3000);
  CHECK_MEM(out + 3000, ext1, sizeof(ext1));
  CHECK_MEM(out + 13000, own + 3000, 2000);
  CHECK_MEM(out + 15000, ext2, sizeof(ext2));
  CHECK_MEM(out + 20000, own + 5000, 100);
  /* partial acks: an external chunk goes only once wholly acknowledged */
  wt_sendbuf_ack(&b, 2999);
  CHECK_EQ(r1.n, 0);
  wt_sendbuf_ack(&b, 1 + sizeof(ext1) - 1);
  CHECK_EQ(r1.n, 0);
  wt_sendbuf_ack(&b, 1);
  CHECK_EQ(r1.n, 1);
  wt_sendbuf_ack(&b, 2000 + sizeof(ext2) - 1);
  CHECK_EQ(r2.n, 0);
  wt_sendbuf_ack(&b, 1);
  CHECK_EQ(r2.n, 1);
  CHECK_EQ(wt_sendbuf_held(&b), 100);
  wt_sendbuf_ack(&b, 100);
  CHECK_EQ(wt_sendbuf_held(&b), 0);
  CHECK(b.head == NULL);
  CHECK_EQ(r1.n + r2.n, 2);

  /* drop_unsent: ext3 partly sent stays, the rest goes at once */
  CHECK_EQ(wt_sendbuf_append_ref(&b, ext3, sizeof(ext3), on_release, &r3), 0);
  k = wt_sendbuf_peek(&b, iov, 8, 1000);
  CHECK(k == 1 && iov[0].base == ext3);
  wt_sendbuf_consume(&b, 1000);
  CHECK_EQ(wt_sendbuf_append(&b, own, 500), 0);
  CHECK_EQ(wt_sendbuf_append_ref(&b, ext1, sizeof(ext1), on_release, &r1b), 0);
  CHECK_EQ(wt_sendbuf_drop_unsent(&b), 6000 + 500 + sizeof(ext1));
  CHECK_EQ(r1b.n, 1);
  CHECK_EQ(r3.n, 0);
  CHECK_EQ(wt_sendbuf_unsent(&b), 0);
  CHECK_EQ(wt_sendbuf_held(&b), 1000);
  wt_sendbuf_ack(&b, 1000);
  CHECK_EQ(r3.n, 1);
  CHECK(b.head == NULL);
  /* appending after a drop/ack cycle still works */
  CHECK_EQ(wt_sendbuf_append(&b, own, 10), 0);
  k = wt_sendbuf_peek(&b, iov, 8, SIZE_MAX);
  CHECK(k == 1 && iov[0].len == 10 && memcmp(iov[0].base, own, 10) == 0);

  /* with a release queue: nothing runs until wt_relq_run */
  wt_relq q = {0};
  b.rq = &q;
  CHECK_EQ(wt_sendbuf_append_ref(&b, ext2, 100, on_release, &r4), 0);
  wt_sendbuf_free(&b);
  CHECK(b.rq == &q);
  CHECK_EQ(r4.n, 0);
  wt_relq_run(&q);
  CHECK_EQ(r4.n, 1);
  CHECK_EQ(q.released, 1);
  wt_relq_run(&q);
  CHECK_EQ(r4.n, 1);
  wt_sendbuf_free(&b);
}

/* 1 MB in 16 referenced chunks over a lossy link: intact, each chunk
 * released once, after the peer has it. */
static void test_write_ref_lossy(void) {
  world w;
  CHECK_FATAL(world_init(&w, 30) == 0);
  g_world = &w;
  wt_conn *c;
  sess *cs = setup(&w, &c, "/echo");
  CHECK_FATAL(cs != NULL && cs->open);
  sess *ss = server_sess(&w, "/echo");
  CHECK_FATAL(ss != NULL && ss->open);
  wt_stream *st = NULL;
  CHECK_EQ(wt_session_open_stream(ss->s, 0, &st), 0);
  CHECK_FATAL(st != NULL);
  sstate *sx = sstate_new(&w.srv, st);
  enum { N = 16 };
  size_t big = 1u << 20, chunk = big / N;
  uint8_t *buf = malloc(big);
  fill_pattern(buf, big, 9);
  rel r[N];
  memset(r, 0, sizeof(r));
  CHECK_EQ(wt_stream_send_backlog(st), 0);
  for (int i = 0; i < N; i++) {
    r[i].data = buf + i * chunk;
    r[i].len = chunk;
    r[i].need_rx = (i + 1) * chunk;
    r[i].watch_id = wt_stream_id(st);
    /* beyond stream_send_buffer (64 KiB): referenced writes are not bound */
    CHECK_EQ(wt_stream_write_ref(st, buf + i * chunk, chunk, i == N - 1, on_release, &r[i]),
             (int)chunk);
  }
  CHECK_EQ(wt_stream_send_backlog(st), big);
  /* after fin: refused, and the caller keeps the buffer */
  rel extra = {.data = buf, .len = 10};
  CHECK_EQ(wt_stream_write_ref(st, buf, 10, 0, on_release, &extra), WT_ERR_STATE);
  CHECK_EQ(wt_stream_write(st, buf, 10, 0), WT_ERR_STATE);
  rels all = {r, N, 1};
  CHECK(run_until(&w, c_rels, &all, 300 * SEC));
  run_until(&w, NULL, NULL, 2 * SEC);
  sstate *cx = cli_stream(&w, r[0].watch_id);
  CHECK_FATAL(cx != NULL);
  CHECK(cx->rx_fin);
  CHECK_EQ(cx->rxlen, big);
  CHECK(cx->rxlen == big && memcmp(cx->rx, buf, big) == 0);
  for (int i = 0; i < N; i++) {
    CHECK_EQ(r[i].n, 1);
  }
  CHECK_EQ(extra.n, 0);
  if (!sx->closed) {
    CHECK_EQ(wt_stream_send_backlog(st), 0);
  }
  CHECK(w.lost > 0);
  close_world(&w);
  world_free(&w);
  g_world = NULL;
  for (int i = 0; i < N; i++) {
    CHECK_EQ(r[i].n, 1);
  }
  free(buf);
}

static int c_count(world *w, void *arg) {
  const int *v = arg; /* {counter pointer is v[0]'s address, target v[1]} */
  return v[0] >= v[1];
}

/* Releases on stream reset, session close (stream + datagram) and engine
 * free. */
static void test_ref_release_paths(void) {
  world w;
  CHECK_FATAL(world_init(&w, 0) == 0);
  wt_conn *c;
  sess *cs1 = setup(&w, &c, "/one");
  CHECK_FATAL(cs1 != NULL && cs1->open);
  sess *cs2 = open_session(&w, c, "/two");
  CHECK_FATAL(cs2 != NULL);
  CHECK(run_until(&w, c_sess_settled, cs2, 20 * SEC));
  sess *ss1 = server_sess(&w, "/one"), *ss2 = server_sess(&w, "/two");
  CHECK_FATAL(ss1 && ss2 && ss1->open && ss2->open);
  size_t blen = 400000, part = 100000;
  uint8_t *buf = malloc(blen);
  fill_pattern(buf, blen, 5);

  /* reset: the unsent chunks go with the next engine call, the one in
   * flight once the stream is gone */
  int cnt[2] = {0, 4};
  rel ra[4];
  memset(ra, 0, sizeof(ra));
  wt_stream *a = NULL;
  CHECK_EQ(wt_session_open_stream(ss1->s, 0, &a), 0);
  CHECK_FATAL(a != NULL);
  sstate_new(&w.srv, a);
  for (int i = 0; i < 4; i++) {
    ra[i] = (rel){buf + i * part, part, 0, 0, 0, &cnt[0]};
    CHECK_EQ(wt_stream_write_ref(a, buf + i * part, part, 0, on_release, &ra[i]), (int)part);
  }
  flush(&w, &w.srv); /* the first packets (part of chunk 0) are in flight */
  CHECK(wt_stream_send_backlog(a) == 4 * part);
  CHECK_EQ(wt_stream_reset(a, 7), 0);
  CHECK_EQ(cnt[0], 0); /* never from inside the command */
  rel dummy = {.data = buf, .len = 10};
  CHECK_EQ(wt_stream_write_ref(a, buf, 10, 0, on_release, &dummy), WT_ERR_CLOSED);
  flush(&w, &w.srv);
  CHECK_EQ(cnt[0], 3);
  CHECK(wt_stream_send_backlog(a) < part);
  CHECK(run_until(&w, c_count, cnt, 20 * SEC));
  for (int i = 0; i < 4; i++) {
    CHECK_EQ(ra[i].n, 1);
  }
  CHECK_EQ(dummy.n, 0);

  /* session close: streams and queued datagrams */
  int cntb[2] = {0, 5};
  rel rb[4], rd = {buf, 100, 0, 0, 0, &cntb[0]};
  wt_stream *b = NULL;
  CHECK_EQ(wt_session_open_stream(ss1->s, 1, &b), 0);
  CHECK_FATAL(b != NULL);
  sstate_new(&w.srv, b);
  for (int i = 0; i < 4; i++) {
    rb[i] = (rel){buf + i * part, part, 0, 0, 0, &cntb[0]};
    CHECK_EQ(wt_stream_write_ref(b, buf + i * part, part, i == 3, on_release, &rb[i]), (int)part);
  }
  flush(&w, &w.srv);
  CHECK_EQ(wt_session_send_datagram_ref(ss1->s, buf, 100, on_release, &rd), 0);
  uint64_t dropped = wt_engine_get_stats(w.srv.e)->datagrams_dropped;
  CHECK_EQ(wt_session_close(ss1->s, 0, NULL, 0), 0);
  CHECK_EQ(cntb[0], 0);
  CHECK_EQ(wt_engine_get_stats(w.srv.e)->datagrams_dropped, dropped + 1);
  CHECK(run_until(&w, c_count, cntb, 20 * SEC));
  CHECK_EQ(rd.n, 1);
  for (int i = 0; i < 4; i++) {
    CHECK_EQ(rb[i].n, 1);
  }
  CHECK(run_until(&w, c_closed, cs1, 10 * SEC));

  /* engine free: everything still held goes back */
  int cntc[2] = {0, 5};
  rel rc[4], rdf = {buf + 1000, 200, 0, 0, 0, &cntc[0]};
  wt_stream *d = NULL;
  CHECK_EQ(wt_session_open_stream(ss2->s, 0, &d), 0);
  CHECK_FATAL(d != NULL);
  sstate_new(&w.srv, d);
  for (int i = 0; i < 4; i++) {
    rc[i] = (rel){buf + i * part, part, 0, 0, 0, &cntc[0]};
    CHECK_EQ(wt_stream_write_ref(d, buf + i * part, part, 0, on_release, &rc[i]), (int)part);
  }
  flush(&w, &w.srv);
  CHECK_EQ(wt_session_send_datagram_ref(ss2->s, buf + 1000, 200, on_release, &rdf), 0);
  /* len 0 + fin: like wt_stream_write; the reference still comes back */
  rel rz = {buf, 0, 0, 0, 0, &cntc[0]};
  cntc[1]++;
  CHECK_EQ(wt_stream_write_ref(d, buf, 0, 1, on_release, &rz), 0);
  CHECK_EQ(cntc[0], 0);
  world_free(&w);
  CHECK_EQ(cntc[0], cntc[1]);
  for (int i = 0; i < 4; i++) {
    CHECK_EQ(rc[i].n, 1);
  }
  CHECK_EQ(rdf.n, 1);
  CHECK_EQ(rz.n, 1);
  free(buf);
}

static int c_fanout(world *w, void *arg) {
  const rels *x = arg;
  if (!rels_done(x)) {
    return 0;
  }
  int fins = 0;
  for (sstate *s = w->cli.streams; s; s = s->next) {
    fins += s->rx_fin;
  }
  return fins >= 3;
}

/* One buffer written to three sessions: intact everywhere, each chunk
 * released three times. */
static void test_fanout(void) {
  world w;
  CHECK_FATAL(world_init(&w, 10) == 0);
  wt_conn *c;
  static const char *paths[3] = {"/f0", "/f1", "/f2"};
  sess *cs[3];
  cs[0] = setup(&w, &c, paths[0]);
  CHECK_FATAL(cs[0] != NULL && cs[0]->open);
  for (int i = 1; i < 3; i++) {
    cs[i] = open_session(&w, c, paths[i]);
    CHECK_FATAL(cs[i] != NULL);
    CHECK(run_until(&w, c_sess_settled, cs[i], 20 * SEC));
    CHECK_FATAL(cs[i]->open);
  }
  enum { K = 6 };
  size_t part = 50000, total = K * part;
  uint8_t *buf = malloc(total);
  fill_pattern(buf, total, 11);
  rel r[K];
  memset(r, 0, sizeof(r));
  for (int k = 0; k < K; k++) {
    r[k].data = buf + k * part;
    r[k].len = part;
  }
  for (int i = 0; i < 3; i++) {
    sess *ss = server_sess(&w, paths[i]);
    CHECK_FATAL(ss != NULL && ss->open);
    wt_stream *st = NULL;
    CHECK_EQ(wt_session_open_stream(ss->s, 0, &st), 0);
    CHECK_FATAL(st != NULL);
    sstate_new(&w.srv, st);
    for (int k = 0; k < K; k++) {
      CHECK_EQ(wt_stream_write_ref(st, buf + k * part, part, k == K - 1, on_release, &r[k]),
               (int)part);
    }
  }
  rels all = {r, K, 3};
  CHECK(run_until(&w, c_fanout, &all, 300 * SEC));
  int ok = 0;
  for (sstate *x = w.cli.streams; x; x = x->next) {
    ok += x->rx_fin && x->rxlen == total && memcmp(x->rx, buf, total) == 0;
  }
  CHECK_EQ(ok, 3);
  close_world(&w);
  world_free(&w);
  for (int k = 0; k < K; k++) {
    CHECK_EQ(r[k].n, 3);
  }
  free(buf);
}

static int c_cli_dgrams(world *w, void *arg) {
  const sess *x = arg;
  return x->dgrams >= 4;
}

static int c_cli_dgram(world *w, void *arg) {
  const sess *x = arg;
  return x->dgrams >= 1;
}

/* Referenced datagrams: released once written; errors keep the buffer;
 * queue full counted as dropped; purge on session close releases. */
static void test_datagram_ref(void) {
  world w;
  g_max_dgram_queue = 4;
  int rv = world_init(&w, 0);
  g_max_dgram_queue = 0;
  CHECK_FATAL(rv == 0);
  wt_conn *c;
  sess *cs = setup(&w, &c, "/dg");
  CHECK_FATAL(cs != NULL && cs->open);
  sess *ss = server_sess(&w, "/dg");
  CHECK_FATAL(ss != NULL && ss->open);
  static uint8_t d[8][100], huge[70000];
  rel r[8];
  for (int i = 0; i < 8; i++) {
    fill_pattern(d[i], sizeof(d[i]), (uint32_t)i);
    r[i] = (rel){.data = d[i], .len = sizeof(d[i])};
  }
  const wt_engine_stats *st = wt_engine_get_stats(w.srv.e);
  uint64_t out0 = st->datagrams_out, drop0 = st->datagrams_dropped;
  for (int i = 0; i < 4; i++) {
    CHECK_EQ(wt_session_send_datagram_ref(ss->s, d[i], 100, on_release, &r[i]), 0);
  }
  CHECK_EQ(wt_session_send_datagram_ref(ss->s, d[4], 100, on_release, &r[4]), WT_ERR_AGAIN);
  CHECK_EQ(st->datagrams_dropped, drop0 + 1);
  rel rh = {.data = huge, .len = sizeof(huge)};
  CHECK_EQ(wt_session_send_datagram_ref(ss->s, huge, sizeof(huge), on_release, &rh), WT_ERR_RANGE);
  CHECK_EQ(wt_session_send_datagram_ref(ss->s, NULL, 10, on_release, &rh), WT_ERR_INVAL);
  for (int i = 0; i < 5; i++) {
    CHECK_EQ(r[i].n, 0);
  }
  flush(&w, &w.srv);
  for (int i = 0; i < 4; i++) {
    CHECK_EQ(r[i].n, 1);
  }
  CHECK_EQ(r[4].n, 0);
  CHECK_EQ(rh.n, 0);
  CHECK_EQ(st->datagrams_out, out0 + 4);
  CHECK(run_until(&w, c_cli_dgrams, cs, 5 * SEC));
  CHECK_EQ(cs->dgram_bytes, 400);
  /* purged when the session closes: released, counted as dropped */
  drop0 = st->datagrams_dropped;
  CHECK_EQ(wt_session_send_datagram_ref(ss->s, d[5], 100, on_release, &r[5]), 0);
  rel rz = {.data = d[6], .len = 0};
  CHECK_EQ(wt_session_send_datagram_ref(ss->s, d[6], 0, on_release, &rz), 0);
  CHECK_EQ(wt_session_close(ss->s, 1, NULL, 0), 0);
  CHECK_EQ(st->datagrams_dropped, drop0 + 2);
  CHECK_EQ(r[5].n + rz.n, 0);
  flush(&w, &w.srv);
  CHECK_EQ(r[5].n, 1);
  CHECK_EQ(rz.n, 1);
  close_world(&w);
  world_free(&w);
  for (int i = 0; i < 8; i++) {
    CHECK_EQ(r[i].n, i < 4 || i == 5 ? 1 : 0);
  }
}

/* Client side: a stream and a datagram for a session whose CONNECT is sent
 * but not answered (test-only: the client API needs an open session). */
static void send_early(world *w, sess *cs) {
  wt_session *s = cs->s;
  CHECK_FATAL(s->state == WT_SS_SENT);
  s->state = WT_SS_OPEN;
  wt_stream *u = NULL;
  CHECK_EQ(wt_session_open_stream(s, 0, &u), 0);
  if (u) {
    sstate_new(&w->cli, u);
    CHECK_EQ(wt_stream_write(u, (const uint8_t *)"early-stream", 12, 1), 12);
  }
  CHECK_EQ(wt_session_send_datagram(s, (const uint8_t *)"early-dgram", 11), 0);
  s->state = WT_SS_SENT;
}

/* Deferred 200 after a few loop turns; what the client sent early waits
 * and arrives after session_open. */
static void test_defer_accept(void) {
  world w;
  CHECK_FATAL(world_init(&w, 0) == 0);
  g_defer_count = 0;
  wt_conn *c = connect_client(&w);
  CHECK(run_until(&w, c_handshake, NULL, 20 * SEC));
  sess *cs = open_session(&w, c, "/defer");
  CHECK_FATAL(cs != NULL);
  int one = 1;
  CHECK(run_until(&w, c_server_deferred, &one, 10 * SEC));
  sess *ss = server_sess(&w, "/defer");
  CHECK_FATAL(ss != NULL && ss->s != NULL);
  CHECK(!ss->open && !ss->closed);
  send_early(&w, cs);
  for (int i = 0; i < 20; i++) {
    step(&w, w.now + 50 * MS);
  }
  CHECK(!ss->open && !cs->open);
  CHECK(w.srv.streams == NULL); /* buffered, not announced */
  CHECK_EQ(ss->dgrams, 0);
  CHECK_EQ(wt_engine_get_stats(w.srv.e)->sessions_opened, 0);
  CHECK_EQ(wt_session_open_stream(ss->s, 0, NULL), WT_ERR_STATE);
  CHECK_EQ(wt_session_send_datagram(ss->s, (const uint8_t *)"x", 1), WT_ERR_STATE);
  CHECK_EQ(wt_session_respond(ss->s, 302), WT_ERR_INVAL);
  CHECK_EQ(wt_session_respond(ss->s, 200), 0);
  /* session_open, then the buffered stream and datagram, before it returns */
  CHECK(ss->open);
  sstate *sx = w.srv.streams;
  CHECK_FATAL(sx != NULL);
  CHECK(sx->opened_after_session);
  CHECK(sx->rx_fin && sx->rxlen == 12 && memcmp(sx->rx, "early-stream", 12) == 0);
  CHECK_EQ(ss->dgrams, 1);
  CHECK_EQ(wt_session_respond(ss->s, 200), WT_ERR_STATE);
  CHECK(run_until(&w, c_sess_settled, cs, 10 * SEC));
  CHECK(cs->open);
  /* a normal session from here on */
  CHECK_EQ(wt_session_send_datagram(ss->s, (const uint8_t *)"late", 4), 0);
  CHECK(run_until(&w, c_cli_dgram, cs, 5 * SEC));
  CHECK_EQ(cs->dgram_bytes, 4);
  close_world(&w);
  CHECK(ss->closed);
  world_free(&w);
}

/* Deferred 409: the client sees it through session_refused. */
static void test_defer_refuse(void) {
  world w;
  CHECK_FATAL(world_init(&w, 0) == 0);
  g_defer_count = 0;
  wt_conn *c = connect_client(&w);
  CHECK(run_until(&w, c_handshake, NULL, 20 * SEC));
  sess *cs = open_session(&w, c, "/defer-no");
  CHECK_FATAL(cs != NULL);
  int one = 1;
  CHECK(run_until(&w, c_server_deferred, &one, 10 * SEC));
  sess *ss = server_sess(&w, "/defer-no");
  CHECK_FATAL(ss != NULL && ss->s != NULL);
  for (int i = 0; i < 5; i++) {
    step(&w, w.now + 50 * MS);
  }
  CHECK_EQ(wt_session_respond(ss->s, 409), 0);
  CHECK(!ss->open && !ss->closed); /* no callback for our own refusal */
  CHECK(run_until(&w, c_sess_settled, cs, 10 * SEC));
  CHECK(cs->refused);
  CHECK_EQ(cs->refused_status, 409);
  CHECK_EQ(wt_engine_get_stats(w.srv.e)->sessions_refused, 1);
  /* the connection serves other sessions afterwards */
  sess *cs2 = open_session(&w, c, "/echo");
  CHECK_FATAL(cs2 != NULL);
  CHECK(run_until(&w, c_sess_settled, cs2, 10 * SEC));
  CHECK(cs2->open);
  close_world(&w);
  world_free(&w);
}

/* The engine gives up on a pending session: connection closed, CONNECT
 * stream reset, shutdown (503). session_close(clean = 0) each time. */
static void test_defer_gone(void) {
  for (int mode = 0; mode < 3; mode++) {
    world w;
    CHECK_FATAL(world_init(&w, 0) == 0);
    g_defer_count = 0;
    wt_conn *c = connect_client(&w);
    CHECK(run_until(&w, c_handshake, NULL, 20 * SEC));
    sess *cs = open_session(&w, c, "/defer");
    CHECK_FATAL(cs != NULL);
    int one = 1;
    CHECK(run_until(&w, c_server_deferred, &one, 10 * SEC));
    sess *ss = server_sess(&w, "/defer");
    CHECK_FATAL(ss != NULL && ss->s != NULL);
    if (mode == 0) {
      CHECK_EQ(wt_conn_close(c, 0x100), 0);
    } else if (mode == 1) {
      /* test-only: the client cancels its CONNECT */
      CHECK_EQ(ngtcp2_conn_shutdown_stream(c->qc, 0, cs->s->id, 0x10c), 0);
    } else {
      wt_engine_shutdown(w.srv.e, w.now);
      CHECK(ss->closed); /* answered 503 at once */
    }
    CHECK(run_until(&w, c_closed, ss, 20 * SEC));
    CHECK(ss->closed && !ss->clean && !ss->open);
    if (mode == 2) {
      CHECK(run_until(&w, c_sess_settled, cs, 10 * SEC));
      CHECK(cs->refused);
      CHECK_EQ(cs->refused_status, 503);
    }
    close_world(&w);
    world_free(&w);
  }
}

int main(void) {
  if (getenv("WT_TEST_VERBOSE")) {
    wt_log_set_level(WT_LOG_LEVEL_DEBUG);
  }
  strcpy(g_dir, "/tmp/wtcast-test-XXXXXX");
  if (mkdtemp(g_dir) == NULL) {
    return 1;
  }
  snprintf(g_cert, sizeof(g_cert), "%s/cert.pem", g_dir);
  snprintf(g_key, sizeof(g_key), "%s/key.pem", g_dir);
  if (make_cert(g_cert, g_key, g_pin) != 0) {
    fprintf(stderr, "cannot create a test certificate\n");
    return 1;
  }
  WT_RUN(test_sendbuf_ref);
  WT_RUN(test_write_ref_lossy);
  WT_RUN(test_ref_release_paths);
  WT_RUN(test_fanout);
  WT_RUN(test_datagram_ref);
  WT_RUN(test_defer_accept);
  WT_RUN(test_defer_refuse);
  WT_RUN(test_defer_gone);
  unlink(g_cert);
  unlink(g_key);
  rmdir(g_dir);
  WT_DONE();
}
