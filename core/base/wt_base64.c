/* wt_base64.c: see wt_base64.h. */
#include "wt_base64.h"

#include "wt_error.h"

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64_value(unsigned char c, int url) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == (url ? '-' : '+')) {
    return 62;
  }
  if (c == (url ? '_' : '/')) {
    return 63;
  }
  return -1;
}

int wt_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap, unsigned flags) {
  if (n > INT32_MAX) {
    return WT_ERR_LIMIT;
  }
  size_t data_n = n;
  while (data_n > 0 && in[data_n - 1] == '=' && n - data_n < 2) {
    data_n--;
  }
  if (n != data_n && (!(flags & WT_B64_PAD_OK) || n % 4 != 0)) {
    return WT_ERR_MALFORMED; /* '=' that is not (allowed) padding */
  }
  if (data_n % 4 == 1) {
    return WT_ERR_MALFORMED; /* RFC 4648 section 4: no encoding has this length */
  }
  size_t out_n = data_n / 4 * 3 + (data_n % 4 ? data_n % 4 - 1 : 0);
  if (out_n > cap) {
    return WT_ERR_NOBUF;
  }
  int url = (flags & WT_B64_URL) != 0;
  uint32_t acc = 0;
  size_t k = 0, bits = 0;
  for (size_t i = 0; i < data_n; i++) {
    int v = b64_value((unsigned char)in[i], url);
    if (v < 0) {
      return WT_ERR_MALFORMED;
    }
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[k++] = (uint8_t)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  if ((flags & WT_B64_STRICT) && acc != 0) {
    return WT_ERR_MALFORMED; /* RFC 4648 section 3.5: pad bits set */
  }
  return (int)k;
}

int wt_base64_encode(const uint8_t *in, size_t n, char *out, size_t cap, unsigned flags) {
  if (n > INT32_MAX / 2) {
    return WT_ERR_LIMIT;
  }
  size_t need = wt_base64_encoded_len(n, flags);
  if (cap < need + 1) {
    return WT_ERR_NOBUF;
  }
  const char *a = (flags & WT_B64_URL) ? b64_url : b64_std;
  size_t k = 0, i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[k++] = a[v >> 18];
    out[k++] = a[(v >> 12) & 63];
    out[k++] = a[(v >> 6) & 63];
    out[k++] = a[v & 63];
  }
  if (i < n) {
    size_t rem = n - i; /* 1 or 2 */
    uint32_t v = (uint32_t)in[i] << 16 | (rem == 2 ? (uint32_t)in[i + 1] << 8 : 0);
    out[k++] = a[v >> 18];
    out[k++] = a[(v >> 12) & 63];
    if (rem == 2) {
      out[k++] = a[(v >> 6) & 63];
    }
    if (!(flags & WT_B64_URL)) {
      if (rem == 1) {
        out[k++] = '=';
      }
      out[k++] = '=';
    }
  }
  out[k] = '\0';
  return (int)k;
}
