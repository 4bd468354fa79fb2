/* wt_jose.c: see wt_jose.h. */
#include "wt_jose.h"

#include <stdio.h>
#include <string.h>

#include "wt_base64.h"

int wt_jose_depth_ok(const char *s, size_t n, unsigned max) {
  unsigned depth = 0;
  int in_str = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (in_str) {
      if (c == '\\') {
        i++; /* the escaped character cannot end the string */
      } else if (c == '"') {
        in_str = 0;
      }
    } else if (c == '"') {
      in_str = 1;
    } else if (c == '{' || c == '[') {
      if (++depth > max) {
        return 0;
      }
    } else if ((c == '}' || c == ']') && depth > 0) {
      depth--;
    }
  }
  return 1;
}

json_t *wt_jose_parse_object(const char *s, size_t n, unsigned max_depth, char *err, size_t cap) {
  if (!wt_jose_depth_ok(s, n, max_depth)) {
    snprintf(err, cap, "JSON nested deeper than %u", max_depth);
    return NULL;
  }
  json_error_t je;
  json_t *v = json_loadb(s, n, JSON_REJECT_DUPLICATES, &je);
  if (!v) {
    snprintf(err, cap, "not JSON: %s (column %d)", je.text, je.column);
    return NULL;
  }
  if (!json_is_object(v)) {
    json_decref(v);
    snprintf(err, cap, "not a JSON object");
    return NULL;
  }
  return v;
}

int wt_jose_b64_member(json_t *obj, const char *name, uint8_t *out, size_t cap) {
  json_t *m = json_object_get(obj, name);
  if (!json_is_string(m)) {
    return -1;
  }
  int r = wt_base64_decode(json_string_value(m), json_string_length(m), out, cap,
                           WT_B64_URL | WT_B64_PAD_OK);
  return r < 0 ? -1 : r;
}
