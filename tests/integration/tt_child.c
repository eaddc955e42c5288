/* A separate process for the integration tests: what a real app does, killed or
 * restricted in ways a test cannot do to itself. Prints one line of results on stdout.
 *
 *   tt_child flush-then-wait DB N   log N events, flush, print "flushed", sleep until killed
 *   tt_child log-forever DB         log as fast as it can until killed
 *   tt_child log-n DB N TAG         log N events tagged TAG (retrying while the file is busy), close
 *   tt_child open-readonly DIR      (drops root) try to open DIR/tt.db in a read-only directory
 *   tt_child disk-full DB BYTES     cap file size at BYTES (RLIMIT_FSIZE), log until errors, print stats
 *   tt_child upload DB URL N        consent granted, log N events (seq attr), print "logged", keep uploading until killed
 *   tt_child upload-forever DB URL  consent granted, print "granted", log an event every ms until killed
 *   tt_child report DB URL          log a little, submit a report, print its id, wait to be killed
 */
#define _GNU_SOURCE
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <telltale/telltale.h>

static tt_client *open_db(const char *path) {
    tt_options o = TT_OPTIONS_INIT;
    o.db_path = path;
    o.app_name = "tt_child";
    tt_client *c = NULL;
    if (tt_open(&c, &o) != TT_OK) {
        const tt_error *e = tt_error_last();
        printf("open-failed %s %s | %s\n", tt_status_name(e->code), e->message, e->hint);
        exit(3);
    }
    return c;
}

static void log_seq(tt_client *c, const char *tag, unsigned long i, tt_full_policy block) {
    char seq[32];
    snprintf(seq, sizeof seq, "%lu", i);
    tt_attr a[2] = {{"tag", tag}, {"seq", seq}};
    (void)block;
    tt_log_attrs(c, TT_INFO, "child event with a message of a realistic length, about sixty", a, 2);
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *mode = argv[1];
    setvbuf(stdout, NULL, _IONBF, 0);
    if (!strcmp(mode, "flush-then-wait")) {
        tt_client *c = open_db(argv[2]);
        unsigned long n = strtoul(argv[3], NULL, 10);
        for (unsigned long i = 0; i < n; ++i) log_seq(c, "k", i, TT_FULL_DROP);
        if (tt_flush(c, 30000) != TT_OK) return 4;
        tt_stats s = TT_STATS_INIT;
        tt_stats_get(c, &s);
        printf("flushed %llu %llu\n", (unsigned long long)s.stored, (unsigned long long)s.dropped);
        for (;;) pause();
    }
    if (!strcmp(mode, "log-forever")) {
        tt_client *c = open_db(argv[2]);
        printf("started\n");
        for (unsigned long i = 0;; ++i) {
            log_seq(c, "f", i, TT_FULL_DROP);
            if ((i & 1023) == 0) usleep(100);
        }
    }
    if (!strcmp(mode, "log-n")) {
        tt_options o = TT_OPTIONS_INIT;
        o.db_path = argv[2];
        o.app_name = "tt_child";
        o.full_policy = TT_FULL_BLOCK; /* every event must arrive */
        tt_client *c = NULL;
        if (tt_open(&c, &o) != TT_OK) {
            const tt_error *e = tt_error_last();
            printf("open-failed %s %s\n", tt_status_name(e->code), e->message);
            return 3;
        }
        unsigned long n = strtoul(argv[3], NULL, 10);
        for (unsigned long i = 0; i < n; ++i) log_seq(c, argv[4], i, TT_FULL_BLOCK);
        tt_status fs = tt_flush(c, 60000);
        tt_stats s = TT_STATS_INIT;
        tt_stats_get(c, &s);
        tt_status cs = tt_close(c, 60000);
        printf("done %s %s logged=%llu stored=%llu dropped=%llu errors=%llu\n", tt_status_name(fs), tt_status_name(cs),
               (unsigned long long)s.logged, (unsigned long long)s.stored, (unsigned long long)s.dropped,
               (unsigned long long)s.store_errors);
        return 0;
    }
    if (!strcmp(mode, "open-readonly")) {
        const char *dir = argv[2];
        if (geteuid() == 0) {
            /* root writes anywhere: become nobody so the directory's mode applies */
            struct passwd *pw = getpwnam("nobody");
            uid_t uid = pw ? pw->pw_uid : 65534;
            gid_t gid = pw ? pw->pw_gid : 65534;
            if (setgid(gid) != 0 || setuid(uid) != 0) {
                printf("cannot-drop-root\n");
                return 5;
            }
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/tt.db", dir);
        tt_options o = TT_OPTIONS_INIT;
        o.db_path = path;
        o.app_name = "tt_child";
        tt_client *c = NULL;
        tt_status st = tt_open(&c, &o);
        const tt_error *e = tt_error_last();
        printf("%s|%s|%s|%s\n", tt_status_name(st), e->message, e->hint, e->doc);
        tt_close(c, 1000);
        return 0;
    }
    if (!strcmp(mode, "disk-full")) {
        signal(SIGXFSZ, SIG_IGN); /* get EFBIG from write(2) instead of being killed */
        tt_options o = TT_OPTIONS_INIT;
        o.db_path = argv[2];
        o.app_name = "tt_child";
        o.max_db_bytes = 1ull << 30; /* retention must not save us: the disk is "full" first */
        tt_client *c = NULL;
        if (tt_open(&c, &o) != TT_OK) return 3;
        struct rlimit rl;
        rl.rlim_cur = rl.rlim_max = strtoull(argv[3], NULL, 10);
        setrlimit(RLIMIT_FSIZE, &rl);
        unsigned long i = 0;
        tt_stats s = TT_STATS_INIT;
        for (int round = 0; round < 200; ++round) {
            for (int k = 0; k < 2000; ++k, ++i) log_seq(c, "d", i, TT_FULL_DROP);
            tt_flush(c, 30000);
            tt_stats_get(c, &s);
            if (s.store_errors > 3) break;
        }
        /* The app goes on: logging still answers, flush still returns. */
        tt_status after = tt_log(c, TT_INFO, "still alive");
        tt_status fl = tt_flush(c, 30000);
        tt_stats_get(c, &s);
        printf("logged=%llu stored=%llu dropped=%llu errors=%llu after=%s flush=%s\n", (unsigned long long)s.logged,
               (unsigned long long)s.stored, (unsigned long long)s.dropped, (unsigned long long)s.store_errors,
               tt_status_name(after), tt_status_name(fl));
        tt_close(c, 5000);
        return 0;
    }
    if (!strcmp(mode, "report")) {
        tt_options o = TT_OPTIONS_INIT;
        o.db_path = argv[2];
        o.app_name = "test";
        o.endpoint = argv[3];
        o.retry_base_ms = 10;
        tt_client *c = NULL;
        if (tt_open(&c, &o) != TT_OK) return 3;
        tt_log(c, TT_ERROR, "the thing broke");
        char id[TT_REPORT_ID_SIZE];
        if (tt_report_submit(c, NULL, id) != TT_OK) return 4;
        printf("%s\n", id);
        for (;;) pause();
    }
    if (!strcmp(mode, "upload")) {
        tt_options o = TT_OPTIONS_INIT;
        o.db_path = argv[2];
        o.app_name = "test";
        o.endpoint = argv[3];
        o.full_policy = TT_FULL_BLOCK;
        o.upload_interval_ms = 50;
        o.retry_base_ms = 10;
        o.upload_batch_events = 1000;
        o.consent_policy_version = "2026-11";
        tt_client *c = NULL;
        if (tt_open(&c, &o) != TT_OK) return 3;
        if (tt_consent_set(c, TT_CONSENT_GRANTED, NULL) != TT_OK) return 4;
        unsigned long n = strtoul(argv[4], NULL, 10);
        for (unsigned long i = 0; i < n; ++i) {
            char seq[32];
            snprintf(seq, sizeof seq, "%lu", i);
            tt_attr a[1] = {{"seq", seq}};
            tt_log_attrs(c, TT_INFO, "upload test event", a, 1);
        }
        tt_flush(c, 60000);
        printf("logged\n");
        for (;;) pause();
    }
    if (!strcmp(mode, "upload-forever")) {
        tt_options o = TT_OPTIONS_INIT;
        o.db_path = argv[2];
        o.app_name = "test";
        o.endpoint = argv[3];
        o.upload_interval_ms = 50;
        o.retry_base_ms = 10;
        o.consent_policy_version = "2026-11";
        tt_client *c = NULL;
        if (tt_open(&c, &o) != TT_OK) return 3;
        if (tt_consent_set(c, TT_CONSENT_GRANTED, NULL) != TT_OK) return 4;
        printf("granted\n");
        fflush(stdout);
        for (unsigned long i = 0;; ++i) {
            char seq[32];
            snprintf(seq, sizeof seq, "%lu", i);
            tt_attr a[1] = {{"seq", seq}};
            tt_log_attrs(c, TT_INFO, "upload test event", a, 1);
            usleep(1000);
        }
    }
    return 2;
}
