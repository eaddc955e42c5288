// The wrapper's consent and upload calls (Client::consent, Client::upload_flush,
// telltale::network_changed, the tt_options version 3 setters) against a real loopback
// OTLP/HTTP receiver: cpp-httplib on 127.0.0.1 that takes POST /v1/logs and /v1/traces.
#include <doctest/doctest.h>
#include <zstd.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
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

// One POST the receiver answered.
struct Post {
    std::string path, batch, encoding, content_type, auth, user_agent;
    std::string body;  // decoded JSON
    int status = 0;    // what the receiver answered
};

// A loopback OTLP/HTTP receiver: answers every POST to /v1/logs and /v1/traces with
// status() (200 unless told otherwise) and keeps what it got.
class Receiver {
public:
    Receiver() {
        auto take = [this](const httplib::Request &req, httplib::Response &res) {
            Post p;
            p.path = req.path;
            p.batch = req.get_header_value("X-Telltale-Batch");
            p.encoding = req.get_header_value("Content-Encoding");
            p.content_type = req.get_header_value("Content-Type");
            p.auth = req.get_header_value("Authorization");
            p.user_agent = req.get_header_value("User-Agent");
            p.body = decode(p.encoding, req.body);
            p.status = status_.load();
            res.status = p.status;
            res.set_content(p.status < 300 ? "{}" : "{\"error\":\"injected\"}", "application/json");
            std::lock_guard<std::mutex> lk(mu_);
            posts_.push_back(std::move(p));
        };
        srv_.Post("/v1/logs", take);
        srv_.Post("/v1/traces", take);
        port_ = srv_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { srv_.listen_after_bind(); });
        for (int i = 0; i < 500 && !srv_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ~Receiver() {
        srv_.stop();
        thread_.join();
    }
    Receiver(const Receiver &) = delete;
    Receiver &operator=(const Receiver &) = delete;

    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    void set_status(int s) { status_ = s; }
    std::vector<Post> posts() {
        std::lock_guard<std::mutex> lk(mu_);
        return posts_;
    }
    // The POSTs answered with 2xx to `path`.
    std::vector<Post> accepted(const std::string &path) {
        std::vector<Post> out;
        for (auto &p : posts())
            if (p.path == path && p.status < 300) out.push_back(p);
        return out;
    }
    // Log records delivered (2xx), all batches together.
    std::vector<json> log_records() {
        std::vector<json> out;
        for (auto &p : accepted("/v1/logs")) {
            json body = json::parse(p.body);  // a named value: a range-for over a temporary's member would dangle
            for (auto &rl : body["resourceLogs"])
                for (auto &sl : rl["scopeLogs"])
                    for (auto &lr : sl["logRecords"]) out.push_back(lr);
        }
        return out;
    }
    std::vector<json> spans() {
        std::vector<json> out;
        for (auto &p : accepted("/v1/traces")) {
            json body = json::parse(p.body);
            for (auto &rs : body["resourceSpans"])
                for (auto &ss : rs["scopeSpans"])
                    for (auto &sp : ss["spans"]) out.push_back(sp);
        }
        return out;
    }

private:
    static std::string decode(const std::string &encoding, const std::string &raw) {
        if (encoding != "zstd") return raw;  // identity (gzip is inflated by cpp-httplib itself)
        unsigned long long n = ZSTD_getFrameContentSize(raw.data(), raw.size());
        if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN) return "not a zstd frame";
        std::string out(static_cast<size_t>(n), '\0');
        size_t got = ZSTD_decompress(&out[0], out.size(), raw.data(), raw.size());
        if (ZSTD_isError(got)) return "bad zstd frame";
        out.resize(got);
        return out;
    }

    httplib::Server srv_;
    int port_ = 0;
    std::thread thread_;
    std::atomic<int> status_{200};
    std::mutex mu_;
    std::vector<Post> posts_;
};

// Options for a client that uploads to `endpoint` quickly, and keeps every event.
telltale::Options upload_opts(const std::string &path, const std::string &endpoint) {
    return telltale::Options()
        .db_path(path)
        .app_name("cpp-upload-test")
        .app_version("3.1.4")
        .endpoint(endpoint)
        .full_policy(TT_FULL_BLOCK)
        .upload_interval_ms(50)
        .retry_base_ms(10)
        .retry_max_ms(200)
        .upload_timeout_ms(2000)
        .consent_policy_version("2026-11");
}

// The value of attribute `key` of an OTLP record ("" if absent).
std::string attr(const json &record, const std::string &key) {
    for (auto &a : record["attributes"])
        if (a["key"] == key) return a["value"].contains("stringValue") ? a["value"]["stringValue"].get<std::string>()
                                                                       : a["value"]["intValue"].get<std::string>();
    return "";
}

}  // namespace

static_assert(noexcept(telltale::network_changed()));

TEST_CASE("Options: a setter for every tt_options version 3 field") {
    telltale::Options o = telltale::Options()
                              .db_path("a.db")
                              .app_name("x")
                              .auth_token("s3cret")
                              .ca_file("/etc/app/ca.pem")
                              .proxy("http://proxy:3128")
                              .compression(TT_CODEC_GZIP)
                              .upload_timeout_ms(1234)
                              .upload_batch_events(567)
                              .max_upload_bytes_per_hour(8910)
                              .consent_policy_version("2026-11")
                              .consent_flags(TT_CONSENT_KEEP_ON_POLICY_CHANGE);
    tt_options c = o.c_options();
    CHECK(c.version == TT_OPTIONS_VERSION);
    CHECK(std::string(c.auth_token) == "s3cret");
    CHECK(std::string(c.ca_file) == "/etc/app/ca.pem");
    CHECK(std::string(c.proxy) == "http://proxy:3128");
    CHECK(c.compression == TT_CODEC_GZIP);
    CHECK(c.upload_timeout_ms == 1234);
    CHECK(c.upload_batch_events == 567);
    CHECK(c.max_upload_bytes_per_hour == 8910);
    CHECK(std::string(c.consent_policy_version) == "2026-11");
    CHECK(c.consent_flags == TT_CONSENT_KEEP_ON_POLICY_CHANGE);

    // Unset: NULL and 0, the library's defaults.
    tt_options d = telltale::Options().c_options();
    CHECK(d.auth_token == nullptr);
    CHECK(d.ca_file == nullptr);
    CHECK(d.proxy == nullptr);
    CHECK(d.consent_policy_version == nullptr);
    CHECK(d.compression == TT_CODEC_ZSTD);
    CHECK(d.upload_timeout_ms == 0);
    CHECK(d.upload_batch_events == 0);
    CHECK(d.max_upload_bytes_per_hour == 0);
    CHECK(d.consent_flags == 0);
}

TEST_CASE("nothing is sent before consent; upload_flush throws TT_ENOCONSENT, then delivers once granted") {
    Receiver rx;
    TempDir dir;
    std::string path = dir.file("up.db");
    telltale::Client c(upload_opts(path, rx.url()).auth_token("s3cret-token"));
    CHECK(c.consent() == TT_CONSENT_UNKNOWN);
    for (int i = 0; i < 50; ++i) c.log_attrs(TT_INFO, "before consent", {{"seq", std::to_string(i)}});
    c.flush();

    telltale::Error e = catch_error([&] { c.upload_flush(std::chrono::seconds(2)); });
    CHECK(e.code() == TT_ENOCONSENT);
    CHECK(std::string(e.name()) == "TT_ENOCONSENT");
    CHECK(e.doc() == "docs/errors.md#enoconsent");
    CHECK(e.message() == "tt_upload_flush: the user has not agreed to share usage data, so nothing is uploaded");
    CHECK(e.hint() == "ask the user, then call tt_consent_set(c, TT_CONSENT_GRANTED, policy_version)");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // six upload intervals
    CHECK(rx.posts().empty());
    CHECK(c.stats().pending_upload == 50);

    c.consent(TT_CONSENT_GRANTED);
    CHECK(c.consent() == TT_CONSENT_GRANTED);
    c.info("after consent");
    c.upload_flush(std::chrono::seconds(20));

    tt_stats s = c.stats();
    CHECK(s.pending_upload == 0);
    CHECK(s.uploaded == 52);  // 50 + the consent event + 1
    CHECK(s.upload_bytes > 0);
    CHECK(s.upload_dropped == 0);
    std::vector<json> records = rx.log_records();
    REQUIRE(records.size() == 52);
    CHECK(records.front()["body"]["stringValue"] == "before consent");
    CHECK(attr(records.front(), "seq") == "0");
    CHECK(records.front()["timeUnixNano"].is_string());
    CHECK(records.front()["severityNumber"] == TT_INFO);
    CHECK(records.front()["severityText"] == "INFO");
    bool consent_event = false;
    for (auto &r : records) consent_event |= attr(r, "telltale.consent") == "granted" && attr(r, "telltale.consent_policy") == "2026-11";
    CHECK(consent_event);

    auto logs = rx.accepted("/v1/logs");
    REQUIRE(!logs.empty());
    CHECK(logs[0].content_type == "application/json");
    CHECK(logs[0].encoding == "zstd");
    CHECK(logs[0].auth == "Bearer s3cret-token");
    CHECK(logs[0].user_agent == std::string("telltale/") + TT_VERSION_STRING);
    CHECK(logs[0].batch.size() == 36);

    // The resource says which app, install and session it is.
    json body = json::parse(logs[0].body);
    json resource = body["resourceLogs"][0]["resource"];
    CHECK(attr(resource, "service.name") == "cpp-upload-test");
    CHECK(attr(resource, "service.version") == "3.1.4");
    CHECK(attr(resource, "service.instance.id") == Db(path).text("SELECT value FROM meta WHERE key='install_id'"));
    CHECK(attr(resource, "session.id").size() == 36);

    // The answer is kept in the buffer, with its policy version.
    Db db(path);
    CHECK(db.text("SELECT value FROM meta WHERE key='consent_state'") == "granted");
    CHECK(db.text("SELECT value FROM meta WHERE key='consent_policy'") == "2026-11");
}

TEST_CASE("requests and spans go to /v1/traces as OTLP spans") {
    Receiver rx;
    TempDir dir;
    telltale::Client c(upload_opts(dir.file("spans.db"), rx.url()).compression(TT_CODEC_NONE));
    c.consent(TT_CONSENT_GRANTED);
    std::string trace;
    {
        telltale::Request req(c, "GET", "https://api.example.com/v1/items?token=secret");
        trace = req.trace_id();
        req.header("X-Request-Id", "srv-42");
        req.end(503);
        telltale::Span span(c, "load settings");
        span.end();
    }
    c.upload_flush(std::chrono::seconds(20));
    CHECK(c.stats().spans_uploaded == 2);

    auto traces = rx.accepted("/v1/traces");
    REQUIRE(!traces.empty());
    CHECK(traces[0].encoding.empty());  // TT_CODEC_NONE: no Content-Encoding
    std::vector<json> spans = rx.spans();
    REQUIRE(spans.size() == 2);
    json http = spans[0]["kind"] == 3 ? spans[0] : spans[1];
    json internal = spans[0]["kind"] == 1 ? spans[0] : spans[1];
    CHECK(http["traceId"] == trace);
    CHECK(http["name"] == "GET");
    CHECK(http["startTimeUnixNano"].is_string());
    CHECK(attr(http, "http.request.method") == "GET");
    CHECK(attr(http, "url.path") == "/v1/items");
    CHECK(attr(http, "url.query").empty());  // the query was not recorded, so it is not sent
    CHECK(attr(http, "server.address") == "api.example.com");
    CHECK(attr(http, "http.response.status_code") == "503");
    CHECK(attr(http, "telltale.server_id.x-request-id") == "srv-42");
    CHECK(http["status"]["code"] == 2);
    CHECK(internal["name"] == "load settings");
    CHECK(!internal.contains("status"));
}

TEST_CASE("DENIED purges what was not delivered and sends nothing more") {
    Receiver rx;
    rx.set_status(503);  // nothing gets through while the events pile up
    TempDir dir;
    std::string path = dir.file("denied.db");
    telltale::Client c(upload_opts(path, rx.url()));
    c.consent(TT_CONSENT_GRANTED);
    for (int i = 0; i < 100; ++i) c.info("pending {}", i);
    c.flush();
    CHECK(c.stats().pending_upload >= 100);

    c.consent(TT_CONSENT_DENIED);
    CHECK(c.consent() == TT_CONSENT_DENIED);
    CHECK(c.stats().pending_upload <= 1);  // only the "denied" event itself, never to be sent
    CHECK(Db(path).integer("SELECT count(*) FROM events WHERE msg LIKE 'pending %'") == 0);
    CHECK(Db(path).text("SELECT value FROM meta WHERE key='consent_state'") == "denied");

    c.info("logged while denied");
    rx.set_status(200);
    telltale::network_changed();
    CHECK(catch_error([&] { c.upload_flush(std::chrono::milliseconds(500)); }).code() == TT_ENOCONSENT);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    // A batch whose bytes were already on the wire when DENIED came may still be
    // answered and kept by the server (an abort cannot unsend them); nothing logged
    // after the answer, and nothing of the purged backlog sent later, may arrive.
    for (auto &rec : rx.log_records()) CHECK(rec["body"]["stringValue"] != "logged while denied");
    CHECK(rx.accepted("/v1/logs").size() <= 1);
}

TEST_CASE("the policy version: an answer for another version counts as unknown, unless kept") {
    Receiver rx;
    TempDir dir;
    std::string path = dir.file("policy.db");
    {
        telltale::Client c(upload_opts(path, rx.url()));
        c.consent(TT_CONSENT_GRANTED, "2025-01");  // an answer to an older policy than the app shows
        CHECK(c.consent() == TT_CONSENT_UNKNOWN);
        c.consent(TT_CONSENT_GRANTED);  // to the options' policy, "2026-11"
        CHECK(c.consent() == TT_CONSENT_GRANTED);
    }
    {
        telltale::Client c(upload_opts(path, rx.url()).consent_policy_version("2027-01"));
        CHECK(c.consent() == TT_CONSENT_UNKNOWN);
        CHECK(catch_error([&] { c.upload_flush(std::chrono::milliseconds(200)); }).code() == TT_ENOCONSENT);
    }
    {
        telltale::Client c(upload_opts(path, rx.url()).consent_policy_version("2027-01").consent_flags(TT_CONSENT_KEEP_ON_POLICY_CHANGE));
        CHECK(c.consent() == TT_CONSENT_GRANTED);
    }
}

TEST_CASE("upload_flush throws TT_ETIMEOUT saying what the server answered; network_changed() retries at once") {
    Receiver rx;
    rx.set_status(503);
    TempDir dir;
    // A long backoff: without network_changed() the retry would come only much later.
    telltale::Client c(upload_opts(dir.file("retry.db"), rx.url()).retry_base_ms(60000).retry_max_ms(60000));
    c.consent(TT_CONSENT_GRANTED);
    c.info("one event");
    telltale::Error e = catch_error([&] { c.upload_flush(std::chrono::milliseconds(800)); });
    CHECK(e.code() == TT_ETIMEOUT);
    CHECK(e.doc() == "docs/errors.md#etimeout");
    CHECK(e.message().find("tt_upload_flush: not everything was delivered within 800 ms; last attempt: ") == 0);
    CHECK(e.message().find("HTTP 503") != std::string::npos);
    CHECK(e.hint() == "nothing is lost: it stays in the buffer and is retried in the background");
    CHECK(c.stats().upload_failures >= 1);

    rx.set_status(200);
    size_t before = rx.posts().size();
    telltale::network_changed();
    for (int i = 0; i < 500 && rx.posts().size() == before; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(rx.posts().size() > before);  // retried long before the 60 s backoff
    c.upload_flush(std::chrono::seconds(20));
    CHECK(c.stats().pending_upload == 0);
    CHECK(rx.log_records().size() == 2);  // the consent event and "one event"
}

TEST_CASE("a batch the server refuses for good is dropped and counted") {
    Receiver rx;
    rx.set_status(400);
    TempDir dir;
    std::string path = dir.file("drop.db");
    telltale::Client c(upload_opts(path, rx.url()));
    c.consent(TT_CONSENT_GRANTED);
    c.info("refused");
    c.upload_flush(std::chrono::seconds(20));  // done: the server will never take it
    tt_stats s = c.stats();
    CHECK(s.upload_dropped == 2);
    CHECK(s.uploaded == 0);
    CHECK(Db(path).text("SELECT value FROM meta WHERE key='upload_last_drop'").find("HTTP 400") != std::string::npos);
}

TEST_CASE("misuse and bad values throw with the library's messages") {
    TempDir dir;

    SUBCASE("no endpoint: upload_flush is TT_EINVAL") {
        telltale::Client c(telltale::Options().db_path(dir.file("local.db")).app_name("x"));
        c.consent(TT_CONSENT_GRANTED);  // recorded all the same
        telltale::Error e = catch_error([&] { c.upload_flush(); });
        CHECK(e.code() == TT_EINVAL);
        CHECK(e.message() == "tt_upload_flush: this client has no endpoint, so nothing is ever uploaded");
        CHECK(e.hint() == "set opts.endpoint to the support backend's URL to upload");
    }

    SUBCASE("a value that is not a tt_consent: TT_EINVAL, nothing recorded") {
        telltale::Client c(telltale::Options().db_path(dir.file("bad.db")).app_name("x"));
        telltale::Error e = catch_error([&] { c.consent(static_cast<tt_consent>(3)  /* in the enum's range (UB-free), not a value */); });
        CHECK(e.code() == TT_EINVAL);
        CHECK(e.message() == "tt_consent_set: 3 is not a tt_consent");
        CHECK(e.hint() == "pass TT_CONSENT_GRANTED, TT_CONSENT_DENIED or TT_CONSENT_UNKNOWN");
        CHECK(c.consent() == TT_CONSENT_UNKNOWN);
    }

    SUBCASE("a closed or moved-from Client: TT_EMISUSE") {
        telltale::Client c(telltale::Options().db_path(dir.file("closed.db")).app_name("x").endpoint("http://127.0.0.1:9"));
        telltale::Client moved = std::move(c);
        CHECK(catch_error([&] { c.consent(TT_CONSENT_GRANTED); }).message().find("moved from") != std::string::npos);
        moved.close();
        telltale::Error e = catch_error([&] { moved.consent(TT_CONSENT_GRANTED); });
        CHECK(e.code() == TT_EMISUSE);
        CHECK(e.message() == "telltale::Client::consent: the client was already closed with close()");
        CHECK(catch_error([&] { moved.consent(TT_CONSENT_DENIED, "2026-11"); }).code() == TT_EMISUSE);
        CHECK(catch_error([&] { moved.consent(); }).code() == TT_EMISUSE);
        CHECK(catch_error([&] { moved.upload_flush(); }).message() ==
              "telltale::Client::upload_flush: the client was already closed with close()");
        telltale::network_changed();  // no client open: nothing happens
    }

    SUBCASE("option checks of version 3: the endpoint scheme, the codec") {
        telltale::Error e = catch_error([&] { telltale::Client c(telltale::Options().db_path(dir.file("e.db")).app_name("x").endpoint("ftp://example.com")); });
        CHECK(e.code() == TT_EINVAL);
        CHECK(e.message() == "tt_open: opts->endpoint \"ftp://example.com\" is not an http:// or https:// URL");
        CHECK(e.hint() == "pass the support backend's base URL, such as \"https://telemetry.example.com\" (NULL: never upload)");
        telltale::Error z = catch_error([&] {
            telltale::Client c(telltale::Options().db_path(dir.file("z.db")).app_name("x").compression(static_cast<tt_codec>(3) /* in range for the enum type (no UB), not a codec */));
        });
        CHECK(z.code() == TT_EINVAL);
        CHECK(z.message() == "tt_open: opts->compression is 3, not a tt_codec");
        CHECK(z.hint() == "use TT_CODEC_ZSTD (default), TT_CODEC_GZIP or TT_CODEC_NONE");
    }
}
