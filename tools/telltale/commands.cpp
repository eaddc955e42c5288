#include "commands.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <iterator>

#include <fmt/format.h>

#include "cli.hpp"
#include "core/text.hpp"
#include "store/store.hpp"

namespace ttcli {
namespace {

constexpr int64_t kKnownSchema = tt::store::kSchemaVersion;

// The six names, in order, each with the lowest severity number it covers.
constexpr std::array<std::pair<const char *, int>, 6> kLevels{
    {{"TRACE", 1}, {"DEBUG", 5}, {"INFO", 9}, {"WARN", 13}, {"ERROR", 17}, {"FATAL", 21}}};

bool contains(const std::vector<std::string> &v, std::string_view s) { return std::find(v.begin(), v.end(), s) != v.end(); }

// Future tables (requests, reports) count as empty in a buffer that predates them.
int64_t count_rows(Db &db, const char *table, const char *where = nullptr) {
    if (!db.has_table(table)) return 0;
    std::string sql = fmt::format("SELECT count(*) FROM \"{}\"", table);
    if (where) sql += fmt::format(" WHERE {}", where);
    return db.query_int(sql.c_str());
}

int64_t reports_pending(Db &db) {
    if (!db.has_table("reports")) return 0;
    // A reports table with a state column uses tt_report_state (0: pending); without one,
    // every row is a report still waiting.
    if (contains(db.columns("reports"), "state")) return count_rows(db, "reports", "state IN ('assembling', 'pending')");
    return count_rows(db, "reports");
}

uint64_t file_size(const std::string &path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

std::string human_bytes(uint64_t n) {
    if (n < 1024) return fmt::format("{} B", n);
    if (n < (1u << 20)) return fmt::format("{:.1f} KiB", static_cast<double>(n) / 1024);
    if (n < (1ull << 30)) return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1 << 20));
    return fmt::format("{:.1f} GiB", static_cast<double>(n) / (1 << 30));
}

}  // namespace

// ------------------------------------------------------------------------------ shared

// A newer schema's events table still holds the columns this CLI knows.
int64_t open_checks(Db &db) {
    int64_t v = db.query_int("PRAGMA user_version");
    if (!db.has_table("events"))
        fail(fmt::format("{} is not a telltale buffer: it is an SQLite file without an events table{}", db.path(),
                         v == 0 ? " (empty, or made by another program)" : ""),
             "pass the db_path the app gives tt_open");
    if (v > kKnownSchema)
        warn(fmt::format("{} was written by a newer telltale (schema {}, this CLI knows {}); showing what this CLI "
                         "understands (update the telltale CLI to see everything)",
                         db.path(), v, kKnownSchema));
    else if (v < 1)
        warn(fmt::format("{} has schema version {}, which telltale never writes; reading it anyway", db.path(), v));
    return v;
}

void Out::flush() {
    auto failed = [] {
        fail("writing to standard output failed", "check that the disk is not full, or that the reading program did not stop early");
    };
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), stdout) != buf_.size()) failed();
    buf_.clear();
    if (std::fflush(stdout) != 0) failed();
}

std::string event_columns(Db &db) {
    // Name only the columns this CLI knows and that exist: a newer schema may have more.
    auto cols = db.columns("events");
    auto col = [&](const char *name) { return contains(cols, name) ? std::string(name) : std::string("NULL"); };
    return fmt::format("{}, {}, {}, {}, {}, {}, {}", col("time_ns"), col("level"), col("tid"), col("msg"), col("attrs"),
                       col("trace_id"), col("span_id"));
}

EventView event_at(sqlite3_stmt *r, int first) {
    EventView e;
    e.time_ns = sqlite3_column_int64(r, first);
    e.level = sqlite3_column_int64(r, first + 1);
    e.tid = sqlite3_column_int64(r, first + 2);
    e.msg = column_bytes(r, first + 3);
    auto opt = [&](int i) -> std::optional<std::string_view> {
        if (sqlite3_column_type(r, first + i) == SQLITE_NULL) return std::nullopt;
        return column_bytes(r, first + i);
    };
    e.attrs = opt(4);
    e.trace_id = opt(5);
    e.span_id = opt(6);
    return e;
}

void append_event_json(const EventView &e, std::string &b, uint64_t &bad_attrs) {
    fmt::format_to(std::back_inserter(b), R"({{"time":"{}","time_unix_nano":"{}","level":"{}","severity_number":{},"message":)",
                   rfc3339(e.time_ns), e.time_ns, level_name(e.level), e.level);
    json_string(e.msg, b);
    append_event_tail(e.tid, e.trace_id, e.span_id, e.attrs, b, bad_attrs);
    b += '}';
}

void warn_bad_attrs(uint64_t bad_attrs) {
    if (bad_attrs)
        warn(fmt::format("{} event(s) had attributes that were not a JSON object; they are shown as a string under "
                         "\"telltale.attrs_raw\"",
                         bad_attrs));
}

std::string event_attrs_text(const EventView &e) { return attrs_for_people(e.attrs); }

// ------------------------------------------------------------------------------- dump

int dump(const DumpOptions &o) {
    Db db(o.db);
    open_checks(db);
    auto cols = db.columns("events");
    auto col = [&](const char *name) { return contains(cols, name) ? std::string(name) : std::string("NULL"); };
    std::string sql = fmt::format("SELECT {} FROM events WHERE 1", event_columns(db));
    if (o.since_ns) sql += fmt::format(" AND {} >= {}", col("time_ns"), *o.since_ns);
    if (o.min_level) sql += fmt::format(" AND {} >= {}", col("level"), *o.min_level);
    sql += fmt::format(" ORDER BY {}, {}", col("time_ns"), contains(cols, "id") ? "id" : "rowid");

    Stmt s(db, sql);
    Out out;
    uint64_t bad_attrs = 0;
    try {
        // One statement is one read transaction: a consistent snapshot while the app writes on.
        while (s.step("reading events")) {
            append_event_json(event_at(s.get()), out.buf(), bad_attrs);
            out.buf() += '\n';
            out.maybe_flush();
        }
    } catch (...) {
        out.flush();  // what was read before the failure is still worth having
        throw;
    }
    out.flush();
    warn_bad_attrs(bad_attrs);
    return 0;
}

// ------------------------------------------------------------------------------ stats

int stats(const std::string &path, bool json) {
    Db db(path);
    int64_t schema = open_checks(db);
    // One read transaction, so that every number describes the same moment.
    if (int rc = sqlite3_exec(db.get(), "BEGIN", nullptr, nullptr, nullptr); rc != SQLITE_OK) db.raise(rc, "starting a read");

    std::optional<std::string> install_id;
    if (db.has_table("meta")) install_id = db.query_text("SELECT value FROM meta WHERE key='install_id'");
    int64_t sessions = count_rows(db, "sessions");
    int64_t events = 0;
    std::optional<int64_t> oldest, newest;
    {
        Stmt s(db, "SELECT count(*), min(time_ns), max(time_ns) FROM events");
        if (s.step("counting events")) {
            events = sqlite3_column_int64(s.get(), 0);
            if (sqlite3_column_type(s.get(), 1) != SQLITE_NULL) oldest = sqlite3_column_int64(s.get(), 1);
            if (sqlite3_column_type(s.get(), 2) != SQLITE_NULL) newest = sqlite3_column_int64(s.get(), 2);
        }
    }
    std::array<int64_t, kLevels.size()> by_level{};
    int64_t unspecified = 0;  // level < 1: never written by telltale, shown only if present
    {
        Stmt s(db, "SELECT level, count(*) FROM events GROUP BY level");
        while (s.step("counting events by level")) {
            int64_t level = sqlite3_column_int64(s.get(), 0), n = sqlite3_column_int64(s.get(), 1);
            if (level < 1) {
                unspecified += n;
                continue;
            }
            size_t k = kLevels.size() - 1;
            while (k > 0 && level < kLevels[k].second) --k;
            by_level[k] += n;
        }
    }
    int64_t requests = count_rows(db, "requests");
    int64_t pending = reports_pending(db);
    uint64_t db_bytes = static_cast<uint64_t>(db.query_int("PRAGMA page_count")) * static_cast<uint64_t>(db.query_int("PRAGMA page_size"));
    uint64_t wal_bytes = file_size(path + "-wal");
    sqlite3_exec(db.get(), "COMMIT", nullptr, nullptr, nullptr);

    Out out;
    std::string &b = out.buf();
    auto it = std::back_inserter(b);
    if (json) {
        auto time_or_null = [](const std::optional<int64_t> &t) { return t ? fmt::format("\"{}\"", rfc3339(*t)) : std::string("null"); };
        fmt::format_to(it, R"({{"events":{},"requests":{},"reports_pending":{},"db_bytes":{},"wal_bytes":{},)", events, requests,
                       pending, db_bytes, wal_bytes);
        fmt::format_to(it, R"("oldest":{},"newest":{},"by_level":{{)", time_or_null(oldest), time_or_null(newest));
        for (size_t k = 0; k < kLevels.size(); ++k) fmt::format_to(it, R"({}"{}":{})", k ? "," : "", kLevels[k].first, by_level[k]);
        if (unspecified) fmt::format_to(it, R"(,"UNSPECIFIED":{})", unspecified);
        fmt::format_to(it, R"(}},"sessions":{},"schema_version":{},"install_id":)", sessions, schema);
        if (install_id) json_string(*install_id, b);
        else b += "null";
        b += R"(,"path":)";
        json_string(path, b);
        b += "}\n";
    } else {
        auto row = [&](std::string_view k, std::string_view v) { fmt::format_to(it, "{:<12}{}\n", k, v); };
        std::string shown_path;
        tt::text::utf8_repair(path, shown_path);
        row("buffer", shown_path);
        row("schema", fmt::format("{}{}", schema, schema > kKnownSchema ? " (newer than this CLI)" : ""));
        row("install id", install_id ? *install_id : "(none)");
        row("sessions", std::to_string(sessions));
        row("events", std::to_string(events));
        for (size_t k = 0; k < kLevels.size(); ++k) row(fmt::format("  {}", kLevels[k].first), std::to_string(by_level[k]));
        if (unspecified) row("  (level 0)", std::to_string(unspecified));
        row("oldest", oldest ? rfc3339(*oldest) : "-");
        row("newest", newest ? rfc3339(*newest) : "-");
        row("requests", std::to_string(requests));
        row("reports", fmt::format("{} pending", pending));
        row("size", fmt::format("{} ({} bytes) + WAL {} ({} bytes)", human_bytes(db_bytes), db_bytes, human_bytes(wal_bytes), wal_bytes));
    }
    out.flush();
    return 0;
}

// ----------------------------------------------------------------------------- verify

int verify(const std::string &path) {
    Db db(path);  // a missing file or a non-database already fails here, with its own message
    std::vector<std::string> problems;

    // Raw SQLite calls here: a damaged file is a finding to list, not an error to stop at.
    sqlite3_stmt *s = nullptr;
    int rc = sqlite3_prepare_v2(db.get(), "PRAGMA integrity_check", -1, &s, nullptr);
    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            std::string_view row = column_bytes(s, 0);
            if (row == "ok") continue;
            // One row may hold several findings, one a line, under a "*** in database main ***" heading.
            while (!row.empty()) {
                size_t nl = row.find('\n');
                std::string_view one = row.substr(0, nl);
                if (!one.empty() && one.rfind("*** in database", 0) != 0) problems.emplace_back(one);
                row = nl == std::string_view::npos ? std::string_view() : row.substr(nl + 1);
            }
        }
    }
    if (rc != SQLITE_DONE && rc != SQLITE_OK)
        problems.push_back(fmt::format("the integrity check stopped early: {}", sqlite3_errmsg(db.get())));
    sqlite3_finalize(s);

    int64_t v = 0;
    try {
        v = db.query_int("PRAGMA user_version");
        if (v < 1)
            problems.push_back(fmt::format("schema version (PRAGMA user_version) is {}, which telltale never leaves: not a "
                                           "telltale buffer, or one whose creation did not finish",
                                           v));
        else if (v > kKnownSchema)
            problems.push_back(fmt::format("schema version {} is newer than this CLI knows ({}): it cannot vouch for the tables", v,
                                           kKnownSchema));
        // The tables each schema version added; later versions keep them (migrations only add).
        static const struct {
            const char *name;
            int64_t since;
        } kTables[] = {{"meta", 1}, {"sessions", 1}, {"events", 1}, {"requests", 2}, {"request_ids", 2}};
        static const char *const kEventColumns[] = {"id", "time_ns", "level", "tid", "session", "msg", "attrs", "trace_id", "span_id"};
        for (const auto &t : kTables)
            if ((v >= t.since || t.since == 1) && !db.has_table(t.name)) problems.push_back(fmt::format("the {} table is missing", t.name));
        if (db.has_table("events")) {
            auto cols = db.columns("events");
            for (const char *c : kEventColumns)
                if (!contains(cols, c)) problems.push_back(fmt::format("the events table has no {} column", c));
        }
    } catch (const Failure &f) {
        problems.push_back(f.message);  // the schema itself is unreadable
    }

    Out out;
    if (problems.empty()) {
        out.buf() += "ok\n";
        out.flush();
        return 0;
    }
    for (const auto &p : problems) {
        // SQLite's messages may quote any bytes from the file: keep each one printable, on one line.
        std::string clean;
        tt::text::utf8_repair(p, clean);
        for (char &c : clean)
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
        out.buf() += clean;
        out.buf() += '\n';
    }
    out.flush();
    if (v > kKnownSchema && problems.size() == 1)
        fail(fmt::format("{} is from a newer telltale (schema {}); this CLI cannot check it", path, v),
             fmt::format("use a telltale CLI that knows schema {} (the one shipped with the app's library)", v));
    fail(fmt::format("{} has {} problem{}", path, problems.size(), problems.size() == 1 ? "" : "s"),
         "if this is an app's buffer, the app moves it aside as <db>.corrupt-<time> and starts afresh when it next "
         "opens it; keep the damaged file if support asks for it");
}

}  // namespace ttcli
