/*
 * alert.h - threshold alerting as the agent (and the hub) use it: one
 * object that owns the engine (alert_engine.h), the state file
 * (alert_state.h) and the Alertmanager webhooks (alert_webhook.h), and
 * tells every state change to the outputs it is given.
 *
 *   ev_alerts *al = ev_alerts_new(cfg->alerts, outputs, n, NULL, NULL, ev_wall_ns());
 *   ev_alerts_feed(al, batch);       every batch the host publishes
 *   ev_alerts_tick(al, cycle_ns);    once per cycle: missing data, resend, state
 *   ev_alerts_free(al);              saves the state
 *
 * A state change goes to the log; to every output with a publish op as a
 * retained JSON message on alerts/<site>/<hall>/<scope...>/<alertname>
 * (alert_notify.h; an empty retained message clears it on resolve); to
 * every output's write op (or the host's emit function) as an `alert`
 * point; and to every webhook. Alert points are never fed back in.
 * Single-threaded: call from the host's event loop only.
 */
#ifndef EVMON_ALERT_H
#define EVMON_ALERT_H

#include <stdint.h>

#include "agent/alert_cfg.h"
#include "agent/outputs/output.h"
#include "agent/point.h"

typedef struct ev_alerts ev_alerts;

/* Where `alert` points go; NULL: every output's write op. The agent
 * passes its own writer so the points also reach its HTTP API. */
typedef void (*ev_alerts_emit_fn)(void *ud, const ev_batch *b);

/* cfg must outlive the object; outputs too (it keeps the pointers).
 * Restores the state file's alerts without announcing them again; those
 * whose rule is gone are announced as resolved. NULL when out of memory. */
ev_alerts *ev_alerts_new(const ev_alerts_cfg *cfg, ev_output *const *outputs, size_t noutputs,
                         ev_alerts_emit_fn emit, void *emit_ud, int64_t now_ns);
void ev_alerts_feed(ev_alerts *al, const ev_batch *b);
void ev_alerts_tick(ev_alerts *al, int64_t now_ns);
size_t ev_alerts_active(const ev_alerts *al);
void ev_alerts_free(ev_alerts *al);

/* A config reload: returns the object to use from now on (NULL when cfg
 * is NULL: alerting turned off). Active alerts carry over in memory to the
 * new rules without being announced again; those whose rule is gone are
 * resolved. The old cfg must still be alive during the call. */
ev_alerts *ev_alerts_reload(ev_alerts *al, const ev_alerts_cfg *cfg, ev_output *const *outputs,
                            size_t noutputs, ev_alerts_emit_fn emit, void *emit_ud, int64_t now_ns);

#endif
