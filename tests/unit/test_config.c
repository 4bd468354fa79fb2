/* test_config.c: wtcast's configuration file (ops/wt_config.c): keys map
 * to options, and every error carries its line number; and the option table
 * (ops/wt_options.c): values land where they should, the defaults it shows
 * are the real ones, and the packaged example configuration and man page
 * are what the table generates. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "wt_config.h"
#include "wt_io.h"
#include "wt_log.h"
#include "wt_options.h"

typedef struct rec {
  char flags[32][32];
  char vals[32][64];
  int n;
  const char *refuse; /* apply refuses this flag */
} rec;

static int rec_apply(void *ctx, const char *flag, const char *val, char *err, size_t cap) {
  rec *r = ctx;
  if (r->refuse && !strcmp(flag, r->refuse)) {
    snprintf(err, cap, "%s: '%s' is not a number", flag, val);
    return -1;
  }
  if (r->n < 32) {
    snprintf(r->flags[r->n], sizeof(r->flags[0]), "%s", flag);
    snprintf(r->vals[r->n], sizeof(r->vals[0]), "%s", val);
    r->n++;
  }
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
  CHECK_EQ(wt_config_load_string(text, "t.conf", rec_apply, &r, rec_diag, &d), 0);
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
  CHECK_EQ(wt_config_load_string(text, "t.conf", rec_apply, &r, rec_diag, &d), 4);
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
  CHECK_EQ(wt_config_load_string(text, "t.conf", rec_apply, &r, rec_diag, &d), 1);
  CHECK_EQ(d.lines[0], 4);
  CHECK(strstr(d.msgs[0], "syntax error") != NULL);
  CHECK_EQ(r.n, 2); /* the lines around it still apply */
}

static void test_key_outside_section(void) {
  rec r = {0};
  diags d = {0};
  CHECK_EQ(wt_config_load_string("\nlisten = 1.2.3.4:5\n", "t.conf", rec_apply, &r, rec_diag, &d),
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
  int n = wt_config_load_string(text, "t.conf", rec_apply, &r, rec_diag, &d);
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
  CHECK_EQ(wt_config_load("/nonexistent/wtcast.conf", rec_apply, NULL, rec_diag, &d), 1);
  CHECK_EQ(d.lines[0], 0);
  CHECK(strstr(d.msgs[0], "cannot read") != NULL);
}

/* The text of a file (static buffer), or NULL. */
static const char *read_src(const char *rel) {
  const char *src = getenv("WTCAST_SRC");
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", src ? src : "../..", rel);
  FILE *f = fopen(path, "r");
  if (!f) {
    return NULL;
  }
  static char buf[131072];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  return buf;
}

/* What fn prints (malloc'd). */
static char *printed(void (*fn)(FILE *)) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (f) {
    fn(f);
    fclose(f);
  }
  return text;
}

/* Where two texts first differ, for the failure message. */
static void report_drift(const char *what, const char *want, const char *have) {
  size_t i = 0, line = 1;
  while (want[i] && want[i] == have[i]) {
    line += want[i++] == '\n';
  }
  fprintf(stderr,
          "%s differs from the option table at line %zu: regenerate it with\n"
          "    cmake --build build --target options-docs\n",
          what, line);
}

/* The installed example documents every key, each one commented or set. */
static void test_example_has_every_key(void) {
  const char *src = getenv("WTCAST_SRC");
  char path[4096];
  snprintf(path, sizeof(path), "%s/packaging/wtcast.conf.example", src ? src : "../..");
  const char *buf = read_src("packaging/wtcast.conf.example");
  CHECK_FATAL(buf != NULL);
  for (size_t k = 0; k < wt_options_count; k++) {
    const wt_option *opt = &wt_options_table[k];
    if (!opt->section) {
      continue;
    }
    char sec[64], key[80];
    snprintf(sec, sizeof(sec), "\n[%s]", opt->section);
    snprintf(key, sizeof(key), "\n%s = ", opt->key);
    char key2[80];
    snprintf(key2, sizeof(key2), "\n;%s = ", opt->key);
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
      fprintf(stderr, "example lacks %s %s\n", sec, opt->key);
    }
    CHECK(ok);
  }
  /* and the example itself is valid, values included */
  diags d = {0};
  CHECK_EQ(wt_config_load(path, NULL, NULL, rec_diag, &d), 0);
}

static int apply_options(void *ctx, const char *flag, const char *val, char *err, size_t cap) {
  return wt_options_set(ctx, flag, val, err, cap) < 0 ? -1 : 0;
}

/* packaging/wtcast.conf.example is `wtcast --print-config-example`, and it
 * loads through the table without an error. */
static void test_example_is_generated(void) {
  const char *file = read_src("packaging/wtcast.conf.example");
  CHECK_FATAL(file != NULL);
  char *gen = printed(wt_options_print_config_example);
  CHECK_FATAL(gen != NULL);
  int same = !strcmp(file, gen);
  if (!same) {
    report_drift("packaging/wtcast.conf.example", gen, file);
  }
  CHECK(same);
  wt_options o;
  wt_options_init(&o);
  diags d = {0};
  CHECK_EQ(wt_config_load_string(gen, "example", apply_options, &o, rec_diag, &d), 0);
  CHECK(wt_options_missing(&o) == NULL);
  CHECK(!strcmp(o.rt.shard.listen, "[::]:4433"));
  wt_options_free(&o);
  free(gen);
}

/* The man page's OPTIONS list is `wtcast --print-man-options`. */
static void test_man_is_generated(void) {
  const char *file = read_src("packaging/wtcast.1");
  CHECK_FATAL(file != NULL);
  const char *begin = strstr(file, ".\\\" BEGIN OPTIONS\n");
  const char *end = strstr(file, ".\\\" END OPTIONS\n");
  CHECK_FATAL(begin && end && begin < end);
  begin += strlen(".\\\" BEGIN OPTIONS\n");
  char *gen = printed(wt_options_print_man);
  CHECK_FATAL(gen != NULL);
  int same = strlen(gen) == (size_t)(end - begin) && !memcmp(gen, begin, strlen(gen));
  if (!same) {
    report_drift("packaging/wtcast.1 (OPTIONS)", gen, begin);
  }
  CHECK(same);
  free(gen);
}

/* Every row's default, given as a value, changes nothing: the table shows
 * the defaults the configuration structs really start with. */
static void test_defaults_are_real(void) {
  for (size_t k = 0; k < wt_options_count; k++) {
    const wt_option *opt = &wt_options_table[k];
    if (!opt->def) {
      continue;
    }
    wt_options a, b;
    wt_options_init(&a);
    wt_options_init(&b);
    char err[256] = "";
    CHECK_EQ(wt_options_set(&b, opt->name, opt->def, err, sizeof(err)), 1);
    int same = !memcmp((char *)&a + opt->off, (char *)&b + opt->off, opt->size);
    if (!same) {
      fprintf(stderr, "%s: the table's default '%s' is not the real default\n", opt->name,
              opt->def);
    }
    CHECK(same);
    wt_options_free(&b);
  }
}

/* The rows themselves: unique names and keys; every key has a value for the
 * example; a required row is a string. */
static void test_table_rows(void) {
  for (size_t i = 0; i < wt_options_count; i++) {
    const wt_option *r = &wt_options_table[i];
    CHECK(!strncmp(r->name, "--", 2) && r->help != NULL);
    CHECK(wt_options_find(r->name) == r);
    if (r->section) {
      CHECK(wt_options_find_key(r->section, r->key) == r);
      CHECK(r->arg != NULL && (r->def || r->example));
    }
    if (r->type == WT_OPT_UINT) {
      CHECK(r->min <= r->max && r->scale >= 1 && (r->size == 4 || r->size == 8));
    }
    if (r->flags & WT_OPT_REQUIRED) {
      CHECK(r->type == WT_OPT_STR || r->type == WT_OPT_ADDR);
    }
  }
  CHECK(wt_options_find("--nosuch") == NULL);
  CHECK(wt_options_find_key("server", "nosuch") == NULL);
}

/* Values land in the runtime's and the engine's configuration directly. */
static void test_values_land(void) {
  wt_options o;
  wt_options_init(&o);
  char err[256] = "";
  CHECK_EQ(wt_options_set(&o, "--max-conns", "5", err, sizeof(err)), 1);
  CHECK_EQ(o.rt.shard.engine.max_conns, 5);
  CHECK_EQ(wt_options_set(&o, "--idle-timeout", "7", err, sizeof(err)), 1);
  CHECK_EQ(o.rt.shard.engine.idle_timeout_ns, 7000000ull);
  CHECK_EQ(wt_options_set(&o, "--rx-slice-us", "0", err, sizeof(err)), 1);
  CHECK(o.rt.shard.rx_slice_ns == UINT64_MAX);
  CHECK_EQ(wt_options_set(&o, "--rx-slice-us", "3", err, sizeof(err)), 1);
  CHECK_EQ(o.rt.shard.rx_slice_ns, 3000);
  CHECK_EQ(wt_options_set(&o, "--workers", "3", err, sizeof(err)), 1);
  CHECK_EQ(o.rt.shards, 3);
  CHECK_EQ(wt_options_set(&o, "--app-workers", "inline", err, sizeof(err)), 1);
  CHECK_EQ(o.rt.inline_apps, 1);
  CHECK_EQ(wt_options_set(&o, "--app-workers", "2", err, sizeof(err)), 1);
  CHECK(o.rt.inline_apps == 0 && o.rt.app_workers == 2);
  CHECK_EQ(wt_options_set(&o, "--steering", "off", err, sizeof(err)), 1);
  CHECK_EQ(o.rt.steering, 0);
  CHECK_EQ(wt_options_set(&o, "--retry", "never", err, sizeof(err)), 1);
  CHECK_EQ(o.rt.shard.engine.retry_mode, WT_RETRY_NEVER);
  CHECK(!strcmp(wt_options_enum_name("--retry", o.rt.shard.engine.retry_mode), "never"));
  CHECK(!strcmp(wt_options_enum_name("--io", WT_IO_BACKEND_PORTABLE), "portable"));
  CHECK(!strcmp(wt_options_enum_name("--max-conns", 1), "?"));
  CHECK_EQ(wt_options_set(&o, "--log-level", "WARNING", err, sizeof(err)), 1);
  CHECK_EQ(o.log_level, WT_LOG_LEVEL_WARN);
  CHECK_EQ(wt_options_set(&o, "--echo-max-pending", "2048", err, sizeof(err)), 1);
  CHECK_EQ(o.apps.echo_max_pending, 2048);
  CHECK_EQ(wt_options_set(&o, "--origin", "https://a.example,http://b:1", err, sizeof(err)), 1);
  CHECK_EQ(o.rt.shard.engine.n_origins, 2);
  CHECK(!strcmp(o.rt.shard.engine.origins[0], "https://a.example"));
  CHECK(!strcmp(o.rt.shard.engine.origins[1], "http://b:1"));
  CHECK_EQ(wt_options_set(&o, "--tls-ciphers", "TLS13-AES256-GCM-SHA384", err, sizeof(err)), 1);
  CHECK(!strcmp(o.rt.shard.engine.tls_ciphers, "TLS13-AES256-GCM-SHA384"));
  CHECK_EQ(wt_options_set(&o, "--http", "127.0.0.1:8080", err, sizeof(err)), 1);
  CHECK(!strcmp(o.http_listen, "127.0.0.1:8080"));
  CHECK_EQ(wt_options_set(&o, "--config", "x.conf", err, sizeof(err)), 1); /* the program's */
  CHECK_EQ(wt_options_set(&o, "--nosuch", "1", err, sizeof(err)), 0);
  CHECK_EQ(wt_options_set(&o, "--help", "1", err, sizeof(err)), 0);
  CHECK(wt_options_missing(&o) == wt_options_find("--listen"));
  wt_options_free(&o);
}

/* The refusals: one line naming the option, as the tests and users see. */
static void test_refusals(void) {
  static const struct {
    const char *name, *val, *msg;
  } bad[] = {
      {"--max-conns", "lots", "--max-conns: 'lots' is not a number"},
      {"--max-conns", "0", "--max-conns: must be in 1..10000000"},
      {"--stream-send-window", "100", "--stream-send-window: must be in 16384..1073741824"},
      {"--io", "turbo", "--io: 'turbo' is not one of auto, uring, portable"},
      {"--steering", "yes", "--steering: 'yes' is not on or off"},
      {"--log-format", "xml", "--log-format: 'xml' is not text or json"},
      {"--log-level", "loud", "--log-level: 'loud' is not one of error, warn, info, debug, trace"},
      {"--listen", "nowhere",
       "--listen: 'nowhere' is not ADDR:PORT (e.g. 127.0.0.1:4433 or "
       "[::]:4433)"},
      {"--metrics", "x", "--metrics: 'x' is not ADDR:PORT (e.g. 127.0.0.1:8080)"},
      {"--origin", "a,,b", "--origin: 'a,,b' is not a comma-separated list of origins"},
      {"--origin", "a, b", "--origin: 'a, b' is not a comma-separated list of origins"},
      {"--origin", "a,", "--origin: 'a,' is not a comma-separated list of origins"},
      {"--tls-ciphers", "TLS13-X", "--tls-ciphers: 'TLS13-X' is not one of"},
      {"--tls-ciphers", "TLS13-AES128-GCM-SHA256::", "--tls-ciphers: '' is not one of"},
      {"--qlog-dir", "", "--qlog-dir: empty directory name"},
      {"--keylog-file", "", "--keylog-file: empty file name"},
      {"--app-workers", "65", "--app-workers: must be in 0..64"},
      {"--apps", "echo,ftp", "--apps: 'ftp' is not one of echo, source, sink, relay, moq, all"},
      {"--apps", "", "--apps: '' is not one of"},
      {"--apps", "relay,", "--apps: '' is not one of"},
      {"--http-conns-per-ip", "0", "--http-conns-per-ip: must be in 1..64"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    wt_options o;
    wt_options_init(&o);
    wt_options before = o;
    char err[256] = "";
    CHECK_EQ(wt_options_set(&o, bad[i].name, bad[i].val, err, sizeof(err)), -1);
    if (strncmp(err, bad[i].msg, strlen(bad[i].msg))) {
      fprintf(stderr, "%s %s: got \"%s\"\n", bad[i].name, bad[i].val, err);
      CHECK(0);
    }
    CHECK(!memcmp(&before.rt, &o.rt, sizeof(o.rt)));
    CHECK(!memcmp(&before.apps, &o.apps, sizeof(o.apps)));
    wt_options_free(&o);
  }
}

/* --apps: names to bits, "all", the default (the relay alone). */
static void test_apps(void) {
  wt_options o;
  wt_options_init(&o);
  char err[256] = "";
  CHECK_EQ(o.apps.enabled, WT_APPS_RELAY);
  CHECK_EQ(wt_options_set(&o, "--apps", "echo,sink", err, sizeof(err)), 1);
  CHECK_EQ(o.apps.enabled, WT_APPS_ECHO | WT_APPS_SINK);
  CHECK_EQ(wt_options_set(&o, "--apps", "source,relay,source", err, sizeof(err)), 1);
  CHECK_EQ(o.apps.enabled, WT_APPS_SOURCE | WT_APPS_RELAY);
  CHECK_EQ(wt_options_set(&o, "--apps", "all", err, sizeof(err)), 1);
  CHECK_EQ(o.apps.enabled, WT_APPS_ALL);
  wt_options_free(&o);
}

int main(void) {
  WT_RUN(test_valid);
  WT_RUN(test_errors_have_lines);
  WT_RUN(test_syntax_error_line);
  WT_RUN(test_key_outside_section);
  WT_RUN(test_long_line);
  WT_RUN(test_missing_file);
  WT_RUN(test_example_has_every_key);
  WT_RUN(test_example_is_generated);
  WT_RUN(test_man_is_generated);
  WT_RUN(test_defaults_are_real);
  WT_RUN(test_table_rows);
  WT_RUN(test_values_land);
  WT_RUN(test_refusals);
  WT_RUN(test_apps);
  WT_DONE();
}
