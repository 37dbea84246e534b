/*
 * alert_engine.h - the per-series alert state machine, pure logic: points
 * in, state changes out, time only from the points' timestamps and the
 * caller's tick. No I/O: alerts.c (alert.h) wires it to the outputs, the
 * state file and the webhook; unit tests drive it directly.
 *
 * A series is one rule applied to one tag set. Each sample is compared
 * with the rule's levels: a level fires once the value has been beyond it
 * for the hold time (`for`: sample timestamps, or N consecutive samples),
 * crit falls back to warn at crit_clear and the alert resolves at clear,
 * both at once (hysteresis does the anti-flapping there). A series with
 * `missing` gets a second alert, "<rule>_missing", when no sample arrived
 * for that long at a tick; it resolves at the next sample.
 */
#ifndef EVMON_ALERT_ENGINE_H
#define EVMON_ALERT_ENGINE_H

#include <stdint.h>

#include "agent/alert_rule.h"
#include "agent/buf.h"
#include "agent/point.h"

/* An alert as notifiers see it, at a state change or when listed. */
typedef struct {
    const ev_alert_rule *rule;
    bool missing;             /* the missing-data alert of the series */
    ev_alert_level level;     /* now; EV_ALERT_OK: resolved */
    ev_alert_level prev;      /* before this change */
    const char *measurement;
    const ev_tag *tags;       /* the series' tags, sorted by key */
    size_t ntags;
    double value;             /* the sample that decided (missing: seconds without one) */
    double threshold;         /* the level crossed (resolve: the clear level) */
    int64_t starts_ns;        /* when it fired (kept across warn <-> crit) */
    int64_t at_ns;            /* when this change happened */
} ev_alert;

typedef void (*ev_alert_fn)(void *ud, const ev_alert *a);

typedef struct ev_alert_engine ev_alert_engine;

/* rules must outlive the engine. on_change gets every state change. */
ev_alert_engine *ev_alert_engine_new(const ev_alert_rules *rules, ev_alert_fn on_change, void *ud);
void ev_alert_engine_free(ev_alert_engine *e);

/* Evaluate every point of b against every rule. */
void ev_alert_engine_feed(ev_alert_engine *e, const ev_batch *b);
/* Missing-data timers: call once per cycle with the cycle's time. */
void ev_alert_engine_tick(ev_alert_engine *e, int64_t now_ns);

/* Every active (firing) alert. */
void ev_alert_engine_each(const ev_alert_engine *e, ev_alert_fn fn, void *ud);
size_t ev_alert_engine_active(const ev_alert_engine *e);

/* Put back an alert that was firing before a restart, without announcing
 * it: the series starts as if it had fired at starts_ns, last seen at
 * now_ns. -1 when the rule is unknown (the caller resolves it). */
int ev_alert_engine_restore(ev_alert_engine *e, const char *rule, bool missing, const char *measurement,
                            const ev_tag *tags, size_t ntags, ev_alert_level level, double value,
                            double threshold, int64_t starts_ns, int64_t now_ns);

/* "<rule>" or "<rule>_missing": the alertname. */
const char *ev_alert_name(const ev_alert *a, char *buf, size_t len);

/* alert_template.c: the rule's description template rendered for a (or a
 * default sentence when the rule has none), appended to out. Placeholders:
 * {value} {threshold} {severity} {state} {rule} {alertname} {measurement}
 * {field} {direction}, and any tag name ({device}, {phase}, ...; empty
 * when the series has no such tag). */
void ev_alert_describe(const ev_alert *a, ev_buf *out);

#endif
