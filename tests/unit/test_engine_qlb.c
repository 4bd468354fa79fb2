/* test_engine_qlb.c: a server engine with QUIC-LB connection IDs
 * (wt_engine_config.qlb, core/wt_qlb.h) against a client over the simulated
 * network: every CID the server issues (the first one, every
 * NEW_CONNECTION_ID, the Retry's) decodes to the configured server ID with
 * the configured config rotation, and its first byte names the engine's
 * shard ((byte0 & 0x1f) % n_shards); so does every CID seen on the wire (the
 * SCID of the server's long headers, the DCID of the client's short
 * headers), before and after a NAT rebinding. Plaintext and single-pass
 * AES, several shard layouts, with and without Retry. */
#include "wt_sim_check.h"

#include "wt_ctx.h" /* internal: the engine's CID table */
#include "wt_engine.h"
#include "wt_qlb.h"

#define SEC WT_SIM_SEC

static wt_sim_certs g_certs;

typedef struct wire {
  const wt_qlb *q; /* an independent decoder built from the same parameters */
  uint32_t shard, n;
  size_t len;
  unsigned seen, bad;
} wire;

static int cid_ok(const wire *x, const uint8_t *cid, size_t len) {
  const wt_qlb_params *p = wt_qlb_params_of(x->q);
  uint8_t sid[WT_QLB_SID_MAX], low = 0;
  return len == x->len && wt_qlb_decode(x->q, cid, len, &low, sid, NULL) == 0 &&
         (uint32_t)(cid[0] >> 5) == p->config_id &&
         memcmp(sid, p->server_id, p->server_id_len) == 0 && low % x->n == x->shard;
}

/* Server long headers: SCID at 6 + DCID length + 1 (RFC 9000 section
 * 17.2). Client short headers: DCID at 1, our CID length. */
static int wire_filter(void *arg, wt_sim *w, wt_sim_pkt *p) {
  (void)w;
  wire *x = arg;
  if (p->len < 7) {
    return 0;
  }
  if (!p->to_server && (p->data[0] & 0x80)) {
    size_t dl = p->data[5];
    if (6 + dl + 1 > p->len) {
      return 0;
    }
    size_t sl = p->data[6 + dl];
    if (7 + dl + sl > p->len) {
      return 0;
    }
    x->seen++;
    x->bad += !cid_ok(x, p->data + 7 + dl, sl);
  } else if (p->to_server && !(p->data[0] & 0x80) && p->len > 1 + x->len) {
    x->seen++;
    x->bad += !cid_ok(x, p->data + 1, x->len);
  }
  return 0;
}

static void run_case(const wt_qlb_params *qp, uint32_t shard, uint32_t n, int retry) {
  wt_sim w;
  wt_sim_config cfg;
  wt_sim_config_default(&cfg);
  wt_sim_init(&w, &cfg, NULL);
  wt_engine_config sc, cc;
  wt_engine_config_default(&sc, 1);
  sc.cert_file = g_certs.cert[0];
  sc.key_file = g_certs.key[0];
  sc.shard_id = shard;
  sc.n_shards = n;
  sc.qlb = *qp;
  sc.retry_mode = retry ? WT_RETRY_ALWAYS : WT_RETRY_NEVER;
  wt_engine_config_default(&cc, 0);
  cc.pin_sha256 = g_certs.pin[0];
  CHECK_FATAL(wt_sim_server_new(&w, &sc) == 0);
  CHECK_FATAL(wt_sim_client_add(&w, &cc, NULL) == 0);

  wt_qlb_params p = *qp;
  CHECK_FATAL(wt_qlb_check(&p, n, NULL, 0) == 0);
  wt_qlb *q = NULL;
  CHECK_FATAL(wt_qlb_new(&q, &p) == 0);
  wire x = {.q = q, .shard = shard, .n = n, .len = wt_qlb_cid_len(&p)};
  CHECK_EQ(w.srv.e->cfg.scid_len, x.len);
  w.filter = wire_filter;
  w.filter_arg = &x;

  wt_conn *c = wt_sim_connect(&w, 0, NULL);
  CHECK_FATAL(c != NULL);
  CHECK(wt_sim_run_until(&w, wt_sim_c_handshake, NULL, 20 * SEC));
  wt_sim_sess *cs = wt_sim_open_session(&w, 0, c, "/echo", "https://localhost");
  CHECK(cs != NULL);
  if (cs) {
    CHECK(wt_sim_run_until(&w, wt_sim_c_sess_settled, cs, 20 * SEC));
  }
  wt_sim_nat(&w, 0, 40000); /* a NAT rebinding: the CIDs still name us */
  wt_sim_run_until(&w, NULL, NULL, 2 * SEC);

  /* Every CID in the server's table is one it issued, but for the client's
   * first DCID (kept for retransmitted Initials; the client chose it). */
  const wt_cid_table *t = &w.srv.e->cids;
  unsigned issued = 0, bad = 0, other = 0;
  for (size_t i = 0; i < t->cap; i++) {
    const wt_cid_ent *en = &t->ents[i];
    if (en->val == NULL) {
      continue;
    }
    if (en->len != x.len) {
      other++;
      continue;
    }
    issued++;
    bad += !cid_ok(&x, en->data, en->len);
  }
  fprintf(stderr, "  shard %u/%u key %d retry %d: %u CIDs issued, %u on the wire\n", shard, n,
          qp->has_key, retry, issued, x.seen);
  CHECK(issued >= 2); /* the first one and NEW_CONNECTION_IDs */
  CHECK(other <= 1);
  CHECK_EQ(bad, 0);
  CHECK(x.seen > 0);
  CHECK_EQ(x.bad, 0);
  CHECK(wt_sim_close_all(&w, 60 * SEC));
  wt_sim_free(&w);
  wt_qlb_del(q);
}

static void test_plaintext(void) {
  wt_qlb_params p = {.enabled = 1, .config_id = 5, .server_id_len = 3, .nonce_len = 6};
  memcpy(p.server_id, "\x0a\x01\x02", 3);
  run_case(&p, 0, 1, 0);
  run_case(&p, 1, 2, 0);
  run_case(&p, 2, 3, 1);
  run_case(&p, 31, 32, 0);
}

static void test_single_pass(void) {
  wt_qlb_params p = {.enabled = 1, .config_id = 2, .server_id_len = 8, .has_key = 1};
  memcpy(p.server_id, "\xed\x79\x3a\x51\xd4\x9b\x8f\x5f", 8);
  memcpy(p.key, "\x8f\x95\xf0\x92\x45\x76\x5f\x80\x25\x69\x34\xe5\x0c\x66\x20\x7f", 16);
  run_case(&p, 0, 2, 0);
  run_case(&p, 1, 2, 1);
  run_case(&p, 6, 7, 0);
}

/* The engine refuses what wt_qlb_check refuses, and QUIC-LB in a client. */
static void test_config(void) {
  wt_engine_config sc;
  wt_engine *e = NULL;
  wt_engine_config_default(&sc, 1);
  sc.cert_file = g_certs.cert[0];
  sc.key_file = g_certs.key[0];
  sc.qlb = (wt_qlb_params){.enabled = 1, .server_id_len = 3, .nonce_len = 6};
  sc.n_shards = 33;
  CHECK_EQ(wt_engine_new(&e, &sc, NULL, NULL, 0), WT_ERR_CONFIG);
  sc.n_shards = 1;
  sc.qlb.has_key = 1; /* 3 + 6 != 16 */
  CHECK_EQ(wt_engine_new(&e, &sc, NULL, NULL, 0), WT_ERR_CONFIG);
  wt_engine_config cc;
  wt_engine_config_default(&cc, 0);
  cc.qlb = (wt_qlb_params){.enabled = 1, .server_id_len = 3, .nonce_len = 6};
  CHECK_EQ(wt_engine_new(&e, &cc, NULL, NULL, 0), WT_ERR_CONFIG);
  CHECK(e == NULL);
}

int main(void) {
  if (wt_sim_test_init(&g_certs, 1) != 0) {
    return 1;
  }
  WT_RUN(test_plaintext);
  WT_RUN(test_single_pass);
  WT_RUN(test_config);
  wt_sim_certs_remove(&g_certs);
  WT_DONE();
}
