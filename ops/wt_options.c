/* wt_options.c: the option table and what is made from it (wt_options.h). */
#include "wt_options.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "wt_cluster.h"
#include "wt_engine.h"
#include "wt_qlb.h"
#include "wt_io.h"
#include "wt_log.h"

#define MS_NS 1000000ull
#define US_NS 1000ull

/* The field of a row: offset and size in wt_options. */
#define AT(field) .off = offsetof(wt_options, field), .size = sizeof(((wt_options *)0)->field)

static int opt_err(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int opt_err(char *err, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, cap, fmt, ap);
  va_end(ap);
  return -1;
}

/* ------------------------------------------------------------ value checks */

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

/* --tls-ciphers: a non-empty ':'-separated list of TLS 1.3 suite names
 * (wolfSSL's), so a typo is refused here rather than by every shard's TLS
 * set-up. */
/* --wt-protocols: at most WT_APP_MAX_PROTOCOLS names of 1..64 printable
 * ASCII characters without space, ',', '"' or '\' (they become metric
 * labels and Structured Field Strings as they are). */
static int check_protocols(const char *val, char *err, size_t cap) {
  size_t n = 0;
  for (const char *p = val; *p;) {
    size_t len = strcspn(p, ",");
    for (size_t i = 0; i < len; i++) {
      if (p[i] <= 0x20 || p[i] >= 0x7f || p[i] == '"' || p[i] == '\\') {
        return opt_err(err, cap,
                       "--wt-protocols: '%s': protocol names are printable ASCII "
                       "without spaces, quotes or backslashes",
                       val);
      }
    }
    if (len == 0 || len > 64 || ++n > WT_APP_MAX_PROTOCOLS) {
      return opt_err(err, cap,
                     "--wt-protocols: '%s': at most %d names of 1 to 64 characters, "
                     "comma-separated",
                     val, WT_APP_MAX_PROTOCOLS);
    }
    p += len + (p[len] == ',');
  }
  return 0;
}

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

/* --cluster-peers: HOST:PORT items (names resolved at start, wt_peers.h). */
static int check_peers(const char *val, char *err, size_t cap) {
  for (const char *p = val; *p;) {
    size_t len = strcspn(p, ",");
    char item[WT_IO_ADDR_STRLEN + 1];
    wt_io_addr a;
    if (len == 0 || len >= sizeof(item)) {
      return opt_err(err, cap, "--cluster-peers: '%s': a comma-separated list of ADDR:PORT", val);
    }
    memcpy(item, p, len);
    item[len] = 0;
    const char *colon = strrchr(item, ':');
    if (wt_io_addr_parse(item, &a) < 0 &&
        (!colon || colon == item || !colon[1] ||
         strspn(colon + 1, "0123456789") != strlen(colon + 1) || strlen(colon + 1) > 5 ||
         !wt_cluster_token_ok(item, len, WT_CLUSTER_ADDR_MAX) || strchr(item, '[') ||
         strchr(item, ']'))) {
      return opt_err(err, cap, "--cluster-peers: '%s' is not HOST:PORT", item);
    }
    p += len + (p[len] == ',');
  }
  return 0;
}

/* --cluster-pin: 64 hex digits. */
static int check_pin(const char *val, char *err, size_t cap) {
  size_t n = strlen(val);
  for (size_t i = 0; i < n; i++) {
    char c = val[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      n = 0;
      break;
    }
  }
  return n == 64 ? 0 : opt_err(err, cap, "--cluster-pin: not 64 hex digits (a SHA-256)");
}

static int check_dir(const char *val, char *err, size_t cap) {
  return *val ? 0 : opt_err(err, cap, "--qlog-dir: empty directory name");
}

static int check_rotate_dir(const char *val, char *err, size_t cap) {
  return *val ? 0 : opt_err(err, cap, "--cert-rotate-dir: empty directory name");
}

static int check_file(const char *val, char *err, size_t cap) {
  return *val ? 0 : opt_err(err, cap, "--keylog-file: empty file name");
}

/* --cluster, --node-id, --advertise: the syntax wt_cluster_new accepts. */
static int check_cluster_url(const char *val, char *err, size_t cap) {
  wt_cluster_url u;
  char why[300];
  return wt_cluster_url_parse(val, &u, why, sizeof(why)) < 0
             ? opt_err(err, cap, "--cluster: %s", why)
             : 0;
}

static int check_nonempty(const char *val, char *err, size_t cap) {
  return *val ? 0 : opt_err(err, cap, "an empty file name");
}

static int check_node_id(const char *val, char *err, size_t cap) {
  return wt_cluster_id_ok(val) ? 0
                               : opt_err(err, cap, "--node-id: '%s': 1 to %d of A-Z a-z 0-9 . _ -",
                                         val, WT_CLUSTER_ID_MAX);
}

static int check_advertise(const char *val, char *err, size_t cap) {
  const char *colon = strrchr(val, ':');
  return colon && colon != val && colon[1] &&
                 wt_cluster_token_ok(val, strlen(val), WT_CLUSTER_ADDR_MAX)
             ? 0
             : opt_err(err, cap, "--advertise: '%s': HOST:PORT, at most %d bytes, no spaces", val,
                       WT_CLUSTER_ADDR_MAX);
}

/* --app-workers: N, or "inline" (the applications on the shard threads). */
static int parse_app_workers(wt_options *o, const wt_option *opt, const char *val, char *err,
                             size_t cap) {
  uint64_t n = 0;
  if (!strcmp(val, "inline")) {
    o->rt.inline_apps = 1;
    return 0;
  }
  if (parse_num(opt->name, val, opt->min, opt->max, &n, err, cap) < 0) {
    return -1;
  }
  o->rt.app_workers = (uint32_t)n;
  o->rt.inline_apps = 0;
  return 0;
}

/* --quic-lb-server-id HEX: 1..15 bytes; turns QUIC-LB connection IDs on. */
static int parse_qlb_server_id(wt_options *o, const wt_option *opt, const char *val, char *err,
                               size_t cap) {
  wt_qlb_params *q = &o->rt.shard.engine.qlb;
  int n = wt_qlb_hex(val, q->server_id, sizeof(q->server_id));
  if (n < 1) {
    return opt_err(err, cap, "%s: must be 1 to %d bytes in hex (2 to %d hex digits)", opt->name,
                   WT_QLB_SID_MAX, 2 * WT_QLB_SID_MAX);
  }
  q->server_id_len = (uint32_t)n;
  q->enabled = 1;
  return 0;
}

/* --quic-lb-key HEX: the AES-128 key, 32 hex digits. */
static int parse_qlb_key(wt_options *o, const wt_option *opt, const char *val, char *err,
                         size_t cap) {
  wt_qlb_params *q = &o->rt.shard.engine.qlb;
  if (strlen(val) != 2 * WT_QLB_KEYLEN ||
      wt_qlb_hex(val, q->key, sizeof(q->key)) != WT_QLB_KEYLEN) {
    return opt_err(err, cap, "%s: must be %d hex digits (an AES-128 key)", opt->name,
                   2 * WT_QLB_KEYLEN);
  }
  q->has_key = 1;
  return 0;
}

/* --apps: a comma-separated list of echo, source, sink, relay, moq (or "all"),
 * each at most once. */
static int parse_apps(wt_options *o, const wt_option *opt, const char *val, char *err, size_t cap) {
  static const struct {
    const char *name;
    uint32_t bit;
  } apps[] = {{"echo", WT_APPS_ECHO},   {"source", WT_APPS_SOURCE}, {"sink", WT_APPS_SINK},
              {"relay", WT_APPS_RELAY}, {"moq", WT_APPS_MOQ},       {"all", WT_APPS_ALL}};
  uint32_t mask = 0;
  const char *p = val;
  do {
    size_t n = strcspn(p, ",");
    uint32_t bit = 0;
    for (size_t i = 0; i < sizeof(apps) / sizeof(apps[0]); i++) {
      if (n == strlen(apps[i].name) && !strncmp(p, apps[i].name, n)) {
        bit = apps[i].bit;
      }
    }
    if (!bit) {
      return opt_err(err, cap, "%s: '%.*s' is not one of echo, source, sink, relay, moq, all",
                     opt->name, (int)(n < 64 ? n : 64), p);
    }
    mask |= bit;
    p += n;
  } while (*p++ == ',');
  o->apps.enabled = mask;
  return 0;
}

/* --log-level: wt_log's names (and digits), case-insensitive. */
static int parse_log_level(wt_options *o, const wt_option *opt, const char *val, char *err,
                           size_t cap) {
  int lvl = wt_log_level_parse(val);
  if (lvl < 0) {
    return opt_err(err, cap, "%s: '%s' is not one of error, warn, info, debug, trace", opt->name,
                   val);
  }
  o->log_level = lvl;
  return 0;
}

/* ---------------------------------------------------------------- the table */

static const wt_option_name retry_names[] = {
    {"auto", WT_RETRY_AUTO}, {"always", WT_RETRY_ALWAYS}, {"never", WT_RETRY_NEVER}, {NULL, 0}};
static const wt_option_name io_names[] = {{"auto", WT_IO_BACKEND_AUTO},
                                          {"uring", WT_IO_BACKEND_URING},
                                          {"portable", WT_IO_BACKEND_PORTABLE},
                                          {NULL, 0}};
static const wt_option_name profile_names[] = {
    {"compat", WT_PROFILE_COMPAT},   {"draft02", WT_PROFILE_DRAFT02},
    {"draft07", WT_PROFILE_DRAFT07}, {"draft14", WT_PROFILE_DRAFT14},
    {"draft16", WT_PROFILE_DRAFT16}, {NULL, 0}};
static const wt_option_name on_off[] = {{"on", 1}, {"off", 0}, {NULL, 0}};

/* Row builders for the common kinds of option (one table row each): a
 * string (a file, an address: check may be NULL), a bounded unsigned
 * number, an on|off switch. */
#define STR_ROW(SEC, NAME, KEY, ARG, FIELD, CHECK, DEF_NOTE, EXAMPLE, HELP)                        \
  {                                                                                                \
    .name = NAME, .section = SEC, .key = KEY, .arg = ARG, .type = WT_OPT_STR, AT(FIELD),           \
    .check = CHECK, .def_note = DEF_NOTE, .example = EXAMPLE, .help = HELP                         \
  }
#define UINT_ROW(SEC, NAME, KEY, ARG, FIELD, MIN, MAX, DEF, HELP)                                  \
  {                                                                                                \
    .name = NAME, .section = SEC, .key = KEY, .arg = ARG, .type = WT_OPT_UINT, AT(FIELD),          \
    .min = MIN, .max = MAX, .scale = 1, .def = DEF, .help = HELP                                   \
  }
#define ONOFF_ROW(SEC, NAME, KEY, FIELD, DEF, HELP)                                                \
  {                                                                                                \
    .name = NAME, .section = SEC, .key = KEY, .arg = "on|off", .type = WT_OPT_ENUM, AT(FIELD),     \
    .names = on_off, .def = DEF, .help = HELP                                                      \
  }
static const wt_option_name log_formats[] = {
    {"text", WT_LOG_FORMAT_TEXT}, {"json", WT_LOG_FORMAT_JSON}, {NULL, 0}};

const wt_option wt_options_table[] = {
    /* [server] */
    {.name = "--listen",
     .section = "server",
     .key = "listen",
     .arg = "ADDR:PORT",
     .type = WT_OPT_ADDR,
     .flags = WT_OPT_REQUIRED,
     AT(rt.shard.listen),
     .hint = "127.0.0.1:4433 or [::]:4433",
     .example = "[::]:4433",
     .help = "UDP address to serve: 127.0.0.1:4433, [::]:4433, 0.0.0.0:0 ... (port 0 picks a free "
             "port; the real one is printed)"},
    {.name = "--cert",
     .section = "server",
     .key = "cert",
     .arg = "FILE",
     .type = WT_OPT_STR,
     .flags = WT_OPT_REQUIRED,
     AT(rt.shard.cert_file),
     .example = "/etc/wtcast/cert.pem",
     .help = "PEM certificate chain. SIGHUP (systemctl reload wtcast) reads it and the key again: "
             "new connections use them, live sessions are kept"},
    {.name = "--key",
     .section = "server",
     .key = "key",
     .arg = "FILE",
     .type = WT_OPT_STR,
     .flags = WT_OPT_REQUIRED,
     AT(rt.shard.key_file),
     .example = "/etc/wtcast/key.pem",
     .help = "PEM private key"},
    {.name = "--cert-rotate",
     .section = "server",
     .key = "cert_rotate_s",
     .arg = "SECONDS",
     .type = WT_OPT_UINT,
     AT(cert_rotate_s),
     .min = 1,
     .max = WT_ROTATE_MAX_S,
     .scale = 1,
     .def_note = "off",
     .example = "259200",
     .help = "serverCertificateHashes deployments: replace the certificate with a new short-lived "
             "self-signed one every this many seconds; the next one waits in --cert-rotate-dir "
             "and /cert-hashes.json (on the --http listener) publishes both hashes, so pages can "
             "pin both; the switch is atomic for the pair and a reload. --cert/--key seed the "
             "first pair; then DIR/current/cert.pem and key.pem are served"},
    {.name = "--cert-rotate-dir",
     .section = "server",
     .key = "cert_rotate_dir",
     .arg = "DIR",
     .type = WT_OPT_STR,
     AT(cert_rotate_dir),
     .check = check_rotate_dir,
     .def_note = "$STATE_DIRECTORY (systemd's StateDirectory=, /var/lib/wtcast under the shipped "
                 "unit), else the directory of --cert",
     .example = "/var/lib/wtcast",
     .help = "--cert-rotate: where the certificate generations live (DIR/rotate-N/, DIR/current "
             "and DIR/next links; created 0700); it must be writable"},
    {.name = "--origin",
     .section = "server",
     .key = "origins",
     .arg = "LIST",
     .type = WT_OPT_LIST,
     AT(rt.shard.engine.origins),
     .off_count = offsetof(wt_options, rt.shard.engine.n_origins),
     .def_note = "any",
     .example = "https://a.example,http://127.0.0.1:8080",
     .help = "comma-separated allowed Origins"},
    {.name = "--wt-protocols",
     .section = "server",
     .key = "wt_protocols",
     .arg = "LIST",
     .type = WT_OPT_LIST,
     AT(rt.protocols),
     .off_count = offsetof(wt_options, rt.n_protocols),
     .check = check_protocols,
     .def_note = "none (no WT-Protocol is sent)",
     .example = "moq-lite-03,moq-lite-02",
     .help = "application protocols the server speaks, preferred first: a session gets "
             "WT-Protocol = the first of them the client offered in WT-Available-Protocols "
             "(unless its application chooses itself), none if there is no overlap; counted "
             "per protocol in /metrics (wtcast_sessions_protocol_total)"},
    {.name = "--retry",
     .section = "server",
     .key = "retry",
     .arg = "MODE",
     .type = WT_OPT_ENUM,
     AT(rt.shard.engine.retry_mode),
     .names = retry_names,
     .def = "auto",
     .help = "address validation with Retry: auto (while many handshakes are in progress), "
             "always or never"},
    {.name = "--tls-ciphers",
     .section = "server",
     .key = "tls_ciphers",
     .arg = "LIST",
     .type = WT_OPT_STR,
     AT(rt.shard.engine.tls_ciphers),
     .check = check_ciphers,
     .def_note = "all three, in that order; ChaCha20 only if its self-test passed",
     .example = "TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384",
     .help = "TLS 1.3 suites to offer, in order, joined by ':' from TLS13-AES128-GCM-SHA256, "
             "TLS13-AES256-GCM-SHA384 and TLS13-CHACHA20-POLY1305-SHA256"},
    {.name = "--key-file",
     .section = "server",
     .key = "secret_file",
     .arg = "FILE",
     .type = WT_OPT_STR,
     AT(secret_file),
     .def_note = "random per process",
     .example = "/etc/wtcast/secret",
     .help = "secret shared by every shard (and by other processes or nodes using the same file) "
             "for stateless reset tokens and Retry tokens: 64 hex digits, or at least 32 bytes "
             "(the first 32 are used)"},
    {.name = "--max-conns",
     .section = "server",
     .key = "max_conns",
     .arg = "N",
     .type = WT_OPT_UINT,
     AT(rt.shard.engine.max_conns),
     .min = 1,
     .max = 10000000,
     .scale = 1,
     .def = "100000",
     .help = "QUIC connections at most"},
    {.name = "--max-conns-per-ip",
     .section = "server",
     .key = "max_conns_per_ip",
     .arg = "N",
     .type = WT_OPT_UINT,
     AT(rt.shard.engine.max_conns_per_ip),
     .min = 1,
     .max = 10000000,
     .scale = 1,
     .def = "1024",
     .help = "live connections per source address (IPv4 address, IPv6 /64) per shard; more get "
             "CONNECTION_REFUSED. The default lets a large audience behind one NAT in (1024 x "
             "shards viewers) and holds one host to about 75 MB per shard (idle sessions)"},
    {.name = "--memory-max",
     .section = "server",
     .key = "memory_max",
     .arg = "BYTES",
     .type = WT_OPT_UINT,
     AT(rt.memory_max),
     .min = 0,
     .max = UINT64_C(1) << 50,
     .scale = 1,
     .def = "0",
     .def_note = "50% of MemTotal or of the cgroup's memory.max, the smaller",
     .help = "process memory budget for buffers (0 = the default). Past 60% the server stops "
             "granting receive credit, past 75% drops datagrams, past 85% refuses new "
             "connections, at 100% closes the connections holding the most (H3_EXCESSIVE_LOAD); "
             "each counted (docs/operations.md \"Limits\")"},
    {.name = "--max-conn-bytes",
     .section = "server",
     .key = "max_conn_bytes",
     .arg = "BYTES",
     .type = WT_OPT_UINT,
     AT(rt.shard.engine.max_conn_bytes),
     .min = 0,
     .max = UINT64_C(1) << 50,
     .scale = 1,
     .def = "67108864",
     .help = "buffer bytes one connection may hold (0 = no limit): past it its receive credit "
             "is withheld, and if it stays past it for 2 s it is closed (H3_EXCESSIVE_LOAD)"},
    {.name = "--max-ip-bytes",
     .section = "server",
     .key = "max_ip_bytes",
     .arg = "BYTES",
     .type = WT_OPT_UINT,
     AT(rt.shard.engine.max_ip_bytes),
     .min = 0,
     .max = UINT64_C(1) << 50,
     .scale = 1,
     .def = "268435456",
     .help = "buffer bytes the connections of one source address (IPv4 address, IPv6 /64) may "
             "hold per shard (0 = no limit): past it their credit is withheld and new "
             "connections refused; after 2 s its costliest connection is closed"},
    {.name = "--handshake-timeout",
     .section = "server",
     .key = "handshake_timeout_ms",
     .arg = "MS",
     .type = WT_OPT_UINT,
     AT(rt.shard.engine.handshake_timeout_ns),
     .min = 100,
     .max = 600000,
     .scale = MS_NS,
     .def = "10000",
     .help = "drop a connection whose handshake is not done after this many milliseconds"},
    {.name = "--max-sessions",
     .section = "server",
     .key = "max_sessions",
     .arg = "N",
     .type = WT_OPT_UINT,
     AT(rt.shard.engine.max_sessions_per_conn),
     .min = 1,
     .max = 65535,
     .scale = 1,
     .def = "16",
     .help = "WebTransport sessions per connection"},
    {.name = "--max-request-headers",
     .section = "server",
     .key = "max_request_headers",
     .arg = "N",
     .type = WT_OPT_UINT,
     AT(rt.shard.engine.max_request_headers),
     .min = 8,
     .max = 1024,
     .scale = 1,
     .def = "64",
     .help = "header fields of one CONNECT (pseudo-headers included); a larger request is "
             "answered 431 and counted (wtcast_requests_too_large_total)"},
    {.name = "--max-request-header-bytes",
     .section = "server",
     .key = "max_request_header_bytes",
     .arg = "BYTES",
     .type = WT_OPT_UINT,
     AT(rt.shard.engine.max_request_header_bytes),
     .min = 512,
     .max = 65536,
     .scale = 1,
     .def = "16384",
     .help = "bytes of the header fields of one CONNECT kept by the server (names + values + 2 "
             "per field); a larger request is answered 431 and counted"},
    {.name = "--wt-profile",
     .section = "server",
     .key = "wt_profile",
     .arg = "PROFILE",
     .type = WT_OPT_ENUM,
     AT(rt.shard.engine.wt_profile),
     .names = profile_names,
     .def = "compat",
     .help = "WebTransport SETTINGS to send: compat (every dialect at once, each client answered "
             "in the one it speaks), draft02, draft07, draft14 or draft16 (only that dialect's)"},
    {.name = "--wt-max-data",
     .section = "server",
     .key = "wt_max_data",
     .arg = "BYTES",
     .type = WT_OPT_UINT,
     AT(rt.shard.engine.wt_initial_max_data),
     .min = 0,
     .max = UINT64_C(1) << 40,
     .scale = 1,
     .def = "16777216",
     .help = "session flow control (draft-14+ clients that offer it): bytes a client may send "
             "per session at first (WT_INITIAL_MAX_DATA; grows as the application reads, up to "
             "4x); 0 with both stream limits 0 = flow control not offered"},
    {.name = "--wt-max-streams-bidi",
     .section = "server",
     .key = "wt_max_streams_bidi",
     .arg = "N",
     .type = WT_OPT_UINT,
     AT(rt.shard.engine.wt_initial_max_streams_bidi),
     .min = 0,
     .max = 1000000,
     .scale = 1,
     .def = "100",
     .help = "session flow control: bidirectional streams a client may open per session at "
             "first (WT_INITIAL_MAX_STREAMS_BIDI; one more per stream closed)"},
    {.name = "--wt-max-streams-uni",
     .section = "server",
     .key = "wt_max_streams_uni",
     .arg = "N",
     .type = WT_OPT_UINT,
     AT(rt.shard.engine.wt_initial_max_streams_uni),
     .min = 0,
     .max = 1000000,
     .scale = 1,
     .def = "100",
     .help = "session flow control: unidirectional streams a client may open per session at "
             "first (WT_INITIAL_MAX_STREAMS_UNI; one more per stream closed)"},
    {.name = "--idle-timeout",
     .section = "server",
     .key = "idle_timeout_ms",
     .arg = "MS",
     .type = WT_OPT_UINT,
     AT(rt.shard.engine.idle_timeout_ns),
     .min = 1,
     .max = 86400000,
     .scale = MS_NS,
     .def = "30000",
     .help = "close idle connections after this many milliseconds"},
    {.name = "--datagram-max-age",
     .section = "server",
     .key = "datagram_max_age_ms",
     .arg = "MS",
     .type = WT_OPT_UINT,
     AT(rt.shard.engine.max_datagram_age_ns),
     .min = 0,
     .max = 86400000,
     .scale = MS_NS,
     .def = "250",
     .help = "drop a datagram still queued after this many milliseconds instead of sending it "
             "late (counted: wtcast_datagrams_expired_total); 0 = never"},
    {.name = "--drain-timeout",
     .section = "server",
     .key = "drain_timeout_ms",
     .arg = "MS",
     .type = WT_OPT_UINT,
     AT(rt.shard.drain_timeout_ns),
     .min = 0,
     .max = 3600000,
     .scale = MS_NS,
     .def = "5000",
     .help = "on SIGINT/SIGTERM (GOAWAY and DRAIN to every session), wait up to this many "
             "milliseconds for clients to leave before closing (a second signal closes at once)"},
    /* [runtime] */
    {.name = "--workers",
     .section = "runtime",
     .key = "workers",
     .arg = "N",
     .type = WT_OPT_UINT,
     AT(rt.shards),
     .min = 1,
     .max = WT_RUNTIME_MAX_SHARDS,
     .scale = 1,
     .def_note = "online CPUs",
     .example = "4",
     .help = "shards: threads pinned to CPUs, one socket each in one SO_REUSEPORT group"},
    {.name = "--app-workers",
     .section = "runtime",
     .key = "app_workers",
     .arg = "N",
     .type = WT_OPT_FUNC,
     AT(rt.app_workers),
     .min = 0,
     .max = WT_RUNTIME_MAX_APP_WORKERS,
     .parse = parse_app_workers,
     .def = "0",
     .help = "application worker threads (0: as many as shards); 'inline' runs the applications "
             "on the shard threads instead (no thread hop: least latency and CPU for light apps; "
             "a slow app then delays its shard)"},
    {.name = "--spin-us",
     .section = "runtime",
     .key = "spin_us",
     .arg = "N",
     .type = WT_OPT_UINT,
     AT(rt.shard.spin_ns),
     .min = 0,
     .max = 1000,
     .scale = US_NS,
     .def = "0",
     .help = "after handing work to a worker, a shard polls for the answer up to this many "
             "microseconds before sleeping (0: sleep at once)"},
    {.name = "--rx-slice-us",
     .section = "runtime",
     .key = "rx_slice_us",
     .arg = "N",
     .type = WT_OPT_UINT,
     .flags = WT_OPT_ZERO_MAX,
     AT(rt.shard.rx_slice_ns),
     .min = 0,
     .max = 1000000,
     .scale = US_NS,
     .def = "250",
     .help = "once handshake packets have been handled for this many microseconds in a loop "
             "turn, a shard sends the replies before receiving more (0 = never: a burst of new "
             "connections then waits for the whole batch's TLS work)"},
    {.name = "--io",
     .section = "runtime",
     .key = "io",
     .arg = "BACKEND",
     .type = WT_OPT_ENUM,
     AT(rt.shard.io_backend),
     .names = io_names,
     .def = "auto",
     .help = "UDP datapath: auto (io_uring if usable, else portable), uring (fail if "
             "unavailable) or portable"},
    {.name = "--steering",
     .section = "runtime",
     .key = "steering",
     .arg = "on|off",
     .type = WT_OPT_ENUM,
     AT(rt.steering),
     .names = on_off,
     .def = "on",
     .help = "steer datagrams to their shard by Connection ID with a reuseport BPF program (off: "
             "the kernel hashes by address and the shards forward to each other)"},
    /* [quic_lb] */
    {.name = "--quic-lb-server-id",
     .section = "quic_lb",
     .key = "server_id",
     .arg = "HEX",
     .type = WT_OPT_FUNC,
     AT(rt.shard.engine.qlb.server_id),
     .parse = parse_qlb_server_id,
     .def_note = "off: connection IDs are random but for the shard byte",
     .example = "0a01",
     .help =
         "issue QUIC-LB connection IDs (draft-ietf-quic-load-balancers-21) carrying this server "
         "ID (1 to 15 bytes in hex, unique per node), so a QUIC-LB load balancer routes every "
         "packet of a connection to this node, after NAT rebinding or migration too. The CID "
         "is config rotation (3 bits) and shard (5 bits), then server ID and nonce: at most 32 "
         "shards (docs/architecture.md, Connection IDs and steering)"},
    {.name = "--quic-lb-config",
     .section = "quic_lb",
     .key = "config",
     .arg = "ROTATION",
     .type = WT_OPT_UINT,
     AT(rt.shard.engine.qlb.config_id),
     .min = 0,
     .max = WT_QLB_CR_MAX,
     .scale = 1,
     .def = "0",
     .help =
         "QUIC-LB config rotation bits (0..6) written in the first byte of every connection ID"},
    {.name = "--quic-lb-nonce-len",
     .section = "quic_lb",
     .key = "nonce_len",
     .arg = "N",
     .type = WT_OPT_UINT,
     AT(rt.shard.engine.qlb.nonce_len),
     .min = 0,
     .max = WT_QLB_NONCE_MAX,
     .scale = 1,
     .def = "0",
     .help = "QUIC-LB nonce bytes (4..18; server ID + nonce at most 19); 0 = 16 - server ID "
             "length (at least 4), the length --quic-lb-key needs"},
    {.name = "--quic-lb-key",
     .section = "quic_lb",
     .key = "key",
     .arg = "HEX",
     .type = WT_OPT_FUNC,
     AT(rt.shard.engine.qlb.key),
     .parse = parse_qlb_key,
     .def_note = "none: plaintext server IDs",
     .example = "000102030405060708090a0b0c0d0e0f",
     .help = "QUIC-LB AES-128 key (32 hex digits, the load balancer's): server ID and nonce are "
             "encrypted in one AES block, so server ID + nonce must be 16 bytes (the four-pass "
             "cipher is not implemented). Prefer the configuration file to the command line"},
    /* [apps] */
    {.name = "--apps",
     .section = "apps",
     .key = "apps",
     .arg = "LIST",
     .type = WT_OPT_FUNC,
     AT(apps.enabled),
     .parse = parse_apps,
     .def = "relay",
     .help = "built-in routes to serve, comma-separated: echo (/echo), source (/source and its "
             "bytes), sink (/sink), relay (/pub and /sub), moq (/moq and /moq/ROOT: moq-lite), or "
             "all; any other path is 404. The "
             "default serves the relay only: echo, source and sink are test and benchmark tools "
             "(a /source session sends up to --source-max-bytes to whoever asks)"},
    {.name = "--stream-send-window",
     .section = "apps",
     .key = "stream_send_window",
     .arg = "BYTES",
     .type = WT_OPT_UINT,
     AT(rt.stream_send_window),
     .min = 16384,
     .max = (uint64_t)1 << 30,
     .scale = 1,
     .def_note = "1048576",
     .example = "1048576",
     .help = "bytes an application stream may have written and not yet acknowledged, at first "
             "(at least one worker buffer)"},
    {.name = "--stream-send-window-max",
     .section = "apps",
     .key = "stream_send_window_max",
     .arg = "BYTES",
     .type = WT_OPT_UINT,
     AT(rt.stream_send_window_max),
     .min = 16384,
     .max = (uint64_t)1 << 30,
     .scale = 1,
     .def_note = "8388608",
     .example = "8388608",
     .help = "... and at most: a stream's window grows to twice its connection's congestion "
             "window up to this (not above --stream-send-window: no growth). One stream's rate "
             "is at most window / RTT"},
    {.name = "--source-max-bytes",
     .section = "apps",
     .key = "source_max_bytes",
     .arg = "N",
     .type = WT_OPT_UINT,
     AT(apps.source_max_bytes),
     .min = 1,
     .max = UINT64_MAX / 2,
     .scale = 1,
     .def = "1000000000000",
     .help = "largest N for /source?bytes=N"},
    {.name = "--echo-max-pending",
     .section = "apps",
     .key = "echo_max_pending",
     .arg = "N",
     .type = WT_OPT_UINT,
     AT(apps.echo_max_pending),
     .min = 1024,
     .max = (uint64_t)1 << 40,
     .scale = 1,
     .def = "16777216",
     .help = "bytes an /echo stream may hold back before it is reset"},
    {.name = "--relay-lag-max",
     .section = "apps",
     .key = "relay_lag_max",
     .arg = "N",
     .type = WT_OPT_UINT,
     AT(apps.relay_lag_max),
     .min = 1024,
     .max = (uint64_t)1 << 40,
     .scale = 1,
     .def = "4194304",
     .help = "relay: unacknowledged bytes per subscriber before groups are dropped"},
    {.name = "--relay-group-max",
     .section = "apps",
     .key = "relay_group_max",
     .arg = "N",
     .type = WT_OPT_UINT,
     AT(apps.relay_group_max),
     .min = 0,
     .max = (uint64_t)1 << 40,
     .scale = 1,
     .def = "2097152",
     .help = "relay: bytes of the current group kept for late joiners"},
    {.name = "--relay-max-channels",
     .section = "apps",
     .key = "relay_max_channels",
     .arg = "N",
     .type = WT_OPT_UINT,
     AT(apps.relay_max_channels),
     .min = 1,
     .max = 1000000,
     .scale = 1,
     .def = "4096",
     .help = "relay: channels at most"},
    {.name = "--relay-max-subscribers",
     .section = "apps",
     .key = "relay_max_subscribers",
     .arg = "N",
     .type = WT_OPT_UINT,
     AT(apps.relay_max_subscribers),
     .min = 1,
     .max = 10000000,
     .scale = 1,
     .def = "100000",
     .help = "relay: subscribers per channel at most"},
    /* [auth] */
    {.name = "--auth-keys",
     .section = "auth",
     .key = "keys",
     .arg = "FILE",
     .type = WT_OPT_STR,
     AT(auth_keys),
     .def_note = "off: the relay is open to anyone",
     .example = "/etc/wtcast/auth-keys.jwk",
     .help = "verify signed tokens (JWT, the format of moq-relay and @moq/token) with the keys of "
             "this JWK or JWK Set file (HS256/384/512, ES256, ES384; kid selects the key) and "
             "require them on the relay: /pub?ch=NAME needs a token whose put covers NAME, "
             "/sub?ch=NAME one whose get does (401 without a valid token, 403 when not granted); "
             "the token comes in the jwt query parameter or an Authorization: Bearer field; "
             "SIGHUP reloads the file (docs/operations.md, Authorization)"},
    /* [cluster]: the Valkey/Redis registry (ops/wt_cluster.h) */
    STR_ROW("cluster", "--cluster", "url", "URL", cluster_url, check_cluster_url,
            "off: a single node (no registry)", "redis://127.0.0.1:6379/0",
            "join a cluster through a Valkey or Redis registry at "
            "redis://[USER[:PASSWORD]@]HOST[:PORT][/DB] (HOST a name or an address, resolved "
            "at every connection): this node's record (--node-id, --advertise, load) and the "
            "channels published here are kept there with a TTL, and other nodes' channels are "
            "looked up from a map kept current by change notices; a registry down is retried, "
            "not fatal (docs/operations.md, Cluster). The registry link is not encrypted: keep "
            "it on a private network"),
    STR_ROW("cluster", "--cluster-auth-file", "auth_file", "FILE", cluster_auth_file,
            check_nonempty, "none: the URL's password, if any", "/etc/wtcast/registry-password",
            "--cluster: the registry password in this file's first line (kept out of argv and "
            "ps; re-read at every reconnect): AUTH USER PASSWORD with the URL's user "
            "(redis://USER@HOST), else AUTH PASSWORD"),
    ONOFF_ROW("cluster", "--cluster-strict", "strict", cluster_strict, "off",
              "--cluster: refuse to start unless the registry is reachable and accepts this "
              "node's credentials (off: a refusal or an outage is logged, counted and retried)"),
    STR_ROW("cluster", "--node-id", "node_id", "ID", node_id, check_node_id, "the host name",
            "edge-1",
            "--cluster: this node's name in the registry (1 to 64 of A-Z a-z 0-9 . _ -), unique "
            "in the cluster"),
    STR_ROW("cluster", "--advertise", "advertise", "HOST:PORT", advertise, check_advertise,
            "--listen, unless it is a wildcard address", "edge-1.example:4433",
            "--cluster: the WebTransport address other nodes reach this one at (HOST a name or "
            "an address; a name is resolved by the nodes that look it up, on their registry "
            "thread)"),
    UINT_ROW("cluster", "--cluster-ttl", "ttl_ms", "MS", cluster_ttl_ms, WT_CLUSTER_TTL_MIN_MS,
             WT_CLUSTER_TTL_MAX_MS, "5000",
             "--cluster: lifetime of this node's records in the registry, refreshed every third "
             "of it: a node that dies is forgotten this long after (registry load per node: 3 / "
             "TTL x (2 + channels published here) commands per second)"),
    UINT_ROW("cluster", "--cluster-stale-max", "stale_max_ms", "MS", cluster_stale_max_ms, 0,
             3600000, "0",
             "--cluster: while the registry is unreachable, lookups answer the channels known "
             "when it was lost for this long at most, then those answers are dropped (logged, "
             "counted) and new lookups fail until it is back; flowing upstreams are not "
             "touched. 0: six TTLs"),
    /* [cluster]: static mode and upstream sessions (the relay cascade) */
    {.name = "--cluster-peers",
     .section = "cluster",
     .key = "peers",
     .arg = "LIST",
     .type = WT_OPT_LIST,
     AT(cluster_peers),
     .off_count = offsetof(wt_options, n_cluster_peers),
     .check = check_peers,
     .def_note = "none: a single node",
     .example = "10.0.0.1:4433,10.0.0.2:4433",
     .help = "static cluster: the nodes (HOST:PORT, comma-separated, HOST a name or an "
             "address: names are resolved once, at start; this node's own --listen / --advertise "
             "address is skipped) a relay "
             "channel with subscribers here and no publisher here is pulled from, tried in "
             "order, one upstream /sub per channel"},
    STR_ROW("cluster", "--cluster-pin", "pin", "SHA256HEX", cluster_pin, check_pin, "none",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "trust for upstream connections: the SHA-256 (64 hex digits) of the upstream "
            "nodes' certificate (DER)"),
    STR_ROW("cluster", "--cluster-ca", "ca", "FILE", rt.shard.engine.client_ca_file, NULL, "none",
            "/etc/wtcast/cluster-ca.pem",
            "trust for upstream connections: a CA bundle (PEM) their certificates must chain to"),
    ONOFF_ROW("cluster", "--cluster-insecure", "insecure", rt.shard.engine.client_insecure, "off",
              "trust any upstream certificate (tests only)"),
    STR_ROW("cluster", "--cluster-token", "token", "FILE", cluster_token, NULL, "none",
            "/etc/wtcast/cluster-token.jwt",
            "a token (JWT, one line) this node presents to upstream nodes that run "
            "--auth-keys (the jwt query parameter of its upstream /sub): it needs get rights on "
            "the channels pulled"),
    UINT_ROW("cluster", "--cluster-max-hops", "max_hops", "N", apps.relay_max_hops, 1, 64, "4",
             "relay cascade: a /sub from another node with more hops is refused (508, logged); "
             "a channel asked for with this many is not pulled further (a loop)"),
    /* [log] */
    {.name = "--log-level",
     .section = "log",
     .key = "level",
     .arg = "L",
     .type = WT_OPT_FUNC,
     AT(log_level),
     .parse = parse_log_level,
     .def = "info",
     .help = "error, warn, info, debug or trace"},
    {.name = "--log-format",
     .section = "log",
     .key = "format",
     .arg = "F",
     .type = WT_OPT_ENUM,
     AT(log_format),
     .names = log_formats,
     .def = "text",
     .help = "text (human) or json (one JSON object per line: ts, level, module, msg)"},
    /* [metrics], [http] */
    {.name = "--metrics",
     .section = "metrics",
     .key = "listen",
     .arg = "ADDR:PORT",
     .type = WT_OPT_ADDR,
     AT(metrics_listen),
     .hint = "127.0.0.1:8080",
     .def_note = "off",
     .example = "127.0.0.1:9464",
     .help = "serve Prometheus metrics over HTTP at /metrics; keep it on a private address"},
    {.name = "--metrics-max-channels",
     .section = "metrics",
     .key = "max_channels",
     .arg = "N",
     .type = WT_OPT_UINT,
     AT(apps.relay_metrics_channels),
     .min = 0,
     .max = 100000,
     .scale = 1,
     .def = "100",
     .help = "relay channels (named by clients) with their own wtcast_relay_* series: the most "
             "active ones (live first, then bytes and datagrams carried, then subscribers); the "
             "rest are summed as channel=\"other\", so many channels cannot make /metrics "
             "unreadable"},
    {.name = "--http",
     .section = "http",
     .key = "listen",
     .arg = "ADDR:PORT",
     .type = WT_OPT_ADDR,
     AT(http_listen),
     .hint = "127.0.0.1:8080",
     .def_note = "off",
     .example = "127.0.0.1:8080",
     .help = "also serve the relay demo page over plain HTTP (TCP): / is the page, /config.json "
             "its WebTransport URL and certificate hash. Browsers treat http://127.0.0.1 and "
             "http://localhost as secure contexts; other hosts need HTTPS in front"},
    {.name = "--http-conns-per-ip",
     .section = "http",
     .key = "conns_per_ip",
     .arg = "N",
     .type = WT_OPT_UINT,
     AT(http.max_conns_per_ip),
     .min = 1,
     .max = 64,
     .scale = 1,
     .def = "8",
     .help = "TCP connections one address (IPv4, IPv6 /64) may hold on each HTTP listener "
             "(--http and --metrics, 64 connections each): more are closed at accept, logged and "
             "counted (wtcast_http_refused_total), so one slow or idle client cannot keep "
             "/metrics from the scraper"},
    {.name = "--http-timeout",
     .section = "http",
     .key = "timeout_s",
     .arg = "SECONDS",
     .type = WT_OPT_UINT,
     AT(http.timeout_s),
     .min = 1,
     .max = 600,
     .scale = 1,
     .def = "5",
     .help = "close an HTTP connection (--http, --metrics) on which nothing arrived for this many "
             "seconds"},
    /* [debug] */
    {.name = "--qlog-dir",
     .section = "debug",
     .key = "qlog_dir",
     .arg = "DIR",
     .type = WT_OPT_STR,
     AT(rt.shard.qlog_dir),
     .check = check_dir,
     .def_note = "off",
     .example = "/var/log/wtcast/qlog",
     .help = "write a qlog (JSON-SEQ, DIR/<start>-<pid>-<seq>.sqlog: names the server "
             "chooses; mode 0600) per sampled connection into this directory, from its completed "
             "handshake on (debugging)"},
    {.name = "--qlog-max-file-bytes",
     .section = "debug",
     .key = "qlog_max_file_bytes",
     .arg = "BYTES",
     .type = WT_OPT_UINT,
     AT(rt.shard.qlog_max_file_bytes),
     .min = 4096,
     .max = UINT64_C(1) << 40,
     .scale = 1,
     .def = "67108864",
     .help = "bytes of one qlog trace at most: the rest of that connection's trace is dropped "
             "(logged)"},
    {.name = "--qlog-max-bytes",
     .section = "debug",
     .key = "qlog_max_bytes",
     .arg = "BYTES",
     .type = WT_OPT_UINT,
     AT(rt.shard.qlog_max_bytes),
     .min = 4096,
     .max = UINT64_C(1) << 50,
     .scale = 1,
     .def = "1073741824",
     .help = "bytes of every qlog trace of the process together at most: past it nothing more is "
             "written until a restart (logged)"},
    {.name = "--qlog-max-files",
     .section = "debug",
     .key = "qlog_max_files",
     .arg = "N",
     .type = WT_OPT_UINT,
     AT(rt.shard.qlog_max_files),
     .min = 1,
     .max = 10000000,
     .scale = 1,
     .def = "1000",
     .help = "qlog traces the process writes at most: later connections are not traced until a "
             "restart (logged)"},
    {.name = "--qlog-sample",
     .section = "debug",
     .key = "qlog_sample",
     .arg = "N",
     .type = WT_OPT_UINT,
     AT(rt.shard.engine.qlog_sample),
     .min = 1,
     .max = 1000000000,
     .scale = 1,
     .def_note = "every connection",
     .example = "100",
     .help = "qlog 1 in N connections"},
    {.name = "--keylog-file",
     .section = "debug",
     .key = "keylog_file",
     .arg = "FILE",
     .type = WT_OPT_STR,
     AT(rt.shard.keylog_file),
     .check = check_file,
     .def_note = "off",
     .example = "/var/log/wtcast/keys.log",
     .help = "append TLS secrets (SSLKEYLOGFILE format) to this file: anyone holding it can "
             "decrypt the traffic (debugging only; wtcast logs a warning)"},
    /* the command line only */
    {.name = "--config",
     .arg = "FILE",
     .type = WT_OPT_ACTION,
     .help = "read options from FILE (INI, see wtcast.conf.example); the command line overrides "
             "it"},
    {.name = "--check-config",
     .arg = "FILE",
     .type = WT_OPT_ACTION,
     .help = "validate FILE, print every error as FILE:LINE: reason, exit 0 (valid) or 1"},
    {.name = "--help", .type = WT_OPT_ACTION, .help = "this text"},
};
const size_t wt_options_count = sizeof(wt_options_table) / sizeof(wt_options_table[0]);

/* ------------------------------------------------------------------ parsing */

void wt_options_init(wt_options *o) {
  memset(o, 0, sizeof(*o));
  wt_runtime_config_default(&o->rt);
  wt_apps_config_default(&o->apps);
  wt_http_config_default(&o->http);
  o->log_level = wt_log_get_level();
  o->log_format = wt_log_get_format();
  o->cluster_ttl_ms = WT_CLUSTER_TTL_DEF_MS;
}

void wt_options_free(wt_options *o) {
  for (size_t i = 0; i < o->n_owned; i++) {
    free(o->owned[i]);
  }
  free(o->owned);
  o->owned = NULL;
  o->n_owned = o->cap_owned = 0;
}

/* Keep p (malloc'd) until wt_options_free; NULL if p is NULL or on OOM
 * (p freed). */
static void *keep(wt_options *o, void *p) {
  if (p && o->n_owned == o->cap_owned) {
    size_t n = o->cap_owned ? 2 * o->cap_owned : 16;
    void **a = realloc(o->owned, n * sizeof(*a));
    if (!a) {
      free(p);
      return NULL;
    }
    o->owned = a;
    o->cap_owned = n;
  }
  if (p) {
    o->owned[o->n_owned++] = p;
  }
  return p;
}

const wt_option *wt_options_find(const char *name) {
  for (size_t i = 0; i < wt_options_count; i++) {
    if (!strcmp(name, wt_options_table[i].name)) {
      return &wt_options_table[i];
    }
  }
  return NULL;
}

const wt_option *wt_options_find_key(const char *section, const char *key) {
  for (size_t i = 0; i < wt_options_count; i++) {
    const wt_option *r = &wt_options_table[i];
    if (r->section && !strcmp(section, r->section) && !strcmp(key, r->key)) {
      return r;
    }
  }
  return NULL;
}

/* The field a row writes. */
static void *field(wt_options *o, const wt_option *r) {
  return (char *)o + r->off;
}

/* LIST: one allocation holds the pointers and a copy of the text. */
static int set_list(wt_options *o, const wt_option *r, const char *val, char *err, size_t cap) {
  if (r->check && r->check(val, err, cap) < 0) {
    return -1;
  }
  size_t n = 1, len = strlen(val);
  for (const char *p = val; *p; p++) {
    n += *p == ',';
  }
  for (const char *p = val;; p++) {
    if (*p == ' ' || ((*p == ',' || !*p) && (p == val || p[-1] == ','))) {
      return opt_err(err, cap, "%s: '%s' is not a comma-separated list of %s", r->name, val,
                     r->check ? "names" : "origins");
    }
    if (!*p) {
      break;
    }
  }
  char **items = keep(o, malloc(n * sizeof(char *) + len + 1));
  if (!items) {
    return opt_err(err, cap, "out of memory");
  }
  char *text = (char *)(items + n);
  memcpy(text, val, len + 1);
  size_t i = 0;
  items[i++] = text;
  for (char *p = text; *p; p++) {
    if (*p == ',') {
      *p = '\0';
      items[i++] = p + 1;
    }
  }
  memcpy(field(o, r), &items, sizeof(items));
  memcpy((char *)o + r->off_count, &n, sizeof(n));
  return 0;
}

static int set_uint(wt_options *o, const wt_option *r, const char *val, char *err, size_t cap) {
  uint64_t v = 0;
  if (parse_num(r->name, val, r->min, r->max, &v, err, cap) < 0) {
    return -1;
  }
  v = v == 0 && (r->flags & WT_OPT_ZERO_MAX) ? UINT64_MAX : v * r->scale;
  if (r->size == sizeof(uint32_t)) {
    uint32_t v32 = (uint32_t)v;
    memcpy(field(o, r), &v32, sizeof(v32));
  } else {
    memcpy(field(o, r), &v, sizeof(v));
  }
  return 0;
}

static int set_enum(wt_options *o, const wt_option *r, const char *val, char *err, size_t cap) {
  size_t n = 0;
  for (; r->names[n].name; n++) {
    if (!strcmp(val, r->names[n].name)) {
      memcpy(field(o, r), &r->names[n].value, sizeof(int));
      return 0;
    }
  }
  char list[128] = "";
  for (size_t i = 0; i < n; i++) {
    size_t at = strlen(list);
    snprintf(list + at, sizeof(list) - at, "%s%s",
             i == 0   ? ""
             : n == 2 ? " or "
                      : ", ",
             r->names[i].name);
  }
  return opt_err(err, cap, "%s: '%s' is not %s%s", r->name, val, n > 2 ? "one of " : "", list);
}

static int set_str(wt_options *o, const wt_option *r, const char *val, char *err, size_t cap) {
  if (r->type == WT_OPT_ADDR) {
    wt_io_addr a;
    if (wt_io_addr_parse(val, &a) < 0) {
      return opt_err(err, cap, "%s: '%s' is not ADDR:PORT (e.g. %s)", r->name, val, r->hint);
    }
  } else if (r->check && r->check(val, err, cap) < 0) {
    return -1;
  }
  char *copy = keep(o, strdup(val));
  if (!copy) {
    return opt_err(err, cap, "out of memory");
  }
  memcpy(field(o, r), &copy, sizeof(copy));
  return 0;
}

int wt_options_set(wt_options *o, const char *name, const char *val, char *err, size_t cap) {
  const wt_option *r = wt_options_find(name);
  if (!r || !r->arg) {
    return 0;
  }
  int rv = 0;
  switch (r->type) {
  case WT_OPT_STR:
  case WT_OPT_ADDR:
    rv = set_str(o, r, val, err, cap);
    break;
  case WT_OPT_UINT:
    rv = set_uint(o, r, val, err, cap);
    break;
  case WT_OPT_ENUM:
    rv = set_enum(o, r, val, err, cap);
    break;
  case WT_OPT_LIST:
    rv = set_list(o, r, val, err, cap);
    break;
  case WT_OPT_FUNC:
    rv = r->parse(o, r, val, err, cap);
    break;
  case WT_OPT_ACTION:
    break; /* the program's business */
  default:
    return opt_err(err, cap, "%s: bad table row", name); /* unreachable */
  }
  return rv < 0 ? -1 : 1;
}

const char *wt_options_enum_name(const char *name, int value) {
  const wt_option *r = wt_options_find(name);
  for (size_t i = 0; r && r->type == WT_OPT_ENUM && r->names[i].name; i++) {
    if (r->names[i].value == value) {
      return r->names[i].name;
    }
  }
  return "?";
}

const wt_option *wt_options_missing(const wt_options *o) {
  for (size_t i = 0; i < wt_options_count; i++) {
    const wt_option *r = &wt_options_table[i];
    const char *p;
    if (r->flags & WT_OPT_REQUIRED) {
      memcpy(&p, (const char *)o + r->off, sizeof(p));
      if (!p) {
        return r;
      }
    }
  }
  return NULL;
}

/* --------------------------------------------------------------- the texts */

/* The help paragraph with the bounds and the default appended. */
static void describe(const wt_option *r, char *buf, size_t cap) {
  char range[64] = "";
  if (r->type == WT_OPT_UINT || r->type == WT_OPT_FUNC) {
    if (r->max) {
      snprintf(range, sizeof(range), "%llu..%llu", (unsigned long long)r->min,
               (unsigned long long)r->max);
    }
  }
  char def[160] = "";
  if (r->def) {
    snprintf(def, sizeof(def), "default %s", r->def);
  } else if (r->def_note) {
    snprintf(def, sizeof(def), "default: %s", r->def_note);
  }
  if (range[0] || def[0]) {
    snprintf(buf, cap, "%s (%s%s%s)", r->help, range, range[0] && def[0] ? "; " : "", def);
  } else {
    snprintf(buf, cap, "%s", r->help);
  }
}

/* Print text word-wrapped: the first line continues the current one at
 * column col, later ones start with prefix (its length is their column);
 * lines end before width. man: a line must not start with '.' or '\''. */
static void wrap(FILE *f, const char *text, size_t col, const char *prefix, size_t width, int man) {
  const char *p = text;
  int first = 1;
  while (*p) {
    size_t n = strcspn(p, " ");
    if (!first && col + 1 + n > width) {
      fprintf(f, "\n%s", prefix);
      col = strlen(prefix);
      first = 1;
    }
    if (!first) {
      fputc(' ', f);
      col++;
    }
    if (first && man && (*p == '.' || *p == '\'')) {
      fputs("\\&", f);
    }
    for (size_t i = 0; i < n; i++) {
      if (man && p[i] == '\\') {
        fputs("\\e", f);
      } else if (man && p[i] == '-' &&
                 ((i > 0 && p[i - 1] == '-') || (i + 1 < n && p[i + 1] == '-'))) {
        fputs("\\-", f); /* an option name's "--" */
      } else {
        fputc(p[i], f);
      }
    }
    col += n;
    first = 0;
    p += n;
    while (*p == ' ') {
      p++;
    }
  }
  fputc('\n', f);
}

#define HELP_COL   25
#define HELP_WIDTH 80

void wt_options_print_help(FILE *f) {
  char text[1024];
  for (size_t i = 0; i < wt_options_count; i++) {
    const wt_option *r = &wt_options_table[i];
    char head[64];
    snprintf(head, sizeof(head), "  %s%s%s", r->name, r->arg ? " " : "", r->arg ? r->arg : "");
    describe(r, text, sizeof(text));
    fputs(head, f);
    size_t col = strlen(head);
    if (col + 1 > HELP_COL) {
      fputc('\n', f);
      col = 0;
    }
    fprintf(f, "%*s", (int)(HELP_COL - col), "");
    wrap(f, text, HELP_COL, "                         ", HELP_WIDTH, 0);
  }
}

static const char example_head[] =
    "; wtcast.conf: configuration of the wtcast WebTransport server (INI).\n"
    ";\n"
    "; Every key has a command-line twin (shown in brackets); options given on the\n"
    "; command line override the file. Check a file with\n"
    ";     wtcast --check-config /etc/wtcast/wtcast.conf\n"
    "; which prints every error as FILE:LINE: reason. Comments start with ';' or\n"
    "; '#' at the start of a line (';' also after a value); lines are at most 200\n"
    "; bytes; a key may appear once. The keys set below hold their defaults (the\n"
    "; required ones an example); the commented ones show an example value.\n"
    ";\n"
    "; Generated from the option table (ops/wt_options.c) by\n"
    ";     wtcast --print-config-example\n";

void wt_options_print_config_example(FILE *f) {
  char text[1200];
  const char *section = NULL;
  fputs(example_head, f);
  for (size_t i = 0; i < wt_options_count; i++) {
    const wt_option *r = &wt_options_table[i];
    if (!r->section) {
      continue;
    }
    if (!section || strcmp(section, r->section)) {
      section = r->section;
      fprintf(f, "\n[%s]\n", section);
    }
    char desc[1024];
    describe(r, desc, sizeof(desc));
    snprintf(text, sizeof(text), "%s [%s]", desc, r->name);
    fputs("; ", f);
    wrap(f, text, 2, "; ", 79, 0);
    if (r->def) {
      fprintf(f, "%s = %s\n", r->key, r->def);
    } else {
      fprintf(f, "%s%s = %s\n", r->flags & WT_OPT_REQUIRED ? "" : ";", r->key,
              r->example ? r->example : "");
    }
  }
}

/* name with every '-' as "\-" (troff's minus: what a man page's options
 * are written with). */
static void man_name(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '-') {
      fputs("\\-", f);
    } else {
      fputc(*s, f);
    }
  }
}

void wt_options_print_man(FILE *f) {
  char text[1200];
  for (size_t i = 0; i < wt_options_count; i++) {
    const wt_option *r = &wt_options_table[i];
    fputs(".TP\n", f);
    fputs(r->arg ? ".BI " : ".B ", f);
    man_name(f, r->name);
    if (r->arg) {
      fprintf(f, " \" %s\"", r->arg);
    }
    fputc('\n', f);
    char desc[1024];
    describe(r, desc, sizeof(desc));
    if (r->section) {
      snprintf(text, sizeof(text), "%s. File: [%s] %s.", desc, r->section, r->key);
    } else {
      snprintf(text, sizeof(text), "%s.", desc);
    }
    wrap(f, text, 0, "", 79, 1);
  }
}
