/* test_log.c: level parsing, runtime filtering, the compile-time floor, and
 * the default sink's line format. */
#include <ctype.h>
#include <errno.h>

#define WT_LOG_MODULE "test"
#include "check.h"
#include "wt_error.h"
#include "wt_log.h"

typedef struct {
  int n;
  int level[16];
  char module[16][16];
  char msg[16][WT_LOG_MSG_MAX];
  size_t len[16];
} capture;

static void capture_sink(void *ctx, int level, const char *module, const char *msg, size_t len) {
  capture *c = ctx;
  if (c->n >= 16) {
    return;
  }
  c->level[c->n] = level;
  snprintf(c->module[c->n], sizeof(c->module[0]), "%s", module);
  memcpy(c->msg[c->n], msg, len + 1);
  c->len[c->n] = len;
  c->n++;
}

static int side_effects;
static int bump(void) {
  return ++side_effects;
}

static void test_parse(void) {
  CHECK_EQ(wt_log_level_parse("error"), WT_LOG_LEVEL_ERROR);
  CHECK_EQ(wt_log_level_parse("warn"), WT_LOG_LEVEL_WARN);
  CHECK_EQ(wt_log_level_parse("WARNING"), WT_LOG_LEVEL_WARN);
  CHECK_EQ(wt_log_level_parse("info"), WT_LOG_LEVEL_INFO);
  CHECK_EQ(wt_log_level_parse("Debug"), WT_LOG_LEVEL_DEBUG);
  CHECK_EQ(wt_log_level_parse("trace"), WT_LOG_LEVEL_TRACE);
  CHECK_EQ(wt_log_level_parse("0"), WT_LOG_LEVEL_ERROR);
  CHECK_EQ(wt_log_level_parse("4"), WT_LOG_LEVEL_TRACE);
  CHECK_EQ(wt_log_level_parse("5"), WT_ERR_INVAL);
  CHECK_EQ(wt_log_level_parse("42"), WT_ERR_INVAL);
  CHECK_EQ(wt_log_level_parse(""), WT_ERR_INVAL);
  CHECK_EQ(wt_log_level_parse("verbose"), WT_ERR_INVAL);
  CHECK_EQ(wt_log_level_parse("info "), WT_ERR_INVAL);
  CHECK_EQ(wt_log_level_parse(NULL), WT_ERR_INVAL);
  CHECK(strcmp(wt_log_level_name(WT_LOG_LEVEL_WARN), "WARN") == 0);
  CHECK(strcmp(wt_log_level_name(WT_LOG_LEVEL_TRACE), "TRACE") == 0);
  CHECK(strcmp(wt_log_level_name(9), "?") == 0);
  CHECK(strcmp(wt_log_level_name(-1), "?") == 0);
}

static void test_filtering(void) {
  static capture c;
  memset(&c, 0, sizeof(c));
  wt_log_set_sink(capture_sink, &c);
  CHECK_EQ(wt_log_get_level(), WT_LOG_LEVEL_INFO); /* the default */

  side_effects = 0;
  WT_LOG_ERROR("e %d", 1);
  WT_LOG_WARN("w %s", "two");
  WT_LOG_INFO("i");
  WT_LOG_DEBUG("d %d", bump()); /* filtered: arguments not evaluated */
  WT_LOG_TRACE("t %d", bump());
  CHECK_EQ(side_effects, 0);
  CHECK_EQ(c.n, 3);
  CHECK_EQ(c.level[0], WT_LOG_LEVEL_ERROR);
  CHECK(strcmp(c.msg[0], "e 1") == 0);
  CHECK_EQ(c.len[0], 3);
  CHECK(strcmp(c.module[0], "test") == 0);
  CHECK_EQ(c.level[1], WT_LOG_LEVEL_WARN);
  CHECK(strcmp(c.msg[1], "w two") == 0);
  CHECK_EQ(c.level[2], WT_LOG_LEVEL_INFO);
  CHECK(strcmp(c.msg[2], "i") == 0);

  c.n = 0;
  wt_log_set_level(WT_LOG_LEVEL_WARN);
  WT_LOG_ERROR("e");
  WT_LOG_WARN("w");
  WT_LOG_INFO("i %d", bump());
  CHECK_EQ(c.n, 2);
  CHECK_EQ(side_effects, 0);

  c.n = 0;
  wt_log_set_level(WT_LOG_LEVEL_TRACE);
  WT_LOG_DEBUG("d %d", bump());
  WT_LOG_TRACE("t %d", bump());
  WT_LOGM(WT_LOG_LEVEL_INFO, "other", "explicit");
  CHECK_EQ(side_effects, 2);
  CHECK_EQ(c.n, 3);
  CHECK(strcmp(c.msg[0], "d 1") == 0 && c.level[0] == WT_LOG_LEVEL_DEBUG);
  CHECK(strcmp(c.msg[1], "t 2") == 0 && c.level[1] == WT_LOG_LEVEL_TRACE);
  CHECK(strcmp(c.module[2], "other") == 0);

  c.n = 0;
  wt_log_set_level(WT_LOG_LEVEL_ERROR);
  WT_LOG_WARN("w");
  WT_LOG_ERROR("e");
  CHECK_EQ(c.n, 1);

  /* Out-of-range levels are clamped. */
  wt_log_set_level(99);
  CHECK_EQ(wt_log_get_level(), WT_LOG_LEVEL_TRACE);
  wt_log_set_level(-5);
  CHECK_EQ(wt_log_get_level(), WT_LOG_LEVEL_ERROR);

  wt_log_set_level(WT_LOG_LEVEL_INFO);
  wt_log_set_sink(NULL, NULL);
}

static void test_one_line_and_truncation(void) {
  static capture c;
  memset(&c, 0, sizeof(c));
  wt_log_set_sink(capture_sink, &c);

  WT_LOG_INFO("first\nsecond\r\nthird");
  CHECK_EQ(c.n, 1);
  CHECK(strcmp(c.msg[0], "first second  third") == 0);

  static char big[3 * WT_LOG_MSG_MAX];
  memset(big, 'x', sizeof(big) - 1);
  WT_LOG_INFO("%s", big);
  CHECK_EQ(c.n, 2);
  CHECK_EQ(c.len[1], WT_LOG_MSG_MAX - 1);
  CHECK_EQ(strlen(c.msg[1]), WT_LOG_MSG_MAX - 1);
  CHECK(memcmp(c.msg[1] + WT_LOG_MSG_MAX - 4, "...", 3) == 0);

  /* errno survives a log call. */
  errno = ERANGE;
  WT_LOG_INFO("errno kept");
  CHECK_EQ(errno, ERANGE);

  wt_log_set_sink(NULL, NULL);
}

static void test_default_sink_format(void) {
  FILE *f = tmpfile();
  CHECK_FATAL(f != NULL);
  wt_log_set_sink(wt_log_sink_stderr, f);
  WT_LOG_WARN("hello %d", 7);
  WT_LOGM(WT_LOG_LEVEL_ERROR, "conn", "cid=%s", "0a0b");
  wt_log_set_sink(NULL, NULL);

  rewind(f);
  char line[256];
  CHECK_FATAL(fgets(line, sizeof(line), f) != NULL);
  /* 2025-01-31T12:34:56.789012Z WARN  [test] hello 7 */
  const char *pat = "dddd-dd-ddTdd:dd:dd.ddddddZ ";
  size_t plen = strlen(pat);
  int ok = strlen(line) > plen;
  for (size_t i = 0; ok && i < plen; i++) {
    ok = pat[i] == 'd' ? isdigit((unsigned char)line[i]) != 0 : line[i] == pat[i];
  }
  CHECK(ok);
  CHECK(strcmp(line + plen, "WARN  [test] hello 7\n") == 0);
  CHECK_FATAL(fgets(line, sizeof(line), f) != NULL);
  CHECK(strcmp(line + plen, "ERROR [conn] cid=0a0b\n") == 0);
  CHECK(fgets(line, sizeof(line), f) == NULL);
  fclose(f);
}

/* The compile-time floor: the macros read WT_LOG_FLOOR where they are used,
 * so lowering it here affects only the code below. */
#undef WT_LOG_FLOOR
#define WT_LOG_FLOOR WT_LOG_LEVEL_INFO

static void test_compile_floor(void) {
  static capture c;
  memset(&c, 0, sizeof(c));
  wt_log_set_sink(capture_sink, &c);
  wt_log_set_level(WT_LOG_LEVEL_TRACE);
  side_effects = 0;
  WT_LOG_DEBUG("d %d", bump());
  WT_LOG_TRACE("t %d", bump());
  WT_LOG_INFO("i");
  CHECK_EQ(side_effects, 0);
  CHECK_EQ(c.n, 1);
  CHECK_EQ(c.level[0], WT_LOG_LEVEL_INFO);
  CHECK(!wt_log_enabled(WT_LOG_LEVEL_DEBUG));
  CHECK(wt_log_enabled(WT_LOG_LEVEL_INFO));
  wt_log_set_level(WT_LOG_LEVEL_INFO);
  wt_log_set_sink(NULL, NULL);
}

int main(void) {
  WT_RUN(test_parse);
  WT_RUN(test_filtering);
  WT_RUN(test_one_line_and_truncation);
  WT_RUN(test_default_sink_format);
  WT_RUN(test_compile_floor);
  WT_DONE();
}
