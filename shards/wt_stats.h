/* wt_stats.h: the counters of a shard as one JSON line (the SIGUSR1 report).
 *
 * The line is one JSON object, no newline inside, every value a
 * non-negative integer, every key always present:
 *
 * {"type":"stats","uptime_ms":N,
 *  "connections":{"active":N,"accepted":N,"closed":N,"refused":N,"refused_per_ip":N},
 *  "handshakes":{"ok":N,"failed":N},
 *  "sessions":{"opened":N,"active":N,"refused":N,"closed":N},
 *  "streams":{"opened":N,"active":N,"reset":N},
 *  "datagrams":{"in":N,"out":N,"dropped":N},
 *  "bytes":{"in":N,"out":N},
 *  "packets":{"in":N,"out":N,"dropped":N},
 *  "io":{"rx_calls":N,"tx_calls":N,"gso_sends":N,"tx_errors":N,"eagain":N,
 *        "rx_packets":N,"tx_packets":N,"rx_bytes":N,"tx_bytes":N,"rx_gro_super":N,
 *        "rx_truncated":N,"rx_errors":N,"rx_completions":N,"rx_enobufs":N,
 *        "gso_packets":N,"sq_full":N,"syscalls":N},
 *  "errors":{"proto":N,"internal":N,"buffered_rejected":N},
 *  "address_validation":{"retries_sent":N,"tokens_invalid":N,"stateless_resets_sent":N},
 *  "apps":{"not_found":N,"refused":N,"echo_sessions":N,"echo_bytes":N,
 *          "echo_datagrams":N,"echo_datagrams_dropped":N,"echo_overflow_resets":N,
 *          "echo_push_reply_bytes":N,"source_sessions":N,"source_bytes":N,
 *          "source_streams_done":N,"sink_sessions":N,"sink_bytes":N,"sink_datagrams":N},
 *  "loop":{"turns":N,"rx_bounded":N,"tx_blocked":N,"tx_dropped":N},
 *  "forwarding":{"out":N,"in":N,"drops":N},
 *  "links":{"events":N,"events_overflowed":N,"datagrams_dropped":N,"stale_commands":N,
 *           "buffer_failures":N,"groups":N,"group_members":N,"mirrored_streams":N}}
 *
 * (shown wrapped; the real line has no spaces or newlines). Groups and keys
 * appear in this order; new keys may be added, none is ever removed. */
#ifndef WT_STATS_H
#define WT_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "wt_app.h"
#include "wt_apps.h"
#include "wt_engine.h"
#include "wt_fwd.h"
#include "wt_io.h"

/* Counters of the shard's own loop. */
typedef struct wt_stats_loop {
  uint64_t turns;      /* loop iterations */
  uint64_t rx_bounded; /* turns that stopped receiving at the per-turn bound */
  uint64_t tx_blocked; /* sends that stopped at would-block (rest kept for later) */
  uint64_t tx_dropped; /* tx entries dropped because the socket failed */
  uint64_t spin_hits;  /* spins before sleeping that a worker's command ended */
  uint64_t spin_miss;  /* ... that ran out (spin_ns) and slept */
  uint64_t rx_sliced;  /* turns that stopped receiving after handshake work used up the
                          slice (wt_shard_config.rx_slice_ns): replies go out first */
} wt_stats_loop;

/* The shard's side of its application links (wt_bridge.h, wt_link.h). */
typedef struct wt_stats_links {
  uint64_t events;            /* messages posted to the workers */
  uint64_t events_overflowed; /* ... of which waited in the overflow queue (ring full) */
  uint64_t datagrams_dropped; /* to a full worker ring, or a worker's refused by the engine */
  uint64_t stale_commands;    /* commands for sessions/streams already gone (ignored) */
  uint64_t buffer_failures;   /* no payload buffer (out of memory) */
  uint64_t groups, group_members, mirrored_streams; /* fan-out state now */
  uint64_t wakeups; /* eventfd writes that woke this shard (workers, other shards) */
} wt_stats_links;

/* Everything the line reports, copied from its sources. */
typedef struct wt_stats_snapshot {
  uint64_t uptime_ms;
  wt_engine_stats engine;
  wt_io_stats io;
  wt_app_ctx_stats app;
  wt_apps_counters apps;
  wt_stats_loop loop;
  wt_fwd_stats fwd;
  wt_stats_links links;
} wt_stats_snapshot;

/* Bytes always enough for the line and its NUL. */
#define WT_STATS_JSON_MAX 4096

/* Write the line (no trailing newline) with a NUL into buf. Returns its
 * length, WT_ERR_NOBUF if cap is too small (buf holds "" then, if cap > 0)
 * or WT_ERR_INVAL. */
int wt_stats_format_json(const wt_stats_snapshot *s, char *buf, size_t cap);

/* Add every counter of s to acc (uptime_ms: the larger one). */
void wt_stats_add(wt_stats_snapshot *acc, const wt_stats_snapshot *s);

/* Bytes always enough for wt_stats_format_json_shards with n shards. */
#define WT_STATS_JSON_SHARDS_MAX(n) (WT_STATS_JSON_MAX + 64 + (size_t)(n)*400)

/* The line of a process with n shards: the totals (the sum of per[0..n),
 * keys as above), then
 *   ,"steering":{"workers":N,"attached":0|1},
 *   "shards":[{"id":0,"conns_active":N,"conns_accepted":N,"sessions_opened":N,
 *              "sessions_active":N,"packets_in":N,"packets_out":N,
 *              "rx_datagrams":N,"forwarded_out":N,"forwarded_in":N,
 *              "forward_drops":N},...]}
 * Same returns as wt_stats_format_json. */
int wt_stats_format_json_shards(const wt_stats_snapshot *per, size_t n, int steering_attached,
                                char *buf, size_t cap);

#endif
