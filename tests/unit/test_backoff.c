/*
 * test_backoff.c - exponential backoff with equal jitter: every delay lies
 * in [d/2, d] with d = min(max, base * 2^failures), the jitter really
 * varies, a reset starts over, and Retry-After is a (capped) floor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agent/outputs/backoff.h"

static void test_delays_within_bounds(void **state)
{
    ev_backoff b;
    ev_backoff_init(&b, 100, 5000, 42);
    unsigned step = 100;
    for (int i = 0; i < 40; i++) {
        unsigned d = ev_backoff_next(&b, -1);
        assert_in_range(d, step / 2, step);
        step = step * 2 > 5000 ? 5000 : step * 2;
    }
    /* after many failures: still capped, never overflowing to small values */
    for (int i = 0; i < 200; i++)
        assert_in_range(ev_backoff_next(&b, -1), 2500, 5000);
}

static void test_jitter_varies_and_seeds_differ(void **state)
{
    ev_backoff a, b;
    ev_backoff_init(&a, 1000, 1000, 1);
    ev_backoff_init(&b, 1000, 1000, 2);
    unsigned lo = 1000, hi = 0, same = 0;
    for (int i = 0; i < 100; i++) {
        unsigned x = ev_backoff_next(&a, -1), y = ev_backoff_next(&b, -1);
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
        same += x == y;
    }
    assert_true(hi - lo > 200); /* spread over the [500, 1000] window */
    assert_true(same < 20);     /* two agents do not retry in lockstep */
}

static void test_reset_starts_over(void **state)
{
    ev_backoff b;
    ev_backoff_init(&b, 100, 100000, 7);
    for (int i = 0; i < 10; i++)
        ev_backoff_next(&b, -1);
    assert_true(ev_backoff_next(&b, -1) >= 25600);
    ev_backoff_reset(&b);
    assert_in_range(ev_backoff_next(&b, -1), 50, 100);
}

static void test_retry_after_is_a_capped_floor(void **state)
{
    ev_backoff b;
    ev_backoff_init(&b, 100, 1000, 3);
    assert_int_equal(ev_backoff_next(&b, 3000), 3000); /* longer than backoff: honoured */
    unsigned d = ev_backoff_next(&b, 1);               /* shorter: backoff wins */
    assert_in_range(d, 100, 200);
    assert_int_equal(ev_backoff_next(&b, 24LL * 3600 * 1000), EV_RETRY_AFTER_CAP_MS);
    assert_in_range(ev_backoff_next(&b, 0), 400, 800); /* 0: no floor */
}

static void test_degenerate_settings(void **state)
{
    ev_backoff b;
    ev_backoff_init(&b, 0, 0, 0); /* base 0 and seed 0 are made usable */
    for (int i = 0; i < 5; i++)
        assert_in_range(ev_backoff_next(&b, -1), 0, 1);
    ev_backoff_init(&b, 500, 100, 9); /* max below base: base wins */
    assert_in_range(ev_backoff_next(&b, -1), 250, 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delays_within_bounds),
        cmocka_unit_test(test_jitter_varies_and_seeds_differ),
        cmocka_unit_test(test_reset_starts_over),
        cmocka_unit_test(test_retry_after_is_a_capped_floor),
        cmocka_unit_test(test_degenerate_settings),
    };
    return cmocka_run_group_tests_name("backoff", tests, NULL, NULL);
}
