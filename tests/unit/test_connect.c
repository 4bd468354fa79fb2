/* test_connect.c: extended CONNECT validation (core/wt_connect.h). */
#include "check.h"

#include "wt_connect.h"

static wt_request good(void) {
  wt_request r = {.method = "CONNECT",
                  .protocol = "webtransport",
                  .scheme = "https",
                  .authority = "localhost:4433",
                  .path = "/echo"};
  return r;
}

static void test_validate(void) {
  wt_request r = good();
  CHECK_EQ(wt_connect_validate(&r, 0), 0);
  r.protocol = "webtransport-h3"; /* draft-02 name */
  CHECK_EQ(wt_connect_validate(&r, 0), 0);
  CHECK_EQ(wt_connect_validate(&r, 1), 400); /* the stream ended with the headers */
  CHECK_EQ(wt_connect_validate(NULL, 0), 404);
  struct {
    int field; /* 0 method .. 4 path */
    const char *value;
    int status;
  } cases[] = {
      {0, NULL, 404}, {0, "GET", 404},       {0, "connect", 404},
      {1, NULL, 400}, {1, "websocket", 400}, {1, "WebTransport", 400},
      {2, NULL, 400}, {2, "http", 400},      {2, "", 400},
      {3, NULL, 400}, {3, "", 400},          {3, "example.com", 0},
      {4, NULL, 400}, {4, "", 400},          {4, "echo", 400},
      {4, "*", 400},  {4, "/", 0},           {4, "/source?bytes=1", 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    r = good();
    const char **f[] = {&r.method, &r.protocol, &r.scheme, &r.authority, &r.path};
    *f[cases[i].field] = cases[i].value;
    int st = wt_connect_validate(&r, 0);
    if (st != cases[i].status) {
      fprintf(stderr, "case %zu (field %d = %s): %d\n", i, cases[i].field,
              cases[i].value ? cases[i].value : "(null)", st);
    }
    CHECK_EQ(st, cases[i].status);
  }
}

static void test_origin(void) {
  const char *list[] = {"https://a.example", NULL, "http://127.0.0.1:8080"};
  CHECK(wt_connect_origin_allowed(list, 3, NULL));        /* no Origin header */
  CHECK(wt_connect_origin_allowed(NULL, 0, "https://x")); /* empty list: any */
  CHECK(wt_connect_origin_allowed(list, 3, "https://a.example"));
  CHECK(wt_connect_origin_allowed(list, 3, "http://127.0.0.1:8080"));
  CHECK(!wt_connect_origin_allowed(list, 3, "https://a.example.evil"));
  CHECK(!wt_connect_origin_allowed(list, 3, "HTTPS://A.EXAMPLE"));
  CHECK(!wt_connect_origin_allowed(list, 3, ""));
}

static void test_field_set(void) {
  char *f = NULL;
  CHECK_EQ(wt_connect_field_set(&f, (const uint8_t *)"/a", 2), 0);
  CHECK(f && strcmp(f, "/a") == 0);
  CHECK_EQ(wt_connect_field_set(&f, (const uint8_t *)"/b", 2), 1); /* first wins */
  CHECK(strcmp(f, "/a") == 0);
  free(f);
  f = NULL;
  CHECK_EQ(wt_connect_field_set(&f, (const uint8_t *)"/a\0b", 4), 1); /* NUL: absent */
  CHECK(f == NULL);
  CHECK_EQ(wt_connect_field_set(&f, (const uint8_t *)"", 0), 0); /* empty is a value */
  CHECK(f && f[0] == '\0');
  free(f);
  f = NULL;
  static uint8_t big[WT_CONNECT_VALUE_MAX + 1];
  memset(big, 'p', sizeof(big));
  CHECK_EQ(wt_connect_field_set(&f, big, sizeof(big)), 1); /* oversized: absent */
  CHECK(f == NULL);
  CHECK_EQ(wt_connect_field_set(&f, big, WT_CONNECT_VALUE_MAX), 0);
  CHECK(f && strlen(f) == WT_CONNECT_VALUE_MAX);
  free(f);
}

int main(void) {
  WT_RUN(test_validate);
  WT_RUN(test_origin);
  WT_RUN(test_field_set);
  WT_DONE();
}
