/*
 * hub_rollup.h - the cluster and site roll-up of the hall summaries
 * (BRIEF §2-3): energy-weighted PUE per window, coverage, facility demand
 * and headroom against the cluster target and each site's grid capacity.
 * Pure: hub_state in, points out (hub.c sends them to InfluxDB and, as
 * the retained cluster and site summaries, to MQTT). Rules, in brief
 * (docs/HUB.md has them in full):
 *
 *   - PUE = sum of facility energy / sum of IT energy over the halls that
 *     report, never an average of ratios; none when the IT energy is 0.
 *   - category: the lowest category among the halls summed (the weakest
 *     measurement point bounds the whole), with mixed_categories=true
 *     when they differ.
 *   - coverage = meters reporting in the halls that report / meters
 *     expected in every expected hall (a missing hall counts its last known
 *     meters as missing; one never heard of counts one missing meter);
 *     partial when below 1 or when any hall is missing.
 *   - demand_w = facility power now, summed over the halls that report;
 *     peak_w = the halls' peaks at facility level (IT peak x the hall's
 *     facility/IT power ratio: facility = IT x PUE), including the last
 *     known peak of missing halls, so a silent hall never frees capacity.
 *   - headroom_w = usable - peak; usable = the cluster target or the site's
 *     grid capacity (contracted: no derating); days_to_exhaustion from the
 *     halls' growth rates (headroom_w / days of each hall, summed).
 */
#ifndef EVMON_HUB_ROLLUP_H
#define EVMON_HUB_ROLLUP_H

#include <stdint.h>

#include "agent/hub_config.h"
#include "agent/hub_state.h"
#include "agent/point.h"

/* Append the cluster's and every site's pue (one per window any hall has
 * reported) and headroom points to out, stamped ts_ns, judging liveness at
 * now_ns. Sites: the configured ones, then any other a hall reported from.
 * 0, or -1 out of memory. */
int ev_hub_rollup(const ev_hub_state *st, const ev_hub_config *cfg, int64_t now_ns, int64_t ts_ns, ev_batch *out);

#endif
