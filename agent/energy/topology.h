/*
 * topology.h - the energy model's runtime tree, built from the config's
 * `topology:` section and its devices (private to agent/energy/).
 *
 * Nodes are the levels with a capacity (BRIEF §3): the hall, its rows,
 * racks and feeds, each with its usable capacity worked out once
 * (headroom.h), the meters whose power is its demand, and its peak
 * tracker. Meters are the devices with role facility or it; an IT meter
 * counts in a scope only with the scope's category (the only one present,
 * or topology.hall.it_category where they mix), so a UPS output and the
 * PDUs below it never add the same load twice. Everything is copied out of
 * the config: a reload may free it.
 */
#ifndef EVMON_ENERGY_TOPOLOGY_H
#define EVMON_ENERGY_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/config.h"
#include "agent/energy/counter.h"
#include "agent/energy/integrate.h"
#include "agent/energy/meter.h"
#include "agent/energy/peak.h"
#include "agent/energy/window.h"

typedef enum { EV_NODE_HALL, EV_NODE_ROW, EV_NODE_RACK, EV_NODE_FEED } ev_node_kind;

typedef struct {
    ev_node_kind kind;
    char *key;                 /* "hall", "row/R", "rack/K", "feed/K/A": state file key */
    char *row, *rack, *feed;   /* tags (NULL where they do not apply) */
    bool has_capacity;
    double capacity_w, usable_w;
    bool dual;                 /* rack fed by A and B (2N) */
    double side_w;             /* dual: the smaller side's capacity, for ARC */
    size_t *meters;            /* indexes into ev_topo.meters */
    size_t nmeters;
    ev_peak peak;
} ev_node;

typedef struct {
    char *name;
    ev_role role;
    unsigned category;
    bool pue_it;               /* an IT meter of the hall's PUE category */
    double wrap_wh;
    ev_counter ctr[EV_METER_PARTS];
    char ctr_key[EV_METER_PARTS][32];
    size_t nctr;
    ev_integrator integ;
    int64_t last_report_ns;    /* -1: never */
    bool have_power;
    double power_w;
    int64_t power_ns;
} ev_meter;

typedef struct {
    char *agent, *site, *hall;
    unsigned category;         /* the hall's PUE category (1..3), 0 without IT meters */
    bool pue;
    unsigned peak_days, trend_days;
    int64_t interval_ns;
    ev_meter *meters;
    size_t nmeters;
    ev_node *nodes;            /* nodes[0] is the hall */
    size_t nnodes;
    ev_series facility, it;    /* hall energy: facility meters, PUE-category IT meters */
} ev_topo;

/* NULL when out of memory. cfg->topology must be set. */
ev_topo *ev_topo_build(const ev_config *cfg);
void ev_topo_free(ev_topo *t);
ev_meter *ev_topo_meter(ev_topo *t, const char *name);
ev_node *ev_topo_node(ev_topo *t, const char *key);

#endif
