/* test_crypto.c: the native packet-protection callbacks (core/wt_crypto.c)
 * give exactly what ngtcp2_crypto_wolfssl gives, for every AEAD the TLS
 * stack can negotiate, and refuse what it refuses. */
#include <stdlib.h>

#include <wolfssl/options.h>
#include <wolfssl/openssl/evp.h>
#include <wolfssl/quic.h>
#include <wolfssl/ssl.h>

#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_wolfssl.h>

#include "check.h"
#include "wt_crypto.h"

static uint32_t rng = 12345;

static uint32_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}

static void fill(uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    p[i] = (uint8_t)next();
  }
}

enum { MAXPT = 1500, TAG = 16 };

/* Random lengths, nonces and AADs: the callbacks against ngtcp2_crypto,
 * in place and not; then a tampered ciphertext, tag or AAD is refused. */
static void check_aead(const WOLFSSL_EVP_CIPHER *cipher, size_t taglen) {
  ngtcp2_crypto_aead aead = {.native_handle = (void *)cipher, .max_overhead = taglen};
  size_t keylen = ngtcp2_crypto_aead_keylen(&aead);
  size_t noncelen = ngtcp2_crypto_aead_noncelen(&aead);
  CHECK_FATAL(keylen <= 32 && noncelen == 12);
  uint8_t key[32];
  fill(key, keylen);
  ngtcp2_crypto_aead_ctx ectx = {0}, dctx = {0};
  CHECK_FATAL(ngtcp2_crypto_aead_ctx_encrypt_init(&ectx, &aead, key, noncelen) == 0);
  CHECK_FATAL(ngtcp2_crypto_aead_ctx_decrypt_init(&dctx, &aead, key, noncelen) == 0);
  static uint8_t pt[MAXPT], ref[MAXPT + TAG], out[MAXPT + TAG], back[MAXPT];
  uint8_t nonce[12], aad[64];
  int mismatches = 0, refused_ok = 0;
  for (int k = 0; k < 2000; k++) {
    size_t n = k < 40 ? (size_t)k : next() % MAXPT;
    size_t alen = 1 + next() % sizeof(aad);
    fill(pt, n);
    fill(nonce, sizeof(nonce));
    fill(aad, alen);
    if (ngtcp2_crypto_encrypt(ref, &aead, &ectx, pt, n, nonce, noncelen, aad, alen) != 0) {
      mismatches++;
      continue;
    }
    memset(out, 0, sizeof(out));
    if (wt_crypto_encrypt_cb(out, &aead, &ectx, pt, n, nonce, noncelen, aad, alen) != 0 ||
        memcmp(out, ref, n + taglen) != 0) {
      mismatches++;
    }
    memcpy(out, pt, n);
    if (wt_crypto_encrypt_cb(out, &aead, &ectx, out, n, nonce, noncelen, aad, alen) != 0 ||
        memcmp(out, ref, n + taglen) != 0) {
      mismatches++;
    }
    if (wt_crypto_decrypt_cb(back, &aead, &dctx, ref, n + taglen, nonce, noncelen, aad, alen) !=
            0 ||
        memcmp(back, pt, n) != 0) {
      mismatches++;
    }
    /* Tamper with one byte of ciphertext+tag, or of the AAD. */
    size_t at = next() % (n + taglen);
    ref[at] ^= (uint8_t)(1u << (next() % 8));
    int r1 = wt_crypto_decrypt_cb(back, &aead, &dctx, ref, n + taglen, nonce, noncelen, aad, alen);
    ref[at] = out[at];
    aad[0] ^= 0x80;
    int r2 = wt_crypto_decrypt_cb(back, &aead, &dctx, ref, n + taglen, nonce, noncelen, aad, alen);
    refused_ok += r1 == NGTCP2_ERR_DECRYPT && r2 == NGTCP2_ERR_DECRYPT;
  }
  CHECK_EQ(mismatches, 0);
  CHECK_EQ(refused_ok, 2000);
  /* Shorter than a tag: refused, never read out of bounds. */
  CHECK_EQ(wt_crypto_decrypt_cb(back, &aead, &dctx, ref, taglen - 1, nonce, noncelen, aad, 4),
           NGTCP2_ERR_DECRYPT);
  ngtcp2_crypto_aead_ctx_free(&ectx);
  ngtcp2_crypto_aead_ctx_free(&dctx);
}

/* native: the mask must come from wt_crypto's own path, which writes the 5
 * bytes ngtcp2 reads and no more (ngtcp2's EVP path writes 16). */
static void check_hp(const WOLFSSL_EVP_CIPHER *cipher, size_t keylen, int native) {
  ngtcp2_crypto_cipher hp = {.native_handle = (void *)cipher};
  uint8_t key[32], sample[16], ref[16], out[NGTCP2_HP_SAMPLELEN + 1];
  fill(key, keylen);
  /* The way ngtcp2_crypto_wolfssl makes its header-protection contexts. */
  ngtcp2_crypto_cipher_ctx ctx = {.native_handle = wolfSSL_quic_crypt_new(cipher, key, NULL, 1)};
  CHECK_FATAL(ctx.native_handle != NULL);
  int mismatches = 0;
  for (int k = 0; k < 1000; k++) {
    fill(sample, sizeof(sample));
    memset(ref, 0xee, sizeof(ref));
    memset(out, 0xee, sizeof(out));
    if (ngtcp2_crypto_hp_mask(ref, &hp, &ctx, sample) != 0 ||
        wt_crypto_hp_mask_cb(out, &hp, &ctx, sample) != 0 || memcmp(ref, out, 5) != 0) {
      mismatches++;
    }
    /* ngtcp2 reads 5 mask bytes from a NGTCP2_HP_SAMPLELEN buffer (its
     * own AES-ECB and ChaCha20 masks fill all 16); nothing beyond it. */
    if (out[NGTCP2_HP_SAMPLELEN] != 0xee || (native && out[5] != 0xee)) {
      mismatches++;
    }
  }
  CHECK_EQ(mismatches, 0);
  wolfSSL_EVP_CIPHER_CTX_free(ctx.native_handle);
}

static size_t g_allocs;
static void *count_malloc(size_t n) {
  g_allocs++;
  return malloc(n);
}
static void *count_realloc(void *p, size_t n) {
  g_allocs++;
  return realloc(p, n);
}

/* The native mask allocates nothing, whatever the sample's alignment in
 * the packet (AES-NI wolfCrypt copies an unaligned input block into a
 * malloc'd one: 48 bytes per packet, both directions). */
static void test_hp_no_alloc(void) {
  ngtcp2_crypto_cipher hp = {.native_handle = (void *)wolfSSL_EVP_aes_128_ecb()};
  uint8_t key[16], pkt[64], out[NGTCP2_HP_SAMPLELEN];
  fill(key, sizeof(key));
  fill(pkt, sizeof(pkt));
  ngtcp2_crypto_cipher_ctx ctx = {.native_handle =
                                      wolfSSL_quic_crypt_new(hp.native_handle, key, NULL, 1)};
  CHECK_FATAL(ctx.native_handle != NULL);
  CHECK_EQ(wolfSSL_SetAllocators(count_malloc, free, count_realloc), 0);
  g_allocs = 0;
  int failed = 0;
  for (size_t off = 0; off < 32; off++) {
    failed += wt_crypto_hp_mask_cb(out, &hp, &ctx, pkt + off) != 0;
  }
  size_t allocs = g_allocs;
  CHECK_EQ(wolfSSL_SetAllocators(malloc, free, realloc), 0);
  CHECK_EQ(failed, 0);
  CHECK_EQ(allocs, 0);
  wolfSSL_EVP_CIPHER_CTX_free(ctx.native_handle);
}

static void test_native_in_use(void) {
  /* This build has AES-NI wolfCrypt: the self-test must pass, or every
   * packet silently takes the slow path. */
  CHECK_EQ(wt_crypto_native(), 1);
}

static void test_aes_gcm(void) {
  check_aead(wolfSSL_EVP_aes_128_gcm(), 16);
  check_aead(wolfSSL_EVP_aes_256_gcm(), 16);
}

static void test_chacha20_tag_checked(void) {
  /* wolfSSL's EVP path (what ngtcp2_crypto_wolfssl uses) returns success for
   * a forged ChaCha20-Poly1305 packet (CVE-2026-5479); ours must refuse it
   * (check_aead tampers 2000 ways) and encrypt exactly as the EVP path. */
  CHECK_EQ(wt_crypto_chacha_ok(), 1);
  check_aead(wolfSSL_EVP_chacha20_poly1305(), 16);
}

static void test_header_protection(void) {
  /* what ngtcp2_crypto_wolfssl uses for AES (since ngtcp2 1.22) */
  check_hp(wolfSSL_EVP_aes_128_ecb(), 16, 1);
  check_hp(wolfSSL_EVP_aes_256_ecb(), 32, 1);
  check_hp(wolfSSL_EVP_chacha20(), 32, 0); /* not native: falls back */
}

int main(void) {
  wolfSSL_Init();
  WT_RUN(test_native_in_use);
  WT_RUN(test_aes_gcm);
  WT_RUN(test_chacha20_tag_checked);
  WT_RUN(test_header_protection);
  WT_RUN(test_hp_no_alloc);
  wolfSSL_Cleanup();
  WT_DONE();
}
