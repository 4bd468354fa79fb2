/* wtcast-cert: create a short-lived self-signed ECDSA P-256 certificate for
 * WebTransport's serverCertificateHashes, or print the hash of an existing one.
 *
 * W3C WebTransport, "serverCertificateHashes": the browser accepts a pinned
 * certificate only if it is X.509v3, has an ECDSA P-256 key, is currently
 * valid, and its validity period is at most 14 days (docs/protocol.md
 * section 5). The value to pin is the SHA-256 of the certificate DER.
 *
 * The TBSCertificate is encoded here rather than through wolfSSL's Cert
 * struct, for two reasons found with the deps build (wolfSSL 5.7.2):
 *  - it has no WOLFSSL_ALT_NAMES, so Cert has no altNames field and
 *    wc_SetAltNamesBuffer() is declared but not in the library: no SANs;
 *  - wc_MakeCert() puts notBefore one day in the past and notAfter at
 *    now + daysValid, so daysValid = 14 gives a 15-day certificate, which
 *    browsers refuse.
 * wolfSSL still does the cryptography: key generation, the SubjectPublicKeyInfo
 * encoding, the signature (wc_SignCert), PEM encoding and hashing.
 *
 * Exit status: 0 success; 1 failure (I/O, crypto, unreadable certificate);
 * 2 usage error; 3 (--print-hash only) the certificate is not valid now or
 * expires within --min-valid-hours. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/coding.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/wc_port.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wt_error.h"

enum {
  CERT_EXIT_OK = 0,
  CERT_EXIT_FAIL = 1,
  CERT_EXIT_USAGE = 2,
  CERT_EXIT_EXPIRING = 3,
};

#define CERT_BROWSER_MAX_DAYS  14    /* W3C WebTransport serverCertificateHashes */
#define CERT_MAX_DAYS          36500 /* with --force-long */
#define CERT_DEFAULT_DAYS      10
#define CERT_SKEW_SECONDS      3600 /* notBefore = now - 1 hour, for clients with slow clocks */
#define CERT_MAX_USER_SANS     32
#define CERT_DNS_MAX           253 /* RFC 1035 section 2.3.4 (text form) */
#define CERT_LABEL_MAX         63
#define CERT_CN_MAX            64 /* ub-common-name, RFC 5280 appendix A.1 */
#define CERT_DER_MAX           16384
#define CERT_PEM_MAX           (CERT_DER_MAX * 2)
#define CERT_KEY_DER_MAX       512
#define CERT_KEY_PEM_MAX       1024
#define CERT_SPKI_MAX          256
#define CERT_SERIAL_LEN        16
#define CERT_FILE_MAX          (1 << 20)
#define CERT_DEFAULT_MIN_HOURS 24

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
  SAN_DNS = 0x82,  /* GeneralName dNSName [2] IA5String */
  SAN_IP = 0x87,   /* GeneralName iPAddress [7] OCTET STRING */
};

/* OID contents (without tag and length). */
static const uint8_t OID_ECDSA_SHA256[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
static const uint8_t OID_CN[] = {0x55, 0x04, 0x03};
static const uint8_t OID_BASIC_CONSTRAINTS[] = {0x55, 0x1d, 0x13};
static const uint8_t OID_KEY_USAGE[] = {0x55, 0x1d, 0x0f};
static const uint8_t OID_EXT_KEY_USAGE[] = {0x55, 0x1d, 0x25};
static const uint8_t OID_SAN[] = {0x55, 0x1d, 0x11};
static const uint8_t OID_SERVER_AUTH[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01};
/* AlgorithmIdentifier of an ECDSA P-256 SubjectPublicKeyInfo (RFC 5480). */
static const uint8_t SPKI_ALG_P256[] = {0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                        0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
                                        0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};

static const char USAGE[] =
    "usage: wtcast-cert --out-cert FILE --out-key FILE [--days N] [--san NAME]... [--cn NAME]\n"
    "                   [--force-long] [--quiet]\n"
    "       wtcast-cert --print-hash FILE [--min-valid-hours H] [--quiet]\n"
    "\n"
    "Creates a self-signed ECDSA P-256 certificate for WebTransport's serverCertificateHashes\n"
    "(valid from 1 hour ago for N days) and prints the SHA-256 of its DER.\n"
    "  --out-cert FILE       certificate (PEM), replaced atomically\n"
    "  --out-key FILE        private key (PEM \"EC PRIVATE KEY\", mode 0600), replaced atomically\n"
    "  --days N              validity in days, 1..14 (default 10)\n"
    "  --force-long          allow --days above 14 (browsers then refuse the hash)\n"
    "  --san NAME            extra subjectAltName, repeatable (up to 32): an IPv4/IPv6 literal\n"
    "                        becomes an IP SAN, anything else a DNS SAN; localhost, 127.0.0.1\n"
    "                        and ::1 are always included\n"
    "  --cn NAME             subject common name (default localhost)\n"
    "  --print-hash FILE     print sha256/js/not_after of an existing PEM certificate\n"
    "  --min-valid-hours H   with --print-hash: exit 3 unless the certificate is valid now and\n"
    "                        for at least H more hours (default 24)\n"
    "  --quiet               print only the sha256:, js: and not_after: lines\n"
    "  --help                show this text\n"
    "Exit status: 0 ok, 1 failure, 2 usage error, 3 certificate expiring (--print-hash).\n";

static void errline(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Every error is one line on stderr. */
static void errline(const char *fmt, ...) {
  va_list ap;
  fputs("wtcast-cert: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

/* ------------------------------------------------------------ DER writer */

/* An append-only DER buffer. Constructed values are written with
 * der_open()/der_close(): the length is a one-byte placeholder, widened on
 * close when the content turns out to be 128 bytes or more. Overflow is
 * sticky and checked once at the end. */
struct der {
  uint8_t buf[CERT_DER_MAX];
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

struct san {
  uint8_t tag; /* SAN_DNS or SAN_IP */
  uint8_t len;
  uint8_t data[CERT_DNS_MAX];
};

struct opts {
  const char *out_cert, *out_key, *cn, *print_hash;
  long days, min_valid_hours;
  int force_long, quiet, gen_seen, min_seen;
  struct san sans[3 + CERT_MAX_USER_SANS];
  size_t nsans;
};

/* Why s is not a DNS name we accept (RFC 1123 host names, plus "*." as the
 * whole leftmost label), or NULL if it is fine. */
static const char *dns_problem(const char *s) {
  size_t n = strlen(s), label = 0;
  int numeric = 1;
  if (n == 0) {
    return "empty name";
  }
  if (n > CERT_DNS_MAX) {
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
    if (++label > CERT_LABEL_MAX) {
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

/* Parses one --san value: an IPv4/IPv6 literal (IPv6 optionally in
 * brackets) becomes an iPAddress, anything else must be a DNS name. */
static int san_parse(const char *arg, struct san *out) {
  char ip[64];
  size_t n = strlen(arg);
  const char *s = arg;
  if (n >= 2 && arg[0] == '[' && arg[n - 1] == ']' && n - 2 < sizeof(ip)) {
    memcpy(ip, arg + 1, n - 2);
    ip[n - 2] = '\0';
    s = ip;
  }
  if (s == arg && inet_pton(AF_INET, s, out->data) == 1) {
    out->tag = SAN_IP;
    out->len = 4;
    return 0;
  }
  if (inet_pton(AF_INET6, s, out->data) == 1) {
    out->tag = SAN_IP;
    out->len = 16;
    return 0;
  }
  if (s != arg) {
    errline("--san '%s': not an IPv6 address", arg);
    return WT_ERR_INVAL;
  }
  const char *why = dns_problem(s);
  if (why) {
    errline("--san '%.80s%s': %s", s, n > 80 ? "..." : "", why);
    return WT_ERR_INVAL;
  }
  out->tag = SAN_DNS;
  out->len = (uint8_t)n;
  memcpy(out->data, s, n);
  return 0;
}

/* Appends san unless an equal entry is already there (DNS compares without
 * case, RFC 4343). */
static void san_add(struct opts *o, const struct san *san) {
  for (size_t i = 0; i < o->nsans; i++) {
    const struct san *e = &o->sans[i];
    if (e->tag == san->tag && e->len == san->len &&
        (san->tag == SAN_DNS ? strncasecmp((const char *)e->data, (const char *)san->data, e->len)
                             : memcmp(e->data, san->data, e->len)) == 0) {
      return;
    }
  }
  o->sans[o->nsans++] = *san;
}

static int parse_long(const char *opt, const char *s, long min, long max, long *out) {
  char *end;
  errno = 0;
  long v = (s[0] >= '0' && s[0] <= '9') ? strtol(s, &end, 10) : 0;
  if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < min || v > max) {
    errline("%s '%s': expected a whole number from %ld to %ld", opt, s, min, max);
    return WT_ERR_INVAL;
  }
  *out = v;
  return 0;
}

static int check_cn(const char *cn) {
  size_t n = strlen(cn);
  int ok = n >= 1 && n <= CERT_CN_MAX;
  for (size_t i = 0; ok && i < n; i++) {
    ok = cn[i] >= 0x20 && cn[i] < 0x7f;
  }
  if (!ok) {
    errline("--cn: use 1 to %d printable ASCII characters", CERT_CN_MAX);
    return WT_ERR_INVAL;
  }
  return 0;
}

static int add_default_sans(struct opts *o) {
  static const char *const defaults[] = {"localhost", "127.0.0.1", "::1"};
  for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
    struct san s;
    if (san_parse(defaults[i], &s) != 0) {
      return WT_ERR_INTERNAL;
    }
    san_add(o, &s);
  }
  return 0;
}

/* Checks option combinations after getopt; all failures are usage errors. */
static int check_opts(struct opts *o) {
  if (o->print_hash) {
    if (o->gen_seen) {
      errline("--print-hash cannot be combined with --out-cert, --out-key, --days, --san, --cn "
              "or --force-long");
      return WT_ERR_INVAL;
    }
    return 0;
  }
  if (o->min_seen) {
    errline("--min-valid-hours needs --print-hash");
    return WT_ERR_INVAL;
  }
  if (!o->out_cert || !o->out_key) {
    errline("both --out-cert and --out-key are required (see --help)");
    return WT_ERR_INVAL;
  }
  if (strcmp(o->out_cert, o->out_key) == 0) {
    errline("--out-cert and --out-key must be different files");
    return WT_ERR_INVAL;
  }
  if (o->days > CERT_BROWSER_MAX_DAYS && !o->force_long) {
    errline("--days %ld: browsers accept serverCertificateHashes only for certificates valid at "
            "most %d days; pass --force-long to create it anyway",
            o->days, CERT_BROWSER_MAX_DAYS);
    return WT_ERR_INVAL;
  }
  return 0;
}

/* Returns 0 to go on, 1 after --help, or WT_ERR_INVAL (message printed). */
static int parse_args(int argc, char **argv, struct opts *o) {
  static const struct option longopts[] = {{"out-cert", required_argument, NULL, 'c'},
                                           {"out-key", required_argument, NULL, 'k'},
                                           {"days", required_argument, NULL, 'd'},
                                           {"san", required_argument, NULL, 's'},
                                           {"cn", required_argument, NULL, 'n'},
                                           {"force-long", no_argument, NULL, 'F'},
                                           {"quiet", no_argument, NULL, 'q'},
                                           {"print-hash", required_argument, NULL, 'p'},
                                           {"min-valid-hours", required_argument, NULL, 'm'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  size_t user_sans = 0;
  int c, rv = add_default_sans(o);
  opterr = 0;
  while (rv == 0 && (c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
    struct san san;
    o->gen_seen |= c != 'q' && c != 'p' && c != 'm' && c != 'h';
    switch (c) {
    case 'c':
      o->out_cert = optarg;
      break;
    case 'k':
      o->out_key = optarg;
      break;
    case 'd':
      rv = parse_long("--days", optarg, 1, CERT_MAX_DAYS, &o->days);
      break;
    case 's':
      if (++user_sans > CERT_MAX_USER_SANS) {
        errline("too many --san options (at most %d)", CERT_MAX_USER_SANS);
        return WT_ERR_INVAL;
      }
      rv = san_parse(optarg, &san);
      if (rv == 0) {
        san_add(o, &san);
      }
      break;
    case 'n':
      o->cn = optarg;
      rv = check_cn(optarg);
      break;
    case 'F':
      o->force_long = 1;
      break;
    case 'q':
      o->quiet = 1;
      break;
    case 'p':
      o->print_hash = optarg;
      break;
    case 'm':
      o->min_seen = 1;
      rv = parse_long("--min-valid-hours", optarg, 0, 1000000, &o->min_valid_hours);
      break;
    case 'h':
      fputs(USAGE, stdout);
      return 1;
    case ':':
      errline("option %s needs a value (see --help)", argv[optind - 1]);
      return WT_ERR_INVAL;
    default:
      if (optopt) { /* a short option, possibly inside a cluster like -quiet */
        errline("unknown option -%c (options are long: --name, see --help)", optopt);
      } else {
        errline("unknown option %s (see --help)", argv[optind - 1]);
      }
      return WT_ERR_INVAL;
    }
  }
  if (rv == 0 && optind < argc) {
    errline("unexpected argument '%s' (see --help)", argv[optind]);
    return WT_ERR_INVAL;
  }
  return rv == 0 ? check_opts(o) : rv;
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

static void der_extensions(struct der *d, const struct opts *o) {
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
  for (size_t i = 0; i < o->nsans; i++) {
    der_prim(d, o->sans[i].tag, o->sans[i].data, o->sans[i].len);
  }
  der_close(d, names);
  ext_close(d, m);
}

/* Writes the TBSCertificate (RFC 5280 section 4.1) into d. */
static int der_tbs(struct der *d, const struct opts *o, const uint8_t *serial, time_t not_before,
                   time_t not_after, const uint8_t *spki, size_t spki_len) {
  size_t tbs = der_open(d, DER_SEQ);
  size_t version = der_open(d, DER_CTX0);
  der_prim(d, DER_INT, "\x02", 1); /* v3 */
  der_close(d, version);
  der_prim(d, DER_INT, serial, CERT_SERIAL_LEN);
  size_t alg = der_open(d, DER_SEQ); /* RFC 5758 section 3.2: no parameters */
  der_prim(d, DER_OID, OID_ECDSA_SHA256, sizeof(OID_ECDSA_SHA256));
  der_close(d, alg);
  der_name(d, o->cn);
  size_t validity = der_open(d, DER_SEQ);
  der_time(d, not_before);
  der_time(d, not_after);
  der_close(d, validity);
  der_name(d, o->cn);
  der_put(d, spki, spki_len);
  size_t exts = der_open(d, DER_CTX3);
  size_t list = der_open(d, DER_SEQ);
  der_extensions(d, o);
  der_close(d, list);
  der_close(d, exts);
  der_close(d, tbs);
  return d->overflow ? WT_ERR_NOBUF : 0;
}

/* A generated certificate and key, ready to write. */
struct made {
  struct der cert; /* the TBS, then (signed in place) the certificate */
  uint8_t spki[CERT_SPKI_MAX];
  size_t spki_len;
  time_t not_before, not_after;
  char cert_pem[CERT_PEM_MAX];
  size_t cert_pem_len;
  char key_pem[CERT_KEY_PEM_MAX];
  size_t key_pem_len;
};

/* Encodes the key as SEC 1 "EC PRIVATE KEY" PEM, which
 * wolfSSL_CTX_use_PrivateKey_file(..., SSL_FILETYPE_PEM) loads. */
static int key_to_pem(ecc_key *key, struct made *m) {
  uint8_t der[CERT_KEY_DER_MAX];
  int rv = wc_EccKeyToDer(key, der, sizeof(der));
  if (rv > 0) {
    rv = wc_DerToPem(der, (word32)rv, (byte *)m->key_pem, sizeof(m->key_pem), ECC_PRIVATEKEY_TYPE);
  }
  explicit_bzero(der, sizeof(der));
  if (rv <= 0) {
    errline("cannot encode the private key (wolfSSL error %d)", rv);
    return WT_ERR_CRYPTO;
  }
  m->key_pem_len = (size_t)rv;
  return 0;
}

/* Key, TBS, signature, PEM: fills m. */
static int make_cert(const struct opts *o, WC_RNG *rng, ecc_key *key, struct made *m) {
  uint8_t serial[CERT_SERIAL_LEN];
  int rv = wc_ecc_make_key_ex(rng, 32, key, ECC_SECP256R1);
  if (rv == 0) {
    rv = wc_EccPublicKeyToDer(key, m->spki, sizeof(m->spki), 1);
    m->spki_len = rv > 0 ? (size_t)rv : 0;
    rv = rv > 0 ? 0 : rv;
  }
  if (rv == 0) {
    rv = wc_RNG_GenerateBlock(rng, serial, sizeof(serial));
  }
  if (rv != 0) {
    errline("cannot generate the key (wolfSSL error %d)", rv);
    return WT_ERR_CRYPTO;
  }
  /* RFC 5280 section 4.1.2.2: positive, at most 20 octets; fixing the top
   * bits keeps the INTEGER both positive and minimally encoded. */
  serial[0] = (uint8_t)((serial[0] & 0x3f) | 0x40);
  m->not_before = time(NULL) - CERT_SKEW_SECONDS;
  m->not_after = m->not_before + (time_t)o->days * 86400;
  rv = der_tbs(&m->cert, o, serial, m->not_before, m->not_after, m->spki, m->spki_len);
  if (rv != 0) {
    errline("certificate too large (too many or too long --san values)");
    return rv;
  }
  rv = wc_SignCert((int)m->cert.len, CTC_SHA256wECDSA, m->cert.buf, sizeof(m->cert.buf), NULL, key,
                   rng);
  if (rv <= 0) {
    errline("cannot sign the certificate (wolfSSL error %d)", rv);
    return WT_ERR_CRYPTO;
  }
  m->cert.len = (size_t)rv;
  rv = wc_DerToPem(m->cert.buf, (word32)m->cert.len, (byte *)m->cert_pem, sizeof(m->cert_pem),
                   CERT_TYPE);
  if (rv <= 0) {
    errline("cannot encode the certificate as PEM (wolfSSL error %d)", rv);
    return WT_ERR_CRYPTO;
  }
  m->cert_pem_len = (size_t)rv;
  return key_to_pem(key, m);
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
                      mode_t mode) {
  int n = snprintf(st->tmp, sizeof(st->tmp), "%s.tmp-XXXXXX", path);
  if (n < 0 || (size_t)n >= sizeof(st->tmp)) {
    errline("%s: path too long", path);
    return WT_ERR_INVAL;
  }
  int fd = mkstemp(st->tmp);
  if (fd < 0) {
    errline("cannot create a temporary file next to %s: %s", path, strerror(errno));
    return WT_ERR_IO;
  }
  st->path = path;
  st->active = 1;
  if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
    int e = errno;
    close(fd);
    errline("cannot write %s: %s", st->tmp, strerror(e));
    return WT_ERR_IO;
  }
  if (close(fd) != 0) {
    errline("cannot write %s: %s", st->tmp, strerror(errno));
    return WT_ERR_IO;
  }
  return 0;
}

static int commit_file(struct staged *st) {
  if (rename(st->tmp, st->path) != 0) {
    errline("cannot rename %s to %s: %s", st->tmp, st->path, strerror(errno));
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

/* Both files are written before either is renamed; the key goes first, so a
 * reader that sees the new certificate also sees its key. */
static int write_outputs(const struct opts *o, const struct made *m) {
  struct staged key = {0}, cert = {0};
  struct stat a, b;
  if (stat(o->out_cert, &a) == 0 && stat(o->out_key, &b) == 0 && a.st_dev == b.st_dev &&
      a.st_ino == b.st_ino) {
    errline("--out-cert and --out-key name the same file");
    return WT_ERR_INVAL;
  }
  int rv = stage_file(&key, o->out_key, m->key_pem, m->key_pem_len, 0600);
  if (rv == 0) {
    rv = stage_file(&cert, o->out_cert, m->cert_pem, m->cert_pem_len, 0644);
  }
  if (rv == 0) {
    rv = commit_file(&key);
  }
  if (rv == 0) {
    rv = commit_file(&cert);
  }
  discard_file(&key);
  discard_file(&cert);
  if (rv == 0) {
    sync_parent_dir(o->out_key);
    sync_parent_dir(o->out_cert);
  }
  return rv;
}

/* ------------------------------------------------------------ output */

static void iso_time(time_t t, char *out, size_t outsz) {
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The three lines scripts parse: sha256, js, not_after. */
static int print_hash_lines(const uint8_t *der, size_t len, time_t not_after) {
  uint8_t h[WC_SHA256_DIGEST_SIZE];
  char when[32];
  if (wc_Sha256Hash(der, (word32)len, h) != 0) {
    errline("SHA-256 failed");
    return WT_ERR_CRYPTO;
  }
  printf("sha256: ");
  for (size_t i = 0; i < sizeof(h); i++) {
    printf("%02x", h[i]);
  }
  printf("\njs: new Uint8Array([");
  for (size_t i = 0; i < sizeof(h); i++) {
    printf("%s0x%02x", i ? ", " : "", h[i]);
  }
  iso_time(not_after, when, sizeof(when));
  printf("])\nnot_after: %s\n", when);
  return 0;
}

/* Extra lines without --quiet: validity start and the base64 SHA-256 of the
 * SubjectPublicKeyInfo, the value Chromium's
 * --ignore-certificate-errors-spki-list takes. */
static void print_details(time_t not_before, const uint8_t *spki, size_t spki_len) {
  uint8_t h[WC_SHA256_DIGEST_SIZE];
  byte b64[64];
  word32 b64_len = sizeof(b64) - 1;
  char when[32];
  iso_time(not_before, when, sizeof(when));
  printf("not_before: %s\n", when);
  if (wc_Sha256Hash(spki, (word32)spki_len, h) == 0 &&
      Base64_Encode_NoNl(h, sizeof(h), b64, &b64_len) == 0) {
    b64[b64_len] = '\0';
    printf("spki_sha256_base64: %s\n", (const char *)b64);
  }
}

static void print_sans(const struct opts *o) {
  printf("san:");
  for (size_t i = 0; i < o->nsans; i++) {
    const struct san *s = &o->sans[i];
    char ip[INET6_ADDRSTRLEN];
    if (s->tag == SAN_DNS) {
      printf(" DNS:%.*s", (int)s->len, (const char *)s->data);
    } else {
      inet_ntop(s->len == 4 ? AF_INET : AF_INET6, s->data, ip, sizeof(ip));
      printf(" IP:%s", ip);
    }
  }
  printf("\n");
}

static int run_generate(const struct opts *o) {
  struct made *m = calloc(1, sizeof(*m));
  WC_RNG rng;
  ecc_key key;
  if (!m) {
    errline("out of memory");
    return CERT_EXIT_FAIL;
  }
  if (wc_InitRng(&rng) != 0) {
    errline("cannot initialise the wolfSSL random generator");
    free(m);
    return CERT_EXIT_FAIL;
  }
  int rv = wc_ecc_init(&key);
  if (rv == 0) {
    rv = make_cert(o, &rng, &key, m);
    wc_ecc_free(&key);
  } else {
    errline("wc_ecc_init failed (wolfSSL error %d)", rv);
  }
  wc_FreeRng(&rng);
  if (rv == 0) {
    rv = write_outputs(o, m);
  }
  if (rv == 0) {
    rv = print_hash_lines(m->cert.buf, m->cert.len, m->not_after);
  }
  if (rv == 0 && !o->quiet) {
    print_details(m->not_before, m->spki, m->spki_len);
    printf("valid_days: %ld\n", o->days);
    print_sans(o);
    printf("cert: %s\nkey: %s\n", o->out_cert, o->out_key);
  }
  explicit_bzero(m->key_pem, sizeof(m->key_pem));
  free(m);
  if (rv == WT_ERR_INVAL) {
    return CERT_EXIT_USAGE;
  }
  return rv == 0 ? CERT_EXIT_OK : CERT_EXIT_FAIL;
}

/* ------------------------------------------------------------ --print-hash */

struct rd {
  const uint8_t *p;
  size_t n;
};

/* Reads one DER value from r (X.690 section 8.1): val gets its contents,
 * whole (if not NULL) the whole encoding. */
static int rd_tlv(struct rd *r, uint8_t *tag, struct rd *val, struct rd *whole) {
  size_t hdr = 2, len;
  if (r->n < 2 || (r->p[0] & 0x1f) == 0x1f) {
    return WT_ERR_MALFORMED;
  }
  len = r->p[1];
  if (len & 0x80) {
    size_t nbytes = len & 0x7f;
    if (nbytes == 0 || nbytes > 4 || r->n < 2 + nbytes) {
      return WT_ERR_MALFORMED;
    }
    len = 0;
    for (size_t i = 0; i < nbytes; i++) {
      len = len << 8 | r->p[2 + i];
    }
    hdr += nbytes;
  }
  if (len > r->n - hdr) {
    return WT_ERR_MALFORMED;
  }
  *tag = r->p[0];
  val->p = r->p + hdr;
  val->n = len;
  if (whole) {
    whole->p = r->p;
    whole->n = hdr + len;
  }
  r->p += hdr + len;
  r->n -= hdr + len;
  return 0;
}

static int two_digits(const uint8_t *p) {
  return (p[0] - '0') * 10 + (p[1] - '0');
}

/* UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ (RFC 5280
 * section 4.1.2.5.1 and 4.1.2.5.2). */
static int parse_time(uint8_t tag, struct rd v, time_t *out) {
  size_t digits = tag == DER_UTCTIME ? 12 : 14;
  struct tm tm = {0};
  if ((tag != DER_UTCTIME && tag != DER_GENTIME) || v.n != digits + 1 || v.p[digits] != 'Z') {
    return WT_ERR_MALFORMED;
  }
  for (size_t i = 0; i < digits; i++) {
    if (v.p[i] < '0' || v.p[i] > '9') {
      return WT_ERR_MALFORMED;
    }
  }
  const uint8_t *p = v.p;
  if (tag == DER_UTCTIME) {
    int yy = two_digits(p);
    tm.tm_year = (yy < 50 ? 2000 + yy : 1900 + yy) - 1900;
    p += 2;
  } else {
    tm.tm_year = two_digits(p) * 100 + two_digits(p + 2) - 1900;
    p += 4;
  }
  tm.tm_mon = two_digits(p) - 1;
  tm.tm_mday = two_digits(p + 2);
  tm.tm_hour = two_digits(p + 4);
  tm.tm_min = two_digits(p + 6);
  tm.tm_sec = two_digits(p + 8);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return WT_ERR_MALFORMED;
  }
  *out = timegm(&tm);
  return 0;
}

struct cert_info {
  time_t not_before, not_after;
  struct rd spki; /* whole SubjectPublicKeyInfo */
};

/* Finds validity and SubjectPublicKeyInfo in a certificate (RFC 5280
 * section 4.1). */
static int cert_inspect(const uint8_t *der, size_t len, struct cert_info *ci) {
  struct rd top = {der, len}, cert, tbs, v, validity;
  uint8_t tag, t1, t2;
  struct rd nb, na;
  int rv = rd_tlv(&top, &tag, &cert, NULL);
  if (rv == 0 && tag == DER_SEQ) {
    rv = rd_tlv(&cert, &tag, &tbs, NULL);
  }
  if (rv != 0 || tag != DER_SEQ || tbs.n == 0) {
    return WT_ERR_MALFORMED;
  }
  if (tbs.p[0] == DER_CTX0) {
    rv = rd_tlv(&tbs, &tag, &v, NULL); /* version */
  }
  for (int i = 0; rv == 0 && i < 3; i++) { /* serial, signature, issuer */
    rv = rd_tlv(&tbs, &tag, &v, NULL);
  }
  if (rv == 0) {
    rv = rd_tlv(&tbs, &tag, &validity, NULL);
  }
  if (rv != 0 || tag != DER_SEQ || rd_tlv(&validity, &t1, &nb, NULL) != 0 ||
      rd_tlv(&validity, &t2, &na, NULL) != 0 || parse_time(t1, nb, &ci->not_before) != 0 ||
      parse_time(t2, na, &ci->not_after) != 0) {
    return WT_ERR_MALFORMED;
  }
  if (rd_tlv(&tbs, &tag, &v, NULL) != 0 || rd_tlv(&tbs, &tag, &v, &ci->spki) != 0 ||
      tag != DER_SEQ) {
    return WT_ERR_MALFORMED; /* subject, subjectPublicKeyInfo */
  }
  return 0;
}

/* Reads a whole file of at most CERT_FILE_MAX bytes into a malloc'd buffer. */
static int read_file(const char *path, uint8_t **out, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    errline("cannot open %s: %s", path, strerror(errno));
    return WT_ERR_IO;
  }
  uint8_t *buf = malloc(CERT_FILE_MAX + 1);
  size_t n = buf ? fread(buf, 1, CERT_FILE_MAX + 1, f) : 0;
  int bad = ferror(f);
  fclose(f);
  if (!buf || bad || n > CERT_FILE_MAX) {
    errline("cannot read %s: %s", path, !buf ? "out of memory" : bad ? "read error" : "too large");
    free(buf);
    return WT_ERR_IO;
  }
  *out = buf;
  *len = n;
  return 0;
}

/* Prints a note about what browsers will make of the certificate. */
static void print_browser_note(const struct cert_info *ci) {
  time_t period = ci->not_after - ci->not_before;
  int p256 = ci->spki.n > 2 + sizeof(SPKI_ALG_P256) &&
             memcmp(ci->spki.p + 2, SPKI_ALG_P256, sizeof(SPKI_ALG_P256)) == 0;
  printf("valid_hours_total: %lld\n", (long long)(period / 3600));
  if (!p256) {
    printf("browser_hash: no (key is not ECDSA P-256)\n");
  } else if (period > (time_t)CERT_BROWSER_MAX_DAYS * 86400) {
    printf("browser_hash: no (validity period longer than %d days)\n", CERT_BROWSER_MAX_DAYS);
  } else {
    printf("browser_hash: yes\n");
  }
}

static int run_print_hash(const struct opts *o) {
  uint8_t *pem, *der = NULL;
  size_t pem_len;
  struct cert_info ci;
  if (read_file(o->print_hash, &pem, &pem_len) != 0) {
    return CERT_EXIT_FAIL;
  }
  int rv = WT_ERR_NOMEM;
  der = malloc(pem_len + 1);
  if (der) {
    rv = wc_CertPemToDer(pem, (int)pem_len, der, (int)pem_len + 1, CERT_TYPE);
  }
  free(pem);
  if (rv <= 0) {
    errline("%s: not a PEM certificate (wolfSSL error %d)", o->print_hash, rv);
    free(der);
    return CERT_EXIT_FAIL;
  }
  size_t der_len = (size_t)rv;
  if (cert_inspect(der, der_len, &ci) != 0) {
    errline("%s: malformed certificate", o->print_hash);
    free(der);
    return CERT_EXIT_FAIL;
  }
  rv = print_hash_lines(der, der_len, ci.not_after);
  if (rv == 0 && !o->quiet) {
    print_details(ci.not_before, ci.spki.p, ci.spki.n);
    print_browser_note(&ci);
  }
  free(der);
  if (rv != 0) {
    return CERT_EXIT_FAIL;
  }
  time_t now = time(NULL);
  long long left = (long long)(ci.not_after - now);
  if (now < ci.not_before || left < (long long)o->min_valid_hours * 3600) {
    if (!o->quiet && now < ci.not_before) {
      errline("%s: not valid yet", o->print_hash);
    } else if (!o->quiet) {
      errline("%s: valid for less than %ld more hours", o->print_hash, o->min_valid_hours);
    }
    return CERT_EXIT_EXPIRING;
  }
  return CERT_EXIT_OK;
}

int main(int argc, char **argv) {
  static struct opts o; /* large (SAN table); static keeps it off the stack */
  o.cn = "localhost";
  o.days = CERT_DEFAULT_DAYS;
  o.min_valid_hours = CERT_DEFAULT_MIN_HOURS;
  int rv = parse_args(argc, argv, &o);
  if (rv != 0) {
    return rv == 1 ? CERT_EXIT_OK : CERT_EXIT_USAGE;
  }
  if (wolfCrypt_Init() != 0) {
    errline("wolfCrypt_Init failed");
    return CERT_EXIT_FAIL;
  }
  int code = o.print_hash ? run_print_hash(&o) : run_generate(&o);
  wolfCrypt_Cleanup();
  if (fflush(stdout) != 0 && code == CERT_EXIT_OK) {
    errline("cannot write to stdout: %s", strerror(errno));
    code = CERT_EXIT_FAIL;
  }
  return code;
}
