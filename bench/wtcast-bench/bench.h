/* bench.h: internals of wtcast-bench, the load generator and benchmark
 * driver (issue 7; docs/benchmarks.md).
 *
 * main.c parses the options, runs the scenario --runs times (alternating
 * with a --compare peer it starts itself), samples the server's CPU time and
 * RSS, and prints the report (text or --json). worker.c is one load thread:
 * its own client engine (core/wt_engine.h) and UDP socket (io/wt_io.h)
 * driven by the engine pump (client/wt_pump.h), and its share of the
 * sessions; every session has its own QUIC connection.
 *
 * A run has phases, set by the main thread and read by the workers:
 * WARMUP (load runs, nothing is counted), MEASURE (counted), DRAIN (no new
 * work starts; what was started while measuring may finish and is counted)
 * and QUIT (every connection is closed, the thread ends). */
#ifndef WTCAST_BENCH_H
#define WTCAST_BENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "wt_engine.h"
#include "wt_hist.h"
#include "wt_io.h"
#include "wt_pump.h"
#include "wt_url.h"

#define WB_MS          UINT64_C(1000000)
#define WB_S           UINT64_C(1000000000)
#define WB_MAX_THREADS 64
#define WB_MAX_SESS    200000
#define WB_MSG_HDR     17 /* seq u64, send time u64 (CLOCK_MONOTONIC ns), measured u8 */
#define WB_ECHO_MSG    16 /* handshake: bytes of the first echo */
#define WB_UNBOUNDED   UINT64_C(1000000000000) /* bulk without --size: 1 TB per stream */

enum {
  WB_SC_HANDSHAKE,
  WB_SC_BULK,
  WB_SC_DATAGRAM,
  WB_SC_FANOUT,
  WB_SC_IDLE,
  WB_SC_MIXED,
  WB_SC_N
};
enum { WB_MODE_DOWNLOAD, WB_MODE_UPLOAD, WB_MODE_ECHO };
enum { WB_TX_DATAGRAM, WB_TX_STREAM };
enum { WB_PH_WARMUP, WB_PH_MEASURE, WB_PH_DRAIN, WB_PH_QUIT };

extern const char *const wb_scenario_names[WB_SC_N];

/* Where a run goes: the main URL or the --compare peer. */
typedef struct wb_target {
  char url[512];
  wt_url u;            /* host, authority, resolved peer */
  char base_path[256]; /* path prefix before /echo etc. (usually "") */
  wt_trust trust;      /* --cert-hash / --ca (none: insecure) */
  long server_pid;     /* 0 = unknown */
} wb_target;

typedef struct wb_opts {
  int scenario, mode, transport;
  uint32_t sessions, concurrency, streams, subs, threads, runs, window;
  uint64_t count, size, rate;
  int have_size, have_rate, have_sessions, have_concurrency;
  double duration, warmup;
  int json, log_level;
  const char *compare, *cert_file, *key_file;
  wb_target main;
} wb_opts;

/* Counters of one thread (summed by main after the run). Only work that
 * started in the MEASURE phase is counted, except errors (all phases). */
typedef struct wb_counts {
  uint64_t attempted, completed, failed; /* handshake attempts (and mixed's) */
  uint64_t bytes;                        /* bulk: payload bytes during MEASURE */
  uint64_t streams_done, corrupt;
  uint64_t dg_sent, dg_received, dg_send_fail, dg_window_stalls;
  uint64_t published, publish_fail, delivered, delivered_late, dup;
  uint64_t sessions_wanted, sessions_opened, sessions_failed, sessions_lost;
  uint64_t errors;
  /* The load generator's own datapath during MEASURE (its cost, to tell a
   * client-bound run): deltas of its wt_io counters, and its waits (calls to
   * wt_io_wait that may sleep) and the waits that returned with packets. */
  uint64_t io_rx_packets, io_rx_completions, io_tx_packets, io_syscalls;
  uint64_t waits, waits_rx;
  /* latency samples (ns), one array per thread, merged after the run */
  wt_samples hs_lat; /* handshake: connect → first echo */
  wt_samples rtt;    /* datagram echo RTT, or fan-out publish → deliver */
} wb_counts;

/* One run: shared by the threads of that run. */
typedef struct wb_run {
  const wb_opts *o;
  const wb_target *t;
  char ch[80]; /* fan-out channel of this run */
  uint32_t nthreads;
  _Atomic int phase;
  _Atomic uint32_t sessions_open;                 /* idle / fanout subs: sessions currently open */
  _Atomic uint32_t sessions_settled;              /* idle / fanout subs: open or failed once */
  _Atomic uint32_t threads_drained;               /* threads with nothing left in flight (DRAIN) */
  _Atomic uint32_t threads_count_done;            /* --count reached (MEASURE) */
  _Atomic uint64_t progress_ops, progress_errors; /* for the live line */
  _Atomic uint64_t pub_seq_measured;              /* fanout: messages published while measuring */
} wb_run;

typedef struct wb_thread {
  wb_run *run;
  uint32_t index;
  pthread_t tid;
  int started;
  wb_counts c;
  char err[256]; /* first error text */
  uint64_t nerr_texts;
} wb_thread;

uint64_t wb_now(void);
/* Fill the bulk pattern (byte i = i % 251); once, before any thread starts. */
void wb_pattern_init(void);
/* The body of one load thread (pthread start routine; arg = wb_thread). */
void *wb_worker(void *arg);
/* Record an error of a thread: counted; the first text is kept. */
void wb_error(wb_thread *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
