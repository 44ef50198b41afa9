#!/usr/bin/env bash
# The README's C example is a whole program: extract it, build it as written against the build
# tree's static libraries (libring and the platform schema), run it twice in a row (the second run meets no leftover ring), check the
# JSON line it prints and that it leaves no shm object. The install command it names must name the
# tree scripts/demo.sh builds.
set -euo pipefail
root=$1 lib=$2 evring=$3 platform_lib=$4
work=$(mktemp -d)
ring=/evrt-readme-$$
trap 'rm -rf "$work" /dev/shm${ring} /dev/shm${ring}~wake /dev/shm${ring}~live' EXIT
awk '/^```c$/{on=1; next} /^```$/{if(on) exit} on' "$root/README.md" > "$work/readme.c"
cc -std=gnu11 -Wall -Wextra -Werror -I"$root/libring/include" -I"$root/schema/include" "$work/readme.c" \
  "$platform_lib" "$lib" -lpthread -lrt -o "$work/readme"
for run in 1 2; do
  out=$("$work/readme" "$ring")
  echo "$out"
  echo "$out" | grep -q '"type":"tool_retried".*"attempt":2,"backoff_ms":250,"tool":"web_search"' \
    || { echo "readme example, run $run, printed the wrong thing"; exit 1; }
  [ ! -e "/dev/shm$ring" ] && [ ! -e "/dev/shm$ring~wake" ] && [ ! -e "/dev/shm$ring~live" ] || { echo "run $run left the ring behind"; exit 1; }
done
# a ring left by a crashed run is used, not an error
"$evring" create "$ring" >/dev/null
"$work/readme" "$ring" | grep -q '"type":"tool_retried"' || { echo "readme example fails on an existing ring"; exit 1; }
install_tree=$(grep -o 'cmake --install [^ `]*' "$root/README.md" | head -1 | awk '{print $3}')
grep -q "evr_build $install_tree " "$root/scripts/demo.sh" \
  || { echo "README installs from '$install_tree', which scripts/demo.sh does not build"; exit 1; }
echo "readme example: 2 runs, an existing ring and the install tree: 4 passed, 0 failed"
