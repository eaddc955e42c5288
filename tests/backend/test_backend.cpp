// The support backend, end to end: the real library (public C ABI) logs, records a
// request that failed with 503 and an X-Reqid, uploads and files a report to the real
// backend binary on loopback; then support finds the client by report id, IP, trace id
// and server request id. Plus: duplicates stored once, bombs and oversized bodies refused
// with 413 quickly, tokens enforced, the incident notice reaching tt_notice_get.
#include <curl/curl.h>
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <telltale/telltale.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "../common/spawn.hpp"
#include "ingest.hpp"

using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir() {
    char tmpl[] = "/tmp/tt-backend-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    return tmpl;
}

// The backend binary as a child process on a free port (it prints its URL first).
struct Backend {
    pid_t pid = -1;
    std::string url;
    FILE *out = nullptr;
    explicit Backend(const fs::path &db, std::vector<std::string> extra = {}) {
        std::vector<std::string> args = {TSB_BACKEND_PATH, "--listen", "127.0.0.1:0", "--db", db.string()};
        args.insert(args.end(), extra.begin(), extra.end());
        out = tt_test::spawn_reading_stdout(args, pid);
        REQUIRE(out != nullptr);
        char line[512] = "";
        REQUIRE(fgets(line, sizeof line, out) != nullptr);
        std::string l = line;
        auto at = l.find("http://");
        REQUIRE(at != std::string::npos);
        url = l.substr(at, l.find(' ', at) - at);
    }
    // Stops it the way an operator does (SIGTERM) and checks it exits cleanly.
    int stop() {
        if (pid < 0) return 0;
        kill(pid, SIGTERM);
        int st = 0;
        waitpid(pid, &st, 0);
        pid = -1;
        if (out) fclose(out), out = nullptr;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    ~Backend() { stop(); }
};

struct Http {
    long status = 0;
    std::string body;
    double seconds = 0;
};

size_t sink(char *p, size_t s, size_t n, void *u) {
    static_cast<std::string *>(u)->append(p, s * n);
    return s * n;
}

Http http(const std::string &method, const std::string &url, const std::string &body = "", std::vector<std::string> headers = {}) {
    CURL *c = curl_easy_init();
    Http r;
    curl_slist *h = nullptr;
    for (auto &x : headers) h = curl_slist_append(h, x.c_str());
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (method == "POST") {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }
    curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &r.seconds);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return r;
}

json get_json(const std::string &url, std::vector<std::string> headers = {}) {
    Http r = http("GET", url, "", headers);
    INFO(url << " -> " << r.status << " " << r.body);
    REQUIRE(r.status == 200);
    return json::parse(r.body);
}

std::string esc(const std::string &s) {
    char *e = curl_escape(s.c_str(), static_cast<int>(s.size()));
    std::string r = e;
    curl_free(e);
    return r;
}

std::string zstd(const std::string &s) {
    std::string out(ZSTD_compressBound(s.size()), '\0');
    out.resize(ZSTD_compress(out.data(), out.size(), s.data(), s.size(), 1));
    return out;
}

std::string gzip(const std::string &s) {
    z_stream z{};
    deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&z, s.size()) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(s.data()));
    z.avail_in = static_cast<uInt>(s.size());
    z.next_out = reinterpret_cast<Bytef *>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

tt_report_state wait_sent(tt_client *c, const char *id) {
    tt_report_state st = TT_REPORT_PENDING;
    for (int i = 0; i < 400 && st == TT_REPORT_PENDING; ++i) {
        REQUIRE(tt_report_status(c, id, &st) == TT_OK);
        if (st == TT_REPORT_PENDING) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return st;
}

// What a lookup must show: the log events, the request (with its X-Reqid) and the report.
void check_timeline(const json &j, const std::string &report_id, const std::string &trace_id, const std::string &reqid) {
    INFO(j.dump(1));
    REQUIRE(j["clients"].size() == 1);
    bool log = false, warn_in_request = false, request = false, report = false;
    std::string last = "0";
    for (auto &e : j["timeline"]) {
        std::string t = e["time_unix_nano"];
        CHECK((t.size() > last.size() || (t.size() == last.size() && t >= last)));  // oldest first
        last = t;
        if (e["kind"] == "log" && e["message"] == "user opened the sync screen") log = true;
        if (e["kind"] == "log" && e["message"] == "sync failed, will retry" && e.value("trace_id", "") == trace_id) warn_in_request = true;
        if (e["kind"] == "request" && e["trace_id"] == trace_id && e["status"] == 503 && e["server_ids"].value("x-reqid", "") == reqid)
            request = true;
        if (e["kind"] == "report" && e["report_id"] == report_id) report = true;
    }
    CHECK(log);
    CHECK(warn_in_request);
    CHECK(request);
    CHECK(report);
}

tt_options client_opts(const std::string &db, const std::string &endpoint) {
    tt_options o = TT_OPTIONS_INIT;
    o.db_path = db.c_str();
    o.app_name = "e2e";
    o.app_version = "1.2.3";
    o.endpoint = endpoint.c_str();
    o.upload_interval_ms = 50;
    o.retry_base_ms = 20;
    o.retry_max_ms = 200;
    o.upload_timeout_ms = 5000;
    return o;
}

}  // namespace

TEST_CASE("a real client's story is found by report id, IP, trace id and X-Reqid") {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    fs::path dir = temp_dir();
    Backend be(dir / "support.db");
    std::string db = (dir / "app.db").string();
    tt_options o = client_opts(db, be.url);
    tt_client *c = nullptr;
    REQUIRE(tt_open(&c, &o) == TT_OK);
    REQUIRE(tt_consent_set(c, TT_CONSENT_GRANTED, nullptr) == TT_OK);
    REQUIRE(tt_log(c, TT_INFO, "user opened the sync screen") == TT_OK);

    // A real call to the backend's demo API, recorded with the request API.
    tt_request *r = nullptr;
    std::string api = be.url + "/demo/api?fail=1";
    REQUIRE(tt_request_begin(&r, c, "GET", api.c_str()) == TT_OK);
    char trace[33];
    REQUIRE(tt_request_trace_id(r, trace) == TT_OK);
    Http answer = http("GET", api, "", {std::string("traceparent: ") + tt_request_traceparent(r)});
    REQUIRE(answer.status == 503);
    std::string reqid = json::parse(answer.body)["reqid"];
    REQUIRE(tt_request_header(r, "X-Reqid", reqid.c_str()) == TT_OK);
    REQUIRE(tt_log(c, TT_WARN, "sync failed, will retry") == TT_OK);
    REQUIRE(tt_request_end(r, 503, nullptr) == TT_OK);
    tt_attr attrs[] = {{"attempt", "3"}};
    REQUIRE(tt_log_attrs(c, TT_ERROR, "sync gave up after 3 attempts (item 81723)", attrs, 1) == TT_OK);
    REQUIRE(tt_flush(c, 5000) == TT_OK);
    tt_status up = tt_upload_flush(c, 30000);
    INFO(tt_error_last()->message);
    REQUIRE(up == TT_OK);

    tt_report_options ro = TT_REPORT_OPTIONS_INIT;
    ro.description = "sync does not work";
    fs::path note = dir / "note.txt";
    { std::FILE *f = std::fopen(note.c_str(), "w"); std::fputs("attached words", f); std::fclose(f); }
    std::string note_s = note.string();
    const char *atts[] = {note_s.c_str()};
    ro.attachments = atts;
    ro.attachment_count = 1;
    char id[TT_REPORT_ID_SIZE];
    REQUIRE(tt_report_submit(c, &ro, id) == TT_OK);
    REQUIRE(wait_sent(c, id) == TT_REPORT_SENT);
    CHECK(std::string(tt_notice_get(c)) == "");

    SUBCASE("the report, its diagnosis and attachment") {
        json rep = get_json(be.url + "/api/reports/" + id);
        CHECK(rep["report_id"] == id);
        CHECK(rep["client_ip"] == "127.0.0.1");
        CHECK(rep["manifest"]["user"]["description"] == "sync does not work");
        std::string summary = rep["diagnosis"]["summary"];
        INFO(summary);
        CHECK(summary.find("server side") != std::string::npos);
        CHECK(summary.find(reqid) != std::string::npos);
        CHECK(!rep["diagnosis"]["suggested_answer"].get<std::string>().empty());
        REQUIRE(rep["attachments"].size() == 1);
        Http att = http("GET", be.url + rep["attachments"][0]["url"].get<std::string>());
        CHECK(att.body == "attached words");
        CHECK(http("GET", be.url + "/api/reports/00000000-0000-4000-8000-000000000000").status == 404);
    }
    SUBCASE("lookup by report id, IP, trace id and server request id") {
        json j = get_json(be.url + "/api/lookup?q=" + id);
        CHECK(j["kind"] == "report");
        check_timeline(j, id, trace, reqid);
        j = get_json(be.url + "/api/lookup?q=127.0.0.1");
        CHECK(j["kind"] == "ip");
        check_timeline(j, id, trace, reqid);
        CHECK(j["clients"][0]["ips"][0] == "127.0.0.1");
        j = get_json(be.url + "/api/lookup?q=" + trace);
        CHECK(j["kind"] == "trace_id");
        check_timeline(j, id, trace, reqid);
        j = get_json(be.url + "/api/lookup?q=" + esc(reqid));
        CHECK(j["kind"] == "server_request_id");
        check_timeline(j, id, trace, reqid);
        std::string install = j["clients"][0]["install_id"];
        j = get_json(be.url + "/api/lookup?q=" + install);
        CHECK(j["kind"] == "install_id");
        check_timeline(j, id, trace, reqid);
        CHECK(http("GET", be.url + "/api/lookup?q=10.9.9.9").status == 404);
    }
    SUBCASE("problems ranked by clients, numbers normalised") {
        json p = get_json(be.url + "/api/problems?window=24h");
        INFO(p.dump(1));
        bool found = false;
        for (auto &x : p)
            if (x["fingerprint"] == "sync gave up after <n> attempts (item <n>)") found = x["clients"] == 1 && x["trend"] == "new";
        CHECK(found);
        CHECK(http("GET", be.url + "/api/problems?window=soon").status == 400);
    }
    SUBCASE("a declared incident reaches the app through the next report, and /v1/status") {
        Http d = http("POST", be.url + "/api/incidents", R"({"action":"declare","title":"sync down","notice":"Sync is down; we are fixing it."})",
                      {"Content-Type: application/json"});
        REQUIRE(d.status == 200);
        json st = get_json(be.url + "/v1/status");
        CHECK(st["notice"] == "Sync is down; we are fixing it.");
        // Before filing one more report: the app asks, and shows it.
        REQUIRE(tt_notice_refresh(c, 10000) == TT_OK);
        CHECK(std::string(tt_notice_get(c)) == "Sync is down; we are fixing it.");
        REQUIRE(tt_report_submit(c, &ro, id) == TT_OK);
        REQUIRE(wait_sent(c, id) == TT_REPORT_SENT);
        CHECK(std::string(tt_notice_get(c)) == "Sync is down; we are fixing it.");
        json rep = get_json(be.url + "/api/reports/" + id);
        CHECK(rep["diagnosis"]["summary"].get<std::string>().find("Open incident") != std::string::npos);
        json inc = get_json(be.url + "/api/incidents");
        REQUIRE(inc["open"].size() == 1);
        Http cl = http("POST", be.url + "/api/incidents", json({{"action", "close"}, {"id", inc["open"][0]["id"]}}).dump());
        CHECK(cl.status == 200);
        CHECK(get_json(be.url + "/v1/status")["notice"].is_null());
        REQUIRE(tt_notice_refresh(c, 10000) == TT_OK);
        CHECK(std::string(tt_notice_get(c)) == "");  // the incident is over: the app stops saying so
    }
    CHECK(tt_close(c, 5000) == TT_OK);
    CHECK(be.stop() == 0);
    fs::remove_all(dir);
}

TEST_CASE("duplicates are stored once; bombs and oversized bodies get 413 quickly") {
    fs::path dir = temp_dir();
    Backend be(dir / "support.db", {"--max-body-mb", "4"});
    std::string batch = R"({"resourceLogs":[{"resource":{"attributes":[{"key":"service.instance.id","value":{"stringValue":"dup-install"}}]},
      "scopeLogs":[{"logRecords":[{"timeUnixNano":"1795948702063691364","severityNumber":9,"body":{"stringValue":"one"}},
      {"timeUnixNano":"1795948702063691365","severityNumber":9,"body":{"stringValue":"two"}}]}]}]})";
    std::vector<std::string> h = {"Content-Type: application/json", "Content-Encoding: zstd", "X-Telltale-Batch: 4f7c2d1e-0000-4000-8000-000000000001"};
    CHECK(http("POST", be.url + "/v1/logs", zstd(batch), h).status == 200);
    CHECK(http("POST", be.url + "/v1/logs", zstd(batch), h).status == 200);  // the retry after a lost answer
    h[1] = "Content-Encoding: gzip";
    CHECK(http("POST", be.url + "/v1/logs", gzip(batch), h).status == 200);
    json j = get_json(be.url + "/api/lookup?q=dup-install");
    CHECK(j["timeline"].size() == 2);

    // The same report twice (the client retried): one report.
    std::string m = R"({"report_id":"0b1c2d3e-0000-4000-8000-00000000000a","install_id":"dup-install","requests":[]})";
    std::string mp = "--XyZ\r\nContent-Disposition: form-data; name=\"manifest\"; filename=\"manifest.json\"\r\nContent-Type: application/json\r\n\r\n" + m +
                     "\r\n--XyZ--\r\n";
    std::vector<std::string> rh = {"Content-Type: multipart/form-data; boundary=XyZ", "X-Telltale-Report: 0b1c2d3e-0000-4000-8000-00000000000a"};
    Http a = http("POST", be.url + "/v1/reports", mp, rh), b = http("POST", be.url + "/v1/reports", mp, rh);
    CHECK(a.status == 200);
    CHECK(json::parse(a.body)["duplicate"] == false);
    CHECK(b.status == 200);
    CHECK(json::parse(b.body)["duplicate"] == true);
    CHECK(get_json(be.url + "/api/lookup?q=dup-install")["clients"][0]["reports"].size() == 1);
    CHECK(http("POST", be.url + "/v1/reports", "not multipart", {"Content-Type: text/plain"}).status == 415);

    // Bombs: tiny bodies that inflate far past the cap. Refused, and fast (no full inflate).
    std::string zeros(64u << 20, '\0');
    std::string zbomb = zstd(zeros), gbomb = gzip(std::string(64u << 20, '\0'));
    zeros.clear();
    zeros.shrink_to_fit();
    REQUIRE(zbomb.size() < 64 * 1024);
    Http r = http("POST", be.url + "/v1/logs", zbomb, {"Content-Encoding: zstd", "X-Telltale-Batch: bomb-1"});
    CHECK(r.status == 413);
    CHECK(r.seconds < 5);
    r = http("POST", be.url + "/v1/logs", gbomb, {"Content-Encoding: gzip", "X-Telltale-Batch: bomb-2"});
    CHECK(r.status == 413);
    CHECK(r.seconds < 5);
    r = http("POST", be.url + "/v1/traces", std::string((4u << 20) + 1, ' '), {"Content-Type: application/json"});
    CHECK(r.status == 413);
    CHECK(r.seconds < 5);
    CHECK(r.body.find("cap") != std::string::npos);
    // Malformed input is a clear 400, and the backend is still up.
    CHECK(http("POST", be.url + "/v1/logs", "{\"resourceLogs\": [", {"Content-Type: application/json"}).status == 400);
    CHECK(http("POST", be.url + "/v1/logs", "garbage", {"Content-Encoding: zstd"}).status == 400);
    CHECK(http("POST", be.url + "/v1/logs", batch, {"Content-Encoding: br"}).status == 415);
    CHECK(http("GET", be.url + "/healthz").status == 200);
    CHECK(be.stop() == 0);
    fs::remove_all(dir);
}

TEST_CASE("a report without an install id is found by its id; attachment names with # ? % work as links") {
    fs::path dir = temp_dir();
    Backend be(dir / "support.db");
    std::string id = "0b1c2d3e-0000-4000-8000-0000000000bb";
    std::string m = R"({"report_id":")" + id + R"(","user":{"description":"hand-made"}})";
    std::string mp = "--XyZ\r\nContent-Disposition: form-data; name=\"manifest\"; filename=\"manifest.json\"\r\nContent-Type: application/json\r\n\r\n" +
                     m + "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"notes #1 100%?.txt\"\r\n"
                         "Content-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n";
    REQUIRE(http("POST", be.url + "/v1/reports", mp, {"Content-Type: multipart/form-data; boundary=XyZ", "X-Telltale-Report: " + id}).status == 200);
    json j = get_json(be.url + "/api/lookup?q=" + id);
    CHECK(j["kind"] == "report");
    REQUIRE(j["timeline"].size() == 1);
    CHECK(j["timeline"][0]["report_id"] == id);
    CHECK(j["timeline"][0]["description"] == "hand-made");
    CHECK(j["clients"][0]["ips"][0] == "127.0.0.1");
    json rep = get_json(be.url + "/api/reports/" + id);
    REQUIRE(rep["attachments"].size() == 1);
    std::string url = rep["attachments"][0]["url"];
    CHECK(url == "/api/reports/" + id + "/attachments/notes%20%231%20100%25%3F.txt");
    Http a = http("GET", be.url + url);
    CHECK(a.status == 200);
    CHECK(a.body == "hello");
    CHECK(be.stop() == 0);
    fs::remove_all(dir);
}

TEST_CASE("tokens: ingest and admin are separate, /v1/status is public") {
    fs::path dir = temp_dir();
    Backend be(dir / "support.db", {"--ingest-token", "in-tok", "--admin-token", "ad-tok"});
    std::string empty = R"({"resourceLogs":[]})";
    CHECK(http("POST", be.url + "/v1/logs", empty).status == 401);
    CHECK(http("POST", be.url + "/v1/traces", empty, {"Authorization: Bearer ad-tok"}).status == 401);
    CHECK(http("POST", be.url + "/v1/reports", empty, {"Authorization: Bearer wrong"}).status == 401);
    CHECK(http("POST", be.url + "/v1/logs", empty, {"Authorization: Bearer in-tok"}).status == 200);
    CHECK(http("GET", be.url + "/api/incidents").status == 401);
    CHECK(http("GET", be.url + "/api/lookup?q=x", "", {"Authorization: Bearer in-tok"}).status == 401);
    CHECK(http("GET", be.url + "/api/incidents", "", {"Authorization: Bearer ad-tok"}).status == 200);
    CHECK(http("GET", be.url + "/v1/status").status == 200);
    Http page = http("GET", be.url + "/");  // the console page itself is public; its data is not
    CHECK(page.status == 200);
    CHECK(page.body.find("What happened to this client?") != std::string::npos);

    // The library's auth_token is the ingest token.
    std::string db = (dir / "app.db").string();
    tt_options o = client_opts(db, be.url);
    o.auth_token = "in-tok";
    tt_client *c = nullptr;
    REQUIRE(tt_open(&c, &o) == TT_OK);
    REQUIRE(tt_consent_set(c, TT_CONSENT_GRANTED, nullptr) == TT_OK);
    REQUIRE(tt_log(c, TT_INFO, "hello with a token") == TT_OK);
    REQUIRE(tt_flush(c, 5000) == TT_OK);
    CHECK(tt_upload_flush(c, 30000) == TT_OK);
    tt_stats s = TT_STATS_INIT;
    REQUIRE(tt_stats_get(c, &s) == TT_OK);
    CHECK(s.uploaded >= 1);
    CHECK(s.upload_dropped == 0);
    tt_close(c, 5000);
    json j = get_json(be.url + "/api/lookup?q=127.0.0.1", {"Authorization: Bearer ad-tok"});
    CHECK(j["timeline"].size() >= 1);
    CHECK(be.stop() == 0);
    fs::remove_all(dir);
}

TEST_CASE("parsers: multipart, OTLP, fingerprints") {
    std::vector<tsb::Part> parts;
    std::string body = "preamble\r\n--b\r\nContent-Disposition: form-data; name=\"manifest\"\r\n\r\n{}\r\n--b\r\n"
                       "Content-Disposition: form-data; name=\"attachment\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n";
    REQUIRE_FALSE(tsb::parse_multipart(body, "b", parts));
    REQUIRE(parts.size() == 2);
    CHECK(parts[1].filename == "a.txt");
    CHECK(parts[1].data == "x");
    CHECK(tsb::multipart_boundary("multipart/form-data; boundary=\"q r\"") == "q r");
    parts.clear();
    CHECK(tsb::parse_multipart("--b\r\nX: y\r\n\r\nunterminated", "b", parts));
    CHECK(tsb::fingerprint("timeout after 503 ms on 10.0.0.7 req 9f86d081884c id 123e4567-e89b-12d3-a456-426614174000") ==
          "timeout after <n> ms on <n> req <hex> id <uuid>");
    tsb::Batch b;
    CHECK(tsb::parse_otlp("[]", false, b));
    CHECK_FALSE(tsb::parse_otlp(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"ABCDEF00000000000000000000000001","spanId":"0000000000000001",
        "attributes":[{"key":"telltale.server_id.x-reqid","value":{"stringValue":"r1"}},{"key":"http.response.status_code","value":{"intValue":"503"}}]}]}]}]})",
                                true, b));
    REQUIRE(b.spans.size() == 1);
    CHECK(b.spans[0].trace_id == "abcdef00000000000000000000000001");
    CHECK(b.spans[0].http_status == 503);
    CHECK(b.spans[0].server_ids.at(0).second == "r1");
}
