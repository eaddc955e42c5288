#include "queue/ring.hpp"

#include <sys/mman.h>

#include <new>

namespace tt::queue {

constinit thread_local TraceContext t_trace __attribute__((tls_model("initial-exec"))){};

namespace {

// Ring memory comes mapped and populated: a page fault costs a log call microseconds,
// so the producer's first lap must not take one every few dozen records.
char *map_ring(uint32_t capacity) {
    void *p = mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return static_cast<char *>(p);
}

}  // namespace

Ring::Ring(uint32_t capacity, Waker *waker, uint32_t tid)
    : buf_(map_ring(capacity)),
      cap_(capacity),
      mask_(capacity - 1),
      waker_(waker),
      tid_(tid) {
    waker_->refs.fetch_add(1, std::memory_order_relaxed);
}

void Ring::wake_up() noexcept {
    wake_sent_ = true;
    drained_.store(false, std::memory_order_relaxed);
    waker_->wake();
}

Ring::~Ring() {
    munmap(buf_, cap_);
    waker_->release();
}

}  // namespace tt::queue
