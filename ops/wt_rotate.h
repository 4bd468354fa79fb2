/* wt_rotate.h: automatic rotation of short-lived certificates for
 * serverCertificateHashes deployments (wtcast --cert-rotate SECONDS).
 *
 * Browsers accept a pinned self-signed certificate only while it is valid
 * for at most 14 days, so a long-running server must change it, and pages
 * must learn the new hash before it is used. wtcast keeps two
 * certificates, the current one (served) and the next one (generated
 * ahead), and publishes both hashes (e.g. at /cert-hashes.json) so a page
 * can pin both. Certificates are made by wtcast-cert (installed next to
 * wtcast), valid for 2 x interval + 1 day (at most 14 days: interval <= 6
 * days).
 *
 * Where: a directory of our own (--cert-rotate-dir; under the shipped
 * systemd unit the state directory it grants, /var/lib/wtcast, whose path
 * systemd passes as $STATE_DIRECTORY), never next to the configuration,
 * which the unit mounts read-only. Inside it:
 *   DIR/rotate-N/cert.pem, DIR/rotate-N/key.pem   one generation (a pair)
 *   DIR/current -> rotate-N                       what the server serves
 *   DIR/next    -> rotate-M                       what it will serve next
 * The server reads DIR/current/cert.pem and DIR/current/key.pem. A pair is
 * written whole into a new directory before anything points at it, and a
 * rotation switches the pair with one rename(2) of a symbolic link
 * (current.tmp -> rotate-M over current): a reader sees the old pair or
 * the new one, never half of each. The one window left is a reload that
 * opened the old cert.pem just before the switch and key.pem just after:
 * the TLS set-up checks that the key matches the certificate
 * (wolfSSL_CTX_check_private_key), so that reload fails and the shards
 * keep serving the old pair, and the reload the rotation itself sends
 * right after the switch (SIGHUP to the process: shards reload, live
 * sessions are kept) loads the new one. The previous generation is
 * deleted at the rotation after, so a reload in progress never loses its
 * files. At the first start (no DIR/current) the pair given as --cert and
 * --key is copied in as the first generation if it is readable, else one
 * is generated; later starts continue with DIR/current and DIR/next. */
#ifndef WT_ROTATE_H
#define WT_ROTATE_H

#include <stdint.h>

#define WT_ROTATE_MAX_S (6u * 86400u)

typedef struct wt_rotate wt_rotate;

/* Prepare dir (created 0700 if missing): DIR/current (seeded from
 * seed_cert/seed_key when readable, else generated) and DIR/next (generated
 * if missing or unreadable). Returns NULL with a message on stderr on
 * failure. */
wt_rotate *wt_rotate_new(const char *dir, const char *seed_cert, const char *seed_key,
                         uint32_t interval_s);

/* The files to serve, DIR/current/cert.pem and DIR/current/key.pem (valid
 * until wt_rotate_del). */
const char *wt_rotate_cert_file(const wt_rotate *r);
const char *wt_rotate_key_file(const wt_rotate *r);

/* Start the rotation thread ("wt-rotate"; after the server is up). 0 or -1. */
int wt_rotate_start(wt_rotate *r);

/* The two hashes (lowercase hex) and the time of the next rotation (Unix
 * seconds). Any thread. */
void wt_rotate_hashes(wt_rotate *r, char current[65], char next[65], int64_t *next_rotation);

/* Stop the thread, free. NULL is a no-op. */
void wt_rotate_del(wt_rotate *r);

#endif
