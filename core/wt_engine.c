/* wt_engine.c: the per-shard engine: configuration, the CID table, packet
 * dispatch (existing connection, new connection, stateless replies), the
 * dirty list that drives wt_engine_write, and the expiry heap. */
#define WT_LOG_MODULE "engine"
#include "wt_conn.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "wt_crypto.h"
#include "wt_initial.h"
#include "wt_log.h"
#include "wt_stream.h"

#define WT_MS  UINT64_C(1000000)
#define WT_SEC (1000 * WT_MS)

void wt_engine_config_default(wt_engine_config *c, int is_server) {
  memset(c, 0, sizeof(*c));
  c->is_server = is_server;
  c->shard_id = 0;
  c->n_shards = 1;
  c->scid_len = 16;
  c->max_sessions_per_conn = 16;
  c->wt_profile = is_server ? WT_PROFILE_COMPAT : WT_PROFILE_DRAFT02;
  c->wt_initial_max_data = 16u << 20;
  c->wt_initial_max_streams_bidi = 100;
  c->wt_initial_max_streams_uni = 100;
  c->wt_max_waiting_streams = 64;
  c->settings_wait_ns = 2 * WT_SEC;
  c->max_buffered_streams = 24; /* Chromium's limit (docs/protocol.md 4) */
  c->max_buffered_datagrams = 64;
  c->buffered_timeout_ns = 3 * WT_SEC;
  c->max_buffered_bytes = 1u << 20;
  c->max_conns = 100000;
  c->max_request_headers = 64;
  c->max_request_header_bytes = 16384;
  c->max_conns_per_ip = 1024; /* docs/operations.md "Limits": a NAT'd audience vs one host */
  c->handshake_timeout_ns = 10 * WT_SEC;
  c->idle_timeout_ns = 30 * WT_SEC;
  c->keep_alive_ns = is_server ? 0 : 15 * WT_SEC;
  c->initial_max_data = 16u << 20;
  c->initial_max_stream_data = 1u << 20;
  c->initial_max_streams_bidi = 100;
  c->initial_max_streams_uni = 100;
  c->stream_send_buffer = 1u << 20;
  c->max_udp_payload = 1452;
  c->max_datagram_queue = 256;
  c->dgram_pool_max = 4096;
  c->close_grace_ns = 200 * WT_MS;
  c->retry_mode = WT_RETRY_AUTO;
  c->retry_threshold = 256;
  c->native_crypto = 1;
  c->mem_over_grace_ns = 2 * WT_SEC;
  c->mem_close_interval_ns = 100 * WT_MS;
  c->mem_tick_ns = 50 * WT_MS;
}

int wt_engine_native_crypto_env(const char *value) {
  return !(value != NULL && strcmp(value, "0") == 0);
}

static int config_check(wt_engine_config *c) {
  if (c->scid_len == 0) {
    c->scid_len = 16;
  }
  if (c->n_shards == 0) {
    c->n_shards = 1;
  }
  if (c->qlb.enabled) {
    /* QUIC-LB: the CID length follows from the server ID and nonce; the
     * shard has the first byte's 5 low bits (docs/architecture.md). */
    if (!c->is_server || wt_qlb_check(&c->qlb, c->n_shards, NULL, 0) < 0) {
      return WT_ERR_CONFIG;
    }
    c->scid_len = wt_qlb_cid_len(&c->qlb);
  }
  if (c->scid_len < WT_CID_MINLEN || c->scid_len > WT_CID_MAXLEN || c->n_shards > 256 ||
      c->shard_id >= c->n_shards) {
    return WT_ERR_CONFIG;
  }
  if (c->max_udp_payload == 0) {
    c->max_udp_payload = 1452;
  }
  /* RFC 9000 section 14: at least 1200; our stateless buffers hold 1500. */
  if (c->max_udp_payload < 1200 || c->max_udp_payload > 1500) {
    return WT_ERR_CONFIG;
  }
  if (c->stream_send_buffer == 0) {
    c->stream_send_buffer = 1u << 20;
  }
  if (c->max_sessions_per_conn == 0) {
    c->max_sessions_per_conn = 16;
  }
  if (c->max_request_headers == 0) {
    c->max_request_headers = 64;
  }
  if (c->buffered_timeout_ns == 0) {
    c->buffered_timeout_ns = 3 * WT_SEC;
  }
  if (c->max_buffered_bytes == 0) {
    c->max_buffered_bytes = 1u << 20;
  }
  if (c->max_request_header_bytes == 0) {
    c->max_request_header_bytes = 16384;
  }
  if (c->wt_profile < WT_PROFILE_COMPAT || c->wt_profile > WT_PROFILE_DRAFT16) {
    return WT_ERR_CONFIG;
  }
  if (c->wt_max_data_window < c->wt_initial_max_data) {
    c->wt_max_data_window = c->wt_initial_max_data > UINT64_MAX / 4 ? c->wt_initial_max_data
                                                                    : 4 * c->wt_initial_max_data;
  }
  if (c->wt_max_waiting_streams == 0) {
    c->wt_max_waiting_streams = 64;
  }
  if (c->settings_wait_ns == 0) {
    c->settings_wait_ns = 2 * WT_SEC;
  }
  if (c->max_datagram_queue == 0) {
    c->max_datagram_queue = 256;
  }
  if (c->initial_max_stream_data == 0) {
    c->initial_max_stream_data = 1u << 20;
  }
  if (c->initial_max_data == 0) {
    c->initial_max_data = 16u << 20;
  }
  if (c->max_conns == 0) {
    c->max_conns = 100000;
  }
  if (c->max_conns_per_ip == 0) {
    c->max_conns_per_ip = 1024;
  }
  if (c->handshake_timeout_ns == 0) {
    c->handshake_timeout_ns = 10 * WT_SEC;
  }
  if (c->retry_mode < WT_RETRY_AUTO || c->retry_mode > WT_RETRY_NEVER) {
    return WT_ERR_CONFIG;
  }
  if (c->mem_over_grace_ns == 0) {
    c->mem_over_grace_ns = 2 * WT_SEC;
  }
  if (c->mem_close_interval_ns == 0) {
    c->mem_close_interval_ns = 100 * WT_MS;
  }
  if (c->mem_tick_ns == 0) {
    c->mem_tick_ns = 50 * WT_MS;
  }
  return 0;
}

/* ------------------------------------------------------------ heap */

static int heap_less(const wt_conn *a, const wt_conn *b) {
  return a->expiry < b->expiry;
}

static void heap_swap(wt_engine *e, size_t i, size_t j) {
  wt_conn *t = e->heap[i];
  e->heap[i] = e->heap[j];
  e->heap[j] = t;
  e->heap[i]->heap_idx = i;
  e->heap[j]->heap_idx = j;
}

static void heap_up(wt_engine *e, size_t i) {
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!heap_less(e->heap[i], e->heap[p])) {
      break;
    }
    heap_swap(e, i, p);
    i = p;
  }
}

static void heap_down(wt_engine *e, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < e->heap_n && heap_less(e->heap[l], e->heap[m])) {
      m = l;
    }
    if (r < e->heap_n && heap_less(e->heap[r], e->heap[m])) {
      m = r;
    }
    if (m == i) {
      break;
    }
    heap_swap(e, i, m);
    i = m;
  }
}

static void heap_remove(wt_engine *e, wt_conn *c) {
  size_t i = c->heap_idx;
  if (i == SIZE_MAX) {
    return;
  }
  c->heap_idx = SIZE_MAX;
  e->heap_n--;
  if (i != e->heap_n) {
    e->heap[i] = e->heap[e->heap_n];
    e->heap[i]->heap_idx = i;
    heap_down(e, i);
    heap_up(e, i);
  }
}

/* Re-key c by its current expiry (absent when it has none). */
static void heap_update(wt_engine *e, wt_conn *c) {
  uint64_t exp = wt_conn_expiry(c);
  if (exp == UINT64_MAX) {
    heap_remove(e, c);
    c->expiry = exp;
    return;
  }
  if (c->heap_idx == SIZE_MAX) {
    if (e->heap_n == e->heap_cap) {
      size_t ncap = e->heap_cap ? e->heap_cap * 2 : 64;
      wt_conn **nh = realloc(e->heap, ncap * sizeof(*nh));
      if (nh == NULL) {
        /* Cannot schedule it: close it rather than leak a timerless conn. */
        wt_conn_set_state(c, WT_CS_DEAD);
        e->st.errors_internal++;
        return;
      }
      e->heap = nh;
      e->heap_cap = ncap;
    }
    c->expiry = exp;
    c->heap_idx = e->heap_n;
    e->heap[e->heap_n++] = c;
    heap_up(e, c->heap_idx);
    return;
  }
  c->expiry = exp;
  heap_down(e, c->heap_idx);
  heap_up(e, c->heap_idx);
}

/* ------------------------------------------------------------ helpers */

/* Take c off the dirty list, the heap and the connection list. */
static void engine_conn_unlink(wt_engine *e, wt_conn *c) {
  if (c->dirty) {
    wt_list_del(&c->dirty_link);
    c->dirty = 0;
  }
  heap_remove(e, c);
  if (wt_list_linked(&c->all_link)) {
    wt_list_del(&c->all_link);
    e->n_conns--;
  }
  if (wt_list_linked(&c->client_link)) {
    wt_list_del(&c->client_link);
  }
}

/* ------------------------------------------------------------ per source */

/* The max_conns_per_ip key of a source address: an IPv4 address (also
 * IPv4-mapped IPv6) as 2^32 + address, an IPv6 address by its /64 prefix
 * (one host usually owns a /64); prefixes 0 and 1:xxxx (inside the reserved
 * ::/8) are moved out of the IPv4 range. 0: not counted (other families). */
static uint64_t ip_key(const wt_addr *a) {
  if (a->ss.ss_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)&a->ss;
    return (UINT64_C(1) << 32) | ntohl(in->sin_addr.s_addr);
  }
  if (a->ss.ss_family == AF_INET6) {
    const uint8_t *b = ((const struct sockaddr_in6 *)&a->ss)->sin6_addr.s6_addr;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(b, mapped, 12) == 0) {
      return (UINT64_C(1) << 32) | (uint64_t)b[12] << 24 | (uint64_t)b[13] << 16 |
             (uint64_t)b[14] << 8 | b[15];
    }
    uint64_t k = 0;
    for (int i = 0; i < 8; i++) {
      k = k << 8 | b[i];
    }
    return k >> 33 == 0 ? k | (UINT64_C(1) << 63) : k;
  }
  return 0;
}

static uintptr_t ip_count(const wt_engine *e, uint64_t key) {
  return key ? (uintptr_t)wt_hmap_get(&e->per_ip, key) : 0;
}

/* Count c for its source (c->ip_key set only if counted). */
static void ip_attach(wt_engine *e, wt_conn *c, uint64_t key) {
  if (key && wt_hmap_put(&e->per_ip, key, (void *)(ip_count(e, key) + 1)) == 0) {
    c->ip_key = key;
  }
}

/* ------------------------------------------------------------ memory budget */

/* One source address's memory account (max_ip_bytes): the connections
 * attributed to it, live or closing (their memory is held until they are
 * freed). */
struct wt_mem_src {
  wt_mem_acct acct;
  uint64_t key;
  uint32_t conns;
  uint64_t over_since; /* first seen over max_ip_bytes (0: not over) */
  wt_conn *costliest;  /* scratch of mem_tick */
};

static struct wt_mem_src *mem_src_get(const wt_engine *e, uint64_t key) {
  return key ? wt_hmap_get(&e->per_ip_mem, key) : NULL;
}

/* Attribute c's memory to its source (server; an allocation failure
 * leaves c unattributed: its own budget still applies). */
static void mem_attach(wt_engine *e, wt_conn *c, uint64_t key) {
  if (key == 0 || e->mem_next_tick == 0) {
    return;
  }
  struct wt_mem_src *s = mem_src_get(e, key);
  if (s == NULL) {
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
      return;
    }
    s->key = key;
    if (wt_hmap_put(&e->per_ip_mem, key, s) != 0) {
      free(s);
      return;
    }
  }
  s->conns++;
  s->acct.bytes += c->mem.bytes;
  c->mem.parent = &s->acct;
  c->mem_src = s;
}

void wt_engine_mem_detach(wt_conn *c) {
  struct wt_mem_src *s = c->mem_src;
  if (c->mem.bytes != 0) {
    /* every buffer of c is freed by now: an accounting slip */
    WT_LOG_ERROR("conn=%s freed holding %llu accounted bytes", CONN_ID(c),
                 (unsigned long long)c->mem.bytes);
  }
  if (s == NULL) {
    return;
  }
  s->acct.bytes = s->acct.bytes > c->mem.bytes ? s->acct.bytes - c->mem.bytes : 0;
  c->mem.parent = NULL;
  c->mem_src = NULL;
  if (--s->conns == 0) {
    wt_hmap_del(&c->e->per_ip_mem, s->key);
    free(s);
  }
}

static int mem_conn_over(const wt_engine *e, const wt_conn *c) {
  return e->cfg.max_conn_bytes && c->mem.bytes > e->cfg.max_conn_bytes;
}

static int mem_src_over(const wt_engine *e, const struct wt_mem_src *s) {
  return s && e->cfg.max_ip_bytes && s->acct.bytes > e->cfg.max_ip_bytes;
}

int wt_engine_mem_hold(const wt_conn *c) {
  const wt_engine *e = c->e;
  if (!c->is_server) {
    return 0;
  }
  return wt_mem_level(e->cfg.mem) >= WT_MEM_NO_CREDIT || mem_conn_over(e, c) ||
         mem_src_over(e, c->mem_src);
}

static uint64_t win_min(uint64_t a, uint64_t b) {
  return a < b ? a : b;
}

/* wt_engine.h "What a new server connection is granted"; the numbers and
 * why: docs/operations.md "The memory budget". */
void wt_engine_grant_windows(const wt_engine *e, wt_engine_windows *w) {
  const wt_engine_config *cfg = &e->cfg;
  w->conn_data = cfg->initial_max_data;
  w->stream_data = cfg->initial_max_stream_data;
  w->wt_data = cfg->wt_initial_max_data;
  w->wt_streams_bidi = cfg->wt_initial_max_streams_bidi;
  w->wt_streams_uni = cfg->wt_initial_max_streams_uni;
  const wt_mem_budget *b = cfg->mem;
  if (!cfg->is_server || b == NULL || b->max == 0) {
    return;
  }
  uint64_t min_stream = win_min(WT_WIN_MIN_STREAM, cfg->initial_max_stream_data);
  uint64_t min_conn = win_min(WT_WIN_MIN_CONN, cfg->initial_max_data);
  uint64_t conn;
  if (wt_mem_level(b) >= WT_MEM_NO_CREDIT) {
    conn = min_conn;
  } else {
    uint64_t limit = b->max / 1000 * b->thresh[WT_MEM_NO_CREDIT] +
                     b->max % 1000 * b->thresh[WT_MEM_NO_CREDIT] / 1000;
    uint64_t used = wt_mem_used(b);
    uint64_t room = limit > used ? limit - used : 0;
    uint64_t conns = ((uint64_t)e->n_conns + 1) * (cfg->n_shards ? cfg->n_shards : 1);
    conn = room / conns;
    conn = conn < min_conn ? min_conn : win_min(conn, cfg->initial_max_data);
  }
  w->conn_data = conn;
  /* half the connection's: one stream cannot take all of it */
  w->stream_data = win_min(cfg->initial_max_stream_data, conn / 2);
  if (w->stream_data < min_stream) {
    w->stream_data = win_min(min_stream, conn);
  }
  w->wt_data = win_min(w->wt_data, conn);
}

int wt_engine_mem_withhold(wt_conn *c) {
  if (!wt_engine_mem_hold(c)) {
    return 0;
  }
  if (!c->mem_holding) {
    c->mem_holding = 1; /* mem_tick repays when it ends */
    c->e->st.mem_credit_withheld++;
    wt_engine_mem_wake(c->e);
  }
  return 1;
}

static void mem_close(wt_conn *c, const char *reason) {
  WT_LOG_WARN("conn=%s closed: %s (%llu bytes held)", CONN_ID(c), reason,
              (unsigned long long)c->mem.bytes);
  wt_ctx_close_request_reason(c, WT_H3_EXCESSIVE_LOAD, reason);
}

static int mem_closable(const wt_conn *c) {
  return c->state < WT_CS_CLOSING && !c->close_req;
}

/* How much longer the budget check waits while nothing is under pressure:
 * the check visits every connection, so at rest it runs once a second
 * (100,000 connections: ~10^5 visits/s), under pressure every mem_tick_ns. */
#define WT_MEM_IDLE_TICKS 20

void wt_engine_mem_wake(wt_engine *e) {
  if (e->mem_next_tick != 0 && e->mem_next_tick > e->now + e->cfg.mem_tick_ns) {
    e->mem_next_tick = e->now + e->cfg.mem_tick_ns;
  }
}

/* The periodic budget check (while connections exist): credit owed to
 * connections no longer held back is granted, connections and sources past
 * their budget for mem_over_grace_ns are closed (a source: its costliest
 * connection, then a new grace), and at level CLOSE the costliest
 * connection of this engine is closed, one per mem_close_interval_ns.
 * O(connections) per check: every mem_tick_ns while a level, a withheld
 * credit or a budget is in play, else every WT_MEM_IDLE_TICKS of them. */
static void mem_tick(wt_engine *e) {
  if (e->mem_next_tick == 0 || e->now < e->mem_next_tick) {
    return;
  }
  int level = wt_mem_poll(e->cfg.mem, e->now);
  int busy = level > WT_MEM_NORMAL;
  uint64_t grace = e->cfg.mem_over_grace_ns;
  wt_conn *worst = NULL;
  int src_due = 0;
  for (wt_list_node *l = e->conns.next; l != &e->conns; l = l->next) {
    wt_conn *c = wt_container_of(l, wt_conn, all_link);
    if (!mem_closable(c)) {
      continue;
    }
    if (c->mem_holding && !wt_engine_mem_hold(c)) {
      c->mem_holding = 0;
      wt_stream_mem_repay(c);
      wt_h3_mem_repay(c);
      wt_session_fc_repay(c);
    }
    busy |= c->mem_holding;
    if (!mem_conn_over(e, c)) {
      c->mem_over_since = 0;
    } else {
      busy = 1;
      if (c->mem_over_since == 0) {
        c->mem_over_since = e->now;
      } else if (e->now - c->mem_over_since >= grace) {
        e->st.mem_conn_budget_closed++;
        mem_close(c, "memory budget: connection");
        continue;
      }
    }
    struct wt_mem_src *s = c->mem_src;
    if (s) {
      s->costliest = NULL;
      if (!mem_src_over(e, s)) {
        s->over_since = 0;
      } else {
        busy = 1;
        if (s->over_since == 0) {
          s->over_since = e->now;
        } else if (e->now - s->over_since >= grace) {
          src_due = 1;
        }
      }
    }
    if (worst == NULL || c->mem.bytes > worst->mem.bytes) {
      worst = c;
    }
  }
  if (src_due) {
    for (wt_list_node *l = e->conns.next; l != &e->conns; l = l->next) {
      wt_conn *c = wt_container_of(l, wt_conn, all_link);
      struct wt_mem_src *s = c->mem_src;
      if (s && mem_closable(c) && s->over_since && e->now - s->over_since >= grace &&
          (s->costliest == NULL || c->mem.bytes > s->costliest->mem.bytes)) {
        s->costliest = c;
      }
    }
    for (wt_list_node *l = e->conns.next; l != &e->conns; l = l->next) {
      wt_conn *c = wt_container_of(l, wt_conn, all_link);
      struct wt_mem_src *s = c->mem_src;
      if (s && s->costliest == c) {
        s->costliest = NULL;
        s->over_since = e->now; /* a new grace before the next one */
        e->st.mem_ip_budget_closed++;
        mem_close(c, "memory budget: address");
        if (worst == c) {
          worst = NULL;
        }
      }
    }
  }
  /* (the use itself, not only the level: the level stays up for the dwell
   * after the use fell, and every connection holds its library state; a
   * spike since the last close counts: wt_mem_close_due) */
  if (worst && worst->mem.bytes > 0 && mem_closable(worst) && e->now >= e->mem_next_close &&
      wt_mem_close_due(e->cfg.mem)) {
    e->mem_next_close = e->now + e->cfg.mem_close_interval_ns;
    e->st.mem_conns_closed++;
    mem_close(worst, "memory budget: process");
  }
  e->mem_next_tick = e->now + e->cfg.mem_tick_ns * (busy ? 1 : WT_MEM_IDLE_TICKS);
}

/* Free a dead connection (with app callbacks). */
static void conn_destroy(wt_engine *e, wt_conn *c) {
  wt_conn_set_state(c, WT_CS_DEAD); /* no more scheduling while the app is told */
  wt_ctx_ip_detach(c);
  engine_conn_unlink(e, c);
  e->st.conns_closed++;
  if (e->st.conns_active > 0) {
    e->st.conns_active--;
  }
  wt_conn_free(c, 1);
}

/* End of an engine operation on c: free garbage, then the conn if dead,
 * else reschedule its timer. */
static void conn_after(wt_engine *e, wt_conn *c) {
  wt_conn_apply_close(c);
  if (wt_conn_gc(c)) {
    conn_destroy(e, c);
    return;
  }
  heap_update(e, c);
  if (c->state == WT_CS_DEAD) {
    conn_destroy(e, c);
  }
}

static void conn_link(wt_engine *e, wt_conn *c) {
  wt_list_push(&e->conns, &c->all_link);
  if (!c->is_server) {
    wt_list_push(&e->clients, &c->client_link);
  }
  e->n_conns++;
  e->st.conns_active++;
}

/* ------------------------------------------------------------ lifecycle */

int wt_engine_new(wt_engine **out, const wt_engine_config *cfg, const wt_engine_callbacks *cb,
                  void *user, uint64_t now_ns) {
  if (out == NULL || cfg == NULL) {
    return WT_ERR_INVAL;
  }
  wt_engine *e = calloc(1, sizeof(*e));
  if (e == NULL) {
    return WT_ERR_NOMEM;
  }
  e->cfg = *cfg;
  if (cb) {
    e->cb = *cb;
  }
  e->user = user;
  e->now = now_ns;
  wt_list_init(&e->conns);
  wt_list_init(&e->clients);
  wt_list_init(&e->dirty);
  int rv = config_check(&e->cfg);
  if (rv < 0) {
    free(e);
    return rv;
  }
  /* The packet-protection self-test runs once, before any packet (and
   * before the TLS context asks which cipher suites it may offer). */
  (void)wt_crypto_init(cfg->native_crypto);
  rv = wt_tls_ctx_new(&e->tls, &e->cfg);
  if (rv == 0 && e->cfg.is_server &&
      (e->cfg.client_pin_sha256 || e->cfg.client_ca_file || e->cfg.client_insecure)) {
    /* client connections beside the server ones (wt_engine_connect) */
    wt_engine_config cc = e->cfg;
    cc.is_server = 0;
    cc.pin_sha256 = e->cfg.client_pin_sha256;
    cc.ca_file = e->cfg.client_ca_file;
    cc.insecure = e->cfg.client_insecure;
    rv = wt_tls_ctx_new(&e->tls_client, &cc);
    if (rv < 0) {
      wt_tls_ctx_del(e->tls);
    }
  }
  if (rv < 0) {
    free(e);
    return rv;
  }
  /* the keys of the tables whose keys a peer chooses: CIDs and source
   * addresses (secret, so the peer cannot make its keys collide) */
  wt_siphash_key cid_key = {0, 0}, ip_key_secret = {0, 0};
  if (cfg->static_secret) {
    memcpy(e->secret, cfg->static_secret, sizeof(e->secret));
  } else if (wt_ctx_rand(e, e->secret, sizeof(e->secret)) != 0) {
    rv = WT_ERR_CRYPTO;
  }
  if (rv == 0 && (wt_ctx_rand(e, (uint8_t *)&cid_key, sizeof(cid_key)) != 0 ||
                  wt_ctx_rand(e, (uint8_t *)&ip_key_secret, sizeof(ip_key_secret)) != 0)) {
    rv = WT_ERR_CRYPTO;
  }
  e->sl = calloc(WT_STATELESS_MAX, sizeof(*e->sl));
  if (rv == 0 && e->sl == NULL) {
    rv = WT_ERR_NOMEM;
  }
  e->cid_mask = WT_CID_SHARD_MASK;
  if (rv == 0 && e->cfg.qlb.enabled) {
    rv = wt_qlb_new(&e->qlb, &e->cfg.qlb);
    e->cid_mask = WT_QLB_LOW_MASK;
  }
  if (rv < 0) {
    free(e->sl);
    wt_tls_ctx_del(e->tls);
    wt_tls_ctx_del(e->tls_client);
    free(e);
    return rv;
  }
  wt_cid_table_init(&e->cids, &cid_key);
  wt_pool_init(&e->stream_pool, sizeof(wt_stream), 64, 0);
  wt_pool_init(&e->dgram_pool, WT_DGRAM_POOL_OBJ, 64, e->cfg.dgram_pool_max);
  wt_hmap_init_keyed(&e->per_ip, &ip_key_secret);
  wt_hmap_init_keyed(&e->per_ip_mem, &ip_key_secret);
  if (e->cfg.is_server && (e->cfg.mem || e->cfg.max_conn_bytes || e->cfg.max_ip_bytes)) {
    e->mem_next_tick = now_ns + e->cfg.mem_tick_ns;
  }
  *out = e;
  return 0;
}

int wt_engine_reload_cert(wt_engine *e, const char *cert_file, const char *key_file) {
  if (e == NULL || !e->cfg.is_server) {
    return WT_ERR_INVAL;
  }
  wt_engine_config c = e->cfg;
  if (cert_file) {
    c.cert_file = cert_file;
  }
  if (key_file) {
    c.key_file = key_file;
  }
  int rv = wt_tls_ctx_reload(e->tls, &c);
  if (rv < 0) {
    WT_LOG_ERROR("certificate reload failed (%s): still serving the previous certificate",
                 wt_err_str(rv));
    return rv;
  }
  e->cfg.cert_file = c.cert_file;
  e->cfg.key_file = c.key_file;
  return 0;
}

void wt_engine_del(wt_engine *e) {
  if (e == NULL) {
    return;
  }
  while (!wt_list_empty(&e->conns)) {
    wt_conn *c = wt_container_of(e->conns.next, wt_conn, all_link);
    engine_conn_unlink(e, c);
    wt_conn_free(c, 0);
  }
  wt_ctx_run_releases(e); /* referenced bytes go back to their owners */
  free(e->heap);
  free(e->sl);
  wt_pool_free(&e->stream_pool);
  wt_pool_free(&e->dgram_pool);
  wt_cid_table_free(&e->cids);
  wt_hmap_free(&e->per_ip);
  wt_hmap_free(&e->per_ip_mem); /* empty: each source left with its last connection */
  free(e->initial_buf);
  wt_qlb_del(e->qlb);
  wt_tls_ctx_del(e->tls);
  wt_tls_ctx_del(e->tls_client);
  free(e);
}

/* ------------------------------------------------------------ receive */

static wt_stateless_pkt *sl_slot(wt_engine *e, const wt_path *path) {
  if (e->sl_n >= WT_STATELESS_MAX) {
    return NULL; /* bounded: drop under load */
  }
  wt_stateless_pkt *p = &e->sl[e->sl_n];
  p->path.local = path->local;
  p->path.remote = path->remote;
  return p;
}

static void send_version_negotiation(wt_engine *e, const wt_path *path,
                                     const ngtcp2_version_cid *vc) {
  wt_stateless_pkt *p = sl_slot(e, path);
  uint8_t r = 0;
  if (p == NULL || wt_ctx_rand(e, &r, 1) != 0) {
    return;
  }
  const uint32_t sv[] = {NGTCP2_PROTO_VER_V1, NGTCP2_PROTO_VER_V2};
  /* RFC 9000 section 6.1: echo the client's CIDs swapped. */
  ngtcp2_ssize n = ngtcp2_pkt_write_version_negotiation(p->data, sizeof(p->data), r, vc->scid,
                                                        vc->scidlen, vc->dcid, vc->dcidlen, sv, 2);
  if (n > 0) {
    p->len = (size_t)n;
    e->sl_n++;
  }
}

/* Stateless resets: at most WT_SR_BURST at once, WT_SR_RATE per second on
 * average, per engine (RFC 9000 section 10.3: bounded, they cost us a
 * packet each and can be triggered by anyone). */
#define WT_SR_BURST 64
#define WT_SR_RATE  1000
/* RFC 9000 section 10.3: a reset is at least 21 bytes (1 + 4 unpredictable
 * + 16 token, ngtcp2 wants 5 random bytes incl. the first); we always send
 * fewer bytes than we got, so the smallest packet we answer is 22. */
#define WT_SR_MIN_REPLY                                                                            \
  (1 + NGTCP2_MIN_STATELESS_RESET_RANDLEN + NGTCP2_STATELESS_RESET_TOKENLEN - 1)
#define WT_SR_MIN_TRIGGER (WT_SR_MIN_REPLY + 1)
#define WT_SR_MAX_REPLY   64

static int sr_allow(wt_engine *e) {
  if (e->now >= e->sr_refill_at) {
    uint64_t add = (e->now - e->sr_refill_at) / (WT_SEC / WT_SR_RATE) + 1;
    uint64_t t = e->sr_tokens + add;
    e->sr_tokens = t > WT_SR_BURST ? WT_SR_BURST : (uint32_t)t;
    e->sr_refill_at = e->now + WT_SEC / WT_SR_RATE;
  }
  if (e->sr_tokens == 0) {
    return 0;
  }
  e->sr_tokens--;
  return 1;
}

static void send_stateless_reset(wt_engine *e, const wt_path *path, const uint8_t *dcid,
                                 size_t dcidlen, size_t pktlen) {
  /* Only for CIDs of this shard (others may belong to a sibling shard and
   * are forwarded, not reset). */
  if (pktlen < WT_SR_MIN_TRIGGER || dcidlen != e->cfg.scid_len ||
      wt_cid_shard(dcid, e->cfg.n_shards, e->cid_mask) != e->cfg.shard_id) {
    return;
  }
  wt_stateless_pkt *p = sl_slot(e, path);
  if (p == NULL || !sr_allow(e)) {
    return;
  }
  ngtcp2_stateless_reset_token token;
  uint8_t rnd[WT_SR_MAX_REPLY];
  ngtcp2_cid cid;
  ngtcp2_cid_init(&cid, dcid, dcidlen);
  /* RFC 9000 section 10.3.3: always smaller than the packet that triggered
   * it, so two endpoints cannot reset each other in a loop; the same
   * derivation as the tokens issued with our CIDs (wt_ctx_new_cid). */
  size_t len = pktlen - 1 < WT_SR_MAX_REPLY ? pktlen - 1 : WT_SR_MAX_REPLY;
  if (ngtcp2_crypto_generate_stateless_reset_token(token.data, e->secret, sizeof(e->secret),
                                                   &cid) != 0 ||
      wt_ctx_rand(e, rnd, sizeof(rnd)) != 0) {
    return;
  }
  ngtcp2_ssize n =
      ngtcp2_pkt_write_stateless_reset2(p->data, len, &token, rnd, len - sizeof(token.data));
  if (n > 0) {
    p->len = (size_t)n;
    e->sl_n++;
    e->st.stateless_resets_sent++;
  }
}

/* CONNECTION_CLOSE in an Initial without creating state: CONNECTION_REFUSED
 * (RFC 9000 section 5.2.2) or INVALID_TOKEN (section 8.1.3). */
static void send_refusal(wt_engine *e, const wt_path *path, const ngtcp2_pkt_hd *hd,
                         uint64_t code) {
  wt_stateless_pkt *p = sl_slot(e, path);
  if (p == NULL) {
    return;
  }
  ngtcp2_ssize n = ngtcp2_crypto_write_connection_close(p->data, sizeof(p->data), hd->version,
                                                        &hd->scid, &hd->dcid, code, NULL, 0);
  if (n > 0) {
    p->len = (size_t)n;
    e->sl_n++;
  }
}

#define WT_RETRY_TOKEN_TTL   (10 * WT_SEC)   /* a Retry token answers one Initial */
#define WT_REGULAR_TOKEN_TTL (3600 * WT_SEC) /* NEW_TOKEN tokens: one hour */

/* RFC 9000 section 8.1.2: Retry with a token bound to the client's address
 * and its original DCID; our new SCID follows the shard rule. */
static void send_retry(wt_engine *e, const wt_path *path, const ngtcp2_pkt_hd *hd) {
  wt_stateless_pkt *p = sl_slot(e, path);
  if (p == NULL) {
    return;
  }
  uint8_t scid[WT_CID_MAXLEN], token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN];
  if (wt_ctx_new_cid(e, scid, e->cfg.scid_len, NULL) != 0) {
    return;
  }
  ngtcp2_cid rscid;
  ngtcp2_cid_init(&rscid, scid, e->cfg.scid_len);
  ngtcp2_ssize tn = ngtcp2_crypto_generate_retry_token(
      token, e->secret, sizeof(e->secret), hd->version, (const ngtcp2_sockaddr *)&path->remote.ss,
      path->remote.len, &rscid, &hd->dcid, e->now);
  if (tn < 0) {
    return;
  }
  ngtcp2_ssize n = ngtcp2_crypto_write_retry(p->data, sizeof(p->data), hd->version, &hd->scid,
                                             &rscid, &hd->dcid, token, (size_t)tn);
  if (n > 0) {
    p->len = (size_t)n;
    e->sl_n++;
    e->st.retries_sent++;
  }
}

static int retry_wanted(const wt_engine *e) {
  switch (e->cfg.retry_mode) {
  case WT_RETRY_ALWAYS:
    return 1;
  case WT_RETRY_NEVER:
    return 0;
  default: /* WT_RETRY_AUTO */
    return e->n_handshaking >= e->cfg.retry_threshold;
  }
}

/* A client Initial for no connection of ours, before anything is allocated
 * or sent for it: 1 to go on, 0 dropped (counted, a rate-limited log line).
 * The DCID of a client's first Initial is at least 8 bytes (RFC 9000
 * section 7.2; after a Retry it is our SCID, also 8 to 20 bytes), and the packet
 * must decrypt with the keys that DCID gives (core/wt_initial.h): junk with
 * a well-formed header costs a key derivation and one AES-GCM open here
 * instead of a connection object. */
static int initial_acceptable(wt_engine *e, const uint8_t *pkt, size_t len,
                              const ngtcp2_pkt_hd *hd) {
  if (hd->dcid.datalen < WT_CID_MINLEN) {
    e->st.pkts_dropped++;
    e->st.initials_short_dcid++;
    WT_LOG_INFO_RL(5, "dropped a client Initial: DCID of %zu bytes (RFC 9000 7.2: at least 8)",
                   hd->dcid.datalen);
    return 0;
  }
  if (e->initial_cap < len) {
    uint8_t *b = realloc(e->initial_buf, len);
    if (b == NULL) {
      return 1; /* no scratch: ngtcp2 decides (a connection costs more anyway) */
    }
    e->initial_buf = b;
    e->initial_cap = len;
  }
  int rv = wt_initial_check(pkt, len, hd->version, hd->dcid.data, hd->dcid.datalen, e->initial_buf,
                            e->initial_cap);
  if (rv == WT_ERR_MALFORMED) {
    e->st.pkts_dropped++;
    e->st.initials_undecryptable++;
    WT_LOG_INFO_RL(5, "dropped a client Initial of %zu bytes: it does not decrypt (junk)", len);
    return 0;
  }
  return 1; /* 0, or the check could not run (version, wolfCrypt): ngtcp2 decides */
}

static void accept_conn(wt_engine *e, const wt_path *path, const uint8_t *pkt, size_t len,
                        uint8_t ecn) {
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, pkt, len) != 0 || hd.type != NGTCP2_PKT_INITIAL) {
    e->st.pkts_dropped++;
    return;
  }
  if (!initial_acceptable(e, pkt, len, &hd)) {
    return;
  }
  if (e->n_conns >= e->cfg.max_conns || e->shutting_down) {
    e->st.conns_refused++;
    send_refusal(e, path, &hd, NGTCP2_CONNECTION_REFUSED);
    return;
  }
  /* Address validation (RFC 9000 section 8.1). */
  ngtcp2_cid odcid;
  int retried = 0, token_type = NGTCP2_TOKEN_TYPE_UNKNOWN;
  const ngtcp2_sockaddr *ra = (const ngtcp2_sockaddr *)&path->remote.ss;
  if (hd.tokenlen > 0 && hd.token[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY) {
    if (ngtcp2_crypto_verify_retry_token(&odcid, hd.token, hd.tokenlen, e->secret,
                                         sizeof(e->secret), hd.version, ra, path->remote.len,
                                         &hd.dcid, WT_RETRY_TOKEN_TTL, e->now) != 0) {
      /* Section 8.1.3: the client will not accept another Retry; close
       * with INVALID_TOKEN rather than let it time out. */
      e->st.tokens_invalid++;
      send_refusal(e, path, &hd, NGTCP2_INVALID_TOKEN);
      return;
    }
    retried = 1;
    token_type = NGTCP2_TOKEN_TYPE_RETRY;
  } else if (hd.tokenlen > 0) {
    /* A NEW_TOKEN token (or garbage): if it does not validate, go on as if
     * there were none (section 8.1.3). */
    if (hd.token[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_REGULAR &&
        ngtcp2_crypto_verify_regular_token(hd.token, hd.tokenlen, e->secret, sizeof(e->secret), ra,
                                           path->remote.len, WT_REGULAR_TOKEN_TTL, e->now) == 0) {
      token_type = NGTCP2_TOKEN_TYPE_NEW_TOKEN;
    } else {
      e->st.tokens_invalid++;
    }
  }
  if (token_type == NGTCP2_TOKEN_TYPE_UNKNOWN && retry_wanted(e)) {
    send_retry(e, path, &hd);
    return;
  }
  if (token_type == NGTCP2_TOKEN_TYPE_UNKNOWN) {
    hd.token = NULL;
    hd.tokenlen = 0;
  }
  uint64_t key = ip_key(&path->remote);
  /* (polled here too: an engine without connections runs no budget check,
   * and only a poll lets the level fall) */
  if (wt_mem_level(e->cfg.mem) >= WT_MEM_REFUSE &&
      wt_mem_poll(e->cfg.mem, e->now) >= WT_MEM_REFUSE) {
    e->st.conns_refused++;
    e->st.mem_conns_refused++;
    send_refusal(e, path, &hd, NGTCP2_CONNECTION_REFUSED);
    return;
  }
  if (mem_src_over(e, mem_src_get(e, key))) {
    e->st.conns_refused++;
    e->st.mem_ip_refused++;
    send_refusal(e, path, &hd, NGTCP2_CONNECTION_REFUSED);
    return;
  }
  if (ip_count(e, key) >= e->cfg.max_conns_per_ip) {
    e->st.conns_refused++;
    e->st.conns_refused_per_ip++;
    send_refusal(e, path, &hd, NGTCP2_CONNECTION_REFUSED);
    return;
  }
  wt_conn *c = NULL;
  if (wt_conn_server_new(&c, e, path, &hd, retried ? &odcid : NULL, token_type) != 0) {
    e->st.pkts_dropped++;
    e->st.errors_internal++;
    return;
  }
  conn_link(e, c);
  ip_attach(e, c, key);
  mem_attach(e, c, key);
  e->st.conns_accepted++;
  wt_conn_recv(c, path, pkt, len, ecn);
  conn_after(e, c);
}

#define WT_SR_CLIENT_TRIES 16

/* client: a short-header packet for no CID of ours may be a stateless reset
 * (RFC 9000 section 10.3.1: its DCID is random). ngtcp2 checks the token
 * when a packet does not decrypt, so offer it to the connections on the
 * same path (a bounded few); it changes nothing for the others. Returns 1
 * if one of them was reset. */
static int client_stateless_reset(wt_engine *e, const wt_path *path, const uint8_t *pkt,
                                  size_t len) {
  int tries = 0;
  for (wt_list_node *l = e->clients.next; l != &e->clients && tries < WT_SR_CLIENT_TRIES;) {
    wt_conn *c = wt_container_of(l, wt_conn, client_link);
    l = l->next;
    if (c->state >= WT_CS_CLOSING || c->path.remote.len != path->remote.len ||
        memcmp(&c->path.remote.ss, &path->remote.ss, path->remote.len) != 0) {
      continue;
    }
    tries++;
    wt_conn_recv(c, &c->path, pkt, len, 0);
    int reset = c->stateless_reset;
    conn_after(e, c); /* may free c */
    if (reset) {
      return 1;
    }
  }
  return 0;
}

static void engine_recv(wt_engine *e, const wt_path *path, const uint8_t *pkt, size_t len,
                        uint8_t ecn);

int wt_engine_recv(wt_engine *e, const wt_path *path, const uint8_t *pkt, size_t len, uint8_t ecn,
                   uint64_t now_ns) {
  e->now = now_ns;
  engine_recv(e, path, pkt, len, ecn);
  wt_ctx_run_releases(e);
  return 0;
}

static void engine_recv(wt_engine *e, const wt_path *path, const uint8_t *pkt, size_t len,
                        uint8_t ecn) {
  e->st.pkts_in++;
  e->st.bytes_in += len;
  if (len == 0) {
    /* ngtcp2_pkt_decode_version_cid asserts a non-empty packet, and an empty
     * UDP datagram is legal on the wire (found by fuzz_engine_server). */
    e->st.pkts_dropped++;
    return;
  }
  ngtcp2_version_cid vc;
  int rv = ngtcp2_pkt_decode_version_cid(&vc, pkt, len, e->cfg.scid_len);
  if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
    if (e->cfg.is_server) {
      send_version_negotiation(e, path, &vc);
    }
    return;
  }
  if (rv != 0) {
    e->st.pkts_dropped++;
    return;
  }
  wt_conn *c = wt_cid_table_lookup(&e->cids, vc.dcid, vc.dcidlen);
  if (c) {
    wt_conn_recv(c, path, pkt, len, ecn);
    conn_after(e, c);
    return;
  }
  if (!e->cfg.is_server) {
    if (!(pkt[0] & 0x80) && len >= WT_SR_MIN_REPLY && client_stateless_reset(e, path, pkt, len)) {
      return;
    }
    e->st.pkts_dropped++;
    return;
  }
  if (pkt[0] & 0x80) {
    accept_conn(e, path, pkt, len, ecn);
  } else if (!wt_list_empty(&e->clients) && len >= WT_SR_MIN_REPLY &&
             client_stateless_reset(e, path, pkt, len)) {
    /* a server engine's client connection (an upstream session) whose
     * server lost it, e.g. restarted: told at once, not at the idle timeout */
    return;
  } else {
    e->st.pkts_dropped++;
    send_stateless_reset(e, path, vc.dcid, vc.dcidlen, len);
  }
  return;
}

/* ------------------------------------------------------------ write */

int wt_engine_write(wt_engine *e, wt_tx_batch *out, uint64_t now_ns) {
  if (out == NULL || out->buf == NULL || out->ents == NULL) {
    return WT_ERR_INVAL;
  }
  e->now = now_ns;
  size_t n0 = out->n;
  size_t mtu = e->cfg.max_udp_payload;
  size_t done = 0;
  while (done < e->sl_n && out->n < out->max && out->cap - out->used >= e->sl[done].len) {
    wt_stateless_pkt *p = &e->sl[done++];
    wt_tx_entry *ent = &out->ents[out->n++];
    memcpy(out->buf + out->used, p->data, p->len);
    ent->data = out->buf + out->used;
    ent->len = ent->segsize = p->len;
    ent->path = p->path;
    ent->ecn = 0;
    out->used += p->len;
    e->st.pkts_out++;
    e->st.bytes_out += p->len;
  }
  if (done > 0) {
    memmove(e->sl, e->sl + done, (e->sl_n - done) * sizeof(*e->sl));
    e->sl_n -= done;
  }
  /* Only connections with something to do (docs/architecture.md: bounded work,
   * no scan of every connection). */
  wt_list_node retry;
  wt_list_init(&retry);
  while (!wt_list_empty(&e->dirty)) {
    if (out->n >= out->max || out->cap - out->used < mtu) {
      break;
    }
    wt_conn *c = wt_container_of(e->dirty.next, wt_conn, dirty_link);
    wt_list_del(&c->dirty_link);
    c->dirty = 0;
    size_t before = out->n;
    int more = wt_conn_write(c, out);
    if (wt_conn_gc(c) || c->state == WT_CS_DEAD) {
      conn_destroy(e, c);
      continue;
    }
    if (more && out->n > before && !c->dirty) {
      c->dirty = 1;
      wt_list_push(&retry, &c->dirty_link);
    }
    heap_update(e, c);
  }
  /* Connections that still had output go last, after the others. */
  while (!wt_list_empty(&retry)) {
    wt_list_node *l = retry.next;
    wt_list_del(l);
    wt_list_push(&e->dirty, l);
  }
  wt_ctx_run_releases(e);
  return (int)(out->n - n0);
}

/* ------------------------------------------------------------ timers */

uint64_t wt_engine_next_expiry(const wt_engine *e) {
  /* Pending output is due now: wt_engine_write will take it. */
  if (e->sl_n > 0 || !wt_list_empty(&e->dirty)) {
    return e->now;
  }
  uint64_t t = e->heap_n > 0 ? e->heap[0]->expiry : UINT64_MAX;
  /* the memory budget check (mem_tick); also with no connection left
   * while the level is up: only a poll lets it fall, and the last
   * connections' memory (their library state) is given back when they are
   * freed, after their last check */
  if (e->mem_next_tick != 0 && (e->n_conns > 0 || wt_mem_level(e->cfg.mem) > WT_MEM_NORMAL) &&
      e->mem_next_tick < t) {
    t = e->mem_next_tick;
  }
  return t;
}

void wt_engine_set_now(wt_engine *e, uint64_t now_ns) {
  if (now_ns > e->now) {
    e->now = now_ns;
  }
}

int wt_engine_handle_expiry(wt_engine *e, uint64_t now_ns) {
  e->now = now_ns;
  size_t limit = e->heap_n;
  for (size_t k = 0; k < limit && e->heap_n > 0 && e->heap[0]->expiry <= now_ns; k++) {
    wt_conn *c = e->heap[0];
    heap_remove(e, c);
    wt_conn_handle_expiry(c);
    conn_after(e, c);
  }
  mem_tick(e);
  wt_ctx_run_releases(e);
  return 0;
}

void wt_engine_shutdown(wt_engine *e, uint64_t now_ns) {
  e->now = now_ns;
  e->shutting_down = 1;
  for (wt_list_node *l = e->conns.next; l != &e->conns;) {
    wt_conn *c = wt_container_of(l, wt_conn, all_link);
    l = l->next;
    if (c->state != WT_CS_OPEN) {
      continue;
    }
    wt_h3_shutdown(c);
    for (wt_list_node *sl = c->sessions.next; sl != &c->sessions; sl = sl->next) {
      wt_session *s = wt_container_of(sl, wt_session, link);
      if (s->state == WT_SS_OPEN) {
        wt_session_drain(s); /* draft-ietf-webtrans-http3 section 4.7 */
      }
    }
    /* CONNECTs the app has not answered yet: 503 (the app hears
     * session_close). Rescan after each: the callback may change the list. */
    for (uint32_t guard = c->n_pending_sessions; guard > 0 && c->n_pending_sessions > 0; guard--) {
      for (wt_list_node *sl = c->sessions.next; sl != &c->sessions; sl = sl->next) {
        wt_session *s = wt_container_of(sl, wt_session, link);
        if (s->deferred) {
          wt_session_pending_end(s, 503, 0);
          break;
        }
      }
    }
  }
  wt_ctx_run_releases(e);
}

void wt_engine_close_all(wt_engine *e, uint64_t now_ns) {
  e->now = now_ns;
  for (wt_list_node *l = e->conns.next; l != &e->conns;) {
    wt_conn *c = wt_container_of(l, wt_conn, all_link);
    l = l->next;
    if (c->state < WT_CS_CLOSING) {
      wt_ctx_close_request(c, WT_H3_NO_ERROR);
    }
    conn_after(e, c);
  }
  wt_ctx_run_releases(e);
}

size_t wt_engine_conn_count(const wt_engine *e) {
  return e->n_conns;
}

const wt_engine_stats *wt_engine_get_stats(const wt_engine *e) {
  return &e->st;
}

/* ------------------------------------------------------------ client */

int wt_engine_connect(wt_engine *e, const wt_path *path, const char *server_name, uint64_t now_ns,
                      wt_conn **out) {
  if (e->cfg.is_server && e->tls_client == NULL) {
    return WT_ERR_STATE; /* no client trust configured */
  }
  if (path == NULL) {
    return WT_ERR_INVAL;
  }
  e->now = now_ns;
  wt_conn *c = NULL;
  int rv = wt_conn_client_new(&c, e, path, server_name);
  if (rv < 0) {
    return rv;
  }
  conn_link(e, c);
  wt_ctx_mark_dirty(c);
  heap_update(e, c);
  if (out) {
    *out = c;
  }
  return 0;
}
