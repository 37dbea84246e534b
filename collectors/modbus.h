/*
 * modbus.h - what the Modbus collector offers beyond collector.h.
 *
 * An observer sees each request as it completes (`evmon probe` prints the
 * plan with timings) and receives ev_profile_eval()'s trace; counters
 * feed the agent's health and tests.
 */
#ifndef EVMON_MODBUS_H
#define EVMON_MODBUS_H

#include <stdint.h>

#include "collectors/collector.h"

typedef struct {
    uint8_t unit, fc;
    uint16_t addr, count;
    unsigned nreads;      /* profile values this request carries */
    unsigned tries;
    uint64_t rtt_us;      /* first send to outcome */
    const char *outcome;  /* "ok", "exception 2 (illegal data address)", "timeout after ...", ... */
} ev_modbus_request_info;

typedef struct {
    void (*request)(void *ud, const ev_device_cfg *dev, const ev_modbus_request_info *r);
    ev_trace_fn trace; /* handed to ev_profile_eval() */
    void *ud;
} ev_modbus_observer;

/* Set (or with NULL clear) the observer; call before the first poll. */
void ev_modbus_collector_observe(ev_collector *c, const ev_modbus_observer *o);

typedef struct {
    uint64_t polls, ok, partial, timeouts, errors, late;
    uint64_t requests;    /* read requests completed (each counts once, retries aside) */
    uint64_t exceptions;  /* answers with an exception code */
    uint64_t bad_replies; /* wrong length, CRC error, wrong unit */
    uint64_t crc_errors;  /* of bad_replies, CRC errors */
    uint64_t timeouts_req;/* requests that timed out */
    uint64_t link_errors; /* refused, reset, closed, cannot open */
    uint64_t reconnects;  /* connection or line opened again after it had been up */
} ev_modbus_stats;

/* The collector's totals, or with dev != NULL that device's counters. */
void ev_modbus_collector_stats(const ev_collector *c, const char *dev, ev_modbus_stats *st);

/* A reload in two steps, for callers that must apply it together with
 * another collector's (collectors.c): prepare sets up every new or changed
 * device and touches nothing running (NULL when out of memory); then
 * exactly one of commit (switch to it: what the reconfigure op does) or
 * abort (drop it, the running set untouched). Same rules as the op. */
typedef struct ev_modbus_reload ev_modbus_reload;
ev_modbus_reload *ev_modbus_reload_prepare(ev_collector *c, const ev_config *cfg,
                                           const ev_device_cfg *const *devices, size_t ndevices);
void ev_modbus_reload_commit(ev_collector *c, ev_modbus_reload *r);
void ev_modbus_reload_abort(ev_collector *c, ev_modbus_reload *r);

#endif
