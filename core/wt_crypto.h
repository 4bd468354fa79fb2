/* wt_crypto.h: packet protection callbacks for ngtcp2 that call wolfCrypt
 * directly for AES-GCM (RFC 9001 section 5.3) and AES header protection
 * (section 5.4.3).
 *
 * Why: ngtcp2_crypto_wolfssl protects every packet through wolfSSL's EVP
 * layer (wolfSSL_quic_aead_encrypt/decrypt). For GCM that layer re-runs
 * CipherInit, copies the whole payload into a malloc'd buffer, and runs
 * CipherFinal, per packet: about a tenth of the CPU of a bulk transfer on
 * each side. The keys still live where ngtcp2_crypto puts them: in the
 * WOLFSSL_EVP_CIPHER_CTX of ngtcp2_crypto_aead_ctx / _cipher_ctx, whose
 * public struct holds the wolfCrypt Aes key schedule. These callbacks use
 * that Aes with wc_AesGcmEncrypt / wc_AesGcmDecrypt / wc_AesEncryptDirect
 * and the nonce ngtcp2 passes, so nothing is allocated or copied.
 *
 * Safety: at first use a known-answer self-test compares the native path
 * with ngtcp2_crypto's (both AES key sizes, in place and not, a forged tag,
 * the header-protection mask). If anything differs, or WTCAST_NATIVE_CRYPTO=0
 * is in the environment, every call goes through ngtcp2_crypto instead (one
 * log line says so).
 *
 * ChaCha20-Poly1305 is always native: wolfSSL's EVP ChaCha20-Poly1305
 * decryption (5.7.2, CVE-2026-5479) returns plaintext without checking the
 * tag, so ngtcp2_crypto_wolfssl would accept forged packets. If its
 * self-test fails, decryption refuses every packet and wt_tls stops offering
 * the cipher suite (wt_crypto_chacha_ok). */
#ifndef WT_CRYPTO_H
#define WT_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <ngtcp2/ngtcp2.h>

/* ngtcp2_encrypt / ngtcp2_decrypt / ngtcp2_hp_mask callbacks. */
int wt_crypto_encrypt_cb(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                         const ngtcp2_crypto_aead_ctx *aead_ctx, const uint8_t *plaintext,
                         size_t plaintextlen, const uint8_t *nonce, size_t noncelen,
                         const uint8_t *aad, size_t aadlen);
int wt_crypto_decrypt_cb(uint8_t *dest, const ngtcp2_crypto_aead *aead,
                         const ngtcp2_crypto_aead_ctx *aead_ctx, const uint8_t *ciphertext,
                         size_t ciphertextlen, const uint8_t *nonce, size_t noncelen,
                         const uint8_t *aad, size_t aadlen);
int wt_crypto_hp_mask_cb(uint8_t *dest, const ngtcp2_crypto_cipher *hp,
                         const ngtcp2_crypto_cipher_ctx *hp_ctx, const uint8_t *sample);

/* Run the self-test now (it runs once per process; later calls return its
 * result): 1 if the native path is in use, 0 if the EVP path is. */
int wt_crypto_native(void);

/* 1 if ChaCha20-Poly1305 packets are protected natively (tags checked), so
 * TLS may offer TLS_CHACHA20_POLY1305_SHA256; runs the self-test too. */
int wt_crypto_chacha_ok(void);

#endif
