/* wt_buf.h: reference-counted payload buffers from per-thread pools.
 *
 * A wt_buf carries bytes between threads (engine <-> application rings, one
 * relay payload shared by many subscriber sessions) without copying them.
 * It is allocated from the pool of the allocating thread (its "home"), may
 * be referenced from any thread (wt_buf_ref / wt_buf_unref: atomic count),
 * and goes back to its home pool when the last reference drops:
 *   - on the home thread: straight onto the pool's free list;
 *   - on another thread: pushed onto the pool's remote-free stack (one
 *     lock-free compare-and-swap; an MPSC Treiber stack that the home thread
 *     empties with one atomic exchange, so it has no ABA problem). The home
 *     thread collects those on its next allocation or wt_buf_pool_collect.
 * (The idea of mimalloc's thread-delayed free and of DPDK's per-lcore
 * mempool caches, in a few lines.)
 *
 * Sizes: a pool hands out buffers of one capacity (buf_size); larger
 * requests get a one-off malloc'd buffer with the same interface (freed with
 * free() by whichever thread drops the last reference). The pool keeps at
 * most max_free idle buffers and counts everything (wt_buf_pool_stats).
 *
 * A pool must outlive every buffer it handed out: free it (wt_buf_pool_del)
 * only when no other thread can hold one (after joining them); buffers still
 * out then are reported and leaked on purpose rather than freed under
 * someone's feet.
 *
 * Memory budget (wt_mem.h): a pool given a budget (wt_buf_pool_set_budget)
 * charges each buffer's capacity plus header for as long as the pool holds
 * it: from its malloc to its free, idle on the free list or on the
 * remote-free stack included (held memory is counted, not only memory in
 * use); one-off buffers from their allocation to their last reference.
 * Idle buffers go back to the system:
 *   - under pressure: while the budget is at NO_CREDIT or above, a pool
 *     keeps no idle buffer (those it has are freed at the next collect,
 *     buffers coming home are freed);
 *   - when not needed: buffers that stayed idle through WT_BUF_IDLE_TURNS
 *     collects (the owner's loop turns) are freed down to the reserve;
 *   - wt_buf_pool_trim, on demand.
 * Counted per pool (wt_buf_pool_stats trimmed_*) and on the budget
 * (wt_mem_note_trim: bytes by reason, a pressure episode logged once). */
#ifndef WT_BUF_H
#define WT_BUF_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "wt_mem.h"

typedef struct wt_buf_pool wt_buf_pool;

#define WT_BUF_RESERVE    32    /* idle buffers a pool keeps when trimmed for idleness */
#define WT_BUF_IDLE_TURNS 16384 /* collects without needing a buffer before it goes */

typedef struct wt_buf {
  _Atomic uint32_t refs;
  uint32_t cap;        /* bytes at data */
  uint32_t len;        /* bytes used (the allocator's business) */
  uint32_t flags;      /* internal */
  uint64_t tag, tag2;  /* free for the current holder (e.g. a stream id) */
  wt_buf_pool *pool;   /* home pool; NULL for a one-off buffer */
  struct wt_buf *next; /* free list / remote-free stack link (internal) */
  wt_mem_budget *mem;  /* charged with wt_buf_held(this) while out (NULL: none) */
  _Alignas(16) uint8_t data[];
} wt_buf;

typedef struct wt_buf_pool_stats {
  uint64_t allocs, frees_local, frees_remote, oneoff, failed;
  uint64_t live; /* buffers out of the pool now (approximate across threads) */
  uint64_t idle; /* on the free list */
  uint64_t trimmed_pressure, trimmed_idle; /* idle buffers given back, by reason */
} wt_buf_pool_stats;

/* Create a pool of buf_size-byte buffers (>= 64) that keeps at most
 * max_free idle ones (0 = 1024; fewer under pressure, see above). Returns 0, WT_ERR_INVAL or
 * WT_ERR_NOMEM. The creating thread is the home thread. */
int wt_buf_pool_new(wt_buf_pool **out, uint32_t buf_size, uint32_t max_free);
/* Free the pool and its idle buffers (see above). NULL is a no-op. */
void wt_buf_pool_del(wt_buf_pool *p);

/* Home thread: a buffer with refs = 1 and room for at least size bytes
 * (len = 0), or NULL when memory is short (counted). */
wt_buf *wt_buf_alloc(wt_buf_pool *p, size_t size);
/* Home thread: take back what other threads returned (returns how many),
 * then trim if the budget is under pressure or buffers were idle for
 * WT_BUF_IDLE_TURNS calls (see above). The owner calls it every turn of
 * its loop. */
size_t wt_buf_pool_collect(wt_buf_pool *p);
/* Home thread: collect, then give idle buffers back down to the reserve
 * (counted as an idle trim). Returns how many went. */
size_t wt_buf_pool_trim(wt_buf_pool *p);
/* Any thread; the counters are exact only on the home thread. */
void wt_buf_pool_get_stats(const wt_buf_pool *p, wt_buf_pool_stats *s);
uint32_t wt_buf_pool_buf_size(const wt_buf_pool *p);

static inline void wt_buf_ref(wt_buf *b) {
  atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
}
static inline void wt_buf_ref_n(wt_buf *b, uint32_t n) {
  atomic_fetch_add_explicit(&b->refs, n, memory_order_relaxed);
}
/* Drop one reference (any thread); the last one returns b home. */
void wt_buf_unref(wt_buf *b);

/* Count p's buffers against budget (NULL: stop): each charges
 * wt_buf_held(b) while p holds it (see above). The idle ones move to the
 * new budget now, the ones out when they come home. Home thread. */
void wt_buf_pool_set_budget(wt_buf_pool *p, wt_mem_budget *budget);
/* The memory one buffer holds: its capacity and its header. */
static inline uint64_t wt_buf_held(const wt_buf *b) {
  return (uint64_t)b->cap + sizeof(wt_buf);
}

/* Declare the calling thread the home of p (after creating a pool on one
 * thread for use on another; before any allocation). */
void wt_buf_pool_adopt(wt_buf_pool *p);

#endif
