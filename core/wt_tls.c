/* wt_tls.c: wolfSSL contexts and sessions for QUIC (RFC 9001). */
#define WT_LOG_MODULE "tls"
#include "wt_tls.h"

#include <stdlib.h>
#include <string.h>

#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <ngtcp2/ngtcp2_crypto_wolfssl.h>

#include "wt_crypto.h"
#include "wt_log.h"
#include "wt_mem.h"

/* wolfSSL's allocations count to the process memory budget
 * (wt_mem_lib_set_budget; core/base/wt_mem.h): its allocator is
 * process-wide and takes no context, so not per connection. Installed
 * before main, so before wolfSSL allocates anything: a block allocated
 * with plain malloc and freed through wt_mem_lib_free would break its
 * header. Every program that links the engine gets it. */
#if !defined(WOLFSSL_STATIC_MEMORY) && !defined(WOLFSSL_DEBUG_MEMORY) && !defined(NO_WOLFSSL_MEMORY)
__attribute__((constructor)) static void tls_mem_install(void) {
  (void)wolfSSL_SetAllocators(wt_mem_lib_malloc, wt_mem_lib_free, wt_mem_lib_realloc);
}
#endif

struct wt_tls_ctx {
  WOLFSSL_CTX *ctx;
  int is_server;
  int has_pin;
  int insecure;
  int has_ca;
  int enable_0rtt;
  uint8_t pin[32];
  WC_RNG rng;
  int rng_ok;
  /* debug only: SSLKEYLOGFILE lines go to the program (wt_engine_config) */
  void (*keylog)(void *user, const char *line);
  void *keylog_user;
};

/* AES-128-GCM first: wolfSSL's ChaCha20 is several times slower here
 * (docs/protocol.md section 6.5). ChaCha20-Poly1305 only when its
 * packets are opened natively with the tag checked (wt_crypto.h). */
static const char wt_ciphers[] =
    "TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:TLS13-CHACHA20-POLY1305-SHA256";
static const char wt_ciphers_aes[] = "TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384";

static const char *tls_ciphers(const wt_engine_config *cfg) {
  if (cfg->tls_ciphers != NULL) {
    return cfg->tls_ciphers;
  }
  return wt_crypto_chacha_ok() ? wt_ciphers : wt_ciphers_aes;
}
static const uint8_t wt_alpn_h3[] = {2, 'h', '3'};

static int tls_alpn_select(WOLFSSL *ssl, const unsigned char **out, unsigned char *outlen,
                           const unsigned char *in, unsigned int inlen, void *arg) {
  /* RFC 9114 section 3.1: HTTP/3 is negotiated with ALPN "h3". */
  for (unsigned int i = 0; i < inlen;) {
    unsigned int l = in[i];
    if (i + 1 + l > inlen) {
      break;
    }
    if (l == 2 && memcmp(in + i + 1, "h3", 2) == 0) {
      *out = in + i + 1;
      *outlen = (unsigned char)l;
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + l;
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static void tls_keylog(const WOLFSSL *ssl, const char *line) {
  WOLFSSL_CTX *ctx = wolfSSL_get_SSL_CTX((WOLFSSL *)ssl);
  wt_tls_ctx *t = ctx ? wolfSSL_CTX_get_ex_data(ctx, 0) : NULL;
  if (t && t->keylog) {
    t->keylog(t->keylog_user, line);
  }
}

static int pin_matches(const wt_tls_ctx *t, const uint8_t *der, size_t len) {
  uint8_t h[WC_SHA256_DIGEST_SIZE];
  if (der == NULL || len == 0 || wc_Sha256Hash(der, (word32)len, h) != 0) {
    return 0;
  }
  return memcmp(h, t->pin, sizeof(h)) == 0;
}

/* Verify callback for pin mode: the leaf (certs[0]) must hash to the pin;
 * the chain need not verify (serverCertificateHashes semantics). wolfSSL
 * only calls this when its own verification fails (unless built with
 * WOLFSSL_ALWAYS_VERIFY_CB), so wt_tls_check_peer repeats the check after
 * the handshake. */
static int tls_verify_pin(int preverify, WOLFSSL_X509_STORE_CTX *store) {
  const wt_tls_ctx *t = store ? store->userCtx : NULL;
  if (t == NULL || !t->has_pin || store->certs == NULL || store->totalCerts < 1) {
    return 0;
  }
  return pin_matches(t, store->certs[0].buffer, store->certs[0].length);
}

static int tls_verify_any(int preverify, WOLFSSL_X509_STORE_CTX *store) {
  return 1;
}

static int tls_ctx_server(wt_tls_ctx *t, const wt_engine_config *cfg) {
  if (cfg->cert_file == NULL || cfg->key_file == NULL) {
    WT_LOG_ERROR("server needs cert_file and key_file");
    return WT_ERR_CONFIG;
  }
  if (ngtcp2_crypto_wolfssl_configure_server_context(t->ctx) != 0) {
    return WT_ERR_CRYPTO;
  }
  wolfSSL_CTX_set_options(t->ctx, WOLFSSL_OP_CIPHER_SERVER_PREFERENCE);
  wolfSSL_CTX_set_alpn_select_cb(t->ctx, tls_alpn_select, NULL);
  if (wolfSSL_CTX_use_certificate_chain_file(t->ctx, cfg->cert_file) != WOLFSSL_SUCCESS) {
    WT_LOG_ERROR("cannot load certificate %s", cfg->cert_file);
    return WT_ERR_CONFIG;
  }
  if (wolfSSL_CTX_use_PrivateKey_file(t->ctx, cfg->key_file, WOLFSSL_FILETYPE_PEM) !=
      WOLFSSL_SUCCESS) {
    WT_LOG_ERROR("cannot load private key %s", cfg->key_file);
    return WT_ERR_CONFIG;
  }
  if (wolfSSL_CTX_check_private_key(t->ctx) != WOLFSSL_SUCCESS) {
    WT_LOG_ERROR("private key %s does not match %s", cfg->key_file, cfg->cert_file);
    return WT_ERR_CONFIG;
  }
  static const unsigned char sid_ctx[] = "wtcast";
  wolfSSL_CTX_set_session_id_context(t->ctx, sid_ctx, sizeof(sid_ctx) - 1);
  /* 0-RTT off by default: RFC 9001 section 4.6.1, max_early_data_size must
   * be 0xffffffff to accept it in QUIC, 0 to refuse. */
  wolfSSL_CTX_set_max_early_data(t->ctx, cfg->enable_0rtt ? UINT32_MAX : 0);
  return 0;
}

static int tls_ctx_client(wt_tls_ctx *t, const wt_engine_config *cfg) {
  if (ngtcp2_crypto_wolfssl_configure_client_context(t->ctx) != 0) {
    return WT_ERR_CRYPTO;
  }
  if (cfg->pin_sha256) {
    t->has_pin = 1;
    memcpy(t->pin, cfg->pin_sha256, sizeof(t->pin));
    wolfSSL_CTX_set_verify(t->ctx, WOLFSSL_VERIFY_PEER, tls_verify_pin);
  } else if (cfg->ca_file) {
    if (wolfSSL_CTX_load_verify_locations(t->ctx, cfg->ca_file, NULL) != WOLFSSL_SUCCESS) {
      WT_LOG_ERROR("cannot load CA file %s", cfg->ca_file);
      return WT_ERR_CONFIG;
    }
    t->has_ca = 1;
    wolfSSL_CTX_set_verify(t->ctx, WOLFSSL_VERIFY_PEER, NULL);
  } else if (cfg->insecure) {
    t->insecure = 1;
    wolfSSL_CTX_set_verify(t->ctx, WOLFSSL_VERIFY_NONE, tls_verify_any);
  } else {
    WT_LOG_ERROR("client needs pin_sha256, ca_file or insecure");
    return WT_ERR_CONFIG;
  }
  return 0;
}

int wt_tls_ctx_new(wt_tls_ctx **out, const wt_engine_config *cfg) {
  wt_tls_ctx *t = calloc(1, sizeof(*t));
  if (t == NULL) {
    return WT_ERR_NOMEM;
  }
  t->is_server = cfg->is_server;
  t->enable_0rtt = cfg->enable_0rtt;
  int rv = WT_ERR_CRYPTO;
  if (wc_InitRng(&t->rng) != 0) {
    goto fail;
  }
  t->rng_ok = 1;
  t->ctx =
      wolfSSL_CTX_new(cfg->is_server ? wolfTLSv1_3_server_method() : wolfTLSv1_3_client_method());
  if (t->ctx == NULL) {
    goto fail;
  }
  rv = cfg->is_server ? tls_ctx_server(t, cfg) : tls_ctx_client(t, cfg);
  if (rv < 0) {
    goto fail;
  }
  rv = WT_ERR_CRYPTO;
  if (wolfSSL_CTX_set_cipher_list(t->ctx, tls_ciphers(cfg)) != WOLFSSL_SUCCESS) {
    goto fail;
  }
  wolfSSL_CTX_set_ex_data(t->ctx, 0, t);
  if (cfg->keylog) {
    t->keylog = cfg->keylog;
    t->keylog_user = cfg->keylog_user;
    wolfSSL_CTX_set_keylog_callback(t->ctx, tls_keylog);
  }
  *out = t;
  return 0;
fail:
  wt_tls_ctx_del(t);
  return rv;
}

int wt_tls_ctx_reload(wt_tls_ctx *t, const wt_engine_config *cfg) {
  if (t == NULL || !t->is_server || cfg == NULL) {
    return WT_ERR_INVAL;
  }
  WOLFSSL_CTX *old = t->ctx;
  t->ctx = wolfSSL_CTX_new(wolfTLSv1_3_server_method());
  int rv = WT_ERR_CRYPTO;
  if (t->ctx != NULL) {
    rv = tls_ctx_server(t, cfg);
    if (rv == 0 && wolfSSL_CTX_set_cipher_list(t->ctx, tls_ciphers(cfg)) != WOLFSSL_SUCCESS) {
      rv = WT_ERR_CRYPTO;
    }
  }
  if (rv < 0) {
    if (t->ctx != NULL) {
      wolfSSL_CTX_free(t->ctx);
    }
    t->ctx = old; /* keep serving with the previous certificate */
    return rv;
  }
  wolfSSL_CTX_set_ex_data(t->ctx, 0, t);
  if (t->keylog) {
    wolfSSL_CTX_set_keylog_callback(t->ctx, tls_keylog);
  }
  /* Connections made with the old context hold a reference to it: wolfSSL
   * frees it with the last of them. */
  wolfSSL_CTX_free(old);
  return 0;
}

void wt_tls_ctx_del(wt_tls_ctx *t) {
  if (t == NULL) {
    return;
  }
  if (t->ctx) {
    wolfSSL_CTX_free(t->ctx);
  }
  if (t->rng_ok) {
    wc_FreeRng(&t->rng);
  }
  free(t);
}

WOLFSSL *wt_tls_ssl_new(wt_tls_ctx *t, ngtcp2_crypto_conn_ref *ref, const char *server_name) {
  WOLFSSL *ssl = wolfSSL_new(t->ctx);
  if (ssl == NULL) {
    return NULL;
  }
  wolfSSL_set_app_data(ssl, ref);
  if (t->is_server) {
    wolfSSL_set_accept_state(ssl);
    if (t->enable_0rtt) {
      wolfSSL_set_quic_early_data_enabled(ssl, 1);
    }
    return ssl;
  }
  wolfSSL_set_connect_state(ssl);
  if (wolfSSL_set_alpn_protos(ssl, wt_alpn_h3, sizeof(wt_alpn_h3)) != 0) {
    wolfSSL_free(ssl);
    return NULL;
  }
  if (server_name && server_name[0]) {
    wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, server_name, (unsigned short)strlen(server_name));
    if (t->has_ca) {
      wolfSSL_check_domain_name(ssl, server_name);
    }
  }
  if (t->has_pin) {
    wolfSSL_SetCertCbCtx(ssl, t);
  }
  wolfSSL_set_quic_transport_version(ssl, 0x39); /* RFC 9001 section 8.2 codepoint */
  wolfSSL_UseSessionTicket(ssl);
  return ssl;
}

int wt_tls_check_peer(const wt_tls_ctx *t, WOLFSSL *ssl) {
  if (t->is_server || !t->has_pin) {
    return 0;
  }
  WOLFSSL_X509 *x = wolfSSL_get_peer_certificate(ssl);
  if (x == NULL) {
    return WT_ERR_CRYPTO;
  }
  int len = 0;
  const unsigned char *der = wolfSSL_X509_get_der(x, &len);
  int ok = der != NULL && len > 0 && pin_matches(t, der, (size_t)len);
  wolfSSL_X509_free(x);
  return ok ? 0 : WT_ERR_CRYPTO;
}

int wt_tls_rand(wt_tls_ctx *t, uint8_t *out, size_t len) {
  if (len == 0) {
    return 0;
  }
  return wc_RNG_GenerateBlock(&t->rng, out, (word32)len) == 0 ? 0 : WT_ERR_CRYPTO;
}
