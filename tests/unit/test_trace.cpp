#include <doctest/doctest.h>

#include <cstring>
#include <set>
#include <string>

#include "trace/request.hpp"
#include "trace/traceparent.hpp"
#include "trace/url.hpp"

using namespace tt::trace;

TEST_CASE("traceparent: the W3C examples and the invalid cases") {
    TraceIds ids;
    REQUIRE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ids));
    CHECK(ids.trace_id[0] == 0x4b);
    CHECK(ids.span_id[7] == 0xb7);
    CHECK(ids.flags == 1);
    char out[kTraceparentSize];
    format_traceparent(ids, out);
    CHECK(std::string(out) == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    CHECK(parse_traceparent("  00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00\t", ids));  // OWS around
    // A future version may carry more fields after a dash.
    CHECK(parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds", ids));
    CHECK_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", ids));  // v00: exact
    CHECK_FALSE(parse_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ids));        // ff invalid
    CHECK_FALSE(parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01", ids));        // zero trace
    CHECK_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", ids));        // zero span
    CHECK_FALSE(parse_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", ids));        // upper case
    CHECK_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", ids));         // short
    CHECK_FALSE(parse_traceparent("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ids));
    CHECK_FALSE(parse_traceparent("", ids));
}

TEST_CASE("fresh ids are random and never zero") {
    std::set<std::string> seen;
    for (int i = 0; i < 2000; ++i) {
        uint8_t t[16], s[8];
        new_trace_id(t);
        new_span_id(s);
        uint8_t zero[16] = {};
        CHECK(std::memcmp(t, zero, 16) != 0);
        CHECK(std::memcmp(s, zero, 8) != 0);
        seen.insert(std::string(reinterpret_cast<char *>(t), 16));
    }
    CHECK(seen.size() == 2000);
}

TEST_CASE("sanitize_url keeps scheme, host, port and path only") {
    auto u = sanitize_url("HTTPS://alice:secret@Api.Example.COM:8443/v1/items?token=abc&page=2#top", {"page"});
    CHECK(u.scheme == "https");
    CHECK(u.host == "api.example.com");
    CHECK(u.port == 8443);
    CHECK(u.path == "/v1/items?page=2");
    u = sanitize_url("http://[::1]:8080/x?y=1");
    CHECK(u.host == "::1");
    CHECK(u.port == 8080);
    CHECK(u.path == "/x");
    u = sanitize_url("http://example.com");
    CHECK(u.path == "/");
    CHECK(u.port == 0);
    u = sanitize_url("/relative/path?q=1");
    CHECK(u.scheme.empty());
    CHECK(u.host.empty());
    CHECK(u.path == "/relative/path");
    u = sanitize_url("http://host:99999/p");  // not a port
    CHECK(u.port == 0);
    u = sanitize_url("http://a@b@host/p");  // the last @ ends the user-info
    CHECK(u.host == "host");
    u = sanitize_url("mailto:someone@example.com");  // not a hierarchical URL: all path, no host
    CHECK(u.host.empty());
    CHECK(sanitize_url(std::string(10000, 'p')).path.size() == 2048);
}

TEST_CASE("id headers: the defaults in any case, and configured extras") {
    CaptureConfig cfg;
    cfg.extra_headers = {"x-trace-token"};
    for (const char *h : {"X-Request-Id", "x-reqid", "X-LOG", "x-amz-request-id", "x-amz-id-2", "traceresponse", "Server-Timing",
                          "X-Trace-Token"})
        CHECK(is_id_header(h, cfg));
    CHECK_FALSE(is_id_header("Content-Type", cfg));
    CHECK_FALSE(is_id_header("x-request", cfg));
}
