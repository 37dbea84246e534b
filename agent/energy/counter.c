/*
 * counter.c - energy counter deltas with Counter32 wrap and reset detection
 * (see counter.h; BRIEF §2: "a negative delta is a reset, never negative
 * energy").
 */
#include "agent/energy/counter.h"

ev_ctr_kind ev_counter_step(ev_counter *c, double value_wh, int64_t ts_ns, double wrap_wh, double *delta_wh)
{
    ev_ctr_kind kind;
    *delta_wh = 0;
    if (!c->have) {
        kind = EV_CTR_FIRST;
    } else if (value_wh >= c->last_wh) {
        *delta_wh = value_wh - c->last_wh;
        kind = EV_CTR_RISE;
    } else if (wrap_wh > 0 && c->last_wh < wrap_wh && c->last_wh >= wrap_wh * 7 / 8 && value_wh < wrap_wh / 8) {
        *delta_wh = wrap_wh - c->last_wh + value_wh;
        kind = EV_CTR_WRAP;
    } else {
        kind = EV_CTR_RESET;
    }
    c->have = true;
    c->last_wh = value_wh;
    c->last_ns = ts_ns;
    return kind;
}
