/*
 * model.h - the energy model's per-cycle work on the runtime tree
 * (topology.h): device points in, pue and headroom points out.
 *
 * ev_model_feed() turns one device's points into energy booked in the
 * hall's windows (window.h): counter deltas (counter.h), or integrated
 * power marked estimated (integrate.h) where there is no counter or it
 * reset. ev_model_points() then makes the cycle's points:
 *   pue,scope=hall,window=W,category=C  per window (BRIEF §2), with
 *       facility_energy_wh, it_energy_wh, coverage, partial,
 *       meters_expected, meters_reporting, [pue, dcie], [estimated]
 *   pue,scope=hall,window=instant,category=0  facility/IT power ratio
 *   headroom,scope=hall|row|rack|feed  (BRIEF §3) capacity_w, usable_w,
 *       demand_w, peak_w, headroom_w, headroom_pct, [days_to_exhaustion],
 *       [arc_w] on dual-fed racks, facility_power_w and it_power_w on the hall
 */
#ifndef EVMON_ENERGY_MODEL_H
#define EVMON_ENERGY_MODEL_H

#include <stdint.h>

#include "agent/energy/topology.h"
#include "agent/point.h"

void ev_model_feed(ev_topo *t, const char *device, const ev_batch *points);
/* Append this cycle's points, stamped ts_ns, to out; returns how many. */
size_t ev_model_points(ev_topo *t, int64_t ts_ns, ev_batch *out);

#endif
