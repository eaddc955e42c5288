#include "trace/request.hpp"

#include <algorithm>
#include <cstring>
#include <deque>
#include <mutex>

#include "core/clock.hpp"

namespace tt::trace {
namespace {

// Response headers that carry a server's id for the call, in lower case.
constexpr std::string_view kDefaultIdHeaders[] = {
    "x-request-id", "x-reqid", "x-log", "x-amz-request-id", "x-amz-id-2", "traceresponse", "server-timing",
};

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
    return s;
}

struct Pool {
    std::mutex mu;
    std::deque<Request *> ended;  // oldest first
};
Pool &pool() {
    static Pool *p = new Pool;  // never destroyed: requests may end during static destruction
    return *p;
}

}  // namespace

bool is_id_header(std::string_view name, const CaptureConfig &cfg) noexcept {
    name = trim(name);
    for (auto h : kDefaultIdHeaders)
        if (iequals(name, h)) return true;
    for (auto &h : cfg.extra_headers)
        if (iequals(name, h)) return true;
    return false;
}

Request *acquire_request() {
    {
        Pool &p = pool();
        std::lock_guard<std::mutex> lk(p.mu);
        if (p.ended.size() > kRecycleAfter) {
            Request *r = p.ended.front();
            p.ended.pop_front();
            return r;
        }
    }
    return new Request;
}

void release_request(Request *r) noexcept {
    r->magic = kRequestEnded;
    r->cfg.reset();
    r->server_ids.clear();
    r->curl = Request::Curl{};
    Pool &p = pool();
    try {
        std::lock_guard<std::mutex> lk(p.mu);
        p.ended.push_back(r);
    } catch (...) {
        // Out of memory growing the pool: keep the object alive (leak) rather than free it.
    }
}

bool Request::begin(uint8_t k, std::string_view name_or_method, std::string_view u, const char *parent, bool detached) {
    kind = k;
    name.clear();
    method.clear();
    error.clear();
    server_ip.clear();
    server_ids.clear();
    headers_capped = 0;
    bytes_up = bytes_down = 0;
    server_port = 0;
    status = 0;
    for (auto &t : timing_us) t = -1;
    if (kind == 0) {
        method.assign(name_or_method.substr(0, 32));
        for (auto &c : method)
            if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        url = sanitize_url(u, cfg ? cfg->query_keys : kNoKeys);
        name = method;
    } else {
        name.assign(name_or_method.substr(0, kMaxNameBytes));
        url = UrlParts{};
    }
    bool parent_ok = true;
    TraceIds incoming;
    const queue::TraceContext &cur = queue::t_trace;
    if (parent && parse_traceparent(parent, incoming)) {
        std::memcpy(ids.trace_id, incoming.trace_id, 16);
        std::memcpy(parent_span, incoming.span_id, 8);
        ids.flags = incoming.flags | 1;
        has_parent = true;
    } else {
        parent_ok = parent == nullptr;
        if (cur.active) {
            std::memcpy(ids.trace_id, cur.trace_id, 16);
            std::memcpy(parent_span, cur.span_id, 8);
            has_parent = true;
        } else {
            new_trace_id(ids.trace_id);
            has_parent = false;
        }
        ids.flags = 1;  // sampled: we record every call
    }
    new_span_id(ids.span_id);
    format_traceparent(ids, traceparent);
    start_ns = clock::realtime_ns();
    start_mono = clock::monotonic_ns();
    activated = !detached;
    if (activated) {
        prev = cur;
        queue::TraceContext next{};
        std::memcpy(next.trace_id, ids.trace_id, 16);
        std::memcpy(next.span_id, ids.span_id, 8);
        next.active = true;
        queue::t_trace = next;
    }
    magic = kRequestAlive;
    return parent_ok;
}

void Request::header(std::string_view n, std::string_view v) {
    if (n.size() > kMaxHeaderName || !cfg || !is_id_header(n, *cfg)) return;
    std::string key(trim(n));
    for (auto &c : key)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    v = trim(v);
    // A repeated header is one value joined by ", " (RFC 9110 5.3), within the cap.
    for (auto &[k, val] : server_ids)
        if (k == key) {
            if (val.size() + 2 + v.size() > kMaxIdBytes) {
                ++headers_capped;
                return;
            }
            val.append(", ").append(v);
            return;
        }
    if (server_ids.size() >= kMaxIds) {
        ++headers_capped;
        return;
    }
    if (v.size() > kMaxIdBytes) {
        v = v.substr(0, kMaxIdBytes);
        ++headers_capped;
    }
    server_ids.emplace_back(std::move(key), std::string(v));
}

void Request::deactivate() noexcept {
    if (!activated) return;
    activated = false;
    queue::TraceContext &cur = queue::t_trace;
    // Only if this request is still the thread's context (ended on its own thread, in order).
    if (cur.active && std::memcmp(cur.span_id, ids.span_id, 8) == 0 && std::memcmp(cur.trace_id, ids.trace_id, 16) == 0)
        cur = prev;
}

namespace {
std::string_view field(const Request &r, int i) noexcept {
    using namespace queue;
    switch (i) {
    case kName: return r.name;
    case kMethod: return r.method;
    case kScheme: return std::string_view(r.url.scheme).substr(0, 32);
    case kHost: return r.url.host;
    case kPath: return r.url.path;
    case kError: return std::string_view(r.error).substr(0, kMaxErrorBytes);
    case kServerIp: return std::string_view(r.server_ip).substr(0, 64);
    }
    return {};
}
}  // namespace

uint32_t Request::encoded_size() const noexcept {
    size_t n = sizeof(queue::RecordHeader) + sizeof(queue::RequestFixed);
    for (int i = 0; i < queue::kRequestStrings; ++i) n += 4 + field(*this, i).size();
    for (auto &[k, v] : server_ids) n += 8 + k.size() + v.size();
    return static_cast<uint32_t>((n + 7) & ~size_t(7));
}

void Request::encode(char *p, uint32_t size, uint32_t tid) const noexcept {
    using namespace queue;
    auto *h = reinterpret_cast<RecordHeader *>(p);
    h->size = size;
    h->level = kRequestLevel;
    h->flags = 0;
    h->nattrs = static_cast<uint16_t>(server_ids.size());
    h->ticks = 0;
    h->msg_len = 0;
    h->tid = tid;
    std::memcpy(h->trace_id, ids.trace_id, 16);
    std::memcpy(h->span_id, ids.span_id, 8);
    RequestFixed f{};
    f.start_ns = start_ns;
    uint64_t now = clock::monotonic_ns();
    f.duration_ns = now > start_mono ? now - start_mono : 0;
    f.bytes_up = bytes_up;
    f.bytes_down = bytes_down;
    std::memcpy(f.timing_us, timing_us, sizeof f.timing_us);
    f.status = status;
    f.port = url.port;
    f.server_port = server_port;
    std::memcpy(f.parent_span, parent_span, 8);
    f.has_parent = has_parent;
    f.kind = kind;
    char *w = p + sizeof(RecordHeader);
    std::memcpy(w, &f, sizeof f);
    w += sizeof f;
    for (int i = 0; i < kRequestStrings; ++i) w += put_string(w, field(*this, i));
    for (auto &[k, v] : server_ids) {
        w += put_string(w, k);
        w += put_string(w, v);
    }
}

}  // namespace tt::trace
