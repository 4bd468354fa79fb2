/* test_error.c: error names and the HTTP/3 mapping. */
#include "check.h"
#include "wt_error.h"

static void test_str(void) {
  static const struct {
    int rv;
    const char *name;
  } names[] = {
      {WT_ERR_AGAIN, "WT_ERR_AGAIN"},
      {WT_ERR_INVAL, "WT_ERR_INVAL"},
      {WT_ERR_TRUNCATED, "WT_ERR_TRUNCATED"},
      {WT_ERR_RANGE, "WT_ERR_RANGE"},
      {WT_ERR_NOMEM, "WT_ERR_NOMEM"},
      {WT_ERR_NOBUF, "WT_ERR_NOBUF"},
      {WT_ERR_LIMIT, "WT_ERR_LIMIT"},
      {WT_ERR_NOTFOUND, "WT_ERR_NOTFOUND"},
      {WT_ERR_STATE, "WT_ERR_STATE"},
      {WT_ERR_MALFORMED, "WT_ERR_MALFORMED"},
      {WT_ERR_CLOSED, "WT_ERR_CLOSED"},
      {WT_ERR_REFUSED, "WT_ERR_REFUSED"},
      {WT_ERR_IO, "WT_ERR_IO"},
      {WT_ERR_UNSUPPORTED, "WT_ERR_UNSUPPORTED"},
      {WT_ERR_CONFIG, "WT_ERR_CONFIG"},
      {WT_ERR_CRYPTO, "WT_ERR_CRYPTO"},
      {WT_ERR_FATAL, "WT_ERR_FATAL"},
      {WT_ERR_PROTO, "WT_ERR_PROTO"},
      {WT_ERR_INTERNAL, "WT_ERR_INTERNAL"},
      {WT_ERR_QUIC, "WT_ERR_QUIC"},
      {WT_ERR_H3, "WT_ERR_H3"},
  };
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    const char *s = wt_err_str(names[i].rv);
    CHECK(s != NULL && strcmp(s, names[i].name) == 0);
  }
  CHECK(strcmp(wt_err_str(0), "WT_OK") == 0);
  CHECK(strcmp(wt_err_str(42), "WT_OK") == 0);
  CHECK(strcmp(wt_err_str(-17), "WT_ERR_UNKNOWN") == 0);
  CHECK(strcmp(wt_err_str(-99), "WT_ERR_UNKNOWN") == 0);
  CHECK(strcmp(wt_err_str(-105), "WT_ERR_UNKNOWN") == 0);
  CHECK(strcmp(wt_err_str(-2147483647 - 1), "WT_ERR_UNKNOWN") == 0);
}

static void test_fatal(void) {
  CHECK(!wt_err_is_fatal(0));
  CHECK(!wt_err_is_fatal(WT_ERR_AGAIN));
  CHECK(!wt_err_is_fatal(WT_ERR_CRYPTO));
  CHECK(wt_err_is_fatal(WT_ERR_FATAL));
  CHECK(wt_err_is_fatal(WT_ERR_PROTO));
  CHECK(wt_err_is_fatal(WT_ERR_H3));
}

static void test_to_h3(void) {
  CHECK_EQ(wt_err_to_h3(0), WT_H3_NO_ERROR);
  CHECK_EQ(wt_err_to_h3(7), WT_H3_NO_ERROR);
  CHECK_EQ(wt_err_to_h3(WT_ERR_MALFORMED), WT_H3_MESSAGE_ERROR);
  CHECK_EQ(wt_err_to_h3(WT_ERR_PROTO), WT_H3_GENERAL_PROTOCOL_ERROR);
  CHECK_EQ(wt_err_to_h3(WT_ERR_REFUSED), WT_H3_REQUEST_REJECTED);
  CHECK_EQ(wt_err_to_h3(WT_ERR_LIMIT), WT_H3_REQUEST_REJECTED);
  CHECK_EQ(wt_err_to_h3(WT_ERR_NOMEM), WT_H3_EXCESSIVE_LOAD);
  CHECK_EQ(wt_err_to_h3(WT_ERR_INTERNAL), WT_H3_INTERNAL_ERROR);
  CHECK_EQ(wt_err_to_h3(WT_ERR_AGAIN), WT_H3_INTERNAL_ERROR);
  CHECK_EQ(wt_err_to_h3(WT_ERR_QUIC), WT_H3_INTERNAL_ERROR);
  CHECK_EQ(wt_err_to_h3(-12345), WT_H3_INTERNAL_ERROR);
  CHECK_EQ(WT_H3_NO_ERROR, 0x100);
  CHECK_EQ(WT_H3_MESSAGE_ERROR, 0x10e);
}

int main(void) {
  WT_RUN(test_str);
  WT_RUN(test_fatal);
  WT_RUN(test_to_h3);
  WT_DONE();
}
