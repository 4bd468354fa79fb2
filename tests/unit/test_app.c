/* test_app.c: the application router and the query-string helpers
 * (include/wtcast/wt_app.h, apps/wt_apps.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"

#include "wt_app.h"
#include "wt_apps.h"
#include "wt_error.h"

static const wt_app_ops ops_a = {.name = "a"};
static const wt_app_ops ops_b = {.name = "b"};

static void test_router_exact(void) {
  wt_app_router *r;
  CHECK_FATAL(wt_app_router_new(&r) == 0);
  int tag_a = 1, tag_b = 2;
  CHECK_EQ(wt_app_router_add(r, "/echo", &ops_a, &tag_a), 0);
  CHECK_EQ(wt_app_router_add(r, "/echo/deep", &ops_b, &tag_b), 0);
  CHECK_EQ(wt_app_router_add(r, "/", &ops_b, NULL), 0);

  void *arg = NULL;
  CHECK(wt_app_router_find(r, "/echo", &arg) == &ops_a);
  CHECK(arg == &tag_a);
  CHECK(wt_app_router_find(r, "/echo?push=1&x=2", &arg) == &ops_a); /* query ignored */
  CHECK(wt_app_router_find(r, "/echo?", NULL) == &ops_a);
  CHECK(wt_app_router_find(r, "/echo/deep", &arg) == &ops_b);
  CHECK(arg == &tag_b);
  CHECK(wt_app_router_find(r, "/", NULL) == &ops_b);
  CHECK(wt_app_router_find(r, "/?a=b", NULL) == &ops_b);
  /* exact match only: no prefixes, no trailing slash, case matters, no decoding */
  CHECK(wt_app_router_find(r, "/echo/", NULL) == NULL);
  CHECK(wt_app_router_find(r, "/ech", NULL) == NULL);
  CHECK(wt_app_router_find(r, "/echox", NULL) == NULL);
  CHECK(wt_app_router_find(r, "/Echo", NULL) == NULL);
  CHECK(wt_app_router_find(r, "/%65cho", NULL) == NULL);
  CHECK(wt_app_router_find(r, "/echo/deep/er", NULL) == NULL);
  CHECK(wt_app_router_find(r, "", NULL) == NULL);
  CHECK(wt_app_router_find(r, "?/echo", NULL) == NULL);
  CHECK(wt_app_router_find(r, NULL, NULL) == NULL);
  CHECK(wt_app_router_find(NULL, "/echo", NULL) == NULL);
  wt_app_router_del(r);
}

static void test_router_errors(void) {
  wt_app_router *r;
  CHECK_FATAL(wt_app_router_new(&r) == 0);
  CHECK_EQ(wt_app_router_add(r, "echo", &ops_a, NULL), WT_ERR_INVAL); /* no leading '/' */
  CHECK_EQ(wt_app_router_add(r, "", &ops_a, NULL), WT_ERR_INVAL);
  CHECK_EQ(wt_app_router_add(r, "/a?b", &ops_a, NULL), WT_ERR_INVAL);
  CHECK_EQ(wt_app_router_add(r, NULL, &ops_a, NULL), WT_ERR_INVAL);
  CHECK_EQ(wt_app_router_add(r, "/a", NULL, NULL), WT_ERR_INVAL);
  char longp[WT_APP_MAX_PATH_LEN + 2];
  memset(longp, 'x', sizeof(longp));
  longp[0] = '/';
  longp[WT_APP_MAX_PATH_LEN + 1] = '\0';
  CHECK_EQ(wt_app_router_add(r, longp, &ops_a, NULL), WT_ERR_INVAL);
  longp[WT_APP_MAX_PATH_LEN] = '\0'; /* exactly the maximum */
  CHECK_EQ(wt_app_router_add(r, longp, &ops_a, NULL), 0);
  CHECK(wt_app_router_find(r, longp, NULL) == &ops_a);
  CHECK_EQ(wt_app_router_add(r, "/dup", &ops_a, NULL), 0);
  CHECK_EQ(wt_app_router_add(r, "/dup", &ops_b, NULL), WT_ERR_STATE);
  CHECK(wt_app_router_find(r, "/dup", NULL) == &ops_a);
  /* fill up */
  int added = 2;
  char p[16];
  for (int i = 0; added < WT_APP_MAX_ROUTES; i++, added++) {
    snprintf(p, sizeof(p), "/r%d", i);
    CHECK_EQ(wt_app_router_add(r, p, &ops_b, NULL), 0);
  }
  CHECK_EQ(wt_app_router_add(r, "/one-more", &ops_b, NULL), WT_ERR_LIMIT);
  CHECK(wt_app_router_find(r, "/r0", NULL) == &ops_b);
  wt_app_router_del(r);
  CHECK_EQ(wt_app_router_new(NULL), WT_ERR_INVAL);
}

static void test_builtin_routes(void) {
  wt_app_router *r;
  CHECK_FATAL(wt_app_router_new(&r) == 0);
  wt_apps apps;
  wt_apps_init(&apps, NULL);
  CHECK_EQ(apps.cfg.echo_max_pending, WT_APP_ECHO_MAX_PENDING);
  /* the echo's safety net is at least the engine's largest stream window
   * (16 x the 1 MiB default initial_max_stream_data) */
  CHECK(WT_APP_ECHO_MAX_PENDING >= (16u << 20));
  CHECK_EQ(apps.cfg.source_max_bytes, WT_APP_SOURCE_MAX_BYTES);
  CHECK_EQ(wt_apps_register(r, &apps), 0);
  void *arg = NULL;
  CHECK(wt_app_router_find(r, "/echo?push=1", &arg) == &wt_app_echo_ops);
  CHECK(arg == &apps);
  CHECK(wt_app_router_find(r, "/source?bytes=10", NULL) == &wt_app_source_ops);
  CHECK(wt_app_router_find(r, "/sink", NULL) == &wt_app_sink_ops);
  CHECK(wt_app_router_find(r, "/nope", NULL) == NULL);
  CHECK_EQ(wt_apps_register(r, &apps), WT_ERR_STATE); /* twice */
  wt_app_router_del(r);
}

/* The built-in apps as a module (what wtcast hands the runtime): a
 * worker's router gets every route with the worker's own state, a shard's
 * the same routes (lookups only), the counters are the state's, in the
 * order of their names. */
static void test_builtin_module(void) {
  wt_apps_config cfg;
  wt_apps_config_default(&cfg);
  cfg.source_max_bytes = 1234;
  wt_apps_module *am;
  CHECK_FATAL(wt_apps_module_new(&am, &cfg) == 0);
  const wt_app_module *m = wt_apps_module_get(am);
  CHECK(m->init && m->fini && m->counters && m->metrics && m->metrics_extra && m->stats_json);
  CHECK_EQ(m->n_counters, sizeof(wt_apps_counters) / sizeof(uint64_t));
  CHECK(strcmp(m->counter_names[0], "echo_sessions") == 0);
  CHECK(strcmp(m->counter_names[m->n_counters - 1], "cluster_reresolves") == 0);
  CHECK(strcmp(m->json_key, "relay") == 0);

  wt_app_router *r;
  CHECK_FATAL(wt_app_router_new(&r) == 0);
  void *state = NULL;
  CHECK_FATAL(m->init(m->arg, r, 1, 0, &state) == 0);
  wt_apps *a = state;
  CHECK_EQ(a->cfg.source_max_bytes, 1234);
  void *arg = NULL;
  CHECK(wt_app_router_find(r, "/pub?ch=x", &arg) == &wt_app_relay_pub_ops && arg == a);
  CHECK(wt_app_router_find(r, "/sub", NULL) == &wt_app_relay_sub_ops);
  a->cnt.echo_bytes = 5;
  a->cnt.cluster_reresolves = 9;
  uint64_t c[WT_APP_MAX_COUNTERS] = {0};
  m->counters(m->arg, state, c);
  CHECK(c[1] == 5 && c[m->n_counters - 1] == 9);
  m->fini(m->arg, state);
  wt_app_router_del(r);

  CHECK_FATAL(wt_app_router_new(&r) == 0);
  state = NULL;
  CHECK_FATAL(m->init(m->arg, r, 0, 3, &state) == 0); /* a shard's router */
  CHECK(state == NULL);
  arg = &arg;
  CHECK(wt_app_router_find(r, "/sub", &arg) == &wt_app_relay_sub_ops && arg == NULL);
  /* the default (--apps relay): the test tools are not routed (404) */
  CHECK(wt_app_router_find(r, "/echo", NULL) == NULL);
  CHECK(wt_app_router_find(r, "/source", NULL) == NULL);
  CHECK(wt_app_router_find(r, "/sink", NULL) == NULL);
  m->fini(m->arg, state);
  wt_app_router_del(r);

  char json[256];
  const char *none = "{\"channels\":[],\"broadcasts_live\":0,\"broadcasts\":[]}";
  CHECK_EQ(m->stats_json(m->arg, json, sizeof(json)), (int)strlen(none));
  CHECK(strcmp(json, none) == 0);
  wt_apps_module_del(am);

  /* --apps echo,sink: those two, on workers and shards alike */
  CHECK_EQ(cfg.enabled, WT_APPS_RELAY);
  cfg.enabled = WT_APPS_ECHO | WT_APPS_SINK;
  CHECK_FATAL(wt_apps_module_new(&am, &cfg) == 0);
  m = wt_apps_module_get(am);
  for (int on_worker = 0; on_worker < 2; on_worker++) {
    CHECK_FATAL(wt_app_router_new(&r) == 0);
    state = NULL;
    CHECK_FATAL(m->init(m->arg, r, on_worker, 0, &state) == 0);
    CHECK(wt_app_router_find(r, "/echo", NULL) == &wt_app_echo_ops);
    CHECK(wt_app_router_find(r, "/sink", NULL) == &wt_app_sink_ops);
    CHECK(wt_app_router_find(r, "/source", NULL) == NULL);
    CHECK(wt_app_router_find(r, "/pub", NULL) == NULL);
    CHECK(wt_app_router_find(r, "/sub", NULL) == NULL);
    m->fini(m->arg, state);
    wt_app_router_del(r);
  }
  wt_apps_module_del(am);

  /* --apps moq: /moq exactly, and /moq/ROOT through the prefix route */
  cfg.enabled = WT_APPS_MOQ;
  CHECK_FATAL(wt_apps_module_new(&am, &cfg) == 0);
  m = wt_apps_module_get(am);
  CHECK_FATAL(wt_app_router_new(&r) == 0);
  state = NULL;
  CHECK_FATAL(m->init(m->arg, r, 0, 0, &state) == 0);
  CHECK(wt_app_router_find(r, "/moq", NULL) == &wt_app_moq_ops);
  CHECK(wt_app_router_find(r, "/moq?jwt=x", NULL) == &wt_app_moq_ops);
  CHECK(wt_app_router_find(r, "/moq/a/b?jwt=x", NULL) == &wt_app_moq_ops);
  CHECK(wt_app_router_find(r, "/moq/", NULL) == NULL); /* the prefix needs one more byte */
  CHECK(wt_app_router_find(r, "/moqx", NULL) == NULL);
  CHECK(wt_app_router_find(r, "/pub", NULL) == NULL);
  m->fini(m->arg, state);
  wt_app_router_del(r);
  wt_apps_module_del(am);
  char names[32];
  wt_apps_names(WT_APPS_ALL, names, sizeof(names));
  CHECK(strcmp(names, "echo,source,sink,relay,moq") == 0);
  wt_apps_names(WT_APPS_SINK | WT_APPS_RELAY, names, sizeof(names));
  CHECK(strcmp(names, "sink,relay") == 0);
}

/* A growing text buffer behind wt_app_print_fn. */
typedef struct text_sink {
  char *p;
  size_t len, cap;
} text_sink;

static int text_print(void *sink, const char *fmt, ...) {
  text_sink *t = sink;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) {
    return WT_ERR_INVAL;
  }
  if (t->len + (size_t)n + 1 > t->cap) {
    size_t cap = t->cap ? t->cap : 4096;
    while (cap < t->len + (size_t)n + 1) {
      cap *= 2;
    }
    char *q = realloc(t->p, cap);
    if (!q) {
      return WT_ERR_NOMEM;
    }
    t->p = q;
    t->cap = cap;
  }
  va_start(ap, fmt);
  vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
  va_end(ap);
  t->len += (size_t)n;
  return 0;
}

/* Lines of text starting with prefix. */
static size_t count_lines(const char *text, const char *prefix) {
  size_t n = 0, len = strlen(prefix);
  for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
    n += !strncmp(p, prefix, len);
  }
  return n;
}

/* Every line is "# HELP|TYPE ..." or NAME{LABELS} DIGITS, NAME of
 * [a-z_], LABELS of k="v" pairs (v without '"'), the text ends with '\n'. */
static int exposition_valid(const char *text) {
  const char *p = text;
  while (*p) {
    const char *e = strchr(p, '\n');
    if (!e) {
      return 0;
    }
    if (*p == '#') {
      if (strncmp(p, "# HELP wtcast_", 14) && strncmp(p, "# TYPE wtcast_", 14)) {
        return 0;
      }
    } else {
      const char *q = p;
      while (q < e && ((*q >= 'a' && *q <= 'z') || *q == '_')) {
        q++;
      }
      if (q == p || *q++ != '{') {
        return 0;
      }
      while (q < e && *q != '}') {
        while (q < e && *q != '=') {
          q++;
        }
        if (q + 1 >= e || q[1] != '"') {
          return 0;
        }
        q += 2;
        while (q < e && *q != '"') {
          q++;
        }
        if (q >= e) {
          return 0;
        }
        q++;
        if (*q == ',') {
          q++;
        }
      }
      if (q >= e || *q++ != '}' || *q++ != ' ' || q >= e) {
        return 0;
      }
      while (q < e && *q >= '0' && *q <= '9') {
        q++;
      }
      if (q != e) {
        return 0;
      }
    }
    p = e + 1;
  }
  return 1;
}

/* The sum of the values of the lines starting with prefix. */
static unsigned long long sum_lines(const char *text, const char *prefix) {
  unsigned long long sum = 0;
  size_t len = strlen(prefix);
  for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
    if (!strncmp(p, prefix, len)) {
      const char *sp = strchr(p, ' ');
      sum += sp ? strtoull(sp + 1, NULL, 10) : 0;
    }
  }
  return sum;
}

/* 10,000 client-chosen channel names (and one named "other"): 100 get their
 * own series (the live, most active ones), the rest are summed into
 * channel="other"; the text stays valid, its size does not grow with the
 * number of channels, and no count is lost. */
static void test_relay_metrics_cap(void) {
  enum { N = 10001 };
  wt_relay_channel_stats *c = calloc(N, sizeof(*c));
  char(*names)[16] = calloc(N, sizeof(*names));
  CHECK_FATAL(c && names);
  unsigned long long bytes = 0, subs = 0;
  for (unsigned i = 0; i < N; i++) {
    if (i == N - 1) {
      snprintf(names[i], sizeof(names[i]), "other");
    } else {
      snprintf(names[i], sizeof(names[i]), "ch%05u", i);
    }
    c[i].name = names[i];
    c[i].live = i % 2 || i == N - 1; /* "other": live and the busiest, still summed */
    c[i].worker = i % 4;
    c[i].subscribers = i % 7;
    c[i].published_stream_bytes = i == N - 1 ? 1000000000ull : 10ull * i;
    c[i].delivered_stream_bytes = 3ull * i;
    bytes += c[i].published_stream_bytes;
    subs += c[i].subscribers;
  }
  text_sink t = {0};
  CHECK_EQ(wt_relay_metrics_print(c, N, 100, text_print, &t), 0);
  CHECK_FATAL(t.p != NULL);
  CHECK(exposition_valid(t.p));
  CHECK(t.len < 256 * 1024); /* uncapped: about 9 MB */
  CHECK_EQ(count_lines(t.p, "wtcast_relay_subscribers{"), 101);
  CHECK_EQ(count_lines(t.p, "wtcast_relay_channel_live{"), 101);
  CHECK_EQ(count_lines(t.p, "wtcast_relay_subscribers{channel=\"other\"}"), 1);
  /* live and most active first: ch09999 (live, most bytes) in, ch09998 (retired) out */
  CHECK_EQ(count_lines(t.p, "wtcast_relay_subscribers{channel=\"ch09999\"}"), 1);
  CHECK_EQ(count_lines(t.p, "wtcast_relay_subscribers{channel=\"ch09998\"}"), 0);
  CHECK_EQ(count_lines(t.p, "wtcast_relay_subscribers{channel=\"ch09801\"}"), 1);
  CHECK_EQ(count_lines(t.p, "wtcast_relay_subscribers{channel=\"ch09799\"}"), 0);
  /* nothing lost: the sums over every series are the channels' sums */
  CHECK_EQ(sum_lines(t.p, "wtcast_relay_subscribers{"), subs);
  CHECK_EQ(sum_lines(t.p, "wtcast_relay_published_total{"), bytes); /* only stream bytes set */
  CHECK(strstr(t.p, "wtcast_relay_channel_live{channel=\"other\",worker=\"all\"} 4901\n"));
  CHECK(strstr(t.p, "wtcast_relay_metrics_channels{series=\"own\"} 100\n"));
  CHECK(strstr(t.p, "wtcast_relay_metrics_channels{series=\"other\"} 9901\n"));
  size_t capped = t.len;

  /* the same cap over 1,000 channels: about the same size */
  t.len = 0;
  CHECK_EQ(wt_relay_metrics_print(c, 1000, 100, text_print, &t), 0);
  CHECK(exposition_valid(t.p));
  CHECK(t.len <= capped + 1024 && t.len + 4096 > capped);

  /* a cap of 0: one "other" series per family; no channel: no "other" */
  t.len = 0;
  CHECK_EQ(wt_relay_metrics_print(c, N, 0, text_print, &t), 0);
  CHECK(exposition_valid(t.p));
  CHECK_EQ(count_lines(t.p, "wtcast_relay_subscribers{"), 1);
  CHECK_EQ(sum_lines(t.p, "wtcast_relay_subscribers{"), subs);
  t.len = 0;
  t.p[0] = '\0';
  CHECK_EQ(wt_relay_metrics_print(c, 0, 100, text_print, &t), 0);
  CHECK(exposition_valid(t.p));
  CHECK_EQ(count_lines(t.p, "wtcast_relay_subscribers{"), 0);
  CHECK(strstr(t.p, "wtcast_relay_metrics_channels{series=\"other\"} 0\n"));
  free(t.p);
  free(c);
  free(names);
}

static void test_stream_credit_args(void) {
  CHECK_EQ(wt_app_stream_set_manual_credit(NULL, 1), WT_ERR_INVAL);
  CHECK_EQ(wt_app_stream_consume(NULL, 1), WT_ERR_INVAL);
}

static void test_query_basic(void) {
  char buf[64];
  CHECK_EQ(wt_app_query_get("bytes=100&push=1", "bytes", buf, sizeof(buf)), 3);
  CHECK(strcmp(buf, "100") == 0);
  CHECK_EQ(wt_app_query_get("bytes=100&push=1", "push", buf, sizeof(buf)), 1);
  CHECK(strcmp(buf, "1") == 0);
  CHECK_EQ(wt_app_query_get("bytes=100&push=1", "pus", buf, sizeof(buf)), WT_ERR_NOTFOUND);
  CHECK_EQ(wt_app_query_get("bytes=100&push=1", "pushx", buf, sizeof(buf)), WT_ERR_NOTFOUND);
  CHECK_EQ(wt_app_query_get("bytes=100", "missing", buf, sizeof(buf)), WT_ERR_NOTFOUND);
  CHECK_EQ(buf[0], '\0');
  CHECK_EQ(wt_app_query_get("", "a", buf, sizeof(buf)), WT_ERR_NOTFOUND);
  CHECK_EQ(wt_app_query_get(NULL, "a", buf, sizeof(buf)), WT_ERR_NOTFOUND);
  /* empty values and keys without '=' */
  CHECK_EQ(wt_app_query_get("a=&b", "a", buf, sizeof(buf)), 0);
  CHECK_EQ(wt_app_query_get("a=&b", "b", buf, sizeof(buf)), 0);
  CHECK_EQ(wt_app_query_get("&&a=1&&", "a", buf, sizeof(buf)), 1);
  /* the first match wins; '=' inside a value is kept */
  CHECK_EQ(wt_app_query_get("k=1&k=2", "k", buf, sizeof(buf)), 1);
  CHECK(strcmp(buf, "1") == 0);
  CHECK_EQ(wt_app_query_get("k=a=b", "k", buf, sizeof(buf)), 3);
  CHECK(strcmp(buf, "a=b") == 0);
  /* bad arguments */
  CHECK_EQ(wt_app_query_get("a=1", NULL, buf, sizeof(buf)), WT_ERR_INVAL);
  CHECK_EQ(wt_app_query_get("a=1", "a", NULL, 4), WT_ERR_INVAL);
  CHECK_EQ(wt_app_query_get("a=1", "a", buf, 0), WT_ERR_INVAL);
}

static void test_query_decoding(void) {
  char buf[64];
  CHECK_EQ(wt_app_query_get("reason=hello+world%21", "reason", buf, sizeof(buf)), 12);
  CHECK(strcmp(buf, "hello world!") == 0);
  CHECK_EQ(wt_app_query_get("reason=%e2%9C%93", "reason", buf, sizeof(buf)), 3); /* UTF-8 ✓ */
  CHECK_MEM(buf, "\xe2\x9c\x93", 4);
  CHECK_EQ(wt_app_query_get("r=%2B%26%3D%25", "r", buf, sizeof(buf)), 4);
  CHECK(strcmp(buf, "+&=%") == 0);
  CHECK_EQ(wt_app_query_get("r=a%00b", "r", buf, sizeof(buf)), 3); /* NUL inside */
  CHECK_MEM(buf, "a\0b", 4);
  /* keys are decoded too */
  CHECK_EQ(wt_app_query_get("by%74es=5", "bytes", buf, sizeof(buf)), 1);
  CHECK_EQ(wt_app_query_get("my+key=v", "my key", buf, sizeof(buf)), 1);
  /* malformed escapes: that parameter is absent */
  CHECK_EQ(wt_app_query_get("r=%", "r", buf, sizeof(buf)), WT_ERR_NOTFOUND);
  CHECK_EQ(wt_app_query_get("r=%4", "r", buf, sizeof(buf)), WT_ERR_NOTFOUND);
  CHECK_EQ(wt_app_query_get("r=%zz", "r", buf, sizeof(buf)), WT_ERR_NOTFOUND);
  CHECK_EQ(wt_app_query_get("r=%4g", "r", buf, sizeof(buf)), WT_ERR_NOTFOUND);
  CHECK_EQ(wt_app_query_get("r=ok%", "r", buf, sizeof(buf)), WT_ERR_NOTFOUND);
  CHECK_EQ(wt_app_query_get("r=%4&x=1", "r", buf, sizeof(buf)), WT_ERR_NOTFOUND);
  CHECK_EQ(wt_app_query_get("r=%4&x=1", "x", buf, sizeof(buf)), 1); /* others unaffected */
  CHECK_EQ(wt_app_query_get("r%=1", "r", buf, sizeof(buf)), WT_ERR_NOTFOUND);
  /* a malformed first occurrence does not hide a good later one */
  CHECK_EQ(wt_app_query_get("r=%x&r=good", "r", buf, sizeof(buf)), 4);
  CHECK(strcmp(buf, "good") == 0);
}

static void test_query_bounds(void) {
  char buf[8];
  /* 7 bytes + NUL fit in 8; 8 do not */
  CHECK_EQ(wt_app_query_get("v=1234567", "v", buf, sizeof(buf)), 7);
  CHECK_EQ(wt_app_query_get("v=12345678", "v", buf, sizeof(buf)), WT_ERR_NOBUF);
  CHECK_EQ(buf[0], '\0');
  /* escapes count as one byte each */
  CHECK_EQ(wt_app_query_get("v=%41%42%43%44%45%46%47", "v", buf, sizeof(buf)), 7);
  CHECK(strcmp(buf, "ABCDEFG") == 0);
  /* overlong and malformed further on: malformed wins (absent) */
  CHECK_EQ(wt_app_query_get("v=123456789%z", "v", buf, sizeof(buf)), WT_ERR_NOTFOUND);
  CHECK_EQ(wt_app_query_get("v=1", "v", buf, 1), WT_ERR_NOBUF);
  CHECK_EQ(wt_app_query_get("v=", "v", buf, 1), 0);
  /* a query string longer than WT_APP_QUERY_MAX is not parsed */
  static char big[WT_APP_QUERY_MAX + 16];
  memset(big, 'x', sizeof(big));
  memcpy(big, "a=1&", 4);
  big[WT_APP_QUERY_MAX + 1] = '\0';
  CHECK_EQ(wt_app_query_get(big, "a", buf, sizeof(buf)), WT_ERR_NOTFOUND);
  big[WT_APP_QUERY_MAX] = '\0'; /* exactly the maximum: parsed */
  CHECK_EQ(wt_app_query_get(big, "a", buf, sizeof(buf)), 1);
}

static void test_query_u64(void) {
  uint64_t v = 77;
  CHECK_EQ(wt_app_query_get_u64("bytes=0", "bytes", &v), 0);
  CHECK_EQ(v, 0);
  CHECK_EQ(wt_app_query_get_u64("bytes=1048576&x", "bytes", &v), 0);
  CHECK_EQ(v, 1048576);
  CHECK_EQ(wt_app_query_get_u64("n=18446744073709551615", "n", &v), 0);
  CHECK_EQ(v, UINT64_MAX);
  CHECK_EQ(wt_app_query_get_u64("n=007", "n", &v), 0);
  CHECK_EQ(v, 7);
  CHECK_EQ(wt_app_query_get_u64("n=%31%32", "n", &v), 0); /* decoded first: "12" */
  CHECK_EQ(v, 12);
  v = 77;
  /* overflow, garbage, sign, space, empty, absent: all "absent", v untouched */
  CHECK_EQ(wt_app_query_get_u64("n=18446744073709551616", "n", &v), WT_ERR_NOTFOUND);
  CHECK_EQ(wt_app_query_get_u64("n=99999999999999999999", "n", &v), WT_ERR_NOTFOUND);
  CHECK_EQ(wt_app_query_get_u64("n=184467440737095516150", "n", &v), WT_ERR_NOTFOUND);
  CHECK_EQ(wt_app_query_get_u64("n=-1", "n", &v), WT_ERR_NOTFOUND);
  CHECK_EQ(wt_app_query_get_u64("n=+1", "n", &v), WT_ERR_NOTFOUND);
  CHECK_EQ(wt_app_query_get_u64("n=1+", "n", &v), WT_ERR_NOTFOUND);
  CHECK_EQ(wt_app_query_get_u64("n=1k", "n", &v), WT_ERR_NOTFOUND);
  CHECK_EQ(wt_app_query_get_u64("n=0x10", "n", &v), WT_ERR_NOTFOUND);
  CHECK_EQ(wt_app_query_get_u64("n=", "n", &v), WT_ERR_NOTFOUND);
  CHECK_EQ(wt_app_query_get_u64("n", "n", &v), WT_ERR_NOTFOUND);
  CHECK_EQ(wt_app_query_get_u64("m=1", "n", &v), WT_ERR_NOTFOUND);
  CHECK_EQ(wt_app_query_get_u64("n=%3", "n", &v), WT_ERR_NOTFOUND);
  CHECK_EQ(v, 77);
  CHECK_EQ(wt_app_query_get_u64("n=1", "n", NULL), WT_ERR_NOTFOUND);
}

int main(void) {
  WT_RUN(test_router_exact);
  WT_RUN(test_router_errors);
  WT_RUN(test_builtin_routes);
  WT_RUN(test_builtin_module);
  WT_RUN(test_relay_metrics_cap);
  WT_RUN(test_stream_credit_args);
  WT_RUN(test_query_basic);
  WT_RUN(test_query_decoding);
  WT_RUN(test_query_bounds);
  WT_RUN(test_query_u64);
  WT_DONE();
}
