# tools/lib.sh: shared by tools/run and tools/test (sourced, not run).
# wt_build DIR [cmake args...]: configure + build into DIR against the cached
# dependency prefix (tools/deps prints it as its last line).
set -euo pipefail
WT_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WT_JOBS=${WTCAST_JOBS:-2}
wt_t0=$(date +%s)

wt_say() {
  printf '[%s +%ss] %s\n' "$(basename "$0")" "$(($(date +%s) - wt_t0))" "$*" >&2
}

wt_deps() {
  WT_PREFIX=$("$WT_TOP/tools/deps" "$@" | tail -n1)
  [ -f "$WT_PREFIX/.wtcast-deps-complete" ] || {
    echo "dependency prefix $WT_PREFIX is incomplete" >&2
    exit 1
  }
  export WTCAST_DEPS_PREFIX=$WT_PREFIX
}

wt_build() {
  local dir=$1
  shift
  mkdir -p "$dir"
  cmake -S "$WT_TOP" -B "$dir" -DWTCAST_DEPS_PREFIX="$WT_PREFIX" "$@" >"$dir/configure.log" 2>&1 || {
    cat "$dir/configure.log" >&2
    exit 1
  }
  cmake --build "$dir" -j"$WT_JOBS"
}
