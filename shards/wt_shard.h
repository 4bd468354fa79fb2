/* wt_shard.h: one shard: a UDP socket, a protocol engine, timers and the
 * routes of the application modules (lookups only: the applications run on
 * the workers), driven by one single-threaded event loop.
 *
 * The loop, one turn:
 *   wait (wt_io_wait) until a datagram, a command, a writable socket or the
 *     earliest deadline (engine expiry, app timer, drain deadline);
 *   read the clock (CLOCK_MONOTONIC ns: this layer owns the clock);
 *   commands and forwarded datagrams (the wake-up eventfd);
 *   receive: wt_io_recv batches into wt_engine_recv, at most
 *     WT_SHARD_RX_ROUNDS batches per turn (the rest waits one turn);
 *   commands from the application workers (wt_bridge.h);
 *   engine expiry;
 *   transmit: wt_engine_write into the tx batch, then wt_io_send. What the
 *     socket does not take (would-block) is kept and sent first when the socket
 *     is writable again; meanwhile nothing new is generated, and the loop
 *     sleeps instead of spinning.
 * (Expiry and timers run before the transmit step so that everything they
 * queue leaves in the same turn's send.)
 *
 * Stopping: a stop (WT_SHARD_CMD_STOP or wt_shard_stop) is graceful:
 *   wt_engine_shutdown (GOAWAY + DRAIN to every session), keep serving until
 *   no connection is left or drain_timeout_ns has passed, then
 *   wt_engine_close_all, flush, and wt_shard_run returns 0. A second stop
 *   closes at once. Signals are the process's business (wt_runtime.h turns
 *   SIGINT/SIGTERM/SIGUSR1 into commands); a shard never reads them.
 *
 * Several shards (wt_runtime.h): each runs on its own thread with
 * cfg.controlled set, cfg.shard_id/n_shards, a socket in one SO_REUSEPORT
 * group (cfg.reuseport) and, for n_shards > 1, the forwarding mesh
 * (cfg.fwd, wt_fwd.h). Per received datagram the shard checks ownership
 * (wt_steer_owner): a datagram whose DCID names another shard is forwarded
 * to it (at most once), the others go to the engine. Datagrams forwarded to
 * this shard are read from the mesh every turn it is woken. A controlled
 * shard's controller posts commands
 * (wt_shard_post: stop, snapshot) on a ring and wakes it through the
 * shard's eventfd (wt_shard_wake_fd), which the forwarding mesh uses too.
 *
 * Threads: a shard belongs to the thread that created it, except for
 * wt_shard_post, wt_shard_wake_fd and wt_shard_read_snapshot, which its one
 * controller thread may call. */
#ifndef WT_SHARD_H
#define WT_SHARD_H

#include <stdint.h>

#include "wt_app.h"
#include "wt_engine.h"
#include "wt_fwd.h"
#include "wt_io.h"
#include "wt_link.h"
#include "wt_snapshot.h"

#define WT_SHARD_RX_BATCH   64 /* datagrams per wt_io_recv */
#define WT_SHARD_RX_ROUNDS  16 /* wt_io_recv calls per turn at most */
#define WT_SHARD_TX_ENTRIES 64 /* GSO entries per send batch */
#define WT_SHARD_TX_WRITES  16 /* wt_engine_write calls per turn at most */

typedef struct wt_shard wt_shard;

typedef struct wt_shard_config {
  const char *listen;               /* "ADDR:PORT" (wt_io_addr_parse syntax); required */
  const char *cert_file, *key_file; /* PEM; required */
  /* the engine's settings (wt_engine_config_default; origins, limits,
   * timeouts, tls_ciphers, retry_mode, qlog_sample ...), handed to
   * wt_engine_new as they are; the shard sets cert_file, key_file,
   * shard_id, n_shards, static_secret, the key log and the qlog hooks */
  wt_engine_config engine;
  uint64_t drain_timeout_ns; /* graceful shutdown bound, default 5 s */
  /* the applications (wt_app.h): n_modules of them (0: every CONNECT is 404) */
  const wt_app_module *const *modules;
  size_t n_modules;
  const char *keylog_file; /* NULL = off (debugging: TLS secrets, SSLKEYLOGFILE) */
  /* NULL = off: DIR/<start>-<pid>-<seq>.sqlog per traced connection (names
   * the server chooses: start = the first trace's Unix time, seq counts the
   * process's traces; the peer's connection IDs are in the file, never in
   * its name), created O_EXCL | O_NOFOLLOW, mode 0600 */
  const char *qlog_dir;
  uint32_t qlog_max_open; /* traces open at once at most (default 256; more are
                             skipped and counted) */
  /* budgets (0 = the default): bytes of one trace (default 64 MiB; the rest
   * of it is dropped), bytes of every trace of the process together
   * (default 1 GiB) and traces of the process (default 1000; past either,
   * no more is written). Per process: shared by its shards. */
  uint64_t qlog_max_file_bytes, qlog_max_bytes;
  uint32_t qlog_max_files;
  int io_backend; /* WT_IO_BACKEND_* (default AUTO) */
  /* After a turn that handed events to the workers, poll the command rings
   * for up to this long before sleeping, so a quick answer (an echo, a
   * CONNECT decision) is picked up without a sleep and an eventfd wake-up
   * (each costs tens of microseconds of CPU on a VM); spins that run out
   * shorten the next ones. Default 0 (off): it helps light request/answer
   * traffic (paced echo RTT p50 -20 %) but costs CPU under floods, and
   * inline apps (wt_runtime_config.inline_apps) remove the hop instead. */
  uint64_t spin_ns;
  /* Receiving stops for the turn once handshake packets (long headers) have
   * been handled for this long since the turn began: the replies are sent,
   * then receiving goes on (next turn, no sleep). A burst of new connections
   * then gets its first answers after one slice rather than after the whole
   * batch's TLS work (~0.5 ms each). Default 250 us; 0 = the default;
   * UINT64_MAX = never cut short. */
  uint64_t rx_slice_ns;
  /* several shards (wt_runtime.h); the defaults make a standalone shard */
  uint32_t shard_id, n_shards;  /* this shard's index among n_shards (0 of 1) */
  int reuseport;                /* the socket joins a SO_REUSEPORT group (default 0) */
  const uint8_t *static_secret; /* 32 bytes shared by every shard (stateless reset
                                   tokens); NULL = random per engine */
  wt_fwd *fwd;                  /* forwarding mesh when n_shards > 1, else NULL */
  int controlled;               /* commands from a controller thread (wt_shard_post) */
  int notify_fd;                /* controlled: eventfd written after a snapshot is
                                   published (-1 = none) */
  /* the application workers (wt_app_worker.h): links[w] joins this shard to
   * worker w; waker->efd is the shard's wake-up eventfd (commands, forwarded
   * datagrams, worker commands), owned by the caller */
  wt_link *const *links;
  uint32_t n_app_workers;
  wt_waker *waker;
  int inline_apps; /* worker shard_id runs on this thread (wt_shard_set_app_worker):
                      sessions without a hint go to it, and no spinning */
} wt_shard_config;

/* Commands for wt_shard_post. */
enum {
  WT_SHARD_CMD_STOP = 1,     /* drain first, close at the second */
  WT_SHARD_CMD_SNAPSHOT = 2, /* publish the counters (wt_shard_read_snapshot) */
  WT_SHARD_CMD_RELOAD = 3,   /* read cert_file/key_file again for new connections; the
                                result is published (wt_shard_read_reload) */
};

/* Fill c with the defaults above (listen/cert/key NULL). */
void wt_shard_config_default(wt_shard_config *c);

/* Create a shard: open the socket (bound to cfg->listen), the engine (server,
 * shard 0 of 1), the tx/rx batches, the router (with the
 * modules' routes) and, when cfg->controlled, the command ring and wake-up
 * eventfd. cfg is copied; the
 * strings and arrays it points to must outlive the shard.
 * Returns 0, WT_ERR_INVAL (NULL or missing listen/cert/key), WT_ERR_CONFIG
 * (bad address, unreadable or invalid cert/key), WT_ERR_IO (bind failed,
 * e.g. address in use; eventfd failed), WT_ERR_CRYPTO or WT_ERR_NOMEM; each
 * failure is also logged. */
int wt_shard_new(wt_shard **out, const wt_shard_config *cfg);

/* After the loop: tell the workers every session is closed and free the
 * engine (its releases of worker buffers happen here). The workers may
 * stop once every shard has detached. */
void wt_shard_detach(wt_shard *sh);
/* Inline apps (cfg.inline_apps): the loop runs wk's turns (wt_app_worker.h).
 * Call before wt_shard_run, on the shard's thread; NULL = none. */
struct wt_app_worker;
void wt_shard_set_app_worker(wt_shard *sh, struct wt_app_worker *wk);

/* Free everything (detaching first if needed). Buffers the workers still
 * hold must be back (the links freed) first. NULL is a no-op. */
void wt_shard_del(wt_shard *sh);

/* Run the loop until a graceful shutdown completes (returns 0) or the
 * socket fails (returns WT_ERR_IO). */
int wt_shard_run(wt_shard *sh);

/* Ask for a graceful shutdown, as WT_SHARD_CMD_STOP does (from the shard's thread,
 * e.g. from an app timer); a second call closes at once. */
void wt_shard_stop(wt_shard *sh);

/* The bound address (the real port when port 0 was asked). */
const wt_io_addr *wt_shard_local(const wt_shard *sh);

/* Copy every counter into *snap (see wt_snapshot.h). */
void wt_shard_snapshot(const wt_shard *sh, wt_snapshot *snap);

/* Controller thread: queue cmd (WT_SHARD_CMD_*; seq numbers a snapshot
 * request, > 0) and wake the shard. Returns 0, WT_ERR_STATE (not
 * controlled) or WT_ERR_AGAIN (command ring full). */
int wt_shard_post(wt_shard *sh, int cmd, uint64_t seq);

/* Controller thread: if the shard has published the snapshot of request seq
 * (or a later one), copy it into *snap and return 1; else 0. */
int wt_shard_read_snapshot(wt_shard *sh, uint64_t seq, wt_snapshot *snap);

/* Controller thread: if the shard has acted on the reload request seq (or
 * a later one), store its result (0 or a WT_ERR_* code) in *rv and return
 * 1; else 0. */
int wt_shard_read_reload(wt_shard *sh, uint64_t seq, int *rv);

/* The datapath backend in use (WT_IO_BACKEND_PORTABLE or _URING); fixed at
 * creation, so any thread may ask. */
int wt_shard_io_backend(const wt_shard *sh);

/* The shard's wake-up eventfd (controlled shards; -1 otherwise). */
int wt_shard_wake_fd(const wt_shard *sh);

/* The shard's socket (to attach the steering program to its group). */
int wt_shard_socket(const wt_shard *sh);

/* The shard's clock: CLOCK_MONOTONIC in nanoseconds. */
uint64_t wt_shard_clock_ns(void);

#endif
