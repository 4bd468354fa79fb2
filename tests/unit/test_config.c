/* test_config.c: wtcast's configuration file (tools/wtcast/config.c):
 * keys map to options, and every error carries its line number. */
#include <stdlib.h>
#include <string.h>

#include "check.h"

#include "../../tools/wtcast/config.c"

typedef struct rec {
  char flags[32][32];
  char vals[32][64];
  int n;
  const char *refuse; /* apply refuses this flag */
} rec;

static int rec_apply(void *ctx, const char *flag, char *val, char *err, size_t cap) {
  rec *r = ctx;
  if (r->refuse && !strcmp(flag, r->refuse)) {
    snprintf(err, cap, "%s: '%s' is not a number", flag, val);
    free(val);
    return -1;
  }
  if (r->n < 32) {
    snprintf(r->flags[r->n], sizeof(r->flags[0]), "%s", flag);
    snprintf(r->vals[r->n], sizeof(r->vals[0]), "%s", val);
    r->n++;
  }
  free(val);
  return 0;
}

typedef struct diags {
  int lines[32];
  char msgs[32][256];
  int n;
} diags;

static void rec_diag(void *ctx, const char *file, int line, const char *msg) {
  diags *d = ctx;
  if (d->n < 32) {
    d->lines[d->n] = line;
    snprintf(d->msgs[d->n], sizeof(d->msgs[0]), "%s", msg);
    d->n++;
  }
}

static void test_valid(void) {
  static const char text[] = "; a comment\n"
                             "# another\n"
                             "[server]\n"
                             "listen = 127.0.0.1:4433\n"
                             "cert = /etc/wtcast/cert.pem ; inline comment\n"
                             "\n"
                             "[runtime]\n"
                             "workers = 2\n"
                             "[metrics]\n"
                             "listen = 127.0.0.1:9464\n"
                             "[debug]\n"
                             "qlog_sample = 10\n";
  rec r = {0};
  diags d = {0};
  CHECK_EQ(wtc_config_load_string(text, "t.conf", rec_apply, &r, rec_diag, &d), 0);
  CHECK_EQ(d.n, 0);
  CHECK_EQ(r.n, 5);
  CHECK(!strcmp(r.flags[0], "--listen") && !strcmp(r.vals[0], "127.0.0.1:4433"));
  CHECK(!strcmp(r.flags[1], "--cert") && !strcmp(r.vals[1], "/etc/wtcast/cert.pem"));
  CHECK(!strcmp(r.flags[2], "--workers") && !strcmp(r.vals[2], "2"));
  CHECK(!strcmp(r.flags[3], "--metrics"));
  CHECK(!strcmp(r.flags[4], "--qlog-sample") && !strcmp(r.vals[4], "10"));
}

static void test_errors_have_lines(void) {
  static const char text[] = "[server]\n"                /* 1 */
                             "listen = 127.0.0.1:4433\n" /* 2 */
                             "colour = blue\n"           /* 3: unknown key */
                             "[nosuch]\n"                /* 4 */
                             "x = 1\n"                   /* 5: unknown section */
                             "[runtime]\n"               /* 6 */
                             "workers = many\n"          /* 7: refused value */
                             "[server]\n"                /* 8 */
                             "listen = 127.0.0.1:1\n";   /* 9: twice (first on 2) */
  rec r = {.refuse = "--workers"};
  diags d = {0};
  CHECK_EQ(wtc_config_load_string(text, "t.conf", rec_apply, &r, rec_diag, &d), 4);
  CHECK_EQ(d.n, 4);
  CHECK_EQ(d.lines[0], 3);
  CHECK(strstr(d.msgs[0], "unknown key 'colour'") != NULL);
  CHECK_EQ(d.lines[1], 5);
  CHECK(strstr(d.msgs[1], "unknown section [nosuch]") != NULL);
  CHECK_EQ(d.lines[2], 7);
  CHECK(strstr(d.msgs[2], "[runtime] workers") != NULL && strstr(d.msgs[2], "many") != NULL);
  CHECK_EQ(d.lines[3], 9);
  CHECK(strstr(d.msgs[3], "already set on line 2") != NULL);
}

static void test_syntax_error_line(void) {
  static const char text[] = "[server]\n"
                             "listen = 127.0.0.1:4433\n"
                             "\n"
                             "this line has no equals sign\n"
                             "cert = c.pem\n";
  rec r = {0};
  diags d = {0};
  CHECK_EQ(wtc_config_load_string(text, "t.conf", rec_apply, &r, rec_diag, &d), 1);
  CHECK_EQ(d.lines[0], 4);
  CHECK(strstr(d.msgs[0], "syntax error") != NULL);
  CHECK_EQ(r.n, 2); /* the lines around it still apply */
}

static void test_key_outside_section(void) {
  rec r = {0};
  diags d = {0};
  CHECK_EQ(wtc_config_load_string("\nlisten = 1.2.3.4:5\n", "t.conf", rec_apply, &r, rec_diag, &d),
           1);
  CHECK_EQ(d.lines[0], 2);
  CHECK(strstr(d.msgs[0], "outside any [section]") != NULL);
}

static void test_long_line(void) {
  /* libinih's lines are at most 200 bytes: a longer one is an error on its
   * own line number, and the count stays right after it */
  char text[1024];
  char longv[300];
  memset(longv, 'a', sizeof(longv) - 1);
  longv[sizeof(longv) - 1] = '\0';
  snprintf(text, sizeof(text), "[server]\ncert = %s\nnosuch = 1\n", longv);
  rec r = {0};
  diags d = {0};
  int n = wtc_config_load_string(text, "t.conf", rec_apply, &r, rec_diag, &d);
  CHECK(n >= 1);
  int saw3 = 0;
  for (int i = 0; i < d.n; i++) {
    CHECK(d.lines[i] == 2 || d.lines[i] == 3);
    saw3 |= d.lines[i] == 3 && strstr(d.msgs[i], "unknown key 'nosuch'") != NULL;
  }
  CHECK(saw3);
}

static void test_missing_file(void) {
  diags d = {0};
  CHECK_EQ(wtc_config_load("/nonexistent/wtcast.conf", rec_apply, NULL, rec_diag, &d), 1);
  CHECK_EQ(d.lines[0], 0);
  CHECK(strstr(d.msgs[0], "cannot read") != NULL);
}

/* The installed example documents every key, each one commented or set. */
static void test_example_has_every_key(void) {
  const char *src = getenv("WTCAST_SRC");
  char path[4096];
  snprintf(path, sizeof(path), "%s/packaging/wtcast.conf.example", src ? src : "../..");
  FILE *f = fopen(path, "r");
  CHECK_FATAL(f != NULL);
  static char buf[65536];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  for (size_t k = 0; k < wtc_n_keys; k++) {
    char sec[64], key[80];
    snprintf(sec, sizeof(sec), "\n[%s]", wtc_keys[k].section);
    snprintf(key, sizeof(key), "\n%s = ", wtc_keys[k].key);
    char key2[80];
    snprintf(key2, sizeof(key2), "\n;%s = ", wtc_keys[k].key);
    const char *s = strstr(buf, sec);
    CHECK(s != NULL);
    if (!s) {
      continue;
    }
    const char *next = strstr(s + 1, "\n[");
    const char *hit = strstr(s, key);
    const char *hit2 = strstr(s, key2);
    int ok = (hit && (!next || hit < next)) || (hit2 && (!next || hit2 < next));
    if (!ok) {
      fprintf(stderr, "example lacks %s %s\n", sec, wtc_keys[k].key);
    }
    CHECK(ok);
  }
  /* and the example itself is valid */
  diags d = {0};
  CHECK_EQ(wtc_config_load(path, NULL, NULL, rec_diag, &d), 0);
}

int main(void) {
  WT_RUN(test_valid);
  WT_RUN(test_errors_have_lines);
  WT_RUN(test_syntax_error_line);
  WT_RUN(test_key_outside_section);
  WT_RUN(test_long_line);
  WT_RUN(test_missing_file);
  WT_RUN(test_example_has_every_key);
  WT_DONE();
}
