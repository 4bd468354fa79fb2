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
 * the header-protection mask). If anything differs, or the native path is
 * not allowed (wt_crypto_init(0): wt_engine_config.native_crypto = 0, which
 * the programs set for WTCAST_NATIVE_CRYPTO=0 in their environment), every
 * call goes through ngtcp2_crypto instead (one log line says so).
 *
 * ChaCha20-Poly1305 is always native: wolfSSL's EVP ChaCha20-Poly1305
 * decryption (5.7.2, CVE-2026-5479) returns plaintext without checking the
 * tag, so ngtcp2_crypto_wolfssl would accept forged packets. If its
 * self-test fails, decryption refuses every packet and wt_tls stops offering
 * the cipher suite (wt_crypto_chacha_ok).
 *
 * Threading: the self-test state is process-wide, written once (the first
 * caller runs it, concurrent callers wait); everything else is pure.
 *
 * Also here: the reassembly rule for CRYPTO stream data on its way to
 * wolfSSL (wt_crypto_rx), per connection and encryption level. */
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

/* Run the self-test now, once per process: allow_native = 0 keeps AES-GCM on
 * the EVP path (ChaCha20-Poly1305 stays native, see above). The first call
 * of wt_crypto_init, wt_crypto_native or wt_crypto_chacha_ok decides; later
 * calls return its result: 1 if the native AES-GCM path is in use, 0 if the
 * EVP path is. */
int wt_crypto_init(int allow_native);
/* wt_crypto_init(1) unless the self-test already ran. */
int wt_crypto_native(void);

/* 1 if ChaCha20-Poly1305 packets are protected natively (tags checked), so
 * TLS may offer TLS_CHACHA20_POLY1305_SHA256; runs the self-test too. */
int wt_crypto_chacha_ok(void);

/* Crypto data of one encryption level on its way to wolfSSL: a handshake
 * message header (4 bytes) split at the end of what ngtcp2 delivered is
 * held back (why: wt_crypto.c). Embedded in the connection, zeroed. */
typedef struct wt_crypto_rx {
  uint8_t hdr[4];
  uint8_t n;          /* held-back header bytes */
  uint32_t body_left; /* body bytes of the current message still to come */
} wt_crypto_rx;

#define WT_CRYPTO_LEVELS 4 /* ngtcp2_encryption_level: initial, handshake, 1-RTT, 0-RTT */

/* Feed len bytes of one level's CRYPTO stream (in order). Returns how many
 * leading bytes of data may go to wolfSSL now, preceded by the *nheld bytes
 * copied to held (a header held back earlier); a header still incomplete at
 * the end of data is kept in r. */
size_t wt_crypto_rx_feed(wt_crypto_rx *r, const uint8_t *data, size_t len, uint8_t held[4],
                         size_t *nheld);

#endif
