/* test_app_ctx.c: an application worker's dispatcher (shards/wt_app_ctx.h)
 * driven from the shard's side of a link on one thread: the per-stream send
 * credit and how it grows with the connection's window; and that every
 * message kind (wt_msg.h) has its handler on the side it is sent to.
 *
 * The test plays the shard: it posts events (a session, peer bidi streams,
 * credit with the window hint) into the link and reads the worker's commands
 * back (WRITE commands carry buffer references, dropped here); small writes
 * share the stream's tail buffer (slices of one buffer, not one each); the
 * relay's late-join cache keeps one slice per buffer and counts capacity. Also: the
 * request's fields and offered protocols reach session_request, and the
 * answer (WT_CMD_RESPOND) carries the protocol chosen by the app or by the
 * server's preference list, and the app's response fields. */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "app_link.h"
#include "check.h"
#include "wt_app.h"
#include "wt_app_ctx.h"
#include "wt_apps.h"
#include "wt_bridge.h"
#include "wt_buf.h"
#include "wt_error.h"
#include "wt_link.h"
#include "wt_timer.h"

#define MIB (1u << 20)

/* ------------------------------------------------------------------ the app */

typedef struct tapp {
  wt_app_session *as;
  wt_app_stream *st[4];
  int nst;
  int writable[4];
  /* protocol negotiation: what session_request does and saw */
  int mode;    /* 0 accept; 1 choose "x"; 2 choose none; 3 refuse 429 with retry-after;
                  4 accept, to be closed 5 ms later (wt_app_session_expire_after) */
  int expired; /* the expiry callback ran */
  int rv_bad, rv_hdr, rv_bad_hdr, rv_reserved;
  size_t n_headers, n_protocols;
  char first_header[64], last_protocol[32];
} tapp;

static tapp g_app;

static void t_expired(void *arg, wt_app_session *as) {
  CHECK(arg == &g_app && as == g_app.as);
  g_app.expired++;
}

static int t_request(wt_app_session *as, const wt_app_request *req) {
  g_app.as = as;
  g_app.n_headers = req->n_headers;
  g_app.n_protocols = req->n_protocols;
  if (req->n_headers) {
    snprintf(g_app.first_header, sizeof(g_app.first_header), "%s: %s", req->headers[0].name,
             req->headers[0].value);
  }
  if (req->n_protocols) {
    snprintf(g_app.last_protocol, sizeof(g_app.last_protocol), "%s",
             req->protocols[req->n_protocols - 1]);
  }
  g_app.rv_bad = wt_app_session_set_protocol(as, "not-offered");
  g_app.rv_bad_hdr = wt_app_session_add_header(as, "x-bad", "a\nb");
  g_app.rv_reserved = wt_app_session_add_header(as, "wt-protocol", "\"x\"");
  g_app.rv_hdr = wt_app_session_add_header(as, "x-app", "yes");
  if (g_app.mode == 1) {
    CHECK_EQ(wt_app_session_set_protocol(as, "x"), 0);
  } else if (g_app.mode == 2) {
    CHECK_EQ(wt_app_session_set_protocol(as, NULL), 0);
  } else if (g_app.mode == 4) {
    CHECK_EQ(wt_app_session_expire_after(as, 9000000, 0x14, "later", NULL, NULL), 0);
    CHECK_EQ(wt_app_session_expire_after(as, 5000000, 0x14, "token expired", t_expired, &g_app), 0);
    CHECK_EQ(wt_app_session_expire_after(as, 7000000, 0x15, "ignored", NULL, NULL), 0);
  } else if (g_app.mode == 3) {
    CHECK_EQ(wt_app_session_add_header(as, "retry-after", "5"), 0);
    return 429;
  }
  return 200;
}

static void t_stream_open(wt_app_stream *st) {
  if (g_app.nst < 4) {
    wt_app_stream_set_user(st, (void *)(intptr_t)g_app.nst);
    g_app.st[g_app.nst++] = st;
  }
}

static void t_stream_writable(wt_app_stream *st) {
  g_app.writable[(intptr_t)wt_app_stream_get_user(st)]++;
}

static void t_stream_close(wt_app_stream *st) {
  g_app.st[(intptr_t)wt_app_stream_get_user(st)] = NULL;
}

static const wt_app_ops t_ops = {.name = "t",
                                 .session_request = t_request,
                                 .stream_open = t_stream_open,
                                 .stream_writable = t_stream_writable,
                                 .stream_close = t_stream_close};

/* ------------------------------------------------------------------ the harness */

typedef struct harness {
  wt_test_link t;   /* the worker on its link (app_link.h) */
  uint64_t written; /* bytes in WRITE commands seen */
  /* the last WT_CMD_RESPOND: status, fields, buffer (protocol \0 fields) */
  uint32_t status, resp_headers;
  int closes;          /* WT_CMD_CLOSE seen */
  uint32_t close_code; /* the last one's code and reason */
  char close_reason[64];
  char resp[256];
  size_t resp_len;
} harness;

static const char *const *g_protocols; /* the server's, for h_open */
static size_t g_n_protocols;

static int routes(void *arg, wt_app_router *r) {
  (void)arg;
  return wt_app_router_add(r, "/t", &t_ops, NULL);
}

static int h_open(harness *h, uint32_t credit, uint32_t credit_max) {
  memset(h, 0, sizeof(*h));
  memset(&g_app, 0, sizeof(g_app));
  wt_app_ctx_config c = {.stream_credit = credit,
                         .stream_credit_max = credit_max,
                         .protocols = g_protocols,
                         .n_protocols = g_n_protocols};
  return app_link_open(&h->t, 256, 256, routes, NULL, c);
}

/* Post one event and let the worker handle everything queued. */
static void h_event(harness *h, const wt_msg *m) {
  app_link_event(&h->t, m);
  wt_app_ctx_flush(h->t.ctx);
}

/* Read the worker's commands; count the bytes written, drop what they
 * hold. */
static void h_drain(harness *h) {
  wt_msg m[64];
  uint32_t n;
  while ((n = wt_lring_poll(&h->t.link->cmd, m, 64)) > 0) {
    for (uint32_t i = 0; i < n; i++) {
      if (m[i].kind == WT_CMD_WRITE) {
        h->written += m[i].len;
      }
      if (m[i].kind == WT_CMD_CLOSE) {
        h->closes++;
        h->close_code = wt_msg_get_cmd_close(&m[i])->code;
        size_t rl = m[i].buf && m[i].len < sizeof(h->close_reason) ? m[i].len : 0;
        memcpy(h->close_reason, rl ? (const char *)m[i].buf->data + m[i].off : "", rl);
        h->close_reason[rl] = 0;
      }
      if (m[i].kind == WT_CMD_RESPOND) {
        h->status = wt_msg_get_cmd_respond(&m[i])->status;
        h->resp_headers = wt_msg_get_cmd_respond(&m[i])->n_headers;
        h->resp_len = m[i].buf && m[i].len <= sizeof(h->resp) ? m[i].len : 0;
        if (h->resp_len) {
          memcpy(h->resp, m[i].buf->data + m[i].off, h->resp_len);
        }
      }
      wt_msg_drop(&m[i]); /* buffer and counters references */
    }
  }
}

/* Everything the worker queued, its overflow too, read and dropped. */
static void h_sync(harness *h) {
  for (int i = 0; i < 100000; i++) {
    int more = wt_app_ctx_flush(h->t.ctx);
    h_drain(h);
    if (!more) {
      return;
    }
  }
  CHECK(!"the worker's overflow never drained");
}

static void h_close(harness *h) {
  h_sync(h);
  wt_app_ctx_del(h->t.ctx); /* closes what is open: commands may follow */
  h_drain(h);
  app_link_free(&h->t);
}

/* A session on "/t" (h = 1) with n peer bidi streams (h = 10, 11, ...). */
static void h_session(harness *h, int n) {
  static const char req[] = "/t\0host\0";
  wt_buf *b = wt_buf_alloc(h->t.pool, sizeof(req));
  memcpy(b->data, req, sizeof(req));
  wt_msg m = wt_msg_ev_session_request(1, 0, b, sizeof(req), 0, 0);
  h_event(h, &m);
  m = wt_msg_ev_session_open(1, 1200);
  h_event(h, &m);
  for (int i = 0; i < n; i++) {
    m = wt_msg_ev_stream_open(10 + (uint64_t)i, 1, 4 * (uint64_t)i, 1);
    h_event(h, &m);
  }
  h_drain(h);
}

static void h_credit(harness *h, uint64_t stream, uint64_t released, uint64_t hint) {
  wt_msg m = wt_msg_ev_stream_credit(stream, released, hint);
  h_event(h, &m);
}

static uint8_t g_data[16 * MIB];

/* Write as much as the credit takes; returns the bytes accepted. */
static int64_t fill(harness *h, wt_app_stream *st) {
  int64_t total = 0;
  for (;;) {
    int r = wt_app_stream_write(st, g_data, sizeof(g_data) / 4, 0);
    if (r <= 0) {
      CHECK_EQ(r, WT_ERR_AGAIN);
      break;
    }
    total += r;
  }
  h_sync(h);
  return total;
}

/* ------------------------------------------------------------------ tests */

/* A stream starts with stream_credit; released bytes come back; a hint
 * grows the window up to stream_credit_max, never further, never down. */
static void test_credit_grows(void) {
  harness h;
  CHECK_FATAL(h_open(&h, MIB, 8 * MIB) == 0);
  h_session(&h, 1);
  wt_app_stream *st = g_app.st[0];
  CHECK_FATAL(st != NULL);
  CHECK_EQ(fill(&h, st), MIB);
  CHECK_EQ(h.written, MIB);

  /* 256 KiB acknowledged, the connection is worth less than the window:
   * only the released bytes come back; not writable yet (< half) */
  h_credit(&h, 10, 256 * 1024, 512 * 1024);
  CHECK_EQ(g_app.writable[0], 0);
  CHECK_EQ(wt_app_ctx_get_stats(h.t.ctx)->send_window_grows, 0);
  CHECK_EQ(fill(&h, st), 256 * 1024);

  /* the hint says 3 MiB: the window grows by 2 MiB at once */
  h_credit(&h, 10, 0, 3 * MIB);
  CHECK_EQ(wt_app_ctx_get_stats(h.t.ctx)->send_window_grows, 1);
  CHECK_EQ(g_app.writable[0], 1); /* 2 MiB of credit >= half of 3 MiB */
  CHECK_EQ(fill(&h, st), 2 * MIB);

  /* a hint above the cap: 8 MiB at most */
  h_credit(&h, 10, 0, 64 * MIB);
  CHECK_EQ(wt_app_ctx_get_stats(h.t.ctx)->send_window_grows, 2);
  CHECK_EQ(fill(&h, st), 5 * MIB);
  /* a smaller hint later never shrinks it: all 8 MiB back, all 8 writable */
  h_credit(&h, 10, 8 * MIB, MIB);
  CHECK_EQ(wt_app_ctx_get_stats(h.t.ctx)->send_window_grows, 2);
  CHECK_EQ(fill(&h, st), 8 * MIB);
  /* a hint of 0 (unknown) changes nothing */
  h_credit(&h, 10, MIB, 0);
  CHECK_EQ(fill(&h, st), MIB);
  h_close(&h);
}

/* stream_credit_max <= stream_credit: the window never grows. */
static void test_credit_fixed(void) {
  harness h;
  CHECK_FATAL(h_open(&h, MIB, MIB) == 0);
  h_session(&h, 1);
  wt_app_stream *st = g_app.st[0];
  CHECK_FATAL(st != NULL);
  CHECK_EQ(fill(&h, st), MIB);
  h_credit(&h, 10, MIB, 16 * MIB);
  CHECK_EQ(wt_app_ctx_get_stats(h.t.ctx)->send_window_grows, 0);
  CHECK_EQ(fill(&h, st), MIB);
  h_close(&h);
}

/* One-byte writes (issue 17): they are copied into the stream's tail
 * buffer and posted as consecutive slices of it, so 40000 of them hold
 * three 16 KiB buffers (their bytes), not 40000; each is charged its byte of
 * credit; a FIN or reset lets the tail go. */
static void test_small_writes_share_a_buffer(void) {
  harness h;
  CHECK_FATAL(h_open(&h, MIB, MIB) == 0);
  h_session(&h, 2);
  wt_app_stream *st = g_app.st[0];
  CHECK_FATAL(st != NULL);
  wt_buf_pool_stats ps;
  wt_buf_pool_get_stats(wt_app_ctx_pool(h.t.ctx), &ps);
  uint64_t allocs0 = ps.allocs;
  enum { N = 40000 };
  for (int i = 0; i < N; i++) {
    uint8_t c = (uint8_t)i;
    CHECK_EQ(wt_app_stream_write(st, &c, 1, 0), 1);
  }
  /* read the WRITE commands back: slices of few buffers, in order */
  wt_buf *bufs[8] = {0};
  size_t nbufs = 0, seen = 0, bad = 0;
  uint32_t next_off = 0;
  wt_msg m[64];
  uint32_t n;
  for (int round = 0; round < 100000; round++) {
    int more = wt_app_ctx_flush(h.t.ctx);
    while ((n = wt_lring_poll(&h.t.link->cmd, m, 64)) > 0) {
      for (uint32_t i = 0; i < n; i++) {
        if (m[i].kind == WT_CMD_WRITE && m[i].buf) {
          if (nbufs == 0 || bufs[nbufs - 1] != m[i].buf) {
            if (nbufs < 8) {
              bufs[nbufs] = m[i].buf;
            }
            nbufs++;
            next_off = 0;
          }
          bad += m[i].len != 1 || m[i].off != next_off || m[i].buf->data[m[i].off] != (uint8_t)seen;
          next_off = m[i].off + m[i].len;
          seen++;
        }
        wt_msg_drop(&m[i]);
      }
    }
    if (!more) {
      break;
    }
  }
  CHECK_EQ(seen, N);
  CHECK_EQ(bad, 0);
  CHECK_EQ(nbufs, (N + WT_APP_BUF_SIZE - 1) / WT_APP_BUF_SIZE);
  /* only the tail is still held (by the stream): the others went home */
  wt_buf_pool_get_stats(wt_app_ctx_pool(h.t.ctx), &ps);
  CHECK_EQ(ps.live, 1);
  CHECK_EQ(ps.allocs - allocs0, nbufs);
  /* charged one byte each: MIB - N left */
  CHECK_EQ(fill(&h, st), MIB - N);
  h_credit(&h, 10, MIB, 0);
  /* a FIN drops the tail; the other stream's reset too */
  CHECK_EQ(wt_app_stream_write(st, (const uint8_t *)"z", 1, 1), 1);
  CHECK_EQ(wt_app_stream_write(g_app.st[1], (const uint8_t *)"y", 1, 0), 1);
  CHECK_EQ(wt_app_stream_reset(g_app.st[1], 0), 0);
  h_sync(&h);
  wt_buf_pool_get_stats(wt_app_ctx_pool(h.t.ctx), &ps);
  CHECK_EQ(ps.live, 0);
  h_close(&h);
}

/* Post a CONNECT for path as session h and open it. */
static void h_session_path(harness *h, uint64_t sh, const char *path) {
  char req[128];
  int n = snprintf(req, sizeof(req), "%s%chost%c%c", path, 0, 0, 0);
  wt_buf *b = wt_buf_alloc(h->t.pool, (size_t)n);
  memcpy(b->data, req, (size_t)n);
  wt_msg m = wt_msg_ev_session_request(sh, sh * 4, b, (uint32_t)n, 0, 0);
  h_event(h, &m);
  m = wt_msg_ev_session_open(sh, 1200);
  h_event(h, &m);
}

/* The relay's late-join cache (issue 17): a group published one byte per
 * frame as slices of the shard's receive buffers is kept as one slice per
 * buffer (a late joiner gets 3 catch-up messages for 40000 bytes, not
 * 40000), and relay_group_max counts the buffers' capacity: the same bytes
 * spread one per buffer are not kept. */
static void relay_cache_case(int spread, size_t *n_data, uint64_t *bytes) {
  harness h;
  CHECK_FATAL(h_open(&h, MIB, MIB) == 0);
  wt_apps_config cfg;
  wt_apps_config_default(&cfg);
  cfg.relay_group_max = 65536;
  wt_apps_module *am;
  CHECK_FATAL(wt_apps_module_new(&am, &cfg) == 0);
  const wt_app_module *mod = wt_apps_module_get(am);
  void *state = NULL;
  CHECK_FATAL(mod->init(mod->arg, h.t.router, 1, 0, &state) == 0);
  wt_buf_pool *rx;
  CHECK_FATAL(wt_buf_pool_new(&rx, 16384, 0) == 0);
  h_session_path(&h, 1, "/pub?ch=x");
  wt_msg m = wt_msg_ev_stream_open(10, 1, 2, 0); /* the publisher's uni stream: a group */
  h_event(&h, &m);
  wt_buf *b = NULL;
  enum { N = 40000 };
  for (uint32_t i = 0; i < N; i++) {
    if (!b || b->len == b->cap || (spread && i % 8 == 0)) {
      if (b) {
        wt_buf_unref(b);
      }
      b = wt_buf_alloc(rx, 0);
      CHECK_FATAL(b != NULL);
    }
    b->data[b->len] = (uint8_t)i;
    wt_buf_ref(b);
    m = wt_msg_ev_stream_data(10, b, 1, 0);
    m.off = b->len++;
    h_event(&h, &m);
    if (i % 128 == 0) {
      h_sync(&h); /* the relay's consumes */
    }
  }
  wt_buf_unref(b);
  h_sync(&h);
  h_session_path(&h, 2, "/sub?ch=x"); /* a late joiner */
  *n_data = 0;
  *bytes = 0;
  wt_msg c[64];
  uint32_t n;
  for (int round = 0; round < 1000; round++) {
    int more = wt_app_ctx_flush(h.t.ctx);
    while ((n = wt_lring_poll(&h.t.link->cmd, c, 64)) > 0) {
      for (uint32_t i = 0; i < n; i++) {
        if (c[i].kind == WT_CMD_GROUP_CATCHUP_DATA) {
          (*n_data)++;
          *bytes += c[i].len;
        }
        wt_msg_drop(&c[i]);
      }
    }
    if (!more) {
      break;
    }
  }
  h_close(&h);
  mod->fini(mod->arg, state);
  wt_apps_module_del(am);
  wt_buf_pool_del(rx);
}

static void test_relay_cache_holds_buffers(void) {
  size_t n_data;
  uint64_t bytes;
  relay_cache_case(0, &n_data, &bytes);
  CHECK_EQ(n_data, 3); /* 16384 + 16384 + 7232 */
  CHECK_EQ(bytes, 40000);
  relay_cache_case(1, &n_data, &bytes); /* 8 bytes per 16 KiB buffer: 5000 buffers */
  CHECK_EQ(n_data, 0);
  CHECK_EQ(bytes, 0);
}

/* The streams of one session share the growth (max - initial in all); a
 * stream that is freed gives its share back. */
static void test_credit_session_budget(void) {
  harness h;
  CHECK_FATAL(h_open(&h, MIB, 4 * MIB) == 0);
  h_session(&h, 3);
  CHECK_FATAL(g_app.st[0] && g_app.st[1] && g_app.st[2]);
  h_credit(&h, 10, 0, 3 * MIB); /* stream 10: +2 MiB of the 3 */
  h_credit(&h, 11, 0, 8 * MIB); /* stream 11: +1 MiB, what is left */
  h_credit(&h, 12, 0, 8 * MIB); /* stream 12: nothing left */
  CHECK_EQ(fill(&h, g_app.st[0]), 3 * MIB);
  CHECK_EQ(fill(&h, g_app.st[1]), 2 * MIB);
  CHECK_EQ(fill(&h, g_app.st[2]), MIB);
  CHECK_EQ(wt_app_ctx_get_stats(h.t.ctx)->send_window_grows, 2);

  /* stream 10 ends: its 2 MiB of growth return to the session */
  wt_msg m = wt_msg_ev_stream_close(10, 0);
  h_event(&h, &m);
  h_drain(&h);
  CHECK(g_app.st[0] == NULL);
  h_credit(&h, 12, 0, 8 * MIB);
  CHECK_EQ(fill(&h, g_app.st[2]), 2 * MIB);
  CHECK_EQ(wt_app_ctx_get_stats(h.t.ctx)->send_window_grows, 3);
  h_close(&h);
}

/* Every message kind has exactly one handler, on the side it goes to:
 * events at the worker (wt_app_ctx.c), commands at the shard
 * (wt_bridge.c). A kind added to wt_msg.h without its handler fails here. */
/* A group's counters outlive the group and the app's reference while a
 * shard has not yet handled the group's commands (issue: the relay's
 * registry freed retired entries the shards were still writing). */
static void test_group_counters_outlive(void) {
  harness h;
  CHECK_FATAL(h_open(&h, 64 * 1024, 64 * 1024) == 0);
  h_session(&h, 0);
  CHECK_FATAL(g_app.as != NULL);
  wt_app_group_counters *gc = wt_app_group_counters_new();
  CHECK_FATAL(gc != NULL);
  wt_app_group *g;
  CHECK_EQ(wt_app_group_new(h.t.ctx, 1 << 20, gc, &g), 0);
  CHECK_EQ(atomic_load(&gc->refs_), 2); /* the app's, the group's */
  CHECK_EQ(wt_app_group_join(g, g_app.as), 0);
  CHECK_EQ(atomic_load(&gc->refs_), 3); /* + the shard's, in GROUP_NEW */
  wt_app_group_del(g, 0);
  wt_app_group_counters_unref(gc); /* the app forgets them (registry eviction) */
  CHECK_EQ(atomic_load(&gc->refs_), 1);
  /* the backlogged shard still writes them (ASan: no use after free) */
  atomic_fetch_add(&gc->delivered_streams, 1);
  h_sync(&h); /* the shard handles (here: drops) GROUP_NEW and GROUP_DEL: freed */
  h_close(&h);
}

/* The group header length travels with the stream's open (GROUP_STREAM)
 * and with a late joiner's catch-up of the newest stream; above
 * WT_APP_GROUP_HDR_MAX the open is refused. */
static uint32_t g_hdr_seen[4];
static int g_hdr_n;

static void h_drain_hdrs(harness *h) {
  wt_msg m[64];
  uint32_t n;
  while ((n = wt_lring_poll(&h->t.link->cmd, m, 64)) > 0) {
    for (uint32_t i = 0; i < n; i++) {
      if (m[i].kind == WT_CMD_GROUP_STREAM && g_hdr_n < 4) {
        g_hdr_seen[g_hdr_n++] = wt_msg_get_cmd_group_stream(&m[i])->hdr_len;
      } else if (m[i].kind == WT_CMD_GROUP_CATCHUP && g_hdr_n < 4) {
        g_hdr_seen[g_hdr_n++] = 1000 + wt_msg_get_cmd_group_catchup(&m[i])->hdr_len;
      }
      wt_msg_drop(&m[i]);
    }
  }
}

static void test_group_hdr(void) {
  harness h;
  CHECK_FATAL(h_open(&h, 64 * 1024, 64 * 1024) == 0);
  h_session(&h, 0);
  CHECK_FATAL(g_app.as != NULL);
  wt_app_group *g;
  CHECK_EQ(wt_app_group_new(h.t.ctx, 1 << 20, NULL, &g), 0);
  CHECK_EQ(wt_app_group_join(g, g_app.as), 0);
  g_hdr_n = 0;
  CHECK_EQ(wt_app_group_stream_open_hdr(g, WT_APP_GROUP_HDR_MAX + 1), 0);
  uint64_t a = wt_app_group_stream_open_hdr(g, 20);
  uint64_t b = wt_app_group_stream_open_hdr(g, WT_APP_GROUP_HDR_MAX);
  CHECK(a > 0 && b > a);
  CHECK_EQ(wt_app_group_catchup(g, g_app.as, b), 0); /* the newest: its length */
  CHECK_EQ(wt_app_group_catchup(g, g_app.as, a), 0); /* an older one: unknown, 0 */
  wt_app_ctx_flush(h.t.ctx);
  h_drain_hdrs(&h);
  CHECK_EQ(g_hdr_n, 4);
  CHECK_EQ(g_hdr_seen[0], 20);
  CHECK_EQ(g_hdr_seen[1], WT_APP_GROUP_HDR_MAX);
  CHECK_EQ(g_hdr_seen[2], 1000 + WT_APP_GROUP_HDR_MAX);
  CHECK_EQ(g_hdr_seen[3], 1000);
  CHECK_EQ(wt_app_group_stream_open(g), b + 1); /* no header */
  wt_app_group_del(g, 0);
  h_close(&h);
}

static void test_every_kind_handled(void) {
  for (unsigned k = 0; k <= WT_CMD_END + 1; k++) {
    CHECK_EQ(wt_app_ctx_handles(k), wt_msg_is_event(k));
    CHECK_EQ(wt_bridge_handles(k), wt_msg_is_command(k));
  }
}

/* A request for /t with one field and the offer moq-lite-03, x. */
static void h_request(harness *h, uint64_t session) {
  static const char req[] = "/t\0host\0\0x-a\0one\0moq-lite-03\0x";
  wt_buf *b = wt_buf_alloc(h->t.pool, sizeof(req));
  memcpy(b->data, req, sizeof(req));
  wt_msg m = wt_msg_ev_session_request(session, 4 * session, b, sizeof(req), 1, 2);
  h->resp_len = 0;
  h_event(h, &m);
  h_drain(h);
}

static int resp_is(const harness *h, const char *want, size_t len) {
  return h->resp_len == len && memcmp(h->resp, want, len) == 0;
}

static void test_protocols(void) {
  static const char *const prefs[] = {"moq-lite-04", "moq-lite-03"};
  g_protocols = prefs;
  g_n_protocols = 2;
  harness h;
  CHECK_FATAL(h_open(&h, 0, 0) == 0);
  const wt_app_ctx_stats *st = wt_app_ctx_get_stats(h.t.ctx);
  /* the app does not choose: the server's first preference that was offered */
  g_app.mode = 0;
  h_request(&h, 1);
  CHECK_EQ(g_app.n_headers, 1);
  CHECK(strcmp(g_app.first_header, "x-a: one") == 0);
  CHECK_EQ(g_app.n_protocols, 2);
  CHECK(strcmp(g_app.last_protocol, "x") == 0);
  CHECK_EQ(g_app.rv_bad, WT_ERR_INVAL);
  CHECK_EQ(g_app.rv_bad_hdr, WT_ERR_INVAL);
  CHECK_EQ(g_app.rv_reserved, WT_ERR_INVAL);
  CHECK_EQ(g_app.rv_hdr, 0);
  CHECK_EQ(h.status, 200);
  CHECK_EQ(h.resp_headers, 1);
  CHECK(resp_is(&h, "moq-lite-03\0x-app\0yes", 22));
  CHECK(wt_app_session_protocol(g_app.as) &&
        !strcmp(wt_app_session_protocol(g_app.as), "moq-lite-03"));
  /* outside session_request: too late */
  CHECK_EQ(wt_app_session_set_protocol(g_app.as, "x"), WT_ERR_STATE);
  CHECK_EQ(wt_app_session_add_header(g_app.as, "x-late", "1"), WT_ERR_STATE);
  CHECK_EQ(st->protocol_sessions[1], 1);
  /* the app's own choice, not in the server's list: counted as other */
  g_app.mode = 1;
  h_request(&h, 2);
  CHECK(resp_is(&h, "x\0x-app\0yes", 12));
  CHECK_EQ(st->protocol_sessions[WT_APP_MAX_PROTOCOLS + 1], 1);
  /* the app answers none */
  g_app.mode = 2;
  h_request(&h, 3);
  CHECK(resp_is(&h, "\0x-app\0yes", 11));
  CHECK_EQ(st->protocol_sessions[WT_APP_MAX_PROTOCOLS], 1);
  CHECK(wt_app_session_protocol(g_app.as) == NULL);
  /* a refusal carries its fields, never a protocol; not counted */
  g_app.mode = 3;
  h_request(&h, 4);
  CHECK_EQ(h.status, 429);
  CHECK_EQ(h.resp_headers, 2);
  CHECK(resp_is(&h, "\0x-app\0yes\0retry-after\0005", 25));
  CHECK_EQ(st->protocol_sessions[0] + st->protocol_sessions[1] +
               st->protocol_sessions[WT_APP_MAX_PROTOCOLS] +
               st->protocol_sessions[WT_APP_MAX_PROTOCOLS + 1],
           3);
  /* the pure helper */
  const char *const offer[] = {"b", "a"};
  wt_app_request r = {.protocols = offer, .n_protocols = 2};
  const char *const mine[] = {"c", "a", "b"};
  CHECK(wt_app_choose_protocol(&r, mine, 3) == offer[1]);
  CHECK(wt_app_choose_protocol(&r, mine, 1) == NULL);
  g_app.mode = 0;
  h_close(&h);
  g_protocols = NULL;
  g_n_protocols = 0;
}

/* A session admitted on a credential that expires (issue 17): closed with
 * the code and reason at the earliest deadline set in session_request, by
 * a timer (nothing before it); the callback runs first. A deadline that
 * passes before the open closes it right after the open; a session that
 * ends first cancels it; outside session_request the call is refused. */
static void test_session_expire(void) {
  harness h;
  CHECK_FATAL(h_open(&h, MIB, MIB) == 0);
  g_app.mode = 4;
  wt_app_ctx_set_now(h.t.ctx, 1000000000);
  h_session(&h, 0);
  CHECK_FATAL(g_app.as != NULL);
  CHECK_EQ(wt_app_session_expire_after(g_app.as, 1, 1, "x", NULL, NULL), WT_ERR_STATE);
  wt_app_run_timers(h.t.ctx, 1004000000); /* 4 ms: not yet */
  h_sync(&h);
  CHECK_EQ(h.closes, 0);
  CHECK_EQ(g_app.expired, 0);
  wt_app_run_timers(h.t.ctx, 1005000000);
  h_sync(&h);
  CHECK_EQ(g_app.expired, 1);
  CHECK_EQ(h.closes, 1);
  CHECK_EQ(h.close_code, 0x14);
  CHECK(strcmp(h.close_reason, "token expired") == 0);
  wt_app_run_timers(h.t.ctx, 1100000000); /* once: the later deadlines were never armed */
  h_sync(&h);
  CHECK_EQ(h.closes, 1);
  wt_msg m = wt_msg_ev_session_close(1, 0x14, 1, NULL, 0);
  h_event(&h, &m);

  /* due before the open: closed right after it */
  static const char req[] = "/t\0host\0";
  wt_buf *b = wt_buf_alloc(h.t.pool, sizeof(req));
  memcpy(b->data, req, sizeof(req));
  m = wt_msg_ev_session_request(2, 4, b, sizeof(req), 0, 0);
  h_event(&h, &m);
  wt_app_run_timers(h.t.ctx, 1200000000);
  h_sync(&h);
  CHECK_EQ(h.closes, 1);
  CHECK_EQ(g_app.expired, 1);
  m = wt_msg_ev_session_open(2, 1200);
  h_event(&h, &m);
  h_sync(&h);
  CHECK_EQ(h.closes, 2);
  CHECK_EQ(g_app.expired, 2);
  m = wt_msg_ev_session_close(2, 0x14, 1, NULL, 0);
  h_event(&h, &m);

  /* the session ends first: the timer goes with it (ASan: no use after free) */
  b = wt_buf_alloc(h.t.pool, sizeof(req));
  memcpy(b->data, req, sizeof(req));
  m = wt_msg_ev_session_request(3, 8, b, sizeof(req), 0, 0);
  h_event(&h, &m);
  m = wt_msg_ev_session_open(3, 1200);
  h_event(&h, &m);
  m = wt_msg_ev_session_close(3, 0, 1, NULL, 0);
  h_event(&h, &m);
  wt_app_run_timers(h.t.ctx, 1300000000);
  h_sync(&h);
  CHECK_EQ(h.closes, 2);
  CHECK_EQ(g_app.expired, 2);
  CHECK_EQ(wt_app_ctx_get_stats(h.t.ctx)->sessions_live, 0);
  g_app.mode = 0;
  h_close(&h);
}

int main(void) {
  WT_RUN(test_session_expire);
  WT_RUN(test_group_counters_outlive);
  WT_RUN(test_every_kind_handled);
  WT_RUN(test_group_hdr);
  WT_RUN(test_credit_grows);
  WT_RUN(test_credit_fixed);
  WT_RUN(test_credit_session_budget);
  WT_RUN(test_small_writes_share_a_buffer);
  WT_RUN(test_relay_cache_holds_buffers);
  WT_RUN(test_protocols);
  WT_DONE();
}
