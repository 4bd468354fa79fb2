/* wt_utf8.c: strict UTF-8 validation (RFC 3629). */
#include "wt_utf8.h"

int wt_utf8_valid(const uint8_t *p, size_t len) {
  size_t i = 0;
  while (i < len) {
    uint8_t b = p[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    /* RFC 3629 section 4 (UTF8-2/3/4): the lead byte fixes the length and
     * the allowed range of the second byte; that range is what excludes
     * overlongs, surrogates and code points above U+10FFFF. */
    size_t n;
    uint8_t lo = 0x80, hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) {
      n = 2;
    } else if (b >= 0xe0 && b <= 0xef) {
      n = 3;
      if (b == 0xe0) {
        lo = 0xa0; /* overlong below U+0800 */
      } else if (b == 0xed) {
        hi = 0x9f; /* U+D800..U+DFFF are surrogates */
      }
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 4;
      if (b == 0xf0) {
        lo = 0x90; /* overlong below U+10000 */
      } else if (b == 0xf4) {
        hi = 0x8f; /* above U+10FFFF */
      }
    } else {
      return 0; /* 80..C1 (continuation or overlong lead), F5..FF */
    }
    if (len - i < n) {
      return 0;
    }
    if (p[i + 1] < lo || p[i + 1] > hi) {
      return 0;
    }
    for (size_t k = 2; k < n; k++) {
      if ((p[i + k] & 0xc0) != 0x80) {
        return 0;
      }
    }
    i += n;
  }
  return 1;
}
