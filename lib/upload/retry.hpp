// When to try again: exponential backoff with full jitter, capped, and a server's
// Retry-After (seconds or an HTTP date) honoured even beyond the cap.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace tt::upload {

enum class Outcome {
    kDelivered,  // 2xx
    kRetry,      // 408, 429, 500, 502, 503, 504, network errors
    kSplit,      // 413: the batch is too large for the server
    kDrop,       // any other 4xx (and other codes): the server will never take it
};

Outcome classify(long http_status, bool transport_failed) noexcept;

// Retry-After as a delay in ms from now: "120" or "Wed, 21 Oct 2015 07:28:00 GMT".
// nullopt if absent or unparsable; a date in the past gives 0.
std::optional<uint64_t> parse_retry_after(std::string_view value, uint64_t now_unix_s) noexcept;

// Full jitter: uniform in [0, min(cap, base * 2^attempt)]; `random` is uniform in [0, 1).
uint64_t backoff_ms(uint32_t attempt, uint32_t base_ms, uint32_t cap_ms, double random) noexcept;

}  // namespace tt::upload
