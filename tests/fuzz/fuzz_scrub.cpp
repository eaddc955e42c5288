// libFuzzer target: the report scrubber and fingerprinting. Linear time, idempotent,
// never grows a string without bound, and keeps valid UTF-8 valid.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/text.hpp"
#include "report/scrub.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    std::string in(reinterpret_cast<const char *>(data), size);
    std::string once = in;
    tt::report::scrub_text(once);
    std::string twice = once;
    tt::report::scrub_text(twice);
    if (twice != once) std::abort();
    if (once.size() > 16 * in.size() + 64) std::abort();
    if (tt::text::utf8_valid(in) && !tt::text::utf8_valid(once)) std::abort();
    std::string fp = tt::report::fingerprint(in);
    if (fp.size() > 6 * in.size() + 8) std::abort();
    return 0;
}
