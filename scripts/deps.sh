#!/usr/bin/env bash
# Install the Debian 12 packages telltale needs, only those missing. Needs root (or sudo).
#   scripts/deps.sh demo   what the demo needs
#   scripts/deps.sh test   what the full test run needs (sanitizers, fuzzers, benchmarks, and the
#                          console's browser test: chromium, node + npm, then `npm ci` in tests/console)
set -euo pipefail
cd "$(dirname "$0")/.."

build=(cmake ninja-build g++ pkg-config libsqlite3-dev libfmt-dev libzstd-dev libcurl4-openssl-dev zlib1g-dev)
test=(doctest-dev clang libclang-rt-14-dev llvm libbenchmark-dev libspdlog-dev libcpp-httplib-dev
      nlohmann-json3-dev sqlite3 zstd jq python3 python3-pytest chromium)

case "${1:-test}" in
  demo) want=("${build[@]}" libcpp-httplib-dev nlohmann-json3-dev) ;;
  test) want=("${build[@]}" "${test[@]}")
        # Node for the console test (tests/console): Debian's only when there is none on PATH
        # (a machine may have a newer one of its own; Debian's nodejs has npm apart).
        if ! command -v node >/dev/null; then want+=(nodejs npm)
        elif ! command -v npm >/dev/null; then want+=(npm); fi ;;
  *) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac

# The console test's npm packages (playwright-core, exactly as package-lock.json pins them;
# it uses Debian's chromium, never a browser download). npm's own copy of the lock file in
# node_modules is the stamp: older than package-lock.json (a pull changed it) means reinstall.
npm_ci() {
  [ "${1:-test}" = test ] || return 0
  local dir=tests/console
  [ -f "$dir/package-lock.json" ] || return 0
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "telltale: installing the console test's npm packages (npm ci in $dir)"
    (cd "$dir" && npm ci --no-audit --no-fund)
  fi
}

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then npm_ci "${1:-test}"; exit 0; fi

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
npm_ci "${1:-test}"
