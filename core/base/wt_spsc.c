/* wt_spsc.c: burst operations and set-up of the SPSC ring (see wt_spsc.h). */
#include "wt_spsc.h"

#include <stdlib.h>
#include <string.h>

int wt_spsc_init(wt_spsc *r, uint32_t capacity) {
  if (r == NULL) {
    return WT_ERR_INVAL;
  }
  memset(r, 0, sizeof(*r));
  /* Power of two, so that masking a free-running index is a modulo. */
  if (capacity < 2 || capacity > WT_SPSC_MAX_CAPACITY || (capacity & (capacity - 1)) != 0) {
    return WT_ERR_INVAL;
  }
  r->slots = calloc(capacity, sizeof(*r->slots));
  if (r->slots == NULL) {
    return WT_ERR_NOMEM;
  }
  r->mask = capacity - 1;
  r->capacity = capacity;
  atomic_init(&r->tail, 0);
  atomic_init(&r->head, 0);
  r->head_cache = 0;
  r->tail_cache = 0;
  return 0;
}

void wt_spsc_free(wt_spsc *r) {
  if (r == NULL) {
    return;
  }
  free(r->slots);
  r->slots = NULL;
  r->mask = 0;
  r->capacity = 0;
}

uint32_t wt_spsc_enqueue_burst(wt_spsc *r, void *const *items, uint32_t n) {
  uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
  uint32_t room = r->capacity - (tail - r->head_cache);
  if (room < n) {
    /* Only touch the consumer's cache line when the cached view is not
     * enough; acquire pairs with its release store of head. */
    r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
    room = r->capacity - (tail - r->head_cache);
  }
  if (n > room) {
    n = room;
  }
  if (n == 0) {
    return 0;
  }
  /* Copy in at most two pieces: up to the end of the array, then from 0. */
  uint32_t idx = tail & r->mask;
  uint32_t first = r->capacity - idx;
  if (first > n) {
    first = n;
  }
  memcpy(&r->slots[idx], items, (size_t)first * sizeof(*items));
  if (n > first) {
    memcpy(&r->slots[0], items + first, (size_t)(n - first) * sizeof(*items));
  }
  atomic_store_explicit(&r->tail, tail + n, memory_order_release);
  return n;
}

uint32_t wt_spsc_dequeue_burst(wt_spsc *r, void **items, uint32_t n) {
  uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  uint32_t avail = r->tail_cache - head;
  if (avail < n) {
    /* Acquire pairs with the producer's release store of tail. */
    r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
    avail = r->tail_cache - head;
  }
  if (n > avail) {
    n = avail;
  }
  if (n == 0) {
    return 0;
  }
  uint32_t idx = head & r->mask;
  uint32_t first = r->capacity - idx;
  if (first > n) {
    first = n;
  }
  memcpy(items, &r->slots[idx], (size_t)first * sizeof(*items));
  if (n > first) {
    memcpy(items + first, &r->slots[0], (size_t)(n - first) * sizeof(*items));
  }
  atomic_store_explicit(&r->head, head + n, memory_order_release);
  return n;
}

uint32_t wt_spsc_count(const wt_spsc *r) {
  /* Load head before tail: both only grow and tail >= head at every instant,
   * so the difference cannot go negative; it can exceed the capacity if the
   * consumer moved in between, hence the clamp. */
  uint32_t head = atomic_load_explicit(&r->head, memory_order_acquire);
  uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
  uint32_t n = tail - head;
  return n > r->capacity ? r->capacity : n;
}

uint32_t wt_spsc_free_count(const wt_spsc *r) {
  return r->capacity - wt_spsc_count(r);
}
