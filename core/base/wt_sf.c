/* wt_sf.c: Structured Field Values (RFC 9651), see wt_sf.h. Each parse_*
 * function is one algorithm of RFC 9651 section 4.2, in its order. */
#include "wt_sf.h"

#include "wt_base64.h"

#include <string.h>

#include "wt_utf8.h"

typedef struct sfp {
  wt_sf_arena *a;
  const uint8_t *in;
  size_t len, pos;
} sfp;

static int at_end(const sfp *p) {
  return p->pos >= p->len;
}
static int peek(const sfp *p) {
  return p->pos < p->len ? p->in[p->pos] : -1;
}
static int is_digit(int c) {
  return c >= '0' && c <= '9';
}
static int is_lcalpha(int c) {
  return c >= 'a' && c <= 'z';
}
static int is_alpha(int c) {
  return is_lcalpha(c) || (c >= 'A' && c <= 'Z');
}

/* RFC 9110 section 5.6.2 tchar. */
static int is_tchar(int c) {
  return is_alpha(c) || is_digit(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int fail(sfp *p, int rv) {
  p->a->err_off = p->pos;
  return rv;
}

static void skip_sp(sfp *p) {
  while (peek(p) == ' ') {
    p->pos++;
  }
}

/* OWS = *( SP / HTAB ) (RFC 9110 section 5.6.3). */
static void skip_ows(sfp *p) {
  while (peek(p) == ' ' || peek(p) == '\t') {
    p->pos++;
  }
}

static int take_bytes(sfp *p, size_t n, uint8_t **out) {
  wt_sf_arena *a = p->a;
  if (n > a->max_bytes - a->n_bytes) {
    return fail(p, WT_ERR_LIMIT);
  }
  *out = a->bytes + a->n_bytes;
  return 0;
}

/* Section 4.2.4: Integer or Decimal. */
static int parse_number(sfp *p, wt_sf_bare *out) {
  int decimal = 0;
  int64_t sign = 1;
  if (peek(p) == '-') {
    p->pos++;
    sign = -1;
  }
  if (!is_digit(peek(p))) {
    return fail(p, WT_ERR_MALFORMED);
  }
  int64_t ip = 0, frac = 0;
  size_t digits = 0, frac_digits = 0;
  while (!at_end(p)) {
    int c = p->in[p->pos];
    if (is_digit(c)) {
      if (decimal) {
        frac = frac * 10 + (c - '0');
        frac_digits++;
      } else {
        ip = ip * 10 + (c - '0');
      }
      digits++;
    } else if (!decimal && c == '.') {
      if (digits > 12) {
        return fail(p, WT_ERR_MALFORMED); /* step 7.3.1 */
      }
      decimal = 1;
      digits++; /* the '.' counts in input_number's length */
    } else {
      break;
    }
    p->pos++;
    if ((!decimal && digits > 15) || (decimal && digits > 16)) {
      return fail(p, WT_ERR_MALFORMED); /* steps 7.5 and 7.6 */
    }
  }
  if (!decimal) {
    out->type = WT_SF_INTEGER;
    out->num = sign * ip;
    return 0;
  }
  if (frac_digits == 0 || frac_digits > 3) {
    return fail(p, WT_ERR_MALFORMED); /* step 9.1 and 9.2 */
  }
  while (frac_digits < 3) {
    frac *= 10;
    frac_digits++;
  }
  out->type = WT_SF_DECIMAL;
  out->num = sign * (ip * 1000 + frac);
  return 0;
}

/* Section 4.2.5: String. */
static int parse_string(sfp *p, wt_sf_bare *out) {
  p->pos++; /* '"' */
  uint8_t *dst;
  if (take_bytes(p, 0, &dst) != 0) {
    return WT_ERR_LIMIT;
  }
  size_t n = 0;
  while (!at_end(p)) {
    int c = p->in[p->pos++];
    if (c == '\\') {
      if (at_end(p)) {
        return fail(p, WT_ERR_MALFORMED);
      }
      c = p->in[p->pos++];
      if (c != '"' && c != '\\') {
        return fail(p, WT_ERR_MALFORMED);
      }
    } else if (c == '"') {
      out->type = WT_SF_STRING;
      out->data = dst;
      out->len = n;
      p->a->n_bytes += n;
      return 0;
    } else if (c < 0x20 || c > 0x7e) {
      return fail(p, WT_ERR_MALFORMED);
    }
    if (n >= p->a->max_string || n >= p->a->max_bytes - p->a->n_bytes) {
      return fail(p, WT_ERR_LIMIT);
    }
    dst[n++] = (uint8_t)c;
  }
  return fail(p, WT_ERR_MALFORMED); /* no closing quote */
}

/* Section 4.2.6: Token. */
static int parse_token(sfp *p, wt_sf_bare *out) {
  size_t start = p->pos;
  p->pos++; /* ALPHA or '*', checked by the caller */
  while (!at_end(p) && (is_tchar(p->in[p->pos]) || p->in[p->pos] == ':' || p->in[p->pos] == '/')) {
    p->pos++;
  }
  if (p->pos - start > p->a->max_string) {
    return fail(p, WT_ERR_LIMIT);
  }
  out->type = WT_SF_TOKEN;
  out->data = p->in + start;
  out->len = p->pos - start;
  return 0;
}

/* Section 4.2.7: Byte Sequence. Base64 (RFC 4648 section 4); as section
 * 4.2.7 recommends, missing '=' padding and non-zero pad bits are
 * accepted. '=' may only end the content. */
static int parse_bytes(sfp *p, wt_sf_bare *out) {
  p->pos++; /* ':' */
  const uint8_t *b = p->in + p->pos;
  const uint8_t *end = memchr(b, ':', p->len - p->pos);
  if (end == NULL) {
    return fail(p, WT_ERR_MALFORMED);
  }
  size_t n = (size_t)(end - b);
  if (n > p->a->max_string) {
    return fail(p, WT_ERR_LIMIT);
  }
  size_t data_n = n;
  while (data_n > 0 && b[data_n - 1] == '=' && n - data_n < 2) {
    data_n--;
  }
  if (data_n % 4 == 1 || (n != data_n && n % 4 != 0)) {
    return fail(p, WT_ERR_MALFORMED); /* impossible length, or '=' that is not padding */
  }
  uint8_t *dst;
  size_t out_n = data_n / 4 * 3 + (data_n % 4 ? data_n % 4 - 1 : 0);
  if (take_bytes(p, out_n, &dst) != 0) {
    return WT_ERR_LIMIT;
  }
  int k = wt_base64_decode((const char *)b, n, dst, out_n, WT_B64_PAD_OK);
  if (k < 0) {
    return fail(p, WT_ERR_MALFORMED); /* a character outside the alphabet */
  }
  p->pos += n + 1;
  p->a->n_bytes += (size_t)k;
  out->type = WT_SF_BYTES;
  out->data = dst;
  out->len = (size_t)k;
  return 0;
}

/* Section 4.2.8: Boolean. */
static int parse_boolean(sfp *p, wt_sf_bare *out) {
  p->pos++; /* '?' */
  int c = peek(p);
  if (c != '0' && c != '1') {
    return fail(p, WT_ERR_MALFORMED);
  }
  p->pos++;
  out->type = WT_SF_BOOLEAN;
  out->num = c == '1';
  return 0;
}

/* Section 4.2.9: Date (an Integer after '@'). */
static int parse_date(sfp *p, wt_sf_bare *out) {
  p->pos++; /* '@' */
  int rv = parse_number(p, out);
  if (rv != 0) {
    return rv;
  }
  if (out->type != WT_SF_INTEGER) {
    return fail(p, WT_ERR_MALFORMED);
  }
  out->type = WT_SF_DATE;
  return 0;
}

static int lchex(int c) {
  if (is_digit(c)) {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1; /* section 4.2.10 step 6.3.2: lowercase hex only */
}

/* Section 4.2.10: Display String. */
static int parse_display(sfp *p, wt_sf_bare *out) {
  if (p->len - p->pos < 2 || p->in[p->pos + 1] != '"') {
    return fail(p, WT_ERR_MALFORMED);
  }
  p->pos += 2;
  uint8_t *dst;
  if (take_bytes(p, 0, &dst) != 0) {
    return WT_ERR_LIMIT;
  }
  size_t n = 0, start = p->pos;
  while (!at_end(p)) {
    int c = p->in[p->pos++];
    if (c < 0x20 || c > 0x7e) {
      return fail(p, WT_ERR_MALFORMED);
    }
    if (c == '"') {
      if (!wt_utf8_valid(dst, n)) {
        return fail(p, WT_ERR_MALFORMED);
      }
      out->type = WT_SF_DISPLAY;
      out->data = dst;
      out->len = n;
      p->a->n_bytes += n;
      return 0;
    }
    if (c == '%') {
      int hi = p->pos < p->len ? lchex(p->in[p->pos]) : -1;
      int lo = p->pos + 1 < p->len ? lchex(p->in[p->pos + 1]) : -1;
      if (hi < 0 || lo < 0) {
        return fail(p, WT_ERR_MALFORMED);
      }
      p->pos += 2;
      c = hi << 4 | lo;
    }
    if (p->pos - start > p->a->max_string || n >= p->a->max_bytes - p->a->n_bytes) {
      return fail(p, WT_ERR_LIMIT);
    }
    dst[n++] = (uint8_t)c;
  }
  return fail(p, WT_ERR_MALFORMED);
}

/* Section 4.2.3.1: Bare Item. */
static int parse_bare(sfp *p, wt_sf_bare *out) {
  memset(out, 0, sizeof(*out));
  int c = peek(p);
  if (c == '-' || is_digit(c)) {
    return parse_number(p, out);
  }
  if (c == '"') {
    return parse_string(p, out);
  }
  if (c == '*' || is_alpha(c)) {
    return parse_token(p, out);
  }
  if (c == ':') {
    return parse_bytes(p, out);
  }
  if (c == '?') {
    return parse_boolean(p, out);
  }
  if (c == '@') {
    return parse_date(p, out);
  }
  if (c == '%') {
    return parse_display(p, out);
  }
  return fail(p, WT_ERR_MALFORMED);
}

/* Section 4.2.3.3: Key. */
static int parse_key(sfp *p, const char **key, size_t *key_len) {
  int c = peek(p);
  if (!is_lcalpha(c) && c != '*') {
    return fail(p, WT_ERR_MALFORMED);
  }
  size_t start = p->pos;
  while (!at_end(p)) {
    c = p->in[p->pos];
    if (!is_lcalpha(c) && !is_digit(c) && c != '_' && c != '-' && c != '.' && c != '*') {
      break;
    }
    p->pos++;
  }
  if (p->pos - start > p->a->max_string) {
    return fail(p, WT_ERR_LIMIT);
  }
  *key = (const char *)p->in + start;
  *key_len = p->pos - start;
  return 0;
}

static int key_eq(const char *a, size_t alen, const char *b, size_t blen) {
  return alen == blen && memcmp(a, b, alen) == 0;
}

/* Section 4.2.3.2: Parameters. A repeated key overwrites the earlier
 * value in place (step 2.6). */
static int parse_params(sfp *p, uint32_t *first, uint32_t *count) {
  wt_sf_arena *a = p->a;
  *first = a->n_params;
  *count = 0;
  while (peek(p) == ';') {
    p->pos++;
    skip_sp(p);
    wt_sf_param prm = {0};
    int rv = parse_key(p, &prm.key, &prm.key_len);
    if (rv != 0) {
      return rv;
    }
    prm.value.type = WT_SF_BOOLEAN;
    prm.value.num = 1;
    if (peek(p) == '=') {
      p->pos++;
      rv = parse_bare(p, &prm.value);
      if (rv != 0) {
        return rv;
      }
    }
    uint32_t i;
    for (i = *first; i < *first + *count; i++) {
      if (key_eq(a->params[i].key, a->params[i].key_len, prm.key, prm.key_len)) {
        a->params[i].value = prm.value;
        break;
      }
    }
    if (i < *first + *count) {
      continue;
    }
    if (a->n_params >= a->max_params) {
      return fail(p, WT_ERR_LIMIT);
    }
    a->params[a->n_params++] = prm;
    (*count)++;
  }
  return 0;
}

/* Section 4.2.3: Item. */
static int parse_item(sfp *p, wt_sf_item *out) {
  int rv = parse_bare(p, &out->bare);
  if (rv != 0) {
    return rv;
  }
  return parse_params(p, &out->param_first, &out->n_params);
}

/* Section 4.2.1.2: Inner List. */
static int parse_inner_list(sfp *p, wt_sf_member *m) {
  wt_sf_arena *a = p->a;
  p->pos++; /* '(' */
  m->inner = 1;
  m->first = a->n_items;
  m->n = 0;
  while (!at_end(p)) {
    skip_sp(p);
    if (peek(p) == ')') {
      p->pos++;
      return parse_params(p, &m->item.param_first, &m->item.n_params);
    }
    if (a->n_items >= a->max_items) {
      return fail(p, WT_ERR_LIMIT);
    }
    wt_sf_item it;
    int rv = parse_item(p, &it);
    if (rv != 0) {
      return rv;
    }
    /* Items of one inner list are contiguous: nested parses add none. */
    a->items[a->n_items++] = it;
    m->n++;
    int c = peek(p);
    if (c != ' ' && c != ')') {
      return fail(p, WT_ERR_MALFORMED);
    }
  }
  return fail(p, WT_ERR_MALFORMED); /* no closing parenthesis */
}

/* Section 4.2.1.1: Item or Inner List. */
static int parse_member_value(sfp *p, wt_sf_member *m) {
  if (peek(p) == '(') {
    return parse_inner_list(p, m);
  }
  m->inner = 0;
  return parse_item(p, &m->item);
}

/* After a member: OWS, then the end or ',' OWS and another member
 * (section 4.2.1 steps 1.3-1.7; 4.2.2 steps 1.4-1.8). 1 = more follows. */
static int member_sep(sfp *p) {
  skip_ows(p);
  if (at_end(p)) {
    return 0;
  }
  if (p->in[p->pos] != ',') {
    return fail(p, WT_ERR_MALFORMED);
  }
  p->pos++;
  skip_ows(p);
  if (at_end(p)) {
    return fail(p, WT_ERR_MALFORMED); /* trailing comma */
  }
  return 1;
}

static int parse_list_members(sfp *p) {
  wt_sf_arena *a = p->a;
  while (!at_end(p)) {
    if (a->n_members >= a->max_members) {
      return fail(p, WT_ERR_LIMIT);
    }
    wt_sf_member m = {0};
    int rv = parse_member_value(p, &m);
    if (rv != 0) {
      return rv;
    }
    a->members[a->n_members++] = m;
    rv = member_sep(p);
    if (rv <= 0) {
      return rv;
    }
  }
  return 0;
}

static int parse_dict_members(sfp *p) {
  wt_sf_arena *a = p->a;
  while (!at_end(p)) {
    wt_sf_member m = {0};
    int rv = parse_key(p, &m.key, &m.key_len);
    if (rv != 0) {
      return rv;
    }
    if (peek(p) == '=') {
      p->pos++;
      rv = parse_member_value(p, &m);
    } else {
      m.item.bare.type = WT_SF_BOOLEAN;
      m.item.bare.num = 1;
      rv = parse_params(p, &m.item.param_first, &m.item.n_params);
    }
    if (rv != 0) {
      return rv;
    }
    uint32_t i;
    for (i = 0; i < a->n_members; i++) {
      if (key_eq(a->members[i].key, a->members[i].key_len, m.key, m.key_len)) {
        a->members[i] = m;
        break;
      }
    }
    if (i == a->n_members) {
      if (a->n_members >= a->max_members) {
        return fail(p, WT_ERR_LIMIT);
      }
      a->members[a->n_members++] = m;
    }
    rv = member_sep(p);
    if (rv <= 0) {
      return rv;
    }
  }
  return 0;
}

enum { SF_LIST, SF_DICT, SF_ITEM };

/* Section 4.2: the top level (ASCII only, leading and trailing SP
 * discarded, nothing may follow). */
static int parse_top(wt_sf_arena *a, const uint8_t *in, size_t len, int kind, wt_sf_item *item) {
  if (a == NULL || (in == NULL && len > 0) || (kind == SF_ITEM && item == NULL)) {
    return WT_ERR_INVAL;
  }
  a->n_members = a->n_items = a->n_params = 0;
  a->n_bytes = 0;
  a->err_off = 0;
  sfp p = {.a = a, .in = in, .len = len, .pos = 0};
  if (len > a->max_input) {
    return fail(&p, WT_ERR_LIMIT);
  }
  for (size_t i = 0; i < len; i++) {
    if (in[i] >= 0x80) {
      p.pos = i;
      return fail(&p, WT_ERR_MALFORMED); /* step 1: not ASCII */
    }
  }
  skip_sp(&p);
  int rv;
  if (kind == SF_LIST) {
    rv = parse_list_members(&p);
  } else if (kind == SF_DICT) {
    rv = parse_dict_members(&p);
  } else {
    rv = parse_item(&p, item);
  }
  if (rv != 0) {
    return rv;
  }
  skip_sp(&p);
  if (!at_end(&p)) {
    return fail(&p, WT_ERR_MALFORMED);
  }
  a->err_off = p.pos;
  return 0;
}

void wt_sf_arena_init(wt_sf_arena *a, wt_sf_member *members, uint32_t max_members,
                      wt_sf_item *items, uint32_t max_items, wt_sf_param *params,
                      uint32_t max_params, uint8_t *bytes, size_t max_bytes) {
  memset(a, 0, sizeof(*a));
  a->members = members;
  a->max_members = members ? max_members : 0;
  a->items = items;
  a->max_items = items ? max_items : 0;
  a->params = params;
  a->max_params = params ? max_params : 0;
  a->bytes = bytes;
  a->max_bytes = bytes ? max_bytes : 0;
  a->max_input = a->max_bytes;
  a->max_string = a->max_bytes;
}

int wt_sf_parse_list(wt_sf_arena *a, const uint8_t *in, size_t len) {
  return parse_top(a, in, len, SF_LIST, NULL);
}

int wt_sf_parse_dict(wt_sf_arena *a, const uint8_t *in, size_t len) {
  return parse_top(a, in, len, SF_DICT, NULL);
}

int wt_sf_parse_item(wt_sf_arena *a, const uint8_t *in, size_t len, wt_sf_item *out) {
  return parse_top(a, in, len, SF_ITEM, out);
}

int wt_sf_list_is_strings(const wt_sf_arena *a) {
  for (uint32_t i = 0; i < a->n_members; i++) {
    if (a->members[i].inner || a->members[i].item.bare.type != WT_SF_STRING) {
      return 0;
    }
  }
  return 1;
}

/* ------------------------------------------------------------ serializing */

int wt_sf_string_ok(const uint8_t *data, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (data[i] < 0x20 || data[i] > 0x7e) {
      return 0;
    }
  }
  return 1;
}

/* Section 4.1.6: the serialized length of a String, or 0 if it cannot be one. */
static size_t ser_string_len(const uint8_t *data, size_t len) {
  if (!wt_sf_string_ok(data, len)) {
    return 0;
  }
  size_t n = 2;
  for (size_t i = 0; i < len; i++) {
    n += (data[i] == '"' || data[i] == '\\') ? 2 : 1;
  }
  return n;
}

static void ser_string(char *out, const uint8_t *data, size_t len) {
  size_t k = 0;
  out[k++] = '"';
  for (size_t i = 0; i < len; i++) {
    if (data[i] == '"' || data[i] == '\\') {
      out[k++] = '\\';
    }
    out[k++] = (char)data[i];
  }
  out[k++] = '"';
  out[k] = '\0';
}

int wt_sf_ser_string(char *out, size_t cap, const uint8_t *data, size_t len) {
  size_t used = 0;
  if (out == NULL || cap == 0) {
    return WT_ERR_NOBUF;
  }
  out[0] = '\0';
  int rv = wt_sf_ser_list_add_string(out, cap, &used, data, len);
  return rv < 0 ? rv : (int)used;
}

int wt_sf_ser_list_add_string(char *out, size_t cap, size_t *used, const uint8_t *data,
                              size_t len) {
  if (out == NULL || used == NULL || (data == NULL && len > 0) || *used >= cap) {
    return out == NULL || used == NULL ? WT_ERR_INVAL : WT_ERR_NOBUF;
  }
  size_t n = ser_string_len(data, len);
  if (n == 0) {
    return WT_ERR_INVAL;
  }
  size_t sep = *used > 0 ? 2 : 0;
  if (n + sep > cap - *used - 1 || n + sep > (size_t)INT32_MAX - *used) {
    return WT_ERR_NOBUF;
  }
  if (sep) {
    out[*used] = ',';
    out[*used + 1] = ' ';
  }
  ser_string(out + *used + sep, data, len);
  *used += sep + n;
  return 0;
}

int wt_sf_ser_string_list(char *out, size_t cap, const char *const *s, size_t n) {
  if (out == NULL || cap == 0) {
    return WT_ERR_NOBUF;
  }
  out[0] = '\0';
  size_t used = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == NULL) {
      return WT_ERR_INVAL;
    }
    int rv = wt_sf_ser_list_add_string(out, cap, &used, (const uint8_t *)s[i], strlen(s[i]));
    if (rv < 0) {
      out[0] = '\0';
      return rv;
    }
  }
  return (int)used;
}
