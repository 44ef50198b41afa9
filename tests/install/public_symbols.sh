#!/usr/bin/env bash
# The public API: every function and object the public headers declare with the evr_ prefix, one
# per line, sorted. Usage: public_symbols.sh INCLUDE_DIR
set -euo pipefail
# static inline helpers (describe.h's accessors) are not symbols: their names are dropped first
api=$(echo '#include <evring/evring.h>' | ${CC:-cc} -E -P -I"$1" - | tr '\n' ' ' | sed -E 's/static inline [^(]*\(/(/g')
{
  # functions: a type, the name, "(" (the name last, so "enum evr_role evr_ring_role(" gives one)
  grep -oE '[A-Za-z0-9_*]+[ *]+evr_[a-z0-9_]+ *\(' <<<"$api" | grep -oE 'evr_[a-z0-9_]+ *\($' | tr -d ' ('
  # objects: "extern const struct evr_event_desc evr_events[...]"
  grep -oE 'extern [^;(]*' <<<"$api" | grep -oE 'evr_[a-z0-9_]+ *(\[[^]]*\])? *$' | grep -oE '^evr_[a-z0-9_]+' || true
} | sort -u
