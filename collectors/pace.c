/*
 * pace.c - spreading a cycle's device starts (pace.h, ev_pace). Both
 * collectors use it: the SNMP collector (snmp.c) and the Modbus collector
 * (modbus.c) mark every idle device due at poll() and start them through
 * this bucket from a loop timer.
 *
 * Starting 10,000 devices in the same instant sends 10,000 requests at
 * once: for SNMP the loopback backlog and the devices' (or a simulator's)
 * receive queues overflow, requests time out and retries add load, and
 * every request is held in memory at the same time; for Modbus TCP a
 * device's answers queue behind everyone else's and its poll takes as long
 * as the whole burst. So a cycle's devices start at a rate that spreads
 * them over EV_PACE_SPREAD_DIV-th of the interval (never slower than
 * EV_PACE_MIN_RATE devices/s, so a small fleet starts at once), with a
 * bucket only EV_PACE_DEPTH_MS deep, so a loop that was busy for a while
 * catches up without a new burst. The caller chooses a tick: the shortest
 * wait between two rounds of starts (the bucket is then at least a tick
 * deep). One device every 0.5 ms keeps each device's requests alone on
 * the wire, and the loop, the devices (a simulator on the same machine)
 * and the output threads then sleep and wake for every message; rounds of
 * 20 devices every 10 ms cost far fewer wake-ups and add a few ms at most.
 * Every device still carries the cycle's timestamp; only the moment its
 * first request leaves moves.
 *
 * Pure arithmetic on the monotonic clock (no loop, no sockets): the
 * collector asks how many devices it may start now and when to ask again.
 */
#include "collectors/pace.h"

void ev_pace_begin(ev_pace *p, size_t ndue, unsigned interval_ms, unsigned tick_ms, uint64_t now_us)
{
    p->tick_ms = tick_ms ? tick_ms : 1;
    uint64_t spread_ms = interval_ms / EV_PACE_SPREAD_DIV;
    double rate = spread_ms ? (double)ndue * 1000.0 / (double)spread_ms : (double)ndue * 1000.0;
    if (rate < EV_PACE_MIN_RATE)
        rate = EV_PACE_MIN_RATE;
    p->per_us = rate / 1e6;
    unsigned depth_ms = p->tick_ms > EV_PACE_DEPTH_MS ? p->tick_ms : EV_PACE_DEPTH_MS;
    p->depth = rate * depth_ms / 1000.0;
    if (p->depth < 1)
        p->depth = 1;
    p->credit = 1; /* the first device goes now */
    p->last_us = now_us;
}

size_t ev_pace_take(ev_pace *p, uint64_t now_us, size_t want)
{
    if (now_us > p->last_us) {
        p->credit += (double)(now_us - p->last_us) * p->per_us;
        if (p->credit > p->depth)
            p->credit = p->depth;
        p->last_us = now_us;
    }
    size_t n = p->credit >= 1 ? (size_t)p->credit : 0;
    if (n > want)
        n = want;
    p->credit -= (double)n;
    return n;
}

uint64_t ev_pace_wait_ms(const ev_pace *p)
{
    if (p->credit >= 1 || p->per_us <= 0)
        return 0;
    double us = (1 - p->credit) / p->per_us;
    uint64_t ms = (uint64_t)(us / 1000.0);
    return ms > p->tick_ms ? ms : p->tick_ms; /* the loop's timers have millisecond resolution */
}
