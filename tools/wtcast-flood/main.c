/* wtcast-flood: hostile load for flood tests (bounded in count and time).
 *
 *   wtcast-flood --server ADDR:PORT --mode MODE [options]
 *
 * Every mode runs a client engine over plain UDP sockets, one per source
 * address: --sources N sockets bound to 127.0.0.2, 127.0.0.3, ... (IPv4
 * loopback: 127.0.0.0/8 answers on every address, so no namespace is
 * needed; --first-source K starts K addresses later), each carrying its
 * share of the connections. Modes:
 *   initials      --conns N connections whose Initials (real ClientHellos)
 *                 are sent but whose replies are never read: server state
 *                 that never completes, from many source addresses
 *   junk          --conns N QUIC v1 Initial headers with random DCIDs and
 *                 1200 bytes of garbage (stateless for the server to drop)
 *   never-read    --conns N connections, one session each on --path (e.g.
 *                 /source?bytes=...), whose server streams are never
 *                 consumed (manual credit, nothing returned)
 *   connect-storm --conns N connections, --sessions S CONNECTs each
 *   streams       --conns N connections, one session each, opening bidi
 *                 streams (1 byte each, never finished) as fast as credit
 *                 allows
 *   big-header    --conns N connections, one CONNECT each with a :path of
 *                 --path-bytes bytes
 *   hostile       --conns N connections, --sessions S (default 1) sessions
 *                 each on --path (a "%u" in it becomes the session's
 *                 number, e.g. /pub?ch=h%u), --streams K streams each
 *                 (bidi; uni when the path starts with /pub, the relay's
 *                 publisher), on which it writes --stream-bytes B bytes one
 *                 at a time, each in a STREAM frame of its own (a byte is
 *                 written only when the previous one left), while holding
 *                 its receive windows at --rx-window bytes (initial
 *                 max_stream_data) and never consuming what the server
 *                 sends on those streams: the echo can never drain. Many
 *                 tiny frames for a server to hold (issue 17).
 *   churn         --channels N relay channels made and retired, at most 8
 *                 per 3 of --conns at once, each with a subscriber that
 *                 never reads (churn.h); ends when all are done
 * --rate R starts at most R connections per second; --duration MS bounds
 * the run (default 10000). The tool never waits for anything but the clock.
 * At the end one JSON line of counters goes to stdout (UDP bytes each way,
 * connection outcomes by error code, session outcomes by status, the
 * STOP_SENDING and RESET_STREAM codes the server sent on our streams, "wt:"
 * for a WebTransport code). Exit 0, or
 * 2 for bad arguments, 1 for a socket error. */
#define WT_LOG_MODULE "flood"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "churn.h"
#include "wt_engine.h"
#include "wt_io.h"
#include "wt_log.h"
#include "wt_pump.h"
#include "wt_url.h"

#define FL_MS          UINT64_C(1000000)
#define FL_MAX_SOURCES 1024
#define FL_MAX_CONNS   100000
#define FL_TX_ENTRIES  64
#define FL_TX_BUF      (FL_TX_ENTRIES * 1500)
#define FL_MAX_CODES   16

enum {
  M_INITIALS,
  M_JUNK,
  M_NEVER_READ,
  M_CONNECT_STORM,
  M_STREAMS,
  M_BIG_HEADER,
  M_HOSTILE,
  M_CHURN
};
static const char *const mode_names[] = {"initials", "junk",       "never-read", "connect-storm",
                                         "streams",  "big-header", "hostile",    "churn"};
#define FL_MAX_HSTREAMS 200000

/* hostile mode: one stream it writes to, one byte at a time */
typedef struct hs_stream {
  wt_stream *st; /* NULL once closed */
  wt_session *s;
  uint32_t sent;
} hs_stream;

typedef struct code_count {
  uint64_t code, n;
  int is_app;
} code_count;

typedef struct fl {
  int mode;
  wt_addr server;
  uint32_t n_sources, first_source, n_conns, sessions, rate, path_bytes, channels;
  uint32_t streams, stream_bytes, rx_window; /* hostile */
  int sessions_set, uni;
  uint64_t session_no;
  hs_stream *hs;
  size_t n_hs;
  uint64_t duration_ms;
  const char *path;
  char *big_path;
  int fds[FL_MAX_SOURCES];
  wt_addr src[FL_MAX_SOURCES];
  wt_engine *e;
  wt_pump_tx tx;   /* the engine's packets, before they go to their source socket */
  fl_churn *churn; /* --mode churn */
  /* counters */
  uint64_t conns_started, conn_errors, handshakes, conns_closed, pkts_out, pkts_in, send_errors;
  uint64_t bytes_out, bytes_in;
  uint64_t sessions_requested, sessions_open, sessions_refused, sessions_reset, sessions_closed;
  uint64_t streams_opened, streams_reset_by_peer, stream_bytes_held;
  uint64_t tiny_writes, streams_stopped_by_peer, streams_closed, write_errors;
  code_count codes[FL_MAX_CODES];
  size_t n_codes;
  code_count statuses[FL_MAX_CODES];
  size_t n_statuses;
  code_count stop_codes[FL_MAX_CODES], reset_codes[FL_MAX_CODES]; /* the peer's, on our streams */
  size_t n_stop_codes, n_reset_codes;
} fl;

static volatile sig_atomic_t g_stop;
static void on_signal(int s) {
  (void)s;
  g_stop = 1;
}

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("wtcast-flood: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs(" (--help for usage)\n", stderr);
  exit(2);
}

#define now_ns wt_pump_now

static uint64_t num(const char *opt, const char *v, uint64_t lo, uint64_t hi) {
  uint64_t x;
  if (wt_url_parse_u64(v, 10, hi, &x) < 0 || x < lo) {
    die_usage("%s: '%s' is not a number in %" PRIu64 "..%" PRIu64, opt, v, lo, hi);
  }
  return x;
}

static void count_code(code_count *t, size_t *n, uint64_t code, int is_app) {
  for (size_t i = 0; i < *n; i++) {
    if (t[i].code == code && t[i].is_app == is_app) {
      t[i].n++;
      return;
    }
  }
  if (*n < FL_MAX_CODES) {
    t[*n] = (code_count){code, 1, is_app};
    (*n)++;
  }
}

/* ------------------------------------------------------------ callbacks */

static void hostile_open_streams(fl *f, wt_session *s) {
  for (uint32_t i = 0; i < f->streams && f->n_hs < FL_MAX_HSTREAMS; i++) {
    wt_stream *st;
    if (wt_session_open_stream(s, f->uni ? 0 : 1, &st) != 0) {
      break;
    }
    f->streams_opened++;
    if (!f->uni) {
      (void)wt_stream_set_manual_credit(st, 1); /* and never wt_stream_consume */
    }
    f->hs[f->n_hs] = (hs_stream){.st = st, .s = s};
    wt_stream_set_user(st, (void *)(uintptr_t)(f->n_hs + 1));
    f->n_hs++;
  }
}

/* One byte on every stream whose previous byte has left (so each goes out
 * in a STREAM frame of its own). Returns how many were written. */
static size_t hostile_write(fl *f) {
  size_t n = 0;
  for (size_t i = 0; i < f->n_hs; i++) {
    hs_stream *h = &f->hs[i];
    if (!h->st || h->sent >= f->stream_bytes || wt_stream_send_unsent(h->st) > 0) {
      continue;
    }
    int r = wt_stream_write(h->st, (const uint8_t *)"x", 1, 0);
    if (r == 1) {
      h->sent++;
      f->tiny_writes++;
      n++;
    } else if (r != WT_ERR_AGAIN) {
      f->write_errors++;
      h->st = NULL; /* stopped or closing: leave it */
    }
  }
  return n;
}

static void cb_session_open(void *user, wt_session *s) {
  fl *f = user;
  f->sessions_open++;
  if (f->churn) {
    churn_session_open(f->churn, s);
    return;
  }
  if (f->mode == M_HOSTILE) {
    hostile_open_streams(f, s);
  }
  if (f->mode == M_STREAMS) {
    for (int i = 0; i < 1000; i++) {
      wt_stream *st;
      if (wt_session_open_stream(s, 1, &st) != 0) {
        break;
      }
      f->streams_opened++;
      (void)wt_stream_write(st, (const uint8_t *)"x", 1, 0);
    }
  }
}

static void cb_session_close(void *user, wt_session *s, uint32_t code, const uint8_t *reason,
                             size_t reason_len, int clean) {
  (void)code, (void)reason, (void)reason_len, (void)clean;
  fl *f = user;
  f->sessions_closed++;
  if (f->churn) {
    churn_session_close(f->churn, s);
  }
  for (size_t i = 0; i < f->n_hs; i++) {
    if (f->hs[i].s == s) {
      f->hs[i].st = NULL;
      f->hs[i].s = NULL;
    }
  }
}

static void cb_session_refused(void *user, wt_session *s, int status) {
  fl *f = user;
  if (f->churn) {
    churn_session_refused(f->churn, s, status);
  }
  if (status == 0) {
    f->sessions_reset++;
  } else {
    f->sessions_refused++;
  }
  count_code(f->statuses, &f->n_statuses, (uint64_t)status, 1);
}

static void cb_stream_open(void *user, wt_session *s, wt_stream *st) {
  fl *f = user;
  if (f->churn) {
    churn_stream_open(f->churn, s, st);
  }
  if (f->mode == M_NEVER_READ) {
    (void)wt_stream_set_manual_credit(st, 1); /* and never wt_stream_consume */
  }
}

static void cb_stream_data(void *user, wt_stream *st, const uint8_t *data, size_t len, int fin) {
  (void)data;
  fl *f = user;
  f->stream_bytes_held += len;
  if (f->churn) {
    churn_stream_data(f->churn, st, len, fin);
  }
}

static void cb_stream_reset(void *user, wt_stream *st, uint32_t code, int has_code) {
  fl *f = user;
  f->streams_reset_by_peer++;
  count_code(f->reset_codes, &f->n_reset_codes, code, has_code);
  if (f->churn) {
    churn_stream_reset(f->churn, st);
  }
}

static void cb_stream_stop(void *user, wt_stream *st, uint32_t code, int has_code) {
  (void)st;
  fl *f = user;
  f->streams_stopped_by_peer++;
  count_code(f->stop_codes, &f->n_stop_codes, code, has_code);
}

static void cb_stream_close(void *user, wt_stream *st) {
  fl *f = user;
  uintptr_t k = (uintptr_t)wt_stream_get_user(st);
  if (k > 0 && k <= f->n_hs) {
    f->hs[k - 1].st = NULL;
    f->streams_closed++;
  }
}

static void cb_conn_close(void *user, wt_conn *c, uint64_t code, int is_app) {
  fl *f = user;
  f->conns_closed++;
  if (f->churn) {
    churn_conn_close(f->churn, c);
  }
  count_code(f->codes, &f->n_codes, code, is_app);
}

/* streams mode: more credit came in: open more */
static void cb_stream_writable(void *user, wt_stream *st) {
  (void)user, (void)st;
}

/* ------------------------------------------------------------ sockets */

static int open_sources(fl *f) {
  for (uint32_t i = 0; i < f->n_sources; i++) {
    wt_addr *a = &f->src[i];
    memset(a, 0, sizeof(*a));
    struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;
    in->sin_family = AF_INET;
    /* 127.0.0.2 .. 127.0.0.254, then 127.0.1.2..., from --first-source on */
    uint32_t k = f->first_source + i, host = 2 + k % 253, net = k / 253;
    in->sin_addr.s_addr = htonl(0x7f000000u | net << 8 | host);
    a->len = sizeof(*in);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a->ss, a->len) < 0) {
      fprintf(stderr, "wtcast-flood: socket for source %u: %s\n", i, strerror(errno));
      return -1;
    }
    socklen_t l = sizeof(a->ss);
    getsockname(fd, (struct sockaddr *)&a->ss, &l);
    f->fds[i] = fd;
  }
  return 0;
}

static int source_of(const fl *f, const wt_addr *local) {
  const struct sockaddr_in *x = (const struct sockaddr_in *)&local->ss;
  for (uint32_t i = 0; i < f->n_sources; i++) {
    const struct sockaddr_in *y = (const struct sockaddr_in *)&f->src[i].ss;
    if (x->sin_addr.s_addr == y->sin_addr.s_addr && x->sin_port == y->sin_port) {
      return (int)i;
    }
  }
  return -1;
}

/* The engine's packets (no GSO: one datagram each) from the source socket
 * of their path, drained through the pump's tx fill (client/wt_pump.h). */
static void flush(fl *f, uint64_t now) {
  for (int round = 0; round < 64; round++) {
    int more = wt_pump_tx_fill(&f->tx, f->e, 0, now);
    const wt_tx_batch *b = &f->tx.b;
    for (size_t i = 0; i < b->n; i++) {
      int s = source_of(f, &b->ents[i].path.local);
      if (s < 0) {
        continue;
      }
      if (sendto(f->fds[s], b->ents[i].data, b->ents[i].len, 0, (struct sockaddr *)&f->server.ss,
                 f->server.len) < 0) {
        f->send_errors++;
      } else {
        f->pkts_out++;
        f->bytes_out += b->ents[i].len;
      }
    }
    f->tx.sent = b->n;
    if (more <= 0) {
      return;
    }
  }
}

static void send_junk(fl *f, uint32_t i, uint64_t *rng) {
  uint8_t p[1200];
  for (size_t k = 0; k < sizeof(p); k++) {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    p[k] = (uint8_t)*rng;
  }
  p[0] = 0xc3; /* long header, Initial, 4-byte packet number */
  p[1] = 0, p[2] = 0, p[3] = 0, p[4] = 1;
  p[5] = 8;  /* DCID length (the 8 random bytes after it stay) */
  p[14] = 8; /* SCID length */
  p[23] = 0; /* no token */
  /* Length 1174: packet number and payload fill the datagram exactly, so
   * the server's check (core/wt_initial.h) runs the whole AES-GCM open
   * before it finds the tag wrong: the dearest junk there is. */
  p[24] = 0x44, p[25] = 0x96;
  uint32_t s = i % f->n_sources;
  if (sendto(f->fds[s], p, sizeof(p), 0, (struct sockaddr *)&f->server.ss, f->server.len) < 0) {
    f->send_errors++;
  } else {
    f->pkts_out++;
    f->bytes_out += sizeof(p);
  }
}

static void start_conn(fl *f, uint32_t i, uint64_t now) {
  f->conns_started++;
  wt_path p = {.local = f->src[i % f->n_sources], .remote = f->server};
  wt_conn *c = NULL;
  if (wt_engine_connect(f->e, &p, "localhost", now, &c) != 0) {
    f->conn_errors++;
    return;
  }
  uint32_t ns =
      f->mode == M_CONNECT_STORM || (f->mode == M_HOSTILE && f->sessions_set) ? f->sessions : 1;
  if (f->mode == M_INITIALS || f->mode == M_JUNK) {
    return;
  }
  for (uint32_t k = 0; k < ns; k++) {
    wt_session *s;
    const char *path = f->mode == M_BIG_HEADER ? f->big_path : f->path;
    char numbered[1024];
    const char *pct = strstr(f->path, "%u");
    if (f->mode == M_HOSTILE && pct) {
      snprintf(numbered, sizeof(numbered), "%.*s%" PRIu64 "%s", (int)(pct - f->path), f->path,
               f->session_no++, pct + 2);
      path = numbered;
    }
    if (wt_conn_open_session(c, "localhost", path, NULL, &s) == 0) {
      f->sessions_requested++;
    }
  }
}

static const char usage[] =
    "usage: wtcast-flood --server ADDR:PORT --mode MODE [options]\n"
    "  --mode M         initials | junk | never-read | connect-storm | streams | big-header |\n"
    "                   hostile\n"
    "                   churn\n"
    "  --conns N        connections (or junk packets) in all (default 100)\n"
    "  --sources N      source addresses 127.0.0.2... (default 16, at most 1024)\n"
    "  --first-source K skip the first K of those addresses (default 0)\n"
    "  --rate R         new connections per second at most (default 1000)\n"
    "  --sessions S     connect-storm: CONNECTs per connection (default 64; hostile: 1)\n"
    "  --path P         never-read, hostile: the path (default /source?bytes=100000000);\n"
    "                   hostile: %u becomes the session's number\n"
    "  --streams K      hostile: streams per session (default 64)\n"
    "  --stream-bytes B hostile: bytes written per stream, one per frame (default 4096)\n"
    "  --rx-window W    hostile: the receive window per stream, never consumed (default 256)\n"
    "  --path-bytes N   big-header: :path length (default 65536)\n"
    "  --channels N     churn: relay channels in all (default 1100)\n"
    "  --duration MS    run time (default 10000)\n"
    "One JSON line of counters on stdout at the end.\n";

int main(int argc, char **argv) {
  static fl f;
  f.mode = -1;
  f.n_sources = 16;
  f.n_conns = 100;
  f.rate = 1000;
  f.sessions = 64;
  f.path = "/source?bytes=100000000";
  f.path_bytes = 65536;
  f.duration_ms = 10000;
  f.streams = 64;
  f.stream_bytes = 4096;
  f.rx_window = 256;
  f.channels = 1100;
  const char *server = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(usage, stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      die_usage("%s needs a value (or is unknown)", a);
    }
    const char *v = argv[++i];
    if (!strcmp(a, "--server")) {
      server = v;
    } else if (!strcmp(a, "--mode")) {
      for (int m = 0; m < (int)(sizeof(mode_names) / sizeof(mode_names[0])); m++) {
        if (!strcmp(v, mode_names[m])) {
          f.mode = m;
        }
      }
      if (f.mode < 0) {
        die_usage("--mode: '%s' is not a mode", v);
      }
    } else if (!strcmp(a, "--conns")) {
      f.n_conns = (uint32_t)num(a, v, 1, FL_MAX_CONNS);
    } else if (!strcmp(a, "--sources")) {
      f.n_sources = (uint32_t)num(a, v, 1, FL_MAX_SOURCES);
    } else if (!strcmp(a, "--first-source")) {
      f.first_source = (uint32_t)num(a, v, 0, 253 * 255 - FL_MAX_SOURCES);
    } else if (!strcmp(a, "--rate")) {
      f.rate = (uint32_t)num(a, v, 1, 1000000);
    } else if (!strcmp(a, "--sessions")) {
      f.sessions = (uint32_t)num(a, v, 1, 100000);
      f.sessions_set = 1;
    } else if (!strcmp(a, "--streams")) {
      f.streams = (uint32_t)num(a, v, 1, 1000);
    } else if (!strcmp(a, "--stream-bytes")) {
      f.stream_bytes = (uint32_t)num(a, v, 1, 1u << 30);
    } else if (!strcmp(a, "--rx-window")) {
      f.rx_window = (uint32_t)num(a, v, 64, 1u << 30);
    } else if (!strcmp(a, "--path")) {
      f.path = v;
    } else if (!strcmp(a, "--path-bytes")) {
      f.path_bytes = (uint32_t)num(a, v, 2, 1 << 20);
    } else if (!strcmp(a, "--channels")) {
      f.channels = (uint32_t)num(a, v, 1, 1000000);
    } else if (!strcmp(a, "--duration")) {
      f.duration_ms = num(a, v, 1, 3600000);
    } else {
      die_usage("unknown option '%s'", a);
    }
  }
  wt_io_addr sa;
  if (!server || wt_io_addr_parse(server, &sa) < 0 || sa.ss.ss_family != AF_INET) {
    die_usage("--server ADDR:PORT (IPv4) is required");
  }
  if (f.mode < 0) {
    die_usage("--mode is required");
  }
  if (strlen(f.path) > 900) {
    die_usage("--path: at most 900 bytes");
  }
  f.uni = strncmp(f.path, "/pub", 4) == 0;
  if (f.mode == M_HOSTILE) {
    f.hs = calloc(FL_MAX_HSTREAMS, sizeof(*f.hs));
    if (!f.hs) {
      return 1;
    }
  }
  memcpy(&f.server.ss, &sa.ss, sizeof(sa.ss));
  f.server.len = sa.len;
  wt_log_set_level(WT_LOG_LEVEL_ERROR);
  f.big_path = malloc(f.path_bytes + 1);
  if (!f.big_path) {
    return 1;
  }
  f.big_path[0] = '/';
  memset(f.big_path + 1, 'a', f.path_bytes - 1);
  f.big_path[f.path_bytes] = '\0';
  if (open_sources(&f) < 0) {
    return 1;
  }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  uint64_t t0 = now_ns();
  wt_engine_config cc;
  wt_engine_config_default(&cc, 0);
  cc.insecure = 1;
  cc.max_conns = FL_MAX_CONNS;
  cc.native_crypto = wt_engine_native_crypto_env(getenv("WTCAST_NATIVE_CRYPTO"));
  if (f.mode == M_HOSTILE) {
    cc.initial_max_stream_data = f.rx_window; /* the echo's replies stop there */
  } else if (f.mode == M_CHURN) {
    cc.initial_max_stream_data = 4096; /* the stalled subscriber takes 4 KiB per group */
  }
  wt_engine_callbacks cb = {
      .session_open = cb_session_open,
      .session_close = cb_session_close,
      .session_refused = cb_session_refused,
      .stream_open = cb_stream_open,
      .stream_data = cb_stream_data,
      .stream_reset = cb_stream_reset,
      .stream_stop = cb_stream_stop,
      .stream_close = cb_stream_close,
      .stream_writable = cb_stream_writable,
      .conn_close = cb_conn_close,
  };
  if (wt_engine_new(&f.e, &cc, &cb, &f, t0) != 0) {
    fprintf(stderr, "wtcast-flood: engine: failed\n");
    return 1;
  }
  if (wt_pump_tx_init(&f.tx, FL_TX_ENTRIES, FL_TX_BUF, cc.max_udp_payload) != 0) {
    fprintf(stderr, "wtcast-flood: out of memory\n");
    return 1;
  }
  f.tx.min_room = 1500; /* one datagram */
  if (f.mode == M_CHURN) {
    wt_path paths[FL_MAX_SOURCES];
    for (uint32_t i = 0; i < f.n_sources; i++) {
      paths[i] = (wt_path){.local = f.src[i], .remote = f.server};
    }
    fl_churn_config ccfg = {.channels = f.channels,
                            .n_conns = f.n_conns,
                            .group_bytes = 32768,
                            .groups = 3,
                            .prefix = "churn"};
    f.churn = churn_new(f.e, &ccfg, paths, f.n_sources, t0);
    if (!f.churn) {
      return 1;
    }
  }
  uint64_t rng = 0x9e3779b97f4a7c15ull;
  uint32_t started = 0;
  uint64_t linger_until = 0;
  struct pollfd *pf = calloc(f.n_sources, sizeof(*pf));
  static uint8_t buf[65536];
  while (!g_stop) {
    uint64_t now = now_ns();
    if (now - t0 >= f.duration_ms * FL_MS) {
      break;
    }
    uint64_t due = (now - t0) * f.rate / 1000000000u + 1;
    if (f.churn) {
      churn_step(f.churn, now);
      /* done: 500 ms more for the last CLOSE capsules to go out */
      if (churn_done(f.churn) && !linger_until) {
        linger_until = now + 500 * FL_MS;
      } else if (linger_until && now >= linger_until) {
        break;
      }
    }
    while (!f.churn && started < f.n_conns && started < due) {
      if (f.mode == M_JUNK) {
        send_junk(&f, started, &rng);
      } else {
        start_conn(&f, started, now);
      }
      started++;
    }
    if (wt_engine_next_expiry(f.e) <= now) {
      wt_engine_handle_expiry(f.e, now);
    }
    size_t wrote = f.mode == M_HOSTILE ? hostile_write(&f) : 0;
    flush(&f, now);
    for (uint32_t i = 0; i < f.n_sources; i++) {
      pf[i] = (struct pollfd){.fd = f.fds[i], .events = POLLIN};
    }
    uint64_t next = wt_engine_next_expiry(f.e);
    int timeout = wrote ? 0 : f.mode == M_HOSTILE ? 1 : 10;
    if (next > now && next - now < (uint64_t)timeout * FL_MS) {
      timeout = (int)((next - now) / FL_MS);
    } else if (next <= now) {
      timeout = 0;
    }
    if (poll(pf, f.n_sources, timeout) <= 0) {
      continue;
    }
    now = now_ns();
    for (uint32_t i = 0; i < f.n_sources; i++) {
      for (int k = 0; k < 64 && (pf[i].revents & POLLIN); k++) {
        ssize_t n = recv(f.fds[i], buf, sizeof(buf), 0);
        if (n < 0) {
          break;
        }
        f.pkts_in++;
        f.bytes_in += (uint64_t)n;
        if (f.mode == M_INITIALS || f.mode == M_JUNK) {
          continue; /* never read the replies */
        }
        wt_path p = {.local = f.src[i], .remote = f.server};
        wt_engine_recv(f.e, &p, buf, (size_t)n, 0, now);
      }
    }
  }
  const wt_engine_stats *st = wt_engine_get_stats(f.e);
  printf("{\"type\":\"flood\",\"mode\":\"%s\",\"run_ms\":%" PRIu64 ",\"sources\":%u,"
         "\"conns_started\":%" PRIu64 ",\"conn_errors\":%" PRIu64 ",\"handshakes\":%" PRIu64
         ",\"conns_closed\":%" PRIu64 ",\"pkts_out\":%" PRIu64 ",\"pkts_in\":%" PRIu64
         ",\"send_errors\":%" PRIu64 ",\"bytes_out\":%" PRIu64 ",\"bytes_in\":%" PRIu64
         ",\"sessions_requested\":%" PRIu64 ",\"sessions_open\":%" PRIu64
         ",\"sessions_refused\":%" PRIu64 ",\"sessions_reset\":%" PRIu64
         ",\"sessions_closed\":%" PRIu64 ",\"streams_opened\":%" PRIu64
         ",\"streams_reset_by_peer\":%" PRIu64 ",\"stream_bytes_held\":%" PRIu64
         ",\"tiny_writes\":%" PRIu64 ",\"streams_stopped_by_peer\":%" PRIu64
         ",\"streams_closed\":%" PRIu64 ",\"write_errors\":%" PRIu64 ",\"close_codes\":{",
         mode_names[f.mode], (now_ns() - t0) / FL_MS, f.n_sources,
         f.mode == M_JUNK ? (uint64_t)started : f.conns_started, f.conn_errors, st->handshakes_ok,
         f.conns_closed, f.pkts_out, f.pkts_in, f.send_errors, f.bytes_out, f.bytes_in,
         f.sessions_requested, f.sessions_open, f.sessions_refused, f.sessions_reset,
         f.sessions_closed, f.streams_opened, f.streams_reset_by_peer, f.stream_bytes_held,
         f.tiny_writes, f.streams_stopped_by_peer, f.streams_closed, f.write_errors);
  for (size_t i = 0; i < f.n_codes; i++) {
    printf("%s\"%s0x%" PRIx64 "\":%" PRIu64, i ? "," : "", f.codes[i].is_app ? "app:" : "",
           f.codes[i].code, f.codes[i].n);
  }
  printf("},\"refused_status\":{");
  for (size_t i = 0; i < f.n_statuses; i++) {
    printf("%s\"%" PRIu64 "\":%" PRIu64, i ? "," : "", f.statuses[i].code, f.statuses[i].n);
  }
  printf("},\"stop_codes\":{");
  for (size_t i = 0; i < f.n_stop_codes; i++) {
    printf("%s\"%s0x%" PRIx64 "\":%" PRIu64, i ? "," : "", f.stop_codes[i].is_app ? "wt:" : "",
           f.stop_codes[i].code, f.stop_codes[i].n);
  }
  printf("},\"reset_codes\":{");
  for (size_t i = 0; i < f.n_reset_codes; i++) {
    printf("%s\"%s0x%" PRIx64 "\":%" PRIu64, i ? "," : "", f.reset_codes[i].is_app ? "wt:" : "",
           f.reset_codes[i].code, f.reset_codes[i].n);
  }
  printf("}");
  if (f.churn) {
    churn_report(f.churn, stdout);
  }
  printf("}\n");
  fflush(stdout);
  wt_engine_del(f.e);
  churn_del(f.churn);
  wt_pump_tx_free(&f.tx);
  for (uint32_t i = 0; i < f.n_sources; i++) {
    close(f.fds[i]);
  }
  free(pf);
  free(f.big_path);
  free(f.hs);
  return 0;
}
