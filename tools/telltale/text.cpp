#include <ctime>

#include <fmt/format.h>

#include "cli.hpp"
#include "core/text.hpp"

namespace ttcli {
namespace {

constexpr int64_t kNsPerSec = 1'000'000'000;

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm):
// no time_t or struct tm, so no range or time-zone surprises.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

unsigned days_in_month(int64_t y, unsigned m) {
    static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : kDays[m - 1];
}

// Reads exactly n digits at s[i]; advances i.
bool digits(std::string_view s, size_t &i, size_t n, unsigned &out) {
    if (i + n > s.size()) return false;
    out = 0;
    for (size_t k = 0; k < n; ++k) {
        char c = s[i + k];
        if (c < '0' || c > '9') return false;
        out = out * 10 + static_cast<unsigned>(c - '0');
    }
    i += n;
    return true;
}

bool eat_char(std::string_view s, size_t &i, char c) {
    if (i < s.size() && s[i] == c) {
        ++i;
        return true;
    }
    return false;
}

bool ieq(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

// A strict RFC 8259 validator, so that what dump embeds verbatim parses everywhere
// (including parsers that reject unpaired \uD800 escapes).
class JsonCheck {
public:
    explicit JsonCheck(std::string_view s) : s_(s) {}
    bool object_only() {
        ws();
        if (i_ >= s_.size() || s_[i_] != '{') return false;
        if (!value()) return false;
        ws();
        return i_ == s_.size();
    }

private:
    static constexpr int kMaxDepth = 256;  // deeper is not something telltale writes; refuse it without recursing on
    std::string_view s_;
    size_t i_ = 0;
    int depth_ = 0;

    bool eat(char c) {
        if (i_ < s_.size() && s_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }
    void ws() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
    }
    bool value() {
        ws();
        if (i_ >= s_.size()) return false;
        switch (s_[i_]) {
        case '{': return container('}');
        case '[': return container(']');
        case '"': return string();
        case 't': return literal("true");
        case 'f': return literal("false");
        case 'n': return literal("null");
        default: return number();
        }
    }
    bool container(char close) {
        if (++depth_ > kMaxDepth) return false;
        ++i_;
        ws();
        if (eat(close)) {
            --depth_;
            return true;
        }
        for (;;) {
            if (close == '}') {
                ws();
                if (i_ >= s_.size() || s_[i_] != '"' || !string()) return false;
                ws();
                if (!eat(':')) return false;
            }
            if (!value()) return false;
            ws();
            if (eat(close)) break;
            if (!eat(',')) return false;
        }
        --depth_;
        return true;
    }
    bool hex4(unsigned &v) {
        if (i_ + 4 > s_.size()) return false;
        v = 0;
        for (int k = 0; k < 4; ++k) {
            char c = s_[i_++];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
            else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= static_cast<unsigned>(c - 'A' + 10);
            else return false;
        }
        return true;
    }
    bool string() {
        ++i_;  // opening quote
        while (i_ < s_.size()) {
            unsigned char c = static_cast<unsigned char>(s_[i_++]);
            if (c == '"') return true;
            if (c < 0x20) return false;
            if (c != '\\') continue;
            if (i_ >= s_.size()) return false;
            char e = s_[i_++];
            if (e != 'u') {
                if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' && e != 't') return false;
                continue;
            }
            unsigned u;
            if (!hex4(u)) return false;
            if (u >= 0xDC00 && u <= 0xDFFF) return false;  // a low surrogate first
            if (u >= 0xD800 && u <= 0xDBFF) {
                unsigned lo;
                if (!eat('\\') || !eat('u') || !hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
            }
        }
        return false;
    }
    bool literal(std::string_view word) {
        if (s_.substr(i_, word.size()) != word) return false;
        i_ += word.size();
        return true;
    }
    bool some_digits() {
        size_t start = i_;
        while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
        return i_ > start;
    }
    bool number() {
        eat('-');
        if (eat('0')) {
        } else if (i_ < s_.size() && s_[i_] >= '1' && s_[i_] <= '9') {
            some_digits();
        } else {
            return false;
        }
        if (eat('.') && !some_digits()) return false;
        if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
            ++i_;
            if (!eat('+')) eat('-');
            if (!some_digits()) return false;
        }
        return true;
    }
};

}  // namespace

std::string rfc3339(int64_t unix_ns) {
    // Floor division, so times before 1970 print as themselves.
    int64_t secs = unix_ns / kNsPerSec, frac = unix_ns % kNsPerSec;
    if (frac < 0) {
        frac += kNsPerSec;
        --secs;
    }
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        --days;
    }
    // civil_from_days (Hinnant), the inverse of days_from_civil.
    int64_t z = days + 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", y, m, d, rem / 3600, rem / 60 % 60, rem % 60, frac);
}

std::optional<int64_t> parse_rfc3339(std::string_view s) {
    size_t i = 0;
    unsigned year, month, day, hh = 0, mm = 0, ss = 0;
    if (!digits(s, i, 4, year) || !eat_char(s, i, '-') || !digits(s, i, 2, month) || !eat_char(s, i, '-') ||
        !digits(s, i, 2, day))
        return std::nullopt;
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) return std::nullopt;
    int64_t frac_ns = 0, offset_s = 0;
    if (i < s.size()) {
        if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return std::nullopt;
        ++i;
        if (!digits(s, i, 2, hh) || !eat_char(s, i, ':') || !digits(s, i, 2, mm) || !eat_char(s, i, ':') ||
            !digits(s, i, 2, ss))
            return std::nullopt;
        if (hh > 23 || mm > 59 || ss > 60) return std::nullopt;  // 60: a leap second
        if (i < s.size() && s[i] == '.') {
            ++i;
            size_t n = 0;
            int64_t scale = 100'000'000;
            for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++n) {
                frac_ns += (s[i] - '0') * scale;  // digits past the ninth are below a nanosecond: dropped
                scale /= 10;
            }
            if (n == 0) return std::nullopt;
        }
        // RFC 3339 requires the offset: a time without one would silently be local or UTC.
        if (i >= s.size()) return std::nullopt;
        if (s[i] == 'Z' || s[i] == 'z') {
            ++i;
        } else if (s[i] == '+' || s[i] == '-') {
            int sign = s[i] == '-' ? -1 : 1;
            ++i;
            unsigned oh, om;
            if (!digits(s, i, 2, oh) || !eat_char(s, i, ':') || !digits(s, i, 2, om) || oh > 23 || om > 59)
                return std::nullopt;
            offset_s = sign * static_cast<int64_t>(oh * 3600 + om * 60);
        } else {
            return std::nullopt;
        }
        if (i != s.size()) return std::nullopt;
    }
    __int128 secs = static_cast<__int128>(days_from_civil(year, month, day)) * 86400 + hh * 3600 + mm * 60 + ss - offset_s;
    __int128 ns = secs * kNsPerSec + frac_ns;
    if (ns > INT64_MAX || ns < INT64_MIN) return std::nullopt;  // outside 1677..2262
    return static_cast<int64_t>(ns);
}

std::optional<int64_t> parse_duration(std::string_view s) {
    if (s.empty()) return std::nullopt;
    __int128 total = 0;
    size_t i = 0;
    while (i < s.size()) {
        size_t start = i;
        __int128 n = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            n = n * 10 + (s[i] - '0');
            if (n > INT64_MAX) return std::nullopt;
            ++i;
        }
        if (i == start || i == s.size()) return std::nullopt;  // a number without a unit is not a duration
        int64_t unit;
        switch (s[i]) {
        case 's': unit = kNsPerSec; break;
        case 'm': unit = 60 * kNsPerSec; break;
        case 'h': unit = 3600 * kNsPerSec; break;
        case 'd': unit = 86400 * kNsPerSec; break;
        default: return std::nullopt;
        }
        ++i;
        total += n * unit;
        if (total > INT64_MAX) return std::nullopt;
    }
    return static_cast<int64_t>(total);
}

int64_t now_ns() {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
}

const char *level_name(int64_t severity) {
    if (severity < 1) return "UNSPECIFIED";  // OTLP's 0; telltale never writes it
    if (severity < 5) return "TRACE";
    if (severity < 9) return "DEBUG";
    if (severity < 13) return "INFO";
    if (severity < 17) return "WARN";
    if (severity < 21) return "ERROR";
    return "FATAL";
}

std::optional<int> parse_level(std::string_view s) {
    static const struct {
        const char *name;
        int severity;
    } kNames[] = {{"trace", 1}, {"debug", 5}, {"info", 9}, {"warn", 13}, {"warning", 13}, {"error", 17}, {"fatal", 21}};
    for (const auto &n : kNames)
        if (ieq(s, n.name)) return n.severity;
    if (s.empty() || s.size() > 2) return std::nullopt;
    int v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    if (v < 1 || v > 24) return std::nullopt;
    return v;
}

void json_string(std::string_view s, std::string &out) {
    out += '"';
    if (tt::text::utf8_valid(s)) {
        tt::text::json_escape(s, out);
    } else {
        std::string fixed;
        tt::text::utf8_repair(s, fixed);
        tt::text::json_escape(fixed, out);
    }
    out += '"';
}

bool json_is_object(std::string_view s) { return JsonCheck(s).object_only(); }

// Stored text with newlines between tokens would break NDJSON's one-object-a-line:
// drop whitespace outside strings (raw control characters cannot occur inside them).
std::string minify(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    bool in_str = false, esc = false;
    for (char c : s) {
        if (in_str) {
            if (esc) esc = false;
            else if (c == '\\') esc = true;
            else if (c == '"') in_str = false;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            continue;
        } else if (c == '"') {
            in_str = true;
        }
        out += c;
    }
    return out;
}

void append_event_tail(int64_t thread, std::optional<std::string_view> trace_id, std::optional<std::string_view> span_id,
                       std::optional<std::string_view> attrs, std::string &b, uint64_t &bad_attrs) {
    fmt::format_to(std::back_inserter(b), R"(,"thread":{})", thread);
    if (trace_id) {
        b += R"(,"trace_id":)";
        json_string(*trace_id, b);
    }
    if (span_id) {
        b += R"(,"span_id":)";
        json_string(*span_id, b);
    }
    b += R"(,"attrs":)";
    if (!attrs) {
        b += "{}";
        return;
    }
    std::string a;
    tt::text::utf8_repair(*attrs, a);
    if (json_is_object(a)) {  // what the file holds is checked again, strictly
        b += a.find_first_of(" \t\r\n") == std::string::npos ? a : minify(a);
    } else {
        // Keep what was stored, as a string, rather than print broken JSON or lose it.
        ++bad_attrs;
        b += R"({"telltale.attrs_raw":)";
        json_string(*attrs, b);
        b += '}';
    }
}

std::string attrs_for_people(std::optional<std::string_view> attrs) {
    if (!attrs) return {};
    std::string a;
    tt::text::utf8_repair(*attrs, a);
    if (!json_is_object(a)) return printable(*attrs);
    a = minify(a);
    return a == "{}" ? std::string() : printable(a);
}

std::string printable(std::string_view s) {
    std::string clean;
    tt::text::utf8_repair(s, clean);
    for (char &c : clean)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
    return clean;
}

size_t display_width(std::string_view s) {
    size_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;  // continuation bytes add nothing
    return n;
}

}  // namespace ttcli
