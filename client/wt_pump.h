/* wt_pump.h: the single-thread engine pump: one wt_engine driven over one
 * wt_io socket on one thread (docs/architecture.md, "one write's path out").
 *
 * A loop turn is: the caller's own work (ticks that open sessions, write,
 * close) -> wt_pump_turn: drain the engine into a tx batch (GSO trains) and
 * hand it to wt_io_send -> wt_io_wait until the caller's wake-up or the
 * engine's next timer -> wt_io_recv batches into wt_engine_recv -> expired
 * timers. Every client program (wtcast-client, wtcast-bench and its fan-out verifier)
 * runs this turn; wtcast-flood, which sends from plain sockets of its own,
 * uses the tx fill only.
 *
 * The tx path (wt_pump_tx) is usable on its own by any loop that owns an
 * engine and a socket, a server shard included: it knows nothing of client
 * or server mode, so a shard can drive client connections of its own engine
 * (an edge node subscribing to an origin) through the same path.
 *
 * Ownership: a wt_pump / wt_pump_tx owns its batch buffers (_init/_free,
 * embedded in the caller's object); it never owns the engine or the socket.
 * The socket may be replaced between turns (p->io) after a zero-timeout
 * wt_io_wait on the old one (sent data stays referenced until then).
 * Threading: the thread that owns the engine and the socket; no locks. */
#ifndef WT_PUMP_H
#define WT_PUMP_H

#include <stddef.h>
#include <stdint.h>

#include "wt_engine.h"
#include "wt_io.h"

#define WT_PUMP_TX_ENTRIES 64 /* packet trains per batch */
#define WT_PUMP_RX_BATCH   64 /* datagrams per wt_io_recv */
#define WT_PUMP_RX_ROUNDS  16 /* receive batches per turn before we write again */

/* Current CLOCK_MONOTONIC time in ns (the timestamps the engine is given). */
uint64_t wt_pump_now(void);

/* ------------------------------------------------------------------ tx */

typedef struct wt_pump_tx {
  wt_tx_batch b;
  wt_io_tx *io;        /* b.max entries, the wt_io view of b.ents */
  size_t sent;         /* entries of b handed to the socket so far */
  size_t max_payload;  /* the engine's packet size limit (caps the GSO train) */
  size_t min_room;     /* filling stops when less is left in b.buf (default: a full train) */
  unsigned max_writes; /* wt_engine_write calls per fill, 0 = until the batch is full */
  unsigned segments;   /* GSO segments per train in wt_pump_tx_flush: 0 = what the socket
                          offers (wt_io_gso_max_segments), else always this many (wt_io_send
                          splits the trains itself when GSO is off) */
  uint64_t blocked;    /* sends that would block (the rest is kept for the next flush) */
  uint64_t dropped;    /* entries dropped on a send error (QUIC recovers them as losses) */
} wt_pump_tx;

/* entries trains in a buffer of buf_cap bytes (0 = entries full-size
 * trains). Returns 0 or WT_ERR_NOMEM. */
int wt_pump_tx_init(wt_pump_tx *t, size_t entries, size_t buf_cap, size_t max_payload);
void wt_pump_tx_free(wt_pump_tx *t);

/* 1 while entries of the last batch wait for the socket. */
static inline int wt_pump_tx_pending(const wt_pump_tx *t) {
  return t->sent < t->b.n;
}

/* Write the engine's packets into the (reset) batch: GSO trains of up to
 * gso_segments segments (0 = GSO off), capped by max_payload so a train fits
 * one UDP payload. Returns 1 when the batch filled up (the engine may have
 * more), 0 when the engine is drained, or the engine's negative error
 * (logged; what it wrote before is in the batch). Must not be called while
 * wt_pump_tx_pending(). */
int wt_pump_tx_fill(wt_pump_tx *t, wt_engine *e, unsigned gso_segments, uint64_t now);

/* Hand the unsent entries of the batch to io. Returns 1 when all are out
 * (entries the kernel refused are dropped and counted), 0 when the socket
 * would block (the rest stays pending). */
int wt_pump_tx_send(wt_pump_tx *t, wt_io *io);

/* The tx step of a turn: send what is pending, else fill from the engine
 * and send. Returns 1 if the caller should come back without waiting (the
 * batch filled up and all of it went out). The batch buffer is reused only
 * after a wt_io_wait (wt_io.h: sent data stays untouched until then). */
int wt_pump_tx_flush(wt_pump_tx *t, wt_engine *e, wt_io *io, uint64_t now);

/* ------------------------------------------------------------------ rx */

typedef struct wt_pump_rx {
  wt_io_pkt pkts[WT_PUMP_RX_BATCH];
  unsigned pos, n;      /* pkts[pos, n) not yet given to the engine */
  uint64_t slice_ns;    /* 0 = off; else stop once long-header (handshake) packets
                           used this long, so the replies go out first (as the shard) */
  const wt_addr *local; /* the local address of every path (the caller's, may
                          change between calls); NULL = each packet's own */
} wt_pump_rx;

void wt_pump_rx_init(wt_pump_rx *r);

/* Receive up to WT_PUMP_RX_ROUNDS batches into the engine (the slice may
 * leave some in pkts for the next call; they stay valid until the next
 * wt_io_recv). Returns the datagrams taken from the socket. */
uint64_t wt_pump_rx_run(wt_pump_rx *r, wt_io *io, wt_engine *e);

/* ------------------------------------------------------------------ turn */

typedef struct wt_pump {
  wt_engine *eng; /* not owned */
  wt_io *io;      /* not owned */
  wt_pump_tx tx;
  wt_pump_rx rx;
  int64_t last_timeout; /* the wait of the last turn (ns, 0 = did not sleep) */
  uint64_t last_rx;     /* datagrams the last turn received */
} wt_pump;

/* Returns 0 or WT_ERR_NOMEM. rx.local is NULL: set it for one fixed path. */
int wt_pump_init(wt_pump *p, wt_engine *eng, wt_io *io, size_t max_payload);
/* Reaps sends still referencing the batch (zero-timeout wt_io_wait on p->io
 * if any), then frees the buffers. */
void wt_pump_free(wt_pump *p);

/* One turn after the caller's work at now: flush, wait until wake or the
 * engine's next timer (not at all when more is to be sent or received),
 * receive, run the timers that are due. Returns 0, or wt_io_wait's negative
 * error (the loop should end). */
int wt_pump_turn(wt_pump *p, uint64_t wake, uint64_t now);

/* Last words before the loop ends (the CONNECTION_CLOSEs): fill and send
 * once, unless sends are still pending. */
void wt_pump_final_flush(wt_pump *p, uint64_t now);

/* ------------------------------------------------------------------ socket */

/* Open a UDP socket for talking to peer: wildcard-bound on an ephemeral
 * port (backend: wt_io_config.backend), and *local = the address the kernel
 * routes from towards peer with the bound port (the path's local address).
 * Returns 0, or a negative WT_ERR_* with a message in err (*io is then NULL
 * or open; the caller closes it). */
int wt_pump_open_socket(const wt_io_addr *peer, int backend, wt_io **io, wt_addr *local, char *err,
                        size_t errlen);

#endif
