/* Trace an HTTP call made with any HTTP code: the plain tt_request API. app_http_get()
 * (in loopback.h) stands for the app's own HTTP function. */
#include <stdio.h>
#include <stdlib.h>

#include <telltale/telltale.h>

#include "loopback.h"

/* [doc:plain] */
/* Your HTTP code calls this for every response header: telltale keeps the id headers. */
static void on_header(const char *name, const char *value, void *user) {
    tt_request_header((tt_request *)user, name, value);
}

static int get_items(tt_client *client, const char *url) {
    tt_request *req = NULL;
    if (tt_request_begin(&req, client, "GET", url) != TT_OK) req = NULL; /* never stop the call for diagnostics */

    const char *error = NULL; /* set by app_http_get when no response arrived */
    int status = app_http_get(url, "traceparent", req ? tt_request_traceparent(req) : NULL, /* send it along */
                              on_header, req, &error);
    tt_log(client, TT_INFO, "items fetched"); /* still inside the request: carries its trace id */

    if (req) tt_request_end(req, status, error); /* status 0 and the error text when the call failed */
    return status;
}
/* [/doc:plain] */

int main(void) {
    loopback server;
    if (loopback_start(&server) != 0) return EXIT_FAILURE;

    tt_options opts = TT_OPTIONS_INIT;
    opts.db_path = "app.db";
    opts.app_name = "getting-started";
    tt_client *client = NULL;
    if (tt_open(&client, &opts) != TT_OK) return EXIT_FAILURE;

    char ok_url[128], refused_url[128];
    snprintf(ok_url, sizeof ok_url, "http://127.0.0.1:%d/api/items", server.port);
    snprintf(refused_url, sizeof refused_url, "http://127.0.0.1:%d/api/items", loopback_closed_port());
    int status = get_items(client, ok_url);
    int refused = get_items(client, refused_url);

    tt_flush(client, 5000);
    tt_stats stats = TT_STATS_INIT;
    tt_stats_get(client, &stats);
    printf("statuses %d and %d; %llu requests recorded\n", status, refused, (unsigned long long)stats.requests);
    tt_close(client, 5000);
    loopback_stop(&server);
    int fine = status == 200 && refused == 0 && stats.requests == 2 && strlen(server.last_traceparent) == 55;
    return fine ? EXIT_SUCCESS : EXIT_FAILURE;
}
