/* "Report a problem" in C: file a report with one call, show its id at once, follow it
 * until support has it, and save one to a file for a user without a network. The
 * endpoint is a loopback server (loopback.h) standing for the support backend. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <telltale/telltale.h>

#include "loopback.h"

/* [doc:before] */
/* The "Report a problem" screen opens (off the UI thread): does support already know? */
static void on_report_screen_opened(tt_client *client) {
    if (tt_notice_refresh(client, 3000) == TT_OK && tt_notice_get(client)[0] != '\0')
        printf("We know: %s\n", tt_notice_get(client)); /* the user may not need to file at all */
}
/* [/doc:before] */

/* [doc:button] */
/* The "Report a problem" button: file the report and show its id at once (even offline).
 * id gets the id, or "" when nothing was filed. */
static void on_report_button(tt_client *client, const char *what_happened, const char *email, char id[TT_REPORT_ID_SIZE]) {
    const char *files[] = {"settings.json"}; /* read now, as they are at the press of the button */
    tt_report_options o = TT_REPORT_OPTIONS_INIT;
    o.description = what_happened; /* the user's own words */
    o.contact = email;             /* NULL if the user would rather not be contacted */
    o.attachments = files;
    o.attachment_count = 1;
    tt_status rc = tt_report_submit(client, &o, id);
    if (id[0] != '\0') {
        /* Filed. rc is TT_ELIMIT or TT_EIO when an attachment was left out: the rest goes. */
        printf("Thanks! Your report id is %s\n", id);
        if (rc != TT_OK) fprintf(stderr, "note: %s\n", tt_error_last()->message);
    } else {
        fprintf(stderr, "report not filed: %s\n", tt_error_last()->message);
    }
}
/* [/doc:button] */

/* [doc:status] */
/* Later (a "My reports" screen): where is it? */
static void show_report(tt_client *client, const char *id) {
    tt_report_state state;
    if (tt_report_status(client, id, &state) != TT_OK) return; /* TT_ENOTFOUND: not in this buffer */
    if (state == TT_REPORT_SENT) printf("report %s: support has it\n", id);
    else if (state == TT_REPORT_PENDING) printf("report %s: waiting to be sent\n", id);
    else printf("report %s: not sent (%s)\n", id, tt_error_last()->message); /* the why, with TT_OK */
    const char *notice = tt_notice_get(client); /* the backend's incident notice, "" when none */
    if (notice[0] != '\0') printf("From support: %s\n", notice);
}
/* [/doc:status] */

int main(void) {
    unlink("app.db"); /* a fresh buffer on every run */
    unlink("app.db-wal");
    unlink("app.db-shm");
    unlink("report.tar");
    FILE *f = fopen("settings.json", "w");
    if (!f) return EXIT_FAILURE;
    fputs("{\"theme\":\"dark\",\"sync\":\"every 15 min\"}\n", f);
    fclose(f);
    loopback server;
    if (loopback_start_notice(&server, "Sync is down for some users; a fix is on its way.") != 0) return EXIT_FAILURE;
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", server.port);

    /* [doc:open] */
    tt_options opts = TT_OPTIONS_INIT;
    opts.db_path = "app.db";
    opts.app_name = "notes";
    opts.app_version = "2.4.0";
    opts.endpoint = endpoint; /* reports go to <endpoint>/v1/reports; NULL: kept (and exportable), never sent */

    tt_client *client = NULL;
    tt_status rc = tt_open(&client, &opts);
    /* [/doc:open] */
    if (rc != TT_OK) {
        fprintf(stderr, "tt_open: %s\n", tt_error_last()->message);
        loopback_stop(&server);
        return EXIT_FAILURE;
    }
    tt_log(client, TT_ERROR, "sync failed: HTTP 503 after 212 ms");

    on_report_screen_opened(client);
    int known_before = strcmp(tt_notice_get(client), "Sync is down for some users; a fix is on its way.") == 0;
    char id[TT_REPORT_ID_SIZE];
    on_report_button(client, "sync fails since this morning", "carol@example.net", id);
    /* Wait (here only) until it is delivered; an app just shows the id and goes on. */
    tt_report_state state = TT_REPORT_PENDING;
    for (int i = 0; i < 1000 && state == TT_REPORT_PENDING && id[0]; ++i) {
        if (tt_report_status(client, id, &state) != TT_OK) break;
        usleep(20 * 1000);
    }
    show_report(client, id);
    int noticed = strcmp(tt_notice_get(client), "Sync is down for some users; a fix is on its way.") == 0;

    /* [doc:export] */
    /* "Save the report to a file" for a user without a network: a tar to send by other means. */
    char saved[TT_REPORT_ID_SIZE];
    tt_report_options eo = TT_REPORT_OPTIONS_INIT;
    eo.description = "sync fails; saved from the settings screen";
    rc = tt_report_export(client, &eo, "report.tar", saved);
    if (rc == TT_OK) printf("report %s saved to report.tar\n", saved);
    else fprintf(stderr, "not saved: %s\n", tt_error_last()->message);
    /* [/doc:export] */

    tt_close(client, 5000);
    loopback_stop(&server);
    return id[0] && state == TT_REPORT_SENT && noticed && known_before && rc == TT_OK && access("report.tar", R_OK) == 0 &&
                   loopback_reports(&server) == 1
               ? EXIT_SUCCESS
               : EXIT_FAILURE;
}
