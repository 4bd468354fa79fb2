/* wt_apps_module.c: the built-in apps as one application module (see
 * wt_apps.h): routes and per-worker state, and the statistics hooks (the
 * "apps" counters, the "relay" member of the SIGUSR1 line, the
 * wtcast_app_* and wtcast_relay_* metric families). */
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "wt_apps.h"
#include "wt_error.h"

struct wt_apps_module {
  wt_app_module mod;
  wt_apps_config cfg;
  wt_relay_reg *reg;
  wt_moq_reg *moq_reg;
};

/* The JSON keys of wt_apps_counters, in its field order. */
static const char *const apps_counter_names[] = {
    "echo_sessions",
    "echo_bytes",
    "echo_datagrams",
    "echo_datagrams_dropped",
    "echo_overflow_resets",
    "echo_push_reply_bytes",
    "source_sessions",
    "source_bytes",
    "source_streams_done",
    "sink_sessions",
    "sink_bytes",
    "sink_datagrams",
    "moq_sessions",
    "moq_refused",
    "moq_broadcasts",
    "moq_announces_sent",
    "moq_subscribes",
    "moq_not_found",
    "moq_upstream_subscribes",
    "moq_groups_in",
    "moq_frames_in",
    "moq_bytes_in",
    "moq_catchups",
    "moq_malformed",
    "moq_unsupported",
    "moq_limit",
    "moq_updates",
    "moq_subs_ended",
    "moq_forbidden",
    "moq_fetches",
    "moq_fetch_missed",
    "moq_track_infos",
    "moq_delivered_streams",
    "moq_delivered_bytes",
    "moq_dropped_lagged",
    "moq_dropped_limit",
    "moq_dropped_priority",
    "moq_dropped_latency",
    "cluster_upstream_opened",
    "cluster_upstream_failed",
    "cluster_upstream_live",
    "cluster_upstream_groups",
    "cluster_upstream_bytes",
    "cluster_upstream_datagrams",
    "cluster_hops_refused",
    "cluster_reresolves",
};
#define N_APPS_COUNTERS (sizeof(apps_counter_names) / sizeof(apps_counter_names[0]))
_Static_assert(sizeof(wt_apps_counters) == N_APPS_COUNTERS * sizeof(uint64_t),
               "a name for every counter");

/* The counter at field f of wt_apps_counters, in a sums array. */
#define SUM(sums, f) ((unsigned long long)(sums)[offsetof(wt_apps_counters, f) / sizeof(uint64_t)])

/* ------------------------------------------------------------------ routes and state */

static int apps_init(void *arg, wt_app_router *r, int on_worker, uint32_t index, void **state) {
  wt_apps_module *m = arg;
  if (!on_worker) {
    /* a shard's router: lookups and worker_hint only, no callback runs there */
    return wt_apps_register_some(r, NULL, m->cfg.enabled);
  }
  wt_apps *a = malloc(sizeof(*a));
  if (!a) {
    return WT_ERR_NOMEM;
  }
  wt_apps_init(a, &m->cfg);
  a->reg = m->reg;
  a->moq_reg = m->moq_reg;
  int rv = wt_apps_register_some(r, a, m->cfg.enabled);
  if (rv < 0) {
    free(a);
    return rv;
  }
  *state = a;
  return 0;
}

static void apps_fini(void *arg, void *state) {
  wt_apps *a = state;
  if (a) {
    wt_apps_fini(a);
    free(a);
  }
}

static void apps_counters(void *arg, void *state, uint64_t *out) {
  wt_apps *a = state;
  if (a) {
    wt_moq_relay_counters(a->moq, &a->cnt);
    memcpy(out, &a->cnt, sizeof(a->cnt));
  }
}

/* ------------------------------------------------------------------ metrics */

enum { M_COUNTER, M_GAUGE };

static int header(wt_app_print_fn print, void *sink, const char *name, const char *help, int type) {
  return print(sink, "# HELP wtcast_%s %s\n# TYPE wtcast_%s %s\n", name, help, name,
               type == M_COUNTER ? "counter" : "gauge");
}

static int apps_metrics(void *arg, const uint64_t *sums, const wt_app_ctx_stats *ctx,
                        wt_app_print_fn print, void *sink) {
  const struct {
    const char *app;
    unsigned long long sessions, bytes;
  } rows[] = {{"echo", SUM(sums, echo_sessions), SUM(sums, echo_bytes)},
              {"source", SUM(sums, source_sessions), SUM(sums, source_bytes)},
              {"sink", SUM(sums, sink_sessions), SUM(sums, sink_bytes)}};
  int rv =
      header(print, sink, "app_sessions_total", "sessions of the built-in applications", M_COUNTER);
  for (size_t k = 0; k < 3 && rv == 0; k++) {
    rv = print(sink, "wtcast_app_sessions_total{app=\"%s\"} %llu\n", rows[k].app, rows[k].sessions);
  }
  if (rv == 0) {
    rv = header(print, sink, "app_bytes_total", "stream bytes of the built-in applications",
                M_COUNTER);
  }
  for (size_t k = 0; k < 3 && rv == 0; k++) {
    rv = print(sink, "wtcast_app_bytes_total{app=\"%s\"} %llu\n", rows[k].app, rows[k].bytes);
  }
  if (rv == 0) {
    rv = header(print, sink, "app_datagrams_total", "datagrams of the built-in applications",
                M_COUNTER);
  }
  if (rv == 0) {
    rv = print(sink,
               "wtcast_app_datagrams_total{app=\"echo\"} %llu\n"
               "wtcast_app_datagrams_total{app=\"sink\"} %llu\n",
               SUM(sums, echo_datagrams), SUM(sums, sink_datagrams));
  }
  if (rv == 0) {
    rv = header(print, sink, "app_dropped_total", "what the applications dropped, by reason",
                M_COUNTER);
  }
  if (rv == 0) {
    rv = print(sink,
               "wtcast_app_dropped_total{reason=\"echo_datagrams\"} %llu\n"
               "wtcast_app_dropped_total{reason=\"echo_overflow_resets\"} %llu\n"
               "wtcast_app_dropped_total{reason=\"alloc_failed\"} %llu\n",
               SUM(sums, echo_datagrams_dropped), SUM(sums, echo_overflow_resets),
               (unsigned long long)ctx->alloc_failed);
  }
  /* the moq-lite relay's counters (wt_apps.h), one series each */
  size_t first = offsetof(wt_apps_counters, moq_sessions) / sizeof(uint64_t);
  if (rv == 0) {
    rv = header(print, sink, "moq_total",
                "moq-lite relay events, by what (the moq_* keys of the SIGUSR1 apps object)",
                M_COUNTER);
  }
  size_t moq_end = offsetof(wt_apps_counters, cluster_upstream_opened) / sizeof(uint64_t);
  for (size_t k = first; k < moq_end && rv == 0; k++) {
    rv = print(sink, "wtcast_moq_total{what=\"%s\"} %llu\n", apps_counter_names[k] + 4,
               (unsigned long long)sums[k]);
  }
  /* the relay cascade (docs/operations.md "Cluster") */
  const struct {
    const char *name, *help;
    int type;
    unsigned long long v;
  } cl[] = {
      {"cluster_upstream_opened_total", "upstream sessions opened (relay /sub and moq-lite)",
       M_COUNTER, SUM(sums, cluster_upstream_opened)},
      {"cluster_upstream_failed_total",
       "upstream sessions (/sub, moq) refused or lost before opening", M_COUNTER,
       SUM(sums, cluster_upstream_failed)},
      {"cluster_upstream_live", "upstream sessions (/sub, moq) open now", M_GAUGE,
       SUM(sums, cluster_upstream_live)},
      {"cluster_upstream_groups_total", "groups received from upstream nodes", M_COUNTER,
       SUM(sums, cluster_upstream_groups)},
      {"cluster_upstream_bytes_total", "group bytes received from upstream nodes", M_COUNTER,
       SUM(sums, cluster_upstream_bytes)},
      {"cluster_upstream_datagrams_total", "datagrams received from upstream nodes", M_COUNTER,
       SUM(sums, cluster_upstream_datagrams)},
      {"cluster_hops_refused_total",
       "sessions refused (508), channels or broadcasts not pulled for their hop count", M_COUNTER,
       SUM(sums, cluster_hops_refused)},
      {"cluster_reresolves_total", "upstream lookups again after a loss or refusal", M_COUNTER,
       SUM(sums, cluster_reresolves)},
  };
  for (size_t k = 0; k < sizeof(cl) / sizeof(cl[0]) && rv == 0; k++) {
    rv = header(print, sink, cl[k].name, cl[k].help, cl[k].type);
    if (rv == 0) {
      rv = print(sink, "wtcast_%s %llu\n", cl[k].name, cl[k].v);
    }
  }
  return rv;
}

typedef struct relay_fam {
  const char *name, *help, *labels;
  int type;
  size_t off; /* inside wt_relay_channel_stats */
} relay_fam;

#define R(f) offsetof(wt_relay_channel_stats, f)
static const relay_fam relay_defs[] = {
    {"relay_subscribers", "subscribers of a relay channel now", "", M_GAUGE, R(subscribers)},
    {"relay_publishers", "publishers of a relay channel now (0 or 1)", "", M_GAUGE, R(publishers)},
    {"relay_publishers_refused_total", "publishers refused (channel taken)", "", M_COUNTER,
     R(publishers_refused)},
    {"relay_published_total", "what the publisher sent, by kind", "kind=\"datagrams\"", M_COUNTER,
     R(published_datagrams)},
    {"relay_published_total", NULL, "kind=\"streams\"", M_COUNTER, R(published_streams)},
    {"relay_published_total", NULL, "kind=\"stream_bytes\"", M_COUNTER, R(published_stream_bytes)},
    {"relay_delivered_total", "what the subscribers got, by kind", "kind=\"datagrams\"", M_COUNTER,
     R(delivered_datagrams)},
    {"relay_delivered_total", NULL, "kind=\"streams\"", M_COUNTER, R(delivered_streams)},
    {"relay_delivered_total", NULL, "kind=\"stream_bytes\"", M_COUNTER, R(delivered_stream_bytes)},
    {"relay_dropped_total", "what subscribers missed, by reason", "reason=\"datagrams\"", M_COUNTER,
     R(dropped_datagrams)},
    {"relay_dropped_total", NULL, "reason=\"streams_lagged\"", M_COUNTER,
     R(dropped_streams_lagged)},
    {"relay_dropped_total", NULL, "reason=\"streams_limit\"", M_COUNTER, R(dropped_streams_limit)},
    {"relay_lagged_with_header_total",
     "of the streams dropped for lag, those whose group header the subscriber still got", "",
     M_COUNTER, R(dropped_streams_lagged_hdr)},
};
#define N_RELAY (sizeof(relay_defs) / sizeof(relay_defs[0]))

/* A label value: backslash, quote and newline escaped (names are short). */
static void label_escape(char *dst, size_t cap, const char *src) {
  size_t n = 0;
  for (; *src && n + 3 < cap; src++) {
    if (*src == '\\' || *src == '"') {
      dst[n++] = '\\';
      dst[n++] = *src;
    } else if (*src == '\n') {
      dst[n++] = '\\';
      dst[n++] = 'n';
    } else {
      dst[n++] = *src;
    }
  }
  dst[n] = '\0';
}

/* The relay registry is read once (under its lock) into a copy, then
 * printed family by family. */
typedef struct relay_copy {
  wt_relay_channel_stats *c;
  char (*names)[80];
  size_t n, cap;
  int nomem;
} relay_copy;

static void relay_collect(void *arg, const wt_relay_channel_stats *c) {
  relay_copy *rc = arg;
  if (rc->n == rc->cap) {
    size_t cap = rc->cap ? 2 * rc->cap : 16;
    wt_relay_channel_stats *p = realloc(rc->c, cap * sizeof(*p));
    if (!p) {
      rc->nomem = 1;
      return;
    }
    rc->c = p;
    char(*q)[80] = realloc(rc->names, cap * sizeof(*q));
    if (!q) {
      rc->nomem = 1;
      return;
    }
    rc->names = q;
    rc->cap = cap;
  }
  rc->c[rc->n] = *c;
  label_escape(rc->names[rc->n], sizeof(rc->names[rc->n]), c->name);
  rc->c[rc->n].name = rc->names[rc->n];
  rc->n++;
}

/* The activity of a channel, for the choice of who gets its own series. */
static uint64_t relay_activity(const wt_relay_channel_stats *c) {
  return c->published_stream_bytes + c->published_datagrams + c->delivered_stream_bytes +
         c->delivered_datagrams;
}

/* Most active first (see wt_relay_metrics_print). */
static int relay_rank_cmp(const void *pa, const void *pb) {
  const wt_relay_channel_stats *a = pa, *b = pb;
  if (a->live != b->live) {
    return a->live ? -1 : 1;
  }
  uint64_t x = relay_activity(a), y = relay_activity(b);
  if (x != y) {
    return x > y ? -1 : 1;
  }
  if (a->subscribers != b->subscribers) {
    return a->subscribers > b->subscribers ? -1 : 1;
  }
  return strcmp(a->name, b->name);
}

static uint64_t relay_field(const wt_relay_channel_stats *c, size_t off) {
  uint64_t v;
  memcpy(&v, (const char *)c + off, sizeof(v));
  return v;
}

int wt_relay_metrics_print(wt_relay_channel_stats *c, size_t n, uint32_t max_series,
                           wt_app_print_fn print, void *sink) {
  if (n > 1) {
    qsort(c, n, sizeof(*c), relay_rank_cmp);
  }
  /* own[i]: c[i] gets its own series; the first max_series not named "other" */
  size_t n_own = 0;
  unsigned char *own = calloc(n ? n : 1, 1);
  if (!own) {
    return WT_ERR_NOMEM;
  }
  for (size_t i = 0; i < n && n_own < max_series; i++) {
    if (strcmp(c[i].name, "other")) {
      own[i] = 1;
      n_own++;
    }
  }
  size_t n_other = n - n_own, live_other = 0;
  for (size_t i = 0; i < n; i++) {
    live_other += !own[i] && c[i].live;
  }
  int rv = 0;
  for (size_t d = 0; d < N_RELAY && rv == 0; d++) {
    const relay_fam *f = &relay_defs[d];
    if (f->help) {
      rv = header(print, sink, f->name, f->help, f->type);
    }
    uint64_t rest = 0;
    for (size_t i = 0; i < n && rv == 0; i++) {
      if (!own[i]) {
        rest += relay_field(&c[i], f->off);
        continue;
      }
      rv =
          print(sink, "wtcast_%s{channel=\"%s\"%s%s} %llu\n", f->name, c[i].name,
                f->labels[0] ? "," : "", f->labels, (unsigned long long)relay_field(&c[i], f->off));
    }
    if (n_other && rv == 0) {
      rv = print(sink, "wtcast_%s{channel=\"other\"%s%s} %llu\n", f->name, f->labels[0] ? "," : "",
                 f->labels, (unsigned long long)rest);
    }
  }
  if (rv == 0) {
    rv = header(print, sink, "relay_channel_live",
                "1 while a channel has a publisher or subscribers (channel=\"other\": how many "
                "of the channels without their own series are)",
                M_GAUGE);
  }
  for (size_t i = 0; i < n && rv == 0; i++) {
    if (own[i]) {
      rv = print(sink, "wtcast_relay_channel_live{channel=\"%s\",worker=\"%u\"} %d\n", c[i].name,
                 c[i].worker, c[i].live ? 1 : 0);
    }
  }
  if (n_other && rv == 0) {
    rv = print(sink, "wtcast_relay_channel_live{channel=\"other\",worker=\"all\"} %llu\n",
               (unsigned long long)live_other);
  }
  if (rv == 0) {
    rv = header(print, sink, "relay_metrics_channels",
                "relay channels known, by whether they have their own series or are summed into "
                "channel=\"other\" (--metrics-max-channels)",
                M_GAUGE);
  }
  if (rv == 0) {
    rv = print(sink,
               "wtcast_relay_metrics_channels{series=\"own\"} %llu\n"
               "wtcast_relay_metrics_channels{series=\"other\"} %llu\n",
               (unsigned long long)n_own, (unsigned long long)n_other);
  }
  free(own);
  return rv;
}

static int relay_metrics(void *arg, wt_app_print_fn print, void *sink) {
  wt_apps_module *m = arg;
  relay_copy rc;
  memset(&rc, 0, sizeof(rc));
  wt_relay_stats_each(m->reg, relay_collect, &rc);
  /* rc.names may have moved since a name was copied (realloc): point
   * every entry at its copy now, before the sort reorders the entries.
   * Without memory for every channel, the ones copied are shown. */
  for (size_t i = 0; i < rc.n; i++) {
    rc.c[i].name = rc.names[i];
  }
  int rv = wt_relay_metrics_print(rc.c, rc.n, m->cfg.relay_metrics_channels, print, sink);
  free(rc.c);
  free(rc.names);
  return rv;
}

/* The relay's per-channel series, then the moq relay's per-broadcast ones
 * (as many of them as --metrics-max-channels allows channels). */
static int apps_metrics_extra(void *arg, wt_app_print_fn print, void *sink) {
  wt_apps_module *m = arg;
  int rv = relay_metrics(arg, print, sink);
  return rv == 0 ? wt_moq_reg_metrics(m->moq_reg, m->cfg.relay_metrics_channels, print, sink) : rv;
}

/* wt_app_print_fn into a fixed buffer */
typedef struct buf_sink {
  char *buf;
  size_t cap, n;
} buf_sink;

static int buf_print(void *sink, const char *fmt, ...) {
  buf_sink *b = sink;
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(b->buf + b->n, b->cap - b->n, fmt, ap);
  va_end(ap);
  if (w < 0 || (size_t)w >= b->cap - b->n) {
    return WT_ERR_NOBUF;
  }
  b->n += (size_t)w;
  return 0;
}

/* The SIGUSR1 line's "relay": {"channels":[...]} with the moq broadcasts
 * appended ("broadcasts_live", "broadcasts": wt_moq_reg_json, the ones
 * with the most subscribers, their drops and their worst subscriber's) */
static int relay_json(void *arg, char *buf, size_t cap) {
  wt_apps_module *m = arg;
  int n = wt_relay_stats_json(m->reg, buf, cap);
  if (n < 1 || buf[n - 1] != '}') {
    return n;
  }
  buf_sink b = {.buf = buf, .cap = cap, .n = (size_t)n - 1};
  int rv = wt_moq_reg_json(m->moq_reg, WT_MOQ_JSON_BROADCASTS, buf_print, &b);
  if (rv == 0) {
    rv = buf_print(&b, "}");
  }
  return rv < 0 ? rv : (int)b.n;
}

/* /moq.json (wt_metrics_new_json "moq_"): the broadcasts with the most
 * subscribers, at most --metrics-max-channels of them */
static int apps_json_extra(void *arg, const char *prefix, wt_app_print_fn print, void *sink) {
  wt_apps_module *m = arg;
  if (strcmp(prefix, "moq_") != 0) {
    return 0;
  }
  return wt_moq_reg_json(m->moq_reg, m->cfg.relay_metrics_channels, print, sink);
}

/* ------------------------------------------------------------------ the module */

int wt_apps_module_new(wt_apps_module **out, const wt_apps_config *cfg) {
  wt_apps_module *m = calloc(1, sizeof(*m));
  if (!m) {
    return WT_ERR_NOMEM;
  }
  if (cfg) {
    m->cfg = *cfg;
  } else {
    wt_apps_config_default(&m->cfg);
  }
  int rv = wt_relay_reg_new(&m->reg);
  if (rv == 0 && (rv = wt_moq_reg_new(&m->moq_reg)) < 0) {
    wt_relay_reg_del(m->reg);
  }
  if (rv < 0) {
    free(m);
    return rv;
  }
  wt_relay_reg_set_retired_max(m->reg, m->cfg.relay_retired_max);
  m->mod = (wt_app_module){.name = "builtin",
                           .arg = m,
                           .init = apps_init,
                           .fini = apps_fini,
                           .counter_names = apps_counter_names,
                           .n_counters = N_APPS_COUNTERS,
                           .counters = apps_counters,
                           .metrics = apps_metrics,
                           .metrics_extra = apps_metrics_extra,
                           .json_key = "relay",
                           .stats_json = relay_json,
                           .json_extra = apps_json_extra};
  *out = m;
  return 0;
}

const wt_app_module *wt_apps_module_get(const wt_apps_module *m) {
  return &m->mod;
}

wt_relay_reg *wt_apps_module_relay_reg(const wt_apps_module *m) {
  return m->reg;
}

void wt_apps_module_del(wt_apps_module *m) {
  if (!m) {
    return;
  }
  wt_relay_reg_del(m->reg);
  wt_moq_reg_del(m->moq_reg);
  free(m);
}
