/* The telltale demo app: what a real app does, against the reference support backend.
 *   demo <backend URL> <buffer file>
 * It logs, makes real libcurl calls to the backend's demo API (instrumented with
 * tt_curl_begin/end, so each call carries a traceparent and its X-Reqid is recorded),
 * grants consent (saying so), uploads, files a problem report and prints how support
 * finds this client again. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <telltale/curl.h>
#include <telltale/telltale.h>
#include <time.h>

static int check(tt_status s, const char *what) {
    if (s == TT_OK) return 0;
    const tt_error *e = tt_error_last();
    fprintf(stderr, "demo: %s failed: %s (%s)\n  hint: %s\n", what, e->message, tt_status_name(s), e->hint);
    return 1;
}

static size_t discard(char *p, size_t s, size_t n, void *u) {
    (void)p;
    (void)u;
    return s * n;
}

/* Our header callback: tt_curl passes every response header on to it. */
static size_t header_cb(char *buf, size_t size, size_t n, void *user) {
    size_t len = size * n;
    if (len > 8 && strncasecmp(buf, "X-Reqid:", 8) == 0) {
        char *out = user;
        size_t v = 8;
        while (v < len && buf[v] == ' ') ++v;
        size_t k = 0;
        while (v < len && buf[v] != '\r' && buf[v] != '\n' && k < 63) out[k++] = buf[v++];
        out[k] = 0;
    }
    return len;
}

static void call(tt_client *c, const char *base, const char *path) {
    char url[512], reqid[64] = "";
    snprintf(url, sizeof url, "%s%s", base, path);
    CURL *easy = curl_easy_init();
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT, 10L);
    tt_curl *t = NULL;
    tt_curl_options o = TT_CURL_OPTIONS_INIT;
    o.header_fn = header_cb;
    o.header_data = reqid;
    if (check(tt_curl_begin(&t, c, easy, &o), "tt_curl_begin")) exit(1);
    CURLcode rc = curl_easy_perform(easy);
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status >= 400) tt_log(c, TT_ERROR, "sync request failed; the user saw an error");
    tt_curl_end(t, rc);
    curl_easy_cleanup(easy);
    printf("  GET %-22s -> HTTP %ld, X-Reqid %s\n", path, status, reqid[0] ? reqid : "(none)");
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: demo <backend URL> <buffer file>\n");
        return 2;
    }
    const char *base = argv[1];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    tt_options opts = TT_OPTIONS_INIT;
    opts.db_path = argv[2];
    opts.app_name = "telltale-demo";
    opts.app_version = "1.0.0";
    opts.endpoint = base;
    opts.upload_interval_ms = 200;
    tt_client *c = NULL;
    if (check(tt_open(&c, &opts), "tt_open")) return 1;

    tt_log(c, TT_INFO, "demo app started");
    tt_attr screen[] = {{"screen", "sync"}};
    tt_log_attrs(c, TT_INFO, "user opened a screen", screen, 1);

    printf("The user ticked \"help improve this app\": granting consent, so logs may be uploaded.\n");
    if (check(tt_consent_set(c, TT_CONSENT_GRANTED, NULL), "tt_consent_set")) return 1;

    printf("Calling the app's server (the backend's demo API), each call traced:\n");
    call(c, base, "/demo/api");
    call(c, base, "/demo/api?page=2");
    call(c, base, "/demo/api?fail=1");

    if (check(tt_flush(c, 5000), "tt_flush") || check(tt_upload_flush(c, 20000), "tt_upload_flush")) return 1;
    tt_stats st = TT_STATS_INIT;
    tt_stats_get(c, &st);
    printf("Uploaded %llu log events and %llu requests.\n", (unsigned long long)st.uploaded, (unsigned long long)st.spans_uploaded);

    printf("The user pressed \"Report a problem\": \"sync fails\".\n");
    tt_report_options ro = TT_REPORT_OPTIONS_INIT;
    ro.description = "sync fails";
    char id[TT_REPORT_ID_SIZE];
    if (check(tt_report_submit(c, &ro, id), "tt_report_submit")) return 1;
    tt_report_state state = TT_REPORT_PENDING;
    for (int i = 0; i < 300 && state == TT_REPORT_PENDING; ++i) {
        tt_report_status(c, id, &state);
        if (state == TT_REPORT_PENDING) nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    }
    if (state != TT_REPORT_SENT) {
        fprintf(stderr, "demo: the report was not delivered: %s\n", tt_error_last()->message);
        return 1;
    }
    printf("\nReport id (what the user quotes): %s\n", id);
    const char *notice = tt_notice_get(c);
    if (notice[0]) printf("The backend says: %s\n", notice);
    printf("Support console:                  %s/?q=%s\n", base, id);
    printf("Look the client up:               curl -s '%s/api/lookup?q=%s'\n", base, id);
    tt_close(c, 5000);
    curl_global_cleanup();
    return 0;
}
