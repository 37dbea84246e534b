/*
 * counter.h - energy counter deltas (BRIEF §2): a device's energy_wh counter
 * read each cycle becomes a non-negative energy delta.
 *
 * A rise is energy. A drop is a Counter32 wrap when the counter's wrap span
 * is known (2^32 raw units, in Wh) and the wrapped delta is plausible: the
 * previous value was in the top eighth of the span and the new one in the
 * bottom eighth. Any other drop is a reset (device reboot, meter swap): the
 * delta is unknown, never negative; the caller estimates that interval from
 * power and marks it estimated. The first reading is only a baseline.
 */
#ifndef EVMON_ENERGY_COUNTER_H
#define EVMON_ENERGY_COUNTER_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    EV_CTR_FIRST, /* baseline only, no delta */
    EV_CTR_RISE,  /* delta = new - old */
    EV_CTR_WRAP,  /* delta = span - old + new */
    EV_CTR_RESET, /* no delta: energy of this interval unknown */
} ev_ctr_kind;

typedef struct {
    bool have;
    double last_wh;
    int64_t last_ns;
} ev_counter;

/* Feed a reading. wrap_wh: the counter's span in Wh (0 when unknown: every
 * drop is a reset). *delta_wh gets the energy since the last reading (0
 * for FIRST and RESET). */
ev_ctr_kind ev_counter_step(ev_counter *c, double value_wh, int64_t ts_ns, double wrap_wh, double *delta_wh);

#endif
