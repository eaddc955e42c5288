// libFuzzer target: the Retry-After parser (a server's header, so anything may come).
// Invariants: plain seconds give exactly that many ms (capped); a date never gives more
// than its distance from "now"; nothing else is accepted.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "upload/retry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string in(reinterpret_cast<const char *>(data), size);
    const uint64_t now = 1'700'000'000;
    auto r = tt::upload::parse_retry_after(in, now);
    std::string t = in;
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.erase(0, 1);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t' || t.back() == '\r' || t.back() == '\n')) t.pop_back();
    bool digits = !t.empty() && t.find_first_not_of("0123456789") == std::string::npos;
    if (digits) {
        if (!r) std::abort();
        uint64_t want = t.size() > 9 ? 999999999ull * 1000 : std::stoull(t) * 1000;
        if (*r != want) std::abort();
    } else if (r) {
        if (t.size() != 29 || t.compare(25, 4, " GMT") != 0) std::abort();  // only IMF-fixdate
        if (*r > (253402300799ull - now) * 1000) std::abort();              // not past year 9999
    }
    return 0;
}
