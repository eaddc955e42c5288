#include "upload/uploader.hpp"

#include <chrono>

#include <fmt/format.h>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "upload/retry.hpp"

namespace tt::upload {
namespace {

uint64_t now_ms() { return clock::monotonic_ns() / 1'000'000; }

// Uniform in [0, 1). No thread_local engine: the library's TLS must stay tiny (dlopen).
double jitter() {
    uint64_t x;
    ids::random_bytes_buffered(&x, sizeof x);
    return static_cast<double>(x >> 11) * 0x1.0p-53;
}

}  // namespace

Uploader::Uploader(UploaderConfig cfg, Outbox &outbox, std::function<bool()> allowed)
    : cfg_(std::move(cfg)), outbox_(outbox), allowed_(std::move(allowed)) {}

Uploader::~Uploader() { stop(); }

void Uploader::start() { thread_ = std::thread([this] { run(); }); }

void Uploader::stop() noexcept {
    {
        std::lock_guard<std::mutex> lk(mu_);
        stop_ = true;
        if (transport_) transport_->abort();
    }
    cv_.notify_all();
    progress_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Uploader::wake() noexcept {
    {
        std::lock_guard<std::mutex> lk(mu_);
        woken_ = true;
    }
    cv_.notify_all();
}

void Uploader::network_changed() noexcept {
    {
        std::lock_guard<std::mutex> lk(mu_);
        woken_ = true;
        attempt_ = 0;
        next_attempt_ms_ = 0;
    }
    cv_.notify_all();
}

void Uploader::abort_in_flight() noexcept {
    std::lock_guard<std::mutex> lk(mu_);
    if (transport_) transport_->abort();
}

std::string Uploader::last_error() {
    std::lock_guard<std::mutex> lk(mu_);
    return last_error_;
}

void Uploader::note_error(std::string e) {
    std::lock_guard<std::mutex> lk(mu_);
    last_error_ = std::move(e);
}

bool Uploader::wait_delivered(int64_t logs, int64_t traces, uint32_t timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
        lk.unlock();
        Outbox::Progress p = outbox_.progress();
        lk.lock();
        if (p.cursor_logs >= logs && p.cursor_traces >= traces) return true;
        if (stop_) return false;
        if (progress_.wait_until(lk, deadline) == std::cv_status::timeout) {
            lk.unlock();
            p = outbox_.progress();
            return p.cursor_logs >= logs && p.cursor_traces >= traces;
        }
    }
}

bool Uploader::one_batch(Kind kind, Transport &t, bool &backoff) {
    std::optional<Batch> b = outbox_.claim(kind, cfg_.batch_rows);
    if (!b) return false;
    uint64_t rows = 0;
    std::string json = outbox_.encode(kind, *b, cfg_.resource, rows);
    if (rows == 0) {  // retention took every row of it meanwhile
        outbox_.delivered(kind, *b);
        return true;
    }
    std::string body;
    compress(cfg_.codec, json, body);

    // The volume cap per hour: wait for room rather than send.
    uint64_t now = now_ms();
    {
        std::lock_guard<std::mutex> lk(mu_);
        while (!sent_.empty() && now - sent_.front().first > 3'600'000) sent_.pop_front();
        uint64_t used = 0;
        for (auto &s : sent_) used += s.second;
        if (!sent_.empty() && used + body.size() > cfg_.max_bytes_per_hour) {
            next_attempt_ms_ = sent_.front().first + 3'600'000;
            last_error_ = fmt::format("upload volume cap reached ({} bytes in the last hour); waiting", used);
            backoff = true;
            return false;
        }
    }
    if (!allowed_()) return false;

    std::vector<std::string> headers = {"Content-Type: application/json", "X-Telltale-Batch: " + b->id};
    if (const char *enc = content_encoding(cfg_.codec)) headers.push_back(std::string("Content-Encoding: ") + enc);
    if (!cfg_.transport.auth_token.empty()) headers.push_back("Authorization: Bearer " + cfg_.transport.auth_token);
    std::string url = cfg_.endpoint + (kind == Kind::kLogs ? "/v1/logs" : "/v1/traces");
    Response r = t.post(url, headers, body);
    if (r.aborted) return false;

    switch (classify(r.status, r.transport_failed)) {
    case Outcome::kDelivered: {
        // Count first: tt_upload_flush returns as soon as it sees the cursor move, and the
        // stats read right after it must already include this batch.
        (kind == Kind::kLogs ? events_uploaded : spans_uploaded).fetch_add(rows, std::memory_order_relaxed);
        bytes_sent.fetch_add(body.size(), std::memory_order_relaxed);
        outbox_.delivered(kind, *b);
        std::lock_guard<std::mutex> lk(mu_);
        sent_.emplace_back(now_ms(), body.size());
        attempt_ = 0;
        last_error_.clear();
        return true;
    }
    case Outcome::kRetry: {
        failures.fetch_add(1, std::memory_order_relaxed);
        outbox_.failed_attempt(kind, *b, r.error);
        std::lock_guard<std::mutex> lk(mu_);
        uint64_t delay = backoff_ms(attempt_, cfg_.retry_base_ms, cfg_.retry_max_ms, jitter());
        if (auto ra = parse_retry_after(r.retry_after, static_cast<uint64_t>(time(nullptr)))) delay = std::max(delay, *ra);
        ++attempt_;
        next_attempt_ms_ = now_ms() + delay;
        last_error_ = fmt::format("{} {} failed: {}; retrying in {} ms", kind_name(kind), b->id, r.error, delay);
        backoff = true;
        return false;
    }
    case Outcome::kSplit:
        failures.fetch_add(1, std::memory_order_relaxed);
        if (outbox_.shrink(kind, *b)) return true;
        [[fallthrough]];  // one event the server still finds too large: it can never go
    case Outcome::kDrop: {
        std::string reason = fmt::format("{} batch {} ({} records) dropped: the server answered {}", kind_name(kind), b->id, rows, r.error);
        outbox_.drop(kind, *b, reason);
        dropped.fetch_add(rows, std::memory_order_relaxed);
        note_error(reason);
        return true;
    }
    }
    return false;
}

void Uploader::run() {
    std::unique_ptr<Transport> t;
    try {
        t = std::make_unique<Transport>(cfg_.transport);
    } catch (const Error &e) {
        note_error(e.what());
        return;
    }
    {
        std::lock_guard<std::mutex> lk(mu_);
        transport_ = t.get();
        if (stop_) t->abort();
    }
    for (;;) {
        bool progress = false, backoff = false;
        bool due;
        {
            std::lock_guard<std::mutex> lk(mu_);
            if (stop_) break;
            due = now_ms() >= next_attempt_ms_;  // tt_network_changed resets it from an app thread
        }
        if (due && allowed_()) {
            t->reset_abort();  // a consent abort is over once consent is back
            {
                std::lock_guard<std::mutex> lk(mu_);
                if (stop_) break;
            }
            try {
                for (Kind k : {Kind::kLogs, Kind::kTraces}) {
                    if (backoff) break;
                    progress |= one_batch(k, *t, backoff);
                }
            } catch (const Error &e) {
                note_error(e.what());  // a database hiccup: try again at the next interval
                backoff = true;
                std::lock_guard<std::mutex> lk(mu_);
                next_attempt_ms_ = now_ms() + cfg_.retry_base_ms;
            }
            progress_.notify_all();
        }
        if (progress) continue;  // more may be waiting: no sleep between full batches
        std::unique_lock<std::mutex> lk(mu_);
        uint64_t wait = cfg_.interval_ms;
        uint64_t now = now_ms();
        if (next_attempt_ms_ > now) wait = std::min<uint64_t>(wait, next_attempt_ms_ - now);
        if (backoff && next_attempt_ms_ > now) wait = next_attempt_ms_ - now;  // offline: sleep until then, never spin
        cv_.wait_for(lk, std::chrono::milliseconds(wait), [&] { return stop_ || woken_; });
        woken_ = false;
    }
    std::lock_guard<std::mutex> lk(mu_);
    transport_ = nullptr;
}

}  // namespace tt::upload
