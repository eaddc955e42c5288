// Builds the header under strict warnings as an error (-Werror), so that apps compiling
// with their own strict flags are not bothered by it. Instantiates every template and
// touches every class.
#include <telltale/telltale.hpp>

#include <string>
#include <utility>

bool header_check(telltale::Client &c, const std::string &s) {
    bool ok = c.trace("{}", s) && c.debug("{}", 1) && c.info("{}", 2u) && c.warn("{}", 3.0) && c.error("{}", 'x') &&
              c.fatal("{}", s.c_str()) && c.log(TT_INFO, "{} {}", s, 5);
    ok = ok && c.log_attrs(TT_INFO, "m", {{"k", s}});
    ok = ok && c.log_attrs(TT_INFO, {{"k", "v"}}, "{}", s);
    telltale::Attr a[] = {{"k", "v"}};
    ok = ok && c.log_attrs(TT_INFO, "m", a, 1);
    c.flush();
    return ok && c.stats().events > 0;
}

telltale::Options options_check() {
    return telltale::Options()
        .db_path("x.db")
        .app_name("x")
        .request_id_headers("X-Trace-Id")
        .url_query_keys("page")
        .endpoint("https://telemetry.example.com")
        .auth_token("t")
        .ca_file("ca.pem")
        .proxy("http://proxy:3128")
        .compression(TT_CODEC_GZIP)
        .upload_timeout_ms(1)
        .upload_batch_events(2)
        .max_upload_bytes_per_hour(3)
        .consent_policy_version("2026-11")
        .consent_flags(TT_CONSENT_KEEP_ON_POLICY_CHANGE);
}

bool consent_check(const telltale::Client &c) {
    c.consent(TT_CONSENT_GRANTED);
    c.consent(TT_CONSENT_DENIED, "2026-11");
    c.upload_flush();
    c.upload_flush(std::chrono::seconds(1));
    telltale::network_changed();
    return c.consent() == TT_CONSENT_DENIED;
}

bool request_check(const telltale::Client &c, const std::string &url) {
    telltale::Span span(c, "work");
    telltale::Request r(c, "GET", url);
    telltale::Request d(c, "GET", url, span.traceparent(), TT_REQUEST_DETACHED);
    std::string id = r.trace_id() + r.span_id() + span.trace_id() + span.span_id();
    r.header("X-Request-Id", "abc");
    r.bytes(1, 2);
    telltale::Request moved = std::move(r);
    moved = std::move(d);
    telltale::Context ctx = telltale::Context::current();
    {
        telltale::ContextScope scope(ctx);
        id += ctx.trace_id() + ctx.span_id() + ctx.traceparent() + scope.previous().trace_id();
    }
    bool ok = moved.end(200) && span.end() && !moved.is_open() && moved.native_handle() == nullptr &&
              span.native_handle() == nullptr && !static_cast<bool>(span);
    return ok && !id.empty() && moved.traceparent()[0] != '\0' && std::string(telltale::abandoned_error).size() > 0;
}

bool report_check(const telltale::Client &c, const std::string &s) {
    std::string id = c.report(s);
    id += c.report(s, s, {s}, TT_REPORT_NO_SCRUB);
    telltale::FiledReport f = c.report(telltale::ReportOptions()
                                           .description(s)
                                           .contact(s)
                                           .window_s(60)
                                           .attach(s)
                                           .attachments({s})
                                           .max_log_bytes(4096)
                                           .max_attachment_bytes(1)
                                           .flags(TT_REPORT_AUTOMATIC));
    telltale::FiledReport e = c.export_report(s, telltale::ReportOptions());
    id += c.export_report(s) + c.export_report(s, s, s, {s}, 0) + f.id + e.id;
    std::string reason;
    bool ok = c.report_status(id, &reason) != TT_REPORT_FAILED && c.report_status(id) == TT_REPORT_SENT;
    ok = ok && f.complete() && !e.left_out && c.notice().empty();
    telltale::Options o = telltale::Options()
                              .report_flags(TT_REPORTS_OFF)
                              .max_pending_reports(3)
                              .before_send([](void *, tt_report_draft *) { return 0; }, nullptr)
                              .before_send([](telltale::ReportDraft &d) {
                                  d.set_manifest(std::string(d.manifest()));
                                  return d.native_handle() != nullptr;
                              });
    return ok && o.c_options().before_send != nullptr;
}
