/* wt_qlb.c: QUIC-LB connection IDs (see wt_qlb.h). */
#include "wt_qlb.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>

#include "wt_error.h"

struct wt_qlb {
  wt_qlb_params p;
  size_t cid_len;
  Aes enc, dec; /* key schedules (has_key only) */
};

static int why_set(char *why, size_t cap, const char *fmt, ...) {
  if (why && cap) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
  }
  return WT_ERR_CONFIG;
}

int wt_qlb_check(wt_qlb_params *p, uint32_t n_shards, char *why, size_t cap) {
  if (p == NULL) {
    return why_set(why, cap, "QUIC-LB: no parameters");
  }
  if (p->config_id > WT_QLB_CR_MAX) {
    return why_set(why, cap, "QUIC-LB: config rotation %u out of 0..%u (7 means unroutable)",
                   p->config_id, WT_QLB_CR_MAX);
  }
  if (p->server_id_len < 1 || p->server_id_len > WT_QLB_SID_MAX) {
    return why_set(why, cap, "QUIC-LB: server ID of %u bytes (1..%u; --quic-lb-server-id HEX)",
                   p->server_id_len, WT_QLB_SID_MAX);
  }
  if (p->nonce_len == 0) {
    p->nonce_len =
        p->server_id_len + WT_QLB_NONCE_MIN <= 16 ? 16 - p->server_id_len : WT_QLB_NONCE_MIN;
  }
  if (p->nonce_len < WT_QLB_NONCE_MIN || p->nonce_len > WT_QLB_NONCE_MAX) {
    return why_set(why, cap, "QUIC-LB: nonce of %u bytes (%u..%u)", p->nonce_len, WT_QLB_NONCE_MIN,
                   WT_QLB_NONCE_MAX);
  }
  uint32_t payload = p->server_id_len + p->nonce_len;
  /* A CID is at most 20 bytes (RFC 9000 section 17.2); wtcast's server
   * CIDs are at least 8 (core/wt_cid.h). */
  if (payload > WT_QLB_PAYLOAD || payload < 7) {
    return why_set(why, cap,
                   "QUIC-LB: server ID (%u) + nonce (%u) = %u bytes, must be 7..19 (CIDs of "
                   "8..20 bytes)",
                   p->server_id_len, p->nonce_len, payload);
  }
  if (p->has_key && payload != 16) {
    return why_set(why, cap,
                   "QUIC-LB: with a key, server ID (%u) + nonce (%u) must be 16 bytes "
                   "(single-pass AES-128; the four-pass cipher is not implemented)",
                   p->server_id_len, p->nonce_len);
  }
  if (n_shards > WT_QLB_MAX_SHARDS) {
    return why_set(why, cap,
                   "QUIC-LB: %u shards, at most %u (the shard is in the 5 low bits of the "
                   "first CID byte)",
                   n_shards, WT_QLB_MAX_SHARDS);
  }
  return 0;
}

int wt_qlb_new(wt_qlb **out, const wt_qlb_params *p) {
  if (out == NULL || p == NULL) {
    return WT_ERR_INVAL;
  }
  wt_qlb_params c = *p;
  if (!c.enabled || wt_qlb_check(&c, 1, NULL, 0) < 0) {
    return WT_ERR_CONFIG;
  }
  wt_qlb *q = calloc(1, sizeof(*q));
  if (q == NULL) {
    return WT_ERR_NOMEM;
  }
  q->p = c;
  q->cid_len = wt_qlb_cid_len(&c);
  if (c.has_key) {
    int ok = wc_AesInit(&q->enc, NULL, INVALID_DEVID) == 0;
    ok = wc_AesInit(&q->dec, NULL, INVALID_DEVID) == 0 && ok;
    ok = ok && wc_AesSetKey(&q->enc, c.key, WT_QLB_KEYLEN, NULL, AES_ENCRYPTION) == 0 &&
         wc_AesSetKey(&q->dec, c.key, WT_QLB_KEYLEN, NULL, AES_DECRYPTION) == 0;
    if (!ok) {
      wt_qlb_del(q);
      return WT_ERR_CRYPTO;
    }
  }
  *out = q;
  return 0;
}

void wt_qlb_del(wt_qlb *q) {
  if (q == NULL) {
    return;
  }
  if (q->p.has_key) {
    wc_AesFree(&q->enc);
    wc_AesFree(&q->dec);
  }
  memset(q, 0, sizeof(*q)); /* the key schedules */
  free(q);
}

const wt_qlb_params *wt_qlb_params_of(const wt_qlb *q) {
  return &q->p;
}

int wt_qlb_encode(const wt_qlb *q, const uint8_t *nonce, uint8_t low, uint8_t *cid, size_t len) {
  if (q == NULL || nonce == NULL || cid == NULL || len != q->cid_len) {
    return WT_ERR_INVAL;
  }
  uint8_t plain[WT_QLB_PAYLOAD];
  size_t sl = q->p.server_id_len;
  memcpy(plain, q->p.server_id, sl);
  memcpy(plain + sl, nonce, q->p.nonce_len);
  /* The first octet: config rotation in the 3 high bits (draft-21). */
  cid[0] = (uint8_t)(q->p.config_id << 5 | (low & WT_QLB_LOW_MASK));
  if (!q->p.has_key) {
    memcpy(cid + 1, plain, len - 1); /* the plaintext algorithm */
    return 0;
  }
  /* the block-cipher algorithm's single-pass case: server ID + nonce are
   * one AES block.
   * wc_AesEncryptDirect only reads the key schedule. */
  if (wc_AesEncryptDirect((Aes *)&q->enc, cid + 1, plain) != 0) {
    return WT_ERR_CRYPTO;
  }
  return 0;
}

int wt_qlb_decode(const wt_qlb *q, const uint8_t *cid, size_t len, uint8_t *low, uint8_t *sid,
                  uint8_t *nonce) {
  if (q == NULL || cid == NULL) {
    return WT_ERR_INVAL;
  }
  if (len != q->cid_len || (uint32_t)(cid[0] >> 5) != q->p.config_id) {
    return WT_ERR_MALFORMED;
  }
  uint8_t plain[WT_QLB_PAYLOAD];
  if (!q->p.has_key) {
    memcpy(plain, cid + 1, len - 1);
  } else if (wc_AesDecryptDirect((Aes *)&q->dec, plain, cid + 1) != 0) {
    return WT_ERR_CRYPTO;
  }
  if (low) {
    *low = cid[0] & WT_QLB_LOW_MASK;
  }
  if (sid) {
    memcpy(sid, plain, q->p.server_id_len);
  }
  if (nonce) {
    memcpy(nonce, plain + q->p.server_id_len, q->p.nonce_len);
  }
  return 0;
}

int wt_qlb_is_ours(const wt_qlb *q, const uint8_t *cid, size_t len) {
  uint8_t sid[WT_QLB_SID_MAX];
  return q != NULL && wt_qlb_decode(q, cid, len, NULL, sid, NULL) == 0 &&
         memcmp(sid, q->p.server_id, q->p.server_id_len) == 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

int wt_qlb_hex(const char *s, uint8_t *out, size_t cap) {
  if (s == NULL || out == NULL) {
    return -1;
  }
  size_t n = strlen(s);
  if (n == 0 || n % 2 != 0 || n / 2 > cap) {
    return -1;
  }
  for (size_t i = 0; i < n / 2; i++) {
    int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return -1;
    }
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return (int)(n / 2);
}
