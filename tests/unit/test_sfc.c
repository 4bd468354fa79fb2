/* test_sfc.c: session flow-control accounting (core/wt_sfc.h,
 * draft-ietf-webtrans-http3-16 section 5). */
#include "check.h"
#include "wt_error.h"
#include "wt_sfc.h"

#define MS UINT64_C(1000000)

static void test_off(void) {
  wt_sfc f;
  wt_sfc_init(&f);
  CHECK_EQ(wt_sfc_rx_stream(&f, 1), 0);
  CHECK_EQ(wt_sfc_rx_data(&f, UINT64_C(1) << 40), 0);
  CHECK_EQ(wt_sfc_tx_avail(&f), UINT64_MAX);
  CHECK_EQ(wt_sfc_tx_stream_take(&f, 0), 1);
  CHECK_EQ(wt_sfc_data_blocked_due(&f), 0);
  CHECK_EQ(wt_sfc_rx_consumed(&f, 100, 0, 0), 0);
  CHECK(wt_list_empty(&f.waitq));
}

static void test_rx_limits(void) {
  wt_sfc f;
  wt_sfc_init(&f);
  wt_sfc_start(&f, 1000, 2, 1, 1000, 0, 0, 0, 0);
  /* streams: 2 bidi, 1 uni; the next is an error */
  CHECK_EQ(wt_sfc_rx_stream(&f, 0), 0);
  CHECK_EQ(wt_sfc_rx_stream(&f, 0), 0);
  CHECK_EQ(wt_sfc_rx_stream(&f, 1), 0);
  CHECK_EQ(f.err, 0);
  CHECK_EQ(wt_sfc_rx_stream(&f, 1), WT_ERR_LIMIT);
  CHECK_EQ(f.err, 1);
  /* data: exactly the limit is fine, one more byte is not */
  wt_sfc_init(&f);
  wt_sfc_start(&f, 1000, 2, 1, 1000, 0, 0, 0, 0);
  CHECK_EQ(wt_sfc_rx_data(&f, 999), 0);
  CHECK_EQ(wt_sfc_rx_data(&f, 1), 0);
  CHECK_EQ(wt_sfc_rx_data(&f, 1), WT_ERR_LIMIT);
  CHECK_EQ(f.err, 1);
}

static void test_rx_window_updates(void) {
  wt_sfc f;
  wt_sfc_init(&f);
  wt_sfc_start(&f, 1000, 2, 2, 8000, 0, 0, 0, 0);
  CHECK_EQ(wt_sfc_rx_data(&f, 1000), 0);
  /* up to half consumed: no update */
  CHECK_EQ(wt_sfc_rx_consumed(&f, 499, 1000 * MS, 10 * MS), 0);
  CHECK_EQ(f.update_data, 0);
  /* past half: limit = consumed + window; slow (no recent raise): no growth */
  CHECK_EQ(wt_sfc_rx_consumed(&f, 2, 1000 * MS, 10 * MS), 1);
  CHECK_EQ(f.rx_max_data, 501 + 1000);
  CHECK_EQ(f.update_data, 1);
  /* the next raise within 2 RTT doubles the window (auto-tuning) */
  CHECK_EQ(wt_sfc_rx_data(&f, 501), 0);
  CHECK_EQ(wt_sfc_rx_consumed(&f, 1000, 1005 * MS, 10 * MS), 1);
  CHECK_EQ(f.rx_window, 2000);
  CHECK_EQ(f.rx_max_data, 1501 + 2000);
  /* ... never beyond the bound */
  for (int i = 0; i < 10; i++) {
    uint64_t n = f.rx_max_data - f.rx_data;
    CHECK_EQ(wt_sfc_rx_data(&f, n), 0);
    wt_sfc_rx_consumed(&f, n, (1006 + (uint64_t)i) * MS, 10 * MS);
  }
  CHECK_EQ(f.rx_window, 8000);
  CHECK(f.rx_max_data - f.rx_consumed <= 8000);
  /* consumed never exceeds received */
  wt_sfc_rx_consumed(&f, 1u << 30, 2000 * MS, 0);
  CHECK_EQ(f.rx_consumed, f.rx_data);
}

static void test_rx_stream_credit(void) {
  wt_sfc f;
  wt_sfc_init(&f);
  wt_sfc_start(&f, 1000, 2, 4, 1000, 0, 0, 0, 0);
  CHECK_EQ(wt_sfc_rx_stream(&f, 0), 0);
  CHECK_EQ(wt_sfc_rx_stream(&f, 0), 0);
  /* window 2: the first close leaves 1 <= 2/2: limit = 1 + 2 */
  CHECK_EQ(wt_sfc_rx_stream_closed(&f, 0), 1);
  CHECK_EQ(f.rx_max_streams[WT_SFC_BIDI], 3);
  CHECK_EQ(f.update_streams[WT_SFC_BIDI], 1);
  CHECK_EQ(wt_sfc_rx_stream(&f, 0), 0);
  CHECK_EQ(wt_sfc_rx_stream(&f, 0), WT_ERR_LIMIT);
  /* window 4 (uni): one close of 1 opened leaves 4 - 1 = 3 > 2: none yet */
  wt_sfc_init(&f);
  wt_sfc_start(&f, 1000, 2, 4, 1000, 0, 0, 0, 0);
  CHECK_EQ(wt_sfc_rx_stream(&f, 1), 0);
  CHECK_EQ(wt_sfc_rx_stream_closed(&f, 1), 0);
  CHECK_EQ(wt_sfc_rx_stream(&f, 1), 0);
  CHECK_EQ(wt_sfc_rx_stream_closed(&f, 1), 1);
  CHECK_EQ(f.rx_max_streams[WT_SFC_UNI], 2 + 4);
  /* a close that was never counted open does not count */
  CHECK_EQ(wt_sfc_rx_stream_closed(&f, 1), 0);
  CHECK_EQ(f.rx_closed[WT_SFC_UNI], 2);
}

static void test_tx(void) {
  wt_sfc f;
  wt_sfc_init(&f);
  wt_sfc_start(&f, 0, 0, 0, 0, 100, 1, 0, 0);
  CHECK_EQ(wt_sfc_tx_avail(&f), 100);
  wt_sfc_tx_sent(&f, 60);
  CHECK_EQ(wt_sfc_tx_avail(&f), 40);
  wt_sfc_tx_sent(&f, 40);
  CHECK_EQ(wt_sfc_tx_avail(&f), 0);
  /* one WT_DATA_BLOCKED per limit value */
  CHECK_EQ(wt_sfc_data_blocked_due(&f), 1);
  CHECK_EQ(wt_sfc_data_blocked_due(&f), 0);
  CHECK_EQ(wt_sfc_on_max_data(&f, 50), 0); /* smaller: ignored */
  CHECK_EQ(wt_sfc_on_max_data(&f, 100), 0);
  CHECK_EQ(wt_sfc_on_max_data(&f, 150), 1);
  CHECK_EQ(wt_sfc_tx_avail(&f), 50);
  wt_sfc_tx_sent(&f, 50);
  CHECK_EQ(wt_sfc_data_blocked_due(&f), 1); /* a new limit: again */
  /* streams */
  CHECK_EQ(wt_sfc_tx_stream_take(&f, 0), 1);
  CHECK_EQ(wt_sfc_tx_stream_take(&f, 0), 0);
  CHECK_EQ(wt_sfc_tx_stream_take(&f, 1), 0);
  CHECK_EQ(wt_sfc_streams_blocked_due(&f, 1), 1);
  CHECK_EQ(wt_sfc_streams_blocked_due(&f, 1), 0);
  CHECK_EQ(wt_sfc_streams_blocked_due(&f, 0), 1);
  CHECK_EQ(wt_sfc_on_max_streams(&f, 1, 3), 1);
  CHECK_EQ(wt_sfc_on_max_streams(&f, 1, 2), 0);
  CHECK_EQ(wt_sfc_tx_stream_take(&f, 1), 1);
  CHECK_EQ(f.err, 0);
  CHECK_EQ(wt_sfc_on_max_streams(&f, 0, WT_SFC_MAX_STREAMS), 1);
  CHECK_EQ(wt_sfc_on_max_streams(&f, 0, WT_SFC_MAX_STREAMS + 1), WT_ERR_RANGE);
  CHECK_EQ(f.err, 1);
}

int main(void) {
  WT_RUN(test_off);
  WT_RUN(test_rx_limits);
  WT_RUN(test_rx_window_updates);
  WT_RUN(test_rx_stream_credit);
  WT_RUN(test_tx);
  WT_DONE();
}
