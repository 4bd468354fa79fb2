/* wt_url.c: URL and certificate-pin parsing (see wt_url.h). */
#include "wt_url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int wt_url_parse_u64(const char *s, int base, uint64_t max, uint64_t *out) {
  if (!s || !isdigit((unsigned char)s[0])) {
    return -1;
  }
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, base);
  if (errno || *end || v > max) {
    return -1;
  }
  *out = v;
  return 0;
}

/* host and port from the authority; 0 or -1 with err. */
static int url_split_authority(wt_url *u, const char **port, char *err, size_t errlen) {
  size_t alen = strlen(u->authority);
  *port = NULL;
  if (u->authority[0] == '[') {
    char *close = strchr(u->authority, ']');
    if (!close || (close[1] != '\0' && close[1] != ':')) {
      snprintf(err, errlen, "bad IPv6 literal in URL");
      return -1;
    }
    size_t hl = (size_t)(close - u->authority - 1);
    memcpy(u->host, u->authority + 1, hl);
    u->host[hl] = '\0';
    *port = close[1] == ':' ? close + 2 : NULL;
  } else {
    char *colon = strrchr(u->authority, ':');
    size_t hl = colon ? (size_t)(colon - u->authority) : alen;
    memcpy(u->host, u->authority, hl);
    u->host[hl] = '\0';
    *port = colon ? colon + 1 : NULL;
  }
  return 0;
}

int wt_url_parse(wt_url *u, const char *url, char *err, size_t errlen) {
  memset(u, 0, sizeof(*u));
  if (strncasecmp(url, "https://", 8) != 0) {
    snprintf(err, errlen, "URL must start with https://");
    return -1;
  }
  const char *a = url + 8;
  size_t alen = strcspn(a, "/?#");
  if (alen == 0 || alen >= sizeof(u->authority) || memchr(a, '@', alen)) {
    snprintf(err, errlen, "bad authority in URL");
    return -1;
  }
  memcpy(u->authority, a, alen);
  u->authority[alen] = '\0';
  const char *rest = a + alen;
  size_t plen = strcspn(rest, "#");
  if (plen + 2 > sizeof(u->path)) {
    snprintf(err, errlen, "URL path too long");
    return -1;
  }
  snprintf(u->path, sizeof(u->path), "%s%.*s", rest[0] == '/' ? "" : "/", (int)plen, rest);
  const char *port;
  if (url_split_authority(u, &port, err, errlen) < 0) {
    return -1;
  }
  uint64_t p = 443;
  if (port && (wt_url_parse_u64(port, 10, 65535, &p) < 0 || p == 0)) {
    snprintf(err, errlen, "bad port in URL");
    return -1;
  }
  struct sockaddr_in *v4 = (struct sockaddr_in *)&u->peer.ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&u->peer.ss;
  const char *h = strcasecmp(u->host, "localhost") == 0 ? "127.0.0.1" : u->host;
  if (inet_pton(AF_INET, h, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)p);
    u->peer.len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, h, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)p);
    u->peer.len = sizeof(*v6);
  } else {
    snprintf(err, errlen, "host '%s' is not an IP literal or localhost", u->host);
    return -1;
  }
  return 0;
}

int wt_url_base_path(const wt_url *u, char *out, size_t cap) {
  size_t n = strcspn(u->path, "?");
  if (n >= cap) {
    return -1;
  }
  memcpy(out, u->path, n);
  out[n] = '\0';
  while (n && out[n - 1] == '/') {
    out[--n] = '\0';
  }
  return 0;
}

static int url_hexval(int ch) {
  if (ch >= '0' && ch <= '9') {
    return ch - '0';
  }
  ch = tolower(ch);
  return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

int wt_url_parse_pin(const char *s, uint8_t pin[32]) {
  if (strncasecmp(s, "sha256:", 7) == 0) {
    s += 7;
  }
  int n = 0;
  for (; *s; s++) {
    if (*s == ':' || *s == ' ') {
      continue;
    }
    int v = url_hexval((unsigned char)*s);
    if (v < 0 || n >= 64) {
      return -1;
    }
    if (n % 2 == 0) {
      pin[n / 2] = (uint8_t)(v << 4);
    } else {
      pin[n / 2] |= (uint8_t)v;
    }
    n++;
  }
  return n == 64 ? 0 : -1;
}

int wt_trust_pin(wt_trust *t, const char *hex) {
  t->given++;
  t->have_pin = 1;
  return wt_url_parse_pin(hex, t->pin);
}

void wt_trust_ca(wt_trust *t, const char *file) {
  t->given++;
  t->ca_file = file;
}

void wt_trust_insecure(wt_trust *t) {
  t->given++;
  t->insecure = 1;
}

void wt_trust_apply(const wt_trust *t, wt_engine_config *ec, int insecure_default) {
  ec->pin_sha256 = t->have_pin ? t->pin : NULL;
  ec->ca_file = t->ca_file;
  ec->insecure = t->insecure || (insecure_default && !t->have_pin && !t->ca_file);
}
