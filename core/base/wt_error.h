/* wt_error.h: the one error space of wtcast.
 *
 * Every function that can fail returns int: 0 (or a non-negative count) on
 * success, a negative WT_ERR_* code on failure. Codes at or below
 * WT_ERR_FATAL end the connection (or the process, for setup errors); codes
 * above it affect only the operation, stream or session at hand.
 * wt_err_str() names a code for logs; wt_err_to_h3() picks the HTTP/3 error
 * code (RFC 9114 section 8.1) to send to the peer for a protocol error. */
#ifndef WT_ERROR_H
#define WT_ERROR_H

#include <stdint.h>

enum {
  WT_OK = 0,
  /* Recoverable: the caller can retry, wait, or refuse one item. */
  WT_ERR_AGAIN = -1,        /* would block: no room / no data yet; try later */
  WT_ERR_INVAL = -2,        /* bad argument from the caller */
  WT_ERR_TRUNCATED = -3,    /* input ends before the item does (need more bytes) */
  WT_ERR_RANGE = -4,        /* a value is outside what the encoding allows */
  WT_ERR_NOMEM = -5,        /* allocation or pool exhausted (shed this item) */
  WT_ERR_NOBUF = -6,        /* output buffer too small */
  WT_ERR_LIMIT = -7,        /* a configured limit was reached */
  WT_ERR_NOTFOUND = -8,     /* no such session/stream/resource */
  WT_ERR_STATE = -9,        /* operation not allowed in the current state */
  WT_ERR_MALFORMED = -10,   /* peer sent a malformed frame/capsule/header */
  WT_ERR_CLOSED = -11,      /* object already closed */
  WT_ERR_REFUSED = -12,     /* policy refusal (origin, path, session limit) */
  WT_ERR_IO = -13,          /* a system call failed (errno is in the log line) */
  WT_ERR_UNSUPPORTED = -14, /* feature not available (kernel, build) */
  WT_ERR_CONFIG = -15,      /* invalid configuration */
  WT_ERR_CRYPTO = -16,      /* TLS / crypto library failure */

  /* Fatal: at or below this, the connection (or start-up) cannot go on. */
  WT_ERR_FATAL = -100,
  WT_ERR_PROTO = -101,    /* peer violated the protocol: close the connection */
  WT_ERR_INTERNAL = -102, /* a bug or an impossible state: close, log loudly */
  WT_ERR_QUIC = -103,     /* ngtcp2 reported a fatal error */
  WT_ERR_H3 = -104,       /* nghttp3 reported a fatal error */
};

/* Non-zero if rv ends the connection. */
static inline int wt_err_is_fatal(int rv) {
  return rv <= WT_ERR_FATAL;
}

/* A short constant name for rv ("WT_ERR_TRUNCATED"); "WT_OK" for rv >= 0 and
 * "WT_ERR_UNKNOWN" for codes not listed above. Never NULL. */
const char *wt_err_str(int rv);

/* HTTP/3 error codes (RFC 9114 section 8.1) used by wtcast. */
enum {
  WT_H3_NO_ERROR = 0x100,
  WT_H3_GENERAL_PROTOCOL_ERROR = 0x101,
  WT_H3_INTERNAL_ERROR = 0x102,
  WT_H3_STREAM_CREATION_ERROR = 0x103,
  WT_H3_CLOSED_CRITICAL_STREAM = 0x104,
  WT_H3_FRAME_UNEXPECTED = 0x105,
  WT_H3_FRAME_ERROR = 0x106,
  WT_H3_EXCESSIVE_LOAD = 0x107,
  WT_H3_ID_ERROR = 0x108,
  WT_H3_SETTINGS_ERROR = 0x109,
  WT_H3_MISSING_SETTINGS = 0x10a,
  WT_H3_REQUEST_REJECTED = 0x10b,
  WT_H3_REQUEST_CANCELLED = 0x10c,
  WT_H3_REQUEST_INCOMPLETE = 0x10d,
  WT_H3_MESSAGE_ERROR = 0x10e,
  WT_H3_CONNECT_ERROR = 0x10f,
  WT_H3_VERSION_FALLBACK = 0x110,
  WT_H3_DATAGRAM_ERROR = 0x33, /* RFC 9297 section 5 */
};

/* The HTTP/3 code to send for an internal error code rv: MALFORMED maps to
 * H3_MESSAGE_ERROR, PROTO to H3_GENERAL_PROTOCOL_ERROR, REFUSED/LIMIT to
 * H3_REQUEST_REJECTED, NOMEM to H3_EXCESSIVE_LOAD, everything else to
 * H3_INTERNAL_ERROR; rv >= 0 gives H3_NO_ERROR. */
uint64_t wt_err_to_h3(int rv);

#endif
