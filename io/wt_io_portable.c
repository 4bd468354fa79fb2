/* wt_io_portable.c: the portable datapath backend: recvmmsg into a fixed set
 * of receive buffers (GRO buffers split here), sendmmsg with one UDP_SEGMENT
 * message per GSO train, epoll for readiness. Used when io_uring is
 * unavailable or disabled (docs/architecture.md, "Datapath (io/)"). */
#define _GNU_SOURCE   /* recvmmsg, sendmmsg */
#define WT_LOG_MODULE "io"

#include "wt_io_internal.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "wt_error.h"
#include "wt_log.h"

#define RX_CMSG_SPACE WT_IO_RX_CMSG_SPACE

/* Messages per sendmmsg call (the kernel caps vlen at UIO_MAXIOV = 1024). */
#define TX_BATCH 1024

/* Events per epoll_wait: the socket plus a few watched fds. */
#define WAIT_EVENTS 16

/* Where a send message came from. */
typedef struct tx_map {
  unsigned tx;   /* index of its entry in the caller's array */
  uint16_t nseg; /* datagrams it puts on the wire */
  uint8_t gso;   /* it carries UDP_SEGMENT */
} tx_map;

typedef struct cmsg_buf {
  union {
    struct cmsghdr align; /* CMSG_* need cmsghdr alignment */
    uint8_t b[RX_CMSG_SPACE];
  } u;
} cmsg_buf;

typedef struct tx_cmsg_buf {
  union {
    struct cmsghdr align;
    uint8_t b[WT_IO_TX_CMSG_SPACE];
  } u;
} tx_cmsg_buf;

typedef struct pio {
  wt_io base; /* first: a struct pio * is a wt_io * */
  int epfd;
  int want_write; /* EPOLLOUT is armed: a send stopped at would-block */

  /* Receive: rx_batch buffers of rx_bufsize bytes. After a recvmmsg,
   * messages [rx_idx, rx_count) are not yet fully delivered; rx_off is the
   * offset of the next datagram inside message rx_idx. */
  unsigned rx_batch;
  size_t rx_bufsize;
  uint8_t *rx_buf;
  struct mmsghdr *rx_msgs;
  struct iovec *rx_iov;
  struct sockaddr_storage *rx_names;
  cmsg_buf *rx_cmsg;
  unsigned rx_count, rx_idx;
  size_t rx_off;
  int rx_started;   /* rx_cur describes message rx_idx */
  size_t rx_seg;    /* datagram size inside message rx_idx */
  wt_io_pkt rx_cur; /* peer, local, ecn of message rx_idx */

  /* Send: one batch of messages at a time. */
  struct mmsghdr *tx_msgs;
  struct iovec *tx_iov;
  tx_cmsg_buf *tx_cmsg;
  tx_map *tx_map;
} pio;

static void pio_close(wt_io *b);
static int pio_recv(wt_io *b, wt_io_pkt *pkts, unsigned max);
static int pio_send(wt_io *b, const wt_io_tx *tx, unsigned n);
static int pio_wait(wt_io *b, int64_t timeout_ns);
static int pio_watch(wt_io *b, int fd);
static int pio_unwatch(wt_io *b, int fd);

static const wt_io_ops pio_ops = {
    .close = pio_close,
    .recv = pio_recv,
    .send = pio_send,
    .wait = pio_wait,
    .watch = pio_watch,
    .unwatch = pio_unwatch,
};

/* ------------------------------------------------------------------ open / close */

static int alloc_buffers(pio *io) {
  size_t nb = io->rx_batch;
  io->rx_buf = malloc(nb * io->rx_bufsize);
  io->rx_msgs = calloc(nb, sizeof(*io->rx_msgs));
  io->rx_iov = calloc(nb, sizeof(*io->rx_iov));
  io->rx_names = calloc(nb, sizeof(*io->rx_names));
  io->rx_cmsg = calloc(nb, sizeof(*io->rx_cmsg));
  io->tx_msgs = calloc(TX_BATCH, sizeof(*io->tx_msgs));
  io->tx_iov = calloc(TX_BATCH, sizeof(*io->tx_iov));
  io->tx_cmsg = calloc(TX_BATCH, sizeof(*io->tx_cmsg));
  io->tx_map = calloc(TX_BATCH, sizeof(*io->tx_map));
  if (!io->rx_buf || !io->rx_msgs || !io->rx_iov || !io->rx_names || !io->rx_cmsg || !io->tx_msgs ||
      !io->tx_iov || !io->tx_cmsg || !io->tx_map) {
    return WT_ERR_NOMEM;
  }
  for (size_t i = 0; i < nb; i++) {
    io->rx_iov[i].iov_base = io->rx_buf + i * io->rx_bufsize;
    io->rx_iov[i].iov_len = io->rx_bufsize;
    struct msghdr *h = &io->rx_msgs[i].msg_hdr;
    h->msg_name = &io->rx_names[i];
    h->msg_iov = &io->rx_iov[i];
    h->msg_iovlen = 1;
    h->msg_control = io->rx_cmsg[i].u.b;
  }
  return 0;
}

int wt_io_portable_open(wt_io **out, const wt_io_config *cfg) {
  const wt_io_config c = *cfg;
  int rv;
  pio *io = calloc(1, sizeof(*io));
  if (io == NULL) {
    return WT_ERR_NOMEM;
  }
  io->base.ops = &pio_ops;
  io->base.backend = WT_IO_BACKEND_PORTABLE;
  io->base.sock.fd = -1;
  io->epfd = -1;
  io->rx_batch = c.rx_batch;
  io->rx_bufsize = c.rx_bufsize;
  if ((rv = alloc_buffers(io)) != 0 || (rv = wt_io_sock_open(&io->base.sock, &c)) != 0) {
    pio_close(&io->base);
    return rv;
  }
  io->epfd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = io->base.sock.fd};
  if (io->epfd < 0 || epoll_ctl(io->epfd, EPOLL_CTL_ADD, io->base.sock.fd, &ev) != 0) {
    WT_LOG_ERROR("epoll: %s", strerror(errno));
    pio_close(&io->base);
    return WT_ERR_IO;
  }
  if (wt_log_enabled(WT_LOG_LEVEL_DEBUG)) {
    char a[WT_IO_ADDR_STRLEN];
    wt_io_addr_format(&io->base.sock.local, a, sizeof(a));
    WT_LOG_DEBUG("portable datapath on %s: gro=%d gso=%d rx_batch=%u rx_bufsize=%zu", a,
                 io->base.sock.gro, io->base.sock.gso, io->rx_batch, io->rx_bufsize);
  }
  *out = &io->base;
  return 0;
}

static void pio_close(wt_io *b) {
  pio *io = (pio *)b;
  if (io->epfd >= 0) {
    close(io->epfd);
  }
  wt_io_sock_close(&io->base.sock);
  free(io->rx_buf);
  free(io->rx_msgs);
  free(io->rx_iov);
  free(io->rx_names);
  free(io->rx_cmsg);
  free(io->tx_msgs);
  free(io->tx_iov);
  free(io->tx_cmsg);
  free(io->tx_map);
  free(io);
}

/* ------------------------------------------------------------------ receive */

static int rx_pending(const pio *io) {
  return io->rx_idx < io->rx_count;
}

/* One recvmmsg of up to want messages. Returns the count (0 = nothing). */
static int rx_fill(pio *io, unsigned want) {
  unsigned vlen = want < io->rx_batch ? want : io->rx_batch;
  io->rx_count = io->rx_idx = 0;
  io->rx_off = 0;
  io->rx_started = 0;
  /* Two tries: a failure may be an error left pending on the socket (the
   * kernel parks an error that follows received datagrams in sk_err for the
   * next call), which this read reports and clears. */
  for (int attempt = 0; attempt < 2; attempt++) {
    for (unsigned i = 0; i < vlen; i++) {
      struct msghdr *h = &io->rx_msgs[i].msg_hdr;
      h->msg_namelen = sizeof(io->rx_names[i]);
      h->msg_controllen = RX_CMSG_SPACE;
      h->msg_flags = 0;
    }
    int r = recvmmsg(io->base.sock.fd, io->rx_msgs, vlen, MSG_DONTWAIT, NULL);
    io->base.stats.rx_calls++;
    io->base.stats.syscalls++;
    if (r >= 0) {
      io->base.stats.rx_completions += (unsigned)r;
      io->rx_count = (unsigned)r;
      return r;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      return 0;
    }
    io->base.stats.rx_errors++;
    WT_LOG_DEBUG("recvmmsg: %s", strerror(errno));
  }
  WT_LOG_ERROR("recvmmsg failed twice: %s", strerror(errno));
  return WT_ERR_IO;
}

/* Read the addresses, ECN and GRO size of message rx_idx into rx_cur.
 * Returns 0, or WT_ERR_TRUNCATED if the message must be dropped. */
static int rx_start_msg(pio *io) {
  struct mmsghdr *mm = &io->rx_msgs[io->rx_idx];
  struct msghdr *h = &mm->msg_hdr;
  if (h->msg_flags & MSG_TRUNC) {
    /* Longer than rx_bufsize: the tail is gone, so is the datagram (and
     * with GRO, every datagram of the buffer). */
    io->base.stats.rx_truncated++;
    return WT_ERR_TRUNCATED;
  }
  wt_io_rxmeta meta;
  memset(&meta, 0, sizeof(meta));
  for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
    wt_io_rxmeta_cmsg(&meta, &io->base.sock, c);
  }
  wt_io_rxmeta_pkt(&io->rx_cur, &io->base.sock, &meta, &io->rx_names[io->rx_idx], h->msg_namelen);
  size_t len = mm->msg_len;
  io->rx_seg = meta.segsize != 0 && meta.segsize < len ? meta.segsize : len;
  if (io->rx_seg < len) {
    io->base.stats.rx_gro_super++;
  }
  io->rx_started = 1;
  return 0;
}

/* Hand out kept datagrams into pkts[0..max). */
static unsigned rx_deliver(pio *io, wt_io_pkt *pkts, unsigned max) {
  unsigned n = 0;
  while (n < max && rx_pending(io)) {
    if (!io->rx_started && rx_start_msg(io) != 0) {
      io->rx_idx++;
      continue;
    }
    size_t len = io->rx_msgs[io->rx_idx].msg_len;
    size_t left = len - io->rx_off;
    size_t take = left < io->rx_seg ? left : io->rx_seg;
    wt_io_pkt *p = &pkts[n++];
    *p = io->rx_cur;
    p->data = (const uint8_t *)io->rx_iov[io->rx_idx].iov_base + io->rx_off;
    p->len = take;
    io->base.stats.rx_packets++;
    io->base.stats.rx_bytes += take;
    io->rx_off += take;
    if (io->rx_off >= len) { /* also ends a zero-length datagram */
      io->rx_idx++;
      io->rx_off = 0;
      io->rx_started = 0;
    }
  }
  return n;
}

static int pio_recv(wt_io *b, wt_io_pkt *pkts, unsigned max) {
  pio *io = (pio *)b;
  /* Kept datagrams first, without a system call: the buffers they point
   * into must not be overwritten while this call hands them out. Only when
   * every kept one was dropped (truncated) is it safe to read more. */
  if (rx_pending(io)) {
    unsigned n = rx_deliver(io, pkts, max);
    if (n > 0) {
      return (int)n;
    }
  }
  int r = rx_fill(io, max);
  if (r <= 0) {
    return r;
  }
  return (int)rx_deliver(io, pkts, max);
}

/* ------------------------------------------------------------------ send */

/* Fill send message m with one datagram (segsize 0) or one GSO train. */
static void tx_put_msg(pio *io, unsigned m, const wt_io_tx *t, unsigned txi, size_t off, size_t len,
                       size_t segsize) {
  struct iovec *iov = &io->tx_iov[m];
  struct msghdr *h = &io->tx_msgs[m].msg_hdr;
  iov->iov_base = (void *)(uintptr_t)(t->data + off); /* the kernel only reads it */
  iov->iov_len = len;
  h->msg_name = (void *)(uintptr_t)&t->peer->ss;
  h->msg_namelen = t->peer->len;
  h->msg_iov = iov;
  h->msg_iovlen = 1;
  h->msg_flags = 0;
  unsigned nseg = 1;
  if (segsize != 0) {
    nseg = (unsigned)((len + segsize - 1) / segsize);
    /* GSO discipline (docs/architecture.md, Conventions 8): equal segments, the last may be
     * shorter, and the train within the limits the kernel accepts. */
    assert(segsize <= WT_IO_MAX_UDP_PAYLOAD && len <= WT_IO_MAX_UDP_PAYLOAD);
    assert(nseg >= 2 && nseg <= WT_IO_GSO_MAX_SEGMENTS);
  }
  int cl = wt_io_txcmsg_build(&io->base.sock, io->tx_cmsg[m].u.b, t->peer, t->local, t->ecn,
                              (uint16_t)segsize);
  assert(cl >= 0); /* tx_check accepted local */
  h->msg_control = cl > 0 ? io->tx_cmsg[m].u.b : NULL;
  h->msg_controllen = cl > 0 ? (size_t)cl : 0;
  io->tx_map[m] = (tx_map){.tx = txi, .nseg = (uint16_t)nseg, .gso = segsize != 0};
}

/* Turn tx[first..n) into send messages, as many entries as fit whole in one
 * batch. Stores the index after the last entry taken in *end; returns the
 * message count. */
static unsigned tx_build(pio *io, const wt_io_tx *tx, unsigned n, unsigned first, unsigned *end) {
  unsigned m = 0, i;
  for (i = first; i < n; i++) {
    const wt_io_tx *t = &tx[i];
    unsigned nseg = wt_io_tx_segments(t);
    unsigned need = nseg > 1 && !io->base.sock.gso ? nseg : 1;
    if (m + need > TX_BATCH) {
      break;
    }
    if (nseg == 1) {
      tx_put_msg(io, m++, t, i, 0, t->len, 0);
    } else if (io->base.sock.gso) {
      tx_put_msg(io, m++, t, i, 0, t->len, t->segsize);
    } else {
      for (size_t off = 0; off < t->len; off += t->segsize) {
        size_t l = t->len - off < t->segsize ? t->len - off : t->segsize;
        tx_put_msg(io, m++, t, i, off, l, 0);
      }
    }
  }
  *end = i;
  return m;
}

static void tx_account(pio *io, unsigned from, unsigned to) {
  for (unsigned m = from; m < to; m++) {
    io->base.stats.tx_packets += io->tx_map[m].nseg;
    io->base.stats.tx_bytes += io->tx_msgs[m].msg_len;
    io->base.stats.tx_gso_sends += io->tx_map[m].gso;
    if (io->tx_map[m].gso) {
      io->base.stats.tx_gso_packets += io->tx_map[m].nseg;
    }
  }
}

/* Ask epoll for EPOLLOUT until wt_io_wait sees the socket writable. */
static void arm_writable(pio *io) {
  if (io->want_write) {
    return;
  }
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.fd = io->base.sock.fd};
  io->base.stats.syscalls++;
  if (epoll_ctl(io->epfd, EPOLL_CTL_MOD, io->base.sock.fd, &ev) == 0) {
    io->want_write = 1;
  }
}

/* What to do after sendmmsg failed at message pos. */
enum {
  TX_RETRY,   /* interrupted: send message pos again */
  TX_DROP,    /* the kernel refused message pos: drop it (counted) and go on */
  TX_REBUILD, /* GSO just turned off: rebuild the batch from pos's entry */
  TX_STOP,    /* would block, or the socket is broken: return */
};

static int tx_on_error(pio *io, int e, unsigned pos, int *eintr_left) {
  if (e == EINTR && (*eintr_left)-- > 0) {
    return TX_RETRY;
  }
  if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR) {
    io->base.stats.tx_eagain++;
    arm_writable(io);
    return TX_STOP;
  }
  if ((e == EIO || e == EINVAL) && io->tx_map[pos].gso) {
    /* The device or path cannot segment (EIO) or refuses this train
     * (EINVAL, e.g. segment + headers above the MTU): send segments as
     * datagrams from now on. */
    WT_LOG_WARN("UDP GSO send failed (%s): sending segments one by one from now on", strerror(e));
    io->base.sock.gso = 0;
    return TX_REBUILD;
  }
  io->base.stats.tx_errors++;
  if (wt_io_tx_errno_fatal(e)) {
    WT_LOG_ERROR("sendmmsg: %s", strerror(e));
    return TX_STOP;
  }
  WT_LOG_DEBUG("sendmmsg: %s (datagram dropped)", strerror(e));
  return TX_DROP;
}

static int pio_send(wt_io *b, const wt_io_tx *tx, unsigned n) {
  pio *io = (pio *)b;
  unsigned done = 0; /* entries consumed */
  int eintr_left = 4;
  while (done < n) {
    unsigned end;
    unsigned nmsg = tx_build(io, tx, n, done, &end);
    unsigned pos = 0;
    /* Each round sends at least one message, drops one, turns GSO off
     * (once), or stops: bounded by nmsg + a few. */
    while (pos < nmsg) {
      int r = sendmmsg(io->base.sock.fd, io->tx_msgs + pos, nmsg - pos, MSG_DONTWAIT);
      io->base.stats.tx_calls++;
      io->base.stats.syscalls++;
      if (r > 0) {
        tx_account(io, pos, pos + (unsigned)r);
        pos += (unsigned)r;
        continue;
      }
      int e = r == 0 ? EAGAIN : errno;
      int what = tx_on_error(io, e, pos, &eintr_left);
      if (what == TX_STOP) {
        unsigned consumed = io->tx_map[pos].tx;
        if (consumed > 0) {
          return (int)consumed;
        }
        return wt_io_tx_errno_fatal(e) ? WT_ERR_IO : WT_ERR_AGAIN;
      }
      if (what == TX_REBUILD) {
        done = io->tx_map[pos].tx;
        nmsg = tx_build(io, tx, n, done, &end);
        pos = 0;
      } else if (what == TX_DROP) {
        pos++;
      }
    }
    done = end;
  }
  return (int)n;
}

/* ------------------------------------------------------------------ wait */

static int pio_watch(wt_io *b, int fd) {
  pio *io = (pio *)b;
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
  io->base.stats.syscalls++;
  if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    WT_LOG_ERROR("epoll_ctl add fd %d: %s", fd, strerror(errno));
    return WT_ERR_IO;
  }
  return 0;
}

static int pio_unwatch(wt_io *b, int fd) {
  pio *io = (pio *)b;
  io->base.stats.syscalls++;
  if (epoll_ctl(io->epfd, EPOLL_CTL_DEL, fd, NULL) != 0) {
    return WT_ERR_IO;
  }
  return 0;
}

/* Nanoseconds to epoll's milliseconds, rounded up so a timer never fires
 * early; < 0 waits forever. */
static int timeout_ms(int64_t ns) {
  if (ns < 0) {
    return -1;
  }
  if (ns >= (int64_t)INT_MAX * 1000000) {
    return INT_MAX;
  }
  return (int)((ns + 999999) / 1000000);
}

static int pio_wait(wt_io *b, int64_t timeout_ns) {
  pio *io = (pio *)b;
  if (rx_pending(io)) {
    return WT_IO_EV_READABLE;
  }
  struct epoll_event ev[WAIT_EVENTS];
  int n = epoll_wait(io->epfd, ev, WAIT_EVENTS, timeout_ms(timeout_ns));
  io->base.stats.syscalls++;
  if (n < 0) {
    if (errno == EINTR) {
      return 0;
    }
    WT_LOG_ERROR("epoll_wait: %s", strerror(errno));
    return WT_ERR_IO;
  }
  int mask = 0;
  for (int i = 0; i < n; i++) {
    if (ev[i].data.fd != io->base.sock.fd) {
      mask |= WT_IO_EV_WATCHED;
      continue;
    }
    /* EPOLLERR: an error is pending; wt_io_recv reads (and clears) it. */
    if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
      mask |= WT_IO_EV_READABLE;
    }
    if ((ev[i].events & EPOLLOUT) && io->want_write) {
      mask |= WT_IO_EV_WRITABLE;
      struct epoll_event in = {.events = EPOLLIN, .data.fd = io->base.sock.fd};
      io->base.stats.syscalls++;
      if (epoll_ctl(io->epfd, EPOLL_CTL_MOD, io->base.sock.fd, &in) == 0) {
        io->want_write = 0;
      }
    }
  }
  return mask;
}
