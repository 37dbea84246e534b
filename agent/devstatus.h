/*
 * devstatus.h - the device-status registry: what the agent last saw of
 * each device, and its poll counters.
 *
 * The agent records every poll result here (cmd_agent.c's collector sink)
 * and the start of every cycle; the HTTP API (/api/v1/devices, /metrics)
 * and the built-in page read it. Per device: state, last poll time and
 * duration, requests and points, last error (kept after the device
 * recovers, with its time), consecutive and total failures, and the
 * device's total active power from its last answer. For the whole agent:
 * cycles, late devices, points produced and a poll-duration histogram.
 * Single-threaded: written and read on the event loop's thread only.
 */
#ifndef EVMON_DEVSTATUS_H
#define EVMON_DEVSTATUS_H

#include <stddef.h>
#include <stdint.h>

#include "agent/config.h"
#include "collectors/collector.h"

typedef enum {
    EV_DEV_UNKNOWN, /* not polled yet */
    EV_DEV_OK,
    EV_DEV_PARTIAL, /* answered, some values failed */
    EV_DEV_TIMEOUT,
    EV_DEV_ERROR,
} ev_dev_state;

const char *ev_dev_state_name(ev_dev_state s); /* "unknown", "ok", "partial", "timeout", "error" */

typedef struct {
    const ev_device_cfg *dev;   /* name, profile, address, role, row, rack, feed */
    ev_dev_state state;
    int64_t last_poll_ns;       /* wall time the last poll finished; 0: never */
    uint64_t last_duration_us;
    unsigned last_requests;
    size_t last_points;
    double power_w;             /* total active power of the last answer; NaN when unknown */
    char *last_error;           /* the last failure's text (NULL: never failed) */
    int64_t last_error_ns;
    uint64_t polls, failures;   /* totals since start */
    unsigned consecutive_failures;
} ev_devstatus_entry;

/* Poll-duration histogram bounds, seconds (Prometheus "le"), +Inf implied. */
#define EV_POLL_NBUCKETS 11
extern const double ev_poll_buckets_s[EV_POLL_NBUCKETS];

typedef struct ev_devstatus ev_devstatus;

/* One entry per configured device, in config order. NULL on out of memory. */
ev_devstatus *ev_devstatus_new(const ev_config *cfg);
void ev_devstatus_free(ev_devstatus *s);

/* A reloaded config replaces cfg (before the old one is freed): devices
 * are matched by name and keep their state; new ones start unknown. On
 * out of memory the registry is emptied (never left pointing at the old
 * config) and -1 returned. */
int ev_devstatus_reconfigure(ev_devstatus *s, const ev_config *cfg);

/* A cycle started at ts_ns with `late` devices still busy from the last. */
void ev_devstatus_cycle(ev_devstatus *s, int64_t ts_ns, size_t late);
/* One device finished; now_ns is the wall time. Unknown devices are ignored. */
void ev_devstatus_record(ev_devstatus *s, const ev_poll_result *r, int64_t now_ns);

size_t ev_devstatus_count(const ev_devstatus *s);
const ev_devstatus_entry *ev_devstatus_at(const ev_devstatus *s, size_t i);

typedef struct {
    int64_t started_ns, last_cycle_ns;
    uint64_t cycles, late_total;
    uint64_t polls, failures, points;   /* totals over all devices */
    size_t ok, failing, unknown;        /* devices by current state (partial counts as ok) */
    uint64_t buckets[EV_POLL_NBUCKETS + 1]; /* per bucket (not cumulative); last is +Inf */
    double duration_sum_s;
} ev_devstatus_totals;

void ev_devstatus_totals_get(const ev_devstatus *s, ev_devstatus_totals *t);

/* Total active power of a device's points: the sum of active_power_w over
 * its phase=total points that are neither an outlet nor a UPS input side;
 * NaN when there is none. */
double ev_devstatus_power_of(const ev_batch *points);

#endif
