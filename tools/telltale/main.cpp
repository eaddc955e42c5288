// telltale: look inside a telltale buffer (the SQLite file an app logs into) from a shell.
// Read-only and safe to run while the app writes. Exit codes: 0 ok, 1 failed, 2 bad usage.
#include <sqlite3.h>

#include <cstdio>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "cli.hpp"
#include "commands.hpp"
#include "core/text.hpp"
#include "store/store.hpp"
#include "telltale/telltale.h"

namespace ttcli {
namespace {

std::string g_verb;  // for message prefixes: "telltale dump: ..."

constexpr const char kSinceForms[] =
    "a duration ago (30s, 10m, 2h, 7d, or combined like 1h30m), an RFC 3339 time (2026-11-29T09:25:46Z, "
    "2026-11-29T10:25:46.5+01:00, or a date like 2026-11-29) or unix nanoseconds (1795944346123456789)";
constexpr const char kLevelForms[] = "trace, debug, info, warn, error, fatal (any case), or an OTLP severity number 1..24";

constexpr const char kHelp[] = R"(telltale - look inside a telltale buffer (the SQLite file an app logs into) or an exported report

usage:
  telltale dump DB [--since X] [--level L]   the events as NDJSON, oldest first
  telltale stats [--json] DB                 counts, time range and sizes
  telltale requests DB [--failed] [--since X] [--limit N] [--json]
                                             the requests and spans, oldest first, one a line
  telltale requests DB --id ID [--json]      what one id names: the request(s), all their ids,
                                             the rest of the trace, the events logged inside
  telltale verify DB                         check the file for damage; prints "ok" if none
  telltale report show FILE [--json]         an exported problem report (the .tar tt_report_export
                                             writes): summary, failed requests, errors, timeline
  telltale version                           versions of this tool, the library and SQLite
  telltale help [VERB]                       this text (also: --help, VERB --help)

dump options:
  --since X   only events since X: a duration ago (30s, 10m, 2h, 7d, 1h30m),
              an RFC 3339 time (2026-11-29T09:25:46Z) or unix nanoseconds
  --level L   only events at or above L: trace, debug, info, warn, error, fatal,
              or an OTLP severity number 1..24

requests options:
  --failed    only failures: no response (status 0), HTTP status >= 400, or an error text
  --since X   only requests that started since X (same forms as for dump)
  --limit N   only the newest N (still printed oldest first)
  --json      NDJSON, one object per request with every field (with --id: one object)
  --id ID     a trace id (32 hex), a span id (16 hex), a traceparent, or the exact value
              of any server request id (X-Request-Id, X-Reqid, x-amz-request-id, ...)

report show options:
  --json      one JSON object: {"manifest": <manifest.json as it is>, "timeline": [...]}

DB is the buffer file: the db_path the app passes to tt_open. It is only read, so it is
safe to run while the app is writing; a missing file is reported, never created.

exit status: 0 success, 1 failure, 2 wrong command line
)";

struct Verb {
    const char *name;
    const char *usage;
};
constexpr Verb kVerbs[] = {
    {"dump", "telltale dump DB [--since X] [--level L]"},
    {"stats", "telltale stats [--json] DB"},
    {"requests", "telltale requests DB [--failed] [--since X] [--limit N] [--json] | telltale requests DB --id ID [--json]"},
    {"verify", "telltale verify DB"},
    {"report", "telltale report show FILE [--json]"},
    {"version", "telltale version"},
    {"help", "telltale help [VERB]"},
};

const Verb *find_verb(std::string_view name) {
    for (const auto &v : kVerbs)
        if (name == v.name) return &v;
    return nullptr;
}

std::string usage_of(std::string_view verb) {
    const Verb *v = find_verb(verb.substr(0, verb.find(' ')));  // "report show" is the report verb
    return v ? fmt::format("usage: {}", v->usage) : std::string("usage: telltale VERB ...");
}

// Flags before or after the positionals, as --name value or --name=value; "--" ends them.
struct Flag {
    const char *name;
    bool takes_value;
    const char *forms = "";  // shown when the value is missing
};
struct Parsed {
    std::vector<std::string> positional;
    std::vector<std::pair<std::string, std::string>> flags;  // in order; later ones win
    bool help = false;
    std::optional<std::string> get(std::string_view name) const {
        std::optional<std::string> v;
        for (const auto &[k, val] : flags)
            if (k == name) v = val;
        return v;
    }
    bool has(std::string_view name) const {
        for (const auto &f : flags)
            if (f.first == name) return true;
        return false;
    }
};

Parsed parse(const std::vector<std::string> &args, std::initializer_list<Flag> known) {
    Parsed p;
    bool flags_done = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string &a = args[i];
        if (flags_done || a.size() < 2 || a[0] != '-') {
            p.positional.push_back(a);
            continue;
        }
        if (a == "--") {
            flags_done = true;
            continue;
        }
        if (a == "-h" || a == "--help") {
            p.help = true;
            continue;
        }
        std::string name = a, value;
        bool inline_value = false;
        if (auto eq = a.find('='); eq != std::string::npos && a.rfind("--", 0) == 0) {
            name = a.substr(0, eq);
            value = a.substr(eq + 1);
            inline_value = true;
        }
        const Flag *f = nullptr;
        for (const auto &k : known)
            if (name == k.name) f = &k;
        if (!f) {
            std::string valid;
            for (const auto &k : known) valid += fmt::format("{}{}", valid.empty() ? "" : ", ", k.name);
            usage_error(fmt::format("unknown option {}", name),
                        valid.empty() ? fmt::format("{} takes no options", g_verb) : fmt::format("{} takes {}", g_verb, valid));
        }
        if (f->takes_value && !inline_value) {
            if (i + 1 >= args.size())
                usage_error(fmt::format("{} needs a value", name), *f->forms ? fmt::format("valid forms: {}", f->forms) : "");
            value = args[++i];
        } else if (!f->takes_value && inline_value) {
            usage_error(fmt::format("{} takes no value", name), "");
        }
        p.flags.emplace_back(name, value);
    }
    return p;
}

std::string one_db(const Parsed &p) {
    if (p.positional.empty()) usage_error("which buffer? DB is missing", "pass the buffer file, the db_path the app gives tt_open");
    if (p.positional.size() > 1)
        usage_error(fmt::format("one DB at a time; got {} paths ({}, {}{})", p.positional.size(), p.positional[0], p.positional[1],
                                p.positional.size() > 2 ? ", ..." : ""),
                    "run the command once per buffer");
    return p.positional[0];
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

int64_t parse_since(const std::string &v) {
    if (all_digits(v)) {
        // More digits than an int64 can hold is a typo, not a time.
        if (v.size() > 19 || (v.size() == 19 && v > "9223372036854775807"))
            usage_error(fmt::format("--since {} is too large for unix nanoseconds", v), fmt::format("valid forms: {}", kSinceForms));
        int64_t ns = std::stoll(v);
        // Before 1973: almost surely seconds, milliseconds or microseconds, or a missing unit.
        if (ns < 100'000'000'000'000'000)
            warn(fmt::format("--since {} is read as unix nanoseconds, that is {}; for unix seconds append 9 zeros, "
                             "for \"that long ago\" add a unit (30s, 10m, 2h, 7d)",
                             v, rfc3339(ns)));
        return ns;
    }
    if (auto d = parse_duration(v)) return now_ns() - *d;
    if (auto t = parse_rfc3339(v)) return *t;
    usage_error(fmt::format("--since \"{}\" is not a time", v), fmt::format("valid forms: {}", kSinceForms));
}

int run_dump(const std::vector<std::string> &args) {
    Parsed p = parse(args, {{"--since", true, kSinceForms}, {"--level", true, kLevelForms}});
    if (p.help) {
        fmt::print("{}\n\n--since X: {}\n--level L: {}\n", usage_of("dump"), kSinceForms, kLevelForms);
        return 0;
    }
    DumpOptions o;
    o.db = one_db(p);
    if (auto s = p.get("--since")) o.since_ns = parse_since(*s);
    if (auto l = p.get("--level")) {
        o.min_level = parse_level(*l);
        if (!o.min_level) usage_error(fmt::format("--level \"{}\" is not a level", *l), fmt::format("valid forms: {}", kLevelForms));
    }
    return dump(o);
}

int run_stats(const std::vector<std::string> &args) {
    Parsed p = parse(args, {{"--json", false}});
    if (p.help) {
        fmt::print("{}\n\n--json: one JSON object (events, requests, reports_pending, db_bytes, wal_bytes, oldest, newest,\n"
                   "by_level, sessions, schema_version, install_id, path) instead of a table\n",
                   usage_of("stats"));
        return 0;
    }
    return stats(one_db(p), p.has("--json"));
}

constexpr const char kLimitForms[] = "a whole number of requests, 1 or more";
constexpr const char kIdForms[] =
    "a trace id (32 hex digits), a span id (16 hex digits), a traceparent, or a server request id value (X-Reqid, ...)";

int run_requests(const std::vector<std::string> &args) {
    Parsed p = parse(args, {{"--failed", false},
                            {"--json", false},
                            {"--id", true, kIdForms},
                            {"--since", true, kSinceForms},
                            {"--limit", true, kLimitForms}});
    if (p.help) {
        fmt::print("{}\n\n"
                   "Without --id: the requests and spans, oldest first, one a line: time, method, host and path (the name\n"
                   "for a span), status (\"no response\" when none came), duration, trace id, the first server request id\n"
                   "and the error.\n"
                   "  --failed   only failures: no response (status 0), HTTP status >= 400, or an error text\n"
                   "  --since X  only those that started since X: {}\n"
                   "  --limit N  only the newest N, still printed oldest first\n"
                   "  --json     NDJSON: one object per request with every field; server_ids and timing as objects\n"
                   "\n"
                   "With --id ID: the request(s) ID names, with all their ids, status, error, timing and server address,\n"
                   "the other spans of the same trace (parent, child, sibling...), then the events logged inside them,\n"
                   "oldest first. ID is {}; a trace id names every request of the trace. With --json: one object\n"
                   "{{\"query\", \"requests\", \"other_spans\", \"events\"}}. Exits 1 when nothing has that id.\n",
                   usage_of("requests"), kSinceForms, kIdForms);
        return 0;
    }
    RequestsOptions o;
    o.db = one_db(p);
    o.failed = p.has("--failed");
    o.json = p.has("--json");
    if (auto id = p.get("--id")) {
        // Pasted ids often come with spaces or quotes around them.
        std::string v = *id;
        auto strip = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"' || c == '\''; };
        while (!v.empty() && strip(v.back())) v.pop_back();
        size_t b = 0;
        while (b < v.size() && strip(v[b])) ++b;
        v.erase(0, b);
        if (v.empty()) usage_error("--id is empty", fmt::format("valid forms: {}", kIdForms));
        o.id = v;
    }
    if (auto s = p.get("--since")) o.since_ns = parse_since(*s);
    if (auto l = p.get("--limit")) {
        if (!all_digits(*l) || l->size() > 18 || std::stoll(*l) < 1)
            usage_error(fmt::format("--limit \"{}\" is not a number of requests", *l), fmt::format("valid forms: {}", kLimitForms));
        o.limit = std::stoll(*l);
    }
    if (o.id) {
        for (const char *f : {"--failed", "--since", "--limit"})
            if (p.has(f))
                usage_error(fmt::format("{} does not go with --id", f),
                            "--id shows everything one id names; --failed, --since and --limit narrow the list without --id");
    }
    return requests(o);
}

int run_verify(const std::vector<std::string> &args) {
    Parsed p = parse(args, {});
    if (p.help) {
        fmt::print("{}\n\nRuns SQLite's integrity check and checks the schema. Prints \"ok\" and exits 0, or lists the\n"
                   "problems and exits 1.\n",
                   usage_of("verify"));
        return 0;
    }
    return verify(one_db(p));
}

constexpr const char kReportShowHelp[] =
    "Reads an exported problem report, the plain tar tt_report_export writes (manifest.json, logs.ndjson.zst,\n"
    "attachments/<name>), without extracting it, and prints:\n"
    "  - a summary: report id, when, app and library versions, the device (OS, kernel, arch, locale, time zone),\n"
    "    install id, consent, the user's description and contact, local addresses, counters, the one-line summary,\n"
    "    the network check if one ran, the attachments and those left out\n"
    "  - the failed requests: class (client_network: the user's network; server: a 5xx), status, error, trace id\n"
    "    and the server's request ids (X-Reqid, X-Request-Id, ...)\n"
    "  - the error groups: how often, a sample, the fingerprint\n"
    "  - the timeline: the requests and the log events merged, oldest first (time, level or REQ, message or\n"
    "    \"GET host/path -> status (duration)\", trace id)\n"
    "  --json   one JSON object {\"manifest\": <manifest.json as it is>, \"timeline\": [...]}; each timeline entry has\n"
    "           \"type\": \"log\" (the fields `dump` prints) or \"request\" (the manifest's fields, time_unix_nano added)\n"
    "Exits 1 when FILE is missing, is not a telltale report, or is damaged (cut short, altered).\n";

int run_report(const std::vector<std::string> &args) {
    if (args.empty())
        usage_error("which report command? none given", "the report command is show: telltale report show FILE");
    if (args[0] == "-h" || args[0] == "--help") {
        fmt::print("{}\n\n", usage_of("report"));
        std::fputs(kReportShowHelp, stdout);
        return 0;
    }
    if (args[0] != "show")
        usage_error(fmt::format("unknown report command \"{}\"", args[0]),
                    "the report command is show: telltale report show FILE");
    g_verb = "report show";
    Parsed p = parse(std::vector<std::string>(args.begin() + 1, args.end()), {{"--json", false}});
    if (p.help) {
        fmt::print("{}\n\n", usage_of("report"));
        std::fputs(kReportShowHelp, stdout);
        return 0;
    }
    if (p.positional.empty()) usage_error("which report? FILE is missing", "pass the .tar file tt_report_export wrote");
    if (p.positional.size() > 1)
        usage_error(fmt::format("one report at a time; got {} files ({}, {}{})", p.positional.size(), p.positional[0], p.positional[1],
                                p.positional.size() > 2 ? ", ..." : ""),
                    "run the command once per report");
    ReportShowOptions o;
    o.file = p.positional[0];
    o.json = p.has("--json");
    return report_show(o);
}

int run_version(const std::vector<std::string> &args) {
    Parsed p = parse(args, {});
    if (!p.positional.empty()) usage_error(fmt::format("version takes no arguments, got \"{}\"", p.positional[0]), "");
    // The static library is linked in, so tt_version() is this binary's own library.
    fmt::print("telltale {} (library {}, buffer schema {}, SQLite {})\n", TT_VERSION_STRING, tt_version(), tt::store::kSchemaVersion,
               sqlite3_libversion());
    return 0;
}

int run_help(const std::vector<std::string> &args) {
    if (!args.empty() && args[0] != "-h" && args[0] != "--help") {
        if (!find_verb(args[0]))
            usage_error(fmt::format("no verb named \"{}\"", args[0]), "the verbs are dump, stats, requests, verify, report, version, help");
        if (args[0] == "dump") return run_dump({"--help"});
        if (args[0] == "requests") return run_requests({"--help"});
        if (args[0] == "stats") return run_stats({"--help"});
        if (args[0] == "verify") return run_verify({"--help"});
        if (args[0] == "report") return run_report({"--help"});
        fmt::print("{}\n", usage_of(args[0]));
        return 0;
    }
    fmt::print("{}", kHelp);
    return 0;
}

int run(int argc, char **argv) {
    if (argc < 2) {
        std::fputs("telltale: which verb? none given\n\n", stderr);
        std::fputs(kHelp, stderr);
        return kExitUsage;
    }
    std::string verb = argv[1];
    std::vector<std::string> rest(argv + 2, argv + argc);
    if (verb == "-h" || verb == "--help" || verb == "help") {
        g_verb = "help";
        return run_help(rest);
    }
    if (verb == "--version" || verb == "-V") verb = "version";
    g_verb = verb;
    if (verb == "dump") return run_dump(rest);
    if (verb == "stats") return run_stats(rest);
    if (verb == "requests") return run_requests(rest);
    if (verb == "verify") return run_verify(rest);
    if (verb == "report") return run_report(rest);
    if (verb == "version") return run_version(rest);
    g_verb.clear();
    usage_error(fmt::format("unknown verb \"{}\"", verb), "the verbs are dump, stats, requests, verify, report show, version; run `telltale help`");
}

}  // namespace

void warn(std::string_view message) {
    std::string line = fmt::format("telltale{}{}: warning: ", g_verb.empty() ? "" : " ", g_verb);
    std::string clean;
    tt::text::utf8_repair(message, clean);
    fmt::print(stderr, "{}{}\n", line, clean);
}

void note(std::string_view message) {
    std::string clean;
    tt::text::utf8_repair(message, clean);
    fmt::print(stderr, "telltale{}{}: {}\n", g_verb.empty() ? "" : " ", g_verb, clean);
}

}  // namespace ttcli

int main(int argc, char **argv) {
    using namespace ttcli;
    auto prefix = [] { return fmt::format("telltale{}{}", g_verb.empty() ? "" : " ", g_verb); };
    try {
        try {
            int rc = run(argc, argv);
            if (std::fflush(stdout) != 0) fail("writing to standard output failed", "check that the disk is not full");
            return rc;
        } catch (const Failure &f) {
            // Paths and SQLite messages may hold any bytes: keep stderr valid UTF-8 too.
            std::string msg, hint;
            tt::text::utf8_repair(f.message, msg);
            tt::text::utf8_repair(f.hint, hint);
            fmt::print(stderr, "{}: {}\n", prefix(), msg);
            if (!hint.empty()) fmt::print(stderr, "  hint: {}\n", hint);
            if (f.code == kExitUsage) fmt::print(stderr, "{}\n  run `telltale help` for the verbs and their options\n", usage_of(g_verb));
            return f.code;
        } catch (const std::bad_alloc &) {
            fmt::print(stderr, "{}: out of memory\n  hint: free some memory, or narrow the output with --since/--level\n", prefix());
        } catch (const std::exception &e) {
            fmt::print(stderr, "{}: unexpected failure: {}\n  hint: please report this as a telltale bug, with this message\n", prefix(), e.what());
        }
    } catch (...) {
        // Printing the error failed too (stderr closed?): the exit code still tells.
    }
    return kExitFail;
}
