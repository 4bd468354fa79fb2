/* wtcast-ioprobe: can this machine run wtcast's io_uring datapath?
 *
 * Runs the probe wt_io_open does for --io=auto (kernel.io_uring_disabled,
 * ring set-up with SINGLE_ISSUER|DEFER_TASKRUN or plain flags, the RECVMSG /
 * SENDMSG / POLL_ADD / POLL_REMOVE opcodes, a provided buffer ring, and one
 * datagram through multishot recvmsg on 127.0.0.1) and prints the verdict.
 * Exit status: 0 usable, 77 unavailable (the automake "skip" code, so a test
 * runner can skip io_uring tests with the reason), 2 bad usage. */
#include <stdio.h>
#include <string.h>

#include "wt_io.h"

int main(int argc, char **argv) {
  int quiet = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quiet")) {
      quiet = 1;
    } else {
      fprintf(stderr, "usage: wtcast-ioprobe [--quiet]\n"
                      "exit 0 if the io_uring datapath works here, 77 (with the reason) if not\n");
      return 2;
    }
  }
  char why[256] = "";
  if (wt_io_uring_probe(why, sizeof(why)) != 0) {
    printf("io_uring datapath unavailable: %s\n", why);
    return 77;
  }
  if (!quiet) {
    printf("io_uring datapath available\n");
  }
  return 0;
}
