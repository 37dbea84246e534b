/*
 * test_snmp_pace.c - the token bucket that spreads a cycle's device starts
 * (collectors/snmp_pace.c) and the slots lent to devices in flight
 * (collectors/snmp_slot.c): a fleet starts over a quarter of the interval,
 * a small one at the minimum rate, a late loop catches up by no more than
 * the bucket's depth; slots are reused per profile, never across profiles,
 * and a slot re-bound by a reload is freed, not reused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "collectors/snmp_int.h"
#include "fixture_profile.h"

/* Start `n` devices through the bucket, asking again when it says; the
 * time (us after begin) the last one starts at. */
static uint64_t run_cycle(size_t n, unsigned interval_ms, size_t *max_at_once)
{
    ev_snmp_pace p;
    uint64_t now = 1000000, t0 = now;
    ev_snmp_pace_begin(&p, n, interval_ms, now);
    size_t left = n;
    *max_at_once = 0;
    for (int guard = 0; left > 0 && guard < 1000000; guard++) {
        size_t k = ev_snmp_pace_take(&p, now, left);
        left -= k;
        if (k > *max_at_once)
            *max_at_once = k;
        if (!left)
            break;
        uint64_t wait = ev_snmp_pace_wait_ms(&p);
        assert_true(wait >= 1);
        now += wait * 1000;
    }
    assert_int_equal(left, 0);
    return now - t0;
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
    ev_snmp_pace p;
    ev_snmp_pace_begin(&p, 10000, 10000, 5);
    assert_int_equal(ev_snmp_pace_take(&p, 5, 10000), 1);
    assert_int_equal(ev_snmp_pace_take(&p, 5, 10000), 0);
    assert_int_equal(ev_snmp_pace_wait_ms(&p), 1);
}

static void late_loop_catches_up_within_the_depth(void **state)
{
    (void)state;
    ev_snmp_pace p;
    ev_snmp_pace_begin(&p, 10000, 10000, 0);
    assert_int_equal(ev_snmp_pace_take(&p, 0, 10000), 1);
    /* the loop was busy for a whole second: only 4 ms worth (16) may go */
    assert_int_equal(ev_snmp_pace_take(&p, 1000000, 10000), 16);
    assert_int_equal(ev_snmp_pace_take(&p, 1000000, 10000), 0);
    /* and never more than asked */
    assert_int_equal(ev_snmp_pace_take(&p, 1004000, 3), 3);
}

/* ---- slots ---- */

static const char yaml_a[] = "name: slot-a\n"
                             "metrics:\n"
                             "  - {name: s, oid: 1.3.6.1.4.1.99.1.0, type: scalar, measurement: t, field: s}\n"
                             "  - {name: c, oid: 1.3.6.1.4.1.99.3.1.2, type: column, measurement: t, field: c}\n";
static const char yaml_b[] = "name: slot-b\n"
                             "metrics:\n"
                             "  - {name: c, oid: 1.3.6.1.4.1.99.3.1.2, type: column, measurement: t, field: c}\n";

static void slots_are_reused_per_profile(void **state)
{
    (void)state;
    ev_profile_set *set = ev_profiles_new();
    fx_profile_load(set, yaml_a);
    fx_profile_load(set, yaml_b);
    const ev_profile *a = ev_profiles_find(set, "slot-a"), *b = ev_profiles_find(set, "slot-b");
    ev_snmp_slots *s = ev_snmp_slots_new();

    ev_snmp_slot *x = ev_snmp_slot_take(s, a), *y = ev_snmp_slot_take(s, a);
    assert_non_null(x);
    assert_non_null(y);
    assert_ptr_not_equal(x, y);
    assert_int_equal(x->rs->ncols, 2);
    assert_int_equal(ev_snmp_slots_total(s), 2);
    ev_value v = {.type = EV_V_INT, .i = 7};
    assert_int_equal(ev_rowset_add(x->rs, 0, NULL, &v), 0);
    ev_snmp_slot_put(s, x, a);
    assert_ptr_equal(ev_snmp_slot_take(s, a), x); /* the idle one, not a new one */
    assert_int_equal(ev_snmp_slots_total(s), 2);
    ev_snmp_slot_put(s, x, a);

    ev_snmp_slot *z = ev_snmp_slot_take(s, b); /* another profile: its own slot */
    assert_ptr_not_equal(z, x);
    assert_int_equal(z->rs->ncols, 1);
    assert_int_equal(ev_snmp_slots_total(s), 3);

    ev_snmp_slot_put(s, y, NULL); /* re-bound by a reload: freed */
    assert_int_equal(ev_snmp_slots_total(s), 2);
    ev_snmp_slot_put(s, z, b);
    ev_snmp_slots_drain(s); /* a reload: idle slots go */
    assert_int_equal(ev_snmp_slots_total(s), 0);
    x = ev_snmp_slot_take(s, a);
    assert_int_equal(ev_snmp_slots_total(s), 1);
    ev_snmp_slot_put(s, x, a);
    ev_snmp_slots_free(s);
    ev_profiles_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fleet_spreads_over_a_quarter_of_the_interval),
        cmocka_unit_test(small_fleet_starts_at_the_minimum_rate),
        cmocka_unit_test(first_device_starts_at_once),
        cmocka_unit_test(late_loop_catches_up_within_the_depth),
        cmocka_unit_test(slots_are_reused_per_profile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
