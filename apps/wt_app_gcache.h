/* wt_app_gcache.h: the newest group of a fan-out source, kept for late
 * joiners (the plain relay's channels, apps/wt_app_relay.c, and the
 * moq-lite relay's tracks, apps/wt_app_moq.c), and optionally the last
 * few complete groups before it, for moq-lite-05's FETCH of a past group.
 *
 * A cache holds references to slices of the received buffers (wt_buf, as
 * the worker got them from the shard: no copy). What it counts against its
 * bounds is what it holds: the capacity of each buffer referenced, not the
 * payload (a publisher sending one byte per frame would otherwise pin a
 * whole buffer per byte), and at most WT_APP_GCACHE_SLICES slices in all.
 * A slice that continues the last one of the current group in the same
 * buffer (the shard fills one buffer per stream) joins it. A group that
 * does not fit is dropped whole (it is removed and the cache stays off
 * until the next group starts): a late joiner then waits for the next
 * group, never gets a torn one, and a FETCH of it finds nothing.
 *
 * Past groups (wt_app_gcache_begin with keep > 1): when a new group
 * begins, the previous one is kept if it was complete (wt_app_gcache_fin),
 * up to keep groups in all (the current one included); the oldest go
 * first when there are more, or when the bytes held would pass the total
 * bound. wt_app_gcache_start is begin with keep 1 (newest group only).
 *
 * Ownership: the cache owns one reference to every buffer it holds,
 * given back by wt_app_gcache_clear / _drop_cur / _free and by eviction;
 * wt_app_gcache_find's slices are valid until the next call that changes
 * the cache (the caller refs what it keeps longer). Threading: the
 * owner's (one application worker). */
#ifndef WT_APP_GCACHE_H
#define WT_APP_GCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "wt_app.h"
#include "wt_buf.h"

#define WT_APP_GCACHE_SLICES 1024
#define WT_APP_GCACHE_GROUPS 8 /* keep is clamped to this */

typedef struct wt_app_gcache_slice {
  wt_buf *buf;
  uint32_t off, len;
} wt_app_gcache_slice;

typedef struct wt_app_gcache_grp {
  uint64_t seq;
  size_t first;   /* its first slice */
  uint64_t bytes; /* capacity of the buffers its slices reference */
  uint8_t fin;    /* complete */
} wt_app_gcache_grp;

typedef struct wt_app_gcache {
  wt_app_gcache_slice *slices; /* every kept group's, oldest group first */
  size_t n, cap;
  uint64_t bytes;                               /* capacity of the buffers referenced, all groups */
  int on;                                       /* the current group is kept whole so far */
  wt_app_gcache_grp grps[WT_APP_GCACHE_GROUPS]; /* oldest first; the last is current when on */
  size_t n_grps;
  uint64_t evicted; /* past groups dropped for room (count, for the owner's counters) */
} wt_app_gcache;

/* Give every buffer back; the cache is off until the next group starts. */
void wt_app_gcache_clear(wt_app_gcache *g);

/* A new group starts: cleared, and kept from now on (newest group only). */
void wt_app_gcache_start(wt_app_gcache *g);

/* A new group seq starts: the current one stays as a past group if it is
 * complete and keep > 1 (an incomplete one is dropped), the oldest past
 * groups go until at most keep - 1 remain; the new one is kept from now
 * on. */
void wt_app_gcache_begin(wt_app_gcache *g, uint64_t seq, size_t keep);

/* Keep b[off, off + len) of the current group if the cache is on and the
 * group still fits under max bytes of capacity (and, with past groups,
 * all of them under total_max: the oldest past groups go first); else
 * drop the current group (off). */
void wt_app_gcache_retain(wt_app_gcache *g, wt_buf *b, size_t off, size_t len, uint64_t max);
void wt_app_gcache_retain_total(wt_app_gcache *g, wt_buf *b, size_t off, size_t len, uint64_t max,
                                uint64_t total_max);

/* The current group is complete (its FIN came). */
void wt_app_gcache_fin(wt_app_gcache *g);

/* Drop the current group only (its stream was reset); past ones stay. */
void wt_app_gcache_drop_cur(wt_app_gcache *g);

/* The current group's slices (*n of them from *first; 0 when off). */
void wt_app_gcache_cur(const wt_app_gcache *g, const wt_app_gcache_slice **first, size_t *n);

/* A complete kept group seq (past or current): 1 with its slices, else 0. */
int wt_app_gcache_find(const wt_app_gcache *g, uint64_t seq, const wt_app_gcache_slice **first,
                       size_t *n);

/* Write the current group to a late joiner (as) of group grp's stream
 * gsid, after wt_app_group_catchup: every slice, then FIN if fin (with the
 * last slice, or alone when nothing is kept). */
void wt_app_gcache_replay(const wt_app_gcache *g, wt_app_group *grp, wt_app_session *as,
                          uint64_t gsid, int fin);

/* Clear and free the slice array (the cache may be reused, empty). */
void wt_app_gcache_free(wt_app_gcache *g);

#endif
