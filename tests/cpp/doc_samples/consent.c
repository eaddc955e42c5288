/* Consent and upload in C: log from the start, ask the user, upload only after a yes.
 * The endpoint here is a loopback server (loopback.h) standing for the support backend. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <telltale/telltale.h>

#include "loopback.h"

/* [doc:ask] */
/* At start-up: ask only when there is no answer that counts for the policy shown now. */
static int consent_needed(tt_client *client) {
    tt_consent answer = TT_CONSENT_UNKNOWN;
    return tt_consent_get(client, &answer) == TT_OK && answer == TT_CONSENT_UNKNOWN;
}

/* When the user answers "Help improve this app by sharing usage data" (or changes it in
 * the settings). The answer is stored in the buffer: it survives restarts. */
static void on_consent_answer(tt_client *client, int agreed) {
    tt_status rc = tt_consent_set(client, agreed ? TT_CONSENT_GRANTED : TT_CONSENT_DENIED,
                                  NULL); /* NULL: for opts.consent_policy_version */
    if (rc != TT_OK) fprintf(stderr, "consent not stored: %s\n", tt_error_last()->message);
}
/* [/doc:ask] */

/* [doc:network] */
/* From the platform's connectivity callback: retry waiting uploads now, not after the backoff. */
static void on_network_up(void) { tt_network_changed(); }
/* [/doc:network] */

int main(void) {
    unlink("app.db"); /* a fresh buffer on every run: no answer stored yet */
    unlink("app.db-wal");
    unlink("app.db-shm");
    loopback server;
    if (loopback_start(&server) != 0) return EXIT_FAILURE;
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", server.port);

    /* [doc:open] */
    tt_options opts = TT_OPTIONS_INIT;
    opts.db_path = "app.db";
    opts.app_name = "notes";
    opts.app_version = "2.4.0";
    opts.endpoint = endpoint;                /* your backend or an OpenTelemetry Collector, e.g. "https://telemetry.example.com" */
    opts.auth_token = "ingest-token";        /* sent as "Authorization: Bearer ingest-token" */
    opts.consent_policy_version = "2026-11"; /* the privacy policy the app shows now */

    tt_client *client = NULL;
    tt_status rc = tt_open(&client, &opts);
    /* [/doc:open] */
    if (rc != TT_OK) {
        fprintf(stderr, "tt_open: %s\n", tt_error_last()->message);
        loopback_stop(&server);
        return EXIT_FAILURE;
    }

    tt_log(client, TT_INFO, "app started"); /* kept locally; not sent before a yes */
    tt_flush(client, 5000);
    usleep(200 * 1000);
    int before = loopback_uploads(&server);

    if (consent_needed(client)) on_consent_answer(client, 1 /* the user ticked the box */);
    tt_log(client, TT_INFO, "user opened a screen");
    on_network_up();

    /* [doc:flush] */
    /* Before a planned exit, or for a "Send diagnostics now" button: deliver what is stored. */
    rc = tt_upload_flush(client, 10000);
    if (rc == TT_ENOCONSENT) {
        /* no yes from the user: nothing was sent, nothing will be */
    } else if (rc != TT_OK) {
        /* TT_ETIMEOUT: offline, or the server is busy. It stays stored and goes later. */
        fprintf(stderr, "upload later: %s\n", tt_error_last()->message);
    }
    /* [/doc:flush] */

    tt_stats stats = TT_STATS_INIT;
    tt_stats_get(client, &stats);
    printf("before consent %d uploads; after it %llu events delivered, %llu waiting\n", before,
           (unsigned long long)stats.uploaded, (unsigned long long)stats.pending_upload);
    tt_close(client, 5000);
    loopback_stop(&server);
    return rc == TT_OK && before == 0 && server.uploads > 0 && stats.pending_upload == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
