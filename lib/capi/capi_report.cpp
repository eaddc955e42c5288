// C entry points for problem reports.
#include <cstring>

#include <fmt/format.h>

#include "capi/api.hpp"
#include "report/draft.hpp"
#include "client/client.hpp"


namespace {

tt::report::Request to_request(const tt_report_options *o, const char *fn) {
    tt::report::Request r;
    if (!o) return r;
    if (o->version < 1 || o->version > TT_REPORT_OPTIONS_VERSION)
        throw tt::Error(TT_EMISUSE, fmt::format("{}: o->version is {}, this library knows 1 to {}", fn, o->version, TT_REPORT_OPTIONS_VERSION),
                        "initialise the struct with TT_REPORT_OPTIONS_INIT");
    if (o->attachment_count && !o->attachments)
        throw tt::Error(TT_EINVAL, fmt::format("{}: attachments is NULL but attachment_count is {}", fn, o->attachment_count),
                        "pass attachment_count = 0 when there are no attachments");
    if (o->description) r.description.assign(o->description, strnlen(o->description, 64 * 1024));
    if (o->contact) r.contact.assign(o->contact, strnlen(o->contact, 1024));
    if (o->window_s) r.window_s = std::min<uint32_t>(o->window_s, 30 * 24 * 3600);
    for (size_t i = 0; i < o->attachment_count; ++i) {
        if (!o->attachments[i])
            throw tt::Error(TT_EINVAL, fmt::format("{}: attachments[{}] is NULL", fn, i), "pass a file path for every attachment");
        r.attachments.emplace_back(o->attachments[i]);
    }
    if (o->max_log_bytes) r.max_log_bytes = std::max<uint64_t>(o->max_log_bytes, 4096);
    if (o->max_attachment_bytes) r.max_attachment_bytes = o->max_attachment_bytes;
    r.automatic = o->flags & TT_REPORT_AUTOMATIC;
    r.scrub = !(o->flags & TT_REPORT_NO_SCRUB);
    return r;
}

// The report was filed, but not all of it: say so with the right code (the id is valid).
tt_status filed(const tt::report::Reports::Filed &f, char *id_out, const char *fn, const tt::report::Request &r) {
    std::memcpy(id_out, f.id.c_str(), TT_REPORT_ID_SIZE);
    if (f.skipped.empty()) return TT_OK;
    std::string what;
    bool over = false;
    for (auto &s : f.skipped) {
        what += (what.empty() ? "" : "; ") + s;
        over |= s.find("over the") != std::string::npos;
    }
    return tt::set_error(over ? TT_ELIMIT : TT_EIO,
                         fmt::format("{}: report {} was filed without {} attachment(s): {}", fn, f.id, f.skipped.size(), what),
                         over ? fmt::format("the rest of the report goes as usual; attach files under {} bytes, or raise max_attachment_bytes",
                                            r.max_attachment_bytes)
                              : "the rest of the report goes as usual; check the attachment paths");
}

}  // namespace

extern "C" {

TT_API tt_status tt_report_submit(tt_client *c, const tt_report_options *o, char id_out[TT_REPORT_ID_SIZE]) noexcept {
    TT_API_BEGIN
    if (!id_out) return tt::set_error(TT_EINVAL, "tt_report_submit: id_out is NULL", "pass a char buffer of TT_REPORT_ID_SIZE (37) bytes");
    id_out[0] = '\0';
    auto impl = tt::client::acquire(c, "tt_report_submit");
    if (impl->opts.reports_off)
        return tt::set_error(TT_EMISUSE, "tt_report_submit: this app turned reports off (TT_REPORTS_OFF)",
                             "remove TT_REPORTS_OFF from opts.report_flags to offer \"Report a problem\"");
    tt::report::Request r = to_request(o, "tt_report_submit");
    impl->queue.flush(200);  // the last moments before the press are in the report (bounded: never delays the id much)
    return filed(impl->reports->submit(r), id_out, "tt_report_submit", r);
    TT_API_END
}

TT_API tt_status tt_report_export(tt_client *c, const tt_report_options *o, const char *path, char id_out[TT_REPORT_ID_SIZE]) noexcept {
    TT_API_BEGIN
    if (!id_out) return tt::set_error(TT_EINVAL, "tt_report_export: id_out is NULL", "pass a char buffer of TT_REPORT_ID_SIZE (37) bytes");
    id_out[0] = '\0';
    if (!path || !*path) return tt::set_error(TT_EINVAL, "tt_report_export: path is NULL or empty", "pass the file to write, e.g. \"report.tar\"");
    auto impl = tt::client::acquire(c, "tt_report_export");
    tt::report::Request r = to_request(o, "tt_report_export");
    impl->queue.flush(2000);
    return filed(impl->reports->export_to(r, path), id_out, "tt_report_export", r);
    TT_API_END
}

TT_API tt_status tt_report_status(tt_client *c, const char *id, tt_report_state *out) noexcept {
    TT_API_BEGIN
    if (!id || !out) return tt::set_error(TT_EINVAL, fmt::format("tt_report_status: {} is NULL", id ? "out" : "id"), "pass the report id and a tt_report_state to fill");
    auto impl = tt::client::acquire(c, "tt_report_status");
    std::string reason;
    *out = impl->reports->status(std::string(id, strnlen(id, 64)), reason);
    if (*out == TT_REPORT_FAILED)
        tt::set_error(TT_OK, fmt::format("report {} failed: {}", id, reason), "");  // the why, for the app to show
    return TT_OK;
    TT_API_END
}

TT_API const char *tt_notice_get(tt_client *c) noexcept {
    thread_local std::string *notice = nullptr;  // a pointer: the TLS block stays small (dlopen)
    try {
        if (!notice) notice = new std::string;
        auto impl = tt::client::acquire(c, "tt_notice_get");
        *notice = impl->reports->notice();
        return notice->c_str();
    } catch (const tt::Error &e) {
        tt::set_error(e.code(), e.what(), e.hint());
        return "";
    } catch (...) {
        return "";
    }
}

TT_API tt_status tt_notice_refresh(tt_client *c, uint32_t timeout_ms) noexcept {
    TT_API_BEGIN
    auto impl = tt::client::acquire(c, "tt_notice_refresh");
    impl->reports->refresh_notice(timeout_ms ? timeout_ms : 5000);
    return TT_OK;
    TT_API_END
}

TT_API const char *tt_report_draft_manifest(const tt_report_draft *d) noexcept { return d ? d->manifest.c_str() : ""; }

TT_API tt_status tt_report_draft_set_manifest(tt_report_draft *d, const char *json) noexcept {
    TT_API_BEGIN
    if (!d || !json) return tt::set_error(TT_EINVAL, "tt_report_draft_set_manifest: NULL argument", "pass the draft and a JSON object");
    std::string_view v(json);
    size_t a = v.find_first_not_of(" \t\r\n"), b = v.find_last_not_of(" \t\r\n");
    if (a == std::string_view::npos || v[a] != '{' || v[b] != '}')
        return tt::set_error(TT_EINVAL, "tt_report_draft_set_manifest: the manifest must be a JSON object", "pass the edited manifest, still a {...} object");
    d->manifest.assign(json);
    return TT_OK;
    TT_API_END
}

}  // extern "C"
