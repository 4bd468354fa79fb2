/* wt_hmap.h: open-addressing hash map from non-zero 64-bit keys to pointers.
 *
 * Linear probing with backward-shift deletion (no tombstones), power-of-two
 * capacity, grown at 50 % load. Keys are mixed with a 64-bit finaliser, so
 * sequential ids spread well. Single-threaded. Key 0 is reserved (empty). */
#ifndef WT_HMAP_H
#define WT_HMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct wt_hmap_slot {
  uint64_t key;
  void *val;
} wt_hmap_slot;

typedef struct wt_hmap {
  wt_hmap_slot *slots;
  size_t mask; /* capacity - 1; capacity 0 before the first put */
  size_t n;
} wt_hmap;

void wt_hmap_init(wt_hmap *m);
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
