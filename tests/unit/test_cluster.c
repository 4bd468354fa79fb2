/* test_cluster.c: the registry client's pure parts (ops/wt_cluster.h): the
 * URL, tokens and keys, notices and record values (bounded parsing), the
 * map (add, move, expire, a node's heartbeat, limits), and a client that
 * is never started (no network). */
#include "check.h"

#include <fcntl.h>
#include <unistd.h>

#include "wt_cluster.h"
#include "wt_peers.h"
#include "wt_error.h"

static void test_url(void) {
  wt_cluster_url u;
  char err[256];
  CHECK_EQ(wt_cluster_url_parse("redis://127.0.0.1:6380/3", &u, err, sizeof(err)), 0);
  CHECK(!strcmp(u.host, "127.0.0.1"));
  CHECK_EQ(u.port, 6380);
  CHECK_EQ(u.db, 3);
  CHECK_EQ(wt_cluster_url_parse("redis://registry.internal", &u, err, sizeof(err)), 0);
  CHECK(!strcmp(u.host, "registry.internal"));
  CHECK_EQ(u.port, 6379);
  CHECK_EQ(u.db, 0);
  CHECK_EQ(wt_cluster_url_parse("redis://[::1]:7000/", &u, err, sizeof(err)), 0);
  CHECK(!strcmp(u.host, "::1"));
  CHECK_EQ(u.port, 7000);
  static const char *const bad[] = {
      "http://127.0.0.1:6379",   "redis://",
      "redis://:6379",           "redis://h:0",
      "redis://h:65536",         "redis://h:12x",
      "redis://h:6379/65536",    "redis://h/1/2",
      "redis://u:p@h:6379?db=1", "redis://h:6379?db=1",
      "redis://[::1:6379",       "redis://h:",
      "redis://h h:6379",        "redis://h:99999999999",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    err[0] = '\0';
    CHECK_EQ(wt_cluster_url_parse(bad[i], &u, err, sizeof(err)), -1);
    CHECK(err[0] != '\0');
  }
  /* credentials: an ACL user, the legacy password, a user alone (the
   * password from --cluster-auth-file), percent-encoding, '@' in it */
  CHECK_EQ(wt_cluster_url_parse("redis://wt-node:s3cret@10.0.0.5:6380/2", &u, err, sizeof(err)), 0);
  CHECK(!strcmp(u.user, "wt-node") && !strcmp(u.pass, "s3cret") && u.has_pass);
  CHECK(!strcmp(u.host, "10.0.0.5") && u.port == 6380 && u.db == 2);
  CHECK_EQ(wt_cluster_url_parse("redis://:legacy@h", &u, err, sizeof(err)), 0);
  CHECK(!strcmp(u.user, "") && !strcmp(u.pass, "legacy") && u.has_pass && u.port == 6379);
  CHECK_EQ(wt_cluster_url_parse("redis://wt@[::1]:7000", &u, err, sizeof(err)), 0);
  CHECK(!strcmp(u.user, "wt") && !u.has_pass && !strcmp(u.host, "::1"));
  CHECK_EQ(wt_cluster_url_parse("redis://u:p%40ss%3Aw%2Fd@h", &u, err, sizeof(err)), 0);
  CHECK(!strcmp(u.pass, "p@ss:w/d"));
  CHECK_EQ(wt_cluster_url_parse("redis://u:a@b@h:1", &u, err, sizeof(err)), 0);
  CHECK(!strcmp(u.pass, "a@b") && !strcmp(u.host, "h"));
  static const char *const badc[] = {
      "redis://@h",        "redis://:@h",          "redis://u:@h",
      "redis://u:p%zzq@h", "redis://u:p%0aq@h",    "redis://u:p%2@h",
      "redis://u:p q@h",   "redis://u:TOPSECRET@", "redis://u:TOPSECRET@h:0",
  };
  for (size_t i = 0; i < sizeof(badc) / sizeof(badc[0]); i++) {
    err[0] = '\0';
    CHECK_EQ(wt_cluster_url_parse(badc[i], &u, err, sizeof(err)), -1);
    CHECK(err[0] != '\0');
    CHECK(strstr(err, "TOPSECRET") == NULL); /* messages never show the password */
  }
  CHECK_EQ(wt_cluster_url_parse("rediss://u:TOPSECRET@h", &u, err, sizeof(err)), -1);
  CHECK(strstr(err, "TOPSECRET") == NULL);
}

/* A stale-answer bound with a fake clock: nothing dropped while the
 * registry is up or within the bound, everything once past it. */
static void test_stale(void) {
  wt_cluster_map ch, nodes;
  wt_cluster_map_init(&ch, 16);
  wt_cluster_map_init(&nodes, 16);
  CHECK_EQ(wt_cluster_map_put(&ch, "relay/a", "A", "a:1", NULL, 1000), 0);
  CHECK_EQ(wt_cluster_map_put(&ch, "relay/b", "B", "b:1", NULL, 1000), 0);
  CHECK_EQ(wt_cluster_map_put(&nodes, "A", "A", "a:1", "sessions=0", 1000), 0);
  CHECK_EQ(wt_cluster_map_drop_stale(&ch, &nodes, 0, 900000, 30000), 0);   /* not down */
  CHECK_EQ(wt_cluster_map_drop_stale(&ch, &nodes, 5000, 35000, 30000), 0); /* at the bound */
  CHECK_EQ(wt_cluster_map_drop_stale(&ch, &nodes, 5000, 4000, 30000), 0);  /* clock before */
  CHECK_EQ(wt_cluster_map_count(&ch), 2);
  CHECK_EQ(wt_cluster_map_drop_stale(&ch, &nodes, 5000, 35001, 30000), 2);
  CHECK_EQ(wt_cluster_map_count(&ch), 0);
  CHECK_EQ(wt_cluster_map_count(&nodes), 0);
  CHECK_EQ(wt_cluster_map_drop_stale(&ch, NULL, 5000, 99000, 30000), 0);
  wt_cluster_map_free(&ch);
  wt_cluster_map_free(&nodes);
}

/* Credentials at wt_cluster_new: the password file (read, checked) and
 * the combinations refused; a strict start with no registry fails. */
static void test_client_auth(void) {
  char err[512], path[] = "/tmp/test_cluster_pwXXXXXX";
  wt_cluster *c = NULL;
  wt_cluster_config cfg = {.url = "redis://wt@127.0.0.1:1", .node_id = "A", .advertise = "h:1"};
  CHECK_EQ(wt_cluster_new(&c, &cfg, err, sizeof(err)), WT_ERR_INVAL); /* user, no password */
  CHECK(strstr(err, "--cluster-auth-file") != NULL);
  int fd = mkstemp(path);
  CHECK_FATAL(fd >= 0);
  CHECK_FATAL(write(fd, "pw-from-file\nsecond line\n", 25) == 25);
  close(fd);
  cfg.auth_file = path;
  CHECK_EQ(wt_cluster_new(&c, &cfg, err, sizeof(err)), 0);
  wt_cluster_del(c);
  c = NULL;
  cfg.url = "redis://wt:inurl@127.0.0.1:1"; /* both: refused */
  CHECK_EQ(wt_cluster_new(&c, &cfg, err, sizeof(err)), WT_ERR_INVAL);
  CHECK(strstr(err, "inurl") == NULL);
  cfg.url = "redis://127.0.0.1:1";
  cfg.auth_file = "/nonexistent/wtcast-pw";
  CHECK_EQ(wt_cluster_new(&c, &cfg, err, sizeof(err)), WT_ERR_INVAL);
  CHECK(strstr(err, "/nonexistent/wtcast-pw") != NULL);
  fd = open(path, O_WRONLY | O_TRUNC);
  CHECK_FATAL(fd >= 0);
  CHECK_FATAL(write(fd, "\n", 1) == 1); /* an empty first line */
  close(fd);
  cfg.auth_file = path;
  CHECK_EQ(wt_cluster_new(&c, &cfg, err, sizeof(err)), WT_ERR_INVAL);
  unlink(path);
  /* strict: nothing listens on port 1, so the start fails, counted */
  cfg.auth_file = NULL;
  cfg.strict = 1;
  CHECK_EQ(wt_cluster_new(&c, &cfg, err, sizeof(err)), 0);
  CHECK_FATAL(c != NULL);
  CHECK_EQ(wt_cluster_start(c, NULL, err, sizeof(err)), WT_ERR_IO);
  CHECK(strstr(err, "--cluster-strict") != NULL);
  wt_cluster_stats s;
  wt_cluster_get_stats(c, &s);
  CHECK_EQ(s.connect_failures, 1);
  CHECK_EQ(s.up, 0);
  wt_cluster_del(c);
}

static void test_tokens_and_keys(void) {
  char key[WT_CLUSTER_KEY_MAX + 1], big[400];
  CHECK(wt_cluster_id_ok("edge-1.eu_west"));
  CHECK(!wt_cluster_id_ok(""));
  CHECK(!wt_cluster_id_ok("a b"));
  CHECK(!wt_cluster_id_ok("a/b"));
  memset(big, 'a', 65);
  big[65] = '\0';
  CHECK(!wt_cluster_id_ok(big));
  big[64] = '\0';
  CHECK(wt_cluster_id_ok(big));
  CHECK_EQ(wt_cluster_key("relay", "live/cam", key, sizeof(key)), 14);
  CHECK(!strcmp(key, "relay/live/cam"));
  CHECK_EQ(wt_cluster_key("relay", "a b", key, sizeof(key)), -1);
  CHECK_EQ(wt_cluster_key("re/lay", "x", key, sizeof(key)), -1);
  CHECK_EQ(wt_cluster_key("", "x", key, sizeof(key)), -1);
  CHECK_EQ(wt_cluster_key("relay", "", key, sizeof(key)), -1);
  CHECK_EQ(wt_cluster_key("relay", "q\"uote", key, sizeof(key)), -1);
  memset(big, 'n', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  CHECK_EQ(wt_cluster_key("relay", big, key, sizeof(key)), -1); /* longer than a key */
  big[WT_CLUSTER_KEY_MAX - 6] = '\0';
  CHECK_EQ(wt_cluster_key("relay", big, key, sizeof(key)), WT_CLUSTER_KEY_MAX);
}

static void test_notices(void) {
  wt_cluster_notice n, m;
  char buf[WT_CLUSTER_NOTICE_MAX + 1];
  static const char add[] = "+ A 5000 10.0.0.1:4433 relay/live/cam";
  CHECK_EQ(wt_cluster_notice_parse(add, strlen(add), &n), 0);
  CHECK_EQ(n.type, WT_CLUSTER_N_ADD);
  CHECK_EQ(n.ttl_ms, 5000);
  CHECK(!strcmp(n.node, "A") && !strcmp(n.addr, "10.0.0.1:4433") &&
        !strcmp(n.key, "relay/live/cam"));
  int len = wt_cluster_notice_format(&n, buf, sizeof(buf));
  CHECK_EQ(len, strlen(add));
  CHECK(!strcmp(buf, add));
  static const char *const good[] = {"- node-2 relay/x", "hb B 1000 h:1 sessions=1,conns=2",
                                     "reset A", "bye A"};
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    CHECK_EQ(wt_cluster_notice_parse(good[i], strlen(good[i]), &n), 0);
    len = wt_cluster_notice_format(&n, buf, sizeof(buf));
    CHECK(len > 0 && !strcmp(buf, good[i]));
    CHECK_EQ(wt_cluster_notice_parse(buf, (size_t)len, &m), 0);
    CHECK_EQ(m.type, n.type);
  }
  /* the parse stops at len: a longer buffer's tail is not read */
  CHECK_EQ(wt_cluster_notice_parse("reset Axyz", 7, &n), 0);
  CHECK(!strcmp(n.node, "A"));
  static const char *const bad[] = {
      "",
      "+",
      "+ A 5000 h:1",               /* no key */
      "+ A 5000 h:1 relay/x extra", /* one token too many */
      "+ A 999 h:1 relay/x",        /* TTL below the minimum */
      "+ A 600001 h:1 relay/x",     /* above the maximum */
      "+ A 5x00 h:1 relay/x",       /* not a number */
      "+ A 5000 h:1 relayx",        /* a key without '/' */
      "+ A 5000 h:1 /x",            /* no kind */
      "+ A 5000 h:1 relay/",        /* no name */
      "+ A 5000 h:1 kindlongerthan16b/x",
      "+ A/B 5000 h:1 relay/x",   /* not a node id */
      "+  A 5000 h:1 relay/x",    /* an empty token */
      "+ A 5000 h:1 relay/x ",    /* a trailing space */
      "- A",                      /* no key */
      "hb A 5000 h:1",            /* no info */
      "reset",                    /* no node */
      "reset A B",                /* one too many */
      "what A",                   /* unknown type */
      "+ A 5000 h:1 relay/\"x\"", /* a quote */
      "+ A 5000 h:1 relay/x\ty",  /* a control byte */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int rv = wt_cluster_notice_parse(bad[i], strlen(bad[i]), &n);
    if (rv != WT_ERR_MALFORMED) {
      fprintf(stderr, "accepted: '%s'\n", bad[i]);
    }
    CHECK_EQ(rv, WT_ERR_MALFORMED);
  }
  /* bounded: an over-long notice and over-long fields are refused */
  char huge[WT_CLUSTER_NOTICE_MAX + 50];
  memset(huge, 'x', sizeof(huge));
  memcpy(huge, "reset ", 6);
  CHECK_EQ(wt_cluster_notice_parse(huge, sizeof(huge), &n), WT_ERR_MALFORMED);
  char addr[200] = "+ A 5000 ";
  memset(addr + 9, 'h', 120);
  strcpy(addr + 129, " relay/x");
  CHECK_EQ(wt_cluster_notice_parse(addr, strlen(addr), &n), WT_ERR_MALFORMED);
  /* embedded NUL: not a token byte */
  CHECK_EQ(wt_cluster_notice_parse("reset A\0B", 9, &n), WT_ERR_MALFORMED);
  n.type = 99;
  CHECK_EQ(wt_cluster_notice_format(&n, buf, sizeof(buf)), WT_ERR_INVAL);
  CHECK_EQ(wt_cluster_notice_parse("reset A", 7, &n), 0);
  CHECK_EQ(wt_cluster_notice_format(&n, buf, 4), WT_ERR_NOBUF);
}

static void test_values(void) {
  char node[WT_CLUSTER_ID_MAX + 1], addr[WT_CLUSTER_ADDR_MAX + 1], info[WT_CLUSTER_INFO_MAX + 1];
  static const char cv[] = "1 A 10.0.0.1:4433";
  CHECK_EQ(wt_cluster_chan_value_parse(cv, strlen(cv), node, addr), 0);
  CHECK(!strcmp(node, "A") && !strcmp(addr, "10.0.0.1:4433"));
  static const char nv[] = "1 10.0.0.1:4433 sessions=3,conns=2,version=0.1.0";
  CHECK_EQ(wt_cluster_node_value_parse(nv, strlen(nv), addr, info), 0);
  CHECK(!strcmp(info, "sessions=3,conns=2,version=0.1.0"));
  static const char *const bad[] = {"2 A h:1", "1 A", "1 A h:1 x", "1 A/B h:1", "", "1  A h:1"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    CHECK_EQ(wt_cluster_chan_value_parse(bad[i], strlen(bad[i]), node, addr), WT_ERR_MALFORMED);
  }
  CHECK_EQ(wt_cluster_node_value_parse("1 h:1", 5, addr, info), WT_ERR_MALFORMED);
}

static void test_map(void) {
  wt_cluster_map ch, nodes;
  wt_cluster_map_init(&ch, 3);
  wt_cluster_map_init(&nodes, 8);
  /* add */
  CHECK_EQ(wt_cluster_map_put(&ch, "relay/a", "A", "a:1", NULL, 1000), 0);
  CHECK_EQ(wt_cluster_map_put(&ch, "relay/b", "A", "a:1", NULL, 1000), 0);
  wt_cluster_entry *e = wt_cluster_map_get(&ch, "relay/a");
  CHECK_FATAL(e != NULL);
  CHECK(!strcmp(e->node, "A") && !strcmp(e->addr, "a:1"));
  CHECK(wt_cluster_map_get(&ch, "relay/c") == NULL);
  /* move: the publisher went to B; A's late "-" must not remove B's entry */
  CHECK_EQ(wt_cluster_map_put(&ch, "relay/a", "B", "b:1", NULL, 1500), 0);
  CHECK_EQ(wt_cluster_map_del(&ch, "relay/a", "A"), 0);
  e = wt_cluster_map_get(&ch, "relay/a");
  CHECK(e && !strcmp(e->node, "B") && e->expires_ms == 1500);
  CHECK_EQ(wt_cluster_map_count(&ch), 2);
  /* the limit */
  CHECK_EQ(wt_cluster_map_put(&ch, "relay/c", "C", "c:1", NULL, 1000), 0);
  CHECK_EQ(wt_cluster_map_put(&ch, "relay/d", "C", "c:1", NULL, 1000), WT_ERR_LIMIT);
  CHECK_EQ(wt_cluster_map_put(&ch, "relay/c", "C", "c:2", NULL, 2000), 0); /* replace: fine */
  /* expiry: own TTL, or the node's heartbeat */
  CHECK_EQ(wt_cluster_map_put(&nodes, "A", "A", "a:1", "sessions=0", 3000), 0);
  e = wt_cluster_map_get(&ch, "relay/b");
  CHECK(wt_cluster_entry_live(e, &nodes, 2500)); /* A's heartbeat carries it */
  CHECK(!wt_cluster_entry_live(e, NULL, 2500));
  CHECK_EQ(wt_cluster_map_expire(&ch, &nodes, 1200), 0);
  CHECK_EQ(wt_cluster_map_expire(&ch, &nodes, 1600), 1); /* B's own TTL ends at 1500, ... */
  CHECK(wt_cluster_map_get(&ch, "relay/a") == NULL);     /* ... and B sends no heartbeat */
  CHECK(wt_cluster_map_get(&ch, "relay/b") != NULL);
  CHECK(wt_cluster_map_get(&ch, "relay/c") != NULL);
  CHECK_EQ(wt_cluster_map_expire(&ch, &nodes, 3100), 2); /* A's heartbeat passed too */
  CHECK_EQ(wt_cluster_map_count(&ch), 0);
  CHECK_EQ(wt_cluster_map_count(&nodes), 0);
  /* a node's reset or bye */
  CHECK_EQ(wt_cluster_map_put(&ch, "relay/a", "A", "a:1", NULL, 9000), 0);
  CHECK_EQ(wt_cluster_map_put(&ch, "relay/b", "B", "b:1", NULL, 9000), 0);
  CHECK_EQ(wt_cluster_map_put(&ch, "moq/a", "A", "a:1", NULL, 9000), 0);
  CHECK_EQ(wt_cluster_map_drop_node(&ch, "A"), 2);
  CHECK_EQ(wt_cluster_map_count(&ch), 1);
  CHECK_EQ(wt_cluster_map_del(&ch, "relay/b", NULL), 1);
  wt_cluster_map_free(&ch);
  wt_cluster_map_free(&nodes);
}

/* Many entries: removal in rounds (more than one batch of 256) and every
 * key found again. */
static void test_map_many(void) {
  wt_cluster_map m;
  wt_cluster_map_init(&m, 5000);
  char key[32];
  for (int i = 0; i < 3000; i++) {
    snprintf(key, sizeof(key), "relay/c%d", i);
    CHECK_EQ(wt_cluster_map_put(&m, key, i % 2 ? "A" : "B", "h:1", NULL, (uint64_t)i), 0);
  }
  for (int i = 0; i < 3000; i += 7) {
    snprintf(key, sizeof(key), "relay/c%d", i);
    wt_cluster_entry *e = wt_cluster_map_get(&m, key);
    CHECK(e && e->expires_ms == (uint64_t)i);
  }
  CHECK_EQ(wt_cluster_map_expire(&m, NULL, 999), 1000); /* 0..999: expires_ms <= now */
  CHECK_EQ(wt_cluster_map_drop_node(&m, "A"), 1000);
  CHECK_EQ(wt_cluster_map_count(&m), 1000);
  wt_cluster_map_free(&m);
}

/* A client never started: config checks, and lookups answer "registry
 * unreachable" (nothing known), counted. No network. */
static void test_client_unstarted(void) {
  char err[512];
  wt_cluster *c = NULL;
  wt_cluster_config cfg = {.url = "redis://127.0.0.1:1", .node_id = "A", .advertise = "h:1"};
  cfg.node_id = "a b";
  CHECK_EQ(wt_cluster_new(&c, &cfg, err, sizeof(err)), WT_ERR_INVAL);
  CHECK(strstr(err, "--node-id") != NULL);
  cfg.node_id = "A";
  cfg.advertise = "nocolon";
  CHECK_EQ(wt_cluster_new(&c, &cfg, err, sizeof(err)), WT_ERR_INVAL);
  cfg.advertise = "h:1";
  cfg.url = "redis://h:0";
  CHECK_EQ(wt_cluster_new(&c, &cfg, err, sizeof(err)), WT_ERR_INVAL);
  cfg.url = "redis://127.0.0.1:1";
  cfg.ttl_ms = 10;
  CHECK_EQ(wt_cluster_new(&c, &cfg, err, sizeof(err)), WT_ERR_INVAL);
  cfg.ttl_ms = 0;
  CHECK_EQ(wt_cluster_new(&c, &cfg, err, sizeof(err)), 0);
  CHECK_FATAL(c != NULL);
  const wt_app_locator *loc = wt_cluster_locator(c);
  char addr[64];
  CHECK_EQ(loc->lookup(loc->arg, "relay", "x", 0, addr, sizeof(addr)), WT_ERR_UNSUPPORTED);
  CHECK_EQ(loc->lookup(loc->arg, "relay", "x", 1, addr, sizeof(addr)), 0); /* one candidate */
  CHECK_EQ(loc->lookup(loc->arg, "relay", "bad name", 0, addr, sizeof(addr)), 0);
  loc->publish(loc->arg, "relay", "x", 1);
  loc->publish(loc->arg, "relay", "bad name", 1); /* refused, counted */
  loc->publish(loc->arg, "relay", "x", 0);
  wt_cluster_stats s;
  wt_cluster_get_stats(c, &s);
  CHECK_EQ(s.up, 0);
  CHECK_EQ(s.lookup_failed, 1);
  CHECK_EQ(s.lookup_miss, 2);
  CHECK_EQ(s.publish_dropped, 1);
  const wt_app_module *m = wt_cluster_module(c);
  char json[1024];
  CHECK(m->stats_json(m->arg, json, sizeof(json)) > 0);
  CHECK(strstr(json, "\"registry_up\":0") != NULL);
  CHECK_EQ(m->stats_json(m->arg, json, 16), WT_ERR_NOBUF);
  wt_cluster_del(c);
}

static int is_localhost(const char *a, const char *port) {
  char v4[32], v6[32];
  snprintf(v4, sizeof(v4), "127.0.0.1:%s", port);
  snprintf(v6, sizeof(v6), "[::1]:%s", port);
  return !strcmp(a, v4) || !strcmp(a, v6);
}

/* Host names: wt_cluster_resolve (numeric kept, a name resolved, bad
 * forms and unknown names refused with the reason) and static peers by
 * name (resolved at start, this node skipped by its resolved address). */
static void test_resolve(void) {
  char a[64], err[256];
  setenv("RES_OPTIONS", "timeout:1 attempts:1", 1); /* no slow DNS server in a test */
  CHECK_EQ(wt_cluster_resolve("10.1.2.3:4433", a, sizeof(a), err, sizeof(err)), 0);
  CHECK(!strcmp(a, "10.1.2.3:4433"));
  CHECK_EQ(wt_cluster_resolve("[::1]:7", a, sizeof(a), err, sizeof(err)), 0);
  CHECK(!strcmp(a, "[::1]:7"));
  CHECK_EQ(wt_cluster_resolve("localhost:4433", a, sizeof(a), err, sizeof(err)), 0);
  CHECK(is_localhost(a, "4433"));
  static const char *const bad[] = {"localhost", "localhost:", ":4433", "localhost:44x",
                                    "localhost:123456"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    err[0] = '\0';
    CHECK_EQ(wt_cluster_resolve(bad[i], a, sizeof(a), err, sizeof(err)), -1);
    CHECK(strstr(err, "not HOST:PORT") != NULL);
  }
  CHECK_EQ(wt_cluster_resolve("no-such-node.invalid:1", a, sizeof(a), err, sizeof(err)), -1);
  CHECK(strstr(err, "'no-such-node.invalid' does not resolve") != NULL);

  wt_peers *p = NULL;
  const char *const peers[] = {"localhost:4433", "localhost:5000", "10.0.0.9:4433"};
  CHECK_EQ(wt_peers_new(&p, peers, 3, "localhost:4433", err, sizeof(err)), 0); /* self by name */
  CHECK_FATAL(p != NULL);
  CHECK_EQ(wt_peers_count(p), 2); /* this node skipped */
  const wt_app_locator *loc = wt_peers_locator(p);
  char addr[64];
  CHECK_EQ(loc->lookup(loc->arg, "relay", "x", 0, addr, sizeof(addr)), 1);
  CHECK(is_localhost(addr, "5000"));
  CHECK_EQ(loc->lookup(loc->arg, "relay", "x", 1, addr, sizeof(addr)), 1);
  CHECK(!strcmp(addr, "10.0.0.9:4433"));
  CHECK_EQ(loc->lookup(loc->arg, "relay", "x", 2, addr, sizeof(addr)), 0);
  wt_peers_del(p);
  const char *const nope[] = {"no-such-node.invalid:4433"};
  p = NULL;
  CHECK_EQ(wt_peers_new(&p, nope, 1, NULL, err, sizeof(err)), WT_ERR_INVAL);
  CHECK(strstr(err, "does not resolve") != NULL);
  CHECK(p == NULL);
}

int main(void) {
  WT_RUN(test_url);
  WT_RUN(test_tokens_and_keys);
  WT_RUN(test_notices);
  WT_RUN(test_values);
  WT_RUN(test_map);
  WT_RUN(test_map_many);
  WT_RUN(test_client_unstarted);
  WT_RUN(test_stale);
  WT_RUN(test_client_auth);
  WT_RUN(test_resolve);
  WT_DONE();
}
