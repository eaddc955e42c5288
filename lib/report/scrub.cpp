#include "report/scrub.hpp"

#include <cctype>
#include <cstring>

namespace tt::report {
namespace {

constexpr const char *kRedacted = "[redacted]";

bool ieq(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

bool istarts(std::string_view s, size_t at, std::string_view word) {
    return s.size() >= at + word.size() && ieq(s.substr(at, word.size()), word);
}

bool local_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("._%+-", c); }
bool domain_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'; }
bool token_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("-._~+/=", c); }

constexpr std::string_view kSecretKeys[] = {"authorization", "proxy-authorization", "cookie", "set-cookie", "password",
                                            "passwd", "pwd", "secret", "token", "access_token", "refresh_token",
                                            "id_token", "api_key", "apikey", "x-api-key", "client_secret", "sig",
                                            "signature", "session", "sessionid", "auth"};

// Replace s[from, to) with `with`; returns the index just after the replacement.
size_t replace(std::string &s, size_t from, size_t to, std::string_view with) {
    s.replace(from, to - from, with);
    return from + with.size();
}

bool scrub_emails(std::string &s) {
    bool changed = false;
    for (size_t at = s.find('@'); at != std::string::npos; at = s.find('@', at + 1)) {
        size_t l = at;
        while (l > 0 && local_char(s[l - 1])) --l;
        size_t r = at + 1;
        bool dot = false;
        while (r < s.size() && domain_char(s[r])) dot |= s[r++] == '.';
        while (r > at + 1 && (s[r - 1] == '.' || s[r - 1] == '-')) --r;  // "mail me at a@b.com."
        bool has_dot = false;
        for (size_t i = at + 1; i < r; ++i) has_dot |= s[i] == '.';
        if (l == at || !dot || !has_dot || r == at + 1) continue;
        at = replace(s, l, r, "[email]") - 1;
        changed = true;
    }
    return changed;
}

// "Bearer xyz", "Basic xyz": the credential goes.
bool scrub_schemes(std::string &s) {
    bool changed = false;
    for (std::string_view scheme : {"bearer ", "basic "}) {
        for (size_t i = 0; i + scheme.size() < s.size(); ++i) {
            if ((s[i] | 0x20) != 'b') continue;  // cheap first: most text has no "b" starting a scheme
            if (!istarts(s, i, scheme) || (i > 0 && std::isalnum(static_cast<unsigned char>(s[i - 1])))) continue;
            size_t start = i + scheme.size(), end = start;
            while (end < s.size() && token_char(s[end])) ++end;
            if (end - start < 4 || s.compare(start, end - start, kRedacted) == 0) continue;
            i = replace(s, start, end, kRedacted);
            changed = true;
        }
    }
    return changed;
}

// "authorization: xyz", "Cookie=abc; d=e", "password=hunter2", "token: abc" up to the end
// of the value (line end, quote, '&', ',' or ';' unless it is a cookie list).
bool scrub_key_values(std::string &s, const std::vector<std::string> &extra) {
    bool changed = false;
    if (s.find_first_of(":=") == std::string::npos) return false;  // no "key: value" anywhere
    for (size_t i = 0; i < s.size(); ++i) {
        if (!std::isalpha(static_cast<unsigned char>(s[i])) || (i > 0 && (std::isalnum(static_cast<unsigned char>(s[i - 1])) || s[i - 1] == '_' || s[i - 1] == '-')))
            continue;
        size_t k = i;
        while (k < s.size() && (std::isalnum(static_cast<unsigned char>(s[k])) || s[k] == '_' || s[k] == '-')) ++k;
        std::string_view key(s.data() + i, k - i);
        size_t v = k;
        while (v < s.size() && (s[v] == ' ' || s[v] == '"' || s[v] == '\'')) ++v;
        // The separator first: it is cheap, and most words are not followed by one.
        if (v >= s.size() || (s[v] != ':' && s[v] != '=') || !secret_key(key, extra)) {
            i = k;
            continue;
        }
        ++v;
        while (v < s.size() && (s[v] == ' ' || s[v] == '"' || s[v] == '\'')) ++v;
        bool cookie = ieq(key, "cookie") || ieq(key, "set-cookie");
        bool auth = ieq(key, "authorization") || ieq(key, "proxy-authorization");
        size_t e = v;
        auto escaped = [&](size_t q) {  // an odd run of backslashes before q escapes it
            size_t n = 0;
            while (q > v + n && s[q - 1 - n] == '\\') ++n;
            return n % 2 == 1;
        };
        while (e < s.size() && s[e] != '\n' && s[e] != '\r' && (s[e] != '"' || escaped(e)) && s[e] != '\'' &&
               (cookie || auth || (s[e] != '&' && s[e] != ',' && s[e] != ';' && s[e] != ' ')))
            ++e;
        if (e > v && escaped(e)) --e;  // never cut an escape in half (JSON stays JSON)
        if (e > v && s.compare(v, e - v, kRedacted) != 0) {
            e = replace(s, v, e, kRedacted);
            changed = true;
        }
        i = e;
    }
    return changed;
}

// "scheme://user:password@host": the user-info goes.
bool scrub_userinfo(std::string &s) {
    bool changed = false;
    for (size_t at = s.find("://"); at != std::string::npos; at = s.find("://", at + 3)) {
        size_t start = at + 3, end = start;
        while (end < s.size() && s[end] != '/' && s[end] != '@' && s[end] != ' ' && s[end] != '?' && s[end] != '#') ++end;
        if (end < s.size() && s[end] == '@' && end > start && s.compare(start, end - start, kRedacted) != 0) {
            replace(s, start, end, kRedacted);
            changed = true;
        }
    }
    return changed;
}

}  // namespace

bool secret_key(std::string_view key, const std::vector<std::string> &extra) {
    for (auto k : kSecretKeys)
        if (ieq(key, k)) return true;
    for (auto &k : extra)
        if (ieq(key, k)) return true;
    return false;
}

bool scrub_text(std::string &s) {
    static const std::vector<std::string> none;
    // Until nothing changes: one scrubber's replacement can complete another's match (a
    // value redacted by key=value took the '/' that ended a URL's user-info), and a
    // second scrub of the result must find nothing left (the fuzz target checks it).
    bool any = false;
    for (int round = 0; round < 8; ++round) {
        bool changed = scrub_userinfo(s);
        changed |= scrub_schemes(s);
        changed |= scrub_key_values(s, none);
        changed |= scrub_emails(s);
        if (!changed) break;
        any = true;
    }
    return any;
}

std::string fingerprint(std::string_view m) {
    std::string out;
    out.reserve(m.size());
    auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
    for (size_t i = 0; i < m.size();) {
        // UUID: 8-4-4-4-12 hex
        if (m.size() - i >= 36 && m[i + 8] == '-' && m[i + 13] == '-' && m[i + 18] == '-' && m[i + 23] == '-') {
            bool ok = true;
            for (size_t k = 0; k < 36 && ok; ++k) ok = (k == 8 || k == 13 || k == 18 || k == 23) ? true : hex(m[i + k]);
            if (ok) {
                out += "<uuid>";
                i += 36;
                continue;
            }
        }
        if (hex(m[i]) && (i == 0 || !std::isalnum(static_cast<unsigned char>(m[i - 1])))) {
            size_t j = i;
            bool digit = false;
            while (j < m.size() && hex(m[j])) digit |= std::isdigit(static_cast<unsigned char>(m[j++])) != 0;
            if (j - i >= 8 && digit && (j == m.size() || !std::isalnum(static_cast<unsigned char>(m[j])))) {
                out += "<hex>";
                i = j;
                continue;
            }
        }
        if (std::isdigit(static_cast<unsigned char>(m[i]))) {
            while (i < m.size() && (std::isdigit(static_cast<unsigned char>(m[i])) || m[i] == '.')) ++i;
            out += "<n>";
            continue;
        }
        if (m[i] == '"' || m[i] == '\'') {
            size_t close = m.find(m[i], i + 1);
            if (close != std::string_view::npos && close - i < 200) {
                out += "<s>";
                i = close + 1;
                continue;
            }
        }
        out += m[i++];
    }
    return out;
}

}  // namespace tt::report
