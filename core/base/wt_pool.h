/* wt_pool.h: per-thread pool of fixed-size objects.
 *
 * A pool hands out objects of one size from chunks of `per_chunk` objects,
 * keeps returned objects on a free list for reuse, and gives memory back to
 * the allocator only in wt_pool_free. It takes no locks: a pool is owned by
 * one thread, and every call on it (get, put, stats, free) must come from
 * that thread. An object travelling to another thread comes home (on a
 * return ring) before it is put back.
 *
 * Objects are aligned to WT_POOL_ALIGN bytes; the object size is rounded up
 * to a multiple of it (a size of 0 gives WT_POOL_ALIGN-byte objects). The
 * contents of an object from wt_pool_get are unspecified (not zeroed).
 *
 * With WT_POOL_MALLOC defined at build time (the sanitizer build defines it)
 * each get is its own malloc and each put its free, so AddressSanitizer sees
 * every object's bounds and every use after put. The contract is the same in
 * both modes: limits and stats apply, and wt_pool_free also releases objects
 * that were never put back. Reuse of a put object by the next get is only
 * what the chunked mode does, never a promise. */
#ifndef WT_POOL_H
#define WT_POOL_H

#include <stddef.h>
#include <stdint.h>

#define WT_POOL_ALIGN 16

typedef struct wt_pool_chunk wt_pool_chunk;

typedef struct wt_pool {
  size_t obj_size;       /* rounded up to WT_POOL_ALIGN */
  size_t per_chunk;      /* objects per chunk */
  size_t max_objects;    /* 0 = unbounded */
  void *free_list;       /* chunked mode: returned or never-used objects */
  wt_pool_chunk *chunks; /* chunked mode: every chunk; malloc mode: live objects */
  size_t in_use;
  size_t allocated;
  size_t high_water;
} wt_pool;

typedef struct wt_pool_stats {
  size_t in_use;     /* objects handed out and not yet put back */
  size_t allocated;  /* objects backed by memory (in use + free list) */
  size_t high_water; /* largest in_use seen since init */
} wt_pool_stats;

/* Initialise p for objects of obj_size bytes, growing by per_chunk objects
 * at a time, up to max_objects objects in all (0 = unbounded). Allocates
 * nothing yet: the first get allocates the first chunk. Returns 0, or
 * WT_ERR_INVAL if p is NULL, per_chunk is 0, or the sizes overflow. */
int wt_pool_init(wt_pool *p, size_t obj_size, size_t per_chunk, size_t max_objects);

/* Free every chunk, including objects still handed out (they become
 * invalid). p can be initialised again afterwards. Safe on a zeroed pool. */
void wt_pool_free(wt_pool *p);

/* An object from p, owned by the caller until wt_pool_put; NULL when
 * max_objects are in use or the allocator fails. */
void *wt_pool_get(wt_pool *p);

/* Give obj (from wt_pool_get on this same pool) back to p. NULL is ignored. */
void wt_pool_put(wt_pool *p, void *obj);

/* Current counters of p. */
void wt_pool_get_stats(const wt_pool *p, wt_pool_stats *st);

#endif
