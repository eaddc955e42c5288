// One HTTP POST at a time over libcurl, abortable at once from another thread
// (curl_multi_wakeup), so that tt_close or a DENIED answer never waits on a stalled
// server. TLS peer and host verification are always on.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tt::upload {

struct TransportConfig {
    std::string ca_file, proxy, auth_token;
    uint32_t timeout_ms = 30000;
};

inline constexpr size_t kMaxAnswerBytes = 64 * 1024;

struct Response {
    bool transport_failed = false;  // no HTTP answer (refused, reset, timeout, aborted)
    bool aborted = false;
    long status = 0;
    std::string retry_after;        // the header's raw value, if any
    std::string error;              // curl's words, or "HTTP <status>: <start of the body>"
    std::string body;               // the answer, up to kMaxAnswerBytes
    bool body_truncated = false;    // the answer was longer: `body` is only its start
};

class Transport {
public:
    explicit Transport(TransportConfig cfg);
    ~Transport();
    Transport(const Transport &) = delete;
    Transport &operator=(const Transport &) = delete;

    Response post(const std::string &url, const std::vector<std::string> &headers, const std::string &body);
    Response get(const std::string &url);
    // Any thread: make the current (and next) post return at once, aborted.
    void abort() noexcept;
    void reset_abort() noexcept { abort_.store(false, std::memory_order_release); }

private:
    Response perform(const std::string &url, const std::vector<std::string> &headers, const std::string *body);  // body null: GET
    TransportConfig cfg_;
    void *multi_ = nullptr;  // CURLM*
    void *easy_ = nullptr;   // CURL*, reused: keeps the connection alive between batches
    std::atomic<bool> abort_{false};
};

}  // namespace tt::upload
