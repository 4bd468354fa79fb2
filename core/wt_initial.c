#include "wt_initial.h"

#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/hmac.h>

#include "wt_error.h"
#include "wt_varint.h"

#define QUIC_V1 UINT32_C(0x00000001)
#define QUIC_V2 UINT32_C(0x6b3343cf)

#define SECRET_LEN 32 /* SHA-256 */
#define TAG_LEN    16
#define SAMPLE_LEN 16
#define MAX_CIDLEN 20

/* RFC 9001 section 5.2 */
static const uint8_t salt_v1[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                    0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
/* RFC 9369 section 3.3.1 */
static const uint8_t salt_v2[20] = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                                    0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};

/* HKDF-Expand-Label(secret, label, "", outlen) (RFC 8446 section 7.1). */
static int expand_label(uint8_t *out, size_t outlen, const uint8_t *secret, const char *label) {
  uint8_t info[2 + 1 + 6 + 32 + 1];
  size_t ll = strlen(label);
  if (ll > 32) {
    return WT_ERR_INVAL;
  }
  size_t n = 0;
  info[n++] = (uint8_t)(outlen >> 8);
  info[n++] = (uint8_t)outlen;
  info[n++] = (uint8_t)(6 + ll);
  memcpy(info + n, "tls13 ", 6);
  n += 6;
  memcpy(info + n, label, ll);
  n += ll;
  info[n++] = 0; /* empty context */
  return wc_HKDF_Expand(WC_SHA256, secret, SECRET_LEN, info, (word32)n, out, (word32)outlen) == 0
             ? 0
             : WT_ERR_CRYPTO;
}

int wt_initial_client_keys(uint32_t version, const uint8_t *dcid, size_t dcidlen,
                           uint8_t key[WT_INITIAL_KEYLEN], uint8_t iv[WT_INITIAL_IVLEN],
                           uint8_t hp[WT_INITIAL_KEYLEN]) {
  const uint8_t *salt;
  const char *lk, *li, *lh;
  switch (version) {
  case QUIC_V1:
    salt = salt_v1, lk = "quic key", li = "quic iv", lh = "quic hp";
    break;
  case QUIC_V2:
    salt = salt_v2, lk = "quicv2 key", li = "quicv2 iv", lh = "quicv2 hp";
    break;
  default:
    return WT_ERR_UNSUPPORTED;
  }
  if (dcidlen > MAX_CIDLEN || (dcid == NULL && dcidlen > 0)) {
    return WT_ERR_INVAL;
  }
  uint8_t initial[SECRET_LEN], client[SECRET_LEN];
  /* wolfCrypt's HMAC wants a non-NULL key pointer even for 0 bytes */
  static const uint8_t none[1];
  int rv = WT_ERR_CRYPTO;
  if (wc_HKDF_Extract(WC_SHA256, salt, sizeof(salt_v1), dcidlen ? dcid : none, (word32)dcidlen,
                      initial) == 0 &&
      expand_label(client, SECRET_LEN, initial, "client in") == 0 &&
      expand_label(key, WT_INITIAL_KEYLEN, client, lk) == 0 &&
      expand_label(iv, WT_INITIAL_IVLEN, client, li) == 0 &&
      expand_label(hp, WT_INITIAL_KEYLEN, client, lh) == 0) {
    rv = 0;
  }
  memset(initial, 0, sizeof(initial));
  memset(client, 0, sizeof(client));
  return rv;
}

/* Offset of the (protected) packet number and the value of the Length
 * field of the long-header Initial at pkt (RFC 9000 section 17.2.2).
 * Returns 0 or WT_ERR_MALFORMED. */
static int initial_layout(const uint8_t *pkt, size_t len, size_t *pn_off, uint64_t *length) {
  size_t off = 5;               /* first byte, version */
  for (int i = 0; i < 2; i++) { /* DCID, SCID */
    if (off >= len || pkt[off] > MAX_CIDLEN) {
      return WT_ERR_MALFORMED;
    }
    off += 1 + (size_t)pkt[off];
  }
  uint64_t tokenlen;
  int n = off < len ? wt_varint_decode(pkt + off, len - off, &tokenlen) : WT_ERR_TRUNCATED;
  if (n < 0 || tokenlen > len - off - (size_t)n) {
    return WT_ERR_MALFORMED;
  }
  off += (size_t)n + (size_t)tokenlen;
  n = off < len ? wt_varint_decode(pkt + off, len - off, length) : WT_ERR_TRUNCATED;
  if (n < 0) {
    return WT_ERR_MALFORMED;
  }
  *pn_off = off + (size_t)n;
  return 0;
}

int wt_initial_check(const uint8_t *pkt, size_t len, uint32_t version, const uint8_t *dcid,
                     size_t dcidlen, uint8_t *scratch, size_t cap) {
  if (pkt == NULL || scratch == NULL || len < 5) {
    return WT_ERR_INVAL;
  }
  if (cap < len) {
    return WT_ERR_NOBUF;
  }
  uint8_t key[WT_INITIAL_KEYLEN], iv[WT_INITIAL_IVLEN], hp[WT_INITIAL_KEYLEN];
  int rv = wt_initial_client_keys(version, dcid, dcidlen, key, iv, hp);
  if (rv != 0) {
    return rv;
  }
  size_t pn_off;
  uint64_t length;
  rv = initial_layout(pkt, len, &pn_off, &length);
  /* The Length covers packet number and payload and must fit the datagram
   * (RFC 9000 section 17.2); the header-protection sample starts 4 bytes
   * after the packet number's start (RFC 9001 section 5.4.2). */
  if (rv != 0 || length > len - pn_off || pn_off + 4 + SAMPLE_LEN > pn_off + length) {
    return WT_ERR_MALFORMED;
  }
  Aes aes;
  uint8_t mask[AES_BLOCK_SIZE];
  if (wc_AesInit(&aes, NULL, INVALID_DEVID) != 0) {
    return WT_ERR_CRYPTO;
  }
  rv = wc_AesSetKey(&aes, hp, WT_INITIAL_KEYLEN, NULL, AES_ENCRYPTION) == 0 &&
               wc_AesEncryptDirect(&aes, mask, pkt + pn_off + 4) == 0
           ? 0
           : WT_ERR_CRYPTO;
  wc_AesFree(&aes);
  if (rv != 0) {
    return rv;
  }
  /* Section 5.4.1: long header: the low 4 bits of byte 0 are masked; the
   * packet number length is then (byte 0 & 3) + 1. */
  uint8_t b0 = (uint8_t)(pkt[0] ^ (mask[0] & 0x0f));
  size_t pnlen = (size_t)(b0 & 0x03) + 1;
  if (pnlen + TAG_LEN > length) {
    return WT_ERR_MALFORMED;
  }
  size_t hdrlen = pn_off + pnlen;
  uint8_t *aad = scratch, *plain = scratch + hdrlen;
  memcpy(aad, pkt, hdrlen);
  aad[0] = b0;
  uint64_t pn = 0;
  for (size_t i = 0; i < pnlen; i++) {
    aad[pn_off + i] ^= mask[1 + i];
    pn = (pn << 8) | aad[pn_off + i];
  }
  /* Section 5.3: nonce = iv XOR the packet number, left-padded. The first
   * packet of a connection: no packet received before, so the full packet
   * number is the truncated one (RFC 9000 appendix A.3 with largest = -1
   * keeps any candidate below the window). */
  for (size_t i = 0; i < 8; i++) {
    iv[WT_INITIAL_IVLEN - 1 - i] ^= (uint8_t)(pn >> (8 * i));
  }
  const uint8_t *ct = pkt + hdrlen;
  size_t ctlen = (size_t)length - pnlen - TAG_LEN;
  if (wc_AesInit(&aes, NULL, INVALID_DEVID) != 0) {
    return WT_ERR_CRYPTO;
  }
  rv = WT_ERR_CRYPTO;
  if (wc_AesGcmSetKey(&aes, key, WT_INITIAL_KEYLEN) == 0) {
    int dr = wc_AesGcmDecrypt(&aes, plain, ct, (word32)ctlen, iv, WT_INITIAL_IVLEN, ct + ctlen,
                              TAG_LEN, aad, (word32)hdrlen);
    rv = dr == 0 ? 0 : dr == AES_GCM_AUTH_E ? WT_ERR_MALFORMED : WT_ERR_CRYPTO;
  }
  wc_AesFree(&aes);
  memset(key, 0, sizeof(key));
  return rv;
}
