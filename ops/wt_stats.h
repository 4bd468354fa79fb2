/* wt_stats.h: the counters of a shard as one JSON line (the SIGUSR1 report).
 *
 * Formatting only (any thread, no state): the counters come from the
 * runtime (wt_snapshot.h, wt_runtime.h); wt_stats_report is the hook the
 * runtime calls on SIGUSR1 (wt_runtime_config.report).
 *
 * The line is one JSON object, no newline inside, every value a
 * non-negative integer, every key always present:
 *
 * {"type":"stats","uptime_ms":N,
 *  "connections":{"active":N,"accepted":N,"closed":N,"refused":N,"refused_per_ip":N},
 *  "handshakes":{"ok":N,"failed":N},
 *  "sessions":{"opened":N,"active":N,"refused":N,"closed":N,"too_large":N,
 *              "protocols_malformed":N,"protocols_chosen":N},
 *  "streams":{"opened":N,"active":N,"reset":N},
 *  "datagrams":{"in":N,"out":N,"dropped":N,"expired":N},
 *  "bytes":{"in":N,"out":N},
 *  "packets":{"in":N,"out":N,"dropped":N},
 *  "io":{"rx_calls":N,"tx_calls":N,"gso_sends":N,"tx_errors":N,"eagain":N,
 *        "rx_packets":N,"tx_packets":N,"rx_bytes":N,"tx_bytes":N,"rx_gro_super":N,
 *        "rx_truncated":N,"rx_errors":N,"rx_completions":N,"rx_enobufs":N,
 *        "gso_packets":N,"sq_full":N,"syscalls":N},
 *  "errors":{"proto":N,"internal":N,"buffered_rejected":N,"buffered_expired":N,
 *            "glitch_closed":N},
 *  "flow_control":{"sessions":N,"data_blocked":N,"streams_blocked":N,"blocked_ns":N,
 *                  "streams_waited":N,"updates_sent":N,"blocked_recv":N,"errors":N,
 *                  "sessions_held":N,"sessions_held_expired":N,
 *                  "sessions_rejected_single":N},
 *  "address_validation":{"retries_sent":N,"tokens_invalid":N,"stateless_resets_sent":N,
 *                        "initials_short_dcid":N,"initials_undecryptable":N},
 *  "apps":{"not_found":N,"refused":N,"send_window_grows":N,
 *          then every application module's counters (wt_app_module.counter_names;
 *          the built-in apps: "echo_sessions":N,"echo_bytes":N,"echo_datagrams":N,
 *          "echo_datagrams_dropped":N,"echo_overflow_resets":N,
 *          "echo_push_reply_bytes":N,"source_sessions":N,"source_bytes":N,
 *          "source_streams_done":N,"sink_sessions":N,"sink_bytes":N,"sink_datagrams":N)},
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

#include "wt_runtime.h"
#include "wt_snapshot.h"

/* The names of the application counters (wt_snapshot.app_counters): n of
 * them, each at most WT_STATS_NAME_MAX bytes. */
typedef struct wt_stats_names {
  const char *const *names;
  size_t n;
} wt_stats_names;

#define WT_STATS_NAME_MAX 48

/* Bytes always enough for the line and its NUL. */
#define WT_STATS_JSON_MAX (4096 + WT_APP_MAX_COUNTERS * (WT_STATS_NAME_MAX + 24))

/* Write the line (no trailing newline) with a NUL into buf; the "apps"
 * object ends with the counters named by names (may be NULL: none).
 * Returns its length, WT_ERR_NOBUF if cap is too small (buf holds "" then,
 * if cap > 0) or WT_ERR_INVAL (also for a name longer than
 * WT_STATS_NAME_MAX or more than WT_APP_MAX_COUNTERS names). */
int wt_stats_format_json(const wt_snapshot *s, const wt_stats_names *names, char *buf, size_t cap);

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
int wt_stats_format_json_shards(const wt_snapshot *per, size_t n, int steering_attached,
                                const wt_stats_names *names, char *buf, size_t cap);

/* The runtime's SIGUSR1 hook (wt_runtime_config.report; arg: the FILE *
 * to write to, NULL = stdout): the line of per[0..n) (the application
 * workers' counters already added to per[0]), with every module's
 * stats_json member (wt_app_module.json_key, e.g. ,"relay":{...}) appended
 * inside the object, and a newline. On the runtime's main thread. */
void wt_stats_report(void *arg, wt_runtime *rt, const wt_snapshot *per, uint32_t n);

#endif
