/* wt_url.h: where a client program connects and how it trusts the server:
 * the https:// URL (host an IP literal or localhost, no DNS) and the
 * --cert-hash / --ca / --insecure options, parsed once for every program.
 *
 * Ownership: plain values filled in place; wt_trust keeps the ca_file
 * pointer it is given (the caller's string, usually argv, must outlive the
 * engine). Threading: none (pure functions). */
#ifndef WT_URL_H
#define WT_URL_H

#include <stddef.h>
#include <stdint.h>

#include "wt_engine.h"
#include "wt_io.h"

typedef struct wt_url {
  char host[256];      /* as written in the URL, without brackets */
  char authority[300]; /* HOST[:PORT] as written (brackets kept) */
  char path[4096];     /* path + query, "/" if empty; no fragment */
  wt_io_addr peer;     /* resolved (numeric; localhost = 127.0.0.1) */
} wt_url;

/* https://HOST[:PORT][/path][?query][#fragment]; HOST an IPv4 literal, a
 * bracketed IPv6 literal or localhost; PORT decimal 1..65535 (443 if none).
 * Returns 0, or -1 with the reason in err (no program prefix). */
int wt_url_parse(wt_url *u, const char *url, char *err, size_t errlen);

/* The path without the query and without trailing '/' ("" for the root):
 * the prefix a program puts before its own paths (/echo, /pub ...).
 * Returns 0, or -1 if it does not fit in cap bytes. */
int wt_url_base_path(const wt_url *u, char *out, size_t cap);

/* A whole number for a port or an option: digits only (no sign, no
 * space), in base (10, or 0 for C's 0x / 0 prefixes), at most max. Returns 0
 * or -1. */
int wt_url_parse_u64(const char *s, int base, uint64_t max, uint64_t *out);

/* A certificate pin: 64 hex digits (the SHA-256 of the certificate DER),
 * optionally after "sha256:", with ':' or spaces between. Returns 0 or -1. */
int wt_url_parse_pin(const char *s, uint8_t pin[32]);

/* How the client trusts the server: one of --cert-hash, --ca, --insecure. */
typedef struct wt_trust {
  uint8_t pin[32];
  int have_pin;
  const char *ca_file;
  int insecure;
  unsigned given; /* options seen (more than one is a usage error) */
} wt_trust;

#define WT_TRUST_ONE_ERR "use only one of --cert-hash, --ca, --insecure"

/* --cert-hash HEX. Returns 0, or -1 (see wt_url_parse_pin). */
int wt_trust_pin(wt_trust *t, const char *hex);
void wt_trust_ca(wt_trust *t, const char *file);
void wt_trust_insecure(wt_trust *t);
/* Into the engine config. insecure_default: no option given means
 * --insecure (the load tools), else the engine's default verification. */
void wt_trust_apply(const wt_trust *t, wt_engine_config *ec, int insecure_default);

#endif
