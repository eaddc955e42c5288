// Tests of the `telltale` CLI as users run it: buffers written through the public C ABI
// (and, for damage the library never writes, through SQLite directly), the built binary
// run as its own process, its stdout parsed as JSON and its exit code checked.
#include <curl/curl.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <httplib.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "telltale/curl.h"
#include "telltale/telltale.h"

extern char **environ;

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// A fresh directory under /tmp, removed with everything in it.
struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/tt-cli-XXXXXX";
        REQUIRE(mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string file(const std::string &name) const { return (path / name).string(); }
};

std::string read_all(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

struct Run {
    int code = -1;  // exit code; 128 + signal if killed
    std::string out, err;
};

// Run the CLI with stdout and stderr captured in files (no pipe to drain, no deadlock).
Run cli(const std::vector<std::string> &args) {
    static std::atomic<int> seq{0};
    TempDir io;
    std::string out_path = io.file("out"), err_path = io.file("err");
    std::vector<std::string> argv_s{TT_CLI_PATH};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char *> argv;
    for (auto &a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    int rc = posix_spawn(&pid, TT_CLI_PATH, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    REQUIRE_MESSAGE(rc == 0, "posix_spawn " TT_CLI_PATH ": " << std::strerror(rc));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    Run r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = read_all(out_path);
    r.err = read_all(err_path);
    ++seq;
    return r;
}

// Every line of NDJSON output, parsed; fails the test on anything that is not.
std::vector<json> ndjson(const std::string &out) {
    std::vector<json> rows;
    size_t pos = 0;
    while (pos < out.size()) {
        size_t nl = out.find('\n', pos);
        REQUIRE_MESSAGE(nl != std::string::npos, "the last line has no newline");
        std::string line = out.substr(pos, nl - pos);
        pos = nl + 1;
        json j = json::parse(line, nullptr, false);  // strict: rejects invalid UTF-8 too
        REQUIRE_MESSAGE(!j.is_discarded(), "not JSON: " << line);
        REQUIRE(j.is_object());
        rows.push_back(std::move(j));
    }
    return rows;
}

struct Event {
    tt_level level;
    std::string msg;
    std::vector<std::pair<std::string, std::string>> attrs;
};

void log_events(tt_client *c, const std::vector<Event> &events) {
    for (const auto &e : events) {
        std::vector<tt_attr> a;
        for (const auto &[k, v] : e.attrs) a.push_back({k.c_str(), v.c_str()});
        REQUIRE(tt_log_attrs(c, e.level, e.msg.c_str(), a.data(), a.size()) == TT_OK);
    }
}

tt_client *open_buffer(const std::string &path) {
    tt_options o = TT_OPTIONS_INIT;
    o.db_path = path.c_str();
    o.app_name = "cli-test";
    o.app_version = "1.2.3";
    tt_client *c = nullptr;
    tt_status s = tt_open(&c, &o);
    REQUIRE_MESSAGE(s == TT_OK, "tt_open: " << tt_error_last()->message);
    return c;
}

// Open, log, flush, close: a buffer as an app leaves it.
void make_buffer(const std::string &path, const std::vector<Event> &events) {
    tt_client *c = open_buffer(path);
    log_events(c, events);
    REQUIRE(tt_flush(c, 10000) == TT_OK);
    REQUIRE(tt_close(c, 10000) == TT_OK);
}

// Direct SQLite access for what the library never writes (damage, future schemas).
struct Sql {
    sqlite3 *db = nullptr;
    explicit Sql(const std::string &path) {
        REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
        sqlite3_busy_timeout(db, 5000);
    }
    ~Sql() { sqlite3_close(db); }
    void exec(const std::string &sql) {
        char *err = nullptr;
        int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
        std::string msg = err ? err : "";
        sqlite3_free(err);
        INFO(sql);
        REQUIRE_MESSAGE(rc == SQLITE_OK, msg);
    }
    int64_t integer(const std::string &sql) {
        sqlite3_stmt *s = nullptr;
        REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
        REQUIRE(sqlite3_step(s) == SQLITE_ROW);
        int64_t v = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        return v;
    }
    std::string text(const std::string &sql) {
        sqlite3_stmt *s = nullptr;
        REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
        REQUIRE(sqlite3_step(s) == SQLITE_ROW);
        std::string v(reinterpret_cast<const char *>(sqlite3_column_text(s, 0)), static_cast<size_t>(sqlite3_column_bytes(s, 0)));
        sqlite3_finalize(s);
        return v;
    }
    // Insert an event with raw bytes, bypassing the library's repair.
    void insert_event(int64_t time_ns, int level, const std::string &msg, const char *attrs, const char *trace_id = nullptr,
                      const char *span_id = nullptr) {
        sqlite3_stmt *s = nullptr;
        REQUIRE(sqlite3_prepare_v2(db,
                                   "INSERT INTO events(time_ns, level, tid, session, msg, attrs, trace_id, span_id)"
                                   " VALUES(?,?,4242,1,?,?,?,?)",
                                   -1, &s, nullptr) == SQLITE_OK);
        sqlite3_bind_int64(s, 1, time_ns);
        sqlite3_bind_int(s, 2, level);
        sqlite3_bind_text(s, 3, msg.data(), static_cast<int>(msg.size()), SQLITE_TRANSIENT);
        if (attrs) sqlite3_bind_text(s, 4, attrs, -1, SQLITE_TRANSIENT);
        if (trace_id) sqlite3_bind_text(s, 5, trace_id, -1, SQLITE_TRANSIENT);
        if (span_id) sqlite3_bind_text(s, 6, span_id, -1, SQLITE_TRANSIENT);
        REQUIRE(sqlite3_step(s) == SQLITE_DONE);
        sqlite3_finalize(s);
    }
};

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Independent of the CLI's own formatting: gmtime + strftime.
std::string rfc3339(int64_t ns, int offset_minutes = 0) {
    time_t s = static_cast<time_t>(ns / 1'000'000'000) + offset_minutes * 60;
    struct tm tm;
    gmtime_r(&s, &tm);
    char buf[64];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char frac[16];
    snprintf(frac, sizeof frac, ".%09lld", static_cast<long long>(ns % 1'000'000'000));
    std::string tz = "Z";
    if (offset_minutes) {
        char o[16];
        snprintf(o, sizeof o, "%c%02d:%02d", offset_minutes < 0 ? '-' : '+', std::abs(offset_minutes) / 60, std::abs(offset_minutes) % 60);
        tz = o;
    }
    return std::string(buf) + frac + tz;
}

int64_t ns_of(const json &row) { return std::stoll(row.at("time_unix_nano").get<std::string>()); }

bool contains(const std::string &hay, const std::string &needle) { return hay.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("dump prints every event as one JSON object per line, oldest first, with its fields") {
    TempDir dir;
    std::string db = dir.file("app.db");
    std::vector<Event> events = {
        {TT_INFO, "app started", {}},
        {TT_DEBUG, "user opened a screen", {{"user", "u-42"}, {"screen", "settings"}}},
        {TT_WARN, "quotes \" and \\ backslashes, a\nnewline and a\ttab", {{"k\"ey", "va\nlue"}, {"unicode", "h\xC3\xA9llo \xE2\x9C\x93"}}},
        {TT_ERROR, "sync failed", {{"code", "503"}}},
        {TT_FATAL, "giving up", {}},
        {TT_TRACE, "tick", {}},
        {static_cast<tt_level>(10), "between INFO and WARN", {}},
        {static_cast<tt_level>(24), "the top", {}},
    };
    make_buffer(db, events);
    std::string before = read_all(db);

    Run r = cli({"dump", db});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.err.empty());
    auto rows = ndjson(r.out);
    REQUIRE(rows.size() == events.size());

    const std::regex time_re(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$)");
    const char *names[] = {"INFO", "DEBUG", "WARN", "ERROR", "FATAL", "TRACE", "INFO", "FATAL"};
    int64_t prev = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
        const json &row = rows[i];
        INFO("row ", i, ": ", row.dump());
        // Written by one thread, so time order is log order here.
        CHECK(row.at("message") == events[i].msg);
        CHECK(row.at("severity_number") == static_cast<int>(events[i].level));
        CHECK(row.at("level") == names[i]);
        REQUIRE(row.at("time_unix_nano").is_string());
        int64_t t = ns_of(row);
        CHECK(t >= prev);
        prev = t;
        CHECK(std::regex_match(row.at("time").get<std::string>(), time_re));
        CHECK(row.at("time") == rfc3339(t));
        CHECK(t > now_ns() - 600'000'000'000);
        CHECK(row.at("thread").is_number_integer());
        CHECK(row.at("thread").get<int64_t>() > 0);
        CHECK(!row.contains("trace_id"));  // only when the event has one
        CHECK(!row.contains("span_id"));
        json want = json::object();
        for (const auto &[k, v] : events[i].attrs) want[k] = v;
        CHECK(row.at("attrs") == want);
    }
    CHECK(read_all(db) == before);  // read-only: the file is untouched
}

TEST_CASE("dump shows the trace and span ids of events logged inside a request") {
    TempDir dir;
    std::string db = dir.file("app.db");
    tt_client *c = open_buffer(db);
    REQUIRE(tt_log(c, TT_INFO, "before") == TT_OK);
    tt_request *req = nullptr;
    REQUIRE(tt_request_begin(&req, c, "GET", "https://api.example.com/v1/items?token=secret") == TT_OK);
    char trace_id[33];
    REQUIRE(tt_request_trace_id(req, trace_id) == TT_OK);
    std::string traceparent = tt_request_traceparent(req);  // 00-<trace>-<span>-01
    REQUIRE(tt_log(c, TT_WARN, "inside") == TT_OK);
    REQUIRE(tt_request_end(req, 503, "service unavailable") == TT_OK);
    REQUIRE(tt_log(c, TT_INFO, "after") == TT_OK);
    REQUIRE(tt_flush(c, 10000) == TT_OK);
    REQUIRE(tt_close(c, 10000) == TT_OK);

    Run r = cli({"dump", db});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    auto rows = ndjson(r.out);
    REQUIRE(rows.size() == 3);
    CHECK(!rows[0].contains("trace_id"));
    CHECK(!rows[0].contains("span_id"));
    CHECK(rows[1].at("message") == "inside");
    CHECK(rows[1].at("trace_id") == trace_id);
    CHECK(rows[1].at("span_id") == traceparent.substr(36, 16));
    CHECK(!rows[2].contains("trace_id"));

    Run s = cli({"stats", "--json", db});
    REQUIRE_MESSAGE(s.code == 0, s.err);
    CHECK(json::parse(s.out).at("requests") == 1);
}

TEST_CASE("dump --level keeps events at or above the level, by name or number") {
    TempDir dir;
    std::string db = dir.file("app.db");
    make_buffer(db, {{TT_TRACE, "t", {}},
                     {TT_DEBUG, "d", {}},
                     {TT_INFO, "i", {}},
                     {static_cast<tt_level>(10), "i2", {}},
                     {TT_WARN, "w", {}},
                     {TT_ERROR, "e", {}},
                     {TT_FATAL, "f", {}}});
    auto levels = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"dump", db});
        Run r = cli(args);
        REQUIRE_MESSAGE(r.code == 0, r.err);
        std::vector<std::string> msgs;
        for (const auto &row : ndjson(r.out)) msgs.push_back(row.at("message"));
        return msgs;
    };
    using V = std::vector<std::string>;
    CHECK(levels({"--level", "warn"}) == V{"w", "e", "f"});
    CHECK(levels({"--level", "WARN"}) == V{"w", "e", "f"});
    CHECK(levels({"--level=Error"}) == V{"e", "f"});
    CHECK(levels({"--level", "10"}) == V{"i2", "w", "e", "f"});
    CHECK(levels({"--level", "info"}) == V{"i", "i2", "w", "e", "f"});
    CHECK(levels({"--level", "1"}).size() == 7);
    CHECK(levels({"--level", "fatal"}) == V{"f"});
    CHECK(levels({"--level", "24"}).empty());
}

TEST_CASE("dump --since keeps events from a time on: duration, RFC 3339 or unix nanoseconds") {
    TempDir dir;
    std::string db = dir.file("app.db");
    tt_client *c = open_buffer(db);
    log_events(c, {{TT_INFO, "a1", {}}, {TT_INFO, "a2", {}}});
    REQUIRE(tt_flush(c, 10000) == TT_OK);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    log_events(c, {{TT_INFO, "b1", {}}, {TT_INFO, "b2", {}}});
    REQUIRE(tt_flush(c, 10000) == TT_OK);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    {
        // Events from long ago, which the library's own clock cannot produce.
        Sql sql(db);
        sql.insert_event(now_ns() - 3 * 3600 * 1'000'000'000ll, TT_INFO, "three hours ago", nullptr);
        sql.insert_event(now_ns() - 3 * 86400 * 1'000'000'000ll, TT_INFO, "three days ago", nullptr);
    }
    auto messages = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"dump", db});
        Run r = cli(args);
        REQUIRE_MESSAGE(r.code == 0, r.err);
        std::vector<std::string> msgs;
        for (const auto &row : ndjson(r.out)) msgs.push_back(row.at("message"));
        return msgs;
    };
    using V = std::vector<std::string>;
    V all = messages({});
    REQUIRE(all == V{"three days ago", "three hours ago", "a1", "a2", "b1", "b2"});  // oldest first, not insertion order

    CHECK(messages({"--since", "2h"}) == V{"a1", "a2", "b1", "b2"});
    CHECK(messages({"--since", "4h"}) == V{"three hours ago", "a1", "a2", "b1", "b2"});
    CHECK(messages({"--since", "119m"}) == V{"a1", "a2", "b1", "b2"});
    CHECK(messages({"--since", "4d"}).size() == 6);
    CHECK(messages({"--since", "2d23h"}) == V{"three hours ago", "a1", "a2", "b1", "b2"});
    CHECK(messages({"--since", "7200s"}) == V{"a1", "a2", "b1", "b2"});

    // The exact time of b1, to the nanosecond, in each form: b1 and b2 only.
    Run r = cli({"dump", db});
    auto rows = ndjson(r.out);
    REQUIRE(rows.size() == 6);
    int64_t b1 = ns_of(rows[4]);
    REQUIRE(ns_of(rows[3]) < b1);
    CHECK(messages({"--since", std::to_string(b1)}) == V{"b1", "b2"});
    CHECK(messages({"--since", std::to_string(b1 + 1)}).size() <= 1);
    CHECK(messages({"--since", rows[4].at("time").get<std::string>()}) == V{"b1", "b2"});
    CHECK(messages({"--since=" + rfc3339(b1, 120)}) == V{"b1", "b2"});   // +02:00
    CHECK(messages({"--since=" + rfc3339(b1, -330)}) == V{"b1", "b2"});  // -05:30
    CHECK(messages({"--since", rfc3339(ns_of(rows[3]))}) == V{"a2", "b1", "b2"});
    // The future: nothing.
    CHECK(messages({"--since", rfc3339(now_ns() + 3600'000'000'000ll)}).empty());
    // Both filters together.
    CHECK(messages({"--since", "1h", "--level", "error"}).empty());
}

TEST_CASE("dump output is valid UTF-8 JSON even when the buffer holds invalid UTF-8 or control characters") {
    TempDir dir;
    std::string db = dir.file("app.db");
    // Through the API: the library repairs on the way in.
    make_buffer(db, {{TT_INFO, "api \xFF\xFE bad \xC3(", {{"k", "v\xE2\x82"}}}});
    {
        // Straight into SQLite: the CLI must repair and escape on the way out.
        Sql sql(db);
        int64_t t = now_ns() + 1'000'000;
        sql.insert_event(t, TT_WARN, std::string("raw \xFF\xFE bad \xC3(") + "\x01\x1b[31m\x7f" + std::string(1, '\0') + "end", nullptr);
        sql.insert_event(t + 1, TT_WARN, "bad attrs", "{\"k\":\"v\xC0\xAF\",\"ctl\":\"a\\u0001b\"}");
        sql.insert_event(t + 2, TT_WARN, "attrs not json", "not json {\xFF");
        sql.insert_event(t + 3, TT_WARN, "attrs over lines", "{\n  \"a\": \"b\",\n  \"n\": [1, 2.5e3, true, null]\n}");
        sql.insert_event(t + 4, TT_WARN, "attrs lone surrogate", R"({"s":"\ud800"})");
        sql.insert_event(t + 5, TT_WARN, "attrs an array", R"(["a"])");
    }
    Run r = cli({"dump", db});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    // No raw control byte anywhere but the line ends.
    for (char ch : r.out) CHECK((static_cast<unsigned char>(ch) >= 0x20 || ch == '\n'));
    auto rows = ndjson(r.out);  // nlohmann rejects invalid UTF-8: parsing is the check
    REQUIRE(rows.size() == 7);
    const std::string fffd = "\xEF\xBF\xBD";
    CHECK(rows[0].at("message") == "api " + fffd + fffd + " bad " + fffd + "(");
    CHECK(rows[0].at("attrs").at("k") == "v" + fffd);
    // The NUL was cut by SQLite's text handling or kept escaped; either way valid JSON.
    std::string m = rows[1].at("message");
    CHECK(m.rfind("raw " + fffd + fffd + " bad " + fffd + "(\x01\x1b[31m\x7f", 0) == 0);
    CHECK(rows[2].at("attrs").at("k") == "v" + fffd + fffd);
    CHECK(rows[2].at("attrs").at("ctl") == "a\x01" "b");
    // Not an object: kept as a string rather than lost, and the user is told.
    CHECK(rows[3].at("attrs").at("telltale.attrs_raw") == "not json {" + fffd);
    CHECK(rows[4].at("attrs") == json{{"a", "b"}, {"n", json::array({1, 2500.0, true, nullptr})}});
    CHECK(rows[5].at("attrs").contains("telltale.attrs_raw"));
    CHECK(rows[6].at("attrs").at("telltale.attrs_raw") == R"(["a"])");
    CHECK(contains(r.err, "telltale.attrs_raw"));
    CHECK(contains(r.err, "3 event"));
}

TEST_CASE("stats --json gives numbers that match the buffer") {
    TempDir dir;
    std::string db = dir.file("app.db");
    make_buffer(db, {{TT_INFO, "1", {}}, {TT_INFO, "2", {}}, {TT_WARN, "3", {}}, {TT_ERROR, "4", {{"a", "b"}}}});
    make_buffer(db, {{TT_DEBUG, "5", {}}, {static_cast<tt_level>(15), "6", {}}});  // a second session
    {
        tt_client *c = open_buffer(db);  // a third, with two requests and a span
        for (int i = 0; i < 2; ++i) {
            tt_request *req = nullptr;
            REQUIRE(tt_request_begin(&req, c, "POST", "https://api.example.com/sync") == TT_OK);
            REQUIRE(tt_request_end(req, 200, nullptr) == TT_OK);
        }
        tt_span *span = nullptr;
        REQUIRE(tt_span_begin(&span, c, "load settings") == TT_OK);
        REQUIRE(tt_span_end(span, nullptr) == TT_OK);
        REQUIRE(tt_close(c, 10000) == TT_OK);
    }

    Run r = cli({"stats", "--json", db});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    json s = json::parse(r.out);
    INFO(s.dump());
    Sql sql(db);
    CHECK(s.at("events") == 6);
    CHECK(s.at("requests") == 3);  // request and span records, like tt_stats.requests
    CHECK(s.at("requests") == sql.integer("SELECT count(*) FROM requests"));
    CHECK(s.at("reports_pending") == 0);  // no reports table yet: empty, not an error
    CHECK(s.at("sessions") == 3);
    CHECK(s.at("schema_version") == sql.integer("PRAGMA user_version"));
    CHECK(s.at("by_level") == json{{"TRACE", 0}, {"DEBUG", 1}, {"INFO", 2}, {"WARN", 2}, {"ERROR", 1}, {"FATAL", 0}});

    Run d = cli({"dump", db});
    auto rows = ndjson(d.out);
    REQUIRE(rows.size() == 6);
    CHECK(s.at("oldest") == rows.front().at("time"));
    CHECK(s.at("newest") == rows.back().at("time"));

    CHECK(s.at("db_bytes") == sql.integer("PRAGMA page_count") * sql.integer("PRAGMA page_size"));
    CHECK(s.at("install_id") == sql.text("SELECT value FROM meta WHERE key='install_id'"));
    std::error_code ec;
    auto wal = fs::file_size(db + "-wal", ec);
    CHECK(s.at("wal_bytes") == (ec ? 0 : wal));

    // The same numbers in the table for people.
    Run t = cli({"stats", db});
    REQUIRE_MESSAGE(t.code == 0, t.err);
    CHECK(std::regex_search(t.out, std::regex(R"(events\s+6\n)")));
    CHECK(std::regex_search(t.out, std::regex(R"(sessions\s+3\n)")));
    CHECK(contains(t.out, rows.front().at("time").get<std::string>()));
}

TEST_CASE("stats on an empty buffer: zero events, no times") {
    TempDir dir;
    std::string db = dir.file("app.db");
    make_buffer(db, {});
    Run r = cli({"stats", db, "--json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    json s = json::parse(r.out);
    CHECK(s.at("events") == 0);
    CHECK(s.at("oldest").is_null());
    CHECK(s.at("newest").is_null());
    CHECK(s.at("sessions") == 0);  // the session row goes in with the first batch, and nothing was logged
    CHECK(s.at("db_bytes").get<int64_t>() > 0);
    Run d = cli({"dump", db});
    CHECK(d.code == 0);
    CHECK(d.out.empty());
}

TEST_CASE("verify says ok on a good buffer and lists the damage of a broken one") {
    TempDir dir;
    std::string db = dir.file("app.db");
    std::vector<Event> events;
    for (int i = 0; i < 4000; ++i)
        events.push_back({TT_INFO, "event number " + std::to_string(i) + " " + std::string(150, 'x'), {{"i", std::to_string(i)}}});
    make_buffer(db, events);

    Run ok = cli({"verify", db});
    CHECK_MESSAGE(ok.code == 0, ok.err);
    CHECK(ok.out == "ok\n");

    // Everything must be in the main file, or the WAL would hide the damage.
    std::error_code ec;
    auto wal = fs::file_size(db + "-wal", ec);
    REQUIRE((ec || wal == 0));
    const size_t page = 4096;
    size_t pages = fs::file_size(db) / page;
    REQUIRE(pages > 40);
    {
        int fd = ::open(db.c_str(), O_WRONLY);
        REQUIRE(fd >= 0);
        std::mt19937 rng(7);
        std::string junk(page * 4, '\0');
        for (auto &ch : junk) ch = static_cast<char>(rng());
        REQUIRE(pwrite(fd, junk.data(), junk.size(), static_cast<off_t>(pages / 2 * page)) == static_cast<ssize_t>(junk.size()));
        ::close(fd);
    }
    Run bad = cli({"verify", db});
    CHECK(bad.code == 1);
    CHECK(bad.out != "ok\n");
    CHECK(!bad.out.empty());
    CHECK(contains(bad.err, "problem"));
    INFO(bad.out);

    // dump stops with an exit code rather than print a partial file as if complete.
    Run d = cli({"dump", db});
    CHECK(d.code == 1);
    CHECK(contains(d.err, "damaged"));
    CHECK(contains(d.err, "telltale verify"));
}

TEST_CASE("a missing file, a directory, an empty file or a non-database: exit 1 with a message, nothing created") {
    TempDir dir;
    std::string missing = dir.file("nope.db");
    for (const char *verb : {"dump", "stats", "verify"}) {
        Run r = cli({verb, missing});
        CHECK(r.code == 1);
        CHECK(contains(r.err, "no buffer at " + missing));
        CHECK(contains(r.err, "hint:"));
        CHECK(r.out.empty());
    }
    CHECK(fs::is_empty(dir.path));  // no nope.db, no -wal, no -shm

    Run r = cli({"dump", dir.file("sub/dir/x.db")});
    CHECK(r.code == 1);
    CHECK(contains(r.err, "no buffer at"));

    r = cli({"dump", dir.path.string()});
    CHECK(r.code == 1);
    CHECK(contains(r.err, "is a directory"));

    std::string text = dir.file("notes.txt");
    std::string content = "these are my notes, not a database; long enough to fill a header of one hundred bytes or more.....\n";
    std::ofstream(text) << content;
    for (const char *verb : {"dump", "stats", "verify"}) {
        r = cli({verb, text});
        CHECK(r.code == 1);
        CHECK(contains(r.err, "not a telltale buffer"));
        CHECK(contains(r.err, "file is not a database"));
        CHECK(r.out.empty());
    }
    CHECK(read_all(text) == content);

    std::string empty = dir.file("empty.db");
    std::ofstream(empty).close();
    r = cli({"dump", empty});
    CHECK(r.code == 1);
    CHECK(contains(r.err, "empty"));
    CHECK(fs::file_size(empty) == 0);

    // An SQLite file that is not ours.
    std::string other = dir.file("other.db");
    {
        sqlite3 *h = nullptr;
        REQUIRE(sqlite3_open(other.c_str(), &h) == SQLITE_OK);
        REQUIRE(sqlite3_exec(h, "CREATE TABLE t(x)", nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(h);
    }
    r = cli({"stats", "--json", other});
    CHECK(r.code == 1);
    CHECK(contains(r.err, "not a telltale buffer"));
    r = cli({"verify", other});
    CHECK(r.code == 1);
    CHECK(contains(r.out, "events table is missing"));
}

TEST_CASE("wrong command lines exit 2 with a usage text") {
    TempDir dir;
    std::string db = dir.file("app.db");
    make_buffer(db, {{TT_INFO, "x", {}}});
    struct Case {
        std::vector<std::string> args;
        std::string says;
    };
    std::vector<Case> cases = {
        {{}, "usage"},
        {{"frobnicate"}, "unknown verb"},
        {{"dump"}, "DB is missing"},
        {{"dump", db, db}, "one DB at a time"},
        {{"dump", db, "--level", "loud"}, "--level"},
        {{"dump", db, "--level", "0"}, "--level"},
        {{"dump", db, "--level", "25"}, "--level"},
        {{"dump", db, "--level"}, "--level needs a value"},
        {{"dump", db, "--since", "yesterday"}, "--since"},
        {{"dump", db, "--since", "5x"}, "--since"},
        {{"dump", db, "--since", "10"}, "--since"},  // not the error: see below
        {{"dump", db, "--since", "2026-13-01T00:00:00Z"}, "--since"},
        {{"dump", db, "--since", "2026-11-29T09:25:46"}, "--since"},  // no offset: ambiguous
        {{"dump", db, "--since", "99999999999999999999"}, "--since"},
        {{"dump", db, "--since"}, "--since needs a value"},
        {{"dump", db, "--frob"}, "unknown option --frob"},
        {{"stats", db, "--json=yes"}, "--json"},
        {{"stats"}, "DB is missing"},
        {{"verify", db, "--json"}, "unknown option"},
        {{"version", "extra"}, "version"},
        {{"help", "nosuchverb"}, "nosuchverb"},
    };
    for (const auto &c : cases) {
        std::string joined;
        for (const auto &a : c.args) joined += a + " ";
        INFO("telltale ", joined);
        Run r = cli(c.args);
        if (c.args.size() == 4 && c.args[3] == "10") {
            // Digits are unix nanoseconds; a value this small is surely a mistake: warned, not refused.
            CHECK(r.code == 0);
            CHECK(contains(r.err, "unix nanoseconds"));
            continue;
        }
        CHECK(r.code == 2);
        CHECK(contains(r.err, c.says));
        CHECK(contains(r.err, "usage"));
        CHECK(r.out.empty());
    }
    // Bad values name the flag and show the valid forms.
    Run r = cli({"dump", db, "--since", "yesterday"});
    CHECK(contains(r.err, "30s"));
    CHECK(contains(r.err, "RFC 3339"));
    CHECK(contains(r.err, "nanoseconds"));
    r = cli({"dump", db, "--level", "loud"});
    CHECK(contains(r.err, "warn"));
    CHECK(contains(r.err, "1..24"));

    for (std::vector<std::string> help : {std::vector<std::string>{"--help"}, {"help"}, {"-h"}, {"help", "dump"}, {"dump", "--help"}}) {
        Run h = cli(help);
        CHECK(h.code == 0);
        CHECK(contains(h.out, "telltale dump DB"));
        CHECK(h.err.empty());
    }
    Run v = cli({"version"});
    CHECK(v.code == 0);
    CHECK(contains(v.out, TT_VERSION_STRING));
    CHECK(contains(v.out, tt_version()));
    CHECK(cli({"--version"}).code == 0);
}

TEST_CASE("a buffer from before the requests table: requests count as 0, everything else works") {
    TempDir dir;
    std::string db = dir.file("app.db");
    make_buffer(db, {{TT_INFO, "old", {}}});
    {
        // Schema 1 as the first release left it: no requests, no request_ids.
        Sql sql(db);
        sql.exec("DROP TABLE request_ids; DROP TABLE requests; DROP INDEX IF EXISTS events_trace; PRAGMA user_version=1;");
    }
    Run s = cli({"stats", "--json", db});
    REQUIRE_MESSAGE(s.code == 0, s.err);
    CHECK(s.err.empty());
    json j = json::parse(s.out);
    CHECK(j.at("requests") == 0);
    CHECK(j.at("reports_pending") == 0);
    CHECK(j.at("events") == 1);
    CHECK(j.at("schema_version") == 1);
    Run d = cli({"dump", db});
    REQUIRE_MESSAGE(d.code == 0, d.err);
    CHECK(d.err.empty());
    CHECK(ndjson(d.out).size() == 1);
    Run v = cli({"verify", db});
    CHECK_MESSAGE(v.code == 0, v.out);
    CHECK(v.out == "ok\n");
}

TEST_CASE("a buffer from a newer schema: dump what can be read, with a warning; missing tables count as empty") {
    TempDir dir;
    std::string db = dir.file("app.db");
    tt_client *c = open_buffer(db);
    REQUIRE(tt_log(c, TT_INFO, "one") == TT_OK);
    REQUIRE(tt_log(c, TT_ERROR, "two") == TT_OK);
    tt_request *req = nullptr;
    REQUIRE(tt_request_begin(&req, c, "GET", "https://api.example.com/") == TT_OK);
    REQUIRE(tt_request_end(req, 200, nullptr) == TT_OK);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    int64_t future = 0;
    {
        // What a later telltale might leave: a higher version, a new column, a new table,
        // and reports in their states.
        Sql sql(db);
        future = sql.integer("PRAGMA user_version") + 5;
        sql.exec("PRAGMA user_version=" + std::to_string(future) + ";"
                 "ALTER TABLE events ADD COLUMN service TEXT;"
                 "CREATE TABLE future_things(id INTEGER PRIMARY KEY);"
                 "INSERT INTO reports(id, created_ns, state, options, last_event_id, last_request_id) VALUES"
                 "('r1', 1, 'pending', '{}', 0, 0), ('r2', 2, 'sent', '{}', 0, 0), ('r3', 3, 'assembling', '{}', 0, 0);");
    }
    Run d = cli({"dump", db});
    REQUIRE_MESSAGE(d.code == 0, d.err);
    auto rows = ndjson(d.out);
    REQUIRE(rows.size() == 2);
    CHECK(rows[1].at("message") == "two");
    CHECK(contains(d.err, "warning"));
    CHECK(contains(d.err, "newer"));

    Run s = cli({"stats", "--json", db});
    REQUIRE_MESSAGE(s.code == 0, s.err);
    json j = json::parse(s.out);
    CHECK(j.at("schema_version") == future);
    CHECK(j.at("requests") == 1);
    CHECK(j.at("reports_pending") == 2);
    CHECK(j.at("events") == 2);

    Run v = cli({"verify", db});
    CHECK(v.code == 1);
    CHECK(contains(v.out, "newer"));
}

TEST_CASE("dump and stats work while another thread keeps logging and flushing into the buffer") {
    TempDir dir;
    std::string db = dir.file("app.db");
    tt_client *c = open_buffer(db);
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> logged{0};
    // Paced and capped, so a slow reader (a sanitizer build) never faces an endless buffer,
    // and the buffer stays far below its retention cap: every event stays countable.
    constexpr uint64_t kCap = 40000;
    std::thread writer([&] {
        uint64_t n = 0;
        while (!stop.load() && n < kCap) {
            for (int i = 0; i < 20; ++i) {
                std::string msg = "live " + std::to_string(n);
                tt_attr a{"n", msg.c_str()};
                if (tt_log_attrs(c, TT_INFO, msg.c_str(), &a, 1) == TT_OK) ++n;
            }
            tt_flush(c, 10000);
            logged.store(n);
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    });
    // Let it get going so the WAL has content.
    while (logged.load() < 200) std::this_thread::sleep_for(std::chrono::milliseconds(1));

    size_t last = 0;
    for (int round = 0; round < 8; ++round) {
        uint64_t committed_before = logged.load();
        if (round == 0) CHECK(committed_before < kCap);  // the writer is still at it
        Run r = cli({"dump", db});
        REQUIRE_MESSAGE(r.code == 0, r.err);
        auto rows = ndjson(r.out);
        CHECK(rows.size() >= committed_before);  // everything flushed before we looked
        CHECK(rows.size() >= last);
        last = rows.size();
        bool ordered = true;
        for (size_t i = 1; i < rows.size(); ++i) ordered = ordered && ns_of(rows[i - 1]) <= ns_of(rows[i]);
        CHECK(ordered);

        Run s = cli({"stats", "--json", db});
        REQUIRE_MESSAGE(s.code == 0, s.err);
        CHECK(json::parse(s.out).at("events").get<uint64_t>() >= last);
    }
    stop.store(true);
    writer.join();
    tt_stats st = TT_STATS_INIT;
    REQUIRE(tt_stats_get(c, &st) == TT_OK);
    CHECK(st.dropped == 0);
    REQUIRE(tt_close(c, 10000) == TT_OK);

    Run r = cli({"dump", db});
    REQUIRE(r.code == 0);
    CHECK(ndjson(r.out).size() == logged.load());
    CHECK(cli({"verify", db}).out == "ok\n");
}

// ------------------------------------------------------------------------------ requests

namespace {

struct Ids {
    std::string trace, span;
};

std::string hex(const uint8_t *p, size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        s += digits[p[i] >> 4];
        s += digits[p[i] & 15];
    }
    return s;
}

Ids ids_of(const tt_request *r) {
    std::string tp = tt_request_traceparent(r);  // 00-<trace>-<span>-01
    REQUIRE(tp.size() == 55);
    return {tp.substr(3, 32), tp.substr(36, 16)};
}

// The ids of the thread's current request or span.
Ids current_ids() {
    tt_context ctx;
    tt_context_get(&ctx);
    REQUIRE(ctx.valid == 1);
    return {hex(ctx.trace_id, 16), hex(ctx.span_id, 8)};
}

// Six records, in start order: a, s (a span), b (a call inside s), c, d, e (a span that failed).
struct Scenario {
    Ids a, s, b, c, d, e;
};

Scenario make_requests_buffer(const std::string &db) {
    Scenario sc;
    tt_client *c = open_buffer(db);
    REQUIRE(tt_log(c, TT_INFO, "before") == TT_OK);

    tt_request *r = nullptr;
    REQUIRE(tt_request_begin(&r, c, "GET", "https://api.example.com/v1/items?token=secret") == TT_OK);
    sc.a = ids_of(r);
    tt_attr page{"page", "2"};
    REQUIRE(tt_log_attrs(c, TT_INFO, "loading items", &page, 1) == TT_OK);
    REQUIRE(tt_request_header(r, "X-Reqid", "reqid-A") == TT_OK);
    REQUIRE(tt_request_header(r, "Content-Type", "application/json") == TT_OK);  // not an id: not kept
    REQUIRE(tt_request_header(r, "X-Request-Id", "rid-A") == TT_OK);
    REQUIRE(tt_request_header(r, "Server-Timing", "db;dur=5") == TT_OK);
    REQUIRE(tt_request_bytes(r, 100, 2000) == TT_OK);
    REQUIRE(tt_request_end(r, 200, nullptr) == TT_OK);

    tt_span *sp = nullptr;
    REQUIRE(tt_span_begin(&sp, c, "load settings") == TT_OK);
    sc.s = current_ids();
    REQUIRE(tt_log(c, TT_INFO, "in the span") == TT_OK);
    REQUIRE(tt_request_begin(&r, c, "post", "https://API.example.com:8443/v1/save") == TT_OK);
    sc.b = ids_of(r);
    REQUIRE(tt_log(c, TT_WARN, "saving") == TT_OK);
    REQUIRE(tt_request_header(r, "x-reqid", "reqid-B") == TT_OK);
    REQUIRE(tt_request_end(r, 503, "service unavailable") == TT_OK);
    REQUIRE(tt_log(c, TT_INFO, "back in the span") == TT_OK);
    REQUIRE(tt_span_end(sp, nullptr) == TT_OK);

    REQUIRE(tt_request_begin(&r, c, "GET", "http://127.0.0.1:9/x") == TT_OK);
    sc.c = ids_of(r);
    REQUIRE(tt_log(c, TT_ERROR, "connecting") == TT_OK);
    REQUIRE(tt_request_end(r, 0, "Couldn't connect to server") == TT_OK);
    REQUIRE(tt_log(c, TT_INFO, "between") == TT_OK);

    REQUIRE(tt_request_begin(&r, c, "DELETE", "https://api.example.com/v1/items/7") == TT_OK);
    sc.d = ids_of(r);
    REQUIRE(tt_request_header(r, "Server-Timing", "cache;desc=miss") == TT_OK);  // not the id to show
    REQUIRE(tt_request_header(r, "X-Request-Id", "rid-D") == TT_OK);
    REQUIRE(tt_request_end(r, 404, nullptr) == TT_OK);

    REQUIRE(tt_span_begin(&sp, c, "parse config") == TT_OK);
    sc.e = current_ids();
    REQUIRE(tt_log(c, TT_DEBUG, "parsing") == TT_OK);
    REQUIRE(tt_span_end(sp, "bad json at line 3") == TT_OK);
    REQUIRE(tt_log(c, TT_INFO, "after") == TT_OK);
    REQUIRE(tt_flush(c, 10000) == TT_OK);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    // Six records, each in a trace of its own but b, which is in s's.
    CHECK(sc.b.trace == sc.s.trace);
    CHECK(sc.a.trace != sc.s.trace);
    return sc;
}

std::vector<std::string> lines_of(const std::string &out) {
    std::vector<std::string> lines;
    std::istringstream in(out);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
}

std::vector<std::string> field(const std::vector<json> &rows, const char *key) {
    std::vector<std::string> v;
    for (const auto &r : rows) v.push_back(r.at(key).is_null() ? std::string("null") : r.at(key).get<std::string>());
    return v;
}

std::vector<std::string> messages_of(const json &events) {
    std::vector<std::string> v;
    for (const auto &e : events) v.push_back(e.at("message"));
    return v;
}

// `requests DB --id ID --json`, parsed; fails the test unless it exits 0.
json lookup(const std::string &db, const std::string &id) {
    Run r = cli({"requests", db, "--id", id, "--json"});
    INFO("--id ", id, ": ", r.err);
    REQUIRE(r.code == 0);
    auto rows = ndjson(r.out);
    REQUIRE(rows.size() == 1);
    return rows[0];
}

}  // namespace

TEST_CASE("requests lists requests and spans oldest first, one line each, with their outcome and ids") {
    TempDir dir;
    std::string db = dir.file("app.db");
    Scenario sc = make_requests_buffer(db);
    std::string before = read_all(db);

    Run r = cli({"requests", db});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.err.empty());
    INFO(r.out);
    auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 7);  // a header and six records
    CHECK(std::regex_search(lines[0], std::regex(R"(^TIME\s+METHOD\s+TARGET\s+STATUS\s+DURATION\s+TRACE ID\s+SERVER ID\s+ERROR$)")));
    // Columns line up: every row has its trace id where the header has TRACE ID.
    size_t trace_col = lines[0].find("TRACE ID");
    const std::vector<std::string> traces = {sc.a.trace, sc.s.trace, sc.b.trace, sc.c.trace, sc.d.trace, sc.e.trace};
    for (size_t i = 1; i < lines.size(); ++i) CHECK(lines[i].substr(trace_col, 32) == traces[i - 1]);

    const std::regex row_re(R"(^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\s+(\S+)\s+(\S+)\s+(.+?)\s+(\d+\.\d+ ms)\s+([0-9a-f]{32})\s*(.*)$)");
    struct Want {
        std::string method, target, status, server_id, error;
    };
    std::vector<Want> want = {
        {"GET", "api.example.com/v1/items", "200", "reqid-A", ""},
        {"span", "load", "ok", "-", ""},  // the target is the span's name, "load settings"
        {"POST", "api.example.com:8443/v1/save", "503", "reqid-B", "service unavailable"},
        {"GET", "127.0.0.1:9/x", "no response", "-", "Couldn't connect to server"},
        {"DELETE", "api.example.com/v1/items/7", "404", "rid-D", ""},
        {"span", "parse", "failed", "-", "bad json at line 3"},
    };
    for (size_t i = 0; i < want.size(); ++i) {
        const std::string &l = lines[i + 1];
        INFO("row ", i, ": ", l);
        std::smatch m;
        REQUIRE(std::regex_match(l, m, row_re));
        CHECK(m[2] == want[i].method);
        CHECK(m[3] == want[i].target);
        CHECK(contains(m[4].str(), want[i].status));
        std::string rest = m[7];
        CHECK(rest.rfind(want[i].server_id, 0) == 0);
        if (want[i].error.empty()) CHECK(rest == want[i].server_id);
        else CHECK(contains(rest, want[i].error));
    }
    CHECK(contains(lines[2], "load settings"));
    CHECK(contains(lines[6], "parse config"));
    CHECK(!contains(r.out, "secret"));  // the query string is never stored
    CHECK(read_all(db) == before);      // read-only
}

TEST_CASE("requests --json: one object per request with every field, server_ids and timing as objects") {
    TempDir dir;
    std::string db = dir.file("app.db");
    Scenario sc = make_requests_buffer(db);
    Run r = cli({"requests", db, "--json"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.err.empty());
    auto rows = ndjson(r.out);
    REQUIRE(rows.size() == 6);
    CHECK(field(rows, "span_id") == std::vector<std::string>{sc.a.span, sc.s.span, sc.b.span, sc.c.span, sc.d.span, sc.e.span});
    CHECK(field(rows, "kind") == std::vector<std::string>{"http", "span", "http", "http", "http", "span"});
    const char *keys[] = {"id",     "time",  "start_unix_nano", "duration_ns",    "kind",      "name",     "method",
                          "scheme", "host",  "port",            "path",           "status",    "error",    "failed",
                          "trace_id", "span_id", "parent_span_id", "server_ids", "timing", "server_ip", "server_port",
                          "bytes_up", "bytes_down", "thread", "session"};
    int64_t prev = 0;
    for (const auto &row : rows) {
        INFO(row.dump());
        for (const char *k : keys) CHECK_MESSAGE(row.contains(k), k);
        int64_t t = std::stoll(row.at("start_unix_nano").get<std::string>());
        CHECK(t >= prev);
        prev = t;
        CHECK(row.at("time") == rfc3339(t));
        CHECK(t > now_ns() - 600'000'000'000);
        CHECK(row.at("duration_ns").get<int64_t>() >= 0);
        CHECK(row.at("server_ids").is_object());
        CHECK(row.at("timing").is_null());  // only the libcurl helper knows the breakdown
        CHECK(row.at("thread").get<int64_t>() > 0);
        CHECK(row.at("session").get<int64_t>() >= 1);
    }
    const json &a = rows[0];
    CHECK(a.at("method") == "GET");
    CHECK(a.at("scheme") == "https");
    CHECK(a.at("host") == "api.example.com");
    CHECK(a.at("port").is_null());
    CHECK(a.at("path") == "/v1/items");
    CHECK(a.at("status") == 200);
    CHECK(a.at("error").is_null());
    CHECK(a.at("failed") == false);
    CHECK(a.at("trace_id") == sc.a.trace);
    CHECK(a.at("parent_span_id").is_null());
    CHECK(a.at("server_ids") == json{{"x-reqid", "reqid-A"}, {"x-request-id", "rid-A"}, {"server-timing", "db;dur=5"}});
    CHECK(a.at("bytes_up") == 100);
    CHECK(a.at("bytes_down") == 2000);
    CHECK(a.at("server_ip").is_null());

    const json &s = rows[1];
    CHECK(s.at("name") == "load settings");
    CHECK(s.at("method").is_null());
    CHECK(s.at("status").is_null());
    CHECK(s.at("failed") == false);
    CHECK(s.at("server_ids") == json::object());

    const json &b = rows[2];
    CHECK(b.at("method") == "POST");
    CHECK(b.at("host") == "api.example.com");
    CHECK(b.at("port") == 8443);
    CHECK(b.at("status") == 503);
    CHECK(b.at("error") == "service unavailable");
    CHECK(b.at("failed") == true);
    CHECK(b.at("trace_id") == sc.s.trace);
    CHECK(b.at("parent_span_id") == sc.s.span);
    CHECK(b.at("server_ids") == json{{"x-reqid", "reqid-B"}});
    CHECK(s.at("duration_ns").get<int64_t>() >= b.at("duration_ns").get<int64_t>());  // b ran inside s

    CHECK(rows[3].at("status") == 0);
    CHECK(rows[3].at("failed") == true);
    CHECK(rows[3].at("error") == "Couldn't connect to server");
    CHECK(rows[4].at("status") == 404);
    CHECK(rows[4].at("failed") == true);
    CHECK(rows[5].at("error") == "bad json at line 3");
    CHECK(rows[5].at("failed") == true);

    // The same records as the table, and as stats counts them.
    CHECK(json::parse(cli({"stats", "--json", db}).out).at("requests") == 6);
}

TEST_CASE("requests --failed, --limit and --since narrow the list") {
    TempDir dir;
    std::string db = dir.file("app.db");
    Scenario sc = make_requests_buffer(db);
    auto spans = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"requests", db, "--json"});
        Run r = cli(args);
        REQUIRE_MESSAGE(r.code == 0, r.err);
        return field(ndjson(r.out), "span_id");
    };
    using V = std::vector<std::string>;
    // Failures: no response, HTTP >= 400, or an error text (a span's too).
    CHECK(spans({"--failed"}) == V{sc.b.span, sc.c.span, sc.d.span, sc.e.span});
    CHECK(spans({"--limit", "2"}) == V{sc.d.span, sc.e.span});  // the newest two, still oldest first
    CHECK(spans({"--limit=1"}) == V{sc.e.span});
    CHECK(spans({"--limit", "100"}).size() == 6);
    CHECK(spans({"--failed", "--limit", "3"}) == V{sc.c.span, sc.d.span, sc.e.span});
    CHECK(spans({"--since", "1h"}).size() == 6);

    Run all = cli({"requests", db, "--json"});
    auto rows = ndjson(all.out);
    REQUIRE(rows.size() == 6);
    std::string b_start = rows[2].at("start_unix_nano");
    CHECK(spans({"--since", b_start}) == V{sc.b.span, sc.c.span, sc.d.span, sc.e.span});
    CHECK(spans({"--since", rows[2].at("time")}) == V{sc.b.span, sc.c.span, sc.d.span, sc.e.span});
    CHECK(spans({"--since", "2099-01-01"}).empty());

    // The table filters the same way.
    Run t = cli({"requests", db, "--failed"});
    REQUIRE(t.code == 0);
    auto lines = lines_of(t.out);
    REQUIRE(lines.size() == 5);
    CHECK(contains(lines[1], "503"));
    CHECK(contains(lines[2], "no response"));
    CHECK(contains(lines[3], "404"));
    CHECK(contains(lines[4], "bad json"));
    // Nothing left: no output, and a word on stderr for people.
    Run none = cli({"requests", db, "--since", "2099-01-01"});
    CHECK(none.code == 0);
    CHECK(none.out.empty());
    CHECK(contains(none.err, "no requests"));
}

TEST_CASE("requests --id by trace id: the request, all its ids, and exactly the events logged inside it") {
    TempDir dir;
    std::string db = dir.file("app.db");
    Scenario sc = make_requests_buffer(db);

    json j = lookup(db, sc.a.trace);
    INFO(j.dump(2));
    CHECK(j.at("query") == sc.a.trace);
    REQUIRE(j.at("requests").size() == 1);
    const json &a = j.at("requests")[0];
    CHECK(a.at("span_id") == sc.a.span);
    CHECK(a.at("matched_by") == json::array({"trace_id"}));
    CHECK(a.at("status") == 200);
    CHECK(a.at("server_ids") == json{{"x-reqid", "reqid-A"}, {"x-request-id", "rid-A"}, {"server-timing", "db;dur=5"}});
    CHECK(a.at("request_ids") == json::array({{{"name", "x-reqid"}, {"value", "reqid-A"}},
                                              {{"name", "x-request-id"}, {"value", "rid-A"}},
                                              {{"name", "server-timing"}, {"value", "db;dur=5"}}}));
    CHECK(j.at("other_spans").empty());
    REQUIRE(j.at("events").size() == 1);
    const json &e = j.at("events")[0];
    CHECK(e.at("message") == "loading items");
    CHECK(e.at("level") == "INFO");
    CHECK(e.at("attrs") == json{{"page", "2"}});
    CHECK(e.at("trace_id") == sc.a.trace);
    CHECK(e.at("span_id") == sc.a.span);

    // Upper case, or pasted with spaces or quotes around it: the same.
    std::string upper = sc.a.trace;
    for (auto &ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    CHECK(lookup(db, upper).at("requests") == j.at("requests"));
    CHECK(lookup(db, " \"" + sc.a.trace + "\" ").at("events") == j.at("events"));

    // The text for people.
    Run r = cli({"requests", db, "--id", sc.a.trace});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.err.empty());
    INFO(r.out);
    CHECK(contains(r.out, "GET https://api.example.com/v1/items\n"));
    CHECK(std::regex_search(r.out, std::regex(R"(matched by\s+trace id\n)")));
    CHECK(std::regex_search(r.out, std::regex(R"(status\s+200\n)")));
    CHECK(std::regex_search(r.out, std::regex(R"(error\s+none\n)")));
    CHECK(std::regex_search(r.out, std::regex("trace id\\s+" + sc.a.trace + "\n")));
    CHECK(std::regex_search(r.out, std::regex("span id\\s+" + sc.a.span + "\n")));
    CHECK(std::regex_search(r.out, std::regex(R"(parent span\s+none)")));
    CHECK(std::regex_search(r.out, std::regex(R"(server ids\s+x-reqid: reqid-A\n\s+x-request-id: rid-A\n\s+server-timing: db;dur=5\n)")));
    CHECK(std::regex_search(r.out, std::regex(R"(bytes\s+sent 100, received 2000\n)")));
    CHECK(contains(r.out, "events logged inside (1, oldest first):\n"));
    CHECK(std::regex_search(r.out, std::regex(R"(\n  \d{4}-\d\d-\d\dT\S+Z  INFO   loading items  \{"page":"2"\}\n)")));
    for (const char *outside : {"before", "between", "after", "saving", "connecting"}) CHECK(!contains(r.out, outside));
}

TEST_CASE("requests --id by server request id, span id or traceparent: that one request, its trace around it, the events inside") {
    TempDir dir;
    std::string db = dir.file("app.db");
    Scenario sc = make_requests_buffer(db);

    // A server id names one call: b, inside the span s.
    json j = lookup(db, "reqid-B");
    INFO(j.dump(2));
    REQUIRE(j.at("requests").size() == 1);
    const json &b = j.at("requests")[0];
    CHECK(b.at("span_id") == sc.b.span);
    CHECK(b.at("matched_by") == json::array({"x-reqid"}));
    CHECK(b.at("status") == 503);
    CHECK(b.at("error") == "service unavailable");
    CHECK(b.at("parent_span_id") == sc.s.span);
    REQUIRE(j.at("other_spans").size() == 1);
    CHECK(j.at("other_spans")[0].at("span_id") == sc.s.span);
    CHECK(j.at("other_spans")[0].at("relation") == "parent");
    CHECK(messages_of(j.at("events")) == std::vector<std::string>{"saving"});  // not the span's own events
    CHECK(j.at("events")[0].at("span_id") == sc.b.span);
    CHECK(j.at("events")[0].at("level") == "WARN");

    Run r = cli({"requests", db, "--id", "reqid-B"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    INFO(r.out);
    CHECK(contains(r.out, "POST https://api.example.com:8443/v1/save\n"));
    CHECK(std::regex_search(r.out, std::regex(R"(matched by\s+x-reqid header\n)")));
    CHECK(std::regex_search(r.out, std::regex(R"(status\s+503\n)")));
    CHECK(std::regex_search(r.out, std::regex(R"(error\s+service unavailable\n)")));
    CHECK(std::regex_search(r.out, std::regex("parent span\\s+" + sc.s.span + " \\(span \"load settings\"\\)\n")));
    CHECK(contains(r.out, "other spans of trace " + sc.s.trace + ":\n"));
    CHECK(std::regex_search(r.out, std::regex("\n  parent\\s+\\S+Z\\s+span \"load settings\"\\s+\\S+ ms\\s+ok\\s+span " + sc.s.span + "\n")));
    CHECK(contains(r.out, "events logged inside (1, oldest first):\n"));
    CHECK(std::regex_search(r.out, std::regex(R"(  WARN   saving\n)")));

    // Any captured header's value works, exactly as the server sent it (trimmed).
    CHECK(lookup(db, "rid-D").at("requests")[0].at("span_id") == sc.d.span);
    CHECK(lookup(db, "db;dur=5").at("requests")[0].at("span_id") == sc.a.span);
    CHECK(lookup(db, "rid-D").at("events").empty());
    Run none = cli({"requests", db, "--id", "rid-D"});
    CHECK(contains(none.out, "events logged inside: none\n"));

    // A span id names the span: its events and those of the calls inside it, oldest first.
    j = lookup(db, sc.s.span);
    REQUIRE(j.at("requests").size() == 1);
    CHECK(j.at("requests")[0].at("name") == "load settings");
    CHECK(j.at("requests")[0].at("matched_by") == json::array({"span_id"}));
    CHECK(messages_of(j.at("events")) == std::vector<std::string>{"in the span", "saving", "back in the span"});
    REQUIRE(j.at("other_spans").size() == 1);
    CHECK(j.at("other_spans")[0].at("span_id") == sc.b.span);
    CHECK(j.at("other_spans")[0].at("relation") == "child");
    r = cli({"requests", db, "--id", sc.s.span});
    CHECK(std::regex_search(r.out, std::regex(R"(\n  child\s+\S+Z\s+POST api\.example\.com:8443/v1/save\s+\S+ ms\s+503\s+span [0-9a-f]{16}  service unavailable\n)")));
    CHECK(contains(r.out, "saving  (in POST api.example.com:8443/v1/save)"));  // which span, when there are several

    // The trace id of s names s and b together.
    j = lookup(db, sc.s.trace);
    REQUIRE(j.at("requests").size() == 2);
    CHECK(j.at("requests")[0].at("span_id") == sc.s.span);
    CHECK(j.at("requests")[1].at("span_id") == sc.b.span);
    CHECK(j.at("other_spans").empty());
    CHECK(messages_of(j.at("events")) == std::vector<std::string>{"in the span", "saving", "back in the span"});
    r = cli({"requests", db, "--id", sc.s.trace});
    CHECK(r.out.rfind("2 requests match " + sc.s.trace + "\n", 0) == 0);

    // A traceparent, as the server logged it, names the call it came with.
    j = lookup(db, "00-" + sc.b.trace + "-" + sc.b.span + "-01");
    REQUIRE(j.at("requests").size() == 1);
    CHECK(j.at("requests")[0].at("span_id") == sc.b.span);
    CHECK(j.at("requests")[0].at("matched_by") == json::array({"traceparent"}));

    // A call that got no response.
    j = lookup(db, sc.c.trace);
    CHECK(j.at("requests")[0].at("status") == 0);
    CHECK(messages_of(j.at("events")) == std::vector<std::string>{"connecting"});
    r = cli({"requests", db, "--id", sc.c.span});
    CHECK(std::regex_search(r.out, std::regex(R"(status\s+no response\n)")));
    CHECK(std::regex_search(r.out, std::regex(R"(error\s+Couldn't connect to server\n)")));
}

TEST_CASE("requests --id of nothing: exit 1 with the id, the kinds of ids searched and how to list") {
    TempDir dir;
    std::string db = dir.file("app.db");
    make_requests_buffer(db);
    for (std::string id : {std::string("nope-123"), std::string("REQID-B"), std::string(32, 'a'), std::string(16, '0'),
                           "00-" + std::string(32, 'b') + "-" + std::string(16, 'c') + "-01"}) {
        for (bool as_json : {false, true}) {
            std::vector<std::string> args{"requests", db, "--id", id};
            if (as_json) args.push_back("--json");
            Run r = cli(args);
            INFO(id, ": ", r.err);
            CHECK(r.code == 1);
            CHECK(r.out.empty());
            CHECK(contains(r.err, "no request with id " + id + " in " + db));
            CHECK(contains(r.err, "hint:"));
            CHECK(contains(r.err, "trace id"));
            CHECK(contains(r.err, "server request id"));
            CHECK(contains(r.err, "telltale requests " + db));
            CHECK(contains(r.err, "the 6 it holds"));
        }
    }
}

TEST_CASE("requests --id: events of a request whose record never arrived are still shown, with a warning") {
    TempDir dir;
    std::string db = dir.file("app.db");
    tt_client *c = open_buffer(db);
    tt_request *r = nullptr;
    REQUIRE(tt_request_begin(&r, c, "GET", "https://api.example.com/hangs") == TT_OK);
    Ids ids = ids_of(r);
    REQUIRE(tt_log(c, TT_INFO, "waiting for the server") == TT_OK);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    CHECK(tt_request_end(r, 200, nullptr) == TT_EMISUSE);  // too late: the record is lost

    json j = lookup(db, ids.trace);
    CHECK(j.at("requests").empty());
    CHECK(messages_of(j.at("events")) == std::vector<std::string>{"waiting for the server"});
    Run t = cli({"requests", db, "--id", ids.span});
    CHECK(t.code == 0);
    CHECK(contains(t.err, "no request record"));
    CHECK(contains(t.out, "waiting for the server"));
    CHECK(cli({"requests", db}).out.empty());
}

TEST_CASE("requests through the libcurl helper: server address and timing breakdown, found by the server's id") {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    httplib::Server srv;
    srv.Get("/api/items", [](const httplib::Request &, httplib::Response &res) {
        res.set_header("X-Reqid", "srv-reqid-77");
        res.set_header("X-Request-Id", "srv-rid-77");
        res.set_content("{\"items\":[]}", "application/json");
    });
    int port = srv.bind_to_any_port("127.0.0.1");
    std::thread th([&] { srv.listen_after_bind(); });
    while (!srv.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

    TempDir dir;
    std::string db = dir.file("app.db");
    tt_client *c = open_buffer(db);
    std::string url = "http://127.0.0.1:" + std::to_string(port) + "/api/items?token=secret";
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, +[](char *, size_t size, size_t n, void *) { return size * n; });
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    tt_curl *t = nullptr;
    REQUIRE(tt_curl_begin(&t, c, e, nullptr) == TT_OK);
    REQUIRE(tt_log(c, TT_INFO, "fetching items") == TT_OK);
    CURLcode rc = curl_easy_perform(e);
    REQUIRE(tt_curl_end(t, rc) == TT_OK);
    curl_easy_cleanup(e);
    REQUIRE(rc == CURLE_OK);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    srv.stop();
    th.join();

    json j = lookup(db, "srv-reqid-77");
    INFO(j.dump(2));
    REQUIRE(j.at("requests").size() == 1);
    const json &q = j.at("requests")[0];
    CHECK(q.at("status") == 200);
    CHECK(q.at("server_ip") == "127.0.0.1");
    CHECK(q.at("server_port") == port);
    CHECK(q.at("port") == port);
    CHECK(q.at("path") == "/api/items");
    REQUIRE(q.at("timing").is_object());
    CHECK(q.at("timing").at("total_us").get<int64_t>() > 0);
    CHECK(q.at("timing").contains("connect_us"));
    CHECK(q.at("bytes_down") == 12);
    CHECK(messages_of(j.at("events")) == std::vector<std::string>{"fetching items"});

    Run r = cli({"requests", db, "--id", "srv-rid-77"});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    INFO(r.out);
    CHECK(std::regex_search(r.out, std::regex("server\\s+127\\.0\\.0\\.1:" + std::to_string(port) + "\n")));
    CHECK(std::regex_search(r.out, std::regex(R"(timing\s+dns [\d.]+ ms, connect [\d.]+ ms, .*total [\d.]+ ms\n)")));
    CHECK(std::regex_search(r.out, std::regex(R"(matched by\s+x-request-id header\n)")));
    Run l = cli({"requests", db});
    CHECK(contains(l.out, "127.0.0.1:" + std::to_string(port) + "/api/items"));
    CHECK(contains(l.out, "srv-reqid-77"));
}

TEST_CASE("requests on a buffer from before the requests table: says so; --id exits 1") {
    TempDir dir;
    std::string db = dir.file("app.db");
    make_buffer(db, {{TT_INFO, "old", {}}});
    {
        Sql sql(db);
        sql.exec("DROP TABLE request_ids; DROP TABLE requests; DROP INDEX IF EXISTS events_trace; PRAGMA user_version=1;");
    }
    for (bool as_json : {false, true}) {
        std::vector<std::string> args{"requests", db};
        if (as_json) args.push_back("--json");
        Run r = cli(args);
        CHECK(r.code == 0);
        CHECK(r.out.empty());
        CHECK(contains(r.err, "no request records"));
        CHECK(contains(r.err, "schema 1"));
    }
    Run r = cli({"requests", db, "--id", std::string(32, 'a')});
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    CHECK(contains(r.err, "no request with id " + std::string(32, 'a') + " in " + db));
    CHECK(contains(r.err, "no request records"));
    CHECK(contains(r.err, "telltale dump"));
}

TEST_CASE("requests: wrong command lines exit 2 with a usage text") {
    TempDir dir;
    std::string db = dir.file("app.db");
    make_requests_buffer(db);
    struct Case {
        std::vector<std::string> args;
        std::string says;
    };
    std::vector<Case> cases = {
        {{"requests"}, "DB is missing"},
        {{"requests", db, db}, "one DB at a time"},
        {{"requests", db, "--frob"}, "unknown option --frob"},
        {{"requests", db, "--level", "warn"}, "unknown option --level"},
        {{"requests", db, "--json=yes"}, "--json takes no value"},
        {{"requests", db, "--failed=1"}, "--failed takes no value"},
        {{"requests", db, "--id"}, "--id needs a value"},
        {{"requests", db, "--id", ""}, "--id is empty"},
        {{"requests", db, "--id", "  "}, "--id is empty"},
        {{"requests", db, "--limit"}, "--limit needs a value"},
        {{"requests", db, "--limit", "0"}, "--limit"},
        {{"requests", db, "--limit", "-3"}, "--limit"},
        {{"requests", db, "--limit", "ten"}, "--limit"},
        {{"requests", db, "--limit", "99999999999999999999999"}, "--limit"},
        {{"requests", db, "--since", "yesterday"}, "--since"},
        {{"requests", db, "--id", "x", "--failed"}, "--failed does not go with --id"},
        {{"requests", db, "--id", "x", "--limit", "3"}, "--limit does not go with --id"},
        {{"requests", db, "--id", "x", "--since", "1h"}, "--since does not go with --id"},
    };
    for (const auto &c : cases) {
        std::string joined;
        for (const auto &a : c.args) joined += a + " ";
        INFO("telltale ", joined);
        Run r = cli(c.args);
        CHECK(r.code == 2);
        CHECK(contains(r.err, c.says));
        CHECK(contains(r.err, "usage: telltale requests"));
        CHECK(r.out.empty());
    }
    for (std::vector<std::string> help : {std::vector<std::string>{"requests", "--help"}, {"help", "requests"}, {"help"}}) {
        Run h = cli(help);
        CHECK(h.code == 0);
        CHECK(contains(h.out, "telltale requests DB"));
        CHECK(contains(h.out, "--failed"));
        CHECK(h.err.empty());
    }
}

// ------------------------------------------------------------------------ report show

namespace {

// A plain ustar archive, written here without the library's writer: damaged and foreign
// archives are made from the parts of a real report.
std::string tar_of(const std::vector<std::pair<std::string, std::string>> &files) {
    std::string out;
    for (const auto &[name, data] : files) {
        char h[512] = {};
        std::memcpy(h, name.data(), std::min<size_t>(name.size(), 100));
        std::snprintf(h + 100, 8, "%07o", 0644);
        std::snprintf(h + 108, 8, "%07o", 0);
        std::snprintf(h + 116, 8, "%07o", 0);
        std::snprintf(h + 124, 12, "%011llo", static_cast<unsigned long long>(data.size()));
        std::snprintf(h + 136, 12, "%011o", 0);
        h[156] = '0';
        std::memcpy(h + 257, "ustar", 6);
        std::memcpy(h + 263, "00", 2);
        std::memset(h + 148, ' ', 8);
        unsigned sum = 0;
        for (unsigned char c : h) sum += c;
        std::snprintf(h + 148, 8, "%06o", sum);
        out.append(h, 512);
        out += data;
        out.append((512 - data.size() % 512) % 512, '\0');
    }
    out.append(1024, '\0');
    return out;
}

// The files of a ustar archive, by name (what `tar -x` would write), for the checks.
std::map<std::string, std::string> untar(const std::string &t) {
    std::map<std::string, std::string> files;
    for (size_t off = 0; off + 512 <= t.size();) {
        const char *h = t.data() + off;
        if (h[0] == '\0') break;
        std::string name(h, strnlen(h, 100));
        size_t size = std::stoull(std::string(h + 124, 11), nullptr, 8);
        REQUIRE(off + 512 + size <= t.size());
        if (h[156] == '0') files[name] = t.substr(off + 512, size);
        off += 512 + (size + 511) / 512 * 512;
    }
    return files;
}

void write_file(const std::string &path, const std::string &bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(f.good());
}

std::string zstd_of(const std::string &s) {
    std::string z(ZSTD_compressBound(s.size()), '\0');
    size_t n = ZSTD_compress(z.data(), z.size(), s.data(), s.size(), 3);
    REQUIRE(!ZSTD_isError(n));
    z.resize(n);
    return z;
}

struct ExportedReport {
    std::string tar, id, trace_502, trace_dns, trace_ok;
};

// An app's session as the library records it, exported through the C ABI: events around
// a 502 with a server request id, a request that never got an answer, one that went fine.
ExportedReport export_report(const TempDir &dir) {
    ExportedReport x;
    x.tar = dir.file("report.tar");
    std::string db = dir.file("app.db"), notes = dir.file("notes.txt");
    std::ofstream(notes) << "user notes\n";
    tt_client *c = open_buffer(db);
    auto pause = [] { std::this_thread::sleep_for(std::chrono::milliseconds(5)); };
    auto call = [&](const char *url, int status, const char *error, const char *reqid) {
        tt_request *r = nullptr;
        REQUIRE(tt_request_begin(&r, c, "GET", url) == TT_OK);
        char trace[33];
        REQUIRE(tt_request_trace_id(r, trace) == TT_OK);
        if (reqid) REQUIRE(tt_request_header(r, "X-Reqid", reqid) == TT_OK);
        REQUIRE(tt_request_end(r, status, error) == TT_OK);
        return std::string(trace);
    };
    log_events(c, {{TT_INFO, "app started", {{"build", "42"}}}});
    pause();
    x.trace_502 = call("https://api.example.com/v1/sync?token=secret", 502, nullptr, "srv-req-42");
    pause();
    log_events(c, {{TT_ERROR, "sync failed: HTTP 502", {}}});
    pause();
    x.trace_dns = call("https://cdn.example.com/img/1.png", 0, "Could not resolve host: cdn.example.com", nullptr);
    pause();
    log_events(c, {{TT_ERROR, "sync failed: HTTP 503", {}}});
    pause();
    x.trace_ok = call("https://api.example.com/v1/items", 200, nullptr, "srv-req-43");
    pause();
    log_events(c, {{TT_WARN, "done", {}}});
    REQUIRE(tt_flush(c, 10000) == TT_OK);

    const char *atts[1] = {notes.c_str()};
    tt_report_options ro = TT_REPORT_OPTIONS_INIT;
    ro.description = "sync fails since this morning";
    ro.contact = "carol@example.net";
    ro.attachments = atts;
    ro.attachment_count = 1;
    char id[TT_REPORT_ID_SIZE];
    tt_status s = tt_report_export(c, &ro, x.tar.c_str(), id);
    REQUIRE_MESSAGE(s == TT_OK, "tt_report_export: " << tt_error_last()->message);
    x.id = id;
    REQUIRE(tt_close(c, 10000) == TT_OK);
    return x;
}

// The lines of one section of `report show`: from its heading up to the next blank line.
std::vector<std::string> section(const std::string &out, const std::string &heading) {
    std::vector<std::string> lines = lines_of(out), got;
    size_t i = 0;
    while (i < lines.size() && lines[i].rfind(heading, 0) != 0) ++i;
    REQUIRE_MESSAGE(i < lines.size(), "no section " << heading);
    for (++i; i < lines.size() && !lines[i].empty(); ++i) got.push_back(lines[i]);
    return got;
}

// The value of a summary row ("install id     f66..."), "" if there is none.
std::string row_of(const std::string &out, const std::string &label) {
    for (const auto &l : lines_of(out))
        if (l.rfind(label, 0) == 0 && l.size() > 15 && l[label.size()] == ' ' && l.find_first_not_of(' ', label.size()) == 15)
            return l.substr(15);
    return "";
}

}  // namespace

TEST_CASE("report show: the summary, the failed requests with their server ids, the error groups, one timeline") {
    TempDir dir;
    ExportedReport x = export_report(dir);
    std::string before = read_all(x.tar);
    json manifest = json::parse(untar(before).at("manifest.json"));

    Run r = cli({"report", "show", x.tar});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.err.empty());
    INFO(r.out);
    // The summary: what support asks first, straight from the manifest.
    CHECK(row_of(r.out, "report") == x.id);
    CHECK(row_of(r.out, "created") == manifest.at("created_at").get<std::string>());
    CHECK(row_of(r.out, "app") == "cli-test 1.2.3");
    CHECK(row_of(r.out, "library") == std::string("telltale ") + TT_VERSION_STRING);
    const json &dev = manifest.at("device");
    CHECK(row_of(r.out, "os") == dev.at("os_name").get<std::string>() + " " + dev.at("os_version").get<std::string>());
    CHECK(row_of(r.out, "kernel") == dev.at("kernel"));
    CHECK(!row_of(r.out, "kernel").empty());
    CHECK(row_of(r.out, "arch") == dev.at("arch"));
    CHECK(row_of(r.out, "locale") == dev.at("locale"));
    CHECK(row_of(r.out, "time zone") == dev.at("time_zone"));
    CHECK(row_of(r.out, "install id") == manifest.at("install_id"));
    CHECK(std::regex_match(row_of(r.out, "install id"), std::regex("[0-9a-f-]{36}")));
    CHECK(row_of(r.out, "consent") == "unknown");
    CHECK(row_of(r.out, "description") == "sync fails since this morning");
    CHECK(row_of(r.out, "contact") == "carol@example.net");
    CHECK(std::regex_search(r.out, std::regex(R"(\s+lo\s+ipv4\s+127\.0\.0\.1\s+\(loopback\)\n)")));
    CHECK(contains(row_of(r.out, "addresses"), manifest.at("local_addresses")[0].at("address").get<std::string>()));
    CHECK(contains(row_of(r.out, "counters"), "logged 4"));
    CHECK(contains(row_of(r.out, "counters"), "requests dropped 0"));
    CHECK(row_of(r.out, "summary") == "2 failed requests (1 on the server side)");
    CHECK(row_of(r.out, "summary") == manifest.at("summary"));
    CHECK(row_of(r.out, "attachments") == "notes.txt (11 B)");
    CHECK(contains(row_of(r.out, "logs"), "4 events"));
    CHECK(!contains(r.out, "network check"));  // an export runs none
    CHECK(!contains(r.out, "secret"));         // the query string was never stored

    // The failed requests, oldest first: the 502 with its X-Reqid, then the one that got no answer.
    auto failed = section(r.out, "failed requests (2 of 3");
    std::string f = "\n";
    for (const auto &l : failed) f += l + "\n";
    size_t at502 = f.find("GET api.example.com/v1/sync -> 502"), atdns = f.find("GET cdn.example.com/img/1.png -> no response");
    REQUIRE(at502 != std::string::npos);
    REQUIRE(atdns != std::string::npos);
    CHECK(at502 < atdns);
    std::string b502 = f.substr(at502, atdns - at502), bdns = f.substr(atdns);
    CHECK(contains(b502, "class       server"));
    CHECK(contains(b502, "status      502"));
    CHECK(contains(b502, "trace id    " + x.trace_502));
    CHECK(contains(b502, "server ids  x-reqid: srv-req-42"));
    CHECK(contains(bdns, "class       client_network"));
    CHECK(contains(bdns, "error       Could not resolve host: cdn.example.com"));
    CHECK(contains(bdns, "trace id    " + x.trace_dns));
    CHECK(contains(bdns, "server ids  none"));
    CHECK(!contains(f, "v1/items"));  // the 200 did not fail
    CHECK(!contains(f, "srv-req-43"));

    // Both errors in one group: the numbers differ, the fingerprint does not.
    auto errors = section(r.out, "errors (1 group");
    REQUIRE(errors.size() >= 2);
    CHECK(std::regex_search(errors[0], std::regex(R"(^\s+2x  sync failed: HTTP 50[23]$)")));
    CHECK(contains(errors[1], "fingerprint  " + manifest.at("errors")[0].at("fingerprint").get<std::string>()));

    // The timeline: requests and events in the order they happened.
    auto tl = section(r.out, "timeline (4 log events and 3 requests");
    const std::regex line_re(R"(^  (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z)\s+(\S+)\s+(.*)$)");
    std::vector<std::string> kinds, texts, times;
    for (const auto &l : tl) {
        std::smatch m;
        INFO(l);
        REQUIRE(std::regex_match(l, m, line_re));
        times.push_back(m[1]);
        kinds.push_back(m[2]);
        texts.push_back(m[3]);
    }
    REQUIRE(kinds.size() == 7);
    CHECK(std::is_sorted(times.begin(), times.end()));  // same width, UTC: text order is time order
    CHECK(kinds == std::vector<std::string>{"INFO", "REQ", "ERROR", "REQ", "ERROR", "REQ", "WARN"});
    CHECK(texts[0] == R"(app started  {"build":"42"})");
    CHECK(std::regex_match(texts[1], std::regex(R"(GET api\.example\.com/v1/sync -> 502 \(\d+\.\d+ ms\)  trace )" + x.trace_502)));
    CHECK(texts[2] == "sync failed: HTTP 502");
    CHECK(std::regex_match(texts[3], std::regex(R"(GET cdn\.example\.com/img/1\.png -> no response \(\d+\.\d+ ms\)  error: Could not resolve host: cdn\.example\.com  trace )" +
                                                x.trace_dns)));
    CHECK(texts[4] == "sync failed: HTTP 503");
    CHECK(contains(texts[5], "GET api.example.com/v1/items -> 200"));
    CHECK(contains(texts[5], "trace " + x.trace_ok));
    CHECK(texts[6] == "done");
    CHECK(read_all(x.tar) == before);  // only read
}

TEST_CASE("report show --json: the manifest as it is in the file, and the timeline as objects, oldest first") {
    TempDir dir;
    ExportedReport x = export_report(dir);
    auto files = untar(read_all(x.tar));
    Run r = cli({"report", "show", "--json", x.tar});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(r.err.empty());
    auto rows = ndjson(r.out);  // one object, on one line
    REQUIRE(rows.size() == 1);
    const json &j = rows[0];
    CHECK(j.size() == 2);
    CHECK(j.at("manifest") == json::parse(files.at("manifest.json")));
    CHECK(contains(r.out, files.at("manifest.json")));  // verbatim, not re-encoded
    CHECK(j.at("manifest").at("report_id") == x.id);

    const json &tl = j.at("timeline");
    REQUIRE(tl.is_array());
    REQUIRE(tl.size() == j.at("manifest").at("logs").at("events").get<size_t>() + j.at("manifest").at("requests").size());
    REQUIRE(tl.size() == 7);
    std::vector<std::string> types;
    int64_t prev = 0;
    for (const auto &e : tl) {
        INFO(e.dump());
        types.push_back(e.at("type"));
        int64_t t = std::stoll(e.at("time_unix_nano").get<std::string>());
        CHECK(t >= prev);
        prev = t;
        if (e.at("type") == "log") {
            CHECK(e.at("time") == rfc3339(t));
            for (const char *k : {"level", "severity_number", "message", "thread", "attrs"}) CHECK_MESSAGE(e.contains(k), k);
            CHECK(e.at("attrs").is_object());
        } else {
            for (const char *k : {"time", "method", "host", "path", "status", "duration_ms", "error", "class", "failed", "trace_id",
                                  "span_id", "server_ids"})
                CHECK_MESSAGE(e.contains(k), k);
            CHECK(e.at("server_ids").is_object());
        }
    }
    CHECK(types == std::vector<std::string>{"log", "request", "log", "request", "log", "request", "log"});
    CHECK(tl[0].at("message") == "app started");
    CHECK(tl[0].at("attrs") == json{{"build", "42"}});
    CHECK(tl[0].at("level") == "INFO");
    const json &bad = tl[1];
    CHECK(bad.at("status") == 502);
    CHECK(bad.at("class") == "server");
    CHECK(bad.at("failed") == true);
    CHECK(bad.at("host") == "api.example.com");
    CHECK(bad.at("path") == "/v1/sync");
    CHECK(bad.at("trace_id") == x.trace_502);
    CHECK(bad.at("server_ids") == json{{"x-reqid", "srv-req-42"}});
    CHECK(bad.at("error").is_null());
    // The request as the manifest has it, plus its time in nanoseconds.
    for (const auto &req : j.at("manifest").at("requests"))
        if (req.at("trace_id") == x.trace_502) {
            CHECK(bad.at("time") == req.at("time"));
            CHECK(bad.at("span_id") == req.at("span_id"));
            CHECK(bad.at("duration_ms") == req.at("duration_ms"));
        }
    CHECK(tl[2].at("level") == "ERROR");
    CHECK(tl[2].at("severity_number") == 17);
    CHECK(tl[3].at("status") == 0);
    CHECK(tl[3].at("class") == "client_network");
    CHECK(tl[3].at("error") == "Could not resolve host: cdn.example.com");
    CHECK(tl[5].at("failed") == false);
    CHECK(tl[5].at("class") == "ok");
    CHECK(tl[6].at("message") == "done");
}

TEST_CASE("report show reads a report that stock tar unpacked and packed again") {
    TempDir dir;
    ExportedReport x = export_report(dir);
    std::string cmd = "cd " + dir.path.string() + " && mkdir un && cd un && tar -xf ../report.tar && tar --format=gnu -cf ../again.tar ." +
                      " && tar --format=posix -cf ../pax.tar ./manifest.json ./logs.ndjson.zst attachments";
    REQUIRE(std::system(cmd.c_str()) == 0);
    Run a = cli({"report", "show", "--json", x.tar});
    REQUIRE_MESSAGE(a.code == 0, a.err);
    for (const char *name : {"again.tar", "pax.tar"}) {
        INFO(name);
        Run b = cli({"report", "show", "--json", dir.file(name)});
        REQUIRE_MESSAGE(b.code == 0, b.err);
        CHECK(b.err.empty());
        CHECK(json::parse(b.out) == json::parse(a.out));
    }
}

TEST_CASE("report show on a damaged or foreign file: exit 1 with what is wrong and a hint, never a crash") {
    TempDir dir;
    ExportedReport x = export_report(dir);
    const std::string good = read_all(x.tar);
    auto files = untar(good);
    struct Case {
        std::string name, bytes, says;
    };
    std::vector<Case> cases;
    // Cut short anywhere: in the first header, in the manifest, the logs, the attachment.
    for (size_t cut : {size_t(1), size_t(100), size_t(511), size_t(512), size_t(700), size_t(1024), size_t(1536), size_t(2047),
                       good.size() - 1024 - 600, good.size() - 1024 - 510})
        cases.push_back({"cut at " + std::to_string(cut), good.substr(0, cut), cut < 262 ? "is not a telltale report" : "is damaged: it is cut short"});
    std::mt19937 rng(7);
    std::string noise(8192, '\0');
    for (auto &ch : noise) ch = static_cast<char>(rng());
    cases.push_back({"random bytes", noise, "is not a telltale report: it is not a tar archive"});
    cases.push_back({"a text file", std::string(600, 'x'), "is not a telltale report: it is not a tar archive"});
    cases.push_back({"zeros", std::string(4096, '\0'), "is not a telltale report: it is an empty tar archive"});
    cases.push_back({"gzip", "\x1f\x8b\x08" + std::string(1000, 'a'), "gzip"});
    cases.push_back({"the logs alone", files.at("logs.ndjson.zst"), "zstd"});
    cases.push_back({"the manifest alone", files.at("manifest.json"), "JSON text"});
    cases.push_back({"a tar without manifest.json", tar_of({{"hello.txt", "hi"}, {"logs.ndjson.zst", files.at("logs.ndjson.zst")}}),
                     "is not a telltale report: the tar archive has no manifest.json (it holds \"hello.txt\", \"logs.ndjson.zst\")"});
    cases.push_back({"docker save", tar_of({{"manifest.json", R"([{"Config":"abc.json","RepoTags":["x:1"]}])"}}),
                     "is not a telltale report: its manifest.json is not a JSON object"});
    cases.push_back({"a manifest without report_id", tar_of({{"manifest.json", R"({"name":"x"})"}}), "has no report_id"});
    cases.push_back({"another library", tar_of({{"manifest.json", R"({"report_id":"r1","library":{"name":"other"}})"}}),
                     "written by \"other\", not telltale"});
    cases.push_back({"a manifest cut short", tar_of({{"manifest.json", files.at("manifest.json").substr(0, 300)}}),
                     "is damaged: its manifest.json is not valid JSON"});
    cases.push_back({"a manifest in Latin-1", tar_of({{"manifest.json", "{\"report_id\":\"caf\xe9\"}"}}), "not valid UTF-8"});
    std::string zst = files.at("logs.ndjson.zst");
    cases.push_back({"logs cut short", tar_of({{"manifest.json", files.at("manifest.json")}, {"logs.ndjson.zst", zst.substr(0, zst.size() / 2)}}),
                     "is damaged: its logs.ndjson.zst"});
    cases.push_back({"logs not zstd", tar_of({{"manifest.json", files.at("manifest.json")}, {"logs.ndjson.zst", "plain text, not zstd"}}),
                     "is damaged: its logs.ndjson.zst is not zstd data"});
    std::string flipped = good;
    flipped[10] ^= 0x01;  // the first header's name: its checksum no longer matches
    cases.push_back({"a header that fails its checksum", flipped, "is damaged: its first tar header fails its checksum"});
    std::string second = good;
    size_t manifest_blocks = (files.at("manifest.json").size() + 511) / 512;
    second[512 + manifest_blocks * 512 + 130] = '9';  // the logs entry's size changed: its header no longer adds up
    cases.push_back({"a second header that fails its checksum", second, "is damaged: there is no valid tar header at byte"});
    std::string huge = tar_of({{"manifest.json", files.at("manifest.json")}});
    {
        // A size far past the end of the file, with a checksum that matches it.
        std::string hdr = huge.substr(0, 512);
        std::snprintf(hdr.data() + 124, 12, "%011llo", 077777777777ull);
        std::memset(hdr.data() + 148, ' ', 8);
        unsigned sum = 0;
        for (unsigned char ch : hdr) sum += ch;
        std::snprintf(hdr.data() + 148, 8, "%06o", sum);
        huge.replace(0, 512, hdr);
    }
    cases.push_back({"an entry bigger than the file", huge, "is damaged: it is cut short: the entry \"manifest.json\" needs 8589934591 bytes"});
    // The SQLite buffer itself, passed by mistake.
    cases.push_back({"the buffer", read_all(dir.file("app.db")), "SQLite database"});

    for (const auto &c : cases) {
        INFO(c.name);
        std::string path = dir.file("bad.tar");
        write_file(path, c.bytes);
        for (bool as_json : {false, true}) {
            Run r = cli(as_json ? std::vector<std::string>{"report", "show", "--json", path} : std::vector<std::string>{"report", "show", path});
            INFO(r.err);
            CHECK(r.code == 1);
            CHECK(contains(r.err, "telltale report show: " + path));
            CHECK(contains(r.err, c.says));
            CHECK(contains(r.err, "hint:"));
            CHECK(r.out.empty());
        }
    }

    // Cut right after the last entry: all there, but the end marker is missing: shown, with a warning.
    write_file(dir.file("no-end.tar"), good.substr(0, good.size() - 1024));
    Run r = cli({"report", "show", dir.file("no-end.tar")});
    CHECK(r.code == 0);
    CHECK(contains(r.err, "warning"));
    CHECK(contains(r.err, "end marker"));
    CHECK(row_of(r.out, "report") == x.id);

    // A missing attachment, a wrong event count: warnings, not failures.
    std::string m = files.at("manifest.json");
    m.replace(m.find("\"events\":4"), 10, "\"events\":9");
    write_file(dir.file("odd.tar"), tar_of({{"manifest.json", m}, {"logs.ndjson.zst", files.at("logs.ndjson.zst")}}));
    r = cli({"report", "show", dir.file("odd.tar")});
    CHECK(r.code == 0);
    CHECK(contains(r.err, "the manifest counts 9 log events, logs.ndjson.zst holds 4"));
    CHECK(contains(r.err, "the attachment \"notes.txt\" named in the manifest is not in the archive"));
}

TEST_CASE("report show: a missing file, a directory or an empty file exit 1; wrong command lines exit 2") {
    TempDir dir;
    Run r = cli({"report", "show", dir.file("nope.tar")});
    CHECK(r.code == 1);
    CHECK(contains(r.err, "no report file at " + dir.file("nope.tar")));
    CHECK(contains(r.err, "hint:"));
    CHECK(r.out.empty());
    CHECK(fs::is_empty(dir.path));

    r = cli({"report", "show", dir.path.string()});
    CHECK(r.code == 1);
    CHECK(contains(r.err, "is a directory"));

    std::ofstream(dir.file("empty.tar")).close();
    r = cli({"report", "show", dir.file("empty.tar")});
    CHECK(r.code == 1);
    CHECK(contains(r.err, "is not a telltale report: the file is empty"));

    struct Case {
        std::vector<std::string> args;
        std::string says;
    };
    std::vector<Case> cases = {
        {{"report"}, "which report command?"},
        {{"report", "list"}, "unknown report command \"list\""},
        {{"report", dir.file("x.tar")}, "unknown report command"},
        {{"report", "show"}, "FILE is missing"},
        {{"report", "show", "a.tar", "b.tar"}, "one report at a time"},
        {{"report", "show", "a.tar", "--frob"}, "unknown option --frob"},
        {{"report", "show", "a.tar", "--json=1"}, "--json takes no value"},
    };
    for (const auto &c : cases) {
        std::string joined;
        for (const auto &a : c.args) joined += a + " ";
        INFO("telltale ", joined);
        Run u = cli(c.args);
        CHECK(u.code == 2);
        CHECK(contains(u.err, c.says));
        CHECK(contains(u.err, "usage: telltale report show FILE"));
        CHECK(u.out.empty());
    }
    for (std::vector<std::string> help : {std::vector<std::string>{"report", "--help"}, {"report", "show", "--help"}, {"help", "report"}, {"help"}}) {
        Run h = cli(help);
        CHECK(h.code == 0);
        CHECK(contains(h.out, "telltale report show FILE"));
        CHECK(contains(h.out, "--json"));
        CHECK(h.err.empty());
    }
}

TEST_CASE("report show on a hand-edited report: odd fields and lines are left out with a warning, the output stays valid") {
    TempDir dir;
    // Types telltale never writes, escapes, control characters, a number too big for a double.
    std::string manifest = R"({"report_id":"r-1","library":{"name":"telltale","version":7},"app":"not an object",)"
                           R"("requests":[{"time":"2026-01-01T00:00:02Z","kind":"http","method":"GET","host":"h\u0001\u001b[31m",)"
                           R"("path":"/p","status":"502","duration_ms":1e999,"server_ids":{"x-reqid":"a\"b","n":5},"class":"server"},)"
                           R"(5,{"time":"not a time","kind":"span","name":"s","error":"boom"}],"errors":{},)"
                           R"("counters":{"logged":"many","stored":3},"summary":"\ud83d\ude00 ok","report_id":"r-2"})";
    std::string logs = R"({"time_unix_nano":"1767225603000000000","severity_number":17,"message":"third","attrs":{"k":"\u0000v"}})"
                       "\n"
                       "not json at all\n"
                       R"({"time":"2026-01-01T00:00:01Z","level":"warn","message":"first \u001b[2J","attrs":"a string"})"
                       "\n\n"
                       R"({"message":"no time","severity_number":9})"
                       "\n";
    std::string path = dir.file("edited.tar");
    write_file(path, tar_of({{"manifest.json", manifest}, {"logs.ndjson.zst", zstd_of(logs)}}));

    Run t = cli({"report", "show", path});
    INFO(t.err);
    INFO(t.out);
    REQUIRE(t.code == 0);
    CHECK(row_of(t.out, "report") == "r-2");  // a repeated key: the last one, as JSON parsers do
    CHECK(row_of(t.out, "summary") == "\xF0\x9F\x98\x80 ok");  // a surrogate pair, decoded
    CHECK(contains(t.err, "1 line(s) of logs.ndjson.zst are not a JSON object (the first: line 2)"));
    for (const char *odd : {"library.version (a number where text belongs)", "app (text where an object belongs)",
                            "requests[0].status (text where a whole number belongs)", "requests[1] (a number where an object belongs)",
                            "errors (an object where an array belongs)", "counters.logged (text where a whole number belongs)"})
        CHECK_MESSAGE(contains(t.err, odd), odd);
    for (char ch : t.out) CHECK((static_cast<unsigned char>(ch) >= 0x20 || ch == '\n'));  // no escape sequence reaches the terminal
    CHECK(contains(t.err, "requests[0].duration_ms (a number too big for one)"));
    auto tl = section(t.out, "timeline (3 log events and 2 requests");  // the line that is no JSON and the 5 are left out
    REQUIRE(tl.size() == 5);
    CHECK(contains(tl[0], "WARN   first"));
    CHECK(contains(tl[0], "a string"));
    CHECK(contains(tl[1], "REQ    GET h"));
    CHECK(tl[1].substr(tl[1].size() - 17) == "/p -> no response");  // no status, no duration, no trace id
    CHECK(contains(tl[2], "ERROR  third"));
    CHECK(contains(tl[3], "(no time)"));  // no time, no place: last, requests first, then file order
    CHECK(contains(tl[3], "span \"s\" -> failed  error: boom"));
    CHECK(contains(tl[4], "(no time)"));
    CHECK(contains(tl[4], "INFO   no time"));

    Run j = cli({"report", "show", "--json", path});
    REQUIRE(j.code == 0);
    // The manifest is embedded as it is, 1e999 included: valid JSON grammar that nlohmann refuses to read
    // (number overflow), so the timeline is parsed on its own here. Everything else is strict JSON.
    CHECK(contains(j.out, manifest));
    size_t cut = j.out.rfind(",\"timeline\":");
    REQUIRE(cut != std::string::npos);
    REQUIRE(j.out.compare(j.out.size() - 2, 2, "}\n") == 0);
    json tl2 = json::parse(j.out.substr(cut + 12, j.out.size() - 2 - cut - 12));
    REQUIRE(tl2.size() == 5);
    CHECK(tl2[0].at("message") == "first \x1b[2J");
    CHECK(tl2[0].at("attrs") == json{{"telltale.attrs_raw", "a string"}});  // as `dump` shows attributes that are no object
    CHECK(tl2[1].at("type") == "request");
    CHECK(tl2[1].at("status").is_null());
    CHECK(tl2[1].at("duration_ms").is_null());
    CHECK(tl2[1].at("server_ids") == json{{"x-reqid", "a\"b"}});
    CHECK(tl2[2].at("attrs").at("k").get<std::string>().size() <= 2);
    CHECK(tl2[3].at("time") == "not a time");  // the manifest's, as it is
    CHECK(tl2[3].at("time_unix_nano").is_null());
    CHECK(tl2[3].at("failed") == true);
    CHECK(tl2[4].at("time").is_null());
    CHECK(tl2[4].at("time_unix_nano").is_null());
    CHECK(tl2[4].at("level") == "INFO");
}
