// "What happened to this client?": everything we hold about the clients a query matches,
// as one timeline.
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "api.hpp"

namespace tsb {

namespace {

// A path segment as a URL carries it: attachment names may hold '#', '?', '%' or spaces.
std::string url_segment(const std::string &s) {
    static const char *hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

json parse_or(const std::string &s, json fallback) {
    json j = json::parse(s, nullptr, false);
    return j.is_discarded() ? fallback : j;
}

// People write 127.0.0.1, not ::ffff:127.0.0.1; and 2001:db8::1, not 2001:0db8:0:0::1.
std::optional<std::string> canonical_ip(const std::string &s) {
    unsigned char buf[16];
    char out[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET, s.c_str(), buf) == 1) return std::string(inet_ntop(AF_INET, buf, out, sizeof out));
    if (inet_pton(AF_INET6, s.c_str(), buf) == 1) {
        static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::equal(buf, buf + 12, v4mapped)) return std::string(inet_ntop(AF_INET, buf + 12, out, sizeof out));
        return std::string(inet_ntop(AF_INET6, buf, out, sizeof out));
    }
    return std::nullopt;
}

void collect(Stmt &s, std::set<std::string> &into) {
    while (s.row())
        if (!s.null(0) && !s.text(0).empty()) into.insert(s.text(0));
}

json client_json(Store &st, const std::string &install) {
    json c = {{"install_id", install}};
    Stmt s(st.db(), "SELECT app, app_version, os, first_ns, last_ns FROM clients WHERE install_id=?");
    s.bind(1, install);
    if (s.row()) {
        c["app"] = s.text(0);
        c["app_version"] = s.text(1);
        c["os"] = s.text(2);
        c["first_seen"] = rfc3339(s.num(3));
        c["last_seen"] = rfc3339(s.num(4));
    }
    json ips = json::array();
    Stmt i(st.db(), "SELECT ip FROM client_ips WHERE install_id=? ORDER BY last_ns DESC");
    i.bind(1, install);
    while (i.row()) ips.push_back(i.text(0));
    c["ips"] = ips;
    json reports = json::array();
    Stmt r(st.db(), "SELECT id FROM reports WHERE install_id=? ORDER BY received_ns");
    r.bind(1, install);
    while (r.row()) reports.push_back(r.text(0));
    c["reports"] = reports;
    return c;
}

}  // namespace

std::optional<json> report_detail(Store &st, const std::string &id) {
    std::lock_guard<std::mutex> lk(st.mu);
    Stmt s(st.db(), "SELECT received_ns, client_ip, install_id, manifest, diagnosis, length(logs) FROM reports WHERE id=?");
    s.bind(1, id);
    if (!s.row()) return std::nullopt;
    json out = {{"report_id", id},
                {"received_at", rfc3339(s.num(0))},
                {"client_ip", s.text(1)},
                {"install_id", s.text(2)},
                {"diagnosis", parse_or(s.text(4), json::object())},
                {"manifest", parse_or(s.text(3), json::object())},
                {"logs", {{"bytes_compressed", s.num(5)}, {"url", "/api/reports/" + id + "/logs"}}}};
    json att = json::array();
    Stmt a(st.db(), "SELECT name, content_type, length(data) FROM attachments WHERE report_id=? ORDER BY name");
    a.bind(1, id);
    while (a.row())
        att.push_back({{"name", a.text(0)}, {"content_type", a.text(1)}, {"bytes", a.num(2)},
                       {"url", "/api/reports/" + url_segment(id) + "/attachments/" + url_segment(a.text(0))}});
    out["attachments"] = att;
    return out;
}

json lookup(Store &st, const std::string &raw, size_t max_rows) {
    std::string q = raw;
    q.erase(0, q.find_first_not_of(" \t\r\n"));
    q.erase(q.find_last_not_of(" \t\r\n") + 1);
    std::string lower = q;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    json out = {{"query", q}, {"kind", "none"}, {"clients", json::array()}, {"timeline", json::array()}};
    if (q.empty()) return out;

    std::lock_guard<std::mutex> lk(st.mu);
    std::set<std::string> installs;
    std::string kind;
    // Most specific first: a report id, an install id, a trace id, a server request id, an IP.
    {
        Stmt s(st.db(), "SELECT install_id FROM reports WHERE id=?");
        s.bind(1, lower);
        collect(s, installs);
        if (!installs.empty()) kind = "report";
    }
    if (kind.empty()) {
        // A report that came without an install id (hand-made, or another client): it
        // is its own story; there is nothing else to join it with.
        Stmt s(st.db(),
               "SELECT received_ns, client_ip, json_extract(diagnosis, '$.summary'), json_extract(manifest, '$.user.description')"
               " FROM reports WHERE id=? AND coalesce(install_id, '')=''");
        s.bind(1, lower);
        if (s.row()) {
            out["kind"] = "report";
            out["clients"].push_back({{"install_id", ""}, {"ips", json::array({s.text(1)})}, {"reports", json::array({lower})}});
            out["timeline"].push_back({{"kind", "report"}, {"install_id", ""}, {"report_id", lower}, {"ip", s.text(1)},
                                       {"diagnosis", s.text(2)}, {"description", s.text(3)}, {"url", "/api/reports/" + lower},
                                       {"match", true}, {"time", rfc3339(s.num(0))}, {"time_unix_nano", std::to_string(s.num(0))}});
            return out;
        }
    }
    if (kind.empty()) {
        Stmt s(st.db(), "SELECT install_id FROM clients WHERE install_id=?");
        s.bind(1, q);
        collect(s, installs);
        if (!installs.empty()) kind = "install_id";
    }
    if (kind.empty() && is_hex_id(lower, 32)) {
        Stmt s(st.db(), "SELECT install_id FROM requests WHERE trace_id=?1 UNION SELECT install_id FROM logs WHERE trace_id=?1");
        s.bind(1, lower);
        collect(s, installs);
        if (!installs.empty()) kind = "trace_id";
    }
    if (kind.empty()) {
        Stmt s(st.db(), "SELECT install_id FROM server_ids WHERE value=?");
        s.bind(1, q);
        collect(s, installs);
        if (!installs.empty()) kind = "server_request_id";
    }
    std::string ip;
    if (kind.empty()) {
        if (auto c = canonical_ip(q)) {
            ip = *c;
            Stmt s(st.db(), "SELECT install_id FROM client_ips WHERE ip=?1 UNION SELECT install_id FROM reports WHERE client_ip=?1");
            s.bind(1, ip);
            collect(s, installs);
            if (!installs.empty()) kind = "ip";
        }
    }
    if (kind.empty()) return out;
    out["kind"] = kind;

    // The whole story of every client matched, not only the matching rows.
    struct Row {
        int64_t t;
        json j;
    };
    std::vector<Row> rows;
    for (auto &inst : installs) {
        out["clients"].push_back(client_json(st, inst));
        Stmt l(st.db(),
               "SELECT time_ns, severity, message, trace_id, span_id, attrs, ip FROM logs WHERE install_id=? ORDER BY time_ns DESC LIMIT ?");
        l.bind(1, inst).bind(2, static_cast<int64_t>(max_rows));
        while (l.row()) {
            json e = {{"kind", "log"}, {"install_id", inst}, {"severity_number", l.num(1)}, {"message", l.text(2)},
                      {"attrs", parse_or(l.text(5), json::object())}, {"ip", l.text(6)}};
            if (!l.null(3)) e["trace_id"] = l.text(3), e["span_id"] = l.text(4);
            if (kind == "trace_id" && l.text(3) == lower) e["match"] = true;
            rows.push_back({l.num(0), std::move(e)});
        }
        Stmt r(st.db(),
               "SELECT start_ns, end_ns, kind, name, method, host, path, status, error, trace_id, span_id, server_ids, ip FROM requests"
               " WHERE install_id=? ORDER BY start_ns DESC LIMIT ?");
        r.bind(1, inst).bind(2, static_cast<int64_t>(max_rows));
        while (r.row()) {
            json ids = parse_or(r.text(11), json::object());
            json e = {{"kind", "request"}, {"install_id", inst}, {"type", r.text(2)}, {"name", r.text(3)}, {"method", r.text(4)},
                      {"host", r.text(5)}, {"path", r.text(6)}, {"status", r.num(7)}, {"error", r.text(8)}, {"trace_id", r.text(9)},
                      {"span_id", r.text(10)}, {"server_ids", ids}, {"duration_ms", (r.num(1) - r.num(0)) / 1e6}, {"ip", r.text(12)}};
            bool match = (kind == "trace_id" && r.text(9) == lower);
            if (kind == "server_request_id")
                for (auto &[k, v] : ids.items()) match |= v.is_string() && v.get<std::string>().find(q) != std::string::npos;
            if (match) e["match"] = true;
            rows.push_back({r.num(0), std::move(e)});
        }
        Stmt p(st.db(), "SELECT received_ns, id, client_ip, json_extract(diagnosis, '$.summary'), json_extract(manifest, '$.user.description'),"
                        " json_extract(manifest, '$.created_unix_nano') FROM reports WHERE install_id=? ORDER BY received_ns");
        p.bind(1, inst);
        while (p.row()) {
            json e = {{"kind", "report"}, {"install_id", inst}, {"report_id", p.text(1)}, {"ip", p.text(2)}, {"diagnosis", p.text(3)},
                      {"description", p.text(4)}, {"url", "/api/reports/" + p.text(1)}};
            if (p.text(1) == lower) e["match"] = true;
            // Placed when the user pressed the button, not when it arrived.
            int64_t t = 0;
            for (char c : p.text(5)) t = (c >= '0' && c <= '9' && t < INT64_MAX / 10 - 10) ? t * 10 + (c - '0') : t;
            rows.push_back({t ? t : p.num(0), std::move(e)});
        }
    }
    std::stable_sort(rows.begin(), rows.end(), [](const Row &a, const Row &b) { return a.t < b.t; });
    for (auto &r : rows) {
        r.j["time"] = rfc3339(r.t);
        r.j["time_unix_nano"] = std::to_string(r.t);
        out["timeline"].push_back(std::move(r.j));
    }
    return out;
}

}  // namespace tsb
