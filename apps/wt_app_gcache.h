/* wt_app_gcache.h: the newest group of a fan-out source, kept for late
 * joiners (the plain relay's channels, apps/wt_app_relay.c, and the
 * moq-lite relay's tracks, apps/wt_app_moq.c).
 *
 * A cache holds references to slices of the received buffers (wt_buf, as
 * the worker got them from the shard: no copy). What it counts against its
 * bound is what it holds: the capacity of each buffer referenced, not the
 * payload (a publisher sending one byte per frame would otherwise pin a
 * whole buffer per byte), and at most WT_APP_GCACHE_SLICES slices. A slice
 * that continues the last one in the same buffer (the shard fills one
 * buffer per stream) joins it. A group that does not fit is dropped whole
 * (the cache is cleared and stays off until the next group starts): a late
 * joiner then waits for the next group, never gets a torn one.
 *
 * Ownership: the cache owns one reference to every buffer it holds,
 * given back by wt_app_gcache_clear / wt_app_gcache_free. Threading: the
 * owner's (one application worker). */
#ifndef WT_APP_GCACHE_H
#define WT_APP_GCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "wt_app.h"
#include "wt_buf.h"

#define WT_APP_GCACHE_SLICES 1024

typedef struct wt_app_gcache_slice {
  wt_buf *buf;
  uint32_t off, len;
} wt_app_gcache_slice;

typedef struct wt_app_gcache {
  wt_app_gcache_slice *slices;
  size_t n, cap;
  uint64_t bytes; /* capacity of the buffers referenced */
  int on;         /* the current group is kept whole so far */
} wt_app_gcache;

/* Give every buffer back; the cache is off until wt_app_gcache_start. */
void wt_app_gcache_clear(wt_app_gcache *g);

/* A new group starts: cleared, and kept from now on. */
void wt_app_gcache_start(wt_app_gcache *g);

/* Keep b[off, off + len) of the current group if the cache is on and the
 * group still fits under max bytes of capacity; else clear it (off). */
void wt_app_gcache_retain(wt_app_gcache *g, wt_buf *b, size_t off, size_t len, uint64_t max);

/* Write what is kept to a late joiner (as) of group grp's stream gsid,
 * after wt_app_group_catchup: every slice, then FIN if fin (with the last
 * slice, or alone when nothing is kept). */
void wt_app_gcache_replay(const wt_app_gcache *g, wt_app_group *grp, wt_app_session *as,
                          uint64_t gsid, int fin);

/* Clear and free the slice array (the cache may be reused, empty). */
void wt_app_gcache_free(wt_app_gcache *g);

#endif
