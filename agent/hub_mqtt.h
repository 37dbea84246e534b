/*
 * hub_mqtt.h - the hub's MQTT client (Paho async): subscriptions in,
 * retained summaries out.
 *
 * On every (re)connect it subscribes at QoS 1 (or the configured QoS) to
 *   $share/<group>/<prefix>/+/+/+/+      device streams, split among hubs
 *   $share/<group>/<prefix>/agents/+/+   the agents' own points, split too
 *   <prefix>/+/+/summary                 retained hall summaries, every hub
 *   <prefix>/agents/+/status             agent presence, every hub
 * Paho delivers on its own thread; each message is copied into an inbox
 * and an eventfd becomes readable, so the hub handles messages on its
 * event loop thread only. The inbox is bounded: when it is full, the
 * delivery is refused and Paho offers the message again later (back
 * pressure instead of loss). The hub's own presence is retained on
 * <prefix>/hubs/<id>/status ("online"; "offline" as its last will).
 */
#ifndef EVMON_HUB_MQTT_H
#define EVMON_HUB_MQTT_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/hub_config.h"
#include "agent/outputs/output.h"

#define EV_HUB_INBOX_MAX 100000 /* messages waiting for the event loop */

typedef struct ev_hub_msg {
    struct ev_hub_msg *next;
    char *topic;
    size_t len;
    char payload[]; /* len bytes, then a NUL */
} ev_hub_msg;

typedef struct ev_hub_mqtt ev_hub_mqtt;

/* Start connecting in the background. NULL with a logged reason. */
ev_hub_mqtt *ev_hub_mqtt_new(const ev_hub_config *cfg);
/* Readable while messages wait in the inbox. */
int ev_hub_mqtt_fd(const ev_hub_mqtt *m);
/* Every waiting message, oldest first; free with ev_hub_msgs_free(). */
ev_hub_msg *ev_hub_mqtt_take(ev_hub_mqtt *m);
void ev_hub_msgs_free(ev_hub_msg *list);
/* Publish <prefix>/<topic> at the configured QoS; the payload is copied.
 * 0, or -1 when Paho refused it. */
int ev_hub_mqtt_publish(ev_hub_mqtt *m, const char *topic, const void *payload, size_t len, bool retained);
/* The client as a publish-only output (hub_publish.c) for the alert
 * pipeline's retained state; its write op refuses points. Free it with
 * its free op, before the client. NULL when out of memory. */
ev_output *ev_hub_mqtt_publisher(ev_hub_mqtt *m);
/* Retained "offline", disconnect (waiting up to 2 s for what is in
 * flight), destroy the client: no delivery after this. What is in the
 * inbox stays there, for ev_hub_mqtt_take: Paho acknowledged it. */
void ev_hub_mqtt_stop(ev_hub_mqtt *m);
/* Stop (when not done), free, with whatever the inbox still holds. */
void ev_hub_mqtt_free(ev_hub_mqtt *m);

#endif
