// Tests of telltale::Request, telltale::Span, telltale::Context and telltale::ContextScope
// (include/telltale/telltale.hpp) against the shared library, built as C++20 and C++17 with
// wrapper_test.cpp. What was recorded is read back from the real SQLite file.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include <telltale/telltale.hpp>

#include "util.hpp"

using tt_test::catch_error;
using tt_test::Db;
using tt_test::TempDir;

namespace {

telltale::Options trace_opts(const std::string &path) { return telltale::Options().db_path(path).app_name("cpp-trace-test"); }

std::string q(const std::string &s) { return "'" + s + "'"; }

}  // namespace

static_assert(!std::is_copy_constructible_v<telltale::Request>);
static_assert(!std::is_copy_assignable_v<telltale::Request>);
static_assert(std::is_nothrow_move_constructible_v<telltale::Request>);
static_assert(std::is_nothrow_move_assignable_v<telltale::Request>);
static_assert(std::is_nothrow_destructible_v<telltale::Request>);
static_assert(!std::is_copy_constructible_v<telltale::Span>);
static_assert(std::is_nothrow_move_constructible_v<telltale::Span>);
static_assert(std::is_nothrow_move_assignable_v<telltale::Span>);
static_assert(std::is_nothrow_destructible_v<telltale::Span>);
static_assert(std::is_nothrow_copy_constructible_v<telltale::Context>);
static_assert(!std::is_copy_constructible_v<telltale::ContextScope>);
static_assert(!std::is_move_constructible_v<telltale::ContextScope>);
static_assert(std::is_nothrow_destructible_v<telltale::ContextScope>);

TEST_CASE("Span and Request record rows with parent and child ids; events inside carry the span id") {
    TempDir dir;
    std::string path = dir.file("trace.db");
    telltale::Client c(trace_opts(path).request_id_headers("X-Custom-Trace, X-Other").url_query_keys("page"));
    CHECK(!telltale::Context::current());

    std::string span_trace, span_id, req_span, tp;
    {
        telltale::Span span(c, "load settings");
        REQUIRE(span.is_open());
        span_trace = span.trace_id();
        span_id = span.span_id();
        CHECK(span_trace.size() == 32);
        CHECK(span_id.size() == 16);
        CHECK(std::string(span.traceparent()) == "00-" + span_trace + "-" + span_id + "-01");
        CHECK(telltale::Context::current().span_id() == span_id);
        CHECK(c.info("in the span"));
        {
            telltale::Request req(c, "post", "https://user:pw@API.Example.com:8443/v1/save?token=SECRET&page=2#frag");
            tp = req.traceparent();
            CHECK(req.trace_id() == span_trace);  // a child: same trace
            req_span = req.span_id();
            CHECK(req_span != span_id);
            CHECK(tp == "00-" + span_trace + "-" + req_span + "-01");
            CHECK(telltale::Context::current().span_id() == req_span);
            char c_trace[33];
            REQUIRE(tt_request_trace_id(req.native_handle(), c_trace) == TT_OK);
            CHECK(req.trace_id() == c_trace);
            CHECK(c.info("in the request"));
            req.header("X-Reqid", "  srv-77 ");
            req.header("x-custom-trace", "custom-1");
            req.header("Content-Type", "text/plain");  // not an id header: not kept
            req.bytes(10, 20);
            CHECK(req.end(201));
            CHECK(!req.is_open());
            CHECK(req.native_handle() == nullptr);
            CHECK(std::string(req.traceparent()) == tp);  // still there after end()
            CHECK(telltale::Context::current().span_id() == span_id);
            CHECK(c.info("back in the span"));
        }
        CHECK(span.end());
    }
    CHECK(c.info("outside"));
    CHECK(!telltale::Context::current());
    c.flush();
    tt_stats s = c.stats();
    CHECK(s.requests == 2);
    CHECK(s.requests_dropped == 0);

    Db db(path);
    CHECK(db.integer("SELECT count(*) FROM requests") == 2);
    std::string span_row = " FROM requests WHERE span_id=" + q(span_id);
    CHECK(db.text("SELECT kind" + span_row) == "span");
    CHECK(db.text("SELECT name" + span_row) == "load settings");
    CHECK(db.text("SELECT trace_id" + span_row) == span_trace);
    CHECK(db.integer("SELECT parent_span_id IS NULL" + span_row) == 1);
    CHECK(db.integer("SELECT error IS NULL AND status IS NULL" + span_row) == 1);

    std::string req_row = " FROM requests WHERE span_id=" + q(req_span);
    CHECK(db.text("SELECT kind" + req_row) == "http");
    CHECK(db.text("SELECT method" + req_row) == "POST");
    CHECK(db.text("SELECT trace_id" + req_row) == span_trace);
    CHECK(db.text("SELECT parent_span_id" + req_row) == span_id);
    CHECK(db.integer("SELECT status" + req_row) == 201);
    CHECK(db.integer("SELECT error IS NULL" + req_row) == 1);
    CHECK(db.text("SELECT scheme || '://' || host || ':' || port || path" + req_row) == "https://api.example.com:8443/v1/save?page=2");
    CHECK(db.integer("SELECT bytes_up" + req_row) == 10);
    CHECK(db.integer("SELECT bytes_down" + req_row) == 20);
    CHECK(db.integer("SELECT duration_ns > 0" + req_row) == 1);
    CHECK(db.text("SELECT json_extract(server_ids, '$.\"x-reqid\"')" + req_row) == "srv-77");
    CHECK(db.text("SELECT json_extract(server_ids, '$.\"x-custom-trace\"')" + req_row) == "custom-1");
    CHECK(db.integer("SELECT count(*) FROM request_ids") == 2);
    CHECK(db.integer("SELECT count(*) FROM request_ids WHERE name='content-type'") == 0);
    CHECK(db.integer("SELECT count(*) FROM requests WHERE path LIKE '%SECRET%' OR path LIKE '%frag%' OR host LIKE '%user%'") == 0);

    CHECK(db.text("SELECT span_id FROM events WHERE msg='in the span'") == span_id);
    CHECK(db.text("SELECT trace_id FROM events WHERE msg='in the span'") == span_trace);
    CHECK(db.text("SELECT span_id FROM events WHERE msg='in the request'") == req_span);
    CHECK(db.text("SELECT trace_id FROM events WHERE msg='in the request'") == span_trace);
    CHECK(db.text("SELECT span_id FROM events WHERE msg='back in the span'") == span_id);
    CHECK(db.integer("SELECT trace_id IS NULL AND span_id IS NULL FROM events WHERE msg='outside'") == 1);
}

TEST_CASE("a Request continues an incoming traceparent; a malformed one is counted; DETACHED leaves the context alone") {
    TempDir dir;
    std::string path = dir.file("parent.db");
    telltale::Client c(trace_opts(path));
    const std::string incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    std::string continued, fresh, detached;
    {
        telltale::Request r(c, "GET", "http://h/continued", incoming);
        CHECK(r.trace_id() == "4bf92f3577b34da6a3ce929d0e0e4736");
        continued = r.span_id();
        CHECK(r.end(200));
    }
    {
        telltale::Request r(c, "GET", "http://h/fresh", "not a traceparent");
        CHECK(r.trace_id() != "4bf92f3577b34da6a3ce929d0e0e4736");
        fresh = r.span_id();
        CHECK(r.end(0, "connection refused"));
    }
    {
        telltale::Request r(c, "GET", "http://h/detached", {}, TT_REQUEST_DETACHED);
        CHECK(!telltale::Context::current());  // not this thread's context
        detached = r.span_id();
        CHECK(c.info("not in the detached request"));
        // Ended on another thread, as an event loop or a callback would.
        bool ok = false;
        std::thread([&] { ok = r.end(204); }).join();
        CHECK(ok);
        CHECK(!r.is_open());
    }
    c.flush();
    CHECK(c.stats().bad_traceparents == 1);
    CHECK(c.stats().requests == 3);

    Db db(path);
    CHECK(db.text("SELECT parent_span_id FROM requests WHERE span_id=" + q(continued)) == "00f067aa0ba902b7");
    CHECK(db.integer("SELECT parent_span_id IS NULL FROM requests WHERE span_id=" + q(fresh)) == 1);
    CHECK(db.text("SELECT error FROM requests WHERE span_id=" + q(fresh)) == "connection refused");
    CHECK(db.integer("SELECT status FROM requests WHERE span_id=" + q(fresh)) == 0);
    CHECK(db.integer("SELECT status FROM requests WHERE span_id=" + q(detached)) == 204);
    CHECK(db.integer("SELECT trace_id IS NULL FROM events WHERE msg='not in the detached request'") == 1);
}

TEST_CASE("the destructor ends an un-ended Request or Span as abandoned, also during unwinding") {
    TempDir dir;
    std::string path = dir.file("abandoned.db");
    telltale::Client c(trace_opts(path));
    std::string outer;
    {
        telltale::Span span(c, "outer");
        outer = span.span_id();
        { telltale::Request r(c, "GET", "http://h/abandoned"); }
        CHECK(telltale::Context::current().span_id() == outer);  // the request's end restored the span
        try {
            telltale::Request r(c, "GET", "http://h/thrown");
            throw std::runtime_error("boom");
        } catch (const std::runtime_error &) {
        }
        CHECK(telltale::Context::current().span_id() == outer);
    }  // the span is abandoned too
    CHECK(!telltale::Context::current());
    c.flush();
    CHECK(c.stats().requests == 3);

    Db db(path);
    const std::string abandoned = "abandoned (destroyed without end)";
    CHECK(std::string(telltale::abandoned_error) == abandoned);
    for (const char *p : {"/abandoned", "/thrown"}) {
        CAPTURE(p);
        std::string row = " FROM requests WHERE path='" + std::string(p) + "'";
        CHECK(db.text("SELECT error" + row) == abandoned);
        CHECK(db.integer("SELECT status" + row) == 0);
        CHECK(db.text("SELECT parent_span_id" + row) == outer);
    }
    CHECK(db.text("SELECT error FROM requests WHERE kind='span'") == abandoned);
    CHECK(db.text("SELECT name FROM requests WHERE kind='span'") == "outer");
}

TEST_CASE("misuse throws TT_EMISUSE: ended twice, used after end, moved from, client closed") {
    TempDir dir;
    std::string path = dir.file("misuse.db");
    telltale::Client c(trace_opts(path));

    SUBCASE("a Request ended twice, and used after end()") {
        telltale::Request r(c, "GET", "http://h/twice");
        std::string tp = r.traceparent();
        CHECK(r.end(200));
        telltale::Error e = catch_error([&] { r.end(200); });
        CHECK(e.code() == TT_EMISUSE);
        CHECK(std::string(e.name()) == "TT_EMISUSE");
        CHECK(e.doc() == "docs/errors.md#emisuse");
        CHECK(e.message() == "telltale::Request::end: this request was already ended");
        CHECK(e.hint() == "end a request exactly once; do not use it after end()");
        CHECK(catch_error([&] { r.header("X-Reqid", "x"); }).code() == TT_EMISUSE);
        CHECK(catch_error([&] { r.bytes(1, 2); }).code() == TT_EMISUSE);
        CHECK(std::string(r.traceparent()) == tp);
        c.flush();
        CHECK(Db(path).integer("SELECT count(*) FROM requests") == 1);  // recorded once
    }

    SUBCASE("a Span ended twice") {
        telltale::Span s(c, "twice");
        CHECK(s.end("failed once"));
        telltale::Error e = catch_error([&] { s.end(); });
        CHECK(e.code() == TT_EMISUSE);
        CHECK(e.message() == "telltale::Span::end: this span was already ended");
        c.flush();
        CHECK(Db(path).text("SELECT error FROM requests WHERE name='twice'") == "failed once");
        CHECK(Db(path).integer("SELECT count(*) FROM requests") == 1);
    }

    SUBCASE("a bad status is TT_EINVAL and leaves the request open") {
        telltale::Request r(c, "GET", "http://h/status");
        telltale::Error e = catch_error([&] { r.end(1000); });
        CHECK(e.code() == TT_EINVAL);
        CHECK(e.doc() == "docs/errors.md#einval");
        CHECK(e.message() == "tt_request_end: http_status 1000 is not an HTTP status");
        CHECK(r.is_open());
        CHECK(catch_error([&] { r.end(-1); }).code() == TT_EINVAL);
        CHECK(r.end(404));
        c.flush();
        CHECK(Db(path).integer("SELECT status FROM requests") == 404);
    }

    SUBCASE("moved from: calls throw, the destructor does nothing; the target ends it once") {
        telltale::Request a(c, "GET", "http://h/moved");
        std::string tp = a.traceparent();
        telltale::Request b = std::move(a);
        CHECK(!a.is_open());
        CHECK(std::string(a.traceparent()).empty());
        CHECK(a.trace_id().empty());
        CHECK(std::string(b.traceparent()) == tp);
        telltale::Error e = catch_error([&] { a.end(200); });
        CHECK(e.code() == TT_EMISUSE);
        CHECK(e.message() == "telltale::Request::end: this Request was moved from; it no longer owns a request");
        CHECK(e.hint() == "use the Request it was moved into");

        // Move assignment ends what the target held, as abandoned.
        telltale::Request other(c, "GET", "http://h/replaced", {}, TT_REQUEST_DETACHED);
        other = std::move(b);
        CHECK(std::string(other.traceparent()) == tp);
        CHECK(other.end(200));

        telltale::Span s1(c, "first");
        telltale::Span s2 = std::move(s1);
        CHECK(catch_error([&] { s1.end(); }).message() == "telltale::Span::end: this Span was moved from; it no longer owns a span");
        CHECK(s2.end());
        c.flush();
        Db db(path);
        CHECK(db.integer("SELECT status FROM requests WHERE path='/moved'") == 200);
        CHECK(db.integer("SELECT count(*) FROM requests WHERE path='/moved'") == 1);
        CHECK(db.text("SELECT error FROM requests WHERE path='/replaced'") == telltale::abandoned_error);
        CHECK(db.integer("SELECT count(*) FROM requests WHERE name='first'") == 1);
    }

    SUBCASE("the Client closed or moved: begin throws, end throws and the record is lost, the destructor is quiet") {
        telltale::Client c2(trace_opts(dir.file("closed.db")));
        telltale::Request open_at_close(c2, "GET", "http://h/at-close");
        {
            telltale::Request destroyed_after_close(c2, "GET", "http://h/destroyed", {}, TT_REQUEST_DETACHED);
            telltale::Span span_after_close(c2, "span at close");
            c2.close();
        }  // their destructors run on a closed client: no throw, no crash
        telltale::Error e = catch_error([&] { open_at_close.end(200); });
        CHECK(e.code() == TT_EMISUSE);
        CHECK(e.message() == "tt_request_end: the client was closed before the request ended; it was not recorded");
        CHECK(!open_at_close.is_open());

        telltale::Error b = catch_error([&] { telltale::Request r(c2, "GET", "http://h/late"); });
        CHECK(b.code() == TT_EMISUSE);
        CHECK(b.message() == "telltale::Request: the client was already closed with close()");
        CHECK(catch_error([&] { telltale::Span s(c2, "late"); }).message() == "telltale::Span: the client was already closed with close()");

        telltale::Client moved_to = std::move(c);
        telltale::Error m = catch_error([&] { telltale::Request r(c, "GET", "http://h/moved-client"); });
        CHECK(m.code() == TT_EMISUSE);
        CHECK(m.message().find("moved from") != std::string::npos);
    }
    CHECK(!telltale::Context::current());
}

TEST_CASE("ContextScope carries a context to another thread and restores the previous one") {
    TempDir dir;
    std::string path = dir.file("context.db");
    telltale::Client c(trace_opts(path));

    telltale::Span span(c, "handoff");
    telltale::Context ctx = telltale::Context::current();
    REQUIRE(ctx.valid());
    CHECK(ctx.trace_id() == span.trace_id());
    CHECK(ctx.span_id() == span.span_id());
    CHECK(ctx.traceparent() == span.traceparent());

    bool worker_had_context = true, worker_prev = true, worker_in_scope = false, worker_after_request = false, worker_after_scope = true;
    std::string worker_request;
    std::thread([&] {
        worker_had_context = telltale::Context::current().valid();
        {
            telltale::ContextScope scope(ctx);
            worker_prev = scope.previous().valid();
            worker_in_scope = telltale::Context::current().span_id() == ctx.span_id();
            c.info("on the worker");
            telltale::Request r(c, "GET", "http://h/from-worker");
            worker_request = r.span_id();
            r.end(200);
            worker_after_request = telltale::Context::current().span_id() == ctx.span_id();
        }
        worker_after_scope = telltale::Context::current().valid();
        c.info("worker, no context");
    }).join();
    CHECK_FALSE(worker_had_context);
    CHECK_FALSE(worker_prev);
    CHECK(worker_in_scope);
    CHECK(worker_after_request);
    CHECK_FALSE(worker_after_scope);

    // Scopes nest on one thread; an empty Context clears.
    {
        telltale::ContextScope cleared{telltale::Context()};
        CHECK(!telltale::Context::current());
        c.info("cleared");
        {
            telltale::ContextScope again(ctx);
            CHECK(telltale::Context::current().span_id() == span.span_id());
        }
        CHECK(!telltale::Context::current());
    }
    CHECK(telltale::Context::current().span_id() == span.span_id());

    // A Context from the C struct, e.g. handed over by C code.
    tt_context raw;
    tt_context_get(&raw);
    CHECK(telltale::Context(raw).span_id() == span.span_id());
    CHECK(telltale::Context().trace_id().empty());
    CHECK(telltale::Context().traceparent().empty());
    CHECK(span.end());
    c.flush();

    Db db(path);
    CHECK(db.text("SELECT span_id FROM events WHERE msg='on the worker'") == span.span_id());
    CHECK(db.text("SELECT trace_id FROM events WHERE msg='on the worker'") == span.trace_id());
    CHECK(db.text("SELECT parent_span_id FROM requests WHERE span_id=" + q(worker_request)) == span.span_id());
    CHECK(db.text("SELECT trace_id FROM requests WHERE span_id=" + q(worker_request)) == span.trace_id());
    CHECK(db.integer("SELECT trace_id IS NULL FROM events WHERE msg='worker, no context'") == 1);
    CHECK(db.integer("SELECT trace_id IS NULL FROM events WHERE msg='cleared'") == 1);
}
