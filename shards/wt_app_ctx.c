/* wt_app_ctx.c: an application worker's dispatcher (see wt_app_ctx.h and,
 * for the contract with applications, wt_app.h). */
#define WT_LOG_MODULE "app"
#include "wt_app_ctx.h"

#include <stdlib.h>
#include <string.h>

#include "wt_error.h"
#include "wt_dlist.h"
#include "wt_hfield.h"
#include "wt_hmap.h"
#include "wt_log.h"

#define CTX_POLL_BATCH     64
#define SESSION_MAX_GROUPS 8 /* groups one session may be a member of */

enum { OBJ_SESSION = 1, OBJ_STREAM = 2 };

struct wt_app_stream {
  uint8_t type; /* OBJ_STREAM */
  uint8_t bidi, local, fin_sent, reset_sent, stopped, manual, want_writable;
  wt_app_ctx *ctx;
  wt_app_session *as;
  const wt_app_ops *ops;
  void *user;
  wt_app_stream *prev, *next; /* in as->streams */
  uint64_t h;                 /* the shard's id (0 until known for a local stream) */
  uint64_t token;             /* local streams: the key of ctx->tokens until h is known */
  uint64_t id;                /* the QUIC stream id (0 until known for a local stream) */
  int64_t credit;             /* bytes we may still write */
  int64_t window;             /* credit + bytes written and not yet released: starts at
                                 cfg.stream_credit, grows with the shard's hint up to
                                 cfg.stream_credit_max (its growth, window - stream_credit,
                                 is counted in as->grown) */
  uint64_t unconsumed;        /* manual credit: delivered, not yet consumed */
  wt_buf *tail; /* the buffer writes are copied into while it has room (one reference of
                   ours; each write posts its slice with one more), so what small writes
                   hold is their bytes, not a buffer each */
};

struct wt_app_session {
  uint8_t type; /* OBJ_SESSION */
  uint8_t opened;
  uint8_t outgoing; /* wt_app_connect: refused or open, then like the others */
  char *resp;       /* outgoing: the response's fields, name \0 value \0 (n_resp of them) */
  uint32_t resp_len, n_resp;
  wt_app_ctx *ctx;
  const wt_app_ops *ops;
  void *arg, *user;
  wt_app_session *prev, *next; /* in ctx->sessions */
  wt_app_stream *streams;
  int64_t grown; /* growth of its streams' windows, at most stream_credit_max - stream_credit */
  uint32_t shard;
  uint64_t h, id;
  size_t max_dgram;
  wt_app_group *groups[SESSION_MAX_GROUPS];
  struct app_answer *answer; /* set while session_request runs */
  char *protocol;            /* answered in WT-Protocol (NULL = none) */
  /* wt_app_session_expire_after: set inside session_request, armed once
   * the session is accepted (exp_timer), due before the open (exp_due) */
  uint8_t exp_set, exp_due, exp_reason_len;
  uint32_t exp_code;
  uint64_t exp_delay, exp_timer;
  wt_app_expire_fn exp_fn;
  void *exp_arg;
  char exp_reason[WT_APP_EXPIRE_REASON_MAX];
};

/* What session_request decides besides its status: WT-Protocol and extra
 * response fields (wt_app_session_set_protocol / _add_header). */
typedef struct app_answer {
  const wt_app_request *req;
  const char *protocol; /* one of req->protocols */
  int protocol_set;     /* the app decided (even for none) */
  uint32_t n;           /* fields in buf */
  size_t len;           /* name \0 value \0 ... */
  char buf[WT_HFIELD_ADD_BYTES_MAX];
} app_answer;

struct wt_app_group {
  wt_app_ctx *ctx;
  uint64_t id, lag_max, next_gsid;
  uint64_t last_gsid;    /* the newest stream (catch-up takes its header length) */
  uint32_t last_hdr_len; /* its group header length */
  wt_app_group_counters *cnt;
  uint32_t *per_shard; /* members on each shard */
  uint8_t *created;    /* GROUP_NEW posted to that shard */
  size_t n_members;
};

struct wt_app_ctx {
  wt_app_ctx_config cfg;
  wt_link *links[64];
  uint64_t now_ns;
  wt_hmap objs;   /* shard id -> session / stream */
  wt_hmap tokens; /* local stream token -> stream, until the shard names it */
  uint64_t next_token, next_group, next_out;
  wt_app_session *sessions;
  wt_buf_pool *pool;
  wt_buf *ev_buf; /* the event's buffer during stream_data / datagram */
  size_t ev_off;
  wt_app_ctx_stats stats;
  int closing; /* wt_app_ctx_close_all ran: no new outgoing session */
};

/* ------------------------------------------------------------------ setup */

int wt_app_ctx_new(wt_app_ctx **out, const wt_app_ctx_config *cfg) {
  if (!out || !cfg || !cfg->router || !cfg->timers || !cfg->links || cfg->n_shards == 0 ||
      cfg->n_shards > 64) {
    return WT_ERR_INVAL;
  }
  wt_app_ctx *ctx = calloc(1, sizeof(*ctx));
  if (!ctx) {
    return WT_ERR_NOMEM;
  }
  ctx->cfg = *cfg;
  if (!ctx->cfg.stream_credit) {
    ctx->cfg.stream_credit = WT_APP_STREAM_CREDIT_DEFAULT;
  }
  if (!ctx->cfg.stream_credit_max) {
    ctx->cfg.stream_credit_max = WT_APP_STREAM_CREDIT_MAX_DEFAULT;
  }
  if (ctx->cfg.stream_credit_max < ctx->cfg.stream_credit) {
    ctx->cfg.stream_credit_max = ctx->cfg.stream_credit; /* no growth */
  }
  for (uint32_t i = 0; i < cfg->n_shards; i++) {
    ctx->links[i] = cfg->links[i];
  }
  ctx->cfg.links = ctx->links;
  wt_hmap_init(&ctx->objs);
  wt_hmap_init(&ctx->tokens);
  if (wt_buf_pool_new(&ctx->pool, WT_APP_BUF_SIZE, 4096) < 0) {
    free(ctx);
    return WT_ERR_NOMEM;
  }
  *out = ctx;
  return 0;
}

void wt_app_ctx_set_now(wt_app_ctx *ctx, uint64_t now_ns) {
  ctx->now_ns = now_ns;
}

uint64_t wt_app_now(const wt_app_ctx *ctx) {
  return ctx->now_ns;
}

const wt_app_ctx_stats *wt_app_ctx_get_stats(const wt_app_ctx *ctx) {
  return &ctx->stats;
}

uint32_t wt_app_ctx_worker(const wt_app_ctx *ctx) {
  return ctx->cfg.worker;
}

wt_buf_pool *wt_app_ctx_pool(wt_app_ctx *ctx) {
  return ctx->pool;
}

wt_buf *wt_app_buf_alloc(wt_app_ctx *ctx, size_t size) {
  wt_buf *b = wt_buf_alloc(ctx->pool, size);
  if (!b) {
    ctx->stats.alloc_failed++;
  }
  return b;
}

wt_buf *wt_app_event_buf(wt_app_ctx *ctx, size_t *off) {
  if (off) {
    *off = ctx->ev_off;
  }
  return ctx->ev_buf;
}

/* ------------------------------------------------------------------ commands */

static void ctx_post(wt_app_ctx *ctx, uint32_t shard, wt_msg *m) {
  m->sh = (uint16_t)shard;
  if (wt_lring_post(&ctx->links[shard]->cmd, m) < 0) {
    WT_LOG_ERROR("out of memory queueing a command (kind %u): lost", m->kind);
    wt_msg_drop(m);
    return;
  }
  ctx->stats.commands++;
}

/* How commands name st: by the shard's id, or by its token until the
 * shard named it (WT_EV_STREAM_OPENED). */
static wt_msg_stream stream_ref(const wt_app_stream *st) {
  return (wt_msg_stream){.id = st->h, .token = st->h ? 0 : st->token};
}

/* Post a command about st to its session's shard. */
static void stream_post(wt_app_stream *st, wt_msg *m) {
  ctx_post(st->ctx, st->as->shard, m);
}

/* ------------------------------------------------------------------ application callbacks */

/* Every wt_app_ops callback is invoked through its wrapper here: a NULL
 * callback does nothing (session_request's default answer is 200). */

static int call_session_request(wt_app_session *as, const wt_app_request *req) {
  return as->ops->session_request ? as->ops->session_request(as, req) : 200;
}

static void call_session_open(wt_app_session *as) {
  if (as->ops->session_open) {
    as->ops->session_open(as);
  }
}

static void call_session_drain(wt_app_session *as) {
  if (as->ops->session_drain) {
    as->ops->session_drain(as);
  }
}

static void call_session_close(wt_app_session *as, uint32_t code, const uint8_t *reason, size_t len,
                               int clean) {
  if (as->ops->session_close) {
    as->ops->session_close(as, code, reason, len, clean);
  }
}

static void call_stream_open(wt_app_stream *st) {
  if (st->ops->stream_open) {
    st->ops->stream_open(st);
  }
}

/* The bytes of m (an event carrying a buffer); wt_app_event_buf returns
 * that buffer while the callback runs. */
static void call_stream_data(wt_app_ctx *ctx, wt_app_stream *st, const wt_msg *m, int fin) {
  if (st->ops->stream_data) {
    ctx->ev_buf = m->buf;
    ctx->ev_off = m->off;
    static const uint8_t empty[1];
    st->ops->stream_data(st, m->buf ? m->buf->data + m->off : empty, m->len, fin);
    ctx->ev_buf = NULL;
  }
}

static void call_stream_reset(wt_app_stream *st, uint32_t code, int has_code) {
  if (st->ops->stream_reset) {
    st->ops->stream_reset(st, code, has_code);
  }
}

static void call_stream_stop(wt_app_stream *st, uint32_t code, int has_code) {
  if (st->ops->stream_stop) {
    st->ops->stream_stop(st, code, has_code);
  }
}

static void call_stream_writable(wt_app_stream *st) {
  if (st->ops->stream_writable) {
    st->ops->stream_writable(st);
  }
}

static void call_stream_close(wt_app_stream *st) {
  if (st->ops->stream_close) {
    st->ops->stream_close(st);
  }
}

/* m carries the datagram (its buffer is not NULL). */
static void call_datagram(wt_app_ctx *ctx, wt_app_session *as, const wt_msg *m) {
  if (as->ops->datagram) {
    ctx->ev_buf = m->buf;
    ctx->ev_off = m->off;
    as->ops->datagram(as, m->buf->data + m->off, m->len);
    ctx->ev_buf = NULL;
  }
}

/* ------------------------------------------------------------------ object lifetimes */

/* No more writes will fill st's tail buffer: let it go with its last slice. */
static void stream_tail_drop(wt_app_stream *st) {
  if (st->tail) {
    wt_buf_unref(st->tail);
    st->tail = NULL;
  }
}

static void stream_free(wt_app_ctx *ctx, wt_app_stream *st) {
  stream_tail_drop(st);
  if (st->h) {
    wt_hmap_del(&ctx->objs, st->h);
  }
  if (st->token) {
    wt_hmap_del(&ctx->tokens, st->token);
  }
  if (st->as) {
    if (st->window > 0) {
      st->as->grown -= st->window - (int64_t)ctx->cfg.stream_credit;
    }
    WT_DLIST_REMOVE(&st->as->streams, st);
  }
  free(st);
  ctx->stats.streams_live--;
}

static void stream_close(wt_app_ctx *ctx, wt_app_stream *st) {
  call_stream_close(st);
  stream_free(ctx, st);
}

static void group_forget_session(wt_app_group *g, wt_app_session *as);

static void session_close(wt_app_ctx *ctx, wt_app_session *as, uint32_t code, const uint8_t *reason,
                          size_t len, int clean) {
  /* stream_close for every stream first (wt_app.h) */
  while (as->streams) {
    stream_close(ctx, as->streams);
  }
  for (int i = 0; i < SESSION_MAX_GROUPS; i++) {
    if (as->groups[i]) {
      group_forget_session(as->groups[i], as); /* the shard drops the member itself */
    }
  }
  /* accepted sessions get exactly one session_close (wt_app.h) */
  call_session_close(as, code, reason, len, clean);
  while (as->streams) { /* opened by session_close: never leak one */
    stream_close(ctx, as->streams);
  }
  wt_hmap_del(&ctx->objs, as->h);
  WT_DLIST_REMOVE(&ctx->sessions, as);
  if (as->exp_timer) {
    wt_timer_cancel(ctx->cfg.timers, as->exp_timer);
  }
  free(as->protocol);
  free(as->resp);
  free(as);
  ctx->stats.sessions_live--;
}

/* An outgoing session that never opened ends: session_refused(status)
 * (wt_app.h), the only callback it gets. */
static void session_refused(wt_app_ctx *ctx, wt_app_session *as, int status) {
  while (as->streams) { /* none can exist before the open; never leak one */
    stream_close(ctx, as->streams);
  }
  if (as->ops->session_refused) {
    as->ops->session_refused(as, status);
  }
  wt_hmap_del(&ctx->objs, as->h);
  WT_DLIST_REMOVE(&ctx->sessions, as);
  free(as->protocol);
  free(as->resp);
  free(as);
  ctx->stats.sessions_live--;
}

void wt_app_ctx_close_all(wt_app_ctx *ctx) {
  ctx->closing = 1;
  while (ctx->sessions) {
    if (ctx->sessions->outgoing && !ctx->sessions->opened) {
      session_refused(ctx, ctx->sessions, 0);
    } else {
      session_close(ctx, ctx->sessions, 0, NULL, 0, 0);
    }
  }
}

void wt_app_ctx_del(wt_app_ctx *ctx) {
  if (!ctx) {
    return;
  }
  wt_app_ctx_close_all(ctx);
  if (wt_hmap_count(&ctx->objs) || wt_hmap_count(&ctx->tokens)) {
    WT_LOG_ERROR("app ctx freed with %zu object(s) still mapped",
                 wt_hmap_count(&ctx->objs) + wt_hmap_count(&ctx->tokens));
  }
  wt_hmap_free(&ctx->objs);
  wt_hmap_free(&ctx->tokens);
  wt_buf_pool_del(ctx->pool);
  free(ctx);
}

/* ------------------------------------------------------------------ event handlers */

/* One handler per event kind (wt_msg.h). The dispatcher drops the
 * message's buffer reference after the handler. */
typedef void ctx_ev_fn(wt_app_ctx *ctx, wt_msg *m);

static wt_app_session *find_session(wt_app_ctx *ctx, uint64_t h) {
  wt_app_session *as = wt_hmap_get(&ctx->objs, h);
  return as && as->type == OBJ_SESSION ? as : NULL;
}

static wt_app_stream *find_stream(wt_app_ctx *ctx, uint64_t h) {
  wt_app_stream *st = wt_hmap_get(&ctx->objs, h);
  return st && st->type == OBJ_STREAM ? st : NULL;
}

/* The request fields of a WT_EV_SESSION_REQUEST buffer (wt_msg.h). The
 * arrays are malloc'd (free them); 0 or WT_ERR_MALFORMED / WT_ERR_NOMEM. */
static int request_unpack(wt_msg *m, const wt_ev_session_request *e, wt_app_request *req,
                          wt_app_header **hdrs, const char ***protos) {
  *hdrs = NULL;
  *protos = NULL;
  memset(req, 0, sizeof(*req));
  req->path = "";
  if (!m->buf || m->len < 3) {
    return 0;
  }
  const char *p = (const char *)m->buf->data + m->off, *end = p + m->len;
  if (end[-1] != 0 || (uint64_t)e->n_headers * 2 + e->n_protocols + 3 > m->len) {
    return WT_ERR_MALFORMED;
  }
  const char *f[3];
  for (int k = 0; k < 3; k++) {
    f[k] = p;
    p += strlen(p) + 1;
    if (p > end) {
      return WT_ERR_MALFORMED;
    }
  }
  req->path = f[0];
  req->authority = *f[1] ? f[1] : NULL;
  req->origin = *f[2] ? f[2] : NULL;
  *hdrs = calloc(e->n_headers ? e->n_headers : 1, sizeof(**hdrs));
  *protos = calloc(e->n_protocols ? e->n_protocols : 1, sizeof(**protos));
  if (!*hdrs || !*protos) {
    return WT_ERR_NOMEM;
  }
  for (uint32_t i = 0; i < e->n_headers; i++) {
    (*hdrs)[i].name = p;
    p += strlen(p) + 1;
    (*hdrs)[i].value = p < end ? p : "";
    p += p < end ? strlen(p) + 1 : 0;
    if (p > end) {
      return WT_ERR_MALFORMED;
    }
  }
  for (uint32_t i = 0; i < e->n_protocols; i++) {
    if (p >= end) {
      return WT_ERR_MALFORMED;
    }
    (*protos)[i] = p;
    p += strlen(p) + 1;
  }
  req->headers = *hdrs;
  req->n_headers = e->n_headers;
  req->protocols = *protos;
  req->n_protocols = e->n_protocols;
  return 0;
}

/* The slot of protocol in the per-protocol counters (wt_app.h). */
static size_t protocol_slot(const wt_app_ctx *ctx, const char *protocol) {
  if (protocol == NULL) {
    return WT_APP_MAX_PROTOCOLS;
  }
  for (size_t i = 0; i < ctx->cfg.n_protocols && i < WT_APP_MAX_PROTOCOLS; i++) {
    if (strcmp(ctx->cfg.protocols[i], protocol) == 0) {
      return i;
    }
  }
  return WT_APP_MAX_PROTOCOLS + 1;
}

/* Post the answer: status, and for it WT-Protocol and the app's fields. */
static void respond(wt_app_ctx *ctx, wt_msg *m, uint64_t session, int status,
                    const app_answer *ans) {
  size_t pl = ans && ans->protocol ? strlen(ans->protocol) : 0;
  wt_buf *b = NULL;
  if (ans && (pl || ans->n)) {
    b = wt_app_buf_alloc(ctx, pl + 1 + ans->len);
    if (b) {
      memcpy(b->data, ans->protocol ? ans->protocol : "", pl + 1);
      memcpy(b->data + pl + 1, ans->buf, ans->len);
      b->len = (uint32_t)(pl + 1 + ans->len);
    } else {
      ctx->stats.alloc_failed++;
      status = status == 200 ? 503 : status;
    }
  }
  wt_msg r =
      wt_msg_cmd_respond(session, (uint32_t)status, b, b ? b->len : 0, b && ans ? ans->n : 0);
  ctx_post(ctx, m->sh, &r);
}

/* The credential's deadline (wt_app_session_expire_after) has come: close
 * the session with its code, or at its open if it is not open yet. */
static void session_expire_now(wt_app_session *as) {
  WT_LOG_INFO("session %llu closed: %.*s (code 0x%x)", (unsigned long long)as->id,
              (int)as->exp_reason_len, as->exp_reason, as->exp_code);
  if (as->exp_fn) {
    as->exp_fn(as->exp_arg, as);
  }
  wt_app_close_session(as, as->exp_code, (const uint8_t *)as->exp_reason, as->exp_reason_len);
}

static void session_expire_fire(void *arg) {
  wt_app_session *as = arg;
  as->exp_timer = 0;
  if (as->opened) {
    session_expire_now(as);
  } else {
    as->exp_due = 1;
  }
}

static void session_expire_arm(wt_app_ctx *ctx, wt_app_session *as) {
  if (as->exp_set &&
      wt_app_timer_add(ctx, as->exp_delay, session_expire_fire, as, &as->exp_timer) < 0) {
    as->exp_due = 1; /* no timer: never a session that outlives its credential */
  }
}

static void ev_session_request(wt_app_ctx *ctx, wt_msg *m) {
  const wt_ev_session_request *e = wt_msg_get_ev_session_request(m);
  wt_app_request req;
  wt_app_header *hdrs;
  const char **protos;
  int rv = request_unpack(m, e, &req, &hdrs, &protos);
  const char *path = req.path;
  void *arg = NULL;
  const wt_app_ops *ops = rv == 0 ? wt_app_router_find(ctx->cfg.router, path, &arg) : NULL;
  if (!ops) {
    /* the shard checked the same routes: only if they differ */
    free(hdrs);
    free(protos);
    ctx->stats.alloc_failed += rv == WT_ERR_NOMEM;
    respond(ctx, m, e->session, rv == WT_ERR_NOMEM ? 503 : 404, NULL);
    return;
  }
  wt_app_session *as = calloc(1, sizeof(*as));
  app_answer *ans = malloc(sizeof(*ans));
  if (!as || !ans || wt_hmap_put(&ctx->objs, e->session, as) < 0) {
    free(as);
    free(ans);
    free(hdrs);
    free(protos);
    ctx->stats.alloc_failed++;
    respond(ctx, m, e->session, 503, NULL);
    return;
  }
  as->type = OBJ_SESSION;
  as->ctx = ctx;
  as->ops = ops;
  as->arg = arg;
  as->shard = m->sh;
  as->h = e->session;
  as->id = e->id;
  const char *q = strchr(path, '?');
  req.query = q ? q + 1 : "";
  ans->req = &req;
  ans->protocol = NULL;
  ans->protocol_set = 0;
  ans->n = 0;
  ans->len = 0;
  as->answer = ans;
  int status = call_session_request(as, &req);
  as->answer = NULL;
  if (status == 200 && !ans->protocol_set) {
    /* the server's preference order decides (wt_app.h) */
    ans->protocol = wt_app_choose_protocol(&req, ctx->cfg.protocols, ctx->cfg.n_protocols);
  }
  if (status != 200) {
    if (status < 100 || status > 599) {
      status = 500;
    }
    ctx->stats.refused++;
    wt_hmap_del(&ctx->objs, e->session);
    free(as);
    WT_LOG_DEBUG("CONNECT %.*s refused by %s: %d", WT_LOG_NOQUERY(path),
                 ops->name ? ops->name : "app", status);
    ans->protocol = NULL;
  } else {
    WT_DLIST_PUSH(&ctx->sessions, as);
    ctx->stats.sessions_live++;
    session_expire_arm(ctx, as);
    ctx->stats.protocol_sessions[protocol_slot(ctx, ans->protocol)]++;
    as->protocol = ans->protocol ? strdup(ans->protocol) : NULL;
    WT_LOG_DEBUG("session %llu on %s (%s): protocol %s (%zu offered)", (unsigned long long)e->id,
                 path, ops->name ? ops->name : "app", ans->protocol ? ans->protocol : "none",
                 req.n_protocols);
  }
  respond(ctx, m, e->session, status, ans);
  free(ans);
  free(hdrs);
  free(protos);
}

static void ev_session_open(wt_app_ctx *ctx, wt_msg *m) {
  const wt_ev_session_open *e = wt_msg_get_ev_session_open(m);
  wt_app_session *as = find_session(ctx, e->session);
  if (as && as->outgoing && m->buf && m->len && e->n_headers && wt_msg_data(m)[m->len - 1] == 0 &&
      (as->resp = malloc(m->len))) {
    memcpy(as->resp, wt_msg_data(m), m->len);
    as->resp_len = m->len;
    as->n_resp = e->n_headers;
  }
  if (as) {
    as->opened = 1;
    as->max_dgram = e->max_datagram;
    call_session_open(as);
    if (as->exp_due) {
      as->exp_due = 0;
      session_expire_now(as);
    }
  }
}

static void ev_session_drain(wt_app_ctx *ctx, wt_msg *m) {
  wt_app_session *as = find_session(ctx, wt_msg_get_ev_session_drain(m)->session);
  if (as && as->opened) {
    call_session_drain(as);
  }
}

static void ev_session_close(wt_app_ctx *ctx, wt_msg *m) {
  const wt_ev_session_close *e = wt_msg_get_ev_session_close(m);
  wt_app_session *as = find_session(ctx, e->session);
  if (as && as->outgoing && !as->opened) {
    session_refused(ctx, as, 0); /* gone before it opened (the shard detached) */
  } else if (as) {
    session_close(ctx, as, e->code, wt_msg_data(m), m->buf ? m->len : 0, e->clean);
  }
}

static void ev_session_refused(wt_app_ctx *ctx, wt_msg *m) {
  const wt_ev_session_refused *e = wt_msg_get_ev_session_refused(m);
  wt_app_session *as = find_session(ctx, e->session);
  if (as && as->outgoing && !as->opened) {
    session_refused(ctx, as, (int)e->status);
  }
}

static void ev_stream_open(wt_app_ctx *ctx, wt_msg *m) {
  const wt_ev_stream_open *e = wt_msg_get_ev_stream_open(m);
  wt_app_session *as = find_session(ctx, e->session);
  if (!as) {
    return; /* its session is closing: the shard cleans up */
  }
  wt_app_stream *st = calloc(1, sizeof(*st));
  if (!st || wt_hmap_put(&ctx->objs, e->stream, st) < 0) {
    free(st);
    ctx->stats.alloc_failed++;
    wt_msg_stream ref = {.id = e->stream};
    wt_msg c = wt_msg_cmd_stop_sending(ref, 0);
    ctx_post(ctx, m->sh, &c);
    if (e->bidi) {
      c = wt_msg_cmd_reset(ref, 0);
      ctx_post(ctx, m->sh, &c);
    }
    return;
  }
  st->type = OBJ_STREAM;
  st->ctx = ctx;
  st->as = as;
  st->ops = as->ops;
  st->h = e->stream;
  st->id = e->id;
  st->bidi = e->bidi;
  st->credit = st->bidi ? (int64_t)ctx->cfg.stream_credit : 0;
  st->window = st->credit;
  WT_DLIST_PUSH(&as->streams, st);
  ctx->stats.streams_live++;
  call_stream_open(st);
}

static void ev_stream_opened(wt_app_ctx *ctx, wt_msg *m) {
  const wt_ev_stream_opened *e = wt_msg_get_ev_stream_opened(m);
  wt_app_stream *st = wt_hmap_del(&ctx->tokens, e->token);
  if (st) {
    st->token = 0;
    st->h = e->stream;
    st->id = e->id;
    if (wt_hmap_put(&ctx->objs, e->stream, st) < 0) {
      ctx->stats.alloc_failed++; /* unreachable by id: keep using the token */
      st->h = 0;
      st->token = e->token;
      wt_hmap_put(&ctx->tokens, e->token, st);
    }
  }
}

static void ev_stream_data(wt_app_ctx *ctx, wt_msg *m) {
  const wt_ev_stream_data *e = wt_msg_get_ev_stream_data(m);
  wt_app_stream *st = find_stream(ctx, e->stream);
  if (!st) {
    return;
  }
  if (st->manual) {
    st->unconsumed += m->len;
  }
  call_stream_data(ctx, st, m, e->fin);
  /* st may be gone now (a close inside the callback is only queued, so it
   * is not): auto credit goes back as soon as the callback returned */
  st = find_stream(ctx, e->stream);
  if (st && !st->manual && m->len) {
    wt_msg c = wt_msg_cmd_consume(stream_ref(st), m->len);
    stream_post(st, &c);
  }
}

static void ev_stream_reset(wt_app_ctx *ctx, wt_msg *m) {
  const wt_ev_stream_reset *e = wt_msg_get_ev_stream_reset(m);
  wt_app_stream *st = find_stream(ctx, e->stream);
  if (st) {
    call_stream_reset(st, e->code, e->has_code);
  }
}

static void ev_stream_stop(wt_app_ctx *ctx, wt_msg *m) {
  const wt_ev_stream_stop *e = wt_msg_get_ev_stream_stop(m);
  wt_app_stream *st = find_stream(ctx, e->stream);
  if (st) {
    st->stopped = 1;
    call_stream_stop(st, e->code, e->has_code);
  }
}

/* n bytes released; hint = the send window the connection is worth now
 * (WT_EV_STREAM_CREDIT): the stream's window grows to it, never past
 * stream_credit_max and never shrinks (what is in flight stays counted).
 * The streams of a session share the growth: together they grow by at most
 * stream_credit_max - stream_credit (given back when a stream is freed), so
 * a peer that opens many streams and then withholds flow-control credit
 * pins no more memory per session than one stream at full window. */
static void stream_credit(wt_app_ctx *ctx, wt_app_stream *st, uint64_t n, uint64_t hint) {
  st->credit += (int64_t)n;
  wt_app_session *as = st->as;
  if (as && st->window > 0 && hint > (uint64_t)st->window) {
    int64_t to =
        hint < ctx->cfg.stream_credit_max ? (int64_t)hint : (int64_t)ctx->cfg.stream_credit_max;
    int64_t room = (int64_t)(ctx->cfg.stream_credit_max - ctx->cfg.stream_credit) - as->grown;
    if (to - st->window > room) {
      to = st->window + room;
    }
    if (to > st->window) {
      st->credit += to - st->window;
      as->grown += to - st->window;
      st->window = to;
      ctx->stats.send_window_grows++;
    }
  }
  if (st->want_writable && st->credit >= st->window / 2) {
    st->want_writable = 0;
    call_stream_writable(st);
  }
}

static void ev_stream_credit(wt_app_ctx *ctx, wt_msg *m) {
  const wt_ev_stream_credit *e = wt_msg_get_ev_stream_credit(m);
  wt_app_stream *st = find_stream(ctx, e->stream);
  if (st) {
    stream_credit(ctx, st, e->released, e->window);
  }
}

static void ev_stream_close(wt_app_ctx *ctx, wt_msg *m) {
  const wt_ev_stream_close *e = wt_msg_get_ev_stream_close(m);
  wt_app_stream *st = find_stream(ctx, e->stream);
  if (!st) {
    st = wt_hmap_get(&ctx->tokens, e->token);
  }
  if (st) {
    stream_close(ctx, st);
  }
}

static void ev_datagram(wt_app_ctx *ctx, wt_msg *m) {
  wt_app_session *as = find_session(ctx, wt_msg_get_ev_datagram(m)->session);
  if (as && as->opened && m->buf) {
    call_datagram(ctx, as, m);
  }
}

/* ------------------------------------------------------------------ dispatch */

static ctx_ev_fn *const ctx_ev_handlers[WT_EV_END] = {
    [WT_EV_SESSION_REQUEST] = ev_session_request, [WT_EV_SESSION_OPEN] = ev_session_open,
    [WT_EV_SESSION_DRAIN] = ev_session_drain,     [WT_EV_SESSION_CLOSE] = ev_session_close,
    [WT_EV_STREAM_OPEN] = ev_stream_open,         [WT_EV_STREAM_OPENED] = ev_stream_opened,
    [WT_EV_STREAM_DATA] = ev_stream_data,         [WT_EV_STREAM_RESET] = ev_stream_reset,
    [WT_EV_STREAM_STOP] = ev_stream_stop,         [WT_EV_STREAM_CREDIT] = ev_stream_credit,
    [WT_EV_STREAM_CLOSE] = ev_stream_close,       [WT_EV_DATAGRAM] = ev_datagram,
    [WT_EV_SESSION_REFUSED] = ev_session_refused,
};

int wt_app_ctx_handles(unsigned kind) {
  return kind < WT_EV_END && ctx_ev_handlers[kind] != NULL;
}

static void ev_dispatch(wt_app_ctx *ctx, wt_msg *m) {
  ctx->stats.events++;
  ctx_ev_fn *fn = m->kind < WT_EV_END ? ctx_ev_handlers[m->kind] : NULL;
  if (fn) {
    fn(ctx, m);
  } else {
    WT_LOG_ERROR("unknown event kind %u", m->kind);
  }
  if (m->buf) {
    wt_buf_unref(m->buf);
  }
}

size_t wt_app_ctx_poll(wt_app_ctx *ctx, size_t max) {
  wt_msg batch[CTX_POLL_BATCH];
  size_t done = 0;
  int more = 1;
  while (more && done < max) {
    more = 0;
    for (uint32_t s = 0; s < ctx->cfg.n_shards && done < max; s++) {
      size_t want = max - done < CTX_POLL_BATCH ? max - done : CTX_POLL_BATCH;
      uint32_t n = wt_lring_poll(&ctx->links[s]->ev, batch, (uint32_t)want);
      for (uint32_t i = 0; i < n; i++) {
        ev_dispatch(ctx, &batch[i]);
      }
      done += n;
      more |= n == want;
    }
  }
  wt_buf_pool_collect(ctx->pool);
  return done;
}

int wt_app_ctx_flush(wt_app_ctx *ctx) {
  int more = 0;
  for (uint32_t s = 0; s < ctx->cfg.n_shards; s++) {
    more |= wt_lring_flush(&ctx->links[s]->cmd);
  }
  return more;
}

int wt_app_ctx_pending(wt_app_ctx *ctx) {
  for (uint32_t s = 0; s < ctx->cfg.n_shards; s++) {
    if (wt_lring_pending(&ctx->links[s]->ev)) {
      return 1;
    }
  }
  return 0;
}

/* ------------------------------------------------------------------ outgoing sessions */

#define CONNECT_STR_MAX 4096 /* authority, path, server name: each at most this */

int wt_app_connect(wt_app_ctx *ctx, const wt_app_connect_req *req, const wt_app_ops *ops, void *arg,
                   wt_app_session **out) {
  if (!ctx || !req || !ops || !out || !req->authority || !*req->authority || !req->path ||
      !*req->path || req->n_protocols > WT_APP_MAX_PROTOCOLS ||
      strlen(req->authority) > CONNECT_STR_MAX || strlen(req->path) > CONNECT_STR_MAX ||
      (req->server_name && strlen(req->server_name) > CONNECT_STR_MAX)) {
    return WT_ERR_INVAL;
  }
  if (ctx->closing) {
    return WT_ERR_STATE; /* shutting down (an app re-resolving from a close) */
  }
  const char *sni = req->server_name ? req->server_name : "";
  size_t need = strlen(req->authority) + strlen(req->path) + strlen(sni) + 3;
  for (size_t i = 0; i < req->n_protocols; i++) {
    if (!req->protocols[i] || strlen(req->protocols[i]) > 255) {
      return WT_ERR_INVAL;
    }
    need += strlen(req->protocols[i]) + 1;
  }
  wt_app_session *as = calloc(1, sizeof(*as));
  wt_buf *b = as ? wt_app_buf_alloc(ctx, need) : NULL;
  /* the worker names it (wt_msg.h WT_CMD_CONNECT): bit 63, then the worker */
  uint64_t h = (UINT64_C(1) << 63) | ((uint64_t)ctx->cfg.worker << 48) | ++ctx->next_out;
  if (!b || wt_hmap_put(&ctx->objs, h, as) < 0) {
    if (b) {
      wt_buf_unref(b);
    }
    free(as);
    ctx->stats.alloc_failed++;
    return WT_ERR_NOMEM;
  }
  char *p = (char *)b->data;
  const char *parts[3] = {req->authority, req->path, sni};
  for (int k = 0; k < 3; k++) {
    size_t n = strlen(parts[k]) + 1;
    memcpy(p, parts[k], n);
    p += n;
  }
  for (size_t i = 0; i < req->n_protocols; i++) {
    size_t n = strlen(req->protocols[i]) + 1;
    memcpy(p, req->protocols[i], n);
    p += n;
  }
  b->len = (uint32_t)need;
  as->type = OBJ_SESSION;
  as->ctx = ctx;
  as->ops = ops;
  as->arg = arg;
  as->outgoing = 1;
  as->shard = ctx->cfg.worker % ctx->cfg.n_shards;
  as->h = h;
  WT_DLIST_PUSH(&ctx->sessions, as);
  ctx->stats.sessions_live++;
  wt_msg c = wt_msg_cmd_connect(h, ctx->cfg.worker, b, b->len, (uint32_t)req->n_protocols);
  ctx_post(ctx, as->shard, &c);
  *out = as;
  return 0;
}

const char *wt_app_session_response_field(const wt_app_session *as, const char *name) {
  if (!as || !as->resp || !name) {
    return NULL;
  }
  const char *p = as->resp, *end = as->resp + as->resp_len;
  for (uint32_t i = 0; i < as->n_resp && p < end; i++) {
    const char *n = p;
    p += strlen(p) + 1;
    if (p >= end) {
      break;
    }
    if (!strcmp(n, name)) {
      return p;
    }
    p += strlen(p) + 1;
  }
  return NULL;
}

/* ------------------------------------------------------------------ timers */

size_t wt_app_run_timers(wt_app_ctx *ctx, uint64_t now_ns) {
  ctx->now_ns = now_ns;
  return wt_timer_run(ctx->cfg.timers, now_ns);
}

int wt_app_timer_add(wt_app_ctx *ctx, uint64_t delay_ns, wt_app_timer_fn fn, void *arg,
                     uint64_t *id) {
  if (!ctx || !fn) {
    return WT_ERR_INVAL;
  }
  uint64_t deadline = ctx->now_ns + delay_ns;
  if (deadline < ctx->now_ns) {
    deadline = UINT64_MAX - 1; /* saturate: "never" in practice */
  }
  return wt_timer_add(ctx->cfg.timers, deadline, fn, arg, id);
}

int wt_app_timer_cancel(wt_app_ctx *ctx, uint64_t id) {
  return ctx ? wt_timer_cancel(ctx->cfg.timers, id) : WT_ERR_NOTFOUND;
}

/* ------------------------------------------------------------------ session commands */

int wt_app_session_set_protocol(wt_app_session *as, const char *protocol) {
  if (!as || !as->answer) {
    return WT_ERR_STATE;
  }
  app_answer *ans = as->answer;
  if (protocol) {
    const char *hit = NULL;
    for (size_t i = 0; i < ans->req->n_protocols && !hit; i++) {
      if (strcmp(ans->req->protocols[i], protocol) == 0) {
        hit = ans->req->protocols[i];
      }
    }
    if (!hit) {
      return WT_ERR_INVAL; /* never one the client did not offer */
    }
    protocol = hit;
  }
  ans->protocol = protocol;
  ans->protocol_set = 1;
  return 0;
}

int wt_app_session_add_header(wt_app_session *as, const char *name, const char *value) {
  if (!as || !as->answer) {
    return WT_ERR_STATE;
  }
  if (!wt_hfield_addable(name, value)) {
    return WT_ERR_INVAL;
  }
  app_answer *ans = as->answer;
  size_t nl = strlen(name), vl = strlen(value);
  if (ans->n >= WT_HFIELD_ADD_MAX || nl + vl + 2 > sizeof(ans->buf) - ans->len) {
    return WT_ERR_LIMIT;
  }
  memcpy(ans->buf + ans->len, name, nl + 1);
  memcpy(ans->buf + ans->len + nl + 1, value, vl + 1);
  ans->len += nl + vl + 2;
  ans->n++;
  return 0;
}

int wt_app_session_expire_after(wt_app_session *as, uint64_t delay_ns, uint32_t code,
                                const char *reason, wt_app_expire_fn fn, void *arg) {
  if (!as || !as->answer) {
    return WT_ERR_STATE;
  }
  size_t len = reason ? strlen(reason) : 0;
  if (len > WT_APP_EXPIRE_REASON_MAX) {
    return WT_ERR_INVAL;
  }
  if (as->exp_set && as->exp_delay <= delay_ns) {
    return 0; /* the earlier deadline stands */
  }
  as->exp_set = 1;
  as->exp_delay = delay_ns;
  as->exp_code = code;
  as->exp_fn = fn;
  as->exp_arg = arg;
  if (len) {
    memcpy(as->exp_reason, reason, len);
  }
  as->exp_reason_len = (uint8_t)len;
  return 0;
}

const char *wt_app_session_protocol(const wt_app_session *as) {
  return as ? as->protocol : NULL;
}

wt_app_ctx *wt_app_session_ctx(const wt_app_session *as) {
  return as->ctx;
}

void *wt_app_session_arg(const wt_app_session *as) {
  return as->arg;
}

void wt_app_session_set_user(wt_app_session *as, void *user) {
  as->user = user;
}

void *wt_app_session_get_user(const wt_app_session *as) {
  return as->user;
}

uint64_t wt_app_session_id(const wt_app_session *as) {
  return as->id;
}

int wt_app_open_stream(wt_app_session *as, int bidi, wt_app_stream **out) {
  if (!as || !out) {
    return WT_ERR_INVAL;
  }
  if (!as->opened) {
    return WT_ERR_STATE;
  }
  wt_app_ctx *ctx = as->ctx;
  wt_app_stream *st = calloc(1, sizeof(*st));
  uint64_t token = ((uint64_t)(ctx->cfg.worker + 1) << 48) | ++ctx->next_token;
  if (!st || wt_hmap_put(&ctx->tokens, token, st) < 0) {
    free(st);
    ctx->stats.alloc_failed++;
    return WT_ERR_NOMEM;
  }
  st->type = OBJ_STREAM;
  st->ctx = ctx;
  st->as = as;
  st->ops = as->ops;
  st->token = token;
  st->bidi = bidi ? 1 : 0;
  st->local = 1;
  st->credit = ctx->cfg.stream_credit;
  st->window = st->credit;
  WT_DLIST_PUSH(&as->streams, st);
  ctx->stats.streams_live++;
  wt_msg c = wt_msg_cmd_open_stream(as->h, token, st->bidi);
  ctx_post(ctx, as->shard, &c);
  *out = st;
  return 0;
}

int wt_app_send_datagram(wt_app_session *as, const uint8_t *data, size_t len) {
  if (!as || (!data && len)) {
    return WT_ERR_INVAL;
  }
  if (!as->opened) {
    return WT_ERR_STATE;
  }
  if (len > as->max_dgram) {
    return WT_ERR_RANGE;
  }
  wt_buf *b = wt_app_buf_alloc(as->ctx, len);
  if (!b) {
    return WT_ERR_NOMEM;
  }
  memcpy(b->data, data, len);
  b->len = (uint32_t)len;
  wt_msg c = wt_msg_cmd_datagram(as->h, b, (uint32_t)len);
  ctx_post(as->ctx, as->shard, &c);
  return 0;
}

size_t wt_app_max_datagram(const wt_app_session *as) {
  return as && as->opened ? as->max_dgram : 0;
}

int wt_app_close_session(wt_app_session *as, uint32_t code, const uint8_t *reason, size_t len) {
  if (!as || (!reason && len) || len > 1024) {
    return WT_ERR_INVAL;
  }
  if (!as->opened) {
    return WT_ERR_STATE;
  }
  wt_buf *b = NULL;
  if (len) {
    b = wt_app_buf_alloc(as->ctx, len);
    if (!b) {
      return WT_ERR_NOMEM;
    }
    memcpy(b->data, reason, len);
  }
  wt_msg c = wt_msg_cmd_close(as->h, code, b, (uint32_t)len);
  ctx_post(as->ctx, as->shard, &c);
  return 0;
}

/* ------------------------------------------------------------------ stream commands */

wt_app_session *wt_app_stream_session(const wt_app_stream *st) {
  return st->as;
}

void wt_app_stream_set_user(wt_app_stream *st, void *user) {
  st->user = user;
}

void *wt_app_stream_get_user(const wt_app_stream *st) {
  return st->user;
}

uint64_t wt_app_stream_id(const wt_app_stream *st) {
  return st->id;
}

int wt_app_stream_is_bidi(const wt_app_stream *st) {
  return st->bidi;
}

int wt_app_stream_is_local(const wt_app_stream *st) {
  return st->local;
}

int wt_app_stream_write(wt_app_stream *st, const uint8_t *data, size_t len, int fin) {
  if (!st || (!data && len)) {
    return WT_ERR_INVAL;
  }
  if (!st->as) {
    return WT_ERR_CLOSED;
  }
  if (st->fin_sent || st->reset_sent || st->stopped || (!st->bidi && !st->local)) {
    return WT_ERR_STATE;
  }
  wt_app_ctx *ctx = st->ctx;
  if (len == 0) {
    if (fin) {
      st->fin_sent = 1;
      stream_tail_drop(st);
      wt_msg c = wt_msg_cmd_write(stream_ref(st), NULL, 0, 1);
      stream_post(st, &c);
    }
    return 0;
  }
  if (st->credit <= 0) {
    st->want_writable = 1;
    return WT_ERR_AGAIN;
  }
  size_t n = len < (size_t)st->credit ? len : (size_t)st->credit;
  size_t done = 0;
  /* Copy into the stream's tail buffer while it has room and post each
   * write as a slice of it: the shard joins consecutive slices into one
   * engine entry (wt_stream_write_ref_join), so a peer that makes us write
   * one byte at a time pins its bytes, not a 16 KiB buffer per byte, and
   * the credit charged (payload bytes) is what is held (plus one partly
   * filled buffer per stream). */
  while (done < n) {
    wt_buf *b = st->tail;
    if (!b || b->len >= b->cap) {
      stream_tail_drop(st);
      b = wt_app_buf_alloc(ctx, WT_APP_BUF_SIZE);
      if (!b) {
        break;
      }
      st->tail = b;
    }
    size_t room = b->cap - b->len;
    size_t chunk = n - done < room ? n - done : room;
    uint32_t off = b->len;
    memcpy(b->data + off, data + done, chunk);
    b->len += (uint32_t)chunk;
    done += chunk;
    int last_fin = fin && done == len;
    wt_buf_ref(b);
    wt_msg c = wt_msg_cmd_write(stream_ref(st), b, (uint32_t)chunk, last_fin);
    c.off = off;
    stream_post(st, &c);
    if (last_fin) {
      st->fin_sent = 1;
      stream_tail_drop(st);
    }
  }
  if (done == 0) {
    return WT_ERR_NOMEM;
  }
  st->credit -= (int64_t)done;
  if (done < len) {
    st->want_writable = 1; /* stream_writable when credit is back */
  }
  return (int)done;
}

int wt_app_stream_reset(wt_app_stream *st, uint32_t code) {
  if (!st) {
    return WT_ERR_INVAL;
  }
  if (!st->as) {
    return WT_ERR_CLOSED;
  }
  if ((!st->bidi && !st->local) || st->reset_sent) {
    return WT_ERR_STATE;
  }
  st->reset_sent = 1;
  stream_tail_drop(st);
  wt_msg c = wt_msg_cmd_reset(stream_ref(st), code);
  stream_post(st, &c);
  return 0;
}

int wt_app_stream_stop_sending(wt_app_stream *st, uint32_t code) {
  if (!st) {
    return WT_ERR_INVAL;
  }
  if (!st->as) {
    return WT_ERR_CLOSED;
  }
  if (st->local && !st->bidi) {
    return WT_ERR_STATE;
  }
  wt_msg c = wt_msg_cmd_stop_sending(stream_ref(st), code);
  stream_post(st, &c);
  return 0;
}

int wt_app_stream_set_manual_credit(wt_app_stream *st, int on) {
  if (!st) {
    return WT_ERR_INVAL;
  }
  if (!st->as) {
    return WT_ERR_CLOSED;
  }
  if (st->local && !st->bidi) {
    return WT_ERR_STATE;
  }
  if (on) {
    st->manual = 1;
  } else if (st->manual) {
    st->manual = 0;
    if (st->unconsumed) {
      wt_msg c = wt_msg_cmd_consume(stream_ref(st), st->unconsumed);
      stream_post(st, &c);
      st->unconsumed = 0;
    }
  }
  return 0;
}

int wt_app_stream_consume(wt_app_stream *st, size_t n) {
  if (!st) {
    return WT_ERR_INVAL;
  }
  if (!st->as) {
    return WT_ERR_CLOSED;
  }
  if (st->local && !st->bidi) {
    return WT_ERR_STATE;
  }
  if (!st->manual) {
    return 0;
  }
  if (n > st->unconsumed) {
    n = st->unconsumed;
  }
  if (n) {
    st->unconsumed -= n;
    wt_msg c = wt_msg_cmd_consume(stream_ref(st), n);
    stream_post(st, &c);
  }
  return n > INT32_MAX ? INT32_MAX : (int)n;
}

/* ------------------------------------------------------------------ fan-out groups */

wt_app_group_counters *wt_app_group_counters_new(void) {
  wt_app_group_counters *c = calloc(1, sizeof(*c));
  if (c) {
    atomic_init(&c->refs_, 1);
  }
  return c;
}

void wt_app_group_counters_ref(wt_app_group_counters *c) {
  if (c) {
    atomic_fetch_add_explicit(&c->refs_, 1, memory_order_relaxed);
  }
}

void wt_app_group_counters_unref(wt_app_group_counters *c) {
  /* release: this holder's counter writes happen before the free;
   * acquire on the last: the free happens after every holder's writes */
  if (c && atomic_fetch_sub_explicit(&c->refs_, 1, memory_order_acq_rel) == 1) {
    free(c);
  }
}

int wt_app_group_new(wt_app_ctx *ctx, uint64_t lag_max, wt_app_group_counters *counters,
                     wt_app_group **out) {
  if (!ctx || !out || lag_max == 0) {
    return WT_ERR_INVAL;
  }
  wt_app_group *g = calloc(1, sizeof(*g));
  if (!g) {
    return WT_ERR_NOMEM;
  }
  g->per_shard = calloc(ctx->cfg.n_shards, sizeof(*g->per_shard));
  g->created = calloc(ctx->cfg.n_shards, 1);
  if (!g->per_shard || !g->created) {
    free(g->per_shard);
    free(g->created);
    free(g);
    return WT_ERR_NOMEM;
  }
  g->ctx = ctx;
  g->id = ((uint64_t)(ctx->cfg.worker + 1) << 48) | ++ctx->next_group;
  g->lag_max = lag_max;
  g->cnt = counters;
  wt_app_group_counters_ref(counters); /* the group's own */
  *out = g;
  return 0;
}

static int session_group_slot(wt_app_session *as, const wt_app_group *g) {
  for (int i = 0; i < SESSION_MAX_GROUPS; i++) {
    if (as->groups[i] == g) {
      return i;
    }
  }
  return -1;
}

/* The member's session ended: the shard already dropped it. */
static void group_forget_session(wt_app_group *g, wt_app_session *as) {
  int i = session_group_slot(as, g);
  if (i < 0) {
    return;
  }
  as->groups[i] = NULL;
  g->per_shard[as->shard]--;
  g->n_members--;
}

void wt_app_group_del(wt_app_group *g, uint32_t code) {
  if (!g) {
    return;
  }
  wt_app_ctx *ctx = g->ctx;
  for (wt_app_session *as = ctx->sessions; as && g->n_members; as = as->next) {
    group_forget_session(g, as);
  }
  for (uint32_t s = 0; s < ctx->cfg.n_shards; s++) {
    if (g->created[s]) {
      wt_msg c = wt_msg_cmd_group_del(g->id, code);
      ctx_post(ctx, s, &c);
    }
  }
  wt_app_group_counters_unref(g->cnt);
  free(g->per_shard);
  free(g->created);
  free(g);
}

int wt_app_group_join(wt_app_group *g, wt_app_session *as) {
  return wt_app_group_join_opts(g, as, NULL);
}

int wt_app_group_join_opts(wt_app_group *g, wt_app_session *as,
                           const wt_app_group_member_opts *opts) {
  if (!g || !as || as->ctx != g->ctx) {
    return WT_ERR_INVAL;
  }
  if (!as->opened) {
    return WT_ERR_STATE;
  }
  wt_msg jc = opts ? wt_msg_cmd_group_join_opts(g->id, as->h, opts->pooled, opts->priority,
                                                opts->max_latency_ns)
                   : wt_msg_cmd_group_join(g->id, as->h);
  if (session_group_slot(as, g) >= 0) {
    if (opts) { /* a member already: its policy changes */
      ctx_post(g->ctx, as->shard, &jc);
    }
    return 0;
  }
  int i = session_group_slot(as, NULL);
  if (i < 0) {
    return WT_ERR_LIMIT;
  }
  wt_app_ctx *ctx = g->ctx;
  if (!g->created[as->shard]) {
    wt_app_group_counters_ref(g->cnt); /* the shard's mirror's, travelling with the message */
    wt_msg c = wt_msg_cmd_group_new(g->id, g->lag_max, g->cnt);
    ctx_post(ctx, as->shard, &c);
    g->created[as->shard] = 1;
  }
  as->groups[i] = g;
  g->per_shard[as->shard]++;
  g->n_members++;
  ctx_post(ctx, as->shard, &jc);
  return 0;
}

int wt_app_group_leave(wt_app_group *g, wt_app_session *as) {
  if (!g || !as) {
    return WT_ERR_INVAL;
  }
  if (session_group_slot(as, g) < 0) {
    return WT_ERR_STATE;
  }
  group_forget_session(g, as);
  wt_msg c = wt_msg_cmd_group_leave(g->id, as->h);
  ctx_post(g->ctx, as->shard, &c);
  return 0;
}

size_t wt_app_group_members(const wt_app_group *g) {
  return g ? g->n_members : 0;
}

/* Post m to every shard with members. Its buffer (may be NULL) stays the
 * caller's: each post carries a reference of its own. */
static void group_post_all(wt_app_group *g, wt_msg *m, int droppable) {
  wt_app_ctx *ctx = g->ctx;
  wt_buf *b = m->buf;
  for (uint32_t s = 0; s < ctx->cfg.n_shards; s++) {
    if (!g->per_shard[s]) {
      continue;
    }
    m->sh = (uint16_t)s;
    if (b) {
      wt_buf_ref(b);
    }
    int rv = droppable ? wt_lring_post_or_drop(&ctx->links[s]->cmd, m)
                       : wt_lring_post(&ctx->links[s]->cmd, m);
    if (rv < 0) {
      if (b) {
        wt_buf_unref(b);
      }
      if (g->cnt && droppable) {
        atomic_fetch_add_explicit(&g->cnt->dropped_datagrams, g->per_shard[s],
                                  memory_order_relaxed);
      }
      continue;
    }
    ctx->stats.commands++;
  }
}

int wt_app_group_send_datagram(wt_app_group *g, wt_buf *b, size_t off, size_t len) {
  if (!g || !b || off + len > b->cap || len > UINT32_MAX) {
    return WT_ERR_INVAL;
  }
  wt_msg m = wt_msg_cmd_group_datagram(g->id, b, (uint32_t)off, (uint32_t)len);
  group_post_all(g, &m, 1);
  return 0;
}

uint64_t wt_app_group_stream_open_hdr(wt_app_group *g, uint32_t hdr_len) {
  if (!g || hdr_len > WT_APP_GROUP_HDR_MAX) {
    return 0;
  }
  uint64_t gsid = ++g->next_gsid;
  g->last_gsid = gsid;
  g->last_hdr_len = hdr_len;
  wt_msg m = wt_msg_cmd_group_stream(g->id, gsid, hdr_len);
  group_post_all(g, &m, 0);
  return gsid;
}

uint64_t wt_app_group_stream_open(wt_app_group *g) {
  return wt_app_group_stream_open_hdr(g, 0);
}

int wt_app_group_stream_write(wt_app_group *g, uint64_t gsid, wt_buf *b, size_t off, size_t len,
                              int fin) {
  if (!g || gsid == 0 || (!b && len) || (b && off + len > b->cap) || len > UINT32_MAX) {
    return WT_ERR_INVAL;
  }
  wt_msg m = wt_msg_cmd_group_write(g->id, gsid, len ? b : NULL, (uint32_t)off, (uint32_t)len, fin);
  group_post_all(g, &m, 0);
  return 0;
}

int wt_app_group_stream_reset(wt_app_group *g, uint64_t gsid, uint32_t code) {
  if (!g || gsid == 0) {
    return WT_ERR_INVAL;
  }
  wt_msg m = wt_msg_cmd_group_reset(g->id, gsid, code);
  group_post_all(g, &m, 0);
  return 0;
}

int wt_app_group_catchup(wt_app_group *g, wt_app_session *as, uint64_t gsid) {
  if (!g || !as || gsid == 0) {
    return WT_ERR_INVAL;
  }
  if (session_group_slot(as, g) < 0) {
    return WT_ERR_STATE;
  }
  wt_msg m =
      wt_msg_cmd_group_catchup(g->id, as->h, gsid, gsid == g->last_gsid ? g->last_hdr_len : 0);
  ctx_post(g->ctx, as->shard, &m);
  return 0;
}

int wt_app_group_catchup_data(wt_app_group *g, wt_app_session *as, uint64_t gsid, wt_buf *b,
                              size_t off, size_t len, int fin) {
  if (!g || !as || gsid == 0 || (!b && len) || (b && off + len > b->cap)) {
    return WT_ERR_INVAL;
  }
  if (session_group_slot(as, g) < 0) {
    return WT_ERR_STATE;
  }
  if (b && len) {
    wt_buf_ref(b);
  }
  wt_msg m = wt_msg_cmd_group_catchup_data(g->id, as->h, gsid, len ? b : NULL, (uint32_t)off,
                                           (uint32_t)len, fin);
  ctx_post(g->ctx, as->shard, &m);
  return 0;
}
