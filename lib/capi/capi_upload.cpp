// C entry points for consent and uploads.
#include <cstring>

#include <fmt/format.h>

#include "capi/api.hpp"
#include "client/client.hpp"
#include "core/clock.hpp"

extern "C" {

TT_API tt_status tt_consent_set(tt_client *c, tt_consent v, const char *policy_version) noexcept {
    TT_API_BEGIN
    int value;  // read as an int: a C caller may have stored any value in the enum
    std::memcpy(&value, &v, sizeof value);
    auto impl = tt::client::acquire(c, "tt_consent_set");
    if (value != TT_CONSENT_UNKNOWN && value != TT_CONSENT_GRANTED && value != TT_CONSENT_DENIED)
        return tt::set_error(TT_EINVAL, fmt::format("tt_consent_set: {} is not a tt_consent", value),
                             "pass TT_CONSENT_GRANTED, TT_CONSENT_DENIED or TT_CONSENT_UNKNOWN");
    tt_consent next = static_cast<tt_consent>(value);
    tt::consent::Record rec;
    rec.state = next;
    rec.policy = policy_version ? std::string(policy_version, strnlen(policy_version, 256)) : impl->opts.consent_policy;
    rec.set_at_ns = tt::clock::realtime_ns();
    std::lock_guard<std::mutex> lk(impl->consent_mu);
    tt_consent before = impl->consent_stored.state;
    if (next == TT_CONSENT_DENIED) {
        // Stop at once.
        impl->consent_now.store(TT_CONSENT_DENIED, std::memory_order_release);
        if (impl->uploader) impl->uploader->abort_in_flight();
    }
    // Into or out of DENIED: everything logged so far must be in the file first, so that
    // the purge takes it, or the cursor jumps past it.
    if (next == TT_CONSENT_DENIED || before == TT_CONSENT_DENIED) impl->queue.flush(5000);
    impl->outbox.save_consent(rec, next == TT_CONSENT_DENIED, tt::consent::skip_backlog(before, next));
    impl->consent_stored = rec;
    tt_consent now = tt::consent::effective(rec, impl->opts.consent_policy, impl->opts.keep_consent_on_policy_change);
    impl->consent_now.store(now, std::memory_order_release);
    // The change itself is an event (uploaded only while GRANTED, like any other).
    const char *name = tt::consent::name(next);
    std::string msg = fmt::format("usage data sharing set to {} (policy {})", name, rec.policy.empty() ? "unversioned" : rec.policy);
    tt_attr attrs[2] = {{"telltale.consent", name}, {"telltale.consent_policy", rec.policy.c_str()}};
    tt_log_attrs(c, TT_INFO, msg.c_str(), attrs, 2);
    if (now == TT_CONSENT_GRANTED && impl->uploader) impl->uploader->wake();
    return TT_OK;
    TT_API_END
}

TT_API tt_status tt_consent_get(tt_client *c, tt_consent *out) noexcept {
    TT_API_BEGIN
    if (!out) return tt::set_error(TT_EINVAL, "tt_consent_get: out is NULL", "pass the address of a tt_consent");
    auto impl = tt::client::acquire(c, "tt_consent_get");
    impl->refresh_consent();
    *out = static_cast<tt_consent>(impl->consent_now.load(std::memory_order_acquire));
    return TT_OK;
    TT_API_END
}

TT_API tt_status tt_upload_flush(tt_client *c, uint32_t timeout_ms) noexcept {
    TT_API_BEGIN
    auto impl = tt::client::acquire(c, "tt_upload_flush");
    if (!impl->uploader)
        return tt::set_error(TT_EINVAL, "tt_upload_flush: this client has no endpoint, so nothing is ever uploaded",
                             "set opts.endpoint to the support backend's URL to upload");
    if (!impl->upload_allowed())
        return tt::set_error(TT_ENOCONSENT, "tt_upload_flush: the user has not agreed to share usage data, so nothing is uploaded",
                             "ask the user, then call tt_consent_set(c, TT_CONSENT_GRANTED, policy_version)");
    auto t0 = std::chrono::steady_clock::now();
    if (!impl->queue.flush(timeout_ms))
        return tt::set_error(TT_ETIMEOUT, fmt::format("tt_upload_flush: events were not even stored within {} ms", timeout_ms),
                             "the disk is slow or the buffer is locked by another process; retry");
    tt::upload::Outbox::Progress p = impl->outbox.progress();
    impl->uploader->wake();  // look now; a backoff (or the server's Retry-After) is still honoured
    uint32_t spent = static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
    if (!impl->uploader->wait_delivered(p.max_logs, p.max_traces, timeout_ms > spent ? timeout_ms - spent : 0)) {
        std::string why = impl->uploader->last_error();
        return tt::set_error(TT_ETIMEOUT,
                             fmt::format("tt_upload_flush: not everything was delivered within {} ms{}{}", timeout_ms,
                                         why.empty() ? "" : "; last attempt: ", why),
                             "nothing is lost: it stays in the buffer and is retried in the background");
    }
    return TT_OK;
    TT_API_END
}

TT_API void tt_network_changed(void) noexcept {
    try {
        tt::client::for_each_open([](tt::client::Client &c) {
            if (c.uploader) c.uploader->network_changed();
            if (c.reports) c.reports->network_changed();
        });
    } catch (...) {
        // A hint only: nothing to report if memory ran out.
    }
}

}  // extern "C"
