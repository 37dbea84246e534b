/*
 * test_reload.c - what a SIGHUP reload may change (agent/reload.c): the
 * agent's identity is refused with the key named, output changes are
 * named (never their values, which may be secrets) but not refused, an
 * interval change is flagged, and an identical config changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "agent/reload.h"

static ev_config base(void)
{
    return (ev_config){
        .agent_id = "a1", .site = "s1", .hall = "h1", .interval_ms = 10000,
        .influx = {.enabled = true, .url = "http://127.0.0.1:8086", .database = "evmon", .password = "old-pw",
                   .batch_size = 5000, .timeout_ms = 5000, .gzip = true, .max_queue = 100},
        .mqtt = {.enabled = true, .url = "tcp://127.0.0.1:1883", .password = "mq-old", .topic_prefix = "evalley",
                 .qos = 1},
    };
}

static void identical_changes_nothing(void **state)
{
    ev_config a = base(), b = base();
    ev_reload_plan p;
    ev_reload_plan_make(&a, &b, &p);
    assert_false(p.refuse);
    assert_null(p.outputs_key);
    assert_false(p.interval_changed);
}

static void identity_is_refused(void **state)
{
    ev_config a = base(), b = base();
    b.hall = "h2";
    ev_reload_plan p;
    ev_reload_plan_make(&a, &b, &p);
    assert_true(p.refuse);
    assert_non_null(strstr(p.why, "agent.hall changed from 'h1' to 'h2'"));
    b = base();
    b.agent_id = "a2";
    ev_reload_plan_make(&a, &b, &p);
    assert_true(p.refuse);
    assert_non_null(strstr(p.why, "agent.id"));
}

static void outputs_named_not_refused(void **state)
{
    ev_config a = base(), b = base();
    b.mqtt.password = "mq-new";
    b.interval_ms = 5000;
    ev_reload_plan p;
    ev_reload_plan_make(&a, &b, &p);
    assert_false(p.refuse);
    assert_true(p.interval_changed);
    assert_string_equal(p.outputs_key, "outputs.mqtt credentials");
    b = base();
    b.influx.enabled = false;
    ev_reload_plan_make(&a, &b, &p);
    assert_string_equal(p.outputs_key, "outputs.influxdb");
    b = base();
    b.influx.url = "http://10.0.0.1:8086";
    ev_reload_plan_make(&a, &b, &p);
    assert_string_equal(p.outputs_key, "outputs.influxdb.url");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identical_changes_nothing),
        cmocka_unit_test(identity_is_refused),
        cmocka_unit_test(outputs_named_not_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
