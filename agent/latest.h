/*
 * latest.h - the last point of each series of a few measurements.
 *
 * The agent feeds every batch it publishes here (cmd_agent.c's publish());
 * the store keeps, for the measurements it was made for (pue, headroom,
 * alert), the newest point of each series (measurement + tag set), copied.
 * The HTTP API serves them as /api/v1/headroom, the PUE part of
 * /api/v1/summary and /api/v1/alerts. This is the seam to the energy model
 * and the alert engine: whatever they publish on the data contract
 * (BRIEF §6) shows up here, with no call between them and the API.
 * Bounded: past max_series new series are ignored (counted in dropped).
 */
#ifndef EVMON_LATEST_H
#define EVMON_LATEST_H

#include <stddef.h>

#include "agent/point.h"

typedef struct ev_latest ev_latest;

/* measurements: NULL-terminated list of names to keep. */
ev_latest *ev_latest_new(const char *const *measurements, size_t max_series);
void ev_latest_free(ev_latest *l);

/* Keep the points of b whose measurement is one of ours. A point older
 * than the one kept for its series is ignored. */
void ev_latest_feed(ev_latest *l, const ev_batch *b);

/* Call fn for every kept point of `measurement`, in the order the series
 * first appeared. */
void ev_latest_each(const ev_latest *l, const char *measurement, void (*fn)(void *ud, const ev_point *p),
                    void *ud);
size_t ev_latest_count(const ev_latest *l, const char *measurement);
size_t ev_latest_dropped(const ev_latest *l);

#endif
