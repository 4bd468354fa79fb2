/* wt_snapshot.h: the counters of one shard (and of the application
 * workers), copied at one moment.
 *
 * Counters are plain integers of the thread that owns them (a shard, a
 * worker); a reader never looks at them directly: the owner copies them
 * into a wt_snapshot when asked (wt_shard_snapshot, the worker's
 * publication), and readers add snapshots up (wt_snapshot_add). The
 * runtime collects them (wt_runtime.h: SIGUSR1, wt_runtime_collect);
 * formatting them (the SIGUSR1 JSON line, /metrics) is the operations
 * side's business (ops/wt_stats.h, ops/wt_metrics.h).
 *
 * Plain data: no threads of its own. */
#ifndef WT_SNAPSHOT_H
#define WT_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "wt_app.h"
#include "wt_engine.h"
#include "wt_fwd.h"
#include "wt_io.h"

/* Counters of the shard's own loop. */
typedef struct wt_snapshot_loop {
  uint64_t turns;        /* loop iterations */
  uint64_t timer_wakes;  /* sleeps ended by their timeout (an engine or worker timer due), with
                            no datagram, wake-up or writable socket: the cost of timers */
  uint64_t rx_bounded;   /* turns that stopped receiving at the per-turn bound */
  uint64_t tx_blocked;   /* sends that stopped at would-block (rest kept for later) */
  uint64_t tx_dropped;   /* tx entries dropped because the socket failed */
  uint64_t spin_hits;    /* spins before sleeping that a worker's command ended */
  uint64_t spin_miss;    /* ... that ran out (spin_ns) and slept */
  uint64_t rx_sliced;    /* turns that stopped receiving after handshake work used up the
                            slice (wt_shard_config.rx_slice_ns): replies go out first */
  uint64_t qlog_skipped; /* connections not traced: too many open, a budget spent, no file */
  uint64_t qlog_cut;     /* traces ended early by --qlog-max-file-bytes / --qlog-max-bytes */
} wt_snapshot_loop;

/* The shard's side of its application links (wt_bridge.h, wt_link.h). */
typedef struct wt_snapshot_links {
  uint64_t events;            /* messages posted to the workers */
  uint64_t events_overflowed; /* ... of which waited in the overflow queue (ring full) */
  uint64_t datagrams_dropped; /* to a full worker ring, or a worker's refused by the engine */
  uint64_t stale_commands;    /* commands for sessions/streams already gone (ignored) */
  uint64_t buffer_failures;   /* no payload buffer (out of memory) */
  uint64_t groups, group_members, mirrored_streams; /* fan-out state now */
  uint64_t wakeups; /* eventfd writes that woke this shard (workers, other shards) */
} wt_snapshot_links;

/* Everything a report shows, copied from its sources. */
typedef struct wt_snapshot {
  uint64_t uptime_ms;
  wt_engine_stats engine;
  wt_io_stats io;
  wt_app_ctx_stats app; /* the dispatchers (wt_app.h) */
  /* the application modules' counters (wt_app_module.counters), one module
   * after the other in the order the server was given them; their names:
   * wt_runtime_counter_names */
  uint64_t app_counters[WT_APP_MAX_COUNTERS];
  wt_snapshot_loop loop;
  wt_fwd_stats fwd;
  wt_snapshot_links links;
} wt_snapshot;

/* Add every counter of s to acc (uptime_ms: the larger one). */
void wt_snapshot_add(wt_snapshot *acc, const wt_snapshot *s);

#endif
