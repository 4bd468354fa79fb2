/* test_sf.c: the Structured Field parser and serializers (core/base/wt_sf.h):
 * the examples of RFC 9651 and the edge cases its algorithms define
 * (section 4.2): spaces around the field, empty and trailing-comma Lists,
 * non-ASCII input, the 15-digit Integer and 12.3-digit Decimal bounds,
 * String escapes, Byte Sequence padding, Display String decoding, the
 * arena's limits and serialize/parse round trips. */
#include <string.h>

#include "check.h"
#include "wt_sf.h"

#define N_MEM 1100
static wt_sf_member mem[N_MEM];
static wt_sf_item items[1100];
static wt_sf_param params[300];
static uint8_t bytes[65536];
static wt_sf_arena A;

static void arena(void) {
  wt_sf_arena_init(&A, mem, N_MEM, items, 1100, params, 300, bytes, sizeof(bytes));
}

static int list(const char *s) {
  arena();
  return wt_sf_parse_list(&A, (const uint8_t *)s, strlen(s));
}

static int dict(const char *s) {
  arena();
  return wt_sf_parse_dict(&A, (const uint8_t *)s, strlen(s));
}

static int item(const char *s, wt_sf_item *it) {
  arena();
  return wt_sf_parse_item(&A, (const uint8_t *)s, strlen(s), it);
}

static int str_is(const wt_sf_bare *b, int type, const char *s) {
  return b->type == type && b->len == strlen(s) && memcmp(b->data, s, b->len) == 0;
}

static int key_is(const char *k, size_t n, const char *s) {
  return n == strlen(s) && memcmp(k, s, n) == 0;
}

static int64_t int_of(const char *s, int *rv) {
  wt_sf_item it;
  *rv = item(s, &it);
  return *rv == 0 ? it.bare.num : -1;
}

static void test_lists(void) {
  /* RFC 9651 section 3.1 */
  CHECK_FATAL(list("sugar, tea, rum") == 0);
  CHECK(A.n_members == 3);
  CHECK(str_is(&mem[0].item.bare, WT_SF_TOKEN, "sugar"));
  CHECK(str_is(&mem[2].item.bare, WT_SF_TOKEN, "rum"));
  CHECK(list("sugar,tea,rum") == 0 && A.n_members == 3);
  CHECK(list("sugar,\t tea ,  rum") == 0 && A.n_members == 3);
  CHECK_FATAL(list("\"foo\", \"bar\", \"It was the best of times.\"") == 0);
  CHECK(A.n_members == 3 && str_is(&mem[2].item.bare, WT_SF_STRING, "It was the best of times."));
  CHECK(wt_sf_list_is_strings(&A));
  /* the empty List: an empty field, or spaces only */
  CHECK(list("") == 0 && A.n_members == 0);
  CHECK(list("   ") == 0 && A.n_members == 0);
  CHECK(wt_sf_list_is_strings(&A));
  /* leading and trailing spaces are discarded, a leading tab is not */
  CHECK(list("  1, 42  ") == 0 && A.n_members == 2 && mem[1].item.bare.num == 42);
  CHECK(list("\t1") == WT_ERR_MALFORMED);
  CHECK(list("1, 2\t") == 0); /* OWS after a member */
  /* commas */
  CHECK(list("1, 2,") == WT_ERR_MALFORMED);
  CHECK(list("1, 2, ") == WT_ERR_MALFORMED);
  CHECK(list("1,,2") == WT_ERR_MALFORMED);
  CHECK(list(",1") == WT_ERR_MALFORMED);
  CHECK(list("1 2") == WT_ERR_MALFORMED);
  /* non-ASCII anywhere fails the field */
  CHECK(list("\"f\xc3\xbc\"") == WT_ERR_MALFORMED);
  CHECK(list("a, b\x80") == WT_ERR_MALFORMED);
  CHECK(A.err_off == 4);
  /* mixed types: not a List of Strings */
  CHECK(list("\"a\", b") == 0 && !wt_sf_list_is_strings(&A));
  CHECK(list("\"a\", (\"b\")") == 0 && !wt_sf_list_is_strings(&A));
  CHECK(list("\"a\";q=1, \"b\"") == 0 && wt_sf_list_is_strings(&A)); /* parameters ignored */
}

static void test_inner_lists(void) {
  CHECK_FATAL(list("(\"foo\" \"bar\"), (\"baz\"), (\"bat\" \"one\"), ()") == 0);
  CHECK(A.n_members == 4);
  CHECK(mem[0].inner && mem[0].n == 2 && mem[3].inner && mem[3].n == 0);
  CHECK(str_is(&wt_sf_member_items(&A, &mem[2])[1].bare, WT_SF_STRING, "one"));
  CHECK_FATAL(list("(\"foo\"; a=1;b=2);lvl=5, (\"bar\" \"baz\");lvl=1") == 0);
  CHECK(A.n_members == 2);
  const wt_sf_item *in0 = wt_sf_member_items(&A, &mem[0]);
  CHECK(in0[0].n_params == 2);
  CHECK(key_is(wt_sf_item_params(&A, &in0[0])[1].key, wt_sf_item_params(&A, &in0[0])[1].key_len,
               "b"));
  CHECK(mem[0].item.n_params == 1 && wt_sf_item_params(&A, &mem[0].item)[0].value.num == 5);
  CHECK(mem[1].item.n_params == 1 && wt_sf_item_params(&A, &mem[1].item)[0].value.num == 1);
  CHECK(list("( 1 2 )") == 0 && mem[0].n == 2);
  CHECK(list("(1 2") == WT_ERR_MALFORMED);
  CHECK(list("(1,2)") == WT_ERR_MALFORMED);
  CHECK(list("((1))") == WT_ERR_MALFORMED); /* no nesting */
  CHECK(list("(1)(2)") == WT_ERR_MALFORMED);
}

static void test_params(void) {
  CHECK_FATAL(list("abc;a=1;b=2; cde_456, (ghi;jk=4 l);q=\"9\";r=w") == 0);
  CHECK(A.n_members == 2);
  CHECK(mem[0].item.n_params == 3);
  const wt_sf_param *p = wt_sf_item_params(&A, &mem[0].item);
  CHECK(key_is(p[2].key, p[2].key_len, "cde_456") && p[2].value.type == WT_SF_BOOLEAN &&
        p[2].value.num == 1);
  const wt_sf_param *q = wt_sf_item_params(&A, &mem[1].item);
  CHECK(str_is(&q[0].value, WT_SF_STRING, "9") && str_is(&q[1].value, WT_SF_TOKEN, "w"));
  /* a repeated key overwrites in place */
  wt_sf_item it;
  CHECK_FATAL(item("abc;a=1;b=2;a=3", &it) == 0);
  CHECK(it.n_params == 2 && wt_sf_item_params(&A, &it)[0].value.num == 3);
  CHECK(item("abc;A=1", &it) == WT_ERR_MALFORMED); /* keys are lowercase */
  CHECK(item("abc;1a=1", &it) == WT_ERR_MALFORMED);
  CHECK(item("abc;*a.b-c_d=1", &it) == 0);
  CHECK(item("abc ;a=1", &it) == WT_ERR_MALFORMED);  /* no space before ';' */
  CHECK(item("abc; a=1", &it) == 0);                 /* SP after ';' is allowed */
  CHECK(item("abc;a=(1)", &it) == WT_ERR_MALFORMED); /* parameter values are bare items */
}

static void test_dict(void) {
  CHECK_FATAL(dict("en=\"Applepie\", da=:w4ZibGV0w6ZydGUK:") == 0);
  CHECK(A.n_members == 2 && key_is(mem[1].key, mem[1].key_len, "da"));
  CHECK(str_is(&mem[1].item.bare, WT_SF_BYTES,
               "\xc3\x86"
               "blet\xc3\xa6rte\n"));
  CHECK_FATAL(dict("a=?0, b, c; foo=bar") == 0);
  CHECK(A.n_members == 3 && mem[1].item.bare.type == WT_SF_BOOLEAN && mem[1].item.bare.num == 1);
  CHECK(mem[2].item.n_params == 1);
  CHECK_FATAL(dict("rating=1.5, feelings=(joy sadness)") == 0);
  CHECK(mem[0].item.bare.type == WT_SF_DECIMAL && mem[0].item.bare.num == 1500);
  CHECK(mem[1].inner && mem[1].n == 2);
  CHECK_FATAL(dict("a=1, b=2, a=3") == 0);
  CHECK(A.n_members == 2 && key_is(mem[0].key, mem[0].key_len, "a") && mem[0].item.bare.num == 3);
  CHECK(dict("") == 0 && A.n_members == 0);
  CHECK(dict("a=1,") == WT_ERR_MALFORMED);
  CHECK(dict("A=1") == WT_ERR_MALFORMED);
  CHECK(dict("a=1;b") == 0);
}

static void test_numbers(void) {
  int rv;
  CHECK(int_of("42", &rv) == 42 && rv == 0);
  CHECK(int_of("-42", &rv) == -42 && rv == 0);
  CHECK(int_of("0042", &rv) == 42 && rv == 0);
  CHECK(int_of("-0", &rv) == 0 && rv == 0);
  CHECK(int_of("999999999999999", &rv) == WT_SF_INTEGER_MAX && rv == 0);
  CHECK(int_of("-999999999999999", &rv) == -WT_SF_INTEGER_MAX && rv == 0);
  int_of("1000000000000000", &rv); /* 16 digits */
  CHECK(rv == WT_ERR_MALFORMED);
  int_of("-1000000000000000", &rv);
  CHECK(rv == WT_ERR_MALFORMED);
  int_of("-", &rv);
  CHECK(rv == WT_ERR_MALFORMED);
  int_of("- 42", &rv);
  CHECK(rv == WT_ERR_MALFORMED);
  int_of("42a", &rv);
  CHECK(rv == WT_ERR_MALFORMED);
  wt_sf_item it;
  CHECK(item("4.5", &it) == 0 && it.bare.type == WT_SF_DECIMAL && it.bare.num == 4500);
  CHECK(item("-4.5", &it) == 0 && it.bare.num == -4500);
  CHECK(item("1.123", &it) == 0 && it.bare.num == 1123);
  CHECK(item("1.1234", &it) == WT_ERR_MALFORMED); /* 4 fraction digits */
  CHECK(item("1.", &it) == WT_ERR_MALFORMED);
  CHECK(item("1..2", &it) == WT_ERR_MALFORMED);
  CHECK(item(".5", &it) == WT_ERR_MALFORMED);
  CHECK(item("123456789012.123", &it) == 0 && it.bare.num == 123456789012123LL);
  CHECK(item("-123456789012.123", &it) == 0 && it.bare.num == -123456789012123LL);
  CHECK(item("1234567890123.0", &it) == WT_ERR_MALFORMED); /* 13 integer digits */
  CHECK(item("@1659578233", &it) == 0 && it.bare.type == WT_SF_DATE && it.bare.num == 1659578233);
  CHECK(item("@-1", &it) == 0 && it.bare.num == -1);
  CHECK(item("@1659578233.12", &it) == WT_ERR_MALFORMED);
  CHECK(item("@", &it) == WT_ERR_MALFORMED);
}

static void test_strings(void) {
  wt_sf_item it;
  CHECK(item("\"hello world\"", &it) == 0 && str_is(&it.bare, WT_SF_STRING, "hello world"));
  CHECK(item("\"\"", &it) == 0 && str_is(&it.bare, WT_SF_STRING, ""));
  CHECK(item("\"a\\\"b\\\\c\"", &it) == 0 && str_is(&it.bare, WT_SF_STRING, "a\"b\\c"));
  CHECK(item("\"\\x\"", &it) == WT_ERR_MALFORMED); /* only \" and \\ */
  CHECK(item("\"a\\\"", &it) == WT_ERR_MALFORMED);
  CHECK(item("\"abc", &it) == WT_ERR_MALFORMED);
  CHECK(item("\"a\tb\"", &it) == WT_ERR_MALFORMED);
  CHECK(item("\"a\x7f\"", &it) == WT_ERR_MALFORMED);
  CHECK(item("\"a\" \"b\"", &it) == WT_ERR_MALFORMED);
  /* tokens */
  CHECK(item("*foo/bar:baz", &it) == 0 && str_is(&it.bare, WT_SF_TOKEN, "*foo/bar:baz"));
  CHECK(item("a!#$%&'*+-.^_`|~9", &it) == 0);
  CHECK(item("foo,bar", &it) == WT_ERR_MALFORMED);
  /* booleans */
  CHECK(item("?1", &it) == 0 && it.bare.type == WT_SF_BOOLEAN && it.bare.num == 1);
  CHECK(item("?0", &it) == 0 && it.bare.num == 0);
  CHECK(item("?2", &it) == WT_ERR_MALFORMED);
  CHECK(item("?", &it) == WT_ERR_MALFORMED);
  CHECK(item("?true", &it) == WT_ERR_MALFORMED);
  /* byte sequences (section 4.2.7: missing padding and pad bits accepted) */
  CHECK(item(":aGVsbG8=:", &it) == 0 && str_is(&it.bare, WT_SF_BYTES, "hello"));
  CHECK(item(":aGVsbG8:", &it) == 0 && str_is(&it.bare, WT_SF_BYTES, "hello"));
  CHECK(item(":aGVsbA==:", &it) == 0 && str_is(&it.bare, WT_SF_BYTES, "hell"));
  CHECK(item(":aGVsbB==:", &it) == 0 && str_is(&it.bare, WT_SF_BYTES, "hell"));
  CHECK(item("::", &it) == 0 && it.bare.type == WT_SF_BYTES && it.bare.len == 0);
  CHECK(item(":aGVsbG8=", &it) == WT_ERR_MALFORMED);
  CHECK(item(":aGVsb G8=:", &it) == WT_ERR_MALFORMED);
  CHECK(item(":aGVsbG!8=:", &it) == WT_ERR_MALFORMED);
  CHECK(item(":aGVs=bG8=:", &it) == WT_ERR_MALFORMED);
  CHECK(item(":a:", &it) == WT_ERR_MALFORMED);
  CHECK(item(":aGVsbG8.:", &it) == WT_ERR_MALFORMED);
  /* display strings */
  CHECK(item("%\"This is intended for display to %c3%bcsers.\"", &it) == 0 &&
        str_is(&it.bare, WT_SF_DISPLAY, "This is intended for display to \xc3\xbcsers."));
  CHECK(item("%\"%C3%BC\"", &it) == WT_ERR_MALFORMED); /* uppercase hex */
  CHECK(item("%\"%c3\"", &it) == WT_ERR_MALFORMED);    /* not UTF-8 */
  CHECK(item("%\"%c\"", &it) == WT_ERR_MALFORMED);
  CHECK(item("%\"abc", &it) == WT_ERR_MALFORMED);
  CHECK(item("%abc", &it) == WT_ERR_MALFORMED);
  CHECK(item("%\"\"", &it) == 0 && it.bare.type == WT_SF_DISPLAY && it.bare.len == 0);
  /* unknown leading characters */
  CHECK(item("", &it) == WT_ERR_MALFORMED);
  CHECK(item("!a", &it) == WT_ERR_MALFORMED);
  CHECK(item("1;a", &it) == 0);
}

static void test_limits(void) {
  /* RFC 9651 section 3.1: at least 1024 members must parse */
  static char big[1024 * 4 + 8];
  size_t n = 0;
  for (int i = 0; i < 1024; i++) {
    n += (size_t)snprintf(big + n, sizeof(big) - n, "%sa", i ? ", " : "");
  }
  CHECK(list(big) == 0 && A.n_members == 1024);
  wt_sf_member few[4];
  wt_sf_arena_init(&A, few, 4, NULL, 0, NULL, 0, bytes, 64);
  CHECK(wt_sf_parse_list(&A, (const uint8_t *)"1,2,3,4", 7) == 0 && A.n_members == 4);
  CHECK(wt_sf_parse_list(&A, (const uint8_t *)"1,2,3,4,5", 9) == WT_ERR_LIMIT);
  CHECK(wt_sf_parse_list(&A, (const uint8_t *)"1;a", 3) == WT_ERR_LIMIT); /* no params room */
  CHECK(wt_sf_parse_list(&A, (const uint8_t *)"(1)", 3) == WT_ERR_LIMIT); /* no items room */
  CHECK(wt_sf_parse_list(&A, (const uint8_t *)"()", 2) == 0);
  A.max_string = 3;
  CHECK(wt_sf_parse_list(&A, (const uint8_t *)"\"abc\"", 5) == 0);
  CHECK(wt_sf_parse_list(&A, (const uint8_t *)"\"abcd\"", 6) == WT_ERR_LIMIT);
  CHECK(wt_sf_parse_list(&A, (const uint8_t *)"abcd", 4) == WT_ERR_LIMIT);
  A.max_string = 64;
  A.max_input = 8;
  CHECK(wt_sf_parse_list(&A, (const uint8_t *)"\"abcdefg\"", 9) == WT_ERR_LIMIT);
  /* the byte area is shared by all decoded values of one parse */
  wt_sf_arena_init(&A, few, 4, NULL, 0, NULL, 0, bytes, 6);
  A.max_input = 64;
  CHECK(wt_sf_parse_list(&A, (const uint8_t *)"\"abc\", \"def\"", 12) == 0);
  CHECK(A.n_bytes == 6);
  CHECK(wt_sf_parse_list(&A, (const uint8_t *)"\"abc\", \"defg\"", 13) == WT_ERR_LIMIT);
  CHECK(wt_sf_parse_list(NULL, (const uint8_t *)"1", 1) == WT_ERR_INVAL);
}

static void test_serialize(void) {
  char out[64];
  CHECK(wt_sf_ser_string(out, sizeof(out), (const uint8_t *)"moq-lite-03", 11) == 13);
  CHECK(strcmp(out, "\"moq-lite-03\"") == 0);
  CHECK(wt_sf_ser_string(out, sizeof(out), (const uint8_t *)"a\"b\\c", 5) == 9);
  CHECK(strcmp(out, "\"a\\\"b\\\\c\"") == 0);
  CHECK(wt_sf_ser_string(out, sizeof(out), (const uint8_t *)"", 0) == 2);
  CHECK(wt_sf_ser_string(out, sizeof(out), (const uint8_t *)"\xc3\xbc", 2) == WT_ERR_INVAL);
  CHECK(wt_sf_ser_string(out, sizeof(out), (const uint8_t *)"a\nb", 3) == WT_ERR_INVAL);
  CHECK(wt_sf_ser_string(out, 5, (const uint8_t *)"abcd", 4) == WT_ERR_NOBUF);
  CHECK(wt_sf_ser_string(out, 7, (const uint8_t *)"abcd", 4) == 6); /* exactly fits + NUL */
  const char *pr[] = {"moq-lite-03", "x", "q\"uote"};
  int n = wt_sf_ser_string_list(out, sizeof(out), pr, 3);
  CHECK(n > 0 && strcmp(out, "\"moq-lite-03\", \"x\", \"q\\\"uote\"") == 0);
  CHECK(wt_sf_ser_string_list(out, sizeof(out), pr, 0) == 0 && out[0] == '\0');
  CHECK(wt_sf_ser_string_list(out, 20, pr, 3) == WT_ERR_NOBUF && out[0] == '\0');
  /* round trip: parse(serialize(x)) == x */
  n = wt_sf_ser_string_list(out, sizeof(out), pr, 3);
  CHECK_FATAL(list(out) == 0 && A.n_members == 3 && wt_sf_list_is_strings(&A));
  for (int i = 0; i < 3; i++) {
    CHECK(str_is(&mem[i].item.bare, WT_SF_STRING, pr[i]));
  }
  /* serialize(parse(x)) is canonical */
  CHECK_FATAL(list("  \"a\"  ,\t\"b\\\\\";q=1") == 0);
  char again[64];
  size_t used = 0;
  again[0] = 0;
  for (uint32_t i = 0; i < A.n_members; i++) {
    CHECK(wt_sf_ser_list_add_string(again, sizeof(again), &used, mem[i].item.bare.data,
                                    mem[i].item.bare.len) == 0);
  }
  CHECK(strcmp(again, "\"a\", \"b\\\\\"") == 0);
  /* a failed append leaves the output as it was */
  CHECK(wt_sf_ser_list_add_string(again, sizeof(again), &used, (const uint8_t *)"\x01", 1) ==
        WT_ERR_INVAL);
  CHECK(strcmp(again, "\"a\", \"b\\\\\"") == 0 && used == strlen(again));
}

int main(void) {
  WT_RUN(test_lists);
  WT_RUN(test_inner_lists);
  WT_RUN(test_params);
  WT_RUN(test_dict);
  WT_RUN(test_numbers);
  WT_RUN(test_strings);
  WT_RUN(test_limits);
  WT_RUN(test_serialize);
  WT_DONE();
}
