/* wtcast-netem: a small UDP impairment proxy for fault tests (the kernel's
 * sch_netem is not always there).
 *
 *   wtcast-netem --listen ADDR:PORT --upstream ADDR:PORT [impairments] [options]
 *
 * Datagrams from the client (the last source seen on --listen) go to the
 * upstream server from a socket of ours; the server's answers go back to
 * the client. Each direction ("up": client -> server, "down": server ->
 * client) has its own impairments, drawn from a deterministic generator
 * (--seed): loss, duplication (a second copy with its own delay),
 * reordering (the packet is held --reorder-gap ms longer, so later ones
 * overtake it), and a delay plus a uniform jitter. Queues are bounded
 * (--queue-max packets per direction; beyond it packets are dropped and
 * counted).
 *
 * A "rebind" moves the upstream socket to a new source port (the old one is
 * closed), as a NAT rebinding or a path change looks to the server: MS ms
 * after the client's first datagram (--rebind-after MS), and on every
 * SIGUSR1. Counting from the first datagram, not from our start, keeps a
 * timed rebind out of the handshake whatever the client's start-up takes:
 * a server ignores a new path until the handshake completes (RFC 9000
 * section 9), so a rebind inside it loses the connection by design. On SIGINT/SIGTERM (or after
 * --duration MS) the counters are printed as one JSON object on stdout and
 * the program exits 0. It prints "listening on ADDR:PORT" on stdout once
 * ready. Exit status 2 for bad arguments, 1 for a socket error. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wt_io.h"

#define NM_MS          UINT64_C(1000000)
#define NM_MAX_PKT     2048
#define NM_DEF_QUEUE   4096
#define NM_MAX_QUEUE   1000000
#define NM_RX_PER_TURN 256

typedef struct nm_imp {
  double loss, dup, reorder; /* percent */
  uint64_t delay_ns, jitter_ns, reorder_gap_ns;
} nm_imp;

typedef struct nm_pkt {
  uint64_t at, seq;
  uint16_t len;
  uint8_t data[NM_MAX_PKT];
} nm_pkt;

typedef struct nm_counters {
  uint64_t in, out, bytes_in, bytes_out, lost, duplicated, reordered, queue_drops, send_errors;
} nm_counters;

typedef struct nm_dir {
  const char *name;
  nm_imp imp;
  nm_pkt *slots;  /* queue_max + 1 packet buffers */
  nm_pkt **heap;  /* min-heap by (at, seq) */
  nm_pkt **free_; /* free slots */
  size_t n, n_free, cap;
  uint64_t rng, seq;
  nm_counters c;
} nm_dir;

static volatile sig_atomic_t g_stop, g_rebind;

static void on_signal(int sig) {
  if (sig == SIGUSR1) {
    g_rebind = 1;
  } else {
    g_stop = 1;
  }
}

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("wtcast-netem: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs(" (--help for usage)\n", stderr);
  exit(2);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rnd(uint64_t *s) { /* xorshift64* */
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * UINT64_C(2685821657736338717);
}

/* true with probability pct percent */
static int chance(uint64_t *s, double pct) {
  if (pct <= 0) {
    return 0;
  }
  return (double)(rnd(s) >> 11) * (1.0 / 9007199254740992.0) * 100.0 < pct;
}

static double parse_pct(const char *opt, const char *v) {
  char *end;
  errno = 0;
  double d = strtod(v, &end);
  if (errno || *end || !(d >= 0 && d <= 100)) {
    die_usage("%s: '%s' is not a percentage in 0..100", opt, v);
  }
  return d;
}

static uint64_t parse_u64(const char *opt, const char *v, uint64_t max) {
  char *end;
  errno = 0;
  unsigned long long x = strtoull(v, &end, 10);
  if (errno || *end || !*v || v[0] == '-' || x > max) {
    die_usage("%s: '%s' is not a number in 0..%" PRIu64, opt, v, max);
  }
  return x;
}

/* ------------------------------------------------------------ queue */

static int pkt_less(const nm_pkt *a, const nm_pkt *b) {
  return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void heap_push(nm_dir *d, nm_pkt *p) {
  size_t i = d->n++;
  d->heap[i] = p;
  while (i > 0) {
    size_t up = (i - 1) / 2;
    if (!pkt_less(d->heap[i], d->heap[up])) {
      break;
    }
    nm_pkt *t = d->heap[i];
    d->heap[i] = d->heap[up];
    d->heap[up] = t;
    i = up;
  }
}

static nm_pkt *heap_pop(nm_dir *d) {
  nm_pkt *top = d->heap[0];
  d->heap[0] = d->heap[--d->n];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < d->n && pkt_less(d->heap[l], d->heap[m])) {
      m = l;
    }
    if (r < d->n && pkt_less(d->heap[r], d->heap[m])) {
      m = r;
    }
    if (m == i) {
      break;
    }
    nm_pkt *t = d->heap[i];
    d->heap[i] = d->heap[m];
    d->heap[m] = t;
    i = m;
  }
  return top;
}

static void dir_init(nm_dir *d, const char *name, size_t cap, uint64_t seed) {
  d->name = name;
  d->cap = cap;
  d->slots = calloc(cap, sizeof(nm_pkt));
  d->heap = calloc(cap, sizeof(nm_pkt *));
  d->free_ = calloc(cap, sizeof(nm_pkt *));
  if (!d->slots || !d->heap || !d->free_) {
    fprintf(stderr, "wtcast-netem: out of memory\n");
    exit(1);
  }
  for (size_t i = 0; i < cap; i++) {
    d->free_[d->n_free++] = &d->slots[cap - 1 - i];
  }
  d->rng = seed ? seed : 1;
  for (int i = 0; i < 8; i++) {
    rnd(&d->rng);
  }
}

/* Schedule one copy of a packet. */
static void dir_schedule(nm_dir *d, const uint8_t *data, size_t len, uint64_t now) {
  if (d->n_free == 0) {
    d->c.queue_drops++;
    return;
  }
  nm_pkt *p = d->free_[--d->n_free];
  uint64_t at = now + d->imp.delay_ns;
  if (d->imp.jitter_ns) {
    at += rnd(&d->rng) % (d->imp.jitter_ns + 1);
  }
  if (chance(&d->rng, d->imp.reorder)) {
    at += d->imp.reorder_gap_ns;
    d->c.reordered++;
  }
  p->at = at;
  p->seq = d->seq++;
  p->len = (uint16_t)len;
  memcpy(p->data, data, len);
  heap_push(d, p);
}

static void dir_input(nm_dir *d, const uint8_t *data, size_t len, uint64_t now) {
  d->c.in++;
  d->c.bytes_in += len;
  if (chance(&d->rng, d->imp.loss)) {
    d->c.lost++;
    return;
  }
  dir_schedule(d, data, len, now);
  if (chance(&d->rng, d->imp.dup)) {
    d->c.duplicated++;
    dir_schedule(d, data, len, now);
  }
}

/* ------------------------------------------------------------ sockets */

static int udp_socket(int family, const struct sockaddr *bind_to, socklen_t blen) {
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  int sz = 4 << 20;
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
  if (bind_to && bind(fd, bind_to, blen) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* A new upstream socket connected to the server (an ephemeral port). */
static int upstream_open(const wt_io_addr *up) {
  int fd = udp_socket(up->ss.ss_family, NULL, 0);
  if (fd >= 0 && connect(fd, (const struct sockaddr *)&up->ss, up->len) < 0) {
    close(fd);
    fd = -1;
  }
  return fd;
}

static int local_port(int fd) {
  struct sockaddr_storage ss;
  socklen_t l = sizeof(ss);
  if (getsockname(fd, (struct sockaddr *)&ss, &l) < 0) {
    return -1;
  }
  return ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                  : ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void print_counters(FILE *f, const nm_dir *d) {
  fprintf(f,
          "\"%s\":{\"in\":%" PRIu64 ",\"out\":%" PRIu64 ",\"bytes_in\":%" PRIu64
          ",\"bytes_out\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"duplicated\":%" PRIu64
          ",\"reordered\":%" PRIu64 ",\"queue_drops\":%" PRIu64 ",\"send_errors\":%" PRIu64
          ",\"queued\":%zu}",
          d->name, d->c.in, d->c.out, d->c.bytes_in, d->c.bytes_out, d->c.lost, d->c.duplicated,
          d->c.reordered, d->c.queue_drops, d->c.send_errors, d->n);
}

static const char usage[] =
    "usage: wtcast-netem --listen ADDR:PORT --upstream ADDR:PORT [options]\n"
    "impairments (both directions; --X-up / --X-down for one direction only):\n"
    "  --loss PCT          drop this percentage of datagrams\n"
    "  --dup PCT           send a second copy of this percentage (own delay)\n"
    "  --reorder PCT       hold this percentage back by --reorder-gap ms\n"
    "  --reorder-gap MS    (default 10)\n"
    "  --delay MS          fixed one-way delay\n"
    "  --jitter MS         plus a uniform random 0..MS\n"
    "options:\n"
    "  --seed N            generator seed (default 1): the same seed, the same decisions\n"
    "  --queue-max N       packets held per direction at most (default 4096)\n"
    "  --rebind-after MS   move the upstream socket to a new source port MS ms after\n"
    "                      the client's first datagram (SIGUSR1 does it at any time)\n"
    "  --duration MS       stop after MS ms (default: on SIGINT/SIGTERM)\n"
    "Prints \"listening on ADDR:PORT\" once ready; on exit one JSON line of counters.\n";

int main(int argc, char **argv) {
  const char *listen_s = NULL, *up_s = NULL;
  nm_imp imp[2]; /* 0 up, 1 down */
  memset(imp, 0, sizeof(imp));
  imp[0].reorder_gap_ns = imp[1].reorder_gap_ns = 10 * NM_MS;
  uint64_t seed = 1, queue_max = NM_DEF_QUEUE, rebind_after = 0, duration = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(usage, stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      die_usage("%s needs a value (or is unknown)", a);
    }
    const char *v = argv[++i];
    int lo = 0, hi = 2;
    char name[32];
    size_t al = strlen(a);
    if (al > 3 && !strcmp(a + al - 3, "-up")) {
      hi = 1;
      snprintf(name, sizeof(name), "%.*s", (int)(al - 3), a);
    } else if (al > 5 && !strcmp(a + al - 5, "-down")) {
      lo = 1;
      snprintf(name, sizeof(name), "%.*s", (int)(al - 5), a);
    } else {
      snprintf(name, sizeof(name), "%s", a);
    }
    int per_dir = 1;
    for (int k = lo; k < hi; k++) {
      if (!strcmp(name, "--loss")) {
        imp[k].loss = parse_pct(a, v);
      } else if (!strcmp(name, "--dup")) {
        imp[k].dup = parse_pct(a, v);
      } else if (!strcmp(name, "--reorder")) {
        imp[k].reorder = parse_pct(a, v);
      } else if (!strcmp(name, "--reorder-gap")) {
        imp[k].reorder_gap_ns = parse_u64(a, v, 10000) * NM_MS;
      } else if (!strcmp(name, "--delay")) {
        imp[k].delay_ns = parse_u64(a, v, 10000) * NM_MS;
      } else if (!strcmp(name, "--jitter")) {
        imp[k].jitter_ns = parse_u64(a, v, 10000) * NM_MS;
      } else {
        per_dir = 0;
      }
    }
    if (per_dir) {
      continue;
    }
    if (lo != 0 || hi != 2) {
      die_usage("unknown option '%s'", a);
    } else if (!strcmp(a, "--listen")) {
      listen_s = v;
    } else if (!strcmp(a, "--upstream")) {
      up_s = v;
    } else if (!strcmp(a, "--seed")) {
      seed = parse_u64(a, v, UINT64_MAX);
    } else if (!strcmp(a, "--queue-max")) {
      queue_max = parse_u64(a, v, NM_MAX_QUEUE);
      if (queue_max == 0) {
        die_usage("--queue-max must be at least 1");
      }
    } else if (!strcmp(a, "--rebind-after")) {
      rebind_after = parse_u64(a, v, 86400000);
    } else if (!strcmp(a, "--duration")) {
      duration = parse_u64(a, v, 86400000);
    } else {
      die_usage("unknown option '%s'", a);
    }
  }
  wt_io_addr la, ua;
  if (!listen_s || wt_io_addr_parse(listen_s, &la) < 0) {
    die_usage("--listen ADDR:PORT is required");
  }
  if (!up_s || wt_io_addr_parse(up_s, &ua) < 0) {
    die_usage("--upstream ADDR:PORT is required");
  }
  nm_dir dir[2];
  memset(dir, 0, sizeof(dir));
  dir_init(&dir[0], "up", queue_max, seed * 2 + 1);
  dir_init(&dir[1], "down", queue_max, seed * 2 + 2);
  dir[0].imp = imp[0];
  dir[1].imp = imp[1];

  int lfd = udp_socket(la.ss.ss_family, (const struct sockaddr *)&la.ss, la.len);
  int ufd = upstream_open(&ua);
  if (lfd < 0 || ufd < 0) {
    fprintf(stderr, "wtcast-netem: socket: %s\n", strerror(errno));
    return 1;
  }
  struct sockaddr_storage ls;
  socklen_t lsl = sizeof(ls);
  getsockname(lfd, (struct sockaddr *)&ls, &lsl);
  char host[INET6_ADDRSTRLEN] = "?";
  if (ls.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ls)->sin6_addr, host, sizeof(host));
    printf("listening on [%s]:%d\n", host, local_port(lfd));
  } else {
    inet_ntop(AF_INET, &((struct sockaddr_in *)&ls)->sin_addr, host, sizeof(host));
    printf("listening on %s:%d\n", host, local_port(lfd));
  }
  fflush(stdout);

  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  struct sockaddr_storage client;
  socklen_t client_len = 0;
  uint64_t t0 = 0 /* the client's first datagram */, rebinds = 0, rebind_errors = 0, no_client = 0;
  int ports[16], n_ports = 0;
  ports[n_ports++] = local_port(ufd);
  int rebind_done = 0;
  const uint64_t t_start = now_ns();
  static uint8_t buf[65536];
  while (!g_stop) {
    uint64_t now = now_ns();
    if (duration && now - t_start >= duration * NM_MS) {
      break;
    }
    if (g_rebind || (rebind_after && !rebind_done && t0 && now - t0 >= rebind_after * NM_MS)) {
      g_rebind = 0;
      rebind_done = 1;
      int nfd = upstream_open(&ua);
      if (nfd < 0) {
        rebind_errors++;
      } else {
        close(ufd); /* the old mapping is gone: the server's packets to it are lost */
        ufd = nfd;
        rebinds++;
        if (n_ports < 16) {
          ports[n_ports++] = local_port(ufd);
        }
      }
    }
    /* send what is due */
    for (int k = 0; k < 2; k++) {
      nm_dir *d = &dir[k];
      while (d->n > 0 && d->heap[0]->at <= now) {
        nm_pkt *p = heap_pop(d);
        ssize_t w;
        if (k == 0) {
          w = send(ufd, p->data, p->len, 0);
        } else if (client_len) {
          w = sendto(lfd, p->data, p->len, 0, (struct sockaddr *)&client, client_len);
        } else {
          w = -1;
        }
        if (w == (ssize_t)p->len) {
          d->c.out++;
          d->c.bytes_out += p->len;
        } else {
          d->c.send_errors++;
        }
        d->free_[d->n_free++] = p;
      }
    }
    /* wait for input or the next departure */
    int timeout = 100;
    for (int k = 0; k < 2; k++) {
      if (dir[k].n > 0) {
        uint64_t at = dir[k].heap[0]->at;
        int ms = at <= now ? 0 : (int)((at - now + NM_MS - 1) / NM_MS);
        timeout = ms < timeout ? ms : timeout;
      }
    }
    struct pollfd pf[2] = {{.fd = lfd, .events = POLLIN}, {.fd = ufd, .events = POLLIN}};
    int r = poll(pf, 2, timeout);
    if (r < 0 && errno != EINTR) {
      fprintf(stderr, "wtcast-netem: poll: %s\n", strerror(errno));
      return 1;
    }
    if (r <= 0) {
      continue;
    }
    now = now_ns();
    for (int n = 0; n < NM_RX_PER_TURN && (pf[0].revents & POLLIN); n++) {
      struct sockaddr_storage from;
      socklen_t fl = sizeof(from);
      ssize_t got = recvfrom(lfd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
      if (got < 0) {
        break;
      }
      if (got > NM_MAX_PKT) {
        dir[0].c.in++;
        dir[0].c.queue_drops++; /* larger than any QUIC datagram we carry */
        continue;
      }
      memcpy(&client, &from, fl);
      client_len = fl;
      t0 = t0 ? t0 : now;
      dir_input(&dir[0], buf, (size_t)got, now);
    }
    for (int n = 0; n < NM_RX_PER_TURN && (pf[1].revents & POLLIN); n++) {
      ssize_t got = recv(ufd, buf, sizeof(buf), 0);
      if (got < 0) {
        break;
      }
      if (got > NM_MAX_PKT || !client_len) {
        dir[1].c.in++;
        dir[1].c.queue_drops++;
        no_client += !client_len;
        continue;
      }
      dir_input(&dir[1], buf, (size_t)got, now);
    }
  }
  printf("{\"type\":\"netem\",\"seed\":%" PRIu64 ",\"run_ms\":%" PRIu64 ",", seed,
         (now_ns() - t_start) / NM_MS);
  print_counters(stdout, &dir[0]);
  putchar(',');
  print_counters(stdout, &dir[1]);
  printf(",\"rebinds\":%" PRIu64 ",\"rebind_errors\":%" PRIu64 ",\"upstream_ports\":[", rebinds,
         rebind_errors);
  for (int i = 0; i < n_ports; i++) {
    printf("%s%d", i ? "," : "", ports[i]);
  }
  printf("],\"queue_max\":%" PRIu64 "}\n", queue_max);
  fflush(stdout);
  close(lfd);
  close(ufd);
  for (int k = 0; k < 2; k++) {
    free(dir[k].slots);
    free(dir[k].heap);
    free(dir[k].free_);
  }
  (void)no_client;
  return 0;
}
