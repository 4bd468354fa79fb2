/* test_fwd.c: cross-shard forwarding rings. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "check.h"
#include "wt_error.h"
#include "wt_fwd.h"

static wt_io_addr addr_of(const char *s) {
  wt_io_addr a;
  wt_io_addr_parse(s, &a);
  return a;
}

typedef struct sink {
  unsigned got, bad;
  uint32_t next; /* expected sequence number */
} sink;

static void deliver(void *user, const wt_fwd_pkt *pkt) {
  sink *k = user;
  uint32_t seq;
  memcpy(&seq, pkt->data, sizeof(seq));
  wt_io_addr peer = addr_of("10.0.0.1:1234");
  if (seq != k->next || pkt->len != 100 + seq % 1000 || pkt->ecn != 2 || pkt->src != 0 ||
      !wt_io_addr_equal(&pkt->peer, &peer) || pkt->data[pkt->len - 1] != (uint8_t)seq) {
    k->bad++;
  }
  k->next = seq + 1;
  k->got++;
}

static int send_seq(wt_fwd_port *p, uint32_t dst, uint32_t seq) {
  uint8_t b[1200];
  size_t len = 100 + seq % 1000;
  memset(b, 0, sizeof(b));
  memcpy(b, &seq, sizeof(seq));
  b[len - 1] = (uint8_t)seq;
  wt_io_addr local = addr_of("127.0.0.1:4433"), peer = addr_of("10.0.0.1:1234");
  return wt_fwd_send(p, dst, b, len, &local, &peer, 2);
}

static void test_errors(void) {
  wt_fwd *f;
  CHECK_EQ(wt_fwd_new(&f, 1, 0), WT_ERR_INVAL);
  CHECK_EQ(wt_fwd_new(&f, 2, 3), WT_ERR_INVAL);
  CHECK_EQ(wt_fwd_new(NULL, 2, 0), WT_ERR_INVAL);
  CHECK_FATAL(wt_fwd_new(&f, 64, 0) == 0);
  CHECK(wt_fwd_ring_capacity(f) >= 64 && wt_fwd_ring_capacity(f) <= 1024);
  wt_fwd_del(f);
  CHECK_FATAL(wt_fwd_new(&f, 2, 8) == 0);
  wt_fwd_port p;
  CHECK_EQ(wt_fwd_port_init(&p, f, 2), WT_ERR_INVAL);
  CHECK_FATAL(wt_fwd_port_init(&p, f, 0) == 0);
  CHECK_EQ(send_seq(&p, 0, 1), WT_ERR_INVAL); /* to itself */
  CHECK_EQ(send_seq(&p, 5, 1), WT_ERR_INVAL);
  uint8_t big[WT_FWD_MAX_PAYLOAD + 1] = {0};
  wt_io_addr a = addr_of("127.0.0.1:1");
  CHECK_EQ(wt_fwd_send(&p, 1, big, sizeof(big), &a, &a, 0), WT_ERR_RANGE);
  CHECK_EQ(p.stats.forward_drops, 3);
  CHECK_EQ(p.stats.forwarded_out, 0);
  wt_fwd_port_free(&p);
  wt_fwd_port_free(&p); /* idempotent */
  wt_fwd_del(f);
  wt_fwd_del(NULL);
}

/* One thread: fill the pair, drops when full, one wake-up per flush,
 * buffers home, nothing left in use. */
static void test_full_and_return(void) {
  wt_fwd *f;
  CHECK_FATAL(wt_fwd_new(&f, 3, 8) == 0);
  int efd = eventfd(0, EFD_NONBLOCK);
  wt_fwd_set_wake_fd(f, 1, efd);
  wt_fwd_port p0, p1;
  CHECK_FATAL(wt_fwd_port_init(&p0, f, 0) == 0 && wt_fwd_port_init(&p1, f, 1) == 0);
  for (uint32_t i = 0; i < 13; i++) {
    int rv = send_seq(&p0, 1, i);
    CHECK_EQ(rv, i < 8 ? 0 : WT_ERR_AGAIN);
  }
  CHECK_EQ(p0.stats.forwarded_out, 8);
  CHECK_EQ(p0.stats.forward_drops, 5);
  CHECK_EQ(wt_fwd_flush(&p0), 1);
  CHECK_EQ(wt_fwd_flush(&p0), 0); /* nothing new */
  uint64_t v = 0;
  CHECK(read(efd, &v, sizeof(v)) == sizeof(v) && v == 1);
  wt_pool_stats ps;
  wt_pool_get_stats(&p0.pool, &ps);
  CHECK_EQ(ps.in_use, 8);
  sink k = {0};
  CHECK_EQ(wt_fwd_poll(&p1, deliver, &k, 5), 5); /* bounded */
  CHECK_EQ(wt_fwd_poll(&p1, deliver, &k, 100), 3);
  CHECK_EQ(wt_fwd_poll(&p1, deliver, &k, 100), 0);
  CHECK_EQ(k.got, 8);
  CHECK_EQ(k.bad, 0);
  CHECK_EQ(p1.stats.forwarded_in, 8);
  CHECK_EQ(wt_fwd_reclaim(&p0), 8);
  wt_pool_get_stats(&p0.pool, &ps);
  CHECK_EQ(ps.in_use, 0);
  CHECK_EQ(send_seq(&p0, 1, 8), 0); /* room again */
  CHECK_EQ(send_seq(&p0, 2, 0), 0); /* another destination: no wake fd, no problem */
  CHECK_EQ(wt_fwd_flush(&p0), 1);
  wt_fwd_port_free(&p0); /* frees the buffers still in flight */
  wt_fwd_port_free(&p1);
  wt_fwd_del(f);
  close(efd);
}

/* Two threads: 200000 datagrams from shard 0 to shard 1 with eventfd
 * wake-ups; all arrive in order or are counted as drops; buffers home. */
#define PAIR_TOTAL 200000

typedef struct pair {
  wt_fwd *f;
  wt_fwd_port port[2];
  int efd;
  _Atomic int producer_done;
  sink k;
} pair;

static void *consumer(void *arg) {
  pair *pr = arg;
  for (;;) {
    uint64_t v;
    (void)!read(pr->efd, &v, sizeof(v));
    unsigned n = wt_fwd_poll(&pr->port[1], deliver, &pr->k, 64);
    if (n == 0) {
      if (atomic_load(&pr->producer_done) && wt_fwd_poll(&pr->port[1], deliver, &pr->k, 64) == 0) {
        break;
      }
      sched_yield();
    }
  }
  return NULL;
}

static void test_two_threads(void) {
  pair *pr = calloc(1, sizeof(*pr));
  CHECK_FATAL(pr && wt_fwd_new(&pr->f, 2, 256) == 0);
  pr->efd = eventfd(0, EFD_NONBLOCK);
  wt_fwd_set_wake_fd(pr->f, 1, pr->efd);
  CHECK_FATAL(wt_fwd_port_init(&pr->port[0], pr->f, 0) == 0);
  CHECK_FATAL(wt_fwd_port_init(&pr->port[1], pr->f, 1) == 0);
  pthread_t t;
  CHECK_FATAL(pthread_create(&t, NULL, consumer, pr) == 0);
  uint32_t sent = 0, dropped = 0;
  for (uint32_t i = 0; sent < PAIR_TOTAL; i++) {
    wt_fwd_reclaim(&pr->port[0]);
    int rv = send_seq(&pr->port[0], 1, sent);
    if (rv == 0) {
      sent++;
    } else {
      CHECK_EQ(rv, WT_ERR_AGAIN);
      dropped++;
      sched_yield();
    }
    if (i % 16 == 15) {
      wt_fwd_flush(&pr->port[0]); /* one wake-up per batch */
    }
  }
  wt_fwd_flush(&pr->port[0]);
  atomic_store(&pr->producer_done, 1);
  pthread_join(t, NULL);
  CHECK_EQ(pr->k.got, PAIR_TOTAL);
  CHECK_EQ(pr->k.bad, 0);
  CHECK_EQ(pr->port[0].stats.forwarded_out, PAIR_TOTAL);
  CHECK_EQ(pr->port[0].stats.forward_drops, dropped);
  CHECK_EQ(pr->port[1].stats.forwarded_in, PAIR_TOTAL);
  while (pr->port[0].total_out) {
    wt_fwd_reclaim(&pr->port[0]);
  }
  wt_pool_stats ps;
  wt_pool_get_stats(&pr->port[0].pool, &ps);
  CHECK_EQ(ps.in_use, 0);
  CHECK(ps.high_water <= 256);
  fprintf(stderr, "  %u datagrams forwarded, %u refused while the ring was full\n", sent, dropped);
  wt_fwd_port_free(&pr->port[0]);
  wt_fwd_port_free(&pr->port[1]);
  wt_fwd_del(pr->f);
  close(pr->efd);
  free(pr);
}

int main(void) {
  WT_RUN(test_errors);
  WT_RUN(test_full_and_return);
  WT_RUN(test_two_threads);
  WT_DONE();
}
