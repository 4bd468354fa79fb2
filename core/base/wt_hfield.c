/* wt_hfield.c: HTTP field names and values (see wt_hfield.h). */
#include "wt_hfield.h"

#include <string.h>

int wt_hfield_name_ok(const char *name, size_t len) {
  if (name == NULL || len == 0 || len > 255) {
    return 0;
  }
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    /* RFC 9110 section 5.6.2 tchar, without uppercase (RFC 9114 section 4.2) */
    int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
    if (!ok) {
      return 0; /* ':' (pseudo-headers) included */
    }
  }
  return 1;
}

int wt_hfield_value_ok(const char *value, size_t len) {
  if (value == NULL || len > 4096) {
    return 0;
  }
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)value[i];
    if (c == 0x7f || (c < 0x20 && c != '\t')) {
      return 0;
    }
  }
  if (len > 0 &&
      (value[0] == ' ' || value[0] == '\t' || value[len - 1] == ' ' || value[len - 1] == '\t')) {
    return 0;
  }
  return 1;
}

int wt_hfield_name_reserved(const char *name, size_t len) {
  static const char *const reserved[] = {
      "connection",
      "keep-alive",
      "proxy-connection",
      "transfer-encoding",
      "upgrade",
      "te",
      "content-length",
      "wt-protocol",
      "wt-available-protocols",
      "sec-webtransport-http3-draft",
      "sec-webtransport-http3-draft02",
  };
  for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
    if (strlen(reserved[i]) == len && memcmp(reserved[i], name, len) == 0) {
      return 1;
    }
  }
  return 0;
}

int wt_hfield_addable(const char *name, const char *value) {
  if (name == NULL || value == NULL) {
    return 0;
  }
  size_t nl = strlen(name);
  return wt_hfield_name_ok(name, nl) && !wt_hfield_name_reserved(name, nl) &&
         wt_hfield_value_ok(value, strlen(value));
}
