/*
 * httppost.c - blocking HTTP POST with a reused libcurl easy handle.
 *
 * Everything that does not change between requests (URL, auth, timeouts,
 * headers, callbacks) is set once in ev_http_new(); a POST only sets the
 * body, so libcurl keeps the connection alive between batches.
 */
#include "agent/outputs/httppost.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "agent/outputs/influx_resp.h"

#ifndef EVMON_VERSION
#define EVMON_VERSION "dev"
#endif

struct ev_http {
    CURL *curl;
    struct curl_slist *hdr_plain, *hdr_gzip;
    const atomic_int *abort;
    char errbuf[CURL_ERROR_SIZE];
    ev_http_result *cur; /* the result being filled by the callbacks */
};

void ev_http_result_init(ev_http_result *r)
{
    memset(r, 0, sizeof *r);
    ev_buf_init(&r->body);
    r->retry_after_ms = -1;
}

void ev_http_result_free(ev_http_result *r)
{
    ev_buf_free(&r->body);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    ev_http *h = ud;
    size_t len = size * n, room = EV_HTTP_BODY_MAX - h->cur->body.len;
    if (h->cur->body.len < EV_HTTP_BODY_MAX)
        ev_buf_put(&h->cur->body, p, len < room ? len : room);
    return len;
}

/* Headers arrive one line at a time, for every response (a 100 Continue
 * included): a status line starts the next response afresh. */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    ev_http *h = ud;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        h->cur->retry_after_ms = -1;
    } else if (len > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
        char v[128];
        size_t vl = len - (sizeof name - 1);
        if (vl >= sizeof v)
            vl = sizeof v - 1;
        memcpy(v, p + sizeof name - 1, vl);
        v[vl] = '\0';
        h->cur->retry_after_ms = ev_retry_after_ms(v, time(NULL));
    }
    return len;
}

static int on_progress(void *ud, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
    ev_http *h = ud;
    return h->abort && atomic_load(h->abort) ? 1 : 0;
}

ev_http *ev_http_new(const ev_http_opts *o, const atomic_int *abort)
{
    ev_http *h = calloc(1, sizeof *h);
    if (!h || !(h->curl = curl_easy_init())) {
        free(h);
        return NULL;
    }
    h->abort = abort;
    /* "Expect:" drops curl's 100-continue round trip on large bodies. */
    h->hdr_plain = curl_slist_append(NULL, "Content-Type: text/plain; charset=utf-8");
    h->hdr_plain = curl_slist_append(h->hdr_plain, "Expect:");
    h->hdr_gzip = curl_slist_append(NULL, "Content-Type: text/plain; charset=utf-8");
    h->hdr_gzip = curl_slist_append(h->hdr_gzip, "Expect:");
    h->hdr_gzip = curl_slist_append(h->hdr_gzip, "Content-Encoding: gzip");
    if (o->token && *o->token) {
        char *auth = NULL;
        if (asprintf(&auth, "Authorization: Token %s", o->token) < 0)
            auth = NULL;
        if (!auth) {
            ev_http_free(h);
            return NULL;
        }
        h->hdr_plain = curl_slist_append(h->hdr_plain, auth);
        h->hdr_gzip = curl_slist_append(h->hdr_gzip, auth);
        memset(auth, 0, strlen(auth)); /* no copy of the secret left around */
        free(auth);
    }
    if (!h->hdr_plain || !h->hdr_gzip) {
        ev_http_free(h);
        return NULL;
    }
    CURL *c = h->curl;
    unsigned timeout_ms = o->timeout_ms;
    curl_easy_setopt(c, CURLOPT_URL, o->url);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (o->ca_file && *o->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* we are one thread of many */
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "evmon/" EVMON_VERSION);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    if (o->user && *o->user) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, o->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, o->password ? o->password : "");
    }
    return h;
}

void ev_http_free(ev_http *h)
{
    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->hdr_plain);
    curl_slist_free_all(h->hdr_gzip);
    free(h);
}

void ev_http_post(ev_http *h, const void *body, size_t len, bool gzipped, ev_http_result *r)
{
    ev_buf_reset(&r->body);
    r->status = 0;
    r->error[0] = '\0';
    r->retry_after_ms = -1;
    h->cur = r;
    h->errbuf[0] = '\0';
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, gzipped ? h->hdr_gzip : h->hdr_plain);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    } else {
        snprintf(r->error, sizeof r->error, "%s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
    }
    ev_buf_cstr(&r->body);
    h->cur = NULL;
}
