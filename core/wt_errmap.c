/* wt_errmap.c: WebTransport <-> HTTP/3 application error code mapping. */
#include "wt_errmap.h"

#include "wt_error.h"

int wt_errmap_is_grease(uint64_t h) {
  /* RFC 9114 section 8.1: codes of the form 0x1f * N + 0x21 are reserved. */
  return h >= 0x21 && (h - 0x21) % 0x1f == 0;
}

uint64_t wt_errmap_app_to_h3(uint32_t n) {
  /* draft-ietf-webtrans-http3-16 section 4.4, figure 4: one GREASE point
   * follows every 0x1e codes of the range, so skip n / 0x1e of them. */
  return WT_APP_ERR_FIRST + n + n / 0x1e;
}

int wt_errmap_h3_to_app(uint64_t h, uint32_t *n) {
  /* draft-ietf-webtrans-http3-16 section 4.4: outside the range, or on a
   * reserved point, there is no application error code. */
  if (h < WT_APP_ERR_FIRST || h > WT_APP_ERR_LAST || wt_errmap_is_grease(h)) {
    return WT_ERR_RANGE;
  }
  uint64_t s = h - WT_APP_ERR_FIRST;
  /* s - s / 0x1f <= 0xffffffff for s <= LAST - FIRST, so the cast is exact. */
  *n = (uint32_t)(s - s / 0x1f);
  return 0;
}
