/*
 * http_api.c - the JSON bodies of /api/v1/... (see http.h), built with
 * json-c from the device-status registry (devstatus.h), the latest
 * pue/headroom/alert points (latest.h), the config and the outputs' stats.
 *
 * Numbers are JSON numbers with up to 15 significant digits; a value the
 * agent does not know (a failed device's power) is null, never NaN. Times
 * are RFC 3339 UTC strings with a *_ms twin in Unix milliseconds for
 * scripts and the page. A point (pue, headroom, alert) is rendered as
 * {"time", "time_ms", "tags": {...}, "fields": {...}} as it was published.
 */
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "agent/http.h"

static struct json_object *jnum(double v)
{
    char s[32];
    if (!isfinite(v))
        return NULL; /* null */
    snprintf(s, sizeof s, "%.15g", v);
    return json_object_new_double_s(v, s);
}

static struct json_object *jstr(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

/* RFC 3339 UTC with milliseconds; null for 0 (never). */
static struct json_object *jtime(int64_t ns)
{
    char s[40];
    struct tm tm;
    if (ns <= 0)
        return NULL;
    time_t secs = (time_t)(ns / 1000000000);
    gmtime_r(&secs, &tm);
    size_t n = strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(s + n, sizeof s - n, ".%03dZ", (int)(ns / 1000000 % 1000));
    return json_object_new_string(s);
}

static struct json_object *jms(int64_t ns)
{
    return ns > 0 ? json_object_new_int64(ns / 1000000) : NULL;
}

static void add(struct json_object *o, const char *key, struct json_object *v)
{
    json_object_object_add(o, key, v);
}

/* The text of o, malloc'd; o is released. */
static char *finish(struct json_object *o)
{
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *out = NULL;
    if (s && asprintf(&out, "%s\n", s) < 0)
        out = NULL;
    json_object_put(o);
    return out;
}

/* ---- points -------------------------------------------------------------- */

static struct json_object *field_value(const ev_field *f)
{
    switch (f->type) {
    case EV_FLOAT: return jnum(f->v.f);
    case EV_INT: return json_object_new_int64(f->v.i);
    case EV_UINT: return json_object_new_uint64(f->v.u);
    case EV_BOOL: return json_object_new_boolean(f->v.b);
    case EV_STR: return jstr(f->v.s);
    }
    return NULL;
}

static struct json_object *point_json(const ev_point *p)
{
    struct json_object *o = json_object_new_object(), *tags = json_object_new_object(),
                       *fields = json_object_new_object();
    for (size_t i = 0; i < p->ntags; i++)
        add(tags, p->tags[i].key, jstr(p->tags[i].val));
    for (size_t i = 0; i < p->nfields; i++)
        add(fields, p->fields[i].key, field_value(&p->fields[i]));
    add(o, "time", jtime(p->ts_ns));
    add(o, "time_ms", jms(p->ts_ns));
    add(o, "tags", tags);
    add(o, "fields", fields);
    return o;
}

typedef struct {
    struct json_object *arr;
    int (*keep)(const ev_point *p);
} collect;

static void collect_point(void *ud, const ev_point *p)
{
    collect *c = ud;
    if (!c->keep || c->keep(p))
        json_object_array_add(c->arr, point_json(p));
}

static struct json_object *points_of(const ev_httpd_view *v, const char *measurement, int (*keep)(const ev_point *))
{
    collect c = {json_object_new_array(), keep};
    if (v->latest)
        ev_latest_each(v->latest, measurement, collect_point, &c);
    return c.arr;
}

int ev_api_alert_active(const ev_point *p)
{
    static const char *const inactive[] = {"ok", "resolved", "inactive", "clear", "cleared", "normal"};
    const ev_field *f = ev_point_get_field(p, "active");
    if (f) {
        switch (f->type) {
        case EV_BOOL: return f->v.b;
        case EV_FLOAT: return f->v.f != 0;
        case EV_INT: return f->v.i != 0;
        case EV_UINT: return f->v.u != 0;
        case EV_STR: return strcmp(f->v.s, "false") != 0;
        }
    }
    f = ev_point_get_field(p, "state");
    if (f && f->type == EV_STR)
        for (size_t i = 0; i < sizeof inactive / sizeof inactive[0]; i++)
            if (!strcasecmp(f->v.s, inactive[i]))
                return 0;
    return 1;
}

/* Hall-level (and wider) headroom for the summary: scope hall, site or cluster. */
static int wide_scope(const ev_point *p)
{
    const char *s = ev_point_get_tag(p, "scope");
    return !s || !strcmp(s, "hall") || !strcmp(s, "site") || !strcmp(s, "cluster");
}

/* ---- summary ---------------------------------------------------------------- */

static struct json_object *agent_json(const ev_httpd_view *v, const ev_devstatus_totals *t, int64_t now_ns)
{
    struct json_object *a = json_object_new_object();
    add(a, "role", jstr(v->role));
    add(a, "id", jstr(v->cfg->agent_id));
    add(a, "site", jstr(v->cfg->site));
    add(a, "hall", jstr(v->cfg->hall));
    add(a, "version", jstr(EVMON_VERSION));
    add(a, "interval_s", jnum(v->cfg->interval_ms / 1000.0));
    add(a, "now", jtime(now_ns));
    add(a, "now_ms", jms(now_ns));
    add(a, "started", jtime(t->started_ns));
    add(a, "started_ms", jms(t->started_ns));
    add(a, "cycles", json_object_new_uint64(t->cycles));
    add(a, "last_cycle", jtime(t->last_cycle_ns));
    add(a, "last_cycle_ms", jms(t->last_cycle_ns));
    return a;
}

/* Known power of the answering devices, by role. */
static struct json_object *power_json(const ev_devstatus *s)
{
    double sum[4] = {0};
    int any[4] = {0};
    static const ev_role roles[] = {EV_ROLE_IT, EV_ROLE_FACILITY, EV_ROLE_COOLING, EV_ROLE_OTHER};
    for (size_t i = 0; s && i < ev_devstatus_count(s); i++) {
        const ev_devstatus_entry *e = ev_devstatus_at(s, i);
        if (isnan(e->power_w) || (unsigned)e->dev->role > 3)
            continue;
        sum[e->dev->role] += e->power_w;
        any[e->dev->role] = 1;
    }
    struct json_object *p = json_object_new_object();
    for (size_t r = 0; r < 4; r++)
        add(p, ev_role_name(roles[r]), any[roles[r]] ? jnum(sum[roles[r]]) : NULL);
    return p;
}

static struct json_object *outputs_json(const ev_httpd_view *v)
{
    struct json_object *arr = json_object_new_array();
    for (size_t i = 0; i < v->noutputs; i++) {
        ev_output_stats st;
        v->outputs[i]->stats(v->outputs[i], &st);
        struct json_object *o = json_object_new_object();
        add(o, "name", jstr(v->outputs[i]->name));
        add(o, "points_in", json_object_new_uint64(st.points_in));
        add(o, "points_sent", json_object_new_uint64(st.points_sent));
        add(o, "points_dropped", json_object_new_uint64(st.points_dropped));
        add(o, "points_queued", json_object_new_uint64(st.points_queued));
        add(o, "errors", json_object_new_uint64(st.errors));
        json_object_array_add(arr, o);
    }
    return arr;
}

char *ev_api_summary(const ev_httpd_view *v, int64_t now_ns)
{
    ev_devstatus_totals t = {0};
    if (v->status)
        ev_devstatus_totals_get(v->status, &t);
    struct json_object *o = json_object_new_object(), *d = json_object_new_object(),
                       *al = json_object_new_object();
    add(o, "agent", agent_json(v, &t, now_ns));
    add(d, "total", json_object_new_uint64(v->status ? ev_devstatus_count(v->status) : 0));
    add(d, "ok", json_object_new_uint64(t.ok));
    add(d, "failing", json_object_new_uint64(t.failing));
    add(d, "unknown", json_object_new_uint64(t.unknown));
    add(o, "devices", d);
    add(o, "power_w", power_json(v->status));
    add(o, "pue", points_of(v, "pue", NULL));
    add(o, "headroom", points_of(v, "headroom", wide_scope));
    struct json_object *active = points_of(v, "alert", ev_api_alert_active);
    add(al, "active", json_object_new_uint64(json_object_array_length(active)));
    json_object_put(active);
    add(o, "alerts", al);
    add(o, "outputs", outputs_json(v));
    return finish(o);
}

/* ---- devices ------------------------------------------------------------------ */

static int state_matches(ev_dev_state s, const char *filter)
{
    if (!filter || !*filter)
        return 1;
    if (!strcmp(filter, "failing"))
        return s == EV_DEV_TIMEOUT || s == EV_DEV_ERROR;
    return !strcmp(filter, ev_dev_state_name(s));
}

static struct json_object *device_json(const ev_devstatus_entry *e)
{
    const ev_device_cfg *d = e->dev;
    struct json_object *o = json_object_new_object();
    add(o, "name", jstr(d->name));
    add(o, "profile", jstr(d->profile_name));
    add(o, "address", jstr(d->address));
    add(o, "role", jstr(ev_role_name(d->role)));
    add(o, "row", jstr(d->row));
    add(o, "rack", jstr(d->rack));
    add(o, "feed", jstr(d->feed));
    add(o, "state", jstr(ev_dev_state_name(e->state)));
    add(o, "last_poll", jtime(e->last_poll_ns));
    add(o, "last_poll_ms", jms(e->last_poll_ns));
    add(o, "duration_ms", e->last_poll_ns ? jnum((double)e->last_duration_us / 1000.0) : NULL);
    add(o, "requests", json_object_new_uint64(e->last_requests));
    add(o, "points", json_object_new_uint64(e->last_points));
    add(o, "power_w", jnum(e->power_w));
    add(o, "last_error", jstr(e->last_error));
    add(o, "last_error_at", jtime(e->last_error_ns));
    add(o, "last_error_ms", jms(e->last_error_ns));
    add(o, "consecutive_failures", json_object_new_uint64(e->consecutive_failures));
    add(o, "polls", json_object_new_uint64(e->polls));
    add(o, "failures", json_object_new_uint64(e->failures));
    return o;
}

char *ev_api_devices(const ev_httpd_view *v, const char *state_filter)
{
    struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
    for (size_t i = 0; v->status && i < ev_devstatus_count(v->status); i++) {
        const ev_devstatus_entry *e = ev_devstatus_at(v->status, i);
        if (state_matches(e->state, state_filter))
            json_object_array_add(arr, device_json(e));
    }
    add(o, "devices", arr);
    return finish(o);
}

char *ev_api_headroom(const ev_httpd_view *v)
{
    struct json_object *o = json_object_new_object();
    add(o, "headroom", points_of(v, "headroom", NULL));
    return finish(o);
}

char *ev_api_alerts(const ev_httpd_view *v)
{
    struct json_object *o = json_object_new_object();
    add(o, "alerts", points_of(v, "alert", ev_api_alert_active));
    return finish(o);
}
