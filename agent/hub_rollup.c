/*
 * hub_rollup.c - cluster and site roll-up of hall summaries (hub_rollup.h).
 *
 * One pass over the halls of a scope (the cluster, or one site) sums into
 * an accumulator; the accumulator becomes the scope's pue points (one per
 * window) and its headroom point.
 */
#include "agent/hub_rollup.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    bool any;                 /* some hall of the scope ever reported this window */
    double facility_wh, it_wh;
    double meters_expected, meters_reporting;
    int cat_min, cat_max;     /* over reporting halls that gave one; -1 none */
    bool estimated;
} win_acc;

typedef struct {
    win_acc win[EV_HUB_NWIN];
    unsigned halls_expected, halls_reporting;
    bool any_headroom;
    double demand_w, facility_power_w, it_power_w, peak_w, growth_w_per_day;
} acc;

/* Facility over IT power for a hall, 1 when either is unknown. */
static double facility_ratio(const ev_hub_hall *h)
{
    return h->facility_power_w > 0 && h->it_power_w > 0 ? h->facility_power_w / h->it_power_w : 1.0;
}

static void add_window(win_acc *w, const ev_hub_win *hw, bool seen, bool live)
{
    if (!seen) { /* expected, never heard of: its meters are unknown, count one missing */
        w->meters_expected += 1;
        return;
    }
    if (!hw->have)
        return;
    w->any = true;
    w->meters_expected += hw->meters_expected;
    if (!live)
        return;
    w->facility_wh += hw->facility_wh;
    w->it_wh += hw->it_wh;
    w->meters_reporting += hw->meters_reporting;
    w->estimated |= hw->estimated;
    if (hw->category >= 0) {
        if (w->cat_min < 0 || hw->category < w->cat_min)
            w->cat_min = hw->category;
        if (hw->category > w->cat_max)
            w->cat_max = hw->category;
    }
}

static void add_headroom(acc *a, const ev_hub_hall *h, bool live)
{
    if (!h->have_headroom)
        return;
    double ratio = facility_ratio(h);
    a->any_headroom = true;
    a->peak_w += h->peak_w * ratio; /* missing halls too: their last known peak */
    if (h->days_to_exhaustion > 0 && h->headroom_w > 0)
        a->growth_w_per_day += h->headroom_w / h->days_to_exhaustion * ratio;
    if (!live)
        return;
    a->demand_w += h->facility_power_w > 0 ? h->facility_power_w : h->demand_w * ratio;
    a->facility_power_w += h->facility_power_w;
    a->it_power_w += h->it_power_w;
}

static void accumulate(acc *a, const ev_hub_state *st, const char *site, int64_t now_ns, int64_t stale_ns)
{
    memset(a, 0, sizeof *a);
    for (int w = 0; w < EV_HUB_NWIN; w++)
        a->win[w].cat_min = a->win[w].cat_max = -1;
    for (size_t i = 0; i < st->nhalls; i++) {
        const ev_hub_hall *h = &st->halls[i];
        if (site && strcmp(h->site, site))
            continue;
        bool live = ev_hub_hall_live(st, h, now_ns, stale_ns);
        a->halls_expected++;
        a->halls_reporting += live;
        for (int w = 0; w < EV_HUB_NWIN; w++)
            add_window(&a->win[w], &h->win[w], h->seen, live);
        add_headroom(a, h, live);
    }
}

/* ---- points ------------------------------------------------------------ */

static ev_point *scope_point(ev_batch *out, const char *m, const ev_hub_config *cfg, const char *site, int64_t ts)
{
    ev_point *p = ev_batch_add(out, m, ts);
    if (!p || ev_point_tag(out, p, "cluster", cfg->cluster_name) < 0 ||
        ev_point_tag(out, p, "scope", site ? "site" : "cluster") < 0 || ev_point_tag(out, p, "site", site) < 0)
        return NULL;
    return p;
}

static int counts(ev_batch *out, ev_point *p, const acc *a, bool partial)
{
    return ev_point_int(out, p, "halls_expected", a->halls_expected) |
           ev_point_int(out, p, "halls_reporting", a->halls_reporting) | ev_point_bool(out, p, "partial", partial);
}

static int pue_point(ev_batch *out, const acc *a, int w, const ev_hub_config *cfg, const char *site, int64_t ts)
{
    const win_acc *wa = &a->win[w];
    ev_point *p = scope_point(out, "pue", cfg, site, ts);
    if (!p)
        return -1;
    char cat[8];
    snprintf(cat, sizeof cat, "%d", wa->cat_min);
    double coverage = wa->meters_expected > 0 ? wa->meters_reporting / wa->meters_expected : 0;
    bool partial = coverage < 1 || a->halls_reporting < a->halls_expected;
    int rc = ev_point_tag(out, p, "window", ev_hub_windows[w]);
    if (wa->cat_min >= 0)
        rc |= ev_point_tag(out, p, "category", cat);
    if (wa->it_wh > 0) { /* BRIEF §2: no PUE without IT energy (not infinity, not 0) */
        rc |= ev_point_float(out, p, "pue", wa->facility_wh / wa->it_wh);
        if (wa->facility_wh > 0)
            rc |= ev_point_float(out, p, "dcie", wa->it_wh / wa->facility_wh);
    }
    rc |= ev_point_float(out, p, "facility_energy_wh", wa->facility_wh);
    rc |= ev_point_float(out, p, "it_energy_wh", wa->it_wh);
    rc |= ev_point_float(out, p, "coverage", coverage);
    rc |= ev_point_float(out, p, "meters_expected", wa->meters_expected);
    rc |= ev_point_float(out, p, "meters_reporting", wa->meters_reporting);
    rc |= counts(out, p, a, partial);
    if (wa->estimated)
        rc |= ev_point_bool(out, p, "estimated", true);
    if (wa->cat_min != wa->cat_max)
        rc |= ev_point_bool(out, p, "mixed_categories", true);
    return rc ? -1 : 0;
}

static int headroom_point(ev_batch *out, const acc *a, double capacity_w, const ev_hub_config *cfg, const char *site,
                          int64_t ts)
{
    ev_point *p = scope_point(out, "headroom", cfg, site, ts);
    if (!p)
        return -1;
    int rc = ev_point_float(out, p, "demand_w", a->demand_w);
    rc |= ev_point_float(out, p, "peak_w", a->peak_w);
    rc |= ev_point_float(out, p, "facility_power_w", a->facility_power_w);
    rc |= ev_point_float(out, p, "it_power_w", a->it_power_w);
    if (capacity_w > 0) {
        double headroom = capacity_w - a->peak_w;
        rc |= ev_point_float(out, p, "capacity_w", capacity_w);
        rc |= ev_point_float(out, p, "usable_w", capacity_w);
        rc |= ev_point_float(out, p, "headroom_w", headroom);
        rc |= ev_point_float(out, p, "headroom_pct", 100.0 * headroom / capacity_w);
        if (headroom <= 0)
            rc |= ev_point_float(out, p, "days_to_exhaustion", 0);
        else if (a->growth_w_per_day > 0) /* none when flat or falling (BRIEF §3) */
            rc |= ev_point_float(out, p, "days_to_exhaustion", headroom / a->growth_w_per_day);
    }
    rc |= counts(out, p, a, a->halls_reporting < a->halls_expected);
    return rc ? -1 : 0;
}

static int scope_points(ev_batch *out, const ev_hub_state *st, const ev_hub_config *cfg, const char *site,
                        double capacity_w, int64_t now_ns, int64_t ts)
{
    acc a;
    accumulate(&a, st, site, now_ns, (int64_t)cfg->stale_after_ms * 1000000);
    if (!a.halls_expected)
        return 0;
    for (int w = 0; w < EV_HUB_NWIN; w++)
        if (a.win[w].any && pue_point(out, &a, w, cfg, site, ts) < 0)
            return -1;
    if ((a.any_headroom || capacity_w > 0) && headroom_point(out, &a, capacity_w, cfg, site, ts) < 0)
        return -1;
    return 0;
}

static bool site_configured(const ev_hub_config *cfg, const char *site)
{
    for (size_t i = 0; i < cfg->nsites; i++)
        if (!strcmp(cfg->sites[i].name, site))
            return true;
    return false;
}

static bool site_done_before(const ev_hub_state *st, size_t idx)
{
    for (size_t i = 0; i < idx; i++)
        if (!strcmp(st->halls[i].site, st->halls[idx].site))
            return true;
    return false;
}

int ev_hub_rollup(const ev_hub_state *st, const ev_hub_config *cfg, int64_t now_ns, int64_t ts_ns, ev_batch *out)
{
    if (scope_points(out, st, cfg, NULL, cfg->target_w, now_ns, ts_ns) < 0)
        return -1;
    for (size_t i = 0; i < cfg->nsites; i++)
        if (scope_points(out, st, cfg, cfg->sites[i].name, cfg->sites[i].grid_capacity_w, now_ns, ts_ns) < 0)
            return -1;
    for (size_t i = 0; i < st->nhalls; i++) {
        const char *site = st->halls[i].site;
        if (!site_configured(cfg, site) && !site_done_before(st, i) &&
            scope_points(out, st, cfg, site, 0, now_ns, ts_ns) < 0)
            return -1;
    }
    return 0;
}
