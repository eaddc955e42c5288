// What is waiting to leave the device, on the buffer file itself: the upload cursors
// (everything up to them is delivered or was purged), the batch in flight per kind
// (so a retry, even after a crash, sends the same batch id), consent, and the OTLP
// encoding of a batch. Its own SQLite connection, guarded by a mutex: used by the
// uploader thread and by tt_consent_set / tt_upload_flush on app threads.
#pragma once
#include <sqlite3.h>
#include <sys/types.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "consent/consent.hpp"

namespace tt::upload {

enum class Kind { kLogs, kTraces };
const char *kind_name(Kind k) noexcept;  // "logs", "traces"

struct Batch {
    std::string id;  // X-Telltale-Batch
    int64_t first = 0, last = 0;
    int attempts = 0;
    std::pair<dev_t, ino_t> file{};  // the buffer file it was claimed from
};

struct Resource {
    std::string service_name, service_version, install_id;
};

class Outbox {
public:
    explicit Outbox(const std::string &path);  // throws tt::Error
    ~Outbox();
    Outbox(const Outbox &) = delete;
    Outbox &operator=(const Outbox &) = delete;

    consent::Record load_consent();
    // Store the user's answer; on DENIED also purge what was not delivered. One transaction.
    // skip_backlog: move the cursors past everything stored (DENIED -> GRANTED).
    // Returns how many events were purged.
    uint64_t save_consent(const consent::Record &r, bool purge, bool skip_backlog);

    // The batch in flight for `kind`, or a new one of at most max_rows rows after the
    // cursor; nullopt when nothing waits.
    std::optional<Batch> claim(Kind kind, uint32_t max_rows);
    // The OTLP/HTTP JSON body of the batch's rows still in the buffer; `rows` their count.
    std::string encode(Kind kind, const Batch &b, const Resource &res, uint64_t &rows);
    void delivered(Kind kind, const Batch &b);
    void failed_attempt(Kind kind, const Batch &b, const std::string &error);
    // 413: keep the first half under a new batch id. False if it was a single row.
    bool shrink(Kind kind, const Batch &b);
    // The server will never take it: skip it, remember why.
    void drop(Kind kind, const Batch &b, const std::string &reason);

    struct Progress {
        int64_t cursor_logs = 0, cursor_traces = 0, max_logs = 0, max_traces = 0;
    };
    Progress progress();
    std::string last_drop_reason();

private:
    sqlite3 *open();     // a connection to path_; throws tt::Error
    void follow_file();  // reopen when the file at path_ is another one (corruption recovery)
    std::optional<Batch> claim_here(Kind kind, uint32_t max_rows);
    void exec(const char *sql);
    int64_t meta_int(const char *key);
    void set_cursor(Kind kind, int64_t v);  // never moves back

    std::string path_;
    sqlite3 *db_ = nullptr;
    std::pair<dev_t, ino_t> file_id_{};
    std::mutex mu_;
};

// Append, to an OTLP attribute array being written in `o`, the members of a flat JSON object
// `j` (as telltale stores attributes, server ids and timings), each key behind `prefix`:
// strings as stringValue, integers as `number_type`. Anything else goes whole as one string
// attribute "telltale.attrs". Exposed for the unit tests.
void append_object_attrs(std::string &o, std::string_view j, std::string_view prefix, const char *number_type);

}  // namespace tt::upload
