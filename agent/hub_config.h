/*
 * hub_config.h - the hub's YAML file, typed (read by config_hub.c).
 *
 * The hub's file has its own top-level shape, told apart from an agent's
 * by its `hub:` key:
 *
 *   hub:      {id, interval, stale_after}
 *   mqtt:     {url, group, client_id, username, password, ca_file, topic_prefix, qos}
 *   influxdb: the same keys as an agent's outputs.influxdb
 *   spool:    the agent's spool: section (config_spool.c): the writer's disk spool
 *   cluster:  {name, target}                 target: a power, default 2GW
 *   sites:    [{name, grid_capacity, halls: [names]}]
 *   http:     the agent's http: section (config_http.c): the page and the API
 *   alerts:   the agent's alerts: section (alert_cfg.h): cluster-level rules
 *
 * Powers are written "2GW", "1.5 MW", "800kW", "500W" or a bare number of
 * watts. Every problem is reported as FILE:LINE: message (config_read.h).
 */
#ifndef EVMON_HUB_CONFIG_H
#define EVMON_HUB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/config.h"
#include "agent/diag.h"

#define EV_HUB_DEFAULT_GROUP "evmon-hub"
#define EV_HUB_DEFAULT_TARGET_W 2e9 /* the regional 2 GW target (BRIEF §1) */

typedef struct {
    char *name;
    double grid_capacity_w; /* 0: not given (no site headroom) */
    char **halls;           /* halls expected to report (may be empty) */
    size_t nhalls;
    unsigned line;
} ev_hub_site_cfg;

typedef struct {
    char *path;
    char *id;                /* required; also the MQTT client id unless mqtt.client_id */
    unsigned interval_ms;    /* roll-up period, default 10 s */
    unsigned stale_after_ms; /* a hall summary older than this is missing; default 2 min */
    ev_mqtt_cfg mqtt;        /* url, client_id, username, password, topic_prefix, qos */
    char *group;             /* shared-subscription group, default "evmon-hub" */
    /* The sections an agent's file has too, read by the agent's readers:
     * ->influx (the InfluxDB output), ->spool (its disk spool), ->http (the built-in server),
     * ->alerts (NULL: no rules). For the HTTP view it also carries the
     * hub's identity: ->agent_id = id, ->interval_ms = interval_ms. */
    ev_config *store;
    char *cluster_name;      /* default "cluster" */
    double target_w;         /* default 2 GW */
    ev_hub_site_cfg *sites;
    size_t nsites;
} ev_hub_config;

/* Load and validate; NULL with every problem in diag. */
ev_hub_config *ev_hub_config_load(const char *path, ev_diag *diag);
void ev_hub_config_free(ev_hub_config *c);

/* Whose file path is, by its top-level keys: a hub's (`hub:`, whatever
 * else it holds), an agent's (`agent:`), a YAML mapping with neither, or
 * something else (unreadable, not YAML, not a mapping: the loaders say
 * why). For the commands that take either file (check, headroom, alerts). */
typedef enum {
    EV_CONFIG_UNREADABLE,
    EV_CONFIG_NEITHER,
    EV_CONFIG_AGENT,
    EV_CONFIG_HUB,
} ev_config_kind;
ev_config_kind ev_config_kind_of(const char *path);

/* True when path holds a YAML mapping with a top-level `hub:` key (a hub
 * file, for `evmon check`). False for anything else, unreadable included. */
bool ev_hub_config_detect(const char *path);

/* "2GW", "1.5 MW", "800kW", "500W", "2e9" -> watts; -1 when not a power. */
double ev_parse_power_w(const char *s);

#endif
