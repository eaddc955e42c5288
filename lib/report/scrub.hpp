// Privacy filters applied to what a report carries from the logs: e-mail addresses,
// bearer tokens, Authorization/Cookie values, passwords in URLs and secret query
// parameters are replaced by "[redacted]" (or "[email]"). Hand-written scanners, not
// regexes: linear time on any input, and fuzzed.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace tt::report {

// Scrub free text (a log message, an attribute value). Returns true if it changed.
bool scrub_text(std::string &s);

// True if an attribute with this key holds a secret as a whole (authorization, cookie,
// password, token, secret, api_key, ...; plus `extra` keys), compared without case.
bool secret_key(std::string_view key, const std::vector<std::string> &extra = {});

// A message with its variable parts normalised, so that the same error groups together:
// UUIDs -> <uuid>, hex runs of 8+ -> <hex>, numbers -> <n>, quoted strings -> <s>.
std::string fingerprint(std::string_view msg);

}  // namespace tt::report
