/*
 * telltale.h - the whole C ABI of telltale, an embeddable client diagnostics library.
 *
 * This header is the contract. Everything not declared here is private and may change.
 * Rules (see docs/abi.md):
 *   - status codes are only ever appended;
 *   - versioned structs (tt_options, tt_stats) only grow at the end; set `version` with
 *     the TT_*_INIT macro or the tt_*_init() function so an older caller keeps working;
 *   - out-parameters come first; destructors accept NULL;
 *   - every function is safe to call from any thread unless its comment says otherwise.
 *
 * Errors: every function returning tt_status returns TT_OK (0) or a negative code and
 * then fills this thread's tt_error_last() with a message in plain words, a hint saying
 * what to do and a link into docs/errors.md.
 */
#ifndef TELLTALE_H
#define TELLTALE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  define TT_API __declspec(dllimport)
#elif defined(__GNUC__)
#  define TT_API __attribute__((visibility("default")))
#else
#  define TT_API
#endif

#define TT_VERSION_MAJOR 0
#define TT_VERSION_MINOR 1
#define TT_VERSION_PATCH 0
#define TT_VERSION_STRING "0.1.0"

/* C++ callers see every entry point as noexcept: none of them ever throws. */
#if defined(__cplusplus)
#  define TT_NOEXCEPT noexcept
#else
#  define TT_NOEXCEPT
#endif

/* ---------------------------------------------------------------- errors */

typedef int tt_status;

/* Append-only. Never renumbered, never reused. */
#define TT_OK          0
#define TT_EINVAL     -1  /* a bad argument: NULL where a value is needed, a bad level, ... */
#define TT_EMISUSE    -2  /* the API was used the wrong way: client used after tt_close, file opened twice */
#define TT_ESTORE     -3  /* the SQLite buffer could not be opened, read or written */
#define TT_EFULL      -4  /* this thread's queue was full: the event was dropped and counted */
#define TT_ENOCONSENT -5  /* the user has not agreed to share usage data */
#define TT_ENET       -6  /* the network or the server failed */
#define TT_EIO        -7  /* a file other than the buffer could not be read or written */
#define TT_ENOMEM     -8  /* out of memory */
#define TT_ETIMEOUT   -9  /* the operation did not finish within the given time */
#define TT_ENOTFOUND -10  /* no such item (report id, ...) */
#define TT_ECORRUPT  -11  /* a damaged file was found (and, for the buffer, moved aside) */
#define TT_ELIMIT    -12  /* a configured cap was exceeded */
#define TT_ECANCELED -13  /* the app's own callback called it off (before_send vetoed an export) */

typedef struct tt_error {
    tt_status code;      /* TT_OK when this thread has had no failure yet */
    const char *message; /* what went wrong, in plain words; never NULL */
    const char *hint;    /* what to do about it; never NULL (may be "") */
    const char *doc;     /* "docs/errors.md#estore"; never NULL */
} tt_error;

/* This thread's last failure. Never NULL. Successful calls do not clear it, so read it
 * right after a call returned an error (tt_open is the exception: it starts by clearing
 * it, so after TT_OK it holds TT_OK or tt_open's TT_ECORRUPT recovery note).
 * Valid until this thread's next telltale call. */
TT_API const tt_error *tt_error_last(void) TT_NOEXCEPT;

/* "TT_EINVAL" for TT_EINVAL; "TT_UNKNOWN" for a code this version does not know. Never NULL. */
TT_API const char *tt_status_name(tt_status s) TT_NOEXCEPT;

/* One sentence describing the status code in general. Never NULL. */
TT_API const char *tt_status_describe(tt_status s) TT_NOEXCEPT;

/* "MAJOR.MINOR.PATCH" of the library actually loaded. */
TT_API const char *tt_version(void) TT_NOEXCEPT;

/* ---------------------------------------------------------------- client */

typedef struct tt_client tt_client;

struct tt_report_draft;
/* See tt_report_draft_manifest: return 0 to send the report, anything else to veto it. */
typedef int (*tt_before_send_fn)(void *user_data, struct tt_report_draft *draft);

#define TT_REPORTS_OFF 1u /* tt_options.report_flags: the app offers no user reports */

/* Numbers are OpenTelemetry severity numbers. Any value in 1..24 is accepted. */
typedef enum tt_level {
    TT_TRACE = 1,
    TT_DEBUG = 5,
    TT_INFO = 9,
    TT_WARN = 13,
    TT_ERROR = 17,
    TT_FATAL = 21
} tt_level;

/* What a log call does when its thread's queue is full. */
typedef enum tt_full_policy {
    TT_FULL_DROP = 0,  /* drop the event, count it in tt_stats.dropped, return TT_EFULL (default) */
    TT_FULL_BLOCK = 1  /* wait for the writer thread to make room (never use on a UI thread) */
} tt_full_policy;

#define TT_OPTIONS_VERSION 4

/* How upload bodies are compressed. */
typedef enum tt_codec {
    TT_CODEC_ZSTD = 0,  /* default: smallest, and OTLP/HTTP collectors accept it */
    TT_CODEC_GZIP = 1,
    TT_CODEC_NONE = 2
} tt_codec;

#define TT_CONSENT_KEEP_ON_POLICY_CHANGE 1u  /* an answer stays valid when the policy version changes */

typedef struct tt_options {
    unsigned version;            /* TT_OPTIONS_VERSION */
    const char *db_path;         /* required: the SQLite buffer file (created 0600 if missing) */
    const char *app_name;        /* required */
    const char *app_version;     /* optional */
    const char *endpoint;        /* support backend base URL; NULL: nothing is ever uploaded */
    uint64_t max_db_bytes;       /* retention cap, oldest dropped first; 0: 64 MiB */
    uint32_t max_age_s;          /* events older than this are deleted; 0: 7 days */
    uint32_t upload_interval_ms; /* how often the uploader looks for work; 0: 30000 */
    uint32_t retry_base_ms;      /* first backoff step; 0: 1000 */
    uint32_t retry_max_ms;       /* backoff cap (Retry-After may ask for longer); 0: 300000 */
    uint32_t queue_bytes;        /* per producer thread ring size, rounded up to a power of two; 0: 1 MiB */
    uint32_t batch_size;         /* most events per SQLite transaction; 0: 4096 */
    uint32_t max_message_bytes;  /* longer messages are truncated with a marker; 0: 8192 */
    uint32_t max_attr_bytes;     /* longer attribute values are truncated with a marker; 0: 1024 */
    uint32_t max_attrs;          /* attributes beyond this are dropped and counted; 0: 32 */
    uint32_t commit_interval_ms; /* longest time an event waits in memory before its commit; 0: 50.
                                  * After 1 s without events the writer sleeps: the next WARN
                                  * or worse wakes it, a DEBUG/INFO waits up to 1 s (so that
                                  * it costs the caller no system call). tt_flush: at once. */
    tt_full_policy full_policy;  /* TT_FULL_DROP (default) or TT_FULL_BLOCK */
    /* version 2 */
    const char *request_id_headers; /* extra response headers to capture, comma-separated; NULL: none */
    const char *url_query_keys;     /* query keys kept in recorded URLs, comma-separated; NULL: none */
    /* version 3: uploads and consent */
    const char *auth_token;         /* sent as "Authorization: Bearer <token>"; NULL: none */
    const char *ca_file;            /* CA bundle for the endpoint's TLS (always verified); NULL: system CAs */
    const char *proxy;              /* e.g. "http://proxy:3128"; NULL: libcurl's usual environment variables */
    tt_codec compression;           /* TT_CODEC_ZSTD (default), TT_CODEC_GZIP or TT_CODEC_NONE */
    uint32_t upload_timeout_ms;     /* one upload request, all in; 0: 30000 */
    uint32_t upload_batch_events;   /* most events (or requests) per upload; 0: 2000 */
    uint64_t max_upload_bytes_per_hour; /* compressed bytes; 0: 64 MiB */
    const char *consent_policy_version; /* the privacy policy the app shows now; NULL: "" */
    unsigned consent_flags;         /* TT_CONSENT_KEEP_ON_POLICY_CHANGE */
    /* version 4: reports */
    unsigned report_flags;          /* TT_REPORTS_OFF */
    tt_before_send_fn before_send;  /* edit or veto a report before it is sent; NULL: none */
    void *before_send_data;         /* passed to before_send */
    uint32_t max_pending_reports;   /* reports waiting to be sent; the oldest is dropped (and says so); 0: 20 */
} tt_options;

#define TT_OPTIONS_INIT {TT_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, TT_FULL_DROP, NULL, NULL, \
                         NULL, NULL, NULL, TT_CODEC_ZSTD, 0, 0, 0, NULL, 0, 0, NULL, NULL, 0}

/* Zero the struct and set its version. Always succeeds for non-NULL opts. */
TT_API void tt_options_init(tt_options *opts) TT_NOEXCEPT;

/* Open (or create) the buffer at opts->db_path and start the writer thread.
 * Errors: TT_EINVAL (NULL out/opts, missing db_path or app_name), TT_EMISUSE (unknown
 * opts->version, the same file already open in this process), TT_ESTORE (cannot create
 * or open the file), TT_ENOMEM.
 * A damaged or non-SQLite file is moved aside as "<db>.corrupt-<time>" and a fresh buffer
 * is started: tt_open then returns TT_OK, tt_error_last() holds a TT_ECORRUPT note naming
 * the moved file, and tt_stats.corrupt_recovered counts it. */
TT_API tt_status tt_open(tt_client **out, const tt_options *opts) TT_NOEXCEPT;

/* Return once everything logged (by any thread) before this call is committed to SQLite,
 * or TT_ETIMEOUT after timeout_ms. Events that could not be stored (disk full) count as
 * dropped; tt_flush still returns TT_OK for them, check tt_stats. */
TT_API tt_status tt_flush(tt_client *c, uint32_t timeout_ms) TT_NOEXCEPT;

/* Flush (up to timeout_ms), stop the threads and free the client. NULL is fine.
 * Always frees the client, even when it returns TT_ETIMEOUT (events not yet committed
 * are then counted as dropped). Using c afterwards fails with TT_EMISUSE. */
TT_API tt_status tt_close(tt_client *c, uint32_t timeout_ms) TT_NOEXCEPT;

/* ---------------------------------------------------------------- logging */

typedef struct tt_attr {
    const char *key;
    const char *value;
} tt_attr;

/* Copy the event into this thread's queue and return; a writer thread stores it.
 * Never blocks with TT_FULL_DROP, takes no lock and allocates nothing after this
 * thread's first call on c. Long text is truncated with a marker, invalid UTF-8 is
 * repaired (U+FFFD); neither is an error.
 * Errors: TT_EMISUSE (NULL or closed client), TT_EINVAL (NULL msg, level outside 1..24,
 * attrs NULL with n > 0, an attribute with a NULL key), TT_EFULL (dropped and counted). */
TT_API tt_status tt_log(tt_client *c, tt_level level, const char *msg) TT_NOEXCEPT;
TT_API tt_status tt_log_attrs(tt_client *c, tt_level level, const char *msg, const tt_attr *attrs, size_t n) TT_NOEXCEPT;

/* ---------------------------------------------------------------- stats */

#define TT_STATS_VERSION 3

typedef struct tt_stats {
    unsigned version;           /* TT_STATS_VERSION */
    /* since tt_open, this client: */
    uint64_t logged;            /* log calls accepted (stored + dropped + still queued) */
    uint64_t dropped;           /* events lost: queue full, disk full, client closed on timeout */
    uint64_t stored;            /* events committed to the buffer */
    uint64_t evicted;           /* events deleted by retention (size or age) */
    uint64_t uploaded;          /* events delivered to the endpoint */
    uint64_t upload_failures;   /* upload attempts that failed */
    /* the database file as it is now: */
    uint64_t reports_pending;   /* reports waiting to be delivered */
    uint64_t db_bytes;          /* bytes the buffer's pages take */
    uint64_t pending_upload;    /* events in the buffer not yet uploaded */
    /* since tt_open, this client: */
    uint64_t truncated;         /* events whose message or attributes were cut to the caps */
    uint64_t repaired;          /* events whose text held invalid UTF-8 (replaced by U+FFFD) */
    uint64_t store_errors;      /* failed SQLite transactions (their events count as dropped) */
    uint64_t corrupt_recovered; /* damaged buffers moved aside and replaced */
    uint64_t events;            /* events in the buffer now */
    /* version 2 (since tt_open, this client): */
    uint64_t requests;          /* request and span records ended (stored + dropped + queued) */
    uint64_t requests_dropped;  /* request and span records lost (queue full, disk full) */
    uint64_t bad_traceparents;  /* incoming traceparent values ignored because malformed */
    uint64_t headers_capped;    /* captured header values cut to 512 bytes, or beyond 16 per request */
    /* version 3 (since tt_open, this client): */
    uint64_t spans_uploaded;    /* request and span records delivered */
    uint64_t upload_dropped;    /* records the server refused for good (4xx other than 408/413/429) */
    uint64_t upload_bytes;      /* compressed bytes delivered */
} tt_stats;

#define TT_STATS_INIT {TT_STATS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

TT_API void tt_stats_init(tt_stats *s) TT_NOEXCEPT;

/* Fill *out (its version must be set). Errors: TT_EINVAL, TT_EMISUSE, TT_ESTORE. */
TT_API tt_status tt_stats_get(tt_client *c, tt_stats *out) TT_NOEXCEPT;

/* ---------------------------------------------------------------- consent and upload */

typedef enum tt_consent { TT_CONSENT_UNKNOWN = 0, TT_CONSENT_GRANTED = 1, TT_CONSENT_DENIED = 2 } tt_consent;

/* Record the user's answer to "help improve this app by sharing usage data".
 * UNKNOWN: log locally, upload nothing. GRANTED: upload what is stored and what comes.
 * DENIED: the upload in flight is aborted, everything not yet delivered is deleted
 * (reports the user sends explicitly are not affected), nothing more is uploaded; what is
 * logged while DENIED is never uploaded, even after a later GRANTED.
 * The answer is stored in the buffer with its time and policy_version (NULL: the
 * opts.consent_policy_version); an answer for another policy version than the app's
 * current one counts as UNKNOWN unless TT_CONSENT_KEEP_ON_POLICY_CHANGE. Each change is
 * also logged as an event. Errors: TT_EINVAL (v), TT_EMISUSE, TT_ESTORE. */
TT_API tt_status tt_consent_set(tt_client *c, tt_consent v, const char *policy_version) TT_NOEXCEPT;
/* The answer that counts now (after the policy-version rule), read from the file (another
 * process on it may have answered): a short SQLite read, so not in a tight UI loop. */
TT_API tt_status tt_consent_get(tt_client *c, tt_consent *out) TT_NOEXCEPT;

/* Everything stored before this call (tt_flush first) delivered to the endpoint, or an
 * error: TT_ENOCONSENT (consent is not GRANTED), TT_EINVAL (no endpoint configured),
 * TT_ETIMEOUT (the message says what the last attempt got, e.g. HTTP 503), TT_EMISUSE. */
TT_API tt_status tt_upload_flush(tt_client *c, uint32_t timeout_ms) TT_NOEXCEPT;

/* The device's network changed (came back, switched Wi-Fi): every client retries its
 * uploads now instead of waiting out its backoff. Cheap; call it from the OS callback. */
TT_API void tt_network_changed(void) TT_NOEXCEPT;

/* ---------------------------------------------------------------- problem reports */

/* "Report a problem": one call files everything support needs and gives back an id to
 * quote. Sent to <endpoint>/v1/reports in the background whatever the telemetry consent
 * (the user asked), unless opts.report_flags has TT_REPORTS_OFF. */
#define TT_REPORT_ID_SIZE 37 /* UUID text + NUL */

#define TT_REPORT_AUTOMATIC 1u /* filed by the app, not the user: rate-limited */
#define TT_REPORT_NO_SCRUB 2u  /* keep e-mails, tokens, cookies and URL secrets in the logs (think twice) */

#define TT_REPORT_OPTIONS_VERSION 1
typedef struct tt_report_options {
    unsigned version;                 /* TT_REPORT_OPTIONS_VERSION */
    const char *description;          /* what the user says happened; NULL: none */
    const char *contact;              /* how to reach the user, if they want; NULL: none */
    uint32_t window_s;                /* logs and requests of the last window_s seconds; 0: 1800 */
    const char *const *attachments;   /* file paths, read at the call, each capped */
    size_t attachment_count;
    uint64_t max_log_bytes;           /* compressed logs.ndjson.zst cap, newest kept; 0: 5 MiB */
    uint64_t max_attachment_bytes;    /* per attachment; larger ones are left out (TT_ELIMIT); 0: 1 MiB */
    unsigned flags;                   /* TT_REPORT_AUTOMATIC, TT_REPORT_NO_SCRUB */
} tt_report_options;
#define TT_REPORT_OPTIONS_INIT {TT_REPORT_OPTIONS_VERSION, NULL, NULL, 0, NULL, 0, 0, 0, 0}

/* File a report and return at once with its id (the report is in the buffer before the
 * call returns: it survives a crash); assembly, a network check and delivery follow in
 * the background. o may be NULL. Errors: TT_EMISUSE, TT_EINVAL (NULL id_out, bad
 * options), TT_ELIMIT (an attachment over the cap was left out, or an automatic report
 * came too soon after the last one: for the former, the report WAS filed without it and
 * id_out holds its id; for the latter id_out is ""), TT_ESTORE, TT_EIO (an attachment
 * could not be read: the report was filed without it, id_out holds its id). */
TT_API tt_status tt_report_submit(tt_client *c, const tt_report_options *o, char id_out[TT_REPORT_ID_SIZE]) TT_NOEXCEPT;

/* The same report, assembled now and written to `path` as a plain tar of manifest.json,
 * logs.ndjson.zst and attachments/<name> (for users without a network). Not sent.
 * Errors as tt_report_submit, plus TT_EIO when path cannot be written. */
TT_API tt_status tt_report_export(tt_client *c, const tt_report_options *o, const char *path, char id_out[TT_REPORT_ID_SIZE]) TT_NOEXCEPT;

typedef enum tt_report_state { TT_REPORT_PENDING = 0, TT_REPORT_SENT = 1, TT_REPORT_FAILED = 2 } tt_report_state;

/* Where a report is. TT_REPORT_FAILED: tt_error_last()->message says why (the call still
 * returns TT_OK). Errors: TT_ENOTFOUND (no such id in this buffer), TT_EINVAL, TT_EMISUSE. */
TT_API tt_status tt_report_status(tt_client *c, const char *id, tt_report_state *out) TT_NOEXCEPT;

/* The backend's current incident notice ("we know, it is being fixed"), as last answered
 * to a report; "" when none. Valid until the next call on this thread. */
TT_API const char *tt_notice_get(tt_client *c) TT_NOEXCEPT;

/* Ask the backend now (GET <endpoint>/v1/status, public: nothing of the user's is sent)
 * for its current notice, and keep it for tt_notice_get; call it when the user opens the
 * "Report a problem" screen, off the UI thread. Blocks up to timeout_ms (0: 5000).
 * Errors: TT_EINVAL (no endpoint), TT_ENET (no answer, an HTTP error, not JSON),
 * TT_ETIMEOUT, TT_EMISUSE. On an error the notice kept is left as it was. */
TT_API tt_status tt_notice_refresh(tt_client *c, uint32_t timeout_ms) TT_NOEXCEPT;

/* before_send (tt_options.before_send): called on a background thread with the report's
 * manifest before it is sent; return 0 to send, anything else to veto (the report is then
 * marked failed, "vetoed by the app"). It may replace the manifest (a JSON object). */
typedef struct tt_report_draft tt_report_draft;
TT_API const char *tt_report_draft_manifest(const tt_report_draft *d) TT_NOEXCEPT;
TT_API tt_status tt_report_draft_set_manifest(tt_report_draft *d, const char *json) TT_NOEXCEPT;

/* ---------------------------------------------------------------- requests and spans */

/* A call to a server. It carries a W3C traceparent that the app sends along, so the
 * server logs the same trace id; its end is recorded with the status, the duration and
 * the server's request ids (X-Request-Id, X-Reqid, X-Log, x-amz-request-id, x-amz-id-2,
 * traceresponse, Server-Timing, plus opts.request_id_headers).
 *
 * Between begin and end, events logged on the calling thread carry the request's trace
 * and span id. Requests and spans on one thread nest: end them in reverse order. A
 * request ended on another thread (curl multi, callbacks) should be begun with
 * TT_REQUEST_DETACHED, so that it does not become the calling thread's context. */
typedef struct tt_request tt_request;

#define TT_REQUEST_DETACHED 1u   /* do not make the request the calling thread's context */

#define TT_REQUEST_OPTIONS_VERSION 1
typedef struct tt_request_options {
    unsigned version;     /* TT_REQUEST_OPTIONS_VERSION */
    const char *method;   /* "GET", ...; required */
    const char *url;      /* required; user-info, query (but opts.url_query_keys) and fragment are not kept */
    const char *parent;   /* an incoming traceparent to continue, or NULL; malformed: ignored and counted */
    unsigned flags;       /* TT_REQUEST_DETACHED */
} tt_request_options;
#define TT_REQUEST_OPTIONS_INIT {TT_REQUEST_OPTIONS_VERSION, NULL, NULL, NULL, 0}

/* Start a request. Its parent is o->parent if valid, else this thread's current
 * context, else none (a new trace). Errors: TT_EINVAL (NULL out, method or url),
 * TT_EMISUSE (NULL or closed client, unknown options version), TT_ENOMEM. */
TT_API tt_status tt_request_begin(tt_request **out, tt_client *c, const char *method, const char *url) TT_NOEXCEPT;
TT_API tt_status tt_request_begin_opts(tt_request **out, tt_client *c, const tt_request_options *o) TT_NOEXCEPT;

/* The value of the traceparent header to send: "00-<trace id>-<span id>-01".
 * Valid until tt_request_end. "" for a NULL or ended request. */
TT_API const char *tt_request_traceparent(const tt_request *r) TT_NOEXCEPT;

/* The request's trace id (32 hex digits + NUL): what to show a user or log elsewhere. */
TT_API tt_status tt_request_trace_id(const tt_request *r, char out[33]) TT_NOEXCEPT;

/* Pass each response header; the ones that carry server request ids are kept (values
 * capped at 512 bytes, 16 per request). Others are ignored cheaply. */
TT_API tt_status tt_request_header(tt_request *r, const char *name, const char *value) TT_NOEXCEPT;

/* Bytes sent and received, if the app knows them. */
TT_API tt_status tt_request_bytes(tt_request *r, uint64_t sent, uint64_t received) TT_NOEXCEPT;

/* Record the outcome and free r. http_status: the HTTP status, or 0 when no response
 * arrived; error: what failed in words (e.g. curl's error text), or NULL.
 * Errors: TT_EMISUSE (NULL request, ended twice, client closed meanwhile: the record is
 * then lost), TT_EFULL (queue full: dropped and counted). */
TT_API tt_status tt_request_end(tt_request *r, int http_status, const char *error) TT_NOEXCEPT;

/* Spans: timed work that is not an HTTP call ("load settings"). Same nesting rules. */
typedef struct tt_span tt_span;
TT_API tt_status tt_span_begin(tt_span **out, tt_client *c, const char *name) TT_NOEXCEPT;
TT_API tt_status tt_span_end(tt_span *s, const char *error) TT_NOEXCEPT;

/* The calling thread's trace context, to carry work to another thread:
 *   tt_context ctx; tt_context_get(&ctx);   ... on the other thread: tt_context_set(&ctx);
 * tt_context_set(NULL) clears it. valid == 0: no context. */
typedef struct tt_context {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t flags;
    uint8_t valid;
} tt_context;
TT_API void tt_context_get(tt_context *out) TT_NOEXCEPT;
TT_API void tt_context_set(const tt_context *ctx) TT_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* TELLTALE_H */
