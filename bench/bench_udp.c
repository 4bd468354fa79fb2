/* bench_udp: raw UDP datapath throughput on loopback, 1200-byte payloads,
 * one sender thread (CPU 0) -> one receiver thread (CPU 1):
 *   mmsg          plain sendmmsg / recvmmsg, 64 per call (the reference)
 *   <backend>     wt_io_send of 64 single datagrams, receiver without GRO
 *   <backend>+gso wt_io_send of 44 x 1200 GSO runs, receiver without GRO
 *   <backend>+gro the same runs, receiver with UDP_GRO (super-datagrams split by wt_io_recv)
 * for the portable and io_uring backends, all in the same run. Prints the
 * configuration, each run (received packets/s, payload Gbit/s, system calls
 * per packet on each side) and the median of R runs. Asserts nothing
 * (docs/benchmarks.md: "How to measure honestly").
 *
 * usage: bench_udp [--runs R] [--secs S]   (defaults 3 and 2) */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wt_io.h"

#define PAYLOAD 1200
#define BATCH   64
#define GSO_SEG 44

typedef struct cfg {
  const char *name;
  int raw;     /* plain sendmmsg/recvmmsg */
  int backend; /* WT_IO_BACKEND_* */
  int gso, gro;
} cfg;

typedef struct run {
  const cfg *c;
  double secs;
  atomic_int ready, stop;
  wt_io_addr dst;
  uint64_t rx_pkts, rx_bytes, tx_pkts;
  uint64_t rx_sys, tx_sys;
  double elapsed;
} run;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static wt_io *open_io(const run *r, int gro) {
  wt_io_config c;
  wt_io_config_default(&c);
  c.bind_addr = "127.0.0.1:0";
  c.backend = r->c->backend;
  c.gro = gro;
  c.gso = 1;
  wt_io *io = NULL;
  if (wt_io_open(&io, &c) != 0) {
    fprintf(stderr, "bench_udp: wt_io_open failed\n");
    exit(1);
  }
  return io;
}

/* ------------------------------------------------------------------ receiver */

static void *rx_main(void *arg) {
  run *r = arg;
  pin(1);
  if (r->c->raw) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int sz = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    socklen_t al = sizeof(r->dst.ss);
    getsockname(fd, (struct sockaddr *)&r->dst.ss, &al);
    r->dst.len = al;
    struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    static uint8_t bufs[BATCH][2048];
    struct mmsghdr m[BATCH];
    struct iovec iov[BATCH];
    for (int i = 0; i < BATCH; i++) {
      iov[i] = (struct iovec){bufs[i], sizeof(bufs[i])};
      memset(&m[i], 0, sizeof(m[i]));
      m[i].msg_hdr.msg_iov = &iov[i];
      m[i].msg_hdr.msg_iovlen = 1;
    }
    atomic_store(&r->ready, 1);
    double quiet = 0;
    for (;;) {
      int n = recvmmsg(fd, m, BATCH, MSG_WAITFORONE, NULL);
      r->rx_sys++;
      if (n > 0) {
        r->rx_pkts += (unsigned)n;
        for (int i = 0; i < n; i++) {
          r->rx_bytes += m[i].msg_len;
        }
        continue;
      }
      if (atomic_load(&r->stop)) {
        if (quiet == 0) {
          quiet = now_s();
        } else if (now_s() - quiet > 0.1) {
          break;
        }
      }
    }
    close(fd);
    return NULL;
  }
  wt_io *io = open_io(r, r->c->gro);
  r->dst = *wt_io_local(io);
  atomic_store(&r->ready, 1);
  wt_io_pkt p[BATCH];
  for (;;) {
    int n = wt_io_recv(io, p, BATCH);
    if (n > 0) {
      r->rx_pkts += (unsigned)n;
      for (int i = 0; i < n; i++) {
        r->rx_bytes += p[i].len;
      }
      continue;
    }
    if (wt_io_wait(io, 100000000LL) == 0 && atomic_load(&r->stop)) {
      break; /* 100 ms without data after the sender stopped */
    }
  }
  r->rx_sys = wt_io_get_stats(io)->syscalls;
  wt_io_close(io);
  return NULL;
}

/* ------------------------------------------------------------------ sender */

static void *tx_main(void *arg) {
  run *r = arg;
  pin(0);
  static uint8_t data[BATCH * PAYLOAD];
  memset(data, 0x5a, sizeof(data));
  double t0 = now_s(), end = t0 + r->secs;
  if (r->c->raw) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int sz = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
    struct mmsghdr m[BATCH];
    struct iovec iov[BATCH];
    for (int i = 0; i < BATCH; i++) {
      iov[i] = (struct iovec){data + i * PAYLOAD, PAYLOAD};
      memset(&m[i], 0, sizeof(m[i]));
      m[i].msg_hdr.msg_name = &r->dst.ss;
      m[i].msg_hdr.msg_namelen = r->dst.len;
      m[i].msg_hdr.msg_iov = &iov[i];
      m[i].msg_hdr.msg_iovlen = 1;
    }
    while (now_s() < end) {
      int n = sendmmsg(fd, m, BATCH, 0);
      r->tx_sys++;
      if (n > 0) {
        r->tx_pkts += (unsigned)n;
      }
    }
    close(fd);
  } else {
    wt_io *io = open_io(r, 0);
    wt_io_tx t[BATCH];
    unsigned nt;
    unsigned per;
    if (r->c->gso) { /* one run of GSO_SEG x 1200 per entry, a few entries per call */
      static uint8_t big[4][GSO_SEG * PAYLOAD];
      nt = 4;
      per = GSO_SEG;
      for (unsigned i = 0; i < nt; i++) {
        t[i] =
            (wt_io_tx){.data = big[i], .len = sizeof(big[i]), .segsize = PAYLOAD, .peer = &r->dst};
      }
    } else {
      nt = BATCH;
      per = 1;
      for (unsigned i = 0; i < nt; i++) {
        t[i] = (wt_io_tx){.data = data + i * PAYLOAD, .len = PAYLOAD, .peer = &r->dst};
      }
    }
    while (now_s() < end) {
      int n = wt_io_send(io, t, nt);
      if (n > 0) {
        r->tx_pkts += (uint64_t)n * per;
      } else {
        wt_io_wait(io, 1000000LL);
      }
    }
    r->tx_sys = wt_io_get_stats(io)->syscalls;
    wt_io_close(io);
  }
  r->elapsed = now_s() - t0;
  return NULL;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  int runs = 3;
  double secs = 2;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
      runs = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--secs") && i + 1 < argc) {
      secs = atof(argv[++i]);
    } else {
      fprintf(stderr, "usage: bench_udp [--runs R] [--secs S]\n");
      return 2;
    }
  }
  if (runs < 1 || runs > 99 || secs <= 0) {
    fprintf(stderr, "bench_udp: bad --runs or --secs\n");
    return 2;
  }
  char why[256];
  int have_uring = wt_io_uring_probe(why, sizeof(why)) == 0;
  static const cfg all[] = {
      {"mmsg (sendmmsg/recvmmsg x64)", 1, 0, 0, 0},
      {"portable", 0, WT_IO_BACKEND_PORTABLE, 0, 0},
      {"portable+gso (44x1200, no GRO)", 0, WT_IO_BACKEND_PORTABLE, 1, 0},
      {"portable+gso+gro", 0, WT_IO_BACKEND_PORTABLE, 1, 1},
      {"uring", 0, WT_IO_BACKEND_URING, 0, 0},
      {"uring+gso (44x1200, no GRO)", 0, WT_IO_BACKEND_URING, 1, 0},
      {"uring+gso+gro", 0, WT_IO_BACKEND_URING, 1, 1},
  };
  printf("bench_udp: %d-byte payloads, loopback 127.0.0.1, sender CPU 0 -> receiver CPU 1, "
         "%d run(s) x %.1f s; %d per call (mmsg and single datagrams), GSO runs of %d; "
         "io_uring %s%s\n",
         PAYLOAD, runs, secs, BATCH, GSO_SEG,
         have_uring ? "available" : "unavailable: ", have_uring ? "" : why);
  for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++) {
    const cfg *c = &all[k];
    if (c->backend == WT_IO_BACKEND_URING && !have_uring) {
      printf("%-32s skipped (io_uring unavailable)\n", c->name);
      continue;
    }
    double pps[100], gbps[100];
    for (int i = 0; i < runs; i++) {
      run *r = calloc(1, sizeof(*r));
      r->c = c;
      r->secs = secs;
      pthread_t rt, tt;
      pthread_create(&rt, NULL, rx_main, r);
      while (!atomic_load(&r->ready)) {
        usleep(1000);
      }
      pthread_create(&tt, NULL, tx_main, r);
      pthread_join(tt, NULL);
      atomic_store(&r->stop, 1);
      pthread_join(rt, NULL);
      pps[i] = r->rx_pkts / r->elapsed;
      gbps[i] = r->rx_bytes * 8.0 / r->elapsed / 1e9;
      printf("%-32s run %d: %6.3f Mpkt/s received  %6.2f Gbit/s  (sent %.3f Mpkt/s, loss "
             "%4.1f %%)  syscalls/pkt tx %.4f rx %.4f\n",
             c->name, i + 1, pps[i] / 1e6, gbps[i], r->tx_pkts / r->elapsed / 1e6,
             r->tx_pkts
                 ? 100.0 *
                       (double)(r->tx_pkts - (r->rx_pkts < r->tx_pkts ? r->rx_pkts : r->tx_pkts)) /
                       (double)r->tx_pkts
                 : 0.0,
             r->tx_pkts ? (double)r->tx_sys / (double)r->tx_pkts : 0.0,
             r->rx_pkts ? (double)r->rx_sys / (double)r->rx_pkts : 0.0);
      free(r);
    }
    qsort(pps, (size_t)runs, sizeof(double), cmp_d);
    qsort(gbps, (size_t)runs, sizeof(double), cmp_d);
    printf("%-32s MEDIAN: %6.3f Mpkt/s  %6.2f Gbit/s\n", c->name, pps[runs / 2] / 1e6,
           gbps[runs / 2]);
    fflush(stdout);
  }
  return 0;
}
