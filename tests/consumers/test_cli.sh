#!/usr/bin/env bash
# The evring CLI on real rings with known content: exact lines, JSON parsed with jq, filters,
# cursors, record/replay/resume, and bad input (message + exit code, nothing written).
# Usage: test_cli.sh PATH/TO/evring PATH/TO/evring-sim
set -uo pipefail
EVR=$1 SIM=$2
source "$(dirname "$0")/lib_cli.sh"

heads() { "$EVR" info "$1" --json | jq -c .heads; }

R=/$tag-a
expect_exit 0 "create" "$EVR" create $R --lanes 1 --slots 8
expect_exit 0 "emit plan_created" "$EVR" emit $R plan_created plan_name=nightly plan_id=42 correlation_id=7
expect_exit 0 "emit tool_retried" "$EVR" emit $R tool_retried tool=web_search attempt=2 backoff_ms=250 plan_id=42 "details=rate limited"
expect_exit 0 "emit budget_exceeded" "$EVR" emit $R budget_exceeded spent_micros=1200 limit_micros=1000 budget=plan-cost plan_id=9

# text lines: exact, minus the time column (each `evring emit` is a new producer: p0, p1, p2)
expect_eq "tail text lines" \
"plan_created           p0 corr=7 plan=42 plan_name=nightly
tool_retried           p1 plan=42 attempt=2 backoff_ms=250 tool=web_search details=\"rate limited\"
budget_exceeded        p2 plan=9 spent_micros=1200 limit_micros=1000 budget=plan-cost" \
"$("$EVR" tail $R 2>/dev/null | cut -d' ' -f2-)"
# the time column is ISO-8601 UTC
"$EVR" tail $R 2>/dev/null >"$dir/out"; head -1 "$dir/out" | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{6}Z ' && ok || bad "time column"

# JSON: valid for jq, stable field names and values
expect_eq "json types" "plan_created tool_retried budget_exceeded" "$("$EVR" tail $R --json 2>/dev/null | jq -r .type | xargs)"
expect_eq "json fields" '{"type":"tool_retried","domain":"tool","plan_id":42,"attempt":2,"backoff_ms":250,"tool":"web_search","details":"rate limited","truncated":false}' \
  "$("$EVR" tail $R --json --type tool_retried 2>/dev/null | jq -c '{type,domain,plan_id,attempt,backoff_ms,tool,details,truncated}')"

# filters
expect_eq "--type" "budget_exceeded" "$("$EVR" tail $R --json --type budget_exceeded 2>/dev/null | jq -r .type)"
expect_eq "--domain" "plan_created tool_retried" "$("$EVR" tail $R --json --domain plan,tool 2>/dev/null | jq -r .type | xargs)"
expect_eq "--plan" "plan_created tool_retried" "$("$EVR" tail $R --json --plan 42 2>/dev/null | jq -r .type | xargs)"
expect_eq "--correlation" "plan_created" "$("$EVR" tail $R --json --correlation 7 2>/dev/null | jq -r .type)"
expect_eq "-n 1" "1" "$("$EVR" tail $R --json -n 1 2>/dev/null | wc -l)"
expect_eq "--summary" "total                               3" "$("$EVR" tail $R --summary 2>/dev/null | tail -1)"

# info and ls
expect_eq "info json" '{"lanes":1,"slots_per_lane":8,"heads":[3],"mode":"0600"}' "$("$EVR" info $R --json | jq -c '{lanes,slots_per_lane,heads,mode}')"
expect_eq "info producers" "evring-emit closed 1" "$("$EVR" info $R --json | jq -r '.producers[0] | "\(.service) \(.state) \(.emitted)"')"
"$EVR" ls | grep -q "^$R " && ok || bad "ls lists the ring"

# cursors: save, more records, resume gets exactly the new ones
expect_exit 0 "tail --save-cursor" "$EVR" tail $R --save-cursor "$dir/cur"
"$EVR" emit $R session_created session_id=5 user=alice
"$EVR" emit $R session_message_sent session_id=5 message_id=1 tokens=10 role=user
expect_eq "resume from cursor" "session_created session_message_sent" "$("$EVR" tail $R --json --from "$dir/cur" 2>/dev/null | jq -r .type | xargs)"
# stale cursor: 8 slots, 10 more records -> the first 2 after the cursor are lost, exactly
for i in $(seq 10); do "$EVR" emit $R context_built token_count=$i token_budget=100 item_count=1; done
"$EVR" tail $R --json --from "$dir/cur" >"$dir/out" 2>"$dir/err"
expect_eq "stale cursor loss line" '{"lost":4,"reason":"lapped","lane":0,"pos":3}' "$(head -1 "$dir/out" | jq -c .)"
expect_eq "stale cursor records" "8" "$(jq -r 'select(.type) | .type' "$dir/out" | wc -l)"
expect_err "lost 4 lapped" "stale cursor total"

# record -> replay, byte-identical to what tail delivers; resume after restart without duplicates
R2=/$tag-b
"$EVR" create $R2 --lanes 2 --slots 1024 >/dev/null
for i in $(seq 20); do "$EVR" emit $R2 tool_invoked attempt=$i tool=t$i actor=a; done
expect_exit 0 "record" "$EVR" record $R2 "$dir/log" --exit-when-idle 0.2 --fsync every
# without the times: a log keeps those of its recording, a tail of a TSC ring converts them anew
expect_eq "replay = tail" "$("$EVR" tail $R2 --json 2>/dev/null | jq -c 'del(.ts, .time)' | sort)" \
  "$("$EVR" replay "$dir/log" --json 2>/dev/null | jq -c 'del(.ts, .time)' | sort)"
for i in $(seq 21 30); do "$EVR" emit $R2 tool_invoked attempt=$i tool=t$i actor=a; done
expect_exit 0 "record resumes" "$EVR" record $R2 "$dir/log" --exit-when-idle 0.2
expect_err "resuming" "record says it resumes"
expect_eq "resume: 30 records, none twice" "30 30" "$("$EVR" replay "$dir/log" --json 2>/dev/null | jq -r .attempt | sort -un | wc -l) $("$EVR" replay "$dir/log" --json 2>/dev/null | wc -l)"
"$EVR" replay "$dir/log" --raw 2>/dev/null > "$dir/raw"
expect_eq "raw replay size" "$((30 * 128))" "$(stat -c %s "$dir/raw")"
# replay --into another ring re-emits every record, flagged replayed
R3=/$tag-c
"$EVR" create $R3 --lanes 1 --slots 64 >/dev/null
expect_exit 0 "replay --into" "$EVR" replay "$dir/log" --into $R3
expect_eq "replayed records" "30 true" "$("$EVR" tail $R3 --json 2>/dev/null | jq -r .replayed | sort | uniq -c | xargs)"
# a truncated log reads to its last good block, exit 0; a flipped byte fails, exit 1
cp "$dir/log" "$dir/torn"; truncate -s -100 "$dir/torn"
expect_exit 0 "torn log" "$EVR" replay "$dir/torn" --json
expect_err "cut short" "torn log message"
# the first block follows the 64-byte header and the schema section (16 bytes + the description)
first=$((64 + 16 + ($("$EVR" schema --json | jq .description_bytes) + 7) / 8 * 8))
cp "$dir/log" "$dir/flipped"; printf 'X' | dd of="$dir/flipped" bs=1 seek=$((first + 136)) conv=notrunc 2>/dev/null
expect_exit 1 "flipped log" "$EVR" replay "$dir/flipped"
expect_err "checksum" "flipped log message"
# ... and costs only its block: replay reads on from the next good block (the resumed 21..30) and says
# which bytes it skipped (issue 13: one flipped byte made most of a log unreadable)
expect_exit 1 "flipped log, json" "$EVR" replay "$dir/flipped" --json
expect_err "skipped bytes $first\.\." "flipped log: the skipped range"
expect_err "1 block unreadable" "flipped log: the summary counts it"
expect_eq "flipped log: the blocks after the damage are read" "$(seq 21 30 | xargs)" \
  "$(jq -r 'select(.type) | .attempt' "$dir/out" | sort -n | xargs)"
expect_eq "flipped log: the skip is shown inline" "1" "$(jq -r 'select(.unreadable_blocks) | .unreadable_blocks' "$dir/out")"
# a flipped byte in the log header: the blocks are read all the same (exit 1, said and counted)
cp "$dir/log" "$dir/badhdr"; printf 'X' | dd of="$dir/badhdr" bs=1 seek=20 conv=notrunc 2>/dev/null
expect_exit 1 "damaged header" "$EVR" replay "$dir/badhdr" --json
expect_err "the log header is damaged (it fails its checksum); reading its blocks anyway" "damaged header message"
expect_err "1 damaged log header (blocks read anyway)" "damaged header: the summary counts it"
expect_eq "damaged header: every record read" "$(seq 30 | xargs)" "$(jq -r 'select(.type) | .attempt' "$dir/out" | sort -n | xargs)"
# record never appends to a damaged log; --repair moves it aside unchanged and records on after its
# last good block
cp "$dir/flipped" "$dir/rep"
expect_exit 1 "record refuses a damaged log" "$EVR" record $R2 "$dir/rep" --exit-when-idle 0.2
expect_err "Run again with --repair to move it, unchanged, to $dir/rep.1" "record: the repair hint"
expect_eq "refused log untouched" "" "$(cmp "$dir/flipped" "$dir/rep")"
for i in $(seq 31 35); do "$EVR" emit $R2 tool_invoked attempt=$i tool=t$i actor=a; done
expect_exit 0 "record --repair" "$EVR" record $R2 "$dir/rep" --exit-when-idle 0.2 --repair
expect_err "moved $dir/rep, unchanged, to $dir/rep.1" "record --repair message"
expect_err "after the last complete block of $dir/rep.1" "record --repair resumes after the last good block"
expect_eq "set-aside log is byte-identical" "" "$(cmp "$dir/flipped" "$dir/rep.1")"
expect_exit 1 "replay after repair" "$EVR" replay "$dir/rep.1" "$dir/rep" --json
expect_eq "after repair: 21..35, each once" "$(seq 21 35 | xargs)" \
  "$(jq -r 'select(.type) | .attempt' "$dir/out" | sort -n | xargs)"
# two recorders on one log: the second one refuses and names the first
R7=/$tag-h
"$EVR" create $R7 --lanes 1 --slots 64 >/dev/null
"$EVR" record $R7 "$dir/two" --exit-when-idle 30 2>/dev/null &
rec=$!
for i in $(seq 100); do [ -s "$dir/two" ] && break; sleep 0.1; done # its header: written under the lock
expect_exit 1 "second recorder" "$EVR" record $R7 "$dir/two" --exit-when-idle 0.2
expect_err "$dir/two is being written by another recorder (pid $rec)" "second recorder message"
kill -INT $rec; wait $rec
expect_exit 0 "the first recorder was undisturbed" "$EVR" replay "$dir/two"
expect_exit 1 "not a log" "$EVR" replay /etc/hostname
expect_err "not an evring record log" "not a log message"

# rotation: FILE moves to FILE.1, FILE.2...; together they hold every record once
R4=/$tag-e
"$EVR" create $R4 --lanes 1 --slots 4096 >/dev/null
"$SIM" --ring $R4 --procs 1 --events 2000 --duration 0 >/dev/null
expect_exit 0 "record --rotate" "$EVR" record $R4 "$dir/rot" --rotate 64k --block 100 --exit-when-idle 0.2
[ -e "$dir/rot.1" ] && [ -e "$dir/rot.2" ] && ok || bad "rotation made FILE.1 and FILE.2"
rotated=$(ls "$dir"/rot.* | sort -t. -k2 -n)
heads4=$("$EVR" info $R4 --json | jq '.heads[0]') # >= 2000: the sim ends its last scenario
expect_eq "rotated logs hold every record once" "$heads4 $heads4" \
  "$("$EVR" replay $rotated "$dir/rot" --json 2>/dev/null | jq -r .seq | sort -un | wc -l) $("$EVR" replay $rotated "$dir/rot" --json 2>/dev/null | wc -l)"

# a recorder killed with SIGKILL mid-stream: the log reads to its last complete block, and the
# restarted recorder continues from there with no duplicate and no gap
R5=/$tag-f
"$EVR" create $R5 --lanes 1 --slots 65536 >/dev/null
"$SIM" --ring $R5 --procs 1 --rate 40000 --duration 1.5 >/dev/null &
sim=$!
"$EVR" record $R5 "$dir/killed" --block 64 --fsync never 2>/dev/null &
rec=$!
sleep 0.7; kill -KILL $rec; wait $rec 2>/dev/null; wait $sim
expect_exit 0 "replay after SIGKILL" "$EVR" replay "$dir/killed" --json
expect_exit 0 "recorder restart" "$EVR" record $R5 "$dir/killed" --exit-when-idle 0.3
heads5=$("$EVR" info $R5 --json | jq '.heads[0]')
expect_eq "after restart: every record exactly once" "$heads5 $heads5 0 $((heads5 - 1))" \
  "$("$EVR" replay "$dir/killed" --json 2>/dev/null | jq -r .seq | sort -un | wc -l) $("$EVR" replay "$dir/killed" --json 2>/dev/null | wc -l) $("$EVR" replay "$dir/killed" --json 2>/dev/null | jq -s 'map(.seq) | min, max' | xargs)"

# reclaim: a producer process killed with SIGKILL leaves a live entry with a dead pid
R6=/$tag-g
"$EVR" create $R6 --lanes 1 --slots 64 >/dev/null
"$SIM" --ring $R6 --procs 1 --duration 5 >"$dir/sim.out" 2>"$dir/sim.err" &
sim=$!
sleep 0.3; kill -KILL $(pgrep -P $sim); wait $sim 2>/dev/null
expect_eq "evring-sim fails when a process dies" 1 "$?"
grep -q "process 0 (pid [0-9]* killed by signal 9 (Killed): no report)" "$dir/sim.err" && ok || bad "evring-sim names the death"
grep -q "1 of 1 processes died without a report" "$dir/sim.out" && ok || bad "evring-sim's totals say what they leave out"
expect_eq "info shows the dead producer" "NO" "$("$EVR" info $R6 | awk '$2 == "live" {print $4}' | head -1)"
expect_exit 0 "reclaim" "$EVR" reclaim $R6
expect_eq "reclaim report" "reclaimed 1 dead producers" "$(cut -d, -f1 "$dir/out")"
expect_eq "entry is dead after reclaim" "dead" "$("$EVR" info $R6 --json | jq -r '.producers[0].state')"

# bad input: message and exit code, nothing written
before=$(heads $R)
expect_exit 2 "unknown type" "$EVR" emit $R plan_exploded plan_name=x
expect_err "unknown event type 'plan_exploded'" "unknown type message"
expect_exit 2 "unknown field" "$EVR" emit $R plan_created plan_name=x colour=red
expect_err "has no field 'colour'" "unknown field message"
expect_exit 2 "missing field" "$EVR" emit $R tool_retried tool=x attempt=1
expect_err "needs field 'backoff_ms'" "missing field message"
expect_exit 2 "oversized string" "$EVR" emit $R plan_created plan_name=$(printf 'x%.0s' $(seq 40))
expect_err "longer than its field" "oversized message"
expect_exit 2 "bad number" "$EVR" emit $R tool_retried tool=x attempt=two backoff_ms=1
expect_eq "nothing written by refused emits" "$before" "$(heads $R)"
expect_exit 1 "nonexistent ring" "$EVR" tail /$tag-missing
expect_err "no ring named" "nonexistent ring message"
expect_exit 2 "bad flag" "$EVR" tail $R --bogus
expect_exit 2 "bad type filter" "$EVR" tail $R --type nope
expect_exit 2 "unknown command" "$EVR" frobnicate
expect_exit 2 "bad ring name" "$EVR" create "/bad name"
for cmd in tail info stats unlink emit; do
  expect_exit 2 "$cmd: a name no ring can have" "$EVR" $cmd "/bad name" tool_retried
done
expect_exit 0 "evring help tail" "$EVR" help tail
expect_eq "evring help CMD = evring CMD --help" "$("$EVR" tail --help)" "$(cat "$dir/out")"
expect_exit 2 "evring help of an unknown command" "$EVR" help frobnicate
# flags anywhere, and -- ends them
expect_exit 0 "emit with flags after the fields" "$EVR" emit $R session_created session_id=6 user=bob --service late-flag
expect_eq "emit --service after the fields" "late-flag" "$("$EVR" info $R --json | jq -r '[.producers[].service] | last')"
expect_exit 0 "tail -- NAME" "$EVR" tail --json -- $R
expect_exit 0 "info -- NAME" "$EVR" info -- $R
expect_exit 0 "stats -- NAME" "$EVR" stats -- $R
# one meaning per flag: --count is "stop after N records" (record, bridge); tail's newest N is -n
expect_exit 0 "tail --lines 1" "$EVR" tail $R --lines 1
expect_exit 2 "tail --count" "$EVR" tail $R --count 1
expect_err "the newest N records are -n N" "tail --count points to -n"
expect_exit 1 "existing ring" "$EVR" create $R
expect_exit 1 "unreadable cursor" "$EVR" tail $R --from /nonexistent/cursor
# wrong schema: change the schema hash in the header (offset 16) of a copy of the ring
cp /dev/shm/${R#/} /dev/shm/$tag-d
printf '\xff' | dd of=/dev/shm/$tag-d bs=1 seek=16 conv=notrunc 2>/dev/null
expect_exit 1 "wrong schema" "$EVR" info /$tag-d
expect_err "schema" "wrong schema message"
expect_exit 1 "unlink refuses a corrupt ring" "$EVR" unlink /$tag-d
expect_err "--force" "unlink refusal message"
expect_exit 0 "unlink --force" "$EVR" unlink --force /$tag-d
[ ! -e /dev/shm/$tag-d ] && ok || bad "unlink --force removed it"
# a forged lane head (lane 0's head is at 4096 + 8192 of schema description + 256 producer lines
# = 28672): corruption, exit 1,
# not billions of lost records
cp /dev/shm/${R#/} /dev/shm/$tag-e
printf '\xff\xff\xff\xff\xff\xff\xff\xff' | dd of=/dev/shm/$tag-e bs=1 seek=28672 conv=notrunc 2>/dev/null
expect_exit 1 "forged head" "$EVR" tail /$tag-e
expect_err "corrupted: lane 0 head 18446744073709551615 is beyond" "forged head message"
expect_exit 0 "help" "$EVR" tail --help
expect_exit 0 "evring-sim -h" "$SIM" -h
expect_exit 2 "evring-sim without --ring" "$SIM" --procs 2
expect_err "--ring NAME is required" "evring-sim says why"
expect_exit 2 "evring-sim --procs 0" "$SIM" --ring $R --procs 0
expect_err "1 to 256" "evring-sim --procs message"

# exclusive lanes: create makes them, info shows them, the services write to them
RX=/$tag-x
expect_exit 0 "create --exclusive-lanes" "$EVR" create $RX --lanes 1 --exclusive-lanes 2 --slots 4096
expect_eq "info: lanes and exclusive lanes" "3 2" "$("$EVR" info $RX --json | jq -r '"\(.lanes) \(.exclusive_lanes)"')"
expect_exit 0 "evring-sim --exclusive, one lane per process" "$SIM" --ring $RX --procs 2 --exclusive --events 1000 --duration 0 --quiet
# (the second process may take the lane the first gave back: only the sum is certain)
expect_eq "the services wrote the exclusive lanes only" "0 true" \
  "$("$EVR" info $RX --json | jq -r '.heads | "\(.[0]) \(.[1] + .[2] >= 2000)"')"
expect_exit 1 "a third exclusive producer finds no free lane" "$SIM" --ring $RX --procs 3 --exclusive --rate 3000 --duration 1 --quiet
expect_err "all 2 exclusive lanes are owned by live producers" "it says why"
expect_exit 2 "create --exclusive-lanes beyond 256 lanes" "$EVR" create /$tag-x2 --lanes 256 --exclusive-lanes 1
"$EVR" unlink $RX >/dev/null

finish
