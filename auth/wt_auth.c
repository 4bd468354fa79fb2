/* wt_auth.c: see wt_auth.h. */
#define WT_LOG_MODULE "auth"
#include "wt_auth.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wt_error.h"
#include "wt_log.h"

struct wt_auth {
  pthread_rwlock_t lock; /* guards set (the pointer): readers check, reload swaps */
  wt_jwk_set *set;
  char *path;
  _Atomic uint64_t results[WT_JWT_RESULTS];
  _Atomic uint64_t reloads_ok, reloads_failed, keys, sessions_expired;
};

int wt_auth_new(wt_auth **out, const char *path, char *err, size_t cap) {
  *out = NULL;
  wt_auth *a = calloc(1, sizeof(*a));
  if (!a || !(a->path = strdup(path))) {
    free(a);
    snprintf(err, cap, "out of memory");
    return WT_ERR_NOMEM;
  }
  int rv = wt_jwk_set_load(path, &a->set, err, cap);
  if (rv < 0) {
    free(a->path);
    free(a);
    return rv;
  }
  pthread_rwlock_init(&a->lock, NULL);
  atomic_store(&a->keys, wt_jwk_set_count(a->set));
  *out = a;
  return 0;
}

void wt_auth_del(wt_auth *a) {
  if (!a) {
    return;
  }
  pthread_rwlock_destroy(&a->lock);
  wt_jwk_set_free(a->set);
  free(a->path);
  free(a);
}

int wt_auth_reload(wt_auth *a, char *err, size_t cap) {
  wt_jwk_set *s;
  int rv = wt_jwk_set_load(a->path, &s, err, cap);
  if (rv < 0) {
    atomic_fetch_add_explicit(&a->reloads_failed, 1, memory_order_relaxed);
    WT_LOG_ERROR("reload failed, the previous keys stay in use: %s", err);
    return rv;
  }
  pthread_rwlock_wrlock(&a->lock);
  wt_jwk_set *old = a->set;
  a->set = s;
  pthread_rwlock_unlock(&a->lock);
  wt_jwk_set_free(old); /* no reader holds it: they all left the lock */
  atomic_fetch_add_explicit(&a->reloads_ok, 1, memory_order_relaxed);
  atomic_store_explicit(&a->keys, wt_jwk_set_count(s), memory_order_relaxed);
  WT_LOG_INFO("reloaded %zu key(s) from %s", wt_jwk_set_count(s), a->path);
  return 0;
}

wt_jwt_result wt_auth_check(wt_auth *a, const char *token, size_t len, wt_jwt_action action,
                            const char *path, int64_t now, const char *what) {
  return wt_auth_check_until(a, token, len, action, path, now, what, NULL);
}

wt_jwt_result wt_auth_check_until(wt_auth *a, const char *token, size_t len, wt_jwt_action action,
                                  const char *path, int64_t now, const char *what,
                                  int64_t *exp_out) {
  wt_jwt_claims c;
  char why[160];
  pthread_rwlock_rdlock(&a->lock);
  wt_jwt_result r = wt_jwt_verify(a->set, token, len, now, &c, why, sizeof(why));
  pthread_rwlock_unlock(&a->lock);
  if (r == WT_JWT_OK && !wt_jwt_allows(&c, action, path)) {
    r = WT_JWT_FORBIDDEN;
    snprintf(why, sizeof(why), "root '%s' grants no %s prefix covering it", c.root,
             action == WT_JWT_PUT ? "put" : "get");
  }
  atomic_fetch_add_explicit(&a->results[r], 1, memory_order_relaxed);
  if (r == WT_JWT_OK && exp_out) {
    *exp_out = !c.has_exp                            ? INT64_MAX
               : c.exp > INT64_MAX - WT_JWT_LEEWAY_S ? INT64_MAX
                                                     : c.exp + WT_JWT_LEEWAY_S;
  }
  if (r != WT_JWT_OK) {
    /* never the token itself: it is a credential */
    int kid = c.kid[0] && r != WT_JWT_UNKNOWN_KID; /* that reason names it already */
    WT_LOG_WARN_RL(10, "refused %s (%s): %s%s%s%s", what ? what : path, wt_jwt_result_name(r), why,
                   kid ? " (kid " : "", kid ? c.kid : "", kid ? ")" : "");
  }
  return r;
}

void wt_auth_count_expired(wt_auth *a, const char *what) {
  atomic_fetch_add_explicit(&a->sessions_expired, 1, memory_order_relaxed);
  WT_LOG_INFO_RL(10, "session closed (%s): token expired", what ? what : "?");
}

int wt_auth_status(wt_jwt_result r) {
  return r == WT_JWT_OK ? 0 : r == WT_JWT_FORBIDDEN ? 403 : 401;
}

void wt_auth_get_stats(wt_auth *a, wt_auth_stats *out) {
  for (size_t i = 0; i < WT_JWT_RESULTS; i++) {
    out->results[i] = atomic_load_explicit(&a->results[i], memory_order_relaxed);
  }
  out->reloads_ok = atomic_load_explicit(&a->reloads_ok, memory_order_relaxed);
  out->reloads_failed = atomic_load_explicit(&a->reloads_failed, memory_order_relaxed);
  out->keys = atomic_load_explicit(&a->keys, memory_order_relaxed);
  out->sessions_expired = atomic_load_explicit(&a->sessions_expired, memory_order_relaxed);
}
