#!/usr/bin/env bash
# usage: install_test.sh BUILD_DIR SOURCE_DIR WORK_DIR CC
set -euo pipefail
build=$1 src=$2 work=$3 cc=$4
rm -rf "$work"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" > "$work.install.log" 2>&1 || { cat "$work.install.log"; exit 1; }
libdir=$(find "$prefix" -name libtelltale.so -printf '%h\n' | head -1)
test -n "$libdir" || { echo "libtelltale.so was not installed"; exit 1; }
test -f "$prefix/include/telltale/telltale.h" || { echo "telltale.h was not installed"; exit 1; }
test -x "$prefix/bin/telltale" || { echo "the telltale CLI was not installed"; exit 1; }

# 1. pkg-config
export PKG_CONFIG_PATH=$libdir/pkgconfig
flags=$(pkg-config --cflags --libs telltale)
san=()
if nm -D "$libdir/libtelltale.so" | grep -q __asan; then san=(-fsanitize=address,undefined); fi
if nm -D "$libdir/libtelltale.so" | grep -q __tsan; then san=(-fsanitize=thread); fi
# A C program linking a sanitized C++ library needs the sanitizers' C++ runtime parts.
if [ ${#san[@]} -gt 0 ] && "$cc" --version 2>/dev/null | grep -q clang; then san+=(-fsanitize-link-c++-runtime); fi
"$cc" "${san[@]}" -std=c99 -Wall -Wextra -Werror "$src/examples/quickstart/quickstart.c" $flags -Wl,-rpath,"$libdir" \
      -o "$work/qs-pkgconfig" ${san:+-lstdc++}
"$work/qs-pkgconfig" "$work/pkgconfig.db" | tee "$work/out1.txt"
grep -q "stored 3" "$work/out1.txt"

# 2. find_package(telltale)
cmake -S "$src/tests/install/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="${san[*]}" -DCMAKE_EXE_LINKER_FLAGS="${san[*]} ${san:+-lstdc++}" \
      -DQUICKSTART="$src/examples/quickstart/quickstart.c" > "$work/consumer.log" 2>&1 || { cat "$work/consumer.log"; exit 1; }
cmake --build "$work/consumer" >> "$work/consumer.log" 2>&1 || { cat "$work/consumer.log"; exit 1; }
"$work/consumer/quickstart" "$work/cmake.db" | tee "$work/out2.txt"
grep -q "stored 3" "$work/out2.txt"
readelf -d "$work/consumer/quickstart" | grep -q 'libtelltale.so.0' || { echo "not linked against the SONAME"; exit 1; }
echo "install test: ok"
