/*
 * alert_state.h - alerts as JSON (json-c), and the state file that keeps
 * the active ones across a restart.
 *
 * The same JSON object describes an alert in the state file, in its
 * retained MQTT message and in `evmon alerts --json`:
 *   {"alertname": "pdu_phase_load", "rule": "pdu_phase_load", "missing": false,
 *    "state": "firing", "severity": "crit", "measurement": "power", "field": "load_pct",
 *    "tags": {"device": "pdu-1", "phase": "L1", ...}, "labels": {"team": "electrical"},
 *    "value": 85, "threshold": 80, "startsAt": "2025-06-01T10:00:00.000Z",
 *    "starts_ns": 1748772000000000000, "at": "...", "description": "..."}
 * The state file is {"version": 1, "alerts": [ ...active alerts... ]},
 * written whole to a temporary file, fsync'd and renamed over the old one,
 * so a crash leaves the old file or the new one, never half of one.
 */
#ifndef EVMON_ALERT_STATE_H
#define EVMON_ALERT_STATE_H

#include <json-c/json.h>
#include <stdint.h>

#include "agent/alert_engine.h"

/* An alert read back from a state file. Strings belong to the reader and
 * are valid during the callback only. */
typedef struct {
    const char *alertname, *rule, *severity, *measurement, *description;
    bool missing;
    ev_alert_level level;
    ev_tag tags[EV_MAX_TAGS];
    size_t ntags;
    ev_alert_label labels[16];
    size_t nlabels;
    double value, threshold;
    int64_t starts_ns;
} ev_alert_record;

/* "2025-06-01T10:00:00.000Z" into buf (at least 32 bytes). */
const char *ev_alert_rfc3339(int64_t ns, char *buf, size_t len);

/* The alert as a new JSON object (see above). NULL on out of memory. */
json_object *ev_alert_json(const ev_alert *a);

/* Write every active alert of e to path, atomically. 0, or -1 (logged). */
int ev_alert_state_save(const char *path, const ev_alert_engine *e);

/* Call fn for each alert in the state file. Returns how many, 0 when the
 * file does not exist, -1 when it cannot be read or parsed (why in err). */
int ev_alert_state_read(const char *path, void (*fn)(void *ud, const ev_alert_record *r), void *ud,
                        char *err, size_t errlen);

/* Restore the file's alerts into e (ev_alert_engine_restore). An alert
 * whose rule is gone, or no longer has a missing timer, is handed to
 * resolved() as a resolution (level OK, prev its old level), so it is
 * announced as resolved. Returns how many were restored, -1 on error. */
int ev_alert_state_load(const char *path, ev_alert_engine *e, int64_t now_ns, ev_alert_fn resolved, void *ud);

#endif
