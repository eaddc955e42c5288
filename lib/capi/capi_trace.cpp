// C entry points for requests, spans and the thread's trace context.
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "capi/api.hpp"
#include "capi/requests.hpp"
#include "client/client.hpp"
#include "trace/request.hpp"

using tt::client::Handle;
using tt::trace::Request;

namespace {

// What tt_request and tt_span point to.
inline Request *req_of(const void *p) { return static_cast<Request *>(const_cast<void *>(p)); }

tt_status check_client(tt_client *c, const char *fn, Handle *&h, uint64_t &st) {
    h = tt::client::handle_of(c);
    if (!c) throw tt::Error(TT_EMISUSE, fmt::format("{}: the client is NULL", fn), "call tt_open first and check that it returned TT_OK");
    if (!h) throw tt::Error(TT_EMISUSE, fmt::format("{}: this pointer is not a telltale client", fn), "pass the tt_client* that tt_open gave you");
    st = h->state.load(std::memory_order_acquire);
    if (!tt::client::is_open(st))
        throw tt::Error(TT_EMISUSE, fmt::format("{}: the client was already closed with tt_close", fn),
                        "do not use a client after tt_close");
    return TT_OK;
}

}  // namespace

namespace tt::capi {

tt_status request_begin(void **out, tt_client *c, uint8_t kind, const char *what, const char *url, const char *parent,
                        unsigned flags, const char *fn) {
    if (!out) return tt::set_error(TT_EINVAL, fmt::format("{}: out is NULL", fn), "pass the address of a pointer variable");
    *out = nullptr;
    Handle *h;
    uint64_t st;
    check_client(c, fn, h, st);
    if (!what)
        return tt::set_error(TT_EINVAL, fmt::format("{}: {} is NULL", fn, kind ? "name" : "method"),
                             kind ? "name the work, e.g. \"load settings\"" : "pass the HTTP method, e.g. \"GET\"");
    if (kind == 0 && !url) return tt::set_error(TT_EINVAL, fmt::format("{}: url is NULL", fn), "pass the URL being called");
    Request *r = tt::trace::acquire_request();
    r->owner = h;
    r->owner_state = st;
    r->cfg = h->capture;
    std::string_view w(what, strnlen(what, 4096));
    std::string_view u = url ? std::string_view(url, strnlen(url, 65536)) : std::string_view();
    if (!r->begin(kind, w, u, parent, flags & TT_REQUEST_DETACHED)) h->bad_traceparents.fetch_add(1, std::memory_order_relaxed);
    *out = r;
    return TT_OK;
}

Request *live_request(const void *p, const char *fn) {
    if (!p) throw tt::Error(TT_EMISUSE, fmt::format("{}: the request is NULL", fn), "pass what tt_request_begin or tt_span_begin gave you");
    Request *r = req_of(p);
    if (r->magic == tt::trace::kRequestEnded)
        throw tt::Error(TT_EMISUSE, fmt::format("{}: this request was already ended", fn),
                        "end a request exactly once; do not use it after tt_request_end or tt_span_end");
    if (r->magic != tt::trace::kRequestAlive)
        throw tt::Error(TT_EMISUSE, fmt::format("{}: this pointer is not a telltale request", fn),
                        "pass what tt_request_begin or tt_span_begin gave you");
    return r;
}

tt_status request_end(void *p, int status, const char *error, const char *fn) {
    Request *r = live_request(p, fn);
    r->magic = tt::trace::kRequestEnded;  // a second end now fails loudly
    r->deactivate();
    auto *h = static_cast<Handle *>(r->owner);
    struct Release {
        Request *r;
        ~Release() { tt::trace::release_request(r); }
    } release{r};
    if (h->state.load(std::memory_order_acquire) != r->owner_state)
        return tt::set_error(TT_EMISUSE, fmt::format("{}: the client was closed before the request ended; it was not recorded", fn),
                             "end requests before tt_close");
    r->status = status;
    if (error) r->error.assign(error, strnlen(error, tt::trace::kMaxErrorBytes));
    if (r->headers_capped) h->headers_capped.fetch_add(r->headers_capped, std::memory_order_relaxed);
    tt::queue::Ring *ring = tt::client::ring_for(h, r->owner_state);
    if (!ring) return tt::last_error()->code;
    uint32_t size = r->encoded_size();
    ring->count_request();
    char *w = ring->reserve(size);
    // A request record matters more than a log line: give the writer a moment (or, with
    // TT_FULL_BLOCK, as long as it takes).
    for (int spin = 0; !w && (spin < 200 || h->limits.block); ++spin) {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        if (h->state.load(std::memory_order_acquire) != r->owner_state) break;
        w = ring->reserve(size);
    }
    if (!w) {
        ring->count_request_dropped();
        return tt::set_error(TT_EFULL, fmt::format("{}: this thread's queue stayed full; the request record was dropped and counted", fn),
                             "log less in bursts or raise opts.queue_bytes");
    }
    r->encode(w, size, tt::client::t_cache.tid);
    ring->commit();
    return TT_OK;
}

}  // namespace tt::capi

using tt::capi::live_request;
using tt::capi::request_begin;
using tt::capi::request_end;

extern "C" {

TT_API tt_status tt_request_begin(tt_request **out, tt_client *c, const char *method, const char *url) noexcept {
    TT_API_BEGIN
    return request_begin(reinterpret_cast<void **>(out), c, 0, method, url, nullptr, 0, "tt_request_begin");
    TT_API_END
}

TT_API tt_status tt_request_begin_opts(tt_request **out, tt_client *c, const tt_request_options *o) noexcept {
    TT_API_BEGIN
    if (!o) return tt::set_error(TT_EINVAL, "tt_request_begin_opts: o is NULL", "pass a tt_request_options set up with TT_REQUEST_OPTIONS_INIT");
    if (o->version < 1 || o->version > TT_REQUEST_OPTIONS_VERSION)
        return tt::set_error(TT_EMISUSE,
                             fmt::format("tt_request_begin_opts: o->version is {}, this library knows 1 to {}", o->version, TT_REQUEST_OPTIONS_VERSION),
                             "initialise the struct with TT_REQUEST_OPTIONS_INIT");
    return request_begin(reinterpret_cast<void **>(out), c, 0, o->method, o->url, o->parent, o->flags, "tt_request_begin_opts");
    TT_API_END
}

TT_API const char *tt_request_traceparent(const tt_request *r) noexcept {
    if (!r) return "";
    const Request *q = req_of(r);
    return q->magic == tt::trace::kRequestAlive ? q->traceparent : "";
}

TT_API tt_status tt_request_trace_id(const tt_request *r, char out[33]) noexcept {
    TT_API_BEGIN
    if (!out) return tt::set_error(TT_EINVAL, "tt_request_trace_id: out is NULL", "pass a buffer of 33 chars");
    Request *q = live_request(r, "tt_request_trace_id");
    std::memcpy(out, q->traceparent + 3, 32);
    out[32] = '\0';
    return TT_OK;
    TT_API_END
}

TT_API tt_status tt_request_header(tt_request *r, const char *name, const char *value) noexcept {
    TT_API_BEGIN
    Request *q = live_request(r, "tt_request_header");
    if (!name || !value)
        return tt::set_error(TT_EINVAL, fmt::format("tt_request_header: {} is NULL", name ? "value" : "name"),
                             "pass each response header as a name and a value");
    if (q->kind != 0) return tt::set_error(TT_EMISUSE, "tt_request_header: this is a span, not an HTTP request", "headers belong to requests");
    q->header(std::string_view(name, strnlen(name, tt::trace::kMaxHeaderName + 1)),
              std::string_view(value, strnlen(value, 65536)));
    return TT_OK;
    TT_API_END
}

TT_API tt_status tt_request_bytes(tt_request *r, uint64_t sent, uint64_t received) noexcept {
    TT_API_BEGIN
    Request *q = live_request(r, "tt_request_bytes");
    q->bytes_up = sent;
    q->bytes_down = received;
    return TT_OK;
    TT_API_END
}

TT_API tt_status tt_request_end(tt_request *r, int http_status, const char *error) noexcept {
    TT_API_BEGIN
    if (r && req_of(r)->magic == tt::trace::kRequestAlive && req_of(r)->kind != 0)
        return tt::set_error(TT_EMISUSE, "tt_request_end: this is a span; end it with tt_span_end", "pair tt_span_begin with tt_span_end");
    if (r && req_of(r)->magic == tt::trace::kRequestAlive && req_of(r)->curl.easy)
        return tt::set_error(TT_EMISUSE, "tt_request_end: this request was started with tt_curl_begin; end it with tt_curl_end",
                             "tt_curl_end also gives your header list and callback back to the easy handle");
    if (http_status < 0 || http_status > 999)
        return tt::set_error(TT_EINVAL, fmt::format("tt_request_end: http_status {} is not an HTTP status", http_status),
                             "pass the response's status (100..999), or 0 when no response arrived; the request is still open");
    return request_end(r, http_status, error, "tt_request_end");
    TT_API_END
}

TT_API tt_status tt_span_begin(tt_span **out, tt_client *c, const char *name) noexcept {
    TT_API_BEGIN
    return request_begin(reinterpret_cast<void **>(out), c, 1, name, nullptr, nullptr, 0, "tt_span_begin");
    TT_API_END
}

TT_API tt_status tt_span_end(tt_span *s, const char *error) noexcept {
    TT_API_BEGIN
    if (s && req_of(s)->magic == tt::trace::kRequestAlive && req_of(s)->kind != 1)
        return tt::set_error(TT_EMISUSE, "tt_span_end: this is an HTTP request; end it with tt_request_end", "pair tt_request_begin with tt_request_end");
    return request_end(s, 0, error, "tt_span_end");
    TT_API_END
}

TT_API void tt_context_get(tt_context *out) noexcept {
    if (!out) return;
    const tt::queue::TraceContext &t = tt::queue::t_trace;
    std::memcpy(out->trace_id, t.trace_id, 16);
    std::memcpy(out->span_id, t.span_id, 8);
    out->flags = t.active ? 1 : 0;
    out->valid = t.active ? 1 : 0;
}

TT_API void tt_context_set(const tt_context *ctx) noexcept {
    tt::queue::TraceContext t{};
    if (ctx && ctx->valid) {
        std::memcpy(t.trace_id, ctx->trace_id, 16);
        std::memcpy(t.span_id, ctx->span_id, 8);
        t.active = true;
    }
    tt::queue::t_trace = t;
}

}  // extern "C"
