// bench_requests: what tracing an HTTP call costs.
//
//   BM_request_api        caller-thread cost of one traced request through the plain API:
//                         tt_request_begin("GET", an https URL with a query to strip)
//                         + tt_request_traceparent + 3 tt_request_header (X-Reqid with a
//                         32-char id, Content-Type, Content-Length) + tt_request_end(200,
//                         NULL). Each request timed on its own (TSC, as bench_log), in bursts
//                         of kApiBurst; between bursts tt_flush, untimed, so the ring (the
//                         default 1 MiB) never fills. `requests_dropped` (tt_stats) should
//                         be 0. Before timing: > kRecycleAfter (4096) requests, so the
//                         request pool recycles as in a long-running app, and a pass
//                         through the ring. `amortized_ns`: a second burst timed as a whole;
//                         `flush_us_per_request`: tt_flush time after a burst / its requests
//                         (about what storing one request record takes, disk waits included);
//                         `writer_cpu_us_per_request`: CPU time of the writer thread per request.
//   BM_request_api_phases the same request with stamps between its phases: begin +
//                         traceparent, the 3 headers, end (each phase's own timer overhead
//                         included; subtract timer_ovh_ns).
//   BM_request_loopback   the same GET over loopback HTTP, without and with instrumentation.
//                         A cpp-httplib server on 127.0.0.1 (started here; TCP_NODELAY, keep-
//                         alive without a request cap) answers GET /api/items with a 12-byte
//                         JSON body and X-Reqid / X-Request-Id headers. One libcurl easy
//                         handle, reused (one keep-alive connection), sends "Accept:
//                         application/json". Requests alternate plain / instrumented
//                         (tt_curl_begin ... curl_easy_perform ... tt_curl_end), the order
//                         flipping every pair, so both see the same load on this shared
//                         machine; each is timed on its own. Reported: medians and p99 of
//                         both, their ratio, the median of the paired differences, and the
//                         helper's own calls (tt_curl_begin + tt_curl_end, timed apart:
//                         `helper_*`), which do not include its header callback inside
//                         curl_easy_perform. The writer thread stores the instrumented
//                         requests meanwhile (flushed, untimed, between bursts); since the
//                         two kinds alternate, its background load falls on both alike, so
//                         the difference is what the request itself pays, and the writer's
//                         own cost is reported apart: `writer_cpu_us_per_request`, the CPU
//                         time of the thread tt_open started, per instrumented request.
//
// Manual time: the "Time" column is one timed burst. Read the counters.
#include <curl/curl.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <telltale/curl.h>

#include "bench_common.hpp"

namespace {

using namespace ttb;

constexpr int kApiBurst = 1000;   // ~250 B per request record: a quarter of the 1 MiB ring
constexpr int kApiBursts = 200;   // timed bursts per repetition
constexpr int kApiWarm = 6000;    // > the pool's kRecycleAfter (4096) and > one lap of the ring
constexpr int kLoopPairs = 500;   // plain + instrumented pairs per timed burst
constexpr int kLoopBursts = 20;   // per repetition: 10k pairs
constexpr int kLoopWarmPairs = 300;

constexpr char kUrl[] = "https://api.example.com/v1/items?page=2&token=SECRET";
constexpr char kReqid[] = "4d1a2f0e9b8c7d6e5f4a3b2c1d0e9f8a";

struct Client {
    std::string path;
    tt_client *c = nullptr;
    uint64_t dropped0 = 0;
    std::vector<int> threads;  // started by tt_open: the writer thread
    uint64_t cpu_ns() const {
        uint64_t t = 0;
        for (int tid : threads) t += thread_cpu_ns(tid);
        return t;
    }
};

Client open_client(const char *name) {
    Client k;
    k.path = scratch_dir() + "/" + name;
    remove_db(k.path);
    tt_options o = TT_OPTIONS_INIT;  // default ring (1 MiB), default commit interval
    o.db_path = k.path.c_str();
    o.app_name = "bench_requests";
    o.max_db_bytes = 1ull << 30;  // no retention work during the run
    std::vector<int> before = task_ids();
    if (tt_open(&k.c, &o) != TT_OK) die("tt_open");
    for (int tid : task_ids())
        if (std::find(before.begin(), before.end(), tid) == before.end()) k.threads.push_back(tid);
    return k;
}

void close_client(Client &k) {
    if (tt_close(k.c, 60000) != TT_OK) die("tt_close");
    k.c = nullptr;
    remove_db(k.path);
}

// ------------------------------------------------------------------ the plain API

// One traced request as an app makes it around its own HTTP call. Returns non-zero on any error.
inline int one_request(tt_client *c) {
    tt_request *r = nullptr;
    int bad = tt_request_begin(&r, c, "GET", kUrl);
    const char *tp = tt_request_traceparent(r);  // what the app puts in its traceparent header
    benchmark::DoNotOptimize(tp);
    bad |= tt_request_header(r, "X-Reqid", kReqid);
    bad |= tt_request_header(r, "Content-Type", "application/json");
    bad |= tt_request_header(r, "Content-Length", "12");
    bad |= tt_request_end(r, 200, nullptr);
    return bad;
}

void warm_api(tt_client *c) {
    for (int i = 0; i < kApiWarm; i += kApiBurst) {
        for (int j = 0; j < kApiBurst; ++j)
            if (one_request(c)) die("request");
        if (tt_flush(c, 60000) != TT_OK) die("tt_flush");
    }
}

void set_requests_counters(benchmark::State &state, tt_client *c, uint64_t dropped0) {
    tt_stats s = stats_of(c);
    state.counters["requests"] = double(s.requests);
    state.counters["requests_dropped"] = double(s.requests_dropped - dropped0);
}

void BM_request_api(benchmark::State &state) {
    Client k = open_client("bench_requests_api.db");
    tt_client *c = k.c;
    warm_api(c);
    k.dropped0 = stats_of(c).requests_dropped;
    uint64_t cpu0 = k.cpu_ns();
    std::vector<uint64_t> v(size_t(state.max_iterations) * kApiBurst);
    size_t n = 0;
    double am_ticks = 0;
    uint64_t flush_ns = 0;
    int bad = 0;
    auto flush = [&] {  // untimed: the ring never fills
        uint64_t t0 = mono_ns();
        if (tt_flush(c, 60000) != TT_OK) die("tt_flush");
        flush_ns += mono_ns() - t0;
    };
    for (auto _ : state) {
        uint64_t burst = 0;
        for (int i = 0; i < kApiBurst; ++i) {
            uint64_t a = tsc_begin();
            bad |= one_request(c);
            uint64_t b = tsc_end();
            v[n++] = b - a;
            burst += b - a;
        }
        state.SetIterationTime(ticks_to_ns(double(burst)) * 1e-9);
        flush();
        uint64_t a = tsc_begin();
        for (int i = 0; i < kApiBurst; ++i) bad |= one_request(c);
        am_ticks += double(tsc_end() - a);
        flush();
    }
    if (bad) die("a request call");
    v.resize(n);
    LatencySummary s = summarize(v);
    set_latency_counters(state, s, n);
    state.counters["amortized_ns"] = ticks_to_ns(am_ticks / double(n));
    // The writer's time to store a burst (it sleeps until the burst's first record wakes
    // it): roughly what storing one request record costs, on the other core.
    state.counters["flush_us_per_request"] = double(flush_ns) * 1e-3 / double(2 * n);
    // CPU time of the library's thread(s) per request: the background cost of a request.
    state.counters["writer_cpu_us_per_request"] = double(k.cpu_ns() - cpu0) * 1e-3 / double(2 * n);
    set_requests_counters(state, c, k.dropped0);
    close_client(k);
}

void BM_request_api_phases(benchmark::State &state) {
    Client k = open_client("bench_requests_phases.db");
    tt_client *c = k.c;
    warm_api(c);
    k.dropped0 = stats_of(c).requests_dropped;
    std::vector<uint64_t> vb(size_t(state.max_iterations) * kApiBurst), vh(vb.size()), ve(vb.size());
    size_t n = 0;
    int bad = 0;
    for (auto _ : state) {
        uint64_t burst = 0;
        for (int i = 0; i < kApiBurst; ++i) {
            tt_request *r = nullptr;
            uint64_t t0 = tsc_begin();
            bad |= tt_request_begin(&r, c, "GET", kUrl);
            const char *tp = tt_request_traceparent(r);
            benchmark::DoNotOptimize(tp);
            uint64_t t1 = tsc_end();
            uint64_t t2 = tsc_begin();
            bad |= tt_request_header(r, "X-Reqid", kReqid);
            bad |= tt_request_header(r, "Content-Type", "application/json");
            bad |= tt_request_header(r, "Content-Length", "12");
            uint64_t t3 = tsc_end();
            uint64_t t4 = tsc_begin();
            bad |= tt_request_end(r, 200, nullptr);
            uint64_t t5 = tsc_end();
            vb[n] = t1 - t0;
            vh[n] = t3 - t2;
            ve[n] = t5 - t4;
            ++n;
            burst += t5 - t0;
        }
        state.SetIterationTime(ticks_to_ns(double(burst)) * 1e-9);
        if (tt_flush(c, 60000) != TT_OK) die("tt_flush");
    }
    if (bad) die("a request call");
    for (auto *v : {&vb, &vh, &ve}) v->resize(n);
    LatencySummary b = summarize(vb), h = summarize(vh), e = summarize(ve);
    state.counters["begin_median_ns"] = b.median;
    state.counters["begin_p99_ns"] = b.p99;
    state.counters["headers_median_ns"] = h.median;
    state.counters["headers_p99_ns"] = h.p99;
    state.counters["end_median_ns"] = e.median;
    state.counters["end_p99_ns"] = e.p99;
    state.counters["timer_ovh_ns"] = ticks_to_ns(timer_overhead_ticks());
    set_requests_counters(state, c, k.dropped0);
    close_client(k);
}

// ------------------------------------------------------------------ loopback HTTP

struct Server {
    httplib::Server srv;
    std::thread th;
    int port = 0;
    std::atomic<uint64_t> seq{0};

    Server() {
        srv.set_tcp_nodelay(true);  // as a tuned server would; else Nagle + delayed ACK decide the figure
        srv.set_keep_alive_max_count(size_t(1) << 30);  // cpp-httplib's default closes after 5 requests
        srv.set_keep_alive_timeout(60);
        srv.Get("/api/items", [this](const httplib::Request &, httplib::Response &res) {
            uint64_t n = ++seq;
            char id[40];
            snprintf(id, sizeof id, "%016llx%016llx", (unsigned long long)(n * 0x9E3779B97F4A7C15ull), (unsigned long long)n);
            res.set_header("X-Reqid", id);
            res.set_header("X-Request-Id", id + 16);
            res.set_content("{\"items\":[]}", "application/json");
        });
        port = srv.bind_to_any_port("127.0.0.1");
        if (port <= 0) {
            fprintf(stderr, "bench_requests: cannot bind a loopback port\n");
            std::abort();
        }
        th = std::thread([this] { srv.listen_after_bind(); });
        while (!srv.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~Server() {
        srv.stop();
        th.join();
    }
};

size_t sink_body(char *, size_t size, size_t n, void *) { return size * n; }

struct Loop {
    std::unique_ptr<Server> server;
    Client k;
    CURL *easy = nullptr;
    curl_slist *app_headers = nullptr;
    std::string url;
};
Loop g_loop;

void loop_setup(const benchmark::State &) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g_loop.k = open_client("bench_requests_loopback.db");  // first: its new thread is the writer
    // Fill the request pool past kRecycleAfter, as in a long-running app.
    warm_api(g_loop.k.c);
    g_loop.server = std::make_unique<Server>();
    g_loop.url = "http://127.0.0.1:" + std::to_string(g_loop.server->port) + "/api/items";
    g_loop.easy = curl_easy_init();
    g_loop.app_headers = curl_slist_append(nullptr, "Accept: application/json");
    CURL *e = g_loop.easy;
    curl_easy_setopt(e, CURLOPT_URL, g_loop.url.c_str());
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink_body);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, g_loop.app_headers);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
}

void loop_teardown(const benchmark::State &) {
    curl_easy_cleanup(g_loop.easy);
    g_loop.easy = nullptr;
    curl_slist_free_all(g_loop.app_headers);
    g_loop.app_headers = nullptr;
    close_client(g_loop.k);
    g_loop.server.reset();
}

long g_new_conns = 0;  // connections libcurl had to make: should stay 0 once warm (keep-alive)
inline void count_conns(CURL *e) {
    long nc = 0;
    curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &nc);
    g_new_conns += nc;
}

// A request without telltale. Returns its time in ticks; aborts on failure.
inline uint64_t plain(CURL *e) {
    uint64_t a = tsc_begin();
    CURLcode rc = curl_easy_perform(e);
    uint64_t b = tsc_end();
    count_conns(e);
    if (rc != CURLE_OK) {
        fprintf(stderr, "bench_requests: plain request failed: %s\n", curl_easy_strerror(rc));
        std::abort();
    }
    return b - a;
}

// The same request through the helper. Returns the whole time; *own: begin + end alone.
inline uint64_t instrumented(tt_client *c, CURL *e, curl_slist *app_headers, uint64_t *own) {
    tt_curl *t = nullptr;
    tt_curl_options o = TT_CURL_OPTIONS_INIT;
    o.headers = app_headers;
    uint64_t t0 = tsc_begin();
    tt_status st = tt_curl_begin(&t, c, e, &o);
    uint64_t t1 = tsc_end();
    CURLcode rc = curl_easy_perform(e);
    uint64_t t2 = tsc_begin();
    tt_status st2 = tt_curl_end(t, rc);
    uint64_t t3 = tsc_end();
    count_conns(e);
    if (st != TT_OK) die("tt_curl_begin");
    if (st2 != TT_OK) die("tt_curl_end");
    if (rc != CURLE_OK) {
        fprintf(stderr, "bench_requests: instrumented request failed: %s\n", curl_easy_strerror(rc));
        std::abort();
    }
    *own = (t1 - t0) + (t3 - t2);
    return t3 - t0;
}

void BM_request_loopback(benchmark::State &state) {
    tt_client *c = g_loop.k.c;
    CURL *e = g_loop.easy;
    curl_slist *h = g_loop.app_headers;
    uint64_t own;
    for (int i = 0; i < kLoopWarmPairs; ++i) {  // connection up, caches and server threads warm
        plain(e);
        instrumented(c, e, h, &own);
    }
    if (tt_flush(c, 60000) != TT_OK) die("tt_flush");
    uint64_t dropped0 = stats_of(c).requests_dropped;
    uint64_t cpu0 = g_loop.k.cpu_ns();
    g_new_conns = 0;
    const size_t cap = size_t(state.max_iterations) * kLoopPairs;
    std::vector<uint64_t> vp(cap), vi(cap), vo(cap), vd(cap);
    size_t n = 0;
    for (auto _ : state) {
        uint64_t burst = 0;
        for (int i = 0; i < kLoopPairs; ++i) {
            uint64_t p, q;
            if (i & 1) {
                q = instrumented(c, e, h, &own);
                p = plain(e);
            } else {
                p = plain(e);
                q = instrumented(c, e, h, &own);
            }
            vp[n] = p;
            vi[n] = q;
            vo[n] = own;
            // Paired difference, offset so it stays unsigned (medians are taken on it).
            vd[n] = q + (uint64_t(1) << 62) - p;
            ++n;
            burst += p + q;
        }
        state.SetIterationTime(ticks_to_ns(double(burst)) * 1e-9);
        if (tt_flush(c, 60000) != TT_OK) die("tt_flush");  // untimed
    }
    for (auto *v : {&vp, &vi, &vo, &vd}) v->resize(n);
    LatencySummary sp = summarize(vp), si = summarize(vi), so = summarize(vo);
    double diff_med = pct_ns(vd, 0.5) - ticks_to_ns(double(uint64_t(1) << 62));
    state.counters["plain_median_ns"] = sp.median;
    state.counters["plain_p99_ns"] = sp.p99;
    state.counters["instr_median_ns"] = si.median;
    state.counters["instr_p99_ns"] = si.p99;
    state.counters["helper_median_ns"] = so.median;
    state.counters["helper_p99_ns"] = so.p99;
    state.counters["paired_diff_median_ns"] = diff_med;
    state.counters["ratio"] = si.median / sp.median;
    state.counters["pairs"] = double(n);
    state.counters["reconnects"] = double(g_new_conns);  // should be 0: one keep-alive connection
    state.counters["timer_ovh_ns"] = ticks_to_ns(timer_overhead_ticks());
    if (tt_flush(c, 60000) != TT_OK) die("tt_flush");
    tt_stats s = stats_of(c);
    state.counters["requests_dropped"] = double(s.requests_dropped - dropped0);
    state.counters["writer_cpu_us_per_request"] = double(g_loop.k.cpu_ns() - cpu0) * 1e-3 / double(n);
}

}  // namespace

// Three repetitions each (a fresh client, and for the loopback a fresh server, each time),
// interleaved at random by run.sh; the summary takes the median of each counter.
BENCHMARK(BM_request_api)->Iterations(kApiBursts)->Repetitions(3)->DisplayAggregatesOnly(true)->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_request_api_phases)->Iterations(kApiBursts / 2)->Repetitions(3)->DisplayAggregatesOnly(true)->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_request_loopback)->Setup(loop_setup)->Teardown(loop_teardown)->Iterations(kLoopBursts)->Repetitions(3)
    ->DisplayAggregatesOnly(true)->UseManualTime()->Unit(benchmark::kMillisecond);
