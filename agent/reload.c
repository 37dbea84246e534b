/*
 * reload.c - comparing the running config with a newly loaded one to
 * decide what a SIGHUP reload does (reload.h). Pure: no I/O, unit-tested
 * in tests/unit/test_reload.c.
 */
#include "agent/reload.h"

#include <stdio.h>
#include <string.h>

static bool same(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* The first output setting (influxdb, mqtt, their spool, the HTTP server)
 * whose value differs, or NULL. */
static const char *output_diff(const ev_config *a, const ev_config *b)
{
    const ev_influx_cfg *i = &a->influx, *j = &b->influx;
    const ev_mqtt_cfg *m = &a->mqtt, *n = &b->mqtt;
    if (i->enabled != j->enabled)
        return "outputs.influxdb";
    if (i->enabled) {
        if (!same(i->url, j->url))
            return "outputs.influxdb.url";
        if (!same(i->database, j->database))
            return "outputs.influxdb.database";
        if (!same(i->username, j->username) || !same(i->password, j->password) || !same(i->token, j->token))
            return "outputs.influxdb credentials";
        if (!same(i->org, j->org) || !same(i->bucket, j->bucket) || !same(i->ca_file, j->ca_file))
            return "outputs.influxdb org, bucket or ca_file";
        if (i->batch_size != j->batch_size || i->timeout_ms != j->timeout_ms || i->gzip != j->gzip ||
            i->max_queue != j->max_queue)
            return "outputs.influxdb tuning (batch_size, timeout, gzip, max_queue)";
    }
    if (m->enabled != n->enabled)
        return "outputs.mqtt";
    if (m->enabled) {
        if (!same(m->url, n->url))
            return "outputs.mqtt.url";
        if (!same(m->client_id, n->client_id))
            return "outputs.mqtt.client_id";
        if (!same(m->username, n->username) || !same(m->password, n->password))
            return "outputs.mqtt credentials";
        if (!same(m->topic_prefix, n->topic_prefix))
            return "outputs.mqtt.topic_prefix";
        if (m->qos != n->qos)
            return "outputs.mqtt.qos";
        if (!same(m->ca_file, n->ca_file))
            return "outputs.mqtt.ca_file";
    }
    const ev_spool_cfg *sa = &a->spool, *sb = &b->spool;
    if (!same(sa->dir, sb->dir) || sa->max_bytes != sb->max_bytes || sa->fsync != sb->fsync ||
        sa->fsync_interval_ms != sb->fsync_interval_ms || sa->replay_rate != sb->replay_rate)
        return "spool";
    if (a->http.enabled != b->http.enabled || !same(a->http.listen, b->http.listen))
        return "http";
    return NULL;
}

void ev_reload_plan_make(const ev_config *old, const ev_config *neu, ev_reload_plan *p)
{
    static const struct {
        const char *key;
        size_t off;
    } identity[] = {
        {"agent.id", offsetof(ev_config, agent_id)},
        {"agent.site", offsetof(ev_config, site)},
        {"agent.hall", offsetof(ev_config, hall)},
    };
    *p = (ev_reload_plan){0};
    for (size_t k = 0; k < sizeof identity / sizeof identity[0]; k++) {
        const char *a = *(char *const *)((const char *)old + identity[k].off);
        const char *b = *(char *const *)((const char *)neu + identity[k].off);
        if (!same(a, b)) {
            p->refuse = true;
            snprintf(p->why, sizeof p->why,
                     "%s changed from '%s' to '%s': it names the agent's topics and tags every "
                     "point, so it takes a restart", identity[k].key, a ? a : "", b ? b : "");
            return;
        }
    }
    p->outputs_key = output_diff(old, neu);
    p->interval_changed = old->interval_ms != neu->interval_ms;
}
