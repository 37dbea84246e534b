/*
 * config_topology_read.h - how config.c reads and checks the `topology:`
 * section (agent/config_topology.c); private to agent/config*.c.
 */
#ifndef EVMON_CONFIG_TOPOLOGY_READ_H
#define EVMON_CONFIG_TOPOLOGY_READ_H

#include "agent/config_read.h"

/* Top-level table entry: reads `topology:` into ((ev_config *)obj)->topology. */
void cfg_topology(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label);
/* After devices are read: checks that the devices and the topology can
 * work together (unknown racks, mixed categories, PUE without a facility
 * meter), each problem at the device's or the topology's line. */
void cfg_topology_check(cfg_ctx *cx, ev_config *c);

/* "2GW", "1.5 MW", "400kW", "22000W" or a bare number of watts -> W; -1 on error. */
double cfg_parse_power_w(const char *s);

#endif
