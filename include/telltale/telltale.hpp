/*
 * telltale.hpp - header-only C++ wrapper over the telltale C ABI (telltale.h).
 * Works in C++17 and C++20. Needs {fmt} 8 or newer (link fmt::fmt, or `pkg-config fmt`).
 * Header-only and inline: it is not part of the binary ABI of libtelltale.so (see docs/abi.md).
 *
 *     telltale::Client client(telltale::Options().db_path("app.db").app_name("demo"));
 *     client.info("user {} signed in", user_id);
 *     client.log_attrs(TT_WARN, "sync slow", {{"server", host}, {"ms", "1200"}});
 *
 * ERRORS - the one rule:
 *   Every failure throws telltale::Error (a std::runtime_error) carrying the library's
 *   status code, message, hint and docs/errors.md anchor, exactly as tt_error_last() gave them.
 *   The single exception to the rule: a log call whose event was dropped because this
 *   thread's queue was full (TT_EFULL) does not throw; it returns false. Log calls return
 *   true when the event was queued and false when it was dropped; a dropped event is
 *   counted in stats().dropped, so most callers ignore the result.
 *   Consequences:
 *   - using a Client after close(), or after it was moved from, throws Error(TT_EMISUSE);
 *   - a bad format string is a compile error in C++20 (fmt::format_string); in C++17, and
 *     with fmt::runtime() strings, it throws Error(TT_EINVAL) and nothing is logged;
 *   - running out of memory while formatting throws Error(TT_ENOMEM);
 *   - exceptions thrown by your own fmt::formatter specialisations pass through unchanged;
 *   - the destructor never throws: it closes with a bounded timeout and ignores failures.
 *
 * Text: messages, keys and values go to the C ABI as NUL-terminated copies, so any
 * std::string_view is fine; text after an embedded NUL byte is not kept.
 * Threads: one Client may be used from any number of threads at once, including a
 * close() racing with log calls (those then throw TT_EMISUSE). Moving a Client while
 * another thread uses it is a data race, as for any C++ object.
 */
#ifndef TELLTALE_HPP
#define TELLTALE_HPP

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include <telltale/telltale.h>

namespace telltale {

/* The version of the library actually loaded ("MAJOR.MINOR.PATCH"); compare TT_VERSION_STRING. */
inline const char *version() noexcept { return tt_version(); }

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

    /* The C struct. Its strings point into this Options: valid while it lives unchanged. */
    tt_options c_options() const noexcept {
        tt_options o = o_;
        o.db_path = c_str(db_path_);
        o.app_name = c_str(app_name_);
        o.app_version = c_str(app_version_);
        o.endpoint = c_str(endpoint_);
        return o;
    }

private:
    static const char *c_str(const std::optional<std::string> &s) noexcept { return s ? s->c_str() : nullptr; }

    tt_options o_;
    std::optional<std::string> db_path_, app_name_, app_version_, endpoint_;
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
    explicit Client(const Options &opts) : Client(opts.c_options()) {}
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
          recovery_note_(std::move(o.recovery_note_)) {
        o.gone_ = kMoved;
    }
    /* Closes what this Client owned (as the destructor does), then takes over o's client. */
    Client &operator=(Client &&o) noexcept {
        if (this != &o) {
            if (tt_client *c = handle_.exchange(nullptr, std::memory_order_acq_rel)) tt_close(c, to_ms(close_timeout_));
            handle_.store(o.handle_.exchange(nullptr, std::memory_order_acq_rel), std::memory_order_release);
            close_timeout_ = o.close_timeout_;
            recovery_note_ = std::move(o.recovery_note_);
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
    enum Gone : unsigned char { kClosed, kMoved };

    static uint32_t to_ms(milliseconds t) noexcept {
        auto n = t.count();
        if (n <= 0) return 0;
        if (static_cast<unsigned long long>(n) >= UINT32_MAX) return UINT32_MAX;
        return static_cast<uint32_t>(n);
    }

    Error misuse(const char *fn) const {
        std::string where = std::string("telltale::Client::") + fn;
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

    static bool result(tt_status rc) {
        if (rc == TT_OK) return true;
        if (rc == TT_EFULL) return false;
        throw Error::last(rc);
    }

    std::atomic<tt_client *> handle_{nullptr};
    std::atomic<unsigned char> gone_{kClosed};
    milliseconds close_timeout_{default_timeout};
    std::string recovery_note_;
};

}  // namespace telltale

#endif /* TELLTALE_HPP */
