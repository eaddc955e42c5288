// Consent and upload in C++: the same with telltale.hpp. The endpoint is a loopback
// server (loopback.h) standing for the support backend.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include <telltale/telltale.hpp>

#include "loopback.h"

// [doc:settings]
// The "Help improve this app" switch of the settings screen.
void on_share_switch(const telltale::Client &client, bool on) {
    try {
        client.consent(on ? TT_CONSENT_GRANTED : TT_CONSENT_DENIED);  // for Options::consent_policy_version
    } catch (const telltale::Error &e) {
        std::fprintf(stderr, "consent not stored: %s\n", e.what());
    }
}
// [/doc:settings]

int main() {
    unlink("app.db");  // a fresh buffer on every run: no answer stored yet
    unlink("app.db-wal");
    unlink("app.db-shm");
    loopback server;
    if (loopback_start(&server) != 0) return 1;
    std::string endpoint = "http://127.0.0.1:" + std::to_string(server.port);
    bool fine = false;
    try {
        // [doc:open]
        telltale::Client client(telltale::Options()
                                    .db_path("app.db")
                                    .app_name("notes")
                                    .app_version("2.4.0")
                                    .endpoint(endpoint)  // e.g. "https://telemetry.example.com"
                                    .auth_token("ingest-token")
                                    .consent_policy_version("2026-11"));
        if (client.consent() == TT_CONSENT_UNKNOWN) {
            // No answer for this policy yet: show the question (here the user says yes).
            on_share_switch(client, true);
        }
        client.info("user opened a screen");
        // [/doc:open]
        fine = client.consent() == TT_CONSENT_GRANTED;

        // [doc:flush]
        try {
            client.upload_flush(std::chrono::seconds(10));  // deliver what is stored, now
        } catch (const telltale::Error &e) {
            if (e.code() == TT_ENOCONSENT) {
                // the user said no, or has not answered: nothing was sent
            } else {
                // TT_ETIMEOUT: offline or the server is busy; it stays stored and goes later
                std::fprintf(stderr, "upload later: %s\n", e.what());
            }
        }
        // [/doc:flush]
        tt_stats s = client.stats();
        std::printf("%llu events delivered, %llu waiting\n", static_cast<unsigned long long>(s.uploaded),
                    static_cast<unsigned long long>(s.pending_upload));
        fine = fine && s.pending_upload == 0 && s.uploaded >= 2;

        // Withdrawn: what was not delivered is deleted, and nothing more is sent.
        on_share_switch(client, false);
        client.info("logged after the user said no");
        int before = loopback_uploads(&server);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        fine = fine && client.consent() == TT_CONSENT_DENIED && loopback_uploads(&server) == before;
    } catch (const telltale::Error &e) {
        std::fprintf(stderr, "%s\n", e.what());
        fine = false;
    }
    loopback_stop(&server);
    return fine ? 0 : 1;
}
