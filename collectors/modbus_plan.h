/*
 * modbus_plan.h - the request plan: which Modbus reads to send for a
 * profile's registers.
 *
 * Registers of the same function code are merged into one request when
 * they are adjacent or the hole between them is at most max_gap registers
 * (or bits), as long as the request stays within max_count registers (at
 * most 125) or 2000 bits. Fewer, larger requests: one round trip instead
 * of dozens, which is what a slow RS-485 line or a busy gateway needs.
 * Pure code; `evmon probe` prints the plan, tests/unit checks it.
 */
#ifndef EVMON_MODBUS_PLAN_H
#define EVMON_MODBUS_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "agent/modbus_value.h"

typedef struct {
    uint8_t fc;
    uint16_t addr, count;
    size_t nreads; /* reads this request carries */
} ev_mb_request;

typedef struct {
    ev_mb_request *reqs;
    size_t nreqs;
    size_t *req_of;   /* per read: the request that carries it */
    uint16_t *offset; /* per read: its first word (or bit) in that request */
    size_t nreads;
} ev_mb_plan;

/* Plan reads[0..n). max_gap: registers a merge may read and throw away;
 * max_count: registers per request (1..125; bits are capped at 2000).
 * 0, or -1 when out of memory. */
int ev_mb_plan_build(ev_mb_plan *p, const ev_mb_read *reads, size_t n, unsigned max_gap,
                     unsigned max_count);
void ev_mb_plan_free(ev_mb_plan *p);

#endif
