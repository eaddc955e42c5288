// Requests and the libcurl helper against real loopback servers: ids captured, the
// traceparent the server saw is the one stored, failures recorded with curl's words.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <telltale/curl.h>

#include "util.hpp"

using namespace tt_test;

namespace {

// A loopback HTTP server that answers with server request ids and remembers the
// traceparent of every request it saw.
struct IdServer {
    httplib::Server srv;
    std::thread th;
    int port = 0;
    std::mutex mu;
    std::vector<std::string> traceparents;
    std::atomic<int> seq{0};

    IdServer() {
        srv.Get("/api/items", [this](const httplib::Request &req, httplib::Response &res) {
            remember(req);
            int n = ++seq;
            res.set_header("X-Reqid", "reqid-" + std::to_string(n));
            res.set_header("X-Request-Id", "rid-" + std::to_string(n));
            res.set_header("X-Log", "svc.a:1;svc.b:2");
            res.set_header("x-amz-request-id", "AMZ" + std::to_string(n));
            res.set_header("Server-Timing", "db;dur=53");
            res.set_header("X-Custom-Trace", "custom-" + std::to_string(n));
            res.set_header("X-Unrelated", "not kept");
            res.set_content("{\"items\":[]}", "application/json");
        });
        srv.Get("/fail", [this](const httplib::Request &req, httplib::Response &res) {
            remember(req);
            res.status = 503;
            res.set_header("X-Reqid", "reqid-fail");
            res.set_content("down for maintenance", "text/plain");
        });
        srv.Get("/slow", [this](const httplib::Request &req, httplib::Response &res) {
            remember(req);
            std::this_thread::sleep_for(std::chrono::milliseconds(1500));
            res.set_content("late", "text/plain");
        });
        srv.Get("/huge-id", [this](const httplib::Request &req, httplib::Response &res) {
            remember(req);
            res.set_header("X-Reqid", std::string(20000, 'z'));
            for (int i = 0; i < 40; ++i) res.set_header("X-Request-Id", "dup-" + std::to_string(i));
            res.set_content("ok", "text/plain");
        });
        port = srv.bind_to_any_port("127.0.0.1");
        th = std::thread([this] { srv.listen_after_bind(); });
        while (!srv.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~IdServer() {
        srv.stop();
        th.join();
    }
    void remember(const httplib::Request &req) {
        std::lock_guard<std::mutex> lk(mu);
        traceparents.push_back(req.get_header_value("traceparent"));
    }
    std::string url(const std::string &path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }
};

// Accepts one connection, reads the request, then resets it (RST, no response).
struct ResetServer {
    int fd = -1, port = 0;
    std::thread th;
    ResetServer() {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
        listen(fd, 4);
        socklen_t len = sizeof a;
        getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
        port = ntohs(a.sin_port);
        th = std::thread([this] {
            int c = accept(fd, nullptr, nullptr);
            if (c < 0) return;
            char buf[4096];
            (void)!read(c, buf, sizeof buf);
            linger l{1, 0};  // close with RST
            setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof l);
            close(c);
        });
    }
    ~ResetServer() {
        shutdown(fd, SHUT_RDWR);
        close(fd);
        th.join();
    }
};

// A port nothing listens on.
int closed_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
}

size_t sink_body(char *, size_t size, size_t n, void *) { return size * n; }

struct AppHeaders {
    std::vector<std::string> lines;
};
size_t app_header_cb(char *buf, size_t size, size_t n, void *ud) {
    static_cast<AppHeaders *>(ud)->lines.emplace_back(buf, size * n);
    return size * n;
}

// One instrumented curl call; returns the CURLcode.
CURLcode fetch(tt_client *c, const std::string &url, AppHeaders *app = nullptr, long timeout_ms = 5000,
               curl_slist *headers = nullptr, std::string *traceparent = nullptr) {
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink_body);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    tt_curl *t = nullptr;
    tt_curl_options o = TT_CURL_OPTIONS_INIT;
    o.headers = headers;
    if (app) {
        o.header_fn = app_header_cb;
        o.header_data = app;
    }
    REQUIRE(tt_curl_begin(&t, c, e, &o) == TT_OK);
    if (traceparent) *traceparent = tt_curl_traceparent(t);
    CURLcode rc = curl_easy_perform(e);
    CHECK(tt_curl_end(t, rc) == TT_OK);
    curl_easy_cleanup(e);
    return rc;
}

tt_client *open_with_capture(const std::string &db) {
    tt_options o = TT_OPTIONS_INIT;
    o.request_id_headers = "X-Custom-Trace";
    o.url_query_keys = "page";
    return open_client(db, o);
}

}  // namespace

TEST_CASE("curl helper: ids captured, the server's traceparent is the stored one, query stripped") {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    IdServer server;
    TempDir d;
    std::string db = d.file("a.db");
    tt_client *c = open_with_capture(db);
    REQUIRE(c);
    AppHeaders app;
    curl_slist *mine = curl_slist_append(nullptr, "X-App: kept");
    std::string tp;
    CHECK(fetch(c, server.url("/api/items?token=SECRET&page=2#frag"), &app, 5000, mine, &tp) == CURLE_OK);
    // The app's list is untouched.
    CHECK(std::string(mine->data) == "X-App: kept");
    CHECK(mine->next == nullptr);
    curl_slist_free_all(mine);
    // The app's header callback saw every header, ours included.
    bool saw_unrelated = false, saw_reqid = false;
    for (auto &l : app.lines) {
        saw_unrelated |= l.rfind("X-Unrelated:", 0) == 0;
        saw_reqid |= l.rfind("X-Reqid:", 0) == 0;
    }
    CHECK(saw_unrelated);
    CHECK(saw_reqid);
    CHECK(app.lines.size() >= 9);
    REQUIRE(tt_flush(c, 10000) == TT_OK);
    tt_stats s = stats_of(c);
    CHECK(s.requests == 1);
    CHECK(s.requests_dropped == 0);
    REQUIRE(tt_close(c, 10000) == TT_OK);

    REQUIRE(server.traceparents.size() == 1);
    std::string seen = server.traceparents[0];
    CHECK(seen == tp);
    REQUIRE(seen.size() == 55);
    std::string trace = seen.substr(3, 32), span = seen.substr(36, 16);
    CHECK(sql_text(db, "SELECT trace_id FROM requests") == trace);
    CHECK(sql_text(db, "SELECT span_id FROM requests") == span);
    CHECK(sql_text(db, "SELECT method || ' ' || scheme || '://' || host || ':' || port || path FROM requests") ==
          "GET http://127.0.0.1:" + std::to_string(server.port) + "/api/items?page=2");
    CHECK(sql_int(db, "SELECT status FROM requests") == 200);
    CHECK(sql_text(db, "SELECT error FROM requests") == "<none>");
    CHECK(sql_text(db, "SELECT server_ip FROM requests") == "127.0.0.1");
    CHECK(sql_int(db, "SELECT server_port FROM requests") == server.port);
    CHECK(sql_text(db, "SELECT json_extract(server_ids,'$.\"x-reqid\"') FROM requests") == "reqid-1");
    CHECK(sql_text(db, "SELECT json_extract(server_ids,'$.\"x-request-id\"') FROM requests") == "rid-1");
    CHECK(sql_text(db, "SELECT json_extract(server_ids,'$.\"x-log\"') FROM requests") == "svc.a:1;svc.b:2");
    CHECK(sql_text(db, "SELECT json_extract(server_ids,'$.\"x-amz-request-id\"') FROM requests") == "AMZ1");
    CHECK(sql_text(db, "SELECT json_extract(server_ids,'$.\"server-timing\"') FROM requests") == "db;dur=53");
    CHECK(sql_text(db, "SELECT json_extract(server_ids,'$.\"x-custom-trace\"') FROM requests") == "custom-1");
    CHECK(sql_int(db, "SELECT count(*) FROM request_ids WHERE name='x-unrelated'") == 0);
    CHECK(sql_int(db, "SELECT count(*) FROM request_ids WHERE value='reqid-1'") == 1);
    CHECK(sql_int(db, "SELECT json_extract(timing,'$.total_us') > 0 FROM requests") == 1);
    CHECK(sql_int(db, "SELECT json_extract(timing,'$.connect_us') >= 0 FROM requests") == 1);
    CHECK(sql_int(db, "SELECT json_type(timing,'$.tls_us') IS NULL FROM requests") == 1);  // plain HTTP: no TLS
    CHECK(sql_int(db, "SELECT bytes_down FROM requests") == 12);
    CHECK(sql_int(db, "SELECT duration_ns > 0 FROM requests") == 1);
    CHECK(sql_text(db, "SELECT kind FROM requests") == "http");
    // Nothing of the secret query string is anywhere in the file.
    CHECK(sql_int(db, "SELECT count(*) FROM requests WHERE path LIKE '%SECRET%' OR path LIKE '%frag%'") == 0);
}

TEST_CASE("curl helper: refused, timed out, reset and HTTP errors recorded with curl's words") {
    IdServer server;
    ResetServer reset;
    TempDir d;
    std::string db = d.file("a.db");
    tt_client *c = open_with_capture(db);
    REQUIRE(c);
    CHECK(fetch(c, "http://127.0.0.1:" + std::to_string(closed_port()) + "/x") == CURLE_COULDNT_CONNECT);
    CHECK(fetch(c, server.url("/slow"), nullptr, 300) == CURLE_OPERATION_TIMEDOUT);
    CURLcode rc = fetch(c, "http://127.0.0.1:" + std::to_string(reset.port) + "/r");
    CHECK((rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING || rc == CURLE_SEND_ERROR));
    CHECK(fetch(c, server.url("/fail")) == CURLE_OK);
    REQUIRE(tt_close(c, 10000) == TT_OK);

    CHECK(sql_text(db, "SELECT error FROM requests WHERE id=1").find("Couldn't connect to server") != std::string::npos);
    CHECK(sql_int(db, "SELECT status FROM requests WHERE id=1") == 0);
    CHECK(sql_int(db, "SELECT json_type(timing,'$.first_byte_us') IS NULL FROM requests WHERE id=1") == 1);  // never reached
    CHECK(sql_text(db, "SELECT error FROM requests WHERE id=2").find("Timeout was reached") != std::string::npos);
    std::string e3 = sql_text(db, "SELECT error FROM requests WHERE id=3");
    INFO(e3);
    CHECK(e3.find("CURLE") != std::string::npos);
    CHECK(sql_int(db, "SELECT status FROM requests WHERE id=3") == 0);
    CHECK(sql_int(db, "SELECT status FROM requests WHERE id=4") == 503);
    CHECK(sql_text(db, "SELECT json_extract(server_ids,'$.\"x-reqid\"') FROM requests WHERE id=4") == "reqid-fail");
}

TEST_CASE("huge and repeated id headers are capped, never a crash") {
    IdServer server;
    TempDir d;
    std::string db = d.file("a.db");
    tt_client *c = open_with_capture(db);
    REQUIRE(c);
    CHECK(fetch(c, server.url("/huge-id")) == CURLE_OK);
    REQUIRE(tt_flush(c, 10000) == TT_OK);
    tt_stats s = stats_of(c);
    CHECK(s.headers_capped > 0);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    CHECK(sql_int(db, "SELECT length(value) FROM request_ids WHERE name='x-reqid'") == 512);
    // 40 X-Request-Id lines are one header (RFC 9110): joined by ", ", within the cap.
    CHECK(sql_int(db, "SELECT count(*) FROM request_ids") == 2);
    CHECK(sql_text(db, "SELECT value FROM request_ids WHERE name='x-request-id'").rfind("dup-0, dup-1, dup-2", 0) == 0);
    CHECK(sql_int(db, "SELECT length(value) <= 512 FROM request_ids WHERE name='x-request-id'") == 1);
    CHECK(sql_int(db, "SELECT json_valid(server_ids) FROM requests") == 1);
}

TEST_CASE("8 threads x 200 requests: every one recorded, with its own ids") {
    IdServer server;
    TempDir d;
    std::string db = d.file("a.db");
    tt_client *c = open_with_capture(db);
    REQUIRE(c);
    const int threads = 8, per = 200;
    std::vector<std::thread> ts;
    std::atomic<int> ok{0};
    for (int t = 0; t < threads; ++t)
        ts.emplace_back([&] {
            CURL *e = curl_easy_init();
            for (int i = 0; i < per; ++i) {
                curl_easy_setopt(e, CURLOPT_URL, server.url("/api/items").c_str());
                curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink_body);
                curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
                tt_curl *tc = nullptr;
                if (tt_curl_begin(&tc, c, e, nullptr) != TT_OK) continue;
                tt_log(c, TT_DEBUG, "inside the request");
                CURLcode rc = curl_easy_perform(e);
                if (tt_curl_end(tc, rc) == TT_OK && rc == CURLE_OK) ++ok;
            }
            curl_easy_cleanup(e);
        });
    for (auto &t : ts) t.join();
    REQUIRE(tt_flush(c, 30000) == TT_OK);
    tt_stats s = stats_of(c);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    CHECK(ok == threads * per);
    CHECK(s.requests == threads * per);
    CHECK(s.requests_dropped == 0);
    CHECK(sql_int(db, "SELECT count(*) FROM requests") == threads * per);
    CHECK(sql_int(db, "SELECT count(DISTINCT trace_id) FROM requests") == threads * per);
    CHECK(sql_int(db, "SELECT count(DISTINCT json_extract(server_ids,'$.\"x-reqid\"')) FROM requests") == threads * per);
    // Each request's log event carries that request's trace id.
    CHECK(sql_int(db, "SELECT count(*) FROM events e JOIN requests r ON e.trace_id = r.trace_id AND e.span_id = r.span_id") ==
          threads * per);
    std::set<std::string> seen(server.traceparents.begin(), server.traceparents.end());
    CHECK(seen.size() == static_cast<size_t>(threads * per));
}

TEST_CASE("the plain request API: context, nesting, parents, misuse") {
    TempDir d;
    std::string db = d.file("a.db");
    tt_client *c = open_client(db);
    REQUIRE(c);
    tt_context ctx;
    tt_context_get(&ctx);
    CHECK(ctx.valid == 0);

    tt_span *outer = nullptr;
    REQUIRE(tt_span_begin(&outer, c, "load settings") == TT_OK);
    tt_log(c, TT_INFO, "in the span");
    tt_request *r = nullptr;
    REQUIRE(tt_request_begin(&r, c, "post", "https://user:pw@API.Example.com/v1/save?x=1") == TT_OK);
    std::string tp = tt_request_traceparent(r);
    char trace[33];
    REQUIRE(tt_request_trace_id(r, trace) == TT_OK);
    CHECK(tp.substr(3, 32) == trace);
    tt_log(c, TT_INFO, "in the request");
    CHECK(tt_request_header(r, "x-reqid", "  srv-77 ") == TT_OK);
    CHECK(tt_request_header(r, "Content-Type", "text/plain") == TT_OK);
    CHECK(tt_request_bytes(r, 10, 20) == TT_OK);
    CHECK(tt_request_end(r, 201, nullptr) == TT_OK);
    tt_log(c, TT_INFO, "back in the span");
    REQUIRE(tt_span_end(outer, nullptr) == TT_OK);
    tt_log(c, TT_INFO, "outside");
    tt_context_get(&ctx);
    CHECK(ctx.valid == 0);

    // Misuse fails loudly.
    CHECK(tt_request_end(r, 200, nullptr) == TT_EMISUSE);
    CHECK(std::string(tt_error_last()->message).find("already ended") != std::string::npos);
    CHECK(tt_span_end(outer, nullptr) == TT_EMISUSE);
    CHECK(tt_request_end(nullptr, 200, nullptr) == TT_EMISUSE);
    CHECK(std::string(tt_request_traceparent(r)).empty());
    CHECK(std::string(tt_request_traceparent(nullptr)).empty());
    tt_request *bad = nullptr;
    CHECK(tt_request_begin(&bad, c, nullptr, "http://x/") == TT_EINVAL);
    CHECK(tt_request_begin(&bad, c, "GET", nullptr) == TT_EINVAL);
    CHECK(tt_request_begin(nullptr, c, "GET", "http://x/") == TT_EINVAL);
    CHECK(tt_curl_begin(nullptr, c, reinterpret_cast<CURL *>(0x1), nullptr) == TT_EINVAL);
    CHECK(tt_request_begin(&bad, nullptr, "GET", "http://x/") == TT_EMISUSE);
    tt_request_options ro = TT_REQUEST_OPTIONS_INIT;
    ro.version = 9;
    CHECK(tt_request_begin_opts(&bad, c, &ro) == TT_EMISUSE);

    // A valid incoming parent is continued; a malformed one is ignored and counted.
    ro = TT_REQUEST_OPTIONS_INIT;
    ro.method = "GET";
    ro.url = "http://h/p";
    ro.parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    REQUIRE(tt_request_begin_opts(&r, c, &ro) == TT_OK);
    CHECK(std::string(tt_request_traceparent(r)).substr(0, 36) == "00-4bf92f3577b34da6a3ce929d0e0e4736-");
    REQUIRE(tt_request_end(r, 200, nullptr) == TT_OK);
    ro.parent = "00-00000000000000000000000000000000-00f067aa0ba902b7-01";
    REQUIRE(tt_request_begin_opts(&r, c, &ro) == TT_OK);
    CHECK(std::string(tt_request_traceparent(r)).find("4bf92f35") == std::string::npos);
    CHECK(tt_request_end(r, 1000, nullptr) == TT_EINVAL);  // still open after a bad status
    REQUIRE(tt_request_end(r, 0, "connection refused") == TT_OK);

    // Detached: does not become the thread's context; carried by hand to another thread.
    ro.parent = nullptr;
    ro.flags = TT_REQUEST_DETACHED;
    REQUIRE(tt_request_begin_opts(&r, c, &ro) == TT_OK);
    tt_context_get(&ctx);
    CHECK(ctx.valid == 0);
    REQUIRE(tt_span_begin(&outer, c, "worker handoff") == TT_OK);
    tt_context_get(&ctx);
    CHECK(ctx.valid == 1);
    std::thread([&] {
        tt_context_set(&ctx);
        tt_log(c, TT_INFO, "on the worker");
        tt_context_set(nullptr);
        tt_log(c, TT_INFO, "worker, no context");
    }).join();
    REQUIRE(tt_span_end(outer, nullptr) == TT_OK);
    REQUIRE(tt_request_end(r, 204, nullptr) == TT_OK);

    REQUIRE(tt_flush(c, 10000) == TT_OK);
    tt_stats s = stats_of(c);
    CHECK(s.bad_traceparents == 1);
    CHECK(s.requests == 6);
    REQUIRE(tt_close(c, 10000) == TT_OK);

    // The request is a child of the span; events carry the right ids.
    std::string span_trace = sql_text(db, "SELECT trace_id FROM requests WHERE name='load settings'");
    std::string span_id = sql_text(db, "SELECT span_id FROM requests WHERE name='load settings'");
    CHECK(sql_text(db, "SELECT trace_id FROM requests WHERE method='POST'") == span_trace);
    CHECK(sql_text(db, "SELECT parent_span_id FROM requests WHERE method='POST'") == span_id);
    CHECK(sql_text(db, "SELECT host || path FROM requests WHERE method='POST'") == "api.example.com/v1/save");
    CHECK(sql_int(db, "SELECT count(*) FROM requests WHERE host LIKE '%user%' OR path LIKE '%x=1%'") == 0);
    CHECK(sql_text(db, "SELECT json_extract(server_ids,'$.\"x-reqid\"') FROM requests WHERE method='POST'") == "srv-77");
    CHECK(sql_int(db, "SELECT bytes_up + bytes_down FROM requests WHERE method='POST'") == 30);
    CHECK(sql_text(db, "SELECT span_id FROM events WHERE msg='in the span'") == span_id);
    CHECK(sql_text(db, "SELECT span_id FROM events WHERE msg='back in the span'") == span_id);
    CHECK(sql_text(db, "SELECT span_id FROM events WHERE msg='in the request'") ==
          sql_text(db, "SELECT span_id FROM requests WHERE method='POST'"));
    CHECK(sql_text(db, "SELECT trace_id FROM events WHERE msg='outside'") == "<none>");
    CHECK(sql_text(db, "SELECT span_id FROM events WHERE msg='on the worker'") ==
          sql_text(db, "SELECT span_id FROM requests WHERE name='worker handoff'"));
    CHECK(sql_text(db, "SELECT trace_id FROM events WHERE msg='worker, no context'") == "<none>");
    CHECK(sql_text(db, "SELECT error FROM requests WHERE status=0 AND kind='http'") == "connection refused");
}

TEST_CASE("a request ended after its client closed is refused, not a crash") {
    TempDir d;
    tt_client *c = open_client(d.file("a.db"));
    REQUIRE(c);
    tt_request *r = nullptr;
    REQUIRE(tt_request_begin(&r, c, "GET", "http://h/") == TT_OK);
    REQUIRE(tt_close(c, 10000) == TT_OK);
    CHECK(tt_request_header(r, "X-Reqid", "x") == TT_OK);  // harmless: nothing is written
    CHECK(tt_request_end(r, 200, nullptr) == TT_EMISUSE);
    CHECK(std::string(tt_error_last()->message).find("closed before the request ended") != std::string::npos);
    tt_context ctx;
    tt_context_get(&ctx);
    CHECK(ctx.valid == 0);
}
