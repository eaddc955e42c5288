/* Getting started in C: open a buffer, log, flush, read the stats, close. */
#include <stdio.h>
#include <stdlib.h>

#include <telltale/telltale.h>

/* [doc:report] */
/* Print this thread's last telltale failure: what happened, what to do, where it is explained. */
static int report(const char *call, tt_status rc) {
    const tt_error *e = tt_error_last();
    fprintf(stderr, "%s failed: %s: %s\n  hint: %s\n  see %s\n", call, tt_status_name(rc), e->message, e->hint, e->doc);
    return EXIT_FAILURE;
}
/* [/doc:report] */

int main(void) {
    tt_options opts = TT_OPTIONS_INIT; /* sets opts.version; every other field 0 means "default" */
    opts.db_path = "app.db";           /* created with mode 0600 if missing */
    opts.app_name = "getting-started";
    opts.app_version = "1.0.0";

    tt_client *client = NULL;
    tt_status rc = tt_open(&client, &opts);
    if (rc != TT_OK) return report("tt_open", rc);

    tt_log(client, TT_INFO, "app started");
    tt_attr attrs[] = {{"user", "u-42"}, {"screen", "settings"}};
    tt_log_attrs(client, TT_INFO, "user opened a screen", attrs, 2);
    if (tt_log(client, TT_WARN, "slow response from the sync server") == TT_EFULL) {
        /* Dropped: this thread's queue was full. Already counted in tt_stats.dropped. */
    }

    rc = tt_flush(client, 5000); /* everything logged so far is now in app.db */
    if (rc != TT_OK) report("tt_flush", rc);

    tt_stats stats = TT_STATS_INIT;
    rc = tt_stats_get(client, &stats);
    if (rc != TT_OK) report("tt_stats_get", rc);
    else
        printf("logged %llu, stored %llu, dropped %llu; %llu events in the buffer\n", (unsigned long long)stats.logged,
               (unsigned long long)stats.stored, (unsigned long long)stats.dropped, (unsigned long long)stats.events);

    rc = tt_close(client, 5000); /* always frees the client, even on TT_ETIMEOUT */
    client = NULL;
    if (rc != TT_OK) return report("tt_close", rc);
    return EXIT_SUCCESS;
}
