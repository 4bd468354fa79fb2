/* wt_app.c: router, query-string helpers and the dispatch of engine events
 * to applications (see wt_app.h for the contract). */
#define WT_LOG_MODULE "app"
#include "wt_app.h"

#include <stdlib.h>
#include <string.h>

#include "wt_engine.h"
#include "wt_error.h"
#include "wt_log.h"
#include "wt_pool.h"

/* ------------------------------------------------------------------ router */

typedef struct wt_app_route {
  char path[WT_APP_MAX_PATH_LEN + 1];
  size_t len;
  const wt_app_ops *ops;
  void *arg;
} wt_app_route;

struct wt_app_router {
  size_t n;
  wt_app_route routes[WT_APP_MAX_ROUTES];
};

int wt_app_router_new(wt_app_router **out) {
  if (!out) {
    return WT_ERR_INVAL;
  }
  *out = calloc(1, sizeof(**out));
  return *out ? 0 : WT_ERR_NOMEM;
}

void wt_app_router_del(wt_app_router *r) {
  free(r);
}

static const wt_app_route *router_lookup(const wt_app_router *r, const char *path, size_t len) {
  for (size_t i = 0; i < r->n; i++) {
    if (r->routes[i].len == len && memcmp(r->routes[i].path, path, len) == 0) {
      return &r->routes[i];
    }
  }
  return NULL;
}

int wt_app_router_add(wt_app_router *r, const char *path, const wt_app_ops *ops, void *arg) {
  if (!r || !path || !ops || path[0] != '/') {
    return WT_ERR_INVAL;
  }
  size_t len = strnlen(path, WT_APP_MAX_PATH_LEN + 1);
  if (len > WT_APP_MAX_PATH_LEN || memchr(path, '?', len)) {
    return WT_ERR_INVAL;
  }
  if (router_lookup(r, path, len)) {
    return WT_ERR_STATE;
  }
  if (r->n == WT_APP_MAX_ROUTES) {
    return WT_ERR_LIMIT;
  }
  wt_app_route *rt = &r->routes[r->n++];
  memcpy(rt->path, path, len);
  rt->path[len] = '\0';
  rt->len = len;
  rt->ops = ops;
  rt->arg = arg;
  return 0;
}

const wt_app_ops *wt_app_router_find(const wt_app_router *r, const char *path, void **arg) {
  if (!r || !path) {
    return NULL;
  }
  const char *q = strchr(path, '?');
  size_t len = q ? (size_t)(q - path) : strlen(path);
  const wt_app_route *rt = router_lookup(r, path, len);
  if (!rt) {
    return NULL;
  }
  if (arg) {
    *arg = rt->arg;
  }
  return rt->ops;
}

/* ------------------------------------------------------------------ query strings */

static int hex_val(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

/* Decode one byte of the URL-encoded s[*i..n) and advance *i. Returns the
 * byte (0..255) or -1 for a malformed escape. */
static int url_next(const char *s, size_t n, size_t *i) {
  char c = s[*i];
  if (c == '+') {
    (*i)++;
    return ' ';
  }
  if (c != '%') {
    (*i)++;
    return (unsigned char)c;
  }
  if (*i + 2 >= n) {
    return -1; /* fewer than two characters after '%' */
  }
  int hi = hex_val(s[*i + 1]), lo = hex_val(s[*i + 2]);
  if (hi < 0 || lo < 0) {
    return -1;
  }
  *i += 3;
  return hi * 16 + lo;
}

/* 1 if the decoded s[0..n) equals name, 0 if not, -1 if malformed. */
static int url_equals(const char *s, size_t n, const char *name) {
  size_t i = 0, j = 0;
  int equal = 1;
  while (i < n) {
    int b = url_next(s, n, &i);
    if (b < 0) {
      return -1;
    }
    if (equal && (name[j] == '\0' || (unsigned char)name[j] != b)) {
      equal = 0;
    }
    if (equal) {
      j++;
    }
  }
  return equal && name[j] == '\0';
}

/* Decode s[0..n) into buf (cap >= 1) with a NUL. Returns the length,
 * WT_ERR_NOTFOUND if malformed, WT_ERR_NOBUF if it does not fit. */
static int url_decode(const char *s, size_t n, char *buf, size_t cap) {
  size_t i = 0, o = 0;
  while (i < n) {
    int b = url_next(s, n, &i);
    if (b < 0) {
      buf[0] = '\0';
      return WT_ERR_NOTFOUND;
    }
    if (o + 1 >= cap) {
      /* keep scanning: a malformed escape further on still means "absent" */
      while (i < n) {
        if (url_next(s, n, &i) < 0) {
          buf[0] = '\0';
          return WT_ERR_NOTFOUND;
        }
      }
      buf[0] = '\0';
      return WT_ERR_NOBUF;
    }
    buf[o++] = (char)b;
  }
  buf[o] = '\0';
  return (int)o;
}

int wt_app_query_get(const char *query, const char *name, char *buf, size_t cap) {
  if (!name || !buf || cap == 0) {
    return WT_ERR_INVAL;
  }
  buf[0] = '\0';
  if (!query) {
    return WT_ERR_NOTFOUND;
  }
  size_t qlen = strnlen(query, WT_APP_QUERY_MAX + 1);
  if (qlen > WT_APP_QUERY_MAX) {
    return WT_ERR_NOTFOUND; /* unbounded input is not parsed at all */
  }
  size_t p = 0;
  while (p < qlen) {
    const char *amp = memchr(query + p, '&', qlen - p);
    size_t end = amp ? (size_t)(amp - query) : qlen;
    const char *eq = memchr(query + p, '=', end - p);
    size_t key_end = eq ? (size_t)(eq - query) : end;
    size_t val = eq ? key_end + 1 : end;
    if (url_equals(query + p, key_end - p, name) == 1) {
      int rv = url_decode(query + val, end - val, buf, cap);
      if (rv != WT_ERR_NOTFOUND) {
        return rv;
      }
      /* malformed value: this parameter is absent; a later one may match */
    }
    p = end + 1;
  }
  return WT_ERR_NOTFOUND;
}

int wt_app_query_get_u64(const char *query, const char *name, uint64_t *out) {
  char buf[24];
  int n = wt_app_query_get(query, name, buf, sizeof(buf));
  if (n <= 0 || n > 20 || !out) {
    return WT_ERR_NOTFOUND;
  }
  uint64_t v = 0;
  for (int i = 0; i < n; i++) {
    if (buf[i] < '0' || buf[i] > '9') {
      return WT_ERR_NOTFOUND;
    }
    uint64_t d = (uint64_t)(buf[i] - '0');
    if (v > (UINT64_MAX - d) / 10) {
      return WT_ERR_NOTFOUND; /* overflow */
    }
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

/* ------------------------------------------------------------------ objects */

struct wt_app_stream {
  wt_app_ctx *ctx;
  wt_stream *st;      /* NULL once the engine's stream_close ran */
  wt_app_session *as; /* NULL once the app's stream_close was delivered */
  const wt_app_ops *ops;
  void *user;
  wt_app_stream *prev, *next; /* in as->streams, or ctx->orphans after the app close */
  wt_app_stream *pend_next;   /* in ctx's pending stream-close queue */
  uint64_t id;
  uint8_t bidi, local;
  uint8_t pending;    /* queued for close delivery */
  uint8_t closing;    /* the app's stream_close is running */
  uint8_t app_closed; /* the app's stream_close has been delivered */
};

struct wt_app_session {
  wt_app_ctx *ctx;
  wt_session *s; /* NULL once the engine's session_close ran */
  const wt_app_ops *ops;
  void *arg, *user;
  wt_app_session *prev, *next; /* in ctx->sessions */
  wt_app_stream *streams;      /* attached streams */
  wt_app_session *pend_next;   /* in ctx's pending session-close queue */
  uint64_t id;
  uint8_t *close_reason; /* copy, owned; NULL when empty */
  size_t close_len;
  uint32_t close_code;
  uint8_t close_clean;
  uint8_t opened, pending;
};

struct wt_app_ctx {
  const wt_app_router *router;
  wt_timer_heap *timers;
  uint64_t now_ns;
  int depth; /* > 0 while an application callback (or close delivery) runs */
  wt_app_session *sessions;
  wt_app_stream *orphans; /* app-closed streams the engine still holds */
  wt_app_stream *pend_st_head, *pend_st_tail;
  wt_app_session *pend_s_head, *pend_s_tail;
  wt_pool session_pool, stream_pool;
  wt_app_ctx_stats stats;
};

/* Doubly linked lists through prev/next, head pointer by reference. */
#define WT_LIST_PUSH(head, x)                                                                      \
  do {                                                                                             \
    (x)->prev = NULL;                                                                              \
    (x)->next = *(head);                                                                           \
    if (*(head)) {                                                                                 \
      (*(head))->prev = (x);                                                                       \
    }                                                                                              \
    *(head) = (x);                                                                                 \
  } while (0)

#define WT_LIST_REMOVE(head, x)                                                                    \
  do {                                                                                             \
    if ((x)->prev) {                                                                               \
      (x)->prev->next = (x)->next;                                                                 \
    } else {                                                                                       \
      *(head) = (x)->next;                                                                         \
    }                                                                                              \
    if ((x)->next) {                                                                               \
      (x)->next->prev = (x)->prev;                                                                 \
    }                                                                                              \
    (x)->prev = (x)->next = NULL;                                                                  \
  } while (0)

int wt_app_ctx_new(wt_app_ctx **out, const wt_app_router *router, wt_timer_heap *timers) {
  if (!out || !router || !timers) {
    return WT_ERR_INVAL;
  }
  wt_app_ctx *ctx = calloc(1, sizeof(*ctx));
  if (!ctx) {
    return WT_ERR_NOMEM;
  }
  ctx->router = router;
  ctx->timers = timers;
  if (wt_pool_init(&ctx->session_pool, sizeof(wt_app_session), 64, 0) < 0 ||
      wt_pool_init(&ctx->stream_pool, sizeof(wt_app_stream), 256, 0) < 0) {
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

/* ------------------------------------------------------------------ close delivery */

static void ctx_process_pending(wt_app_ctx *ctx);

static void ctx_enter(wt_app_ctx *ctx) {
  ctx->depth++;
}

/* Leaving the outermost callback delivers the close events queued meanwhile. */
static void ctx_leave(wt_app_ctx *ctx) {
  if (--ctx->depth == 0) {
    ctx_process_pending(ctx);
  }
}

static void stream_enqueue(wt_app_ctx *ctx, wt_app_stream *w) {
  if (w->pending) {
    return;
  }
  w->pending = 1;
  w->pend_next = NULL;
  if (ctx->pend_st_tail) {
    ctx->pend_st_tail->pend_next = w;
  } else {
    ctx->pend_st_head = w;
  }
  ctx->pend_st_tail = w;
}

static void session_enqueue(wt_app_ctx *ctx, wt_app_session *as) {
  if (as->pending) {
    return;
  }
  as->pending = 1;
  as->pend_next = NULL;
  if (ctx->pend_s_tail) {
    ctx->pend_s_tail->pend_next = as;
  } else {
    ctx->pend_s_head = as;
  }
  ctx->pend_s_tail = as;
}

/* Free w once nothing refers to it: the app saw its close, the engine
 * released it and it is not queued. */
static void stream_maybe_free(wt_app_ctx *ctx, wt_app_stream *w) {
  if (!w->app_closed || w->st || w->pending) {
    return;
  }
  WT_LIST_REMOVE(&ctx->orphans, w);
  wt_pool_put(&ctx->stream_pool, w);
  ctx->stats.streams_live--;
}

/* Call the app's stream_close once; w moves from its session to the orphans. */
static void stream_deliver_close(wt_app_ctx *ctx, wt_app_stream *w) {
  if (w->app_closed || w->closing) {
    return;
  }
  if (w->as) {
    WT_LIST_REMOVE(&w->as->streams, w);
  }
  WT_LIST_PUSH(&ctx->orphans, w);
  w->closing = 1;
  if (w->ops->stream_close) {
    w->ops->stream_close(w);
  }
  w->closing = 0;
  w->app_closed = 1;
  w->as = NULL;
  w->user = NULL;
  if (w->st) {
    /* The engine stream lives on without the app: nobody consumes any more. */
    wt_stream_set_manual_credit(w->st, 0);
  }
}

static void session_deliver_close(wt_app_ctx *ctx, wt_app_session *as) {
  /* stream_close for every stream of the session first (wt_app.h) */
  while (as->streams) {
    wt_app_stream *w = as->streams;
    stream_deliver_close(ctx, w);
    stream_maybe_free(ctx, w);
  }
  if (as->ops->session_close) {
    as->ops->session_close(as, as->close_code, as->close_reason, as->close_len, as->close_clean);
  }
  while (as->streams) { /* none can appear (as->s is NULL), but never leak one */
    wt_app_stream *w = as->streams;
    stream_deliver_close(ctx, w);
    stream_maybe_free(ctx, w);
  }
  WT_LIST_REMOVE(&ctx->sessions, as);
  free(as->close_reason);
  wt_pool_put(&ctx->session_pool, as);
  ctx->stats.sessions_live--;
}

static void ctx_process_pending(wt_app_ctx *ctx) {
  ctx->depth++; /* events raised by the deliveries below are queued, not nested */
  for (;;) {
    if (ctx->pend_st_head) {
      wt_app_stream *w = ctx->pend_st_head;
      ctx->pend_st_head = w->pend_next;
      if (!ctx->pend_st_head) {
        ctx->pend_st_tail = NULL;
      }
      w->pending = 0;
      stream_deliver_close(ctx, w);
      stream_maybe_free(ctx, w);
    } else if (ctx->pend_s_head) {
      wt_app_session *as = ctx->pend_s_head;
      ctx->pend_s_head = as->pend_next;
      if (!ctx->pend_s_head) {
        ctx->pend_s_tail = NULL;
      }
      as->pending = 0;
      session_deliver_close(ctx, as);
    } else {
      break;
    }
  }
  ctx->depth--;
}

void wt_app_ctx_del(wt_app_ctx *ctx) {
  if (!ctx) {
    return;
  }
  ctx_enter(ctx);
  /* Detach every engine handle: the engine is about to go (no callbacks). */
  for (wt_app_session *as = ctx->sessions; as; as = as->next) {
    if (as->s) {
      wt_session_set_user(as->s, NULL);
      as->s = NULL;
      as->close_code = 0;
      as->close_clean = 0;
    }
    for (wt_app_stream *w = as->streams; w; w = w->next) {
      if (w->st) {
        wt_stream_set_user(w->st, NULL);
        w->st = NULL;
      }
    }
    session_enqueue(ctx, as);
  }
  for (wt_app_stream *w = ctx->orphans; w; w = w->next) {
    if (w->st) {
      wt_stream_set_user(w->st, NULL);
      w->st = NULL;
    }
    stream_enqueue(ctx, w);
  }
  ctx_leave(ctx);
  if (ctx->sessions || ctx->orphans) {
    WT_LOG_ERROR("app ctx freed with %s still linked", ctx->sessions ? "sessions" : "streams");
  }
  wt_pool_free(&ctx->session_pool);
  wt_pool_free(&ctx->stream_pool);
  free(ctx);
}

void wt_app_ctx_drain(wt_app_ctx *ctx) {
  ctx_enter(ctx); /* closes raised meanwhile wait until the walk is over */
  for (wt_app_session *as = ctx->sessions; as; as = as->next) {
    if (as->s && as->opened && as->ops->session_drain) {
      as->ops->session_drain(as);
    }
  }
  ctx_leave(ctx);
}

/* ------------------------------------------------------------------ engine callbacks */

static int app_on_session_request(void *user, wt_session *s, const wt_request *req) {
  wt_app_ctx *ctx = user;
  void *arg = NULL;
  const wt_app_ops *ops = req->path ? wt_app_router_find(ctx->router, req->path, &arg) : NULL;
  if (!ops) {
    ctx->stats.not_found++;
    WT_LOG_DEBUG("CONNECT %s: no route, 404", req->path ? req->path : "(no path)");
    return 404;
  }
  wt_app_session *as = wt_pool_get(&ctx->session_pool);
  if (!as) {
    ctx->stats.alloc_failed++;
    return 503;
  }
  memset(as, 0, sizeof(*as));
  as->ctx = ctx;
  as->s = s;
  as->ops = ops;
  as->arg = arg;
  as->id = wt_session_id(s);
  const char *q = strchr(req->path, '?');
  wt_app_request areq = {.path = req->path,
                         .query = q ? q + 1 : "",
                         .authority = req->authority,
                         .origin = req->origin};
  int status = 200;
  if (ops->session_request) {
    ctx_enter(ctx);
    status = ops->session_request(as, &areq);
    ctx_leave(ctx);
  }
  if (status != 200) {
    if (status < 100 || status > 599) {
      status = 500;
    }
    ctx->stats.refused++;
    wt_pool_put(&ctx->session_pool, as);
    WT_LOG_DEBUG("CONNECT %s refused by %s: %d", req->path, ops->name ? ops->name : "app", status);
    return status;
  }
  WT_LIST_PUSH(&ctx->sessions, as);
  ctx->stats.sessions_live++;
  wt_session_set_user(s, as);
  return 200;
}

/* The app session of an engine session, or NULL if it is not (or no longer)
 * routed to an application. */
static wt_app_session *live_session(wt_session *s) {
  wt_app_session *as = wt_session_get_user(s);
  return as && as->s == s ? as : NULL;
}

static void app_on_session_open(void *user, wt_session *s) {
  wt_app_session *as = live_session(s);
  if (!as) {
    return;
  }
  as->opened = 1;
  if (as->ops->session_open) {
    ctx_enter(as->ctx);
    as->ops->session_open(as);
    ctx_leave(as->ctx);
  }
}

static void app_on_session_drain(void *user, wt_session *s) {
  wt_app_session *as = live_session(s);
  if (as && as->ops->session_drain) {
    ctx_enter(as->ctx);
    as->ops->session_drain(as);
    ctx_leave(as->ctx);
  }
}

static void app_on_session_close(void *user, wt_session *s, uint32_t code, const uint8_t *reason,
                                 size_t reason_len, int clean) {
  wt_app_session *as = live_session(s);
  if (!as) {
    return;
  }
  wt_app_ctx *ctx = as->ctx;
  ctx_enter(ctx);
  wt_session_set_user(s, NULL);
  as->s = NULL; /* the handle dies when this callback returns */
  as->close_code = code;
  as->close_clean = clean ? 1 : 0;
  if (reason && reason_len > 0) {
    as->close_reason = malloc(reason_len);
    if (as->close_reason) {
      memcpy(as->close_reason, reason, reason_len);
      as->close_len = reason_len;
    }
  }
  session_enqueue(ctx, as);
  ctx_leave(ctx);
}

static void app_on_stream_open(void *user, wt_session *s, wt_stream *st) {
  wt_app_ctx *ctx = user;
  wt_app_session *as = live_session(s);
  if (!as) {
    return; /* not ours: the engine keeps delivering, we ignore it */
  }
  wt_app_stream *w = wt_pool_get(&ctx->stream_pool);
  if (!w) {
    ctx->stats.alloc_failed++;
    wt_stream_stop_sending(st, 0);
    if (wt_stream_is_bidi(st)) {
      wt_stream_reset(st, 0);
    }
    return;
  }
  memset(w, 0, sizeof(*w));
  w->ctx = ctx;
  w->st = st;
  w->as = as;
  w->ops = as->ops;
  w->id = wt_stream_id(st);
  w->bidi = wt_stream_is_bidi(st) ? 1 : 0;
  WT_LIST_PUSH(&as->streams, w);
  ctx->stats.streams_live++;
  wt_stream_set_user(st, w);
  if (w->ops->stream_open) {
    ctx_enter(ctx);
    w->ops->stream_open(w);
    ctx_leave(ctx);
  }
}

/* The app stream of an engine stream while the app may hear about it. */
static wt_app_stream *live_stream(wt_stream *st) {
  wt_app_stream *w = wt_stream_get_user(st);
  return w && w->st == st && !w->app_closed && !w->closing && w->as ? w : NULL;
}

static void app_on_stream_data(void *user, wt_stream *st, const uint8_t *data, size_t len,
                               int fin) {
  wt_app_stream *w = live_stream(st);
  if (w && w->ops->stream_data) {
    ctx_enter(w->ctx);
    w->ops->stream_data(w, data, len, fin);
    ctx_leave(w->ctx);
  } else {
    wt_stream_consume(st, len); /* dropped: never hold the peer back for it */
  }
}

static void app_on_stream_reset(void *user, wt_stream *st, uint32_t code, int has_code) {
  wt_app_stream *w = live_stream(st);
  if (w && w->ops->stream_reset) {
    ctx_enter(w->ctx);
    w->ops->stream_reset(w, code, has_code);
    ctx_leave(w->ctx);
  }
}

static void app_on_stream_stop(void *user, wt_stream *st, uint32_t code, int has_code) {
  wt_app_stream *w = live_stream(st);
  if (w && w->ops->stream_stop) {
    ctx_enter(w->ctx);
    w->ops->stream_stop(w, code, has_code);
    ctx_leave(w->ctx);
  }
}

static void app_on_stream_writable(void *user, wt_stream *st) {
  wt_app_stream *w = live_stream(st);
  if (w && w->ops->stream_writable) {
    ctx_enter(w->ctx);
    w->ops->stream_writable(w);
    ctx_leave(w->ctx);
  }
}

static void app_on_stream_close(void *user, wt_stream *st) {
  wt_app_stream *w = wt_stream_get_user(st);
  if (!w || w->st != st) {
    return;
  }
  wt_app_ctx *ctx = w->ctx;
  ctx_enter(ctx);
  wt_stream_set_user(st, NULL);
  w->st = NULL;
  stream_enqueue(ctx, w);
  ctx_leave(ctx);
}

static void app_on_datagram(void *user, wt_session *s, const uint8_t *data, size_t len) {
  wt_app_session *as = live_session(s);
  if (as && as->opened && as->ops->datagram) {
    ctx_enter(as->ctx);
    as->ops->datagram(as, data, len);
    ctx_leave(as->ctx);
  }
}

void wt_app_engine_callbacks(struct wt_engine_callbacks *cb) {
  memset(cb, 0, sizeof(*cb));
  cb->session_request = app_on_session_request;
  cb->session_open = app_on_session_open;
  cb->session_close = app_on_session_close;
  cb->session_drain = app_on_session_drain;
  cb->stream_open = app_on_stream_open;
  cb->stream_data = app_on_stream_data;
  cb->stream_reset = app_on_stream_reset;
  cb->stream_stop = app_on_stream_stop;
  cb->stream_writable = app_on_stream_writable;
  cb->stream_close = app_on_stream_close;
  cb->datagram = app_on_datagram;
}

/* ------------------------------------------------------------------ timers */

size_t wt_app_run_timers(wt_app_ctx *ctx, uint64_t now_ns) {
  ctx->now_ns = now_ns;
  ctx_enter(ctx);
  size_t n = wt_timer_run(ctx->timers, now_ns);
  ctx_leave(ctx);
  return n;
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
  return wt_timer_add(ctx->timers, deadline, fn, arg, id);
}

int wt_app_timer_cancel(wt_app_ctx *ctx, uint64_t id) {
  return ctx ? wt_timer_cancel(ctx->timers, id) : WT_ERR_NOTFOUND;
}

/* ------------------------------------------------------------------ session commands */

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
  if (!as->s) {
    return WT_ERR_CLOSED;
  }
  wt_app_ctx *ctx = as->ctx;
  wt_app_stream *w = wt_pool_get(&ctx->stream_pool);
  if (!w) {
    ctx->stats.alloc_failed++;
    return WT_ERR_NOMEM;
  }
  wt_stream *st = NULL;
  int rv = wt_session_open_stream(as->s, bidi, &st);
  if (rv < 0) {
    wt_pool_put(&ctx->stream_pool, w);
    return rv;
  }
  memset(w, 0, sizeof(*w));
  w->ctx = ctx;
  w->st = st;
  w->as = as;
  w->ops = as->ops;
  w->id = wt_stream_id(st);
  w->bidi = bidi ? 1 : 0;
  w->local = 1;
  WT_LIST_PUSH(&as->streams, w);
  ctx->stats.streams_live++;
  wt_stream_set_user(st, w);
  *out = w;
  return 0;
}

int wt_app_send_datagram(wt_app_session *as, const uint8_t *data, size_t len) {
  if (!as || (!data && len)) {
    return WT_ERR_INVAL;
  }
  return as->s ? wt_session_send_datagram(as->s, data, len) : WT_ERR_CLOSED;
}

size_t wt_app_max_datagram(const wt_app_session *as) {
  return as && as->s ? wt_session_max_datagram(as->s) : 0;
}

int wt_app_close_session(wt_app_session *as, uint32_t code, const uint8_t *reason, size_t len) {
  if (!as || (!reason && len) || len > 1024) {
    return WT_ERR_INVAL;
  }
  if (!as->s) {
    return WT_ERR_CLOSED;
  }
  wt_app_ctx *ctx = as->ctx;
  ctx_enter(ctx); /* the engine may report the close right away: queue it */
  int rv = wt_session_close(as->s, code, reason, len);
  ctx_leave(ctx);
  return rv;
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
  if (!st->st || st->app_closed) {
    return WT_ERR_CLOSED;
  }
  return wt_stream_write(st->st, data, len, fin);
}

int wt_app_stream_reset(wt_app_stream *st, uint32_t code) {
  if (!st) {
    return WT_ERR_INVAL;
  }
  return st->st && !st->app_closed ? wt_stream_reset(st->st, code) : WT_ERR_CLOSED;
}

int wt_app_stream_stop_sending(wt_app_stream *st, uint32_t code) {
  if (!st) {
    return WT_ERR_INVAL;
  }
  return st->st && !st->app_closed ? wt_stream_stop_sending(st->st, code) : WT_ERR_CLOSED;
}

int wt_app_stream_set_manual_credit(wt_app_stream *st, int on) {
  if (!st) {
    return WT_ERR_INVAL;
  }
  return st->st && !st->app_closed ? wt_stream_set_manual_credit(st->st, on) : WT_ERR_CLOSED;
}

int wt_app_stream_consume(wt_app_stream *st, size_t n) {
  if (!st) {
    return WT_ERR_INVAL;
  }
  return st->st && !st->app_closed ? wt_stream_consume(st->st, n) : WT_ERR_CLOSED;
}
