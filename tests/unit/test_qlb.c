/* test_qlb.c: QUIC-LB connection IDs (core/wt_qlb.h): the draft's test
 * vectors (draft-ietf-quic-load-balancers-21, appendix B: the plaintext row
 * and the 16-byte single-pass AES row), round trips with the shard in the
 * first octet for every shard count 1..32 and CID length, the checks. */
#include "check.h"

#include "wt_cid.h"
#include "wt_error.h"
#include "wt_qlb.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint8_t rnd8(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint8_t)(rng >> 24);
}

static size_t hex(const char *s, uint8_t *out) {
  int n = wt_qlb_hex(s, out, 32);
  CHECK(n > 0);
  return n > 0 ? (size_t)n : 0;
}

static const char *const KEY = "8f95f09245765f80256934e50c66207f";

/* One row: config rotation, server ID, nonce, key (NULL: plaintext), CID.
 * The draft's rows encode the CID length in the 5 low bits (length - 1). */
static void vector(uint32_t cr, const char *sid, const char *nonce, const char *key,
                   const char *want) {
  wt_qlb_params p = {.enabled = 1, .config_id = cr};
  uint8_t n[32], w[32], cid[32], got_sid[32], got_nonce[32], low = 0xff;
  p.server_id_len = (uint32_t)wt_qlb_hex(sid, p.server_id, sizeof(p.server_id));
  p.nonce_len = (uint32_t)hex(nonce, n);
  if (key) {
    p.has_key = 1;
    CHECK_EQ(wt_qlb_hex(key, p.key, sizeof(p.key)), WT_QLB_KEYLEN);
  }
  size_t wl = hex(want, w);
  CHECK_EQ(wt_qlb_check(&p, 1, NULL, 0), 0);
  CHECK_EQ(wt_qlb_cid_len(&p), wl);
  wt_qlb *q = NULL;
  CHECK_FATAL(wt_qlb_new(&q, &p) == 0);
  CHECK_EQ(wt_qlb_encode(q, n, (uint8_t)(wl - 1), cid, wl), 0);
  CHECK_MEM(cid, w, wl);
  CHECK_EQ(wt_qlb_decode(q, w, wl, &low, got_sid, got_nonce), 0);
  CHECK_EQ(low, wl - 1);
  CHECK_MEM(got_sid, p.server_id, p.server_id_len);
  CHECK_MEM(got_nonce, n, p.nonce_len);
  CHECK(wt_qlb_is_ours(q, w, wl));
  wt_qlb_del(q);
}

static void test_vectors(void) {
  /* Unencrypted CIDs, first row. (The second row prints a 9-digit nonce,
   * "3487d970b", and a CID whose first octet does not match its config
   * rotation: not usable as printed.) */
  vector(0, "c4605e", "4504cc4f", NULL, "07c4605e4504cc4f");
  /* Encrypted CIDs: the row where server ID + nonce = 16 bytes, the
   * single-pass case (CID = first octet || AES-128-ECB(sid || nonce)). */
  vector(2, "ed793a51d49b8f5f", "ee080dbf48c0d1e5", KEY, "504dd2d05a7b0de9b2b9907afb5ecf8cc3");
  /* The other encrypted rows need the four-pass cipher: refused. */
  wt_qlb_params p = {.enabled = 1, .server_id_len = 3, .nonce_len = 4, .has_key = 1};
  char why[200] = "";
  CHECK_EQ(wt_qlb_check(&p, 1, why, sizeof(why)), WT_ERR_CONFIG);
  CHECK(strstr(why, "four-pass") != NULL);
  wt_qlb *q = NULL;
  CHECK_EQ(wt_qlb_new(&q, &p), WT_ERR_CONFIG);
  CHECK(q == NULL);
}

/* Make the CID of (shard of n) the way the engine does (core/wt_ctx.c):
 * random bytes, the shard in the first byte's low 5 bits, then encode. */
static void make_cid(const wt_qlb *q, uint32_t shard, uint32_t n, uint8_t *cid, size_t len,
                     uint8_t *nonce) {
  for (size_t i = 0; i < len; i++) {
    cid[i] = rnd8();
  }
  CHECK_EQ(wt_cid_apply_shard(cid, len, shard, n, WT_QLB_LOW_MASK), 0);
  memcpy(nonce, cid + 1, wt_qlb_params_of(q)->nonce_len);
  CHECK_EQ(wt_qlb_encode(q, nonce, cid[0], cid, len), 0);
}

static void round_trips(const wt_qlb_params *pp, unsigned *cases) {
  wt_qlb_params p = *pp;
  CHECK_FATAL(wt_qlb_check(&p, WT_QLB_MAX_SHARDS, NULL, 0) == 0);
  wt_qlb *q = NULL;
  CHECK_FATAL(wt_qlb_new(&q, &p) == 0);
  size_t len = wt_qlb_cid_len(&p);
  CHECK(len >= WT_CID_MINLEN && len <= WT_CID_MAXLEN);
  unsigned bad = 0;
  for (uint32_t n = 1; n <= WT_QLB_MAX_SHARDS; n++) {
    for (uint32_t s = 0; s < n; s++) {
      uint8_t cid[WT_CID_MAXLEN], nonce[WT_QLB_NONCE_MAX], sid[WT_QLB_SID_MAX];
      uint8_t got_nonce[WT_QLB_NONCE_MAX], low;
      make_cid(q, s, n, cid, len, nonce);
      int ok = (cid[0] >> 5) == p.config_id && wt_cid_shard(cid, n, WT_QLB_LOW_MASK) == s &&
               wt_qlb_decode(q, cid, len, &low, sid, got_nonce) == 0 && low % n == s &&
               memcmp(sid, p.server_id, p.server_id_len) == 0 &&
               memcmp(got_nonce, nonce, p.nonce_len) == 0 && wt_qlb_is_ours(q, cid, len);
      /* encrypted: the server ID is not in the clear (4 bytes or more, so
       * a chance match is out of the question) */
      if (ok && p.has_key && p.server_id_len >= 4) {
        ok = memcmp(cid + 1, p.server_id, p.server_id_len) != 0;
      }
      bad += !ok;
      (*cases)++;
    }
  }
  CHECK_EQ(bad, 0);
  /* another length, another config rotation: not this configuration's */
  uint8_t cid[WT_CID_MAXLEN], nonce[WT_QLB_NONCE_MAX];
  make_cid(q, 0, 1, cid, len, nonce);
  CHECK_EQ(wt_qlb_decode(q, cid, len - 1, NULL, NULL, NULL), WT_ERR_MALFORMED);
  cid[0] ^= 0x20;
  CHECK_EQ(wt_qlb_decode(q, cid, len, NULL, NULL, NULL), WT_ERR_MALFORMED);
  CHECK(!wt_qlb_is_ours(q, cid, len));
  CHECK_EQ(wt_qlb_encode(q, nonce, 0, cid, len + 1), WT_ERR_INVAL);
  wt_qlb_del(q);
}

/* Every shard count 1..32 and every CID length 8..20 (plaintext: server ID
 * 1..15 bytes with every nonce that fits), and every single-pass split. */
static void test_round_trips(void) {
  unsigned cases = 0;
  for (uint32_t sl = 1; sl <= WT_QLB_SID_MAX; sl++) {
    for (uint32_t nl = WT_QLB_NONCE_MIN; nl <= WT_QLB_NONCE_MAX; nl++) {
      if (sl + nl > WT_QLB_PAYLOAD || sl + nl < 7) {
        continue;
      }
      wt_qlb_params p = {
          .enabled = 1, .config_id = (sl + nl) % 7, .server_id_len = sl, .nonce_len = nl};
      for (uint32_t i = 0; i < sl; i++) {
        p.server_id[i] = rnd8();
      }
      round_trips(&p, &cases);
    }
  }
  for (uint32_t sl = 1; sl <= 16 - WT_QLB_NONCE_MIN; sl++) {
    wt_qlb_params p = {.enabled = 1, .config_id = sl % 7, .server_id_len = sl, .has_key = 1};
    hex(KEY, p.key);
    for (uint32_t i = 0; i < sl; i++) {
      p.server_id[i] = rnd8();
    }
    CHECK_EQ(wt_qlb_check(&p, 1, NULL, 0), 0);
    CHECK_EQ(p.nonce_len, 16 - sl); /* the default makes the single-pass case */
    round_trips(&p, &cases);
  }
  fprintf(stderr, "  %u round trips\n", cases);
}

static void test_check(void) {
  char why[200];
  wt_qlb_params ok = {.enabled = 1, .config_id = 6, .server_id_len = 2, .nonce_len = 6};
  wt_qlb_params p = ok;
  CHECK_EQ(wt_qlb_check(&p, 32, why, sizeof(why)), 0);
  p = ok;
  CHECK_EQ(wt_qlb_check(&p, 33, why, sizeof(why)), WT_ERR_CONFIG);
  CHECK(strstr(why, "33 shards") != NULL);
  p = ok;
  p.config_id = 7; /* 0b111: unroutable, not a configuration */
  CHECK_EQ(wt_qlb_check(&p, 1, why, sizeof(why)), WT_ERR_CONFIG);
  p = ok;
  p.server_id_len = 0;
  CHECK_EQ(wt_qlb_check(&p, 1, why, sizeof(why)), WT_ERR_CONFIG);
  p.server_id_len = 16;
  CHECK_EQ(wt_qlb_check(&p, 1, why, sizeof(why)), WT_ERR_CONFIG);
  p = ok;
  p.nonce_len = 3;
  CHECK_EQ(wt_qlb_check(&p, 1, why, sizeof(why)), WT_ERR_CONFIG);
  p.nonce_len = 19;
  CHECK_EQ(wt_qlb_check(&p, 1, why, sizeof(why)), WT_ERR_CONFIG);
  p = ok;
  p.server_id_len = 15;
  p.nonce_len = 5; /* 21-byte CID */
  CHECK_EQ(wt_qlb_check(&p, 1, why, sizeof(why)), WT_ERR_CONFIG);
  p.server_id_len = 2;
  p.nonce_len = 4; /* a 7-byte CID: wtcast's are at least 8 */
  CHECK_EQ(wt_qlb_check(&p, 1, why, sizeof(why)), WT_ERR_CONFIG);
  /* default nonce lengths */
  p = ok;
  p.nonce_len = 0;
  CHECK_EQ(wt_qlb_check(&p, 1, NULL, 0), 0);
  CHECK_EQ(p.nonce_len, 14);
  p.nonce_len = 0;
  p.server_id_len = 14;
  CHECK_EQ(wt_qlb_check(&p, 1, NULL, 0), 0);
  CHECK_EQ(p.nonce_len, 4);
  wt_qlb *q = NULL;
  p = ok;
  p.enabled = 0;
  CHECK_EQ(wt_qlb_new(&q, &p), WT_ERR_CONFIG);
  CHECK_EQ(wt_qlb_new(NULL, &ok), WT_ERR_INVAL);
  wt_qlb_del(NULL);
}

static void test_hex(void) {
  uint8_t b[4];
  CHECK_EQ(wt_qlb_hex("0aFf", b, sizeof(b)), 2);
  CHECK_EQ(b[0], 0x0a);
  CHECK_EQ(b[1], 0xff);
  CHECK_EQ(wt_qlb_hex("", b, sizeof(b)), -1);
  CHECK_EQ(wt_qlb_hex("abc", b, sizeof(b)), -1);
  CHECK_EQ(wt_qlb_hex("0g", b, sizeof(b)), -1);
  CHECK_EQ(wt_qlb_hex("0102030405", b, sizeof(b)), -1);
  CHECK_EQ(wt_qlb_hex(NULL, b, sizeof(b)), -1);
}

int main(void) {
  WT_RUN(test_vectors);
  WT_RUN(test_round_trips);
  WT_RUN(test_check);
  WT_RUN(test_hex);
  WT_DONE();
}
