/* wt_mem.c: the process memory budget, its pressure levels and the
 * attribution of held bytes to owners (wt_mem.h). */
#define WT_LOG_MODULE "mem"
#include "wt_mem.h"

#include <stddef.h>
#include <stdlib.h>

#include "wt_log.h"

/* The calling thread's charges not yet added to budget->used. */
static _Thread_local struct {
  wt_mem_budget *b;
  int64_t delta;
} mem_tl;

static const char *const level_names[WT_MEM_LEVELS] = {"normal", "no_credit", "no_dgram", "refuse",
                                                       "close"};

const char *wt_mem_level_name(int level) {
  return level >= 0 && level < WT_MEM_LEVELS ? level_names[level] : "?";
}

void wt_mem_budget_init(wt_mem_budget *b, uint64_t max) {
  b->max = max;
  b->thresh[WT_MEM_NORMAL] = 0;
  b->thresh[WT_MEM_NO_CREDIT] = 600;
  b->thresh[WT_MEM_NO_DGRAM] = 750;
  b->thresh[WT_MEM_REFUSE] = 850;
  b->thresh[WT_MEM_CLOSE] = 1000;
  atomic_init(&b->used, 0);
  atomic_init(&b->level, WT_MEM_NORMAL);
  atomic_init(&b->peak, 0);
  atomic_init(&b->held_ns, 0);
  atomic_init(&b->over, 0);
  atomic_init(&b->trimmed[WT_MEM_TRIM_PRESSURE], 0);
  atomic_init(&b->trimmed[WT_MEM_TRIM_IDLE], 0);
  atomic_init(&b->trim_logged, 0);
  for (int i = 0; i < WT_MEM_LEVELS; i++) {
    atomic_init(&b->entered[i], 0);
  }
}

/* used in permille of max, saturating (max > 0) */
static uint64_t permille(const wt_mem_budget *b, uint64_t used) {
  if (used >= b->max) {
    return used / b->max >= 2 ? 2000 : 1000 + (used - b->max) * 1000 / b->max;
  }
  /* used < max: used * 1000 overflows only past 2^54 bytes */
  return used < (UINT64_MAX / 1000) ? used * 1000 / b->max : 999;
}

int wt_mem_at(const wt_mem_budget *b, int level) {
  if (b == NULL || b->max == 0 || level <= WT_MEM_NORMAL || level >= WT_MEM_LEVELS) {
    return b != NULL && level == WT_MEM_NORMAL;
  }
  return permille(b, wt_mem_used(b)) >= b->thresh[level];
}

int wt_mem_close_due(wt_mem_budget *b) {
  if (b == NULL || b->max == 0) {
    return 0;
  }
  int over = atomic_exchange_explicit(&b->over, 0, memory_order_relaxed);
  return over || wt_mem_at(b, WT_MEM_CLOSE);
}

int wt_mem_level_for(const wt_mem_budget *b, int cur, uint64_t used) {
  if (b->max == 0) {
    return WT_MEM_NORMAL;
  }
  uint64_t pm = permille(b, used);
  int lvl = WT_MEM_NORMAL;
  for (int i = WT_MEM_LEVELS - 1; i > WT_MEM_NORMAL; i--) {
    if (pm >= b->thresh[i]) {
      lvl = i;
      break;
    }
  }
  if (lvl >= cur) {
    return lvl; /* up (or steady) at once */
  }
  /* down only as far as the hysteresis allows: leave level L once the use
   * is WT_MEM_HYST permille below L's threshold */
  int to = cur;
  while (to > lvl && pm + WT_MEM_HYST <= b->thresh[to]) {
    to--;
  }
  return to;
}

int wt_mem_set_state(wt_mem_budget *b, int from, int to) {
  if (from == to) {
    return 0;
  }
  switch (to) {
  case WT_MEM_NORMAL:
  case WT_MEM_NO_CREDIT:
  case WT_MEM_NO_DGRAM:
  case WT_MEM_REFUSE:
  case WT_MEM_CLOSE:
    break;
  default:
    WT_LOG_ERROR("memory budget: illegal level %d", to); /* unreachable by construction */
    return 0;
  }
  int expect = from;
  if (!atomic_compare_exchange_strong_explicit(&b->level, &expect, to, memory_order_relaxed,
                                               memory_order_relaxed)) {
    return 0; /* another thread moved it first */
  }
  atomic_fetch_add_explicit(&b->entered[to], 1, memory_order_relaxed);
  if (to == WT_MEM_NORMAL) {
    atomic_store_explicit(&b->trim_logged, 0, memory_order_relaxed); /* the episode is over */
  }
  uint64_t used = wt_mem_used(b);
  if (to > from) {
    WT_LOG_WARN("memory pressure %s -> %s: %llu of %llu bytes held (%llu%%)",
                wt_mem_level_name(from), wt_mem_level_name(to), (unsigned long long)used,
                (unsigned long long)b->max, (unsigned long long)(permille(b, used) / 10));
  } else {
    WT_LOG_INFO("memory pressure %s -> %s: %llu of %llu bytes held (%llu%%)",
                wt_mem_level_name(from), wt_mem_level_name(to), (unsigned long long)used,
                (unsigned long long)b->max, (unsigned long long)(permille(b, used) / 10));
  }
  return 1;
}

#define WT_MEM_HELD_UNSEEN UINT64_MAX /* held_ns: a flush found the use at the level */

/* now_ns 0: no clock (a flush): moves up only. */
static void mem_update(wt_mem_budget *b, uint64_t used, uint64_t now_ns) {
  uint64_t pk = atomic_load_explicit(&b->peak, memory_order_relaxed);
  while (used > pk && !atomic_compare_exchange_weak_explicit(
                          &b->peak, &pk, used, memory_order_relaxed, memory_order_relaxed)) {
  }
  if (b->max == 0) {
    return;
  }
  if (permille(b, used) >= b->thresh[WT_MEM_CLOSE]) {
    atomic_store_explicit(&b->over, 1, memory_order_relaxed);
  }
  /* Up one level at a time, so every level between is entered (logged,
   * counted) in order even when one charge jumps several; down in one move.
   * Bounded: a failed move means another thread moved the level. */
  for (int tries = 0; tries < 2 * WT_MEM_LEVELS + 4; tries++) {
    int cur = wt_mem_level(b);
    int to = wt_mem_level_for(b, cur, used);
    if (to >= cur) {
      /* a flush has no clock: the dwell starts at the next poll (else a
       * level a flush raised would fall at once, if the last poll that
       * found the use at a level was more than the dwell ago) */
      if (now_ns || to > cur) {
        atomic_store_explicit(&b->held_ns, now_ns ? now_ns : WT_MEM_HELD_UNSEEN,
                              memory_order_relaxed);
      }
      if (to == cur) {
        return;
      }
      (void)wt_mem_set_state(b, cur, cur + 1);
      continue;
    }
    uint64_t held = atomic_load_explicit(&b->held_ns, memory_order_relaxed);
    if (held == WT_MEM_HELD_UNSEEN && now_ns) {
      atomic_store_explicit(&b->held_ns, now_ns, memory_order_relaxed);
      return; /* raised by a flush since the last poll: the dwell starts now */
    }
    if (now_ns == 0 || now_ns < held + WT_MEM_DWELL_NS) {
      return; /* down: only after the dwell time, from a poll */
    }
    if (wt_mem_set_state(b, cur, to)) {
      atomic_store_explicit(&b->held_ns, now_ns, memory_order_relaxed);
      return;
    }
  }
}

static void mem_flush(void) {
  wt_mem_budget *b = mem_tl.b;
  if (b == NULL || mem_tl.delta == 0) {
    return;
  }
  int64_t d = mem_tl.delta;
  mem_tl.delta = 0;
  int64_t u = atomic_fetch_add_explicit(&b->used, d, memory_order_relaxed) + d;
  mem_update(b, u > 0 ? (uint64_t)u : 0, 0);
}

static void mem_add(wt_mem_budget *b, int64_t d) {
  if (mem_tl.b != b) {
    mem_flush();
    mem_tl.b = b;
  }
  mem_tl.delta += d;
  if (mem_tl.delta >= WT_MEM_BATCH || mem_tl.delta <= -WT_MEM_BATCH) {
    mem_flush();
  }
}

void wt_mem_charge(wt_mem_budget *b, uint64_t n) {
  if (b != NULL && n > 0) {
    mem_add(b, (int64_t)n);
  }
}

void wt_mem_uncharge(wt_mem_budget *b, uint64_t n) {
  if (b != NULL && n > 0) {
    mem_add(b, -(int64_t)n);
  }
}

void wt_mem_budget_fini(wt_mem_budget *b) {
  if (b != NULL && mem_tl.b == b) {
    mem_flush();
    mem_tl.b = NULL;
  }
}

int wt_mem_poll(wt_mem_budget *b, uint64_t now_ns) {
  if (b == NULL) {
    return WT_MEM_NORMAL;
  }
  if (mem_tl.b == b) {
    mem_flush();
  }
  mem_update(b, wt_mem_used(b), now_ns ? now_ns : 1);
  return wt_mem_level(b);
}

void wt_mem_note_trim(wt_mem_budget *b, int reason, uint64_t bytes) {
  if (b == NULL || reason < 0 || reason >= WT_MEM_TRIM_KINDS) {
    return;
  }
  atomic_fetch_add_explicit(&b->trimmed[reason], bytes, memory_order_relaxed);
  if (reason == WT_MEM_TRIM_PRESSURE &&
      atomic_exchange_explicit(&b->trim_logged, 1, memory_order_relaxed) == 0) {
    WT_LOG_WARN("memory pressure %s: buffer pools give idle buffers back (%llu bytes first)",
                wt_mem_level_name(wt_mem_level(b)), (unsigned long long)bytes);
  }
}

void wt_mem_acct_add(wt_mem_acct *a, uint64_t n, int own) {
  if (a == NULL || n == 0) {
    return;
  }
  if (own) {
    wt_mem_charge(a->budget, n);
  }
  for (; a; a = a->parent) {
    a->bytes += n;
  }
}

void wt_mem_acct_sub(wt_mem_acct *a, uint64_t n, int own) {
  if (a == NULL || n == 0) {
    return;
  }
  if (own) {
    wt_mem_uncharge(a->budget, n);
  }
  for (; a; a = a->parent) {
    a->bytes = a->bytes >= n ? a->bytes - n : 0;
  }
}

/* ------------------------------------------------ the counting allocator */

/* Before each block: its size, padded so the block keeps the alignment of
 * max_align_t. */
typedef struct mem_hdr {
  _Alignas(max_align_t) size_t size;
} mem_hdr;

static uint64_t mem_held(size_t size) {
  return (uint64_t)size + sizeof(mem_hdr);
}

void *wt_mem_acct_malloc(size_t size, void *acct) {
  if (size > SIZE_MAX - sizeof(mem_hdr)) {
    return NULL;
  }
  mem_hdr *h = malloc(sizeof(*h) + size);
  if (h == NULL) {
    return NULL;
  }
  h->size = size;
  wt_mem_acct_add(acct, mem_held(size), 1);
  return h + 1;
}

void *wt_mem_acct_calloc(size_t nmemb, size_t size, void *acct) {
  if (size != 0 && nmemb > (SIZE_MAX - sizeof(mem_hdr)) / size) {
    return NULL;
  }
  size_t n = nmemb * size;
  mem_hdr *h = calloc(1, sizeof(*h) + n);
  if (h == NULL) {
    return NULL;
  }
  h->size = n;
  wt_mem_acct_add(acct, mem_held(n), 1);
  return h + 1;
}

void wt_mem_acct_free(void *ptr, void *acct) {
  if (ptr == NULL) {
    return;
  }
  mem_hdr *h = (mem_hdr *)ptr - 1;
  wt_mem_acct_sub(acct, mem_held(h->size), 1);
  free(h);
}

void *wt_mem_acct_realloc(void *ptr, size_t size, void *acct) {
  if (ptr == NULL) {
    return wt_mem_acct_malloc(size, acct);
  }
  if (size == 0) {
    wt_mem_acct_free(ptr, acct);
    return NULL;
  }
  if (size > SIZE_MAX - sizeof(mem_hdr)) {
    return NULL;
  }
  mem_hdr *h = (mem_hdr *)ptr - 1;
  size_t old = h->size;
  mem_hdr *nh = realloc(h, sizeof(*nh) + size);
  if (nh == NULL) {
    return NULL; /* the old block stays, counted as before */
  }
  nh->size = size;
  if (size > old) {
    wt_mem_acct_add(acct, size - old, 1);
  } else {
    wt_mem_acct_sub(acct, old - size, 1);
  }
  return nh + 1;
}

size_t wt_mem_acct_block_size(const void *ptr) {
  return ptr ? ((const mem_hdr *)ptr - 1)->size : 0;
}

/* ------------------------------ the process-wide allocator (no user data) */

/* The budget process-wide library blocks are charged to, and its
 * generation: a block remembers the generation it was charged in (0: not
 * charged) and is uncharged only if that budget is still the one set. */
static _Atomic(wt_mem_budget *) lib_budget;
static _Atomic uint64_t lib_gen = 1;

typedef struct lib_hdr {
  _Alignas(max_align_t) size_t size;
  uint64_t gen;
} lib_hdr;

_Static_assert(sizeof(lib_hdr) % _Alignof(max_align_t) == 0, "lib_hdr keeps alignment");

void wt_mem_lib_set_budget(wt_mem_budget *b) {
  wt_mem_budget *old = atomic_load_explicit(&lib_budget, memory_order_relaxed);
  if (old == b) {
    return;
  }
  wt_mem_budget_fini(old); /* this thread's batch for it */
  atomic_fetch_add_explicit(&lib_gen, 1, memory_order_relaxed);
  atomic_store_explicit(&lib_budget, b, memory_order_relaxed);
}

/* The budget and generation a new charge goes to (gen 0: none). */
static wt_mem_budget *lib_current(uint64_t *gen) {
  wt_mem_budget *b = atomic_load_explicit(&lib_budget, memory_order_relaxed);
  *gen = b ? atomic_load_explicit(&lib_gen, memory_order_relaxed) : 0;
  return b;
}

static uint64_t lib_held(size_t size) {
  return (uint64_t)size + sizeof(lib_hdr);
}

void *wt_mem_lib_malloc(size_t size) {
  if (size > SIZE_MAX - sizeof(lib_hdr)) {
    return NULL;
  }
  lib_hdr *h = malloc(sizeof(*h) + size);
  if (h == NULL) {
    return NULL;
  }
  h->size = size;
  wt_mem_charge(lib_current(&h->gen), lib_held(size));
  return h + 1;
}

void wt_mem_lib_free(void *ptr) {
  if (ptr == NULL) {
    return;
  }
  lib_hdr *h = (lib_hdr *)ptr - 1;
  uint64_t gen;
  wt_mem_budget *b = lib_current(&gen);
  if (h->gen != 0 && h->gen == gen) {
    wt_mem_uncharge(b, lib_held(h->size));
  }
  free(h);
}

void *wt_mem_lib_realloc(void *ptr, size_t size) {
  if (ptr == NULL) {
    return wt_mem_lib_malloc(size);
  }
  if (size == 0) {
    wt_mem_lib_free(ptr);
    return NULL;
  }
  if (size > SIZE_MAX - sizeof(lib_hdr)) {
    return NULL;
  }
  lib_hdr *h = (lib_hdr *)ptr - 1;
  size_t old = h->size;
  uint64_t oldgen = h->gen;
  lib_hdr *nh = realloc(h, sizeof(*nh) + size);
  if (nh == NULL) {
    return NULL;
  }
  uint64_t gen;
  wt_mem_budget *b = lib_current(&gen);
  nh->size = size;
  nh->gen = gen;
  if (oldgen != 0 && oldgen == gen) {
    wt_mem_uncharge(b, lib_held(old));
  }
  wt_mem_charge(b, lib_held(size));
  return nh + 1;
}
