/* wt_engine.h: the wtcast protocol engine (public API).
 *
 * One engine per shard. It owns that shard's QUIC connections (ngtcp2 +
 * wolfSSL), their HTTP/3 layer (nghttp3) and the WebTransport sessions,
 * streams and datagrams on top (draft-ietf-webtrans-http3, see
 * docs/protocol.md). The engine is sans-I/O: received UDP payloads
 * come in through wt_engine_recv() with their path and a timestamp; packets to
 * send are written into caller-owned buffers by wt_engine_write(); timers are
 * driven by wt_engine_next_expiry() / wt_engine_handle_expiry(). The engine
 * never reads a clock, never makes a system call and never creates a thread.
 *
 * Threading: an engine and every object reached from it (wt_conn, wt_session,
 * wt_stream) belong to the thread that calls the engine. Commands
 * (wt_session_*, wt_stream_*) may be called from inside the callbacks or
 * between engine calls on that same thread.
 *
 * Errors: negative WT_ERR_* codes (wt_error.h). Bad peer input or OOM never
 * aborts: the affected stream, session or connection is closed and counted
 * in wt_engine_stats. */
#ifndef WT_ENGINE_H
#define WT_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "wt_error.h"
#include "wt_mem.h"
#include "wt_qlb.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wt_engine wt_engine;   /* one per shard: its connections, CID table, timers */
typedef struct wt_conn wt_conn;       /* one QUIC connection */
typedef struct wt_session wt_session; /* valid from session_request/session_open until
                                         session_close returns (or session_refused returns) */
typedef struct wt_stream wt_stream;   /* valid until the stream_close callback returns */

/* A socket address; same layout as io's wt_io_addr. */
typedef struct wt_addr {
  struct sockaddr_storage ss;
  socklen_t len;
} wt_addr;

typedef struct wt_path {
  wt_addr local, remote;
} wt_path;

/* One header field: NUL-terminated name (lowercase, as received) and value. */
typedef struct wt_header {
  const char *name, *value;
} wt_header;

/* The pseudo-headers and origin of an extended CONNECT, every other field
 * of its header section, and the application protocols it offers. Strings
 * are NUL-terminated, NULL if absent, and valid only during the callback
 * (wt_session_headers / wt_session_protocols give them for as long as the
 * session handle lives). */
typedef struct wt_request {
  const char *method, *protocol, *scheme, *authority, *path, *origin;
  /* the regular fields in the order received (origin included; no
   * pseudo-headers), bounded by max_request_headers / _header_bytes */
  const wt_header *headers;
  size_t n_headers;
  /* WT-Available-Protocols as a Structured Field List of Strings (RFC 9651;
   * docs/protocol.md section 3), in the client's order; none when the
   * field is absent, malformed (counted: protocols_malformed), holds a
   * member that is not a String, or more than 32 members */
  const char *const *protocols;
  size_t n_protocols;
} wt_request;

typedef struct wt_engine_config {
  int is_server;
  const char *cert_file, *key_file; /* server: PEM certificate chain and private key */
  const uint8_t *pin_sha256;        /* client: 32-byte SHA-256 of the server leaf cert DER
                                       to accept (serverCertificateHashes semantics), or NULL */
  const char *ca_file;              /* client: CA bundle to verify against, or NULL */
  int insecure;                     /* client: accept any certificate */
  /* server: client connections inside this server engine (wt_engine_connect:
   * an edge node's upstream sessions; docs/architecture.md "Client
   * connections in a server engine"): the trust of their TLS context, a
   * second one beside the server's, as pin_sha256 / ca_file / insecure
   * above. None set: no client connections (wt_engine_connect answers
   * WT_ERR_STATE). Their CIDs carry this shard's steering byte (and the
   * QUIC-LB encoding) like the server's, so the replies come back to this
   * engine; they speak the DRAFT02 dialect, keep themselves alive (PING
   * after keep_alive_ns of silence, or idle_timeout_ns / 3 when that is 0)
   * and take no part in the memory budget. */
  const uint8_t *client_pin_sha256;
  const char *client_ca_file;
  int client_insecure;
  uint32_t shard_id, n_shards; /* server CIDs: byte0 % n_shards == shard_id */
  size_t scid_len;             /* server CID length, 8..20, default 16 */
  /* server: QUIC-LB connection IDs (core/wt_qlb.h; qlb.enabled = 0: off).
   * On: every CID is config rotation | shard (5 bits) || server ID || nonce,
   * plaintext or single-pass AES-128; scid_len becomes 1 + server ID +
   * nonce, the shard rule reads (byte0 & 0x1f) % n_shards, n_shards <= 32. */
  wt_qlb_params qlb;
  uint32_t max_sessions_per_conn;  /* default 16 */
  uint32_t max_buffered_streams;   /* default 24: WT streams arriving before their session */
  uint32_t max_buffered_datagrams; /* default 64: same for datagrams */
  /* WT streams buffered for a session the peer has not requested (no
   * CONNECT seen): reset with BUFFERED_STREAM_REJECTED after this long
   * (default 3 s; counted buffered_expired). Streams of a session whose
   * request is pending wait with it. */
  uint64_t buffered_timeout_ns;
  /* bytes buffered streams of one connection may hold, counted as the
   * capacity of their buffers; a stream that would go past it is reset with
   * BUFFERED_STREAM_REJECTED (default 1 MiB; counted buffered_rejected) */
  uint64_t max_buffered_bytes;
  uint32_t max_conns; /* default 100000 */
  /* server: bounds of one CONNECT's header section as kept by the engine:
   * fields (pseudo-headers included; default 64) and bytes (name + value +
   * 2 per field; default 16384). A request past either is answered 431
   * (counted: requests_too_large, logged). */
  uint32_t max_request_headers;
  uint32_t max_request_header_bytes;
  /* WebTransport dialects (docs/protocol.md section 2). Server: the SETTINGS
   * profile (WT_PROFILE_*; default COMPAT: every dialect's settings at once;
   * each client is answered in the dialect it spoke). Client: the dialect
   * it speaks, i.e. its SETTINGS and :protocol (default DRAFT02). */
  int wt_profile;
  /* Session flow control (draft-ietf-webtrans-http3-16 section 5; on for a
   * session when both ends sent a non-zero WT_INITIAL_* setting): what we
   * grant the peer per session at first (WT_INITIAL_MAX_DATA, default 16 MiB;
   * WT_INITIAL_MAX_STREAMS_BIDI / _UNI, default 100 each; all three 0 = not
   * offered). The data window grows as the application consumes, up to
   * wt_max_data_window (default 4 x wt_initial_max_data). */
  uint64_t wt_initial_max_data;
  uint64_t wt_initial_max_streams_bidi, wt_initial_max_streams_uni;
  uint64_t wt_max_data_window;
  /* Our streams of one session that wait for the peer's stream credit
   * (WT_MAX_STREAMS); wt_session_open_stream beyond it: WT_ERR_AGAIN.
   * Default 64. */
  uint32_t wt_max_waiting_streams;
  /* server: a CONNECT that arrives before the client's SETTINGS waits at
   * most this long (draft-16 section 3.1), then is refused
   * (H3_REQUEST_REJECTED). Default 2 s. */
  uint64_t settings_wait_ns;
  /* server: live connections per source address (an IPv4 address, an IPv6
   * /64) in this engine; an Initial beyond it gets a stateless
   * CONNECTION_REFUSED close (counted: conns_refused, conns_refused_per_ip).
   * Per engine, i.e. per shard: CID steering spreads one source's
   * connections over the shards, so a process admits up to n_shards x this.
   * Checked after the Retry decision, so while Retry is in force only
   * validated addresses fill it. Default 64. */
  uint32_t max_conns_per_ip;
  /* server: the process memory budget (core/base/wt_mem.h; docs/operations.md
   * "Limits"), shared by every engine of the process, or NULL (none). What
   * the engine holds (send buffers, buffered streams) is charged to it and
   * attributed to the connection and its source address. By level: credit
   * withheld (no MAX_DATA / MAX_STREAM_DATA extended), datagrams dropped
   * both ways, new connections refused (CONNECTION_REFUSED), then the
   * connection holding the most closed (H3_EXCESSIVE_LOAD, reason
   * "memory budget"), at most one per mem_close_interval_ns per engine,
   * until the level falls. */
  wt_mem_budget *mem;
  /* server: bytes one connection / one source address (the max_conns_per_ip
   * key; per engine) may hold; past it its receive credit is withheld, and
   * if it is still past it after mem_over_grace_ns the connection (for an
   * address: its costliest connection) is closed (H3_EXCESSIVE_LOAD).
   * A source over its budget gets no new connection either. 0 = none. */
  uint64_t max_conn_bytes, max_ip_bytes;
  uint64_t mem_over_grace_ns;     /* default 2 s */
  uint64_t mem_close_interval_ns; /* default 100 ms */
  uint64_t mem_tick_ns;           /* how often budgets are checked under pressure; default 50 ms
                                     (at rest 20 x this: the check visits every connection) */
  uint64_t handshake_timeout_ns;  /* default 10 s; then the connection is dropped */
  uint64_t idle_timeout_ns;       /* default 30 s */
  /* A PING after this long without receiving anything (ngtcp2's keep-alive;
   * 0 = off). A client needs it: when its NAT mapping changes while only the
   * server is sending, the server's packets go to the old mapping and nothing
   * reaches the client, so only a packet from the client shows the server the
   * new path (RFC 9000 section 9.3). Default: client 15 s (Chromium pings
   * after 15 s of silence with streams open), server 0. */
  uint64_t keep_alive_ns;
  uint64_t initial_max_data;        /* default 16 MiB (connection flow-control window) */
  uint64_t initial_max_stream_data; /* default 1 MiB (per-stream window) */
  uint64_t initial_max_streams_bidi, initial_max_streams_uni; /* default 100 each */
  size_t stream_send_buffer;  /* bytes a stream may have queued, default 1 MiB */
  const char *const *origins; /* Origin allow-list ... */
  size_t n_origins;           /* ... of this many entries; 0 = any origin */
  int enable_0rtt;            /* default 0 */
  size_t max_udp_payload;     /* default 1452; packets are built <= this */
  /* debugging: each TLS secret as one line of the SSLKEYLOGFILE format
   * (no newline) goes to keylog(keylog_user, line); NULL = off. Called on
   * the engine's thread from inside the engine entry points; the program
   * owns the file (core does no I/O). */
  void (*keylog)(void *user, const char *line);
  void *keylog_user;
  /* 1 (default): AES-GCM packet protection calls wolfCrypt directly once a
   * self-test passed (wt_crypto.h); 0: through wolfSSL's EVP layer. The
   * self-test runs once per process, so the first engine created decides.
   * Programs set 0 when WTCAST_NATIVE_CRYPTO=0 is in their environment. */
  int native_crypto;
  const char *tls_ciphers;      /* TLS 1.3 suites in wolfSSL syntax, e.g.
                                   "TLS13-AES128-GCM-SHA256"; NULL = AES-128-GCM,
                                   AES-256-GCM, ChaCha20-Poly1305 (wt_crypto.h) */
  const uint8_t *static_secret; /* 32 bytes for stateless reset tokens, shared by all
                                   shards of a process; NULL = random per engine */
  uint32_t max_datagram_queue;  /* outgoing datagrams queued per conn, default 256 */
  /* An outgoing datagram still queued this long after it was queued is
   * dropped when its turn comes (counted in datagrams_expired and
   * datagrams_dropped): at saturation a live stream's datagrams are late,
   * not sent half a second late. 0 = no bound (the default). Its age is
   * measured from the engine's time when it was queued: a program that
   * queues outside engine calls keeps that time current with
   * wt_engine_set_now (the shards do, and set 250 ms: wt_shard.c). */
  uint64_t max_datagram_age_ns;
  /* Nodes of referenced datagrams (wt_session_send_datagram_ref: the
   * fan-out path) come from a per-engine pool of up to this many; beyond
   * it, from malloc. Default 4096 (~0.4 MB at most); 0 = always malloc. */
  uint32_t dgram_pool_max;
  /* server: once our CLOSE_WEBTRANSPORT_SESSION capsule is acknowledged and
   * no session is left, wait max(3 x PTO, this) (3 x PTO capped at 2 s)
   * before closing the connection ourselves, so the peer can deliver the
   * close to its application first and close (or go silent) itself.
   * Chromium hands the capsule to the page asynchronously and reports
   * "Connection lost" if our CONNECTION_CLOSE overtakes it
   * (docs/protocol.md section 4). Default 200 ms; 0 = 3 x PTO only. */
  uint64_t close_grace_ns;
  /* server: address validation with Retry (RFC 9000 section 8.1.2).
   * WT_RETRY_AUTO sends a Retry to an Initial without a valid token while
   * more than retry_threshold handshakes are in progress; ALWAYS to every
   * such Initial; NEVER never. Retry and NEW_TOKEN tokens derive from
   * static_secret, so any shard (or a restarted process with the same
   * secret) validates them. Default AUTO, threshold 256. */
  int retry_mode;
  uint32_t retry_threshold;
  /* server, debugging: ngtcp2's qlog (JSON-SEQ, RFC 7464 records) of 1 in
   * qlog_sample new connections (accept order; 0 and 1 = every one) goes to
   * qlog_write(qlog_user, name, data, len, fin): name identifies the
   * connection (its original DCID in hex, NUL-terminated), fin = 1 on its
   * last call (len may be 0 then). A trace starts once the handshake
   * completed: the records before are held in memory (at most
   * WT_QLOG_HOLD_MAX, 16 KiB, per connection) and handed over then; a
   * connection whose handshake never completes (junk Initials, scans,
   * abandoned handshakes) is never handed over at all. NULL = off. Called
   * on the engine's thread from inside the engine entry points. */
  void (*qlog_write)(void *user, const char *name, const void *data, size_t len, int fin);
  void *qlog_user;
  uint32_t qlog_sample;
} wt_engine_config;

/* wt_engine_config.wt_profile (docs/protocol.md section 2). */
enum {
  WT_PROFILE_COMPAT = 0, /* every dialect's settings (server default) */
  WT_PROFILE_DRAFT02,    /* 0x2b603742 = 1 (client default) */
  WT_PROFILE_DRAFT07,    /* 0xc671706a (drafts 07..12) */
  WT_PROFILE_DRAFT14,    /* 0x14e9cd29 + WT_INITIAL_* (drafts 13, 14) */
  WT_PROFILE_DRAFT16,    /* 0x2c7cf000 = 1 + WT_INITIAL_*, :protocol webtransport-h3 */
};

/* wt_engine_config.retry_mode. */
enum { WT_RETRY_AUTO = 0, WT_RETRY_ALWAYS = 1, WT_RETRY_NEVER = 2 };

/* Fill c with the defaults above (server or client). */
void wt_engine_config_default(wt_engine_config *c, int is_server);
/* wt_engine_config.native_crypto for the value of the WTCAST_NATIVE_CRYPTO
 * environment variable (NULL: unset), which the program reads: 0 for "0",
 * else 1. */
int wt_engine_native_crypto_env(const char *value);

/* session_request may return this to answer the CONNECT later with
 * wt_session_respond (see there). */
#define WT_SESSION_DEFER 0

typedef struct wt_engine_callbacks {
  /* server: a CONNECT arrived for a WT session; return 200 to accept, or
   * 404/403/429/... to refuse with that status (the session is then freed
   * after the callback; session_close is not called for it), or
   * WT_SESSION_DEFER to answer later with wt_session_respond. */
  int (*session_request)(void *user, wt_session *s, const wt_request *req);
  /* server: after 200 was submitted; client: after 200 was received. */
  void (*session_open)(void *user, wt_session *s);
  /* Called once per opened session. clean = 1 for a CLOSE capsule or FIN,
   * 0 for a reset or connection loss. The session handle is invalid after. */
  void (*session_close)(void *user, wt_session *s, uint32_t code, const uint8_t *reason,
                        size_t reason_len, int clean);
  void (*session_drain)(void *user, wt_session *s); /* DRAIN capsule or GOAWAY received */
  /* client: non-200 reply (status) or reset before a reply (status 0). The
   * session handle is invalid after. */
  void (*session_refused)(void *user, wt_session *s, int status);
  void (*stream_open)(void *user, wt_session *s, wt_stream *st); /* peer-initiated WT stream */
  void (*stream_data)(void *user, wt_stream *st, const uint8_t *data, size_t len, int fin);
  void (*stream_reset)(void *user, wt_stream *st, uint32_t code, int has_code); /* RESET_STREAM */
  /* Peer STOP_SENDING: our send side is reset. ngtcp2 1.11 answers
   * STOP_SENDING itself and reports it to nobody, so this fires when the
   * engine notices (next write on the stream, or the stream closing); the
   * code is known (has_code = 1) only in the second case. */
  void (*stream_stop)(void *user, wt_stream *st, uint32_t code, int has_code);
  void (*stream_writable)(void *user, wt_stream *st); /* send buffer below half after AGAIN */
  void (*stream_close)(void *user, wt_stream *st); /* both directions done; handle invalid after */
  void (*datagram)(void *user, wt_session *s, const uint8_t *data, size_t len);
  void (*conn_close)(void *user, wt_conn *c, uint64_t error_code, int is_app);
} wt_engine_callbacks;

/* Create an engine. cfg and cb are copied (strings and arrays they point to
 * must outlive the engine). Returns 0, WT_ERR_CONFIG (bad config, unreadable
 * cert/key), WT_ERR_CRYPTO or WT_ERR_NOMEM. */
int wt_engine_new(wt_engine **out, const wt_engine_config *cfg, const wt_engine_callbacks *cb,
                  void *user, uint64_t now_ns);
/* Free the engine and every connection, session and stream (no callbacks
 * but the releases of referenced bytes, see wt_stream_write_ref). */
void wt_engine_del(wt_engine *e);

/* Process one received UDP datagram (ecn: the IP ECN bits). Returns 0; bad
 * packets are dropped and counted, never reported as errors. */
int wt_engine_recv(wt_engine *e, const wt_path *path, const uint8_t *pkt, size_t len, uint8_t ecn,
                   uint64_t now_ns);

/* Output: the engine fills caller-owned buffers. Each entry holds 1..max_segments
 * packets of equal size (segsize) back to back (the last may be shorter) for
 * one path: one GSO send. data points into buf. */
typedef struct wt_tx_entry {
  uint8_t *data;
  size_t len;
  size_t segsize;
  wt_path path;
  uint8_t ecn;
} wt_tx_entry;

typedef struct wt_tx_batch {
  uint8_t *buf;
  size_t cap, used;
  wt_tx_entry *ents;
  size_t n, max;
  size_t max_segments;
} wt_tx_batch;

/* Append entries to out (starting at out->n / out->used). Returns the number
 * of entries added (0 when nothing is to be sent now); call again after
 * flushing while it fills the batch. Negative only for WT_ERR_INVAL. */
int wt_engine_write(wt_engine *e, wt_tx_batch *out, uint64_t now_ns);

/* Absolute ns of the next timer; now (the last timestamp given) when output
 * is pending (call wt_engine_write); UINT64_MAX = none. Commands
 * (wt_session_*, wt_stream_*) only queue work: call wt_engine_write after
 * them. */
uint64_t wt_engine_next_expiry(const wt_engine *e);
/* Run the timers due at now_ns (retransmission, idle, close). Returns 0. */
int wt_engine_handle_expiry(wt_engine *e, uint64_t now_ns);
/* The time of the commands that follow (no other effect): a loop that
 * queues datagrams between engine calls sets it first, so their age
 * (max_datagram_age_ns) counts from now_ns. Never moves time backwards. */
void wt_engine_set_now(wt_engine *e, uint64_t now_ns);
/* GOAWAY + DRAIN capsule to every session; new CONNECTs are refused;
 * CONNECTs still waiting for wt_session_respond are answered 503 (and
 * session_close(clean = 0) is called for each). */
void wt_engine_shutdown(wt_engine *e, uint64_t now_ns);
/* Server: read cert_file and key_file again (NULL = the configured paths;
 * strings must outlive the engine) for new connections; live connections
 * keep the certificate they were made with. Returns 0, or WT_ERR_CONFIG /
 * WT_ERR_CRYPTO (logged) with the previous certificate still in use. */
int wt_engine_reload_cert(wt_engine *e, const char *cert_file, const char *key_file);
/* CONNECTION_CLOSE (H3_NO_ERROR) on every connection. */
void wt_engine_close_all(wt_engine *e, uint64_t now_ns);
size_t wt_engine_conn_count(const wt_engine *e);

typedef struct wt_engine_stats {
  uint64_t conns_accepted, conns_active, conns_closed, handshakes_ok, handshakes_failed;
  uint64_t sessions_opened, sessions_active, sessions_refused, sessions_closed;
  uint64_t streams_opened, streams_active, streams_reset;
  uint64_t datagrams_in, datagrams_out, datagrams_dropped;
  uint64_t datagrams_expired; /* dropped for max_datagram_age_ns (also in datagrams_dropped) */
  /* queued datagrams' nodes: from the pool, from malloc (copies, or the pool at its bound) */
  uint64_t dgram_nodes_pooled, dgram_nodes_malloced;
  uint64_t bytes_in, bytes_out, pkts_in, pkts_out, pkts_dropped;
  uint64_t errors_proto, errors_internal, buffered_rejected;
  uint64_t buffered_expired; /* buffered streams reset for buffered_timeout_ns */
  /* server: stateless resets sent for unknown CIDs (RFC 9000 section 10.3),
   * Retry packets sent, Initials whose token did not validate */
  uint64_t stateless_resets_sent, retries_sent, tokens_invalid;
  /* server: Initials answered with CONNECTION_REFUSED (max_conns,
   * max_conns_per_ip, shutting down); of those, for max_conns_per_ip */
  uint64_t conns_refused, conns_refused_per_ip;
  /* server: CONNECTs answered 431 (header section past the bounds); requests
   * whose WT-Available-Protocols was treated as absent (malformed, not
   * Strings, too many); sessions answered with a WT-Protocol */
  uint64_t requests_too_large, protocols_malformed, protocols_chosen;
  /* WebTransport session flow control (draft-16 section 5): sessions with it
   * on; times our sending stopped for the peer's data / stream credit (and
   * nanoseconds spent so); our streams that waited for stream credit; limit
   * updates (WT_MAX_*) sent; BLOCKED capsules received; peers that overran
   * our limits (session reset with WT_FLOW_CONTROL_ERROR) */
  uint64_t fc_sessions, fc_data_blocked, fc_streams_blocked, fc_blocked_ns, fc_streams_waited;
  uint64_t fc_updates_sent, fc_blocked_recv, fc_errors;
  /* CONNECTs held until the client's SETTINGS arrived; of those, refused
   * because the SETTINGS did not come in time; CONNECTs refused because a
   * draft-15+ session without flow control is alone on its connection */
  uint64_t sessions_held, sessions_held_expired, sessions_rejected_single;
  /* connections ngtcp2 closed for "glitches" (frames for closed streams,
   * needless frames...) above its rate limit (ngtcp2_settings
   * glitch_ratelim_burst/rate): read_pkt's NGTCP2_ERR_INTERNAL */
  uint64_t conns_glitch_closed;
  /* memory budget responses (wt_engine_config.mem): connections whose
   * receive credit started being withheld (once per episode); datagrams
   * dropped for the level (in and out); Initials refused for the level, or
   * because their source is over max_ip_bytes; connections closed for the
   * process budget, over max_conn_bytes, for their address's max_ip_bytes */
  uint64_t mem_credit_withheld, mem_dgrams_dropped, mem_conns_refused, mem_ip_refused;
  uint64_t mem_conns_closed, mem_conn_budget_closed, mem_ip_budget_closed;
  /* connections accepted with windows below the configured ones
   * (wt_engine_grant_windows); HTTP/3 streams (control, CONNECT) whose
   * credit started being withheld, once per stream per episode; sessions
   * whose WT_MAX_DATA / WT_MAX_STREAMS capsules were held back, once per
   * session per episode */
  uint64_t mem_small_windows, mem_h3_credit_withheld, mem_session_credit_withheld;
  /* server: client Initials dropped before anything was allocated for them:
   * DCID shorter than 8 bytes (RFC 9000 section 7.2); first packet that does
   * not decrypt with the DCID's Initial keys (junk, core/wt_initial.h) */
  uint64_t initials_short_dcid, initials_undecryptable;
} wt_engine_stats;
const wt_engine_stats *wt_engine_get_stats(const wt_engine *e);

/* client: start a connection to path->remote. server_name is used for SNI
 * and (with ca_file) verification. *out stays valid until conn_close.
 * A server engine opens client connections too when it was given a client
 * trust (client_pin_sha256 / client_ca_file / client_insecure; else
 * WT_ERR_STATE); path->local must be the local address its received
 * packets are reported with (the shard's socket address). */
int wt_engine_connect(wt_engine *e, const wt_path *path, const char *server_name, uint64_t now_ns,
                      wt_conn **out);
/* client: create a session; the extended CONNECT is sent once the server's
 * SETTINGS arrived. origin may be NULL. Result: session_open or
 * session_refused. Returns 0, WT_ERR_STATE (not a client / conn closing),
 * WT_ERR_NOMEM. */
int wt_conn_open_session(wt_conn *c, const char *authority, const char *path, const char *origin,
                         wt_session **out);

/* client: wt_conn_open_session with more of the request: origin (may be
 * NULL), the application protocols to offer as WT-Available-Protocols
 * (protocols[0..n_protocols): each printable ASCII, at most 255 bytes; at
 * most 32; none when n_protocols is 0) and more request fields
 * (headers[0..n_headers), checked as by wt_session_add_header). Returns 0,
 * WT_ERR_INVAL (a protocol or field that cannot be sent; no session is
 * made), WT_ERR_LIMIT, and the errors of wt_conn_open_session. */
typedef struct wt_session_opts {
  const char *origin;
  const char *const *protocols;
  size_t n_protocols;
  const wt_header *headers;
  size_t n_headers;
  /* tests: send this WT-Available-Protocols value as it is (a field value,
   * not checked as a Structured Field), instead of protocols */
  const char *protocols_raw;
} wt_session_opts;
int wt_conn_open_session_opts(wt_conn *c, const char *authority, const char *path,
                              const wt_session_opts *opts, wt_session **out);

/* Open a WT stream on an open session. WT_ERR_AGAIN if the peer's stream
 * credit is exhausted (retry later), WT_ERR_STATE if the session is not open. */
int wt_session_open_stream(wt_session *s, int bidi, wt_stream **out);
/* Copy up to len bytes into the stream's send buffer. Returns the bytes
 * accepted (may be < len; 0 only for len 0 with fin), WT_ERR_AGAIN when the
 * buffer is full (stream_writable follows), WT_ERR_STATE after fin/reset or on
 * a receive-only stream. fin is applied only if all len bytes were accepted. */
int wt_stream_write(wt_stream *st, const uint8_t *data, size_t len, int fin);
/* ---- Zero-copy writes (wt_stream_write_ref, wt_session_send_datagram_ref).
 *
 * The engine references the caller's bytes instead of copying them; the
 * caller hands over one reference per successful call and gets it back
 * through release(arg, data, len), with the same data/len it passed.
 *
 * Release rules:
 *  - Exactly once per successful call (return >= 0, including len 0), never
 *    after an error return (the caller keeps ownership then).
 *  - Only on the engine's thread, from inside wt_engine_recv,
 *    wt_engine_write, wt_engine_handle_expiry, wt_engine_shutdown,
 *    wt_engine_close_all or wt_engine_del: releases that become due are
 *    queued and run at the end of those calls, after the connection work
 *    and outside every other callback. Never from inside the command that
 *    made them due (wt_stream_write_ref, wt_stream_reset, wt_session_close,
 *    ...), and never nested: a release that causes more releases (e.g. by
 *    resetting a stream) finds them run after it returns, by the same loop.
 *  - Inside a release the app may use the engine commands (wt_stream_*,
 *    wt_session_*, wt_conn_close) but must not call the wt_engine_* entry
 *    points above. During wt_engine_del (connections already freed) it must
 *    not touch engine objects at all.
 *  - A release tells the caller nothing about delivery: it fires after the
 *    peer acknowledged every byte, or because the bytes will never be sent.
 *
 * Streams: wt_stream_write_ref's bytes are released when
 *  - the peer acknowledged all of them (a large buffer is released as a
 *    whole, after its last byte is acknowledged);
 *  - the send side ends early: our wt_stream_reset, the peer's STOP_SENDING,
 *    the session ending (wt_session_close, peer close, CONNECT stream reset):
 *    a buffer of which nothing was handed to QUIC yet is released at the end
 *    of that engine call; one already (partly) in flight once the QUIC stack
 *    has let go of the stream (the peer acknowledged the RESET_STREAM and the
 *    stream is closed: about one round trip), at the latest when the
 *    connection is freed;
 *  - the connection is freed (closing/draining period over, idle timeout,
 *    wt_engine_del).
 * Datagrams: wt_session_send_datagram_ref's bytes are released once the
 * datagram was written into a packet (QUIC datagrams are never
 * retransmitted) or dropped (too large for the path, queue purged when its
 * session ends, connection freed, wt_engine_del). */
#ifndef WT_RELEASE_FN_DEFINED
#define WT_RELEASE_FN_DEFINED
typedef void (*wt_release_fn)(void *arg, const uint8_t *data, size_t len);
#endif

/* Queue data[0..len) on st by reference (no copy): all len bytes or
 * nothing. Not bounded by stream_send_buffer: the caller bounds its own
 * backlog (wt_stream_send_backlog); referenced bytes do count as held for
 * wt_stream_write's bound, so mixing both on one stream makes
 * wt_stream_write return WT_ERR_AGAIN sooner. Owned (wt_stream_write) and
 * referenced writes may interleave on a stream; the bytes go out in call
 * order. fin ends the stream after these bytes. len == 0 with fin works like
 * wt_stream_write(st, NULL, 0, 1).
 * Returns len (0 for len 0), then release(arg, data, len) follows exactly
 * once (see the rules above; release may be NULL if the bytes outlive the
 * stream anyway). Errors, release NOT called: WT_ERR_STATE (fin already
 * written, a receive-only stream, not a WT stream of the app), WT_ERR_CLOSED
 * (send side reset or stopped, session or connection closing),
 * WT_ERR_INVAL (data NULL with len > 0), WT_ERR_RANGE (len > INT_MAX),
 * WT_ERR_NOMEM. */
int wt_stream_write_ref(wt_stream *st, const uint8_t *data, size_t len, int fin,
                        wt_release_fn release, void *arg);
/* wt_stream_write_ref, but bytes that continue st's last referenced write
 * (same release and arg, data starting where its bytes end, e.g. the next
 * slice of one buffer the caller fills little by little) join that write:
 * *joined = 1, the engine takes no reference for them (the caller drops the
 * one it meant to hand over) and the joined write's single release reports
 * the total length. Otherwise *joined = 0 and it is wt_stream_write_ref.
 * So many small writes from one buffer cost one entry, not one each. */
int wt_stream_write_ref_join(wt_stream *st, const uint8_t *data, size_t len, int fin,
                             wt_release_fn release, void *arg, int *joined);
/* Entries (chunks) st's send buffer holds (what it costs besides its bytes). */
size_t wt_stream_send_chunks(const wt_stream *st);
/* Bytes the engine still holds for st's send side: queued and not yet
 * acknowledged by the peer (unsent + in flight), owned and referenced
 * alike, without the WT stream header. After a reset/STOP_SENDING the
 * unsent part is dropped at once and the in-flight part stays counted until
 * released. Use it with the release callbacks (each one means the backlog
 * shrank or the stream ended) to bound what you queue. Valid while the
 * handle is (until stream_close returns). */
uint64_t wt_stream_send_backlog(const wt_stream *st);
/* Bytes queued on st and not yet handed to QUIC (a test client that wants
 * each write in a STREAM frame of its own writes only when this is 0). */
uint64_t wt_stream_send_unsent(const wt_stream *st);

/* Abort the send side with a 32-bit application code (RESET_STREAM). */
int wt_stream_reset(wt_stream *st, uint32_t code);
/* Abort the send side with code, but keep the first keep bytes written on
 * st (after the WT stream header; clamped to what was written) deliverable:
 * when wt_session_can_reset_at, the bytes after them are dropped, the kept
 * ones still go out (flow control permitting) and the reset follows as
 * RESET_STREAM_AT with Reliable Size = WT stream header + keep (docs/
 * protocol.md section 2); the peer reads them before it sees the reset.
 * Otherwise a plain wt_stream_reset. No write is accepted afterwards
 * (WT_ERR_CLOSED). Returns 0 or WT_ERR_STATE (as wt_stream_reset). */
int wt_stream_reset_at(wt_stream *st, uint32_t code, uint64_t keep);
/* 1 when resets on s's streams can keep bytes deliverable: the linked
 * ngtcp2 carries RESET_STREAM_AT and the peer advertised reset_stream_at. */
int wt_session_can_reset_at(const wt_session *s);
/* Abort the receive side with a 32-bit application code (STOP_SENDING). */
int wt_stream_stop_sending(wt_stream *st, uint32_t code);
/* Receive flow control (RFC 9000 section 4.1). By default (auto) the
 * credit of stream bytes goes back to the peer as soon as stream_data
 * returns: the app must keep (copy) whatever it cannot handle at once, and
 * cannot push back. With manual credit on, the bytes stream_data delivers on
 * st keep their stream and connection credit until wt_stream_consume
 * returns it, so an app that stops consuming stops the peer's sender: at
 * most one stream window of unconsumed bytes (initial_max_stream_data,
 * grown up to 16 x by ngtcp2 window auto-tuning while the app keeps up) can be
 * outstanding on st; those count against the connection window too, and
 * other streams keep flowing within the rest of it.
 *
 * wt_stream_set_manual_credit: on = 1 holds the credit of every byte
 * delivered from now on (call it in stream_open to cover the whole stream;
 * called inside stream_data it covers that call's bytes too); on = 0 goes
 * back to auto and returns the credit of everything still unconsumed.
 * Returns 0, or WT_ERR_STATE (no receive side: a local uni stream; or the
 * stream is no longer the app's).
 *
 * wt_stream_consume: the app is done with n more bytes of st (in order):
 * return their stream and connection credit to the peer (MAX_STREAM_DATA /
 * MAX_DATA go out with a following wt_engine_write, once ngtcp2 finds
 * enough credit accumulated: about half a window). n is bounded by what was
 * delivered and not yet consumed. Returns the bytes credited (0 on an auto
 * stream, where nothing is held), or WT_ERR_STATE. May be called from any
 * callback or between engine calls, also after the peer's FIN.
 *
 * When the receive side ends early (peer RESET_STREAM, our STOP_SENDING, the
 * session or stream closing), the connection credit of unconsumed bytes is
 * returned by the engine itself; later consumes count 0. */
int wt_stream_set_manual_credit(wt_stream *st, int on);
int wt_stream_consume(wt_stream *st, size_t n);
/* Queue one datagram. WT_ERR_RANGE if larger than wt_session_max_datagram();
 * when the queue is full it is dropped and counted (returns WT_ERR_AGAIN). */
int wt_session_send_datagram(wt_session *s, const uint8_t *data, size_t len);
/* Like wt_session_send_datagram, but the queue references data[0..len)
 * until the datagram was written into a packet or dropped, then
 * release(arg, data, len) follows exactly once (rules above). Returns 0;
 * errors (release NOT called, the caller keeps the bytes): WT_ERR_STATE
 * (session not open), WT_ERR_RANGE (larger than wt_session_max_datagram),
 * WT_ERR_AGAIN (queue full: max_datagram_queue; counted in
 * datagrams_dropped like wt_session_send_datagram), WT_ERR_INVAL (data
 * NULL with len > 0), WT_ERR_NOMEM (counted as dropped too). */
int wt_session_send_datagram_ref(wt_session *s, const uint8_t *data, size_t len,
                                 wt_release_fn release, void *arg);
size_t wt_session_max_datagram(const wt_session *s); /* 0 = datagrams not possible */
/* server: answer a CONNECT whose session_request returned WT_SESSION_DEFER.
 *
 * While the answer is pending, the session is in the state of a CONNECT
 * that has not fully arrived: the streams and datagrams the client sends for
 * it are buffered (max_buffered_streams / max_buffered_datagrams per
 * connection, the rest rejected and counted as today), commands that need an
 * open session return WT_ERR_STATE, and it counts against
 * max_sessions_per_conn (open + pending). The handle (wt_session_path,
 * user pointer, ...) stays valid until one of these ends the wait, each
 * exactly once:
 *  - wt_session_respond(s, 200): the 200 is queued, then session_open is
 *    called before wt_session_respond returns, followed by stream_open /
 *    stream_data / datagram for what was buffered; from then on the session
 *    is like any accepted one (session_close follows eventually).
 *  - wt_session_respond(s, status) with status 400..599: the CONNECT is
 *    refused with that status (the client sees session_refused(status)),
 *    buffered streams are reset with WT_SESSION_GONE and buffered datagrams
 *    dropped; no callback; the handle is invalid once it returns.
 *  - The engine gives up on it: the client resets or finishes the CONNECT
 *    stream, the connection closes or is lost (also by wt_conn_close), or
 *    wt_engine_shutdown answers it 503: session_close(s, code 0, no reason,
 *    clean = 0) is called (the only session_close of a session that never
 *    opened); the handle is invalid after it.
 *  - wt_engine_del: freed without a callback, like every other session.
 * May be called from any engine callback or between engine calls on the
 * engine's thread, but not from inside the session_request that deferred
 * (return the status there instead). Returns 0; WT_ERR_INVAL (status not
 * 200 and not 400..599), WT_ERR_STATE (not a pending deferred session, or
 * the connection is closing: session_close follows then), WT_ERR_NOMEM (the
 * session stays pending), WT_ERR_INTERNAL (HTTP/3 refused the response: the
 * request is cancelled and session_close(clean = 0) was called before this
 * returns). */
int wt_session_respond(wt_session *s, int status);
/* ---- Header fields and application protocol negotiation
 * (docs/protocol.md section 3).
 *
 * wt_session_headers: the peer's regular header fields (server: the
 * request's, the same as wt_request.headers; client: the response's, from
 * session_open or session_refused on), valid while the handle is; *n gets
 * the count (0 and NULL before they arrived).
 *
 * wt_session_protocols: server: the protocols the request offered
 * (wt_request.protocols); client: the ones offered through
 * wt_conn_open_session_opts. Valid while the handle is.
 *
 * wt_session_set_protocol (server): answer with WT-Protocol = protocol,
 * which must be one of the offered protocols (the engine never sends one
 * the client did not offer); NULL sends none. Call it in session_request
 * (before returning 200) or before wt_session_respond. Returns 0,
 * WT_ERR_INVAL (not offered), WT_ERR_STATE (answered already, or a client
 * session), WT_ERR_NOMEM.
 *
 * wt_session_protocol: server: the chosen protocol; client: the server's
 * WT-Protocol once session_open is called, when it is a valid String
 * that was offered (else NULL; wt_session_protocol_rejected says 1 when
 * the server sent one that was malformed or not offered, which the draft
 * makes the client close with WT_ALPN_ERROR). NULL = none.
 *
 * wt_session_add_header: add a field to our message (server: the
 * response, 200 or a refusal, same timing as wt_session_set_protocol;
 * client: the CONNECT while it has not gone out, i.e. before the server's
 * SETTINGS arrived: wt_conn_open_session_opts is the sure way). name:
 * lowercase token, not a pseudo-header, not connection-specific
 * (connection, keep-alive, proxy-connection, te, transfer-encoding,
 * upgrade) nor one the engine writes (content-length, wt-protocol,
 * wt-available-protocols, sec-webtransport-http3-draft*); value: no CR, LF
 * or NUL, no leading or trailing blank (core/base/wt_hfield.h). At most 16
 * fields and 4096 bytes per session. Returns 0, WT_ERR_INVAL, WT_ERR_LIMIT,
 * WT_ERR_STATE, WT_ERR_NOMEM. */
const wt_header *wt_session_headers(const wt_session *s, size_t *n);
const char *const *wt_session_protocols(const wt_session *s, size_t *n);
int wt_session_set_protocol(wt_session *s, const char *protocol);
const char *wt_session_protocol(const wt_session *s);
int wt_session_protocol_rejected(const wt_session *s);
int wt_session_add_header(wt_session *s, const char *name, const char *value);

/* Send a CLOSE_WEBTRANSPORT_SESSION capsule (reason <= 1024 bytes, UTF-8;
 * WT_ERR_RANGE otherwise) and FIN the CONNECT stream. Every stream of the
 * session is reset/stopped with SESSION_GONE (stream_close for each), then
 * session_close is called (clean=1, with our own code) before this
 * returns: the session handle is invalid afterwards. WT_ERR_STATE if the
 * session is not open. */
int wt_session_close(wt_session *s, uint32_t code, const uint8_t *reason, size_t reason_len);
/* Send a DRAIN_WEBTRANSPORT_SESSION capsule. */
int wt_session_drain(wt_session *s);

/* Raw HTTP/3 error codes the peer sent (the callbacks above report only
 * codes inside the WT application range; these return any code, e.g.
 * H3_ID_ERROR 0x108 or H3_MESSAGE_ERROR 0x10e). UINT64_MAX = none.
 *
 * wt_stream_peer_reset_code: the code of the peer's RESET_STREAM on st; set
 * before stream_reset is called, valid until stream_close returns.
 * wt_stream_peer_stop_code: the code of the peer's STOP_SENDING on st, known
 * once the stream closes (ngtcp2 1.11 reports it only then; if the peer's
 * RESET_STREAM arrived first, ngtcp2 reports that code here instead); valid
 * during stream_stop (when called with has_code = 1 or while closing) and
 * stream_close. wt_session_reset_code: the code of the peer's RESET_STREAM
 * on the CONNECT stream of s; valid during session_close / session_refused
 * (and while the handle lives). */
uint64_t wt_stream_peer_reset_code(const wt_stream *st);
uint64_t wt_stream_peer_stop_code(const wt_stream *st);
uint64_t wt_session_reset_code(const wt_session *s);

uint64_t wt_session_id(const wt_session *s);
uint64_t wt_stream_id(const wt_stream *st);
wt_session *wt_stream_session(const wt_stream *st);
int wt_stream_is_bidi(const wt_stream *st);
wt_conn *wt_session_conn(const wt_session *s);
const wt_path *wt_conn_path(const wt_conn *c);
void wt_session_set_user(wt_session *s, void *u);
void *wt_session_get_user(const wt_session *s);
void wt_stream_set_user(wt_stream *st, void *u);
void *wt_stream_get_user(const wt_stream *st);
const char *wt_session_path(const wt_session *s); /* the :path of the CONNECT */
void wt_conn_set_user(wt_conn *c, void *u);
void *wt_conn_get_user(const wt_conn *c);
wt_engine *wt_conn_engine(const wt_conn *c);
/* What a new server connection is granted at accept, chosen from the
 * memory budget (docs/operations.md "The memory budget"):
 *  - no budget (cfg.mem NULL or max 0): the configured values;
 *  - level NO_CREDIT or above: the small windows: WT_WIN_MIN_STREAM per
 *    stream, WT_WIN_MIN_CONN per connection (never above the configured
 *    ones), the session's WT_INITIAL_MAX_DATA no more than the connection
 *    window;
 *  - NORMAL: the connection window is a fair share of the headroom below
 *    the NO_CREDIT threshold, (max x 600 permille - used) / (connections
 *    of the process + 1), where the process's connections are this engine's
 *    x n_shards; clamped to [WT_WIN_MIN_CONN, initial_max_data]; the stream
 *    window half of it (one stream cannot take it all), clamped to
 *    [WT_WIN_MIN_STREAM, initial_max_stream_data]; WT_INITIAL_MAX_DATA no
 *    more than the connection window.
 * Stream counts (QUIC and WT_INITIAL_MAX_STREAMS_*) stay the configured:
 * a stream holds nothing until bytes arrive, and those the windows bound.
 * Windows then grow by ngtcp2's (and the session's) auto-tuning up to the
 * configured ceilings, only while the budget lets credit be extended. */
#define WT_WIN_MIN_STREAM (32u * 1024) /* a full request header section (16 KiB) + capsules */
#define WT_WIN_MIN_CONN   (64u * 1024) /* two such streams */
typedef struct wt_engine_windows {
  uint64_t conn_data;   /* transport parameter initial_max_data */
  uint64_t stream_data; /* initial_max_stream_data_{bidi_local,bidi_remote,uni} */
  uint64_t wt_data;     /* SETTINGS WT_INITIAL_MAX_DATA (0: as configured, off) */
  uint64_t wt_streams_bidi, wt_streams_uni; /* WT_INITIAL_MAX_STREAMS_* (the configured) */
} wt_engine_windows;
/* The windows a connection accepted now by e would get (the rule above);
 * a connection keeps what it got at accept. */
void wt_engine_grant_windows(const wt_engine *e, wt_engine_windows *w);

/* The transport's view of a connection (ngtcp2's recovery state), for
 * sizing buffers and for diagnostics. */
typedef struct wt_conn_info {
  uint64_t srtt_ns;         /* smoothed RTT */
  uint64_t min_rtt_ns;      /* smallest RTT sample (not adjusted for ACK delay; UINT64_MAX
                               before the first) */
  uint64_t cwnd;            /* congestion window, bytes */
  uint64_t bytes_in_flight; /* sent, not yet acknowledged or declared lost */
} wt_conn_info;
/* Fill *out for c. Returns 0, WT_ERR_INVAL (NULL), WT_ERR_STATE (c has no
 * transport yet or any more). */
int wt_conn_get_info(const wt_conn *c, wt_conn_info *out);
/* 1 if c ended because the peer sent a stateless reset (RFC 9000 section
 * 10.3), e.g. a server that restarted and lost the connection; valid
 * during conn_close. */
int wt_conn_stateless_reset(const wt_conn *c);
/* client: our local address changed (NAT rebinding, or the app moved to a
 * new socket): packets are sent from and expected on local from now on; the
 * server sees a new address and validates the path (RFC 9000 section 9).
 * Uses ngtcp2_conn_set_local_addr (no PATH_CHALLENGE from our side, no new
 * CID: what a NAT rebinding looks like to the server). Returns 0,
 * WT_ERR_STATE (not an open client connection), WT_ERR_INVAL. */
int wt_conn_rebind(wt_conn *c, const wt_addr *local);
/* Close one connection (CONNECTION_CLOSE with error_code, an H3 app code). */
int wt_conn_close(wt_conn *c, uint64_t error_code);

#ifdef __cplusplus
}
#endif

#endif
