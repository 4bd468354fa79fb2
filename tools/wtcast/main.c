/* wtcast: the WebTransport server program: --workers shards (wt_runtime.h),
 * and with --http a small HTTP listener (wt_http.h) serving the relay demo
 * page (web/, embedded at build time) and /config.json (the WebTransport URL
 * and the certificate's SHA-256 for serverCertificateHashes).
 *
 * Exit status: 0 after a graceful shutdown (SIGINT/SIGTERM), 1 when the
 * server cannot start or its socket fails, 2 for a bad command line. */
#define WT_LOG_MODULE "wtcast"
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/hash.h>

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wt_apps.h"
#include "wt_auth.h"
#include "wt_authz.h"
#include "wt_certgen.h"
#include "wt_cluster.h"
#include "wt_config.h"
#include "wt_error.h"
#include "wt_http.h"
#include "wt_io.h"
#include "wt_log.h"
#include "wt_metrics.h"
#include "wt_options.h"
#include "wt_peers.h"
#include "wt_runtime.h"
#include "wt_shard.h"
#include "wt_stats.h"
#include "wt_web_assets.h"

#include "wt_rotate.h"

static const char usage_head[] =
    "usage: wtcast --listen ADDR:PORT --cert FILE --key FILE [options]\n"
    "\n"
    "WebTransport (HTTP/3) server. Applications: /echo, /source?bytes=N, /sink.\n"
    "\n";

static const char usage_tail[] =
    "\n"
    "Prints \"listening on ADDR:PORT\" on stdout once ready (and tells systemd through\n"
    "$NOTIFY_SOCKET). SIGUSR1 prints one JSON line of counters on stdout. SIGHUP reloads\n"
    "the certificate and key (new connections use them; live ones are kept) and the\n"
    "--auth-keys file (later requests are checked with the new keys).\n";

/* A bad command line: one line on stderr, exit 2. */
static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "wtcast: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, " (see wtcast --help)\n");
  va_end(ap);
  exit(2);
}

/* wt_config.h's apply: the option table does it. */
static int config_apply(void *ctx, const char *flag, const char *val, char *err, size_t cap) {
  return wt_options_set(ctx, flag, val, err, cap) < 0 ? -1 : 0;
}

static void config_diag(void *ctx, const char *file, int line, const char *msg) {
  if (line > 0) {
    fprintf(stderr, "%s:%d: %s\n", file, line, msg);
  } else {
    fprintf(stderr, "%s: %s\n", file, msg);
  }
}

/* The value of --config / --check-config in argv, or NULL. */
static const char *find_arg(int argc, char **argv, const char *opt) {
  size_t len = strlen(opt);
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], opt)) {
      if (i + 1 >= argc) {
        die_usage("%s needs a value", opt);
      }
      return argv[i + 1];
    }
    if (!strncmp(argv[i], opt, len) && argv[i][len] == '=') {
      return argv[i] + len + 1;
    }
  }
  return NULL;
}

/* Options that print and exit 0: --help, and the generated texts the
 * packaged files are made from (hidden; unit.config checks them). */
static void print_and_exit(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      fputs(usage_head, stdout);
      wt_options_print_help(stdout);
      fputs(usage_tail, stdout);
      exit(0);
    }
    if (!strcmp(arg, "--print-config-example")) {
      wt_options_print_config_example(stdout);
      exit(0);
    }
    if (!strcmp(arg, "--print-man-options")) {
      wt_options_print_man(stdout);
      exit(0);
    }
  }
}

/* --check-config FILE: every error as FILE:LINE: reason, exit 0 or 1. */
static void check_config(const char *file) {
  wt_options scratch;
  wt_options_init(&scratch);
  int errors = wt_config_load(file, config_apply, &scratch, config_diag, NULL);
  wt_options_free(&scratch);
  if (errors) {
    fprintf(stderr, "%s: %d error(s)\n", file, errors);
    exit(1);
  }
  printf("%s: ok\n", file);
  exit(0);
}

/* The configuration file, then the command line over it (exit 2 on a bad
 * one). */
static void parse_args(wt_options *o, int argc, char **argv) {
  print_and_exit(argc, argv);
  const char *check = find_arg(argc, argv, "--check-config");
  if (check) {
    check_config(check);
  }
  const char *file = find_arg(argc, argv, "--config");
  if (file) {
    int errors = wt_config_load(file, config_apply, o, config_diag, NULL);
    if (errors) {
      fprintf(stderr, "wtcast: %s: %d error(s) (check it with wtcast --check-config)\n", file,
              errors);
      exit(2);
    }
  }
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strncmp(arg, "--", 2) != 0) {
      die_usage("unexpected argument '%s'", arg);
    }
    char name[64];
    const char *val;
    const char *eq = strchr(arg, '=');
    if (eq) {
      size_t len = (size_t)(eq - arg);
      if (len >= sizeof(name)) {
        die_usage("unknown option '%s'", arg);
      }
      memcpy(name, arg, len);
      name[len] = '\0';
      val = eq + 1;
    } else {
      snprintf(name, sizeof(name), "%s", arg);
      if (!wt_options_find(name)) {
        die_usage("unknown option '%s'", arg);
      }
      if (i + 1 >= argc) {
        die_usage("%s needs a value", arg);
      }
      val = argv[++i];
    }
    char err[256];
    int r = wt_options_set(o, name, val, err, sizeof(err));
    if (r == 0) {
      die_usage("unknown option '%s'", name);
    } else if (r < 0) {
      die_usage("%s", err);
    }
  }
  const wt_option *missing = wt_options_missing(o);
  if (missing) {
    die_usage("%s %s is required", missing->name, missing->arg);
  }
}

/* A clear message for a missing or unreadable file (exit 1). */
static void check_readable(const char *what, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "wtcast: cannot read %s '%s': %s\n", what, path, strerror(errno));
    exit(1);
  }
  fclose(f);
}

static int hexval(int ch) {
  if (ch >= '0' && ch <= '9') {
    return ch - '0';
  }
  if (ch >= 'a' && ch <= 'f') {
    return ch - 'a' + 10;
  }
  if (ch >= 'A' && ch <= 'F') {
    return ch - 'A' + 10;
  }
  return -1;
}

/* --key-file: 64 hex digits (whitespace around them ignored), else the
 * first 32 of at least 32 raw bytes. Exit 1 with a message otherwise. */
static void read_secret(const char *file, uint8_t secret[WT_RUNTIME_SECRET_LEN]) {
  FILE *f = fopen(file, "rb");
  if (!f) {
    fprintf(stderr, "wtcast: cannot read key file '%s': %s\n", file, strerror(errno));
    exit(1);
  }
  uint8_t buf[4096];
  size_t n = fread(buf, 1, sizeof(buf), f);
  fclose(f);
  size_t a = 0, b = n;
  while (a < b && (buf[a] == ' ' || buf[a] == '\n' || buf[a] == '\r' || buf[a] == '\t')) {
    a++;
  }
  while (b > a &&
         (buf[b - 1] == ' ' || buf[b - 1] == '\n' || buf[b - 1] == '\r' || buf[b - 1] == '\t')) {
    b--;
  }
  int hex = b - a == 2 * WT_RUNTIME_SECRET_LEN;
  for (size_t i = a; hex && i < b; i++) {
    hex = hexval(buf[i]) >= 0;
  }
  if (hex) {
    for (size_t i = 0; i < WT_RUNTIME_SECRET_LEN; i++) {
      secret[i] = (uint8_t)(hexval(buf[a + 2 * i]) << 4 | hexval(buf[a + 2 * i + 1]));
    }
  } else if (n >= WT_RUNTIME_SECRET_LEN) {
    memcpy(secret, buf, WT_RUNTIME_SECRET_LEN);
  } else {
    fprintf(stderr, "wtcast: key file '%s' holds %zu bytes; at least %d are needed\n", file, n,
            WT_RUNTIME_SECRET_LEN);
    exit(1);
  }
}

/* ------------------------------------------------------------------ --http */

/* What /config.json says. Written before the listener can serve it (port
 * is filled once the runtime bound it; 0 until then). */
static wt_rotate *g_rotate; /* --cert-rotate */
static char g_rotate_cert[1100], g_rotate_key[1100];

/* --cert-rotate-dir, else the state directory systemd grants
 * (StateDirectory=: $STATE_DIRECTORY, its first entry), else the
 * directory of --cert (a development set-up). */
static void rotate_dir(const wt_options *o, char *buf, size_t cap) {
  const char *state = getenv("STATE_DIRECTORY");
  if (o->cert_rotate_dir) {
    snprintf(buf, cap, "%s", o->cert_rotate_dir);
  } else if (state && *state) {
    snprintf(buf, cap, "%.*s", (int)strcspn(state, ":"), state);
  } else {
    const char *slash = strrchr(o->rt.shard.cert_file, '/');
    if (!slash) {
      snprintf(buf, cap, ".");
    } else if (slash == o->rt.shard.cert_file) {
      snprintf(buf, cap, "/");
    } else {
      snprintf(buf, cap, "%.*s", (int)(slash - o->rt.shard.cert_file), o->rt.shard.cert_file);
    }
  }
}

/* /cert-hashes.json: the certificate in use and the next one. */
static int cert_hashes_json(void *arg, const char *path, const char *query, wt_http_reply *out) {
  char cur[65], next[65];
  int64_t at;
  wt_rotate_hashes(arg, cur, next, &at);
  out->content_type = "application/json";
  return wt_http_reply_printf(out,
                              "{\"current\":\"%s\",\"next\":\"%s\",\"next_rotation_unix\":%lld,"
                              "\"hashes\":[\"%s\"%s%s%s]}\n",
                              cur, next, (long long)at, cur, next[0] ? ",\"" : "", next,
                              next[0] ? "\"" : "");
}

typedef struct demo_config {
  pthread_mutex_t mu;    /* cert_hash changes on SIGHUP */
  char cert_hash[65];    /* hex SHA-256 of the certificate (DER) */
  const char *cert_file; /* to hash again on SIGHUP */
  char url[96];          /* "https://ADDR:PORT", or "" for a wildcard address */
  _Atomic uint32_t port; /* the WebTransport (UDP) port */
} demo_config;

/* SHA-256 of the first certificate of the PEM file, as lowercase hex (what
 * serverCertificateHashes wants). 0, or -1 with a message on stderr. */
static int cert_sha256_hex(const char *path, char out[65]) {
  uint8_t h[32];
  char err[PATH_MAX + 64];
  if (wt_certgen_pem_sha256(path, h, out, err, sizeof(err)) < 0) {
    fprintf(stderr, "wtcast: %s\n", err);
    return -1;
  }
  return 0;
}

static int is_wildcard(const wt_io_addr *a) {
  if (a->ss.ss_family == AF_INET) {
    return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
  }
  return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
}

static int config_json(void *arg, const char *path, const char *query, wt_http_reply *out) {
  const demo_config *dc = arg;
  uint32_t port = atomic_load(&dc->port);
  if (!port) {
    out->status = 503; /* the WebTransport side is not up yet */
    return wt_http_reply_printf(out, "starting\n");
  }
  char hash[65];
  pthread_mutex_lock((pthread_mutex_t *)&dc->mu);
  memcpy(hash, dc->cert_hash, sizeof(hash));
  pthread_mutex_unlock((pthread_mutex_t *)&dc->mu);
  out->content_type = "application/json";
  return wt_http_reply_printf(out, "{\"url\":\"%s\",\"port\":%u,\"cert_hash\":\"%s\"}\n", dc->url,
                              (unsigned)port, hash);
}

/* /certificate.sha256: the SHA-256 of the served certificate (DER) as 64
 * lowercase hex digits and nothing else, which the @moq/net client fetches
 * for an http:// URL in development and pins (its hex decoder refuses an
 * odd length: no newline). A reload (SIGHUP, or the one --cert-rotate
 * sends at each switch) updates it; any origin may read it. */
static int certificate_sha256(void *arg, const char *path, const char *query, wt_http_reply *out) {
  const demo_config *dc = arg;
  char hash[65];
  pthread_mutex_lock((pthread_mutex_t *)&dc->mu);
  memcpy(hash, dc->cert_hash, sizeof(hash));
  pthread_mutex_unlock((pthread_mutex_t *)&dc->mu);
  out->content_type = "text/plain";
  out->any_origin = 1;
  return wt_http_reply_append(out, hash, strlen(hash));
}

/* What SIGHUP reloads besides the certificate. */
typedef struct reload_ctx {
  demo_config *dc; /* --http: NULL when off */
  wt_auth *auth;   /* --auth-keys: NULL when off */
} reload_ctx;

/* SIGHUP done (main thread): the --auth-keys file is read again (a bad
 * one keeps the keys in use: wt_auth_reload logs why), and /config.json
 * publishes the new hash. */
static void on_reload(void *arg, int ok) {
  reload_ctx *rc = arg;
  if (rc->auth) {
    char err[512];
    wt_auth_reload(rc->auth, err, sizeof(err));
  }
  demo_config *dc = rc->dc;
  char hash[65];
  if (!dc || !dc->cert_file || cert_sha256_hex(dc->cert_file, hash) < 0) {
    return;
  }
  pthread_mutex_lock(&dc->mu);
  memcpy(dc->cert_hash, hash, sizeof(hash));
  pthread_mutex_unlock(&dc->mu);
  WT_LOG_INFO("certificate sha256 now %s%s", hash, ok ? "" : " (not every shard loaded it)");
}

/* --metrics: a second listener with /metrics only; exit 1 on failure. */
static wt_http *metrics_start(const wt_http_config *base, const char *listen, wt_metrics **m) {
  wt_http_config hc = *base;
  hc.thread_name = "wt-metrics";
  hc.listen = listen;
  hc.max_reply_bytes = 16u << 20;
  wt_http *h;
  char why[256];
  int rv = wt_http_new(&h, &hc, why, sizeof(why));
  if (rv < 0) {
    fprintf(stderr, "wtcast: --metrics: %s\n", why[0] ? why : wt_err_str(rv));
    exit(1);
  }
  rv = wt_metrics_new(m, h);
  if (rv < 0) {
    fprintf(stderr, "wtcast: --metrics: %s\n", wt_err_str(rv));
    wt_http_del(h);
    exit(1);
  }
  return h;
}

/* Start the HTTP listener with the embedded page and /config.json; exit 1
 * on failure. */
static wt_http *http_start(const wt_http_config *base, const char *listen, demo_config *dc) {
  wt_http_config hc = *base;
  hc.listen = listen;
  wt_http *h;
  char why[256];
  int rv = wt_http_new(&h, &hc, why, sizeof(why));
  if (rv < 0) {
    fprintf(stderr, "wtcast: --http: %s\n", why[0] ? why : wt_err_str(rv));
    exit(1);
  }
  for (size_t i = 0; i < wt_web_assets_n && rv == 0; i++) {
    const wt_web_asset *a = &wt_web_assets[i];
    rv = wt_http_static(h, a->path, a->content_type, a->data, a->len);
  }
  if (rv == 0) {
    rv = wt_http_route(h, "/config.json", config_json, dc);
  }
  if (rv == 0) {
    rv = wt_http_route(h, "/certificate.sha256", certificate_sha256, dc);
  }
  if (rv == 0 && g_rotate) {
    rv = wt_http_route(h, "/cert-hashes.json", cert_hashes_json, g_rotate);
  }
  if (rv < 0) {
    fprintf(stderr, "wtcast: --http: cannot add the demo routes: %s\n", wt_err_str(rv));
    wt_http_del(h);
    exit(1);
  }
  return h;
}

/* The page's URL: the listen address with the real port. */
static void http_url(const char *listen, uint16_t port, char *buf, size_t cap) {
  wt_io_addr a;
  wt_io_addr_parse(listen, &a);
  if (a.ss.ss_family == AF_INET) {
    ((struct sockaddr_in *)&a.ss)->sin_port = htons(port);
  } else {
    ((struct sockaddr_in6 *)&a.ss)->sin6_port = htons(port);
  }
  char s[WT_IO_ADDR_STRLEN];
  wt_io_addr_format(&a, s, sizeof(s));
  snprintf(buf, cap, "http://%s/", s);
}

/* [cluster] (docs/operations.md "Cluster"): the static peers become the
 * relay's locator, --cluster-pin the engines' client pin, --cluster-token
 * the token of upstream /subs. Returns 0, or -1 after printing why. */
static int cluster_setup(wt_options *o, wt_peers **peers) {
  static uint8_t pin[32];
  static char token[4096];
  if (o->cluster_pin) {
    for (size_t i = 0; i < 32; i++) {
      unsigned v = 0;
      if (sscanf(o->cluster_pin + 2 * i, "%2x", &v) != 1) {
        fprintf(stderr, "wtcast: --cluster-pin: not 64 hex digits\n");
        return -1;
      }
      pin[i] = (uint8_t)v;
    }
    o->rt.shard.engine.client_pin_sha256 = pin;
  }
  if (o->cluster_token) {
    FILE *f = fopen(o->cluster_token, "r");
    size_t n = f ? fread(token, 1, sizeof(token) - 1, f) : 0;
    if (f) {
      fclose(f);
    }
    token[n] = 0;
    token[strcspn(token, "\r\n")] = 0;
    if (!f || !token[0] ||
        strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                      "0123456789-_.") != strlen(token)) {
      fprintf(stderr, "wtcast: --cluster-token: %s: %s\n", o->cluster_token,
              !f ? strerror(errno) : "not one line of a JWT (base64url and dots)");
      return -1;
    }
    o->apps.relay_upstream_token = token;
  }
  if (o->n_cluster_peers == 0) {
    return 0;
  }
  if (o->cluster_url) {
    fprintf(stderr, "wtcast: --cluster-peers and --cluster: give one of them (static peers or a "
                    "registry)\n");
    return -1;
  }
  char err[256];
  if (wt_peers_new(peers, o->cluster_peers, o->n_cluster_peers,
                   o->advertise ? o->advertise : o->rt.shard.listen, err, sizeof(err)) < 0) {
    fprintf(stderr, "wtcast: --cluster-peers: %s\n", err);
    return -1;
  }
  o->apps.locator = wt_peers_locator(*peers);
  const wt_engine_config *ec = &o->rt.shard.engine;
  WT_LOG_INFO("cluster: static peers (%zu besides this node); upstream trust: %s; token: %s; "
              "hop limit %u",
              wt_peers_count(*peers),
              ec->client_pin_sha256 ? "pin"
              : ec->client_ca_file  ? "CA file"
              : ec->client_insecure ? "any certificate (insecure)"
                                    : "NONE (every upstream connect fails: --cluster-pin, "
                                      "--cluster-ca or --cluster-insecure)",
              o->apps.relay_upstream_token ? "yes" : "none", o->apps.relay_max_hops);
  return 0;
}

/* ------------------------------------------------------------------ --cluster */

/* The runtime the cluster's load figures come from (NULL outside
 * wt_runtime_run), under g_rt_mu: main clears it before wt_runtime_del
 * and so waits for a collection in progress (200 ms at most). */
static pthread_mutex_t g_rt_mu = PTHREAD_MUTEX_INITIALIZER;
static wt_runtime *g_rt;
static wt_relay_reg *g_relay_reg; /* the relay's channels (set with g_rt) */

static void add_subscribers(void *arg, const wt_relay_channel_stats *ch) {
  if (ch->live) {
    *(uint64_t *)arg += ch->subscribers;
  }
}

/* The node's load for its registry record (the cluster thread, once per
 * heartbeat): live sessions of the application workers, live connections
 * of the shards, subscribers of the live relay channels (local viewers and
 * downstream nodes' upstreams: the deliveries per published message). */
static void cluster_load(void *arg, uint64_t *sessions, uint64_t *conns, uint64_t *subscribers) {
  (void)arg;
  static wt_snapshot per[WT_RUNTIME_MAX_SHARDS];
  wt_snapshot apps;
  pthread_mutex_lock(&g_rt_mu);
  int n = g_rt ? wt_runtime_collect(g_rt, per, WT_RUNTIME_MAX_SHARDS, &apps, 200) : -1;
  if (g_rt && g_relay_reg) {
    wt_relay_stats_each(g_relay_reg, add_subscribers, subscribers);
  }
  pthread_mutex_unlock(&g_rt_mu);
  if (n < 0) {
    return;
  }
  *sessions = apps.app.sessions_live;
  for (int i = 0; i < n; i++) {
    *conns += per[i].engine.conns_active;
  }
}

/* --cluster: the client (not started: the advertised port is known once
 * the runtime is bound); exit 1 on a bad setting. */
static wt_cluster *cluster_make(const wt_options *o) {
  char host[WT_CLUSTER_ID_MAX + 1] = "";
  const char *id = o->node_id;
  if (!id) {
    if (gethostname(host, sizeof(host)) != 0 || !wt_cluster_id_ok(host)) {
      fprintf(stderr, "wtcast: --node-id is needed (the host name '%s' is not a usable id)\n",
              host);
      exit(1);
    }
    id = host;
  }
  wt_cluster_config cc = {.url = o->cluster_url,
                          .node_id = id,
                          .advertise = o->advertise,
                          .ttl_ms = o->cluster_ttl_ms,
                          .auth_file = o->cluster_auth_file,
                          .strict = o->cluster_strict,
                          .stale_max_ms = o->cluster_stale_max_ms,
                          .version = "0.1.0",
                          .load = cluster_load};
  wt_cluster *c;
  char err[512];
  if (wt_cluster_new(&c, &cc, err, sizeof(err)) < 0) {
    fprintf(stderr, "wtcast: %s\n", err);
    exit(1);
  }
  return c;
}

/* --advertise, else the listen address with the real port once the
 * runtime is bound: a wildcard one cannot be advertised (exit 1). The
 * advertised address may be a host name: the nodes that look it up
 * resolve it on their cluster thread (ops/wt_cluster.h). */
static void cluster_check_listen(const wt_options *o) {
  wt_io_addr a;
  if (!o->advertise && (wt_io_addr_parse(o->rt.shard.listen, &a) < 0 || is_wildcard(&a))) {
    fprintf(stderr,
            "wtcast: --cluster: --listen %s is a wildcard address: give --advertise "
            "HOST:PORT (where other nodes reach this one)\n",
            o->rt.shard.listen);
    exit(1);
  }
}

int main(int argc, char **argv) {
  wt_options o;
  wt_options_init(&o);
  parse_args(&o, argc, argv);
  wt_log_set_level(o.log_level);
  wt_log_set_format(o.log_format);
  /* test hook, not an operator setting (integration.relay_churn): fewer
   * retired relay channels kept, so their eviction comes sooner */
  const char *retired = getenv("WTCAST_TEST_RELAY_RETIRED_MAX");
  if (retired) {
    o.apps.relay_retired_max = (uint32_t)strtoul(retired, NULL, 10);
    WT_LOG_WARN("test hook: the relay keeps %u retired channels", o.apps.relay_retired_max);
  }
  if (o.cert_rotate_s) {
    char dir[1024];
    rotate_dir(&o, dir, sizeof(dir));
    g_rotate = wt_rotate_new(dir, o.rt.shard.cert_file, o.rt.shard.key_file, o.cert_rotate_s);
    if (!g_rotate) {
      wt_options_free(&o);
      return 1;
    }
    /* the shards serve (and reload) the rotation's current pair; the
     * copies outlive the runtime (wt_rotate_del comes first at exit) */
    snprintf(g_rotate_cert, sizeof(g_rotate_cert), "%s", wt_rotate_cert_file(g_rotate));
    snprintf(g_rotate_key, sizeof(g_rotate_key), "%s", wt_rotate_key_file(g_rotate));
    o.rt.shard.cert_file = g_rotate_cert;
    o.rt.shard.key_file = g_rotate_key;
    WT_LOG_INFO("cert rotation in %s: serving %s", dir, g_rotate_cert);
  }
  check_readable("certificate", o.rt.shard.cert_file);
  check_readable("key", o.rt.shard.key_file);
  uint8_t secret[WT_RUNTIME_SECRET_LEN];
  if (o.secret_file) {
    read_secret(o.secret_file, secret);
  }
  signal(SIGPIPE, SIG_IGN); /* a closed stdout must not kill the server */

  /* The HTTP side starts first (its thread blocks every signal), so a port
   * it cannot bind fails before the shards start. */
  if (o.rt.shard.keylog_file) {
    WT_LOG_WARN("--keylog-file %s: TLS secrets of every connection are written there; anyone "
                "who reads it can decrypt the traffic. Debugging only",
                o.rt.shard.keylog_file);
  }
  if (o.rt.shard.qlog_dir) {
    if (mkdir(o.rt.shard.qlog_dir, 0750) != 0 && errno != EEXIST) {
      fprintf(stderr, "wtcast: --qlog-dir: cannot create '%s': %s\n", o.rt.shard.qlog_dir,
              strerror(errno));
      wt_options_free(&o);
      return 1;
    }
    if (access(o.rt.shard.qlog_dir, W_OK | X_OK) != 0) {
      fprintf(stderr, "wtcast: --qlog-dir: '%s' is not a writable directory: %s\n",
              o.rt.shard.qlog_dir, strerror(errno));
      wt_options_free(&o);
      return 1;
    }
    WT_LOG_WARN("qlog on: 1 in %u connection(s) traced into %s (debugging; costs CPU and disk)",
                o.rt.shard.engine.qlog_sample > 1 ? o.rt.shard.engine.qlog_sample : 1,
                o.rt.shard.qlog_dir);
  }
  static demo_config dc = {.mu = PTHREAD_MUTEX_INITIALIZER};
  dc.cert_file = o.rt.shard.cert_file;
  wt_http *http = NULL, *mhttp = NULL;
  wt_metrics *metrics = NULL, *moq_json = NULL;
  if (o.metrics_listen) {
    mhttp = metrics_start(&o.http, o.metrics_listen, &metrics);
  }
  if (o.http_listen) {
    if (cert_sha256_hex(o.rt.shard.cert_file, dc.cert_hash) < 0) {
      wt_http_del(mhttp);
      wt_metrics_del(metrics);
      wt_rotate_del(g_rotate);
      wt_options_free(&o);
      return 1;
    }
    http = http_start(&o.http, o.http_listen, &dc);
    /* the live-video page's relay counters (web/live.html) */
    if (wt_metrics_new_json(&moq_json, http, "/moq.json", "moq_") < 0) {
      fprintf(stderr, "wtcast: --http: cannot add /moq.json\n");
      exit(1);
    }
  }

  /* --auth-keys: the keys must load now (exit 1 with the reason) */
  wt_auth *auth = NULL;
  static wt_authz authz;
  if (o.auth_keys) {
    char err[512];
    if (wt_auth_new(&auth, o.auth_keys, err, sizeof(err)) < 0) {
      fprintf(stderr, "wtcast: --auth-keys: %s\n", err);
      wt_http_del(http);
      wt_metrics_del(moq_json);
      wt_http_del(mhttp);
      wt_metrics_del(metrics);
      wt_rotate_del(g_rotate);
      wt_options_free(&o);
      return 1;
    }
    wt_authz_init(&authz, auth);
    o.apps.auth = &authz.authorizer;
    WT_LOG_INFO("authorization on: every route needs a token (%s)", o.auth_keys);
  } else {
    WT_LOG_INFO("authorization off: anyone may publish and subscribe on the relay "
                "(--auth-keys FILE turns it on)");
  }
  /* [cluster]: static peers, upstream trust and token (docs/operations.md
   * "Cluster"); a bad value stops the start (exit 1 with the reason) */
  wt_peers *peers = NULL;
  if (cluster_setup(&o, &peers) < 0) {
    wt_auth_del(auth);
    wt_http_del(http);
    wt_metrics_del(moq_json);
    wt_http_del(mhttp);
    wt_metrics_del(metrics);
    wt_rotate_del(g_rotate);
    wt_options_free(&o);
    return 1;
  }
  wt_cluster *cluster = NULL;
  if (o.cluster_url) {
    cluster_check_listen(&o);
    cluster = cluster_make(&o);
    o.apps.locator = wt_cluster_locator(cluster);
    if (http && wt_http_route(http, "/cluster", wt_cluster_http, cluster) < 0) {
      WT_LOG_WARN("--http: cannot add /cluster");
    }
  }
  wt_apps_module *apps = NULL;
  if (wt_apps_module_new(&apps, &o.apps) < 0) {
    fprintf(stderr, "wtcast: out of memory\n");
    wt_auth_del(auth);
    wt_http_del(http);
    wt_metrics_del(moq_json);
    wt_cluster_del(cluster); /* after /cluster's listener */
    wt_http_del(mhttp);
    wt_metrics_del(metrics);
    wt_rotate_del(g_rotate);
    wt_options_free(&o);
    return 1;
  }
  char enabled[32];
  wt_apps_names(o.apps.enabled, enabled, sizeof(enabled));
  WT_LOG_INFO("apps: %s (--apps; other paths answer 404)", enabled);
  const wt_app_module *mods[3] = {wt_apps_module_get(apps)};
  size_t n_mods = 1;
  if (auth) {
    mods[n_mods++] = &authz.module;
  }
  if (cluster) {
    mods[n_mods++] = wt_cluster_module(cluster);
  }
  static reload_ctx reload;
  reload.dc = http ? &dc : NULL;
  reload.auth = auth;
  wt_runtime_config rc = o.rt;
  rc.shard.modules = mods;
  rc.shard.n_modules = n_mods;
  rc.report = wt_stats_report;
  rc.secret = o.secret_file ? secret : NULL;
  rc.on_reload = http || auth ? on_reload : NULL;
  rc.reload_arg = &reload;
  WT_LOG_INFO("retry mode %s; stateless reset and token secret %s",
              wt_options_enum_name("--retry", o.rt.shard.engine.retry_mode),
              o.secret_file ? "from the key file" : "random");
  wt_runtime *rt;
  char why[256];
  int rv = wt_runtime_new(&rt, &rc, why, sizeof(why));
  if (rv < 0) {
    fprintf(stderr, "wtcast: %s\n", why[0] ? why : wt_err_str(rv));
    wt_http_del(http);
    wt_metrics_del(moq_json);
    wt_http_del(mhttp);
    wt_metrics_del(metrics);
    wt_rotate_del(g_rotate);
    wt_apps_module_del(apps);
    wt_peers_del(peers);
    wt_auth_del(auth);
    wt_cluster_del(cluster);
    wt_options_free(&o);
    return 1;
  }
  char addr[WT_IO_ADDR_STRLEN];
  const wt_io_addr *local = wt_runtime_local(rt);
  wt_io_addr_format(local, addr, sizeof(addr));
  printf("listening on %s\n", addr);
  int refused = 0;
  if (cluster) {
    char err[512];
    if (wt_cluster_start(cluster, o.advertise ? NULL : addr, err, sizeof(err)) < 0) {
      if (o.cluster_strict) {
        fprintf(stderr, "wtcast: --cluster: %s\n", err);
        refused = 1;
      } else {
        WT_LOG_ERROR("--cluster: %s: this node stays out of the cluster", err);
      }
    }
    pthread_mutex_lock(&g_rt_mu);
    g_rt = rt;
    g_relay_reg = wt_apps_module_relay_reg(apps);
    pthread_mutex_unlock(&g_rt_mu);
  }
  if (http) {
    if (!is_wildcard(local)) {
      snprintf(dc.url, sizeof(dc.url), "https://%s", addr);
    }
    atomic_store(&dc.port, (uint32_t)ntohs(((const struct sockaddr_in *)&local->ss)->sin_port));
    char url[128];
    http_url(o.http_listen, wt_http_port(http), url, sizeof(url));
    printf("demo page on %s (relay channel 'demo', certificate sha256 %s)\n", url, dc.cert_hash);
    wt_metrics_attach(moq_json, rt);
    if (o.rt.shard.engine.n_origins) {
      WT_LOG_WARN("--origin is set: the demo page's origin (%.*s) must be in the list",
                  (int)strlen(url) - 1, url);
    }
  }
  if (mhttp) {
    char url[128];
    http_url(o.metrics_listen, wt_http_port(mhttp), url, sizeof(url));
    printf("metrics on %smetrics\n", url);
    wt_metrics_attach(metrics, rt);
  }
  if (g_rotate && wt_rotate_start(g_rotate) < 0) {
    WT_LOG_ERROR("--cert-rotate: cannot start the rotation thread: certificates will not rotate");
  }
  fflush(stdout);

  rv = refused ? WT_ERR_IO : wt_runtime_run(rt);
  pthread_mutex_lock(&g_rt_mu);
  g_rt = NULL;
  pthread_mutex_unlock(&g_rt_mu);
  if (metrics) {
    wt_metrics_attach(metrics, NULL);
  }
  if (moq_json) {
    wt_metrics_attach(moq_json, NULL);
  }
  wt_http_del(mhttp); /* waits for a scrape in progress */
  wt_metrics_del(metrics);
  wt_http_del(http); /* before the rotation state /cert-hashes.json reads */
  wt_metrics_del(moq_json);
  wt_rotate_del(g_rotate);
  g_rotate = NULL;
  wt_runtime_del(rt);
  wt_cluster_del(cluster); /* leaves the cluster: after the last lookup, /cluster and the
                              load callback (http and the runtime are gone) */
  wt_apps_module_del(apps);
  wt_peers_del(peers);
  wt_auth_del(auth);
  wt_options_free(&o);
  return rv < 0 ? 1 : 0;
}
