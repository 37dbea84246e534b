/*
 * meter.h - what one device's points say about its energy and power.
 *
 * A meter's reading is its `power` points tagged phase=total that are not
 * an outlet or a breaker: one per inlet (tag `inlet`, else one). On a UPS
 * (points tagged `side`), an IT meter reads its output and a facility
 * meter its input. Each part carries energy_wh (a counter) and/or
 * active_power_w. The wrap span of a device's counter comes from its
 * profile: 2^32 raw units of its energy_wh metric (Counter32), in Wh.
 */
#ifndef EVMON_ENERGY_METER_H
#define EVMON_ENERGY_METER_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/config.h"
#include "agent/point.h"

#define EV_METER_PARTS 4

typedef struct {
    char key[32];      /* the inlet tag, or "-" */
    bool has_energy, has_power;
    double energy_wh, power_w;
} ev_meter_part;

typedef struct {
    ev_meter_part part[EV_METER_PARTS];
    size_t n;
} ev_meter_reading;

/* Fill r from a device's points; returns r->n (0: nothing usable). */
size_t ev_meter_read(const ev_batch *b, ev_role role, ev_meter_reading *r);
/* Counter span in Wh of the profile's total energy metric; 0 when unknown
 * (no such metric, digits read from the device, not SNMP). */
double ev_meter_wrap_wh(const struct ev_profile *p);

#endif
