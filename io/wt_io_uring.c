/* wt_io_uring.c: the io_uring datapath backend (docs/architecture.md,
 * "Datapath (io/)" and "Conventions" rule 9).
 *
 * One ring per wt_io (so per shard thread), set up with
 * SINGLE_ISSUER|DEFER_TASKRUN (plain flags if the kernel refuses them):
 * completions are only posted while this thread is inside io_uring_enter, so
 * the ring never interrupts the loop.
 *
 * Receive: one multishot recvmsg on a provided buffer ring of rx_buffers
 * buffers of (header room + rx_bufsize) bytes. Each completion names the
 * buffer it filled: io_uring_recvmsg_out, the sender address, the control
 * messages (PKTINFO, TOS/TCLASS, UDP_GRO) and the payload. Completions are
 * queued (rxq) as they are reaped; wt_io_recv splits each buffer into its GRO
 * datagrams, pointing into the buffer (no copy). Buffer lifecycle:
 *   in the ring (kernel may fill it) -> completed (rxq) -> being split (cur)
 *   -> held (all its datagrams handed out; the caller may still read them)
 *   -> back into the ring at the start of the next wt_io_recv.
 * A completion without IORING_CQE_F_MORE means the multishot receive
 * stopped (-ENOBUFS when the ring ran dry: back-pressure, counted; or an
 * error, or CQ overflow): it is re-armed as soon as the ring holds a buffer.
 *
 * Send: each wt_io_tx becomes one IORING_OP_SENDMSG (one UDP_SEGMENT message
 * per GSO run), all prepared in backend-owned slots and submitted with one
 * io_uring_enter. The sends carry MSG_DONTWAIT, so the kernel completes each
 * one during that submit (success, or -EAGAIN instead of parking it on a
 * poll): wt_io_send reaps the results before it returns and the caller's
 * data is no longer referenced afterwards (stricter than wt_io.h asks). A
 * full submission queue is submitted early and refilled (counted in
 * sq_full). -EAGAIN stops the call at that entry (the caller keeps the rest)
 * and arms a one-shot POLLOUT whose completion is WT_IO_EV_WRITABLE.
 *
 * Deferred sends (wt_io_config.tx_defer): a small wt_io_send is prepared
 * with IOSQE_CQE_SKIP_SUCCESS (the peer address copied into the slot, the
 * data into defer_buf: the caller may reuse both once wt_io_send returns,
 * and a pump writes its next packets into the same buffer before its next
 * send) and not submitted: the enter of the next wait, receive or send submits it, so
 * a loop turn that receives, answers and sleeps makes one system call, not
 * two; successful sends post no completion, so that wait still sleeps. A
 * failure posts one (OP_SENDD): counted (tx_errors, or tx_eagain for a full
 * socket, which also stops deferring for the next DEFER_COOLDOWN sends; GSO
 * refused turns GSO off as in the direct path); the datagram is lost.
 *
 * Wait: io_uring_submit_and_wait_timeout (the timeout goes in the enter
 * call: IORING_FEAT_EXT_ARG), so an idle shard sleeps in one system call
 * which also submits whatever was prepared (re-arms, polls). Watched fds use
 * a one-shot POLLIN re-armed at each wait after it fired: when the caller did
 * not drain the fd, the poll completes at once, which gives the level-triggered
 * behaviour wt_io.h promises at no extra system call (a multishot poll would
 * report each wake-up once, i.e. edge-triggered).
 *
 * user_data packs an operation, a slot index and a generation, so late
 * completions of a cancelled watch or a finished send round are recognised
 * and ignored. */
#define _GNU_SOURCE
#define WT_LOG_MODULE "io"

#include <assert.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wt_error.h"
#include "wt_io_internal.h"
#include "wt_log.h"

#define BGID            0    /* our only buffer group */
#define RX_HDR_ROOM     512  /* io_uring_recvmsg_out (16) + name (128) + cmsgs (256), rounded */
#define TX_SLOTS        1024 /* send messages per round (as the portable backend's sendmmsg) */
#define WATCH_MAX       16   /* watched fds */
#define SEND_WAIT_NS    (100 * 1000 * 1000LL)
#define SEND_WAIT_TRIES 50
#define DEFER_MAX_SLOTS 16          /* tx_defer: largest deferred send, in messages ... */
#define DEFER_MAX_BYTES (16 * 1024) /* ... and in bytes */
#define DEFER_COOLDOWN  64          /* sends not deferred after a deferred would-block */

enum {
  OP_RECV = 1,
  OP_SEND = 2,
  OP_POLLOUT = 3,
  OP_WATCH = 4,
  OP_CANCEL = 5,
  OP_SENDD = 6, /* a deferred send: completes only when it failed */
};

/* op in bits 56..63, generation in 24..55, index in 0..23. */
static uint64_t ud_pack(unsigned op, unsigned idx, uint32_t gen) {
  return ((uint64_t)op << 56) | ((uint64_t)gen << 24) | (idx & 0xffffffu);
}
static unsigned ud_op(uint64_t ud) {
  return (unsigned)(ud >> 56);
}
static unsigned ud_idx(uint64_t ud) {
  return (unsigned)(ud & 0xffffffu);
}
static uint32_t ud_gen(uint64_t ud) {
  return (uint32_t)(ud >> 24);
}

typedef struct rx_done {
  uint16_t bid;
  uint32_t len; /* bytes the kernel wrote into the buffer (CQE res) */
} rx_done;

typedef struct tx_slot {
  struct msghdr msg;
  struct iovec iov;
  union {
    struct cmsghdr align;
    uint8_t b[WT_IO_TX_CMSG_SPACE];
  } cmsg;
  struct sockaddr_storage peer; /* deferred: a copy of the destination */
  unsigned tx;                  /* entry index in the caller's array */
  uint16_t nseg;                /* datagrams it puts on the wire */
  uint8_t gso;                  /* carries UDP_SEGMENT */
  uint8_t done;                 /* its completion arrived */
  int res;                      /* the completion's result */
} tx_slot;

typedef struct watch {
  int fd;
  uint32_t gen;
  uint8_t used;
  uint8_t armed;  /* a POLLIN is in the kernel */
  uint8_t fired;  /* readable: report WT_IO_EV_WATCHED */
  uint8_t broken; /* the poll failed: do not re-arm */
} watch;

typedef struct uio {
  wt_io base; /* first: a struct uio * is a wt_io * */
  struct io_uring ring;
  int ring_ok;

  /* receive */
  struct io_uring_buf_ring *br;
  uint8_t *bufs;
  size_t buf_len;
  unsigned nbufs, rx_in_ring;
  struct msghdr rx_msg; /* the layout of every buffer (name and cmsg room) */
  int rx_armed;
  int rx_err;        /* error completions in a row */
  int rx_err_report; /* an error completion not yet reported as READABLE */
  rx_done *rxq;
  unsigned rxq_head, rxq_n;
  int cur_active;
  uint16_t cur_bid;
  const uint8_t *cur_data;
  size_t cur_len, cur_off, cur_seg;
  wt_io_pkt cur_tpl;
  uint16_t *held;
  unsigned held_n;

  /* send */
  tx_slot *slots;
  unsigned in_flight;
  uint32_t tx_gen;
  int pollout_armed, writable;
  int can_defer;        /* tx_defer asked and the kernel has IORING_FEAT_CQE_SKIP */
  int deferring;        /* tx_prep: prepare a deferred send */
  unsigned deferred;    /* prepared deferred sends not yet submitted */
  uint8_t *defer_buf;   /* their data (DEFER_MAX_BYTES) ... */
  size_t defer_used;    /* ... this much of it */
  unsigned defer_pause; /* sends left before deferring again (after a would-block) */

  watch w[WATCH_MAX];
} uio;

/* ------------------------------------------------------------------ ring helpers */

static int ring_submit(uio *u) {
  u->base.stats.syscalls++;
  u->deferred = 0;
  return io_uring_submit(&u->ring);
}

static void on_cqe(uio *u, const struct io_uring_cqe *cqe);

/* Handle every completion already in the CQ (no system call unless the
 * kernel holds overflowed ones, which only an enter flushes). */
static void reap(uio *u) {
  for (int round = 0; round < 4; round++) {
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&u->ring, head, cqe) {
      on_cqe(u, cqe);
      n++;
    }
    io_uring_cq_advance(&u->ring, n);
    if (!io_uring_cq_has_overflow(&u->ring)) {
      return;
    }
    u->base.stats.syscalls++;
    io_uring_get_events(&u->ring);
  }
}

/* A free SQE; when the queue is full, submit what is there first (and reap,
 * so the CQ keeps room). NULL only if the kernel keeps refusing to take
 * submissions (logged). */
static struct io_uring_sqe *get_sqe(uio *u) {
  for (int tries = 0; tries < 8; tries++) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (sqe != NULL) {
      return sqe;
    }
    u->base.stats.sq_full++;
    int r = ring_submit(u);
    if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
      WT_LOG_ERROR("io_uring_submit: %s", strerror(-r));
    }
    reap(u);
  }
  WT_LOG_ERROR("io_uring: no submission queue entry after 8 submits");
  return NULL;
}

/* ------------------------------------------------------------------ receive */

static uint8_t *buf_addr(const uio *u, unsigned bid) {
  return u->bufs + (size_t)bid * u->buf_len;
}

/* Arm the multishot recvmsg if it is not and the ring holds a buffer. */
static void rx_arm(uio *u) {
  if (u->rx_armed || u->rx_in_ring == 0) {
    return;
  }
  struct io_uring_sqe *sqe = get_sqe(u);
  if (sqe == NULL) {
    return;
  }
  io_uring_prep_recvmsg_multishot(sqe, u->base.sock.fd, &u->rx_msg, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = BGID;
  io_uring_sqe_set_data64(sqe, ud_pack(OP_RECV, 0, 0));
  u->rx_armed = 1;
}

/* Give the buffers of the previous wt_io_recv back to the kernel. */
static void rx_recycle(uio *u) {
  if (u->held_n == 0) {
    return;
  }
  int mask = io_uring_buf_ring_mask(u->nbufs);
  for (unsigned i = 0; i < u->held_n; i++) {
    unsigned bid = u->held[i];
    io_uring_buf_ring_add(u->br, buf_addr(u, bid), (unsigned)u->buf_len, (unsigned short)bid, mask,
                          (int)i);
  }
  io_uring_buf_ring_advance(u->br, (int)u->held_n);
  u->rx_in_ring += u->held_n;
  u->held_n = 0;
}

static void on_recv(uio *u, const struct io_uring_cqe *cqe) {
  if (!(cqe->flags & IORING_CQE_F_MORE)) {
    u->rx_armed = 0; /* stopped: rx_arm starts it again */
  }
  if (cqe->flags & IORING_CQE_F_BUFFER) {
    unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
    u->rx_in_ring--;
    if (cqe->res < 0) { /* cannot happen with a buffer; keep the count right */
      u->held[u->held_n++] = (uint16_t)bid;
      return;
    }
    assert(u->rxq_n < u->nbufs);
    u->rxq[(u->rxq_head + u->rxq_n++) % u->nbufs] = (rx_done){(uint16_t)bid, (uint32_t)cqe->res};
    u->base.stats.rx_completions++;
    u->rx_err = 0;
    return;
  }
  if (cqe->res == -ENOBUFS) {
    u->base.stats.rx_enobufs++; /* back-pressure: re-armed after recycling */
  } else if (cqe->res < 0 && cqe->res != -ECANCELED) {
    u->base.stats.rx_errors++;
    u->rx_err++;
    u->rx_err_report = 1;
    WT_LOG_DEBUG("multishot recvmsg: %s", strerror(-cqe->res));
  }
}

/* Start splitting the next completed buffer. 0, or -1 if it was dropped. */
static int rx_start(uio *u) {
  rx_done d = u->rxq[u->rxq_head];
  u->rxq_head = (u->rxq_head + 1) % u->nbufs;
  u->rxq_n--;
  uint8_t *buf = buf_addr(u, d.bid);
  struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(buf, (int)d.len, &u->rx_msg);
  if (o == NULL || (o->flags & MSG_TRUNC)) {
    /* Longer than rx_bufsize: the tail is gone, so is the datagram (and with
     * GRO, every datagram of the buffer). */
    if (o == NULL) {
      u->base.stats.rx_errors++;
    } else {
      u->base.stats.rx_truncated++;
    }
    u->held[u->held_n++] = d.bid;
    return -1;
  }
  wt_io_rxmeta meta;
  memset(&meta, 0, sizeof(meta));
  for (struct cmsghdr *c = io_uring_recvmsg_cmsg_firsthdr(o, &u->rx_msg); c != NULL;
       c = io_uring_recvmsg_cmsg_nexthdr(o, &u->rx_msg, c)) {
    wt_io_rxmeta_cmsg(&meta, &u->base.sock, c);
  }
  socklen_t nl = o->namelen < u->rx_msg.msg_namelen ? o->namelen : u->rx_msg.msg_namelen;
  wt_io_rxmeta_pkt(&u->cur_tpl, &u->base.sock, &meta, io_uring_recvmsg_name(o), nl);
  u->cur_data = io_uring_recvmsg_payload(o, &u->rx_msg);
  u->cur_len = io_uring_recvmsg_payload_length(o, (int)d.len, &u->rx_msg);
  u->cur_off = 0;
  u->cur_seg = meta.segsize != 0 && meta.segsize < u->cur_len ? meta.segsize : u->cur_len;
  if (u->cur_seg < u->cur_len) {
    u->base.stats.rx_gro_super++;
  }
  u->cur_bid = d.bid;
  u->cur_active = 1;
  return 0;
}

/* Hand out datagrams of completed buffers into pkts[0..max). */
static unsigned rx_deliver(uio *u, wt_io_pkt *pkts, unsigned max) {
  unsigned n = 0;
  while (n < max) {
    if (!u->cur_active) {
      if (u->rxq_n == 0) {
        break;
      }
      if (rx_start(u) != 0) {
        continue;
      }
    }
    size_t left = u->cur_len - u->cur_off;
    size_t take = left < u->cur_seg ? left : u->cur_seg;
    wt_io_pkt *p = &pkts[n++];
    *p = u->cur_tpl;
    p->data = u->cur_data + u->cur_off;
    p->len = take;
    u->base.stats.rx_packets++;
    u->base.stats.rx_bytes += take;
    u->cur_off += take;
    if (u->cur_off >= u->cur_len) { /* also ends a zero-length datagram */
      u->held[u->held_n++] = u->cur_bid;
      u->cur_active = 0;
    }
  }
  return n;
}

static int u_recv(wt_io *b, wt_io_pkt *pkts, unsigned max) {
  uio *u = (uio *)b;
  rx_recycle(u); /* the previous call's pkts are invalid from here on */
  rx_arm(u);
  unsigned n = 0;
  int entered = 0;
  for (;;) {
    n += rx_deliver(u, pkts + n, max - n);
    if (n == max) {
      break;
    }
    reap(u);
    if (u->rxq_n > 0) {
      continue;
    }
    if (n > 0 || entered) {
      break;
    }
    if (u->rx_err >= 2) {
      WT_LOG_ERROR("receive failed twice in a row");
      u->rx_err = 0;
      return WT_ERR_IO;
    }
    /* Nothing completed yet: one enter runs the deferred receive work (and
     * submits a pending re-arm). */
    rx_arm(u);
    u->base.stats.rx_calls++;
    u->base.stats.syscalls++;
    int r = io_uring_submit_and_get_events(&u->ring);
    u->deferred = 0;
    if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
      WT_LOG_ERROR("io_uring_enter: %s", strerror(-r));
      return WT_ERR_IO;
    }
    entered = 1;
  }
  return (int)n;
}

/* ------------------------------------------------------------------ send */

static void on_send(uio *u, const struct io_uring_cqe *cqe) {
  unsigned i = ud_idx(cqe->user_data);
  if (ud_gen(cqe->user_data) != u->tx_gen || i >= TX_SLOTS || u->slots[i].done) {
    return; /* a round given up on (see tx_complete) */
  }
  u->slots[i].done = 1;
  u->slots[i].res = cqe->res;
  u->in_flight--;
}

/* A deferred send failed (successful ones post nothing): its datagrams are
 * lost; counted as the direct path counts them. */
static void on_send_deferred(uio *u, const struct io_uring_cqe *cqe) {
  int res = cqe->res;
  if (res >= 0) {
    return;
  }
  wt_io_stats *st = &u->base.stats;
  if (res == -EAGAIN || res == -EINTR || res == -ENOBUFS) {
    st->tx_eagain++;
    u->defer_pause = DEFER_COOLDOWN; /* the socket is full: back to sends that see it */
  } else if ((res == -EIO || res == -EINVAL) && ud_gen(cqe->user_data) && u->base.sock.gso) {
    WT_LOG_WARN("UDP GSO send failed: sending segments one by one from now on");
    u->base.sock.gso = 0;
    st->tx_errors++;
  } else {
    st->tx_errors++;
    WT_LOG_DEBUG("sendmsg (deferred): %s (datagram dropped)", strerror(-res));
  }
}

static void on_cqe(uio *u, const struct io_uring_cqe *cqe) {
  uint64_t ud = cqe->user_data;
  switch (ud_op(ud)) {
  case OP_RECV:
    on_recv(u, cqe);
    break;
  case OP_SEND:
    on_send(u, cqe);
    break;
  case OP_SENDD:
    on_send_deferred(u, cqe);
    break;
  case OP_POLLOUT:
    u->pollout_armed = 0;
    if (cqe->res >= 0) {
      u->writable = 1;
    }
    break;
  case OP_WATCH: {
    watch *w = &u->w[ud_idx(ud) % WATCH_MAX];
    if (!w->used || w->gen != ud_gen(ud)) {
      break; /* unwatched meanwhile */
    }
    w->armed = 0;
    if (cqe->res > 0) {
      w->fired = 1;
    } else if (cqe->res < 0 && cqe->res != -ECANCELED) {
      WT_LOG_ERROR("poll on watched fd %d: %s (no longer watched)", w->fd, strerror(-cqe->res));
      w->broken = 1;
    }
    break;
  }
  case OP_CANCEL:
    break;
  default: /* nothing else is ever submitted */
    WT_LOG_WARN("io_uring: unexpected completion %llx", (unsigned long long)ud);
    break;
  }
}

/* A one-shot POLLOUT on the socket: its completion is WT_IO_EV_WRITABLE. */
static void arm_writable(uio *u) {
  if (u->pollout_armed) {
    return;
  }
  struct io_uring_sqe *sqe = get_sqe(u);
  if (sqe == NULL) {
    return;
  }
  io_uring_prep_poll_add(sqe, u->base.sock.fd, POLLOUT);
  io_uring_sqe_set_data64(sqe, ud_pack(OP_POLLOUT, 0, 0));
  u->pollout_armed = 1;
}

/* Prepare slot s: one datagram (segsize 0) or one GSO run. 0, or -1 when no
 * SQE could be had. */
static int tx_prep(uio *u, unsigned s, const wt_io_tx *t, unsigned txi, size_t off, size_t len,
                   size_t segsize) {
  tx_slot *sl = &u->slots[s];
  unsigned nseg = 1;
  if (segsize != 0) {
    nseg = (unsigned)((len + segsize - 1) / segsize);
    /* GSO discipline (docs/architecture.md, Conventions 8): equal segments, the last may be
     * shorter, and the run within the limits the kernel accepts. */
    assert(segsize <= WT_IO_MAX_UDP_PAYLOAD && len <= WT_IO_MAX_UDP_PAYLOAD);
    assert(nseg >= 2 && nseg <= WT_IO_GSO_MAX_SEGMENTS);
  }
  struct io_uring_sqe *sqe = get_sqe(u);
  if (sqe == NULL) {
    return -1;
  }
  sl->iov.iov_base = (void *)(uintptr_t)(t->data + off); /* the kernel only reads it */
  sl->iov.iov_len = len;
  memset(&sl->msg, 0, sizeof(sl->msg));
  sl->msg.msg_name = (void *)(uintptr_t)&t->peer->ss;
  sl->msg.msg_namelen = t->peer->len;
  if (u->deferring) {
    /* the caller may reuse its address and data once wt_io_send returns
     * (defer_fits bounded the bytes by DEFER_MAX_BYTES) */
    memcpy(&sl->peer, &t->peer->ss, t->peer->len);
    sl->msg.msg_name = &sl->peer;
    assert(u->defer_used + len <= DEFER_MAX_BYTES);
    memcpy(u->defer_buf + u->defer_used, t->data + off, len);
    sl->iov.iov_base = u->defer_buf + u->defer_used;
    u->defer_used += len;
  }
  sl->msg.msg_iov = &sl->iov;
  sl->msg.msg_iovlen = 1;
  int cl =
      wt_io_txcmsg_build(&u->base.sock, sl->cmsg.b, t->peer, t->local, t->ecn, (uint16_t)segsize);
  assert(cl >= 0); /* wt_io_tx_check accepted local */
  sl->msg.msg_control = cl > 0 ? sl->cmsg.b : NULL;
  sl->msg.msg_controllen = cl > 0 ? (size_t)cl : 0;
  sl->tx = txi;
  sl->nseg = (uint16_t)nseg;
  sl->gso = segsize != 0;
  sl->done = 0;
  sl->res = 0;
  /* MSG_DONTWAIT: a full socket completes with -EAGAIN during the submit
   * instead of waiting in the kernel on a poll. */
  io_uring_prep_sendmsg(sqe, u->base.sock.fd, &sl->msg, MSG_DONTWAIT);
  if (u->deferring) {
    io_uring_sqe_set_flags(sqe, IOSQE_CQE_SKIP_SUCCESS);
    io_uring_sqe_set_data64(sqe, ud_pack(OP_SENDD, s, sl->gso));
    return 0;
  }
  io_uring_sqe_set_data64(sqe, ud_pack(OP_SEND, s, u->tx_gen));
  u->in_flight++;
  return 0;
}

/* Slots for tx[first..n), whole entries only. *end = first entry not
 * taken. Returns the slot count. */
static unsigned tx_build(uio *u, const wt_io_tx *tx, unsigned n, unsigned first, unsigned *end) {
  unsigned s = 0, i;
  for (i = first; i < n; i++) {
    const wt_io_tx *t = &tx[i];
    unsigned nseg = wt_io_tx_segments(t);
    unsigned need = nseg > 1 && !u->base.sock.gso ? nseg : 1;
    if (s + need > TX_SLOTS) {
      break;
    }
    if (nseg == 1) {
      if (tx_prep(u, s, t, i, 0, t->len, 0) != 0) {
        break;
      }
      s++;
    } else if (u->base.sock.gso) {
      if (tx_prep(u, s, t, i, 0, t->len, t->segsize) != 0) {
        break;
      }
      s++;
    } else {
      unsigned s0 = s;
      for (size_t off = 0; off < t->len; off += t->segsize) {
        size_t l = t->len - off < t->segsize ? t->len - off : t->segsize;
        if (tx_prep(u, s, t, i, off, l, 0) != 0) {
          break;
        }
        s++;
      }
      if (s - s0 != nseg) {
        break; /* a partial entry is reported as not consumed */
      }
    }
  }
  *end = i;
  return s;
}

/* Submit the prepared sends (one enter) and collect every completion. The
 * completions normally arrive within that submit (MSG_DONTWAIT); the waits
 * below are a bounded safety net. */
static void tx_complete(uio *u) {
  int r = ring_submit(u);
  u->base.stats.tx_calls++;
  if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
    WT_LOG_ERROR("io_uring_submit: %s", strerror(-r));
  }
  reap(u);
  for (int tries = 0; u->in_flight > 0 && tries < SEND_WAIT_TRIES; tries++) {
    struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = SEND_WAIT_NS};
    struct io_uring_cqe *cqe;
    u->base.stats.syscalls++;
    io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
    reap(u);
  }
  if (u->in_flight > 0) {
    WT_LOG_ERROR("io_uring: %u send(s) not completed after 5 s: counted as failed", u->in_flight);
  }
}

/* tx_defer: n entries small enough to leave to the next enter. */
static int defer_fits(uio *u, const wt_io_tx *tx, unsigned n) {
  if (!u->can_defer || u->pollout_armed || n == 0) {
    return 0;
  }
  if (u->defer_pause > 0) {
    u->defer_pause--;
    return 0;
  }
  unsigned slots = 0;
  size_t bytes = 0;
  for (unsigned i = 0; i < n; i++) {
    unsigned nseg = wt_io_tx_segments(&tx[i]);
    slots += nseg > 1 && !u->base.sock.gso ? nseg : 1;
    bytes += tx[i].len;
    if (slots > DEFER_MAX_SLOTS || bytes > DEFER_MAX_BYTES) {
      return 0;
    }
  }
  return 1;
}

/* Prepare tx[0..n) as deferred sends (defer_fits said so). Stats count them
 * as handed over (a failure is counted again in on_send_deferred). */
static int send_deferred(uio *u, const wt_io_tx *tx, unsigned n) {
  wt_io_stats *st = &u->base.stats;
  u->deferring = 1;
  u->defer_used = 0; /* what used it before was submitted (u_send) */
  unsigned end;
  unsigned ns = tx_build(u, tx, n, 0, &end);
  u->deferring = 0;
  for (unsigned s = 0; s < ns; s++) {
    const tx_slot *sl = &u->slots[s];
    st->tx_packets += sl->nseg;
    st->tx_bytes += sl->iov.iov_len;
    st->tx_gso_sends += sl->gso;
    st->tx_gso_packets += sl->gso ? sl->nseg : 0;
  }
  u->deferred = ns;
  st->tx_deferred++;
  return end > 0 ? (int)end : WT_ERR_AGAIN; /* end < n only without SQEs (logged) */
}

static int u_send(wt_io *b, const wt_io_tx *tx, unsigned n) {
  uio *u = (uio *)b;
  wt_io_stats *st = &u->base.stats;
  unsigned done = 0;
  if (u->deferred > 0) {
    /* the slots are about to be reused: what waits goes first (the
     * sendmsg runs inside the submit: MSG_DONTWAIT) */
    u->base.stats.tx_calls++;
    int r = ring_submit(u);
    if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
      WT_LOG_ERROR("io_uring_submit: %s", strerror(-r));
    }
    reap(u);
  }
  if (defer_fits(u, tx, n)) {
    return send_deferred(u, tx, n);
  }
  for (int rounds = 0; done < n; rounds++) {
    u->tx_gen++;
    u->in_flight = 0;
    unsigned end;
    unsigned ns = tx_build(u, tx, n, done, &end);
    tx_complete(u);
    /* The first entry that must be sent again decides the return. */
    unsigned block = n, gso_fail = n, fatal = n;
    for (unsigned s = 0; s < ns; s++) {
      tx_slot *sl = &u->slots[s];
      int res = sl->done ? sl->res : -EAGAIN;
      if (res >= 0) {
        st->tx_packets += sl->nseg;
        st->tx_bytes += (uint64_t)res;
        st->tx_gso_sends += sl->gso;
        st->tx_gso_packets += sl->gso ? sl->nseg : 0;
      } else if (res == -EAGAIN || res == -EINTR || res == -ENOBUFS) {
        block = sl->tx < block ? sl->tx : block;
      } else if ((res == -EIO || res == -EINVAL) && sl->gso) {
        gso_fail = sl->tx < gso_fail ? sl->tx : gso_fail;
      } else {
        st->tx_errors++;
        if (wt_io_tx_errno_fatal(-res)) {
          WT_LOG_ERROR("sendmsg: %s", strerror(-res));
          fatal = sl->tx < fatal ? sl->tx : fatal;
        } else {
          WT_LOG_DEBUG("sendmsg: %s (datagram dropped)", strerror(-res));
        }
      }
    }
    if (end < n && end == done && block == n && gso_fail == n && fatal == n) {
      block = done; /* not even one entry could be prepared */
    }
    if (gso_fail < block && gso_fail < fatal) {
      /* The device or path cannot segment (EIO) or refuses this run
       * (EINVAL): segments go out as datagrams from now on. */
      WT_LOG_WARN("UDP GSO send failed: sending segments one by one from now on");
      u->base.sock.gso = 0;
      done = gso_fail;
      continue;
    }
    if (block < fatal) {
      st->tx_eagain++;
      arm_writable(u);
      return block > 0 ? (int)block : WT_ERR_AGAIN;
    }
    if (fatal < n) {
      return fatal > 0 ? (int)fatal : WT_ERR_IO;
    }
    done = end;
  }
  return (int)n;
}

/* ------------------------------------------------------------------ wait */

static void watch_arm(uio *u, unsigned i) {
  watch *w = &u->w[i];
  struct io_uring_sqe *sqe = get_sqe(u);
  if (sqe == NULL) {
    return;
  }
  io_uring_prep_poll_add(sqe, w->fd, POLLIN);
  io_uring_sqe_set_data64(sqe, ud_pack(OP_WATCH, i, w->gen));
  w->armed = 1;
}

static int u_watch(wt_io *b, int fd) {
  uio *u = (uio *)b;
  int freei = -1;
  for (int i = 0; i < WATCH_MAX; i++) {
    if (u->w[i].used && u->w[i].fd == fd) {
      return WT_ERR_IO; /* already watched */
    }
    if (!u->w[i].used && freei < 0) {
      freei = i;
    }
  }
  if (freei < 0) {
    WT_LOG_ERROR("io_uring: more than %d watched fds", WATCH_MAX);
    return WT_ERR_IO;
  }
  watch *w = &u->w[freei];
  uint32_t gen = w->gen + 1;
  *w = (watch){.fd = fd, .gen = gen, .used = 1};
  watch_arm(u, (unsigned)freei);
  return 0;
}

static int u_unwatch(wt_io *b, int fd) {
  uio *u = (uio *)b;
  for (unsigned i = 0; i < WATCH_MAX; i++) {
    watch *w = &u->w[i];
    if (!w->used || w->fd != fd) {
      continue;
    }
    if (w->armed) {
      struct io_uring_sqe *sqe = get_sqe(u);
      if (sqe != NULL) {
        io_uring_prep_poll_remove(sqe, ud_pack(OP_WATCH, i, w->gen));
        io_uring_sqe_set_data64(sqe, ud_pack(OP_CANCEL, i, 0));
        ring_submit(u); /* the kernel lets go of the fd now, not at the next wait */
      }
    }
    w->used = 0;
    w->armed = 0;
    w->fired = 0;
    w->gen++; /* a late completion of the old poll is ignored */
    return 0;
  }
  return WT_ERR_IO;
}

static int events(const uio *u) {
  int m = 0;
  if (u->cur_active || u->rxq_n > 0 || u->rx_err_report) {
    m |= WT_IO_EV_READABLE;
  }
  /* Every buffer is held by the caller and the receive stopped: only the
   * next wt_io_recv (which recycles them) can restart it. */
  if (!u->rx_armed && u->rx_in_ring == 0 && u->held_n > 0) {
    m |= WT_IO_EV_READABLE;
  }
  if (u->writable) {
    m |= WT_IO_EV_WRITABLE;
  }
  for (int i = 0; i < WATCH_MAX; i++) {
    if (u->w[i].used && u->w[i].fired) {
      m |= WT_IO_EV_WATCHED;
    }
  }
  return m;
}

/* Events handed to the caller are consumed: the writable poll and watch
 * polls are re-armed by later calls. */
static int reported(uio *u, int m) {
  u->writable = 0;
  u->rx_err_report = 0;
  for (int i = 0; i < WATCH_MAX; i++) {
    u->w[i].fired = 0;
  }
  return m;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int u_wait(wt_io *b, int64_t timeout_ns) {
  uio *u = (uio *)b;
  /* Level-triggered watches: re-poll the fds reported last time. */
  for (unsigned i = 0; i < WATCH_MAX; i++) {
    watch *w = &u->w[i];
    if (w->used && !w->armed && !w->fired && !w->broken) {
      watch_arm(u, i);
    }
  }
  rx_arm(u);
  int64_t deadline = timeout_ns > 0 ? now_ns() + timeout_ns : 0;
  int entered = 0;
  for (;;) {
    reap(u);
    int m = events(u);
    if (m != 0 && u->deferred > 0) {
      /* The caller may reuse the sent data after this call: deferred sends
       * cannot wait for a later enter (wt_io.h "Memory"). */
      u->base.stats.tx_calls++;
      ring_submit(u);
      reap(u);
      m = events(u);
    }
    if (m != 0) {
      return reported(u, m);
    }
    struct io_uring_cqe *cqe;
    int r;
    u->base.stats.syscalls++;
    if (timeout_ns == 0) {
      if (entered) {
        return 0;
      }
      r = io_uring_submit_and_get_events(&u->ring);
    } else if (timeout_ns < 0) {
      r = io_uring_submit_and_wait(&u->ring, 1);
    } else {
      int64_t left = deadline - now_ns();
      if (left <= 0) {
        if (!entered && io_uring_sq_ready(&u->ring) > 0) {
          r = io_uring_submit_and_get_events(&u->ring);
          entered = 1;
          u->deferred = 0;
          continue;
        }
        return 0;
      }
      struct __kernel_timespec ts = {.tv_sec = left / 1000000000LL, .tv_nsec = left % 1000000000LL};
      r = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
    }
    entered = 1;
    u->deferred = 0; /* every enter above submits what was prepared */
    if (r == -ETIME || r == -EINTR) {
      reap(u);
      return reported(u, events(u)); /* 0 unless something arrived meanwhile */
    }
    if (r < 0 && r != -EAGAIN && r != -EBUSY) {
      WT_LOG_ERROR("io_uring wait: %s", strerror(-r));
      return WT_ERR_IO;
    }
  }
}

/* ------------------------------------------------------------------ set-up and probe */

static void why_set(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void why_set(char *why, size_t cap, const char *fmt, ...) {
  if (why == NULL || cap == 0) {
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, cap, fmt, ap);
  va_end(ap);
}

/* kernel.io_uring_disabled: 0 allowed, 1 only for the io_uring_group, 2 off. */
static int sysctl_disabled(void) {
  FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
  if (f == NULL) {
    return 0; /* older kernels do not have it */
  }
  int v = 0;
  if (fscanf(f, "%d", &v) != 1) {
    v = 0;
  }
  fclose(f);
  return v;
}

static unsigned pow2_at_least(unsigned v) {
  unsigned p = 1;
  while (p < v && p < (1u << 16)) {
    p <<= 1;
  }
  return p;
}

/* Ring with the preferred flags, else plain ones; the opcodes and features
 * the backend needs. 0 or WT_ERR_UNSUPPORTED (why filled). */
static int ring_setup(struct io_uring *ring, unsigned entries, unsigned cq_entries,
                      unsigned *features, char *why, size_t cap) {
  int dis = sysctl_disabled();
  if (dis == 2) {
    why_set(why, cap, "/proc/sys/kernel/io_uring_disabled = 2");
    return WT_ERR_UNSUPPORTED;
  }
  struct io_uring_params p;
  memset(&p, 0, sizeof(p));
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL |
            IORING_SETUP_CQSIZE;
  p.cq_entries = cq_entries;
  int r = io_uring_queue_init_params(entries, ring, &p);
  if (r == -EINVAL) {
    WT_LOG_INFO("io_uring refused SINGLE_ISSUER|DEFER_TASKRUN|SUBMIT_ALL: plain set-up flags");
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = cq_entries;
    r = io_uring_queue_init_params(entries, ring, &p);
  }
  if (r < 0) {
    why_set(why, cap, "io_uring_setup: %s%s", strerror(-r),
            dis == 1 && r == -EPERM ? " (kernel.io_uring_disabled = 1: not in io_uring_group)"
                                    : "");
    return WT_ERR_UNSUPPORTED;
  }
  const char *missing = NULL;
  if (!(p.features & IORING_FEAT_EXT_ARG)) {
    missing = "feature EXT_ARG (wait timeouts)";
  }
  struct io_uring_probe *pr = io_uring_get_probe_ring(ring);
  if (pr == NULL) {
    missing = "opcode probe";
  } else {
    static const struct {
      int op;
      const char *name;
    } need[] = {{IORING_OP_RECVMSG, "RECVMSG"},
                {IORING_OP_SENDMSG, "SENDMSG"},
                {IORING_OP_POLL_ADD, "POLL_ADD"},
                {IORING_OP_POLL_REMOVE, "POLL_REMOVE"}};
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
      if (!io_uring_opcode_supported(pr, need[i].op)) {
        missing = need[i].name;
      }
    }
    io_uring_free_probe(pr);
  }
  if (missing != NULL) {
    why_set(why, cap, "io_uring lacks %s", missing);
    io_uring_queue_exit(ring);
    return WT_ERR_UNSUPPORTED;
  }
  if (features != NULL) {
    *features = p.features;
  }
  return 0;
}

static void u_close(wt_io *b) {
  uio *u = (uio *)b;
  if (u->ring_ok) {
    if (u->deferred > 0) {
      ring_submit(u); /* the last deferred sends (a CONNECTION_CLOSE) still go out */
    }
    if (u->br != NULL) {
      io_uring_free_buf_ring(&u->ring, u->br, u->nbufs, BGID);
    }
    io_uring_queue_exit(&u->ring); /* cancels the receive and the polls */
  }
  wt_io_sock_close(&u->base.sock);
  free(u->bufs);
  free(u->rxq);
  free(u->held);
  free(u->slots);
  free(u->defer_buf);
  free(u);
}

static const wt_io_ops uio_ops = {
    .close = u_close,
    .recv = u_recv,
    .send = u_send,
    .wait = u_wait,
    .watch = u_watch,
    .unwatch = u_unwatch,
};

/* Ring, buffer ring, buffers. 0, WT_ERR_UNSUPPORTED (why) or WT_ERR_NOMEM. */
static int u_setup(uio *u, const wt_io_config *c, char *why, size_t cap) {
  u->nbufs = c->rx_buffers;
  u->buf_len = RX_HDR_ROOM + c->rx_bufsize;
  unsigned cq = pow2_at_least(u->nbufs + TX_SLOTS + 2 * c->ring_entries + WATCH_MAX + 16);
  unsigned features = 0;
  int rv = ring_setup(&u->ring, c->ring_entries, cq, &features, why, cap);
  if (rv != 0) {
    return rv;
  }
  u->ring_ok = 1;
  u->can_defer = c->tx_defer && (features & IORING_FEAT_CQE_SKIP);
  int err = 0;
  u->br = io_uring_setup_buf_ring(&u->ring, u->nbufs, BGID, 0, &err);
  if (u->br == NULL) {
    why_set(why, cap, "buffer ring registration: %s", strerror(-err));
    return WT_ERR_UNSUPPORTED;
  }
  u->bufs = malloc((size_t)u->nbufs * u->buf_len);
  u->rxq = calloc(u->nbufs, sizeof(*u->rxq));
  u->held = calloc(u->nbufs, sizeof(*u->held));
  u->slots = calloc(TX_SLOTS, sizeof(*u->slots));
  u->defer_buf = u->can_defer ? malloc(DEFER_MAX_BYTES) : NULL;
  if (u->bufs == NULL || u->rxq == NULL || u->held == NULL || u->slots == NULL ||
      (u->can_defer && u->defer_buf == NULL)) {
    return WT_ERR_NOMEM;
  }
  for (unsigned i = 0; i < u->nbufs; i++) {
    u->held[i] = (uint16_t)i;
  }
  u->held_n = u->nbufs;
  rx_recycle(u); /* every buffer into the ring */
  u->rx_msg.msg_namelen = sizeof(struct sockaddr_storage);
  u->rx_msg.msg_controllen = WT_IO_RX_CMSG_SPACE;
  return 0;
}

int wt_io_uring_open(wt_io **out, const wt_io_config *c, char *why, size_t cap) {
  uio *u = calloc(1, sizeof(*u));
  if (u == NULL) {
    return WT_ERR_NOMEM;
  }
  u->base.ops = &uio_ops;
  u->base.backend = WT_IO_BACKEND_URING;
  u->base.sock.fd = -1;
  int rv = u_setup(u, c, why, cap);
  if (rv == 0) {
    rv = wt_io_sock_open(&u->base.sock, c);
  }
  if (rv != 0) {
    u_close(&u->base);
    return rv;
  }
  rx_arm(u);
  if (wt_log_enabled(WT_LOG_LEVEL_DEBUG)) {
    char a[WT_IO_ADDR_STRLEN];
    wt_io_addr_format(&u->base.sock.local, a, sizeof(a));
    WT_LOG_DEBUG("io_uring datapath on %s: gro=%d gso=%d buffers=%u x %zu sq=%u", a,
                 u->base.sock.gro, u->base.sock.gso, u->nbufs, u->buf_len, c->ring_entries);
  }
  *out = &u->base;
  return 0;
}

int wt_io_uring_probe(char *why, size_t cap) {
  wt_io_config c;
  wt_io_config_default(&c);
  c.rx_buffers = 2;
  c.ring_entries = 8;
  c.rx_bufsize = 2048;
  c.gro = 0;
  c.rcvbuf = c.sndbuf = 0;
  c.bind_addr = "127.0.0.1:0";
  wt_io *io = NULL;
  int rv = wt_io_uring_open(&io, &c, why, cap);
  if (rv != 0) {
    if (rv != WT_ERR_UNSUPPORTED) {
      why_set(why, cap, "io_uring test socket: %s", wt_err_str(rv));
    }
    return WT_ERR_UNSUPPORTED;
  }
  /* A datagram to itself through the multishot receive and a send. */
  static const uint8_t ping[4] = {'w', 't', 'c', '!'};
  wt_io_tx t = {.data = ping, .len = sizeof(ping), .peer = wt_io_local(io)};
  rv = wt_io_send(io, &t, 1) == 1 ? 0 : WT_ERR_UNSUPPORTED;
  int got = 0;
  for (int i = 0; rv == 0 && i < 100 && !got; i++) {
    wt_io_pkt p;
    int n = wt_io_recv(io, &p, 1);
    if (n == 1 && p.len == sizeof(ping) && memcmp(p.data, ping, sizeof(ping)) == 0) {
      got = 1;
    } else if (n < 0) {
      break;
    } else {
      wt_io_wait(io, 10 * 1000000LL);
    }
  }
  if (!got) {
    why_set(why, cap, "multishot recvmsg / sendmsg self-test failed (rx_errors %llu)",
            (unsigned long long)io->stats.rx_errors);
    rv = WT_ERR_UNSUPPORTED;
  }
  wt_io_close(io);
  return rv;
}
