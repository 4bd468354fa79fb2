/* fanout_main.c: wtcast-bench --scenario fanout --verify, the load
 * generator and verifier for the live fan-out relay.
 *
 *   wtcast-bench --scenario fanout --verify --url https://HOST:PORT --ch NAME
 *                [--cert-hash HEX | --insecure] [options]
 *
 * Runs 1 publisher (/pub?ch=NAME) and K subscribers (/sub?ch=NAME), each on
 * its own connection, in one single-threaded process (or only one of the
 * roles), verifies every byte delivered and prints the figures (--json: one
 * JSON object). The message format is described in fanout.h and --help.
 * Exit status: 0 nothing wrong was seen, 1 corrupt / torn / duplicate data,
 * a session that failed, or a publisher that could not publish everything,
 * 2 bad arguments. Logs go to stderr. */
#define WT_LOG_MODULE "fanout"

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
#include <time.h>
#include <unistd.h>

#include "fanout.h"
#include "wt_log.h"

#define FO_MAX_ENDPOINTS  20000
#define FO_MAX_COUNT      (UINT64_C(1) << 32)
#define FO_DEF_DGRAM_QUEU 1024

void fo_error(fo_client *c, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  WT_LOG_INFO("%s", buf);
  wt_errlist_add(&c->errs, buf);
}

static void fo_usage(FILE *f) {
  fputs("usage: wtcast-bench --scenario fanout --verify --url https://HOST:PORT[/prefix]\n"
        "                    --ch NAME [--cert-hash HEX | --insecure] [options]\n"
        "One publisher (/pub?ch=NAME) and K subscribers (/sub?ch=NAME) of wtcast's fan-out\n"
        "relay, each on its own connection, in one single-threaded process: the publisher\n"
        "sends numbered messages, every subscriber verifies and times what it receives.\n"
        "  --url URL           server (HOST is an IP literal or localhost); a path is a prefix\n"
        "  --cert-hash HEX     accept the server leaf whose DER has this SHA-256\n"
        "  --insecure          accept any certificate\n"
        "  --ch NAME           channel (1-64 of [A-Za-z0-9_.-]; not checked here, so a test\n"
        "                      can send a bad one)\n"
        "  --role R            pub | sub | both (default both)\n"
        "  --subs K            subscribers (default 1; role sub/both)\n"
        "  --late-join J       J more subscribers that join once half the messages were\n"
        "                      published (role sub: seen) (default 0)\n"
        "  --transport T       datagram | stream | both (default both: every message goes\n"
        "                      out as a datagram and as a stream record)\n"
        "  --count N           messages (default 1000)\n"
        "  --size BYTES        message size, >= 16 (default 1000)\n"
        "  --rate R            messages/s; 0 = as fast as flow and congestion control\n"
        "                      allow (default 1000)\n"
        "  --group-msgs G      messages per publisher uni stream (default 100)\n"
        "  --pubs P            role sub: publishers to expect one after another (default 1)\n"
        "  --pub-id ID         publisher id 1..16777215 in every seq (default random)\n"
        "  --group-hdr N       role pub: declare the first N bytes (0..64) of each group\n"
        "                      its header (/pub?hdr=N): 20 = the first record's length,\n"
        "                      seq and time, so a lagged reset still names its group\n"
        "                      (default 0: none)\n"
        "  --expect-status S   role pub: the status the /pub CONNECT must get (e.g. 409);\n"
        "                      getting it is success\n"
        "  --timeout S         bound for the whole run in seconds (default 60)\n"
        "  --idle MS           end once no data arrived for MS ms after the publisher is\n"
        "                      done (role sub: after the first data) (default 2000)\n"
        "  --linger MS         role pub: keep the session MS ms after every group was\n"
        "                      acknowledged (default 500)\n"
        "  --max-handshakes N  connections being set up at once (default 64)\n"
        "  --dgram-queue N     outgoing datagrams queued per connection (default 1024)\n"
        "  --server-pid PID    report the server's CPU time (utime+stime) over the run\n"
        "  --ready-file FILE   write our pid to FILE once every initial session answered\n"
        "  --io B              auto | uring | portable (default auto)\n"
        "  --json              print one JSON object (default: a few lines of text)\n"
        "  --moq               through the moq-lite relay instead (/moq/NAME, moq-lite-04):\n"
        "                      broadcast b, track t, one moq frame per record; streams\n"
        "                      only (--role sub: subscribes at once, e.g. on an edge)\n"
        "  --log-level L       error|warn|info|debug|trace (default warn), on stderr\n"
        "Message (M = --size bytes, little-endian): seq u64 = (publisher id << 40) | index,\n"
        "publish time u64 (CLOCK_MONOTONIC ns), then byte k = b(seq) + 31 k (mod 256) for\n"
        "k = 16..M-1, b(seq) = top byte of seq * 0x9E3779B97F4A7C15. A datagram is one\n"
        "message; a publisher uni stream (group) holds G records (u32 length M + message)\n"
        "of consecutive indexes starting at a multiple of G, then FIN. Subscribers count\n"
        "unique, duplicate and corrupt datagrams; complete, reset (by code: 0x10 lagged,\n"
        "0x11 publisher gone), torn (a gap or a FIN inside the group) and duplicate groups;\n"
        "latency = receive time - publish time (a stream record: when its last byte\n"
        "arrived). Subscriber processes must get the same --count/--size/--group-msgs/\n"
        "--transport as the publisher.\n"
        "exit status: 0 nothing wrong seen, 1 corrupt/torn/duplicate data, a failed session\n"
        "or an unfinished publisher, 2 bad arguments\n",
        f);
}

/* ------------------------------------------------------------------ arguments */

static int fo_parse_u64(const char *s, uint64_t max, uint64_t *out) {
  return wt_url_parse_u64(s, 10, max, out);
}

static int fo_parse_url(fo_opts *o, const char *url) {
  char err[300];
  if (wt_url_parse(&o->u, url, err, sizeof(err)) < 0 ||
      wt_url_base_path(&o->u, o->base_path, sizeof(o->base_path)) < 0) {
    return -1;
  }
  return 0;
}

enum {
  OPT_URL = 256,
  OPT_CERT_HASH,
  OPT_INSECURE,
  OPT_CH,
  OPT_ROLE,
  OPT_SUBS,
  OPT_LATE,
  OPT_TRANSPORT,
  OPT_COUNT,
  OPT_SIZE,
  OPT_RATE,
  OPT_GROUP,
  OPT_PUBS,
  OPT_PUB_ID,
  OPT_GROUP_HDR,
  OPT_EXPECT,
  OPT_TIMEOUT,
  OPT_IDLE,
  OPT_LINGER,
  OPT_MAX_HS,
  OPT_DGQ,
  OPT_SERVER_PID,
  OPT_READY,
  OPT_IO,
  OPT_JSON,
  OPT_MOQ,
  OPT_LOG,
  OPT_HELP,
};

static int fo_parse_args(fo_opts *o, int argc, char **argv) {
  static const struct option longopts[] = {
      {"url", required_argument, NULL, OPT_URL},
      {"cert-hash", required_argument, NULL, OPT_CERT_HASH},
      {"insecure", no_argument, NULL, OPT_INSECURE},
      {"ch", required_argument, NULL, OPT_CH},
      {"role", required_argument, NULL, OPT_ROLE},
      {"subs", required_argument, NULL, OPT_SUBS},
      {"late-join", required_argument, NULL, OPT_LATE},
      {"transport", required_argument, NULL, OPT_TRANSPORT},
      {"count", required_argument, NULL, OPT_COUNT},
      {"size", required_argument, NULL, OPT_SIZE},
      {"rate", required_argument, NULL, OPT_RATE},
      {"group-msgs", required_argument, NULL, OPT_GROUP},
      {"pubs", required_argument, NULL, OPT_PUBS},
      {"pub-id", required_argument, NULL, OPT_PUB_ID},
      {"group-hdr", required_argument, NULL, OPT_GROUP_HDR},
      {"expect-status", required_argument, NULL, OPT_EXPECT},
      {"timeout", required_argument, NULL, OPT_TIMEOUT},
      {"idle", required_argument, NULL, OPT_IDLE},
      {"linger", required_argument, NULL, OPT_LINGER},
      {"max-handshakes", required_argument, NULL, OPT_MAX_HS},
      {"dgram-queue", required_argument, NULL, OPT_DGQ},
      {"server-pid", required_argument, NULL, OPT_SERVER_PID},
      {"ready-file", required_argument, NULL, OPT_READY},
      {"io", required_argument, NULL, OPT_IO},
      {"json", no_argument, NULL, OPT_JSON},
      {"moq", no_argument, NULL, OPT_MOQ},
      {"log-level", required_argument, NULL, OPT_LOG},
      {"help", no_argument, NULL, OPT_HELP},
      {NULL, 0, NULL, 0},
  };
  memset(o, 0, sizeof(*o));
  o->role = FO_ROLE_BOTH;
  o->transport = FO_TX_BOTH;
  o->subs = 1;
  o->count = 1000;
  o->size = 1000;
  o->rate = 1000;
  o->group = 100;
  o->pubs = 1;
  o->timeout_ms = 60000;
  o->idle_ms = 2000;
  o->linger_ms = 500;
  o->max_handshakes = 64;
  o->dgram_queue = FO_DEF_DGRAM_QUEU;
  o->log_level = WT_LOG_LEVEL_WARN;
  int ch;
  uint64_t v = 0;
  opterr = 0;
  while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    const char *bad = NULL;
    switch (ch) {
    case OPT_URL:
      o->url = optarg;
      bad =
          fo_parse_url(o, optarg) < 0 ? "--url wants https://IP-or-localhost:PORT[/prefix]" : NULL;
      break;
    case OPT_CERT_HASH:
      bad = wt_trust_pin(&o->trust, optarg) < 0 ? "--cert-hash wants 64 hex digits" : NULL;
      break;
    case OPT_INSECURE:
      wt_trust_insecure(&o->trust);
      break;
    case OPT_CH:
      bad = strlen(optarg) >= sizeof(o->ch) || !optarg[0] ? "--ch wants 1..64 characters" : NULL;
      snprintf(o->ch, sizeof(o->ch), "%s", optarg);
      break;
    case OPT_ROLE:
      o->role = !strcmp(optarg, "pub")    ? FO_ROLE_PUB
                : !strcmp(optarg, "sub")  ? FO_ROLE_SUB
                : !strcmp(optarg, "both") ? FO_ROLE_BOTH
                                          : 0;
      bad = o->role ? NULL : "--role wants pub|sub|both";
      break;
    case OPT_TRANSPORT:
      o->transport = !strcmp(optarg, "datagram") ? FO_TX_DGRAM
                     : !strcmp(optarg, "stream") ? FO_TX_STREAM
                     : !strcmp(optarg, "both")   ? FO_TX_BOTH
                                                 : 0;
      bad = o->transport ? NULL : "--transport wants datagram|stream|both";
      break;
    case OPT_IO:
      o->io_backend = !strcmp(optarg, "auto")       ? WT_IO_BACKEND_AUTO
                      : !strcmp(optarg, "uring")    ? WT_IO_BACKEND_URING
                      : !strcmp(optarg, "portable") ? WT_IO_BACKEND_PORTABLE
                                                    : -1;
      bad = o->io_backend < 0 ? "--io wants auto|uring|portable" : NULL;
      break;
#define FO_NUM(OPT, expr, max, min, what)                                                          \
  case OPT:                                                                                        \
    if (fo_parse_u64(optarg, (max), &v) < 0 || v + 1 < (uint64_t)(min) + 1) {                      \
      bad = what;                                                                                  \
    } else {                                                                                       \
      expr;                                                                                        \
    }                                                                                              \
    break;
      FO_NUM(OPT_SUBS, o->subs = (uint32_t)v, FO_MAX_ENDPOINTS, 0, "--subs wants 0..20000")
      FO_NUM(OPT_LATE, o->late = (uint32_t)v, FO_MAX_ENDPOINTS, 0, "--late-join wants 0..20000")
      FO_NUM(OPT_COUNT, o->count = v, FO_MAX_COUNT, 1, "--count wants 1..2^32")
      FO_NUM(OPT_SIZE, o->size = v, FO_MAX_SIZE, FO_HDR, "--size wants 16..65536")
      FO_NUM(OPT_RATE, o->rate = v, UINT64_C(100000000), 0, "--rate wants messages/s")
      FO_NUM(OPT_GROUP, o->group = v, FO_MAX_COUNT, 1, "--group-msgs wants >= 1")
      FO_NUM(OPT_PUBS, o->pubs = (uint32_t)v, FO_MAX_EPOCHS, 1, "--pubs wants 1..8")
      FO_NUM(OPT_PUB_ID, o->pub_id = (uint32_t)v, 0xffffff, 1, "--pub-id wants 1..16777215")
      FO_NUM(OPT_GROUP_HDR, o->group_hdr = (uint32_t)v, 64, 0, "--group-hdr wants 0..64")
      FO_NUM(OPT_EXPECT, o->expect_status = (int)v, 599, 100, "--expect-status wants 100..599")
      FO_NUM(OPT_TIMEOUT, o->timeout_ms = v * 1000, 86400, 1, "--timeout wants 1..86400 s")
      FO_NUM(OPT_IDLE, o->idle_ms = v, 3600000, 1, "--idle wants milliseconds")
      FO_NUM(OPT_LINGER, o->linger_ms = v, 3600000, 0, "--linger wants milliseconds")
      FO_NUM(OPT_MAX_HS, o->max_handshakes = (uint32_t)v, 100000, 1, "--max-handshakes wants >= 1")
      FO_NUM(OPT_DGQ, o->dgram_queue = (uint32_t)v, 1000000, 1, "--dgram-queue wants >= 1")
      FO_NUM(OPT_SERVER_PID, o->server_pid = (long)v, 4194304, 1, "--server-pid wants a pid")
#undef FO_NUM
    case OPT_READY:
      o->ready_file = optarg;
      break;
    case OPT_JSON:
      o->json = 1;
      break;
    case OPT_MOQ:
      o->moq = 1;
      break;
    case OPT_LOG:
      o->log_level = wt_log_level_parse(optarg);
      bad = o->log_level < 0 ? "--log-level wants error|warn|info|debug|trace" : NULL;
      break;
    case OPT_HELP:
    case 'h':
      fo_usage(stdout);
      exit(0);
    default:
      fprintf(stderr, "wtcast-bench: unknown or incomplete option '%s'\n", argv[optind - 1]);
      return -1;
    }
    if (bad) {
      fprintf(stderr, "wtcast-bench: %s\n", bad);
      return -1;
    }
  }
  if (optind != argc) {
    fprintf(stderr, "wtcast-bench: unexpected argument '%s'\n", argv[optind]);
    return -1;
  }
  if (!o->url || !o->ch[0]) {
    fprintf(stderr, "wtcast-bench: --url and --ch are required\n");
    return -1;
  }
  if (o->trust.given != 1) {
    fprintf(stderr, "wtcast-bench: give exactly one of --cert-hash, --insecure\n");
    return -1;
  }
  if (o->role != FO_ROLE_PUB && o->subs + o->late == 0) {
    fprintf(stderr, "wtcast-bench: no subscribers (--subs / --late-join)\n");
    return -1;
  }
  if ((uint64_t)o->subs + o->late + 1 > FO_MAX_ENDPOINTS) {
    fprintf(stderr, "wtcast-bench: at most %d connections\n", FO_MAX_ENDPOINTS);
    return -1;
  }
  if (o->role == FO_ROLE_PUB) {
    o->subs = o->late = 0;
  }
  if (o->moq && (o->transport == FO_TX_DGRAM || o->group_hdr || o->expect_status || o->pubs != 1)) {
    fprintf(stderr, "wtcast-bench: --moq: streams only, no --group-hdr, --expect-status or "
                    "--pubs\n");
    return -1;
  }
  if (o->moq) {
    o->transport = FO_TX_STREAM;
  }
  return 0;
}

/* ------------------------------------------------------------------ report */

typedef struct fo_tot {
  uint64_t sessions, opened, failed, complete;
  uint64_t dg_rx, dg_exp, dg_dup, dg_corrupt, dg_other;
  uint64_t grp_exp, grp_complete, grp_torn, grp_dup, lagged, gone, other, empty, lagged_hdr,
      lagged_only;
  uint64_t records, rec_corrupt, bytes, unexpected;
  uint64_t min_dg, min_grp;
  uint64_t at_start, first_seen, current;
  wt_hist h, hd, hs;
} fo_tot;

static void fo_totals(const fo_client *c, int kind, fo_tot *t) {
  memset(t, 0, sizeof(*t));
  t->min_dg = t->min_grp = UINT64_MAX;
  for (uint32_t i = c->first_sub; i < c->n_eps; i++) {
    const fo_ep *e = &c->eps[i];
    if (e->kind != kind) {
      continue;
    }
    t->sessions++;
    t->opened += e->t_open != 0;
    t->failed += e->failed || e->t_open == 0;
    t->complete += e->complete;
    t->dg_rx += e->dg_rx;
    t->dg_dup += e->dg_dup;
    t->dg_corrupt += e->dg_corrupt;
    t->dg_other += e->dg_other_pub;
    if (c->o->transport & FO_TX_DGRAM) {
      t->dg_exp += fo_expected(e, 0);
    }
    if (c->o->transport & FO_TX_STREAM) {
      t->grp_exp += fo_expected(e, 1);
    }
    t->grp_complete += e->groups_complete;
    t->grp_torn += e->groups_torn;
    t->grp_dup += e->groups_dup;
    t->lagged += e->groups_reset_lagged;
    t->gone += e->groups_reset_gone;
    t->other += e->groups_reset_other;
    t->empty += e->groups_reset_empty;
    t->lagged_hdr += e->groups_reset_lagged_hdr;
    t->lagged_only += e->groups_reset_lagged_only;
    t->records += e->records;
    t->rec_corrupt += e->records_corrupt;
    t->bytes += e->stream_bytes;
    t->unexpected += e->unexpected;
    t->min_dg = e->dg_rx < t->min_dg ? e->dg_rx : t->min_dg;
    t->min_grp = e->groups_complete < t->min_grp ? e->groups_complete : t->min_grp;
    t->first_seen += e->first_stream_seen;
    t->at_start += e->first_stream_seen && e->first_stream_at_start;
    t->current += e->first_stream_seen && e->have_join && e->first_group_seen >= e->join_group_lo &&
                  e->first_group_seen <= e->join_group_hi + 1;
  }
  if (t->sessions == 0) {
    t->min_dg = t->min_grp = 0;
  }
  wt_hist_merge(&t->hd, &c->lat[kind][0]);
  wt_hist_merge(&t->hs, &c->lat[kind][1]);
  wt_hist_merge(&t->h, &t->hd);
  wt_hist_merge(&t->h, &t->hs);
}

static const char *const fo_kind_names[FO_K_N] = {"pub", "sub", "late"};

static double fo_secs(uint64_t a, uint64_t b) {
  return b > a ? (double)(b - a) / 1e9 : 0.0;
}

static uint64_t fo_bad(const fo_tot *t) {
  return t->dg_dup + t->dg_corrupt + t->grp_torn + t->grp_dup + t->rec_corrupt + t->unexpected;
}

static void fo_report_tot(wt_json *j, const fo_client *c, int kind, const fo_tot *t) {
  wt_json_begin_obj(j, fo_kind_names[kind]);
  wt_json_u64(j, "sessions", t->sessions);
  wt_json_u64(j, "sessions_opened", t->opened);
  wt_json_u64(j, "sessions_failed", t->failed);
  wt_json_u64(j, "subscribers_complete", t->complete);
  wt_json_u64(j, "delivered_datagrams", t->dg_rx);
  wt_json_u64(j, "expected_datagrams", t->dg_exp);
  wt_json_num(j, "loss_ratio",
              t->dg_exp
                  ? 1.0 - (double)(t->dg_rx < t->dg_exp ? t->dg_rx : t->dg_exp) / (double)t->dg_exp
                  : 0.0);
  wt_json_u64(j, "min_delivered_datagrams", t->min_dg);
  wt_json_u64(j, "delivered_records", t->records);
  wt_json_u64(j, "stream_bytes", t->bytes);
  wt_json_u64(j, "groups_expected", t->grp_exp);
  wt_json_u64(j, "groups_complete", t->grp_complete);
  wt_json_u64(j, "min_groups_complete", t->min_grp);
  uint64_t resets = t->lagged + t->gone + t->other;
  wt_json_u64(j, "groups_missing",
              t->grp_exp > t->grp_complete + resets ? t->grp_exp - t->grp_complete - resets : 0);
  wt_json_u64(j, "groups_reset_lagged", t->lagged);
  wt_json_u64(j, "groups_reset_lagged_with_header", t->lagged_hdr);
  wt_json_u64(j, "groups_reset_lagged_header_only", t->lagged_only);
  wt_json_u64(j, "groups_reset_publisher_gone", t->gone);
  wt_json_u64(j, "groups_reset_other", t->other);
  wt_json_u64(j, "groups_reset_before_data", t->empty);
  wt_json_u64(j, "groups_torn", t->grp_torn);
  wt_json_u64(j, "corrupt", t->dg_corrupt + t->rec_corrupt);
  wt_json_u64(j, "duplicates", t->dg_dup + t->grp_dup);
  wt_json_u64(j, "datagrams_other_publisher", t->dg_other);
  wt_json_u64(j, "unexpected", t->unexpected);
  if (kind == FO_K_LATE) {
    wt_json_u64(j, "first_stream_seen", t->first_seen);
    wt_json_u64(j, "first_stream_at_group_start", t->at_start);
    wt_json_u64(j, "first_group_current", t->current);
  }
  const wt_hist *hs[3] = {&t->h, &t->hd, &t->hs};
  const char *pre[3] = {"latency", "datagram_latency", "stream_latency"};
  for (int k = 0; k < 3; k++) {
    char key[64];
    static const double pct[3] = {50, 99, 99.9};
    static const char *const name[3] = {"p50", "p99", "p999"};
    for (int q = 0; q < 3; q++) {
      snprintf(key, sizeof(key), "%s_%s_us", pre[k], name[q]);
      if (hs[k]->n) {
        wt_json_u64(j, key, wt_hist_pct(hs[k], pct[q]));
      } else {
        wt_json_null(j, key);
      }
    }
  }
  (void)c;
  wt_json_end_obj(j);
}

static const char *fo_tx_name(int t) {
  return t == FO_TX_DGRAM ? "datagram" : t == FO_TX_STREAM ? "stream" : "both";
}

static const char *fo_role_name(int r) {
  return r == FO_ROLE_PUB ? "pub" : r == FO_ROLE_SUB ? "sub" : "both";
}

static int fo_report(const fo_client *c) {
  const fo_opts *o = c->o;
  fo_tot t[FO_K_N];
  fo_totals(c, FO_K_SUB, &t[FO_K_SUB]);
  fo_totals(c, FO_K_LATE, &t[FO_K_LATE]);
  const fo_pub *p = &c->pub;
  int want = o->expect_status ? o->expect_status : 200;
  int pub_ok = 1;
  if (p->ep) {
    pub_ok = p->ep->status == want && !(want == 200 && p->ep->failed) &&
             (want != 200 || (p->done && p->published == o->count));
  }
  uint64_t bad = fo_bad(&t[FO_K_SUB]) + fo_bad(&t[FO_K_LATE]);
  uint64_t failed = t[FO_K_SUB].failed + t[FO_K_LATE].failed;
  int late_ok = !(o->transport & FO_TX_STREAM) || t[FO_K_LATE].at_start == t[FO_K_LATE].first_seen;
  int ok = pub_ok && bad == 0 && failed == 0 && late_ok;
  uint64_t deliveries = 0;
  for (int k = FO_K_SUB; k <= FO_K_LATE; k++) {
    deliveries += t[k].dg_rx + t[k].records;
  }
  uint64_t t_from = p->t_first ? p->t_first : c->t_ready;
  uint64_t t_last = 0;
  for (uint32_t i = c->first_sub; i < c->n_eps; i++) {
    t_last = c->eps[i].t_last_rx > t_last ? c->eps[i].t_last_rx : t_last;
  }
  double deliver_s = fo_secs(t_from, t_last);
  double cpu = c->have_cpu0 && c->have_cpu1 ? c->srv_cpu1 - c->srv_cpu0 : -1;

  if (!o->json) {
    printf("wtcast-bench fanout --verify %s ch=%s role=%s transport=%s: %s\n", o->url, o->ch,
           fo_role_name(o->role), fo_tx_name(o->transport), ok ? "OK" : "FAILED");
    if (p->ep) {
      printf("  pub: status %d, published %" PRIu64 "/%" PRIu64 " in %.3f s\n", p->ep->status,
             p->published, o->count, fo_secs(p->t_first, p->t_done));
    }
    for (int k = FO_K_SUB; k <= FO_K_LATE; k++) {
      const fo_tot *x = &t[k];
      if (!x->sessions) {
        continue;
      }
      printf("  %s: %" PRIu64 " sessions (%" PRIu64 " failed, %" PRIu64
             " complete); datagrams %" PRIu64 "/%" PRIu64 "; groups %" PRIu64 "/%" PRIu64
             " complete, %" PRIu64 " lagged, %" PRIu64 " publisher gone, %" PRIu64
             " torn; corrupt %" PRIu64 ", duplicates %" PRIu64 "; latency p50/p99/p999 %" PRIu64
             "/%" PRIu64 "/%" PRIu64 " us\n",
             fo_kind_names[k], x->sessions, x->failed, x->complete, x->dg_rx, x->dg_exp,
             x->grp_complete, x->grp_exp, x->lagged, x->gone, x->grp_torn,
             x->dg_corrupt + x->rec_corrupt, x->dg_dup + x->grp_dup, wt_hist_pct(&x->h, 50),
             wt_hist_pct(&x->h, 99), wt_hist_pct(&x->h, 99.9));
    }
    printf("  deliveries %" PRIu64 " (%.0f/s)", deliveries,
           deliver_s > 0 ? (double)deliveries / deliver_s : 0.0);
    if (cpu >= 0) {
      printf(", server CPU %.3f s (%.2f us/delivery)", cpu,
             deliveries ? cpu * 1e6 / (double)deliveries : 0.0);
    }
    printf(", elapsed %.3f s\n", fo_secs(c->t0, c->t_end));
    for (size_t i = 0; i < c->errs.n && i < 20; i++) {
      printf("  error: %s\n", c->errs.v[i]);
    }
    fflush(stdout);
    return ok;
  }
  wt_json j;
  wt_json_init(&j, stdout, 0);
  wt_json_begin_obj(&j, NULL);
  wt_json_begin_obj(&j, "config");
  wt_json_str(&j, "url", o->url);
  wt_json_str(&j, "ch", o->ch);
  wt_json_str(&j, "role", fo_role_name(o->role));
  wt_json_u64(&j, "subs", o->subs);
  wt_json_bool(&j, "moq", o->moq);
  wt_json_u64(&j, "late_join", o->late);
  wt_json_str(&j, "transport", fo_tx_name(o->transport));
  wt_json_u64(&j, "count", o->count);
  wt_json_u64(&j, "size", o->size);
  wt_json_u64(&j, "rate", o->rate);
  wt_json_u64(&j, "group_msgs", o->group);
  wt_json_u64(&j, "groups", c->ngroups);
  wt_json_u64(&j, "pubs", (o->role & FO_ROLE_PUB) ? 1 : o->pubs);
  wt_json_u64(&j, "timeout_s", o->timeout_ms / 1000);
  wt_json_str(&j, "io", c->io ? wt_io_backend_name(wt_io_backend(c->io)) : "none");
  wt_json_end_obj(&j);
  wt_json_bool(&j, "ok", ok);
  wt_json_bool(&j, "timed_out", c->timed_out);
  wt_json_begin_obj(&j, "roles");
  if (p->ep) {
    wt_json_begin_obj(&j, "pub");
    wt_json_u64(&j, "status", (uint64_t)p->ep->status);
    wt_json_u64(&j, "pub_id", p->id);
    wt_json_u64(&j, "published", p->published);
    wt_json_u64(&j, "datagrams_sent", p->dgrams_sent);
    wt_json_u64(&j, "datagram_queue_full", p->dgram_queue_full);
    wt_json_u64(&j, "groups_sent", p->groups_opened);
    wt_json_u64(&j, "stream_bytes", p->stream_bytes);
    wt_json_u64(&j, "streams_stopped", p->streams_stopped);
    wt_json_bool(&j, "done", p->done && p->published == o->count);
    wt_json_num(&j, "publish_s", fo_secs(p->t_first, p->t_done));
    wt_json_num(&j, "publish_rate",
                fo_secs(p->t_first, p->t_done) > 0
                    ? (double)p->published / fo_secs(p->t_first, p->t_done)
                    : 0.0);
    wt_json_end_obj(&j);
  }
  for (int k = FO_K_SUB; k <= FO_K_LATE; k++) {
    if (t[k].sessions) {
      fo_report_tot(&j, c, k, &t[k]);
    }
  }
  wt_json_end_obj(&j);
  /* what the kernel dropped at this process's socket (receive buffer full):
   * datagrams missing at a starved receiver show here, not as server loss */
  wt_json_i64(&j, "socket_drops", c->io ? wt_io_socket_drops(c->io) : -1);
  wt_json_u64(&j, "deliveries", deliveries);
  wt_json_num(&j, "deliveries_per_s", deliver_s > 0 ? (double)deliveries / deliver_s : 0.0);
  wt_json_num(&j, "elapsed_s", fo_secs(c->t0, c->t_end));
  if (c->cli_cpu1 > 0) {
    double cc = c->cli_cpu1 - c->cli_cpu0;
    wt_json_num(&j, "client_cpu_s", cc);
    wt_json_num(&j, "client_cpu_us_per_delivery", deliveries ? cc * 1e6 / (double)deliveries : 0.0);
  }
  if (o->server_pid) {
    wt_json_begin_obj(&j, "server");
    wt_json_u64(&j, "pid", (uint64_t)o->server_pid);
    if (cpu >= 0) {
      wt_json_num(&j, "cpu_s_before", c->srv_cpu0);
      wt_json_num(&j, "cpu_s_after", c->srv_cpu1);
      wt_json_num(&j, "cpu_s", cpu);
      wt_json_num(&j, "cpu_us_per_delivery", deliveries ? cpu * 1e6 / (double)deliveries : 0.0);
    } else {
      wt_json_null(&j, "cpu_s");
      wt_json_null(&j, "cpu_us_per_delivery");
    }
    wt_json_end_obj(&j);
  }
  /* the first few subscribers that did not get everything, for diagnosis */
  wt_json_begin_arr(&j, "incomplete_subscribers");
  int shown = 0;
  for (uint32_t i = c->first_sub; i < c->n_eps && shown < 10; i++) {
    const fo_ep *e = &c->eps[i];
    if (e->complete) {
      continue;
    }
    shown++;
    wt_json_begin_obj(&j, NULL);
    wt_json_str(&j, "kind", fo_kind_names[e->kind]);
    wt_json_u64(&j, "index", e->index);
    wt_json_u64(&j, "state", (uint64_t)e->state);
    wt_json_u64(&j, "publishers_seen", e->n_epochs);
    wt_json_u64(&j, "datagrams", e->dg_rx);
    wt_json_u64(&j, "expected_datagrams", (o->transport & FO_TX_DGRAM) ? fo_expected(e, 0) : 0);
    wt_json_u64(&j, "groups_complete", e->groups_complete);
    wt_json_u64(&j, "expected_groups", (o->transport & FO_TX_STREAM) ? fo_expected(e, 1) : 0);
    wt_json_u64(&j, "groups_reset_lagged", e->groups_reset_lagged);
    wt_json_u64(&j, "groups_reset_lagged_with_header", e->groups_reset_lagged_hdr);
    wt_json_u64(&j, "groups_reset_publisher_gone", e->groups_reset_gone);
    wt_json_u64(&j, "groups_reset_other", e->groups_reset_other);
    wt_json_u64(&j, "groups_torn", e->groups_torn);
    wt_json_end_obj(&j);
  }
  wt_json_end_arr(&j);
  wt_json_begin_arr(&j, "errors");
  for (size_t i = 0; i < c->errs.n; i++) {
    wt_json_str(&j, NULL, c->errs.v[i]);
  }
  wt_json_end_arr(&j);
  wt_json_u64(&j, "errors_total", c->errs.total);
  wt_json_end_obj(&j); /* and the newline */
  fflush(stdout);
  return ok;
}

/* ------------------------------------------------------------------ main */

int fo_main(int argc, char **argv) {
  fo_opts o;
  if (fo_parse_args(&o, argc, argv) < 0) {
    fprintf(stderr, "run 'wtcast-bench --scenario fanout --verify --help' for the options\n");
    return 2;
  }
  wt_log_set_level(o.log_level);
  fo_client *c = calloc(1, sizeof(*c));
  if (!c) {
    fprintf(stderr, "wtcast-bench: out of memory\n");
    return 1;
  }
  c->o = &o;
  c->errs.max = 1000; /* keep the report bounded; errors_total says the rest */
  c->t0 = fo_now();
  c->deadline = c->t0 + o.timeout_ms * FO_MS;
  c->ngroups = (o.count + o.group - 1) / o.group;
  int has_pub = (o.role & FO_ROLE_PUB) != 0;
  c->n_eps = (uint32_t)has_pub + o.subs + o.late;
  c->first_sub = (uint32_t)has_pub;
  c->eps = calloc(c->n_eps, sizeof(*c->eps));
  if (!c->eps) {
    fprintf(stderr, "wtcast-bench: out of memory\n");
    free(c);
    return 1;
  }
  for (uint32_t i = 0; i < c->n_eps; i++) {
    fo_ep *e = &c->eps[i];
    e->c = c;
    e->kind = i < c->first_sub ? FO_K_PUB : i < c->first_sub + o.subs ? FO_K_SUB : FO_K_LATE;
    e->index = e->kind == FO_K_PUB   ? 0
               : e->kind == FO_K_SUB ? i - c->first_sub
                                     : i - c->first_sub - o.subs;
    e->first_group_seen = UINT64_MAX;
  }
  if (has_pub) {
    c->pub.ep = &c->eps[0];
    c->pub.id = o.pub_id;
    if (!c->pub.id) {
      uint64_t r = fo_now() ^ ((uint64_t)getpid() << 20);
      r *= UINT64_C(0x9E3779B97F4A7C15);
      c->pub.id = (uint32_t)(r >> 40) & 0xffffff;
      c->pub.id = c->pub.id ? c->pub.id : 1;
    }
  }
  wt_engine_callbacks cb;
  fo_callbacks(&cb);
  if (fo_setup(c, &cb) == 0) {
    fo_run(c);
  } else {
    c->t_end = fo_now();
  }
  int ok = fo_report(c);
  if (c->eng) {
    wt_engine_del(c->eng);
  }
  fo_rx_free_all();
  wt_io_close(c->io);
  for (uint32_t i = 0; i < c->n_eps; i++) {
    for (uint32_t k = 0; k < c->eps[i].n_epochs; k++) {
      free(c->eps[i].ep[k].dg_seen);
      free(c->eps[i].ep[k].grp_seen);
    }
  }
  wt_errlist_free(&c->errs);
  free(c->pub.buf);
  free(c->eps);
  free(c);
  return ok ? 0 : 1;
}
