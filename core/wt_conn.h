/* wt_conn.h: engine internals shared by wt_engine.c, wt_conn.c, wt_h3.c and
 * wt_session.c (not a public header: the server loop uses wt_engine.h).
 *
 * Ownership: the engine owns its connections; a connection owns its
 * ngtcp2/nghttp3/wolfSSL objects, its sessions and its streams. Sessions and
 * streams are never freed inside a library callback: they go to the
 * connection's garbage list and are freed by wt_conn_gc() at the end of the
 * engine entry point. A dead connection is likewise freed there. */
#ifndef WT_CONN_H
#define WT_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include "wt_capsule.h"
#include "wt_cid.h"
#include "wt_engine.h"
#include "wt_hmap.h"
#include "wt_pool.h"
#include "wt_sendbuf.h"
#include "wt_settings.h"
#include "wt_stream_hdr.h"
#include "wt_tls.h"

/* ---------------------------------------------------------------- lists */

typedef struct wt_link {
  struct wt_link *next, *prev;
} wt_link;

static inline void wt_list_init(wt_link *h) {
  h->next = h->prev = h;
}
static inline int wt_list_empty(const wt_link *h) {
  return h->next == h;
}
static inline int wt_link_linked(const wt_link *l) {
  return l->next != NULL;
}
static inline void wt_list_push(wt_link *h, wt_link *l) { /* at the tail */
  l->prev = h->prev;
  l->next = h;
  h->prev->next = l;
  h->prev = l;
}
static inline void wt_list_del(wt_link *l) {
  if (l->next) {
    l->prev->next = l->next;
    l->next->prev = l->prev;
    l->next = l->prev = NULL;
  }
}
#define wt_container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

/* ---------------------------------------------------------------- streams */

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
  size_t rlen, rcap;
  uint64_t uncredited;   /* bytes delivered by ngtcp2 whose flow-control credit is not returned */
  uint8_t manual_credit; /* wt_stream_set_manual_credit: credit waits for wt_stream_consume */
  uint64_t unconsumed;   /* manual: bytes given to the app whose credit is not returned yet */
  void *user;
  wt_link s_link;   /* session's streams or c->buffered_streams */
  wt_link q_link;   /* c->sendq */
  wt_link all_link; /* c->streams */
  wt_link gc_link;  /* c->gc_streams */
};

/* ---------------------------------------------------------------- sessions */

enum {
  WT_SS_REQUEST = 0, /* server: headers being received; client: waiting for SETTINGS */
  WT_SS_SENT,        /* client: CONNECT sent, waiting for the response */
  WT_SS_OPEN,
  WT_SS_CLOSED,  /* ended; the CONNECT stream may still be finishing */
  WT_SS_REFUSED, /* server: non-200 sent or rejected; client: non-200 received */
};

struct wt_session {
  wt_conn *c;
  int64_t id; /* CONNECT stream ID; -1 until the client opened it */
  int state;
  char *method, *protocol, *scheme, *authority, *path, *origin;
  int status;
  uint8_t app_open;     /* session_open was called: session_close is owed */
  uint8_t h3_closed;    /* nghttp3 closed the CONNECT stream */
  uint8_t gc;           /* on the garbage list */
  uint8_t cap_fin;      /* FIN after the queued capsules */
  uint8_t close_sent;   /* we queued a CLOSE capsule */
  uint8_t h3_submitted; /* a request/response with our data reader was submitted */
  uint8_t drain_sent;
  uint8_t drain_told;       /* session_drain was called (GOAWAY or DRAIN capsule) */
  uint8_t deferred;         /* server: session_request deferred, wt_session_respond due
                               (state stays WT_SS_REQUEST) */
  uint64_t close_end;       /* offset in cap_out just past our CLOSE capsule */
  uint64_t peer_reset_code; /* raw H3 code of the peer's reset of the CONNECT stream,
                               UINT64_MAX = none */
  wt_capsule_parser cp;
  wt_sendbuf cap_out;
  void *user;
  wt_link streams; /* wt_stream.s_link */
  wt_link link;    /* c->sessions */
  wt_link gc_link; /* c->gc_sessions */
};

/* ---------------------------------------------------------------- conns */

enum {
  WT_CS_HANDSHAKE = 0,
  WT_CS_OPEN,
  WT_CS_CLOSING,  /* we sent CONNECTION_CLOSE (RFC 9000 section 10.2.1) */
  WT_CS_DRAINING, /* peer sent CONNECTION_CLOSE (section 10.2.2) */
  WT_CS_DEAD,     /* to be freed at the end of the entry point */
};

typedef struct wt_dgram {
  wt_ref ref; /* first (freed as a wt_ref): is_ref datagrams reference their payload */
  struct wt_dgram *next;
  uint64_t session_id;
  uint8_t is_ref; /* payload in ref.data/ref.len, data[] holds only the prefix */
  size_t len;     /* bytes in data[] */
  uint8_t data[];
} wt_dgram;

#define WT_CLOSED_IDS 32

/* Crypto data of one encryption level on its way to wolfSSL: a handshake
 * message header (4 bytes) split at the end of what ngtcp2 delivered is
 * held back (see cb_recv_crypto_data in wt_conn.c). */
typedef struct wt_crypto_rx {
  uint8_t hdr[4];
  uint8_t n;          /* held-back header bytes */
  uint32_t body_left; /* body bytes of the current message still to come */
} wt_crypto_rx;

#define WT_CRYPTO_LEVELS 4 /* ngtcp2_encryption_level: initial, handshake, 1-RTT, 0-RTT */

typedef struct wt_cid_rec {
  uint8_t len;
  uint8_t data[WT_CID_MAXLEN];
} wt_cid_rec;

struct wt_conn {
  wt_engine *e;
  ngtcp2_conn *qc;
  ngtcp2_crypto_conn_ref conn_ref;
  WOLFSSL *ssl;
  nghttp3_conn *h3;
  wt_path path;
  int is_server;
  int state;
  int handshake_done;
  void *user;
  char *server_name; /* client */
  uint64_t ip_key;   /* server: its engine per_ip key while counted there, else 0 */
  wt_crypto_rx crx[WT_CRYPTO_LEVELS];

  /* CIDs registered in the engine table (removed when the conn is freed) */
  wt_cid_rec *cids;
  size_t ncids, cidcap;

  /* closing / draining */
  uint64_t close_deadline;
  uint8_t *close_pkt;
  size_t close_pktlen;
  int close_send; /* the close packet is to be (re)sent */
  uint64_t err_code;
  int err_is_app;
  int err_set;
  int close_req; /* wt_conn_close_app was called; not applied yet */
  uint64_t close_req_code;
  /* server: our CLOSE capsule was acked and no session is left; close the
   * connection at this time unless the peer closes first (0 = not armed) */
  uint64_t grace_deadline;
  int stateless_reset; /* the peer sent a stateless reset */
  int hs_counted;      /* counted in e->n_handshaking */
  /* qlog (wt_engine_config.qlog_write): this connection is traced */
  int qlog_on, qlog_fin;
  char qlog_name[2 * WT_CID_MAXLEN + 1];

  /* our control stream, taken over from nghttp3 (docs/protocol.md 6.2) */
  int64_t ctrl_sid, qenc_sid, qdec_sid;
  wt_ctrl_rewriter rw;
  wt_sendbuf ctrl_out;
  int ctrl_blocked;
  /* the peer's control stream, observed */
  int64_t peer_ctrl_sid;
  wt_ctrl_reader rd;
  int peer_settings; /* 1: peer SETTINGS received (nghttp3 recv_settings) */
  int peer_connect_ok;
  uint8_t h3_mark, h3_ctrl_mark; /* stream user data of HTTP/3 streams */
  int goaway_sent, goaway_recv;

  wt_link sessions;
  uint32_t n_open_sessions;
  uint32_t n_pending_sessions; /* server: deferred, waiting for wt_session_respond */
  wt_link streams;             /* every wt_stream */
  wt_link sendq;               /* streams with unsent data */
  wt_link buffered_streams;    /* WT streams waiting for their session */
  uint32_t n_buffered_streams;
  wt_dgram *bdg_head, *bdg_tail; /* datagrams waiting for their session */
  uint32_t n_buffered_dgrams;
  wt_dgram *dq_head, *dq_tail; /* outgoing datagrams */
  uint32_t dq_len;
  uint32_t dq_tries;
  uint64_t closed_ids[WT_CLOSED_IDS]; /* recently ended session IDs (late streams get
                                         SESSION_GONE instead of being buffered) */
  uint32_t n_closed_ids;
  uint32_t n_stop_notify; /* streams with stop_notify set */
  wt_link gc_streams, gc_sessions;

  /* engine scheduling */
  wt_link all_link; /* e->conns */
  int dirty;        /* on e->dirty */
  wt_link dirty_link;
  size_t heap_idx; /* position in e->heap, SIZE_MAX if absent */
  uint64_t expiry;
  int in_callback; /* depth guard */
};

/* ---------------------------------------------------------------- engine */

typedef struct wt_stateless_pkt {
  wt_path path;
  size_t len;
  uint8_t data[1500];
} wt_stateless_pkt;

#define WT_STATELESS_MAX 64

struct wt_engine {
  wt_engine_config cfg;
  wt_engine_callbacks cb;
  void *user;
  wt_tls_ctx *tls;
  wt_pool stream_pool; /* wt_stream objects */
  uint8_t secret[32];
  wt_cid_table cids;
  wt_link conns;
  size_t n_conns;
  wt_link dirty;
  wt_conn **heap;
  size_t heap_n, heap_cap;
  wt_stateless_pkt *sl; /* stateless replies (version negotiation, reset, refusal) */
  size_t sl_n;
  size_t n_handshaking;  /* server conns whose handshake is in progress (Retry AUTO) */
  wt_hmap per_ip;        /* server: source key -> live conns (max_conns_per_ip) */
  uint32_t sr_tokens;    /* stateless reset rate limit: token bucket ... */
  uint64_t sr_refill_at; /* ... refilled at this time */
  wt_engine_stats st;
  wt_relq relq; /* releases of referenced bytes, run at the end of entry points */
  int shutting_down;
  uint64_t now;
  uint64_t qlog_seq; /* server connections seen by the qlog sampler */
};

/* ---------------------------------------------------------------- wt_engine.c */
/* Run the releases that became due (end of every engine entry point). */
void wt_engine_run_releases(wt_engine *e);
void wt_engine_mark_dirty(wt_engine *e, wt_conn *c);
void wt_engine_conn_unlink(wt_engine *e, wt_conn *c); /* from dirty list, heap, conns */
int wt_engine_cid_add(wt_engine *e, wt_conn *c, const uint8_t *cid, size_t len);
void wt_engine_cid_remove(wt_engine *e, wt_conn *c, const uint8_t *cid, size_t len);
int wt_engine_rand(wt_engine *e, uint8_t *out, size_t len);
/* New server CID (shard rule) + its stateless reset token. */
int wt_engine_new_cid(wt_engine *e, uint8_t *cid, size_t len, uint8_t *token);

/* ---------------------------------------------------------------- wt_conn.c */
/* Server connection for the Initial hd. odcid: the client's original DCID
 * when hd carries a valid Retry token (hd->dcid is then our Retry SCID),
 * else NULL. token_type: an ngtcp2_token_type for the token in hd. */
int wt_conn_server_new(wt_conn **out, wt_engine *e, const wt_path *path, const ngtcp2_pkt_hd *hd,
                       const ngtcp2_cid *odcid, int token_type);
int wt_conn_client_new(wt_conn **out, wt_engine *e, const wt_path *path, const char *server_name);
void wt_conn_free(wt_conn *c, int notify); /* notify: run app callbacks for what is still open */
/* Process one packet for c (marks c dirty). */
void wt_conn_recv(wt_conn *c, const wt_path *path, const uint8_t *pkt, size_t len, uint8_t ecn);
/* Write up to one GSO run into out; returns 1 if c may have more to send now. */
int wt_conn_write(wt_conn *c, wt_tx_batch *out);
void wt_conn_handle_expiry(wt_conn *c);
uint64_t wt_conn_expiry(wt_conn *c);
/* Start closing: liberr (ngtcp2 error) or an application (H3) error. */
void wt_conn_close_liberr(wt_conn *c, int liberr);
/* Request a close with an HTTP/3 code; safe inside callbacks (applied by
 * wt_conn_apply_close at the end of the engine operation). */
void wt_conn_close_app(wt_conn *c, uint64_t h3_code);
void wt_conn_apply_close(wt_conn *c);
/* Feed len bytes of one level's CRYPTO stream (in order). Returns how many
 * leading bytes of data may go to wolfSSL now, preceded by the *nheld bytes
 * copied to held (a header held back earlier); a header still incomplete at
 * the end of data is kept in r. */
size_t wt_crypto_rx_feed(wt_crypto_rx *r, const uint8_t *data, size_t len, uint8_t held[4],
                         size_t *nheld);
/* Server: our CLOSE capsule was acknowledged; arm the close grace timer if
 * no session is left (wt_engine_config.close_grace_ns). */
void wt_conn_session_close_acked(wt_conn *c);
/* Server: the peer ended a session (CLOSE capsule, FIN or reset of the
 * CONNECT stream); arm the same close grace timer if no session is left or
 * pending. No-op on a client. */
void wt_conn_session_ended_by_peer(wt_conn *c);
/* Server: a new session request arrived: cancel the close grace timer. */
void wt_conn_session_requested(wt_conn *c);
/* The handshake of a server conn ended (done or conn freed). */
void wt_conn_uncount_handshake(wt_conn *c);
/* Free garbage streams/sessions; returns 1 if the conn is dead. */
int wt_conn_gc(wt_conn *c);

/* ---------------------------------------------------------------- wt_h3.c */
int wt_h3_setup(wt_conn *c);
/* Hand stream bytes to nghttp3 (flow-control credit included). */
int wt_h3_read(wt_conn *c, int64_t sid, const uint8_t *data, size_t len, int fin);
/* Feed the peer's control stream copy to the SETTINGS reader. */
int wt_h3_observe_ctrl(wt_conn *c, const uint8_t *data, size_t len);
/* Take over nghttp3's control stream output. */
int wt_h3_take_ctrl(wt_conn *c, const nghttp3_vec *v, size_t n);
/* Client: send the CONNECT of every session waiting for SETTINGS/credit. */
void wt_h3_pump_requests(wt_conn *c);
void wt_h3_session_resume(wt_session *s); /* nghttp3_conn_resume_stream after a capsule */
void wt_h3_shutdown(wt_conn *c);          /* GOAWAY */
/* Server: submit the response to the CONNECT of s (200 with our capsule
 * reader as body, else headers + FIN). Returns 0 or an nghttp3 error. */
int wt_h3_respond(wt_conn *c, wt_session *s, int status);

/* ---------------------------------------------------------------- wt_session.c */
wt_session *wt_session_alloc(wt_conn *c, int64_t id);
void wt_session_gc_free(wt_session *s);
wt_session *wt_conn_find_session(wt_conn *c, int64_t id);
/* The session became open: session_open, then its buffered streams/datagrams. */
void wt_session_opened(wt_session *s);
/* End the session once (docs/protocol.md section 4). */
void wt_session_end(wt_session *s, uint32_t code, const uint8_t *reason, size_t reason_len,
                    int clean);
void wt_session_refused_client(wt_session *s, int status);
/* Tell the app the peer wants the session to end (once per session). */
void wt_session_drained(wt_session *s);
/* Capsule bytes from the CONNECT stream. */
void wt_session_recv_capsules(wt_session *s, const uint8_t *data, size_t len);
/* Reset the CONNECT stream with h3_code and end the session (clean = 0). */
void wt_session_abort(wt_session *s, uint64_t h3_code);
int wt_session_queue_capsule(wt_session *s, const uint8_t *data, size_t len, int fin);
/* Server: a deferred session stops waiting for wt_session_respond because
 * the engine gives up on it: answer status (0: no answer, the CONNECT
 * stream is gone or reset by us with H3_REQUEST_CANCELLED when reset is
 * set), reject what was buffered for it, call session_close(clean = 0). */
void wt_session_pending_end(wt_session *s, int status, int reset);
/* Free a datagram node (a referencing one is released through e->relq). */
void wt_dgram_free(wt_engine *e, wt_dgram *d);

/* Peer stream demux: data for a stream whose user data is st (PENDING/WT/ZOMBIE). */
int wt_stream_recv(wt_conn *c, wt_stream *st, const uint8_t *data, size_t len, int fin);
wt_stream *wt_stream_new_peer(wt_conn *c, int64_t sid);
void wt_stream_on_reset(wt_stream *st, uint64_t h3_code);
/* The peer sent STOP_SENDING (seen as STREAM_SHUT_WR): mark it; the app is
 * told by wt_conn_notify_stops() outside the packet write loop. */
void wt_stream_peer_stopped(wt_stream *st);
void wt_conn_notify_stops(wt_conn *c);
void wt_stream_on_close(wt_stream *st, uint64_t h3_code, int has_code);
void wt_stream_on_acked(wt_stream *st, uint64_t datalen);
void wt_stream_free(wt_stream *st);
void wt_conn_recv_datagram(wt_conn *c, const uint8_t *data, size_t len);
void wt_conn_drop_dgrams(wt_conn *c, uint64_t session_id);

/* The connection's name in log lines (conn=...): its original DCID in hex,
 * the same name as its qlog file; "-" before it is known. */
#define CONN_ID(c) ((c)->qlog_name[0] ? (c)->qlog_name : "-")

#endif
