/* test_stats.c: the SIGUSR1 counter line (ops/wt_stats.h). */
#include "check.h"

#include "wt_error.h"
#include "wt_stats.h"

/* ---- a strict little JSON checker for what the line may contain: objects,
 * string keys without escapes, string and unsigned integer values ---- */

typedef struct jp {
  const char *s;
  size_t i;
  char path[256]; /* "group.key" of the last number parsed */
  /* every "group.key" (or "key") seen, with its value */
  char keys[128][64];
  uint64_t vals[128];
  int n;
} jp;

static void jp_ws(jp *p) {
  while (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r') {
    p->i++;
  }
}

static int jp_string(jp *p, char *out, size_t cap) {
  if (p->s[p->i] != '"') {
    return -1;
  }
  p->i++;
  size_t o = 0;
  while (p->s[p->i] && p->s[p->i] != '"') {
    char c = p->s[p->i++];
    if (c == '\\' || (unsigned char)c < 0x20 || o + 1 >= cap) {
      return -1;
    }
    out[o++] = c;
  }
  if (p->s[p->i] != '"') {
    return -1;
  }
  p->i++;
  out[o] = '\0';
  return 0;
}

static int jp_object(jp *p, const char *prefix);

static int jp_value(jp *p, const char *name) {
  jp_ws(p);
  char c = p->s[p->i];
  if (c == '{') {
    return jp_object(p, name);
  }
  if (c == '"') {
    char tmp[64];
    return jp_string(p, tmp, sizeof(tmp));
  }
  if (c >= '0' && c <= '9') {
    if (c == '0' && p->s[p->i + 1] >= '0' && p->s[p->i + 1] <= '9') {
      return -1; /* no leading zeros in JSON */
    }
    uint64_t v = 0;
    while (p->s[p->i] >= '0' && p->s[p->i] <= '9') {
      v = v * 10 + (uint64_t)(p->s[p->i++] - '0');
    }
    if (p->n < 128) {
      snprintf(p->keys[p->n], sizeof(p->keys[0]), "%s", name);
      p->vals[p->n++] = v;
    }
    return 0;
  }
  return -1;
}

static int jp_object(jp *p, const char *prefix) {
  if (p->s[p->i] != '{') {
    return -1;
  }
  p->i++;
  jp_ws(p);
  if (p->s[p->i] == '}') {
    p->i++;
    return 0;
  }
  for (;;) {
    jp_ws(p);
    char key[64], name[64];
    if (jp_string(p, key, sizeof(key)) < 0) {
      return -1;
    }
    size_t pl = strlen(prefix), kl = strlen(key);
    if (pl + 1 + kl >= sizeof(name)) {
      return -1;
    }
    memcpy(name, prefix, pl);
    if (pl) {
      name[pl++] = '.';
    }
    memcpy(name + pl, key, kl + 1);
    jp_ws(p);
    if (p->s[p->i++] != ':') {
      return -1;
    }
    if (jp_value(p, name) < 0) {
      return -1;
    }
    jp_ws(p);
    char c = p->s[p->i++];
    if (c == '}') {
      return 0;
    }
    if (c != ',') {
      return -1;
    }
  }
}

static int jp_find(const jp *p, const char *name, uint64_t *v) {
  for (int i = 0; i < p->n; i++) {
    if (strcmp(p->keys[i], name) == 0) {
      *v = p->vals[i];
      return 1;
    }
  }
  return 0;
}

static const char *const required[] = {
    "uptime_ms",
    "connections.active",
    "connections.accepted",
    "connections.closed",
    "handshakes.ok",
    "handshakes.failed",
    "sessions.opened",
    "sessions.active",
    "sessions.refused",
    "sessions.closed",
    "streams.opened",
    "streams.active",
    "streams.reset",
    "datagrams.in",
    "datagrams.out",
    "datagrams.dropped",
    "bytes.in",
    "bytes.out",
    "packets.in",
    "packets.out",
    "packets.dropped",
    "io.rx_calls",
    "io.tx_calls",
    "io.gso_sends",
    "io.tx_errors",
    "io.eagain",
    "errors.proto",
    "errors.internal",
    "errors.buffered_rejected",
    "errors.buffered_expired",
    "errors.glitch_closed",
    "address_validation.retries_sent",
    "address_validation.tokens_invalid",
    "address_validation.stateless_resets_sent",
    "address_validation.initials_short_dcid",
    "address_validation.initials_undecryptable",
    "apps.echo_bytes",
    "apps.source_bytes",
    "apps.sink_bytes",
    "loop.turns",
};

/* The application counters as the built-in apps' module names them
 * (apps/wt_apps_module.c; the "apps" keys of the line). */
static const char *const app_names[] = {
    "echo_sessions",          "echo_bytes",           "echo_datagrams",
    "echo_datagrams_dropped", "echo_overflow_resets", "echo_push_reply_bytes",
    "source_sessions",        "source_bytes",         "source_streams_done",
    "sink_sessions",          "sink_bytes",           "sink_datagrams",
};
enum { APP_ECHO_BYTES = 1, APP_SOURCE_BYTES = 7, APP_SINK_BYTES = 10 };
static const wt_stats_names names = {app_names, sizeof(app_names) / sizeof(app_names[0])};

/* Fill every counter with a distinct large value so swapped fields show. */
static void fill(wt_snapshot *s) {
  memset(s, 0, sizeof(*s));
  uint64_t *w = (uint64_t *)&s->engine;
  for (size_t i = 0; i < sizeof(s->engine) / 8; i++) {
    w[i] = 1000 + i;
  }
  w = (uint64_t *)&s->io;
  for (size_t i = 0; i < sizeof(s->io) / 8; i++) {
    w[i] = 2000 + i;
  }
  for (size_t i = 0; i < names.n; i++) {
    s->app_counters[i] = 3000 + i;
  }
  s->uptime_ms = 42;
  s->loop.turns = UINT64_MAX;
}

static void test_shape(void) {
  wt_snapshot s;
  fill(&s);
  char line[WT_STATS_JSON_MAX];
  int n = wt_stats_format_json(&s, &names, line, sizeof(line));
  CHECK_FATAL(n > 0);
  CHECK_EQ((size_t)n, strlen(line));
  CHECK(strchr(line, '\n') == NULL); /* one line */
  CHECK(strchr(line, ' ') == NULL);
  static jp p;
  memset(&p, 0, sizeof(p));
  p.s = line;
  CHECK_FATAL(jp_object(&p, "") == 0);
  CHECK_EQ(p.i, (size_t)n); /* nothing after the object */
  for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
    uint64_t v;
    int found = jp_find(&p, required[i], &v);
    if (!found) {
      fprintf(stderr, "missing key %s\n", required[i]);
    }
    CHECK(found);
  }
  /* spot checks: the right counter under the right key */
  uint64_t v = 0;
  CHECK(jp_find(&p, "uptime_ms", &v) && v == 42);
  CHECK(jp_find(&p, "connections.accepted", &v) && v == s.engine.conns_accepted);
  CHECK(jp_find(&p, "connections.active", &v) && v == s.engine.conns_active);
  CHECK(jp_find(&p, "handshakes.failed", &v) && v == s.engine.handshakes_failed);
  CHECK(jp_find(&p, "sessions.refused", &v) && v == s.engine.sessions_refused);
  CHECK(jp_find(&p, "streams.reset", &v) && v == s.engine.streams_reset);
  CHECK(jp_find(&p, "datagrams.dropped", &v) && v == s.engine.datagrams_dropped);
  CHECK(jp_find(&p, "bytes.out", &v) && v == s.engine.bytes_out);
  CHECK(jp_find(&p, "packets.dropped", &v) && v == s.engine.pkts_dropped);
  CHECK(jp_find(&p, "errors.buffered_rejected", &v) && v == s.engine.buffered_rejected);
  CHECK(jp_find(&p, "address_validation.retries_sent", &v) && v == s.engine.retries_sent);
  CHECK(jp_find(&p, "address_validation.stateless_resets_sent", &v) &&
        v == s.engine.stateless_resets_sent);
  CHECK(jp_find(&p, "io.gso_sends", &v) && v == s.io.tx_gso_sends);
  CHECK(jp_find(&p, "io.eagain", &v) && v == s.io.tx_eagain);
  CHECK(jp_find(&p, "io.rx_calls", &v) && v == s.io.rx_calls);
  CHECK(jp_find(&p, "apps.echo_bytes", &v) && v == s.app_counters[APP_ECHO_BYTES]);
  CHECK(jp_find(&p, "apps.source_bytes", &v) && v == s.app_counters[APP_SOURCE_BYTES]);
  CHECK(jp_find(&p, "apps.sink_bytes", &v) && v == s.app_counters[APP_SINK_BYTES]);
  CHECK(jp_find(&p, "loop.turns", &v) && v == UINT64_MAX);
  CHECK(strncmp(line, "{\"type\":\"stats\",", 16) == 0);
}

static void test_zero_and_bounds(void) {
  wt_snapshot s;
  memset(&s, 0, sizeof(s));
  char line[WT_STATS_JSON_MAX];
  int n = wt_stats_format_json(&s, &names, line, sizeof(line));
  CHECK_FATAL(n > 0);
  static jp p;
  memset(&p, 0, sizeof(p));
  p.s = line;
  CHECK(jp_object(&p, "") == 0);
  /* every value 0 is still printed */
  for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
    uint64_t v = 1;
    CHECK(jp_find(&p, required[i], &v) && v == 0);
  }
  /* the maximal line fits WT_STATS_JSON_MAX */
  memset(&s, 0xff, sizeof(s));
  n = wt_stats_format_json(&s, &names, line, sizeof(line));
  CHECK(n > 0 && n < WT_STATS_JSON_MAX);
  /* too small: NOBUF and an empty string, exactly n + 1 is enough */
  char small[64];
  CHECK_EQ(wt_stats_format_json(&s, &names, small, sizeof(small)), WT_ERR_NOBUF);
  CHECK_EQ(small[0], '\0');
  static char exact[WT_STATS_JSON_MAX];
  CHECK_EQ(wt_stats_format_json(&s, &names, exact, (size_t)n + 1), n);
  CHECK_EQ(wt_stats_format_json(&s, &names, exact, (size_t)n), WT_ERR_NOBUF);
  CHECK_EQ(wt_stats_format_json(NULL, &names, line, sizeof(line)), WT_ERR_INVAL);
  CHECK_EQ(wt_stats_format_json(&s, &names, NULL, 10), WT_ERR_INVAL);
}

/* The most counters with the longest names still fit WT_STATS_JSON_MAX;
 * a longer name or more names are refused. */
static void test_app_names_bound(void) {
  static char long_names[WT_APP_MAX_COUNTERS + 1][WT_STATS_NAME_MAX + 2];
  const char *ptrs[WT_APP_MAX_COUNTERS + 1];
  for (size_t i = 0; i <= WT_APP_MAX_COUNTERS; i++) {
    snprintf(long_names[i], sizeof(long_names[i]), "%02zu", i);
    memset(long_names[i] + 2, 'k', WT_STATS_NAME_MAX - 2);
    ptrs[i] = long_names[i];
  }
  wt_stats_names many = {ptrs, WT_APP_MAX_COUNTERS};
  wt_snapshot s;
  memset(&s, 0xff, sizeof(s));
  static char line[WT_STATS_JSON_MAX];
  int n = wt_stats_format_json(&s, &many, line, sizeof(line));
  CHECK(n > 0 && n < WT_STATS_JSON_MAX);
  many.n = WT_APP_MAX_COUNTERS + 1;
  CHECK_EQ(wt_stats_format_json(&s, &many, line, sizeof(line)), WT_ERR_INVAL);
  many.n = 1;
  long_names[0][WT_STATS_NAME_MAX] = 'x'; /* one byte too long */
  CHECK_EQ(wt_stats_format_json(&s, &many, line, sizeof(line)), WT_ERR_INVAL);
}

int main(void) {
  WT_RUN(test_shape);
  WT_RUN(test_zero_and_bounds);
  WT_RUN(test_app_names_bound);
  WT_DONE();
}
