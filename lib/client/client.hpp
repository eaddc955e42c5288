// A client: the options, the store and the queue of one open buffer, plus the handle
// registry that makes misuse (use after close, a file opened twice) fail loudly.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "queue/queue.hpp"
#include "store/store.hpp"
#include "consent/consent.hpp"
#include "report/reports.hpp"
#include "trace/request.hpp"
#include "upload/outbox.hpp"
#include "upload/uploader.hpp"
#include "telltale/telltale.h"

namespace tt::client {

constexpr uint64_t kMagic = 0x656c61746c6c6574ull;  // "telltale"
constexpr uint32_t kMaxKeyBytes = 256;

// Caps the hot path applies; fixed for the life of a client.
struct Limits {
    uint32_t max_msg, max_attr, max_attrs;
    bool block;
};

struct Options {
    std::string db_path, app_name, app_version, endpoint;
    uint64_t max_db_bytes;
    uint32_t max_age_s, upload_interval_ms, retry_base_ms, retry_max_ms;
    uint32_t queue_bytes, batch_size, commit_interval_ms;
    Limits limits;
    std::shared_ptr<const trace::CaptureConfig> capture;
    // uploads and consent
    std::string auth_token, ca_file, proxy, consent_policy;
    upload::Codec codec = upload::Codec::kZstd;
    uint32_t upload_timeout_ms = 30000, upload_batch_events = 2000;
    uint64_t max_upload_bytes_per_hour = 64ull << 20;
    bool keep_consent_on_policy_change = false;
    // reports
    bool reports_off = false;
    tt_before_send_fn before_send = nullptr;
    void *before_send_data = nullptr;
    uint32_t max_pending_reports = 20;
};

// Checks a caller's tt_options and fills in defaults. Throws tt::Error.
Options normalize(const tt_options *o);

class Client {
public:
    explicit Client(const Options &o);
    ~Client();

    const Options opts;
    const std::string session_id;
    store::Store store;
    queue::Queue queue;
    upload::Outbox outbox;
    std::unique_ptr<upload::Uploader> uploader;  // only with an endpoint
    std::unique_ptr<report::Reports> reports;
    bool closing = false;  // guarded by the registry mutex

    // Consent: the stored answer and what counts now (read by the uploader).
    std::mutex consent_mu;
    consent::Record consent_stored;  // guarded by consent_mu
    std::atomic<int> consent_now{TT_CONSENT_UNKNOWN};
    bool upload_allowed() const noexcept { return consent_now.load(std::memory_order_acquire) == TT_CONSENT_GRANTED; }
    // Another process on the same file may have answered since: take its answer. The
    // uploader calls it before each round, tt_consent_get before it reads.
    void refresh_consent() noexcept;
};

// Wake every open client's uploader (tt_network_changed).
void for_each_open(void (*fn)(Client &));

// What a tt_client* points to. Never freed: a closed handle stays readable so that a
// late call fails with TT_EMISUSE instead of touching freed memory. Closed handles are
// recycled only after kRecycleAfter later closes (see docs/abi.md).
struct Handle {
    uint64_t magic = kMagic;
    std::atomic<uint64_t> state{0};  // (generation << 1) | 1 while open
    Limits limits{};                 // published before state turns open
    std::shared_ptr<const trace::CaptureConfig> capture;  // published before state turns open
    std::shared_ptr<Client> impl;    // guarded by the registry mutex
    // Counters of this open client (reset by tt_open), bumped outside the queue.
    std::atomic<uint64_t> bad_traceparents{0}, headers_capped{0};
};
constexpr size_t kRecycleAfter = 1024;

inline bool is_open(uint64_t state) noexcept { return state & 1; }

tt_client *open(const tt_options *o);
// Stops and frees the client; false if the flush ran out of time.
bool close(tt_client *c, uint32_t timeout_ms);
// The live client behind c, kept alive while the caller holds it. Throws TT_EMISUSE.
std::shared_ptr<Client> acquire(tt_client *c, const char *fn);
// Hot path: c checked only as far as it can be cheaply. Returns nullptr if not open.
inline Handle *handle_of(tt_client *c) noexcept {
    auto *h = reinterpret_cast<Handle *>(c);
    return (h && h->magic == kMagic) ? h : nullptr;
}

// The ring of this thread for h (in state st), made on first use. nullptr if h closed
// meanwhile or the thread is exiting.
queue::Ring *ring_slow(Handle *h, uint64_t st) noexcept;

struct TlsCache {
    Handle *h;
    uint64_t state;
    queue::Ring *ring;
    uint32_t tid;
};
// initial-exec + constinit: one %fs-relative load, no __tls_get_addr and no TLS init
// call on the hot path. The library's static TLS is a few dozen bytes, well within what
// glibc reserves for libraries loaded later with dlopen (Python's ctypes, JNI).
extern constinit thread_local TlsCache t_cache __attribute__((tls_model("initial-exec")));

inline queue::Ring *ring_for(Handle *h, uint64_t st) noexcept {
    if (t_cache.h == h && t_cache.state == st) return t_cache.ring;
    return ring_slow(h, st);
}

}  // namespace tt::client
