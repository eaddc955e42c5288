#include "report/reports.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>

#include <curl/curl.h>
#include <fmt/format.h>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/text.hpp"
#include "net/net.hpp"
#include "report/draft.hpp"
#include "report/scrub.hpp"
#include "report/tar.hpp"
#include "store/sqlite.hpp"
#include "trace/url.hpp"
#include "upload/retry.hpp"


namespace tt::report {
namespace {

using store::Stmt;
using store::sqlite_error;

uint64_t now_ms() { return clock::monotonic_ns() / 1'000'000; }

std::string rfc3339(int64_t ns) {
    time_t s = static_cast<time_t>(ns / 1'000'000'000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char buf[40];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return fmt::format("{}.{:09d}Z", buf, ns % 1'000'000'000);
}

// A JSON string literal (quotes included) of s, repaired to UTF-8.
std::string q(std::string_view s) {
    std::string out = "\"";
    out.reserve(s.size() + 2);
    if (text::utf8_valid(s)) {  // the usual case (the writer stored repaired text): no copy
        text::json_escape(s, out);
    } else {
        std::string clean;
        text::utf8_repair(s, clean);
        text::json_escape(clean, out);
    }
    out += '"';
    return out;
}

const char *level_name(int l) {
    return l >= 21 ? "FATAL" : l >= 17 ? "ERROR" : l >= 13 ? "WARN" : l >= 9 ? "INFO" : l >= 5 ? "DEBUG" : "TRACE";
}

const char *col(sqlite3_stmt *s, int i) { return reinterpret_cast<const char *>(sqlite3_column_text(s, i)); }
std::string cols(sqlite3_stmt *s, int i) {
    const char *p = col(s, i);
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s, i))) : std::string();
}

std::string request_json(const Request &r) {
    std::string a = "[";
    for (auto &p : r.attachments) a += (a.size() > 1 ? "," : "") + q(p);
    a += "]";
    return fmt::format("{{\"description\":{},\"contact\":{},\"window_s\":{},\"attachments\":{},\"max_log_bytes\":{},"
                       "\"max_attachment_bytes\":{},\"max_requests\":{},\"automatic\":{},\"scrub\":{}}}",
                       q(r.description), q(r.contact), r.window_s, a, r.max_log_bytes, r.max_attachment_bytes, r.max_requests,
                       r.automatic, r.scrub);
}

// Why a request failed, for support: the user's network, or the server.
const char *classify(int status, const std::string &error) {
    if (status >= 500) return "server";
    if (status >= 400) return "client_http";
    if (status > 0) return "ok";
    // No answer and an error text: whatever curl said (DNS, connect, TLS, timeout, reset,
    // abandoned), the request never reached a server that answered.
    return error.empty() ? "unknown" : "client_network";
}

// Resolve and time TCP (and TLS for https) connects to a host, time-boxed.
std::string probe_host(const std::string &url, const std::string &proxy, const std::string &ca_file, long budget_ms) {
    trace::UrlParts u = trace::sanitize_url(url);
    std::string out = fmt::format("{{\"target\":{},\"host\":{}", q(u.scheme + "://" + u.host + (u.port ? ":" + std::to_string(u.port) : "")), q(u.host));
    auto t0 = std::chrono::steady_clock::now();
    struct addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(u.host.c_str(), nullptr, &hints, &res);
    long dns_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
    if (rc != 0) {
        out += fmt::format(",\"dns_us\":{},\"dns_error\":{}}}", dns_us, q(gai_strerror(rc)));
        return out;
    }
    std::string addrs = "[";
    for (auto *a = res; a; a = a->ai_next) {
        char buf[INET6_ADDRSTRLEN] = {};
        void *src = a->ai_family == AF_INET ? static_cast<void *>(&reinterpret_cast<sockaddr_in *>(a->ai_addr)->sin_addr)
                                            : static_cast<void *>(&reinterpret_cast<sockaddr_in6 *>(a->ai_addr)->sin6_addr);
        inet_ntop(a->ai_family, src, buf, sizeof buf);
        std::string one = q(buf);
        if (addrs.find(one) == std::string::npos) addrs += (addrs.size() > 1 ? "," : "") + one;
    }
    freeaddrinfo(res);
    out += fmt::format(",\"dns_us\":{},\"addresses\":{}]", dns_us, addrs);
    // TCP and TLS through libcurl's connect-only mode: the same path (proxy, CAs) the app's calls take.
    CURL *e = curl_easy_init();
    if (!e) return out + "}";
    char err[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(e, CURLOPT_URL, (u.scheme.empty() ? "https" : u.scheme + "://" + u.host + (u.port ? ":" + std::to_string(u.port) : "") + "/").c_str());
    curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, budget_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, budget_ms);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, err);
    if (!proxy.empty()) curl_easy_setopt(e, CURLOPT_PROXY, proxy.c_str());
    if (!ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, ca_file.c_str());
    CURLcode cr = curl_easy_perform(e);
    curl_off_t tcp = 0, tls = 0;
    curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &tcp);
    curl_easy_getinfo(e, CURLINFO_APPCONNECT_TIME_T, &tls);
    if (cr == CURLE_OK) {
        out += fmt::format(",\"tcp_connect_us\":{}", static_cast<long long>(tcp));
        if (u.scheme == "https") out += fmt::format(",\"tls_connect_us\":{}", static_cast<long long>(tls));
        out += ",\"ok\":true";
    } else {
        out += fmt::format(",\"ok\":false,\"error\":{}", q(std::string(curl_easy_strerror(cr)) + (err[0] ? std::string(": ") + err : "")));
    }
    curl_easy_cleanup(e);
    return out + "}";
}

}  // namespace

Reports::Reports(ReportConfig cfg, std::function<Facts()> facts) : cfg_(std::move(cfg)), facts_(std::move(facts)) {
    file_id_ = store::file_identity(cfg_.path);
    db_ = store::open_side_connection(cfg_.path, "opening the report queue");
}

// Held db_mu_. The writer moved a damaged buffer aside and started a fresh one at the
// path: the reports the user filed must not stay behind in the damaged file (a restart
// would never send them). Copy what can still be read into the fresh file, then use it.
void Reports::follow_file() {
    std::pair<dev_t, ino_t> now = store::file_identity(cfg_.path);
    if (now == std::pair<dev_t, ino_t>{} || now == file_id_) return;
    sqlite3 *fresh = store::open_side_connection(cfg_.path, "opening the report queue");
    struct Guard {
        sqlite3 *&db;
        ~Guard() { sqlite3_close_v2(db); }
    } guard{fresh};
    // The writer creates the schema right after the move: until then, try again later.
    if (store::query_int(fresh, "SELECT count(*) FROM sqlite_master WHERE name IN ('reports', 'report_parts')", cfg_.path) != 2) return;
    store::exec(fresh, "BEGIN IMMEDIATE", cfg_.path);
    try {
        copy_reports(fresh);
        store::exec(fresh, "COMMIT", cfg_.path);
    } catch (...) {
        sqlite3_exec(fresh, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
    std::swap(db_, fresh);  // the guard closes the old connection
    file_id_ = now;
}

// Held db_mu_. A fresh file that cannot be written yet (busy, full) must not stop the
// user's report from being filed or sent: keep the connection we have, try again later.
void Reports::try_follow_file() noexcept {
    try {
        follow_file();
    } catch (...) {
    }
}

// From db_ (the damaged file) into `to`, as much as can be read: a damaged page ends it.
void Reports::copy_reports(sqlite3 *to) noexcept {
    try {
        Stmt rows(db_,
                  "SELECT id, created_ns, state, reason, automatic, options, last_event_id, last_request_id, attempts, notice, sent_ns"
                  " FROM reports",
                  cfg_.path);
        Stmt ins(to,
                 "INSERT OR IGNORE INTO reports(id, created_ns, state, reason, automatic, options, last_event_id, last_request_id,"
                 " attempts, notice, sent_ns) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                 cfg_.path);
        while (sqlite3_step(rows.get()) == SQLITE_ROW) {
            sqlite3_reset(ins.get());
            for (int i = 0; i < 11; ++i) sqlite3_bind_value(ins.get(), i + 1, sqlite3_column_value(rows.get(), i));
            sqlite3_step(ins.get());
        }
        Stmt parts(db_,
                   "SELECT report, name, content_type, data FROM report_parts WHERE report IN"
                   " (SELECT id FROM reports WHERE state IN ('assembling', 'pending'))",
                   cfg_.path);
        Stmt put(to, "INSERT OR IGNORE INTO report_parts(report, name, content_type, data) VALUES(?,?,?,?)", cfg_.path);
        while (sqlite3_step(parts.get()) == SQLITE_ROW) {
            sqlite3_reset(put.get());
            for (int i = 0; i < 4; ++i) sqlite3_bind_value(put.get(), i + 1, sqlite3_column_value(parts.get(), i));
            sqlite3_step(put.get());
        }
    } catch (...) {
        // The old file could not even be read this far: what was copied stays.
    }
}

Reports::~Reports() {
    stop();
    sqlite3_close_v2(db_);
}

void Reports::start() { thread_ = std::thread([this] { run(); }); }

void Reports::stop() noexcept {
    {
        std::lock_guard<std::mutex> lk(mu_);
        stop_ = true;
        if (transport_) transport_->abort();
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Reports::wake() noexcept {
    {
        std::lock_guard<std::mutex> lk(mu_);
        woken_ = true;
    }
    cv_.notify_all();
}

void Reports::network_changed() noexcept {
    {
        std::lock_guard<std::mutex> lk(mu_);
        woken_ = true;
        attempt_ = 0;
        next_attempt_ms_ = 0;
    }
    cv_.notify_all();
}

void Reports::put_part(const std::string &id, const std::string &name, const std::string &type, const std::string &data) {
    Stmt s(db_, "INSERT OR REPLACE INTO report_parts(report, name, content_type, data) VALUES(?,?,?,?)", cfg_.path);
    sqlite3_bind_text(s.get(), 1, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s.get(), 2, name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s.get(), 3, type.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob64(s.get(), 4, data.data(), data.size(), SQLITE_TRANSIENT);
    int rc = sqlite3_step(s.get());
    if (rc != SQLITE_DONE) throw sqlite_error(db_, rc, "storing a report part", cfg_.path);
}

Reports::Filed Reports::file(const Request &r, const char *state) {
    Filed f;
    f.id = ids::uuid4();
    // Attachments are read now: the file as it was when the user pressed the button.
    std::vector<std::pair<std::string, std::string>> atts;
    for (auto &path : r.attachments) {
        std::ifstream in(path, std::ios::binary | std::ios::ate);
        if (!in) {
            f.skipped.push_back(fmt::format("{}: cannot be read ({})", path, std::strerror(errno)));
            continue;
        }
        auto size = static_cast<uint64_t>(in.tellg());
        if (size > r.max_attachment_bytes) {
            f.skipped.push_back(fmt::format("{}: {} bytes, over the {} byte cap for one attachment", path, size, r.max_attachment_bytes));
            continue;
        }
        std::string data(size, '\0');
        in.seekg(0);
        in.read(data.data(), static_cast<std::streamsize>(size));
        std::string name = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1).substr(0, 80);
        for (auto &[n, d] : atts)
            if (n == name) name = std::to_string(atts.size()) + "-" + name;  // two files of one name
        atts.emplace_back(name, std::move(data));
    }
    std::lock_guard<std::mutex> lk(db_mu_);
    try_follow_file();
    store::exec(db_, "BEGIN IMMEDIATE", cfg_.path);
    try {
        if (r.automatic) {
            // Kept in the file, not in memory: a crash loop restarts the process each time.
            int64_t now = static_cast<int64_t>(clock::realtime_ns());
            int64_t last = store::query_int(db_, "SELECT coalesce(max(created_ns), 0) FROM reports WHERE automatic=1", cfg_.path);
            if (last > 0 && now >= last && now - last < int64_t(cfg_.automatic_min_interval_s) * 1'000'000'000)
                throw Error(TT_ELIMIT,
                            fmt::format("tt_report_submit: an automatic report was filed less than {} s ago; this one was not filed",
                                        cfg_.automatic_min_interval_s),
                            "automatic reports are rate-limited so a crash loop does not flood support; user reports are not");
        }
        std::string reason;
        for (auto &s : f.skipped) reason += (reason.empty() ? "left out: " : "; ") + s;
        // 'Now' for this report: what the buffer holds at the press of the button.
        int64_t last_event_id = store::query_int(db_, "SELECT coalesce(max(id), 0) FROM events", cfg_.path);
        int64_t last_request_id = store::query_int(db_, "SELECT coalesce(max(id), 0) FROM requests", cfg_.path);
        Stmt s(db_,
               "INSERT INTO reports(id, created_ns, state, reason, automatic, options, last_event_id, last_request_id)"
               " VALUES(?,?,?,?,?,?,?,?)",
               cfg_.path);
        sqlite3_bind_text(s.get(), 1, f.id.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s.get(), 2, static_cast<int64_t>(clock::realtime_ns()));
        sqlite3_bind_text(s.get(), 3, state, -1, SQLITE_STATIC);
        if (!reason.empty()) sqlite3_bind_text(s.get(), 4, reason.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(s.get(), 5, r.automatic);
        std::string opts = request_json(r);
        sqlite3_bind_text(s.get(), 6, opts.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s.get(), 7, last_event_id);
        sqlite3_bind_int64(s.get(), 8, last_request_id);
        int rc = sqlite3_step(s.get());
        if (rc != SQLITE_DONE) throw sqlite_error(db_, rc, "filing the report", cfg_.path);
        for (auto &[name, data] : atts) put_part(f.id, "attachments/" + name, "application/octet-stream", data);
        // The queue is capped: the oldest waiting report goes, and says why.
        store::exec(db_,
                    fmt::format("UPDATE reports SET state='failed', reason='dropped: more than {0} reports were waiting to be sent'"
                                " WHERE state IN ('assembling','pending') AND id NOT IN (SELECT id FROM reports WHERE state IN"
                                " ('assembling','pending') ORDER BY created_ns DESC LIMIT {0})",
                                cfg_.max_queue)
                        .c_str(),
                    cfg_.path);
        store::exec(db_, "DELETE FROM report_parts WHERE report IN (SELECT id FROM reports WHERE state='failed' AND reason LIKE 'dropped:%')",
                    cfg_.path);
        store::exec(db_, "COMMIT", cfg_.path);
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
    return f;
}

Reports::Filed Reports::submit(const Request &r) {
    Filed f = file(r, "assembling");
    wake();
    return f;
}

std::string Reports::build_manifest(sqlite3 *db, const std::string &id, const Request &r, int64_t created_ns, int64_t last_event_id,
                                    int64_t last_request_id, const std::vector<std::string> &skipped,
                                    std::string &logs_zst, std::string &summary, std::vector<std::string> &failed_urls) {
    Facts facts = facts_();
    net::Platform p = net::platform();
    int64_t from_ns = created_ns - int64_t(r.window_s) * 1'000'000'000;
    // Nothing from after the press (the ids bound it too, except in a buffer started afresh
    // after the damaged one was moved aside); 1 s of slack for clock conversion.
    int64_t to_ns = created_ns + 1'000'000'000;
    std::string m = "{";
    m += fmt::format("\"report_id\":{},\"created_at\":{},\"created_unix_nano\":\"{}\",\"automatic\":{},", q(id), q(rfc3339(created_ns)),
                     created_ns, r.automatic);
    m += fmt::format("\"app\":{{\"name\":{},\"version\":{}}},\"library\":{{\"name\":\"telltale\",\"version\":\"{}\"}},", q(cfg_.app_name),
                     q(cfg_.app_version), TT_VERSION_STRING);
    m += fmt::format("\"device\":{{\"os_name\":{},\"os_version\":{},\"kernel\":{},\"arch\":{},\"locale\":{},\"time_zone\":{}}},", q(p.os_name),
                     q(p.os_version), q(p.kernel), q(p.arch), q(p.locale), q(p.time_zone));
    m += fmt::format("\"install_id\":{},\"session_id\":{},", q(cfg_.install_id), q(cfg_.session_id));
    m += "\"local_addresses\":[";
    bool first = true;
    for (auto &a : net::local_addresses()) {
        m += fmt::format("{}{{\"interface\":{},\"family\":\"{}\",\"address\":{},\"loopback\":{},\"private\":{},\"link_local\":{}}}",
                         first ? "" : ",", q(a.interface), a.family, q(a.address), a.loopback, a.is_private, a.link_local);
        first = false;
    }
    m += "],";
    m += fmt::format("\"user\":{{\"description\":{},\"contact\":{}}},", q(r.description), q(r.contact));
    const char *consent = facts.consent == TT_CONSENT_GRANTED ? "granted" : facts.consent == TT_CONSENT_DENIED ? "denied" : "unknown";
    m += fmt::format("\"consent\":\"{}\",\"counters\":{{\"logged\":{},\"stored\":{},\"dropped\":{},\"evicted\":{},\"requests_dropped\":{}}},",
                     consent, facts.logged, facts.stored, facts.dropped, facts.evicted, facts.requests_dropped);
    m += fmt::format("\"window\":{{\"seconds\":{},\"from\":{},\"to\":{}}},", r.window_s, q(rfc3339(from_ns)), q(rfc3339(created_ns)));

    // Recent requests, newest first, classified.
    {
        Stmt s(db,
               "SELECT start_ns, kind, name, method, scheme, host, port, path, status, duration_ns, error, trace_id, span_id,"
               " CASE WHEN json_valid(server_ids) THEN server_ids ELSE '{}' END, server_ip FROM requests WHERE id <= ? AND start_ns >= ? AND start_ns <= ?4"
               " ORDER BY id DESC LIMIT ?3",
               cfg_.path);
        sqlite3_bind_int64(s.get(), 1, last_request_id);
        sqlite3_bind_int64(s.get(), 2, from_ns);
        sqlite3_bind_int(s.get(), 3, static_cast<int>(r.max_requests));
        sqlite3_bind_int64(s.get(), 4, to_ns);
        m += "\"requests\":[";
        first = true;
        int failed = 0, server_side = 0;
        while (sqlite3_step(s.get()) == SQLITE_ROW) {
            bool http = cols(s.get(), 1) == "http";
            int status = sqlite3_column_int(s.get(), 8);
            std::string error = cols(s.get(), 10), path = cols(s.get(), 7);
            if (r.scrub) scrub_text(path), scrub_text(error);
            const char *cls = http ? classify(status, error) : (error.empty() ? "ok" : "app");
            if (std::strcmp(cls, "ok") != 0) ++failed;
            if (std::strcmp(cls, "server") == 0) ++server_side;
            if (http && std::strcmp(cls, "client_network") == 0 && failed_urls.size() < 3) {
                std::string u = cols(s.get(), 4) + "://" + cols(s.get(), 5) + (sqlite3_column_int(s.get(), 6) ? ":" + std::to_string(sqlite3_column_int(s.get(), 6)) : "");
                if (std::find(failed_urls.begin(), failed_urls.end(), u) == failed_urls.end()) failed_urls.push_back(u);
            }
            int port = sqlite3_column_int(s.get(), 6);
            m += fmt::format("{}{{\"time\":{},\"time_unix_nano\":\"{}\",\"kind\":\"{}\",\"name\":{},\"method\":{},\"scheme\":{},\"host\":{},"
                             "\"port\":{},\"path\":{},\"status\":{},\"duration_ms\":{:.3f},\"error\":{},\"trace_id\":{},\"span_id\":{},"
                             "\"server_ids\":{},\"server_ip\":{},\"class\":\"{}\"}}",
                             first ? "" : ",", q(rfc3339(sqlite3_column_int64(s.get(), 0))), sqlite3_column_int64(s.get(), 0),
                             http ? "http" : "span", q(cols(s.get(), 2)), q(cols(s.get(), 3)), q(cols(s.get(), 4)), q(cols(s.get(), 5)),
                             port ? std::to_string(port) : std::string("null"), q(path), status, sqlite3_column_int64(s.get(), 9) / 1e6,
                             error.empty() ? "null" : q(error), q(cols(s.get(), 11)), q(cols(s.get(), 12)), cols(s.get(), 13), q(cols(s.get(), 14)), cls);
            first = false;
        }
        m += "],";
        summary = fmt::format("{} failed request{} ({} on the server side)", failed, failed == 1 ? "" : "s", server_side);
    }
    // Recent errors grouped by fingerprint.
    {
        Stmt s(db, "SELECT time_ns, msg FROM events WHERE id <= ? AND level >= 17 AND time_ns >= ? AND time_ns <= ? ORDER BY id DESC LIMIT 5000",
               cfg_.path);
        sqlite3_bind_int64(s.get(), 1, last_event_id);
        sqlite3_bind_int64(s.get(), 2, from_ns);
        sqlite3_bind_int64(s.get(), 3, to_ns);
        struct Group {
            std::string sample;
            uint64_t count = 0;
            int64_t first = 0, last = 0;
        };
        std::map<std::string, Group> groups;
        while (sqlite3_step(s.get()) == SQLITE_ROW) {
            std::string msg = cols(s.get(), 1);
            if (r.scrub) scrub_text(msg);
            Group &g = groups[fingerprint(msg)];
            int64_t t = sqlite3_column_int64(s.get(), 0);
            if (!g.count) g.sample = msg, g.last = t;
            g.first = t;
            ++g.count;
        }
        std::vector<std::pair<std::string, Group>> sorted(groups.begin(), groups.end());
        std::sort(sorted.begin(), sorted.end(), [](auto &a, auto &b) { return a.second.count > b.second.count; });
        m += "\"errors\":[";
        first = true;
        if (sorted.size() > 30) sorted.resize(30);  // the top problems; the logs hold the rest
        for (auto &[fp, g] : sorted) {
            m += fmt::format("{}{{\"fingerprint\":{},\"sample\":{},\"count\":{},\"first\":{},\"last\":{}}}", first ? "" : ",",
                             q(fp.substr(0, text::utf8_cut(fp, 300))), q(g.sample.substr(0, text::utf8_cut(g.sample, 300))), g.count,
                             q(rfc3339(g.first)), q(rfc3339(g.last)));
            first = false;
        }
        m += "],";
    }
    // The logs of the window, newest kept within the cap.
    std::vector<std::string> lines;
    {
        Stmt s(db,
               "SELECT time_ns, level, tid, msg, trace_id, span_id, attrs FROM events WHERE id <= ? AND time_ns >= ? AND time_ns <= ? ORDER BY id DESC",
               cfg_.path);
        sqlite3_bind_int64(s.get(), 1, last_event_id);
        sqlite3_bind_int64(s.get(), 2, from_ns);
        sqlite3_bind_int64(s.get(), 3, to_ns);
        uint64_t raw = 0;
        while (sqlite3_step(s.get()) == SQLITE_ROW) {
            std::string msg = cols(s.get(), 3), attrs = cols(s.get(), 6);
            if (r.scrub) scrub_text(msg), scrub_text(attrs);
            int64_t t = sqlite3_column_int64(s.get(), 0);
            int lvl = sqlite3_column_int(s.get(), 1);
            std::string line = fmt::format("{{\"time\":{},\"time_unix_nano\":\"{}\",\"level\":\"{}\",\"severity_number\":{},\"message\":{},\"thread\":{}",
                                           q(rfc3339(t)), t, level_name(lvl), lvl, q(msg), sqlite3_column_int64(s.get(), 2));
            if (col(s.get(), 4)) line += fmt::format(",\"trace_id\":{},\"span_id\":{}", q(cols(s.get(), 4)), q(cols(s.get(), 5)));
            line += ",\"attrs\":" + (attrs.empty() ? std::string("{}") : attrs) + "}\n";
            raw += line.size();
            lines.push_back(std::move(line));
            if (raw > 16 * r.max_log_bytes) break;  // far more than any compression gets under the cap
        }
    }
    size_t keep = lines.size();
    bool truncated = false;
    for (;;) {
        std::string nd;
        for (size_t i = keep; i-- > 0;) nd += lines[i];  // oldest first in the file
        logs_zst.resize(ZSTD_compressBound(nd.size()));
        size_t n = ZSTD_compress(logs_zst.data(), logs_zst.size(), nd.data(), nd.size(), 3);
        if (ZSTD_isError(n)) throw Error(TT_ENOMEM, "compressing the report's logs failed", "free memory");
        logs_zst.resize(n);
        if (n <= r.max_log_bytes || keep == 0) break;
        keep = keep * 3 / 4;  // drop the oldest quarter and try again
        truncated = true;
    }
    m += fmt::format("\"logs\":{{\"part\":\"logs.ndjson.zst\",\"events\":{},\"bytes_compressed\":{},\"truncated\":{}}},", keep, logs_zst.size(),
                     truncated || keep < lines.size());
    // Attachments on file.
    {
        Stmt s(db, "SELECT name, length(data) FROM report_parts WHERE report=? AND name LIKE 'attachments/%' ORDER BY name", cfg_.path);
        sqlite3_bind_text(s.get(), 1, id.c_str(), -1, SQLITE_TRANSIENT);
        m += "\"attachments\":[";
        first = true;
        while (sqlite3_step(s.get()) == SQLITE_ROW) {
            m += fmt::format("{}{{\"name\":{},\"bytes\":{}}}", first ? "" : ",", q(cols(s.get(), 0).substr(12)), sqlite3_column_int64(s.get(), 1));
            first = false;
        }
        m += "],\"attachments_skipped\":[";
        first = true;
        for (auto &sk : skipped) {
            m += (first ? "" : ",") + q(sk);
            first = false;
        }
        m += "],";
    }
    m += fmt::format("\"summary\":{}}}", q(summary));
    return m;
}

// The network check: is it the user's network or our servers? Time-boxed, no lock held.
std::string Reports::network_check(const std::vector<std::string> &failed_urls) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    std::string m = "\"network_check\":{\"proxy\":";
    const char *env_proxy = std::getenv("https_proxy");
    if (!env_proxy) env_proxy = std::getenv("HTTPS_PROXY");
    m += !cfg_.transport.proxy.empty() ? q(cfg_.transport.proxy) : env_proxy ? q(env_proxy) : std::string("null");
    m += ",\"targets\":[" + probe_host(cfg_.endpoint, cfg_.transport.proxy, cfg_.transport.ca_file, 2000);
    for (auto &u : failed_urls) {
        long left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left < 200) break;
        m += "," + probe_host(u, cfg_.transport.proxy, cfg_.transport.ca_file, std::min(left, 2000L));
    }
    return m + "]},";
}

bool Reports::assemble(const std::string &id, bool with_network_check, const char *done_state) {
    Request r;
    int64_t created = 0, last_event = 0, last_request = 0;
    std::vector<std::string> skipped;
    {
        std::lock_guard<std::mutex> lk(db_mu_);
        Stmt s(db_,
               "SELECT created_ns, last_event_id, last_request_id, json_extract(options,'$.description'), json_extract(options,'$.contact'),"
               " json_extract(options,'$.window_s'), json_extract(options,'$.max_log_bytes'), json_extract(options,'$.max_requests'),"
               " json_extract(options,'$.automatic'), json_extract(options,'$.scrub'), coalesce(reason, '') FROM reports WHERE id=?",
               cfg_.path);
        sqlite3_bind_text(s.get(), 1, id.c_str(), -1, SQLITE_TRANSIENT);
        if (sqlite3_step(s.get()) != SQLITE_ROW) return false;
        created = sqlite3_column_int64(s.get(), 0);
        last_event = sqlite3_column_int64(s.get(), 1);
        last_request = sqlite3_column_int64(s.get(), 2);
        r.description = cols(s.get(), 3);
        r.contact = cols(s.get(), 4);
        r.window_s = static_cast<uint32_t>(sqlite3_column_int64(s.get(), 5));
        r.max_log_bytes = static_cast<uint64_t>(sqlite3_column_int64(s.get(), 6));
        r.max_requests = static_cast<uint32_t>(sqlite3_column_int64(s.get(), 7));
        r.automatic = sqlite3_column_int(s.get(), 8);
        r.scrub = sqlite3_column_int(s.get(), 9);
        std::string reason = cols(s.get(), 10);
        if (reason.rfind("left out: ", 0) == 0) {
            reason.erase(0, 10);
            for (size_t at; !reason.empty();) {
                at = reason.find("; ");
                skipped.push_back(reason.substr(0, at));
                reason = at == std::string::npos ? "" : reason.substr(at + 2);
            }
        }
    }
    std::string logs, summary, manifest;
    std::vector<std::string> failed_urls;
    {
        // Its own read-only connection, and no lock: a second submit, tt_report_status or
        // tt_notice_get must not wait for an assembly (seconds with 100k events).
        sqlite3 *rd = nullptr;
        int rc = sqlite3_open_v2(cfg_.path.c_str(), &rd, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
        if (rc != SQLITE_OK) {
            Error e = sqlite_error(rd, rc, "reading the buffer for a report", cfg_.path);
            sqlite3_close_v2(rd);
            throw e;
        }
        sqlite3_busy_timeout(rd, 5000);
        struct Close {
            sqlite3 *db;
            ~Close() { sqlite3_close_v2(db); }
        } closer{rd};
        store::exec(rd, "BEGIN", cfg_.path);  // one snapshot for the whole manifest
        manifest = build_manifest(rd, id, r, created, last_event, last_request, skipped, logs, summary, failed_urls);
    }
    if (with_network_check && !cfg_.endpoint.empty()) manifest.insert(1, network_check(failed_urls));
    bool veto = false;
    if (cfg_.before_send) {
        tt_report_draft draft{manifest};
        veto = cfg_.before_send(cfg_.before_send_data, &draft) != 0;
        manifest = std::move(draft.manifest);
    }
    std::lock_guard<std::mutex> lk(db_mu_);
    store::exec(db_, "BEGIN IMMEDIATE", cfg_.path);
    try {
        // The queue cap may have dropped it while it was assembled: it stays dropped.
        {
            Stmt st(db_, "SELECT state FROM reports WHERE id=?", cfg_.path);
            sqlite3_bind_text(st.get(), 1, id.c_str(), -1, SQLITE_TRANSIENT);
            std::string now_state = sqlite3_step(st.get()) == SQLITE_ROW ? cols(st.get(), 0) : std::string();
            if (now_state != "assembling" && now_state != "exporting") {
                store::exec(db_, "COMMIT", cfg_.path);
                return false;
            }
        }
        put_part(id, "manifest.json", "application/json", manifest);
        put_part(id, "logs.ndjson.zst", "application/zstd", logs);
        Stmt s(db_, "UPDATE reports SET state=?, reason=? WHERE id=?", cfg_.path);
        sqlite3_bind_text(s.get(), 1, veto ? "failed" : done_state, -1, SQLITE_STATIC);
        if (veto) sqlite3_bind_text(s.get(), 2, "vetoed by the app's before_send callback", -1, SQLITE_STATIC);
        else if (std::strcmp(done_state, "exported") == 0) sqlite3_bind_text(s.get(), 2, "exported to a file, not sent", -1, SQLITE_STATIC);
        sqlite3_bind_text(s.get(), 3, id.c_str(), -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(s.get());
        if (rc != SQLITE_DONE) throw sqlite_error(db_, rc, "finishing the report", cfg_.path);
        store::exec(db_, "COMMIT", cfg_.path);
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
    return !veto;
}

Reports::Filed Reports::export_to(const Request &r, const std::string &path) {
    Filed f = file(r, "exporting");  // never picked up by the sender
    try {
        if (!assemble(f.id, false, "exported"))
            throw Error(TT_ECANCELED,
                        fmt::format("tt_report_export: the app's before_send callback vetoed report {}; nothing was written to \"{}\"",
                                    f.id, path),
                        "this is the app's own decision; if it is not meant, see what the callback checks");
        write_tar(f.id, path);
    } catch (...) {
        // The user never got this report: keep nothing of it, so that nothing says "sent".
        forget(f.id);
        throw;
    }
    return f;
}

void Reports::write_tar(const std::string &id, const std::string &path) {
    TarWriter tar;
    uint64_t mtime = clock::realtime_ns() / 1'000'000'000;
    {
        std::lock_guard<std::mutex> lk(db_mu_);
        Stmt s(db_,
               "SELECT name, data FROM report_parts WHERE report=? ORDER BY CASE name WHEN 'manifest.json' THEN 0 WHEN 'logs.ndjson.zst' THEN 1 ELSE 2 END, name",
               cfg_.path);
        sqlite3_bind_text(s.get(), 1, id.c_str(), -1, SQLITE_TRANSIENT);
        while (sqlite3_step(s.get()) == SQLITE_ROW)
            tar.add(cols(s.get(), 0),
                    std::string_view(static_cast<const char *>(sqlite3_column_blob(s.get(), 1)), static_cast<size_t>(sqlite3_column_bytes(s.get(), 1))),
                    mtime);
    }
    std::string data = tar.finish();
    std::string tmp = path + ".tmp";
    auto fail = [&](const char *hint) {
        int err = errno;
        ::unlink(tmp.c_str());
        return Error(TT_EIO, fmt::format("tt_report_export: cannot write \"{}\": {}", path, std::strerror(err)), hint);
    };
    // write + fsync before the rename: a crash leaves the old file or the whole new one, and
    // a full disk is seen here (with its errno), not later.
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw fail("pass a path in a directory the app can write to");
    for (size_t done = 0; done < data.size();) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = ENOSPC;  // write() wrote nothing without saying why: a full disk
            Error e = fail("free some space on the disk, or pass a path on another one");
            ::close(fd);
            throw e;
        }
        done += static_cast<size_t>(n);
    }
    bool synced = ::fsync(fd) == 0;
    if (::close(fd) != 0 || !synced) throw fail("free some space on the disk, or pass a path on another one");
    if (::rename(tmp.c_str(), path.c_str()) != 0) throw fail("pass a path in a directory the app can write to");
}

void Reports::forget(const std::string &id) noexcept {
    try {
        std::lock_guard<std::mutex> lk(db_mu_);
        store::exec(db_, "BEGIN IMMEDIATE", cfg_.path);
        for (const char *sql : {"DELETE FROM report_parts WHERE report=?", "DELETE FROM reports WHERE id=?"}) {
            Stmt s(db_, sql, cfg_.path);
            sqlite3_bind_text(s.get(), 1, id.c_str(), -1, SQLITE_TRANSIENT);
            sqlite3_step(s.get());
        }
        store::exec(db_, "COMMIT", cfg_.path);
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
}

tt_report_state Reports::status(const std::string &id, std::string &reason) {
    std::lock_guard<std::mutex> lk(db_mu_);
    Stmt s(db_, "SELECT state, coalesce(reason, '') FROM reports WHERE id=?", cfg_.path);
    sqlite3_bind_text(s.get(), 1, id.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s.get()) != SQLITE_ROW)
        throw Error(TT_ENOTFOUND, fmt::format("tt_report_status: no report \"{}\" in this buffer", id),
                    "pass an id that tt_report_submit returned on this device (with the same db_path)");
    std::string st = cols(s.get(), 0);
    reason = cols(s.get(), 1);
    // An exported report is the user's to hand over: it counts as sent, and says how.
    return (st == "sent" || st == "exported") ? TT_REPORT_SENT : st == "failed" ? TT_REPORT_FAILED : TT_REPORT_PENDING;
}

// Held db_mu_. `answer` is the backend's whole answer: its "notice" (absent, null or not
// JSON: none) replaces the one kept.
void Reports::store_notice(const std::string &answer) {
    Stmt n(db_,
           "INSERT INTO meta(key, value) VALUES('incident_notice',"
           " coalesce(CASE WHEN json_valid(?1) THEN json_extract(?1, '$.notice') END, ''))"
           " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
           cfg_.path);
    sqlite3_bind_text(n.get(), 1, answer.c_str(), -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(n.get());
    if (rc != SQLITE_DONE) throw sqlite_error(db_, rc, "keeping the incident notice", cfg_.path);
}

std::string Reports::refresh_notice(uint32_t timeout_ms) {
    if (cfg_.endpoint.empty())
        throw Error(TT_EINVAL, "tt_notice_refresh: this client has no endpoint to ask",
                    "set tt_options.endpoint to the support backend's URL");
    upload::TransportConfig tc = cfg_.transport;
    tc.timeout_ms = std::max<uint32_t>(timeout_ms, 1);
    tc.auth_token.clear();  // a public endpoint: nothing of the app's goes with it
    upload::Transport t(tc);
    std::string url = cfg_.endpoint + "/v1/status";
    upload::Response r = t.get(url);
    if (r.transport_failed || r.status < 200 || r.status >= 300)
        throw Error(r.error.find("CURLE 28") != std::string::npos ? TT_ETIMEOUT : TT_ENET,
                    fmt::format("tt_notice_refresh: could not ask {}: {}", url, r.error),
                    "the notice shown stays as it was; try again when the network is back");
    std::lock_guard<std::mutex> lk(db_mu_);
    if (r.body_truncated || !json_valid(r.body))
        throw Error(TT_ENET, fmt::format("tt_notice_refresh: {} did not answer with a JSON status", url),
                    "point tt_options.endpoint at the support backend (it answers {\"notice\": ...})");
    store_notice(r.body);
    Stmt s(db_, "SELECT value FROM meta WHERE key='incident_notice'", cfg_.path);
    return sqlite3_step(s.get()) == SQLITE_ROW ? cols(s.get(), 0) : std::string();
}

bool Reports::json_valid(const std::string &text) {
    Stmt s(db_, "SELECT json_valid(?)", cfg_.path);
    sqlite3_bind_text(s.get(), 1, text.c_str(), -1, SQLITE_TRANSIENT);
    return sqlite3_step(s.get()) == SQLITE_ROW && sqlite3_column_int(s.get(), 0) == 1;
}

std::string Reports::notice() {
    std::lock_guard<std::mutex> lk(db_mu_);
    Stmt s(db_, "SELECT value FROM meta WHERE key='incident_notice'", cfg_.path);
    return sqlite3_step(s.get()) == SQLITE_ROW ? cols(s.get(), 0) : std::string();
}

bool Reports::send_one(upload::Transport &t, bool &backoff) {
    std::string id, manifest;
    std::vector<std::tuple<std::string, std::string, std::string>> parts;
    {
        std::lock_guard<std::mutex> lk(db_mu_);
        Stmt s(db_, "SELECT id FROM reports WHERE state='pending' ORDER BY created_ns LIMIT 1", cfg_.path);
        if (sqlite3_step(s.get()) != SQLITE_ROW) return false;
        id = cols(s.get(), 0);
        Stmt p(db_, "SELECT name, content_type, data FROM report_parts WHERE report=? ORDER BY name", cfg_.path);
        sqlite3_bind_text(p.get(), 1, id.c_str(), -1, SQLITE_TRANSIENT);
        while (sqlite3_step(p.get()) == SQLITE_ROW)
            parts.emplace_back(cols(p.get(), 0), cols(p.get(), 1),
                               std::string(static_cast<const char *>(sqlite3_column_blob(p.get(), 2)), static_cast<size_t>(sqlite3_column_bytes(p.get(), 2))));
    }
    // multipart/form-data: manifest, logs, then one part per attachment.
    std::string boundary = "telltale-" + ids::uuid4();
    std::string body;
    for (auto &[name, type, data] : parts) {
        std::string field = name == "manifest.json" ? "manifest" : name == "logs.ndjson.zst" ? "logs" : "attachment";
        std::string filename = name.rfind("attachments/", 0) == 0 ? name.substr(12) : name;
        body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + field + "\"; filename=\"" + filename +
                "\"\r\nContent-Type: " + type + "\r\n\r\n" + data + "\r\n";
    }
    body += "--" + boundary + "--\r\n";
    std::vector<std::string> headers = {"Content-Type: multipart/form-data; boundary=" + boundary, "X-Telltale-Report: " + id};
    if (!cfg_.transport.auth_token.empty()) headers.push_back("Authorization: Bearer " + cfg_.transport.auth_token);
    upload::Response r = t.post(cfg_.endpoint + "/v1/reports", headers, body);
    if (r.aborted) return false;
    auto outcome = upload::classify(r.status, r.transport_failed);
    std::lock_guard<std::mutex> lk(db_mu_);
    if (outcome == upload::Outcome::kDelivered) {
        // Any 2xx is delivery; the answer may be JSON with a notice, or anything else
        // (a proxy's "OK", a collector's empty 204): never let it undo the delivery.
        Stmt s(db_,
               "UPDATE reports SET state='sent', sent_ns=?1,"
               " notice=CASE WHEN json_valid(?2) THEN json_extract(?2, '$.notice') END WHERE id=?3",
               cfg_.path);
        sqlite3_bind_int64(s.get(), 1, static_cast<int64_t>(clock::realtime_ns()));
        if (!r.body_truncated) sqlite3_bind_text(s.get(), 2, r.body.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s.get(), 3, id.c_str(), -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(s.get());
        if (rc != SQLITE_DONE) throw sqlite_error(db_, rc, "marking the report sent", cfg_.path);
        // The incident notice, if the backend gave one, for tt_notice_get. An answer too long
        // to read whole says nothing about the notice: keep the one shown.
        if (!r.body_truncated) {
            try {
                store_notice(r.body);
            } catch (const Error &) {
                // The report is delivered; a notice not kept is only a notice missed.
            }
        }
        store::exec(db_, fmt::format("DELETE FROM report_parts WHERE report='{}' AND name LIKE 'attachments/%'", id).c_str(), cfg_.path);
        std::lock_guard<std::mutex> lk2(mu_);
        attempt_ = 0;
        return true;
    }
    if (outcome == upload::Outcome::kRetry) {
        store::exec(db_, fmt::format("UPDATE reports SET attempts = attempts + 1 WHERE id='{}'", id).c_str(), cfg_.path);
        std::lock_guard<std::mutex> lk2(mu_);
        uint64_t delay = upload::backoff_ms(attempt_, cfg_.retry_base_ms, cfg_.retry_max_ms, 0.5 + 0.5 * (clock::ticks() % 1000) / 1000.0);
        if (auto ra = upload::parse_retry_after(r.retry_after, static_cast<uint64_t>(time(nullptr)))) delay = std::max(delay, *ra);
        ++attempt_;
        next_attempt_ms_ = now_ms() + delay;
        backoff = true;
        return false;
    }
    // 413 or another 4xx: the backend will never take it as it is.
    Stmt s(db_, "UPDATE reports SET state='failed', reason=? WHERE id=?", cfg_.path);
    std::string why = "the support backend refused it: " + r.error;
    sqlite3_bind_text(s.get(), 1, why.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s.get(), 2, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_step(s.get());
    return true;
}

void Reports::run() {
    std::unique_ptr<upload::Transport> t;
    if (!cfg_.endpoint.empty()) {
        try {
            t = std::make_unique<upload::Transport>(cfg_.transport);
        } catch (const Error &) {
        }
    }
    {
        std::lock_guard<std::mutex> lk(mu_);
        transport_ = t.get();
        if (stop_ && t) t->abort();
    }
    for (;;) {
        bool due;
        {
            std::lock_guard<std::mutex> lk(mu_);
            if (stop_) break;
            due = now_ms() >= next_attempt_ms_;  // tt_network_changed resets it from an app thread
        }
        bool progress = false, backoff = false;
        try {
            // Assemble what was filed (also after a restart: the request survived in the file).
            std::string id;
            {
                std::lock_guard<std::mutex> lk(db_mu_);
                try_follow_file();
                Stmt s(db_, "SELECT id FROM reports WHERE state='assembling' ORDER BY created_ns LIMIT 1", cfg_.path);
                if (sqlite3_step(s.get()) == SQLITE_ROW) id = cols(s.get(), 0);
            }
            if (!id.empty()) {
                assemble(id, true);
                progress = true;
            } else if (t && cfg_.enabled && due) {
                progress = send_one(*t, backoff);
            }
        } catch (const Error &) {
            backoff = true;  // a database hiccup: the report stays, try again later
            std::lock_guard<std::mutex> lk(mu_);
            next_attempt_ms_ = now_ms() + cfg_.retry_base_ms;
        }
        if (progress) continue;
        std::unique_lock<std::mutex> lk(mu_);
        uint64_t now = now_ms();
        uint64_t wait = next_attempt_ms_ > now ? next_attempt_ms_ - now : 30000;
        cv_.wait_for(lk, std::chrono::milliseconds(std::min<uint64_t>(wait, 30000)), [&] { return stop_ || woken_; });
        woken_ = false;
    }
    std::lock_guard<std::mutex> lk(mu_);
    transport_ = nullptr;
}

}  // namespace tt::report
