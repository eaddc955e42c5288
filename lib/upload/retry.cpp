#include "upload/retry.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <string>

namespace tt::upload {

Outcome classify(long s, bool transport_failed) noexcept {
    if (transport_failed || s == 0) return Outcome::kRetry;
    if (s >= 200 && s < 300) return Outcome::kDelivered;
    if (s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504) return Outcome::kRetry;
    if (s == 413) return Outcome::kSplit;
    return Outcome::kDrop;
}

std::optional<uint64_t> parse_retry_after(std::string_view v, uint64_t now) noexcept {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r' || v.back() == '\n')) v.remove_suffix(1);
    if (v.empty()) return std::nullopt;
    if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        if (v.size() > 9) return uint64_t(999999999) * 1000;  // absurdly long: cap, do not overflow
        uint64_t secs = 0;
        for (char c : v) secs = secs * 10 + static_cast<uint64_t>(c - '0');
        return secs * 1000;
    }
    // IMF-fixdate, the only date form senders must use (RFC 9110 5.6.7).
    std::string buf(v);
    struct tm tm = {};
    const char *end = strptime(buf.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end) return std::nullopt;
    time_t at = timegm(&tm);
    if (at < 0) return std::nullopt;
    uint64_t t = static_cast<uint64_t>(at);
    return t > now ? (t - now) * 1000 : 0;
}

uint64_t backoff_ms(uint32_t attempt, uint32_t base_ms, uint32_t cap_ms, double random) noexcept {
    uint64_t ceiling = base_ms;
    for (uint32_t i = 0; i < attempt && ceiling < cap_ms; ++i) ceiling *= 2;
    ceiling = std::min<uint64_t>(ceiling, cap_ms);
    return static_cast<uint64_t>(random * static_cast<double>(ceiling));
}

}  // namespace tt::upload
