#!/usr/bin/env bash
# The README's C example must compile and run as written: extract it, wrap it in main(), build it
# against the build tree's static library, run it, and check the JSON line it prints.
set -euo pipefail
root=$1 lib=$2
work=$(mktemp -d)
trap 'rm -rf "$work" /dev/shm/readme-events /dev/shm/readme-events~wake' EXIT
awk '/^```c$/{on=1; next} /^```$/{if(on) exit} on' "$root/README.md" > "$work/body.c"
{
  grep '^#include' "$work/body.c"
  echo '#include <stdio.h>'
  echo 'int main(void) {'
  grep -v '^#include' "$work/body.c"
  echo 'evr_ring_unlink("/readme-events", NULL); return 0; }'
} > "$work/readme.c"
cc -std=gnu11 -Wall -Werror -I"$root/libring/include" "$work/readme.c" "$lib" -lpthread -lrt -o "$work/readme"
out=$("$work/readme")
echo "$out"
echo "$out" | grep -q '"type":"tool_retried".*"attempt":2,"backoff_ms":250,"tool":"web_search"' \
  && echo "readme example: 1 passed, 0 failed" || { echo "readme example printed the wrong thing"; exit 1; }
