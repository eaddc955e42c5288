// The libcurl helper (include/telltale/curl.h): one call before and one after a
// transfer records it as a request. The tt_curl handle is the request itself.
#include <curl/curl.h>

#include <cstring>
#include <string>

#include <fmt/format.h>

#include "capi/api.hpp"
#include "capi/requests.hpp"
#include "telltale/curl.h"

using tt::trace::Request;

namespace {

// Sees every response header, keeps the id headers, hands the header on to the app.
size_t on_header(char *buf, size_t size, size_t nitems, void *userdata) {
    auto *r = static_cast<Request *>(userdata);
    size_t n = size * nitems;
    std::string_view line(buf, n);
    if (line.rfind("HTTP/", 0) == 0) {
        r->server_ids.clear();  // a new response (after a redirect or 100 Continue): its ids count
    } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
        try {
            r->header(line.substr(0, colon), line.substr(colon + 1));
        } catch (...) {
            // Out of memory keeping an id: the transfer matters more than the record.
        }
    }
    if (r->curl.app_header_fn)
        return reinterpret_cast<tt_curl_header_fn>(r->curl.app_header_fn)(buf, size, nitems, r->curl.app_header_data);
    return n;
}

// Put the app's own settings back on the easy handle.
void restore(Request *r) noexcept {
    CURL *easy = r->curl.easy;
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, static_cast<curl_slist *>(r->curl.app_headers));
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, reinterpret_cast<tt_curl_header_fn>(r->curl.app_header_fn));
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, r->curl.app_header_data);
    curl_slist_free_all(static_cast<curl_slist *>(r->curl.our_headers));
    r->curl.our_headers = nullptr;
}

}  // namespace

extern "C" {

TT_API tt_status tt_curl_begin(tt_curl **out, tt_client *c, CURL *easy, const tt_curl_options *o) noexcept {
    TT_API_BEGIN
    if (!out) return tt::set_error(TT_EINVAL, "tt_curl_begin: out is NULL", "pass the address of a tt_curl* variable");
    *out = nullptr;
    if (!easy) return tt::set_error(TT_EINVAL, "tt_curl_begin: easy is NULL", "pass the CURL* from curl_easy_init()");
    tt_curl_options def = TT_CURL_OPTIONS_INIT;
    if (!o) o = &def;
    if (o->version < 1 || o->version > TT_CURL_OPTIONS_VERSION)
        return tt::set_error(TT_EMISUSE, fmt::format("tt_curl_begin: o->version is {}, this library knows 1 to {}", o->version, TT_CURL_OPTIONS_VERSION),
                             "initialise the struct with TT_CURL_OPTIONS_INIT");
    void *req = nullptr;
    // Method and URL are read back from curl at the end (CURLINFO_EFFECTIVE_*).
    tt_status st = tt::capi::request_begin(&req, c, 0, "", "", o->parent, o->flags, "tt_curl_begin");
    if (st != TT_OK) return st;
    auto *r = static_cast<Request *>(req);
    r->curl.easy = easy;
    r->curl.app_headers = o->headers;
    r->curl.app_header_fn = reinterpret_cast<void *>(o->header_fn);
    r->curl.app_header_data = o->header_data;
    r->curl.app_error_buffer = o->error_buffer;

    // A copy of the app's list plus our line: the app's list stays untouched and owned by it.
    curl_slist *list = nullptr;
    bool ok = true;
    for (curl_slist *it = o->headers; it && ok; it = it->next) {
        if (strncasecmp(it->data, "traceparent:", 12) == 0) continue;  // ours wins: it is the one recorded
        curl_slist *next = curl_slist_append(list, it->data);
        ok = next != nullptr;
        if (ok) list = next;
    }
    std::string line = std::string("traceparent: ") + r->traceparent;
    curl_slist *next = ok ? curl_slist_append(list, line.c_str()) : nullptr;
    if (!next) {
        curl_slist_free_all(list);
        r->deactivate();
        tt::trace::release_request(r);
        return tt::set_error(TT_ENOMEM, "tt_curl_begin: out of memory copying the request headers", "free memory and retry");
    }
    list = next;
    r->curl.our_headers = list;
    CURLcode e1 = curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list);
    CURLcode e2 = curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &on_header);
    CURLcode e3 = curl_easy_setopt(easy, CURLOPT_HEADERDATA, r);
    if (e1 || e2 || e3) {
        CURLcode e = e1 ? e1 : e2 ? e2 : e3;
        restore(r);
        r->deactivate();
        tt::trace::release_request(r);
        return tt::set_error(TT_ENET, fmt::format("tt_curl_begin: libcurl refused an option: {}", curl_easy_strerror(e)),
                             "check that easy is a valid handle from curl_easy_init()");
    }
    *out = reinterpret_cast<tt_curl *>(r);
    return TT_OK;
    TT_API_END
}

TT_API const char *tt_curl_traceparent(const tt_curl *t) noexcept {
    return tt_request_traceparent(reinterpret_cast<const tt_request *>(t));
}

TT_API tt_status tt_curl_end(tt_curl *t, CURLcode result) noexcept {
    TT_API_BEGIN
    Request *r = tt::capi::live_request(t, "tt_curl_end");
    if (!r->curl.easy)
        return tt::set_error(TT_EMISUSE, "tt_curl_end: this request was not started with tt_curl_begin", "end it with tt_request_end");
    CURL *easy = static_cast<CURL *>(r->curl.easy);
    restore(r);

    long code = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    char *url = nullptr, *method = nullptr, *ip = nullptr;
    curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &url);
    curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_METHOD, &method);
    curl_easy_getinfo(easy, CURLINFO_PRIMARY_IP, &ip);
    long port = 0;
    curl_easy_getinfo(easy, CURLINFO_PRIMARY_PORT, &port);
    if (url) r->url = tt::trace::sanitize_url(url, r->cfg ? r->cfg->query_keys : tt::trace::kNoKeys);
    r->method = method && *method ? method : "GET";
    r->name = r->method;
    if (ip && *ip) r->server_ip = ip;
    r->server_port = static_cast<uint16_t>(port > 0 && port < 65536 ? port : 0);

    curl_off_t times[tt::queue::kTimings] = {-1, -1, -1, -1, -1};
    const CURLINFO what[tt::queue::kTimings] = {CURLINFO_NAMELOOKUP_TIME_T, CURLINFO_CONNECT_TIME_T, CURLINFO_APPCONNECT_TIME_T,
                                                CURLINFO_STARTTRANSFER_TIME_T, CURLINFO_TOTAL_TIME_T};
    for (int i = 0; i < tt::queue::kTimings; ++i) {
        if (curl_easy_getinfo(easy, what[i], &times[i]) != CURLE_OK) times[i] = -1;
        r->timing_us[i] = times[i];
    }
    // curl reports 0 for a phase it never reached (a refused connect has no first byte).
    for (int i = tt::queue::kConnect; i < tt::queue::kTotal; ++i)
        if (r->timing_us[i] == 0) r->timing_us[i] = -1;
    if (r->url.scheme != "https") r->timing_us[tt::queue::kTls] = -1;  // no TLS handshake on plain HTTP
    curl_off_t up = 0, down = 0;
    curl_easy_getinfo(easy, CURLINFO_SIZE_UPLOAD_T, &up);
    curl_easy_getinfo(easy, CURLINFO_SIZE_DOWNLOAD_T, &down);
    r->bytes_up = static_cast<uint64_t>(up);
    r->bytes_down = static_cast<uint64_t>(down);

    std::string error;
    if (result != CURLE_OK) {
        error = fmt::format("{} (CURLE {})", curl_easy_strerror(result), static_cast<int>(result));
        if (r->curl.app_error_buffer && r->curl.app_error_buffer[0])
            error += fmt::format(": {}", std::string_view(r->curl.app_error_buffer, strnlen(r->curl.app_error_buffer, CURL_ERROR_SIZE)));
    }
    return tt::capi::request_end(r, static_cast<int>(code), error.empty() ? nullptr : error.c_str(), "tt_curl_end");
    TT_API_END
}

}  // extern "C"
