// `telltale report show FILE`: an exported problem report (the tar tt_report_export
// writes) for a support engineer: a summary of the device and the report, the failed
// requests with their server ids, the error groups, then the requests and log events
// merged into one timeline. With --json: {"manifest": <as in the file>, "timeline": [...]}.
// The file is read, never extracted; report_file.cpp does the reading and the checking.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <iterator>

#include <fmt/format.h>

#include "cli.hpp"
#include "commands.hpp"
#include "report_file.hpp"

namespace ttcli {
namespace {

using namespace reportfile;

constexpr const char kHintFile[] = "pass the .tar file tt_report_export wrote (the report the app saved for the user)";

std::string or_dash(const std::optional<std::string> &s) { return s && !s->empty() ? printable(*s) : std::string("-"); }

std::string fmt_ms(double ms) {
    if (ms < 1) return fmt::format("{:.3f} ms", ms);
    return ms < 10 ? fmt::format("{:.2f} ms", ms) : fmt::format("{:.1f} ms", ms);
}

std::string fmt_us(int64_t us) { return fmt_ms(static_cast<double>(us) / 1000); }

std::string human_bytes(int64_t n) {
    if (n < 1024) return fmt::format("{} B", n);
    if (n < (1 << 20)) return fmt::format("{:.1f} KiB", static_cast<double>(n) / 1024);
    return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1 << 20));
}

// "GET api.example.com/v1/sync", "span \"load settings\"".
std::string request_label(const Request &r) {
    if (!r.http()) return fmt::format("span \"{}\"", r.name.value_or(""));
    return fmt::format("{} {}{}", r.method.value_or("?"), r.host.value_or(""), r.path.value_or(""));
}

std::string request_status(const Request &r) {
    if (!r.http()) return r.error && !r.error->empty() ? "failed" : "ok";
    return r.status && *r.status > 0 ? std::to_string(*r.status) : "no response";
}

// "GET api.example.com/v1/sync -> 502 (12.3 ms)"
std::string request_line(const Request &r) {
    std::string s = fmt::format("{} -> {}", request_label(r), request_status(r));
    if (r.duration_ms) s += fmt::format(" ({})", fmt_ms(*r.duration_ms));
    return s;
}

const char *class_meaning(std::string_view c) {
    if (c == "server") return "the server's side, it answered with a 5xx";
    if (c == "client_network") return "the user's network, no answer came: DNS, connect, TLS, a timeout...";
    if (c == "client_http") return "refused by the server with a 4xx: the request or the client's state";
    if (c == "app") return "a span of the app that ended with an error";
    if (c == "unknown") return "no answer and no error text";
    return "";
}

// One entry of the timeline: a request of the manifest or an event of the logs.
struct Item {
    std::optional<int64_t> t;
    int kind;  // 0 request, 1 log event: a request sorts before what was logged at its very start
    size_t index;
};

std::vector<Item> timeline(const Report &rep) {
    std::vector<Item> items;
    const auto &reqs = rep.manifest.requests;
    items.reserve(reqs.size() + rep.logs.events.size());
    for (size_t i = reqs.size(); i-- > 0;) items.push_back({reqs[i].time_ns, 0, i});  // the manifest lists newest first
    for (size_t i = 0; i < rep.logs.events.size(); ++i) items.push_back({rep.logs.events[i].time_ns, 1, i});
    // Entries without a readable time go last, in file order.
    std::stable_sort(items.begin(), items.end(), [](const Item &a, const Item &b) {
        if (a.t.has_value() != b.t.has_value()) return a.t.has_value();
        if (a.t && *a.t != *b.t) return *a.t < *b.t;
        return a.kind < b.kind;
    });
    return items;
}

void opt_json(const std::optional<std::string> &v, std::string &b) {
    if (v) json_string(*v, b);
    else b += "null";
}

void request_json(const Request &r, std::optional<int64_t> t, std::string &b) {
    auto it = std::back_inserter(b);
    b += R"({"type":"request","time":)";
    opt_json(r.time, b);
    b += R"(,"time_unix_nano":)";
    b += t ? fmt::format("\"{}\"", *t) : std::string("null");
    const std::pair<const char *, const std::optional<std::string> *> texts[] = {
        {"kind", &r.kind}, {"name", &r.name}, {"method", &r.method}, {"host", &r.host}, {"path", &r.path}};
    for (const auto &[k, v] : texts) {
        fmt::format_to(it, R"(,"{}":)", k);
        opt_json(*v, b);
    }
    fmt::format_to(it, R"(,"status":{},"duration_ms":{},"error":)", r.status ? std::to_string(*r.status) : "null",
                   r.duration_ms && std::isfinite(*r.duration_ms) ? fmt::format("{}", *r.duration_ms) : "null");  // 1e999 reads as inf
    opt_json(r.error, b);
    b += R"(,"class":)";
    opt_json(r.cls, b);
    fmt::format_to(it, R"(,"failed":{},"trace_id":)", r.failed());
    opt_json(r.trace_id, b);
    b += R"(,"span_id":)";
    opt_json(r.span_id, b);
    b += R"(,"server_ids":{)";
    for (size_t i = 0; i < r.server_ids.size(); ++i) {
        if (i) b += ',';
        json_string(r.server_ids[i].first, b);
        b += ':';
        json_string(r.server_ids[i].second, b);
    }
    b += R"(},"server_ip":)";
    opt_json(r.server_ip, b);
    b += '}';
}

// The fields `dump` prints, with "type":"log" first.
void event_json(const LogEvent &e, std::string &b, uint64_t &bad_attrs) {
    auto it = std::back_inserter(b);
    b += R"({"type":"log","time":)";
    if (e.time_ns) fmt::format_to(it, R"("{}","time_unix_nano":"{}")", rfc3339(*e.time_ns), *e.time_ns);
    else b += R"(null,"time_unix_nano":null)";
    fmt::format_to(it, R"(,"level":"{}","severity_number":{},"message":)", level_name(e.level), e.level);
    json_string(e.message, b);
    auto view = [](const std::optional<std::string> &o) { return o ? std::optional<std::string_view>(*o) : std::nullopt; };
    append_event_tail(e.thread, view(e.trace_id), view(e.span_id), view(e.attrs), b, bad_attrs);
    b += '}';
}

std::string attrs_text(const LogEvent &e) { return attrs_for_people(e.attrs ? std::optional<std::string_view>(*e.attrs) : std::nullopt); }

// ------------------------------------------------------------------------------ text

void summary(const Report &rep, const std::string &file, std::string &b) {
    const Manifest &m = rep.manifest;
    auto it = std::back_inserter(b);
    auto row = [&](std::string_view k, std::string_view v) { fmt::format_to(it, "{:<15}{}\n", k, v); };
    auto more = [&](std::string_view v) { fmt::format_to(it, "{:<15}{}\n", "", v); };

    row("report", printable(m.report_id));
    row("file", printable(file));
    row("created", or_dash(m.created_at) + (m.automatic.value_or(false) ? "  (an automatic report)" : ""));
    row("app", printable(fmt::format("{} {}", m.app_name.value_or("-"), m.app_version.value_or(""))));
    row("library", printable(fmt::format("{} {}", m.library_name.value_or("telltale"), m.library_version.value_or("-"))));
    std::string os = fmt::format("{} {}", m.os_name.value_or(""), m.os_version.value_or(""));
    row("os", os == " " ? "-" : printable(os));
    row("kernel", or_dash(m.kernel));
    row("arch", or_dash(m.arch));
    row("locale", or_dash(m.locale));
    row("time zone", or_dash(m.time_zone));
    row("install id", or_dash(m.install_id));
    row("session id", or_dash(m.session_id));
    row("consent", or_dash(m.consent));
    row("description", m.description && !m.description->empty() ? printable(*m.description) : "(none given)");
    row("contact", m.contact && !m.contact->empty() ? printable(*m.contact) : "(none given)");

    if (m.local_addresses.empty()) row("addresses", "(none listed)");
    size_t wi = 0, wa = 0;  // interface and address columns line up
    for (const auto &a : m.local_addresses) {
        wi = std::max(wi, display_width(printable(a.interface.value_or("?"))));
        wa = std::max(wa, display_width(printable(a.address.value_or("?"))));
    }
    wi = std::min<size_t>(wi, 20);
    wa = std::min<size_t>(wa, 45);
    for (size_t i = 0; i < m.local_addresses.size(); ++i) {
        const Address &a = m.local_addresses[i];
        std::string flags;
        if (a.loopback) flags += ", loopback";
        if (a.is_private) flags += ", private";
        if (a.link_local) flags += ", link-local";
        auto pad = [](std::string s, size_t w) {
            size_t d = display_width(s);
            return d < w ? s + std::string(w - d, ' ') : s;
        };
        std::string v = pad(printable(a.interface.value_or("?")), wi) + "  " + pad(printable(a.family.value_or("?")), 4) + "  " +
                        pad(printable(a.address.value_or("?")), wa);
        if (!flags.empty()) v += fmt::format("  ({})", flags.substr(2));
        while (!v.empty() && v.back() == ' ') v.pop_back();
        if (i) more(v);
        else row("addresses", v);
    }
    std::string counters;
    for (const auto &[k, v] : m.counters) {
        std::string name = k;
        std::replace(name.begin(), name.end(), '_', ' ');
        counters += fmt::format("{}{} {}", counters.empty() ? "" : ", ", printable(name), v);
    }
    row("counters", counters.empty() ? "-" : counters);
    if (m.window_seconds || m.window_from)
        row("window", printable(fmt::format("the last {} s: {} to {}", m.window_seconds ? std::to_string(*m.window_seconds) : "?",
                                            m.window_from.value_or("?"), m.window_to.value_or("?"))));
    if (rep.has_logs)
        row("logs", fmt::format("{} events ({} compressed, {} as NDJSON){}", rep.logs.events.size(), human_bytes(static_cast<int64_t>(rep.logs_compressed)),
                                human_bytes(static_cast<int64_t>(rep.logs_bytes)),
                                m.logs_truncated.value_or(false) ? "; truncated: the oldest events of the window were left out to fit the cap" : ""));
    else
        row("logs", "(none in the archive)");
    row("summary", or_dash(m.summary));

    if (m.network_check) {
        const NetworkCheck &nc = *m.network_check;
        row("network check", fmt::format("proxy: {}", nc.proxy ? printable(*nc.proxy) : "none"));
        for (const auto &t : nc.targets) {
            std::string v = printable(t.target.value_or(t.host.value_or("?"))) + ":";
            if (t.dns_error) {
                v += fmt::format(" DNS failed{}: {}", t.dns_us ? fmt::format(" after {}", fmt_us(*t.dns_us)) : "", printable(*t.dns_error));
            } else {
                if (t.dns_us) v += fmt::format(" DNS {}", fmt_us(*t.dns_us));
                if (!t.addresses.empty()) {
                    std::string addrs;
                    for (const auto &a : t.addresses) addrs += (addrs.empty() ? "" : ", ") + printable(a);
                    v += fmt::format(" ({})", addrs);
                }
                if (t.tcp_connect_us) v += fmt::format(", TCP {}", fmt_us(*t.tcp_connect_us));
                if (t.tls_connect_us) v += fmt::format(", TLS {}", fmt_us(*t.tls_connect_us));
                if (t.ok) v += *t.ok ? ", ok" : ", failed";
                if (t.error) v += ": " + printable(*t.error);
            }
            more(v);
        }
    }
    if (m.attachments.empty()) row("attachments", "(none)");
    for (size_t i = 0; i < m.attachments.size(); ++i) {
        const Attachment &a = m.attachments[i];
        std::string v = or_dash(a.name);
        if (a.bytes) v += fmt::format(" ({})", human_bytes(*a.bytes));
        if (i) more(v);
        else row("attachments", v);
    }
    for (size_t i = 0; i < m.attachments_skipped.size(); ++i) {
        if (i) more(printable(m.attachments_skipped[i]));
        else row("left out", printable(m.attachments_skipped[i]));
    }
}

void failed_requests(const Manifest &m, std::string &b) {
    auto it = std::back_inserter(b);
    std::vector<const Request *> failed;
    for (size_t i = m.requests.size(); i-- > 0;)  // oldest first
        if (m.requests[i].failed()) failed.push_back(&m.requests[i]);
    if (failed.empty()) {
        fmt::format_to(it, "\nfailed requests: none (of {} in the report)\n", m.requests.size());
        return;
    }
    fmt::format_to(it, "\nfailed requests ({} of {}, oldest first):\n", failed.size(), m.requests.size());
    for (const Request *r : failed) {
        auto row = [&](std::string_view k, std::string_view v) { fmt::format_to(it, "    {:<12}{}\n", k, v); };
        fmt::format_to(it, "  {}  {}\n", or_dash(r->time), printable(request_line(*r)));
        if (r->cls) {
            const char *why = class_meaning(*r->cls);
            row("class", printable(*r->cls) + (*why ? fmt::format(": {}", why) : ""));
        }
        if (r->http()) row("status", r->status && *r->status > 0 ? std::to_string(*r->status) : "no response");
        row("error", r->error && !r->error->empty() ? printable(*r->error) : "none");
        row("trace id", or_dash(r->trace_id));
        row("span id", or_dash(r->span_id));
        if (r->server_ids.empty()) row("server ids", "none");
        for (size_t i = 0; i < r->server_ids.size(); ++i)
            row(i ? "" : "server ids", printable(fmt::format("{}: {}", r->server_ids[i].first, r->server_ids[i].second)));
        if (r->server_ip && !r->server_ip->empty()) row("server ip", printable(*r->server_ip));
    }
}

void error_groups(const Manifest &m, std::string &b) {
    auto it = std::back_inserter(b);
    if (m.errors.empty()) {
        b += "\nerrors: none\n";
        return;
    }
    fmt::format_to(it, "\nerrors ({} group{}, most frequent first):\n", m.errors.size(), m.errors.size() == 1 ? "" : "s");
    for (const auto &g : m.errors) {
        fmt::format_to(it, "  {:>5}x  {}\n", g.count ? std::to_string(*g.count) : "?", or_dash(g.sample));
        fmt::format_to(it, "          {:<13}{}\n", "fingerprint", or_dash(g.fingerprint));
        if (g.first || g.last) fmt::format_to(it, "          {:<13}{} to {}\n", "seen", or_dash(g.first), or_dash(g.last));
    }
}

}  // namespace

int report_show(const ReportShowOptions &o) {
    const std::string &path = o.file;
    // Check first, so that each case gets its own message.
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR) fail(fmt::format("no report file at {}", path), kHintFile);
        fail(fmt::format("cannot look at {}: {}", path, std::strerror(e)), "check the path and that you may read its directory");
    }
    if (S_ISDIR(st.st_mode))
        fail(fmt::format("{} is a directory, not a report file", path),
             "pass the .tar file itself; an extracted report is read with jq and `zstd -dc logs.ndjson.zst`");
    if (!S_ISREG(st.st_mode)) fail(fmt::format("{} is not a regular file", path), kHintFile);

    Report rep;
    try {
        FileSource src(path);
        rep = read_report(src);
    } catch (const ReportError &e) {
        fail(describe(e, path), e.hint);
    }
    for (const auto &w : rep.warnings) warn(fmt::format("{}: {}", path, w));

    std::vector<Item> items = timeline(rep);
    const Manifest &m = rep.manifest;
    Out out;
    std::string &b = out.buf();
    uint64_t bad_attrs = 0;
    if (o.json) {
        b += R"({"manifest":)";
        b += rep.manifest_json;  // as it is in the file: checked to be one valid JSON object
        b += R"(,"timeline":[)";
        for (size_t i = 0; i < items.size(); ++i) {
            if (i) b += ',';
            if (items[i].kind == 0) request_json(m.requests[items[i].index], items[i].t, b);
            else event_json(rep.logs.events[items[i].index], b, bad_attrs);
            out.maybe_flush();
        }
        b += "]}\n";
    } else {
        auto it = std::back_inserter(b);
        summary(rep, path, b);
        failed_requests(m, b);
        error_groups(m, b);
        size_t nreq = 0;
        for (const auto &i : items) nreq += i.kind == 0;
        if (items.empty()) {
            b += "\ntimeline: empty (no requests, no log events)\n";
        } else {
            fmt::format_to(it, "\ntimeline ({} log event{} and {} request{}, oldest first):\n", items.size() - nreq,
                           items.size() - nreq == 1 ? "" : "s", nreq, nreq == 1 ? "" : "s");
            for (const auto &i : items) {
                std::string when = i.t ? rfc3339(*i.t) : "(no time)";
                fmt::format_to(it, "  {:<30}  ", when);
                const std::optional<std::string> *trace;
                if (i.kind == 0) {
                    const Request &r = m.requests[i.index];
                    fmt::format_to(it, "{:<5}  {}", "REQ", printable(request_line(r)));
                    if (r.error && !r.error->empty()) b += "  error: " + printable(*r.error);
                    trace = &r.trace_id;
                } else {
                    const LogEvent &e = rep.logs.events[i.index];
                    fmt::format_to(it, "{:<5}  {}", level_name(e.level), printable(e.message));
                    if (std::string a = attrs_text(e); !a.empty()) b += "  " + a;
                    trace = &e.trace_id;
                }
                if (*trace && !(*trace)->empty()) b += "  trace " + printable(**trace);
                b += '\n';
                out.maybe_flush();
            }
        }
    }
    out.flush();
    warn_bad_attrs(bad_attrs);
    return 0;
}

}  // namespace ttcli
