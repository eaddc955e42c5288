// bench_store: what the buffer costs on disk and at open.
//
//   BM_store_bytes_per_event   100k realistic events (mixed levels, messages of 11 to
//                              ~90 bytes, 0 to 5 attributes incl. request ids), logged,
//                              closed; (db + wal file size) / events. For scale it also
//                              reports the payload (message + keys + values) per event
//                              and what spdlog's default text line for it would take.
//   BM_store_open/50           tt_open alone on an existing buffer of >= 50 MiB (made
//                              once, reused), page cache warm; tt_close and the first
//                              tt_stats_get (which counts the events) timed apart.
//   BM_store_open/0            the same on a file that does not exist yet.
// RSS of an idle client is measured by tt_rss (a fresh process), see rss.c.
#include <cinttypes>
#include <cstring>
#include <string>
#include <vector>

#include "bench_common.hpp"

namespace {

using namespace ttb;

// Deterministic stream of plausible client events.
class EventGen {
public:
    struct Event {
        tt_level level;
        const char *msg;
        tt_attr attrs[5];
        size_t n;
    };

    const Event &next() {
        uint64_t r = rnd();
        Event &e = ev_;
        e.n = 0;
        e.level = TT_INFO;
        switch (r % 8) {
        case 0:
        case 1:
        case 2: {  // an HTTP call and its outcome
            static const char *const paths[] = {"/api/v2/folders", "/api/v2/sync/changes", "/api/v2/account", "/api/v2/files/upload"};
            const char *p = paths[(r >> 8) % 4];
            unsigned ms = unsigned((r >> 16) % 900) + 12;
            int status = (r >> 32) % 50 == 0 ? 503 : 200;
            if (status != 200) e.level = TT_WARN;
            snprintf(msg_, sizeof msg_, "GET %s%s -> %d in %u ms", p, (r >> 40) % 2 ? "?page=2" : "", status, ms);
            uuid(reqid_, r);
            snprintf(a1_, sizeof a1_, "%d", status);
            snprintf(a2_, sizeof a2_, "%u", ms);
            add("http.method", "GET");
            add("http.status_code", a1_);
            add("server.request_id", reqid_);
            add("duration_ms", a2_);
            break;
        }
        case 3: {  // UI navigation
            static const char *const screens[] = {"home", "settings/sync", "settings/account", "folder", "share-dialog"};
            snprintf(msg_, sizeof msg_, "user opened screen %s", screens[(r >> 8) % 5]);
            add("screen", screens[(r >> 8) % 5]);
            add("user", "u-4242");
            break;
        }
        case 4: {  // background sync
            snprintf(msg_, sizeof msg_, "sync finished: %u files, %u bytes, %u conflicts", unsigned(r >> 8) % 300,
                     unsigned(r >> 20) % 5000000, unsigned(r >> 50) % 3);
            snprintf(a1_, sizeof a1_, "f-%08" PRIx64, (r >> 12) & 0xffffffffu);
            add("folder_id", a1_);
            add("trigger", (r >> 44) % 2 ? "timer" : "file-change");
            break;
        }
        case 5:  // debug chatter, no attributes
            e.level = TT_DEBUG;
            snprintf(msg_, sizeof msg_, "cache: %u entries, hit ratio %u%%", unsigned(r >> 8) % 10000, unsigned(r >> 24) % 100);
            break;
        case 6: {  // an error with context
            e.level = (r >> 8) % 4 == 0 ? TT_ERROR : TT_WARN;
            snprintf(a1_, sizeof a1_, "%u", unsigned(r >> 12) % 5 + 1);
            snprintf(msg_, sizeof msg_, "upload failed: connection reset by peer, retrying (attempt %s of 5)", a1_);
            uuid(reqid_, r * 31);
            add("attempt", a1_);
            add("error", "ECONNRESET");
            add("server.request_id", reqid_);
            break;
        }
        default:
            snprintf(msg_, sizeof msg_, "%s", (r >> 8) % 2 ? "app resumed" : "network changed: wifi");
            if ((r >> 9) % 2) add("network", "wifi");
            break;
        }
        e.msg = msg_;
        return e;
    }

private:
    uint64_t rnd() {  // xorshift64*
        s_ ^= s_ >> 12;
        s_ ^= s_ << 25;
        s_ ^= s_ >> 27;
        return s_ * 2685821657736338717ull;
    }
    void uuid(char *out, uint64_t r) {
        uint64_t b = rnd() ^ r;
        snprintf(out, 37, "%08" PRIx64 "-%04" PRIx64 "-4%03" PRIx64 "-a%03" PRIx64 "-%012" PRIx64, b & 0xffffffffu, (b >> 32) & 0xffff,
                 (b >> 48) & 0xfff, r & 0xfff, uint64_t((r * 0x9E3779B97F4A7C15ull) & 0xffffffffffffull));
    }
    void add(const char *k, const char *v) { ev_.attrs[ev_.n++] = {k, v}; }

    uint64_t s_ = 0x9E3779B97F4A7C15ull;
    Event ev_{};
    char msg_[128], a1_[32], a2_[32], reqid_[40];
};

tt_client *open_client(const std::string &path, tt_full_policy policy) {
    tt_options o = TT_OPTIONS_INIT;
    o.db_path = path.c_str();
    o.app_name = "bench_store";
    o.app_version = "1.2.3";
    o.max_db_bytes = 256ull << 20;  // above everything we write: no retention
    o.queue_bytes = 8u << 20;
    o.full_policy = policy;
    tt_client *c = nullptr;
    if (tt_open(&c, &o) != TT_OK) die("tt_open");
    return c;
}

void log_events(tt_client *c, EventGen &gen, int n, uint64_t *payload, uint64_t *text) {
    for (int i = 0; i < n; ++i) {
        const EventGen::Event &e = gen.next();
        if (tt_log_attrs(c, e.level, e.msg, e.attrs, e.n) != TT_OK) die("tt_log_attrs");
        if (payload) {
            uint64_t p = strlen(e.msg);
            uint64_t t = 26 + strlen("[bench_store] [info] ") + p + 1;  // "[2024-05-01 12:34:56.789] [bench_store] [info] msg k=v\n"
            for (size_t j = 0; j < e.n; ++j) {
                size_t kv = strlen(e.attrs[j].key) + strlen(e.attrs[j].value);
                p += kv;
                t += kv + 2;
            }
            *payload += p;
            *text += t;
        }
    }
}

void BM_store_bytes_per_event(benchmark::State &state) {
    constexpr int kN = 100000;
    std::string path = scratch_dir() + "/bench_store_size.db";
    for (auto _ : state) {
        remove_db(path);
        EventGen gen;
        uint64_t payload = 0, text = 0;
        uint64_t t0 = mono_ns();
        tt_client *c = open_client(path, TT_FULL_BLOCK);
        log_events(c, gen, kN, &payload, &text);
        if (tt_flush(c, 120000) != TT_OK) die("tt_flush");
        tt_stats s = stats_of(c);
        if (tt_close(c, 60000) != TT_OK) die("tt_close");
        uint64_t t1 = mono_ns();
        state.SetIterationTime(double(t1 - t0) * 1e-9);
        uint64_t bytes = file_size(path) + file_size(path + "-wal");
        state.counters["events"] = double(s.stored);
        state.counters["dropped"] = double(s.dropped);
        state.counters["file_bytes"] = double(bytes);
        state.counters["bytes_per_event"] = double(bytes) / double(s.stored);
        state.counters["payload_bytes_per_event"] = double(payload) / kN;
        state.counters["text_log_bytes_per_event"] = double(text) / kN;
    }
    remove_db(path);
}

// The >= 50 MiB buffer, made on first use and kept for the run (run.sh removes it).
const std::string &big_buffer() {
    static const std::string path = [] {
        std::string p = scratch_dir() + "/bench_store_50mb.db";
        if (file_size(p) >= (50ull << 20)) return p;
        remove_db(p);
        tt_client *c = open_client(p, TT_FULL_BLOCK);
        EventGen gen;
        for (;;) {
            log_events(c, gen, 50000, nullptr, nullptr);
            if (tt_flush(c, 120000) != TT_OK) die("tt_flush");
            if (stats_of(c).db_bytes >= (50ull << 20)) break;
        }
        if (tt_close(c, 60000) != TT_OK) die("tt_close");
        return p;
    }();
    return path;
}

void BM_store_open(benchmark::State &state) {
    const bool existing = state.range(0) != 0;
    std::string path = existing ? big_buffer() : scratch_dir() + "/bench_store_new.db";
    std::vector<uint64_t> open_ns, close_ns, stats_ns;
    uint64_t events = 0;
    for (auto _ : state) {
        if (!existing) remove_db(path);
        tt_options o = TT_OPTIONS_INIT;
        o.db_path = path.c_str();
        o.app_name = "bench_store";
        o.max_db_bytes = 256ull << 20;
        tt_client *c = nullptr;
        uint64_t t0 = mono_ns();
        tt_status st = tt_open(&c, &o);
        uint64_t t1 = mono_ns();
        if (st != TT_OK) die("tt_open");
        state.SetIterationTime(double(t1 - t0) * 1e-9);
        open_ns.push_back(t1 - t0);
        uint64_t t2 = mono_ns();
        events = stats_of(c).events;
        uint64_t t3 = mono_ns();
        stats_ns.push_back(t3 - t2);
        uint64_t t4 = mono_ns();
        if (tt_close(c, 60000) != TT_OK) die("tt_close");
        close_ns.push_back(mono_ns() - t4);
    }
    uint64_t db_bytes = file_size(path);
    if (!existing) remove_db(path);
    auto ms = [](std::vector<uint64_t> &v, double q) {
        size_t k = std::min(v.size() - 1, size_t(q * double(v.size())));
        std::nth_element(v.begin(), v.begin() + long(k), v.end());
        return double(v[k]) * 1e-6;
    };
    state.counters["open_median_ms"] = ms(open_ns, 0.5);
    state.counters["open_max_ms"] = ms(open_ns, 1.0);
    state.counters["close_median_ms"] = ms(close_ns, 0.5);
    state.counters["first_stats_median_ms"] = ms(stats_ns, 0.5);
    state.counters["db_bytes"] = double(db_bytes);
    state.counters["events"] = double(events);
}

}  // namespace

BENCHMARK(BM_store_bytes_per_event)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_store_open)->Arg(0)->Arg(50)->Iterations(30)->UseManualTime()->Unit(benchmark::kMillisecond);
