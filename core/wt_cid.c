/* wt_cid.c: CID shard rule and the CID -> connection hash table. */
#include "wt_cid.h"

#include <stdlib.h>
#include <string.h>

#include "wt_error.h"

int wt_cid_apply_shard(uint8_t *cid, size_t len, uint32_t shard_id, uint32_t n_shards,
                       uint8_t mask) {
  if (cid == NULL || len == 0 || n_shards == 0 || n_shards > (uint32_t)mask + 1 ||
      shard_id >= n_shards || (mask & (mask + 1)) != 0) {
    return WT_ERR_INVAL;
  }
  /* Values v in [0, mask] with v % n == shard: shard, shard + n, ...; there
   * are count of them. Pick one with the random bits already in cid[0]. */
  uint32_t count = (mask - shard_id) / n_shards + 1;
  uint32_t k = (cid[0] & mask) % count;
  cid[0] = (uint8_t)((cid[0] & ~mask) | (shard_id + n_shards * k));
  return 0;
}

static uint64_t cid_hash(const wt_cid_table *t, const uint8_t *p, size_t len) {
  return wt_siphash13(&t->key, p, len);
}

void wt_cid_table_init(wt_cid_table *t, const wt_siphash_key *key) {
  memset(t, 0, sizeof(*t));
  t->key = *key;
}

void wt_cid_table_free(wt_cid_table *t) {
  free(t->ents);
  t->ents = NULL;
  t->cap = 0;
  t->n = 0;
  t->last.val = NULL;
}

static int ent_eq(const wt_cid_ent *e, const uint8_t *cid, size_t len) {
  return e->val != NULL && e->len == len && memcmp(e->data, cid, len) == 0;
}

static int cid_table_grow(wt_cid_table *t) {
  size_t ncap = t->cap ? t->cap * 2 : 64;
  wt_cid_ent *ne = calloc(ncap, sizeof(*ne));
  if (ne == NULL) {
    return WT_ERR_NOMEM;
  }
  for (size_t i = 0; i < t->cap; i++) {
    const wt_cid_ent *o = &t->ents[i];
    if (o->val == NULL) {
      continue;
    }
    size_t j = cid_hash(t, o->data, o->len) & (ncap - 1);
    while (ne[j].val != NULL) {
      j = (j + 1) & (ncap - 1);
    }
    ne[j] = *o;
  }
  free(t->ents);
  t->ents = ne;
  t->cap = ncap;
  return 0;
}

int wt_cid_table_insert(wt_cid_table *t, const uint8_t *cid, size_t len, void *val) {
  if (cid == NULL || len == 0 || len > WT_CID_MAXLEN || val == NULL) {
    return WT_ERR_INVAL;
  }
  if (wt_cid_table_lookup(t, cid, len) != NULL) {
    return WT_ERR_STATE;
  }
  /* Keep the load factor <= 1/2 so probe runs stay short. */
  if ((t->n + 1) * 2 > t->cap) {
    int rv = cid_table_grow(t);
    if (rv < 0) {
      return rv;
    }
  }
  size_t mask = t->cap - 1;
  size_t i = cid_hash(t, cid, len) & mask;
  while (t->ents[i].val != NULL) {
    i = (i + 1) & mask;
  }
  t->ents[i].val = val;
  t->ents[i].len = (uint8_t)len;
  memcpy(t->ents[i].data, cid, len);
  t->n++;
  return 0;
}

static size_t cid_find(const wt_cid_table *t, const uint8_t *cid, size_t len) {
  if (t->cap == 0 || len == 0 || len > WT_CID_MAXLEN) {
    return SIZE_MAX;
  }
  size_t mask = t->cap - 1;
  size_t i = cid_hash(t, cid, len) & mask;
  while (t->ents[i].val != NULL) {
    if (ent_eq(&t->ents[i], cid, len)) {
      return i;
    }
    i = (i + 1) & mask;
  }
  return SIZE_MAX;
}

void *wt_cid_table_lookup(wt_cid_table *t, const uint8_t *cid, size_t len) {
  if (ent_eq(&t->last, cid, len)) {
    return t->last.val;
  }
  size_t i = cid_find(t, cid, len);
  if (i == SIZE_MAX) {
    return NULL;
  }
  t->last = t->ents[i];
  return t->last.val;
}

int wt_cid_table_remove(wt_cid_table *t, const uint8_t *cid, size_t len) {
  size_t i = cid_find(t, cid, len);
  if (i == SIZE_MAX) {
    return WT_ERR_NOTFOUND;
  }
  if (ent_eq(&t->last, cid, len)) {
    t->last.val = NULL;
  }
  size_t mask = t->cap - 1;
  /* Backward-shift deletion: move later members of the probe run into the
   * hole when their home slot is not between the hole and them. */
  size_t j = i;
  for (;;) {
    t->ents[i].val = NULL;
    for (;;) {
      j = (j + 1) & mask;
      if (t->ents[j].val == NULL) {
        t->n--;
        return 0;
      }
      size_t home = cid_hash(t, t->ents[j].data, t->ents[j].len) & mask;
      /* Leave entry j alone if home lies cyclically in (i, j]. */
      if (i <= j ? (i < home && home <= j) : (i < home || home <= j)) {
        continue;
      }
      break;
    }
    t->ents[i] = t->ents[j];
    i = j;
  }
}
