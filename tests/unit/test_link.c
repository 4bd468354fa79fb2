/* test_link.c: shard <-> worker links (shards/wt_link.h): the typed
 * messages (shards/wt_msg.h), ring + overflow semantics on one thread, then
 * a two-thread stress of both directions at once with the real wake-up
 * protocol, checking for loss, duplicates, reordering and lost wake-ups.
 *
 * WTCAST_LINK_STRESS_N sets the messages per direction of the stress (default
 * 2000000, 1000000 under ASan or TSan). */
#define _GNU_SOURCE /* ppoll */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "wt_buf.h"
#include "wt_error.h"
#include "wt_app.h"
#include "wt_link.h"

/* Sanitized builds (ASan, TSan) run smaller stress loads. */
#if defined(__SANITIZE_THREAD__)
#define TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TSAN 1
#endif
#endif
#ifndef TSAN
#define TSAN 0
#endif
#if TSAN || defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int waker_init(wt_waker *k) {
  memset(k, 0, sizeof(*k));
  k->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  atomic_init(&k->sleeping, 0);
  atomic_init(&k->wakes, 0);
  return k->efd >= 0 ? 0 : -1;
}

/* Read the eventfd: its count (0 when nothing was written). */
static uint64_t waker_drain(wt_waker *k) {
  uint64_t v = 0;
  if (read(k->efd, &v, sizeof(v)) != (ssize_t)sizeof(v)) {
    return 0;
  }
  return v;
}

/* The rings copy messages whole, whatever their kind: the tests send
 * stream credits numbered seq (released = seq, stream = ~seq) and datagrams
 * numbered by their session. */
static wt_msg msg_seq(uint64_t seq) {
  return wt_msg_ev_stream_credit(~seq, seq, 0);
}

static uint64_t seq_of(const wt_msg *m) {
  return wt_msg_get_ev_stream_credit(m)->released;
}

/* ---- messages (wt_msg.h) ---- */

/* Constructors set the kind, the payload and the envelope; readers give
 * the payload back; kinds split into events and commands. */
static void test_msg(void) {
  CHECK_EQ(sizeof(wt_msg), 64);
  int events = 0, commands = 0;
  for (unsigned k = 0; k <= WT_CMD_END; k++) {
    CHECK(!(wt_msg_is_event(k) && wt_msg_is_command(k)));
    events += wt_msg_is_event(k);
    commands += wt_msg_is_command(k);
  }
  CHECK_EQ(events, WT_EV_END - 1);
  CHECK_EQ(commands, WT_CMD_END - WT_EV_END - 1);
  CHECK(!wt_msg_is_event(0) && !wt_msg_is_command(0));
  CHECK(!wt_msg_is_event(WT_EV_END) && !wt_msg_is_command(WT_EV_END));

  wt_buf_pool *p;
  CHECK_FATAL(wt_buf_pool_new(&p, 256, 0) == 0);
  wt_buf *b = wt_buf_alloc(p, 16);
  CHECK_FATAL(b != NULL);
  memcpy(b->data, "0123456789abcdef", 16);

  wt_msg m = wt_msg_ev_stream_open(7, 3, 12, 1);
  CHECK_EQ(m.kind, WT_EV_STREAM_OPEN);
  CHECK(m.buf == NULL && m.len == 0 && m.off == 0);
  CHECK(wt_msg_data(&m) == NULL);
  const wt_ev_stream_open *so = wt_msg_get_ev_stream_open(&m);
  CHECK_EQ(so->stream, 7);
  CHECK_EQ(so->session, 3);
  CHECK_EQ(so->id, 12);
  CHECK_EQ(so->bidi, 1);

  m = wt_msg_ev_session_close(9, 0x1234, 5, b, 4); /* any non-zero clean is 1 */
  CHECK_EQ(m.kind, WT_EV_SESSION_CLOSE);
  CHECK(m.buf == b && m.len == 4 && wt_msg_data(&m) == b->data);
  CHECK_EQ(wt_msg_get_ev_session_close(&m)->code, 0x1234);
  CHECK_EQ(wt_msg_get_ev_session_close(&m)->clean, 1);

  m = wt_msg_cmd_write((wt_msg_stream){.id = 0, .token = 77}, b, 16, 1);
  CHECK_EQ(m.kind, WT_CMD_WRITE);
  CHECK_EQ(wt_msg_get_cmd_write(&m)->stream.token, 77);
  CHECK_EQ(wt_msg_get_cmd_write(&m)->stream.id, 0);
  CHECK_EQ(wt_msg_get_cmd_write(&m)->fin, 1);

  wt_app_group_counters cnt;
  m = wt_msg_cmd_group_new(5, 1 << 20, &cnt);
  CHECK(wt_msg_get_cmd_group_new(&m)->counters == &cnt); /* a pointer stays a pointer */
  CHECK_EQ(wt_msg_get_cmd_group_new(&m)->lag_max, 1 << 20);

  m = wt_msg_cmd_group_catchup_data(5, 9, 2, b, 3, 10, 0);
  CHECK_EQ(m.kind, WT_CMD_GROUP_CATCHUP_DATA);
  CHECK(m.off == 3 && m.len == 10 && wt_msg_data(&m) == b->data + 3);
  const wt_cmd_group_catchup_data *cd = wt_msg_get_cmd_group_catchup_data(&m);
  CHECK(cd->group == 5 && cd->session == 9 && cd->gsid == 2 && cd->fin == 0);

  /* a message posted through a ring arrives the same; a taken buffer is
   * no longer the message's */
  wt_waker ks, kw;
  CHECK_FATAL(waker_init(&ks) == 0 && waker_init(&kw) == 0);
  wt_link *l;
  CHECK_FATAL(wt_link_new(&l, 0, 0, 4, &ks, &kw) == 0);
  CHECK_EQ(wt_lring_post(&l->cmd, &m), 0);
  wt_msg out;
  CHECK_EQ(wt_lring_poll(&l->cmd, &out, 1), 1);
  CHECK_MEM(&out, &m, sizeof(m));
  CHECK(wt_msg_take_buf(&out) == b);
  CHECK(out.buf == NULL && wt_msg_data(&out) == NULL);
  wt_link_del(l);

  /* a GROUP_NEW left in a ring when its link goes drops the counters
   * reference it carries (wt_msg_drop); the last unref frees them */
  wt_app_group_counters *gc = wt_app_group_counters_new();
  CHECK_FATAL(gc != NULL);
  wt_app_group_counters_ref(gc); /* the message's */
  CHECK_EQ(atomic_load(&gc->refs_), 2);
  CHECK_FATAL(wt_link_new(&l, 0, 0, 4, &ks, &kw) == 0);
  m = wt_msg_cmd_group_new(6, 1 << 20, gc);
  CHECK_EQ(wt_lring_post(&l->cmd, &m), 0);
  wt_link_del(l);
  CHECK_EQ(atomic_load(&gc->refs_), 1);
  wt_app_group_counters_unref(gc); /* freed (ASan: no leak, no use after) */

  close(ks.efd);
  close(kw.efd);
  wt_buf_unref(b);
  wt_buf_pool_del(p);
}

/* ---- single thread ---- */

static void test_params(void) {
  wt_waker a, b;
  CHECK_FATAL(waker_init(&a) == 0 && waker_init(&b) == 0);
  wt_link *l = NULL;
  static const uint32_t bad[] = {0, 1, 3, 6, 100, (1u << 24) + 1, 1u << 25, UINT32_MAX};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    CHECK_EQ(wt_link_new(&l, 0, 0, bad[i], &a, &b), WT_ERR_INVAL);
  }
  CHECK_EQ(wt_link_new(NULL, 0, 0, 8, &a, &b), WT_ERR_INVAL);
  CHECK(l == NULL);
  CHECK_EQ(wt_link_new(&l, 3, 4, 2, &a, &b), 0);
  CHECK_FATAL(l != NULL);
  CHECK_EQ(l->shard, 3);
  CHECK_EQ(l->worker, 4);
  CHECK(l->ev.consumer == &b); /* events wake the worker */
  CHECK(l->cmd.consumer == &a);
  wt_link_del(l);
  wt_link_del(NULL);
  close(a.efd);
  close(b.efd);
}

static void test_fifo_overflow(void) {
  wt_waker ks, kw;
  CHECK_FATAL(waker_init(&ks) == 0 && waker_init(&kw) == 0);
  wt_link *l;
  CHECK_FATAL(wt_link_new(&l, 0, 0, 8, &ks, &kw) == 0);
  wt_lring *r = &l->ev;
  wt_msg out[64];
  CHECK_EQ(wt_lring_pending(r), 0);
  CHECK_EQ(wt_lring_poll(r, out, 64), 0);
  /* fill the ring exactly */
  for (uint64_t i = 1; i <= 8; i++) {
    wt_msg m = msg_seq(i);
    CHECK_EQ(wt_lring_post(r, &m), 0);
  }
  CHECK_EQ(r->st.posted, 8);
  CHECK_EQ(r->st.overflowed, 0);
  CHECK_EQ(wt_lring_pending(r), 1);
  /* full: post_or_drop drops, post overflows */
  wt_msg d = wt_msg_ev_datagram(1000, NULL, 0);
  CHECK_EQ(wt_lring_post_or_drop(r, &d), WT_ERR_AGAIN);
  CHECK_EQ(r->st.dropped, 1);
  for (uint64_t i = 9; i <= 20; i++) {
    wt_msg m = msg_seq(i);
    CHECK_EQ(wt_lring_post(r, &m), 0);
  }
  CHECK_EQ(r->st.overflowed, 12);
  CHECK_EQ(r->st.overflow_now, 12);
  CHECK_EQ(r->st.overflow_max, 12);
  /* consumer takes 5: room for 5, but overflow waiting => post_or_drop
   * still drops (it must not overtake the overflow) */
  CHECK_EQ(wt_lring_poll(r, out, 5), 5);
  for (uint64_t i = 0; i < 5; i++) {
    CHECK_EQ(out[i].kind, WT_EV_STREAM_CREDIT);
    CHECK_EQ(seq_of(&out[i]), i + 1);
    CHECK_EQ(wt_msg_get_ev_stream_credit(&out[i])->stream, ~(i + 1));
  }
  CHECK_EQ(wt_lring_post_or_drop(r, &d), WT_ERR_AGAIN);
  CHECK_EQ(r->st.dropped, 2);
  /* a post while overflow waits goes behind it, even with ring room */
  wt_msg m21 = msg_seq(21);
  CHECK_EQ(wt_lring_post(r, &m21), 0);
  CHECK_EQ(r->st.overflow_now, 13);
  CHECK_EQ(r->st.overflow_max, 13);
  /* flush moves 5 of the 13 and reports that some remain */
  CHECK_EQ(wt_lring_flush(r), 1);
  CHECK_EQ(r->st.overflow_now, 8);
  CHECK_EQ(r->st.posted, 13);
  /* poll everything left in odd batch sizes, flushing between */
  uint64_t next = 6;
  int rounds = 0;
  for (;;) {
    uint32_t n = wt_lring_poll(r, out, 3);
    for (uint32_t i = 0; i < n; i++) {
      CHECK_EQ(seq_of(&out[i]), next);
      next++;
    }
    int more = wt_lring_flush(r);
    if (n == 0 && !more) {
      break;
    }
    CHECK_FATAL(++rounds < 100);
  }
  CHECK_EQ(next, 22);
  CHECK_EQ(r->st.overflow_now, 0);
  CHECK_EQ(r->st.overflow_max, 13);
  CHECK_EQ(r->st.posted, 21);
  CHECK_EQ(wt_lring_pending(r), 0);
  /* empty again: post_or_drop goes through */
  CHECK_EQ(wt_lring_post_or_drop(r, &d), 0);
  CHECK_EQ(wt_lring_poll(r, out, 64), 1);
  CHECK_EQ(out[0].kind, WT_EV_DATAGRAM);
  CHECK_EQ(wt_msg_get_ev_datagram(&out[0])->session, 1000);
  CHECK_EQ(r->st.dropped, 2);
  /* the other direction is independent */
  CHECK_EQ(l->cmd.st.posted, 0);
  CHECK_EQ(wt_lring_pending(&l->cmd), 0);
  /* ring indices wrap many times with the capacity unchanged */
  next = 0;
  uint64_t sent = 0;
  for (int i = 0; i < 10000; i++) {
    uint32_t burst = (uint32_t)(i * 7919u) % 13;
    for (uint32_t j = 0; j < burst; j++) {
      wt_msg m = msg_seq(sent++);
      CHECK_EQ(wt_lring_post(r, &m), 0);
    }
    wt_lring_flush(r);
    uint32_t n = wt_lring_poll(r, out, (uint32_t)(i % 11) + 1);
    for (uint32_t j = 0; j < n; j++) {
      if (seq_of(&out[j]) != next) {
        CHECK_EQ(seq_of(&out[j]), next);
      }
      next++;
    }
  }
  while (next < sent) {
    wt_lring_flush(r);
    uint32_t n = wt_lring_poll(r, out, 64);
    for (uint32_t j = 0; j < n; j++) {
      if (seq_of(&out[j]) != next) {
        CHECK_EQ(seq_of(&out[j]), next);
      }
      next++;
    }
  }
  CHECK_EQ(next, sent);
  CHECK_EQ(r->st.overflow_now, 0);
  CHECK_EQ(wt_lring_flush(r), 0);
  wt_link_del(l);
  close(ks.efd);
  close(kw.efd);
}

static void test_wake(void) {
  wt_waker ks, kw;
  CHECK_FATAL(waker_init(&ks) == 0 && waker_init(&kw) == 0);
  wt_link *l;
  CHECK_FATAL(wt_link_new(&l, 0, 0, 4, &ks, &kw) == 0);
  wt_msg m = msg_seq(1), out[8];
  /* a busy consumer: no eventfd write */
  CHECK_EQ(wt_lring_post(&l->ev, &m), 0);
  CHECK_EQ(wt_lring_flush(&l->ev), 0);
  CHECK_EQ(atomic_load(&kw.wakes), 0);
  CHECK_EQ(waker_drain(&kw), 0);
  /* a sleeping consumer: one write, and the flag taken */
  wt_waker_sleep_begin(&kw);
  CHECK_EQ(wt_lring_pending(&l->ev), 1); /* the re-check would see it */
  CHECK_EQ(wt_lring_flush(&l->ev), 0);   /* nothing posted since: no kick */
  CHECK_EQ(atomic_load(&kw.wakes), 0);
  CHECK_EQ(wt_lring_post(&l->ev, &m), 0);
  CHECK_EQ(wt_lring_flush(&l->ev), 0);
  CHECK_EQ(atomic_load(&kw.wakes), 1);
  CHECK_EQ(atomic_load(&kw.sleeping), 0);
  CHECK_EQ(waker_drain(&kw), 1);
  /* a second flush with new posts but the flag already taken: no write */
  CHECK_EQ(wt_lring_post(&l->ev, &m), 0);
  CHECK_EQ(wt_lring_flush(&l->ev), 0);
  CHECK_EQ(atomic_load(&kw.wakes), 1);
  wt_waker_sleep_end(&kw);
  CHECK_EQ(wt_lring_poll(&l->ev, out, 8), 3);
  /* the shard's waker is the command ring's */
  wt_waker_sleep_begin(&ks);
  CHECK_EQ(wt_lring_post(&l->cmd, &m), 0);
  CHECK_EQ(wt_lring_flush(&l->cmd), 0);
  CHECK_EQ(atomic_load(&ks.wakes), 1);
  CHECK_EQ(atomic_load(&kw.wakes), 1);
  CHECK_EQ(waker_drain(&ks), 1);
  wt_waker_sleep_end(&ks);
  /* overflow moved by a flush wakes a sleeping consumer too */
  CHECK_EQ(wt_lring_poll(&l->cmd, out, 8), 1);
  for (int i = 0; i < 6; i++) {
    CHECK_EQ(wt_lring_post(&l->cmd, &m), 0);
  }
  CHECK_EQ(wt_lring_flush(&l->cmd), 1);
  CHECK_EQ(wt_lring_poll(&l->cmd, out, 8), 4);
  wt_waker_sleep_begin(&ks);
  CHECK_EQ(wt_lring_flush(&l->cmd), 0);
  CHECK_EQ(atomic_load(&ks.wakes), 2);
  CHECK_EQ(waker_drain(&ks), 1);
  wt_waker_sleep_end(&ks);
  wt_link_del(l); /* two messages still queued, no bufs */
  close(ks.efd);
  close(kw.efd);
}

/* wt_link_del drops the buf references of everything still queued, in both
 * rings and both overflow queues. */
static void test_del_releases(void) {
  wt_waker ks, kw;
  CHECK_FATAL(waker_init(&ks) == 0 && waker_init(&kw) == 0);
  wt_buf_pool *p;
  CHECK_FATAL(wt_buf_pool_new(&p, 256, 0) == 0);
  wt_link *l;
  CHECK_FATAL(wt_link_new(&l, 0, 0, 4, &ks, &kw) == 0);
  wt_buf *shared = wt_buf_alloc(p, 10);
  CHECK_FATAL(shared != NULL);
  int nbuf = 0;
  for (int dir = 0; dir < 2; dir++) {
    wt_lring *r = dir ? &l->cmd : &l->ev;
    for (int i = 0; i < 10; i++) { /* 4 in the ring, 6 in overflow */
      wt_msg m = msg_seq((uint64_t)i);
      if (i % 3 == 0) {
        m.buf = shared;
        wt_buf_ref(shared);
      } else if (i % 3 == 1) {
        m.buf = wt_buf_alloc(p, 100);
        CHECK_FATAL(m.buf != NULL);
        nbuf++;
      } /* else no buf */
      CHECK_EQ(wt_lring_post(r, &m), 0);
    }
    CHECK_EQ(r->st.overflow_now, 6);
  }
  /* consume one (a buf-less one would be nicer, but take whatever is
   * first: it carries `shared`) and drop its reference ourselves */
  wt_msg out;
  CHECK_EQ(wt_lring_poll(&l->ev, &out, 1), 1);
  CHECK(out.buf == shared);
  wt_buf_unref(out.buf);
  wt_buf_pool_stats s;
  wt_buf_pool_get_stats(p, &s);
  CHECK_EQ(s.live, (uint64_t)nbuf + 1);
  wt_link_del(l);
  wt_buf_pool_get_stats(p, &s);
  CHECK_EQ(s.live, 1); /* only ours */
  CHECK_EQ(atomic_load(&shared->refs), 1);
  wt_buf_unref(shared);
  wt_buf_pool_get_stats(p, &s);
  CHECK_EQ(s.live, 0);
  CHECK_EQ(s.frees_local, (uint64_t)nbuf + 1);
  wt_buf_pool_del(p);
  close(ks.efd);
  close(kw.efd);
}

/* ---- two threads, both directions ---- */

/* Reliable messages are stream credits (msg_seq); droppable ones are
 * stream opens: stream = their own sequence, id = UINT64_MAX (a marker). */
static wt_msg msg_drop(uint64_t seq) {
  return wt_msg_ev_stream_open(seq, 0, UINT64_MAX, 0);
}

typedef struct side {
  const char *name;
  wt_lring *out, *in; /* produce on out, consume in */
  wt_waker *self;     /* wakes us (the consumer of in) */
  struct side *peer;
  wt_buf_pool *pool;
  uint64_t n; /* reliable messages to send (and to receive) */
  uint64_t seed;
  double deadline;
  /* published by this side as producer of out: tail after each completed
   * flush (the lost-wake-up detector's evidence) */
  _Alignas(64) _Atomic uint32_t flushed_tail;
  /* results */
  _Alignas(64) uint64_t sent, recv, drop_sent, drop_refused, drop_recv;
  uint64_t order_errors, payload_errors, sleeps, wakeups, timeouts, spurious, lost_wakeups;
  uint64_t bursts_overflowed, bufs_sent, timed_out;
  uint64_t drop_got;
  uint32_t head_seen; /* in-ring index we consumed up to */
} side;

static uint64_t xs(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

static void consume(side *sd, const wt_msg *m) {
  uint64_t seq = 0;
  if (m->kind == WT_EV_STREAM_CREDIT) {
    const wt_ev_stream_credit *c = wt_msg_get_ev_stream_credit(m);
    seq = c->released;
    if (seq != sd->recv || c->stream != ~seq) {
      if (sd->order_errors++ < 5) {
        fprintf(stderr, "  %s: got seq %" PRIu64 ", want %" PRIu64 "\n", sd->name, seq, sd->recv);
      }
    }
    sd->recv = seq + 1;
  } else if (m->kind == WT_EV_STREAM_OPEN) {
    const wt_ev_stream_open *o = wt_msg_get_ev_stream_open(m);
    /* accepted droppable messages: strictly increasing (gaps are drops) */
    if (o->stream < sd->drop_recv) {
      sd->order_errors++;
    }
    sd->drop_recv = o->stream + 1;
    sd->drop_got++;
    sd->payload_errors += o->id != UINT64_MAX; /* marker */
  } else {
    sd->payload_errors++;
  }
  if (m->buf) {
    uint64_t v;
    memcpy(&v, m->buf->data, sizeof(v));
    sd->payload_errors += v != seq || m->buf->len != sizeof(v) || m->len != sizeof(v);
    wt_buf_unref(m->buf); /* foreign: goes home through the remote stack */
  }
}

static void *side_run(void *v) {
  side *sd = v;
  uint64_t *rs = &sd->seed;
  uint32_t cap = sd->out->mask + 1;
  wt_msg buf[96];
  uint64_t drop_seq = 0;
  int overflow_left = 0;
  uint64_t drop_accepted = 0;
  double idle_until = 0;       /* the producer has nothing to send until then */
  wt_buf_pool_adopt(sd->pool); /* created by the main thread, used here */
  for (;;) {
    int did = 0, posted = 0;
    double now = now_s();
    /* produce */
    if (sd->sent < sd->n && now >= idle_until) {
      uint64_t r = xs(rs);
      uint32_t burst;
      switch (r & 15) {
      case 0: /* a burst larger than the ring: overflow */
        burst = cap + (uint32_t)((r >> 8) % (2 * cap));
        sd->bursts_overflowed++;
        break;
      case 1:
      case 2:
      case 3: /* nothing to send for 1-200 us: both sides may sleep */
        burst = 0;
        idle_until = now + 1e-6 * (double)(1 + (r >> 8) % 200);
        break;
      default:
        burst = 1 + (uint32_t)((r >> 8) % 24);
        break;
      }
      if (sd->out->st.overflow_now >= 2 * cap) {
        burst = 0; /* what the real protocol does with credit: stop producing */
      }
      for (uint32_t i = 0; i < burst && sd->sent < sd->n; i++) {
        wt_msg m = msg_seq(sd->sent);
        if ((sd->sent & 15) == 5) {
          m.buf = wt_buf_alloc(sd->pool, sizeof(uint64_t));
          if (m.buf) {
            memcpy(m.buf->data, &sd->sent, sizeof(uint64_t));
            m.buf->len = m.len = sizeof(uint64_t);
            sd->bufs_sent++;
          }
        }
        if (wt_lring_post(sd->out, &m) != 0) {
          sd->payload_errors++; /* ENOMEM: not expected */
          if (m.buf) {
            wt_buf_unref(m.buf);
          }
          break;
        }
        sd->sent++;
        if ((r >> 40) % 8 == 0) { /* a droppable one in between */
          wt_msg dm = msg_drop(drop_seq++);
          sd->drop_sent++;
          if (wt_lring_post_or_drop(sd->out, &dm) == 0) {
            drop_accepted++;
          } else {
            sd->drop_refused++;
          }
        }
      }
      posted = burst > 0;
      did |= posted;
      if ((r >> 20) % 64 == 0) {
        /* a producer pause between posting and flushing */
        sched_yield();
      }
    }
    if (posted || overflow_left) {
      overflow_left = wt_lring_flush(sd->out);
      atomic_store_explicit(&sd->flushed_tail,
                            atomic_load_explicit(&sd->out->tail, memory_order_relaxed),
                            memory_order_release);
    }
    /* consume, random batch sizes */
    uint32_t want = 1 + (uint32_t)(xs(rs) % 96);
    uint32_t got = wt_lring_poll(sd->in, buf, want);
    for (uint32_t i = 0; i < got; i++) {
      consume(sd, &buf[i]);
    }
    sd->head_seen += got;
    did |= got > 0;
    if (sd->sent >= sd->n && !overflow_left && sd->recv >= sd->n) {
      break;
    }
    if ((sd->sent & 4095) == 0 || got) {
      wt_buf_pool_collect(sd->pool);
    }
    if (now > sd->deadline) {
      sd->timed_out = 1;
      break;
    }
    if (did) {
      continue;
    }
    if (overflow_left) {
      /* the ring is full, so the peer has work and will drain it; there is
       * no "room" wake-up in the protocol: come back soon */
      sched_yield();
      continue;
    }
    /* sleep with the real protocol */
    wt_waker_sleep_begin(sd->self);
    if (wt_lring_pending(sd->in)) {
      wt_waker_sleep_end(sd->self);
      continue;
    }
    sd->sleeps++;
    struct pollfd pfd = {.fd = sd->self->efd, .events = POLLIN};
    /* bounded: until the producer side has something again, else long */
    double wait = sd->sent < sd->n ? idle_until - now_s() : (SANITIZED ? 1.0 : 0.2);
    if (wait < 0) {
      wait = 0;
    }
    struct timespec to = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
    int pr = ppoll(&pfd, 1, &to, NULL);
    if (pr == 0) {
      sd->timeouts++;
      /* Lost wake-up: the peer completed a flush covering a message we
       * have not consumed (it was posted after our pre-sleep re-check,
       * since that saw nothing), yet nobody took our sleeping flag.
       * flushed_tail first: the peer stores it after its kick, so once we
       * see it the kick's exchange of our flag is visible too. Read the
       * other way round, a flush and kick landing between the two loads
       * looked like a lost wake-up (seen once under ASan). */
      uint32_t ft = atomic_load_explicit(&sd->peer->flushed_tail, memory_order_acquire);
      int still = atomic_load_explicit(&sd->self->sleeping, memory_order_seq_cst);
      if (still && (int32_t)(ft - sd->head_seen) > 0) {
        sd->lost_wakeups++;
        fprintf(stderr, "  %s: LOST WAKE-UP (peer flushed up to %u, we are at %u)\n", sd->name, ft,
                sd->head_seen);
      }
    } else if (pr > 0) {
      sd->wakeups++;
      if (!wt_lring_pending(sd->in)) {
        sd->spurious++; /* a kick for messages our re-check already saw */
      }
    }
    waker_drain(sd->self);
    wt_waker_sleep_end(sd->self);
  }
  /* the peer may still be consuming: make sure nothing waits in overflow */
  while (overflow_left && now_s() < sd->deadline) {
    overflow_left = wt_lring_flush(sd->out);
    sched_yield();
  }
  sd->drop_sent = drop_accepted; /* report accepted ones in drop_sent */
  return NULL;
}

static uint64_t stress_n(void) {
  const char *e = getenv("WTCAST_LINK_STRESS_N");
  if (e && *e) {
    return strtoull(e, NULL, 10);
  }
  return SANITIZED ? 1000000 : 2000000;
}

static void test_stress(void) {
  const uint64_t n = stress_n();
  wt_waker ks, kw;
  CHECK_FATAL(waker_init(&ks) == 0 && waker_init(&kw) == 0);
  wt_link *l;
  CHECK_FATAL(wt_link_new(&l, 1, 2, 256, &ks, &kw) == 0);
  side *sd = aligned_alloc(64, 2 * sizeof(side));
  CHECK_FATAL(sd != NULL);
  memset(sd, 0, 2 * sizeof(side));
  double t0 = now_s();
  for (int i = 0; i < 2; i++) {
    sd[i].name = i ? "worker" : "shard";
    sd[i].out = i ? &l->cmd : &l->ev;
    sd[i].in = i ? &l->ev : &l->cmd;
    sd[i].self = i ? &kw : &ks;
    sd[i].peer = &sd[1 - i];
    sd[i].n = n;
    sd[i].seed = 0x1234567u + (uint64_t)i * 0x9e3779b97f4a7c15ull;
    sd[i].deadline = t0 + (SANITIZED ? 200.0 : 120.0);
    atomic_init(&sd[i].flushed_tail, 0);
    CHECK_FATAL(wt_buf_pool_new(&sd[i].pool, 64, 512) == 0);
  }
  pthread_t t[2];
  for (int i = 0; i < 2; i++) {
    /* each pool's home is the thread that allocates from it */
    CHECK_FATAL(pthread_create(&t[i], NULL, side_run, &sd[i]) == 0);
  }
  for (int i = 0; i < 2; i++) {
    pthread_join(t[i], NULL);
  }
  double dt = now_s() - t0;
  for (int i = 0; i < 2; i++) {
    side *s = &sd[i];
    side *p = s->peer;
    wt_link_stats *st = &s->out->st;
    fprintf(stderr,
            "  %s: sent %" PRIu64 " (+%" PRIu64 " droppable accepted, %" PRIu64 " refused; %" PRIu64
            " overflowed, max %u queued, %" PRIu64 " bufs), recv %" PRIu64 ", sleeps %" PRIu64
            " (woken %" PRIu64 ", spurious %" PRIu64 ", timeouts %" PRIu64 ", lost %" PRIu64
            "), eventfd writes to it %" PRIu64 "\n",
            s->name, s->sent, s->drop_sent, s->drop_refused, st->overflowed, st->overflow_max,
            s->bufs_sent, s->recv, s->sleeps, s->wakeups, s->spurious, s->timeouts, s->lost_wakeups,
            (uint64_t)atomic_load(&s->self->wakes));
    CHECK_EQ(s->timed_out, 0);
    CHECK_EQ(s->sent, n);
    CHECK_EQ(s->recv, n);
    CHECK_EQ(s->order_errors, 0);
    CHECK_EQ(s->payload_errors, 0);
    CHECK_EQ(s->lost_wakeups, 0);
    CHECK_EQ(st->dropped, s->drop_refused);
    CHECK_EQ(st->posted, n + s->drop_sent);
    CHECK_EQ(st->overflow_now, 0);
    CHECK(n < 10000 || st->overflowed > 0); /* the bursts did overflow */
    CHECK_EQ(p->drop_got, s->drop_sent);    /* every accepted droppable arrived */
  }
  CHECK_EQ(wt_lring_pending(&l->ev), 0);
  CHECK_EQ(wt_lring_pending(&l->cmd), 0);
  for (int i = 0; i < 2; i++) {
    wt_buf_pool_collect(sd[i].pool); /* joined: the main thread may collect */
    wt_buf_pool_stats s;
    wt_buf_pool_get_stats(sd[i].pool, &s);
    CHECK_EQ(s.live, 0);
    CHECK_EQ(s.allocs, sd[i].bufs_sent);
    wt_buf_pool_del(sd[i].pool);
  }
  fprintf(stderr, "  stress: %" PRIu64 " messages each way in %.2fs\n", n, dt);
  wt_link_del(l);
  free(sd);
  close(ks.efd);
  close(kw.efd);
}

int main(void) {
  WT_RUN(test_msg);
  WT_RUN(test_params);
  WT_RUN(test_fifo_overflow);
  WT_RUN(test_wake);
  WT_RUN(test_del_releases);
  WT_RUN(test_stress);
  WT_DONE();
}
