/* wt_initial.h: does a client's first Initial packet decrypt? Checked
 * before the server allocates anything for it.
 *
 * Why: Initial packet protection is keyed by the client's Destination
 * Connection ID alone (RFC 9001 section 5.2), so anyone can build a packet
 * with a well-formed long header and garbage after it. Before this check
 * every such packet cost a whole server connection (ngtcp2 connection,
 * TLS object, CID table entries) that ngtcp2 then dropped when the payload
 * did not decrypt. Here the server derives the client's Initial keys,
 * removes header protection (section 5.4) and opens the first packet of the
 * datagram (AEAD_AES_128_GCM, section 5.3) with wolfCrypt directly; nothing
 * is allocated. ngtcp2 does the same work again for a packet that passes
 * (one key derivation and one AES-GCM open of ~1200 bytes per new
 * connection).
 *
 * Versions: QUIC v1 (RFC 9001) and v2 (RFC 9369: its own salt and labels),
 * the only ones ngtcp2 accepts (ngtcp2_is_supported_version).
 *
 * Threading: pure functions; state only on the caller's stack and in the
 * caller's scratch buffer. */
#ifndef WT_INITIAL_H
#define WT_INITIAL_H

#include <stddef.h>
#include <stdint.h>

#define WT_INITIAL_KEYLEN 16 /* AEAD_AES_128_GCM key and header-protection key */
#define WT_INITIAL_IVLEN  12

/* The client's Initial packet-protection keys for a DCID (RFC 9001 section
 * 5.2, 5.1): key, iv and hp of the sizes above. Returns 0, WT_ERR_UNSUPPORTED
 * for a version other than v1 and v2, WT_ERR_INVAL for dcidlen > 20,
 * WT_ERR_CRYPTO if wolfCrypt fails. */
int wt_initial_client_keys(uint32_t version, const uint8_t *dcid, size_t dcidlen,
                           uint8_t key[WT_INITIAL_KEYLEN], uint8_t iv[WT_INITIAL_IVLEN],
                           uint8_t hp[WT_INITIAL_KEYLEN]);

/* Check the first packet of the datagram pkt[0..len): a client Initial of
 * `version` whose DCID is dcid[0..dcidlen) (both as ngtcp2_accept decoded
 * them). scratch (cap >= len bytes, the caller's) receives the header copy
 * and the plaintext; its content afterwards is unspecified.
 * Returns 0 if the packet decrypts (header protection removed, AEAD tag
 * valid), WT_ERR_MALFORMED if it does not (bad tag, lengths that do not fit
 * the datagram, too short to sample), WT_ERR_UNSUPPORTED for a version
 * other than v1 and v2, WT_ERR_NOBUF if cap < len, WT_ERR_INVAL for bad
 * arguments, WT_ERR_CRYPTO if wolfCrypt fails. Never reads past len. */
int wt_initial_check(const uint8_t *pkt, size_t len, uint32_t version, const uint8_t *dcid,
                     size_t dcidlen, uint8_t *scratch, size_t cap);

#endif
