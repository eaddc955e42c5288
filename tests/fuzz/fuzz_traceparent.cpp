// libFuzzer target: the incoming traceparent parser. Whatever it accepts must format
// back to a well-formed version-00 header that parses to the same ids.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "trace/traceparent.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace tt::trace;
    TraceIds ids;
    if (!parse_traceparent(std::string_view(reinterpret_cast<const char *>(data), size), ids)) return 0;
    char out[kTraceparentSize];
    format_traceparent(ids, out);
    TraceIds again;
    if (std::strlen(out) != 55 || !parse_traceparent(out, again)) std::abort();
    if (std::memcmp(ids.trace_id, again.trace_id, 16) || std::memcmp(ids.span_id, again.span_id, 8) || ids.flags != again.flags)
        std::abort();
    return 0;
}
