// Consent and background upload against a real loopback receiver: nothing leaves
// without a yes, nothing agreed is lost, whatever the server does.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "otlp_server.hpp"
#include "util.hpp"

using namespace tt_test;
using json = nlohmann::json;

namespace {

tt_options upload_opts(const std::string &endpoint) {
    tt_options o = TT_OPTIONS_INIT;
    o.endpoint = endpoint.c_str();
    o.full_policy = TT_FULL_BLOCK;   // the tests count every event: none may drop in the queue
    o.upload_interval_ms = 50;
    o.retry_base_ms = 10;
    o.retry_max_ms = 200;
    o.upload_timeout_ms = 1500;
    o.consent_policy_version = "2026-11";
    return o;
}

void log_seq(tt_client *c, int from, int to) {
    for (int i = from; i < to; ++i) {
        std::string s = std::to_string(i);
        tt_attr a[1] = {{"seq", s.c_str()}};
        REQUIRE(tt_log_attrs(c, TT_INFO, "upload test event", a, 1) == TT_OK);
    }
}

// Every seq attribute in the accepted log bodies, and how often.
std::map<int, int> seqs_received(OtlpServer &srv) {
    std::map<int, int> seen;
    for (auto &r : srv.accepted()) {
        if (r.path != "/v1/logs") continue;
        json j = json::parse(r.json);
        for (auto &rl : j["resourceLogs"])
            for (auto &sl : rl["scopeLogs"])
                for (auto &lr : sl["logRecords"])
                    for (auto &a : lr["attributes"])
                        if (a["key"] == "seq") ++seen[std::stoi(a["value"]["stringValue"].get<std::string>())];
    }
    return seen;
}

void wait_for(const std::function<bool()> &cond, int ms) {
    for (int waited = 0; waited < ms && !cond(); waited += 10) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

}  // namespace

TEST_CASE("nothing is sent while consent is unknown or denied, also after a restart; granting starts delivery") {
    OtlpServer srv;
    REQUIRE(srv.ok());
    TempDir d;
    std::string db = d.file("a.db"), ep = srv.url();
    const int n = 100000;
    {
        tt_client *c = open_client(db, upload_opts(ep));
        REQUIRE(c);
        tt_consent st;
        REQUIRE(tt_consent_get(c, &st) == TT_OK);
        CHECK(st == TT_CONSENT_UNKNOWN);
        log_seq(c, 0, n);
        REQUIRE(tt_flush(c, 60000) == TT_OK);
        CHECK(tt_upload_flush(c, 1000) == TT_ENOCONSENT);
        CHECK(std::string(tt_error_last()->hint).find("tt_consent_set") != std::string::npos);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // six upload intervals
        tt_stats s = stats_of(c);
        CHECK(s.pending_upload == n);
        REQUIRE(tt_close(c, 10000) == TT_OK);
    }
    CHECK(srv.requests() == 0);
    {
        // Restarted with 100k buffered: still nothing.
        tt_client *c = open_client(db, upload_opts(ep));
        REQUIRE(c);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        CHECK(srv.requests() == 0);
        // Granted: everything stored goes, and what comes after.
        REQUIRE(tt_consent_set(c, TT_CONSENT_GRANTED, nullptr) == TT_OK);
        log_seq(c, n, n + 10);
        REQUIRE(tt_upload_flush(c, 60000) == TT_OK);
        tt_stats s = stats_of(c);
        CHECK(s.pending_upload == 0);
        CHECK(s.uploaded == n + 10 + 1);  // + the consent event
        CHECK(s.upload_bytes > 0);
        REQUIRE(tt_close(c, 10000) == TT_OK);
    }
    auto seen = seqs_received(srv);
    CHECK(seen.size() == n + 10);
    // Consent survives the restart, with its time and policy version.
    CHECK(sql_text(db, "SELECT value FROM meta WHERE key='consent_state'") == "granted");
    CHECK(sql_text(db, "SELECT value FROM meta WHERE key='consent_policy'") == "2026-11");
    CHECK(sql_int(db, "SELECT count(*) FROM events WHERE json_extract(attrs,'$.\"telltale.consent\"')='granted'") == 1);
    // Uploaded rows stay in the buffer for reports.
    CHECK(sql_int(db, "SELECT count(*) FROM events") == n + 10 + 1);
}

TEST_CASE("a new policy version puts consent back to unknown (unless told to keep it)") {
    OtlpServer srv;
    TempDir d;
    std::string db = d.file("a.db"), ep = srv.url();
    tt_options o = upload_opts(ep);
    tt_client *c = open_client(db, o);
    REQUIRE(tt_consent_set(c, TT_CONSENT_GRANTED, nullptr) == TT_OK);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    o.consent_policy_version = "2027-01";
    c = open_client(db, o);
    tt_consent st;
    REQUIRE(tt_consent_get(c, &st) == TT_OK);
    CHECK(st == TT_CONSENT_UNKNOWN);
    tt_log(c, TT_INFO, "after the policy changed");
    CHECK(tt_upload_flush(c, 500) == TT_ENOCONSENT);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    o.consent_flags = TT_CONSENT_KEEP_ON_POLICY_CHANGE;
    c = open_client(db, o);
    REQUIRE(tt_consent_get(c, &st) == TT_OK);
    CHECK(st == TT_CONSENT_GRANTED);
    CHECK(tt_consent_set(c, static_cast<tt_consent>(7), nullptr) == TT_EINVAL);
    REQUIRE(tt_close(c, 10000) == TT_OK);
}

TEST_CASE("denying mid-upload aborts it and purges what was not delivered") {
    OtlpServer srv;
    TempDir d;
    std::string db = d.file("a.db"), ep = srv.url();
    // The first batch is accepted; then the server stalls, as if slow.
    srv.set_plan([](int n, const std::string &, const std::string &) {
        Plan p;
        if (n >= 1) {
            p.fault = Fault::kStall;
            p.stall_ms = 20000;
        }
        return p;
    });
    tt_options o = upload_opts(ep);
    o.upload_batch_events = 1000;
    o.upload_timeout_ms = 30000;
    tt_client *c = open_client(db, o);
    REQUIRE(tt_consent_set(c, TT_CONSENT_GRANTED, nullptr) == TT_OK);
    log_seq(c, 0, 5000);
    REQUIRE(tt_flush(c, 10000) == TT_OK);
    wait_for([&] { return srv.requests() >= 2; }, 10000);  // the second batch is in flight, stalled
    REQUIRE(srv.requests() >= 2);
    auto t0 = std::chrono::steady_clock::now();
    REQUIRE(tt_consent_set(c, TT_CONSENT_DENIED, nullptr) == TT_OK);
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE("tt_consent_set(DENIED) returned after " << took << " ms with a transfer stalled");
    tt_stats s = stats_of(c);
    CHECK(s.pending_upload <= 1);  // only the consent event itself, logged after the purge
    log_seq(c, 5000, 5100);        // logged while denied: never uploaded
    REQUIRE(tt_flush(c, 10000) == TT_OK);
    int before = srv.requests();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK(srv.requests() == before);
    CHECK(tt_upload_flush(c, 200) == TT_ENOCONSENT);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    // What was delivered (the first batch) stays, as the user's local history; the rest is gone.
    size_t delivered = seqs_received(srv).size();
    CHECK(delivered > 0);
    CHECK(sql_int(db, "SELECT count(*) FROM events WHERE CAST(json_extract(attrs,'$.seq') AS INTEGER) < 5000") ==
          static_cast<long long>(delivered));
    // Granting again later does not send what was logged while denied.
    srv.set_plan(nullptr);
    c = open_client(db, o);
    REQUIRE(tt_consent_set(c, TT_CONSENT_GRANTED, nullptr) == TT_OK);
    REQUIRE(tt_upload_flush(c, 30000) == TT_OK);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    CHECK(seqs_received(srv).size() == delivered);  // nothing of what was purged or logged while denied
}

TEST_CASE("DENIED answered in another process on the same file stops this one's uploads too") {
    OtlpServer srv;
    TempDir d;
    std::string db = d.file("a.db"), ep = srv.url();
    Child app({"upload-forever", db, ep});
    REQUIRE(app.line() == "granted");
    wait_for([&] { return srv.accepted().size() >= 3; }, 30000);
    REQUIRE(srv.accepted().size() >= 3);  // it is uploading, batch after batch
    // The same app's settings screen, in another process (a helper, a second window).
    tt_client *c = open_client(db, upload_opts(ep));
    REQUIRE(c);
    REQUIRE(tt_consent_set(c, TT_CONSENT_DENIED, nullptr) == TT_OK);
    size_t at_deny = srv.accepted().size();
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // ~30 upload rounds of the other process
    size_t after = srv.accepted().size();
    INFO("batches accepted at the deny: " << at_deny << ", 1.5 s later: " << after);
    CHECK(after - at_deny <= 1);  // at most the one batch that was already on the wire
    REQUIRE(tt_close(c, 10000) == TT_OK);
    app.kill9();
}

TEST_CASE("what was logged while denied never leaves, whatever road leads back to granted") {
    OtlpServer srv;
    TempDir d;
    std::string db = d.file("a.db"), ep = srv.url();
    tt_client *c = open_client(db, upload_opts(ep));
    REQUIRE(tt_consent_set(c, TT_CONSENT_DENIED, nullptr) == TT_OK);
    log_seq(c, 0, 1000);  // still in memory when the answer changes: no flush on purpose
    REQUIRE(tt_consent_set(c, TT_CONSENT_UNKNOWN, nullptr) == TT_OK);
    log_seq(c, 1000, 1010);  // logged while unknown: goes once granted
    REQUIRE(tt_consent_set(c, TT_CONSENT_GRANTED, nullptr) == TT_OK);
    REQUIRE(tt_upload_flush(c, 30000) == TT_OK);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    auto seen = seqs_received(srv);
    CHECK(seen.size() == 10);
    CHECK(seen.begin()->first == 1000);
}

TEST_CASE("a hostile server: 100k events arrive, none lost, every duplicate shares an earlier batch id") {
    OtlpServer srv;
    TempDir d;
    std::string db = d.file("a.db"), ep = srv.url();
    // Every other request misbehaves, in turn: 500, 503, 429 (both Retry-After forms),
    // a reset mid-body, a stall past the client's timeout, store-then-reset, a slow drip,
    // and 413 for any batch over 1500 records.
    srv.set_plan([](int n, const std::string &, const std::string &body) {
        Plan p;
        if (!body.empty() && body.size() > 0) {
            size_t records = 0;
            for (size_t at = body.find("\"timeUnixNano\""); at != std::string::npos; at = body.find("\"timeUnixNano\"", at + 1)) ++records;
            if (records > 1500) {
                p.fault = Fault::kStatus;
                p.status = 413;
                return p;
            }
        }
        if (n % 2 == 0) return p;
        switch ((n / 2) % 9) {
        case 0: p.fault = Fault::kStatus; p.status = 500; break;
        case 1: p.fault = Fault::kStatus; p.status = 503; break;
        case 2: p.fault = Fault::kStatus; p.status = 429; p.extra_headers = "Retry-After: 1\r\n"; break;
        case 3: {
            p.fault = Fault::kStatus;
            p.status = 429;
            time_t t = time(nullptr) + 1;
            char date[64];
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
            p.extra_headers = std::string("Retry-After: ") + date + "\r\n";
            break;
        }
        case 4: p.fault = Fault::kResetMidBody; break;
        case 5: p.fault = Fault::kStall; p.stall_ms = 3000; break;
        case 6: p.fault = Fault::kStoreThenReset; break;
        case 7: p.fault = Fault::kDrip; p.stall_ms = 5; break;
        default: p.fault = Fault::kStatus; p.status = 502; break;
        }
        return p;
    });
    tt_options o = upload_opts(ep);
    o.upload_batch_events = 4000;
    o.upload_timeout_ms = 1000;
    tt_client *c = open_client(db, o);
    REQUIRE(tt_consent_set(c, TT_CONSENT_GRANTED, nullptr) == TT_OK);
    const int n = 100000;
    log_seq(c, 0, n);
    tt_status st = tt_upload_flush(c, 240000);
    INFO(std::string(tt_error_last()->message));
    REQUIRE(st == TT_OK);
    tt_stats s = stats_of(c);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    MESSAGE("requests " << srv.requests() << ", failures " << s.upload_failures << ", uploaded " << s.uploaded);
    CHECK(s.upload_failures > 10);
    CHECK(s.upload_dropped == 0);
    auto seen = seqs_received(srv);
    CHECK(seen.size() == n);
    CHECK(seen.begin()->first == 0);
    CHECK(seen.rbegin()->first == n - 1);
    // Duplicates exist (store-then-reset), and each one repeats a batch id already accepted.
    std::set<std::string> first_seen;
    int dups = 0;
    for (auto &r : srv.accepted()) {
        if (r.duplicate) {
            ++dups;
            CHECK(first_seen.count(r.batch) == 1);
        }
        first_seen.insert(r.batch);
    }
    CHECK(dups > 0);
    for (auto &[seq, count] : seen)
        if (count > 1) CHECK(dups > 0);
}

TEST_CASE("other 4xx: the batch is dropped with the reason recorded, and delivery goes on") {
    OtlpServer srv;
    TempDir d;
    std::string db = d.file("a.db"), ep = srv.url();
    srv.set_plan([](int n, const std::string &, const std::string &) {
        Plan p;
        if (n == 0) {
            p.fault = Fault::kStatus;
            p.status = 400;
        }
        return p;
    });
    tt_options o = upload_opts(ep);
    o.upload_batch_events = 100;
    tt_client *c = open_client(db, o);
    log_seq(c, 0, 300);
    REQUIRE(tt_flush(c, 10000) == TT_OK);
    REQUIRE(tt_consent_set(c, TT_CONSENT_GRANTED, nullptr) == TT_OK);
    REQUIRE(tt_upload_flush(c, 30000) == TT_OK);
    tt_stats s = stats_of(c);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    CHECK(s.upload_dropped == 100);
    CHECK(seqs_received(srv).size() == 200);
    std::string reason = sql_text(db, "SELECT value FROM meta WHERE key='upload_last_drop'");
    CHECK(reason.find("HTTP 400") != std::string::npos);
    CHECK(reason.find("dropped") != std::string::npos);
}

TEST_CASE("server offline, then back: everything delivered, and no spinning meanwhile") {
    int port;
    {
        OtlpServer probe;  // find a free port, then free it
        port = probe.port();
    }
    TempDir d;
    std::string db = d.file("a.db"), ep = "http://127.0.0.1:" + std::to_string(port);
    tt_options o = upload_opts(ep);
    o.retry_max_ms = 60000;  // after a few failures the backoff is long: only tt_network_changed brings it back quickly
    tt_client *c = open_client(db, o);
    REQUIRE(tt_consent_set(c, TT_CONSENT_GRANTED, nullptr) == TT_OK);
    log_seq(c, 0, 3000);
    CHECK(tt_upload_flush(c, 800) == TT_ETIMEOUT);
    std::string msg = tt_error_last()->message;
    INFO(msg);
    CHECK(msg.find("Couldn't connect") != std::string::npos);
    tt_stats s1 = stats_of(c);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    tt_stats s2 = stats_of(c);
    MESSAGE("failed attempts while offline: " << s1.upload_failures << " then " << s2.upload_failures << " 500 ms later");
    CHECK(s2.upload_failures - s1.upload_failures < 10);  // backing off, not spinning
    OtlpServer srv(port);
    REQUIRE(srv.ok());
    tt_network_changed();
    REQUIRE(tt_upload_flush(c, 30000) == TT_OK);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    CHECK(seqs_received(srv).size() == 3000);
}

TEST_CASE("SIGKILL during upload, then a restart: the rest is delivered") {
    OtlpServer srv;
    TempDir d;
    std::string db = d.file("a.db"), ep = srv.url();
    // Slow answers, so that the kill lands mid-upload.
    srv.set_plan([](int, const std::string &, const std::string &) {
        Plan p;
        p.fault = Fault::kDrip;
        p.stall_ms = 2;
        return p;
    });
    {
        Child child({"upload", db, ep, "20000"});
        REQUIRE(child.line() == "logged");
        wait_for([&] { return srv.accepted().size() >= 2; }, 20000);
        child.kill9();
    }
    size_t before = seqs_received(srv).size();
    MESSAGE(before << " of 20000 delivered before the kill");
    CHECK(before < 20000);
    srv.set_plan(nullptr);
    tt_client *c = open_client(db, upload_opts(ep));
    REQUIRE(c);
    tt_consent st;
    REQUIRE(tt_consent_get(c, &st) == TT_OK);
    CHECK(st == TT_CONSENT_GRANTED);
    REQUIRE(tt_upload_flush(c, 60000) == TT_OK);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    CHECK(seqs_received(srv).size() == 20000);
}

TEST_CASE("wire format: zstd bodies the zstd CLI reads, OTLP JSON logs and spans, gzip, auth") {
    OtlpServer srv;
    TempDir d;
    std::string db = d.file("a.db"), ep = srv.url();
    tt_options o = upload_opts(ep);
    o.auth_token = "s3cret-token";
    o.app_version = "4.2.0";
    tt_client *c = open_client(db, o);
    REQUIRE(tt_consent_set(c, TT_CONSENT_GRANTED, nullptr) == TT_OK);
    tt_request *r = nullptr;
    REQUIRE(tt_request_begin(&r, c, "GET", "https://api.example.com/v1/items?x=1") == TT_OK);
    std::string tp = tt_request_traceparent(r);
    // Attribute keys and values that need escaping travel as they were logged (the
    // uploader copies the stored JSON strings into OTLP without decoding them).
    tt_attr a[3] = {{"user", "u-1"}, {"quote\"key", "back\\slash \"q\" \n\t\x01 \xC3\xA9 \xF0\x9F\x98\x80"}, {"n", "42"}};
    tt_log_attrs(c, TT_WARN, "inside \"the\" request \xC3\xA9", a, 3);
    tt_request_header(r, "X-Reqid", "srv-123");
    tt_request_header(r, "X-Request-Id", "a\"b\\c");
    REQUIRE(tt_request_end(r, 503, nullptr) == TT_OK);
    tt_span *sp = nullptr;
    REQUIRE(tt_span_begin(&sp, c, "load settings") == TT_OK);
    REQUIRE(tt_span_end(sp, nullptr) == TT_OK);
    REQUIRE(tt_upload_flush(c, 30000) == TT_OK);
    REQUIRE(tt_close(c, 10000) == TT_OK);

    const Received *logs = nullptr, *traces = nullptr;
    auto acc = srv.accepted();
    for (auto &x : acc) {
        if (x.path == "/v1/logs") logs = &x;
        if (x.path == "/v1/traces") traces = &x;
    }
    REQUIRE(logs);
    REQUIRE(traces);
    CHECK(logs->encoding == "zstd");
    CHECK(logs->content_type == "application/json");
    CHECK(logs->auth == "Bearer s3cret-token");
    CHECK(logs->batch.size() == 36);
    // The stock zstd CLI reads the body.
    std::string f = d.file("body.zst");
    std::ofstream(f, std::ios::binary) << logs->raw;
    FILE *p = popen(("zstd -d -c -q " + f).c_str(), "r");
    REQUIRE(p);
    std::string out;
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, got);
    CHECK(pclose(p) == 0);
    CHECK(out == logs->json);

    json j = json::parse(logs->json);
    auto &rl = j["resourceLogs"][0];
    std::map<std::string, std::string> res;
    for (auto &ra : rl["resource"]["attributes"]) res[ra["key"]] = ra["value"]["stringValue"];
    CHECK(res["service.name"] == "test");
    CHECK(res["service.version"] == "4.2.0");
    CHECK(res["service.instance.id"].size() == 36);
    CHECK(res["session.id"].size() == 36);
    CHECK(res["telemetry.sdk.name"] == "telltale");
    json rec;
    for (auto &lr : rl["scopeLogs"][0]["logRecords"])
        if (lr["severityNumber"] == 13) rec = lr;
    REQUIRE(!rec.is_null());
    CHECK(rec["timeUnixNano"].is_string());
    CHECK(rec["body"]["stringValue"] == "inside \"the\" request \xC3\xA9");
    CHECK(rec["severityText"] == "WARN");
    CHECK(rec["traceId"] == tp.substr(3, 32));
    CHECK(rec["spanId"] == tp.substr(36, 16));
    std::map<std::string, json> la;
    for (auto &at : rec["attributes"]) la[at["key"]] = at["value"];
    CHECK(la["user"]["stringValue"] == "u-1");
    CHECK(la["quote\"key"]["stringValue"] == "back\\slash \"q\" \n\t\x01 \xC3\xA9 \xF0\x9F\x98\x80");
    CHECK(la["n"]["stringValue"] == "42");
    CHECK(la["thread.id"]["intValue"].is_string());
    CHECK(la.size() == 4);

    json t = json::parse(traces->json);
    auto &spans = t["resourceSpans"][0]["scopeSpans"][0]["spans"];
    REQUIRE(spans.size() == 2);
    json http = spans[0]["kind"] == 3 ? spans[0] : spans[1];
    json internal = spans[0]["kind"] == 1 ? spans[0] : spans[1];
    CHECK(http["traceId"] == tp.substr(3, 32));
    CHECK(http["startTimeUnixNano"].is_string());
    CHECK(http["endTimeUnixNano"].is_string());
    CHECK(std::stoull(http["endTimeUnixNano"].get<std::string>()) >= std::stoull(http["startTimeUnixNano"].get<std::string>()));
    std::map<std::string, json> attrs;
    for (auto &at : http["attributes"]) attrs[at["key"]] = at["value"];
    CHECK(attrs["http.request.method"]["stringValue"] == "GET");
    CHECK(attrs["url.path"]["stringValue"] == "/v1/items");
    CHECK(attrs["server.address"]["stringValue"] == "api.example.com");
    CHECK(attrs["http.response.status_code"]["intValue"] == "503");
    CHECK(attrs["error.type"]["stringValue"] == "503");
    CHECK(attrs["telltale.server_id.x-reqid"]["stringValue"] == "srv-123");
    CHECK(attrs["telltale.server_id.x-request-id"]["stringValue"] == "a\"b\\c");
    CHECK(http["status"]["code"] == 2);
    CHECK(internal["name"] == "load settings");
    CHECK(!internal.contains("status"));

    // gzip, when asked for.
    OtlpServer srv2;
    std::string ep2 = srv2.url();
    tt_options og = upload_opts(ep2);
    og.compression = TT_CODEC_GZIP;
    c = open_client(d.file("b.db"), og);
    REQUIRE(tt_consent_set(c, TT_CONSENT_GRANTED, nullptr) == TT_OK);
    log_seq(c, 0, 10);
    REQUIRE(tt_upload_flush(c, 30000) == TT_OK);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    REQUIRE(!srv2.accepted().empty());
    CHECK(srv2.accepted()[0].encoding == "gzip");
    CHECK(seqs_received(srv2).size() == 10);
}

TEST_CASE("tt_close never hangs on a stalled server; bad endpoints are refused") {
    OtlpServer srv;
    srv.set_plan([](int, const std::string &, const std::string &) {
        Plan p;
        p.fault = Fault::kStall;
        p.stall_ms = 30000;
        return p;
    });
    TempDir d;
    std::string ep = srv.url();
    tt_options o = upload_opts(ep);
    o.upload_timeout_ms = 60000;
    tt_client *c = open_client(d.file("a.db"), o);
    REQUIRE(tt_consent_set(c, TT_CONSENT_GRANTED, nullptr) == TT_OK);
    log_seq(c, 0, 100);
    REQUIRE(tt_flush(c, 10000) == TT_OK);
    wait_for([&] { return srv.requests() >= 1; }, 10000);
    auto t0 = std::chrono::steady_clock::now();
    CHECK(tt_close(c, 500) == TT_OK);
    MESSAGE("tt_close with a stalled upload took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count() << " ms");
    srv.stop();

    tt_options bad = TT_OPTIONS_INIT;
    std::string db = d.file("b.db");
    bad.db_path = db.c_str();
    bad.app_name = "t";
    bad.endpoint = "ftp://example.com";
    tt_client *x = nullptr;
    CHECK(tt_open(&x, &bad) == TT_EINVAL);
    CHECK(std::string(tt_error_last()->message).find("not an http:// or https:// URL") != std::string::npos);
    bad.endpoint = nullptr;
    REQUIRE(tt_open(&x, &bad) == TT_OK);
    CHECK(tt_upload_flush(x, 100) == TT_EINVAL);  // no endpoint: never uploads
    REQUIRE(tt_close(x, 1000) == TT_OK);
}
