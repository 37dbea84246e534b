/*
 * hub_publish.c - the hub's MQTT client (hub_mqtt.h) seen as an output
 * (outputs/output.h) that only publishes messages: what the alert pipeline
 * (alert.h) needs to keep the hub's retained alert state on
 * <prefix>/alerts/... The hub's points go to InfluxDB (and its roll-up to
 * the retained summaries) by hub.c itself, so this output takes no points:
 * its write op refuses them. It does not own the client.
 */
#include <stdlib.h>

#include "agent/hub_mqtt.h"

typedef struct {
    ev_output base;
    ev_hub_mqtt *mqtt;
    uint64_t errors;
} hub_publisher;

static int pub_write(ev_output *o, const ev_batch *b)
{
    return -1; /* not a point sink (see above) */
}

static int pub_flush(ev_output *o, unsigned timeout_ms)
{
    return 0; /* Paho sends on its own; the client's owner waits at disconnect */
}

static void pub_stats(const ev_output *o, ev_output_stats *st)
{
    *st = (ev_output_stats){.errors = ((const hub_publisher *)o)->errors};
}

static int pub_publish(ev_output *o, const char *topic, const void *payload, size_t len, bool retained)
{
    hub_publisher *p = (hub_publisher *)o;
    if (ev_hub_mqtt_publish(p->mqtt, topic, payload, len, retained) == 0)
        return 0;
    p->errors++;
    return -1;
}

static void pub_free(ev_output *o)
{
    free(o);
}

ev_output *ev_hub_mqtt_publisher(ev_hub_mqtt *m)
{
    hub_publisher *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->base = (ev_output){.name = "mqtt", .write = pub_write, .flush = pub_flush, .stats = pub_stats,
                          .publish = pub_publish, .free = pub_free};
    p->mqtt = m;
    return &p->base;
}
