#include "trace/traceparent.hpp"

#include <cstring>

#include "core/ids.hpp"

namespace tt::trace {
namespace {

int hexval(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;  // upper case is invalid in traceparent
}

bool hex_bytes(std::string_view s, uint8_t *out, size_t n) noexcept {
    if (s.size() != 2 * n) return false;
    for (size_t i = 0; i < n; ++i) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return true;
}

bool all_zero(const uint8_t *p, size_t n) noexcept {
    for (size_t i = 0; i < n; ++i)
        if (p[i]) return false;
    return true;
}

}  // namespace

bool parse_traceparent(std::string_view s, TraceIds &out) noexcept {
    // Leading and trailing spaces and tabs are allowed around header values (RFC 9110 OWS).
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    if (s.size() < 55) return false;
    uint8_t version;
    if (!hex_bytes(s.substr(0, 2), &version, 1) || version == 0xff) return false;
    if (s[2] != '-' || s[35] != '-' || s[52] != '-') return false;
    if (version == 0 && s.size() != 55) return false;
    if (version != 0 && s.size() > 55 && s[55] != '-') return false;
    TraceIds ids;
    if (!hex_bytes(s.substr(3, 32), ids.trace_id, 16) || !hex_bytes(s.substr(36, 16), ids.span_id, 8) ||
        !hex_bytes(s.substr(53, 2), &ids.flags, 1))
        return false;
    if (all_zero(ids.trace_id, 16) || all_zero(ids.span_id, 8)) return false;
    out = ids;
    return true;
}

void format_traceparent(const TraceIds &ids, char out[kTraceparentSize]) noexcept {
    static const char d[] = "0123456789abcdef";
    char *w = out;
    *w++ = '0';
    *w++ = '0';
    *w++ = '-';
    for (uint8_t b : ids.trace_id) *w++ = d[b >> 4], *w++ = d[b & 15];
    *w++ = '-';
    for (uint8_t b : ids.span_id) *w++ = d[b >> 4], *w++ = d[b & 15];
    *w++ = '-';
    *w++ = d[ids.flags >> 4];
    *w++ = d[ids.flags & 15];
    *w = '\0';
}

void new_trace_id(uint8_t out[16]) {
    do ids::random_bytes_buffered(out, 16);
    while (all_zero(out, 16));
}

void new_span_id(uint8_t out[8]) {
    do ids::random_bytes_buffered(out, 8);
    while (all_zero(out, 8));
}

}  // namespace tt::trace
