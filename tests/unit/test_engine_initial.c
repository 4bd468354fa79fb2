/* Unit tests for core/wt_initial (does a client Initial decrypt?) and the
 * server's accept path that uses it (core/wt_engine.c initial_acceptable):
 * known-answer keys from RFC 9001 / RFC 9369 appendix A, a real client
 * Initial from the client engine (passes; any flipped bit fails), and
 * crafted Initials with DCIDs of 0..7, 8, 20 and 21+ bytes, with and without
 * a token: dropped before anything is allocated or sent, each counted, none
 * as an internal error. Also: the per-address map's hash key is random per
 * engine. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wt_ctx.h" /* the engine's hash keys */
#include "wt_error.h"
#include "wt_initial.h"
#include "wt_sim_check.h"

#define MS  WT_SIM_MS
#define SEC WT_SIM_SEC

static wt_sim_certs g_certs;

static size_t unhex(uint8_t *out, const char *hex) {
  size_t n = 0;
  for (; hex[0] && hex[1]; hex += 2) {
    unsigned v;
    sscanf(hex, "%2x", &v);
    out[n++] = (uint8_t)v;
  }
  return n;
}

/* RFC 9001 appendix A.1 and RFC 9369 appendix A.1: DCID 0x8394c8f03e515708. */
static void test_keys_known_answer(void) {
  uint8_t dcid[8], key[16], iv[12], hp[16], want[16];
  unhex(dcid, "8394c8f03e515708");
  CHECK_EQ(wt_initial_client_keys(1, dcid, 8, key, iv, hp), 0);
  unhex(want, "1f369613dd76d5467730efcbe3b1a22d");
  CHECK_MEM(key, want, 16);
  unhex(want, "fa044b2f42a3fd3b46fb255c");
  CHECK_MEM(iv, want, 12);
  unhex(want, "9f50449e04a0e810283a1e9933adedd2");
  CHECK_MEM(hp, want, 16);
  CHECK_EQ(wt_initial_client_keys(0x6b3343cf, dcid, 8, key, iv, hp), 0);
  unhex(want, "8b1a0bc121284290a29e0971b5cd045d");
  CHECK_MEM(key, want, 16);
  unhex(want, "91f73e2351d8fa91660e909f");
  CHECK_MEM(iv, want, 12);
  unhex(want, "45b95e15235d6f45a6b19cbcb0294ba9");
  CHECK_MEM(hp, want, 16);
  CHECK_EQ(wt_initial_client_keys(0xff00001d, dcid, 8, key, iv, hp), WT_ERR_UNSUPPORTED);
  CHECK_EQ(wt_initial_client_keys(1, dcid, 21, key, iv, hp), WT_ERR_INVAL);
}

/* ------------------------------------------------------------ world */

static uint8_t g_first[WT_SIM_MTU]; /* the client's first datagram */
static size_t g_first_len;

static int capture_filter(void *arg, wt_sim *w, wt_sim_pkt *p) {
  (void)arg, (void)w;
  if (p->to_server && g_first_len == 0) {
    memcpy(g_first, p->data, p->len);
    g_first_len = p->len;
  }
  return 0;
}

static int world_init(wt_sim *w, int retry_mode) {
  wt_sim_config cfg;
  wt_sim_config_default(&cfg);
  wt_sim_init(w, &cfg, NULL);
  wt_engine_config sc, cc;
  wt_engine_config_default(&sc, 1);
  sc.cert_file = g_certs.cert[0];
  sc.key_file = g_certs.key[0];
  if (retry_mode >= 0) {
    sc.retry_mode = retry_mode;
  }
  wt_engine_config_default(&cc, 0);
  cc.pin_sha256 = g_certs.pin[0];
  if (wt_sim_server_new(w, &sc) != 0 || wt_sim_client_add(w, &cc, NULL) != 0) {
    wt_sim_free(w);
    return -1;
  }
  return 0;
}

/* Packets the server has to send now (written and discarded). */
static int srv_output(wt_sim *w) {
  static uint8_t buf[16 * 1500];
  static wt_tx_entry ents[16];
  int total = 0;
  for (;;) {
    wt_tx_batch b = {.buf = buf, .cap = sizeof(buf), .ents = ents, .max = 16, .max_segments = 1};
    int n = wt_engine_write(w->srv.e, &b, w->now);
    if (n <= 0) {
      return total;
    }
    total += n;
  }
}

/* The client engine's first Initial decrypts; any change to it does not. */
static void test_real_initial(void) {
  wt_sim w;
  CHECK_FATAL(world_init(&w, -1) == 0);
  g_first_len = 0;
  w.filter = capture_filter;
  wt_conn *c = wt_sim_connect(&w, 0, NULL);
  CHECK_FATAL(c != NULL);
  CHECK(wt_sim_run_until(&w, wt_sim_c_handshake, NULL, 10 * SEC));
  const wt_engine_stats *ss = wt_engine_get_stats(w.srv.e);
  CHECK_EQ(ss->conns_accepted, 1);
  CHECK_EQ(ss->initials_undecryptable, 0);
  CHECK_EQ(ss->initials_short_dcid, 0);
  CHECK_FATAL(g_first_len >= 1200);

  uint8_t *p = g_first, scratch[WT_SIM_MTU];
  size_t len = g_first_len;
  CHECK_EQ(p[0] & 0xf0, 0xc0); /* long header, Initial (v1) */
  uint32_t ver = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
  const uint8_t *dcid = p + 6;
  size_t dcidlen = p[5];
  CHECK(dcidlen >= 8);
  CHECK_EQ(wt_initial_check(p, len, ver, dcid, dcidlen, scratch, sizeof(scratch)), 0);
  CHECK_EQ(wt_initial_check(p, len, ver, dcid, dcidlen, scratch, len - 1), WT_ERR_NOBUF);
  CHECK_EQ(wt_initial_check(p, len, 0xff00001d, dcid, dcidlen, scratch, sizeof(scratch)),
           WT_ERR_UNSUPPORTED);
  if (getenv("WT_TEST_VERBOSE")) { /* the cost each new connection pays (a figure, not a check) */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 2000; i++) {
      (void)wt_initial_check(p, len, ver, dcid, dcidlen, scratch, sizeof(scratch));
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr, "wt_initial_check of a %zu-byte Initial: %.2f us\n", len,
            ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 2000 /
                1000);
  }
  /* another DCID gives other keys */
  uint8_t other[20];
  memcpy(other, dcid, dcidlen);
  other[0] ^= 1;
  CHECK_EQ(wt_initial_check(p, len, ver, other, dcidlen, scratch, sizeof(scratch)),
           WT_ERR_MALFORMED);
  /* every byte of the datagram counts (header as AAD, payload, tag), except
   * what follows the first packet (padding packets, coalesced ones) */
  size_t bad = 0, tried = 0;
  for (size_t i = 0; i < len; i += 7) {
    uint8_t q[WT_SIM_MTU];
    memcpy(q, p, len);
    q[i] ^= 0x40;
    if (i >= 6 && i < 6 + dcidlen) {
      continue; /* the DCID: the caller passes it (tested above) */
    }
    tried++;
    bad +=
        wt_initial_check(q, len, ver, dcid, dcidlen, scratch, sizeof(scratch)) == WT_ERR_MALFORMED;
  }
  CHECK_EQ(bad, tried);
  /* truncated: the Length no longer fits */
  CHECK_EQ(wt_initial_check(p, len - 1, ver, dcid, dcidlen, scratch, sizeof(scratch)),
           WT_ERR_MALFORMED);
  CHECK_EQ(wt_initial_check(p, 30, ver, dcid, dcidlen, scratch, sizeof(scratch)), WT_ERR_MALFORMED);
  CHECK_EQ(wt_initial_check(p, 5, ver, dcid, dcidlen, scratch, sizeof(scratch)), WT_ERR_MALFORMED);
  wt_sim_free(&w);
}

/* A v1 Initial of 1200 bytes: DCID of dcidlen bytes, SCID of 8, a token of
 * tokenlen bytes (first byte 0xb6: ngtcp2's retry-token magic, so a token
 * goes down the Retry path when not dropped first), garbage after it, the
 * Length field covering the rest. */
static size_t craft(uint8_t *p, size_t dcidlen, size_t tokenlen, uint32_t seed) {
  size_t len = 1200, off = 0;
  wt_sim_fill_pattern(p, len, seed);
  p[off++] = 0xc3;
  p[off++] = 0, p[off++] = 0, p[off++] = 0, p[off++] = 1;
  p[off++] = (uint8_t)dcidlen;
  off += dcidlen;
  p[off++] = 8;
  off += 8;
  p[off++] = (uint8_t)(0x40 | tokenlen >> 8), p[off++] = (uint8_t)tokenlen;
  if (tokenlen) {
    p[off] = 0xb6;
  }
  off += tokenlen;
  size_t rest = len - off - 2;
  p[off++] = (uint8_t)(0x40 | rest >> 8), p[off++] = (uint8_t)rest;
  return len;
}

/* Crafted Initials: nothing allocated, nothing sent, each counted where it
 * was dropped, none an internal error; then a real client still gets in. */
static void scenario_crafted(int retry_mode) {
  wt_sim w;
  CHECK_FATAL(world_init(&w, retry_mode) == 0);
  const wt_engine_stats *ss = wt_engine_get_stats(w.srv.e);
  wt_path path = {.local = w.srv.addr, .remote = w.cli[0].addr};
  uint8_t p[1200];
  uint64_t short_dcid = 0, junk = 0, dropped = 0;
  for (size_t dl = 0; dl <= 21; dl++) {
    for (size_t tl = 0; tl <= 40; tl += 40) {
      size_t len = craft(p, dl, tl, (uint32_t)(dl * 100 + tl));
      CHECK_EQ(wt_engine_recv(w.srv.e, &path, p, len, 0, w.now), 0);
      dropped++;
      if (dl > 20) {
        /* over-long: not a QUIC v1 header at all (RFC 9000 17.2) */
      } else if (dl < 8 && tl > 0) {
        short_dcid++; /* ngtcp2_accept itself drops token-less ones */
      } else if (dl >= 8) {
        junk++;
      }
      CHECK_EQ(ss->initials_short_dcid, short_dcid);
      CHECK_EQ(ss->initials_undecryptable, junk);
      CHECK_EQ(ss->pkts_dropped, dropped);
      CHECK_EQ(srv_output(&w), 0); /* no refusal, Retry or reset for any */
    }
  }
  /* one byte over the limit of the length byte, and the largest: both
   * over-long */
  size_t len = craft(p, 20, 0, 7);
  p[5] = 255;
  CHECK_EQ(wt_engine_recv(w.srv.e, &path, p, len, 0, w.now), 0);
  CHECK_EQ(srv_output(&w), 0);
  CHECK_EQ(ss->conns_accepted, 0);
  CHECK_EQ(ss->handshakes_failed, 0);
  CHECK_EQ(ss->errors_internal, 0);
  CHECK_EQ(ss->errors_proto, 0);
  CHECK_EQ(ss->retries_sent, 0);
  CHECK_EQ(ss->conns_refused, 0);
  CHECK_EQ(wt_engine_conn_count(w.srv.e), 0);
  CHECK_EQ(short_dcid, 8);
  CHECK_EQ(junk, 26);

  /* a real client is let in (through a Retry when asked) */
  wt_conn *c = wt_sim_connect(&w, 0, NULL);
  CHECK_FATAL(c != NULL);
  CHECK(wt_sim_run_until(&w, wt_sim_c_handshake, NULL, 10 * SEC));
  CHECK_EQ(ss->handshakes_ok, 1);
  CHECK_EQ(ss->retries_sent, retry_mode == WT_RETRY_ALWAYS ? 1 : 0);
  CHECK_EQ(ss->initials_undecryptable, junk);
  wt_sim_free(&w);
}

static void test_crafted(void) {
  scenario_crafted(-1);
}

static void test_crafted_retry(void) {
  scenario_crafted(WT_RETRY_ALWAYS);
}

/* The keys of the tables whose keys a peer chooses (the per-address map of
 * max_conns_per_ip, the CID table) come from the engine's RNG: different
 * for every engine (so for every shard and process), even with a static
 * secret for tokens; test_hmap test_keyed_collisions shows why it matters. */
static void test_keys_random(void) {
  static const uint8_t secret[32] = {1};
  wt_engine_config sc;
  wt_engine_config_default(&sc, 1);
  sc.cert_file = g_certs.cert[0];
  sc.key_file = g_certs.key[0];
  sc.static_secret = secret;
  wt_engine *e[3];
  for (int i = 0; i < 3; i++) {
    CHECK_FATAL(wt_engine_new(&e[i], &sc, NULL, NULL, 1000 * SEC) == 0);
    CHECK(e[i]->per_ip.keyed);
    CHECK(e[i]->per_ip.key.k0 != 0 || e[i]->per_ip.key.k1 != 0);
    CHECK(memcmp(&e[i]->per_ip.key, &e[i]->cids.key, sizeof(wt_siphash_key)) != 0);
  }
  for (int i = 0; i < 3; i++) {
    for (int j = 0; j < i; j++) {
      CHECK(memcmp(&e[i]->per_ip.key, &e[j]->per_ip.key, sizeof(wt_siphash_key)) != 0);
      CHECK(memcmp(&e[i]->cids.key, &e[j]->cids.key, sizeof(wt_siphash_key)) != 0);
    }
  }
  for (int i = 0; i < 3; i++) {
    wt_engine_del(e[i]);
  }
}

int main(void) {
  if (wt_sim_test_init(&g_certs, 1) != 0) {
    return 1;
  }
  WT_RUN(test_keys_known_answer);
  WT_RUN(test_real_initial);
  WT_RUN(test_crafted);
  WT_RUN(test_crafted_retry);
  WT_RUN(test_keys_random);
  wt_sim_certs_remove(&g_certs);
  WT_DONE();
}
