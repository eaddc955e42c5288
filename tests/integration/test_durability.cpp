// The buffer keeps what it promised: concurrent producers, SIGKILL, retention caps,
// damaged files, two processes, read-only directories, a full disk, a stuck file lock.
#include <doctest/doctest.h>

#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include "util.hpp"

using namespace tt_test;

namespace {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kScale = 4;  // sanitizers run 5-20x slower: same shape, fewer events
#else
constexpr int kScale = 1;
#endif

long long file_size(const std::string &p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : -1;
}

std::string field(const std::string &line, const std::string &key) {
    auto at = line.find(key + "=");
    if (at == std::string::npos) return {};
    auto end = line.find(' ', at);
    return line.substr(at + key.size() + 1, end == std::string::npos ? std::string::npos : end - at - key.size() - 1);
}

}  // namespace

TEST_CASE("8 threads x 100k events: logged == stored + dropped, no repeats, gaps add up to dropped") {
    TempDir d;
    std::string db = d.file("a.db");
    tt_options o = TT_OPTIONS_INIT;
    o.queue_bytes = 256 << 10;  // small rings so that drops happen and are counted
    o.max_db_bytes = 1ull << 30;
    tt_client *c = open_client(db, o);
    REQUIRE(c);
    const int threads = 8, per = 100000 / kScale;
    std::atomic<long> full{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
        ts.emplace_back([&, t] {
            char tb[8], sb[16];
            snprintf(tb, sizeof tb, "%d", t);
            long mine = 0;
            for (int i = 0; i < per; ++i) {
                snprintf(sb, sizeof sb, "%d", i);
                tt_attr a[2] = {{"t", tb}, {"s", sb}};
                tt_status st = tt_log_attrs(c, TT_INFO, "a sixty byte message from a worker thread of the stress test", a, 2);
                if (st == TT_EFULL) ++mine;
                else REQUIRE(st == TT_OK);
            }
            full += mine;
        });
    for (auto &t : ts) t.join();
    REQUIRE(tt_flush(c, 120000) == TT_OK);
    tt_stats s = stats_of(c);
    REQUIRE(tt_close(c, 60000) == TT_OK);

    CHECK(s.logged == static_cast<uint64_t>(threads) * per);
    CHECK(s.logged == s.stored + s.dropped);
    CHECK(s.dropped == static_cast<uint64_t>(full.load()));
    CHECK(s.evicted == 0);
    MESSAGE("stored " << s.stored << ", dropped " << s.dropped);

    // Read back every (thread, seq): no repeats, and per thread the missing ones are the drops.
    sqlite3 *h = nullptr;
    REQUIRE(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt *st = nullptr;
    REQUIRE(sqlite3_prepare_v2(h, "SELECT json_extract(attrs,'$.t'), json_extract(attrs,'$.s') FROM events", -1, &st, nullptr) ==
            SQLITE_OK);
    std::vector<std::vector<char>> seen(threads, std::vector<char>(per, 0));
    uint64_t rows = 0, repeats = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int t = std::atoi(reinterpret_cast<const char *>(sqlite3_column_text(st, 0)));
        int i = std::atoi(reinterpret_cast<const char *>(sqlite3_column_text(st, 1)));
        REQUIRE(t >= 0);
        REQUIRE(t < threads);
        REQUIRE(i >= 0);
        REQUIRE(i < per);
        if (seen[t][i]) ++repeats;
        seen[t][i] = 1;
        ++rows;
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    CHECK(repeats == 0);
    CHECK(rows == s.stored);
    uint64_t missing = 0;
    for (auto &v : seen)
        for (char x : v) missing += !x;
    CHECK(missing == s.dropped);
}

TEST_CASE("flush covers every thread's events, including threads that already exited") {
    TempDir d;
    tt_options o = TT_OPTIONS_INIT;
    o.full_policy = TT_FULL_BLOCK;
    o.commit_interval_ms = 5000;  // only the flush can make this pass quickly
    tt_client *c = open_client(d.file("a.db"), o);
    REQUIRE(c);
    for (int round = 0; round < 3; ++round) {
        std::vector<std::thread> ts;
        for (int t = 0; t < 4; ++t)
            ts.emplace_back([&] {
                for (int i = 0; i < 5000 / kScale; ++i) REQUIRE(tt_log(c, TT_DEBUG, "short-lived thread") == TT_OK);
            });
        for (auto &t : ts) t.join();
        REQUIRE(tt_flush(c, 60000) == TT_OK);
        tt_stats s = stats_of(c);
        CHECK(s.dropped == 0);
        CHECK(s.stored == s.logged);
        CHECK(s.events == s.logged);
    }
    REQUIRE(tt_close(c, 10000) == TT_OK);
}

TEST_CASE("SIGKILL after tt_flush returned loses nothing") {
    TempDir d;
    std::string db = d.file("a.db");
    Child child({"flush-then-wait", db, "20000"});
    std::string line = child.line();
    REQUIRE(line.rfind("flushed", 0) == 0);
    child.kill9();
    unsigned long long stored = 0, dropped = 0;
    REQUIRE(sscanf(line.c_str(), "flushed %llu %llu", &stored, &dropped) == 2);
    CHECK(stored + dropped == 20000);
    CHECK(sql_int(db, "SELECT count(*) FROM events") == static_cast<long long>(stored));
    CHECK(sql_text(db, "PRAGMA integrity_check") == "ok");
}

TEST_CASE("SIGKILL during heavy writing leaves a sound buffer that reopens") {
    TempDir d;
    std::string db = d.file("a.db");
    for (int round = 0; round < 3; ++round) {
        Child child({"log-forever", db});
        REQUIRE(child.line() == "started");
        std::this_thread::sleep_for(std::chrono::milliseconds(150 + 100 * round));
        child.kill9();
        CHECK(sql_text(db, "PRAGMA integrity_check") == "ok");
        tt_client *c = open_client(db);
        REQUIRE(c);
        CHECK(tt_error_last()->code != TT_ECORRUPT);
        CHECK(stats_of(c).events > 0);
        CHECK(stats_of(c).corrupt_recovered == 0);
        REQUIRE(tt_close(c, 10000) == TT_OK);
    }
}

TEST_CASE("retention by size holds the file within 10 % of the cap, oldest dropped first") {
    TempDir d;
    std::string db = d.file("a.db");
    const uint64_t cap = 1 << 20;
    tt_options o = TT_OPTIONS_INIT;
    o.max_db_bytes = cap;
    o.full_policy = TT_FULL_BLOCK;
    tt_client *c = open_client(db, o);
    REQUIRE(c);
    std::string pad(150, 'p');
    const int n = 40000;  // ~8 MiB of events into a 1 MiB buffer
    for (int i = 0; i < n; ++i) {
        std::string seq = std::to_string(i);
        tt_attr a[2] = {{"seq", seq.c_str()}, {"pad", pad.c_str()}};
        REQUIRE(tt_log_attrs(c, TT_INFO, "retention test event", a, 2) == TT_OK);
        if (i % 5000 == 4999) {
            REQUIRE(tt_flush(c, 60000) == TT_OK);
            CHECK(stats_of(c).db_bytes <= cap + cap / 10);
        }
    }
    REQUIRE(tt_flush(c, 60000) == TT_OK);
    tt_stats s = stats_of(c);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    CHECK(s.stored == n);
    CHECK(s.evicted > 0);
    CHECK(s.events + s.evicted == n);
    long long size = file_size(db);
    MESSAGE("file " << size << " bytes for a cap of " << cap << "; " << s.events << " events kept");
    CHECK(size <= static_cast<long long>(cap + cap / 10));
    CHECK(size >= static_cast<long long>(cap / 2));
    // The newest events are the ones kept, and they are contiguous.
    CHECK(sql_int(db, "SELECT max(CAST(json_extract(attrs,'$.seq') AS INTEGER)) FROM events") == n - 1);
    CHECK(sql_int(db, "SELECT max(id)-min(id)+1 FROM events") == static_cast<long long>(s.events));
}

TEST_CASE("a lowered cap shrinks an existing file") {
    TempDir d;
    std::string db = d.file("a.db");
    tt_options o = TT_OPTIONS_INIT;
    o.full_policy = TT_FULL_BLOCK;
    tt_client *c = open_client(db, o);
    REQUIRE(c);
    std::string pad(200, 'q');
    for (int i = 0; i < 20000; ++i) tt_log(c, TT_INFO, pad.c_str());
    REQUIRE(tt_close(c, 60000) == TT_OK);
    REQUIRE(file_size(db) > (3 << 20));
    o.max_db_bytes = 1 << 20;
    c = open_client(db, o);
    REQUIRE(c);
    tt_log(c, TT_INFO, "one more");
    REQUIRE(tt_close(c, 60000) == TT_OK);
    CHECK(file_size(db) <= (1 << 20) + (1 << 20) / 10);
}

TEST_CASE("retention by age deletes old events when the client starts") {
    TempDir d;
    std::string db = d.file("a.db");
    tt_client *c = open_client(db);
    REQUIRE(c);
    for (int i = 0; i < 100; ++i) tt_log(c, TT_INFO, "old");
    REQUIRE(tt_close(c, 10000) == TT_OK);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    tt_options o = TT_OPTIONS_INIT;
    o.max_age_s = 1;
    c = open_client(db, o);
    REQUIRE(c);
    tt_log(c, TT_INFO, "new");
    REQUIRE(tt_flush(c, 10000) == TT_OK);
    tt_stats s = stats_of(c);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    CHECK(s.evicted == 100);
    CHECK(sql_int(db, "SELECT count(*) FROM events") == 1);
    CHECK(sql_text(db, "SELECT msg FROM events") == "new");
}

TEST_CASE("a file that is not SQLite is moved aside and a fresh buffer started") {
    TempDir d;
    std::string db = d.file("a.db");
    {
        std::ofstream f(db, std::ios::binary);
        std::string junk(64 * 1024, '\0');
        for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>(i * 131 + 7);
        f << junk;
    }
    tt_client *c = open_client(db);
    REQUIRE(c);
    const tt_error *e = tt_error_last();
    CHECK(e->code == TT_ECORRUPT);
    CHECK(std::string(e->message).find(".corrupt-") != std::string::npos);
    int moved = 0;
    for (auto &p : std::filesystem::directory_iterator(d.path))
        if (p.path().filename().string().rfind("a.db.corrupt-", 0) == 0) {
            ++moved;
            CHECK(std::filesystem::file_size(p.path()) == 64 * 1024);  // the evidence is kept intact
        }
    CHECK(moved == 1);
    CHECK(tt_log(c, TT_INFO, "after recovery") == TT_OK);
    REQUIRE(tt_flush(c, 10000) == TT_OK);
    tt_stats s = stats_of(c);
    CHECK(s.corrupt_recovered == 1);
    CHECK(s.stored == 1);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    CHECK(sql_text(db, "PRAGMA integrity_check") == "ok");
}

TEST_CASE("damaged pages inside a real buffer: no crash, logging goes on") {
    TempDir d;
    std::string db = d.file("a.db");
    tt_options o = TT_OPTIONS_INIT;
    o.full_policy = TT_FULL_BLOCK;
    tt_client *c = open_client(db, o);
    REQUIRE(c);
    for (int i = 0; i < 20000; ++i) tt_log(c, TT_INFO, "an event that fills pages of the buffer file");
    REQUIRE(tt_close(c, 60000) == TT_OK);
    long long size = file_size(db);
    REQUIRE(size > 200000);
    {
        std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(size / 2);
        std::string junk(16384, '\xA5');
        f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
    }
    c = open_client(db, o);
    REQUIRE(c);
    for (int i = 0; i < 30000; ++i) tt_log(c, TT_INFO, "after damage");
    CHECK(tt_flush(c, 60000) == TT_OK);
    // Reading the whole file (stats counts events) finds the damage: the call says so,
    // the writer moves the file aside, and the next call works on a fresh buffer.
    tt_stats s = TT_STATS_INIT;
    tt_status st = tt_stats_get(c, &s);
    if (st == TT_ECORRUPT) {
        CHECK(std::string(tt_error_last()->hint).find("call again") != std::string::npos);
        CHECK(tt_flush(c, 60000) == TT_OK);
        st = tt_stats_get(c, &s);
        CHECK(s.corrupt_recovered == 1);
    }
    REQUIRE(st == TT_OK);
    MESSAGE("recovered " << s.corrupt_recovered << ", stored " << s.stored << ", dropped " << s.dropped);
    CHECK(s.logged == s.stored + s.dropped);
    CHECK(tt_log(c, TT_INFO, "still logging") == TT_OK);
    CHECK(tt_flush(c, 60000) == TT_OK);
    CHECK(stats_of(c).stored == s.stored + 1);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    CHECK(sql_text(db, "PRAGMA integrity_check") == "ok");
    CHECK(sql_int(db, "SELECT count(*) FROM events WHERE msg='still logging'") == 1);
}

TEST_CASE("a database from a newer telltale is refused and left untouched") {
    TempDir d;
    std::string db = d.file("a.db");
    tt_client *c = open_client(db);
    REQUIRE(c);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    sqlite3 *h = nullptr;
    sqlite3_open(db.c_str(), &h);
    sqlite3_exec(h, "PRAGMA user_version=999", nullptr, nullptr, nullptr);
    sqlite3_close(h);
    tt_options o = TT_OPTIONS_INIT;
    o.db_path = db.c_str();
    o.app_name = "t";
    CHECK(tt_open(&c, &o) == TT_ESTORE);
    CHECK(std::string(tt_error_last()->message).find("newer telltale") != std::string::npos);
    CHECK(sql_int(db, "PRAGMA user_version") == 999);
}

TEST_CASE("two processes share one file") {
    TempDir d;
    std::string db = d.file("a.db");
    const int n = 20000 / kScale;
    Child a({"log-n", db, std::to_string(n), "A"});
    Child b({"log-n", db, std::to_string(n), "B"});
    std::string la = a.line(), lb = b.line();
    INFO(la << " / " << lb);
    CHECK(la.rfind("done TT_OK TT_OK", 0) == 0);
    CHECK(lb.rfind("done TT_OK TT_OK", 0) == 0);
    CHECK(field(la, "dropped") == "0");
    CHECK(field(lb, "dropped") == "0");
    a.wait();
    b.wait();
    CHECK(sql_int(db, "SELECT count(*) FROM events WHERE json_extract(attrs,'$.tag')='A'") == n);
    CHECK(sql_int(db, "SELECT count(*) FROM events WHERE json_extract(attrs,'$.tag')='B'") == n);
    CHECK(sql_int(db, "SELECT count(DISTINCT session) FROM events") == 2);
    CHECK(sql_text(db, "PRAGMA integrity_check") == "ok");
}

TEST_CASE("a read-only directory gives TT_ESTORE with a hint") {
    TempDir d;
    std::string ro = d.file("ro");
    std::filesystem::create_directory(ro);
    chmod(ro.c_str(), 0555);
    chmod(d.path.c_str(), 0755);
    Child child({"open-readonly", ro});
    std::string line = child.line();
    INFO(line);
    REQUIRE(line.rfind("TT_ESTORE|", 0) == 0);
    CHECK(line.find("EACCES") != std::string::npos);
    CHECK(line.find("not writable") != std::string::npos);
    CHECK(line.find("data directory") != std::string::npos);
    CHECK(line.find("docs/errors.md#estore") != std::string::npos);
}

TEST_CASE("the buffer file is private to the user (0600)") {
    TempDir d;
    std::string db = d.file("a.db");
    tt_client *c = open_client(db);
    REQUIRE(c);
    tt_log(c, TT_INFO, "x");
    REQUIRE(tt_flush(c, 10000) == TT_OK);
    struct stat st;
    REQUIRE(stat(db.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(stat((db + "-wal").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(tt_close(c, 10000) == TT_OK);
}

TEST_CASE("disk full: events dropped and counted, the app goes on") {
    TempDir d;
    std::string db = d.file("a.db");
    Child child({"disk-full", db, std::to_string(2 << 20)});
    std::string line = child.line();
    INFO(line);
    REQUIRE(!line.empty());
    long long logged = std::stoll(field(line, "logged")), stored = std::stoll(field(line, "stored")),
              dropped = std::stoll(field(line, "dropped")), errors = std::stoll(field(line, "errors"));
    CHECK(errors > 0);
    CHECK(dropped > 0);
    CHECK(logged == stored + dropped);
    CHECK(line.find("after=TT_OK") != std::string::npos);
    CHECK(line.find("flush=TT_OK") != std::string::npos);
    child.wait();
    CHECK(sql_int(db, "SELECT count(*) FROM events") == stored);
    CHECK(sql_text(db, "PRAGMA integrity_check") == "ok");
}

TEST_CASE("tt_close is bounded when another process holds the file locked") {
    TempDir d;
    std::string db = d.file("a.db");
    tt_client *c = open_client(db);
    REQUIRE(c);
    // A second connection takes the write lock and keeps it.
    sqlite3 *h = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
    REQUIRE(sqlite3_exec(h, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
    for (int i = 0; i < 1000; ++i) tt_log(c, TT_INFO, "stuck behind a lock");
    CHECK(tt_flush(c, 200) == TT_ETIMEOUT);
    CHECK(std::string(tt_error_last()->hint).find("retry") != std::string::npos);
    auto t0 = std::chrono::steady_clock::now();
    CHECK(tt_close(c, 300) == TT_ETIMEOUT);
    auto took = std::chrono::steady_clock::now() - t0;
    MESSAGE("tt_close(300) took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
    sqlite3_exec(h, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(h);
    CHECK(tt_log(c, TT_INFO, "x") == TT_EMISUSE);  // closed even though it timed out
    CHECK(sql_int(db, "SELECT count(*) FROM events") == 0);
}

TEST_CASE("after a pause, INFO does not wake the writer but still reaches the file by itself") {
    TempDir d;
    std::string db = d.file("a.db");
    tt_client *c = open_client(db);
    REQUIRE(c);
    REQUIRE(tt_log(c, TT_INFO, "before the pause") == TT_OK);
    REQUIRE(tt_flush(c, 10000) == TT_OK);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the writer goes to sleep
    REQUIRE(tt_log(c, TT_INFO, "after the pause") == TT_OK);
    REQUIRE(tt_log(c, TT_WARN, "a warning after it") == TT_OK);
    // No tt_flush: the writer's own rounds commit them (the warning wakes it; an INFO
    // alone would wait for its next idle round, about a second).
    int found = 0;
    for (int waited = 0; waited < 30000 && found < 2; waited += 50) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        found = static_cast<int>(sql_int(db, "SELECT count(*) FROM events WHERE msg IN ('after the pause', 'a warning after it')"));
    }
    CHECK(found == 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    REQUIRE(tt_log(c, TT_DEBUG, "alone after a pause") == TT_OK);
    found = 0;
    for (int waited = 0; waited < 30000 && found < 1; waited += 50) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        found = static_cast<int>(sql_int(db, "SELECT count(*) FROM events WHERE msg='alone after a pause'"));
    }
    CHECK(found == 1);
    REQUIRE(tt_close(c, 10000) == TT_OK);
}
