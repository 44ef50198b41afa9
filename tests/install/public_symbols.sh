#!/usr/bin/env bash
# The public API: every function and object the public headers declare with the evr_ prefix, one
# per line, sorted. Usage: public_symbols.sh INCLUDE_DIR [HEADER [INCLUDE_DIR...]]
# (HEADER defaults to evring/evring.h, libring's; evring/platform.h, with schema/include added,
# gives the platform module's and libring's together.)
set -euo pipefail
dir=$1 header=${2:-evring/evring.h}
extra=()
for d in "${@:3}"; do extra+=(-I"$d"); done
# static inline helpers (describe.h's accessors, producer.h's inline claim) are not symbols: their
# names are dropped first (after their attributes), and so are the calls in their bodies
# ("return evr_...(").
api=$(echo "#include <$header>" | ${CC:-cc} -E -P -I"$dir" "${extra[@]}" - | tr '\n' ' ' |
  sed -E -e 's/__attribute__ *\(\([^)]*\)\)//g' -e 's/static inline [^(]*\(/(/g' -e 's/return [^;]*;/;/g')
{
  # functions: a type, the name, "(" (the name last, so "enum evr_role evr_ring_role(" gives one)
  grep -oE '[A-Za-z0-9_*]+[ *]+evr_[a-z0-9_]+ *\(' <<<"$api" | grep -oE 'evr_[a-z0-9_]+ *\($' | tr -d ' ('
  # objects: "extern const struct evr_event_desc evr_events[...]"
  grep -oE 'extern [^;(]*' <<<"$api" | grep -oE 'evr_[a-z0-9_]+ *(\[[^]]*\])? *$' | grep -oE '^evr_[a-z0-9_]+' || true
} | sort -u
