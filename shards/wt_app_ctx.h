/* wt_app_ctx.h: an application worker's dispatcher (the worker side of the
 * links; the shard side is wt_bridge.h).
 *
 * One ctx per worker thread. It polls the event rings of its links (one per
 * shard), turns events into wt_app_ops callbacks (one handler per event
 * kind, wt_msg.h) and wt_app_* commands into command messages, and owns the
 * worker's objects:
 *  - sessions and streams, found by the shard's id of them (h) in a hash
 *    map; a stream the worker opened is known by its token until the shard
 *    answers with its id (WT_EV_STREAM_OPENED);
 *  - the buffer pool of payloads it writes (credit: a stream may have
 *    stream_credit bytes written and not acknowledged, a window that grows
 *    to twice its connection's congestion window, at most
 *    stream_credit_max, as acknowledgements come back; the streams of one
 *    session share that growth);
 *  - fan-out groups (wt_app_group_*).
 * Ids are never reused, so a message about an object that is gone (a
 * command crossing a close) is recognised and ignored: no object is freed
 * under a message that names it. */
#ifndef WT_APP_CTX_H
#define WT_APP_CTX_H

#include "wt_app.h"
#include "wt_link.h"
#include "wt_timer.h"

#define WT_APP_STREAM_CREDIT_DEFAULT     (1u << 20)
#define WT_APP_STREAM_CREDIT_MAX_DEFAULT (8u << 20)
#define WT_APP_BUF_SIZE                  16384 /* the worker pool's buffer size */

typedef struct wt_app_ctx_config {
  const wt_app_router *router; /* this thread's router */
  wt_timer_heap *timers;
  uint32_t worker, n_workers, n_shards;
  wt_link *const *links;      /* n_shards links: [shard] */
  uint32_t stream_credit;     /* 0 = WT_APP_STREAM_CREDIT_DEFAULT */
  uint32_t stream_credit_max; /* a stream's credit grows up to this with the connection's
                                 congestion window; 0 = WT_APP_STREAM_CREDIT_MAX_DEFAULT;
                                 <= stream_credit: no growth */
  /* the protocols the server speaks, in preference order (at most
   * WT_APP_MAX_PROTOCOLS count for the per-protocol counters): a session
   * whose application did not choose answers the first one offered */
  const char *const *protocols;
  size_t n_protocols;
} wt_app_ctx_config;

int wt_app_ctx_new(wt_app_ctx **out, const wt_app_ctx_config *cfg);
/* Deliver stream_close/session_close (clean = 0) for everything still open. */
void wt_app_ctx_close_all(wt_app_ctx *ctx);
/* wt_app_ctx_close_all, then free (the buffer pool too: every buffer it
 * handed out must be back). NULL is a no-op. */
void wt_app_ctx_del(wt_app_ctx *ctx);
void wt_app_ctx_set_now(wt_app_ctx *ctx, uint64_t now_ns);
/* Handle up to max events (all links). Returns how many. */
size_t wt_app_ctx_poll(wt_app_ctx *ctx, size_t max);
/* Send the commands queued (overflow first) and wake the shards that sleep.
 * Returns 1 while some overflow is left. */
int wt_app_ctx_flush(wt_app_ctx *ctx);
/* 1 if an event is waiting on any link (the pre-sleep re-check). */
int wt_app_ctx_pending(wt_app_ctx *ctx);
/* Set the loop time and run the due timers. Returns how many ran. */
size_t wt_app_run_timers(wt_app_ctx *ctx, uint64_t now_ns);
/* The worker's buffer pool (stats). */
wt_buf_pool *wt_app_ctx_pool(wt_app_ctx *ctx);
/* 1 if the worker has a handler for message kind (wt_msg.h): exactly the
 * events (a check for unit tests). */
int wt_app_ctx_handles(unsigned kind);

#endif
