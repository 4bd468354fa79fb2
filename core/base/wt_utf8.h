/* wt_utf8.h: strict UTF-8 validation (RFC 3629).
 *
 * Used for the WT_CLOSE_SESSION message, which must be valid UTF-8
 * (draft-ietf-webtrans-http3-16 section 6). Pure function: no state, no
 * allocation. */
#ifndef WT_UTF8_H
#define WT_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 1 if p[0..len) is well-formed UTF-8, 0 if not. Rejects (RFC 3629 section 3
 * and 4): stray continuation bytes, truncated sequences, overlong encodings
 * (C0, C1, E0 80..9F, F0 80..8F), UTF-16 surrogates U+D800..U+DFFF
 * (ED A0..BF) and code points above U+10FFFF (F4 90.., F5..FF). NUL bytes
 * are valid. len == 0 is valid; p may be NULL only when len == 0. */
int wt_utf8_valid(const uint8_t *p, size_t len);

#endif
