#!/usr/bin/env bash
# Fuzz the ring for a bounded time: builds the libFuzzer targets with clang (ASan + UBSan, the
# library instrumented for coverage), runs each for N seconds (default 60) from the committed
# corpus, prints execs and execs/s, and copies any crash into tests/fuzz/regressions/<target>/,
# where every ordinary test build replays it. Exits non-zero when a crash was found.
# Usage: scripts/fuzz.sh [seconds]
source "$(dirname "$0")/lib.sh"
cd "$EVR_ROOT"
evr_install_deps
secs=${1:-60}
evr_build build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DEVR_FUZZ=ON \
  -DEVR_BUILD_BENCH=OFF -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address,undefined" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined"
found=0
# what libFuzzer left in $work; find, not ls: under pipefail an empty glob would end the script
artifacts() { find "$work" -maxdepth 1 \( -name 'crash-*' -o -name 'timeout-*' -o -name 'leak-*' \) "$@"; }
for t in record segment recordlog describe; do
  work=$(mktemp -d /tmp/evr-fuzz-$t.XXXX)
  cp tests/fuzz/corpus/$t/* "$work"/ 2>/dev/null
  echo "== fuzz_$t for $secs s"
  (cd "$work" && ASAN_OPTIONS=detect_leaks=0 "$EVR_ROOT/build/fuzz/tests/fuzz/fuzz_$t" -max_total_time="$secs" \
     -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 "$work" > "$work/log" 2>&1) || true # a crash: reported below
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$work/log")
  rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "$work/log")
  crashes=$(artifacts | wc -l)
  corpus=$(find "$work" -maxdepth 1 -type f ! -name log ! -name 'crash-*' ! -name 'timeout-*' ! -name 'leak-*' | wc -l)
  echo "   fuzz_$t: ${execs:-?} execs, ${rate:-?} execs/s, $crashes crashes, corpus $corpus"
  if [ "$crashes" -gt 0 ]; then
    found=1
    artifacts -exec cp {} tests/fuzz/regressions/$t/ \;
    grep -m3 -A12 "ERROR\|SUMMARY" "$work/log"
  fi
  rm -rf "$work"
done
rm -f /dev/shm/evrf-* 2>/dev/null
[ $found -eq 0 ] && echo "== no crashes" || echo "== crashes copied to tests/fuzz/regressions/ (they now fail the regress_* tests)"
exit $found
