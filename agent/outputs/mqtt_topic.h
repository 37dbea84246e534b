/*
 * mqtt_topic.h - where a point is published over MQTT (BRIEF section 6).
 *
 *   <prefix>/<site>/<hall>/<device>/<measurement>   points with a device tag
 *   <prefix>/agents/<agent_id>/<measurement>        the agent's own points
 *   <prefix>/agents/<agent_id>/status               "online"/"offline", retained
 *
 * site and hall come from the point's tags, else from the agent's config.
 * A topic level comes from names people typed (device names, tags), so it
 * is made safe: '+', '#' and '/' (wildcards and the level separator) become
 * '_', and an empty level becomes "_". The prefix may span several levels
 * ("dc1/evalley"): its '/' are kept, its '+' and '#' replaced, trailing '/'
 * dropped, and a leading '$' (reserved for brokers' $SYS topics) replaced.
 * Pure functions, unit-tested.
 */
#ifndef EVMON_MQTT_TOPIC_H
#define EVMON_MQTT_TOPIC_H

#include "agent/buf.h"
#include "agent/point.h"

#define EV_MQTT_DEFAULT_PREFIX "evalley"

typedef struct {
    const char *prefix;   /* NULL or "": EV_MQTT_DEFAULT_PREFIX */
    const char *agent_id;
    const char *site, *hall; /* used when a point has no site/hall tag */
} ev_topic_ctx;

/* Append one sanitised level (no separator). */
void ev_topic_level(ev_buf *out, const char *level);
/* Append the sanitised prefix. */
void ev_topic_prefix(ev_buf *out, const char *prefix);
/* Append the topic of point p. */
void ev_topic_for_point(ev_buf *out, const ev_topic_ctx *c, const ev_point *p);
/* Append <prefix>/agents/<agent_id>/status. */
void ev_topic_status(ev_buf *out, const ev_topic_ctx *c);

#endif
