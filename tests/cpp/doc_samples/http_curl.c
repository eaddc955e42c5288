/* Trace an HTTP call made with libcurl's easy interface: the helper in telltale/curl.h. */
#include <stdio.h>
#include <stdlib.h>

#include <curl/curl.h>
#include <telltale/curl.h>

#include "loopback.h"

/* [doc:curl] */
static size_t ignore_body(char *data, size_t size, size_t n, void *user) {
    (void)data;
    (void)user;
    return size * n;
}

/* One GET with libcurl, recorded by telltale: the traceparent is sent, the server's
 * request ids, the status or curl's error, the timing and the bytes are kept. */
static CURLcode get_items(tt_client *client, const char *url) {
    CURL *easy = curl_easy_init();
    if (!easy) return CURLE_FAILED_INIT;
    struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, ignore_body);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10000L);

    tt_curl_options o = TT_CURL_OPTIONS_INIT;
    o.headers = headers; /* your CURLOPT_HTTPHEADER list: give it to telltale instead of to curl */
    tt_curl *traced = NULL;
    if (tt_curl_begin(&traced, client, easy, &o) != TT_OK) {
        traced = NULL; /* diagnostics never stop the call: go on without them */
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    }

    tt_log(client, TT_DEBUG, "fetching items"); /* logged inside the request: carries its trace id */
    CURLcode rc = curl_easy_perform(easy);
    if (traced) tt_curl_end(traced, rc); /* records it and gives the handle your options back */

    curl_slist_free_all(headers);
    curl_easy_cleanup(easy);
    return rc;
}
/* [/doc:curl] */

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    loopback server;
    if (loopback_start(&server) != 0) return EXIT_FAILURE;

    tt_options opts = TT_OPTIONS_INIT;
    opts.db_path = "app.db";
    opts.app_name = "getting-started";
    tt_client *client = NULL;
    if (tt_open(&client, &opts) != TT_OK) return EXIT_FAILURE;

    char ok_url[128], refused_url[128];
    snprintf(ok_url, sizeof ok_url, "http://127.0.0.1:%d/api/items?page=2&token=SECRET", server.port);
    snprintf(refused_url, sizeof refused_url, "http://127.0.0.1:%d/api/items", loopback_closed_port());
    /* [doc:calls] */
    CURLcode rc = get_items(client, ok_url);           /* 200: recorded with the server's X-Request-Id */
    CURLcode refused = get_items(client, refused_url); /* nothing listens: status 0, "Couldn't connect to server (CURLE 7)" */
    /* [/doc:calls] */

    tt_flush(client, 5000);
    tt_stats stats = TT_STATS_INIT;
    tt_stats_get(client, &stats);
    printf("first call: %s; second call: %s; %llu requests recorded\n", curl_easy_strerror(rc), curl_easy_strerror(refused),
           (unsigned long long)stats.requests);
    tt_close(client, 5000);
    loopback_stop(&server);
    curl_global_cleanup();

    int fine = rc == CURLE_OK && refused == CURLE_COULDNT_CONNECT && stats.requests == 2 && server.served == 1 &&
               strlen(server.last_traceparent) == 55;
    return fine ? EXIT_SUCCESS : EXIT_FAILURE;
}
