/* wt_peers.c: the static cluster locator (wt_peers.h). */
#define WT_LOG_MODULE "cluster"
#include "wt_peers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wt_cluster.h"
#include "wt_error.h"
#include "wt_io.h"
#include "wt_log.h"

struct wt_peers {
  wt_app_locator loc;
  size_t n;
  char (*addr)[WT_IO_ADDR_STRLEN]; /* normalized (wt_io_addr_format) */
};

static int peers_lookup(void *arg, const char *kind, const char *name, unsigned idx, char *addr,
                        size_t cap) {
  const wt_peers *p = arg;
  (void)kind;
  (void)name;
  if (idx >= p->n) {
    return 0;
  }
  if (strlen(p->addr[idx]) + 1 > cap) {
    return WT_ERR_NOBUF;
  }
  memcpy(addr, p->addr[idx], strlen(p->addr[idx]) + 1);
  return 1;
}

static void peers_publish(void *arg, const char *kind, const char *name, int live) {
  (void)arg;
  (void)kind;
  (void)name;
  (void)live; /* every peer is a candidate anyway: nothing to record */
}

int wt_peers_new(wt_peers **out, const char *const *peers, size_t n, const char *self, char *err,
                 size_t cap) {
  char me[WT_IO_ADDR_STRLEN] = "";
  wt_io_addr a;
  char why0[256];
  if (self && wt_cluster_resolve(self, me, sizeof(me), why0, sizeof(why0)) < 0) {
    me[0] = 0; /* a wildcard or a name that does not resolve: nothing skipped */
  }
  wt_peers *p = calloc(1, sizeof(*p));
  if (!p || !(p->addr = calloc(n ? n : 1, sizeof(*p->addr)))) {
    free(p);
    snprintf(err, cap, "out of memory");
    return WT_ERR_NOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    char f[WT_IO_ADDR_STRLEN], why[256];
    if (wt_cluster_resolve(peers[i], f, sizeof(f), why, sizeof(why)) < 0) {
      snprintf(err, cap, "%s", why);
      wt_peers_del(p);
      return WT_ERR_INVAL;
    }
    if (wt_io_addr_parse(peers[i], &a) < 0) {
      WT_LOG_INFO("cluster peer %s resolves to %s (resolved once, at start)", peers[i], f);
    }
    if (me[0] && !strcmp(f, me)) {
      continue; /* never this node itself */
    }
    memcpy(p->addr[p->n++], f, sizeof(f));
  }
  p->loc = (wt_app_locator){.lookup = peers_lookup, .publish = peers_publish, .arg = p};
  *out = p;
  return 0;
}

void wt_peers_del(wt_peers *p) {
  if (p) {
    free(p->addr);
    free(p);
  }
}

const wt_app_locator *wt_peers_locator(wt_peers *p) {
  return &p->loc;
}

size_t wt_peers_count(const wt_peers *p) {
  return p->n;
}
