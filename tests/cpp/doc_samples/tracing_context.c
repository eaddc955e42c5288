/* Carry the trace context to another thread in C: tt_context_get here, tt_context_set there. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <telltale/telltale.h>

/* [doc:thread] */
struct job {
    tt_client *client;
    tt_context ctx; /* the trace context of the thread that handed the job over */
};

static void *worker(void *arg) {
    struct job *job = arg;
    tt_context_set(&job->ctx); /* from here on this thread logs into the caller's trace */
    tt_log(job->client, TT_INFO, "saving on a worker");
    tt_span *span = NULL;
    if (tt_span_begin(&span, job->client, "write file") == TT_OK) /* a child of the caller's span */
        tt_span_end(span, NULL);
    tt_context_set(NULL); /* done: no context again */
    return NULL;
}

static int save_in_background(tt_client *client, struct job *job, pthread_t *thread) {
    job->client = client;
    tt_context_get(&job->ctx); /* this thread's open request or span (job->ctx.valid == 0: none) */
    return pthread_create(thread, NULL, worker, job);
}
/* [/doc:thread] */

int main(void) {
    tt_options opts = TT_OPTIONS_INIT;
    opts.db_path = "app.db";
    opts.app_name = "tracing";
    tt_client *client = NULL;
    if (tt_open(&client, &opts) != TT_OK) return EXIT_FAILURE;

    tt_span *save = NULL;
    tt_span_begin(&save, client, "save document");
    struct job job;
    pthread_t thread;
    int started = save_in_background(client, &job, &thread) == 0;
    if (started) pthread_join(thread, NULL);
    tt_span_end(save, NULL);

    tt_flush(client, 5000);
    tt_stats stats = TT_STATS_INIT;
    tt_stats_get(client, &stats);
    printf("%llu spans recorded\n", (unsigned long long)stats.requests);
    tt_close(client, 5000);
    return started && job.ctx.valid && stats.requests == 2 ? EXIT_SUCCESS : EXIT_FAILURE;
}
