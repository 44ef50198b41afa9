#!/usr/bin/env bash
# The demo: build, create a ring, run the platform's services as producer processes (evring-sim),
# watch the events flow through an independent consumer (evring tail --follow), then a full-speed
# burst, the ring's producer table, and the ring removed again.
# Usage: scripts/demo.sh [seconds of readable flow, default 4]
source "$(dirname "$0")/lib.sh"
cd "$EVR_ROOT"
evr_install_deps
secs=${1:-4}

echo "== building (Release) into build/demo"
evr_build build/demo -DCMAKE_BUILD_TYPE=Release -DEVR_BUILD_TESTS=OFF -DEVR_BUILD_BENCH=OFF
bin=build/demo/bin
ring=/evring-demo-$$
tail_pid=
cleanup() {
  [ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null && wait "$tail_pid" 2>/dev/null
  "$bin/evring" unlink "$ring" 2>/dev/null || true
}
trap cleanup EXIT

echo; echo "== evring create $ring"
"$bin/evring" create "$ring" --slots 64k

echo; echo "== evring tail $ring --follow --summary   (an independent consumer process)"
"$bin/evring" tail "$ring" --follow --summary &
tail_pid=$!
sleep 0.3
echo "== evring-sim: 4 service processes at 25 events/s for $secs s"
"$bin/evring-sim" --ring "$ring" --procs 4 --rate 25 --duration "$secs" --seed 7 --quiet >/dev/null
sleep 0.3
kill -INT "$tail_pid"; wait "$tail_pid" || true
tail_pid=

echo; echo "== full speed: 4 service processes on $(nproc) cores for 2 s, no consumer slowing anyone"
"$bin/evring-sim" --ring "$ring" --procs 4 --duration 2 --seed 7

echo; echo "== evring info $ring"
"$bin/evring" info "$ring"

echo; echo "== the newest 5 records as JSON (evring tail -n 5 --json | jq)"
"$bin/evring" tail "$ring" --json -n 5 2>/dev/null | jq -c '{type, time, producer, plan_id}'

echo; echo "== evring unlink $ring"
"$bin/evring" unlink "$ring"
trap - EXIT
echo "== done"
