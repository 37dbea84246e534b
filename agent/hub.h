/*
 * hub.h - the hub role (`evmon hub`): MQTT in (hub_mqtt.h), every
 * payload parsed (lineparse.h) and written to InfluxDB through the usual
 * output (outputs/output.h), hall summaries and agent status kept
 * (hub_state.h), and on a wall-clock-aligned timer the cluster and site
 * roll-up (hub_rollup.h) written to InfluxDB and published retained on
 * <prefix>/cluster/summary and <prefix>/<site>/summary.
 *
 * A malformed message is counted and logged once per source (agent, or
 * site/hall until its agent is known), never fatal. Runs on the caller's
 * event loop; cmd_hub.c owns the process (signals, reload, lifetime).
 */
#ifndef EVMON_HUB_H
#define EVMON_HUB_H

#include <stdint.h>

#include "agent/hub_config.h"
#include "agent/loop.h"

typedef struct ev_hub ev_hub;

typedef struct {
    uint64_t messages;   /* handled */
    uint64_t points;     /* parsed and handed to InfluxDB */
    uint64_t malformed;  /* messages with a bad line, or breaking the summary contract */
    uint64_t rollups;    /* roll-ups published */
} ev_hub_stats;

/* Open the InfluxDB output and the MQTT client, start the roll-up timer.
 * cfg must outlive the hub. NULL with a logged reason. */
ev_hub *ev_hub_new(const ev_hub_config *cfg, ev_loop *loop);
void ev_hub_get_stats(const ev_hub *h, ev_hub_stats *st);
/* Run on a reloaded file from now on (hub_reload.h decided it may be):
 * sites, expected halls, capacities, the cluster, stale_after, the
 * interval and the alert rules change; the MQTT session, the InfluxDB
 * writer (and their queues) and the HTTP server carry on. The old cfg
 * must live until this returns; the new one then outlives the hub.
 * 0, or -1 out of memory with the old cfg still in use. */
int ev_hub_reload(ev_hub *h, const ev_hub_config *cfg);
/* Say "offline" and disconnect; with flush_ms, write what the broker had
 * handed over, then flush InfluxDB (at most flush_ms; the rest goes to the
 * spool). Free. */
void ev_hub_free(ev_hub *h, unsigned flush_ms);

#endif
