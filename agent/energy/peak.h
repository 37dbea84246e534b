/*
 * peak.h - planning demand of one node (BRIEF §3: "the peak (max of 15-min
 * averages over a trailing period), not the instant").
 *
 * Power samples are averaged per wall-clock 15-minute slot; a finished
 * slot's average raises its day's maximum, kept in a ring of daily peaks
 * (as many days as the longer of the peak period and the trend window).
 * The slot in progress counts with its running average, so a fresh agent
 * has a peak from its first sample. The daily peaks feed the
 * days-to-exhaustion fit (headroom.h).
 */
#ifndef EVMON_ENERGY_PEAK_H
#define EVMON_ENERGY_PEAK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EV_SLOT_NS (900LL * 1000000000LL)
#define EV_DAY_NS (86400LL * 1000000000LL)

typedef struct {
    int64_t day;   /* day id (ts / 1 day); -1: empty */
    double max_w;  /* max of the day's finished 15-min averages */
} ev_day_peak;

typedef struct {
    int64_t slot;  /* slot in progress (ts / 15 min); -1: none */
    double slot_sum;
    unsigned slot_n;
    ev_day_peak *days;
    size_t ndays;
} ev_peak;

int ev_peak_init(ev_peak *p, size_t ndays); /* 0, or -1 out of memory */
void ev_peak_free(ev_peak *p);
void ev_peak_add(ev_peak *p, int64_t ts_ns, double w);
/* Max of the 15-min averages over the last period_days days (today
 * included) and of the slot in progress; false when there is none. */
bool ev_peak_value(const ev_peak *p, int64_t now_ns, unsigned period_days, double *peak_w);
/* Daily peaks of the last ndays days (today's with the slot in progress)
 * as x = day id, y = W; returns how many (at most max). */
size_t ev_peak_daily(const ev_peak *p, int64_t now_ns, unsigned ndays, double *x, double *y, size_t max);
/* Raise day's peak to w (state file load, and slot close). */
void ev_peak_day_max(ev_peak *p, int64_t day, double w);

#endif
