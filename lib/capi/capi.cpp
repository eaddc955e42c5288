// The C ABI: argument checks, then the C++ internals; every exception becomes a status
// and this thread's tt_error_last() (onnxruntime's API_IMPL_BEGIN/END pattern).
#include <cstddef>
#include <cstring>
#include <new>

#include <fmt/format.h>

#include "client/client.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "telltale/telltale.h"

#include "capi/api.hpp"

using tt::client::Handle;

namespace {

constexpr const char kVersion[] = TT_VERSION_STRING;

inline tt_status log_misuse(tt_client *c) noexcept {
    if (!c) return tt::set_error_static(TT_EMISUSE, "tt_log: the client is NULL", "call tt_open first and check that it returned TT_OK");
    if (!tt::client::handle_of(c))
        return tt::set_error_static(TT_EMISUSE, "tt_log: this pointer is not a telltale client",
                                    "pass the tt_client* that tt_open gave you");
    return tt::set_error_static(TT_EMISUSE, "tt_log: the client was already closed with tt_close",
                                "do not log through a client after tt_close; set your pointer to NULL when you close it");
}

inline uint32_t cap_len(const char *s, uint32_t max, bool &cut) noexcept {
    size_t n = strnlen(s, static_cast<size_t>(max) + 1);
    cut = n > max;
    return cut ? max : static_cast<uint32_t>(n);
}

}  // namespace

extern "C" {

TT_API const tt_error *tt_error_last(void) noexcept { return tt::last_error(); }
TT_API const char *tt_status_name(tt_status s) noexcept { return tt::status_name(s); }
TT_API const char *tt_status_describe(tt_status s) noexcept { return tt::status_describe(s); }
TT_API const char *tt_version(void) noexcept { return kVersion; }

TT_API void tt_options_init(tt_options *opts) noexcept {
    if (!opts) return;
    std::memset(opts, 0, sizeof *opts);
    opts->version = TT_OPTIONS_VERSION;
}

TT_API void tt_stats_init(tt_stats *s) noexcept {
    if (!s) return;
    std::memset(s, 0, sizeof *s);
    s->version = TT_STATS_VERSION;
}

TT_API tt_status tt_open(tt_client **out, const tt_options *opts) noexcept {
    TT_API_BEGIN
    // A fresh start: after TT_OK, tt_error_last() is TT_OK or tt_open's own TT_ECORRUPT note.
    tt::set_error_static(TT_OK, "no error", "");
    if (!out) return tt::set_error_static(TT_EINVAL, "tt_open: out is NULL", "pass the address of a tt_client* variable: tt_open(&client, &opts)");
    *out = nullptr;
    *out = tt::client::open(opts);
    return TT_OK;
    TT_API_END
}

TT_API tt_status tt_flush(tt_client *c, uint32_t timeout_ms) noexcept {
    TT_API_BEGIN
    auto impl = tt::client::acquire(c, "tt_flush");
    bool done = impl->queue.flush(timeout_ms);
    if (impl->uploader) impl->uploader->wake();  // what was just stored may go now
    if (!done)
        return tt::set_error(TT_ETIMEOUT, fmt::format("tt_flush: not everything was committed within {} ms", timeout_ms),
                             "the disk or another process holding the buffer is slow; retry, or pass a longer timeout");
    return TT_OK;
    TT_API_END
}

TT_API tt_status tt_close(tt_client *c, uint32_t timeout_ms) noexcept {
    TT_API_BEGIN
    if (!c) return TT_OK;
    if (!tt::client::close(c, timeout_ms))
        return tt::set_error(TT_ETIMEOUT,
                             fmt::format("tt_close: the last events could not be committed within {} ms; they were dropped and counted", timeout_ms),
                             "the client is closed anyway; pass a longer timeout to keep them next time");
    return TT_OK;
    TT_API_END
}

// The hot path. No lock, no allocation after this thread's first call on c, no throw.
TT_API tt_status tt_log_attrs(tt_client *c, tt_level level, const char *msg, const tt_attr *attrs, size_t n) noexcept {
    Handle *h = tt::client::handle_of(c);
    if (!h) return log_misuse(c);
    uint64_t st = h->state.load(std::memory_order_acquire);
    if (!tt::client::is_open(st)) [[unlikely]]
        return log_misuse(c);
    if (!msg) [[unlikely]]
        return tt::set_error_static(TT_EINVAL, "tt_log: msg is NULL", "pass a message string (\"\" is fine)");
    if (level < 1 || level > 24) [[unlikely]]
        return tt::set_error_static(TT_EINVAL, "tt_log: level is outside 1..24", "use TT_TRACE, TT_DEBUG, TT_INFO, TT_WARN, TT_ERROR or TT_FATAL");
    if (n && !attrs) [[unlikely]]
        return tt::set_error_static(TT_EINVAL, "tt_log_attrs: attrs is NULL but n > 0", "pass n = 0 when there are no attributes");

    const tt::client::Limits &lim = h->limits;
    uint8_t flags = 0;
    bool cut;
    uint32_t msg_len = cap_len(msg, lim.max_msg, cut);
    if (cut) flags |= tt::queue::kFlagMsgTruncated;
    size_t keep = n;
    if (keep > lim.max_attrs) {
        keep = lim.max_attrs;
        flags |= tt::queue::kFlagAttrsDropped;
    }
    // Sizes first (strnlen is bounded), so a huge string costs only its cap.
    uint32_t lens[2 * 32];
    uint64_t size = sizeof(tt::queue::RecordHeader) + msg_len;
    for (size_t i = 0; i < keep; ++i) {
        if (!attrs[i].key) [[unlikely]]
            return tt::set_error_static(TT_EINVAL, "tt_log_attrs: an attribute has a NULL key", "give every attribute a key");
        const char *v = attrs[i].value ? attrs[i].value : "(null)";
        uint32_t kl = cap_len(attrs[i].key, tt::client::kMaxKeyBytes, cut);
        if (cut) kl |= 0x80000000u;
        bool vcut;
        uint32_t vl = cap_len(v, lim.max_attr, vcut);
        if (vcut) vl |= 0x80000000u;
        if (cut || vcut) flags |= tt::queue::kFlagAttrTruncated;
        if (i < 32) {
            lens[2 * i] = kl;
            lens[2 * i + 1] = vl;
        }
        size += 8 + (kl & 0x7FFFFFFFu) + (vl & 0x7FFFFFFFu);
    }
    uint32_t rec = static_cast<uint32_t>((size + 7) & ~uint64_t(7));

    tt::queue::Ring *ring = tt::client::ring_for(h, st);
    if (!ring) [[unlikely]]
        return tt::last_error()->code;  // ring_slow said why
    // DEBUG and INFO do not wake a sleeping writer (that would cost this call ~10 us, on
    // every call of an app that logs every few seconds): they are committed within the
    // writer's idle round (1 s). WARN and worse wake it: they matter if a crash follows.
    char *p = ring->reserve(rec, level >= TT_WARN);
    if (!p) [[unlikely]] {
        if (!lim.block) {
            ring->count_logged();
            ring->count_dropped();
            return tt::set_error_static(TT_EFULL, "tt_log: this thread's queue is full; the event was dropped and counted",
                                        "log less in bursts, raise opts.queue_bytes, or use TT_FULL_BLOCK off the UI thread");
        }
        // TT_FULL_BLOCK: wait for the writer (it was woken by reserve) unless the client closes.
        while (!(p = ring->reserve(rec))) {
            if (h->state.load(std::memory_order_acquire) != st) return log_misuse(c);
            struct timespec ts{0, 50000};
            nanosleep(&ts, nullptr);
        }
    }
    auto *hd = reinterpret_cast<tt::queue::RecordHeader *>(p);
    hd->size = rec;
    hd->level = static_cast<uint8_t>(level);
    hd->flags = flags;
    hd->nattrs = static_cast<uint16_t>(keep);
    hd->ticks = tt::clock::ticks();
    hd->msg_len = msg_len;
    hd->tid = tt::client::t_cache.tid;
    const tt::queue::TraceContext &tc = tt::queue::t_trace;
    if (tc.active) {
        std::memcpy(hd->trace_id, tc.trace_id, 16);
        std::memcpy(hd->span_id, tc.span_id, 8);
    } else {
        std::memset(hd->trace_id, 0, 24);
    }
    char *w = p + sizeof(tt::queue::RecordHeader);
    std::memcpy(w, msg, msg_len);
    w += msg_len;
    for (size_t i = 0; i < keep; ++i) {
        uint32_t kl, vl;
        const char *v = attrs[i].value ? attrs[i].value : "(null)";
        if (i < 32) {
            kl = lens[2 * i];
            vl = lens[2 * i + 1];
        } else {
            kl = cap_len(attrs[i].key, tt::client::kMaxKeyBytes, cut) | (cut ? 0x80000000u : 0);
            bool vcut;
            vl = cap_len(v, lim.max_attr, vcut) | (vcut ? 0x80000000u : 0);
        }
        std::memcpy(w, &kl, 4);
        std::memcpy(w + 4, &vl, 4);
        w += 8;
        kl &= 0x7FFFFFFFu;
        vl &= 0x7FFFFFFFu;
        std::memcpy(w, attrs[i].key, kl);
        w += kl;
        std::memcpy(w, v, vl);
        w += vl;
    }
    ring->commit();
    ring->count_logged();
    return TT_OK;
}

TT_API tt_status tt_log(tt_client *c, tt_level level, const char *msg) noexcept { return tt_log_attrs(c, level, msg, nullptr, 0); }

TT_API tt_status tt_stats_get(tt_client *c, tt_stats *out) noexcept {
    TT_API_BEGIN
    if (!out) return tt::set_error_static(TT_EINVAL, "tt_stats_get: out is NULL", "pass the address of a tt_stats initialised with TT_STATS_INIT");
    if (out->version < 1 || out->version > TT_STATS_VERSION)
        return tt::set_error(TT_EMISUSE,
                             fmt::format("tt_stats_get: out->version is {}, this library knows versions 1 to {}", out->version, TT_STATS_VERSION),
                             "initialise the struct with TT_STATS_INIT or tt_stats_init()");
    auto impl = tt::client::acquire(c, "tt_stats_get");
    tt_stats s;
    std::memset(&s, 0, sizeof s);
    s.version = out->version;
    // Read dropped before logged: a racing log call can then only make logged larger.
    s.dropped = impl->queue.dropped();
    s.stored = impl->queue.stored();
    s.logged = impl->queue.logged();
    s.evicted = impl->store.evicted.load(std::memory_order_relaxed);
    s.truncated = impl->queue.truncated();
    s.repaired = impl->queue.repaired();
    s.store_errors = impl->store.store_errors.load(std::memory_order_relaxed);
    s.corrupt_recovered = impl->store.corrupt_recovered.load(std::memory_order_relaxed);
    tt::store::Snapshot snap = impl->store.snapshot();
    s.db_bytes = snap.db_bytes;
    s.pending_upload = snap.pending_upload;
    s.reports_pending = snap.reports_pending;
    s.events = snap.events;
    s.requests = impl->queue.requests();
    s.requests_dropped = impl->queue.requests_dropped();
    auto *h = tt::client::handle_of(c);
    s.bad_traceparents = h->bad_traceparents.load(std::memory_order_relaxed);
    s.headers_capped = h->headers_capped.load(std::memory_order_relaxed);
    if (impl->uploader) {
        s.uploaded = impl->uploader->events_uploaded.load(std::memory_order_relaxed);
        s.upload_failures = impl->uploader->failures.load(std::memory_order_relaxed);
        s.spans_uploaded = impl->uploader->spans_uploaded.load(std::memory_order_relaxed);
        s.upload_dropped = impl->uploader->dropped.load(std::memory_order_relaxed);
        s.upload_bytes = impl->uploader->bytes_sent.load(std::memory_order_relaxed);
    }
    // Write only as much as the caller's version of the struct has.
    size_t size = out->version == 1 ? offsetof(tt_stats, requests) : out->version == 2 ? offsetof(tt_stats, spans_uploaded) : sizeof s;
    std::memcpy(out, &s, size);
    return TT_OK;
    TT_API_END
}

}  // extern "C"
