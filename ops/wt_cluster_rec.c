/* wt_cluster_rec.c: see wt_cluster_rec.h. */
#include "wt_cluster_rec.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "wt_error.h"
#include "wt_siphash.h"

static int err_set(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int err_set(char *err, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, cap, fmt, ap);
  va_end(ap);
  return -1;
}

/* ------------------------------------------------------------ tokens, URL */

int wt_cluster_token_ok(const char *s, size_t len, size_t max) {
  if (len == 0 || len > max) {
    return 0;
  }
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch < 0x21 || ch > 0x7e || ch == '"' || ch == '\\') {
      return 0;
    }
  }
  return 1;
}

int wt_cluster_id_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > WT_CLUSTER_ID_MAX) {
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          ch == '.' || ch == '_' || ch == '-')) {
      return 0;
    }
  }
  return 1;
}

static int parse_uint(const char *s, size_t n, uint32_t max, uint32_t *out) {
  uint32_t v = 0;
  if (n == 0 || n > 10) {
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') {
      return -1;
    }
    uint64_t w = (uint64_t)v * 10 + (uint64_t)(s[i] - '0');
    if (w > max) {
      return -1;
    }
    v = (uint32_t)w;
  }
  *out = v;
  return 0;
}

/* Percent-decode s[0..n) into dst (cap bytes with the NUL): 0, or -1 (a
 * bad escape, a decoded byte below 0x21 or 0x7f, too long). */
static int pct_decode(const char *s, size_t n, char *dst, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned ch = (unsigned char)s[i];
    if (ch == '%') {
      unsigned v = 0;
      for (int k = 1; k <= 2; k++) {
        char h = i + (size_t)k < n ? s[i + (size_t)k] : 0;
        unsigned d = h >= '0' && h <= '9'   ? (unsigned)(h - '0')
                     : h >= 'a' && h <= 'f' ? (unsigned)(h - 'a' + 10)
                     : h >= 'A' && h <= 'F' ? (unsigned)(h - 'A' + 10)
                                            : 16;
        if (d == 16) {
          return -1;
        }
        v = v * 16 + d;
      }
      ch = v;
      i += 2;
    }
    if (ch < 0x21 || ch == 0x7f || o + 1 >= cap) {
      return -1;
    }
    dst[o++] = (char)ch;
  }
  dst[o] = '\0';
  return 0;
}

int wt_cluster_url_parse(const char *url, wt_cluster_url *out, char *err, size_t cap) {
  static const char scheme[] = "redis://";
  memset(out, 0, sizeof(*out));
  out->port = 6379;
  if (strncmp(url, scheme, sizeof(scheme) - 1) != 0) {
    /* not shown: a mistyped scheme may still carry a password */
    return err_set(err, cap, "the URL must start with redis://");
  }
  const char *p = url + sizeof(scheme) - 1;
  /* USER:PASSWORD@ in the authority (up to the first '/'; the last '@') */
  const char *auth_end = p + strcspn(p, "/"), *at = NULL;
  for (const char *q = p; q < auth_end; q++) {
    if (*q == '@') {
      at = q;
    }
  }
  char shown[320]; /* the URL without its credentials, for messages */
  snprintf(shown, sizeof(shown), "redis://%s%s", at ? "***@" : "", at ? at + 1 : p);
  if (at) {
    const char *colon = memchr(p, ':', (size_t)(at - p));
    size_t ul = (size_t)((colon ? colon : at) - p);
    if (pct_decode(p, ul, out->user, sizeof(out->user)) < 0) {
      return err_set(err, cap, "'%s': bad user name (at most %d bytes, no spaces)", shown,
                     WT_CLUSTER_USER_MAX);
    }
    if (colon) {
      if (pct_decode(colon + 1, (size_t)(at - colon - 1), out->pass, sizeof(out->pass)) < 0 ||
          !out->pass[0]) {
        return err_set(err, cap,
                       "'%s': bad password (1 to %d bytes, no spaces or control characters; "
                       "percent-encode '@', ':' and '/')",
                       shown, WT_CLUSTER_PASS_MAX);
      }
      out->has_pass = 1;
    }
    if (!out->user[0] && !out->has_pass) {
      return err_set(err, cap, "'%s': an empty user name and no password before '@'", shown);
    }
    p = at + 1;
  }
  url = shown; /* every message below shows this one */
  if (strchr(p, '?')) {
    return err_set(err, cap, "'%s': parameters are not supported", url);
  }
  const char *host = p, *host_end;
  if (*p == '[') {
    host = p + 1;
    host_end = strchr(host, ']');
    if (!host_end) {
      return err_set(err, cap, "'%s': unterminated [IPv6 address]", url);
    }
    p = host_end + 1;
  } else {
    host_end = host + strcspn(host, ":/");
    p = host_end;
  }
  size_t hl = (size_t)(host_end - host);
  if (hl == 0 || hl >= sizeof(out->host) || !wt_cluster_token_ok(host, hl, sizeof(out->host) - 1)) {
    return err_set(err, cap, "'%s': bad host", url);
  }
  memcpy(out->host, host, hl);
  out->host[hl] = '\0';
  if (*p == ':') {
    p++;
    size_t n = strcspn(p, "/");
    uint32_t port;
    if (parse_uint(p, n, 65535, &port) < 0 || port == 0) {
      return err_set(err, cap, "'%s': the port must be 1..65535", url);
    }
    out->port = (uint16_t)port;
    p += n;
  }
  if (*p == '/') {
    p++;
    size_t n = strlen(p);
    if (n && parse_uint(p, n, 65535, &out->db) < 0) {
      return err_set(err, cap, "'%s': the database must be a number 0..65535", url);
    }
    p += n;
  }
  if (*p) {
    return err_set(err, cap, "'%s': unexpected '%s'", url, p);
  }
  return 0;
}

int wt_cluster_key(const char *kind, const char *name, char *buf, size_t cap) {
  size_t kl = strlen(kind), nl = strlen(name);
  if (!wt_cluster_token_ok(kind, kl, WT_CLUSTER_KIND_MAX) || memchr(kind, '/', kl) ||
      !wt_cluster_token_ok(name, nl, WT_CLUSTER_KEY_MAX) || kl + 1 + nl > WT_CLUSTER_KEY_MAX ||
      kl + 1 + nl >= cap) {
    return -1;
  }
  memcpy(buf, kind, kl);
  buf[kl] = '/';
  memcpy(buf + kl + 1, name, nl + 1);
  return (int)(kl + 1 + nl);
}

/* ------------------------------------------------------------ notices, records */

/* Split s[0..len) at single spaces into at most max tokens; the number, or
 * -1 when there are more, an empty one or a byte that no token may hold. */
static int split(const char *s, size_t len, const char **tok, size_t *tlen, int max) {
  int n = 0;
  size_t i = 0;
  if (len == 0 || len > WT_CLUSTER_NOTICE_MAX) {
    return -1;
  }
  while (i <= len) {
    size_t j = i;
    while (j < len && s[j] != ' ') {
      j++;
    }
    if (n == max || j == i || !wt_cluster_token_ok(s + i, j - i, WT_CLUSTER_NOTICE_MAX)) {
      return -1;
    }
    tok[n] = s + i;
    tlen[n++] = j - i;
    i = j + 1;
  }
  return n;
}

/* Copy token t (tl bytes) into dst (max bytes + NUL); 0 or -1 if too long. */
static int tok_copy(char *dst, const char *t, size_t tl, size_t max) {
  if (tl == 0 || tl > max) {
    return -1;
  }
  memcpy(dst, t, tl);
  dst[tl] = '\0';
  return 0;
}

static int tok_is(const char *t, size_t tl, const char *word) {
  return tl == strlen(word) && !memcmp(t, word, tl);
}

static int tok_node(char *dst, const char *t, size_t tl) {
  return tok_copy(dst, t, tl, WT_CLUSTER_ID_MAX) < 0 || !wt_cluster_id_ok(dst) ? -1 : 0;
}

static int tok_ttl(uint32_t *dst, const char *t, size_t tl) {
  return parse_uint(t, tl, WT_CLUSTER_TTL_MAX_MS, dst) < 0 || *dst < WT_CLUSTER_TTL_MIN_MS ? -1 : 0;
}

int wt_cluster_key_parse(char *dst, const char *t, size_t tl) {
  if (tok_copy(dst, t, tl, WT_CLUSTER_KEY_MAX) < 0) {
    return -1;
  }
  const char *slash = strchr(dst, '/');
  return !slash || slash == dst || (size_t)(slash - dst) > WT_CLUSTER_KIND_MAX || !slash[1] ? -1
                                                                                            : 0;
}

int wt_cluster_notice_parse(const char *s, size_t len, wt_cluster_notice *out) {
  const char *t[6];
  size_t tl[6];
  memset(out, 0, sizeof(*out));
  int n = split(s, len, t, tl, 6);
  int ok = 0;
  if (n == 6 || n < 2) {
    return WT_ERR_MALFORMED;
  }
  if (tok_node(out->node, t[1], tl[1]) < 0) {
    return WT_ERR_MALFORMED;
  }
  if (tok_is(t[0], tl[0], "+") && n == 5) {
    out->type = WT_CLUSTER_N_ADD;
    ok = tok_ttl(&out->ttl_ms, t[2], tl[2]) == 0 &&
         tok_copy(out->addr, t[3], tl[3], WT_CLUSTER_ADDR_MAX) == 0 &&
         wt_cluster_key_parse(out->key, t[4], tl[4]) == 0;
  } else if (tok_is(t[0], tl[0], "-") && n == 3) {
    out->type = WT_CLUSTER_N_DEL;
    ok = wt_cluster_key_parse(out->key, t[2], tl[2]) == 0;
  } else if (tok_is(t[0], tl[0], "hb") && n == 5) {
    out->type = WT_CLUSTER_N_HB;
    ok = tok_ttl(&out->ttl_ms, t[2], tl[2]) == 0 &&
         tok_copy(out->addr, t[3], tl[3], WT_CLUSTER_ADDR_MAX) == 0 &&
         tok_copy(out->info, t[4], tl[4], WT_CLUSTER_INFO_MAX) == 0;
  } else if (tok_is(t[0], tl[0], "reset") && n == 2) {
    out->type = WT_CLUSTER_N_RESET;
    ok = 1;
  } else if (tok_is(t[0], tl[0], "bye") && n == 2) {
    out->type = WT_CLUSTER_N_BYE;
    ok = 1;
  }
  return ok ? 0 : WT_ERR_MALFORMED;
}

int wt_cluster_notice_format(const wt_cluster_notice *n, char *buf, size_t cap) {
  int w;
  switch (n->type) {
  case WT_CLUSTER_N_ADD:
    w = snprintf(buf, cap, "+ %s %u %s %s", n->node, n->ttl_ms, n->addr, n->key);
    break;
  case WT_CLUSTER_N_DEL:
    w = snprintf(buf, cap, "- %s %s", n->node, n->key);
    break;
  case WT_CLUSTER_N_HB:
    w = snprintf(buf, cap, "hb %s %u %s %s", n->node, n->ttl_ms, n->addr, n->info);
    break;
  case WT_CLUSTER_N_RESET:
    w = snprintf(buf, cap, "reset %s", n->node);
    break;
  case WT_CLUSTER_N_BYE:
    w = snprintf(buf, cap, "bye %s", n->node);
    break;
  default:
    return WT_ERR_INVAL;
  }
  return w < 0 || (size_t)w >= cap ? WT_ERR_NOBUF : w;
}

int wt_cluster_chan_value_parse(const char *s, size_t len, char *node, char *addr) {
  const char *t[4];
  size_t tl[4];
  int n = split(s, len, t, tl, 4);
  if (n != 3 || !tok_is(t[0], tl[0], "1") || tok_node(node, t[1], tl[1]) < 0 ||
      tok_copy(addr, t[2], tl[2], WT_CLUSTER_ADDR_MAX) < 0) {
    return WT_ERR_MALFORMED;
  }
  return 0;
}

int wt_cluster_node_value_parse(const char *s, size_t len, char *addr, char *info) {
  const char *t[4];
  size_t tl[4];
  int n = split(s, len, t, tl, 4);
  if (n != 3 || !tok_is(t[0], tl[0], "1") || tok_copy(addr, t[1], tl[1], WT_CLUSTER_ADDR_MAX) < 0 ||
      tok_copy(info, t[2], tl[2], WT_CLUSTER_INFO_MAX) < 0) {
    return WT_ERR_MALFORMED;
  }
  return 0;
}

/* ------------------------------------------------------------ the map */

/* One process-wide random hash key: the registry's names must not be able
 * to aim at one slot (a collision is refused, never merged). */
static wt_siphash_key map_key;
static pthread_once_t map_key_once = PTHREAD_ONCE_INIT;
static void map_key_init(void) {
  if (getrandom(&map_key, sizeof(map_key), 0) != (ssize_t)sizeof(map_key)) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    map_key.k0 = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull;
    map_key.k1 = (uint64_t)getpid();
  }
}

uint64_t wt_cluster_hash(const char *key) {
  pthread_once(&map_key_once, map_key_init);
  uint64_t h = wt_siphash13(&map_key, key, strlen(key));
  return h ? h : 1; /* 0 is the empty slot */
}

void wt_cluster_map_init(wt_cluster_map *m, size_t max) {
  wt_hmap_init(&m->h);
  m->max = max;
}

void wt_cluster_map_free(wt_cluster_map *m) {
  WT_HMAP_FOREACH(&m->h, s) {
    free(s->val);
  }
  wt_hmap_free(&m->h);
}

wt_cluster_entry *wt_cluster_map_get(const wt_cluster_map *m, const char *key) {
  wt_cluster_entry *e = wt_hmap_get(&m->h, wt_cluster_hash(key));
  return e && !strcmp(e->key, key) ? e : NULL;
}

void wt_cluster_strcpy(char *dst, const char *src, size_t max) {
  size_t n = src ? strnlen(src, max) : 0;
  memcpy(dst, src ? src : "", n);
  dst[n] = '\0';
}

int wt_cluster_map_put(wt_cluster_map *m, const char *key, const char *node, const char *addr,
                       const char *info, uint64_t expires_ms) {
  uint64_t h = wt_cluster_hash(key);
  wt_cluster_entry *e = wt_hmap_get(&m->h, h);
  if (e && strcmp(e->key, key) != 0) {
    return WT_ERR_STATE;
  }
  if (!e) {
    if (wt_hmap_count(&m->h) >= m->max) {
      return WT_ERR_LIMIT;
    }
    e = calloc(1, sizeof(*e));
    if (!e || wt_hmap_put(&m->h, h, e) < 0) {
      free(e);
      return WT_ERR_NOMEM;
    }
    wt_cluster_strcpy(e->key, key, WT_CLUSTER_KEY_MAX);
  }
  wt_cluster_strcpy(e->node, node, WT_CLUSTER_ID_MAX);
  wt_cluster_strcpy(e->addr, addr, WT_CLUSTER_ADDR_MAX);
  wt_cluster_strcpy(e->info, info, WT_CLUSTER_INFO_MAX);
  e->expires_ms = expires_ms;
  return 0;
}

int wt_cluster_map_del(wt_cluster_map *m, const char *key, const char *node) {
  wt_cluster_entry *e = wt_cluster_map_get(m, key);
  if (!e || (node && strcmp(e->node, node) != 0)) {
    return 0;
  }
  free(wt_hmap_del(&m->h, wt_cluster_hash(key)));
  return 1;
}

/* Remove the entries pick() chooses: their hashes are gathered first (the
 * map must not change during a walk), in rounds of 256. */
static size_t map_remove_if(wt_cluster_map *m, int (*pick)(const wt_cluster_entry *, const void *),
                            const void *arg) {
  size_t removed = 0;
  for (;;) {
    uint64_t keys[256];
    size_t n = 0;
    WT_HMAP_FOREACH(&m->h, s) {
      if (n < 256 && pick(s->val, arg)) {
        keys[n++] = s->key;
      }
    }
    for (size_t i = 0; i < n; i++) {
      free(wt_hmap_del(&m->h, keys[i]));
    }
    removed += n;
    if (n < 256) {
      return removed;
    }
  }
}

static int pick_node(const wt_cluster_entry *e, const void *node) {
  return !strcmp(e->node, node);
}

size_t wt_cluster_map_drop_node(wt_cluster_map *m, const char *node) {
  return map_remove_if(m, pick_node, node);
}

int wt_cluster_entry_live(const wt_cluster_entry *e, const wt_cluster_map *nodes, uint64_t now) {
  if (e->expires_ms > now) {
    return 1;
  }
  const wt_cluster_entry *n = nodes ? wt_cluster_map_get(nodes, e->node) : NULL;
  return n && n->expires_ms > now;
}

typedef struct expire_arg {
  const wt_cluster_map *nodes;
  uint64_t now;
} expire_arg;

static int pick_expired(const wt_cluster_entry *e, const void *arg) {
  const expire_arg *x = arg;
  return !wt_cluster_entry_live(e, x->nodes, x->now);
}

size_t wt_cluster_map_expire(wt_cluster_map *chans, wt_cluster_map *nodes, uint64_t now) {
  expire_arg x = {nodes, now};
  size_t n = map_remove_if(chans, pick_expired, &x);
  if (nodes) {
    x.nodes = NULL;
    map_remove_if(nodes, pick_expired, &x);
  }
  return n;
}

static int pick_any(const wt_cluster_entry *e, const void *arg) {
  (void)e;
  (void)arg;
  return 1;
}

size_t wt_cluster_map_drop_stale(wt_cluster_map *chans, wt_cluster_map *nodes,
                                 uint64_t down_since_ms, uint64_t now_ms, uint64_t max_ms) {
  if (!down_since_ms || now_ms < down_since_ms || now_ms - down_since_ms <= max_ms) {
    return 0;
  }
  size_t n = map_remove_if(chans, pick_any, NULL);
  if (nodes) {
    map_remove_if(nodes, pick_any, NULL);
  }
  return n;
}
