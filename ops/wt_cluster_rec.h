/* wt_cluster_rec.h: what the cluster registry client (wt_cluster.h)
 * reads and writes, without the network: the --cluster URL, tokens and
 * channel keys, change notices and record values (bounded parsers and
 * their formatters; the grammar is in wt_cluster.h), and the map of
 * channels and nodes the lookups answer from. Pure functions but for the
 * map's hash key (random, once per process). Threads: any; a map is
 * single-threaded (the client locks around it). */
#ifndef WT_CLUSTER_REC_H
#define WT_CLUSTER_REC_H

#include <stddef.h>
#include <stdint.h>

#include "wt_hmap.h"

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

#define WT_CLUSTER_USER_MAX 128 /* registry ACL user name */
#define WT_CLUSTER_PASS_MAX 255 /* registry password */

typedef struct wt_cluster_url {
  char host[256];
  uint16_t port; /* default 6379 */
  uint32_t db;   /* default 0 */
  /* credentials (percent-decoded): user "" = the legacy AUTH PASSWORD (the
   * default user); has_pass 0 = none given in the URL */
  char user[WT_CLUSTER_USER_MAX + 1];
  char pass[WT_CLUSTER_PASS_MAX + 1];
  int has_pass;
} wt_cluster_url;

/* Parse "redis://[USER[:PASSWORD]@]HOST[:PORT][/DB]" (HOST a name, IPv4
 * or [IPv6]; DB 0..65535; USER and PASSWORD percent-encoded as in a URL,
 * no NUL, control character or space once decoded; ":PASSWORD@" alone is
 * the legacy password of the default user). 0, or -1 with a reason in err
 * (which never shows the password). */
int wt_cluster_url_parse(const char *url, wt_cluster_url *out, char *err, size_t cap);

/* A token: 1..max bytes of 0x21..0x7e but '"' and '\\'. 1 if s[0..len) is
 * one, else 0. */
int wt_cluster_token_ok(const char *s, size_t len, size_t max);
/* A node id: 1..WT_CLUSTER_ID_MAX of [A-Za-z0-9._-]. */
int wt_cluster_id_ok(const char *s);

/* Check a channel key KIND/NAME (t, tl bytes: a token, a non-empty kind of
 * at most WT_CLUSTER_KIND_MAX without '/', a non-empty name) and copy it
 * into dst (WT_CLUSTER_KEY_MAX + 1 bytes). 0 or -1. */
int wt_cluster_key_parse(char *dst, const char *t, size_t tl);

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

/* The map's 64-bit hash of key (SipHash-1-3 under a random per-process
 * key; never 0). */
uint64_t wt_cluster_hash(const char *key);
/* Copy at most max bytes of src (NULL: "") into dst (max + 1 bytes). */
void wt_cluster_strcpy(char *dst, const char *src, size_t max);

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
/* The registry unreachable since down_since_ms (0: it is not): once more
 * than max_ms passed at now_ms, every cached answer is older than the
 * bound: all channel entries (and nodes, if given) are removed. How many
 * channels (0 while within the bound). */
size_t wt_cluster_map_drop_stale(wt_cluster_map *chans, wt_cluster_map *nodes,
                                 uint64_t down_since_ms, uint64_t now_ms, uint64_t max_ms);

#endif
