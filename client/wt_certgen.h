/* wt_certgen.h: self-signed ECDSA P-256 certificates for WebTransport's
 * serverCertificateHashes (docs/protocol.md): key, X.509v3 certificate with
 * subjectAltNames and a chosen validity, PEM files, the SHA-256 to pin.
 * Used by wtcast-cert (its CLI) and by tests that need a certificate.
 *
 * W3C WebTransport accepts a pinned certificate only if it is X.509v3, has an
 * ECDSA P-256 key, is currently valid and its validity period is at most 14
 * days; the value to pin is the SHA-256 of the certificate DER. Validity
 * starts WT_CERTGEN_SKEW_SECONDS in the past (clients with slow clocks).
 *
 * Ownership: every object is the caller's (params and cert are plain values;
 * a wt_certgen_cert holds the private key in PEM: wipe it with
 * wt_certgen_cert_wipe). Threading: reentrant; wolfCrypt must be initialised
 * (wolfCrypt_Init) except for wt_certgen_files, which does it itself.
 * Errors: negative WT_ERR_* with a one-line reason in err (no prefix). */
#ifndef WT_CERTGEN_H
#define WT_CERTGEN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define WT_CERTGEN_BROWSER_MAX_DAYS 14 /* W3C WebTransport serverCertificateHashes */
#define WT_CERTGEN_SKEW_SECONDS     3600
#define WT_CERTGEN_MAX_SANS         35  /* 3 defaults + 32 of the user's */
#define WT_CERTGEN_DNS_MAX          253 /* RFC 1035 section 2.3.4 (text form) */
#define WT_CERTGEN_CN_MAX           64  /* ub-common-name, RFC 5280 appendix A.1 */
#define WT_CERTGEN_DER_MAX          16384
#define WT_CERTGEN_PEM_MAX          (WT_CERTGEN_DER_MAX * 2)
#define WT_CERTGEN_KEY_PEM_MAX      1024
#define WT_CERTGEN_SPKI_MAX         256

/* GeneralName tags of a subjectAltName entry. */
enum { WT_CERTGEN_SAN_DNS = 0x82, WT_CERTGEN_SAN_IP = 0x87 };

typedef struct wt_certgen_san {
  uint8_t tag; /* WT_CERTGEN_SAN_DNS or WT_CERTGEN_SAN_IP */
  uint8_t len;
  uint8_t data[WT_CERTGEN_DNS_MAX]; /* the name (not terminated), or 4 / 16 address bytes */
} wt_certgen_san;

typedef struct wt_certgen_params {
  const char *cn; /* subject and issuer common name (1..64 printable ASCII) */
  long days;      /* validity (more than 14: browsers refuse the hash) */
  wt_certgen_san sans[WT_CERTGEN_MAX_SANS];
  size_t nsans;
} wt_certgen_params;

/* cn "localhost", 10 days, no SANs. */
void wt_certgen_params_init(wt_certgen_params *p);
/* An IPv4/IPv6 literal (IPv6 optionally in brackets) becomes an IP SAN,
 * anything else must be a DNS name (RFC 1123, "*." as a whole leftmost
 * label). Returns 0 or WT_ERR_INVAL ("--san 'X': why" in err). */
int wt_certgen_san_parse(const char *arg, wt_certgen_san *out, char *err, size_t errlen);
/* Append san unless an equal entry is there (DNS compared without case,
 * RFC 4343). Returns 0 or WT_ERR_NOBUF (table full). */
int wt_certgen_add_san(wt_certgen_params *p, const wt_certgen_san *san);
/* localhost, 127.0.0.1 and ::1. Returns 0 or WT_ERR_INTERNAL. */
int wt_certgen_add_default_sans(wt_certgen_params *p);
/* 1 if cn is 1..WT_CERTGEN_CN_MAX printable ASCII characters. */
int wt_certgen_cn_ok(const char *cn);

typedef struct wt_certgen_cert {
  uint8_t der[WT_CERTGEN_DER_MAX];
  size_t der_len;
  uint8_t spki[WT_CERTGEN_SPKI_MAX]; /* SubjectPublicKeyInfo DER */
  size_t spki_len;
  time_t not_before, not_after;
  char cert_pem[WT_CERTGEN_PEM_MAX];
  size_t cert_pem_len;
  char key_pem[WT_CERTGEN_KEY_PEM_MAX]; /* SEC 1 "EC PRIVATE KEY" */
  size_t key_pem_len;
} wt_certgen_cert;

/* New key and certificate (large: allocate c on the heap). Returns 0,
 * WT_ERR_CRYPTO or WT_ERR_NOBUF (too many or too long SANs). */
int wt_certgen_make(const wt_certgen_params *p, wt_certgen_cert *c, char *err, size_t errlen);
/* Clear the private key in c. */
void wt_certgen_cert_wipe(wt_certgen_cert *c);
/* Write key (mode 0600) and certificate (0644), each replaced atomically
 * (a temporary file next to it, renamed), both staged before either is
 * renamed, key first. Returns 0, WT_ERR_INVAL (the same file twice) or
 * WT_ERR_IO. */
int wt_certgen_write(const wt_certgen_cert *c, const char *cert_path, const char *key_path,
                     char *err, size_t errlen);
/* SHA-256 of der. Returns 0 or WT_ERR_CRYPTO. */
int wt_certgen_sha256(const uint8_t *der, size_t len, uint8_t out[32]);

/* The first certificate of the PEM file path, as DER in *der (malloc'd,
 * the caller frees it) of *der_len bytes. Files over 1 MiB are refused.
 * Returns 0, WT_ERR_IO (cannot open or read: err says why, with errno's
 * text) or WT_ERR_INVAL (no PEM certificate in it: err says so, with
 * wolfSSL's error code). Any thread. */
int wt_certgen_read_pem(const char *path, uint8_t **der, size_t *der_len, char *err, size_t errlen);
/* SHA-256 of the first certificate of the PEM file (what
 * serverCertificateHashes pins); hex, when not NULL, gets the 64 lowercase
 * hex digits and a NUL. Returns as wt_certgen_read_pem, or WT_ERR_CRYPTO. */
int wt_certgen_pem_sha256(const char *path, uint8_t out[32], char hex[65], char *err,
                          size_t errlen);

/* The convenience for tests: a self-signed ECDSA P-256 certificate for cn
 * (subject CN and a SAN for cn) valid for days, PEM files written;
 * sha256_out = SHA-256 of the certificate DER. Returns 0 or a negative
 * WT_ERR_*. */
int wt_certgen_files(const char *cert_path, const char *key_path, const char *cn, unsigned days,
                     uint8_t sha256_out[32]);

#endif
