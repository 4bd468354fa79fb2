/* wt_cbpf_interp.h: a classic BPF interpreter for tests and fuzz targets
 * (header only). It runs the subset of cBPF that shards/wt_steer.c writes,
 * with the kernel's rule that a load past the end of the packet ends the
 * program with 0, so a test can check the steering program against
 * wt_steer_owner without attaching it to a socket. *bad is set (and 0
 * returned) for an opcode outside the subset or a program that falls off
 * its end. */
#ifndef WT_CBPF_INTERP_H
#define WT_CBPF_INTERP_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

static inline uint32_t wt_cbpf_run(const struct sock_filter *p, size_t n, const uint8_t *pkt,
                                   size_t len, int *bad) {
  uint32_t a = 0, x = 0;
  *bad = 0;
  for (size_t pc = 0; pc < n; pc++) {
    const struct sock_filter *f = &p[pc];
    switch (f->code) {
    case BPF_LD | BPF_W | BPF_LEN:
      a = (uint32_t)len;
      break;
    case BPF_LD | BPF_B | BPF_ABS:
      if (f->k >= len) {
        return 0;
      }
      a = pkt[f->k];
      break;
    case BPF_MISC | BPF_TAX:
      x = a;
      break;
    case BPF_MISC | BPF_TXA:
      a = x;
      break;
    case BPF_JMP | BPF_JA:
      pc += f->k;
      break;
    case BPF_JMP | BPF_JGE | BPF_K:
      pc += a >= f->k ? f->jt : f->jf;
      break;
    case BPF_JMP | BPF_JSET | BPF_K:
      pc += (a & f->k) ? f->jt : f->jf;
      break;
    case BPF_ALU | BPF_AND | BPF_K:
      a = a & f->k;
      break;
    case BPF_ALU | BPF_MOD | BPF_K:
      a = a % f->k;
      break;
    case BPF_RET | BPF_A:
      return a;
    case BPF_RET | BPF_K:
      return f->k;
    default:
      *bad = 1;
      return 0;
    }
  }
  *bad = 1; /* fell off the end */
  return 0;
}

#endif
