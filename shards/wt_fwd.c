/* wt_fwd.c: cross-shard forwarding rings (see wt_fwd.h). */
#define WT_LOG_MODULE "fwd"
#include "wt_fwd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wt_error.h"
#include "wt_log.h"
#include "wt_spsc.h"
#include "wt_steer.h"

struct wt_fwd {
  uint32_t n, cap;
  wt_spsc *fwd; /* [src * n + dst] */
  wt_spsc *ret; /* [src * n + dst]: buffers of src coming home from dst */
  int *wake_fd; /* [n] */
};

static uint32_t fwd_default_cap(uint32_t n) {
  uint32_t cap = 1024;
  while (cap > 64 && (uint64_t)cap * n > 8192) {
    cap >>= 1;
  }
  return cap;
}

static void fwd_rings_free(wt_spsc *r, uint32_t n) {
  if (!r) {
    return;
  }
  for (uint32_t i = 0; i < n * n; i++) {
    wt_spsc_free(&r[i]);
  }
  free(r);
}

static wt_spsc *fwd_rings_new(uint32_t n, uint32_t cap) {
  size_t bytes = (size_t)n * n * sizeof(wt_spsc);
  wt_spsc *r = aligned_alloc(WT_SPSC_CACHELINE, bytes);
  if (!r) {
    return NULL;
  }
  memset(r, 0, bytes);
  for (uint32_t s = 0; s < n; s++) {
    for (uint32_t d = 0; d < n; d++) {
      if (s != d && wt_spsc_init(&r[s * n + d], cap) < 0) {
        fwd_rings_free(r, n);
        return NULL;
      }
    }
  }
  return r;
}

int wt_fwd_new(wt_fwd **out, uint32_t n, uint32_t ring_cap) {
  if (!out || n < 2 || n > WT_STEER_MAX_SHARDS ||
      (ring_cap && (ring_cap < 2 || (ring_cap & (ring_cap - 1))))) {
    return WT_ERR_INVAL;
  }
  *out = NULL;
  wt_fwd *f = calloc(1, sizeof(*f));
  if (!f) {
    return WT_ERR_NOMEM;
  }
  f->n = n;
  f->cap = ring_cap ? ring_cap : fwd_default_cap(n);
  f->fwd = fwd_rings_new(n, f->cap);
  f->ret = fwd_rings_new(n, f->cap);
  f->wake_fd = malloc(n * sizeof(int));
  if (!f->fwd || !f->ret || !f->wake_fd) {
    wt_fwd_del(f);
    return WT_ERR_NOMEM;
  }
  for (uint32_t i = 0; i < n; i++) {
    f->wake_fd[i] = -1;
  }
  *out = f;
  return 0;
}

void wt_fwd_del(wt_fwd *f) {
  if (!f) {
    return;
  }
  fwd_rings_free(f->fwd, f->n);
  fwd_rings_free(f->ret, f->n);
  free(f->wake_fd);
  free(f);
}

void wt_fwd_set_wake_fd(wt_fwd *f, uint32_t shard, int fd) {
  if (f && shard < f->n) {
    f->wake_fd[shard] = fd;
  }
}

uint32_t wt_fwd_shards(const wt_fwd *f) {
  return f->n;
}

uint32_t wt_fwd_ring_capacity(const wt_fwd *f) {
  return f->cap;
}

int wt_fwd_port_init(wt_fwd_port *p, wt_fwd *mesh, uint32_t self) {
  if (!p || !mesh || self >= mesh->n) {
    return WT_ERR_INVAL;
  }
  memset(p, 0, sizeof(*p));
  p->mesh = mesh;
  p->self = self;
  p->n = mesh->n;
  p->inflight = calloc(p->n, sizeof(uint32_t));
  p->pending = calloc(p->n, 1);
  int rv = wt_pool_init(&p->pool, sizeof(wt_fwd_pkt), 64, (size_t)mesh->cap * (p->n - 1));
  if (!p->inflight || !p->pending || rv < 0) {
    wt_fwd_port_free(p);
    return rv < 0 ? rv : WT_ERR_NOMEM;
  }
  return 0;
}

void wt_fwd_port_free(wt_fwd_port *p) {
  if (!p) {
    return;
  }
  wt_pool_free(&p->pool);
  free(p->inflight);
  free(p->pending);
  p->inflight = NULL;
  p->pending = NULL;
  p->mesh = NULL;
}

int wt_fwd_send(wt_fwd_port *p, uint32_t dst, const uint8_t *data, size_t len,
                const wt_io_addr *local, const wt_io_addr *peer, uint8_t ecn) {
  if (dst >= p->n || dst == p->self) {
    p->stats.forward_drops++;
    return WT_ERR_INVAL;
  }
  if (len > WT_FWD_MAX_PAYLOAD) {
    p->stats.forward_drops++;
    return WT_ERR_RANGE;
  }
  wt_fwd *f = p->mesh;
  if (p->inflight[dst] >= f->cap) {
    wt_fwd_reclaim(p); /* some may have come home since the last turn */
    if (p->inflight[dst] >= f->cap) {
      p->stats.forward_drops++;
      return WT_ERR_AGAIN;
    }
  }
  wt_fwd_pkt *pkt = wt_pool_get(&p->pool);
  if (!pkt) {
    p->stats.forward_drops++;
    return WT_ERR_NOMEM;
  }
  pkt->src = p->self;
  pkt->len = (uint32_t)len;
  pkt->ecn = ecn;
  pkt->local = *local;
  pkt->peer = *peer;
  memcpy(pkt->data, data, len);
  /* Cannot fail: at most cap buffers are in flight to dst, and the ring
   * holds a subset of them. */
  if (wt_spsc_enqueue(&f->fwd[p->self * p->n + dst], pkt) < 0) {
    wt_pool_put(&p->pool, pkt);
    p->stats.forward_drops++;
    return WT_ERR_AGAIN;
  }
  p->inflight[dst]++;
  p->total_out++;
  p->pending[dst] = 1;
  p->stats.forwarded_out++;
  return 0;
}

unsigned wt_fwd_flush(wt_fwd_port *p) {
  unsigned woken = 0;
  for (uint32_t d = 0; d < p->n; d++) {
    if (!p->pending[d]) {
      continue;
    }
    p->pending[d] = 0;
    int fd = p->mesh->wake_fd[d];
    if (fd < 0) {
      continue;
    }
    uint64_t one = 1;
    /* EAGAIN means the counter is saturated: the shard is awake anyway */
    if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
      WT_LOG_WARN("wake-up of shard %u: %s", d, strerror(errno));
    }
    woken++;
  }
  return woken;
}

unsigned wt_fwd_poll(wt_fwd_port *p, wt_fwd_deliver_fn fn, void *user, unsigned max) {
  wt_fwd *f = p->mesh;
  unsigned done = 0;
  void *items[WT_FWD_POLL_BURST];
  for (uint32_t k = 0; k < p->n && done < max; k++) {
    uint32_t s = (p->next_src + k) % p->n;
    if (s == p->self) {
      continue;
    }
    wt_spsc *in = &f->fwd[s * p->n + p->self];
    unsigned want = max - done < WT_FWD_POLL_BURST ? max - done : WT_FWD_POLL_BURST;
    uint32_t got = wt_spsc_dequeue_burst(in, items, want);
    for (uint32_t i = 0; i < got; i++) {
      fn(user, (const wt_fwd_pkt *)items[i]);
    }
    if (got) {
      /* Cannot fall short: the source keeps at most cap buffers out to us. */
      uint32_t back = wt_spsc_enqueue_burst(&f->ret[s * p->n + p->self], items, got);
      if (back != got) {
        WT_LOG_ERROR("return ring %u->%u full: %u buffer(s) stranded", p->self, s, got - back);
      }
      p->stats.forwarded_in += got;
      done += got;
    }
  }
  p->next_src = (p->next_src + 1) % p->n;
  return done;
}

unsigned wt_fwd_reclaim(wt_fwd_port *p) {
  if (p->total_out == 0) {
    return 0;
  }
  wt_fwd *f = p->mesh;
  unsigned n = 0;
  void *items[WT_FWD_POLL_BURST];
  for (uint32_t d = 0; d < p->n; d++) {
    if (p->inflight[d] == 0) {
      continue;
    }
    uint32_t got;
    while ((got = wt_spsc_dequeue_burst(&f->ret[p->self * p->n + d], items, WT_FWD_POLL_BURST)) >
           0) {
      for (uint32_t i = 0; i < got; i++) {
        wt_pool_put(&p->pool, items[i]);
      }
      p->inflight[d] -= got;
      p->total_out -= got;
      n += got;
    }
  }
  return n;
}
