/* The ABI rules seen from a caller: versioned structs, out-parameters first, destructors
 * that accept NULL, status codes that may be newer than the header. */
#include <stdio.h>

#include <telltale/telltale.h>

int main(void) {
    /* [doc:version] */
    /* Built against one header, running with whatever libtelltale.so.0 is installed: */
    printf("built with telltale %s, running with %s\n", TT_VERSION_STRING, tt_version());
    /* [/doc:version] */

    /* [doc:structs] */
    tt_options opts;
    tt_options_init(&opts); /* or: tt_options opts = TT_OPTIONS_INIT; - both set opts.version */
    opts.db_path = "abi.db";
    opts.app_name = "abi-sample";

    tt_client *client = NULL;
    tt_status rc = tt_open(&client, &opts); /* out-parameter first */

    tt_stats stats = TT_STATS_INIT; /* the library fills the fields of stats.version */
    if (rc == TT_OK) rc = tt_stats_get(client, &stats);
    /* [/doc:structs] */

    /* [doc:old] */
    /* An app built against the first header passes version 1: the library reads (for
     * tt_options) or fills (for tt_stats) only the fields version 1 had. */
    tt_stats old = TT_STATS_INIT;
    old.version = 1;
    old.requests = 12345; /* a version 2 field: a version 1 caller's struct ends before it */
    if (rc == TT_OK && tt_stats_get(client, &old) == TT_OK)
        printf("%llu events; requests left as it was: %llu\n", (unsigned long long)old.events,
               (unsigned long long)old.requests); /* 12345 */
    /* [/doc:old] */
    int old_ok = old.requests == 12345;

    /* [doc:unknown] */
    if (rc < 0) {
        /* Any negative status is a failure, even one newer than this header:
         * tt_status_name() then returns "TT_UNKNOWN" and the message still explains it. */
        fprintf(stderr, "%s: %s\n", tt_status_name(rc), tt_error_last()->message);
    }
    /* [/doc:unknown] */

    /* [doc:close] */
    tt_close(client, 2000); /* NULL is fine: no need to check whether tt_open succeeded */
    client = NULL;          /* a closed handle fails with TT_EMISUSE, but do not keep it */
    /* [/doc:close] */
    return rc == TT_OK && old_ok ? 0 : 1;
}
