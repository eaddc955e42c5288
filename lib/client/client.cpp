#include "client/client.hpp"

#include <limits.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bit>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/text.hpp"

namespace tt::client {

constinit thread_local TlsCache t_cache __attribute__((tls_model("initial-exec"))){};

namespace {

constexpr uint64_t kDefaultMaxDb = 64ull << 20;
constexpr uint64_t kMinMaxDb = 64ull << 10;

uint32_t or_default(uint32_t v, uint32_t d) { return v ? v : d; }

std::string checked_text(const char *s, const char *field, bool required) {
    if (!s || !*s) {
        if (!required) return {};
        throw Error(TT_EINVAL, fmt::format("tt_open: opts->{} is {}", field, s ? "empty" : "NULL"),
                    fmt::format("set opts->{} before calling tt_open", field));
    }
    std::string out;
    std::string_view v(s, strnlen(s, 4096));
    text::utf8_repair(v, out);
    return out;
}

// The registry key of a buffer file: the canonical path (the file may not exist yet).
std::string canonical(const std::string &path) {
    char buf[PATH_MAX];
    if (realpath(path.c_str(), buf)) return buf;
    auto slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    if (realpath(dir.c_str(), buf)) return std::string(buf) + "/" + base;
    return path;
}

struct Registry {
    std::mutex mu;
    std::map<std::string, Handle *> by_path;  // open files
    std::deque<Handle *> closed;              // oldest first, for recycling
    uint64_t next_gen = 1;
};

Registry &registry() {
    static Registry *r = new Registry;  // never destroyed: handles outlive static destructors
    return *r;
}

uint32_t gettid_cached() {
    if (!t_cache.tid) t_cache.tid = static_cast<uint32_t>(syscall(SYS_gettid));
    return t_cache.tid;
}

// Rings this thread produces into, one per client it logged to; released at thread exit.
struct ThreadRings {
    struct Entry {
        Handle *h;
        uint64_t state;
        queue::Ring *ring;
    };
    std::vector<Entry> entries;
    ~ThreadRings() {
        for (auto &e : entries) {
            e.ring->producer_exit();
            e.ring->release();
        }
        t_cache = TlsCache{nullptr, 0, nullptr, t_cache.tid};
        dead = true;
    }
    static thread_local bool dead;
};
thread_local bool ThreadRings::dead = false;
thread_local ThreadRings t_rings;

}  // namespace

Options normalize(const tt_options *o) {
    if (!o) throw Error(TT_EINVAL, "tt_open: opts is NULL", "declare `tt_options opts = TT_OPTIONS_INIT;`, set db_path and app_name, pass &opts");
    if (o->version < 1 || o->version > TT_OPTIONS_VERSION)
        throw Error(TT_EMISUSE,
                    fmt::format("tt_open: opts->version is {}, this library (telltale {}) knows versions 1 to {}", o->version,
                                fmt::format("{}.{}.{}", TT_VERSION_MAJOR, TT_VERSION_MINOR, TT_VERSION_PATCH), TT_OPTIONS_VERSION),
                    "initialise options with TT_OPTIONS_INIT or tt_options_init(), and build against the header of the library you ship");
    Options r;
    r.db_path = checked_text(o->db_path, "db_path", true);
    r.app_name = checked_text(o->app_name, "app_name", true);
    r.app_version = checked_text(o->app_version, "app_version", false);
    r.endpoint = checked_text(o->endpoint, "endpoint", false);
    r.max_db_bytes = o->max_db_bytes ? o->max_db_bytes : kDefaultMaxDb;
    if (r.max_db_bytes < kMinMaxDb)
        throw Error(TT_EINVAL, fmt::format("tt_open: opts->max_db_bytes is {}, below the smallest useful buffer (64 KiB)", r.max_db_bytes),
                    "pass 0 for the default (64 MiB) or a cap of at least 65536 bytes");
    r.max_age_s = or_default(o->max_age_s, 7 * 24 * 3600);
    r.upload_interval_ms = or_default(o->upload_interval_ms, 30000);
    r.retry_base_ms = or_default(o->retry_base_ms, 1000);
    r.retry_max_ms = or_default(o->retry_max_ms, 300000);
    r.batch_size = or_default(o->batch_size, 4096);
    r.commit_interval_ms = or_default(o->commit_interval_ms, 50);
    int policy;  // read as an int: a C caller may have stored any value in the enum
    std::memcpy(&policy, &o->full_policy, sizeof policy);
    if (policy != TT_FULL_DROP && policy != TT_FULL_BLOCK)
        throw Error(TT_EINVAL, fmt::format("tt_open: opts->full_policy is {}, not TT_FULL_DROP or TT_FULL_BLOCK", policy),
                    "use TT_FULL_DROP (default) or TT_FULL_BLOCK");
    r.limits.max_msg = std::min<uint32_t>(or_default(o->max_message_bytes, 8192), 1u << 20);
    r.limits.max_attr = std::min<uint32_t>(or_default(o->max_attr_bytes, 1024), 64u << 10);
    r.limits.max_attrs = std::min<uint32_t>(or_default(o->max_attrs, 32), 1024);
    r.limits.block = policy == TT_FULL_BLOCK;
    auto capture = std::make_shared<trace::CaptureConfig>();
    if (o->version >= 2) {  // fields of version 2 exist only in a version 2 struct
        auto split = [](const char *list, std::vector<std::string> &out, bool lower) {
            if (!list) return;
            std::string cur;
            for (const char *p = list;; ++p) {
                if (*p == ',' || *p == '\0') {
                    size_t a = cur.find_first_not_of(" \t"), b = cur.find_last_not_of(" \t");
                    if (a != std::string::npos) out.push_back(cur.substr(a, b - a + 1));
                    cur.clear();
                    if (!*p) break;
                } else {
                    cur += lower && *p >= 'A' && *p <= 'Z' ? static_cast<char>(*p - 'A' + 'a') : *p;
                }
            }
        };
        split(o->request_id_headers, capture->extra_headers, true);
        split(o->url_query_keys, capture->query_keys, false);
    }
    r.capture = std::move(capture);
    if (o->version >= 3) {
        r.auth_token = checked_text(o->auth_token, "auth_token", false);
        r.ca_file = checked_text(o->ca_file, "ca_file", false);
        r.proxy = checked_text(o->proxy, "proxy", false);
        r.consent_policy = checked_text(o->consent_policy_version, "consent_policy_version", false);
        int codec;
        std::memcpy(&codec, &o->compression, sizeof codec);
        if (codec < TT_CODEC_ZSTD || codec > TT_CODEC_NONE)
            throw Error(TT_EINVAL, fmt::format("tt_open: opts->compression is {}, not a tt_codec", codec),
                        "use TT_CODEC_ZSTD (default), TT_CODEC_GZIP or TT_CODEC_NONE");
        r.codec = codec == TT_CODEC_GZIP ? upload::Codec::kGzip : codec == TT_CODEC_NONE ? upload::Codec::kIdentity : upload::Codec::kZstd;
        r.upload_timeout_ms = or_default(o->upload_timeout_ms, 30000);
        r.upload_batch_events = std::min<uint32_t>(or_default(o->upload_batch_events, 2000), 100000);
        r.max_upload_bytes_per_hour = o->max_upload_bytes_per_hour ? o->max_upload_bytes_per_hour : 64ull << 20;
        r.keep_consent_on_policy_change = o->consent_flags & TT_CONSENT_KEEP_ON_POLICY_CHANGE;
    }
    if (o->version >= 4) {
        r.reports_off = o->report_flags & TT_REPORTS_OFF;
        r.before_send = o->before_send;
        r.before_send_data = o->before_send_data;
        r.max_pending_reports = std::clamp<uint32_t>(or_default(o->max_pending_reports, 20), 1, 1000);
    }
    if (!r.endpoint.empty()) {
        if (r.endpoint.rfind("http://", 0) != 0 && r.endpoint.rfind("https://", 0) != 0)
            throw Error(TT_EINVAL, fmt::format("tt_open: opts->endpoint \"{}\" is not an http:// or https:// URL", r.endpoint),
                        "pass the support backend's base URL, such as \"https://telemetry.example.com\" (NULL: never upload)");
        while (!r.endpoint.empty() && r.endpoint.back() == '/') r.endpoint.pop_back();
    }
    // The ring must hold at least four of the largest records the caps allow.
    uint64_t biggest = sizeof(queue::RecordHeader) + r.limits.max_msg +
                       uint64_t(r.limits.max_attrs) * (8 + kMaxKeyBytes + r.limits.max_attr) + 8;
    biggest = std::max<uint64_t>(biggest, 16384);  // a request record with every field at its cap
    uint64_t want = std::max<uint64_t>(or_default(o->queue_bytes, 1u << 20), 4 * biggest);
    if (want > (1u << 30))
        throw Error(TT_EINVAL, "tt_open: the per-thread queue would exceed 1 GiB (queue_bytes, or the message and attribute caps, are too large)",
                    "lower queue_bytes, max_message_bytes, max_attr_bytes or max_attrs");
    r.queue_bytes = static_cast<uint32_t>(std::bit_ceil(want));
    return r;
}

void Client::refresh_consent() noexcept {
    try {
        std::lock_guard<std::mutex> lk(consent_mu);
        consent::Record r = outbox.load_consent();
        if (r.set_at_ns == 0 && consent_stored.set_at_ns != 0) {
            // The file has no answer at all, and we had one: it is a fresh file after the
            // damaged one was moved aside. The user's answer stands; write it there again.
            outbox.save_consent(consent_stored, false, false);
            return;
        }
        if (r.state == consent_stored.state && r.policy == consent_stored.policy && r.set_at_ns == consent_stored.set_at_ns) return;
        consent_stored = r;
        consent_now.store(consent::effective(r, opts.consent_policy, opts.keep_consent_on_policy_change), std::memory_order_release);
        if (r.state == TT_CONSENT_DENIED && uploader) uploader->abort_in_flight();
    } catch (...) {
        // The file is busy or damaged: keep the answer we have; the next round reads again.
    }
}

Client::Client(const Options &o)
    : opts(o),
      session_id(ids::uuid4()),
      store(store::StoreConfig{o.db_path, o.max_db_bytes, o.max_age_s, o.app_name, o.app_version, session_id}),
      queue(queue::QueueConfig{o.queue_bytes, o.batch_size, o.commit_interval_ms}, store),
      outbox(o.db_path) {
    consent_stored = outbox.load_consent();
    consent_now.store(consent::effective(consent_stored, opts.consent_policy, opts.keep_consent_on_policy_change),
                      std::memory_order_release);
    queue.start();
    report::ReportConfig rc;
    rc.path = opts.db_path;
    rc.endpoint = opts.endpoint;
    rc.transport = upload::TransportConfig{opts.ca_file, opts.proxy, opts.auth_token, opts.upload_timeout_ms};
    rc.retry_base_ms = opts.retry_base_ms;
    rc.retry_max_ms = opts.retry_max_ms;
    rc.app_name = opts.app_name;
    rc.app_version = opts.app_version;
    rc.install_id = store.install_id();
    rc.session_id = session_id;
    rc.enabled = !opts.reports_off;
    rc.max_queue = opts.max_pending_reports;
    rc.before_send = opts.before_send;
    rc.before_send_data = opts.before_send_data;
    reports = std::make_unique<report::Reports>(std::move(rc), [this] {
        report::Facts f;
        f.consent = static_cast<tt_consent>(consent_now.load(std::memory_order_acquire));
        f.logged = queue.logged();
        f.dropped = queue.dropped();
        f.stored = queue.stored();
        f.evicted = store.evicted.load(std::memory_order_relaxed);
        f.requests_dropped = queue.requests_dropped();
        return f;
    });
    reports->start();
    if (!opts.endpoint.empty()) {
        upload::UploaderConfig uc;
        uc.endpoint = opts.endpoint;
        uc.codec = opts.codec;
        uc.interval_ms = opts.upload_interval_ms;
        uc.retry_base_ms = opts.retry_base_ms;
        uc.retry_max_ms = opts.retry_max_ms;
        uc.batch_rows = opts.upload_batch_events;
        uc.max_bytes_per_hour = opts.max_upload_bytes_per_hour;
        uc.transport = upload::TransportConfig{opts.ca_file, opts.proxy, opts.auth_token, opts.upload_timeout_ms};
        uc.resource = upload::Resource{opts.app_name, opts.app_version, store.install_id()};
        uploader = std::make_unique<upload::Uploader>(std::move(uc), outbox, [this] {
            refresh_consent();
            return upload_allowed();
        });
        uploader->start();
    }
}

Client::~Client() {
    if (reports) reports->stop();
    if (uploader) uploader->stop();
    queue.stop(0);
}

tt_client *open(const tt_options *o) {
    Options opts = normalize(o);
    clock::init();
    std::string key = canonical(opts.db_path);
    Registry &reg = registry();
    {
        std::lock_guard<std::mutex> lk(reg.mu);
        if (reg.by_path.count(key))
            throw Error(TT_EMISUSE, fmt::format("tt_open: \"{}\" is already open in this process", key),
                        "open one client per file and share it between threads (it is thread-safe), or pass another db_path");
        reg.by_path[key] = nullptr;  // reserved while we open, outside the lock
    }
    std::shared_ptr<Client> impl;
    try {
        impl = std::make_shared<Client>(opts);
    } catch (...) {
        std::lock_guard<std::mutex> lk(reg.mu);
        reg.by_path.erase(key);
        throw;
    }
    std::lock_guard<std::mutex> lk(reg.mu);
    Handle *h;
    if (reg.closed.size() > kRecycleAfter) {
        h = reg.closed.front();
        reg.closed.pop_front();
    } else {
        h = new Handle;
    }
    h->impl = std::move(impl);
    h->limits = opts.limits;
    h->capture = opts.capture;
    h->bad_traceparents.store(0, std::memory_order_relaxed);
    h->headers_capped.store(0, std::memory_order_relaxed);
    h->state.store((reg.next_gen++ << 1) | 1, std::memory_order_release);
    reg.by_path[key] = h;
    if (!h->impl->store.recovered_to().empty())
        set_error(TT_ECORRUPT,
                  fmt::format("tt_open: the buffer \"{}\" was damaged; it was moved to \"{}\" and a fresh buffer started",
                              opts.db_path, h->impl->store.recovered_to()),
                  "nothing to do: logging goes on in the new buffer; keep the moved file if support asks for it");
    return reinterpret_cast<tt_client *>(h);
}

std::shared_ptr<Client> acquire(tt_client *c, const char *fn) {
    Handle *h = handle_of(c);
    if (!c)
        throw Error(TT_EMISUSE, fmt::format("{}: the client is NULL", fn), "call tt_open first and check that it returned TT_OK");
    if (!h)
        throw Error(TT_EMISUSE, fmt::format("{}: this pointer is not a telltale client (or its memory was overwritten)", fn),
                    "pass the tt_client* that tt_open gave you");
    std::lock_guard<std::mutex> lk(registry().mu);
    if (!is_open(h->state.load(std::memory_order_acquire)) || !h->impl || h->impl->closing)
        throw Error(TT_EMISUSE, fmt::format("{}: the client was already closed with tt_close", fn),
                    "do not use a client after tt_close; set your pointer to NULL when you close it");
    return h->impl;
}

bool close(tt_client *c, uint32_t timeout_ms) {
    std::shared_ptr<Client> impl = acquire(c, "tt_close");
    Handle *h = handle_of(c);
    Registry &reg = registry();
    {
        std::lock_guard<std::mutex> lk(reg.mu);
        if (impl->closing)
            throw Error(TT_EMISUSE, "tt_close: the client is being closed by another thread", "close a client once, from one thread");
        impl->closing = true;
        // From here on, log calls see a closed handle and fail with TT_EMISUSE.
        h->state.store(h->state.load(std::memory_order_relaxed) & ~uint64_t(1), std::memory_order_release);
    }
    // Uploads first: an upload never holds up tt_close (the transfer is cut at once).
    if (impl->uploader) impl->uploader->stop();
    if (impl->reports) impl->reports->stop();  // a filed report stays in the buffer for the next start
    bool clean = impl->queue.stop(timeout_ms);
    {
        std::lock_guard<std::mutex> lk(reg.mu);
        reg.by_path.erase(canonical(impl->opts.db_path));
        h->impl.reset();  // capture stays: a racing tt_request_begin may still read it
        reg.closed.push_back(h);
    }
    return clean;  // impl (store, queue) goes with the last shared_ptr
}

queue::Ring *ring_slow_impl(Handle *h, uint64_t st);

void for_each_open(void (*fn)(Client &)) {
    std::vector<std::shared_ptr<Client>> open;
    {
        Registry &reg = registry();
        std::lock_guard<std::mutex> lk(reg.mu);
        for (auto &[path, h] : reg.by_path)
            if (h && h->impl && !h->impl->closing) open.push_back(h->impl);
    }
    for (auto &c : open) fn(*c);
}

queue::Ring *ring_slow(Handle *h, uint64_t st) noexcept {
    try {
        return ring_slow_impl(h, st);
    } catch (...) {
        set_error_static(TT_ENOMEM, "tt_log: out of memory setting up this thread's queue", "free memory or lower opts.queue_bytes");
        return nullptr;
    }
}

queue::Ring *ring_slow_impl(Handle *h, uint64_t st) {
    if (ThreadRings::dead) {
        set_error_static(TT_EMISUSE, "tt_log: called while this thread is exiting (from a thread_local destructor); the event was not kept",
                         "log before the thread's thread_local objects are destroyed");
        return nullptr;
    }
    uint32_t tid = gettid_cached();
    auto &entries = t_rings.entries;
    queue::Ring *ring = nullptr;
    for (size_t i = 0; i < entries.size();) {
        auto &e = entries[i];
        if (e.h == h && e.state == st) {
            ring = e.ring;
            ++i;
        } else if (e.state != e.h->state.load(std::memory_order_acquire)) {
            // Its client is gone (closed, handle maybe recycled): let go of the ring.
            e.ring->producer_exit();
            e.ring->release();
            e = entries.back();
            entries.pop_back();
        } else {
            ++i;
        }
    }
    if (!ring) {
        std::shared_ptr<Client> impl;
        {
            std::lock_guard<std::mutex> lk(registry().mu);
            if (h->state.load(std::memory_order_acquire) != st || !h->impl) {
                set_error_static(TT_EMISUSE, "tt_log: the client was closed with tt_close", "do not log through a client after tt_close");
                return nullptr;
            }
            impl = h->impl;
        }
        ring = impl->queue.add_ring(tid);
        entries.push_back({h, st, ring});
    }
    t_cache = TlsCache{h, st, ring, tid};
    return ring;
}

}  // namespace tt::client
