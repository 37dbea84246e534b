/*
 * summary.h - the retained hall summary the hub reads (docs/ENERGY.md has
 * the contract): of a cycle's points, the hall-scope pue lines of the six
 * windows and the hall headroom line, as line protocol, one per line,
 * nanosecond timestamps. Published on "<prefix>/<site>/<hall>/summary",
 * retained, QoS 1, once per cycle.
 */
#ifndef EVMON_ENERGY_SUMMARY_H
#define EVMON_ENERGY_SUMMARY_H

#include "agent/buf.h"
#include "agent/point.h"

/* Append the summary lines of pts to out; returns how many. */
size_t ev_summary_payload(const ev_batch *pts, ev_buf *out);

#endif
