#!/usr/bin/env bash
# tests/deps_versions.sh: tools/deps's version pinning, without network or
# root. A fake apt-cache on PATH plays the archive; tools/deps --check-versions
# and --print-prefix run its resolution against it:
#   - the pins present: they are built, the prefix key is the pinned one;
#   - a pin gone, a newer version listed: tools/deps fails, names the newer
#     version and the option that accepts it; with --accept-newer (or
#     WTCAST_DEPS_ACCEPT_NEWER=1) it resolves to the newer one and the prefix
#     key changes;
#   - a pin gone, only older versions listed: fails even with --accept-newer;
#   - no source listed at all: fails with a hint about the deb-src entries;
#   - the project patch folder (tools/patches/<package>/, WTCAST_DEPS_PATCHES
#     here) is part of the key.
# Usage: tests/deps_versions.sh [repo-root]
set -euo pipefail
top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
deps="$top/tools/deps"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
  echo "FAIL: $*" >&2
  fails=$((fails + 1))
}

# The pins, read from tools/deps itself: "pkg version" lines.
pins=$(sed -n '/^declare -A PIN=(/,/^)/p' "$deps" | sed -n 's/^ *\[\([a-z0-9]*\)\]=\(.*\)$/\1 \2/p')
[ -n "$pins" ] || {
  echo "FAIL: no PIN table found in tools/deps" >&2
  exit 1
}
first_pkg=$(echo "$pins" | head -n1 | cut -d' ' -f1)
first_pin=$(echo "$pins" | head -n1 | cut -d' ' -f2)

# fake_archive FILE: the fake apt-cache prints, for "showsrc PKG", a stanza
# per "PKG VERSION" line of FILE.
mkdir -p "$tmp/bin"
cat >"$tmp/bin/apt-cache" <<'EOF'
#!/usr/bin/env bash
[ "$1" = showsrc ] || exit 100
while read -r p v; do
  [ "$p" = "$2" ] && printf 'Package: %s\nVersion: %s\nFormat: 3.0 (quilt)\n\n' "$p" "$v"
done <"$FAKE_ARCHIVE"
exit 0
EOF
chmod +x "$tmp/bin/apt-cache"
export PATH="$tmp/bin:$PATH"
export XDG_CACHE_HOME="$tmp/cache"
export WTCAST_DEPS_PATCHES="$tmp/patches"
unset WTCAST_DEPS_PREFIX WTCAST_DEPS_ACCEPT_NEWER
mkdir -p "$tmp/patches"

# has_line PKG PINNED BUILDING: --check-versions printed that line.
has_line() {
  echo "$out" | awk -v p="$1" -v a="$2" -v b="$3" '$1 == p && $2 == "pinned" && $3 == a && $4 == "building" && $5 == b { f = 1 } END { exit !f }'
}
run() { # run ARGS... -> $out (stdout+stderr), $rc
  rc=0
  out=$("$deps" "$@" 2>&1) || rc=$?
}

# 1. every pin listed (with an older version beside it)
{
  echo "$pins"
  echo "$pins" | awk '{ print $1, "0.1-1" }'
} >"$tmp/archive.ok"
export FAKE_ARCHIVE="$tmp/archive.ok"
run --check-versions
[ "$rc" = 0 ] || fail "pins present: --check-versions rc=$rc: $out"
while read -r p v; do
  has_line "$p" "$v" "$v" || fail "pins present: no '$p pinned $v building $v' in: $out"
done <<<"$pins"
run --print-prefix
prefix_pinned=$out
case "$prefix_pinned" in "$tmp/cache/wtcast/deps-"????????????) ;; *) fail "prefix '$prefix_pinned'" ;; esac
run --print-prefix --accept-newer
[ "$out" = "$prefix_pinned" ] || fail "--accept-newer with the pins present changed the prefix: $out"

# 2. the first package's pin gone, a newer version (with an epoch) listed
newer="1:99.0-1"
{
  echo "$pins" | grep -v "^$first_pkg "
  echo "$first_pkg 0.1-1"
  echo "$first_pkg $newer"
} >"$tmp/archive.newer"
export FAKE_ARCHIVE="$tmp/archive.newer"
run --check-versions
[ "$rc" != 0 ] || fail "pin gone: --check-versions succeeded: $out"
echo "$out" | grep -qF "$first_pkg $first_pin (pinned in tools/deps) is no longer in the archive; it has $newer now" ||
  fail "pin gone: the message does not say what the archive has: $out"
echo "$out" | grep -q -- "--accept-newer" || fail "pin gone: the message does not name --accept-newer: $out"
echo "$out" | grep -q "WTCAST_DEPS_ACCEPT_NEWER=1" || fail "pin gone: the message does not name the env var: $out"
run --check-versions --accept-newer
[ "$rc" = 0 ] || fail "pin gone + --accept-newer: rc=$rc: $out"
has_line "$first_pkg" "$first_pin" "$newer" || fail "pin gone + --accept-newer: $out"
run --print-prefix --accept-newer
prefix_newer=$(echo "$out" | tail -n1)
[ "$rc" = 0 ] || fail "pin gone: --print-prefix --accept-newer rc=$rc: $out"
[ "$prefix_newer" != "$prefix_pinned" ] || fail "the newer version did not change the prefix key"
out=$(WTCAST_DEPS_ACCEPT_NEWER=1 "$deps" --print-prefix 2>/dev/null | tail -n1)
[ "$out" = "$prefix_newer" ] || fail "WTCAST_DEPS_ACCEPT_NEWER=1 gave '$out', --accept-newer '$prefix_newer'"
# --print-prefix without --accept-newer does not consult the archive (the key is the pins')
run --print-prefix
[ "$rc" = 0 ] && [ "$out" = "$prefix_pinned" ] || fail "--print-prefix with the pins: rc=$rc $out"

# 3. only older versions listed: no option makes that a build
{
  echo "$pins" | grep -v "^$first_pkg "
  echo "$first_pkg 0.1-1"
} >"$tmp/archive.older"
export FAKE_ARCHIVE="$tmp/archive.older"
run --check-versions --accept-newer
[ "$rc" != 0 ] || fail "only older versions: --accept-newer succeeded: $out"
echo "$out" | grep -q "has only older versions (0.1-1)" || fail "only older versions: message: $out"

# 4. nothing listed
: >"$tmp/archive.empty"
export FAKE_ARCHIVE="$tmp/archive.empty"
run --check-versions
[ "$rc" != 0 ] || fail "empty archive: --check-versions succeeded"
echo "$out" | grep -q "lists no source package (no deb-src entries" || fail "empty archive: message: $out"

# 5. the project patches are part of the key (names and contents)
export FAKE_ARCHIVE="$tmp/archive.ok"
mkdir -p "$tmp/patches/$first_pkg"
printf '# test\n0001-a.patch\n' >"$tmp/patches/$first_pkg/series"
printf 'one\n' >"$tmp/patches/$first_pkg/0001-a.patch"
run --print-prefix
p1=$out
[ "$p1" != "$prefix_pinned" ] || fail "a patch folder did not change the key"
printf 'two\n' >"$tmp/patches/$first_pkg/0001-a.patch"
run --print-prefix
[ "$out" != "$p1" ] && [ "$out" != "$prefix_pinned" ] || fail "a patch's contents did not change the key"
rm -rf "${tmp:?}/patches/$first_pkg"
run --print-prefix
[ "$out" = "$prefix_pinned" ] || fail "without the patch folder the key is not the pinned one again"

if [ "$fails" != 0 ]; then
  echo "deps_versions: $fails failure(s)" >&2
  exit 1
fi
echo "deps_versions: ok (pins: $(echo $pins))"
