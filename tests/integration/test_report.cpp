// One-call problem reports: filed at once (also offline), delivered exactly once,
// survive SIGKILL, carry true facts, scrub secrets, cap attachments, export to a tar
// that stock tools read.
#include <doctest/doctest.h>

#include <ifaddrs.h>
#include <net/if.h>
#include <arpa/inet.h>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <mutex>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include "otlp_server.hpp"
#include "util.hpp"

using namespace tt_test;
using json = nlohmann::json;

namespace {

tt_options report_opts(const std::string &endpoint) {
    tt_options o = TT_OPTIONS_INIT;
    o.endpoint = endpoint.empty() ? nullptr : endpoint.c_str();
    o.retry_base_ms = 10;
    o.retry_max_ms = 200;
    o.upload_timeout_ms = 2000;
    o.upload_interval_ms = 50;
    return o;
}

// The parts of a multipart body, by field name.
std::map<std::string, std::string> multipart(const std::string &body) {
    std::map<std::string, std::string> parts;
    auto eol = body.find("\r\n");
    std::string boundary = body.substr(0, eol);
    size_t at = 0;
    while ((at = body.find(boundary, at)) != std::string::npos) {
        at += boundary.size();
        if (body.compare(at, 2, "--") == 0) break;
        size_t head_end = body.find("\r\n\r\n", at);
        std::string head = body.substr(at, head_end - at);
        auto n = head.find("name=\"");
        std::string name = head.substr(n + 6, head.find('"', n + 6) - n - 6);
        auto f = head.find("filename=\"");
        if (name == "attachment" && f != std::string::npos) name = "attachment:" + head.substr(f + 10, head.find('"', f + 10) - f - 10);
        size_t next = body.find("\r\n" + boundary, head_end);
        parts[name] = body.substr(head_end + 4, next - head_end - 4);
        at = next;
    }
    return parts;
}

std::string unzstd(const std::string &z) { return decode_body("zstd", z); }

tt_report_state wait_state(tt_client *c, const char *id, tt_report_state want, int ms) {
    tt_report_state st = TT_REPORT_PENDING;
    for (int waited = 0; waited < ms; waited += 20) {
        REQUIRE(tt_report_status(c, id, &st) == TT_OK);
        if (st == want) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return st;
}

std::set<std::string> report_ids(OtlpServer &srv) {
    std::set<std::string> ids;
    for (auto &r : srv.accepted())
        if (r.path == "/v1/reports") ids.insert(json::parse(multipart(r.raw)["manifest"])["report_id"].get<std::string>());
    return ids;
}

}  // namespace

TEST_CASE("submit while the server is down: the id comes back at once; when it is up, delivered exactly once") {
    int port;
    {
        OtlpServer probe;
        port = probe.port();
    }
    TempDir d;
    std::string db = d.file("a.db"), ep = "http://127.0.0.1:" + std::to_string(port);
    tt_client *c = open_client(db, report_opts(ep));
    REQUIRE(c);
    tt_log(c, TT_ERROR, "sync failed");
    char id[TT_REPORT_ID_SIZE];
    tt_report_options ro = TT_REPORT_OPTIONS_INIT;
    ro.description = "upload fails";
    auto t0 = std::chrono::steady_clock::now();
    REQUIRE(tt_report_submit(c, &ro, id) == TT_OK);
    MESSAGE("tt_report_submit returned in "
            << std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count() << " us");
    CHECK(std::strlen(id) == 36);
    // Persisted before the call returned: another connection sees it.
    CHECK(sql_int(db, std::string("SELECT count(*) FROM reports WHERE id='") + id + "'") == 1);
    tt_report_state st;
    REQUIRE(tt_report_status(c, id, &st) == TT_OK);
    CHECK(st == TT_REPORT_PENDING);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    REQUIRE(tt_report_status(c, id, &st) == TT_OK);
    CHECK(st == TT_REPORT_PENDING);  // offline: still queued

    // The server comes up, and the first answer is lost after it stored the report.
    OtlpServer srv(port);
    REQUIRE(srv.ok());
    srv.set_plan([](int n, const std::string &, const std::string &) {
        Plan p;
        if (n == 0) p.fault = Fault::kStoreThenReset;
        return p;
    });
    tt_network_changed();
    CHECK(wait_state(c, id, TT_REPORT_SENT, 20000) == TT_REPORT_SENT);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    // Sent twice on the wire (the retry), one report for the backend: same id, which is the key.
    CHECK(report_ids(srv) == std::set<std::string>{id});
    CHECK(srv.accepted().size() == 2);
    CHECK(tt_report_status(nullptr, id, &st) == TT_EMISUSE);
}

TEST_CASE("a 2xx that is not JSON (a proxy's OK, an empty 204) counts as delivered, once") {
    OtlpServer srv;
    srv.set_plan([](int, const std::string &, const std::string &) {
        Plan p;
        p.fault = Fault::kStatus;
        p.status = 200;
        p.body = "OK";  // not JSON
        return p;
    });
    TempDir d;
    std::string db = d.file("a.db"), ep = srv.url();
    tt_client *c = open_client(db, report_opts(ep));
    char id[TT_REPORT_ID_SIZE];
    REQUIRE(tt_report_submit(c, nullptr, id) == TT_OK);
    CHECK(wait_state(c, id, TT_REPORT_SENT, 20000) == TT_REPORT_SENT);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    REQUIRE(tt_close(c, 10000) == TT_OK);
    CHECK(srv.requests() == 1);
    CHECK(std::string(tt_notice_get(nullptr)).empty());
}

TEST_CASE("SIGKILL right after submit: delivered after the restart") {
    OtlpServer srv;
    srv.set_plan([](int, const std::string &, const std::string &) {  // nothing gets through while the child lives
        Plan p;
        p.fault = Fault::kStatus;
        p.status = 503;
        return p;
    });
    TempDir d;
    std::string db = d.file("a.db"), ep = srv.url();
    std::string id;
    {
        Child child({"report", db, ep});
        id = child.line();
        REQUIRE(id.size() == 36);
        child.kill9();
    }
    srv.set_plan(nullptr);
    tt_client *c = open_client(db, report_opts(ep));
    REQUIRE(c);
    CHECK(wait_state(c, id.c_str(), TT_REPORT_SENT, 20000) == TT_REPORT_SENT);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    CHECK(report_ids(srv).count(id) == 1);
}

TEST_CASE("the manifest tells the truth: addresses, requests and their ids, errors, counters; secrets scrubbed") {
    OtlpServer srv;
    TempDir d;
    std::string db = d.file("a.db"), ep = srv.url();
    tt_options o = report_opts(ep);
    o.app_version = "3.1.4";
    tt_client *c = open_client(db, o);
    REQUIRE(c);
    // Planted secrets.
    tt_log(c, TT_ERROR, "login failed for alice@example.com with password=hunter2");
    tt_log(c, TT_ERROR, "login failed for bob@example.org with password=swordfish");
    tt_attr a[3] = {{"authorization", "Bearer abcdef123456"}, {"url", "https://bob:pw123@api.example.com/x?token=t0ps3cret&page=2"},
                    {"note", "Cookie: session=xyz; other=1"}};
    tt_log_attrs(c, TT_WARN, "request with header Authorization: Bearer eyJhbGciOi.secret.sig", a, 3);
    tt_request *r = nullptr;
    REQUIRE(tt_request_begin(&r, c, "GET", "https://api.example.com/v1/sync") == TT_OK);
    std::string trace = std::string(tt_request_traceparent(r)).substr(3, 32);
    tt_request_header(r, "X-Reqid", "srv-req-42");
    REQUIRE(tt_request_end(r, 502, nullptr) == TT_OK);
    REQUIRE(tt_request_begin(&r, c, "GET", "https://cdn.example.com/img") == TT_OK);
    REQUIRE(tt_request_end(r, 0, "Could not resolve host: cdn.example.com (CURLE 6)") == TT_OK);
    // An attachment, as it is at the press of the button.
    std::string att = d.file("settings.json");
    std::ofstream(att) << "{\"theme\":\"dark\"}";
    const char *atts[1] = {att.c_str()};
    tt_report_options ro = TT_REPORT_OPTIONS_INIT;
    ro.description = "sync fails since this morning";
    ro.contact = "carol@example.net";
    ro.attachments = atts;
    ro.attachment_count = 1;
    char id[TT_REPORT_ID_SIZE];
    REQUIRE(tt_report_submit(c, &ro, id) == TT_OK);
    std::ofstream(att) << "changed after the press";
    CHECK(wait_state(c, id, TT_REPORT_SENT, 20000) == TT_REPORT_SENT);
    REQUIRE(tt_close(c, 10000) == TT_OK);

    REQUIRE(srv.accepted().size() == 1);
    auto parts = multipart(srv.accepted()[0].raw);
    json m = json::parse(parts["manifest"]);
    CHECK(m["report_id"] == id);
    CHECK(m["app"]["version"] == "3.1.4");
    CHECK(m["library"]["version"] == TT_VERSION_STRING);
    CHECK(m["install_id"].get<std::string>().size() == 36);
    CHECK(m["user"]["contact"] == "carol@example.net");  // the user's own words are not scrubbed
    CHECK(!m["device"]["kernel"].get<std::string>().empty());
    // Local addresses equal getifaddrs.
    std::set<std::string> mine, theirs;
    struct ifaddrs *list = nullptr;
    getifaddrs(&list);
    for (auto *i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || !(i->ifa_flags & IFF_UP)) continue;
        char buf[INET6_ADDRSTRLEN] = {};
        if (i->ifa_addr->sa_family == AF_INET) inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in *>(i->ifa_addr)->sin_addr, buf, sizeof buf);
        else if (i->ifa_addr->sa_family == AF_INET6) inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6 *>(i->ifa_addr)->sin6_addr, buf, sizeof buf);
        else continue;
        mine.insert(buf);
    }
    freeifaddrs(list);
    for (auto &x : m["local_addresses"]) theirs.insert(x["address"].get<std::string>());
    CHECK(mine == theirs);
    CHECK(theirs.count("127.0.0.1") == 1);
    // Requests, with the ids recorded, classified.
    REQUIRE(m["requests"].size() == 2);
    json bad_gateway = m["requests"][1], dns = m["requests"][0];
    CHECK(bad_gateway["trace_id"] == trace);
    CHECK(bad_gateway["server_ids"]["x-reqid"] == "srv-req-42");
    CHECK(bad_gateway["class"] == "server");
    CHECK(dns["class"] == "client_network");
    CHECK(bad_gateway["scheme"] == "https");
    CHECK(bad_gateway["port"].is_null());  // the URL gave none
    CHECK(std::stoull(bad_gateway["time_unix_nano"].get<std::string>()) <= std::stoull(dns["time_unix_nano"].get<std::string>()));
    // Errors grouped by fingerprint: the two login failures are one problem.
    REQUIRE(m["errors"].size() == 1);
    CHECK(m["errors"][0]["count"] == 2);
    CHECK(m["network_check"]["targets"][0]["ok"] == true);
    CHECK(m["attachments"][0]["name"] == "settings.json");
    CHECK(parts["attachment:settings.json"] == "{\"theme\":\"dark\"}");
    // Logs: NDJSON in zstd, secrets gone.
    std::string logs = unzstd(parts["logs"]);
    REQUIRE(!logs.empty());
    for (const char *secret : {"alice@example.com", "hunter2", "swordfish", "abcdef123456", "pw123", "t0ps3cret", "eyJhbGciOi", "xyz"})
        CHECK_MESSAGE(logs.find(secret) == std::string::npos, secret);
    CHECK(logs.find("page=2") != std::string::npos);  // what is not a secret stays
    size_t lines = 0;
    for (size_t at = 0; (at = logs.find('\n', at)) != std::string::npos; ++at) ++lines;
    CHECK(lines == m["logs"]["events"]);
    std::istringstream in(logs);
    for (std::string line; std::getline(in, line);) CHECK(json::accept(line));
    CHECK(parts["manifest"].find("hunter2") == std::string::npos);
}

TEST_CASE("an oversized attachment: TT_ELIMIT, and the rest of the report is filed") {
    TempDir d;
    std::string db = d.file("a.db");
    tt_client *c = open_client(db, report_opts(""));
    REQUIRE(c);
    std::string big = d.file("big.log"), small = d.file("small.txt");
    std::ofstream(big) << std::string(200000, 'b');
    std::ofstream(small) << "ok";
    const char *atts[2] = {big.c_str(), small.c_str()};
    tt_report_options ro = TT_REPORT_OPTIONS_INIT;
    ro.attachments = atts;
    ro.attachment_count = 2;
    ro.max_attachment_bytes = 100000;
    char id[TT_REPORT_ID_SIZE];
    CHECK(tt_report_submit(c, &ro, id) == TT_ELIMIT);
    const tt_error *e = tt_error_last();
    INFO(e->message);
    CHECK(std::string(e->message).find("big.log") != std::string::npos);
    CHECK(std::string(e->message).find("100000") != std::string::npos);
    CHECK(std::string(e->hint).find("rest of the report") != std::string::npos);
    REQUIRE(std::strlen(id) == 36);
    tt_report_state st;
    REQUIRE(tt_report_status(c, id, &st) == TT_OK);
    CHECK(st == TT_REPORT_PENDING);
    CHECK(sql_int(db, std::string("SELECT count(*) FROM report_parts WHERE report='") + id + "' AND name='attachments/small.txt'") == 1);
    CHECK(sql_int(db, std::string("SELECT count(*) FROM report_parts WHERE report='") + id + "' AND name='attachments/big.log'") == 0);
    // Bad arguments.
    CHECK(tt_report_submit(c, &ro, nullptr) == TT_EINVAL);
    CHECK(tt_report_status(c, "no-such-report", &st) == TT_ENOTFOUND);
    ro.attachments = nullptr;
    CHECK(tt_report_submit(c, &ro, id) == TT_EINVAL);
    // Automatic reports are rate-limited; user reports are not.
    tt_report_options au = TT_REPORT_OPTIONS_INIT;
    au.flags = TT_REPORT_AUTOMATIC;
    CHECK(tt_report_submit(c, &au, id) == TT_OK);
    CHECK(tt_report_submit(c, &au, id) == TT_ELIMIT);
    CHECK(std::string(id).empty());
    CHECK(tt_report_submit(c, nullptr, id) == TT_OK);
    REQUIRE(tt_close(c, 10000) == TT_OK);
}

TEST_CASE("export round trip with stock tar, zstd and jq") {
    TempDir d;
    std::string db = d.file("a.db");
    tt_client *c = open_client(db, report_opts(""));
    REQUIRE(c);
    for (int i = 0; i < 100; ++i) tt_log(c, TT_INFO, ("event " + std::to_string(i)).c_str());
    std::string att = d.file("notes.txt");
    std::ofstream(att) << "user notes";
    const char *atts[1] = {att.c_str()};
    tt_report_options ro = TT_REPORT_OPTIONS_INIT;
    ro.description = "exported offline";
    ro.attachments = atts;
    ro.attachment_count = 1;
    char id[TT_REPORT_ID_SIZE];
    std::string tarfile = d.file("report.tar");
    REQUIRE(tt_report_export(c, &ro, tarfile.c_str(), id) == TT_OK);
    tt_report_state st;
    REQUIRE(tt_report_status(c, id, &st) == TT_OK);
    CHECK(st == TT_REPORT_SENT);
    std::string exported = id;
    CHECK(tt_report_export(c, &ro, "/proc/no/such/dir/r.tar", id) == TT_EIO);
    REQUIRE(tt_close(c, 10000) == TT_OK);

    auto run = [](const std::string &cmd) {
        FILE *p = popen(cmd.c_str(), "r");
        std::string out;
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
        int rc = pclose(p);
        return std::make_pair(rc, out);
    };
    auto list = run("tar -tf " + tarfile);
    CHECK(list.first == 0);
    CHECK(list.second == "manifest.json\nlogs.ndjson.zst\nattachments/notes.txt\n");
    auto x = run("cd " + d.path + " && tar -xf report.tar && zstd -d -q -c logs.ndjson.zst | wc -l && jq -r .report_id manifest.json && jq -r .user.description manifest.json && cat attachments/notes.txt");
    CHECK(x.first == 0);
    CHECK(x.second == "100\n" + exported + "\nexported offline\nuser notes");
}

namespace {
int veto_every_report(void *calls, tt_report_draft *) {
    ++*static_cast<int *>(calls);
    return 1;
}
}  // namespace

TEST_CASE("an export that is vetoed or cannot be written leaves nothing behind") {
    TempDir d;
    std::string db = d.file("a.db");
    int calls = 0;
    tt_options o = report_opts("");
    o.before_send = veto_every_report;
    o.before_send_data = &calls;
    tt_client *c = open_client(db, o);
    REQUIRE(c);
    tt_log(c, TT_INFO, "something to report");
    char id[TT_REPORT_ID_SIZE] = "stale";
    std::string tarfile = d.file("vetoed.tar");
    CHECK(tt_report_export(c, nullptr, tarfile.c_str(), id) == TT_ECANCELED);
    CHECK(calls == 1);
    CHECK(std::string(id).empty());
    const tt_error *e = tt_error_last();
    CHECK(std::string(e->message).find("before_send callback vetoed") != std::string::npos);
    CHECK(std::string(e->doc) == "docs/errors.md#ecanceled");
    CHECK(access(tarfile.c_str(), F_OK) != 0);
    CHECK(access((tarfile + ".tmp").c_str(), F_OK) != 0);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    CHECK(sql_int(db, "SELECT count(*) FROM reports") == 0);
    CHECK(sql_int(db, "SELECT count(*) FROM report_parts") == 0);

    // Unwritable: TT_EIO, no id, no row (nothing may claim "sent" for a file that is not there).
    c = open_client(db, report_opts(""));
    REQUIRE(c);
    CHECK(tt_report_export(c, nullptr, "/proc/no/such/dir/r.tar", id) == TT_EIO);
    CHECK(std::string(id).empty());
    CHECK(std::string(tt_error_last()->message).find("cannot write \"/proc/no/such/dir/r.tar\"") != std::string::npos);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    CHECK(sql_int(db, "SELECT count(*) FROM reports") == 0);
    CHECK(sql_int(db, "SELECT count(*) FROM report_parts") == 0);
}

TEST_CASE("the automatic-report rate limit holds across restarts (a crash loop)") {
    TempDir d;
    std::string db = d.file("a.db");
    tt_report_options au = TT_REPORT_OPTIONS_INIT;
    au.flags = TT_REPORT_AUTOMATIC;
    char id[TT_REPORT_ID_SIZE];
    tt_client *c = open_client(db, report_opts(""));
    REQUIRE(c);
    CHECK(tt_report_submit(c, &au, id) == TT_OK);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    c = open_client(db, report_opts(""));  // the process "crashed" and started again
    REQUIRE(c);
    CHECK(tt_report_submit(c, &au, id) == TT_ELIMIT);
    CHECK(std::string(id).empty());
    CHECK(tt_report_submit(c, nullptr, id) == TT_OK);  // the user's own report is never limited
    REQUIRE(tt_close(c, 10000) == TT_OK);
    CHECK(sql_int(db, "SELECT count(*) FROM reports WHERE automatic=1") == 1);
}

TEST_CASE("the queue cap holds for reports dropped while they were being assembled") {
    TempDir d;
    std::string db = d.file("a.db");
    tt_options o = report_opts("");
    o.max_pending_reports = 2;
    tt_client *c = open_client(db, o);
    REQUIRE(c);
    for (int i = 0; i < 2000; ++i) tt_log(c, TT_INFO, "filler so that each assembly takes a while");
    char id[TT_REPORT_ID_SIZE];
    std::vector<std::string> ids;
    for (int i = 0; i < 6; ++i) {
        REQUIRE(tt_report_submit(c, nullptr, id) == TT_OK);
        ids.push_back(id);
    }
    for (int waited = 0; waited < 30000 && sql_int(db, "SELECT count(*) FROM reports WHERE state='assembling'") > 0; waited += 20)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    REQUIRE(tt_close(c, 10000) == TT_OK);
    CHECK(sql_int(db, "SELECT count(*) FROM reports WHERE state IN ('assembling','pending')") == 2);
    CHECK(sql_int(db, "SELECT count(*) FROM reports WHERE state='failed' AND reason LIKE 'dropped: more than 2 reports%'") == 4);
    CHECK(sql_int(db, "SELECT count(*) FROM report_parts WHERE report IN (SELECT id FROM reports WHERE state='failed')") == 0);
    // The newest two are the ones kept.
    CHECK(sql_int(db, "SELECT count(*) FROM reports WHERE state='pending' AND id IN ('" + ids[4] + "','" + ids[5] + "')") == 2);
}

TEST_CASE("a long answer still carries the notice; one too long to read keeps the notice shown") {
    OtlpServer srv;
    std::mutex mu;
    std::set<int> seen;  // the planner is asked twice per request (headers, then body)
    srv.set_plan([&](int n, const std::string &path, const std::string &) {
        Plan p;
        if (path != "/v1/reports") return p;  // the network check's probe
        std::lock_guard<std::mutex> lk(mu);
        seen.insert(n);
        p.fault = Fault::kStatus;
        p.status = 200;
        // 2 KB: over the 512 bytes read before. Then 100 KB: over the 64 KiB kept now.
        p.body = seen.size() == 1 ? json{{"notice", "we know, it is being fixed"}, {"padding", std::string(2000, 'x')}}.dump()
                                  : json{{"notice", "a notice lost in a huge answer"}, {"padding", std::string(100000, 'x')}}.dump();
        return p;
    });
    TempDir d;
    std::string db = d.file("a.db"), ep = srv.url();
    tt_client *c = open_client(db, report_opts(ep));
    REQUIRE(c);
    char id[TT_REPORT_ID_SIZE];
    REQUIRE(tt_report_submit(c, nullptr, id) == TT_OK);
    REQUIRE(wait_state(c, id, TT_REPORT_SENT, 20000) == TT_REPORT_SENT);
    CHECK(std::string(tt_notice_get(c)) == "we know, it is being fixed");
    REQUIRE(tt_report_submit(c, nullptr, id) == TT_OK);
    CHECK(wait_state(c, id, TT_REPORT_SENT, 20000) == TT_REPORT_SENT);  // still delivered
    CHECK(std::string(tt_notice_get(c)) == "we know, it is being fixed");
    REQUIRE(tt_close(c, 10000) == TT_OK);
}

TEST_CASE("tt_notice_refresh: asks /v1/status without the app's token; errors leave the notice as it was") {
    OtlpServer srv;
    std::mutex mu;
    Plan next;
    next.fault = Fault::kStatus;
    next.status = 200;
    next.body = R"({"incident":{"id":1,"title":"sync"},"notice":"Sync is down; a fix is on its way."})";
    srv.set_plan([&](int, const std::string &, const std::string &) {
        std::lock_guard<std::mutex> lk(mu);
        return next;
    });
    TempDir d;
    std::string db = d.file("a.db"), ep = srv.url();
    tt_options o = report_opts(ep);
    o.auth_token = "app-secret";
    tt_client *c = open_client(db, o);
    REQUIRE(c);
    REQUIRE(tt_notice_refresh(c, 5000) == TT_OK);
    CHECK(std::string(tt_notice_get(c)) == "Sync is down; a fix is on its way.");
    auto got = srv.accepted();
    REQUIRE(!got.empty());
    CHECK(got.back().path == "/v1/status");
    CHECK(got.back().auth.empty());  // public: the app's token does not go with it
    {
        std::lock_guard<std::mutex> lk(mu);
        next.status = 503;
        next.body = "";
    }
    CHECK(tt_notice_refresh(c, 5000) == TT_ENET);
    CHECK(std::string(tt_error_last()->message).find("HTTP 503") != std::string::npos);
    CHECK(std::string(tt_notice_get(c)) == "Sync is down; a fix is on its way.");
    {
        std::lock_guard<std::mutex> lk(mu);
        next.status = 200;
        next.body = "<html>a captive portal</html>";
    }
    CHECK(tt_notice_refresh(c, 5000) == TT_ENET);
    CHECK(std::string(tt_error_last()->message).find("did not answer with a JSON status") != std::string::npos);
    CHECK(std::string(tt_notice_get(c)) == "Sync is down; a fix is on its way.");
    {
        std::lock_guard<std::mutex> lk(mu);
        next.body = R"({"incident":null,"notice":null})";
    }
    REQUIRE(tt_notice_refresh(c, 5000) == TT_OK);
    CHECK(std::string(tt_notice_get(c)).empty());
    REQUIRE(tt_close(c, 10000) == TT_OK);
    CHECK(tt_notice_refresh(c, 5000) == TT_EMISUSE);

    tt_client *offline = open_client(d.file("b.db"), report_opts(""));
    CHECK(tt_notice_refresh(offline, 5000) == TT_EINVAL);
    CHECK(std::string(tt_error_last()->hint).find("endpoint") != std::string::npos);
    REQUIRE(tt_close(offline, 10000) == TT_OK);
}

TEST_CASE("reports filed before the buffer was moved aside are carried into the fresh file") {
    TempDir d;
    std::string db = d.file("a.db");
    tt_client *c = open_client(db, report_opts(""));
    REQUIRE(c);
    tt_log(c, TT_ERROR, "sync failed");
    char first[TT_REPORT_ID_SIZE], second[TT_REPORT_ID_SIZE];
    REQUIRE(tt_report_submit(c, nullptr, first) == TT_OK);
    for (int waited = 0; waited < 20000 && sql_int(db, "SELECT count(*) FROM reports WHERE state='pending'") == 0; waited += 20)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    REQUIRE(sql_int(db, "SELECT count(*) FROM reports WHERE state='pending'") == 1);
    // What Store::recover does when it finds the file damaged: move it (and its WAL) aside,
    // and a fresh buffer starts at the path (here made by another process).
    REQUIRE(std::rename(db.c_str(), (db + ".corrupt-test").c_str()) == 0);
    std::rename((db + "-wal").c_str(), (db + ".corrupt-test-wal").c_str());
    std::remove((db + "-shm").c_str());
    Child fresh({"log-n", db, "1", "X"});
    REQUIRE(fresh.line().rfind("done TT_OK", 0) == 0);
    fresh.wait();
    // The next report goes to the fresh file, and takes the waiting one along.
    REQUIRE(tt_report_submit(c, nullptr, second) == TT_OK);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    CHECK(sql_int(db, std::string("SELECT count(*) FROM reports WHERE id='") + first + "' AND state='pending'") == 1);
    CHECK(sql_int(db, std::string("SELECT count(*) FROM report_parts WHERE report='") + first + "' AND name='manifest.json'") == 1);
    CHECK(sql_int(db, std::string("SELECT count(*) FROM reports WHERE id='") + second + "'") == 1);
    // A restart finds both: nothing the user asked to send stayed behind.
    c = open_client(db, report_opts(""));
    REQUIRE(c);
    tt_report_state st;
    CHECK(tt_report_status(c, first, &st) == TT_OK);
    CHECK(st == TT_REPORT_PENDING);
    REQUIRE(tt_close(c, 10000) == TT_OK);
}
