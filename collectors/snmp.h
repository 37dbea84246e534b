/*
 * snmp.h - what the SNMP collector offers beyond collector.h.
 *
 * An observer sees each request as it completes and each value as it is
 * stored (`evmon probe` prints them), and receives ev_profile_eval()'s
 * trace; counters feed the agent's own health points.
 */
#ifndef EVMON_SNMP_H
#define EVMON_SNMP_H

#include <stdint.h>

#include "collectors/collector.h"

typedef struct {
    const char *kind;          /* "GET", "GETNEXT", "GETBULK", "discovery" */
    unsigned varbinds_out;     /* varbinds asked */
    unsigned varbinds_in;      /* varbinds in the answer (0 without one) */
    unsigned max_repetitions;  /* GETBULK */
    unsigned tries;            /* 1 + retries sent */
    uint64_t rtt_us;           /* last send to answer (or to giving up) */
    const char *outcome;       /* "ok", "tooBig", "timeout", "report", ... */
} ev_snmp_request_info;

typedef struct {
    void (*request)(void *ud, const ev_device_cfg *dev, const ev_snmp_request_info *r);
    /* Every value stored: full instance OID and its ASN.1 type name
     * ("Integer32", "Gauge32", "noSuchObject", ...). */
    void (*varbind)(void *ud, const ev_device_cfg *dev, const ev_oid *oid, const char *type);
    ev_trace_fn trace; /* handed to ev_profile_eval() */
    void *ud;
} ev_snmp_observer;

/* Set (or with NULL clear) the observer; call before the first poll. */
void ev_snmp_collector_observe(ev_collector *c, const ev_snmp_observer *o);

typedef struct {
    uint64_t polls;     /* device polls started */
    uint64_t ok, partial, timeouts, errors;
    uint64_t late;      /* skipped: still busy from the last cycle */
    uint64_t requests;  /* PDUs sent, retries included */
} ev_snmp_stats;

void ev_snmp_collector_stats(const ev_collector *c, ev_snmp_stats *st);

#endif
