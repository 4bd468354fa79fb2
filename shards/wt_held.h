/* wt_held.h: what the unacknowledged data of one outgoing byte stream
 * holds in memory when it references other owners' buffers: the capacity
 * of the distinct buffers it references, not its payload.
 *
 * A relay mirror (wt_bridge.c) writes slices of the publisher's receive
 * buffers by reference; until the peer acknowledges them, each buffer stays
 * pinned whole. Charging payload lets a lagging subscriber pin a 16 KiB
 * buffer per byte (one-byte groups, each in its own buffer); charging each
 * slice's capacity would count one buffer many times (consecutive slices of
 * one buffer are the common case). A wt_held keeps the stream's "runs":
 * consecutive bytes referencing one buffer, each charged its buffer's
 * capacity once, in stream order, and gives each back once the peer has
 * acknowledged the run's last byte. O(1) per slice (amortized).
 *
 * A buffer is known by its address (key) while a run references it, which
 * keeps it alive; a slice of the buffer of the newest run joins that run.
 * A buffer referenced again after other buffers came in between starts a
 * new run (charged again: rare, and never less than what is held).
 *
 * Embedded in its owner (wt_held_init / wt_held_free); offsets are the
 * owner's (e.g. payload bytes written to the stream). Single-threaded. */
#ifndef WT_HELD_H
#define WT_HELD_H

#include <stdint.h>

typedef struct wt_held_run {
  uint64_t end; /* offset just past the run's last byte */
  uint32_t cap; /* capacity charged for its buffer */
} wt_held_run;

typedef struct wt_held {
  wt_held_run *runs; /* a ring: runs[(head + i) % size], oldest first */
  uint32_t head, n, size;
  const void *last; /* the newest run's buffer */
  uint64_t total;   /* capacity of the runs held */
} wt_held;

void wt_held_init(wt_held *h);
void wt_held_free(wt_held *h);

/* What a slice of buffer key (capacity cap) would add: 0 when it joins the
 * newest run, else cap. */
static inline uint32_t wt_held_cost(const wt_held *h, const void *key, uint32_t cap) {
  return h->n && h->last == key ? 0 : cap;
}

/* The bytes up to offset end now reference buffer key of capacity cap (end
 * grows from call to call). Returns the capacity newly charged (0 or cap),
 * or a negative WT_ERR_NOMEM (nothing recorded: the caller charges cap
 * itself or refuses the write). */
int64_t wt_held_add(wt_held *h, const void *key, uint32_t cap, uint64_t end);

/* The peer acknowledged every byte below offset acked: runs wholly below
 * it are given back. Returns the capacity released. */
uint64_t wt_held_ack(wt_held *h, uint64_t acked);

static inline uint64_t wt_held_total(const wt_held *h) {
  return h->total;
}

#endif
