/* wt_io_internal.h: what the datapath backends in io/ share; not for use
 * outside io/ (wt_io.h is the public API).
 *
 * Every backend's object starts with a struct wt_io (the common part: the
 * socket, the counters, which backend and why, and the backend's operations);
 * wt_io.c implements the public functions on top of it and dispatches the
 * per-backend ones through ops. */
#ifndef WT_IO_INTERNAL_H
#define WT_IO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "wt_io.h"

/* A bound socket and what the kernel granted. */
typedef struct wt_io_sock {
  int fd;
  int family;       /* AF_INET or AF_INET6 */
  int wildcard;     /* bound to 0.0.0.0 or [::]; local addresses come from PKTINFO */
  int gro;          /* UDP_GRO is on */
  int gso;          /* UDP_SEGMENT sends are allowed (asked for and supported) */
  wt_io_addr local; /* the bound address (getsockname) */
} wt_io_sock;

/* The operations a backend provides (all required). */
typedef struct wt_io_ops {
  void (*close)(wt_io *io); /* free everything, the socket included */
  int (*recv)(wt_io *io, wt_io_pkt *pkts, unsigned max);
  int (*send)(wt_io *io, const wt_io_tx *tx, unsigned n);
  int (*wait)(wt_io *io, int64_t timeout_ns);
  int (*watch)(wt_io *io, int fd);
  int (*unwatch)(wt_io *io, int fd);
} wt_io_ops;

#define WT_IO_REASON_MAX 192

/* The common head of every backend's object. */
struct wt_io {
  const wt_io_ops *ops;
  int backend; /* WT_IO_BACKEND_PORTABLE or WT_IO_BACKEND_URING */
  wt_io_sock sock;
  wt_io_stats stats;
  char reason[WT_IO_REASON_MAX]; /* why this backend (wt_io_backend_reason) */
};

/* Open the portable backend per c (defaults already applied and checked by
 * wt_io.c). Same errors as wt_io_open. */
int wt_io_portable_open(wt_io **out, const wt_io_config *c);

/* Open the io_uring backend per c. When io_uring itself is unusable (disabled,
 * set-up refused, an opcode or the buffer ring missing) returns
 * WT_ERR_UNSUPPORTED with the reason in why (cap bytes) and nothing opened;
 * other errors as wt_io_open. */
int wt_io_uring_open(wt_io **out, const wt_io_config *c, char *why, size_t cap);

/* Create and bind the socket wt_io_open describes into *s, per cfg
 * (cfg->rx_bufsize already defaulted by the backend: it decides GRO).
 * Returns 0, or WT_ERR_CONFIG (bad bind_addr), WT_ERR_UNSUPPORTED,
 * WT_ERR_IO; on error the socket is closed and s->fd = -1. */
int wt_io_sock_open(wt_io_sock *s, const wt_io_config *cfg);

/* Close s->fd if open. */
void wt_io_sock_close(wt_io_sock *s);

/* What the control messages of one received buffer say. */
typedef struct wt_io_rxmeta {
  size_t segsize;   /* UDP_GRO segment size; 0 = one datagram */
  uint8_t ecn;      /* from IP_TOS / IPV6_TCLASS */
  int have_local;   /* local was filled from IP_PKTINFO / IPV6_PKTINFO */
  wt_io_addr local; /* in the socket's family; port not set */
} wt_io_rxmeta;

/* Fold one received control message into *m (unknown ones are ignored). The
 * backends iterate the cmsgs themselves (CMSG_NXTHDR, or liburing's
 * io_uring_recvmsg_cmsg_nexthdr for multishot buffers). */
void wt_io_rxmeta_cmsg(wt_io_rxmeta *m, const wt_io_sock *s, const struct cmsghdr *c);

/* The packet template (peer, local with the bound port, ecn) of one received
 * buffer from its sender address (name, namelen bytes) and its metadata. */
void wt_io_rxmeta_pkt(wt_io_pkt *p, const wt_io_sock *s, const wt_io_rxmeta *m, const void *name,
                      socklen_t namelen);

/* Control buffer bytes for one received message: IPV6_PKTINFO (40) +
 * IP_PKTINFO (32) + IP_TOS (24) + IPV6_TCLASS (24) + UDP_GRO (24), with room
 * to spare. */
#define WT_IO_RX_CMSG_SPACE 256

/* Bytes of control buffer one send message may need. */
#define WT_IO_TX_CMSG_SPACE 128

/* Write the control messages for one send (source address if s is wildcard
 * and local is a specific address, ECN if ecn != 0, UDP_SEGMENT if segsize != 0)
 * into cbuf (WT_IO_TX_CMSG_SPACE bytes, aligned for struct cmsghdr). peer
 * decides IPv4 (IP_TOS) or IPv6 (IPV6_TCLASS) marking on a dual-stack socket.
 * Returns the control length to put in msg_controllen (0 = none), or
 * WT_ERR_INVAL if local does not fit the socket's family. */
int wt_io_txcmsg_build(const wt_io_sock *s, void *cbuf, const wt_io_addr *peer,
                       const wt_io_addr *local, uint8_t ecn, uint16_t segsize);

/* Datagrams entry t puts on the wire: ceil(len / segsize), or 1. */
unsigned wt_io_tx_segments(const wt_io_tx *t);

/* The rules of wt_io_tx (wt_io.h) for socket s: 0 or WT_ERR_INVAL. */
int wt_io_tx_check(const wt_io_sock *s, const wt_io_tx *t);

/* Errors of a send that say the socket, not one datagram, is broken. */
int wt_io_tx_errno_fatal(int e);

#endif
