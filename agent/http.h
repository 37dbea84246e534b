/*
 * http.h - the built-in HTTP server: JSON API, Prometheus /metrics and the
 * live page, on libmicrohttpd driven by the agent's own event loop.
 *
 *   GET /                  the live page (dashboards/web/, embedded at build time)
 *   GET /api/v1/summary    agent, devices by state, power by role, PUE, hall headroom, alert count, outputs
 *   GET /api/v1/devices    per device: state, last poll time and duration, last error (?state=failing|ok|...)
 *   GET /api/v1/headroom   the latest headroom point of each scope
 *   GET /api/v1/alerts     the active alerts
 *   GET /metrics           Prometheus text format (self-monitoring)
 *
 * libmicrohttpd runs in its epoll mode without threads of its own: its
 * epoll fd sits on the agent's loop, so requests are answered on the loop's
 * thread and read the registries with no locking. Every response is built
 * whole in memory (a few kB per 100 devices) and sent by libmicrohttpd.
 * The owner keeps the view current (e.g. view.cfg after a reload); the hub
 * can serve the same API with its own view (status NULL: no devices).
 */
#ifndef EVMON_HTTP_H
#define EVMON_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "agent/config.h"
#include "agent/devstatus.h"
#include "agent/latest.h"
#include "agent/loop.h"
#include "agent/outputs/output.h"

typedef struct {
    const char *role;              /* "agent" or "hub" */
    const ev_config *cfg;
    const ev_devstatus *status;    /* NULL: no device table */
    const ev_latest *latest;       /* pue, headroom, alert points; NULL: none yet */
    ev_output *const *outputs;
    size_t noutputs;
} ev_httpd_view;

typedef struct ev_httpd ev_httpd;

/* Listen on listen ("127.0.0.1:8080", "[::1]:8080"). view must outlive the
 * server. NULL with a logged reason (address in use...). */
ev_httpd *ev_httpd_start(ev_loop *loop, const char *listen, const ev_httpd_view *view);
void ev_httpd_stop(ev_httpd *h);

/* The bodies, built whole; malloc'd, NULL on out of memory (http_api.c,
 * http_metrics.c). now_ns: wall clock. state_filter: NULL for all. */
char *ev_api_summary(const ev_httpd_view *v, int64_t now_ns);
char *ev_api_devices(const ev_httpd_view *v, const char *state_filter);
char *ev_api_headroom(const ev_httpd_view *v);
char *ev_api_alerts(const ev_httpd_view *v);
char *ev_metrics_text(const ev_httpd_view *v);

/* Whether an alert point is active: field `active` when it has one, else
 * field `state` other than ok/resolved/inactive/clear, else yes. */
int ev_api_alert_active(const ev_point *p);

#endif
