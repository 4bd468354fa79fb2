#!/usr/bin/env bash
# The layer rules of docs/architecture.md that link lists cannot enforce:
#  - core/ makes no syscalls, reads no clock and creates no threads;
#  - io/ never includes ngtcp2, nghttp3 or wolfSSL headers;
#  - core/ and io/ never include shards/ headers; core/ never includes io/.
set -u
src=${1:?source dir}
cd "$src" || exit 1
fail=0
bad() { echo "layering: $*"; fail=1; }

while IFS= read -r hit; do bad "core/ must stay sans-I/O: $hit"; done < <(
  grep -nE '#include <(sys/epoll|pthread|unistd|liburing|sys/time|threads)\.h>|\b(clock_gettime|gettimeofday|pthread_create|sendmsg|recvmsg|sendmmsg|recvmmsg|socket|usleep|nanosleep)\s*\(' \
    core/*.c core/*.h core/base/*.c core/base/*.h 2>/dev/null | grep -v 'layering-ok')
while IFS= read -r hit; do bad "io/ must not know QUIC libraries: $hit"; done < <(
  grep -nE '#include [<"](ngtcp2|nghttp3|wolfssl)/' io/*.c io/*.h 2>/dev/null)
while IFS= read -r hit; do bad "core/ includes io/ or shards/: $hit"; done < <(
  grep -nE '#include "wt_(io|shard|app|steer|timer|stats)[a-z_]*\.h"' core/*.[ch] core/base/*.[ch] 2>/dev/null)
while IFS= read -r hit; do bad "io/ includes core/ or shards/: $hit"; done < <(
  grep -nE '#include "wt_(engine|conn|session|h3|tls|cid|capsule|shard|app|steer|timer|stats)[a-z_]*\.h"' io/*.[ch] 2>/dev/null)
[ "$fail" = 0 ] && echo "layering: ok"
exit $fail
