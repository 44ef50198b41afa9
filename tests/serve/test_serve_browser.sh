#!/usr/bin/env bash
# The live page in a real browser: headless Chromium loads / from evring serve while evring-sim
# emits, and browser_check.py checks over the DevTools protocol that the plot gains samples and the
# tail gains events. The screenshot is kept: ARTIFACTS/live-page.png.
# Usage: test_serve_browser.sh PATH/TO/evring PATH/TO/evring-sim ARTIFACTS_DIR
set -uo pipefail
EVR=$1 SIM=$2 ART=$3
here=$(cd "$(dirname "$0")" && pwd)
tag=evrt-serve-browser-$$
dir=$(mktemp -d /tmp/$tag.XXXX)
mkdir -p "$ART"
server= sim=
source "$here/../lib/checks.sh"
source "$here/../lib/server.sh"
cleanup() {
  if [ -n "$sim" ]; then kill "$sim" 2>/dev/null; wait "$sim" 2>/dev/null; fi
  if [ -n "$server" ]; then kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; fi
  for r in /dev/shm/$tag*; do [ -e "$r" ] && "$EVR" unlink --force "/${r#/dev/shm/}" >/dev/null 2>&1; done
  rm -rf "$dir"
}
trap cleanup EXIT
chromium=$(command -v chromium || command -v chromium-browser) || { echo "FAIL: no chromium (Debian package chromium)"; exit 1; }

R=/$tag
"$EVR" create $R --lanes 2 --slots 4096 >/dev/null
start_server serve $R || exit 1
"$SIM" --ring $R --procs 2 --rate 300 --duration 60 --quiet >/dev/null &
sim=$!
HOME=$dir python3 "$here/browser_check.py" "$chromium" "http://127.0.0.1:$port/" "$ART/live-page.png" "$dir/profile"
rc=$?
[ -s "$ART/live-page.png" ] && echo "screenshot: $ART/live-page.png" || { echo "FAIL: no screenshot"; rc=1; }
exit $rc
