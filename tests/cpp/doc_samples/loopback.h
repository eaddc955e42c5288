/* Helpers for the doc samples that make HTTP calls; not shown in the docs.
 *
 * loopback_start() runs a tiny HTTP/1.1 server on 127.0.0.1 (an ephemeral port) in a
 * thread. It answers every request with 200, a JSON body and the id headers a real
 * backend would send (X-Request-Id, Server-Timing), and remembers the last traceparent
 * it received. It reads (and discards) request bodies, so it also stands for an OTLP
 * receiver: loopback_uploads() counts the POSTs to /v1/... (logs, traces and reports).
 * It stands for the support backend's report route too: a POST to /v1/reports is
 * answered as the reference backend does, {"report_id": <X-Telltale-Report>, "notice":
 * <the notice given to loopback_start_notice()>}, and counted by loopback_reports().
 * loopback_closed_port() gives a loopback port nothing listens on, for a call that fails.
 * app_http_get() stands for "the app's own HTTP code" in the plain request API sample.
 * Plain C (POSIX sockets, pthreads): usable from C and C++. */
#ifndef TT_DOC_LOOPBACK_H
#define TT_DOC_LOOPBACK_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct loopback {
    int fd;
    int port;
    int served;
    char last_traceparent[64];
    pthread_t thread;
    int uploads; /* POSTs to /v1/... answered; read it with loopback_uploads() */
    int reports; /* POSTs to /v1/reports answered; read it with loopback_reports() */
    char notice[256]; /* the incident notice answered to reports (plain text, no quotes); "" : none */
} loopback;

/* POSTs to /v1/... (logs, traces, reports) answered so far (safe while the server runs). */
static inline int loopback_uploads(loopback *s) { return __atomic_load_n(&s->uploads, __ATOMIC_ACQUIRE); }
/* POSTs to /v1/reports answered so far. */
static inline int loopback_reports(loopback *s) { return __atomic_load_n(&s->reports, __ATOMIC_ACQUIRE); }

/* Read one request head (up to the blank line) into buf; returns its length or -1. */
static inline int loopback_read_head(int fd, char *buf, size_t cap) {
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t got = read(fd, buf + n, cap - 1 - n);
        if (got <= 0) return -1;
        n += (size_t)got;
        buf[n] = '\0';
        if (strstr(buf, "\r\n\r\n")) return (int)n;
    }
    return -1;
}

/* The value of header `name` in a request or response head, copied into out ("" if absent). */
static inline void loopback_header(const char *head, const char *name, char *out, size_t cap) {
    size_t len = strlen(name);
    out[0] = '\0';
    for (const char *line = strstr(head, "\r\n"); line && line[2] != '\r'; line = strstr(line + 2, "\r\n")) {
        const char *h = line + 2;
        if (strncasecmp(h, name, len) == 0 && h[len] == ':') {
            h += len + 1;
            while (*h == ' ') ++h;
            size_t i = 0;
            while (h[i] && h[i] != '\r' && i + 1 < cap) {
                out[i] = h[i];
                ++i;
            }
            out[i] = '\0';
            return;
        }
    }
}

static inline void *loopback_run(void *arg) {
    loopback *s = (loopback *)arg;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) return NULL; /* loopback_stop() shut the socket down */
        char head[8192];
        int got = loopback_read_head(c, head, sizeof head);
        if (got > 0) {
            /* Read the rest of the body (Content-Length), so that closing does not reset the connection. */
            char length[32];
            loopback_header(head, "Content-Length", length, sizeof length);
            long left = atol(length) - (long)(got - (strstr(head, "\r\n\r\n") + 4 - head));
            while (left > 0) {
                char sink[65536];
                ssize_t n = read(c, sink, left < (long)sizeof sink ? (size_t)left : sizeof sink);
                if (n <= 0) break;
                left -= n;
            }
            if (strncmp(head, "POST /v1/", 9) == 0) __atomic_add_fetch(&s->uploads, 1, __ATOMIC_RELEASE);
            loopback_header(head, "traceparent", s->last_traceparent, sizeof s->last_traceparent);
            int n = ++s->served;
            char reply[1024];
            char body[512] = "{\"items\":[]}";
            if (strncmp(head, "GET /v1/status ", 15) == 0) {
                if (s->notice[0]) snprintf(body, sizeof body, "{\"notice\":\"%s\"}", s->notice);
                else snprintf(body, sizeof body, "{\"notice\":null}");
            }
            if (strncmp(head, "POST /v1/reports ", 17) == 0) {
                char id[64];
                loopback_header(head, "X-Telltale-Report", id, sizeof id);
                snprintf(body, sizeof body, "{\"report_id\":\"%s\",\"notice\":\"%s\"}", id, s->notice);
                __atomic_add_fetch(&s->reports, 1, __ATOMIC_RELEASE);
            }
            int len = snprintf(reply, sizeof reply,
                               "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Request-Id: req-%d\r\n"
                               "Server-Timing: db;dur=12\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                               n, strlen(body), body);
            if (write(c, reply, (size_t)len) < 0) { /* the client went away: fine */
            }
        }
        close(c);
    }
}

static inline int loopback_listen(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* Start the server, answering reports with `notice` (NULL or "": none); 0 on success. */
static inline int loopback_start_notice(loopback *s, const char *notice) {
    memset(s, 0, sizeof *s);
    if (notice) snprintf(s->notice, sizeof s->notice, "%s", notice);
    s->fd = loopback_listen(&s->port);
    if (s->fd < 0 || listen(s->fd, 16) != 0) return -1;
    return pthread_create(&s->thread, NULL, loopback_run, s) == 0 ? 0 : -1;
}

/* Start the server; 0 on success. */
static inline int loopback_start(loopback *s) { return loopback_start_notice(s, NULL); }

static inline void loopback_stop(loopback *s) {
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(s->thread, NULL);
}

/* A loopback port nothing listens on: a call to it fails with "connection refused". */
static inline int loopback_closed_port(void) {
    int port = 0;
    int fd = loopback_listen(&port);
    if (fd >= 0) close(fd);
    return port;
}

typedef void (*app_header_fn)(const char *name, const char *value, void *user);

/* GET url (http://127.0.0.1:<port>/<path> only) with one extra request header (skipped when
 * value is NULL or ""); calls on_header for every response header. Returns the HTTP
 * status, or 0 with *error set when no response arrived. */
static inline int app_http_get(const char *url, const char *name, const char *value, app_header_fn on_header, void *user,
                        const char **error) {
    int port = 0;
    char path[1024] = "/";
    *error = NULL;
    if (sscanf(url, "http://127.0.0.1:%d%1023s", &port, path) < 1) {
        *error = "unsupported URL";
        return 0;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)port);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0) close(fd);
        *error = "connection refused";
        return 0;
    }
    char req[2048];
    int len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s%s%s%sConnection: close\r\n\r\n", path, port,
                       value && *value ? name : "", value && *value ? ": " : "", value && *value ? value : "",
                       value && *value ? "\r\n" : "");
    char head[8192];
    int status = 0;
    if (write(fd, req, (size_t)len) != len || loopback_read_head(fd, head, sizeof head) < 0 ||
        sscanf(head, "HTTP/1.%*d %d", &status) != 1) {
        close(fd);
        *error = "the connection was closed without a response";
        return 0;
    }
    close(fd);
    /* Each header line to the callback, as "name" and "value". */
    for (char *line = strstr(head, "\r\n"); line && line[2] != '\r'; line = strstr(line + 2, "\r\n")) {
        char *h = line + 2, *colon = strchr(h, ':'), *end = strstr(h, "\r\n");
        if (!colon || !end || colon > end) continue;
        char hname[128], hvalue[1024];
        snprintf(hname, sizeof hname, "%.*s", (int)(colon - h), h);
        const char *v = colon + 1;
        while (*v == ' ') ++v;
        snprintf(hvalue, sizeof hvalue, "%.*s", (int)(end - v), v);
        on_header(hname, hvalue, user);
    }
    return status;
}

#endif /* TT_DOC_LOOPBACK_H */
