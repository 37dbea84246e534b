/*
 * headroom.c - the capacity formulas of BRIEF §3 (see headroom.h).
 */
#include "agent/energy/headroom.h"

#include <math.h>

double ev_feed_capacity_w(unsigned volts, unsigned amps, unsigned phases)
{
    double va = (double)volts * (double)amps;
    return phases == 3 ? va * sqrt(3.0) : va; /* BRIEF §3: V x A x sqrt(3) for 3-phase */
}

double ev_usable_w(double capacity_w, ev_redundancy r, unsigned units, unsigned derating_pct)
{
    double factor = 1;
    if (r == EV_RED_2N)
        factor = 0.5; /* each side must carry the whole load */
    else if (r == EV_RED_N1 && units >= 2)
        factor = (double)(units - 1) / (double)units; /* N+1 of k: (k-1)/k */
    return capacity_w * factor * (double)derating_pct / 100.0;
}

double ev_arc_w(double side_capacity_w, double demand_w)
{
    return side_capacity_w - demand_w; /* capacity/2 - measured load */
}

ev_headroom ev_headroom_calc(double usable_w, double peak_w)
{
    ev_headroom h = {.headroom_w = usable_w - peak_w};
    h.headroom_pct = usable_w > 0 ? h.headroom_w / usable_w * 100.0 : 0;
    return h;
}

bool ev_days_to_exhaustion(const double *x, const double *y, size_t n, double today_x, double usable_w,
                           double *days)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    if (n < 2)
        return false;
    for (size_t i = 0; i < n; i++) {
        sx += x[i];
        sy += y[i];
    }
    double mx = sx / (double)n, my = sy / (double)n;
    for (size_t i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        sxy += (x[i] - mx) * (y[i] - my);
    }
    if (sxx <= 0)
        return false;
    double b = sxy / sxx, a = my - b * mx;
    if (!(b > 1e-9 * (fabs(my) + 1))) /* flat or falling: no exhaustion */
        return false;
    double d = (usable_w - a) / b - today_x;
    *days = d > 0 ? d : 0;
    return true;
}
