/* fuzz_moq.c: the moq-lite codec (apps/moq/wt_moq.h).
 *
 * Input: byte 0 bit 0 = version (0: moq-lite-03, 1: -04; bit 3 set:
 * -05), bits 1..2 = the stream (0: a bidirectional stream as its opener
 * writes it, 1: as the accepting side answers, after the same Stream Kind
 * varint, 2: a uni stream: Data Type, then GROUP and frames (-05: each
 * with its timestamp), or on -05 Data Type 1 and one SETUP), bytes 1..8
 * seed the split points, the
 * rest is the stream. It is read as wt_moq_next() says, once in one piece
 * and once in pieces; the oracles:
 *  - a "need more" result takes every byte offered, no call takes more
 *    than it was offered;
 *  - the messages read, their order, the final verdict and the bytes used
 *    do not depend on the split;
 *  - every decoded message encodes again (the decoder accepts nothing the
 *    encoder refuses), and decoding that encoding gives the same encoding
 *    (a fixed point). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "wt_error.h"
#include "wt_moq.h"
#include "wt_varint.h"

#define LOG_MAX (1u << 16)

typedef struct result {
  int rv; /* last verdict: 0 need more / stream ended, < 0 error */
  size_t used;
  uint8_t log[LOG_MAX]; /* re-encodings of the messages read, and frame sizes */
  size_t nlog;
} result;

static void log_bytes(result *res, const uint8_t *p, size_t n) {
  if (res->nlog + n <= LOG_MAX) {
    memcpy(res->log + res->nlog, p, n);
  }
  res->nlog += n;
}

/* The decoded m encodes, and that encoding decodes to itself. */
static void check_msg(result *res, const wt_moq_msg *m, int version, wt_moq_type asked) {
  static uint8_t enc[WT_MOQ_MAX_MSG + 32], enc2[WT_MOQ_MAX_MSG + 32];
  int n = wt_moq_encode(m, version, enc, sizeof(enc));
  FUZZ_CHECK(n > 0);
  static wt_moq_reader r;
  wt_moq_reader_init(&r, version);
  wt_moq_msg m2;
  size_t used;
  const char *why;
  FUZZ_CHECK(wt_moq_read_msg(&r, asked, enc, (size_t)n, &used, &m2, &why) == 1);
  FUZZ_CHECK(used == (size_t)n && m2.type == m->type);
  int n2 = wt_moq_encode(&m2, version, enc2, sizeof(enc2));
  FUZZ_CHECK(n2 == n && memcmp(enc, enc2, (size_t)n) == 0);
  log_bytes(res, enc, (size_t)n);
}

static void run(result *res, int version, int mode, const uint8_t *data, size_t len,
                fuzz_split *split) {
  static wt_moq_reader r;
  wt_moq_reader_init(&r, version);
  res->rv = 0;
  res->used = 0;
  res->nlog = 0;
  int stage = 0; /* 0: first varint, 1: messages (or GROUP), 2: frame size, 3: payload */
  uint64_t kind = 0, n = 0, payload = 0;
  size_t off = 0;
  while (off < len) {
    size_t chunk = split ? fuzz_split_len(split, len - off) : len - off;
    const uint8_t *d = data + off;
    while (chunk) {
      size_t used = 0;
      int rv;
      wt_moq_msg m;
      const char *why = NULL;
      if (stage == 0) {
        rv = wt_moq_read_varint(&r, d, chunk, &used, &kind);
        if (rv == 1) {
          uint8_t k[8];
          log_bytes(res, k, (size_t)wt_varint_encode(k, sizeof(k), kind));
          if (mode == 2 && kind != WT_MOQ_UNI_GROUP &&
              (kind != WT_MOQ_UNI_SETUP || version < WT_MOQ_LITE_05)) {
            rv = WT_ERR_MALFORMED; /* unknown Data Type: the caller resets */
          }
        }
      } else if (stage == 1) {
        wt_moq_type t = mode != 2                  ? wt_moq_next(version, kind, mode == 0, n)
                        : kind == WT_MOQ_UNI_GROUP ? WT_MOQ_GROUP
                        : n                        ? WT_MOQ_NONE
                                                   : WT_MOQ_SETUP;
        if (t == WT_MOQ_NONE) {
          rv = WT_ERR_MALFORMED; /* bytes where none may come */
        } else {
          rv = wt_moq_read_msg(&r, t, d, chunk, &used, &m, &why);
          if (rv == 1) {
            check_msg(res, &m, version, t);
            n++;
          }
          if (rv < 0) {
            FUZZ_CHECK(why != NULL);
          }
        }
      } else if (stage == 2) {
        rv = wt_moq_read_frame(&r, d, chunk, &used, &payload, &why);
        if (rv == 1) {
          uint8_t k[16];
          int kn = wt_varint_encode(k, sizeof(k), payload);
          if (version >= WT_MOQ_LITE_05) { /* the timestamp read before the size */
            kn += wt_varint_encode(k + kn, sizeof(k) - (size_t)kn, r.frame_ts);
          }
          log_bytes(res, k, (size_t)kn);
        }
        if (rv < 0) {
          FUZZ_CHECK(why != NULL);
        }
      } else {
        used = payload < chunk ? (size_t)payload : chunk; /* the caller's bytes */
        payload -= used;
        rv = payload == 0;
      }
      FUZZ_CHECK(used <= chunk);
      if (rv == 0) {
        FUZZ_CHECK(used == chunk);
      }
      res->used += used;
      d += used;
      chunk -= used;
      off += used;
      if (rv < 0) {
        res->rv = rv;
        return;
      }
      if (rv == 1) {
        if (stage == 0) {
          stage = 1;
        } else if (stage == 1 && mode == 2 && kind == WT_MOQ_UNI_GROUP) {
          stage = 2;
        } else if (stage == 2) {
          stage = payload ? 3 : 2;
        } else if (stage == 3) {
          stage = 2;
        }
      }
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 9) {
    return 0;
  }
  int version = (data[0] & 8) ? WT_MOQ_LITE_05 : (data[0] & 1) ? WT_MOQ_LITE_04 : WT_MOQ_LITE_03;
  int mode = (data[0] >> 1) & 3;
  if (mode == 3) {
    mode = 2;
  }
  fuzz_split split;
  fuzz_split_init(&split, data + 1, 8);
  static result whole, pieces;
  run(&whole, version, mode, data + 9, size - 9, NULL);
  run(&pieces, version, mode, data + 9, size - 9, &split);
  FUZZ_CHECK(whole.rv == pieces.rv);
  FUZZ_CHECK(whole.used == pieces.used);
  FUZZ_CHECK(whole.nlog == pieces.nlog);
  FUZZ_CHECK(memcmp(whole.log, pieces.log, whole.nlog < LOG_MAX ? whole.nlog : LOG_MAX) == 0);
  return 0;
}
