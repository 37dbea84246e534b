/*
 * window.c - energy in wall-clock buckets, summed over trailing windows
 * (see window.h).
 */
#include "agent/energy/window.h"

#include <time.h>

#define NS 1000000000LL
#define MIN_NS (60 * NS)
#define HOUR_NS (3600 * NS)
#define DAY_NS (86400 * NS)

const char *ev_window_name(ev_window w)
{
    static const char *const names[EV_W_COUNT] = {"15m", "1h", "24h", "30d", "ytd", "365d"};
    return w < EV_W_COUNT ? names[w] : "?";
}

static int64_t floordiv(int64_t a, int64_t b)
{
    return a / b - (a % b < 0);
}

static int utc_year(int64_t ns)
{
    time_t t = (time_t)floordiv(ns, NS);
    struct tm tm;
    gmtime_r(&t, &tm);
    return tm.tm_year + 1900;
}

static int64_t year_start_ns(int year)
{
    struct tm tm = {.tm_year = year - 1900, .tm_mon = 0, .tm_mday = 1};
    return (int64_t)timegm(&tm) * NS;
}

/* The bucket length and count of window w's resolution. */
static void resolution(ev_window w, int64_t *len_ns, int64_t *count)
{
    static const struct { int64_t len, count; } r[EV_W_COUNT] = {
        [EV_W_15M] = {MIN_NS, 15},  [EV_W_1H] = {MIN_NS, 60},   [EV_W_24H] = {HOUR_NS, 24},
        [EV_W_30D] = {DAY_NS, 30}, [EV_W_365D] = {DAY_NS, 365}, [EV_W_YTD] = {0, 0},
    };
    *len_ns = r[w].len;
    *count = r[w].count;
}

int64_t ev_window_start_ns(ev_window w, int64_t now_ns)
{
    int64_t len, count;
    if (w == EV_W_YTD)
        return year_start_ns(utc_year(now_ns));
    resolution(w, &len, &count);
    return (floordiv(now_ns, len) - count + 1) * len;
}

static void ring_init(ev_bucket *b, int n)
{
    for (int i = 0; i < n; i++)
        b[i] = (ev_bucket){.id = -1};
}

void ev_series_init(ev_series *s)
{
    ring_init(s->min, EV_MIN_BUCKETS);
    ring_init(s->hour, EV_HOUR_BUCKETS);
    ring_init(s->day, EV_DAY_BUCKETS);
    s->ytd = (ev_bucket){.id = -1};
}

static void book(ev_bucket *ring, int n, int64_t id, double wh, double est)
{
    ev_bucket *b = &ring[id % n];
    if (b->id != id)
        *b = (ev_bucket){.id = id};
    b->wh += wh;
    b->est_wh += est;
}

void ev_series_add(ev_series *s, int64_t ts_ns, double wh, double est_wh)
{
    if (ts_ns < 0 || !(wh > 0))
        return;
    book(s->min, EV_MIN_BUCKETS, ts_ns / MIN_NS, wh, est_wh);
    book(s->hour, EV_HOUR_BUCKETS, ts_ns / HOUR_NS, wh, est_wh);
    book(s->day, EV_DAY_BUCKETS, ts_ns / DAY_NS, wh, est_wh);
    int year = utc_year(ts_ns);
    if (s->ytd.id != year)
        s->ytd = (ev_bucket){.id = year};
    s->ytd.wh += wh;
    s->ytd.est_wh += est_wh;
}

void ev_series_sum(const ev_series *s, ev_window w, int64_t now_ns, double *wh, double *est_wh)
{
    *wh = *est_wh = 0;
    if (w == EV_W_YTD) {
        if (s->ytd.id == utc_year(now_ns)) {
            *wh = s->ytd.wh;
            *est_wh = s->ytd.est_wh;
        }
        return;
    }
    int64_t len, count;
    resolution(w, &len, &count);
    const ev_bucket *ring = len == MIN_NS ? s->min : len == HOUR_NS ? s->hour : s->day;
    int n = len == MIN_NS ? EV_MIN_BUCKETS : len == HOUR_NS ? EV_HOUR_BUCKETS : EV_DAY_BUCKETS;
    int64_t now_id = floordiv(now_ns, len);
    for (int i = 0; i < n; i++)
        if (ring[i].id > now_id - count && ring[i].id <= now_id) {
            *wh += ring[i].wh;
            *est_wh += ring[i].est_wh;
        }
}

ev_bucket *ev_series_buckets(ev_series *s, char kind, int *n)
{
    switch (kind) {
    case 'm': *n = EV_MIN_BUCKETS; return s->min;
    case 'h': *n = EV_HOUR_BUCKETS; return s->hour;
    case 'd': *n = EV_DAY_BUCKETS; return s->day;
    case 'y': *n = 1; return &s->ytd;
    }
    *n = 0;
    return 0;
}
