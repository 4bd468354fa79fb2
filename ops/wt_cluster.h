/* wt_cluster.h: cluster discovery on a Valkey/Redis registry through
 * libhiredis: a wt_app_locator (wt_app.h) for `--cluster redis://HOST:PORT`.
 *
 * Registry layout (docs/operations.md "Cluster", "The registry"): every
 * value is one line of space-separated tokens (printable ASCII, no space,
 * quote or backslash, bounded: WT_CLUSTER_*_MAX), every key carries a TTL:
 *   wtcast:node:ID       "1 ADDR INFO"      the node (INFO: sessions=N,
 *                                           conns=N,version=V), heartbeat
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
 * Registry down: reconnect with backoff (100 ms doubling to 2 s), logged
 * once per episode and counted; lookups answer the entries known when the
 * connection was lost (their expiry is paused: silence is not evidence that
 * a publisher left, and the cascade's own connection fails if it did) and
 * WT_ERR_UNSUPPORTED for any other name; the fresh SCAN at reconnect
 * replaces them.
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
#include "wt_hmap.h"
#include "wt_http.h"

#define WT_CLUSTER_ID_MAX       64   /* node id: [A-Za-z0-9._-] */
#define WT_CLUSTER_ADDR_MAX     96   /* advertised HOST:PORT */
#define WT_CLUSTER_KIND_MAX     16   /* application kind ("relay", "moq") */
#define WT_CLUSTER_KEY_MAX      200  /* "KIND/NAME" */
#define WT_CLUSTER_INFO_MAX     96   /* the node record's INFO token */
#define WT_CLUSTER_NOTICE_MAX   512  /* one notice or record value */
#define WT_CLUSTER_TTL_MIN_MS   1000 /* --cluster-ttl bounds */
#define WT_CLUSTER_TTL_MAX_MS   600000
#define WT_CLUSTER_TTL_DEF_MS   5000
#define WT_CLUSTER_MAX_CHANNELS 65536 /* remote channels kept (more: counted, ignored) */
#define WT_CLUSTER_MAX_NODES    4096
#define WT_CLUSTER_MAX_LOCAL    16384 /* channels published here */

/* ------------------------------------------------------------ pure parts */

typedef struct wt_cluster_url {
  char host[256];
  uint16_t port; /* default 6379 */
  uint32_t db;   /* default 0 */
} wt_cluster_url;

/* Parse "redis://HOST[:PORT][/DB]" (HOST a name, IPv4 or [IPv6]; DB
 * 0..65535). 0, or -1 with a reason in err. */
int wt_cluster_url_parse(const char *url, wt_cluster_url *out, char *err, size_t cap);

/* A token: 1..max bytes of 0x21..0x7e but '"' and '\\'. 1 if s[0..len) is
 * one, else 0. */
int wt_cluster_token_ok(const char *s, size_t len, size_t max);
/* A node id: 1..WT_CLUSTER_ID_MAX of [A-Za-z0-9._-]. */
int wt_cluster_id_ok(const char *s);

/* The channel key "KIND/NAME" into buf (cap >= WT_CLUSTER_KEY_MAX + 1).
 * Returns its length, or -1 when kind or name is not a token or too long. */
int wt_cluster_key(const char *kind, const char *name, char *buf, size_t cap);

enum {
  WT_CLUSTER_N_ADD = 1, /* "+" */
  WT_CLUSTER_N_DEL,     /* "-" */
  WT_CLUSTER_N_HB,      /* "hb" */
  WT_CLUSTER_N_RESET,   /* "reset" */
  WT_CLUSTER_N_BYE,     /* "bye" */
};

typedef struct wt_cluster_notice {
  int type; /* WT_CLUSTER_N_* */
  uint32_t ttl_ms;
  char node[WT_CLUSTER_ID_MAX + 1];
  char addr[WT_CLUSTER_ADDR_MAX + 1];
  char key[WT_CLUSTER_KEY_MAX + 1];   /* + and - */
  char info[WT_CLUSTER_INFO_MAX + 1]; /* hb */
} wt_cluster_notice;

/* Parse a notice (len bytes, not NUL-terminated). 0, or WT_ERR_MALFORMED
 * (unknown type, wrong token count, a token too long or not a token, a TTL
 * outside WT_CLUSTER_TTL_MIN_MS..WT_CLUSTER_TTL_MAX_MS). */
int wt_cluster_notice_parse(const char *s, size_t len, wt_cluster_notice *out);
/* Format n into buf; its length, or WT_ERR_NOBUF / WT_ERR_INVAL. */
int wt_cluster_notice_format(const wt_cluster_notice *n, char *buf, size_t cap);

/* Record values: a channel's "1 ID ADDR", a node's "1 ADDR INFO". Parse:
 * 0 or WT_ERR_MALFORMED; format: length or WT_ERR_NOBUF. */
int wt_cluster_chan_value_parse(const char *s, size_t len, char *node, char *addr);
int wt_cluster_node_value_parse(const char *s, size_t len, char *addr, char *info);

/* ------------------------------------------------------------ the map */

typedef struct wt_cluster_entry {
  uint64_t expires_ms;                /* its own record's TTL end (monotonic ms) */
  char key[WT_CLUSTER_KEY_MAX + 1];   /* channel: "KIND/NAME"; node: its id */
  char node[WT_CLUSTER_ID_MAX + 1];   /* the node publishing it (node: itself) */
  char addr[WT_CLUSTER_ADDR_MAX + 1]; /* its advertised address */
  char info[WT_CLUSTER_INFO_MAX + 1]; /* node: INFO */
} wt_cluster_entry;

/* String keys to entries (owned), at most max of them. Single-threaded
 * (the cluster locks around it). */
typedef struct wt_cluster_map {
  wt_hmap h;
  size_t max;
} wt_cluster_map;

void wt_cluster_map_init(wt_cluster_map *m, size_t max);
void wt_cluster_map_free(wt_cluster_map *m);
/* Add or replace key's entry. 0, WT_ERR_LIMIT (max entries: not added),
 * WT_ERR_STATE (a 64-bit hash collision with another key: not added),
 * WT_ERR_NOMEM. */
int wt_cluster_map_put(wt_cluster_map *m, const char *key, const char *node, const char *addr,
                       const char *info, uint64_t expires_ms);
wt_cluster_entry *wt_cluster_map_get(const wt_cluster_map *m, const char *key);
/* Remove key if node publishes it (node NULL: whoever does). 1 removed, 0 not. */
int wt_cluster_map_del(wt_cluster_map *m, const char *key, const char *node);
/* Remove every entry of node; how many. */
size_t wt_cluster_map_drop_node(wt_cluster_map *m, const char *node);
static inline size_t wt_cluster_map_count(const wt_cluster_map *m) {
  return wt_hmap_count(&m->h);
}

/* Whether a channel entry is live at now: its own TTL, or its node's
 * (nodes may be NULL) whose heartbeats refresh all its channels. */
int wt_cluster_entry_live(const wt_cluster_entry *e, const wt_cluster_map *nodes, uint64_t now_ms);
/* Remove the channels not live at now, then the nodes whose TTL passed;
 * how many channels were removed. */
size_t wt_cluster_map_expire(wt_cluster_map *chans, wt_cluster_map *nodes, uint64_t now_ms);

/* ------------------------------------------------------------ the client */

typedef struct wt_cluster_config {
  const char *url;       /* redis://HOST:PORT[/DB] */
  const char *node_id;   /* WT_CLUSTER_ID_MAX of [A-Za-z0-9._-] */
  const char *advertise; /* HOST:PORT other nodes reach this one at; NULL: wt_cluster_start's */
  uint32_t ttl_ms;       /* WT_CLUSTER_TTL_MIN_MS..MAX; 0 = default */
  const char *version;   /* for the node record */
  /* the node's load for its record (the cluster thread calls it once per
   * heartbeat; it may block briefly); NULL = zeros */
  void (*load)(void *arg, uint64_t *sessions, uint64_t *conns);
  void *load_arg;
} wt_cluster_config;

typedef struct wt_cluster_stats {
  uint64_t up; /* 1 while both connections are up and registered */
  uint64_t reconnects, connect_failures, heartbeats, sets, deletes, refresh_conflicts;
  uint64_t lookup_hit, lookup_miss, lookup_failed;
  uint64_t notices, malformed, errors, expired, publish_dropped, map_full;
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

/* GET /cluster on the --http listener (wt_http_handler_fn, arg = c): JSON
 * {"node","advertise","registry_up","nodes":[...],"channels":[...]} (at
 * most 1000 channels; "truncated" says so); with ?lookup=KIND/NAME it
 * answers that lookup instead (the locator's, counted):
 * {"lookup":"KIND/NAME","result":1|0|-N,"addr":"HOST:PORT"}. */
int wt_cluster_http(void *arg, const char *path, const char *query, wt_http_reply *out);

#endif
