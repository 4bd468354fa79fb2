/* wt_fwd.h: cross-shard forwarding of received datagrams.
 *
 * When steering is off or unavailable, a shard may receive a datagram whose
 * Destination Connection ID belongs to another shard (wt_steer.h). It hands
 * the datagram to its owner over an in-memory ring, never over a syscall per
 * packet, and at most once: the owner feeds forwarded datagrams straight to
 * its engine and never forwards them again.
 *
 * The mesh (wt_fwd) holds, for every ordered pair (src, dst) of shards, two
 * bounded SPSC rings (core/base/wt_spsc.h):
 *   fwd[src][dst]: datagrams src hands to dst (src produces, dst consumes);
 *   ret[src][dst]: the same buffers on their way home (dst produces, src
 *                  consumes).
 * Buffers (wt_fwd_pkt) come from a pool owned by the source shard's port and
 * are put back only by that shard, after they came home: every buffer has
 * one owner at a time and is freed on the thread that allocated it. A source
 * keeps at most the ring capacity of buffers in flight per destination, so
 * neither ring of a pair can overflow; past that bound (the destination is
 * not keeping up) the datagram is dropped and counted (forward_drops), as
 * UDP would drop it: QUIC recovers.
 *
 * Wake-ups: wt_fwd_send only queues; wt_fwd_flush writes the eventfd of each
 * destination that got datagrams since the last flush, once (one write per
 * batch, not per packet). The destination reads its eventfd, then calls
 * wt_fwd_poll (reading first means a datagram queued after the poll wakes it
 * again: no wake-up is lost).
 *
 * Threads: wt_fwd_new/wt_fwd_set_wake_fd/wt_fwd_del on one thread while no
 * port is in use; each port is used by the thread of its shard only. */
#ifndef WT_FWD_H
#define WT_FWD_H

#include <stddef.h>
#include <stdint.h>

#include "wt_io.h"
#include "wt_pool.h"

#define WT_FWD_MAX_PAYLOAD 2048 /* larger datagrams are dropped (counted), not forwarded */
#define WT_FWD_POLL_BURST  32   /* datagrams taken from one source per dequeue */

/* One forwarded datagram with its addresses and ECN bits. */
typedef struct wt_fwd_pkt {
  uint32_t src; /* the shard that owns this buffer */
  uint32_t len;
  uint8_t ecn;
  wt_io_addr local, peer;
  uint8_t data[WT_FWD_MAX_PAYLOAD];
} wt_fwd_pkt;

typedef struct wt_fwd_stats {
  uint64_t forwarded_out; /* datagrams handed to another shard */
  uint64_t forwarded_in;  /* datagrams received from another shard (delivered) */
  uint64_t forward_drops; /* datagrams for another shard dropped: too many in flight to it,
                             no buffer, or longer than WT_FWD_MAX_PAYLOAD */
} wt_fwd_stats;

typedef struct wt_fwd wt_fwd;

/* One shard's end of the mesh; embed it in the shard. */
typedef struct wt_fwd_port {
  wt_fwd *mesh;
  uint32_t self, n;
  uint32_t *inflight; /* [n]: our buffers not yet home, per destination */
  uint8_t *pending;   /* [n]: destination got datagrams since the last flush */
  uint32_t next_src;  /* poll fairness: the source to start with */
  uint64_t total_out; /* buffers out (sum of inflight) */
  wt_pool pool;       /* wt_fwd_pkt buffers, owned by this shard */
  wt_fwd_stats stats;
} wt_fwd_port;

/* A mesh for n shards (2..WT_STEER_MAX_SHARDS) whose rings hold ring_cap
 * datagrams each (a power of two >= 2; 0 = a default that shrinks as n
 * grows, 1024 for few shards). Returns 0, WT_ERR_INVAL or WT_ERR_NOMEM. */
int wt_fwd_new(wt_fwd **out, uint32_t n, uint32_t ring_cap);

/* Free the rings. Every port must have been freed (their pools hold the
 * buffers still in rings). NULL is a no-op. */
void wt_fwd_del(wt_fwd *f);

/* The eventfd wt_fwd_flush writes to wake shard (owned by the caller; -1 =
 * none, the shard polls by itself). Before the ports are used. */
void wt_fwd_set_wake_fd(wt_fwd *f, uint32_t shard, int fd);

uint32_t wt_fwd_shards(const wt_fwd *f);
uint32_t wt_fwd_ring_capacity(const wt_fwd *f);

/* Set up shard self's port (on that shard's thread). 0, WT_ERR_INVAL or
 * WT_ERR_NOMEM. */
int wt_fwd_port_init(wt_fwd_port *p, wt_fwd *mesh, uint32_t self);

/* Free the port's pool, including buffers still in flight: call only once
 * no shard uses the mesh any more (after the shards' loops ended). Safe on a
 * zeroed port. */
void wt_fwd_port_free(wt_fwd_port *p);

/* Copy data[0..len) with its addresses into a buffer and queue it for dst
 * (!= self, < n). Returns 0, or (the datagram is dropped and counted in
 * forward_drops) WT_ERR_RANGE (len > WT_FWD_MAX_PAYLOAD), WT_ERR_AGAIN
 * (ring_cap buffers already in flight to dst), WT_ERR_NOMEM (no buffer),
 * WT_ERR_INVAL (bad dst). */
int wt_fwd_send(wt_fwd_port *p, uint32_t dst, const uint8_t *data, size_t len,
                const wt_io_addr *local, const wt_io_addr *peer, uint8_t ecn);

/* Wake every destination queued to since the last flush (one eventfd write
 * each). Returns the number of wake-ups written. */
unsigned wt_fwd_flush(wt_fwd_port *p);

/* Called by wt_fwd_poll for each datagram; pkt is valid during the call. */
typedef void (*wt_fwd_deliver_fn)(void *user, const wt_fwd_pkt *pkt);

/* Deliver up to max datagrams other shards queued for us (fairly across
 * sources), sending each buffer home after its call. Returns how many were
 * delivered; == max means more may be waiting. */
unsigned wt_fwd_poll(wt_fwd_port *p, wt_fwd_deliver_fn fn, void *user, unsigned max);

/* Take back our buffers that came home and put them in the pool. Returns
 * how many. Cheap when nothing is in flight. */
unsigned wt_fwd_reclaim(wt_fwd_port *p);

#endif
