// bench_backend: ingestion by the reference support backend (examples/support-backend), on loopback.
//
// The backend under test is the real binary, `telltale-support-backend --listen 127.0.0.1:0
// --db <scratch>/bench_backend.db --ingest-token T`, started as a child process with a fresh
// database for every benchmark run, so its CPU time is its own: read from /proc/<pid>/stat
// (utime + stime, in clock ticks) before and after the timed region. "Per core" figures are
// records per CPU-second of the backend process, all its threads.
//
// What is posted is what the library posts. Once per process, a real client (the public C
// ABI) logs 500 events of the realistic mix (bench_mix.hpp) and 20 traced requests, files a
// report with a small attachment, is granted consent and uploads, with compression off and
// 500 events per batch, to a capture server in this process (cpp-httplib on 127.0.0.1).
// From the captured OTLP/HTTP JSON batch (500 log records) and multipart report, pools of
// unique bodies are made before anything is timed:
//   - log batches: the install id (`service.instance.id`, one of 512) and every
//     timeUnixNano / observedTimeUnixNano shifted per batch (so no record is a duplicate of
//     another, for the backend's (install_id, time_ns, message) key), then compressed like
//     lib/upload/compress.cpp does (ZSTD_compress, level 3);
//   - reports: the report id (X-Telltale-Report and the manifest's report_id) and the
//     manifest's install_id made unique (so the report's log lines are new rows too).
// Requests carry the uploader's headers (lib/upload/uploader.cpp, transport.cpp):
// Content-Type: application/json, Content-Encoding: zstd, X-Telltale-Batch: <uuid>,
// Authorization: Bearer <token>, no Expect, User-Agent telltale/<version>; reports
// multipart/form-data with the captured boundary and X-Telltale-Report (lib/report/reports.cpp).
// libcurl, one easy handle per connection, reused: the connection is kept alive.
//
//   BM_backend_logs/<connections>   1 or 2 connections posting in parallel (2 uploaders).
//                                   10 warm-up batches, then kBatches batches of 500 records,
//                                   timed from the first send to the last answer.
//                                   items_per_second = log records per second (wall clock);
//                                   records_per_backend_cpu_s = records / backend CPU seconds;
//                                   backend_cores = backend CPU / wall time; latency per POST;
//                                   stored_records (counted in the database after the backend
//                                   stopped) must equal posted_records; duplicates answered 0.
//   BM_backend_duplicate            re-posting a batch id the backend already stored (a client
//                                   retry after a lost answer): kDupes posts of one stored
//                                   batch, each answered 200 with X-Telltale-Duplicate: true;
//                                   wall and backend CPU per post, next to a fresh batch's
//                                   (measured in the same run, same backend).
//   BM_backend_report/<storm>       kReports unique multipart reports, one connection;
//                                   items_per_second = reports per second; backend CPU per report.
//                                   /0 with --storm-threshold 1000000 (ordinary reports), /1 with
//                                   the default storm rule (an incident opens after 20 reports).
//   BM_backend_phases               the backend's own code (tsb_core, in this process, no HTTP):
//                                   per batch, zstd decode, parse_otlp, Store::add_batch on a
//                                   scratch database; µs per batch of each phase. Says where the
//                                   backend's CPU goes.
//
// TT_BENCH_BACKEND=/path/to/telltale-support-backend runs another build of the backend (to
// compare a change) instead of the one built with this benchmark.
//
// Manual time: the "Time" column is the timed region. Read the counters.
#include <curl/curl.h>
#include <httplib.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../common/spawn.hpp"
#include "bench_common.hpp"
#include "bench_mix.hpp"
#include "ingest.hpp"
#include "store.hpp"


namespace {

using namespace ttb;

constexpr int kBatchEvents = 500;  // records per upload batch (tt_options.upload_batch_events)
constexpr int kWarm = 10;          // batches or reports posted before the timed region
constexpr int kBatches = 120;      // timed batches per run: 60k records
constexpr int kReports = 150;      // timed reports per run
constexpr int kDupes = 100;        // duplicate posts per run
constexpr int kInstalls = 512;     // distinct install ids among the batches
constexpr char kToken[] = "bench-ingest-token-0123456789abcdef";

// ------------------------------------------------------------------ capture (once per process)

struct Captured {
    std::string logs_json;       // one OTLP/HTTP JSON logs batch, as the library encoded it
    std::string install_id;      // its service.instance.id
    std::string report_body;     // one multipart report, as the library sent it
    std::string report_type;     // its Content-Type (with the boundary)
    std::string report_id;       // its X-Telltale-Report
    std::string report_install;  // the manifest's install_id
    size_t report_log_lines = 0;
};

uint64_t count_of(const std::string &s, const char *needle) {
    uint64_t n = 0;
    size_t len = strlen(needle);
    for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + len)) ++n;
    return n;
}

std::string json_string_after(const std::string &s, const std::string &key) {  // "key":"value" -> value
    size_t at = s.find("\"" + key + "\":\"");
    if (at == std::string::npos) return {};
    at += key.size() + 4;
    return s.substr(at, s.find('"', at) - at);
}

const Captured &captured() {
    static const Captured cap = [] {
        Captured c;
        // The capture server: raw bodies. httplib would parse a multipart body itself; hide
        // the type from it, as the backend's server.cpp does.
        httplib::Server svr;
        std::mutex mu;
        std::vector<std::string> batches;
        svr.set_pre_routing_handler([](const httplib::Request &creq, httplib::Response &) {
            auto &req = const_cast<httplib::Request &>(creq);
            std::string ct = req.get_header_value("Content-Type");
            req.headers.erase("Content-Type");
            req.headers.emplace("Content-Type", "application/octet-stream");
            req.headers.emplace("X-Original-Type", ct);
            return httplib::Server::HandlerResponse::Unhandled;
        });
        svr.Post("/v1/logs", [&](const httplib::Request &req, httplib::Response &res) {
            std::lock_guard<std::mutex> lk(mu);
            batches.push_back(req.body);
            res.set_content("{}", "application/json");
        });
        svr.Post("/v1/traces", [](const httplib::Request &, httplib::Response &res) { res.set_content("{}", "application/json"); });
        svr.Post("/v1/reports", [&](const httplib::Request &req, httplib::Response &res) {
            std::lock_guard<std::mutex> lk(mu);
            c.report_body = req.body;
            c.report_type = req.get_header_value("X-Original-Type");
            c.report_id = req.get_header_value("X-Telltale-Report");
            res.set_content("{\"report_id\":\"" + c.report_id + "\",\"notice\":null}", "application/json");
        });
        int port = svr.bind_to_any_port("127.0.0.1");
        if (port <= 0) die("binding the capture server");
        std::thread th([&] { svr.listen_after_bind(); });
        while (!svr.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        std::string url = "http://127.0.0.1:" + std::to_string(port);

        std::string path = scratch_dir() + "/bench_backend_client.db";
        std::string attach = scratch_dir() + "/settings.json";
        {
            std::ofstream f(attach);
            f << "{\"sync\":{\"folders\":[\"Documents\",\"Photos\",\"Work/Shared\"],\"wifi_only\":true,\"paused\":false},";
            f << "\"account\":{\"plan\":\"family\",\"region\":\"eu-west\"},\"cache\":{\"max_mb\":2048,\"path\":\"/home/jane/.cache/sync\"}}\n";
        }
        remove_db(path);
        tt_options o = TT_OPTIONS_INIT;
        o.db_path = path.c_str();
        o.app_name = "bench_backend";
        o.app_version = "1.2.3";
        o.endpoint = url.c_str();
        o.auth_token = kToken;
        o.compression = TT_CODEC_NONE;  // captured plain; compressed below the way the library does
        o.upload_batch_events = kBatchEvents;
        o.upload_interval_ms = 3600 * 1000;
        o.full_policy = TT_FULL_BLOCK;
        tt_client *cl = nullptr;
        if (tt_open(&cl, &o) != TT_OK) die("tt_open");
        LogMix mix;
        for (int i = 0; i < 20; ++i) {
            log_mix(cl, mix, 25);
            tt_request *r = nullptr;
            if (tt_request_begin(&r, cl, i % 5 == 2 ? "POST" : "GET", i % 2 ? "https://api.example.com/api/v2/folders" : "https://files.example.com/api/v2/files/upload") != TT_OK)
                die("tt_request_begin");
            char id[40];
            snprintf(id, sizeof id, "req-%08x-%04x", unsigned(i * 2654435761u), unsigned(i));
            tt_request_header(r, "X-Request-Id", id);
            if (tt_request_end(r, i % 10 == 7 ? 503 : 200, nullptr) != TT_OK) die("tt_request_end");
        }
        if (tt_flush(cl, 60000) != TT_OK) die("tt_flush");
        tt_report_options ro = TT_REPORT_OPTIONS_INIT;
        ro.description = "Sync has been stuck at 97 % since this morning; I restarted the app twice.";
        ro.contact = "jane.doe@example.com";
        const char *atts[] = {attach.c_str()};
        ro.attachments = atts;
        ro.attachment_count = 1;
        char rid[TT_REPORT_ID_SIZE];
        if (tt_report_submit(cl, &ro, rid) != TT_OK) die("tt_report_submit");
        tt_report_state rs = TT_REPORT_PENDING;
        for (int i = 0; i < 30000 && rs != TT_REPORT_SENT; ++i) {
            if (tt_report_status(cl, rid, &rs) != TT_OK) die("tt_report_status");
            if (rs == TT_REPORT_FAILED) die("the capture report failed");
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        if (rs != TT_REPORT_SENT) die("waiting for the capture report");
        if (tt_consent_set(cl, TT_CONSENT_GRANTED, nullptr) != TT_OK) die("tt_consent_set");
        if (tt_upload_flush(cl, 60000) != TT_OK) die("tt_upload_flush");
        if (tt_close(cl, 30000) != TT_OK) die("tt_close");
        svr.stop();
        th.join();
        remove_db(path);
        unlink(attach.c_str());

        for (auto &b : batches)
            if (count_of(b, "\"severityNumber\":") == uint64_t(kBatchEvents)) c.logs_json = b;
        if (c.logs_json.empty()) {
            fprintf(stderr, "bench_backend: no captured batch of %d records (%zu batches)\n", kBatchEvents, batches.size());
            abort();
        }
        if (count_of(c.logs_json, "\"service.instance.id\"") == 0) abort();
        size_t at = c.logs_json.find("{\"key\":\"service.instance.id\",\"value\":{\"stringValue\":\"");
        if (at == std::string::npos) abort();
        at += strlen("{\"key\":\"service.instance.id\",\"value\":{\"stringValue\":\"");
        c.install_id = c.logs_json.substr(at, c.logs_json.find('"', at) - at);
        c.report_install = json_string_after(c.report_body, "install_id");
        if (c.report_id.size() != 36 || c.install_id.size() < 12 || c.report_install.size() < 12 || c.report_body.empty()) {
            fprintf(stderr, "bench_backend: capture incomplete (report id \"%s\", install \"%s\")\n", c.report_id.c_str(), c.install_id.c_str());
            abort();
        }
        c.report_log_lines = 0;
        const char *key = "\"logs\":{\"part\":\"logs.ndjson.zst\",\"events\":";
        size_t k = c.report_body.find(key);
        if (k != std::string::npos) c.report_log_lines = strtoull(c.report_body.c_str() + k + strlen(key), nullptr, 10);
        return c;
    }();
    return cap;
}

// ------------------------------------------------------------------ the pools

// `id` with its last 8 characters replaced by n in hex: a unique id of the same length and shape.
std::string variant(const std::string &id, uint32_t n) {
    char tail[9];
    snprintf(tail, sizeof tail, "%08x", n);
    return id.substr(0, id.size() - 8) + tail;
}

void replace_all(std::string &s, const std::string &from, const std::string &to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
}

std::string uuid_of(uint64_t salt, uint64_t n) {
    char b[40];
    snprintf(b, sizeof b, "%08x-%04x-4%03x-8%03x-%012llx", unsigned(salt), unsigned(n >> 16) & 0xffff, unsigned(n >> 4) & 0xfff,
             unsigned(n & 0xf), static_cast<unsigned long long>(n * 2654435761ull & 0xffffffffffffull));
    return b;
}

std::string zstd3(const std::string &in) {
    std::string out(ZSTD_compressBound(in.size()), '\0');
    size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
    if (ZSTD_isError(n)) abort();
    out.resize(n);
    return out;
}

struct LogBatch {
    std::string id, body;  // body: zstd
    size_t json_bytes = 0;
};

// Batch i: install id i % kInstalls, every timestamp + i seconds.
LogBatch make_batch(const Captured &c, int i) {
    std::string j = c.logs_json;
    replace_all(j, c.install_id, variant(c.install_id, uint32_t(i % kInstalls)));
    const int64_t shift = int64_t(i) * 1'000'000'000;
    for (size_t at = j.find("UnixNano\":\""); at != std::string::npos; at = j.find("UnixNano\":\"", at + 1)) {
        size_t b = at + 11, e = j.find('"', b);
        int64_t t = strtoll(j.c_str() + b, nullptr, 10) + shift;
        j.replace(b, e - b, std::to_string(t));
    }
    LogBatch lb;
    lb.id = uuid_of(0xba7c4, uint64_t(i));
    lb.json_bytes = j.size();
    lb.body = zstd3(j);
    return lb;
}

const std::vector<LogBatch> &batch_pool() {
    static const std::vector<LogBatch> pool = [] {
        const Captured &c = captured();
        std::vector<LogBatch> v;
        for (int i = 0; i < kWarm + kBatches; ++i) v.push_back(make_batch(c, i));
        return v;
    }();
    return pool;
}

struct ReportBody {
    std::string id, body;
};

const std::vector<ReportBody> &report_pool() {
    static const std::vector<ReportBody> pool = [] {
        const Captured &c = captured();
        std::vector<ReportBody> v;
        for (int i = 0; i < kWarm + kReports; ++i) {
            ReportBody r;
            r.id = variant(c.report_id, uint32_t(i));
            r.body = c.report_body;
            replace_all(r.body, c.report_id, r.id);  // manifest.json's report_id (same length: the multipart stays whole)
            replace_all(r.body, c.report_install, variant(c.report_install, uint32_t(i)));
            v.push_back(std::move(r));
        }
        return v;
    }();
    return pool;
}

// ------------------------------------------------------------------ the backend process

uint64_t proc_cpu_ticks(pid_t pid) {  // utime + stime of every thread, live and exited
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    size_t p = s.rfind(')');
    if (p == std::string::npos) return 0;
    std::istringstream in(s.substr(p + 2));
    std::string field;
    uint64_t ut = 0, st = 0;
    for (int i = 3; i <= 15 && in >> field; ++i) {  // field 3 is the state; 14 utime, 15 stime
        if (i == 14) ut = strtoull(field.c_str(), nullptr, 10);
        if (i == 15) st = strtoull(field.c_str(), nullptr, 10);
    }
    return ut + st;
}
double ticks_to_s(uint64_t t) { return double(t) / double(sysconf(_SC_CLK_TCK)); }

// CPU time of the live threads in ns (/proc/<pid>/task/*/schedstat, first field): finer than
// the ticks of /proc/<pid>/stat, reported next to them as a cross-check.
uint64_t proc_sched_ns(pid_t pid) {
    uint64_t sum = 0;
    std::string dir = "/proc/" + std::to_string(pid) + "/task";
    if (DIR *d = opendir(dir.c_str())) {
        while (dirent *e = readdir(d)) {
            if (e->d_name[0] == '.') continue;
            std::ifstream f(dir + "/" + e->d_name + "/schedstat");
            uint64_t ns = 0;
            if (f >> ns) sum += ns;
        }
        closedir(d);
    }
    return sum;
}

struct Backend {
    pid_t pid = -1;
    std::string url, db;
    explicit Backend(const std::string &name, std::vector<std::string> extra = {}) {
        db = scratch_dir() + "/" + name;
        remove_db(db);
        const char *bin = getenv("TT_BENCH_BACKEND");  // another build of the backend, to compare
        std::vector<std::string> args = {bin && *bin ? bin : TSB_BACKEND_PATH, "--listen", "127.0.0.1:0", "--db", db, "--ingest-token", kToken};
        args.insert(args.end(), extra.begin(), extra.end());
        int err = 0;
        FILE *out = tt_test::spawn_reading_stdout(args, pid, &err);
        if (!out) {
            fprintf(stderr, "bench_backend: cannot start %s: %s\n", args[0].c_str(), strerror(err));
            abort();
        }
        char line[512] = "";
        if (!fgets(line, sizeof line, out)) {
            fprintf(stderr, "bench_backend: the backend said nothing\n");
            abort();
        }
        fclose(out);  // it prints once more, when it stops: SIGPIPE is ignored there
        std::string l = line;
        size_t at = l.find("http://");
        if (at == std::string::npos) abort();
        url = l.substr(at, l.find(' ', at) - at);
    }
    void stop() {
        if (pid < 0) return;
        kill(pid, SIGTERM);
        int st = 0;
        waitpid(pid, &st, 0);
        pid = -1;
    }
    ~Backend() {
        stop();
        remove_db(db);
    }
    uint64_t rows(const char *sql) const {
        sqlite3 *d = nullptr;
        uint64_t n = 0;
        if (sqlite3_open_v2(db.c_str(), &d, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
            sqlite3_stmt *s = nullptr;
            if (sqlite3_prepare_v2(d, sql, -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) n = uint64_t(sqlite3_column_int64(s, 0));
            sqlite3_finalize(s);
        }
        sqlite3_close(d);
        return n;
    }
};

// ------------------------------------------------------------------ the client

struct Poster {
    CURL *e = curl_easy_init();
    std::string answer;
    bool duplicate = false;
    long connections = 0;  // opened so far: 1 when keep-alive works
    Poster() {
        if (!e) abort();
    }
    ~Poster() { curl_easy_cleanup(e); }
    static size_t on_body(char *p, size_t s, size_t n, void *u) {
        auto *self = static_cast<Poster *>(u);
        if (self->answer.size() < 4096) self->answer.append(p, s * n);
        return s * n;
    }
    static size_t on_header(char *p, size_t s, size_t n, void *u) {
        auto *self = static_cast<Poster *>(u);
        if (s * n >= 26 && strncasecmp(p, "X-Telltale-Duplicate: true", 26) == 0) self->duplicate = true;
        return s * n;
    }
    // POSTs and returns the status; the connection stays open for the next one.
    long post(const std::string &url, const std::vector<std::string> &headers, const std::string &body) {
        curl_slist *h = nullptr;
        for (auto &x : headers) h = curl_slist_append(h, x.c_str());
        h = curl_slist_append(h, "Expect:");
        answer.clear();
        duplicate = false;
        curl_easy_setopt(e, CURLOPT_URL, url.c_str());
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data());
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.size()));
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, this);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, this);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 60000L);
        curl_easy_setopt(e, CURLOPT_USERAGENT, (std::string("telltale/") + tt_version()).c_str());
        CURLcode rc = curl_easy_perform(e);
        curl_slist_free_all(h);
        long status = 0, fresh = 0;
        if (rc == CURLE_OK) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &fresh);  // new connections this transfer made
        connections += fresh;
        if (status != 200) {
            fprintf(stderr, "bench_backend: POST %s: %s, HTTP %ld: %s\n", url.c_str(), curl_easy_strerror(rc), status, answer.c_str());
            abort();
        }
        return status;
    }
    long post_batch(const std::string &base, const LogBatch &b) {
        return post(base + "/v1/logs", {"Content-Type: application/json", "X-Telltale-Batch: " + b.id, "Content-Encoding: zstd",
                                        std::string("Authorization: Bearer ") + kToken},
                    b.body);
    }
    long post_report(const std::string &base, const ReportBody &r) {
        return post(base + "/v1/reports", {"Content-Type: " + captured().report_type, "X-Telltale-Report: " + r.id,
                                           std::string("Authorization: Bearer ") + kToken},
                    r.body);
    }
};

double pct_ms(std::vector<uint64_t> v, double q) {
    if (v.empty()) return 0;
    size_t k = std::min(v.size() - 1, size_t(q * double(v.size())));
    std::nth_element(v.begin(), v.begin() + long(k), v.end());
    return double(v[k]) * 1e-6;
}

struct BackendCpu {
    pid_t pid;
    uint64_t ticks0, sched0;
    explicit BackendCpu(pid_t p) : pid(p), ticks0(proc_cpu_ticks(p)), sched0(proc_sched_ns(p)) {}
    double seconds() const { return ticks_to_s(proc_cpu_ticks(pid) - ticks0); }
    double sched_seconds() const { return double(proc_sched_ns(pid) - sched0) * 1e-9; }
};

// ------------------------------------------------------------------ benchmarks

void BM_backend_logs(benchmark::State &state) {
    const int conns = int(state.range(0));
    const auto &pool = batch_pool();
    for (auto _ : state) {
        Backend be("bench_backend.db");
        {
            Poster warm;
            for (int i = 0; i < kWarm; ++i) warm.post_batch(be.url, pool[size_t(i)]);
        }
        std::vector<std::vector<uint64_t>> lat(static_cast<size_t>(conns));
        std::atomic<uint64_t> dups{0}, connects{0};
        uint64_t pcpu0 = process_cpu_ns();
        BackendCpu cpu(be.pid);
        uint64_t t0 = mono_ns();
        std::vector<std::thread> th;
        for (int k = 0; k < conns; ++k)
            th.emplace_back([&, k] {
                Poster p;
                for (int i = kWarm + k; i < kWarm + kBatches; i += conns) {
                    uint64_t a = mono_ns();
                    p.post_batch(be.url, pool[size_t(i)]);
                    lat[size_t(k)].push_back(mono_ns() - a);
                    dups += p.duplicate;
                }
                connects += uint64_t(p.connections);
            });
        for (auto &t : th) t.join();
        uint64_t t1 = mono_ns();
        double bcpu = cpu.seconds(), bsched = cpu.sched_seconds();
        double ccpu = double(process_cpu_ns() - pcpu0) * 1e-9;
        state.SetIterationTime(double(t1 - t0) * 1e-9);
        be.stop();

        std::vector<uint64_t> all;
        for (auto &v : lat) all.insert(all.end(), v.begin(), v.end());
        double records = double(kBatches) * kBatchEvents, wall = double(t1 - t0) * 1e-9;
        size_t body = 0, json = 0;
        for (int i = kWarm; i < kWarm + kBatches; ++i) body += pool[size_t(i)].body.size(), json += pool[size_t(i)].json_bytes;
        state.SetItemsProcessed(int64_t(records));
        state.counters["records_per_s"] = records / wall;
        state.counters["backend_cpu_s"] = bcpu;
        state.counters["backend_cpu_s_schedstat"] = bsched;
        state.counters["records_per_backend_cpu_s"] = records / bcpu;
        state.counters["backend_cpu_us_per_record"] = bcpu * 1e6 / records;
        state.counters["backend_cores"] = bcpu / wall;
        state.counters["client_cpu_us_per_record"] = ccpu * 1e6 / records;
        state.counters["post_median_ms"] = pct_ms(all, 0.5);
        state.counters["post_p99_ms"] = pct_ms(all, 0.99);
        state.counters["body_bytes_per_record"] = double(body) / records;
        state.counters["json_bytes_per_record"] = double(json) / records;
        state.counters["posted_records"] = records + double(kWarm) * kBatchEvents;
        state.counters["stored_records"] = double(be.rows("SELECT count(*) FROM logs"));
        state.counters["duplicates_answered"] = double(dups.load());
        state.counters["connections_opened"] = double(connects.load());
        state.counters["db_bytes_per_record"] =
            double(file_size(be.db) + file_size(be.db + "-wal")) / (records + double(kWarm) * kBatchEvents);
    }
}

void BM_backend_duplicate(benchmark::State &state) {
    const auto &pool = batch_pool();
    for (auto _ : state) {
        Backend be("bench_backend_dup.db");
        Poster p;
        for (int i = 0; i < kWarm; ++i) p.post_batch(be.url, pool[size_t(i)]);
        // Fresh batches first, for comparison on the same backend and connection.
        const int fresh_n = 40;
        BackendCpu fc(be.pid);
        uint64_t f0 = mono_ns();
        for (int i = kWarm; i < kWarm + fresh_n; ++i) p.post_batch(be.url, pool[size_t(i)]);
        uint64_t f1 = mono_ns();
        double fresh_cpu = fc.seconds(), fresh_sched = fc.sched_seconds();
        uint64_t stored = 0;
        std::vector<uint64_t> lat;
        uint64_t dups = 0;
        BackendCpu dc(be.pid);
        uint64_t t0 = mono_ns();
        for (int i = 0; i < kDupes; ++i) {
            uint64_t a = mono_ns();
            p.post_batch(be.url, pool[size_t(kWarm + i % fresh_n)]);  // already stored
            lat.push_back(mono_ns() - a);
            dups += p.duplicate;
        }
        uint64_t t1 = mono_ns();
        double dup_cpu = dc.seconds(), dup_sched = dc.sched_seconds();
        state.SetIterationTime(double(t1 - t0) * 1e-9);
        be.stop();
        stored = be.rows("SELECT count(*) FROM logs");
        state.SetItemsProcessed(kDupes);
        state.counters["dup_wall_ms_per_post"] = double(t1 - t0) * 1e-6 / kDupes;
        state.counters["dup_backend_cpu_ms_per_post"] = dup_cpu * 1e3 / kDupes;
        state.counters["dup_backend_cpu_ms_per_post_schedstat"] = dup_sched * 1e3 / kDupes;
        state.counters["dup_post_median_ms"] = pct_ms(lat, 0.5);
        state.counters["fresh_wall_ms_per_post"] = double(f1 - f0) * 1e-6 / fresh_n;
        state.counters["fresh_backend_cpu_ms_per_post"] = fresh_cpu * 1e3 / fresh_n;
        state.counters["fresh_backend_cpu_ms_per_post_schedstat"] = fresh_sched * 1e3 / fresh_n;
        state.counters["dup_over_fresh_cpu"] = (dup_sched / kDupes) / (fresh_sched / fresh_n);
        state.counters["duplicates_answered"] = double(dups);
        state.counters["stored_records"] = double(stored);
        state.counters["expected_records"] = double(kWarm + fresh_n) * kBatchEvents;
        state.counters["connections_opened"] = double(p.connections);
    }
}

void BM_backend_report(benchmark::State &state) {
    const auto &pool = report_pool();
    const bool storm_rule = state.range(0) != 0;
    for (auto _ : state) {
        // /0: a storm threshold above the run, the path of an ordinary report. /1: the default
        // rule (more than 20 reports in 10 minutes): an incident opens after the 21st report
        // and every later one is diagnosed against it, as in a real storm.
        std::vector<std::string> extra;
        if (!storm_rule) extra = {"--storm-threshold", "1000000"};
        Backend be("bench_backend_report.db", extra);
        Poster p;
        for (int i = 0; i < kWarm; ++i) p.post_report(be.url, pool[size_t(i)]);
        std::vector<uint64_t> lat;
        uint64_t dups = 0;
        uint64_t pcpu0 = process_cpu_ns();
        BackendCpu cpu(be.pid);
        uint64_t t0 = mono_ns();
        for (int i = kWarm; i < kWarm + kReports; ++i) {
            uint64_t a = mono_ns();
            p.post_report(be.url, pool[size_t(i)]);
            lat.push_back(mono_ns() - a);
            dups += p.answer.find("\"duplicate\":true") != std::string::npos;
        }
        uint64_t t1 = mono_ns();
        double bcpu = cpu.seconds(), bsched = cpu.sched_seconds();
        double ccpu = double(process_cpu_ns() - pcpu0) * 1e-9;
        state.SetIterationTime(double(t1 - t0) * 1e-9);
        be.stop();
        double wall = double(t1 - t0) * 1e-9;
        state.SetItemsProcessed(kReports);
        state.counters["reports_per_s"] = kReports / wall;
        state.counters["reports_per_backend_cpu_s"] = kReports / bcpu;
        state.counters["backend_cpu_ms_per_report"] = bcpu * 1e3 / kReports;
        state.counters["backend_cpu_ms_per_report_schedstat"] = bsched * 1e3 / kReports;
        state.counters["client_cpu_ms_per_report"] = ccpu * 1e3 / kReports;
        state.counters["post_median_ms"] = pct_ms(lat, 0.5);
        state.counters["post_p99_ms"] = pct_ms(lat, 0.99);
        state.counters["body_bytes"] = double(pool[0].body.size());
        state.counters["report_log_lines"] = double(captured().report_log_lines);
        state.counters["stored_reports"] = double(be.rows("SELECT count(*) FROM reports"));
        state.counters["stored_report_logs"] = double(be.rows("SELECT count(*) FROM logs WHERE source='report'"));
        state.counters["duplicates_answered"] = double(dups);
        state.counters["connections_opened"] = double(p.connections);
        state.counters["incident_open"] = double(be.rows("SELECT count(*) FROM incidents WHERE closed_ns IS NULL"));
    }
}

// The backend's phases on this process's CPU, no HTTP: decode, parse, store.
void BM_backend_phases(benchmark::State &state) {
    const auto &pool = batch_pool();
    std::string db = scratch_dir() + "/bench_backend_phases.db";
    for (auto _ : state) {
        remove_db(db);
        uint64_t dec = 0, parse = 0, store = 0;
        {
            tsb::Store st(db);
            for (int i = 0; i < kWarm + kBatches; ++i) {
                const LogBatch &b = pool[size_t(i)];
                uint64_t a = this_thread_cpu_ns();
                std::string body;
                if (tsb::decode_all("zstd", b.body, 16u << 20, body) != tsb::Decoder::Result::kOk) abort();
                uint64_t c = this_thread_cpu_ns();
                tsb::Batch parsed;
                if (tsb::parse_otlp(body, false, parsed)) abort();
                uint64_t d = this_thread_cpu_ns();
                if (!st.add_batch(b.id, false, parsed, "127.0.0.1", int64_t(mono_ns()))) abort();
                uint64_t e = this_thread_cpu_ns();
                if (i >= kWarm) dec += c - a, parse += d - c, store += e - d;
            }
        }
        double records = double(kBatches) * kBatchEvents;
        state.SetIterationTime(double(dec + parse + store) * 1e-9);
        state.SetItemsProcessed(int64_t(records));
        state.counters["decode_us_per_batch"] = double(dec) * 1e-3 / kBatches;
        state.counters["parse_us_per_batch"] = double(parse) * 1e-3 / kBatches;
        state.counters["store_us_per_batch"] = double(store) * 1e-3 / kBatches;
        state.counters["decode_ns_per_record"] = double(dec) / records;
        state.counters["parse_ns_per_record"] = double(parse) / records;
        state.counters["store_ns_per_record"] = double(store) / records;
        state.counters["records_per_cpu_s"] = records / (double(dec + parse + store) * 1e-9);
    }
    remove_db(db);
}

}  // namespace

BENCHMARK(BM_backend_logs)->Arg(1)->Arg(2)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_backend_duplicate)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_backend_report)->Arg(0)->Arg(1)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_backend_phases)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
