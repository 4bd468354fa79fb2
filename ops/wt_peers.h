/* wt_peers.h: the static cluster locator (docs/operations.md "Cluster"):
 * `--cluster-peers HOST:PORT[,HOST:PORT...]` or `[cluster] peers = ...`.
 *
 * Every node is a candidate for every channel: lookup(idx) answers the
 * idx-th peer of the list, in order, skipping this node's own address
 * (self: so one list can be shared by every node); publish is a no-op
 * (nothing to record). The relay tries the candidates in turn and comes
 * back to the first after the last (apps/wt_app_relay.c, "Cascade" in
 * apps/wt_apps.h). A peer may be a host name: it is resolved here, at
 * start (wt_cluster_resolve, on the calling thread: a shard resolves no
 * names), once; lookups answer the numeric form.
 *
 * Ownership: a wt_peers owns its copies of the addresses and the
 * wt_app_locator it hands out, both valid until wt_peers_del. Threading:
 * immutable after wt_peers_new; lookup may be called from any thread. */
#ifndef WT_PEERS_H
#define WT_PEERS_H

#include <stddef.h>

#include "wt_app.h"

typedef struct wt_peers wt_peers;

/* peers[0..n): "HOST:PORT" each (a name, IPv4 or [IPv6]); self: this
 * node's address (NULL or a wildcard: none is skipped). Blocks while names
 * resolve. Returns 0, or WT_ERR_INVAL with the reason in err (not
 * HOST:PORT, a name that does not resolve), WT_ERR_NOMEM. */
int wt_peers_new(wt_peers **out, const char *const *peers, size_t n, const char *self, char *err,
                 size_t cap);
void wt_peers_del(wt_peers *p);
const wt_app_locator *wt_peers_locator(wt_peers *p);
/* The peers kept (self skipped). */
size_t wt_peers_count(const wt_peers *p);

#endif
