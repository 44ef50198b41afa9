# Shared by the CLI test scripts (sourced): a private tag for ring names and a temp dir, both
# removed on exit, and the check helpers. The sourcing script sets EVR and SIM first.
tag=evrt-cli-$$
dir=$(mktemp -d /tmp/$tag.XXXX)
source "$(dirname "${BASH_SOURCE[0]}")/../lib/checks.sh"
cleanup() {
  for r in /dev/shm/$tag-*; do [ -e "$r" ] && "$EVR" unlink --force "/${r#/dev/shm/}" 2>/dev/null; done
  rm -rf "$dir"
}
trap cleanup EXIT

