/*
 * meter.c - a device's points -> its meter reading, and its counter's wrap
 * span (see meter.h). The span needs the energy metric's scale, which only
 * the profile's in-memory form knows: this is the one reader of
 * profile_priv.h outside the profile code, and it only reads.
 */
#include "agent/energy/meter.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "agent/profile.h"
#include "agent/profile_priv.h"

static bool wanted(const ev_point *p, ev_role role)
{
    const char *phase = ev_point_get_tag(p, "phase"), *side = ev_point_get_tag(p, "side");
    if (strcmp(p->measurement, "power") || !phase || strcmp(phase, "total"))
        return false;
    if (ev_point_get_tag(p, "outlet") || ev_point_get_tag(p, "breaker"))
        return false;
    return !side || !strcmp(side, role == EV_ROLE_FACILITY ? "input" : "output");
}

static ev_meter_part *part_for(ev_meter_reading *r, const char *key)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->part[i].key, key))
            return &r->part[i];
    if (r->n == EV_METER_PARTS)
        return NULL;
    ev_meter_part *m = &r->part[r->n++];
    *m = (ev_meter_part){0};
    snprintf(m->key, sizeof m->key, "%s", key);
    for (char *c = m->key; *c; c++) /* one token in the state file */
        if (*c == ' ' || *c == '\t')
            *c = '_';
    return m;
}

size_t ev_meter_read(const ev_batch *b, ev_role role, ev_meter_reading *r)
{
    r->n = 0;
    for (size_t i = 0; b && i < b->n; i++) {
        const ev_point *p = &b->pts[i];
        if (!wanted(p, role))
            continue;
        const char *inlet = ev_point_get_tag(p, "inlet");
        const ev_field *e = ev_point_get_field(p, "energy_wh"), *w = ev_point_get_field(p, "active_power_w");
        bool he = e && e->type == EV_FLOAT && isfinite(e->v.f), hw = w && w->type == EV_FLOAT && isfinite(w->v.f);
        if (!he && !hw)
            continue;
        ev_meter_part *m = part_for(r, inlet ? inlet : "-");
        if (!m)
            continue;
        if (he) {
            m->has_energy = true;
            m->energy_wh = e->v.f;
        }
        if (hw) {
            m->has_power = true;
            m->power_w = w->v.f;
        }
    }
    return r->n;
}

static bool tagged_total(const ev_metric *m)
{
    for (size_t i = 0; i < m->ntags; i++)
        if (!strcmp(m->tags[i].key, "phase"))
            return m->tags[i].literal && !strcmp(m->tags[i].literal, "total");
    return false;
}

double ev_meter_wrap_wh(const ev_profile *p)
{
    if (!p || p->protocol != EV_PROTO_SNMP)
        return 0;
    for (size_t i = 0; i < p->nmetrics; i++) {
        const ev_metric *m = &p->metrics[i];
        if (strcmp(m->measurement, "power") || strcmp(m->field, "energy_wh") || !tagged_total(m))
            continue;
        if (m->decimals_col != EV_NO_COL || m->si_scale_col != EV_NO_COL || m->sum)
            return 0; /* the scale is read from the device, or several counters are summed */
        return 4294967296.0 * (double)m->scale_m * pow(10, m->scale_e);
    }
    return 0;
}
