#include "queue/ring.hpp"

#include <new>

namespace tt::queue {

thread_local TraceContext t_trace{};

Ring::Ring(uint32_t capacity, Waker *waker, uint32_t tid)
    : buf_(static_cast<char *>(::operator new(capacity, std::align_val_t(64)))),
      cap_(capacity),
      mask_(capacity - 1),
      waker_(waker),
      tid_(tid) {
    waker_->refs.fetch_add(1, std::memory_order_relaxed);
}

Ring::~Ring() {
    ::operator delete(buf_, std::align_val_t(64));
    waker_->release();
}

}  // namespace tt::queue
