#!/usr/bin/env bash
# Long crash torture: build Release and run tests/torture/test_torture for the given time (default
# 300 s): producers SIGKILLed (also inside emit) and restarted, SIGSTOPped and continued, consumers
# verifying every record. Prints the figures (kills, stops, records verified, torn, max stall).
# Usage: scripts/soak.sh [seconds]
source "$(dirname "$0")/lib.sh"
cd "$EVR_ROOT"
evr_install_deps
seconds=${1:-300}
evr_build build/soak -DCMAKE_BUILD_TYPE=Release -DEVR_BUILD_BENCH=OFF
echo "== torture for $seconds s"
EVR_TORTURE_SECONDS=$seconds build/soak/tests/torture/test_torture --jobs 1 --timeout $((seconds + 300)) 2>&1
