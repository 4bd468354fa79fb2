/* test_engine_ref.c: zero-copy stream writes and datagrams
 * (wt_stream_write_ref, wt_session_send_datagram_ref) and deferred answers
 * to a CONNECT (WT_SESSION_DEFER, wt_session_respond), with a client and a
 * server engine in one process on the simulated network of tests/sim
 * (wt_sim.h: virtual time, seeded loss and reordering, bounded runs), and
 * the sendbuf with interleaved owned/external chunks, and joined references
 * (many small writes of one buffer held as one entry). */
#include "wt_sim_check.h"

#include <limits.h>
#include <unistd.h>

#include "wt_conn.h" /* internal: a client stream sent before the 200 */
#include "wt_engine.h"
#include "wt_sendbuf.h"

#define MS  WT_SIM_MS
#define SEC WT_SIM_SEC

static wt_sim_certs g_certs; /* one: the server's, pinned by the client */

/* ------------------------------------------------------------ releases */

typedef struct rel {
  const uint8_t *data;
  size_t len;
  int n;             /* releases seen */
  size_t need_rx;    /* the client must have received this many bytes of ... */
  uint64_t watch_id; /* ... its peer stream with this ID first (0 bytes: no check) */
  int *counter;      /* also counted here (shared), if set */
} rel;

static wt_sim *g_world; /* for on_release's receive check */
static wt_sim_stream *cli_stream(wt_sim *w, uint64_t id);

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
    wt_sim_stream *x = cli_stream(g_world, r->watch_id);
    CHECK(x != NULL && x->rxlen >= r->need_rx);
  }
}

/* ------------------------------------------------------------ the app */

/* The server: every CONNECT gets a record with its path; /defer is
 * answered later (WT_SESSION_DEFER), anything else accepted. Everything
 * else is the harness's recording (tests/sim/wt_sim.h). */
static int g_defer_count; /* server: session_request calls that deferred */

static int hook_session_request(void *user, wt_session *s, const wt_request *req) {
  wt_sim_sess *x = wt_sim_sess_new(user, s);
  snprintf(x->path, sizeof(x->path), "%s", req->path ? req->path : "");
  if (req->path && strncmp(req->path, "/defer", 6) == 0) {
    g_defer_count++;
    /* answering inside the deferring callback is not allowed */
    CHECK_EQ(wt_session_respond(s, 200), WT_ERR_STATE);
    return WT_SESSION_DEFER;
  }
  return 200;
}

static const wt_engine_callbacks g_hooks = {.session_request = hook_session_request};

/* ------------------------------------------------------------ world */

static uint32_t g_max_dgram_queue; /* server max_datagram_queue; 0: default */
static int g_dgram_cfg;            /* the two below apply (else the defaults) */
static uint32_t g_dgram_pool_max;  /* server dgram_pool_max */
static uint64_t g_dgram_max_age;   /* server max_datagram_age_ns */

/* 10 ms each way; with loss, as much reordering (up to 4 ms of jitter). */
static int world_init(wt_sim *w, int loss_pm) {
  wt_sim_config cfg;
  wt_sim_config_default(&cfg);
  cfg.seed ^= (uint64_t)loss_pm;
  cfg.up.loss_pm = cfg.down.loss_pm = (uint32_t)loss_pm;
  cfg.up.jitter_ns = cfg.down.jitter_ns = loss_pm ? 4 * MS : 0;
  wt_sim_init(w, &cfg, &g_hooks);
  wt_engine_config sc, cc;
  wt_engine_config_default(&sc, 1);
  sc.cert_file = g_certs.cert[0];
  sc.key_file = g_certs.key[0];
  sc.stream_send_buffer = 64 * 1024; /* write_ref is not bound by it */
  if (g_max_dgram_queue) {
    sc.max_datagram_queue = g_max_dgram_queue;
  }
  if (g_dgram_cfg) {
    sc.dgram_pool_max = g_dgram_pool_max;
    sc.max_datagram_age_ns = g_dgram_max_age;
  }
  wt_engine_config_default(&cc, 0);
  cc.pin_sha256 = g_certs.pin[0];
  if (wt_sim_server_new(w, &sc) != 0 || wt_sim_client_add(w, &cc, NULL) != 0) {
    wt_sim_free(w);
    return -1;
  }
  return 0;
}

/* The newest server session for path. */
static wt_sim_sess *server_sess(wt_sim *w, const char *path) {
  for (wt_sim_sess *x = w->srv.sessions; x; x = x->next) {
    if (strcmp(x->path, path) == 0) {
      return x;
    }
  }
  return NULL;
}

/* Client side app state of the peer stream with this stream ID. */
static wt_sim_stream *cli_stream(wt_sim *w, uint64_t id) {
  for (wt_sim_stream *x = w->cli[0].streams; x; x = x->next) {
    if (x->id == id) {
      return x;
    }
  }
  return NULL;
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
static int c_rels(wt_sim *w, void *arg) {
  return rels_done(arg);
}

static int c_server_deferred(wt_sim *w, void *arg) {
  return g_defer_count >= *(int *)arg;
}

/* Handshake and one open session on path; returns the client session. */
static wt_sim_sess *setup(wt_sim *w, wt_conn **cp, const char *path) {
  wt_conn *c = wt_sim_connect(w, 0, NULL);
  CHECK(wt_sim_run_until(w, wt_sim_c_handshake, NULL, 20 * SEC));
  wt_sim_sess *cs = c ? wt_sim_open_session(w, 0, c, path, NULL) : NULL;
  if (cs) {
    CHECK(wt_sim_run_until(w, wt_sim_c_sess_settled, cs, 20 * SEC));
  }
  *cp = c;
  return cs;
}

/* ------------------------------------------------------------ tests */

/* Owned and external chunks interleaved, partial acks, drop_unsent, and the
 * release queue. */
static void test_sendbuf_ref(void) {
  static uint8_t own[6000], ext1[10000], ext2[5000], ext3[7000], out[40000];
  wt_sim_fill_pattern(own, sizeof(own), 1);
  wt_sim_fill_pattern(ext1, sizeof(ext1), 2);
  wt_sim_fill_pattern(ext2, sizeof(ext2), 3);
  wt_sim_fill_pattern(ext3, sizeof(ext3), 4);
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

  /* drop_from: keep [0, off) (sent or not), forget the rest; off below
   * sent is clamped to sent */
  wt_sendbuf_free(&b);
  rel r5 = {.data = ext3, .len = sizeof(ext3)}, r6 = {.data = ext2, .len = sizeof(ext2)};
  CHECK_EQ(wt_sendbuf_append(&b, own, 20), 0); /* a header */
  CHECK_EQ(wt_sendbuf_append_ref(&b, ext3, sizeof(ext3), on_release, &r5), 0);
  CHECK_EQ(wt_sendbuf_append_ref(&b, ext2, sizeof(ext2), on_release, &r6), 0);
  wt_sendbuf_consume(&b, 8);
  CHECK_EQ(wt_sendbuf_drop_from(&b, 4), 0 + 20 - 8 + sizeof(ext3) + sizeof(ext2)); /* = from 8 */
  CHECK_EQ(b.end, 8);
  CHECK_EQ(r5.n + r6.n, 2);
  wt_sendbuf_free(&b);
  r5.n = r6.n = 0;
  CHECK_EQ(wt_sendbuf_append(&b, own, 20), 0);
  CHECK_EQ(wt_sendbuf_append_ref(&b, ext3, sizeof(ext3), on_release, &r5), 0);
  CHECK_EQ(wt_sendbuf_append_ref(&b, ext2, sizeof(ext2), on_release, &r6), 0);
  wt_sendbuf_consume(&b, 8);
  CHECK_EQ(wt_sendbuf_drop_from(&b, 25), sizeof(ext3) - 5 + sizeof(ext2));
  CHECK_EQ(r6.n, 1); /* wholly beyond: released now */
  CHECK_EQ(r5.n, 0); /* partly kept: referenced until acknowledged */
  CHECK_EQ(wt_sendbuf_unsent(&b), 17);
  k = wt_sendbuf_peek(&b, iov, 8, SIZE_MAX);
  CHECK(k == 2 && iov[0].len == 12 && iov[1].base == ext3 && iov[1].len == 5);
  CHECK_EQ(wt_sendbuf_drop_from(&b, 1000), 0);
  wt_sendbuf_consume(&b, 17);
  wt_sendbuf_ack(&b, 25);
  CHECK_EQ(r5.n, 1);
  CHECK(b.head == NULL);

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

/* Joined references (wt_sendbuf_append_ref_join): slices that continue
 * the last external chunk (same release and arg, adjacent bytes) grow it,
 * also after it was wholly sent; one release for the joined length; no
 * join across a different arg, an owned chunk or a gap, or after a drop. */
static void test_sendbuf_join(void) {
  static uint8_t buf[4096], other[100];
  wt_sim_fill_pattern(buf, sizeof(buf), 5);
  rel r = {.data = buf, .len = 3000}, r2 = {.data = other, .len = 10};
  rel r3 = {.data = buf + 3000, .len = 10}, r4 = {.data = buf + 3010, .len = 5};
  rel r5 = {.data = buf + 3020, .len = 100};
  wt_sendbuf b;
  wt_sendbuf_init(&b);
  for (size_t i = 0; i < 2000; i++) {
    CHECK_EQ(wt_sendbuf_append_ref_join(&b, buf + i, 1, on_release, &r), i ? 1 : 0);
  }
  CHECK_EQ(wt_sendbuf_chunks(&b), 1);
  /* sent wholly, then more joins: sending resumes at the joined bytes */
  wt_iov iov[4];
  CHECK_EQ(wt_sendbuf_peek(&b, iov, 4, SIZE_MAX), 1);
  CHECK(iov[0].base == buf && iov[0].len == 2000);
  wt_sendbuf_consume(&b, 2000);
  CHECK_EQ(wt_sendbuf_peek(&b, iov, 4, SIZE_MAX), 0);
  for (size_t i = 2000; i < 3000; i++) {
    CHECK_EQ(wt_sendbuf_append_ref_join(&b, buf + i, 1, on_release, &r), 1);
  }
  CHECK_EQ(wt_sendbuf_chunks(&b), 1);
  CHECK_EQ(wt_sendbuf_peek(&b, iov, 4, SIZE_MAX), 1);
  CHECK(iov[0].base == buf + 2000 && iov[0].len == 1000);
  /* another arg, an owned chunk, a gap: new chunks */
  CHECK_EQ(wt_sendbuf_append_ref_join(&b, other, 10, on_release, &r2), 0);
  CHECK_EQ(wt_sendbuf_append_ref_join(&b, buf + 3000, 10, on_release, &r3), 0);
  CHECK_EQ(wt_sendbuf_append(&b, other, 1), 0);
  CHECK_EQ(wt_sendbuf_append_ref_join(&b, buf + 3010, 5, on_release, &r4), 0);
  CHECK_EQ(wt_sendbuf_append_ref_join(&b, buf + 3020, 100, on_release, &r5), 0); /* gap */
  CHECK_EQ(wt_sendbuf_chunks(&b), 6);
  CHECK_EQ(wt_sendbuf_unsent(&b), 1000 + 10 + 10 + 1 + 5 + 100);
  wt_sendbuf_consume(&b, 1000 + 10 + 10 + 1 + 5 + 50);
  /* after a drop the partly sent chunk is cut: nothing joins it */
  CHECK_EQ(wt_sendbuf_drop_unsent(&b), 50);
  CHECK_EQ(wt_sendbuf_append_ref_join(&b, buf + 3070, 50, on_release, &r5), 0);
  CHECK_EQ(r5.n, 0);
  wt_sendbuf_ack(&b, 2999);
  CHECK_EQ(r.n, 0);
  wt_sendbuf_ack(&b, 1);
  CHECK_EQ(r.n, 1); /* once, with data = buf and len = 3000 (checked in on_release) */
  wt_sendbuf_ack(&b, 10 + 10 + 1 + 5 + 50);
  CHECK_EQ(r2.n + r3.n + r4.n, 3);
  CHECK_EQ(wt_sendbuf_chunks(&b), 1); /* the one added after the drop */
  r5.len = 50;
  r5.data = buf + 3070;
  r5.n = 0;
  wt_sendbuf_free(&b);
  CHECK_EQ(r5.n, 1);
  CHECK_EQ(wt_sendbuf_chunks(&b), 0);
}

/* Over a lossy link: 20000 one-byte writes of one buffer joined on an
 * engine stream hold one entry, arrive intact and are released once, with
 * their total length, after the peer has them all. */
static void test_write_ref_join_lossy(void) {
  wt_sim w;
  CHECK_FATAL(world_init(&w, 30) == 0);
  g_world = &w;
  wt_conn *c;
  wt_sim_sess *cs = setup(&w, &c, "/echo");
  CHECK_FATAL(cs != NULL && cs->open);
  wt_sim_sess *ss = server_sess(&w, "/echo");
  CHECK_FATAL(ss != NULL && ss->open);
  wt_stream *st = NULL;
  CHECK_EQ(wt_session_open_stream(ss->s, 0, &st), 0);
  CHECK_FATAL(st != NULL);
  wt_sim_stream_new(&w.srv, st, 1);
  enum { N = 20000 };
  static uint8_t buf[N];
  wt_sim_fill_pattern(buf, N, 11);
  rel r = {.data = buf, .len = N, .need_rx = N, .watch_id = wt_stream_id(st)};
  size_t joined = 0;
  for (size_t i = 0; i < N; i++) {
    int j = -1;
    CHECK_EQ(wt_stream_write_ref_join(st, buf + i, 1, i == N - 1, on_release, &r, &j), 1);
    joined += j == 1;
    if (i % 1000 == 999) {
      wt_sim_run_until(&w, NULL, NULL, 2 * MS); /* some go out between writes */
    }
  }
  CHECK_EQ(joined, N - 1);
  CHECK(wt_stream_send_chunks(st) <= 2); /* the WT stream header and the joined bytes */
  rels all = {&r, 1, 1};
  CHECK(wt_sim_run_until(&w, c_rels, &all, 300 * SEC));
  wt_sim_stream *cx = cli_stream(&w, r.watch_id);
  CHECK_FATAL(cx != NULL);
  CHECK(cx->rxlen == N && memcmp(cx->rx, buf, N) == 0);
  CHECK_EQ(r.n, 1);
  CHECK(wt_sim_close_all(&w, 60 * SEC));
  wt_sim_free(&w);
  g_world = NULL;
  CHECK_EQ(r.n, 1);
}

/* 1 MB in 16 referenced chunks over a lossy link: intact, each chunk
 * released once, after the peer has it. */
static void test_write_ref_lossy(void) {
  wt_sim w;
  CHECK_FATAL(world_init(&w, 30) == 0);
  g_world = &w;
  wt_conn *c;
  wt_sim_sess *cs = setup(&w, &c, "/echo");
  CHECK_FATAL(cs != NULL && cs->open);
  wt_sim_sess *ss = server_sess(&w, "/echo");
  CHECK_FATAL(ss != NULL && ss->open);
  wt_stream *st = NULL;
  CHECK_EQ(wt_session_open_stream(ss->s, 0, &st), 0);
  CHECK_FATAL(st != NULL);
  wt_sim_stream *sx = wt_sim_stream_new(&w.srv, st, 1);
  enum { N = 16 };
  size_t big = 1u << 20, chunk = big / N;
  uint8_t *buf = malloc(big);
  wt_sim_fill_pattern(buf, big, 9);
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
  CHECK(wt_sim_run_until(&w, c_rels, &all, 300 * SEC));
  wt_sim_run_until(&w, NULL, NULL, 2 * SEC);
  wt_sim_stream *cx = cli_stream(&w, r[0].watch_id);
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
  CHECK(wt_sim_close_all(&w, 60 * SEC));
  wt_sim_free(&w);
  g_world = NULL;
  for (int i = 0; i < N; i++) {
    CHECK_EQ(r[i].n, 1);
  }
  free(buf);
}

static int c_count(wt_sim *w, void *arg) {
  const int *v = arg; /* {counter pointer is v[0]'s address, target v[1]} */
  return v[0] >= v[1];
}

/* Releases on stream reset, session close (stream + datagram) and engine
 * free. */
static void test_ref_release_paths(void) {
  wt_sim w;
  CHECK_FATAL(world_init(&w, 0) == 0);
  wt_conn *c;
  wt_sim_sess *cs1 = setup(&w, &c, "/one");
  CHECK_FATAL(cs1 != NULL && cs1->open);
  wt_sim_sess *cs2 = wt_sim_open_session(&w, 0, c, "/two", NULL);
  CHECK_FATAL(cs2 != NULL);
  CHECK(wt_sim_run_until(&w, wt_sim_c_sess_settled, cs2, 20 * SEC));
  wt_sim_sess *ss1 = server_sess(&w, "/one"), *ss2 = server_sess(&w, "/two");
  CHECK_FATAL(ss1 && ss2 && ss1->open && ss2->open);
  size_t blen = 400000, part = 100000;
  uint8_t *buf = malloc(blen);
  wt_sim_fill_pattern(buf, blen, 5);

  /* reset: the unsent chunks go with the next engine call, the one in
   * flight once the stream is gone */
  int cnt[2] = {0, 4};
  rel ra[4];
  memset(ra, 0, sizeof(ra));
  wt_stream *a = NULL;
  CHECK_EQ(wt_session_open_stream(ss1->s, 0, &a), 0);
  CHECK_FATAL(a != NULL);
  wt_sim_stream_new(&w.srv, a, 1);
  for (int i = 0; i < 4; i++) {
    ra[i] = (rel){buf + i * part, part, 0, 0, 0, &cnt[0]};
    CHECK_EQ(wt_stream_write_ref(a, buf + i * part, part, 0, on_release, &ra[i]), (int)part);
  }
  wt_sim_flush(&w, &w.srv); /* the first packets (part of chunk 0) are in flight */
  CHECK(wt_stream_send_backlog(a) == 4 * part);
  CHECK_EQ(wt_stream_reset(a, 7), 0);
  CHECK_EQ(cnt[0], 0); /* never from inside the command */
  rel dummy = {.data = buf, .len = 10};
  CHECK_EQ(wt_stream_write_ref(a, buf, 10, 0, on_release, &dummy), WT_ERR_CLOSED);
  wt_sim_flush(&w, &w.srv);
  CHECK_EQ(cnt[0], 3);
  CHECK(wt_stream_send_backlog(a) < part);
  CHECK(wt_sim_run_until(&w, c_count, cnt, 20 * SEC));
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
  wt_sim_stream_new(&w.srv, b, 1);
  for (int i = 0; i < 4; i++) {
    rb[i] = (rel){buf + i * part, part, 0, 0, 0, &cntb[0]};
    CHECK_EQ(wt_stream_write_ref(b, buf + i * part, part, i == 3, on_release, &rb[i]), (int)part);
  }
  wt_sim_flush(&w, &w.srv);
  CHECK_EQ(wt_session_send_datagram_ref(ss1->s, buf, 100, on_release, &rd), 0);
  uint64_t dropped = wt_engine_get_stats(w.srv.e)->datagrams_dropped;
  CHECK_EQ(wt_session_close(ss1->s, 0, NULL, 0), 0);
  CHECK_EQ(cntb[0], 0);
  CHECK_EQ(wt_engine_get_stats(w.srv.e)->datagrams_dropped, dropped + 1);
  CHECK(wt_sim_run_until(&w, c_count, cntb, 20 * SEC));
  CHECK_EQ(rd.n, 1);
  for (int i = 0; i < 4; i++) {
    CHECK_EQ(rb[i].n, 1);
  }
  CHECK(wt_sim_run_until(&w, wt_sim_c_sess_closed, cs1, 10 * SEC));

  /* engine free: everything still held goes back */
  int cntc[2] = {0, 5};
  rel rc[4], rdf = {buf + 1000, 200, 0, 0, 0, &cntc[0]};
  wt_stream *d = NULL;
  CHECK_EQ(wt_session_open_stream(ss2->s, 0, &d), 0);
  CHECK_FATAL(d != NULL);
  wt_sim_stream_new(&w.srv, d, 1);
  for (int i = 0; i < 4; i++) {
    rc[i] = (rel){buf + i * part, part, 0, 0, 0, &cntc[0]};
    CHECK_EQ(wt_stream_write_ref(d, buf + i * part, part, 0, on_release, &rc[i]), (int)part);
  }
  wt_sim_flush(&w, &w.srv);
  CHECK_EQ(wt_session_send_datagram_ref(ss2->s, buf + 1000, 200, on_release, &rdf), 0);
  /* len 0 + fin: like wt_stream_write; the reference still comes back */
  rel rz = {buf, 0, 0, 0, 0, &cntc[0]};
  cntc[1]++;
  CHECK_EQ(wt_stream_write_ref(d, buf, 0, 1, on_release, &rz), 0);
  CHECK_EQ(cntc[0], 0);
  wt_sim_free(&w);
  CHECK_EQ(cntc[0], cntc[1]);
  for (int i = 0; i < 4; i++) {
    CHECK_EQ(rc[i].n, 1);
  }
  CHECK_EQ(rdf.n, 1);
  CHECK_EQ(rz.n, 1);
  free(buf);
}

static int c_fanout(wt_sim *w, void *arg) {
  const rels *x = arg;
  if (!rels_done(x)) {
    return 0;
  }
  int fins = 0;
  for (wt_sim_stream *s = w->cli[0].streams; s; s = s->next) {
    fins += s->rx_fin;
  }
  return fins >= 3;
}

/* One buffer written to three sessions: intact everywhere, each chunk
 * released three times. */
static void test_fanout(void) {
  wt_sim w;
  CHECK_FATAL(world_init(&w, 10) == 0);
  wt_conn *c;
  static const char *paths[3] = {"/f0", "/f1", "/f2"};
  wt_sim_sess *cs[3];
  cs[0] = setup(&w, &c, paths[0]);
  CHECK_FATAL(cs[0] != NULL && cs[0]->open);
  for (int i = 1; i < 3; i++) {
    cs[i] = wt_sim_open_session(&w, 0, c, paths[i], NULL);
    CHECK_FATAL(cs[i] != NULL);
    CHECK(wt_sim_run_until(&w, wt_sim_c_sess_settled, cs[i], 20 * SEC));
    CHECK_FATAL(cs[i]->open);
  }
  enum { K = 6 };
  size_t part = 50000, total = K * part;
  uint8_t *buf = malloc(total);
  wt_sim_fill_pattern(buf, total, 11);
  rel r[K];
  memset(r, 0, sizeof(r));
  for (int k = 0; k < K; k++) {
    r[k].data = buf + k * part;
    r[k].len = part;
  }
  for (int i = 0; i < 3; i++) {
    wt_sim_sess *ss = server_sess(&w, paths[i]);
    CHECK_FATAL(ss != NULL && ss->open);
    wt_stream *st = NULL;
    CHECK_EQ(wt_session_open_stream(ss->s, 0, &st), 0);
    CHECK_FATAL(st != NULL);
    wt_sim_stream_new(&w.srv, st, 1);
    for (int k = 0; k < K; k++) {
      CHECK_EQ(wt_stream_write_ref(st, buf + k * part, part, k == K - 1, on_release, &r[k]),
               (int)part);
    }
  }
  rels all = {r, K, 3};
  CHECK(wt_sim_run_until(&w, c_fanout, &all, 300 * SEC));
  int ok = 0;
  for (wt_sim_stream *x = w.cli[0].streams; x; x = x->next) {
    ok += x->rx_fin && x->rxlen == total && memcmp(x->rx, buf, total) == 0;
  }
  CHECK_EQ(ok, 3);
  CHECK(wt_sim_close_all(&w, 60 * SEC));
  wt_sim_free(&w);
  for (int k = 0; k < K; k++) {
    CHECK_EQ(r[k].n, 3);
  }
  free(buf);
}

static int c_cli_dgrams(wt_sim *w, void *arg) {
  const wt_sim_sess *x = arg;
  return x->dgrams >= 4;
}

static int c_cli_dgram(wt_sim *w, void *arg) {
  const wt_sim_sess *x = arg;
  return x->dgrams >= 1;
}

/* Referenced datagrams: released once written; errors keep the buffer;
 * queue full counted as dropped; purge on session close releases. */
static void test_datagram_ref(void) {
  wt_sim w;
  g_max_dgram_queue = 4;
  int rv = world_init(&w, 0);
  g_max_dgram_queue = 0;
  CHECK_FATAL(rv == 0);
  wt_conn *c;
  wt_sim_sess *cs = setup(&w, &c, "/dg");
  CHECK_FATAL(cs != NULL && cs->open);
  wt_sim_sess *ss = server_sess(&w, "/dg");
  CHECK_FATAL(ss != NULL && ss->open);
  static uint8_t d[8][100], huge[70000];
  rel r[8];
  for (int i = 0; i < 8; i++) {
    wt_sim_fill_pattern(d[i], sizeof(d[i]), (uint32_t)i);
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
  wt_sim_flush(&w, &w.srv);
  for (int i = 0; i < 4; i++) {
    CHECK_EQ(r[i].n, 1);
  }
  CHECK_EQ(r[4].n, 0);
  CHECK_EQ(rh.n, 0);
  CHECK_EQ(st->datagrams_out, out0 + 4);
  CHECK(wt_sim_run_until(&w, c_cli_dgrams, cs, 5 * SEC));
  CHECK_EQ(cs->dgram_bytes, 400);
  /* purged when the session closes: released, counted as dropped */
  drop0 = st->datagrams_dropped;
  CHECK_EQ(wt_session_send_datagram_ref(ss->s, d[5], 100, on_release, &r[5]), 0);
  rel rz = {.data = d[6], .len = 0};
  CHECK_EQ(wt_session_send_datagram_ref(ss->s, d[6], 0, on_release, &rz), 0);
  CHECK_EQ(wt_session_close(ss->s, 1, NULL, 0), 0);
  CHECK_EQ(st->datagrams_dropped, drop0 + 2);
  CHECK_EQ(r[5].n + rz.n, 0);
  wt_sim_flush(&w, &w.srv);
  CHECK_EQ(r[5].n, 1);
  CHECK_EQ(rz.n, 1);
  CHECK(wt_sim_close_all(&w, 60 * SEC));
  wt_sim_free(&w);
  for (int i = 0; i < 8; i++) {
    CHECK_EQ(r[i].n, i < 4 || i == 5 ? 1 : 0);
  }
}

/* arg: {the client session, the datagram count it must reach} */
static int c_cli_dgrams_n(wt_sim *w, void *arg) {
  void **a = arg;
  return ((const wt_sim_sess *)a[0])->dgrams >= *(const int *)a[1];
}

/* Referenced datagram nodes come from the engine's pool and go back to it
 * once released (the next ones reuse them: no growth); beyond the pool's
 * bound they are malloc'd and still released. */
static void test_datagram_pool(void) {
  wt_sim w;
  g_dgram_cfg = 1;
  g_dgram_pool_max = 4;
  g_dgram_max_age = 0;
  int rv = world_init(&w, 0);
  g_dgram_cfg = 0;
  CHECK_FATAL(rv == 0);
  wt_conn *c;
  wt_sim_sess *cs = setup(&w, &c, "/dg");
  CHECK_FATAL(cs != NULL && cs->open);
  wt_sim_sess *ss = server_sess(&w, "/dg");
  CHECK_FATAL(ss != NULL && ss->open);
  static uint8_t d[6][100];
  rel r[3][6];
  const wt_engine_stats *st = wt_engine_get_stats(w.srv.e);
  wt_pool_stats ps;
  size_t allocated = 0;
  int want = 0;
  for (int round = 0; round < 3; round++) {
    uint64_t pooled0 = st->dgram_nodes_pooled, malloced0 = st->dgram_nodes_malloced;
    int n = round < 2 ? 4 : 6; /* the third round goes beyond the bound */
    for (int i = 0; i < n; i++) {
      r[round][i] = (rel){.data = d[i], .len = sizeof(d[i])};
      CHECK_EQ(wt_session_send_datagram_ref(ss->s, d[i], 100, on_release, &r[round][i]), 0);
    }
    wt_pool_get_stats(&w.srv.e->dgram_pool, &ps);
    CHECK_EQ(ps.in_use, 4);
    CHECK_EQ(st->dgram_nodes_pooled, pooled0 + 4);
    CHECK_EQ(st->dgram_nodes_malloced, malloced0 + (uint64_t)(n - 4));
    if (round == 0) {
      allocated = ps.allocated;
    }
    CHECK_EQ(ps.allocated, allocated); /* reused, not grown */
    wt_sim_flush(&w, &w.srv);
    for (int i = 0; i < n; i++) {
      CHECK_EQ(r[round][i].n, 1);
    }
    wt_pool_get_stats(&w.srv.e->dgram_pool, &ps);
    CHECK_EQ(ps.in_use, 0);
    CHECK(ps.high_water <= 4);
    want += n;
    void *args[2] = {cs, &want};
    CHECK(wt_sim_run_until(&w, c_cli_dgrams_n, args, 5 * SEC));
  }
  CHECK_EQ(cs->dgram_bytes, 100 * 14);
  CHECK(wt_sim_close_all(&w, 60 * SEC));
  wt_sim_free(&w);
}

/* max_datagram_age_ns: datagrams that waited longer than the bound in the
 * queue are dropped (released, counted as expired) when their turn comes;
 * younger ones are sent. Virtual time: the engine's clock is the sim's. */
static void test_datagram_age(void) {
  wt_sim w;
  g_dgram_cfg = 1;
  g_dgram_pool_max = 64;
  g_dgram_max_age = 50 * MS;
  int rv = world_init(&w, 0);
  g_dgram_cfg = 0;
  CHECK_FATAL(rv == 0);
  wt_conn *c;
  wt_sim_sess *cs = setup(&w, &c, "/dg");
  CHECK_FATAL(cs != NULL && cs->open);
  wt_sim_sess *ss = server_sess(&w, "/dg");
  CHECK_FATAL(ss != NULL && ss->open);
  static uint8_t d[4][100];
  rel r[4];
  for (int i = 0; i < 4; i++) {
    wt_sim_fill_pattern(d[i], sizeof(d[i]), (uint32_t)i);
    r[i] = (rel){.data = d[i], .len = sizeof(d[i])};
  }
  const wt_engine_stats *st = wt_engine_get_stats(w.srv.e);
  uint64_t out0 = st->datagrams_out, drop0 = st->datagrams_dropped;
  CHECK_EQ(st->datagrams_expired, 0);
  wt_engine_set_now(w.srv.e, w.now);
  CHECK_EQ(wt_session_send_datagram_ref(ss->s, d[0], 100, on_release, &r[0]), 0);
  CHECK_EQ(wt_session_send_datagram_ref(ss->s, d[1], 100, on_release, &r[1]), 0);
  /* 40 ms later: still within the bound */
  w.now += 40 * MS;
  wt_engine_set_now(w.srv.e, w.now);
  CHECK_EQ(wt_session_send_datagram_ref(ss->s, d[2], 100, on_release, &r[2]), 0);
  /* 80 ms after the first two, 40 ms after the third: the first two are
   * past the bound and dropped, the third goes out */
  w.now += 40 * MS;
  wt_engine_set_now(w.srv.e, w.now);
  CHECK_EQ(wt_session_send_datagram_ref(ss->s, d[3], 100, on_release, &r[3]), 0);
  wt_sim_flush(&w, &w.srv);
  for (int i = 0; i < 4; i++) {
    CHECK_EQ(r[i].n, 1);
  }
  CHECK_EQ(st->datagrams_expired, 2);
  CHECK_EQ(st->datagrams_dropped, drop0 + 2);
  CHECK_EQ(st->datagrams_out, out0 + 2);
  int want = 2;
  void *args[2] = {cs, &want};
  CHECK(wt_sim_run_until(&w, c_cli_dgrams_n, args, 5 * SEC));
  wt_sim_run_until(&w, NULL, NULL, 100 * MS); /* nothing more arrives */
  CHECK_EQ(cs->dgrams, 2);
  CHECK_EQ(cs->dgram_bytes, 200);
  /* an engine time that goes backwards changes nothing */
  uint64_t t = w.now;
  wt_engine_set_now(w.srv.e, t - 10 * MS);
  CHECK_EQ(wt_session_send_datagram_ref(ss->s, d[0], 100, on_release, &r[0]), 0);
  wt_sim_flush(&w, &w.srv);
  CHECK_EQ(r[0].n, 2);
  CHECK_EQ(st->datagrams_expired, 2);
  CHECK(wt_sim_close_all(&w, 60 * SEC));
  wt_sim_free(&w);
}

/* Client side: a stream and a datagram for a session whose CONNECT is sent
 * but not answered (test-only: the client API needs an open session). */
static void send_early(wt_sim *w, wt_sim_sess *cs) {
  wt_session *s = cs->s;
  CHECK_FATAL(s->state == WT_SS_SENT);
  s->state = WT_SS_OPEN;
  wt_stream *u = NULL;
  CHECK_EQ(wt_session_open_stream(s, 0, &u), 0);
  if (u) {
    wt_sim_stream_new(&w->cli[0], u, 1);
    CHECK_EQ(wt_stream_write(u, (const uint8_t *)"early-stream", 12, 1), 12);
  }
  CHECK_EQ(wt_session_send_datagram(s, (const uint8_t *)"early-dgram", 11), 0);
  s->state = WT_SS_SENT;
}

static int c_srv_buffered_rejected(wt_sim *w, void *arg) {
  (void)arg;
  return wt_engine_get_stats(w->srv.e)->buffered_rejected > 0;
}

static int c_srv_buffered_expired(wt_sim *w, void *arg) {
  (void)arg;
  return wt_engine_get_stats(w->srv.e)->buffered_expired > 0;
}

/* A stream for a session the client never requested (no CONNECT): the
 * server buffers it, then rejects it after buffered_timeout_ns (3 s) with
 * BUFFERED_STREAM_REJECTED; a stream past max_buffered_bytes is rejected
 * at once (docs/protocol.md section 4). */
static void test_buffered_expiry(void) {
  wt_sim w;
  CHECK_FATAL(world_init(&w, 0) == 0);
  wt_conn *c = wt_sim_connect(&w, 0, NULL);
  CHECK(wt_sim_run_until(&w, wt_sim_c_handshake, NULL, 20 * SEC));
  wt_sim_sess *cs = wt_sim_open_session(&w, 0, c, "/echo", NULL);
  CHECK_FATAL(cs != NULL);
  CHECK(wt_sim_run_until(&w, wt_sim_c_sess_settled, cs, 10 * SEC));
  CHECK_FATAL(cs->open);
  /* test-only: streams whose header names session 400, never requested */
  wt_session *s = cs->s;
  int64_t real_id = s->id;
  s->id = 400;
  wt_stream *u = NULL, *big = NULL;
  CHECK_EQ(wt_session_open_stream(s, 0, &u), 0);
  CHECK_EQ(wt_session_open_stream(s, 0, &big), 0);
  s->id = real_id;
  CHECK_FATAL(u != NULL && big != NULL);
  wt_sim_stream *ux = wt_sim_stream_new(&w.cli[0], u, 1);
  wt_sim_stream *bx = wt_sim_stream_new(&w.cli[0], big, 1);
  CHECK_EQ(wt_stream_write(u, (const uint8_t *)"early", 5, 0), 5);
  bx->txlen = bx->txcap = 700 * 1024; /* 1 KiB doubles to 1 MiB capacity: past the cap */
  bx->tx = calloc(1, bx->txcap);
  wt_sim_stream_flush(bx);
  const wt_engine_stats *st = wt_engine_get_stats(w.srv.e);
  uint64_t t0 = w.now;
  CHECK(wt_sim_run_until(&w, c_srv_buffered_rejected, NULL, 2 * SEC));
  CHECK_EQ(st->buffered_rejected, 1); /* the big one, past 1 MiB of buffers */
  CHECK_EQ(st->buffered_expired, 0);
  CHECK(wt_sim_run_until(&w, c_srv_buffered_expired, NULL, 10 * SEC));
  CHECK_EQ(st->buffered_expired, 1);
  CHECK(w.now - t0 >= 3 * SEC);
  CHECK(w.now - t0 < 4 * SEC);
  /* the client learns: its stream is stopped (BUFFERED_STREAM_REJECTED) */
  wt_sim_run_until(&w, NULL, NULL, 500 * MS);
  CHECK(ux->stopped);
  CHECK(bx->stopped);
  /* the real session is untouched */
  CHECK(cs->open && !cs->closed);
  CHECK(wt_sim_close_all(&w, 60 * SEC));
  wt_sim_free(&w);
}

/* Deferred 200 after a few loop turns; what the client sent early waits
 * and arrives after session_open. */
static void test_defer_accept(void) {
  wt_sim w;
  CHECK_FATAL(world_init(&w, 0) == 0);
  g_defer_count = 0;
  wt_conn *c = wt_sim_connect(&w, 0, NULL);
  CHECK(wt_sim_run_until(&w, wt_sim_c_handshake, NULL, 20 * SEC));
  wt_sim_sess *cs = wt_sim_open_session(&w, 0, c, "/defer", NULL);
  CHECK_FATAL(cs != NULL);
  int one = 1;
  CHECK(wt_sim_run_until(&w, c_server_deferred, &one, 10 * SEC));
  wt_sim_sess *ss = server_sess(&w, "/defer");
  CHECK_FATAL(ss != NULL && ss->s != NULL);
  CHECK(!ss->open && !ss->closed);
  send_early(&w, cs);
  for (int i = 0; i < 20; i++) {
    wt_sim_step(&w, w.now + 50 * MS);
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
  wt_sim_stream *sx = w.srv.streams;
  CHECK_FATAL(sx != NULL);
  CHECK(sx->opened_after_session);
  CHECK(sx->rx_fin && sx->rxlen == 12 && memcmp(sx->rx, "early-stream", 12) == 0);
  CHECK_EQ(ss->dgrams, 1);
  CHECK_EQ(wt_session_respond(ss->s, 200), WT_ERR_STATE);
  CHECK(wt_sim_run_until(&w, wt_sim_c_sess_settled, cs, 10 * SEC));
  CHECK(cs->open);
  /* a normal session from here on */
  CHECK_EQ(wt_session_send_datagram(ss->s, (const uint8_t *)"late", 4), 0);
  CHECK(wt_sim_run_until(&w, c_cli_dgram, cs, 5 * SEC));
  CHECK_EQ(cs->dgram_bytes, 4);
  CHECK(wt_sim_close_all(&w, 60 * SEC));
  CHECK(ss->closed);
  wt_sim_free(&w);
}

/* Deferred 409: the client sees it through session_refused. */
static void test_defer_refuse(void) {
  wt_sim w;
  CHECK_FATAL(world_init(&w, 0) == 0);
  g_defer_count = 0;
  wt_conn *c = wt_sim_connect(&w, 0, NULL);
  CHECK(wt_sim_run_until(&w, wt_sim_c_handshake, NULL, 20 * SEC));
  wt_sim_sess *cs = wt_sim_open_session(&w, 0, c, "/defer-no", NULL);
  CHECK_FATAL(cs != NULL);
  int one = 1;
  CHECK(wt_sim_run_until(&w, c_server_deferred, &one, 10 * SEC));
  wt_sim_sess *ss = server_sess(&w, "/defer-no");
  CHECK_FATAL(ss != NULL && ss->s != NULL);
  for (int i = 0; i < 5; i++) {
    wt_sim_step(&w, w.now + 50 * MS);
  }
  CHECK_EQ(wt_session_respond(ss->s, 409), 0);
  CHECK(!ss->open && !ss->closed); /* no callback for our own refusal */
  CHECK(wt_sim_run_until(&w, wt_sim_c_sess_settled, cs, 10 * SEC));
  CHECK(cs->refused);
  CHECK_EQ(cs->refused_status, 409);
  CHECK_EQ(wt_engine_get_stats(w.srv.e)->sessions_refused, 1);
  /* the connection serves other sessions afterwards */
  wt_sim_sess *cs2 = wt_sim_open_session(&w, 0, c, "/echo", NULL);
  CHECK_FATAL(cs2 != NULL);
  CHECK(wt_sim_run_until(&w, wt_sim_c_sess_settled, cs2, 10 * SEC));
  CHECK(cs2->open);
  CHECK(wt_sim_close_all(&w, 60 * SEC));
  wt_sim_free(&w);
}

/* The engine gives up on a pending session: connection closed, CONNECT
 * stream reset, shutdown (503). session_close(clean = 0) each time. */
static void test_defer_gone(void) {
  for (int mode = 0; mode < 3; mode++) {
    wt_sim w;
    CHECK_FATAL(world_init(&w, 0) == 0);
    g_defer_count = 0;
    wt_conn *c = wt_sim_connect(&w, 0, NULL);
    CHECK(wt_sim_run_until(&w, wt_sim_c_handshake, NULL, 20 * SEC));
    wt_sim_sess *cs = wt_sim_open_session(&w, 0, c, "/defer", NULL);
    CHECK_FATAL(cs != NULL);
    int one = 1;
    CHECK(wt_sim_run_until(&w, c_server_deferred, &one, 10 * SEC));
    wt_sim_sess *ss = server_sess(&w, "/defer");
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
    CHECK(wt_sim_run_until(&w, wt_sim_c_sess_closed, ss, 20 * SEC));
    CHECK(ss->closed && !ss->clean && !ss->open);
    if (mode == 2) {
      CHECK(wt_sim_run_until(&w, wt_sim_c_sess_settled, cs, 10 * SEC));
      CHECK(cs->refused);
      CHECK_EQ(cs->refused_status, 503);
    }
    CHECK(wt_sim_close_all(&w, 60 * SEC));
    wt_sim_free(&w);
  }
}

int main(void) {
  if (wt_sim_test_init(&g_certs, 1) != 0) {
    return 1;
  }
  WT_RUN(test_sendbuf_ref);
  WT_RUN(test_write_ref_lossy);
  WT_RUN(test_sendbuf_join);
  WT_RUN(test_write_ref_join_lossy);
  WT_RUN(test_ref_release_paths);
  WT_RUN(test_fanout);
  WT_RUN(test_datagram_ref);
  WT_RUN(test_datagram_pool);
  WT_RUN(test_datagram_age);
  WT_RUN(test_buffered_expiry);
  WT_RUN(test_defer_accept);
  WT_RUN(test_defer_refuse);
  WT_RUN(test_defer_gone);
  wt_sim_certs_remove(&g_certs);
  WT_DONE();
}
