/* fanout.h: internals of wtcast-bench --scenario fanout --verify, the load
 * generator and verifier of the live fan-out relay (/pub?ch=NAME,
 * /sub?ch=NAME). The other scenarios (bench.h) measure; this one checks
 * every byte, so it keeps its own options and report.
 *
 * One process, one thread, one client engine (core/wt_engine.h) and one UDP
 * socket (io/wt_io.h) shared by every connection: 1 publisher and K
 * subscribers (+ J late joiners), each on its own connection with one
 * session. fanout_main.c parses options and prints the report,
 * fanout_run.c drives the engine (client/wt_pump.h) and holds the
 * callbacks, fanout_msg.c the message format and its checks.
 *
 * Message (M bytes, M = --size >= 16), all integers little-endian:
 *   0..8   seq: (publisher id << 40) | index   (id: 24 bits, random per
 *          publisher process unless --pub-id; index 0..count-1)
 *   8..16  publish time, CLOCK_MONOTONIC ns (same machine)
 *   16..M  pattern: byte k = (uint8_t)(b(seq) + 31 * k), b(seq) = top byte
 *          of seq * 0x9E3779B97F4A7C15
 * A datagram is one message. A stream group (one publisher uni stream) is
 * G = --group-msgs records back to back, then FIN; a record is a u32 length
 * (= M) followed by the message. Group g holds indexes g*G .. g*G+G-1 (the
 * last group may be shorter), so any lost, repeated, reordered or torn byte
 * shows up as a bad length, a wrong index or a pattern mismatch.
 *
 * --moq: the same messages through wtcast's moq-lite relay (moq-lite-04 on
 * /moq/NAME, docs/protocol.md section 9; the framing is apps/moq/wt_moq.h's):
 * the publisher answers the relay's ANNOUNCE_PLEASE with ANNOUNCE of
 * broadcast "b" and the relay's SUBSCRIBE (track "t") with SUBSCRIBE_OK;
 * each subscriber, once the broadcast is announced, opens a subscribe
 * stream (id 0) and waits for SUBSCRIBE_OK; the publisher starts when every
 * subscriber has it. A group is a uni stream: Data Type 0, GROUP (the
 * relay's subscribe id, sequence = group number), then one moq frame per
 * record (size varint = 4 + M, payload = the record above), FIN. Streams
 * only (moq-lite has no datagrams).
 *
 * Ownership: the fo_client owns every endpoint (fo_ep); each mirrored stream
 * a subscriber receives carries a heap fo_rx, each --moq control stream a
 * heap fo_mctl (both freed at stream_close, or by fo_rx_free_all after
 * wt_engine_del). */
#ifndef WTCAST_FANOUT_H
#define WTCAST_FANOUT_H

#include <stdint.h>
#include <stdio.h>

#include "wt_engine.h"
#include "wt_errlist.h"
#include "wt_hist.h"
#include "wt_io.h"
#include "wt_json.h"
#include "wt_moq.h"
#include "wt_pump.h"
#include "wt_url.h"

#define FO_HDR         16 /* seq + timestamp */
#define FO_PREFIX      4  /* record length prefix in streams */
#define FO_MAX_SIZE    65536
#define FO_IDX_BITS    40
#define FO_IDX_MASK    ((UINT64_C(1) << FO_IDX_BITS) - 1)
#define FO_MAX_EPOCHS  8 /* publishers a subscriber tells apart (by id) */
#define FO_MS          UINT64_C(1000000)
#define FO_CODE_LAGGED 0x10
#define FO_CODE_GONE   0x11

enum { FO_ROLE_PUB = 1, FO_ROLE_SUB = 2, FO_ROLE_BOTH = 3 };
enum { FO_TX_DGRAM = 1, FO_TX_STREAM = 2, FO_TX_BOTH = 3 };
/* endpoint kinds (also the report's roles) */
enum { FO_K_PUB, FO_K_SUB, FO_K_LATE, FO_K_N };

typedef struct fo_opts {
  const char *url;
  wt_url u;             /* host, authority, resolved peer */
  char base_path[2048]; /* path prefix before /pub or /sub (usually "") */
  wt_trust trust;       /* --cert-hash or --insecure */
  char ch[65];
  int role, transport;
  uint32_t subs, late;
  uint64_t count, size, rate, group;
  uint64_t timeout_ms, idle_ms, linger_ms;
  uint32_t pubs;           /* sub role: publishers (ids) to expect one after another */
  uint32_t pub_id;         /* 0 = random */
  uint32_t group_hdr;      /* pub: /pub?hdr=N, the group header the relay keeps (0 = none) */
  int expect_status;       /* pub: the status the publisher's CONNECT must get (0 = 200) */
  uint32_t max_handshakes; /* connections being set up at once */
  uint32_t dgram_queue;    /* engine's outgoing datagram queue per connection */
  int json, io_backend, log_level;
  int moq;         /* --moq: through the moq-lite relay (/moq/NAME) */
  long server_pid; /* 0 = none */
  const char *ready_file;
} fo_opts;

/* One publisher (by id) as seen by one subscriber. */
typedef struct fo_epoch {
  uint32_t pub_id;
  uint8_t *dg_seen, *grp_seen; /* bitmaps: count, groups */
  uint64_t dg_rx, groups_done;
  uint64_t first_dg;    /* first index received by datagram (UINT64_MAX: none) */
  uint64_t first_group; /* first group seen on a stream (UINT64_MAX: none) */
} fo_epoch;

enum { FO_EP_IDLE, FO_EP_CONNECTING, FO_EP_OPEN, FO_EP_REFUSED, FO_EP_CLOSED, FO_EP_FAILED };

typedef struct fo_stag {
  int kind; /* 0 = publisher stream tag, 1 = fo_rx, 2 = fo_mctl (--moq), 3 = ignored */
} fo_stag;

typedef struct fo_ep {
  struct fo_client *c;
  int kind; /* FO_K_* */
  uint32_t index;
  int state, status;
  wt_conn *wc;
  wt_session *ws;
  uint64_t t_start, t_open, t_close;
  int closing; /* we closed it */
  int failed;  /* refused (unexpectedly), or closed by the server / connection lost */
  char err[200];
  fo_stag pub_tag; /* user pointer of the publisher's streams */
  /* subscriber */
  fo_epoch ep[FO_MAX_EPOCHS];
  uint32_t n_epochs;
  uint64_t dg_rx, dg_dup, dg_corrupt, dg_other_pub;
  uint64_t groups_complete, groups_torn, groups_dup, groups_reset_lagged, groups_reset_gone;
  uint64_t groups_reset_other, groups_reset_empty, records, records_corrupt, stream_bytes;
  uint64_t groups_reset_lagged_hdr;  /* lagged resets after the group's first record header */
  uint64_t groups_reset_lagged_only; /* ... of which nothing after that header arrived */
  uint64_t unexpected;               /* streams/datagrams that the contract does not allow */
  int first_stream_seen, first_stream_at_start;
  uint64_t first_group_seen;
  uint64_t join_group_lo, join_group_hi; /* late: publisher's group at request / at open */
  uint64_t join_idx;                     /* late: publisher's index at open */
  int have_join;
  uint64_t t_last_rx;
  int complete;
  /* --moq subscriber: our subscribe stream and its answer */
  wt_stream *msub;
  int msub_ok;
} fo_ep;

typedef struct fo_pub {
  fo_ep *ep;
  uint64_t idx;  /* next message index */
  int stage;     /* 0 build, 1 stream record pending, 2 datagram pending */
  uint8_t *buf;  /* prefix + message */
  size_t off;    /* stream bytes of buf already written */
  wt_stream *st; /* current group */
  int blocked;   /* stream_writable pending */
  uint64_t t_first, t_done, next_due;
  uint64_t published, dgrams_sent, dgram_queue_full, groups_opened, stream_bytes;
  uint64_t streams_open, streams_stopped;
  int done;
  uint32_t id;
  /* --moq: the broadcast announced, the relay's subscription answered */
  int announced, up_ok;
  uint64_t up_id, t_announced;
  size_t pre;       /* bytes before the record in buf: the frame's size varint */
  uint8_t ghdr[24]; /* the current group's Data Type + GROUP */
  size_t ghlen, ghoff;
} fo_pub;

typedef struct fo_client {
  fo_opts *o;
  wt_engine *eng;
  wt_io *io;
  wt_pump pump; /* drives eng over io (fanout_run.c) */
  wt_path path;
  size_t max_udp_payload;
  fo_ep *eps; /* [0] publisher if any, then subs, then late joiners */
  uint32_t n_eps, n_started;
  uint32_t first_sub, n_subs_total; /* subs + late */
  fo_pub pub;
  uint64_t ngroups;
  uint64_t t0, deadline, t_end, t_ready;
  int timed_out, late_started, ready_written, finishing;
  uint64_t t_finish;
  uint64_t max_idx_seen;  /* sub role: highest index any subscriber saw (+1) */
  wt_hist lat[FO_K_N][2]; /* [kind][0 datagram, 1 stream], us */
  wt_errlist errs;        /* the report's "errors" (the first 1000) */
  double srv_cpu0, srv_cpu1;
  double cli_cpu0, cli_cpu1; /* our own utime+stime (getrusage) */
  int have_cpu0, have_cpu1;
} fo_client;

#define fo_now wt_pump_now
void fo_error(fo_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* fanout_msg.c */
void fo_msg_build(uint8_t *m, size_t size, uint64_t seq, uint64_t ts);
/* 1 if bytes [k, k+n) of a message with this seq match the pattern (k >= 16). */
int fo_pat_ok(uint64_t seq, size_t k, const uint8_t *d, size_t n);
void fo_put_le64(uint8_t *p, uint64_t v);
uint64_t fo_get_le64(const uint8_t *p);
void fo_put_le32(uint8_t *p, uint32_t v);
uint32_t fo_get_le32(const uint8_t *p);

/* fanout_run.c */
void fo_callbacks(wt_engine_callbacks *cb);
int fo_setup(fo_client *c, const wt_engine_callbacks *cb);
int fo_run(fo_client *c);
void fo_rx_free_all(void);
int fo_ep_finished(const fo_ep *e);
/* Datagrams (stream = 0) or groups (1) e should have received. */
uint64_t fo_expected(const fo_ep *e, int stream);

/* fanout_main.c: the whole run, from wtcast-bench's main with the
 * arguments after "--scenario fanout --verify" taken out. Returns the exit
 * status (0 ok, 1 something wrong was seen, 2 bad arguments). */
int fo_main(int argc, char **argv);

#endif
