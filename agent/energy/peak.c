/*
 * peak.c - 15-minute average peaks per day (see peak.h).
 */
#include "agent/energy/peak.h"

#include <stdlib.h>

int ev_peak_init(ev_peak *p, size_t ndays)
{
    *p = (ev_peak){.slot = -1, .ndays = ndays ? ndays : 1};
    p->days = malloc(p->ndays * sizeof *p->days);
    if (!p->days)
        return -1;
    for (size_t i = 0; i < p->ndays; i++)
        p->days[i] = (ev_day_peak){.day = -1};
    return 0;
}

void ev_peak_free(ev_peak *p)
{
    free(p->days);
    p->days = NULL;
}

void ev_peak_day_max(ev_peak *p, int64_t day, double w)
{
    if (day < 0)
        return;
    ev_day_peak *d = &p->days[(size_t)day % p->ndays];
    if (d->day != day)
        *d = (ev_day_peak){.day = day, .max_w = w};
    else if (w > d->max_w)
        d->max_w = w;
}

void ev_peak_add(ev_peak *p, int64_t ts_ns, double w)
{
    if (ts_ns < 0)
        return;
    int64_t slot = ts_ns / EV_SLOT_NS;
    if (slot != p->slot) {
        if (p->slot >= 0 && p->slot_n)
            ev_peak_day_max(p, p->slot * EV_SLOT_NS / EV_DAY_NS, p->slot_sum / p->slot_n);
        p->slot = slot;
        p->slot_sum = 0;
        p->slot_n = 0;
    }
    p->slot_sum += w;
    p->slot_n++;
}

/* The slot in progress as of now, if it is still current. */
static bool current_slot(const ev_peak *p, int64_t now_ns, double *avg, int64_t *day)
{
    if (p->slot < 0 || !p->slot_n || p->slot * EV_SLOT_NS <= now_ns - (int64_t)p->ndays * EV_DAY_NS)
        return false;
    *avg = p->slot_sum / p->slot_n;
    *day = p->slot * EV_SLOT_NS / EV_DAY_NS;
    return true;
}

bool ev_peak_value(const ev_peak *p, int64_t now_ns, unsigned period_days, double *peak_w)
{
    int64_t today = now_ns / EV_DAY_NS, sday;
    bool any = false;
    double avg;
    for (size_t i = 0; i < p->ndays; i++) {
        const ev_day_peak *d = &p->days[i];
        if (d->day >= 0 && d->day > today - period_days && d->day <= today && (!any || d->max_w > *peak_w)) {
            *peak_w = d->max_w;
            any = true;
        }
    }
    if (current_slot(p, now_ns, &avg, &sday) && sday > today - period_days && (!any || avg > *peak_w)) {
        *peak_w = avg;
        any = true;
    }
    return any;
}

size_t ev_peak_daily(const ev_peak *p, int64_t now_ns, unsigned ndays, double *x, double *y, size_t max)
{
    int64_t today = now_ns / EV_DAY_NS, sday = -1;
    double avg = 0;
    bool cur = current_slot(p, now_ns, &avg, &sday);
    size_t n = 0;
    for (int64_t day = today - ndays + 1; day <= today && n < max; day++) {
        const ev_day_peak *d = day >= 0 ? &p->days[(size_t)day % p->ndays] : NULL;
        bool have = d && d->day == day;
        double v = have ? d->max_w : 0;
        if (cur && sday == day && (!have || avg > v)) {
            v = avg;
            have = true;
        }
        if (have) {
            x[n] = (double)day;
            y[n++] = v;
        }
    }
    return n;
}
