// "Report a problem" in C++: the same with telltale.hpp, plus a before_send callback that
// edits what is sent, and the ReportOptions form that says what was left out. The
// endpoint is a loopback server (loopback.h) standing for the support backend.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>
#include <telltale/telltale.hpp>

#include "loopback.h"

// [doc:button]
// The "Report a problem" button: file the report, show its id at once (even offline).
std::string on_report_button(const telltale::Client &client, const std::string &what_happened, const std::string &email) {
    try {
        std::string id = client.report(what_happened, email, {"settings.json"});
        return "Thanks! Your report id is " + id;  // also when an attachment had to be left out
    } catch (const telltale::Error &e) {
        return "The report could not be filed: " + e.message();
    }
}
// [/doc:button]

int main() {
    unlink("app.db");  // a fresh buffer on every run
    unlink("app.db-wal");
    unlink("app.db-shm");
    std::ofstream("settings.json") << "{\"theme\":\"dark\",\"sync\":\"every 15 min\"}\n";
    std::ofstream("huge.log") << std::string(2 << 20, 'x');  // 2 MiB: over the 1 MiB cap of one attachment
    loopback server;
    if (loopback_start_notice(&server, "Sync is down for some users; a fix is on its way.") != 0) return 1;
    std::string endpoint = "http://127.0.0.1:" + std::to_string(server.port);
    bool fine = true;
    try {
        // [doc:open]
        telltale::Client client(telltale::Options()
                                    .db_path("app.db")
                                    .app_name("notes")
                                    .app_version("2.4.0")
                                    .endpoint(endpoint)  // reports go to <endpoint>/v1/reports
                                    .before_send([](telltale::ReportDraft &draft) {
                                        // On telltale's report thread, before the report leaves.
                                        nlohmann::json m = nlohmann::json::parse(draft.manifest());
                                        m.erase("local_addresses");      // this app's policy: no device addresses
                                        m["app_build"] = "2.4.0+1234";  // and what its support team needs
                                        draft.set_manifest(m.dump());
                                        return true;  // false: vetoed, the report is marked failed, nothing is sent
                                    }));
        // [/doc:open]
        client.error("sync failed: HTTP 503 after {} ms", 212);

        std::string shown = on_report_button(client, "sync fails since this morning", "carol@example.net");
        std::printf("%s\n", shown.c_str());
        fine = shown.rfind("Thanks! Your report id is ", 0) == 0;
        std::string id = shown.substr(shown.size() - 36);

        // [doc:receipt]
        telltale::FiledReport filed = client.report(telltale::ReportOptions()
                                                        .description("sync fails since this morning")
                                                        .attach("settings.json")
                                                        .attach("huge.log")  // over 1 MiB: left out, the rest goes
                                                        .window_s(3600));    // the last hour of logs, not 30 minutes
        std::printf("report %s\n", filed.id.c_str());
        if (filed.left_out)  // TT_ELIMIT (too big) or TT_EIO (unreadable), naming each file
            std::printf("left out: %s\n", filed.left_out->message().c_str());
        // [/doc:receipt]
        fine = fine && filed.left_out && filed.left_out->code() == TT_ELIMIT;

        // Wait (here only) until both are delivered; an app shows the id and goes on.
        for (int i = 0; i < 1000 && (client.report_status(id) == TT_REPORT_PENDING || client.report_status(filed.id) == TT_REPORT_PENDING); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));

        // [doc:status]
        std::string reason;
        switch (client.report_status(id, &reason)) {  // throws TT_ENOTFOUND for an id this buffer does not know
        case TT_REPORT_PENDING: std::printf("waiting to be sent\n"); break;
        case TT_REPORT_SENT: std::printf("support has it\n"); break;
        case TT_REPORT_FAILED: std::printf("not sent: %s\n", reason.c_str()); break;
        }
        if (std::string notice = client.notice(); !notice.empty()) std::printf("From support: %s\n", notice.c_str());
        // [/doc:status]
        fine = fine && client.report_status(id) == TT_REPORT_SENT && client.report_status(filed.id) == TT_REPORT_SENT &&
               client.notice() == "Sync is down for some users; a fix is on its way." && loopback_reports(&server) == 2;

        // [doc:export]
        std::string saved = client.export_report("report.tar", "sync fails; saved from the settings screen");
        // [/doc:export]
        fine = fine && saved.size() == 36 && access("report.tar", R_OK) == 0;
    } catch (const telltale::Error &e) {
        std::fprintf(stderr, "%s\n", e.what());
        fine = false;
    }
    loopback_stop(&server);
    return fine ? 0 : 1;
}
