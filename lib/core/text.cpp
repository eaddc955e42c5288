#include "core/text.hpp"

#include <cstdint>

namespace tt::text {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if it is ill-formed there.
size_t seq_len(const unsigned char *s, size_t n, size_t i) noexcept {
    unsigned char c = s[i];
    if (c < 0x80) return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;       // overlong
        else if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;       // overlong
        else if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
        return 0;
    }
    if (i + len > n) return 0;
    if (s[i + 1] < lo || s[i + 1] > hi) return 0;
    for (size_t k = 2; k < len; ++k)
        if ((s[i + k] & 0xC0) != 0x80) return 0;
    return len;
}

// How many bytes at s[i] form the maximal invalid subpart (at least 1).
size_t bad_len(const unsigned char *s, size_t n, size_t i) noexcept {
    unsigned char c = s[i];
    size_t want;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) want = 2;
    else if (c >= 0xE0 && c <= 0xEF) { want = 3; if (c == 0xE0) lo = 0xA0; else if (c == 0xED) hi = 0x9F; }
    else if (c >= 0xF0 && c <= 0xF4) { want = 4; if (c == 0xF0) lo = 0x90; else if (c == 0xF4) hi = 0x8F; }
    else return 1;
    size_t k = 1;
    if (i + k < n && s[i + k] >= lo && s[i + k] <= hi) {
        ++k;
        while (k < want && i + k < n && (s[i + k] & 0xC0) == 0x80) ++k;
    }
    return k;
}

}  // namespace

bool utf8_valid(std::string_view sv) noexcept {
    auto s = reinterpret_cast<const unsigned char *>(sv.data());
    size_t n = sv.size(), i = 0;
    while (i < n) {
        // Fast path: eight ASCII bytes at a time.
        while (i + 8 <= n) {
            uint64_t w;
            __builtin_memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= n) break;
        size_t l = seq_len(s, n, i);
        if (l == 0) return false;
        i += l;
    }
    return true;
}

bool utf8_repair(std::string_view sv, std::string &out) {
    auto s = reinterpret_cast<const unsigned char *>(sv.data());
    size_t n = sv.size(), i = 0, run = 0;
    bool repaired = false;
    while (i < n) {
        size_t l = seq_len(s, n, i);
        if (l) {
            i += l;
            continue;
        }
        out.append(sv.data() + run, i - run);
        out.append("\xEF\xBF\xBD");
        i += bad_len(s, n, i);
        run = i;
        repaired = true;
    }
    out.append(sv.data() + run, n - run);
    return repaired;
}

size_t utf8_cut(std::string_view s, size_t max) noexcept {
    if (s.size() <= max) return s.size();
    size_t cut = max;
    // Step back over continuation bytes to the start of the character that straddles max.
    size_t back = 0;
    while (cut > 0 && back < 4 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) {
        --cut;
        ++back;
    }
    return back < 4 ? cut : max;
}

size_t utf8_complete(std::string_view s) noexcept {
    size_t n = s.size();
    // Find the start of the last character (at most 3 continuation bytes back).
    size_t i = n, back = 0;
    while (i > 0 && back < 4 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) {
        --i;
        ++back;
    }
    if (i == 0) return n;
    unsigned char lead = static_cast<unsigned char>(s[i - 1]);
    size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return (want > 1 && back + 1 < want) ? i - 1 : n;
}

void json_escape(std::string_view s, std::string &out) {
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7F) continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    out.append(s.data() + run, s.size() - run);
}

}  // namespace tt::text
