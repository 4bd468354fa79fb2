/* wt_tls.h: TLS 1.3 for QUIC through wolfSSL and ngtcp2_crypto_wolfssl.
 *
 * One wt_tls_ctx per engine (a WOLFSSL_CTX configured for QUIC, ALPN "h3",
 * AES-128-GCM first, session tickets on, 0-RTT off unless enabled), one
 * WOLFSSL per connection (a server's is freed once its handshake is
 * complete: wt_conn.c conn_tls_release). Client verification: a SHA-256 pin of the server
 * leaf certificate (serverCertificateHashes semantics), a CA file, or none
 * (insecure). Certificate and key files are read at creation and again by
 * wt_tls_ctx_reload. */
#ifndef WT_TLS_H
#define WT_TLS_H

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include "wt_engine.h"

typedef struct wt_tls_ctx wt_tls_ctx;

/* Create the context for cfg (server: cert_file + key_file are required).
 * Returns 0, WT_ERR_CONFIG (missing/unreadable files, bad pin setup) or
 * WT_ERR_CRYPTO. */
int wt_tls_ctx_new(wt_tls_ctx **out, const wt_engine_config *cfg);
void wt_tls_ctx_del(wt_tls_ctx *t);

/* Server: load cfg->cert_file and cfg->key_file into a new context used by
 * every connection created from now on; connections made earlier keep the
 * old one (reference-counted by wolfSSL). On failure (WT_ERR_CONFIG,
 * WT_ERR_CRYPTO, WT_ERR_INVAL) the old context stays in use. */
int wt_tls_ctx_reload(wt_tls_ctx *t, const wt_engine_config *cfg);

/* A new WOLFSSL for one connection; its app data is ref (ngtcp2_crypto finds
 * the ngtcp2_conn through it). Client: server_name is sent as SNI and, with
 * a CA file, checked against the certificate. NULL on failure. */
WOLFSSL *wt_tls_ssl_new(wt_tls_ctx *t, ngtcp2_crypto_conn_ref *ref, const char *server_name);

/* Client, after the handshake: 0 if the peer certificate passes the pin
 * check (or no pin is configured), WT_ERR_CRYPTO otherwise. */
int wt_tls_check_peer(const wt_tls_ctx *t, WOLFSSL *ssl);

/* Fill out[0..len) with random bytes from wolfSSL's RNG (engine-owned). */
int wt_tls_rand(wt_tls_ctx *t, uint8_t *out, size_t len);

#endif
