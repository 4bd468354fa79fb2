/* wt_hmap.c: see wt_hmap.h. */
#include "wt_hmap.h"

#include <stdlib.h>
#include <string.h>

#include "wt_error.h"

static inline size_t hmap_mix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return (size_t)k;
}

static inline size_t hmap_hash(const wt_hmap *m, uint64_t k) {
  return m->keyed ? (size_t)wt_siphash13_u64(&m->key, k) : hmap_mix(k);
}

void wt_hmap_init(wt_hmap *m) {
  memset(m, 0, sizeof(*m));
}

void wt_hmap_init_keyed(wt_hmap *m, const wt_siphash_key *key) {
  memset(m, 0, sizeof(*m));
  m->keyed = 1;
  m->key = *key;
}

void wt_hmap_free(wt_hmap *m) {
  free(m->slots);
  m->slots = NULL;
  m->mask = 0;
  m->n = 0;
}

static void hmap_insert(const wt_hmap *m, wt_hmap_slot *slots, size_t mask, uint64_t key,
                        void *val) {
  size_t i = hmap_hash(m, key) & mask;
  while (slots[i].key) {
    i = (i + 1) & mask;
  }
  slots[i].key = key;
  slots[i].val = val;
}

static int hmap_grow(wt_hmap *m) {
  size_t cap = m->slots ? (m->mask + 1) * 2 : 16;
  wt_hmap_slot *s = calloc(cap, sizeof(*s));
  if (!s) {
    return WT_ERR_NOMEM;
  }
  if (m->slots) {
    for (size_t i = 0; i <= m->mask; i++) {
      if (m->slots[i].key) {
        hmap_insert(m, s, cap - 1, m->slots[i].key, m->slots[i].val);
      }
    }
    free(m->slots);
  }
  m->slots = s;
  m->mask = cap - 1;
  return 0;
}

int wt_hmap_put(wt_hmap *m, uint64_t key, void *val) {
  if (key == 0) {
    return WT_ERR_INVAL;
  }
  if (m->slots) {
    size_t i = hmap_hash(m, key) & m->mask;
    while (m->slots[i].key) {
      if (m->slots[i].key == key) {
        m->slots[i].val = val;
        return 0;
      }
      i = (i + 1) & m->mask;
    }
  }
  if (!m->slots || (m->n + 1) * 2 > m->mask + 1) {
    if (hmap_grow(m) < 0) {
      return WT_ERR_NOMEM;
    }
  }
  hmap_insert(m, m->slots, m->mask, key, val);
  m->n++;
  return 0;
}

void *wt_hmap_get(const wt_hmap *m, uint64_t key) {
  if (!m->slots || key == 0) {
    return NULL;
  }
  size_t i = hmap_hash(m, key) & m->mask;
  while (m->slots[i].key) {
    if (m->slots[i].key == key) {
      return m->slots[i].val;
    }
    i = (i + 1) & m->mask;
  }
  return NULL;
}

void *wt_hmap_del(wt_hmap *m, uint64_t key) {
  if (!m->slots || key == 0) {
    return NULL;
  }
  size_t i = hmap_hash(m, key) & m->mask;
  while (m->slots[i].key != key) {
    if (!m->slots[i].key) {
      return NULL;
    }
    i = (i + 1) & m->mask;
  }
  void *val = m->slots[i].val;
  /* backward shift: pull later members of the cluster into the hole when
   * their home slot is not between the hole and them */
  size_t hole = i, j = i;
  for (;;) {
    j = (j + 1) & m->mask;
    if (!m->slots[j].key) {
      break;
    }
    size_t home = hmap_hash(m, m->slots[j].key) & m->mask;
    int movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
    if (movable) {
      m->slots[hole] = m->slots[j];
      hole = j;
    }
  }
  m->slots[hole].key = 0;
  m->slots[hole].val = NULL;
  m->n--;
  return val;
}
