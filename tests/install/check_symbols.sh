#!/usr/bin/env bash
# libevring.so exports exactly the public API: the symbols the public headers declare, no internal
# one (bus shield, wake page, clock, ...), and each of them is in libring/libevring.map.
# Usage: check_symbols.sh PATH/TO/libevring.so SOURCE_DIR
set -euo pipefail
lib=$1 src=$2
here=$(cd "$(dirname "$0")" && pwd)
declared=$("$here/public_symbols.sh" "$src/libring/include")
exported=$(nm -D --defined-only "$lib" | awk '$3 !~ /^EVRING_/ {print $3}' | sed 's/@.*//' | sort -u)
mapped=$(grep -oE '^[[:space:]]+evr_[a-z0-9_]+;' "$src/libring/libevring.map" | tr -d ' \t;' | sort -u)
fail=0
if [ "$declared" != "$exported" ]; then
  echo "exported but not declared in a public header (internal leaks):"
  comm -13 <(echo "$declared") <(echo "$exported") | sed 's/^/  /'
  echo "declared in a public header but not exported (missing from libring/libevring.map?):"
  comm -23 <(echo "$declared") <(echo "$exported") | sed 's/^/  /'
  fail=1
fi
if [ "$declared" != "$mapped" ]; then
  echo "libring/libevring.map differs from the public headers:"
  diff <(echo "$declared") <(echo "$mapped") | sed 's/^/  /'
  fail=1
fi
n=$(echo "$exported" | wc -l)
[ $fail -eq 0 ] && echo "exported symbols: the $n public ones and nothing else: 1 passed, 0 failed"
exit $fail
