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
    // IMF-fixdate, the only date form senders must use (RFC 9110 5.6.7):
    // "Sun, 06 Nov 1994 08:49:37 GMT". By hand, not strptime: %a and %b follow the app's
    // locale (an app that called setlocale would never parse an English date).
    if (v.size() != 29 || v.substr(3, 2) != ", " || v.substr(25) != " GMT" || v[7] != ' ' || v[11] != ' ' || v[16] != ' ' ||
        v[19] != ':' || v[22] != ':')
        return std::nullopt;
    static constexpr std::string_view kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (std::find(std::begin(kDays), std::end(kDays), v.substr(0, 3)) == std::end(kDays)) return std::nullopt;
    auto month = std::find(std::begin(kMonths), std::end(kMonths), v.substr(8, 3));
    if (month == std::end(kMonths)) return std::nullopt;
    auto num = [&](size_t at, size_t len) -> int {
        int n = 0;
        for (size_t i = at; i < at + len; ++i) {
            if (v[i] < '0' || v[i] > '9') return -1;
            n = n * 10 + (v[i] - '0');
        }
        return n;
    };
    int day = num(5, 2), year = num(12, 4), hour = num(17, 2), minute = num(20, 2), second = num(23, 2);
    if (day < 1 || day > 31 || year < 1970 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60)
        return std::nullopt;
    struct tm tm = {};
    tm.tm_mday = day;
    tm.tm_mon = static_cast<int>(month - std::begin(kMonths));
    tm.tm_year = year - 1900;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
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
