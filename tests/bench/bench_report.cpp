// bench_report: "Report a problem" on a full buffer.
//
//   BM_report/0   no endpoint: the report is filed and assembled, then kept (its state stays
//                 PENDING: there is nowhere to send it; tt_report_export would take it from there).
//   BM_report/1   the endpoint is a loopback receiver in a child process (bench_sink.hpp): the
//                 report is filed, assembled, the time-boxed network check probes 127.0.0.1,
//                 and it is sent (multipart) until the receiver's 200 makes it SENT.
//
// The buffer: 100k events of the realistic mix (bench_mix.hpp) and 500 traced requests among
// them (tt_request_begin/header/end: 200, 1 in 25 a 404, 1 in 20 a 503; none without an
// answer, so the network check does not try to resolve example.com on this offline machine),
// logged once per process into a template (TT_FULL_BLOCK, tt_flush, tt_close) a few seconds
// to minutes before: all of it inside the report's default 30-minute window. Each repetition
// opens a fresh copy (default options but max_db_bytes 1 GiB). Then, for each of kQuiet
// reports (description and contact set, no attachments):
//   - tt_report_submit, timed: what the user waits for after pressing the button;
//   - tt_report_status 5 ms later, timed: an app polling for "sent" while assembly runs;
//   - until the report is assembled (the state in the file leaves 'assembling': read with a
//     read-only SQLite connection every ~1 ms, since through the C ABI an assembled report is
//     as PENDING as a filed one) and, with the endpoint, until it is 'sent' (confirmed with
//     tt_report_status = TT_REPORT_SENT); times from the start of tt_report_submit.
// Then kBurst pairs: two reports 20 ms apart, the second submit timed (it arrives while the
// first is being assembled, as when a user presses twice or the app files one automatically).
// Sizes of the last report: manifest.json and logs.ndjson.zst (report_parts in the file;
// with the endpoint also as received), the NDJSON they unpack to, the events in it.
//
// With kQuiet samples per repetition, "p99" is the largest of them (say so when quoting it).
// Manual time: the "Time" column is the sum of the timed submits. Read the counters.
#include <sqlite3.h>
#include <zstd.h>

#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"
#include "bench_mix.hpp"
#include "bench_sink.hpp"

namespace {

using namespace ttb;

constexpr int kEvents = 100000;
constexpr int kRequests = 500;
constexpr int kQuiet = 10;  // reports per repetition, each on an idle client (each costs one assembly, ~2 s)
constexpr int kBurst = 1;   // pairs per repetition, the second filed while the first is assembled

Sink &sink() {
    static Sink s;
    return s;
}

void one_request(tt_client *c, int i);

// The template buffer, made once per process.
const std::string &report_template() {
    static const std::string path = [] {
        std::string p = scratch_dir() + "/bench_report_template.db";
        remove_db(p);
        tt_options o = TT_OPTIONS_INIT;
        o.db_path = p.c_str();
        o.app_name = "bench_report";
        o.app_version = "1.2.3";
        o.max_db_bytes = 1ull << 30;
        o.full_policy = TT_FULL_BLOCK;
        tt_client *c = nullptr;
        if (tt_open(&c, &o) != TT_OK) die("tt_open");
        LogMix mix;
        for (int i = 0; i < kRequests; ++i) {
            log_mix(c, mix, kEvents / kRequests);
            one_request(c, i);
        }
        if (tt_flush(c, 120000) != TT_OK) die("tt_flush");
        if (stats_of(c).stored != uint64_t(kEvents)) die("storing the template");
        if (tt_close(c, 60000) != TT_OK) die("tt_close");
        return p;
    }();
    return path;
}

void one_request(tt_client *c, int i) {
    static const char *const urls[] = {"https://api.example.com/api/v2/sync/changes?cursor=8812", "https://api.example.com/api/v2/folders",
                                       "https://files.example.com/api/v2/files/upload", "https://api.example.com/api/v2/account"};
    tt_request *r = nullptr;
    if (tt_request_begin(&r, c, i % 7 == 3 ? "POST" : "GET", urls[i % 4]) != TT_OK) die("tt_request_begin");
    char id[40];
    snprintf(id, sizeof id, "req-%08x-%04x", unsigned(i * 2654435761u), unsigned(i));
    tt_request_header(r, "X-Request-Id", id);
    tt_request_header(r, "Content-Type", "application/json");
    int status = i % 20 == 7 ? 503 : i % 25 == 11 ? 404 : 200;
    if (tt_request_end(r, status, nullptr) != TT_OK) die("tt_request_end");
}

// The report's state as stored ('assembling', 'pending', 'sent', 'failed'), "" if absent.
std::string file_state(sqlite3 *db, const char *id) {
    sqlite3_stmt *s = nullptr;
    std::string v;
    if (sqlite3_prepare_v2(db, "SELECT state FROM reports WHERE id=?", -1, &s, nullptr) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW) v = reinterpret_cast<const char *>(sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    return v;
}

struct Parts {
    uint64_t manifest = 0, logs = 0, ndjson = 0, events = 0;
    bool truncated = false;
};

Parts parts_of(sqlite3 *db, const char *id) {
    Parts p;
    sqlite3_stmt *s = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT name, data FROM report_parts WHERE report=?", -1, &s, nullptr) != SQLITE_OK) return p;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    while (sqlite3_step(s) == SQLITE_ROW) {
        std::string name = reinterpret_cast<const char *>(sqlite3_column_text(s, 0));
        const char *data = static_cast<const char *>(sqlite3_column_blob(s, 1));
        size_t n = size_t(sqlite3_column_bytes(s, 1));
        if (name == "manifest.json") {
            p.manifest = n;
            std::string m(data, n);
            const char *key = "\"logs\":{\"part\":\"logs.ndjson.zst\",\"events\":";
            size_t at = m.find(key);
            if (at != std::string::npos) p.events = strtoull(m.c_str() + at + strlen(key), nullptr, 10);
            size_t t = m.find("\"truncated\":", at == std::string::npos ? 0 : at);
            p.truncated = t != std::string::npos && m.compare(t + 12, 4, "true") == 0;
        } else if (name == "logs.ndjson.zst") {
            p.logs = n;
            unsigned long long raw = ZSTD_getFrameContentSize(data, n);
            p.ndjson = raw == ZSTD_CONTENTSIZE_ERROR || raw == ZSTD_CONTENTSIZE_UNKNOWN ? 0 : raw;
        }
    }
    sqlite3_finalize(s);
    return p;
}

double ms_pct(std::vector<uint64_t> v, double q) {
    if (v.empty()) return 0;
    size_t k = std::min(v.size() - 1, size_t(q * double(v.size())));
    std::nth_element(v.begin(), v.begin() + long(k), v.end());
    return double(v[k]) * 1e-6;
}

void BM_report(benchmark::State &state) {
    const bool endpoint = state.range(0) != 0;
    Sink *rx = endpoint ? &sink() : nullptr;
    std::string path = scratch_dir() + "/bench_report.db";
    std::vector<uint64_t> submit, status, assembled, sent, burst;
    Parts last{};
    uint64_t rx_body = 0, rx_reports = 0, events = 0;
    const std::string &tpl = report_template();
    const uint64_t expect0 = rx ? rx->counters().reports.expect_100.load() : 0;
    for (auto _ : state) {
        copy_buffer(tpl, path);
        tt_options o = TT_OPTIONS_INIT;
        o.db_path = path.c_str();
        o.app_name = "bench_report";
        o.app_version = "1.2.3";
        if (rx) o.endpoint = rx->url().c_str();
        o.max_db_bytes = 1ull << 30;
        tt_client *c = nullptr;
        if (tt_open(&c, &o) != TT_OK) die("tt_open");
        events = stats_of(c).events;
        sqlite3 *db = nullptr;
        if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) die("sqlite3_open_v2 (read-only)");
        sqlite3_busy_timeout(db, 5000);

        tt_report_options ro = TT_REPORT_OPTIONS_INIT;
        ro.description = "Sync has been stuck at 97 % since this morning; I restarted the app twice.";
        ro.contact = "jane.doe@example.com";
        char id[TT_REPORT_ID_SIZE];
        uint64_t timed = 0;
        uint64_t rx_body0 = rx ? rx->counters().reports.body_bytes.load() : 0, rx_req0 = rx ? rx->counters().reports.requests.load() : 0;
        // Wait until the report is assembled (and sent, with an endpoint); aborts after 120 s.
        auto settle = [&](const char *rid, uint64_t t0, bool record) {
            bool was_assembling = true;
            for (uint64_t deadline = t0 + 120'000'000'000ull; mono_ns() < deadline;) {
                std::string st = file_state(db, rid);
                if (was_assembling && st != "assembling" && !st.empty()) {
                    was_assembling = false;
                    if (record) assembled.push_back(mono_ns() - t0);
                }
                if (st == "failed") die("the report failed");
                if (!was_assembling && (!rx || st == "sent")) {
                    if (rx && record) sent.push_back(mono_ns() - t0);
                    tt_report_state rs;
                    if (tt_report_status(c, rid, &rs) != TT_OK) die("tt_report_status");
                    if (rx && rs != TT_REPORT_SENT) die("sent in the file but not TT_REPORT_SENT");
                    return;
                }
                std::this_thread::sleep_for(std::chrono::microseconds(900));
            }
            fprintf(stderr, "bench_report: report %s not settled after 120 s\n", rid);
            abort();
        };
        for (int i = 0; i < kQuiet; ++i) {
            uint64_t t0 = mono_ns();
            tt_status st = tt_report_submit(c, &ro, id);
            uint64_t t1 = mono_ns();
            if (st != TT_OK) die("tt_report_submit");
            submit.push_back(t1 - t0);
            timed += t1 - t0;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            tt_report_state rs;
            uint64_t s0 = mono_ns();
            if (tt_report_status(c, id, &rs) != TT_OK) die("tt_report_status");
            status.push_back(mono_ns() - s0);
            settle(id, t0, true);
        }
        last = parts_of(db, id);
        if (rx) {
            rx_body = (rx->counters().reports.body_bytes - rx_body0) / (rx->counters().reports.requests - rx_req0);
        }
        for (int i = 0; i < kBurst; ++i) {
            char first[TT_REPORT_ID_SIZE];
            uint64_t t0 = mono_ns();
            if (tt_report_submit(c, &ro, first) != TT_OK) die("tt_report_submit");
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            uint64_t t1 = mono_ns();
            if (tt_report_submit(c, &ro, id) != TT_OK) die("tt_report_submit");
            burst.push_back(mono_ns() - t1);
            settle(first, t0, false);
            settle(id, t1, false);
        }
        if (rx) rx_reports = rx->counters().reports.requests - rx_req0;  // all of them, the pair's too
        state.SetIterationTime(double(timed) * 1e-9);
        sqlite3_close(db);
        if (tt_close(c, 60000) != TT_OK) die("tt_close");
    }
    remove_db(path);
    state.counters["events_in_buffer"] = double(events);
    state.counters["samples"] = double(submit.size());
    state.counters["submit_median_ms"] = ms_pct(submit, 0.5);
    state.counters["submit_p99_ms"] = ms_pct(submit, 0.99);
    state.counters["submit_max_ms"] = ms_pct(submit, 1.0);
    state.counters["status_median_ms"] = ms_pct(status, 0.5);
    state.counters["status_max_ms"] = ms_pct(status, 1.0);
    state.counters["assembled_median_ms"] = ms_pct(assembled, 0.5);
    state.counters["assembled_max_ms"] = ms_pct(assembled, 1.0);
    if (rx) {
        state.counters["sent_median_ms"] = ms_pct(sent, 0.5);
        state.counters["sent_max_ms"] = ms_pct(sent, 1.0);
        state.counters["wire_body_bytes"] = double(rx_body);
        state.counters["received_reports"] = double(rx_reports);
        state.counters["rx_manifest_bytes"] = double(rx->counters().report_manifest_bytes);
        state.counters["rx_logs_bytes"] = double(rx->counters().report_logs_bytes);
        state.counters["rx_logs_lines"] = double(rx->counters().report_logs_lines);
        state.counters["rx_expect_100"] = double(rx->counters().reports.expect_100 - expect0);  // sent with "Expect: 100-continue"
    }
    state.counters["burst_submit_median_ms"] = ms_pct(burst, 0.5);
    state.counters["burst_submit_max_ms"] = ms_pct(burst, 1.0);
    state.counters["manifest_bytes"] = double(last.manifest);
    state.counters["logs_zst_bytes"] = double(last.logs);
    state.counters["logs_ndjson_bytes"] = double(last.ndjson);
    state.counters["report_events"] = double(last.events);
    state.counters["logs_truncated"] = last.truncated ? 1 : 0;
}

}  // namespace

// One repetition of kQuiet + 2 * kBurst reports per variant (each report is a ~2 s assembly;
// more would make run.sh long), interleaved at random with the upload benchmarks.
BENCHMARK(BM_report)->Arg(0)->Arg(1)->Iterations(1)->Repetitions(1)->UseManualTime()->Unit(benchmark::kMillisecond);
