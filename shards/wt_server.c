/* wt_server.c: the public configuration of an embedded server (see
 * include/wtcast/wt_server.h) mapped onto the runtime (wt_runtime.h). */
#include "wt_server.h"

#include <stdio.h>
#include <stdlib.h>

#include "wt_error.h"
#include "wt_io.h"
#include "wt_runtime.h"

_Static_assert(WT_SERVER_MAX_SHARDS == WT_RUNTIME_MAX_SHARDS, "shard bound");
_Static_assert(WT_SERVER_MAX_WORKERS == WT_RUNTIME_MAX_APP_WORKERS, "worker bound");
_Static_assert((int)WT_SERVER_IO_AUTO == (int)WT_IO_BACKEND_AUTO &&
                   (int)WT_SERVER_IO_PORTABLE == (int)WT_IO_BACKEND_PORTABLE &&
                   (int)WT_SERVER_IO_URING == (int)WT_IO_BACKEND_URING,
               "the datapath values are the runtime's");

struct wt_server {
  wt_runtime *rt;
};

void wt_server_config_default(wt_server_config *c) {
  *c = (wt_server_config){0};
}

int wt_server_new(wt_server **out, const wt_server_config *cfg, char *why, size_t cap) {
  if (!out || !cfg) {
    return WT_ERR_INVAL;
  }
  wt_runtime_config rc;
  wt_runtime_config_default(&rc);
  rc.shard.listen = cfg->listen;
  rc.shard.cert_file = cfg->cert_file;
  rc.shard.key_file = cfg->key_file;
  rc.shard.modules = cfg->modules;
  rc.shard.n_modules = cfg->n_modules;
  rc.shard.io_backend = cfg->io;
  rc.shard.engine.origins = cfg->origins;
  rc.shard.engine.n_origins = cfg->n_origins;
  rc.shards = cfg->shards;
  rc.app_workers = cfg->app_workers;
  rc.inline_apps = cfg->inline_apps;
  wt_server *s = calloc(1, sizeof(*s));
  if (!s) {
    return WT_ERR_NOMEM;
  }
  int rv = wt_runtime_new(&s->rt, &rc, why, cap);
  if (rv < 0) {
    free(s);
    return rv;
  }
  *out = s;
  return 0;
}

int wt_server_address(const wt_server *s, char *buf, size_t cap) {
  char a[WT_IO_ADDR_STRLEN];
  wt_io_addr_format(wt_runtime_local(s->rt), a, sizeof(a));
  int n = snprintf(buf, cap, "%s", a);
  return n < 0 || (size_t)n >= cap ? WT_ERR_NOBUF : n;
}

int wt_server_run(wt_server *s) {
  return wt_runtime_run(s->rt);
}

void wt_server_del(wt_server *s) {
  if (!s) {
    return;
  }
  wt_runtime_del(s->rt);
  free(s);
}
