/* wt_dgram.h: the datagram queues of a connection (RFC 9297, RFC 9221):
 * outgoing WebTransport datagrams waiting for a packet, and received ones
 * waiting for their session (draft-ietf-webtrans-http3 section 4.6).
 *
 * Ownership: the connection owns both queues and every node on them. A
 * node carries its Quarter Stream ID prefix (wt_datagram.h) and either a
 * copy of the payload or, for wt_session_send_datagram_ref, a reference
 * released at the end of the engine call (wt_ctx_run_releases) once the
 * datagram was written into a packet or dropped. Referenced nodes (one per
 * member per fan-out datagram) come from the engine's bounded pool
 * (wt_engine_config.dgram_pool_max) and go back to it after their release;
 * copies, and referenced ones beyond the bound, are malloc'd.
 *
 * Age bound: an outgoing datagram older than max_datagram_age_ns (from the
 * engine's time when it was queued) when it reaches the head of the queue
 * is dropped, not sent (datagrams_expired). Which session a datagram belongs to,
 * and whether it may be sent, is wt_session's business; this module only
 * queues by session ID.
 *
 * Threading: the engine's thread (wt_engine.h). Layer: above wt_ctx. */
#ifndef WT_DGRAM_H
#define WT_DGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "wt_ctx.h"

struct wt_dgram {
  wt_ref ref; /* is_ref datagrams reference their payload */
  struct wt_dgram *next;
  uint64_t session_id;
  uint64_t queued_at; /* engine time when queued (outgoing) */
  uint8_t is_ref;     /* payload in ref.data/ref.len, data[] holds only the prefix */
  uint8_t pooled;     /* from e->dgram_pool */
  size_t len;         /* bytes in data[] */
  uint8_t data[];
};

/* A pooled node: the struct and the longest prefix (a varint, <= 8 bytes). */
#define WT_DGRAM_POOL_OBJ (sizeof(struct wt_dgram) + 8)

/* Free a node (a referencing one is released through e->relq). */
void wt_dgram_free(wt_engine *e, wt_dgram *d);
/* Free both queues of c (connection teardown). */
void wt_dgram_free_all(wt_conn *c);

/* Queue one outgoing datagram of session_id: copied, or referenced when
 * is_ref. Returns 0; WT_ERR_AGAIN (queue full: max_datagram_queue) or
 * WT_ERR_NOMEM, both counted in datagrams_dropped. */
int wt_dgram_queue(wt_conn *c, uint64_t session_id, const uint8_t *data, size_t len, int is_ref,
                   wt_release_fn release, void *arg);
/* Drop the outgoing datagrams of session_id (its session ended). */
void wt_dgram_drop_session(wt_conn *c, uint64_t session_id);
/* Try to put the head outgoing datagram into the packet being written.
 * Returns 1 if a packet was completed (*nwrite set), 0 to go on with other
 * sources (*done = 1: no more datagrams fit this packet), <0 a fatal ngtcp2
 * error. */
int wt_dgram_write(wt_conn *c, ngtcp2_path_storage *ps, ngtcp2_pkt_info *pi, uint8_t *buf,
                   size_t cap, int *done, ngtcp2_ssize *nwrite);

/* Hold a received payload for session_id until the session opens, up to
 * max_buffered_datagrams per connection (beyond: dropped and counted). */
void wt_dgram_buffer(wt_conn *c, uint64_t session_id, const uint8_t *data, size_t len);
/* Unlink the oldest held datagram of session_id (NULL: none); the caller
 * frees it with wt_dgram_free. */
wt_dgram *wt_dgram_take_buffered(wt_conn *c, uint64_t session_id);
/* Drop the held datagrams of session_id (counted in datagrams_dropped). */
void wt_dgram_reject_buffered(wt_conn *c, uint64_t session_id);

#endif
