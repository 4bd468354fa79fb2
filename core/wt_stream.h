/* wt_stream.h: WebTransport streams (draft-ietf-webtrans-http3 section 4):
 * the stream object, the demux of peer streams (a WT stream header or
 * HTTP/3), buffering of bytes that arrive before their session, receive
 * flow-control credit (automatic or manual), the send side, and the public
 * wt_stream_* API of wt_engine.h.
 *
 * Ownership: a stream belongs to its connection (c->streams) from creation
 * until wt_stream_free; a session only lists the streams it owns
 * (s_link). Streams come from the engine's pool. A stream is never freed
 * inside a library callback: wt_stream_abort/on_close put it on
 * c->gc_streams and wt_conn_gc frees it. The app's handle is valid while
 * app_visible is set (until stream_close returns).
 *
 * Threading: the engine's thread (wt_engine.h). Layer: above wt_dgram and
 * wt_ctx; does not know sessions beyond the pointer it keeps (wt_session
 * decides where a stream belongs). */
#ifndef WT_STREAM_H
#define WT_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "wt_ctx.h"
#include "wt_sfc.h"
#include "wt_stream_hdr.h"

/* wt_stream.kind */
enum {
  WT_SK_PENDING = 0, /* peer stream, first bytes not yet classified */
  WT_SK_WT,          /* WebTransport stream */
  WT_SK_ZOMBIE,      /* WT stream the app no longer sees; waits for ngtcp2 to close it */
};

struct wt_stream {
  wt_conn *c;
  wt_session *s; /* NULL while buffered (session unknown) or after detach */
  int64_t id;
  uint64_t session_id;
  uint8_t kind;
  uint8_t bidi, local;
  uint8_t app_visible; /* app holds the handle (stream_close not yet called) */
  uint8_t q_closed;    /* ngtcp2 closed the stream */
  uint8_t buffered;    /* on c->buffered_streams waiting for its session */
  uint8_t gc;          /* on the garbage list */
  /* receive side */
  uint8_t rx_done; /* fin delivered, reset received or STOP_SENDING sent (or send-only) */
  uint8_t rx_fin;  /* fin received (buffered streams) */
  /* send side */
  uint8_t tx_done;          /* fin sent, reset sent or receive-only */
  uint8_t tx_fin;           /* app asked for fin */
  uint8_t in_sendq;         /* on c->sendq */
  uint8_t blocked;          /* ngtcp2 said STREAM_DATA_BLOCKED */
  uint8_t want_wake;        /* write returned AGAIN: call stream_writable when below half */
  uint8_t stop_notify;      /* peer STOP_SENDING seen; app not told yet */
  uint8_t stop_told;        /* stream_stop was called */
  uint64_t peer_reset_code; /* raw H3 code of the peer's RESET_STREAM, UINT64_MAX = none */
  uint64_t peer_stop_code;  /* raw H3 code of the peer's STOP_SENDING, UINT64_MAX = unknown */
  wt_stream_hdr hdr;        /* PENDING: the demux prefix */
  wt_sendbuf sb;            /* outgoing bytes (WT header first for local streams) */
  uint8_t tx_hdr_len;       /* local streams: bytes of that header */
  uint8_t *rbuf;            /* buffered: payload received before the session was known */
  size_t rlen, rcap;        /* rcap counts in c->buffered_bytes */
  uint64_t buffered_at;     /* when it was buffered (buffered_timeout_ns) */
  uint64_t uncredited;   /* bytes delivered by ngtcp2 whose flow-control credit is not returned */
  uint64_t mem_owed;     /* stream credit withheld under memory pressure (wt_stream_mem_repay) */
  uint64_t mem_rx;       /* unconsumed bytes attributed to c->mem (rx_attr_sync) */
  uint8_t manual_credit; /* wt_stream_set_manual_credit: credit waits for wt_stream_consume */
  uint64_t unconsumed;   /* manual: bytes given to the app whose credit is not returned yet */
  /* session flow control: the session's accounting while attached (NULL
   * when detached or off); fc_hold: WT_SFC_HOLD_* (on fc->waitq by fc_link) */
  wt_sfc *fc;
  uint8_t fc_hold;
  uint8_t fc_closed; /* counted as closed in fc (peer streams) */
  wt_list_node fc_link;
  /* wt_stream_reset_at waiting for its kept bytes to reach ngtcp2 (1) or
   * due at the end of the write run (2, counted in c->n_reset_due) */
  uint8_t reset_at_state;
  uint64_t reset_at_code; /* its H3 code */
  uint64_t reset_at_size; /* its Reliable Size (a stream offset, WT header included) */

  void *user;
  wt_list_node s_link;   /* session's streams or c->buffered_streams */
  wt_list_node q_link;   /* c->sendq */
  wt_list_node all_link; /* c->streams */
  wt_list_node gc_link;  /* c->gc_streams */
};

/* ---- creation and teardown */

/* A peer stream seen for the first time (kind PENDING), registered as
 * ngtcp2's stream user data. NULL on OOM. */
wt_stream *wt_stream_new_peer(wt_conn *c, int64_t sid);
/* Open a local WT stream of session_id with its WT header queued (not yet
 * attached to a session: wt_stream_attach). Returns 0, WT_ERR_AGAIN (the
 * peer's stream credit is exhausted), WT_ERR_STATE or WT_ERR_NOMEM. */
int wt_stream_new_local(wt_conn *c, uint64_t session_id, int bidi, wt_stream **out);
void wt_stream_free(wt_stream *st);
/* Abort both directions with h3_code and make the stream a zombie (the app
 * hears stream_close; docs/protocol.md section 4: SESSION_GONE;
 * section 4 buffering: BUFFERED_STREAM_REJECTED). */
void wt_stream_abort(wt_stream *st, uint64_t h3_code);

/* ---- peer stream demux */

enum {
  WT_STREAM_RX_MORE = 0, /* header incomplete: wait for more bytes */
  WT_STREAM_RX_H3,       /* HTTP/3 stream: hand it (with data) to wt_h3_take_stream */
  WT_STREAM_RX_H3_END,   /* ended before a decision: hand it to HTTP/3 without data */
  WT_STREAM_RX_WT,       /* WT stream: route it to its session, then deliver the rest */
  WT_STREAM_RX_DROP,     /* bad header: the stream was aborted (H3_ID_ERROR) */
};
/* Feed the first bytes of a PENDING stream to its header parser. For
 * WT_STREAM_RX_WT, *consumed bytes of data were the header; the stream is
 * now kind WT with its session_id and the header's credit is returned. */
int wt_stream_classify(wt_stream *st, const uint8_t *data, size_t len, int fin, size_t *consumed);
/* Stream bytes for a classified stream: to the app, held while the stream
 * waits for its session, or (zombie, receive side done) credited away. */
void wt_stream_deliver(wt_stream *st, const uint8_t *data, size_t len, int fin);
/* Hold the stream on c->buffered_streams until its session opens. */
void wt_stream_buffer(wt_stream *st);
/* Take the stream off c->buffered_streams (no-op if not there). */
void wt_stream_unbuffer(wt_stream *st);
/* Give the stream to session s: it goes on list (the session's streams),
 * the app sees it from now on (counted as opened/active). */
void wt_stream_attach(wt_stream *st, wt_session *s, wt_list_node *list);
/* After a buffered stream was attached: hand the bytes held for it to the
 * app (draft-ietf-webtrans-http3 section 4.6); a stream ngtcp2 already
 * closed is closed for the app too. */
void wt_stream_replay(wt_stream *st);

/* Hold st (WT_SFC_HOLD_STREAM or _DATA) on fc->waitq: it is taken off the
 * send queue until wt_stream_fc_release. Counts the blocked time start. */
void wt_stream_fc_hold(wt_stream *st, int why);
/* Stop holding st and queue it if it has something to send. */
void wt_stream_fc_release(wt_stream *st);

/* ---- events from the QUIC connection */

void wt_stream_on_reset(wt_stream *st, uint64_t h3_code);
/* The peer sent STOP_SENDING (seen as STREAM_SHUT_WR): mark it; the app is
 * told by wt_stream_notify_stops() outside the packet write loop. */
void wt_stream_peer_stopped(wt_stream *st);
void wt_stream_notify_stops(wt_conn *c);
/* Send the wt_stream_reset_at resets that became due during the write run
 * (their kept bytes reached ngtcp2), outside ngtcp2's write callbacks.
 * Returns 1 if it reset any (there is more to write). */
int wt_stream_run_resets(wt_conn *c);
void wt_stream_on_close(wt_stream *st, uint64_t h3_code, int has_code);
void wt_stream_on_acked(wt_stream *st, uint64_t datalen);
/* ngtcp2 took n of the total bytes offered (fin: with the fin). */
void wt_stream_on_written(wt_stream *st, size_t n, size_t total, int fin);
/* ngtcp2 refused to write: flow control (shut = 0) or the send side is
 * gone (shut = 1, the peer's STOP_SENDING). */
void wt_stream_on_blocked(wt_stream *st, int shut);
/* The peer extended the stream's flow-control window. */
void wt_stream_on_unblocked(wt_stream *st);

/* Grant every stream of c and c itself the receive credit withheld while
 * wt_engine_mem_hold(c) was true (streams ngtcp2 closed meanwhile lose
 * theirs; the connection's share is granted anyway). */
void wt_stream_mem_repay(wt_conn *c);

#endif
