/* fanout_msg.c: the fan-out message format (fanout.h). */
#include <string.h>

#include "fanout.h"

void fo_put_le64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) {
    p[i] = (uint8_t)(v >> (8 * i));
  }
}

uint64_t fo_get_le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) {
    v = (v << 8) | p[i];
  }
  return v;
}

void fo_put_le32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) {
    p[i] = (uint8_t)(v >> (8 * i));
  }
}

uint32_t fo_get_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint8_t fo_pat_base(uint64_t seq) {
  return (uint8_t)((seq * UINT64_C(0x9E3779B97F4A7C15)) >> 56);
}

void fo_msg_build(uint8_t *m, size_t size, uint64_t seq, uint64_t ts) {
  fo_put_le64(m, seq);
  fo_put_le64(m + 8, ts);
  uint8_t b = fo_pat_base(seq);
  for (size_t k = FO_HDR; k < size; k++) {
    m[k] = (uint8_t)(b + 31u * (unsigned)k);
  }
}

int fo_pat_ok(uint64_t seq, size_t k, const uint8_t *d, size_t n) {
  uint8_t b = fo_pat_base(seq);
  unsigned acc = 0;
  for (size_t j = 0; j < n; j++) {
    acc |= (uint8_t)(d[j] ^ (uint8_t)(b + 31u * (unsigned)(k + j)));
  }
  return acc == 0;
}
