/* wt_app_relay.c: the live fan-out relay, /pub?ch=NAME and /sub?ch=NAME
 * (see wt_apps.h for what it does on the wire).
 *
 * Every session of a channel runs on the channel's owner worker (the
 * route's worker_hint hashes the name), which keeps the channel: its
 * publisher, its fan-out group (wt_app.h: the shards keep the members and
 * write to them, one buffer per shard, no copy per subscriber) and the
 * current group's bytes for late joiners (references to the received
 * buffers, bounded by relay_group_max counted as the buffers' capacity,
 * and by a number of slices). Counters are per channel, in the
 * registry of the built-in apps' module (wt_relay_reg, one per module:
 * shared by its workers, read by its statistics hooks from any thread). */
#define WT_LOG_MODULE "relay"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wt_app_gcache.h"
#include "wt_apps.h"
#include "wt_dlist.h"
#include "wt_error.h"
#include "wt_log.h"

#define RELAY_NAME_MAX 64

/* ------------------------------------------------------------------ registry (stats) */

typedef struct relay_stats {
  struct relay_stats *prev, *next;
  char name[RELAY_NAME_MAX + 1];
  uint32_t worker;
  int live;         /* a channel uses it now (under the registry lock) */
  uint64_t retired; /* when it was last released (order of retirement) */
  _Atomic uint64_t published_datagrams, published_stream_bytes, published_streams;
  _Atomic uint64_t subscribers, publishers, publishers_refused;
  /* written by the shards mirroring the channel's group, which may still
   * do so after the entry is gone: reference-counted (wt_app.h) */
  wt_app_group_counters *grp;
} relay_stats;

/* The counters of a channel outlive it: a channel that ends (no publisher,
 * no subscriber) leaves its entry "retired", and the next channel of that
 * name continues its counters. At most RELAY_RETIRED_MAX retired entries are
 * kept (the oldest go first). */
#define RELAY_RETIRED_MAX 1024

struct wt_relay_reg {
  pthread_mutex_t mu;
  relay_stats *head;
  size_t retired, retired_max;
  uint64_t clock;
};

int wt_relay_reg_new(wt_relay_reg **out) {
  wt_relay_reg *g = calloc(1, sizeof(*g));
  if (!g) {
    return WT_ERR_NOMEM;
  }
  pthread_mutex_init(&g->mu, NULL);
  g->retired_max = RELAY_RETIRED_MAX;
  *out = g;
  return 0;
}

void wt_relay_reg_set_retired_max(wt_relay_reg *g, uint32_t n) {
  g->retired_max = n ? n : RELAY_RETIRED_MAX;
}

void wt_relay_reg_del(wt_relay_reg *g) {
  if (!g) {
    return;
  }
  while (g->head) {
    relay_stats *s = g->head;
    g->head = s->next;
    wt_app_group_counters_unref(s->grp);
    free(s);
  }
  pthread_mutex_destroy(&g->mu);
  free(g);
}

static void reg_unlink(wt_relay_reg *g, relay_stats *s) {
  if (s->prev) {
    s->prev->next = s->next;
  } else {
    g->head = s->next;
  }
  if (s->next) {
    s->next->prev = s->prev;
  }
}

/* The entry of name (reused or new, live), or NULL without memory. */
static relay_stats *reg_acquire(wt_relay_reg *g, const char *name, uint32_t worker) {
  pthread_mutex_lock(&g->mu);
  relay_stats *s = g->head;
  while (s && strcmp(s->name, name)) {
    s = s->next;
  }
  if (s && !s->live) {
    g->retired--;
  } else if (!s || s->live) {
    /* a live entry of the same name belongs to another worker's channel
     * (cannot happen: names hash to one worker); never share it */
    s = calloc(1, sizeof(*s));
    if (s && !(s->grp = wt_app_group_counters_new())) {
      free(s);
      s = NULL;
    }
    if (s) {
      snprintf(s->name, sizeof(s->name), "%s", name);
      s->next = g->head;
      if (g->head) {
        g->head->prev = s;
      }
      g->head = s;
    }
  }
  if (s) {
    s->live = 1;
    s->worker = worker;
  }
  pthread_mutex_unlock(&g->mu);
  return s;
}

static void reg_release(wt_relay_reg *g, relay_stats *s) {
  pthread_mutex_lock(&g->mu);
  s->live = 0;
  s->retired = ++g->clock;
  atomic_store_explicit(&s->subscribers, 0, memory_order_relaxed);
  atomic_store_explicit(&s->publishers, 0, memory_order_relaxed);
  if (++g->retired > g->retired_max) {
    relay_stats *old = NULL;
    for (relay_stats *x = g->head; x; x = x->next) {
      if (!x->live && (!old || x->retired < old->retired)) {
        old = x;
      }
    }
    if (old) {
      reg_unlink(g, old);
      wt_app_group_counters_unref(old->grp); /* shards may hold theirs a while */
      free(old);
      g->retired--;
    }
  }
  pthread_mutex_unlock(&g->mu);
}

#define LD(x) ((unsigned long long)atomic_load_explicit(&(x), memory_order_relaxed))

int wt_relay_stats_json(wt_relay_reg *g, char *buf, size_t cap) {
  size_t n = 0;
  int w = snprintf(buf, cap, "{\"channels\":[");
  if (w < 0 || (size_t)w >= cap) {
    return WT_ERR_NOBUF;
  }
  n = (size_t)w;
  pthread_mutex_lock(&g->mu);
  int first = 1;
  for (relay_stats *s = g->head; s; s = s->next) {
    w = snprintf(
        buf + n, cap - n,
        "%s{\"name\":\"%s\",\"live\":%d,\"worker\":%u,\"subscribers\":%llu,\"publisher\":%llu,"
        "\"publishers_refused\":%llu,\"published\":{\"datagrams\":%llu,\"streams\":%llu,"
        "\"stream_bytes\":%llu},\"delivered\":{\"datagrams\":%llu,\"streams\":%llu,"
        "\"stream_bytes\":%llu},\"dropped\":{\"datagrams\":%llu,\"streams_lagged\":%llu,"
        "\"streams_lagged_hdr\":%llu,\"streams_limit\":%llu}}",
        first ? "" : ",", s->name, s->live, s->worker, LD(s->subscribers), LD(s->publishers),
        LD(s->publishers_refused), LD(s->published_datagrams), LD(s->published_streams),
        LD(s->published_stream_bytes), LD(s->grp->delivered_datagrams),
        LD(s->grp->delivered_streams), LD(s->grp->delivered_stream_bytes),
        LD(s->grp->dropped_datagrams), LD(s->grp->dropped_streams_lagged),
        LD(s->grp->dropped_streams_lagged_hdr), LD(s->grp->dropped_streams_limit));
    if (w < 0 || (size_t)w >= cap - n) {
      pthread_mutex_unlock(&g->mu);
      return WT_ERR_NOBUF;
    }
    n += (size_t)w;
    first = 0;
  }
  pthread_mutex_unlock(&g->mu);
  w = snprintf(buf + n, cap - n, "]}");
  if (w < 0 || (size_t)w >= cap - n) {
    return WT_ERR_NOBUF;
  }
  return (int)(n + (size_t)w);
}

size_t wt_relay_stats_each(wt_relay_reg *g, void (*fn)(void *arg, const wt_relay_channel_stats *c),
                           void *arg) {
  size_t n = 0;
  pthread_mutex_lock(&g->mu);
  for (relay_stats *s = g->head; s; s = s->next) {
    wt_relay_channel_stats c = {
        .name = s->name,
        .live = s->live,
        .worker = s->worker,
        .subscribers = LD(s->subscribers),
        .publishers = LD(s->publishers),
        .publishers_refused = LD(s->publishers_refused),
        .published_datagrams = LD(s->published_datagrams),
        .published_streams = LD(s->published_streams),
        .published_stream_bytes = LD(s->published_stream_bytes),
        .delivered_datagrams = LD(s->grp->delivered_datagrams),
        .delivered_streams = LD(s->grp->delivered_streams),
        .delivered_stream_bytes = LD(s->grp->delivered_stream_bytes),
        .dropped_datagrams = LD(s->grp->dropped_datagrams),
        .dropped_streams_lagged = LD(s->grp->dropped_streams_lagged),
        .dropped_streams_lagged_hdr = LD(s->grp->dropped_streams_lagged_hdr),
        .dropped_streams_limit = LD(s->grp->dropped_streams_limit),
    };
    fn(arg, &c);
    n++;
  }
  pthread_mutex_unlock(&g->mu);
  return n;
}

/* ------------------------------------------------------------------ channels */

typedef struct relay_channel relay_channel;
typedef struct relay_sess relay_sess;

typedef struct relay_pstream { /* a publisher uni stream = one group */
  relay_channel *ch;
  uint64_t gsid;
  int done; /* FIN or reset mirrored */
} relay_pstream;

struct relay_channel {
  relay_channel *prev, *next;
  char name[RELAY_NAME_MAX + 1];
  wt_app_session *pub;
  wt_app_group *grp;
  size_t subs;
  /* the current group (the publisher's newest stream) for late joiners */
  uint64_t cur_gsid;
  int cur_fin;
  wt_app_gcache gc; /* its bytes, while it fits (relay_group_max) */
  relay_stats *st;
  /* the cascade (wt_apps.h "Cascade"): the upstream /sub session (connecting
   * or open) and what it was opened with; the next locator candidate; the
   * pending retry or linger timer; the largest hop count a local /sub came
   * with; latched once that reached the limit (never pulled again while
   * the channel lives) */
  wt_app_ctx *ctx; /* the owner worker's */
  wt_apps *apps;   /* its built-in apps' state */
  wt_app_session *up;
  uint32_t up_hops;    /* the hop count the upstream /sub carries */
  uint32_t up_hdr_len; /* the group header length the upstream answered */
  unsigned up_idx;
  uint64_t up_timer;
  uint32_t up_backoff_ms;
  uint32_t hops_max;
  int hop_blocked;
  int up_fed;        /* the current upstream delivered a group or datagram */
  relay_sess *rsubs; /* downstream nodes' /subs (they were told a group header length) */
  int pub_left;      /* a local publisher left and no pull has started since (rehome_downstream) */
};

struct wt_relay {
  relay_channel *channels;
  size_t n_channels;
  wt_relay_reg *reg; /* the module's (wt_apps.reg) */
};

struct relay_sess {
  relay_channel *ch;
  wt_app_session *as;
  relay_sess *prev, *next; /* a downstream node's /sub (&hops=): in ch->rsubs */
  int relay_sub;
  uint32_t told_hdr; /* the wt-relay-hdr it was answered (0: none) */
  int is_pub;        /* a publisher, or (is_up) the upstream that feeds the channel like one */
  int is_up;         /* the channel's upstream /sub session (wt_app_connect) */
  int up_open;
  int drained;      /* the upstream announced it goes away: lost, re-resolve */
  uint32_t hdr_len; /* publisher: its groups' header length (?hdr=N, wt_apps.h) */
};

static void cascade_check(wt_apps *a, wt_app_ctx *ctx, relay_channel *ch);
static void hdr_changed(relay_channel *ch, uint32_t hdr);
static void cascade_stop(relay_channel *ch, const char *why);

static void cur_clear(relay_channel *ch) {
  wt_app_gcache_clear(&ch->gc);
  ch->cur_gsid = 0;
  ch->cur_fin = 0;
}

static void channel_free(wt_relay *r, relay_channel *ch) {
  if (ch->up_timer) {
    wt_app_timer_cancel(ch->ctx, ch->up_timer);
  }
  cur_clear(ch);
  wt_app_gcache_free(&ch->gc);
  wt_app_group_del(ch->grp, WT_APP_RELAY_PUBLISHER_GONE);
  if (ch->prev) {
    ch->prev->next = ch->next;
  } else {
    r->channels = ch->next;
  }
  if (ch->next) {
    ch->next->prev = ch->prev;
  }
  r->n_channels--;
  reg_release(r->reg, ch->st);
  free(ch);
}

static void channel_maybe_free(wt_relay *r, relay_channel *ch) {
  /* an upstream (or its linger/retry timer) keeps it: they end it */
  if (!ch->pub && ch->subs == 0 && !ch->up && !ch->up_timer) {
    channel_free(r, ch);
  }
}

/* A channel name: segments of [A-Za-z0-9_.-] joined by single '/' (no
 * empty segment), so a name is its own normalized token path
 * (auth/wt_jwt.h) and "a//b" cannot alias "a/b". */
static int name_ok(const char *s, size_t n) {
  if (n == 0 || n > RELAY_NAME_MAX || s[0] == '/' || s[n - 1] == '/') {
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '/' && s[i + 1] != '/') {
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '.' || c == '-')) {
      return 0;
    }
  }
  return 1;
}

/* The channel name of a request, or a negative error. */
static int req_name(const wt_app_request *req, char *name) {
  int n = wt_app_query_get(req->query, "ch", name, RELAY_NAME_MAX + 1);
  if (n < 0 || !name_ok(name, (size_t)n)) {
    return WT_ERR_INVAL;
  }
  return n;
}

static uint32_t relay_worker_hint(const wt_app_request *req) {
  char name[RELAY_NAME_MAX + 1];
  int n = req_name(req, name);
  uint32_t h = 2166136261u; /* FNV-1a */
  for (int i = 0; i < n; i++) {
    h = (h ^ (uint8_t)name[i]) * 16777619u;
  }
  return h;
}

static relay_channel *channel_get(wt_apps *a, wt_app_ctx *ctx, const char *name) {
  wt_relay *r = a->relay;
  for (relay_channel *ch = r->channels; ch; ch = ch->next) {
    if (!strcmp(ch->name, name)) {
      return ch;
    }
  }
  if (r->n_channels >= a->cfg.relay_max_channels) {
    return NULL;
  }
  relay_channel *ch = calloc(1, sizeof(*ch));
  relay_stats *st = ch && r->reg ? reg_acquire(r->reg, name, wt_app_ctx_worker(ctx)) : NULL;
  if (!st || wt_app_group_new(ctx, a->cfg.relay_lag_max, st->grp, &ch->grp) < 0) {
    if (st) {
      reg_release(r->reg, st);
    }
    free(ch);
    return NULL;
  }
  snprintf(ch->name, sizeof(ch->name), "%s", name);
  ch->st = st;
  ch->ctx = ctx;
  ch->apps = a;
  ch->next = r->channels;
  if (r->channels) {
    r->channels->prev = ch;
  }
  r->channels = ch;
  r->n_channels++;
  return ch;
}

/* ------------------------------------------------------------------ sessions */

static int relay_request(wt_app_session *as, const wt_app_request *req, int is_pub) {
  wt_apps *a = wt_app_session_arg(as);
  char name[RELAY_NAME_MAX + 1];
  if (req_name(req, name) < 0) {
    return 400;
  }
  /* the publisher's group header (wt_apps.h): absent = 0; malformed or
   * above WT_APP_GROUP_HDR_MAX: 400 */
  uint64_t hdr = 0;
  char hv[24];
  if (is_pub && wt_app_query_get(req->query, "hdr", hv, sizeof(hv)) != WT_ERR_NOTFOUND &&
      (wt_app_query_get_u64(req->query, "hdr", &hdr) < 0 || hdr > WT_APP_GROUP_HDR_MAX)) {
    return 400;
  }
  /* the cascade's hop count (wt_apps.h "Cascade"): absent = 0 (a client);
   * malformed: 400; past relay_max_hops: 508, logged and counted */
  uint64_t hops = 0;
  if (!is_pub && wt_app_query_get(req->query, "hops", hv, sizeof(hv)) != WT_ERR_NOTFOUND &&
      wt_app_query_get_u64(req->query, "hops", &hops) < 0) {
    return 400;
  }
  if (!is_pub && hops > a->cfg.relay_max_hops) {
    a->cnt.cluster_hops_refused++;
    WT_LOG_ERROR("channel %s: /sub with hops=%llu refused (limit %u): a cluster loop?", name,
                 (unsigned long long)hops, a->cfg.relay_max_hops);
    return WT_APP_RELAY_HOP_LIMIT;
  }
  /* authorization before any state: no channel, no slot, no counter
   * entry for a refused client */
  int st =
      wt_apps_authorize(a, as, req, is_pub ? WT_APP_AUTH_PUBLISH : WT_APP_AUTH_SUBSCRIBE, name);
  if (st != 0) {
    return st;
  }
  if (!a->relay) {
    a->relay = calloc(1, sizeof(*a->relay));
    if (!a->relay) {
      return 503;
    }
    a->relay->reg = a->reg;
  }
  relay_channel *ch = channel_get(a, wt_app_session_ctx(as), name);
  if (!ch) {
    return 503; /* relay_max_channels reached, or no memory */
  }
  if (is_pub && ch->pub) {
    atomic_fetch_add_explicit(&ch->st->publishers_refused, 1, memory_order_relaxed);
    channel_maybe_free(a->relay, ch);
    return 409;
  }
  if (!is_pub && ch->subs >= a->cfg.relay_max_subscribers) {
    channel_maybe_free(a->relay, ch);
    return 503;
  }
  relay_sess *rs = calloc(1, sizeof(*rs));
  if (!rs) {
    channel_maybe_free(a->relay, ch);
    return 503;
  }
  rs->ch = ch;
  rs->as = as;
  rs->is_pub = is_pub;
  rs->hdr_len = (uint32_t)hdr;
  if (is_pub) {
    ch->pub = as;
    ch->pub_left = 0;
    atomic_store_explicit(&ch->st->publishers, 1, memory_order_relaxed);
    /* a local publisher takes over from the upstream, and is announced */
    cascade_stop(ch, "a local publisher took over");
    hdr_changed(ch, rs->hdr_len);
    if (a->cfg.locator && a->cfg.locator->publish) {
      a->cfg.locator->publish(a->cfg.locator->arg, "relay", name, 1);
    }
  } else {
    ch->subs++;
    atomic_store_explicit(&ch->st->subscribers, ch->subs, memory_order_relaxed);
    if (hops > ch->hops_max) {
      ch->hops_max = (uint32_t)hops;
    }
    /* the group header length travels to a downstream node in the answer
     * (wt_apps.h "Cascade"): the publisher's, or the one our upstream gave */
    uint32_t h = ch->pub  ? ((relay_sess *)wt_app_session_get_user(ch->pub))->hdr_len
                 : ch->up ? ch->up_hdr_len
                          : 0;
    if (ch->pub || ch->up) {
      char v[16];
      snprintf(v, sizeof(v), "%u", h);
      (void)wt_app_session_add_header(as, "wt-relay-hdr", v);
    }
    if (wt_app_query_get(req->query, "hops", hv, sizeof(hv)) != WT_ERR_NOTFOUND) {
      rs->relay_sub = 1; /* another node: told h, closed if it changes */
      rs->told_hdr = ch->pub || ch->up ? h : 0;
      WT_DLIST_PUSH(&ch->rsubs, rs);
    }
  }
  wt_app_session_set_user(as, rs);
  return 200;
}

static int relay_pub_request(wt_app_session *as, const wt_app_request *req) {
  return relay_request(as, req, 1);
}

static int relay_sub_request(wt_app_session *as, const wt_app_request *req) {
  return relay_request(as, req, 0);
}

static void relay_sub_open(wt_app_session *as) {
  relay_sess *rs = wt_app_session_get_user(as);
  relay_channel *ch = rs->ch;
  cascade_check(wt_app_session_arg(as), wt_app_session_ctx(as), ch);
  if (wt_app_group_join(ch->grp, as) < 0) {
    wt_app_close_session(as, 0x13, (const uint8_t *)"relay: cannot join", 18);
    return;
  }
  if (ch->cur_gsid && ch->gc.on) {
    /* a late joiner starts at the beginning of the current group */
    wt_app_group_catchup(ch->grp, as, ch->cur_gsid);
    wt_app_gcache_replay(&ch->gc, ch->grp, as, ch->cur_gsid, ch->cur_fin);
  }
}

/* This node starts pulling a channel that downstream nodes pull from it:
 * its publisher left and the channel is published elsewhere now (a moved
 * publisher). Their /subs are closed so that each looks the channel up
 * again (docs/operations.md "Cluster"): with a registry they find the
 * publisher's node and pull from it directly; with static peers they come
 * back here. Kept open, they would reach a moved publisher through this
 * node: a hop more for as long as they stay. While the channel is published
 * nowhere they are kept: nothing is gained by closing them. Once per
 * departed publisher (ch->pub_left). */
static void rehome_downstream(relay_channel *ch) {
  static const char why[] = "relay: the publisher left this node";
  for (relay_sess *r = ch->rsubs; r; r = r->next) {
    WT_LOG_INFO("channel %s: the publisher left: closing a downstream node's /sub", ch->name);
    wt_app_close_session(r->as, WT_APP_RELAY_PUBLISHER_LEFT, (const uint8_t *)why, sizeof(why) - 1);
  }
}

static void relay_close(wt_app_session *as, uint32_t code, const uint8_t *reason, size_t len,
                        int clean) {
  wt_apps *a = wt_app_session_arg(as);
  relay_sess *rs = wt_app_session_get_user(as);
  if (!rs) {
    return;
  }
  relay_channel *ch = rs->ch;
  if (rs->is_pub) {
    ch->pub = NULL;
    ch->pub_left = 1;
    atomic_store_explicit(&ch->st->publishers, 0, memory_order_relaxed);
    if (a->cfg.locator && a->cfg.locator->publish) {
      a->cfg.locator->publish(a->cfg.locator->arg, "relay", ch->name, 0);
    }
  } else {
    ch->subs--;
    atomic_store_explicit(&ch->st->subscribers, ch->subs, memory_order_relaxed);
    if (rs->relay_sub) {
      WT_DLIST_REMOVE(&ch->rsubs, rs);
    }
  }
  free(rs);
  wt_app_session_set_user(as, NULL);
  cascade_check(a, wt_app_session_ctx(as), ch); /* may pull, or linger, or let go */
  channel_maybe_free(a->relay, ch);
}

/* ------------------------------------------------------------------ publisher streams */

static void relay_stream_open(wt_app_stream *st) {
  wt_app_session *as = wt_app_stream_session(st);
  relay_sess *rs = wt_app_session_get_user(as);
  if (!rs || !rs->is_pub || wt_app_stream_is_bidi(st)) {
    /* subscribers send nothing; publishers send uni streams only */
    wt_app_stream_stop_sending(st, WT_APP_RELAY_REFUSED);
    if (wt_app_stream_is_bidi(st)) {
      wt_app_stream_reset(st, WT_APP_RELAY_REFUSED);
    }
    return;
  }
  relay_channel *ch = rs->ch;
  relay_pstream *ps = calloc(1, sizeof(*ps));
  if (!ps) {
    wt_app_stream_stop_sending(st, WT_APP_RELAY_REFUSED);
    return;
  }
  ps->ch = ch;
  ps->gsid = wt_app_group_stream_open_hdr(ch->grp, rs->hdr_len);
  if (rs->is_up) {
    ((wt_apps *)wt_app_session_arg(as))->cnt.cluster_upstream_groups++;
    ch->up_fed = 1;
  }
  wt_app_stream_set_user(st, ps);
  atomic_fetch_add_explicit(&ch->st->published_streams, 1, memory_order_relaxed);
  cur_clear(ch); /* the newest stream is the current group */
  ch->cur_gsid = ps->gsid;
  wt_app_gcache_start(&ch->gc);
}

static void relay_stream_data(wt_app_stream *st, const uint8_t *data, size_t len, int fin) {
  relay_pstream *ps = wt_app_stream_get_user(st);
  if (!ps || ps->done) {
    return;
  }
  relay_channel *ch = ps->ch;
  wt_app_session *as = wt_app_stream_session(st);
  wt_apps *a = wt_app_session_arg(as);
  wt_app_ctx *ctx = wt_app_session_ctx(as);
  size_t off = 0;
  wt_buf *b = len ? wt_app_event_buf(ctx, &off) : NULL;
  wt_buf *own = NULL;
  if (len && !b) { /* not from a ring buffer (cannot happen today): copy once */
    own = b = wt_app_buf_alloc(ctx, len);
    if (!b) {
      return;
    }
    memcpy(b->data, data, len);
    off = 0;
  }
  wt_app_group_stream_write(ch->grp, ps->gsid, b, off, len, fin);
  atomic_fetch_add_explicit(&ch->st->published_stream_bytes, len, memory_order_relaxed);
  if (((relay_sess *)wt_app_session_get_user(as))->is_up) {
    a->cnt.cluster_upstream_bytes += len;
  }
  if (ps->gsid == ch->cur_gsid) {
    wt_app_gcache_retain(&ch->gc, b, off, len, a->cfg.relay_group_max);
    if (fin) {
      ch->cur_fin = 1;
    }
  }
  if (own) {
    wt_buf_unref(own);
  }
  if (fin) {
    ps->done = 1;
  }
}

static void relay_stream_reset(wt_app_stream *st, uint32_t code, int has_code) {
  relay_pstream *ps = wt_app_stream_get_user(st);
  if (!ps || ps->done) {
    return;
  }
  relay_channel *ch = ps->ch;
  wt_app_group_stream_reset(ch->grp, ps->gsid, has_code ? code : WT_APP_RELAY_PUBLISHER_GONE);
  ps->done = 1;
  if (ps->gsid == ch->cur_gsid) {
    cur_clear(ch);
  }
}

static void relay_stream_close(wt_app_stream *st) {
  relay_pstream *ps = wt_app_stream_get_user(st);
  if (!ps) {
    return;
  }
  if (!ps->done) { /* the publisher went away mid-group */
    relay_channel *ch = ps->ch;
    wt_app_group_stream_reset(ch->grp, ps->gsid, WT_APP_RELAY_PUBLISHER_GONE);
    if (ps->gsid == ch->cur_gsid) {
      cur_clear(ch);
    }
  }
  free(ps);
  wt_app_stream_set_user(st, NULL);
}

static void relay_datagram(wt_app_session *as, const uint8_t *data, size_t len) {
  relay_sess *rs = wt_app_session_get_user(as);
  if (!rs || !rs->is_pub) {
    return; /* subscribers' datagrams are ignored */
  }
  relay_channel *ch = rs->ch;
  size_t off = 0;
  wt_buf *b = wt_app_event_buf(wt_app_session_ctx(as), &off);
  if (!b) {
    return;
  }
  (void)data;
  wt_app_group_send_datagram(ch->grp, b, off, len);
  atomic_fetch_add_explicit(&ch->st->published_datagrams, 1, memory_order_relaxed);
  if (rs->is_up) {
    ((wt_apps *)wt_app_session_arg(as))->cnt.cluster_upstream_datagrams++;
    ch->up_fed = 1;
  }
}

/* ------------------------------------------------------------------ cascade */

/* wt_apps.h "Cascade". A channel with local subscribers and no local
 * publisher pulls from the node the locator names: one upstream /sub per
 * channel per node, whatever the number of local subscribers, fed into the
 * channel like a publisher's session. */

#define CASCADE_BACKOFF_MIN_MS 100
#define CASCADE_BACKOFF_MAX_MS 5000
#define CASCADE_LINGER_MS      2000 /* the upstream outlives the last local subscriber so long */
/* A channel published nowhere known yet is looked up again this often, at a
 * fixed pace: a lookup is a read of the locator's local state (wt_app.h: it
 * never blocks), and a doubling backoff let a subscriber that came before
 * the publisher miss up to 5 s of it (integration.cluster_netns). */
#define CASCADE_WAIT_MS    250
#define CASCADE_CLOSE_GONE WT_APP_RELAY_UPSTREAM_CLOSE

static const wt_app_ops relay_up_ops;

static void cascade_timer(void *arg);

static void cascade_arm(relay_channel *ch, uint64_t delay_ms) {
  if (ch->up_timer) {
    wt_app_timer_cancel(ch->ctx, ch->up_timer);
    ch->up_timer = 0;
  }
  if (wt_app_timer_add(ch->ctx, delay_ms * 1000000ull, cascade_timer, ch, &ch->up_timer) < 0) {
    ch->up_timer = 0;
  }
}

/* Retry later, with a doubling backoff (reset when an upstream opens). */
static void cascade_retry(relay_channel *ch) {
  uint32_t d = ch->up_backoff_ms ? ch->up_backoff_ms : CASCADE_BACKOFF_MIN_MS;
  ch->up_backoff_ms = d * 2 > CASCADE_BACKOFF_MAX_MS ? CASCADE_BACKOFF_MAX_MS : d * 2;
  cascade_arm(ch, d);
}

static int cascade_wanted(const wt_apps *a, const relay_channel *ch) {
  return a->cfg.locator && a->cfg.locator->lookup && !ch->pub && ch->subs > 0 && !ch->hop_blocked;
}

/* Close the upstream (its close callback forgets it). */
static void cascade_stop(relay_channel *ch, const char *why) {
  if (ch->up_timer) {
    wt_app_timer_cancel(ch->ctx, ch->up_timer);
    ch->up_timer = 0;
  }
  if (!ch->up) {
    return;
  }
  relay_sess *rs = wt_app_session_get_user(ch->up);
  WT_LOG_INFO("channel %s: upstream closed: %s", ch->name, why);
  if (rs && rs->up_open) {
    wt_app_close_session(ch->up, CASCADE_CLOSE_GONE, (const uint8_t *)why, strlen(why));
  }
  /* a connecting one is left to settle: its open sees it is not wanted */
}

static void cascade_start(wt_apps *a, relay_channel *ch) {
  if (ch->hops_max >= a->cfg.relay_max_hops) {
    /* docs/operations.md "Cluster": never pull a channel a node at the hop
     * limit asked for: that is a loop (or too deep a tree) */
    ch->hop_blocked = 1;
    a->cnt.cluster_hops_refused++;
    WT_LOG_ERROR("channel %s: not pulled: a subscription came with hops=%u, the limit is %u (a "
                 "cluster loop?)",
                 ch->name, ch->hops_max, a->cfg.relay_max_hops);
    return;
  }
  char addr[128];
  int rv = a->cfg.locator->lookup(a->cfg.locator->arg, "relay", ch->name, ch->up_idx, addr,
                                  sizeof(addr));
  if (rv == 0 && ch->up_idx > 0) {
    ch->up_idx = 0; /* past the last candidate: from the first again, later */
    cascade_retry(ch);
    return;
  }
  if (rv == 0) {
    cascade_arm(ch, CASCADE_WAIT_MS); /* not published anywhere known (yet) */
    return;
  }
  if (rv < 0) {
    WT_LOG_WARN("channel %s: cannot look up its node: %s (the cluster registry unreachable?)",
                ch->name, wt_err_str(rv));
    cascade_retry(ch);
    return;
  }
  const char *tok = a->cfg.relay_upstream_token;
  char path[RELAY_NAME_MAX + 4096 + 64];
  int n = snprintf(path, sizeof(path), "/sub?ch=%s&hops=%u%s%s", ch->name, ch->hops_max + 1,
                   tok ? "&jwt=" : "", tok ? tok : "");
  relay_sess *rs = calloc(1, sizeof(*rs));
  wt_app_connect_req req = {.authority = addr, .path = path};
  wt_app_session *up = NULL;
  if (!rs || n < 0 || (size_t)n >= sizeof(path) ||
      wt_app_connect(ch->ctx, &req, &relay_up_ops, a, &up) < 0) {
    free(rs);
    a->cnt.cluster_upstream_failed++;
    cascade_retry(ch);
    return;
  }
  rs->ch = ch;
  rs->is_pub = 1;
  rs->is_up = 1;
  wt_app_session_set_user(up, rs);
  ch->up = up;
  ch->up_hops = ch->hops_max + 1;
  ch->up_fed = 0;
  WT_LOG_INFO("channel %s: pulling from %s (hops=%u)", ch->name, addr, ch->up_hops);
  if (ch->pub_left) {
    /* only after a publisher left (it moved): a loop, where nothing is
     * published anywhere, still climbs to the hop limit */
    ch->pub_left = 0;
    rehome_downstream(ch);
  }
}

static void cascade_check(wt_apps *a, wt_app_ctx *ctx, relay_channel *ch) {
  (void)ctx;
  if (!a->cfg.locator) {
    return;
  }
  if (cascade_wanted(a, ch)) {
    if (ch->up && ch->hops_max + 1 > ch->up_hops && !ch->up_fed) {
      /* a deeper subscriber while nothing flows: the upstream must carry
       * its hop count (how a loop, where nothing ever flows, reaches the
       * limit); once data flows the upstream is kept (no gap for the
       * local subscribers when another edge joins) */
      cascade_stop(ch, "hop count grew");
    } else if (!ch->up && !ch->up_timer) {
      cascade_start(a, ch);
    } else if (ch->up && ch->up_timer) {
      wt_app_timer_cancel(ch->ctx, ch->up_timer); /* a subscriber is back: no linger */
      ch->up_timer = 0;
    }
    return;
  }
  if (ch->up && ch->pub) {
    cascade_stop(ch, "a local publisher took over");
  } else if (ch->up && ch->subs == 0 && !ch->up_timer) {
    cascade_arm(ch, CASCADE_LINGER_MS); /* the last local subscriber left: linger */
  } else if (!ch->up && ch->up_timer && ch->subs == 0) {
    wt_app_timer_cancel(ch->ctx, ch->up_timer); /* a pending retry nobody wants */
    ch->up_timer = 0;
  }
}

static void cascade_timer(void *arg) {
  relay_channel *ch = arg;
  ch->up_timer = 0;
  wt_apps *a = ch->apps;
  if (ch->up) {
    if (ch->subs == 0 || ch->pub) {
      cascade_stop(ch, "no local subscriber left");
    }
    return;
  }
  if (cascade_wanted(a, ch)) {
    cascade_start(a, ch);
  } else {
    channel_maybe_free(a->relay, ch);
  }
}

static void relay_up_open(wt_app_session *as) {
  wt_apps *a = wt_app_session_arg(as);
  relay_sess *rs = wt_app_session_get_user(as);
  relay_channel *ch = rs->ch;
  rs->up_open = 1;
  a->cnt.cluster_upstream_opened++;
  a->cnt.cluster_upstream_live++;
  ch->up_backoff_ms = 0;
  /* wt-relay-hdr: 1-2 decimal digits, at most WT_APP_GROUP_HDR_MAX; else 0 */
  uint64_t hdr = 0;
  const char *v = wt_app_session_response_field(as, "wt-relay-hdr");
  size_t vl = v ? strlen(v) : 0;
  if (vl >= 1 && vl <= 2 && strspn(v, "0123456789") == vl) {
    hdr = strtoul(v, NULL, 10);
  }
  if (hdr > WT_APP_GROUP_HDR_MAX) {
    WT_LOG_WARN("channel %s: upstream group header length %s ignored", ch->name, v);
    hdr = 0;
  }
  rs->hdr_len = ch->up_hdr_len = (uint32_t)hdr;
  WT_LOG_INFO("channel %s: upstream open (group header %u)", ch->name, rs->hdr_len);
  hdr_changed(ch, rs->hdr_len);
  if (!cascade_wanted(a, ch) || (ch->hops_max + 1 > ch->up_hops && !ch->up_fed)) {
    cascade_stop(ch, ch->pub ? "a local publisher took over" : "no longer wanted");
  }
}

/* The channel's group header length is hdr from now on (a new publisher or
 * upstream): the downstream nodes told another one subscribe again. */
static void hdr_changed(relay_channel *ch, uint32_t hdr) {
  static const char why[] = "relay: group header length changed";
  for (relay_sess *r = ch->rsubs; r; r = r->next) {
    if (r->told_hdr != hdr) {
      r->told_hdr = hdr; /* closed once */
      WT_LOG_INFO("channel %s: group header %u now: closing a downstream node's /sub", ch->name,
                  hdr);
      wt_app_close_session(r->as, WT_APP_RELAY_HDR_CHANGED, (const uint8_t *)why, sizeof(why) - 1);
    }
  }
}

/* The upstream is gone (refused, closed, lost): re-resolve while wanted. */
static void relay_up_gone(wt_app_session *as, int opened, int status) {
  wt_apps *a = wt_app_session_arg(as);
  relay_sess *rs = wt_app_session_get_user(as);
  relay_channel *ch = rs->ch;
  int drained = rs->drained;
  free(rs);
  wt_app_session_set_user(as, NULL);
  ch->up = NULL;
  if (opened) {
    a->cnt.cluster_upstream_live--;
  } else {
    a->cnt.cluster_upstream_failed++;
    ch->up_idx++; /* the next candidate */
  }
  if (status == WT_APP_RELAY_HOP_LIMIT) {
    ch->hop_blocked = 1;
    WT_LOG_ERROR("channel %s: the upstream refused our hop count %u: not pulling (a cluster "
                 "loop?)",
                 ch->name, ch->up_hops);
  }
  if (cascade_wanted(a, ch)) {
    a->cnt.cluster_reresolves++;
    if (drained) {
      cascade_retry(ch); /* the node is stopping: give it (or its restart) a moment */
    } else if (opened && ch->up_backoff_ms == 0) {
      cascade_start(a, ch); /* lost while fine: at once */
      if (!ch->up && !ch->up_timer) {
        cascade_retry(ch);
      }
    } else {
      cascade_retry(ch);
    }
  } else if (ch->up_timer && ch->subs == 0) {
    wt_app_timer_cancel(ch->ctx, ch->up_timer);
    ch->up_timer = 0;
  }
  channel_maybe_free(a->relay, ch);
}

/* The upstream node is going away (GOAWAY / DRAIN: a restart, a
 * shutdown): leave at once and re-resolve, rather than hold its drain. */
static void relay_up_drain(wt_app_session *as) {
  relay_sess *rs = wt_app_session_get_user(as);
  if (rs && rs->up_open) {
    WT_LOG_INFO("channel %s: upstream session draining (a node stopping): leaving it",
                rs->ch->name);
    rs->drained = 1;
    wt_app_close_session(as, CASCADE_CLOSE_GONE, (const uint8_t *)"upstream draining", 17);
  }
}

static void relay_up_refused(wt_app_session *as, int status) {
  relay_sess *rs = wt_app_session_get_user(as);
  WT_LOG_WARN("channel %s: upstream refused: %s %d", rs->ch->name,
              status ? "status" : "no answer, status", status);
  relay_up_gone(as, 0, status);
}

static void relay_up_close(wt_app_session *as, uint32_t code, const uint8_t *reason, size_t len,
                           int clean) {
  relay_sess *rs = wt_app_session_get_user(as);
  if (!rs) {
    return;
  }
  if (code == WT_APP_RELAY_HDR_CHANGED) {
    WT_LOG_INFO("channel %s: the upstream's group header length changed: subscribing again",
                rs->ch->name);
  } else if (code == WT_APP_RELAY_PUBLISHER_LEFT) {
    /* look it up again after a moment (the backoff's first step): the
     * registry learns of the move within milliseconds */
    WT_LOG_INFO("channel %s: the publisher left the upstream node: looking it up again",
                rs->ch->name);
    rs->drained = 1;
  } else if (code != CASCADE_CLOSE_GONE) {
    WT_LOG_WARN("channel %s: upstream lost (code 0x%x, %s): %.*s", rs->ch->name, code,
                clean ? "closed" : "reset or connection lost", (int)(len > 128 ? 128 : len),
                reason ? (const char *)reason : "");
  }
  relay_up_gone(as, 1, 0);
}

static const wt_app_ops relay_up_ops = {
    .name = "relay-upstream",
    .session_open = relay_up_open,
    .session_close = relay_up_close,
    .session_refused = relay_up_refused,
    .session_drain = relay_up_drain,
    .stream_open = relay_stream_open,
    .stream_data = relay_stream_data,
    .stream_reset = relay_stream_reset,
    .stream_close = relay_stream_close,
    .datagram = relay_datagram,
};

void wt_relay_free(wt_relay *r) {
  if (!r) {
    return;
  }
  while (r->channels) {
    channel_free(r, r->channels);
  }
  free(r);
}

const wt_app_ops wt_app_relay_pub_ops = {
    .name = "relay-pub",
    .session_request = relay_pub_request,
    .session_close = relay_close,
    .stream_open = relay_stream_open,
    .stream_data = relay_stream_data,
    .stream_reset = relay_stream_reset,
    .stream_close = relay_stream_close,
    .datagram = relay_datagram,
    .worker_hint = relay_worker_hint,
};

const wt_app_ops wt_app_relay_sub_ops = {
    .name = "relay-sub",
    .session_request = relay_sub_request,
    .session_open = relay_sub_open,
    .session_close = relay_close,
    .stream_open = relay_stream_open,
    .worker_hint = relay_worker_hint,
};
