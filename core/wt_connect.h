/* wt_connect.h: validation of a server's incoming extended CONNECT (RFC
 * 9220, draft-ietf-webtrans-http3 section 3, docs/protocol.md section 3).
 *
 * Pure functions over the request's pseudo-headers and Origin as the HTTP/3
 * layer collected them (wt_request: NUL-terminated strings, NULL if absent;
 * an oversized value counts as absent). nghttp3 has already checked the
 * HTTP/3 message rules (RFC 9114 section 4.3: pseudo-header order and
 * duplicates, field characters); these are the WebTransport rules on top.
 * The engine's state (shutting down, sessions per connection) is checked by
 * the caller. */
#ifndef WT_CONNECT_H
#define WT_CONNECT_H

#include <stddef.h>
#include <stdint.h>

#include "wt_engine.h"

/* Longest header value the engine keeps (longer ones count as absent). */
#define WT_CONNECT_VALUE_MAX 8192

/* Keep one header value: *dst = a NUL-terminated malloc'd copy of v[0..len).
 * The first value wins (*dst already set: ignored); a value longer than
 * WT_CONNECT_VALUE_MAX or holding a NUL byte counts as absent. Returns 0 if
 * kept, 1 if ignored, WT_ERR_NOMEM. */
int wt_connect_field_set(char **dst, const uint8_t *v, size_t len);

/* The request rules, in order: :method CONNECT (else 404: this server only
 * serves WebTransport sessions), :protocol webtransport or webtransport-h3
 * (else 400), the request stream not ended with the headers (fin: else 400),
 * :scheme https, :authority present and non-empty, :path present and
 * starting with '/' (RFC 9220 section 3 via RFC 8441 section 4; else 400).
 * Returns 0 if acceptable, else the HTTP status to answer. */
int wt_connect_validate(const wt_request *req, int fin);

/* The Origin policy: 1 if origin (NULL = no Origin header: Deno and native
 * clients, accepted) is in origins[0..n) or the list is empty (any origin),
 * else 0 (answer 403). NULL entries never match. */
int wt_connect_origin_allowed(const char *const *origins, size_t n, const char *origin);

#endif
