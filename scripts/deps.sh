#!/usr/bin/env bash
# Install the Debian 12 packages telltale needs, only those missing. Needs root (or sudo).
#   scripts/deps.sh demo   what the demo needs
#   scripts/deps.sh test   what the full test run needs (sanitizers, fuzzers, benchmarks)
set -euo pipefail

build=(cmake ninja-build g++ pkg-config libsqlite3-dev libfmt-dev libzstd-dev libcurl4-openssl-dev zlib1g-dev)
test=(doctest-dev clang libclang-rt-14-dev llvm libbenchmark-dev libspdlog-dev libcpp-httplib-dev
      nlohmann-json3-dev sqlite3 zstd jq python3 python3-pytest)

case "${1:-test}" in
  demo) want=("${build[@]}" libcpp-httplib-dev nlohmann-json3-dev) ;;
  test) want=("${build[@]}" "${test[@]}") ;;
  *) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "telltale: installing missing Debian packages: ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "telltale: run as root, or install: apt-get install ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet: update once, then retry.
if ! "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; then
  "${sudo[@]}" apt-get update
  "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi
