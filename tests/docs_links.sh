#!/usr/bin/env bash
# Every document the tree cites is in the tree:
#  - each "docs/<name>.md" in a source, script, build file or document names
#    a file that exists;
#  - each bare "<name>.md" is the name of a Markdown file of the tree (so a
#    document that lives outside the repository is cited nowhere);
#  - relative Markdown links in README.md and docs/*.md point at files that
#    exist.
set -u
src=${1:?source dir}
cd "$src" || exit 1
fail=0
bad() { echo "docs: $*"; fail=1; }

files() {
  find . \( -name .git -o -name 'build*' -o -name node_modules -o -name corpus -o -name regressions -o -path './bench/results' \) -prune -o \
    -type f \( -name '*.[ch]' -o -name '*.sh' -o -name '*.ts' -o -name '*.js' -o -name '*.md' -o \
    -name 'CMakeLists.txt' -o -path './tools/*' -o -path './bench/*' -o -path './.ci/*' -o \
    -path './packaging/*' -o -path './web/*' \) -print
}

list=$(files | grep -v '^\./tests/docs_links\.sh$')
while IFS=: read -r f line ref; do
  [ -f "$ref" ] || bad "$f:$line: cites $ref, which is not in the tree"
done < <(echo "$list" | xargs grep -HnoE '\bdocs/[A-Za-z0-9_.-]+\.md' 2>/dev/null)
# the Markdown files of the tree (not the git-ignored bench/results)
known=" $(find . \( -name .git -o -name 'build*' -o -name node_modules -o -path './bench/results' \) \
  -prune -o -type f -name '*.md' -printf '%f ' 2>/dev/null) "
while IFS=: read -r f line ref; do
  case $known in *" $ref "*) ;; *) bad "$f:$line: cites $ref, which is not in the tree" ;; esac
done < <(echo "$list" | xargs grep -HnoE '(^|[^A-Za-z0-9_./-])[A-Za-z0-9_-]+\.md\b' 2>/dev/null |
  sed -E 's/^([^:]*:[0-9]+:)[^A-Za-z0-9_-]?/\1/')

for md in README.md docs/*.md; do
  [ -f "$md" ] || continue
  dir=$(dirname "$md")
  while IFS= read -r target; do
    case $target in
    http:* | https:* | mailto:* | '#'*) continue ;;
    esac
    path=${target%%#*}
    [ -e "$dir/$path" ] || bad "$md: link to $target, which is not in the tree"
  done < <(grep -oE '\]\([^)]+\)' "$md" | sed 's/^](//; s/)$//')
done

[ "$fail" = 0 ] && echo "docs: ok"
exit $fail
