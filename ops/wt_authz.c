/* wt_authz.c: see wt_authz.h. */
#include "wt_authz.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "wt_error.h"

int wt_authz_token(const wt_app_request *req, char *buf, size_t cap) {
  buf[0] = '\0';
  int n = wt_app_query_get(req->query, "jwt", buf, cap);
  if (n == WT_ERR_NOBUF) {
    return -1;
  }
  if (n > 0) {
    return (int)strlen(buf) == n ? n : -1; /* a %00 inside is no token */
  }
  for (size_t i = 0; i < req->n_headers; i++) {
    const wt_app_header *h = &req->headers[i];
    if (strcmp(h->name, "authorization") != 0 || strncasecmp(h->value, "bearer ", 7) != 0) {
      continue;
    }
    const char *v = h->value + 7;
    while (*v == ' ') {
      v++;
    }
    size_t len = strlen(v);
    if (len >= cap) {
      return -1;
    }
    memcpy(buf, v, len + 1);
    return (int)len;
  }
  return 0;
}

static void authz_expired(void *arg, wt_app_session *as) {
  wt_authz *z = arg;
  (void)as;
  wt_auth_count_expired(z->auth, NULL);
}

static int authz_check(void *arg, wt_app_session *as, const wt_app_request *req, int action,
                       const char *path) {
  wt_authz *z = arg;
  char token[WT_JWT_TOKEN_MAX + 1];
  int n = wt_authz_token(req, token, sizeof(token));
  char what[WT_JWT_PATH_MAX + 16];
  snprintf(what, sizeof(what), "%s %s", action == WT_APP_AUTH_PUBLISH ? "publish" : "subscribe",
           path);
  wt_jwt_result r;
  int64_t until = INT64_MAX;
  if (n < 0) {
    /* longer than any token we accept: refused without a look inside */
    r = wt_auth_check(z->auth, token, WT_JWT_TOKEN_MAX + 1, WT_JWT_PUT, path, 0, what);
  } else {
    int64_t now = (int64_t)time(NULL);
    r = wt_auth_check_until(z->auth, token, (size_t)n,
                            action == WT_APP_AUTH_PUBLISH ? WT_JWT_PUT : WT_JWT_GET, path, now,
                            what, &until);
    if (r == WT_JWT_OK && until != INT64_MAX) {
      /* the session ends with its token (wt_authz.h): one timer */
      uint64_t s = until > now ? (uint64_t)(until - now) : 0;
      uint64_t ns = s > UINT64_MAX / 1000000000u ? UINT64_MAX : s * 1000000000u;
      wt_app_session_expire_after(as, ns, WT_APP_CLOSE_EXPIRED, "token expired", authz_expired, z);
    }
  }
  int status = wt_auth_status(r);
  if (status == 401) {
    wt_app_session_add_header(as, "www-authenticate",
                              r == WT_JWT_MISSING ? "Bearer" : "Bearer error=\"invalid_token\"");
  }
  return status;
}

/* ------------------------------------------------------------------ statistics */

static int authz_json(void *arg, char *buf, size_t cap) {
  wt_authz *z = arg;
  wt_auth_stats s;
  wt_auth_get_stats(z->auth, &s);
  size_t n = 0;
  int w = snprintf(buf, cap, "{");
  for (int r = 0; r < WT_JWT_RESULTS && w >= 0 && (size_t)w < cap - n; r++) {
    n += (size_t)w;
    w = snprintf(buf + n, cap - n, "%s\"%s\":%llu", r ? "," : "", wt_jwt_result_name(r),
                 (unsigned long long)s.results[r]);
  }
  if (w >= 0 && (size_t)w < cap - n) {
    n += (size_t)w;
    w = snprintf(buf + n, cap - n,
                 ",\"reloads_ok\":%llu,\"reloads_failed\":%llu,\"keys\":%llu,"
                 "\"sessions_expired\":%llu}",
                 (unsigned long long)s.reloads_ok, (unsigned long long)s.reloads_failed,
                 (unsigned long long)s.keys, (unsigned long long)s.sessions_expired);
  }
  if (w < 0 || (size_t)w >= cap - n) {
    return WT_ERR_NOBUF;
  }
  return (int)(n + (size_t)w);
}

static int authz_metrics(void *arg, wt_app_print_fn print, void *sink) {
  wt_authz *z = arg;
  wt_auth_stats s;
  wt_auth_get_stats(z->auth, &s);
  int rv = print(sink, "# HELP wtcast_auth_total token checks (publish and subscribe requests) "
                       "by result\n# TYPE wtcast_auth_total counter\n");
  for (int r = 0; r < WT_JWT_RESULTS && rv == 0; r++) {
    rv = print(sink, "wtcast_auth_total{result=\"%s\"} %llu\n", wt_jwt_result_name(r),
               (unsigned long long)s.results[r]);
  }
  if (rv == 0) {
    rv = print(sink,
               "# HELP wtcast_auth_reloads_total key file reloads (SIGHUP) by result\n"
               "# TYPE wtcast_auth_reloads_total counter\n"
               "wtcast_auth_reloads_total{result=\"ok\"} %llu\n"
               "wtcast_auth_reloads_total{result=\"failed\"} %llu\n"
               "# HELP wtcast_auth_keys keys in use\n# TYPE wtcast_auth_keys gauge\n"
               "wtcast_auth_keys %llu\n"
               "# HELP wtcast_auth_sessions_expired_total admitted sessions closed when their "
               "token expired (exp + leeway)\n"
               "# TYPE wtcast_auth_sessions_expired_total counter\n"
               "wtcast_auth_sessions_expired_total %llu\n",
               (unsigned long long)s.reloads_ok, (unsigned long long)s.reloads_failed,
               (unsigned long long)s.keys, (unsigned long long)s.sessions_expired);
  }
  return rv;
}

void wt_authz_init(wt_authz *z, wt_auth *auth) {
  memset(z, 0, sizeof(*z));
  z->auth = auth;
  z->authorizer = (wt_app_authorizer){.check = authz_check, .arg = z};
  z->module = (wt_app_module){.name = "auth",
                              .arg = z,
                              .metrics_extra = authz_metrics,
                              .json_key = "auth",
                              .stats_json = authz_json};
}
