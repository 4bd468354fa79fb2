/* wt_connect.c: extended CONNECT validation (see wt_connect.h). */
#include "wt_connect.h"

#include <stdlib.h>
#include <string.h>

int wt_connect_field_set(char **dst, const uint8_t *v, size_t len) {
  if (*dst != NULL || len > WT_CONNECT_VALUE_MAX || (len > 0 && memchr(v, 0, len) != NULL)) {
    return 1;
  }
  char *p = malloc(len + 1);
  if (p == NULL) {
    return WT_ERR_NOMEM;
  }
  if (len > 0) {
    memcpy(p, v, len);
  }
  p[len] = '\0';
  *dst = p;
  return 0;
}

int wt_connect_validate(const wt_request *req, int fin) {
  if (req == NULL || req->method == NULL || strcmp(req->method, "CONNECT") != 0) {
    return 404;
  }
  if (req->protocol == NULL || (strcmp(req->protocol, "webtransport") != 0 &&
                                strcmp(req->protocol, "webtransport-h3") != 0)) {
    return 400;
  }
  if (fin) {
    return 400; /* a session needs its CONNECT stream open */
  }
  if (req->scheme == NULL || strcmp(req->scheme, "https") != 0) {
    return 400;
  }
  if (req->authority == NULL || req->authority[0] == '\0') {
    return 400;
  }
  if (req->path == NULL || req->path[0] != '/') {
    return 400;
  }
  return 0;
}

int wt_connect_origin_allowed(const char *const *origins, size_t n, const char *origin) {
  if (origin == NULL || n == 0) {
    return 1;
  }
  for (size_t i = 0; i < n; i++) {
    if (origins[i] && strcmp(origins[i], origin) == 0) {
      return 1;
    }
  }
  return 0;
}
