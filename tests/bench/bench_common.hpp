// Shared helpers of the telltale benchmarks: per-call timing with the TSC, percentiles, CPU clocks,
// scratch files, and the event every latency and ingest benchmark logs.
//
// These are benchmarks, not tests: nothing here asserts a time. run.sh compares the
// figures with the targets and prints them; docs/benchmarks.md records a run.
#pragma once
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "telltale/telltale.h"

namespace ttb {

// ------------------------------------------------------------------ the event
// 60 bytes of message and two attributes: the shape the targets are set for.
inline constexpr char kMsg[] = "sync: uploaded folder manifest to the server, 3 parts, cache";
static_assert(sizeof kMsg - 1 == 60, "the benchmark message must be 60 bytes");
inline constexpr tt_attr kAttrs[2] = {{"user", "u-4242"}, {"screen", "settings/sync"}};
// What a text logger writes for the same event (the message and the two attributes).
inline constexpr char kFmt[] = "{} user={} screen={}";

// ------------------------------------------------------------------ clocks
inline uint64_t mono_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// Start and end stamps of one timed call. The lfences keep the call's own instructions
// from being reordered around the reads (the Intel white paper "How to Benchmark Code
// Execution Times" pattern, lfence instead of cpuid: cpuid traps to the hypervisor in a VM).
inline uint64_t tsc_begin() {
    _mm_lfence();
    uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
}
inline uint64_t tsc_end() {
    unsigned aux;
    uint64_t t = __rdtscp(&aux);
    _mm_lfence();
    return t;
}

// TSC ticks per ns, measured once against CLOCK_MONOTONIC over ~100 ms.
inline double tsc_ghz() {
    static const double ghz = [] {
        uint64_t m0 = mono_ns(), t0 = __rdtsc();
        timespec d{0, 100'000'000};
        nanosleep(&d, nullptr);
        uint64_t m1 = mono_ns(), t1 = __rdtsc();
        return double(t1 - t0) / double(m1 - m0);
    }();
    return ghz;
}
inline double ticks_to_ns(double ticks) { return ticks / tsc_ghz(); }

// Median of an empty timed region: what the stamps themselves cost. Reported next to
// every latency so a reader can subtract it; the latency counters include it.
inline double timer_overhead_ticks() {
    static const double ov = [] {
        std::vector<uint64_t> v(200000);
        for (auto &x : v) {
            uint64_t a = tsc_begin();
            uint64_t b = tsc_end();
            x = b - a;
        }
        std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
        return double(v[v.size() / 2]);
    }();
    return ov;
}

// Percentile (0..1) of samples, in ns. Reorders the vector.
inline double pct_ns(std::vector<uint64_t> &v, double q) {
    if (v.empty()) return 0;
    size_t k = std::min(v.size() - 1, size_t(q * double(v.size())));
    std::nth_element(v.begin(), v.begin() + long(k), v.end());
    return ticks_to_ns(double(v[k]));
}

struct LatencySummary {
    double median, p90, p99, p999, max, mean;
};
inline LatencySummary summarize(std::vector<uint64_t> &v) {
    LatencySummary s{};
    if (v.empty()) return s;
    double sum = 0;
    uint64_t mx = 0;
    for (uint64_t x : v) {
        sum += double(x);
        mx = std::max(mx, x);
    }
    s.mean = ticks_to_ns(sum / double(v.size()));
    s.max = ticks_to_ns(double(mx));
    s.median = pct_ns(v, 0.50);
    s.p90 = pct_ns(v, 0.90);
    s.p99 = pct_ns(v, 0.99);
    s.p999 = pct_ns(v, 0.999);
    return s;
}

// Counters every latency benchmark exports. kAvgThreads: every thread sets the same
// (merged) value, so the reported figure is that value.
inline void set_latency_counters(benchmark::State &state, const LatencySummary &s, size_t samples) {
    using C = benchmark::Counter;
    state.counters["median_ns"] = C(s.median, C::kAvgThreads);
    state.counters["p90_ns"] = C(s.p90, C::kAvgThreads);
    state.counters["p99_ns"] = C(s.p99, C::kAvgThreads);
    state.counters["p999_ns"] = C(s.p999, C::kAvgThreads);
    state.counters["max_ns"] = C(s.max, C::kAvgThreads);
    state.counters["mean_ns"] = C(s.mean, C::kAvgThreads);
    state.counters["timer_ovh_ns"] = C(ticks_to_ns(timer_overhead_ticks()), C::kAvgThreads);
    state.counters["samples"] = C(double(samples), C::kAvgThreads);
}

// ------------------------------------------------------------------ CPU time
// The kernel thread ids of this process.
inline std::vector<int> task_ids() {
    std::vector<int> ids;
    if (DIR *d = opendir("/proc/self/task")) {
        while (dirent *e = readdir(d))
            if (e->d_name[0] != '.') ids.push_back(atoi(e->d_name));
        closedir(d);
    }
    return ids;
}

// CPU time of another thread of this process, by kernel thread id (the clock id that
// pthread_getcpuclockid makes: ~tid << 3 | CPUCLOCK_PERTHREAD | CPUCLOCK_SCHED).
inline uint64_t thread_cpu_ns(int tid) {
    timespec ts{};
    if (clock_gettime(clockid_t((~unsigned(tid)) << 3) | 6, &ts) != 0) return 0;
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

inline uint64_t clock_ns(clockid_t id) {
    timespec ts{};
    clock_gettime(id, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}
// All threads of this process, exited ones included (what getrusage(RUSAGE_SELF) counts, in ns).
inline uint64_t process_cpu_ns() { return clock_ns(CLOCK_PROCESS_CPUTIME_ID); }
inline uint64_t this_thread_cpu_ns() { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }

// ------------------------------------------------------------------ scratch files
// A directory on a real disk (SQLite on tmpfs would flatter every figure):
// $TT_BENCH_DIR, else ./bench-tmp next to where the binary runs.
inline const std::string &scratch_dir() {
    static const std::string dir = [] {
        const char *e = getenv("TT_BENCH_DIR");
        std::string d = e && *e ? e : "bench-tmp";
        mkdir(d.c_str(), 0700);
        return d;
    }();
    return dir;
}

inline void remove_db(const std::string &path) {
    unlink(path.c_str());
    unlink((path + "-wal").c_str());
    unlink((path + "-shm").c_str());
    unlink((path + "-journal").c_str());
}

inline uint64_t file_size(const std::string &path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 ? uint64_t(st.st_size) : 0;
}

// Abort the run with the library's message: a benchmark that silently measures an
// error path is worse than none.
[[noreturn]] inline void die(const char *what) {
    const tt_error *e = tt_error_last();
    fprintf(stderr, "%s failed: %s: %s (hint: %s)\n", what, tt_status_name(e->code), e->message, e->hint);
    std::abort();
}

inline tt_stats stats_of(tt_client *c) {
    tt_stats s = TT_STATS_INIT;
    if (tt_stats_get(c, &s) != TT_OK) die("tt_stats_get");
    return s;
}

}  // namespace ttb
