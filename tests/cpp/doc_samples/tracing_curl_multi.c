/* Trace transfers of libcurl's multi interface: begin each one DETACHED, end it when
 * curl_multi_info_read reports it done. */
#include <stdio.h>
#include <stdlib.h>

#include <curl/curl.h>
#include <telltale/curl.h>

#include "loopback.h"

static size_t ignore_body(char *data, size_t size, size_t n, void *user) {
    (void)data;
    (void)user;
    return size * n;
}

/* [doc:multi] */
/* Fetch n URLs at once; each transfer is recorded as its own request. */
static void fetch_all(tt_client *client, const char *const *urls, int n) {
    CURLM *multi = curl_multi_init();
    for (int i = 0; i < n; ++i) {
        CURL *easy = curl_easy_init();
        curl_easy_setopt(easy, CURLOPT_URL, urls[i]);
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, ignore_body);
        curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10000L);

        tt_curl_options o = TT_CURL_OPTIONS_INIT;
        o.flags = TT_REQUEST_DETACHED; /* many transfers at once: none becomes this thread's context */
        tt_curl *traced = NULL;
        if (tt_curl_begin(&traced, client, easy, &o) != TT_OK) traced = NULL;
        curl_easy_setopt(easy, CURLOPT_PRIVATE, (void *)traced); /* find it again when the transfer is done */
        curl_multi_add_handle(multi, easy);
    }

    int running = n;
    while (running > 0) {
        curl_multi_perform(multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE) continue;
            CURL *easy = msg->easy_handle;
            CURLcode result = msg->data.result; /* this transfer's result */
            char *traced = NULL;
            curl_easy_getinfo(easy, CURLINFO_PRIVATE, &traced);
            if (traced) tt_curl_end((tt_curl *)traced, result); /* before curl_easy_cleanup: it reads the handle */
            curl_multi_remove_handle(multi, easy);
            curl_easy_cleanup(easy);
        }
        if (running > 0) curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
    curl_multi_cleanup(multi);
}
/* [/doc:multi] */

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    loopback server;
    if (loopback_start(&server) != 0) return EXIT_FAILURE;

    tt_options opts = TT_OPTIONS_INIT;
    opts.db_path = "app.db";
    opts.app_name = "tracing";
    opts.url_query_keys = "page"; /* recorded as /api/items?page=1 and ?page=2 */
    tt_client *client = NULL;
    if (tt_open(&client, &opts) != TT_OK) return EXIT_FAILURE;

    char a[128], b[128], c[128], refused[128];
    snprintf(a, sizeof a, "http://127.0.0.1:%d/api/items?page=1", server.port);
    snprintf(b, sizeof b, "http://127.0.0.1:%d/api/items?page=2", server.port);
    snprintf(c, sizeof c, "http://127.0.0.1:%d/api/users", server.port);
    snprintf(refused, sizeof refused, "http://127.0.0.1:%d/api/items", loopback_closed_port());
    const char *const urls[] = {a, b, c, refused};

    /* [doc:span] */
    tt_span *sync = NULL;
    tt_span_begin(&sync, client, "sync"); /* the transfers begun below become its children */
    fetch_all(client, urls, 4);
    tt_span_end(sync, NULL);
    /* [/doc:span] */

    tt_flush(client, 5000);
    tt_stats stats = TT_STATS_INIT;
    tt_stats_get(client, &stats);
    printf("%llu records (4 transfers and the span), %d answered by the server\n", (unsigned long long)stats.requests,
           server.served);
    tt_close(client, 5000);
    loopback_stop(&server);
    curl_global_cleanup();
    return stats.requests == 5 && server.served == 3 ? EXIT_SUCCESS : EXIT_FAILURE;
}
