#!/usr/bin/env bash
# evring serve with 200 event streams at once, one of them stalled (it sends its request and never
# reads): every other stream gets every record, the producers drop nothing (an emit never waits for
# a consumer), and the server's memory stays within its bound (the hub, and per stream a stage,
# a stack and socket buffers). The delivery rate is printed, not asserted.
# Usage: test_serve_clients.sh PATH/TO/evring PATH/TO/evr_fill_ring PATH/TO/evr_sse_clients
set -uo pipefail
EVR=$1 FILL=$2 CLIENTS=$3
tag=evrt-serve-clients-$$
dir=$(mktemp -d /tmp/$tag.XXXX)
server= clients=
cleanup() {
  if [ -n "$clients" ]; then kill "$clients" 2>/dev/null; wait "$clients" 2>/dev/null; fi
  if [ -n "$server" ]; then kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; fi
  for r in /dev/shm/$tag*; do [ -e "$r" ] && "$EVR" unlink --force "/${r#/dev/shm/}" >/dev/null 2>&1; done
  rm -rf "$dir"
}
trap cleanup EXIT
source "$(dirname "$0")/../lib/checks.sh"
source "$(dirname "$0")/../lib/server.sh"

R=/$tag
"$EVR" create $R --lanes 2 --slots 65536 >/dev/null
# --buffer 8192 holds every record of this test: a stream may lag, but never lose one
start_server serve $R --buffer 8192 --max-clients 256 || exit 1

"$CLIENTS" "$port" 199 5000 --stall 1 --deadline 60 >"$dir/clients.out" &
clients=$!
for _ in $(seq 400); do grep -q ready "$dir/clients.out" && break; sleep 0.05; done
grep -q ready "$dir/clients.out" || bad "199 streams did not open"
"$FILL" $R alpha:plan_created:3000 beta:tool_retried:2000 || bad "fill"
wait $clients || bad "some stream did not get every record"
clients=
cat "$dir/clients.out"
grep -q 'clients 199 records_min 5000 records_max 5000 lost 0 ' "$dir/clients.out" || bad "every stream: 5000 records, none lost"
dropped=$("$EVR" info $R --json | jq '[.producers[].dropped] | add')
[ "$dropped" = 0 ] || bad "producers dropped $dropped records"
hwm=$(awk '/^VmHWM/ {print $2}' /proc/$server/status)
echo "server peak RSS: $hwm kB, threads: $(awk '/^Threads/ {print $2}' /proc/$server/status)"
# the hub: 8192 entries of about 1.9 KiB; per stream a 64 KiB stage and a little of its stack
[ "$hwm" -lt $((128 * 1024)) ] || bad "server peak RSS $hwm kB, over 128 MiB"
stop_server || bad "server exits 0 on SIGTERM"
[ "$fails" -eq 0 ]
