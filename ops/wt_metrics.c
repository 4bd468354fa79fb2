/* wt_metrics.c: Prometheus metrics (see wt_metrics.h). */
#define WT_LOG_MODULE "metrics"
#include "wt_metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "wt_error.h"
#include "wt_log.h"

#define METRICS_COLLECT_MS 5000

struct wt_metrics {
  _Atomic(wt_runtime *) rt;
  _Atomic uint64_t scrapes, failures;
  wt_http *h; /* the listener serving /metrics (its own counters) */
  /* wt_metrics_new_json: the counters whose names start with it (NULL:
   * the Prometheus /metrics of wt_metrics_new) */
  const char *json_prefix;
};

/* ------------------------------------------------------------------ per-shard families */

enum { M_COUNTER, M_GAUGE };

typedef struct metric_def {
  const char *name;   /* family, without the wtcast_ prefix */
  int type;           /* M_* */
  const char *help;   /* NULL: same family as the previous entry (another label) */
  const char *labels; /* extra labels, e.g. "dir=\"in\"", or "" */
  size_t off;         /* uint64_t inside wt_snapshot */
} metric_def;

#define E(f)  offsetof(wt_snapshot, engine.f)
#define IO(f) offsetof(wt_snapshot, io.f)

static const metric_def shard_defs[] = {
    {"connections_active", M_GAUGE, "QUIC connections open now", "", E(conns_active)},
    {"connections_accepted_total", M_COUNTER, "QUIC connections accepted", "", E(conns_accepted)},
    {"connections_closed_total", M_COUNTER, "QUIC connections closed", "", E(conns_closed)},
    {"handshakes_total", M_COUNTER, "TLS handshakes by result", "result=\"ok\"", E(handshakes_ok)},
    {"handshakes_total", M_COUNTER, NULL, "result=\"failed\"", E(handshakes_failed)},
    {"sessions_active", M_GAUGE, "WebTransport sessions open now", "", E(sessions_active)},
    {"sessions_opened_total", M_COUNTER, "WebTransport sessions opened", "", E(sessions_opened)},
    {"sessions_refused_total", M_COUNTER, "WebTransport CONNECTs refused", "", E(sessions_refused)},
    {"sessions_closed_total", M_COUNTER, "WebTransport sessions closed", "", E(sessions_closed)},
    {"requests_too_large_total", M_COUNTER,
     "CONNECTs answered 431: header section past --max-request-headers / -header-bytes", "",
     E(requests_too_large)},
    {"protocols_malformed_total", M_COUNTER,
     "CONNECTs whose wt-available-protocols was ignored (not a List of Strings, too long)", "",
     E(protocols_malformed)},
    {"streams_active", M_GAUGE, "WebTransport streams open now", "", E(streams_active)},
    {"streams_opened_total", M_COUNTER, "WebTransport streams opened", "", E(streams_opened)},
    {"streams_reset_total", M_COUNTER, "WebTransport streams reset", "", E(streams_reset)},
    {"datagrams_total", M_COUNTER, "WebTransport datagrams by direction", "dir=\"in\"",
     E(datagrams_in)},
    {"datagrams_total", M_COUNTER, NULL, "dir=\"out\"", E(datagrams_out)},
    {"datagrams_dropped_total", M_COUNTER, "WebTransport datagrams dropped", "",
     E(datagrams_dropped)},
    {"datagrams_expired_total", M_COUNTER,
     "WebTransport datagrams dropped for waiting too long in a queue (also in dropped)", "",
     E(datagrams_expired)},
    {"bytes_total", M_COUNTER, "QUIC payload bytes by direction", "dir=\"in\"", E(bytes_in)},
    {"bytes_total", M_COUNTER, NULL, "dir=\"out\"", E(bytes_out)},
    {"packets_total", M_COUNTER, "QUIC packets by direction", "dir=\"in\"", E(pkts_in)},
    {"packets_total", M_COUNTER, NULL, "dir=\"out\"", E(pkts_out)},
    {"packets_dropped_total", M_COUNTER, "received packets dropped", "", E(pkts_dropped)},
    {"retries_sent_total", M_COUNTER, "Retry packets sent (address validation)", "",
     E(retries_sent)},
    {"tokens_invalid_total", M_COUNTER, "Initials whose token did not validate", "",
     E(tokens_invalid)},
    {"stateless_resets_sent_total", M_COUNTER, "stateless resets sent", "",
     E(stateless_resets_sent)},
    {"initials_dropped_total", M_COUNTER,
     "client Initials dropped before any state: DCID under 8 bytes, or not decrypting",
     "reason=\"short_dcid\"", E(initials_short_dcid)},
    {"initials_dropped_total", M_COUNTER, NULL, "reason=\"undecryptable\"",
     E(initials_undecryptable)},
    {"wt_fc_sessions_total", M_COUNTER, "sessions with WebTransport flow control on", "",
     E(fc_sessions)},
    {"wt_fc_blocked_total", M_COUNTER, "times our sending waited for the peer's session credit",
     "kind=\"data\"", E(fc_data_blocked)},
    {"wt_fc_blocked_total", M_COUNTER, NULL, "kind=\"streams\"", E(fc_streams_blocked)},
    {"wt_fc_blocked_ns_total", M_COUNTER,
     "nanoseconds sessions had streams waiting for the peer's credit", "", E(fc_blocked_ns)},
    {"wt_fc_updates_sent_total", M_COUNTER, "WT_MAX_DATA / WT_MAX_STREAMS capsules sent", "",
     E(fc_updates_sent)},
    {"wt_fc_blocked_recv_total", M_COUNTER, "BLOCKED capsules received", "", E(fc_blocked_recv)},
    {"wt_fc_errors_total", M_COUNTER, "sessions reset because the peer overran our limits", "",
     E(fc_errors)},
    {"sessions_held_total", M_COUNTER, "CONNECTs held until the client's SETTINGS",
     "result=\"held\"", E(sessions_held)},
    {"sessions_held_total", M_COUNTER, NULL, "result=\"expired\"", E(sessions_held_expired)},
    {"sessions_rejected_single_total", M_COUNTER,
     "CONNECTs refused: a draft-15+ session without flow control is alone on its connection", "",
     E(sessions_rejected_single)},
    {"errors_total", M_COUNTER, "errors by kind", "kind=\"proto\"", E(errors_proto)},
    {"errors_total", M_COUNTER, NULL, "kind=\"internal\"", E(errors_internal)},
    {"errors_total", M_COUNTER, NULL, "kind=\"buffered_rejected\"", E(buffered_rejected)},
    {"errors_total", M_COUNTER, NULL, "kind=\"buffered_expired\"", E(buffered_expired)},
    {"errors_total", M_COUNTER, NULL, "kind=\"glitch_closed\"", E(conns_glitch_closed)},
    {"errors_total", M_COUNTER, NULL, "kind=\"io_rx\"", IO(rx_errors)},
    {"errors_total", M_COUNTER, NULL, "kind=\"io_tx\"", IO(tx_errors)},
    {"errors_total", M_COUNTER, NULL, "kind=\"io_rx_truncated\"", IO(rx_truncated)},
    {"memory_responses_total", M_COUNTER,
     "memory budget responses (docs/operations.md \"Limits\"): connections whose credit was "
     "withheld, datagrams dropped, connections refused (process level or address budget), "
     "connections closed (process level, connection budget, address budget)",
     "kind=\"credit_withheld\"", E(mem_credit_withheld)},
    {"memory_responses_total", M_COUNTER, NULL, "kind=\"datagram_dropped\"", E(mem_dgrams_dropped)},
    {"memory_responses_total", M_COUNTER, NULL, "kind=\"conn_refused\"", E(mem_conns_refused)},
    {"memory_responses_total", M_COUNTER, NULL, "kind=\"ip_refused\"", E(mem_ip_refused)},
    {"memory_responses_total", M_COUNTER, NULL, "kind=\"conn_closed\"", E(mem_conns_closed)},
    {"memory_responses_total", M_COUNTER, NULL, "kind=\"conn_budget_closed\"",
     E(mem_conn_budget_closed)},
    {"memory_responses_total", M_COUNTER, NULL, "kind=\"ip_budget_closed\"",
     E(mem_ip_budget_closed)},
    {"memory_responses_total", M_COUNTER, NULL, "kind=\"small_windows\"", E(mem_small_windows)},
    {"memory_responses_total", M_COUNTER, NULL, "kind=\"h3_credit_withheld\"",
     E(mem_h3_credit_withheld)},
    {"memory_responses_total", M_COUNTER, NULL, "kind=\"session_credit_withheld\"",
     E(mem_session_credit_withheld)},
    {"forwarded_total", M_COUNTER, "datagrams forwarded between shards", "dir=\"out\"",
     offsetof(wt_snapshot, fwd.forwarded_out)},
    {"forwarded_total", M_COUNTER, NULL, "dir=\"in\"", offsetof(wt_snapshot, fwd.forwarded_in)},
    {"forward_drops_total", M_COUNTER, "datagrams for another shard dropped", "",
     offsetof(wt_snapshot, fwd.forward_drops)},
    {"io_datagrams_total", M_COUNTER, "UDP datagrams through the datapath", "dir=\"in\"",
     IO(rx_packets)},
    {"io_datagrams_total", M_COUNTER, NULL, "dir=\"out\"", IO(tx_packets)},
    {"io_bytes_total", M_COUNTER, "UDP payload bytes through the datapath", "dir=\"in\"",
     IO(rx_bytes)},
    {"io_bytes_total", M_COUNTER, NULL, "dir=\"out\"", IO(tx_bytes)},
    {"io_syscalls_total", M_COUNTER, "datapath system calls", "", IO(syscalls)},
    {"io_gso_sends_total", M_COUNTER, "sends with UDP_SEGMENT", "", IO(tx_gso_sends)},
    {"io_eagain_total", M_COUNTER, "sends that stopped at would-block", "", IO(tx_eagain)},
    {"loop_turns_total", M_COUNTER, "event loop turns", "", offsetof(wt_snapshot, loop.turns)},
    {"loop_timer_wakes_total", M_COUNTER,
     "sleeps ended by their timeout with nothing received (engine or worker timers)", "",
     offsetof(wt_snapshot, loop.timer_wakes)},
    {"loop_tx_dropped_total", M_COUNTER, "tx entries dropped (socket failed)", "",
     offsetof(wt_snapshot, loop.tx_dropped)},
    {"loop_spins_total", M_COUNTER, "polls for a worker's answer before sleeping (--spin-us)",
     "result=\"answered\"", offsetof(wt_snapshot, loop.spin_hits)},
    {"loop_spins_total", M_COUNTER, NULL, "result=\"ran_out\"",
     offsetof(wt_snapshot, loop.spin_miss)},
    {"loop_rx_sliced_total", M_COUNTER,
     "turns that sent replies before receiving more, after handshake work (--rx-slice-us)", "",
     offsetof(wt_snapshot, loop.rx_sliced)},
    {"qlog_dropped_total", M_COUNTER,
     "qlog traces not written (skipped: too many open, a budget spent, no file) or cut short "
     "(cut: --qlog-max-file-bytes, --qlog-max-bytes)",
     "reason=\"skipped\"", offsetof(wt_snapshot, loop.qlog_skipped)},
    {"qlog_dropped_total", M_COUNTER, NULL, "reason=\"cut\"", offsetof(wt_snapshot, loop.qlog_cut)},
};

static uint64_t field(const wt_snapshot *s, size_t off) {
  uint64_t v;
  memcpy(&v, (const char *)s + off, sizeof(v));
  return v;
}

static int header(wt_http_reply *out, const char *name, const char *help, int type) {
  return wt_http_reply_printf(out, "# HELP wtcast_%s %s\n# TYPE wtcast_%s %s\n", name, help, name,
                              type == M_COUNTER ? "counter" : "gauge");
}

/* ------------------------------------------------------------------ the application modules */

/* wt_app_print_fn over a reply (the modules' hooks print through it). */
static int reply_print(void *sink, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rv = wt_http_reply_vprintf(sink, fmt, ap);
  va_end(ap);
  return rv;
}

/* Every module's counter families (sums: the modules' counters, one after
 * the other), then the dispatchers' own. */
static int format_apps(wt_http_reply *out, const wt_app_module *const *mods, size_t n_mods,
                       const wt_snapshot *apps) {
  int rv = 0;
  size_t off = 0;
  for (size_t i = 0; i < n_mods && rv == 0; i++) {
    if (mods[i]->metrics) {
      rv = mods[i]->metrics(mods[i]->arg, apps->app_counters + off, &apps->app, reply_print, out);
    }
    off += mods[i]->n_counters;
  }
  if (rv == 0) {
    rv = header(out, "app_send_window_grows_total",
                "times a stream's send credit grew with its connection's window", M_COUNTER);
  }
  if (rv == 0) {
    rv = wt_http_reply_printf(out, "wtcast_app_send_window_grows_total %llu\n",
                              (unsigned long long)apps->app.send_window_grows);
  }
  if (rv == 0) {
    rv = header(out, "app_sessions_live", "application sessions not yet closed", M_GAUGE);
  }
  if (rv == 0) {
    rv = wt_http_reply_printf(out, "wtcast_app_sessions_live %llu\n",
                              (unsigned long long)apps->app.sessions_live);
  }
  return rv;
}

/* ------------------------------------------------------------------ format */

int wt_metrics_format(wt_http_reply *out, const wt_snapshot *per, uint32_t n,
                      const wt_snapshot *apps, const wt_app_module *const *mods, size_t n_mods,
                      const int *backends) {
  int rv = 0;
  uint64_t up = 0;
  for (uint32_t i = 0; i < n; i++) {
    up = per[i].uptime_ms > up ? per[i].uptime_ms : up;
  }
  rv = header(out, "up", "1 while the server serves", M_GAUGE);
  if (rv == 0) {
    rv = wt_http_reply_printf(out, "wtcast_up 1\n");
  }
  if (rv == 0) {
    rv = header(out, "uptime_seconds", "seconds since the shards started", M_GAUGE);
  }
  if (rv == 0) {
    rv = wt_http_reply_printf(out, "wtcast_uptime_seconds %llu.%03llu\n",
                              (unsigned long long)(up / 1000), (unsigned long long)(up % 1000));
  }
  if (rv == 0) {
    rv = header(out, "shards", "number of shards", M_GAUGE);
  }
  if (rv == 0) {
    rv = wt_http_reply_printf(out, "wtcast_shards %u\n", n);
  }
  if (rv == 0) {
    rv = header(out, "io_backend_info", "datapath backend of each shard", M_GAUGE);
  }
  for (uint32_t i = 0; i < n && rv == 0; i++) {
    const char *b = backends && backends[i] >= 0 ? wt_io_backend_name(backends[i]) : "unknown";
    rv = wt_http_reply_printf(out, "wtcast_io_backend_info{shard=\"%u\",backend=\"%s\"} 1\n", i, b);
  }
  for (size_t d = 0; d < sizeof(shard_defs) / sizeof(shard_defs[0]) && rv == 0; d++) {
    const metric_def *m = &shard_defs[d];
    if (m->help) {
      rv = header(out, m->name, m->help, m->type);
    }
    for (uint32_t i = 0; i < n && rv == 0; i++) {
      rv = wt_http_reply_printf(out, "wtcast_%s{shard=\"%u\"%s%s} %llu\n", m->name, i,
                                m->labels[0] ? "," : "", m->labels,
                                (unsigned long long)field(&per[i], m->off));
    }
  }
  if (apps && rv == 0) {
    rv = format_apps(out, mods, n_mods, apps);
  }
  for (size_t i = 0; i < n_mods && rv == 0; i++) {
    if (mods[i]->metrics_extra) {
      rv = mods[i]->metrics_extra(mods[i]->arg, reply_print, out);
    }
  }
  return rv;
}

int wt_metrics_format_protocols(wt_http_reply *out, const wt_snapshot *apps,
                                const char *const *protocols, size_t n) {
  int rv = header(out, "sessions_protocol_total",
                  "accepted sessions by the protocol answered in WT-Protocol (--wt-protocols, "
                  "none, or other: an application's own choice)",
                  M_COUNTER);
  if (n > WT_APP_MAX_PROTOCOLS) {
    n = WT_APP_MAX_PROTOCOLS;
  }
  for (size_t i = 0; i < n && rv == 0; i++) {
    rv = wt_http_reply_printf(out, "wtcast_sessions_protocol_total{protocol=\"%s\"} %llu\n",
                              protocols[i], (unsigned long long)apps->app.protocol_sessions[i]);
  }
  if (rv == 0) {
    rv = wt_http_reply_printf(
        out,
        "wtcast_sessions_protocol_total{protocol=\"none\"} %llu\n"
        "wtcast_sessions_protocol_total{protocol=\"other\"} %llu\n",
        (unsigned long long)apps->app.protocol_sessions[WT_APP_MAX_PROTOCOLS],
        (unsigned long long)apps->app.protocol_sessions[WT_APP_MAX_PROTOCOLS + 1]);
  }
  return rv;
}

int wt_metrics_format_memory(wt_http_reply *out, const wt_mem_budget *b) {
  int rv = wt_http_reply_printf(
      out,
      "# HELP wtcast_memory_bytes bytes held by the process (the memory budget's count: buffers, "
      "ngtcp2/nghttp3/wolfSSL allocations)\n"
      "# TYPE wtcast_memory_bytes gauge\nwtcast_memory_bytes %llu\n"
      "# HELP wtcast_memory_peak_bytes the highest wtcast_memory_bytes seen\n"
      "# TYPE wtcast_memory_peak_bytes gauge\nwtcast_memory_peak_bytes %llu\n"
      "# HELP wtcast_memory_max_bytes the memory budget (--memory-max)\n"
      "# TYPE wtcast_memory_max_bytes gauge\nwtcast_memory_max_bytes %llu\n"
      "# HELP wtcast_memory_pressure_level 0 normal, 1 no_credit, 2 no_dgram, 3 refuse, 4 close\n"
      "# TYPE wtcast_memory_pressure_level gauge\nwtcast_memory_pressure_level %d\n"
      "# HELP wtcast_memory_pressure_total times each pressure level was entered\n"
      "# TYPE wtcast_memory_pressure_total counter\n",
      (unsigned long long)wt_mem_used(b),
      (unsigned long long)atomic_load_explicit(&b->peak, memory_order_relaxed),
      (unsigned long long)b->max, wt_mem_level(b));
  for (int i = 0; i < WT_MEM_LEVELS && rv == 0; i++) {
    rv = wt_http_reply_printf(
        out, "wtcast_memory_pressure_total{level=\"%s\"} %llu\n", wt_mem_level_name(i),
        (unsigned long long)atomic_load_explicit(&b->entered[i], memory_order_relaxed));
  }
  if (rv == 0) {
    rv = wt_http_reply_printf(
        out,
        "# HELP wtcast_memory_pool_trimmed_bytes_total idle pool buffers given back to the "
        "system: under pressure (no_credit and above) or unneeded for a while\n"
        "# TYPE wtcast_memory_pool_trimmed_bytes_total counter\n"
        "wtcast_memory_pool_trimmed_bytes_total{reason=\"pressure\"} %llu\n"
        "wtcast_memory_pool_trimmed_bytes_total{reason=\"idle\"} %llu\n",
        (unsigned long long)atomic_load_explicit(&b->trimmed[WT_MEM_TRIM_PRESSURE],
                                                 memory_order_relaxed),
        (unsigned long long)atomic_load_explicit(&b->trimmed[WT_MEM_TRIM_IDLE],
                                                 memory_order_relaxed));
  }
  return rv;
}

/* ------------------------------------------------------------------ the route */

/* The listener's own counters: connections it refused at accept. */
static int format_listener(wt_http_reply *out, const wt_http *h) {
  wt_http_counters k;
  wt_http_counters_get(h, &k);
  return wt_http_reply_printf(
      out,
      "# HELP wtcast_http_refused_total connections the metrics listener closed at accept "
      "(per_ip: the address had --http-conns-per-ip open; limit: the listener was full)\n"
      "# TYPE wtcast_http_refused_total counter\n"
      "wtcast_http_refused_total{listener=\"metrics\",reason=\"per_ip\"} %llu\n"
      "wtcast_http_refused_total{listener=\"metrics\",reason=\"limit\"} %llu\n",
      (unsigned long long)k.refused_per_ip, (unsigned long long)k.refused_limit);
}

static int metrics_handler(void *arg, const char *path, const char *query, wt_http_reply *out) {
  wt_metrics *m = arg;
  atomic_fetch_add(&m->scrapes, 1);
  wt_runtime *rt = atomic_load(&m->rt);
  if (!rt) {
    out->status = 503;
    return wt_http_reply_printf(out, "not serving\n");
  }
  uint32_t n = wt_runtime_shards(rt);
  wt_snapshot *per = calloc(n, sizeof(*per));
  int *backends = calloc(n, sizeof(*backends));
  wt_snapshot apps;
  int rv = WT_ERR_NOMEM;
  if (per && backends) {
    rv = wt_runtime_collect(rt, per, n, &apps, METRICS_COLLECT_MS);
  }
  if (rv < 0) {
    atomic_fetch_add(&m->failures, 1);
    free(per);
    free(backends);
    out->status = 503;
    WT_LOG_WARN_RL(1, "scrape: no counters from the runtime (%s)", wt_err_str(rv));
    return wt_http_reply_printf(out, "counters unavailable (%s)\n", wt_err_str(rv));
  }
  for (uint32_t i = 0; i < n; i++) {
    backends[i] = wt_runtime_io_backend(rt, i);
  }
  out->content_type = "text/plain; version=0.0.4; charset=utf-8";
  size_t n_mods = 0;
  const wt_app_module *const *mods = wt_runtime_modules(rt, &n_mods);
  rv = wt_metrics_format(out, per, (uint32_t)rv, &apps, mods, n_mods, backends);
  if (rv == 0) {
    size_t n_protos = 0;
    const char *const *protos = wt_runtime_protocols(rt, &n_protos);
    rv = wt_metrics_format_protocols(out, &apps, protos, n_protos);
  }
  if (rv == 0) {
    rv = wt_metrics_format_memory(out, wt_runtime_mem(rt));
  }
  free(per);
  free(backends);
  if (rv == 0) {
    rv = wt_http_reply_printf(
        out,
        "# HELP wtcast_metrics_scrapes_total scrapes of this endpoint\n"
        "# TYPE wtcast_metrics_scrapes_total counter\nwtcast_metrics_scrapes_total %llu\n"
        "# HELP wtcast_metrics_collect_failures_total scrapes the runtime did not answer\n"
        "# TYPE wtcast_metrics_collect_failures_total counter\n"
        "wtcast_metrics_collect_failures_total %llu\n",
        (unsigned long long)atomic_load(&m->scrapes),
        (unsigned long long)atomic_load(&m->failures));
  }
  if (rv == 0) {
    rv = format_listener(out, m->h);
  }
  return rv;
}

/* wt_metrics_new_json's route: {"counters":{NAME:N,...}} for the
 * application counters named json_prefix + NAME, summed over the workers,
 * then the modules' members for the prefix (wt_app_module.json_extra). */
static int json_handler(void *arg, const char *path, const char *query, wt_http_reply *out) {
  wt_metrics *m = arg;
  atomic_fetch_add(&m->scrapes, 1);
  wt_runtime *rt = atomic_load(&m->rt);
  if (!rt) {
    out->status = 503;
    return wt_http_reply_printf(out, "not serving\n");
  }
  uint32_t n = wt_runtime_shards(rt);
  wt_snapshot *per = calloc(n, sizeof(*per));
  wt_snapshot apps;
  int rv = per ? wt_runtime_collect(rt, per, n, &apps, METRICS_COLLECT_MS) : WT_ERR_NOMEM;
  free(per);
  if (rv < 0) {
    atomic_fetch_add(&m->failures, 1);
    out->status = 503;
    WT_LOG_WARN_RL(1, "%s: no counters from the runtime (%s)", path, wt_err_str(rv));
    return wt_http_reply_printf(out, "counters unavailable (%s)\n", wt_err_str(rv));
  }
  size_t nn = 0;
  const char *const *names = wt_runtime_counter_names(rt, &nn);
  size_t plen = strlen(m->json_prefix);
  out->content_type = "application/json";
  rv = wt_http_reply_printf(out, "{\"counters\":{");
  const char *sep = "";
  for (size_t i = 0; i < nn && i < WT_APP_MAX_COUNTERS && rv == 0; i++) {
    if (strncmp(names[i], m->json_prefix, plen) == 0) {
      rv = wt_http_reply_printf(out, "%s\"%s\":%llu", sep, names[i] + plen,
                                (unsigned long long)apps.app_counters[i]);
      sep = ",";
    }
  }
  if (rv == 0) {
    rv = wt_http_reply_printf(out, "}");
  }
  /* the modules' members for this prefix (the moq relay's broadcasts) */
  size_t n_mods = 0;
  const wt_app_module *const *mods = wt_runtime_modules(rt, &n_mods);
  for (size_t i = 0; i < n_mods && rv == 0; i++) {
    if (mods[i]->json_extra) {
      rv = mods[i]->json_extra(mods[i]->arg, m->json_prefix, reply_print, out);
    }
  }
  return rv == 0 ? wt_http_reply_printf(out, "}\n") : rv;
}

int wt_metrics_new_json(wt_metrics **out, wt_http *h, const char *path, const char *prefix) {
  wt_metrics *m = calloc(1, sizeof(*m));
  if (!m) {
    return WT_ERR_NOMEM;
  }
  m->h = h;
  m->json_prefix = prefix;
  int rv = wt_http_route(h, path, json_handler, m);
  if (rv < 0) {
    free(m);
    return rv;
  }
  *out = m;
  return 0;
}

int wt_metrics_new(wt_metrics **out, wt_http *h) {
  wt_metrics *m = calloc(1, sizeof(*m));
  if (!m) {
    return WT_ERR_NOMEM;
  }
  m->h = h;
  int rv = wt_http_route(h, "/metrics", metrics_handler, m);
  if (rv < 0) {
    free(m);
    return rv;
  }
  *out = m;
  return 0;
}

void wt_metrics_attach(wt_metrics *m, wt_runtime *rt) {
  atomic_store(&m->rt, rt);
}

void wt_metrics_del(wt_metrics *m) {
  free(m);
}
