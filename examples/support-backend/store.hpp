// The backend's SQLite database: one connection behind one mutex (the reference backend
// is one process; SQLite in WAL mode handles a small team's load), plus a tiny statement
// wrapper so the SQL stays readable.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ingest.hpp"

namespace tsb {

class Stmt {
public:
    Stmt(sqlite3 *db, const char *sql);
    ~Stmt() { sqlite3_finalize(s_); }
    Stmt(const Stmt &) = delete;
    Stmt &operator=(const Stmt &) = delete;
    Stmt &bind(int i, std::string_view v);
    Stmt &bind(int i, int64_t v);
    Stmt &bind_blob(int i, std::string_view v);
    Stmt &bind_null(int i);
    bool row();   // sqlite3_step == SQLITE_ROW
    void run();   // step to SQLITE_DONE or throw
    int changes() const { return sqlite3_changes(db_); }
    std::string text(int i) const;
    int64_t num(int i) const { return sqlite3_column_int64(s_, i); }
    bool null(int i) const { return sqlite3_column_type(s_, i) == SQLITE_NULL; }
    sqlite3_stmt *get() { return s_; }

private:
    sqlite3 *db_;
    sqlite3_stmt *s_ = nullptr;
};

struct Attachment {
    std::string name, content_type, data;
};

class Store {
public:
    explicit Store(const std::string &path);
    ~Store();
    Store(const Store &) = delete;
    Store &operator=(const Store &) = delete;

    // Rows of one OTLP batch, in one transaction. False (nothing stored) when the batch id
    // was seen before: the client retried after its answer was lost.
    bool has_batch(const std::string &batch_id);
    bool add_batch(const std::string &batch_id, bool traces, const Batch &b, const std::string &ip, int64_t now_ns);

    struct Report {
        std::string id, ip, install_id, manifest, diagnosis;
        std::string logs_zst;                 // as sent
        std::vector<std::string> log_lines;   // NDJSON lines, decompressed
        std::vector<Attachment> attachments;
        int64_t received_ns = 0;
    };
    // False when a report with this id is already stored (idempotent retries).
    bool add_report(const Report &r);

    void exec(const char *sql);
    sqlite3 *db() { return db_; }
    std::mutex mu;  // held by every user of db()

private:
    void note_client(const Resource &r, const std::string &ip, int64_t t_ns);
    sqlite3 *db_ = nullptr;
};

}  // namespace tsb
