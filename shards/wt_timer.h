/* wt_timer.h: one-shot timers for a shard's loop and its applications.
 *
 * A wt_timer_heap is a binary min-heap of deadlines (absolute nanoseconds on
 * the shard's CLOCK_MONOTONIC clock; the heap itself never reads a clock).
 * Timers with the same deadline fire in the order they were added. A timer
 * is named by a 64-bit id (never 0: a slot index plus that slot's reuse
 * generation), so cancelling an id whose timer already fired or was
 * cancelled is a harmless WT_ERR_NOTFOUND, not a hit on a newer timer (unless
 * one slot was reused 2^32 times in between).
 *
 * Cost: add and cancel are O(log n); the storage (slot and heap arrays)
 * grows by doubling and is reused, so a steady state allocates nothing.
 *
 * Threads: a heap belongs to one thread; no locking.
 *
 * Re-entrancy: a callback run by wt_timer_run may add and cancel timers
 * (including other due ones). A timer added during a run never fires in that
 * same run, even with a deadline in the past (its deadline is raised to that
 * run's now_ns, so it fires next time, after the timers already due): a
 * callback that re-arms itself with delay 0 cannot starve the loop. */
#ifndef WT_TIMER_H
#define WT_TIMER_H

#include <stddef.h>
#include <stdint.h>

typedef void (*wt_timer_fn)(void *arg);

typedef struct wt_timer_slot wt_timer_slot;

typedef struct wt_timer_heap {
  wt_timer_slot *slots; /* by slot index; a free slot links to the next free one */
  uint32_t *heap;       /* slot indices ordered as a min-heap on (deadline, seq) */
  uint32_t n_slots;     /* slots allocated */
  uint32_t n_heap;      /* timers pending */
  uint32_t free_head;   /* first free slot, UINT32_MAX = none */
  uint64_t next_seq;    /* insertion counter: ties fire in add order */
  uint64_t run_seq;     /* during wt_timer_run: first seq added by this run */
  uint64_t run_now;     /* during wt_timer_run: its now_ns */
  int running;          /* inside wt_timer_run */
} wt_timer_heap;

/* Initialise an empty heap (allocates nothing). Returns 0 or WT_ERR_INVAL. */
int wt_timer_init(wt_timer_heap *h);

/* Free the storage; pending timers are dropped without running. Safe on a
 * zeroed heap; h can be initialised again afterwards. */
void wt_timer_free(wt_timer_heap *h);

/* Arm a timer that calls fn(arg) once, at the first wt_timer_run with
 * now_ns >= deadline_ns. *id (if id is not NULL) receives its id.
 * Returns 0, WT_ERR_INVAL (NULL h or fn), WT_ERR_LIMIT (2^31 timers pending)
 * or WT_ERR_NOMEM. */
int wt_timer_add(wt_timer_heap *h, uint64_t deadline_ns, wt_timer_fn fn, void *arg, uint64_t *id);

/* Disarm a pending timer. Returns 0, or WT_ERR_NOTFOUND if id is 0, unknown,
 * already fired (or running) or already cancelled. */
int wt_timer_cancel(wt_timer_heap *h, uint64_t id);

/* The earliest pending deadline, or UINT64_MAX when none is pending. */
uint64_t wt_timer_next(const wt_timer_heap *h);

/* Number of pending timers. */
size_t wt_timer_count(const wt_timer_heap *h);

/* Run every timer due at now_ns (deadline <= now_ns) that was pending when
 * the call started, earliest first. Each is disarmed before its callback
 * runs. Returns how many callbacks ran. */
size_t wt_timer_run(wt_timer_heap *h, uint64_t now_ns);

#endif
