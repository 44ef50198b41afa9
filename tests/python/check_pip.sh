#!/usr/bin/env bash
# `pip install ./python` works offline with Debian's setuptools: install a copy of the tree's
# python/, libring/ and schema/ (pip builds in place: the source tree stays clean) into a fresh venv that
# sees the system's packages, then emit and read back one event with the installed module.
# Usage: check_pip.sh SOURCE_DIR PYTHON
set -euo pipefail
src=$1 python=$2
work=$(mktemp -d)
ring=/evrt-pip-$$-0
trap 'rm -rf "$work" /dev/shm${ring} /dev/shm${ring}~wake /dev/shm${ring}~live' EXIT
cp -r "$src/python" "$src/libring" "$src/schema" "$work/"
rm -rf "$work/python/build" "$work/python/"*.egg-info
"$python" -m venv --system-site-packages "$work/venv"
"$work/venv/bin/pip" install --no-build-isolation --no-index -q "$work/python"
cd "$work" # not the source tree: the import must find the installed package
"$work/venv/bin/python" - "$ring" <<'PY'
import sys, evring
assert evring.__file__.startswith(sys.prefix), evring.__file__
ring = evring.create(sys.argv[1])
assert ring.producer("pip").emit("tool_retried", tool="web_search", attempt=2)
(ev,) = list(ring.consume())
assert (ev.type, ev.tool, ev.attempt) == ("tool_retried", "web_search", 2)
ring.unlink()
print("pip install ./python: installed offline, emitted and read back one event")
PY
