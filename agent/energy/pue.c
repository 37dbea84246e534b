/*
 * pue.c - PUE, DCiE and coverage of one scope and window (see pue.h).
 */
#include "agent/energy/pue.h"

ev_pue ev_pue_calc(double facility_wh, double it_wh, size_t expected, size_t reporting)
{
    ev_pue r = {0};
    if (reporting > expected)
        reporting = expected;
    r.coverage = expected ? (double)reporting / (double)expected : 0;
    r.partial = r.coverage < 1;
    if (it_wh > 0 && facility_wh > 0) { /* BRIEF §2: no PUE without IT energy */
        r.has_pue = true;
        r.pue = facility_wh / it_wh;
        r.dcie = it_wh / facility_wh;
    }
    return r;
}
