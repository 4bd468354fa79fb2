/* wt_app.h: the application API of wtcast.
 *
 * An application is a table of callbacks (wt_app_ops) registered for one
 * exact URL path in a router. It sees WebTransport sessions, streams and
 * datagrams only through the handles and wt_app_* functions below, never
 * through ngtcp2, nghttp3 or the engine, so that a later issue can move
 * applications onto worker threads and carry these events and commands over
 * rings without changing any application.
 *
 * Threads: applications run on application workers (wt_app_worker.h), not on
 * the shards that run the protocol engine. Each (shard, worker) pair is
 * joined by a link of two lock-free SPSC rings (wt_link.h): the shard turns
 * engine events into messages for the worker that owns the session, the
 * worker's wt_app_ctx turns them into these callbacks, and every wt_app_*
 * command below becomes a message back to the shard. So commands are
 * asynchronous: they return once queued, and what they cause is reported
 * by a later callback (a stream_close, a session_close ...). Payloads travel
 * as reference-counted wt_bufs (no copy between the threads).
 *
 * Guarantees to an application:
 *  - Callbacks are never re-entered: close events raised while one of its
 *    callbacks runs (e.g. by wt_app_close_session inside stream_data) are
 *    delivered after that callback returns.
 *  - For each stream, stream_close is called exactly once (peer- and
 *    server-initiated streams alike), and before session_close of its
 *    session. After session_close, no callback mentions that session or its
 *    streams again.
 *  - A session whose session_request returned 200 gets exactly one
 *    session_close (also at shutdown, from wt_app_ctx_del, with clean = 0).
 *    A refused session (any other status) gets no further callback: free in
 *    session_request whatever you allocated before refusing.
 *  - Handles stay valid until the close callback for them returns. Calls on a
 *    handle whose engine object is already gone (between the engine's close
 *    and its delivery) fail with WT_ERR_CLOSED.
 *
 * A ctx, its sessions and streams belong to their worker thread. The
 * router is built once per thread (shards look routes up, workers run them).
 *
 * A program gives its applications to the server as modules (wt_app_module
 * at the end): routes per router, per-worker state, and statistics hooks
 * (counters the server sums over the workers, extra JSON and metric lines).
 *
 * This header is the contract of embedding programs and of the built-in
 * applications (apps/): it needs only core/base headers (wt_buf.h). */
#ifndef WT_APP_H
#define WT_APP_H

#include <stddef.h>
#include <stdint.h>

#include "wt_buf.h"

typedef struct wt_app_ctx wt_app_ctx;
typedef struct wt_app_router wt_app_router;
typedef struct wt_app_session wt_app_session;
typedef struct wt_app_stream wt_app_stream;

/* One header field: lowercase name and value, NUL-terminated. */
typedef struct wt_app_header {
  const char *name, *value;
} wt_app_header;

/* Most protocols the server may be configured to speak
 * (wt_runtime_config.protocols, wtcast --wt-protocols). */
#define WT_APP_MAX_PROTOCOLS 16

/* The extended CONNECT of a new session. Strings are NUL-terminated and
 * valid only during session_request (and worker_hint); copy what you keep. */
typedef struct wt_app_request {
  const char *path;      /* the full :path, e.g. "/echo?push=1" */
  const char *query;     /* the part after the first '?', "" when none */
  const char *authority; /* may be NULL */
  const char *origin;    /* may be NULL (non-browser clients) */
  /* every regular field of the request in the order received (origin
   * included, no pseudo-headers), within the engine's bounds (64 fields,
   * 16 KiB by default: larger requests are answered 431 before any app
   * sees them) */
  const wt_app_header *headers;
  size_t n_headers;
  /* the application protocols the client offers (WT-Available-Protocols,
   * a Structured Field List of Strings, in the client's order; none when
   * absent or malformed; docs/protocol.md section 3) */
  const char *const *protocols;
  size_t n_protocols;
} wt_app_request;

/* The callbacks of one application. Every member except name may be NULL:
 * a NULL session_request accepts (200); other NULL callbacks drop the event
 * (stream data is then discarded). */
typedef struct wt_app_ops {
  const char *name; /* for logs */
  /* A CONNECT for this path: return 200 to accept, or an HTTP status
   * (400, 403, 404, 429, 503 ...) to refuse. wt_app_session_set_user may be
   * called here; commands that need an open session fail until session_open. */
  int (*session_request)(wt_app_session *as, const wt_app_request *req);
  void (*session_open)(wt_app_session *as);
  /* DRAIN capsule or GOAWAY from the peer, or this server shutting down. */
  void (*session_drain)(wt_app_session *as);
  /* The session ended: clean = 1 for a CLOSE capsule or FIN (code/reason are
   * the peer's, or ours after wt_app_close_session), 0 for a reset,
   * connection loss or shutdown. Free the per-session state here. */
  void (*session_close)(wt_app_session *as, uint32_t code, const uint8_t *reason, size_t len,
                        int clean);
  /* A peer-initiated stream (bidi or uni) appeared on an open session. */
  void (*stream_open)(wt_app_stream *st);
  /* Bytes in order; fin = 1 on the last call for this stream (len may be 0). */
  void (*stream_data)(wt_app_stream *st, const uint8_t *data, size_t len, int fin);
  /* RESET_STREAM from the peer: no more data comes. has_code = 0 when the
   * peer's code carried no WT application code. */
  void (*stream_reset)(wt_app_stream *st, uint32_t code, int has_code);
  /* STOP_SENDING from the peer: our writes on this stream now fail. */
  void (*stream_stop)(wt_app_stream *st, uint32_t code, int has_code);
  /* After a write failed with WT_ERR_AGAIN, the send buffer has room again. */
  void (*stream_writable)(wt_app_stream *st);
  /* Both directions are done (or the session ended). Free per-stream state. */
  void (*stream_close)(wt_app_stream *st);
  void (*datagram)(wt_app_session *as, const uint8_t *data, size_t len);
  /* Which application worker handles a session: hint % workers. NULL =
   * spread the sessions over the workers. Called on the shard's thread
   * with the request (no session exists yet): keep it pure. The relay uses
   * it to put every session of a channel on the channel's owner worker. */
  uint32_t (*worker_hint)(const wt_app_request *req);
  /* Outgoing sessions only (wt_app_connect): the session did not open:
   * status is the server's HTTP status (e.g. 401, 404, 508), or 0 when no
   * answer came (connection failed or lost, handshake or certificate
   * failure, no route, outgoing sessions not configured). The handle is
   * invalid once it returns; no other callback follows. */
  void (*session_refused)(wt_app_session *as, int status);
} wt_app_ops;

/* ------------------------------------------------------------------ authorization */

/* What a request wants to do with a path (wt_app_authorizer.check). */
#define WT_APP_AUTH_PUBLISH   0
#define WT_APP_AUTH_SUBSCRIBE 1

/* Access control a program hands to the applications that enforce it (the
 * built-in relay: wt_apps_config.auth; wtcast builds it from --auth-keys,
 * ops/wt_authz.h). check answers 0 (allowed) or the HTTP status to refuse
 * the request with: 401 (no credentials, or invalid ones), 403 (valid, but
 * not for this): for the request req of session as (inside
 * session_request) wanting action on path (a '/'-separated name, e.g. a
 * relay channel). It may add response fields to as
 * (wt_app_session_add_header, e.g. www-authenticate) and set when the
 * session's credential ends (wt_app_session_expire_after: wtcast's
 * closes a session when its token expires). Called on the
 * application workers, several at once: it must be thread-safe and must
 * not block (no network). The authorizer must outlive the server. */
typedef struct wt_app_authorizer {
  int (*check)(void *arg, wt_app_session *as, const wt_app_request *req, int action,
               const char *path);
  void *arg;
} wt_app_authorizer;

/* ------------------------------------------------------------------ cluster */

/* Where a channel is published in the cluster (the relay cascade;
 * docs/operations.md "Cluster"). A program hands one to the applications
 * that pull from other nodes (the built-in relay: wt_apps_config.locator;
 * wtcast builds it in ops/wt_cluster from `--cluster redis://HOST:PORT` or
 * `[cluster] peers = ...`); NULL = a single node (no cascade). Every
 * function is called on the application workers, several at once: it must
 * be thread-safe and must not block (no network round trip: the
 * implementation answers from state it keeps current on its own thread).
 *
 * lookup: candidate number idx (0, 1, ...) of the node to pull `name` of
 * application `kind` ("relay", later "moq") from, never this node itself:
 * its advertised address "HOST:PORT" (NUL-terminated, at most cap bytes with
 * the NUL) into addr. Returns 1 (addr filled), 0 (no candidate idx: not
 * known to be published elsewhere), or WT_ERR_UNSUPPORTED when the registry
 * cannot be reached and nothing is known (the caller refuses with a clear
 * error). A registry answers at most one candidate (the publisher's node); a
 * static peer list answers its peers in order.
 *
 * publish: this node starts (live = 1) or stops (live = 0) publishing `name`
 * of `kind`; the locator records it (with a TTL it keeps refreshing while
 * live) so that other nodes' lookups find it. Calls for one name come in
 * order from one worker (the name's owner).
 *
 * The locator must outlive the server. */
typedef struct wt_app_locator {
  int (*lookup)(void *arg, const char *kind, const char *name, unsigned idx, char *addr,
                size_t cap);
  void (*publish)(void *arg, const char *kind, const char *name, int live);
  void *arg;
} wt_app_locator;

/* ------------------------------------------------------------------ router */

#define WT_APP_MAX_ROUTES   32
#define WT_APP_MAX_PATH_LEN 255

/* Create an empty router. Returns 0 or WT_ERR_INVAL / WT_ERR_NOMEM. */
int wt_app_router_new(wt_app_router **out);
void wt_app_router_del(wt_app_router *r);

/* Route the exact path (starting with '/', no '?', at most
 * WT_APP_MAX_PATH_LEN bytes; copied) to ops with arg (given back by
 * wt_app_session_arg). ops must outlive the router. Returns 0, WT_ERR_INVAL
 * (bad path or NULL), WT_ERR_STATE (path already routed) or WT_ERR_LIMIT
 * (WT_APP_MAX_ROUTES reached). */
int wt_app_router_add(wt_app_router *r, const char *path, const wt_app_ops *ops, void *arg);

/* The ops routed for a :path: only the part before the first '?' is
 * compared, exactly (byte for byte, no decoding). NULL when nothing matches
 * (the caller answers 404). *arg receives the route's arg if arg is not NULL.
 * A route whose path ends in "/" + "*" (e.g. "/moq/" + "*") is a prefix route: it
 * matches every path that starts with the part before the '*' and has at
 * least one more byte ("/moq/a/b", not "/moq/" nor "/moq"), when no exact
 * route matches; the longest such prefix wins. */
const wt_app_ops *wt_app_router_find(const wt_app_router *r, const char *path, void **arg);

/* ------------------------------------------------------------------ query strings */

#define WT_APP_QUERY_MAX 4096 /* longer query strings are treated as empty */

/* Look up name in query (the part after '?', without it; NULL = empty).
 * Parameters are separated by '&'; a parameter without '=' has the empty
 * value. Keys and values are URL-decoded ('+' is a space, %XX a byte) before
 * comparing or returning; the first parameter whose key equals name wins,
 * parameters with a malformed escape (bad hex, truncated) are skipped as if
 * absent. The decoded value is written to buf with a terminating NUL (it may
 * contain NUL bytes itself: use the returned length).
 * Returns the value's length, WT_ERR_NOTFOUND (absent or malformed),
 * WT_ERR_NOBUF (the value needs more than cap - 1 bytes; buf holds "") or
 * WT_ERR_INVAL (NULL name, or buf NULL / cap 0). */
int wt_app_query_get(const char *query, const char *name, char *buf, size_t cap);

/* Like wt_app_query_get for an unsigned decimal value: 1 to 20 digits, no
 * sign, space or suffix, at most UINT64_MAX. Returns 0 with *out set, or
 * WT_ERR_NOTFOUND when the parameter is absent, empty, malformed or
 * overflows (*out unchanged). */
int wt_app_query_get_u64(const char *query, const char *name, uint64_t *out);

/* ------------------------------------------------------------------ dispatch context */

typedef struct wt_app_ctx_stats {
  uint64_t not_found; /* CONNECTs refused with 404 (no route; counted by the shard) */
  /* accepted sessions by the protocol answered in WT-Protocol: [i] the
   * server's i-th configured protocol (wt_runtime_config.protocols),
   * [WT_APP_MAX_PROTOCOLS] none, [WT_APP_MAX_PROTOCOLS + 1] another one
   * (an application's own choice) */
  uint64_t protocol_sessions[WT_APP_MAX_PROTOCOLS + 2];
  uint64_t refused;           /* CONNECTs an application refused */
  uint64_t alloc_failed;      /* sessions/streams refused for lack of memory */
  uint64_t sessions_live;     /* app sessions not yet closed */
  uint64_t streams_live;      /* app stream handles not yet freed */
  uint64_t events, commands;  /* ring messages handled / posted */
  uint64_t send_window_grows; /* a stream's send credit grew with its connection's window */
} wt_app_ctx_stats;

/* A ctx is one application worker's dispatcher (wt_app_ctx.h creates it).
 * The loop time (CLOCK_MONOTONIC ns) that timer delays are measured from: */
uint64_t wt_app_now(const wt_app_ctx *ctx);
const wt_app_ctx_stats *wt_app_ctx_get_stats(const wt_app_ctx *ctx);
/* The worker's index (0..M-1) and the number of workers. */
uint32_t wt_app_ctx_worker(const wt_app_ctx *ctx);

/* ------------------------------------------------------------------ timers */

typedef void (*wt_app_timer_fn)(void *arg);

/* Call fn(arg) once, delay_ns after the loop time (fires at the first loop
 * turn at or after it; delay 0 = next turn). *id (may be NULL) receives an
 * id for wt_app_timer_cancel. Returns 0, WT_ERR_INVAL or WT_ERR_NOMEM. */
int wt_app_timer_add(wt_app_ctx *ctx, uint64_t delay_ns, wt_app_timer_fn fn, void *arg,
                     uint64_t *id);

/* Cancel a pending timer. Returns 0 or WT_ERR_NOTFOUND (0, fired, cancelled). */
int wt_app_timer_cancel(wt_app_ctx *ctx, uint64_t id);

/* ------------------------------------------------------------------ sessions */

wt_app_ctx *wt_app_session_ctx(const wt_app_session *as);
void *wt_app_session_arg(const wt_app_session *as); /* the route's arg */
void wt_app_session_set_user(wt_app_session *as, void *user);
void *wt_app_session_get_user(const wt_app_session *as);
uint64_t wt_app_session_id(const wt_app_session *as); /* the CONNECT stream id */

/* Protocol negotiation and response fields (docs/protocol.md section 3).
 * Both only inside session_request (WT_ERR_STATE elsewhere): they shape
 * the answer to the CONNECT.
 *
 * wt_app_session_set_protocol: answer WT-Protocol = protocol, which must be
 * one of req->protocols (WT_ERR_INVAL otherwise: a server never names one
 * the client did not offer); NULL: answer none. Without a call, the
 * server's configured protocols (wtcast --wt-protocols, in preference
 * order) decide: the first of them the client offered, else none.
 *
 * wt_app_session_add_header: one more response field (on a 200 or a
 * refusal, e.g. retry-after with 429). name: lowercase token, not a
 * pseudo-header, not connection-specific (connection, keep-alive,
 * proxy-connection, te, transfer-encoding, upgrade), not one the server
 * writes (content-length, wt-protocol, wt-available-protocols,
 * sec-webtransport-http3-draft*); value: no CR/LF/NUL, no leading or
 * trailing blank. At most 16 fields and 4096 bytes per session.
 * Returns 0, WT_ERR_INVAL, WT_ERR_LIMIT, WT_ERR_STATE, WT_ERR_NOMEM.
 *
 * wt_app_session_protocol: the protocol answered (from session_open on;
 * NULL = none); valid while the handle is.
 *
 * wt_app_choose_protocol: the first of prefs[0..n) that req offers, or
 * NULL (pure; for applications with their own preference list). */
int wt_app_session_set_protocol(wt_app_session *as, const char *protocol);
int wt_app_session_add_header(wt_app_session *as, const char *name, const char *value);
const char *wt_app_session_protocol(const wt_app_session *as);
const char *wt_app_choose_protocol(const wt_app_request *req, const char *const *prefs, size_t n);

/* Open a server-initiated stream on an open session. *out is valid until
 * its stream_close and may be written to at once. When the peer's stream
 * limit is reached the shard opens it as soon as the peer allows (the
 * writes wait); if the session ends first, stream_close follows. Returns
 * 0, WT_ERR_STATE (session not open), WT_ERR_CLOSED, WT_ERR_NOMEM. */
int wt_app_open_stream(wt_app_session *as, int bidi, wt_app_stream **out);

/* Send one datagram (copied into a buffer). Returns 0, WT_ERR_RANGE
 * (larger than wt_app_max_datagram), WT_ERR_STATE, WT_ERR_CLOSED,
 * WT_ERR_NOMEM. A full queue on the way drops it (counted by the shard). */
int wt_app_send_datagram(wt_app_session *as, const uint8_t *data, size_t len);
size_t wt_app_max_datagram(const wt_app_session *as); /* 0 = none possible */

/* Close the session with a CLOSE_WEBTRANSPORT_SESSION capsule (code, reason
 * of at most 1024 bytes of UTF-8). session_close follows (clean = 1, with
 * this code), after the current callback returns. Returns 0, WT_ERR_INVAL,
 * WT_ERR_STATE, WT_ERR_CLOSED. */
int wt_app_close_session(wt_app_session *as, uint32_t code, const uint8_t *reason, size_t len);

/* A session admitted on a credential that expires (wt_authz: a token's exp
 * plus the verifier's leeway) must not outlive it. Inside session_request
 * (an authorizer calls it): if the session is accepted, delay_ns after now
 * it is closed with CLOSE_WEBTRANSPORT_SESSION(code, reason) (reason: at
 * most WT_APP_EXPIRE_REASON_MAX bytes, copied), unless it ended first; the
 * worker logs it (info) and calls fn(arg, as) first when fn is not NULL
 * (counting it: fn must be thread-safe, arg must outlive the server). One
 * timer per session, not a check per packet; a second call keeps the
 * earlier deadline. A deadline that passes before the session is open
 * closes it right after session_open. Returns 0, WT_ERR_STATE (outside
 * session_request) or WT_ERR_INVAL. */
#define WT_APP_EXPIRE_REASON_MAX 64
#define WT_APP_CLOSE_EXPIRED     0x14u /* the close code wtcast's authorizer uses */
typedef void (*wt_app_expire_fn)(void *arg, wt_app_session *as);
int wt_app_session_expire_after(wt_app_session *as, uint64_t delay_ns, uint32_t code,
                                const char *reason, wt_app_expire_fn fn, void *arg);

/* ------------------------------------------------------------------ outgoing sessions */

/* A session this worker opens to another server (an edge relay pulling a
 * channel from its origin: docs/operations.md "Cluster"). The shard the
 * worker hands it to opens a QUIC client connection inside its own server
 * engine (one per session, closed with it), through its own socket, with
 * the process's client trust (wtcast: --cluster-pin, --cluster-ca or
 * --cluster-insecure; none: every connect is refused with status 0).
 * Strings are copied. */
typedef struct wt_app_connect_req {
  const char *authority;        /* "HOST:PORT", HOST a numeric IPv4 or [IPv6] address
                                   (no name resolution on a shard); also the :authority */
  const char *path;             /* the :path, query included, e.g. "/sub?ch=a&hops=1" */
  const char *server_name;      /* TLS SNI (and the name a CA check wants); NULL: none */
  const char *const *protocols; /* offered as WT-Available-Protocols (may be 0) */
  size_t n_protocols;
} wt_app_connect_req;

/* Open an outgoing session handled by ops with arg (wt_app_session_arg).
 * *out is valid at once (set_user on it): then either session_refused
 * (the only callback), or session_open followed by the usual callbacks
 * and exactly one session_close. Commands that need an open session fail
 * with WT_ERR_STATE until session_open. Returns 0, WT_ERR_INVAL (NULL or
 * empty authority/path, too long, too many protocols), WT_ERR_STATE (the
 * worker is shutting down: from inside the closes it delivers then),
 * WT_ERR_NOMEM. */
int wt_app_connect(wt_app_ctx *ctx, const wt_app_connect_req *req, const wt_app_ops *ops, void *arg,
                   wt_app_session **out);

/* Outgoing sessions, from session_open on: the value of the response's
 * field name (lowercase), or NULL. */
const char *wt_app_session_response_field(const wt_app_session *as, const char *name);

/* ------------------------------------------------------------------ streams */

wt_app_session *wt_app_stream_session(const wt_app_stream *st); /* NULL once closed */
void wt_app_stream_set_user(wt_app_stream *st, void *user);
void *wt_app_stream_get_user(const wt_app_stream *st);
uint64_t wt_app_stream_id(const wt_app_stream *st);
int wt_app_stream_is_bidi(const wt_app_stream *st);
int wt_app_stream_is_local(const wt_app_stream *st); /* opened by wt_app_open_stream */

/* Queue up to len bytes (and FIN when fin and all len bytes fit). Each
 * stream has a send credit (wt_app_ctx_config.stream_credit, default 1
 * MiB): bytes written and not yet acknowledged by the peer. It grows to
 * twice the connection's congestion window (at most stream_credit_max,
 * default 8 MiB), so one stream can fill a long fat path. Returns the
 * bytes accepted (may be < len; 0 for len 0 with fin), WT_ERR_AGAIN (no
 * credit: stream_writable follows once half of it is back), WT_ERR_STATE
 * (after FIN or reset, or a peer uni stream), WT_ERR_CLOSED. */
int wt_app_stream_write(wt_app_stream *st, const uint8_t *data, size_t len, int fin);

/* RESET_STREAM (abort our send side) / STOP_SENDING (abort the peer's) with
 * a 32-bit application code. Return 0, WT_ERR_STATE or WT_ERR_CLOSED. */
int wt_app_stream_reset(wt_app_stream *st, uint32_t code);
int wt_app_stream_stop_sending(wt_app_stream *st, uint32_t code);

/* Back-pressure on what the peer sends (QUIC flow control). By default a
 * stream's bytes are acknowledged to the peer's flow control as soon as
 * stream_data returns, so a peer can send without limit however slowly the
 * application gets rid of them. After wt_app_stream_set_manual_credit(st, 1)
 * (best in stream_open), received bytes count as unconsumed until
 * wt_app_stream_consume(st, n) says the application is done with n more of
 * them: the peer can then be at most one stream window (1 MiB by default,
 * more once the engine's window auto-tuning grew it) ahead of what was
 * consumed, and stops there. on = 0 returns to the default and consumes
 * whatever is outstanding. Anything unconsumed when the stream is reset,
 * stopped or closed is released by the engine (never leaks the connection
 * window). set: 0, WT_ERR_STATE (no receive side), WT_ERR_CLOSED. consume:
 * the bytes credited (bounded by what was delivered and not consumed; 0
 * without manual credit), WT_ERR_STATE, WT_ERR_CLOSED. */
int wt_app_stream_set_manual_credit(wt_app_stream *st, int on);
int wt_app_stream_consume(wt_app_stream *st, size_t n);

/* ------------------------------------------------------------------ buffers */

/* A buffer from the worker's pool with room for size bytes (len 0, one
 * reference), for payloads an app builds once and sends many times
 * (wt_app_group_*). NULL when memory is short. */
wt_buf *wt_app_buf_alloc(wt_app_ctx *ctx, size_t size);
/* During a stream_data or datagram callback: the buffer holding data (take
 * a reference with wt_buf_ref to keep the bytes without copying them) and
 * data's offset in it; NULL outside those callbacks. */
wt_buf *wt_app_event_buf(wt_app_ctx *ctx, size_t *off);

/* ------------------------------------------------------------------ fan-out groups */

/* A group is a set of sessions (on any shards) that receive the same
 * datagrams and the same mirrored uni streams. The worker posts each
 * payload once per shard that has members (one reference-counted buffer,
 * never a copy per member); the shard writes it to each local member. A
 * member whose mirrored streams' data not yet acknowledged holds more
 * than lag_max bytes has its oldest mirrored streams reset with
 * WT_APP_GROUP_LAGGED (a whole stream, never a torn one) and its datagrams
 * dropped when its queue is full; it never slows the others. After such a
 * reset, the group streams that start are dropped for it (see "Group
 * headers") until its backlog is back under lag_max / 2. What it holds
 * is counted as memory, not payload: the capacity of each distinct
 * buffer its unacknowledged bytes reference, once per member however many
 * slices of it are queued (one-byte groups each pin a whole buffer).
 * Members leave
 * by wt_app_group_leave or when their session ends. Counters are updated
 * by the shards (relaxed atomics).
 *
 * Counters are reference-counted: the shards that mirror a group keep
 * writing them until they have processed the group's deletion, which
 * happens after wt_app_group_del returns. Create them with
 * wt_app_group_counters_new (one reference, the caller's); every group
 * using them and every shard mirroring such a group holds its own; the
 * last wt_app_group_counters_unref frees them. ref/unref are thread-safe. */
#define WT_APP_GROUP_LAGGED 0x10u /* reset code of a mirrored stream dropped for lag */
/* Group headers. A group stream may declare that its first hdr_len bytes
 * (at most WT_APP_GROUP_HDR_MAX) are its header: what tells a subscriber
 * which group it is (the relay's convention: wt_apps.h; MoQ: the subgroup
 * header). When the member's peer negotiated reset_stream_at (wt_engine.h
 * wt_session_can_reset_at), the header is never lost to a lag reset:
 *  - a mirrored stream reset for lag keeps the WebTransport stream header
 *    and the group header deliverable (RESET_STREAM_AT, Reliable Size =
 *    both; the bytes after them are dropped), so the subscriber reads the
 *    header, then sees the reset with WT_APP_GROUP_LAGGED;
 *  - a group that starts while the member is over its lag bound is still
 *    opened for it, but carries only the group header and is reset at once
 *    with WT_APP_GROUP_LAGGED (a "lag notice"); at most
 *    WT_APP_GROUP_NOTICES_MAX of them are outstanding per member (not yet
 *    closed by the peer; further groups are skipped, counted), and they
 *    take stream credit like any stream (none: skipped, counted in
 *    dropped_streams_limit).
 * Without reset_stream_at, or with hdr_len 0, a lagged group is reset with
 * RESET_STREAM (the peer may see nothing of it) or skipped before it opens.
 * The header bytes are not counted in the lag bound of a notice, nor as
 * delivered bytes. */
#define WT_APP_GROUP_HDR_MAX     64u
#define WT_APP_GROUP_NOTICES_MAX 4u

typedef struct wt_app_group wt_app_group;

typedef struct wt_app_group_counters {
  _Atomic uint64_t delivered_datagrams, delivered_stream_bytes, delivered_streams;
  _Atomic uint64_t dropped_datagrams;      /* member's datagram queue full, or too big */
  _Atomic uint64_t dropped_streams_lagged; /* mirrored streams reset for lag */
  _Atomic uint64_t dropped_streams_limit;  /* member's stream limit reached: group skipped */
  /* of dropped_streams_lagged, those reset with their group header kept
   * deliverable (reset_stream_at: a lag reset after the whole header was
   * written, or a lag notice): the member can tell which group it lost */
  _Atomic uint64_t dropped_streams_lagged_hdr;
  /* pooled members (wt_app_group_join_opts): of dropped_streams_lagged,
   * the groups dropped to make room for another group of the same session
   * (a track of equal or higher priority: "the lowest priority first") */
  _Atomic uint64_t dropped_streams_priority;
  /* pooled members with a max latency: groups older than it while a newer
   * group of theirs exists, reset (or not opened) for that member */
  _Atomic uint64_t dropped_streams_latency;
  /* the most groups one member lost (lagged, of which priority, limit,
   * latency): the worst subscriber of the groups using these counters,
   * without a series per subscriber */
  _Atomic uint64_t member_dropped_max;
  _Atomic uint32_t refs_; /* internal: the references (ref/unref) */
} wt_app_group_counters;

/* Zeroed counters holding one reference (the caller's); NULL on OOM. */
wt_app_group_counters *wt_app_group_counters_new(void);
/* Take / drop a reference (NULL: no-op); the last unref frees them. */
void wt_app_group_counters_ref(wt_app_group_counters *c);
void wt_app_group_counters_unref(wt_app_group_counters *c);

/* Create a group; counters (may be NULL, else from
 * wt_app_group_counters_new) get a reference of the group's own and one per
 * shard that mirrors it. Returns 0, WT_ERR_INVAL, WT_ERR_NOMEM. */
int wt_app_group_new(wt_app_ctx *ctx, uint64_t lag_max, wt_app_group_counters *counters,
                     wt_app_group **out);
/* Reset the mirrored streams still open (FIN not written) with code, forget
 * every member, free. A whole group (FIN written) still in flight to a
 * member is left to complete, on del as on leave. */
void wt_app_group_del(wt_app_group *g, uint32_t code);
/* Add an open session (of this worker) / remove it (its incomplete mirrored
 * streams are reset with code 0). 0, WT_ERR_STATE, WT_ERR_CLOSED. */
int wt_app_group_join(wt_app_group *g, wt_app_session *as);
int wt_app_group_leave(wt_app_group *g, wt_app_session *as);
/* Delivery policy of one member (a subscription with a priority and a
 * latency budget, e.g. moq-lite's SUBSCRIBE). A "pooled" member shares one
 * lag bound with the session's other pooled members (of any groups): their
 * backlogs are summed against the bound of the group being written (give
 * such groups the same lag_max), and when the sum is over it the oldest
 * mirrored stream of the session's LOWEST-priority pooled member (that has
 * one, and of a priority <= the writer's) is reset with
 * WT_APP_GROUP_LAGGED, until the write fits: so a lower-priority track
 * loses whole groups before a higher one loses any, and equal priorities
 * lose their oldest group first. With max_latency_ns > 0, a mirrored stream
 * of the member that is not its group's newest and was opened (its first
 * byte reached the shard) longer than max_latency_ns ago while bytes of it
 * are still unacknowledged is reset with WT_APP_GROUP_LAGGED too (checked
 * on the shard's clock whenever the member's group opens or writes a
 * stream: a group is never delivered later than the budget by more than
 * one group). Non-pooled members (wt_app_group_join, the default) keep
 * their own bound as above and no latency budget. Calling it again for a
 * member updates its policy (e.g. SUBSCRIBE_UPDATE). Returns as
 * wt_app_group_join. */
typedef struct wt_app_group_member_opts {
  uint8_t pooled;
  uint8_t priority;        /* higher is more important */
  uint64_t max_latency_ns; /* 0 = unbounded */
} wt_app_group_member_opts;
int wt_app_group_join_opts(wt_app_group *g, wt_app_session *as,
                           const wt_app_group_member_opts *opts);
size_t wt_app_group_members(const wt_app_group *g);
/* Send len bytes of b at off as a datagram to every member (b is
 * referenced, not taken: the caller keeps its own reference). */
int wt_app_group_send_datagram(wt_app_group *g, wt_buf *b, size_t off, size_t len);
/* Open a mirrored stream (one server uni stream per member); returns its
 * id (> 0). Writes append len bytes of b at off to it on every member that
 * still follows it; fin ends it. Reset aborts it with code everywhere. */
uint64_t wt_app_group_stream_open(wt_app_group *g);
/* The same for a stream whose first hdr_len bytes (<= WT_APP_GROUP_HDR_MAX)
 * are its group header (see "Group headers" above); returns 0 for a bad
 * hdr_len. wt_app_group_stream_open is hdr_len 0. */
uint64_t wt_app_group_stream_open_hdr(wt_app_group *g, uint32_t hdr_len);
int wt_app_group_stream_write(wt_app_group *g, uint64_t gsid, wt_buf *b, size_t off, size_t len,
                              int fin);
int wt_app_group_stream_reset(wt_app_group *g, uint64_t gsid, uint32_t code);
/* A late joiner: make member as (joined) follow the open mirrored stream
 * gsid from its beginning: opens its stream and writes it the bytes given
 * by the following wt_app_group_catchup_data calls (in order, the caller's
 * copy of what gsid carried so far), then the live writes follow. The
 * group header length is the one gsid was opened with when gsid is the
 * group's newest stream, else 0. */
int wt_app_group_catchup(wt_app_group *g, wt_app_session *as, uint64_t gsid);
int wt_app_group_catchup_data(wt_app_group *g, wt_app_session *as, uint64_t gsid, wt_buf *b,
                              size_t off, size_t len, int fin);

/* ------------------------------------------------------------------ modules */

/* Text output of the statistics hooks: append printf-style text to sink.
 * Returns 0 or a negative WT_ERR_* code (stop and return it then). */
typedef int (*wt_app_print_fn)(void *sink, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define WT_APP_MAX_MODULES  8  /* modules of one server */
#define WT_APP_MAX_COUNTERS 64 /* counters of all its modules together */

/* A set of applications as a program hands it to the server (wt_server.h:
 * wt_server_config.modules). Every hook may be NULL. The module and what
 * it points to must outlive the server; hooks marked "any thread" must be
 * safe to call while the workers run (their own lock or atomics). */
typedef struct wt_app_module {
  const char *name; /* for logs */
  void *arg;        /* given back to every hook */
  /* Add the module's routes to r and create its state for r in *state
   * (NULL before the call; may stay NULL). Called on the thread that owns
   * r: once per shard (on_worker = 0, index = the shard: lookups and
   * worker_hint only, no other callback ever runs there, so the routes'
   * arg may be NULL) and once per application worker (on_worker = 1,
   * index = the worker: the callbacks of one worker run on its thread
   * only, so per-worker state needs no lock). Return 0 or an error
   * (start-up fails). */
  int (*init)(void *arg, wt_app_router *r, int on_worker, uint32_t index, void **state);
  /* Free what init made, on the same thread, after every session of r
   * closed. */
  void (*fini)(void *arg, void *state);
  /* Counters: n_counters names, the keys of the "apps" object of the
   * SIGUSR1 line (after the dispatcher's own), in this order. */
  const char *const *counter_names;
  size_t n_counters;
  /* On the worker's thread: copy state's counters into out[0..n_counters). */
  void (*counters)(void *arg, void *state, uint64_t *out);
  /* Any thread: the metric lines (Prometheus text, names wtcast_*) of the
   * counters summed over the workers (sums, n_counters of them) and of the
   * dispatchers' summed stats (ctx). */
  int (*metrics)(void *arg, const uint64_t *sums, const wt_app_ctx_stats *ctx,
                 wt_app_print_fn print, void *sink);
  /* Any thread: more metric lines (state that is not a per-worker sum, e.g.
   * per channel), after every module's counter lines. */
  int (*metrics_extra)(void *arg, wt_app_print_fn print, void *sink);
  /* Any thread: the value of member json_key appended to the SIGUSR1 line
   * (a JSON value, no newline) into buf. Returns its length or
   * WT_ERR_NOBUF (the line then says null). */
  const char *json_key;
  int (*stats_json)(void *arg, char *buf, size_t cap);
  /* Any thread: more members of a JSON object whose counters are the ones
   * named prefix... (wt_metrics_new_json, e.g. the demo listener's
   * /moq.json for "moq_"), each as ,"name":value; nothing when the module
   * has none for prefix. Returns 0 or print's error. */
  int (*json_extra)(void *arg, const char *prefix, wt_app_print_fn print, void *sink);
} wt_app_module;

#endif
