/* wt_spsc.h: bounded single-producer/single-consumer ring of pointers.
 *
 * The ring carries `void *` (pointers to messages); it never dereferences
 * them and never owns them. Exactly one thread, the producer, may call the
 * enqueue functions, and exactly one thread, the consumer, may call the
 * dequeue functions; they may be different threads and run concurrently
 * without locks. Which thread is producer or consumer may change only across
 * a synchronisation point (thread start/join, a mutex), never while the
 * other side is active.
 *
 * Layout (the DPDK rte_ring / Seastar smp-queue idea): head and tail are
 * free-running 32-bit counters masked on access, so full and empty are told
 * apart without a wasted slot. The producer's tail and the consumer's head
 * live on separate 64-byte cache lines; each side also keeps a private copy
 * of the other side's index and re-reads the shared one only when the copy
 * says there is not enough room (producer) or data (consumer). In steady
 * state each burst costs one release store on the owner's line and, at
 * most, one acquire load of the other line.
 *
 * Memory ordering: the producer writes slots, then publishes them with a
 * release store of tail; the consumer's acquire load of tail makes those
 * writes visible. Symmetrically the consumer's release store of head hands
 * slots back, and the producer's acquire load of head orders its overwrite
 * after the consumer's read.
 *
 * A wt_spsc is aligned to 64 bytes: embed it in a static or stack object, or
 * allocate its container with aligned_alloc(64, ...). */
#ifndef WT_SPSC_H
#define WT_SPSC_H

#include <stdatomic.h>
#include <stdint.h>

#include "wt_error.h"

#define WT_SPSC_CACHELINE 64
/* Largest capacity: head and tail are 32-bit and their difference must stay
 * unambiguous. */
#define WT_SPSC_MAX_CAPACITY (UINT32_C(1) << 31)

typedef struct wt_spsc {
  /* Read-only after init: shared by both sides, never written, so this
   * line stays in both caches. */
  _Alignas(WT_SPSC_CACHELINE) void **slots;
  uint32_t mask; /* capacity - 1 */
  uint32_t capacity;

  /* Producer's line: written only by the producer. */
  _Alignas(WT_SPSC_CACHELINE) _Atomic uint32_t tail;
  uint32_t head_cache; /* producer's last view of head */

  /* Consumer's line: written only by the consumer. */
  _Alignas(WT_SPSC_CACHELINE) _Atomic uint32_t head;
  uint32_t tail_cache; /* consumer's last view of tail */
} wt_spsc;

/* Initialise r with room for `capacity` items. capacity must be a power of
 * two in [2, WT_SPSC_MAX_CAPACITY]: WT_ERR_INVAL otherwise (also for r ==
 * NULL). Allocates the slot array: WT_ERR_NOMEM if that fails (r is left
 * unusable but safe to pass to wt_spsc_free). Call before either side
 * starts using the ring. */
int wt_spsc_init(wt_spsc *r, uint32_t capacity);

/* Release the slot array. Items still in the ring are not touched (the ring
 * does not own them): drain first if they need freeing. Call once neither
 * side uses the ring any more. Safe on a zeroed or failed-init ring. */
void wt_spsc_free(wt_spsc *r);

/* Producer only. Enqueue up to n items from items[0..n), in order; returns
 * how many were enqueued (0..n): fewer than n when the ring fills. Never
 * blocks. The consumer sees either none or a prefix of them, in order. */
uint32_t wt_spsc_enqueue_burst(wt_spsc *r, void *const *items, uint32_t n);

/* Consumer only. Dequeue up to n items into items[0..n), oldest first;
 * returns how many (0..n): 0 when the ring is empty. Never blocks. */
uint32_t wt_spsc_dequeue_burst(wt_spsc *r, void **items, uint32_t n);

/* Items in the ring. Exact when called by either side while the other is
 * idle; otherwise a snapshot that may be stale by the time it returns (the
 * producer's view can only under-count free room, the consumer's can only
 * under-count items). Any thread may call it. */
uint32_t wt_spsc_count(const wt_spsc *r);

/* capacity - wt_spsc_count(r); same caveats. */
uint32_t wt_spsc_free_count(const wt_spsc *r);

/* The capacity given to wt_spsc_init. Any thread. */
static inline uint32_t wt_spsc_capacity(const wt_spsc *r) {
  return r->capacity;
}

/* Producer only. Enqueue one item: 0, or WT_ERR_AGAIN if the ring is full. */
static inline int wt_spsc_enqueue(wt_spsc *r, void *item) {
  uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
  if (tail - r->head_cache == r->capacity) {
    /* Looks full from our cached view: refresh it. Acquire pairs with the
     * consumer's release store of head (the slot was read before). */
    r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
    if (tail - r->head_cache == r->capacity) {
      return WT_ERR_AGAIN;
    }
  }
  r->slots[tail & r->mask] = item;
  atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
  return 0;
}

/* Consumer only. Dequeue one item into *item: 0, or WT_ERR_AGAIN if the
 * ring is empty (*item untouched then). */
static inline int wt_spsc_dequeue(wt_spsc *r, void **item) {
  uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  if (r->tail_cache == head) {
    /* Acquire pairs with the producer's release store of tail. */
    r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (r->tail_cache == head) {
      return WT_ERR_AGAIN;
    }
  }
  *item = r->slots[head & r->mask];
  atomic_store_explicit(&r->head, head + 1, memory_order_release);
  return 0;
}

#endif
