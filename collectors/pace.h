/*
 * pace.h - the token bucket that spreads a cycle's device starts (pace.c),
 * shared by the SNMP collector (snmp.c) and the Modbus collector
 * (modbus.c). Pure arithmetic on the monotonic clock: a collector asks how
 * many devices it may start now and when to ask again.
 */
#ifndef EVMON_PACE_H
#define EVMON_PACE_H

#include <stddef.h>
#include <stdint.h>

/* A cycle's starts are spread over interval / EV_PACE_SPREAD_DIV, at no
 * fewer than EV_PACE_MIN_RATE devices a second; the bucket holds at most
 * EV_PACE_DEPTH_MS (or one tick, if longer) worth of starts
 * (docs/PERFORMANCE.md). */
#define EV_PACE_SPREAD_DIV 4
#define EV_PACE_MIN_RATE 2000.0
#define EV_PACE_DEPTH_MS 4

typedef struct {
    double per_us;  /* starts per microsecond */
    double depth;   /* most starts the bucket holds */
    double credit;  /* starts allowed now */
    uint64_t last_us;
    unsigned tick_ms; /* the shortest wait between two rounds of starts */
} ev_pace;

/* A new cycle of ndue devices, every interval_ms; one start is allowed now.
 * tick_ms (>= 1): starts go in rounds at least this far apart, each with
 * the tick's worth of devices (the SNMP collector: 1 ms; the Modbus
 * collector: 10 ms, see modbus_coll.h). */
void ev_pace_begin(ev_pace *p, size_t ndue, unsigned interval_ms, unsigned tick_ms, uint64_t now_us);
/* How many of `want` devices may start at now_us (taken from the bucket). */
size_t ev_pace_take(ev_pace *p, uint64_t now_us, size_t want);
/* Milliseconds (>= the tick) until the next start is allowed; 0 if one is now. */
uint64_t ev_pace_wait_ms(const ev_pace *p);

#endif
