/* wt_link.c: see wt_link.h. */
#define WT_LOG_MODULE "link"
#include "wt_link.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wt_error.h"
#include "wt_log.h"

typedef struct wt_ovf {
  struct wt_ovf *next;
  wt_msg m;
} wt_ovf;

void wt_waker_kick(wt_waker *k) {
  /* The store-load pair with the consumer's seq_cst store of sleeping:
   * either it sees our message in its re-check, or we see its flag. Our
   * messages were published by release stores of tail (lring_put), and a
   * release store may be reordered after a later load (x86's store buffer
   * does exactly that: a release store and a seq_cst load are both plain
   * movs), so a seq_cst fence must separate them; without it both sides can
   * miss each other and the consumer sleeps with a message pending. */
  atomic_thread_fence(memory_order_seq_cst);
  if (!atomic_load_explicit(&k->sleeping, memory_order_seq_cst)) {
    return;
  }
  if (!atomic_exchange_explicit(&k->sleeping, 0, memory_order_seq_cst)) {
    return; /* another producer woke it */
  }
  uint64_t one = 1;
  if (write(k->efd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
    WT_LOG_WARN("wake-up: %s", strerror(errno));
  }
  atomic_fetch_add_explicit(&k->wakes, 1, memory_order_relaxed);
}

static int lring_init(wt_lring *r, uint32_t cap, wt_waker *consumer) {
  memset(r, 0, sizeof(*r));
  r->slots = aligned_alloc(64, (size_t)cap * sizeof(wt_msg));
  if (!r->slots) {
    return WT_ERR_NOMEM;
  }
  r->mask = cap - 1;
  r->consumer = consumer;
  atomic_init(&r->tail, 0);
  atomic_init(&r->head, 0);
  return 0;
}

static void lring_free(wt_lring *r) {
  if (!r->slots) {
    return;
  }
  uint32_t head = atomic_load(&r->head), tail = atomic_load(&r->tail);
  for (; head != tail; head++) {
    wt_msg_drop(&r->slots[head & r->mask]);
  }
  while (r->ovf_head) {
    wt_ovf *o = r->ovf_head;
    r->ovf_head = o->next;
    wt_msg_drop(&o->m);
    free(o);
  }
  free(r->slots);
  r->slots = NULL;
}

int wt_link_new(wt_link **out, uint32_t shard, uint32_t worker, uint32_t capacity,
                wt_waker *shard_waker, wt_waker *worker_waker) {
  if (!out || capacity < 2 || (capacity & (capacity - 1)) || capacity > (1u << 24)) {
    return WT_ERR_INVAL;
  }
  wt_link *l = aligned_alloc(64, (sizeof(*l) + 63) & ~(size_t)63);
  if (!l) {
    return WT_ERR_NOMEM;
  }
  memset(l, 0, sizeof(*l));
  l->shard = shard;
  l->worker = worker;
  if (lring_init(&l->ev, capacity, worker_waker) < 0 ||
      lring_init(&l->cmd, capacity, shard_waker) < 0) {
    wt_link_del(l);
    return WT_ERR_NOMEM;
  }
  *out = l;
  return 0;
}

void wt_link_del(wt_link *l) {
  if (!l) {
    return;
  }
  lring_free(&l->ev);
  lring_free(&l->cmd);
  free(l);
}

/* Room in the ring from the producer's view (refreshing the cache). */
static inline uint32_t lring_room(wt_lring *r, uint32_t tail) {
  uint32_t cap = r->mask + 1;
  if (tail - r->head_cache == cap) {
    /* acquire pairs with the consumer's release of head */
    r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
  }
  return cap - (tail - r->head_cache);
}

static inline void lring_put(wt_lring *r, uint32_t tail, const wt_msg *m) {
  r->slots[tail & r->mask] = *m;
  /* release: the slot's bytes before the new tail */
  atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
  r->dirty = 1;
  r->st.posted++;
}

int wt_lring_post(wt_lring *r, const wt_msg *m) {
  uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
  if (!r->ovf_head && lring_room(r, tail) > 0) {
    lring_put(r, tail, m);
    return 0;
  }
  wt_ovf *o = malloc(sizeof(*o));
  if (!o) {
    return WT_ERR_NOMEM;
  }
  o->next = NULL;
  o->m = *m;
  if (r->ovf_tail) {
    r->ovf_tail->next = o;
  } else {
    r->ovf_head = o;
  }
  r->ovf_tail = o;
  r->st.overflowed++;
  if (++r->st.overflow_now > r->st.overflow_max) {
    r->st.overflow_max = r->st.overflow_now;
  }
  return 0;
}

int wt_lring_post_or_drop(wt_lring *r, const wt_msg *m) {
  uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
  if (r->ovf_head || lring_room(r, tail) == 0) {
    r->st.dropped++;
    return WT_ERR_AGAIN;
  }
  lring_put(r, tail, m);
  return 0;
}

int wt_lring_flush(wt_lring *r) {
  if (r->ovf_head) {
    uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    while (r->ovf_head && lring_room(r, tail) > 0) {
      wt_ovf *o = r->ovf_head;
      lring_put(r, tail++, &o->m);
      r->ovf_head = o->next;
      if (!r->ovf_head) {
        r->ovf_tail = NULL;
      }
      r->st.overflow_now--;
      free(o);
    }
  }
  if (r->dirty) {
    r->dirty = 0;
    wt_waker_kick(r->consumer);
  }
  return r->ovf_head != NULL;
}

uint32_t wt_lring_poll(wt_lring *r, wt_msg *out, uint32_t max) {
  uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  uint32_t avail = r->tail_cache - head;
  if (avail < max) {
    /* acquire pairs with the producer's release of tail */
    r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
    avail = r->tail_cache - head;
  }
  uint32_t n = avail < max ? avail : max;
  for (uint32_t i = 0; i < n; i++) {
    out[i] = r->slots[(head + i) & r->mask];
  }
  if (n) {
    /* release: our reads of the slots before the producer reuses them */
    atomic_store_explicit(&r->head, head + n, memory_order_release);
  }
  return n;
}

int wt_lring_pending(wt_lring *r) {
  uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  return atomic_load_explicit(&r->tail, memory_order_seq_cst) != head;
}
