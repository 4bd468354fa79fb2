/* wt_hmap.h: open-addressing hash map from non-zero 64-bit keys to pointers.
 *
 * Linear probing with backward-shift deletion (no tombstones), power-of-two
 * capacity, grown at 50 % load. Keys are mixed with a 64-bit finaliser, so
 * sequential ids spread well; a map whose keys a peer chooses (source
 * addresses) is keyed instead (wt_hmap_init_keyed: SipHash-1-3 with a
 * secret key), so the peer cannot make its keys collide. Single-threaded.
 * Key 0 is reserved (empty). */
#ifndef WT_HMAP_H
#define WT_HMAP_H

#include <stddef.h>
#include <stdint.h>

#include "wt_siphash.h"

typedef struct wt_hmap_slot {
  uint64_t key;
  void *val;
} wt_hmap_slot;

typedef struct wt_hmap {
  wt_hmap_slot *slots;
  size_t mask; /* capacity - 1; capacity 0 before the first put */
  size_t n;
  int keyed; /* hash with SipHash-1-3 under key */
  wt_siphash_key key;
} wt_hmap;

void wt_hmap_init(wt_hmap *m);
/* An empty map hashing with SipHash-1-3 under key (copied; keep it secret:
 * from a CSPRNG). wt_hmap_free keeps the key. */
void wt_hmap_init_keyed(wt_hmap *m, const wt_siphash_key *key);
void wt_hmap_free(wt_hmap *m);
/* Insert or replace. Returns 0, WT_ERR_INVAL (key 0) or WT_ERR_NOMEM. */
int wt_hmap_put(wt_hmap *m, uint64_t key, void *val);
/* The value of key, or NULL. */
void *wt_hmap_get(const wt_hmap *m, uint64_t key);
/* Remove key; returns its value or NULL. */
void *wt_hmap_del(wt_hmap *m, uint64_t key);
static inline size_t wt_hmap_count(const wt_hmap *m) {
  return m->n;
}
/* Visit every entry (the map must not change during the walk). */
#define WT_HMAP_FOREACH(m, s)                                                                      \
  for (wt_hmap_slot *s = (m)->slots; (m)->slots && s <= (m)->slots + (m)->mask; s++)               \
    if (s->key)

#endif
