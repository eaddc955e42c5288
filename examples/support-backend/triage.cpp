// Triage: what a report most likely means (diagnosis), which errors hit the most clients
// (problems), and when many users report at once (incidents), so support answers once.
#include <algorithm>
#include <map>
#include <set>

#include "api.hpp"

namespace tsb {

// ---------------------------------------------------------------- diagnosis

json diagnose(const json &m, const std::optional<Incident> &incident) {
    json causes = json::array();
    std::vector<std::string> net_failed, server_failed, server_ids, client_http;
    const json empty = json::array();
    const json &reqs = m.is_object() && m.contains("requests") && m["requests"].is_array() ? m["requests"] : empty;
    for (auto &r : reqs) {
        if (!r.is_object()) continue;
        std::string cls = r.value("class", ""), what = r.value("method", "") + " " + r.value("host", "") + r.value("path", "");
        int status = r.contains("status") && r["status"].is_number_integer() ? r["status"].get<int>() : 0;
        std::string err = r.contains("error") && r["error"].is_string() ? r["error"].get<std::string>() : "";
        if (cls == "client_network") net_failed.push_back(what + (err.empty() ? "" : ": " + err));
        else if (cls == "server") {
            server_failed.push_back(what + " -> HTTP " + std::to_string(status));
            if (r.contains("server_ids") && r["server_ids"].is_object())
                for (auto &[k, v] : r["server_ids"].items())
                    if (v.is_string() && k != "server-timing") server_ids.push_back(k + ": " + v.get<std::string>());
        } else if (cls == "client_http")
            client_http.push_back(what + " -> HTTP " + std::to_string(status));
    }
    // The library's own network check: a target it could not resolve or reach.
    std::vector<std::string> probe_failures;
    if (m.is_object() && m.contains("network_check") && m["network_check"].is_object() && m["network_check"].contains("targets") &&
        m["network_check"]["targets"].is_array())
        for (auto &t : m["network_check"]["targets"]) {
            if (!t.is_object()) continue;
            for (auto &[k, v] : t.items())
                if (k.find("error") != std::string::npos && v.is_string() && !v.get<std::string>().empty())
                    probe_failures.push_back(t.value("target", "?") + ": " + v.get<std::string>());
        }
    auto cap = [](std::vector<std::string> v) {
        if (v.size() > 10) v.resize(10);
        return v;
    };
    std::string summary, answer;
    if (incident) {
        causes.push_back({{"kind", "incident"}, {"incident_id", incident->id}, {"title", incident->title}, {"notice", incident->notice}});
        summary = "Open incident #" + std::to_string(incident->id) + ": " + incident->title + ". ";
    }
    if (!server_failed.empty()) {
        causes.push_back({{"kind", "server"}, {"failed", cap(server_failed)}, {"server_request_ids", cap(server_ids)}});
        summary += std::to_string(server_failed.size()) + " request(s) failed on the server side (" + server_failed.front() + ")";
        summary += server_ids.empty() ? ". " : "; server request ids for the backend team: " + server_ids.front() + (server_ids.size() > 1 ? ", ..." : "") + ". ";
    }
    if (!net_failed.empty() || !probe_failures.empty()) {
        causes.push_back({{"kind", "client_network"}, {"failed", cap(net_failed)}, {"network_check", cap(probe_failures)}});
        summary += "Client network trouble: " + std::to_string(net_failed.size()) + " request(s) got no answer" +
                   (net_failed.empty() ? "" : " (" + net_failed.front() + ")") +
                   (probe_failures.empty() ? "" : "; network check: " + probe_failures.front()) + ". ";
    }
    if (!client_http.empty()) {
        causes.push_back({{"kind", "client_http"}, {"failed", cap(client_http)}});
        summary += std::to_string(client_http.size()) + " request(s) refused with a 4xx (" + client_http.front() + "). ";
    }
    if (summary.empty()) summary = "No failed requests in the report's window: read the user's description and the logs. ";
    summary.pop_back();

    if (incident)
        answer = "Thank you for the report. We know about this problem and are working on it: " + incident->notice +
                 " There is no need to report it again; we will let you know when it is fixed.";
    else if (!server_failed.empty())
        answer = "Thank you for the report. The problem was on our side: our servers failed to answer your app. We have passed the "
                 "details to our engineers; please try again later, your data is safe.";
    else if (!net_failed.empty() || !probe_failures.empty())
        answer = "Thank you for the report. Your device could not reach our servers (" + (net_failed.empty() ? probe_failures.front() : net_failed.front()) +
                 "). Please check your internet connection, VPN or proxy settings, then try again.";
    else if (!client_http.empty())
        answer = "Thank you for the report. Our servers refused a request from the app; signing out and in again, or updating the app, "
                 "usually fixes this. We are looking into it.";
    else
        answer = "Thank you for the report. We could not see a failure in the app's recent activity: could you tell us what you were "
                 "doing when it happened, and what you expected?";
    return {{"summary", summary}, {"causes", causes}, {"suggested_answer", answer}};
}

// ---------------------------------------------------------------- incidents

namespace {
std::optional<Incident> open_incident_locked(Store &st) {
    Stmt s(st.db(), "SELECT id, opened_ns, source, title, notice FROM incidents WHERE closed_ns IS NULL ORDER BY id DESC LIMIT 1");
    if (!s.row()) return std::nullopt;
    return Incident{s.num(0), s.num(1), s.text(2), s.text(3), s.text(4)};
}
}  // namespace

std::optional<Incident> open_incident(Store &st) {
    std::lock_guard<std::mutex> lk(st.mu);
    return open_incident_locked(st);
}

void detect_storm(Store &st, const StormRule &rule, int64_t now) {
    std::lock_guard<std::mutex> lk(st.mu);
    if (open_incident_locked(st)) return;
    Stmt c(st.db(), "SELECT count(*) FROM reports WHERE received_ns >= ?");
    c.bind(1, now - rule.minutes * 60'000'000'000);
    int64_t n = c.row() ? c.num(0) : 0;
    if (n <= rule.threshold) return;
    Stmt i(st.db(), "INSERT INTO incidents(opened_ns, source, title, notice) VALUES(?, 'detected', ?, ?)");
    i.bind(1, now)
        .bind(2, "report storm: " + std::to_string(n) + " reports in the last " + std::to_string(rule.minutes) + " minutes")
        .bind(3, "Many people are reporting a problem right now. We know about it and are working on it.")
        .run();
}

json incidents_json(Store &st, const StormRule &rule, int64_t now) {
    detect_storm(st, rule, now);
    std::lock_guard<std::mutex> lk(st.mu);
    json open = json::array();
    Stmt s(st.db(), "SELECT id, opened_ns, source, title, notice FROM incidents WHERE closed_ns IS NULL ORDER BY id DESC");
    while (s.row())
        open.push_back({{"id", s.num(0)}, {"opened_at", rfc3339(s.num(1))}, {"source", s.text(2)}, {"title", s.text(3)}, {"notice", s.text(4)}});
    Stmt c(st.db(), "SELECT count(*) FROM reports WHERE received_ns >= ?");
    c.bind(1, now - rule.minutes * 60'000'000'000);
    int64_t recent = c.row() ? c.num(0) : 0;
    return {{"open", open},
            {"storm_rule", {{"minutes", rule.minutes}, {"threshold", rule.threshold}, {"reports_in_window", recent}}}};
}

std::optional<std::string> change_incident(Store &st, const json &req, int64_t now, json &answer) {
    if (!req.is_object()) return std::string("send a JSON object: {\"action\":\"declare\",\"title\":...,\"notice\":...} or {\"action\":\"close\",\"id\":N}");
    std::string action = req.value("action", "declare");
    std::lock_guard<std::mutex> lk(st.mu);
    if (action == "declare") {
        std::string title = req.contains("title") && req["title"].is_string() ? req["title"].get<std::string>() : "";
        std::string notice = req.contains("notice") && req["notice"].is_string() ? req["notice"].get<std::string>() : "";
        if (notice.empty()) return std::string("\"notice\" is required: the sentence users will see, e.g. \"Sync is down, we are fixing it.\"");
        if (title.empty()) title = notice;
        if (title.size() > 500 || notice.size() > 2000) return std::string("title (500) or notice (2000 bytes) too long");
        Stmt i(st.db(), "INSERT INTO incidents(opened_ns, source, title, notice) VALUES(?, 'declared', ?, ?)");
        i.bind(1, now).bind(2, title).bind(3, notice).run();
        answer = {{"id", sqlite3_last_insert_rowid(st.db())}, {"source", "declared"}, {"title", title}, {"notice", notice}, {"opened_at", rfc3339(now)}};
        return std::nullopt;
    }
    if (action == "close") {
        if (!req.contains("id") || !req["id"].is_number_integer()) return std::string("\"id\" (a number from GET /api/incidents) is required to close");
        Stmt u(st.db(), "UPDATE incidents SET closed_ns=? WHERE id=? AND closed_ns IS NULL");
        u.bind(1, now).bind(2, req["id"].get<int64_t>()).run();
        if (u.changes() == 0) return std::string("no open incident with that id");
        answer = {{"id", req["id"]}, {"closed_at", rfc3339(now)}};
        return std::nullopt;
    }
    return std::string("unknown action \"" + action + "\": use \"declare\" or \"close\"");
}

// ---------------------------------------------------------------- problems

int64_t parse_window(const std::string &w) {
    if (w.empty()) return 0;
    size_t used = 0;
    long long n = 0;
    try {
        n = std::stoll(w, &used);
    } catch (...) {
        return 0;
    }
    if (n <= 0 || n > 1'000'000) return 0;
    std::string unit = w.substr(used);
    int64_t s = unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" || unit.empty() ? 3600 : unit == "d" ? 86400 : 0;
    return s ? n * s * 1'000'000'000 : 0;
}

json problems(Store &st, int64_t window, int64_t now) {
    struct Agg {
        std::string sample;
        std::set<std::string> clients, prev_clients;
        int64_t events = 0, prev_events = 0, last = 0;
    };
    std::map<std::string, Agg> by;
    {
        std::lock_guard<std::mutex> lk(st.mu);
        // Error events, and failed HTTP requests (a request that failed is a problem even when the app logged nothing).
        Stmt s(st.db(),
               "SELECT fingerprint, message, install_id, time_ns FROM logs WHERE severity >= 17 AND time_ns >= ?1"
               " UNION ALL SELECT 'HTTP ' || CASE WHEN status > 0 THEN status ELSE 'no answer' END || ' ' || method || ' ' || host || path,"
               " 'HTTP ' || CASE WHEN status > 0 THEN status ELSE coalesce(error, 'no answer') END || ' ' || method || ' ' || host || path,"
               " install_id, start_ns FROM requests WHERE kind = 'http' AND start_ns >= ?1 AND (status >= 500 OR (status = 0 AND error != ''))"
               " LIMIT 500000");
        s.bind(1, now - 2 * window);
        while (s.row()) {
            std::string fp = s.text(0);
            if (fp.rfind("HTTP ", 0) == 0) fp = fingerprint(fp);
            Agg &a = by[fp];
            int64_t t = s.num(3);
            if (t >= now - window) {
                ++a.events;
                a.clients.insert(s.text(2));
                if (t >= a.last) a.last = t, a.sample = s.text(1);
            } else {
                ++a.prev_events;
                a.prev_clients.insert(s.text(2));
            }
        }
    }
    std::vector<std::pair<std::string, Agg *>> list;
    for (auto &[fp, a] : by)
        if (a.events) list.emplace_back(fp, &a);
    std::sort(list.begin(), list.end(), [](auto &x, auto &y) {
        return x.second->clients.size() != y.second->clients.size() ? x.second->clients.size() > y.second->clients.size()
                                                                    : x.second->events > y.second->events;
    });
    json out = json::array();
    for (auto &[fp, a] : list) {
        if (out.size() >= 100) break;
        // Trend: this window against the one before it, by clients hit.
        size_t now_c = a->clients.size(), prev_c = a->prev_clients.size();
        std::string trend = prev_c == 0 ? "new" : now_c * 2 > prev_c * 3 ? "rising" : now_c * 3 < prev_c * 2 ? "falling" : "steady";
        out.push_back({{"fingerprint", fp}, {"sample", a->sample}, {"clients", now_c}, {"events", a->events}, {"trend", trend},
                       {"previous", {{"clients", prev_c}, {"events", a->prev_events}}}, {"last_seen", rfc3339(a->last)}});
    }
    return out;
}

}  // namespace tsb
