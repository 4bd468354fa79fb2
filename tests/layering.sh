#!/usr/bin/env bash
# The layer rules of docs/architecture.md that link lists cannot enforce:
#  - core/ makes no syscalls, reads no clock and creates no threads;
#  - io/ never includes ngtcp2, nghttp3 or wolfSSL headers;
#  - core/ and io/ never include shards/ headers; core/ never includes io/;
#  - core/ opens no file and reads no environment (fopen, fprintf to a file,
#    getenv): the programs do, and hand core callbacks and config values;
#  - core's internal headers (everything in core/ but the public contract
#    wt_engine.h and the pure codec headers below) are included only inside
#    core/ and by tests/ and fuzz/, never by the runtime, io or programs.
#  - apps/ and include/wtcast/ include only the application API
#    (include/wtcast/) and core/base headers (and their own); apps/moq/
#    (a pure codec) only core/base headers and its own;
#  - the runtime (shards/) never includes apps/, ops/ or auth/ headers;
#  - auth/ includes only core/base headers and its own;
#  - only ops/ includes libmicrohttpd; only auth/ includes jansson.
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
while IFS= read -r hit; do bad "core/ must stay sans-I/O (no files, no environment): $hit"; done < <(
  grep -nE '\b(fopen|fdopen|freopen|tmpfile|getenv|secure_getenv)\s*\(|\bfprintf\s*\(\s*[^s ]|\bfprintf\s*\(\s*s[^t]' \
    core/*.c core/*.h core/base/*.c core/base/*.h 2>/dev/null | grep -v 'layering-ok')

# The headers of core/ that the rest of the tree may include: the engine's
# public API and pure codecs (no engine state; programs and fuzzers use them).
core_public='wt_engine.h wt_capsule.h wt_cid.h wt_connect.h wt_datagram.h wt_errmap.h wt_settings.h
  wt_stream_hdr.h wt_testhook.h wt_qlb.h'
outside=()
for d in shards io tools bench apps ops client include auth; do
  [ -d "$d" ] && outside+=("$d")
done
for h in core/*.h; do
  name=${h#core/}
  case " $(echo $core_public) " in *" $name "*) continue ;; esac
  [ ${#outside[@]} -gt 0 ] || break
  while IFS= read -r hit; do bad "internal core header outside core/: $hit"; done < <(
    grep -rnE "#include [<\"]$name[>\"]" --include='*.c' --include='*.h' "${outside[@]}" 2>/dev/null)
done
# "X.h" includes of the files FILES... that name a header of none of DIRS.
includes_outside() { # DIRS (space-separated) FILES...
  local dirs=$1 f inc d ok
  shift
  for f in "$@"; do
    [ -f "$f" ] || continue
    while IFS= read -r inc; do
      ok=0
      for d in $dirs; do [ -f "$d/$inc" ] && ok=1; done
      [ "$ok" = 1 ] || echo "$f: #include \"$inc\""
    done < <(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]+"([^"]+)".*/\1/p' "$f")
  done
}
# "X.h" includes of FILES... that name a header of one of DIRS.
includes_inside() { # DIRS FILES...
  local dirs=$1 f inc d
  shift
  for f in "$@"; do
    [ -f "$f" ] || continue
    while IFS= read -r inc; do
      for d in $dirs; do [ -f "$d/$inc" ] && echo "$f: #include \"$inc\" ($d/)"; done
    done < <(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]+"([^"]+)".*/\1/p' "$f")
  done
}
while IFS= read -r hit; do bad "apps/ sees only the app API and core/base: $hit"; done < <(
  includes_outside "include/wtcast core/base apps apps/moq" apps/*.[ch])
while IFS= read -r hit; do bad "apps/moq/ (the moq-lite codec) sees only core/base and itself: $hit"; done < <(
  includes_outside "core/base apps/moq" apps/moq/*.[ch])
while IFS= read -r hit; do bad "include/wtcast/ needs only itself and core/base: $hit"; done < <(
  includes_outside "include/wtcast core/base" include/wtcast/*.h)
while IFS= read -r hit; do bad "the runtime (shards/) includes apps/, ops/ or auth/: $hit"; done < <(
  includes_inside "apps ops auth" shards/*.[ch])
while IFS= read -r hit; do bad "auth/ sees only core/base and itself: $hit"; done < <(
  includes_outside "core/base auth" auth/*.[ch])
while IFS= read -r hit; do bad "only auth/ uses jansson: $hit"; done < <(
  grep -nE '#include <jansson\.h>' core/*.[ch] core/base/*.[ch] io/*.[ch] shards/*.[ch] apps/*.[ch] apps/moq/*.[ch] \
    include/wtcast/*.h ops/*.[ch] client/*.[ch] tools/*.c tools/*/*.c 2>/dev/null)
while IFS= read -r hit; do bad "only ops/ uses libmicrohttpd: $hit"; done < <(
  grep -nE '#include <microhttpd\.h>' core/*.[ch] core/base/*.[ch] io/*.[ch] shards/*.[ch] \
    apps/*.[ch] apps/moq/*.[ch] include/wtcast/*.h 2>/dev/null)
[ "$fail" = 0 ] && echo "layering: ok"
exit $fail
