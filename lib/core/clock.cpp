#include "core/clock.hpp"

#include <mutex>
#include <thread>

#ifdef TT_HAVE_TSC
#include <cpuid.h>
#endif

namespace tt::clock {

bool g_use_tsc = false;

void init() noexcept {
    static std::once_flag once;
    std::call_once(once, [] {
#ifdef TT_HAVE_TSC
        unsigned a = 0, b = 0, c = 0, d = 0;
        if (__get_cpuid(0x80000000u, &a, &b, &c, &d) && a >= 0x80000007u &&
            __get_cpuid(0x80000007u, &a, &b, &c, &d))
            g_use_tsc = (d & (1u << 8)) != 0;  // invariant TSC: constant rate, runs in all C-states
#endif
    });
}

TickConverter::TickConverter() noexcept : start_ticks_(ticks()), start_mono_(monotonic_ns()) {
    if (!g_use_tsc) return;
    // A first estimate of the rate from a short window; refined by anchor() later.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    uint64_t t = ticks(), m = monotonic_ns();
    if (t > start_ticks_ && m > start_mono_)
        ns_per_tick_ = static_cast<double>(m - start_mono_) / static_cast<double>(t - start_ticks_);
    anchor();
}

void TickConverter::anchor() noexcept {
    if (!g_use_tsc) return;
    uint64_t t = ticks(), m = monotonic_ns();
    if (m - start_mono_ > 50'000'000ull && t > start_ticks_)  // long enough a baseline to be precise
        ns_per_tick_ = static_cast<double>(m - start_mono_) / static_cast<double>(t - start_ticks_);
    anchor_ticks_ = t;
    anchor_real_ = realtime_ns();
}

uint64_t TickConverter::to_ns(uint64_t t) const noexcept {
    if (!g_use_tsc) return t;
    if (t >= anchor_ticks_)
        return anchor_real_ + static_cast<uint64_t>(static_cast<double>(t - anchor_ticks_) * ns_per_tick_);
    return anchor_real_ - static_cast<uint64_t>(static_cast<double>(anchor_ticks_ - t) * ns_per_tick_);
}

}  // namespace tt::clock
