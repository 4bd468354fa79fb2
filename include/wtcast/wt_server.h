/* wt_server.h: a wtcast server inside a program of your own.
 *
 * The small public configuration of the runtime: where to listen, the
 * certificate, the applications (wt_app_module, wt_app.h) and the few
 * knobs an embedding program sets. Everything else (shards' forwarding
 * mesh, the shard<->worker links, wake-ups, timeouts) is the runtime's own
 * business and keeps its defaults (shards/wt_runtime.h; the wtcast program
 * itself configures the runtime there).
 *
 * Threads: wt_server_new starts the shard threads (one per CPU unless
 * shards says otherwise: protocol engines, named wt-shard-N) and the
 * application workers (named wt-app-N; or inline_apps: the applications
 * run on the shard threads). The calling ("main") thread must call
 * wt_server_run, which handles SIGINT/SIGTERM (graceful drain, then close)
 * and SIGHUP (the certificate and key are read again) until every shard
 * has stopped. A module's hooks run on the threads wt_app.h names.
 *
 * Ownership: cfg is copied; the strings, arrays and modules it points to
 * must outlive the server. */
#ifndef WT_SERVER_H
#define WT_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "wt_app.h"

#define WT_SERVER_MAX_SHARDS  64 /* shards at most */
#define WT_SERVER_MAX_WORKERS 64 /* application workers at most */

/* The datapath (wt_server_config.io). */
enum {
  WT_SERVER_IO_AUTO = 0,     /* io_uring when the kernel has it, else portable */
  WT_SERVER_IO_PORTABLE = 1, /* recvmmsg/sendmmsg + epoll */
  WT_SERVER_IO_URING = 2,    /* io_uring or fail */
};

typedef struct wt_server wt_server;

typedef struct wt_server_config {
  const char *listen;                  /* "ADDR:PORT"; port 0 picks one (required) */
  const char *cert_file, *key_file;    /* PEM (required) */
  const wt_app_module *const *modules; /* the applications ... */
  size_t n_modules;                    /* ... of this many (0: every CONNECT is 404) */
  uint32_t shards;                     /* 0 = online CPUs (at most WT_SERVER_MAX_SHARDS) */
  uint32_t app_workers;                /* 0 = one per shard (at most WT_SERVER_MAX_WORKERS) */
  int inline_apps;                     /* the applications run on the shard threads */
  int io;                              /* WT_SERVER_IO_* */
  const char *const *origins;          /* allowed Origins ... */
  size_t n_origins;                    /* ... of this many; 0 = any */
} wt_server_config;

/* Zero everything: the defaults above. */
void wt_server_config_default(wt_server_config *c);

/* Bind, start the threads. On failure returns a negative WT_ERR_* code
 * with why filled (NUL-terminated, cap bytes) and nothing left running. */
int wt_server_new(wt_server **out, const wt_server_config *cfg, char *why, size_t cap);

/* The bound address as "ADDR:PORT" (the real port) into buf. Returns its
 * length or WT_ERR_NOBUF. */
int wt_server_address(const wt_server *s, char *buf, size_t cap);

/* Serve until SIGINT/SIGTERM stopped every shard: 0, or WT_ERR_IO if a
 * shard failed. On the thread that called wt_server_new. */
int wt_server_run(wt_server *s);

/* Join the threads, free. NULL is a no-op. */
void wt_server_del(wt_server *s);

#endif
