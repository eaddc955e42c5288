// bench_upload: what background upload puts on the wire and what it costs the device.
//
//   BM_upload/<codec>   codec 0 = TT_CODEC_ZSTD (the default), 1 = TT_CODEC_GZIP, 2 = TT_CODEC_NONE
//                       (tt_options.compression). The real library uploading a full buffer to a
//                       loopback receiver in a child process (bench_sink.hpp: it decodes and
//                       counts every body before it answers 200, like a collector):
//                       1. The buffer: 100k events of the realistic mix (bench_mix.hpp), stored,
//                          none uploaded (consent UNKNOWN). Logged once per process into a
//                          template (TT_FULL_BLOCK, tt_flush, tt_close) and copied before each
//                          repetition, so every repetition uploads the same bytes.
//                       2. tt_open on the copy with the receiver as endpoint, the codec,
//                          upload_interval_ms = 1 h (the uploader runs only when woken) and
//                          max_upload_bytes_per_hour = 1 TiB (the default cap, 64 MiB/h, would
//                          stop an uncompressed run midway); everything else default: 2000
//                          events per upload batch. `pending_before` must be 100000.
//                       3. Timed, as when the user agrees with a full buffer: tt_consent_set
//                          (GRANTED: wakes the uploader, and logs one event of its own), then
//                          tt_upload_flush until all 100,001 are delivered.
//                       Reported per event: body bytes as received (compressed), the whole
//                       request (+ HTTP headers), the OTLP JSON after decoding, the payload
//                       (message + keys + values) for scale; events/s; CPU time of this process
//                       during the timed region (CLOCK_PROCESS_CPUTIME_ID, every thread; the
//                       receiver is another process and not in it), split into the busiest
//                       library thread (the uploader), the caller (waiting in tt_upload_flush)
//                       and the rest; the receiver's own CPU for comparison. `events` must be
//                       100001 and `sink_records` (counted in the decoded bodies) equal to it.
//
// Manual time: the "Time" column is the timed region (consent + tt_upload_flush). Read the counters.
#include <algorithm>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "bench_mix.hpp"
#include "bench_sink.hpp"

namespace {

using namespace ttb;

constexpr int kEvents = 100000;

Sink &sink() {
    static Sink s;  // forked on first use, before this benchmark opens a client
    return s;
}

// The template buffer: kEvents of the mix, stored, never uploaded. Made once per process.
struct Template {
    std::string path;
    double payload_per_event = 0;
};
const Template &events_template() {
    static const Template t = [] {
        Template t;
        t.path = scratch_dir() + "/bench_upload_template.db";
        remove_db(t.path);
        tt_options o = TT_OPTIONS_INIT;
        o.db_path = t.path.c_str();
        o.app_name = "bench_upload";
        o.app_version = "1.2.3";
        o.max_db_bytes = 1ull << 30;
        o.full_policy = TT_FULL_BLOCK;
        tt_client *c = nullptr;
        if (tt_open(&c, &o) != TT_OK) die("tt_open");
        LogMix mix;
        t.payload_per_event = double(log_mix(c, mix, kEvents)) / kEvents;
        if (tt_flush(c, 120000) != TT_OK) die("tt_flush");
        if (stats_of(c).stored != uint64_t(kEvents)) die("storing the template");
        if (tt_close(c, 60000) != TT_OK) die("tt_close");
        return t;
    }();
    return t;
}

void BM_upload(benchmark::State &state) {
    const tt_codec codec = tt_codec(state.range(0));
    Sink &rx = sink();
    const SinkPath &lp = rx.counters().logs;
    const Template &tpl = events_template();
    std::string path = scratch_dir() + "/bench_upload.db";
    for (auto _ : state) {
        copy_buffer(tpl.path, path);
        tt_options o = TT_OPTIONS_INIT;
        o.db_path = path.c_str();
        o.app_name = "bench_upload";
        o.app_version = "1.2.3";
        o.endpoint = rx.url().c_str();
        o.compression = codec;
        o.upload_interval_ms = 3600 * 1000;
        o.max_upload_bytes_per_hour = 1ull << 40;
        o.upload_timeout_ms = 60000;
        o.max_db_bytes = 1ull << 30;  // no retention work during the run
        std::vector<int> before = task_ids(), threads;
        tt_client *c = nullptr;
        if (tt_open(&c, &o) != TT_OK) die("tt_open");
        for (int tid : task_ids())
            if (std::find(before.begin(), before.end(), tid) == before.end()) threads.push_back(tid);
        tt_stats s0 = stats_of(c);
        uint64_t req0 = lp.requests, hdr0 = lp.header_bytes, body0 = lp.body_bytes, dec0 = lp.decoded_bytes, rec0 = lp.records,
                 bad0 = lp.bad, exp0 = lp.expect_100, rxcpu0 = rx.counters().cpu_ns;
        std::vector<uint64_t> tcpu0;
        for (int tid : threads) tcpu0.push_back(thread_cpu_ns(tid));
        uint64_t pcpu0 = process_cpu_ns(), ccpu0 = this_thread_cpu_ns();
        uint64_t t0 = mono_ns();
        if (tt_consent_set(c, TT_CONSENT_GRANTED, nullptr) != TT_OK) die("tt_consent_set");
        tt_status st = tt_upload_flush(c, 600000);
        uint64_t t1 = mono_ns();
        uint64_t pcpu = process_cpu_ns() - pcpu0, ccpu = this_thread_cpu_ns() - ccpu0;
        if (st != TT_OK) die("tt_upload_flush");
        uint64_t busiest = 0, bg = 0;
        for (size_t i = 0; i < threads.size(); ++i) {
            uint64_t d = thread_cpu_ns(threads[i]) - tcpu0[i];
            bg += d;
            busiest = std::max(busiest, d);
        }
        state.SetIterationTime(double(t1 - t0) * 1e-9);
        tt_stats s1 = stats_of(c);

        double ev = double(s1.uploaded - s0.uploaded);
        state.counters["events"] = ev;
        state.counters["pending_before"] = double(s0.pending_upload);  // the backlog: 100000
        state.counters["sink_records"] = double(lp.records - rec0);
        state.counters["sink_bad_bodies"] = double(lp.bad - bad0);
        state.counters["batches"] = double(lp.requests - req0);
        state.counters["expect_100"] = double(lp.expect_100 - exp0);
        state.counters["body_bytes_per_event"] = double(lp.body_bytes - body0) / ev;
        state.counters["wire_bytes_per_event"] = double(lp.body_bytes - body0 + lp.header_bytes - hdr0) / ev;
        state.counters["json_bytes_per_event"] = double(lp.decoded_bytes - dec0) / ev;
        state.counters["payload_bytes_per_event"] = tpl.payload_per_event;
        state.counters["stats_upload_bytes_per_event"] = double(s1.upload_bytes - s0.upload_bytes) / ev;
        state.counters["compression_ratio"] = double(lp.decoded_bytes - dec0) / double(lp.body_bytes - body0);
        state.counters["flush_ms"] = double(t1 - t0) * 1e-6;
        state.counters["events_per_s"] = ev / (double(t1 - t0) * 1e-9);
        state.counters["cpu_us_per_event"] = double(pcpu) * 1e-3 / ev;
        state.counters["uploader_cpu_us_per_event"] = double(busiest) * 1e-3 / ev;
        state.counters["caller_cpu_us_per_event"] = double(ccpu) * 1e-3 / ev;
        state.counters["other_cpu_us_per_event"] = double(pcpu - ccpu - busiest) * 1e-3 / ev;
        state.counters["library_threads_cpu_us_per_event"] = double(bg) * 1e-3 / ev;
        state.counters["receiver_cpu_us_per_event"] = double(rx.counters().cpu_ns - rxcpu0) * 1e-3 / ev;
        state.counters["pending_after"] = double(s1.pending_upload);
        if (tt_close(c, 60000) != TT_OK) die("tt_close");
    }
    remove_db(path);
}

}  // namespace

// A fresh copy of the full buffer per repetition; 3 repetitions per codec, interleaved at
// random by run.sh with the report benchmarks; the summary takes the median of each counter.
BENCHMARK(BM_upload)->Arg(TT_CODEC_ZSTD)->Arg(TT_CODEC_GZIP)->Arg(TT_CODEC_NONE)->Iterations(1)->Repetitions(3)
    ->DisplayAggregatesOnly(true)->UseManualTime()->Unit(benchmark::kMillisecond);
