// Problem reports: tt_report_submit persists the request at once (so the id survives a
// SIGKILL) and returns; a background thread assembles it (manifest.json, the recent
// logs as zstd NDJSON, attachments, a time-boxed network check), lets the app's
// before_send callback edit or veto it, and sends it to <endpoint>/v1/reports as
// multipart/form-data with the report id as idempotency key and the upload retry rules.
#pragma once
#include <sqlite3.h>
#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "telltale/telltale.h"
#include "upload/transport.hpp"

namespace tt::report {

struct ReportConfig {
    std::string path;       // the buffer
    std::string endpoint;   // "" : reports are kept (and can be exported) but not sent
    upload::TransportConfig transport;
    uint32_t retry_base_ms = 1000, retry_max_ms = 300000;
    std::string app_name, app_version, install_id, session_id;
    bool enabled = true;                 // the app may turn user reports off
    uint32_t max_queue = 20;             // pending reports kept; the oldest goes first
    uint32_t automatic_min_interval_s = 600;
    tt_before_send_fn before_send = nullptr;
    void *before_send_data = nullptr;
};

// What a submit asks for (persisted as JSON with the report).
struct Request {
    std::string description, contact;
    uint32_t window_s = 1800;
    std::vector<std::string> attachments;
    uint64_t max_log_bytes = 5u << 20, max_attachment_bytes = 1u << 20;
    uint32_t max_requests = 200;
    bool automatic = false, scrub = true;
};

// Facts the client knows (counters, consent) at assembly time.
struct Facts {
    tt_consent consent = TT_CONSENT_UNKNOWN;
    uint64_t logged = 0, dropped = 0, evicted = 0, stored = 0, requests_dropped = 0;
};

class Reports {
public:
    Reports(ReportConfig cfg, std::function<Facts()> facts);
    ~Reports();
    void start();
    void stop() noexcept;
    void wake() noexcept;
    void network_changed() noexcept;

    struct Filed {
        std::string id;
        std::vector<std::string> skipped;  // attachments left out, with why
    };
    // Persist the report (attachments read now, as they are at the press of the button).
    Filed submit(const Request &r);
    // Assemble at once and write a tar to `path`. Returns the id.
    Filed export_to(const Request &r, const std::string &path);
    // "pending", "sent" or "failed" (+ why); throws TT_ENOTFOUND.
    tt_report_state status(const std::string &id, std::string &reason);
    std::string notice();  // the backend's last incident notice ("" if none)
    // Ask the backend's public GET /v1/status now (the caller's thread, up to timeout_ms),
    // keep its notice and return it. Throws tt::Error (TT_EINVAL, TT_ENET, TT_ETIMEOUT).
    std::string refresh_notice(uint32_t timeout_ms);

private:
    void run();
    Filed file(const Request &r, const char *state);
    // false: vetoed by before_send, or dropped by the queue cap meanwhile (nothing stored).
    bool assemble(const std::string &id, bool network_check, const char *done_state = "pending");
    void follow_file();
    void try_follow_file() noexcept;
    void copy_reports(sqlite3 *to) noexcept;
    void store_notice(const std::string &answer);
    bool json_valid(const std::string &text);
    void write_tar(const std::string &id, const std::string &path);
    void forget(const std::string &id) noexcept;
    std::string build_manifest(sqlite3 *db, const std::string &id, const Request &r, int64_t created_ns, int64_t last_event_id,
                               int64_t last_request_id, const std::vector<std::string> &skipped,
                               std::string &logs_zst, std::string &summary, std::vector<std::string> &failed_urls);
    std::string network_check(const std::vector<std::string> &failed_urls);
    bool send_one(upload::Transport &t, bool &backoff);
    void put_part(const std::string &id, const std::string &name, const std::string &type, const std::string &data);

    ReportConfig cfg_;
    std::function<Facts()> facts_;
    sqlite3 *db_ = nullptr;
    std::pair<dev_t, ino_t> file_id_{};  // of the file db_ has open (see follow_file)
    std::mutex db_mu_;
    std::thread thread_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false, woken_ = false;
    upload::Transport *transport_ = nullptr;
    uint32_t attempt_ = 0;
    uint64_t next_attempt_ms_ = 0;
};

}  // namespace tt::report
