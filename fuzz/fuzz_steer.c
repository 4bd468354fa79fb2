/* fuzz_steer.c: CID steering (shards/wt_steer.h) and server CIDs and the
 * CID table (core/wt_cid.h).
 *
 * Input: byte 0 = shard count - 1, byte 1 = shard id (mod count; its high
 * bit picks the QUIC-LB shard mask 0x1f when count <= 32), byte 2 = table
 * seed, the rest is a datagram and, reread, a script of CID table
 * operations. Oracles:
 *  - wt_steer_owner and the cBPF program wt_steer_build writes decide the
 *    same owner for the datagram (run by tests/unit/wt_cbpf_interp.h);
 *  - a CID made by wt_cid_apply_shard belongs to that shard, and a long or
 *    short header packet carrying it is steered there by both deciders;
 *  - the CID table agrees with a plain array model under any sequence of
 *    inserts, lookups and removes of colliding, variable-length CIDs. */
#include <linux/filter.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "wt_cbpf_interp.h"
#include "wt_cid.h"
#include "wt_error.h"
#include "wt_steer.h"

static uint32_t cbpf_run(const struct sock_filter *p, size_t n, const uint8_t *pkt, size_t len) {
  int bad;
  uint32_t r = wt_cbpf_run(p, n, pkt, len, &bad);
  FUZZ_CHECK(!bad);
  return r;
}

static void check_steer(const struct sock_filter *prog, uint32_t n, uint8_t mask,
                        const uint8_t *pkt, size_t len) {
  uint32_t want = wt_steer_owner(pkt, len, n, mask);
  uint32_t got = cbpf_run(prog, WT_STEER_PROG_LEN, pkt, len);
  FUZZ_CHECK(want <= n);
  FUZZ_CHECK(want == got);
}

/* ------------------------------------------------------------ CID table */

#define MODEL_MAX 64

typedef struct model_ent {
  uint8_t len;
  uint8_t cid[WT_CID_MAXLEN];
  void *val;
} model_ent;

static void *model_find(model_ent *m, size_t n, const uint8_t *cid, size_t len, size_t *at) {
  for (size_t i = 0; i < n; i++) {
    if (m[i].len == len && memcmp(m[i].cid, cid, len) == 0) {
      *at = i;
      return m[i].val;
    }
  }
  return NULL;
}

static void check_table(const uint8_t *p, size_t size, uint64_t seed) {
  static model_ent m[MODEL_MAX];
  size_t nm = 0;
  wt_cid_table t;
  wt_cid_table_init(&t, &(wt_siphash_key){seed, ~seed});
  uintptr_t next_val = 0x1000;
  /* Each op: 1 byte (2 bits op, 6 bits length) + a 1-byte CID "family":
   * the CID is that byte repeated with a position mark, so families collide
   * on purpose and lengths 0..21 hit the edges. */
  for (size_t i = 0; i + 2 <= size; i += 2) {
    int op = p[i] & 3;
    size_t len = (size_t)(p[i] >> 2) % (WT_CID_MAXLEN + 2);
    uint8_t cid[WT_CID_MAXLEN + 1];
    for (size_t k = 0; k < len; k++) {
      cid[k] = (uint8_t)(p[i + 1] + (k & ~(size_t)7));
    }
    size_t at = 0;
    void *mv = len >= 1 && len <= WT_CID_MAXLEN ? model_find(m, nm, cid, len, &at) : NULL;
    void *tv = wt_cid_table_lookup(&t, cid, len);
    FUZZ_CHECK(tv == mv);
    if (op == 0 || op == 1) {
      void *val = (void *)(next_val += 16);
      int rv = wt_cid_table_insert(&t, cid, len, val);
      if (len < 1 || len > WT_CID_MAXLEN) {
        FUZZ_CHECK(rv == WT_ERR_INVAL);
      } else if (mv) {
        FUZZ_CHECK(rv == WT_ERR_STATE);
      } else if (nm < MODEL_MAX) {
        FUZZ_CHECK(rv == 0);
        m[nm].len = (uint8_t)len;
        memcpy(m[nm].cid, cid, len);
        m[nm].val = val;
        nm++;
      } else {
        /* The model is full: undo, so both stay in step. */
        FUZZ_CHECK(rv == 0 && wt_cid_table_remove(&t, cid, len) == 0);
      }
    } else if (op == 2) {
      int rv = wt_cid_table_remove(&t, cid, len);
      if (mv) {
        FUZZ_CHECK(rv == 0);
        m[at] = m[--nm];
      } else {
        FUZZ_CHECK(rv == WT_ERR_NOTFOUND || (rv == WT_ERR_INVAL && (len < 1 || len > 20)));
      }
    }
    FUZZ_CHECK(wt_cid_table_count(&t) == nm);
  }
  for (size_t i = 0; i < nm; i++) {
    FUZZ_CHECK(wt_cid_table_lookup(&t, m[i].cid, m[i].len) == m[i].val);
  }
  wt_cid_table_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3) {
    return 0;
  }
  uint32_t n = (uint32_t)data[0] + 1;
  uint32_t shard = data[1] % n;
  uint8_t mask = (n <= 32 && (data[1] & 0x80)) ? 0x1f : WT_CID_SHARD_MASK;
  const uint8_t *pkt = data + 3;
  size_t len = size - 3;

  struct sock_filter prog[WT_STEER_PROG_LEN];
  FUZZ_CHECK(wt_steer_build(prog, WT_STEER_PROG_LEN - 1, n, mask) == WT_ERR_INVAL);
  FUZZ_CHECK(wt_steer_build(prog, WT_STEER_PROG_LEN, n, mask) == WT_STEER_PROG_LEN);
  check_steer(prog, n, mask, pkt, len);
  /* Every prefix of the datagram: the too-short cases decide "any shard". */
  for (size_t k = 0; k < len && k < 10; k++) {
    check_steer(prog, n, mask, pkt, k);
  }

  /* A CID of `shard`, from the datagram's bytes, in both header forms. */
  uint8_t cid[WT_CID_MAXLEN] = {0};
  size_t clen = WT_CID_MINLEN + (size_t)(data[2] % (WT_CID_MAXLEN - WT_CID_MINLEN + 1));
  memcpy(cid, pkt, len < clen ? len : clen);
  FUZZ_CHECK(wt_cid_apply_shard(cid, clen, shard, n, mask) == 0);
  FUZZ_CHECK(wt_cid_shard(cid, n, mask) == shard);
  FUZZ_CHECK(wt_cid_apply_shard(cid, clen, n, n, mask) == WT_ERR_INVAL);
  FUZZ_CHECK(wt_cid_apply_shard(cid, 0, shard, n, mask) == WT_ERR_INVAL);
  uint8_t shortp[1 + WT_CID_MAXLEN + 4] = {0x40};
  memcpy(shortp + 1, cid, clen);
  uint8_t longp[6 + WT_CID_MAXLEN + 4] = {0xc0, 0, 0, 0, 1, (uint8_t)clen};
  memcpy(longp + 6, cid, clen);
  FUZZ_CHECK(wt_steer_owner(shortp, 1 + clen, n, mask) == shard);
  FUZZ_CHECK(wt_steer_owner(longp, 6 + clen, n, mask) == shard);
  check_steer(prog, n, mask, shortp, 1 + clen);
  check_steer(prog, n, mask, longp, 6 + clen);

  check_table(pkt, len, (uint64_t)data[2] * 0x9e3779b97f4a7c15ull);
  return 0;
}
