/*
 * modbus_image.h - a device's register image for the Modbus fleet
 * simulator (tests/sim/modbusfleet.c), made from one of our Modbus
 * profiles (config/profiles/, loaded by the agent's own loader).
 *
 * Every register a profile reads gets a plausible value for its field
 * (230 V phase and 400 V line voltages, 50 Hz, currents and powers of a
 * loaded three-phase feed, temperatures of a cooling unit...), encoded
 * back through the metric's scale, offset, SunSpec scale-factor register,
 * type and word order, so the agent reading it with the same profile gets
 * the value back. Values move with time and differ per device: power,
 * apparent power and current drift +-5 % over a minute, voltages and
 * frequency by a few tenths of a percent, energy counters count up at the
 * device's power (times a rate factor) and wrap at their type's width.
 * Registers no profile names read as 0, so merged requests over holes are
 * answered. Pure code: the fleet asks for words, the unit test decodes
 * them with the profile and checks the values.
 */
#ifndef EVMON_SIM_MODBUS_IMAGE_H
#define EVMON_SIM_MODBUS_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "agent/profile.h"

typedef enum { MBI_STEADY, MBI_DRIFT, MBI_COUNTER, MBI_SF } mbi_motion;

/* One register (or group of words) the profile reads. */
typedef struct {
    ev_mb_read read;     /* function, address, type, order, bit field */
    unsigned nwords;
    mbi_motion motion;
    double nominal;      /* engineering value at full load (a counter: its power in W) */
    double scale;        /* raw x scale (x 10^sf) + offset = value */
    double offset;
    size_t sf;           /* while building: its scale-factor register, or SIZE_MAX; then
                            SIZE_MAX, the exponent folded into scale */
    int sf_value;        /* MBI_SF: the exponent this register holds */
} mbi_reg;

typedef struct {
    mbi_reg *r;          /* sorted by function code, then address */
    size_t n;
    double counter_rate; /* energy counters run this many times faster than real time */
} mbi_image;

/* The image for a Modbus profile. 0, or -1 with a message in err. */
int mbi_image_build(mbi_image *img, const ev_profile *p, char *err, size_t errlen);
void mbi_image_free(mbi_image *img);

/* Engineering value of register k on device dev at t seconds. */
double mbi_value(const mbi_image *img, size_t k, unsigned dev, double t);

/* The count words (FC3/FC4) or 0/1 bits (FC1/FC2) from addr, as device
 * dev holds them at t seconds. A value straddling the range's edge gives
 * the words inside it. */
void mbi_fill(const mbi_image *img, unsigned dev, double t, uint8_t fc, uint16_t addr, uint16_t count,
              uint16_t *out);

#endif
