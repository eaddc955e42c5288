/*
 * telltale.hpp - header-only C++ wrapper over the telltale C ABI (telltale.h).
 * Works in C++17 and C++20. Needs {fmt} 8 or newer (link fmt::fmt, or `pkg-config fmt`).
 * Header-only and inline: it is not part of the binary ABI of libtelltale.so (see docs/abi.md).
 *
 *     telltale::Client client(telltale::Options().db_path("app.db").app_name("demo"));
 *     client.info("user {} signed in", user_id);
 *     client.log_attrs(TT_WARN, "sync slow", {{"server", host}, {"ms", "1200"}});
 *
 *     telltale::Request req(client, "GET", url);     // an HTTP call: send req.traceparent()
 *     ...                                            // pass response headers: req.header(k, v)
 *     req.end(200);                                  // or let it go: ended as "abandoned"
 *
 *     client.consent(TT_CONSENT_GRANTED);            // the user said yes: uploads start
 *     client.upload_flush(std::chrono::seconds(10)); // deliver now (throws TT_ENOCONSENT without a yes)
 *
 *     std::string id = client.report("sync fails");  // "Report a problem": filed at once, sent in the background
 *     client.report_status(id);                      // TT_REPORT_PENDING, then TT_REPORT_SENT (or TT_REPORT_FAILED)
 *
 * ERRORS - the one rule:
 *   Every failure throws telltale::Error (a std::runtime_error) carrying the library's
 *   status code, message, hint and docs/errors.md anchor, exactly as tt_error_last() gave them.
 *   The single exception to the rule: a record dropped because this thread's queue was
 *   full (TT_EFULL) does not throw; the call returns false. Log calls, Request::end() and
 *   Span::end() return true when the record was queued and false when it was dropped; a
 *   dropped record is counted (stats().dropped, stats().requests_dropped), so most callers
 *   ignore the result.
 *   Reports follow the rule, with one case that is not a failure: when an attachment is
 *   left out (over its cap: TT_ELIMIT; unreadable: TT_EIO) the report WAS filed without
 *   it, so Client::report() and Client::export_report() return its id instead of throwing
 *   (the id is what the user quotes to support; an exception would lose it). The note
 *   is in FiledReport::left_out. A report that was not filed at all throws as usual.
 *   Consequences:
 *   - using a Client after close(), or after it was moved from, throws Error(TT_EMISUSE);
 *   - ending a Request or Span twice, or using it after end() or after it was moved from,
 *     throws Error(TT_EMISUSE); so does beginning one on a closed Client, and ending one
 *     after its Client was closed (the record is then lost);
 *   - a bad format string is a compile error in C++20 (fmt::format_string); in C++17, and
 *     with fmt::runtime() strings, it throws Error(TT_EINVAL) and nothing is logged;
 *   - running out of memory while formatting throws Error(TT_ENOMEM);
 *   - exceptions thrown by your own fmt::formatter specialisations pass through unchanged;
 *   - destructors never throw: ~Client closes with a bounded timeout and ignores failures;
 *     ~Request and ~Span end what was not ended, with status 0 and the error
 *     "abandoned (destroyed without end)", and ignore failures.
 *
 * Text: messages, keys and values go to the C ABI as NUL-terminated copies, so any
 * std::string_view is fine; text after an embedded NUL byte is not kept.
 * Threads: one Client may be used from any number of threads at once, including a
 * close() racing with log calls (those then throw TT_EMISUSE). Moving a Client while
 * another thread uses it is a data race, as for any C++ object. A Request or Span is
 * used by one thread at a time; see Request for ending it on another thread, and
 * Context / ContextScope for carrying the trace context to other threads.
 */
#ifndef TELLTALE_HPP
#define TELLTALE_HPP

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <telltale/telltale.h>

namespace telltale {

/* The version of the library actually loaded ("MAJOR.MINOR.PATCH"); compare TT_VERSION_STRING. */
inline const char *version() noexcept { return tt_version(); }

/* The device's network changed (it came back, or moved to another Wi-Fi): every open
 * client retries its uploads now instead of waiting out its backoff (tt_network_changed).
 * Cheap and never fails: call it from the platform's connectivity callback. */
inline void network_changed() noexcept { tt_network_changed(); }

/* A failure reported by telltale. Copying never throws. */
class Error : public std::runtime_error {
public:
    /* Usually you do not build one: the wrapper does, from tt_error_last(). */
    Error(tt_status code, std::string message, std::string hint, std::string doc)
        : std::runtime_error(full_text(code, message, hint, doc)),
          code_(code),
          data_(std::make_shared<const Data>(Data{std::move(message), std::move(hint), std::move(doc)})) {}

    /* The failure this thread's last telltale call recorded, which returned `rc`.
     * If tt_error_last() does not hold rc (it should), a generic Error for rc. */
    static Error last(tt_status rc) {
        const tt_error *e = tt_error_last();
        if (e->code == rc) return Error(rc, e->message, e->hint, e->doc);
        return Error(rc, tt_status_describe(rc), "", doc_of(rc));
    }

    /* The status code, e.g. TT_ESTORE (a negative number). */
    tt_status code() const noexcept { return code_; }
    /* The code's name, e.g. "TT_ESTORE" (tt_status_name). */
    const char *name() const noexcept { return tt_status_name(code_); }
    /* What went wrong, as the library said it (tt_error::message). */
    const std::string &message() const noexcept { return data_->message; }
    /* What to do about it (tt_error::hint); may be empty. */
    const std::string &hint() const noexcept { return data_->hint; }
    /* Where it is explained, e.g. "docs/errors.md#estore" (tt_error::doc). */
    const std::string &doc() const noexcept { return data_->doc; }
    /* what(): "TT_ESTORE: <message>. Hint: <hint>. See <doc>" - one line fit for a log. */

    /* "docs/errors.md#estore" for TT_ESTORE; "docs/errors.md" for an unknown code. */
    static std::string doc_of(tt_status s) {
        std::string_view n = tt_status_name(s);
        if (n.size() < 4 || n.substr(0, 3) != "TT_" || n == "TT_UNKNOWN") return "docs/errors.md";
        std::string out = "docs/errors.md#";
        for (char ch : n.substr(3)) out += static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
        return out;
    }

private:
    struct Data {
        std::string message, hint, doc;
    };
    static std::string full_text(tt_status code, const std::string &message, const std::string &hint, const std::string &doc) {
        std::string s = tt_status_name(code);
        s += ": ";
        s += message;
        if (!hint.empty()) {
            s += ". Hint: ";
            s += hint;
        }
        s += ". See ";
        s += doc;
        return s;
    }

    tt_status code_;
    std::shared_ptr<const Data> data_;
};

/* One attribute: {"key", "value"}. Both are copied before the call returns. */
using Attr = std::pair<std::string_view, std::string_view>;

class Request;
class Span;

namespace detail {

/* A NUL-terminated copy of a string_view: on the stack up to 255 bytes. Text after an
 * embedded NUL is not seen by the C ABI. Out of memory: Error(TT_ENOMEM). */
class CText {
public:
    CText(std::string_view s, const char *where) {
        try {
            buf_.append(s.data(), s.data() + s.size());
            buf_.push_back('\0');
        } catch (const std::bad_alloc &) {
            throw Error(TT_ENOMEM, std::string(where) + ": out of memory copying text", "free memory or pass shorter text",
                        Error::doc_of(TT_ENOMEM));
        }
    }
    const char *c_str() const noexcept { return buf_.data(); }

private:
    fmt::basic_memory_buffer<char, 256> buf_;
};

/* Lower-case hex of n bytes into out (2 * n chars, no NUL); returns the end. */
inline char *hex_into(char *out, const uint8_t *p, std::size_t n) noexcept {
    static const char digits[] = "0123456789abcdef";
    for (std::size_t i = 0; i < n; ++i) {
        *out++ = digits[p[i] >> 4];
        *out++ = digits[p[i] & 15];
    }
    return out;
}
inline std::string hex(const uint8_t *p, std::size_t n) {
    std::string out(2 * n, '0');
    hex_into(&out[0], p, n);
    return out;
}
/* "00-<trace id>-<span id>-01" and a NUL: 56 chars. */
inline void format_traceparent(const tt_context &c, char out[56]) noexcept {
    char *w = out;
    *w++ = '0';
    *w++ = '0';
    *w++ = '-';
    w = hex_into(w, c.trace_id, 16);
    *w++ = '-';
    w = hex_into(w, c.span_id, 8);
    *w++ = '-';
    *w++ = '0';
    *w++ = '1';
    *w = '\0';
}

}  // namespace detail

/* The report a before_send callback gets (tt_report_draft): its manifest.json, which the
 * callback may read and replace. Valid only during the callback. */
class ReportDraft {
public:
    explicit ReportDraft(tt_report_draft *d) noexcept : d_(d) {}

    /* The manifest, a JSON object (see docs/reports.md#manifest). Valid until set_manifest(). */
    std::string_view manifest() const noexcept { return tt_report_draft_manifest(d_); }
    /* Replace the manifest with `json`, which must still be a JSON object ("{...}"): it is
     * what support receives. Throws Error(TT_EINVAL) for anything else (the manifest then
     * stays as it was). */
    void set_manifest(std::string_view json) {
        detail::CText j(json, "telltale::ReportDraft::set_manifest");
        tt_status rc = tt_report_draft_set_manifest(d_, j.c_str());
        if (rc != TT_OK) throw Error::last(rc);
    }
    tt_report_draft *native_handle() const noexcept { return d_; }

private:
    tt_report_draft *d_;
};

/* A before_send callback in C++: return true to send the report, false to veto it. */
using BeforeSend = std::function<bool(ReportDraft &)>;

namespace detail {

/* Calls the Options' BeforeSend from the library's report thread. An exception from it
 * vetoes the report: nothing leaves that the app could not check. */
inline int before_send_trampoline(void *data, tt_report_draft *d) noexcept {
    try {
        ReportDraft draft(d);
        return (*static_cast<BeforeSend *>(data))(draft) ? 0 : 1;
    } catch (...) {
        return 1;
    }
}

}  // namespace detail

/* Builder for tt_options. Every setter mirrors the tt_options field of the same name
 * (see telltale.h for meanings and defaults); 0 or unset means "the library's default". */
class Options {
public:
    Options() noexcept { tt_options_init(&o_); }

    Options &db_path(std::string v) { db_path_ = std::move(v); return *this; }          /* required */
    Options &app_name(std::string v) { app_name_ = std::move(v); return *this; }        /* required */
    Options &app_version(std::string v) { app_version_ = std::move(v); return *this; }
    Options &endpoint(std::string v) { endpoint_ = std::move(v); return *this; }        /* unset: never upload */
    Options &max_db_bytes(uint64_t v) noexcept { o_.max_db_bytes = v; return *this; }
    Options &max_age_s(uint32_t v) noexcept { o_.max_age_s = v; return *this; }
    Options &upload_interval_ms(uint32_t v) noexcept { o_.upload_interval_ms = v; return *this; }
    Options &retry_base_ms(uint32_t v) noexcept { o_.retry_base_ms = v; return *this; }
    Options &retry_max_ms(uint32_t v) noexcept { o_.retry_max_ms = v; return *this; }
    Options &queue_bytes(uint32_t v) noexcept { o_.queue_bytes = v; return *this; }
    Options &batch_size(uint32_t v) noexcept { o_.batch_size = v; return *this; }
    Options &max_message_bytes(uint32_t v) noexcept { o_.max_message_bytes = v; return *this; }
    Options &max_attr_bytes(uint32_t v) noexcept { o_.max_attr_bytes = v; return *this; }
    Options &max_attrs(uint32_t v) noexcept { o_.max_attrs = v; return *this; }
    Options &commit_interval_ms(uint32_t v) noexcept { o_.commit_interval_ms = v; return *this; }
    Options &full_policy(tt_full_policy v) noexcept { o_.full_policy = v; return *this; }
    /* tt_options version 2: extra response headers that carry server request ids, captured
     * besides the defaults (X-Request-Id, X-Reqid, X-Log, x-amz-request-id, x-amz-id-2,
     * traceresponse, Server-Timing): "X-Trace-Id, X-Correlation-Id" (comma-separated, any case). */
    Options &request_id_headers(std::string v) { request_id_headers_ = std::move(v); return *this; }
    /* Query keys kept in recorded URLs, comma-separated, exact case: "page,lang". Unset: the
     * whole query string is dropped (it often carries tokens and personal data). */
    Options &url_query_keys(std::string v) { url_query_keys_ = std::move(v); return *this; }
    /* tt_options version 3: uploads and consent (see docs/wire-formats.md, docs/privacy.md).
     * Nothing is uploaded without an endpoint(), nor before consent(TT_CONSENT_GRANTED). */
    /* Sent as "Authorization: Bearer <token>". Unset: no Authorization header. */
    Options &auth_token(std::string v) { auth_token_ = std::move(v); return *this; }
    /* A CA bundle (PEM) for the endpoint's TLS. Unset: the system's CAs. Verification is always on. */
    Options &ca_file(std::string v) { ca_file_ = std::move(v); return *this; }
    /* A proxy URL, such as "http://proxy:3128". Unset: libcurl's usual environment variables. */
    Options &proxy(std::string v) { proxy_ = std::move(v); return *this; }
    /* TT_CODEC_ZSTD (default), TT_CODEC_GZIP or TT_CODEC_NONE. */
    Options &compression(tt_codec v) noexcept { o_.compression = v; return *this; }
    Options &upload_timeout_ms(uint32_t v) noexcept { o_.upload_timeout_ms = v; return *this; }          /* one request, all in; 0: 30000 */
    Options &upload_batch_events(uint32_t v) noexcept { o_.upload_batch_events = v; return *this; }      /* records per request; 0: 2000 */
    Options &max_upload_bytes_per_hour(uint64_t v) noexcept { o_.max_upload_bytes_per_hour = v; return *this; }  /* 0: 64 MiB */
    /* The version of the privacy policy the app shows now, such as "2026-11". An answer the
     * user gave for another version counts as TT_CONSENT_UNKNOWN, unless consent_flags()
     * has TT_CONSENT_KEEP_ON_POLICY_CHANGE. Unset: "" (answers never expire). */
    Options &consent_policy_version(std::string v) { consent_policy_version_ = std::move(v); return *this; }
    Options &consent_flags(unsigned v) noexcept { o_.consent_flags = v; return *this; }                  /* TT_CONSENT_KEEP_ON_POLICY_CHANGE */
    /* tt_options version 4: problem reports (see docs/reports.md). */
    /* TT_REPORTS_OFF: the app offers no "Report a problem" (report() then throws TT_EMISUSE). */
    Options &report_flags(unsigned v) noexcept { o_.report_flags = v; return *this; }
    /* Reports waiting to be sent, at most; beyond it the oldest is dropped (its status
     * says so). 0: 20; the library keeps it within 1..1000. */
    Options &max_pending_reports(uint32_t v) noexcept { o_.max_pending_reports = v; return *this; }
    /* Edit or veto each report before it is sent (and before it is written by
     * export_report()): a C callback, called on the library's report thread (on the
     * calling thread for export_report()) with `data`; return 0 to send, anything else to
     * veto (the report is then TT_REPORT_FAILED, "vetoed by the app's before_send
     * callback"). nullptr: none. Replaces a BeforeSend set earlier. */
    Options &before_send(tt_before_send_fn fn, void *data) noexcept {
        before_send_fn_.reset();
        o_.before_send = fn;
        o_.before_send_data = data;
        return *this;
    }
    /* The same with a C++ callable, bool(telltale::ReportDraft &): true to send, false to
     * veto; an exception it throws vetoes too. It runs on the library's report thread (and
     * on the caller's thread in export_report(), possibly at the same time): guard what it
     * shares. A Client opened with these Options keeps the callable alive until it is
     * closed (if you pass c_options() to a Client or to tt_open yourself, keep these
     * Options alive until the client is closed). Copies of these Options share the one
     * callable. An empty function: none. Replaces a C callback set earlier. */
    Options &before_send(BeforeSend fn) {
        if (fn) {
            before_send_fn_ = std::make_shared<BeforeSend>(std::move(fn));
            o_.before_send = &detail::before_send_trampoline;
            o_.before_send_data = before_send_fn_.get();
        } else {
            before_send_fn_.reset();
            o_.before_send = nullptr;
            o_.before_send_data = nullptr;
        }
        return *this;
    }

    /* The C struct. Its strings point into this Options: valid while it lives unchanged. */
    tt_options c_options() const noexcept {
        tt_options o = o_;
        o.db_path = c_str(db_path_);
        o.app_name = c_str(app_name_);
        o.app_version = c_str(app_version_);
        o.endpoint = c_str(endpoint_);
        o.request_id_headers = c_str(request_id_headers_);
        o.url_query_keys = c_str(url_query_keys_);
        o.auth_token = c_str(auth_token_);
        o.ca_file = c_str(ca_file_);
        o.proxy = c_str(proxy_);
        o.consent_policy_version = c_str(consent_policy_version_);
        return o;
    }

private:
    friend class Client;
    static const char *c_str(const std::optional<std::string> &s) noexcept { return s ? s->c_str() : nullptr; }

    tt_options o_;
    std::optional<std::string> db_path_, app_name_, app_version_, endpoint_, request_id_headers_, url_query_keys_;
    std::optional<std::string> auth_token_, ca_file_, proxy_, consent_policy_version_;
    std::shared_ptr<BeforeSend> before_send_fn_;
};

/* Builder for tt_report_options: what one report holds beyond the defaults. Every setter
 * mirrors the field of the same name (see telltale.h and docs/reports.md); unset or 0
 * means the library's default. */
class ReportOptions {
public:
    ReportOptions() noexcept : o_() { o_.version = TT_REPORT_OPTIONS_VERSION; }

    /* What the user says happened. Sent as typed (not scrubbed); up to 64 KiB is kept. */
    ReportOptions &description(std::string v) { description_ = std::move(v); return *this; }
    /* How to reach the user, if they want to be reached (not scrubbed; up to 1 KiB). */
    ReportOptions &contact(std::string v) { contact_ = std::move(v); return *this; }
    /* Logs and requests of the last `v` seconds. 0: 1800 (30 minutes); at most 30 days. */
    ReportOptions &window_s(uint32_t v) noexcept { o_.window_s = v; return *this; }
    /* Add one file, read when the report is filed (as it is at that moment). */
    ReportOptions &attach(std::string path) { attachments_.push_back(std::move(path)); return *this; }
    /* Replace the list of files to attach. */
    ReportOptions &attachments(std::vector<std::string> paths) { attachments_ = std::move(paths); return *this; }
    /* Cap of logs.ndjson.zst (compressed), the newest kept. 0: 5 MiB; at least 4096. */
    ReportOptions &max_log_bytes(uint64_t v) noexcept { o_.max_log_bytes = v; return *this; }
    /* Cap of one attachment; a larger file is left out (FiledReport::left_out, TT_ELIMIT). 0: 1 MiB. */
    ReportOptions &max_attachment_bytes(uint64_t v) noexcept { o_.max_attachment_bytes = v; return *this; }
    /* TT_REPORT_AUTOMATIC (filed by the app, not the user: rate-limited),
     * TT_REPORT_NO_SCRUB (keep e-mails, tokens, cookies and URL secrets in the logs). */
    ReportOptions &flags(unsigned v) noexcept { o_.flags = v; return *this; }

    /* The C struct. Its strings point into this ReportOptions, and its attachment array
     * into `paths` (filled here): both must outlive its use, unchanged. */
    tt_report_options c_options(std::vector<const char *> &paths) const {
        tt_report_options o = o_;
        o.description = description_.empty() ? nullptr : description_.c_str();
        o.contact = contact_.empty() ? nullptr : contact_.c_str();
        paths.clear();
        for (const std::string &a : attachments_) paths.push_back(a.c_str());
        o.attachments = paths.empty() ? nullptr : paths.data();
        o.attachment_count = paths.size();
        return o;
    }

private:
    tt_report_options o_;
    std::string description_, contact_;
    std::vector<std::string> attachments_;
};

/* What Client::report(ReportOptions) and Client::export_report(path, ReportOptions)
 * filed: the id to show the user, and what was left out, if anything. */
struct FiledReport {
    /* The report id (a UUID, 36 characters): what the user quotes to support. */
    std::string id;
    /* Set when the report was filed without some of its attachments: code TT_ELIMIT (a
     * file over max_attachment_bytes) or TT_EIO (a file that could not be read), with the
     * library's message naming each file and why, and its hint. The rest of the report
     * goes as usual. Empty when everything was filed. */
    std::optional<Error> left_out;
    bool complete() const noexcept { return !left_out.has_value(); }
};

/* An open buffer: owns one tt_client. Move-only; closing happens in the destructor
 * (bounded by close_timeout()) or earlier with close(). Thread-safe (see the top of the file). */
class Client {
public:
    using milliseconds = std::chrono::milliseconds;
    /* Default bound for flush(), close() and the destructor. */
    static constexpr milliseconds default_timeout{5000};

    /* Open (or create) the buffer: tt_open. Throws Error (TT_EINVAL, TT_EMISUSE, TT_ESTORE, ...).
     * A damaged buffer is moved aside and replaced without an error: see recovery_note(). */
    explicit Client(const Options &opts) : Client(opts.c_options()) { before_send_ = opts.before_send_fn_; }
    explicit Client(const tt_options &opts) {
        // Successful calls leave tt_error_last() alone, so put a known failure (TT_EINVAL)
        // there first: a TT_ECORRUPT found after a successful tt_open is then surely its note.
        tt_stats_get(nullptr, nullptr);
        tt_client *c = nullptr;
        tt_status rc = tt_open(&c, &opts);
        if (rc != TT_OK) throw Error::last(rc);
        const tt_error *e = tt_error_last();
        if (e->code == TT_ECORRUPT) {
            try {
                recovery_note_ = e->message;
            } catch (...) {
                tt_close(c, 0);
                throw;
            }
        }
        handle_.store(c, std::memory_order_release);
    }

    /* Closes with tt_close(close_timeout()) if still open. Never throws; a close that runs
     * out of time still frees everything (the unsaved events are counted as dropped). */
    ~Client() {
        if (tt_client *c = handle_.exchange(nullptr, std::memory_order_acq_rel)) tt_close(c, to_ms(close_timeout_));
    }

    Client(const Client &) = delete;
    Client &operator=(const Client &) = delete;
    /* The moved-from Client owns nothing; using it throws Error(TT_EMISUSE). */
    Client(Client &&o) noexcept
        : handle_(o.handle_.exchange(nullptr, std::memory_order_acq_rel)),
          close_timeout_(o.close_timeout_),
          recovery_note_(std::move(o.recovery_note_)),
          before_send_(std::move(o.before_send_)) {
        o.gone_ = kMoved;
    }
    /* Closes what this Client owned (as the destructor does), then takes over o's client. */
    Client &operator=(Client &&o) noexcept {
        if (this != &o) {
            if (tt_client *c = handle_.exchange(nullptr, std::memory_order_acq_rel)) tt_close(c, to_ms(close_timeout_));
            handle_.store(o.handle_.exchange(nullptr, std::memory_order_acq_rel), std::memory_order_release);
            close_timeout_ = o.close_timeout_;
            recovery_note_ = std::move(o.recovery_note_);
            before_send_ = std::move(o.before_send_);
            gone_ = kClosed;
            o.gone_ = kMoved;
        }
        return *this;
    }

    /* Flush, stop and free the client (tt_close). Afterwards every call throws TT_EMISUSE,
     * a second close() too. Throws Error(TT_ETIMEOUT) if the last events could not be
     * committed in time: the client is closed anyway and those events count as dropped. */
    void close(milliseconds timeout = default_timeout) {
        tt_client *c = handle_.exchange(nullptr, std::memory_order_acq_rel);
        if (!c) throw misuse("close");
        gone_ = kClosed;
        tt_status rc = tt_close(c, to_ms(timeout));
        if (rc != TT_OK) throw Error::last(rc);
    }

    /* Wait until every event logged before the call (by any thread) is committed to the
     * buffer (tt_flush). Throws Error(TT_ETIMEOUT) after `timeout`. Events lost to a full
     * disk do not make it fail: they show in stats().dropped and stats().store_errors. */
    void flush(milliseconds timeout = default_timeout) const {
        tt_status rc = tt_flush(live("flush"), to_ms(timeout));
        if (rc != TT_OK) throw Error::last(rc);
    }

    /* Record the user's answer to "help improve this app by sharing usage data"
     * (tt_consent_set), for the privacy policy version the app was opened with
     * (Options::consent_policy_version). TT_CONSENT_GRANTED: what is stored and what comes is
     * uploaded. TT_CONSENT_DENIED: the upload in flight is cut, everything not yet delivered
     * is deleted, and what is logged while denied is never uploaded (the call may wait up to
     * 5 s for the events already logged to be stored, so that they are deleted too).
     * TT_CONSENT_UNKNOWN: keep logging locally, upload nothing. The answer is stored in the
     * buffer, survives restarts, and is itself logged as an event. See docs/privacy.md.
     * Throws Error: TT_EINVAL (not a tt_consent), TT_EMISUSE (closed), TT_ESTORE. */
    void consent(tt_consent v) const { set_consent("consent", v, nullptr); }
    /* The same, recording the answer for `policy_version` rather than the options' one. An
     * answer for another version than Options::consent_policy_version counts as
     * TT_CONSENT_UNKNOWN (unless TT_CONSENT_KEEP_ON_POLICY_CHANGE). */
    void consent(tt_consent v, std::string_view policy_version) const {
        detail::CText p(policy_version, "telltale::Client::consent");
        set_consent("consent", v, p.c_str());
    }
    /* The answer that counts now (tt_consent_get), after the policy-version rule. */
    tt_consent consent() const {
        tt_consent v = TT_CONSENT_UNKNOWN;
        tt_status rc = tt_consent_get(live("consent"), &v);
        if (rc != TT_OK) throw Error::last(rc);
        return v;
    }

    /* Store what was logged so far and deliver everything stored to the endpoint now,
     * without waiting out a backoff (tt_upload_flush). Returns once it is delivered (or
     * refused for good by the server: see stats().upload_dropped).
     * Throws Error: TT_ENOCONSENT (consent is not TT_CONSENT_GRANTED; nothing was sent),
     * TT_EINVAL (no endpoint), TT_ETIMEOUT (not all delivered within `timeout`; the message
     * says what the last attempt got, such as "HTTP 503"; nothing is lost, it is retried in
     * the background), TT_EMISUSE. */
    void upload_flush(milliseconds timeout = default_timeout) const {
        tt_status rc = tt_upload_flush(live("upload_flush"), to_ms(timeout));
        if (rc != TT_OK) throw Error::last(rc);
    }

    /* "Report a problem" (tt_report_submit): files a report with the user's description,
     * how to reach them (empty: not given), files to attach (read now, each up to 1 MiB)
     * and flags (TT_REPORT_AUTOMATIC, TT_REPORT_NO_SCRUB), and returns its id at once: the
     * report is in the buffer before the call returns (it survives a crash); assembly, a
     * network check and delivery to <endpoint>/v1/reports follow in the background, whatever
     * the usage-data consent (the user asked). Show the id to the user. See docs/reports.md.
     * An attachment that is left out (too big, unreadable) does not make it throw: the report
     * was filed without it, and the id comes back; report(ReportOptions) tells which.
     * Throws Error: TT_EMISUSE (closed; the app set TT_REPORTS_OFF), TT_ELIMIT (an automatic
     * report too soon after the last one: nothing was filed), TT_EINVAL, TT_ESTORE. */
    std::string report(std::string_view description, std::string_view contact = {},
                       const std::vector<std::string> &attachments = {}, unsigned flags = 0) const {
        return report(report_options(description, contact, attachments, flags)).id;
    }
    /* The same with every option (window, caps); the result also says what was left out. */
    FiledReport report(const ReportOptions &o) const {
        tt_client *c = live("report");
        std::vector<const char *> paths;
        tt_report_options ro = o.c_options(paths);
        char id[TT_REPORT_ID_SIZE] = {};
        return filed(tt_report_submit(c, &ro, id), id);
    }

    /* The same report, assembled now and written to `path` as a plain tar of
     * manifest.json, logs.ndjson.zst and attachments/<name>, for a user without a network
     * to hand over (tt_report_export). It is not sent (no network check either); its status
     * is TT_REPORT_SENT. Returns the id; attachments left out do not throw (as report()).
     * Throws Error: TT_EIO (`path` cannot be written), and as report(). */
    std::string export_report(std::string_view path, std::string_view description = {}, std::string_view contact = {},
                              const std::vector<std::string> &attachments = {}, unsigned flags = 0) const {
        return export_report(path, report_options(description, contact, attachments, flags)).id;
    }
    FiledReport export_report(std::string_view path, const ReportOptions &o) const {
        tt_client *c = live("export_report");
        detail::CText p(path, "telltale::Client::export_report");
        std::vector<const char *> paths;
        tt_report_options ro = o.c_options(paths);
        char id[TT_REPORT_ID_SIZE] = {};
        return filed(tt_report_export(c, &ro, p.c_str(), id), id);
    }

    /* Where report `id` is (tt_report_status): TT_REPORT_PENDING (being assembled, or
     * waiting for the network or the server), TT_REPORT_SENT (the backend has it; or it
     * was exported to a file) or TT_REPORT_FAILED. On TT_REPORT_FAILED, *reason (if given)
     * gets why, such as "vetoed by the app's before_send callback" or "dropped: more than
     * 20 reports were waiting to be sent"; otherwise it is cleared.
     * Throws Error: TT_ENOTFOUND (no such report in this buffer), TT_EMISUSE. */
    tt_report_state report_status(std::string_view id, std::string *reason = nullptr) const {
        tt_client *c = live("report_status");
        detail::CText i(id, "telltale::Client::report_status");
        tt_report_state st = TT_REPORT_PENDING;
        tt_status rc = tt_report_status(c, i.c_str(), &st);
        if (rc != TT_OK) throw Error::last(rc);
        if (reason) {
            reason->clear();
            if (st == TT_REPORT_FAILED) {
                // The library puts "report <id> failed: <why>" in tt_error_last() (code TT_OK).
                std::string_view m = tt_error_last()->message;
                std::string prefix = "report " + std::string(i.c_str()) + " failed: ";
                if (m.substr(0, prefix.size()) == prefix) m.remove_prefix(prefix.size());
                reason->assign(m.data(), m.size());
            }
        }
        return st;
    }

    /* The backend's current incident notice ("Sync is down for some users; a fix is on its
     * way"), as it last answered a report (tt_notice_get); "" when none. Show it next to
     * the report id. Throws Error: TT_EMISUSE, TT_ESTORE. */
    std::string notice() const {
        tt_client *c = live("notice");
        tt_stats_get(nullptr, nullptr);  // a known TT_EINVAL first: tt_notice_get has no status to return
        std::string n = tt_notice_get(c);
        const tt_error *e = tt_error_last();
        if (n.empty() && e->code != TT_EINVAL) throw Error::last(e->code);
        return n;
    }

    /* Ask the backend now for its current notice (tt_notice_refresh: a public GET of
     * <endpoint>/v1/status, up to timeout) and return it, "" when none: call it when the
     * user opens the report screen, off the UI thread. Throws Error: TT_EINVAL (no
     * endpoint), TT_ENET, TT_ETIMEOUT (the notice kept stays as it was), TT_EMISUSE. */
    std::string refresh_notice(milliseconds timeout = std::chrono::seconds(5)) const {
        tt_status rc = tt_notice_refresh(live("refresh_notice"), to_ms(timeout));
        if (rc != TT_OK) throw Error::last(rc);
        return notice();
    }

    /* Counters and buffer facts (tt_stats_get; see tt_stats in telltale.h). */
    tt_stats stats() const {
        tt_stats s = TT_STATS_INIT;
        tt_status rc = tt_stats_get(live("stats"), &s);
        if (rc != TT_OK) throw Error::last(rc);
        return s;
    }

    /* Log at `level` a message formatted fmt-style: log(TT_INFO, "took {} ms", ms).
     * Returns true if queued, false if dropped because the queue was full (counted in
     * stats().dropped). Never blocks (unless opened with TT_FULL_BLOCK). Messages up to
     * about 500 bytes are formatted on the stack: no allocation. For a message held in a
     * variable, write log(level, "{}", text). */
    template <class... Args>
    bool log(tt_level level, fmt::format_string<Args...> format, Args &&...args) const {
        return log_formatted("log", level, format, std::forward<Args>(args)...);
    }
    /* log() at TT_TRACE, TT_DEBUG, TT_INFO, TT_WARN, TT_ERROR, TT_FATAL. */
    template <class... Args>
    bool trace(fmt::format_string<Args...> format, Args &&...args) const {
        return log_formatted("trace", TT_TRACE, format, std::forward<Args>(args)...);
    }
    template <class... Args>
    bool debug(fmt::format_string<Args...> format, Args &&...args) const {
        return log_formatted("debug", TT_DEBUG, format, std::forward<Args>(args)...);
    }
    template <class... Args>
    bool info(fmt::format_string<Args...> format, Args &&...args) const {
        return log_formatted("info", TT_INFO, format, std::forward<Args>(args)...);
    }
    template <class... Args>
    bool warn(fmt::format_string<Args...> format, Args &&...args) const {
        return log_formatted("warn", TT_WARN, format, std::forward<Args>(args)...);
    }
    template <class... Args>
    bool error(fmt::format_string<Args...> format, Args &&...args) const {
        return log_formatted("error", TT_ERROR, format, std::forward<Args>(args)...);
    }
    template <class... Args>
    bool fatal(fmt::format_string<Args...> format, Args &&...args) const {
        return log_formatted("fatal", TT_FATAL, format, std::forward<Args>(args)...);
    }

    /* Log `msg` as is (not a format string) with attributes:
     * log_attrs(TT_INFO, "signed in", {{"user", id}, {"method", "sso"}}). Same return as log(). */
    bool log_attrs(tt_level level, std::string_view msg, std::initializer_list<Attr> attrs) const {
        return log_attrs(level, msg, attrs.begin(), attrs.size());
    }
    /* Same, for attributes built at run time: log_attrs(TT_INFO, "x", vec.data(), vec.size()). */
    bool log_attrs(tt_level level, std::string_view msg, const Attr *attrs, std::size_t n) const {
        tt_client *c = live("log_attrs");
        fmt::memory_buffer text;
        return send("log_attrs", c, level, text, msg, attrs, n);
    }
    /* Formatted message with attributes: log_attrs(TT_WARN, {{"host", h}}, "retry {} of {}", i, n). */
    template <class... Args>
    bool log_attrs(tt_level level, std::initializer_list<Attr> attrs, fmt::format_string<Args...> format, Args &&...args) const {
        tt_client *c = live("log_attrs");
        fmt::memory_buffer text;
        format_into(text, format, std::forward<Args>(args)...);
        std::size_t len = text.size();
        return send("log_attrs", c, level, text, std::string_view(), attrs.begin(), attrs.size(), len);
    }

    /* True until close() or a move away. */
    bool is_open() const noexcept { return handle_.load(std::memory_order_acquire) != nullptr; }
    explicit operator bool() const noexcept { return is_open(); }

    /* The C handle, for C ABI calls this wrapper does not cover (nullptr once closed).
     * Do not tt_close it: the Client does that. */
    tt_client *native_handle() const noexcept { return handle_.load(std::memory_order_acquire); }

    /* Non-empty when opening found the buffer damaged: the library's note naming the file
     * the damaged buffer was moved to ("<db>.corrupt-<UTC time>"). Logging works normally. */
    const std::string &recovery_note() const noexcept { return recovery_note_; }

    /* The bound the destructor waits for the last events to be committed. */
    milliseconds close_timeout() const noexcept { return close_timeout_; }
    void set_close_timeout(milliseconds t) noexcept { close_timeout_ = t; }

private:
    friend class Request;
    friend class Span;
    enum Gone : unsigned char { kClosed, kMoved };

    static uint32_t to_ms(milliseconds t) noexcept {
        auto n = t.count();
        if (n <= 0) return 0;
        if (static_cast<unsigned long long>(n) >= UINT32_MAX) return UINT32_MAX;
        return static_cast<uint32_t>(n);
    }

    Error misuse(const char *fn) const { return misuse_in(std::string("telltale::Client::") + fn); }
    Error misuse_in(const std::string &where) const {
        if (gone_.load(std::memory_order_relaxed) == kMoved)
            return Error(TT_EMISUSE, where + ": this Client was moved from; it no longer owns a telltale client",
                         "use the Client it was moved into", Error::doc_of(TT_EMISUSE));
        return Error(TT_EMISUSE, where + ": the client was already closed with close()",
                     "do not use a Client after close(); to close at scope exit, just let it go out of scope",
                     Error::doc_of(TT_EMISUSE));
    }

    tt_client *live(const char *fn) const {
        tt_client *c = handle_.load(std::memory_order_acquire);
        if (!c) throw misuse(fn);
        return c;
    }
    void set_consent(const char *fn, tt_consent v, const char *policy_version) const {
        tt_status rc = tt_consent_set(live(fn), v, policy_version);
        if (rc != TT_OK) throw Error::last(rc);
    }
    /* For Request and Span: the handle, or TT_EMISUSE naming `where` ("telltale::Request"). */
    tt_client *live_in(const char *where) const {
        tt_client *c = handle_.load(std::memory_order_acquire);
        if (!c) throw misuse_in(where);
        return c;
    }

    template <class... Args>
    static void format_into(fmt::memory_buffer &out, fmt::format_string<Args...> format, Args &&...args) {
        try {
            fmt::format_to(fmt::appender(out), format, std::forward<Args>(args)...);
        } catch (const fmt::format_error &e) {
            throw Error(TT_EINVAL, std::string("telltale::Client: bad format string: ") + e.what(),
                        "check the {} placeholders against the arguments; this message was not logged",
                        Error::doc_of(TT_EINVAL));
        } catch (const std::bad_alloc &) {
            throw Error(TT_ENOMEM, "telltale::Client: out of memory formatting a message", "free memory or log less text",
                        Error::doc_of(TT_ENOMEM));
        }
    }

    template <class... Args>
    bool log_formatted(const char *fn, tt_level level, fmt::format_string<Args...> format, Args &&...args) const {
        tt_client *c = live(fn);
        fmt::memory_buffer text;
        format_into(text, format, std::forward<Args>(args)...);
        text.push_back('\0');
        return result(tt_log(c, level, text.data()));
    }

    /* Copy the message (unless it is already the first `msg_len` bytes of text) and the
     * attributes into one buffer as NUL-terminated strings, then point tt_attr at them. */
    static bool send(const char *fn, tt_client *c, tt_level level, fmt::memory_buffer &text, std::string_view msg,
                     const Attr *attrs, std::size_t n, std::size_t msg_len = static_cast<std::size_t>(-1)) {
        if (n && !attrs) throw Error(TT_EINVAL, std::string("telltale::Client::") + fn + ": attrs is null but n > 0",
                                     "pass n = 0 when there are no attributes", Error::doc_of(TT_EINVAL));
        fmt::basic_memory_buffer<tt_attr, 16> views;
        try {
            if (msg_len == static_cast<std::size_t>(-1)) {
                text.append(msg.data(), msg.data() + msg.size());
                msg_len = msg.size();
            }
            text.push_back('\0');
            for (std::size_t i = 0; i < n; ++i) {
                text.append(attrs[i].first.data(), attrs[i].first.data() + attrs[i].first.size());
                text.push_back('\0');
                text.append(attrs[i].second.data(), attrs[i].second.data() + attrs[i].second.size());
                text.push_back('\0');
            }
            views.resize(n);
        } catch (const std::bad_alloc &) {
            throw Error(TT_ENOMEM, std::string("telltale::Client::") + fn + ": out of memory copying the event",
                        "free memory or log less text", Error::doc_of(TT_ENOMEM));
        }
        // The buffer has stopped growing: pointers into it stay valid now.
        const char *p = text.data() + msg_len + 1;
        for (std::size_t i = 0; i < n; ++i) {
            views[i].key = p;
            p += attrs[i].first.size() + 1;
            views[i].value = p;
            p += attrs[i].second.size() + 1;
        }
        return result(tt_log_attrs(c, level, text.data(), views.data(), n));
    }

    static ReportOptions report_options(std::string_view description, std::string_view contact,
                                        const std::vector<std::string> &attachments, unsigned flags) {
        ReportOptions o;
        o.description(std::string(description)).contact(std::string(contact)).attachments(attachments).flags(flags);
        return o;
    }

    /* A submit or export: the id when the report was filed (with the note when an
     * attachment was left out), Error otherwise. */
    static FiledReport filed(tt_status rc, const char *id) {
        FiledReport f;
        if (rc != TT_OK && !((rc == TT_ELIMIT || rc == TT_EIO) && id[0] != '\0')) throw Error::last(rc);
        f.id = id;
        if (rc != TT_OK) f.left_out = Error::last(rc);
        return f;
    }

    static bool result(tt_status rc) {
        if (rc == TT_OK) return true;
        if (rc == TT_EFULL) return false;
        throw Error::last(rc);
    }

    std::atomic<tt_client *> handle_{nullptr};
    std::atomic<unsigned char> gone_{kClosed};
    milliseconds close_timeout_{default_timeout};
    std::string recovery_note_;
    std::shared_ptr<BeforeSend> before_send_;  // the Options' callable, alive while the client may call it
};

/* ---------------------------------------------------------------- requests, spans, context */

/* The error recorded by ~Request and ~Span for what was never ended. */
inline constexpr char abandoned_error[] = "abandoned (destroyed without end)";

namespace detail {

/* What Request and Span share: the C handle, the ids, and the state for error messages. */
class Traced {
public:
    /* The W3C traceparent of this call, "00-<trace id>-<span id>-01" (NUL-terminated).
     * It stays valid, and the same, after end(), so the ids of a failed call can still be
     * shown or logged. "" once moved from. */
    const char *traceparent() const noexcept { return tp_; }
    /* The trace id, 32 lower-case hex digits: what support looks up. "" once moved from. */
    std::string trace_id() const { return tp_[0] ? std::string(tp_ + 3, 32) : std::string(); }
    /* The span id, 16 lower-case hex digits (the requests table's span_id). "" once moved from. */
    std::string span_id() const { return tp_[0] ? std::string(tp_ + 36, 16) : std::string(); }
    /* True between the constructor and end() (false once ended or moved from). */
    bool is_open() const noexcept { return h_ != nullptr; }
    explicit operator bool() const noexcept { return is_open(); }

protected:
    enum State : unsigned char { kOpen, kEnded, kMoved };

    Traced() noexcept = default;
    ~Traced() = default;
    Traced(const Traced &) = delete;
    Traced &operator=(const Traced &) = delete;

    /* Take o's handle and ids; o is left moved-from. */
    void take(Traced &o) noexcept {
        h_ = o.h_;
        state_ = o.state_;
        for (std::size_t i = 0; i < sizeof tp_; ++i) tp_[i] = o.tp_[i];
        o.h_ = nullptr;
        o.state_ = kMoved;
        o.tp_[0] = '\0';
    }

    void set_ids(const char *traceparent) noexcept {
        std::size_t i = 0;
        for (; traceparent[i] && i + 1 < sizeof tp_; ++i) tp_[i] = traceparent[i];
        tp_[i] = '\0';
    }

    /* The live handle, or Error(TT_EMISUSE) saying why there is none. */
    void *live(const char *cls, const char *what, const char *fn) const {
        if (h_) return h_;
        std::string where = std::string("telltale::") + cls + "::" + fn;
        if (state_ == kMoved)
            throw Error(TT_EMISUSE, where + ": this " + cls + " was moved from; it no longer owns a " + what,
                        std::string("use the ") + cls + " it was moved into", Error::doc_of(TT_EMISUSE));
        throw Error(TT_EMISUSE, where + ": this " + what + " was already ended",
                    std::string("end a ") + what + " exactly once; do not use it after end()", Error::doc_of(TT_EMISUSE));
    }

    /* After a C end call: the handle is gone unless the call refused a bad argument. */
    bool ended(tt_status rc) {
        if (rc == TT_EINVAL) throw Error::last(rc);  // nothing happened: still open
        h_ = nullptr;
        state_ = kEnded;
        if (rc == TT_OK) return true;
        if (rc == TT_EFULL) return false;
        throw Error::last(rc);
    }

    void *h_ = nullptr;
    State state_ = kOpen;
    char tp_[56] = {};
};

}  // namespace detail

/* An HTTP call to a server, from just before it is sent until its response (or failure)
 * is known: tt_request_begin_opts ... tt_request_end. Move-only.
 *
 *     telltale::Request req(client, "GET", "https://api.example.com/v1/items?page=2");
 *     // send the header  traceparent: req.traceparent()  with the call
 *     for (auto &[name, value] : response.headers) req.header(name, value);
 *     req.end(response.status);                    // or req.end(0, "connection refused")
 *
 * While it is open it is this thread's trace context: events logged on this thread carry
 * its trace and span id, and requests and spans begun meanwhile become its children. End
 * nested requests and spans in reverse order (scopes do that by themselves).
 * A Request not ended is ended by its destructor, with status 0 and the error
 * "abandoned (destroyed without end)" (telltale::abandoned_error), for example when an
 * exception leaves the scope.
 *
 * Threads: to end it on another thread (callbacks, an event loop), begin it with
 * TT_REQUEST_DETACHED so it does not become this thread's context; move it, or hand it
 * over, to the thread that ends it. One thread at a time may use a Request.
 * End it before its Client closes: afterwards end() throws TT_EMISUSE and the record is lost. */
class Request : public detail::Traced {
public:
    /* Begin the call: method ("GET", any case), the URL being called (user-info, query and
     * fragment are not recorded, except query keys in Options::url_query_keys), an incoming
     * traceparent to continue (empty: none; a malformed one is ignored and counted in
     * stats().bad_traceparents) and flags (TT_REQUEST_DETACHED, or 0). Its parent is `parent`
     * if valid, else this thread's current context, else none (a new trace).
     * Throws Error: TT_EMISUSE (the Client is closed or moved from), TT_ENOMEM. */
    Request(const Client &client, std::string_view method, std::string_view url, std::string_view parent = {},
            unsigned flags = 0) {
        tt_client *c = client.live_in("telltale::Request");
        detail::CText m(method, "telltale::Request"), u(url, "telltale::Request"), p(parent, "telltale::Request");
        tt_request_options o = TT_REQUEST_OPTIONS_INIT;
        o.method = m.c_str();
        o.url = u.c_str();
        o.parent = parent.empty() ? nullptr : p.c_str();
        o.flags = flags;
        tt_request *r = nullptr;
        tt_status rc = tt_request_begin_opts(&r, c, &o);
        if (rc != TT_OK) throw Error::last(rc);
        h_ = r;
        set_ids(tt_request_traceparent(r));
    }

    /* Ends the request if still open, as "abandoned (destroyed without end)" with status 0.
     * Never throws; failures (the Client already closed, a full queue) are ignored. */
    ~Request() { abandon(); }

    /* The moved-from Request owns nothing: its calls throw TT_EMISUSE, its destructor does nothing. */
    Request(Request &&o) noexcept { take(o); }
    /* Ends what this Request held (as the destructor does), then takes over o's request. */
    Request &operator=(Request &&o) noexcept {
        if (this != &o) {
            abandon();
            take(o);
        }
        return *this;
    }

    /* Pass a response header (tt_request_header). The ones carrying server request ids are
     * kept (X-Request-Id, X-Reqid, X-Log, x-amz-request-id, x-amz-id-2, traceresponse,
     * Server-Timing, Options::request_id_headers; values capped at 512 bytes, 16 per
     * request); others are ignored cheaply. Throws TT_EMISUSE after end(). */
    void header(std::string_view name, std::string_view value) {
        void *r = live("header");
        detail::CText n(name, "telltale::Request::header"), v(value, "telltale::Request::header");
        tt_status rc = tt_request_header(static_cast<tt_request *>(r), n.c_str(), v.c_str());
        if (rc != TT_OK) throw Error::last(rc);
    }

    /* Bytes sent and received, if known (tt_request_bytes). Throws TT_EMISUSE after end(). */
    void bytes(uint64_t sent, uint64_t received) {
        tt_status rc = tt_request_bytes(static_cast<tt_request *>(live("bytes")), sent, received);
        if (rc != TT_OK) throw Error::last(rc);
    }

    /* Record the outcome (tt_request_end): the HTTP status, or 0 when no response arrived,
     * and what failed in words (empty: nothing). Returns true when recorded, false when the
     * record was dropped because this thread's queue stayed full (counted in
     * stats().requests_dropped). Throws Error: TT_EINVAL (status outside 0..999: the request
     * stays open, end it again), TT_EMISUSE (ended already, moved from, or its Client was
     * closed meanwhile: then the record is lost). */
    bool end(int http_status, std::string_view error = {}) {
        void *r = live("end");
        detail::CText e(error, "telltale::Request::end");
        return ended(tt_request_end(static_cast<tt_request *>(r), http_status, error.empty() ? nullptr : e.c_str()));
    }

    /* The C handle while open (nullptr after end() or a move), for C calls this wrapper does
     * not cover. Do not end it with tt_request_end: the Request does that. */
    tt_request *native_handle() const noexcept { return static_cast<tt_request *>(h_); }

private:
    void *live(const char *fn) const { return Traced::live("Request", "request", fn); }
    void abandon() noexcept {
        if (h_) tt_request_end(static_cast<tt_request *>(h_), 0, abandoned_error);
        h_ = nullptr;
        state_ = kEnded;
    }
};

/* Timed work that is not an HTTP call ("load settings"): tt_span_begin ... tt_span_end.
 * Move-only. Same rules as Request: it is this thread's trace context while open (events
 * and requests inside carry or continue its trace), nested ones end in reverse order, and
 * the destructor ends it as "abandoned (destroyed without end)" if end() was not called.
 *
 *     telltale::Span span(client, "load settings");
 *     ...                                          // logs and requests in here are its children
 *     span.end();                                  // or span.end("settings file is damaged")
 */
class Span : public detail::Traced {
public:
    /* Begin the span; it becomes this thread's context at once.
     * Throws Error: TT_EMISUSE (the Client is closed or moved from), TT_ENOMEM. */
    Span(const Client &client, std::string_view name) {
        tt_client *c = client.live_in("telltale::Span");
        detail::CText n(name, "telltale::Span");
        tt_span *s = nullptr;
        tt_status rc = tt_span_begin(&s, c, n.c_str());
        if (rc != TT_OK) throw Error::last(rc);
        h_ = s;
        // A span is this thread's context from its begin on: that context holds its ids.
        // (Nothing here may throw any more: a throwing constructor would leave the span open.)
        tt_context ctx;
        tt_context_get(&ctx);
        detail::format_traceparent(ctx, tp_);
    }

    /* Ends the span if still open, with the error "abandoned (destroyed without end)".
     * Never throws. */
    ~Span() { abandon(); }

    Span(Span &&o) noexcept { take(o); }
    Span &operator=(Span &&o) noexcept {
        if (this != &o) {
            abandon();
            take(o);
        }
        return *this;
    }

    /* Record the span (tt_span_end) with what failed in words (empty: it worked). Returns
     * true when recorded, false when dropped because this thread's queue stayed full.
     * Throws Error(TT_EMISUSE): ended already, moved from, or its Client was closed. */
    bool end(std::string_view error = {}) {
        void *s = live("end");
        detail::CText e(error, "telltale::Span::end");
        return ended(tt_span_end(static_cast<tt_span *>(s), error.empty() ? nullptr : e.c_str()));
    }

    /* The C handle while open, nullptr afterwards. Do not end it with tt_span_end. */
    tt_span *native_handle() const noexcept { return static_cast<tt_span *>(h_); }

private:
    void *live(const char *fn) const { return Traced::live("Span", "span", fn); }
    void abandon() noexcept {
        if (h_) tt_span_end(static_cast<tt_span *>(h_), abandoned_error);
        h_ = nullptr;
        state_ = kEnded;
    }
};

/* A thread's trace context (tt_context): the trace and span that events logged on the
 * thread belong to, and that new requests and spans become children of. A plain value:
 * copy it freely, to other threads too.
 *
 *     telltale::Context ctx = telltale::Context::current();   // on the thread in the request
 *     std::thread worker([&client, ctx] {
 *         telltale::ContextScope scope(ctx);                    // on the other thread
 *         client.info("part of the same trace");
 *     });
 */
class Context {
public:
    /* No context: events carry no trace, a request begun under it starts a new trace. */
    Context() noexcept : c_() {}
    explicit Context(const tt_context &c) noexcept : c_(c) {}

    /* This thread's context now (tt_context_get); !valid() when there is none. */
    static Context current() noexcept {
        tt_context c;
        tt_context_get(&c);
        return Context(c);
    }

    bool valid() const noexcept { return c_.valid != 0; }
    explicit operator bool() const noexcept { return valid(); }
    /* 32 and 16 lower-case hex digits; "" when !valid(). */
    std::string trace_id() const { return valid() ? detail::hex(c_.trace_id, 16) : std::string(); }
    std::string span_id() const { return valid() ? detail::hex(c_.span_id, 8) : std::string(); }
    /* "00-<trace id>-<span id>-01", e.g. to pass to another process; "" when !valid(). */
    std::string traceparent() const {
        if (!valid()) return std::string();
        char tp[56];
        detail::format_traceparent(c_, tp);
        return tp;
    }

    const tt_context &c_context() const noexcept { return c_; }

private:
    tt_context c_;
};

/* Sets a context on this thread for the scope's lifetime (tt_context_set), then puts back
 * the one the thread had before. Not copyable or movable: it belongs to one thread's stack.
 * ContextScope scope{telltale::Context()} clears the context for the scope. Never throws. */
class ContextScope {
public:
    explicit ContextScope(const Context &ctx) noexcept : prev_(Context::current()) { set(ctx); }
    ~ContextScope() { set(prev_); }
    ContextScope(const ContextScope &) = delete;
    ContextScope &operator=(const ContextScope &) = delete;

    /* The context the thread had before; it comes back at the end of the scope. */
    const Context &previous() const noexcept { return prev_; }

private:
    static void set(const Context &c) noexcept { tt_context_set(c.valid() ? &c.c_context() : nullptr); }
    Context prev_;
};

}  // namespace telltale

#endif /* TELLTALE_HPP */
