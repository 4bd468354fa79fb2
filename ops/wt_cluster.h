/* wt_cluster.h: cluster discovery on a Valkey/Redis registry through
 * libhiredis: a wt_app_locator (wt_app.h) for `--cluster redis://HOST:PORT`.
 *
 * Registry layout (docs/operations.md "Cluster", "The registry"): every
 * value is one line of space-separated tokens (printable ASCII, no space,
 * quote or backslash, bounded: WT_CLUSTER_*_MAX), every key carries a TTL:
 *   wtcast:node:ID       "1 ADDR INFO"      the node (INFO: sessions=N,
 *                                           conns=N,subs=N,version=V), heartbeat
 *                                           every TTL/3
 *   wtcast:ch:KIND/NAME  "1 ID ADDR"        a channel published on node ID,
 *                                           refreshed every TTL/3 while live,
 *                                           deleted (if still ID's) at live=0
 * and change notices on the pub/sub channel wtcast:DB:notices (pub/sub is
 * not per database, hence the DB in its name):
 *   "+ ID TTL_MS ADDR KIND/NAME"   ID publishes KIND/NAME now
 *   "- ID KIND/NAME"               ID stopped publishing it
 *   "hb ID TTL_MS ADDR INFO"       ID's heartbeat: ID and its channels live
 *                                  TTL_MS longer
 *   "reset ID"                     ID (re)connected: forget its channels,
 *                                  its "+" notices follow
 *   "bye ID"                       ID shuts down: forget it and its channels
 *
 * The registry thread owns both hiredis connections (a command connection
 * and one in SUBSCRIBE mode): hiredis blocks, so nothing else ever calls it.
 * At every (re)connect it subscribes, then SCANs the keys into a fresh map
 * (replacing the old one), then sends "reset" and re-registers the node and
 * every channel published here. The workers' lookups read the map under a
 * read lock (no round trip); their publishes only mark the channel in a
 * local table and wake the thread.
 *
 * Credentials (AUTH USER PASSWORD or the legacy AUTH PASSWORD) are sent
 * on every connection before anything else; a refusal is logged (the
 * registry's reason, never the password), counted, and retried with the
 * backoff below (or fails a strict start).
 *
 * Advertised addresses may be host names: the registry keeps them as
 * given; the cluster thread resolves the names its map holds (at most
 * RESOLVE_PER_PASS per pass, again every 30 s, every 2 s while one fails:
 * logged once per failure, counted) and lookups answer the numeric form
 * (a name not resolved yet: no candidate). The registry's own host name
 * is resolved by hiredis at every connection.
 *
 * Registry down: reconnect with backoff (100 ms doubling to 2 s), logged
 * once per episode and counted; lookups answer the entries known when the
 * connection was lost (their expiry is paused: silence is not evidence that
 * a publisher left, and the cascade's own connection fails if it did) and
 * WT_ERR_UNSUPPORTED for any other name; the fresh SCAN at reconnect
 * replaces them. After stale_max_ms down those answers are dropped too
 * (logged, counted): new lookups fail until the registry is back; the
 * upstreams already flowing are not touched.
 *
 * Every reply is checked (type, element count, token syntax and length);
 * anything else is counted as malformed and logged (rate-limited), the
 * record ignored. Threads: wt_cluster_new/del on one thread (main); the
 * locator and the module's hooks from any thread. */
#ifndef WT_CLUSTER_H
#define WT_CLUSTER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "wt_app.h"
#include "wt_cluster_rec.h"
#include "wt_http.h"

/* ------------------------------------------------------------ the client */

typedef struct wt_cluster_config {
  const char *url; /* redis://[USER[:PASSWORD]@]HOST:PORT[/DB] */
  /* a file holding the registry password (its first line; re-read at every
   * (re)connect, so a rotated password is picked up): not in argv or ps.
   * With it, the URL's user (redis://USER@HOST) is the ACL user, none the
   * legacy password. NULL = the URL's password, if any */
  const char *auth_file;
  /* 1: wt_cluster_start fails unless the registry is reachable and accepts
   * this node (credentials, registration); 0: it is retried in the
   * background like any loss (a refused AUTH is logged and counted) */
  int strict;
  const char *node_id;   /* WT_CLUSTER_ID_MAX of [A-Za-z0-9._-] */
  const char *advertise; /* HOST:PORT other nodes reach this one at; NULL: wt_cluster_start's */
  uint32_t ttl_ms;       /* WT_CLUSTER_TTL_MIN_MS..MAX; 0 = default */
  const char *version;   /* for the node record */
  /* the node's load for its record (the cluster thread calls it once per
   * heartbeat; it may block briefly): live sessions, QUIC connections and
   * relay subscribers (the deliveries per published message); NULL = zeros */
  void (*load)(void *arg, uint64_t *sessions, uint64_t *conns, uint64_t *subscribers);
  void *load_arg;
  /* cached answers kept this long at most while the registry is down;
   * 0 = WT_CLUSTER_STALE_TTLS x ttl */
  uint32_t stale_max_ms;
} wt_cluster_config;

#define WT_CLUSTER_STALE_TTLS 6

typedef struct wt_cluster_stats {
  uint64_t up; /* 1 while both connections are up and registered */
  uint64_t reconnects, connect_failures, heartbeats, sets, deletes, refresh_conflicts;
  uint64_t lookup_hit, lookup_miss, lookup_failed;
  uint64_t notices, malformed, errors, expired, publish_dropped, map_full;
  uint64_t auth_failures; /* connections the registry refused (AUTH, NOAUTH) */
  uint64_t stale_dropped; /* cached channel answers dropped as too old (--cluster-stale-max) */
  uint64_t unresolved;    /* advertised names that did not resolve (each attempt) */
  uint64_t channels, nodes, local; /* gauges */
  uint64_t last_scan_keys;
} wt_cluster_stats;

typedef struct wt_cluster wt_cluster;

/* Validate cfg (the URL, the id, the address if given: err says what is
 * wrong) and make the client, not started: its locator may be handed out
 * (lookups answer WT_ERR_UNSUPPORTED, publishes wait). 0, WT_ERR_INVAL,
 * WT_ERR_NOMEM or WT_ERR_IO. */
int wt_cluster_new(wt_cluster **out, const wt_cluster_config *cfg, char *err, size_t cap);
/* Start the registry thread, advertising advertise (NULL: cfg's; one of
 * them is needed), e.g. once the listener's real port is known. It
 * connects on its own: a registry down at start is not an error. 0,
 * WT_ERR_INVAL or WT_ERR_IO. Once. */
int wt_cluster_start(wt_cluster *c, const char *advertise, char *err, size_t cap);
/* Leave the cluster (delete this node's records, "bye"; bounded by the
 * connection's 1 s timeout), stop the thread, free. After the server
 * stopped calling the locator. NULL is a no-op. */
void wt_cluster_del(wt_cluster *c);

/* The locator (wt_app.h) and the statistics module (no routes: the
 * "cluster" member of the SIGUSR1 line and the wtcast_cluster_* metric
 * families); both point into c. */
const wt_app_locator *wt_cluster_locator(wt_cluster *c);
const wt_app_module *wt_cluster_module(wt_cluster *c);
void wt_cluster_get_stats(wt_cluster *c, wt_cluster_stats *out);

/* HOST:PORT (a name, IPv4 or [IPv6]) to its numeric form (the first
 * address getaddrinfo gives) into out (WT_IO_ADDR_STRLEN): 0, or -1 with
 * the reason in err. Blocks on a name: the cluster thread's and start-up's
 * business only, never a shard's or a worker's. */
int wt_cluster_resolve(const char *hostport, char *out, size_t cap, char *err, size_t errcap);

/* GET /cluster on the --http listener (wt_http_handler_fn, arg = c): JSON
 * {"node","advertise","registry_up","nodes":[...],"channels":[...]} (at
 * most 1000 channels; "truncated" says so); with ?lookup=KIND/NAME it
 * answers that lookup instead (the locator's, counted):
 * {"lookup":"KIND/NAME","result":1|0|-N,"addr":"HOST:PORT"}. */
int wt_cluster_http(void *arg, const char *path, const char *query, wt_http_reply *out);

#endif
