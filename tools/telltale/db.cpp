#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "cli.hpp"

namespace ttcli {

namespace {
// Long enough to outlast any single commit of the app's writer thread.
constexpr int kBusyTimeoutMs = 5000;
}  // namespace

void fail(std::string message, std::string hint) { throw Failure{kExitFail, std::move(message), std::move(hint)}; }
void usage_error(std::string message, std::string hint) { throw Failure{kExitUsage, std::move(message), std::move(hint)}; }

Db::Db(std::string path) : path_(std::move(path)) {
    // Check first: SQLite's own message for a missing file is "unable to open database file".
    struct stat st;
    if (::stat(path_.c_str(), &st) != 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR)
            fail(fmt::format("no buffer at {}", path_),
                 "check the path: it is the db_path the app passes to tt_open, and the file exists once the app has run");
        fail(fmt::format("cannot look at {}: {}", path_, std::strerror(e)),
             "check the path and that you may read its directory");
    }
    if (S_ISDIR(st.st_mode))
        fail(fmt::format("{} is a directory, not a buffer file", path_),
             "pass the buffer file itself: the db_path the app passes to tt_open");
    if (!S_ISREG(st.st_mode))
        fail(fmt::format("{} is not a regular file", path_), "pass the buffer file: the db_path the app passes to tt_open");
    if (st.st_size == 0)
        fail(fmt::format("{} is an empty file, not a telltale buffer", path_),
             "pass the db_path the app gives tt_open; a buffer holds data once tt_open has succeeded on it");
    if (::access(path_.c_str(), R_OK) != 0)
        fail(fmt::format("cannot read {}: {}", path_, std::strerror(errno)),
             "run as the user that owns the app's data, or copy the file (and its -wal file) somewhere readable");

    // Read-only: never creates the file, never takes a write lock from the app.
    int rc = sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    try {
        if (rc != SQLITE_OK) raise(rc, "opening");
        sqlite3_extended_result_codes(db_, 1);
        sqlite3_busy_timeout(db_, kBusyTimeoutMs);
        // SQLite reads the header lazily: touch the schema now so that a file that is not a
        // database is reported here, as such.
        rc = sqlite3_exec(db_, "SELECT count(*) FROM sqlite_schema", nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) raise(rc, "reading the schema");
    } catch (...) {
        sqlite3_close_v2(db_);  // a throwing constructor runs no destructor
        db_ = nullptr;
        throw;
    }
}

Db::~Db() { sqlite3_close_v2(db_); }

void Db::raise(int rc, std::string_view what) {
    std::string detail = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    switch (rc & 0xFF) {
    case SQLITE_NOTADB:
        fail(fmt::format("{} is not a telltale buffer (SQLite says: {})", path_, detail),
             "pass the db_path the app gives tt_open; an app moves a damaged buffer aside as <db>.corrupt-<time>");
    case SQLITE_CORRUPT:
        fail(fmt::format("{} is damaged: {} failed (SQLite says: {})", path_, what, detail),
             fmt::format("run `telltale verify {}` to list the damage; the app moves a damaged buffer aside when it next opens it",
                         path_));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        fail(fmt::format("{} stayed locked for more than {} s while {} (SQLite says: {})", path_, kBusyTimeoutMs / 1000, what,
                         detail),
             "retry in a moment; if it persists, another process holds a long lock on the file");
    case SQLITE_READONLY:
        // A read-only connection still needs the -shm (WAL index) and -wal next to the file.
        fail(fmt::format("cannot read {}: SQLite must create or open {}-shm and {}-wal next to it and cannot (SQLite says: {})",
                         path_, path_, path_, detail),
             "run as the user that owns the app's data, or copy the file (and its -wal, if any) into a directory you can write");
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
        fail(fmt::format("cannot open {} read-only while {} (SQLite says: {})", path_, what, detail),
             "reading a WAL buffer needs read access to the file and its -wal and -shm files (or a writable directory to "
             "create them); run as the user that owns the app's data, or copy the file and its -wal somewhere writable");
    case SQLITE_NOMEM:
        fail(fmt::format("out of memory while {} {}", what, path_), "free some memory and retry");
    default:
        fail(fmt::format("{} failed on {} (SQLite says: {}, {})", what, path_, detail, sqlite3_errstr(rc)),
             fmt::format("check that the file is readable; `telltale verify {}` checks it for damage", path_));
    }
}

bool Db::has_table(const char *name) {
    Stmt s(*this, "SELECT 1 FROM sqlite_schema WHERE type='table' AND name=?");
    sqlite3_bind_text(s.get(), 1, name, -1, SQLITE_STATIC);
    return s.step("reading the schema");
}

std::vector<std::string> Db::columns(const char *table) {
    Stmt s(*this, "SELECT name FROM pragma_table_info(?)");
    sqlite3_bind_text(s.get(), 1, table, -1, SQLITE_STATIC);
    std::vector<std::string> out;
    while (s.step("reading the schema")) out.emplace_back(column_bytes(s.get(), 0));
    return out;
}

int64_t Db::query_int(const char *sql) {
    Stmt s(*this, sql);
    return s.step(sql) ? sqlite3_column_int64(s.get(), 0) : 0;
}

std::optional<std::string> Db::query_text(const char *sql) {
    Stmt s(*this, sql);
    if (!s.step(sql) || sqlite3_column_type(s.get(), 0) == SQLITE_NULL) return std::nullopt;
    return std::string(column_bytes(s.get(), 0));
}

Stmt::Stmt(Db &db, const std::string &sql) : db_(db) {
    int rc = sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &s_, nullptr);
    if (rc != SQLITE_OK) db.raise(rc, fmt::format("preparing \"{}\"", sql));
}

bool Stmt::step(std::string_view what) {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    db_.raise(rc, what);
}

std::string_view column_bytes(sqlite3_stmt *s, int i) {
    // text first, then bytes: sqlite3_column_bytes is only right after the conversion.
    auto p = reinterpret_cast<const char *>(sqlite3_column_text(s, i));
    if (!p) return {};
    return {p, static_cast<size_t>(sqlite3_column_bytes(s, i))};
}

std::optional<std::string> column_text(sqlite3_stmt *s, int i) {
    if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
    return std::string(column_bytes(s, i));
}

std::optional<int64_t> column_int(sqlite3_stmt *s, int i) {
    if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_int64(s, i);
}

}  // namespace ttcli
