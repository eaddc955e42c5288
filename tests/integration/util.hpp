// Shared helpers for the integration tests: temp dirs, child processes, SQLite reads.
#pragma once
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <telltale/telltale.h>

#include "../common/spawn.hpp"


namespace tt_test {

// A fresh directory under /tmp, removed with everything in it at scope exit.
struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/tt-test-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::permissions(path, std::filesystem::perms::owner_all, ec);
        std::filesystem::remove_all(path, ec);
    }
    std::string file(const std::string &name) const { return path + "/" + name; }
};

inline tt_client *open_client(const std::string &db, tt_options o = TT_OPTIONS_INIT) {
    o.db_path = db.c_str();
    if (!o.app_name) o.app_name = "test";
    tt_client *c = nullptr;
    tt_status st = tt_open(&c, &o);
    if (st != TT_OK) {
        std::fprintf(stderr, "tt_open: %s %s\n", tt_status_name(st), tt_error_last()->message);
        return nullptr;
    }
    return c;
}

inline tt_stats stats_of(tt_client *c) {
    tt_stats s = TT_STATS_INIT;
    tt_stats_get(c, &s);
    return s;
}

// One integer from a query on a separate, plain SQLite connection.
inline long long sql_int(const std::string &db, const std::string &sql) {
    sqlite3 *h = nullptr;
    sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_busy_timeout(h, 5000);
    sqlite3_stmt *s = nullptr;
    long long v = -1;
    if (sqlite3_prepare_v2(h, sql.c_str(), -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(h);
    return v;
}

inline std::string sql_text(const std::string &db, const std::string &sql) {
    sqlite3 *h = nullptr;
    sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_busy_timeout(h, 5000);
    sqlite3_stmt *s = nullptr;
    std::string v = "<none>";
    if (sqlite3_prepare_v2(h, sql.c_str(), -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW &&
        sqlite3_column_text(s, 0))
        v = reinterpret_cast<const char *>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(h);
    return v;
}

// A child process (tt_child) with its stdout on a pipe.
struct Child {
    pid_t pid = -1;
    FILE *out = nullptr;

    explicit Child(const std::vector<std::string> &args) {
        std::vector<std::string> all = {TT_CHILD_PATH};
        all.insert(all.end(), args.begin(), args.end());
        out = spawn_reading_stdout(all, pid);
    }
    ~Child() {
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
        }
        if (out) fclose(out);
    }
    std::string line() {
        char buf[8192];
        if (!out || !fgets(buf, sizeof buf, out)) return {};
        std::string s = buf;
        if (!s.empty() && s.back() == '\n') s.pop_back();
        return s;
    }
    int wait() {
        int status = 0;
        waitpid(pid, &status, 0);
        pid = -1;
        return status;
    }
    void kill9() {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        pid = -1;
    }
};

}  // namespace tt_test
