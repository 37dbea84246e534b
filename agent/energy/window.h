/*
 * window.h - energy summed over the PUE windows (BRIEF §2: 15 min, 1 h, 24 h,
 * 30 d, year to date are interim; 365 d is the headline).
 *
 * An ev_series books energy (and the part of it that was estimated) into
 * wall-clock buckets: 60 one-minute buckets (15m, 1h), 24 one-hour buckets
 * (24h), 366 one-day buckets (30d, 365d), and a year-to-date total (UTC
 * year). A trailing window is the sum of the buckets of its resolution
 * whose start lies within it, the current one included: "15m" at 10:07:30
 * covers 09:53:00..10:07:30. Each bucket keeps its own id, so buckets left
 * from before a restart count only while they are inside the window.
 */
#ifndef EVMON_ENERGY_WINDOW_H
#define EVMON_ENERGY_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { EV_W_15M, EV_W_1H, EV_W_24H, EV_W_30D, EV_W_YTD, EV_W_365D, EV_W_COUNT } ev_window;

const char *ev_window_name(ev_window w); /* "15m", "1h", "24h", "30d", "ytd", "365d" */
/* Start of window w at now (Unix ns): for "reporting in the window". */
int64_t ev_window_start_ns(ev_window w, int64_t now_ns);

typedef struct {
    int64_t id;        /* ts / bucket length; -1: empty */
    double wh, est_wh; /* energy booked, and the estimated part of it */
} ev_bucket;

#define EV_MIN_BUCKETS 60
#define EV_HOUR_BUCKETS 24
#define EV_DAY_BUCKETS 366

typedef struct {
    ev_bucket min[EV_MIN_BUCKETS], hour[EV_HOUR_BUCKETS], day[EV_DAY_BUCKETS];
    ev_bucket ytd; /* id = the UTC year */
} ev_series;

void ev_series_init(ev_series *s);
/* Book wh (est_wh of it estimated) at time ts_ns. */
void ev_series_add(ev_series *s, int64_t ts_ns, double wh, double est_wh);
/* Energy of window w at now_ns. */
void ev_series_sum(const ev_series *s, ev_window w, int64_t now_ns, double *wh, double *est_wh);

/* The bucket arrays, for the state file: kind 'm', 'h', 'd' or 'y'. */
ev_bucket *ev_series_buckets(ev_series *s, char kind, int *n);

#endif
