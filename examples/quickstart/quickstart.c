/* quickstart: open a buffer, log a few events, flush, print the stats.
 * Build against an installed telltale:  cc quickstart.c $(pkg-config --cflags --libs telltale) */
#include <stdio.h>
#include <stdlib.h>

#include <telltale/telltale.h>

static int fail(const char *what) {
    const tt_error *e = tt_error_last();
    fprintf(stderr, "%s failed: %s: %s\n  hint: %s\n  see %s\n", what, tt_status_name(e->code), e->message, e->hint, e->doc);
    return 1;
}

int main(int argc, char **argv) {
    tt_options opts = TT_OPTIONS_INIT;
    opts.db_path = argc > 1 ? argv[1] : "quickstart.db";
    opts.app_name = "quickstart";
    opts.app_version = "1.0.0";

    tt_client *client = NULL;
    if (tt_open(&client, &opts) != TT_OK) return fail("tt_open");

    tt_log(client, TT_INFO, "app started");
    tt_attr attrs[] = {{"user", "u-42"}, {"screen", "settings"}};
    tt_log_attrs(client, TT_INFO, "user opened a screen", attrs, 2);
    tt_log(client, TT_WARN, "slow response from the sync server");

    if (tt_flush(client, 5000) != TT_OK) return fail("tt_flush");

    tt_stats stats = TT_STATS_INIT;
    if (tt_stats_get(client, &stats) != TT_OK) return fail("tt_stats_get");
    printf("telltale %s: buffer %s\n", tt_version(), opts.db_path);
    printf("  logged %llu, stored %llu, dropped %llu, events in buffer %llu, %llu bytes on disk\n",
           (unsigned long long)stats.logged, (unsigned long long)stats.stored, (unsigned long long)stats.dropped,
           (unsigned long long)stats.events, (unsigned long long)stats.db_bytes);

    if (tt_close(client, 5000) != TT_OK) return fail("tt_close");
    return EXIT_SUCCESS;
}
