// A realistic mix of client log lines for the upload and report benchmarks: what a sync
// app logs in a working day, deterministic (same seed, same stream), so byte counts are
// comparable run to run and codec to codec.
//
//   ~30 %  user actions     "user tapped \"Sync now\" on settings/sync", screen, user, action
//   ~35 %  HTTP calls       "POST /api/v2/files/upload -> 201 in 143 ms", method, status,
//                           server.request_id (a UUID), trace_id (32 hex), duration, host;
//                           1 in 40 a 5xx (WARN)
//   ~15 %  background       sync summaries (INFO), cache statistics (DEBUG, no attributes)
//    ~8 %  errors           ERROR/WARN with stack-ish text: an exception line and 3 to 6
//                           "  at Class::method(file.cpp:NNN)" frames; error.type, attempt,
//                           file_id, server.request_id
//   ~12 %  lifecycle        "app resumed", "network changed: wifi -> cellular", ...
//
// One in 64 user actions names an e-mail address and one in 32 HTTP calls has a token in
// its query, so the report's scrubber has something to do (as in real logs).
#pragma once
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "telltale/telltale.h"

namespace ttb {

class LogMix {
public:
    struct Event {
        tt_level level;
        const char *msg;
        tt_attr attrs[6];
        size_t n;
    };

    const Event &next() {
        uint64_t r = rnd();
        Event &e = ev_;
        e.n = 0;
        e.level = TT_INFO;
        unsigned kind = unsigned(r % 100);
        if (kind < 30) user_action(r);
        else if (kind < 65) http_call(r);
        else if (kind < 72) sync_summary(r);
        else if (kind < 80) cache_stats(r);
        else if (kind < 88) error(r);
        else lifecycle(r);
        e.msg = msg_;
        return e;
    }

private:
    static constexpr const char *kScreens[] = {"home", "settings/sync", "settings/account", "folder", "share-dialog", "search", "photos"};
    static constexpr const char *kActions[] = {"Sync now", "Share", "Rename", "Delete", "Open", "Upload", "Sign out", "Retry"};
    static constexpr const char *kPaths[] = {"/api/v2/folders", "/api/v2/sync/changes", "/api/v2/account", "/api/v2/files/upload",
                                             "/api/v2/files/download", "/api/v2/shares", "/api/v2/thumbnails"};
    static constexpr const char *kMethods[] = {"GET", "GET", "GET", "POST", "GET", "PUT", "GET"};
    static constexpr const char *kHosts[] = {"api.example.com", "files.example.com", "thumbs.example.com"};
    static constexpr const char *kErrors[] = {"std::system_error: Connection reset by peer", "sqlite: database is locked",
                                              "HttpError: 503 Service Unavailable", "std::bad_alloc",
                                              "json: parse error at byte 4096: unexpected end of input",
                                              "io: No space left on device"};
    static constexpr const char *kErrTypes[] = {"ECONNRESET", "SQLITE_BUSY", "HTTP_503", "ENOMEM", "PARSE", "ENOSPC"};
    static constexpr const char *kFrames[] = {"SyncEngine::uploadChunk(sync_engine.cpp:", "SyncEngine::run(sync_engine.cpp:",
                                              "HttpClient::perform(http_client.cpp:", "Store::commit(store.cpp:",
                                              "ThumbnailCache::load(thumbs.cpp:", "JsonReader::parse(json_reader.cpp:",
                                              "TaskQueue::drain(task_queue.cpp:", "std::thread::_State_impl<...>::_M_run(thread:"};

    void user_action(uint64_t r) {
        const char *screen = kScreens[(r >> 8) % 7], *action = kActions[(r >> 12) % 8];
        if ((r >> 20) % 64 == 0)
            snprintf(msg_, sizeof msg_, "user signed in as jane.doe%u@example.com on %s", unsigned(r >> 26) % 100, screen);
        else
            snprintf(msg_, sizeof msg_, "user tapped \"%s\" on %s", action, screen);
        snprintf(a1_, sizeof a1_, "u-%04u", unsigned(r >> 32) % 50);  // a few users share the device pool
        add("screen", screen);
        add("user", a1_);
        add("action", action);
    }

    void http_call(uint64_t r) {
        unsigned p = unsigned(r >> 8) % 7;
        unsigned ms = unsigned((r >> 16) % 900) + 12;
        int status = (r >> 32) % 40 == 0 ? 503 : kMethods[p][0] == 'P' && kMethods[p][1] == 'O' ? 201 : 200;
        if (status >= 500) ev_.level = TT_WARN;
        const char *query = (r >> 40) % 32 == 0 ? "?access_token=eyJhbGciOiJIUzI1NiJ9.c2VjcmV0" : (r >> 40) % 3 == 0 ? "?page=2" : "";
        snprintf(msg_, sizeof msg_, "%s %s%s -> %d in %u ms", kMethods[p], kPaths[p], query, status, ms);
        uuid(reqid_);
        hex(trace_, 32);
        snprintf(a2_, sizeof a2_, "%d", status);
        snprintf(a3_, sizeof a3_, "%u", ms);
        add("http.method", kMethods[p]);
        add("http.status_code", a2_);
        add("server.request_id", reqid_);
        add("trace_id", trace_);
        add("duration_ms", a3_);
        add("server.address", kHosts[(r >> 48) % 3]);
    }

    void sync_summary(uint64_t r) {
        snprintf(msg_, sizeof msg_, "sync finished: %u files, %u bytes, %u conflicts in %u ms", unsigned(r >> 8) % 300,
                 unsigned(r >> 20) % 5000000, unsigned(r >> 50) % 3, unsigned(r >> 40) % 4000);
        snprintf(a1_, sizeof a1_, "f-%08" PRIx64, (r >> 12) & 0xffffffffu);
        add("folder_id", a1_);
        add("trigger", (r >> 44) % 2 ? "timer" : "file-change");
    }

    void cache_stats(uint64_t r) {
        ev_.level = TT_DEBUG;
        snprintf(msg_, sizeof msg_, "cache: %u entries, %u KiB, hit ratio %u%%", unsigned(r >> 8) % 10000, unsigned(r >> 24) % 65536,
                 unsigned(r >> 40) % 100);
    }

    void error(uint64_t r) {
        ev_.level = (r >> 8) % 3 == 0 ? TT_WARN : TT_ERROR;
        unsigned k = unsigned(r >> 12) % 6;
        unsigned frames = 3 + unsigned(r >> 16) % 4;
        int at = snprintf(msg_, sizeof msg_, "upload of chunk %u failed: %s", unsigned(r >> 20) % 64, kErrors[k]);
        for (unsigned i = 0; i < frames && at < int(sizeof msg_) - 80; ++i)
            at += snprintf(msg_ + at, sizeof msg_ - size_t(at), "\n  at %s%u)", kFrames[(k + i * 3 + (r >> 24)) % 8],
                           unsigned(100 + (r >> (28 + i)) % 900));
        snprintf(a1_, sizeof a1_, "%u", unsigned(r >> 36) % 5 + 1);
        snprintf(a2_, sizeof a2_, "file-%06u", unsigned(r >> 40) % 1000000);
        uuid(reqid_);
        add("error.type", kErrTypes[k]);
        add("attempt", a1_);
        add("file_id", a2_);
        add("server.request_id", reqid_);
    }

    void lifecycle(uint64_t r) {
        static constexpr const char *kMsgs[] = {"app resumed", "app paused", "network changed: wifi -> cellular",
                                                "network changed: cellular -> wifi", "battery saver on: sync deferred",
                                                "push token refreshed"};
        unsigned k = unsigned(r >> 8) % 6;
        snprintf(msg_, sizeof msg_, "%s", kMsgs[k]);
        if (k >= 2 && k <= 3) add("network", k == 2 ? "cellular" : "wifi");
    }

    uint64_t rnd() {  // xorshift64*
        s_ ^= s_ >> 12;
        s_ ^= s_ << 25;
        s_ ^= s_ >> 27;
        return s_ * 2685821657736338717ull;
    }
    void hex(char *out, int n) {
        static const char d[] = "0123456789abcdef";
        for (int i = 0; i < n; i += 16) {
            uint64_t x = rnd();
            for (int j = 0; j < 16 && i + j < n; ++j, x >>= 4) out[i + j] = d[x & 15];
        }
        out[n] = '\0';
    }
    void uuid(char *out) {
        hex(out, 36);
        out[8] = out[13] = out[18] = out[23] = '-';
        out[14] = '4';
    }
    void add(const char *k, const char *v) { ev_.attrs[ev_.n++] = {k, v}; }

    uint64_t s_ = 0x2545F4914F6CDD1Dull;
    Event ev_{};
    char msg_[640], a1_[32], a2_[32], a3_[32], reqid_[40], trace_[40];
};

// Log n events of the mix (TT_FULL_BLOCK clients: nothing drops). Returns the payload
// bytes (message + keys + values) logged, for scale.
inline uint64_t log_mix(tt_client *c, LogMix &mix, int n) {
    uint64_t payload = 0;
    for (int i = 0; i < n; ++i) {
        const LogMix::Event &e = mix.next();
        if (tt_log_attrs(c, e.level, e.msg, e.attrs, e.n) != TT_OK) {
            const tt_error *er = tt_error_last();
            fprintf(stderr, "tt_log_attrs failed: %s: %s\n", tt_status_name(er->code), er->message);
            abort();
        }
        payload += strlen(e.msg);
        for (size_t j = 0; j < e.n; ++j) payload += strlen(e.attrs[j].key) + strlen(e.attrs[j].value);
    }
    return payload;
}

// Copy a closed buffer (the database and its -wal, if any) over `to`. Lets a benchmark
// log its 100k events once per process and start each repetition from an identical copy.
inline void copy_buffer(const std::string &from, const std::string &to) {
    namespace fs = std::filesystem;
    for (const char *sfx : {"", "-wal", "-shm", "-journal"}) fs::remove(to + sfx);
    fs::copy_file(from, to);
    if (fs::exists(from + "-wal")) fs::copy_file(from + "-wal", to + "-wal");
}

}  // namespace ttb
