/*
 * test_pace.c - the token bucket that spreads a cycle's device starts for
 * both collectors (collectors/pace.c): a fleet starts over a quarter of the
 * interval, a small one at the minimum rate, a late loop catches up by no
 * more than the bucket's depth; with a longer tick (the Modbus collector's)
 * starts go in rounds of a tick's worth, no closer than the tick.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "collectors/pace.h"

/* Start `n` devices through the bucket, asking again when it says; the
 * time (us after begin) the last one starts at. */
static uint64_t run_cycle_tick(size_t n, unsigned interval_ms, unsigned tick_ms, size_t *max_at_once)
{
    ev_pace p;
    uint64_t now = 1000000, t0 = now;
    ev_pace_begin(&p, n, interval_ms, tick_ms, now);
    size_t left = n;
    *max_at_once = 0;
    for (int guard = 0; left > 0 && guard < 1000000; guard++) {
        size_t k = ev_pace_take(&p, now, left);
        left -= k;
        if (k > *max_at_once)
            *max_at_once = k;
        if (!left)
            break;
        uint64_t wait = ev_pace_wait_ms(&p);
        assert_true(wait >= 1);
        assert_true(wait >= tick_ms);
        now += wait * 1000;
    }
    assert_int_equal(left, 0);
    return now - t0;
}

/* The SNMP collector's tick: 1 ms. */
static uint64_t run_cycle(size_t n, unsigned interval_ms, size_t *max_at_once)
{
    return run_cycle_tick(n, interval_ms, 1, max_at_once);
}

static void fleet_spreads_over_a_quarter_of_the_interval(void **state)
{
    (void)state;
    size_t burst;
    uint64_t took = run_cycle(10000, 10000, &burst); /* 4,000 devices/s */
    assert_true(took >= 2400000 && took <= 2600000);
    assert_true(burst <= 16); /* 4 ms of starts at most, never the fleet at once */
}

static void small_fleet_starts_at_the_minimum_rate(void **state)
{
    (void)state;
    size_t burst;
    uint64_t took = run_cycle(100, 10000, &burst); /* 2,000 devices/s, not 10 */
    assert_true(took <= 60000);
    assert_true(took >= 45000);
}

static void first_device_starts_at_once(void **state)
{
    (void)state;
    ev_pace p;
    ev_pace_begin(&p, 10000, 10000, 1, 5);
    assert_int_equal(ev_pace_take(&p, 5, 10000), 1);
    assert_int_equal(ev_pace_take(&p, 5, 10000), 0);
    assert_int_equal(ev_pace_wait_ms(&p), 1);
}

static void late_loop_catches_up_within_the_depth(void **state)
{
    (void)state;
    ev_pace p;
    ev_pace_begin(&p, 10000, 10000, 1, 0);
    assert_int_equal(ev_pace_take(&p, 0, 10000), 1);
    /* the loop was busy for a whole second: only 4 ms worth (16) may go */
    assert_int_equal(ev_pace_take(&p, 1000000, 10000), 16);
    assert_int_equal(ev_pace_take(&p, 1000000, 10000), 0);
    /* and never more than asked */
    assert_int_equal(ev_pace_take(&p, 1004000, 3), 3);
}

static void longer_tick_starts_in_rounds(void **state)
{
    (void)state;
    size_t burst;
    /* 2,000 devices every 5 s: 2,000/s (the minimum rate) in rounds 10 ms
     * apart (run_cycle_tick checks every wait), 20 devices a round */
    uint64_t took = run_cycle_tick(2000, 5000, 10, &burst);
    assert_true(took >= 990000 && took <= 1010000);
    assert_int_equal(burst, 20);

    ev_pace p;
    ev_pace_begin(&p, 2000, 5000, 10, 0);
    assert_int_equal(ev_pace_take(&p, 0, 2000), 1); /* the first device goes now */
    assert_int_equal(ev_pace_wait_ms(&p), 10);
    assert_int_equal(ev_pace_take(&p, 1000, 2000), 2); /* credit still accrues in between */
    /* a loop busy for a second catches up by one round, no more */
    assert_int_equal(ev_pace_take(&p, 1000000, 2000), 20);
    assert_int_equal(ev_pace_take(&p, 1000000, 2000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fleet_spreads_over_a_quarter_of_the_interval),
        cmocka_unit_test(small_fleet_starts_at_the_minimum_rate),
        cmocka_unit_test(first_device_starts_at_once),
        cmocka_unit_test(late_loop_catches_up_within_the_depth),
        cmocka_unit_test(longer_tick_starts_in_rounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
