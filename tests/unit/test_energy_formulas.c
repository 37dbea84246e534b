/*
 * test_energy_formulas.c - the energy model's formulas against hand-computed
 * values (BRIEF §2-3, docs/ENERGY.md): counter rise, Counter32 wrap, reset
 * (never negative energy), trapezoid integration, PUE/DCiE with coverage
 * and partial, no PUE without IT energy, feed capacity, derating, N+1,
 * 2N, ARC, headroom, least-squares days to exhaustion, 15-min peaks and
 * the trailing windows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "agent/energy/counter.h"
#include "agent/energy/headroom.h"
#include "agent/energy/integrate.h"
#include "agent/energy/peak.h"
#include "agent/energy/pue.h"
#include "agent/energy/window.h"

#define S 1000000000LL
static void near(double a, double b, int line)
{
    if (!(fabs(a - b) <= 1e-6 * (fabs(b) + 1)))
        fail_msg("line %d: %.17g, expected %.17g", line, a, b);
}
#define NEAR(a, b) near((a), (b), __LINE__)

static const double SPAN = 4294967296.0; /* Counter32 in Wh (scale 1) */

static void test_counter_rise_and_first(void **state)
{
    ev_counter c = {0};
    double d;
    assert_int_equal(ev_counter_step(&c, 1000, 0, SPAN, &d), EV_CTR_FIRST);
    NEAR(d, 0);
    assert_int_equal(ev_counter_step(&c, 1250.5, 10 * S, SPAN, &d), EV_CTR_RISE);
    NEAR(d, 250.5);
    assert_int_equal(ev_counter_step(&c, 1250.5, 20 * S, SPAN, &d), EV_CTR_RISE);
    NEAR(d, 0);
}

static void test_counter_wrap(void **state)
{
    ev_counter c = {0};
    double d;
    ev_counter_step(&c, 4294967000.0, 0, SPAN, &d);
    /* 296 Wh to the top, then 704 past zero: 1000 Wh */
    assert_int_equal(ev_counter_step(&c, 704, 10 * S, SPAN, &d), EV_CTR_WRAP);
    NEAR(d, 1000);
    /* tenths of kWh (scale 100): span 429496729600 Wh */
    ev_counter k = {0};
    ev_counter_step(&k, 429496729600.0 - 300, 0, SPAN * 100, &d);
    assert_int_equal(ev_counter_step(&k, 200, 10 * S, SPAN * 100, &d), EV_CTR_WRAP);
    NEAR(d, 500);
}

static void test_counter_reset_never_negative(void **state)
{
    ev_counter c = {0};
    double d;
    ev_counter_step(&c, 5000000, 0, SPAN, &d);
    /* a drop from mid-range is a reboot or a meter swap, not a wrap */
    assert_int_equal(ev_counter_step(&c, 12, 10 * S, SPAN, &d), EV_CTR_RESET);
    NEAR(d, 0);
    /* counting goes on from the new value */
    assert_int_equal(ev_counter_step(&c, 112, 20 * S, SPAN, &d), EV_CTR_RISE);
    NEAR(d, 100);
    /* span unknown: every drop is a reset, even near the top */
    ev_counter u = {0};
    ev_counter_step(&u, 4294967000.0, 0, 0, &d);
    assert_int_equal(ev_counter_step(&u, 704, 10 * S, 0, &d), EV_CTR_RESET);
    NEAR(d, 0);
    /* near the top but the new value is not near zero: reset */
    ev_counter v = {0};
    ev_counter_step(&v, 4294967000.0, 0, SPAN, &d);
    assert_int_equal(ev_counter_step(&v, 2000000000.0, 10 * S, SPAN, &d), EV_CTR_RESET);
}

static void test_integration_estimated(void **state)
{
    ev_integrator it = {0};
    NEAR(ev_integrate_step(&it, 1000, 0, 60 * S), 0); /* first sample */
    /* 1000 W -> 2000 W over 36 s: trapezoid 1500 W x 0.01 h = 15 Wh */
    NEAR(ev_integrate_step(&it, 2000, 36 * S, 60 * S), 15);
    /* constant 3600 W for 10 s: 10 Wh */
    ev_integrator k = {0};
    ev_integrate_step(&k, 3600, 0, 60 * S);
    NEAR(ev_integrate_step(&k, 3600, 10 * S, 60 * S), 10);
    /* a gap over max_gap is not bridged */
    NEAR(ev_integrate_step(&k, 3600, 200 * S, 60 * S), 0);
    NEAR(ev_integrate_step(&k, 3600, 210 * S, 60 * S), 10);
}

static void test_pue_coverage_partial(void **state)
{
    ev_pue p = ev_pue_calc(1500, 1200, 4, 4);
    assert_true(p.has_pue);
    NEAR(p.pue, 1.25);
    NEAR(p.dcie, 0.8);
    NEAR(p.coverage, 1);
    assert_false(p.partial);
    p = ev_pue_calc(1500, 1200, 4, 3); /* one meter missing */
    NEAR(p.coverage, 0.75);
    assert_true(p.partial);
    p = ev_pue_calc(1500, 0, 4, 2); /* no IT energy: no PUE, not infinity */
    assert_false(p.has_pue);
    NEAR(p.coverage, 0.5);
    p = ev_pue_calc(0, 1200, 2, 1); /* no facility energy: no PUE, not 0 */
    assert_false(p.has_pue);
    p = ev_pue_calc(0, 0, 0, 0);
    assert_false(p.has_pue);
    assert_true(p.partial);
}

static void test_capacity_derating_redundancy(void **state)
{
    /* 3-phase 400 V 32 A: 400 x 32 x sqrt(3) = 22170.2503 W */
    NEAR(ev_feed_capacity_w(400, 32, 3), 12800 * sqrt(3.0));
    NEAR(ev_feed_capacity_w(230, 16, 1), 3680);
    /* derating 80 % */
    NEAR(ev_usable_w(3680, EV_RED_N, 0, 80), 2944);
    NEAR(ev_usable_w(3680, EV_RED_N, 0, 100), 3680); /* 100 %-rated */
    /* N+1 of 4 x 500 kW: 3/4 of 2 MW */
    NEAR(ev_usable_w(2e6, EV_RED_N1, 4, 100), 1.5e6);
    /* N+1 of 5, derated 90 %: 2 MW x 4/5 x 0.9 */
    NEAR(ev_usable_w(2e6, EV_RED_N1, 5, 90), 1.44e6);
    /* 2N: each side carries the whole load: half of the installed */
    NEAR(ev_usable_w(2e6, EV_RED_2N, 0, 100), 1e6);
    NEAR(ev_usable_w(2e6, EV_RED_2N, 0, 80), 8e5);
}

static void test_arc_and_headroom(void **state)
{
    /* dual-fed rack, 2 x 22170.25 W: ARC = capacity/2 - (A+B) */
    double side = ev_feed_capacity_w(400, 32, 3);
    NEAR(ev_arc_w(side, 10000), side - 10000);
    assert_true(ev_arc_w(side, 25000) < 0); /* A+B over one side: alarm */
    ev_headroom h = ev_headroom_calc(1.5e6, 1.2e6);
    NEAR(h.headroom_w, 3e5);
    NEAR(h.headroom_pct, 20);
    h = ev_headroom_calc(2944, 8000);
    NEAR(h.headroom_w, -5056);
    NEAR(h.headroom_pct, -5056.0 / 2944 * 100);
}

static void test_days_to_exhaustion(void **state)
{
    /* peaks 100, 110, 120, 130 kW on days 0..3: slope 10 kW/day, a = 100;
     * usable 200 kW is reached on day 10, 7 days after day 3 */
    double x[] = {0, 1, 2, 3}, y[] = {100e3, 110e3, 120e3, 130e3}, d = -1;
    assert_true(ev_days_to_exhaustion(x, y, 4, 3, 200e3, &d));
    NEAR(d, 7);
    /* noisy: 0:100 1:104 2:116 3:120 -> mean x 1.5, mean y 110,
     * Sxy = 15 + 3 + 3 + 15 = 36, Sxx = 5, slope 7.2, a = 110 - 7.2 x 1.5 = 99.2;
     * 200 reached on day (200 - 99.2) / 7.2 = 14, 11 days after day 3 */
    double y2[] = {100, 104, 116, 120};
    assert_true(ev_days_to_exhaustion(x, y2, 4, 3, 200, &d));
    NEAR(d, 11);
    /* flat and falling: none */
    double flat[] = {5, 5, 5, 5}, down[] = {9, 8, 7, 6};
    assert_false(ev_days_to_exhaustion(x, flat, 4, 3, 10, &d));
    assert_false(ev_days_to_exhaustion(x, down, 4, 3, 10, &d));
    /* one day: no fit */
    assert_false(ev_days_to_exhaustion(x, y, 1, 0, 200e3, &d));
    /* already over: 0 */
    assert_true(ev_days_to_exhaustion(x, y, 4, 3, 50e3, &d));
    NEAR(d, 0);
}

static void test_peak_of_15min_averages(void **state)
{
    ev_peak p;
    double w;
    int64_t day = 20000 * EV_DAY_NS; /* a midnight */
    assert_int_equal(ev_peak_init(&p, 30), 0);
    assert_false(ev_peak_value(&p, day, 30, &w));
    /* slot 1: samples 100 and 300 -> average 200 (the instant max 300 is not the peak) */
    ev_peak_add(&p, day, 100);
    ev_peak_add(&p, day + 10 * S, 300);
    assert_true(ev_peak_value(&p, day + 10 * S, 30, &w));
    NEAR(w, 200);
    /* slot 2: 150 -> the day's peak stays 200 */
    ev_peak_add(&p, day + EV_SLOT_NS, 150);
    assert_true(ev_peak_value(&p, day + EV_SLOT_NS, 30, &w));
    NEAR(w, 200);
    /* two days later, 120: the 30-day peak still 200, a 1-day period says 120 */
    ev_peak_add(&p, day + 2 * EV_DAY_NS, 120);
    assert_true(ev_peak_value(&p, day + 2 * EV_DAY_NS, 30, &w));
    NEAR(w, 200);
    assert_true(ev_peak_value(&p, day + 2 * EV_DAY_NS, 1, &w));
    NEAR(w, 120);
    double x[30], y[30];
    size_t n = ev_peak_daily(&p, day + 2 * EV_DAY_NS, 30, x, y, 30);
    assert_int_equal(n, 2);
    NEAR(x[0], 20000);
    NEAR(y[0], 200);
    NEAR(x[1], 20002);
    NEAR(y[1], 120);
    ev_peak_free(&p);
}

static void test_windows(void **state)
{
    ev_series s;
    double wh, est;
    int64_t t0 = 1767225600LL * S; /* 2026-01-01T00:00:00Z */
    ev_series_init(&s);
    ev_series_add(&s, t0 - 2 * 86400 * S, 1000, 0);   /* two days before: 30d, 365d; not ytd */
    ev_series_add(&s, t0 + 3600 * S, 200, 50);        /* 01:00 */
    ev_series_add(&s, t0 + 2 * 3600 * S, 10, 0);      /* 02:00 */
    int64_t now = t0 + 2 * 3600 * S + 30 * S;         /* 02:00:30 */
    ev_series_sum(&s, EV_W_15M, now, &wh, &est);
    NEAR(wh, 10);
    NEAR(est, 0);
    ev_series_sum(&s, EV_W_1H, now, &wh, &est);
    NEAR(wh, 10); /* 01:00 is 60 minute buckets ago: out */
    ev_series_sum(&s, EV_W_24H, now, &wh, &est);
    NEAR(wh, 210);
    NEAR(est, 50);
    ev_series_sum(&s, EV_W_30D, now, &wh, &est);
    NEAR(wh, 1210);
    ev_series_sum(&s, EV_W_365D, now, &wh, &est);
    NEAR(wh, 1210);
    ev_series_sum(&s, EV_W_YTD, now, &wh, &est);
    NEAR(wh, 210);
    /* 31 days later only the 365d window still holds it all */
    ev_series_sum(&s, EV_W_30D, now + 31LL * 86400 * S, &wh, &est);
    NEAR(wh, 0);
    ev_series_sum(&s, EV_W_365D, now + 31LL * 86400 * S, &wh, &est);
    NEAR(wh, 1210);
    assert_int_equal(ev_window_start_ns(EV_W_YTD, now), t0);
    assert_int_equal(ev_window_start_ns(EV_W_15M, now), now - 30 * S - 14 * 60 * S);
    assert_string_equal(ev_window_name(EV_W_365D), "365d");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_rise_and_first),
        cmocka_unit_test(test_counter_wrap),
        cmocka_unit_test(test_counter_reset_never_negative),
        cmocka_unit_test(test_integration_estimated),
        cmocka_unit_test(test_pue_coverage_partial),
        cmocka_unit_test(test_capacity_derating_redundancy),
        cmocka_unit_test(test_arc_and_headroom),
        cmocka_unit_test(test_days_to_exhaustion),
        cmocka_unit_test(test_peak_of_15min_averages),
        cmocka_unit_test(test_windows),
    };
    return cmocka_run_group_tests_name("energy_formulas", tests, NULL, NULL);
}
