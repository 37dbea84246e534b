/*
 * pue.h - PUE of one scope over one window (BRIEF §2, ISO/IEC 30134-2).
 *
 * PUE = E_facility / E_IT over the same window; DCiE = 1 / PUE. No PUE at
 * all (not infinity, not 0) when IT energy is zero or missing, or when no
 * facility energy was measured. Coverage = meters that reported in the
 * window / meters expected; partial when below 1 (a PUE computed with
 * missing meters is wrong in a way nobody sees).
 */
#ifndef EVMON_ENERGY_PUE_H
#define EVMON_ENERGY_PUE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    bool has_pue;
    double pue, dcie;
    double coverage;   /* 0..1; 0 when nothing is expected */
    bool partial;      /* coverage < 1 */
} ev_pue;

ev_pue ev_pue_calc(double facility_wh, double it_wh, size_t expected, size_t reporting);

#endif
