/* tt_rss: resident memory of an idle open client, measured in a fresh process.
 *
 *   tt_rss DB [QUEUE_BYTES]
 *
 * Prints one JSON object (kB, from VmRSS in /proc/self/status):
 *   before           the process with libtelltale loaded, before tt_open
 *   open             right after tt_open (store opened, writer thread started)
 *   idle             after 300 ms of doing nothing (the writer thread has settled)
 *   after_log        after this thread's first tt_log + tt_flush (its ring exists now)
 *   after_stats      after a tt_stats_get (opens the reader connection)
 *   after_close      after tt_close
 *   idle_delta_kb    idle - before: what an idle open client costs
 * Written in C against the public header only, like the quickstart. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <telltale/telltale.h>

static long rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int fail(const char *what) {
    const tt_error *e = tt_error_last();
    fprintf(stderr, "%s failed: %s: %s\n", what, tt_status_name(e->code), e->message);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: tt_rss DB [QUEUE_BYTES]\n");
        return 2;
    }
    tt_options opts = TT_OPTIONS_INIT;
    opts.db_path = argv[1];
    opts.app_name = "tt_rss";
    opts.max_db_bytes = 256ull << 20;
    if (argc > 2) opts.queue_bytes = (uint32_t)strtoul(argv[2], NULL, 10);

    (void)tt_version(); /* touch the library so its pages count in "before" */
    long before = rss_kb();
    tt_client *c = NULL;
    if (tt_open(&c, &opts) != TT_OK) return fail("tt_open");
    long open = rss_kb();
    sleep_ms(300);
    long idle = rss_kb();
    tt_attr attrs[] = {{"user", "u-4242"}, {"screen", "settings/sync"}};
    if (tt_log_attrs(c, TT_INFO, "sync: uploaded folder manifest to the server, 3 parts, cache", attrs, 2) != TT_OK)
        return fail("tt_log_attrs");
    if (tt_flush(c, 10000) != TT_OK) return fail("tt_flush");
    long after_log = rss_kb();
    tt_stats s = TT_STATS_INIT;
    if (tt_stats_get(c, &s) != TT_OK) return fail("tt_stats_get");
    long after_stats = rss_kb();
    if (tt_close(c, 10000) != TT_OK) return fail("tt_close");
    long after_close = rss_kb();
    printf("{\"db\":\"%s\",\"db_bytes\":%llu,\"events\":%llu,\"before_kb\":%ld,\"open_kb\":%ld,\"idle_kb\":%ld,"
           "\"after_log_kb\":%ld,\"after_stats_kb\":%ld,\"after_close_kb\":%ld,\"idle_delta_kb\":%ld,\"after_log_delta_kb\":%ld}\n",
           argv[1], (unsigned long long)s.db_bytes, (unsigned long long)s.events, before, open, idle, after_log, after_stats,
           after_close, idle - before, after_log - before);
    return 0;
}
