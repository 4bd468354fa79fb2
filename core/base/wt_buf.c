/* wt_buf.c: reference-counted buffers and their per-thread pools. */
#define WT_LOG_MODULE "buf"
#include "wt_buf.h"

#include <stdlib.h>
#include <string.h>

#include "wt_error.h"
#include "wt_log.h"

#define BUF_ONEOFF 1u

/* Each thread's own address: a cheap thread identity without pthread.h. */
static _Thread_local char buf_self;

struct wt_buf_pool {
  /* home thread only */
  wt_buf *free;
  uint32_t buf_size, max_free, n_free;
  uint32_t low_free; /* the fewest idle buffers since the last idle check */
  uint32_t turns;    /* collects since the last idle check */
  const void *home;  /* the home thread (the address of its buf_self marker) */
  wt_mem_budget *mem;
  uint64_t allocs, frees_local, oneoff, failed, live;
  uint64_t trimmed[WT_MEM_TRIM_KINDS]; /* idle buffers given back, by reason */
  /* any thread */
  _Alignas(64) _Atomic(wt_buf *) remote;
  _Atomic uint64_t frees_remote;
};

int wt_buf_pool_new(wt_buf_pool **out, uint32_t buf_size, uint32_t max_free) {
  if (!out || buf_size < 64) {
    return WT_ERR_INVAL;
  }
  wt_buf_pool *p = aligned_alloc(64, (sizeof(*p) + 63) & ~(size_t)63);
  if (!p) {
    return WT_ERR_NOMEM;
  }
  memset(p, 0, sizeof(*p));
  p->buf_size = buf_size;
  p->max_free = max_free ? max_free : 1024;
  p->home = &buf_self;
  atomic_init(&p->remote, NULL);
  atomic_init(&p->frees_remote, 0);
  *out = p;
  return 0;
}

/* Idle buffers are charged to p->mem: a buffer coming home charged to
 * another budget (set_budget changed it while the buffer was out) moves. */
static void buf_rehome_charge(wt_buf_pool *p, wt_buf *b) {
  if (b->mem != p->mem) {
    wt_mem_uncharge(b->mem, wt_buf_held(b));
    wt_mem_charge(p->mem, wt_buf_held(b));
    b->mem = p->mem;
  }
}

void wt_buf_pool_set_budget(wt_buf_pool *p, wt_mem_budget *budget) {
  p->mem = budget;
  for (wt_buf *b = p->free; b; b = b->next) {
    buf_rehome_charge(p, b);
  }
}

void wt_buf_pool_adopt(wt_buf_pool *p) {
  p->home = &buf_self;
}

/* Give idle buffers back to the system until at most keep are left;
 * returns how many went. */
static uint32_t pool_release_idle(wt_buf_pool *p, uint32_t keep) {
  uint32_t n = 0;
  while (p->free && p->n_free > keep) {
    wt_buf *b = p->free;
    p->free = b->next;
    p->n_free--;
    wt_mem_uncharge(b->mem, wt_buf_held(b));
    free(b);
    n++;
  }
  if (p->low_free > p->n_free) {
    p->low_free = p->n_free;
  }
  return n;
}

static uint32_t pool_reserve(const wt_buf_pool *p) {
  return p->max_free < WT_BUF_RESERVE ? p->max_free : WT_BUF_RESERVE;
}

/* Trim to keep idle buffers, counted under reason (WT_MEM_TRIM_*). */
static uint32_t pool_trim(wt_buf_pool *p, uint32_t keep, int reason) {
  uint32_t n = pool_release_idle(p, keep);
  if (n > 0) {
    uint64_t bytes = (uint64_t)n * ((uint64_t)p->buf_size + sizeof(wt_buf));
    p->trimmed[reason] += n;
    wt_mem_note_trim(p->mem, reason, bytes);
  }
  return n;
}

size_t wt_buf_pool_trim(wt_buf_pool *p) {
  wt_buf_pool_collect(p);
  return pool_trim(p, pool_reserve(p), WT_MEM_TRIM_IDLE);
}

void wt_buf_pool_del(wt_buf_pool *p) {
  if (!p) {
    return;
  }
  wt_buf_pool_collect(p);
  if (p->live) {
    WT_LOG_ERROR("buffer pool freed with %llu buffer(s) still out: leaked",
                 (unsigned long long)p->live);
    /* leaked on purpose: someone may still hold them */
    return;
  }
  pool_release_idle(p, 0);
  free(p);
}

/* Under memory pressure (NO_CREDIT or above) a pool keeps nothing idle. */
static int pool_pressed(const wt_buf_pool *p) {
  return wt_mem_level(p->mem) >= WT_MEM_NO_CREDIT;
}

static void pool_put_local(wt_buf_pool *p, wt_buf *b) {
  p->live--;
  if (p->n_free >= p->max_free || pool_pressed(p)) {
    if (p->n_free < p->max_free) {
      p->trimmed[WT_MEM_TRIM_PRESSURE]++;
      wt_mem_note_trim(b->mem, WT_MEM_TRIM_PRESSURE, wt_buf_held(b));
    }
    wt_mem_uncharge(b->mem, wt_buf_held(b));
    free(b);
    return;
  }
  buf_rehome_charge(p, b);
  b->next = p->free;
  p->free = b;
  p->n_free++;
}

size_t wt_buf_pool_collect(wt_buf_pool *p) {
  /* acquire pairs with the pushers' release CAS: their writes to the
   * buffers (and the buffers' contents) happen before we reuse them */
  wt_buf *b = atomic_exchange_explicit(&p->remote, NULL, memory_order_acquire);
  size_t n = 0;
  while (b) {
    wt_buf *nx = b->next;
    pool_put_local(p, b);
    b = nx;
    n++;
  }
  if (p->n_free > 0 && pool_pressed(p)) {
    pool_trim(p, 0, WT_MEM_TRIM_PRESSURE);
  }
  /* Idle for a while: buffers that stayed idle through WT_BUF_IDLE_TURNS
   * collects (the owner's loop turns) were not needed; they go back. */
  if (++p->turns >= WT_BUF_IDLE_TURNS) {
    uint32_t unused = p->low_free;
    p->turns = 0;
    p->low_free = p->n_free;
    if (unused > pool_reserve(p)) {
      uint32_t keep = p->n_free - (unused - pool_reserve(p));
      uint32_t went = pool_release_idle(p, keep);
      if (went > 0) {
        p->trimmed[WT_MEM_TRIM_IDLE] += went;
        wt_mem_note_trim(p->mem, WT_MEM_TRIM_IDLE,
                         (uint64_t)went * ((uint64_t)p->buf_size + sizeof(wt_buf)));
      }
      p->low_free = p->n_free;
    }
  }
  return n;
}

wt_buf *wt_buf_alloc(wt_buf_pool *p, size_t size) {
  wt_buf *b;
  if (size > p->buf_size) {
    if (size > UINT32_MAX - sizeof(wt_buf)) {
      p->failed++;
      return NULL;
    }
    b = malloc(sizeof(*b) + size);
    if (!b) {
      p->failed++;
      return NULL;
    }
    p->oneoff++;
    b->cap = (uint32_t)size;
    b->flags = BUF_ONEOFF;
    b->pool = NULL;
  } else {
    if (!p->free && atomic_load_explicit(&p->remote, memory_order_relaxed)) {
      wt_buf_pool_collect(p);
    }
    b = p->free;
    if (b) {
      p->free = b->next;
      p->n_free--;
      if (p->n_free < p->low_free) {
        p->low_free = p->n_free;
      }
      /* idle buffers are charged already (to p->mem) */
    } else {
      b = malloc(sizeof(*b) + p->buf_size);
      if (!b) {
        p->failed++;
        return NULL;
      }
      b->cap = p->buf_size;
      b->mem = p->mem;
      wt_mem_charge(b->mem, wt_buf_held(b));
    }
    b->cap = p->buf_size;
    b->flags = 0;
    b->pool = p;
    p->live++;
  }
  p->allocs++;
  atomic_init(&b->refs, 1);
  b->len = 0;
  b->tag = b->tag2 = 0;
  b->next = NULL;
  if (b->flags & BUF_ONEOFF) {
    b->mem = p->mem;
    wt_mem_charge(b->mem, wt_buf_held(b));
  }
  return b;
}

void wt_buf_unref(wt_buf *b) {
  /* release: our uses of b happen before whoever frees it; acquire: the
   * last holder sees the others' uses. (acq_rel on the decrement rather
   * than a release decrement plus an acquire fence: the same instruction on
   * x86, and ThreadSanitizer does not model fences, so it reported the
   * reuse of a buffer as racing with a foreign holder's last read.) */
  if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1) {
    return;
  }
  wt_buf_pool *p = b->pool;
  if (!p) {
    wt_mem_uncharge(b->mem, wt_buf_held(b));
    free(b);
    return;
  }
  /* a pooled buffer stays charged while its pool holds it, idle too */
  if (p->home == &buf_self) {
    p->frees_local++;
    pool_put_local(p, b);
    return;
  }
  atomic_fetch_add_explicit(&p->frees_remote, 1, memory_order_relaxed);
  wt_buf *head = atomic_load_explicit(&p->remote, memory_order_relaxed);
  do {
    b->next = head;
  } while (!atomic_compare_exchange_weak_explicit(&p->remote, &head, b, memory_order_release,
                                                  memory_order_relaxed));
}

void wt_buf_pool_get_stats(const wt_buf_pool *p, wt_buf_pool_stats *s) {
  memset(s, 0, sizeof(*s));
  s->allocs = p->allocs;
  s->frees_local = p->frees_local;
  s->frees_remote = atomic_load_explicit(&p->frees_remote, memory_order_relaxed);
  s->oneoff = p->oneoff;
  s->failed = p->failed;
  s->live = p->live;
  s->idle = p->n_free;
  s->trimmed_pressure = p->trimmed[WT_MEM_TRIM_PRESSURE];
  s->trimmed_idle = p->trimmed[WT_MEM_TRIM_IDLE];
}

uint32_t wt_buf_pool_buf_size(const wt_buf_pool *p) {
  return p->buf_size;
}
