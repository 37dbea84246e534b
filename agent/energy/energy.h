/*
 * energy.h - the energy model as the agent sees it (issue 4, agent half).
 *
 * The agent hands every device's points to ev_energy_feed() as the device
 * finishes and, once per cycle after the cycle's devices finished, calls
 * ev_energy_cycle() for the pue and headroom points (model.h), writes them
 * to its outputs like any other points, and has the hall summary
 * (summary.h) published retained through each output that has topics.
 * The state file (state.h) is saved every topology.state_interval and at
 * exit. Exists only when the config has
 * a `topology:` section. Formulas: docs/ENERGY.md.
 */
#ifndef EVMON_ENERGY_ENERGY_H
#define EVMON_ENERGY_ENERGY_H

#include <stddef.h>
#include <stdint.h>

#include "agent/config.h"
#include "agent/outputs/output.h"
#include "agent/point.h"

typedef struct ev_energy ev_energy;

/* NULL when cfg has no topology (nothing to do) or out of memory (logged).
 * Loads the state file when there is one. */
ev_energy *ev_energy_new(const ev_config *cfg);
/* After a config reload: a model for nc that keeps old's windows, counters
 * and peaks for the meters and nodes it still has; old is freed. */
ev_energy *ev_energy_renew(ev_energy *old, const ev_config *nc);
/* Saves the state file (when configured), then frees. */
void ev_energy_free(ev_energy *e);
void ev_energy_feed(ev_energy *e, const char *device, const ev_batch *points);
/* This cycle's pue and headroom points, stamped ts_ns (owned by e, valid
 * until the next call); saves the state file every state_interval. */
const ev_batch *ev_energy_cycle(ev_energy *e, int64_t ts_ns);
/* Publish the last cycle's hall summary, retained, on every output that
 * has topics (MQTT). */
void ev_energy_publish_summary(ev_energy *e, ev_output *const *outputs, size_t noutputs);

#endif
