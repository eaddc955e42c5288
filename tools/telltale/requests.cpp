// `telltale requests`: the requests and spans a buffer holds (schema 2 on), as a table or
// NDJSON; with --id, what one id names (a trace id, a span id, a traceparent or any server
// request id): those requests with all their ids and their outcome, the other spans of
// their trace, and the events logged inside them.
#include <algorithm>
#include <array>
#include <iterator>
#include <map>
#include <set>

#include <fmt/format.h>

#include "cli.hpp"
#include "commands.hpp"
#include "core/text.hpp"

namespace ttcli {
namespace {

constexpr size_t kTimings = 5;
constexpr const char *kTimingKeys[kTimings] = {"dns_us", "connect_us", "tls_us", "first_byte_us", "total_us"};
constexpr const char *kTimingLabels[kTimings] = {"dns", "connect", "tls", "first byte", "total"};

// A failure: an HTTP call without a response (status 0), an HTTP error, or anything that
// ended with an error text (a span too). Same rule as Req::failed().
constexpr const char kFailedSql[] =
    "((kind IS NOT 'span' AND (status IS NULL OR status = 0)) OR status >= 400 OR (error IS NOT NULL AND error <> ''))";

constexpr const char kIdKinds[] =
    "a trace id (32 hex digits), a span id (16 hex digits), a traceparent (00-<trace id>-<span id>-01) and the value "
    "of any server request id the app captured (X-Request-Id, X-Reqid, x-amz-request-id, ...)";

struct Req {
    int64_t id = 0;
    std::string trace_id, span_id, kind;
    std::optional<std::string> parent_span_id, name, method, scheme, host, path, error, server_ids_col, timing, server_ip;
    std::optional<int64_t> port, status, bytes_up, bytes_down, server_port;
    int64_t start_ns = 0, duration_ns = 0, tid = 0, session = 0;
    std::array<std::optional<int64_t>, kTimings> timing_us;
    std::vector<std::pair<std::string, std::string>> ids;  // request_ids rows, as they came
    std::vector<std::string> matched_by;                   // --id: how the query named it

    bool is_span() const { return kind == "span"; }
    bool failed() const {
        return (!is_span() && (!status || *status == 0)) || (status && *status >= 400) || (error && !error->empty());
    }
};

bool by_start(const Req &a, const Req &b) { return a.start_ns != b.start_ns ? a.start_ns < b.start_ns : a.id < b.id; }

bool contains(const std::vector<std::string> &v, std::string_view s) { return std::find(v.begin(), v.end(), s) != v.end(); }

// Reads request rows, each with its server ids.
class Reader {
public:
    explicit Reader(Db &db) : db_(db) {
        auto cols = db.columns("requests");
        auto col = [&](const char *n) { return contains(cols, n) ? std::string(n) : std::string("NULL"); };
        select_ = "SELECT rowid";
        for (const char *c : {"trace_id", "span_id", "parent_span_id", "kind", "name", "method", "scheme", "host", "port", "path",
                              "start_ns", "duration_ns", "status", "error", "bytes_up", "bytes_down", "server_ids", "timing",
                              "server_ip", "server_port", "tid", "session"})
            select_ += ", " + col(c);
        // The stored breakdown is the library's own JSON; a damaged one reads as absent, never as an error.
        std::string timing = col("timing");
        for (const char *k : kTimingKeys)
            select_ += fmt::format(", CASE WHEN json_valid({0}) THEN json_extract({0}, '$.{1}') END", timing, k);
        select_ += " FROM requests ";
        has_ids_ = db.has_table("request_ids");
    }

    // `tail`: WHERE ... ORDER BY ...; `binds`: its ? parameters, all text.
    std::vector<Req> load(const std::string &tail, const std::vector<std::string> &binds = {}) {
        Stmt s(db_, select_ + tail);
        for (size_t i = 0; i < binds.size(); ++i)
            sqlite3_bind_text(s.get(), static_cast<int>(i + 1), binds[i].data(), static_cast<int>(binds[i].size()), SQLITE_STATIC);
        std::vector<Req> out;
        while (s.step("reading requests")) {
            sqlite3_stmt *r = s.get();
            Req q;
            q.id = sqlite3_column_int64(r, 0);
            q.trace_id = column_bytes(r, 1);
            q.span_id = column_bytes(r, 2);
            q.parent_span_id = column_text(r, 3);
            q.kind = column_bytes(r, 4);
            q.name = column_text(r, 5);
            q.method = column_text(r, 6);
            q.scheme = column_text(r, 7);
            q.host = column_text(r, 8);
            q.port = column_int(r, 9);
            q.path = column_text(r, 10);
            q.start_ns = sqlite3_column_int64(r, 11);
            q.duration_ns = sqlite3_column_int64(r, 12);
            q.status = column_int(r, 13);
            q.error = column_text(r, 14);
            q.bytes_up = column_int(r, 15);
            q.bytes_down = column_int(r, 16);
            q.server_ids_col = column_text(r, 17);
            q.timing = column_text(r, 18);
            q.server_ip = column_text(r, 19);
            q.server_port = column_int(r, 20);
            q.tid = sqlite3_column_int64(r, 21);
            q.session = sqlite3_column_int64(r, 22);
            for (size_t k = 0; k < kTimings; ++k) q.timing_us[k] = column_int(r, 23 + static_cast<int>(k));
            out.push_back(std::move(q));
        }
        if (has_ids_) {
            if (!ids_) ids_.emplace(db_, "SELECT name, value FROM request_ids WHERE request = ? ORDER BY rowid");
            for (auto &q : out) {
                sqlite3_reset(ids_->get());
                sqlite3_bind_int64(ids_->get(), 1, q.id);
                while (ids_->step("reading server request ids"))
                    q.ids.emplace_back(column_bytes(ids_->get(), 0), column_bytes(ids_->get(), 1));
            }
            sqlite3_reset(ids_->get());
        }
        return out;
    }

private:
    Db &db_;
    std::string select_;
    bool has_ids_ = false;
    std::optional<Stmt> ids_;
};

// ------------------------------------------------------------------------- formatting

std::string ms(double ns) {
    double v = ns / 1e6;
    if (v < 1) return fmt::format("{:.3f} ms", v);  // loopback and spans: microseconds still tell something
    return v < 10 ? fmt::format("{:.2f} ms", v) : fmt::format("{:.1f} ms", v);
}

// 2026-11-29T09:25:46.123Z: enough for a table row.
std::string short_time(int64_t ns) {
    std::string t = rfc3339(ns);
    return t.substr(0, t.size() - 7) + "Z";
}

// host[:port]/path for a call, the name for a span.
std::string target(const Req &r) {
    if (r.is_span()) return r.name ? *r.name : std::string("(unnamed)");
    std::string host = r.host.value_or("");
    if (host.find(':') != std::string::npos) host = "[" + host + "]";  // IPv6
    if (r.port) host += fmt::format(":{}", *r.port);
    return host + r.path.value_or("");
}

// What the request is, in a few words: GET api.example.com/v1/items, span "load settings".
std::string label(const Req &r) {
    if (r.is_span()) return fmt::format("span \"{}\"", r.name.value_or(""));
    return fmt::format("{} {}", r.method.value_or("?"), target(r));
}

std::string status_text(const Req &r) {
    if (r.is_span()) return r.error && !r.error->empty() ? "failed" : "ok";
    return r.status && *r.status > 0 ? std::to_string(*r.status) : "no response";
}

// The id to quote to the server's team: a real request id before Server-Timing or traceresponse.
std::string first_server_id(const Req &r) {
    for (const auto &[name, value] : r.ids)
        if (name != "server-timing" && name != "traceresponse") return value;
    return r.ids.empty() ? std::string("-") : r.ids.front().second;
}

void json_opt_string(const std::optional<std::string> &v, std::string &b) {
    if (v) json_string(*v, b);
    else b += "null";
}
std::string json_opt_int(const std::optional<int64_t> &v) { return v ? std::to_string(*v) : std::string("null"); }

// One request as a JSON object; `extra` (already JSON: ,"key":value...) goes before the brace.
void append_request_json(const Req &r, std::string &b, bool all_ids, std::string_view extra = {}) {
    auto it = std::back_inserter(b);
    fmt::format_to(it, R"({{"id":{},"time":"{}","start_unix_nano":"{}","duration_ns":{},"kind":)", r.id, rfc3339(r.start_ns),
                   r.start_ns, r.duration_ns);
    json_string(r.kind, b);
    const std::pair<const char *, const std::optional<std::string> *> texts[] = {
        {"name", &r.name}, {"method", &r.method}, {"scheme", &r.scheme}, {"host", &r.host}};
    for (const auto &[k, v] : texts) {
        fmt::format_to(it, R"(,"{}":)", k);
        json_opt_string(*v, b);
    }
    fmt::format_to(it, R"(,"port":{},"path":)", json_opt_int(r.port));
    json_opt_string(r.path, b);
    fmt::format_to(it, R"(,"status":{},"error":)", json_opt_int(r.status));
    json_opt_string(r.error, b);
    fmt::format_to(it, R"(,"failed":{},"trace_id":)", r.failed());
    json_string(r.trace_id, b);
    b += R"(,"span_id":)";
    json_string(r.span_id, b);
    b += R"(,"parent_span_id":)";
    json_opt_string(r.parent_span_id, b);

    // From the request_ids rows, one value per header name (the first): the stored JSON column
    // repeats a key when a header came more than once.
    b += R"(,"server_ids":{)";
    std::set<std::string_view> seen;
    for (const auto &[name, value] : r.ids) {
        if (!seen.insert(name).second) continue;
        if (seen.size() > 1) b += ',';
        json_string(name, b);
        b += ':';
        json_string(value, b);
    }
    if (seen.empty() && r.server_ids_col) {
        std::string col;
        tt::text::utf8_repair(*r.server_ids_col, col);
        if (json_is_object(col)) b += minify(col).substr(1);  // drops our '{'
        else b += '}';
    } else {
        b += '}';
    }
    if (all_ids) {
        b += R"(,"request_ids":[)";
        for (size_t i = 0; i < r.ids.size(); ++i) {
            b += i ? R"(,{"name":)" : R"({"name":)";
            json_string(r.ids[i].first, b);
            b += R"(,"value":)";
            json_string(r.ids[i].second, b);
            b += '}';
        }
        b += ']';
    }
    b += R"(,"timing":)";
    std::string timing;
    if (r.timing) tt::text::utf8_repair(*r.timing, timing);
    b += r.timing && json_is_object(timing) ? minify(timing) : std::string("null");
    b += R"(,"server_ip":)";
    json_opt_string(r.server_ip, b);
    fmt::format_to(it, R"(,"server_port":{},"bytes_up":{},"bytes_down":{},"thread":{},"session":{})", json_opt_int(r.server_port),
                   json_opt_int(r.bytes_up), json_opt_int(r.bytes_down), r.tid, r.session);
    b += extra;
    b += '}';
}

void pad_to(std::string &b, std::string_view cell, size_t width, bool right = false) {
    size_t w = display_width(cell);
    if (right && w < width) b.append(width - w, ' ');
    b += cell;
    if (!right && w < width) b.append(width - w, ' ');
}

// -------------------------------------------------------------------------------- list

int list(Db &db, const RequestsOptions &o) {
    Reader rd(db);
    std::string where = "WHERE 1";
    if (o.since_ns) where += fmt::format(" AND start_ns >= {}", *o.since_ns);
    if (o.failed) where += fmt::format(" AND {}", kFailedSql);
    std::vector<Req> rows;
    if (o.limit) {
        rows = rd.load(where + fmt::format(" ORDER BY start_ns DESC, rowid DESC LIMIT {}", *o.limit));
        std::reverse(rows.begin(), rows.end());
    } else {
        rows = rd.load(where + " ORDER BY start_ns, rowid");
    }

    Out out;
    if (o.json) {
        for (const auto &r : rows) {
            append_request_json(r, out.buf(), false);
            out.buf() += '\n';
            out.maybe_flush();
        }
        out.flush();
        return 0;
    }
    if (rows.empty()) {
        note(fmt::format("no {}requests{} in {}", o.failed ? "failed " : "", o.since_ns ? " in that time" : "", db.path()));
        return 0;
    }
    // TIME METHOD TARGET STATUS DURATION TRACE-ID SERVER-ID ERROR; the last is not padded.
    constexpr size_t kCols = 8;
    constexpr size_t kMaxWidth[kCols] = {0, 0, 60, 0, 0, 0, 40, 0};
    std::vector<std::array<std::string, kCols>> cells;
    cells.push_back({"TIME", "METHOD", "TARGET", "STATUS", "DURATION", "TRACE ID", "SERVER ID", "ERROR"});
    for (const auto &r : rows)
        cells.push_back({short_time(r.start_ns), r.is_span() ? "span" : printable(r.method.value_or("?")), printable(target(r)),
                         status_text(r), ms(static_cast<double>(r.duration_ns)), printable(r.trace_id),
                         printable(first_server_id(r)), printable(r.error.value_or(""))});
    std::array<size_t, kCols> width{};
    for (const auto &c : cells)
        for (size_t k = 0; k < kCols; ++k) width[k] = std::max(width[k], display_width(c[k]));
    for (size_t k = 0; k < kCols; ++k)
        if (kMaxWidth[k]) width[k] = std::min(width[k], kMaxWidth[k]);  // longer ones overflow their row, never cut
    for (const auto &c : cells) {
        std::string &b = out.buf();
        for (size_t k = 0; k + 1 < kCols; ++k) {
            pad_to(b, c[k], width[k], k == 4);
            b += "  ";
        }
        b += c[kCols - 1];
        while (!b.empty() && b.back() == ' ') b.pop_back();
        b += '\n';
        out.maybe_flush();
    }
    out.flush();
    return 0;
}

// ------------------------------------------------------------------------------ lookup

std::string lower(std::string_view s) {
    std::string r(s);
    for (auto &c : r)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return r;
}

bool is_hex(std::string_view s, size_t n) {
    if (s.size() != n) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

// 00-<32 hex>-<16 hex>-<2 hex>, already lower case.
bool parse_traceparent(std::string_view s, std::string &trace, std::string &span) {
    if (s.size() != 55 || s[2] != '-' || s[35] != '-' || s[52] != '-') return false;
    if (!is_hex(s.substr(0, 2), 2) || !is_hex(s.substr(3, 32), 32) || !is_hex(s.substr(36, 16), 16) || !is_hex(s.substr(53, 2), 2))
        return false;
    trace = s.substr(3, 32);
    span = s.substr(36, 16);
    return true;
}

struct OwnedEvent {
    int64_t rowid = 0, time_ns = 0, level = 0, tid = 0;
    std::string msg;
    std::optional<std::string> attrs, trace_id, span_id;
    EventView view() const {
        EventView e;
        e.time_ns = time_ns;
        e.level = level;
        e.tid = tid;
        e.msg = msg;
        if (attrs) e.attrs = *attrs;
        if (trace_id) e.trace_id = *trace_id;
        if (span_id) e.span_id = *span_id;
        return e;
    }
};

std::vector<OwnedEvent> load_events(Db &db, const std::string &where, const std::vector<std::string> &binds) {
    Stmt s(db, fmt::format("SELECT {}, rowid FROM events {} ORDER BY time_ns, rowid", event_columns(db), where));
    for (size_t i = 0; i < binds.size(); ++i)
        sqlite3_bind_text(s.get(), static_cast<int>(i + 1), binds[i].data(), static_cast<int>(binds[i].size()), SQLITE_STATIC);
    std::vector<OwnedEvent> out;
    while (s.step("reading events")) {
        EventView v = event_at(s.get());
        OwnedEvent e;
        e.time_ns = v.time_ns;
        e.level = v.level;
        e.tid = v.tid;
        e.msg = v.msg;
        if (v.attrs) e.attrs = std::string(*v.attrs);
        if (v.trace_id) e.trace_id = std::string(*v.trace_id);
        if (v.span_id) e.span_id = std::string(*v.span_id);
        e.rowid = sqlite3_column_int64(s.get(), 7);
        out.push_back(std::move(e));
    }
    return out;
}

struct Found {
    std::vector<Req> matched;                              // oldest first
    std::vector<std::pair<Req, std::string>> other_spans;  // the rest of their traces, with the relation
    std::vector<OwnedEvent> events;                        // logged inside the matched ones, oldest first
    std::map<std::string, std::string> span_labels;        // span id -> label, for the timeline
};

// How `r` relates to the matched requests of its trace: parent, child, ancestor, descendant or sibling.
std::string relation(const Req &r, const std::map<std::string, const Req *> &by_span, const std::set<std::string> &matched_spans) {
    auto parent_of = [&](const std::string &span) -> const Req * {
        auto it = by_span.find(span);
        if (it == by_span.end() || !it->second->parent_span_id) return nullptr;
        auto p = by_span.find(*it->second->parent_span_id);
        return p == by_span.end() ? nullptr : p->second;
    };
    // Up from r: is a matched request above it?
    size_t steps = 0;
    for (const Req *p = parent_of(r.span_id); p && steps <= by_span.size(); p = parent_of(p->span_id), ++steps)
        if (matched_spans.count(p->span_id)) return steps == 0 ? "child" : "descendant";
    // Up from each matched one: is r above it?
    std::string best;
    for (const auto &m : matched_spans) {
        steps = 0;
        for (const Req *p = parent_of(m); p && steps <= by_span.size(); p = parent_of(p->span_id), ++steps)
            if (p->span_id == r.span_id) {
                if (steps == 0) return "parent";
                best = "ancestor";
            }
    }
    return best.empty() ? "sibling" : best;
}

Found find(Db &db, const std::string &query) {
    std::string lq = lower(query);
    std::map<int64_t, std::vector<std::string>> how;  // request rowid -> how it matched
    auto add = [&](Stmt &s, const std::string &what, bool name_from_row) {
        while (s.step("looking up the id")) {
            auto &h = how[sqlite3_column_int64(s.get(), 0)];
            std::string w = name_from_row ? std::string(column_bytes(s.get(), 1)) : what;
            if (!contains(h, w)) h.push_back(w);
        }
    };
    if (db.has_table("request_ids")) {
        Stmt s(db, "SELECT i.request, i.name FROM request_ids i JOIN requests r ON r.rowid = i.request WHERE i.value = ? ORDER BY i.rowid");
        sqlite3_bind_text(s.get(), 1, query.data(), static_cast<int>(query.size()), SQLITE_STATIC);
        add(s, "", true);
    }
    if (is_hex(lq, 32)) {
        Stmt s(db, "SELECT rowid FROM requests WHERE trace_id = ?");
        sqlite3_bind_text(s.get(), 1, lq.data(), static_cast<int>(lq.size()), SQLITE_STATIC);
        add(s, "trace_id", false);
    }
    if (is_hex(lq, 16)) {
        Stmt s(db, "SELECT rowid FROM requests WHERE span_id = ?");
        sqlite3_bind_text(s.get(), 1, lq.data(), static_cast<int>(lq.size()), SQLITE_STATIC);
        add(s, "span_id", false);
    }
    std::string tp_trace, tp_span;
    if (parse_traceparent(lq, tp_trace, tp_span)) {
        // A server's log shows the traceparent it received: its span is exactly one of our calls.
        Stmt s(db, "SELECT rowid FROM requests WHERE trace_id = ? AND span_id = ?");
        sqlite3_bind_text(s.get(), 1, tp_trace.data(), static_cast<int>(tp_trace.size()), SQLITE_STATIC);
        sqlite3_bind_text(s.get(), 2, tp_span.data(), static_cast<int>(tp_span.size()), SQLITE_STATIC);
        size_t before = how.size();
        add(s, "traceparent", false);
        if (how.size() == before) {
            Stmt t(db, "SELECT rowid FROM requests WHERE trace_id = ?");
            sqlite3_bind_text(t.get(), 1, tp_trace.data(), static_cast<int>(tp_trace.size()), SQLITE_STATIC);
            add(t, "trace_id", false);
        }
    }

    Found f;
    if (how.empty()) {
        // No record, but maybe events: a request still running, or one whose record was lost.
        if (is_hex(lq, 32)) f.events = load_events(db, "WHERE trace_id = ?", {lq});
        else if (is_hex(lq, 16)) f.events = load_events(db, "WHERE span_id = ?", {lq});
        else if (!tp_trace.empty()) f.events = load_events(db, "WHERE trace_id = ? AND span_id = ?", {tp_trace, tp_span});
        return f;
    }

    Reader rd(db);
    std::string in;
    for (const auto &[id, h] : how) in += fmt::format("{}{}", in.empty() ? "" : ",", id);
    std::vector<Req> matched = rd.load(fmt::format("WHERE rowid IN ({})", in));
    std::vector<std::string> traces;
    for (const auto &m : matched)
        if (!contains(traces, m.trace_id)) traces.push_back(m.trace_id);

    for (const auto &t : traces) {
        std::vector<Req> all = rd.load("WHERE trace_id = ? ORDER BY start_ns, rowid", {t});
        std::map<std::string, const Req *> by_span;
        for (const auto &r : all) by_span.emplace(r.span_id, &r);
        for (const auto &r : all) f.span_labels.emplace(r.span_id, label(r));
        std::set<std::string> matched_spans;
        bool whole_trace = false;
        for (const auto &r : all)
            if (auto h = how.find(r.id); h != how.end()) {
                matched_spans.insert(r.span_id);
                whole_trace |= contains(h->second, "trace_id");
            }
        // The events inside: the whole trace, or the matched spans and every span below them.
        std::vector<std::string> rel;
        std::set<std::string> inside = matched_spans;
        for (const auto &r : all) {
            rel.push_back(relation(r, by_span, matched_spans));
            if (rel.back() == "child" || rel.back() == "descendant") inside.insert(r.span_id);
        }
        for (auto &e : load_events(db, "WHERE trace_id = ?", {t}))
            if (whole_trace || (e.span_id && inside.count(*e.span_id))) f.events.push_back(std::move(e));
        for (size_t i = 0; i < all.size(); ++i) {
            if (auto h = how.find(all[i].id); h != how.end()) {
                all[i].matched_by = h->second;
                f.matched.push_back(all[i]);
            } else {
                f.other_spans.emplace_back(all[i], rel[i]);
            }
        }
    }
    std::sort(f.matched.begin(), f.matched.end(), by_start);
    std::stable_sort(f.other_spans.begin(), f.other_spans.end(), [](const auto &a, const auto &b) { return by_start(a.first, b.first); });
    std::sort(f.events.begin(), f.events.end(),
              [](const OwnedEvent &a, const OwnedEvent &b) { return a.time_ns != b.time_ns ? a.time_ns < b.time_ns : a.rowid < b.rowid; });
    return f;
}

std::string matched_by_text(const std::vector<std::string> &how) {
    std::string s;
    for (const auto &h : how) {
        if (!s.empty()) s += ", ";
        if (h == "trace_id") s += "trace id";
        else if (h == "span_id") s += "span id";
        else if (h == "traceparent") s += "traceparent";
        else s += fmt::format("{} header", printable(h));
    }
    return s;
}

void request_block(const Req &r, const Found &f, std::string &b) {
    auto it = std::back_inserter(b);
    auto row = [&](std::string_view k, std::string_view v) { fmt::format_to(it, "  {:<13}{}\n", k, v); };
    if (r.is_span()) b += printable(label(r)) + "\n";
    else b += printable(fmt::format("{} {}{}", r.method.value_or("?"), r.scheme ? *r.scheme + "://" : "", target(r))) + "\n";
    row("matched by", matched_by_text(r.matched_by));
    row("started", rfc3339(r.start_ns));
    row("duration", ms(static_cast<double>(r.duration_ns)));
    if (!r.is_span()) row("status", status_text(r));
    row("error", r.error && !r.error->empty() ? printable(*r.error) : "none");
    row("trace id", printable(r.trace_id));
    row("span id", printable(r.span_id));
    if (!r.parent_span_id) {
        row("parent span", "none (the trace starts here)");
    } else if (auto l = f.span_labels.find(*r.parent_span_id); l != f.span_labels.end()) {
        row("parent span", printable(fmt::format("{} ({})", *r.parent_span_id, l->second)));
    } else {
        row("parent span", printable(fmt::format("{} (not in this buffer: an incoming traceparent, still running, or dropped)",
                                                 *r.parent_span_id)));
    }
    if (r.ids.empty()) row("server ids", "none");
    for (size_t i = 0; i < r.ids.size(); ++i)
        row(i ? "" : "server ids", printable(fmt::format("{}: {}", r.ids[i].first, r.ids[i].second)));
    if (r.server_ip) {
        std::string ip = *r.server_ip;
        if (ip.find(':') != std::string::npos) ip = "[" + ip + "]";
        row("server", printable(r.server_port ? fmt::format("{}:{}", ip, *r.server_port) : ip));
    }
    std::string timing;
    for (size_t k = 0; k < kTimings; ++k)
        if (r.timing_us[k])
            timing += fmt::format("{}{} {}", timing.empty() ? "" : ", ", kTimingLabels[k], ms(static_cast<double>(*r.timing_us[k]) * 1000));
    if (!timing.empty()) row("timing", timing);
    if (r.bytes_up || r.bytes_down) row("bytes", fmt::format("sent {}, received {}", r.bytes_up.value_or(0), r.bytes_down.value_or(0)));
    row("thread", fmt::format("{} (session {})", r.tid, r.session));
}

int lookup(Db &db, const RequestsOptions &o) {
    const std::string &query = *o.id;
    Found f = find(db, query);
    if (f.matched.empty() && f.events.empty()) {
        int64_t n = db.query_int("SELECT count(*) FROM requests");
        std::string held = n == 0 ? "it holds none"
                                  : fmt::format("the {} it holds, started {} to {}; older ones may have been dropped by retention", n,
                                                rfc3339(db.query_int("SELECT min(start_ns) FROM requests")),
                                                rfc3339(db.query_int("SELECT max(start_ns) FROM requests")));
        fail(fmt::format("no request with id {} in {}", query, db.path()),
             fmt::format("the id is searched as {}; a server id must match exactly, case included. `telltale requests {}` "
                         "lists the requests ({})",
                         kIdKinds, db.path(), held));
    }
    if (f.matched.empty())
        warn(fmt::format("no request record has id {}, but {} event{} carry it: the request may still be running, or its "
                         "record was lost (queue or disk full); showing the events",
                         query, f.events.size(), f.events.size() == 1 ? "" : "s"));

    Out out;
    std::string &b = out.buf();
    uint64_t bad_attrs = 0;
    if (o.json) {
        b += R"({"query":)";
        json_string(query, b);
        b += R"(,"requests":[)";
        for (size_t i = 0; i < f.matched.size(); ++i) {
            if (i) b += ',';
            std::string extra = R"(,"matched_by":[)";
            for (size_t k = 0; k < f.matched[i].matched_by.size(); ++k) {
                if (k) extra += ',';
                json_string(f.matched[i].matched_by[k], extra);
            }
            extra += ']';
            append_request_json(f.matched[i], b, true, extra);
        }
        b += R"(],"other_spans":[)";
        for (size_t i = 0; i < f.other_spans.size(); ++i) {
            if (i) b += ',';
            append_request_json(f.other_spans[i].first, b, true, fmt::format(R"(,"relation":"{}")", f.other_spans[i].second));
        }
        b += R"(],"events":[)";
        for (size_t i = 0; i < f.events.size(); ++i) {
            if (i) b += ',';
            append_event_json(f.events[i].view(), b, bad_attrs);
        }
        b += "]}\n";
    } else {
        auto it = std::back_inserter(b);
        if (f.matched.size() > 1) fmt::format_to(it, "{} requests match {}\n\n", f.matched.size(), printable(query));
        for (size_t i = 0; i < f.matched.size(); ++i) {
            if (i) b += '\n';
            request_block(f.matched[i], f, b);
        }
        if (!f.other_spans.empty()) {
            // Grouped by trace when the matches span several.
            std::vector<std::string> traces;
            for (const auto &[r, rel] : f.other_spans)
                if (!contains(traces, r.trace_id)) traces.push_back(r.trace_id);
            for (const auto &t : traces) {
                fmt::format_to(it, "\nother spans of trace {}:\n", printable(t));
                size_t wl = 0;
                for (const auto &[r, rel] : f.other_spans)
                    if (r.trace_id == t) wl = std::max(wl, display_width(printable(label(r))));
                wl = std::min<size_t>(wl, 60);
                for (const auto &[r, rel] : f.other_spans) {
                    if (r.trace_id != t) continue;
                    b += "  ";
                    pad_to(b, rel, 11);
                    b += short_time(r.start_ns) + "  ";
                    pad_to(b, printable(label(r)), wl);
                    b += "  ";
                    pad_to(b, ms(static_cast<double>(r.duration_ns)), 10, true);
                    b += "  ";
                    pad_to(b, status_text(r), 11);
                    fmt::format_to(it, "  span {}", printable(r.span_id));
                    if (r.error && !r.error->empty()) b += "  " + printable(*r.error);
                    b += '\n';
                }
            }
        }
        // Which span an event came from, when there is more than one to tell apart.
        std::set<std::string> spans;
        for (const auto &e : f.events) spans.insert(e.span_id.value_or(""));
        bool tag = spans.size() > 1 || f.matched.size() > 1;
        if (f.events.empty()) {
            b += "\nevents logged inside: none\n";
        } else {
            fmt::format_to(it, "\nevents logged inside ({}, oldest first):\n", f.events.size());
            for (const auto &e : f.events) {
                EventView v = e.view();
                fmt::format_to(it, "  {}  {:<5}  {}", rfc3339(e.time_ns), level_name(e.level), printable(e.msg));
                if (std::string a = event_attrs_text(v); !a.empty()) b += "  " + a;
                if (tag && e.span_id) {
                    auto l = f.span_labels.find(*e.span_id);
                    b += printable(fmt::format("  (in {})", l != f.span_labels.end() ? l->second : "span " + *e.span_id));
                }
                b += '\n';
                out.maybe_flush();
            }
        }
    }
    out.flush();
    warn_bad_attrs(bad_attrs);
    return 0;
}

}  // namespace

// ---------------------------------------------------------------------------- requests

int requests(const RequestsOptions &o) {
    Db db(o.db);
    int64_t schema = open_checks(db);
    if (!db.has_table("requests")) {
        std::string why = fmt::format("this buffer has no request records: it was written by a telltale from before requests "
                                      "were recorded (schema {}; requests came with schema 2)",
                                      schema);
        if (o.id)
            fail(fmt::format("no request with id {} in {}: {}", *o.id, db.path(), why),
                 fmt::format("its events may still carry trace ids: `telltale dump {}` shows them", db.path()));
        note(fmt::format("{}: {}", db.path(), why));
        return 0;
    }
    // One read transaction: requests, their ids and events all from the same moment.
    if (int rc = sqlite3_exec(db.get(), "BEGIN", nullptr, nullptr, nullptr); rc != SQLITE_OK) db.raise(rc, "starting a read");
    int rc = o.id ? lookup(db, o) : list(db, o);
    sqlite3_exec(db.get(), "COMMIT", nullptr, nullptr, nullptr);
    return rc;
}

}  // namespace ttcli
