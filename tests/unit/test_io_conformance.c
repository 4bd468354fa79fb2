/* test_io_conformance.c: one suite run against every datapath backend
 * (portable, then io_uring when the probe passes; skipped with a message
 * otherwise): GRO splitting with a short last segment, GSO runs received as
 * separate datagrams and as one super-datagram, buffer recycling under a
 * bounded flood, ENOBUFS recovery, submission-queue exhaustion, local address
 * and ECN, wait timeouts and watched-fd wake-ups. Real sockets on 127.0.0.1;
 * every loop is bounded in time. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "wt_error.h"
#include "wt_io.h"

static int g_backend;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

typedef struct opt {
  const char *bind;
  int gro, gso;
  unsigned rx_buffers, ring_entries;
  int rcvbuf;
  int tx_defer;
} opt;

static wt_io *open_b(opt o) {
  wt_io_config c;
  wt_io_config_default(&c);
  c.backend = g_backend;
  c.bind_addr = o.bind ? o.bind : "127.0.0.1:0";
  c.gro = o.gro;
  c.gso = o.gso;
  c.rx_buffers = o.rx_buffers;
  c.ring_entries = o.ring_entries;
  c.tx_defer = o.tx_defer;
  if (o.rcvbuf) {
    c.rcvbuf = o.rcvbuf;
  }
  wt_io *io = NULL;
  int rv = wt_io_open(&io, &c);
  if (rv != 0) {
    fprintf(stderr, "  wt_io_open(%s): %s\n", c.bind_addr, wt_err_str(rv));
    return NULL;
  }
  CHECK_EQ(wt_io_backend(io), g_backend);
  return io;
}

/* Send all of tx[0..n), waiting out would-blocks (2 s at most). */
static int send_all(wt_io *io, const wt_io_tx *tx, unsigned n) {
  unsigned done = 0;
  int64_t end = now_ns() + 2000000000LL;
  while (done < n && now_ns() < end) {
    int r = wt_io_send(io, tx + done, n - done);
    if (r > 0) {
      done += (unsigned)r;
    } else if (r == WT_ERR_AGAIN) {
      wt_io_wait(io, 10000000LL);
    } else {
      return r;
    }
  }
  return (int)done;
}

/* Receive until want datagrams or ms pass; lens/first bytes into the arrays
 * when given (cap entries). Returns the count. */
static unsigned recv_n(wt_io *io, unsigned want, int ms, size_t *lens, uint8_t *first, uint8_t *ecn,
                       wt_io_addr *local, unsigned cap) {
  unsigned got = 0;
  int64_t end = now_ns() + (int64_t)ms * 1000000LL;
  wt_io_pkt p[64];
  while (got < want && now_ns() < end) {
    int n = wt_io_recv(io, p, 64);
    CHECK(n >= 0);
    if (n <= 0) {
      wt_io_wait(io, 5000000LL);
      continue;
    }
    for (int i = 0; i < n; i++, got++) {
      if (got < cap) {
        if (lens) {
          lens[got] = p[i].len;
        }
        if (first) {
          first[got] = p[i].len ? p[i].data[0] : 0;
        }
        if (ecn) {
          ecn[got] = p[i].ecn;
        }
        if (local) {
          local[got] = p[i].local;
        }
      }
    }
  }
  return got;
}

/* 10 segments of 1000 bytes and a 300-byte last one, segment k filled with k. */
static uint8_t g_run[10300];
static void fill_run(void) {
  for (size_t k = 0; k < 11; k++) {
    memset(g_run + k * 1000, (int)k, k < 10 ? 1000 : 300);
  }
}

static void check_run(unsigned got, const size_t *lens, const uint8_t *first) {
  CHECK_EQ(got, 11);
  for (unsigned k = 0; k < got && k < 11; k++) {
    CHECK_EQ(lens[k], k < 10 ? 1000u : 300u);
    CHECK_EQ(first[k], k);
  }
}

static void test_gro_split(void) {
  fill_run();
  wt_io *rx = open_b((opt){.gro = 1, .gso = 1});
  wt_io *tx = open_b((opt){.gro = 1, .gso = 1});
  CHECK_FATAL(rx && tx);
  if (!wt_io_gro_enabled(rx) || !wt_io_gso_max_segments(tx)) {
    printf("  UDP_GRO/GSO unavailable: skipped\n");
    wt_io_close(rx);
    wt_io_close(tx);
    return;
  }
  wt_io_tx t = {.data = g_run, .len = sizeof(g_run), .segsize = 1000, .peer = wt_io_local(rx)};
  CHECK_EQ(send_all(tx, &t, 1), 1);
  size_t lens[16];
  uint8_t first[16];
  unsigned got = recv_n(rx, 11, 2000, lens, first, NULL, NULL, 16);
  check_run(got, lens, first);
  const wt_io_stats *rs = wt_io_get_stats(rx), *ts = wt_io_get_stats(tx);
  CHECK_EQ(rs->rx_gro_super, 1);   /* loopback keeps the run as one super-datagram */
  CHECK_EQ(rs->rx_completions, 1); /* ... in one buffer */
  CHECK_EQ(ts->tx_gso_sends, 1);
  CHECK_EQ(ts->tx_gso_packets, 11);
  printf("  11 datagrams from %llu completion(s), %llu GRO super-datagram(s)\n",
         (unsigned long long)rs->rx_completions, (unsigned long long)rs->rx_gro_super);
  wt_io_close(rx);
  wt_io_close(tx);
}

static void test_gso_no_gro(void) {
  fill_run();
  wt_io *rx = open_b((opt){.gro = 0, .gso = 1});
  wt_io *tx = open_b((opt){.gro = 1, .gso = 1});
  CHECK_FATAL(rx && tx);
  CHECK(!wt_io_gro_enabled(rx));
  wt_io_tx t = {.data = g_run, .len = sizeof(g_run), .segsize = 1000, .peer = wt_io_local(rx)};
  CHECK_EQ(send_all(tx, &t, 1), 1);
  size_t lens[16];
  uint8_t first[16];
  unsigned got = recv_n(rx, 11, 2000, lens, first, NULL, NULL, 16);
  check_run(got, lens, first);
  const wt_io_stats *rs = wt_io_get_stats(rx);
  CHECK_EQ(rs->rx_gro_super, 0);
  CHECK_EQ(rs->rx_completions, 11);
  wt_io_close(rx);
  wt_io_close(tx);
}

/* 200k datagrams at a receiver that reads one batch per 1000 sent: the
 * kernel drops what does not fit, nothing leaks, reception goes on. */
static void test_flood(void) {
  wt_io *rx = open_b((opt){.gro = 0, .gso = 1, .rx_buffers = 16, .rcvbuf = 256 << 10});
  wt_io *tx = open_b((opt){.gro = 0, .gso = 0});
  CHECK_FATAL(rx && tx);
  static uint8_t pay[1200];
  wt_io_tx t[64];
  for (int i = 0; i < 64; i++) {
    t[i] = (wt_io_tx){.data = pay, .len = sizeof(pay), .peer = wt_io_local(rx)};
  }
  const unsigned total = 200000;
  unsigned sent = 0, got = 0;
  wt_io_pkt p[64];
  int64_t end = now_ns() + 20000000000LL;
  while (sent < total && now_ns() < end) {
    int r = send_all(tx, t, 64);
    CHECK_FATAL(r == 64);
    sent += 64;
    if (sent % 1024 == 0) {
      int n = wt_io_recv(rx, p, 64); /* slow reader: one batch now and then */
      CHECK(n >= 0);
      got += n > 0 ? (unsigned)n : 0;
    }
  }
  CHECK_EQ(sent, total);
  /* drain what is queued */
  for (;;) {
    unsigned n = recv_n(rx, 1u << 30, 200, NULL, NULL, NULL, NULL, 0);
    got += n;
    if (n == 0) {
      break;
    }
  }
  const wt_io_stats *rs = wt_io_get_stats(rx);
  printf("  flood: sent %u, received %u, dropped %u (%.1f %%), ENOBUFS %llu\n", sent, got,
         sent - got, 100.0 * (sent - got) / sent, (unsigned long long)rs->rx_enobufs);
  CHECK(got > 0 && got <= sent);
  /* No buffer leaked: three paced rounds of 500 (more than the 16 buffers)
   * all arrive. */
  for (int round = 0; round < 3; round++) {
    unsigned before = (unsigned)rs->rx_packets;
    for (int b = 0; b < 500 / 50; b++) {
      CHECK_EQ(send_all(tx, t, 50), 50);
      got += recv_n(rx, 50, 1000, NULL, NULL, NULL, NULL, 0);
    }
    CHECK_EQ((unsigned)rs->rx_packets - before, 500);
  }
  wt_io_close(rx);
  wt_io_close(tx);
}

/* A two-buffer ring, 64 datagrams waiting: ENOBUFS (io_uring), then every
 * datagram still arrives as buffers are recycled. */
static void test_enobufs(void) {
  wt_io *rx = open_b((opt){.gro = 0, .gso = 1, .rx_buffers = 2});
  wt_io *tx = open_b((opt){.gro = 0, .gso = 1});
  CHECK_FATAL(rx && tx);
  static uint8_t pay[64][100];
  wt_io_tx t[64];
  for (int i = 0; i < 64; i++) {
    memset(pay[i], i, sizeof(pay[i]));
    t[i] = (wt_io_tx){.data = pay[i], .len = sizeof(pay[i]), .peer = wt_io_local(rx)};
  }
  CHECK_EQ(send_all(tx, t, 64), 64);
  uint8_t first[64];
  unsigned got = recv_n(rx, 64, 3000, NULL, first, NULL, NULL, 64);
  CHECK_EQ(got, 64);
  for (unsigned i = 0; i < got; i++) {
    CHECK_EQ(first[i], i); /* in order, none lost */
  }
  const wt_io_stats *rs = wt_io_get_stats(rx);
  printf("  64 datagrams through 2 buffers: ENOBUFS %llu\n", (unsigned long long)rs->rx_enobufs);
  if (g_backend == WT_IO_BACKEND_URING) {
    CHECK(rs->rx_enobufs >= 1);
  }
  CHECK_EQ(send_all(tx, t, 5), 5);
  CHECK_EQ(recv_n(rx, 5, 2000, NULL, NULL, NULL, NULL, 0), 5);
  wt_io_close(rx);
  wt_io_close(tx);
}

/* A 4-entry submission queue and one wt_io_send of 64 entries: all sent. */
static void test_sq_exhaustion(void) {
  wt_io *rx = open_b((opt){.gro = 0, .gso = 1});
  wt_io *tx = open_b((opt){.gro = 0, .gso = 1, .ring_entries = 4});
  CHECK_FATAL(rx && tx);
  static uint8_t pay[64][200];
  wt_io_tx t[64];
  for (int i = 0; i < 64; i++) {
    memset(pay[i], i, sizeof(pay[i]));
    t[i] = (wt_io_tx){.data = pay[i], .len = sizeof(pay[i]), .peer = wt_io_local(rx)};
  }
  CHECK_EQ(wt_io_send(tx, t, 64), 64);
  const wt_io_stats *ts = wt_io_get_stats(tx);
  printf("  64 sends: sq_full %llu, syscalls %llu\n", (unsigned long long)ts->sq_full,
         (unsigned long long)ts->syscalls);
  if (g_backend == WT_IO_BACKEND_URING) {
    CHECK(ts->sq_full >= 15);
  }
  CHECK_EQ(ts->tx_packets, 64);
  uint8_t first[64];
  CHECK_EQ(recv_n(rx, 64, 2000, NULL, first, NULL, NULL, 64), 64);
  for (int i = 0; i < 64; i++) {
    CHECK_EQ(first[i], i);
  }
  /* With room in the queue, one wt_io_send is one system call. */
  wt_io *tx2 = open_b((opt){.gro = 0, .gso = 1});
  CHECK_FATAL(tx2 != NULL);
  uint64_t s0 = wt_io_get_stats(tx2)->syscalls;
  CHECK_EQ(wt_io_send(tx2, t, 64), 64);
  CHECK_EQ(wt_io_get_stats(tx2)->syscalls - s0, 1);
  CHECK_EQ(recv_n(rx, 64, 2000, NULL, NULL, NULL, NULL, 0), 64);
  wt_io_close(tx2);
  wt_io_close(rx);
  wt_io_close(tx);
}

/* Wildcard receiver: the local address comes from PKTINFO; ECN both ways. */
static void test_local_ecn(void) {
  wt_io *rx = open_b((opt){.bind = "0.0.0.0:0", .gro = 1, .gso = 1});
  wt_io *tx = open_b((opt){.gro = 1, .gso = 1});
  CHECK_FATAL(rx && tx);
  wt_io_addr dst;
  char b[WT_IO_ADDR_STRLEN];
  uint16_t port = ntohs(((const struct sockaddr_in *)&wt_io_local(rx)->ss)->sin_port);
  snprintf(b, sizeof(b), "127.0.0.1:%u", port);
  CHECK_FATAL(wt_io_addr_parse(b, &dst) == 0);
  static uint8_t pay[4][50];
  wt_io_tx t[4];
  for (int i = 0; i < 4; i++) {
    memset(pay[i], i, sizeof(pay[i]));
    t[i] = (wt_io_tx){.data = pay[i], .len = sizeof(pay[i]), .peer = &dst, .ecn = (uint8_t)i};
  }
  CHECK_EQ(send_all(tx, t, 4), 4);
  uint8_t first[4], ecn[4];
  wt_io_addr local[4];
  CHECK_EQ(recv_n(rx, 4, 2000, NULL, first, ecn, local, 4), 4);
  for (int i = 0; i < 4; i++) {
    CHECK_EQ(ecn[first[i]], first[i]);
    CHECK(wt_io_addr_equal(&local[i], &dst));
  }
  wt_io_close(rx);
  wt_io_close(tx);
}

static void *late_write(void *arg) {
  usleep(50000);
  uint64_t one = 1;
  if (write(*(int *)arg, &one, sizeof(one)) != (ssize_t)sizeof(one)) {
    perror("write");
  }
  return NULL;
}

static void test_wait_watch(void) {
  wt_io *io = open_b((opt){.gro = 1, .gso = 1});
  CHECK_FATAL(io != NULL);
  int64_t t0 = now_ns();
  CHECK_EQ(wt_io_wait(io, 0), 0);
  CHECK_EQ(wt_io_wait(io, 30000000LL), 0);
  int64_t el = now_ns() - t0;
  CHECK(el >= 30000000LL && el < 1000000000LL);
  printf("  30 ms timeout took %.1f ms\n", el / 1e6);

  int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  CHECK_FATAL(efd >= 0);
  CHECK_EQ(wt_io_watch_fd(io, efd), 0);
  CHECK_EQ(wt_io_watch_fd(io, efd), WT_ERR_IO);
  pthread_t th;
  CHECK_FATAL(pthread_create(&th, NULL, late_write, &efd) == 0);
  t0 = now_ns();
  int ev = wt_io_wait(io, 2000000000LL);
  el = now_ns() - t0;
  pthread_join(th, NULL);
  CHECK(ev & WT_IO_EV_WATCHED);
  CHECK(el >= 40000000LL && el < 1500000000LL);
  /* level-triggered: not drained, reported again */
  CHECK(wt_io_wait(io, 100000000LL) & WT_IO_EV_WATCHED);
  uint64_t v;
  CHECK_EQ(read(efd, &v, sizeof(v)), (ssize_t)sizeof(v));
  CHECK_EQ(wt_io_wait(io, 20000000LL), 0);
  CHECK_EQ(wt_io_unwatch_fd(io, efd), 0);
  CHECK_EQ(wt_io_unwatch_fd(io, efd), WT_ERR_IO);
  v = 1;
  CHECK_EQ(write(efd, &v, sizeof(v)), (ssize_t)sizeof(v));
  CHECK_EQ(wt_io_wait(io, 20000000LL), 0); /* readable but no longer watched */
  CHECK_EQ(wt_io_watch_fd(io, efd), 0);    /* and again */
  CHECK(wt_io_wait(io, 1000000000LL) & WT_IO_EV_WATCHED);
  CHECK_EQ(wt_io_unwatch_fd(io, efd), 0);
  close(efd);
  /* a datagram wakes a blocked wait */
  wt_io *tx = open_b((opt){.gro = 1, .gso = 1});
  CHECK_FATAL(tx != NULL);
  static const uint8_t x[8] = "wakeup!";
  wt_io_tx t = {.data = x, .len = sizeof(x), .peer = wt_io_local(io)};
  CHECK_EQ(wt_io_send(tx, &t, 1), 1);
  CHECK(wt_io_wait(io, 1000000000LL) & WT_IO_EV_READABLE);
  CHECK_EQ(recv_n(io, 1, 1000, NULL, NULL, NULL, NULL, 0), 1);
  wt_io_close(tx);
  wt_io_close(io);
}

/* tx_defer (io_uring: small sends go with the next enter; portable: sent at
 * once). The data must stay valid only until the next wt_io_wait, also one
 * that returns at once because an event was already waiting: after it the
 * buffers are overwritten and the peer must still get the originals. A
 * deferred send that fails is counted in tx_errors. */
static void test_tx_defer(void) {
  wt_io *s = open_b((opt){.gro = 1, .gso = 1, .tx_defer = 1});
  wt_io *r = open_b((opt){.gro = 1, .gso = 1});
  CHECK_FATAL(s != NULL && r != NULL);
  const wt_io_stats *st = wt_io_get_stats(s);
  /* an event waiting on s: a datagram it does not receive yet */
  static const uint8_t hi[2] = "h";
  wt_io_tx t0 = {.data = hi, .len = sizeof(hi), .peer = wt_io_local(s)};
  CHECK_EQ(wt_io_send(r, &t0, 1), 1);
  CHECK(wt_io_wait(s, 1000000000LL) & WT_IO_EV_READABLE);
  static uint8_t d[3][200];
  wt_io_addr to = *wt_io_local(r);
  wt_io_tx t[3];
  for (int i = 0; i < 3; i++) {
    memset(d[i], 'A' + i, sizeof(d[i]));
    t[i] = (wt_io_tx){.data = d[i], .len = sizeof(d[i]), .peer = &to};
  }
  uint64_t sys0 = st->syscalls;
  CHECK_EQ(wt_io_send(s, t, 3), 3);
  /* the address and the data may be reused once wt_io_send returns (a
   * pump writes its next packets into the same buffer and sends again) */
  memset(&to, 0, sizeof(to));
  for (int i = 0; i < 3; i++) {
    memset(d[i], 'a' + i, sizeof(d[i]));
  }
  if (g_backend == WT_IO_BACKEND_URING) {
    CHECK_EQ(st->tx_deferred, 1);
    CHECK_EQ(st->syscalls, sys0); /* prepared, not yet submitted */
  }
  to = *wt_io_local(r);
  CHECK_EQ(wt_io_send(s, t, 2), 2); /* a second deferred batch, same buffers */
  memset(&to, 0, sizeof(to));
  for (int i = 0; i < 3; i++) {
    memset(d[i], 'Z', sizeof(d[i]));
  }
  CHECK(wt_io_wait(s, 1000000000LL) & WT_IO_EV_READABLE); /* returns at once */
  size_t lens[6] = {0};
  uint8_t first[6] = {0};
  CHECK_EQ(recv_n(r, 5, 1000, lens, first, NULL, NULL, 6), 5);
  static const uint8_t want[5] = {'A', 'B', 'C', 'a', 'b'};
  for (int i = 0; i < 5; i++) {
    CHECK_EQ(lens[i], 200);
    CHECK_EQ(first[i], want[i]);
  }
  CHECK_EQ(recv_n(s, 1, 1000, NULL, NULL, NULL, NULL, 0), 1); /* "h" */
  /* a refused datagram (broadcast without SO_BROADCAST: EACCES) */
  wt_io_addr bc;
  CHECK_FATAL(wt_io_addr_parse("255.255.255.255:9", &bc) == 0);
  wt_io_tx tb = {.data = hi, .len = sizeof(hi), .peer = &bc};
  uint64_t err0 = st->tx_errors;
  CHECK_EQ(wt_io_send(s, &tb, 1), 1);
  wt_io_wait(s, 0);
  CHECK_EQ(st->tx_errors, err0 + 1);
  wt_io_close(s);
  wt_io_close(r);
}

static void run_suite(void) {
  WT_RUN(test_gro_split);
  WT_RUN(test_gso_no_gro);
  WT_RUN(test_flood);
  WT_RUN(test_enobufs);
  WT_RUN(test_sq_exhaustion);
  WT_RUN(test_local_ecn);
  WT_RUN(test_wait_watch);
  WT_RUN(test_tx_defer);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("== backend portable\n");
  g_backend = WT_IO_BACKEND_PORTABLE;
  run_suite();
  char why[256];
  if (wt_io_uring_probe(why, sizeof(why)) != 0) {
    printf("== backend io_uring: SKIPPED (unavailable: %s)\n", why);
  } else {
    printf("== backend io_uring\n");
    g_backend = WT_IO_BACKEND_URING;
    run_suite();
  }
  WT_DONE();
}
