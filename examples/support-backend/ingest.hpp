// Parsing what clients send: decompression with a running size cap, OTLP/HTTP JSON logs
// and spans turned into rows, and multipart/form-data reports. No I/O and no SQLite here,
// so the fuzz target (tests/fuzz/fuzz_backend_ingest.cpp) can drive all of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tsb {

// Streaming decoder for a request body: fed the bytes as they arrive, it inflates them
// chunk by chunk and stops as soon as the output would pass `cap`, so a bomb (a small
// body that inflates to gigabytes) costs at most `cap` bytes of memory.
class Decoder {
public:
    enum class Result { kOk, kTooLarge, kBad };
    // encoding: "", "identity", "zstd", "gzip" (also zlib "deflate"); anything else: bad().
    Decoder(std::string_view encoding, size_t cap);
    ~Decoder();
    Decoder(const Decoder &) = delete;
    Decoder &operator=(const Decoder &) = delete;
    bool supported() const { return kind_ != Kind::kUnknown; }
    Result feed(const char *data, size_t n);  // kOk: go on
    Result finish();                          // the stream must end cleanly (a whole frame)
    std::string &out() { return out_; }
    const std::string &error() const { return error_; }

private:
    enum class Kind { kIdentity, kZstd, kGzip, kUnknown };
    Kind kind_;
    size_t cap_;
    std::string out_, error_;
    struct State;
    std::unique_ptr<State> st_;
    bool frame_done_ = true;
};

// One-shot convenience for tests and the fuzzer.
Decoder::Result decode_all(std::string_view encoding, std::string_view body, size_t cap, std::string &out);

struct Resource {
    std::string install_id, session_id, app, app_version, os;
};

struct LogRow {
    size_t resource = 0;  // index into Batch::resources
    int64_t time_ns = 0;
    int severity = 0;
    std::string message, trace_id, span_id;
    std::string attrs;  // JSON object: key -> string value
};

struct SpanRow {
    size_t resource = 0;
    std::string trace_id, span_id, parent_span_id, name;
    int kind = 0;
    int64_t start_ns = 0, end_ns = 0;
    int status_code = 0;  // OTLP: 2 = error
    std::string status_message, method, path, host, error_type;
    int http_status = 0;
    std::vector<std::pair<std::string, std::string>> server_ids;  // header name -> value
    std::string attrs;  // JSON object of every attribute
};

struct Batch {
    std::vector<Resource> resources;
    std::vector<LogRow> logs;
    std::vector<SpanRow> spans;
};

// ExportLogsServiceRequest / ExportTraceServiceRequest (JSON encoding) -> rows.
// Returns an error text when the body is not that; unknown fields are ignored.
std::optional<std::string> parse_otlp(std::string_view json, bool traces, Batch &out);

struct Part {
    std::string name, filename, content_type, data;
};
// The boundary from a Content-Type header; "" when there is none.
std::string multipart_boundary(std::string_view content_type);
// multipart/form-data body -> parts; an error text when it is malformed.
std::optional<std::string> parse_multipart(std::string_view body, std::string_view boundary, std::vector<Part> &out);

// Error fingerprint: numbers, hex runs and UUIDs normalised so "timeout after 503 ms on
// 10.0.0.7" and "timeout after 90 ms on 10.0.0.9" count as one problem.
std::string fingerprint(std::string_view message);

bool is_hex_id(std::string_view s, size_t len);
std::string rfc3339(int64_t ns);
int64_t parse_rfc3339(std::string_view s);  // 0 when unreadable

}  // namespace tsb
