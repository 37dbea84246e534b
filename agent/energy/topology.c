/*
 * topology.c - building the energy model's runtime tree from the config
 * (see topology.h). The config was checked by config_topology.c, so every
 * rack named by a device exists and mixed categories have a winner.
 */
#include "agent/energy/topology.h"

#include <stdlib.h>
#include <string.h>

#include "agent/config_topology.h"
#include "agent/energy/headroom.h"

/* A device as the builder sees it: its meter and where it sits. */
typedef struct {
    const ev_device_cfg *d;
    const char *row; /* resolved through its rack */
} placed;

static char *dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static const char *row_of_rack(const ev_topology_cfg *tc, const char *rack)
{
    for (size_t i = 0; i < tc->nrows; i++)
        for (size_t j = 0; j < tc->rows[i].nracks; j++)
            if (!strcmp(tc->rows[i].racks[j].name, rack))
                return tc->rows[i].name;
    return NULL;
}

static bool in_node(const ev_node *n, const placed *p)
{
    switch (n->kind) {
    case EV_NODE_HALL:
        return true;
    case EV_NODE_ROW:
        return p->row && !strcmp(p->row, n->row);
    case EV_NODE_RACK:
        return p->d->rack && !strcmp(p->d->rack, n->rack);
    case EV_NODE_FEED:
        return p->d->rack && p->d->feed && !strcmp(p->d->rack, n->rack) && !strcmp(p->d->feed, n->feed);
    }
    return false;
}

/* The category a scope's demand uses: the only one among its IT meters,
 * else the hall's it_category (BRIEF §2: one category per figure). For a
 * feed, its rack's. */
static unsigned scope_category(const ev_node *n, const placed *pl, size_t np, unsigned it_category)
{
    ev_node scope = *n;
    if (n->kind == EV_NODE_FEED)
        scope.kind = EV_NODE_RACK;
    unsigned seen = 0, only = 0;
    for (size_t i = 0; i < np; i++)
        if (pl[i].d->role == EV_ROLE_IT && in_node(&scope, &pl[i]) && !(seen & (1u << pl[i].d->category))) {
            seen |= 1u << pl[i].d->category;
            only = only ? 0 : pl[i].d->category;
            if (!only)
                return it_category;
        }
    return only;
}

static int add_members(ev_node *n, const placed *pl, const size_t *meter_of, size_t np, unsigned it_category)
{
    unsigned cat = scope_category(n, pl, np, it_category);
    n->meters = calloc(np ? np : 1, sizeof *n->meters);
    if (!n->meters)
        return -1;
    for (size_t i = 0; i < np; i++)
        if (pl[i].d->role == EV_ROLE_IT && pl[i].d->category == cat && in_node(n, &pl[i]))
            n->meters[n->nmeters++] = meter_of[i];
    return 0;
}

static ev_node *new_node(ev_topo *t, ev_node_kind kind, const char *row, const char *rack, const char *feed)
{
    ev_node *n = &t->nodes[t->nnodes];
    char *key = NULL;
    int rc = kind == EV_NODE_HALL ? asprintf(&key, "hall")
           : kind == EV_NODE_ROW  ? asprintf(&key, "row/%s", row)
           : kind == EV_NODE_RACK ? asprintf(&key, "rack/%s", rack)
                                  : asprintf(&key, "feed/%s/%s", rack, feed);
    if (rc < 0)
        return NULL;
    *n = (ev_node){.kind = kind, .key = key, .row = dup(row), .rack = dup(rack), .feed = dup(feed)};
    if (ev_peak_init(&n->peak, t->peak_days > t->trend_days ? t->peak_days : t->trend_days) < 0)
        return NULL;
    t->nnodes++;
    return n;
}

static void set_capacity(ev_node *n, const ev_capacity_cfg *c)
{
    if (c->capacity_w <= 0)
        return;
    n->has_capacity = true;
    n->capacity_w = c->capacity_w;
    n->usable_w = ev_usable_w(c->capacity_w, c->redundancy, c->units, c->derating_pct);
}

/* A rack and its feeds: capacity = the feeds' sum; dual-fed, usable = the
 * smaller side's usable (BRIEF §3, 2N: each side carries the whole load). */
static int add_rack(ev_topo *t, const ev_row_cfg *row, const ev_rack_cfg *rk)
{
    ev_node *rn = new_node(t, EV_NODE_RACK, row->name, rk->name, NULL);
    if (!rn)
        return -1;
    size_t ri = (size_t)(rn - t->nodes);
    double min_usable = 0, min_cap = 0;
    for (size_t f = 0; f < rk->nfeeds; f++) {
        const ev_feed_cfg *fc = &rk->feeds[f];
        ev_node *fn = new_node(t, EV_NODE_FEED, row->name, rk->name, fc->name);
        if (!fn)
            return -1;
        fn->has_capacity = true;
        fn->capacity_w = ev_feed_capacity_w(fc->voltage_v, fc->breaker_a, fc->phases);
        fn->usable_w = ev_usable_w(fn->capacity_w, EV_RED_N, 0, fc->derating_pct);
        rn = &t->nodes[ri];
        rn->capacity_w += fn->capacity_w;
        if (!f || fn->usable_w < min_usable)
            min_usable = fn->usable_w;
        if (!f || fn->capacity_w < min_cap)
            min_cap = fn->capacity_w;
    }
    rn->has_capacity = rk->nfeeds > 0;
    rn->dual = rk->nfeeds == 2;
    rn->usable_w = min_usable;
    rn->side_w = min_cap;
    return 0;
}

static size_t count_nodes(const ev_topology_cfg *tc)
{
    size_t n = 1;
    for (size_t i = 0; i < tc->nrows; i++) {
        n++;
        for (size_t j = 0; j < tc->rows[i].nracks; j++)
            n += 1 + tc->rows[i].racks[j].nfeeds;
    }
    return n;
}

static int build_nodes(ev_topo *t, const ev_topology_cfg *tc)
{
    t->nodes = calloc(count_nodes(tc), sizeof *t->nodes);
    if (!t->nodes || !new_node(t, EV_NODE_HALL, NULL, NULL, NULL))
        return -1;
    set_capacity(&t->nodes[0], &tc->hall);
    for (size_t i = 0; i < tc->nrows; i++) {
        ev_node *rn = new_node(t, EV_NODE_ROW, tc->rows[i].name, NULL, NULL);
        if (!rn)
            return -1;
        set_capacity(rn, &tc->rows[i].cap);
        for (size_t j = 0; j < tc->rows[i].nracks; j++)
            if (add_rack(t, &tc->rows[i], &tc->rows[i].racks[j]) < 0)
                return -1;
    }
    return 0;
}

static int build_meters(ev_topo *t, const ev_config *cfg, placed *pl, size_t *meter_of, size_t *np)
{
    const ev_topology_cfg *tc = cfg->topology;
    unsigned seen = 0;
    t->meters = calloc(cfg->ndevices ? cfg->ndevices : 1, sizeof *t->meters);
    if (!t->meters)
        return -1;
    for (size_t i = 0; i < cfg->ndevices; i++) {
        const ev_device_cfg *d = &cfg->devices[i];
        if (d->role != EV_ROLE_IT && d->role != EV_ROLE_FACILITY)
            continue;
        ev_meter *m = &t->meters[t->nmeters];
        *m = (ev_meter){.name = dup(d->name), .role = d->role, .category = d->category,
                        .wrap_wh = ev_meter_wrap_wh(d->profile), .last_report_ns = -1};
        if (!m->name)
            return -1;
        if (d->role == EV_ROLE_IT)
            seen |= 1u << d->category;
        pl[*np] = (placed){.d = d, .row = d->rack ? row_of_rack(tc, d->rack) : d->row};
        meter_of[(*np)++] = t->nmeters++;
    }
    t->category = tc->it_category;
    for (unsigned c = 1; c <= 3 && !t->category; c++)
        if (seen & (1u << c))
            t->category = c;
    for (size_t i = 0; i < t->nmeters; i++)
        t->meters[i].pue_it = t->meters[i].role == EV_ROLE_IT && t->meters[i].category == t->category;
    return 0;
}

ev_topo *ev_topo_build(const ev_config *cfg)
{
    const ev_topology_cfg *tc = cfg->topology;
    ev_topo *t = calloc(1, sizeof *t);
    placed *pl = calloc(cfg->ndevices + 1, sizeof *pl);
    size_t *meter_of = calloc(cfg->ndevices + 1, sizeof *meter_of), np = 0;
    if (!t || !pl || !meter_of)
        goto fail;
    *t = (ev_topo){.agent = dup(cfg->agent_id), .site = dup(cfg->site), .hall = dup(cfg->hall), .pue = tc->pue,
                   .peak_days = tc->peak_days, .trend_days = tc->trend_days,
                   .interval_ns = (int64_t)cfg->interval_ms * 1000000};
    ev_series_init(&t->facility);
    ev_series_init(&t->it);
    if (build_meters(t, cfg, pl, meter_of, &np) < 0 || build_nodes(t, tc) < 0)
        goto fail;
    for (size_t i = 0; i < t->nnodes; i++)
        if (add_members(&t->nodes[i], pl, meter_of, np, t->category) < 0)
            goto fail;
    /* the hall's demand is its PUE-category IT meters, whatever the mix */
    t->nodes[0].nmeters = 0;
    for (size_t i = 0; i < t->nmeters; i++)
        if (t->meters[i].pue_it)
            t->nodes[0].meters[t->nodes[0].nmeters++] = i;
    free(pl);
    free(meter_of);
    return t;
fail:
    free(pl);
    free(meter_of);
    ev_topo_free(t);
    return NULL;
}

void ev_topo_free(ev_topo *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nmeters; i++)
        free(t->meters[i].name);
    for (size_t i = 0; i < t->nnodes; i++) {
        ev_node *n = &t->nodes[i];
        free(n->key);
        free(n->row);
        free(n->rack);
        free(n->feed);
        free(n->meters);
        ev_peak_free(&n->peak);
    }
    free(t->meters);
    free(t->nodes);
    free(t->agent);
    free(t->site);
    free(t->hall);
    free(t);
}

ev_meter *ev_topo_meter(ev_topo *t, const char *name)
{
    for (size_t i = 0; i < t->nmeters; i++)
        if (!strcmp(t->meters[i].name, name))
            return &t->meters[i];
    return NULL;
}

ev_node *ev_topo_node(ev_topo *t, const char *key)
{
    for (size_t i = 0; i < t->nnodes; i++)
        if (!strcmp(t->nodes[i].key, key))
            return &t->nodes[i];
    return NULL;
}
