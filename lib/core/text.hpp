// Text helpers shared by the writer and the tools: UTF-8 validation and repair,
// JSON string escaping. None of them throws on bad input.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace tt::text {

// True if s is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool utf8_valid(std::string_view s) noexcept;

// Append s to out with every ill-formed sequence replaced by U+FFFD (one per maximal
// invalid subpart, as Unicode recommends). Returns true if anything was replaced.
bool utf8_repair(std::string_view s, std::string &out);

// Length of the longest prefix of s, at most max bytes, that does not end inside a
// UTF-8 sequence (so truncation never splits a character).
size_t utf8_cut(std::string_view s, size_t max) noexcept;

// Length of s without a trailing incomplete UTF-8 sequence (left by a byte-count cut).
size_t utf8_complete(std::string_view s) noexcept;

// Append s as the inside of a JSON string (no quotes added); s must be valid UTF-8.
void json_escape(std::string_view s, std::string &out);

}  // namespace tt::text
