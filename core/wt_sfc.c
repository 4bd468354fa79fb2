/* wt_sfc.c: WebTransport session flow-control accounting (wt_sfc.h). */
#include "wt_sfc.h"

#include <string.h>

#include "wt_error.h"

void wt_sfc_init(wt_sfc *f) {
  memset(f, 0, sizeof(*f));
  wt_list_init(&f->waitq);
}

void wt_sfc_start(wt_sfc *f, uint64_t rx_data, uint64_t rx_bidi, uint64_t rx_uni,
                  uint64_t window_max, uint64_t tx_data, uint64_t tx_bidi, uint64_t tx_uni,
                  uint64_t now_ns) {
  f->on = 1;
  f->rx_max_data = f->rx_window = rx_data;
  f->rx_window_max = window_max > rx_data ? window_max : rx_data;
  f->rx_update_ns = now_ns;
  f->rx_max_streams[WT_SFC_BIDI] = f->rx_stream_window[WT_SFC_BIDI] = rx_bidi;
  f->rx_max_streams[WT_SFC_UNI] = f->rx_stream_window[WT_SFC_UNI] = rx_uni;
  f->tx_max_data = tx_data;
  f->tx_max_streams[WT_SFC_BIDI] = tx_bidi;
  f->tx_max_streams[WT_SFC_UNI] = tx_uni;
}

int wt_sfc_rx_stream(wt_sfc *f, int uni) {
  int k = uni ? WT_SFC_UNI : WT_SFC_BIDI;
  if (!f->on) {
    return 0;
  }
  /* draft-16 section 5.3: a stream beyond the limit is a flow-control
   * error (WT_FLOW_CONTROL_ERROR). */
  if (f->rx_streams[k] >= f->rx_max_streams[k]) {
    f->err = 1;
    return WT_ERR_LIMIT;
  }
  f->rx_streams[k]++;
  return 0;
}

int wt_sfc_rx_data(wt_sfc *f, uint64_t n) {
  if (!f->on) {
    return 0;
  }
  /* draft-16 section 5.4: more data than WT_MAX_DATA allows is a
   * flow-control error. */
  if (n > f->rx_max_data - f->rx_data) {
    f->err = 1;
    return WT_ERR_LIMIT;
  }
  f->rx_data += n;
  return 0;
}

int wt_sfc_rx_consumed(wt_sfc *f, uint64_t n, uint64_t now_ns, uint64_t rtt_ns) {
  if (!f->on) {
    return 0;
  }
  f->rx_consumed += n;
  if (f->rx_consumed > f->rx_data) {
    f->rx_consumed = f->rx_data; /* cannot happen; keep the arithmetic sane */
  }
  uint64_t left = f->rx_max_data - f->rx_consumed;
  if (left >= f->rx_window / 2 + (f->rx_window & 1)) {
    return 0;
  }
  /* Auto-tuning as QUIC stacks tune their connection window: a window used
   * up within two round trips is too small for the path. */
  if (rtt_ns && now_ns - f->rx_update_ns < 2 * rtt_ns && f->rx_window < f->rx_window_max) {
    f->rx_window = f->rx_window > f->rx_window_max / 2 ? f->rx_window_max : 2 * f->rx_window;
  }
  uint64_t lim = f->rx_consumed + f->rx_window;
  if (lim > WT_SFC_MAX_DATA || lim < f->rx_consumed) {
    lim = WT_SFC_MAX_DATA; /* a varint can say no more */
  }
  if (lim <= f->rx_max_data) {
    return 0;
  }
  f->rx_max_data = lim;
  f->rx_update_ns = now_ns;
  f->update_data = 1;
  return 1;
}

int wt_sfc_rx_stream_closed(wt_sfc *f, int uni) {
  int k = uni ? WT_SFC_UNI : WT_SFC_BIDI;
  if (!f->on) {
    return 0;
  }
  if (f->rx_closed[k] < f->rx_streams[k]) {
    f->rx_closed[k]++;
  }
  uint64_t w = f->rx_stream_window[k];
  if (w == 0 || f->rx_max_streams[k] - f->rx_closed[k] > w / 2) {
    return 0;
  }
  uint64_t lim = f->rx_closed[k] + w;
  if (lim > WT_SFC_MAX_STREAMS) {
    lim = WT_SFC_MAX_STREAMS;
  }
  if (lim <= f->rx_max_streams[k]) {
    return 0;
  }
  f->rx_max_streams[k] = lim;
  f->update_streams[k] = 1;
  return 1;
}

uint64_t wt_sfc_tx_avail(const wt_sfc *f) {
  if (!f->on) {
    return UINT64_MAX;
  }
  return f->tx_max_data > f->tx_data ? f->tx_max_data - f->tx_data : 0;
}

void wt_sfc_tx_sent(wt_sfc *f, uint64_t n) {
  if (f->on) {
    f->tx_data += n;
  }
}

int wt_sfc_tx_stream_take(wt_sfc *f, int uni) {
  int k = uni ? WT_SFC_UNI : WT_SFC_BIDI;
  if (!f->on) {
    return 1;
  }
  if (f->tx_streams[k] >= f->tx_max_streams[k]) {
    return 0;
  }
  f->tx_streams[k]++;
  return 1;
}

int wt_sfc_on_max_data(wt_sfc *f, uint64_t v) {
  if (v <= f->tx_max_data) {
    return 0; /* section 5.6.1: a limit never shrinks; an old one is ignored */
  }
  f->tx_max_data = v;
  return 1;
}

int wt_sfc_on_max_streams(wt_sfc *f, int uni, uint64_t v) {
  int k = uni ? WT_SFC_UNI : WT_SFC_BIDI;
  if (v > WT_SFC_MAX_STREAMS) {
    f->err = 1; /* section 5.6.2, as RFC 9000 section 19.11 */
    return WT_ERR_RANGE;
  }
  if (v <= f->tx_max_streams[k]) {
    return 0;
  }
  f->tx_max_streams[k] = v;
  return 1;
}

int wt_sfc_data_blocked_due(wt_sfc *f) {
  if (!f->on || f->data_blocked_at == f->tx_max_data + 1) {
    return 0;
  }
  f->data_blocked_at = f->tx_max_data + 1;
  return 1;
}

int wt_sfc_streams_blocked_due(wt_sfc *f, int uni) {
  int k = uni ? WT_SFC_UNI : WT_SFC_BIDI;
  if (!f->on || f->streams_blocked_at[k] == f->tx_max_streams[k] + 1) {
    return 0;
  }
  f->streams_blocked_at[k] = f->tx_max_streams[k] + 1;
  return 1;
}
