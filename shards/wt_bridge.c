/* wt_bridge.c: the shard side of the application links (see wt_bridge.h). */
#define WT_LOG_MODULE "bridge"
#include "wt_bridge.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wt_engine.h"
#include "wt_error.h"
#include "wt_dlist.h"
#include "wt_held.h"
#include "wt_hmap.h"
#include "wt_io.h"
#include "wt_log.h"

#define BR_BUF_SIZE   16384 /* received stream bytes are copied in chunks of this */
#define BR_POLL_BATCH 64
#define BR_REQ_MAX    65536 /* path, authority, origin, fields, protocols handed to the worker */
#define BR_OPEN_RETRY 64    /* pending stream opens retried per poll */
/* the latency budgets' sweep (wt_bridge_next_expiry): deadlines rounded up
 * to this, so members' budgets share wake-ups; a group may outlive its
 * member's budget by up to this much when no group opens or writes */
#define BR_LAT_TICK_NS 5000000u

enum { BR_SESSION = 1, BR_STREAM = 2, BR_MIRROR = 3 };

typedef struct br_stream br_stream;
typedef struct br_member br_member;
typedef struct br_mirror br_mirror;
typedef struct br_group br_group;

typedef struct br_pending_write {
  struct br_pending_write *next;
  wt_msg m;
} br_pending_write;

typedef struct br_session {
  uint8_t type; /* BR_SESSION */
  uint8_t answered, open;
  uint8_t client; /* outgoing (WT_CMD_CONNECT): conn is its own connection */
  wt_conn *conn;
  uint32_t worker;
  uint64_t h;
  wt_session *s;
  br_stream *streams;               /* this session's app streams */
  br_stream *pend_head, *pend_tail; /* local opens waiting for stream credit */
  br_member *members;               /* group memberships */
} br_session;

struct br_stream {
  uint8_t type; /* BR_STREAM */
  uint8_t local, bidi, reset_req;
  uint64_t h, token;
  wt_stream *st; /* NULL while the open waits */
  br_session *bs;
  br_stream *prev, *next; /* in bs->streams */
  br_stream *pnext;       /* in bs's pending-open queue */
  br_pending_write *wq_head, *wq_tail;
  wt_buf *rx_tail;      /* received bytes are copied here while it has room (one reference of
                           ours; each posted slice holds one more) */
  uint32_t rx_posted;   /* bytes of rx_tail already posted to the worker */
  uint8_t rx_fin;       /* the FIN arrived and is not posted yet */
  wt_list_node rx_node; /* in b->rx_dirty while bytes or a FIN wait to be posted */
};

struct br_group {
  uint64_t gid, lag_max;
  uint64_t newest_gsid; /* the group's last opened stream (latency budgets) */
  uint32_t worker;
  wt_app_group_counters *cnt;
  br_member *members;
};

struct br_member {
  br_group *g;
  br_session *bs;
  br_member *prev, *next;     /* in g->members */
  br_member *snext;           /* in bs->members */
  br_mirror *mirrors, *mtail; /* oldest first */
  uint32_t notices;           /* lag notices not yet closed (<= WT_APP_GROUP_NOTICES_MAX) */
  uint8_t lagging;            /* streams were reset for lag; not yet back under half the bound */
  uint64_t held; /* what its mirrors' unacknowledged data pins: the sum of their held */
  /* delivery policy (wt_app.h wt_app_group_join_opts): pooled members
   * share their session's lag bound, the lowest priority losing first */
  uint8_t pooled, prio;
  uint64_t max_lat_ns;        /* 0 = unbounded */
  uint64_t n_prio, n_latency; /* its groups dropped for priority / latency (debug log) */
  uint64_t n_dropped;         /* every group it lost (counters' member_dropped_max) */
  wt_list_node lat_node;      /* in b->lat_members while max_lat_ns > 0 */
};

struct br_mirror {
  uint8_t type;   /* BR_MIRROR */
  uint8_t fin;    /* FIN written, or (a notice) reset */
  uint8_t notice; /* a lag notice: the group header only, then a reset (wt_app.h) */
  br_member *mb;
  br_mirror *next;
  uint64_t gsid;
  uint64_t written; /* payload bytes written so far */
  uint32_t hdr_len; /* the group header length (wt_app.h) */
  uint64_t t_open;  /* the shard's clock when it opened (latency budgets) */
  uint64_t order;   /* opening order across the bridge (oldest of several members) */
  wt_stream *st;
  wt_held held; /* the publisher buffers its unacknowledged bytes pin (not for notices) */
};

struct wt_bridge {
  wt_bridge_config cfg;
  wt_link *links[64];
  wt_engine *eng;
  uint64_t now;   /* wt_bridge_set_now */
  wt_hmap objs;   /* id -> br_session / br_stream */
  wt_hmap tokens; /* worker token -> br_stream (local streams) */
  wt_hmap groups; /* group id -> br_group */
  uint64_t next_id;
  uint64_t next_order; /* br_mirror.order */
  /* latency budgets on the shard's timer: the members with a budget, and
   * when one of their groups may be past it next (UINT64_MAX: none) */
  wt_list_node lat_members;
  uint64_t lat_due;
  uint32_t rr;
  wt_buf_pool *pool;
  wt_list_node rx_dirty; /* streams with received bytes not posted yet (wt_bridge_flush) */
  size_t pending_opens;  /* sessions may have queued opens */
  int detached;          /* the links may be gone: never touch them again */
  int draining;          /* the shard is stopping (wt_bridge_drain): connects refused */
  wt_bridge_stats stats;
  /* test hook (wt_bridge.h, WTCAST_TEST_GROUP_DEL_DEFER): GROUP_DELs held
   * back, a FIFO of at most defer_max (0: off) */
  uint64_t *defer_gid;
  uint32_t *defer_code;
  uint32_t defer_max, defer_n, defer_head;
  uint64_t defer_outlived; /* held-back groups whose counters only this shard still held */
};

/* ------------------------------------------------------------------ setup */

int wt_bridge_new(wt_bridge **out, const wt_bridge_config *cfg) {
  if (!out || !cfg || !cfg->router || !cfg->links || cfg->n_workers == 0 || cfg->n_workers > 64) {
    return WT_ERR_INVAL;
  }
  wt_bridge *b = calloc(1, sizeof(*b));
  if (!b) {
    return WT_ERR_NOMEM;
  }
  b->cfg = *cfg;
  for (uint32_t i = 0; i < cfg->n_workers; i++) {
    b->links[i] = cfg->links[i];
  }
  b->cfg.links = b->links;
  wt_hmap_init(&b->objs);
  wt_hmap_init(&b->tokens);
  wt_hmap_init(&b->groups);
  b->next_id = (uint64_t)(cfg->shard + 1) << 48;
  b->rr = cfg->shard;
  wt_list_init(&b->rx_dirty);
  wt_list_init(&b->lat_members);
  b->lat_due = UINT64_MAX;
  if (wt_buf_pool_new(&b->pool, BR_BUF_SIZE, 4096) < 0) {
    free(b);
    return WT_ERR_NOMEM;
  }
  const char *defer = getenv("WTCAST_TEST_GROUP_DEL_DEFER");
  unsigned long k = defer ? strtoul(defer, NULL, 10) : 0;
  if (k > 0 && k <= 65536) {
    b->defer_gid = calloc(k, sizeof(*b->defer_gid));
    b->defer_code = calloc(k, sizeof(*b->defer_code));
    b->defer_max = b->defer_gid && b->defer_code ? (uint32_t)k : 0;
    WT_LOG_WARN("test hook: shard %u holds back its last %lu GROUP_DEL commands", cfg->shard, k);
  }
  *out = b;
  return 0;
}

void wt_bridge_set_engine(wt_bridge *b, wt_engine *e) {
  b->eng = e;
}

void wt_bridge_set_now(wt_bridge *b, uint64_t now_ns) {
  b->now = now_ns;
}

const wt_bridge_stats *wt_bridge_get_stats(const wt_bridge *b) {
  return &b->stats;
}

void wt_bridge_event_counts(const wt_bridge *b, uint64_t *posted, uint64_t *overflowed) {
  *posted = *overflowed = 0;
  for (uint32_t w = 0; w < b->cfg.n_workers; w++) {
    *posted += b->links[w]->ev.st.posted;
    *overflowed += b->links[w]->ev.st.overflowed;
  }
}

wt_buf_pool *wt_bridge_pool(wt_bridge *b) {
  return b->pool;
}

/* ------------------------------------------------------------------ events */

static void br_post(wt_bridge *b, uint32_t worker, wt_msg *m) {
  m->sh = (uint16_t)b->cfg.shard;
  if (wt_lring_post(&b->links[worker]->ev, m) < 0) {
    WT_LOG_ERROR("out of memory queueing an event (kind %u): lost", m->kind);
    wt_msg_drop(m);
  }
}

static wt_buf *br_buf(wt_bridge *b, const void *data, size_t len) {
  wt_buf *buf = wt_buf_alloc(b->pool, len);
  if (!buf) {
    b->stats.buf_failed++;
    return NULL;
  }
  if (len) {
    memcpy(buf->data, data, len);
  }
  buf->len = (uint32_t)len;
  return buf;
}

/* ------------------------------------------------------------------ object lifetimes */

static br_session *find_session(wt_bridge *b, uint64_t h) {
  br_session *bs = wt_hmap_get(&b->objs, h);
  return bs && bs->type == BR_SESSION ? bs : NULL;
}

static br_stream *find_stream(wt_bridge *b, uint64_t h, uint64_t token) {
  br_stream *bst = h ? wt_hmap_get(&b->objs, h) : wt_hmap_get(&b->tokens, token);
  return bst && bst->type == BR_STREAM ? bst : NULL;
}

static void wq_drop(br_stream *bst) {
  while (bst->wq_head) {
    br_pending_write *w = bst->wq_head;
    bst->wq_head = w->next;
    if (w->m.buf) {
      wt_buf_unref(w->m.buf);
    }
    free(w);
  }
  bst->wq_tail = NULL;
}

/* Post what bst received since its last post: one slice of its tail buffer
 * (and the FIN), however many engine callbacks brought it. Called at the
 * end of the shard's turn (wt_bridge_flush), before any other event about
 * the stream, and when the tail is full. */
static void rx_post(wt_bridge *b, br_stream *bst) {
  wt_list_del(&bst->rx_node);
  wt_buf *t = bst->rx_tail;
  uint32_t n = t ? t->len - bst->rx_posted : 0;
  if (n == 0 && !bst->rx_fin) {
    return;
  }
  if (n) {
    wt_buf_ref(t);
  }
  wt_msg m = wt_msg_ev_stream_data(bst->h, n ? t : NULL, n, bst->rx_fin);
  m.off = n ? bst->rx_posted : 0;
  bst->rx_posted += n;
  if (bst->rx_fin && t) {
    wt_buf_unref(t); /* nothing more arrives */
    bst->rx_tail = NULL;
    bst->rx_posted = 0;
  }
  bst->rx_fin = 0;
  br_post(b, bst->bs->worker, &m);
}

static void stream_free(wt_bridge *b, br_stream *bst) {
  wt_list_del(&bst->rx_node);
  if (bst->h) {
    wt_hmap_del(&b->objs, bst->h);
  }
  if (bst->token) {
    wt_hmap_del(&b->tokens, bst->token);
  }
  if (bst->st) {
    wt_stream_set_user(bst->st, NULL);
  }
  if (bst->bs) {
    WT_DLIST_REMOVE(&bst->bs->streams, bst);
  }
  wq_drop(bst);
  if (bst->rx_tail) {
    wt_buf_unref(bst->rx_tail);
  }
  free(bst);
  b->stats.streams--;
}

static void mirror_unlink(br_mirror *mr) {
  br_member *mb = mr->mb;
  br_mirror **pp = &mb->mirrors, *prev = NULL;
  while (*pp && *pp != mr) {
    prev = *pp;
    pp = &(*pp)->next;
  }
  if (*pp) {
    *pp = mr->next;
    if (mb->mtail == mr) {
      mb->mtail = prev;
    }
  }
}

static void mirror_free(wt_bridge *b, br_mirror *mr, uint32_t reset_code, int reset) {
  uint64_t h = wt_held_total(&mr->held);
  mr->mb->held = mr->mb->held > h ? mr->mb->held - h : 0;
  wt_held_free(&mr->held);
  mirror_unlink(mr);
  if (mr->notice) {
    mr->mb->notices--;
  }
  if (mr->st) {
    wt_stream_set_user(mr->st, NULL);
    /* a whole group (FIN written) is left to complete, as a sent notice is
     * reset already: a member leaving, or its group deleted, after the
     * publisher's last group loses only what was still incomplete */
    if (reset && !mr->fin) {
      wt_stream_reset(mr->st, reset_code);
    }
  }
  free(mr);
  b->stats.mirrors--;
}

static void member_free(wt_bridge *b, br_member *mb, uint32_t reset_code, int reset) {
  while (mb->mirrors) {
    mirror_free(b, mb->mirrors, reset_code, reset);
  }
  WT_DLIST_REMOVE(&mb->g->members, mb);
  wt_list_del(&mb->lat_node);
  br_member **pp = &mb->bs->members;
  while (*pp && *pp != mb) {
    pp = &(*pp)->snext;
  }
  if (*pp) {
    *pp = mb->snext;
  }
  free(mb);
  b->stats.members--;
}

/* An outgoing session ends: its connection goes with it (one connection
 * per session; no-op when the connection is the one that ended). */
static void br_client_done(wt_bridge *b, br_session *bs) {
  if (!bs->client) {
    return;
  }
  if (bs->conn && !b->detached) {
    (void)wt_conn_close(bs->conn, WT_H3_NO_ERROR); /* WT_ERR_STATE: closing already */
  }
  bs->conn = NULL;
  b->stats.connects_live--;
}

/* The engine session is gone (or being forgotten): tell the worker. */
static void session_end(wt_bridge *b, br_session *bs, uint32_t code, const uint8_t *reason,
                        size_t len, int clean) {
  while (bs->members) {
    member_free(b, bs->members, 0, 0);
  }
  while (bs->streams) {
    br_stream *bst = bs->streams;
    rx_post(b, bst); /* what arrived before the end, in order */
    if (!bst->st && bst->token) {
      wt_msg m = wt_msg_ev_stream_close(bst->h, bst->token);
      br_post(b, bs->worker, &m);
    }
    stream_free(b, bst);
  }
  bs->pend_head = bs->pend_tail = NULL;
  if (bs->s) {
    wt_session_set_user(bs->s, NULL);
    bs->s = NULL;
  }
  wt_buf *rb = reason && len ? br_buf(b, reason, len) : NULL;
  wt_msg m = wt_msg_ev_session_close(bs->h, code, clean, rb, rb ? (uint32_t)len : 0);
  br_post(b, bs->worker, &m);
  br_client_done(b, bs);
  wt_hmap_del(&b->objs, bs->h);
  free(bs);
  b->stats.sessions--;
}

/* ------------------------------------------------------------------ engine callbacks */

_Static_assert(sizeof(wt_app_header) == sizeof(wt_header) &&
                   offsetof(wt_app_header, value) == offsetof(wt_header, value),
               "wt_app_header mirrors wt_header");

/* Bytes of the WT_EV_SESSION_REQUEST buffer for req (wt_msg.h). */
static size_t br_request_size(const wt_request *req) {
  size_t n = strlen(req->path) + (req->authority ? strlen(req->authority) : 0) +
             (req->origin ? strlen(req->origin) : 0) + 3;
  for (size_t i = 0; i < req->n_headers; i++) {
    n += strlen(req->headers[i].name) + strlen(req->headers[i].value) + 2;
  }
  for (size_t i = 0; i < req->n_protocols; i++) {
    n += strlen(req->protocols[i]) + 1;
  }
  return n;
}

static uint8_t *br_put(uint8_t *p, const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n) {
    memcpy(p, s, n);
  }
  p[n] = 0;
  return p + n + 1;
}

/* Write the buffer of br_request_size bytes; returns its length. */
static size_t br_request_pack(const wt_request *req, uint8_t *out) {
  uint8_t *p = br_put(out, req->path);
  p = br_put(p, req->authority);
  p = br_put(p, req->origin);
  for (size_t i = 0; i < req->n_headers; i++) {
    p = br_put(p, req->headers[i].name);
    p = br_put(p, req->headers[i].value);
  }
  for (size_t i = 0; i < req->n_protocols; i++) {
    p = br_put(p, req->protocols[i]);
  }
  return (size_t)(p - out);
}

static int br_on_session_request(void *user, wt_session *s, const wt_request *req) {
  wt_bridge *b = user;
  void *arg = NULL;
  const wt_app_ops *ops = req->path ? wt_app_router_find(b->cfg.router, req->path, &arg) : NULL;
  if (!ops) {
    b->stats.not_found++;
    WT_LOG_DEBUG("CONNECT %.*s: no route, 404",
                 WT_LOG_NOQUERY(req->path ? req->path : "(no path)"));
    return 404;
  }
  size_t need = br_request_size(req);
  if (need > BR_REQ_MAX) {
    return 431; /* the engine's header limits normally stop this earlier */
  }
  br_session *bs = calloc(1, sizeof(*bs));
  wt_buf *buf = bs ? wt_buf_alloc(b->pool, need) : NULL;
  if (!bs || !buf) {
    free(bs);
    b->stats.buf_failed++;
    return 503;
  }
  buf->len = (uint32_t)br_request_pack(req, buf->data);
  bs->type = BR_SESSION;
  bs->s = s;
  bs->h = ++b->next_id;
  if (ops->worker_hint) {
    const char *q = strchr(req->path, '?');
    /* wt_app_header and wt_header have one layout (asserted above) */
    wt_app_request areq = {.path = req->path,
                           .query = q ? q + 1 : "",
                           .authority = req->authority,
                           .origin = req->origin,
                           .headers = (const wt_app_header *)req->headers,
                           .n_headers = req->n_headers,
                           .protocols = req->protocols,
                           .n_protocols = req->n_protocols};
    bs->worker = ops->worker_hint(&areq) % b->cfg.n_workers;
  } else {
    bs->worker = b->cfg.local_worker ? b->cfg.shard % b->cfg.n_workers : b->rr++ % b->cfg.n_workers;
  }
  if (wt_hmap_put(&b->objs, bs->h, bs) < 0) {
    wt_buf_unref(buf);
    free(bs);
    return 503;
  }
  b->stats.sessions++;
  wt_session_set_user(s, bs);
  wt_msg m = wt_msg_ev_session_request(bs->h, wt_session_id(s), buf, buf->len,
                                       (uint32_t)req->n_headers, (uint32_t)req->n_protocols);
  br_post(b, bs->worker, &m);
  return WT_SESSION_DEFER;
}

/* The response fields of an outgoing session, name \0 value \0 each,
 * into a buffer (NULL: none, or no memory: the session opens without). */
static wt_buf *br_fields(wt_bridge *b, wt_session *s, uint32_t *len, uint32_t *n_out) {
  size_t n = 0, need = 0;
  const wt_header *h = wt_session_headers(s, &n);
  *len = *n_out = 0;
  for (size_t i = 0; i < n; i++) {
    need += strlen(h[i].name) + strlen(h[i].value) + 2;
  }
  wt_buf *buf = n && need <= BR_REQ_MAX ? wt_buf_alloc(b->pool, need) : NULL;
  if (!buf) {
    return NULL;
  }
  uint8_t *p = buf->data;
  for (size_t i = 0; i < n; i++) {
    p = br_put(p, h[i].name);
    p = br_put(p, h[i].value);
  }
  buf->len = *len = (uint32_t)(p - buf->data);
  *n_out = (uint32_t)n;
  return buf;
}

static void br_on_session_open(void *user, wt_session *s) {
  wt_bridge *b = user;
  br_session *bs = wt_session_get_user(s);
  if (!bs) {
    return;
  }
  bs->open = 1;
  wt_msg m = wt_msg_ev_session_open(bs->h, wt_session_max_datagram(s));
  if (bs->client) {
    uint32_t len, n;
    wt_buf *fb = br_fields(b, s, &len, &n);
    m = wt_msg_ev_session_open_fields(bs->h, wt_session_max_datagram(s), fb, len, n);
    WT_LOG_INFO("outgoing session %llx open", (unsigned long long)bs->h);
  }
  br_post(b, bs->worker, &m);
}

/* An outgoing session did not open (status, or 0: no answer). */
static void br_on_session_refused(void *user, wt_session *s, int status) {
  wt_bridge *b = user;
  br_session *bs = wt_session_get_user(s);
  if (!bs) {
    return;
  }
  WT_LOG_WARN("outgoing session %llx refused: %s %d", (unsigned long long)bs->h,
              status ? "status" : "no answer (connection failed or lost), status", status);
  b->stats.connects_refused++;
  wt_session_set_user(s, NULL);
  bs->s = NULL;
  wt_msg m = wt_msg_ev_session_refused(bs->h, (uint32_t)(status > 0 ? status : 0));
  br_post(b, bs->worker, &m);
  br_client_done(b, bs);
  wt_hmap_del(&b->objs, bs->h);
  free(bs);
  b->stats.sessions--;
}

static void br_on_session_close(void *user, wt_session *s, uint32_t code, const uint8_t *reason,
                                size_t reason_len, int clean) {
  wt_bridge *b = user;
  br_session *bs = wt_session_get_user(s);
  if (bs) {
    session_end(b, bs, code, reason, reason_len, clean);
  }
}

static void br_on_session_drain(void *user, wt_session *s) {
  wt_bridge *b = user;
  br_session *bs = wt_session_get_user(s);
  if (bs) {
    wt_msg m = wt_msg_ev_session_drain(bs->h);
    br_post(b, bs->worker, &m);
  }
}

static void br_on_stream_open(void *user, wt_session *s, wt_stream *st) {
  wt_bridge *b = user;
  br_session *bs = wt_session_get_user(s);
  br_stream *bst = bs && bs->open ? calloc(1, sizeof(*bst)) : NULL;
  if (bst) {
    bst->type = BR_STREAM;
    bst->h = ++b->next_id;
    if (wt_hmap_put(&b->objs, bst->h, bst) < 0) {
      free(bst);
      bst = NULL;
    }
  }
  if (!bst) {
    /* not routed to an app (or no memory): refuse the stream */
    wt_stream_stop_sending(st, 0);
    if (wt_stream_is_bidi(st)) {
      wt_stream_reset(st, 0);
    }
    return;
  }
  b->stats.streams++;
  bst->st = st;
  bst->bs = bs;
  bst->bidi = wt_stream_is_bidi(st) ? 1 : 0;
  WT_DLIST_PUSH(&bs->streams, bst);
  wt_stream_set_user(st, bst);
  wt_stream_set_manual_credit(st, 1); /* credit only for what the worker consumed */
  wt_msg m = wt_msg_ev_stream_open(bst->h, bs->h, wt_stream_id(st), bst->bidi);
  br_post(b, bs->worker, &m);
}

static void br_on_stream_data(void *user, wt_stream *st, const uint8_t *data, size_t len, int fin) {
  wt_bridge *b = user;
  br_stream *bst = wt_stream_get_user(st);
  if (!bst || bst->type != BR_STREAM) {
    wt_stream_consume(st, len);
    return;
  }
  /* Received bytes are appended to the stream's tail buffer and posted as
   * one slice of it per shard turn (rx_post): a peer that sends one byte
   * per STREAM frame makes us hold its bytes (plus one partly filled buffer
   * per stream) and one message per stream and turn, not a 16 KiB buffer
   * and a message per frame. The worker only reads the slices it was
   * posted; later bytes are written before the next post hands them over. */
  size_t done = 0;
  while (done < len) {
    wt_buf *t = bst->rx_tail;
    if (t && t->len >= t->cap) {
      rx_post(b, bst);
      wt_buf_unref(t);
      t = bst->rx_tail = NULL;
    }
    if (!t) {
      t = br_buf(b, NULL, 0);
      if (!t) {
        /* no memory: the bytes are lost to the app; fail the stream loudly */
        WT_LOG_WARN("stream %llu: no buffer for received data: resetting",
                    (unsigned long long)wt_stream_id(st));
        rx_post(b, bst);
        wt_stream_consume(st, len - done);
        wt_stream_stop_sending(st, 0);
        return;
      }
      bst->rx_tail = t;
      bst->rx_posted = 0;
    }
    size_t n = len - done < t->cap - t->len ? len - done : t->cap - t->len;
    memcpy(t->data + t->len, data + done, n);
    t->len += (uint32_t)n;
    done += n;
  }
  if (fin) {
    bst->rx_fin = 1;
  }
  if ((len || fin) && !wt_list_linked(&bst->rx_node)) {
    wt_list_push(&b->rx_dirty, &bst->rx_node);
  }
}

static void br_on_stream_reset(void *user, wt_stream *st, uint32_t code, int has_code) {
  wt_bridge *b = user;
  br_stream *bst = wt_stream_get_user(st);
  if (bst && bst->type == BR_STREAM) {
    rx_post(b, bst);
    wt_msg m = wt_msg_ev_stream_reset(bst->h, code, has_code);
    br_post(b, bst->bs->worker, &m);
  }
}

static void br_on_stream_stop(void *user, wt_stream *st, uint32_t code, int has_code) {
  wt_bridge *b = user;
  void *u = wt_stream_get_user(st);
  if (!u) {
    return;
  }
  if (*(uint8_t *)u == BR_MIRROR) {
    /* a subscriber does not want this mirrored stream: drop it */
    mirror_free(b, u, 0, 0);
    return;
  }
  br_stream *bst = u;
  wt_msg m = wt_msg_ev_stream_stop(bst->h, code, has_code);
  br_post(b, bst->bs->worker, &m);
}

static void br_on_stream_close(void *user, wt_stream *st) {
  wt_bridge *b = user;
  void *u = wt_stream_get_user(st);
  if (!u) {
    return;
  }
  if (*(uint8_t *)u == BR_MIRROR) {
    br_mirror *mr = u;
    mr->st = NULL;
    mirror_free(b, mr, 0, 0);
    return;
  }
  br_stream *bst = u;
  rx_post(b, bst);
  wt_msg m = wt_msg_ev_stream_close(bst->h, bst->token);
  br_post(b, bst->bs->worker, &m);
  bst->st = NULL;
  stream_free(b, bst);
}

static void br_on_datagram(void *user, wt_session *s, const uint8_t *data, size_t len) {
  wt_bridge *b = user;
  br_session *bs = wt_session_get_user(s);
  if (!bs || !bs->open) {
    return;
  }
  wt_buf *buf = br_buf(b, data, len);
  if (!buf) {
    b->stats.datagrams_dropped++;
    return;
  }
  wt_msg m = wt_msg_ev_datagram(bs->h, buf, (uint32_t)len);
  m.sh = (uint16_t)b->cfg.shard;
  if (wt_lring_post_or_drop(&b->links[bs->worker]->ev, &m) < 0) {
    wt_buf_unref(buf);
    b->stats.datagrams_dropped++;
  }
}

void wt_bridge_engine_callbacks(wt_engine_callbacks *cb) {
  memset(cb, 0, sizeof(*cb));
  cb->session_request = br_on_session_request;
  cb->session_open = br_on_session_open;
  cb->session_close = br_on_session_close;
  cb->session_drain = br_on_session_drain;
  cb->session_refused = br_on_session_refused;
  cb->stream_open = br_on_stream_open;
  cb->stream_data = br_on_stream_data;
  cb->stream_reset = br_on_stream_reset;
  cb->stream_stop = br_on_stream_stop;
  cb->stream_close = br_on_stream_close;
  cb->datagram = br_on_datagram;
}

/* ------------------------------------------------------------------ releases */

static void br_release_unref(void *arg, const uint8_t *data, size_t len) {
  (void)data;
  (void)len;
  wt_buf_unref(arg);
}

/* The send window a stream of this connection is worth now: twice the
 * congestion window (what a TCP stack sizes its send buffer to), so
 * acknowledgements free credit while the window is still in flight
 * (wt_app_ctx.c grows a stream's credit up to it, within its cap). 0 when
 * unknown. */
static uint64_t br_window_hint(const br_stream *bst) {
  wt_session *s = bst->st ? wt_stream_session(bst->st) : NULL;
  wt_conn_info ci;
  if (!s || wt_conn_get_info(wt_session_conn(s), &ci) < 0) {
    return 0;
  }
  return ci.cwnd > UINT64_MAX / 2 ? UINT64_MAX : 2 * ci.cwnd;
}

/* A write of the worker's is acknowledged (or dropped): its bytes go back
 * to the worker as credit, with the window hint. */
static void br_release_write(void *arg, const uint8_t *data, size_t len) {
  (void)data;
  wt_buf *buf = arg;
  wt_bridge *b = (wt_bridge *)(uintptr_t)buf->tag2;
  br_stream *bst = find_stream(b, buf->tag, 0);
  if (bst && bst->bs) {
    wt_msg m = wt_msg_ev_stream_credit(bst->h, len, br_window_hint(bst));
    br_post(b, bst->bs->worker, &m);
  }
  wt_buf_unref(buf);
}

/* ------------------------------------------------------------------ stream writes and opens */

/* Write a WT_CMD_WRITE to the engine stream. Owns m's buffer reference. */
static void br_write(wt_bridge *b, br_stream *bst, const wt_msg *m) {
  const wt_cmd_write *c = wt_msg_get_cmd_write(m);
  if (bst->reset_req) {
    if (m->buf) {
      wt_buf_unref(m->buf);
    }
    return;
  }
  if (!m->buf || m->len == 0) {
    if (c->fin) {
      wt_stream_write(bst->st, NULL, 0, 1);
    }
    if (m->buf) {
      wt_buf_unref(m->buf);
    }
    return;
  }
  m->buf->tag = bst->h;
  m->buf->tag2 = (uint64_t)(uintptr_t)b;
  /* The worker fills one tail buffer per stream (wt_app_stream_write): its
   * successive slices join one engine entry, whose release gives back the
   * joined length; the reference of a joined slice is not needed. */
  int joined = 0;
  int rv = wt_stream_write_ref_join(bst->st, m->buf->data + m->off, m->len, c->fin,
                                    br_release_write, m->buf, &joined);
  if (rv >= 0 && joined) {
    wt_buf_unref(m->buf);
  } else if (rv < 0) {
    /* the stream cannot take it (reset, stopped): give the credit back so
     * the app is not stuck waiting; stream_stop/close tell it why */
    wt_msg e = wt_msg_ev_stream_credit(bst->h, m->len, 0);
    br_post(b, bst->bs->worker, &e);
    wt_buf_unref(m->buf);
  }
}

/* Keep a write for a stream whose open waits. Owns m's buffer reference.
 * The next slice of the last queued write's buffer joins it (one entry per
 * buffer, not per write). */
static void queue_write(br_stream *bst, const wt_msg *m) {
  br_pending_write *t = bst->wq_tail;
  if (t && m->buf && t->m.buf == m->buf && !wt_msg_get_cmd_write(&t->m)->fin &&
      !wt_msg_get_cmd_write(m)->fin && t->m.off + t->m.len == m->off &&
      t->m.len <= UINT32_MAX - m->len) {
    t->m.len += m->len;
    wt_buf_unref(m->buf);
    return;
  }
  br_pending_write *w = malloc(sizeof(*w));
  if (!w) {
    if (m->buf) {
      wt_buf_unref(m->buf);
    }
    return;
  }
  w->next = NULL;
  w->m = *m;
  if (bst->wq_tail) {
    bst->wq_tail->next = w;
  } else {
    bst->wq_head = w;
  }
  bst->wq_tail = w;
}

static void br_open_done(wt_bridge *b, br_stream *bst, wt_stream *st) {
  bst->st = st;
  bst->h = ++b->next_id;
  if (wt_hmap_put(&b->objs, bst->h, bst) < 0) {
    bst->h = 0; /* still reachable by token */
  }
  wt_stream_set_user(st, bst);
  wt_msg m = wt_msg_ev_stream_opened(bst->h, bst->token, wt_stream_id(st));
  br_post(b, bst->bs->worker, &m);
  if (bst->reset_req) {
    wt_stream_reset(st, 0);
  }
  while (bst->wq_head) {
    br_pending_write *w = bst->wq_head;
    bst->wq_head = w->next;
    if (!bst->wq_head) {
      bst->wq_tail = NULL;
    }
    br_write(b, bst, &w->m);
    free(w);
  }
}

/* 1 if opened (or failed for good), 0 if it must wait for stream credit. */
static int br_try_open(wt_bridge *b, br_stream *bst) {
  wt_stream *st = NULL;
  int rv = wt_session_open_stream(bst->bs->s, bst->bidi, &st);
  if (rv == WT_ERR_AGAIN) {
    return 0;
  }
  if (rv < 0) {
    wt_msg m = wt_msg_ev_stream_close(0, bst->token);
    br_post(b, bst->bs->worker, &m);
    stream_free(b, bst);
    return 1;
  }
  br_open_done(b, bst, st);
  return 1;
}

static void retry_opens(wt_bridge *b) {
  size_t budget = BR_OPEN_RETRY, left = 0;
  WT_HMAP_FOREACH(&b->objs, slot) {
    br_session *bs = slot->val;
    if (bs->type != BR_SESSION || !bs->pend_head) {
      continue;
    }
    /* a pending stream is freed only with its session (which clears the
     * queue) or by br_try_open itself: read pnext first */
    while (bs->pend_head && budget) {
      br_stream *bst = bs->pend_head, *nx = bst->pnext;
      budget--;
      if (!br_try_open(b, bst)) {
        break;
      }
      bs->pend_head = nx;
      if (!bs->pend_head) {
        bs->pend_tail = NULL;
      }
    }
    left += bs->pend_head != NULL;
  }
  b->pending_opens = left;
}

/* ------------------------------------------------------------------ fan-out groups */

static br_member *find_member(br_session *bs, const br_group *g) {
  for (br_member *mb = bs->members; mb; mb = mb->snext) {
    if (mb->g == g) {
      return mb;
    }
  }
  return NULL;
}

static br_mirror *find_mirror(br_member *mb, uint64_t gsid) {
  for (br_mirror *mr = mb->mtail ? mb->mirrors : NULL; mr; mr = mr->next) {
    if (mr->gsid == gsid) {
      return mr;
    }
  }
  return NULL;
}

/* The member's backlog, as the lag bound counts it: what its mirrored
 * streams' unacknowledged bytes hold, the capacity of the distinct
 * publisher buffers they reference (wt_held.h), not their payload: one
 * byte per group would otherwise pin a whole buffer per byte. Runs the
 * peer acknowledged since the last look are given back first. Lag notices
 * are not counted (their group header only, at most
 * WT_APP_GROUP_NOTICES_MAX of them). */
static uint64_t member_backlog(br_member *mb) {
  for (br_mirror *x = mb->mirrors; x; x = x->next) {
    if (x->st && !x->notice && x->held.n) {
      uint64_t unacked = wt_stream_send_backlog(x->st);
      uint64_t acked = x->written > unacked ? x->written - unacked : 0;
      uint64_t freed = wt_held_ack(&x->held, acked);
      mb->held = mb->held > freed ? mb->held - freed : 0;
    }
  }
  return mb->held;
}

/* mb lost a group: the counters' worst member (wt_app.h member_dropped_max) */
static void member_dropped(br_member *mb) {
  uint64_t n = ++mb->n_dropped;
  wt_app_group_counters *c = mb->g->cnt;
  if (c) {
    uint64_t cur = atomic_load_explicit(&c->member_dropped_max, memory_order_relaxed);
    while (n > cur &&
           !atomic_compare_exchange_weak_explicit(&c->member_dropped_max, &cur, n,
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
  }
}

static void count_lagged(br_member *mb, int with_hdr) {
  br_group *g = mb->g;
  member_dropped(mb);
  if (g->cnt) {
    atomic_fetch_add_explicit(&g->cnt->dropped_streams_lagged, 1, memory_order_relaxed);
    if (with_hdr) {
      atomic_fetch_add_explicit(&g->cnt->dropped_streams_lagged_hdr, 1, memory_order_relaxed);
    }
  }
}

/* Reset mr's stream for lag, keeping what it wrote of its group header
 * deliverable when the peer negotiated reset_stream_at (wt_app.h). Returns
 * 1 if the whole header was kept. */
static int mirror_reset_lagged(br_mirror *mr) {
  uint64_t keep = mr->written < mr->hdr_len ? mr->written : mr->hdr_len;
  if (!mr->st) {
    return 0;
  }
  int at = keep > 0 && mr->mb->bs->s && wt_session_can_reset_at(mr->mb->bs->s);
  if (at) {
    wt_stream_reset_at(mr->st, WT_APP_GROUP_LAGGED, keep);
  } else {
    wt_stream_reset(mr->st, WT_APP_GROUP_LAGGED);
  }
  return at && keep == mr->hdr_len;
}

static uint64_t br_now(const wt_bridge *b) {
  if (b->cfg.clock) {
    return b->cfg.clock(b->cfg.clock_arg);
  }
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* What mb's lag bound is checked against: its own backlog, or (pooled)
 * the sum of its session's pooled members' backlogs (wt_app.h). */
static uint64_t bound_backlog(br_member *mb) {
  if (!mb->pooled) {
    return member_backlog(mb);
  }
  uint64_t sum = 0;
  for (br_member *x = mb->bs->members; x; x = x->snext) {
    if (x->pooled) {
      sum += member_backlog(x);
    }
  }
  return sum;
}

/* The oldest mirror of x that carries a group and holds bytes. */
static br_mirror *oldest_holding(br_member *x) {
  for (br_mirror *m = x->mirrors; m; m = m->next) {
    if (!m->notice && wt_held_total(&m->held)) {
      return m;
    }
  }
  return NULL;
}

/* The group a pooled member mb's session drops first to make room: the
 * oldest holding mirror of the lowest-priority pooled member below mb's
 * priority (strictly, for a group about to open) or at most mb's (for a
 * write); NULL when there is none. */
static br_mirror *pooled_victim(br_member *mb, int strictly) {
  br_mirror *best = NULL;
  unsigned best_prio = 256;
  for (br_member *x = mb->bs->members; x; x = x->snext) {
    if (!x->pooled || x->prio > mb->prio || (strictly && x->prio == mb->prio)) {
      continue;
    }
    br_mirror *o = oldest_holding(x);
    if (o && (x->prio < best_prio || (x->prio == best_prio && o->order < best->order))) {
      best = o;
      best_prio = x->prio;
    }
  }
  return best;
}

/* Reset old (a group of mb's session) for lag so that mb's write fits;
 * counted as a priority drop when old belongs to another member. */
static void drop_for_room(wt_bridge *b, br_member *mb, br_mirror *old) {
  br_member *om = old->mb;
  om->lagging = 1;
  count_lagged(om, mirror_reset_lagged(old));
  if (om != mb) {
    om->n_prio++;
    if (om->g->cnt) {
      atomic_fetch_add_explicit(&om->g->cnt->dropped_streams_priority, 1, memory_order_relaxed);
    }
    WT_LOG_DEBUG("session %llu: group of priority %u dropped for one of priority %u (%llu so far)",
                 (unsigned long long)om->bs->h, om->prio, mb->prio, (unsigned long long)om->n_prio);
  }
  mirror_free(b, old, 0, 0);
}

/* mb's latency budget (wt_app.h): its mirrors older than max_lat_ns that
 * are not their group's newest and still hold unacknowledged bytes (or
 * still receive them) are reset. Those still within it bring the bridge's
 * next sweep (b->lat_due) forward to when they will not be: a track that
 * goes quiet does not keep a stale group past its budget
 * (wt_bridge_next_expiry). */
static void latency_sweep(wt_bridge *b, br_member *mb) {
  if (!mb->max_lat_ns) {
    return;
  }
  uint64_t now = br_now(b);
  for (br_mirror *x = mb->mirrors, *nx; x; x = nx) {
    nx = x->next;
    if (x->notice || !x->st || x->gsid == mb->g->newest_gsid ||
        (x->fin && wt_stream_send_backlog(x->st) == 0)) {
      continue;
    }
    if (now - x->t_open <= mb->max_lat_ns || now < x->t_open) {
      uint64_t due = x->t_open + mb->max_lat_ns + 1;
      due += BR_LAT_TICK_NS - due % BR_LAT_TICK_NS;
      if (due < b->lat_due) {
        b->lat_due = due;
      }
      continue;
    }
    mirror_reset_lagged(x);
    mb->n_latency++;
    member_dropped(mb);
    if (mb->g->cnt) {
      atomic_fetch_add_explicit(&mb->g->cnt->dropped_streams_latency, 1, memory_order_relaxed);
    }
    WT_LOG_DEBUG("session %llu: group older than its %llu ms budget dropped (%llu so far)",
                 (unsigned long long)mb->bs->h, (unsigned long long)(mb->max_lat_ns / 1000000),
                 (unsigned long long)mb->n_latency);
    mirror_free(b, x, 0, 0);
  }
}

static void mirror_open(wt_bridge *b, br_member *mb, uint64_t gsid, uint32_t hdr_len) {
  if (!mb->bs->s || !mb->bs->open || find_mirror(mb, gsid)) {
    return;
  }
  latency_sweep(b, mb);
  int notice = 0;
  uint64_t backlog = bound_backlog(mb);
  if (mb->pooled && backlog > mb->g->lag_max) {
    /* a pooled member's new group first takes the room of lower-priority
     * tracks' groups (wt_app.h) */
    br_mirror *old;
    while (backlog > mb->g->lag_max && (old = pooled_victim(mb, 1)) != NULL) {
      drop_for_room(b, mb, old);
      backlog = bound_backlog(mb);
    }
  }
  if (backlog > mb->g->lag_max || (mb->lagging && backlog > mb->g->lag_max / 2)) {
    /* lagging (wt_app.h): the group is dropped for this member until it is
     * back under half the bound. With a group header and reset_stream_at
     * it still gets the header and a reset (a lag notice), a bounded
     * number at a time; else it is skipped before it starts (the peer
     * could not attribute a reset anyway) */
    if (hdr_len == 0 || mb->notices >= WT_APP_GROUP_NOTICES_MAX ||
        !wt_session_can_reset_at(mb->bs->s)) {
      count_lagged(mb, 0);
      return;
    }
    notice = 1;
  } else {
    mb->lagging = 0;
  }
  wt_stream *st = NULL;
  if (wt_session_open_stream(mb->bs->s, 0, &st) < 0) {
    member_dropped(mb);
    if (mb->g->cnt) {
      atomic_fetch_add_explicit(&mb->g->cnt->dropped_streams_limit, 1, memory_order_relaxed);
    }
    return; /* this member skips the group */
  }
  br_mirror *mr = calloc(1, sizeof(*mr));
  if (!mr) {
    wt_stream_reset(st, WT_APP_GROUP_LAGGED);
    return;
  }
  mr->type = BR_MIRROR;
  mr->mb = mb;
  mr->gsid = gsid;
  mr->st = st;
  mr->hdr_len = hdr_len;
  mr->t_open = br_now(b);
  mr->order = ++b->next_order;
  mr->notice = (uint8_t)notice;
  mb->notices += (uint32_t)notice;
  if (mb->mtail) {
    mb->mtail->next = mr;
  } else {
    mb->mirrors = mr;
  }
  mb->mtail = mr;
  wt_stream_set_user(st, mr);
  b->stats.mirrors++;
}

/* Write len bytes of buf at off to mr's stream (by reference). Successive
 * slices of one publisher buffer (the bridge's receive tail buffer) join
 * one engine entry: the joined slice's reference is dropped at once. */
static int mirror_put(br_mirror *mr, wt_buf *buf, uint32_t off, uint32_t len, int fin) {
  int rv;
  if (len) {
    int joined = 0;
    wt_buf_ref(buf);
    rv =
        wt_stream_write_ref_join(mr->st, buf->data + off, len, fin, br_release_unref, buf, &joined);
    if (rv < 0 || joined) {
      wt_buf_unref(buf);
    }
  } else {
    rv = wt_stream_write(mr->st, NULL, 0, fin);
  }
  if (rv >= 0) {
    mr->written += len;
    if (len && !mr->notice) {
      /* what the lag bound counts (member_backlog); without memory for
       * the record the buffer is not counted (it is still released) */
      int64_t c = wt_held_add(&mr->held, buf, buf->cap, mr->written);
      mr->mb->held += c > 0 ? (uint64_t)c : 0;
    }
  }
  return rv;
}

/* A lag notice takes the group header only, then is reset (wt_app.h). */
static void notice_write(br_mirror *mr, wt_buf *buf, uint32_t off, uint32_t len, int fin) {
  uint64_t want = mr->hdr_len - mr->written;
  uint32_t take = len < want ? len : (uint32_t)want;
  if (take && mirror_put(mr, buf, off, take, 0) < 0) {
    return;
  }
  if (mr->written >= mr->hdr_len || fin) {
    mr->fin = 1;
    count_lagged(mr->mb, mirror_reset_lagged(mr));
  }
}

/* The oldest mirror of mb that still carries a group (not a notice). */
static br_mirror *oldest_live(br_member *mb) {
  br_mirror *x = mb->mirrors;
  while (x && x->notice) {
    x = x->next;
  }
  return x;
}

/* Write len bytes of buf to mirror gsid of member mb, enforcing the lag
 * bound first (oldest mirrored streams reset until the rest fits). */
static void mirror_write(wt_bridge *b, br_member *mb, uint64_t gsid, wt_buf *buf, uint32_t off,
                         uint32_t len, int fin) {
  latency_sweep(b, mb);
  br_mirror *mr = find_mirror(mb, gsid);
  if (!mr || mr->fin) {
    return;
  }
  br_group *g = mb->g;
  if (mr->notice) {
    notice_write(mr, buf, off, len, fin);
    return;
  }
  /* what the write would pin: its buffer's capacity, unless it continues
   * the buffer this mirror references last */
  uint64_t backlog = bound_backlog(mb);
  uint64_t add = len ? wt_held_cost(&mr->held, buf, buf->cap) : 0;
  br_mirror *old;
  if (mb->pooled) {
    /* the session's lowest-priority oldest groups go first; the target
     * itself when only higher priorities (or nothing) hold the rest, or
     * when it is older than the candidate of its own priority */
    while (backlog + add > g->lag_max) {
      old = pooled_victim(mb, 0);
      if (!old || (old->mb->prio == mb->prio && old->order > mr->order)) {
        old = mr;
      }
      int was_target = old == mr;
      drop_for_room(b, mb, old);
      if (was_target) {
        return; /* this member skips the rest of the group */
      }
      backlog = bound_backlog(mb);
    }
  }
  while (backlog + add > g->lag_max && (old = oldest_live(mb))) {
    uint64_t had = wt_held_total(&old->held);
    backlog = backlog > had ? backlog - had : 0;
    int was_target = old == mr;
    mb->lagging = 1;
    int hdr = mirror_reset_lagged(old);
    count_lagged(old->mb, hdr);
    mirror_free(b, old, 0, 0);
    if (was_target) {
      return; /* this member skips the rest of the group */
    }
  }
  if (mirror_put(mr, buf, off, len, fin) < 0) {
    return;
  }
  if (fin) {
    mr->fin = 1;
  }
  if (g->cnt) {
    atomic_fetch_add_explicit(&g->cnt->delivered_stream_bytes, len, memory_order_relaxed);
    if (fin) {
      atomic_fetch_add_explicit(&g->cnt->delivered_streams, 1, memory_order_relaxed);
    }
  }
}

static void group_free(wt_bridge *b, br_group *g, uint32_t code) {
  while (g->members) {
    member_free(b, g->members, code, 1);
  }
  wt_hmap_del(&b->groups, g->gid);
  wt_app_group_counters_unref(g->cnt); /* this mirror's reference */
  free(g);
  b->stats.groups--;
}

/* ------------------------------------------------------------------ command handlers */

/* One handler per command kind (wt_msg.h). The dispatcher drops the
 * message's buffer reference after the handler, unless it took it. */
typedef void br_cmd_fn(wt_bridge *b, wt_msg *m);

/* The chosen protocol and extra fields of a WT_CMD_RESPOND (wt_msg.h). The
 * worker checked them already; what the engine still refuses is counted. */
static void br_respond_fields(wt_bridge *b, wt_session *s, wt_msg *m, uint32_t n_headers) {
  if (!m->buf || m->len == 0) {
    return;
  }
  const char *p = (const char *)m->buf->data + m->off, *end = p + m->len;
  if (end[-1] != 0) {
    b->stats.stale_commands++; /* not NUL-terminated: a bug on the worker's side */
    return;
  }
  if (*p && wt_session_set_protocol(s, p) != 0) {
    b->stats.stale_commands++;
  }
  p += strlen(p) + 1;
  for (uint32_t i = 0; i < n_headers && p < end; i++) {
    const char *name = p;
    p += strlen(p) + 1;
    if (p >= end) {
      break;
    }
    if (wt_session_add_header(s, name, p) != 0) {
      b->stats.stale_commands++;
    }
    p += strlen(p) + 1;
  }
}

static void cmd_respond(wt_bridge *b, wt_msg *m) {
  const wt_cmd_respond *c = wt_msg_get_cmd_respond(m);
  br_session *bs = find_session(b, c->session);
  if (!bs || bs->answered || !bs->s) {
    b->stats.stale_commands++;
    return;
  }
  bs->answered = 1;
  br_respond_fields(b, bs->s, m, c->n_headers);
  if (c->status == 200) {
    wt_session_respond(bs->s, 200);
    return;
  }
  /* refused: the engine frees its session; the app already forgot it */
  wt_session *s = bs->s;
  wt_session_set_user(s, NULL);
  bs->s = NULL;
  wt_hmap_del(&b->objs, bs->h);
  free(bs);
  b->stats.sessions--;
  wt_session_respond(s, (int)c->status);
}

static void cmd_datagram(wt_bridge *b, wt_msg *m) {
  const wt_cmd_datagram *c = wt_msg_get_cmd_datagram(m);
  br_session *bs = find_session(b, c->session);
  if (!bs || !bs->s || !m->buf ||
      wt_session_send_datagram_ref(bs->s, m->buf->data + m->off, m->len, br_release_unref, m->buf) <
          0) {
    b->stats.datagrams_dropped++;
    return;
  }
  wt_msg_take_buf(m); /* the engine holds the reference now */
}

static void cmd_open_stream(wt_bridge *b, wt_msg *m) {
  const wt_cmd_open_stream *c = wt_msg_get_cmd_open_stream(m);
  br_session *bs = find_session(b, c->session);
  if (!bs || !bs->open || !bs->s) {
    b->stats.stale_commands++;
    return; /* the worker hears the session close and drops its stream */
  }
  br_stream *bst = calloc(1, sizeof(*bst));
  if (!bst || wt_hmap_put(&b->tokens, c->token, bst) < 0) {
    free(bst);
    wt_msg e = wt_msg_ev_stream_close(0, c->token);
    br_post(b, bs->worker, &e);
    return;
  }
  b->stats.streams++;
  bst->type = BR_STREAM;
  bst->local = 1;
  bst->bidi = c->bidi;
  bst->token = c->token;
  bst->bs = bs;
  WT_DLIST_PUSH(&bs->streams, bst);
  if (bs->pend_head || !br_try_open(b, bst)) {
    if (bs->pend_tail) {
      bs->pend_tail->pnext = bst;
    } else {
      bs->pend_head = bst;
    }
    bs->pend_tail = bst;
    b->pending_opens++;
  }
}

/* The stream a command names; a stale command when it is gone. */
static br_stream *cmd_stream(wt_bridge *b, wt_msg_stream ref) {
  br_stream *bst = find_stream(b, ref.id, ref.token);
  if (!bst) {
    b->stats.stale_commands++;
  }
  return bst;
}

static void cmd_write(wt_bridge *b, wt_msg *m) {
  br_stream *bst = cmd_stream(b, wt_msg_get_cmd_write(m)->stream);
  if (!bst) {
    return;
  }
  if (!bst->st) {
    queue_write(bst, m);
  } else {
    br_write(b, bst, m);
  }
  wt_msg_take_buf(m); /* queue_write / br_write own the reference */
}

static void cmd_reset(wt_bridge *b, wt_msg *m) {
  const wt_cmd_reset *c = wt_msg_get_cmd_reset(m);
  br_stream *bst = cmd_stream(b, c->stream);
  if (!bst) {
    return;
  }
  bst->reset_req = 1; /* a stream still opening is reset once open */
  if (bst->st) {
    wt_stream_reset(bst->st, c->code);
  }
}

static void cmd_stop_sending(wt_bridge *b, wt_msg *m) {
  const wt_cmd_stop_sending *c = wt_msg_get_cmd_stop_sending(m);
  br_stream *bst = cmd_stream(b, c->stream);
  if (bst && bst->st) {
    wt_stream_stop_sending(bst->st, c->code);
  }
}

static void cmd_consume(wt_bridge *b, wt_msg *m) {
  const wt_cmd_consume *c = wt_msg_get_cmd_consume(m);
  br_stream *bst = find_stream(b, c->stream.id, c->stream.token);
  if (bst && bst->st) {
    wt_stream_consume(bst->st, c->bytes);
  }
}

static void cmd_close(wt_bridge *b, wt_msg *m) {
  const wt_cmd_close *c = wt_msg_get_cmd_close(m);
  br_session *bs = find_session(b, c->session);
  if (bs && bs->s) {
    wt_session_close(bs->s, c->code, wt_msg_data(m), m->buf ? m->len : 0);
  }
}

static void cmd_drain(wt_bridge *b, wt_msg *m) {
  br_session *bs = find_session(b, wt_msg_get_cmd_drain(m)->session);
  if (bs && bs->s) {
    wt_session_drain(bs->s);
  }
}

static void cmd_group_new(wt_bridge *b, wt_msg *m) {
  const wt_cmd_group_new *c = wt_msg_get_cmd_group_new(m);
  if (wt_hmap_get(&b->groups, c->group)) {
    wt_app_group_counters_unref(c->counters);
    return;
  }
  br_group *g = calloc(1, sizeof(*g));
  if (!g || wt_hmap_put(&b->groups, c->group, g) < 0) {
    free(g);
    wt_app_group_counters_unref(c->counters);
    WT_LOG_ERROR("no memory for a fan-out group");
    return;
  }
  g->gid = c->group;
  g->lag_max = c->lag_max;
  g->cnt = c->counters;
  b->stats.groups++;
}

/* The group a command names; a stale command when it is gone. */
static br_group *cmd_group(wt_bridge *b, uint64_t gid) {
  br_group *g = wt_hmap_get(&b->groups, gid);
  if (!g) {
    b->stats.stale_commands++;
  }
  return g;
}

/* Session h's membership of g (NULL when it is not a member). */
static br_member *cmd_member(wt_bridge *b, br_group *g, uint64_t h) {
  br_session *bs = find_session(b, h);
  return bs ? find_member(bs, g) : NULL;
}

static void group_del(wt_bridge *b, uint64_t gid, uint32_t code) {
  br_group *g = cmd_group(b, gid);
  if (g) {
    group_free(b, g, code);
  }
}

/* The test hook's held-back GROUP_DELs, oldest first, down to keep. */
static void defer_flush(wt_bridge *b, uint32_t keep) {
  while (b->defer_n > keep) {
    uint32_t i = b->defer_head;
    b->defer_head = (b->defer_head + 1) % b->defer_max;
    b->defer_n--;
    br_group *g = cmd_group(b, b->defer_gid[i]);
    if (g && g->cnt && atomic_load_explicit(&g->cnt->refs_, memory_order_relaxed) == 1) {
      b->defer_outlived++; /* the window the hook is for: every other owner let go */
    }
    group_del(b, b->defer_gid[i], b->defer_code[i]);
  }
}

static void cmd_group_del(wt_bridge *b, wt_msg *m) {
  const wt_cmd_group_del *c = wt_msg_get_cmd_group_del(m);
  if (b->defer_max && !b->detached) {
    /* the test hook: handled only after defer_max later ones (or once no
     * session is left), so the app side has long dropped its counters */
    defer_flush(b, b->defer_max - 1);
    uint32_t i = (b->defer_head + b->defer_n++) % b->defer_max;
    b->defer_gid[i] = c->group;
    b->defer_code[i] = c->code;
    return;
  }
  group_del(b, c->group, c->code);
}

/* mb's latency budget becomes max_lat_ns: it is on the sweep's list
 * while it has one, and a new budget is looked at on the next poll. */
static void member_set_latency(wt_bridge *b, br_member *mb, uint64_t max_lat_ns) {
  mb->max_lat_ns = max_lat_ns;
  if (!max_lat_ns) {
    wt_list_del(&mb->lat_node);
    return;
  }
  if (!wt_list_linked(&mb->lat_node)) {
    wt_list_push(&b->lat_members, &mb->lat_node);
  }
  b->lat_due = 0;
}

/* The latency budgets' timer (wt_bridge_next_expiry): every member with a
 * budget is swept, which sets the next due time afresh. */
static void latency_timer(wt_bridge *b) {
  b->lat_due = UINT64_MAX;
  for (wt_list_node *l = b->lat_members.next, *nl; l != &b->lat_members; l = nl) {
    nl = l->next;
    latency_sweep(b, wt_container_of(l, br_member, lat_node));
  }
}

uint64_t wt_bridge_next_expiry(const wt_bridge *b) {
  return b->lat_due;
}

static void cmd_group_join(wt_bridge *b, wt_msg *m) {
  const wt_cmd_group_join *c = wt_msg_get_cmd_group_join(m);
  br_group *g = cmd_group(b, c->group);
  br_session *bs = g ? find_session(b, c->session) : NULL;
  if (!bs) {
    return;
  }
  br_member *mb = find_member(bs, g);
  if (mb) { /* a member already: its policy changes */
    mb->pooled = c->pooled;
    mb->prio = c->priority;
    member_set_latency(b, mb, c->max_latency_ns);
    return;
  }
  mb = calloc(1, sizeof(*mb));
  if (!mb) {
    return;
  }
  mb->g = g;
  mb->bs = bs;
  mb->pooled = c->pooled;
  mb->prio = c->priority;
  member_set_latency(b, mb, c->max_latency_ns);
  WT_DLIST_PUSH(&g->members, mb);
  mb->snext = bs->members;
  bs->members = mb;
  b->stats.members++;
}

static void cmd_group_leave(wt_bridge *b, wt_msg *m) {
  const wt_cmd_group_leave *c = wt_msg_get_cmd_group_leave(m);
  br_group *g = cmd_group(b, c->group);
  br_member *mb = g ? cmd_member(b, g, c->session) : NULL;
  if (mb) {
    member_free(b, mb, 0, 1);
  }
}

static void cmd_group_datagram(wt_bridge *b, wt_msg *m) {
  br_group *g = cmd_group(b, wt_msg_get_cmd_group_datagram(m)->group);
  if (!g) {
    return;
  }
  uint64_t ok = 0, dropped = 0;
  for (br_member *mb = g->members; mb; mb = mb->next) {
    if (!mb->bs->s || !mb->bs->open) {
      continue;
    }
    wt_buf_ref(m->buf);
    if (wt_session_send_datagram_ref(mb->bs->s, m->buf->data + m->off, m->len, br_release_unref,
                                     m->buf) < 0) {
      wt_buf_unref(m->buf);
      dropped++;
    } else {
      ok++;
    }
  }
  if (g->cnt) {
    atomic_fetch_add_explicit(&g->cnt->delivered_datagrams, ok, memory_order_relaxed);
    atomic_fetch_add_explicit(&g->cnt->dropped_datagrams, dropped, memory_order_relaxed);
  }
}

static void cmd_group_stream(wt_bridge *b, wt_msg *m) {
  const wt_cmd_group_stream *c = wt_msg_get_cmd_group_stream(m);
  br_group *g = cmd_group(b, c->group);
  if (g) {
    g->newest_gsid = c->gsid;
  }
  for (br_member *mb = g ? g->members : NULL; mb; mb = mb->next) {
    mirror_open(b, mb, c->gsid, c->hdr_len);
  }
}

static void cmd_group_write(wt_bridge *b, wt_msg *m) {
  const wt_cmd_group_write *c = wt_msg_get_cmd_group_write(m);
  br_group *g = cmd_group(b, c->group);
  for (br_member *mb = g ? g->members : NULL; mb; mb = mb->next) {
    mirror_write(b, mb, c->gsid, m->buf, m->off, m->len, c->fin);
  }
}

static void cmd_group_reset(wt_bridge *b, wt_msg *m) {
  const wt_cmd_group_reset *c = wt_msg_get_cmd_group_reset(m);
  br_group *g = cmd_group(b, c->group);
  for (br_member *mb = g ? g->members : NULL; mb; mb = mb->next) {
    br_mirror *mr = find_mirror(mb, c->gsid);
    if (mr) {
      mirror_free(b, mr, c->code, !mr->fin);
    }
  }
}

static void cmd_group_catchup(wt_bridge *b, wt_msg *m) {
  const wt_cmd_group_catchup *c = wt_msg_get_cmd_group_catchup(m);
  br_group *g = cmd_group(b, c->group);
  br_member *mb = g ? cmd_member(b, g, c->session) : NULL;
  if (mb) {
    mirror_open(b, mb, c->gsid, c->hdr_len);
  }
}

static void cmd_group_catchup_data(wt_bridge *b, wt_msg *m) {
  const wt_cmd_group_catchup_data *c = wt_msg_get_cmd_group_catchup_data(m);
  br_group *g = cmd_group(b, c->group);
  br_member *mb = g ? cmd_member(b, g, c->session) : NULL;
  if (mb) {
    mirror_write(b, mb, c->gsid, m->buf, m->off, m->len, c->fin);
  }
}

/* An outgoing session could not be started: the worker hears it at once. */
static void connect_fail(wt_bridge *b, const wt_cmd_connect *c, uint32_t worker,
                         const char *authority, const char *why) {
  WT_LOG_WARN("outgoing session to %s failed: %s", authority, why);
  b->stats.connects_failed++;
  wt_msg e = wt_msg_ev_session_refused(c->session, 0);
  br_post(b, worker, &e);
}

static void cmd_connect(wt_bridge *b, wt_msg *m) {
  const wt_cmd_connect *c = wt_msg_get_cmd_connect(m);
  uint32_t worker = c->worker % b->cfg.n_workers;
  const char *f[3] = {"", "", ""};
  const char *p = m->buf ? (const char *)m->buf->data + m->off : NULL;
  const char *end = p ? p + m->len : NULL;
  if (!p || m->len < 3 || end[-1] != 0) {
    connect_fail(b, c, worker, "?", "malformed command");
    return;
  }
  for (int k = 0; k < 3; k++) {
    if (p >= end) {
      connect_fail(b, c, worker, "?", "malformed command");
      return;
    }
    f[k] = p;
    p += strlen(p) + 1;
  }
  const char *protos[WT_APP_MAX_PROTOCOLS];
  size_t np = 0;
  for (uint32_t i = 0; i < c->n_protocols && np < WT_APP_MAX_PROTOCOLS && p < end; i++) {
    protos[np++] = p;
    p += strlen(p) + 1;
  }
  wt_io_addr ra;
  wt_path path;
  memset(&path, 0, sizeof(path));
  if (find_session(b, c->session)) {
    b->stats.stale_commands++; /* the worker's ids are never reused */
    return;
  }
  if (b->draining) {
    connect_fail(b, c, worker, f[0], "this server is shutting down");
    return;
  }
  if (wt_io_addr_parse(f[0], &ra) < 0) {
    connect_fail(b, c, worker, f[0], "not a numeric HOST:PORT");
    return;
  }
  memcpy(&path.remote.ss, &ra.ss, sizeof(ra.ss));
  path.remote.len = ra.len;
  if (!b->cfg.local_for || b->cfg.local_for(b->cfg.local_arg, &path.remote, &path.local) < 0) {
    connect_fail(b, c, worker, f[0], "no local address towards it");
    return;
  }
  br_session *bs = calloc(1, sizeof(*bs));
  if (!bs) {
    connect_fail(b, c, worker, f[0], "out of memory");
    return;
  }
  wt_conn *qc = NULL;
  int rv = wt_engine_connect(b->eng, &path, *f[2] ? f[2] : NULL, b->now, &qc);
  if (rv < 0) {
    free(bs);
    connect_fail(b, c, worker, f[0],
                 rv == WT_ERR_STATE ? "no client trust configured (--cluster-pin, --cluster-ca "
                                      "or --cluster-insecure)"
                                    : wt_err_str(rv));
    return;
  }
  wt_session_opts o = {.protocols = protos, .n_protocols = np};
  wt_session *s = NULL;
  rv = wt_conn_open_session_opts(qc, f[0], f[1], &o, &s);
  if (rv < 0 || wt_hmap_put(&b->objs, c->session, bs) < 0) {
    (void)wt_conn_close(qc, WT_H3_NO_ERROR);
    free(bs);
    connect_fail(b, c, worker, f[0], rv < 0 ? wt_err_str(rv) : "out of memory");
    return;
  }
  bs->type = BR_SESSION;
  bs->h = c->session;
  bs->worker = worker;
  bs->s = s;
  bs->answered = 1;
  bs->client = 1;
  bs->conn = qc;
  wt_session_set_user(s, bs);
  b->stats.sessions++;
  b->stats.connects++;
  b->stats.connects_live++;
  WT_LOG_INFO("outgoing session %llx: connecting to %s for %.*s", (unsigned long long)bs->h, f[0],
              WT_LOG_NOQUERY(f[1]));
}

/* ------------------------------------------------------------------ dispatch */

static br_cmd_fn *const br_cmd_handlers[WT_CMD_END] = {
    [WT_CMD_RESPOND] = cmd_respond,
    [WT_CMD_DATAGRAM] = cmd_datagram,
    [WT_CMD_OPEN_STREAM] = cmd_open_stream,
    [WT_CMD_WRITE] = cmd_write,
    [WT_CMD_RESET] = cmd_reset,
    [WT_CMD_STOP_SENDING] = cmd_stop_sending,
    [WT_CMD_CONSUME] = cmd_consume,
    [WT_CMD_CLOSE] = cmd_close,
    [WT_CMD_DRAIN] = cmd_drain,
    [WT_CMD_GROUP_NEW] = cmd_group_new,
    [WT_CMD_GROUP_DEL] = cmd_group_del,
    [WT_CMD_GROUP_JOIN] = cmd_group_join,
    [WT_CMD_GROUP_LEAVE] = cmd_group_leave,
    [WT_CMD_GROUP_DATAGRAM] = cmd_group_datagram,
    [WT_CMD_GROUP_STREAM] = cmd_group_stream,
    [WT_CMD_GROUP_WRITE] = cmd_group_write,
    [WT_CMD_GROUP_RESET] = cmd_group_reset,
    [WT_CMD_GROUP_CATCHUP] = cmd_group_catchup,
    [WT_CMD_GROUP_CATCHUP_DATA] = cmd_group_catchup_data,
    [WT_CMD_CONNECT] = cmd_connect,
};

int wt_bridge_handles(unsigned kind) {
  return kind < WT_CMD_END && br_cmd_handlers[kind] != NULL;
}

static void cmd_dispatch(wt_bridge *b, wt_msg *m) {
  br_cmd_fn *fn = m->kind < WT_CMD_END ? br_cmd_handlers[m->kind] : NULL;
  if (fn) {
    fn(b, m);
  } else {
    WT_LOG_ERROR("unknown command kind %u", m->kind);
  }
  if (m->buf) {
    wt_buf_unref(m->buf);
  }
}

size_t wt_bridge_poll(wt_bridge *b, size_t max) {
  wt_msg batch[BR_POLL_BATCH];
  size_t done = 0;
  int more = 1;
  while (more && done < max) {
    more = 0;
    for (uint32_t w = 0; w < b->cfg.n_workers && done < max; w++) {
      size_t want = max - done < BR_POLL_BATCH ? max - done : BR_POLL_BATCH;
      uint32_t n = wt_lring_poll(&b->links[w]->cmd, batch, (uint32_t)want);
      for (uint32_t i = 0; i < n; i++) {
        cmd_dispatch(b, &batch[i]);
      }
      done += n;
      more |= n == want;
    }
  }
  if (b->pending_opens) {
    retry_opens(b);
  }
  if (b->lat_due != UINT64_MAX && br_now(b) >= b->lat_due) {
    latency_timer(b);
  }
  if (b->defer_n && b->stats.sessions == 0) {
    defer_flush(b, 0);
  }
  wt_buf_pool_collect(b->pool);
  return done;
}

int wt_bridge_flush(wt_bridge *b) {
  while (!wt_list_empty(&b->rx_dirty)) {
    rx_post(b, wt_container_of(b->rx_dirty.next, br_stream, rx_node));
  }
  int more = 0;
  for (uint32_t w = 0; w < b->cfg.n_workers; w++) {
    more |= wt_lring_flush(&b->links[w]->ev);
  }
  return more;
}

int wt_bridge_pending(wt_bridge *b) {
  for (uint32_t w = 0; w < b->cfg.n_workers; w++) {
    if (wt_lring_pending(&b->links[w]->cmd)) {
      return 1;
    }
  }
  return b->pending_opens > 0 || (b->defer_n && b->stats.sessions == 0);
}

void wt_bridge_drain(wt_bridge *b) {
  b->draining = 1; /* no new outgoing session from now on */
  WT_HMAP_FOREACH(&b->objs, slot) {
    br_session *bs = slot->val;
    if (bs->type == BR_SESSION && bs->open) {
      wt_msg m = wt_msg_ev_session_drain(bs->h);
      br_post(b, bs->worker, &m);
    }
  }
}

void wt_bridge_detach(wt_bridge *b) {
  if (b->detached) {
    return;
  }
  if (b->defer_max) {
    defer_flush(b, 0);
    WT_LOG_WARN("test hook: %llu held-back group(s) outlived every other owner of their counters",
                (unsigned long long)b->defer_outlived);
  }
  /* groups first (members point at sessions), then sessions */
  for (;;) {
    br_group *g = NULL;
    WT_HMAP_FOREACH(&b->groups, slot) {
      g = slot->val;
      break;
    }
    if (!g) {
      break;
    }
    group_free(b, g, 0);
  }
  for (;;) {
    br_session *bs = NULL;
    WT_HMAP_FOREACH(&b->objs, slot) {
      if (((br_session *)slot->val)->type == BR_SESSION) {
        bs = slot->val;
        break;
      }
    }
    if (!bs) {
      break;
    }
    session_end(b, bs, 0, NULL, 0, 0);
  }
  /* streams left have no session (none should): forget them */
  for (;;) {
    br_stream *bst = NULL;
    WT_HMAP_FOREACH(&b->objs, slot) {
      bst = slot->val;
      break;
    }
    if (!bst) {
      break;
    }
    stream_free(b, bst);
  }
  wt_bridge_flush(b);
  b->detached = 1;
}

void wt_bridge_del(wt_bridge *b) {
  if (!b) {
    return;
  }
  wt_bridge_detach(b);
  wt_hmap_free(&b->objs);
  wt_hmap_free(&b->tokens);
  wt_hmap_free(&b->groups);
  wt_buf_pool_del(b->pool);
  free(b->defer_gid);
  free(b->defer_code);
  free(b);
}
