// Helpers for the C++ wrapper tests: a temporary directory, a look into the buffer with
// the SQLite C API (the real file, as another process would see it), and catch_error.
#pragma once
#include <doctest/doctest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <telltale/telltale.hpp>

namespace tt_test {

// The telltale::Error that f throws; fails the test when it throws none.
template <class F>
telltale::Error catch_error(F &&f) {
    try {
        f();
    } catch (const telltale::Error &e) {
        return e;
    }
    FAIL("expected telltale::Error");
    return telltale::Error(TT_OK, "", "", "");
}

class TempDir {
public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "tt-cpp-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    std::string file(const std::string &name) const { return (path_ / name).string(); }
    const std::filesystem::path &path() const { return path_; }

private:
    std::filesystem::path path_;
};

// One row of the events table, as text.
struct Row {
    int64_t level = 0;
    std::string msg;
    std::string attrs;  // "" when NULL
    bool attrs_null = true;
};

class Db {
public:
    explicit Db(const std::string &path) {
        if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
            std::string m = sqlite3_errmsg(db_);
            sqlite3_close(db_);
            throw std::runtime_error("cannot open " + path + ": " + m);
        }
        sqlite3_busy_timeout(db_, 5000);
    }
    ~Db() { sqlite3_close(db_); }
    Db(const Db &) = delete;
    Db &operator=(const Db &) = delete;

    int64_t integer(const std::string &sql) {
        sqlite3_stmt *s = prepare(sql);
        int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
        sqlite3_finalize(s);
        return v;
    }
    std::string text(const std::string &sql) {
        sqlite3_stmt *s = prepare(sql);
        std::string v;
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
            v = reinterpret_cast<const char *>(sqlite3_column_text(s, 0));
        sqlite3_finalize(s);
        return v;
    }
    std::vector<Row> events() {
        sqlite3_stmt *s = prepare("SELECT level, msg, attrs FROM events ORDER BY id");
        std::vector<Row> rows;
        while (sqlite3_step(s) == SQLITE_ROW) {
            Row r;
            r.level = sqlite3_column_int64(s, 0);
            r.msg = reinterpret_cast<const char *>(sqlite3_column_text(s, 1));
            r.attrs_null = sqlite3_column_type(s, 2) == SQLITE_NULL;
            if (!r.attrs_null) r.attrs = reinterpret_cast<const char *>(sqlite3_column_text(s, 2));
            rows.push_back(r);
        }
        sqlite3_finalize(s);
        return rows;
    }

private:
    sqlite3_stmt *prepare(const std::string &sql) {
        sqlite3_stmt *s = nullptr;
        if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
            throw std::runtime_error("bad SQL " + sql + ": " + sqlite3_errmsg(db_));
        return s;
    }
    sqlite3 *db_ = nullptr;
};

}  // namespace tt_test
