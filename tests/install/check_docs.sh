#!/usr/bin/env bash
# After cmake --install: evring(1) and one evring-CMD(1) per command, each holding exactly the text
# of `evring CMD --help`; evring(7); one section 3 page per public function; pages that groff reads
# without a warning; and the bash completion, which completes commands, flags, rings, event types
# and fields. Usage: check_docs.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$1 src=$2
work=$(mktemp -d)
ring=/evrt-docs-$$
trap 'rm -rf "$work"; rm -f /dev/shm$ring /dev/shm$ring~wake /dev/shm$ring~live' EXIT
source "$(dirname "$0")/../lib/checks.sh"

cmake --install "$build" --prefix "$work/prefix" >/dev/null || { echo "cmake --install failed"; exit 1; }
man=$work/prefix/share/man
evr=$work/prefix/bin/evring
cmds=$("$evr" --help | awk '/^commands:/ {on = 1; next} on && NF {print $1}')
[ -n "$cmds" ] && ok || bad "evring --help lists no command"
[ -f "$man/man1/evring.1" ] && ok || bad "evring.1 installed"
[ -f "$man/man7/evring.7" ] && ok || bad "evring.7 installed"
for c in $cmds; do
  page=$man/man1/evring-$c.1
  [ -f "$page" ] || { bad "evring-$c.1 installed"; continue; }
  # the page's verbatim block, with roff's escapes undone, is the --help text
  text=$(awk '/^\.nf$/ {on = 1; next} /^\.fi$/ {on = 0} on' "$page" | sed -e 's/^\\&//' -e 's/\\-/-/g' -e 's/\\e/\\/g')
  [ "$text" == "$("$evr" "$c" --help)" ] && ok || { bad "evring-$c.1 differs from evring $c --help"; diff <(echo "$text") <("$evr" "$c" --help) | head -5; }
  grep -qF "evring\\-$c" "$man/man1/evring.1" && ok || bad "evring.1 lists $c"
done
api=$({ "$src/tests/install/public_symbols.sh" "$src/libring/include"
       "$src/tests/install/public_symbols.sh" "$src/libring/include" evring/platform.h "$src/schema/include"; } | sort -u)
for f in $api; do
  [ "$f" = evr_events ] && continue # an object, not a call
  case $f in evr_x_*) continue ;; esac # exported for the inline claim (evring/bits/), not to be called
  [ -f "$man/man3/$f.3" ] && grep -q "^$f\\\\-\\|^int\\|SYNOPSIS" "$man/man3/$f.3" && ok || bad "man3 page for $f"
done
grep -q "EEXIST" "$man/man3/evr_ring_create.3" && ok || bad "evr_ring_create(3) lists its return codes"
if command -v groff >/dev/null; then
  warn=$(for p in "$man"/man*/*; do groff -man -ww -z "$p" 2>&1 | sed "s|^|$(basename "$p"): |"; done)
  [ -z "$warn" ] && ok || { bad "groff warnings"; echo "$warn" | head -5; }
fi

# bash completion, as installed, against the installed evring
comp=$work/prefix/share/bash-completion/completions/evring
[ -f "$comp" ] && ok || bad "bash completion installed"
"$evr" create $ring --lanes 1 --slots 8 >/dev/null
out=$(bash -c '
  source "$1"; evr=$2 ring=$3
  comp() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _evring; echo "${COMPREPLY[*]}"; }
  comp "$evr" ta; comp "$evr" tail --fol; comp "$evr" tail "${ring%?}"; comp "$evr" emit "$ring" tool_ret
  comp "$evr" emit "$ring" tool_retried back; comp "$evr" tail "$ring" --type plan_created,tool_ret
  comp "$evr" help unl' _ "$comp" "$evr" "$ring")
expect=$(printf '%s\n' tail --follow "$ring" tool_retried backoff_ms= plan_created,tool_retried unlink)
[ "$out" == "$expect" ] && ok || { bad "completions"; diff <(echo "$expect") <(echo "$out"); }

finish docs
