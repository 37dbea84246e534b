/*
 * http.c - the built-in HTTP server (see http.h): libmicrohttpd in epoll
 * mode on the agent's event loop, routing GET requests to the API bodies
 * (http_api.c), /metrics (http_metrics.c) and the embedded page
 * (web_assets.h). Only GET and HEAD; everything else is 405.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config_http.h"
#include "agent/http.h"
#include "agent/log.h"
#include "agent/web_assets.h"

#define MAX_CONNECTIONS 64
#define CONNECTION_TIMEOUT_S 10

struct ev_httpd {
    ev_loop *loop;
    const ev_httpd_view *view;
    struct MHD_Daemon *d;
    int epfd;
    uint64_t timer;
};

static void rearm(ev_httpd *h);

static void run(ev_httpd *h)
{
    MHD_run(h->d);
    rearm(h);
}

static void on_timer(ev_loop *l, uint64_t id, void *ud)
{
    ev_httpd *h = ud;
    h->timer = 0;
    run(h);
}

static void on_ready(ev_loop *l, int fd, int events, void *ud)
{
    run(ud);
}

/* libmicrohttpd's next deadline (connection timeouts, or 0 when it has
 * ready work left over) as a loop timer. */
static void rearm(ev_httpd *h)
{
    MHD_UNSIGNED_LONG_LONG ms;
    ev_loop_cancel(h->loop, h->timer);
    h->timer = 0;
    if (MHD_get_timeout(h->d, &ms) == MHD_YES)
        h->timer = ev_loop_after(h->loop, ms, on_timer, h);
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *type, void *body,
                               size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (!r) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *c, unsigned status, const char *type, char *body)
{
    if (!body) {
        static char oom[] = "{\"error\":\"out of memory\"}\n";
        return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json", oom, sizeof oom - 1,
                       MHD_RESPMEM_PERSISTENT);
    }
    return respond(c, status, type, body, strlen(body), MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    char *body = NULL;
    if (asprintf(&body, "{\"error\":\"%s\"}\n", msg) < 0)
        body = NULL;
    return respond_text(c, status, "application/json", body);
}

static const ev_web_asset *asset_at(const char *url)
{
    if (!strcmp(url, "/"))
        url = "/index.html";
    for (size_t i = 0; i < ev_web_nassets; i++)
        if (!strcmp(ev_web_assets[i].path, url))
            return &ev_web_assets[i];
    return NULL;
}

static enum MHD_Result route(ev_httpd *h, struct MHD_Connection *c, const char *url)
{
    static const char json[] = "application/json";
    const ev_httpd_view *v = h->view;

    if (!strcmp(url, "/api/v1/summary"))
        return respond_text(c, MHD_HTTP_OK, json, ev_api_summary(v, ev_wall_ns()));
    if (!strcmp(url, "/api/v1/devices"))
        return respond_text(c, MHD_HTTP_OK, json,
                            ev_api_devices(v, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state")));
    if (!strcmp(url, "/api/v1/headroom"))
        return respond_text(c, MHD_HTTP_OK, json, ev_api_headroom(v));
    if (!strcmp(url, "/api/v1/alerts"))
        return respond_text(c, MHD_HTTP_OK, json, ev_api_alerts(v));
    if (!strcmp(url, "/metrics"))
        return respond_text(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", ev_metrics_text(v));
    const ev_web_asset *a = asset_at(url);
    if (a)
        return respond(c, MHD_HTTP_OK, a->content_type, (void *)a->data, a->len, MHD_RESPMEM_PERSISTENT);
    return respond_error(c, MHD_HTTP_NOT_FOUND, "not found");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con)
{
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
        return respond_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD");
    return route(cls, c, url);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = 0;
    ev_warn("http: %s", msg);
}

/* listen -> socket address; 0, or -1 when it is not HOST:PORT. */
static int listen_addr(const char *listen, struct sockaddr_storage *ss, unsigned *flags)
{
    char host[64];
    unsigned port;
    if (ev_http_parse_listen(listen, host, sizeof host, &port))
        return -1;
    memset(ss, 0, sizeof *ss);
    if (listen[0] == '[') {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        *flags |= MHD_USE_IPv6;
        return inet_pton(AF_INET6, host, &a->sin6_addr) == 1 ? 0 : -1;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

ev_httpd *ev_httpd_start(ev_loop *loop, const char *listen, const ev_httpd_view *view)
{
    struct sockaddr_storage ss;
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (listen_addr(listen, &ss, &flags) < 0) {
        ev_err("http: bad listen address '%s'", listen);
        return NULL;
    }
    ev_httpd *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->loop = loop;
    h->view = view;
    errno = 0;
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S, MHD_OPTION_END);
    if (!h->d) {
        ev_err("http: cannot listen on %s: %s", listen, errno ? strerror(errno) : "libmicrohttpd refused");
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
    h->epfd = info ? info->epoll_fd : -1;
    if (h->epfd < 0 || ev_loop_watch(loop, h->epfd, EV_READ, on_ready, h) < 0) {
        ev_err("http: cannot watch libmicrohttpd's epoll fd");
        MHD_stop_daemon(h->d);
        free(h);
        return NULL;
    }
    rearm(h);
    ev_notice("http: serving the API, /metrics and the live page on http://%s/", listen);
    return h;
}

void ev_httpd_stop(ev_httpd *h)
{
    if (!h)
        return;
    ev_loop_cancel(h->loop, h->timer);
    ev_loop_unwatch(h->loop, h->epfd);
    MHD_stop_daemon(h->d);
    free(h);
}
