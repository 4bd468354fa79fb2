/* wt_cluster.c: see wt_cluster.h. */
#define _GNU_SOURCE   /* pipe2, pthread_setname_np */
#define WT_LOG_MODULE "cluster"
#include "wt_cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis.h>

#include "wt_error.h"
#include "wt_io.h"
#include "wt_log.h"

#define CH_PREFIX         "wtcast:ch:"
#define NODE_PREFIX       "wtcast:node:"
#define IO_TIMEOUT_MS     1000 /* every registry command and connect */
#define BACKOFF_MIN_MS    100
#define BACKOFF_MAX_MS    2000
#define SWEEP_MS          250
#define SCAN_COUNT        500   /* keys asked per SCAN */
#define SCAN_MAX_ROUNDS   20000 /* SCAN calls per (re)connect at most */
#define SCAN_BATCH_MAX    5000  /* keys accepted in one SCAN reply */
#define NOTICES_PER_TURN  1024  /* notices handled per loop turn */
#define SUB_PENDING_MAX   65536 /* bytes of one incomplete notice at most */
#define HTTP_MAX_CHANNELS 1000
#define RESOLVE_EVERY_MS  30000 /* a resolved advertised name is looked up again */
#define RESOLVE_RETRY_MS  2000  /* ... one that did not resolve */
#define RESOLVE_PER_PASS  32    /* names resolved per pass at most (each may block) */
#define RESOLVE_MAX       4096  /* names kept (one per node, as WT_CLUSTER_MAX_NODES) */

static int err_set(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int err_set(char *err, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, cap, fmt, ap);
  va_end(ap);
  return -1;
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int is_numeric(const char *a) {
  wt_io_addr x;
  return wt_io_addr_parse(a, &x) == 0;
}

/* ------------------------------------------------------------ the client */

typedef struct local_ent { /* a channel published here */
  char key[WT_CLUSTER_KEY_MAX + 1];
  int want;  /* 1: live (record kept), 0: to delete */
  int dirty; /* on the dirty list */
  struct local_ent *next_dirty;
} local_ent;

typedef struct resolved { /* an advertised name and its numeric address */
  char name[WT_CLUSTER_ADDR_MAX + 1];
  char addr[WT_IO_ADDR_STRLEN]; /* "" = it did not resolve */
  uint64_t at_ms;               /* when it was (tried to be) resolved */
  int seen;                     /* still advertised by an entry (the last pass) */
} resolved;

typedef struct local_op {
  char key[WT_CLUSTER_KEY_MAX + 1];
  int want;
} local_op;

enum {
  C_RECONNECTS,
  C_CONNECT_FAILURES,
  C_HEARTBEATS,
  C_SETS,
  C_DELETES,
  C_CONFLICTS,
  C_HIT,
  C_MISS,
  C_FAILED,
  C_NOTICES,
  C_MALFORMED,
  C_ERRORS,
  C_EXPIRED,
  C_DROPPED,
  C_MAP_FULL,
  C_AUTH,
  C_STALE,
  C_UNRESOLVED,
  C_N
};

struct wt_cluster {
  wt_cluster_url url; /* with the credentials (the password: the URL's or auth_file's) */
  char *auth_file;    /* NULL: the URL's credentials */
  int strict;
  char id[WT_CLUSTER_ID_MAX + 1];
  char addr[WT_CLUSTER_ADDR_MAX + 1];
  char version[32];
  char notices[48]; /* the pub/sub channel */
  uint32_t ttl_ms;
  void (*load)(void *arg, uint64_t *sessions, uint64_t *conns, uint64_t *subscribers);
  void *load_arg;
  uint64_t stale_max_ms;

  pthread_t th;
  int started;
  int wake[2];
  _Atomic int stop;

  pthread_rwlock_t lock; /* chans, nodes */
  wt_cluster_map chans, nodes;

  wt_hmap names;   /* under lock: advertised HOST:PORT names -> resolved (wt_cluster.h) */
  int resolve_due; /* the thread's: a name may need resolving */

  pthread_mutex_t mu; /* local, dirty, n_local */
  wt_hmap local;
  local_ent *dirty;

  _Atomic int up;
  _Atomic uint64_t cnt[C_N];
  _Atomic uint64_t n_chans, n_nodes, n_local, last_scan_keys;

  /* the thread's own */
  redisContext *cmd, *sub;
  int auth_refused;    /* the last connect failed on the credentials */
  uint64_t down_since; /* 0: not in a down episode */
  uint32_t backoff_ms;

  wt_app_locator loc;
  wt_app_module mod;
};

static void count(wt_cluster *c, int what) {
  atomic_fetch_add_explicit(&c->cnt[what], 1, memory_order_relaxed);
}

static void gauges(wt_cluster *c) { /* under the lock (read or write) */
  atomic_store(&c->n_chans, wt_cluster_map_count(&c->chans));
  atomic_store(&c->n_nodes, wt_cluster_map_count(&c->nodes));
}

/* A reply that is no use: counted and logged (rate-limited). */
static void bad_reply(wt_cluster *c, const char *what, const redisReply *r) {
  if (r && r->type == REDIS_REPLY_ERROR) {
    count(c, C_ERRORS);
    WT_LOG_WARN_RL(5, "registry: %s: error reply '%.*s'", what, (int)(r->len < 200 ? r->len : 200),
                   r->str);
  } else {
    count(c, C_MALFORMED);
    WT_LOG_WARN_RL(5, "registry: %s: unexpected reply (type %d)", what, r ? r->type : -1);
  }
}

static int is_str(const redisReply *r) {
  return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

/* ------------------------------------------------ connection */

static void disconnect(wt_cluster *c, const char *why) {
  if (c->cmd || c->sub) {
    if (atomic_exchange(&c->up, 0)) {
      WT_LOG_WARN("registry redis://%s:%u lost (%s): lookups answer the %llu known channel(s) "
                  "only; reconnecting",
                  c->url.host, c->url.port, why, (unsigned long long)atomic_load(&c->n_chans));
      c->down_since = now_ms();
    }
  }
  if (c->cmd) {
    redisFree(c->cmd);
  }
  if (c->sub) {
    redisFree(c->sub);
  }
  c->cmd = c->sub = NULL;
}

/* An error reply that means "not allowed in": no or wrong credentials. */
static int is_auth_error(const char *e) {
  return !strncmp(e, "NOAUTH", 6) || !strncmp(e, "WRONGPASS", 9) || !strncmp(e, "NOPERM", 6) ||
         !strncmp(e, "ERR AUTH", 8) || !strncmp(e, "ERR invalid password", 20);
}

/* The password file's first line into c->url.pass: 0, or -1 with why (the
 * old password stays). */
static int read_auth_file(wt_cluster *c, char *why, size_t cap) {
  char buf[WT_CLUSTER_PASS_MAX + 2];
  FILE *f = fopen(c->auth_file, "re");
  if (!f) {
    snprintf(why, cap, "--cluster-auth-file %s: %s", c->auth_file, strerror(errno));
    return -1;
  }
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  size_t len = strcspn(buf, "\r\n");
  buf[len] = '\0';
  int ok = len > 0 && len <= WT_CLUSTER_PASS_MAX;
  for (size_t i = 0; ok && i < len; i++) {
    ok = (unsigned char)buf[i] >= 0x20 && buf[i] != 0x7f;
  }
  if (!ok) {
    snprintf(why, cap,
             "--cluster-auth-file %s: its first line must be the password (1 to %d bytes, "
             "no control characters)",
             c->auth_file, WT_CLUSTER_PASS_MAX);
    return -1;
  }
  memcpy(c->url.pass, buf, len + 1);
  c->url.has_pass = 1;
  return 0;
}

static redisContext *dial(wt_cluster *c, char *why, size_t cap) {
  struct timeval tv = {IO_TIMEOUT_MS / 1000, (IO_TIMEOUT_MS % 1000) * 1000};
  redisContext *r = redisConnectWithTimeout(c->url.host, c->url.port, tv);
  if (!r || r->err) {
    snprintf(why, cap, "%s", r ? r->errstr : "out of memory");
    if (r) {
      redisFree(r);
    }
    return NULL;
  }
  if (redisSetTimeout(r, tv) != REDIS_OK) {
    snprintf(why, cap, "cannot set the socket timeout");
    redisFree(r);
    return NULL;
  }
  if (c->url.has_pass) {
    const char *argv[3] = {"AUTH", c->url.user, c->url.pass};
    int argc = c->url.user[0] ? 3 : 2;
    if (argc == 2) {
      argv[1] = c->url.pass;
    }
    redisReply *rep = redisCommandArgv(r, argc, argv, NULL);
    int ok = rep && rep->type == REDIS_REPLY_STATUS;
    if (!ok) {
      if (rep && rep->type == REDIS_REPLY_ERROR) {
        c->auth_refused = 1;
        snprintf(why, cap, "AUTH%s%.64s refused: %.120s", c->url.user[0] ? " as " : "", c->url.user,
                 rep->str);
      } else {
        snprintf(why, cap, "AUTH: %s", r->err ? r->errstr : "bad reply");
      }
    }
    if (rep) {
      freeReplyObject(rep);
    }
    if (!ok) {
      redisFree(r);
      return NULL;
    }
  }
  if (c->url.db) {
    redisReply *rep = redisCommand(r, "SELECT %u", c->url.db);
    int ok = is_str(rep) && rep->type == REDIS_REPLY_STATUS;
    if (!ok) {
      c->auth_refused = rep && rep->type == REDIS_REPLY_ERROR && is_auth_error(rep->str);
      snprintf(why, cap, "SELECT %u: %s", c->url.db,
               rep && rep->type == REDIS_REPLY_ERROR ? rep->str
               : r->err                              ? r->errstr
                                                     : "bad reply");
    }
    if (rep) {
      freeReplyObject(rep);
    }
    if (!ok) {
      redisFree(r);
      return NULL;
    }
  }
  return r;
}

/* Read n pipelined replies; each goes to check (may be NULL: any
 * non-error reply). -1 when the connection failed. */
static int read_replies(wt_cluster *c, size_t n, const char *what,
                        void (*check)(wt_cluster *, redisReply *, size_t, void *), void *arg) {
  for (size_t i = 0; i < n; i++) {
    void *rv = NULL;
    if (redisGetReply(c->cmd, &rv) != REDIS_OK || !rv) {
      return -1;
    }
    redisReply *r = rv;
    if (r->type == REDIS_REPLY_ERROR) {
      bad_reply(c, what, r);
    } else if (check) {
      check(c, r, i, arg);
    }
    freeReplyObject(r);
  }
  return 0;
}

/* ------------------------------------------------ SCAN */

typedef struct scan_ctx {
  wt_cluster_map chans, nodes;
  char (*keys)[WT_CLUSTER_KEY_MAX + sizeof(NODE_PREFIX)];
  size_t n_keys, total;
  uint64_t now;
} scan_ctx;

/* One SCAN round: the keys into s->keys; the next cursor into cur. 0, or
 * -1 (connection failed), or 1 (a malformed reply: the scan ends). */
static int scan_round(wt_cluster *c, scan_ctx *s, char *cur, size_t cap) {
  redisReply *r = redisCommand(c->cmd, "SCAN %s MATCH wtcast:* COUNT %d", cur, SCAN_COUNT);
  if (!r) {
    return -1;
  }
  int rv = 1;
  s->n_keys = 0;
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
      r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len == 0 ||
      r->element[0]->len >= cap || r->element[1]->type != REDIS_REPLY_ARRAY ||
      r->element[1]->elements > SCAN_BATCH_MAX) {
    bad_reply(c, "SCAN", r);
    freeReplyObject(r);
    return 1;
  }
  memcpy(cur, r->element[0]->str, r->element[0]->len);
  cur[r->element[0]->len] = '\0';
  redisReply *ks = r->element[1];
  for (size_t i = 0; i < ks->elements; i++) {
    redisReply *k = ks->element[i];
    if (k->type != REDIS_REPLY_STRING ||
        !wt_cluster_token_ok(k->str, k->len, sizeof(s->keys[0]) - 1)) {
      bad_reply(c, "SCAN key", k);
      continue;
    }
    memcpy(s->keys[s->n_keys], k->str, k->len);
    s->keys[s->n_keys++][k->len] = '\0';
  }
  rv = 0;
  freeReplyObject(r);
  return rv;
}

/* A scanned key's value and TTL into the fresh maps. */
static void scan_put(wt_cluster *c, scan_ctx *s, const char *key, const redisReply *v,
                     const redisReply *ttl) {
  char node[WT_CLUSTER_ID_MAX + 1], addr[WT_CLUSTER_ADDR_MAX + 1], info[WT_CLUSTER_INFO_MAX + 1];
  if (v->type == REDIS_REPLY_NIL || (ttl->type == REDIS_REPLY_INTEGER && ttl->integer == -2)) {
    return; /* gone between SCAN and GET */
  }
  if (v->type != REDIS_REPLY_STRING || ttl->type != REDIS_REPLY_INTEGER) {
    bad_reply(c, key, v->type != REDIS_REPLY_STRING ? v : ttl);
    return;
  }
  /* no TTL (-1, someone wrote it by hand): as if just refreshed */
  uint64_t left = ttl->integer > 0 ? (uint64_t)ttl->integer : c->ttl_ms;
  int rv;
  if (!strncmp(key, CH_PREFIX, strlen(CH_PREFIX))) {
    const char *k = key + strlen(CH_PREFIX);
    char chk[WT_CLUSTER_KEY_MAX + 1];
    if (wt_cluster_key_parse(chk, k, strlen(k)) < 0 ||
        wt_cluster_chan_value_parse(v->str, v->len, node, addr)) {
      count(c, C_MALFORMED);
      WT_LOG_WARN_RL(5, "registry: %s: malformed channel record", key);
      return;
    }
    rv = wt_cluster_map_put(&s->chans, chk, node, addr, NULL, s->now + left);
  } else if (!strncmp(key, NODE_PREFIX, strlen(NODE_PREFIX))) {
    const char *id = key + strlen(NODE_PREFIX);
    if (!wt_cluster_id_ok(id) || wt_cluster_node_value_parse(v->str, v->len, addr, info)) {
      count(c, C_MALFORMED);
      WT_LOG_WARN_RL(5, "registry: %s: malformed node record", key);
      return;
    }
    rv = wt_cluster_map_put(&s->nodes, id, id, addr, info, s->now + left);
  } else {
    return; /* another wtcast:* key: not ours to read */
  }
  if (rv < 0) {
    count(c, C_MAP_FULL);
    WT_LOG_WARN_RL(5, "registry: %s not kept (%s)", key, wt_err_str(rv));
  }
  s->total++;
}

/* SCAN every wtcast:* key into fresh maps, then swap them in. 0 or -1
 * (connection failed). */
static int scan_all(wt_cluster *c) {
  scan_ctx s;
  memset(&s, 0, sizeof(s));
  wt_cluster_map_init(&s.chans, WT_CLUSTER_MAX_CHANNELS);
  wt_cluster_map_init(&s.nodes, WT_CLUSTER_MAX_NODES);
  s.keys = malloc(SCAN_BATCH_MAX * sizeof(*s.keys));
  char cur[32] = "0";
  int rv = s.keys ? 0 : 1;
  for (int round = 0; rv == 0 && round < SCAN_MAX_ROUNDS; round++) {
    rv = scan_round(c, &s, cur, sizeof(cur));
    s.now = now_ms();
    for (size_t i = 0; rv == 0 && i < s.n_keys; i++) {
      if (redisAppendCommand(c->cmd, "GET %s", s.keys[i]) != REDIS_OK ||
          redisAppendCommand(c->cmd, "PTTL %s", s.keys[i]) != REDIS_OK) {
        rv = -1;
      }
    }
    for (size_t i = 0; rv == 0 && i < s.n_keys; i++) {
      void *v = NULL, *t = NULL;
      if (redisGetReply(c->cmd, &v) != REDIS_OK || redisGetReply(c->cmd, &t) != REDIS_OK) {
        if (v) {
          freeReplyObject(v);
        }
        rv = -1;
        break;
      }
      scan_put(c, &s, s.keys[i], v, t);
      freeReplyObject(v);
      freeReplyObject(t);
    }
    if (rv == 0 && !strcmp(cur, "0")) {
      break;
    }
  }
  free(s.keys);
  if (rv < 0) {
    wt_cluster_map_free(&s.chans);
    wt_cluster_map_free(&s.nodes);
    return -1;
  }
  pthread_rwlock_wrlock(&c->lock);
  wt_cluster_map_free(&c->chans);
  wt_cluster_map_free(&c->nodes);
  c->chans = s.chans;
  c->nodes = s.nodes;
  gauges(c);
  pthread_rwlock_unlock(&c->lock);
  atomic_store(&c->last_scan_keys, s.total);
  return 0;
}

/* ------------------------------------------------ this node's records */

/* Refresh the channel records KEYS if they are still ours (ARGV[1] is
 * their value), write those that are gone; returns the (1-based) indexes
 * of those another node took (their publisher moved: not taken back). One
 * call per REFRESH_BATCH keys: a script's per-call cost (~15 us on Redis 7)
 * is paid once per batch, and the server is never blocked long. */
static const char refresh_lua[] = "local bad = {} "
                                  "for i, k in ipairs(KEYS) do "
                                  "local v = redis.call('GET', k) "
                                  "if v == ARGV[1] then redis.call('PEXPIRE', k, ARGV[2]) "
                                  "elseif not v then redis.call('SET', k, ARGV[1], 'PX', ARGV[2]) "
                                  "else bad[#bad + 1] = i end end "
                                  "return bad";
#define REFRESH_BATCH 256
/* Delete a channel record only if it is still ours (the name may have
 * moved to another node since). */
static const char delete_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0";

static void chan_value(const wt_cluster *c, char *buf, size_t cap) {
  snprintf(buf, cap, "1 %s %s", c->id, c->addr);
}

static int append_notice(wt_cluster *c, const wt_cluster_notice *n) {
  char msg[WT_CLUSTER_NOTICE_MAX + 1];
  int len = wt_cluster_notice_format(n, msg, sizeof(msg));
  if (len < 0) {
    return 0; /* cannot happen: every field was checked */
  }
  return redisAppendCommand(c->cmd, "PUBLISH %s %b", c->notices, msg, (size_t)len) == REDIS_OK ? 1
                                                                                               : -1;
}

/* Append the commands that publish (want 1) or unpublish key; how many
 * replies to read, or -1. */
static int append_op(wt_cluster *c, const char *key, int want) {
  char val[WT_CLUSTER_NOTICE_MAX];
  chan_value(c, val, sizeof(val));
  wt_cluster_notice n = {.type = want ? WT_CLUSTER_N_ADD : WT_CLUSTER_N_DEL, .ttl_ms = c->ttl_ms};
  wt_cluster_strcpy(n.node, c->id, WT_CLUSTER_ID_MAX);
  wt_cluster_strcpy(n.addr, c->addr, WT_CLUSTER_ADDR_MAX);
  wt_cluster_strcpy(n.key, key, WT_CLUSTER_KEY_MAX);
  int rv = want ? redisAppendCommand(c->cmd, "SET " CH_PREFIX "%s %s PX %u", key, val, c->ttl_ms)
                : redisAppendCommand(c->cmd, "EVAL %s 1 " CH_PREFIX "%s %s", delete_lua, key, val);
  if (rv != REDIS_OK) {
    return -1;
  }
  count(c, want ? C_SETS : C_DELETES);
  return append_notice(c, &n) < 0 ? -1 : 2;
}

/* The keys of the channels published here (under mu), into a new array. */
static local_op *local_snapshot(wt_cluster *c, size_t *n) {
  pthread_mutex_lock(&c->mu);
  size_t cap = wt_hmap_count(&c->local);
  local_op *ops = malloc((cap ? cap : 1) * sizeof(*ops));
  *n = 0;
  if (ops) {
    WT_HMAP_FOREACH(&c->local, s) {
      local_ent *e = s->val;
      if (e->want && *n < cap) {
        memcpy(ops[*n].key, e->key, sizeof(e->key));
        ops[(*n)++].want = 1;
      }
    }
  }
  pthread_mutex_unlock(&c->mu);
  return ops;
}

static void node_info(wt_cluster *c, char *info, size_t cap) {
  uint64_t sessions = 0, conns = 0, subs = 0;
  if (c->load) {
    c->load(c->load_arg, &sessions, &conns, &subs);
  }
  snprintf(info, cap, "sessions=%llu,conns=%llu,subs=%llu,version=%s", (unsigned long long)sessions,
           (unsigned long long)conns, (unsigned long long)subs, c->version);
}

typedef struct hb_ctx {
  size_t n;      /* channels refreshed */
  local_op *ops; /* their keys */
} hb_ctx;

/* Reply 0: the node record's SET; 1..: one refresh batch each; the last:
 * PUBLISH. */
static void hb_reply(wt_cluster *c, redisReply *r, size_t i, void *arg) {
  hb_ctx *h = arg;
  size_t batches = (h->n + REFRESH_BATCH - 1) / REFRESH_BATCH;
  if (i == 0) {
    if (r->type != REDIS_REPLY_STATUS) {
      bad_reply(c, "SET node", r);
    }
    return;
  }
  if (i > batches) {
    return;
  }
  size_t base = (i - 1) * REFRESH_BATCH,
         len = h->n - base < REFRESH_BATCH ? h->n - base : REFRESH_BATCH;
  if (r->type != REDIS_REPLY_ARRAY || r->elements > len) {
    bad_reply(c, "refresh", r);
    return;
  }
  for (size_t k = 0; k < r->elements; k++) {
    const redisReply *e = r->element[k];
    if (e->type != REDIS_REPLY_INTEGER || e->integer < 1 || (size_t)e->integer > len) {
      bad_reply(c, "refresh index", e);
      continue;
    }
    count(c, C_CONFLICTS);
    WT_LOG_WARN_RL(5,
                   "%s is published on another node now; this node's record is not "
                   "written back",
                   h->ops[base + (size_t)e->integer - 1].key);
  }
}

/* One refresh batch: EVAL refresh_lua n KEY... VALUE TTL. */
static int append_refresh(wt_cluster *c, const local_op *ops, size_t n, const char *val) {
  const char *argv[REFRESH_BATCH + 5];
  size_t lens[REFRESH_BATCH + 5];
  char keys[REFRESH_BATCH][sizeof(CH_PREFIX) + WT_CLUSTER_KEY_MAX], nk[16], ttl[16];
  snprintf(nk, sizeof(nk), "%zu", n);
  snprintf(ttl, sizeof(ttl), "%u", c->ttl_ms);
  int argc = 0;
  argv[argc++] = "EVAL";
  argv[argc++] = refresh_lua;
  argv[argc++] = nk;
  for (size_t i = 0; i < n; i++) {
    snprintf(keys[i], sizeof(keys[i]), CH_PREFIX "%s", ops[i].key);
    argv[argc++] = keys[i];
  }
  argv[argc++] = val;
  argv[argc++] = ttl;
  for (int i = 0; i < argc; i++) {
    lens[i] = strlen(argv[i]);
  }
  return redisAppendCommandArgv(c->cmd, argc, argv, lens) == REDIS_OK ? 0 : -1;
}

/* The heartbeat: the node record, every local channel's record (in
 * batches), the "hb" notice, in one pipeline. 0 or -1 (connection failed). */
static int heartbeat(wt_cluster *c) {
  char info[WT_CLUSTER_INFO_MAX + 1], val[WT_CLUSTER_NOTICE_MAX], cval[WT_CLUSTER_NOTICE_MAX];
  node_info(c, info, sizeof(info));
  snprintf(val, sizeof(val), "1 %s %s", c->addr, info);
  chan_value(c, cval, sizeof(cval));
  hb_ctx h = {0};
  h.ops = local_snapshot(c, &h.n);
  if (!h.ops) {
    return 0; /* no memory now: the next heartbeat tries again */
  }
  int rv = redisAppendCommand(c->cmd, "SET " NODE_PREFIX "%s %s PX %u", c->id, val, c->ttl_ms) ==
                   REDIS_OK
               ? 0
               : -1;
  size_t batches = 0;
  for (size_t i = 0; rv == 0 && i < h.n; i += REFRESH_BATCH, batches++) {
    rv = append_refresh(c, h.ops + i, h.n - i < REFRESH_BATCH ? h.n - i : REFRESH_BATCH, cval);
  }
  wt_cluster_notice n = {.type = WT_CLUSTER_N_HB, .ttl_ms = c->ttl_ms};
  wt_cluster_strcpy(n.node, c->id, WT_CLUSTER_ID_MAX);
  wt_cluster_strcpy(n.addr, c->addr, WT_CLUSTER_ADDR_MAX);
  wt_cluster_strcpy(n.info, info, WT_CLUSTER_INFO_MAX);
  if (rv == 0 && append_notice(c, &n) < 0) {
    rv = -1;
  }
  if (rv == 0) {
    rv = read_replies(c, batches + 2, "heartbeat", hb_reply, &h);
  }
  free(h.ops);
  if (rv == 0) {
    count(c, C_HEARTBEATS);
  }
  return rv;
}

/* After a (re)connect: "reset", then every local channel again (the
 * heartbeat follows at once). 0 or -1. */
static int register_all(wt_cluster *c, size_t *n_out) {
  size_t n = 0;
  local_op *ops = local_snapshot(c, &n);
  if (!ops) {
    return -1;
  }
  wt_cluster_notice reset = {.type = WT_CLUSTER_N_RESET};
  wt_cluster_strcpy(reset.node, c->id, WT_CLUSTER_ID_MAX);
  int rv = append_notice(c, &reset) < 0 ? -1 : 0;
  size_t replies = 1;
  for (size_t i = 0; rv == 0 && i < n; i++) {
    int k = append_op(c, ops[i].key, 1);
    rv = k < 0 ? -1 : 0;
    replies += (size_t)(k > 0 ? k : 0);
  }
  free(ops);
  *n_out = n;
  return rv == 0 ? read_replies(c, replies, "register", NULL, NULL) : -1;
}

/* The publishes the workers queued: detached under mu (an unpublished
 * entry leaves the table there), sent outside it. 0 or -1. */
static int flush_dirty(wt_cluster *c) {
  pthread_mutex_lock(&c->mu);
  size_t n = 0;
  for (local_ent *e = c->dirty; e; e = e->next_dirty) {
    n++;
  }
  local_op *ops = n ? malloc(n * sizeof(*ops)) : NULL;
  size_t k = 0;
  for (local_ent *e = c->dirty, *next; e; e = next) {
    next = e->next_dirty;
    e->dirty = 0;
    e->next_dirty = NULL;
    if (ops) {
      memcpy(ops[k].key, e->key, sizeof(e->key));
      ops[k++].want = e->want;
    }
    if (!e->want) {
      free(wt_hmap_del(&c->local, wt_cluster_hash(e->key)));
    }
  }
  c->dirty = NULL;
  atomic_store(&c->n_local, wt_hmap_count(&c->local));
  pthread_mutex_unlock(&c->mu);
  /* while down the table is the truth: register_all sends it on reconnect
   * (an unpublished record expires in the registry by its TTL) */
  int rv = 0;
  if (atomic_load(&c->up) && c->cmd) {
    size_t replies = 0;
    for (size_t i = 0; rv == 0 && i < k; i++) {
      int r = append_op(c, ops[i].key, ops[i].want);
      rv = r < 0 ? -1 : 0;
      replies += (size_t)(r > 0 ? r : 0);
    }
    if (rv == 0) {
      rv = read_replies(c, replies, "publish", NULL, NULL);
    }
  }
  free(ops);
  return rv;
}

/* Leaving: this node's records deleted, "bye". Best effort. */
static void leave(wt_cluster *c) {
  if (!atomic_load(&c->up) || !c->cmd) {
    return;
  }
  size_t n = 0;
  local_op *ops = local_snapshot(c, &n);
  char val[WT_CLUSTER_NOTICE_MAX];
  chan_value(c, val, sizeof(val));
  size_t replies = 0;
  int rv = redisAppendCommand(c->cmd, "DEL " NODE_PREFIX "%s", c->id) == REDIS_OK ? 0 : -1;
  replies++;
  for (size_t i = 0; ops && rv == 0 && i < n; i++) {
    rv = redisAppendCommand(c->cmd, "EVAL %s 1 " CH_PREFIX "%s %s", delete_lua, ops[i].key, val) ==
                 REDIS_OK
             ? 0
             : -1;
    replies++;
  }
  wt_cluster_notice bye = {.type = WT_CLUSTER_N_BYE};
  wt_cluster_strcpy(bye.node, c->id, WT_CLUSTER_ID_MAX);
  if (rv == 0 && append_notice(c, &bye) == 1) {
    replies++;
    read_replies(c, replies, "leave", NULL, NULL);
  }
  free(ops);
  WT_LOG_INFO("left the cluster: node %s and its %zu channel record(s) deleted", c->id, n);
}

/* ------------------------------------------------ notices */

static void apply_notice(wt_cluster *c, const wt_cluster_notice *n) {
  uint64_t now = now_ms();
  int rv = 0;
  pthread_rwlock_wrlock(&c->lock);
  switch (n->type) {
  case WT_CLUSTER_N_ADD:
    rv = wt_cluster_map_put(&c->chans, n->key, n->node, n->addr, NULL, now + n->ttl_ms);
    break;
  case WT_CLUSTER_N_DEL:
    wt_cluster_map_del(&c->chans, n->key, n->node);
    break;
  case WT_CLUSTER_N_HB:
    rv = wt_cluster_map_put(&c->nodes, n->node, n->node, n->addr, n->info, now + n->ttl_ms);
    break;
  case WT_CLUSTER_N_RESET:
    wt_cluster_map_drop_node(&c->chans, n->node);
    break;
  case WT_CLUSTER_N_BYE:
    wt_cluster_map_drop_node(&c->chans, n->node);
    wt_cluster_map_del(&c->nodes, n->node, NULL);
    break;
  default: /* wt_cluster_notice_parse returns no other type */
    break;
  }
  gauges(c);
  pthread_rwlock_unlock(&c->lock);
  if ((n->type == WT_CLUSTER_N_ADD || n->type == WT_CLUSTER_N_HB) && !is_numeric(n->addr)) {
    c->resolve_due = 1;
  }
  if (rv < 0) {
    count(c, C_MAP_FULL);
    WT_LOG_WARN_RL(5, "registry: %s of node %s not kept (%s)", n->key[0] ? n->key : "record",
                   n->node, wt_err_str(rv));
  }
}

/* One message of the SUBSCRIBE connection: ["message", channel, payload]
 * (or the subscribe confirmation). */
static void on_message(wt_cluster *c, const redisReply *r) {
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
      r->element[0]->type != REDIS_REPLY_STRING) {
    bad_reply(c, "notice", r);
    return;
  }
  const redisReply *kind = r->element[0], *pay = r->element[2];
  if (kind->len == 9 && !memcmp(kind->str, "subscribe", 9)) {
    return;
  }
  if (kind->len != 7 || memcmp(kind->str, "message", 7) != 0 || pay->type != REDIS_REPLY_STRING) {
    bad_reply(c, "notice", r);
    return;
  }
  count(c, C_NOTICES);
  wt_cluster_notice n;
  if (wt_cluster_notice_parse(pay->str, pay->len, &n) < 0) {
    count(c, C_MALFORMED);
    WT_LOG_WARN_RL(5, "registry: malformed notice '%.*s'", (int)(pay->len < 120 ? pay->len : 120),
                   pay->str);
    return;
  }
  apply_notice(c, &n);
}

/* The SUBSCRIBE connection is readable: read once (hiredis reads 16 KiB at
 * most: fewer than NOTICES_PER_TURN messages), handle what is whole. A
 * partial message past SUB_PENDING_MAX (anyone who can PUBLISH on the
 * registry could send one) drops the connection: hiredis 0.14's reader
 * has no size bound of its own. 0 or -1 (connection lost or dropped). */
static int read_notices(wt_cluster *c) {
  if (redisBufferRead(c->sub) != REDIS_OK) {
    return -1;
  }
  for (int i = 0; i < NOTICES_PER_TURN; i++) {
    void *rv = NULL;
    if (redisGetReplyFromReader(c->sub, &rv) != REDIS_OK) {
      return -1;
    }
    if (!rv) {
      break;
    }
    on_message(c, rv);
    freeReplyObject(rv);
  }
  const redisReader *r = c->sub->reader;
  if (r->len > r->pos && r->len - r->pos > SUB_PENDING_MAX) {
    count(c, C_MALFORMED);
    WT_LOG_WARN_RL(5, "registry: a notice of more than %d bytes: connection dropped",
                   SUB_PENDING_MAX);
    return -1;
  }
  return 0;
}

/* ------------------------------------------------ advertised names */

int wt_cluster_resolve(const char *hostport, char *out, size_t cap, char *err, size_t errcap) {
  wt_io_addr a;
  if (wt_io_addr_parse(hostport, &a) == 0) {
    return wt_io_addr_format(&a, out, cap) < 0 ? err_set(err, errcap, "address too long") : 0;
  }
  const char *colon = strrchr(hostport, ':');
  size_t hl = colon ? (size_t)(colon - hostport) : 0;
  char host[WT_CLUSTER_ADDR_MAX + 1];
  if (!colon || hl == 0 || hl >= sizeof(host) || !colon[1] || strlen(colon + 1) > 5 ||
      strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
    return err_set(err, errcap, "'%s': not HOST:PORT", hostport);
  }
  memcpy(host, hostport, hl);
  host[hl] = '\0';
  struct addrinfo hints = {.ai_family = AF_UNSPEC,
                           .ai_socktype = SOCK_DGRAM,
                           .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG},
                  *res = NULL;
  int rc = getaddrinfo(host, colon + 1, &hints, &res);
  if (rc != 0 || !res) {
    return err_set(err, errcap, "'%s' does not resolve: %s", host,
                   rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
  }
  memset(&a, 0, sizeof(a));
  size_t len = res->ai_addrlen < sizeof(a.ss) ? res->ai_addrlen : sizeof(a.ss);
  memcpy(&a.ss, res->ai_addr, len);
  a.len = (socklen_t)len;
  freeaddrinfo(res);
  return wt_io_addr_format(&a, out, cap) < 0 ? err_set(err, errcap, "address too long") : 0;
}

/* The numeric form of an entry's address into out: itself when numeric,
 * else its resolved name. 1, or 0 (not resolved (yet)). Under the lock. */
static int entry_addr(const wt_cluster *c, const char *a, char *out, size_t cap) {
  if (!is_numeric(a)) {
    const resolved *r = wt_hmap_get(&c->names, wt_cluster_hash(a));
    if (!r || strcmp(r->name, a) != 0 || !r->addr[0]) {
      return 0;
    }
    a = r->addr;
  }
  if (strlen(a) >= cap) {
    return 0;
  }
  memcpy(out, a, strlen(a) + 1);
  return 1;
}

/* Note a name an entry advertises (under the write lock): a new one goes
 * into the table, unresolved; 1 if it is due for (re)resolution. */
static int name_mark(wt_cluster *c, const char *a, uint64_t now) {
  if (is_numeric(a)) {
    return 0;
  }
  uint64_t h = wt_cluster_hash(a);
  resolved *r = wt_hmap_get(&c->names, h);
  if (r && strcmp(r->name, a) != 0) {
    return 0; /* a 64-bit collision: that name stays unresolved */
  }
  if (!r) {
    if (wt_hmap_count(&c->names) >= RESOLVE_MAX || !(r = calloc(1, sizeof(*r)))) {
      return 0;
    }
    wt_cluster_strcpy(r->name, a, WT_CLUSTER_ADDR_MAX);
    if (wt_hmap_put(&c->names, h, r) < 0) {
      free(r);
      return 0;
    }
  }
  r->seen = 1;
  return !r->at_ms || now - r->at_ms >= (r->addr[0] ? RESOLVE_EVERY_MS : RESOLVE_RETRY_MS);
}

/* A resolution pass on the cluster thread: the names the maps advertise
 * are noted, those due (new, older than RESOLVE_EVERY_MS, or failed
 * RESOLVE_RETRY_MS ago) resolved outside the lock (getaddrinfo blocks:
 * never a shard's or a worker's business), at most RESOLVE_PER_PASS of
 * them; names no entry advertises any more are forgotten. 1 if a name
 * does not resolve (the next pass comes sooner). */
static int resolve_pass(wt_cluster *c) {
  char due[RESOLVE_PER_PASS][WT_CLUSTER_ADDR_MAX + 1];
  size_t n = 0;
  uint64_t now = now_ms();
  pthread_rwlock_wrlock(&c->lock);
  WT_HMAP_FOREACH(&c->names, s) {
    ((resolved *)s->val)->seen = 0;
  }
  const wt_cluster_map *maps[2] = {&c->nodes, &c->chans};
  for (int m = 0; m < 2; m++) {
    WT_HMAP_FOREACH(&maps[m]->h, s) {
      const wt_cluster_entry *e = s->val;
      if (name_mark(c, e->addr, now) && n < RESOLVE_PER_PASS) {
        int dup = 0;
        for (size_t i = 0; i < n && !dup; i++) {
          dup = !strcmp(due[i], e->addr);
        }
        if (!dup) {
          wt_cluster_strcpy(due[n++], e->addr, WT_CLUSTER_ADDR_MAX);
        }
      }
    }
  }
  for (;;) { /* the names no entry advertises now go (in rounds: no change during a walk) */
    uint64_t gone[64];
    size_t k = 0;
    WT_HMAP_FOREACH(&c->names, s) {
      if (k < 64 && !((resolved *)s->val)->seen) {
        gone[k++] = s->key;
      }
    }
    for (size_t i = 0; i < k; i++) {
      free(wt_hmap_del(&c->names, gone[i]));
    }
    if (k < 64) {
      break;
    }
  }
  int failing = 0;
  WT_HMAP_FOREACH(&c->names, s) {
    failing |= !((resolved *)s->val)->addr[0];
  }
  pthread_rwlock_unlock(&c->lock);
  for (size_t i = 0; i < n; i++) {
    char addr[WT_IO_ADDR_STRLEN] = "", why[200];
    if (wt_cluster_resolve(due[i], addr, sizeof(addr), why, sizeof(why)) < 0) {
      addr[0] = '\0';
    }
    pthread_rwlock_wrlock(&c->lock);
    resolved *r = wt_hmap_get(&c->names, wt_cluster_hash(due[i]));
    int was_ok = -1;
    if (r && !strcmp(r->name, due[i])) {
      was_ok = r->at_ms ? r->addr[0] != '\0' : -1;
      memcpy(r->addr, addr, sizeof(addr));
      r->at_ms = now_ms();
    }
    pthread_rwlock_unlock(&c->lock);
    if (!addr[0]) {
      count(c, C_UNRESOLVED);
      if (was_ok != 0) { /* once per failure episode */
        WT_LOG_WARN("advertised address %s: %s: channels published there cannot be pulled "
                    "until it resolves (retried every %d ms)",
                    due[i], why, RESOLVE_RETRY_MS);
      }
    } else if (was_ok != 1) {
      WT_LOG_INFO("advertised address %s resolves to %s", due[i], addr);
    }
    failing |= !addr[0];
  }
  return failing;
}

/* ------------------------------------------------ the thread */

/* Both connections, the scan, the registration. 0 or -1 (why filled). */
static int connect_all(wt_cluster *c, char *why, size_t cap) {
  c->auth_refused = 0;
  if (c->auth_file && read_auth_file(c, why, cap) < 0) {
    if (!c->url.has_pass) {
      return -1;
    }
    WT_LOG_WARN_RL(1, "registry: %s: using the password read before", why);
  }
  c->cmd = dial(c, why, cap);
  c->sub = c->cmd ? dial(c, why, cap) : NULL;
  if (!c->sub) {
    return -1;
  }
  /* subscribe first: no change between the scan and the first notice is missed */
  redisReply *r = redisCommand(c->sub, "SUBSCRIBE %s", c->notices);
  int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 3;
  if (!ok) {
    int eref = r && r->type == REDIS_REPLY_ERROR;
    c->auth_refused = eref && is_auth_error(r->str);
    snprintf(why, cap, "SUBSCRIBE failed%s%.160s", eref || c->sub->err ? ": " : "",
             eref          ? r->str
             : c->sub->err ? c->sub->errstr
                           : "");
  }
  if (r) {
    freeReplyObject(r);
  }
  if (!ok) {
    return -1;
  }
  size_t n = 0;
  if (scan_all(c) < 0 || register_all(c, &n) < 0 || heartbeat(c) < 0) {
    snprintf(why, cap, "%s", c->cmd->err ? c->cmd->errstr : "registration failed");
    return -1;
  }
  atomic_store(&c->up, 1);
  if (c->down_since) {
    count(c, C_RECONNECTS);
    WT_LOG_INFO("registry redis://%s:%u up again after %llu ms: %llu record(s) scanned, %zu "
                "channel(s) re-registered",
                c->url.host, c->url.port, (unsigned long long)(now_ms() - c->down_since),
                (unsigned long long)atomic_load(&c->last_scan_keys), n);
  } else {
    WT_LOG_INFO("registry redis://%s:%u/%u: node %s (%s) registered, ttl %u ms, %llu record(s) "
                "scanned",
                c->url.host, c->url.port, c->url.db, c->id, c->addr, c->ttl_ms,
                (unsigned long long)atomic_load(&c->last_scan_keys));
  }
  c->down_since = 0;
  c->backoff_ms = BACKOFF_MIN_MS;
  return 0;
}

/* Wait up to ms for a wake-up or a notice; returns the poll revents of
 * the SUBSCRIBE connection (0 if none). */
static int wait_events(wt_cluster *c, uint64_t ms) {
  struct pollfd p[2] = {{.fd = c->wake[0], .events = POLLIN},
                        {.fd = c->sub ? c->sub->fd : -1, .events = POLLIN}};
  int n = poll(p, 2, (int)(ms > 60000 ? 60000 : ms));
  if (n > 0 && (p[0].revents & POLLIN)) {
    char buf[64];
    while (read(c->wake[0], buf, sizeof(buf)) > 0) {
    }
  }
  return n > 0 ? p[1].revents : 0;
}

/* While down: the cached answers older than --cluster-stale-max go. */
static void drop_stale(wt_cluster *c, uint64_t now) {
  pthread_rwlock_wrlock(&c->lock);
  size_t n = wt_cluster_map_drop_stale(&c->chans, &c->nodes, c->down_since, now, c->stale_max_ms);
  gauges(c);
  pthread_rwlock_unlock(&c->lock);
  if (n) {
    atomic_fetch_add(&c->cnt[C_STALE], n);
    WT_LOG_WARN("registry redis://%s:%u down for %llu ms (more than --cluster-stale-max %llu "
                "ms): dropped the %zu cached channel answer(s); new lookups fail until it is "
                "back, flowing upstreams continue",
                c->url.host, c->url.port, (unsigned long long)(now - c->down_since),
                (unsigned long long)c->stale_max_ms, n);
  }
}

static void *cluster_thread(void *arg) {
  wt_cluster *c = arg;
  pthread_setname_np(pthread_self(), "wt-cluster");
  uint64_t next_hb = 0, next_sweep = now_ms() + SWEEP_MS, next_resolve = 0;
  c->backoff_ms = BACKOFF_MIN_MS;
  while (!atomic_load(&c->stop)) {
    uint64_t now = now_ms();
    if (!c->cmd) {
      char why[256] = "";
      if (connect_all(c, why, sizeof(why)) < 0) {
        count(c, C_CONNECT_FAILURES);
        if (c->auth_refused) {
          count(c, C_AUTH);
          WT_LOGM_RL(WT_LOG_LEVEL_ERROR, WT_LOG_MODULE, 1,
                     "registry redis://%s:%u refused this node's credentials (%s): check the "
                     "URL's user and the password (--cluster-auth-file); retrying",
                     c->url.host, c->url.port, why);
        }
        if (!c->down_since) {
          c->down_since = now;
          WT_LOG_WARN("registry redis://%s:%u unreachable (%s): lookups answer the %llu known "
                      "channel(s) only; retrying every %u ms at most",
                      c->url.host, c->url.port, why, (unsigned long long)atomic_load(&c->n_chans),
                      BACKOFF_MAX_MS);
        }
        disconnect(c, why);
        drop_stale(c, now_ms());
        wait_events(c, c->backoff_ms);
        c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
        flush_dirty(c); /* keeps the table current; nothing is sent */
        continue;
      }
      next_hb = now_ms() + c->ttl_ms / 3;
      c->resolve_due = 1;
    }
    now = now_ms();
    uint64_t until = next_hb < next_sweep ? next_hb : next_sweep;
    int ev = wait_events(c, until > now ? until - now : 0);
    int rv = 0;
    if (ev & (POLLIN | POLLHUP | POLLERR)) {
      rv = read_notices(c);
    }
    if (rv == 0) {
      rv = flush_dirty(c);
    }
    now = now_ms();
    if (rv == 0 && now >= next_hb) {
      rv = heartbeat(c);
      next_hb = now + c->ttl_ms / 3;
    }
    if (c->resolve_due || now >= next_resolve) {
      c->resolve_due = 0;
      next_resolve = now + (resolve_pass(c) ? RESOLVE_RETRY_MS : RESOLVE_EVERY_MS);
    }
    if (now >= next_sweep) {
      next_sweep = now + SWEEP_MS;
      pthread_rwlock_wrlock(&c->lock);
      size_t n = wt_cluster_map_expire(&c->chans, &c->nodes, now);
      gauges(c);
      pthread_rwlock_unlock(&c->lock);
      atomic_fetch_add(&c->cnt[C_EXPIRED], n);
    }
    if (rv < 0) {
      disconnect(c, c->cmd && c->cmd->err   ? c->cmd->errstr
                    : c->sub && c->sub->err ? c->sub->errstr
                                            : "connection closed");
    }
  }
  flush_dirty(c);
  leave(c);
  atomic_store(&c->up, 0); /* a shutdown, not a loss: nothing to warn about */
  disconnect(c, "stopping");
  return NULL;
}

/* ------------------------------------------------ the locator */

static int loc_lookup(void *arg, const char *kind, const char *name, unsigned idx, char *addr,
                      size_t cap) {
  wt_cluster *c = arg;
  char key[WT_CLUSTER_KEY_MAX + 1];
  if (wt_cluster_key(kind, name, key, sizeof(key)) < 0 || idx > 0) {
    count(c, C_MISS); /* no such name can be published; one candidate only */
    return 0;
  }
  int up = atomic_load(&c->up), rv;
  uint64_t now = now_ms();
  pthread_rwlock_rdlock(&c->lock);
  const wt_cluster_entry *e = wt_cluster_map_get(&c->chans, key);
  /* while the registry is down, the last known entries stand (wt_cluster.h) */
  if (e && strcmp(e->node, c->id) != 0 && (!up || wt_cluster_entry_live(e, &c->nodes, now))) {
    rv = entry_addr(c, e->addr, addr, cap); /* 0: a name not resolved (yet): logged there */
  } else {
    rv = up ? 0 : WT_ERR_UNSUPPORTED;
  }
  pthread_rwlock_unlock(&c->lock);
  count(c, rv == 1 ? C_HIT : rv == 0 ? C_MISS : C_FAILED);
  return rv;
}

static void loc_publish(void *arg, const char *kind, const char *name, int live) {
  wt_cluster *c = arg;
  char key[WT_CLUSTER_KEY_MAX + 1];
  if (wt_cluster_key(kind, name, key, sizeof(key)) < 0) {
    count(c, C_DROPPED);
    WT_LOG_WARN_RL(5,
                   "publish: %s/%s cannot be a registry key (printable, no spaces, at most %d "
                   "bytes)",
                   kind, name, WT_CLUSTER_KEY_MAX);
    return;
  }
  uint64_t h = wt_cluster_hash(key);
  pthread_mutex_lock(&c->mu);
  local_ent *e = wt_hmap_get(&c->local, h);
  if (e && strcmp(e->key, key) != 0) {
    /* a 64-bit hash collision: refused (a 2^-64 event; logged under the lock, rare) */
    WT_LOG_WARN_RL(5, "publish: %s not registered (its hash collides with %s)", key, e->key);
    pthread_mutex_unlock(&c->mu);
    count(c, C_DROPPED);
    return;
  }
  if (!e && live) {
    if (wt_hmap_count(&c->local) < WT_CLUSTER_MAX_LOCAL && (e = calloc(1, sizeof(*e)))) {
      memcpy(e->key, key, sizeof(key));
      if (wt_hmap_put(&c->local, h, e) < 0) {
        free(e);
        e = NULL;
      }
    }
    if (!e) {
      pthread_mutex_unlock(&c->mu);
      count(c, C_DROPPED);
      WT_LOG_WARN_RL(5, "publish: %s not registered (%d channels published here at most)", key,
                     WT_CLUSTER_MAX_LOCAL);
      return;
    }
  }
  if (!e) {
    pthread_mutex_unlock(&c->mu);
    return;
  }
  e->want = live != 0;
  if (!e->dirty) {
    e->dirty = 1;
    e->next_dirty = c->dirty;
    c->dirty = e;
  }
  pthread_mutex_unlock(&c->mu);
  ssize_t w = write(c->wake[1], "p", 1); /* full pipe: a wake-up is pending anyway */
  (void)w;
}

/* ------------------------------------------------ statistics */

void wt_cluster_get_stats(wt_cluster *c, wt_cluster_stats *s) {
#define LD(i) atomic_load_explicit(&c->cnt[i], memory_order_relaxed)
  *s = (wt_cluster_stats){.up = (uint64_t)atomic_load(&c->up),
                          .reconnects = LD(C_RECONNECTS),
                          .connect_failures = LD(C_CONNECT_FAILURES),
                          .heartbeats = LD(C_HEARTBEATS),
                          .sets = LD(C_SETS),
                          .deletes = LD(C_DELETES),
                          .refresh_conflicts = LD(C_CONFLICTS),
                          .lookup_hit = LD(C_HIT),
                          .lookup_miss = LD(C_MISS),
                          .lookup_failed = LD(C_FAILED),
                          .notices = LD(C_NOTICES),
                          .malformed = LD(C_MALFORMED),
                          .errors = LD(C_ERRORS),
                          .expired = LD(C_EXPIRED),
                          .publish_dropped = LD(C_DROPPED),
                          .map_full = LD(C_MAP_FULL),
                          .auth_failures = LD(C_AUTH),
                          .stale_dropped = LD(C_STALE),
                          .unresolved = LD(C_UNRESOLVED),
                          .channels = atomic_load(&c->n_chans),
                          .nodes = atomic_load(&c->n_nodes),
                          .local = atomic_load(&c->n_local),
                          .last_scan_keys = atomic_load(&c->last_scan_keys)};
#undef LD
}

#define LL(x) ((unsigned long long)(x))

static int cluster_json(void *arg, char *buf, size_t cap) {
  wt_cluster_stats s;
  wt_cluster_get_stats(arg, &s);
  int w = snprintf(
      buf, cap,
      "{\"registry_up\":%llu,\"reconnects\":%llu,\"connect_failures\":%llu,"
      "\"heartbeats\":%llu,\"sets\":%llu,\"deletes\":%llu,\"refresh_conflicts\":%llu,"
      "\"lookups\":{\"hit\":%llu,\"miss\":%llu,\"failed\":%llu},\"notices\":%llu,"
      "\"malformed\":%llu,\"errors\":%llu,\"expired\":%llu,\"publish_dropped\":%llu,"
      "\"map_full\":%llu,\"auth_failures\":%llu,\"stale_dropped\":%llu,\"unresolved\":%llu,"
      "\"channels\":%llu,\"nodes\":%llu,\"local\":%llu}",
      LL(s.up), LL(s.reconnects), LL(s.connect_failures), LL(s.heartbeats), LL(s.sets),
      LL(s.deletes), LL(s.refresh_conflicts), LL(s.lookup_hit), LL(s.lookup_miss),
      LL(s.lookup_failed), LL(s.notices), LL(s.malformed), LL(s.errors), LL(s.expired),
      LL(s.publish_dropped), LL(s.map_full), LL(s.auth_failures), LL(s.stale_dropped),
      LL(s.unresolved), LL(s.channels), LL(s.nodes), LL(s.local));
  return w < 0 || (size_t)w >= cap ? WT_ERR_NOBUF : w;
}

static int cluster_metrics(void *arg, wt_app_print_fn print, void *sink) {
  wt_cluster_stats s;
  wt_cluster_get_stats(arg, &s);
  int rv = print(sink,
                 "# HELP wtcast_cluster_registry_up 1 while the registry connections are up and "
                 "this node is registered\n# TYPE wtcast_cluster_registry_up gauge\n"
                 "wtcast_cluster_registry_up %llu\n"
                 "# HELP wtcast_cluster_reconnects_total registry connections made again after a "
                 "loss\n# TYPE wtcast_cluster_reconnects_total counter\n"
                 "wtcast_cluster_reconnects_total %llu\n"
                 "# HELP wtcast_cluster_connect_failures_total registry connection attempts "
                 "that failed\n# TYPE wtcast_cluster_connect_failures_total counter\n"
                 "wtcast_cluster_connect_failures_total %llu\n"
                 "# HELP wtcast_cluster_heartbeats_total heartbeats written (node and channel "
                 "records refreshed)\n# TYPE wtcast_cluster_heartbeats_total counter\n"
                 "wtcast_cluster_heartbeats_total %llu\n",
                 LL(s.up), LL(s.reconnects), LL(s.connect_failures), LL(s.heartbeats));
  if (rv == 0) {
    rv = print(sink,
               "# HELP wtcast_cluster_publishes_total channel records written (set) and "
               "deleted by this node\n# TYPE wtcast_cluster_publishes_total counter\n"
               "wtcast_cluster_publishes_total{op=\"set\"} %llu\n"
               "wtcast_cluster_publishes_total{op=\"delete\"} %llu\n"
               "# HELP wtcast_cluster_lookups_total where-is lookups by result (failed: registry "
               "down and the name unknown)\n# TYPE wtcast_cluster_lookups_total counter\n"
               "wtcast_cluster_lookups_total{result=\"hit\"} %llu\n"
               "wtcast_cluster_lookups_total{result=\"miss\"} %llu\n"
               "wtcast_cluster_lookups_total{result=\"failed\"} %llu\n"
               "# HELP wtcast_cluster_notices_total change notices received\n"
               "# TYPE wtcast_cluster_notices_total counter\n"
               "wtcast_cluster_notices_total %llu\n",
               LL(s.sets), LL(s.deletes), LL(s.lookup_hit), LL(s.lookup_miss), LL(s.lookup_failed),
               LL(s.notices));
  }
  if (rv == 0) {
    rv = print(sink,
               "# HELP wtcast_cluster_records_expired_total channel entries dropped when their "
               "TTL passed without a refresh\n# TYPE wtcast_cluster_records_expired_total "
               "counter\nwtcast_cluster_records_expired_total %llu\n"
               "# HELP wtcast_cluster_errors_total registry replies refused, by kind\n"
               "# TYPE wtcast_cluster_errors_total counter\n"
               "wtcast_cluster_errors_total{kind=\"malformed\"} %llu\n"
               "wtcast_cluster_errors_total{kind=\"error_reply\"} %llu\n"
               "wtcast_cluster_errors_total{kind=\"map_full\"} %llu\n"
               "wtcast_cluster_errors_total{kind=\"refresh_conflict\"} %llu\n"
               "wtcast_cluster_errors_total{kind=\"publish_dropped\"} %llu\n"
               "wtcast_cluster_errors_total{kind=\"auth_refused\"} %llu\n"
               "wtcast_cluster_errors_total{kind=\"stale_dropped\"} %llu\n"
               "wtcast_cluster_errors_total{kind=\"unresolved\"} %llu\n"
               "# HELP wtcast_cluster_channels channels known published on nodes (the lookup "
               "map)\n# TYPE wtcast_cluster_channels gauge\nwtcast_cluster_channels %llu\n"
               "# HELP wtcast_cluster_nodes nodes known alive\n"
               "# TYPE wtcast_cluster_nodes gauge\nwtcast_cluster_nodes %llu\n"
               "# HELP wtcast_cluster_local_channels channels this node publishes\n"
               "# TYPE wtcast_cluster_local_channels gauge\nwtcast_cluster_local_channels %llu\n",
               LL(s.expired), LL(s.malformed), LL(s.errors), LL(s.map_full),
               LL(s.refresh_conflicts), LL(s.publish_dropped), LL(s.auth_failures),
               LL(s.stale_dropped), LL(s.unresolved), LL(s.channels), LL(s.nodes), LL(s.local));
  }
  return rv;
}

/* ------------------------------------------------ GET /cluster */

static int hexv(int ch) {
  return ch >= '0' && ch <= '9'   ? ch - '0'
         : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
         : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                  : -1;
}

/* The percent-decoded value of name in query into buf; its length or -1. */
static int query_get(const char *query, const char *name, char *buf, size_t cap) {
  size_t nl = strlen(name);
  for (const char *p = query; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
    if (strncmp(p, name, nl) != 0 || p[nl] != '=') {
      continue;
    }
    size_t n = 0;
    for (const char *v = p + nl + 1; *v && *v != '&'; v++) {
      int ch = (unsigned char)*v;
      if (ch == '%' && hexv(v[1]) >= 0 && hexv(v[2]) >= 0) {
        ch = hexv(v[1]) << 4 | hexv(v[2]);
        v += 2;
      }
      if (n + 1 >= cap) {
        return -1;
      }
      buf[n++] = (char)ch;
    }
    buf[n] = '\0';
    return (int)n;
  }
  return -1;
}

int wt_cluster_http(void *arg, const char *path, const char *query, wt_http_reply *out) {
  wt_cluster *c = arg;
  (void)path;
  out->content_type = "application/json";
  char want[WT_CLUSTER_KEY_MAX + 1];
  if (query_get(query, "lookup", want, sizeof(want)) >= 0) {
    char *slash = strchr(want, '/');
    char addr[WT_CLUSTER_ADDR_MAX + 1] = "";
    if (!slash || !wt_cluster_token_ok(want, strlen(want), WT_CLUSTER_KEY_MAX)) {
      out->status = 400;
      return wt_http_reply_printf(out, "{\"error\":\"lookup=KIND/NAME\"}\n");
    }
    *slash = '\0';
    int rv = loc_lookup(c, want, slash + 1, 0, addr, sizeof(addr));
    *slash = '/';
    return wt_http_reply_printf(out, "{\"lookup\":\"%s\",\"result\":%d,\"addr\":\"%s\"}\n", want,
                                rv, rv == 1 ? addr : "");
  }
  uint64_t now = now_ms();
  int rv = wt_http_reply_printf(out,
                                "{\"node\":\"%s\",\"advertise\":\"%s\",\"registry_up\":%d,"
                                "\"ttl_ms\":%u,\"nodes\":[",
                                c->id, c->addr, atomic_load(&c->up), c->ttl_ms);
  pthread_rwlock_rdlock(&c->lock);
  int first = 1;
  WT_HMAP_FOREACH(&c->nodes.h, s) {
    const wt_cluster_entry *e = s->val;
    if (rv == 0) {
      rv = wt_http_reply_printf(out,
                                "%s{\"id\":\"%s\",\"addr\":\"%s\",\"info\":\"%s\","
                                "\"ttl_ms\":%lld}",
                                first ? "" : ",", e->key, e->addr, e->info,
                                (long long)e->expires_ms - (long long)now);
      first = 0;
    }
  }
  if (rv == 0) {
    rv = wt_http_reply_printf(out, "],\"channels\":[");
  }
  first = 1;
  size_t shown = 0;
  WT_HMAP_FOREACH(&c->chans.h, s) {
    const wt_cluster_entry *e = s->val;
    if (rv == 0 && shown < HTTP_MAX_CHANNELS) {
      rv = wt_http_reply_printf(
          out, "%s{\"key\":\"%s\",\"node\":\"%s\",\"addr\":\"%s\",\"live\":%d}", first ? "" : ",",
          e->key, e->node, e->addr, wt_cluster_entry_live(e, &c->nodes, now));
      first = 0;
      shown++;
    }
  }
  size_t total = wt_cluster_map_count(&c->chans);
  pthread_rwlock_unlock(&c->lock);
  if (rv == 0) {
    rv = wt_http_reply_printf(out, "],\"truncated\":%s}\n", total > shown ? "true" : "false");
  }
  return rv;
}

/* ------------------------------------------------ life */

static int check_addr(const char *a, char *err, size_t cap) {
  const char *colon = strrchr(a, ':');
  if (!colon || colon == a || !colon[1] ||
      !wt_cluster_token_ok(a, strlen(a), WT_CLUSTER_ADDR_MAX)) {
    return err_set(err, cap,
                   "--advertise: '%s': HOST:PORT (printable, no spaces, at most %d bytes)", a,
                   WT_CLUSTER_ADDR_MAX);
  }
  return 0;
}

int wt_cluster_new(wt_cluster **out, const wt_cluster_config *cfg, char *err, size_t cap) {
  *out = NULL;
  wt_cluster_url url;
  char why[300];
  if (!cfg->url || wt_cluster_url_parse(cfg->url, &url, why, sizeof(why)) < 0) {
    err_set(err, cap, "--cluster: %s", cfg->url ? why : "no URL");
    return WT_ERR_INVAL;
  }
  if (!cfg->node_id || !wt_cluster_id_ok(cfg->node_id)) {
    err_set(err, cap, "--node-id: '%s': 1 to %d of A-Z a-z 0-9 . _ -",
            cfg->node_id ? cfg->node_id : "", WT_CLUSTER_ID_MAX);
    return WT_ERR_INVAL;
  }
  if (cfg->auth_file && url.has_pass) {
    err_set(err, cap,
            "--cluster: the password is both in the URL and in --cluster-auth-file: "
            "give it once (the file keeps it out of argv)");
    return WT_ERR_INVAL;
  }
  if (url.user[0] && !url.has_pass && !cfg->auth_file) {
    err_set(err, cap, "--cluster: user '%s' without a password: give --cluster-auth-file",
            url.user);
    return WT_ERR_INVAL;
  }
  if (cfg->advertise && check_addr(cfg->advertise, err, cap) < 0) {
    return WT_ERR_INVAL;
  }
  uint32_t ttl = cfg->ttl_ms ? cfg->ttl_ms : WT_CLUSTER_TTL_DEF_MS;
  if (ttl < WT_CLUSTER_TTL_MIN_MS || ttl > WT_CLUSTER_TTL_MAX_MS) {
    err_set(err, cap, "--cluster-ttl: must be in %d..%d ms", WT_CLUSTER_TTL_MIN_MS,
            WT_CLUSTER_TTL_MAX_MS);
    return WT_ERR_INVAL;
  }
  wt_cluster *c = calloc(1, sizeof(*c));
  if (!c) {
    err_set(err, cap, "out of memory");
    return WT_ERR_NOMEM;
  }
  c->url = url;
  c->strict = cfg->strict;
  if (cfg->auth_file) {
    c->auth_file = strdup(cfg->auth_file);
    if (!c->auth_file || read_auth_file(c, why, sizeof(why)) < 0) {
      int rv = c->auth_file ? WT_ERR_INVAL : WT_ERR_NOMEM;
      err_set(err, cap, "%s", c->auth_file ? why : "out of memory");
      free(c->auth_file);
      free(c);
      return rv;
    }
  }
  wt_cluster_strcpy(c->id, cfg->node_id, WT_CLUSTER_ID_MAX);
  wt_cluster_strcpy(c->addr, cfg->advertise, WT_CLUSTER_ADDR_MAX);
  c->wake[0] = c->wake[1] = -1;
  const char *ver = cfg->version ? cfg->version : "unknown";
  if (!wt_cluster_token_ok(ver, strlen(ver), sizeof(c->version) - 1) || strchr(ver, ',')) {
    ver = "unknown";
  }
  wt_cluster_strcpy(c->version, ver, sizeof(c->version) - 1);
  snprintf(c->notices, sizeof(c->notices), "wtcast:%u:notices", url.db);
  c->ttl_ms = ttl;
  c->load = cfg->load;
  c->load_arg = cfg->load_arg;
  c->stale_max_ms = cfg->stale_max_ms ? cfg->stale_max_ms : (uint64_t)WT_CLUSTER_STALE_TTLS * ttl;
  wt_cluster_map_init(&c->chans, WT_CLUSTER_MAX_CHANNELS);
  wt_cluster_map_init(&c->nodes, WT_CLUSTER_MAX_NODES);
  wt_hmap_init(&c->local);
  wt_hmap_init(&c->names);
  pthread_rwlock_init(&c->lock, NULL);
  pthread_mutex_init(&c->mu, NULL);
  c->loc = (wt_app_locator){.lookup = loc_lookup, .publish = loc_publish, .arg = c};
  c->mod = (wt_app_module){.name = "cluster",
                           .arg = c,
                           .metrics_extra = cluster_metrics,
                           .json_key = "cluster",
                           .stats_json = cluster_json};
  if (pipe2(c->wake, O_NONBLOCK | O_CLOEXEC) < 0) {
    err_set(err, cap, "pipe: %s", strerror(errno));
    wt_cluster_del(c);
    return WT_ERR_IO;
  }
  *out = c;
  return 0;
}

int wt_cluster_start(wt_cluster *c, const char *advertise, char *err, size_t cap) {
  if (advertise) {
    if (check_addr(advertise, err, cap) < 0) {
      return WT_ERR_INVAL;
    }
    wt_cluster_strcpy(c->addr, advertise, WT_CLUSTER_ADDR_MAX);
  }
  if (!c->addr[0]) {
    err_set(err, cap, "--advertise: no address to advertise");
    return WT_ERR_INVAL;
  }
  if (c->strict) { /* the first connection here: the start fails without it */
    char why[256] = "";
    if (connect_all(c, why, sizeof(why)) < 0) {
      if (c->auth_refused) {
        count(c, C_AUTH);
      }
      count(c, C_CONNECT_FAILURES);
      disconnect(c, why);
      c->down_since = 0;
      err_set(err, cap, "registry redis://%s:%u: %s (--cluster-strict: not starting)", c->url.host,
              c->url.port, why);
      return WT_ERR_IO;
    }
  }
  /* the thread blocks every signal: they belong to the main thread */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  int rv = pthread_create(&c->th, NULL, cluster_thread, c);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rv != 0) {
    err_set(err, cap, "cannot start the registry thread: %s", strerror(rv));
    return WT_ERR_IO;
  }
  c->started = 1;
  return 0;
}

void wt_cluster_del(wt_cluster *c) {
  if (!c) {
    return;
  }
  if (c->started) {
    atomic_store(&c->stop, 1);
    ssize_t w = write(c->wake[1], "s", 1);
    (void)w;
    pthread_join(c->th, NULL);
  }
  if (c->wake[0] >= 0) {
    close(c->wake[0]);
    close(c->wake[1]);
  }
  WT_HMAP_FOREACH(&c->local, s) {
    free(s->val);
  }
  wt_hmap_free(&c->local);
  WT_HMAP_FOREACH(&c->names, s) {
    free(s->val);
  }
  wt_hmap_free(&c->names);
  wt_cluster_map_free(&c->chans);
  wt_cluster_map_free(&c->nodes);
  if (c->url.has_pass) {
    explicit_bzero(c->url.pass, sizeof(c->url.pass));
  }
  free(c->auth_file);
  pthread_rwlock_destroy(&c->lock);
  pthread_mutex_destroy(&c->mu);
  free(c);
}

const wt_app_locator *wt_cluster_locator(wt_cluster *c) {
  return &c->loc;
}

const wt_app_module *wt_cluster_module(wt_cluster *c) {
  return &c->mod;
}
