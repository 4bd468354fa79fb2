/* wt_io.h: the UDP datapath of one shard (one socket), backend-neutral.
 *
 * One wt_io owns one non-blocking UDP socket (optionally one member of a
 * SO_REUSEPORT group), the buffers datagrams are received into, and the
 * readiness machinery (epoll for the portable backend). It knows nothing of
 * QUIC: it moves datagrams, their addresses and their ECN bits.
 *
 * Threads: a wt_io belongs to one thread (the shard that opened it); no
 * function here may be called concurrently on the same wt_io. Different
 * wt_io instances are independent. The io_uring backend enforces this: its
 * ring is set up with IORING_SETUP_SINGLE_ISSUER, so only the thread that
 * called wt_io_open may use it (any other thread's submissions fail with
 * EEXIST). Open a wt_io on the thread that will drive it.
 *
 * Memory: received packets point into buffers owned by the wt_io. They stay
 * valid until the next wt_io_recv or wt_io_close on that wt_io, so a caller
 * that keeps a payload longer copies it. The data of sent entries must stay
 * valid and unchanged until the next wt_io_wait (or wt_io_close) on that
 * wt_io: the portable backend has copied it into the kernel when wt_io_send
 * returns, but an io_uring backend completes sends asynchronously and reaps
 * them in wt_io_wait, so callers must not rely on the earlier release. The
 * wt_io_addr/wt_io_tx structures themselves may be reused once wt_io_send
 * returns.
 *
 * Errors: negative WT_ERR_* codes (wt_error.h): WT_ERR_INVAL for a caller
 * contract violation, WT_ERR_CONFIG for an invalid configuration, WT_ERR_IO
 * when a system call fails (the errno is logged), WT_ERR_AGAIN for
 * would-block, WT_ERR_UNSUPPORTED when the kernel or build lacks a feature,
 * WT_ERR_NOMEM when an allocation fails. */
#ifndef WT_IO_H
#define WT_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* ------------------------------------------------------------------ limits */

/* Largest UDP payload of one IPv4 packet (65535 - 20 - 8); also the largest
 * tx entry (one GSO train travels through the stack as one IP packet). */
#define WT_IO_MAX_UDP_PAYLOAD 65507

/* Most segments wtcast puts in one GSO send (the kernel here accepts 128;
 * 64 keeps bursts short). For 1200-byte segments WT_IO_MAX_UDP_PAYLOAD binds
 * first: 54 segments. */
#define WT_IO_GSO_MAX_SEGMENTS 64

/* Most datagrams one recv syscall asks for (the kernel's UIO_MAXIOV). */
#define WT_IO_RX_BATCH_MAX 1024

/* Room for any address wt_io_addr_format writes, with its NUL:
 * "[" + 45 (INET6_ADDRSTRLEN - 1) + "%" + 10 (scope id) + "]:" + 5 + NUL. */
#define WT_IO_ADDR_STRLEN 66

/* ------------------------------------------------------------------ config */

enum {
  WT_IO_BACKEND_AUTO = 0,     /* io_uring when the start-up probe passes, else portable */
  WT_IO_BACKEND_PORTABLE = 1, /* recvmmsg/sendmmsg + epoll */
  WT_IO_BACKEND_URING = 2,    /* io_uring (wt_io_uring.c); WT_ERR_UNSUPPORTED when unusable */
};

typedef struct wt_io_config {
  const char *bind_addr; /* "127.0.0.1:4433", "[::1]:4433", "0.0.0.0:0", "[::]:0";
                            borrowed during wt_io_open only */
  int reuseport;         /* set SO_REUSEPORT before bind (default 0) */
  int gro;               /* ask for UDP_GRO receive (default 1); needs rx_bufsize >= 65535,
                            else it is left off */
  int gso;               /* use UDP_SEGMENT sends when the kernel has it (default 1) */
  unsigned rx_batch;     /* datagrams (GRO buffers) per recv call, 1..WT_IO_RX_BATCH_MAX;
                            0 = default 64 */
  unsigned rx_bufsize;   /* bytes per receive buffer, >= 64; 0 = default 65536; larger
                            values are lowered to 65536 (no UDP payload is longer). A
                            datagram longer than this is dropped and counted (rx_truncated). */
  int rcvbuf, sndbuf;    /* socket buffer sizes in bytes; 0 = leave the kernel default;
                            default 4 MiB each (SO_*BUFFORCE when privileged, else capped
                            by net.core.[rw]mem_max) */
  int backend;           /* WT_IO_BACKEND_* (default AUTO) */
  unsigned rx_buffers;   /* io_uring: provided receive buffers of rx_bufsize bytes (+ 512
                            bytes of header/name/cmsg room each), a power of two in
                            2..32768; 0 = default 256 (~17 MiB). Each holds one GRO
                            super-datagram or one datagram. */
  unsigned ring_entries; /* io_uring: submission queue entries, a power of two in 2..4096;
                            0 = default 256. A wt_io_send that needs more submits the
                            full queue and goes on (counted in sq_full). */
  int tx_defer;          /* io_uring: a small wt_io_send (<= 16 messages, <= 16 KiB) is
                            only prepared; the next wt_io_wait, wt_io_recv or wt_io_send
                            on this wt_io submits it in the system call it makes anyway
                            (sends carry IOSQE_CQE_SKIP_SUCCESS: a failure is counted in
                            tx_errors, a would-block in tx_eagain, and the datagram is lost
                            like any UDP loss; after a would-block the next 64 sends are
                            not deferred). For loops that always wait on this wt_io (the
                            shards); default 0. The portable backend ignores it. */
} wt_io_config;

/* Fill *c with the defaults above (bind_addr = "0.0.0.0:0"). */
void wt_io_config_default(wt_io_config *c);

/* ------------------------------------------------------------------ addresses */

/* A socket address: AF_INET or AF_INET6 in ss, len = sizeof(sockaddr_in) or
 * sizeof(sockaddr_in6). Plain data: copy it freely. */
typedef struct wt_io_addr {
  struct sockaddr_storage ss;
  socklen_t len;
} wt_io_addr;

/* Parse "a.b.c.d:port" or "[ipv6]:port" (optionally "[fe80::1%eth0]:port" or
 * "%<index>") into *a, numeric only (no name lookup). port is 0..65535 in
 * decimal, at most 5 digits. Returns 0, or WT_ERR_INVAL for NULL or bad
 * input (*a is zeroed then). */
int wt_io_addr_parse(const char *s, wt_io_addr *a);

/* The source address the kernel routes from towards peer (a connected
 * probe socket's name; its port is the probe's: replace it). Returns 0, or
 * -1 with errno set. */
int wt_io_route_source(const wt_io_addr *peer, wt_io_addr *out);

/* Write a as "a.b.c.d:port" or "[ipv6]:port" ("[fe80::1%2]:port" when a
 * scope id is set; IPv4-mapped addresses as "[::ffff:a.b.c.d]:port") into
 * buf with a terminating NUL. Returns the length written (without the NUL),
 * WT_ERR_NOBUF if cap is too small (buf holds "" then, if cap > 0), or
 * WT_ERR_INVAL for NULL arguments or a family other than AF_INET/AF_INET6.
 * WT_IO_ADDR_STRLEN bytes are always enough. */
int wt_io_addr_format(const wt_io_addr *a, char *buf, size_t cap);

/* Non-zero if a and b are the same family, address, port (and IPv6 scope). */
int wt_io_addr_equal(const wt_io_addr *a, const wt_io_addr *b);

/* ------------------------------------------------------------------ the datapath */

typedef struct wt_io wt_io;

/* Counters of one wt_io, updated only by its owner thread; read them from
 * that thread (or accept torn, approximate values from another). */
typedef struct wt_io_stats {
  uint64_t rx_packets;     /* datagrams delivered by wt_io_recv (after GRO splitting) */
  uint64_t rx_bytes;       /* payload bytes delivered */
  uint64_t rx_calls;       /* receive system calls */
  uint64_t rx_gro_super;   /* received buffers holding more than one datagram */
  uint64_t rx_truncated;   /* datagrams longer than rx_bufsize: dropped */
  uint64_t rx_errors;      /* receive calls that failed with an error other than would-block */
  uint64_t tx_packets;     /* datagrams handed to the kernel (a GSO send counts each segment) */
  uint64_t tx_bytes;       /* payload bytes handed to the kernel */
  uint64_t tx_calls;       /* send system calls */
  uint64_t tx_gso_sends;   /* messages sent with UDP_SEGMENT */
  uint64_t tx_errors;      /* datagrams (or GSO messages) the kernel refused: dropped */
  uint64_t tx_eagain;      /* sends that stopped at would-block */
  uint64_t rx_completions; /* receive completions: buffers filled by the kernel (portable:
                              messages returned by recvmmsg; io_uring: recvmsg CQEs with data) */
  uint64_t rx_enobufs;     /* io_uring: the buffer ring ran dry (-ENOBUFS): back-pressure,
                              the receive is re-armed once buffers are recycled */
  uint64_t tx_gso_packets; /* datagrams inside the tx_gso_sends messages */
  uint64_t sq_full;        /* io_uring: submission queue full, submitted early to make room */
  uint64_t syscalls;       /* every datapath system call: recvmmsg, sendmmsg, epoll_wait,
                              epoll_ctl (portable); io_uring_enter (io_uring) */
  uint64_t tx_deferred;    /* io_uring, tx_defer: wt_io_send calls left to the next enter */
} wt_io_stats;

/* Open a datapath per cfg (NULL = defaults): a non-blocking UDP socket with
 * SO_REUSEPORT if asked, IPV6_V6ONLY off when bound to "[::]", UDP_GRO when
 * asked and available, IP(V6)_PKTINFO when bound to a wildcard address,
 * IP_RECVTOS/IPV6_RECVTCLASS for ECN, the DF bit set without path-MTU caching
 * (IP_PMTUDISC_PROBE: RFC 9000 section 14 forbids IP fragmentation), bound to
 * cfg->bind_addr; plus the readiness machinery of the backend.
 * On success stores a new wt_io in *out (free it with wt_io_close) and
 * returns 0. Errors: WT_ERR_INVAL (NULL out), WT_ERR_CONFIG (bad bind_addr,
 * rx_batch, rx_bufsize, rx_buffers, ring_entries or backend),
 * WT_ERR_UNSUPPORTED (backend URING and io_uring unusable here: see the
 * reason logged, or SO_REUSEPORT missing), WT_ERR_IO (socket, bind or epoll failed, e.g. the
 * address is in use), WT_ERR_NOMEM. *out is NULL on error. */
int wt_io_open(wt_io **out, const wt_io_config *cfg);

/* Close the socket, the epoll fd and free everything (watched fds are not
 * closed: the caller owns them). NULL is a no-op. */
void wt_io_close(wt_io *io);

/* The UDP socket (for SO_ATTACH_REUSEPORT_CBPF and the like). Owned by io:
 * do not close it, and do not read from it behind wt_io_recv's back. */
int wt_io_fd(const wt_io *io);

/* Datagrams the kernel dropped on this socket because its receive buffer
 * was full (the "drops" column of /proc/net/udp or udp6 for the socket's
 * inode, as the kernel counts since the socket was made): what a receiver
 * lost before it could read it. -1 when it cannot be read (no procfs, or
 * the socket is in another network namespace's table). Reads procfs: not
 * for a hot path. */
int64_t wt_io_socket_drops(const wt_io *io);

/* The address the socket is bound to (the real port after binding port 0). */
const wt_io_addr *wt_io_local(const wt_io *io);

/* The backend in use: WT_IO_BACKEND_PORTABLE or WT_IO_BACKEND_URING. */
int wt_io_backend(const wt_io *io);

/* Why that backend: e.g. "requested", "io_uring probe passed", "io_uring
 * unavailable: /proc/sys/kernel/io_uring_disabled = 2". Owned by io. */
const char *wt_io_backend_reason(const wt_io *io);

/* "io_uring" or "portable". */
const char *wt_io_backend_name(int backend);

/* Probe io_uring as an AUTO open would (io_uring_disabled, ring set-up,
 * opcodes, buffer ring), without a socket. Returns 0 if usable, else
 * WT_ERR_UNSUPPORTED with the reason in why (cap bytes, NUL-terminated). */
int wt_io_uring_probe(char *why, size_t cap);

/* Non-zero if UDP_GRO receive is on for this socket. */
int wt_io_gro_enabled(const wt_io *io);

/* Segments allowed per GSO tx entry: WT_IO_GSO_MAX_SEGMENTS (64) when
 * UDP_SEGMENT sends are on, 0 when they are off (not asked, kernel lacks
 * UDP_SEGMENT, or a GSO send failed with EIO/EINVAL and the socket fell back
 * for good). With 0 a caller may still pass segsize < len: each segment then
 * goes out as its own datagram. */
unsigned wt_io_gso_max_segments(const wt_io *io);

/* A received datagram. data points into io's buffers (see Memory above). */
typedef struct wt_io_pkt {
  const uint8_t *data;
  size_t len;
  wt_io_addr peer;  /* the sender */
  wt_io_addr local; /* the address it was sent to (from IP_PKTINFO/IPV6_PKTINFO on a
                       wildcard socket, IPv4 as ::ffff:a.b.c.d on a dual-stack socket; else
                       the bound address); port = the bound port. Pass it back as
                       wt_io_tx.local so replies leave from the address the peer used. */
  uint8_t ecn;      /* the two ECN bits of the IP header (RFC 3168): 0 = not-ECT */
} wt_io_pkt;

/* Receive without blocking: fill pkts[0..max) with up to max datagrams and
 * return how many (0 when none is waiting, or max == 0). A GRO buffer (many
 * datagrams of one size, the last maybe shorter) is split into individual
 * datagrams; what does not fit in max is kept and returned first by the next
 * call, in arrival order. At most one receive system call per call (a second
 * one only to retry a failure, below); a call that returns kept datagrams
 * makes none. Datagrams longer than rx_bufsize are dropped and counted in
 * rx_truncated. Errors: WT_ERR_INVAL (NULL io, or NULL
 * pkts with max > 0), WT_ERR_IO (the socket failed twice in a row; a single
 * failure, such as an error the kernel left pending after an earlier batch, is counted in
 * rx_errors and retried once). The pkts of the previous call become invalid. */
int wt_io_recv(wt_io *io, wt_io_pkt *pkts, unsigned max);

/* One entry to send: either one datagram, or (GSO) a train of datagrams of
 * segsize bytes each laid back to back in data, the last one maybe shorter. */
typedef struct wt_io_tx {
  const uint8_t *data;
  size_t len;              /* total bytes, <= WT_IO_MAX_UDP_PAYLOAD */
  size_t segsize;          /* 0 or >= len: one datagram; else segments of segsize bytes:
                              ceil(len / segsize) <= WT_IO_GSO_MAX_SEGMENTS */
  const wt_io_addr *peer;  /* destination, required; IPv4 only on an IPv4 socket, IPv4
                              or IPv6 on an IPv6 one */
  const wt_io_addr *local; /* source address, may be NULL (kernel's choice); used only
                              on a wildcard-bound socket; a wildcard value means NULL;
                              IPv4 only on an IPv4 socket */
  uint8_t ecn;             /* ECN bits to set (0..3) */
} wt_io_tx;

/* Send tx[0..n) in order, batched: one sendmmsg per up to 1024 messages (so
 * normally one), a GSO entry as one message with a UDP_SEGMENT control
 * message. When GSO is off, or a GSO message fails with EIO/EINVAL (GSO is
 * then turned off for good, see wt_io_gso_max_segments), each segment becomes
 * its own message in the same batch.
 * Returns the number of entries consumed from the front of tx: handed to the
 * kernel, or dropped because the kernel refused that datagram (EMSGSIZE,
 * EHOSTUNREACH, EPERM ...: counted in tx_errors; QUIC loss recovery covers
 * it, as for any UDP loss). A return < n means the socket would block: keep
 * tx[ret..n) and retry after wt_io_wait reports WT_IO_EV_WRITABLE (an entry
 * that was partly sent as separate segments is sent again in full: the peer
 * sees duplicates, which QUIC discards). Errors: WT_ERR_AGAIN (would block
 * before any entry went out), WT_ERR_INVAL (NULL io/tx with n > 0, or an entry
 * breaks the rules above: then nothing is sent), WT_ERR_IO (the socket itself
 * failed, e.g. EBADF, before any entry was consumed). n == 0 returns 0. */
int wt_io_send(wt_io *io, const wt_io_tx *tx, unsigned n);

/* Events returned by wt_io_wait (a bitmask). */
enum {
  WT_IO_EV_READABLE = 1, /* wt_io_recv has datagrams (socket readable, or kept ones) */
  WT_IO_EV_WATCHED = 2,  /* a watched fd is readable (the caller drains it) */
  WT_IO_EV_WRITABLE = 4, /* after a send stopped at would-block: the socket takes data again */
};

/* Watch fd (an eventfd, signalfd, timerfd ...) for readability, level
 * triggered: wt_io_wait reports WT_IO_EV_WATCHED while it stays readable, so
 * the caller must drain it. fd stays owned by the caller and must be
 * unwatched (or io closed) before it is closed. Returns 0, WT_ERR_INVAL
 * (fd < 0 or the socket itself), WT_ERR_IO (epoll_ctl failed, e.g. already
 * watched). */
int wt_io_watch_fd(wt_io *io, int fd);

/* Stop watching fd. Returns 0, WT_ERR_INVAL (fd < 0 or the socket), WT_ERR_IO
 * (not watched). */
int wt_io_unwatch_fd(wt_io *io, int fd);

/* Block until the socket is readable, a watched fd is readable, or
 * timeout_ns passes (rounded up to whole milliseconds; 0 = just poll; < 0 =
 * no timeout). Returns a WT_IO_EV_* bitmask, 0 on timeout or when a signal
 * interrupted the wait (EINTR), WT_ERR_INVAL (NULL io) or WT_ERR_IO. Returns
 * WT_IO_EV_READABLE at once when wt_io_recv still holds kept datagrams. */
int wt_io_wait(wt_io *io, int64_t timeout_ns);

/* The counters of io (never NULL for a valid io). */
const wt_io_stats *wt_io_get_stats(const wt_io *io);

#endif
