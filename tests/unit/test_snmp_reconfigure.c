/*
 * test_snmp_reconfigure.c - the SNMP collector's reconfigure op (SIGHUP
 * reload), against sockets bound here that never answer, so that a poll
 * stays in flight as long as the test wants: an unchanged device keeps its
 * poll in flight across the reload and reports under its new config; a
 * removed or changed device in flight is reported at once as abandoned,
 * with the old config; a new device joins at the next poll; a device whose
 * profile now fetches other OIDs counts as changed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "agent/log.h"
#include "collectors/snmp.h"
#include "fixture_collector.h"

static const char profile1_yaml[] =
    "name: one\n"
    "metrics:\n"
    "  - {name: s1, oid: 1.3.6.1.4.1.99.1.0, type: scalar, measurement: t, field: s1}\n";
static const char profile2_yaml[] =
    "name: two\n"
    "metrics:\n"
    "  - {name: s2, oid: 1.3.6.1.4.1.99.2.0, type: scalar, measurement: t, field: s2}\n";

typedef fx_collector fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    fx_collector_init(f, FX_SILENT_UDP);
    fx_profile_load(f->set, profile1_yaml);
    fx_profile_load(f->set, profile2_yaml);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_collector_fini(*state);
    free(*state);
    return 0;
}

static void kept_removed_added(void **state)
{
    fixture *f = *state;
    fx_sink s = {0};
    ev_device_cfg a = fx_snmp_dev(f, "pdu-a", "one", 300), b = fx_snmp_dev(f, "pdu-b", "one", 300);
    const ev_device_cfg *devs[] = {&a, &b};
    ev_collector *c = ev_snmp_collector_new(f->loop, &f->cfg, devs, 2, fx_sink_record, &s);
    assert_non_null(c);
    ev_collector_poll(c, ev_wall_ns());
    assert_int_equal(ev_collector_busy(c), 2);

    /* The same pdu-a (a copy, as a reload makes), no pdu-b, a new pdu-c;
     * tags may change without restarting anything. */
    ev_device_cfg a2 = fx_snmp_dev(f, "pdu-a", "one", 300), c2 = fx_snmp_dev(f, "pdu-c", "one", 300);
    a2.rack = "r09";
    const ev_device_cfg *devs2[] = {&c2, &a2};
    assert_int_equal(ev_collector_reconfigure(c, &f->cfg2, devs2, 2), 0);

    assert_int_equal(s.n, 1); /* pdu-b, abandoned now, under its old config */
    assert_ptr_equal(s.r[0].dev, &b);
    assert_int_equal(s.r[0].status, EV_POLL_ERROR);
    assert_string_equal(s.r[0].error, "poll abandoned: device removed by a configuration reload");
    assert_int_equal(ev_collector_busy(c), 1); /* pdu-a still in flight */

    assert_true(fx_run_until_idle(f->loop, c, 3000));
    assert_int_equal(s.n, 2); /* pdu-a's poll ran to its end, under the new config */
    assert_ptr_equal(s.r[1].dev, &a2);
    assert_int_equal(s.r[1].status, EV_POLL_TIMEOUT);
    assert_string_equal(s.r[1].error, "timeout after 2 tries (300 ms each)");

    ev_collector_poll(c, ev_wall_ns()); /* now both pdu-a and pdu-c */
    assert_int_equal(ev_collector_busy(c), 2);
    ev_snmp_stats st;
    ev_snmp_collector_stats(c, &st);
    assert_int_equal(st.polls, 4);
    ev_collector_free(c);
}

static void changed_device_starts_again(void **state)
{
    fixture *f = *state;
    fx_sink s = {0};
    ev_device_cfg a = fx_snmp_dev(f, "pdu-a", "one", 300), b = fx_snmp_dev(f, "pdu-b", "one", 300);
    const ev_device_cfg *devs[] = {&a, &b};
    ev_collector *c = ev_snmp_collector_new(f->loop, &f->cfg, devs, 2, fx_sink_record, &s);
    ev_collector_poll(c, ev_wall_ns());

    /* pdu-a: another timeout; pdu-b: a profile fetching other OIDs. */
    ev_device_cfg a2 = fx_snmp_dev(f, "pdu-a", "one", 200), b2 = fx_snmp_dev(f, "pdu-b", "two", 300);
    const ev_device_cfg *devs2[] = {&a2, &b2};
    assert_int_equal(ev_collector_reconfigure(c, &f->cfg2, devs2, 2), 0);
    assert_int_equal(s.n, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(s.r[i].status, EV_POLL_ERROR);
        assert_string_equal(s.r[i].error, "poll abandoned: device changed by a configuration reload");
    }
    assert_int_equal(ev_collector_busy(c), 0);

    ev_collector_poll(c, ev_wall_ns()); /* set up anew: both poll again */
    assert_int_equal(ev_collector_busy(c), 2);
    assert_true(fx_run_until_idle(f->loop, c, 3000));
    assert_int_equal(s.n, 4);
    assert_string_equal(s.r[2].error, "timeout after 2 tries (200 ms each)");
    ev_collector_free(c);
}

static void idle_reload_reports_nothing(void **state)
{
    fixture *f = *state;
    fx_sink s = {0};
    ev_device_cfg a = fx_snmp_dev(f, "pdu-a", "one", 300);
    const ev_device_cfg *devs[] = {&a};
    ev_collector *c = ev_snmp_collector_new(f->loop, &f->cfg, devs, 1, fx_sink_record, &s);
    assert_int_equal(ev_collector_reconfigure(c, &f->cfg2, NULL, 0), 0); /* every device removed */
    assert_int_equal(s.n, 0);
    ev_collector_poll(c, ev_wall_ns());
    assert_int_equal(ev_collector_busy(c), 0);
    ev_collector_free(c);
}

int main(void)
{
    ev_log_set_level(EV_LOG_ERR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(kept_removed_added, setup, teardown),
        cmocka_unit_test_setup_teardown(changed_device_starts_again, setup, teardown),
        cmocka_unit_test_setup_teardown(idle_reload_reports_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
