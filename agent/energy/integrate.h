/*
 * integrate.h - energy from sampled power, for meters without an energy
 * counter (BRIEF §2: "where only power exists, integrate it and mark the
 * result as estimated"). Trapezoid rule between consecutive samples; a gap
 * longer than max_gap is not bridged (a dead meter's last reading must not
 * be stretched over an outage).
 */
#ifndef EVMON_ENERGY_INTEGRATE_H
#define EVMON_ENERGY_INTEGRATE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    bool have;
    double last_w;
    int64_t last_ns;
} ev_integrator;

/* Feed a power sample; returns the Wh since the previous sample (0 for the
 * first one, after a gap > max_gap_ns, or when time did not advance). */
double ev_integrate_step(ev_integrator *it, double power_w, int64_t ts_ns, int64_t max_gap_ns);

#endif
