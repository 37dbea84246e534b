/*
 * alert_template.c - an alert's description: the rule's template with
 * {placeholders} filled from the alert (alert_engine.h lists them), or a
 * default sentence. Unknown placeholders render empty, like a missing tag:
 * a template cannot know every tag a series will carry.
 */
#include <string.h>

#include "agent/alert_engine.h"

static const char *tag_of(const ev_alert *a, const char *key)
{
    for (size_t i = 0; i < a->ntags; i++)
        if (!strcmp(a->tags[i].key, key))
            return a->tags[i].val;
    return "";
}

static void put_num(ev_buf *out, double v)
{
    ev_buf_printf(out, "%.6g", v);
}

static void placeholder(const ev_alert *a, const char *name, ev_buf *out)
{
    const ev_alert_rule *r = a->rule;
    char b[160];
    if (!strcmp(name, "value"))
        put_num(out, a->value);
    else if (!strcmp(name, "threshold"))
        put_num(out, a->threshold);
    else if (!strcmp(name, "severity"))
        ev_buf_puts(out, ev_alert_level_name(a->level != EV_ALERT_OK ? a->level : a->prev));
    else if (!strcmp(name, "state"))
        ev_buf_puts(out, a->level != EV_ALERT_OK ? "firing" : "resolved");
    else if (!strcmp(name, "rule"))
        ev_buf_puts(out, r->name);
    else if (!strcmp(name, "alertname"))
        ev_buf_puts(out, ev_alert_name(a, b, sizeof b));
    else if (!strcmp(name, "measurement"))
        ev_buf_puts(out, a->measurement ? a->measurement : "");
    else if (!strcmp(name, "field"))
        ev_buf_puts(out, r->field ? r->field : "");
    else if (!strcmp(name, "direction"))
        ev_buf_puts(out, r->dir == EV_ALERT_ABOVE ? "above" : "below");
    else
        ev_buf_puts(out, tag_of(a, name));
}

static void render(const ev_alert *a, const char *t, ev_buf *out)
{
    while (*t) {
        const char *open = strchr(t, '{'), *close = open ? strchr(open, '}') : NULL;
        if (!open || !close) {
            ev_buf_puts(out, t);
            return;
        }
        ev_buf_put(out, t, (size_t)(open - t));
        char name[64];
        size_t n = (size_t)(close - open - 1);
        if (n >= sizeof name)
            n = sizeof name - 1;
        memcpy(name, open + 1, n);
        name[n] = 0;
        placeholder(a, name, out);
        t = close + 1;
    }
}

/* "<where>: power.load_pct 85 above 80" */
static void default_sentence(const ev_alert *a, ev_buf *out)
{
    const char *where = tag_of(a, "device");
    if (!*where)
        where = tag_of(a, "scope");
    if (*where)
        ev_buf_printf(out, "%s: ", where);
    if (a->missing) {
        ev_buf_printf(out, "no %s.%s for more than %.6gs", a->measurement, a->rule->field, a->threshold);
        return;
    }
    ev_buf_printf(out, "%s.%s ", a->measurement, a->rule->field);
    put_num(out, a->value);
    ev_buf_puts(out, a->level == EV_ALERT_OK ? " back at or " : " ");
    ev_buf_puts(out, (a->rule->dir == EV_ALERT_ABOVE) == (a->level != EV_ALERT_OK) ? "above " : "below ");
    put_num(out, a->threshold);
}

void ev_alert_describe(const ev_alert *a, ev_buf *out)
{
    if (a->rule->description && !a->missing)
        render(a, a->rule->description, out);
    else
        default_sentence(a, out);
}
