// telltale-support-backend: the reference collector and support API for telltale clients.
// One process, one SQLite file. Routes: see DESIGN.md "Support backend routes" and
// README.md next to this file.
#include <arpa/inet.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <thread>

#include "api.hpp"
#include "console.hpp"
#include "ingest.hpp"
#include "store.hpp"

using namespace tsb;

namespace {

struct Config {
    std::string host = "127.0.0.1";
    int port = 4318;
    std::string db = "support.db";
    std::string ingest_token, admin_token;
    bool trust_proxy = false;
    size_t max_body = 16u << 20;  // before and after decompression
    StormRule storm;
};

const char *kUsage =
    "usage: telltale-support-backend [--listen HOST:PORT] [--db FILE] [--ingest-token T] [--admin-token T]\n"
    "                                [--trust-proxy] [--max-body-mb N] [--storm-minutes M] [--storm-threshold N]\n"
    "  --listen          address to listen on (default 127.0.0.1:4318; port 0 picks a free one)\n"
    "  --db              the SQLite database (created when missing; default support.db)\n"
    "  --ingest-token    clients must send 'Authorization: Bearer T' to /v1/logs, /v1/traces, /v1/reports\n"
    "  --admin-token     the console and /api/* need 'Authorization: Bearer T'\n"
    "  --trust-proxy     take the client IP from X-Forwarded-For (only behind your own reverse proxy)\n"
    "  --max-body-mb     request body cap, compressed and decompressed (default 16)\n"
    "  --storm-minutes, --storm-threshold   more reports than N in M minutes open an incident (default 20 in 10)\n";

int g_stop_pipe[2] = {-1, -1};

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int64_t number_arg(const char *v, int64_t lo, int64_t hi, const char *name) {
    char *end = nullptr;
    long long n = std::strtoll(v, &end, 10);
    if (!*v || *end || n < lo || n > hi) {
        std::fprintf(stderr, "telltale-support-backend: %s wants a number from %lld to %lld, not \"%s\"\n", name, (long long)lo, (long long)hi, v);
        std::exit(2);
    }
    return n;
}

Config parse_args(int argc, char **argv) {
    Config c;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> const char * {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "telltale-support-backend: %s needs a value\n%s", a.c_str(), kUsage);
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--listen") {
            std::string l = value();
            size_t colon = l.rfind(':');
            if (colon == std::string::npos) {
                std::fprintf(stderr, "telltale-support-backend: --listen wants HOST:PORT, e.g. 127.0.0.1:4318\n");
                std::exit(2);
            }
            c.host = l.substr(0, colon);
            if (c.host.size() > 2 && c.host.front() == '[') c.host = c.host.substr(1, c.host.size() - 2);
            c.port = static_cast<int>(number_arg(l.c_str() + colon + 1, 0, 65535, "--listen port"));
        } else if (a == "--db") c.db = value();
        else if (a == "--ingest-token") c.ingest_token = value();
        else if (a == "--admin-token") c.admin_token = value();
        else if (a == "--trust-proxy") c.trust_proxy = true;
        else if (a == "--max-body-mb") c.max_body = static_cast<size_t>(number_arg(value(), 1, 4096, "--max-body-mb")) << 20;
        else if (a == "--storm-minutes") c.storm.minutes = number_arg(value(), 1, 10080, "--storm-minutes");
        else if (a == "--storm-threshold") c.storm.threshold = number_arg(value(), 1, 1000000, "--storm-threshold");
        else if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else {
            std::fprintf(stderr, "telltale-support-backend: unknown argument \"%s\"\n%s", a.c_str(), kUsage);
            std::exit(2);
        }
    }
    return c;
}

void reply(httplib::Response &res, int status, const json &j) {
    res.status = status;
    res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}
void fail(httplib::Response &res, int status, const std::string &msg) { reply(res, status, {{"error", msg}}); }

// Constant time, so the token cannot be guessed byte by byte from answer times.
bool token_ok(const httplib::Request &req, const std::string &token) {
    if (token.empty()) return true;
    std::string h = req.get_header_value("Authorization");
    std::string want = "Bearer " + token;
    if (h.size() != want.size()) return false;
    unsigned char d = 0;
    for (size_t i = 0; i < h.size(); ++i) d |= static_cast<unsigned char>(h[i] ^ want[i]);
    return d == 0;
}

// The client's address as people write it: 127.0.0.1, not ::ffff:127.0.0.1.
std::string human_ip(std::string s) {
    s.erase(0, s.find_first_not_of(" \t"));
    s.erase(s.find_last_not_of(" \t") + 1);
    unsigned char buf[16];
    char out[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET, s.c_str(), buf) == 1) return inet_ntop(AF_INET, buf, out, sizeof out);
    if (inet_pton(AF_INET6, s.c_str(), buf) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::memcmp(buf, mapped, 12) == 0) return inet_ntop(AF_INET, buf + 12, out, sizeof out);
        return inet_ntop(AF_INET6, buf, out, sizeof out);
    }
    return "";
}

std::string client_ip(const httplib::Request &req, const Config &cfg) {
    if (cfg.trust_proxy && req.has_header("X-Forwarded-For")) {
        // Our own proxy appends the address it saw last; earlier entries are the client's word.
        std::string xff = req.get_header_value("X-Forwarded-For");
        size_t comma = xff.rfind(',');
        std::string ip = human_ip(comma == std::string::npos ? xff : xff.substr(comma + 1));
        if (!ip.empty()) return ip;
    }
    std::string ip = human_ip(req.remote_addr);
    return ip.empty() ? req.remote_addr : ip;
}

std::string lower(std::string s) {
    for (auto &c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    s.erase(0, s.find_first_not_of(" \t"));
    s.erase(s.find_last_not_of(" \t") + 1);
    return s;
}

// Reads the body through the decoder with the running cap. Fills res (413/400/415) and
// returns false when the body is refused.
bool read_body(const httplib::Request &req, httplib::Response &res, const httplib::ContentReader &reader, const Config &cfg,
               std::string &out) {
    Decoder d(lower(req.get_header_value("X-Telltale-Original-Encoding")), cfg.max_body);
    if (!d.supported()) {
        fail(res, 415, "unsupported Content-Encoding \"" + req.get_header_value("X-Telltale-Original-Encoding") + "\": send zstd, gzip or none");
        return false;
    }
    size_t raw = 0;
    auto r = Decoder::Result::kOk;
    bool ok = reader([&](const char *data, size_t n) {
        raw += n;
        if (raw > cfg.max_body) {
            r = Decoder::Result::kTooLarge;
            return false;
        }
        r = d.feed(data, n);
        return r == Decoder::Result::kOk;  // stop reading at once when over the cap
    });
    if (ok && r == Decoder::Result::kOk) r = d.finish();
    std::string cap_mb = std::to_string(cfg.max_body >> 20);
    if (res.status == 413 || r == Decoder::Result::kTooLarge) {
        res.set_header("Connection", "close");
        fail(res, 413, "the body is over the " + cap_mb + " MiB cap (compressed or decompressed): send smaller batches");
        return false;
    }
    if (r == Decoder::Result::kBad) {
        fail(res, 400, "cannot decode the body: " + d.error());
        return false;
    }
    if (!ok) {
        fail(res, 400, "the body could not be read");
        return false;
    }
    out = std::move(d.out());
    return true;
}

}  // namespace

int main(int argc, char **argv) {
    Config cfg = parse_args(argc, argv);
    // Stop cleanly on SIGINT/SIGTERM: the handler only writes a byte to a pipe (all a
    // signal handler may safely do); a thread reading it stops the server.
    if (pipe(g_stop_pipe) != 0) return 1;
    struct sigaction sa {};
    sa.sa_handler = [](int) {
        char b = 1;
        ssize_t n = write(g_stop_pipe[1], &b, 1);
        (void)n;
    };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);

    std::unique_ptr<Store> store_ptr;
    try {
        store_ptr = std::make_unique<Store>(cfg.db);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "telltale-support-backend: %s\n", e.what());
        return 1;
    }
    Store &store = *store_ptr;
    httplib::Server svr;
    svr.set_payload_max_length(cfg.max_body);
    // Answer at once: with Nagle on, every small answer waited ~40 ms for the client's
    // delayed ACK (20 batches/s per connection). And keep connections for more than
    // httplib's default 5 requests.
    svr.set_tcp_nodelay(true);
    svr.set_keep_alive_max_count(1000);  // a declared Content-Length over the cap: 413 before reading

    svr.set_pre_routing_handler([&](const httplib::Request &creq, httplib::Response &res) {
        const std::string &p = creq.path;
        bool ingest = p == "/v1/logs" || p == "/v1/traces" || p == "/v1/reports";
        bool admin = p.rfind("/api/", 0) == 0;
        if ((ingest && !token_ok(creq, cfg.ingest_token)) || (admin && !token_ok(creq, cfg.admin_token))) {
            res.set_header("WWW-Authenticate", "Bearer");
            res.set_header("Connection", "close");
            fail(res, 401, std::string("missing or wrong token: send 'Authorization: Bearer <") + (ingest ? "ingest" : "admin") + " token>'");
            return httplib::Server::HandlerResponse::Handled;
        }
        if (ingest && creq.method == "POST") {
            // We decode bodies ourselves, with a running cap (httplib would inflate gzip in
            // full, and parse multipart its own way): hide the encoding and the multipart
            // type from it. The request is ours to change (only the handler sees it const).
            auto &req = const_cast<httplib::Request &>(creq);
            std::string enc = req.get_header_value("Content-Encoding"), ct = req.get_header_value("Content-Type");
            req.headers.erase("Content-Encoding");
            req.headers.emplace("X-Telltale-Original-Encoding", enc);
            if (p == "/v1/reports") {
                req.headers.erase("Content-Type");
                req.headers.emplace("Content-Type", "application/octet-stream");
                req.headers.emplace("X-Telltale-Original-Type", ct);
            }
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });

    // Every handler answers a JSON 500 instead of dropping the connection on a surprise.
    auto on_error = [](const httplib::Request &req, httplib::Response &res, const std::exception &e) {
        std::fprintf(stderr, "telltale-support-backend: %s %s: %s\n", req.method.c_str(), req.path.c_str(), e.what());
        fail(res, 500, std::string("internal error: ") + e.what());
    };
    auto guarded = [on_error](std::function<void(const httplib::Request &, httplib::Response &)> fn) -> httplib::Server::Handler {
        return [fn, on_error](const httplib::Request &req, httplib::Response &res) {
            try {
                fn(req, res);
            } catch (const std::exception &e) {
                on_error(req, res, e);
            }
        };
    };
    auto guarded_reader = [on_error](httplib::Server::HandlerWithContentReader fn) -> httplib::Server::HandlerWithContentReader {
        return [fn, on_error](const httplib::Request &req, httplib::Response &res, const httplib::ContentReader &reader) {
            try {
                fn(req, res, reader);
            } catch (const std::exception &e) {
                on_error(req, res, e);
            }
        };
    };

    auto otlp = [&](bool traces) {
        return guarded_reader([&, traces](const httplib::Request &req, httplib::Response &res, const httplib::ContentReader &reader) {
            std::string batch = req.get_header_value("X-Telltale-Batch");
            if (batch.size() > 128) return fail(res, 400, "X-Telltale-Batch is over 128 bytes");
            if (!batch.empty() && store.has_batch(batch)) {
                // A retry whose answer got lost: read the body off the connection (capped, so
                // keep-alive goes on), but do not decode or parse what is already stored.
                size_t raw = 0;
                reader([&](const char *, size_t n) { return (raw += n) <= cfg.max_body; });
                res.set_header("X-Telltale-Duplicate", "true");
                return reply(res, 200, json::object({{"partialSuccess", json::object()}}));
            }
            std::string body;
            if (!read_body(req, res, reader, cfg, body)) return;
            Batch b;
            if (auto err = parse_otlp(body, traces, b)) return fail(res, 400, "not an OTLP/HTTP JSON export request: " + *err);
            bool fresh = store.add_batch(batch, traces, b, client_ip(req, cfg), now_ns());
            res.set_header("X-Telltale-Duplicate", fresh ? "false" : "true");
            reply(res, 200, json::object({{"partialSuccess", json::object()}}));
        });
    };
    svr.Post("/v1/logs", otlp(false));
    svr.Post("/v1/traces", otlp(true));

    svr.Post("/v1/reports", guarded_reader([&](const httplib::Request &req, httplib::Response &res, const httplib::ContentReader &reader) {
        std::string boundary = multipart_boundary(req.get_header_value("X-Telltale-Original-Type"));
        if (boundary.empty()) return fail(res, 415, "send the report as multipart/form-data with a boundary");
        std::string body;
        if (!read_body(req, res, reader, cfg, body)) return;
        std::vector<Part> parts;
        if (auto err = parse_multipart(body, boundary, parts)) return fail(res, 400, *err);
        Store::Report r;
        for (auto &p : parts) {
            if (p.name == "manifest") r.manifest = std::move(p.data);
            else if (p.name == "logs") r.logs_zst = std::move(p.data);
            else if (!p.filename.empty() && r.attachments.size() < 64)
                r.attachments.push_back({p.filename.substr(0, 255), p.content_type, std::move(p.data)});
        }
        json m = json::parse(r.manifest, nullptr, false);
        if (!m.is_object()) return fail(res, 400, "the report has no manifest part holding a JSON object");
        r.id = lower(req.get_header_value("X-Telltale-Report"));
        if (r.id.empty() && m.contains("report_id") && m["report_id"].is_string()) r.id = lower(m["report_id"].get<std::string>());
        if (r.id.empty() || r.id.size() > 64 || r.id.find_first_not_of("0123456789abcdef-") != std::string::npos)
            return fail(res, 400, "the report id (X-Telltale-Report or manifest report_id) must be a UUID");
        if (!r.logs_zst.empty()) {
            std::string nd;
            auto dr = decode_all("zstd", r.logs_zst, cfg.max_body, nd);
            if (dr == Decoder::Result::kTooLarge) return fail(res, 413, "the report's logs are over the cap once decompressed");
            if (dr != Decoder::Result::kOk) return fail(res, 400, "the logs part is not zstd-compressed NDJSON");
            for (size_t at = 0; at < nd.size();) {
                size_t e = nd.find('\n', at);
                if (e == std::string::npos) e = nd.size();
                if (e > at) r.log_lines.emplace_back(nd.substr(at, e - at));
                at = e + 1;
            }
        }
        r.ip = client_ip(req, cfg);
        r.install_id = m.contains("install_id") && m["install_id"].is_string() ? m["install_id"].get<std::string>() : "";
        r.received_ns = now_ns();
        r.diagnosis = diagnose(m, open_incident(store)).dump(-1, ' ', false, json::error_handler_t::replace);
        r.manifest = m.dump(-1, ' ', false, json::error_handler_t::replace);
        bool fresh = store.add_report(r);
        detect_storm(store, cfg.storm, r.received_ns);
        auto inc = open_incident(store);
        reply(res, 200, {{"report_id", r.id}, {"notice", inc ? json(inc->notice) : json(nullptr)}, {"duplicate", !fresh}});
    }));

    svr.Get(R"(/api/reports/([0-9a-fA-F-]{1,64}))", guarded([&](const httplib::Request &req, httplib::Response &res) {
        auto d = report_detail(store, lower(req.matches[1]));
        if (!d) return fail(res, 404, "no report with this id");
        reply(res, 200, *d);
    }));
    svr.Get(R"(/api/reports/([0-9a-fA-F-]{1,64})/logs)", guarded([&](const httplib::Request &req, httplib::Response &res) {
        std::lock_guard<std::mutex> lk(store.mu);
        Stmt s(store.db(), "SELECT logs FROM reports WHERE id=?");
        s.bind(1, lower(req.matches[1]));
        if (!s.row()) return fail(res, 404, "no report with this id");
        std::string nd;
        if (decode_all("zstd", s.text(0), cfg.max_body, nd) != Decoder::Result::kOk) nd.clear();
        res.set_content(nd, "application/x-ndjson");
    }));
    svr.Get(R"(/api/reports/([0-9a-fA-F-]{1,64})/attachments/(.+))", guarded([&](const httplib::Request &req, httplib::Response &res) {
        std::lock_guard<std::mutex> lk(store.mu);
        Stmt s(store.db(), "SELECT content_type, data FROM attachments WHERE report_id=? AND name=?");
        s.bind(1, lower(req.matches[1])).bind(2, std::string(req.matches[2]));
        if (!s.row()) return fail(res, 404, "no such attachment");
        std::string name = req.matches[2];
        for (auto &c : name)
            if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = '_';
        res.set_header("Content-Disposition", "attachment; filename=\"" + name + "\"");
        std::string ct = s.text(0);
        res.set_content(s.text(1), ct.empty() ? "application/octet-stream" : ct.c_str());
    }));
    svr.Get("/api/lookup", guarded([&](const httplib::Request &req, httplib::Response &res) {
        if (!req.has_param("q")) return fail(res, 400, "pass ?q= a report id, IP, trace id, server request id or install id");
        json j = lookup(store, req.get_param_value("q"));
        reply(res, j["kind"] == "none" ? 404 : 200, j);
    }));
    svr.Get("/api/problems", guarded([&](const httplib::Request &req, httplib::Response &res) {
        std::string w = req.has_param("window") ? req.get_param_value("window") : "24h";
        int64_t win = parse_window(w);
        if (!win) return fail(res, 400, "window is a number with s, m, h or d: 24h, 90m, 7d");
        reply(res, 200, problems(store, win, now_ns()));
    }));
    svr.Get("/api/incidents", guarded([&](const httplib::Request &, httplib::Response &res) { reply(res, 200, incidents_json(store, cfg.storm, now_ns())); }));
    svr.Post("/api/incidents", guarded([&](const httplib::Request &req, httplib::Response &res) {
        if (req.body.size() > 64 * 1024) return fail(res, 413, "incident requests are small JSON objects");
        json answer;
        if (auto err = change_incident(store, json::parse(req.body, nullptr, false), now_ns(), answer)) return fail(res, 400, *err);
        reply(res, 200, answer);
    }));
    svr.Get("/v1/status", guarded([&](const httplib::Request &, httplib::Response &res) {
        auto inc = open_incident(store);
        if (!inc) return reply(res, 200, {{"incident", nullptr}, {"notice", nullptr}});
        reply(res, 200, {{"incident", {{"id", inc->id}, {"opened_at", rfc3339(inc->opened_ns)}, {"title", inc->title}}}, {"notice", inc->notice}});
    }));
    svr.Get("/", [](const httplib::Request &, httplib::Response &res) { res.set_content(console_html(), "text/html; charset=utf-8"); });
    svr.Get("/healthz", [](const httplib::Request &, httplib::Response &res) { res.set_content("ok\n", "text/plain"); });

    // A stand-in for the app's own API, for the demo: answers with a server request id
    // (X-Reqid) like a real backend does; ?fail=1 answers 503.
    std::atomic<uint64_t> demo_seq{0};
    svr.Get("/demo/api", [&](const httplib::Request &req, httplib::Response &res) {
        char id[32];
        std::snprintf(id, sizeof id, "demo-%08llx", static_cast<unsigned long long>((++demo_seq * 2654435761u) & 0xffffffffu));
        res.set_header("X-Reqid", id);
        bool f = req.has_param("fail") && req.get_param_value("fail") == "1";
        res.status = f ? 503 : 200;
        res.set_content(json({{"ok", !f}, {"reqid", id}, {"traceparent", req.get_header_value("traceparent")}}).dump(), "application/json");
    });

    int port = cfg.port;
    if (port == 0) port = svr.bind_to_any_port(cfg.host.c_str());
    else if (!svr.bind_to_port(cfg.host.c_str(), port)) port = -1;
    if (port <= 0) {
        std::fprintf(stderr, "telltale-support-backend: cannot listen on %s:%d (in use, or not an address of this machine)\n", cfg.host.c_str(), cfg.port);
        return 1;
    }
    std::thread sig([&] {
        char b = 0;
        while (read(g_stop_pipe[0], &b, 1) < 0 && errno == EINTR) {
        }
        svr.stop();
    });
    std::string shown = cfg.host.find(':') != std::string::npos ? "[" + cfg.host + "]" : cfg.host;
    std::printf("telltale-support-backend: listening on http://%s:%d (database %s)\n", shown.c_str(), port, cfg.db.c_str());
    std::fflush(stdout);
    bool ok = svr.listen_after_bind();
    char b = 0;
    ssize_t n = write(g_stop_pipe[1], &b, 1);  // wake the stop thread when the server stopped by itself
    (void)n;
    sig.join();
    std::printf("telltale-support-backend: stopped\n");
    return ok ? 0 : 1;
}
