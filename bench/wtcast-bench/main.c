/* wtcast-bench: load generator and benchmark driver for WebTransport servers
 * (issue 7, docs/benchmarks.md).
 *
 *   wtcast-bench --scenario NAME --url URL [--cert-hash HEX | --ca FILE]
 *     [--sessions N] [--concurrency N] [--count N] [--size BYTES] [--rate R]
 *     [--duration S] [--subs K] [--transport datagram|stream] [--runs N]
 *     [--warmup S] [--server-pid PID] [--json] [--threads T]
 *     [--mode download|upload|echo] [--streams M] [--window W]
 *     [--compare 'COMMAND {port} {cert} {key}' [--cert-file F --key-file F]]
 *
 * Scenarios: handshake, bulk, datagram, fanout, idle, mixed (see usage()).
 * --scenario fanout --verify is the relay's verifying fan-out client
 * (fanout.h), with its own options and report.
 * Each run: --warmup seconds of load that are not counted, then --duration
 * seconds (or --count handshakes) counted, then a short drain in which work
 * started while measuring may finish. With --server-pid, the server's CPU
 * time (utime+stime from /proc/PID/stat) over the measured window and its
 * RSS (VmRSS) join every result. Every result also carries the load
 * generator's own cost (client_cpu_s, client_cpu_s_per_gb, and from its
 * datapath counters client_syscalls_per_packet, client_rx_per_wake: a
 * client near duration_s x threads of CPU set the rate, not the server).
 * Errors are counted and reported; the exit
 * status is 1 if any run had failures (a --compare peer that cannot serve a
 * scenario at all is reported "unsupported" instead), 2 for bad usage. */
#define WT_LOG_MODULE "bench"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "fanout.h"
#include "wt_certgen.h"
#include "wt_log.h"

const char *const wb_scenario_names[WB_SC_N] = {"handshake", "bulk", "datagram",
                                                "fanout",    "idle", "mixed"};
static const char *const wb_mode_names[] = {"download", "upload", "echo"};

#define WB_MAX_KV 96

typedef struct wb_kv {
  const char *k;
  double v;
} wb_kv;

typedef struct wb_result {
  int target; /* 0 = main, 1 = peer */
  int index;
  int failed, unsupported;
  wb_kv kv[WB_MAX_KV];
  int n;
  char first_error[256];
  wt_samples lat, rtt; /* for the CDFs */
} wb_result;

static volatile sig_atomic_t wb_stop;
static pid_t wb_peer_pid;

static void on_signal(int sig) {
  (void)sig;
  wb_stop = 1;
}

static void usage(FILE *f) {
  fputs("usage: wtcast-bench --scenario NAME --url https://HOST:PORT [options]\n"
        "scenarios:\n"
        "  handshake  new sessions/s at --concurrency C: connect + CONNECT /echo + first echo\n"
        "             (16 bytes on a bidi stream), then close; latency p50/p99/p999\n"
        "  bulk       --mode download (/source?bytes=N) | upload (/sink, bidi) | echo (/echo),\n"
        "             --sessions N x --streams M (download: one /source session per stream)\n"
        "  datagram   /echo datagram echo at --rate R/s (0 = flood with --window W in flight\n"
        "             per session); RTT percentiles\n"
        "  fanout     1 publisher -> --subs K through /pub?ch= and /sub?ch=, --transport\n"
        "             datagram|stream, --rate messages/s, --size bytes; publish->deliver latency\n"
        "             (with --verify: one thread that checks every datagram and stream byte,\n"
        "             late joiners, several publishers, server CPU per delivery; its own\n"
        "             options: wtcast-bench --scenario fanout --verify --help)\n"
        "  moq-fanout fanout --verify --moq: the same over moq-lite through the moq relay\n"
        "  idle       hold --sessions K open for --duration; with --server-pid: RSS per session\n"
        "             (first run only: later ones reuse the memory the first one left free)\n"
        "  mixed      bulk downloads (--sessions) + datagram echo + handshakes (--concurrency)\n"
        "options:\n"
        "  --url URL            server (HOST: IP literal or localhost; a path is a prefix)\n"
        "  --cert-hash HEX      accept the server certificate with this SHA-256 (else --ca,\n"
        "  --ca FILE            else any certificate)\n"
        "  --sessions N         bulk/datagram/idle/mixed sessions (defaults 1/1/100/2)\n"
        "  --concurrency N      handshake/mixed: attempts in flight (default 16/4); idle and\n"
        "                       fanout: connections being set up at once (default 64)\n"
        "  --count N            handshake: attempts per run (ends the run before --duration)\n"
        "  --size BYTES         bulk: bytes per stream (default unbounded); datagram/fanout:\n"
        "                       message size (default 1000, >= 17)\n"
        "  --rate R             datagram: datagrams/s in all (default 0 = flood);\n"
        "                       fanout: messages/s (default 1000)\n"
        "  --duration S         measured seconds per run (default 5)\n"
        "  --warmup S           seconds of load before measuring (default 1)\n"
        "  --runs N             runs (default 3); medians over the runs\n"
        "  --subs K             fanout subscribers (default 10)\n"
        "  --streams M          bulk streams per session (default 1)\n"
        "  --transport T        fanout: datagram | stream (one uni stream per message)\n"
        "  --window W           datagram flood: datagrams in flight per session (default 64)\n"
        "  --threads T          load threads (default: online CPUs)\n"
        "  --server-pid PID     add the server's CPU time and RSS to every result\n"
        "  --compare 'CMD {port} {cert} {key}'  start that server (free port, --cert-file/\n"
        "                       --key-file or a generated certificate) and run the same\n"
        "                       scenario against it, alternating runs; report ratios\n"
        "  --json               one JSON object on stdout\n"
        "  --log-level L        engine logging (default error)\n",
        f);
}

/* ------------------------------------------------------------------ parsing */

static int parse_u64(const char *s, uint64_t max, uint64_t *out) {
  return wt_url_parse_u64(s, 10, max, out);
}

static int parse_secs(const char *s, double *out) {
  char *end = NULL;
  double v = strtod(s, &end);
  if (!*s || *end || !(v >= 0) || v > 86400) {
    return -1;
  }
  *out = v;
  return 0;
}

static int parse_url(wb_target *t, const char *url) {
  char err[300];
  if (strlen(url) >= sizeof(t->url) || wt_url_parse(&t->u, url, err, sizeof(err)) < 0 ||
      wt_url_base_path(&t->u, t->base_path, sizeof(t->base_path)) < 0) {
    return -1;
  }
  snprintf(t->url, sizeof(t->url), "%s", url);
  return 0;
}

/* ------------------------------------------------------------------ /proc */

/* utime + stime of pid in seconds, or -1. */
static double proc_cpu_s(long pid) {
  char path[64], buf[2048];
  snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) {
    return -1;
  }
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')'); /* comm may hold spaces */
  if (!p) {
    return -1;
  }
  p += 2; /* field 3 (state) */
  unsigned long long ut = 0, st = 0;
  int field = 3;
  char *save = NULL;
  for (char *tok = strtok_r(p, " ", &save); tok; tok = strtok_r(NULL, " ", &save), field++) {
    if (field == 14) {
      ut = strtoull(tok, NULL, 10);
    } else if (field == 15) {
      st = strtoull(tok, NULL, 10);
      break;
    }
  }
  long tck = sysconf(_SC_CLK_TCK);
  return field == 15 && tck > 0 ? (double)(ut + st) / (double)tck : -1;
}

/* VmRSS of pid in kB, or -1. */
static double proc_rss_kb(long pid) {
  char path[64], line[256];
  snprintf(path, sizeof(path), "/proc/%ld/status", pid);
  FILE *f = fopen(path, "r");
  if (!f) {
    return -1;
  }
  double v = -1;
  while (fgets(line, sizeof(line), f)) {
    if (strncmp(line, "VmRSS:", 6) == 0) {
      v = strtod(line + 6, NULL);
      break;
    }
  }
  fclose(f);
  return v;
}

/* ------------------------------------------------------------------ results */

static void kv_set(wb_result *r, const char *k, double v) {
  for (int i = 0; i < r->n; i++) {
    if (strcmp(r->kv[i].k, k) == 0) {
      r->kv[i].v = v;
      return;
    }
  }
  if (r->n < WB_MAX_KV) {
    r->kv[r->n].k = k;
    r->kv[r->n].v = v;
    r->n++;
  }
}

static const wb_kv *kv_get(const wb_result *r, const char *k) {
  for (int i = 0; i < r->n; i++) {
    if (strcmp(r->kv[i].k, k) == 0) {
      return &r->kv[i];
    }
  }
  return NULL;
}

static uint64_t wb_min_u64(uint64_t a, uint64_t b) {
  return a < b ? a : b;
}

static int cmp_dbl(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples, in microseconds. */
static double pct_us(const wt_samples *s, double p) {
  return s->n ? (double)wt_samples_pct(s->v, s->n, p) / 1000.0 : 0;
}

static void set_pcts(wb_result *r, wt_samples *s, const char *p50, const char *p99,
                     const char *p999, const char *n) {
  if (s->n) {
    wt_samples_sort(s->v, s->n);
  }
  kv_set(r, n, (double)s->n);
  if (s->n) {
    kv_set(r, p50, pct_us(s, 50));
    kv_set(r, p99, pct_us(s, 99));
    kv_set(r, p999, pct_us(s, 99.9));
  }
}

/* ------------------------------------------------------------------ one run */

static void progress(const wb_run *run, const wb_opts *o, double secs, int peer) {
  static uint64_t last_ops;
  static double last_t;
  uint64_t ops = atomic_load_explicit(&run->progress_ops, memory_order_relaxed);
  uint64_t errs = atomic_load_explicit(&run->progress_errors, memory_order_relaxed);
  if (secs < last_t) {
    last_ops = 0;
    last_t = 0;
  }
  double rate = secs > last_t ? (double)(ops - last_ops) / (secs - last_t) : 0;
  last_ops = ops;
  last_t = secs;
  fprintf(stderr, "\r\033[K%s %s %5.1fs  ops %" PRIu64 "  %.0f/s  open %u  errors %" PRIu64,
          peer ? "peer" : "wtcast", wb_scenario_names[o->scenario], secs, ops, rate,
          atomic_load(&run->sessions_open), errs);
}

static void sleep_ns(uint64_t ns) {
  struct timespec ts = {.tv_sec = (time_t)(ns / WB_S), .tv_nsec = (long)(ns % WB_S)};
  nanosleep(&ts, NULL);
}

static int run_one(const wb_opts *o, const wb_target *tg, int target, int index, wb_result *res,
                   int quiet) {
  static unsigned run_no;
  memset(res, 0, sizeof(*res));
  res->target = target;
  res->index = index;
  wb_run *run = calloc(1, sizeof(*run));
  wb_thread *th = calloc(o->threads, sizeof(*th));
  if (!run || !th) {
    free(run);
    free(th);
    res->failed = 1;
    snprintf(res->first_error, sizeof(res->first_error), "out of memory");
    return -1;
  }
  run->o = o;
  run->t = tg;
  run->nthreads = o->threads;
  snprintf(run->ch, sizeof(run->ch), "bench-%ld-%u", (long)getpid(), run_no++);
  atomic_store(&run->phase, WB_PH_WARMUP);
  long pid = tg->server_pid;
  double rss_before = pid ? proc_rss_kb(pid) : -1;
  int live = !quiet && isatty(STDERR_FILENO);
  uint32_t started = 0;
  for (uint32_t i = 0; i < o->threads; i++) {
    th[i].run = run;
    th[i].index = i;
    if (pthread_create(&th[i].tid, NULL, wb_worker, &th[i]) == 0) {
      th[i].started = 1;
      started++;
    } else {
      th[i].c.errors++;
      snprintf(th[i].err, sizeof(th[i].err), "cannot start a thread");
    }
  }
  uint64_t t_begin = wb_now();
  /* idle and fanout: the sessions are set up before the clock starts */
  uint32_t want_settled = o->scenario == WB_SC_IDLE     ? o->sessions
                          : o->scenario == WB_SC_FANOUT ? o->subs
                                                        : 0;
  double setup_s = 0;
  if (want_settled) {
    uint64_t limit = t_begin + 60 * WB_S;
    while (!wb_stop && atomic_load(&run->sessions_settled) < want_settled && wb_now() < limit) {
      sleep_ns(10 * WB_MS);
      if (live) {
        progress(run, o, (double)(wb_now() - t_begin) / 1e9, target);
      }
    }
    setup_s = (double)(wb_now() - t_begin) / 1e9;
  }
  uint64_t t_warm = wb_now();
  while (!wb_stop && wb_now() - t_warm < (uint64_t)(o->warmup * 1e9)) {
    sleep_ns(50 * WB_MS);
  }
  double rss_open = pid ? proc_rss_kb(pid) : -1;
  uint32_t open_at_measure = atomic_load(&run->sessions_open);
  double cpu0 = pid ? proc_cpu_s(pid) : -1;
  double ccpu0 = proc_cpu_s((long)getpid());
  uint64_t t0 = wb_now();
  atomic_store_explicit(&run->phase, WB_PH_MEASURE, memory_order_release);
  uint64_t dur = (uint64_t)(o->duration * 1e9);
  uint64_t next_progress = t0 + 200 * WB_MS;
  int count_mode = o->scenario == WB_SC_HANDSHAKE && o->count;
  for (;;) {
    uint64_t now = wb_now();
    if (wb_stop || now - t0 >= dur) {
      break;
    }
    if (count_mode && atomic_load(&run->threads_count_done) >= o->threads) {
      break;
    }
    if (live && now >= next_progress) {
      progress(run, o, (double)(now - t0) / 1e9, target);
      next_progress = now + 500 * WB_MS;
    }
    sleep_ns(count_mode ? WB_MS : 10 * WB_MS);
  }
  uint64_t t1 = wb_now();
  double cpu1 = pid ? proc_cpu_s(pid) : -1;
  double ccpu1 = proc_cpu_s((long)getpid());
  double rss_end = pid ? proc_rss_kb(pid) : -1;
  uint32_t open_at_end = atomic_load(&run->sessions_open);
  atomic_store_explicit(&run->phase, WB_PH_DRAIN, memory_order_release);
  uint64_t grace = o->scenario == WB_SC_HANDSHAKE || o->scenario == WB_SC_MIXED ? 6 * WB_S
                   : o->scenario == WB_SC_FANOUT                                ? 1 * WB_S
                                                                                : WB_S / 2;
  uint64_t td = wb_now();
  while (wb_now() - td < grace) {
    if (o->scenario != WB_SC_FANOUT && atomic_load(&run->threads_drained) >= o->threads) {
      break;
    }
    sleep_ns(5 * WB_MS);
  }
  atomic_store_explicit(&run->phase, WB_PH_QUIT, memory_order_release);
  wb_counts sum;
  memset(&sum, 0, sizeof(sum));
  for (uint32_t i = 0; i < o->threads; i++) {
    if (th[i].started) {
      pthread_join(th[i].tid, NULL);
    }
    wb_counts *c = &th[i].c;
#define ADD(f) sum.f += c->f
    ADD(attempted);
    ADD(completed);
    ADD(failed);
    ADD(bytes);
    ADD(streams_done);
    ADD(corrupt);
    ADD(dg_sent);
    ADD(dg_received);
    ADD(dg_send_fail);
    ADD(dg_window_stalls);
    ADD(published);
    ADD(publish_fail);
    ADD(delivered);
    ADD(delivered_late);
    ADD(dup);
    ADD(sessions_wanted);
    ADD(sessions_opened);
    ADD(sessions_failed);
    ADD(sessions_lost);
    ADD(errors);
    ADD(io_rx_packets);
    ADD(io_rx_completions);
    ADD(io_tx_packets);
    ADD(io_syscalls);
    ADD(waits);
    ADD(waits_rx);
#undef ADD
    wt_samples_merge(&res->lat, &c->hs_lat);
    wt_samples_merge(&res->rtt, &c->rtt);
    wt_samples_free(&c->hs_lat);
    wt_samples_free(&c->rtt);
    if (th[i].err[0] && !res->first_error[0]) {
      snprintf(res->first_error, sizeof(res->first_error), "%s", th[i].err);
    }
  }
  if (live) {
    fprintf(stderr, "\r\033[K");
  }
  double secs = (double)(t1 - t0) / 1e9;
  kv_set(res, "duration_s", secs);
  kv_set(res, "threads", o->threads);
  kv_set(res, "errors", (double)sum.errors);
  if (started < o->threads) {
    sum.errors += o->threads - started;
    kv_set(res, "errors", (double)sum.errors);
  }
  if (!quiet && sum.errors > 0) {
    /* said where the operator looks, not only inside the JSON */
    fprintf(stderr, "wtcast-bench: run %d (%s): %" PRIu64 " errors; the first: %s\n", index,
            target ? "peer" : "wtcast", sum.errors,
            res->first_error[0] ? res->first_error : "(no text)");
  }
  double ops = 0;
  const char *unit = "op";
  int useful = 0; /* the server did any of the work at all */
  switch (o->scenario) {
  case WB_SC_HANDSHAKE:
  case WB_SC_MIXED:
    kv_set(res, "attempted", (double)sum.attempted);
    kv_set(res, "completed", (double)sum.completed);
    kv_set(res, "failed", (double)sum.failed);
    kv_set(res, "sessions_per_s", secs > 0 ? (double)sum.completed / secs : 0);
    set_pcts(res, &res->lat, "latency_p50_us", "latency_p99_us", "latency_p999_us",
             "latency_samples");
    ops = (double)sum.completed;
    unit = "session";
    useful = sum.completed > 0;
    if (o->scenario == WB_SC_HANDSHAKE) {
      break;
    }
    __attribute__((fallthrough)); /* mixed also has bulk and datagram figures */
  case WB_SC_BULK:
    kv_set(res, "bytes", (double)sum.bytes);
    kv_set(res, "gbit_per_s", secs > 0 ? (double)sum.bytes * 8 / secs / 1e9 : 0);
    kv_set(res, "mbyte_per_s", secs > 0 ? (double)sum.bytes / secs / 1e6 : 0);
    kv_set(res, "streams_done", (double)sum.streams_done);
    kv_set(res, "corrupt", (double)sum.corrupt);
    kv_set(res, "sessions_opened", (double)sum.sessions_opened);
    kv_set(res, "sessions_failed", (double)sum.sessions_failed);
    kv_set(res, "sessions_lost", (double)sum.sessions_lost);
    if (o->scenario == WB_SC_BULK) {
      ops = (double)sum.bytes / 1e6;
      unit = "MB";
      useful = sum.bytes > 0;
      break;
    }
    __attribute__((fallthrough));
  case WB_SC_DATAGRAM:
    kv_set(res, "sent", (double)sum.dg_sent);
    kv_set(res, "received", (double)sum.dg_received);
    kv_set(res, "send_fail", (double)sum.dg_send_fail);
    kv_set(res, "lost",
           (double)(sum.dg_sent > sum.dg_received ? sum.dg_sent - sum.dg_received : 0));
    kv_set(res, "loss_pct",
           sum.dg_sent ? 100.0 * (double)(sum.dg_sent - wb_min_u64(sum.dg_sent, sum.dg_received)) /
                             (double)sum.dg_sent
                       : 0);
    kv_set(res, "datagrams_per_s", secs > 0 ? (double)sum.dg_received / secs : 0);
    kv_set(res, "window_stalls", (double)sum.dg_window_stalls);
    kv_set(res, "corrupt", (double)sum.corrupt);
    set_pcts(res, &res->rtt, "rtt_p50_us", "rtt_p99_us", "rtt_p999_us", "rtt_samples");
    if (o->scenario == WB_SC_DATAGRAM) {
      kv_set(res, "sessions_opened", (double)sum.sessions_opened);
      kv_set(res, "sessions_failed", (double)sum.sessions_failed);
      kv_set(res, "sessions_lost", (double)sum.sessions_lost);
      ops = (double)sum.dg_received;
      unit = "datagram";
      useful = sum.dg_received > 0;
    } else {
      useful = useful || sum.bytes > 0 || sum.dg_received > 0;
    }
    break;
  case WB_SC_FANOUT: {
    double expected = (double)sum.published * (double)o->subs;
    kv_set(res, "subs", o->subs);
    kv_set(res, "subs_open", open_at_measure);
    kv_set(res, "subs_open_at_end", open_at_end);
    kv_set(res, "published", (double)sum.published);
    kv_set(res, "publish_fail", (double)sum.publish_fail);
    kv_set(res, "expected", expected);
    kv_set(res, "delivered", (double)sum.delivered);
    kv_set(res, "delivered_in_drain", (double)sum.delivered_late);
    kv_set(res, "lost", expected > (double)sum.delivered ? expected - (double)sum.delivered : 0);
    kv_set(res, "loss_pct",
           expected > 0 ? 100.0 * (expected - (double)sum.delivered) / expected : 0);
    kv_set(res, "deliveries_per_s", secs > 0 ? (double)sum.delivered / secs : 0);
    kv_set(res, "corrupt", (double)sum.corrupt);
    kv_set(res, "sessions_opened", (double)sum.sessions_opened);
    kv_set(res, "sessions_failed", (double)sum.sessions_failed);
    kv_set(res, "sessions_lost", (double)sum.sessions_lost);
    kv_set(res, "setup_s", setup_s);
    set_pcts(res, &res->rtt, "latency_p50_us", "latency_p99_us", "latency_p999_us",
             "latency_samples");
    ops = (double)sum.delivered;
    unit = "delivery";
    useful = sum.delivered > 0;
    break;
  }
  case WB_SC_IDLE:
    kv_set(res, "sessions", o->sessions);
    kv_set(res, "sessions_opened", (double)sum.sessions_opened);
    kv_set(res, "sessions_failed", (double)sum.sessions_failed);
    kv_set(res, "sessions_lost", (double)sum.sessions_lost);
    kv_set(res, "sessions_open_at_end", open_at_end);
    kv_set(res, "setup_s", setup_s);
    kv_set(res, "sessions_per_s", setup_s > 0 ? (double)sum.sessions_opened / setup_s : 0);
    ops = open_at_measure;
    unit = "session";
    useful = sum.sessions_opened > 0;
    if (pid && rss_before >= 0 && rss_open >= 0) {
      kv_set(res, "server_rss_before_kb", rss_before);
      kv_set(res, "server_rss_open_kb", rss_open);
      /* Only the first run against a server measures what a session costs:
       * later runs reuse the memory the first one's sessions left free in
       * the server's allocator (500 sessions: RSS +39 MB on a fresh
       * wtcast, then +16 MB and +0.3 MB in the next two runs), so their
       * difference says little about a session. The median then is run 0's figure;
       * bench/run-suite runs idle first, on a server nothing else used. */
      if (open_at_measure && index == 0) {
        kv_set(res, "server_rss_kb_per_session", (rss_open - rss_before) / open_at_measure);
      }
    }
    break;
  default:
    break;
  }
  if (pid) {
    if (cpu0 >= 0 && cpu1 >= 0) {
      double cpu = cpu1 - cpu0;
      kv_set(res, "server_cpu_s", cpu);
      if (ops > 0 && o->scenario != WB_SC_IDLE) {
        kv_set(res, "server_cpu_us_per_op", cpu * 1e6 / ops);
      }
      if (o->scenario == WB_SC_BULK && sum.bytes) {
        kv_set(res, "server_cpu_s_per_gb", cpu / ((double)sum.bytes / 1e9));
      }
    } else {
      sum.errors++;
      kv_set(res, "errors", (double)sum.errors);
      if (!res->first_error[0]) {
        snprintf(res->first_error, sizeof(res->first_error),
                 "cannot read /proc/%ld/stat (server gone?)", pid);
      }
    }
    if (rss_end >= 0) {
      kv_set(res, "server_rss_kb", rss_end);
    }
  }
  /* The load generator's own cost: when client_cpu_s is near duration_s ×
   * threads, the client (not the server) set the rate. */
  if (ccpu0 >= 0 && ccpu1 >= 0) {
    double cpu = ccpu1 - ccpu0;
    kv_set(res, "client_cpu_s", cpu);
    if (o->scenario == WB_SC_BULK && sum.bytes) {
      kv_set(res, "client_cpu_s_per_gb", cpu / ((double)sum.bytes / 1e9));
    }
  }
  if (sum.io_rx_packets + sum.io_tx_packets) {
    kv_set(res, "client_rx_packets", (double)sum.io_rx_packets);
    kv_set(res, "client_tx_packets", (double)sum.io_tx_packets);
    kv_set(res, "client_syscalls_per_packet",
           (double)sum.io_syscalls / (double)(sum.io_rx_packets + sum.io_tx_packets));
    kv_set(res, "client_waits", (double)sum.waits);
    kv_set(res, "client_rx_per_wake",
           sum.waits_rx ? (double)sum.io_rx_packets / (double)sum.waits_rx : 0);
    kv_set(res, "client_rx_per_completion",
           sum.io_rx_completions ? (double)sum.io_rx_packets / (double)sum.io_rx_completions : 0);
  }
  (void)unit;
  res->failed = sum.errors > 0 || sum.failed > 0 || sum.corrupt > 0 || sum.sessions_failed > 0 ||
                sum.sessions_lost > 0;
  res->unsupported = target == 1 && !useful;
  if (!useful && target == 0 && !wb_stop) {
    res->failed = 1; /* a run in which the server did none of the work is no result */
    if (!res->first_error[0]) {
      snprintf(res->first_error, sizeof(res->first_error), "no work completed in the run");
    }
  }
  free(run);
  free(th);
  return 0;
}

/* ------------------------------------------------------------------ output */

typedef struct jb {
  char *p;
  size_t n, cap;
  int oom;
} jb;

static void jb_add(jb *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jb_add(jb *j, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(j->p ? j->p + j->n : NULL, j->p ? j->cap - j->n : 0, fmt, ap);
    va_end(ap);
    if (k < 0) {
      return;
    }
    if (j->p && j->n + (size_t)k < j->cap) {
      j->n += (size_t)k;
      return;
    }
    size_t nc = (j->cap ? j->cap * 2 : 65536) + (size_t)k;
    char *np = realloc(j->p, nc);
    if (!np) {
      j->oom = 1;
      return;
    }
    j->p = np;
    j->cap = nc;
  }
}

static void jb_str(jb *j, const char *s) {
  jb_add(j, "\"");
  for (; s && *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') {
      jb_add(j, "\\%c", ch);
    } else if (ch < 0x20) {
      jb_add(j, "\\u%04x", ch);
    } else {
      jb_add(j, "%c", ch);
    }
  }
  jb_add(j, "\"");
}

static void jb_num(jb *j, double v) {
  if (!isfinite(v)) {
    jb_add(j, "null");
  } else if (v == floor(v) && fabs(v) < 9e15) {
    jb_add(j, "%.0f", v);
  } else {
    jb_add(j, "%.6g", v);
  }
}

static void jb_kvs(jb *j, const wb_kv *kv, int n) {
  jb_add(j, "{");
  for (int i = 0; i < n; i++) {
    jb_add(j, "%s\"%s\":", i ? "," : "", kv[i].k);
    jb_num(j, kv[i].v);
  }
  jb_add(j, "}");
}

static const double cdf_pcts[] = {0,  1,  5,  10, 20, 25, 30,   40,   50,    60, 70,
                                  75, 80, 90, 95, 98, 99, 99.5, 99.9, 99.99, 100};

static void jb_cdf(jb *j, const wt_samples *s) {
  jb_add(j, "[");
  for (size_t i = 0; i < sizeof(cdf_pcts) / sizeof(cdf_pcts[0]); i++) {
    jb_add(j, "%s[", i ? "," : "");
    jb_num(j, cdf_pcts[i]);
    jb_add(j, ",");
    jb_num(j, cdf_pcts[i] == 0 ? (double)s->v[0] / 1000.0 : pct_us(s, cdf_pcts[i]));
    jb_add(j, "]");
  }
  jb_add(j, "]");
}

/* Medians over the runs of one target, keyed like run 0 of it. */
static int medians(wb_result *rs, int nr, int target, wb_kv *out) {
  int n = 0;
  const wb_result *first = NULL;
  for (int i = 0; i < nr; i++) {
    if (rs[i].target == target) {
      first = &rs[i];
      break;
    }
  }
  if (!first) {
    return 0;
  }
  double *vals = calloc((size_t)nr, sizeof(double));
  if (!vals) {
    return 0;
  }
  for (int k = 0; k < first->n; k++) {
    int m = 0;
    for (int i = 0; i < nr; i++) {
      const wb_kv *kv = rs[i].target == target ? kv_get(&rs[i], first->kv[k].k) : NULL;
      if (kv) {
        vals[m++] = kv->v;
      }
    }
    qsort(vals, (size_t)m, sizeof(double), cmp_dbl);
    out[n].k = first->kv[k].k;
    out[n].v = m % 2 ? vals[m / 2] : (vals[m / 2 - 1] + vals[m / 2]) / 2;
    n++;
  }
  free(vals);
  return n;
}

static void cpu_model(char *buf, size_t cap) {
  snprintf(buf, cap, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) {
    return;
  }
  char line[512];
  while (fgets(line, sizeof(line), f)) {
    if (strncmp(line, "model name", 10) == 0) {
      char *p = strchr(line, ':');
      if (p) {
        p++;
        while (*p == ' ') {
          p++;
        }
        p[strcspn(p, "\n")] = '\0';
        snprintf(buf, cap, "%s", p);
      }
      break;
    }
  }
  fclose(f);
}

/* Keys where a smaller value is better: the ratio is still wtcast / peer. */
static void print_json(const wb_opts *o, const wb_target *peer, wb_result *rs, int nr, int status,
                       const char *peer_cmd) {
  jb j = {0};
  struct utsname u;
  memset(&u, 0, sizeof(u));
  uname(&u);
  char cpu[256];
  cpu_model(cpu, sizeof(cpu));
  jb_add(&j, "{\"tool\":\"wtcast-bench\",\"scenario\":");
  jb_str(&j, wb_scenario_names[o->scenario]);
  jb_add(&j, ",\"config\":{\"url\":");
  jb_str(&j, o->main.url);
  jb_add(&j,
         ",\"scenario\":\"%s\",\"mode\":\"%s\",\"transport\":\"%s\",\"sessions\":%u,"
         "\"concurrency\":%u,\"streams\":%u,\"subs\":%u,\"count\":%" PRIu64 ",\"size\":%" PRIu64
         ",\"size_unbounded\":%s,\"rate\":%" PRIu64 ",\"window\":%u,\"duration_s\":%g,"
         "\"warmup_s\":%g,\"runs\":%u,\"threads\":%u,\"server_pid\":%ld,\"compare\":",
         wb_scenario_names[o->scenario], wb_mode_names[o->mode],
         o->transport == WB_TX_STREAM ? "stream" : "datagram", o->sessions, o->concurrency,
         o->streams, o->subs, o->count, o->size,
         o->scenario == WB_SC_BULK && !o->have_size ? "true" : "false", o->rate, o->window,
         o->duration, o->warmup, o->runs, o->threads, o->main.server_pid);
  if (peer_cmd) {
    jb_str(&j, peer_cmd);
  } else {
    jb_add(&j, "null");
  }
  jb_add(&j, "},\"machine\":{\"nproc\":%ld,\"kernel\":", sysconf(_SC_NPROCESSORS_ONLN));
  char kern[600];
  snprintf(kern, sizeof(kern), "%s %s %s", u.sysname, u.release, u.machine);
  jb_str(&j, kern);
  jb_add(&j, ",\"cpu_model\":");
  jb_str(&j, cpu);
  jb_add(&j, ",\"clk_tck\":%ld},\"runs\":[", sysconf(_SC_CLK_TCK));
  for (int i = 0; i < nr; i++) {
    wb_result *r = &rs[i];
    jb_add(&j, "%s{\"target\":\"%s\",\"index\":%d,\"status\":\"%s\",\"results\":", i ? "," : "",
           r->target ? "peer" : "wtcast", r->index,
           r->unsupported ? "unsupported"
           : r->failed    ? "failed"
                          : "ok");
    jb_kvs(&j, r->kv, r->n);
    jb_add(&j, ",\"first_error\":");
    if (r->first_error[0]) {
      jb_str(&j, r->first_error);
    } else {
      jb_add(&j, "null");
    }
    jb_add(&j, ",\"cdf_us\":{");
    int first = 1;
    if (r->lat.n) {
      jb_add(&j, "\"latency\":");
      jb_cdf(&j, &r->lat);
      first = 0;
    }
    if (r->rtt.n) {
      jb_add(&j, "%s\"%s\":", first ? "" : ",",
             o->scenario == WB_SC_FANOUT ? "publish_deliver" : "rtt");
      jb_cdf(&j, &r->rtt);
    }
    jb_add(&j, "}}");
  }
  wb_kv med0[WB_MAX_KV], med1[WB_MAX_KV];
  int n0 = medians(rs, nr, 0, med0);
  int n1 = peer ? medians(rs, nr, 1, med1) : 0;
  int peer_unsupported = 0;
  for (int i = 0; i < nr; i++) {
    peer_unsupported |= rs[i].target == 1 && rs[i].unsupported;
  }
  jb_add(&j, "],\"medians\":{\"wtcast\":");
  jb_kvs(&j, med0, n0);
  if (peer) {
    jb_add(&j, ",\"peer\":");
    jb_kvs(&j, med1, n1);
  }
  jb_add(&j, "}");
  if (peer) {
    jb_add(&j, ",\"peer\":{\"url\":");
    jb_str(&j, peer->url);
    jb_add(&j, ",\"status\":\"%s\"}", peer_unsupported ? "unsupported" : "ok");
    jb_add(&j, ",\"ratios\":{");
    int first = 1;
    for (int a = 0; a < n0 && !peer_unsupported; a++) {
      for (int b = 0; b < n1; b++) {
        if (strcmp(med0[a].k, med1[b].k) == 0 && med1[b].v != 0 &&
            strcmp(med0[a].k, "threads") != 0 && strcmp(med0[a].k, "duration_s") != 0) {
          jb_add(&j, "%s\"%s\":", first ? "" : ",", med0[a].k);
          jb_num(&j, med0[a].v / med1[b].v);
          first = 0;
        }
      }
    }
    jb_add(&j, "}");
  }
  jb_add(&j, ",\"exit_status\":%d}\n", status);
  if (j.oom) {
    fprintf(stderr, "wtcast-bench: out of memory writing the JSON report\n");
  } else {
    fwrite(j.p, 1, j.n, stdout);
  }
  free(j.p);
}

static void print_text(const wb_opts *o, const wb_target *peer, wb_result *rs, int nr) {
  printf("wtcast-bench %s %s (threads %u, runs %u, warmup %gs, duration %gs)\n",
         wb_scenario_names[o->scenario], o->main.url, o->threads, o->runs, o->warmup, o->duration);
  for (int i = 0; i < nr; i++) {
    wb_result *r = &rs[i];
    printf("run %d %-6s %-11s", r->index, r->target ? "peer" : "wtcast",
           r->unsupported ? "unsupported"
           : r->failed    ? "FAILED"
                          : "ok");
    for (int k = 0; k < r->n; k++) {
      printf(" %s=%.6g", r->kv[k].k, r->kv[k].v);
    }
    printf("\n");
    if (r->first_error[0]) {
      printf("      first error: %s\n", r->first_error);
    }
  }
  wb_kv med0[WB_MAX_KV], med1[WB_MAX_KV];
  int n0 = medians(rs, nr, 0, med0);
  int n1 = peer ? medians(rs, nr, 1, med1) : 0;
  printf("median wtcast:");
  for (int k = 0; k < n0; k++) {
    printf(" %s=%.6g", med0[k].k, med0[k].v);
  }
  printf("\n");
  if (peer) {
    printf("median peer:  ");
    for (int k = 0; k < n1; k++) {
      printf(" %s=%.6g", med1[k].k, med1[k].v);
    }
    printf("\nratio wtcast/peer:");
    for (int a = 0; a < n0; a++) {
      for (int b = 0; b < n1; b++) {
        if (strcmp(med0[a].k, med1[b].k) == 0 && med1[b].v != 0) {
          printf(" %s=%.3g", med0[a].k, med0[a].v / med1[b].v);
        }
      }
    }
    printf("\n");
  }
}

/* ------------------------------------------------------------------ --compare */

static int free_udp_port(void) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int port = -1;
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

/* The pin of the certificate file (client/wt_certgen.h). */
static int cert_hash(const char *cert, uint8_t pin[32]) {
  char err[PATH_MAX + 64];
  return wt_certgen_pem_sha256(cert, pin, NULL, err, sizeof(err)) == 0 ? 0 : -1;
}

static int subst(char *out, size_t cap, const char *tmpl, const char *port, const char *cert,
                 const char *key) {
  size_t n = 0;
  for (const char *s = tmpl; *s;) {
    const char *v = NULL;
    size_t skip = 1;
    if (strncmp(s, "{port}", 6) == 0) {
      v = port, skip = 6;
    } else if (strncmp(s, "{cert}", 6) == 0) {
      v = cert, skip = 6;
    } else if (strncmp(s, "{key}", 5) == 0) {
      v = key, skip = 5;
    }
    size_t add = v ? strlen(v) : 1;
    if (n + add + 1 >= cap) {
      return -1;
    }
    memcpy(out + n, v ? v : s, add);
    n += add;
    s += skip;
  }
  out[n] = '\0';
  return 0;
}

/* Start the --compare server; fill peer. Returns 0 or -1 (message printed). */
static int peer_start(const wb_opts *o, wb_target *peer, char *tmpdir, size_t tcap, char *logpath,
                      size_t lcap) {
  memset(peer, 0, sizeof(*peer));
  snprintf(tmpdir, tcap, "%s/wtcast-bench.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(tmpdir)) {
    fprintf(stderr, "wtcast-bench: mkdtemp: %s\n", strerror(errno));
    return -1;
  }
  char cert[PATH_MAX + 32], key[PATH_MAX + 32];
  if (o->cert_file && o->key_file) {
    snprintf(cert, sizeof(cert), "%s", o->cert_file);
    snprintf(key, sizeof(key), "%s", o->key_file);
  } else {
    snprintf(cert, sizeof(cert), "%s/cert.pem", tmpdir);
    snprintf(key, sizeof(key), "%s/key.pem", tmpdir);
    if (wt_certgen_files(cert, key, "localhost", 10, peer->trust.pin) != 0) {
      fprintf(stderr, "wtcast-bench: cannot create a certificate in %s\n", tmpdir);
      return -1;
    }
  }
  if (o->cert_file && o->key_file && cert_hash(cert, peer->trust.pin) < 0) {
    fprintf(stderr, "wtcast-bench: cannot get the SHA-256 of %s\n", cert);
    return -1;
  }
  peer->trust.have_pin = 1;
  int port = free_udp_port();
  if (port <= 0) {
    fprintf(stderr, "wtcast-bench: no free UDP port\n");
    return -1;
  }
  char ps[16], cmd[8192], url[64];
  snprintf(ps, sizeof(ps), "%d", port);
  if (subst(cmd, sizeof(cmd), o->compare, ps, cert, key) < 0) {
    fprintf(stderr, "wtcast-bench: --compare command too long\n");
    return -1;
  }
  snprintf(url, sizeof(url), "https://127.0.0.1:%d", port);
  parse_url(peer, url);
  snprintf(logpath, lcap, "%s/peer.log", tmpdir);
  char full[8300];
  snprintf(full, sizeof(full), "exec %s", cmd);
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "wtcast-bench: fork: %s\n", strerror(errno));
    return -1;
  }
  if (pid == 0) {
    /* the peer goes with us even if we die without peer_stop (a crash, SIGKILL) */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1) {
      _exit(127);
    }
    FILE *lf = freopen(logpath, "w", stdout);
    if (lf) {
      dup2(STDOUT_FILENO, STDERR_FILENO);
    }
    execl("/bin/sh", "sh", "-c", full, (char *)NULL);
    _exit(127);
  }
  wb_peer_pid = pid;
  peer->server_pid = pid;
  /* wait until it answers: one handshake (CONNECT /echo + echo) */
  wb_opts po = *o;
  po.scenario = WB_SC_HANDSHAKE;
  po.concurrency = 1;
  po.count = 1;
  po.threads = 1;
  po.warmup = 0;
  po.duration = 1;
  uint64_t t0 = wb_now();
  for (;;) {
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      wb_peer_pid = 0;
      fprintf(stderr, "wtcast-bench: the --compare server exited (status %d); its log %s:\n",
              WIFEXITED(st) ? WEXITSTATUS(st) : -1, logpath);
      char tail[PATH_MAX + 128];
      snprintf(tail, sizeof(tail), "tail -n 20 '%s' >&2", logpath);
      if (system(tail) != 0) {
        /* nothing more to show */
      }
      return -1;
    }
    wb_target probe = *peer;
    probe.server_pid = 0;
    wb_result r;
    run_one(&po, &probe, 1, 0, &r, 1);
    const wb_kv *c = kv_get(&r, "completed");
    int ok = c && c->v >= 1;
    /* a server that answers with a TLS alert (CRYPTO_ERROR 0x1XX) is up but
     * cannot talk to our client: waiting longer does not help */
    const char *tls = strstr(r.first_error, "transport error 0x1");
    if (!ok && tls && strlen(tls) == strlen("transport error 0x1xx)")) {
      fprintf(stderr,
              "wtcast-bench: TLS handshake with the --compare server failed: %s (alert %ld, RFC "
              "8446 section 6); its log: %s\n",
              r.first_error, strtol(tls + 18, NULL, 16) - 0x100, logpath);
      wt_samples_free(&r.lat);
      wt_samples_free(&r.rtt);
      return -1;
    }
    wt_samples_free(&r.lat);
    wt_samples_free(&r.rtt);
    if (ok) {
      fprintf(stderr, "wtcast-bench: peer pid %ld answers on %s after %.1f s\n", (long)pid, url,
              (double)(wb_now() - t0) / 1e9);
      return 0;
    }
    if (wb_stop || wb_now() - t0 > 60 * WB_S) {
      fprintf(stderr, "wtcast-bench: the --compare server did not answer within 60 s (log %s)\n",
              logpath);
      return -1;
    }
    sleep_ns(200 * WB_MS);
  }
}

static void peer_stop(void) {
  if (wb_peer_pid <= 0) {
    return;
  }
  kill(wb_peer_pid, SIGTERM);
  for (int i = 0; i < 100; i++) {
    if (waitpid(wb_peer_pid, NULL, WNOHANG) == wb_peer_pid) {
      wb_peer_pid = 0;
      return;
    }
    sleep_ns(20 * WB_MS);
  }
  kill(wb_peer_pid, SIGKILL);
  waitpid(wb_peer_pid, NULL, 0);
  wb_peer_pid = 0;
}

/* ------------------------------------------------------------------ main */

enum {
  OPT_SCENARIO = 256,
  OPT_URL,
  OPT_CERT_HASH,
  OPT_CA,
  OPT_SESSIONS,
  OPT_CONCURRENCY,
  OPT_COUNT,
  OPT_SIZE,
  OPT_RATE,
  OPT_DURATION,
  OPT_SUBS,
  OPT_TRANSPORT,
  OPT_RUNS,
  OPT_WARMUP,
  OPT_SERVER_PID,
  OPT_JSON,
  OPT_THREADS,
  OPT_MODE,
  OPT_STREAMS,
  OPT_WINDOW,
  OPT_COMPARE,
  OPT_CERT_FILE,
  OPT_KEY_FILE,
  OPT_LOG,
  OPT_HELP,
};

/* --scenario fanout --verify: the arguments without those, for fo_main;
 * --scenario moq-fanout is --scenario fanout --verify --moq (1 publisher ->
 * K subscribers over moq-lite through the moq relay).
 * Returns 1 when argv asks for it (and fills out), 0 when it does not, -1
 * for --verify with another scenario. */
static int fanout_verify_args(int argc, char **argv, char **out, int *outc) {
  static char moq[] = "--moq";
  int verify = 0, fanout = 0, n = 0;
  for (int i = 0; i < argc; i++) {
    if (i > 0 && strcmp(argv[i], "--verify") == 0) {
      verify = 1;
    } else if (i > 0 && strcmp(argv[i], "--scenario") == 0 && i + 1 < argc &&
               strcmp(argv[i + 1], "moq-fanout") == 0) {
      fanout = verify = 1;
      out[n++] = moq;
      i++;
    } else if (i > 0 && strcmp(argv[i], "--scenario") == 0 && i + 1 < argc &&
               strcmp(argv[i + 1], "fanout") == 0) {
      fanout = 1;
      i++;
    } else if (i > 0 && strcmp(argv[i], "--scenario=fanout") == 0) {
      fanout = 1;
    } else {
      out[n++] = argv[i];
    }
  }
  out[n] = NULL;
  *outc = n;
  return !verify ? 0 : fanout ? 1 : -1;
}

int main(int argc, char **argv) {
  {
    char **fargv = calloc((size_t)argc + 1, sizeof(*fargv));
    int fargc = 0, v = fargv ? fanout_verify_args(argc, argv, fargv, &fargc) : 0;
    if (v < 0) {
      fprintf(stderr, "wtcast-bench: --verify goes with --scenario fanout\n");
      free(fargv);
      return 2;
    }
    if (v > 0) {
      int rc = fo_main(fargc, fargv);
      free(fargv);
      return rc;
    }
    free(fargv);
  }
  static const struct option lo[] = {
      {"scenario", required_argument, NULL, OPT_SCENARIO},
      {"url", required_argument, NULL, OPT_URL},
      {"cert-hash", required_argument, NULL, OPT_CERT_HASH},
      {"ca", required_argument, NULL, OPT_CA},
      {"sessions", required_argument, NULL, OPT_SESSIONS},
      {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
      {"count", required_argument, NULL, OPT_COUNT},
      {"size", required_argument, NULL, OPT_SIZE},
      {"rate", required_argument, NULL, OPT_RATE},
      {"duration", required_argument, NULL, OPT_DURATION},
      {"subs", required_argument, NULL, OPT_SUBS},
      {"transport", required_argument, NULL, OPT_TRANSPORT},
      {"runs", required_argument, NULL, OPT_RUNS},
      {"warmup", required_argument, NULL, OPT_WARMUP},
      {"server-pid", required_argument, NULL, OPT_SERVER_PID},
      {"json", no_argument, NULL, OPT_JSON},
      {"threads", required_argument, NULL, OPT_THREADS},
      {"mode", required_argument, NULL, OPT_MODE},
      {"streams", required_argument, NULL, OPT_STREAMS},
      {"window", required_argument, NULL, OPT_WINDOW},
      {"compare", required_argument, NULL, OPT_COMPARE},
      {"cert-file", required_argument, NULL, OPT_CERT_FILE},
      {"key-file", required_argument, NULL, OPT_KEY_FILE},
      {"log-level", required_argument, NULL, OPT_LOG},
      {"help", no_argument, NULL, OPT_HELP},
      {NULL, 0, NULL, 0},
  };
  wb_opts o;
  memset(&o, 0, sizeof(o));
  o.scenario = -1;
  o.streams = 1;
  o.subs = 10;
  o.runs = 3;
  o.window = 64;
  o.duration = 5;
  o.warmup = 1;
  o.size = 1000;
  o.log_level = WT_LOG_LEVEL_ERROR;
  long nproc = sysconf(_SC_NPROCESSORS_ONLN);
  o.threads = nproc > 0 ? (uint32_t)(nproc < WB_MAX_THREADS ? nproc : WB_MAX_THREADS) : 1;
  const char *url = NULL;
  int c;
  uint64_t v;
  const char *bad = NULL;
  while (!bad && (c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
    switch (c) {
    case OPT_SCENARIO:
      for (int i = 0; i < WB_SC_N; i++) {
        if (strcmp(optarg, wb_scenario_names[i]) == 0) {
          o.scenario = i;
        }
      }
      bad = o.scenario < 0 ? "--scenario wants handshake|bulk|datagram|fanout|idle|mixed" : NULL;
      break;
    case OPT_URL:
      url = optarg;
      bad = parse_url(&o.main, optarg) < 0 ? "--url wants https://IP-or-localhost:PORT[/prefix]"
                                           : NULL;
      break;
    case OPT_CERT_HASH:
      bad = wt_trust_pin(&o.main.trust, optarg) < 0 ? "--cert-hash wants 64 hex digits" : NULL;
      break;
    case OPT_CA:
      wt_trust_ca(&o.main.trust, optarg);
      break;
#define NUM(OPT, expr, max, min, what)                                                             \
  case OPT:                                                                                        \
    if (parse_u64(optarg, (max), &v) < 0 || v + 1 < (uint64_t)(min) + 1) {                         \
      bad = what;                                                                                  \
    } else {                                                                                       \
      expr;                                                                                        \
    }                                                                                              \
    break;
      NUM(OPT_SESSIONS, (o.sessions = (uint32_t)v, o.have_sessions = 1), WB_MAX_SESS, 1,
          "--sessions wants 1..200000")
      NUM(OPT_CONCURRENCY, (o.concurrency = (uint32_t)v, o.have_concurrency = 1), 100000, 1,
          "--concurrency wants 1..100000")
      NUM(OPT_COUNT, o.count = v, UINT64_C(1000000000), 1, "--count wants 1..1e9")
      NUM(OPT_SIZE, (o.size = v, o.have_size = 1), WB_UNBOUNDED, 1, "--size wants bytes >= 1")
      NUM(OPT_RATE, (o.rate = v, o.have_rate = 1), UINT64_C(100000000), 0,
          "--rate wants a number per second")
      NUM(OPT_SUBS, o.subs = (uint32_t)v, 100000, 1, "--subs wants 1..100000")
      NUM(OPT_RUNS, o.runs = (uint32_t)v, 1000, 1, "--runs wants 1..1000")
      NUM(OPT_SERVER_PID, o.main.server_pid = (long)v, 4194304, 1, "--server-pid wants a pid")
      NUM(OPT_THREADS, o.threads = (uint32_t)v, WB_MAX_THREADS, 1, "--threads wants 1..64")
      NUM(OPT_STREAMS, o.streams = (uint32_t)v, 1000, 1, "--streams wants 1..1000")
      NUM(OPT_WINDOW, o.window = (uint32_t)v, 100000, 1, "--window wants 1..100000")
#undef NUM
    case OPT_DURATION:
      bad = parse_secs(optarg, &o.duration) < 0 || o.duration <= 0 ? "--duration wants seconds > 0"
                                                                   : NULL;
      break;
    case OPT_WARMUP:
      bad = parse_secs(optarg, &o.warmup) < 0 ? "--warmup wants seconds >= 0" : NULL;
      break;
    case OPT_TRANSPORT:
      o.transport = strcmp(optarg, "datagram") == 0 ? WB_TX_DATAGRAM
                    : strcmp(optarg, "stream") == 0 ? WB_TX_STREAM
                                                    : -1;
      bad = o.transport < 0 ? "--transport wants datagram|stream" : NULL;
      break;
    case OPT_MODE:
      o.mode = strcmp(optarg, "download") == 0 ? WB_MODE_DOWNLOAD
               : strcmp(optarg, "upload") == 0 ? WB_MODE_UPLOAD
               : strcmp(optarg, "echo") == 0   ? WB_MODE_ECHO
                                               : -1;
      bad = o.mode < 0 ? "--mode wants download|upload|echo" : NULL;
      break;
    case OPT_JSON:
      o.json = 1;
      break;
    case OPT_COMPARE:
      o.compare = optarg;
      break;
    case OPT_CERT_FILE:
      o.cert_file = optarg;
      break;
    case OPT_KEY_FILE:
      o.key_file = optarg;
      break;
    case OPT_LOG:
      o.log_level = wt_log_level_parse(optarg);
      bad = o.log_level < 0 ? "--log-level wants error|warn|info|debug|trace" : NULL;
      break;
    case OPT_HELP:
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return 2;
    }
  }
  if (!bad && optind < argc) {
    bad = "unexpected argument";
  }
  if (!bad && (o.scenario < 0 || !url)) {
    bad = "--scenario and --url are required";
  }
  if (!bad &&
      (o.scenario == WB_SC_DATAGRAM || o.scenario == WB_SC_FANOUT || o.scenario == WB_SC_MIXED) &&
      (o.size < WB_MSG_HDR || o.size > 65535)) {
    bad = "--size for datagram/fanout/mixed wants 17..65535 bytes";
  }
  if (!bad && (!o.cert_file) != (!o.key_file)) {
    bad = "--cert-file and --key-file go together";
  }
  if (bad) {
    fprintf(stderr, "wtcast-bench: %s (--help for usage)\n", bad);
    return 2;
  }
  /* scenario defaults */
  if (!o.have_sessions) {
    o.sessions = o.scenario == WB_SC_IDLE ? 100 : o.scenario == WB_SC_MIXED ? 2 : 1;
  }
  if (!o.have_concurrency) {
    o.concurrency = o.scenario == WB_SC_HANDSHAKE ? 16 : o.scenario == WB_SC_MIXED ? 4 : 64;
  }
  if (!o.have_rate && o.scenario == WB_SC_FANOUT) {
    o.rate = 1000;
  }
  if (o.scenario == WB_SC_BULK && !o.have_size) {
    o.size = WB_UNBOUNDED;
  }
  wt_log_set_level(o.log_level);
  wb_pattern_init();
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  wb_target peer;
  char tmpdir[PATH_MAX], logpath[PATH_MAX + 16];
  tmpdir[0] = '\0';
  int have_peer = 0;
  if (o.compare) {
    if (peer_start(&o, &peer, tmpdir, sizeof(tmpdir), logpath, sizeof(logpath)) < 0) {
      peer_stop();
      if (tmpdir[0] && !o.cert_file) {
        char f[PATH_MAX + 16];
        snprintf(f, sizeof(f), "%s/key.pem", tmpdir);
        unlink(f);
      }
      return 1;
    }
    have_peer = 1;
  }
  int nr_max = (int)o.runs * (have_peer ? 2 : 1);
  wb_result *rs = calloc((size_t)nr_max, sizeof(*rs));
  if (!rs) {
    peer_stop();
    fprintf(stderr, "wtcast-bench: out of memory\n");
    return 1;
  }
  int nr = 0, status = 0;
  for (uint32_t i = 0; i < o.runs && !wb_stop; i++) {
    run_one(&o, &o.main, 0, (int)i, &rs[nr], 0);
    status |= rs[nr].failed;
    nr++;
    if (have_peer && !wb_stop) {
      if (peer.server_pid && kill((pid_t)peer.server_pid, 0) != 0) {
        fprintf(stderr, "wtcast-bench: the --compare server is gone\n");
        status = 1;
        break;
      }
      run_one(&o, &peer, 1, (int)i, &rs[nr], 0);
      status |= rs[nr].failed && !rs[nr].unsupported;
      nr++;
    }
  }
  if (wb_stop) {
    status = 1;
  }
  peer_stop();
  if (have_peer && status) {
    fprintf(stderr, "wtcast-bench: peer log: %s\n", logpath);
  }
  if (tmpdir[0]) { /* the generated certificate never outlives us; the log only on failure */
    char f[PATH_MAX + 16];
    snprintf(f, sizeof(f), "%s/key.pem", tmpdir);
    unlink(f);
    snprintf(f, sizeof(f), "%s/cert.pem", tmpdir);
    unlink(f);
    if (!status) {
      unlink(logpath);
      rmdir(tmpdir);
    }
  }
  if (o.json) {
    print_json(&o, have_peer ? &peer : NULL, rs, nr, status, o.compare);
  } else {
    print_text(&o, have_peer ? &peer : NULL, rs, nr);
  }
  for (int i = 0; i < nr; i++) {
    wt_samples_free(&rs[i].lat);
    wt_samples_free(&rs[i].rtt);
  }
  free(rs);
  return status ? 1 : 0;
}
