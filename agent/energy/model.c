/*
 * model.c - device points -> energy in windows; the cycle's pue and
 * headroom points (see model.h).
 */
#include "agent/energy/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/energy/headroom.h"
#include "agent/energy/pue.h"

/* ---- feeding ---------------------------------------------------------- */

static ev_counter *counter_for(ev_meter *m, const char *key)
{
    for (size_t i = 0; i < m->nctr; i++)
        if (!strcmp(m->ctr_key[i], key))
            return &m->ctr[i];
    if (m->nctr == EV_METER_PARTS)
        return NULL;
    snprintf(m->ctr_key[m->nctr], sizeof m->ctr_key[0], "%s", key);
    m->ctr[m->nctr] = (ev_counter){0};
    return &m->ctr[m->nctr++];
}

/* Energy of this interval from the counters: BRIEF §2, counters whenever
 * they exist. false when a counter reset (the interval's energy is then
 * unknown). */
static bool counter_energy(ev_meter *m, const ev_meter_reading *r, int64_t ts, double *wh)
{
    bool reset = false;
    *wh = 0;
    for (size_t i = 0; i < r->n; i++) {
        ev_counter *c = counter_for(m, r->part[i].key);
        double d = 0;
        if (c && ev_counter_step(c, r->part[i].energy_wh, ts, m->wrap_wh, &d) == EV_CTR_RESET)
            reset = true;
        *wh += d;
    }
    return !reset;
}

void ev_model_feed(ev_topo *t, const char *device, const ev_batch *points)
{
    ev_meter *m = ev_topo_meter(t, device);
    ev_meter_reading r;
    if (!m || !points || !points->n || !ev_meter_read(points, m->role, &r))
        return;
    int64_t ts = points->pts[0].ts_ns;
    bool counters = true, power = false;
    double w = 0, wh = 0, est = 0;
    for (size_t i = 0; i < r.n; i++) {
        counters &= r.part[i].has_energy;
        power |= r.part[i].has_power;
        w += r.part[i].has_power ? r.part[i].power_w : 0;
    }
    double integrated = power ? ev_integrate_step(&m->integ, w, ts, 5 * t->interval_ns) : 0;
    if (counters && counter_energy(m, &r, ts, &wh)) {
        est = 0;
    } else { /* no counter, or it reset: integrate power, marked estimated */
        wh = est = integrated;
    }
    m->last_report_ns = ts;
    m->have_power = power;
    m->power_w = w;
    m->power_ns = ts;
    if (m->role == EV_ROLE_FACILITY)
        ev_series_add(&t->facility, ts, wh, est);
    else if (m->pue_it)
        ev_series_add(&t->it, ts, wh, est);
}

/* ---- the cycle's points --------------------------------------------------- */

static bool fresh(const ev_topo *t, const ev_meter *m, int64_t now)
{
    return m->have_power && now - m->power_ns <= 2 * t->interval_ns + t->interval_ns / 2;
}

static void base_tags(const ev_topo *t, ev_batch *b, ev_point *p, const char *scope)
{
    ev_point_tag(b, p, "agent", t->agent);
    ev_point_tag(b, p, "site", t->site);
    ev_point_tag(b, p, "hall", t->hall);
    ev_point_tag(b, p, "scope", scope);
}

static size_t add_pue_windows(ev_topo *t, int64_t now, ev_batch *out)
{
    size_t expected = 0, n = 0;
    char cat[12];
    snprintf(cat, sizeof cat, "%u", t->category);
    for (size_t i = 0; i < t->nmeters; i++)
        expected += t->meters[i].role == EV_ROLE_FACILITY || t->meters[i].pue_it;
    for (ev_window w = 0; w < EV_W_COUNT; w++) {
        double fwh, fest, iwh, iest;
        size_t reporting = 0;
        int64_t start = ev_window_start_ns(w, now);
        for (size_t i = 0; i < t->nmeters; i++) {
            const ev_meter *m = &t->meters[i];
            reporting += (m->role == EV_ROLE_FACILITY || m->pue_it) && m->last_report_ns >= start;
        }
        ev_series_sum(&t->facility, w, now, &fwh, &fest);
        ev_series_sum(&t->it, w, now, &iwh, &iest);
        ev_pue r = ev_pue_calc(fwh, iwh, expected, reporting);
        ev_point *p = ev_batch_add(out, "pue", now);
        if (!p)
            break;
        base_tags(t, out, p, "hall");
        ev_point_tag(out, p, "window", ev_window_name(w));
        ev_point_tag(out, p, "category", cat);
        ev_point_float(out, p, "facility_energy_wh", fwh);
        ev_point_float(out, p, "it_energy_wh", iwh);
        ev_point_float(out, p, "coverage", r.coverage);
        ev_point_bool(out, p, "partial", r.partial);
        ev_point_float(out, p, "meters_expected", (double)expected);
        ev_point_float(out, p, "meters_reporting", (double)reporting);
        if (r.has_pue) {
            ev_point_float(out, p, "pue", r.pue);
            ev_point_float(out, p, "dcie", r.dcie);
        }
        if (fest > 0 || iest > 0)
            ev_point_bool(out, p, "estimated", true);
        n++;
    }
    return n;
}

/* Facility and PUE-category IT power now, and how many of their meters are fresh. */
static void hall_power(const ev_topo *t, int64_t now, double *fac, double *it, size_t *nfresh, size_t *nexp)
{
    *fac = *it = 0;
    *nfresh = *nexp = 0;
    for (size_t i = 0; i < t->nmeters; i++) {
        const ev_meter *m = &t->meters[i];
        if (m->role != EV_ROLE_FACILITY && !m->pue_it)
            continue;
        (*nexp)++;
        if (!fresh(t, m, now))
            continue;
        (*nfresh)++;
        *(m->role == EV_ROLE_FACILITY ? fac : it) += m->power_w;
    }
}

/* BRIEF §2: category 0 is the only power-based PUE, tagged window=instant. */
static size_t add_pue_instant(ev_topo *t, int64_t now, ev_batch *out)
{
    double fac, it;
    size_t nfresh, nexp;
    hall_power(t, now, &fac, &it, &nfresh, &nexp);
    ev_pue r = ev_pue_calc(fac, it, nexp, nfresh);
    if (!r.has_pue)
        return 0;
    ev_point *p = ev_batch_add(out, "pue", now);
    if (!p)
        return 0;
    base_tags(t, out, p, "hall");
    ev_point_tag(out, p, "window", "instant");
    ev_point_tag(out, p, "category", "0");
    ev_point_float(out, p, "pue", r.pue);
    ev_point_float(out, p, "dcie", r.dcie);
    ev_point_float(out, p, "facility_power_w", fac);
    ev_point_float(out, p, "it_power_w", it);
    ev_point_float(out, p, "coverage", r.coverage);
    ev_point_bool(out, p, "partial", r.partial);
    return 1;
}

static const char *scope_name(ev_node_kind k)
{
    static const char *const names[] = {"hall", "row", "rack", "feed"};
    return names[k];
}

static bool node_demand(const ev_topo *t, const ev_node *n, int64_t now, double *w)
{
    bool any = false;
    *w = 0;
    for (size_t i = 0; i < n->nmeters; i++) {
        const ev_meter *m = &t->meters[n->meters[i]];
        if (fresh(t, m, now)) {
            *w += m->power_w;
            any = true;
        }
    }
    return any;
}

static size_t add_headroom(ev_topo *t, ev_node *n, int64_t now, ev_batch *out, double *x, double *y)
{
    double demand, peak, days;
    if (!node_demand(t, n, now, &demand))
        return 0;
    ev_peak_add(&n->peak, now, demand);
    if (!n->has_capacity || !ev_peak_value(&n->peak, now, t->peak_days, &peak))
        return 0;
    ev_headroom h = ev_headroom_calc(n->usable_w, peak);
    ev_point *p = ev_batch_add(out, "headroom", now);
    if (!p)
        return 0;
    base_tags(t, out, p, scope_name(n->kind));
    ev_point_tag(out, p, "row", n->row);
    ev_point_tag(out, p, "rack", n->rack);
    ev_point_tag(out, p, "feed", n->feed);
    ev_point_float(out, p, "capacity_w", n->capacity_w);
    ev_point_float(out, p, "usable_w", n->usable_w);
    ev_point_float(out, p, "demand_w", demand);
    ev_point_float(out, p, "peak_w", peak);
    ev_point_float(out, p, "headroom_w", h.headroom_w);
    ev_point_float(out, p, "headroom_pct", h.headroom_pct);
    if (n->kind == EV_NODE_HALL) {
        double fac, it;
        size_t nfresh, nexp;
        hall_power(t, now, &fac, &it, &nfresh, &nexp);
        ev_point_float(out, p, "facility_power_w", fac);
        ev_point_float(out, p, "it_power_w", it);
    }
    if (n->dual)
        ev_point_float(out, p, "arc_w", ev_arc_w(n->side_w, demand));
    size_t nd = ev_peak_daily(&n->peak, now, t->trend_days, x, y, t->trend_days);
    if (ev_days_to_exhaustion(x, y, nd, (double)(now / EV_DAY_NS), n->usable_w, &days))
        ev_point_float(out, p, "days_to_exhaustion", days);
    return 1;
}

size_t ev_model_points(ev_topo *t, int64_t ts_ns, ev_batch *out)
{
    size_t n = 0;
    double *x = malloc((t->trend_days + 1) * sizeof *x), *y = malloc((t->trend_days + 1) * sizeof *y);
    if (!x || !y)
        goto out;
    if (t->pue && t->category) {
        n += add_pue_windows(t, ts_ns, out);
        n += add_pue_instant(t, ts_ns, out);
    }
    for (size_t i = 0; i < t->nnodes; i++)
        n += add_headroom(t, &t->nodes[i], ts_ns, out, x, y);
out:
    free(x);
    free(y);
    return n;
}
