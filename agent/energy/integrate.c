/*
 * integrate.c - trapezoidal power integration, the estimated fallback when a
 * meter has no energy counter (see integrate.h).
 */
#include "agent/energy/integrate.h"

double ev_integrate_step(ev_integrator *it, double power_w, int64_t ts_ns, int64_t max_gap_ns)
{
    double wh = 0;
    if (power_w < 0)
        power_w = 0; /* a meter's sign convention is no reason for negative energy */
    if (it->have && ts_ns > it->last_ns && ts_ns - it->last_ns <= max_gap_ns) {
        double hours = (double)(ts_ns - it->last_ns) / 3.6e12;
        wh = (it->last_w + power_w) / 2 * hours;
    }
    if (!it->have || ts_ns >= it->last_ns) {
        it->have = true;
        it->last_w = power_w;
        it->last_ns = ts_ns;
    }
    return wh;
}
