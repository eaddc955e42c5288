#include "upload/transport.hpp"

#include <curl/curl.h>

#include <cstring>
#include <mutex>

#include <fmt/format.h>

#include "core/error.hpp"
#include "telltale/telltale.h"

namespace tt::upload {
namespace {

struct Capture {
    std::string body;
    bool truncated = false;
    std::string retry_after;
};

size_t on_body(char *p, size_t size, size_t n, void *ud) {
    auto *c = static_cast<Capture *>(ud);
    size_t len = size * n;
    // Enough for any sensible JSON answer (a notice, an error); a proxy's error page is cut.
    size_t take = std::min(len, kMaxAnswerBytes - c->body.size());
    c->body.append(p, take);
    if (take < len) c->truncated = true;
    return len;
}

size_t on_header(char *p, size_t size, size_t n, void *ud) {
    auto *c = static_cast<Capture *>(ud);
    size_t len = size * n;
    if (len > 12 && strncasecmp(p, "retry-after:", 12) == 0) c->retry_after.assign(p + 12, len - 12);
    if (len > 5 && strncmp(p, "HTTP/", 5) == 0) c->retry_after.clear();  // a new response
    return len;
}

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

Transport::Transport(TransportConfig cfg) : cfg_(std::move(cfg)) {
    global_init();
    multi_ = curl_multi_init();
    easy_ = curl_easy_init();
    if (!multi_ || !easy_) {
        curl_easy_cleanup(static_cast<CURL *>(easy_));
        curl_multi_cleanup(static_cast<CURLM *>(multi_));
        throw Error(TT_ENOMEM, "cannot set up libcurl for uploads", "free memory");
    }
}

Transport::~Transport() {
    curl_easy_cleanup(static_cast<CURL *>(easy_));
    curl_multi_cleanup(static_cast<CURLM *>(multi_));
}

void Transport::abort() noexcept {
    abort_.store(true, std::memory_order_release);
    curl_multi_wakeup(static_cast<CURLM *>(multi_));
}

Response Transport::post(const std::string &url, const std::vector<std::string> &headers, const std::string &body) {
    return perform(url, headers, &body);
}

Response Transport::get(const std::string &url) { return perform(url, {}, nullptr); }

Response Transport::perform(const std::string &url, const std::vector<std::string> &headers, const std::string *body) {
    Response r;
    if (abort_.load(std::memory_order_acquire)) {
        r.transport_failed = r.aborted = true;
        r.error = "aborted";
        return r;
    }
    CURL *e = static_cast<CURL *>(easy_);
    CURLM *m = static_cast<CURLM *>(multi_);
    Capture cap;
    curl_slist *list = nullptr;
    for (auto &h : headers) list = curl_slist_append(list, h.c_str());
    // No "Expect: 100-continue" on large bodies: a server that ignores it costs a 1 s wait.
    list = curl_slist_append(list, "Expect:");
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (body) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body->data());
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &cap);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &cap);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(cfg_.timeout_ms));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<uint32_t>(cfg_.timeout_ms, 10000)));
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);  // never off: telemetry goes to the app's own backend
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "telltale/" TT_VERSION_STRING);
    if (!cfg_.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, cfg_.ca_file.c_str());
    if (!cfg_.proxy.empty()) curl_easy_setopt(e, CURLOPT_PROXY, cfg_.proxy.c_str());

    curl_multi_add_handle(m, e);
    int running = 1;
    CURLcode result = CURLE_OK;
    while (running) {
        CURLMcode mc = curl_multi_perform(m, &running);
        if (mc != CURLM_OK) {
            result = CURLE_SEND_ERROR;
            break;
        }
        if (!running) break;
        if (abort_.load(std::memory_order_acquire)) {
            r.aborted = true;
            break;
        }
        curl_multi_poll(m, nullptr, 0, 1000, nullptr);  // returns early on curl_multi_wakeup
        if (abort_.load(std::memory_order_acquire)) {
            r.aborted = true;
            break;
        }
    }
    if (!r.aborted && !running) {
        int left = 0;
        while (CURLMsg *msg = curl_multi_info_read(m, &left))
            if (msg->msg == CURLMSG_DONE) result = msg->data.result;
    }
    curl_multi_remove_handle(m, e);
    curl_slist_free_all(list);

    if (r.aborted) {
        r.transport_failed = true;
        r.error = "aborted (client closing or consent withdrawn)";
        return r;
    }
    if (result != CURLE_OK) {
        r.transport_failed = true;
        r.error = fmt::format("{} (CURLE {})", curl_easy_strerror(result), static_cast<int>(result));
        return r;
    }
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r.status);
    r.retry_after = cap.retry_after;
    r.body = cap.body;
    r.body_truncated = cap.truncated;
    if (r.status < 200 || r.status >= 300) {
        std::string snippet = cap.body.substr(0, 200);
        for (auto &c : snippet)
            if (c == '\n' || c == '\r') c = ' ';
        r.error = fmt::format("HTTP {}{}{}", r.status, snippet.empty() ? "" : ": ", snippet);
    }
    return r;
}

}  // namespace tt::upload
