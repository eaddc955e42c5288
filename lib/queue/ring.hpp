// A bounded single-producer / single-consumer byte ring, one per (thread, client).
// The producer (an app thread in tt_log) copies a record in and publishes it with one
// release store; the consumer (the writer thread) reads records in order and frees the
// space with one release store. No lock, no allocation, no syscall on the fast path.
//
// Lifetime: a ring is shared by its producer thread and its client, and freed by
// whichever lets go last (refs), so neither a thread exit nor a tt_close can pull it
// from under the other.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>

namespace tt::queue {

// Wakes the writer thread. Shared with the rings so a producer can still touch it
// after its client went away in a race with tt_close.
struct Waker {
    std::mutex mu;
    std::condition_variable cv;
    bool pending = false;
    std::atomic<int> refs{1};
    // The writer found nothing to do and sleeps long (battery): producers wake it.
    alignas(64) std::atomic<bool> idle{false};

    void wake() {
        {
            std::lock_guard<std::mutex> lk(mu);
            pending = true;
        }
        cv.notify_one();
    }
    void release() noexcept {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }
};

// Record layout in the ring (8-byte aligned):
//   RecordHeader, msg bytes, then per attribute: u32 key_len, u32 value_len, key, value.
struct RecordHeader {
    uint32_t size;  // whole record, padded to 8; kWrap set: skip to the ring's start
    uint8_t level;
    uint8_t flags;  // kFlag*
    uint16_t nattrs;
    uint64_t ticks;
    uint32_t msg_len;
    uint32_t tid;
    uint8_t trace_id[16];  // all zero: no trace
    uint8_t span_id[8];
};
static_assert(sizeof(RecordHeader) == 48);

constexpr uint32_t kWrap = 0x80000000u;
constexpr uint8_t kFlagMsgTruncated = 1;
constexpr uint8_t kFlagAttrTruncated = 2;
constexpr uint8_t kFlagAttrsDropped = 4;

// The trace context of the calling thread, filled by the tracing layer; read by tt_log.
struct TraceContext {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    bool active;
};
extern constinit thread_local TraceContext t_trace __attribute__((tls_model("initial-exec")));

class Ring {
public:
    // capacity: a power of two, at least 4x the largest record the limits allow.
    Ring(uint32_t capacity, Waker *waker, uint32_t tid);
    ~Ring();
    Ring(const Ring &) = delete;
    Ring &operator=(const Ring &) = delete;

    void retain() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }

    // --- producer side (one thread) ---
    // Reserve n bytes (multiple of 8, <= capacity/4). Returns the write pointer or
    // nullptr when full. Follow with commit(n) on success. `wake_idle`: wake a writer that
    // sleeps after a second of silence (~10 us on this call); without it the record waits
    // for the writer's next idle round (Queue::kIdleWaitMs).
    __attribute__((always_inline)) inline char *reserve(uint32_t n, bool wake_idle = true) noexcept;
    inline void commit() noexcept;
    // Wake the writer, at most once per drain of this ring (a syscall, so rare).
    void hurry() noexcept {
        if (wake_sent_ && !drained_.load(std::memory_order_relaxed)) return;
        wake_up();
    }
    __attribute__((noinline, cold)) void wake_up() noexcept;
    inline void count_logged() noexcept { logged_.store(logged_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
    inline void count_dropped() noexcept { dropped_.store(dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
    inline void count_request() noexcept { req_logged_.store(req_logged_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
    inline void count_request_dropped() noexcept { req_dropped_.store(req_dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
    void producer_exit() noexcept { producer_gone_.store(true, std::memory_order_release); }

    // --- consumer side (the writer thread) ---
    // Calls fn(const RecordHeader&, const char *record) for records up to `limit`
    // (a head() snapshot) or until fn returns false; frees their space. Returns count.
    template <class Fn>
    uint64_t consume(uint64_t limit, Fn &&fn);
    uint64_t head() const noexcept { return head_.load(std::memory_order_acquire); }
    uint64_t tail() const noexcept { return tail_.load(std::memory_order_relaxed); }
    bool empty() const noexcept { return head() == tail(); }
    bool producer_gone() const noexcept { return producer_gone_.load(std::memory_order_acquire); }

    uint64_t logged() const noexcept { return logged_.load(std::memory_order_relaxed); }
    uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
    uint64_t requests() const noexcept { return req_logged_.load(std::memory_order_relaxed); }
    uint64_t requests_dropped() const noexcept { return req_dropped_.load(std::memory_order_relaxed); }
    uint32_t tid() const noexcept { return tid_; }
    uint32_t capacity() const noexcept { return cap_; }

private:
    alignas(64) std::atomic<uint64_t> head_{0};
    uint64_t cached_tail_ = 0;  // producer's last view of tail_
    uint64_t pending_ = 0;      // reserved but not committed
    bool wake_sent_ = false;    // producer asked the writer to hurry since the last drain
    alignas(64) std::atomic<uint64_t> tail_{0};
    std::atomic<bool> drained_{true};  // consumer tells producer: wake_sent_ may be re-armed
    alignas(64) std::atomic<uint64_t> logged_{0};
    std::atomic<uint64_t> dropped_{0};
    std::atomic<uint64_t> req_logged_{0}, req_dropped_{0};
    alignas(64) char *buf_;
    uint32_t cap_;
    uint32_t mask_;
    Waker *waker_;
    uint32_t tid_;
    std::atomic<int> refs_{1};
    std::atomic<bool> producer_gone_{false};
};

inline char *Ring::reserve(uint32_t n, bool wake_idle) noexcept {
    uint64_t pos = head_.load(std::memory_order_relaxed);
    uint32_t off = static_cast<uint32_t>(pos) & mask_;
    uint32_t skip = (off + n > cap_) ? cap_ - off : 0;  // room left at the end is too small: wrap
    uint64_t need = pos + skip + n;
    if (need - cached_tail_ > cap_) {
        cached_tail_ = tail_.load(std::memory_order_acquire);
        if (need - cached_tail_ > cap_) {
            hurry();
            return nullptr;
        }
    }
    // Past half full (by a fresh look at the tail): ask the writer not to wait out its
    // commit interval. Asleep with nothing to do: wake it for this first record.
    if (need - cached_tail_ > cap_ / 2) [[unlikely]] {
        cached_tail_ = tail_.load(std::memory_order_acquire);
        if (need - cached_tail_ > cap_ / 2) hurry();
    } else if (wake_idle && waker_->idle.load(std::memory_order_relaxed)) [[unlikely]] {
        hurry();
    }
    if (skip) {
        auto *h = reinterpret_cast<RecordHeader *>(buf_ + off);
        h->size = skip | kWrap;
        pos += skip;
        off = 0;
    }
    pending_ = pos + n;
    return buf_ + off;
}

inline void Ring::commit() noexcept { head_.store(pending_, std::memory_order_release); }

template <class Fn>
uint64_t Ring::consume(uint64_t limit, Fn &&fn) {
    uint64_t t = tail_.load(std::memory_order_relaxed), count = 0;
    while (t < limit) {
        const char *p = buf_ + (static_cast<uint32_t>(t) & mask_);
        auto *h = reinterpret_cast<const RecordHeader *>(p);
        if (h->size & kWrap) {
            t += h->size & ~kWrap;
            continue;
        }
        if (!fn(*h, p)) break;
        t += h->size;
        ++count;
        // Free space in chunks so the producer's view of tail_ moves often enough.
        if ((count & 63) == 0) tail_.store(t, std::memory_order_release);
    }
    tail_.store(t, std::memory_order_release);
    if (t == head_.load(std::memory_order_relaxed)) drained_.store(true, std::memory_order_relaxed);
    return count;
}

}  // namespace tt::queue
