/*
 * devstatus.c - the device-status registry (see devstatus.h): one entry
 * per configured device, updated from each poll result.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent/devstatus.h"

const double ev_poll_buckets_s[EV_POLL_NBUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                    0.5,   1,    2.5,   5,    10};

struct ev_devstatus {
    const ev_config *cfg;
    ev_devstatus_entry *e;
    size_t n;
    ev_devstatus_totals t; /* counters; the per-state counts are computed on read */
};

const char *ev_dev_state_name(ev_dev_state s)
{
    switch (s) {
    case EV_DEV_UNKNOWN: return "unknown";
    case EV_DEV_OK: return "ok";
    case EV_DEV_PARTIAL: return "partial";
    case EV_DEV_TIMEOUT: return "timeout";
    case EV_DEV_ERROR: return "error";
    }
    return "?";
}

ev_devstatus *ev_devstatus_new(const ev_config *cfg)
{
    ev_devstatus *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->e = calloc(cfg->ndevices ? cfg->ndevices : 1, sizeof *s->e);
    if (!s->e) {
        free(s);
        return NULL;
    }
    s->cfg = cfg;
    s->n = cfg->ndevices;
    for (size_t i = 0; i < s->n; i++) {
        s->e[i].dev = &cfg->devices[i];
        s->e[i].power_w = NAN;
    }
    return s;
}

void ev_devstatus_free(ev_devstatus *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->e[i].last_error);
    free(s->e);
    free(s);
}

int ev_devstatus_reconfigure(ev_devstatus *s, const ev_config *cfg)
{
    ev_devstatus_entry *e = calloc(cfg->ndevices ? cfg->ndevices : 1, sizeof *e);
    int rc = e ? 0 : -1;
    size_t n = e ? cfg->ndevices : 0;
    for (size_t i = 0; i < n; i++) {
        e[i] = (ev_devstatus_entry){.dev = &cfg->devices[i], .power_w = NAN};
        for (size_t j = 0; j < s->n; j++) {
            if (s->e[j].dev && !strcmp(s->e[j].dev->name, cfg->devices[i].name)) {
                e[i] = s->e[j];
                e[i].dev = &cfg->devices[i];
                s->e[j].dev = NULL; /* moved, with its last_error */
                s->e[j].last_error = NULL;
                break;
            }
        }
    }
    for (size_t j = 0; j < s->n; j++)
        free(s->e[j].last_error);
    free(s->e);
    s->e = e;
    s->n = n;
    s->cfg = cfg;
    return rc;
}

void ev_devstatus_cycle(ev_devstatus *s, int64_t ts_ns, size_t late)
{
    if (!s->t.started_ns)
        s->t.started_ns = ts_ns;
    s->t.last_cycle_ns = ts_ns;
    s->t.cycles++;
    s->t.late_total += late;
}

/* The entry of r's device: by position in the config, else by name. */
static ev_devstatus_entry *entry_of(ev_devstatus *s, const ev_device_cfg *d)
{
    if (d >= s->cfg->devices && d < s->cfg->devices + s->n)
        return &s->e[d - s->cfg->devices];
    for (size_t i = 0; i < s->n; i++)
        if (d->name && !strcmp(s->e[i].dev->name, d->name))
            return &s->e[i];
    return NULL;
}

static void count_duration(ev_devstatus *s, uint64_t duration_us)
{
    double secs = (double)duration_us / 1e6;
    size_t b = 0;
    while (b < EV_POLL_NBUCKETS && secs > ev_poll_buckets_s[b])
        b++;
    s->t.buckets[b]++;
    s->t.duration_sum_s += secs;
}

static ev_dev_state state_of(ev_poll_status st)
{
    switch (st) {
    case EV_POLL_OK: return EV_DEV_OK;
    case EV_POLL_PARTIAL: return EV_DEV_PARTIAL;
    case EV_POLL_TIMEOUT: return EV_DEV_TIMEOUT;
    case EV_POLL_ERROR: return EV_DEV_ERROR;
    }
    return EV_DEV_ERROR;
}

void ev_devstatus_record(ev_devstatus *s, const ev_poll_result *r, int64_t now_ns)
{
    ev_devstatus_entry *e = entry_of(s, r->dev);
    if (!e)
        return;
    size_t npoints = r->points ? r->points->n : 0;
    e->state = state_of(r->status);
    e->last_poll_ns = now_ns;
    e->last_duration_us = r->duration_us;
    e->last_requests = r->requests;
    e->last_points = npoints;
    e->polls++;
    s->t.polls++;
    s->t.points += npoints;
    count_duration(s, r->duration_us);
    if (e->state == EV_DEV_OK || e->state == EV_DEV_PARTIAL) {
        e->consecutive_failures = 0;
        e->power_w = r->points ? ev_devstatus_power_of(r->points) : NAN;
    } else {
        e->consecutive_failures++;
        e->failures++;
        s->t.failures++;
        e->power_w = NAN; /* a stale reading is not shown as current */
    }
    if (e->state != EV_DEV_OK) {
        const char *why = r->error ? r->error : ev_dev_state_name(e->state);
        char *copy = strdup(why);
        if (copy) {
            free(e->last_error);
            e->last_error = copy;
        }
        e->last_error_ns = now_ns;
    }
}

size_t ev_devstatus_count(const ev_devstatus *s)
{
    return s->n;
}

const ev_devstatus_entry *ev_devstatus_at(const ev_devstatus *s, size_t i)
{
    return i < s->n ? &s->e[i] : NULL;
}

void ev_devstatus_totals_get(const ev_devstatus *s, ev_devstatus_totals *t)
{
    *t = s->t;
    t->ok = t->failing = t->unknown = 0;
    for (size_t i = 0; i < s->n; i++) {
        switch (s->e[i].state) {
        case EV_DEV_UNKNOWN: t->unknown++; break;
        case EV_DEV_OK:
        case EV_DEV_PARTIAL: t->ok++; break;
        case EV_DEV_TIMEOUT:
        case EV_DEV_ERROR: t->failing++; break;
        }
    }
}

double ev_devstatus_power_of(const ev_batch *points)
{
    double sum = 0;
    int found = 0;
    for (size_t i = 0; i < points->n; i++) {
        const ev_point *p = &points->pts[i];
        const char *phase = ev_point_get_tag(p, "phase");
        const char *side = ev_point_get_tag(p, "side");
        const ev_field *f = ev_point_get_field(p, "active_power_w");
        if (strcmp(p->measurement, "power") || !phase || strcmp(phase, "total") || !f || f->type != EV_FLOAT ||
            ev_point_get_tag(p, "outlet") || (side && !strcmp(side, "input")))
            continue;
        sum += f->v.f;
        found = 1;
    }
    return found ? sum : NAN;
}
