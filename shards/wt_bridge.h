/* wt_bridge.h: the shard side of the application links.
 *
 * A shard's engine reports sessions, streams and datagrams to the bridge
 * (its engine callbacks); the bridge turns them into events on the link of
 * the worker that owns the session, and turns the workers' commands into
 * engine calls (one handler per command kind, wt_msg.h). It also executes the fan-out groups
 * (wt_app.h): the members on this shard, their mirrored streams and the lag bound.
 *
 * Which worker: the route's worker_hint (the relay keeps a channel on one
 * worker), else round robin (or this shard's own worker, local_worker). The bridge answers 404
 * itself when no route matches; otherwise it defers the CONNECT (WT_SESSION_DEFER) until the
 * worker's application answers (WT_CMD_RESPOND).
 *
 * Flow control: every WebTransport stream the app sees uses the engine's
 * manual credit; the bridge returns credit to the peer only when the
 * worker says it consumed the bytes (WT_CMD_CONSUME), so a slow worker
 * pushes back on the peer instead of growing queues. Writes are zero-copy
 * (wt_stream_write_ref): the worker's buffer is referenced until the peer
 * acknowledges it, then its bytes go back to the worker as credit
 * (WT_EV_STREAM_CREDIT). Datagrams to a full ring are dropped and counted.
 *
 * Outgoing sessions (wt_app_connect; WT_CMD_CONNECT): the bridge opens a
 * client connection in the shard's own (server) engine to the authority
 * (a numeric address: no name resolution on a shard), one connection per
 * session, closed when the session ends; the session then carries events
 * like an accepted one (WT_EV_SESSION_OPEN with the response's fields, or
 * WT_EV_SESSION_REFUSED). The connection's CIDs name this shard, so its
 * packets come back here. Logged (info: opened; warn: failed, refused).
 *
 * Ids: every session and stream gets a 64-bit id, never reused, that the
 * messages carry (an outgoing session's is the worker's, bit 63 set); a command for an id that is
 * gone is ignored (its buffer released). Threads: the shard's.
 *
 * Test hook, not for operators: with WTCAST_TEST_GROUP_DEL_DEFER=K in the
 * environment, every shard holds back each GROUP_DEL until K later ones
 * arrived (or no session is left on the shard), so a group's counters
 * outlive the app side's reference by K channel ends
 * (integration.relay_churn: the relay registry evicts them first). */
#ifndef WT_BRIDGE_H
#define WT_BRIDGE_H

#include <stdint.h>

#include "wt_app.h"
#include "wt_engine.h"
#include "wt_link.h"

struct wt_engine;
struct wt_engine_callbacks;

typedef struct wt_bridge wt_bridge;

typedef struct wt_bridge_stats {
  uint64_t not_found;         /* CONNECTs answered 404 (no route) */
  uint64_t sessions, streams; /* live */
  uint64_t datagrams_dropped; /* to the worker (ring full) or from it (queue full, too big) */
  uint64_t stale_commands;    /* for objects already gone */
  uint64_t groups, members, mirrors;
  uint64_t buf_failed;
  /* outgoing sessions (WT_CMD_CONNECT): connections started, connects that
   * failed before a connection existed (bad address, no route, no client
   * trust), sessions refused (status or connection failure), live */
  uint64_t connects, connects_failed, connects_refused, connects_live;
} wt_bridge_stats;

typedef struct wt_bridge_config {
  uint32_t shard, n_workers;
  const wt_app_router *router; /* this shard's: lookups and worker hints only */
  wt_link *const *links;       /* n_workers: [worker] */
  int local_worker;            /* sessions without a worker hint go to worker == shard
                                  (inline apps: no thread hop) instead of round robin */
  /* Outgoing sessions (WT_CMD_CONNECT): the local address of the path to
   * remote as the shard's socket reports received packets (its bound
   * address, or the routed source address with its port when it is bound to
   * a wildcard); it may rewrite remote as the socket reports peers (an IPv4
   * address IPv4-mapped on a dual-stack socket). Returns 0 or a negative
   * WT_ERR_*; NULL: no outgoing sessions (each is refused, status 0).
   * Called on the shard's thread. */
  int (*local_for)(void *arg, wt_addr *remote, wt_addr *local);
  void *local_arg;
  /* the clock of the fan-out's latency budgets (wt_app_group_join_opts),
   * in ns; NULL: CLOCK_MONOTONIC (tests give a fake one) */
  uint64_t (*clock)(void *arg);
  void *clock_arg;
} wt_bridge_config;

int wt_bridge_new(wt_bridge **out, const wt_bridge_config *cfg);
/* Fill cb with the engine callbacks (user pointer = the bridge). */
void wt_bridge_engine_callbacks(struct wt_engine_callbacks *cb);
void wt_bridge_set_engine(wt_bridge *b, struct wt_engine *e);
/* The shard's clock for the engine calls the commands make (the
 * connections WT_CMD_CONNECT starts): set it every turn before
 * wt_bridge_poll. */
void wt_bridge_set_now(wt_bridge *b, uint64_t now_ns);
/* Handle up to max commands (all links) and retry the stream opens that
 * waited for the peer's stream credit. Returns the commands handled. */
size_t wt_bridge_poll(wt_bridge *b, size_t max);
/* Post the bytes the streams received this turn (one slice of each
 * stream's receive buffer, however many STREAM frames brought them), then
 * send the queued events (overflow first) and wake sleeping workers.
 * Returns 1 while overflow is left. */
int wt_bridge_flush(wt_bridge *b);
/* When the fan-out's latency budgets (wt_app_group_join_opts) must be
 * looked at next, on the bridge's clock (wt_bridge_config.clock): the
 * earliest time a member's group still in flight passes its budget, rounded
 * up to 5 ms (members share wake-ups); UINT64_MAX when none can. The shard
 * sleeps no longer than that; wt_bridge_poll then resets what is past its
 * budget, as when the member's group opens or writes (a track that goes
 * quiet does not keep a stale group). One deadline per shard, no timer per
 * member. */
uint64_t wt_bridge_next_expiry(const wt_bridge *b);
/* 1 if a command waits (the shard's pre-sleep re-check). */
int wt_bridge_pending(wt_bridge *b);
/* Every open session's app hears session_drain (server shutting down);
 * outgoing sessions asked for from now on are refused (status 0). */
void wt_bridge_drain(wt_bridge *b);
/* The engine is about to be freed: tell the workers that every session is
 * closed (clean = 0) and forget the engine objects. Releases the engine
 * makes while being freed are still handled: call wt_bridge_del after
 * wt_engine_del. */
void wt_bridge_detach(wt_bridge *b);
void wt_bridge_del(wt_bridge *b);
const wt_bridge_stats *wt_bridge_get_stats(const wt_bridge *b);
/* Messages posted to the workers and how many waited in overflow (the
 * producer side of this shard's event rings). */
void wt_bridge_event_counts(const wt_bridge *b, uint64_t *posted, uint64_t *overflowed);
wt_buf_pool *wt_bridge_pool(wt_bridge *b);
/* 1 if the bridge has a handler for message kind (wt_msg.h): exactly the
 * commands (a check for unit tests). */
int wt_bridge_handles(unsigned kind);

#endif
