# Shared by the CLI test scripts (sourced): a private tag for ring names and a temp dir, both
# removed on exit, and the check helpers. The sourcing script sets EVR and SIM first.
tag=evrt-cli-$$
dir=$(mktemp -d /tmp/$tag.XXXX)
fails=0 checks=0
cleanup() {
  for r in /dev/shm/$tag-*; do [ -e "$r" ] && "$EVR" unlink --force "/${r#/dev/shm/}" 2>/dev/null; done
  rm -rf "$dir"
}
trap cleanup EXIT

ok() { checks=$((checks + 1)); }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL: $*"; }
expect_eq() { # what expected actual
  if [ "$2" == "$3" ]; then ok; else bad "$1"; echo "  expected: $2"; echo "  actual:   $3"; fi
}
expect_exit() { # code description command...
  local want=$1 what=$2; shift 2
  "$@" >"$dir/out" 2>"$dir/err"
  local got=$?
  if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want"; cat "$dir/err"; fi
}
expect_err() { # pattern description: the last command's stderr contains pattern
  if grep -q -- "$1" "$dir/err"; then ok; else bad "$2: stderr lacks '$1'"; cat "$dir/err"; fi
}
# The end of every script: the totals, and the exit status.
finish() {
  echo "$checks checks, $fails failed"
  [ $fails -eq 0 ]
}
