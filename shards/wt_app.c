/* wt_app.c: the router and the query-string helpers of the application
 * API (the dispatch is in wt_app_ctx.c, the shard side in wt_bridge.c). */
#define WT_LOG_MODULE "app"
#include "wt_app.h"

#include <stdlib.h>
#include <string.h>

#include "wt_error.h"
#include "wt_log.h"

/* ------------------------------------------------------------------ router */

typedef struct wt_app_route {
  char path[WT_APP_MAX_PATH_LEN + 1];
  size_t len;
  const wt_app_ops *ops;
  void *arg;
} wt_app_route;

struct wt_app_router {
  size_t n;
  wt_app_route routes[WT_APP_MAX_ROUTES];
};

int wt_app_router_new(wt_app_router **out) {
  if (!out) {
    return WT_ERR_INVAL;
  }
  *out = calloc(1, sizeof(**out));
  return *out ? 0 : WT_ERR_NOMEM;
}

void wt_app_router_del(wt_app_router *r) {
  free(r);
}

static const wt_app_route *router_lookup(const wt_app_router *r, const char *path, size_t len) {
  for (size_t i = 0; i < r->n; i++) {
    if (r->routes[i].len == len && memcmp(r->routes[i].path, path, len) == 0) {
      return &r->routes[i];
    }
  }
  return NULL;
}

int wt_app_router_add(wt_app_router *r, const char *path, const wt_app_ops *ops, void *arg) {
  if (!r || !path || !ops || path[0] != '/') {
    return WT_ERR_INVAL;
  }
  size_t len = strnlen(path, WT_APP_MAX_PATH_LEN + 1);
  if (len > WT_APP_MAX_PATH_LEN || memchr(path, '?', len)) {
    return WT_ERR_INVAL;
  }
  if (router_lookup(r, path, len)) {
    return WT_ERR_STATE;
  }
  if (r->n == WT_APP_MAX_ROUTES) {
    return WT_ERR_LIMIT;
  }
  wt_app_route *rt = &r->routes[r->n++];
  memcpy(rt->path, path, len);
  rt->path[len] = '\0';
  rt->len = len;
  rt->ops = ops;
  rt->arg = arg;
  return 0;
}

/* The longest prefix route (a path ending in "/" + "*", e.g. "/moq/" + "*":
 * "/moq/" followed by at least one byte) that path[0..len) falls under. */
static const wt_app_route *router_prefix(const wt_app_router *r, const char *path, size_t len) {
  const wt_app_route *best = NULL;
  for (size_t i = 0; i < r->n; i++) {
    const wt_app_route *rt = &r->routes[i];
    size_t pl = rt->len - 1; /* without the '*' */
    if (rt->len >= 3 && rt->path[rt->len - 1] == '*' && rt->path[rt->len - 2] == '/' && len > pl &&
        memcmp(rt->path, path, pl) == 0 && (!best || rt->len > best->len)) {
      best = rt;
    }
  }
  return best;
}

const wt_app_ops *wt_app_router_find(const wt_app_router *r, const char *path, void **arg) {
  if (!r || !path) {
    return NULL;
  }
  const char *q = strchr(path, '?');
  size_t len = q ? (size_t)(q - path) : strlen(path);
  const wt_app_route *rt = router_lookup(r, path, len);
  if (!rt) {
    rt = router_prefix(r, path, len);
  }
  if (!rt) {
    return NULL;
  }
  if (arg) {
    *arg = rt->arg;
  }
  return rt->ops;
}

/* ------------------------------------------------------------------ query strings */

static int hex_val(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

/* Decode one byte of the URL-encoded s[*i..n) and advance *i. Returns the
 * byte (0..255) or -1 for a malformed escape. */
static int url_next(const char *s, size_t n, size_t *i) {
  char c = s[*i];
  if (c == '+') {
    (*i)++;
    return ' ';
  }
  if (c != '%') {
    (*i)++;
    return (unsigned char)c;
  }
  if (*i + 2 >= n) {
    return -1; /* fewer than two characters after '%' */
  }
  int hi = hex_val(s[*i + 1]), lo = hex_val(s[*i + 2]);
  if (hi < 0 || lo < 0) {
    return -1;
  }
  *i += 3;
  return hi * 16 + lo;
}

/* 1 if the decoded s[0..n) equals name, 0 if not, -1 if malformed. */
static int url_equals(const char *s, size_t n, const char *name) {
  size_t i = 0, j = 0;
  int equal = 1;
  while (i < n) {
    int b = url_next(s, n, &i);
    if (b < 0) {
      return -1;
    }
    if (equal && (name[j] == '\0' || (unsigned char)name[j] != b)) {
      equal = 0;
    }
    if (equal) {
      j++;
    }
  }
  return equal && name[j] == '\0';
}

/* Decode s[0..n) into buf (cap >= 1) with a NUL. Returns the length,
 * WT_ERR_NOTFOUND if malformed, WT_ERR_NOBUF if it does not fit. */
static int url_decode(const char *s, size_t n, char *buf, size_t cap) {
  size_t i = 0, o = 0;
  while (i < n) {
    int b = url_next(s, n, &i);
    if (b < 0) {
      buf[0] = '\0';
      return WT_ERR_NOTFOUND;
    }
    if (o + 1 >= cap) {
      /* keep scanning: a malformed escape further on still means "absent" */
      while (i < n) {
        if (url_next(s, n, &i) < 0) {
          buf[0] = '\0';
          return WT_ERR_NOTFOUND;
        }
      }
      buf[0] = '\0';
      return WT_ERR_NOBUF;
    }
    buf[o++] = (char)b;
  }
  buf[o] = '\0';
  return (int)o;
}

int wt_app_query_get(const char *query, const char *name, char *buf, size_t cap) {
  if (!name || !buf || cap == 0) {
    return WT_ERR_INVAL;
  }
  buf[0] = '\0';
  if (!query) {
    return WT_ERR_NOTFOUND;
  }
  size_t qlen = strnlen(query, WT_APP_QUERY_MAX + 1);
  if (qlen > WT_APP_QUERY_MAX) {
    return WT_ERR_NOTFOUND; /* unbounded input is not parsed at all */
  }
  size_t p = 0;
  while (p < qlen) {
    const char *amp = memchr(query + p, '&', qlen - p);
    size_t end = amp ? (size_t)(amp - query) : qlen;
    const char *eq = memchr(query + p, '=', end - p);
    size_t key_end = eq ? (size_t)(eq - query) : end;
    size_t val = eq ? key_end + 1 : end;
    if (url_equals(query + p, key_end - p, name) == 1) {
      int rv = url_decode(query + val, end - val, buf, cap);
      if (rv != WT_ERR_NOTFOUND) {
        return rv;
      }
      /* malformed value: this parameter is absent; a later one may match */
    }
    p = end + 1;
  }
  return WT_ERR_NOTFOUND;
}

int wt_app_query_get_u64(const char *query, const char *name, uint64_t *out) {
  char buf[24];
  int n = wt_app_query_get(query, name, buf, sizeof(buf));
  if (n <= 0 || n > 20 || !out) {
    return WT_ERR_NOTFOUND;
  }
  uint64_t v = 0;
  for (int i = 0; i < n; i++) {
    if (buf[i] < '0' || buf[i] > '9') {
      return WT_ERR_NOTFOUND;
    }
    uint64_t d = (uint64_t)(buf[i] - '0');
    if (v > (UINT64_MAX - d) / 10) {
      return WT_ERR_NOTFOUND; /* overflow */
    }
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

const char *wt_app_choose_protocol(const wt_app_request *req, const char *const *prefs, size_t n) {
  if (!req || !prefs) {
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    for (size_t k = 0; prefs[i] && k < req->n_protocols; k++) {
      if (strcmp(prefs[i], req->protocols[k]) == 0) {
        return req->protocols[k];
      }
    }
  }
  return NULL;
}
