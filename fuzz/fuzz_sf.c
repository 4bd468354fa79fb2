/* fuzz_sf.c: the Structured Field parser and serializers (core/base/wt_sf.h).
 *
 * Input: the field value. Oracles:
 *  - List, Dictionary and Item parses never read or write outside the input
 *    and the arena; decoded values lie inside the arena's byte area, Keys
 *    and Tokens inside the input, and the decoded bytes never exceed the
 *    input length;
 *  - a parse with a small arena either fails with WT_ERR_LIMIT or gives
 *    the same result as one with the RFC 9651 minimum sizes (1024 members,
 *    256 parameters);
 *  - a List of Strings round-trips: serialize(parse(x)) parses back to the
 *    same strings, and serializing that again gives the same text (the
 *    serialization is canonical); likewise a String Item. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "wt_error.h"
#include "wt_sf.h"

#define BIG_MEMBERS 1024
#define BIG_PARAMS  256
#define MAX_IN      16384

static wt_sf_member mem_a[BIG_MEMBERS], mem_b[BIG_MEMBERS], mem_s[4];
static wt_sf_item it_a[BIG_MEMBERS], it_b[BIG_MEMBERS], it_s[4];
static wt_sf_param pa_a[BIG_PARAMS], pa_b[BIG_PARAMS], pa_s[4];
static uint8_t by_a[MAX_IN], by_b[MAX_IN], by_s[16];
static char ser_a[MAX_IN * 2 + 16], ser_b[MAX_IN * 2 + 16];

static int inside(const uint8_t *p, size_t n, const uint8_t *base, size_t cap) {
  return n == 0 || (p >= base && p + n <= base + cap);
}

static void check_bare(const wt_sf_bare *b, const uint8_t *in, size_t len, const wt_sf_arena *a) {
  switch (b->type) {
  case WT_SF_INTEGER:
  case WT_SF_DATE:
    FUZZ_CHECK(b->num >= -WT_SF_INTEGER_MAX && b->num <= WT_SF_INTEGER_MAX);
    break;
  case WT_SF_DECIMAL:
    FUZZ_CHECK(b->num >= -WT_SF_INTEGER_MAX && b->num <= WT_SF_INTEGER_MAX);
    break;
  case WT_SF_BOOLEAN:
    FUZZ_CHECK(b->num == 0 || b->num == 1);
    break;
  case WT_SF_TOKEN:
    FUZZ_CHECK(b->len > 0 && inside(b->data, b->len, in, len));
    break;
  case WT_SF_STRING:
    FUZZ_CHECK(wt_sf_string_ok(b->data, b->len));
    /* fall through */
  case WT_SF_BYTES:
  case WT_SF_DISPLAY:
    FUZZ_CHECK(inside(b->data, b->len, a->bytes, a->n_bytes));
    break;
  default:
    FUZZ_CHECK(0);
  }
}

static void check_params(const wt_sf_arena *a, const wt_sf_item *it, const uint8_t *in,
                         size_t len) {
  FUZZ_CHECK(it->param_first + it->n_params <= a->n_params);
  const wt_sf_param *p = wt_sf_item_params(a, it);
  for (uint32_t i = 0; i < it->n_params; i++) {
    FUZZ_CHECK(p[i].key_len > 0 && inside((const uint8_t *)p[i].key, p[i].key_len, in, len));
    for (uint32_t j = 0; j < i; j++) {
      FUZZ_CHECK(p[j].key_len != p[i].key_len || memcmp(p[j].key, p[i].key, p[i].key_len) != 0);
    }
    check_bare(&p[i].value, in, len, a);
  }
}

static void check_result(const wt_sf_arena *a, const uint8_t *in, size_t len) {
  FUZZ_CHECK(a->n_bytes <= len && a->n_bytes <= a->max_bytes);
  FUZZ_CHECK(a->n_members <= a->max_members && a->n_items <= a->max_items);
  for (uint32_t i = 0; i < a->n_members; i++) {
    const wt_sf_member *m = &a->members[i];
    check_params(a, &m->item, in, len);
    if (m->inner) {
      FUZZ_CHECK(m->first + m->n <= a->n_items);
      for (uint32_t k = 0; k < m->n; k++) {
        check_bare(&wt_sf_member_items(a, m)[k].bare, in, len, a);
        check_params(a, &wt_sf_member_items(a, m)[k], in, len);
      }
    } else {
      check_bare(&m->item.bare, in, len, a);
    }
  }
}

static int same_bare(const wt_sf_bare *x, const wt_sf_bare *y) {
  return x->type == y->type && x->num == y->num && x->len == y->len &&
         (x->len == 0 || memcmp(x->data, y->data, x->len) == 0);
}

static int same_result(const wt_sf_arena *x, const wt_sf_arena *y) {
  if (x->n_members != y->n_members) {
    return 0;
  }
  for (uint32_t i = 0; i < x->n_members; i++) {
    const wt_sf_member *a = &x->members[i], *b = &y->members[i];
    if (a->inner != b->inner || a->n != b->n || a->key_len != b->key_len ||
        a->item.n_params != b->item.n_params ||
        (!a->inner && !same_bare(&a->item.bare, &b->item.bare))) {
      return 0;
    }
  }
  return 1;
}

/* Serialize the Strings of a List of Strings into out; returns the length. */
static int ser_strings(const wt_sf_arena *a, char *out, size_t cap) {
  size_t used = 0;
  out[0] = '\0';
  for (uint32_t i = 0; i < a->n_members; i++) {
    const wt_sf_bare *b = &a->members[i].item.bare;
    int rv = wt_sf_ser_list_add_string(out, cap, &used, b->data, b->len);
    FUZZ_CHECK(rv == 0);
  }
  FUZZ_CHECK(strlen(out) == used);
  return (int)used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > MAX_IN) {
    return 0;
  }
  wt_sf_arena a, b, s;
  wt_sf_arena_init(&a, mem_a, BIG_MEMBERS, it_a, BIG_MEMBERS, pa_a, BIG_PARAMS, by_a, MAX_IN);
  wt_sf_arena_init(&s, mem_s, 4, it_s, 4, pa_s, 4, by_s, sizeof(by_s));
  s.max_input = MAX_IN; /* the byte area, not the input, is the small bound here */

  /* List */
  int rv = wt_sf_parse_list(&a, data, size);
  FUZZ_CHECK(rv == 0 || rv == WT_ERR_MALFORMED || rv == WT_ERR_LIMIT);
  FUZZ_CHECK(a.err_off <= size);
  if (rv == 0) {
    check_result(&a, data, size);
  }
  int rs = wt_sf_parse_list(&s, data, size);
  FUZZ_CHECK(rs == 0 || rs == WT_ERR_MALFORMED || rs == WT_ERR_LIMIT);
  if (rs == 0) {
    FUZZ_CHECK(rv == 0 && same_result(&a, &s));
  } else if (rs == WT_ERR_MALFORMED) {
    FUZZ_CHECK(rv == WT_ERR_MALFORMED);
  }
  if (rv == 0 && wt_sf_list_is_strings(&a)) {
    int n = ser_strings(&a, ser_a, sizeof(ser_a));
    wt_sf_arena_init(&b, mem_b, BIG_MEMBERS, it_b, BIG_MEMBERS, pa_b, BIG_PARAMS, by_b, MAX_IN);
    b.max_input = sizeof(ser_a);
    FUZZ_CHECK(wt_sf_parse_list(&b, (const uint8_t *)ser_a, (size_t)n) == 0);
    FUZZ_CHECK(b.n_members == a.n_members && wt_sf_list_is_strings(&b));
    for (uint32_t i = 0; i < a.n_members; i++) {
      FUZZ_CHECK(same_bare(&a.members[i].item.bare, &b.members[i].item.bare));
    }
    int n2 = ser_strings(&b, ser_b, sizeof(ser_b));
    FUZZ_CHECK(n2 == n && memcmp(ser_a, ser_b, (size_t)n) == 0);
  }

  /* Dictionary */
  rv = wt_sf_parse_dict(&a, data, size);
  FUZZ_CHECK(rv == 0 || rv == WT_ERR_MALFORMED || rv == WT_ERR_LIMIT);
  if (rv == 0) {
    check_result(&a, data, size);
    for (uint32_t i = 0; i < a.n_members; i++) {
      FUZZ_CHECK(a.members[i].key_len > 0);
      for (uint32_t j = 0; j < i; j++) {
        FUZZ_CHECK(a.members[j].key_len != a.members[i].key_len ||
                   memcmp(a.members[j].key, a.members[i].key, a.members[i].key_len) != 0);
      }
    }
  }

  /* Item */
  wt_sf_item it;
  rv = wt_sf_parse_item(&a, data, size, &it);
  FUZZ_CHECK(rv == 0 || rv == WT_ERR_MALFORMED || rv == WT_ERR_LIMIT);
  if (rv == 0) {
    check_bare(&it.bare, data, size, &a);
    check_params(&a, &it, data, size);
    if (it.bare.type == WT_SF_STRING) {
      int n = wt_sf_ser_string(ser_a, sizeof(ser_a), it.bare.data, it.bare.len);
      FUZZ_CHECK(n >= 2);
      wt_sf_item it2;
      wt_sf_arena_init(&b, mem_b, BIG_MEMBERS, it_b, BIG_MEMBERS, pa_b, BIG_PARAMS, by_b, MAX_IN);
      b.max_input = sizeof(ser_a);
      FUZZ_CHECK(wt_sf_parse_item(&b, (const uint8_t *)ser_a, (size_t)n, &it2) == 0);
      FUZZ_CHECK(same_bare(&it.bare, &it2.bare) && it2.n_params == 0);
    }
  }
  return 0;
}
