/* wt_mem.h: the process memory budget and who holds what (docs/operations.md
 * "Limits", memory budget).
 *
 * What is counted is memory really held, as capacity, where it is taken and
 * given back: buffers of a wt_buf pool (their capacity plus header, one-off
 * buffers too, idle ones on a pool's free list included), the owned chunks
 * of engine send buffers, the buffers of streams buffered before their
 * session, and the libraries' own allocations: ngtcp2's and nghttp3's
 * (connection state, retransmission buffers, acked ranges, stream objects,
 * QPACK) through the counting allocator below, charged to the budget and to
 * their connection's account, and wolfSSL's through the process-wide one
 * (charged to the budget only: wolfSSL's allocator has no per-connection
 * context). Not counted: malloc's own overhead and fragmentation, thread
 * stacks, socket buffers, the io rings, the hash maps and lists of the
 * engines and workers, qlog/keylog text on its way out: the operator's
 * headroom above the budget covers them.
 *
 * wt_mem_budget: one per process, created by the program (shards/ops read the
 * machine's memory and choose the maximum; core/ never does). Any thread may
 * charge and uncharge it. Each thread batches its changes in a thread-local
 * delta and adds it to the shared atomic counter once it reaches
 * WT_MEM_BATCH bytes either way (one atomic add per ~64 KiB instead of one
 * per buffer), so the shared figure lags the truth by at most
 * WT_MEM_BATCH per thread that touched the budget. A thread that uses two
 * budgets (unit tests) flushes the first before batching for the second.
 *
 * Pressure levels, in order (thresholds in permille of the maximum):
 *   NORMAL     below 600
 *   NO_CREDIT  >= 600: the engines stop extending MAX_STREAM_DATA / MAX_DATA
 *   NO_DGRAM   >= 750: datagrams are dropped (in and out), counted
 *   REFUSE     >= 850: new connections get CONNECTION_REFUSED
 *   CLOSE      >= 1000: the engines close their costliest connection, one
 *              at a time, until the level drops
 * A level is entered as soon as the use reaches its threshold (when a thread
 * flushes its delta, or at wt_mem_poll), passing through every level below
 * it in order. It is left only when the use has
 * been WT_MEM_HYST permille below the threshold for WT_MEM_DWELL_NS: moves
 * down happen only in wt_mem_poll (the engines' periodic check, which
 * brings the time), and any poll that finds the use still at the level
 * restarts the wait. Hysteresis in size and in time: a load that swings
 * around a threshold, or memory that is given back a little late after a
 * close, does not make the level flap. Every transition goes through
 * wt_mem_set_state (logged once, counted per level entered).
 *
 * wt_mem_acct: attribution of held bytes to an owner (a connection, a source
 * address) for per-owner budgets and for "close the costliest". An account
 * may have a parent (a connection's is its address's); adding to one adds to
 * its ancestors. Accounts are plain integers: used by one thread (the
 * engine's). Whether the bytes are also charged to the budget is the
 * caller's choice (wt_mem_acct_add's own): bytes of a pooled wt_buf that a
 * send buffer references are attributed to the connection but were charged
 * to the budget by the pool already. */
#ifndef WT_MEM_H
#define WT_MEM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum {
  WT_MEM_NORMAL = 0,
  WT_MEM_NO_CREDIT,
  WT_MEM_NO_DGRAM,
  WT_MEM_REFUSE,
  WT_MEM_CLOSE,
  WT_MEM_LEVELS
};

#define WT_MEM_BATCH    (64 * 1024)
#define WT_MEM_HYST     50           /* permille below a threshold before its level is left */
#define WT_MEM_DWELL_NS 500000000ull /* ... for this long (0.5 s) */

typedef struct wt_mem_budget {
  uint64_t max;                            /* bytes; 0 = no budget (never leaves NORMAL) */
  uint32_t thresh[WT_MEM_LEVELS];          /* permille; thresh[0] = 0 */
  _Atomic int64_t used;                    /* flushed charges (see above) */
  _Atomic int level;                       /* WT_MEM_*; written by wt_mem_set_state */
  _Atomic uint64_t entered[WT_MEM_LEVELS]; /* times each level was entered */
  _Atomic uint64_t peak;                   /* the highest flushed use */
  _Atomic uint64_t held_ns;                /* last poll that found the use at the level */
  _Atomic int over;            /* a flush found the use at the close threshold (wt_mem_close_due) */
  _Atomic uint64_t trimmed[2]; /* bytes pools gave back, by WT_MEM_TRIM_* */
  _Atomic int trim_logged;     /* a pressure trim was logged this episode */
} wt_mem_budget;

/* Why a pool gave idle buffers back (wt_buf.h): the budget at NO_CREDIT or
 * above, or buffers not needed for a while. */
enum { WT_MEM_TRIM_PRESSURE = 0, WT_MEM_TRIM_IDLE, WT_MEM_TRIM_KINDS };
/* A pool gave bytes of idle buffers back for reason (any thread): counted
 * in b->trimmed; a pressure trim is logged once per episode (until the
 * level is back to NORMAL). b may be NULL (no-op). */
void wt_mem_note_trim(wt_mem_budget *b, int reason, uint64_t bytes);

/* max bytes (0 = unlimited: counted, never under pressure); the default
 * thresholds 600/750/850/1000. */
void wt_mem_budget_init(wt_mem_budget *b, uint64_t max);

/* Before a budget's memory goes (tests): the calling thread's batch for b is
 * flushed and forgotten; other threads that charged b must have done the
 * same (or be gone). */
void wt_mem_budget_fini(wt_mem_budget *b);

/* Any thread: n bytes taken / given back. b may be NULL (no-op). */
void wt_mem_charge(wt_mem_budget *b, uint64_t n);
void wt_mem_uncharge(wt_mem_budget *b, uint64_t n);
/* Add the calling thread's batched delta now and recompute the level, moves
 * down included (now_ns: a monotonic clock, the same for every caller);
 * returns the level. NULL: WT_MEM_NORMAL. */
int wt_mem_poll(wt_mem_budget *b, uint64_t now_ns);

/* The current level (any thread; one atomic load). NULL: WT_MEM_NORMAL. */
static inline int wt_mem_level(const wt_mem_budget *b) {
  return b ? atomic_load_explicit(&b->level, memory_order_relaxed) : WT_MEM_NORMAL;
}
/* Flushed bytes in use (lags by at most WT_MEM_BATCH per thread). */
static inline uint64_t wt_mem_used(const wt_mem_budget *b) {
  int64_t u = atomic_load_explicit(&b->used, memory_order_relaxed);
  return u > 0 ? (uint64_t)u : 0;
}

/* 1 if the flushed use is at level's threshold now (no hysteresis): the
 * level may stay up during the dwell after the use fell; a response that
 * must not outlast the cause (closing connections) checks this too. */
int wt_mem_at(const wt_mem_budget *b, int level);

/* 1 if the use is at the close threshold now or reached it since the last
 * call that returned 1 (which takes that mark): closing is for the cause,
 * not the level's dwell after it, but a spike between two of the engines'
 * checks still counts (the use may have fallen again by the check: with
 * the windows bounded by the budget, overshoots are short). */
int wt_mem_close_due(wt_mem_budget *b);

/* The level a budget at level cur should be at with used bytes (pure: the
 * rule above, hysteresis included). */
int wt_mem_level_for(const wt_mem_budget *b, int cur, uint64_t used);
/* The one transition of a budget's level: from -> to if the level is still
 * from (compare-and-swap; a concurrent thread may have moved it first: then
 * nothing happens and 0 is returned). Logs the move once and counts entered[to].
 * Returns 1 if this call made the move. */
int wt_mem_set_state(wt_mem_budget *b, int from, int to);
const char *wt_mem_level_name(int level);

typedef struct wt_mem_acct {
  uint64_t bytes;             /* held now */
  struct wt_mem_acct *parent; /* NULL or the owner this one is part of */
  wt_mem_budget *budget;      /* where owned bytes are charged (NULL: nowhere) */
} wt_mem_acct;

/* n bytes taken by a's owner; own: also charge a->budget (the caller holds
 * memory nobody else counted). a may be NULL (no-op). */
void wt_mem_acct_add(wt_mem_acct *a, uint64_t n, int own);
/* The reverse of wt_mem_acct_add with the same own. */
void wt_mem_acct_sub(wt_mem_acct *a, uint64_t n, int own);

/* The counting allocator for libraries that take one per object with a
 * user-data pointer (ngtcp2_mem, nghttp3_mem: the same shape; acct is the
 * wt_mem_acct *, or NULL: not counted). Each block carries a header (its
 * size, padded to max_align_t, so blocks keep malloc's alignment) and
 * charges its size plus header to acct with own = 1 (acct's budget and its
 * ancestors) until freed; realloc charges the difference, calloc checks
 * the product for overflow; realloc to 0 frees (returns NULL). A block
 * must be freed with the same acct it was allocated with, on that acct's
 * thread, and acct (and its budget) must outlive the library object that
 * frees into it: a connection keeps its account until after
 * ngtcp2_conn_del / nghttp3_conn_del. */
void *wt_mem_acct_malloc(size_t size, void *acct);
void *wt_mem_acct_calloc(size_t nmemb, size_t size, void *acct);
void *wt_mem_acct_realloc(void *ptr, size_t size, void *acct);
void wt_mem_acct_free(void *ptr, void *acct);
/* The size asked for a block of the allocator above (tests). */
size_t wt_mem_acct_block_size(const void *ptr);

/* The process-wide counting allocator, for a library whose allocator
 * callbacks take no user data (wolfSSL: wt_tls.c installs these before any
 * wolfSSL allocation and never removes them). Any thread. Blocks are
 * charged (size plus a 16-byte header) to the budget set with
 * wt_mem_lib_set_budget, when one is set. Each block remembers the setting
 * it was charged under and is uncharged only if that setting is still the
 * current one: after a change (or NULL), blocks charged before are freed
 * uncounted, so a budget that goes away is never touched again. Change the
 * setting only when no other thread allocates through these (before the
 * shards start, after they are joined). */
void *wt_mem_lib_malloc(size_t size);
void *wt_mem_lib_realloc(void *ptr, size_t size);
void wt_mem_lib_free(void *ptr);
void wt_mem_lib_set_budget(wt_mem_budget *b);

#endif
