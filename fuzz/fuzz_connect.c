/* fuzz_connect.c: extended CONNECT validation (core/wt_connect.h): header
 * collection (wt_connect_field_set), the request rules (wt_connect_validate)
 * and the Origin policy (wt_connect_origin_allowed), as the server's HTTP/3
 * layer applies them to a request header section.
 *
 * Input: byte 0 = flags (bit 0: the request stream ended with the headers,
 * fin), then records [kind][len hi][len lo][value: len bytes] (a truncated
 * last record takes what is left). kind % 8: 0 :method, 1 :protocol,
 * 2 :scheme, 3 :authority, 4 :path, 5 origin, 6 some other header
 * (ignored), 7 an entry of the server's Origin allow-list (at most 8).
 * Lengths up to 65535, so the WT_CONNECT_VALUE_MAX cut is reached.
 *
 * Oracles:
 *  - a kept value is the first occurrence of its field that is at most
 *    WT_CONNECT_VALUE_MAX bytes and holds no NUL, byte for byte;
 *  - wt_connect_validate answers 0, 400 or 404, the same on a second call;
 *    0 only for CONNECT + webtransport(-h3) + no fin + https + a non-empty
 *    authority + a path starting with '/'; 404 exactly when the method is
 *    not CONNECT;
 *  - wt_connect_origin_allowed agrees with a reference (absent Origin or
 *    empty list: allowed, else exact match with a listed entry). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "wt_connect.h"

#define N_FIELDS  6
#define N_ORIGINS 8

static int ok_value(const uint8_t *v, size_t n) {
  return n <= WT_CONNECT_VALUE_MAX && (n == 0 || memchr(v, 0, n) == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) {
    return 0;
  }
  int fin = data[0] & 1;
  char *field[N_FIELDS] = {0};
  const uint8_t *first[N_FIELDS] = {0}; /* reference: first acceptable value */
  size_t first_len[N_FIELDS] = {0};
  int have_first[N_FIELDS] = {0};
  char *origins[N_ORIGINS] = {0};
  size_t n_origins = 0;
  size_t off = 1;
  while (off < size) {
    unsigned kind = data[off] % 8;
    size_t len = 0;
    if (off + 3 <= size) {
      len = (size_t)data[off + 1] << 8 | data[off + 2];
      off += 3;
    } else {
      off = size;
    }
    if (len > size - off) {
      len = size - off;
    }
    const uint8_t *v = data + off;
    off += len;
    if (kind < N_FIELDS) {
      int rv = wt_connect_field_set(&field[kind], v, len);
      FUZZ_CHECK(rv == 0 || rv == 1);
      if (!have_first[kind] && ok_value(v, len)) {
        FUZZ_CHECK(rv == 0);
        have_first[kind] = 1;
        first[kind] = v;
        first_len[kind] = len;
      } else {
        FUZZ_CHECK(rv == 1);
      }
    } else if (kind == 7 && n_origins < N_ORIGINS) {
      origins[n_origins] = malloc(len + 1);
      FUZZ_CHECK(origins[n_origins] != NULL);
      memcpy(origins[n_origins], v, len);
      origins[n_origins][len] = '\0'; /* an embedded NUL shortens it: fine */
      n_origins++;
    }
  }
  for (int k = 0; k < N_FIELDS; k++) {
    FUZZ_CHECK((field[k] != NULL) == have_first[k]);
    if (field[k]) {
      FUZZ_CHECK(strlen(field[k]) == first_len[k]);
      FUZZ_CHECK(memcmp(field[k], first[k], first_len[k]) == 0);
    }
  }
  wt_request req = {.method = field[0],
                    .protocol = field[1],
                    .scheme = field[2],
                    .authority = field[3],
                    .path = field[4],
                    .origin = field[5]};
  int st = wt_connect_validate(&req, fin);
  FUZZ_CHECK(st == 0 || st == 400 || st == 404);
  FUZZ_CHECK(wt_connect_validate(&req, fin) == st);
  int is_connect = req.method && strcmp(req.method, "CONNECT") == 0;
  FUZZ_CHECK((st == 404) == !is_connect);
  if (st == 0) {
    FUZZ_CHECK(req.protocol &&
               (!strcmp(req.protocol, "webtransport") || !strcmp(req.protocol, "webtransport-h3")));
    FUZZ_CHECK(!fin);
    FUZZ_CHECK(req.scheme && !strcmp(req.scheme, "https"));
    FUZZ_CHECK(req.authority && req.authority[0] != '\0');
    FUZZ_CHECK(req.path && req.path[0] == '/');
  }
  int allowed = wt_connect_origin_allowed((const char *const *)origins, n_origins, req.origin);
  int ref = req.origin == NULL || n_origins == 0;
  for (size_t i = 0; i < n_origins && !ref; i++) {
    ref = strcmp(origins[i], req.origin) == 0;
  }
  FUZZ_CHECK(allowed == ref);
  for (int k = 0; k < N_FIELDS; k++) {
    free(field[k]);
  }
  for (size_t i = 0; i < n_origins; i++) {
    free(origins[i]);
  }
  return 0;
}
