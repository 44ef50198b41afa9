#!/usr/bin/env bash
# cmake --install puts headers, libraries, evring.pc and the CMake package in place: build the same
# example against the installed tree with pkg-config and with find_package, and run both.
set -euo pipefail
build_dir=$1 src_dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
libdir=$(ls -d "$work"/prefix/lib*/ | head -1)
export PKG_CONFIG_PATH="$libdir/pkgconfig"
export LD_LIBRARY_PATH="$libdir"
cc $(pkg-config --cflags evring-platform) "$src_dir/example.c" $(pkg-config --libs evring-platform) -o "$work/pc-example"
out=$("$work/pc-example")
[ "$out" = "budget_exceeded 38" ] || { echo "pkg-config build printed: $out"; exit 1; }
mkdir "$work/cm"
cp "$src_dir/example.c" "$work/cm/"
cp "$src_dir/CMakeLists.txt.in" "$work/cm/CMakeLists.txt"
cmake -S "$work/cm" -B "$work/cm/build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/cm/build" >/dev/null
out=$("$work/cm/build/example")
[ "$out" = "budget_exceeded 38" ] || { echo "find_package build printed: $out"; exit 1; }
echo "install check: pkg-config and find_package builds both run: 2 passed, 0 failed"
