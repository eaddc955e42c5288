// W3C Trace Context: the traceparent header, version 00 (https://www.w3.org/TR/trace-context/).
#pragma once
#include <cstdint>
#include <string_view>

namespace tt::trace {

struct TraceIds {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t flags;  // bit 0: sampled
};

// Parse a traceparent value. Accepts any version but "ff" (future versions may append
// "-..." fields), rejects all-zero ids, upper-case hex and wrong lengths, as the spec asks.
bool parse_traceparent(std::string_view s, TraceIds &out) noexcept;

// "00-<32 hex>-<16 hex>-<2 hex>" plus NUL: 56 bytes.
constexpr size_t kTraceparentSize = 56;
void format_traceparent(const TraceIds &ids, char out[kTraceparentSize]) noexcept;

// Fresh random ids from the kernel's CSPRNG, never all zero.
void new_trace_id(uint8_t out[16]);
void new_span_id(uint8_t out[8]);

}  // namespace tt::trace
