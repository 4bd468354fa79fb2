/* wtcast-client: a WebTransport client for tests and measurements.
 *
 *   wtcast-client URL [--cert-hash HEX | --ca FILE | --insecure] [operations] [options]
 *
 * Opens --connections connections to the server in URL, --sessions sessions
 * on each, runs the requested operations on every session, verifies what
 * comes back and prints one JSON object on stdout. Exit status: 0 when
 * everything requested was verified, 1 otherwise, 2 for bad arguments.
 * Logs go to stderr. */
#define WT_LOG_MODULE "client"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "wt_hist.h"
#include "wt_log.h"
#include "wt_utf8.h"

#define CL_MAX_SESSIONS_TOTAL 100000
#define CL_MAX_SEQUENTIAL     1000000
#define CL_MAX_DGRAM_TOTAL    UINT64_C(100000000) /* datagram flags kept in memory */

static void cl_usage(FILE *f) {
  fputs("usage: wtcast-client https://HOST:PORT/path?query [options]\n"
        "  HOST is an IP literal ([v6] in brackets) or localhost.\n"
        "certificate (one of):\n"
        "  --cert-hash HEX     accept the server leaf whose DER has this SHA-256 (64 hex digits)\n"
        "  --ca FILE           verify the server against this CA bundle (PEM)\n"
        "  --insecure          accept any certificate\n"
        "operations (run on every session, all at once):\n"
        "  --echo TEXT         bidi stream: TEXT + FIN out, expect the same back + FIN\n"
        "  --bidi-bytes N      bidi stream: N pseudo-random bytes out, expect them back\n"
        "  --download N        expect one server uni stream of N bytes (i % 251) + FIN\n"
        "  --upload N          uni stream: N bytes + FIN out (for /sink)\n"
        "  --uni N             uni stream: N bytes out, expect them on a server uni stream\n"
        "  --datagrams N       send N numbered datagrams, count and verify the echoes\n"
        "  --dgram-rtt N       send N datagrams one at a time (each after the echo of the\n"
        "                      previous one, or after a 200 ms timeout) and report the\n"
        "                      round-trip times (dgram_rtt: rtt_us p50/p99/min/max/avg)\n"
        "  --dgram-rate N      send N datagrams as fast as the datagram queue takes them,\n"
        "                      at most 64 unanswered; report echoes per second (dgram_rate)\n"
        "  --dgram-size B      payload bytes for --dgram-rtt / --dgram-rate (default 1000)\n"
        "  --expect-push       expect a server bidi stream 'server-bidi-hello' and a server\n"
        "                      uni stream 'server-uni-hello' (each + FIN)\n"
        "  --close CODE:REASON close each session with this code and reason afterwards\n"
        "  --wait-close        after the operations, wait for the server to close the session\n"
        "                      (implied when the URL query has a close= parameter)\n"
        "options:\n"
        "  --sessions N        sessions per connection (default 1)\n"
        "  --connections N     connections in parallel (default 1)\n"
        "  --origin ORIGIN     send this Origin header\n"
        "  --protocols A,B     offer these application protocols (WT-Available-Protocols,\n"
        "                      preferred first); the report names the server's WT-Protocol\n"
        "                      (\"protocol\"); one that was not offered is an error\n"
        "  --protocols-raw V   tests: send WT-Available-Protocols: V exactly as given\n"
        "  --timeout MS        bound for the whole run (default 30000)\n"
        "  --keep-alive MS     PING after MS ms without a packet from the server (0 = off;\n"
        "                      default 15000): a NAT rebinding while only the server sends\n"
        "                      is then noticed\n"
        "  --sequential N      run N connections one after another (each: handshake, CONNECT,\n"
        "                      the operations, close) and report sessions_per_s and latency\n"
        "  --rebind-after MS   after MS ms move to a new UDP socket (new source port), as a\n"
        "                      NAT rebinding looks to the server, and carry on\n"
        "  --hold MS           keep the sessions open MS ms after the operations (a small\n"
        "                      datagram echo every ~100 ms); report how the connection ended\n"
        "fault injection (tests; on the last session of each connection, which runs no\n"
        "operation; the others run theirs):\n"
        "  --inject KIND       stream-header: a bidi stream naming session ID + 1 (expect the\n"
        "                      server to reset it with H3_ID_ERROR 0x108, session kept);\n"
        "                      capsule / capsule-utf8: a CLOSE capsule of length 2 / with a\n"
        "                      non-UTF-8 reason (expect the CONNECT stream reset with\n"
        "                      H3_MESSAGE_ERROR 0x10e, only that session ended)\n"
        "                      fc-overrun: ignore the server's session flow-control limits\n"
        "                      (3 uni streams of 4096 bytes; expect the CONNECT stream reset\n"
        "                      with WT_FLOW_CONTROL_ERROR 0x045d4487; needs --wt-draft 14|16)\n"
        "WebTransport dialect (docs/protocol.md sections 2 and 7):\n"
        "  --wt-draft D        02 (default: 0x2b603742, :protocol webtransport), 07\n"
        "                      (0xc671706a), 14 (0x14e9cd29 + WT_INITIAL_*), 16 (0x2c7cf000\n"
        "                      + WT_INITIAL_*, :protocol webtransport-h3), compat (all)\n"
        "  --wt-max-data B     session flow control we grant (draft 14/16): bytes per session\n"
        "  --wt-max-streams-bidi N, --wt-max-streams-uni N   streams per session\n"
        "  --log-level LEVEL   error|warn|info|debug|trace (default warn), on stderr\n"
        "exit status: 0 all verified, 1 something failed, 2 bad arguments\n",
        f);
}

void cl_error(cl_client *c, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  WT_LOG_INFO("%s", buf);
  wt_errlist_add(&c->errs, buf);
}

/* ------------------------------------------------------------------ arguments */

static int cl_parse_u64(const char *s, uint64_t max, uint64_t *out) {
  return wt_url_parse_u64(s, 0, max, out);
}

/* --protocols a,b: split in place (argv is ours); the engine checks each
 * name again when it serializes the offer. */
static int cl_parse_protocols(cl_opts *o, char *s) {
  o->n_protocols = 0;
  for (char *p = s;;) {
    char *comma = strchr(p, ',');
    if (comma) {
      *comma = '\0';
    }
    size_t n = strlen(p);
    if (n == 0 || n > CL_PROTOCOL_MAX || o->n_protocols == CL_MAX_PROTOCOLS) {
      return -1;
    }
    for (size_t i = 0; i < n; i++) {
      if (p[i] < 0x20 || p[i] > 0x7e) {
        return -1;
      }
    }
    o->protocols[o->n_protocols++] = p;
    if (!comma) {
      return 0;
    }
    p = comma + 1;
  }
}

static int cl_parse_close(cl_opts *o, const char *s) {
  const char *colon = strchr(s, ':');
  char num[32];
  size_t n = colon ? (size_t)(colon - s) : strlen(s);
  if (n == 0 || n >= sizeof(num)) {
    return -1;
  }
  memcpy(num, s, n);
  num[n] = '\0';
  uint64_t code;
  if (cl_parse_u64(num, UINT32_MAX, &code) < 0) {
    return -1;
  }
  const char *reason = colon ? colon + 1 : "";
  if (strlen(reason) > CL_REASON_MAX || !wt_utf8_valid((const uint8_t *)reason, strlen(reason))) {
    return -1;
  }
  o->have_close = 1;
  o->close_code = (uint32_t)code;
  snprintf(o->close_reason, sizeof(o->close_reason), "%s", reason);
  return 0;
}

/* The URL (client/wt_url.h); a close= parameter asks the server to close:
 * wait for it. */
static int cl_parse_url(cl_opts *o, const char *url) {
  char err[300];
  if (wt_url_parse(&o->u, url, err, sizeof(err)) < 0) {
    fprintf(stderr, "wtcast-client: %s\n", err);
    return -1;
  }
  const char *q = strchr(o->u.path, '?');
  for (; q; q = strchr(q + 1, '&')) {
    if (strncmp(q + 1, "close=", 6) == 0) {
      o->wait_close = 1;
    }
  }
  return 0;
}

enum {
  OPT_CERT_HASH = 256,
  OPT_CA,
  OPT_INSECURE,
  OPT_ECHO,
  OPT_BIDI,
  OPT_DOWNLOAD,
  OPT_UPLOAD,
  OPT_UNI,
  OPT_DGRAMS,
  OPT_SESSIONS,
  OPT_CONNS,
  OPT_CLOSE,
  OPT_ORIGIN,
  OPT_PROTOCOLS,
  OPT_PROTOCOLS_RAW,
  OPT_TIMEOUT,
  OPT_PUSH,
  OPT_WAIT_CLOSE,
  OPT_LOG,
  OPT_INJECT,
  OPT_SEQUENTIAL,
  OPT_REBIND_AFTER,
  OPT_HOLD,
  OPT_DGRAM_RTT,
  OPT_DGRAM_RATE,
  OPT_DGRAM_SIZE,
  OPT_WT_DRAFT,
  OPT_WT_MAX_DATA,
  OPT_WT_MAX_BIDI,
  OPT_WT_MAX_UNI,
  OPT_KEEP_ALIVE,
  OPT_HELP,
};

static int cl_parse_args(cl_opts *o, int argc, char **argv) {
  static const struct option longopts[] = {
      {"cert-hash", required_argument, NULL, OPT_CERT_HASH},
      {"ca", required_argument, NULL, OPT_CA},
      {"insecure", no_argument, NULL, OPT_INSECURE},
      {"echo", required_argument, NULL, OPT_ECHO},
      {"bidi-bytes", required_argument, NULL, OPT_BIDI},
      {"download", required_argument, NULL, OPT_DOWNLOAD},
      {"upload", required_argument, NULL, OPT_UPLOAD},
      {"uni", required_argument, NULL, OPT_UNI},
      {"datagrams", required_argument, NULL, OPT_DGRAMS},
      {"sessions", required_argument, NULL, OPT_SESSIONS},
      {"connections", required_argument, NULL, OPT_CONNS},
      {"close", required_argument, NULL, OPT_CLOSE},
      {"origin", required_argument, NULL, OPT_ORIGIN},
      {"protocols", required_argument, NULL, OPT_PROTOCOLS},
      {"protocols-raw", required_argument, NULL, OPT_PROTOCOLS_RAW},
      {"timeout", required_argument, NULL, OPT_TIMEOUT},
      {"expect-push", no_argument, NULL, OPT_PUSH},
      {"wait-close", no_argument, NULL, OPT_WAIT_CLOSE},
      {"log-level", required_argument, NULL, OPT_LOG},
      {"inject", required_argument, NULL, OPT_INJECT},
      {"sequential", required_argument, NULL, OPT_SEQUENTIAL},
      {"rebind-after", required_argument, NULL, OPT_REBIND_AFTER},
      {"hold", required_argument, NULL, OPT_HOLD},
      {"dgram-rtt", required_argument, NULL, OPT_DGRAM_RTT},
      {"dgram-rate", required_argument, NULL, OPT_DGRAM_RATE},
      {"dgram-size", required_argument, NULL, OPT_DGRAM_SIZE},
      {"wt-draft", required_argument, NULL, OPT_WT_DRAFT},
      {"wt-max-data", required_argument, NULL, OPT_WT_MAX_DATA},
      {"wt-max-streams-bidi", required_argument, NULL, OPT_WT_MAX_BIDI},
      {"wt-max-streams-uni", required_argument, NULL, OPT_WT_MAX_UNI},
      {"keep-alive", required_argument, NULL, OPT_KEEP_ALIVE},
      {"help", no_argument, NULL, OPT_HELP},
      {NULL, 0, NULL, 0},
  };
  memset(o, 0, sizeof(*o));
  o->bidi_bytes = o->download = o->upload = o->uni = o->datagrams = -1;
  o->sessions = o->connections = 1;
  o->timeout_ms = 30000;
  o->keep_alive_ms = -1;
  o->dgram_size = CL_DP_DEFAULT_SIZE;
  o->log_level = WT_LOG_LEVEL_WARN;
  o->wt_profile = -1;
  int ch;
  uint64_t v;
  opterr = 0;
  while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    const char *bad = NULL;
    switch (ch) {
    case OPT_CERT_HASH:
      bad = wt_trust_pin(&o->trust, optarg) < 0 ? "--cert-hash wants 64 hex digits" : NULL;
      break;
    case OPT_CA:
      wt_trust_ca(&o->trust, optarg);
      break;
    case OPT_INSECURE:
      wt_trust_insecure(&o->trust);
      break;
    case OPT_ECHO:
      o->echo_text = optarg;
      break;
#define CL_NUM(OPT, field, max, what)                                                              \
  case OPT:                                                                                        \
    if (cl_parse_u64(optarg, (max), &v) < 0) {                                                     \
      bad = what;                                                                                  \
    } else {                                                                                       \
      o->field = v;                                                                                \
    }                                                                                              \
    break;
      CL_NUM(OPT_BIDI, bidi_bytes, UINT64_C(1) << 40, "--bidi-bytes wants a byte count")
      CL_NUM(OPT_DOWNLOAD, download, UINT64_C(1) << 40, "--download wants a byte count")
      CL_NUM(OPT_UPLOAD, upload, UINT64_C(1) << 40, "--upload wants a byte count")
      CL_NUM(OPT_UNI, uni, UINT64_C(1) << 40, "--uni wants a byte count")
      CL_NUM(OPT_DGRAMS, datagrams, UINT32_MAX, "--datagrams wants a count")
      CL_NUM(OPT_TIMEOUT, timeout_ms, UINT64_C(86400000), "--timeout wants milliseconds")
      CL_NUM(OPT_KEEP_ALIVE, keep_alive_ms, UINT64_C(86400000), "--keep-alive wants milliseconds")
#undef CL_NUM
    case OPT_SESSIONS:
      bad = cl_parse_u64(optarg, 10000, &v) < 0 || v == 0 ? "--sessions wants 1..10000" : NULL;
      o->sessions = (uint32_t)v;
      break;
    case OPT_CONNS:
      bad = cl_parse_u64(optarg, 10000, &v) < 0 || v == 0 ? "--connections wants 1..10000" : NULL;
      o->connections = (uint32_t)v;
      break;
    case OPT_CLOSE:
      bad = cl_parse_close(o, optarg) < 0
                ? "--close wants CODE:REASON (32-bit code, UTF-8 reason <= 1024 bytes)"
                : NULL;
      break;
    case OPT_ORIGIN:
      o->origin = optarg;
      break;
    case OPT_PROTOCOLS:
      bad = cl_parse_protocols(o, optarg) < 0
                ? "--protocols wants 1..32 comma-separated names of printable ASCII (<= 255)"
                : NULL;
      break;
    case OPT_PROTOCOLS_RAW:
      o->protocols_raw = optarg;
      break;
    case OPT_PUSH:
      o->expect_push = 1;
      break;
    case OPT_WAIT_CLOSE:
      o->wait_close = 1;
      break;
    case OPT_LOG:
      o->log_level = wt_log_level_parse(optarg);
      bad = o->log_level < 0 ? "--log-level wants error|warn|info|debug|trace" : NULL;
      break;
    case OPT_INJECT:
      o->inject = CL_INJ_NONE;
      for (int k = CL_INJ_STREAM_HEADER; k <= CL_INJ_FC_OVERRUN; k++) {
        o->inject = strcmp(optarg, cl_inject_names[k]) == 0 ? k : o->inject;
      }
      bad = o->inject == CL_INJ_NONE
                ? "--inject wants stream-header|capsule|capsule-utf8|fc-overrun"
                : NULL;
      break;
    case OPT_SEQUENTIAL:
      bad = cl_parse_u64(optarg, CL_MAX_SEQUENTIAL, &v) < 0 || v == 0
                ? "--sequential wants 1..1000000"
                : NULL;
      o->sequential = (uint32_t)v;
      break;
    case OPT_REBIND_AFTER:
      bad = cl_parse_u64(optarg, 86400000, &v) < 0 || v == 0 ? "--rebind-after wants 1..86400000"
                                                             : NULL;
      o->rebind_after_ms = v;
      break;
    case OPT_HOLD:
      bad = cl_parse_u64(optarg, 86400000, &v) < 0 || v == 0 ? "--hold wants 1..86400000" : NULL;
      o->hold_ms = v;
      break;
    case OPT_DGRAM_RTT:
      bad = cl_parse_u64(optarg, CL_MAX_DGRAM_TOTAL, &v) < 0 || v == 0
                ? "--dgram-rtt wants 1..100000000"
                : NULL;
      o->dgram_rtt = v;
      break;
    case OPT_DGRAM_RATE:
      bad = cl_parse_u64(optarg, CL_MAX_DGRAM_TOTAL, &v) < 0 || v == 0
                ? "--dgram-rate wants 1..100000000"
                : NULL;
      o->dgram_rate = v;
      break;
    case OPT_WT_DRAFT:
      o->wt_profile = strcmp(optarg, "02") == 0       ? WT_PROFILE_DRAFT02
                      : strcmp(optarg, "07") == 0     ? WT_PROFILE_DRAFT07
                      : strcmp(optarg, "14") == 0     ? WT_PROFILE_DRAFT14
                      : strcmp(optarg, "16") == 0     ? WT_PROFILE_DRAFT16
                      : strcmp(optarg, "compat") == 0 ? WT_PROFILE_COMPAT
                                                      : -1;
      bad = o->wt_profile < 0 ? "--wt-draft wants 02|07|14|16|compat" : NULL;
      break;
    case OPT_WT_MAX_DATA:
    case OPT_WT_MAX_BIDI:
    case OPT_WT_MAX_UNI:
      if (cl_parse_u64(optarg, ch == OPT_WT_MAX_DATA ? UINT64_C(1) << 40 : 1000000, &v) < 0) {
        bad = "--wt-max-data wants bytes, --wt-max-streams-bidi/-uni a count";
        break;
      }
      if (!o->have_wt_fc) {
        o->have_wt_fc = 1; /* the others keep the engine's defaults */
        wt_engine_config d;
        wt_engine_config_default(&d, 0);
        o->wt_max_data = d.wt_initial_max_data;
        o->wt_max_streams_bidi = d.wt_initial_max_streams_bidi;
        o->wt_max_streams_uni = d.wt_initial_max_streams_uni;
      }
      *(ch == OPT_WT_MAX_DATA   ? &o->wt_max_data
        : ch == OPT_WT_MAX_BIDI ? &o->wt_max_streams_bidi
                                : &o->wt_max_streams_uni) = v;
      break;
    case OPT_DGRAM_SIZE:
      bad = cl_parse_u64(optarg, 65535, &v) < 0 || v < 12 ? "--dgram-size wants 12..65535" : NULL;
      o->dgram_size = v;
      break;
    case OPT_HELP:
    case 'h':
      cl_usage(stdout);
      exit(0);
    default:
      fprintf(stderr, "wtcast-client: unknown or incomplete option '%s'\n", argv[optind - 1]);
      return -1;
    }
    if (bad) {
      fprintf(stderr, "wtcast-client: %s\n", bad);
      return -1;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "wtcast-client: exactly one URL expected\n");
    return -1;
  }
  if (o->trust.given > 1) {
    fprintf(stderr, "wtcast-client: " WT_TRUST_ONE_ERR "\n");
    return -1;
  }
  if (o->sequential && o->connections > 1) {
    fprintf(stderr,
            "wtcast-client: --sequential runs one connection at a time (no --connections)\n");
    return -1;
  }
  o->url = argv[optind];
  if (cl_parse_url(o, o->url) < 0) {
    return -1;
  }
  uint64_t total = (uint64_t)o->sessions * o->connections;
  if (total > CL_MAX_SESSIONS_TOTAL) {
    fprintf(stderr, "wtcast-client: at most %d sessions in all\n", CL_MAX_SESSIONS_TOTAL);
    return -1;
  }
  if ((o->datagrams >= 0) + (o->dgram_rtt > 0) + (o->dgram_rate > 0) > 1) {
    fprintf(stderr, "wtcast-client: use only one of --datagrams, --dgram-rtt, --dgram-rate\n");
    return -1;
  }
  if (total * (o->dgram_rtt * sizeof(uint64_t) + o->dgram_rate) > 8 * CL_MAX_DGRAM_TOTAL) {
    fprintf(stderr, "wtcast-client: too many datagrams in all (sessions x --dgram-rtt/rate)\n");
    return -1;
  }
  if (o->datagrams > 0 && total * (uint64_t)o->datagrams > CL_MAX_DGRAM_TOTAL) {
    fprintf(stderr, "wtcast-client: too many datagrams in all (sessions x datagrams)\n");
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------------ report */

static double cl_ms(uint64_t a, uint64_t b) {
  return b > a ? (double)(b - a) / 1e6 : 0.0;
}

static double cl_mbps(uint64_t bytes, uint64_t a, uint64_t b) {
  return b > a ? (double)bytes * 8.0 / ((double)(b - a) / 1e9) / 1e6 : 0.0;
}

static uint64_t cl_op_bytes(const cl_op *op) {
  return op->tx_total > op->rx_total ? op->tx_total : op->rx_total;
}

static void cl_report_op(wt_json *j, const cl_op *op, const cl_opts *o, int idx) {
  wt_json_begin_obj(j, op->name);
  if (idx == CL_OP_ECHO) {
    wt_json_str(j, "sent", o->echo_text);
    wt_json_strn(j, "received", op->rx_keep, op->rx_keep_len);
  }
  wt_json_u64(j, "bytes", cl_op_bytes(op));
  if (op->tx_local) {
    wt_json_u64(j, "bytes_sent", op->tx_off);
    wt_json_bool(j, "fin_sent", op->tx_fin);
    wt_json_hex64(j, "sent_hash", cl_hash_final(&op->tx_hash));
  }
  if (op->expect_rx) {
    wt_json_u64(j, "bytes_received", op->rx_off);
    wt_json_bool(j, "fin_received", op->rx_fin);
    wt_json_hex64(j, "received_hash", cl_hash_final(&op->rx_hash));
    if (op->mismatch_at >= 0) {
      wt_json_i64(j, "mismatch_at", op->mismatch_at);
    }
  }
  wt_json_bool(j, "verified", op->done && op->ok);
  uint64_t end = op->done ? op->t_end : 0;
  if (op->started && end) {
    wt_json_fixed3(j, "duration_ms", cl_ms(op->t_start, end));
    wt_json_fixed3(j, "rate_mbps", cl_mbps(cl_op_bytes(op), op->t_start, end));
  } else {
    wt_json_null(j, "duration_ms");
    wt_json_null(j, "rate_mbps");
  }
  if (op->expect_rx && op->t_first_rx) {
    wt_json_fixed3(j, "first_byte_ms", cl_ms(op->t_start, op->t_first_rx));
  }
  if (op->err[0]) {
    wt_json_str(j, "error", op->err);
  }
  wt_json_end_obj(j);
}

static const char *cl_outcome(const cl_session *s) {
  switch (s->state) {
  case CL_SS_PENDING:
    return "no_reply";
  case CL_SS_OPEN:
  case CL_SS_CLOSED:
    return "accepted";
  case CL_SS_REFUSED:
    return s->status ? "refused" : "reset";
  case CL_SS_FAILED:
    return s->status == 200 ? "accepted" : "failed";
  default: /* unreachable */
    return "unknown";
  }
}

static void cl_json_hexcode(wt_json *j, const char *key, uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
  wt_json_str(j, key, buf);
}

static void cl_report_inject(wt_json *j, const cl_session *s) {
  const cl_inject *in = &s->inj;
  char hex[2 * sizeof(in->sent) + 1];
  for (size_t i = 0; i < in->sent_len && i < sizeof(in->sent); i++) {
    snprintf(hex + 2 * i, 3, "%02x", in->sent[i]);
  }
  hex[2 * (in->sent_len < sizeof(in->sent) ? in->sent_len : sizeof(in->sent))] = '\0';
  wt_json_begin_obj(j, "inject");
  wt_json_str(j, "kind", cl_inject_names[in->kind]);
  wt_json_str(j, "sent_hex", hex);
  wt_json_u64(j, "expected_code", in->expected_code);
  cl_json_hexcode(j, "expected_code_hex", in->expected_code);
  const char *key = in->kind == CL_INJ_STREAM_HEADER ? "stream_reset_code" : "session_reset_code";
  char hkey[40];
  snprintf(hkey, sizeof(hkey), "%s_hex", key);
  if (in->have_code) {
    wt_json_u64(j, key, in->code);
    cl_json_hexcode(j, hkey, in->code);
    wt_json_str(j, "code_from",
                in->code_how == CL_CODE_RESET_STREAM   ? "reset_stream"
                : in->code_how == CL_CODE_STOP_SENDING ? "stop_sending"
                                                       : "connect_reset");
  } else {
    wt_json_null(j, key);
  }
  if (in->kind == CL_INJ_STREAM_HEADER) {
    if (in->stream_id >= 0) {
      wt_json_i64(j, "stream_id", in->stream_id);
    }
    wt_json_bool(j, "stream_reset", in->reset_seen);
    if (in->reset_seen && in->reset_has_app) {
      wt_json_u64(j, "stream_reset_app_code", in->reset_app);
    }
    wt_json_bool(j, "stream_stop", in->stop_seen);
    wt_json_bool(j, "session_open_after", in->session_open_after);
  } else {
    wt_json_bool(j, "session_closed", in->session_closed);
    if (in->session_closed) {
      wt_json_bool(j, "session_clean", in->session_clean);
      wt_json_u64(j, "session_close_code", in->session_code);
    }
  }
  if (in->done && in->t_start) {
    wt_json_bool(j, "answered", 1);
  }
  wt_json_bool(j, "as_expected", in->done && in->ok);
  if (in->err[0]) {
    wt_json_str(j, "error", in->err);
  }
  wt_json_end_obj(j);
}

/* "rtt_us": p50/p99/min/max/avg of v[0..n) (ns; sorted in place). */
static void cl_report_rtts(wt_json *j, uint64_t *v, size_t n) {
  if (n == 0) {
    wt_json_null(j, "rtt_us");
    return;
  }
  wt_samples_sort(v, n);
  double sum = 0;
  for (size_t i = 0; i < n; i++) {
    sum += (double)v[i];
  }
  wt_json_begin_obj(j, "rtt_us");
  wt_json_fixed3(j, "p50", (double)wt_samples_pct(v, n, 50) / 1e3);
  wt_json_fixed3(j, "p99", (double)wt_samples_pct(v, n, 99) / 1e3);
  wt_json_fixed3(j, "min", (double)v[0] / 1e3);
  wt_json_fixed3(j, "max", (double)v[n - 1] / 1e3);
  wt_json_fixed3(j, "avg", sum / (double)n / 1e3);
  wt_json_end_obj(j);
}

/* Datagram probe figures over sessions s[0..n) of every connection of c
 * (c != NULL), or of the one session s (c == NULL). */
static void cl_report_dprobe(wt_json *j, const cl_client *c, const cl_session *one) {
  uint64_t req = 0, sent = 0, rx = 0, late = 0, bad = 0, dup = 0, t0 = 0, t1 = 0, t_last = 0;
  size_t size = 0;
  int mode = CL_DP_OFF, ok = 1;
  uint64_t *v = NULL;
  size_t nv = 0;
  for (uint32_t i = 0; c ? i < c->n_conns : i < 1; i++) {
    uint32_t ns = c ? c->conns[i].n_sess : 1;
    for (uint32_t k = 0; k < ns; k++) {
      const cl_session *s = c ? &c->conns[i].sess[k] : one;
      const cl_dprobe *p = &s->dp;
      if (p->mode == CL_DP_OFF) {
        continue;
      }
      mode = p->mode;
      size = p->size;
      req += p->n;
      sent += p->sent;
      rx += p->received;
      late += p->late;
      bad += p->bad;
      dup += p->dup;
      ok = ok && p->done && p->ok;
      if (p->t_first_send && (!t0 || p->t_first_send < t0)) {
        t0 = p->t_first_send;
      }
      t1 = p->t_last_rx > t1 ? p->t_last_rx : t1;
      t_last = p->t_last_send > t_last ? p->t_last_send : t_last;
      if (p->rtt_ns && p->received) {
        uint64_t *nvv = realloc(v, (nv + p->received) * sizeof(*v));
        if (nvv) {
          v = nvv;
          memcpy(v + nv, p->rtt_ns, p->received * sizeof(*v));
          nv += p->received;
        }
      }
    }
  }
  if (mode == CL_DP_OFF) {
    free(v);
    return;
  }
  wt_json_begin_obj(j, mode == CL_DP_RTT ? "dgram_rtt" : "dgram_rate");
  wt_json_u64(j, "requested", req);
  wt_json_u64(j, "size", size);
  if (mode == CL_DP_RATE) {
    wt_json_u64(j, "window", CL_DP_WINDOW);
  }
  wt_json_u64(j, "sent", sent);
  wt_json_u64(j, "received", rx);
  wt_json_u64(j, "lost", sent - rx);
  if (mode == CL_DP_RTT) {
    wt_json_u64(j, "late", late);
  } else {
    wt_json_u64(j, "duplicates", dup);
  }
  wt_json_u64(j, "bad", bad);
  wt_json_bool(j, "verified", ok);
  /* first send to last echo (RTT: to the last send if nothing came back) */
  uint64_t end = t1 > t0 ? t1 : t_last;
  double ms = cl_ms(t0, end);
  wt_json_fixed3(j, "duration_ms", ms);
  if (mode == CL_DP_RTT) {
    cl_report_rtts(j, v, nv);
  } else {
    wt_json_fixed3(j, "datagrams_per_s", ms > 0 ? (double)rx * 1000.0 / ms : 0.0);
    wt_json_fixed3(j, "rate_mbps", ms > 0 ? (double)rx * (double)size * 8.0 / (ms * 1000.0) : 0.0);
  }
  if (!c && one->dp.err[0]) {
    wt_json_str(j, "error", one->dp.err);
  }
  wt_json_end_obj(j);
  free(v);
}

/* The server's WT-Protocol (docs/protocol.md section 3): the engine accepts
 * it only as a String that we offered. */
void cl_session_protocol(cl_session *s, wt_session *ws) {
  const char *p = wt_session_protocol(ws);
  snprintf(s->protocol, sizeof(s->protocol), "%s", p ? p : "");
  size_t n = 0;
  const wt_header *h = wt_session_headers(ws, &n);
  for (size_t i = 0; i < n; i++) {
    if (strcmp(h[i].name, "wt-protocol") == 0) {
      snprintf(s->wt_protocol_raw, sizeof(s->wt_protocol_raw), "%s", h[i].value);
      break;
    }
  }
  s->protocol_rejected = wt_session_protocol_rejected(ws);
  if (s->protocol_rejected && s->cl->o->n_protocols) {
    cl_error(s->cl, "conn %u session %u: WT-Protocol %s was not one we offered", s->conn->index,
             s->index, s->wt_protocol_raw);
  }
}

static void cl_report_session(wt_json *j, const cl_session *s, const cl_opts *o) {
  wt_json_begin_obj(j, NULL);
  wt_json_u64(j, "index", s->index);
  if (s->status == 200) {
    wt_json_u64(j, "session_id", s->session_id);
  }
  wt_json_i64(j, "status", s->status);
  wt_json_str(j, "outcome", cl_outcome(s));
  if (o->n_protocols || o->protocols_raw) {
    if (s->protocol[0]) {
      wt_json_str(j, "protocol", s->protocol);
    } else {
      wt_json_null(j, "protocol");
    }
    if (s->wt_protocol_raw[0]) {
      wt_json_str(j, "wt_protocol_header", s->wt_protocol_raw);
    }
    wt_json_bool(j, "protocol_rejected", s->protocol_rejected);
  }
  if (s->t_reply) {
    wt_json_fixed3(j, "reply_ms", cl_ms(s->t_request, s->t_reply));
  }
  wt_json_begin_obj(j, "ops");
  for (int i = 0; i < CL_OP_N; i++) {
    if (s->ops[i].active) {
      cl_report_op(j, &s->ops[i], o, i);
    }
  }
  wt_json_end_obj(j);
  if (s->dg.active) {
    const cl_dgram *d = &s->dg;
    wt_json_begin_obj(j, "datagrams");
    wt_json_u64(j, "requested", d->n);
    wt_json_u64(j, "size", d->size);
    wt_json_u64(j, "sent", d->sent);
    wt_json_u64(j, "received", d->received);
    wt_json_u64(j, "lost", d->sent - d->received);
    wt_json_u64(j, "bad", d->bad);
    wt_json_u64(j, "duplicates", d->dup);
    wt_json_bool(j, "verified", d->done && d->ok);
    if (d->t_start && d->t_last_send) {
      wt_json_fixed3(j, "send_ms", cl_ms(d->t_start, d->t_last_send));
    }
    if (d->err[0]) {
      wt_json_str(j, "error", d->err);
    }
    wt_json_end_obj(j);
  }
  cl_report_dprobe(j, NULL, s);
  if (s->close_sent) {
    wt_json_begin_obj(j, "close_sent");
    wt_json_u64(j, "code", o->close_code);
    wt_json_str(j, "reason", o->close_reason);
    wt_json_end_obj(j);
  }
  if (s->closed) {
    wt_json_begin_obj(j, s->closed_by_server ? "closed_by_server" : "closed");
    wt_json_u64(j, "code", s->close_code);
    wt_json_strn(j, "reason", s->close_reason, s->close_reason ? s->close_reason_len : 0);
    wt_json_bool(j, "clean", s->close_clean);
    wt_json_end_obj(j);
  }
  if (s->drained) {
    wt_json_bool(j, "drain_received", 1);
  }
  if (s->inj.kind) {
    cl_report_inject(j, s);
  }
  if (s->unexpected_streams) {
    wt_json_u64(j, "unexpected_streams", s->unexpected_streams);
  }
  wt_json_bool(j, "verified", cl_session_ok(s));
  wt_json_end_obj(j);
}

typedef struct cl_agg {
  uint64_t count, verified, bytes, t_first, t_last;
  double d_min, d_max, d_sum;
} cl_agg;

static void cl_report_totals(wt_json *j, const cl_client *c, uint64_t t_end) {
  uint64_t accepted = 0, refused = 0, reset = 0, other = 0, ok = 0, dg_sent = 0, dg_rx = 0;
  uint64_t hs_n = 0;
  double hs_min = 0, hs_max = 0, hs_sum = 0;
  cl_agg agg[CL_OP_N];
  memset(agg, 0, sizeof(agg));
  for (uint32_t i = 0; i < c->n_conns; i++) {
    const cl_conn *cn = &c->conns[i];
    if (cn->t_first_reply) {
      double hs = cl_ms(cn->t_start, cn->t_first_reply);
      hs_min = hs_n == 0 || hs < hs_min ? hs : hs_min;
      hs_max = hs > hs_max ? hs : hs_max;
      hs_sum += hs;
      hs_n++;
    }
    for (uint32_t k = 0; k < cn->n_sess; k++) {
      const cl_session *s = &cn->sess[k];
      const char *out = cl_outcome(s);
      accepted += strcmp(out, "accepted") == 0;
      refused += strcmp(out, "refused") == 0;
      reset += strcmp(out, "reset") == 0;
      other += strcmp(out, "no_reply") == 0 || strcmp(out, "failed") == 0;
      ok += cl_session_ok(s);
      dg_sent += s->dg.sent + s->dp.sent;
      dg_rx += s->dg.received + s->dp.received;
      for (int x = 0; x < CL_OP_N; x++) {
        const cl_op *op = &s->ops[x];
        if (!op->active) {
          continue;
        }
        cl_agg *a = &agg[x];
        a->count++;
        if (!(op->done && op->ok)) {
          continue;
        }
        double d = cl_ms(op->t_start, op->t_end);
        a->d_min = a->verified == 0 || d < a->d_min ? d : a->d_min;
        a->d_max = d > a->d_max ? d : a->d_max;
        a->d_sum += d;
        a->verified++;
        a->bytes += cl_op_bytes(op);
        a->t_first = !a->t_first || op->t_start < a->t_first ? op->t_start : a->t_first;
        a->t_last = op->t_end > a->t_last ? op->t_end : a->t_last;
      }
    }
  }
  wt_json_begin_obj(j, "totals");
  wt_json_u64(j, "connections", c->n_conns);
  wt_json_u64(j, "sessions", (uint64_t)c->n_conns * c->o->sessions);
  wt_json_u64(j, "sessions_accepted", accepted);
  wt_json_u64(j, "sessions_refused", refused);
  wt_json_u64(j, "sessions_reset", reset);
  wt_json_u64(j, "sessions_failed", other);
  wt_json_u64(j, "sessions_verified", ok);
  if (hs_n) {
    wt_json_fixed3(j, "handshake_ms_min", hs_min);
    wt_json_fixed3(j, "handshake_ms_avg", hs_sum / (double)hs_n);
    wt_json_fixed3(j, "handshake_ms_max", hs_max);
  }
  wt_json_u64(j, "bytes_sent", c->bytes_sent);
  wt_json_u64(j, "bytes_received", c->bytes_received);
  wt_json_u64(j, "datagrams_sent", dg_sent);
  wt_json_u64(j, "datagrams_received", dg_rx);
  wt_json_u64(j, "datagrams_lost", dg_sent - dg_rx);
  wt_json_begin_obj(j, "ops");
  for (int x = 0; x < CL_OP_N; x++) {
    const cl_agg *a = &agg[x];
    if (!a->count) {
      continue;
    }
    wt_json_begin_obj(j, cl_op_names[x]);
    wt_json_u64(j, "count", a->count);
    wt_json_u64(j, "verified", a->verified);
    wt_json_u64(j, "bytes", a->bytes);
    if (a->verified) {
      wt_json_fixed3(j, "duration_ms_min", a->d_min);
      wt_json_fixed3(j, "duration_ms_avg", a->d_sum / (double)a->verified);
      wt_json_fixed3(j, "duration_ms_max", a->d_max);
      wt_json_fixed3(j, "aggregate_rate_mbps", cl_mbps(a->bytes, a->t_first, a->t_last));
    }
    wt_json_end_obj(j);
  }
  wt_json_end_obj(j);
  wt_json_fixed3(j, "duration_ms", cl_ms(c->t0, t_end));
  wt_json_end_obj(j);
}

static void cl_report_sequential(wt_json *j, const cl_client *c) {
  wt_json_begin_obj(j, "sequential");
  wt_json_u64(j, "requested", c->o->sequential);
  wt_json_u64(j, "completed", c->seq_done);
  wt_json_u64(j, "verified", c->seq_ok);
  double total_ms = cl_ms(c->seq_t0, c->seq_t1);
  wt_json_fixed3(j, "total_ms", total_ms);
  wt_json_fixed3(j, "sessions_per_s",
                 total_ms > 0 ? (double)c->seq_done * (double)c->o->sessions * 1000.0 / total_ms
                              : 0.0);
  if (c->seq_done && c->seq_lat) {
    uint64_t *v = malloc(c->seq_done * sizeof(*v));
    if (v) {
      memcpy(v, c->seq_lat, c->seq_done * sizeof(*v));
      wt_samples_sort(v, c->seq_done);
      double sum = 0;
      for (uint32_t i = 0; i < c->seq_done; i++) {
        sum += (double)v[i];
      }
      wt_json_begin_obj(j, "latency_ms");
      wt_json_fixed3(j, "min", (double)v[0] / 1e6);
      wt_json_fixed3(j, "p50", (double)wt_samples_pct(v, c->seq_done, 50) / 1e6);
      wt_json_fixed3(j, "p99", (double)wt_samples_pct(v, c->seq_done, 99) / 1e6);
      wt_json_fixed3(j, "max", (double)v[c->seq_done - 1] / 1e6);
      wt_json_fixed3(j, "avg", sum / (double)c->seq_done / 1e6);
      wt_json_end_obj(j);
      free(v);
    }
  }
  wt_json_end_obj(j);
}

static void cl_report(const cl_client *c, uint64_t t_end, int ok) {
  const cl_opts *o = c->o;
  wt_json j;
  wt_json_init(&j, stdout, 1);
  char addr[WT_IO_ADDR_STRLEN];
  wt_json_begin_obj(&j, NULL);
  wt_json_str(&j, "url", o->url);
  wt_json_str(&j, "authority", o->u.authority);
  wt_json_str(&j, "path", o->u.path);
  if (wt_io_addr_format(&o->u.peer, addr, sizeof(addr)) >= 0) {
    wt_json_str(&j, "peer", addr);
  }
  if (c->io && wt_io_addr_format((const wt_io_addr *)&c->path.local, addr, sizeof(addr)) >= 0) {
    wt_json_str(&j, "local", addr);
  }
  wt_json_bool(&j, "ok", ok);
  wt_json_bool(&j, "timed_out", c->timed_out);
  if (o->rebind_after_ms) {
    wt_json_begin_obj(&j, "rebind");
    wt_json_u64(&j, "after_ms", o->rebind_after_ms);
    wt_json_bool(&j, "done", c->rebound && !c->rebind_err[0]);
    wt_json_str(&j, "method", "ngtcp2_conn_set_local_addr (NAT rebinding: new socket, same CIDs)");
    if (c->rebound) {
      wt_json_fixed3(&j, "at_ms", cl_ms(c->t0, c->t_rebind));
      wt_json_u64(&j, "old_port", c->old_port);
      wt_json_u64(&j, "new_port", c->new_port);
    }
    if (c->rebind_err[0]) {
      wt_json_str(&j, "error", c->rebind_err);
    }
    wt_json_end_obj(&j);
  }
  wt_json_begin_arr(&j, "connections");
  for (uint32_t i = 0; c->conns && i < c->n_conns; i++) {
    const cl_conn *cn = &c->conns[i];
    wt_json_begin_obj(&j, NULL);
    wt_json_u64(&j, "index", cn->index);
    if (cn->t_first_reply) {
      wt_json_fixed3(&j, "handshake_ms", cl_ms(cn->t_start, cn->t_first_reply));
    } else {
      wt_json_null(&j, "handshake_ms");
    }
    wt_json_bool(&j, "closed_by_us", cn->closed_by_us);
    if (cn->conn_closed) {
      wt_json_begin_obj(&j, "conn_close");
      wt_json_u64(&j, "error_code", cn->close_error);
      wt_json_bool(&j, "application", cn->close_is_app);
      wt_json_end_obj(&j);
    }
    if (o->hold_ms) {
      wt_json_begin_obj(&j, "hold");
      wt_json_u64(&j, "ms", o->hold_ms);
      wt_json_bool(&j, "started", cn->hold_start != 0);
      wt_json_u64(&j, "datagrams_sent", cn->hold_sent);
      wt_json_end_obj(&j);
      if (cn->closed_in_hold) {
        /* how the connection ended while held (not by us) */
        wt_json_begin_obj(&j, "conn_closed");
        wt_json_u64(&j, "code", cn->close_error);
        wt_json_bool(&j, "application", cn->close_is_app);
        wt_json_bool(&j, "stateless_reset", cn->stateless_reset);
        wt_json_fixed3(&j, "after_ms", cl_ms(cn->hold_start, cn->t_close));
        wt_json_end_obj(&j);
      }
    }
    wt_json_begin_arr(&j, "sessions");
    for (uint32_t k = 0; k < cn->n_sess; k++) {
      cl_report_session(&j, &cn->sess[k], o);
    }
    wt_json_end_arr(&j);
    wt_json_end_obj(&j);
  }
  wt_json_end_arr(&j);
  wt_json_begin_arr(&j, "errors");
  for (size_t i = 0; i < c->errs.n; i++) {
    wt_json_str(&j, NULL, c->errs.v[i]);
  }
  wt_json_end_arr(&j);
  if (c->conns && c->n_conns) {
    cl_report_totals(&j, c, t_end);
  }
  if (o->sequential) {
    cl_report_sequential(&j, c);
  }
  if (c->conns && c->n_conns) {
    cl_report_dprobe(&j, c, NULL); /* every session together */
  }
  if (c->eng) {
    const wt_engine_stats *st = wt_engine_get_stats(c->eng);
    wt_json_begin_obj(&j, "engine");
    wt_json_u64(&j, "pkts_in", st->pkts_in);
    wt_json_u64(&j, "pkts_out", st->pkts_out);
    wt_json_u64(&j, "bytes_in", st->bytes_in);
    wt_json_u64(&j, "bytes_out", st->bytes_out);
    wt_json_u64(&j, "pkts_dropped", st->pkts_dropped);
    wt_json_u64(&j, "datagrams_dropped", st->datagrams_dropped);
    wt_json_u64(&j, "errors_proto", st->errors_proto);
    wt_json_u64(&j, "errors_internal", st->errors_internal);
    wt_json_begin_obj(&j, "flow_control");
    wt_json_u64(&j, "sessions", st->fc_sessions);
    wt_json_u64(&j, "blocked_recv", st->fc_blocked_recv);
    wt_json_u64(&j, "updates_sent", st->fc_updates_sent);
    wt_json_u64(&j, "data_blocked", st->fc_data_blocked);
    wt_json_u64(&j, "streams_blocked", st->fc_streams_blocked);
    wt_json_u64(&j, "errors", st->fc_errors);
    wt_json_end_obj(&j);
    wt_json_end_obj(&j);
  }
  wt_json_end_obj(&j);
  fflush(stdout);
}

/* ------------------------------------------------------------------ setup */

static int cl_setup(cl_client *c, const wt_engine_callbacks *cb) {
  const cl_opts *o = c->o;
  char err[200];
  int r =
      wt_pump_open_socket(&o->u.peer, WT_IO_BACKEND_AUTO, &c->io, &c->path.local, err, sizeof(err));
  if (r < 0) {
    cl_error(c, "%s", err);
    return r;
  }
  memcpy(&c->path.remote, &o->u.peer, sizeof(c->path.remote));

  wt_engine_config ec;
  wt_engine_config_default(&ec, 0);
  wt_trust_apply(&o->trust, &ec, 0);
  ec.native_crypto = wt_engine_native_crypto_env(getenv("WTCAST_NATIVE_CRYPTO"));
  if (ec.max_sessions_per_conn < o->sessions) {
    ec.max_sessions_per_conn = o->sessions;
  }
  if (o->wt_profile >= 0) {
    ec.wt_profile = o->wt_profile;
  }
  if (o->keep_alive_ms >= 0) {
    ec.keep_alive_ns = (uint64_t)o->keep_alive_ms * UINT64_C(1000000);
  }
  if (o->have_wt_fc) {
    ec.wt_initial_max_data = o->wt_max_data;
    ec.wt_initial_max_streams_bidi = o->wt_max_streams_bidi;
    ec.wt_initial_max_streams_uni = o->wt_max_streams_uni;
    ec.wt_max_data_window = 0; /* 4 x the initial window */
  }
  c->max_udp_payload = ec.max_udp_payload ? ec.max_udp_payload : 1452;
  r = wt_engine_new(&c->eng, &ec, cb, c, cl_now());
  if (r < 0) {
    c->eng = NULL;
    cl_error(c, "cannot create the engine: %s", wt_err_str(r));
    return r;
  }
  return 0;
}

static int cl_start(cl_client *c) {
  const cl_opts *o = c->o;
  c->n_conns = o->connections;
  c->conns = calloc(c->n_conns, sizeof(*c->conns));
  if (!c->conns) {
    cl_error(c, "out of memory");
    return WT_ERR_NOMEM;
  }
  for (uint32_t i = 0; i < c->n_conns; i++) {
    cl_conn *cn = &c->conns[i];
    cn->cl = c;
    cn->index = i;
    cn->n_sess = o->sessions;
    cn->sess = calloc(cn->n_sess, sizeof(*cn->sess));
    if (!cn->sess) {
      cn->n_sess = 0;
      cn->state = CL_CS_CLOSED;
      cl_error(c, "out of memory");
      return WT_ERR_NOMEM;
    }
    for (uint32_t k = 0; k < cn->n_sess; k++) {
      cl_session *s = &cn->sess[k];
      s->conn = cn;
      s->cl = c;
      s->index = k;
      s->state = CL_SS_FAILED;
      if (cl_session_setup(s) < 0) {
        cl_error(c, "out of memory");
        return WT_ERR_NOMEM;
      }
    }
  }
  for (uint32_t i = 0; i < c->n_conns; i++) {
    cl_conn *cn = &c->conns[i];
    uint64_t now = cl_now();
    cn->t_start = now;
    int r = wt_engine_connect(c->eng, &c->path, c->o->u.host, now, &cn->wc);
    if (r < 0) {
      cn->wc = NULL;
      cn->state = CL_CS_CLOSED;
      for (uint32_t k = 0; k < cn->n_sess; k++) {
        cn->sess[k].finished = 1;
      }
      cl_error(c, "conn %u: connect failed: %s", i, wt_err_str(r));
      continue;
    }
    wt_conn_set_user(cn->wc, cn);
    for (uint32_t k = 0; k < cn->n_sess; k++) {
      cl_session *s = &cn->sess[k];
      s->t_request = now;
      wt_session_opts so = {.origin = o->origin,
                            .protocols = o->protocols,
                            .n_protocols = o->n_protocols,
                            .protocols_raw = o->protocols_raw};
      r = wt_conn_open_session_opts(cn->wc, o->u.authority, o->u.path, &so, &s->ws);
      if (r < 0) {
        s->ws = NULL;
        s->finished = 1;
        cl_error(c, "conn %u session %u: cannot open: %s", i, k, wt_err_str(r));
        continue;
      }
      s->state = CL_SS_PENDING;
      wt_session_set_user(s->ws, s);
    }
  }
  return 0;
}

/* detach: the engine lives on (--sequential) and may still hold
 * connections that are closing: detach them (and their sessions and
 * streams) from what is freed here. Without it the engine must be gone. */
static void cl_free_conns(cl_client *c, int detach) {
  if (detach) {
    cl_srefs_orphan_all();
  }
  for (uint32_t i = 0; detach && c->conns && i < c->n_conns; i++) {
    cl_conn *cn = &c->conns[i];
    if (cn->wc) {
      wt_conn_set_user(cn->wc, NULL);
      cn->wc = NULL;
    }
    for (uint32_t k = 0; k < cn->n_sess; k++) {
      if (cn->sess[k].ws) {
        wt_session_set_user(cn->sess[k].ws, NULL);
        cn->sess[k].ws = NULL;
      }
    }
  }
  for (uint32_t i = 0; c->conns && i < c->n_conns; i++) {
    for (uint32_t k = 0; k < c->conns[i].n_sess; k++) {
      cl_session_free(&c->conns[i].sess[k]);
    }
    free(c->conns[i].sess);
  }
  free(c->conns);
  c->conns = NULL;
  c->n_conns = 0;
}

static int cl_all_ok(const cl_client *c) {
  int ok = 1;
  for (uint32_t i = 0; i < c->n_conns; i++) {
    for (uint32_t k = 0; k < c->conns[i].n_sess; k++) {
      ok = ok && cl_session_ok(&c->conns[i].sess[k]);
    }
  }
  return ok;
}

/* --sequential: one connection at a time on the same engine and socket.
 * The report keeps the last connection's details. */
static int cl_run_sequential(cl_client *c) {
  uint32_t n = c->o->sequential;
  c->seq_lat = calloc(n, sizeof(*c->seq_lat));
  if (!c->seq_lat) {
    cl_error(c, "out of memory");
    return 0;
  }
  int ok = 1;
  c->seq_t0 = cl_now();
  for (uint32_t i = 0; i < n && !c->timed_out; i++) {
    if (i > 0) {
      cl_free_conns(c, 1);
    }
    uint64_t errs = c->errs.total;
    if (cl_start(c) != 0) {
      ok = 0;
      break;
    }
    cl_run(c);
    uint64_t now = cl_now();
    const cl_conn *cn = &c->conns[0];
    uint64_t end = cn->t_done ? cn->t_done : now;
    c->seq_lat[c->seq_done++] = end > cn->t_start ? end - cn->t_start : 0;
    int this_ok = cl_all_ok(c) && c->errs.total == errs && !c->timed_out;
    c->seq_ok += (uint32_t)this_ok;
    ok = ok && this_ok;
  }
  c->seq_t1 = cl_now();
  return ok && !c->timed_out && c->errs.total == 0;
}

static void cl_free(cl_client *c) {
  if (c->eng) {
    wt_engine_del(c->eng);
  }
  cl_srefs_free_all();
  cl_free_conns(c, 0);
  free(c->seq_lat);
  wt_io_close(c->io);
  wt_errlist_free(&c->errs);
  free(c->scratch);
}

int main(int argc, char **argv) {
  cl_opts o;
  if (cl_parse_args(&o, argc, argv) < 0) {
    fprintf(stderr, "run 'wtcast-client --help' for the options\n");
    return 2;
  }
  wt_log_set_level(o.log_level);
  cl_client c;
  memset(&c, 0, sizeof(c));
  c.o = &o;
  c.t0 = cl_now();
  c.deadline = c.t0 + o.timeout_ms * UINT64_C(1000000);
  c.scratch = malloc(CL_SCRATCH);
  wt_engine_callbacks cb;
  cl_callbacks(&cb);
  int ok = 0;
  if (c.scratch && o.sequential && cl_setup(&c, &cb) == 0) {
    ok = cl_run_sequential(&c);
  } else if (c.scratch && !o.sequential && cl_setup(&c, &cb) == 0 && cl_start(&c) == 0) {
    cl_run(&c);
    ok = c.errs.total == 0 && !c.timed_out && cl_all_ok(&c);
  } else if (!c.scratch) {
    cl_error(&c, "out of memory");
  }
  cl_report(&c, cl_now(), ok);
  cl_free(&c);
  return ok ? 0 : 1;
}
