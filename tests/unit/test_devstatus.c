/*
 * test_devstatus.c - the device-status registry (agent/devstatus.c): state,
 * last poll, last error kept after recovery, power from a device's points,
 * the poll-duration histogram, totals, and a reload that keeps devices by
 * name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "agent/devstatus.h"

static ev_device_cfg devs[3] = {
    {.name = "pdu-a", .role = EV_ROLE_IT},
    {.name = "pdu-b", .role = EV_ROLE_IT},
    {.name = "ups-1", .role = EV_ROLE_FACILITY},
};
static ev_config cfg = {.devices = devs, .ndevices = 3};

static ev_poll_result result(const ev_device_cfg *d, ev_poll_status st, uint64_t us, const ev_batch *pts)
{
    return (ev_poll_result){.dev = d, .status = st, .duration_us = us, .requests = 2, .points = pts,
                            .error = st == EV_POLL_OK ? NULL : "timeout after 2 tries (1000 ms)"};
}

static void add_power(ev_batch *b, const char *phase, const char *extra_key, const char *extra_val, double w)
{
    ev_point *p = ev_batch_add(b, "power", 1);
    ev_point_tag(b, p, "phase", phase);
    if (extra_key)
        ev_point_tag(b, p, extra_key, extra_val);
    ev_point_float(b, p, "active_power_w", w);
}

static void test_power_of_points(void **state)
{
    ev_batch *b = ev_batch_new();
    assert_true(isnan(ev_devstatus_power_of(b)));
    add_power(b, "L1", NULL, NULL, 500);             /* a phase: not the total */
    assert_true(isnan(ev_devstatus_power_of(b)));
    add_power(b, "total", "inlet", "1", 1140);
    add_power(b, "total", "outlet", "3", 80);        /* an outlet: not the device's */
    add_power(b, "total", "side", "input", 9999);    /* a UPS's input side: not its load */
    add_power(b, "total", "inlet", "2", 60);         /* a second inlet adds up */
    assert_true(ev_devstatus_power_of(b) == 1200);
    ev_batch_free(b);
}

static void test_states_errors_and_totals(void **state)
{
    ev_devstatus *s = ev_devstatus_new(&cfg);
    ev_batch *b = ev_batch_new();
    add_power(b, "total", NULL, NULL, 1140);
    assert_int_equal(ev_devstatus_count(s), 3);
    assert_int_equal(ev_devstatus_at(s, 0)->state, EV_DEV_UNKNOWN);
    assert_null(ev_devstatus_at(s, 3));

    ev_devstatus_cycle(s, 1000, 0);
    ev_poll_result r = result(&devs[0], EV_POLL_OK, 12000, b);
    ev_devstatus_record(s, &r, 2000);
    r = result(&devs[1], EV_POLL_TIMEOUT, 2000000, NULL);
    ev_devstatus_record(s, &r, 3000);

    const ev_devstatus_entry *a = ev_devstatus_at(s, 0), *bb = ev_devstatus_at(s, 1);
    assert_int_equal(a->state, EV_DEV_OK);
    assert_true(a->power_w == 1140);
    assert_int_equal(a->last_poll_ns, 2000);
    assert_int_equal(a->last_duration_us, 12000);
    assert_int_equal(a->last_points, 1);
    assert_null(a->last_error);
    assert_int_equal(bb->state, EV_DEV_TIMEOUT);
    assert_string_equal(bb->last_error, "timeout after 2 tries (1000 ms)");
    assert_int_equal(bb->consecutive_failures, 1);
    assert_true(isnan(bb->power_w));

    /* pdu-b recovers: its state is ok, its last error stays (with its time) */
    ev_devstatus_cycle(s, 11000, 1);
    r = result(&devs[1], EV_POLL_OK, 30000, b);
    ev_devstatus_record(s, &r, 12000);
    assert_int_equal(bb->state, EV_DEV_OK);
    assert_int_equal(bb->consecutive_failures, 0);
    assert_string_equal(bb->last_error, "timeout after 2 tries (1000 ms)");
    assert_int_equal(bb->last_error_ns, 3000);
    assert_int_equal(bb->failures, 1);
    assert_int_equal(bb->polls, 2);

    ev_devstatus_totals t;
    ev_devstatus_totals_get(s, &t);
    assert_int_equal(t.cycles, 2);
    assert_int_equal(t.late_total, 1);
    assert_int_equal(t.started_ns, 1000);
    assert_int_equal(t.last_cycle_ns, 11000);
    assert_int_equal(t.ok, 2);
    assert_int_equal(t.failing, 0);
    assert_int_equal(t.unknown, 1);
    assert_int_equal(t.polls, 3);
    assert_int_equal(t.failures, 1);
    assert_int_equal(t.points, 2);
    /* histogram: 12 ms -> le 0.025; 30 ms -> le 0.05; 2 s -> le 2.5 */
    assert_int_equal(t.buckets[2], 1);
    assert_int_equal(t.buckets[3], 1);
    assert_int_equal(t.buckets[8], 1);
    assert_int_equal(t.buckets[EV_POLL_NBUCKETS], 0);
    assert_true(fabs(t.duration_sum_s - 2.042) < 1e-9);
    ev_batch_free(b);
    ev_devstatus_free(s);
}

static void test_slow_poll_goes_to_inf_bucket(void **state)
{
    ev_devstatus *s = ev_devstatus_new(&cfg);
    ev_poll_result r = result(&devs[2], EV_POLL_ERROR, 11000000, NULL);
    ev_devstatus_record(s, &r, 1);
    ev_devstatus_totals t;
    ev_devstatus_totals_get(s, &t);
    assert_int_equal(t.buckets[EV_POLL_NBUCKETS], 1);
    assert_int_equal(ev_devstatus_at(s, 2)->state, EV_DEV_ERROR);
    ev_devstatus_free(s);
}

static void test_unknown_device_ignored(void **state)
{
    ev_devstatus *s = ev_devstatus_new(&cfg);
    ev_device_cfg other = {.name = "not-configured"};
    ev_poll_result r = result(&other, EV_POLL_OK, 1, NULL);
    ev_devstatus_record(s, &r, 1);
    ev_devstatus_totals t;
    ev_devstatus_totals_get(s, &t);
    assert_int_equal(t.polls, 0);
    /* found by name when the pointer is not from this config */
    ev_device_cfg copy = {.name = "ups-1"};
    r = result(&copy, EV_POLL_OK, 1, NULL);
    ev_devstatus_record(s, &r, 1);
    assert_int_equal(ev_devstatus_at(s, 2)->polls, 1);
    ev_devstatus_free(s);
}

static void test_reconfigure_keeps_devices_by_name(void **state)
{
    ev_devstatus *s = ev_devstatus_new(&cfg);
    ev_poll_result r = result(&devs[1], EV_POLL_TIMEOUT, 5, NULL);
    ev_devstatus_record(s, &r, 7);

    ev_device_cfg devs2[2] = {{.name = "pdu-new"}, {.name = "pdu-b"}};
    ev_config cfg2 = {.devices = devs2, .ndevices = 2};
    assert_int_equal(ev_devstatus_reconfigure(s, &cfg2), 0);
    assert_int_equal(ev_devstatus_count(s), 2);
    assert_ptr_equal(ev_devstatus_at(s, 0)->dev, &devs2[0]);
    assert_int_equal(ev_devstatus_at(s, 0)->state, EV_DEV_UNKNOWN);
    const ev_devstatus_entry *b = ev_devstatus_at(s, 1);
    assert_ptr_equal(b->dev, &devs2[1]);
    assert_int_equal(b->state, EV_DEV_TIMEOUT);
    assert_string_equal(b->last_error, "timeout after 2 tries (1000 ms)");
    r = result(&devs2[1], EV_POLL_OK, 5, NULL);
    ev_devstatus_record(s, &r, 8);
    assert_int_equal(b->polls, 2);
    ev_devstatus_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_power_of_points),
        cmocka_unit_test(test_states_errors_and_totals),
        cmocka_unit_test(test_slow_poll_goes_to_inf_bucket),
        cmocka_unit_test(test_unknown_device_ignored),
        cmocka_unit_test(test_reconfigure_keeps_devices_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
