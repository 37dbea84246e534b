/*
 * alert_notify.c - topic, point and log line of an alert state change
 * (alert_notify.h).
 */
#include "agent/alert_notify.h"

#include <string.h>

#include "agent/log.h"

static const char *tag_of(const ev_alert *a, const char *key)
{
    for (size_t i = 0; i < a->ntags; i++)
        if (!strcmp(a->tags[i].key, key))
            return a->tags[i].val;
    return NULL;
}

static void put_level(ev_buf *out, const char *v)
{
    ev_buf_putc(out, '/');
    for (; *v; v++)
        ev_buf_putc(out, strchr("/+#", *v) ? '_' : *v);
}

void ev_alert_topic(const ev_alert *a, ev_buf *out)
{
    static const char *const ordered[] = {"site", "hall", "scope", "row", "rack", "feed", "device"};
    static const char *const skipped[] = {"role", "agent"};
    const size_t nord = sizeof ordered / sizeof ordered[0];
    bool has_device = tag_of(a, "device") != NULL;
    char name[160];

    ev_buf_puts(out, "alerts");
    for (size_t i = 0; i < nord; i++) {
        const char *v = tag_of(a, ordered[i]);
        bool placed = i >= 3 && i <= 5;
        if (v && !(placed && has_device))
            put_level(out, v);
    }
    for (size_t i = 0; i < a->ntags; i++) { /* the rest, already in key order */
        bool known = false;
        for (size_t j = 0; j < nord; j++)
            known |= !strcmp(a->tags[i].key, ordered[j]);
        for (size_t j = 0; j < sizeof skipped / sizeof skipped[0]; j++)
            known |= !strcmp(a->tags[i].key, skipped[j]);
        if (!known)
            put_level(out, a->tags[i].val);
    }
    put_level(out, ev_alert_name(a, name, sizeof name));
}

int ev_alert_add_point(ev_batch *b, const ev_alert *a)
{
    char name[160];
    ev_buf desc;
    ev_point *p = ev_batch_add(b, "alert", a->at_ns);
    if (!p)
        return -1;
    bool firing = a->level != EV_ALERT_OK;
    int rc = 0;
    for (size_t i = 0; i < a->ntags; i++)
        rc |= ev_point_tag(b, p, a->tags[i].key, a->tags[i].val);
    rc |= ev_point_tag(b, p, "alertname", ev_alert_name(a, name, sizeof name));
    rc |= ev_point_str(b, p, "state", firing ? "firing" : "resolved");
    rc |= ev_point_str(b, p, "severity", ev_alert_level_name(firing ? a->level : a->prev));
    rc |= ev_point_float(b, p, "level", (double)a->level);
    rc |= ev_point_float(b, p, "value", a->value);
    rc |= ev_point_float(b, p, "threshold", a->threshold);
    ev_buf_init(&desc);
    ev_alert_describe(a, &desc);
    rc |= ev_point_str(b, p, "description", ev_buf_cstr(&desc));
    ev_buf_free(&desc);
    return rc ? -1 : 0;
}

void ev_alert_log(const ev_alert *a)
{
    char name[160];
    ev_buf where, desc;
    ev_buf_init(&where);
    ev_buf_init(&desc);
    for (size_t i = 0; i < a->ntags; i++)
        ev_buf_printf(&where, "%s%s=%s", i ? "," : "", a->tags[i].key, a->tags[i].val);
    ev_alert_describe(a, &desc);
    ev_alert_name(a, name, sizeof name);
    if (a->level > a->prev)
        ev_warn("alert %s %s %s: %s [%s]", name, a->prev == EV_ALERT_OK ? "FIRING" : "RAISED",
                ev_alert_level_name(a->level), ev_buf_cstr(&desc), ev_buf_cstr(&where));
    else if (a->level != EV_ALERT_OK)
        ev_notice("alert %s LOWERED %s: %s [%s]", name, ev_alert_level_name(a->level), ev_buf_cstr(&desc),
                  ev_buf_cstr(&where));
    else
        ev_notice("alert %s RESOLVED (was %s): %s [%s]", name, ev_alert_level_name(a->prev), ev_buf_cstr(&desc),
                  ev_buf_cstr(&where));
    ev_buf_free(&where);
    ev_buf_free(&desc);
}
