/* wt_pump.c: the engine pump (see wt_pump.h). */
#define WT_LOG_MODULE "pump"

#include "wt_pump.h"

#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wt_log.h"

/* wt_addr (core) and wt_io_addr (io) are declared alike so paths pass
 * between the two layers without conversion. */
_Static_assert(sizeof(wt_addr) == sizeof(wt_io_addr), "wt_addr layout");
_Static_assert(offsetof(wt_addr, len) == offsetof(wt_io_addr, len), "wt_addr layout");

uint64_t wt_pump_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------ tx */

int wt_pump_tx_init(wt_pump_tx *t, size_t entries, size_t buf_cap, size_t max_payload) {
  memset(t, 0, sizeof(*t));
  if (buf_cap == 0) {
    buf_cap = entries * WT_IO_MAX_UDP_PAYLOAD;
  }
  t->b.buf = malloc(buf_cap);
  t->b.ents = calloc(entries, sizeof(*t->b.ents));
  t->io = calloc(entries, sizeof(*t->io));
  if (!t->b.buf || !t->b.ents || !t->io) {
    wt_pump_tx_free(t);
    return WT_ERR_NOMEM;
  }
  t->b.cap = buf_cap;
  t->b.max = entries;
  t->b.max_segments = 1;
  t->max_payload = max_payload ? max_payload : 1452;
  t->min_room = WT_IO_MAX_UDP_PAYLOAD;
  return 0;
}

void wt_pump_tx_free(wt_pump_tx *t) {
  free(t->b.buf);
  free(t->b.ents);
  free(t->io);
  memset(t, 0, sizeof(*t));
}

int wt_pump_tx_fill(wt_pump_tx *t, wt_engine *e, unsigned gso_segments, uint64_t now) {
  size_t by_size = WT_IO_MAX_UDP_PAYLOAD / t->max_payload;
  t->b.max_segments = gso_segments == 0 ? 1 : (gso_segments < by_size ? gso_segments : by_size);
  t->b.used = 0;
  t->b.n = 0;
  t->sent = 0;
  int r, more = 0;
  for (unsigned i = 0; (r = wt_engine_write(e, &t->b, now)) > 0; i++) {
    if (t->b.n >= t->b.max || t->b.cap - t->b.used < t->min_room ||
        (t->max_writes && i + 1 >= t->max_writes)) {
      more = 1; /* bounded work per turn: the rest next time */
      break;
    }
  }
  if (r < 0) {
    WT_LOG_WARN("wt_engine_write: %s", wt_err_str(r));
    more = r; /* what was written before still goes out */
  }
  for (size_t i = 0; i < t->b.n; i++) {
    const wt_tx_entry *x = &t->b.ents[i];
    wt_io_tx *o = &t->io[i];
    o->data = x->data;
    o->len = x->len;
    o->segsize = x->segsize < x->len ? x->segsize : 0;
    o->peer = (const wt_io_addr *)&x->path.remote;
    o->local = x->path.local.len ? (const wt_io_addr *)&x->path.local : NULL;
    o->ecn = x->ecn;
  }
  return more;
}

int wt_pump_tx_send(wt_pump_tx *t, wt_io *io) {
  if (t->sent >= t->b.n) {
    return 1;
  }
  unsigned n = (unsigned)(t->b.n - t->sent);
  int r = wt_io_send(io, t->io + t->sent, n);
  if (r == WT_ERR_AGAIN || r == 0) {
    t->blocked++;
    return 0;
  }
  if (r < 0) {
    /* the socket failed (or an entry broke io's rules): dropped like lost
     * packets, QUIC recovers */
    WT_LOG_WARN_RL(5, "send failed: %s; %u packet train(s) dropped", wt_err_str(r), n);
    t->dropped += n;
    t->sent = t->b.n;
    return 1;
  }
  t->sent += (size_t)r;
  if (t->sent < t->b.n) {
    t->blocked++; /* the socket took only part: the rest when it is writable */
    return 0;
  }
  return 1;
}

int wt_pump_tx_flush(wt_pump_tx *t, wt_engine *e, wt_io *io, uint64_t now) {
  if (wt_pump_tx_pending(t)) { /* left over from a would-block */
    return wt_pump_tx_send(t, io);
  }
  unsigned segs = t->segments ? t->segments : wt_io_gso_max_segments(io);
  int more = wt_pump_tx_fill(t, e, segs, now);
  if (t->b.n == 0) {
    return 0;
  }
  return wt_pump_tx_send(t, io) && more > 0;
}

/* ------------------------------------------------------------------ rx */

void wt_pump_rx_init(wt_pump_rx *r) {
  memset(r, 0, sizeof(*r));
}

uint64_t wt_pump_rx_run(wt_pump_rx *r, wt_io *io, wt_engine *e) {
  uint64_t got = 0, t0 = r->slice_ns ? wt_pump_now() : 0;
  for (int round = 0; round < WT_PUMP_RX_ROUNDS; round++) {
    if (r->pos == r->n) {
      int n = wt_io_recv(io, r->pkts, WT_PUMP_RX_BATCH);
      if (n <= 0) {
        if (n < 0) {
          WT_LOG_WARN("receive failed: %s", wt_err_str(n));
        }
        r->pos = r->n = 0;
        return got;
      }
      r->pos = 0;
      r->n = (unsigned)n;
      got += (uint64_t)n;
    }
    uint64_t now = wt_pump_now();
    while (r->pos < r->n) {
      const wt_io_pkt *k = &r->pkts[r->pos++];
      wt_path p;
      memcpy(&p.local, r->local ? (const void *)r->local : (const void *)&k->local,
             sizeof(p.local));
      memcpy(&p.remote, &k->peer, sizeof(p.remote));
      wt_engine_recv(e, &p, k->data, k->len, k->ecn, now);
      if (r->slice_ns && k->len > 0 && (k->data[0] & 0x80) && wt_pump_now() - t0 >= r->slice_ns) {
        return got; /* handshake work used the slice: send the replies first */
      }
    }
  }
  return got;
}

/* ------------------------------------------------------------------ turn */

int wt_pump_init(wt_pump *p, wt_engine *eng, wt_io *io, size_t max_payload) {
  memset(p, 0, sizeof(*p));
  p->eng = eng;
  p->io = io;
  wt_pump_rx_init(&p->rx);
  return wt_pump_tx_init(&p->tx, WT_PUMP_TX_ENTRIES, 0, max_payload);
}

void wt_pump_free(wt_pump *p) {
  if (p->io) {
    wt_io_wait(p->io, 0); /* the last sends may still reference the batch (io_uring) */
  }
  wt_pump_tx_free(&p->tx);
}

static uint64_t pump_min(uint64_t a, uint64_t b) {
  return a < b ? a : b;
}

int wt_pump_turn(wt_pump *p, uint64_t wake, uint64_t now) {
  int more = wt_pump_tx_flush(&p->tx, p->eng, p->io, now);
  wake = pump_min(wake, wt_engine_next_expiry(p->eng));
  int64_t timeout = more || wake <= now || p->rx.pos < p->rx.n ? 0 : (int64_t)(wake - now);
  p->last_timeout = timeout;
  int ev = wt_io_wait(p->io, timeout);
  if (ev < 0) {
    p->last_rx = 0;
    return ev;
  }
  p->last_rx = wt_pump_rx_run(&p->rx, p->io, p->eng);
  now = wt_pump_now();
  if (wt_engine_next_expiry(p->eng) <= now) {
    wt_engine_handle_expiry(p->eng, now);
  }
  return 0;
}

void wt_pump_final_flush(wt_pump *p, uint64_t now) {
  if (!wt_pump_tx_pending(&p->tx)) {
    wt_pump_tx_flush(&p->tx, p->eng, p->io, now);
  }
}

/* ------------------------------------------------------------------ socket */

/* The source address the kernel picks for peer (connect on a scratch
 * socket; no packet is sent). */
int wt_pump_open_socket(const wt_io_addr *peer, int backend, wt_io **io, wt_addr *local, char *err,
                        size_t errlen) {
  wt_io_config ioc;
  wt_io_config_default(&ioc);
  ioc.bind_addr = peer->ss.ss_family == AF_INET6 ? "[::]:0" : "0.0.0.0:0";
  ioc.backend = backend;
  int r = wt_io_open(io, &ioc);
  if (r < 0) {
    *io = NULL;
    snprintf(err, errlen, "cannot open a UDP socket: %s", wt_err_str(r));
    return r;
  }
  wt_io_addr a;
  if (wt_io_route_source(peer, &a) < 0) {
    snprintf(err, errlen, "no route to the server: %s", strerror(errno));
    return WT_ERR_IO;
  }
  /* The bound port, on the address the kernel routes from. */
  const wt_io_addr *bound = wt_io_local(*io);
  if (a.ss.ss_family == AF_INET) {
    ((struct sockaddr_in *)&a.ss)->sin_port = ((const struct sockaddr_in *)&bound->ss)->sin_port;
  } else {
    ((struct sockaddr_in6 *)&a.ss)->sin6_port =
        ((const struct sockaddr_in6 *)&bound->ss)->sin6_port;
  }
  memcpy(local, &a, sizeof(*local));
  return 0;
}
