/*
 * hub_reload.h - what a SIGHUP reload of the hub's file may change,
 * decided before anything is touched (the hub's twin of reload.h).
 *
 * Applied live (hub.c, ev_hub_reload): sites and their grid capacities and
 * expected halls, the cluster's name and target, stale_after, the roll-up
 * interval and the alert rules. Refused, the running file kept: the hub's
 * identity on the broker (hub.id, mqtt.url, mqtt.group, mqtt.client_id,
 * mqtt.topic_prefix), which names its persistent session, its shared
 * subscriptions and its status topic. Kept as they run, with a warning
 * that a restart applies them (so that the MQTT session and the InfluxDB
 * writer keep their queues): the other mqtt settings, influxdb, spool and
 * http. Messages name keys; values only of names and URLs, never secrets.
 * Pure: no I/O, unit-tested in tests/unit/test_hub_reload.c.
 */
#ifndef EVMON_HUB_RELOAD_H
#define EVMON_HUB_RELOAD_H

#include <stdbool.h>

#include "agent/hub_config.h"

typedef struct {
    bool refuse;          /* keep the running file */
    char why[320];        /* when refused: which key, and that it takes a restart */
    const char *kept_key; /* first setting that differs but is kept until a restart, or NULL */
    bool interval_changed;
} ev_hub_reload_plan;

void ev_hub_reload_plan_make(const ev_hub_config *old, const ev_hub_config *neu, ev_hub_reload_plan *p);

#endif
