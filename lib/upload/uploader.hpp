// The background uploader: takes a batch from the outbox, encodes it as OTLP/HTTP JSON,
// compresses it, POSTs it, and moves the cursor only after a 2xx. Retries with
// exponential backoff and full jitter, honours Retry-After, splits on 413, drops a
// batch the server refuses for good (and says why), keeps to a volume cap per hour,
// and sleeps while offline until the next attempt, tt_flush or tt_network_changed.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "upload/compress.hpp"
#include "upload/outbox.hpp"
#include "upload/transport.hpp"

namespace tt::upload {

struct UploaderConfig {
    std::string endpoint;  // base URL, no trailing slash
    Codec codec = Codec::kZstd;
    uint32_t interval_ms = 30000, retry_base_ms = 1000, retry_max_ms = 300000;
    uint32_t batch_rows = 2000;
    uint64_t max_bytes_per_hour = 64ull << 20;
    TransportConfig transport;
    Resource resource;
};

class Uploader {
public:
    // allowed(): is upload allowed now (consent GRANTED)? Read before every batch.
    Uploader(UploaderConfig cfg, Outbox &outbox, std::function<bool()> allowed);
    ~Uploader();

    void start();
    void stop() noexcept;            // aborts a transfer in flight; joins
    void wake() noexcept;            // look for work now
    void network_changed() noexcept; // the network came back, maybe: retry now, forget the backoff
    void abort_in_flight() noexcept; // consent withdrawn: cut the current transfer

    // Wait until both cursors reach the targets; false on timeout.
    bool wait_delivered(int64_t logs, int64_t traces, uint32_t timeout_ms);

    std::atomic<uint64_t> events_uploaded{0}, spans_uploaded{0}, failures{0}, dropped{0}, bytes_sent{0};
    std::string last_error();

private:
    void run();
    // One batch of `kind`: true if it made progress (delivered, split or dropped).
    bool one_batch(Kind kind, Transport &t, bool &backoff);
    void note_error(std::string e);

    UploaderConfig cfg_;
    Outbox &outbox_;
    std::function<bool()> allowed_;
    std::thread thread_;
    Transport *transport_ = nullptr;  // owned by the thread; set while it runs (guarded by mu_)

    std::mutex mu_;
    std::condition_variable cv_;        // wakes the thread
    std::condition_variable progress_;  // wakes wait_delivered
    bool stop_ = false, woken_ = false;
    uint32_t attempt_ = 0;
    uint64_t next_attempt_ms_ = 0;      // monotonic
    std::deque<std::pair<uint64_t, uint64_t>> sent_;  // (monotonic ms, bytes) within the last hour
    std::string last_error_;
};

}  // namespace tt::upload
