#!/usr/bin/env bash
# Build the benchmarks in Release (-O2) into build-bench and run them; prints a summary
# with the ratios (telltale vs spdlog, telltale vs raw SQLite, a loopback HTTP request with
# and without the libcurl helper, zstd vs gzip upload bodies), the reference support backend's
# ingestion (records per backend CPU-second) and the issue's targets.
# Takes five to six minutes on a 2-core machine once built (a clean build adds 2-4 minutes).
#
#   tests/bench/run.sh                 everything
#   TT_BENCH_BUILD=dir tests/bench/run.sh   another build directory
#   TT_BENCH_DIR=dir tests/bench/run.sh     scratch files (SQLite buffers) elsewhere; keep it on a real disk
#
# Results (Google Benchmark JSON, tt_rss JSON, summary.json) stay in $TT_BENCH_BUILD/bench-results.
# Nothing here fails on a slow figure: benchmarks are not tests.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${TT_BENCH_BUILD:-$root/build-bench}
out=$build/bench-results
work=${TT_BENCH_DIR:-$build/bench-tmp}

cmake -S "$root" -B "$build" -G Ninja -DTT_BUILD_BENCH=ON -DTT_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" >/dev/null
cmake --build "$build" -j2 --target tt_bench tt_rss

rm -rf "$work" "$out"
mkdir -p "$work" "$out"
export TT_BENCH_DIR=$work
bench=$build/tests/bench/tt_bench
rss=$build/tests/bench/tt_rss

{
  echo "nproc $(nproc); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); TSC flags: $(grep -m1 -o -w -E 'constant_tsc|nonstop_tsc' /proc/cpuinfo | sort -u | tr '\n' ' ')"
  echo "kernel $(uname -r); $(grep MemTotal /proc/meminfo | tr -s ' '); scratch on $(df -P "$work" | awk 'NR==2{print $1}')"
  echo "commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$( [ -n "$(git -C "$root" status --porcelain -- lib include 2>/dev/null)" ] && echo ' + uncommitted changes in lib/ or include/')"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/machine.txt"
cat "$out/machine.txt"

common=(--benchmark_counters_tabular=true --benchmark_out_format=json --benchmark_enable_random_interleaving=true)
# The first lap of a fresh ring first, in a process of its own: once a process has freed
# an 8 MiB block, malloc may hand the next ring already-mapped pages and hide the faults.
"$bench" "${common[@]}" --benchmark_filter='^BM_log_telltale_cold' --benchmark_out="$out/log_cold.json"
"$bench" "${common[@]}" --benchmark_filter='^BM_(floor_|log_telltale/|log_spdlog)' \
  --benchmark_out="$out/log.json"
"$bench" "${common[@]}" --benchmark_filter='^BM_ingest_' --benchmark_out="$out/ingest.json"
"$bench" "${common[@]}" --benchmark_filter='^BM_store_' --benchmark_out="$out/store.json"
# Traced requests: the API on the caller's thread, and a loopback GET with and without
# the libcurl helper (a cpp-httplib server on 127.0.0.1 inside the process).
"$bench" "${common[@]}" --benchmark_filter='^BM_request_' --benchmark_out="$out/requests.json"
# Upload (100k buffered events to a loopback receiver in a child process, per codec) and
# problem reports (submit latency, assembly and delivery on a 100k-event buffer); ~70 s.
"$bench" "${common[@]}" --benchmark_filter='^BM_(upload|report)/' --benchmark_out="$out/upload.json"
# The reference support backend (examples/support-backend) ingesting on loopback: the real
# binary in a child process with a fresh database per run, fed by libcurl with log batches and
# reports captured from the library; its CPU from /proc/PID/stat; ~1 min. Only when it is built.
if "$bench" --benchmark_list_tests | grep -q '^BM_backend_'; then
  "$bench" "${common[@]}" --benchmark_filter='^BM_backend_' --benchmark_repetitions=3 --benchmark_out="$out/backend.json"
fi
# A fresh process per measurement: an idle client on a new buffer, then on the >= 50 MiB
# one BM_store_open left behind.
"$rss" "$work/rss_new.db" >"$out/rss_new.json"
"$rss" "$work/bench_store_50mb.db" >"$out/rss_50mb.json"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"

python3 "$root/tests/bench/summarize.py" "$out"
rm -rf "$work"
