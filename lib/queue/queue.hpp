// The rings of one client and the writer thread that drains them into a Sink in
// batches, one transaction per batch.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "queue/ring.hpp"
#include "queue/sink.hpp"

namespace tt::queue {

struct QueueConfig {
    uint32_t ring_bytes = 1u << 20;
    uint32_t batch_size = 4096;
    uint32_t commit_interval_ms = 50;
};

class Queue {
public:
    Queue(QueueConfig cfg, Sink &sink);
    ~Queue();  // stops the writer if stop() was not called
    Queue(const Queue &) = delete;
    Queue &operator=(const Queue &) = delete;

    void start();

    // A new ring for the calling thread. The caller owns one reference, the queue another.
    Ring *add_ring(uint32_t tid);

    // Wait until everything published before the call is committed; false on timeout.
    bool flush(uint32_t timeout_ms);
    // Flush within timeout_ms, then stop the writer. Past the timeout the writer gives
    // up (interrupting the sink) and whatever is left counts as dropped. False then.
    bool stop(uint32_t timeout_ms);

    // Totals over live and retired rings.
    uint64_t logged();
    uint64_t dropped();  // queue full + lost in the sink + abandoned at stop
    uint64_t stored() const noexcept { return stored_.load(std::memory_order_relaxed); }
    uint64_t truncated() const noexcept { return truncated_.load(std::memory_order_relaxed); }
    uint64_t repaired() const noexcept { return repaired_.load(std::memory_order_relaxed); }
    uint64_t requests();          // request records ended
    uint64_t requests_dropped();  // queue full + lost in the sink + abandoned

private:
    void run();
    uint64_t drain_round();
    void retire_finished_rings();
    bool any_pending();
    // How long the writer sleeps after a second of silence: the bound on how long a DEBUG or
    // INFO record waits then (they do not wake it), and the cadence of housekeeping.
    static constexpr uint32_t kIdleWaitMs = 1000;
    bool handle(const RecordHeader &h, const char *p);
    void handle_request(const RecordHeader &h, const char *p);
    void handle_event(const RecordHeader &h, const char *p);
    void commit_batch();

    QueueConfig cfg_;
    Sink &sink_;
    Waker *waker_;
    std::thread thread_;

    std::mutex rings_mu_;
    std::vector<Ring *> rings_;         // guarded by rings_mu_
    uint64_t retired_logged_ = 0, retired_dropped_ = 0;  // guarded by rings_mu_
    uint64_t retired_requests_ = 0, retired_req_dropped_ = 0;  // guarded by rings_mu_
    std::vector<Ring *> snapshot_;      // writer thread only
    std::vector<uint64_t> heads_;       // writer thread only

    std::atomic<uint64_t> flush_req_{0};
    std::mutex done_mu_;
    std::condition_variable done_cv_;
    uint64_t flush_done_ = 0;           // guarded by done_mu_
    bool exited_ = false;               // guarded by done_mu_
    std::atomic<bool> stop_{false}, abandon_{false};

    // Writer-thread state for the batch in progress.
    uint64_t in_batch_ = 0, in_batch_requests_ = 0;
    uint32_t empty_rounds_ = 0;
    std::string msg_, attrs_, scratch_;
    std::string req_str_[kRequestStrings];
    std::string ids_json_;
    std::vector<std::string> id_text_;
    std::vector<std::string_view> id_views_;
    char trace_hex_[32], span_hex_[16], parent_hex_[16];

    std::atomic<uint64_t> stored_{0}, sink_dropped_{0}, truncated_{0}, repaired_{0};
    std::atomic<uint64_t> requests_stored_{0}, sink_req_dropped_{0};
};

}  // namespace tt::queue
