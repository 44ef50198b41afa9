#!/usr/bin/env bash
# Remove test rings left behind by tests that failed before their teardown. Test ring names are
# /evrt-<tag>-<pid>-<n> (tests/test_util.h): only objects whose creating process is gone are removed,
# so suites running at the same time keep theirs.
set -u
removed=0
for f in /dev/shm/evrt-*; do
  [ -e "$f" ] || continue
  pid=$(basename "$f" | sed -n 's/^evrt-[A-Za-z0-9_]*-\([0-9][0-9]*\)-.*/\1/p')
  [ -n "$pid" ] || continue
  if ! kill -0 "$pid" 2>/dev/null; then
    rm -f "$f" && removed=$((removed + 1))
  fi
done
echo "shm cleanup: removed $removed objects left by finished test processes"
