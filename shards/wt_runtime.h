/* wt_runtime.h: the multi-shard process.
 *
 * N shards (wt_shard.h), each on its own thread pinned to a CPU (shard i on
 * the i-th CPU of the process's affinity set, modulo its size), each with
 * its own UDP socket in ONE SO_REUSEPORT group, its own datapath, engine
 * (shard_id = i, n_shards = N), applications, pools and timers.
 *
 * Start-up (wt_runtime_new), on the calling ("main") thread:
 *   1. single-instance guard: an exclusive flock on a lock file named after
 *      the address and port (under /run/wtcast, else $XDG_RUNTIME_DIR, else
 *      /tmp; it holds the owner's pid), then a plain bind (no SO_REUSEPORT)
 *      of the address as a probe: if either fails another server is there,
 *      and joining its reuseport group would silently steal half its
 *      traffic. (Port 0: the lock is taken once the kernel chose the port.)
 *   2. SIGINT, SIGTERM, SIGUSR1 and SIGHUP are blocked (the shards inherit
 *      the mask) and read through a signalfd by wt_runtime_run.
 *   3. The shard threads start one at a time: thread i creates its shard
 *      (socket, io_uring: SINGLE_ISSUER ties a ring to the thread that
 *      creates it, so the thread does it) and reports back before thread
 *      i+1 starts, so sockets are bound in shard order and socket index ==
 *      shard index in the group. Shards 1..N-1 bind the port shard 0 got.
 *   4. With N > 1 and steering on, the classic BPF program (wt_steer.h) is
 *      attached once to the group, through shard 0's socket; if the kernel
 *      refuses it, the shards forward instead (logged either way).
 *   5. The threads are released into their loops.
 * Thread names (ps -T, top -H, perf, gdb): shard i's is wt-shard-i,
 * application worker j's wt-app-j (inline apps: none of their own); the
 * main thread keeps the program's.
 *
 * Running (wt_runtime_run): signals are handled on the main thread and
 * passed to the shards as commands (wt_shard_post):
 *   SIGINT/SIGTERM: every shard drains (GOAWAY + DRAIN) for the drain
 *     timeout, then closes (a second signal closes at once);
 *   SIGUSR1: every running shard publishes a snapshot of its counters; the
 *     main thread waits for them (2 s at most), adds the application
 *     workers' counters to shard 0's and hands them to cfg.report (wtcast:
 *     ops/wt_stats.h prints one JSON line; NULL: nothing is reported);
 *   SIGHUP: every shard reads its certificate and key files again
 *     (WT_SHARD_CMD_RELOAD): connections made from then on use them, live
 *     ones keep theirs; a shard whose files do not load keeps the old ones.
 *     The main thread waits (2 s at most) for the results, logs them, calls
 *     cfg.on_reload and tells systemd (RELOADING=1, then READY=1).
 * Metrics: wt_runtime_collect (any thread) asks the main thread for the
 *   per-shard snapshots (the SIGUSR1 machinery) and waits for them.
 * systemd: with $NOTIFY_SOCKET set, wt_runtime_run sends READY=1 when it
 *   starts serving, STOPPING=1 at the first SIGINT/SIGTERM (sd_notify's
 *   datagram protocol, written by hand: no libsystemd).
 * A shard whose socket fails stops the others. wt_runtime_run returns once
 * every shard has stopped: 0, or WT_ERR_IO if a shard failed.
 *
 * End: the shard threads wait for each other before freeing (buffers in the
 * forwarding rings belong to their source shard, which frees them with its
 * pool only when no shard can touch them any more). */
#ifndef WT_RUNTIME_H
#define WT_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wt_app.h"
#include "wt_shard.h"
#include "wt_snapshot.h"

#define WT_RUNTIME_MAX_SHARDS      64
#define WT_RUNTIME_MAX_APP_WORKERS 64
#define WT_RUNTIME_SECRET_LEN      32

typedef struct wt_runtime wt_runtime;

typedef struct wt_runtime_config {
  wt_shard_config shard;           /* every shard's settings; the runtime sets shard_id, n_shards,
                                      reuseport, static_secret (from secret), fwd, controlled,
                                      signals and notify_fd itself */
  uint32_t shards;                 /* 1..WT_RUNTIME_MAX_SHARDS (wtcast --workers); 0 = online
                                      CPUs (capped) */
  uint32_t app_workers;            /* application worker threads, 1..WT_RUNTIME_MAX_APP_WORKERS;
                                      0 = as many as shards */
  int inline_apps;                 /* the applications run on the shard threads: one worker
                                      per shard, on its thread (app_workers is ignored); a
                                      session without a worker hint stays on its shard's
                                      worker, so a request and its answer cross no thread */
  uint32_t stream_send_window;     /* the workers' per-stream send credit: initial ... */
  uint32_t stream_send_window_max; /* ... and largest, grown with the congestion window
                                      (wt_app_ctx_config; 0 = defaults, 1 MiB and 8 MiB) */
  const char *const *protocols;    /* application protocols the server speaks, preferred
                                      first (at most WT_APP_MAX_PROTOCOLS): a session whose
                                      application does not choose answers WT-Protocol with
                                      the first one the client offered (wt_app.h) */
  size_t n_protocols;
  int steering;          /* attach the cBPF program when workers > 1 (default 1) */
  int pin;               /* pin each shard thread to a CPU (default 1) */
  int lock;              /* the single-instance guard (default 1) */
  const uint8_t *secret; /* WT_RUNTIME_SECRET_LEN bytes shared by every shard; NULL = random
                            per process */
  /* The process memory budget in bytes (core/base/wt_mem.h; docs/operations.md
   * "Limits"): what the shards and workers hold in buffers. 0 = the default,
   * wt_runtime_memory_default(). The runtime owns the budget and hands it
   * to every engine (shard.engine.mem) and buffer pool. */
  uint64_t memory_max;
  /* SIGUSR1: called on the main thread with the counters of the n shards
   * (per[0..n), the application workers' added to per[0]). NULL = none. */
  void (*report)(void *arg, wt_runtime *rt, const wt_snapshot *per, uint32_t n);
  void *report_arg;
  /* SIGHUP: called on the main thread after the shards reloaded; ok = every
   * shard loaded the new files. NULL = none. */
  void (*on_reload)(void *arg, int ok);
  void *reload_arg;
} wt_runtime_config;

void wt_runtime_config_default(wt_runtime_config *c);

/* The default memory budget: WT_RUNTIME_MEMORY_PERMILLE of the memory this
 * process may use, the smaller of MemTotal (/proc/meminfo) and the cgroup v2
 * limit (/sys/fs/cgroup/memory.max; "max" = none); *src (may be NULL) gets
 * "cgroup" or "meminfo". 1 GiB when neither can be read. */
#define WT_RUNTIME_MEMORY_PERMILLE 500
/* The defaults of wt_engine_config.max_conn_bytes / max_ip_bytes in a
 * server (wt_runtime_config_default): 64 MiB, 256 MiB. */
#define WT_RUNTIME_MAX_CONN_BYTES (UINT64_C(64) << 20)
#define WT_RUNTIME_MAX_IP_BYTES   (UINT64_C(256) << 20)
uint64_t wt_runtime_memory_default(const char **src);
/* The process memory budget (valid while rt lives; any thread reads it). */
const wt_mem_budget *wt_runtime_mem(const wt_runtime *rt);

/* Start as described above. On failure returns WT_ERR_REFUSED (another
 * server holds the address: why says "another wtcast (pid N) is already
 * serving ADDR:PORT"), WT_ERR_INVAL, WT_ERR_CONFIG, WT_ERR_IO, WT_ERR_NOMEM,
 * ... (why filled, NUL-terminated, cap bytes), with nothing left running. */
int wt_runtime_new(wt_runtime **out, const wt_runtime_config *cfg, char *why, size_t cap);

/* The address every shard is bound to (the real port). */
const wt_io_addr *wt_runtime_local(const wt_runtime *rt);

/* The application modules (cfg.shard.modules; *n receives their number)
 * and the names of their counters, one module after the other (*n: how
 * many; the order of wt_snapshot.app_counters). Any thread. */
const wt_app_module *const *wt_runtime_modules(const wt_runtime *rt, size_t *n);
const char *const *wt_runtime_counter_names(const wt_runtime *rt, size_t *n);
/* The configured protocols (cfg.protocols, at most WT_APP_MAX_PROTOCOLS;
 * *n: how many): the labels of wt_app_ctx_stats.protocol_sessions. */
const char *const *wt_runtime_protocols(const wt_runtime *rt, size_t *n);

/* Number of shards; whether the steering program is attached. */
uint32_t wt_runtime_shards(const wt_runtime *rt);
int wt_runtime_steering(const wt_runtime *rt);

/* Any thread, while wt_runtime_run runs: the counters of every shard
 * (per[0..n), n = min(cap, workers)) and of the application workers (in
 * *apps, its engine/io parts zero), fresh from the shards (bounded wait,
 * timeout_ms at most). Returns the number of shards filled, or
 * WT_ERR_AGAIN (the main thread did not answer in time, or the runtime is
 * stopping) or WT_ERR_INVAL. Concurrent callers take turns. */
int wt_runtime_collect(wt_runtime *rt, wt_snapshot *per, uint32_t cap, wt_snapshot *apps,
                       int timeout_ms);

/* The datapath backend of shard i (WT_IO_BACKEND_*); any thread. */
int wt_runtime_io_backend(const wt_runtime *rt, uint32_t i);

/* Send one sd_notify message (e.g. "READY=1") to $NOTIFY_SOCKET; 0 when
 * sent, 1 when the variable is not set, WT_ERR_IO. */
int wt_runtime_sd_notify(const char *msg);

/* Serve until every shard has stopped (see above). */
int wt_runtime_run(wt_runtime *rt);

/* Join the threads (they must have stopped: after wt_runtime_run), release
 * the lock, restore the signal mask, free. NULL is a no-op. */
void wt_runtime_del(wt_runtime *rt);

#endif
