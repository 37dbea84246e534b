/*
 * alert_notify.h - how one alert state change is told: its MQTT topic, its
 * `alert` point for the store, its log line. alerts.c calls these for
 * every change the engine reports.
 */
#ifndef EVMON_ALERT_NOTIFY_H
#define EVMON_ALERT_NOTIFY_H

#include "agent/alert_engine.h"
#include "agent/buf.h"
#include "agent/point.h"

/* "alerts/<site>/<hall>/<scope...>/<alertname>", below the MQTT prefix.
 * Scope levels are tag values in a fixed order: scope, then row, rack,
 * feed (only when there is no device: a device already names its place),
 * device, then any other tag in key order; role and agent are left out.
 * '/', '+' and '#' in a value become '_'. */
void ev_alert_topic(const ev_alert *a, ev_buf *out);

/* Append the `alert` point of a state change to b: the series' tags plus
 * alertname; fields state ("firing"/"resolved"), severity, level (0 ok,
 * 1 warn, 2 crit), value, threshold, description. 0 or -1. */
int ev_alert_add_point(ev_batch *b, const ev_alert *a);

/* One log line: warning when it fires or worsens, notice otherwise. */
void ev_alert_log(const ev_alert *a);

#endif
