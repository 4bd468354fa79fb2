/* wt_shard.c: the single-shard event loop (see wt_shard.h). */
#define _GNU_SOURCE   /* memmem */
#define WT_LOG_MODULE "shard"
#include "wt_shard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "wt_bridge.h"
#include "wt_engine.h"
#include "wt_keylog.h"
#include "wt_error.h"
#include "wt_log.h"
#include "wt_modules.h"
#include "wt_pump.h"
#include "wt_spsc.h"
#include "wt_app_worker.h"
#include "wt_cid.h"
#include "wt_steer.h"

/* The engine's and the datapath's addresses are the same bytes: packets and
 * paths cross between them by pointer. */
_Static_assert(sizeof(wt_addr) == sizeof(wt_io_addr), "wt_addr and wt_io_addr differ");
_Static_assert(offsetof(wt_addr, len) == offsetof(wt_io_addr, len), "wt_addr layout");

#define SHARD_MS                1000000ull
#define SHARD_DRAIN_DEFAULT     (5000 * SHARD_MS)
#define SHARD_INLINE_ROUNDS     4            /* inline worker turns per shard turn */
#define SHARD_SPIN_BACKOFF_MAX  4            /* spins that run out shorten the next, to 1/16 */
#define SHARD_SPIN_DEFAULT      0            /* ns; wt_shard_config.spin_ns: off (see wt_shard.h) */
#define SHARD_RX_SLICE_DEFAULT  (250 * 1000) /* ns; wt_shard_config.rx_slice_ns */
#define SHARD_FINAL_FLUSH_NS    (250 * SHARD_MS) /* last CONNECTION_CLOSEs after close_all */
#define SHARD_RX_FAIL_MAX       100              /* consecutive failed receives: give up */
#define SHARD_CMD_RING          16               /* controller commands in flight */
#define SHARD_DGRAM_MAX_AGE_NS  (250 * SHARD_MS) /* wt_engine_config.max_datagram_age_ns */
#define SHARD_FWD_POLL_MAX      (WT_SHARD_RX_BATCH * WT_SHARD_RX_ROUNDS) /* per turn */
#define SHARD_CMD_POLL_MAX      4096            /* worker commands per turn */
#define SHARD_OVERFLOW_RETRY_NS (200 * 1000ull) /* event overflow: next look */
#define SHARD_QLOG_MAX_OPEN     256             /* default qlog_max_open */
#define SHARD_QLOG_FILE_BYTES   (64ull << 20)   /* default qlog_max_file_bytes */
#define SHARD_QLOG_TOTAL_BYTES  (1ull << 30)    /* default qlog_max_bytes */
#define SHARD_QLOG_FILES        1000            /* default qlog_max_files */

enum { SHARD_RUNNING, SHARD_DRAINING, SHARD_CLOSING, SHARD_DONE };

struct wt_shard {
  wt_shard_config cfg;
  wt_io *io;
  wt_engine *eng;
  FILE *keylog;          /* the engine's TLS key log (wt_shard_config.keylog_file), or NULL */
  wt_app_router *router; /* lookups only: the apps run on the workers */
  wt_modules mods;       /* their routes on router */
  wt_bridge *bridge;
  int detached;
  int state;
  unsigned stop_req, stop_done; /* wt_shard_stop calls, and those acted on */
  uint64_t start_ns, drain_deadline;
  int more_rx, more_tx;     /* work left by the bound: next wait does not sleep */
  int more_cmd;             /* worker commands left by the bound */
  int ev_overflow;          /* events wait in the links' overflow: retry soon */
  uint64_t ev_posted;       /* events posted to the workers so far (spin after new ones) */
  unsigned spin_backoff;    /* the next spin lasts spin_ns >> this */
  struct wt_app_worker *wk; /* inline apps: this thread's worker, else NULL */
  int wk_overflow;          /* its commands wait for room in a ring */
  unsigned rx_fail;
  size_t max_payload;
  /* tx: one batch, allocated once (client/wt_pump.h, the tx path of every
   * engine loop); entries not yet sent stay pending in it */
  wt_pump_tx tx;
  wt_io_pkt rx[WT_SHARD_RX_BATCH];
  unsigned rx_pos, rx_n; /* rx[rx_pos, rx_n): received, not yet handled (a cut slice); valid
                            until the next wt_io_recv */
  wt_snapshot_loop loop;
  /* several shards: forwarding and the controller */
  wt_fwd_port port;
  int has_port;
  uint8_t cid_mask;         /* the DCID byte's shard bits (wt_cid.h): 0x1f with QUIC-LB */
  int fwd_more;             /* the forwarding poll stopped at its bound: poll next turn */
  uint64_t now;             /* the turn's time, for forwarded datagrams */
  int wakefd;               /* controlled: cfg.waker->efd (commands, forwarded datagrams) */
  wt_spsc *cmds;            /* controlled: controller -> shard commands */
  _Atomic uint64_t pub_seq; /* the snapshot request pub answers */
  wt_snapshot pub;
  _Atomic int reload_rv;       /* result of the last reload ... */
  _Atomic uint64_t reload_seq; /* ... and the request it answers */
  /* qlog traces being written (cfg.qlog_dir) */
  struct shard_qlog {
    char name[2 * 20 + 1];
    FILE *f;        /* NULL once a budget stopped it (the entry stays until fin) */
    uint64_t bytes; /* written into f */
  } * qlogs;
  size_t n_qlogs; /* skipped and cut traces are counted in loop (qlog_skipped, qlog_cut) */
};

/* The qlog budgets are per process: every shard's traces together. */
static _Atomic uint64_t g_qlog_bytes, g_qlog_files, g_qlog_seq;
static _Atomic long long g_qlog_start; /* Unix time of the first trace: part of every name */

uint64_t wt_shard_clock_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void wt_shard_config_default(wt_shard_config *c) {
  memset(c, 0, sizeof(*c));
  c->drain_timeout_ns = SHARD_DRAIN_DEFAULT;
  c->spin_ns = SHARD_SPIN_DEFAULT;
  c->rx_slice_ns = SHARD_RX_SLICE_DEFAULT;
  c->n_shards = 1;
  c->notify_fd = -1;
  c->qlog_max_file_bytes = SHARD_QLOG_FILE_BYTES;
  c->qlog_max_bytes = SHARD_QLOG_TOTAL_BYTES;
  c->qlog_max_files = SHARD_QLOG_FILES;
  wt_engine_config_default(&c->engine, 1);
  /* A datagram that waited 250 ms in a connection's queue (a saturated
   * shard, a slow subscriber) is dropped rather than sent late; the turn's
   * time is given to the engine before the commands that queue them. */
  c->engine.max_datagram_age_ns = SHARD_DGRAM_MAX_AGE_NS;
}

/* ------------------------------------------------------------------ setup */

/* The local address of the path of an outgoing session's connection to
 * remote (wt_bridge_config.local_for): the socket's bound address, or on
 * a wildcard-bound socket the routed source address with the bound port
 * (what PKTINFO reports for the replies). An IPv4 remote on an IPv6
 * (dual-stack) socket becomes IPv4-mapped, as received packets show it. */
static int shard_local_for(void *arg, wt_addr *remote, wt_addr *local) {
  wt_shard *sh = arg;
  const wt_io_addr *bound = wt_io_local(sh->io);
  wt_io_addr r;
  memcpy(&r.ss, &remote->ss, sizeof(r.ss));
  r.len = remote->len;
  if (bound->ss.ss_family == AF_INET6 && r.ss.ss_family == AF_INET) {
    struct sockaddr_in v4 = *(const struct sockaddr_in *)&remote->ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&r.ss;
    memset(&r.ss, 0, sizeof(r.ss));
    v6->sin6_family = AF_INET6;
    v6->sin6_port = v4.sin_port;
    v6->sin6_addr.s6_addr[10] = v6->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&v6->sin6_addr.s6_addr[12], &v4.sin_addr, 4);
    r.len = sizeof(*v6);
  }
  if (bound->ss.ss_family != r.ss.ss_family) {
    return WT_ERR_INVAL;
  }
  wt_io_addr src = *bound;
  int wildcard =
      bound->ss.ss_family == AF_INET
          ? ((const struct sockaddr_in *)&bound->ss)->sin_addr.s_addr == htonl(INADDR_ANY)
          : IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&bound->ss)->sin6_addr);
  if (wildcard) {
    if (wt_io_route_source(&r, &src) < 0) {
      return WT_ERR_IO;
    }
    if (src.ss.ss_family == AF_INET) {
      ((struct sockaddr_in *)&src.ss)->sin_port =
          ((const struct sockaddr_in *)&bound->ss)->sin_port;
    } else {
      ((struct sockaddr_in6 *)&src.ss)->sin6_port =
          ((const struct sockaddr_in6 *)&bound->ss)->sin6_port;
    }
  }
  memcpy(&local->ss, &src.ss, sizeof(local->ss));
  local->len = src.len;
  memcpy(&remote->ss, &r.ss, sizeof(remote->ss));
  remote->len = r.len;
  return 0;
}

static int shard_open_io(wt_shard *sh) {
  wt_io_config ioc;
  wt_io_config_default(&ioc);
  ioc.bind_addr = sh->cfg.listen;
  ioc.backend = sh->cfg.io_backend;
  ioc.reuseport = sh->cfg.reuseport;
  ioc.tx_defer = 1; /* the loop always waits on its wt_io: small sends go with that enter */
  int rv = wt_io_open(&sh->io, &ioc);
  if (rv < 0) {
    WT_LOG_ERROR("cannot listen on %s: %s", sh->cfg.listen, wt_err_str(rv));
  }
  return rv;
}

/* A trace's first record (ngtcp2's qlog header: "qlog_format" near its
 * start); a trace is skipped or opened there only, so a skipped one is
 * counted once and never opens a file halfway through. */
static int qlog_is_header(const void *data, size_t len) {
  static const char key[] = "\"qlog_format\"";
  size_t n = len < 256 ? len : 256;
  return data && memmem(data, n, key, sizeof(key) - 1) != NULL;
}

/* Take one trace out of the process's file budget: its sequence number,
 * or -1 when the budget is spent. */
static long long qlog_take_file(const wt_shard *sh) {
  uint64_t max = sh->cfg.qlog_max_files ? sh->cfg.qlog_max_files : SHARD_QLOG_FILES;
  if (atomic_fetch_add(&g_qlog_files, 1) >= max) {
    atomic_fetch_sub(&g_qlog_files, 1);
    return -1;
  }
  return (long long)atomic_fetch_add(&g_qlog_seq, 1);
}

/* Take len bytes out of the trace's and the process's byte budgets: 0, or
 * -1 (nothing taken) when either would be exceeded. */
static int qlog_take_bytes(const wt_shard *sh, const struct shard_qlog *q, size_t len) {
  uint64_t per = sh->cfg.qlog_max_file_bytes ? sh->cfg.qlog_max_file_bytes : SHARD_QLOG_FILE_BYTES;
  uint64_t all = sh->cfg.qlog_max_bytes ? sh->cfg.qlog_max_bytes : SHARD_QLOG_TOTAL_BYTES;
  if (len > per - (q->bytes < per ? q->bytes : per)) {
    return -1;
  }
  if (atomic_fetch_add(&g_qlog_bytes, len) + len > all) {
    atomic_fetch_sub(&g_qlog_bytes, len);
    return -1;
  }
  return 0;
}

/* Open a new trace file for connection name (a server-chosen file name);
 * 0 with *f set, or -1 (skipped, counted and logged). */
static int qlog_open(wt_shard *sh, const char *name, FILE **f) {
  long long seq = qlog_take_file(sh);
  if (seq < 0) {
    sh->loop.qlog_skipped++;
    WT_LOG_WARN_RL(1,
                   "qlog: the process wrote its %u traces (--qlog-max-files): conn=%s not "
                   "traced (%llu skipped here)",
                   sh->cfg.qlog_max_files ? sh->cfg.qlog_max_files : SHARD_QLOG_FILES, name,
                   (unsigned long long)sh->loop.qlog_skipped);
    return -1;
  }
  long long start = atomic_load(&g_qlog_start);
  if (!start) {
    long long now = (long long)time(NULL);
    atomic_compare_exchange_strong(&g_qlog_start, &start, now);
    start = atomic_load(&g_qlog_start);
  }
  char path[4096];
  snprintf(path, sizeof(path), "%s/%lld-%ld-%06lld.sqlog", sh->cfg.qlog_dir, start, (long)getpid(),
           seq);
  /* a new file only (never an existing one, never through a symbolic
   * link), readable by us alone */
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!*f) {
    sh->loop.qlog_skipped++;
    WT_LOG_WARN_RL(1, "qlog: cannot create %s: %s", path, strerror(errno));
    if (fd >= 0) {
      close(fd);
    }
    atomic_fetch_sub(&g_qlog_files, 1);
    return -1;
  }
  WT_LOG_DEBUG("conn=%s qlog: tracing into %s", name, path);
  return 0;
}

/* The engine's qlog bytes (a connection's trace from its completed
 * handshake on, wt_engine.h): one file per connection, closed at fin,
 * within the budgets (wt_shard.h). */
static void shard_qlog_write(void *user, const char *name, const void *data, size_t len, int fin) {
  wt_shard *sh = user;
  size_t i = 0;
  int taken = 0; /* len is already out of the budgets */
  while (i < sh->n_qlogs && strcmp(sh->qlogs[i].name, name)) {
    i++;
  }
  if (i == sh->n_qlogs) {
    uint32_t max = sh->cfg.qlog_max_open ? sh->cfg.qlog_max_open : SHARD_QLOG_MAX_OPEN;
    if (len == 0 && fin) {
      return; /* nothing was ever written */
    }
    if (!qlog_is_header(data, len)) {
      return; /* the rest of a trace whose start was skipped (counted then) */
    }
    if (sh->n_qlogs >= max || !sh->qlogs) {
      sh->loop.qlog_skipped++;
      WT_LOG_WARN_RL(1, "qlog: %u traces open already: %s not traced (%llu skipped)", max, name,
                     (unsigned long long)sh->loop.qlog_skipped);
      return;
    }
    /* no file at all when the first record is already past a budget */
    struct shard_qlog fresh = {0};
    FILE *f;
    if (qlog_take_bytes(sh, &fresh, len) < 0) {
      sh->loop.qlog_skipped++;
      WT_LOG_WARN_RL(1, "qlog: the byte budget is spent (--qlog-max-bytes): conn=%s not traced",
                     name);
      return;
    }
    if (qlog_open(sh, name, &f) < 0) {
      atomic_fetch_sub(&g_qlog_bytes, len);
      return;
    }
    snprintf(sh->qlogs[i].name, sizeof(sh->qlogs[i].name), "%s", name);
    sh->qlogs[i].f = f;
    sh->qlogs[i].bytes = 0;
    sh->n_qlogs++;
    taken = 1;
  }
  struct shard_qlog *q = &sh->qlogs[i];
  if (len > 0 && q->f && !taken && qlog_take_bytes(sh, q, len) < 0) {
    /* a budget is spent: the trace ends at its last whole record */
    sh->loop.qlog_cut++;
    WT_LOG_WARN_RL(1,
                   "qlog: conn=%s trace stopped at %llu bytes (--qlog-max-file-bytes / "
                   "--qlog-max-bytes; %llu stopped here)",
                   name, (unsigned long long)q->bytes, (unsigned long long)sh->loop.qlog_cut);
    fclose(q->f);
    q->f = NULL;
  }
  if (len > 0 && q->f) {
    if (fwrite(data, 1, len, q->f) != len) {
      WT_LOG_WARN_RL(1, "qlog: write failed for %s", name);
    }
    q->bytes += len;
  }
  if (fin) {
    if (q->f) {
      fclose(q->f);
    }
    sh->qlogs[i] = sh->qlogs[--sh->n_qlogs];
  }
}

static int shard_open_engine(wt_shard *sh, uint64_t now) {
  const wt_shard_config *c = &sh->cfg;
  wt_engine_config ec = c->engine;
  ec.cert_file = c->cert_file;
  ec.key_file = c->key_file;
  ec.shard_id = c->shard_id;
  ec.n_shards = c->n_shards ? c->n_shards : 1;
  ec.static_secret = c->static_secret;
  if (c->keylog_file) {
    sh->keylog = wt_keylog_open(c->keylog_file);
    ec.keylog = sh->keylog ? wt_keylog_write : NULL;
    ec.keylog_user = sh->keylog;
  }
  ec.native_crypto = wt_engine_native_crypto_env(getenv("WTCAST_NATIVE_CRYPTO"));
  if (c->qlog_dir) {
    uint32_t max = c->qlog_max_open ? c->qlog_max_open : SHARD_QLOG_MAX_OPEN;
    sh->qlogs = calloc(max, sizeof(*sh->qlogs));
    if (!sh->qlogs) {
      return WT_ERR_NOMEM;
    }
    ec.qlog_write = shard_qlog_write;
    ec.qlog_user = sh;
  }
  sh->max_payload = ec.max_udp_payload ? ec.max_udp_payload : 1452;
  wt_engine_callbacks cb;
  wt_bridge_engine_callbacks(&cb);
  int rv = wt_engine_new(&sh->eng, &ec, &cb, sh->bridge, now);
  if (rv < 0) {
    WT_LOG_ERROR("cannot start the engine (certificate %s, key %s): %s", c->cert_file, c->key_file,
                 wt_err_str(rv));
    sh->eng = NULL;
  } else {
    wt_bridge_set_engine(sh->bridge, sh->eng);
  }
  return rv;
}

/* One GSO entry may hold at most WT_IO_GSO_MAX_SEGMENTS packets and
 * WT_IO_MAX_UDP_PAYLOAD bytes (io's limits); the buffer fits a full batch. */
static int shard_alloc_tx(wt_shard *sh) {
  size_t segs = WT_IO_MAX_UDP_PAYLOAD / sh->max_payload;
  if (segs > WT_IO_GSO_MAX_SEGMENTS) {
    segs = WT_IO_GSO_MAX_SEGMENTS;
  }
  if (segs == 0) {
    segs = 1;
  }
  int rv = wt_pump_tx_init(&sh->tx, WT_SHARD_TX_ENTRIES,
                           WT_SHARD_TX_ENTRIES * segs * sh->max_payload, sh->max_payload);
  sh->tx.min_room = sh->max_payload;
  sh->tx.max_writes = WT_SHARD_TX_WRITES; /* bounded work per turn */
  sh->tx.segments = (unsigned)segs;       /* wt_io_send splits trains when GSO is off */
  sh->tx.b.max_segments = segs;
  return rv;
}

/* Controlled shards: the wake-up eventfd and the command ring; the
 * forwarding port when there are several shards. */
static int shard_open_control(wt_shard *sh) {
  int rv;
  if (sh->cfg.fwd) {
    if ((rv = wt_fwd_port_init(&sh->port, sh->cfg.fwd, sh->cfg.shard_id)) < 0) {
      WT_LOG_ERROR("cannot set up forwarding: %s", wt_err_str(rv));
      return rv;
    }
    sh->has_port = 1;
    sh->cid_mask = sh->cfg.engine.qlb.enabled ? WT_QLB_LOW_MASK : WT_CID_SHARD_MASK;
  }
  if (!sh->cfg.controlled) {
    return 0;
  }
  sh->cmds = aligned_alloc(WT_SPSC_CACHELINE, sizeof(wt_spsc));
  if (!sh->cmds) {
    return WT_ERR_NOMEM;
  }
  memset(sh->cmds, 0, sizeof(*sh->cmds));
  if ((rv = wt_spsc_init(sh->cmds, SHARD_CMD_RING)) < 0) {
    return rv;
  }
  sh->wakefd = sh->cfg.waker->efd;
  if ((rv = wt_io_watch_fd(sh->io, sh->wakefd)) < 0) {
    WT_LOG_ERROR("cannot watch the wake-up eventfd: %s", wt_err_str(rv));
    sh->wakefd = -1;
  }
  return rv;
}

static int shard_setup(wt_shard *sh) {
  uint64_t now = wt_shard_clock_ns();
  sh->start_ns = now;
  int rv = shard_open_io(sh);
  if (rv < 0) {
    return rv;
  }
  if ((rv = wt_app_router_new(&sh->router)) < 0 ||
      (rv = wt_modules_init(&sh->mods, sh->cfg.modules, sh->cfg.n_modules, sh->router, 0,
                            sh->cfg.shard_id)) < 0) {
    WT_LOG_ERROR("cannot set up the applications: %s", wt_err_str(rv));
    return rv;
  }
  wt_bridge_config bc = {.shard = sh->cfg.shard_id,
                         .n_workers = sh->cfg.n_app_workers,
                         .router = sh->router,
                         .links = sh->cfg.links,
                         .local_worker = sh->cfg.inline_apps,
                         .local_for = shard_local_for,
                         .local_arg = sh};
  if ((rv = wt_bridge_new(&sh->bridge, &bc)) < 0) {
    WT_LOG_ERROR("cannot set up the application links: %s", wt_err_str(rv));
    return rv;
  }
  wt_buf_pool_set_budget(wt_bridge_pool(sh->bridge), sh->cfg.engine.mem);
  if ((rv = shard_open_engine(sh, now)) < 0) {
    return rv;
  }
  if ((rv = shard_alloc_tx(sh)) < 0) {
    WT_LOG_ERROR("cannot allocate the tx buffers: %s", wt_err_str(rv));
    return rv;
  }
  if ((rv = shard_open_control(sh)) < 0) {
    return rv;
  }
  return 0;
}

int wt_shard_new(wt_shard **out, const wt_shard_config *cfg) {
  if (!out || !cfg || !cfg->listen || !cfg->cert_file || !cfg->key_file ||
      (cfg->n_shards > 1 && cfg->shard_id >= cfg->n_shards) ||
      (cfg->fwd && wt_fwd_shards(cfg->fwd) != cfg->n_shards) || !cfg->controlled || !cfg->waker ||
      !cfg->links || cfg->n_app_workers == 0) {
    return WT_ERR_INVAL;
  }
  *out = NULL;
  wt_shard *sh = calloc(1, sizeof(*sh));
  if (!sh) {
    return WT_ERR_NOMEM;
  }
  sh->cfg = *cfg;
  if (sh->cfg.rx_slice_ns == 0) {
    sh->cfg.rx_slice_ns = SHARD_RX_SLICE_DEFAULT;
  }
  sh->wakefd = -1;
  int rv = shard_setup(sh);
  if (rv < 0) {
    wt_shard_del(sh);
    return rv;
  }
  char addr[WT_IO_ADDR_STRLEN];
  wt_io_addr_format(wt_io_local(sh->io), addr, sizeof(addr));
  unsigned gso = wt_io_gso_max_segments(sh->io);
  WT_LOG_INFO("shard %u/%u listening on %s (backend %s: %s; GSO %s, GRO %s, %zu segments per send)",
              sh->cfg.shard_id, sh->cfg.n_shards ? sh->cfg.n_shards : 1, addr,
              wt_io_backend_name(wt_io_backend(sh->io)), wt_io_backend_reason(sh->io),
              gso ? "on" : "off", wt_io_gro_enabled(sh->io) ? "on" : "off", sh->tx.b.max_segments);
  *out = sh;
  return 0;
}

void wt_shard_set_app_worker(wt_shard *sh, struct wt_app_worker *wk) {
  sh->wk = wk;
}

void wt_shard_detach(wt_shard *sh) {
  if (!sh || sh->detached) {
    return;
  }
  sh->detached = 1;
  if (sh->bridge) {
    wt_bridge_detach(sh->bridge); /* the workers hear every close */
  }
  if (sh->eng) {
    wt_engine_del(sh->eng); /* releases of worker buffers happen here */
    sh->eng = NULL;
  }
  wt_keylog_close(sh->keylog);
  sh->keylog = NULL;
  if (sh->bridge) {
    wt_bridge_flush(sh->bridge);
  }
  for (size_t i = 0; i < sh->n_qlogs; i++) {
    if (sh->qlogs[i].f) {
      fclose(sh->qlogs[i].f);
    }
  }
  sh->n_qlogs = 0;
}

void wt_shard_del(wt_shard *sh) {
  if (!sh) {
    return;
  }
  wt_shard_detach(sh);
  wt_bridge_del(sh->bridge);
  wt_modules_free(&sh->mods);
  wt_app_router_del(sh->router);
  if (sh->wakefd >= 0 && sh->io) {
    wt_io_unwatch_fd(sh->io, sh->wakefd);
  }
  if (sh->cmds) {
    wt_spsc_free(sh->cmds);
    free(sh->cmds);
  }
  if (sh->has_port) {
    wt_fwd_port_free(&sh->port);
  }
  wt_io_close(sh->io);
  wt_pump_tx_free(&sh->tx);
  free(sh->qlogs);
  free(sh);
}

const wt_io_addr *wt_shard_local(const wt_shard *sh) {
  return wt_io_local(sh->io);
}

void wt_shard_stop(wt_shard *sh) {
  sh->stop_req++;
}

void wt_shard_snapshot(const wt_shard *sh, wt_snapshot *snap) {
  memset(snap, 0, sizeof(*snap));
  snap->uptime_ms = (wt_shard_clock_ns() - sh->start_ns) / SHARD_MS;
  const wt_engine_stats *es = wt_engine_get_stats(sh->eng);
  if (es) {
    snap->engine = *es;
  }
  snap->io = *wt_io_get_stats(sh->io);
  if (sh->bridge) {
    const wt_bridge_stats *bs = wt_bridge_get_stats(sh->bridge);
    snap->app.not_found = bs->not_found;
    if (!sh->detached) {
      wt_bridge_event_counts(sh->bridge, &snap->links.events, &snap->links.events_overflowed);
    }
    snap->links.datagrams_dropped = bs->datagrams_dropped;
    snap->links.stale_commands = bs->stale_commands;
    snap->links.buffer_failures = bs->buf_failed;
    snap->links.groups = bs->groups;
    snap->links.group_members = bs->members;
    snap->links.mirrored_streams = bs->mirrors;
    snap->links.wakeups =
        sh->cfg.waker ? atomic_load_explicit(&sh->cfg.waker->wakes, memory_order_relaxed) : 0;
  }
  snap->loop = sh->loop;
  if (sh->has_port) {
    snap->fwd = sh->port.stats;
  }
}

int wt_shard_wake_fd(const wt_shard *sh) {
  return sh->wakefd;
}

int wt_shard_socket(const wt_shard *sh) {
  return wt_io_fd(sh->io);
}

int wt_shard_post(wt_shard *sh, int cmd, uint64_t seq) {
  if (!sh->cmds) {
    return WT_ERR_STATE;
  }
  uintptr_t item = (uintptr_t)(seq << 4) | (uintptr_t)cmd;
  if (wt_spsc_enqueue(sh->cmds, (void *)item) < 0) {
    return WT_ERR_AGAIN;
  }
  uint64_t one = 1;
  if (write(sh->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
    WT_LOG_WARN("wake-up: %s", strerror(errno));
  }
  return 0;
}

int wt_shard_read_reload(wt_shard *sh, uint64_t seq, int *rv) {
  if (atomic_load_explicit(&sh->reload_seq, memory_order_acquire) < seq) {
    return 0;
  }
  *rv = atomic_load_explicit(&sh->reload_rv, memory_order_relaxed);
  return 1;
}

int wt_shard_io_backend(const wt_shard *sh) {
  return wt_io_backend(sh->io);
}

int wt_shard_read_snapshot(wt_shard *sh, uint64_t seq, wt_snapshot *snap) {
  /* acquire pairs with the shard's release store after it wrote pub */
  if (atomic_load_explicit(&sh->pub_seq, memory_order_acquire) < seq) {
    return 0;
  }
  *snap = sh->pub;
  return 1;
}

/* ------------------------------------------------------------------ transmit */

/* Flush the engine's output (wt_pump_tx_flush). Returns 1 if more can be
 * generated right away (the batch filled up, or kept entries just drained:
 * the buffer may be reused only after the next wt_io_wait, see wt_io.h),
 * else 0. Entries the socket would not take stay pending (WT_IO_EV_WRITABLE
 * wakes the loop). */
static int shard_tx(wt_shard *sh, uint64_t now) {
  uint64_t blocked = sh->tx.blocked, dropped = sh->tx.dropped;
  int more = wt_pump_tx_flush(&sh->tx, sh->eng, sh->io, now);
  sh->loop.tx_blocked += sh->tx.blocked - blocked;
  sh->loop.tx_dropped += sh->tx.dropped - dropped;
  return more;
}

/* ------------------------------------------------------------------ receive */

/* Handle one received datagram: to its owner shard (returns 0), or into
 * the engine (returns 1). */
static int shard_rx_one(wt_shard *sh, const wt_io_pkt *p, uint64_t now) {
  if (sh->has_port) {
    /* the DCID names the owner (wt_steer.h); others get it, once */
    uint32_t owner = wt_steer_owner(p->data, p->len, sh->cfg.n_shards, sh->cid_mask);
    if (owner < sh->cfg.n_shards && owner != sh->cfg.shard_id) {
      wt_fwd_send(&sh->port, owner, p->data, p->len, &p->local, &p->peer, p->ecn);
      return 0;
    }
  }
  wt_path path;
  memcpy(&path.local, &p->local, sizeof(path.local));
  memcpy(&path.remote, &p->peer, sizeof(path.remote));
  wt_engine_recv(sh->eng, &path, p->data, p->len, p->ecn, now);
  return 1;
}

/* The turn has spent its slice on handshake work: stop receiving, send the
 * replies; the next turn goes on at once (rx[rx_pos, rx_n) first). */
static int shard_rx_cut(wt_shard *sh) {
  sh->loop.rx_sliced++;
  sh->more_rx = 1;
  return 0;
}

/* Receive up to WT_SHARD_RX_ROUNDS batches. Once a long-header datagram (a
 * handshake packet: TLS work) was handled and the turn is older than
 * rx_slice_ns, receiving stops for this turn; the rest of the batch stays
 * in rx[] for the next one. */
static int shard_rx(wt_shard *sh, uint64_t now) {
  int hs = 0;
  for (int round = 0; round < WT_SHARD_RX_ROUNDS; round++) {
    int full = 1;
    if (sh->rx_pos == sh->rx_n) {
      if (hs && wt_shard_clock_ns() - now >= sh->cfg.rx_slice_ns) {
        return shard_rx_cut(sh);
      }
      int n = wt_io_recv(sh->io, sh->rx, WT_SHARD_RX_BATCH);
      if (n < 0) {
        sh->rx_pos = sh->rx_n = 0;
        WT_LOG_WARN_RL(5, "receive failed: %s", wt_err_str(n));
        return ++sh->rx_fail >= SHARD_RX_FAIL_MAX ? WT_ERR_IO : 0;
      }
      sh->rx_fail = 0;
      sh->rx_pos = 0;
      sh->rx_n = (unsigned)n;
      full = n == WT_SHARD_RX_BATCH;
    }
    while (sh->rx_pos < sh->rx_n) {
      const wt_io_pkt *p = &sh->rx[sh->rx_pos++];
      if (shard_rx_one(sh, p, now) && p->len > 0 && (p->data[0] & 0x80)) {
        hs = 1;
        if (sh->rx_pos < sh->rx_n && wt_shard_clock_ns() - now >= sh->cfg.rx_slice_ns) {
          return shard_rx_cut(sh);
        }
      }
    }
    if (!full) {
      return 0;
    }
  }
  sh->loop.rx_bounded++;
  sh->more_rx = 1;
  return 0;
}

/* ------------------------------------------------------------------ shutdown */

static void shard_close_now(wt_shard *sh, uint64_t now, const char *why) {
  WT_LOG_INFO("closing %zu connection(s): %s", wt_engine_conn_count(sh->eng), why);
  wt_engine_close_all(sh->eng, now);
  sh->state = SHARD_CLOSING;
}

/* A stop command or wt_shard_stop: drain first, close at the second. */
static void shard_on_stop(wt_shard *sh, uint64_t now, const char *why) {
  if (sh->state == SHARD_RUNNING) {
    WT_LOG_INFO("%s: shutting down, draining %zu connection(s) for up to %llu ms", why,
                wt_engine_conn_count(sh->eng),
                (unsigned long long)(sh->cfg.drain_timeout_ns / SHARD_MS));
    wt_engine_shutdown(sh->eng, now);
    wt_bridge_drain(sh->bridge);
    sh->state = SHARD_DRAINING;
    sh->drain_deadline = now + sh->cfg.drain_timeout_ns;
  } else if (sh->state == SHARD_DRAINING) {
    shard_close_now(sh, now, why);
  }
}

static void shard_check_drain(wt_shard *sh, uint64_t now) {
  while (sh->stop_done < sh->stop_req) {
    sh->stop_done++;
    shard_on_stop(sh, now, "stop requested");
  }
  if (sh->state != SHARD_DRAINING) {
    return;
  }
  if (wt_engine_conn_count(sh->eng) == 0) {
    shard_close_now(sh, now, "no connection left");
  } else if (now >= sh->drain_deadline) {
    shard_close_now(sh, now, "drain timeout");
  }
}

/* ------------------------------------------------------------------ controller and forwarding */

static void shard_publish(wt_shard *sh, uint64_t seq) {
  wt_shard_snapshot(sh, &sh->pub);
  /* release: the controller reads pub only after seeing seq */
  atomic_store_explicit(&sh->pub_seq, seq, memory_order_release);
  if (sh->cfg.notify_fd >= 0) {
    uint64_t one = 1;
    if (write(sh->cfg.notify_fd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
      WT_LOG_WARN("notify: %s", strerror(errno));
    }
  }
}

/* Read the certificate and key again (new connections use them). */
static void shard_reload(wt_shard *sh, uint64_t seq) {
  int rv = sh->eng ? wt_engine_reload_cert(sh->eng, NULL, NULL) : WT_ERR_STATE;
  if (rv == 0) {
    WT_LOG_INFO("shard %u: certificate %s reloaded (%zu live connection(s) keep theirs)",
                sh->cfg.shard_id, sh->cfg.cert_file, wt_engine_conn_count(sh->eng));
  } else {
    WT_LOG_ERROR("shard %u: cannot reload %s / %s (%s): keeping the previous certificate",
                 sh->cfg.shard_id, sh->cfg.cert_file, sh->cfg.key_file, wt_err_str(rv));
  }
  atomic_store_explicit(&sh->reload_rv, rv, memory_order_relaxed);
  atomic_store_explicit(&sh->reload_seq, seq, memory_order_release);
  if (sh->cfg.notify_fd >= 0) {
    uint64_t one = 1;
    if (write(sh->cfg.notify_fd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
      WT_LOG_WARN("notify: %s", strerror(errno));
    }
  }
}

/* The eventfd first, then the rings: a command or datagram queued after
 * this read writes the eventfd again, so none waits for a later event. */
static void shard_wakeup(wt_shard *sh, uint64_t now) {
  uint64_t v;
  if (read(sh->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
    WT_LOG_WARN("wake-up eventfd: %s", strerror(errno));
  }
  void *item;
  while (wt_spsc_dequeue(sh->cmds, &item) == 0) {
    uintptr_t u = (uintptr_t)item;
    switch ((int)(u & 0xf)) {
    case WT_SHARD_CMD_STOP:
      shard_on_stop(sh, now, "stop");
      break;
    case WT_SHARD_CMD_SNAPSHOT:
      shard_publish(sh, (uint64_t)(u >> 4));
      break;
    case WT_SHARD_CMD_RELOAD:
      shard_reload(sh, (uint64_t)(u >> 4));
      break;
    default: /* wt_shard_post queues only the commands above */
      WT_LOG_ERROR("unknown command %u", (unsigned)(u & 0xf));
      break;
    }
  }
}

/* A datagram another shard received for us: straight to the engine (a
 * forwarded datagram is never forwarded again). */
static void shard_fwd_deliver(void *user, const wt_fwd_pkt *pkt) {
  wt_shard *sh = user;
  wt_path path;
  memcpy(&path.local, &pkt->local, sizeof(path.local));
  memcpy(&path.remote, &pkt->peer, sizeof(path.remote));
  wt_engine_recv(sh->eng, &path, pkt->data, pkt->len, pkt->ecn, sh->now);
}

static void shard_fwd_in(wt_shard *sh) {
  unsigned n = wt_fwd_poll(&sh->port, shard_fwd_deliver, sh, SHARD_FWD_POLL_MAX);
  sh->fwd_more = n == SHARD_FWD_POLL_MAX;
}

/* After close_all: send the CONNECTION_CLOSEs, for a bounded time. */
static void shard_final_flush(wt_shard *sh) {
  uint64_t now = wt_shard_clock_ns();
  uint64_t end = now + SHARD_FINAL_FLUSH_NS;
  for (;;) {
    int more = shard_tx(sh, now);
    int blocked = wt_pump_tx_pending(&sh->tx);
    if (!more && !blocked) {
      wt_io_wait(sh->io, 0); /* submits deferred sends (wt_io_config.tx_defer) */
      break;
    }
    now = wt_shard_clock_ns();
    if (now >= end) {
      WT_LOG_WARN("shutdown: output left unsent");
      break;
    }
    wt_io_wait(sh->io, blocked ? (int64_t)(end - now) : 0);
  }
}

/* ------------------------------------------------------------------ the loop */

/* Inline apps: the worker's turn right after ours, then its answers go out
 * in the same turn (a request and its answer cost no wake-up and no extra
 * system call). Bounded: a worker that keeps answering its own answers
 * leaves the rest for the next turn (more_cmd). */
static void shard_inline_apps(wt_shard *sh, uint64_t now) {
  for (int round = 0; round < SHARD_INLINE_ROUNDS; round++) {
    size_t n = wt_app_worker_turn(sh->wk, now, &sh->wk_overflow);
    if (!wt_bridge_pending(sh->bridge)) {
      return;
    }
    wt_bridge_set_now(sh->bridge, now);
    size_t ncmd = wt_bridge_poll(sh->bridge, SHARD_CMD_POLL_MAX);
    sh->more_tx = shard_tx(sh, now);
    sh->ev_overflow = wt_bridge_flush(sh->bridge);
    sh->more_cmd = ncmd == SHARD_CMD_POLL_MAX;
    if (n == 0 && ncmd == 0) {
      return;
    }
  }
  sh->more_cmd = 1;
}

/* This turn handed events to the workers: wait up to spin_ns for a command
 * before sleeping (wt_shard_config.spin_ns). The worker sees the shard awake
 * and skips its eventfd write; the shard skips a sleep and a wake-up.
 * Returns 1 if a command came. */
static int shard_spin(wt_shard *sh, uint64_t now) {
  uint64_t posted = 0, overflowed = 0;
  wt_bridge_event_counts(sh->bridge, &posted, &overflowed);
  if (sh->cfg.spin_ns == 0 || sh->wk != NULL || posted == sh->ev_posted) {
    return 0;
  }
  sh->ev_posted = posted;
  /* Back off while spins run out (events that get no answer, a slow app):
   * each miss halves the next spin, down to 1/16; an answer restores it. */
  uint64_t end = now + (sh->cfg.spin_ns >> sh->spin_backoff);
  for (unsigned i = 1;; i++) {
    if (wt_bridge_pending(sh->bridge)) {
      sh->loop.spin_hits++;
      sh->spin_backoff = 0;
      return 1;
    }
    if ((i & 31) == 0 && wt_shard_clock_ns() >= end) {
      sh->loop.spin_miss++;
      if (sh->spin_backoff < SHARD_SPIN_BACKOFF_MAX) {
        sh->spin_backoff++;
      }
      return 0;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
}

static int64_t shard_timeout(wt_shard *sh, uint64_t now) {
  if (sh->more_rx || sh->more_tx || sh->fwd_more || sh->more_cmd) {
    return 0;
  }
  if (shard_spin(sh, now)) {
    return 0;
  }
  /* announce the sleep, then re-check the command rings (wt_link.h); an
   * inline worker shares the waker, so its event rings are re-checked too */
  wt_waker_sleep_begin(sh->cfg.waker);
  if (wt_bridge_pending(sh->bridge) || (sh->wk && wt_app_worker_pending(sh->wk))) {
    wt_waker_sleep_end(sh->cfg.waker);
    return 0;
  }
  uint64_t t = wt_engine_next_expiry(sh->eng);
  uint64_t tt;
  if (sh->wk && (tt = wt_app_worker_next_timer(sh->wk)) < t) {
    t = tt; /* the inline worker's timers (the shard itself has none) */
  }
  if ((tt = wt_bridge_next_expiry(sh->bridge)) < t) {
    t = tt; /* the fan-out's latency budgets */
  }
  if (sh->state == SHARD_DRAINING && sh->drain_deadline < t) {
    t = sh->drain_deadline;
  }
  if ((sh->ev_overflow || sh->wk_overflow) && now + SHARD_OVERFLOW_RETRY_NS < t) {
    /* a worker's ring is full: nothing wakes us when it drains, so look
     * again soon rather than spin */
    t = now + SHARD_OVERFLOW_RETRY_NS;
  }
  if (t == UINT64_MAX) {
    return -1;
  }
  int64_t d = t > now ? (int64_t)(t - now) : 0;
  if (wt_pump_tx_pending(&sh->tx) && d < (int64_t)SHARD_MS) {
    d = SHARD_MS; /* blocked on the socket: sleep until writable, never spin */
  }
  return d;
}

static void shard_log_summary(const wt_shard *sh) {
  const wt_engine_stats *es = wt_engine_get_stats(sh->eng);
  WT_LOG_INFO("stopped after %llu ms: %llu connection(s) accepted, %llu session(s) opened",
              (unsigned long long)((wt_shard_clock_ns() - sh->start_ns) / SHARD_MS),
              (unsigned long long)(es ? es->conns_accepted : 0),
              (unsigned long long)(es ? es->sessions_opened : 0));
}

int wt_shard_run(wt_shard *sh) {
  uint64_t now = wt_shard_clock_ns();
  while (sh->state != SHARD_DONE) {
    int64_t timeout = shard_timeout(sh, now);
    int ev = wt_io_wait(sh->io, timeout);
    wt_waker_sleep_end(sh->cfg.waker);
    if (ev == 0 && timeout > 0) {
      sh->loop.timer_wakes++;
    }
    if (ev < 0) {
      WT_LOG_ERROR("wait failed: %s", wt_err_str(ev));
      return WT_ERR_IO;
    }
    now = wt_shard_clock_ns();
    sh->loop.turns++;
    sh->more_rx = 0;
    sh->now = now;
    wt_engine_set_now(sh->eng, now); /* the age of datagrams the commands queue */
    if ((ev & WT_IO_EV_WATCHED) && sh->wakefd >= 0) {
      shard_wakeup(sh, now);
    }
    if (sh->has_port) {
      wt_fwd_reclaim(&sh->port);
    }
    if ((ev & WT_IO_EV_READABLE || sh->rx_pos < sh->rx_n) && shard_rx(sh, now) < 0) {
      WT_LOG_ERROR("the socket keeps failing: stopping");
      return WT_ERR_IO;
    }
    if (sh->has_port) {
      if ((ev & WT_IO_EV_WATCHED) || sh->fwd_more) {
        shard_fwd_in(sh);
      }
      wt_fwd_flush(&sh->port); /* one wake-up per destination per turn */
    }
    if (wt_engine_next_expiry(sh->eng) <= now) {
      wt_engine_handle_expiry(sh->eng, now);
    }
    wt_bridge_set_now(sh->bridge, now);
    size_t ncmd = wt_bridge_poll(sh->bridge, SHARD_CMD_POLL_MAX);
    shard_check_drain(sh, now);
    sh->more_tx = shard_tx(sh, now);
    sh->ev_overflow = wt_bridge_flush(sh->bridge);
    sh->more_cmd = ncmd == SHARD_CMD_POLL_MAX;
    if (sh->wk) {
      shard_inline_apps(sh, now);
    }
    if (sh->state == SHARD_CLOSING) {
      shard_final_flush(sh);
      sh->state = SHARD_DONE;
    }
  }
  shard_log_summary(sh);
  return 0;
}
