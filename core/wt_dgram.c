/* wt_dgram.c: the datagram queues of a connection (wt_dgram.h). */
#define WT_LOG_MODULE "wt"
#include "wt_dgram.h"

#include <stdlib.h>
#include <string.h>

#include "wt_datagram.h"

static void dgram_node_free(wt_engine *e, wt_dgram *d) {
  if (d->pooled) {
    wt_pool_put(&e->dgram_pool, d);
  } else {
    free(d);
  }
}

void wt_dgram_free(wt_engine *e, wt_dgram *d) {
  if (d->is_ref && d->ref.release) {
    /* released at the end of the entry point; wt_relq_run then frees the
     * node (ref is its first member) or puts it back into ref.pool */
    d->ref.pool = d->pooled ? &e->dgram_pool : NULL;
    wt_relq_push(&e->relq, &d->ref);
    return;
  }
  dgram_node_free(e, d);
}

void wt_dgram_free_all(wt_conn *c) {
  for (wt_dgram *d = c->dq_head; d;) {
    wt_dgram *n = d->next;
    wt_dgram_free(c->e, d);
    d = n;
  }
  for (wt_dgram *d = c->bdg_head; d;) {
    wt_dgram *n = d->next;
    dgram_node_free(c->e, d);
    d = n;
  }
  c->dq_head = c->dq_tail = c->bdg_head = c->bdg_tail = NULL;
}

/* ------------------------------------------------------------ outgoing */

int wt_dgram_queue(wt_conn *c, uint64_t session_id, const uint8_t *data, size_t len, int is_ref,
                   wt_release_fn release, void *arg) {
  wt_engine *e = c->e;
  if (c->dq_len >= e->cfg.max_datagram_queue) {
    e->st.datagrams_dropped++;
    return WT_ERR_AGAIN;
  }
  if (c->is_server && wt_mem_level(e->cfg.mem) >= WT_MEM_NO_DGRAM) {
    /* memory pressure (wt_engine_config.mem): datagrams go first */
    e->st.datagrams_dropped++;
    e->st.mem_dgrams_dropped++;
    return WT_ERR_AGAIN;
  }
  size_t pl = wt_datagram_prefix_len(session_id);
  size_t copy = is_ref ? 0 : len;
  size_t need = sizeof(wt_dgram) + pl + copy;
  wt_dgram *d = NULL;
  if (is_ref && need <= WT_DGRAM_POOL_OBJ && e->cfg.dgram_pool_max > 0) {
    d = wt_pool_get(&e->dgram_pool); /* NULL at its bound: malloc below */
  }
  int pooled = d != NULL;
  if (d == NULL && (d = malloc(need)) == NULL) {
    e->st.datagrams_dropped++;
    return WT_ERR_NOMEM;
  }
  memset(d, 0, sizeof(*d));
  d->pooled = (uint8_t)pooled;
  e->st.dgram_nodes_pooled += (uint64_t)pooled;
  e->st.dgram_nodes_malloced += (uint64_t)!pooled;
  d->queued_at = e->now;
  d->session_id = session_id;
  d->len = pl + copy;
  wt_datagram_encode_prefix(d->data, pl, session_id);
  if (copy > 0) {
    memcpy(d->data + pl, data, copy);
  }
  if (is_ref) {
    d->is_ref = 1;
    d->ref.release = release;
    d->ref.arg = arg;
    d->ref.data = data;
    d->ref.len = len;
  }
  if (c->dq_tail) {
    c->dq_tail->next = d;
  } else {
    c->dq_head = d;
  }
  c->dq_tail = d;
  c->dq_len++;
  wt_ctx_mark_dirty(c);
  return 0;
}

void wt_dgram_drop_session(wt_conn *c, uint64_t session_id) {
  wt_dgram **pp = &c->dq_head;
  c->dq_tail = NULL;
  while (*pp) {
    wt_dgram *d = *pp;
    if (d->session_id == session_id) {
      *pp = d->next;
      c->dq_len--;
      c->e->st.datagrams_dropped++;
      wt_dgram_free(c->e, d);
    } else {
      c->dq_tail = d;
      pp = &d->next;
    }
  }
  c->dq_tries = 0;
}

/* Drop the head datagrams older than max_datagram_age_ns. */
static void dgram_expire(wt_conn *c) {
  wt_engine *e = c->e;
  uint64_t max_age = e->cfg.max_datagram_age_ns;
  while (max_age && c->dq_head && e->now > c->dq_head->queued_at &&
         e->now - c->dq_head->queued_at > max_age) {
    wt_dgram *d = c->dq_head;
    c->dq_head = d->next;
    if (c->dq_head == NULL) {
      c->dq_tail = NULL;
    }
    c->dq_len--;
    c->dq_tries = 0;
    e->st.datagrams_expired++;
    e->st.datagrams_dropped++;
    wt_dgram_free(e, d);
  }
}

int wt_dgram_write(wt_conn *c, ngtcp2_path_storage *ps, ngtcp2_pkt_info *pi, uint8_t *buf,
                   size_t cap, int *done, ngtcp2_ssize *nwrite) {
  dgram_expire(c);
  wt_dgram *d = c->dq_head;
  if (d == NULL) {
    *done = 1;
    return 0;
  }
  ngtcp2_vec v[2] = {{.base = d->data, .len = d->len}};
  size_t nv = 1;
  if (d->is_ref && d->ref.len > 0) {
    v[1].base = (uint8_t *)d->ref.data; /* read only */
    v[1].len = d->ref.len;
    nv = 2;
  }
  int accepted = 0;
  ngtcp2_ssize n =
      ngtcp2_conn_writev_datagram(c->qc, &ps->path, pi, buf, cap, &accepted,
                                  NGTCP2_WRITE_DATAGRAM_FLAG_MORE, 0, v, nv, c->e->now);
  int drop = accepted;
  if (accepted) {
    c->e->st.datagrams_out++;
    c->dq_tries = 0;
  }
  if (n == NGTCP2_ERR_INVALID_ARGUMENT) {
    drop = 1; /* larger than the peer's max_datagram_frame_size */
    c->e->st.datagrams_dropped++;
    n = NGTCP2_ERR_WRITE_MORE;
  } else if (n > 0 && !accepted) {
    /* Did not fit this packet; drop it if it never fits. */
    *done = 1;
    if (++c->dq_tries >= 3) {
      drop = 1;
      c->dq_tries = 0;
      c->e->st.datagrams_dropped++;
    }
  } else if (n == 0) {
    *done = 1;
  }
  if (drop) {
    c->dq_head = d->next;
    if (c->dq_head == NULL) {
      c->dq_tail = NULL;
    }
    c->dq_len--;
    /* Copied into the packet (or dropped): a referenced payload goes back
     * (RFC 9221 section 5: datagrams are never retransmitted). */
    wt_dgram_free(c->e, d);
  }
  if (n == NGTCP2_ERR_WRITE_MORE) {
    return 0;
  }
  if (n < 0) {
    return (int)n;
  }
  *nwrite = n;
  return 1;
}

/* ------------------------------------------------------------ held for a session */

void wt_dgram_buffer(wt_conn *c, uint64_t session_id, const uint8_t *data, size_t len) {
  wt_engine *e = c->e;
  if (c->n_buffered_dgrams >= e->cfg.max_buffered_datagrams) {
    e->st.datagrams_dropped++;
    return;
  }
  wt_dgram *d = malloc(sizeof(*d) + len);
  if (d == NULL) {
    e->st.datagrams_dropped++;
    return;
  }
  d->next = NULL;
  d->session_id = session_id;
  d->queued_at = e->now;
  d->is_ref = 0;
  d->pooled = 0;
  d->len = len;
  memcpy(d->data, data, len);
  if (c->bdg_tail) {
    c->bdg_tail->next = d;
  } else {
    c->bdg_head = d;
  }
  c->bdg_tail = d;
  c->n_buffered_dgrams++;
}

wt_dgram *wt_dgram_take_buffered(wt_conn *c, uint64_t session_id) {
  wt_dgram *prev = NULL;
  for (wt_dgram *d = c->bdg_head; d; prev = d, d = d->next) {
    if (d->session_id != session_id) {
      continue;
    }
    if (prev) {
      prev->next = d->next;
    } else {
      c->bdg_head = d->next;
    }
    if (c->bdg_tail == d) {
      c->bdg_tail = prev;
    }
    d->next = NULL;
    c->n_buffered_dgrams--;
    return d;
  }
  return NULL;
}

void wt_dgram_reject_buffered(wt_conn *c, uint64_t session_id) {
  wt_dgram **pp = &c->bdg_head;
  c->bdg_tail = NULL;
  while (*pp) {
    wt_dgram *d = *pp;
    if (d->session_id == session_id) {
      *pp = d->next;
      c->n_buffered_dgrams--;
      c->e->st.datagrams_dropped++;
      free(d);
    } else {
      c->bdg_tail = d;
      pp = &d->next;
    }
  }
}
