/* wt_msg.h: the messages of the shard <-> worker channel.
 *
 * Every (shard, worker) pair is joined by a link (wt_link.h): two rings of
 * wt_msg, events shard -> worker and commands worker -> shard. A wt_msg is
 * 64 bytes, one cache line, copied into a ring and out of it:
 *  - an envelope: the kind, the shard's index (sh, set when posted) and at
 *    most one wt_buf reference with the slice of it the message is about
 *    (buf, off, len). Payload bytes never travel inside a message.
 *  - one typed payload per kind (wt_ev_* for events, wt_cmd_* for
 *    commands), a member of the payload union named after the kind.
 * Each kind has a constructor, wt_msg_<kind>(...), that returns the whole
 * message by value, and a reader, wt_msg_get_<kind>(m), that returns its
 * payload (and asserts the kind in builds with assertions). There is no
 * other way to fill or read a payload, and no field changes meaning with
 * the kind.
 *
 * Ids: "session" and "stream" are the shard's ids of its objects (64 bits,
 * never reused; 0 = none). A stream the worker opens is known by the
 * worker's token until the shard names it (WT_EV_STREAM_OPENED); a command
 * for such a stream carries a wt_msg_stream (id or token). "group" is a
 * fan-out group's id (wt_app.h), chosen by the worker.
 *
 * The buffer reference: a constructor stores buf as given; the reference
 * it stands for is the poster's, and posting the message hands it over
 * (wt_link.h). The receiving side's dispatcher drops it after the handler
 * ran, unless the handler took it (wt_msg_take_buf).
 *
 * Dispatch: each side handles the kinds of its direction through one table
 * of handlers indexed by kind: events in wt_app_ctx.c (the worker end),
 * commands in wt_bridge.c (the shard end). Events and commands share one
 * numbering, so a kind names its direction too.
 *
 * Adding a command (an event is the same with the sides swapped):
 *  1. here: a kind before WT_CMD_END, its payload struct (with the size
 *     check), its union member, constructor and reader;
 *  2. wt_bridge.c: its handler and the handler's entry in the table.
 * The worker sends it from the wt_app_* function that needs it
 * (wt_app_ctx.c): wt_msg c = wt_msg_cmd_x(...); ctx_post(ctx, shard, &c).
 * unit.app_ctx checks that every kind has exactly one handler, on the side
 * it is meant for.
 *
 * Threads: none; messages are plain values. */
#ifndef WT_MSG_H
#define WT_MSG_H

#include <assert.h>
#include <stdint.h>

#include "wt_buf.h"

struct wt_app_group_counters;

enum {
  /* events (shard -> worker) */
  WT_EV_SESSION_REQUEST = 1, /* a CONNECT for an app route: the worker answers WT_CMD_RESPOND */
  WT_EV_SESSION_OPEN,        /* the session is established */
  WT_EV_SESSION_DRAIN,       /* the server is shutting down */
  WT_EV_SESSION_CLOSE,       /* the session is gone (its streams' closes came first) */
  WT_EV_STREAM_OPEN,         /* the peer opened a stream */
  WT_EV_STREAM_OPENED,       /* a stream the worker asked for is open: its id */
  WT_EV_STREAM_DATA,         /* bytes (and/or FIN) received */
  WT_EV_STREAM_RESET,        /* the peer reset its sending side */
  WT_EV_STREAM_STOP,         /* the peer asked us to stop sending */
  WT_EV_STREAM_CREDIT,       /* written bytes acknowledged (or dropped): send credit back */
  WT_EV_STREAM_CLOSE,        /* the stream is gone */
  WT_EV_DATAGRAM,            /* a datagram received */
  WT_EV_SESSION_REFUSED,     /* an outgoing session (WT_CMD_CONNECT) did not open */
  WT_EV_END,                 /* events are the kinds in (0, WT_EV_END) */
  /* commands (worker -> shard) */
  WT_CMD_RESPOND,            /* the answer to WT_EV_SESSION_REQUEST */
  WT_CMD_DATAGRAM,           /* send a datagram */
  WT_CMD_OPEN_STREAM,        /* open a stream (named by a token until WT_EV_STREAM_OPENED) */
  WT_CMD_WRITE,              /* write bytes and/or FIN */
  WT_CMD_RESET,              /* reset our sending side */
  WT_CMD_STOP_SENDING,       /* ask the peer to stop sending */
  WT_CMD_CONSUME,            /* received bytes consumed: flow-control credit for the peer */
  WT_CMD_CLOSE,              /* close the session */
  WT_CMD_DRAIN,              /* drain the session */
  WT_CMD_GROUP_NEW,          /* fan-out groups (wt_app.h): create this shard's part */
  WT_CMD_GROUP_DEL,          /* delete it, resetting every mirrored stream still open */
  WT_CMD_GROUP_JOIN,         /* a session joins */
  WT_CMD_GROUP_LEAVE,        /* a session leaves */
  WT_CMD_GROUP_DATAGRAM,     /* a datagram to every member */
  WT_CMD_GROUP_STREAM,       /* open a mirrored uni stream to every member */
  WT_CMD_GROUP_WRITE,        /* write to a mirrored stream of every member */
  WT_CMD_GROUP_RESET,        /* reset a mirrored stream of every member */
  WT_CMD_GROUP_CATCHUP,      /* one member follows a group stream from its start */
  WT_CMD_GROUP_CATCHUP_DATA, /* that stream's bytes so far, to that member only */
  WT_CMD_CONNECT,            /* open an outgoing session from a client connection of the shard */
  WT_CMD_END                 /* commands are the kinds in (WT_EV_END, WT_CMD_END) */
};

static inline int wt_msg_is_event(unsigned kind) {
  return kind > 0 && kind < WT_EV_END;
}
static inline int wt_msg_is_command(unsigned kind) {
  return kind > WT_EV_END && kind < WT_CMD_END;
}

/* The room for a payload: the message is one cache line. */
#define WT_MSG_PAYLOAD_SIZE 40
#define WT_MSG_FITS(type)                                                                          \
  _Static_assert(sizeof(type) <= WT_MSG_PAYLOAD_SIZE, #type " fits in a wt_msg")

/* ------------------------------------------------------------------ event payloads */

/* buf/len: path \0 authority \0 origin \0 (empty strings for none), then
 * n_headers times name \0 value \0, then n_protocols times protocol \0. */
typedef struct wt_ev_session_request {
  uint64_t session;
  uint64_t id; /* the session id on the wire (its CONNECT stream's id) */
  uint32_t n_headers, n_protocols;
} wt_ev_session_request;
WT_MSG_FITS(wt_ev_session_request);

/* buf/len (outgoing sessions only, may be none): n_headers times name \0
 * value \0, the response's fields. */
typedef struct wt_ev_session_open {
  uint64_t session;
  uint64_t max_datagram; /* the largest datagram payload the session can send */
  uint32_t n_headers;
} wt_ev_session_open;
WT_MSG_FITS(wt_ev_session_open);

typedef struct wt_ev_session_drain {
  uint64_t session;
} wt_ev_session_drain;
WT_MSG_FITS(wt_ev_session_drain);

/* buf/len: the reason (buf may be NULL). */
typedef struct wt_ev_session_close {
  uint64_t session;
  uint32_t code;
  uint8_t clean; /* closed by a CLOSE_WEBTRANSPORT_SESSION (or a clean end) */
} wt_ev_session_close;
WT_MSG_FITS(wt_ev_session_close);

typedef struct wt_ev_stream_open {
  uint64_t stream, session;
  uint64_t id; /* the QUIC stream id */
  uint8_t bidi;
} wt_ev_stream_open;
WT_MSG_FITS(wt_ev_stream_open);

typedef struct wt_ev_stream_opened {
  uint64_t stream; /* the shard's id from now on (0: none could be given, keep the token) */
  uint64_t token;  /* the worker's name for it until now */
  uint64_t id;     /* the QUIC stream id */
} wt_ev_stream_opened;
WT_MSG_FITS(wt_ev_stream_opened);

/* buf/off/len: the bytes (buf NULL and len 0: FIN only). */
typedef struct wt_ev_stream_data {
  uint64_t stream;
  uint8_t fin;
} wt_ev_stream_data;
WT_MSG_FITS(wt_ev_stream_data);

typedef struct wt_ev_stream_reset {
  uint64_t stream;
  uint32_t code;
  uint8_t has_code; /* the peer sent a WebTransport code */
} wt_ev_stream_reset;
WT_MSG_FITS(wt_ev_stream_reset);

typedef struct wt_ev_stream_stop {
  uint64_t stream;
  uint32_t code;
  uint8_t has_code;
} wt_ev_stream_stop;
WT_MSG_FITS(wt_ev_stream_stop);

typedef struct wt_ev_stream_credit {
  uint64_t stream;
  uint64_t released; /* bytes of our writes the peer acknowledged (or that were dropped) */
  uint64_t window;   /* the send window the connection is worth now (2 x cwnd; 0 = unknown):
                        the worker may grow the stream's credit up to it */
} wt_ev_stream_credit;
WT_MSG_FITS(wt_ev_stream_credit);

typedef struct wt_ev_stream_close {
  uint64_t stream; /* 0 for a stream the worker opened that never got an id */
  uint64_t token;  /* the worker's token (streams it opened), else 0 */
} wt_ev_stream_close;
WT_MSG_FITS(wt_ev_stream_close);

/* buf/off/len: the datagram. */
typedef struct wt_ev_datagram {
  uint64_t session;
} wt_ev_datagram;
WT_MSG_FITS(wt_ev_datagram);

typedef struct wt_ev_session_refused {
  uint64_t session;
  uint32_t status; /* the server's HTTP status; 0: no answer (connection failed or lost,
                      no route, no client trust configured) */
} wt_ev_session_refused;
WT_MSG_FITS(wt_ev_session_refused);

/* ------------------------------------------------------------------ command payloads */

/* The stream a command is for: the shard's id, or (id 0) the worker's
 * token of a stream it opened whose id it has not heard yet. */
typedef struct wt_msg_stream {
  uint64_t id, token;
} wt_msg_stream;

/* buf/len (may be none): protocol \0 (empty: none), then n_headers times
 * name \0 value \0: the response's WT-Protocol and extra fields. */
typedef struct wt_cmd_respond {
  uint64_t session;
  uint32_t status; /* HTTP status: 200 accepts */
  uint32_t n_headers;
} wt_cmd_respond;
WT_MSG_FITS(wt_cmd_respond);

/* buf/off/len: the datagram. */
typedef struct wt_cmd_datagram {
  uint64_t session;
} wt_cmd_datagram;
WT_MSG_FITS(wt_cmd_datagram);

typedef struct wt_cmd_open_stream {
  uint64_t session;
  uint64_t token; /* the worker's name for the stream until WT_EV_STREAM_OPENED */
  uint8_t bidi;
} wt_cmd_open_stream;
WT_MSG_FITS(wt_cmd_open_stream);

/* buf/off/len: the bytes (buf may be NULL for len 0). */
typedef struct wt_cmd_write {
  wt_msg_stream stream;
  uint8_t fin;
} wt_cmd_write;
WT_MSG_FITS(wt_cmd_write);

typedef struct wt_cmd_reset {
  wt_msg_stream stream;
  uint32_t code;
} wt_cmd_reset;
WT_MSG_FITS(wt_cmd_reset);

typedef struct wt_cmd_stop_sending {
  wt_msg_stream stream;
  uint32_t code;
} wt_cmd_stop_sending;
WT_MSG_FITS(wt_cmd_stop_sending);

typedef struct wt_cmd_consume {
  wt_msg_stream stream;
  uint64_t bytes;
} wt_cmd_consume;
WT_MSG_FITS(wt_cmd_consume);

/* buf/off/len: the reason (buf may be NULL). */
typedef struct wt_cmd_close {
  uint64_t session;
  uint32_t code;
} wt_cmd_close;
WT_MSG_FITS(wt_cmd_close);

typedef struct wt_cmd_drain {
  uint64_t session;
} wt_cmd_drain;
WT_MSG_FITS(wt_cmd_drain);

typedef struct wt_cmd_group_new {
  uint64_t group;
  uint64_t lag_max;                       /* the lag bound in bytes */
  struct wt_app_group_counters *counters; /* the app's (may be NULL); a reference travels
                                             with the message (wt_app.h) */
} wt_cmd_group_new;
WT_MSG_FITS(wt_cmd_group_new);

typedef struct wt_cmd_group_del {
  uint64_t group;
  uint32_t code; /* resets every mirrored stream still open */
} wt_cmd_group_del;
WT_MSG_FITS(wt_cmd_group_del);

/* Joining again updates the member's delivery policy (wt_app.h
 * wt_app_group_join_opts): pooled = 0 is the plain per-member lag bound. */
typedef struct wt_cmd_group_join {
  uint64_t group, session;
  uint64_t max_latency_ns; /* 0 = unbounded */
  uint8_t pooled, priority;
} wt_cmd_group_join;
WT_MSG_FITS(wt_cmd_group_join);

typedef struct wt_cmd_group_leave {
  uint64_t group, session;
} wt_cmd_group_leave;
WT_MSG_FITS(wt_cmd_group_leave);

/* buf/off/len: the datagram. */
typedef struct wt_cmd_group_datagram {
  uint64_t group;
} wt_cmd_group_datagram;
WT_MSG_FITS(wt_cmd_group_datagram);

typedef struct wt_cmd_group_stream {
  uint64_t group;
  uint64_t gsid;    /* the group stream: open a mirrored uni stream to every member */
  uint32_t hdr_len; /* its first hdr_len bytes are the group header (wt_app.h) */
} wt_cmd_group_stream;
WT_MSG_FITS(wt_cmd_group_stream);

/* buf/off/len: the bytes (buf NULL for len 0). */
typedef struct wt_cmd_group_write {
  uint64_t group, gsid;
  uint8_t fin;
} wt_cmd_group_write;
WT_MSG_FITS(wt_cmd_group_write);

typedef struct wt_cmd_group_reset {
  uint64_t group, gsid;
  uint32_t code;
} wt_cmd_group_reset;
WT_MSG_FITS(wt_cmd_group_reset);

/* The member (session) follows group stream gsid from its start: the next
 * WT_CMD_GROUP_CATCHUP_DATA for (session, gsid) carry its bytes so far. */
typedef struct wt_cmd_group_catchup {
  uint64_t group, session, gsid;
  uint32_t hdr_len; /* as in wt_cmd_group_stream */
} wt_cmd_group_catchup;
WT_MSG_FITS(wt_cmd_group_catchup);

/* buf/off/len: the bytes (buf NULL for len 0), written to this member only. */
typedef struct wt_cmd_group_catchup_data {
  uint64_t group, session, gsid;
  uint8_t fin;
} wt_cmd_group_catchup_data;
WT_MSG_FITS(wt_cmd_group_catchup_data);

/* An outgoing session (wt_app_connect). session is the WORKER's id for it
 * (bit 63 set: never one a shard gives), used by both sides from then on.
 * buf/len: authority \0 path \0 server name \0 (empty: none), then
 * n_protocols times protocol \0. The answer: WT_EV_SESSION_OPEN or
 * WT_EV_SESSION_REFUSED, then as for any session. */
typedef struct wt_cmd_connect {
  uint64_t session;
  uint32_t worker; /* the worker that owns it (its events go there) */
  uint32_t n_protocols;
} wt_cmd_connect;
WT_MSG_FITS(wt_cmd_connect);

/* ------------------------------------------------------------------ the message */

typedef struct wt_msg {
  uint16_t kind;
  uint16_t sh;       /* the shard's index (set by the shard or the worker when posting) */
  uint32_t off, len; /* the slice of buf the message is about */
  uint32_t pad_;
  wt_buf *buf; /* one reference travels with the message (NULL = none) */
  union {
    wt_ev_session_request ev_session_request;
    wt_ev_session_open ev_session_open;
    wt_ev_session_refused ev_session_refused;
    wt_cmd_connect cmd_connect;
    wt_ev_session_drain ev_session_drain;
    wt_ev_session_close ev_session_close;
    wt_ev_stream_open ev_stream_open;
    wt_ev_stream_opened ev_stream_opened;
    wt_ev_stream_data ev_stream_data;
    wt_ev_stream_reset ev_stream_reset;
    wt_ev_stream_stop ev_stream_stop;
    wt_ev_stream_credit ev_stream_credit;
    wt_ev_stream_close ev_stream_close;
    wt_ev_datagram ev_datagram;
    wt_cmd_respond cmd_respond;
    wt_cmd_datagram cmd_datagram;
    wt_cmd_open_stream cmd_open_stream;
    wt_cmd_write cmd_write;
    wt_cmd_reset cmd_reset;
    wt_cmd_stop_sending cmd_stop_sending;
    wt_cmd_consume cmd_consume;
    wt_cmd_close cmd_close;
    wt_cmd_drain cmd_drain;
    wt_cmd_group_new cmd_group_new;
    wt_cmd_group_del cmd_group_del;
    wt_cmd_group_join cmd_group_join;
    wt_cmd_group_leave cmd_group_leave;
    wt_cmd_group_datagram cmd_group_datagram;
    wt_cmd_group_stream cmd_group_stream;
    wt_cmd_group_write cmd_group_write;
    wt_cmd_group_reset cmd_group_reset;
    wt_cmd_group_catchup cmd_group_catchup;
    wt_cmd_group_catchup_data cmd_group_catchup_data;
    uint8_t size_[WT_MSG_PAYLOAD_SIZE]; /* fixes the size; never read */
  };
} wt_msg;
_Static_assert(sizeof(wt_msg) == 64, "wt_msg is one cache line");

/* The bytes the message carries (NULL when it carries no buffer). */
static inline const uint8_t *wt_msg_data(const wt_msg *m) {
  return m->buf ? m->buf->data + m->off : NULL;
}

/* A message that will never be handled (its ring is freed, or posting it
 * failed): drop what it holds, its buffer reference and, for
 * WT_CMD_GROUP_NEW, its counters reference. */
void wt_msg_drop(wt_msg *m);

/* A handler keeps the message's buffer reference: the dispatcher will not
 * drop it. Returns it (NULL if none). */
static inline wt_buf *wt_msg_take_buf(wt_msg *m) {
  wt_buf *b = m->buf;
  m->buf = NULL;
  return b;
}

/* The reader of kind KIND, payload member `member`. */
#define WT_MSG_READER(member, KIND)                                                                \
  static inline const wt_##member *wt_msg_get_##member(const wt_msg *m) {                          \
    assert(m->kind == (KIND));                                                                     \
    return &m->member;                                                                             \
  }

/* ------------------------------------------------------------------ event constructors */

/* buf: path \0 authority \0 origin \0, len bytes. */
static inline wt_msg wt_msg_ev_session_request(uint64_t session, uint64_t id, wt_buf *buf,
                                               uint32_t len, uint32_t n_headers,
                                               uint32_t n_protocols) {
  return (wt_msg){
      .kind = WT_EV_SESSION_REQUEST,
      .buf = buf,
      .len = len,
      .ev_session_request = {
          .session = session, .id = id, .n_headers = n_headers, .n_protocols = n_protocols}};
}
WT_MSG_READER(ev_session_request, WT_EV_SESSION_REQUEST)

static inline wt_msg wt_msg_ev_session_open(uint64_t session, uint64_t max_datagram) {
  return (wt_msg){.kind = WT_EV_SESSION_OPEN,
                  .ev_session_open = {.session = session, .max_datagram = max_datagram}};
}
/* The same with the response's fields (outgoing sessions). */
static inline wt_msg wt_msg_ev_session_open_fields(uint64_t session, uint64_t max_datagram,
                                                   wt_buf *buf, uint32_t len, uint32_t n_headers) {
  return (wt_msg){.kind = WT_EV_SESSION_OPEN,
                  .buf = buf,
                  .len = len,
                  .ev_session_open = {
                      .session = session, .max_datagram = max_datagram, .n_headers = n_headers}};
}
WT_MSG_READER(ev_session_open, WT_EV_SESSION_OPEN)

static inline wt_msg wt_msg_ev_session_refused(uint64_t session, uint32_t status) {
  return (wt_msg){.kind = WT_EV_SESSION_REFUSED,
                  .ev_session_refused = {.session = session, .status = status}};
}
WT_MSG_READER(ev_session_refused, WT_EV_SESSION_REFUSED)

static inline wt_msg wt_msg_cmd_connect(uint64_t session, uint32_t worker, wt_buf *buf,
                                        uint32_t len, uint32_t n_protocols) {
  return (wt_msg){
      .kind = WT_CMD_CONNECT,
      .buf = buf,
      .len = len,
      .cmd_connect = {.session = session, .worker = worker, .n_protocols = n_protocols}};
}
WT_MSG_READER(cmd_connect, WT_CMD_CONNECT)

static inline wt_msg wt_msg_ev_session_drain(uint64_t session) {
  return (wt_msg){.kind = WT_EV_SESSION_DRAIN, .ev_session_drain = {.session = session}};
}
WT_MSG_READER(ev_session_drain, WT_EV_SESSION_DRAIN)

/* reason: buf (may be NULL), len bytes. */
static inline wt_msg wt_msg_ev_session_close(uint64_t session, uint32_t code, int clean,
                                             wt_buf *reason, uint32_t len) {
  return (wt_msg){.kind = WT_EV_SESSION_CLOSE,
                  .buf = reason,
                  .len = len,
                  .ev_session_close = {.session = session, .code = code, .clean = clean ? 1 : 0}};
}
WT_MSG_READER(ev_session_close, WT_EV_SESSION_CLOSE)

static inline wt_msg wt_msg_ev_stream_open(uint64_t stream, uint64_t session, uint64_t id,
                                           int bidi) {
  return (wt_msg){
      .kind = WT_EV_STREAM_OPEN,
      .ev_stream_open = {.stream = stream, .session = session, .id = id, .bidi = bidi ? 1 : 0}};
}
WT_MSG_READER(ev_stream_open, WT_EV_STREAM_OPEN)

static inline wt_msg wt_msg_ev_stream_opened(uint64_t stream, uint64_t token, uint64_t id) {
  return (wt_msg){.kind = WT_EV_STREAM_OPENED,
                  .ev_stream_opened = {.stream = stream, .token = token, .id = id}};
}
WT_MSG_READER(ev_stream_opened, WT_EV_STREAM_OPENED)

static inline wt_msg wt_msg_ev_stream_data(uint64_t stream, wt_buf *buf, uint32_t len, int fin) {
  return (wt_msg){.kind = WT_EV_STREAM_DATA,
                  .buf = buf,
                  .len = len,
                  .ev_stream_data = {.stream = stream, .fin = fin ? 1 : 0}};
}
WT_MSG_READER(ev_stream_data, WT_EV_STREAM_DATA)

static inline wt_msg wt_msg_ev_stream_reset(uint64_t stream, uint32_t code, int has_code) {
  return (wt_msg){
      .kind = WT_EV_STREAM_RESET,
      .ev_stream_reset = {.stream = stream, .code = code, .has_code = has_code ? 1 : 0}};
}
WT_MSG_READER(ev_stream_reset, WT_EV_STREAM_RESET)

static inline wt_msg wt_msg_ev_stream_stop(uint64_t stream, uint32_t code, int has_code) {
  return (wt_msg){.kind = WT_EV_STREAM_STOP,
                  .ev_stream_stop = {.stream = stream, .code = code, .has_code = has_code ? 1 : 0}};
}
WT_MSG_READER(ev_stream_stop, WT_EV_STREAM_STOP)

static inline wt_msg wt_msg_ev_stream_credit(uint64_t stream, uint64_t released, uint64_t window) {
  return (wt_msg){.kind = WT_EV_STREAM_CREDIT,
                  .ev_stream_credit = {.stream = stream, .released = released, .window = window}};
}
WT_MSG_READER(ev_stream_credit, WT_EV_STREAM_CREDIT)

static inline wt_msg wt_msg_ev_stream_close(uint64_t stream, uint64_t token) {
  return (wt_msg){.kind = WT_EV_STREAM_CLOSE,
                  .ev_stream_close = {.stream = stream, .token = token}};
}
WT_MSG_READER(ev_stream_close, WT_EV_STREAM_CLOSE)

static inline wt_msg wt_msg_ev_datagram(uint64_t session, wt_buf *buf, uint32_t len) {
  return (wt_msg){
      .kind = WT_EV_DATAGRAM, .buf = buf, .len = len, .ev_datagram = {.session = session}};
}
WT_MSG_READER(ev_datagram, WT_EV_DATAGRAM)

/* ------------------------------------------------------------------ command constructors */

static inline wt_msg wt_msg_cmd_respond(uint64_t session, uint32_t status, wt_buf *buf,
                                        uint32_t len, uint32_t n_headers) {
  return (wt_msg){.kind = WT_CMD_RESPOND,
                  .buf = buf,
                  .len = len,
                  .cmd_respond = {.session = session, .status = status, .n_headers = n_headers}};
}
WT_MSG_READER(cmd_respond, WT_CMD_RESPOND)

static inline wt_msg wt_msg_cmd_datagram(uint64_t session, wt_buf *buf, uint32_t len) {
  return (wt_msg){
      .kind = WT_CMD_DATAGRAM, .buf = buf, .len = len, .cmd_datagram = {.session = session}};
}
WT_MSG_READER(cmd_datagram, WT_CMD_DATAGRAM)

static inline wt_msg wt_msg_cmd_open_stream(uint64_t session, uint64_t token, int bidi) {
  return (wt_msg){.kind = WT_CMD_OPEN_STREAM,
                  .cmd_open_stream = {.session = session, .token = token, .bidi = bidi ? 1 : 0}};
}
WT_MSG_READER(cmd_open_stream, WT_CMD_OPEN_STREAM)

static inline wt_msg wt_msg_cmd_write(wt_msg_stream stream, wt_buf *buf, uint32_t len, int fin) {
  return (wt_msg){.kind = WT_CMD_WRITE,
                  .buf = buf,
                  .len = len,
                  .cmd_write = {.stream = stream, .fin = fin ? 1 : 0}};
}
WT_MSG_READER(cmd_write, WT_CMD_WRITE)

static inline wt_msg wt_msg_cmd_reset(wt_msg_stream stream, uint32_t code) {
  return (wt_msg){.kind = WT_CMD_RESET, .cmd_reset = {.stream = stream, .code = code}};
}
WT_MSG_READER(cmd_reset, WT_CMD_RESET)

static inline wt_msg wt_msg_cmd_stop_sending(wt_msg_stream stream, uint32_t code) {
  return (wt_msg){.kind = WT_CMD_STOP_SENDING,
                  .cmd_stop_sending = {.stream = stream, .code = code}};
}
WT_MSG_READER(cmd_stop_sending, WT_CMD_STOP_SENDING)

static inline wt_msg wt_msg_cmd_consume(wt_msg_stream stream, uint64_t bytes) {
  return (wt_msg){.kind = WT_CMD_CONSUME, .cmd_consume = {.stream = stream, .bytes = bytes}};
}
WT_MSG_READER(cmd_consume, WT_CMD_CONSUME)

/* reason: buf (may be NULL), len bytes. */
static inline wt_msg wt_msg_cmd_close(uint64_t session, uint32_t code, wt_buf *reason,
                                      uint32_t len) {
  return (wt_msg){.kind = WT_CMD_CLOSE,
                  .buf = reason,
                  .len = len,
                  .cmd_close = {.session = session, .code = code}};
}
WT_MSG_READER(cmd_close, WT_CMD_CLOSE)

static inline wt_msg wt_msg_cmd_drain(uint64_t session) {
  return (wt_msg){.kind = WT_CMD_DRAIN, .cmd_drain = {.session = session}};
}
WT_MSG_READER(cmd_drain, WT_CMD_DRAIN)

static inline wt_msg wt_msg_cmd_group_new(uint64_t group, uint64_t lag_max,
                                          struct wt_app_group_counters *counters) {
  return (wt_msg){.kind = WT_CMD_GROUP_NEW,
                  .cmd_group_new = {.group = group, .lag_max = lag_max, .counters = counters}};
}
WT_MSG_READER(cmd_group_new, WT_CMD_GROUP_NEW)

static inline wt_msg wt_msg_cmd_group_del(uint64_t group, uint32_t code) {
  return (wt_msg){.kind = WT_CMD_GROUP_DEL, .cmd_group_del = {.group = group, .code = code}};
}
WT_MSG_READER(cmd_group_del, WT_CMD_GROUP_DEL)

static inline wt_msg wt_msg_cmd_group_join(uint64_t group, uint64_t session) {
  return (wt_msg){.kind = WT_CMD_GROUP_JOIN,
                  .cmd_group_join = {.group = group, .session = session}};
}
static inline wt_msg wt_msg_cmd_group_join_opts(uint64_t group, uint64_t session, int pooled,
                                                uint8_t priority, uint64_t max_latency_ns) {
  return (wt_msg){.kind = WT_CMD_GROUP_JOIN,
                  .cmd_group_join = {.group = group,
                                     .session = session,
                                     .max_latency_ns = max_latency_ns,
                                     .pooled = (uint8_t)(pooled != 0),
                                     .priority = priority}};
}
WT_MSG_READER(cmd_group_join, WT_CMD_GROUP_JOIN)

static inline wt_msg wt_msg_cmd_group_leave(uint64_t group, uint64_t session) {
  return (wt_msg){.kind = WT_CMD_GROUP_LEAVE,
                  .cmd_group_leave = {.group = group, .session = session}};
}
WT_MSG_READER(cmd_group_leave, WT_CMD_GROUP_LEAVE)

static inline wt_msg wt_msg_cmd_group_datagram(uint64_t group, wt_buf *buf, uint32_t off,
                                               uint32_t len) {
  return (wt_msg){.kind = WT_CMD_GROUP_DATAGRAM,
                  .buf = buf,
                  .off = off,
                  .len = len,
                  .cmd_group_datagram = {.group = group}};
}
WT_MSG_READER(cmd_group_datagram, WT_CMD_GROUP_DATAGRAM)

static inline wt_msg wt_msg_cmd_group_stream(uint64_t group, uint64_t gsid, uint32_t hdr_len) {
  return (wt_msg){.kind = WT_CMD_GROUP_STREAM,
                  .cmd_group_stream = {.group = group, .gsid = gsid, .hdr_len = hdr_len}};
}
WT_MSG_READER(cmd_group_stream, WT_CMD_GROUP_STREAM)

static inline wt_msg wt_msg_cmd_group_write(uint64_t group, uint64_t gsid, wt_buf *buf,
                                            uint32_t off, uint32_t len, int fin) {
  return (wt_msg){.kind = WT_CMD_GROUP_WRITE,
                  .buf = buf,
                  .off = off,
                  .len = len,
                  .cmd_group_write = {.group = group, .gsid = gsid, .fin = fin ? 1 : 0}};
}
WT_MSG_READER(cmd_group_write, WT_CMD_GROUP_WRITE)

static inline wt_msg wt_msg_cmd_group_reset(uint64_t group, uint64_t gsid, uint32_t code) {
  return (wt_msg){.kind = WT_CMD_GROUP_RESET,
                  .cmd_group_reset = {.group = group, .gsid = gsid, .code = code}};
}
WT_MSG_READER(cmd_group_reset, WT_CMD_GROUP_RESET)

static inline wt_msg wt_msg_cmd_group_catchup(uint64_t group, uint64_t session, uint64_t gsid,
                                              uint32_t hdr_len) {
  return (wt_msg){
      .kind = WT_CMD_GROUP_CATCHUP,
      .cmd_group_catchup = {.group = group, .session = session, .gsid = gsid, .hdr_len = hdr_len}};
}
WT_MSG_READER(cmd_group_catchup, WT_CMD_GROUP_CATCHUP)

static inline wt_msg wt_msg_cmd_group_catchup_data(uint64_t group, uint64_t session, uint64_t gsid,
                                                   wt_buf *buf, uint32_t off, uint32_t len,
                                                   int fin) {
  return (wt_msg){.kind = WT_CMD_GROUP_CATCHUP_DATA,
                  .buf = buf,
                  .off = off,
                  .len = len,
                  .cmd_group_catchup_data = {
                      .group = group, .session = session, .gsid = gsid, .fin = fin ? 1 : 0}};
}
WT_MSG_READER(cmd_group_catchup_data, WT_CMD_GROUP_CATCHUP_DATA)

#endif
