#!/usr/bin/env bash
# What the evring CLI writes, where it stops: a closed pipe ends every command quietly, -n counts
# the newest records, a cursor saved after -n resumes with nothing skipped, text lines escape what
# a terminal would interpret, and file errors name the file and the OS reason.
# Usage: test_cli_output.sh PATH/TO/evring PATH/TO/evring-sim
set -uo pipefail
EVR=$1 SIM=$2
source "$(dirname "$0")/lib_cli.sh"

R=/$tag-out
"$EVR" create $R --lanes 1 --slots 64 >/dev/null
for i in $(seq 10); do "$EVR" emit $R tool_retried tool=t$i attempt=$i backoff_ms=1; done

# `| head` ends a following command: it dies of SIGPIPE (141) without a word, however quiet the
# ring is. `timeout` (124) only bounds a failure.
timeout 20 "$EVR" tail $R --follow 2>"$dir/err" | head -3 >/dev/null
expect_eq "tail --follow | head -3 exits by SIGPIPE" "141" "${PIPESTATUS[0]}"
expect_eq "tail --follow | head: nothing on stderr" "" "$(cat "$dir/err")"
timeout 20 "$EVR" stats $R --interval 0.05 2>"$dir/err" | head -1 >/dev/null
expect_eq "stats --interval | head -1 exits by SIGPIPE" "141" "${PIPESTATUS[0]}"
expect_eq "stats --interval | head: nothing on stderr" "" "$(cat "$dir/err")"
for cmd in "tail $R" "tail $R --json" "info $R" "schema" "ls"; do
  "$EVR" $cmd 2>"$dir/err" | head -c1 >/dev/null
  st=${PIPESTATUS[0]}
  [ "$st" -eq 0 ] || [ "$st" -eq 141 ] && ok || bad "$cmd | head -c1: exit $st"
  # the summary may come (the output fit the pipe before head left), a write error may not
  expect_eq "$cmd | head -c1: no write error" "" "$(grep -iE 'write|pipe' "$dir/err")"
done

# -n N: the newest N records, from the oldest or the latest position alike
attempts() { "$EVR" tail "$@" --json 2>/dev/null | jq -r 'select(.type) | .attempt' | xargs; }
expect_eq "-n 3: the newest three" "8 9 10" "$(attempts $R -n 3)"
expect_eq "--from latest -n 3: the newest three" "8 9 10" "$(attempts $R --from latest -n 3)"
expect_eq "-n 0: none" "" "$(attempts $R -n 0)"
expect_eq "-n 100 of 10: all ten" "1 2 3 4 5 6 7 8 9 10" "$(attempts $R -n 100)"
expect_eq "--type -n 1: the newest of that type" "" "$(attempts $R --type plan_created -n 1)"
# a cursor saved after -n 2 resumes right after the newest record: nothing skipped, nothing lost
expect_exit 0 "tail -n 2 --save-cursor" "$EVR" tail $R -n 2 --save-cursor "$dir/cur"
"$EVR" emit $R tool_retried tool=t11 attempt=11 backoff_ms=1
expect_exit 0 "tail --from cursor" "$EVR" tail $R --json --from "$dir/cur"
expect_eq "resume after -n 2: only the new record" "11" "$(jq -r .attempt "$dir/out" | xargs)"
expect_err "1 shown of 1 delivered; lost 0 lapped + 0 abandoned" "resume after -n 2: nothing lost"
# -n counts records, not loss notices: 64 slots, 80 more records lap the cursor
for i in $(seq 12 91); do "$EVR" emit $R tool_retried tool=t attempt=$i backoff_ms=1; done
expect_exit 0 "tail --from cursor -n 2 after a loss" "$EVR" tail $R --json --from "$dir/cur" -n 2
expect_eq "-n 2 after a loss: two records" "90 91" "$(jq -r 'select(.type) | .attempt' "$dir/out" | xargs)"
# 81 records after the cursor, 64 kept: 17 lost
expect_err "2 shown of 64 delivered; lost 17 lapped" "-n 2 after a loss: the loss is still counted"

# text lines escape what a terminal would obey, and quote every string by one rule
E=/$tag-esc
"$EVR" create $E --lanes 1 --slots 8 >/dev/null
"$EVR" emit $E tool_retried "tool=a b" attempt=1 backoff_ms=1 \
  "details=$(printf 'one\ntwo \033[31mred\033[0m "q" \\ caf\xc3\xa9 \xc2\x9b \xff')"
"$EVR" emit $E tool_retried tool= attempt=2 backoff_ms=1 details=plain
"$EVR" tail $E >"$dir/out" 2>/dev/null
expect_eq "one line per record" "2" "$(wc -l <"$dir/out")"
expect_eq "escaped and quoted" \
'tool="a b" details="one\ntwo \x1b[31mred\x1b[0m \"q\" \\ café \xc2\x9b \xff"
tool="" details=plain' "$(sed 's/.* backoff_ms=1 //' "$dir/out")"
expect_eq "no control byte reaches the terminal" "0" "$(LC_ALL=C grep -c $'[\x01-\x09\x0b-\x1f\x7f]' "$dir/out")"

# --since/--until: the records stamped in the span. The bounds are midpoints between records (a
# ring on the TSC converts its timestamps anew at each read, so a record's time may move by a few
# ns from one tail to the next; the records are milliseconds apart).
T=/$tag-time
"$EVR" create $T --lanes 1 --slots 8 >/dev/null
for i in 1 2 3; do "$EVR" emit $T tool_retried tool=t attempt=$i backoff_ms=1; done
ns() { date -d "$1" +%s%N; }
iso() { date -u -d "@$(($1 / 1000000000)).$(printf %09d $(($1 % 1000000000)))" +%Y-%m-%dT%H:%M:%S.%NZ; }
mapfile -t times < <("$EVR" tail $T --json 2>/dev/null | jq -r .time)
m12=$(iso $(( ($(ns "${times[0]}") + $(ns "${times[1]}")) / 2 )))
m23=$(iso $(( ($(ns "${times[1]}") + $(ns "${times[2]}")) / 2 )))
expect_eq "--since between the first and the second" "2 3" "$(attempts $T --since "$m12")"
expect_eq "--until between the second and the third" "1 2" "$(attempts $T --until "$m23")"
expect_eq "--since and --until around the second" "2" "$(attempts $T --since "$m12" --until "$m23")"
expect_eq "--since with a +00:00 offset" "2 3" "$(attempts $T --since "${m12%Z}+00:00")"
expect_eq "--since in local time (no zone)" "2 3" \
  "$(TZ=Asia/Kolkata attempts $T --since "$(TZ=Asia/Kolkata date -d "$m12" '+%Y-%m-%d %H:%M:%S.%N')")"
expect_eq "--since -1h: all" "1 2 3" "$(attempts $T --since -1h)"
expect_eq "--since +1h: none" "" "$(attempts $T --since +1h)"
expect_eq "--until -1h: none" "" "$(attempts $T --until -1h)"
expect_eq "--since with -n 1" "3" "$(attempts $T --since "$m12" -n 1)"
expect_exit 2 "--since yesterday" "$EVR" tail $T --since yesterday
expect_err "is not a time" "--since message"
expect_exit 0 "--follow --until in the past ends" timeout 20 "$EVR" tail $T --follow --until -1s

# replay: tail's filters, -n, --summary, and lanes merged by timestamp. Records 1-3 go to lane 0
# and 4-6 to lane 1 (emitted on CPU 0, then CPU 1): the recorder reads the lanes in turn, so the
# log holds 1 4 2 5 3 6, and replay puts them back in time order.
L=/$tag-replay
"$EVR" create $L --lanes 2 --slots 64 >/dev/null
cpus=$(nproc)
for i in 1 2 3 4 5 6; do
  taskset -c $(( i > 3 && cpus > 1 ? 1 : 0 )) "$EVR" emit $L tool_retried tool=t attempt=$i backoff_ms=1 plan_id=$((i % 2))
done
"$EVR" emit $L plan_created plan_name=p plan_id=1
"$EVR" record $L "$dir/replay.log" --exit-when-idle 0.2 2>/dev/null
rattempts() { "$EVR" replay "$dir/replay.log" --json "$@" 2>/dev/null | jq -r 'select(.type == "tool_retried") | .attempt' | xargs; }
expect_eq "replay merges lanes by timestamp" "1 2 3 4 5 6" "$(rattempts)"
# (a log keeps the times of its recording; a tail converts them again: compare the rest)
expect_eq "replay = tail" "$("$EVR" tail $L --json 2>/dev/null | jq -c 'del(.ts, .time)')" \
  "$("$EVR" replay "$dir/replay.log" --json 2>/dev/null | jq -c 'del(.ts, .time)')"
expect_eq "replay --plan 1 --type tool_retried" "1 3 5" "$(rattempts --plan 1 --type tool_retried)"
expect_eq "replay --domain plan" "plan_created" "$("$EVR" replay "$dir/replay.log" --json --domain plan 2>/dev/null | jq -r .type)"
expect_eq "replay -n 3: the newest three (5, 6 and plan_created)" "5 6" "$(rattempts -n 3)"
t4=$("$EVR" replay "$dir/replay.log" --json 2>/dev/null | jq -r 'select(.attempt == 4) | .time')
expect_eq "replay --since (the log's own times are fixed)" "4 5 6" "$(rattempts --since "$t4")"
expect_eq "replay --summary" "total                               6" "$("$EVR" replay "$dir/replay.log" --summary --type tool_retried 2>/dev/null | tail -1)"
expect_exit 2 "replay --type nope" "$EVR" replay "$dir/replay.log" --type nope

# cursor files: errors name the file and the OS reason, never the ring's "no such ring"
echo garbage >"$dir/garbage"
expect_exit 1 "tail --from a missing cursor file" "$EVR" tail $R --from /nonexistent/cursor
expect_err "cursor file /nonexistent/cursor: No such file or directory" "missing cursor message"
expect_exit 1 "tail --from a garbage cursor file" "$EVR" tail $R --from "$dir/garbage"
expect_err "cursor file $dir/garbage: not an evring cursor file" "garbage cursor message"
expect_exit 1 "tail --save-cursor into a missing directory" "$EVR" tail $R --save-cursor /no/such/dir/c
expect_err "cannot save the cursor to /no/such/dir/c: No such file or directory" "unsavable cursor message"
if "$EVR" bridge --help >/dev/null 2>&1; then
  # refused before connecting (port 1: nothing listens), so no NATS server is needed
  expect_exit 1 "bridge --cursor in a missing directory" "$EVR" bridge $R --nats nats://127.0.0.1:1 --cursor /no/such/dir/c
  expect_err "cursor file /no/such/dir/c: cannot be created in /no/such/dir: No such file or directory" "bridge: missing directory message"
  expect_exit 1 "bridge --cursor garbage" "$EVR" bridge $R --nats nats://127.0.0.1:1 --cursor "$dir/garbage"
  expect_err "not an evring cursor file" "bridge: garbage cursor message"
  expect_eq "bridge leaves a garbage cursor file alone" "garbage" "$(cat "$dir/garbage")"
fi
! grep -q "no such ring" "$dir/err" && ok || bad "no 'no such ring' for a file"

# unlink names the processes that still map the ring; tail --follow says it is orphaned, then
# moves to a new ring of that name (like tail -F)
wait_for() { # pattern file: up to 10 s for a line to appear (a bound, not a timing assertion)
  for _ in $(seq 200); do grep -q -- "$1" "$2" && return 0; sleep 0.05; done; return 1
}
O=/$tag-orphan
"$EVR" create $O --lanes 1 --slots 8 >/dev/null
"$EVR" emit $O tool_retried tool=old attempt=1 backoff_ms=1
"$EVR" tail $O --follow --json >"$dir/follow.out" 2>"$dir/follow.err" &
follower=$!
wait_for '"old"' "$dir/follow.out" || bad "the follower printed the first record"
expect_exit 0 "unlink a ring in use" "$EVR" unlink $O
expect_err "1 process still has it mapped (pid $follower)" "unlink names the process"
wait_for "was unlinked" "$dir/follow.err" && ok || bad "tail --follow says the ring was unlinked"
"$EVR" create $O --lanes 1 --slots 8 >/dev/null
"$EVR" emit $O tool_retried tool=new attempt=1 backoff_ms=1
wait_for '"new"' "$dir/follow.out" && ok || bad "tail --follow reads the new ring"
expect_eq "tail --follow says it moved" "1" "$(grep -c 'replaced by a new ring' "$dir/follow.err")"
kill -INT $follower; wait $follower
expect_eq "tail --follow across rings: both records" "old new" "$(jq -r .tool "$dir/follow.out" | xargs)"
expect_exit 0 "unlink a ring nobody maps" "$EVR" unlink $O
expect_eq "unlink of an unused ring is quiet" "" "$(cat "$dir/err")"

finish
