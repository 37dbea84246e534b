/*
 * hub_reload.c - comparing the hub's running file with a newly loaded one
 * (hub_reload.h). The InfluxDB, spool and http settings live in the same
 * ev_config an agent's file fills, so the agent's comparison (reload.h)
 * judges them; this file adds the hub's identity and its MQTT client.
 */
#include "agent/hub_reload.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "agent/reload.h"

static bool same(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* The first identity key that differs, with both values; NULL when none. */
static const char *identity_diff(const ev_hub_config *a, const ev_hub_config *b, const char **va, const char **vb)
{
    static const struct {
        const char *key;
        size_t off;
    } identity[] = {
        {"hub.id", offsetof(ev_hub_config, id)},
        {"mqtt.url", offsetof(ev_hub_config, mqtt.url)},
        {"mqtt.group", offsetof(ev_hub_config, group)},
        {"mqtt.client_id", offsetof(ev_hub_config, mqtt.client_id)},
        {"mqtt.topic_prefix", offsetof(ev_hub_config, mqtt.topic_prefix)},
    };
    for (size_t k = 0; k < sizeof identity / sizeof identity[0]; k++) {
        *va = *(char *const *)((const char *)a + identity[k].off);
        *vb = *(char *const *)((const char *)b + identity[k].off);
        if (!same(*va, *vb))
            return identity[k].key;
    }
    return NULL;
}

/* The MQTT settings the running client keeps until a restart. */
static const char *mqtt_kept_diff(const ev_mqtt_cfg *m, const ev_mqtt_cfg *n)
{
    if (!same(m->username, n->username) || !same(m->password, n->password))
        return "mqtt credentials";
    if (!same(m->ca_file, n->ca_file))
        return "mqtt.ca_file";
    if (m->qos != n->qos)
        return "mqtt.qos";
    return NULL;
}

void ev_hub_reload_plan_make(const ev_hub_config *old, const ev_hub_config *neu, ev_hub_reload_plan *p)
{
    const char *va, *vb;
    *p = (ev_hub_reload_plan){0};
    const char *key = identity_diff(old, neu, &va, &vb);
    if (key) {
        p->refuse = true;
        snprintf(p->why, sizeof p->why,
                 "%s changed from '%s' to '%s': it names the hub's MQTT session (persistent, with the "
                 "messages the broker keeps for it) and its subscriptions, so it takes a restart",
                 key, va ? va : "", vb ? vb : "");
        return;
    }
    ev_reload_plan store;
    ev_reload_plan_make(old->store, neu->store, &store); /* influxdb, spool, http: the agent's keys */
    p->kept_key = mqtt_kept_diff(&old->mqtt, &neu->mqtt);
    if (!p->kept_key && store.outputs_key) /* "outputs.influxdb.url" is "influxdb.url" in the hub's file */
        p->kept_key = store.outputs_key + (strncmp(store.outputs_key, "outputs.", 8) ? 0 : 8);
    p->interval_changed = old->interval_ms != neu->interval_ms;
}
