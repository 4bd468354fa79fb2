/* wt_base64.h: Base64 (RFC 4648 section 4) and base64url (section 5).
 *
 * The one codec of the tree: Structured Field Byte Sequences (wt_sf.c) and
 * the JOSE objects of auth/ (JWS segments and JWK members are base64url,
 * RFC 7515 section 2) decode with it. Pure functions: no allocation, no
 * state, any thread. */
#ifndef WT_BASE64_H
#define WT_BASE64_H

#include <stddef.h>
#include <stdint.h>

enum {
  WT_B64_URL = 1,    /* the URL-safe alphabet ('-' and '_' instead of '+' and '/') */
  WT_B64_PAD_OK = 2, /* decode: one or two '=' may end a text whose length is a multiple of 4 */
  WT_B64_STRICT = 4, /* decode: the unused low bits of the last character must be 0 */
};

/* The bytes n characters decode to at most. */
static inline size_t wt_base64_decoded_max(size_t n) {
  return n / 4 * 3 + 2;
}

/* The characters wt_base64_encode writes for n bytes (without the NUL):
 * padded to a multiple of 4 for the standard alphabet, unpadded with
 * WT_B64_URL (as JOSE wants). */
static inline size_t wt_base64_encoded_len(size_t n, unsigned flags) {
  return (flags & WT_B64_URL) ? n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0) : (n + 2) / 3 * 4;
}

/* Decode in[0..n) into out (cap bytes). Missing padding is always
 * accepted; '=' only as WT_B64_PAD_OK allows. Returns the decoded length,
 * WT_ERR_MALFORMED (a character outside the alphabet, a length no encoding
 * has (n % 4 == 1), misplaced '=', or non-zero unused bits with
 * WT_B64_STRICT), WT_ERR_NOBUF (cap too small) or WT_ERR_LIMIT (n above
 * INT32_MAX). */
int wt_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap, unsigned flags);

/* Encode in[0..n) into out with a terminating NUL (cap must hold
 * wt_base64_encoded_len + 1). Returns the length written, WT_ERR_NOBUF or
 * WT_ERR_LIMIT (n above INT32_MAX / 2). */
int wt_base64_encode(const uint8_t *in, size_t n, char *out, size_t cap, unsigned flags);

#endif
