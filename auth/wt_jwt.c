/* wt_jwt.c: token verification, grants and signing (see wt_jwt.h). */
#include "wt_jwt.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wt_base64.h"
#include "wt_error.h"
#include "wt_jose.h"

#define JWT_DEPTH_MAX 4
#define SEG_MAX       (WT_JWT_TOKEN_MAX / 4 * 3 + 3)

static const char *const result_names[WT_JWT_RESULTS] = {
    [WT_JWT_OK] = "ok",
    [WT_JWT_MISSING] = "missing",
    [WT_JWT_MALFORMED] = "malformed",
    [WT_JWT_UNKNOWN_KID] = "unknown_kid",
    [WT_JWT_BAD_ALG] = "bad_alg",
    [WT_JWT_BAD_SIGNATURE] = "bad_signature",
    [WT_JWT_EXPIRED] = "expired",
    [WT_JWT_NOT_YET_VALID] = "not_yet_valid",
    [WT_JWT_FORBIDDEN] = "forbidden",
};

const char *wt_jwt_result_name(wt_jwt_result r) {
  return (unsigned)r < WT_JWT_RESULTS ? result_names[r] : "?";
}

static void say(char *why, size_t cap, const char *s) {
  if (why && cap) {
    snprintf(why, cap, "%s", s);
  }
}

/* ------------------------------------------------------------------ paths */

int wt_jwt_path_normalize(const char *path, char *out, size_t cap) {
  size_t n = 0;
  const char *p = path ? path : "";
  while (*p) {
    while (*p == '/') {
      p++;
    }
    const char *seg = p;
    while (*p && *p != '/') {
      p++;
    }
    size_t len = (size_t)(p - seg);
    if (len == 0) {
      break;
    }
    if (n + (n ? 1 : 0) + len + 1 > cap) {
      return WT_ERR_NOBUF;
    }
    if (n) {
      out[n++] = '/';
    }
    memcpy(out + n, seg, len);
    n += len;
  }
  if (cap == 0) {
    return WT_ERR_NOBUF;
  }
  out[n] = '\0';
  return (int)n;
}

/* prefix is a prefix of path on a segment boundary (both normalized; the
 * empty prefix is a prefix of everything). */
static int has_prefix(const char *path, const char *prefix) {
  size_t n = strlen(prefix);
  if (n == 0) {
    return 1;
  }
  return !strncmp(path, prefix, n) && (path[n] == '\0' || path[n] == '/');
}

int wt_jwt_allows(const wt_jwt_claims *c, wt_jwt_action action, const char *path) {
  char target[WT_JWT_PATH_MAX + 1], full[2 * WT_JWT_PATH_MAX + 2];
  if ((unsigned)action > WT_JWT_GET || wt_jwt_path_normalize(path, target, sizeof(target)) < 0) {
    return 0;
  }
  for (size_t i = 0; i < c->n_grants[action]; i++) {
    const char *g = c->grants[action][i];
    /* root joined with the grant, "/" only between two non-empty parts */
    snprintf(full, sizeof(full), "%s%s%s", c->root, c->root[0] && g[0] ? "/" : "", g);
    if (has_prefix(target, full)) {
      return 1;
    }
  }
  return 0;
}

/* ------------------------------------------------------------------ claims */

typedef struct arena {
  char *buf;
  size_t used, cap;
} arena;

/* A normalized copy of s in the arena, or NULL (too long / no room). */
static const char *arena_path(arena *a, const char *s, size_t len) {
  if (len > WT_JWT_PATH_MAX) {
    return NULL;
  }
  int n = wt_jwt_path_normalize(s, a->buf + a->used, a->cap - a->used);
  if (n < 0) {
    return NULL;
  }
  const char *out = a->buf + a->used;
  a->used += (size_t)n + 1;
  return out;
}

static int parse_grants(wt_jwt_claims *c, arena *a, json_t *v, wt_jwt_action act) {
  c->n_grants[act] = 0;
  if (!v || json_is_null(v)) {
    return 0;
  }
  if (json_is_string(v)) {
    const char *p = arena_path(a, json_string_value(v), json_string_length(v));
    if (!p) {
      return -1;
    }
    c->grants[act][c->n_grants[act]++] = p;
    return 0;
  }
  if (!json_is_array(v) || json_array_size(v) > WT_JWT_MAX_GRANTS) {
    return -1;
  }
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e) {
    const char *p =
        json_is_string(e) ? arena_path(a, json_string_value(e), json_string_length(e)) : NULL;
    if (!p) {
      return -1;
    }
    c->grants[act][c->n_grants[act]++] = p;
  }
  return 0;
}

/* A NumericDate member (RFC 7519 section 2): absent or null = not set. */
static int parse_date(json_t *o, const char *name, int *has, int64_t *out) {
  json_t *v = json_object_get(o, name);
  *has = 0;
  if (!v || json_is_null(v)) {
    return 0;
  }
  if (json_is_integer(v)) {
    *out = (int64_t)json_integer_value(v);
  } else if (json_is_real(v) && isfinite(json_real_value(v)) && fabs(json_real_value(v)) < 9.0e18) {
    *out = (int64_t)json_real_value(v);
  } else {
    return -1;
  }
  *has = 1;
  return 0;
}

static wt_jwt_result parse_claims(wt_jwt_claims *c, const char *json, size_t n, char *why,
                                  size_t cap) {
  char err[160];
  json_t *o = wt_jose_parse_object(json, n, JWT_DEPTH_MAX, err, sizeof(err));
  if (!o) {
    if (why && cap) {
      snprintf(why, cap, "claims: %s", err);
    }
    return WT_JWT_MALFORMED;
  }
  arena a = {.buf = c->arena, .used = 0, .cap = sizeof(c->arena)};
  wt_jwt_result r = WT_JWT_OK;
  json_t *root = json_object_get(o, "root");
  if (root && !json_is_null(root)) {
    c->root = json_is_string(root)
                  ? arena_path(&a, json_string_value(root), json_string_length(root))
                  : NULL;
  } else {
    c->root = arena_path(&a, "", 0);
  }
  if (!c->root) {
    say(why, cap, "claims: root is not a path string");
    r = WT_JWT_MALFORMED;
  } else if (parse_grants(c, &a, json_object_get(o, "put"), WT_JWT_PUT) < 0 ||
             parse_grants(c, &a, json_object_get(o, "get"), WT_JWT_GET) < 0) {
    say(why, cap, "claims: put/get not a path or an array of at most 32 paths");
    r = WT_JWT_MALFORMED;
  } else if (c->n_grants[WT_JWT_PUT] + c->n_grants[WT_JWT_GET] == 0) {
    say(why, cap, "claims: grants neither put nor get");
    r = WT_JWT_MALFORMED;
  } else if (parse_date(o, "exp", &c->has_exp, &c->exp) < 0 ||
             parse_date(o, "nbf", &c->has_nbf, &c->nbf) < 0 ||
             parse_date(o, "iat", &c->has_iat, &c->iat) < 0) {
    say(why, cap, "claims: exp/nbf/iat not a number");
    r = WT_JWT_MALFORMED;
  }
  json_decref(o);
  return r;
}

/* ------------------------------------------------------------------ verification */

/* The header: alg (into alg, cap 16) and kid; MALFORMED when unusable. */
static wt_jwt_result parse_header(const char *json, size_t n, char *alg, size_t alg_cap,
                                  wt_jwt_claims *c, int *has_kid, char *why, size_t cap) {
  char err[160];
  json_t *o = wt_jose_parse_object(json, n, JWT_DEPTH_MAX, err, sizeof(err));
  if (!o) {
    if (why && cap) {
      snprintf(why, cap, "header: %s", err);
    }
    return WT_JWT_MALFORMED;
  }
  wt_jwt_result r = WT_JWT_OK;
  json_t *a = json_object_get(o, "alg"), *k = json_object_get(o, "kid");
  if (!json_is_string(a) || json_string_length(a) >= alg_cap) {
    say(why, cap, "header: no alg");
    r = WT_JWT_MALFORMED;
  } else if (json_object_get(o, "crit")) {
    say(why, cap, "header: crit extensions are not supported");
    r = WT_JWT_MALFORMED;
  } else if (k && (!json_is_string(k) || json_string_length(k) > WT_JWK_KID_MAX ||
                   strlen(json_string_value(k)) != json_string_length(k))) {
    say(why, cap, "header: kid is not a string of at most 64 bytes");
    r = WT_JWT_MALFORMED;
  } else {
    snprintf(alg, alg_cap, "%s", json_string_value(a));
    *has_kid = k != NULL;
    snprintf(c->kid, sizeof(c->kid), "%s", k ? json_string_value(k) : "");
  }
  json_decref(o);
  return r;
}

static int decode_seg(const char *s, size_t n, char *out, size_t cap) {
  /* RFC 7515 section 2: base64url without padding; one encoding only */
  return wt_base64_decode(s, n, (uint8_t *)out, cap, WT_B64_URL | WT_B64_STRICT);
}

wt_jwt_result wt_jwt_verify(const wt_jwk_set *set, const char *token, size_t len, int64_t now,
                            wt_jwt_claims *out, char *why, size_t cap) {
  wt_jwt_claims scratch; /* when the caller wants no claims */
  wt_jwt_claims *c = out ? out : &scratch;
  memset(c, 0, offsetof(wt_jwt_claims, arena));
  if (why && cap) {
    why[0] = '\0';
  }
  if (len == 0) {
    return WT_JWT_MISSING;
  }
  if (len > WT_JWT_TOKEN_MAX) {
    say(why, cap, "longer than 4096 bytes");
    return WT_JWT_MALFORMED;
  }
  const char *dot1 = memchr(token, '.', len);
  const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
  if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token))) {
    say(why, cap, "not three dot-separated parts");
    return WT_JWT_MALFORMED;
  }
  char buf[SEG_MAX];
  int hn = decode_seg(token, (size_t)(dot1 - token), buf, sizeof(buf));
  if (hn <= 0) {
    say(why, cap, "header is not base64url");
    return WT_JWT_MALFORMED;
  }
  char alg[16];
  int has_kid = 0;
  wt_jwt_result r = parse_header(buf, (size_t)hn, alg, sizeof(alg), c, &has_kid, why, cap);
  if (r != WT_JWT_OK) {
    return r;
  }
  const wt_jwk *k = wt_jwk_set_find(set, has_kid ? c->kid : NULL);
  if (!k || !wt_jwk_can_verify(k)) {
    if (why && cap) {
      snprintf(why, cap, has_kid ? "no verifying key with kid %s" : "no kid and not one key",
               c->kid);
    }
    return WT_JWT_UNKNOWN_KID;
  }
  /* RFC 8725 section 3.1: the algorithm is the key's, never the token's */
  c->alg = wt_jwk_alg_of(k);
  if (strcmp(alg, wt_jwk_alg_name(c->alg)) != 0) {
    if (why && cap) {
      snprintf(why, cap, "alg %.15s for a %s key", alg, wt_jwk_alg_name(c->alg));
    }
    return WT_JWT_BAD_ALG;
  }
  const char *sig_s = dot2 + 1;
  uint8_t sig[WT_JWK_SIG_MAX];
  int sn = wt_base64_decode(sig_s, len - (size_t)(sig_s - token), sig, sizeof(sig),
                            WT_B64_URL | WT_B64_STRICT);
  if (sn < 0 ||
      wt_jwk_verify(k, (const uint8_t *)token, (size_t)(dot2 - token), sig, (size_t)sn) != 0) {
    say(why, cap, "signature does not verify");
    return WT_JWT_BAD_SIGNATURE;
  }
  int pn = decode_seg(dot1 + 1, (size_t)(dot2 - dot1 - 1), buf, sizeof(buf));
  if (pn <= 0) {
    say(why, cap, "claims are not base64url");
    return WT_JWT_MALFORMED;
  }
  r = parse_claims(c, buf, (size_t)pn, why, cap);
  if (r != WT_JWT_OK) {
    return r;
  }
  if (c->has_exp && c->exp <= now - WT_JWT_LEEWAY_S) {
    if (why && cap) {
      snprintf(why, cap, "expired %lld s ago", (long long)(now - c->exp));
    }
    return WT_JWT_EXPIRED;
  }
  if (c->has_nbf && c->nbf > now + WT_JWT_LEEWAY_S) {
    if (why && cap) {
      snprintf(why, cap, "valid only in %lld s", (long long)(c->nbf - now));
    }
    return WT_JWT_NOT_YET_VALID;
  }
  return WT_JWT_OK;
}

/* ------------------------------------------------------------------ signing */

static json_t *path_list(const char *const *p, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < n; i++) {
    if (strlen(p[i]) > WT_JWT_PATH_MAX || json_array_append_new(a, json_string(p[i])) < 0) {
      json_decref(a);
      return NULL;
    }
  }
  return a;
}

static int b64_append(char *out, size_t cap, size_t *at, const void *b, size_t n) {
  int w = wt_base64_encode(b, n, out + *at, cap - *at, WT_B64_URL);
  if (w < 0) {
    return w;
  }
  *at += (size_t)w;
  return 0;
}

int wt_jwt_sign(const wt_jwk *k, const wt_jwt_grant *g, char *out, size_t cap) {
  if (g->n_put + g->n_get == 0 || g->n_put > WT_JWT_MAX_GRANTS || g->n_get > WT_JWT_MAX_GRANTS ||
      (g->root && strlen(g->root) > WT_JWT_PATH_MAX)) {
    return WT_ERR_INVAL;
  }
  if (!wt_jwk_can_sign(k)) {
    return WT_ERR_REFUSED;
  }
  json_t *h = json_object(), *p = json_object();
  int rv = h && p ? 0 : WT_ERR_NOMEM;
  if (rv == 0) {
    json_object_set_new(h, "alg", json_string(wt_jwk_alg_name(wt_jwk_alg_of(k))));
    json_object_set_new(h, "typ", json_string("JWT"));
    if (wt_jwk_kid(k)) {
      json_object_set_new(h, "kid", json_string(wt_jwk_kid(k)));
    }
    json_object_set_new(p, "root", json_string(g->root ? g->root : ""));
    json_t *put = g->n_put ? path_list(g->put, g->n_put) : NULL;
    json_t *get = g->n_get ? path_list(g->get, g->n_get) : NULL;
    if ((g->n_put && !put) || (g->n_get && !get)) {
      rv = WT_ERR_INVAL;
    }
    if (put) {
      json_object_set_new(p, "put", put);
    }
    if (get) {
      json_object_set_new(p, "get", get);
    }
    if (g->exp) {
      json_object_set_new(p, "exp", json_integer(g->exp));
    }
    if (g->nbf) {
      json_object_set_new(p, "nbf", json_integer(g->nbf));
    }
    if (g->iat) {
      json_object_set_new(p, "iat", json_integer(g->iat));
    }
  }
  char *hs = rv == 0 ? json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  char *ps = rv == 0 ? json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(h);
  json_decref(p);
  if (rv == 0 && (!hs || !ps)) {
    rv = WT_ERR_NOMEM;
  }
  size_t at = 0;
  if (rv == 0) {
    rv = b64_append(out, cap, &at, hs, strlen(hs));
  }
  if (rv == 0 && at + 1 < cap) {
    out[at++] = '.';
    rv = b64_append(out, cap, &at, ps, strlen(ps));
  } else if (rv == 0) {
    rv = WT_ERR_NOBUF;
  }
  uint8_t sig[WT_JWK_SIG_MAX];
  int sn = rv == 0 ? wt_jwk_sign(k, (const uint8_t *)out, at, sig, sizeof(sig)) : rv;
  if (sn < 0) {
    rv = sn;
  } else if (at + 1 < cap) {
    out[at++] = '.';
    rv = b64_append(out, cap, &at, sig, (size_t)sn);
  } else {
    rv = WT_ERR_NOBUF;
  }
  free(hs);
  free(ps);
  return rv < 0 ? rv : (int)at;
}
