/* wt_metrics.h: Prometheus metrics (text exposition format 0.0.4) over the
 * HTTP listener (wt_http.h), GET /metrics.
 *
 * A scrape runs on the HTTP thread: it asks the runtime's main thread for
 * fresh per-shard snapshots (wt_runtime_collect: the SIGUSR1 machinery, no
 * racy reads of another thread's counters), then formats them:
 *   - per shard (label shard="N"): connections, handshakes, sessions,
 *     streams, datagrams in/out/dropped, bytes, packets, Retry and address
 *     validation, stateless resets, errors by kind, forwarding, the
 *     datapath (and its backend as wtcast_io_backend_info);
 *   - process-wide: the application modules' families (wt_app_module
 *     .metrics: the built-in apps, label app=...), the dispatchers' own,
 *     then each module's extra lines (.metrics_extra: every relay channel,
 *     label channel=...: subscribers, publishers, published, delivered,
 *     dropped by reason);
 *   - the exporter itself: scrapes and failed collections.
 * Counters end in _total; gauges do not. Before wt_metrics_attach (or when
 * the runtime does not answer in time) a scrape is 503. */
#ifndef WT_METRICS_H
#define WT_METRICS_H

#include <stdint.h>

#include "wt_app.h"
#include "wt_http.h"
#include "wt_runtime.h"
#include "wt_snapshot.h"

typedef struct wt_metrics wt_metrics;

/* Route /metrics on h (which must outlive m). 0 or the wt_http_route error. */
int wt_metrics_new(wt_metrics **out, wt_http *h);

/* Route path on h (which must outlive m) to a JSON object of the
 * application counters whose names start with prefix (a literal),
 * summed over the workers, without the prefix: {"counters":{NAME:N,...}},
 * then each module's members for that prefix (wt_app_module.json_extra:
 * for "moq_", "broadcasts_live" and "broadcasts", the live broadcasts with
 * the most subscribers, their counters and their worst subscriber's drops:
 * apps/wt_apps.h wt_moq_reg_json) (the demo listener's /moq.json: what the
 * live-video page shows of the moq-lite relay; no shard or listener
 * figures, it may face the public).
 * Attach, detach and delete it as a /metrics one. 0 or the route error. */
int wt_metrics_new_json(wt_metrics **out, wt_http *h, const char *path, const char *prefix);

/* Serve rt from now on (NULL: stop serving, 503). Any thread. */
void wt_metrics_attach(wt_metrics *m, wt_runtime *rt);

/* After the HTTP listener is gone (wt_http_del). NULL is a no-op. */
void wt_metrics_del(wt_metrics *m);

/* The exposition text of n shards' snapshots (per), the application
 * workers' counters (apps, may be NULL), the modules' hooks (mods[0..n_mods),
 * whose counters apps->app_counters holds one module after the other) and
 * backends[i] = shard i's WT_IO_BACKEND_* (NULL = unknown). 0 or a
 * wt_http_reply error. */
int wt_metrics_format(wt_http_reply *out, const wt_snapshot *per, uint32_t n,
                      const wt_snapshot *apps, const wt_app_module *const *mods, size_t n_mods,
                      const int *backends);
/* The per-protocol session family (wtcast_sessions_protocol_total): one
 * series per configured protocol (protocols[0..n), at most
 * WT_APP_MAX_PROTOCOLS; the names are checked by the option: no '"' or
 * '\\'), plus "none" and "other", from apps->app.protocol_sessions.
 * Returns 0 or the reply's error. */
int wt_metrics_format_protocols(wt_http_reply *out, const wt_snapshot *apps,
                                const char *const *protocols, size_t n);

/* The process memory budget's families (docs/operations.md "Limits"):
 * wtcast_memory_bytes, _peak_bytes, _max_bytes, _pressure_level and
 * wtcast_memory_pressure_total{level}. Returns 0 or the reply's error. */
int wt_metrics_format_memory(wt_http_reply *out, const wt_mem_budget *b);

#endif
