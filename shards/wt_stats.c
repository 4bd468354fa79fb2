/* wt_stats.c: the SIGUSR1 counter line (format: wt_stats.h). */
#include "wt_stats.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "wt_error.h"

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

int wt_stats_format_json(const wt_stats_snapshot *s, char *buf, size_t cap) {
  if (!s || !buf || cap == 0) {
    return WT_ERR_INVAL;
  }
  stats_writer w = {.buf = buf, .cap = cap};
  const wt_engine_stats *e = &s->engine;
  const wt_io_stats *io = &s->io;
  const wt_apps_counters *a = &s->apps;
  w_raw(&w, "{\"type\":\"stats\",");
  w_kv(&w, "uptime_ms", s->uptime_ms);
  GROUP(&w, "connections", {"active", e->conns_active}, {"accepted", e->conns_accepted},
        {"closed", e->conns_closed}, {"refused", e->conns_refused},
        {"refused_per_ip", e->conns_refused_per_ip});
  GROUP(&w, "handshakes", {"ok", e->handshakes_ok}, {"failed", e->handshakes_failed});
  GROUP(&w, "sessions", {"opened", e->sessions_opened}, {"active", e->sessions_active},
        {"refused", e->sessions_refused}, {"closed", e->sessions_closed});
  GROUP(&w, "streams", {"opened", e->streams_opened}, {"active", e->streams_active},
        {"reset", e->streams_reset});
  GROUP(&w, "datagrams", {"in", e->datagrams_in}, {"out", e->datagrams_out},
        {"dropped", e->datagrams_dropped});
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
        {"buffered_rejected", e->buffered_rejected});
  GROUP(&w, "address_validation", {"retries_sent", e->retries_sent},
        {"tokens_invalid", e->tokens_invalid}, {"stateless_resets_sent", e->stateless_resets_sent});
  GROUP(&w, "apps", {"not_found", s->app.not_found}, {"refused", s->app.refused},
        {"send_window_grows", s->app.send_window_grows}, {"echo_sessions", a->echo_sessions},
        {"echo_bytes", a->echo_bytes}, {"echo_datagrams", a->echo_datagrams},
        {"echo_datagrams_dropped", a->echo_datagrams_dropped},
        {"echo_overflow_resets", a->echo_overflow_resets},
        {"echo_push_reply_bytes", a->echo_push_reply_bytes},
        {"source_sessions", a->source_sessions}, {"source_bytes", a->source_bytes},
        {"source_streams_done", a->source_streams_done}, {"sink_sessions", a->sink_sessions},
        {"sink_bytes", a->sink_bytes}, {"sink_datagrams", a->sink_datagrams});
  GROUP(&w, "loop", {"turns", s->loop.turns}, {"rx_bounded", s->loop.rx_bounded},
        {"tx_blocked", s->loop.tx_blocked}, {"tx_dropped", s->loop.tx_dropped},
        {"spin_hits", s->loop.spin_hits}, {"spin_miss", s->loop.spin_miss},
        {"rx_sliced", s->loop.rx_sliced});
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

/* acc[i] += s[i] over a struct made of uint64_t counters only. */
#define ADD_U64S(acc, s)                                                                           \
  do {                                                                                             \
    _Static_assert(sizeof(*(acc)) % sizeof(uint64_t) == 0, "counters only");                       \
    uint64_t *a_ = (uint64_t *)(void *)(acc);                                                      \
    const uint64_t *b_ = (const uint64_t *)(const void *)(s);                                      \
    for (size_t i_ = 0; i_ < sizeof(*(acc)) / sizeof(uint64_t); i_++) {                            \
      a_[i_] += b_[i_];                                                                            \
    }                                                                                              \
  } while (0)

void wt_stats_add(wt_stats_snapshot *acc, const wt_stats_snapshot *s) {
  if (s->uptime_ms > acc->uptime_ms) {
    acc->uptime_ms = s->uptime_ms;
  }
  ADD_U64S(&acc->engine, &s->engine);
  ADD_U64S(&acc->io, &s->io);
  ADD_U64S(&acc->app, &s->app);
  ADD_U64S(&acc->apps, &s->apps);
  ADD_U64S(&acc->loop, &s->loop);
  ADD_U64S(&acc->fwd, &s->fwd);
  ADD_U64S(&acc->links, &s->links);
}

static void w_shard(stats_writer *w, size_t id, const wt_stats_snapshot *s) {
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

int wt_stats_format_json_shards(const wt_stats_snapshot *per, size_t n, int steering_attached,
                                char *buf, size_t cap) {
  if (!per || n == 0 || !buf || cap == 0) {
    return WT_ERR_INVAL;
  }
  wt_stats_snapshot total;
  memset(&total, 0, sizeof(total));
  for (size_t i = 0; i < n; i++) {
    wt_stats_add(&total, &per[i]);
  }
  int len = wt_stats_format_json(&total, buf, cap);
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
