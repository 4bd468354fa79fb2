/* wt_steer.c: the reuseport cBPF program (see wt_steer.h). */
#define WT_LOG_MODULE "steer"
#include "wt_steer.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "wt_error.h"
#include "wt_log.h"

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif

/* A = accumulator, X = index register; a jump goes to (next + offset).
 * An absolute load past the end of the packet would end the program with 0
 * (= socket 0, not the hash fallback), so the length is checked before
 * every load. Offset 0 is the first UDP payload byte: the kernel pulls the
 * UDP header before running a reuseport program.
 *    0  A = len
 *    1  if A >= 2 goto 2 else goto 13     (short header + one DCID byte)
 *    2  X = A
 *    3  A = pkt[0]
 *    4  if A & 0x80 goto 5 else goto 9
 *    5  A = X
 *    6  if A >= 7 goto 7 else goto 13     (long header up to the DCID byte)
 *    7  A = pkt[6]
 *    8  goto 10
 *    9  A = pkt[1]
 *   10  A = A & mask                      (0xff, or 0x1f under QUIC-LB's
 *                                          config rotation bits)
 *   11  A = A % n
 *   12  return A                          (the socket index = the shard)
 *   13  return n                          (>= group size: kernel hash) */
int wt_steer_build(struct sock_filter *prog, size_t cap, uint32_t n, uint8_t mask) {
  if (!prog || cap < WT_STEER_PROG_LEN || n == 0 || n > WT_STEER_MAX_SHARDS ||
      n > (uint32_t)mask + 1) {
    return WT_ERR_INVAL;
  }
  const struct sock_filter p[WT_STEER_PROG_LEN] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, WT_STEER_SHORT_DCID_OFF + 1, 0, 11),
      BPF_STMT(BPF_MISC | BPF_TAX, 0),
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x80, 0, 4),
      BPF_STMT(BPF_MISC | BPF_TXA, 0),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, WT_STEER_LONG_DCID_OFF + 1, 0, 6),
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, WT_STEER_LONG_DCID_OFF),
      BPF_JUMP(BPF_JMP | BPF_JA, 1, 0, 0),
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, WT_STEER_SHORT_DCID_OFF),
      BPF_STMT(BPF_ALU | BPF_AND | BPF_K, mask),
      BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n),
      BPF_STMT(BPF_RET | BPF_A, 0),
      BPF_STMT(BPF_RET | BPF_K, n),
  };
  memcpy(prog, p, sizeof(p));
  return WT_STEER_PROG_LEN;
}

int wt_steer_attach(int fd, uint32_t n, uint8_t mask) {
  struct sock_filter prog[WT_STEER_PROG_LEN];
  if (fd < 0 || wt_steer_build(prog, WT_STEER_PROG_LEN, n, mask) < 0) {
    return WT_ERR_INVAL;
  }
  struct sock_fprog fp = {.len = WT_STEER_PROG_LEN, .filter = prog};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fp, sizeof(fp)) != 0) {
    WT_LOG_WARN("SO_ATTACH_REUSEPORT_CBPF: %s", strerror(errno));
    return WT_ERR_UNSUPPORTED;
  }
  return 0;
}
