// Time on the hot path: a raw tick read (the TSC where it is invariant, ~8 ns) that the
// writer thread turns into wall-clock nanoseconds later (Quill's way). Where the TSC
// cannot be trusted, ticks are CLOCK_REALTIME nanoseconds and conversion is identity.
#pragma once
#include <cstdint>
#include <ctime>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define TT_HAVE_TSC 1
#endif

namespace tt::clock {

// Set once, before any client exists (first tt_open); read-only afterwards.
extern bool g_use_tsc;

inline uint64_t realtime_ns() noexcept {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

inline uint64_t monotonic_ns() noexcept {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

inline uint64_t ticks() noexcept {
#ifdef TT_HAVE_TSC
    if (g_use_tsc) return __rdtsc();
#endif
    return realtime_ns();
}

// Decide once whether ticks() uses the TSC (invariant TSC flag in CPUID). Idempotent.
void init() noexcept;

// Owned by one writer thread: turns ticks into wall-clock ns. The rate is measured
// against CLOCK_MONOTONIC and refined as time passes; each batch re-anchors to
// CLOCK_REALTIME, so wall-clock steps are followed and the error stays within the
// (milliseconds-long) age of an event times the rate error.
class TickConverter {
public:
    TickConverter() noexcept;
    // Take a fresh anchor; call once per batch before to_ns().
    void anchor() noexcept;
    uint64_t to_ns(uint64_t t) const noexcept;

private:
    uint64_t start_ticks_, start_mono_;
    uint64_t anchor_ticks_ = 0, anchor_real_ = 0;
    double ns_per_tick_ = 1.0;
};

}  // namespace tt::clock
