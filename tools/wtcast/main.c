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
#include "wt_error.h"
#include "wt_http.h"
#include "wt_io.h"
#include "wt_log.h"
#include "wt_metrics.h"
#include "wt_runtime.h"
#include "wt_shard.h"
#include "wt_stats.h"
#include "wt_web_assets.h"

#include "config.h"
#include "wt_rotate.h"

#define MS_NS 1000000ull

static const char usage_text[] =
    "usage: wtcast --listen ADDR:PORT --cert FILE --key FILE [options]\n"
    "\n"
    "WebTransport (HTTP/3) server. Applications: /echo, /source?bytes=N, /sink.\n"
    "\n"
    "  --listen ADDR:PORT     UDP address to serve: 127.0.0.1:4433, [::]:4433, 0.0.0.0:0 ...\n"
    "                         (port 0 picks a free port; the real one is printed)\n"
    "  --cert FILE            PEM certificate chain\n"
    "  --key FILE             PEM private key\n"
    "  --origin LIST          comma-separated allowed Origins, e.g.\n"
    "                         https://a.example,http://127.0.0.1:8080 (default: any)\n"
    "  --max-sessions N       WebTransport sessions per connection (default 16)\n"
    "  --max-conns N          QUIC connections at most (default 100000)\n"
    "  --max-conns-per-ip N   connections per source address (IPv4 address, IPv6 /64)\n"
    "                         per shard (default 64; more get CONNECTION_REFUSED)\n"
    "  --handshake-timeout MS drop a connection whose handshake is not done after MS\n"
    "                         milliseconds (default 10000)\n"
    "  --idle-timeout MS      close idle connections after MS milliseconds (default 30000)\n"
    "  --drain-timeout MS     on SIGINT/SIGTERM, wait up to MS milliseconds for clients\n"
    "                         to leave before closing (default 5000; a second signal\n"
    "                         closes at once)\n"
    "  --log-level L          error, warn, info, debug or trace (default info)\n"
    "  --io BACKEND           UDP datapath: auto (io_uring if usable, else portable;\n"
    "                         default), uring (fail if unavailable) or portable\n"
    "  --workers N            shards (threads pinned to CPUs, one socket each in one\n"
    "                         SO_REUSEPORT group), 1..64 (default: online CPUs)\n"
    "  --steering on|off      steer datagrams to their shard by Connection ID with a\n"
    "                         reuseport BPF program (default on; off: the kernel hashes\n"
    "                         by address and the shards forward to each other)\n"
    "  --key-file FILE        secret shared by every shard (and by other processes or\n"
    "                         nodes using the same file) for stateless reset tokens:\n"
    "                         64 hex digits, or at least 32 bytes (the first 32 are\n"
    "                         used); default: random per process\n"
    "  --retry MODE           auto, always or never (default auto)\n"
    "  --tls-ciphers LIST     TLS 1.3 suites to offer, in order, joined by ':' from\n"
    "                         TLS13-AES128-GCM-SHA256, TLS13-AES256-GCM-SHA384 and\n"
    "                         TLS13-CHACHA20-POLY1305-SHA256 (default: all three, that\n"
    "                         order; ChaCha20 only if its self-test passed)\n"
    "  --app-workers N        application worker threads, 1..64 (default: as many as\n"
    "                         shards); 'inline' runs the applications on the shard\n"
    "                         threads instead (no thread hop: least latency and CPU\n"
    "                         for light apps; a slow app then delays its shard)\n"
    "  --spin-us N            after handing work to a worker, a shard polls for the\n"
    "                         answer up to N microseconds before sleeping, 0..1000\n"
    "                         (default 0: sleep at once)\n"
    "  --http ADDR:PORT       also serve the relay demo page over plain HTTP (TCP) on\n"
    "                         ADDR:PORT, e.g. 127.0.0.1:8080 (default off): / is the page,\n"
    "                         /config.json its WebTransport URL and certificate hash.\n"
    "                         Browsers treat http://127.0.0.1 and http://localhost as\n"
    "                         secure contexts; other hosts need HTTPS in front\n"
    "  --config FILE          read options from FILE (INI, see wtcast.conf.example);\n"
    "                         the command line overrides it\n"
    "  --check-config FILE    validate FILE, print every error as FILE:LINE: reason,\n"
    "                         exit 0 (valid) or 1\n"
    "  --cert-rotate SECONDS  serverCertificateHashes: replace the certificate with a new\n"
    "                         self-signed one every SECONDS (1..518400); the next one waits\n"
    "                         in CERT.next/KEY.next and --http's /cert-hashes.json\n"
    "                         publishes both hashes (default off)\n"
    "  --metrics ADDR:PORT    serve Prometheus metrics over HTTP at /metrics (default off)\n"
    "  --log-format F         text (default) or json (one JSON object per line)\n"
    "  --qlog-dir DIR         write a qlog (JSON-SEQ, .sqlog) per sampled connection\n"
    "                         into DIR (default off; debugging)\n"
    "  --qlog-sample N        qlog 1 in N connections (default 1: all)\n"
    "  --keylog-file FILE     append TLS secrets (SSLKEYLOGFILE format) to FILE: anyone\n"
    "                         holding it can decrypt the traffic (debugging only; logs a\n"
    "                         warning)\n"
    "  --rx-slice-us N        once handshake packets have been handled for N\n"
    "                         microseconds in a loop turn, a shard sends the replies\n"
    "                         before receiving more, 1..1000000 (default 250; 0 = never:\n"
    "                         a burst of new connections then waits for the whole\n"
    "                         batch's TLS work)\n"
    "  --stream-send-window BYTES\n"
    "                         bytes an application stream may have written and not yet\n"
    "                         acknowledged, at first (default 1048576) ...\n"
    "  --stream-send-window-max BYTES\n"
    "                         ... and at most: a stream's window grows to twice its\n"
    "                         connection's congestion window up to this (default\n"
    "                         8388608; not above --stream-send-window: no growth).\n"
    "                         One stream's rate is at most window / RTT\n"
    "  --source-max-bytes N, --echo-max-pending N, --relay-lag-max N, --relay-group-max N,\n"
    "  --relay-max-channels N, --relay-max-subscribers N\n"
    "                         application limits (defaults in wtcast.conf.example)\n"
    "  --help                 this text\n"
    "\n"
    "Prints \"listening on ADDR:PORT\" on stdout once ready (and tells systemd through\n"
    "$NOTIFY_SOCKET). SIGUSR1 prints one JSON line of counters on stdout. SIGHUP reloads\n"
    "the certificate and key (new connections use them; live ones are kept).\n";

typedef struct opts {
  wt_shard_config cfg;
  wt_apps_config apps; /* the built-in apps (apps/wt_apps.h) */
  uint32_t workers;
  uint32_t app_workers;
  int inline_apps;                       /* --app-workers inline */
  uint32_t send_window, send_window_max; /* --stream-send-window(-max); 0 = defaults */
  const char *http_listen;
  const char *metrics_listen;
  uint32_t cert_rotate_s;
  int steering;
  const char *secret_file;
  uint8_t secret[WT_RUNTIME_SECRET_LEN];
  char **origins; /* owned */
  size_t n_origins;
  char **strs; /* values read from the config file (owned) */
  size_t n_strs, cap_strs;
} opts;

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

static int opt_err(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int opt_err(char *err, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, cap, fmt, ap);
  va_end(ap);
  return -1;
}

/* Decimal in [min, max], digits only: 0, or -1 with err set. */
static int parse_num(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out,
                     char *err, size_t cap) {
  uint64_t v = 0;
  if (!*s || strlen(s) > 20) {
    return opt_err(err, cap, "%s: '%s' is not a number", opt, s);
  }
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9' || v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10) {
      return opt_err(err, cap, "%s: '%s' is not a number", opt, s);
    }
    v = v * 10 + (uint64_t)(*p - '0');
  }
  if (v < min || v > max) {
    return opt_err(err, cap, "%s: must be in %llu..%llu", opt, (unsigned long long)min,
                   (unsigned long long)max);
  }
  *out = v;
  return 0;
}

static void free_origins(opts *o) {
  for (size_t i = 0; i < o->n_origins; i++) {
    free(o->origins[i]);
  }
  free(o->origins);
  o->origins = NULL;
  o->n_origins = 0;
}

static int parse_origins(opts *o, const char *list, char *err, size_t cap) {
  free_origins(o);
  size_t n = 1;
  for (const char *p = list; *p; p++) {
    n += *p == ',';
  }
  o->origins = calloc(n, sizeof(char *));
  if (!o->origins) {
    fprintf(stderr, "wtcast: out of memory\n");
    exit(1);
  }
  const char *p = list;
  for (;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (len == 0 || memchr(p, ' ', len)) {
      free_origins(o);
      return opt_err(err, cap, "--origin: '%s' is not a comma-separated list of origins", list);
    }
    o->origins[o->n_origins] = strndup(p, len);
    if (!o->origins[o->n_origins]) {
      fprintf(stderr, "wtcast: out of memory\n");
      exit(1);
    }
    o->n_origins++;
    if (!comma) {
      break;
    }
    p = comma + 1;
  }
  o->cfg.origins = (const char *const *)o->origins;
  o->cfg.n_origins = o->n_origins;
  return 0;
}

static const char *const known_opts[] = {
    "--listen",
    "--cert",
    "--key",
    "--origin",
    "--max-sessions",
    "--max-conns",
    "--idle-timeout",
    "--drain-timeout",
    "--log-level",
    "--io",
    "--workers",
    "--steering",
    "--key-file",
    "--retry",
    "--tls-ciphers",
    "--app-workers",
    "--spin-us",
    "--rx-slice-us",
    "--stream-send-window",
    "--stream-send-window-max",
    "--http",
    "--config",
    "--check-config",
    "--metrics",
    "--log-format",
    "--qlog-dir",
    "--qlog-sample",
    "--keylog-file",
    "--source-max-bytes",
    "--echo-max-pending",
    "--relay-lag-max",
    "--relay-group-max",
    "--relay-max-channels",
    "--relay-max-subscribers",
    "--max-conns-per-ip",
    "--handshake-timeout",
    "--cert-rotate",
};

static int is_known_opt(const char *name) {
  for (size_t i = 0; i < sizeof(known_opts) / sizeof(known_opts[0]); i++) {
    if (!strcmp(name, known_opts[i])) {
      return 1;
    }
  }
  return 0;
}

#define NUM(lo, hi)                                                                                \
  do {                                                                                             \
    if (parse_num(name, val, (lo), (hi), &num, err, cap) < 0) {                                    \
      return -1;                                                                                   \
    }                                                                                              \
  } while (0)

/* --tls-ciphers: a non-empty ':'-separated list of TLS 1.3 suite names
 * (wolfSSL's), so a typo is refused here rather than by every shard's TLS
 * set-up. Returns 0, or -1 with a reason in err. */
static int check_ciphers(const char *val, char *err, size_t cap) {
  static const char *const known[] = {"TLS13-AES128-GCM-SHA256", "TLS13-AES256-GCM-SHA384",
                                      "TLS13-CHACHA20-POLY1305-SHA256"};
  const char *p = val;
  do {
    size_t n = strcspn(p, ":");
    int ok = 0;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
      ok |= n == strlen(known[i]) && !strncmp(p, known[i], n);
    }
    if (!ok) {
      return opt_err(err, cap,
                     "--tls-ciphers: '%.*s' is not one of TLS13-AES128-GCM-SHA256, "
                     "TLS13-AES256-GCM-SHA384, TLS13-CHACHA20-POLY1305-SHA256",
                     (int)(n < 64 ? n : 64), p);
    }
    p += n;
  } while (*p++ == ':');
  return 0;
}

/* Apply one option and its value: 1, 0 if the option is unknown, -1 with a
 * reason in err. val must outlive the process's use of it. */
static int parse_opt(opts *o, const char *name, const char *val, char *err, size_t cap) {
  wt_shard_config *c = &o->cfg;
  uint64_t num = 0;
  if (!strcmp(name, "--listen")) {
    wt_io_addr a;
    if (wt_io_addr_parse(val, &a) < 0) {
      return opt_err(err, cap, "--listen: '%s' is not ADDR:PORT (e.g. 127.0.0.1:4433 or [::]:4433)",
                     val);
    }
    c->listen = val;
  } else if (!strcmp(name, "--cert")) {
    c->cert_file = val;
  } else if (!strcmp(name, "--key")) {
    c->key_file = val;
  } else if (!strcmp(name, "--origin")) {
    return parse_origins(o, val, err, cap) < 0 ? -1 : 1;
  } else if (!strcmp(name, "--max-sessions")) {
    NUM(1, 65535);
    c->max_sessions_per_conn = (uint32_t)num;
  } else if (!strcmp(name, "--max-conns")) {
    NUM(1, 10000000);
    c->max_conns = (uint32_t)num;
  } else if (!strcmp(name, "--max-conns-per-ip")) {
    NUM(1, 10000000);
    c->max_conns_per_ip = (uint32_t)num;
  } else if (!strcmp(name, "--handshake-timeout")) {
    NUM(100, 600000);
    c->handshake_timeout_ns = num * MS_NS;
  } else if (!strcmp(name, "--idle-timeout")) {
    NUM(1, 86400000);
    c->idle_timeout_ns = num * MS_NS;
  } else if (!strcmp(name, "--drain-timeout")) {
    NUM(0, 3600000);
    c->drain_timeout_ns = num * MS_NS;
  } else if (!strcmp(name, "--io")) {
    if (!strcmp(val, "auto")) {
      c->io_backend = WT_IO_BACKEND_AUTO;
    } else if (!strcmp(val, "uring")) {
      c->io_backend = WT_IO_BACKEND_URING;
    } else if (!strcmp(val, "portable")) {
      c->io_backend = WT_IO_BACKEND_PORTABLE;
    } else {
      return opt_err(err, cap, "--io: '%s' is not one of auto, uring, portable", val);
    }
  } else if (!strcmp(name, "--workers")) {
    NUM(1, WT_RUNTIME_MAX_SHARDS);
    o->workers = (uint32_t)num;
  } else if (!strcmp(name, "--steering")) {
    if (strcmp(val, "on") && strcmp(val, "off")) {
      return opt_err(err, cap, "--steering: '%s' is not on or off", val);
    }
    o->steering = !strcmp(val, "on");
  } else if (!strcmp(name, "--app-workers")) {
    if (!strcmp(val, "inline")) {
      o->inline_apps = 1;
      return 1;
    }
    NUM(0, WT_RUNTIME_MAX_APP_WORKERS);
    o->app_workers = (uint32_t)num;
    o->inline_apps = 0;
  } else if (!strcmp(name, "--stream-send-window") || !strcmp(name, "--stream-send-window-max")) {
    NUM(16384, (uint64_t)1 << 30); /* at least one worker buffer (WT_APP_BUF_SIZE) */
    if (!strcmp(name, "--stream-send-window")) {
      o->send_window = (uint32_t)num;
    } else {
      o->send_window_max = (uint32_t)num;
    }
  } else if (!strcmp(name, "--spin-us")) {
    NUM(0, 1000);
    c->spin_ns = num * 1000;
  } else if (!strcmp(name, "--rx-slice-us")) {
    NUM(0, 1000000);
    c->rx_slice_ns = num ? num * 1000 : UINT64_MAX;
  } else if (!strcmp(name, "--http") || !strcmp(name, "--metrics")) {
    wt_io_addr a;
    if (wt_io_addr_parse(val, &a) < 0) {
      return opt_err(err, cap, "%s: '%s' is not ADDR:PORT (e.g. 127.0.0.1:8080)", name, val);
    }
    if (name[2] == 'h') {
      o->http_listen = val;
    } else {
      o->metrics_listen = val;
    }
  } else if (!strcmp(name, "--key-file")) {
    o->secret_file = val;
  } else if (!strcmp(name, "--tls-ciphers")) {
    if (check_ciphers(val, err, cap) < 0) {
      return -1;
    }
    c->tls_ciphers = val;
  } else if (!strcmp(name, "--retry")) {
    if (!strcmp(val, "auto")) {
      c->retry_mode = WT_RETRY_AUTO;
    } else if (!strcmp(val, "always")) {
      c->retry_mode = WT_RETRY_ALWAYS;
    } else if (!strcmp(val, "never")) {
      c->retry_mode = WT_RETRY_NEVER;
    } else {
      return opt_err(err, cap, "--retry: '%s' is not one of auto, always, never", val);
    }
  } else if (!strcmp(name, "--log-level")) {
    int lvl = wt_log_level_parse(val);
    if (lvl < 0) {
      return opt_err(err, cap, "--log-level: '%s' is not one of error, warn, info, debug, trace",
                     val);
    }
    wt_log_set_level(lvl);
  } else if (!strcmp(name, "--log-format")) {
    if (strcmp(val, "text") && strcmp(val, "json")) {
      return opt_err(err, cap, "--log-format: '%s' is not text or json", val);
    }
    wt_log_set_format(!strcmp(val, "json") ? WT_LOG_FORMAT_JSON : WT_LOG_FORMAT_TEXT);
  } else if (!strcmp(name, "--qlog-dir")) {
    if (!*val) {
      return opt_err(err, cap, "--qlog-dir: empty directory name");
    }
    c->qlog_dir = val;
  } else if (!strcmp(name, "--qlog-sample")) {
    NUM(1, 1000000000);
    c->qlog_sample = (uint32_t)num;
  } else if (!strcmp(name, "--keylog-file")) {
    if (!*val) {
      return opt_err(err, cap, "--keylog-file: empty file name");
    }
    c->keylog_file = val;
  } else if (!strcmp(name, "--source-max-bytes")) {
    NUM(1, UINT64_MAX / 2);
    o->apps.source_max_bytes = num;
  } else if (!strcmp(name, "--echo-max-pending")) {
    NUM(1024, (uint64_t)1 << 40);
    o->apps.echo_max_pending = (size_t)num;
  } else if (!strcmp(name, "--relay-lag-max")) {
    NUM(1024, (uint64_t)1 << 40);
    o->apps.relay_lag_max = num;
  } else if (!strcmp(name, "--relay-group-max")) {
    NUM(0, (uint64_t)1 << 40);
    o->apps.relay_group_max = num;
  } else if (!strcmp(name, "--relay-max-channels")) {
    NUM(1, 1000000);
    o->apps.relay_max_channels = (uint32_t)num;
  } else if (!strcmp(name, "--relay-max-subscribers")) {
    NUM(1, 10000000);
    o->apps.relay_max_subscribers = (uint32_t)num;
  } else if (!strcmp(name, "--cert-rotate")) {
    NUM(1, WT_ROTATE_MAX_S);
    o->cert_rotate_s = (uint32_t)num;
  } else if (!strcmp(name, "--config") || !strcmp(name, "--check-config")) {
    /* handled before the other options */
  } else {
    return 0;
  }
  return 1;
}

/* config.h's apply: the value is kept for the process's lifetime. */
static int config_apply(void *ctx, const char *flag, char *val, char *err, size_t cap) {
  opts *o = ctx;
  if (o->n_strs == o->cap_strs) {
    size_t n = o->cap_strs ? 2 * o->cap_strs : 32;
    char **p = realloc(o->strs, n * sizeof(*p));
    if (!p) {
      free(val);
      return opt_err(err, cap, "out of memory");
    }
    o->strs = p;
    o->cap_strs = n;
  }
  o->strs[o->n_strs++] = val;
  int r = parse_opt(o, flag, val, err, cap);
  if (r == 0) {
    return opt_err(err, cap, "no such option %s", flag);
  }
  return r < 0 ? -1 : 0;
}

static void config_diag(void *ctx, const char *file, int line, const char *msg) {
  if (line > 0) {
    fprintf(stderr, "%s:%d: %s\n", file, line, msg);
  } else {
    fprintf(stderr, "%s: %s\n", file, msg);
  }
}

static void free_opts(opts *o) {
  free_origins(o);
  for (size_t i = 0; i < o->n_strs; i++) {
    free(o->strs[i]);
  }
  free(o->strs);
  o->strs = NULL;
  o->n_strs = o->cap_strs = 0;
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

static void parse_args(opts *o, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      fputs(usage_text, stdout);
      exit(0);
    }
  }
  const char *check = find_arg(argc, argv, "--check-config");
  if (check) {
    opts scratch;
    memset(&scratch, 0, sizeof(scratch));
    wt_shard_config_default(&scratch.cfg);
    int lvl = wt_log_get_level();
    int errors = wtc_config_load(check, config_apply, &scratch, config_diag, NULL);
    wt_log_set_level(lvl);
    wt_log_set_format(WT_LOG_FORMAT_TEXT);
    free_opts(&scratch);
    if (errors) {
      fprintf(stderr, "%s: %d error(s)\n", check, errors);
      exit(1);
    }
    printf("%s: ok\n", check);
    exit(0);
  }
  const char *file = find_arg(argc, argv, "--config");
  if (file) {
    int errors = wtc_config_load(file, config_apply, o, config_diag, NULL);
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
      if (!is_known_opt(name)) {
        die_usage("unknown option '%s'", arg);
      }
      if (i + 1 >= argc) {
        die_usage("%s needs a value", arg);
      }
      val = argv[++i];
    }
    char err[256];
    int r = parse_opt(o, name, val, err, sizeof(err));
    if (r == 0) {
      die_usage("unknown option '%s'", name);
    } else if (r < 0) {
      die_usage("%s", err);
    }
  }
  if (!o->cfg.listen) {
    die_usage("--listen ADDR:PORT is required");
  }
  if (!o->cfg.cert_file) {
    die_usage("--cert FILE is required");
  }
  if (!o->cfg.key_file) {
    die_usage("--key FILE is required");
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
static void read_secret(opts *o) {
  FILE *f = fopen(o->secret_file, "rb");
  if (!f) {
    fprintf(stderr, "wtcast: cannot read key file '%s': %s\n", o->secret_file, strerror(errno));
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
      o->secret[i] = (uint8_t)(hexval(buf[a + 2 * i]) << 4 | hexval(buf[a + 2 * i + 1]));
    }
  } else if (n >= WT_RUNTIME_SECRET_LEN) {
    memcpy(o->secret, buf, WT_RUNTIME_SECRET_LEN);
  } else {
    fprintf(stderr, "wtcast: key file '%s' holds %zu bytes; at least %d are needed\n",
            o->secret_file, n, WT_RUNTIME_SECRET_LEN);
    exit(1);
  }
}

/* ------------------------------------------------------------------ --http */

/* What /config.json says. Written before the listener can serve it (port
 * is filled once the runtime bound it; 0 until then). */
static wt_rotate *g_rotate; /* --cert-rotate */

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
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "wtcast: cannot read certificate '%s': %s\n", path, strerror(errno));
    return -1;
  }
  static unsigned char pem[256 * 1024], der[256 * 1024];
  size_t n = fread(pem, 1, sizeof(pem) - 1, f);
  fclose(f);
  int len = wc_CertPemToDer(pem, (int)n, der, (int)sizeof(der), CERT_TYPE);
  unsigned char h[32];
  if (len <= 0 || wc_Sha256Hash(der, (word32)len, h) != 0) {
    fprintf(stderr, "wtcast: '%s' is not a PEM certificate (wolfSSL error %d)\n", path, len);
    return -1;
  }
  for (int i = 0; i < 32; i++) {
    snprintf(out + 2 * i, 3, "%02x", h[i]);
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

/* SIGHUP done (main thread): /config.json publishes the new hash. */
static void on_reload(void *arg, int ok) {
  demo_config *dc = arg;
  char hash[65];
  if (!dc->cert_file || cert_sha256_hex(dc->cert_file, hash) < 0) {
    return;
  }
  pthread_mutex_lock(&dc->mu);
  memcpy(dc->cert_hash, hash, sizeof(hash));
  pthread_mutex_unlock(&dc->mu);
  WT_LOG_INFO("certificate sha256 now %s%s", hash, ok ? "" : " (not every shard loaded it)");
}

/* --metrics: a second listener with /metrics only; exit 1 on failure. */
static wt_http *metrics_start(const char *listen, wt_metrics **m) {
  wt_http_config hc;
  wt_http_config_default(&hc);
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
static wt_http *http_start(const char *listen, demo_config *dc) {
  wt_http_config hc;
  wt_http_config_default(&hc);
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

static const char *const retry_names[] = {"auto", "always", "never"};

int main(int argc, char **argv) {
  opts o;
  memset(&o, 0, sizeof(o));
  wt_shard_config_default(&o.cfg);
  wt_apps_config_default(&o.apps);
  o.steering = 1;
  parse_args(&o, argc, argv);
  if (o.cert_rotate_s) {
    g_rotate = wt_rotate_new(o.cfg.cert_file, o.cfg.key_file, o.cert_rotate_s);
    if (!g_rotate) {
      free_opts(&o);
      return 1;
    }
  }
  check_readable("certificate", o.cfg.cert_file);
  check_readable("key", o.cfg.key_file);
  if (o.secret_file) {
    read_secret(&o);
  }
  signal(SIGPIPE, SIG_IGN); /* a closed stdout must not kill the server */

  /* The HTTP side starts first (its thread blocks every signal), so a port
   * it cannot bind fails before the shards start. */
  if (o.cfg.keylog_file) {
    WT_LOG_WARN("--keylog-file %s: TLS secrets of every connection are written there; anyone "
                "who reads it can decrypt the traffic. Debugging only",
                o.cfg.keylog_file);
  }
  if (o.cfg.qlog_dir) {
    if (mkdir(o.cfg.qlog_dir, 0750) != 0 && errno != EEXIST) {
      fprintf(stderr, "wtcast: --qlog-dir: cannot create '%s': %s\n", o.cfg.qlog_dir,
              strerror(errno));
      return 1;
    }
    if (access(o.cfg.qlog_dir, W_OK | X_OK) != 0) {
      fprintf(stderr, "wtcast: --qlog-dir: '%s' is not a writable directory: %s\n", o.cfg.qlog_dir,
              strerror(errno));
      return 1;
    }
    WT_LOG_WARN("qlog on: 1 in %u connection(s) traced into %s (debugging; costs CPU and disk)",
                o.cfg.qlog_sample > 1 ? o.cfg.qlog_sample : 1, o.cfg.qlog_dir);
  }
  static demo_config dc = {.mu = PTHREAD_MUTEX_INITIALIZER};
  dc.cert_file = o.cfg.cert_file;
  wt_http *http = NULL, *mhttp = NULL;
  wt_metrics *metrics = NULL;
  if (o.metrics_listen) {
    mhttp = metrics_start(o.metrics_listen, &metrics);
  }
  if (o.http_listen) {
    if (cert_sha256_hex(o.cfg.cert_file, dc.cert_hash) < 0) {
      return 1;
    }
    http = http_start(o.http_listen, &dc);
  }

  wt_apps_module *apps = NULL;
  if (wt_apps_module_new(&apps, &o.apps) < 0) {
    fprintf(stderr, "wtcast: out of memory\n");
    return 1;
  }
  const wt_app_module *mods[] = {wt_apps_module_get(apps)};
  wt_runtime_config rc;
  wt_runtime_config_default(&rc);
  rc.shard = o.cfg;
  rc.shard.modules = mods;
  rc.shard.n_modules = 1;
  rc.report = wt_stats_report;
  rc.shards = o.workers;
  rc.app_workers = o.app_workers;
  rc.inline_apps = o.inline_apps;
  rc.stream_send_window = o.send_window;
  rc.stream_send_window_max = o.send_window_max;
  rc.steering = o.steering;
  rc.secret = o.secret_file ? o.secret : NULL;
  rc.on_reload = http ? on_reload : NULL;
  rc.reload_arg = &dc;
  WT_LOG_INFO("retry mode %s; stateless reset and token secret %s", retry_names[o.cfg.retry_mode],
              o.secret_file ? "from the key file" : "random");
  wt_runtime *rt;
  char why[256];
  int rv = wt_runtime_new(&rt, &rc, why, sizeof(why));
  if (rv < 0) {
    fprintf(stderr, "wtcast: %s\n", why[0] ? why : wt_err_str(rv));
    wt_http_del(http);
    wt_http_del(mhttp);
    wt_metrics_del(metrics);
    wt_rotate_del(g_rotate);
    wt_apps_module_del(apps);
    free_opts(&o);
    return 1;
  }
  char addr[WT_IO_ADDR_STRLEN];
  const wt_io_addr *local = wt_runtime_local(rt);
  wt_io_addr_format(local, addr, sizeof(addr));
  printf("listening on %s\n", addr);
  if (http) {
    if (!is_wildcard(local)) {
      snprintf(dc.url, sizeof(dc.url), "https://%s", addr);
    }
    atomic_store(&dc.port, (uint32_t)ntohs(((const struct sockaddr_in *)&local->ss)->sin_port));
    char url[128];
    http_url(o.http_listen, wt_http_port(http), url, sizeof(url));
    printf("demo page on %s (relay channel 'demo', certificate sha256 %s)\n", url, dc.cert_hash);
    if (o.n_origins) {
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

  rv = wt_runtime_run(rt);
  if (metrics) {
    wt_metrics_attach(metrics, NULL);
  }
  wt_http_del(mhttp); /* waits for a scrape in progress */
  wt_metrics_del(metrics);
  wt_http_del(http); /* before the rotation state /cert-hashes.json reads */
  wt_rotate_del(g_rotate);
  g_rotate = NULL;
  wt_runtime_del(rt);
  wt_apps_module_del(apps);
  free_opts(&o);
  return rv < 0 ? 1 : 0;
}
