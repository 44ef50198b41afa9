#!/usr/bin/env bash
# Build from scratch and run every test: the Release suite, then the multi-thread and multi-process
# tests under ThreadSanitizer, then the suite under AddressSanitizer + UBSan.
# Usage: scripts/test.sh [--quick]   (--quick: Release suite only)
source "$(dirname "$0")/lib.sh"
cd "$EVR_ROOT"
evr_install_deps

quick=0
[ "${1:-}" = "--quick" ] && quick=1
fail=0
run_suite() { # name builddir ctest-args...
  local name=$1 dir=$2; shift 2
  echo "== $name: run"
  local t0=$SECONDS
  ctest --test-dir "$dir" --output-on-failure "$@" || fail=1
  echo "== $name: done in $((SECONDS - t0)) s"
}

echo "== release: build"
evr_build build/release -DCMAKE_BUILD_TYPE=Release
run_suite release build/release -j 2
if [ $quick -eq 0 ]; then
  echo "== tsan: build"
  evr_build build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DEVR_TSAN=ON -DEVR_BUILD_BENCH=OFF
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" run_suite tsan build/tsan -L tsan
  echo "== asan: build"
  evr_build build/asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DEVR_ASAN=ON -DEVR_BUILD_BENCH=OFF
  ASAN_OPTIONS="detect_leaks=1" UBSAN_OPTIONS="print_stacktrace=1" run_suite asan build/asan -L asan -j 2
fi
[ $fail -eq 0 ] && echo "== all suites passed" || echo "== FAILED"
exit $fail
