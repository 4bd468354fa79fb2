/* loop.c: the client's event loop: connection ticks (which run the
 * operations), then one turn of the engine pump (client/wt_pump.h:
 * wt_engine_write → wt_io_send → wt_io_wait → wt_io_recv → wt_engine_recv →
 * timers). One socket carries every connection. */
#define WT_LOG_MODULE "client"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "wt_log.h"

#define CL_MS            UINT64_C(1000000)
#define CL_CLOSE_WAIT_NS (20 * CL_MS) /* wait this long for conn_close after ours */
#define CL_LINGER_MIN_NS (10 * CL_MS)
#define CL_LINGER_MAX_NS (250 * CL_MS)

static void cl_conn_close(cl_conn *cn, uint64_t now) {
  if (cn->wc) {
    cn->closed_by_us = 1;
    cn->state = CL_CS_CLOSING;
    /* --sequential: the next connection starts as soon as our
     * CONNECTION_CLOSE is out (the engine finishes the closing period). */
    cn->close_deadline = now + (cn->cl->o->sequential ? 0 : CL_CLOSE_WAIT_NS);
    wt_conn_close(cn->wc, WT_H3_NO_ERROR); /* may run conn_close at once */
  } else {
    cn->state = CL_CS_CLOSED;
  }
}

static uint64_t cl_min(uint64_t a, uint64_t b) {
  return a < b ? a : b;
}

/* Run the sessions of one connection and move it towards CLOSED once they
 * are all finished. Returns when it wants to run again. */
static uint64_t cl_conn_tick(cl_conn *cn, uint64_t now) {
  uint64_t wake = UINT64_MAX;
  switch (cn->state) {
  case CL_CS_ACTIVE: {
    int all = 1, any_close = 0;
    for (uint32_t i = 0; i < cn->n_sess; i++) {
      cl_session *s = &cn->sess[i];
      wake = cl_min(wake, cl_session_tick(s, now));
      all = all && s->finished;
      any_close = any_close || s->close_sent;
    }
    if (!all) {
      return wake;
    }
    if (!cn->t_done) {
      cn->t_done = now;
    }
    if (cn->cl->o->hold_ms && cn->wc && !cn->hold_start) {
      /* --hold: keep the sessions open, a small datagram echo every
       * ~100 ms, and see how the connection ends */
      cn->state = CL_CS_HOLD;
      cn->hold_start = cn->hold_next = now;
      cn->hold_until = now + cn->cl->o->hold_ms * CL_MS;
      return now;
    }
    if (any_close && cn->wc) {
      /* Give the CLOSE capsule time to be acknowledged before the
       * connection goes (docs/protocol.md section 4). */
      uint64_t hs = cn->t_first_reply > cn->t_start ? cn->t_first_reply - cn->t_start : 0;
      cn->state = CL_CS_LINGER;
      cn->linger_until =
          now + cl_min(CL_LINGER_MAX_NS, hs > CL_LINGER_MIN_NS ? hs : CL_LINGER_MIN_NS);
      return cn->linger_until;
    }
    cl_conn_close(cn, now);
    return now;
  }
  case CL_CS_HOLD:
    if (!cn->wc) { /* ended during the hold (cb_conn_close) */
      cn->state = CL_CS_CLOSED;
      return wake;
    }
    if (now >= cn->hold_until) {
      cl_conn_close(cn, now);
      return now;
    }
    if (now >= cn->hold_next) {
      for (uint32_t i = 0; i < cn->n_sess; i++) {
        cl_session *s = &cn->sess[i];
        if (s->ws && s->state == CL_SS_OPEN &&
            wt_session_send_datagram(s->ws, (const uint8_t *)"hold", 4) == 0) {
          cn->hold_sent++;
        }
      }
      cn->hold_next = now + 100 * CL_MS;
    }
    return cl_min(cn->hold_next, cn->hold_until);
  case CL_CS_LINGER:
    if (now < cn->linger_until && cn->wc) {
      return cn->linger_until;
    }
    cl_conn_close(cn, now);
    return now;
  case CL_CS_CLOSING:
    if (cn->conn_closed || now >= cn->close_deadline) {
      cn->state = CL_CS_CLOSED;
      return wake;
    }
    return cn->close_deadline;
  case CL_CS_CLOSED:
    return wake;
  default: /* unreachable: states are set only here and in cl_conn_close */
    cn->state = CL_CS_CLOSED;
    return wake;
  }
}

static uint16_t cl_port(const wt_io_addr *a) {
  return ntohs(a->ss.ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)&a->ss)->sin6_port
                                           : ((const struct sockaddr_in *)&a->ss)->sin_port);
}

/* --rebind-after: move every connection to a new UDP socket (new source
 * port), as a NAT rebinding looks to the server: the engine is told with
 * wt_conn_rebind (ngtcp2_conn_set_local_addr), the server validates the
 * new path. The old socket is closed. */
static void cl_rebind(cl_client *c, uint64_t now) {
  c->rebound = 1;
  c->t_rebind = now;
  wt_io_config ioc;
  wt_io_config_default(&ioc);
  ioc.bind_addr = c->o->u.peer.ss.ss_family == AF_INET6 ? "[::]:0" : "0.0.0.0:0";
  wt_io *nio = NULL;
  int r = wt_io_open(&nio, &ioc);
  if (r < 0) {
    snprintf(c->rebind_err, sizeof(c->rebind_err), "cannot open a new socket: %s", wt_err_str(r));
    cl_error(c, "rebind: %s", c->rebind_err);
    return;
  }
  wt_addr local = c->path.local;
  const wt_io_addr *bound = wt_io_local(nio);
  if (local.ss.ss_family == AF_INET6) {
    ((struct sockaddr_in6 *)&local.ss)->sin6_port =
        ((const struct sockaddr_in6 *)&bound->ss)->sin6_port;
  } else {
    ((struct sockaddr_in *)&local.ss)->sin_port =
        ((const struct sockaddr_in *)&bound->ss)->sin_port;
  }
  c->old_port = cl_port((const wt_io_addr *)&c->path.local);
  c->new_port = cl_port(bound);
  for (uint32_t i = 0; i < c->n_conns; i++) {
    if (c->conns[i].wc) {
      r = wt_conn_rebind(c->conns[i].wc, &local);
      if (r < 0) {
        cl_error(c, "conn %u: rebind: %s", i, wt_err_str(r));
      }
    }
  }
  c->path.local = local;
  wt_io_wait(c->io, 0); /* reap sends still in flight on the old socket */
  wt_io_close(c->io);
  c->io = nio;
  c->pump.io = nio;
  WT_LOG_INFO("rebound from port %u to port %u", c->old_port, c->new_port);
}

static void cl_timeout(cl_client *c, uint64_t now) {
  c->timed_out = 1;
  cl_error(c, "timeout after %" PRIu64 " ms", c->o->timeout_ms);
  for (uint32_t i = 0; i < c->n_conns; i++) {
    cl_conn *cn = &c->conns[i];
    if (cn->wc && !cn->t_first_reply) {
      cl_error(c, "conn %u: no reply from the server (handshake or CONNECT did not complete)", i);
    }
    for (uint32_t j = 0; j < cn->n_sess; j++) {
      cl_session *s = &cn->sess[j];
      if (!s->finished) {
        cl_session_abort(s, "timeout");
        s->finished = 1;
      }
    }
    if (cn->state != CL_CS_CLOSED && cn->wc) {
      cl_conn_close(cn, now);
    }
  }
  wt_pump_final_flush(&c->pump, now); /* best effort: tell the server we are gone */
}

int cl_run(cl_client *c) {
  if (wt_pump_init(&c->pump, c->eng, c->io, c->max_udp_payload) < 0) {
    cl_error(c, "out of memory");
    return WT_ERR_NOMEM;
  }
  c->pump.rx.local = &c->path.local; /* one path: the one we connected on */
  int rv = 0;
  for (;;) {
    uint64_t now = cl_now();
    uint64_t wake = c->deadline;
    int open = 0;
    for (uint32_t i = 0; i < c->n_conns; i++) {
      wake = cl_min(wake, cl_conn_tick(&c->conns[i], now));
      open += c->conns[i].state != CL_CS_CLOSED;
    }
    if (!open) {
      wt_pump_final_flush(&c->pump, now); /* the last CONNECTION_CLOSE */
      break;
    }
    if (now >= c->deadline) {
      cl_timeout(c, now);
      break;
    }
    if (c->o->rebind_after_ms && !c->rebound && now >= c->t0 + c->o->rebind_after_ms * CL_MS) {
      cl_rebind(c, now);
    }
    int ev = wt_pump_turn(&c->pump, wake, now);
    if (ev < 0) {
      cl_error(c, "wait failed: %s", wt_err_str(ev));
      rv = ev;
      break;
    }
  }
  /* The last sends may still reference the batch (io_uring backend):
   * wt_pump_free reaps them before it is freed. */
  wt_pump_free(&c->pump);
  return rv;
}
