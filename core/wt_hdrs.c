/* wt_hdrs.c: header fields of a CONNECT exchange and protocol negotiation
 * (see wt_hdrs.h). */
#include "wt_hdrs.h"

#include <stdlib.h>
#include <string.h>

#include "wt_hfield.h"
#include "wt_session.h"
#include "wt_sf.h"

void wt_hdrs_init(wt_hdrs *h) {
  memset(h, 0, sizeof(*h));
}

void wt_hdrs_free(wt_hdrs *h) {
  free(h->in);
  free(h->view);
  free(h->proto_buf);
  free(h->protos);
  free(h->protocol);
  free(h->protocol_sf);
  free(h->out);
  wt_hdrs_init(h);
}

/* Append name \0 value \0 to *buf. */
static int append_pair(char **buf, size_t *len, size_t *cap, const void *name, size_t nlen,
                       const void *value, size_t vlen) {
  size_t need = nlen + vlen + 2;
  if (*cap - *len < need) {
    size_t ncap = *cap ? *cap : 256;
    while (ncap - *len < need) {
      ncap *= 2;
    }
    char *nb = realloc(*buf, ncap);
    if (nb == NULL) {
      return WT_ERR_NOMEM;
    }
    *buf = nb;
    *cap = ncap;
  }
  char *p = *buf + *len;
  memcpy(p, name, nlen);
  p[nlen] = '\0';
  if (vlen) {
    memcpy(p + nlen + 1, value, vlen);
  }
  p[nlen + 1 + vlen] = '\0';
  *len += need;
  return 0;
}

int wt_hdrs_recv(wt_hdrs *h, const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen,
                 uint32_t max_fields, size_t max_bytes) {
  if (h->overflow) {
    return WT_ERR_LIMIT;
  }
  size_t cost = nlen + vlen + 2;
  if (h->n_counted + 1 > max_fields || cost > max_bytes - h->counted || cost > max_bytes) {
    h->overflow = 1;
    return WT_ERR_LIMIT;
  }
  h->n_counted++;
  h->counted += cost;
  if (nlen > 0 && name[0] == ':') {
    return 0; /* pseudo-headers: the session keeps the ones it needs */
  }
  if ((vlen > 0 && memchr(value, 0, vlen) != NULL) || memchr(name, 0, nlen) != NULL) {
    return 0; /* nghttp3 refuses these already; never kept as truncated strings */
  }
  if (append_pair(&h->in, &h->in_len, &h->in_cap, name, nlen, value, vlen) != 0) {
    h->overflow = 1;
    return WT_ERR_NOMEM;
  }
  h->n_in++;
  return 0;
}

const char *wt_hdrs_get(const wt_hdrs *h, const char *name) {
  const char *p = h->in;
  for (uint32_t i = 0; i < h->n_in; i++) {
    const char *v = p + strlen(p) + 1;
    if (strcmp(p, name) == 0) {
      return v;
    }
    p = v + strlen(v) + 1;
  }
  return NULL;
}

/* The offered List (every field line of the name joined with ", "). */
static int parse_offer(wt_hdrs *h) {
  size_t total = 0;
  const char *p = h->in;
  for (uint32_t i = 0; i < h->n_in; i++) {
    const char *v = p + strlen(p) + 1;
    if (strcmp(p, "wt-available-protocols") == 0) {
      total += strlen(v) + 2;
      h->protos_present = 1;
    }
    p = v + strlen(v) + 1;
  }
  if (!h->protos_present) {
    return 0;
  }
  char *joined = malloc(total + 1);
  uint8_t *bytes = malloc(total + 1);
  if (joined == NULL || bytes == NULL) {
    free(joined);
    free(bytes);
    return WT_ERR_NOMEM;
  }
  size_t jl = 0;
  p = h->in;
  for (uint32_t i = 0; i < h->n_in; i++) {
    const char *v = p + strlen(p) + 1;
    if (strcmp(p, "wt-available-protocols") == 0) {
      if (jl) {
        memcpy(joined + jl, ", ", 2);
        jl += 2;
      }
      memcpy(joined + jl, v, strlen(v));
      jl += strlen(v);
    }
    p = v + strlen(v) + 1;
  }
  wt_sf_member mem[WT_HDRS_PROTOCOLS_MAX];
  wt_sf_param params[WT_HDRS_PROTOCOLS_MAX];
  wt_sf_arena a;
  wt_sf_arena_init(&a, mem, WT_HDRS_PROTOCOLS_MAX, NULL, 0, params, WT_HDRS_PROTOCOLS_MAX, bytes,
                   total + 1);
  a.max_string = WT_HDRS_PROTOCOL_LEN_MAX;
  int rv = wt_sf_parse_list(&a, (const uint8_t *)joined, jl);
  int ok = rv == 0 && wt_sf_list_is_strings(&a);
  free(joined);
  if (!ok) {
    /* malformed, non-String members or past the bounds: as if absent */
    free(bytes);
    h->protos_malformed = 1;
    return 0;
  }
  /* keep the strings NUL-terminated: a->n_bytes + one NUL each */
  h->proto_buf = malloc(a.n_bytes + a.n_members + 1);
  h->protos = calloc(a.n_members ? a.n_members : 1, sizeof(*h->protos));
  if (h->proto_buf == NULL || h->protos == NULL) {
    free(bytes);
    return WT_ERR_NOMEM;
  }
  char *q = h->proto_buf;
  for (uint32_t i = 0; i < a.n_members; i++) {
    const wt_sf_bare *b = &mem[i].item.bare;
    memcpy(q, b->data, b->len);
    q[b->len] = '\0';
    h->protos[i] = q;
    q += b->len + 1;
  }
  h->n_protos = a.n_members;
  free(bytes);
  return 0;
}

/* Client: the server's WT-Protocol, accepted when it is a String we offered. */
static int parse_choice(wt_hdrs *h) {
  const char *v = wt_hdrs_get(h, "wt-protocol");
  if (v == NULL) {
    return 0;
  }
  size_t len = strlen(v);
  uint8_t bytes[WT_HDRS_PROTOCOL_LEN_MAX + 1];
  wt_sf_param params[4];
  wt_sf_arena a;
  wt_sf_arena_init(&a, NULL, 0, NULL, 0, params, 4, bytes, sizeof(bytes));
  a.max_input = 4 * WT_HDRS_PROTOCOL_LEN_MAX;
  a.max_string = WT_HDRS_PROTOCOL_LEN_MAX;
  wt_sf_item it;
  if (wt_sf_parse_item(&a, (const uint8_t *)v, len, &it) != 0 || it.bare.type != WT_SF_STRING) {
    h->protocol_rejected = 1;
    return 0;
  }
  for (size_t i = 0; i < h->n_protos; i++) {
    if (strlen(h->protos[i]) == it.bare.len &&
        memcmp(h->protos[i], it.bare.data, it.bare.len) == 0) {
      h->protocol = strdup(h->protos[i]);
      return h->protocol ? 0 : WT_ERR_NOMEM;
    }
  }
  h->protocol_rejected = 1; /* a server must choose from the offer (docs/protocol.md section 3) */
  return 0;
}

int wt_hdrs_finish(wt_hdrs *h, int is_server) {
  free(h->view);
  h->view = calloc(h->n_in ? h->n_in : 1, sizeof(*h->view));
  if (h->view == NULL) {
    return WT_ERR_NOMEM;
  }
  const char *p = h->in;
  for (uint32_t i = 0; i < h->n_in; i++) {
    h->view[i].name = p;
    h->view[i].value = p + strlen(p) + 1;
    p = h->view[i].value + strlen(h->view[i].value) + 1;
  }
  return is_server ? parse_offer(h) : parse_choice(h);
}

int wt_hdrs_set_protocol(wt_hdrs *h, const char *protocol) {
  if (protocol == NULL) {
    free(h->protocol);
    free(h->protocol_sf);
    h->protocol = h->protocol_sf = NULL;
    return 0;
  }
  for (size_t i = 0; i < h->n_protos; i++) {
    if (strcmp(h->protos[i], protocol) == 0) {
      size_t cap = 2 * strlen(protocol) + 3;
      char *sf = malloc(cap);
      char *dup = strdup(protocol);
      if (sf == NULL || dup == NULL ||
          wt_sf_ser_string(sf, cap, (const uint8_t *)protocol, strlen(protocol)) < 0) {
        free(sf);
        free(dup);
        return WT_ERR_NOMEM;
      }
      free(h->protocol);
      free(h->protocol_sf);
      h->protocol = dup;
      h->protocol_sf = sf;
      return 0;
    }
  }
  return WT_ERR_INVAL; /* never one the client did not offer */
}

int wt_hdrs_add_raw(wt_hdrs *h, const char *name, const char *value) {
  size_t nl = strlen(name), vl = strlen(value);
  if (h->n_out >= WT_HFIELD_ADD_MAX || h->out_len + nl + vl + 2 > WT_HFIELD_ADD_BYTES_MAX) {
    return WT_ERR_LIMIT;
  }
  int rv = append_pair(&h->out, &h->out_len, &h->out_cap, name, nl, value, vl);
  if (rv == 0) {
    h->n_out++;
  }
  return rv;
}

int wt_hdrs_add(wt_hdrs *h, const char *name, const char *value) {
  if (!wt_hfield_addable(name, value)) {
    return WT_ERR_INVAL;
  }
  return wt_hdrs_add_raw(h, name, value);
}

int wt_hdrs_offer(wt_hdrs *h, const char *const *protos, size_t n) {
  if (h->protos != NULL) {
    return WT_ERR_STATE;
  }
  if (n == 0 || n > WT_HDRS_PROTOCOLS_MAX || protos == NULL) {
    return WT_ERR_INVAL;
  }
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    size_t l = protos[i] ? strlen(protos[i]) : 0;
    if (protos[i] == NULL || l > WT_HDRS_PROTOCOL_LEN_MAX ||
        !wt_sf_string_ok((const uint8_t *)protos[i], l)) {
      return WT_ERR_INVAL;
    }
    total += l + 1;
  }
  size_t cap = 2 * total + 4 * n + 1;
  char *ser = malloc(cap);
  h->proto_buf = malloc(total);
  h->protos = calloc(n, sizeof(*h->protos));
  if (ser == NULL || h->proto_buf == NULL || h->protos == NULL ||
      wt_sf_ser_string_list(ser, cap, protos, n) < 0) {
    free(ser);
    free(h->proto_buf);
    free(h->protos);
    h->proto_buf = NULL;
    h->protos = NULL;
    return WT_ERR_NOMEM;
  }
  char *q = h->proto_buf;
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(protos[i]);
    memcpy(q, protos[i], l + 1);
    h->protos[i] = q;
    q += l + 1;
  }
  h->n_protos = n;
  int rv = append_pair(&h->out, &h->out_len, &h->out_cap, "wt-available-protocols", 22, ser,
                       strlen(ser));
  free(ser);
  if (rv == 0) {
    h->n_out++;
  }
  return rv;
}

size_t wt_hdrs_out_nv(const wt_hdrs *h, nghttp3_nv *nva, size_t cap, int with_protocol) {
  size_t n = 0;
  if (with_protocol && h->protocol_sf && n < cap) {
    nva[n++] = (nghttp3_nv){(uint8_t *)"wt-protocol", (uint8_t *)h->protocol_sf, 11,
                            strlen(h->protocol_sf), NGHTTP3_NV_FLAG_NONE};
  }
  const char *p = h->out;
  for (uint32_t i = 0; i < h->n_out && n < cap; i++) {
    const char *v = p + strlen(p) + 1;
    nva[n++] = (nghttp3_nv){(uint8_t *)p, (uint8_t *)v, strlen(p), strlen(v), NGHTTP3_NV_FLAG_NONE};
    p = v + strlen(v) + 1;
  }
  return n;
}

/* ------------------------------------------------------------ public API (wt_engine.h) */

const wt_header *wt_session_headers(const wt_session *s, size_t *n) {
  if (n) {
    *n = s && s->hdrs.view ? s->hdrs.n_in : 0;
  }
  return s ? s->hdrs.view : NULL;
}

const char *const *wt_session_protocols(const wt_session *s, size_t *n) {
  if (n) {
    *n = s ? s->hdrs.n_protos : 0;
  }
  return s ? (const char *const *)s->hdrs.protos : NULL;
}

/* Our message is still to be sent: a server request not answered yet, a
 * client CONNECT not submitted yet. */
static int unsent(const wt_session *s, int server) {
  return s != NULL && s->c->is_server == server && s->state == WT_SS_REQUEST && !s->h3_submitted;
}

int wt_session_set_protocol(wt_session *s, const char *protocol) {
  if (!unsent(s, 1)) {
    return WT_ERR_STATE;
  }
  return wt_hdrs_set_protocol(&s->hdrs, protocol);
}

const char *wt_session_protocol(const wt_session *s) {
  return s ? s->hdrs.protocol : NULL;
}

int wt_session_protocol_rejected(const wt_session *s) {
  return s ? s->hdrs.protocol_rejected : 0;
}

int wt_session_add_header(wt_session *s, const char *name, const char *value) {
  if (s == NULL) {
    return WT_ERR_INVAL;
  }
  if (!unsent(s, s->c->is_server)) {
    return WT_ERR_STATE;
  }
  return wt_hdrs_add(&s->hdrs, name, value);
}
