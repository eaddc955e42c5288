// Tests of the `telltale` CLI as users run it: buffers written through the public C ABI
// (and, for damage the library never writes, through SQLite directly), the built binary
// run as its own process, its stdout parsed as JSON and its exit code checked.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

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
    CHECK(s.at("sessions") == 1);
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
        // What a later telltale might leave: a higher version, a new column, a reports table.
        Sql sql(db);
        future = sql.integer("PRAGMA user_version") + 5;
        sql.exec("PRAGMA user_version=" + std::to_string(future) + ";"
                 "ALTER TABLE events ADD COLUMN service TEXT;"
                 "CREATE TABLE reports(id TEXT PRIMARY KEY, state INTEGER);"
                 "INSERT INTO reports VALUES('r1',0),('r2',1),('r3',0);");
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
