// A request or span between its begin and its end: ids, what is known of the call,
// the server ids captured from response headers. At end it is encoded into the
// calling thread's ring (queue/records.hpp) and the object goes back to a pool.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "queue/records.hpp"
#include "queue/ring.hpp"
#include "trace/traceparent.hpp"
#include "trace/url.hpp"

namespace tt::trace {

constexpr uint64_t kRequestAlive = 0x7265717565737421ull;  // "request!"
constexpr uint64_t kRequestEnded = 0x656e646564212121ull;  // "ended!!!"
constexpr size_t kMaxIds = 16, kMaxIdBytes = 512, kMaxHeaderName = 64;
constexpr size_t kMaxErrorBytes = 2048, kMaxNameBytes = 256;

// Capture configuration shared by a client's requests (outlives them: shared_ptr).
struct CaptureConfig {
    std::vector<std::string> extra_headers;  // lower case
    std::vector<std::string> query_keys;
};

struct Request {
    uint64_t magic = kRequestEnded;
    void *owner = nullptr;         // the client handle (capi checks it is still open)
    uint64_t owner_state = 0;
    std::shared_ptr<const CaptureConfig> cfg;
    uint8_t kind = 0;              // 0: HTTP, 1: span
    TraceIds ids{};
    uint8_t parent_span[8]{};
    bool has_parent = false;
    char traceparent[kTraceparentSize]{};
    std::string name, method, error, server_ip;
    UrlParts url;
    uint64_t start_ns = 0, start_mono = 0;
    uint64_t bytes_up = 0, bytes_down = 0;
    int64_t timing_us[queue::kTimings];
    uint16_t server_port = 0;
    int status = 0;
    std::vector<std::pair<std::string, std::string>> server_ids;
    uint32_t headers_capped = 0;
    // Set by the libcurl helper (opaque here: the trace layer does not include curl.h).
    struct Curl {
        void *easy = nullptr, *our_headers = nullptr;
        void *app_headers = nullptr, *app_header_fn = nullptr, *app_header_data = nullptr;
        const char *app_error_buffer = nullptr;
    } curl;
    // Thread context handling.
    bool activated = false;
    queue::TraceContext prev{};

    // Start: parent from `parent` (a traceparent) if valid, else the thread's context.
    // Returns false if `parent` was given but malformed (it is then ignored).
    bool begin(uint8_t kind, std::string_view name_or_method, std::string_view url, const char *parent, bool detached);
    // Keep the header if it carries a server id. Cheap for the others.
    void header(std::string_view name, std::string_view value);
    // Undo begin's change of the thread's context, if it is still ours.
    void deactivate() noexcept;
    // Record size in the ring, and the encoding itself (into exactly that many bytes).
    uint32_t encoded_size() const noexcept;
    void encode(char *p, uint32_t size, uint32_t tid) const noexcept;
};

// A pooled Request (never freed, so a late call on an ended one is caught by magic;
// recycled only after kRecycleAfter later ends).
Request *acquire_request();
void release_request(Request *r) noexcept;
constexpr size_t kRecycleAfter = 4096;

// True if `name` (any case) is one of the default request-id headers or in cfg.
bool is_id_header(std::string_view name, const CaptureConfig &cfg) noexcept;

}  // namespace tt::trace
