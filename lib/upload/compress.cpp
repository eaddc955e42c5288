#include "upload/compress.hpp"

#include <zlib.h>
#include <zstd.h>

#include "core/error.hpp"

namespace tt::upload {

const char *content_encoding(Codec c) noexcept {
    switch (c) {
    case Codec::kZstd: return "zstd";
    case Codec::kGzip: return "gzip";
    case Codec::kIdentity: return nullptr;
    }
    return nullptr;
}

void compress(Codec c, std::string_view in, std::string &out) {
    if (c == Codec::kIdentity) {
        out.assign(in);
        return;
    }
    if (c == Codec::kZstd) {
        out.resize(ZSTD_compressBound(in.size()));
        size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
        if (ZSTD_isError(n)) throw Error(TT_ENOMEM, std::string("zstd compression failed: ") + ZSTD_getErrorName(n), "free memory");
        out.resize(n);
        return;
    }
    z_stream z{};
    // windowBits 15 + 16: a gzip wrapper, as Content-Encoding: gzip means.
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw Error(TT_ENOMEM, "gzip compression could not start", "free memory");
    out.resize(deflateBound(&z, in.size()) + 32);
    z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef *>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    int rc = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    if (rc != Z_STREAM_END) throw Error(TT_ENOMEM, "gzip compression failed", "free memory");
}

}  // namespace tt::upload
