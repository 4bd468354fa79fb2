/* wt_error.c: names and HTTP/3 mapping for the WT_ERR_* codes. */
#include "wt_error.h"

const char *wt_err_str(int rv) {
  if (rv >= 0) {
    return "WT_OK";
  }
  switch (rv) {
  case WT_ERR_AGAIN:
    return "WT_ERR_AGAIN";
  case WT_ERR_INVAL:
    return "WT_ERR_INVAL";
  case WT_ERR_TRUNCATED:
    return "WT_ERR_TRUNCATED";
  case WT_ERR_RANGE:
    return "WT_ERR_RANGE";
  case WT_ERR_NOMEM:
    return "WT_ERR_NOMEM";
  case WT_ERR_NOBUF:
    return "WT_ERR_NOBUF";
  case WT_ERR_LIMIT:
    return "WT_ERR_LIMIT";
  case WT_ERR_NOTFOUND:
    return "WT_ERR_NOTFOUND";
  case WT_ERR_STATE:
    return "WT_ERR_STATE";
  case WT_ERR_MALFORMED:
    return "WT_ERR_MALFORMED";
  case WT_ERR_CLOSED:
    return "WT_ERR_CLOSED";
  case WT_ERR_REFUSED:
    return "WT_ERR_REFUSED";
  case WT_ERR_IO:
    return "WT_ERR_IO";
  case WT_ERR_UNSUPPORTED:
    return "WT_ERR_UNSUPPORTED";
  case WT_ERR_CONFIG:
    return "WT_ERR_CONFIG";
  case WT_ERR_CRYPTO:
    return "WT_ERR_CRYPTO";
  case WT_ERR_FATAL:
    return "WT_ERR_FATAL";
  case WT_ERR_PROTO:
    return "WT_ERR_PROTO";
  case WT_ERR_INTERNAL:
    return "WT_ERR_INTERNAL";
  case WT_ERR_QUIC:
    return "WT_ERR_QUIC";
  case WT_ERR_H3:
    return "WT_ERR_H3";
  default:
    return "WT_ERR_UNKNOWN";
  }
}

uint64_t wt_err_to_h3(int rv) {
  if (rv >= 0) {
    return WT_H3_NO_ERROR;
  }
  switch (rv) {
  case WT_ERR_MALFORMED:
    /* RFC 9114 section 4.1.2: a malformed request or response is a stream
     * error of type H3_MESSAGE_ERROR. */
    return WT_H3_MESSAGE_ERROR;
  case WT_ERR_PROTO:
    return WT_H3_GENERAL_PROTOCOL_ERROR;
  case WT_ERR_REFUSED:
  case WT_ERR_LIMIT:
    /* RFC 9114 section 8.1: H3_REQUEST_REJECTED means no application
     * processing was done, so the client may retry elsewhere. */
    return WT_H3_REQUEST_REJECTED;
  case WT_ERR_NOMEM:
    return WT_H3_EXCESSIVE_LOAD;
  default:
    return WT_H3_INTERNAL_ERROR;
  }
}
