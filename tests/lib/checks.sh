# The check helpers of the shell tests (sourced). A script counts its checks with these and ends
# with `finish`, whose "N checks, N failed" line is the plain summary CI reads. expect_exit and
# expect_err keep the command's output in $dir/out and $dir/err: the script sets $dir first.
fails=0 checks=0
ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL: $*"; }
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }
expect_eq() { # what expected actual
  if [ "$2" == "$3" ]; then ok; else bad "$1"; echo "  expected: $2"; echo "  actual:   $3"; fi
}
expect_exit() { # code description command...
  local want=$1 what=$2; shift 2
  "$@" >"$dir/out" 2>"$dir/err" </dev/null
  local got=$?
  if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want"; cat "$dir/err"; fi
}
expect_err() { # pattern description: the last command's stderr contains pattern
  if grep -q -- "$1" "$dir/err"; then ok; else bad "$2: stderr lacks '$1'"; cat "$dir/err"; fi
}
# The end of every script: the totals, and the exit status. An optional word names the script.
finish() {
  echo "${1:+$1: }$checks checks, $fails failed"
  [ $fails -eq 0 ]
}
