// Request bodies on the wire: zstd (default; OTLP/HTTP collectors accept it) or gzip.
#pragma once
#include <string>
#include <string_view>

namespace tt::upload {

enum class Codec { kZstd, kGzip, kIdentity };

const char *content_encoding(Codec c) noexcept;  // "zstd", "gzip" or nullptr
// Compress `in` into `out` (replaced). Throws tt::Error(TT_ENOMEM) on failure.
void compress(Codec c, std::string_view in, std::string &out);

}  // namespace tt::upload
