/* wt_hfield.h: HTTP field (header) names and values as an application may
 * add them to a WebTransport CONNECT exchange (RFC 9110 section 5, RFC
 * 9114 section 4.2): the syntax checks and the names reserved to the
 * engine. One implementation for the engine (wt_session_add_header) and
 * the application API (wt_app_session_add_header), which checks early so
 * the application gets the error at its call.
 *
 * Pure functions: no state, no allocation. Threading: any. */
#ifndef WT_HFIELD_H
#define WT_HFIELD_H

#include <stddef.h>
#include <stdint.h>

/* Bounds of the fields one side adds to its message (per session). */
#define WT_HFIELD_ADD_MAX       16   /* fields */
#define WT_HFIELD_ADD_BYTES_MAX 4096 /* bytes of names + values together */

/* 1 if name[0..len) is a field name HTTP/3 can carry: 1..255 tchar
 * (RFC 9110 section 5.1), lowercase (RFC 9114 section 4.2), not a
 * pseudo-header. */
int wt_hfield_name_ok(const char *name, size_t len);
/* 1 if value[0..len) is a field value (RFC 9110 section 5.5): visible
 * ASCII, obs-text, SP and HTAB, not starting or ending with SP/HTAB; no
 * CR, LF or NUL; at most 4096 bytes. */
int wt_hfield_value_ok(const char *value, size_t len);
/* 1 if an application may not add the field name (lowercase): the
 * connection-specific fields HTTP/3 forbids (RFC 9114 section 4.2:
 * connection, keep-alive, proxy-connection, transfer-encoding, upgrade, and
 * te), fields the engine writes or that describe the message body
 * (content-length, sec-webtransport-http3-draft, sec-webtransport-http3-
 * draft02, wt-protocol, wt-available-protocols: set through the protocol
 * calls instead). */
int wt_hfield_name_reserved(const char *name, size_t len);
/* wt_hfield_name_ok && !wt_hfield_name_reserved && wt_hfield_value_ok
 * for NUL-terminated strings (NULL: 0). */
int wt_hfield_addable(const char *name, const char *value);

#endif
