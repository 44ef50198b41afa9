#!/usr/bin/env bash
# Model-check the lane protocol (model/lane.pml) with spin: safety (an accepted read is never torn
# or unpublished, the loss accounting identity holds, no deadlock), liveness (no non-progress
# cycle; the consumer always finishes), for 2 and 3 producers; then each seeded bug must be caught,
# which shows the checks are not vacuous. Works in a temporary directory; exits non-zero on any
# unexpected result.
# Usage: scripts/model-check.sh [--ci | --quick]
#   --ci     safety for 2 producers and the safety mutants (~15 s; the test suite runs this)
#   --quick  every check for 2 producers and every mutant (~4 min)
#   (none)   also 3 producers and 4 slots (~20 min)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
model=$root/model/lane.pml
mode=${1:-full}
command -v spin >/dev/null || { echo "model-check: spin is not installed (apt-get install spin)"; exit 1; }
work=$(mktemp -d /tmp/evr-spin.XXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail=0

# check NAME EXPECT(pass|fail) SPIN_DEFINES CC_DEFINES PAN_ARGS
check() {
  local name=$1 expect=$2 sdefs=$3 cdefs=$4 pargs=$5
  rm -f pan pan.* lane.pml.trail
  if ! spin $sdefs -a "$model" >spin.log 2>&1; then
    echo "model-check: spin failed on $name"; cat spin.log; fail=1; return
  fi
  # NFAIR=3: weak fairness over up to 9 processes (3 producers, reclaimer, consumer, init)
  gcc -O2 -w -DMEMLIM=4000 -DCOLLAPSE -DNFAIR=3 $cdefs -o pan pan.c || { fail=1; return; }
  local t0=$(date +%s.%N)
  timeout 600 ./pan $pargs >pan.log 2>&1
  local t1=$(date +%s.%N)
  local errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' pan.log | head -1)
  local states=$(awk '/states, stored/ {print $1}' pan.log | head -1)
  local trans=$(awk '/ transitions / {print $1}' pan.log | head -1)
  local what=$(grep -m1 -E "^pan:[0-9]+: " pan.log | sed 's/^pan:[0-9]*: *//; s/ (at depth.*//')
  local result=pass
  [ "${errors:-1}" = "0" ] || result=fail
  grep -q "search not completed\|out of memory\|pan: error" pan.log && result=incomplete
  local verdict=ok
  [ "$result" = "$expect" ] || { verdict=UNEXPECTED; fail=1; }
  printf "%-44s %-10s %12s states %12s transitions %7.1f s  %s%s\n" "$name" "$result" "${states:-?}" "${trans:-?}" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" "$verdict" "${what:+  ($what)}"
}

run_config() { # producers slots maxpos wait [safety-only]
  local d="-DNPROD=$1 -DSLOTS=$2 -DMAXPOS=$3 -DWAIT=$4" tag="P=$1 S=$2 N=$3 W=$4"
  check "safety            $tag" pass "$d" "-DSAFETY -DNOCLAIM" "-m200000"
  [ "${5:-}" = safety-only ] && return
  check "no starvation     $tag" pass "$d" "-DNP -DNOCLAIM" "-l -f -m200000"
  check "consumer finishes $tag" pass "$d" "" "-a -f -N consumer_finishes -m200000"
}

echo "model-check ($mode): $model"
if [ "$mode" = --ci ]; then
  run_config 2 2 4 1 safety-only
else
  run_config 2 2 4 1
fi
if [ "$mode" = full ]; then
  run_config 3 2 3 1
  run_config 2 4 5 1 safety-only
fi
# seeded bugs: each must be caught by the check that names it
d="-DNPROD=2 -DSLOTS=2 -DMAXPOS=4 -DWAIT=1"
check "mutant: no ownership CAS (torn reads)" fail "$d -DBUG_NO_OWN" "-DSAFETY -DNOCLAIM" "-m200000"
check "mutant: no re-check after copy"       fail "$d -DBUG_NO_RECHECK" "-DSAFETY -DNOCLAIM" "-m200000"
[ "$mode" = --ci ] || check "mutant: unbounded wait on a stall"    fail "$d -DBUG_UNBOUNDED_WAIT" "" "-a -f -N consumer_finishes -m200000"
[ $fail -eq 0 ] && echo "model-check: all results as expected" || echo "model-check: UNEXPECTED results"
exit $fail
