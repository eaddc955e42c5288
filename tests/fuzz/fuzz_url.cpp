// libFuzzer target: the URL sanitizer. Never crashes, respects its caps, and never lets
// user-info or a non-allow-listed query through.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "trace/url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string in(reinterpret_cast<const char *>(data), size);
    tt::trace::UrlParts u = tt::trace::sanitize_url(in, {"page"});
    if (u.host.size() > 255 || u.path.size() > 2048 || u.path.empty()) std::abort();
    if (u.host.find('@') != std::string::npos) std::abort();  // user-info never survives
    auto q = u.path.find('?');
    if (q != std::string::npos && u.path.compare(q + 1, 4, "page") != 0) std::abort();
    for (char c : u.scheme)
        if (c >= 'A' && c <= 'Z') std::abort();
    return 0;
}
