/*
 * snmp_pace.c - spreading a cycle's device starts (snmp_int.h, ev_snmp_pace).
 *
 * Starting 10,000 devices in the same instant sends 10,000 datagrams at
 * once: the loopback backlog and the devices' (or a simulator's) receive
 * queues overflow, requests time out and retries add load, and every
 * request is held in memory at the same time. The SNMP collector instead
 * starts a cycle's devices through this token bucket: at a rate that
 * spreads them over EV_SNMP_SPREAD_DIV-th of the interval (never slower
 * than EV_SNMP_MIN_RATE devices/s, so a small fleet starts at once), with
 * a bucket only EV_SNMP_PACE_DEPTH_MS deep, so a loop that was busy for a
 * while catches up without a new burst. Every device still carries the
 * cycle's timestamp; only the moment its first request leaves moves.
 *
 * Pure arithmetic on the monotonic clock (no loop, no sockets): the
 * collector asks how many devices it may start now and when to ask again.
 */
#include "collectors/snmp_int.h"

void ev_snmp_pace_begin(ev_snmp_pace *p, size_t ndue, unsigned interval_ms, uint64_t now_us)
{
    uint64_t spread_ms = interval_ms / EV_SNMP_SPREAD_DIV;
    double rate = spread_ms ? (double)ndue * 1000.0 / (double)spread_ms : (double)ndue * 1000.0;
    if (rate < EV_SNMP_MIN_RATE)
        rate = EV_SNMP_MIN_RATE;
    p->per_us = rate / 1e6;
    p->depth = rate * EV_SNMP_PACE_DEPTH_MS / 1000.0;
    if (p->depth < 1)
        p->depth = 1;
    p->credit = 1; /* the first device goes now */
    p->last_us = now_us;
}

size_t ev_snmp_pace_take(ev_snmp_pace *p, uint64_t now_us, size_t want)
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

uint64_t ev_snmp_pace_wait_ms(const ev_snmp_pace *p)
{
    if (p->credit >= 1 || p->per_us <= 0)
        return 0;
    double us = (1 - p->credit) / p->per_us;
    uint64_t ms = (uint64_t)(us / 1000.0);
    return ms ? ms : 1; /* the loop's timers have millisecond resolution */
}
