/* wt_jose.h: what the JOSE modules share (wt_jwk.h keys, wt_jwt.h tokens):
 * bounded JSON parsing with jansson and base64url members.
 *
 * Pure functions, any thread. The JSON values returned belong to the
 * caller (json_decref). Internal to auth/. */
#ifndef WT_JOSE_H
#define WT_JOSE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* 1 if the JSON text s[0..n) nests objects and arrays at most max deep
 * (a scan that knows strings and escapes; the parser then runs on input
 * whose depth is known, whatever its own limit). */
int wt_jose_depth_ok(const char *s, size_t n, unsigned max);

/* Parse s[0..n) as one JSON object: nested at most max_depth deep,
 * duplicate member names refused (RFC 7515 section 5.2 step 4), NUL bytes
 * refused, nothing after it. NULL on any failure, with the reason in err. */
json_t *wt_jose_parse_object(const char *s, size_t n, unsigned max_depth, char *err, size_t cap);

/* Member name of obj as a base64url string decoded into out (cap bytes):
 * its length, or -1 when absent / not a string / not base64url (padding
 * allowed) / longer than cap. */
int wt_jose_b64_member(json_t *obj, const char *name, uint8_t *out, size_t cap);

#endif
