/* gen_seeds.c: records the seed corpus of fuzz_engine_server.
 *
 * A client engine and the fuzzer's server engine (fuzz_server_new and
 * fuzz_server_step, the very calls the fuzz target makes) run in lockstep
 * in one process; every client->server datagram, and every clock jump the
 * server needed, is written in the fuzz input format
 * (fuzz_engine_common.h). Both sides draw their randomness from
 * fuzz_detrand, so feeding a recorded file to a fresh server reproduces the
 * whole exchange. The client runs on the engine harness (tests/sim/wt_sim.h:
 * its recording callbacks and output draining). Scenarios: a bare handshake; CONNECT /echo with a
 * bidirectional and a unidirectional stream and a datagram; the same ending
 * with a CLOSE_WEBTRANSPORT_SESSION capsule; a refused CONNECT (404); a
 * draft-16 client granting 1 KiB and 2 streams (session flow control on:
 * the server's echo waits for credit, BLOCKED and MAX_* capsules both
 * ways); the same client ignoring the server's limits with 6 uni streams
 * where 4 are allowed (its session reset with WT_FLOW_CONTROL_ERROR).
 *
 *   build-fuzz/bin/gen_seeds fuzz/corpus/engine_server
 *
 * Exit status 0 when every scenario completed and replays, 1 otherwise. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_detrand.h"
#include "fuzz_engine_common.h"
#include "fuzz_util.h"
#include "wt_log.h"

#include "wt_testhook.h"

enum { SC_HANDSHAKE, SC_ECHO, SC_CLOSE, SC_REFUSED, SC_ECHO16, SC_OVERRUN16, SC_COUNT };
static const char *const sc_names[SC_COUNT] = {"handshake", "echo",   "close",
                                               "refused",   "echo16", "overrun16"};
static int g_scenario;

#define MAX_PKTS 256

/* The client is client 0 of a wt_sim (tests/sim/wt_sim.h) with no server
 * and no network: the harness's recording callbacks keep its session and
 * stream records; the lockstep below is the fuzz input format's schedule. */
typedef struct cli {
  int scenario;
  wt_sim sim;
  wt_conn *conn;
  wt_sim_sess *sess;
  wt_engine *srv;
  /* server -> client packets not yet delivered */
  size_t nq;
  size_t qlen[MAX_PKTS];
  uint8_t q[MAX_PKTS][1500];
  /* the recording */
  uint8_t *rec;
  size_t nrec, caprec;
} cli;

static void rec_add(cli *c, const uint8_t *p, size_t n) {
  if (c->nrec + n > c->caprec) {
    c->caprec = (c->nrec + n) * 2 + 4096;
    c->rec = realloc(c->rec, c->caprec);
    FUZZ_CHECK(c->rec != NULL);
  }
  memcpy(c->rec + c->nrec, p, n);
  c->nrec += n;
}

static void to_client(void *arg, const wt_path *path, const uint8_t *pkt, size_t len) {
  cli *c = arg;
  if (c->nq < MAX_PKTS) {
    memcpy(c->q[c->nq], pkt, len);
    c->qlen[c->nq++] = len;
  }
}

/* One client datagram: recorded, then the server's step (the fuzzer's). */
static void to_server(void *arg, const wt_path *path, const uint8_t *pkt, size_t len) {
  cli *c = arg;
  uint8_t h[2] = {(uint8_t)(len >> 8), (uint8_t)len};
  FUZZ_CHECK(len < 0x8000);
  rec_add(c, h, 2);
  rec_add(c, pkt, len);
  c->sim.now += FUZZ_STEP_NS;
  fuzz_server_step(c->srv, pkt, len, c->sim.now, to_client, c);
  fuzz_detrand_select(FUZZ_DETRAND_CLIENT);
}

/* ------------------------------------------------------------ client app */

/* On the 200: a bidi stream, a uni stream and a datagram. */
static void c_session_open(void *user, wt_session *s) {
  wt_sim_node *n = user;
  wt_stream *st = NULL;
  if (g_scenario == SC_OVERRUN16) {
    FUZZ_CHECK(wt_testhook_ignore_flow_control(s) == 0); /* server limits: 1 KiB */
  }
  FUZZ_CHECK(wt_session_open_stream(s, 1, &st) == 0);
  wt_sim_stream_new(n, st, 1);
  if (g_scenario == SC_ECHO16 || g_scenario == SC_OVERRUN16) {
    static uint8_t big[3000];
    memset(big, 'w', sizeof(big));
    FUZZ_CHECK(wt_stream_write(st, big, sizeof(big), 1) == (int)sizeof(big));
  } else {
    FUZZ_CHECK(wt_stream_write(st, (const uint8_t *)"hello wtcast", 12, 1) == 12);
  }
  /* overrun16: 6 uni streams where the server allows 4 */
  for (int i = 0; i < (g_scenario == SC_OVERRUN16 ? 6 : 1); i++) {
    FUZZ_CHECK(wt_session_open_stream(s, 0, &st) == 0);
    wt_sim_stream_new(n, st, 1);
    /* (overrun16: no FIN, so they stay open and keep their credit) */
    FUZZ_CHECK(wt_stream_write(st, (const uint8_t *)"uni", 3, g_scenario != SC_OVERRUN16) == 3);
  }
  FUZZ_CHECK(wt_session_send_datagram(s, (const uint8_t *)"dgram", 5) == 0);
}

static const wt_engine_callbacks g_hooks = {.session_open = c_session_open};

/* The echo of the bidi stream (its FIN) arrived. */
static int got_echo(cli *c) {
  for (const wt_sim_stream *x = c->sim.cli[0].streams; x; x = x->next) {
    if (x->local && x->bidi && x->rx_fin) {
      return 1;
    }
  }
  return 0;
}

/* The scenario's goal; acts when a step is reached. */
static int scenario_done(cli *c) {
  wt_sim_sess *x = c->sess;
  switch (c->scenario) {
  case SC_HANDSHAKE:
    return wt_engine_get_stats(c->sim.cli[0].e)->handshakes_ok > 0;
  case SC_REFUSED:
    return x->refused;
  case SC_ECHO:
  case SC_ECHO16:
    return got_echo(c) && x->dgrams > 0;
  case SC_OVERRUN16:
    return x->closed;
  case SC_CLOSE:
    if (got_echo(c) && x->dgrams > 0 && x->s && !x->closed) {
      FUZZ_CHECK(wt_session_close(x->s, 7, (const uint8_t *)"done", 4) == 0);
    }
    return x->closed;
  default:
    return 1;
  }
}

/* ------------------------------------------------------------ lockstep */

static void record_clock(cli *c, uint64_t ms) {
  uint8_t h[2] = {(uint8_t)(0x80 | ms >> 8), (uint8_t)ms};
  rec_add(c, h, 2);
}

static int run(cli *c, int *quiet_rounds) {
  /* one batch per drain: the clock moves with each datagram the server gets */
  static const wt_sim_tx tx = {.cap = 32 * 1500, .max = 32, .max_segments = 1, .batches = 1};
  wt_sim_node *n = &c->sim.cli[0];
  wt_path cp = {.local = n->addr, .remote = c->sim.srv.addr};
  int finished = 0;
  for (int it = 0; it < 5000; it++) {
    fuzz_detrand_select(FUZZ_DETRAND_CLIENT);
    if (!finished && scenario_done(c)) {
      finished = 1;
    }
    /* client -> server, one datagram per record and server step */
    int sent = 0;
    for (;;) {
      fuzz_detrand_select(FUZZ_DETRAND_CLIENT);
      int k = wt_sim_drain(n->e, c->sim.now, &tx, to_server, c);
      FUZZ_CHECK(k >= 0);
      if (k == 0) {
        break;
      }
      sent += k;
    }
    /* server -> client */
    fuzz_detrand_select(FUZZ_DETRAND_CLIENT);
    size_t delivered = c->nq;
    for (size_t i = 0; i < c->nq; i++) {
      wt_engine_recv(n->e, &cp, c->q[i], c->qlen[i], 0, c->sim.now);
    }
    c->nq = 0;
    if (sent || delivered) {
      *quiet_rounds = 0;
      continue;
    }
    if (finished && ++*quiet_rounds > 3) {
      return 0;
    }
    /* Nothing in flight: move the clock to the next timer of either side. */
    uint64_t now = c->sim.now;
    uint64_t a = wt_engine_next_expiry(n->e), b = wt_engine_next_expiry(c->srv);
    uint64_t next = a < b ? a : b;
    if (next == UINT64_MAX || next > now + UINT64_C(20) * 1000000000u) {
      return finished ? 0 : -1;
    }
    uint64_t ms = next > now ? (next - now + 999999) / 1000000 : 1;
    record_clock(c, ms);
    c->sim.now = now + ms * 1000000;
    fuzz_server_step(c->srv, NULL, 0, c->sim.now, to_client, c);
    fuzz_detrand_select(FUZZ_DETRAND_CLIENT);
    wt_engine_handle_expiry(n->e, c->sim.now);
  }
  return -1;
}

static int record(int scenario, const char *dir) {
  cli *c = calloc(1, sizeof(*c));
  FUZZ_CHECK(c != NULL);
  c->scenario = scenario;
  g_scenario = scenario;
  wt_engine *srv = fuzz_server_new(); /* resets the RNG streams, as the fuzzer does */
  FUZZ_CHECK(srv != NULL);
  c->srv = srv;
  fuzz_detrand_select(FUZZ_DETRAND_CLIENT);
  wt_sim_config sc;
  wt_sim_config_default(&sc);
  sc.t0_ns = FUZZ_T0_NS;
  wt_sim_init(&c->sim, &sc, &g_hooks);
  wt_engine_config cc;
  wt_engine_config_default(&cc, 0);
  cc.insecure = 1;
  /* the recording ends when the exchange goes quiet: no keep-alive PINGs
   * (the client default pings after 15 s of silence) */
  cc.keep_alive_ns = 0;
  if (scenario == SC_ECHO16 || scenario == SC_OVERRUN16) {
    cc.wt_profile = WT_PROFILE_DRAFT16;
    cc.wt_initial_max_data = 1024;
    cc.wt_initial_max_streams_bidi = 2;
    cc.wt_initial_max_streams_uni = 2;
  }
  FUZZ_CHECK(wt_sim_client_add(&c->sim, &cc, NULL) == 0);
  wt_path to;
  fuzz_engine_path(&to);
  c->conn = wt_sim_connect(&c->sim, 0, &to.local);
  FUZZ_CHECK(c->conn != NULL);
  if (scenario != SC_HANDSHAKE) {
    const char *path = scenario == SC_REFUSED ? "/nope" : "/echo";
    c->sess = wt_sim_open_session(&c->sim, 0, c->conn, path, NULL);
    FUZZ_CHECK(c->sess != NULL);
  }
  int quiet = 0;
  int rv = run(c, &quiet);
  const wt_engine_stats *ss = wt_engine_get_stats(srv);
  fprintf(stderr,
          "gen_seeds: %-9s %s: %zu bytes; server: %llu handshakes, %llu sessions, %llu streams, "
          "%llu datagrams in\n",
          sc_names[scenario], rv == 0 ? "ok" : "INCOMPLETE", c->nrec,
          (unsigned long long)ss->handshakes_ok, (unsigned long long)ss->sessions_opened,
          (unsigned long long)ss->streams_opened, (unsigned long long)ss->datagrams_in);
  uint64_t want_hs = ss->handshakes_ok, want_sess = ss->sessions_opened;
  uint64_t want_streams = ss->streams_opened, want_dg = ss->datagrams_in;
  wt_sim_free(&c->sim); /* the client */
  wt_engine_del(srv);

  /* Replay the recording against a fresh server, exactly as the fuzzer does,
   * and check that it gets as far. */
  srv = fuzz_server_new();
  FUZZ_CHECK(srv != NULL);
  uint64_t now = FUZZ_T0_NS;
  for (size_t off = 0; off + 2 <= c->nrec;) {
    uint16_t h = (uint16_t)(c->rec[off] << 8 | c->rec[off + 1]);
    off += 2;
    if (h & 0x8000) {
      now += (uint64_t)(h & 0x7fff) * 1000000u;
      fuzz_server_step(srv, NULL, 0, now, NULL, NULL);
      continue;
    }
    now += FUZZ_STEP_NS;
    fuzz_server_step(srv, c->rec + off, h, now, NULL, NULL);
    off += h;
  }
  ss = wt_engine_get_stats(srv);
  int replay_ok = ss->handshakes_ok == want_hs && ss->sessions_opened == want_sess &&
                  ss->streams_opened == want_streams && ss->datagrams_in == want_dg;
  fprintf(
      stderr,
      "gen_seeds: %-9s replay %s (%llu handshakes, %llu sessions, %llu streams, %llu datagrams)\n",
      sc_names[scenario], replay_ok ? "matches" : "DIFFERS", (unsigned long long)ss->handshakes_ok,
      (unsigned long long)ss->sessions_opened, (unsigned long long)ss->streams_opened,
      (unsigned long long)ss->datagrams_in);
  wt_engine_del(srv);

  char path[512];
  snprintf(path, sizeof(path), "%s/%s.bin", dir, sc_names[scenario]);
  FILE *f = fopen(path, "wb");
  FUZZ_CHECK(f != NULL);
  FUZZ_CHECK(fwrite(c->rec, 1, c->nrec, f) == c->nrec);
  FUZZ_CHECK(fclose(f) == 0);
  free(c->rec);
  free(c);
  return rv == 0 && replay_ok ? 0 : -1;
}

static void log_discard(void *ctx, int level, const char *module, const char *msg, size_t len) {}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: gen_seeds DIR (e.g. fuzz/corpus/engine_server)\n");
    return 2;
  }
  if (getenv("WTCAST_FUZZ_DEBUG")) {
    wt_log_set_level(WT_LOG_LEVEL_DEBUG);
  }
  if (getenv("WTCAST_FUZZ_VERBOSE") == NULL) {
    wt_log_set_sink(log_discard, NULL);
  }
  int fail = 0;
  for (int s = 0; s < SC_COUNT; s++) {
    fail |= record(s, argv[1]) != 0;
  }
  return fail;
}
