/*
 * reload.h - what a configuration reload (SIGHUP) may change in a running
 * agent, decided before anything is touched.
 *
 * Devices, profiles, SNMP settings, tags and the interval are applied live
 * (cmd_agent.c hands the devices to each collector's reconfigure op). The
 * agent's identity (id, site, hall) names its MQTT topics and tags every
 * point: a change there is refused and the running config kept. Output
 * settings (outputs:, spool:, http:) are not applied live, so that nothing
 * queued in an output is lost: the running outputs carry on and a warning
 * says a restart applies them. Messages name keys, never values (some are
 * secrets).
 */
#ifndef EVMON_RELOAD_H
#define EVMON_RELOAD_H

#include <stdbool.h>

#include "agent/config.h"

typedef struct {
    bool refuse;              /* keep the running config */
    char why[256];            /* when refused: which key and what to do */
    const char *outputs_key;  /* first output/spool/http setting that differs, or NULL */
    bool interval_changed;
} ev_reload_plan;

void ev_reload_plan_make(const ev_config *old, const ev_config *neu, ev_reload_plan *p);

#endif
