#include "trace/url.hpp"

#include <algorithm>

namespace tt::trace {
namespace {

constexpr size_t kMaxHost = 255, kMaxPath = 2048;

std::string lower(std::string_view s) {
    std::string r(s);
    for (auto &c : r)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return r;
}

bool scheme_char(char c, bool first) {
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    return first ? alpha : alpha || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

}  // namespace

UrlParts sanitize_url(std::string_view url, const std::vector<std::string> &keep) {
    UrlParts r;
    std::string_view rest = url;
    // Surrounding white space is never part of a URL.
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t' || rest.back() == '\r' || rest.back() == '\n'))
        rest.remove_suffix(1);

    auto colon = rest.find("://");
    if (colon != std::string_view::npos && colon > 0) {
        bool ok = true;
        for (size_t i = 0; i < colon && ok; ++i) ok = scheme_char(rest[i], i == 0);
        if (ok) {
            r.scheme = lower(rest.substr(0, colon));
            rest.remove_prefix(colon + 3);
            size_t end = rest.find_first_of("/?#");
            std::string_view auth = rest.substr(0, end);
            rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
            auto at = auth.rfind('@');  // user:password@ goes
            if (at != std::string_view::npos) auth.remove_prefix(at + 1);
            std::string_view host = auth, port;
            if (!auth.empty() && auth.front() == '[') {
                auto close = auth.find(']');
                host = auth.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1);
                if (close != std::string_view::npos && close + 1 < auth.size() && auth[close + 1] == ':')
                    port = auth.substr(close + 2);
            } else if (auto c = auth.rfind(':'); c != std::string_view::npos) {
                host = auth.substr(0, c);
                port = auth.substr(c + 1);
            }
            r.host = lower(host.substr(0, kMaxHost));
            unsigned long p = 0;
            bool digits = !port.empty() && port.size() <= 5;
            for (char ch : port) {
                if (ch < '0' || ch > '9') digits = false;
                else p = p * 10 + static_cast<unsigned long>(ch - '0');
            }
            if (digits && p > 0 && p <= 65535) r.port = static_cast<uint16_t>(p);
        }
    }
    size_t qpos = rest.find_first_of("?#");
    std::string_view path = rest.substr(0, qpos);
    r.path = path.empty() ? "/" : std::string(path.substr(0, kMaxPath));
    if (qpos != std::string_view::npos && rest[qpos] == '?' && !keep.empty()) {
        std::string_view q = rest.substr(qpos + 1);
        q = q.substr(0, q.find('#'));
        std::string kept;
        while (!q.empty()) {
            size_t amp = q.find('&');
            std::string_view pair = q.substr(0, amp);
            q.remove_prefix(amp == std::string_view::npos ? q.size() : amp + 1);
            std::string_view key = pair.substr(0, pair.find('='));
            if (std::find(keep.begin(), keep.end(), key) != keep.end()) {
                kept += kept.empty() ? '?' : '&';
                kept.append(pair);
            }
        }
        if (r.path.size() + kept.size() <= kMaxPath) r.path += kept;
    }
    return r;
}

}  // namespace tt::trace
