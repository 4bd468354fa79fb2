/* wt_ctx.h: the engine context every core module shares (internal: the
 * rest of the tree uses wt_engine.h).
 *
 * What is here: the state of one engine (struct wt_engine) and of one
 * connection (struct wt_conn) as data, the intrusive lists that tie
 * objects to them, and the few operations every module needs on them:
 * scheduling a connection for output (wt_ctx_mark_dirty), requesting a
 * close, the close grace timer, CIDs and randomness, and the wt_ctx_call_*
 * wrappers through which every wt_engine_callbacks callback is invoked
 * (NULL check and result mapping in one place, as nghttp3's conn_call_*).
 * The modules on top, in layer order: wt_dgram (datagram queues),
 * wt_stream (WT streams: demux, credit, send side), wt_session (the
 * session state machine), wt_h3 (HTTP/3 glue, extended CONNECT), wt_conn
 * (one QUIC connection: ngtcp2 callbacks, receive, write loop, closing),
 * wt_engine (entry points, dispatch, timers). A module calls only modules
 * below it; this header calls none of them.
 *
 * Ownership: the engine owns its connections; a connection owns its
 * ngtcp2/nghttp3/wolfSSL objects, its sessions, its streams and its
 * datagram queues. Sessions and streams are never freed inside a library
 * callback: they go to the connection's garbage lists and are freed by
 * wt_conn_gc() at the end of the engine entry point. A dead connection is
 * likewise freed there.
 *
 * Threading: everything here belongs to the engine's thread (wt_engine.h). */
#ifndef WT_CTX_H
#define WT_CTX_H

#include <stddef.h>
#include <stdint.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include "wt_cid.h"
#include "wt_crypto.h"
#include "wt_dlist.h"
#include "wt_engine.h"
#include "wt_hmap.h"
#include "wt_pool.h"
#include "wt_sendbuf.h"
#include "wt_settings.h"
#include "wt_tls.h"

/* ---------------------------------------------------------------- conns */

typedef struct wt_dgram wt_dgram; /* wt_dgram.h */

/* wt_conn.state, written only by wt_conn_set_state (wt_conn.h). Moves:
 * HANDSHAKE -> OPEN -> CLOSING | DRAINING -> DEAD; any state may go to DEAD
 * (idle timeout, fatal error). */
enum {
  WT_CS_HANDSHAKE = 0,
  WT_CS_OPEN,
  WT_CS_CLOSING,  /* we sent CONNECTION_CLOSE (RFC 9000 section 10.2.1) */
  WT_CS_DRAINING, /* peer sent CONNECTION_CLOSE (section 10.2.2) */
  WT_CS_DEAD,     /* to be freed at the end of the entry point */
  WT_CS_COUNT
};

#define WT_CLOSED_IDS 32
/* HTTP/3 streams of one connection whose credit may be withheld at once
 * (control + 16 CONNECT + spare); past it credit is granted */
#define WT_H3_OWED_SLOTS 20

/* Bytes of a server connection's qlog held until its handshake completes
 * (wt_conn.c conn_qlog_write): a handshake's trace is a few KB. */
#define WT_QLOG_HOLD_MAX 16384

typedef struct wt_cid_rec {
  uint8_t len;
  uint8_t data[WT_CID_MAXLEN];
} wt_cid_rec;

/* One QUIC connection. The groups of fields are each written by one
 * module (named in the group's comment); others only read them. */
struct wt_conn {
  /* wt_conn: the transport */
  wt_engine *e;
  ngtcp2_conn *qc;
  ngtcp2_crypto_conn_ref conn_ref;
  WOLFSSL *ssl; /* server: NULL once the handshake is complete (conn_tls_release) */
  wt_path path;
  int is_server;
  int profile; /* WT_PROFILE_* it speaks: the engine's, DRAFT02 for a server engine's client */
  int state;   /* WT_CS_*, written only by wt_conn_set_state */
  int handshake_done;
  void *user;
  char *server_name; /* client */
  uint64_t ip_key;   /* server: its engine per_ip key while counted there, else 0 (wt_engine) */
  /* memory budget (core/base/wt_mem.h, wt_engine mem_*): what this
   * connection holds (parent: its source address's account, server only,
   * from accept until the connection is freed); receive credit owed while
   * held back; when it went over its own or its address's budget (0: not
   * over) */
  wt_mem_acct mem;
  /* ngtcp2's and nghttp3's allocators for this connection: they count
   * into mem (wt_mem_acct_malloc...); the libraries keep these pointers, so
   * they live as long as the connection */
  ngtcp2_mem qmem;
  nghttp3_mem hmem;
  struct wt_mem_src *mem_src;
  uint64_t mem_owed;
  int mem_holding; /* credit is being withheld (counted once per episode) */
  uint64_t mem_over_since;
  /* the windows granted at accept (wt_engine_grant_windows; a client: the
   * configured ones) and the HTTP/3 streams' credit withheld under
   * pressure, per stream (wt_h3.c h3_credit; sid -1 = free slot) */
  wt_engine_windows win;
  struct {
    int64_t sid;
    uint64_t owed;
  } h3_owed[WT_H3_OWED_SLOTS];
  wt_crypto_rx crx[WT_CRYPTO_LEVELS];

  /* CIDs registered in the engine table (removed when the conn is freed) */
  wt_cid_rec *cids;
  size_t ncids, cidcap;

  /* wt_conn + wt_ctx: closing / draining */
  uint64_t close_deadline;
  uint8_t *close_pkt;
  size_t close_pktlen;
  int close_send;        /* the close packet is to be (re)sent */
  uint32_t closing_rx;   /* packets received while closing */
  uint32_t closing_next; /* the count at which the close packet is sent again */
  uint64_t err_code;
  int err_is_app;
  int err_set;
  int close_req; /* wt_ctx_close_request was called; not applied yet */
  uint64_t close_req_code;
  const char *close_req_reason; /* static string for the CONNECTION_CLOSE, or NULL */
  int close_req_grace;          /* the requested close is the grace close (wt_ctx_close_grace) */
  /* server: our CLOSE capsule was acked and no session is left; close the
   * connection at this time unless the peer closes first (0 = not armed) */
  uint64_t grace_deadline;
  /* server: what the grace close's CONNECTION_CLOSE carries
   * (wt_ctx_note_session_end): the last session to end was closed by our
   * CLOSE capsule with code grace_code (else H3_NO_ERROR and no reason) */
  uint64_t grace_code;
  uint8_t *grace_reason; /* malloc'd, at most WT_CTX_CLOSE_REASON_MAX bytes */
  size_t grace_reason_len;
  int stateless_reset; /* the peer sent a stateless reset */
  int hs_counted;      /* counted in e->n_handshaking */
  /* qlog (wt_engine_config.qlog_write): this connection is traced */
  int qlog_on, qlog_fin;
  char qlog_name[2 * WT_CID_MAXLEN + 1];
  /* a server connection's trace before its handshake completed: held here
   * (malloc'd, grown as needed, at most WT_QLOG_HOLD_MAX bytes; records past that dropped,
   * qlog_held_cut) and handed to qlog_write at completion; freed unwritten
   * if the handshake never completes (wt_conn.c conn_qlog_write) */
  uint8_t *qlog_held;
  size_t qlog_held_len, qlog_held_cap;
  int qlog_held_cut;

  /* wt_h3: our control stream, taken over from nghttp3 (docs/protocol.md 6.2) */
  nghttp3_conn *h3;
  int64_t ctrl_sid;
  /* nghttp3's QPACK streams: bound to IDs never opened on the wire, their
   * bytes dropped (wt_h3_drop_qpack); bytes nghttp3 wrote on each */
  int64_t qenc_sid, qdec_sid;
  uint64_t qenc_bytes, qdec_bytes;
  /* our SETTINGS' rewriter (1.3 KB): allocated at wt_h3_setup, freed once
   * the SETTINGS frame went through (later bytes pass unchanged) */
  wt_ctrl_rewriter *rw;
  wt_sendbuf ctrl_out;
  int ctrl_blocked;
  int ctrl_held; /* test hook: our control stream is not sent (wt_testhook.h) */
  /* the peer's control stream, observed */
  int64_t peer_ctrl_sid;
  wt_ctrl_reader rd;
  int peer_settings; /* 1: peer SETTINGS received (nghttp3 recv_settings) */
  int peer_connect_ok;
  uint8_t h3_mark, h3_ctrl_mark; /* stream user data of HTTP/3 streams */
  int goaway_sent, goaway_recv;
  /* server: CONNECTs held until the client's SETTINGS arrive (draft-16
   * section 3.1); past this time they are refused (0 = none held) */
  uint32_t n_held;
  uint64_t settings_deadline;

  /* wt_session */
  wt_list_node sessions;
  uint32_t n_open_sessions;
  uint32_t n_pending_sessions;        /* server: deferred, waiting for wt_session_respond */
  uint64_t closed_ids[WT_CLOSED_IDS]; /* recently ended session IDs (late streams get
                                         SESSION_GONE instead of being buffered) */
  uint32_t n_closed_ids;
  wt_list_node gc_sessions;
  /* a session's flow control has an update (WT_MAX_*) due or was overrun:
   * wt_session_fc_flush runs before the next write */
  int fc_pending;

  /* wt_stream */
  wt_list_node streams;          /* every wt_stream */
  wt_list_node sendq;            /* streams with unsent data */
  wt_list_node buffered_streams; /* WT streams waiting for their session */
  uint32_t n_buffered_streams;
  uint64_t buffered_bytes;    /* capacity of their buffers (max_buffered_bytes) */
  uint64_t buffered_deadline; /* when the oldest of them for an unknown session
                                 may expire (0: none; may be early, never late) */
  uint32_t n_stop_notify;     /* streams with stop_notify set */
  uint32_t n_reset_due;       /* streams whose wt_stream_reset_at is due (reset_at_state 2) */
  wt_list_node gc_streams;

  /* wt_dgram */
  wt_dgram *bdg_head, *bdg_tail; /* datagrams waiting for their session */
  uint32_t n_buffered_dgrams;
  wt_dgram *dq_head, *dq_tail; /* outgoing datagrams */
  uint32_t dq_len;
  uint32_t dq_tries;

  /* wt_engine: scheduling */
  wt_list_node all_link;    /* e->conns */
  wt_list_node client_link; /* e->clients (client connections only) */
  int dirty;                /* on e->dirty */
  wt_list_node dirty_link;
  size_t heap_idx; /* position in e->heap, SIZE_MAX if absent */
  uint64_t expiry;
};

/* The connection's name in log lines (conn=...) and in the qlog hook: its
 * original DCID in hex (the shard names the file itself); "-" before it is
 * known. */
#define CONN_ID(c) ((c)->qlog_name[0] ? (c)->qlog_name : "-")

/* ---------------------------------------------------------------- engine */

typedef struct wt_stateless_pkt {
  wt_path path;
  size_t len;
  uint8_t data[1500];
} wt_stateless_pkt;

#define WT_STATELESS_MAX 64

#define WT_CTX_SESSION_STATES 8 /* >= the number of WT_SS_* states (wt_session.h) */

struct wt_engine {
  wt_engine_config cfg;
  wt_engine_callbacks cb; /* invoked only through wt_ctx_call_* */
  void *user;
  wt_tls_ctx *tls;
  wt_tls_ctx *tls_client; /* server with a client trust: its client connections' (owned) */
  wt_pool stream_pool;    /* wt_stream objects */
  wt_pool dgram_pool;     /* referenced wt_dgram nodes (wt_dgram.h), up to cfg.dgram_pool_max */
  uint8_t secret[32];
  wt_cid_table cids;
  wt_qlb *qlb;      /* server, cfg.qlb.enabled: the QUIC-LB codec (owned) */
  uint8_t cid_mask; /* the bits of CID byte 0 that name the shard (wt_cid.h) */
  wt_list_node conns;
  wt_list_node clients; /* the client connections (a stateless reset is offered to them) */
  size_t n_conns;
  wt_list_node dirty;
  wt_conn **heap;
  size_t heap_n, heap_cap;
  wt_stateless_pkt *sl; /* stateless replies (version negotiation, reset, refusal) */
  size_t sl_n;
  size_t n_handshaking; /* server conns whose handshake is in progress (Retry AUTO) */
  wt_hmap per_ip;       /* server: source key -> live conns (max_conns_per_ip) */
  /* server: source key -> struct wt_mem_src (its memory account and the
   * connections attributed to it, live or not) */
  wt_hmap per_ip_mem;
  uint64_t mem_next_tick;  /* the memory budget check (wt_engine mem_tick); 0 = off */
  uint64_t mem_next_close; /* earliest time of the next close for the process budget */
  uint32_t sr_tokens;      /* stateless reset rate limit: token bucket ... */
  uint64_t sr_refill_at;   /* ... refilled at this time */
  wt_engine_stats st;
  /* session state transitions, by the state entered (wt_session_set_state) */
  uint64_t session_entered[WT_CTX_SESSION_STATES];
  uint64_t conn_entered[WT_CS_COUNT]; /* same for connections (wt_conn_set_state) */
  wt_relq relq; /* releases of referenced bytes, run at the end of entry points */
  int shutting_down;
  uint64_t now;
  uint64_t qlog_seq;    /* server connections seen by the qlog sampler */
  uint8_t *initial_buf; /* server: scratch for wt_initial_check (grown to the */
  size_t initial_cap;   /* longest Initial datagram seen, freed with e) */
};

/* ---------------------------------------------------------------- operations */

/* c has output or state to look at: put it on the engine's dirty list
 * (wt_engine_write visits only those). No-op for a dead connection. */
void wt_ctx_mark_dirty(wt_conn *c);
/* The connection still takes commands (handshake or open). */
static inline int wt_ctx_conn_usable(const wt_conn *c) {
  return c->state == WT_CS_OPEN || c->state == WT_CS_HANDSHAKE;
}
/* Request a close with an HTTP/3 code; safe inside callbacks (applied by
 * wt_conn_apply_close at the end of the engine operation). */
void wt_ctx_close_request(wt_conn *c, uint64_t h3_code);
/* wt_ctx_close_request whose CONNECTION_CLOSE carries reason (a static
 * string) as its reason phrase. */
void wt_ctx_close_request_reason(wt_conn *c, uint64_t h3_code, const char *reason);
/* Memory budget (wt_engine.c): 1 while c's receive credit is to be withheld
 * (process level NO_CREDIT or above, c over max_conn_bytes, or its source
 * over max_ip_bytes). */
int wt_engine_mem_hold(const wt_conn *c);
/* wt_engine_mem_hold, and when it holds: the connection's withholding
 * episode starts (counted mem_credit_withheld once; the budget check
 * repays when it ends: wt_stream_mem_repay, wt_h3_mem_repay,
 * wt_session_fc_repay). Returns 1 if credit is to be withheld. */
int wt_engine_mem_withhold(wt_conn *c);
/* Run the budget check soon (a connection started having its credit
 * withheld): at rest it runs only once a second. */
void wt_engine_mem_wake(wt_engine *e);
/* c is being freed: its source's account lets it go (after every buffer of
 * c was freed). */
void wt_engine_mem_detach(wt_conn *c);
/* Server: the close grace timer expired with no session left: request the
 * close with what wt_ctx_note_session_end recorded (code and reason). */
void wt_ctx_close_grace(wt_conn *c);
/* Server: c stops counting toward its source's max_conns_per_ip (it is
 * closing, draining or gone: only live connections count). Idempotent. */
void wt_ctx_ip_detach(wt_conn *c);
/* Record h3_code as the connection's close code unless one is set (the
 * failing library call then closes with it). */
void wt_ctx_set_error(wt_conn *c, uint64_t h3_code);
/* Server: arm the close grace timer (wt_engine_config.close_grace_ns) if it
 * is not armed and the connection is not closing; why: for the log. The
 * caller checked that no session is left. */
void wt_ctx_arm_grace(wt_conn *c, const char *why);
/* Server: a new session request arrived: cancel the close grace timer. */
void wt_ctx_cancel_grace(wt_conn *c);

/* Longest reason a grace CONNECTION_CLOSE carries (cut at a UTF-8 character
 * boundary): the frame must fit one packet with room to spare. */
#define WT_CTX_CLOSE_REASON_MAX 256
/* Server: a session of c ended; by_us: we closed it with a CLOSE capsule of
 * code and reason. Sets what the grace close's CONNECTION_CLOSE carries
 * (docs/protocol.md section 4, "Session close and CONNECTION_CLOSE"): the
 * 32-bit code itself, when the last session to end was closed by us and the
 * code is not one of HTTP/3's own codes (wt_ctx_conn_close_code), and the
 * reason (truncated); otherwise H3_NO_ERROR and no reason. Clients that read
 * only CONNECTION_CLOSE (Deno) then see the session's code and reason; the
 * browsers have read the capsule before (the grace waits for its ACK). An
 * allocation failure drops the reason only. No-op on a client. */
void wt_ctx_note_session_end(wt_conn *c, int by_us, uint32_t code, const uint8_t *reason,
                             size_t reason_len);
/* The CONNECTION_CLOSE code carrying WebTransport session code n: n itself,
 * or H3_NO_ERROR when n is an HTTP/3 error code of RFC 9114 section 8.1 or
 * RFC 9297 (0x33, 0x100..0x110) or a QPACK code of RFC 9204 (0x200..0x202),
 * which would say the connection failed. */
uint64_t wt_ctx_conn_close_code(uint32_t n);
/* The handshake of a server conn ended (done or conn freed). */
void wt_ctx_uncount_handshake(wt_conn *c);

/* The TLS context of c: the engine's, or for a server engine's client
 * connection its client context (wt_engine_config.client_*). */
static inline wt_tls_ctx *wt_ctx_tls(const wt_conn *c) {
  return !c->is_server && c->e->tls_client ? c->e->tls_client : c->e->tls;
}
/* Random bytes from the engine's RNG. 0 or WT_ERR_CRYPTO. */
int wt_ctx_rand(wt_engine *e, uint8_t *out, size_t len);
/* New CID (server: shard rule) + its stateless reset token (token may be NULL). */
int wt_ctx_new_cid(wt_engine *e, uint8_t *cid, size_t len, uint8_t *token);
/* Register cid for c in the engine's CID table (WT_ERR_STATE: taken). */
int wt_ctx_cid_add(wt_conn *c, const uint8_t *cid, size_t len);
void wt_ctx_cid_remove(wt_conn *c, const uint8_t *cid, size_t len);
/* Run the releases that became due (end of every engine entry point). */
void wt_ctx_run_releases(wt_engine *e);

/* ---------------------------------------------------------------- callbacks */

/* One wrapper per wt_engine_callbacks member: a NULL callback is skipped
 * (session_request: answered 404). */
int wt_ctx_call_session_request(wt_engine *e, wt_session *s, const wt_request *req);
void wt_ctx_call_session_open(wt_engine *e, wt_session *s);
void wt_ctx_call_session_close(wt_engine *e, wt_session *s, uint32_t code, const uint8_t *reason,
                               size_t reason_len, int clean);
void wt_ctx_call_session_drain(wt_engine *e, wt_session *s);
void wt_ctx_call_session_refused(wt_engine *e, wt_session *s, int status);
void wt_ctx_call_stream_open(wt_engine *e, wt_session *s, wt_stream *st);
void wt_ctx_call_stream_data(wt_engine *e, wt_stream *st, const uint8_t *data, size_t len, int fin);
void wt_ctx_call_stream_reset(wt_engine *e, wt_stream *st, uint32_t code, int has_code);
void wt_ctx_call_stream_stop(wt_engine *e, wt_stream *st, uint32_t code, int has_code);
void wt_ctx_call_stream_writable(wt_engine *e, wt_stream *st);
void wt_ctx_call_stream_close(wt_engine *e, wt_stream *st);
void wt_ctx_call_datagram(wt_engine *e, wt_session *s, const uint8_t *data, size_t len);
void wt_ctx_call_conn_close(wt_engine *e, wt_conn *c, uint64_t error_code, int is_app);
/* wt_engine_config.qlog_write (NULL: nothing). */
void wt_ctx_call_qlog_write(wt_engine *e, const char *name, const void *data, size_t len, int fin);

#endif
