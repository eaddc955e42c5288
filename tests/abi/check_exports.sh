#!/usr/bin/env bash
# usage: check_exports.sh LIBTELLTALE_SO MAJOR
set -euo pipefail
so=$1 major=$2
leaks=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -vE '^(tt_|_init$|_fini$|_edata$|_end$|__bss_start$)' || true)
if [ -n "$leaks" ]; then
  echo "symbols exported without the tt_ prefix (hide them or add them to lib/telltale.map on purpose):"
  echo "$leaks"
  exit 1
fi
# Every function the header declares is exported.
hdr=$(dirname "$0")/../../include/telltale/telltale.h
for fn in $(grep -oE 'TT_API [^;(]*\b(tt_[a-z_0-9]+)\(' "$hdr" | grep -oE 'tt_[a-z_0-9]+\($' | tr -d '('); do
  nm -D --defined-only "$so" | awk '{print $3}' | grep -qx "$fn" || { echo "declared but not exported: $fn"; exit 1; }
done
soname=$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "libtelltale.so.$major" ] || { echo "SONAME is '$soname', expected libtelltale.so.$major"; exit 1; }
# The thread-local block is allocated statically even for a dlopen'ed library (initial-exec
# TLS on the hot path); glibc guarantees only 512 spare bytes for that.
tls=$(( $(readelf -lW "$so" | awk '$1 == "TLS" {print $6}' || echo 0) + 0 ))
if [ -n "$tls" ] && [ "$tls" -gt 512 ]; then
  echo "the library's thread-local data is $tls bytes; keep it under 512 (move big per-thread state to the heap)"
  exit 1
fi
echo "exports: $(nm -D --defined-only "$so" | grep -c ' T tt_') tt_ functions, nothing else; SONAME $soname"
