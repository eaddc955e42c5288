// The support backend's ingestion parsers (examples/support-backend/ingest.cpp), fed
// anything: OTLP JSON -> rows, multipart/form-data, capped zstd/gzip decoding, error
// fingerprints. The first byte picks the parser ('0'..'5' in the seed corpus).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ingest.hpp"

#define CHECK_OR_ABORT(x) \
    do {                  \
        if (!(x)) std::abort(); \
    } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    std::string_view in(reinterpret_cast<const char *>(data) + 1, size - 1);
    switch (data[0] % 6) {
        case 0:
        case 1: {
            tsb::Batch b;
            bool traces = data[0] % 6 == 1;
            if (tsb::parse_otlp(in, traces, b)) break;
            for (auto &l : b.logs) {
                CHECK_OR_ABORT(l.resource < b.resources.size());
                CHECK_OR_ABORT(l.trace_id.empty() || tsb::is_hex_id(l.trace_id, 32));
                CHECK_OR_ABORT(l.span_id.empty() || tsb::is_hex_id(l.span_id, 16));
                CHECK_OR_ABORT(l.severity >= 0 && l.severity <= 24);
            }
            for (auto &s : b.spans) {
                CHECK_OR_ABORT(s.resource < b.resources.size());
                CHECK_OR_ABORT(tsb::is_hex_id(s.trace_id, 32) && tsb::is_hex_id(s.span_id, 16));
            }
            break;
        }
        case 2: {
            // "<content type>\n<body>": the boundary comes from the header, as on the wire.
            size_t nl = in.find('\n');
            if (nl == std::string_view::npos) break;
            std::string boundary = tsb::multipart_boundary(in.substr(0, nl));
            std::string_view body = in.substr(nl + 1);
            std::vector<tsb::Part> parts;
            tsb::parse_multipart(body, boundary, parts);
            for (auto &p : parts) CHECK_OR_ABORT(p.data.size() <= body.size());
            break;
        }
        case 3:
        case 4: {
            std::string out;
            const size_t cap = 1 << 20;
            tsb::decode_all(data[0] % 6 == 3 ? "zstd" : "gzip", in, cap, out);
            CHECK_OR_ABORT(out.size() <= cap);
            break;
        }
        case 5: {
            std::string fp = tsb::fingerprint(in);
            CHECK_OR_ABORT(fp.size() <= 512 + 8);
            CHECK_OR_ABORT(tsb::fingerprint(fp) == tsb::fingerprint(fp));
            tsb::parse_rfc3339(in);
            break;
        }
    }
    return 0;
}
