// What a request record keeps of a URL: scheme, host, port and path. User-info, the
// fragment and the query string are dropped (they carry tokens and personal data);
// query keys on an allow-list may stay.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tt::trace {

struct UrlParts {
    std::string scheme;  // lower case, "" if the URL had none
    std::string host;    // lower case; IPv6 without brackets
    uint16_t port = 0;   // 0: none given
    std::string path;    // "/" at least, plus "?k=v&..." for allow-listed keys
};

inline const std::vector<std::string> kNoKeys;  // (a reference to it costs no copy, unlike `cond ? v : {}`)

// Never fails: anything unparsable ends up as a path. Host and path are capped.
UrlParts sanitize_url(std::string_view url, const std::vector<std::string> &keep_query_keys = {});

}  // namespace tt::trace
