/* wt_h3.h: the HTTP/3 layer of a connection (nghttp3, RFC 9114) and the
 * WebTransport parts around it: our control stream taken over from
 * nghttp3 so the WT SETTINGS can be appended (docs/protocol.md section
 * 6.2), the peer's SETTINGS observed, HTTP/3 streams handed over by the
 * stream demux, GOAWAY, and the extended CONNECT (RFC 9220,
 * draft-ietf-webtrans-http3 section 3) on both sides: the server's request
 * checks and the client's CONNECTs.
 *
 * Ownership: the connection owns its nghttp3_conn (c->h3, created by
 * wt_h3_setup, freed with the connection). nghttp3's stream user data of a
 * CONNECT stream is its wt_session (owned by the connection).
 *
 * Errors: a failing function records the HTTP/3 close code in the
 * connection (wt_ctx_set_error) and returns -1; the caller fails the
 * ngtcp2 callback, which closes the connection with that code.
 *
 * Threading: the engine's thread (wt_engine.h). Layer: above wt_session;
 * below wt_conn (whose ngtcp2 callbacks feed it). */
#ifndef WT_H3_H
#define WT_H3_H

#include <stddef.h>
#include <stdint.h>

#include "wt_ctx.h"

/* Create the nghttp3 connection (no QPACK dynamic table either way), open
 * our control stream and bind nghttp3's QPACK streams to stream IDs that
 * are never opened (once; 0 if already done). */
int wt_h3_setup(wt_conn *c);
/* Flow-control credit of the bytes HTTP/3 consumed on a stream (the control, QPACK and
 * request/CONNECT streams; capsules included) goes back to the peer. The
 * connection's share always does: these bytes are not kept, and the
 * connection window must stay open for a CLOSE_WEBTRANSPORT_SESSION. The
 * stream's share is withheld while c's credit is (wt_engine_mem_withhold),
 * at most 3/4 of its window less WT_H3_CREDIT_FLOOR (ngtcp2 announces
 * credit once a quarter of the window built up), so that the peer always
 * sees WT_H3_CREDIT_FLOOR bytes of it open (a
 * whole CLOSE_WEBTRANSPORT_SESSION capsule: 1,024 bytes of reason + code +
 * capsule and DATA frame headers; or a GOAWAY on the control stream),
 * counted mem_h3_credit_withheld once per stream per episode; repaid by
 * wt_h3_mem_repay (the budget check, when the episode ends). */
#define WT_H3_CREDIT_FLOOR 4096
void wt_h3_mem_repay(wt_conn *c);
/* Hand stream bytes to nghttp3 (flow-control credit included). */
int wt_h3_read(wt_conn *c, int64_t sid, const uint8_t *data, size_t len, int fin);
/* Feed the peer's control stream copy to the SETTINGS reader. */
int wt_h3_observe_ctrl(wt_conn *c, const uint8_t *data, size_t len);
/* Take over nghttp3's control stream output. */
int wt_h3_take_ctrl(wt_conn *c, const nghttp3_vec *v, size_t n);
/* nghttp3 wrote v[0..n) on the QPACK encoder or decoder stream sid
 * (c->qenc_sid / c->qdec_sid): tell nghttp3 the bytes were sent and
 * acknowledged, and send nothing (docs/protocol.md section 6.2). Counted
 * in c->qenc_bytes / c->qdec_bytes; more than the stream type byte on the
 * encoder stream fails the connection (H3_INTERNAL_ERROR, -1). */
int wt_h3_drop_qpack(wt_conn *c, int64_t sid, const nghttp3_vec *v, size_t n);
/* The stream demux found st to be an HTTP/3 stream (wt_stream_classify):
 * free st, mark the QUIC stream as HTTP/3 and replay its prefix, then
 * data, to nghttp3 (docs/protocol.md section 6.1). */
int wt_h3_take_stream(wt_conn *c, wt_stream *st, const uint8_t *data, size_t len, int fin);
/* Client: send the CONNECT of every session waiting for SETTINGS/credit. */
void wt_h3_pump_requests(wt_conn *c);
/* Server: the CONNECTs held for the client's SETTINGS waited
 * settings_wait_ns (c->settings_deadline): refuse them. */
void wt_h3_settings_expired(wt_conn *c);
/* Server: GOAWAY (RFC 9114 section 5.2). */
void wt_h3_shutdown(wt_conn *c);

#endif
