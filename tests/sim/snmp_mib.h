/*
 * snmp_mib.h - what one simulated SNMP device holds: the OIDs of a
 * recorded walk (snmprec format, as snmpsim reads it), sorted, and how
 * each value moves over time.
 *
 * Every device of a fleet serves the same walk; a device number and the
 * time make the values differ and move: a DRIFT value swings +-5 % around
 * the recorded one (a sine, each device at its own phase), a COUNTER value
 * counts up at a fixed rate from the recorded value (plus a per-device
 * offset) and wraps like the device's own counter would (Counter32 at
 * 2^32, INTEGER at 2^31). Values <= 0 (the "no sensor" sentinels, empty
 * outlets) never move. Which columns move is said by sim_mib_mark(), or by
 * a profile: its energy_wh metrics count, its power and current drift.
 *
 * Used by tests/sim/snmpfleet.c; unit-tested by test_sim_snmp_ber.c.
 */
#ifndef EVMON_SIM_SNMP_MIB_H
#define EVMON_SIM_SNMP_MIB_H

#include <stddef.h>
#include <stdint.h>

#include "tests/sim/snmp_ber.h"

typedef enum { SIM_STATIC, SIM_DRIFT, SIM_COUNTER } sim_motion;

typedef struct {
    sim_oid name;
    uint8_t tag;           /* SIM_T_* */
    int64_t i;             /* INTEGER, and the unsigned types */
    uint8_t *s;            /* OCTET STRING / IpAddress bytes */
    size_t slen;
    sim_oid *oidval;       /* OBJECT IDENTIFIER value */
    sim_motion motion;
} sim_entry;

typedef struct {
    sim_entry *e;          /* sorted by name */
    size_t n, cap;
    double counter_rate;   /* counter units per second (default 1) */
    double wrap_after_s;   /* > 0: counters start so they wrap this long after start */
} sim_mib;

/* Load an snmprec file ("OID|TAG|VALUE" lines; '#' comments). 0, or -1
 * with "FILE:LINE: why" in err. */
int sim_mib_load(sim_mib *m, const char *path, char *err, size_t errlen);
void sim_mib_free(sim_mib *m);

/* Mark every entry under prefix. Returns how many were marked. */
size_t sim_mib_mark(sim_mib *m, const sim_oid *prefix, sim_motion motion);

/* Index of the entry named exactly o, or of the first entry after o
 * (next = 1); m->n when there is none. */
size_t sim_mib_find(const sim_mib *m, const sim_oid *o, int next);

/* The value of entry idx for device dev, t seconds after the simulator
 * started. Strings point into the mib. */
void sim_mib_value(const sim_mib *m, size_t idx, unsigned dev, double t, sim_value *out);

#endif
