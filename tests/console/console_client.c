/* The client side of the console test: a tiny app using the real library (public C ABI)
 * against the real support backend, so the browser test searches for ids a real client made.
 *   console_client <backend URL> <buffer file> [<ingest token>]
 * It logs, makes two traced libcurl calls to the backend's /demo/api (one answered 200,
 * one 503, each with an X-Reqid) through the tt_curl helper, grants consent, uploads,
 * files a report and prints, one per line, what support will search for:
 *   report_id=...  trace_id=...  reqid=...  ok_reqid=...
 * Exits non-zero, saying why, when any step fails. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <telltale/curl.h>
#include <telltale/telltale.h>
#include <time.h>

static void must(tt_status s, const char *what) {
    if (s == TT_OK) return;
    const tt_error *e = tt_error_last();
    fprintf(stderr, "console_client: %s failed: %s (%s)\n  hint: %s\n", what, e->message, tt_status_name(s), e->hint);
    exit(1);
}

static size_t discard(char *p, size_t s, size_t n, void *u) {
    (void)p;
    (void)u;
    return s * n;
}

/* Our own header callback (tt_curl passes every response header on): keeps X-Reqid. */
static size_t header_cb(char *buf, size_t size, size_t n, void *user) {
    size_t len = size * n;
    if (len > 8 && strncasecmp(buf, "X-Reqid:", 8) == 0) {
        char *out = user;
        size_t v = 8, k = 0;
        while (v < len && buf[v] == ' ') ++v;
        while (v < len && buf[v] != '\r' && buf[v] != '\n' && k < 63) out[k++] = buf[v++];
        out[k] = 0;
    }
    return len;
}

/* One traced call; fills reqid (the server's X-Reqid) and trace (32 hex, from traceparent). */
static long call(tt_client *c, const char *url, char reqid[64], char trace[33]) {
    CURL *easy = curl_easy_init();
    if (!easy) {
        fprintf(stderr, "console_client: curl_easy_init failed\n");
        exit(1);
    }
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(easy, CURLOPT_NOPROXY, "*"); /* loopback only, whatever the environment says */
    reqid[0] = 0;
    tt_curl *t = NULL;
    tt_curl_options o = TT_CURL_OPTIONS_INIT;
    o.header_fn = header_cb;
    o.header_data = reqid;
    must(tt_curl_begin(&t, c, easy, &o), "tt_curl_begin");
    const char *tp = tt_curl_traceparent(t); /* 00-<32 hex trace id>-<16 hex span id>-01 */
    if (strlen(tp) < 35) {
        fprintf(stderr, "console_client: unexpected traceparent \"%s\"\n", tp);
        exit(1);
    }
    memcpy(trace, tp + 3, 32);
    trace[32] = 0;
    CURLcode rc = curl_easy_perform(easy);
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status >= 400) must(tt_log(c, TT_WARN, "console-e2e: sync failed, will retry"), "tt_log");
    must(tt_curl_end(t, rc), "tt_curl_end");
    curl_easy_cleanup(easy);
    if (rc != CURLE_OK) {
        fprintf(stderr, "console_client: GET %s: %s\n", url, curl_easy_strerror(rc));
        exit(1);
    }
    return status;
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: console_client <backend URL> <buffer file> [<ingest token>]\n");
        return 2;
    }
    const char *base = argv[1];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    tt_options opts = TT_OPTIONS_INIT;
    opts.db_path = argv[2];
    opts.app_name = "console-e2e";
    opts.app_version = "4.5.6";
    opts.endpoint = base;
    opts.auth_token = argc == 4 ? argv[3] : NULL;
    opts.upload_interval_ms = 100;
    opts.retry_base_ms = 50;
    opts.retry_max_ms = 1000;
    opts.upload_timeout_ms = 30000;
    tt_client *c = NULL;
    must(tt_open(&c, &opts), "tt_open");
    must(tt_consent_set(c, TT_CONSENT_GRANTED, NULL), "tt_consent_set");

    must(tt_log(c, TT_INFO, "console-e2e: app started"), "tt_log");
    tt_attr screen[] = {{"screen", "sync"}};
    must(tt_log_attrs(c, TT_INFO, "console-e2e: user opened the sync screen", screen, 1), "tt_log_attrs");

    char url[1024], ok_reqid[64], ok_trace[33], reqid[64], trace[33];
    snprintf(url, sizeof url, "%s/demo/api?page=1", base);
    long s1 = call(c, url, ok_reqid, ok_trace);
    snprintf(url, sizeof url, "%s/demo/api?fail=1", base);
    long s2 = call(c, url, reqid, trace);
    if (s1 != 200 || s2 != 503 || !ok_reqid[0] || !reqid[0]) {
        fprintf(stderr, "console_client: the demo API answered %ld (X-Reqid \"%s\") and %ld (X-Reqid \"%s\"), expected 200 and 503 with ids\n",
                s1, ok_reqid, s2, reqid);
        return 1;
    }
    tt_attr attempt[] = {{"attempt", "3"}};
    must(tt_log_attrs(c, TT_ERROR, "console-e2e: sync gave up after 3 attempts (item 4711)", attempt, 1), "tt_log_attrs");

    must(tt_flush(c, 30000), "tt_flush");
    must(tt_upload_flush(c, 120000), "tt_upload_flush");

    tt_report_options ro = TT_REPORT_OPTIONS_INIT;
    ro.description = "console-e2e: sync does not work";
    char id[TT_REPORT_ID_SIZE];
    must(tt_report_submit(c, &ro, id), "tt_report_submit");
    tt_report_state state = TT_REPORT_PENDING;
    for (int i = 0; i < 2400 && state == TT_REPORT_PENDING; ++i) { /* up to 120 s on a loaded machine */
        must(tt_report_status(c, id, &state), "tt_report_status");
        if (state == TT_REPORT_PENDING) nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    }
    if (state != TT_REPORT_SENT) {
        fprintf(stderr, "console_client: the report was not delivered (state %d): %s\n", (int)state, tt_error_last()->message);
        return 1;
    }
    printf("report_id=%s\ntrace_id=%s\nreqid=%s\nok_reqid=%s\n", id, trace, reqid, ok_reqid);
    fflush(stdout);
    must(tt_close(c, 30000), "tt_close");
    curl_global_cleanup();
    return 0;
}
