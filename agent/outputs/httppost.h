/*
 * httppost.h - POST a body to one URL with a reused libcurl easy handle
 * (keep-alive: one TCP connection for every batch), for the HTTP outputs.
 *
 * Blocking: call it from the output's own writer thread, never the loop.
 * The transfer is abandoned promptly once *abort becomes non-zero (for
 * shutdown), else after timeout_ms.
 */
#ifndef EVMON_HTTPPOST_H
#define EVMON_HTTPPOST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "agent/buf.h"

#define EV_HTTP_BODY_MAX (64 * 1024) /* response bytes kept (error texts) */

typedef struct ev_http ev_http;

typedef struct {
    long status;             /* HTTP status; 0 when there was no answer */
    char error[256];         /* transport error when status == 0 */
    ev_buf body;             /* the response body, at most EV_HTTP_BODY_MAX */
    long long retry_after_ms; /* Retry-After, -1 when absent or invalid */
} ev_http_result;

typedef struct {
    const char *url;
    const char *user, *password; /* HTTP basic auth when user is set */
    const char *token;           /* "Authorization: Token ..." (InfluxDB 2.x) when set */
    const char *ca_file;         /* https: verify the server against this CA (else the system's) */
    unsigned timeout_ms;         /* connect, and the whole request */
} ev_http_opts;

/* NULL on failure. The server's certificate and host name are always
 * verified on https. */
ev_http *ev_http_new(const ev_http_opts *o, const atomic_int *abort);
void ev_http_free(ev_http *h);

/* POST body[0..len) as text/plain; gzipped adds Content-Encoding: gzip.
 * r must be initialised with ev_http_result_init(); it is overwritten. */
void ev_http_post(ev_http *h, const void *body, size_t len, bool gzipped, ev_http_result *r);

void ev_http_result_init(ev_http_result *r);
void ev_http_result_free(ev_http_result *r);

#endif
