// The second kind of ring record: a finished request or span. Log events have a level
// of 1..24 in RecordHeader::level; request records have level 0 (kRequestLevel).
//
// Layout after the RecordHeader (trace_id/span_id hold the request's own ids, ticks
// is unused, nattrs counts the captured server ids):
//   RequestFixed, then kRequestStrings strings, then nattrs (name, value) pairs;
//   every string is a u32 length followed by its bytes (not NUL-terminated).
#pragma once
#include <cstdint>
#include <cstring>
#include <string_view>

namespace tt::queue {

constexpr uint8_t kRequestLevel = 0;

enum RequestString : int { kName, kMethod, kScheme, kHost, kPath, kError, kServerIp, kRequestStrings };

enum Timing : int { kDns, kConnect, kTls, kFirstByte, kTotal, kTimings };

struct RequestFixed {
    uint64_t start_ns;     // wall clock
    uint64_t duration_ns;  // monotonic
    uint64_t bytes_up, bytes_down;
    int64_t timing_us[kTimings];  // curl's breakdown, -1 when unknown
    int32_t status;        // HTTP status, 0: no response
    uint16_t port, server_port;
    uint8_t parent_span[8];
    uint8_t has_parent;
    uint8_t kind;          // 0: HTTP request, 1: span
    uint8_t pad[6];
};
static_assert(sizeof(RequestFixed) % 8 == 0);

// A decoded request record, for the sink.
struct RequestView {
    const RequestFixed *fixed;
    uint32_t tid;
    std::string_view trace_id, span_id, parent_span_id;  // hex; parent empty if none
    std::string_view str[kRequestStrings];                // valid UTF-8
    std::string_view server_ids_json;                     // {"x-reqid":"..."} or empty
    const std::string_view *id_pairs;                     // 2 * n_ids: name, value, name, value, ...
    size_t n_ids;
};

inline size_t put_string(char *w, std::string_view s) {
    uint32_t n = static_cast<uint32_t>(s.size());
    std::memcpy(w, &n, 4);
    std::memcpy(w + 4, s.data(), n);
    return 4 + n;
}

inline std::string_view get_string(const char *&p) {
    uint32_t n;
    std::memcpy(&n, p, 4);
    std::string_view s(p + 4, n);
    p += 4 + n;
    return s;
}

}  // namespace tt::queue
