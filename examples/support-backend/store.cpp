#include "store.hpp"

#include <nlohmann/json.hpp>

namespace tsb {

using nlohmann::json;

Stmt::Stmt(sqlite3 *db, const char *sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK) throw std::runtime_error(std::string("SQL: ") + sqlite3_errmsg(db) + ": " + sql);
}
Stmt &Stmt::bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
}
Stmt &Stmt::bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
}
Stmt &Stmt::bind_blob(int i, std::string_view v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
}
Stmt &Stmt::bind_null(int i) {
    sqlite3_bind_null(s_, i);
    return *this;
}
bool Stmt::row() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) throw std::runtime_error(std::string("SQLite: ") + sqlite3_errmsg(db_));
    return false;
}
void Stmt::run() {
    while (row()) {
    }
    sqlite3_reset(s_);
}
std::string Stmt::text(int i) const {
    const unsigned char *t = sqlite3_column_text(s_, i);
    return t ? std::string(reinterpret_cast<const char *>(t), static_cast<size_t>(sqlite3_column_bytes(s_, i))) : std::string();
}

static const char *kSchema = R"SQL(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE IF NOT EXISTS batches(id TEXT PRIMARY KEY, kind TEXT NOT NULL, received_ns INTEGER NOT NULL, records INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS clients(install_id TEXT PRIMARY KEY, app TEXT, app_version TEXT, os TEXT,
  first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS client_ips(install_id TEXT NOT NULL, ip TEXT NOT NULL, last_ns INTEGER NOT NULL,
  PRIMARY KEY(install_id, ip)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS client_ips_ip ON client_ips(ip);
CREATE TABLE IF NOT EXISTS logs(id INTEGER PRIMARY KEY, install_id TEXT NOT NULL, session_id TEXT, time_ns INTEGER NOT NULL,
  severity INTEGER, message TEXT, trace_id TEXT, span_id TEXT, attrs TEXT, ip TEXT, fingerprint TEXT, source TEXT);
-- the same event arrives by upload and inside a report: kept once
CREATE UNIQUE INDEX IF NOT EXISTS logs_once ON logs(install_id, time_ns, message);
CREATE INDEX IF NOT EXISTS logs_trace ON logs(trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS logs_errors ON logs(time_ns) WHERE severity >= 17;
CREATE TABLE IF NOT EXISTS requests(id INTEGER PRIMARY KEY, install_id TEXT NOT NULL, session_id TEXT, trace_id TEXT, span_id TEXT,
  parent_span_id TEXT, name TEXT, kind TEXT, start_ns INTEGER, end_ns INTEGER, method TEXT, host TEXT, path TEXT, status INTEGER,
  error TEXT, server_ids TEXT, attrs TEXT, ip TEXT, source TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS requests_once ON requests(install_id, span_id);
CREATE INDEX IF NOT EXISTS requests_trace ON requests(trace_id);
CREATE INDEX IF NOT EXISTS requests_client ON requests(install_id, start_ns);
CREATE TABLE IF NOT EXISTS server_ids(value TEXT NOT NULL, header TEXT, install_id TEXT NOT NULL, trace_id TEXT NOT NULL,
  PRIMARY KEY(value, install_id, trace_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reports(id TEXT PRIMARY KEY, received_ns INTEGER NOT NULL, client_ip TEXT, install_id TEXT,
  manifest TEXT, diagnosis TEXT, logs BLOB);
CREATE INDEX IF NOT EXISTS reports_client ON reports(install_id);
CREATE INDEX IF NOT EXISTS reports_ip ON reports(client_ip);
CREATE INDEX IF NOT EXISTS reports_time ON reports(received_ns);
CREATE TABLE IF NOT EXISTS attachments(report_id TEXT NOT NULL, name TEXT NOT NULL, content_type TEXT, data BLOB,
  PRIMARY KEY(report_id, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS incidents(id INTEGER PRIMARY KEY, opened_ns INTEGER NOT NULL, closed_ns INTEGER, source TEXT NOT NULL,
  title TEXT NOT NULL, notice TEXT NOT NULL);
)SQL";

Store::Store(const std::string &path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
        std::string e = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        throw std::runtime_error("cannot open the database \"" + path + "\": " + e);
    }
    sqlite3_busy_timeout(db_, 5000);
    exec(kSchema);
}

Store::~Store() { sqlite3_close(db_); }

void Store::exec(const char *sql) {
    char *err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string e = err ? err : "?";
        sqlite3_free(err);
        throw std::runtime_error("SQLite: " + e);
    }
}

namespace {
// Keeps a transaction open until commit(); rolls back when an exception leaves the scope.
struct Tx {
    Store &s;
    bool done = false;
    explicit Tx(Store &st) : s(st) { s.exec("BEGIN IMMEDIATE"); }
    void commit() {
        s.exec("COMMIT");
        done = true;
    }
    ~Tx() {
        if (!done) sqlite3_exec(s.db(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
};

void add_server_id(sqlite3 *db, const std::string &header, const std::string &value, const std::string &install, const std::string &trace) {
    Stmt s(db, "INSERT OR IGNORE INTO server_ids(value, header, install_id, trace_id) VALUES(?,?,?,?)");
    auto put = [&](std::string_view v) {
        if (v.empty()) return;
        s.bind(1, v).bind(2, header).bind(3, install).bind(4, trace).run();
    };
    put(value);
    // A header sent twice is stored joined by ", ": each value finds the request too.
    if (value.find(", ") != std::string::npos)
        for (size_t at = 0; at <= value.size();) {
            size_t e = value.find(", ", at);
            if (e == std::string::npos) e = value.size();
            put(std::string_view(value).substr(at, e - at));
            at = e + 2;
        }
}
}  // namespace

void Store::note_client(const Resource &r, const std::string &ip, int64_t t) {
    if (r.install_id.empty()) return;
    Stmt c(db_,
           "INSERT INTO clients(install_id, app, app_version, os, first_ns, last_ns) VALUES(?,?,?,?,?,?)"
           " ON CONFLICT(install_id) DO UPDATE SET app=coalesce(nullif(excluded.app,''), app),"
           " app_version=coalesce(nullif(excluded.app_version,''), app_version), os=coalesce(nullif(excluded.os,''), os),"
           " last_ns=max(last_ns, excluded.last_ns)");
    c.bind(1, r.install_id).bind(2, r.app).bind(3, r.app_version).bind(4, r.os).bind(5, t).bind(6, t).run();
    if (ip.empty()) return;
    Stmt i(db_, "INSERT INTO client_ips(install_id, ip, last_ns) VALUES(?,?,?) ON CONFLICT DO UPDATE SET last_ns=max(last_ns, excluded.last_ns)");
    i.bind(1, r.install_id).bind(2, ip).bind(3, t).run();
}

bool Store::has_batch(const std::string &batch_id) {
    std::lock_guard<std::mutex> lk(mu);
    Stmt s(db_, "SELECT 1 FROM batches WHERE id=?");
    s.bind(1, batch_id);
    return s.row();
}

bool Store::add_batch(const std::string &batch_id, bool traces, const Batch &b, const std::string &ip, int64_t now) {
    std::lock_guard<std::mutex> lk(mu);
    Tx tx(*this);
    if (!batch_id.empty()) {
        Stmt s(db_, "INSERT OR IGNORE INTO batches(id, kind, received_ns, records) VALUES(?,?,?,?)");
        s.bind(1, batch_id).bind(2, traces ? "traces" : "logs").bind(3, now).bind(4, static_cast<int64_t>(traces ? b.spans.size() : b.logs.size())).run();
        if (s.changes() == 0) return false;  // seen before: a retry whose answer got lost
    }
    for (auto &r : b.resources) note_client(r, ip, now);
    if (!traces) {
        Stmt s(db_,
               "INSERT OR IGNORE INTO logs(install_id, session_id, time_ns, severity, message, trace_id, span_id, attrs, ip, fingerprint, source)"
               " VALUES(?,?,?,?,?,?,?,?,?,?,'upload')");
        for (auto &l : b.logs) {
            const Resource &r = b.resources[l.resource];
            s.bind(1, r.install_id).bind(2, r.session_id).bind(3, l.time_ns).bind(4, int64_t(l.severity)).bind(5, l.message);
            l.trace_id.empty() ? s.bind_null(6) : s.bind(6, l.trace_id);
            l.span_id.empty() ? s.bind_null(7) : s.bind(7, l.span_id);
            s.bind(8, l.attrs).bind(9, ip);
            l.severity >= 17 ? s.bind(10, fingerprint(l.message)) : s.bind_null(10);
            s.run();
        }
    } else {
        Stmt s(db_,
               "INSERT OR IGNORE INTO requests(install_id, session_id, trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, method,"
               " host, path, status, error, server_ids, attrs, ip, source) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'upload')");
        for (auto &sp : b.spans) {
            const Resource &r = b.resources[sp.resource];
            json ids = json::object();
            for (auto &[k, v] : sp.server_ids) ids[k] = v;
            std::string err = sp.error_type.empty() && sp.status_code == 2 ? sp.status_message : sp.error_type;
            s.bind(1, r.install_id).bind(2, r.session_id).bind(3, sp.trace_id).bind(4, sp.span_id).bind(5, sp.parent_span_id).bind(6, sp.name);
            s.bind(7, sp.kind == 3 ? "http" : "span").bind(8, sp.start_ns).bind(9, sp.end_ns).bind(10, sp.method).bind(11, sp.host).bind(12, sp.path);
            s.bind(13, int64_t(sp.http_status)).bind(14, err).bind(15, ids.dump(-1, ' ', false, json::error_handler_t::replace)).bind(16, sp.attrs).bind(17, ip);
            s.run();
            for (auto &[k, v] : sp.server_ids) add_server_id(db_, k, v, r.install_id, sp.trace_id);
        }
    }
    tx.commit();
    return true;
}

bool Store::add_report(const Report &r) {
    std::lock_guard<std::mutex> lk(mu);
    Tx tx(*this);
    Stmt s(db_, "INSERT OR IGNORE INTO reports(id, received_ns, client_ip, install_id, manifest, diagnosis, logs) VALUES(?,?,?,?,?,?,?)");
    s.bind(1, r.id).bind(2, r.received_ns).bind(3, r.ip).bind(4, r.install_id).bind(5, r.manifest).bind(6, r.diagnosis).bind_blob(7, r.logs_zst).run();
    if (s.changes() == 0) return false;  // the same report again: the first copy stands
    Stmt a(db_, "INSERT OR IGNORE INTO attachments(report_id, name, content_type, data) VALUES(?,?,?,?)");
    for (auto &at : r.attachments) a.bind(1, r.id).bind(2, at.name).bind(3, at.content_type).bind_blob(4, at.data).run();

    // The report carries the client's recent story even when telemetry consent was never
    // given: its requests and logs join the timeline (deduplicated against uploads).
    json m = json::parse(r.manifest, nullptr, false);
    if (!r.install_id.empty() && m.is_object()) {
        Resource res;
        res.install_id = r.install_id;
        if (m.contains("app") && m["app"].is_object()) {
            res.app = m["app"].value("name", "");
            res.app_version = m["app"].value("version", "");
        }
        if (m.contains("device") && m["device"].is_object()) res.os = m["device"].value("os_name", "") + " " + m["device"].value("os_version", "");
        note_client(res, r.ip, r.received_ns);
        std::string session = m.value("session_id", "");
        Stmt q(db_,
               "INSERT OR IGNORE INTO requests(install_id, session_id, trace_id, span_id, name, kind, start_ns, end_ns, method, host, path,"
               " status, error, server_ids, attrs, ip, source) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,'{}',?,'report')");
        if (m.contains("requests") && m["requests"].is_array())
            for (auto &rq : m["requests"]) {
                if (!rq.is_object()) continue;
                std::string trace = rq.value("trace_id", ""), span = rq.value("span_id", "");
                if (!is_hex_id(trace, 32) || !is_hex_id(span, 16)) continue;
                int64_t start = parse_rfc3339(rq.value("time", ""));
                double dur = rq.contains("duration_ms") && rq["duration_ms"].is_number() ? rq["duration_ms"].get<double>() : 0;
                json ids = rq.contains("server_ids") && rq["server_ids"].is_object() ? rq["server_ids"] : json::object();
                json err = rq.contains("error") ? rq["error"] : json();
                q.bind(1, r.install_id).bind(2, session).bind(3, trace).bind(4, span).bind(5, rq.value("name", ""));
                q.bind(6, rq.value("kind", "http")).bind(7, start).bind(8, start + static_cast<int64_t>(dur * 1e6)).bind(9, rq.value("method", ""));
                q.bind(10, rq.value("host", "")).bind(11, rq.value("path", ""));
                q.bind(12, int64_t(rq.contains("status") && rq["status"].is_number_integer() ? rq["status"].get<int64_t>() : 0));
                q.bind(13, err.is_string() ? err.get<std::string>() : "").bind(14, ids.dump(-1, ' ', false, json::error_handler_t::replace)).bind(15, r.ip);
                q.run();
                for (auto &[k, v] : ids.items())
                    if (v.is_string()) add_server_id(db_, k, v.get<std::string>(), r.install_id, trace);
            }
        Stmt l(db_,
               "INSERT OR IGNORE INTO logs(install_id, session_id, time_ns, severity, message, trace_id, span_id, attrs, ip, fingerprint, source)"
               " VALUES(?,?,?,?,?,?,?,?,?,?,'report')");
        for (auto &line : r.log_lines) {
            json e = json::parse(line, nullptr, false);
            if (!e.is_object()) continue;
            std::string tns = e.value("time_unix_nano", "");
            int64_t t = 0;
            for (char c : tns) t = (c >= '0' && c <= '9' && t < INT64_MAX / 10 - 10) ? t * 10 + (c - '0') : t;
            if (!t) t = parse_rfc3339(e.value("time", ""));
            int sev = e.contains("severity_number") && e["severity_number"].is_number_integer() ? e["severity_number"].get<int>() : 0;
            std::string msg = e.value("message", ""), trace = e.value("trace_id", ""), span = e.value("span_id", "");
            l.bind(1, r.install_id).bind(2, session).bind(3, t).bind(4, int64_t(sev)).bind(5, msg);
            is_hex_id(trace, 32) ? l.bind(6, trace) : l.bind_null(6);
            is_hex_id(span, 16) ? l.bind(7, span) : l.bind_null(7);
            l.bind(8, e.contains("attrs") ? e["attrs"].dump(-1, ' ', false, json::error_handler_t::replace) : "{}").bind(9, r.ip);
            sev >= 17 ? l.bind(10, fingerprint(msg)) : l.bind_null(10);
            l.run();
        }
    }
    tx.commit();
    return true;
}

}  // namespace tsb
