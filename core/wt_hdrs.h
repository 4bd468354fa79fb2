/* wt_hdrs.h: the header fields of one extended CONNECT exchange beyond the
 * pseudo-headers (docs/protocol.md section 3): the peer's fields as they
 * arrive (server: the request's; client: the response's), bounded in count
 * and bytes; application protocol negotiation (request
 * WT-Available-Protocols, a Structured Field List of Strings; response
 * WT-Protocol, a String; RFC 9651 through core/base/wt_sf.h); and the
 * fields our side adds to its own message (server: response; client:
 * request).
 *
 * Ownership: embedded in its wt_session (wt_hdrs_init / wt_hdrs_free);
 * every string it hands out lives until wt_hdrs_free, except the view of
 * the peer's fields, rebuilt by wt_hdrs_finish.
 *
 * Accounting: every field of the peer's header section counts, the
 * pseudo-headers too (kept by the session itself): name + value + 2 bytes
 * (the two NULs they are stored with), which is what is held. Past
 * max_fields fields or max_bytes bytes nothing more is kept and overflow
 * is set (the server answers 431, RFC 9114 section 4.2.2).
 *
 * Threading: the engine's thread. Layer: used by wt_h3 and wt_session. */
#ifndef WT_HDRS_H
#define WT_HDRS_H

#include <nghttp3/nghttp3.h>
#include <stddef.h>
#include <stdint.h>

#include "wt_engine.h"
#include "wt_hfield.h"

/* Offered protocols kept per request (a longer List counts as malformed). */
#define WT_HDRS_PROTOCOLS_MAX 32
/* Longest offered or chosen protocol string. */
#define WT_HDRS_PROTOCOL_LEN_MAX 255

typedef struct wt_hdrs {
  /* the peer's regular fields: name \0 value \0 ... */
  char *in;
  size_t in_len, in_cap;
  uint32_t n_in;
  wt_header *view; /* n_in entries into in, built by wt_hdrs_finish */
  uint32_t n_counted;
  size_t counted;
  uint8_t overflow;
  /* offered protocols: server: parsed from the request; client: ours */
  char *proto_buf;
  const char **protos;
  size_t n_protos;
  uint8_t protos_present;   /* the request carried WT-Available-Protocols */
  uint8_t protos_malformed; /* ... but not as a List of Strings within the bounds */
  /* the chosen protocol: server: set by the app; client: the server's
   * WT-Protocol when it is a String we offered */
  char *protocol;
  char *protocol_sf;         /* server: protocol serialized as a String */
  uint8_t protocol_rejected; /* client: WT-Protocol malformed or not offered */
  /* our fields: name \0 value \0 ... */
  char *out;
  size_t out_len, out_cap;
  uint32_t n_out;
} wt_hdrs;

void wt_hdrs_init(wt_hdrs *h);
void wt_hdrs_free(wt_hdrs *h);

/* One field of the peer's header section. Pseudo-headers (name starting
 * with ':') are only counted. Returns 0, WT_ERR_LIMIT (bounds passed:
 * overflow set, nothing kept from now on) or WT_ERR_NOMEM (overflow set
 * too: the message cannot be represented). */
int wt_hdrs_recv(wt_hdrs *h, const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen,
                 uint32_t max_fields, size_t max_bytes);
/* The header section is complete: build the view; server (is_server = 1):
 * parse WT-Available-Protocols (all its field lines joined with ", ",
 * RFC 9651 section 4.2) into protos; client: parse WT-Protocol into
 * protocol (accepted only if it is one of protos). A malformed or
 * oversized value counts as absent (draft-ietf-webtrans-http3,
 * docs/protocol.md section 3). Returns 0 or WT_ERR_NOMEM. */
int wt_hdrs_finish(wt_hdrs *h, int is_server);
/* The first value of field name (lowercase), or NULL. */
const char *wt_hdrs_get(const wt_hdrs *h, const char *name);

/* Server: answer with WT-Protocol = protocol, which must be one of the
 * offered protos (NULL clears). Returns 0, WT_ERR_INVAL, WT_ERR_NOMEM. */
int wt_hdrs_set_protocol(wt_hdrs *h, const char *protocol);
/* Client: offer protos[0..n) (each a valid String of at most
 * WT_HDRS_PROTOCOL_LEN_MAX bytes; at most WT_HDRS_PROTOCOLS_MAX) as
 * WT-Available-Protocols. Returns 0, WT_ERR_INVAL, WT_ERR_STATE (offered
 * already), WT_ERR_NOMEM. */
int wt_hdrs_offer(wt_hdrs *h, const char *const *protos, size_t n);
/* Add a field to our message (wt_hfield_addable; WT_HFIELD_ADD_MAX fields,
 * WT_HFIELD_ADD_BYTES_MAX bytes). Returns 0, WT_ERR_INVAL, WT_ERR_LIMIT,
 * WT_ERR_NOMEM. */
int wt_hdrs_add(wt_hdrs *h, const char *name, const char *value);
/* Add a field to our message without the checks of wt_hdrs_add (the
 * offer itself; tests that send what no application may). Returns 0,
 * WT_ERR_LIMIT, WT_ERR_NOMEM. */
int wt_hdrs_add_raw(wt_hdrs *h, const char *name, const char *value);
/* Fill nva[0..cap) with our fields (WT-Protocol first when with_protocol
 * and one was chosen); returns the count. The entries point into h. */
size_t wt_hdrs_out_nv(const wt_hdrs *h, nghttp3_nv *nva, size_t cap, int with_protocol);
/* Most entries wt_hdrs_out_nv can fill. */
#define WT_HDRS_OUT_NV_MAX (WT_HFIELD_ADD_MAX + 2)

#endif
