/* wt_stats.c: the SIGUSR1 counter line (format: wt_stats.h). */
#define WT_LOG_MODULE "stats"
#include "wt_stats.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wt_error.h"
#include "wt_log.h"

typedef struct stats_kv {
  const char *key;
  uint64_t val;
} stats_kv;

typedef struct stats_writer {
  char *buf;
  size_t cap, len;
  int overflow;
} stats_writer;

/* Append s[0..n) (no escaping: keys are fixed identifiers). */
static void w_raw(stats_writer *w, const char *s) {
  size_t n = strlen(s);
  if (w->overflow || n >= w->cap - w->len) {
    w->overflow = 1;
    return;
  }
  memcpy(w->buf + w->len, s, n + 1);
  w->len += n;
}

static void w_u64(stats_writer *w, uint64_t v) {
  char num[24];
  snprintf(num, sizeof(num), "%" PRIu64, v);
  w_raw(w, num);
}

/* "key":v */
static void w_kv(stats_writer *w, const char *key, uint64_t v) {
  w_raw(w, "\"");
  w_raw(w, key);
  w_raw(w, "\":");
  w_u64(w, v);
}

/* ,"name":{"k":v,...} */
static void w_group(stats_writer *w, const char *name, const stats_kv *kv, size_t n) {
  w_raw(w, ",\"");
  w_raw(w, name);
  w_raw(w, "\":{");
  for (size_t i = 0; i < n; i++) {
    if (i) {
      w_raw(w, ",");
    }
    w_kv(w, kv[i].key, kv[i].val);
  }
  w_raw(w, "}");
}

#define GROUP(w, name, ...)                                                                        \
  do {                                                                                             \
    const stats_kv kv_[] = {__VA_ARGS__};                                                          \
    w_group((w), (name), kv_, sizeof(kv_) / sizeof(kv_[0]));                                       \
  } while (0)

/* ,"apps":{the dispatchers' counters, then the modules'} */
static void w_apps(stats_writer *w, const wt_snapshot *s, const wt_stats_names *names) {
  w_raw(w, ",\"apps\":{");
  w_kv(w, "not_found", s->app.not_found);
  w_raw(w, ",");
  w_kv(w, "refused", s->app.refused);
  w_raw(w, ",");
  w_kv(w, "send_window_grows", s->app.send_window_grows);
  for (size_t i = 0; names && i < names->n; i++) {
    w_raw(w, ",");
    w_kv(w, names->names[i], s->app_counters[i]);
  }
  w_raw(w, "}");
}

static int names_ok(const wt_stats_names *names) {
  if (!names) {
    return 1;
  }
  if (names->n > WT_APP_MAX_COUNTERS || (names->n && !names->names)) {
    return 0;
  }
  for (size_t i = 0; i < names->n; i++) {
    if (!names->names[i] || strlen(names->names[i]) > WT_STATS_NAME_MAX) {
      return 0;
    }
  }
  return 1;
}

int wt_stats_format_json(const wt_snapshot *s, const wt_stats_names *names, char *buf, size_t cap) {
  if (!s || !buf || cap == 0 || !names_ok(names)) {
    return WT_ERR_INVAL;
  }
  stats_writer w = {.buf = buf, .cap = cap};
  const wt_engine_stats *e = &s->engine;
  const wt_io_stats *io = &s->io;
  w_raw(&w, "{\"type\":\"stats\",");
  w_kv(&w, "uptime_ms", s->uptime_ms);
  GROUP(&w, "connections", {"active", e->conns_active}, {"accepted", e->conns_accepted},
        {"closed", e->conns_closed}, {"refused", e->conns_refused},
        {"refused_per_ip", e->conns_refused_per_ip});
  GROUP(&w, "handshakes", {"ok", e->handshakes_ok}, {"failed", e->handshakes_failed});
  GROUP(&w, "sessions", {"opened", e->sessions_opened}, {"active", e->sessions_active},
        {"refused", e->sessions_refused}, {"closed", e->sessions_closed},
        {"too_large", e->requests_too_large}, {"protocols_malformed", e->protocols_malformed},
        {"protocols_chosen", e->protocols_chosen});
  GROUP(&w, "streams", {"opened", e->streams_opened}, {"active", e->streams_active},
        {"reset", e->streams_reset});
  GROUP(&w, "datagrams", {"in", e->datagrams_in}, {"out", e->datagrams_out},
        {"dropped", e->datagrams_dropped}, {"expired", e->datagrams_expired});
  GROUP(&w, "bytes", {"in", e->bytes_in}, {"out", e->bytes_out});
  GROUP(&w, "packets", {"in", e->pkts_in}, {"out", e->pkts_out}, {"dropped", e->pkts_dropped});
  GROUP(&w, "io", {"rx_calls", io->rx_calls}, {"tx_calls", io->tx_calls},
        {"gso_sends", io->tx_gso_sends}, {"tx_errors", io->tx_errors}, {"eagain", io->tx_eagain},
        {"rx_packets", io->rx_packets}, {"tx_packets", io->tx_packets}, {"rx_bytes", io->rx_bytes},
        {"tx_bytes", io->tx_bytes}, {"rx_gro_super", io->rx_gro_super},
        {"rx_truncated", io->rx_truncated}, {"rx_errors", io->rx_errors},
        {"rx_completions", io->rx_completions}, {"rx_enobufs", io->rx_enobufs},
        {"gso_packets", io->tx_gso_packets}, {"sq_full", io->sq_full}, {"syscalls", io->syscalls});
  GROUP(&w, "errors", {"proto", e->errors_proto}, {"internal", e->errors_internal},
        {"buffered_rejected", e->buffered_rejected}, {"buffered_expired", e->buffered_expired},
        {"glitch_closed", e->conns_glitch_closed});
  GROUP(&w, "flow_control", {"sessions", e->fc_sessions}, {"data_blocked", e->fc_data_blocked},
        {"streams_blocked", e->fc_streams_blocked}, {"blocked_ns", e->fc_blocked_ns},
        {"streams_waited", e->fc_streams_waited}, {"updates_sent", e->fc_updates_sent},
        {"blocked_recv", e->fc_blocked_recv}, {"errors", e->fc_errors},
        {"sessions_held", e->sessions_held}, {"sessions_held_expired", e->sessions_held_expired},
        {"sessions_rejected_single", e->sessions_rejected_single});
  GROUP(&w, "memory", {"credit_withheld", e->mem_credit_withheld},
        {"datagrams_dropped", e->mem_dgrams_dropped}, {"conns_refused", e->mem_conns_refused},
        {"ip_refused", e->mem_ip_refused}, {"conns_closed", e->mem_conns_closed},
        {"conn_budget_closed", e->mem_conn_budget_closed},
        {"ip_budget_closed", e->mem_ip_budget_closed}, {"small_windows", e->mem_small_windows},
        {"h3_credit_withheld", e->mem_h3_credit_withheld},
        {"session_credit_withheld", e->mem_session_credit_withheld});
  GROUP(&w, "address_validation", {"retries_sent", e->retries_sent},
        {"tokens_invalid", e->tokens_invalid}, {"stateless_resets_sent", e->stateless_resets_sent},
        {"initials_short_dcid", e->initials_short_dcid},
        {"initials_undecryptable", e->initials_undecryptable});
  w_apps(&w, s, names);
  GROUP(&w, "loop", {"turns", s->loop.turns}, {"timer_wakes", s->loop.timer_wakes},
        {"rx_bounded", s->loop.rx_bounded}, {"tx_blocked", s->loop.tx_blocked},
        {"tx_dropped", s->loop.tx_dropped}, {"spin_hits", s->loop.spin_hits},
        {"spin_miss", s->loop.spin_miss}, {"rx_sliced", s->loop.rx_sliced},
        {"qlog_skipped", s->loop.qlog_skipped}, {"qlog_cut", s->loop.qlog_cut});
  GROUP(&w, "forwarding", {"out", s->fwd.forwarded_out}, {"in", s->fwd.forwarded_in},
        {"drops", s->fwd.forward_drops});
  GROUP(&w, "links", {"events", s->links.events}, {"events_overflowed", s->links.events_overflowed},
        {"datagrams_dropped", s->links.datagrams_dropped},
        {"stale_commands", s->links.stale_commands}, {"buffer_failures", s->links.buffer_failures},
        {"groups", s->links.groups}, {"group_members", s->links.group_members},
        {"mirrored_streams", s->links.mirrored_streams}, {"wakeups", s->links.wakeups});
  w_raw(&w, "}");
  if (w.overflow) {
    buf[0] = '\0';
    return WT_ERR_NOBUF;
  }
  return (int)w.len;
}

static void w_shard(stats_writer *w, size_t id, const wt_snapshot *s) {
  const stats_kv kv[] = {
      {"id", id},
      {"conns_active", s->engine.conns_active},
      {"conns_accepted", s->engine.conns_accepted},
      {"sessions_opened", s->engine.sessions_opened},
      {"sessions_active", s->engine.sessions_active},
      {"packets_in", s->engine.pkts_in},
      {"packets_out", s->engine.pkts_out},
      {"rx_datagrams", s->io.rx_packets},
      {"forwarded_out", s->fwd.forwarded_out},
      {"forwarded_in", s->fwd.forwarded_in},
      {"forward_drops", s->fwd.forward_drops},
  };
  w_raw(w, "{");
  for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
    if (i) {
      w_raw(w, ",");
    }
    w_kv(w, kv[i].key, kv[i].val);
  }
  w_raw(w, "}");
}

int wt_stats_format_json_shards(const wt_snapshot *per, size_t n, int steering_attached,
                                const wt_stats_names *names, char *buf, size_t cap) {
  if (!per || n == 0 || !buf || cap == 0) {
    return WT_ERR_INVAL;
  }
  wt_snapshot total;
  memset(&total, 0, sizeof(total));
  for (size_t i = 0; i < n; i++) {
    wt_snapshot_add(&total, &per[i]);
  }
  int len = wt_stats_format_json(&total, names, buf, cap);
  if (len < 0) {
    return len;
  }
  /* reopen the object: drop its closing brace */
  stats_writer w = {.buf = buf, .cap = cap, .len = (size_t)len - 1};
  GROUP(&w, "steering", {"workers", n}, {"attached", steering_attached ? 1 : 0});
  w_raw(&w, ",\"shards\":[");
  for (size_t i = 0; i < n; i++) {
    if (i) {
      w_raw(&w, ",");
    }
    w_shard(&w, i, &per[i]);
  }
  w_raw(&w, "]}");
  if (w.overflow) {
    buf[0] = '\0';
    return WT_ERR_NOBUF;
  }
  return (int)w.len;
}

/* Every module's stats_json member inside the object that ends at
 * line[n - 1] ('}'): ,"KEY":VALUE (or ,"KEY":null when it does not fit).
 * Returns the new length. */
static int report_members(wt_runtime *rt, char *line, int n, size_t cap) {
  size_t nmod = 0;
  const wt_app_module *const *mods = wt_runtime_modules(rt, &nmod);
  for (size_t i = 0; i < nmod && n > 0 && line[n - 1] == '}'; i++) {
    const wt_app_module *m = mods[i];
    if (!m->json_key || !m->stats_json) {
      continue;
    }
    char key[WT_STATS_NAME_MAX + 8];
    int kl = snprintf(key, sizeof(key), ",\"%s\":", m->json_key);
    if (kl < 0 || (size_t)kl >= sizeof(key)) {
      continue;
    }
    size_t room = cap - (size_t)n;
    if (room <= (size_t)kl + 17) {
      break;
    }
    memcpy(line + n - 1, key, (size_t)kl);
    int r = m->stats_json(m->arg, line + n - 1 + kl, room - (size_t)kl - 3);
    if (r >= 0) {
      n = n - 1 + kl + r;
    } else {
      memcpy(line + n - 1 + kl, "null", 4);
      n = n - 1 + kl + 4;
    }
    line[n++] = '}';
  }
  return n;
}

/* ,"memory_budget":{...} inside the object that ends at line[n - 1]: the
 * process budget's figures (docs/operations.md "Limits"). Returns the new
 * length (unchanged when it does not fit). */
static int report_memory(const wt_mem_budget *b, char *line, int n, size_t cap) {
  if (n <= 0 || line[n - 1] != '}') {
    return n;
  }
  char m[512];
  int k =
      snprintf(m, sizeof(m),
               ",\"memory_budget\":{\"used\":%llu,\"peak\":%llu,\"max\":%llu,\"level\":\"%s\","
               "\"entered\":{\"normal\":%llu,\"no_credit\":%llu,\"no_dgram\":%llu,\"refuse\":%llu,"
               "\"close\":%llu}}}",
               (unsigned long long)wt_mem_used(b),
               (unsigned long long)atomic_load_explicit(&b->peak, memory_order_relaxed),
               (unsigned long long)b->max, wt_mem_level_name(wt_mem_level(b)),
               (unsigned long long)atomic_load_explicit(&b->entered[0], memory_order_relaxed),
               (unsigned long long)atomic_load_explicit(&b->entered[1], memory_order_relaxed),
               (unsigned long long)atomic_load_explicit(&b->entered[2], memory_order_relaxed),
               (unsigned long long)atomic_load_explicit(&b->entered[3], memory_order_relaxed),
               (unsigned long long)atomic_load_explicit(&b->entered[4], memory_order_relaxed));
  if (k <= 0 || (size_t)k >= sizeof(m) || (size_t)n - 1 + (size_t)k > cap) {
    return n;
  }
  memcpy(line + n - 1, m, (size_t)k);
  return n - 1 + k;
}

void wt_stats_report(void *arg, wt_runtime *rt, const wt_snapshot *per, uint32_t n) {
  wt_stats_names names;
  names.names = wt_runtime_counter_names(rt, &names.n);
  size_t cap = WT_STATS_JSON_SHARDS_MAX(n);
  char *line = malloc(cap);
  if (!line) {
    WT_LOG_ERROR("stats: out of memory");
    return;
  }
  int len = wt_stats_format_json_shards(per, n, wt_runtime_steering(rt), &names, line, cap - 1);
  if (len > 0) {
    len = report_members(rt, line, len, cap - 1);
  }
  if (len > 0) {
    len = report_memory(wt_runtime_mem(rt), line, len, cap - 1);
  }
  if (len < 0) {
    WT_LOG_ERROR("stats: %s", wt_err_str(len));
  } else {
    FILE *f = arg ? arg : stdout;
    line[len] = '\n';
    fwrite(line, 1, (size_t)len + 1, f);
    fflush(f);
  }
  free(line);
}
