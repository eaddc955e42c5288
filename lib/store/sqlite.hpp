// Thin RAII over the SQLite C API: a statement handle and an error helper that turns
// a result code into a tt::Error (TT_ESTORE or TT_ECORRUPT) that says which file.
#pragma once
#include <sqlite3.h>
#include <sys/types.h>

#include <string>
#include <utility>
#include <string_view>

#include "core/error.hpp"

namespace tt::store {

// True for the result codes that mean the file itself is damaged or not a database.
inline bool is_corrupt(int rc) noexcept {
    int p = rc & 0xFF;
    return p == SQLITE_CORRUPT || p == SQLITE_NOTADB;
}

// Build the error for a failed SQLite call on `path`, doing `what`.
Error sqlite_error(sqlite3 *db, int rc, std::string_view what, const std::string &path);

class Stmt {
public:
    Stmt() = default;
    Stmt(sqlite3 *db, const char *sql, const std::string &path);
    ~Stmt() { sqlite3_finalize(s_); }
    Stmt(Stmt &&o) noexcept : s_(o.s_) { o.s_ = nullptr; }
    Stmt &operator=(Stmt &&o) noexcept {
        if (this != &o) {
            sqlite3_finalize(s_);
            s_ = o.s_;
            o.s_ = nullptr;
        }
        return *this;
    }
    sqlite3_stmt *get() const noexcept { return s_; }
    explicit operator bool() const noexcept { return s_ != nullptr; }
    void reset() noexcept {
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
    }

private:
    sqlite3_stmt *s_ = nullptr;
};

// Run SQL with no results; throws on failure.
void exec(sqlite3 *db, const char *sql, const std::string &path);
// First column of the first row as an integer (0 if no row); throws on failure.
int64_t query_int(sqlite3 *db, const char *sql, const std::string &path);

// A second read-write connection to an existing buffer (the upload state, the report
// queue): extended codes, a 5 s busy timeout, synchronous=NORMAL. Throws; never leaks.
sqlite3 *open_side_connection(const std::string &path, std::string_view what);

// The file at `path` (device, inode), {0, 0} if none: a buffer moved aside and started
// afresh at the same path is another file, which open connections do not follow by themselves.
std::pair<dev_t, ino_t> file_identity(const std::string &path) noexcept;

}  // namespace tt::store
