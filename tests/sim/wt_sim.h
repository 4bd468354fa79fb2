/* wt_sim.h: one simulated network and the in-process client<->server
 * harness for every engine test (tests/unit/test_engine*.c) and the engine
 * fuzz harness (fuzz/fuzz_engine_common.c, fuzz/gen_seeds.c).
 *
 * The network (wt_sim) carries the UDP payloads that server and client
 * engines (core/wt_engine.h) write, in virtual time (ns). Each direction
 * (up: client to server, down: server to client) has its own link
 * (wt_sim_link). A packet sent at `now` goes through, in this order: the
 * direction's drop_next count, the test's filter (may drop or modify it),
 * the link's loss (loss_pm per mille), routing, the bound of the queue of
 * packets in flight (max_queue), NAT; it then arrives at now + delay + a
 * uniform random part of jitter (jitter reorders; equal times keep the
 * send order), followed with probability dup_pm per mille by a copy with
 * its own jitter. Every drop is counted. All randomness comes from one
 * xorshift generator seeded in wt_sim_config, and a draw is made only
 * where a knob is non-zero, so a run is the same every time and adding a
 * knob does not change the runs that leave it at 0. The clock only moves
 * inside wt_sim_step: to the next packet arrival or engine timer, never
 * past the caller's deadline.
 *
 * Nodes: one server engine (sim->srv, address 127.0.0.1:4433) and up to
 * WT_SIM_MAX_CLIENTS client engines (sim->cli[i]), each at its own address
 * (plus aliases: wt_sim_client_alias). Everything a client sends goes to
 * the server (whatever address it dials); what the server sends goes to
 * the client whose public address (its own, or the one wt_sim_nat gave it)
 * or alias is the destination, else it is lost (counted in `unroutable`).
 *
 * The application: every engine runs the harness's recording callbacks,
 * which keep per-session (wt_sim_sess) and per-stream (wt_sim_stream)
 * records on the node (received bytes, FIN, resets, close codes, ...) and
 * then call the test's hooks (a wt_engine_callbacks whose `user` is the
 * wt_sim_node). Without a session_request hook the server accepts every
 * CONNECT with a record. Tests read the records and the engines' stats.
 *
 * Ownership and lifetime: a wt_sim is embedded in the test (wt_sim_init /
 * wt_sim_free); it owns the engines it creates, the packets in flight and
 * every record (freed by wt_sim_free, after the engines). Records outlive
 * their engine objects: a closed stream's record keeps its bytes with
 * st == NULL. The hooks struct and the engine configs (and what they point
 * to) must outlive the sim.
 *
 * Failed checks inside the harness (engine output contract, callback
 * contract) go to the function set with wt_sim_set_check: the unit tests
 * count them as CHECK failures (wt_sim_check.h); the default prints and
 * aborts (what the fuzz programs want).
 *
 * Threading: single-threaded, like the engines it drives; wt_sim_drain's
 * batch buffers are process-wide (one set per nesting level, two levels). */
#ifndef WT_SIM_H
#define WT_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "wt_engine.h"

#define WT_SIM_MS  UINT64_C(1000000)
#define WT_SIM_SEC (1000 * WT_SIM_MS)

#define WT_SIM_MAX_CLIENTS 8
#define WT_SIM_MTU         1500 /* largest payload the network carries */

/* ------------------------------------------------------------ checks */

typedef void (*wt_sim_check_fn)(const char *file, int line, const char *expr);

/* Where failed harness checks go (NULL: print and abort, the default). */
void wt_sim_set_check(wt_sim_check_fn fn);

/* ------------------------------------------------------------ helpers */

/* A self-signed ECDSA P-256 certificate for "localhost" (what browsers
 * accept for serverCertificateHashes) and its key, written as PEM files;
 * pin = SHA-256 of the certificate's DER. Returns 0 or -1. */
int wt_sim_make_cert(const char *cert_path, const char *key_path, uint8_t pin[32]);

/* n (1 or 2) such certificates in a new temporary directory: dir/certI.pem,
 * dir/keyI.pem. wt_sim_certs_remove deletes the files and the directory
 * (and nothing else in it: a test removes what it added there). */
typedef struct wt_sim_certs {
  char dir[64];
  char cert[2][128], key[2][128];
  uint8_t pin[2][32];
  int n;
} wt_sim_certs;

int wt_sim_certs_make(wt_sim_certs *c, int n);
void wt_sim_certs_remove(wt_sim_certs *c);

/* n pseudo-random test bytes (an LCG), the same for the same seed. */
void wt_sim_fill_pattern(uint8_t *p, size_t n, uint32_t seed);

/* ip: an IPv4 or IPv6 literal. */
void wt_sim_addr(wt_addr *a, const char *ip, uint16_t port);
int wt_sim_addr_eq(const wt_addr *a, const wt_addr *b);

/* The shape of the tx batches an engine is drained with. */
typedef struct wt_sim_tx {
  size_t cap;          /* bytes, at most WT_SIM_TX_CAP */
  size_t max;          /* entries, at most WT_SIM_TX_ENTS */
  size_t max_segments; /* packets per entry (GSO) */
  int batches;         /* wt_engine_write calls per drain, at most (0: 64) */
} wt_sim_tx;

#define WT_SIM_TX_CAP  (64 * 1500)
#define WT_SIM_TX_ENTS 32

typedef void (*wt_sim_out_fn)(void *arg, const wt_path *path, const uint8_t *pkt, size_t len);

/* Drain everything e has to send at now (up to tx->batches batches),
 * checking the output contract of wt_engine_write (entry count and bytes
 * within the batch, 1..max_segments equal segments of at most 1452 bytes,
 * only the last shorter), and hand each packet to out (if not NULL).
 * Returns the number of entries written, or -1 after a failed check. */
int wt_sim_drain(wt_engine *e, uint64_t now, const wt_sim_tx *tx, wt_sim_out_fn out, void *arg);

/* ------------------------------------------------------------ records */

typedef struct wt_sim_node wt_sim_node;

typedef struct wt_sim_stream { /* one stream, as the application saw it */
  struct wt_sim_stream *next;
  wt_sim_node *node;
  wt_stream *st; /* NULL once closed */
  uint64_t id;   /* wt_stream_id */
  int bidi, local, closed, rx_fin, reset, stopped, tx_fin_want, tx_fin_done;
  int hold;                 /* the test keeps the bytes unconsumed (manual credit) */
  int opened_after_session; /* peer stream: its session had opened before */
  uint32_t stop_code, reset_code;
  int stop_has, reset_has;
  uint64_t raw_reset, raw_stop; /* wt_stream_peer_reset_code / _stop_code (at close) */
  uint8_t *rx;                  /* everything received */
  size_t rxlen, rxcap;
  uint8_t *tx; /* what wt_sim_stream_flush writes (tx[txoff..txlen)) */
  size_t txlen, txcap, txoff;
} wt_sim_stream;

typedef struct wt_sim_sess { /* one session, as the application saw it */
  struct wt_sim_sess *next;
  wt_sim_node *node;
  wt_session *s; /* NULL once closed or refused */
  int open, closed, refused, refused_status, clean, drained;
  uint32_t code; /* session_close */
  char reason[64];
  size_t nreason;
  int dgrams, dgram_bad; /* dgram_bad: for the test's own datagram checks */
  size_t dgram_bytes;
  uint64_t raw_reset; /* wt_session_reset_code in session_close / session_refused */
  char path[32];      /* for the test to fill */
} wt_sim_sess;

/* New records, put first in the node's list and set as the object's user
 * pointer. local: the stream was opened by this side. */
wt_sim_stream *wt_sim_stream_new(wt_sim_node *n, wt_stream *st, int local);
wt_sim_sess *wt_sim_sess_new(wt_sim_node *n, wt_session *s);

/* Append to a growing buffer. */
void wt_sim_buf_add(uint8_t **b, size_t *len, size_t *cap, const uint8_t *d, size_t n);

/* Write as much of x's tx as the stream takes, then the FIN if wanted
 * (again from stream_writable). */
void wt_sim_stream_flush(wt_sim_stream *x);

/* ------------------------------------------------------------ network */

typedef struct wt_sim_link {
  uint64_t delay_ns;  /* one way */
  uint64_t jitter_ns; /* extra uniform random delay (reordering); 0: none */
  uint32_t loss_pm;   /* per mille */
  uint32_t dup_pm;    /* per mille */
} wt_sim_link;

typedef struct wt_sim_config {
  uint64_t t0_ns; /* the clock's start */
  uint64_t seed;  /* the generator's seed (0 is replaced) */
  wt_sim_link up, down;
  size_t max_queue; /* packets in flight */
  wt_sim_tx tx;     /* how the engines are drained */
  int strict;       /* every stream has a record by stream_close (CHECKed) */
} wt_sim_config;

/* t0 1000 s, both links 10 ms delay and nothing else, 65536 packets in
 * flight, batches of 32 entries with up to 16 segments, not strict. */
void wt_sim_config_default(wt_sim_config *c);

typedef struct wt_sim_pkt {
  struct wt_sim_pkt *next, *prev;
  uint64_t at;
  wt_sim_node *to; /* set after the filter */
  int to_server;
  wt_path path; /* as the receiver sees it */
  size_t len;
  uint8_t data[WT_SIM_MTU];
} wt_sim_pkt;

typedef struct wt_sim wt_sim;

/* Called for each packet sent, before the link's loss: return 1 to drop it;
 * may also modify it. */
typedef int (*wt_sim_filter_fn)(void *arg, wt_sim *sim, wt_sim_pkt *p);

struct wt_sim_node {
  wt_sim *sim;
  int is_server;
  wt_engine *e;
  wt_addr addr;     /* where the engine thinks it is */
  wt_addr pub;      /* where the server sees it (= addr unless NAT) */
  int nat;          /* pub differs from addr */
  wt_addr alias[4]; /* more local addresses (wt_sim_client_alias) */
  int n_alias;
  wt_sim_stream *streams;
  wt_sim_sess *sessions;
  int conn_closed; /* conn_close callbacks so far; the last one's details: */
  uint64_t conn_close_code;
  int conn_close_app, conn_close_sr; /* is_app; wt_conn_stateless_reset */
};

struct wt_sim {
  uint64_t now;
  uint64_t rng;
  wt_sim_config cfg;
  const wt_engine_callbacks *hooks; /* the test's, called after recording; may be NULL */
  wt_sim_node srv;
  wt_sim_node cli[WT_SIM_MAX_CLIENTS];
  int n_cli;
  wt_engine_config srv_cfg; /* for wt_sim_server_restart */
  wt_sim_pkt *q, *q_tail;   /* in flight, by arrival time (same time: by send) */
  size_t nq;
  uint64_t drop_next[2]; /* drop the next N packets [0] up, [1] down */
  wt_sim_filter_fn filter;
  void *filter_arg;
  /* counters */
  uint64_t sent, lost, dups, overflow, unroutable, delivered;
  size_t nq_max; /* the most packets in flight at once */
};

void wt_sim_init(wt_sim *sim, const wt_sim_config *cfg, const wt_engine_callbacks *hooks);
/* Deletes the engines (no callbacks), then the packets and records. */
void wt_sim_free(wt_sim *sim);

/* The server engine at 127.0.0.1:4433. cfg is copied. Returns
 * wt_engine_new's result. */
int wt_sim_server_new(wt_sim *sim, const wt_engine_config *cfg);
/* Delete the server engine and start a new one with the same config (no
 * callbacks: the records just go stale). Returns wt_engine_new's result. */
int wt_sim_server_restart(wt_sim *sim);

/* A client engine at addr (NULL: 127.0.0.1:50000), created at sim->now.
 * Returns its index in sim->cli, or a negative WT_ERR_*. */
int wt_sim_client_add(wt_sim *sim, const wt_engine_config *cfg, const wt_addr *addr);

/* Client i dials the server at to (NULL: the server's address) for
 * "localhost". Returns the connection, NULL on failure. */
wt_conn *wt_sim_connect(wt_sim *sim, int i, const wt_addr *to);

/* Client i opens a session to https://localhost:4433{path} with a record.
 * NULL on failure. */
wt_sim_sess *wt_sim_open_session(wt_sim *sim, int i, wt_conn *c, const char *path,
                                 const char *origin);

/* Client i also receives at addr (another local port it dials from). */
void wt_sim_client_alias(wt_sim *sim, int i, const wt_addr *addr);

/* NAT rebinding: from now on the server sees client i at port pub_port of
 * its address; what the server sends to the old mapping is lost. */
void wt_sim_nat(wt_sim *sim, int i, uint16_t pub_port);

/* Drain one node's output into the network. Returns the entries written. */
int wt_sim_flush(wt_sim *sim, wt_sim_node *n);

/* Put one packet on the network as if `from` had sent it on path (the
 * sender's view). */
void wt_sim_send(wt_sim *sim, wt_sim_node *from, const wt_path *path, const uint8_t *p, size_t len);

/* One step: flush every engine (clients in order, then the server) and
 * deliver the packets due; if none was, move the clock to the next arrival
 * or timer and run the timers. Returns 0 when nothing is left to happen
 * before deadline (then now = deadline + 1 if something is pending later),
 * else 1. */
int wt_sim_step(wt_sim *sim, uint64_t deadline);

typedef int (*wt_sim_cond_fn)(wt_sim *sim, void *arg);

/* Step until cond(sim, arg) holds (1), max_time of virtual time passed (0),
 * nothing is left to happen (cond's value; 1 without cond) or 2,000,000
 * steps were taken (0). cond may be NULL: run for max_time. */
int wt_sim_run_until(wt_sim *sim, wt_sim_cond_fn cond, void *arg, uint64_t max_time);

/* Close every connection of every engine and run until none is left
 * (within max_time). Returns run_until's result. */
int wt_sim_close_all(wt_sim *sim, uint64_t max_time);

/* Conditions for wt_sim_run_until. */
int wt_sim_c_handshake(wt_sim *sim, void *arg);    /* client 0 and the server completed one */
int wt_sim_c_no_conns(wt_sim *sim, void *arg);     /* no engine has a connection */
int wt_sim_c_sess_settled(wt_sim *sim, void *arg); /* arg wt_sim_sess: open, refused or closed */
int wt_sim_c_sess_closed(wt_sim *sim, void *arg);  /* arg wt_sim_sess: closed */
int wt_sim_c_stream_fin(wt_sim *sim, void *arg);   /* arg wt_sim_stream: FIN or reset received */
int wt_sim_c_conn_closed(wt_sim *sim, void *arg);  /* client 0 saw conn_close */

#endif
