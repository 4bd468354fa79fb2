/* wt_io_common.c: what every datapath backend shares: configuration
 * defaults, address parsing and formatting, socket set-up, and the control
 * messages (PKTINFO, TOS/TCLASS, UDP_GRO, UDP_SEGMENT) of received and sent
 * datagrams. */
#define _GNU_SOURCE   /* struct in_pktinfo, struct in6_pktinfo */
#define WT_LOG_MODULE "io"

#include "wt_io_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "wt_error.h"
#include "wt_log.h"

#define WT_IO_DEFAULT_SOCKBUF (4 << 20)

void wt_io_config_default(wt_io_config *c) {
  memset(c, 0, sizeof(*c));
  c->bind_addr = "0.0.0.0:0";
  c->reuseport = 0;
  c->gro = 1;
  c->gso = 1;
  c->rx_batch = 64;
  c->rx_bufsize = 65536;
  c->rcvbuf = WT_IO_DEFAULT_SOCKBUF;
  c->sndbuf = WT_IO_DEFAULT_SOCKBUF;
  c->backend = WT_IO_BACKEND_AUTO;
  c->rx_buffers = 256;
  c->ring_entries = 256;
}

/* ------------------------------------------------------------------ addresses */

/* 1 to 5 decimal digits up to 65535, then the end of the string. */
static int parse_port(const char *p, uint16_t *port) {
  unsigned v = 0;
  size_t n = 0;
  for (; p[n] != '\0'; n++) {
    if (p[n] < '0' || p[n] > '9' || n == 5) {
      return WT_ERR_INVAL;
    }
    v = v * 10 + (unsigned)(p[n] - '0');
  }
  if (n == 0 || v > 65535) {
    return WT_ERR_INVAL;
  }
  *port = (uint16_t)v;
  return 0;
}

/* "%2" or "%eth0" after an IPv6 address: an interface index. */
static int parse_scope(const char *p, uint32_t *scope) {
  if (*p == '\0') {
    return WT_ERR_INVAL;
  }
  if (p[0] >= '0' && p[0] <= '9') {
    uint64_t v = 0;
    for (const char *q = p; *q != '\0'; q++) {
      if (*q < '0' || *q > '9' || q - p >= 10) {
        return WT_ERR_INVAL;
      }
      v = v * 10 + (uint64_t)(*q - '0');
    }
    if (v > UINT32_MAX) {
      return WT_ERR_INVAL;
    }
    *scope = (uint32_t)v;
    return 0;
  }
  unsigned idx = if_nametoindex(p);
  if (idx == 0) {
    return WT_ERR_INVAL;
  }
  *scope = idx;
  return 0;
}

static int parse_v6(const char *s, wt_io_addr *a) {
  char host[INET6_ADDRSTRLEN + 1 + IF_NAMESIZE];
  const char *rb = strchr(s, ']');
  if (rb == NULL || rb[1] != ':') {
    return WT_ERR_INVAL;
  }
  size_t hl = (size_t)(rb - (s + 1));
  if (hl == 0 || hl >= sizeof(host)) {
    return WT_ERR_INVAL;
  }
  memcpy(host, s + 1, hl);
  host[hl] = '\0';
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;
  char *pct = strchr(host, '%');
  if (pct != NULL) {
    *pct = '\0';
    uint32_t scope = 0;
    if (parse_scope(pct + 1, &scope) != 0) {
      return WT_ERR_INVAL;
    }
    sin6->sin6_scope_id = scope;
  }
  uint16_t port;
  if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1 || parse_port(rb + 2, &port) != 0) {
    return WT_ERR_INVAL;
  }
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  a->len = sizeof(*sin6);
  return 0;
}

static int parse_v4(const char *s, wt_io_addr *a) {
  char host[INET_ADDRSTRLEN];
  const char *colon = strrchr(s, ':');
  if (colon == NULL) {
    return WT_ERR_INVAL;
  }
  size_t hl = (size_t)(colon - s);
  if (hl == 0 || hl >= sizeof(host)) {
    return WT_ERR_INVAL;
  }
  memcpy(host, s, hl);
  host[hl] = '\0';
  struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
  uint16_t port;
  /* inet_pton(AF_INET) takes only the strict dotted quad: no "1.2.3", no hex. */
  if (inet_pton(AF_INET, host, &sin->sin_addr) != 1 || parse_port(colon + 1, &port) != 0) {
    return WT_ERR_INVAL;
  }
  sin->sin_family = AF_INET;
  sin->sin_port = htons(port);
  a->len = sizeof(*sin);
  return 0;
}

int wt_io_addr_parse(const char *s, wt_io_addr *a) {
  if (a == NULL) {
    return WT_ERR_INVAL;
  }
  memset(a, 0, sizeof(*a));
  if (s == NULL) {
    return WT_ERR_INVAL;
  }
  int rv = s[0] == '[' ? parse_v6(s, a) : parse_v4(s, a);
  if (rv != 0) {
    memset(a, 0, sizeof(*a));
  }
  return rv;
}

int wt_io_addr_format(const wt_io_addr *a, char *buf, size_t cap) {
  if (a == NULL || buf == NULL) {
    return WT_ERR_INVAL;
  }
  char host[INET6_ADDRSTRLEN];
  char out[WT_IO_ADDR_STRLEN];
  int n;
  if (a->ss.ss_family == AF_INET && a->len >= sizeof(struct sockaddr_in)) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
    inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
    n = snprintf(out, sizeof(out), "%s:%u", host, (unsigned)ntohs(sin->sin_port));
  } else if (a->ss.ss_family == AF_INET6 && a->len >= sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;
    inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
    if (sin6->sin6_scope_id != 0) {
      n = snprintf(out, sizeof(out), "[%s%%%u]:%u", host, (unsigned)sin6->sin6_scope_id,
                   (unsigned)ntohs(sin6->sin6_port));
    } else {
      n = snprintf(out, sizeof(out), "[%s]:%u", host, (unsigned)ntohs(sin6->sin6_port));
    }
  } else {
    return WT_ERR_INVAL;
  }
  if (n < 0 || (size_t)n >= cap) {
    if (cap > 0) {
      buf[0] = '\0';
    }
    return WT_ERR_NOBUF;
  }
  memcpy(buf, out, (size_t)n + 1);
  return n;
}

int wt_io_addr_equal(const wt_io_addr *a, const wt_io_addr *b) {
  if (a->ss.ss_family != b->ss.ss_family) {
    return 0;
  }
  if (a->ss.ss_family == AF_INET) {
    const struct sockaddr_in *x = (const struct sockaddr_in *)&a->ss;
    const struct sockaddr_in *y = (const struct sockaddr_in *)&b->ss;
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (a->ss.ss_family == AF_INET6) {
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a->ss;
    const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)&b->ss;
    return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
  }
  return 0;
}

/* 0.0.0.0 or :: (the kernel picks the source address). */
static int addr_is_any(const wt_io_addr *a) {
  if (a->ss.ss_family == AF_INET) {
    return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
  }
  if (a->ss.ss_family == AF_INET6) {
    return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
  }
  return 0;
}

/* ------------------------------------------------------------------ socket set-up */

static int set_int(int fd, int level, int name, int v) {
  return setsockopt(fd, level, name, &v, sizeof(v));
}

/* Best-effort option: a kernel without it still works, only worse. */
static void set_opt_soft(int fd, int level, int name, int v, const char *what) {
  if (set_int(fd, level, name, v) != 0) {
    WT_LOG_DEBUG("setsockopt %s: %s (continuing without it)", what, strerror(errno));
  }
}

/* The FORCE variant passes net.core.[rw]mem_max when privileged
 * (CAP_NET_ADMIN); otherwise the plain option, which the kernel caps. */
static void set_sockbuf(int fd, int force_name, int name, int bytes, const char *what) {
  if (bytes <= 0) {
    return;
  }
  if (set_int(fd, SOL_SOCKET, force_name, bytes) == 0) {
    return;
  }
  set_opt_soft(fd, SOL_SOCKET, name, bytes, what);
}

static int sock_options(wt_io_sock *s, const wt_io_config *cfg, unsigned rx_bufsize) {
  int fd = s->fd;
  int v6 = s->family == AF_INET6;
  if (cfg->reuseport && set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1) != 0) {
    WT_LOG_ERROR("setsockopt SO_REUSEPORT: %s", strerror(errno));
    return errno == ENOPROTOOPT ? WT_ERR_UNSUPPORTED : WT_ERR_IO;
  }
  if (v6 && s->wildcard) {
    /* "[::]" serves IPv4 too (as ::ffff:a.b.c.d), whatever net.ipv6.bindv6only says. */
    if (set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0) != 0) {
      WT_LOG_WARN("setsockopt IPV6_V6ONLY=0: %s (IPv6 only)", strerror(errno));
    }
  }
  set_sockbuf(fd, SO_RCVBUFFORCE, SO_RCVBUF, cfg->rcvbuf, "SO_RCVBUF");
  set_sockbuf(fd, SO_SNDBUFFORCE, SO_SNDBUF, cfg->sndbuf, "SO_SNDBUF");

  /* ECN (RFC 9000 section 13.4): IPv4 packets report IP_TOS, IPv6 packets
   * IPV6_TCLASS; a dual-stack socket needs both. */
  set_opt_soft(fd, IPPROTO_IP, IP_RECVTOS, 1, "IP_RECVTOS");
  if (v6) {
    set_opt_soft(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, 1, "IPV6_RECVTCLASS");
  }
  if (s->wildcard) {
    /* On an IPv6 socket IPV6_PKTINFO also covers IPv4 packets (as mapped). */
    if (v6) {
      set_opt_soft(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO");
    } else {
      set_opt_soft(fd, IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO");
    }
  }
  /* RFC 9000 section 14: no IP fragmentation, DF set on IPv4. PROBE sets DF
   * but ignores the (spoofable) path-MTU cache: QUIC runs its own PMTUD. */
  set_opt_soft(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE, "IP_MTU_DISCOVER");
  if (v6) {
    set_opt_soft(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_PROBE, "IPV6_MTU_DISCOVER");
  }

  /* A GRO buffer can hold up to 64 KiB: smaller buffers would truncate it. */
  if (cfg->gro && rx_bufsize >= 65535) {
    if (set_int(fd, SOL_UDP, UDP_GRO, 1) == 0) {
      s->gro = 1;
    } else {
      WT_LOG_DEBUG("setsockopt UDP_GRO: %s (receiving without GRO)", strerror(errno));
    }
  }
  if (cfg->gso) {
    int seg = 0;
    socklen_t sl = sizeof(seg);
    /* Readable exactly when the kernel knows UDP_SEGMENT (Linux >= 4.18). */
    if (getsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, &sl) == 0) {
      s->gso = 1;
    } else {
      WT_LOG_DEBUG("UDP_SEGMENT unavailable: %s (sending without GSO)", strerror(errno));
    }
  }
  return 0;
}

int wt_io_sock_open(wt_io_sock *s, const wt_io_config *cfg) {
  memset(s, 0, sizeof(*s));
  s->fd = -1;
  wt_io_addr bind_addr;
  if (wt_io_addr_parse(cfg->bind_addr, &bind_addr) != 0) {
    WT_LOG_ERROR("bad bind address \"%s\"", cfg->bind_addr ? cfg->bind_addr : "(null)");
    return WT_ERR_CONFIG;
  }
  s->family = bind_addr.ss.ss_family;
  s->wildcard = addr_is_any(&bind_addr);
  s->fd = socket(s->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (s->fd < 0) {
    int e = errno;
    WT_LOG_ERROR("socket: %s", strerror(e));
    return e == EAFNOSUPPORT ? WT_ERR_UNSUPPORTED : WT_ERR_IO;
  }
  int rv = sock_options(s, cfg, cfg->rx_bufsize);
  if (rv != 0) {
    wt_io_sock_close(s);
    return rv;
  }
  if (bind(s->fd, (const struct sockaddr *)&bind_addr.ss, bind_addr.len) != 0) {
    int e = errno;
    WT_LOG_ERROR("bind %s: %s", cfg->bind_addr, strerror(e));
    wt_io_sock_close(s);
    return e == EAFNOSUPPORT ? WT_ERR_UNSUPPORTED : WT_ERR_IO;
  }
  s->local.len = sizeof(s->local.ss);
  if (getsockname(s->fd, (struct sockaddr *)&s->local.ss, &s->local.len) != 0) {
    WT_LOG_ERROR("getsockname: %s", strerror(errno));
    wt_io_sock_close(s);
    return WT_ERR_IO;
  }
  return 0;
}

void wt_io_sock_close(wt_io_sock *s) {
  if (s->fd >= 0) {
    close(s->fd);
    s->fd = -1;
  }
}

/* ------------------------------------------------------------------ control messages */

/* The payload of c if it holds at least n bytes, else NULL. */
static const void *cmsg_payload(const struct cmsghdr *c, size_t n) {
  return c->cmsg_len >= CMSG_LEN(n) ? (const void *)CMSG_DATA(c) : NULL;
}

static void local_from_v4(wt_io_rxmeta *m, const wt_io_sock *s, struct in_addr a) {
  memset(&m->local, 0, sizeof(m->local));
  if (s->family == AF_INET) {
    struct sockaddr_in *sin = (struct sockaddr_in *)&m->local.ss;
    sin->sin_family = AF_INET;
    sin->sin_addr = a;
    m->local.len = sizeof(*sin);
  } else {
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&m->local.ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_addr.s6_addr[10] = 0xff;
    sin6->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&sin6->sin6_addr.s6_addr[12], &a, 4);
    m->local.len = sizeof(*sin6);
  }
  m->have_local = 1;
}

void wt_io_rxmeta_cmsg(wt_io_rxmeta *m, const wt_io_sock *s, const struct cmsghdr *c) {
  const void *p;
  if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
    int seg;
    if ((p = cmsg_payload(c, sizeof(seg))) != NULL) {
      memcpy(&seg, p, sizeof(seg));
      m->segsize = seg > 0 ? (size_t)seg : 0;
    }
  } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) {
    /* IP_RECVTOS delivers the TOS byte as one byte. */
    if ((p = cmsg_payload(c, 1)) != NULL) {
      m->ecn = *(const uint8_t *)p & 3;
    }
  } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS) {
    int tc;
    if ((p = cmsg_payload(c, sizeof(tc))) != NULL) {
      memcpy(&tc, p, sizeof(tc));
      m->ecn = (uint8_t)(tc & 3);
    }
  } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
    struct in_pktinfo pi;
    if (!m->have_local && (p = cmsg_payload(c, sizeof(pi))) != NULL) {
      memcpy(&pi, p, sizeof(pi));
      local_from_v4(m, s, pi.ipi_addr); /* ipi_addr: the header's destination */
    }
  } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
    struct in6_pktinfo pi;
    if (s->family == AF_INET6 && (p = cmsg_payload(c, sizeof(pi))) != NULL) {
      memcpy(&pi, p, sizeof(pi));
      memset(&m->local, 0, sizeof(m->local));
      struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&m->local.ss;
      sin6->sin6_family = AF_INET6;
      sin6->sin6_addr = pi.ipi6_addr;
      if (IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr)) {
        sin6->sin6_scope_id = (uint32_t)pi.ipi6_ifindex;
      }
      m->local.len = sizeof(*sin6);
      m->have_local = 1;
    }
  }
}

/* Append one control message at cbuf + *used. The caller sized cbuf. */
static void cmsg_put(void *cbuf, size_t *used, int level, int type, const void *data, size_t len) {
  struct cmsghdr *c = (struct cmsghdr *)((uint8_t *)cbuf + *used);
  memset(c, 0, CMSG_SPACE(len));
  c->cmsg_level = level;
  c->cmsg_type = type;
  c->cmsg_len = CMSG_LEN(len);
  memcpy(CMSG_DATA(c), data, len);
  *used += CMSG_SPACE(len);
}

static int addr_is_v4(const wt_io_addr *a) {
  if (a->ss.ss_family == AF_INET) {
    return 1;
  }
  return a->ss.ss_family == AF_INET6 &&
         IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
}

static int put_source(const wt_io_sock *s, void *cbuf, size_t *used, const wt_io_addr *local) {
  if (s->family == AF_INET) {
    if (local->ss.ss_family != AF_INET) {
      return WT_ERR_INVAL;
    }
    struct in_pktinfo pi;
    memset(&pi, 0, sizeof(pi));
    /* ipi_spec_dst is the source address of the packet; ifindex 0 lets
     * routing pick the interface. */
    pi.ipi_spec_dst = ((const struct sockaddr_in *)&local->ss)->sin_addr;
    cmsg_put(cbuf, used, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
    return 0;
  }
  struct in6_pktinfo pi;
  memset(&pi, 0, sizeof(pi));
  if (local->ss.ss_family == AF_INET6) {
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&local->ss;
    pi.ipi6_addr = sin6->sin6_addr;
    pi.ipi6_ifindex = sin6->sin6_scope_id;
  } else if (local->ss.ss_family == AF_INET) {
    /* The kernel takes a v4-mapped IPV6_PKTINFO for IPv4 traffic on a
     * dual-stack socket. */
    pi.ipi6_addr.s6_addr[10] = 0xff;
    pi.ipi6_addr.s6_addr[11] = 0xff;
    memcpy(&pi.ipi6_addr.s6_addr[12], &((const struct sockaddr_in *)&local->ss)->sin_addr, 4);
  } else {
    return WT_ERR_INVAL;
  }
  cmsg_put(cbuf, used, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
  return 0;
}

int wt_io_txcmsg_build(const wt_io_sock *s, void *cbuf, const wt_io_addr *peer,
                       const wt_io_addr *local, uint8_t ecn, uint16_t segsize) {
  size_t used = 0;
  if (s->wildcard && local != NULL && !addr_is_any(local)) {
    int rv = put_source(s, cbuf, &used, local);
    if (rv != 0) {
      return rv;
    }
  }
  if (ecn & 3) {
    int tos = ecn & 3;
    /* IPv4 (also v4-mapped on a dual-stack socket) reads IP_TOS; IPv6 reads
     * IPV6_TCLASS and ignores IP_TOS. */
    if (addr_is_v4(peer)) {
      cmsg_put(cbuf, &used, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
    } else {
      cmsg_put(cbuf, &used, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos));
    }
  }
  if (segsize != 0) {
    cmsg_put(cbuf, &used, SOL_UDP, UDP_SEGMENT, &segsize, sizeof(segsize));
  }
  return (int)used;
}

/* ------------------------------------------------------------------ receive / send helpers */

void wt_io_rxmeta_pkt(wt_io_pkt *p, const wt_io_sock *s, const wt_io_rxmeta *m, const void *name,
                      socklen_t namelen) {
  memset(&p->peer, 0, sizeof(p->peer));
  socklen_t nl = namelen <= sizeof(p->peer.ss) ? namelen : (socklen_t)sizeof(p->peer.ss);
  memcpy(&p->peer.ss, name, nl);
  p->peer.len = nl;
  if (m->have_local) {
    p->local = m->local;
    /* PKTINFO has no port: the datagram came to our bound port. */
    if (s->family == AF_INET) {
      ((struct sockaddr_in *)&p->local.ss)->sin_port =
          ((const struct sockaddr_in *)&s->local.ss)->sin_port;
    } else {
      ((struct sockaddr_in6 *)&p->local.ss)->sin6_port =
          ((const struct sockaddr_in6 *)&s->local.ss)->sin6_port;
    }
  } else {
    p->local = s->local;
  }
  p->ecn = m->ecn;
}

unsigned wt_io_tx_segments(const wt_io_tx *t) {
  if (t->segsize == 0 || t->segsize >= t->len) {
    return 1;
  }
  return (unsigned)((t->len + t->segsize - 1) / t->segsize);
}

static int addr_ok(const wt_io_addr *a) {
  return (a->ss.ss_family == AF_INET && a->len == sizeof(struct sockaddr_in)) ||
         (a->ss.ss_family == AF_INET6 && a->len == sizeof(struct sockaddr_in6));
}

int wt_io_tx_check(const wt_io_sock *s, const wt_io_tx *t) {
  if (t->peer == NULL || !addr_ok(t->peer) || (t->data == NULL && t->len > 0) ||
      t->len > WT_IO_MAX_UDP_PAYLOAD || t->ecn > 3) {
    return WT_ERR_INVAL;
  }
  /* An IPv4 socket cannot reach IPv6; a dual-stack one reaches both. */
  if (s->family == AF_INET && t->peer->ss.ss_family != AF_INET) {
    return WT_ERR_INVAL;
  }
  if (t->local != NULL &&
      (!addr_ok(t->local) || (s->family == AF_INET && t->local->ss.ss_family != AF_INET))) {
    return WT_ERR_INVAL;
  }
  if (wt_io_tx_segments(t) > WT_IO_GSO_MAX_SEGMENTS) {
    return WT_ERR_INVAL;
  }
  return 0;
}

int wt_io_tx_errno_fatal(int e) {
  return e == EBADF || e == ENOTSOCK || e == EFAULT || e == EOPNOTSUPP || e == ENOTCONN ||
         e == EDESTADDRREQ;
}

int wt_io_route_source(const wt_io_addr *peer, wt_io_addr *out) {
  int fd = socket(peer->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  memset(out, 0, sizeof(*out));
  out->len = sizeof(out->ss);
  int rv = connect(fd, (const struct sockaddr *)&peer->ss, peer->len) == 0 &&
                   getsockname(fd, (struct sockaddr *)&out->ss, &out->len) == 0
               ? 0
               : -1;
  close(fd);
  return rv;
}
