/* wt_runtime.c: the multi-shard process (see wt_runtime.h). */
#define _GNU_SOURCE
#define WT_LOG_MODULE "runtime"
#include "wt_runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "wt_error.h"
#include "wt_fwd.h"
#include "wt_log.h"
#include "wt_modules.h"
#include "wt_cid.h"
#include "wt_qlb.h"
#include "wt_steer.h"
#include "wt_app_worker.h"

#define RT_SNAPSHOT_WAIT_MS 2000
#define RT_LINK_CAPACITY    4096 /* messages per direction per (shard, worker) link */

enum { RT_WAIT, RT_GO, RT_ABORT };

/* A shard's thread (wt_shard.h). */
typedef struct rt_shard_thread {
  wt_runtime *rt;
  uint32_t id;
  int cpu; /* -1 = not pinned */
  pthread_t thread;
  int started; /* pthread_create succeeded */
  wt_shard *sh;
  int rv;            /* wt_shard_new, then wt_shard_run */
  _Atomic int done;  /* the loop has returned */
  uint64_t last_seq; /* snapshot requests answered so far (main thread) */
  wt_snapshot last;
} rt_shard_thread;

/* An application worker thread (wt_app_worker.h). */
typedef struct rt_app_thread {
  wt_runtime *rt;
  uint32_t id;
  pthread_t thread;
  int started;
  wt_app_worker *wk;
  int rv;
} rt_app_thread;

struct wt_runtime {
  wt_runtime_config cfg;
  wt_mem_budget mem; /* the process memory budget (cfg.shard.engine.mem points here) */
  uint32_t n;        /* shards */
  rt_shard_thread *shards;
  uint32_t m; /* application workers */
  rt_app_thread *apps;
  wt_waker *swk;   /* [n] shard wakers */
  wt_waker *awk;   /* [m] worker wakers */
  wt_link **links; /* [n * m]: shard i, worker j at i * m + j */
  int links_freed;
  int n_detached, apps_reported, apps_done, free_phase; /* under mu */
  wt_fwd *fwd;
  uint8_t secret[WT_RUNTIME_SECRET_LEN];
  char listen0[WT_IO_ADDR_STRLEN];     /* shard 0's bound address, for the others */
  char listen_pick[WT_IO_ADDR_STRLEN]; /* port 0 with SO_REUSEPORT: the port we picked */
  wt_io_addr local;
  int steering;
  /* start-up hand-shake */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int phase;    /* RT_* */
  int reported; /* workers that finished wt_shard_new */
  pthread_barrier_t end;
  int end_init;
  /* main thread */
  int notify_fd; /* eventfd the shards write: a snapshot is ready, a loop ended */
  int sigfd;
  int mask_set;
  sigset_t oldmask;
  int lock_fd;
  char lock_path[512];
  uint64_t seq;
  int stopping;
  int ran;
  uint64_t reload_seq;
  /* wt_runtime_collect: other threads ask (req_fd), the main thread serves */
  int req_fd;
  int cmu_init;
  pthread_mutex_t cturn; /* one requester at a time */
  pthread_mutex_t cmu;   /* guards the fields below */
  pthread_cond_t ccv;
  uint64_t creq, cdone;
  int cclosed; /* wt_runtime_run has returned (or never will serve) */
  wt_snapshot *cper;
  wt_snapshot capps;
  int *backend;
  /* the modules' counter names, one module after the other */
  const char *counter_names[WT_APP_MAX_COUNTERS];
  size_t n_counter_names; /* [n] each shard's datapath backend, fixed once it started */
};

void wt_runtime_config_default(wt_runtime_config *c) {
  memset(c, 0, sizeof(*c));
  wt_shard_config_default(&c->shard);
  /* the server's byte budgets (docs/operations.md "Limits"; the engine's
   * own default is none, for tests and embedders of the bare engine) */
  c->shard.engine.max_conn_bytes = WT_RUNTIME_MAX_CONN_BYTES;
  c->shard.engine.max_ip_bytes = WT_RUNTIME_MAX_IP_BYTES;
  c->steering = 1;
  c->pin = 1;
  c->lock = 1;
}

static void why_set(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void why_set(char *why, size_t cap, const char *fmt, ...) {
  if (!why || cap == 0) {
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, cap, fmt, ap);
  va_end(ap);
}

/* ------------------------------------------------------------------ the single-instance guard */

static const char *lock_dir(void) {
  if (mkdir("/run/wtcast", 0755) == 0 || access("/run/wtcast", W_OK) == 0) {
    return "/run/wtcast";
  }
  const char *x = getenv("XDG_RUNTIME_DIR");
  if (x && *x && access(x, W_OK) == 0) {
    return x;
  }
  return "/tmp";
}

/* flock LOCK_EX|LOCK_NB on the lock file of addr, held until the fd is
 * closed (process lifetime); our pid goes into it. */
static int rt_lock(wt_runtime *rt, const wt_io_addr *addr, char *why, size_t cap) {
  char a[WT_IO_ADDR_STRLEN], name[WT_IO_ADDR_STRLEN];
  wt_io_addr_format(addr, a, sizeof(a));
  size_t k = 0;
  for (const char *p = a; *p && k + 1 < sizeof(name); p++) {
    int ok = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
             *p == '.';
    name[k++] = ok ? *p : '_';
  }
  name[k] = '\0';
  snprintf(rt->lock_path, sizeof(rt->lock_path), "%s/wtcast-%s.lock", lock_dir(), name);
  /* O_NOFOLLOW: the directory may be /tmp, where anyone can plant a link */
  int fd = open(rt->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    why_set(why, cap, "cannot open the lock file %s: %s", rt->lock_path, strerror(errno));
    return WT_ERR_IO;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {0};
    ssize_t r = pread(fd, buf, sizeof(buf) - 1, 0);
    long pid = r > 0 ? strtol(buf, NULL, 10) : 0;
    close(fd);
    if (pid > 0) {
      why_set(why, cap, "another wtcast (pid %ld) is already serving %s", pid, a);
    } else {
      why_set(why, cap, "another wtcast is already serving %s (lock %s)", a, rt->lock_path);
    }
    rt->lock_path[0] = '\0';
    return WT_ERR_REFUSED;
  }
  char pid[32];
  int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
    WT_LOG_WARN("cannot write the pid into %s: %s", rt->lock_path, strerror(errno));
  }
  rt->lock_fd = fd;
  return 0;
}

/* A plain bind (no SO_REUSEPORT) fails if anything holds the address. */
static int rt_probe(const wt_io_addr *addr, char *why, size_t cap) {
  int fd = socket(addr->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    why_set(why, cap, "socket: %s", strerror(errno));
    return WT_ERR_IO;
  }
  int rv = 0;
  if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) != 0) {
    char a[WT_IO_ADDR_STRLEN];
    wt_io_addr_format(addr, a, sizeof(a));
    if (errno == EADDRINUSE) {
      why_set(why, cap, "another wtcast (or another program) is already serving %s", a);
      rv = WT_ERR_REFUSED;
    } else {
      why_set(why, cap, "cannot bind %s: %s", a, strerror(errno));
      rv = WT_ERR_IO;
    }
  }
  close(fd);
  return rv;
}

/* A port for addr (its port 0) that no socket holds: a plain bind's
 * kernel choice, released at once (the lock and the probe that follow
 * cover the window). */
static int rt_pick_port(wt_io_addr *addr, char *why, size_t cap) {
  int fd = socket(addr->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    why_set(why, cap, "socket: %s", strerror(errno));
    return WT_ERR_IO;
  }
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) != 0 ||
      getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
    char a[WT_IO_ADDR_STRLEN];
    wt_io_addr_format(addr, a, sizeof(a));
    why_set(why, cap, "cannot bind %s: %s", a, strerror(errno));
    close(fd);
    return WT_ERR_IO;
  }
  close(fd);
  if (ss.ss_family == AF_INET6) {
    ((struct sockaddr_in6 *)&addr->ss)->sin6_port = ((struct sockaddr_in6 *)&ss)->sin6_port;
  } else {
    ((struct sockaddr_in *)&addr->ss)->sin_port = ((struct sockaddr_in *)&ss)->sin_port;
  }
  return 0;
}

static void rt_unlock(wt_runtime *rt) {
  if (rt->lock_fd < 0) {
    return;
  }
  /* unlink while holding the lock: a newcomer then creates a fresh file;
     the bind probe covers the window */
  if (rt->lock_path[0]) {
    unlink(rt->lock_path);
  }
  close(rt->lock_fd);
  rt->lock_fd = -1;
}

/* ------------------------------------------------------------------ shard threads */

static void rt_pin(rt_shard_thread *st) {
  if (st->cpu < 0) {
    return;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(st->cpu, &set);
  int e = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  if (e != 0) {
    WT_LOG_WARN("shard %u: cannot pin to CPU %d: %s", st->id, st->cpu, strerror(e));
  }
}

static void rt_notify(wt_runtime *rt) {
  uint64_t one = 1;
  if (write(rt->notify_fd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
    WT_LOG_WARN("notify: %s", strerror(errno));
  }
}

static int rt_started_shards(wt_runtime *rt) {
  int k = 0;
  for (uint32_t i = 0; rt->shards && i < rt->n; i++) {
    k += rt->shards[i].started;
  }
  return k;
}

/* Worker j's configuration (its links: column j). row: n entries. */
static void rt_app_worker_config(wt_runtime *rt, uint32_t j, wt_link **row,
                                 wt_app_worker_config *c) {
  for (uint32_t i = 0; i < rt->n; i++) {
    row[i] = rt->links[(size_t)i * rt->m + j];
  }
  *c = (wt_app_worker_config){.id = j,
                              .n_workers = rt->m,
                              .n_shards = rt->n,
                              .links = row,
                              .waker = rt->cfg.inline_apps ? &rt->swk[j] : &rt->awk[j],
                              .modules = rt->cfg.shard.modules,
                              .n_modules = rt->cfg.shard.n_modules,
                              .stream_credit = rt->cfg.stream_send_window,
                              .stream_credit_max = rt->cfg.stream_send_window_max,
                              .protocols = rt->cfg.protocols,
                              .n_protocols = rt->cfg.n_protocols,
                              .mem = &rt->mem};
}

/* Inline apps: worker j on shard j's thread (its pool and timers are this
 * thread's). */
static int rt_inline_worker(wt_runtime *rt, uint32_t j) {
  wt_link **row = calloc(rt->n, sizeof(*row));
  if (!row) {
    return WT_ERR_NOMEM;
  }
  wt_app_worker_config c;
  rt_app_worker_config(rt, j, row, &c);
  int rv = wt_app_worker_new(&rt->apps[j].wk, &c);
  free(row);
  return rv;
}

/* A thread's name (ps -T, top -H, perf, gdb): PREFIX-N. */
static void rt_name_thread(const char *prefix, uint32_t id) {
  char name[16]; /* the kernel's limit, with the NUL */
  snprintf(name, sizeof(name), "%s-%u", prefix, id);
  pthread_setname_np(pthread_self(), name);
}

static void *rt_shard_main(void *arg) {
  rt_shard_thread *st = arg;
  wt_runtime *rt = st->rt;
  rt_name_thread("wt-shard", st->id);
  rt_pin(st);
  wt_shard_config c = rt->cfg.shard;
  c.shard_id = st->id;
  c.n_shards = rt->n;
  c.reuseport = rt->n > 1;
  c.static_secret = rt->secret;
  c.fwd = rt->fwd;
  c.controlled = 1;
  c.notify_fd = rt->notify_fd;
  c.links = &rt->links[(size_t)st->id * rt->m];
  c.n_app_workers = rt->m;
  c.waker = &rt->swk[st->id];
  if (st->id > 0) {
    c.listen = rt->listen0;
  }
  c.inline_apps = rt->cfg.inline_apps;
  st->rv = wt_shard_new(&st->sh, &c);
  if (st->rv == 0 && rt->cfg.inline_apps) {
    st->rv = rt_inline_worker(rt, st->id);
    if (st->rv == 0) {
      wt_shard_set_app_worker(st->sh, rt->apps[st->id].wk);
    }
  }
  pthread_mutex_lock(&rt->mu);
  rt->reported++;
  pthread_cond_broadcast(&rt->cv);
  while (rt->phase == RT_WAIT) {
    pthread_cond_wait(&rt->cv, &rt->mu);
  }
  int go = rt->phase == RT_GO;
  pthread_mutex_unlock(&rt->mu);
  if (go && st->rv == 0) {
    st->rv = wt_shard_run(st->sh);
  }
  atomic_store_explicit(&st->done, 1, memory_order_release);
  rt_notify(rt);
  if (go) {
    /* nobody touches the forwarding rings after this: free our buffers */
    pthread_barrier_wait(&rt->end);
  }
  /* the workers hear every close; the engine releases their buffers */
  wt_shard_detach(st->sh);
  pthread_mutex_lock(&rt->mu);
  rt->n_detached++;
  pthread_cond_broadcast(&rt->cv);
  wt_app_worker *wk = rt->cfg.inline_apps ? rt->apps[st->id].wk : NULL;
  if (wk) {
    /* our worker hears the closes of every shard: once all have detached */
    while (rt->n_detached < rt_started_shards(rt)) {
      pthread_cond_wait(&rt->cv, &rt->mu);
    }
    pthread_mutex_unlock(&rt->mu);
    wt_app_worker_finish(wk);
    pthread_mutex_lock(&rt->mu);
    rt->apps_done++;
    pthread_cond_broadcast(&rt->cv);
  }
  while (!rt->free_phase) { /* until the links hold none of our buffers */
    pthread_cond_wait(&rt->cv, &rt->mu);
  }
  pthread_mutex_unlock(&rt->mu);
  if (wk) {
    wt_app_worker_del(wk);
    rt->apps[st->id].wk = NULL;
  }
  wt_shard_del(st->sh);
  st->sh = NULL;
  return NULL;
}

static void *rt_app_main(void *arg) {
  rt_app_thread *a = arg;
  wt_runtime *rt = a->rt;
  rt_name_thread("wt-app", a->id);
  wt_app_worker_config c;
  wt_link **row = calloc(rt->n, sizeof(*row));
  if (row) {
    rt_app_worker_config(rt, a->id, row, &c);
    a->rv = wt_app_worker_new(&a->wk, &c);
  } else {
    a->rv = WT_ERR_NOMEM;
  }
  free(row);
  pthread_mutex_lock(&rt->mu);
  rt->apps_reported++;
  pthread_cond_broadcast(&rt->cv);
  while (rt->phase == RT_WAIT) {
    pthread_cond_wait(&rt->cv, &rt->mu);
  }
  int go = rt->phase == RT_GO;
  pthread_mutex_unlock(&rt->mu);
  if (go && a->rv == 0) {
    wt_app_worker_run(a->wk);
  }
  pthread_mutex_lock(&rt->mu);
  rt->apps_done++;
  pthread_cond_broadcast(&rt->cv);
  while (!rt->free_phase) {
    pthread_cond_wait(&rt->cv, &rt->mu);
  }
  pthread_mutex_unlock(&rt->mu);
  wt_app_worker_del(a->wk);
  a->wk = NULL;
  return NULL;
}

/* Every shard has detached (its closes are in the links): stop the
 * workers, wait for them, free the links (their buffers go home), then let
 * every thread free its pools. Idempotent. */
static void rt_shutdown_apps(wt_runtime *rt) {
  if (rt->links_freed) {
    return;
  }
  int shards = rt_started_shards(rt), apps = 0;
  for (uint32_t j = 0; rt->apps && j < rt->m; j++) {
    /* inline: a started shard whose worker exists finishes it itself */
    apps += rt->cfg.inline_apps ? (rt->shards && rt->shards[j].started && rt->apps[j].wk != NULL)
                                : rt->apps[j].started;
  }
  pthread_mutex_lock(&rt->mu);
  while (rt->n_detached < shards) {
    pthread_cond_wait(&rt->cv, &rt->mu);
  }
  pthread_mutex_unlock(&rt->mu);
  for (uint32_t j = 0; rt->apps && j < rt->m && !rt->cfg.inline_apps; j++) {
    if (rt->apps[j].wk) {
      wt_app_worker_stop(rt->apps[j].wk);
    }
  }
  pthread_mutex_lock(&rt->mu);
  while (rt->apps_done < apps) {
    pthread_cond_wait(&rt->cv, &rt->mu);
  }
  pthread_mutex_unlock(&rt->mu);
  for (size_t k = 0; rt->links && k < (size_t)rt->n * rt->m; k++) {
    wt_link_del(rt->links[k]);
    rt->links[k] = NULL;
  }
  rt->links_freed = 1;
  pthread_mutex_lock(&rt->mu);
  rt->free_phase = 1;
  pthread_cond_broadcast(&rt->cv);
  pthread_mutex_unlock(&rt->mu);
}

/* The CPUs of the process's affinity set, in order. */
static int rt_cpus(int *cpus, int max) {
  cpu_set_t set;
  int n = 0;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE && n < max; c++) {
      if (CPU_ISSET(c, &set)) {
        cpus[n++] = c;
      }
    }
  }
  return n;
}

/* Start worker i and wait until its shard is created (or failed). */
static int rt_start_one(wt_runtime *rt, uint32_t i, char *why, size_t cap) {
  rt_shard_thread *st = &rt->shards[i];
  int e = pthread_create(&st->thread, NULL, rt_shard_main, st);
  if (e != 0) {
    why_set(why, cap, "cannot start shard thread %u: %s", i, strerror(e));
    return WT_ERR_IO;
  }
  st->started = 1;
  pthread_mutex_lock(&rt->mu);
  while (rt->reported < (int)i + 1) {
    pthread_cond_wait(&rt->cv, &rt->mu);
  }
  pthread_mutex_unlock(&rt->mu);
  if (st->rv < 0) {
    why_set(why, cap, "shard %u cannot start (%s): see the log above", i, wt_err_str(st->rv));
    return st->rv;
  }
  rt->backend[i] = wt_shard_io_backend(st->sh);
  if (i == 0) {
    rt->local = *wt_shard_local(st->sh);
    wt_io_addr_format(&rt->local, rt->listen0, sizeof(rt->listen0));
  }
  return 0;
}

static void rt_release(wt_runtime *rt, int phase) {
  pthread_mutex_lock(&rt->mu);
  rt->phase = phase;
  pthread_cond_broadcast(&rt->cv);
  pthread_mutex_unlock(&rt->mu);
}

static void rt_join(wt_runtime *rt) {
  rt_shutdown_apps(rt);
  for (uint32_t i = 0; rt->shards && i < rt->n; i++) {
    if (rt->shards[i].started) {
      pthread_join(rt->shards[i].thread, NULL);
      rt->shards[i].started = 0;
    }
  }
  for (uint32_t j = 0; rt->apps && j < rt->m; j++) {
    if (rt->apps[j].started) {
      pthread_join(rt->apps[j].thread, NULL);
      rt->apps[j].started = 0;
    }
  }
}

/* ------------------------------------------------------------------ start-up */

static int rt_signals(wt_runtime *rt, char *why, size_t cap) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGHUP);
  if (pthread_sigmask(SIG_BLOCK, &set, &rt->oldmask) != 0) {
    why_set(why, cap, "pthread_sigmask failed");
    return WT_ERR_IO;
  }
  rt->mask_set = 1;
  rt->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (rt->sigfd < 0) {
    why_set(why, cap, "signalfd: %s", strerror(errno));
    return WT_ERR_IO;
  }
  return 0;
}

static uint32_t rt_default_shards(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) {
    n = 1;
  }
  return n > WT_RUNTIME_MAX_SHARDS ? WT_RUNTIME_MAX_SHARDS : (uint32_t)n;
}

/* Everything before the threads: secret, workers, mesh, guard, signals. */
static int rt_prepare(wt_runtime *rt, char *why, size_t cap) {
  int rv;
  if (rt->cfg.secret) {
    memcpy(rt->secret, rt->cfg.secret, sizeof(rt->secret));
  } else if (getrandom(rt->secret, sizeof(rt->secret), 0) != (ssize_t)sizeof(rt->secret)) {
    why_set(why, cap, "getrandom: %s", strerror(errno));
    return WT_ERR_IO;
  }
  rt->shards = calloc(rt->n, sizeof(*rt->shards));
  rt->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  rt->req_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  rt->cper = calloc(rt->n, sizeof(*rt->cper));
  rt->backend = calloc(rt->n, sizeof(*rt->backend));
  if (!rt->shards || rt->notify_fd < 0 || rt->req_fd < 0 || !rt->cper || !rt->backend) {
    why_set(why, cap, "out of memory or eventfd failed");
    return WT_ERR_NOMEM;
  }
  rt->m = rt->cfg.inline_apps ? rt->n : rt->cfg.app_workers ? rt->cfg.app_workers : rt->n;
  rt->apps = calloc(rt->m, sizeof(*rt->apps));
  rt->swk = calloc(rt->n, sizeof(*rt->swk));
  rt->awk = calloc(rt->m, sizeof(*rt->awk));
  rt->links = calloc((size_t)rt->n * rt->m, sizeof(*rt->links));
  if (!rt->apps || !rt->swk || !rt->awk || !rt->links) {
    why_set(why, cap, "out of memory");
    return WT_ERR_NOMEM;
  }
  for (uint32_t i = 0; i < rt->n + rt->m; i++) {
    wt_waker *k = i < rt->n ? &rt->swk[i] : &rt->awk[i - rt->n];
    k->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (k->efd < 0) {
      why_set(why, cap, "eventfd: %s", strerror(errno));
      return WT_ERR_IO;
    }
  }
  for (uint32_t i = 0; i < rt->n; i++) {
    for (uint32_t j = 0; j < rt->m; j++) {
      /* inline: worker j sleeps (and is woken) with shard j */
      wt_waker *wk = rt->cfg.inline_apps ? &rt->swk[j] : &rt->awk[j];
      if ((rv = wt_link_new(&rt->links[(size_t)i * rt->m + j], i, j, RT_LINK_CAPACITY, &rt->swk[i],
                            wk)) < 0) {
        why_set(why, cap, "cannot create the application rings: %s", wt_err_str(rv));
        return rv;
      }
    }
  }
  for (uint32_t j = 0; j < rt->m; j++) {
    rt->apps[j].rt = rt;
    rt->apps[j].id = j;
  }
  if (rt->n > 1 && (rv = wt_fwd_new(&rt->fwd, rt->n, 0)) < 0) {
    why_set(why, cap, "cannot create the forwarding rings: %s", wt_err_str(rv));
    return rv;
  }
  int cpus[CPU_SETSIZE];
  int ncpu = rt->cfg.pin ? rt_cpus(cpus, CPU_SETSIZE) : 0;
  for (uint32_t i = 0; i < rt->n; i++) {
    rt->shards[i].rt = rt;
    rt->shards[i].id = i;
    rt->shards[i].cpu = ncpu > 0 ? cpus[i % (uint32_t)ncpu] : -1;
  }
  wt_io_addr want;
  if (wt_io_addr_parse(rt->cfg.shard.listen, &want) < 0) {
    why_set(why, cap, "bad listen address '%s'", rt->cfg.shard.listen);
    return WT_ERR_CONFIG;
  }
  uint16_t port = want.ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&want.ss)->sin6_port
                                                : ((struct sockaddr_in *)&want.ss)->sin_port;
  if (port == 0 && rt->n > 1) {
    /* Port 0 with SO_REUSEPORT (several shards) may be given a port another
     * process of this user holds with SO_REUSEPORT (Linux shares ephemeral
     * ports within a reuseport group's uid): two servers on one port. A
     * plain bind is given a port nothing holds: the shards bind that one. */
    if ((rv = rt_pick_port(&want, why, cap)) < 0) {
      return rv;
    }
    wt_io_addr_format(&want, rt->listen_pick, sizeof(rt->listen_pick));
    rt->cfg.shard.listen = rt->listen_pick;
    port = want.ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&want.ss)->sin6_port
                                         : ((struct sockaddr_in *)&want.ss)->sin_port;
  }
  if (rt->cfg.lock && port != 0) {
    if ((rv = rt_lock(rt, &want, why, cap)) < 0 || (rv = rt_probe(&want, why, cap)) < 0) {
      return rv;
    }
  }
  return rt_signals(rt, why, cap);
}

/* Start the threads in shard order, lock a kernel-chosen port, attach the
 * steering program, release the loops. */
static int rt_start(wt_runtime *rt, char *why, size_t cap) {
  int rv;
  if (pthread_barrier_init(&rt->end, NULL, rt->n) != 0) {
    why_set(why, cap, "pthread_barrier_init failed");
    return WT_ERR_NOMEM;
  }
  rt->end_init = 1;
  for (uint32_t i = 0; i < rt->n; i++) {
    if ((rv = rt_start_one(rt, i, why, cap)) < 0) {
      return rv;
    }
  }
  if (rt->cfg.lock && rt->lock_fd < 0 && (rv = rt_lock(rt, &rt->local, why, cap)) < 0) {
    return rv;
  }
  for (uint32_t i = 0; rt->fwd && i < rt->n; i++) {
    wt_fwd_set_wake_fd(rt->fwd, i, wt_shard_wake_fd(rt->shards[i].sh));
  }
  for (uint32_t j = 0; j < rt->m && !rt->cfg.inline_apps; j++) {
    rt_app_thread *a = &rt->apps[j];
    int e = pthread_create(&a->thread, NULL, rt_app_main, a);
    if (e != 0) {
      why_set(why, cap, "cannot start application worker %u: %s", j, strerror(e));
      return WT_ERR_IO;
    }
    a->started = 1;
    pthread_mutex_lock(&rt->mu);
    while (rt->apps_reported < (int)j + 1) {
      pthread_cond_wait(&rt->cv, &rt->mu);
    }
    pthread_mutex_unlock(&rt->mu);
    if (a->rv < 0) {
      why_set(why, cap, "application worker %u cannot start (%s)", j, wt_err_str(a->rv));
      return a->rv;
    }
  }
  if (rt->n > 1 && rt->cfg.steering) {
    uint8_t mask = rt->cfg.shard.engine.qlb.enabled ? WT_QLB_LOW_MASK : WT_CID_SHARD_MASK;
    rt->steering = wt_steer_attach(wt_shard_socket(rt->shards[0].sh), rt->n, mask) == 0;
  }
  if (rt->cfg.inline_apps) {
    WT_LOG_INFO("%u shard(s), applications inline on the shard threads", rt->n);
  } else {
    WT_LOG_INFO("%u application worker(s), %u shard(s)", rt->m, rt->n);
  }
  if (rt->n > 1) {
    WT_LOG_INFO("%u shards on %s; CID steering %s", rt->n, rt->listen0,
                rt->steering
                    ? "attached (reuseport cBPF: DCID byte 0 (QUIC-LB: its 5 low bits) mod N)"
                : rt->cfg.steering ? "NOT attached (kernel refused): forwarding between shards"
                                   : "off: forwarding between shards");
  }
  rt_release(rt, RT_GO);
  return 0;
}

static void rt_free(wt_runtime *rt) {
  rt_join(rt);
  wt_mem_lib_set_budget(NULL); /* wolfSSL's count: rt->mem goes away */
  if (rt->end_init) {
    pthread_barrier_destroy(&rt->end);
  }
  rt_unlock(rt);
  if (rt->sigfd >= 0) {
    struct signalfd_siginfo si;
    while (read(rt->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
      /* swallow late signals before unblocking them */
    }
    close(rt->sigfd);
  }
  if (rt->mask_set) {
    pthread_sigmask(SIG_SETMASK, &rt->oldmask, NULL);
  }
  if (rt->notify_fd >= 0) {
    close(rt->notify_fd);
  }
  if (rt->req_fd >= 0) {
    close(rt->req_fd);
  }
  free(rt->cper);
  free(rt->backend);
  if (rt->cmu_init) {
    pthread_mutex_destroy(&rt->cturn);
    pthread_mutex_destroy(&rt->cmu);
    pthread_cond_destroy(&rt->ccv);
  }
  wt_fwd_del(rt->fwd);
  for (size_t k = 0; rt->links && k < (size_t)rt->n * rt->m; k++) {
    wt_link_del(rt->links[k]);
  }
  for (uint32_t i = 0; rt->swk && i < rt->n; i++) {
    if (rt->swk[i].efd > 0) {
      close(rt->swk[i].efd);
    }
  }
  for (uint32_t j = 0; rt->awk && j < rt->m; j++) {
    if (rt->awk[j].efd > 0) {
      close(rt->awk[j].efd);
    }
  }
  free(rt->links);
  free(rt->swk);
  free(rt->awk);
  free(rt->apps);
  pthread_mutex_destroy(&rt->mu);
  pthread_cond_destroy(&rt->cv);
  free(rt->shards);
  free(rt);
}

/* The modules' counter names, flattened (wt_runtime_counter_names). */
static int rt_counter_names(wt_runtime *rt) {
  const wt_shard_config *c = &rt->cfg.shard;
  int rv = wt_modules_check(c->modules, c->n_modules);
  if (rv < 0) {
    return rv;
  }
  for (size_t i = 0; i < c->n_modules; i++) {
    for (size_t k = 0; k < c->modules[i]->n_counters; k++) {
      rt->counter_names[rt->n_counter_names++] = c->modules[i]->counter_names[k];
    }
  }
  return 0;
}

int wt_runtime_new(wt_runtime **out, const wt_runtime_config *cfg, char *why, size_t cap) {
  why_set(why, cap, "%s", "");
  if (!out || !cfg || !cfg->shard.listen || cfg->shards > WT_RUNTIME_MAX_SHARDS ||
      cfg->app_workers > WT_RUNTIME_MAX_APP_WORKERS) {
    why_set(why, cap, "bad configuration");
    return WT_ERR_INVAL;
  }
  *out = NULL;
  wt_runtime *rt = calloc(1, sizeof(*rt));
  if (!rt) {
    return WT_ERR_NOMEM;
  }
  rt->cfg = *cfg;
  rt->n = cfg->shards ? cfg->shards : rt_default_shards();
  if (rt->cfg.shard.engine.qlb.enabled) {
    /* QUIC-LB connection IDs: the shard is in 5 bits of the first byte, so
     * at most 32 shards (docs/architecture.md "Connection IDs and
     * steering"); an online-CPU default above that is capped, an explicit
     * count refused. */
    if (!cfg->shards && rt->n > WT_QLB_MAX_SHARDS) {
      rt->n = WT_QLB_MAX_SHARDS;
    }
    const wt_qlb_params *qp = &rt->cfg.shard.engine.qlb;
    int qrv = wt_qlb_check(&rt->cfg.shard.engine.qlb, rt->n, why, cap);
    if (qrv < 0) {
      free(rt);
      return qrv;
    }
    WT_LOG_INFO("QUIC-LB connection IDs: config rotation %u, server ID of %u bytes, nonce of %u "
                "bytes, %s (CIDs of %zu bytes)",
                qp->config_id, qp->server_id_len, qp->nonce_len,
                qp->has_key ? "single-pass AES-128" : "plaintext", wt_qlb_cid_len(qp));
  } else if (rt->cfg.shard.engine.qlb.has_key || rt->cfg.shard.engine.qlb.config_id ||
             rt->cfg.shard.engine.qlb.nonce_len) {
    why_set(why, cap, "QUIC-LB options given without --quic-lb-server-id");
    free(rt);
    return WT_ERR_CONFIG;
  }
  const char *msrc = "--memory-max";
  uint64_t mmax = cfg->memory_max ? cfg->memory_max : wt_runtime_memory_default(&msrc);
  wt_mem_budget_init(&rt->mem, mmax);
  rt->cfg.shard.engine.mem = &rt->mem;
  WT_LOG_INFO("memory budget %llu bytes (%s)", (unsigned long long)mmax, msrc);
  if (rt_counter_names(rt) < 0) {
    why_set(why, cap, "bad application modules (at most %d, with %d counters together)",
            WT_APP_MAX_MODULES, WT_APP_MAX_COUNTERS);
    free(rt);
    return WT_ERR_INVAL;
  }
  rt->notify_fd = rt->sigfd = rt->lock_fd = rt->req_fd = -1;
  pthread_mutex_init(&rt->mu, NULL);
  pthread_cond_init(&rt->cv, NULL);
  pthread_mutex_init(&rt->cturn, NULL);
  pthread_mutex_init(&rt->cmu, NULL);
  pthread_cond_init(&rt->ccv, NULL);
  rt->cmu_init = 1;
  wt_mem_lib_set_budget(&rt->mem); /* wolfSSL's allocations (core/base/wt_mem.h) */
  int rv = rt_prepare(rt, why, cap);
  if (rv == 0) {
    rv = rt_start(rt, why, cap);
  }
  if (rv < 0) {
    rt_release(rt, RT_ABORT);
    rt_free(rt);
    return rv;
  }
  *out = rt;
  return 0;
}

/* The first number on the line of /proc/meminfo starting with key, in
 * bytes (the file says kB), or 0. */
static uint64_t meminfo_bytes(const char *key) {
  FILE *f = fopen("/proc/meminfo", "r");
  if (f == NULL) {
    return 0;
  }
  char line[256];
  uint64_t v = 0;
  size_t kl = strlen(key);
  while (fgets(line, sizeof(line), f)) {
    if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
      unsigned long long kb = 0;
      if (sscanf(line + kl + 1, "%llu", &kb) == 1) {
        v = (uint64_t)kb * 1024;
      }
      break;
    }
  }
  fclose(f);
  return v;
}

/* The cgroup v2 memory.max of this process's cgroup, or 0 (none, "max",
 * unreadable). Only the unified hierarchy is read (the "0::" line). */
static uint64_t cgroup_memory_max(void) {
  char path[512] = "/sys/fs/cgroup/memory.max";
  FILE *f = fopen("/proc/self/cgroup", "r");
  if (f) {
    char line[400];
    while (fgets(line, sizeof(line), f)) {
      if (strncmp(line, "0::", 3) == 0) {
        line[strcspn(line, "\n")] = 0;
        snprintf(path, sizeof(path), "/sys/fs/cgroup%s/memory.max",
                 strcmp(line + 3, "/") == 0 ? "" : line + 3);
        break;
      }
    }
    fclose(f);
  }
  f = fopen(path, "r");
  if (f == NULL && strcmp(path, "/sys/fs/cgroup/memory.max") != 0) {
    f = fopen("/sys/fs/cgroup/memory.max", "r"); /* a namespaced view */
  }
  if (f == NULL) {
    return 0;
  }
  unsigned long long v = 0;
  int ok = fscanf(f, "%llu", &v) == 1;
  fclose(f);
  return ok ? (uint64_t)v : 0;
}

uint64_t wt_runtime_memory_default(const char **src) {
  uint64_t total = meminfo_bytes("MemTotal");
  uint64_t cg = cgroup_memory_max();
  const char *from = "meminfo";
  if (cg > 0 && (total == 0 || cg < total)) {
    total = cg;
    from = "cgroup";
  }
  if (total == 0) {
    if (src) {
      *src = "default 1 GiB: no /proc/meminfo or cgroup limit";
    }
    return UINT64_C(1) << 30;
  }
  if (src) {
    *src = cg > 0 && from[0] == 'c' ? "50% of the cgroup memory.max" : "50% of MemTotal";
  }
  return total / 1000 * WT_RUNTIME_MEMORY_PERMILLE;
}

const wt_mem_budget *wt_runtime_mem(const wt_runtime *rt) {
  return &rt->mem;
}

const wt_io_addr *wt_runtime_local(const wt_runtime *rt) {
  return &rt->local;
}

const wt_app_module *const *wt_runtime_modules(const wt_runtime *rt, size_t *n) {
  *n = rt->cfg.shard.n_modules;
  return rt->cfg.shard.modules;
}

const char *const *wt_runtime_protocols(const wt_runtime *rt, size_t *n) {
  *n = rt->cfg.n_protocols < WT_APP_MAX_PROTOCOLS ? rt->cfg.n_protocols : WT_APP_MAX_PROTOCOLS;
  return rt->cfg.protocols;
}

const char *const *wt_runtime_counter_names(const wt_runtime *rt, size_t *n) {
  *n = rt->n_counter_names;
  return rt->counter_names;
}

uint32_t wt_runtime_shards(const wt_runtime *rt) {
  return rt->n;
}

int wt_runtime_steering(const wt_runtime *rt) {
  return rt->steering;
}

/* ------------------------------------------------------------------ running */

static int rt_is_done(const rt_shard_thread *st) {
  return atomic_load_explicit(&st->done, memory_order_acquire);
}

static void rt_post_all(wt_runtime *rt, int cmd, uint64_t seq) {
  for (uint32_t i = 0; i < rt->n; i++) {
    if (!rt_is_done(&rt->shards[i]) && wt_shard_post(rt->shards[i].sh, cmd, seq) < 0) {
      WT_LOG_WARN("shard %u: command ring full, command %d dropped", i, cmd);
    }
  }
}

static void rt_drain_notify(wt_runtime *rt) {
  uint64_t v;
  if (read(rt->notify_fd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
    WT_LOG_WARN("notify eventfd: %s", strerror(errno));
  }
}

/* Collect the snapshots of request seq from every running shard (bounded
 * wait); stopped shards keep their last one. Returns how many are missing. */
static unsigned rt_collect(wt_runtime *rt, uint64_t seq) {
  uint64_t waited_ms = 0;
  for (;;) {
    unsigned missing = 0;
    for (uint32_t i = 0; i < rt->n; i++) {
      rt_shard_thread *st = &rt->shards[i];
      if (st->last_seq >= seq || rt_is_done(st)) {
        continue;
      }
      if (wt_shard_read_snapshot(st->sh, seq, &st->last)) {
        st->last_seq = seq;
      } else {
        missing++;
      }
    }
    if (missing == 0 || waited_ms >= RT_SNAPSHOT_WAIT_MS) {
      return missing;
    }
    struct pollfd pfd = {.fd = rt->notify_fd, .events = POLLIN};
    poll(&pfd, 1, 50);
    waited_ms += 50;
    rt_drain_notify(rt);
  }
}

/* The application workers' counters (process-wide: added to shard 0's). */
static void rt_add_app_counters(wt_runtime *rt, wt_snapshot *s) {
  uint64_t seq[WT_RUNTIME_MAX_APP_WORKERS] = {0};
  for (uint32_t j = 0; j < rt->m; j++) {
    if (rt->apps[j].wk) {
      seq[j] = wt_app_worker_request_counters(rt->apps[j].wk);
    }
  }
  for (uint32_t j = 0; j < rt->m; j++) {
    if (!rt->apps[j].wk) {
      continue;
    }
    uint64_t c[WT_APP_MAX_COUNTERS];
    wt_app_ctx_stats st;
    for (int waited = 0;; waited += 5) {
      if (wt_app_worker_read_counters(rt->apps[j].wk, seq[j], c, &st) ||
          waited >= RT_SNAPSHOT_WAIT_MS) {
        break;
      }
      poll(NULL, 0, 5);
    }
    for (size_t k = 0; k < WT_APP_MAX_COUNTERS; k++) {
      s->app_counters[k] += c[k];
    }
    s->app.refused += st.refused;
    s->app.alloc_failed += st.alloc_failed;
    s->app.send_window_grows += st.send_window_grows;
    for (size_t k = 0; k < WT_APP_MAX_PROTOCOLS + 2; k++) {
      s->app.protocol_sessions[k] += st.protocol_sessions[k];
    }
    s->app.sessions_live += st.sessions_live;
    s->app.streams_live += st.streams_live;
  }
}

static void rt_report(wt_runtime *rt) {
  uint64_t seq = ++rt->seq;
  rt_post_all(rt, WT_SHARD_CMD_SNAPSHOT, seq);
  unsigned missing = rt_collect(rt, seq);
  if (missing) {
    WT_LOG_WARN("stats: %u shard(s) did not answer in time: their previous counters are shown",
                missing);
  }
  wt_snapshot *per = calloc(rt->n, sizeof(*per));
  if (!per) {
    WT_LOG_ERROR("stats: out of memory");
    return;
  }
  for (uint32_t i = 0; i < rt->n; i++) {
    per[i] = rt->shards[i].last;
  }
  rt_add_app_counters(rt, &per[0]);
  if (rt->cfg.report) {
    rt->cfg.report(rt->cfg.report_arg, rt, per, rt->n);
  }
  free(per);
}

/* ------------------------------------------------------------------ systemd, reload, collect */

int wt_runtime_sd_notify(const char *msg) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (!path || !*path) {
    return 1;
  }
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  size_t len = strlen(path);
  if (len >= sizeof(sa.sun_path) || (path[0] != '/' && path[0] != '@')) {
    WT_LOG_WARN("NOTIFY_SOCKET '%s' is not a socket path", path);
    return WT_ERR_IO;
  }
  memcpy(sa.sun_path, path, len);
  if (path[0] == '@') {
    sa.sun_path[0] = '\0'; /* abstract namespace */
  }
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    WT_LOG_WARN("sd_notify: socket: %s", strerror(errno));
    return WT_ERR_IO;
  }
  ssize_t r = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (const struct sockaddr *)&sa,
                     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
  int e = errno;
  close(fd);
  if (r < 0) {
    WT_LOG_WARN("sd_notify %s: %s", path, strerror(e));
    return WT_ERR_IO;
  }
  return 0;
}

/* SIGHUP: every running shard reloads; wait (bounded) for the results. */
static void rt_reload(wt_runtime *rt) {
  wt_runtime_sd_notify("RELOADING=1\nSTATUS=reloading the certificate");
  uint64_t seq = ++rt->reload_seq;
  rt_post_all(rt, WT_SHARD_CMD_RELOAD, seq);
  unsigned ok = 0, failed = 0, missing = 0;
  for (uint64_t waited_ms = 0;; waited_ms += 50) {
    ok = failed = missing = 0;
    for (uint32_t i = 0; i < rt->n; i++) {
      int rv = 0;
      if (rt_is_done(&rt->shards[i])) {
        continue;
      }
      if (!wt_shard_read_reload(rt->shards[i].sh, seq, &rv)) {
        missing++;
      } else if (rv == 0) {
        ok++;
      } else {
        failed++;
      }
    }
    if (missing == 0 || waited_ms >= RT_SNAPSHOT_WAIT_MS) {
      break;
    }
    struct pollfd pfd = {.fd = rt->notify_fd, .events = POLLIN};
    poll(&pfd, 1, 50);
    rt_drain_notify(rt);
  }
  if (failed || missing) {
    WT_LOG_ERROR("SIGHUP: certificate reloaded on %u shard(s), failed on %u, no answer from %u: "
                 "the others keep the previous certificate",
                 ok, failed, missing);
  } else {
    WT_LOG_INFO("SIGHUP: certificate reloaded on every shard (%u)", ok);
  }
  if (rt->cfg.on_reload) {
    rt->cfg.on_reload(rt->cfg.reload_arg, !failed && !missing);
  }
  wt_runtime_sd_notify("READY=1\nSTATUS=serving");
}

/* A collection was asked for (wt_runtime_collect): serve it. */
static void rt_serve_collect(wt_runtime *rt) {
  uint64_t v;
  if (read(rt->req_fd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
    WT_LOG_WARN("request eventfd: %s", strerror(errno));
  }
  pthread_mutex_lock(&rt->cmu);
  uint64_t want = rt->creq;
  int pending = want > rt->cdone;
  pthread_mutex_unlock(&rt->cmu);
  if (!pending) {
    return;
  }
  uint64_t seq = ++rt->seq;
  rt_post_all(rt, WT_SHARD_CMD_SNAPSHOT, seq);
  unsigned missing = rt_collect(rt, seq);
  if (missing) {
    WT_LOG_WARN_RL(1,
                   "metrics: %u shard(s) did not answer in time: their previous counters are "
                   "shown",
                   missing);
  }
  wt_snapshot apps;
  memset(&apps, 0, sizeof(apps));
  rt_add_app_counters(rt, &apps);
  pthread_mutex_lock(&rt->cmu);
  for (uint32_t i = 0; i < rt->n; i++) {
    rt->cper[i] = rt->shards[i].last;
  }
  rt->capps = apps;
  rt->cdone = want;
  pthread_cond_broadcast(&rt->ccv);
  pthread_mutex_unlock(&rt->cmu);
}

static void rt_close_collect(wt_runtime *rt) {
  pthread_mutex_lock(&rt->cmu);
  rt->cclosed = 1;
  pthread_cond_broadcast(&rt->ccv);
  pthread_mutex_unlock(&rt->cmu);
}

int wt_runtime_collect(wt_runtime *rt, wt_snapshot *per, uint32_t cap, wt_snapshot *apps,
                       int timeout_ms) {
  if (!rt || !per || cap == 0 || timeout_ms < 0) {
    return WT_ERR_INVAL;
  }
  pthread_mutex_lock(&rt->cturn);
  pthread_mutex_lock(&rt->cmu);
  int rv = WT_ERR_AGAIN;
  if (!rt->cclosed) {
    uint64_t my = ++rt->creq;
    uint64_t one = 1;
    if (write(rt->req_fd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
      WT_LOG_WARN("request eventfd: %s", strerror(errno));
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    while (rt->cdone < my && !rt->cclosed) {
      if (pthread_cond_timedwait(&rt->ccv, &rt->cmu, &ts) != 0) {
        break;
      }
    }
    if (rt->cdone >= my) {
      uint32_t n = cap < rt->n ? cap : rt->n;
      memcpy(per, rt->cper, n * sizeof(*per));
      if (apps) {
        *apps = rt->capps;
      }
      rv = (int)n;
    }
  }
  pthread_mutex_unlock(&rt->cmu);
  pthread_mutex_unlock(&rt->cturn);
  return rv;
}

int wt_runtime_io_backend(const wt_runtime *rt, uint32_t i) {
  /* cached at start-up: the shards themselves go away at shutdown */
  return i < rt->n ? rt->backend[i] : -1;
}

static void rt_on_signals(wt_runtime *rt) {
  struct signalfd_siginfo si;
  while (read(rt->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
    switch (si.ssi_signo) {
    case SIGINT:
    case SIGTERM:
      WT_LOG_INFO("%s: %s", si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM",
                  rt->stopping ? "closing every shard now" : "draining every shard");
      if (!rt->stopping) {
        wt_runtime_sd_notify("STOPPING=1\nSTATUS=draining");
      }
      rt->stopping++;
      rt_post_all(rt, WT_SHARD_CMD_STOP, 0);
      break;
    case SIGUSR1:
      rt_report(rt);
      break;
    case SIGHUP:
      if (rt->stopping) {
        WT_LOG_INFO("SIGHUP while stopping: ignored");
      } else {
        WT_LOG_INFO("SIGHUP: reloading the certificate and key");
        rt_reload(rt);
      }
      break;
    default: /* only the four above are routed to the signalfd */
      break;
    }
  }
}

/* Count stopped shards; a failed one stops the rest. */
static uint32_t rt_check_done(wt_runtime *rt) {
  uint32_t done = 0;
  for (uint32_t i = 0; i < rt->n; i++) {
    rt_shard_thread *st = &rt->shards[i];
    if (!rt_is_done(st)) {
      continue;
    }
    done++;
    if (st->rv < 0 && !rt->stopping) {
      WT_LOG_ERROR("shard %u failed (%s): stopping every shard", i, wt_err_str(st->rv));
      rt->stopping++;
      rt_post_all(rt, WT_SHARD_CMD_STOP, 0);
    }
  }
  return done;
}

int wt_runtime_run(wt_runtime *rt) {
  rt->ran = 1;
  char status[128];
  snprintf(status, sizeof(status), "READY=1\nSTATUS=serving on %s with %u shard(s)", rt->listen0,
           rt->n);
  wt_runtime_sd_notify(status);
  while (rt_check_done(rt) < rt->n) {
    struct pollfd pfd[3] = {{.fd = rt->sigfd, .events = POLLIN},
                            {.fd = rt->notify_fd, .events = POLLIN},
                            {.fd = rt->req_fd, .events = POLLIN}};
    int r = poll(pfd, 3, -1);
    if (r < 0 && errno != EINTR) {
      WT_LOG_ERROR("poll: %s", strerror(errno));
      break;
    }
    if (pfd[1].revents & POLLIN) {
      rt_drain_notify(rt);
    }
    if (pfd[0].revents & POLLIN) {
      rt_on_signals(rt);
    }
    if (pfd[2].revents & POLLIN) {
      rt_serve_collect(rt);
    }
  }
  rt_close_collect(rt);
  rt_join(rt);
  int rv = 0;
  for (uint32_t i = 0; i < rt->n; i++) {
    if (rt->shards[i].rv < 0) {
      rv = WT_ERR_IO;
    }
  }
  return rv;
}

void wt_runtime_del(wt_runtime *rt) {
  if (!rt) {
    return;
  }
  if (!rt->ran) {
    /* never run: stop at once (drain, then close) and wait */
    rt_post_all(rt, WT_SHARD_CMD_STOP, 0);
    rt_post_all(rt, WT_SHARD_CMD_STOP, 0);
  }
  rt_free(rt);
}
