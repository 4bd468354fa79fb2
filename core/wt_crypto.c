/* wt_crypto.c: native wolfCrypt AES-GCM and AES header protection for
 * ngtcp2 (see wt_crypto.h for why and how it is checked). */
#define WT_LOG_MODULE "crypto"
#include "wt_crypto.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/openssl/evp.h>
#include <wolfssl/quic.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>

#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_wolfssl.h>

#include "wt_log.h"

/* Both AEADs (AES-GCM, ChaCha20-Poly1305) have 16-byte tags and take
 * 12-byte nonces in QUIC. */
#define AEAD_TAGLEN   16
#define AEAD_NONCELEN 12

/* seal or open: dest, key context, input, length, nonce, length, AAD, length */
typedef int (*aead_fn)(uint8_t *, const ngtcp2_crypto_aead_ctx *, const uint8_t *, size_t,
                       const uint8_t *, size_t, const uint8_t *, size_t);

static atomic_int g_once;               /* 0 not run, 1 running, 2 done (core/ has no pthreads) */
static int g_native;                    /* 1 once the AES self-test passed */
static int g_chacha;                    /* 1 once the ChaCha20 self-test passed */
static const void *g_gcm128, *g_gcm256; /* WOLFSSL_EVP_CIPHER handles */
static const void *g_ecb128, *g_ecb256; /* ngtcp2's AES header protection */
static const void *g_chachapoly;

static Aes *ctx_aes(const void *native_handle) {
  return &((WOLFSSL_EVP_CIPHER_CTX *)native_handle)->cipher.aes;
}

static int is_gcm(const ngtcp2_crypto_aead *aead) {
  return aead->native_handle == g_gcm128 || aead->native_handle == g_gcm256;
}

static int is_chacha(const ngtcp2_crypto_aead *aead) {
  return aead->native_handle != NULL && aead->native_handle == g_chachapoly;
}

static int is_aes_hp(const ngtcp2_crypto_cipher *hp) {
  return hp->native_handle == g_ecb128 || hp->native_handle == g_ecb256;
}

static int native_encrypt(uint8_t *dest, const ngtcp2_crypto_aead_ctx *ctx, const uint8_t *pt,
                          size_t ptlen, const uint8_t *nonce, size_t noncelen, const uint8_t *aad,
                          size_t aadlen) {
  if (ptlen > UINT32_MAX || noncelen != AEAD_NONCELEN || aadlen > UINT32_MAX) {
    return -1;
  }
  return wc_AesGcmEncrypt(ctx_aes(ctx->native_handle), dest, pt, (word32)ptlen, nonce,
                          (word32)noncelen, dest + ptlen, AEAD_TAGLEN, aad, (word32)aadlen) == 0
             ? 0
             : -1;
}

static int native_decrypt(uint8_t *dest, const ngtcp2_crypto_aead_ctx *ctx, const uint8_t *ct,
                          size_t ctlen, const uint8_t *nonce, size_t noncelen, const uint8_t *aad,
                          size_t aadlen) {
  if (ctlen < AEAD_TAGLEN || ctlen > UINT32_MAX || noncelen != AEAD_NONCELEN ||
      aadlen > UINT32_MAX) {
    return -1;
  }
  size_t n = ctlen - AEAD_TAGLEN;
  return wc_AesGcmDecrypt(ctx_aes(ctx->native_handle), dest, ct, (word32)n, nonce, (word32)noncelen,
                          ct + n, AEAD_TAGLEN, aad, (word32)aadlen) == 0
             ? 0
             : -1;
}

/* ChaCha20-Poly1305 with the key the EVP context keeps for re-inits. The
 * EVP path itself cannot be used to open packets: wolfSSL before the fix for
 * CVE-2026-5479 (5.7.2 included) returns the plaintext of a ChaCha20-Poly1305
 * decryption without checking its tag. wc_ChaCha20Poly1305_Decrypt checks. */
static const uint8_t *chacha_key(const ngtcp2_crypto_aead_ctx *ctx) {
  return ((WOLFSSL_EVP_CIPHER_CTX *)ctx->native_handle)->key;
}

static int native_chacha_encrypt(uint8_t *dest, const ngtcp2_crypto_aead_ctx *ctx,
                                 const uint8_t *pt, size_t ptlen, const uint8_t *nonce,
                                 size_t noncelen, const uint8_t *aad, size_t aadlen) {
  const uint8_t *key = chacha_key(ctx);
  if (key == NULL || ptlen > UINT32_MAX || noncelen != CHACHA20_POLY1305_AEAD_IV_SIZE ||
      aadlen > UINT32_MAX) {
    return -1;
  }
  return wc_ChaCha20Poly1305_Encrypt(key, nonce, aad, (word32)aadlen, pt, (word32)ptlen, dest,
                                     dest + ptlen) == 0
             ? 0
             : -1;
}

static int native_chacha_decrypt(uint8_t *dest, const ngtcp2_crypto_aead_ctx *ctx,
                                 const uint8_t *ct, size_t ctlen, const uint8_t *nonce,
                                 size_t noncelen, const uint8_t *aad, size_t aadlen) {
  const uint8_t *key = chacha_key(ctx);
  if (key == NULL || ctlen < CHACHA20_POLY1305_AEAD_AUTHTAG_SIZE || ctlen > UINT32_MAX ||
      noncelen != CHACHA20_POLY1305_AEAD_IV_SIZE || aadlen > UINT32_MAX) {
    return -1;
  }
  size_t n = ctlen - CHACHA20_POLY1305_AEAD_AUTHTAG_SIZE;
  return wc_ChaCha20Poly1305_Decrypt(key, nonce, aad, (word32)aadlen, ct, (word32)n, ct + n,
                                     dest) == 0
             ? 0
             : -1;
}

static int native_hp_mask(uint8_t *dest, const ngtcp2_crypto_cipher_ctx *ctx,
                          const uint8_t *sample) {
  /* The AES mask is AES_K(sample) (RFC 9001 section 5.4.3): ngtcp2 >= 1.22
   * computes it with EVP AES-ECB; ngtcp2 uses the first 5 bytes (its buffer
   * may be no longer). The sample sits at any offset in the packet, and
   * AES-NI wolfCrypt mallocs an aligned copy of an unaligned input block
   * (48 bytes per packet): give it an aligned one. */
  _Alignas(32) uint8_t in[16];
  _Alignas(32) uint8_t block[16];
  memcpy(in, sample, sizeof(in));
  if (wc_AesEncryptDirect(ctx_aes(ctx->native_handle), block, in) != 0) {
    return -1;
  }
  memcpy(dest, block, 5);
  return 0;
}

/* ------------------------------------------------------------ self-test */

static void fill(uint8_t *p, size_t n, uint32_t seed) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    p[i] = (uint8_t)(seed >> 16);
  }
}

/* Native and ngtcp2_crypto encrypt alike (ciphertext and tag, in place and
 * not); the native decrypt round-trips and refuses a forged tag. */
static int selftest_aead(const void *cipher, aead_fn enc, aead_fn dec, uint32_t seed) {
  ngtcp2_crypto_aead aead = {.native_handle = (void *)cipher, .max_overhead = AEAD_TAGLEN};
  size_t keylen = ngtcp2_crypto_aead_keylen(&aead);
  uint8_t key[32], nonce[AEAD_NONCELEN], aad[40];
  uint8_t pt[1300], ref[1300 + AEAD_TAGLEN], out[1300 + AEAD_TAGLEN], back[1300];
  if (keylen > sizeof(key)) {
    return -1;
  }
  fill(key, keylen, seed);
  ngtcp2_crypto_aead_ctx ectx = {0}, dctx = {0};
  if (ngtcp2_crypto_aead_ctx_encrypt_init(&ectx, &aead, key, AEAD_NONCELEN) != 0) {
    return -1;
  }
  if (ngtcp2_crypto_aead_ctx_decrypt_init(&dctx, &aead, key, AEAD_NONCELEN) != 0) {
    ngtcp2_crypto_aead_ctx_free(&ectx);
    return -1;
  }
  int ok = 1;
  static const size_t lens[] = {0, 1, 15, 16, 17, 100, 1199, 1300};
  for (size_t k = 0; ok && k < sizeof(lens) / sizeof(lens[0]); k++) {
    size_t n = lens[k], alen = 1 + (k * 7) % sizeof(aad);
    fill(pt, n, seed + (uint32_t)k);
    fill(nonce, sizeof(nonce), seed ^ 0x5a5a5a5au ^ (uint32_t)k);
    fill(aad, alen, seed + 77 + (uint32_t)k);
    ok = ngtcp2_crypto_encrypt(ref, &aead, &ectx, pt, n, nonce, sizeof(nonce), aad, alen) == 0 &&
         enc(out, &ectx, pt, n, nonce, sizeof(nonce), aad, alen) == 0 &&
         memcmp(ref, out, n + AEAD_TAGLEN) == 0;
    if (ok) { /* in place, as ngtcp2 encrypts packets */
      memcpy(out, pt, n);
      ok = enc(out, &ectx, out, n, nonce, sizeof(nonce), aad, alen) == 0 &&
           memcmp(ref, out, n + AEAD_TAGLEN) == 0;
    }
    if (ok) {
      ok = dec(back, &dctx, ref, n + AEAD_TAGLEN, nonce, sizeof(nonce), aad, alen) == 0 &&
           memcmp(back, pt, n) == 0;
    }
    if (ok) {
      ref[n + AEAD_TAGLEN - 1] ^= 1;
      ok = dec(back, &dctx, ref, n + AEAD_TAGLEN, nonce, sizeof(nonce), aad, alen) != 0;
    }
  }
  ngtcp2_crypto_aead_ctx_free(&ectx);
  ngtcp2_crypto_aead_ctx_free(&dctx);
  return ok ? 0 : -1;
}

static int selftest_hp(const void *cipher, size_t keylen, uint32_t seed) {
  ngtcp2_crypto_cipher hp = {.native_handle = (void *)cipher};
  uint8_t key[32], sample[16], ref[16], out[16];
  fill(key, keylen, seed);
  /* Made the way ngtcp2_crypto_wolfssl makes header-protection contexts. */
  ngtcp2_crypto_cipher_ctx ctx = {.native_handle = wolfSSL_quic_crypt_new(cipher, key, NULL, 1)};
  if (ctx.native_handle == NULL) {
    return -1;
  }
  int ok = 1;
  for (uint32_t k = 0; ok && k < 8; k++) {
    fill(sample, sizeof(sample), seed + k);
    memset(ref, 0, sizeof(ref));
    memset(out, 0, sizeof(out));
    ok = ngtcp2_crypto_hp_mask(ref, &hp, &ctx, sample) == 0 &&
         native_hp_mask(out, &ctx, sample) == 0 && memcmp(ref, out, 5) == 0;
  }
  wolfSSL_EVP_CIPHER_CTX_free(ctx.native_handle);
  return ok ? 0 : -1;
}

static void selftest(int allow_native) {
  g_gcm128 = wolfSSL_EVP_aes_128_gcm();
  g_gcm256 = wolfSSL_EVP_aes_256_gcm();
  g_ecb128 = wolfSSL_EVP_aes_128_ecb();
  g_ecb256 = wolfSSL_EVP_aes_256_ecb();
  g_chachapoly = wolfSSL_EVP_chacha20_poly1305();
  /* ChaCha20-Poly1305 has no safe fallback (see native_chacha_decrypt): if
   * its self-test fails it is not offered in TLS (wt_crypto_chacha_ok). */
  g_chacha = g_chachapoly != NULL &&
             selftest_aead(g_chachapoly, native_chacha_encrypt, native_chacha_decrypt, 5) == 0;
  if (!g_chacha) {
    WT_LOG_WARN("packet protection: ChaCha20-Poly1305 self-test failed; not offered");
  }
  if (!allow_native) {
    WT_LOG_INFO("packet protection: AES-GCM through wolfSSL EVP (WTCAST_NATIVE_CRYPTO=0)");
    return;
  }
  if (g_gcm128 == NULL || g_gcm256 == NULL || g_ecb128 == NULL || g_ecb256 == NULL ||
      selftest_aead(g_gcm128, native_encrypt, native_decrypt, 1) != 0 ||
      selftest_aead(g_gcm256, native_encrypt, native_decrypt, 2) != 0 ||
      selftest_hp(g_ecb128, 16, 3) != 0 || selftest_hp(g_ecb256, 32, 4) != 0) {
    WT_LOG_WARN("packet protection: native AES-GCM self-test failed; using wolfSSL EVP "
                "(slower, same result)");
    return;
  }
  g_native = 1;
  WT_LOG_DEBUG("packet protection: native wolfCrypt AES-GCM (self-test passed)");
}

static void run_once(int allow_native) {
  int expect = 0;
  if (atomic_load_explicit(&g_once, memory_order_acquire) == 2) {
    return;
  }
  if (atomic_compare_exchange_strong_explicit(&g_once, &expect, 1, memory_order_acq_rel,
                                              memory_order_acquire)) {
    selftest(allow_native);
    atomic_store_explicit(&g_once, 2, memory_order_release);
    return;
  }
  while (atomic_load_explicit(&g_once, memory_order_acquire) != 2) {
    /* another thread runs the self-test: well under a millisecond */
  }
}

int wt_crypto_init(int allow_native) {
  run_once(allow_native);
  return g_native;
}

int wt_crypto_native(void) {
  run_once(1);
  return g_native;
}

int wt_crypto_chacha_ok(void) {
  run_once(1);
  return g_chacha;
}

/* ------------------------------------------------------------ callbacks */

/* The native seal (or open) for aead, or NULL for the ngtcp2_crypto path
 * (AES-GCM when the native self-test failed or was not allowed, any
 * other AEAD). *refuse: ChaCha20-Poly1305 whose self-test failed, which gets
 * no fallback, since the EVP path does not check its tags. */
static aead_fn native_aead(const ngtcp2_crypto_aead *aead, int open, int *refuse) {
  *refuse = 0;
  if (g_native && is_gcm(aead)) {
    return open ? native_decrypt : native_encrypt;
  }
  if (is_chacha(aead)) {
    *refuse = !g_chacha;
    return !g_chacha ? NULL : open ? native_chacha_decrypt : native_chacha_encrypt;
  }
  return NULL;
}

int wt_crypto_encrypt_cb(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                         const ngtcp2_crypto_aead_ctx *aead_ctx, const uint8_t *plaintext,
                         size_t plaintextlen, const uint8_t *nonce, size_t noncelen,
                         const uint8_t *aad, size_t aadlen) {
  int refuse;
  aead_fn seal = native_aead(aead, 0, &refuse);
  if (seal == NULL && !refuse) {
    return ngtcp2_crypto_encrypt_cb(dest, aead, aead_ctx, plaintext, plaintextlen, nonce, noncelen,
                                    aad, aadlen);
  }
  return seal && seal(dest, aead_ctx, plaintext, plaintextlen, nonce, noncelen, aad, aadlen) == 0
             ? 0
             : NGTCP2_ERR_CALLBACK_FAILURE;
}

int wt_crypto_decrypt_cb(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                         const ngtcp2_crypto_aead_ctx *aead_ctx, const uint8_t *ciphertext,
                         size_t ciphertextlen, const uint8_t *nonce, size_t noncelen,
                         const uint8_t *aad, size_t aadlen) {
  int refuse;
  aead_fn open = native_aead(aead, 1, &refuse);
  if (open == NULL && !refuse) {
    return ngtcp2_crypto_decrypt_cb(dest, aead, aead_ctx, ciphertext, ciphertextlen, nonce,
                                    noncelen, aad, aadlen);
  }
  return open && open(dest, aead_ctx, ciphertext, ciphertextlen, nonce, noncelen, aad, aadlen) == 0
             ? 0
             : NGTCP2_ERR_DECRYPT;
}

int wt_crypto_hp_mask_cb(uint8_t *dest, const ngtcp2_crypto_cipher *hp,
                         const ngtcp2_crypto_cipher_ctx *hp_ctx, const uint8_t *sample) {
  if (g_native && is_aes_hp(hp)) {
    return native_hp_mask(dest, hp_ctx, sample) == 0 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
  }
  return ngtcp2_crypto_hp_mask_cb(dest, hp, hp_ctx, sample);
}

/* ------------------------------------------------------------ CRYPTO stream */

/* ngtcp2 hands over CRYPTO data in order but cut wherever the peer's
 * CRYPTO frames ended, and Chromium cuts the ClientHello into small,
 * shuffled frames. wolfSSL 5.7.x (quic.c quic_record_append) fails
 * wolfSSL_provide_quic_data when a handshake message header that began in an
 * earlier call is completed by a call that ends right after the header: the
 * handshake then dies with CRYPTO_ERROR 0x100 (Chromium:
 * QUIC_IETF_GQUIC_ERROR_MISSING, "Opening handshake failed"). So a header
 * is never handed over in pieces: its bytes are held back until all four
 * are there, and are passed together with what follows. */
size_t wt_crypto_rx_feed(wt_crypto_rx *r, const uint8_t *data, size_t len, uint8_t held[4],
                         size_t *nheld) {
  *nheld = r->n;
  memcpy(held, r->hdr, r->n);
  size_t pos = 0, deliver = 0;
  while (pos < len) {
    if (r->body_left > 0) {
      size_t k = len - pos < r->body_left ? len - pos : r->body_left;
      pos += k;
      r->body_left -= (uint32_t)k;
      deliver = pos;
      continue;
    }
    size_t k = len - pos < 4u - r->n ? len - pos : 4u - r->n;
    memcpy(r->hdr + r->n, data + pos, k);
    r->n = (uint8_t)(r->n + k);
    pos += k;
    if (r->n < 4) {
      break; /* header incomplete: held back */
    }
    r->body_left = ((uint32_t)r->hdr[1] << 16) | ((uint32_t)r->hdr[2] << 8) | r->hdr[3];
    r->n = 0;
    deliver = pos;
  }
  return deliver;
}
