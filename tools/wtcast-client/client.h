/* client.h: internals of wtcast-client, the WebTransport test client.
 *
 * One process, one thread, one engine (client mode), one UDP socket shared
 * by every connection (the engine tells connections apart by their CIDs).
 * main.c parses the command line and prints the report (client/wt_json.h),
 * loop.c runs the connections' state machines over the engine pump
 * (client/wt_pump.h), ops.c holds the engine callbacks and the operations
 * run on each session.
 *
 * Ownership: the cl_client owns every cl_conn and cl_session (arrays freed in
 * cl_client_free); each stream the client knows of carries a heap cl_sref as
 * its user pointer, freed in the stream_close callback (or with the engine).
 * Engine handles (wt_conn, wt_session, wt_stream) are cleared from our
 * structures in the callbacks that end them, and checked before each use. */
#ifndef WTCAST_CLIENT_H
#define WTCAST_CLIENT_H

#include <stdint.h>
#include <stdio.h>

#include "wt_engine.h"
#include "wt_errlist.h"
#include "wt_io.h"
#include "wt_json.h"
#include "wt_pump.h"
#include "wt_url.h"

/* ------------------------------------------------------------------ options */

#define CL_REASON_MAX    1024 /* CLOSE_WEBTRANSPORT_SESSION message limit */
#define CL_MAX_PROTOCOLS 32   /* --protocols entries (the engine's bound) */
#define CL_PROTOCOL_MAX  255  /* the longest protocol the engine offers */

typedef struct cl_opts {
  const char *url;
  wt_url u;       /* host, authority, path + query, resolved peer */
  wt_trust trust; /* --cert-hash / --ca / --insecure */

  const char *echo_text; /* --echo */
  int64_t bidi_bytes;    /* --bidi-bytes, -1 = off */
  int64_t download;      /* --download */
  int64_t upload;        /* --upload */
  int64_t uni;           /* --uni */
  int64_t datagrams;     /* --datagrams */
  uint32_t sessions;     /* --sessions, >= 1 */
  uint32_t connections;  /* --connections, >= 1 */
  int have_close;        /* --close CODE:REASON */
  uint32_t close_code;
  char close_reason[CL_REASON_MAX + 1];
  const char *origin;                      /* --origin */
  const char *protocols[CL_MAX_PROTOCOLS]; /* --protocols a,b: WT-Available-Protocols */
  size_t n_protocols;
  const char *protocols_raw; /* --protocols-raw VALUE (tests: sent as it is) */
  uint64_t timeout_ms;       /* --timeout, default 30000 */
  int64_t keep_alive_ms;     /* --keep-alive, -1 = the engine's default (15 s) */
  int expect_push;           /* --expect-push */
  int wait_close;            /* --wait-close, or implied by "close=" in the URL query */
  int log_level;
  int inject;               /* --inject: CL_INJ_*, applied to the last session of each connection */
  uint32_t sequential;      /* --sequential N: N connections one after another, 0 = off */
  uint64_t rebind_after_ms; /* --rebind-after MS: move to a new UDP socket (0 = off) */
  uint64_t hold_ms;         /* --hold MS: keep the sessions open after the operations */
  uint64_t dgram_rtt;       /* --dgram-rtt N: N datagrams one at a time, RTT each (0 = off) */
  uint64_t dgram_rate;      /* --dgram-rate N: N datagrams, a window in flight (0 = off) */
  uint64_t dgram_size;      /* --dgram-size B for the two above (default 1000) */
  int wt_profile;           /* --wt-draft: WT_PROFILE_* (default: the engine's, draft02) */
  int have_wt_fc;           /* --wt-max-data / --wt-max-streams-* given */
  uint64_t wt_max_data, wt_max_streams_bidi, wt_max_streams_uni;
} cl_opts;

/* --inject kinds (fault injection through wt_testhook.h). */
enum {
  CL_INJ_NONE = 0,
  CL_INJ_STREAM_HEADER, /* bidi 0x41 + (session ID + 1): expect H3_ID_ERROR on that stream */
  CL_INJ_CAPSULE,       /* CLOSE capsule of length 2: expect H3_MESSAGE_ERROR on CONNECT */
  CL_INJ_CAPSULE_UTF8,  /* CLOSE capsule, reason not UTF-8: same */
  CL_INJ_FC_OVERRUN,    /* ignore the server's session flow-control limits: expect the
                           CONNECT stream reset with WT_FLOW_CONTROL_ERROR */
};
extern const char *const cl_inject_names[];

/* ------------------------------------------------------------------ byte patterns */

enum { CL_PAT_TEXT, CL_PAT_XORSHIFT, CL_PAT_MOD251 };

/* A position-addressed byte sequence generator. XORSHIFT is sequential only
 * (cl_pat_fill must be called with increasing positions, no gaps). */
typedef struct cl_pat {
  int kind;
  const uint8_t *text; /* CL_PAT_TEXT */
  uint64_t seed;       /* CL_PAT_XORSHIFT */
  uint64_t state, pos; /* generator position */
  uint8_t word[8];     /* current xorshift output word */
} cl_pat;

void cl_pat_init_text(cl_pat *p, const char *text);
void cl_pat_init_xorshift(cl_pat *p, uint64_t seed);
void cl_pat_init_mod251(cl_pat *p);
/* Write the next n bytes of the sequence into out. */
void cl_pat_fill(cl_pat *p, uint8_t *out, size_t n);
/* Compare data[0..n) with the next n bytes of the sequence and advance by n.
 * Returns the index of the first differing byte, or n when all match.
 * scratch (CL_SCRATCH bytes) is used by XORSHIFT only: MOD251 compares
 * against a precomputed table, TEXT against the text itself, so neither
 * generates bytes per call. */
size_t cl_pat_verify(cl_pat *p, const uint8_t *data, size_t n, uint8_t *scratch);

/* Stream hash for corruption checks (not collision resistant against an
 * adversary). The stream is cut into 8-byte little-endian words w, each
 * mixed in with  h = (h ^ w) * K;  h ^= h >> 29  (one multiply and one
 * xorshift per word instead of one multiply per byte as in FNV-1a). Bytes
 * that do not yet make a whole word wait in carry[], so the result depends
 * only on the bytes and their order, never on how the stream was split into
 * updates. cl_hash_final folds in the carry bytes and the length and runs a
 * 64-bit finalizer (murmur3 fmix64); it does not change the state. */
typedef struct cl_hash {
  uint64_t h;
  uint64_t len;     /* bytes hashed so far */
  uint8_t carry[8]; /* the last len % 8 bytes, not yet a whole word */
} cl_hash;

void cl_hash_init(cl_hash *x);
void cl_hash_update(cl_hash *x, const uint8_t *p, size_t n);
uint64_t cl_hash_final(const cl_hash *x);

/* ------------------------------------------------------------------ operations */

/* Stream operations of one session. */
enum {
  CL_OP_ECHO,      /* bidi: TEXT + FIN out, same back */
  CL_OP_BIDI,      /* bidi: N xorshift bytes out, same back */
  CL_OP_DOWNLOAD,  /* server uni: N bytes of i % 251 */
  CL_OP_UPLOAD,    /* client uni: N bytes out */
  CL_OP_UNI,       /* client uni out, server uni back with the same bytes */
  CL_OP_PUSH_BIDI, /* server bidi: "server-bidi-hello" + FIN */
  CL_OP_PUSH_UNI,  /* server uni: "server-uni-hello" + FIN */
  CL_OP_N
};

/* JSON key of each operation, indexed by CL_OP_*. */
extern const char *const cl_op_names[CL_OP_N];

#define CL_ECHO_KEEP 4096 /* received echo text kept for the report */

typedef struct cl_session cl_session;

typedef struct cl_op {
  const char *name;
  int active;       /* requested */
  int tx_local;     /* we open a stream and send (ECHO, BIDI, UPLOAD, UNI) */
  int tx_bidi;      /* that stream is bidi (ECHO, BIDI) */
  int rx_peer;      /* the bytes come back on a peer-initiated stream (DOWNLOAD, UNI, PUSH_*) */
  int rx_peer_bidi; /* ... which is bidi (PUSH_BIDI) */
  int expect_rx;    /* we verify received bytes */
  cl_session *sess;
  wt_stream *tx_st, *rx_st;
  int rx_assigned; /* a peer stream was matched to this op */

  cl_pat tx_pat, rx_pat;
  uint64_t tx_total, rx_total;
  uint64_t tx_off, rx_off;
  cl_hash tx_hash, rx_hash;
  uint8_t *tx_buf; /* generated but not yet accepted bytes */
  size_t tx_buf_off, tx_buf_len;
  int tx_fin, tx_blocked, tx_closed; /* FIN accepted; waiting for writable; stream closed */
  int rx_fin;
  int64_t mismatch_at; /* first differing offset, -1 = none */
  char *rx_keep;       /* ECHO: received text (up to CL_ECHO_KEEP bytes) */
  size_t rx_keep_len;

  int started, done, ok;
  char err[256];
  uint64_t t_start, t_end, t_first_rx;
} cl_op;

typedef struct cl_dgram {
  int active;
  uint64_t n, sent, received, bad, dup;
  size_t size;
  uint8_t *seen; /* n flags */
  uint64_t t_start, t_last_send, t_last_rx, next_send;
  int done, ok;
  double rtt_hint_ms;
  char err[256];
} cl_dgram;

/* --dgram-rtt / --dgram-rate: datagram echo measurements on a session.
 * RTT: one datagram in flight; the next goes when its echo arrives or
 * CL_DP_RTT_TIMEOUT_NS after it was sent (then it counts as lost). Each RTT
 * is CLOCK_MONOTONIC at wt_session_send_datagram to the datagram callback.
 * RATE: up to CL_DP_WINDOW unanswered datagrams in flight, as fast as the
 * engine's datagram queue takes them. */
enum { CL_DP_OFF, CL_DP_RTT, CL_DP_RATE };

#define CL_DP_DEFAULT_SIZE   1000
#define CL_DP_WINDOW         64
#define CL_DP_RTT_TIMEOUT_NS UINT64_C(200000000)

typedef struct cl_dprobe {
  int mode; /* CL_DP_* */
  uint64_t n, sent, received, late, bad, dup;
  size_t size;
  uint8_t *buf, *want; /* size bytes each: payload to send, expected echo */
  uint8_t *seen;       /* RATE: n flags */
  uint64_t *rtt_ns;    /* RTT: one sample per datagram received */
  int waiting;         /* RTT: datagram sent - 1 is in flight */
  uint64_t t_sent, deadline;
  uint64_t written_off; /* RATE: unanswered datagrams given up on (stall) */
  uint64_t t_first_send, t_last_send, t_last_rx, t_progress;
  int started, done, ok;
  char err[160];
} cl_dprobe;

/* A stream's user pointer. */
typedef struct cl_sref {
  cl_session *sess;
  cl_op *op; /* NULL: not (yet) matched, or ignored */
  int peer;  /* peer-initiated */
  int bidi;
  int tx_role, rx_role; /* this stream is op->tx_st / op->rx_st */
  int inject;           /* the --inject stream of sess */
  int classified;
  uint8_t pre[16];
  size_t pre_len;
} cl_sref;

/* ------------------------------------------------------------------ fault injection */

/* What was injected on a session and what the server answered. */
typedef struct cl_inject {
  int kind; /* CL_INJ_*; 0 = this session injects nothing */
  int started, done, ok;
  uint64_t t_start, deadline;
  uint8_t sent[64]; /* the raw bytes injected */
  size_t sent_len;
  uint64_t expected_code; /* raw HTTP/3 code the server must answer with */
  /* stream-header */
  wt_stream *st;
  int64_t stream_id;
  int reset_seen, reset_has_app; /* RESET_STREAM; its WT app code if in range */
  uint32_t reset_app;
  int stop_seen;
  int session_open_after; /* the session was still open when the stream ended */
  /* capsule */
  int session_closed, session_clean;
  uint32_t session_code;
  /* raw HTTP/3 code the server answered with (CL_CODE_*: where it came from) */
  int have_code, code_how;
  uint64_t code;
  char err[200];
} cl_inject;

/* Where cl_inject.code came from. */
enum { CL_CODE_RESET_STREAM = 1, CL_CODE_STOP_SENDING, CL_CODE_CONNECT_RESET };

/* ------------------------------------------------------------------ sessions, connections */

enum {
  CL_SS_PENDING, /* CONNECT sent or queued */
  CL_SS_OPEN,
  CL_SS_REFUSED, /* non-200 or reset before a reply */
  CL_SS_CLOSED,  /* session_close seen */
  CL_SS_FAILED,  /* could not be created, or the connection went away first */
};

struct cl_session {
  struct cl_conn *conn;
  struct cl_client *cl;
  uint32_t index;
  wt_session *ws;
  uint64_t session_id;
  int state;
  int status; /* HTTP status; 0 = reset before a reply */
  uint64_t t_request, t_reply;
  cl_op ops[CL_OP_N];
  cl_dgram dg;
  cl_dprobe dp; /* --dgram-rtt / --dgram-rate */
  uint64_t unexpected_streams;
  int drained; /* DRAIN capsule or GOAWAY seen */

  int ops_done;   /* every requested operation finished (ok or not) */
  int close_sent; /* we called wt_session_close */
  uint64_t t_close_sent;
  int closed; /* session_close seen */
  int close_clean;
  uint32_t close_code; /* as reported by session_close */
  char *close_reason;
  size_t close_reason_len;
  int closed_by_server; /* session_close not caused by our close */
  int finished;         /* nothing more to do for this session */
  cl_inject inj;        /* --inject on this session (kind 0 = none) */
  /* the server's answer to --protocols (at session_open) */
  char protocol[CL_PROTOCOL_MAX + 1];            /* the accepted WT-Protocol, "" = none */
  char wt_protocol_raw[CL_PROTOCOL_MAX * 2 + 3]; /* the field as sent, "" = absent */
  int protocol_rejected; /* malformed or not offered (draft: WT_ALPN_ERROR) */
};

enum { CL_CS_ACTIVE, CL_CS_HOLD, CL_CS_LINGER, CL_CS_CLOSING, CL_CS_CLOSED };

typedef struct cl_conn {
  struct cl_client *cl;
  uint32_t index;
  wt_conn *wc;
  int state;
  uint64_t t_start, t_first_reply, linger_until, close_deadline;
  uint64_t t_done; /* every session finished (--sequential latency) */
  cl_session *sess;
  uint32_t n_sess;
  int conn_closed; /* conn_close seen */
  uint64_t close_error;
  int close_is_app;
  int closed_by_us;
  int stateless_reset; /* wt_conn_stateless_reset at conn_close */
  uint64_t t_close;    /* conn_close seen */
  /* --hold */
  uint64_t hold_start, hold_until, hold_next;
  uint64_t hold_sent;
  int closed_in_hold; /* the connection ended during the hold (not by us) */
} cl_conn;

typedef struct cl_client {
  cl_opts *o;
  wt_engine *eng;
  wt_io *io;
  wt_pump pump;           /* drives eng over io (loop.c) */
  wt_path path;           /* local (specific address + bound port) and remote */
  size_t max_udp_payload; /* engine's packet size limit */
  cl_conn *conns;
  uint32_t n_conns;
  uint64_t t0, deadline;
  int timed_out;
  wt_errlist errs;                     /* the report's "errors" */
  uint8_t *scratch;                    /* CL_SCRATCH bytes for verification */
  uint64_t bytes_sent, bytes_received; /* application payload */
  /* --sequential: per-connection latency (connect to all sessions finished) */
  uint64_t *seq_lat;
  uint32_t seq_done, seq_ok;
  uint64_t seq_t0, seq_t1;
  /* --rebind-after */
  int rebound;
  uint64_t t_rebind;
  uint16_t old_port, new_port;
  char rebind_err[160];
} cl_client;

#define CL_SCRATCH  65536
#define CL_TX_CHUNK 65536

/* Current CLOCK_MONOTONIC time in ns. */
#define cl_now wt_pump_now

/* Append a formatted message to the client's error list. */
void cl_error(cl_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* At session_open: the server's WT-Protocol into s (protocol, wt_protocol_raw,
 * protocol_rejected); an unoffered one is an error of the run. */
void cl_session_protocol(cl_session *s, wt_session *ws);

/* ops.c */
void cl_callbacks(wt_engine_callbacks *cb);
/* Prepare the operations of s from the options (nothing is sent yet). */
int cl_session_setup(cl_session *s);
void cl_session_free(cl_session *s);
/* Per-loop-turn work of one session: open streams, pace datagrams, close
 * when done. Returns the earliest time (ns) it wants to run again, or
 * UINT64_MAX. */
uint64_t cl_session_tick(cl_session *s, uint64_t now);
/* Mark what is still running on s as failed (timeout, connection loss). */
void cl_session_abort(cl_session *s, const char *why);
int cl_session_ok(const cl_session *s);
/* Free the stream refs whose streams never saw stream_close (after
 * wt_engine_del, which runs no callbacks). */
void cl_srefs_free_all(void);
/* Detach every stream ref from its session (--sequential, before the
 * sessions of a finished connection are freed): their callbacks then only
 * free the ref. */
void cl_srefs_orphan_all(void);

/* loop.c: run until every connection is closed or the deadline passes. */
int cl_run(cl_client *c);

#endif
