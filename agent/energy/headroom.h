/*
 * headroom.h - capacity, usable capacity and headroom of one level (BRIEF §3).
 *
 *   feed capacity   = V x A            (single phase)
 *                   = V x A x sqrt(3)  (three phase, V line-to-line)
 *   usable          = capacity x redundancy factor x derating
 *                     factor: N 1, N+1 of k units (k-1)/k, 2N 1/2
 *                     derating: continuous load at most 80 % of a breaker
 *                     (100 for 100 %-rated gear)
 *   dual-fed rack   capacity = A + B, usable = the smaller side's usable
 *                   (each side must carry the whole load), demand = A + B
 *   ARC             = capacity / 2 - measured load (dual-fed; < 0: alarm);
 *                     the smaller side's capacity when sides differ
 *   headroom        = usable - peak demand; % of usable
 *   days to exhaustion: least-squares line through the daily peaks; the
 *                   day it reaches usable, counted from today; none when
 *                   the slope is not positive
 */
#ifndef EVMON_ENERGY_HEADROOM_H
#define EVMON_ENERGY_HEADROOM_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/config_topology.h"

double ev_feed_capacity_w(unsigned volts, unsigned amps, unsigned phases);
double ev_usable_w(double capacity_w, ev_redundancy r, unsigned units, unsigned derating_pct);
double ev_arc_w(double side_capacity_w, double demand_w);

typedef struct {
    double headroom_w, headroom_pct;
} ev_headroom;

ev_headroom ev_headroom_calc(double usable_w, double peak_w);

/* Fit y = a + b x over n points (x in days). Days from today_x until the
 * line reaches usable_w; false when it never does (b <= 0, fewer than two
 * distinct days). 0 when the fitted peak is already at or over usable. */
bool ev_days_to_exhaustion(const double *x, const double *y, size_t n, double today_x, double usable_w,
                           double *days);

#endif
