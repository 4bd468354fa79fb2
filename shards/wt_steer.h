/* wt_steer.h: Connection-ID steering: which shard owns a datagram.
 *
 * Server-chosen CIDs carry the shard in their first byte (core/wt_cid.c:
 * (byte0 & mask) % n_shards == shard_id; mask is 0xff, or 0x1f with QUIC-LB
 * connection IDs, whose 3 high bits are the config rotation,
 * core/wt_qlb.h). The owner of a received datagram is read from the first
 * byte of its Destination Connection ID:
 *   long header (first byte & 0x80): 1 flags + 4 version + 1 DCID length,
 *     so the DCID starts at offset 6 (RFC 9000 section 17.2);
 *   short header: the DCID starts at offset 1 (RFC 9000 section 17.3).
 * owner = (that byte & mask) mod n. A datagram too short to hold the byte has no
 * owner (the value n: "any shard", the kernel's 4-tuple hash decides).
 *
 * The same decision exists twice: in C (wt_steer_owner, the ownership check
 * every shard makes per datagram) and as a classic BPF program attached to
 * the SO_REUSEPORT group (wt_steer_build/wt_steer_attach), whose return
 * value is the index of the socket (= shard, sockets are bound in shard
 * order) and where a value >= the group size falls back to the kernel hash.
 * tests/unit/test_steer.c runs the program through an interpreter and checks
 * that both agree.
 *
 * Initial packets carry a DCID the client chose: they are steered by it
 * like every other packet, so the shard that receives an Initial owns that
 * connection and its engine issues CIDs pointing to itself. */
#ifndef WT_STEER_H
#define WT_STEER_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

#define WT_STEER_LONG_DCID_OFF  6   /* flags(1) + version(4) + DCID length(1) */
#define WT_STEER_SHORT_DCID_OFF 1   /* flags(1) */
#define WT_STEER_MAX_SHARDS     256 /* one DCID byte */

/* Instructions wt_steer_build writes. */
#define WT_STEER_PROG_LEN 14

/* The shard that owns the datagram pkt[0..len) among n (1..256): 0..n-1, or
 * n when the datagram is too short to carry the DCID byte (any shard may
 * take it). n == 0 returns 0. mask: the DCID byte's bits that count
 * (WT_CID_SHARD_MASK, or WT_QLB_LOW_MASK with QUIC-LB CIDs). */
static inline uint32_t wt_steer_owner(const uint8_t *pkt, size_t len, uint32_t n, uint8_t mask) {
  if (n == 0) {
    return 0;
  }
  if (len < 1) {
    return n;
  }
  size_t off = (pkt[0] & 0x80) ? WT_STEER_LONG_DCID_OFF : WT_STEER_SHORT_DCID_OFF;
  if (len <= off) {
    return n;
  }
  return (uint32_t)(pkt[off] & mask) % n;
}

/* Write the classic BPF program deciding like wt_steer_owner for n shards
 * (1..256) and mask into prog[0..WT_STEER_PROG_LEN). Returns
 * WT_STEER_PROG_LEN, or WT_ERR_INVAL (n out of range or > mask + 1, cap too
 * small). */
int wt_steer_build(struct sock_filter *prog, size_t cap, uint32_t n, uint8_t mask);

/* Attach that program to the reuseport group of socket fd
 * (SO_ATTACH_REUSEPORT_CBPF; once per group, on any member after all are
 * bound). Returns 0, WT_ERR_INVAL or WT_ERR_UNSUPPORTED (the kernel refused:
 * the errno is logged; the caller goes on without steering, forwarding
 * covers it). */
int wt_steer_attach(int fd, uint32_t n, uint8_t mask);

#endif
