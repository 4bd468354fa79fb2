/* wt_qlb.h: QUIC-LB connection IDs (draft-ietf-quic-load-balancers-21;
 * docs/architecture.md "Connection IDs and steering", "QUIC-LB").
 *
 * A QUIC-LB CID is  first octet || server ID || nonce,  where the first
 * octet is 3 config rotation bits (0..6; 0b111 means "not QUIC-LB, route by
 * 4-tuple") above 5 bits the server may use (length self-description, or
 * ours: the shard, see wt_cid.h). An L4 load balancer that knows the
 * configuration reads the server ID back from any CID the server issued, so
 * a connection keeps reaching its node after a NAT rebinding or migration.
 *
 * Two encodings:
 *   - plaintext: server ID and nonce as they are;
 *   - single-pass AES-128 (when a key is set): server ID || nonce must be
 *     exactly 16 bytes, and are replaced by AES-128-ECB(key, server ID ||
 *     nonce) (wolfCrypt). The draft's four-pass Feistel for other lengths
 *     is not implemented: wt_qlb_check refuses a key with other lengths.
 *
 * wt_qlb_params is plain data (it travels in wt_engine_config by value);
 * wt_qlb is the codec built from it (the AES key schedules), a heap object
 * with one owner: each engine makes its own (wt_qlb_new), so no state is
 * shared between shards. wt_qlb_encode/decode only read it. */
#ifndef WT_QLB_H
#define WT_QLB_H

#include <stddef.h>
#include <stdint.h>

#define WT_QLB_CR_MAX     6  /* config rotation 0..6; 7 (0b111) = unroutable */
#define WT_QLB_SID_MAX    15 /* server ID 1..15 bytes */
#define WT_QLB_NONCE_MIN  4  /* nonce 4..18 bytes */
#define WT_QLB_NONCE_MAX  18
#define WT_QLB_PAYLOAD    19   /* server ID + nonce at most (a CID is at most 20 bytes) */
#define WT_QLB_KEYLEN     16   /* AES-128 */
#define WT_QLB_LOW_MASK   0x1f /* the first octet's bits for server use (the shard) */
#define WT_QLB_MAX_SHARDS 32   /* shards the 5 low bits can name */

typedef struct wt_qlb_params {
  int enabled;        /* 0: QUIC-LB off (everything else ignored) */
  uint32_t config_id; /* config rotation bits, 0..6 */
  uint8_t server_id[WT_QLB_SID_MAX];
  uint32_t server_id_len; /* 1..15 */
  uint32_t nonce_len;     /* 4..18; 0 = default (wt_qlb_check) */
  int has_key;            /* 0: plaintext */
  uint8_t key[WT_QLB_KEYLEN];
} wt_qlb_params;

/* Validate p for a server of n_shards shards and fill the default nonce
 * length (0: 16 - server ID length when that is >= 4, so a key gives the
 * single-pass case; else 4). Returns 0, or WT_ERR_CONFIG with a one-line
 * reason in why (cap bytes, may be NULL): config id > 6, server ID length
 * out of 1..15, nonce out of 4..18, server ID + nonce > 19 or < 7 (wtcast's
 * CIDs are 8..20 bytes), a key with server ID + nonce != 16, n_shards > 32. */
int wt_qlb_check(wt_qlb_params *p, uint32_t n_shards, char *why, size_t cap);

/* The CID length of p (after wt_qlb_check): 1 + server ID + nonce. */
static inline size_t wt_qlb_cid_len(const wt_qlb_params *p) {
  return 1 + (size_t)p->server_id_len + p->nonce_len;
}

typedef struct wt_qlb wt_qlb;

/* Build the codec for p (checked: wt_qlb_check(p, 1, ...) again). Returns
 * 0, WT_ERR_CONFIG, WT_ERR_CRYPTO (the AES key schedule failed) or
 * WT_ERR_NOMEM. The caller owns *out (wt_qlb_del). */
int wt_qlb_new(wt_qlb **out, const wt_qlb_params *p);
void wt_qlb_del(wt_qlb *q);

/* The parameters the codec was built with. */
const wt_qlb_params *wt_qlb_params_of(const wt_qlb *q);

/* Write the CID (wt_qlb_cid_len bytes) for this server ID and nonce[0..
 * nonce_len) into cid[0..len): first octet = config_id << 5 | (low &
 * 0x1f). Returns 0, WT_ERR_INVAL (len is not the CID length) or
 * WT_ERR_CRYPTO. */
int wt_qlb_encode(const wt_qlb *q, const uint8_t *nonce, uint8_t low, uint8_t *cid, size_t len);

/* Read cid[0..len) back: *low (may be NULL) gets the first octet's low 5
 * bits, sid (may be NULL) the server ID (server_id_len bytes), nonce (may
 * be NULL) the nonce. Returns 0, WT_ERR_MALFORMED (length or config
 * rotation bits not this configuration's) or WT_ERR_CRYPTO. It does not
 * compare the server ID with ours: see wt_qlb_is_ours. */
int wt_qlb_decode(const wt_qlb *q, const uint8_t *cid, size_t len, uint8_t *low, uint8_t *sid,
                  uint8_t *nonce);

/* 1 when cid decodes (wt_qlb_decode) to our server ID, else 0. */
int wt_qlb_is_ours(const wt_qlb *q, const uint8_t *cid, size_t len);

/* Parse lowercase or uppercase hex (no separators) into out[0..cap).
 * Returns the byte count, or -1 (odd length, a non-hex character, more than
 * cap bytes, empty). */
int wt_qlb_hex(const char *s, uint8_t *out, size_t cap);

#endif
