// The wrapper's problem reports (Client::report, export_report, report_status, notice,
// the tt_options version 4 setters, ReportOptions, before_send) against a real loopback
// support backend: cpp-httplib on 127.0.0.1 that takes POST /v1/reports (multipart).
#include <doctest/doctest.h>
#include <zstd.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <telltale/telltale.hpp>

#include "util.hpp"

using tt_test::catch_error;
using tt_test::Db;
using tt_test::TempDir;
using json = nlohmann::json;

namespace {

// One POST /v1/reports the receiver answered.
struct ReportPost {
    std::string report_header, content_type, auth;
    std::string manifest, logs;                                     // the parts, as received
    std::string manifest_type, logs_type, manifest_filename, logs_filename;
    std::vector<std::pair<std::string, std::string>> attachments;  // filename, content
    int status = 0;
};

// A loopback support backend: answers POST /v1/reports with status() (200 unless told
// otherwise) and {"report_id": ..., "notice": notice()}, and keeps what it got.
class ReportReceiver {
public:
    ReportReceiver() {
        srv_.Post("/v1/reports", [this](const httplib::Request &req, httplib::Response &res) {
            ReportPost p;
            p.report_header = req.get_header_value("X-Telltale-Report");
            p.content_type = req.get_header_value("Content-Type");
            p.auth = req.get_header_value("Authorization");
            for (const auto &[name, file] : req.files) {
                if (name == "manifest") {
                    p.manifest = file.content;
                    p.manifest_type = file.content_type;
                    p.manifest_filename = file.filename;
                } else if (name == "logs") {
                    p.logs = file.content;
                    p.logs_type = file.content_type;
                    p.logs_filename = file.filename;
                } else if (name == "attachment") {
                    p.attachments.emplace_back(file.filename, file.content);
                }
            }
            p.status = status_.load();
            res.status = p.status;
            std::string notice;
            {
                std::lock_guard<std::mutex> lk(mu_);
                notice = notice_;
            }
            if (p.status < 300)
                res.set_content(json{{"report_id", p.report_header}, {"notice", notice}}.dump(), "application/json");
            else
                res.set_content("{\"error\":\"injected\"}", "application/json");
            std::lock_guard<std::mutex> lk(mu_);
            posts_.push_back(std::move(p));
        });
        srv_.Get("/v1/status", [this](const httplib::Request &, httplib::Response &res) {
            std::lock_guard<std::mutex> lk(mu_);
            res.set_content(json{{"notice", notice_.empty() ? json(nullptr) : json(notice_)}}.dump(), "application/json");
        });
        port_ = srv_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { srv_.listen_after_bind(); });
        for (int i = 0; i < 500 && !srv_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ~ReportReceiver() {
        srv_.stop();
        thread_.join();
    }
    ReportReceiver(const ReportReceiver &) = delete;
    ReportReceiver &operator=(const ReportReceiver &) = delete;

    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    void set_status(int s) { status_ = s; }
    void set_notice(std::string n) {
        std::lock_guard<std::mutex> lk(mu_);
        notice_ = std::move(n);
    }
    std::vector<ReportPost> posts() {
        std::lock_guard<std::mutex> lk(mu_);
        return posts_;
    }

private:
    httplib::Server srv_;
    int port_ = 0;
    std::thread thread_;
    std::atomic<int> status_{200};
    std::mutex mu_;
    std::string notice_;
    std::vector<ReportPost> posts_;
};

telltale::Options report_opts(const std::string &path, const std::string &endpoint) {
    telltale::Options o = telltale::Options().db_path(path).app_name("cpp-report-test").app_version("5.0.1");
    if (!endpoint.empty()) o.endpoint(endpoint);
    return o.retry_base_ms(10).retry_max_ms(200).upload_timeout_ms(3000).upload_interval_ms(50);
}

// Poll the report until it leaves TT_REPORT_PENDING (or `ms` pass).
tt_report_state settle(const telltale::Client &c, const std::string &id, std::string *reason = nullptr, int ms = 20000) {
    tt_report_state st = TT_REPORT_PENDING;
    for (int waited = 0; waited < ms; waited += 20) {
        st = c.report_status(id, reason);
        if (st != TT_REPORT_PENDING) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return st;
}

std::string unzstd(const std::string &z) {
    unsigned long long n = ZSTD_getFrameContentSize(z.data(), z.size());
    if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN) return "not a zstd frame";
    std::string out(static_cast<size_t>(n), '\0');
    size_t got = ZSTD_decompress(&out[0], out.size(), z.data(), z.size());
    if (ZSTD_isError(got)) return "bad zstd frame";
    out.resize(got);
    return out;
}

bool is_uuid(const std::string &s) {
    if (s.size() != 36) return false;
    for (size_t i = 0; i < s.size(); ++i) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    return true;
}

std::pair<int, std::string> run(const std::string &cmd) {
    FILE *p = popen(cmd.c_str(), "r");
    std::string out;
    if (!p) return {-1, out};
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    return {pclose(p), out};
}

// A C before_send callback: counts its calls and vetoes every report.
struct VetoCount {
    std::atomic<int> calls{0};
    std::atomic<bool> manifest_seen{false};
};
int veto_all(void *data, tt_report_draft *draft) {
    auto *v = static_cast<VetoCount *>(data);
    v->manifest_seen = std::string(tt_report_draft_manifest(draft)).find("\"report_id\"") != std::string::npos;
    ++v->calls;
    return 1;
}

}  // namespace

TEST_CASE("Options: a setter for every tt_options version 4 field; before_send as a C function or a std::function") {
    VetoCount v;
    tt_options c = telltale::Options()
                       .report_flags(TT_REPORTS_OFF)
                       .max_pending_reports(7)
                       .before_send(veto_all, &v)
                       .c_options();
    CHECK(c.version == TT_OPTIONS_VERSION);
    CHECK(c.report_flags == TT_REPORTS_OFF);
    CHECK(c.max_pending_reports == 7);
    CHECK((c.before_send == &veto_all));
    CHECK(c.before_send_data == &v);

    telltale::Options o;
    o.before_send([](telltale::ReportDraft &) { return true; });
    tt_options f = o.c_options();
    CHECK((f.before_send != nullptr));
    CHECK((f.before_send != &veto_all));
    CHECK(f.before_send_data != nullptr);
    o.before_send(telltale::BeforeSend());  // an empty function: none
    CHECK((o.c_options().before_send == nullptr));
    CHECK(o.c_options().before_send_data == nullptr);

    tt_options d = telltale::Options().c_options();
    CHECK(d.report_flags == 0);
    CHECK(d.max_pending_reports == 0);
    CHECK((d.before_send == nullptr));
    CHECK(d.before_send_data == nullptr);

    // ReportOptions mirrors tt_report_options.
    std::vector<const char *> paths;
    telltale::ReportOptions ro;  // c_options() points into it: keep it alive
    ro.description("it broke")
        .contact("me@example.com")
        .window_s(600)
        .attach("a.log")
        .attach("b.png")
        .max_log_bytes(65536)
        .max_attachment_bytes(1000)
        .flags(TT_REPORT_NO_SCRUB);
    tt_report_options r = ro.c_options(paths);
    CHECK(r.version == TT_REPORT_OPTIONS_VERSION);
    CHECK(std::string(r.description) == "it broke");
    CHECK(std::string(r.contact) == "me@example.com");
    CHECK(r.window_s == 600);
    REQUIRE(r.attachment_count == 2);
    CHECK(std::string(r.attachments[0]) == "a.log");
    CHECK(std::string(r.attachments[1]) == "b.png");
    CHECK(r.max_log_bytes == 65536);
    CHECK(r.max_attachment_bytes == 1000);
    CHECK(r.flags == TT_REPORT_NO_SCRUB);
    telltale::ReportOptions none;
    tt_report_options e = none.c_options(paths);
    CHECK(e.description == nullptr);
    CHECK(e.contact == nullptr);
    CHECK(e.attachments == nullptr);
    CHECK(e.attachment_count == 0);
    CHECK(e.window_s == 0);
    CHECK(e.flags == 0);
}

TEST_CASE("report(): the id comes back at once; the report is delivered as multipart, keyed by its id; notice()") {
    ReportReceiver rx;
    rx.set_notice("Sync is down for some users; a fix is on its way.");
    TempDir dir;
    std::string path = dir.file("r.db");
    telltale::Client c(report_opts(path, rx.url()).auth_token("ingest-token"));
    CHECK(c.notice().empty());  // no report answered yet
    // The user opens the report screen: the app asks first, and can say "we know".
    CHECK(c.refresh_notice(std::chrono::seconds(10)) == "Sync is down for some users; a fix is on its way.");
    rx.set_notice("");
    CHECK(c.refresh_notice().empty());
    rx.set_notice("Sync is down for some users; a fix is on its way.");
    telltale::Error no_endpoint = catch_error([&] {
        telltale::Client offline(report_opts(dir.file("offline.db"), ""));
        offline.refresh_notice();
    });
    CHECK(no_endpoint.code() == TT_EINVAL);
    c.error("sync failed: HTTP 503 from {}", "api.example.com");
    c.info("user {} pressed Report a problem", "alice@example.com");
    {
        telltale::Request bad(c, "POST", "https://api.example.com/v1/sync");
        bad.header("X-Request-Id", "srv-503");
        bad.end(503);
    }

    auto t0 = std::chrono::steady_clock::now();
    std::string id = c.report("sync fails since this morning", "carol@example.net");
    MESSAGE("Client::report returned in "
            << std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count() << " us");
    CHECK(is_uuid(id));
    // In the buffer before the call returned.
    CHECK(Db(path).integer("SELECT count(*) FROM reports WHERE id='" + id + "'") == 1);

    std::string reason = "stale";
    CHECK(settle(c, id, &reason) == TT_REPORT_SENT);
    CHECK(reason.empty());
    CHECK(c.notice() == "Sync is down for some users; a fix is on its way.");
    CHECK(c.stats().reports_pending == 0);

    auto posts = rx.posts();
    REQUIRE(posts.size() == 1);
    const ReportPost &p = posts[0];
    CHECK(p.report_header == id);  // the idempotency key
    CHECK(p.content_type.rfind("multipart/form-data; boundary=", 0) == 0);
    CHECK(p.auth == "Bearer ingest-token");
    CHECK(p.manifest_type == "application/json");
    CHECK(p.manifest_filename == "manifest.json");
    CHECK(p.logs_type == "application/zstd");
    CHECK(p.logs_filename == "logs.ndjson.zst");
    CHECK(p.attachments.empty());

    json m = json::parse(p.manifest);
    CHECK(m["report_id"] == id);
    CHECK(m["automatic"] == false);
    CHECK(m["app"]["name"] == "cpp-report-test");
    CHECK(m["app"]["version"] == "5.0.1");
    CHECK(m["library"]["version"] == TT_VERSION_STRING);
    CHECK(m["user"]["description"] == "sync fails since this morning");
    CHECK(m["user"]["contact"] == "carol@example.net");
    CHECK(m["install_id"] == Db(path).text("SELECT value FROM meta WHERE key='install_id'"));
    CHECK(m["consent"] == "unknown");  // reports go whatever the usage-data consent
    CHECK(m["window"]["seconds"] == 1800);
    REQUIRE(m["requests"].size() == 1);
    CHECK(m["requests"][0]["class"] == "server");
    CHECK(m["requests"][0]["server_ids"]["x-request-id"] == "srv-503");
    REQUIRE(m["errors"].size() == 1);
    CHECK(m["errors"][0]["fingerprint"] == "sync failed: HTTP <n> from api.example.com");
    CHECK(m["network_check"]["targets"][0]["ok"] == true);
    CHECK(m["summary"] == "1 failed request (1 on the server side)");

    std::string logs = unzstd(p.logs);
    size_t lines = 0;
    std::istringstream in(logs);
    for (std::string line; std::getline(in, line); ++lines) CHECK(json::accept(line));
    CHECK(lines == m["logs"]["events"]);
    CHECK(logs.find("sync failed: HTTP 503") != std::string::npos);
    CHECK(logs.find("alice@example.com") == std::string::npos);  // scrubbed
    CHECK(logs.find("user [email] pressed Report a problem") != std::string::npos);
}

TEST_CASE("export_report(): a plain tar of manifest.json and logs.ndjson.zst that tar, zstd and jq read") {
    TempDir dir;
    telltale::Client c(report_opts(dir.file("x.db"), ""));  // no endpoint: nothing is ever sent
    for (int i = 0; i < 25; ++i) c.info("event {}", i);
    std::string notes = dir.file("notes.txt");
    std::ofstream(notes) << "user notes";
    std::string tar = dir.file("report.tar");
    std::string id = c.export_report(tar, "exported offline", "", {notes});
    CHECK(is_uuid(id));
    CHECK(c.report_status(id) == TT_REPORT_SENT);  // exported: the user's to hand over

    // The shell example of docs/reports.md#export, command for command.
    const char *doc_example =
        "tar -tf report.tar"
        " && mkdir report && tar -xf report.tar -C report"
        " && jq -r '.report_id, .user.description, .logs.events' report/manifest.json"
        " && zstd -dc report/logs.ndjson.zst | jq -r '[.time, .level, .message] | @tsv'";
    auto x = run("cd " + dir.path().string() + " && " + doc_example);
    CHECK(x.first == 0);
    std::string head = "manifest.json\nlogs.ndjson.zst\nattachments/notes.txt\n" + id + "\nexported offline\n25\n";
    REQUIRE(x.second.substr(0, head.size()) == head);
    std::vector<std::string> lines;
    std::istringstream rest(x.second.substr(head.size()));
    for (std::string line; std::getline(rest, line);) lines.push_back(line);
    REQUIRE(lines.size() == 25);
    CHECK(lines.front().size() == 30 + std::string("\tINFO\tevent 0").size());  // 2026-11-29T11:40:02.113920446Z
    CHECK(lines.front().substr(30) == "\tINFO\tevent 0");
    CHECK(lines.back().substr(30) == "\tINFO\tevent 24");

    // The ReportOptions form, with a window and a log cap.
    telltale::FiledReport f = c.export_report(dir.file("r2.tar"), telltale::ReportOptions().window_s(60).max_log_bytes(4096));
    CHECK(f.complete());
    CHECK(is_uuid(f.id));
    CHECK(f.id != id);

    telltale::Error e = catch_error([&] { c.export_report("/proc/no/such/dir/r.tar"); });
    CHECK(e.code() == TT_EIO);
    CHECK(e.doc() == "docs/errors.md#eio");
    CHECK(e.message().rfind("tt_report_export: cannot write \"/proc/no/such/dir/r.tar\": ", 0) == 0);
    CHECK(e.hint() == "pass a path in a directory the app can write to");
}

TEST_CASE("an attachment left out: the id comes back with the note, and the report goes without it") {
    ReportReceiver rx;
    TempDir dir;
    telltale::Client c(report_opts(dir.file("a.db"), rx.url()));
    std::string big = dir.file("big.log"), small = dir.file("small.txt");
    std::ofstream(big) << std::string(200000, 'b');
    std::ofstream(small) << "ok";

    telltale::FiledReport f =
        c.report(telltale::ReportOptions().description("with files").attach(big).attach(small).max_attachment_bytes(100000));
    REQUIRE(is_uuid(f.id));
    CHECK(!f.complete());
    REQUIRE(f.left_out.has_value());
    CHECK(f.left_out->code() == TT_ELIMIT);
    CHECK(f.left_out->doc() == "docs/errors.md#elimit");
    CHECK(f.left_out->message() == "tt_report_submit: report " + f.id + " was filed without 1 attachment(s): " + big +
                                       ": 200000 bytes, over the 100000 byte cap for one attachment");
    CHECK(f.left_out->hint() == "the rest of the report goes as usual; attach files under 100000 bytes, or raise max_attachment_bytes");
    CHECK(settle(c, f.id) == TT_REPORT_SENT);
    auto posts = rx.posts();
    REQUIRE(posts.size() == 1);
    REQUIRE(posts[0].attachments.size() == 1);
    CHECK(posts[0].attachments[0] == std::make_pair(std::string("small.txt"), std::string("ok")));
    json m = json::parse(posts[0].manifest);
    REQUIRE(m["attachments"].size() == 1);
    CHECK(m["attachments"][0] == json{{"name", "small.txt"}, {"bytes", 2}});
    REQUIRE(m["attachments_skipped"].size() == 1);
    CHECK(m["attachments_skipped"][0].get<std::string>().find("big.log: 200000 bytes") != std::string::npos);

    // The short form: over the default 1 MiB cap, the id still comes back, no exception.
    std::string huge = dir.file("huge.bin");
    std::ofstream(huge) << std::string((1u << 20) + 1, 'h');
    std::string id;
    CHECK_NOTHROW(id = c.report("with a huge file", "", {huge}));
    CHECK(is_uuid(id));
    CHECK(settle(c, id) == TT_REPORT_SENT);

    // A file that cannot be read: TT_EIO, filed all the same.
    telltale::FiledReport g = c.report(telltale::ReportOptions().attach(dir.file("missing.txt")));
    REQUIRE(is_uuid(g.id));
    REQUIRE(g.left_out.has_value());
    CHECK(g.left_out->code() == TT_EIO);
    CHECK(g.left_out->message().find("missing.txt: cannot be read (No such file or directory)") != std::string::npos);
    CHECK(g.left_out->hint() == "the rest of the report goes as usual; check the attachment paths");
    CHECK(settle(c, g.id) == TT_REPORT_SENT);

    // An export leaves them out the same way.
    telltale::FiledReport x = c.export_report(dir.file("x.tar"), telltale::ReportOptions().attach(big).max_attachment_bytes(10));
    CHECK(is_uuid(x.id));
    REQUIRE(x.left_out.has_value());
    CHECK(x.left_out->code() == TT_ELIMIT);
    CHECK(x.left_out->message().rfind("tt_report_export: report " + x.id + " was filed without 1 attachment(s)", 0) == 0);
    CHECK(run("tar -tf " + dir.file("x.tar")).second == "manifest.json\nlogs.ndjson.zst\n");
}

TEST_CASE("before_send: a veto marks the report failed with the reason; an edit is what support gets") {
    ReportReceiver rx;
    TempDir dir;

    SUBCASE("a C callback vetoes") {
        VetoCount v;
        telltale::Client c(report_opts(dir.file("v.db"), rx.url()).before_send(veto_all, &v));
        std::string id = c.report("please do not send");
        std::string reason;
        CHECK(settle(c, id, &reason) == TT_REPORT_FAILED);
        CHECK(reason == "vetoed by the app's before_send callback");
        CHECK(v.calls == 1);
        CHECK(v.manifest_seen);
        CHECK(c.report_status(id) == TT_REPORT_FAILED);  // without the out-parameter
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        CHECK(rx.posts().empty());
        CHECK(c.stats().reports_pending == 0);
    }

    SUBCASE("a std::function edits the manifest; the Client keeps it alive") {
        auto calls = std::make_shared<std::atomic<int>>(0);
        auto thread = std::make_shared<std::thread::id>();
        // The Options are a temporary: the Client keeps the callable.
        telltale::Client c(report_opts(dir.file("e.db"), rx.url()).before_send([calls, thread](telltale::ReportDraft &d) {
            json m = json::parse(d.manifest());
            m.erase("local_addresses");
            m["app_build"] = "1234";
            d.set_manifest(m.dump());
            *thread = std::this_thread::get_id();
            ++*calls;
            return true;
        }));
        std::string id = c.report("edited");
        CHECK(settle(c, id) == TT_REPORT_SENT);
        CHECK(*calls == 1);
        CHECK(*thread != std::this_thread::get_id());  // the library's report thread
        auto posts = rx.posts();
        REQUIRE(posts.size() == 1);
        json m = json::parse(posts[0].manifest);
        CHECK(m["app_build"] == "1234");
        CHECK(!m.contains("local_addresses"));
        CHECK(m["report_id"] == id);
    }

    SUBCASE("a std::function that returns false, or throws, vetoes") {
        std::atomic<int> n{0};
        telltale::Client c(report_opts(dir.file("f.db"), rx.url()).before_send([&n](telltale::ReportDraft &d) -> bool {
            if (n++ == 0) return false;
            d.set_manifest("[1, 2]");  // not an object: throws TT_EINVAL, which vetoes
            return true;
        }));
        std::string a = c.report("vetoed by false");
        std::string reason;
        CHECK(settle(c, a, &reason) == TT_REPORT_FAILED);
        CHECK(reason == "vetoed by the app's before_send callback");
        std::string b = c.report("vetoed by an exception");
        CHECK(settle(c, b, &reason) == TT_REPORT_FAILED);
        CHECK(reason == "vetoed by the app's before_send callback");
        CHECK(n == 2);
        CHECK(rx.posts().empty());
    }

    SUBCASE("set_manifest refuses what is not a JSON object, and the manifest stays") {
        std::string what, after;
        telltale::Client c(report_opts(dir.file("s.db"), rx.url()).before_send([&](telltale::ReportDraft &d) {
            try {
                d.set_manifest("not json");
            } catch (const telltale::Error &e) {
                what = std::string(e.name()) + " " + e.message() + " / " + e.hint();
            }
            after = std::string(d.manifest());
            return true;
        }));
        std::string id = c.report("kept");
        CHECK(settle(c, id) == TT_REPORT_SENT);
        CHECK(what == "TT_EINVAL tt_report_draft_set_manifest: the manifest must be a JSON object / pass the edited manifest, still a {...} object");
        CHECK(json::parse(after)["report_id"] == id);
    }
}

TEST_CASE("delivery: retried on 503, failed with the reason on another 4xx") {
    ReportReceiver rx;
    TempDir dir;
    telltale::Client c(report_opts(dir.file("d.db"), rx.url()));

    rx.set_status(503);
    std::string id = c.report("retried");
    for (int i = 0; i < 500 && rx.posts().size() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(rx.posts().size() >= 2);  // answered 503 and tried again
    CHECK(c.report_status(id) == TT_REPORT_PENDING);
    rx.set_status(200);
    telltale::network_changed();
    CHECK(settle(c, id) == TT_REPORT_SENT);
    for (auto &p : rx.posts()) CHECK(p.report_header == id);  // every attempt under the same id

    rx.set_status(400);
    std::string refused = c.report("refused");
    std::string reason;
    CHECK(settle(c, refused, &reason) == TT_REPORT_FAILED);
    CHECK(reason == "the support backend refused it: HTTP 400: {\"error\":\"injected\"}");
}

TEST_CASE("the queue cap: the oldest waiting report is dropped and says so") {
    TempDir dir;
    // No endpoint: reports wait (and can be exported), nothing is sent.
    telltale::Client c(report_opts(dir.file("q.db"), "").max_pending_reports(2));
    // One at a time: each is assembled before the next is filed. (A report dropped while
    // its assembly is still running is not what this test is about.)
    auto filed_and_assembled = [&](const char *what) {
        std::string id = c.report(what);
        Db db(dir.file("q.db"));
        for (int i = 0; i < 1000 && db.text("SELECT state FROM reports WHERE id='" + id + "'") != "pending"; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return id;
    };
    std::string a = filed_and_assembled("first");
    std::string b = filed_and_assembled("second");
    std::string d = c.report("third");
    std::string reason;
    CHECK(c.report_status(a, &reason) == TT_REPORT_FAILED);
    CHECK(reason == "dropped: more than 2 reports were waiting to be sent");
    CHECK(c.report_status(b, &reason) == TT_REPORT_PENDING);
    CHECK(reason.empty());
    CHECK(c.report_status(d) == TT_REPORT_PENDING);
    CHECK(c.stats().reports_pending == 2);
    CHECK(Db(dir.file("q.db")).integer("SELECT count(*) FROM report_parts WHERE report='" + a + "'") == 0);
}

TEST_CASE("refusals throw: automatic reports too soon, reports off, unknown ids, a closed Client") {
    TempDir dir;

    SUBCASE("automatic reports are rate-limited; user reports are not") {
        telltale::Client c(report_opts(dir.file("auto.db"), ""));
        std::string first = c.report("crash loop", "", {}, TT_REPORT_AUTOMATIC);
        CHECK(is_uuid(first));
        telltale::Error e = catch_error([&] { c.report("crash loop again", "", {}, TT_REPORT_AUTOMATIC); });
        CHECK(e.code() == TT_ELIMIT);
        CHECK(e.message() == "tt_report_submit: an automatic report was filed less than 600 s ago; this one was not filed");
        CHECK(e.hint() == "automatic reports are rate-limited so a crash loop does not flood support; user reports are not");
        CHECK(is_uuid(c.report("the user presses the button")));
        CHECK(Db(dir.file("auto.db")).integer("SELECT count(*) FROM reports") == 2);
    }

    SUBCASE("TT_REPORTS_OFF: report() is TT_EMISUSE; export_report() still works") {
        telltale::Client c(report_opts(dir.file("off.db"), "").report_flags(TT_REPORTS_OFF));
        telltale::Error e = catch_error([&] { c.report("anything"); });
        CHECK(e.code() == TT_EMISUSE);
        CHECK(e.message() == "tt_report_submit: this app turned reports off (TT_REPORTS_OFF)");
        CHECK(e.hint() == "remove TT_REPORTS_OFF from opts.report_flags to offer \"Report a problem\"");
        CHECK(is_uuid(c.export_report(dir.file("off.tar"))));
    }

    SUBCASE("an id this buffer does not know: TT_ENOTFOUND") {
        telltale::Client c(report_opts(dir.file("nf.db"), ""));
        telltale::Error e = catch_error([&] { c.report_status("123e4567-e89b-42d3-a456-426614174000"); });
        CHECK(e.code() == TT_ENOTFOUND);
        CHECK(e.doc() == "docs/errors.md#enotfound");
        CHECK(e.message() == "tt_report_status: no report \"123e4567-e89b-42d3-a456-426614174000\" in this buffer");
        CHECK(e.hint() == "pass an id that tt_report_submit returned on this device (with the same db_path)");
    }

    SUBCASE("a closed or moved-from Client: TT_EMISUSE") {
        telltale::Client c(report_opts(dir.file("closed.db"), ""));
        std::string id = c.report("before close");
        telltale::Client moved = std::move(c);
        CHECK(catch_error([&] { c.report("x"); }).message() ==
              "telltale::Client::report: this Client was moved from; it no longer owns a telltale client");
        CHECK(moved.report_status(id) == TT_REPORT_PENDING);
        moved.close();
        CHECK(catch_error([&] { moved.report("x"); }).message() == "telltale::Client::report: the client was already closed with close()");
        CHECK(catch_error([&] { moved.report(telltale::ReportOptions()); }).code() == TT_EMISUSE);
        CHECK(catch_error([&] { moved.export_report("x.tar"); }).message() ==
              "telltale::Client::export_report: the client was already closed with close()");
        CHECK(catch_error([&] { moved.report_status(id); }).message() ==
              "telltale::Client::report_status: the client was already closed with close()");
        CHECK(catch_error([&] { moved.notice(); }).message() == "telltale::Client::notice: the client was already closed with close()");
    }

    SUBCASE("the report survives a restart and is found again") {
        std::string id;
        {
            telltale::Client c(report_opts(dir.file("again.db"), ""));
            id = c.report("filed before a restart");
        }
        telltale::Client c(report_opts(dir.file("again.db"), ""));
        CHECK(c.report_status(id) == TT_REPORT_PENDING);
    }
}
