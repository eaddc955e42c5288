#include "upload/outbox.hpp"

#include <sys/stat.h>
#include <sys/utsname.h>

#include <cctype>
#include <cstdlib>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/text.hpp"
#include "store/sqlite.hpp"
#include "telltale/telltale.h"

namespace tt::upload {
namespace {

using store::Stmt;
using store::sqlite_error;

const char *table_of(Kind k) noexcept { return k == Kind::kLogs ? "events" : "requests"; }
const char *cursor_key(Kind k) noexcept { return k == Kind::kLogs ? "upload_cursor_logs" : "upload_cursor_traces"; }

const char *severity_text(int level) noexcept {
    if (level >= 21) return "FATAL";
    if (level >= 17) return "ERROR";
    if (level >= 13) return "WARN";
    if (level >= 9) return "INFO";
    if (level >= 5) return "DEBUG";
    return "TRACE";
}

// Append "key":"escaped value".
void str_field(std::string &o, const char *key, std::string_view v) {
    o += '"';
    o += key;
    o += "\":\"";
    text::json_escape(v, o);
    o += '"';
}

void attr_str(std::string &o, std::string_view key, std::string_view v) {
    if (o.back() != '[') o += ',';
    o += "{\"key\":\"";
    text::json_escape(key, o);
    o += "\",\"value\":{\"stringValue\":\"";
    text::json_escape(v, o);
    o += "\"}}";
}

void attr_int(std::string &o, std::string_view key, int64_t v) {
    if (o.back() != '[') o += ',';
    o += "{\"key\":\"";
    text::json_escape(key, o);
    o += fmt::format("\",\"value\":{{\"intValue\":\"{}\"}}}}", v);  // int64 as a string, per OTLP JSON
}

std::string resource_json(const Resource &r, std::string_view session) {
    // Never destroyed: an app that exits without tt_close still has an uploader thread
    // running while static destructors run.
    static const std::string &os = *new std::string([] {
        struct utsname u;
        return uname(&u) == 0 ? std::string(u.sysname) + " " + u.release : std::string("unknown");
    }());
    static const std::string &arch = *new std::string([] {
        struct utsname u;
        return uname(&u) == 0 ? std::string(u.machine) : std::string("unknown");
    }());
    std::string o = "{\"attributes\":[";
    attr_str(o, "service.name", r.service_name);
    if (!r.service_version.empty()) attr_str(o, "service.version", r.service_version);
    attr_str(o, "service.instance.id", r.install_id);  // the random install id: never a hardware id
    if (!session.empty()) attr_str(o, "session.id", session);
    attr_str(o, "os.type", "linux");
    attr_str(o, "os.description", os);
    attr_str(o, "host.arch", arch);
    attr_str(o, "telemetry.sdk.name", "telltale");
    attr_str(o, "telemetry.sdk.language", "cpp");
    attr_str(o, "telemetry.sdk.version", TT_VERSION_STRING);
    o += "]}";
    return o;
}

const char *col(sqlite3_stmt *s, int i) { return reinterpret_cast<const char *>(sqlite3_column_text(s, i)); }
std::string_view colv(sqlite3_stmt *s, int i) {
    const char *p = col(s, i);
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(s, i))) : std::string_view();
}

}  // namespace

// The end of the JSON string whose opening quote is at `at` (the index of its closing
// quote), or npos, also when it is not valid JSON (a raw control character, a bad escape):
// the bytes are copied as they are, so they must already be valid.
static size_t string_end(std::string_view j, size_t at) noexcept {
    auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
    for (size_t i = at + 1; i < j.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(j[i]);
        if (c == '"') return i;
        if (c < 0x20) return std::string_view::npos;
        if (c != '\\') continue;
        if (++i >= j.size()) return std::string_view::npos;
        switch (j[i]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': break;
        case 'u': {
            // A surrogate must come in a pair (high then low), or strict parsers refuse it.
            auto unit = [&](size_t p) -> long {
                if (p + 4 >= j.size() || !hex(j[p + 1]) || !hex(j[p + 2]) || !hex(j[p + 3]) || !hex(j[p + 4])) return -1;
                return std::strtol(std::string(j.substr(p + 1, 4)).c_str(), nullptr, 16);
            };
            long u = unit(i);
            if (u < 0 || (u >= 0xDC00 && u <= 0xDFFF)) return std::string_view::npos;
            i += 4;
            if (u >= 0xD800 && u <= 0xDBFF) {
                if (i + 2 >= j.size() || j[i + 1] != '\\' || j[i + 2] != 'u') return std::string_view::npos;
                long low = unit(i + 2);
                if (low < 0xDC00 || low > 0xDFFF) return std::string_view::npos;
                i += 6;
            }
            break;
        }
        default: return std::string_view::npos;
        }
    }
    return std::string_view::npos;
}

static size_t skip_ws(std::string_view j, size_t i) noexcept {
    while (i < j.size() && (j[i] == ' ' || j[i] == '\t' || j[i] == '\n' || j[i] == '\r')) ++i;
    return i;
}

// A flat JSON object as stored (the writer's `attrs`, a request's `server_ids` or `timing`)
// turned into OTLP attributes, each key behind `prefix`: string values as stringValue,
// numbers as `number_type` ("stringValue" or "intValue", both quoted in OTLP JSON). Done
// here, not with json_each in SQL, which cost ~35k instructions per event (finding 14 in
// docs/benchmarks.md). Anything else (nested values, a damaged row) goes whole, as one
// string attribute `telltale.attrs`, never lost.
void append_object_attrs(std::string &o, std::string_view j, std::string_view prefix, const char *number_type) {
    if (j.empty()) return;
    size_t mark = o.size();
    bool first_out = o.back() == '[';
    auto fail = [&] {
        o.resize(mark);
        attr_str(o, "telltale.attrs", j);
    };
    size_t i = skip_ws(j, 0);
    if (i >= j.size() || j[i] != '{') return fail();
    i = skip_ws(j, i + 1);
    if (i < j.size() && j[i] == '}') return;
    for (;;) {
        if (i >= j.size() || j[i] != '"') return fail();
        size_t ke = string_end(j, i);
        if (ke == std::string_view::npos) return fail();
        std::string_view key = j.substr(i + 1, ke - i - 1);
        i = skip_ws(j, ke + 1);
        if (i >= j.size() || j[i] != ':') return fail();
        i = skip_ws(j, i + 1);
        if (i >= j.size()) return fail();
        std::string_view value;
        const char *type = "stringValue";
        if (j[i] == '"') {
            size_t ve = string_end(j, i);
            if (ve == std::string_view::npos) return fail();
            value = j.substr(i + 1, ve - i - 1);
            i = ve + 1;
        } else {
            size_t b = i;
            while (i < j.size() && (std::isdigit(static_cast<unsigned char>(j[i])) || j[i] == '-' || j[i] == '+' || j[i] == '.' ||
                                    j[i] == 'e' || j[i] == 'E'))
                ++i;
            if (i == b) return fail();  // true/false/null, an object, an array: not ours
            value = j.substr(b, i - b);
            bool integral = value.find_first_of(".eE") == std::string_view::npos;
            type = integral ? number_type : "stringValue";
        }
        if (!first_out) o += ',';
        first_out = false;
        o += "{\"key\":\"";
        o += prefix;
        o += key;
        o += "\",\"value\":{\"";
        o += type;
        o += "\":\"";
        o += value;
        o += "\"}}";
        i = skip_ws(j, i);
        if (i < j.size() && j[i] == ',') {
            i = skip_ws(j, i + 1);
            continue;
        }
        if (i < j.size() && j[i] == '}' && skip_ws(j, i + 1) == j.size()) return;
        return fail();
    }
}


const char *kind_name(Kind k) noexcept { return k == Kind::kLogs ? "logs" : "traces"; }

Outbox::Outbox(const std::string &path) : path_(path) {
    file_id_ = store::file_identity(path_);
    db_ = open();
}

Outbox::~Outbox() { sqlite3_close_v2(db_); }

sqlite3 *Outbox::open() { return store::open_side_connection(path_, "opening the upload state"); }

void Outbox::follow_file() {
    // The writer moved a damaged file aside and started a fresh one at the same path: this
    // connection still reads the old one. Follow it, or what is logged now never leaves.
    // A batch claimed from the old file is then left alone (see same_file).
    std::pair<dev_t, ino_t> now = store::file_identity(path_);
    if (now == std::pair<dev_t, ino_t>{} || now == file_id_) return;
    sqlite3 *fresh = open();  // throws, and the old connection stays: tried again next time
    sqlite3_close_v2(db_);
    db_ = fresh;
    file_id_ = now;
}

void Outbox::exec(const char *sql) { store::exec(db_, sql, path_); }

int64_t Outbox::meta_int(const char *key) {
    Stmt s(db_, "SELECT CAST(value AS INTEGER) FROM meta WHERE key=?", path_);
    sqlite3_bind_text(s.get(), 1, key, -1, SQLITE_STATIC);
    return sqlite3_step(s.get()) == SQLITE_ROW ? sqlite3_column_int64(s.get(), 0) : 0;
}

void Outbox::set_cursor(Kind kind, int64_t v) {
    Stmt s(db_, "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value ="
                " CAST(max(CAST(value AS INTEGER), CAST(?2 AS INTEGER)) AS TEXT)", path_);
    sqlite3_bind_text(s.get(), 1, cursor_key(kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(s.get(), 2, std::to_string(v).c_str(), -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s.get());
    if (rc != SQLITE_DONE) throw sqlite_error(db_, rc, "moving the upload cursor", path_);
}

namespace {
// BEGIN IMMEDIATE ... COMMIT, rolled back if anything throws.
struct Txn {
    sqlite3 *db;
    const std::string &path;
    bool done = false;
    Txn(sqlite3 *d, const std::string &p) : db(d), path(p) { store::exec(db, "BEGIN IMMEDIATE", path); }
    void commit() {
        store::exec(db, "COMMIT", path);
        done = true;
    }
    ~Txn() {
        if (!done) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    }
};
}  // namespace

consent::Record Outbox::load_consent() {
    std::lock_guard<std::mutex> lk(mu_);
    follow_file();
    consent::Record r;
    Stmt s(db_, "SELECT key, value FROM meta WHERE key IN ('consent_state', 'consent_policy', 'consent_set_at')", path_);
    while (sqlite3_step(s.get()) == SQLITE_ROW) {
        std::string k = col(s.get(), 0), v = col(s.get(), 1) ? col(s.get(), 1) : "";
        if (k == "consent_state") r.state = v == "granted" ? TT_CONSENT_GRANTED : v == "denied" ? TT_CONSENT_DENIED : TT_CONSENT_UNKNOWN;
        else if (k == "consent_policy") r.policy = v;
        else r.set_at_ns = std::strtoull(v.c_str(), nullptr, 10);
    }
    return r;
}

uint64_t Outbox::save_consent(const consent::Record &r, bool purge, bool skip_backlog) {
    std::lock_guard<std::mutex> lk(mu_);
    follow_file();  // a DENIED must purge the file that is uploaded from now on
    Txn t(db_, path_);
    Stmt s(db_, "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", path_);
    auto put = [&](const char *k, const std::string &v) {
        sqlite3_reset(s.get());
        sqlite3_bind_text(s.get(), 1, k, -1, SQLITE_STATIC);
        sqlite3_bind_text(s.get(), 2, v.c_str(), -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(s.get());
        if (rc != SQLITE_DONE) throw sqlite_error(db_, rc, "storing consent", path_);
    };
    put("consent_state", consent::name(r.state));
    put("consent_policy", r.policy);
    put("consent_set_at", std::to_string(r.set_at_ns));
    uint64_t purged = 0;
    if (purge) {
        int64_t cl = meta_int("upload_cursor_logs"), ct = meta_int("upload_cursor_traces");
        exec(fmt::format("DELETE FROM events WHERE id > {}", cl).c_str());
        purged = static_cast<uint64_t>(sqlite3_changes(db_));
        exec(fmt::format("DELETE FROM request_ids WHERE request > {0}; DELETE FROM requests WHERE id > {0}", ct).c_str());
        exec("DELETE FROM upload_batches");
    }
    if (skip_backlog) {
        exec("DELETE FROM upload_batches");
        set_cursor(Kind::kLogs, store::query_int(db_, "SELECT coalesce(max(id), 0) FROM events", path_));
        set_cursor(Kind::kTraces, store::query_int(db_, "SELECT coalesce(max(id), 0) FROM requests", path_));
    }
    t.commit();
    return purged;
}

std::optional<Batch> Outbox::claim(Kind kind, uint32_t max_rows) {
    std::lock_guard<std::mutex> lk(mu_);
    follow_file();
    std::optional<Batch> b = claim_here(kind, max_rows);
    if (b) b->file = file_id_;
    return b;
}

std::optional<Batch> Outbox::claim_here(Kind kind, uint32_t max_rows) {
    Txn t(db_, path_);
    {
        // In the same transaction as the claim: a DENIED answered by another process on
        // this file (and its purge) is seen here, never a moment later.
        Stmt s(db_, "SELECT value FROM meta WHERE key='consent_state'", path_);
        if (sqlite3_step(s.get()) != SQLITE_ROW || colv(s.get(), 0) != "granted") {
            t.commit();
            return std::nullopt;
        }
    }
    Batch b;
    {
        Stmt s(db_, "SELECT batch_id, first_id, last_id, attempts FROM upload_batches WHERE kind=?", path_);
        sqlite3_bind_text(s.get(), 1, kind_name(kind), -1, SQLITE_STATIC);
        if (sqlite3_step(s.get()) == SQLITE_ROW) {
            b.id = col(s.get(), 0);
            b.first = sqlite3_column_int64(s.get(), 1);
            b.last = sqlite3_column_int64(s.get(), 2);
            b.attempts = sqlite3_column_int(s.get(), 3);
            t.commit();
            return b;
        }
    }
    int64_t cursor = meta_int(cursor_key(kind));
    int64_t last = store::query_int(
        db_, fmt::format("SELECT coalesce(max(id), 0) FROM (SELECT id FROM {} WHERE id > {} ORDER BY id LIMIT {})", table_of(kind), cursor, max_rows)
                 .c_str(),
        path_);
    if (last == 0) {
        t.commit();
        return std::nullopt;
    }
    b.id = ids::uuid4();
    b.first = cursor + 1;
    b.last = last;
    Stmt ins(db_, "INSERT INTO upload_batches(kind, batch_id, first_id, last_id) VALUES(?,?,?,?)", path_);
    sqlite3_bind_text(ins.get(), 1, kind_name(kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(ins.get(), 2, b.id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(ins.get(), 3, b.first);
    sqlite3_bind_int64(ins.get(), 4, b.last);
    int rc = sqlite3_step(ins.get());
    if (rc != SQLITE_DONE) throw sqlite_error(db_, rc, "recording the upload batch", path_);
    t.commit();
    return b;
}

std::string Outbox::encode(Kind kind, const Batch &b, const Resource &res, uint64_t &rows) {
    std::lock_guard<std::mutex> lk(mu_);
    rows = 0;
    if (b.file != file_id_) return {};  // claimed from a file since moved aside: nothing to send
    std::string o;
    std::string session = "\x01";  // no session yet
    const char *scope = "{\"scope\":{\"name\":\"telltale\",\"version\":\"" TT_VERSION_STRING "\"},";
    if (kind == Kind::kLogs) {
        Stmt s(db_,
               "SELECT e.time_ns, e.level, e.tid, e.msg, e.trace_id, e.span_id, coalesce(s.uuid, ''), e.attrs"
               " FROM events e LEFT JOIN sessions s ON s.id = e.session WHERE e.id BETWEEN ? AND ? ORDER BY e.session, e.id",
               path_);
        sqlite3_bind_int64(s.get(), 1, b.first);
        sqlite3_bind_int64(s.get(), 2, b.last);
        o = "{\"resourceLogs\":[";
        int rc;
        while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
            std::string_view ses = colv(s.get(), 6);
            if (ses != session) {
                if (rows) o += "]}]},";
                session = ses;
                o += "{\"resource\":" + resource_json(res, session) + ",\"scopeLogs\":[" + scope + "\"logRecords\":[";
            } else {
                o += ',';
            }
            std::string t = std::to_string(sqlite3_column_int64(s.get(), 0));
            int level = sqlite3_column_int(s.get(), 1);
            o += fmt::format("{{\"timeUnixNano\":\"{0}\",\"observedTimeUnixNano\":\"{0}\",\"severityNumber\":{1},\"severityText\":\"{2}\",",
                             t, level, severity_text(level));
            o += "\"body\":{";
            str_field(o, "stringValue", colv(s.get(), 3));
            o += "},\"attributes\":[";
            attr_int(o, "thread.id", sqlite3_column_int64(s.get(), 2));
            append_object_attrs(o, colv(s.get(), 7), "", "stringValue");
            o += ']';
            if (col(s.get(), 4)) {
                o += ',';
                str_field(o, "traceId", colv(s.get(), 4));
                o += ',';
                str_field(o, "spanId", colv(s.get(), 5));
            }
            o += '}';
            ++rows;
        }
        if (rc != SQLITE_DONE) throw sqlite_error(db_, rc, "reading events to upload", path_);
        o += rows ? "]}]}]}" : "]}";
        return o;
    }
    Stmt s(db_,
           "SELECT r.trace_id, r.span_id, r.parent_span_id, r.kind, r.name, r.method, r.scheme, r.host, r.port, r.path,"
           " r.start_ns, r.duration_ns, r.status, r.error, r.server_ip, r.server_port, r.tid, coalesce(s.uuid, ''),"
           " r.server_ids, r.timing, r.bytes_up, r.bytes_down"
           " FROM requests r LEFT JOIN sessions s ON s.id = r.session WHERE r.id BETWEEN ? AND ? ORDER BY r.session, r.id",
           path_);
    sqlite3_bind_int64(s.get(), 1, b.first);
    sqlite3_bind_int64(s.get(), 2, b.last);
    o = "{\"resourceSpans\":[";
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
        std::string_view ses = colv(s.get(), 17);
        if (ses != session) {
            if (rows) o += "]}]},";
            session = ses;
            o += "{\"resource\":" + resource_json(res, session) + ",\"scopeSpans\":[" + scope + "\"spans\":[";
        } else {
            o += ',';
        }
        bool http = colv(s.get(), 3) == "http";
        int64_t start = sqlite3_column_int64(s.get(), 10), dur = sqlite3_column_int64(s.get(), 11);
        int status = sqlite3_column_int(s.get(), 12);
        std::string_view error = colv(s.get(), 13);
        o += '{';
        str_field(o, "traceId", colv(s.get(), 0));
        o += ',';
        str_field(o, "spanId", colv(s.get(), 1));
        if (col(s.get(), 2)) {
            o += ',';
            str_field(o, "parentSpanId", colv(s.get(), 2));
        }
        o += ',';
        str_field(o, "name", colv(s.get(), 4));
        // SPAN_KIND_CLIENT (3) for HTTP calls, SPAN_KIND_INTERNAL (1) for app spans.
        o += fmt::format(",\"kind\":{},\"startTimeUnixNano\":\"{}\",\"endTimeUnixNano\":\"{}\",\"attributes\":[", http ? 3 : 1, start,
                         start + dur);
        if (http) {
            std::string_view path = colv(s.get(), 9);
            auto q = path.find('?');
            attr_str(o, "http.request.method", colv(s.get(), 5));
            if (col(s.get(), 6)) attr_str(o, "url.scheme", colv(s.get(), 6));
            attr_str(o, "url.path", path.substr(0, q));
            if (q != std::string_view::npos) attr_str(o, "url.query", path.substr(q + 1));
            if (col(s.get(), 7)) attr_str(o, "server.address", colv(s.get(), 7));
            if (sqlite3_column_int(s.get(), 8)) attr_int(o, "server.port", sqlite3_column_int(s.get(), 8));
            if (status > 0) attr_int(o, "http.response.status_code", status);
            if (status >= 400) attr_str(o, "error.type", std::to_string(status));
            else if (!error.empty()) attr_str(o, "error.type", error.substr(0, 128));
            if (col(s.get(), 14)) attr_str(o, "network.peer.address", colv(s.get(), 14));
            if (sqlite3_column_int(s.get(), 15)) attr_int(o, "network.peer.port", sqlite3_column_int(s.get(), 15));
            if (sqlite3_column_int64(s.get(), 20)) attr_int(o, "http.request.body.size", sqlite3_column_int64(s.get(), 20));
            if (sqlite3_column_int64(s.get(), 21)) attr_int(o, "http.response.body.size", sqlite3_column_int64(s.get(), 21));
        } else if (!error.empty()) {
            attr_str(o, "error.type", error.substr(0, 128));
        }
        attr_int(o, "thread.id", sqlite3_column_int64(s.get(), 16));
        append_object_attrs(o, colv(s.get(), 18), "telltale.server_id.", "stringValue");
        append_object_attrs(o, colv(s.get(), 19), "telltale.timing.", "intValue");
        o += ']';
        bool failed = !error.empty() || (http && (status == 0 || status >= 400));
        if (failed) {
            o += ",\"status\":{\"code\":2,";  // STATUS_CODE_ERROR
            str_field(o, "message", error.empty() ? (status ? "HTTP " + std::to_string(status) : std::string("no response")) : std::string(error));
            o += '}';
        }
        o += '}';
        ++rows;
    }
    if (rc != SQLITE_DONE) throw sqlite_error(db_, rc, "reading requests to upload", path_);
    o += rows ? "]}]}]}" : "]}";
    return o;
}

void Outbox::delivered(Kind kind, const Batch &b) {
    std::lock_guard<std::mutex> lk(mu_);
    if (b.file != file_id_) return;  // its ids mean nothing in the fresh file
    Txn t(db_, path_);
    set_cursor(kind, b.last);
    Stmt s(db_, "DELETE FROM upload_batches WHERE kind=? AND batch_id=?", path_);
    sqlite3_bind_text(s.get(), 1, kind_name(kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(s.get(), 2, b.id.c_str(), -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s.get());
    if (rc != SQLITE_DONE) throw sqlite_error(db_, rc, "closing the upload batch", path_);
    t.commit();
}

void Outbox::failed_attempt(Kind kind, const Batch &b, const std::string &error) {
    std::lock_guard<std::mutex> lk(mu_);
    if (b.file != file_id_) return;
    Stmt s(db_, "UPDATE upload_batches SET attempts = attempts + 1, last_error = ? WHERE kind=? AND batch_id=?", path_);
    sqlite3_bind_text(s.get(), 1, error.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s.get(), 2, kind_name(kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(s.get(), 3, b.id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_step(s.get());  // best effort: the attempt count only informs
}

bool Outbox::shrink(Kind kind, const Batch &b) {
    std::lock_guard<std::mutex> lk(mu_);
    if (b.file != file_id_) return true;  // gone with the old file: the next claim starts afresh
    Txn t(db_, path_);
    int64_t n = store::query_int(db_, fmt::format("SELECT count(*) FROM {} WHERE id BETWEEN {} AND {}", table_of(kind), b.first, b.last).c_str(), path_);
    if (n <= 1) return false;
    int64_t mid = store::query_int(
        db_, fmt::format("SELECT id FROM {} WHERE id BETWEEN {} AND {} ORDER BY id LIMIT 1 OFFSET {}", table_of(kind), b.first, b.last, n / 2 - 1).c_str(),
        path_);
    Stmt s(db_, "UPDATE upload_batches SET batch_id = ?, last_id = ?, attempts = 0 WHERE kind=? AND batch_id=?", path_);
    std::string fresh = ids::uuid4();  // other content, other id
    sqlite3_bind_text(s.get(), 1, fresh.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s.get(), 2, mid);
    sqlite3_bind_text(s.get(), 3, kind_name(kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(s.get(), 4, b.id.c_str(), -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s.get());
    if (rc != SQLITE_DONE) throw sqlite_error(db_, rc, "splitting the upload batch", path_);
    t.commit();
    return true;
}

void Outbox::drop(Kind kind, const Batch &b, const std::string &reason) {
    delivered(kind, b);  // the cursor moves past it just the same
    std::lock_guard<std::mutex> lk(mu_);
    if (b.file != file_id_) return;
    Stmt s(db_, "INSERT INTO meta(key, value) VALUES('upload_last_drop', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", path_);
    sqlite3_bind_text(s.get(), 1, reason.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_step(s.get());
}

Outbox::Progress Outbox::progress() {
    std::lock_guard<std::mutex> lk(mu_);
    follow_file();
    Progress p;
    p.cursor_logs = meta_int("upload_cursor_logs");
    p.cursor_traces = meta_int("upload_cursor_traces");
    p.max_logs = store::query_int(db_, "SELECT coalesce(max(id), 0) FROM events", path_);
    p.max_traces = store::query_int(db_, "SELECT coalesce(max(id), 0) FROM requests", path_);
    return p;
}

std::string Outbox::last_drop_reason() {
    std::lock_guard<std::mutex> lk(mu_);
    Stmt s(db_, "SELECT value FROM meta WHERE key='upload_last_drop'", path_);
    return sqlite3_step(s.get()) == SQLITE_ROW && col(s.get(), 0) ? col(s.get(), 0) : "";
}

}  // namespace tt::upload
