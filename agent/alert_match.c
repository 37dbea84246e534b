/*
 * alert_match.c - which points a rule watches: measurement, field and the
 * tag selector's globs (fnmatch(3), the shell's * ? [...] without the
 * special meaning of '/' or a leading '.'). Part of alert_rule.h.
 */
#include <fnmatch.h>
#include <string.h>

#include "agent/alert_rule.h"

static bool numeric(const ev_field *f)
{
    return f && f->type != EV_STR;
}

static bool tag_matches(const ev_alert_sel *s, const ev_point *p)
{
    const char *v = ev_point_get_tag(p, s->tag);
    if (!v)
        return false;
    for (size_t i = 0; i < s->nglobs; i++)
        if (fnmatch(s->globs[i], v, 0) == 0)
            return true;
    return false;
}

bool ev_alert_rule_matches(const ev_alert_rule *r, const ev_point *p)
{
    if (strcmp(r->measurement, p->measurement) || !numeric(ev_point_get_field(p, r->field)))
        return false;
    for (size_t i = 0; i < r->nsel; i++)
        if (!tag_matches(&r->sel[i], p))
            return false;
    return true;
}

const char *ev_alert_glob_problem(const char *g)
{
    if (!*g)
        return "empty pattern";
    for (const char *c = g; *c; c++) {
        if (*c == '\\') {
            if (!c[1])
                return "trailing '\\'";
            c++;
        } else if (*c == '[') {
            const char *e = c + 1;
            if (*e == '!' || *e == '^')
                e++;
            if (*e == ']') /* a leading ']' is a member */
                e++;
            while (*e && *e != ']')
                e++;
            if (!*e)
                return "'[' without a closing ']'";
            c = e;
        }
    }
    return NULL;
}
