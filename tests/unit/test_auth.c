/* test_auth.c: auth/wt_auth.h (checks counted by result, reload keeps the
 * old keys when the new file is bad, key rotation by kid) and
 * ops/wt_authz.h (where the token comes from; the SIGUSR1 member and the
 * metric lines). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "wt_auth.h"
#include "wt_authz.h"
#include "wt_error.h"
#include "wt_jwk.h"
#include "wt_jwt.h"

static char key_path[64];

static int make_path(void) {
  strcpy(key_path, "/tmp/wtcast-test-auth-XXXXXX");
  return mkstemp(key_path);
}

static void write_file(const char *text) {
  FILE *f = fopen(key_path, "w");
  fputs(text, f);
  fclose(f);
}

/* A token signed by the key in priv (JSON) for root/put/get. */
static void token(char *out, size_t cap, const char *priv, const char *put, const char *get,
                  int64_t exp) {
  wt_jwk_set *s = NULL;
  char err[256];
  CHECK_EQ(wt_jwk_set_parse(priv, strlen(priv), &s, err, sizeof(err)), 0);
  const char *p[] = {put}, *g[] = {get};
  wt_jwt_grant gr = {
      .root = "live", .put = p, .get = g, .n_put = put != NULL, .n_get = get != NULL, .exp = exp};
  CHECK(wt_jwt_sign(wt_jwk_set_signer(s), &gr, out, cap) > 0);
  wt_jwk_set_free(s);
}

static void test_check_and_reload(void) {
  int fd = make_path();
  CHECK_FATAL(fd >= 0);
  close(fd);
  char *k1, *k2;
  CHECK_EQ(wt_jwk_generate(WT_JWK_HS256, "one", &k1, NULL), 0);
  CHECK_EQ(wt_jwk_generate(WT_JWK_HS256, "two", &k2, NULL), 0);
  write_file(k1);
  wt_auth *a;
  char err[512];
  CHECK_FATAL(wt_auth_new(&a, key_path, err, sizeof(err)) == 0);
  int64_t now = (int64_t)time(NULL);
  char t1[WT_JWT_TOKEN_MAX + 1], t2[WT_JWT_TOKEN_MAX + 1];
  token(t1, sizeof(t1), k1, "cam", NULL, now + 600);
  token(t2, sizeof(t2), k2, NULL, "", now + 600);
  CHECK_EQ(wt_auth_check(a, t1, strlen(t1), WT_JWT_PUT, "live/cam", now, "t"), WT_JWT_OK);
  CHECK_EQ(wt_auth_check(a, t1, strlen(t1), WT_JWT_GET, "live/cam", now, "t"), WT_JWT_FORBIDDEN);
  CHECK_EQ(wt_auth_check(a, t1, strlen(t1), WT_JWT_PUT, "live/other", now, "t"), WT_JWT_FORBIDDEN);
  CHECK_EQ(wt_auth_check(a, t2, strlen(t2), WT_JWT_GET, "live/cam", now, "t"), WT_JWT_UNKNOWN_KID);
  CHECK_EQ(wt_auth_check(a, "", 0, WT_JWT_GET, "live/cam", now, "t"), WT_JWT_MISSING);
  CHECK_EQ(wt_auth_check(a, t1, strlen(t1), WT_JWT_PUT, "live/cam", now + 3600, "t"),
           WT_JWT_EXPIRED);
  CHECK_EQ(wt_auth_status(WT_JWT_OK), 0);
  CHECK_EQ(wt_auth_status(WT_JWT_FORBIDDEN), 403);
  CHECK_EQ(wt_auth_status(WT_JWT_EXPIRED), 401);
  CHECK_EQ(wt_auth_status(WT_JWT_MISSING), 401);

  /* rotation: a set with both keys, then only the new one */
  char both[8192];
  snprintf(both, sizeof(both), "{\"keys\":[%s,%s]}", k1, k2);
  write_file(both);
  CHECK_EQ(wt_auth_reload(a, err, sizeof(err)), 0);
  CHECK_EQ(wt_auth_check(a, t1, strlen(t1), WT_JWT_PUT, "live/cam", now, "t"), WT_JWT_OK);
  CHECK_EQ(wt_auth_check(a, t2, strlen(t2), WT_JWT_GET, "live/cam", now, "t"), WT_JWT_OK);
  write_file(k2);
  CHECK_EQ(wt_auth_reload(a, err, sizeof(err)), 0);
  CHECK_EQ(wt_auth_check(a, t1, strlen(t1), WT_JWT_PUT, "live/cam", now, "t"), WT_JWT_UNKNOWN_KID);
  /* a bad file keeps the keys in use */
  write_file("{\"keys\":[");
  CHECK(wt_auth_reload(a, err, sizeof(err)) < 0);
  CHECK(strstr(err, key_path) != NULL);
  CHECK_EQ(wt_auth_check(a, t2, strlen(t2), WT_JWT_GET, "live/cam", now, "t"), WT_JWT_OK);

  wt_auth_stats st;
  wt_auth_get_stats(a, &st);
  CHECK_EQ(st.results[WT_JWT_OK], 4);
  CHECK_EQ(st.results[WT_JWT_FORBIDDEN], 2);
  CHECK_EQ(st.results[WT_JWT_UNKNOWN_KID], 2);
  CHECK_EQ(st.results[WT_JWT_MISSING], 1);
  CHECK_EQ(st.results[WT_JWT_EXPIRED], 1);
  CHECK_EQ(st.reloads_ok, 2);
  CHECK_EQ(st.reloads_failed, 1);
  CHECK_EQ(st.keys, 1);

  /* the module's SIGUSR1 member and metric lines */
  wt_authz z;
  wt_authz_init(&z, a);
  char json[1024];
  int n = z.module.stats_json(z.module.arg, json, sizeof(json));
  CHECK(n > 0 && (size_t)n == strlen(json));
  CHECK(strstr(json, "\"ok\":4,") && strstr(json, "\"forbidden\":2,") &&
        strstr(json, "\"reloads_failed\":1,\"keys\":1,\"sessions_expired\":0}"));
  CHECK_EQ(z.module.stats_json(z.module.arg, json, 20), WT_ERR_NOBUF);
  wt_auth_del(a);
  /* the file must load at start */
  write_file("{}");
  CHECK(wt_auth_new(&a, key_path, err, sizeof(err)) < 0);
  unlink(key_path);
  CHECK(wt_auth_new(&a, key_path, err, sizeof(err)) == WT_ERR_IO);
  free(k1);
  free(k2);
}

static char metrics_buf[4096];
static size_t metrics_len;
static int sink_print(void *sink, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(metrics_buf + metrics_len, sizeof(metrics_buf) - metrics_len, fmt, ap);
  va_end(ap);
  if (w < 0 || (size_t)w >= sizeof(metrics_buf) - metrics_len) {
    return WT_ERR_NOBUF;
  }
  metrics_len += (size_t)w;
  return 0;
}

static void test_metrics(void) {
  int fd = make_path();
  CHECK_FATAL(fd >= 0);
  close(fd);
  char *k1;
  CHECK_EQ(wt_jwk_generate(WT_JWK_ES256, NULL, &k1, NULL), 0);
  write_file(k1);
  wt_auth *a;
  char err[512];
  CHECK_FATAL(wt_auth_new(&a, key_path, err, sizeof(err)) == 0);
  wt_auth_check(a, "x.y.z", 5, WT_JWT_PUT, "p", 0, NULL);
  wt_authz z;
  wt_authz_init(&z, a);
  CHECK_EQ(z.module.metrics_extra(z.module.arg, sink_print, NULL), 0);
  CHECK(strstr(metrics_buf, "# TYPE wtcast_auth_total counter\n"));
  CHECK(strstr(metrics_buf, "wtcast_auth_total{result=\"malformed\"} 1\n"));
  CHECK(strstr(metrics_buf, "wtcast_auth_total{result=\"ok\"} 0\n"));
  CHECK(strstr(metrics_buf, "wtcast_auth_keys 1\n"));
  /* a fixed label set: one line per result */
  size_t lines = 0;
  for (const char *p = metrics_buf; (p = strstr(p, "wtcast_auth_total{")); p++) {
    lines++;
  }
  CHECK_EQ(lines, WT_JWT_RESULTS);
  wt_auth_del(a);
  unlink(key_path);
  free(k1);
}

static void test_token_sources(void) {
  char buf[64];
  wt_app_header h[] = {{"origin", "https://x"}, {"authorization", "Bearer abc.def.ghi"}};
  wt_app_request req = {.path = "/pub?ch=a", .query = "ch=a", .headers = h, .n_headers = 2};
  CHECK_EQ(wt_authz_token(&req, buf, sizeof(buf)), 11);
  CHECK(!strcmp(buf, "abc.def.ghi"));
  req.query = "ch=a&jwt=q.r.s";
  CHECK_EQ(wt_authz_token(&req, buf, sizeof(buf)), 5); /* the query wins */
  CHECK(!strcmp(buf, "q.r.s"));
  req.query = "jwt=a%2Eb";
  CHECK_EQ(wt_authz_token(&req, buf, sizeof(buf)), 3);
  CHECK(!strcmp(buf, "a.b"));
  req.query = "jwt=a%00b";
  CHECK_EQ(wt_authz_token(&req, buf, sizeof(buf)), -1);
  req.query = "ch=a";
  h[1].value = "bearer   xyz";
  CHECK_EQ(wt_authz_token(&req, buf, sizeof(buf)), 3);
  h[1].value = "Basic dXNlcjpwYXNz";
  CHECK_EQ(wt_authz_token(&req, buf, sizeof(buf)), 0);
  req.n_headers = 0;
  CHECK_EQ(wt_authz_token(&req, buf, sizeof(buf)), 0);
  char big[200];
  memset(big, 'a', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  char q[256];
  snprintf(q, sizeof(q), "jwt=%s", big);
  req.query = q;
  CHECK_EQ(wt_authz_token(&req, buf, sizeof(buf)), -1);
}

int main(void) {
  WT_RUN(test_check_and_reload);
  WT_RUN(test_metrics);
  WT_RUN(test_token_sources);
  WT_DONE();
}
