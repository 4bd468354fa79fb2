/* wt_timer.c: binary min-heap of one-shot timers (see wt_timer.h). */
#include "wt_timer.h"

#include <stdlib.h>
#include <string.h>

#include "wt_error.h"

#define WT_TIMER_NONE      UINT32_MAX
#define WT_TIMER_MAX_SLOTS (1u << 31)

struct wt_timer_slot {
  uint64_t deadline;
  uint64_t seq;
  wt_timer_fn fn;
  void *arg;
  uint32_t gen;       /* bumped each time the slot is freed: stale ids miss */
  uint32_t heap_idx;  /* position in h->heap, WT_TIMER_NONE when free */
  uint32_t next_free; /* free list link while free */
};

int wt_timer_init(wt_timer_heap *h) {
  if (!h) {
    return WT_ERR_INVAL;
  }
  memset(h, 0, sizeof(*h));
  h->free_head = WT_TIMER_NONE;
  return 0;
}

void wt_timer_free(wt_timer_heap *h) {
  if (!h) {
    return;
  }
  free(h->slots);
  free(h->heap);
  memset(h, 0, sizeof(*h));
  h->free_head = WT_TIMER_NONE;
}

/* (deadline, seq) order: a strict total order, so equal deadlines keep FIFO. */
static int timer_less(const wt_timer_heap *h, uint32_t a, uint32_t b) {
  const wt_timer_slot *x = &h->slots[a], *y = &h->slots[b];
  return x->deadline < y->deadline || (x->deadline == y->deadline && x->seq < y->seq);
}

static void heap_place(wt_timer_heap *h, uint32_t pos, uint32_t slot) {
  h->heap[pos] = slot;
  h->slots[slot].heap_idx = pos;
}

static void sift_up(wt_timer_heap *h, uint32_t pos) {
  uint32_t slot = h->heap[pos];
  while (pos > 0) {
    uint32_t parent = (pos - 1) / 2;
    if (!timer_less(h, slot, h->heap[parent])) {
      break;
    }
    heap_place(h, pos, h->heap[parent]);
    pos = parent;
  }
  heap_place(h, pos, slot);
}

static void sift_down(wt_timer_heap *h, uint32_t pos) {
  uint32_t slot = h->heap[pos];
  for (;;) {
    uint32_t child = 2 * pos + 1;
    if (child >= h->n_heap) {
      break;
    }
    if (child + 1 < h->n_heap && timer_less(h, h->heap[child + 1], h->heap[child])) {
      child++;
    }
    if (!timer_less(h, h->heap[child], slot)) {
      break;
    }
    heap_place(h, pos, h->heap[child]);
    pos = child;
  }
  heap_place(h, pos, slot);
}

/* Double the slot and heap arrays; new slots go on the free list. */
static int timer_grow(wt_timer_heap *h) {
  uint32_t old = h->n_slots;
  uint32_t n = old ? old * 2 : 16;
  if (old >= WT_TIMER_MAX_SLOTS) {
    return WT_ERR_LIMIT;
  }
  wt_timer_slot *slots = realloc(h->slots, (size_t)n * sizeof(*slots));
  if (!slots) {
    return WT_ERR_NOMEM;
  }
  h->slots = slots;
  uint32_t *heap = realloc(h->heap, (size_t)n * sizeof(*heap));
  if (!heap) {
    return WT_ERR_NOMEM; /* slots grew but stay unused: consistent */
  }
  h->heap = heap;
  for (uint32_t i = n; i-- > old;) {
    memset(&slots[i], 0, sizeof(slots[i]));
    slots[i].heap_idx = WT_TIMER_NONE;
    slots[i].next_free = h->free_head;
    h->free_head = i;
  }
  h->n_slots = n;
  return 0;
}

static void slot_release(wt_timer_heap *h, uint32_t slot) {
  wt_timer_slot *s = &h->slots[slot];
  s->gen++;
  s->heap_idx = WT_TIMER_NONE;
  s->fn = NULL;
  s->arg = NULL;
  s->next_free = h->free_head;
  h->free_head = slot;
}

/* Take the entry at heap position pos out of the heap (the slot stays). */
static void heap_remove_at(wt_timer_heap *h, uint32_t pos) {
  uint32_t last = h->heap[--h->n_heap];
  if (pos == h->n_heap) {
    return;
  }
  heap_place(h, pos, last);
  if (pos > 0 && timer_less(h, last, h->heap[(pos - 1) / 2])) {
    sift_up(h, pos);
  } else {
    sift_down(h, pos);
  }
}

int wt_timer_add(wt_timer_heap *h, uint64_t deadline_ns, wt_timer_fn fn, void *arg, uint64_t *id) {
  if (!h || !fn) {
    return WT_ERR_INVAL;
  }
  if (h->free_head == WT_TIMER_NONE) {
    int rv = timer_grow(h);
    if (rv < 0) {
      return rv;
    }
  }
  uint32_t slot = h->free_head;
  wt_timer_slot *s = &h->slots[slot];
  h->free_head = s->next_free;
  /* Added by a running callback: never earlier than the run's now, so the
   * (deadline, seq) order puts it after every timer the run still owes. */
  if (h->running && deadline_ns < h->run_now) {
    deadline_ns = h->run_now;
  }
  s->deadline = deadline_ns;
  s->seq = h->next_seq++;
  s->fn = fn;
  s->arg = arg;
  s->next_free = WT_TIMER_NONE;
  h->heap[h->n_heap] = slot;
  h->slots[slot].heap_idx = h->n_heap;
  h->n_heap++;
  sift_up(h, h->n_heap - 1);
  if (id) {
    *id = ((uint64_t)s->gen << 32) | ((uint64_t)slot + 1);
  }
  return 0;
}

int wt_timer_cancel(wt_timer_heap *h, uint64_t id) {
  if (!h || id == 0) {
    return WT_ERR_NOTFOUND;
  }
  uint64_t slot1 = id & 0xffffffffu;
  if (slot1 == 0 || slot1 > h->n_slots) {
    return WT_ERR_NOTFOUND;
  }
  uint32_t slot = (uint32_t)(slot1 - 1);
  wt_timer_slot *s = &h->slots[slot];
  if (s->gen != (uint32_t)(id >> 32) || s->heap_idx == WT_TIMER_NONE) {
    return WT_ERR_NOTFOUND;
  }
  heap_remove_at(h, s->heap_idx);
  slot_release(h, slot);
  return 0;
}

uint64_t wt_timer_next(const wt_timer_heap *h) {
  if (!h || h->n_heap == 0) {
    return UINT64_MAX;
  }
  return h->slots[h->heap[0]].deadline;
}

size_t wt_timer_count(const wt_timer_heap *h) {
  return h ? h->n_heap : 0;
}

size_t wt_timer_run(wt_timer_heap *h, uint64_t now_ns) {
  if (!h || h->running) {
    return 0; /* a callback calling run again would reorder its own caller's work */
  }
  size_t ran = 0;
  h->running = 1;
  h->run_now = now_ns;
  h->run_seq = h->next_seq;
  while (h->n_heap > 0) {
    uint32_t slot = h->heap[0];
    wt_timer_slot *s = &h->slots[slot];
    if (s->deadline > now_ns || s->seq >= h->run_seq) {
      break; /* not due, or added by this run: see wt_timer_add */
    }
    wt_timer_fn fn = s->fn;
    void *arg = s->arg;
    heap_remove_at(h, 0);
    slot_release(h, slot); /* disarmed before the call: cancel of its own id misses */
    fn(arg);
    ran++;
  }
  h->running = 0;
  return ran;
}
