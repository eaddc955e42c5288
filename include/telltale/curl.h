/*
 * telltale/curl.h - instrument a libcurl transfer in one call.
 *
 * Include this header only where you use libcurl; telltale.h does not need it.
 * (libtelltale links libcurl anyway, for its own uploads, so the helper costs nothing.)
 *
 *   tt_curl *t = NULL;
 *   tt_curl_options o = TT_CURL_OPTIONS_INIT;
 *   o.headers = my_headers;          // the list you would pass to CURLOPT_HTTPHEADER
 *   tt_curl_begin(&t, client, easy, &o);
 *   CURLcode rc = curl_easy_perform(easy);
 *   tt_curl_end(t, rc);              // records it, restores your headers and callback
 *
 * What it does: sends `traceparent` next to your own headers (a copy of your list plus
 * one line; your list is not modified), sees every response header through its own
 * header callback and passes each one on to yours, and at the end records method, URL,
 * status, curl's error text, the timing breakdown (DNS, connect, TLS, first byte, total,
 * each in microseconds since the transfer started), bytes, and the server's IP and port.
 *
 * Multi interface: call tt_curl_begin with o.flags = TT_REQUEST_DETACHED before
 * curl_multi_add_handle, and tt_curl_end(t, msg->data.result) when curl_multi_info_read
 * reports CURLMSG_DONE for that handle. DETACHED keeps the request from becoming the
 * context of the thread that started it, since many transfers run at once there.
 *
 * Do not change CURLOPT_HTTPHEADER, CURLOPT_HEADERFUNCTION or CURLOPT_HEADERDATA
 * between begin and end: pass yours in tt_curl_options instead.
 */
#ifndef TELLTALE_CURL_H
#define TELLTALE_CURL_H

#include <curl/curl.h>

#include "telltale/telltale.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tt_curl tt_curl;

typedef size_t (*tt_curl_header_fn)(char *buffer, size_t size, size_t nitems, void *userdata);

#define TT_CURL_OPTIONS_VERSION 1
typedef struct tt_curl_options {
    unsigned version;             /* TT_CURL_OPTIONS_VERSION */
    struct curl_slist *headers;   /* your CURLOPT_HTTPHEADER list, or NULL; left untouched */
    tt_curl_header_fn header_fn;  /* your CURLOPT_HEADERFUNCTION, or NULL */
    void *header_data;            /* your CURLOPT_HEADERDATA */
    const char *error_buffer;     /* your CURLOPT_ERRORBUFFER, if set: its detail is recorded */
    const char *parent;           /* an incoming traceparent to continue, or NULL */
    unsigned flags;               /* TT_REQUEST_DETACHED */
} tt_curl_options;
#define TT_CURL_OPTIONS_INIT {TT_CURL_OPTIONS_VERSION, NULL, NULL, NULL, NULL, NULL, 0}

/* Instrument the next transfer on easy. o may be NULL (no headers or callback of yours).
 * Errors: TT_EINVAL (NULL out or easy), TT_EMISUSE (client NULL or closed, bad version),
 * TT_ENOMEM, TT_ENET (curl refused an option). On error easy is left as it was. */
TT_API tt_status tt_curl_begin(tt_curl **out, tt_client *c, CURL *easy, const tt_curl_options *o) TT_NOEXCEPT;

/* The traceparent being sent ("" for NULL). */
TT_API const char *tt_curl_traceparent(const tt_curl *t) TT_NOEXCEPT;

/* Record the transfer's outcome, restore your headers and header callback on the easy
 * handle, free t. result: what curl_easy_perform returned (or msg->data.result).
 * Errors as tt_request_end; the handle is restored in every case. */
TT_API tt_status tt_curl_end(tt_curl *t, CURLcode result) TT_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* TELLTALE_CURL_H */
