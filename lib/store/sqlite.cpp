#include "store/sqlite.hpp"

#include <sys/stat.h>

#include <fmt/format.h>

namespace tt::store {

Error sqlite_error(sqlite3 *db, int rc, std::string_view what, const std::string &path) {
    const char *detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    int primary = rc & 0xFF;
    if (is_corrupt(rc))
        return Error(TT_ECORRUPT, fmt::format("{}: the buffer \"{}\" is damaged ({})", what, path, detail),
                     "telltale moves a damaged buffer aside and starts a fresh one; nothing to do unless it keeps happening");
    const char *hint = "check that the file and its directory are writable by the app and the disk has room";
    if (primary == SQLITE_FULL)
        hint = "the disk is full: free space; new events are dropped and counted until there is room";
    else if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        hint = "another process holds the buffer locked for too long; make sure only one app writes to this file";
    else if (primary == SQLITE_READONLY || primary == SQLITE_PERM || primary == SQLITE_CANTOPEN)
        hint = "pass a db_path inside a directory the app can write to (its data directory)";
    else if (primary == SQLITE_NOMEM)
        return Error(TT_ENOMEM, fmt::format("{}: out of memory using \"{}\"", what, path), "free memory and retry");
    return Error(TT_ESTORE, fmt::format("{}: SQLite failed on \"{}\": {} ({})", what, path, detail, sqlite3_errstr(rc)), hint);
}

Stmt::Stmt(sqlite3 *db, const char *sql, const std::string &path) {
    int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s_, nullptr);
    if (rc != SQLITE_OK) throw sqlite_error(db, rc, "prepare", path);
}

void exec(sqlite3 *db, const char *sql, const std::string &path) {
    char *err = nullptr;
    int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
    sqlite3_free(err);
    if (rc != SQLITE_OK) throw sqlite_error(db, rc, "exec", path);
}

int64_t query_int(sqlite3 *db, const char *sql, const std::string &path) {
    sqlite3_stmt *s = nullptr;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
    if (rc != SQLITE_OK) throw sqlite_error(db, rc, "query", path);
    rc = sqlite3_step(s);
    int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) throw sqlite_error(db, rc, "query", path);
    return v;
}

sqlite3 *open_side_connection(const std::string &path, std::string_view what) {
    sqlite3 *db = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    try {
        if (rc != SQLITE_OK) throw sqlite_error(db, rc, what, path);
        sqlite3_extended_result_codes(db, 1);
        sqlite3_busy_timeout(db, 5000);
        // WAL + NORMAL: a commit survives the app being killed; only a power cut may lose
        // the last one (a lost cursor move only resends a batch the server drops by its id).
        exec(db, "PRAGMA synchronous=NORMAL", path);
    } catch (...) {
        sqlite3_close_v2(db);
        throw;
    }
    return db;
}

std::pair<dev_t, ino_t> file_identity(const std::string &path) noexcept {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? std::make_pair(st.st_dev, st.st_ino) : std::pair<dev_t, ino_t>{};
}

}  // namespace tt::store
