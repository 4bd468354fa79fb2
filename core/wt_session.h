/* wt_session.h: WebTransport sessions (draft-ietf-webtrans-http3,
 * docs/protocol.md sections 1 and 4): the session state machine, its
 * CONNECT stream's capsules, the routing of peer streams and datagrams to
 * their session (buffered while the session is not open yet), and the
 * public wt_session_* API of wt_engine.h.
 *
 * State machine (wt_session_set_state is the only writer of s->state):
 *   REQUEST -> SENT     client: CONNECT submitted
 *   REQUEST -> OPEN     server: 200 answered (at once or by wt_session_respond)
 *   SENT    -> OPEN     client: 200 received
 *   REQUEST -> REFUSED  server: refused/rejected/given up; client: refused
 *                       before the CONNECT went out
 *   SENT    -> REFUSED  client: non-200 or reset
 *   OPEN    -> CLOSED   ended (CLOSE capsule, FIN, reset, connection loss)
 * A server session that deferred its answer stays in REQUEST (deferred).
 *
 * Ownership: a session belongs to its connection (c->sessions) from
 * wt_session_new until wt_session_del; it is never freed inside a library
 * callback (wt_session_collect puts it on c->gc_sessions for wt_conn_gc).
 * The app's handle is valid from session_request/session_open until
 * session_close or session_refused returns.
 *
 * Threading: the engine's thread (wt_engine.h). Layer: above wt_stream,
 * wt_dgram and wt_ctx; below wt_h3 (which drives it from HTTP/3 events). */
#ifndef WT_SESSION_H
#define WT_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "wt_capsule.h"
#include "wt_ctx.h"
#include "wt_hdrs.h"
#include "wt_sfc.h"
#include "wt_stream.h"

/* wt_session.state */
enum {
  WT_SS_REQUEST = 0, /* server: headers being received; client: waiting for SETTINGS */
  WT_SS_SENT,        /* client: CONNECT sent, waiting for the response */
  WT_SS_OPEN,
  WT_SS_CLOSED,  /* ended; the CONNECT stream may still be finishing */
  WT_SS_REFUSED, /* server: non-200 sent or rejected; client: non-200 received */
  WT_SS_COUNT
};

struct wt_session {
  wt_conn *c;
  int64_t id; /* CONNECT stream ID; -1 until the client opened it */
  int state;  /* WT_SS_*, written only by wt_session_set_state */
  char *method, *protocol, *scheme, *authority, *path, *origin;
  int status;
  uint8_t app_open;     /* session_open was called: session_close is owed */
  uint8_t h3_closed;    /* nghttp3 closed the CONNECT stream */
  uint8_t gc;           /* on the garbage list */
  uint8_t cap_fin;      /* FIN after the queued capsules */
  uint8_t close_sent;   /* we queued a CLOSE capsule */
  uint8_t h3_submitted; /* a request/response with our data reader was submitted */
  uint8_t drain_sent;
  uint8_t drain_told; /* session_drain was called (GOAWAY or DRAIN capsule) */
  uint8_t deferred;   /* server: session_request deferred, wt_session_respond due
                         (state stays WT_SS_REQUEST) */
  uint8_t held;       /* server: request complete, waiting for the client's SETTINGS
                         (state stays WT_SS_REQUEST) */
  uint8_t held_fin;   /* the request's header section ended the stream */
  int dialect;        /* WT_DIALECT_* the peer spoke (wt_settings.h) */
  wt_sfc fc;          /* session flow control (draft-16 section 5) */
  uint8_t fc_held;    /* WT_MAX_* updates held back for the memory budget (wt_session_fc_repay) */
  uint64_t close_end; /* offset in cap_out just past our CLOSE capsule */
  uint64_t peer_reset_code; /* raw H3 code of the peer's reset of the CONNECT stream,
                               UINT64_MAX = none */
  /* the CONNECT stream's capsule parser (1.1 KB with its buffer): allocated
   * at the first capsule byte, which an idle session never receives;
   * cp_fc: flow-control capsules are known (set before or after) */
  wt_capsule_parser *cp;
  uint8_t cp_fc;
  wt_hdrs hdrs; /* header fields beyond the pseudo-headers, protocol negotiation */
  wt_sendbuf cap_out;
  void *user;
  wt_list_node streams; /* wt_stream.s_link */
  wt_list_node link;    /* c->sessions */
  wt_list_node gc_link; /* c->gc_sessions */
};

/* ---- lifecycle */

/* A session on c whose CONNECT stream is id (-1: not opened yet), state
 * REQUEST, on c->sessions. NULL on OOM. */
wt_session *wt_session_new(wt_conn *c, int64_t id);
/* Client: a session to open with an extended CONNECT to authority/path
 * (origin may be NULL) once the server's SETTINGS allow it. NULL on OOM. */
wt_session *wt_session_new_client(wt_conn *c, const char *authority, const char *path,
                                  const char *origin);
/* Free s (already off c->sessions and c->gc_sessions); its streams are
 * detached, not freed. */
void wt_session_del(wt_session *s);
/* Move s from c->sessions to c->gc_sessions (once). */
void wt_session_collect(wt_session *s);
wt_session *wt_session_find(wt_conn *c, int64_t id);
/* The one transition function: asserts the move is legal (table above),
 * logs it and counts it (e->session_entered). */
void wt_session_set_state(wt_session *s, int to);

/* ---- transitions with their consequences */

/* The session became open: session_open, then its buffered streams/datagrams. */
void wt_session_opened(wt_session *s);
/* End the session once (docs/protocol.md section 4). */
void wt_session_end(wt_session *s, uint32_t code, const uint8_t *reason, size_t reason_len,
                    int clean);
void wt_session_refused_client(wt_session *s, int status);
/* Reset the CONNECT stream with h3_code and end the session (clean = 0). */
void wt_session_abort(wt_session *s, uint64_t h3_code);
/* Tell the app the peer wants the session to end (once per session). */
void wt_session_drained(wt_session *s);
/* Server: a deferred session stops waiting for wt_session_respond because
 * the engine gives up on it: answer status (0: no answer, the CONNECT
 * stream is gone or reset by us with H3_REQUEST_CANCELLED when reset is
 * set), reject what was buffered for it, call session_close(clean = 0). */
void wt_session_pending_end(wt_session *s, int status, int reset);
/* Server: the request of s was refused before the app saw it: reset the
 * CONNECT stream with h3_code (H3_REQUEST_REJECTED). */
void wt_session_reject(wt_session *s, uint64_t h3_code);

/* ---- the CONNECT stream */

/* Capsule bytes from the CONNECT stream. */
void wt_session_recv_capsules(wt_session *s, const uint8_t *data, size_t len);
/* Queue capsule bytes (fin: end the CONNECT stream after them). */
int wt_session_queue_capsule(wt_session *s, const uint8_t *data, size_t len, int fin);
/* The CONNECT stream has more to send (capsules queued, or cap_fin set):
 * let nghttp3 ask the capsule reader again. */
void wt_session_resume(wt_session *s);
/* The peer acknowledged datalen more bytes of our capsules. */
void wt_session_on_acked(wt_session *s, uint64_t datalen);
/* nghttp3 data reader of a CONNECT stream: the capsules we queued. */
nghttp3_ssize wt_session_read_capsules(nghttp3_conn *h3, int64_t sid, nghttp3_vec *vec,
                                       size_t veccnt, uint32_t *pflags, void *ud, void *sud);
/* Server: submit the response to the CONNECT of s (200 with our capsule
 * reader as body, else headers + FIN). Returns 0 or an nghttp3 error. */
int wt_session_submit_response(wt_session *s, int status);

/* ---- routing to sessions */

/* A peer stream just classified as WT (wt_stream_classify): attach it to
 * its open session, buffer it for a session still to come, or reject it. */
void wt_session_route_stream(wt_conn *c, wt_stream *st);
/* c->buffered_deadline passed: reset the buffered streams of sessions the
 * peer never requested that waited buffered_timeout_ns (BUFFERED_STREAM_
 * REJECTED, counted buffered_expired) and set the next deadline. */
void wt_session_expire_buffered(wt_conn *c);
/* A received QUIC datagram: to its open session, held for a session still
 * to come, or dropped. A malformed one sets the connection error
 * (H3_DATAGRAM_ERROR). */
void wt_session_recv_datagram(wt_conn *c, const uint8_t *data, size_t len);

/* ---- session flow control (wt_sfc.h; docs/protocol.md section 7) */

/* Switch flow control on for s if both ends offered it (the peer's SETTINGS
 * in c->rd, our profile and WT_INITIAL_* settings). Called as the session
 * opens, before its buffered streams are adopted. */
void wt_session_fc_start(wt_session *s);
/* Before writing: send the WT_MAX_* updates that became due and reset the
 * sessions whose peer overran our limits (WT_FLOW_CONTROL_ERROR). */
void wt_session_fc_flush(wt_conn *c);
/* While c's credit is withheld for the memory budget (wt_engine_mem_hold)
 * the due WT_MAX_DATA / WT_MAX_STREAMS wait (the session's limits are
 * already raised inside; counted mem_session_credit_withheld once per
 * session per episode). wt_session_fc_repay: the episode ended (the
 * budget check): send them with the next write. Flow control does not
 * limit capsules, so the peer can always close the session. */
void wt_session_fc_repay(wt_conn *c);
/* The write loop found st (of an open session) out of data credit: hold it
 * until WT_MAX_DATA raises the limit, and send WT_DATA_BLOCKED once. */
void wt_session_fc_data_blocked(wt_stream *st);

/* ---- the connection's view */

/* No session is open or being requested on c. */
int wt_session_none_left(wt_conn *c);
/* Server: the peer ended a session (CLOSE capsule, FIN or reset of the
 * CONNECT stream): arm the connection's close grace timer
 * (wt_engine_config.close_grace_ns) if no session is left or pending.
 * No-op on a client. */
void wt_session_peer_ended(wt_conn *c);

#endif
