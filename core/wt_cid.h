/* wt_cid.h: server connection IDs and the CID -> connection table.
 *
 * CID rule (docs/architecture.md "Connection IDs and steering"): a
 * server-chosen CID is `len` bytes (8..20); the bits `mask` of byte 0 are
 * chosen so that (byte0 & mask) % n_shards == shard_id (the reuseport cBPF
 * program and the cross-shard forwarder steer on it). mask is
 * WT_CID_SHARD_MASK (0xff: the whole byte, the other bytes random) or, with
 * QUIC-LB connection IDs (core/wt_qlb.h), WT_QLB_LOW_MASK (0x1f: the 3 high
 * bits are the config rotation, then server ID and nonce follow).
 *
 * The table maps CID bytes to an opaque pointer (a wt_conn). Open
 * addressing, linear probing, backward-shift deletion, keyed hash
 * (SipHash-1-3, core/base/wt_siphash.h; the key comes from the caller's
 * RNG, so peer-chosen CIDs cannot force collisions).
 * Not thread-safe: one table per engine (per shard). */
#ifndef WT_CID_H
#define WT_CID_H

#include <stddef.h>
#include <stdint.h>

#include "wt_siphash.h"

#define WT_CID_MINLEN 8
#define WT_CID_MAXLEN 20 /* RFC 9000 section 17.2: at most 20 bytes */

#define WT_CID_SHARD_MASK 0xff /* the whole first byte names the shard */

/* Turn `len` random bytes at cid into a CID of this shard: rewrites the
 * bits mask of cid[0] (keeping them random among the values v <= mask with
 * v % n_shards == shard_id; the other bits are left alone). mask is a
 * low-bit mask (2^k - 1). Returns 0, or WT_ERR_INVAL if len is 0, n_shards
 * is 0 or > mask + 1, shard_id >= n_shards or mask is not of that form. */
int wt_cid_apply_shard(uint8_t *cid, size_t len, uint32_t shard_id, uint32_t n_shards,
                       uint8_t mask);

/* The shard a CID belongs to: (cid[0] & mask) % n_shards (n_shards >= 1). */
static inline uint32_t wt_cid_shard(const uint8_t *cid, uint32_t n_shards, uint8_t mask) {
  return (uint32_t)(cid[0] & mask) % n_shards;
}

typedef struct wt_cid_ent {
  void *val; /* NULL = empty slot */
  uint8_t len;
  uint8_t data[WT_CID_MAXLEN];
} wt_cid_ent;

typedef struct wt_cid_table {
  wt_cid_ent *ents;
  size_t cap; /* power of two */
  size_t n;
  wt_siphash_key key;
  wt_cid_ent last; /* the last entry found: a burst of packets (GRO) carries
                      one DCID, so most lookups stop here */
} wt_cid_table;

/* Initialise an empty table (allocates on first insert). key (copied)
 * keys the hash: keep it secret. */
void wt_cid_table_init(wt_cid_table *t, const wt_siphash_key *key);
/* Free the slots; the values are not touched. */
void wt_cid_table_free(wt_cid_table *t);

/* Map cid[0..len) to val (non-NULL). Returns 0, WT_ERR_INVAL (len 0 or >
 * 20, val NULL), WT_ERR_STATE (cid already present; the table is
 * unchanged), WT_ERR_NOMEM. */
int wt_cid_table_insert(wt_cid_table *t, const uint8_t *cid, size_t len, void *val);

/* The value for cid, or NULL. Not const: a hit is remembered. */
void *wt_cid_table_lookup(wt_cid_table *t, const uint8_t *cid, size_t len);

/* Remove cid. Returns 0 or WT_ERR_NOTFOUND. */
int wt_cid_table_remove(wt_cid_table *t, const uint8_t *cid, size_t len);

static inline size_t wt_cid_table_count(const wt_cid_table *t) {
  return t->n;
}

#endif
