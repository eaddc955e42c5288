// bench_log: what a log call costs the calling thread.
//
// Every call is timed on its own (TSC stamps around it, converted to ns with a
// calibration against CLOCK_MONOTONIC) into a preallocated vector; median, p90, p99,
// p99.9 and max over all calls of all producer threads are exported as counters.
//
// Calls come in bursts of kBurst (the ring holds ~50 of them), then the producer
// threads meet at a barrier and the backend is allowed to catch up, untimed, so the
// figures describe the path that keeps the event, not the drop path. Drops are
// reported (`dropped`) and should be 0.
//
// Peers, same message, same attributes, same burst pattern, same thread counts:
//   telltale   tt_log_attrs, 8 MiB ring per thread, TT_FULL_DROP (the default policy)
//   spdlog     async logger (spdlog::async_factory, overflow policy `block`, its
//              default), queue of 32768 messages (default 8192), basic_file_sink_mt to
//              a scratch file; the message is formatted with its two attributes
//   floors     clock_gettime(CLOCK_REALTIME), a bare rdtsc, and "copy_event": measuring
//              and copying the message and attributes into an L1-resident buffer, the
//              work no implementation of this call can skip
//
// Besides the per-call samples, every iteration also times one burst as a whole:
// `amortized_ns` is the mean cost per call when consecutive calls overlap in the CPU (a
// loop in an app; what Quill's and spdlog's own benchmarks report).
//
// Manual time: the "Time" column is the caller-thread time of one per-call-timed burst
// (kBurst calls). Read the counters, not that column.
#include <barrier>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include "bench_common.hpp"

namespace {

using namespace ttb;

constexpr int kBurst = 1000;
constexpr int kBursts = 300;      // timed bursts per thread (warm runs)
constexpr int kColdBursts = 50;   // ~ one pass through a fresh 8 MiB ring (160 B records)
constexpr int kWarmEvents = 64000;  // > 8 MiB of records: every ring page mapped before timing
constexpr uint32_t kQueueBytes = 8u << 20;  // TT_BENCH_QUEUE_BYTES overrides (experiments)

uint32_t queue_bytes() {
    const char *e = getenv("TT_BENCH_QUEUE_BYTES");
    return e && *e ? uint32_t(strtoul(e, nullptr, 0)) : kQueueBytes;
}

// State shared by the producer threads of one benchmark run (set up once per run).
struct Shared {
    std::unique_ptr<std::barrier<>> bar;
    std::vector<std::vector<uint64_t>> samples;  // one preallocated vector per thread
    LatencySummary sum{};
    double dropped = 0;
    size_t nsamples = 0;
    // telltale
    std::string path;
    tt_client *client = nullptr;
    uint64_t dropped0 = 0;
    // spdlog
    std::shared_ptr<spdlog::logger> logger;
    uint64_t overrun0 = 0;
};
Shared g;

void setup_shared(const benchmark::State &state, int bursts) {
    g.bar = std::make_unique<std::barrier<>>(state.threads());
    g.samples.assign(size_t(state.threads()), {});
    for (auto &v : g.samples) v.assign(size_t(bursts) * kBurst, 0);
}

// After the timed loop: every thread hands in its samples; thread 0 merges them and
// reads the drop counter; every thread then exports the same figures.
template <class ReadDropped>
void finish(benchmark::State &state, size_t n, double amortized_ticks, size_t amortized_calls, ReadDropped read_dropped) {
    g.samples[size_t(state.thread_index())].resize(n);
    g.bar->arrive_and_wait();
    if (state.thread_index() == 0) {
        std::vector<uint64_t> all;
        for (auto &v : g.samples) all.insert(all.end(), v.begin(), v.end());
        g.nsamples = all.size();
        g.sum = summarize(all);
        g.dropped = read_dropped();
    }
    g.bar->arrive_and_wait();
    set_latency_counters(state, g.sum, g.nsamples);
    state.counters["dropped"] = benchmark::Counter(g.dropped, benchmark::Counter::kAvgThreads);
    if (amortized_calls)
        state.counters["amortized_ns"] =
            benchmark::Counter(ticks_to_ns(amortized_ticks / double(amortized_calls)), benchmark::Counter::kAvgThreads);
}

// The measurement loop shared by every peer. Each iteration:
//   1. a burst of kBurst calls, each timed on its own (the latency samples);
//   2. catch_up() (untimed): the backend drains, producer threads meet at a barrier;
//   3. unless `amortized` is false, a second burst timed as a whole: the mean cost per
//      call when consecutive calls overlap in the CPU, as in a loop of an app (and as
//      Quill's and spdlog's own benchmarks count it), then catch_up() again.
template <class Call, class CatchUp>
void measure(benchmark::State &state, Call call, CatchUp catch_up, bool amortized, size_t &n, double &am_ticks, size_t &am_calls) {
    auto &v = g.samples[size_t(state.thread_index())];
    for (auto _ : state) {
        uint64_t burst = 0;
        for (int i = 0; i < kBurst; ++i) {
            uint64_t a = tsc_begin();
            call();
            uint64_t b = tsc_end();
            v[n++] = b - a;
            burst += b - a;
        }
        state.SetIterationTime(ticks_to_ns(double(burst)) * 1e-9);
        catch_up(state);
        if (amortized) {
            uint64_t a = tsc_begin();
            for (int i = 0; i < kBurst; ++i) call();
            uint64_t b = tsc_end();
            am_ticks += double(b - a);
            am_calls += kBurst;
            catch_up(state);
        }
    }
}

// ------------------------------------------------------------------ telltale

void tt_setup(const benchmark::State &state, int bursts) {
    setup_shared(state, bursts);
    g.path = scratch_dir() + "/bench_log.db";
    remove_db(g.path);
    tt_options o = TT_OPTIONS_INIT;
    o.db_path = g.path.c_str();
    o.app_name = "bench_log";
    o.queue_bytes = queue_bytes();
    o.max_db_bytes = 1ull << 30;  // no retention work during the run
    if (tt_open(&g.client, &o) != TT_OK) die("tt_open");
    g.dropped0 = stats_of(g.client).dropped;
}
void tt_setup_warm(const benchmark::State &state) { tt_setup(state, kBursts); }
void tt_setup_cold(const benchmark::State &state) { tt_setup(state, kColdBursts); }

void tt_teardown(const benchmark::State &) {
    if (tt_close(g.client, 60000) != TT_OK) die("tt_close");
    g.client = nullptr;
    remove_db(g.path);
}

// The backend catches up between bursts: one thread flushes while the others wait.
void tt_catch_up(benchmark::State &state) {
    g.bar->arrive_and_wait();
    if (state.thread_index() == 0 && tt_flush(g.client, 60000) != TT_OK) die("tt_flush");
    g.bar->arrive_and_wait();
}

void run_tt(benchmark::State &state, bool warm) {
    tt_client *c = g.client;
    // The thread's first call makes its ring (allocation, registry lock): never timed.
    if (tt_log_attrs(c, TT_INFO, kMsg, kAttrs, 2) != TT_OK) die("tt_log_attrs");
    if (warm) {
        // Steady state: one pass through the whole ring so its pages are mapped.
        for (int i = 0; i < kWarmEvents; i += kBurst) {
            for (int j = 0; j < kBurst; ++j) tt_log_attrs(c, TT_INFO, kMsg, kAttrs, 2);
            tt_catch_up(state);
        }
    } else {
        tt_catch_up(state);
    }
    size_t n = 0, am_calls = 0;
    double am_ticks = 0;
    // The cold run times only the per-call bursts, so that they are the ring's first lap.
    measure(
        state, [c] { benchmark::DoNotOptimize(tt_log_attrs(c, TT_INFO, kMsg, kAttrs, 2)); }, tt_catch_up, warm, n, am_ticks, am_calls);
    finish(state, n, am_ticks, am_calls, [] { return double(stats_of(g.client).dropped - g.dropped0); });
}

void BM_log_telltale(benchmark::State &state) { run_tt(state, true); }
// The first pass through a fresh ring: every 4 KiB page is touched for the first time
// by the log call itself (page faults), as in the first seconds of a process.
void BM_log_telltale_cold(benchmark::State &state) { run_tt(state, false); }

// ------------------------------------------------------------------ spdlog

void spd_setup(const benchmark::State &state) {
    setup_shared(state, kBursts);
    g.path = scratch_dir() + "/bench_log_spdlog.log";
    unlink(g.path.c_str());
    spdlog::init_thread_pool(32768, 1);
    // create_async = async_factory with async_overflow_policy::block.
    g.logger = spdlog::create_async<spdlog::sinks::basic_file_sink_mt>("bench_log", g.path, true);
    g.logger->set_level(spdlog::level::info);
    g.overrun0 = spdlog::thread_pool()->overrun_counter();
}

void spd_teardown(const benchmark::State &) {
    g.logger.reset();
    spdlog::shutdown();  // drains the queue, joins the worker
    unlink(g.path.c_str());
}

void spd_catch_up(benchmark::State &state) {
    g.bar->arrive_and_wait();
    if (state.thread_index() == 0) {
        auto tp = spdlog::thread_pool();
        while (tp->queue_size() > 0) std::this_thread::yield();
    }
    g.bar->arrive_and_wait();
}

void BM_log_spdlog_async(benchmark::State &state) {
    spdlog::logger *lg = g.logger.get();
    for (int i = 0; i < kWarmEvents; i += kBurst) {
        for (int j = 0; j < kBurst; ++j) lg->info(kFmt, kMsg, kAttrs[0].value, kAttrs[1].value);
        spd_catch_up(state);
    }
    size_t n = 0, am_calls = 0;
    double am_ticks = 0;
    measure(
        state, [lg] { lg->info(kFmt, kMsg, kAttrs[0].value, kAttrs[1].value); }, spd_catch_up, true, n, am_ticks, am_calls);
    finish(state, n, am_ticks, am_calls, [] { return double(spdlog::thread_pool()->overrun_counter() - g.overrun0); });
}

// ------------------------------------------------------------------ floors

void no_setup(const benchmark::State &state) { setup_shared(state, kBursts); }

template <class Fn>
void run_floor(benchmark::State &state, Fn fn) {
    size_t n = 0, am_calls = 0;
    double am_ticks = 0;
    measure(state, fn, [](benchmark::State &) {}, true, n, am_ticks, am_calls);
    finish(state, n, am_ticks, am_calls, [] { return 0.0; });
}

void BM_floor_clock_gettime(benchmark::State &state) {
    run_floor(state, [] {
        timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        benchmark::DoNotOptimize(ts);
    });
}
void BM_floor_rdtsc(benchmark::State &state) {
    run_floor(state, [] { benchmark::DoNotOptimize(__rdtsc()); });
}
// The work no implementation of this call can skip: find the length of the message and
// of the four attribute strings and copy them (with a TSC stamp) into a buffer that
// stays in L1. What is left of a log call above this is the library's own overhead.
const char *const volatile g_event_strings[5] = {kMsg, kAttrs[0].key, kAttrs[0].value, kAttrs[1].key, kAttrs[1].value};

void BM_floor_copy_event(benchmark::State &state) {
    static thread_local char buf[4096];
    static thread_local size_t off = 0;
    run_floor(state, [] {
        // Pointers the compiler cannot see through, as the library gets them.
        const char *msg = g_event_strings[0], *k0 = g_event_strings[1], *v0 = g_event_strings[2], *k1 = g_event_strings[3],
                   *v1 = g_event_strings[4];
        char *w = buf + off;
        uint64_t t = __rdtsc();
        memcpy(w, &t, 8);
        w += 48;  // a header's worth
        size_t l = strlen(msg);
        memcpy(w, msg, l);
        w += l;
        size_t kl = strlen(k0), vl = strlen(v0);
        memcpy(w, k0, kl);
        memcpy(w + kl, v0, vl);
        w += kl + vl + 8;
        kl = strlen(k1);
        vl = strlen(v1);
        memcpy(w, k1, kl);
        memcpy(w + kl, v1, vl);
        benchmark::DoNotOptimize(buf);
        benchmark::ClobberMemory();
        off = (off + 256) & 2047;
    });
}

}  // namespace

// Three repetitions of each (fresh client or logger each time), interleaved at random
// by run.sh; the summary takes the median of each counter over the repetitions.
BENCHMARK(BM_floor_rdtsc)->Setup(no_setup)->Iterations(kBursts)->Repetitions(3)->DisplayAggregatesOnly(true)
    ->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_floor_copy_event)->Setup(no_setup)->Iterations(kBursts)->Repetitions(3)->DisplayAggregatesOnly(true)
    ->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_floor_clock_gettime)->Setup(no_setup)->Iterations(kBursts)->Repetitions(3)->DisplayAggregatesOnly(true)
    ->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_log_telltale)->Setup(tt_setup_warm)->Teardown(tt_teardown)->Iterations(kBursts)->Threads(1)->Threads(2)
    ->Repetitions(3)->DisplayAggregatesOnly(true)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_log_spdlog_async)->Setup(spd_setup)->Teardown(spd_teardown)->Iterations(kBursts)->Threads(1)->Threads(2)
    ->Repetitions(3)->DisplayAggregatesOnly(true)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_log_telltale_cold)->Setup(tt_setup_cold)->Teardown(tt_teardown)->Iterations(kColdBursts)->Threads(1)
    ->Repetitions(3)->DisplayAggregatesOnly(true)->UseManualTime()->Unit(benchmark::kMicrosecond);
