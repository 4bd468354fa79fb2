/* wt_certgen.c: certificate generation (see wt_certgen.h).
 *
 * The TBSCertificate is encoded here rather than through wolfSSL's Cert
 * struct, for two reasons found with the deps build (wolfSSL 5.7.2):
 *  - it has no WOLFSSL_ALT_NAMES, so Cert has no altNames field and
 *    wc_SetAltNamesBuffer() is declared but not in the library: no SANs;
 *  - wc_MakeCert() puts notBefore one day in the past and notAfter at
 *    now + daysValid, so daysValid = 14 gives a 15-day certificate, which
 *    browsers refuse.
 * wolfSSL still does the cryptography: key generation, the SubjectPublicKeyInfo
 * encoding, the signature (wc_SignCert), PEM encoding and hashing. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/wc_port.h>

#include "wt_certgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wt_error.h"

#define CG_LABEL_MAX   63
#define CG_KEY_DER_MAX 512
#define CG_SERIAL_LEN  16

/* DER tags (X.690). */
enum {
  DER_BOOL = 0x01,
  DER_INT = 0x02,
  DER_BITSTR = 0x03,
  DER_OCTSTR = 0x04,
  DER_OID = 0x06,
  DER_UTF8 = 0x0c,
  DER_UTCTIME = 0x17,
  DER_GENTIME = 0x18,
  DER_SEQ = 0x30,
  DER_SET = 0x31,
  DER_CTX0 = 0xa0, /* [0] constructed: TBSCertificate.version */
  DER_CTX3 = 0xa3, /* [3] constructed: TBSCertificate.extensions */
};

/* OID contents (without tag and length). */
static const uint8_t OID_ECDSA_SHA256[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
static const uint8_t OID_CN[] = {0x55, 0x04, 0x03};
static const uint8_t OID_BASIC_CONSTRAINTS[] = {0x55, 0x1d, 0x13};
static const uint8_t OID_KEY_USAGE[] = {0x55, 0x1d, 0x0f};
static const uint8_t OID_EXT_KEY_USAGE[] = {0x55, 0x1d, 0x25};
static const uint8_t OID_SAN[] = {0x55, 0x1d, 0x11};
static const uint8_t OID_SERVER_AUTH[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01};

/* ------------------------------------------------------------ DER writer */

/* An append-only DER buffer. Constructed values are written with
 * der_open()/der_close(): the length is a one-byte placeholder, widened on
 * close when the content turns out to be 128 bytes or more. Overflow is
 * sticky and checked once at the end. */
struct der {
  uint8_t buf[WT_CERTGEN_DER_MAX];
  size_t len;
  int overflow;
};

static void der_put(struct der *d, const void *p, size_t n) {
  if (d->overflow || n > sizeof(d->buf) - d->len) {
    d->overflow = 1;
    return;
  }
  memcpy(d->buf + d->len, p, n);
  d->len += n;
}

/* Starts a value with tag; returns the mark der_close() needs. */
static size_t der_open(struct der *d, uint8_t tag) {
  uint8_t hdr[2] = {tag, 0};
  der_put(d, hdr, sizeof(hdr));
  return d->len;
}

static void der_close(struct der *d, size_t mark) {
  if (d->overflow) {
    return;
  }
  size_t n = d->len - mark, nbytes = 0;
  if (n < 0x80) {
    d->buf[mark - 1] = (uint8_t)n;
    return;
  }
  for (size_t v = n; v; v >>= 8) {
    nbytes++;
  }
  if (nbytes > sizeof(d->buf) - d->len) {
    d->overflow = 1;
    return;
  }
  memmove(d->buf + mark + nbytes, d->buf + mark, n);
  d->buf[mark - 1] = (uint8_t)(0x80 | nbytes); /* X.690 section 8.1.3.5: long form */
  for (size_t i = 0; i < nbytes; i++) {
    d->buf[mark + i] = (uint8_t)(n >> (8 * (nbytes - 1 - i)));
  }
  d->len += nbytes;
}

static void der_prim(struct der *d, uint8_t tag, const void *p, size_t n) {
  size_t m = der_open(d, tag);
  der_put(d, p, n);
  der_close(d, m);
}

/* ------------------------------------------------------------ parameters */

void wt_certgen_params_init(wt_certgen_params *p) {
  memset(p, 0, sizeof(*p));
  p->cn = "localhost";
  p->days = 10;
}

/* Why s is not a DNS name we accept (RFC 1123 host names, plus "*." as the
 * whole leftmost label), or NULL if it is fine. */
static const char *dns_problem(const char *s) {
  size_t n = strlen(s), label = 0;
  int numeric = 1;
  if (n == 0) {
    return "empty name";
  }
  if (n > WT_CERTGEN_DNS_MAX) {
    return "longer than 253 characters";
  }
  for (size_t i = 0; i <= n; i++) {
    char c = s[i];
    if (c == '.' || c == '\0') {
      if (label == 0) {
        return c ? "empty label" : "ends with '.'";
      }
      if (s[i - 1] == '-') {
        return "a label ends with '-'";
      }
      if (c == '\0') {
        break;
      }
      label = 0;
      numeric = 1;
      continue;
    }
    if (c == '*') {
      if (i != 0 || s[1] != '.') {
        return "'*' is allowed only as the whole leftmost label";
      }
    } else if (c == '-') {
      if (label == 0) {
        return "a label starts with '-'";
      }
    } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
      return "invalid character (use letters, digits, '-' and '.')";
    }
    if (++label > CG_LABEL_MAX) {
      return "a label is longer than 63 characters";
    }
    if (c < '0' || c > '9') {
      numeric = 0;
    }
  }
  if (numeric) {
    return "neither an IP address nor a DNS name (numeric last label)";
  }
  return NULL;
}

int wt_certgen_san_parse(const char *arg, wt_certgen_san *out, char *err, size_t errlen) {
  char ip[64];
  size_t n = strlen(arg);
  const char *s = arg;
  if (n >= 2 && arg[0] == '[' && arg[n - 1] == ']' && n - 2 < sizeof(ip)) {
    memcpy(ip, arg + 1, n - 2);
    ip[n - 2] = '\0';
    s = ip;
  }
  if (s == arg && inet_pton(AF_INET, s, out->data) == 1) {
    out->tag = WT_CERTGEN_SAN_IP;
    out->len = 4;
    return 0;
  }
  if (inet_pton(AF_INET6, s, out->data) == 1) {
    out->tag = WT_CERTGEN_SAN_IP;
    out->len = 16;
    return 0;
  }
  if (s != arg) {
    snprintf(err, errlen, "--san '%s': not an IPv6 address", arg);
    return WT_ERR_INVAL;
  }
  const char *why = dns_problem(s);
  if (why) {
    snprintf(err, errlen, "--san '%.80s%s': %s", s, n > 80 ? "..." : "", why);
    return WT_ERR_INVAL;
  }
  out->tag = WT_CERTGEN_SAN_DNS;
  out->len = (uint8_t)n;
  memcpy(out->data, s, n);
  return 0;
}

int wt_certgen_add_san(wt_certgen_params *p, const wt_certgen_san *san) {
  for (size_t i = 0; i < p->nsans; i++) {
    const wt_certgen_san *e = &p->sans[i];
    if (e->tag == san->tag && e->len == san->len &&
        (san->tag == WT_CERTGEN_SAN_DNS
             ? strncasecmp((const char *)e->data, (const char *)san->data, e->len)
             : memcmp(e->data, san->data, e->len)) == 0) {
      return 0;
    }
  }
  if (p->nsans >= WT_CERTGEN_MAX_SANS) {
    return WT_ERR_NOBUF;
  }
  p->sans[p->nsans++] = *san;
  return 0;
}

int wt_certgen_add_default_sans(wt_certgen_params *p) {
  static const char *const defaults[] = {"localhost", "127.0.0.1", "::1"};
  char err[160];
  for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
    wt_certgen_san s;
    if (wt_certgen_san_parse(defaults[i], &s, err, sizeof(err)) != 0 ||
        wt_certgen_add_san(p, &s) != 0) {
      return WT_ERR_INTERNAL;
    }
  }
  return 0;
}

int wt_certgen_cn_ok(const char *cn) {
  size_t n = strlen(cn);
  int ok = n >= 1 && n <= WT_CERTGEN_CN_MAX;
  for (size_t i = 0; ok && i < n; i++) {
    ok = cn[i] >= 0x20 && cn[i] < 0x7f;
  }
  return ok;
}

/* ------------------------------------------------------------ certificate */

static void der_name(struct der *d, const char *cn) {
  size_t name = der_open(d, DER_SEQ);
  size_t rdn = der_open(d, DER_SET);
  size_t atv = der_open(d, DER_SEQ);
  der_prim(d, DER_OID, OID_CN, sizeof(OID_CN));
  der_prim(d, DER_UTF8, cn, strlen(cn));
  der_close(d, atv);
  der_close(d, rdn);
  der_close(d, name);
}

static void der_time(struct der *d, time_t t) {
  struct tm tm;
  char s[32];
  gmtime_r(&t, &tm);
  int year = tm.tm_year + 1900;
  /* RFC 5280 section 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
  if (year >= 1950 && year < 2050) {
    snprintf(s, sizeof(s), "%02d%02d%02d%02d%02d%02dZ", year % 100, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
    der_prim(d, DER_UTCTIME, s, 13);
  } else {
    snprintf(s, sizeof(s), "%04d%02d%02d%02d%02d%02dZ", year, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec);
    der_prim(d, DER_GENTIME, s, 15);
  }
}

struct ext_mark {
  size_t ext, value;
};

/* Extension ::= SEQUENCE { extnID, critical DEFAULT FALSE, extnValue OCTET STRING } */
static struct ext_mark ext_open(struct der *d, const uint8_t *oid, size_t oidlen, int critical) {
  struct ext_mark m;
  m.ext = der_open(d, DER_SEQ);
  der_prim(d, DER_OID, oid, oidlen);
  if (critical) {
    der_prim(d, DER_BOOL, "\xff", 1);
  }
  m.value = der_open(d, DER_OCTSTR);
  return m;
}

static void ext_close(struct der *d, struct ext_mark m) {
  der_close(d, m.value);
  der_close(d, m.ext);
}

static void der_extensions(struct der *d, const wt_certgen_params *p) {
  /* RFC 5280 section 4.2.1.9: cA FALSE is the DEFAULT, so DER leaves it out. */
  struct ext_mark m = ext_open(d, OID_BASIC_CONSTRAINTS, sizeof(OID_BASIC_CONSTRAINTS), 1);
  der_close(d, der_open(d, DER_SEQ));
  ext_close(d, m);
  /* Section 4.2.1.3: digitalSignature is bit 0; 7 unused bits. */
  m = ext_open(d, OID_KEY_USAGE, sizeof(OID_KEY_USAGE), 1);
  der_prim(d, DER_BITSTR, "\x07\x80", 2);
  ext_close(d, m);
  m = ext_open(d, OID_EXT_KEY_USAGE, sizeof(OID_EXT_KEY_USAGE), 0);
  size_t eku = der_open(d, DER_SEQ);
  der_prim(d, DER_OID, OID_SERVER_AUTH, sizeof(OID_SERVER_AUTH));
  der_close(d, eku);
  ext_close(d, m);
  /* Section 4.2.1.6: not critical, since the subject name is not empty. */
  m = ext_open(d, OID_SAN, sizeof(OID_SAN), 0);
  size_t names = der_open(d, DER_SEQ);
  for (size_t i = 0; i < p->nsans; i++) {
    der_prim(d, p->sans[i].tag, p->sans[i].data, p->sans[i].len);
  }
  der_close(d, names);
  ext_close(d, m);
}

/* Writes the TBSCertificate (RFC 5280 section 4.1) into d. */
static int der_tbs(struct der *d, const wt_certgen_params *p, const uint8_t *serial,
                   const wt_certgen_cert *c) {
  size_t tbs = der_open(d, DER_SEQ);
  size_t version = der_open(d, DER_CTX0);
  der_prim(d, DER_INT, "\x02", 1); /* v3 */
  der_close(d, version);
  der_prim(d, DER_INT, serial, CG_SERIAL_LEN);
  size_t alg = der_open(d, DER_SEQ); /* RFC 5758 section 3.2: no parameters */
  der_prim(d, DER_OID, OID_ECDSA_SHA256, sizeof(OID_ECDSA_SHA256));
  der_close(d, alg);
  der_name(d, p->cn);
  size_t validity = der_open(d, DER_SEQ);
  der_time(d, c->not_before);
  der_time(d, c->not_after);
  der_close(d, validity);
  der_name(d, p->cn);
  der_put(d, c->spki, c->spki_len);
  size_t exts = der_open(d, DER_CTX3);
  size_t list = der_open(d, DER_SEQ);
  der_extensions(d, p);
  der_close(d, list);
  der_close(d, exts);
  der_close(d, tbs);
  return d->overflow ? WT_ERR_NOBUF : 0;
}

/* Encodes the key as SEC 1 "EC PRIVATE KEY" PEM, which
 * wolfSSL_CTX_use_PrivateKey_file(..., SSL_FILETYPE_PEM) loads. */
static int key_to_pem(ecc_key *key, wt_certgen_cert *c, char *err, size_t errlen) {
  uint8_t der[CG_KEY_DER_MAX];
  int rv = wc_EccKeyToDer(key, der, sizeof(der));
  if (rv > 0) {
    rv = wc_DerToPem(der, (word32)rv, (byte *)c->key_pem, sizeof(c->key_pem), ECC_PRIVATEKEY_TYPE);
  }
  explicit_bzero(der, sizeof(der));
  if (rv <= 0) {
    snprintf(err, errlen, "cannot encode the private key (wolfSSL error %d)", rv);
    return WT_ERR_CRYPTO;
  }
  c->key_pem_len = (size_t)rv;
  return 0;
}

/* Key, TBS, signature, PEM: fills c. */
static int certgen_sign(const wt_certgen_params *p, WC_RNG *rng, ecc_key *key, wt_certgen_cert *c,
                        struct der *d, char *err, size_t errlen) {
  uint8_t serial[CG_SERIAL_LEN];
  int rv = wc_ecc_make_key_ex(rng, 32, key, ECC_SECP256R1);
  if (rv == 0) {
    rv = wc_EccPublicKeyToDer(key, c->spki, sizeof(c->spki), 1);
    c->spki_len = rv > 0 ? (size_t)rv : 0;
    rv = rv > 0 ? 0 : rv;
  }
  if (rv == 0) {
    rv = wc_RNG_GenerateBlock(rng, serial, sizeof(serial));
  }
  if (rv != 0) {
    snprintf(err, errlen, "cannot generate the key (wolfSSL error %d)", rv);
    return WT_ERR_CRYPTO;
  }
  /* RFC 5280 section 4.1.2.2: positive, at most 20 octets; fixing the top
   * bits keeps the INTEGER both positive and minimally encoded. */
  serial[0] = (uint8_t)((serial[0] & 0x3f) | 0x40);
  c->not_before = time(NULL) - WT_CERTGEN_SKEW_SECONDS;
  c->not_after = c->not_before + (time_t)p->days * 86400;
  rv = der_tbs(d, p, serial, c);
  if (rv != 0) {
    snprintf(err, errlen, "certificate too large (too many or too long --san values)");
    return rv;
  }
  rv = wc_SignCert((int)d->len, CTC_SHA256wECDSA, d->buf, sizeof(d->buf), NULL, key, rng);
  if (rv <= 0) {
    snprintf(err, errlen, "cannot sign the certificate (wolfSSL error %d)", rv);
    return WT_ERR_CRYPTO;
  }
  memcpy(c->der, d->buf, (size_t)rv);
  c->der_len = (size_t)rv;
  rv = wc_DerToPem(c->der, (word32)c->der_len, (byte *)c->cert_pem, sizeof(c->cert_pem), CERT_TYPE);
  if (rv <= 0) {
    snprintf(err, errlen, "cannot encode the certificate as PEM (wolfSSL error %d)", rv);
    return WT_ERR_CRYPTO;
  }
  c->cert_pem_len = (size_t)rv;
  return key_to_pem(key, c, err, errlen);
}

int wt_certgen_make(const wt_certgen_params *p, wt_certgen_cert *c, char *err, size_t errlen) {
  WC_RNG rng;
  ecc_key key;
  struct der *d = calloc(1, sizeof(*d));
  if (!d) {
    snprintf(err, errlen, "out of memory");
    return WT_ERR_NOMEM;
  }
  memset(c, 0, sizeof(*c));
  if (wc_InitRng(&rng) != 0) {
    snprintf(err, errlen, "cannot initialise the wolfSSL random generator");
    free(d);
    return WT_ERR_CRYPTO;
  }
  int rv = wc_ecc_init(&key);
  if (rv == 0) {
    rv = certgen_sign(p, &rng, &key, c, d, err, errlen);
    wc_ecc_free(&key);
  } else {
    snprintf(err, errlen, "wc_ecc_init failed (wolfSSL error %d)", rv);
    rv = WT_ERR_CRYPTO;
  }
  wc_FreeRng(&rng);
  free(d);
  return rv;
}

void wt_certgen_cert_wipe(wt_certgen_cert *c) {
  explicit_bzero(c->key_pem, sizeof(c->key_pem));
  c->key_pem_len = 0;
}

int wt_certgen_sha256(const uint8_t *der, size_t len, uint8_t out[32]) {
  return wc_Sha256Hash(der, (word32)len, out) == 0 ? 0 : WT_ERR_CRYPTO;
}

/* ------------------------------------------------------------ reading */

#define CERTGEN_PEM_MAX (1u << 20) /* a certificate chain file, generously */

int wt_certgen_read_pem(const char *path, uint8_t **der, size_t *der_len, char *err,
                        size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
    return WT_ERR_IO;
  }
  uint8_t *pem = malloc(CERTGEN_PEM_MAX + 1);
  size_t n = pem ? fread(pem, 1, CERTGEN_PEM_MAX + 1, f) : 0;
  int bad = ferror(f);
  fclose(f);
  if (!pem || bad || n > CERTGEN_PEM_MAX) {
    snprintf(err, errlen, "cannot read %s: %s", path,
             !pem  ? "out of memory"
             : bad ? "read error"
                   : "too large");
    free(pem);
    return WT_ERR_IO;
  }
  uint8_t *d = malloc(n + 1);
  int len = d ? wc_CertPemToDer(pem, (int)n, d, (int)n + 1, CERT_TYPE) : WT_ERR_NOMEM;
  free(pem);
  if (len <= 0) {
    snprintf(err, errlen, "%s: not a PEM certificate (wolfSSL error %d)", path, len);
    free(d);
    return WT_ERR_INVAL;
  }
  *der = d;
  *der_len = (size_t)len;
  return 0;
}

int wt_certgen_pem_sha256(const char *path, uint8_t out[32], char hex[65], char *err,
                          size_t errlen) {
  uint8_t *der;
  size_t len;
  int rv = wt_certgen_read_pem(path, &der, &len, err, errlen);
  if (rv < 0) {
    return rv;
  }
  rv = wt_certgen_sha256(der, len, out);
  free(der);
  if (rv < 0) {
    snprintf(err, errlen, "%s: cannot hash the certificate", path);
    return rv;
  }
  for (int i = 0; hex && i < 32; i++) {
    snprintf(hex + 2 * i, 3, "%02x", out[i]);
  }
  return 0;
}

/* ------------------------------------------------------------ files */

/* A file written under a temporary name next to its final path, so a reader
 * sees either the old or the new file, never a partial one. */
struct staged {
  char tmp[PATH_MAX];
  const char *path;
  int active;
};

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* mkstemp() opens with O_CREAT|O_EXCL and mode 0600, so the key is never
 * readable by others, not even briefly; fchmod() then sets the final mode. */
static int stage_file(struct staged *st, const char *path, const char *data, size_t len,
                      mode_t mode, char *err, size_t errlen) {
  int n = snprintf(st->tmp, sizeof(st->tmp), "%s.tmp-XXXXXX", path);
  if (n < 0 || (size_t)n >= sizeof(st->tmp)) {
    snprintf(err, errlen, "%s: path too long", path);
    return WT_ERR_INVAL;
  }
  int fd = mkstemp(st->tmp);
  if (fd < 0) {
    snprintf(err, errlen, "cannot create a temporary file next to %s: %s", path, strerror(errno));
    return WT_ERR_IO;
  }
  st->path = path;
  st->active = 1;
  if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
    int e = errno;
    close(fd);
    snprintf(err, errlen, "cannot write %s: %s", st->tmp, strerror(e));
    return WT_ERR_IO;
  }
  if (close(fd) != 0) {
    snprintf(err, errlen, "cannot write %s: %s", st->tmp, strerror(errno));
    return WT_ERR_IO;
  }
  return 0;
}

static int commit_file(struct staged *st, char *err, size_t errlen) {
  if (rename(st->tmp, st->path) != 0) {
    snprintf(err, errlen, "cannot rename %s to %s: %s", st->tmp, st->path, strerror(errno));
    return WT_ERR_IO;
  }
  st->active = 0;
  return 0;
}

static void discard_file(struct staged *st) {
  if (st->active) {
    unlink(st->tmp);
    st->active = 0;
  }
}

/* Best effort: make the renames durable. */
static void sync_parent_dir(const char *path) {
  char dir[PATH_MAX];
  const char *slash = strrchr(path, '/');
  size_t n = slash ? (size_t)(slash - path) : 0;
  if (n >= sizeof(dir)) {
    return;
  }
  memcpy(dir, path, n);
  strcpy(dir + n, n == 0 ? (slash ? "/" : ".") : "");
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

int wt_certgen_write(const wt_certgen_cert *c, const char *cert_path, const char *key_path,
                     char *err, size_t errlen) {
  struct staged key = {0}, cert = {0};
  struct stat a, b;
  if (stat(cert_path, &a) == 0 && stat(key_path, &b) == 0 && a.st_dev == b.st_dev &&
      a.st_ino == b.st_ino) {
    snprintf(err, errlen, "--out-cert and --out-key name the same file");
    return WT_ERR_INVAL;
  }
  int rv = stage_file(&key, key_path, c->key_pem, c->key_pem_len, 0600, err, errlen);
  if (rv == 0) {
    rv = stage_file(&cert, cert_path, c->cert_pem, c->cert_pem_len, 0644, err, errlen);
  }
  if (rv == 0) {
    rv = commit_file(&key, err, errlen);
  }
  if (rv == 0) {
    rv = commit_file(&cert, err, errlen);
  }
  discard_file(&key);
  discard_file(&cert);
  if (rv == 0) {
    sync_parent_dir(key_path);
    sync_parent_dir(cert_path);
  }
  return rv;
}

/* ------------------------------------------------------------ convenience */

int wt_certgen_files(const char *cert_path, const char *key_path, const char *cn, unsigned days,
                     uint8_t sha256_out[32]) {
  char err[256];
  wt_certgen_params *p = malloc(sizeof(*p));
  wt_certgen_cert *c = malloc(sizeof(*c));
  int rv = p && c ? 0 : WT_ERR_NOMEM;
  if (rv == 0) {
    wt_certgen_params_init(p);
    p->cn = cn;
    p->days = (long)days;
    wt_certgen_san san;
    rv = wt_certgen_cn_ok(cn) && days > 0 ? wt_certgen_san_parse(cn, &san, err, sizeof(err))
                                          : WT_ERR_INVAL;
    if (rv == 0) {
      rv = wt_certgen_add_san(p, &san);
    }
  }
  if (rv == 0 && wolfCrypt_Init() != 0) {
    rv = WT_ERR_CRYPTO;
  } else if (rv == 0) {
    rv = wt_certgen_make(p, c, err, sizeof(err));
    if (rv == 0) {
      rv = wt_certgen_write(c, cert_path, key_path, err, sizeof(err));
    }
    if (rv == 0) {
      rv = wt_certgen_sha256(c->der, c->der_len, sha256_out);
    }
    wt_certgen_cert_wipe(c);
    wolfCrypt_Cleanup();
  }
  free(p);
  free(c);
  return rv;
}
