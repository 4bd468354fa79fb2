/* wt_conn.h: one QUIC connection (internal: the rest of the tree uses
 * wt_engine.h): ngtcp2 + wolfSSL, the ngtcp2 callbacks that feed the
 * modules below (wt_h3, wt_session, wt_stream, wt_dgram), the receive
 * path, the packet write loop (one GSO run per call), the closing and
 * draining periods (RFC 9000 section 10.2), and the public wt_conn_* API.
 *
 * The connection's state is struct wt_conn (wt_ctx.h: every module reads
 * it). Ownership: the engine creates connections (wt_conn_server_new,
 * wt_conn_client_new) and frees them with wt_conn_free; a connection owns
 * its ngtcp2/nghttp3/wolfSSL objects, sessions, streams and datagrams.
 * wt_conn_gc frees the sessions and streams that ended during an engine
 * entry point, at its end (never inside a library callback).
 *
 * Threading: the engine's thread (wt_engine.h). Layer: above wt_h3; below
 * wt_engine. */
#ifndef WT_CONN_H
#define WT_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "wt_ctx.h"
#include "wt_dgram.h"
#include "wt_h3.h"
#include "wt_session.h"
#include "wt_stream.h"

/* Server connection for the Initial hd. odcid: the client's original DCID
 * when hd carries a valid Retry token (hd->dcid is then our Retry SCID),
 * else NULL. token_type: an ngtcp2_token_type for the token in hd. */
int wt_conn_server_new(wt_conn **out, wt_engine *e, const wt_path *path, const ngtcp2_pkt_hd *hd,
                       const ngtcp2_cid *odcid, int token_type);
int wt_conn_client_new(wt_conn **out, wt_engine *e, const wt_path *path, const char *server_name);
void wt_conn_free(wt_conn *c, int notify); /* notify: run app callbacks for what is still open */
/* The one transition function of wt_conn.state: asserts the move is legal
 * (HANDSHAKE -> OPEN -> CLOSING | DRAINING -> DEAD, any live state -> DEAD),
 * logs it and counts it (e->conn_entered). DEAD -> DEAD is a no-op. */
void wt_conn_set_state(wt_conn *c, int to);
/* Process one packet for c (marks c dirty). */
void wt_conn_recv(wt_conn *c, const wt_path *path, const uint8_t *pkt, size_t len, uint8_t ecn);
/* Write up to one GSO run into out; returns 1 if c may have more to send now. */
int wt_conn_write(wt_conn *c, wt_tx_batch *out);
void wt_conn_handle_expiry(wt_conn *c);
uint64_t wt_conn_expiry(wt_conn *c);
/* Start closing: liberr (ngtcp2 error) or an application (H3) error. */
void wt_conn_close_liberr(wt_conn *c, int liberr);
/* Reset the sending part of stream id with h3_code, still delivering its
 * first keep bytes (already handed to ngtcp2) reliably when the linked
 * ngtcp2 and the peer support RESET_STREAM_AT (docs/protocol.md section
 * 2); else a plain RESET_STREAM. Returns ngtcp2's result. */
int wt_conn_reset_stream_keep(wt_conn *c, int64_t id, uint64_t h3_code, uint64_t keep);
/* 1 when a reset can keep bytes deliverable: the linked ngtcp2 carries
 * RESET_STREAM_AT and the peer advertised reset_stream_at. */
int wt_conn_peer_reset_at(wt_conn *c);
/* Apply a close requested by wt_ctx_close_request (end of the engine
 * operation, outside library callbacks). */
void wt_conn_apply_close(wt_conn *c);
/* Free garbage streams/sessions; returns 1 if the conn is dead. */
int wt_conn_gc(wt_conn *c);

#endif
