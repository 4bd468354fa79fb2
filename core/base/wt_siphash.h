/* wt_siphash.h: SipHash (Aumasson and Bernstein, "SipHash: a fast
 * short-input PRF", 2012), the keyed hash of the tables whose keys a peer
 * chooses: connection IDs (core/wt_cid.h) and source addresses
 * (wt_hmap_init_keyed). With a secret key, a peer cannot pick keys that
 * collide, so it cannot turn a table's lookups into linear scans.
 *
 * Pure functions; no state, no allocation; any thread. */
#ifndef WT_SIPHASH_H
#define WT_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct wt_siphash_key {
  uint64_t k0, k1; /* the 128-bit key, little-endian halves */
} wt_siphash_key;

/* SipHash-1-3 (one compression round, three finalization rounds): the
 * variant for hash tables. */
uint64_t wt_siphash13(const wt_siphash_key *k, const void *data, size_t len);
/* SipHash-2-4, the variant of the paper's test vectors (unit.siphash). */
uint64_t wt_siphash24(const wt_siphash_key *k, const void *data, size_t len);
/* SipHash-1-3 of one 64-bit integer (its 8 little-endian bytes). */
uint64_t wt_siphash13_u64(const wt_siphash_key *k, uint64_t v);

#endif
