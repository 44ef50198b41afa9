# Shared by the scripts: install missing Debian packages, configure and build one tree.
set -euo pipefail
EVR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Install every package named in scripts/packages/*.txt that is not installed yet.
evr_install_deps() {
  local want=() pkg
  while read -r pkg; do
    [ -n "$pkg" ] || continue
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || want+=("$pkg")
  done < <(cat "$EVR_ROOT"/scripts/packages/*.txt | sed -e 's/#.*//' -e 's/[[:space:]]//g' | sort -u)
  if [ ${#want[@]} -gt 0 ]; then
    echo "== installing: ${want[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${want[@]}" >/dev/null
  fi
}

# evr_build DIR [cmake args...]: a fresh configure and build of the tree in DIR. The full log is
# kept in DIR.log; on failure its errors are printed and the build's exit status returned.
evr_build() {
  local dir=$1; shift
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  local log="$dir.log"
  if ! { cmake -S "$EVR_ROOT" -B "$dir" -DEVR_WERROR=ON "$@" && cmake --build "$dir" -j "$(nproc)"; } >"$log" 2>&1; then
    grep -E -B2 -A6 'error|Error' "$log" | head -80
    echo "== build of $dir failed (full log: $log)"
    return 1
  fi
}
