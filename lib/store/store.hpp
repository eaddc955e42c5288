// The durable buffer: one SQLite file in WAL mode, shared safely by the threads of one
// client (a writer connection owned by the writer thread, a reader connection for
// stats) and by other processes of the same app (busy handler, BEGIN IMMEDIATE).
#pragma once
#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "queue/sink.hpp"
#include "store/sqlite.hpp"

namespace tt::store {

// Current schema version (PRAGMA user_version). Migrations only move forward.
constexpr int kSchemaVersion = 4;

struct StoreConfig {
    std::string path;
    uint64_t max_bytes = 64ull << 20;
    uint32_t max_age_s = 7 * 24 * 3600;
    std::string app_name, app_version, session_id;
};

struct Snapshot {
    uint64_t events = 0, requests = 0, db_bytes = 0, pending_upload = 0, reports_pending = 0;
};

class Store final : public queue::Sink {
public:
    // Opens or creates the buffer. A damaged file is moved aside (see recovered_to()).
    // Throws tt::Error (TT_ESTORE, TT_ENOMEM) when the file cannot be used at all.
    explicit Store(StoreConfig cfg);
    ~Store() override;
    Store(const Store &) = delete;
    Store &operator=(const Store &) = delete;

    // Non-empty if opening found a damaged file and moved it there.
    const std::string &recovered_to() const noexcept { return recovered_to_; }
    const std::string &install_id() const noexcept { return install_id_; }

    // Sink (writer thread only).
    void begin() override;
    void add(const queue::EventView &e) override;
    void add_request(const queue::RequestView &r) override;
    uint64_t commit() override;
    void idle() override;
    void interrupt() noexcept override;

    // Any thread: a fresh look at the file through the reader connection.
    Snapshot snapshot();
    // Last housekeeping failure, for stats and diagnostics (empty if none).
    std::string last_problem();

    std::atomic<uint64_t> evicted{0};
    std::atomic<uint64_t> store_errors{0};
    std::atomic<uint64_t> corrupt_recovered{0};

    // Another thread found the file damaged: the writer replaces it at its next step.
    void request_recovery() noexcept { recover_requested_.store(true, std::memory_order_release); }

private:
    void open_writer();
    void close_writer() noexcept;
    void migrate();
    void ensure_session();
    void recover(const char *why);  // move the damaged file aside and start afresh
    void enforce_size();
    void enforce_age();
    void evict_requests_before(int64_t time_ns);
    void note_problem(const Error &e);
    static int busy_handler(void *self, int count);

    StoreConfig cfg_;
    sqlite3 *db_ = nullptr;
    Stmt insert_, insert_request_, insert_request_id_, begin_, commit_, rollback_;
    std::string timing_;
    int64_t session_ = 0;
    std::string install_id_;
    std::string recovered_to_;
    bool in_batch_ = false, batch_failed_ = false;
    uint64_t batch_n_ = 0;
    uint64_t last_age_check_ns_ = 0;
    std::atomic<bool> interrupted_{false};
    std::atomic<bool> recover_requested_{false};
    void recover_if_requested();
    std::atomic<uint64_t> generation_{0};  // bumped when the file is replaced

    std::mutex reader_mu_;  // guards the reader connection and problem_
    sqlite3 *reader_ = nullptr;
    uint64_t reader_gen_ = 0;
    std::string problem_;
};

// Move a damaged buffer (and its -wal) aside as "<path>.corrupt-<UTC time>"; drop its -shm.
// Returns the new name. Throws TT_ESTORE if it cannot be moved.
std::string move_aside(const std::string &path);

}  // namespace tt::store
