/*
 * alert_webhook.h - a Prometheus Alertmanager client: POST
 * <url>/api/v2/alerts with a JSON list of alerts (labels, annotations,
 * startsAt, endsAt), from its own thread.
 *
 * ev_alert_webhook_send() copies a body into a bounded queue and never
 * blocks: the event loop hands over and goes on polling. The thread posts
 * bodies in order; a failed POST (no answer, 5xx, 429) is retried with
 * backoff, a 4xx other than 429 is logged and dropped (it would never
 * succeed). When the queue is full the oldest body is dropped: firing
 * alerts are re-sent every resend interval anyway (alerts.c), and each
 * carries an endsAt a few intervals ahead, so Alertmanager resolves an
 * alert whose sender went away.
 */
#ifndef EVMON_ALERT_WEBHOOK_H
#define EVMON_ALERT_WEBHOOK_H

#include <json-c/json.h>
#include <stdint.h>

#include "agent/alert_engine.h"

typedef struct ev_alert_webhook ev_alert_webhook;

typedef struct {
    uint64_t sent, failed, dropped, queued;
} ev_alert_webhook_stats;

/* url: the Alertmanager base (http://host:9093) or the full endpoint. */
ev_alert_webhook *ev_alert_webhook_new(const char *url, unsigned timeout_ms, unsigned max_queue);
/* Queue a copy of body (a JSON array). 0, or -1 when out of memory. */
int ev_alert_webhook_send(ev_alert_webhook *w, const char *body);
/* Wait up to timeout_ms for the queue to empty. 0 when it did. */
int ev_alert_webhook_flush(ev_alert_webhook *w, unsigned timeout_ms);
void ev_alert_webhook_get_stats(ev_alert_webhook *w, ev_alert_webhook_stats *st);
/* Stops the thread (abandons a POST in progress) and frees. */
void ev_alert_webhook_free(ev_alert_webhook *w);

/* One alert in Alertmanager's form. Firing: endsAt = now + ends_in_ms (so
 * it expires if never re-sent); resolved: endsAt = when it resolved. */
json_object *ev_alert_am_json(const ev_alert *a, int64_t now_ns, unsigned ends_in_ms);

#endif
