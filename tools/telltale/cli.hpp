// Shared pieces of the `telltale` CLI: the error type that carries an exit code and a
// hint up to main(), a read-only view of a buffer file, and the text helpers (times,
// levels, JSON) the verbs use to print what they find.
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ttcli {

// Exit codes: 0 success, 1 the operation failed, 2 the command line was wrong.
constexpr int kExitFail = 1;
constexpr int kExitUsage = 2;

// Thrown by the verbs; main() prints it and exits with `code`. Never leaves main().
struct Failure {
    int code;
    std::string message;  // what went wrong
    std::string hint;     // what to do about it (may be empty)
};

[[noreturn]] void fail(std::string message, std::string hint);
[[noreturn]] void usage_error(std::string message, std::string hint);
// "telltale VERB: warning: ..." on stderr; the verb goes on.
void warn(std::string_view message);
// "telltale VERB: ..." on stderr: information, not a problem.
void note(std::string_view message);

// ---------------------------------------------------------------- the buffer file

// A read-only connection to a buffer. Opening checks the file exists (SQLite would
// otherwise report a vague error) and that it is an SQLite file at all.
class Db {
public:
    explicit Db(std::string path);
    ~Db();
    Db(const Db &) = delete;
    Db &operator=(const Db &) = delete;

    sqlite3 *get() const noexcept { return db_; }
    const std::string &path() const noexcept { return path_; }

    bool has_table(const char *name);
    std::vector<std::string> columns(const char *table);
    // First column of the first row (0 if no row, or if it is NULL).
    int64_t query_int(const char *sql);
    std::optional<std::string> query_text(const char *sql);
    // A Failure describing an SQLite error on this file while doing `what`.
    [[noreturn]] void raise(int rc, std::string_view what);

private:
    std::string path_;
    sqlite3 *db_ = nullptr;
};

// RAII statement; prepare failures raise through the Db.
class Stmt {
public:
    Stmt(Db &db, const std::string &sql);
    ~Stmt() { sqlite3_finalize(s_); }
    Stmt(const Stmt &) = delete;
    Stmt &operator=(const Stmt &) = delete;
    sqlite3_stmt *get() const noexcept { return s_; }
    // True for a row, false when done; raises on error.
    bool step(std::string_view what);

private:
    Db &db_;
    sqlite3_stmt *s_ = nullptr;
};

// A column as raw bytes ("" for NULL).
std::string_view column_bytes(sqlite3_stmt *s, int i);
std::optional<std::string> column_text(sqlite3_stmt *s, int i);    // nullopt for NULL
std::optional<int64_t> column_int(sqlite3_stmt *s, int i);         // nullopt for NULL

// Reads the schema version and makes sure this is a telltale buffer at all (fails if not);
// a newer schema is only a warning.
int64_t open_checks(Db &db);

// ---------------------------------------------------------------- output

// Buffered stdout that notices a failed write (a full disk, a closed pipe).
class Out {
public:
    void flush();
    std::string &buf() { return buf_; }
    void maybe_flush() {
        if (buf_.size() >= (1u << 16)) flush();
    }

private:
    std::string buf_;
};

// One stored event, as `dump` prints it.
struct EventView {
    int64_t time_ns = 0, level = 0, tid = 0;
    std::string_view msg;
    std::optional<std::string_view> attrs, trace_id, span_id;  // nullopt: NULL in the file
};
// The event columns `dump` reads, in EventView order (time_ns, level, tid, msg, attrs, trace_id,
// span_id), for a SELECT on events; a column this buffer lacks reads as NULL.
std::string event_columns(Db &db);
// The same from a row of such a SELECT (the columns from `first` on).
EventView event_at(sqlite3_stmt *s, int first = 0);
// Appends the event as one JSON object (no newline). Attributes that are not a JSON object
// are kept as a string under "telltale.attrs_raw" and counted in bad_attrs.
void append_event_json(const EventView &e, std::string &out, uint64_t &bad_attrs);
// The attributes as compact JSON for people: "" when none.
std::string event_attrs_text(const EventView &e);

// ---------------------------------------------------------------- text

// 2026-11-29T09:25:46.123456789Z
std::string rfc3339(int64_t unix_ns);
// Parses RFC 3339 (offset or Z; fraction up to 9 digits) or a bare date (midnight UTC).
std::optional<int64_t> parse_rfc3339(std::string_view s);
// "30s", "10m", "2h", "7d", also compound "1h30m": nanoseconds.
std::optional<int64_t> parse_duration(std::string_view s);
int64_t now_ns();

// OTLP severity number to its short name; in-between numbers map to the lower name.
const char *level_name(int64_t severity);
// "warn", "ERROR", "13": the severity number; nullopt if not a level.
std::optional<int> parse_level(std::string_view s);

// Append s as a JSON string (with quotes): invalid UTF-8 repaired, control characters escaped.
void json_string(std::string_view s, std::string &out);
// True if s (valid UTF-8) is exactly one JSON object that strict parsers accept.
bool json_is_object(std::string_view s);
// Stored JSON without whitespace outside strings (one object per NDJSON line).
std::string minify(std::string_view s);
// The part of an event's JSON that `dump` and `report show` share: ,"thread":N, the trace
// and span ids when set, and "attrs": the stored object, or (not an object) its text under
// "telltale.attrs_raw", counted in bad_attrs.
void append_event_tail(int64_t thread, std::optional<std::string_view> trace_id, std::optional<std::string_view> span_id,
                       std::optional<std::string_view> attrs, std::string &b, uint64_t &bad_attrs);
// After a listing: say how many events had attributes that were not an object (if any).
void warn_bad_attrs(uint64_t bad_attrs);
// Attributes for people: compact JSON, "" when none; text that is not an object, as text.
std::string attrs_for_people(std::optional<std::string_view> attrs);
// For a table or a one-line view: invalid UTF-8 repaired, control characters as spaces.
std::string printable(std::string_view s);
// Characters (code points) a terminal shows, for column alignment.
size_t display_width(std::string_view s);

}  // namespace ttcli
