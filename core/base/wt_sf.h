/* wt_sf.h: Structured Field Values for HTTP (RFC 9651): a parser of Lists,
 * Dictionaries and Items with every bare type, and serializers for the
 * String item and the List of Strings that WebTransport's application
 * protocol negotiation needs (request header WT-Available-Protocols, a List
 * of Strings; response header WT-Protocol, a String: docs/protocol.md
 * section 3).
 *
 * The parser follows the algorithms of RFC 9651 section 4.2 step by step
 * (the function of each step names its section). It is sans-I/O and
 * allocation-free: everything it produces lives in a caller-provided arena
 * (wt_sf_arena: arrays of members, inner-list items and parameters, and a
 * byte area for decoded String, Byte Sequence and Display String values),
 * and every bound is explicit: input length, members, items, parameters,
 * length of one String/Token/Byte Sequence/Display String. Keys and Tokens
 * point into the input (they are never transformed); decoded values point
 * into the arena's byte area. Results stay valid until the arena is used
 * for the next parse and while the input is unchanged.
 *
 * Errors: WT_ERR_MALFORMED (the input is not a valid field of that type:
 * per RFC 9651 the whole field is then ignored), WT_ERR_LIMIT (valid
 * syntax so far, but a bound of the arena was reached), WT_ERR_INVAL (bad
 * arguments). a->err_off is the input offset where parsing stopped.
 *
 * Threading: none (pure functions over caller memory). Layer: core/base
 * (the engine parses the request header, the client programs serialize it). */
#ifndef WT_SF_H
#define WT_SF_H

#include <stddef.h>
#include <stdint.h>

#include "wt_error.h"

/* Bare item types (RFC 9651 section 3.3). */
enum {
  WT_SF_INTEGER = 1, /* num */
  WT_SF_DECIMAL,     /* num = the value x 1000 (at most 3 fraction digits: exact) */
  WT_SF_STRING,      /* data/len: the unescaped characters (printable ASCII) */
  WT_SF_TOKEN,       /* data/len: the token as written (points into the input) */
  WT_SF_BYTES,       /* data/len: the decoded Byte Sequence */
  WT_SF_BOOLEAN,     /* num: 0 or 1 */
  WT_SF_DATE,        /* num: seconds since the epoch */
  WT_SF_DISPLAY,     /* data/len: the decoded Display String (valid UTF-8) */
};

/* RFC 9651 section 3.3.1: Integers have at most 15 decimal digits. */
#define WT_SF_INTEGER_MAX 999999999999999LL

typedef struct wt_sf_bare {
  int type; /* WT_SF_* */
  int64_t num;
  const uint8_t *data;
  size_t len;
} wt_sf_bare;

typedef struct wt_sf_param {
  const char *key; /* points into the input; not NUL-terminated */
  size_t key_len;
  wt_sf_bare value; /* a parameter without "=value" is Boolean true */
} wt_sf_param;

/* An Item with its Parameters (arena->params[param_first .. +n_params)). */
typedef struct wt_sf_item {
  wt_sf_bare bare;
  uint32_t param_first, n_params;
} wt_sf_item;

/* A member of a List or Dictionary: an Item, or an Inner List (inner = 1)
 * of arena->items[first .. first + n) whose own Parameters are item's. */
typedef struct wt_sf_member {
  const char *key; /* Dictionary members only (into the input), else NULL */
  size_t key_len;
  int inner;
  wt_sf_item item; /* inner: only param_first/n_params are meaningful */
  uint32_t first, n;
} wt_sf_member;

typedef struct wt_sf_arena {
  /* Storage and bounds, set by the caller (wt_sf_arena_init). */
  wt_sf_member *members;
  uint32_t max_members;
  wt_sf_item *items; /* the items of every Inner List together */
  uint32_t max_items;
  wt_sf_param *params; /* the Parameters of every item and inner list together */
  uint32_t max_params;
  uint8_t *bytes; /* decoded String / Byte Sequence / Display String values */
  size_t max_bytes;
  size_t max_input;  /* longest field accepted (WT_ERR_LIMIT beyond) */
  size_t max_string; /* longest String / Token / Byte Sequence / Display String, in input
                        characters (WT_ERR_LIMIT beyond) */
  /* The result of the last parse. */
  uint32_t n_members, n_items, n_params;
  size_t n_bytes;
  size_t err_off;
} wt_sf_arena;

/* Point a at the caller's storage. max_input = max_bytes (a decoded value
 * is never longer than its text, so the byte area cannot run out before the
 * input bound); max_string = max_bytes. Lower either afterwards if wanted. */
void wt_sf_arena_init(wt_sf_arena *a, wt_sf_member *members, uint32_t max_members,
                      wt_sf_item *items, uint32_t max_items, wt_sf_param *params,
                      uint32_t max_params, uint8_t *bytes, size_t max_bytes);

/* Parse in[0..len) as a List (RFC 9651 section 4.2.1): the members are
 * a->members[0 .. a->n_members) in order (an empty field is the empty
 * List). Returns 0 or an error above. */
int wt_sf_parse_list(wt_sf_arena *a, const uint8_t *in, size_t len);
/* Parse a Dictionary (section 4.2.2): members with keys; a duplicate key
 * overwrites the earlier member's value in its place (section 4.2.2 step
 * 2.6). Returns 0 or an error. */
int wt_sf_parse_dict(wt_sf_arena *a, const uint8_t *in, size_t len);
/* Parse an Item (section 4.2.3) into *out. Returns 0 or an error. */
int wt_sf_parse_item(wt_sf_arena *a, const uint8_t *in, size_t len, wt_sf_item *out);

/* The Parameters of an item (or of an inner list: member->item). */
static inline const wt_sf_param *wt_sf_item_params(const wt_sf_arena *a, const wt_sf_item *it) {
  return a->params + it->param_first;
}
/* The items of an inner-list member. */
static inline const wt_sf_item *wt_sf_member_items(const wt_sf_arena *a, const wt_sf_member *m) {
  return a->items + m->first;
}

/* 1 if the last parsed List consists of String Items only (Parameters are
 * allowed and ignored), else 0: the form of WT-Available-Protocols. */
int wt_sf_list_is_strings(const wt_sf_arena *a);

/* 1 if data[0..len) can be a String: only printable ASCII (0x20..0x7e). */
int wt_sf_string_ok(const uint8_t *data, size_t len);

/* Serialize a String item (RFC 9651 section 4.1.6): '"', the characters
 * with '"' and '\' escaped, '"', NUL-terminated. Returns the length
 * without the NUL, WT_ERR_INVAL (a character outside printable ASCII),
 * WT_ERR_NOBUF (cap too small; out[0] = 0 if cap > 0). */
int wt_sf_ser_string(char *out, size_t cap, const uint8_t *data, size_t len);
/* Append one String member to the List serialization in out[0..*used)
 * (section 4.1.1: members separated by ", "), NUL-terminated. On error
 * (as wt_sf_ser_string) out[0..*used) is left as it was. Returns 0. */
int wt_sf_ser_list_add_string(char *out, size_t cap, size_t *used, const uint8_t *data, size_t len);
/* A List of the NUL-terminated strings s[0..n). The empty List serializes
 * as "" (section 4.1.1: the field is then not sent at all). Returns the
 * length or an error as above. */
int wt_sf_ser_string_list(char *out, size_t cap, const char *const *s, size_t n);

#endif
