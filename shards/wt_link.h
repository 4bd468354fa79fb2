/* wt_link.h: the rings between one shard and one application worker.
 *
 * Every (shard, worker) pair is joined by a link: two bounded lock-free
 * single-producer/single-consumer rings of fixed-size messages (wt_msg.h:
 * 64 bytes, copied in and out: no per-message allocation, no ownership of
 * the message itself), one per direction:
 *   events   shard -> worker: sessions, streams, data, datagrams, credit;
 *   commands worker -> shard: answers, writes, datagrams, closes, consumes,
 *            fan-out groups.
 * Payload bytes never travel in a message: a message points to a
 * reference-counted wt_buf (core/base/wt_buf.h) whose reference it carries.
 *
 * A full ring: the producer decides per message kind (wt_lring_post /
 * wt_lring_post_or_drop). Messages that must not be lost (opens, closes,
 * FIN, resets, answers, stream data, credit) go to the producer's private
 * overflow queue, which is sent first, in order, as soon as the ring has
 * room; what bounds it is the protocol (stream data is bounded by QUIC flow
 * control because its credit is only returned when the worker consumed it;
 * writes by the worker's per-stream credit). Datagrams are dropped and
 * counted instead (wt_lring_post_or_drop).
 *
 * Wake-ups: each consumer thread has a wt_waker (an eventfd and a
 * "sleeping" flag). A consumer announces it is about to sleep
 * (wt_waker_sleep_begin), re-checks its rings, sleeps, then
 * wt_waker_sleep_end. A producer calls wt_lring_flush after a batch: if the
 * consumer announced sleep, one eventfd write wakes it. The flag exchange
 * is sequentially consistent on both sides (a store-load "Dekker" pair), so
 * a message is never left behind a sleeping consumer, and a busy consumer
 * costs producers no system call.
 *
 * Threads: the shard side (post events, poll commands) and the worker side
 * (post commands, poll events) of one link each belong to one thread. */
#ifndef WT_LINK_H
#define WT_LINK_H

#include <stdatomic.h>
#include <stdint.h>

#include "wt_msg.h"

/* A consumer thread's wake-up. */
typedef struct wt_waker {
  int efd;                /* eventfd (owned by whoever created it) */
  _Atomic int sleeping;   /* the consumer may be (about to be) asleep */
  _Atomic uint64_t wakes; /* eventfd writes (a counter for the stats) */
} wt_waker;

/* Consumer: announce sleep; then re-check every ring (wt_lring_pending) and
 * sleep only if all are empty; wt_waker_sleep_end after waking. */
static inline void wt_waker_sleep_begin(wt_waker *k) {
  atomic_store_explicit(&k->sleeping, 1, memory_order_seq_cst);
}
static inline void wt_waker_sleep_end(wt_waker *k) {
  atomic_store_explicit(&k->sleeping, 0, memory_order_relaxed);
}
/* Producer: wake k if it sleeps (one eventfd write). */
void wt_waker_kick(wt_waker *k);

typedef struct wt_link wt_link;

typedef struct wt_link_stats {
  uint64_t posted, overflowed, dropped;
  uint32_t overflow_now, overflow_max;
} wt_link_stats;

/* One direction of a link. */
typedef struct wt_lring {
  _Alignas(64) wt_msg *slots;
  uint32_t mask;
  /* producer's line */
  _Alignas(64) _Atomic uint32_t tail;
  uint32_t head_cache;
  int dirty; /* posted since the last flush */
  struct wt_ovf *ovf_head, *ovf_tail;
  wt_link_stats st;
  wt_waker *consumer;
  /* consumer's line */
  _Alignas(64) _Atomic uint32_t head;
  uint32_t tail_cache;
} wt_lring;

struct wt_link {
  wt_lring ev;  /* shard -> worker */
  wt_lring cmd; /* worker -> shard */
  uint32_t shard, worker;
};

/* Create a link with capacity messages per direction (power of two, >= 2)
 * that wakes shard_waker / worker_waker. Returns 0, WT_ERR_INVAL or
 * WT_ERR_NOMEM. */
int wt_link_new(wt_link **out, uint32_t shard, uint32_t worker, uint32_t capacity,
                wt_waker *shard_waker, wt_waker *worker_waker);
/* Free the link. Messages still queued (ring and overflow) have their buf
 * references dropped. Call when neither side uses it any more. */
void wt_link_del(wt_link *l);

/* Producer: queue m (its buf reference goes with it); into the overflow
 * queue when the ring is full. Returns 0 or WT_ERR_NOMEM (m not queued: the
 * caller still owns its buf). */
int wt_lring_post(wt_lring *r, const wt_msg *m);
/* Producer: queue m only if the ring has room now and no overflow is
 * waiting; else WT_ERR_AGAIN (counted as dropped; the caller keeps buf). */
int wt_lring_post_or_drop(wt_lring *r, const wt_msg *m);
/* Producer: move overflow into the ring as room allows, then wake the
 * consumer if it sleeps and something was posted since the last flush.
 * Returns 1 while overflow remains (call again next turn). */
int wt_lring_flush(wt_lring *r);
/* Consumer: copy up to max messages out, oldest first. Returns how many. */
uint32_t wt_lring_poll(wt_lring *r, wt_msg *out, uint32_t max);
/* Consumer: 1 if a message is waiting (for the pre-sleep re-check). */
int wt_lring_pending(wt_lring *r);

#endif
