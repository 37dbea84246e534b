/*
 * http_metrics.c - /metrics in the Prometheus text format (0.0.4): the
 * agent's self-monitoring, from the device-status registry and the
 * outputs' stats. `promtool check metrics` accepts it (tests/integration/
 * test_http_api.sh). Per-device series carry only the device name, so the
 * count of series grows with the fleet and nothing else.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/buf.h"
#include "agent/http.h"

/* A label value, escaped as the format asks (\\, \", \n). */
static void label_value(ev_buf *b, const char *s)
{
    ev_buf_putc(b, '"');
    for (; s && *s; s++) {
        if (*s == '\\' || *s == '"')
            ev_buf_putc(b, '\\');
        if (*s == '\n')
            ev_buf_puts(b, "\\n");
        else
            ev_buf_putc(b, *s);
    }
    ev_buf_putc(b, '"');
}

static void head(ev_buf *b, const char *name, const char *type, const char *help)
{
    ev_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(ev_buf *b, const char *name, const char *label, const char *lv, double v)
{
    ev_buf_puts(b, name);
    if (label) {
        ev_buf_printf(b, "{%s=", label);
        label_value(b, lv);
        ev_buf_putc(b, '}');
    }
    if (isnan(v))
        ev_buf_puts(b, " NaN\n");
    else
        ev_buf_printf(b, " %.17g\n", v);
}

static void agent_metrics(ev_buf *b, const ev_httpd_view *v, const ev_devstatus_totals *t)
{
    head(b, "evmon_build_info", "gauge", "The agent's version and identity (value 1).");
    ev_buf_puts(b, "evmon_build_info{version=");
    label_value(b, EVMON_VERSION);
    ev_buf_puts(b, ",role=");
    label_value(b, v->role);
    ev_buf_puts(b, ",agent=");
    label_value(b, v->cfg->agent_id);
    ev_buf_puts(b, ",site=");
    label_value(b, v->cfg->site);
    ev_buf_puts(b, ",hall=");
    label_value(b, v->cfg->hall);
    ev_buf_puts(b, "} 1\n");
    head(b, "evmon_start_time_seconds", "gauge", "Unix time of the first poll cycle.");
    sample(b, "evmon_start_time_seconds", NULL, NULL, (double)t->started_ns / 1e9);
    head(b, "evmon_cycles_total", "counter", "Poll cycles started.");
    sample(b, "evmon_cycles_total", NULL, NULL, (double)t->cycles);
    head(b, "evmon_devices_late_total", "counter", "Device polls skipped because the last one was still running.");
    sample(b, "evmon_devices_late_total", NULL, NULL, (double)t->late_total);
    head(b, "evmon_devices", "gauge", "Configured devices by the state of their last poll.");
    sample(b, "evmon_devices", "state", "ok", (double)t->ok);
    sample(b, "evmon_devices", "state", "failing", (double)t->failing);
    sample(b, "evmon_devices", "state", "unknown", (double)t->unknown);
    head(b, "evmon_points_produced_total", "counter", "Points the collectors produced.");
    sample(b, "evmon_points_produced_total", NULL, NULL, (double)t->points);
}

static void histogram(ev_buf *b, const ev_devstatus_totals *t)
{
    static const char name[] = "evmon_poll_duration_seconds";
    uint64_t cum = 0;
    head(b, name, "histogram", "Time from a device poll's first request to its last answer or timeout.");
    for (size_t i = 0; i < EV_POLL_NBUCKETS; i++) {
        cum += t->buckets[i];
        ev_buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, ev_poll_buckets_s[i], (unsigned long long)cum);
    }
    cum += t->buckets[EV_POLL_NBUCKETS];
    ev_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
    ev_buf_printf(b, "%s_sum %.17g\n%s_count %llu\n", name, t->duration_sum_s, name, (unsigned long long)cum);
}

/* One per-device family: each device's value of one entry member. */
static void per_device(ev_buf *b, const ev_devstatus *s, const char *name, const char *type, const char *help,
                       double (*val)(const ev_devstatus_entry *e))
{
    head(b, name, type, help);
    for (size_t i = 0; i < ev_devstatus_count(s); i++) {
        const ev_devstatus_entry *e = ev_devstatus_at(s, i);
        sample(b, name, "device", e->dev->name, val(e));
    }
}

static double dev_up(const ev_devstatus_entry *e)
{
    return e->state == EV_DEV_OK || e->state == EV_DEV_PARTIAL;
}
static double dev_polls(const ev_devstatus_entry *e) { return (double)e->polls; }
static double dev_errors(const ev_devstatus_entry *e) { return (double)e->failures; }
static double dev_duration(const ev_devstatus_entry *e)
{
    return e->last_poll_ns ? (double)e->last_duration_us / 1e6 : NAN;
}
static double dev_last(const ev_devstatus_entry *e)
{
    return e->last_poll_ns ? (double)e->last_poll_ns / 1e9 : NAN;
}

static void device_metrics(ev_buf *b, const ev_devstatus *s)
{
    per_device(b, s, "evmon_device_up", "gauge", "1 when the device's last poll answered.", dev_up);
    per_device(b, s, "evmon_device_polls_total", "counter", "Polls of the device.", dev_polls);
    per_device(b, s, "evmon_device_poll_errors_total", "counter", "Polls of the device that timed out or failed.",
               dev_errors);
    per_device(b, s, "evmon_device_last_poll_duration_seconds", "gauge", "Duration of the device's last poll.",
               dev_duration);
    per_device(b, s, "evmon_device_last_poll_timestamp_seconds", "gauge", "Unix time the device's last poll ended.",
               dev_last);
}

static void output_metrics(ev_buf *b, const ev_httpd_view *v)
{
    static const struct {
        const char *name, *type, *help;
        size_t off;
    } fams[] = {
        {"evmon_output_points_in_total", "counter", "Points handed to the output.", offsetof(ev_output_stats, points_in)},
        {"evmon_output_points_sent_total", "counter", "Points the far end acknowledged.",
         offsetof(ev_output_stats, points_sent)},
        {"evmon_output_points_dropped_total", "counter", "Points given up (queue full, rejected).",
         offsetof(ev_output_stats, points_dropped)},
        {"evmon_output_points_queued", "gauge", "Points waiting in the output's queue now.",
         offsetof(ev_output_stats, points_queued)},
        {"evmon_output_send_errors_total", "counter", "Failed sends.", offsetof(ev_output_stats, errors)},
    };
    if (!v->noutputs)
        return;
    ev_output_stats st[8];
    size_t n = v->noutputs < 8 ? v->noutputs : 8;
    for (size_t i = 0; i < n; i++)
        v->outputs[i]->stats(v->outputs[i], &st[i]);
    for (size_t f = 0; f < sizeof fams / sizeof fams[0]; f++) {
        head(b, fams[f].name, fams[f].type, fams[f].help);
        for (size_t i = 0; i < n; i++)
            sample(b, fams[f].name, "output", v->outputs[i]->name,
                   (double)*(const uint64_t *)((const char *)&st[i] + fams[f].off));
    }
}

char *ev_metrics_text(const ev_httpd_view *v)
{
    ev_devstatus_totals t = {0};
    ev_buf b;
    ev_buf_init(&b);
    if (v->status)
        ev_devstatus_totals_get(v->status, &t);
    agent_metrics(&b, v, &t);
    histogram(&b, &t);
    if (v->status)
        device_metrics(&b, v->status);
    output_metrics(&b, v);
    ev_buf_cstr(&b);
    if (b.oom) {
        ev_buf_free(&b);
        return NULL;
    }
    return b.p;
}
