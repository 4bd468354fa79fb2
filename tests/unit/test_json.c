/* test_json: client/wt_json.h: the pretty and compact layouts, escaping,
 * numbers, empty containers. */
#include "check.h"
#include "wt_json.h"

static char *render(int pretty) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  wt_json j;
  wt_json_init(&j, f, pretty);
  wt_json_begin_obj(&j, NULL);
  wt_json_str(&j, "s", "a\"b\\\n\x01");
  wt_json_strn(&j, "bin", "\xff", 1);
  wt_json_u64(&j, "u", 18446744073709551615u);
  wt_json_i64(&j, "i", -5);
  wt_json_bool(&j, "t", 1);
  wt_json_fixed3(&j, "f", 1.5);
  wt_json_num(&j, "g", 0.25);
  wt_json_null(&j, "n");
  wt_json_hex64(&j, "h", 0xabc);
  wt_json_begin_arr(&j, "a");
  wt_json_u64(&j, NULL, 1);
  wt_json_begin_obj(&j, NULL);
  wt_json_end_obj(&j);
  wt_json_end_arr(&j);
  wt_json_begin_arr(&j, "e");
  wt_json_end_arr(&j);
  wt_json_end_obj(&j);
  fclose(f);
  return buf;
}

static void test_compact(void) {
  char *s = render(0);
  CHECK(strcmp(s, "{\"s\":\"a\\\"b\\\\\\n\\u0001\",\"bin\":\"\\u00ff\",\"u\":18446744073709551615,"
                  "\"i\":-5,\"t\":true,\"f\":1.500,\"g\":0.25,\"n\":null,"
                  "\"h\":\"0000000000000abc\",\"a\":[1,{}],\"e\":[]}\n") == 0);
  free(s);
}

static void test_pretty(void) {
  char *s = render(1);
  CHECK(strncmp(s, "{\n  \"s\": \"a\\\"b", 14) == 0);
  CHECK(strstr(s, "\n  \"a\": [\n    1,\n    {}\n  ],\n  \"e\": []\n}\n") != NULL);
  free(s);
}

int main(void) {
  WT_RUN(test_compact);
  WT_RUN(test_pretty);
  WT_DONE();
}
