/*
 * config_topology.h - the `topology:` section of the agent's config, typed.
 *
 * The electrical tree one agent sees (BRIEF §3): its hall (capacity,
 * redundancy, derating, which IT measurement category its PUE uses), the
 * hall's rows (busway capacity) and racks, and each rack's feeds A/B
 * (breaker amps, voltage, phases). Devices attach to it through their own
 * row/rack/feed/role/category keys (config.h). Cluster and site capacities
 * are the hub's business, not the agent's. Read by agent/config_topology.c;
 * the energy model (agent/energy/) builds its runtime tree from it.
 */
#ifndef EVMON_CONFIG_TOPOLOGY_H
#define EVMON_CONFIG_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { EV_RED_N, EV_RED_N1, EV_RED_2N } ev_redundancy;
const char *ev_redundancy_name(ev_redundancy r); /* "N", "N+1", "2N" */

/* A rated capacity with what makes part of it unusable (BRIEF §3). */
typedef struct {
    double capacity_w;        /* 0: not given */
    ev_redundancy redundancy; /* default N */
    unsigned units;           /* N+1: installed units k (>= 2) */
    unsigned derating_pct;    /* continuous-load limit, 1..100 */
} ev_capacity_cfg;

typedef struct {
    char *name;               /* "A" or "B" */
    unsigned breaker_a, voltage_v, phases; /* phases 1 or 3 */
    unsigned derating_pct;    /* default 80; 100 for 100 %-rated breakers */
    unsigned line;
} ev_feed_cfg;

typedef struct {
    char *name;
    ev_feed_cfg feeds[2];
    size_t nfeeds;
    unsigned line;
} ev_rack_cfg;

typedef struct {
    ev_capacity_cfg cap;      /* first: the capacity readers cast to it; derating default 80 (busway breaker) */
    char *name;
    ev_rack_cfg *racks;
    size_t nracks;
    unsigned line;
} ev_row_cfg;

typedef struct ev_topology_cfg {
    ev_capacity_cfg hall;     /* first (as above); capacity required; derating default 100 (UPS kW rating) */
    unsigned line;            /* of the `topology:` key */
    unsigned it_category;     /* 1..3: the category PUE and demand use where meters mix; 0 = not said */
    bool pue;                 /* PUE asked for (default true): needs a facility meter */
    unsigned peak_days;       /* trailing period of the 15-min peak, default 30 */
    unsigned trend_days;      /* least-squares window of daily peaks, default 30 */
    char *state_file;         /* NULL: windows do not survive a restart */
    unsigned state_interval_ms; /* how often the state file is written, default 60 s */
    ev_row_cfg *rows;
    size_t nrows;
} ev_topology_cfg;

void ev_topology_cfg_free(struct ev_topology_cfg *t);

#endif
