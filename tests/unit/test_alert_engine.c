/*
 * test_alert_engine.c - the alert state machine (agent/alert_engine.c):
 * hold time (duration and samples), resolve at the clear level, no
 * flapping between clear and fire levels, warn/crit escalation and
 * crit_clear, direction below, selectors, missing-data alerts, restore
 * after a restart, description templates, and the MQTT topic / alert
 * point of a change (agent/alert_notify.c).
 *
 * Rules are written as YAML to a temp file and loaded with the real
 * loader; points are fed with explicit timestamps, so time is exact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/alert_engine.h"
#include "agent/alert_notify.h"
#include "agent/alert_rule.h"

#define S(x) ((int64_t)(x) * 1000000000LL)
#define MAX_EV 64

typedef struct {
    ev_alert_rules rules;
    ev_alert_engine *e;
    ev_batch *b;
    size_t n;
    struct {
        char name[64];
        ev_alert_level level, prev;
        double value, threshold;
        int64_t starts, at;
        char desc[256];
        char topic[256];
    } ev[MAX_EV];
} fx;

static void on_change(void *ud, const ev_alert *a)
{
    fx *f = ud;
    assert_true(f->n < MAX_EV);
    ev_buf d, t;
    ev_buf_init(&d);
    ev_buf_init(&t);
    ev_alert_describe(a, &d);
    ev_alert_topic(a, &t);
    ev_alert_name(a, f->ev[f->n].name, sizeof f->ev[f->n].name);
    f->ev[f->n].level = a->level;
    f->ev[f->n].prev = a->prev;
    f->ev[f->n].value = a->value;
    f->ev[f->n].threshold = a->threshold;
    f->ev[f->n].starts = a->starts_ns;
    f->ev[f->n].at = a->at_ns;
    snprintf(f->ev[f->n].desc, sizeof f->ev[f->n].desc, "%s", ev_buf_cstr(&d));
    snprintf(f->ev[f->n].topic, sizeof f->ev[f->n].topic, "%s", ev_buf_cstr(&t));
    ev_buf_free(&d);
    ev_buf_free(&t);
    f->n++;
}

static fx *setup_rules(const char *yaml)
{
    char path[] = "/tmp/evmon-test-alert-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
    close(fd);
    fx *f = calloc(1, sizeof *f);
    ev_diag diag = {0};
    const char *paths[] = {path};
    size_t nerr = ev_alert_rules_load(&f->rules, paths, 1, &diag);
    if (nerr)
        ev_diag_print(&diag, stderr);
    assert_int_equal(nerr, 0);
    ev_diag_free(&diag);
    unlink(path);
    f->e = ev_alert_engine_new(&f->rules, on_change, f);
    f->b = ev_batch_new();
    return f;
}

static void teardown_fx(fx *f)
{
    ev_alert_engine_free(f->e);
    ev_batch_free(f->b);
    ev_alert_rules_free(&f->rules);
    free(f);
}

/* Feed one power point of device dev, phase ph, at second t. */
static void feed(fx *f, const char *dev, const char *ph, double v, int t)
{
    ev_batch_clear(f->b);
    ev_point *p = ev_batch_add(f->b, "power", S(t));
    ev_point_tag(f->b, p, "site", "cambrai");
    ev_point_tag(f->b, p, "hall", "h1");
    ev_point_tag(f->b, p, "row", "r1");
    ev_point_tag(f->b, p, "rack", "k01");
    ev_point_tag(f->b, p, "role", "it");
    ev_point_tag(f->b, p, "device", dev);
    ev_point_tag(f->b, p, "phase", ph);
    ev_point_float(f->b, p, "load_pct", v);
    ev_point_float(f->b, p, "current_a", 1);
    ev_alert_engine_feed(f->e, f->b);
}

static const char *LOAD_RULES = "rules:\n"
                                "  - name: load\n"
                                "    measurement: power\n"
                                "    field: load_pct\n"
                                "    select: {phase: 'L[123]'}\n"
                                "    direction: above\n"
                                "    warn: 70\n"
                                "    crit: 80\n"
                                "    clear: 65\n"
                                "    crit_clear: 75\n"
                                "    for: 2s\n"
                                "    description: '{device} {phase} at {value}% (limit {threshold}%)'\n";

static void fires_after_hold_not_before(void **state)
{
    fx *f = setup_rules(LOAD_RULES);
    feed(f, "pdu1", "L1", 72, 100);
    feed(f, "pdu1", "L1", 72, 101);
    assert_int_equal(f->n, 0); /* held 1 s of 2 */
    assert_int_equal(ev_alert_engine_active(f->e), 0);
    feed(f, "pdu1", "L1", 73, 102);
    assert_int_equal(f->n, 1);
    assert_string_equal(f->ev[0].name, "load");
    assert_int_equal(f->ev[0].level, EV_ALERT_WARN);
    assert_int_equal(f->ev[0].prev, EV_ALERT_OK);
    assert_true(f->ev[0].threshold == 70);
    assert_true(f->ev[0].at == S(102));
    assert_true(f->ev[0].starts == S(102));
    assert_string_equal(f->ev[0].desc, "pdu1 L1 at 73% (limit 70%)");
    assert_string_equal(f->ev[0].topic, "alerts/cambrai/h1/pdu1/L1/load");
    assert_int_equal(ev_alert_engine_active(f->e), 1);
    feed(f, "pdu1", "L1", 73, 103);
    assert_int_equal(f->n, 1); /* no repeat while it stays */
    teardown_fx(f);
}

static void hold_in_samples(void **state)
{
    char rules[1024];
    snprintf(rules, sizeof rules, "%s", LOAD_RULES);
    *strstr(rules, "for: 2s") = 0;
    strcat(rules, "for: 3 samples\n");
    fx *f = setup_rules(rules);
    feed(f, "pdu1", "L2", 90, 0);
    feed(f, "pdu1", "L2", 90, 600); /* time does not count, samples do */
    assert_int_equal(f->n, 0);
    feed(f, "pdu1", "L2", 90, 601);
    assert_int_equal(f->n, 1);
    assert_int_equal(f->ev[0].level, EV_ALERT_CRIT);
    assert_true(f->ev[0].threshold == 80);
    teardown_fx(f);
}

static void resolves_at_clear_level(void **state)
{
    fx *f = setup_rules(LOAD_RULES);
    for (int t = 0; t <= 2; t++)
        feed(f, "pdu1", "L1", 72, t);
    assert_int_equal(f->n, 1);
    feed(f, "pdu1", "L1", 66, 3); /* below warn, above clear: still firing */
    assert_int_equal(f->n, 1);
    feed(f, "pdu1", "L1", 65, 4); /* at the clear level: resolved at once */
    assert_int_equal(f->n, 2);
    assert_int_equal(f->ev[1].level, EV_ALERT_OK);
    assert_int_equal(f->ev[1].prev, EV_ALERT_WARN);
    assert_true(f->ev[1].threshold == 65);
    assert_true(f->ev[1].starts == S(2));
    assert_true(f->ev[1].at == S(4));
    assert_int_equal(ev_alert_engine_active(f->e), 0);
    teardown_fx(f);
}

static void no_flapping_between_clear_and_fire(void **state)
{
    fx *f = setup_rules(LOAD_RULES);
    /* Before firing: dipping under warn restarts the hold, so an
     * oscillating value never fires. */
    for (int t = 0; t < 20; t++)
        feed(f, "pdu1", "L1", t % 2 ? 68 : 72, t);
    assert_int_equal(f->n, 0);
    /* Once firing: oscillating between clear (65) and warn (70) keeps it. */
    for (int t = 20; t <= 22; t++)
        feed(f, "pdu1", "L1", 72, t);
    assert_int_equal(f->n, 1);
    for (int t = 23; t < 60; t++)
        feed(f, "pdu1", "L1", t % 2 ? 66 : 72, t);
    assert_int_equal(f->n, 1);
    teardown_fx(f);
}

static void escalates_and_lowers_with_crit_clear(void **state)
{
    fx *f = setup_rules(LOAD_RULES);
    for (int t = 0; t <= 2; t++)
        feed(f, "pdu1", "L3", 72, t);
    assert_int_equal(f->ev[0].level, EV_ALERT_WARN);
    feed(f, "pdu1", "L3", 85, 3);
    feed(f, "pdu1", "L3", 85, 4);
    assert_int_equal(f->n, 1); /* crit is held too */
    feed(f, "pdu1", "L3", 85, 5);
    assert_int_equal(f->n, 2);
    assert_int_equal(f->ev[1].level, EV_ALERT_CRIT);
    assert_int_equal(f->ev[1].prev, EV_ALERT_WARN);
    assert_true(f->ev[1].starts == S(2)); /* the alert started as warn */
    feed(f, "pdu1", "L3", 77, 6);         /* under crit, above crit_clear */
    assert_int_equal(f->n, 2);
    feed(f, "pdu1", "L3", 74, 7); /* under crit_clear: back to warn */
    assert_int_equal(f->n, 3);
    assert_int_equal(f->ev[2].level, EV_ALERT_WARN);
    assert_int_equal(f->ev[2].prev, EV_ALERT_CRIT);
    feed(f, "pdu1", "L3", 50, 8);
    assert_int_equal(f->ev[3].level, EV_ALERT_OK);
    assert_int_equal(f->ev[3].prev, EV_ALERT_WARN);
    teardown_fx(f);
}

static void selector_and_series_are_separate(void **state)
{
    fx *f = setup_rules(LOAD_RULES);
    for (int t = 0; t <= 2; t++) {
        feed(f, "pdu1", "total", 99, t); /* not selected: phase L[123] */
        feed(f, "pdu1", "L1", 90, t);
        feed(f, "pdu2", "L1", 10, t);
    }
    assert_int_equal(f->n, 1);
    assert_string_equal(f->ev[0].topic, "alerts/cambrai/h1/pdu1/L1/load");
    assert_int_equal(ev_alert_engine_active(f->e), 1);
    teardown_fx(f);
}

static void direction_below_and_no_warn(void **state)
{
    fx *f = setup_rules("rules:\n"
                        "  - name: low\n"
                        "    measurement: power\n"
                        "    field: load_pct\n"
                        "    direction: below\n"
                        "    crit: 10\n"
                        "    clear: 15\n");
    feed(f, "pdu1", "L1", 9, 0); /* no hold: fires at once */
    assert_int_equal(f->n, 1);
    assert_int_equal(f->ev[0].level, EV_ALERT_CRIT);
    assert_string_equal(f->ev[0].desc, "pdu1: power.load_pct 9 below 10");
    feed(f, "pdu1", "L1", 14, 1);
    assert_int_equal(f->n, 1);
    feed(f, "pdu1", "L1", 15, 2);
    assert_int_equal(f->n, 2);
    assert_int_equal(f->ev[1].level, EV_ALERT_OK);
    assert_string_equal(f->ev[1].desc, "pdu1: power.load_pct 15 back at or above 15");
    teardown_fx(f);
}

static void missing_data_alert(void **state)
{
    fx *f = setup_rules("rules:\n"
                        "  - name: load\n"
                        "    measurement: power\n"
                        "    field: load_pct\n"
                        "    direction: above\n"
                        "    crit: 80\n"
                        "    missing: 3s\n"
                        "    missing_severity: crit\n");
    feed(f, "pdu1", "L1", 10, 100);
    feed(f, "pdu2", "L1", 10, 100);
    ev_alert_engine_tick(f->e, S(103)); /* 3 s: not more than 3 s */
    assert_int_equal(f->n, 0);
    feed(f, "pdu2", "L1", 10, 103);
    ev_alert_engine_tick(f->e, S(104));
    assert_int_equal(f->n, 1);
    assert_string_equal(f->ev[0].name, "load_missing");
    assert_int_equal(f->ev[0].level, EV_ALERT_CRIT);
    assert_string_equal(f->ev[0].topic, "alerts/cambrai/h1/pdu1/L1/load_missing");
    assert_string_equal(f->ev[0].desc, "pdu1: no power.load_pct for more than 3s");
    ev_alert_engine_tick(f->e, S(105));
    assert_int_equal(f->n, 1); /* announced once */
    assert_int_equal(ev_alert_engine_active(f->e), 1);
    feed(f, "pdu1", "L1", 10, 106); /* back: resolved */
    assert_int_equal(f->n, 2);
    assert_string_equal(f->ev[1].name, "load_missing");
    assert_int_equal(f->ev[1].level, EV_ALERT_OK);
    assert_true(f->ev[1].starts == S(104));
    assert_int_equal(ev_alert_engine_active(f->e), 0);
    teardown_fx(f);
}

/* Restart: a firing alert restored is not announced again while it stays;
 * it resolves at the first sample at the clear level. */
static void restore_after_restart(void **state)
{
    fx *f = setup_rules(LOAD_RULES);
    ev_tag tags[] = {{"device", "pdu1"}, {"hall", "h1"}, {"phase", "L1"}, {"rack", "k01"},
                     {"role", "it"},     {"row", "r1"},  {"site", "cambrai"}};
    assert_int_equal(ev_alert_engine_restore(f->e, "load", false, "power", tags, 7, EV_ALERT_CRIT, 90, 80, S(50),
                                             S(100)),
                     0);
    assert_int_equal(ev_alert_engine_restore(f->e, "gone", false, "power", tags, 7, EV_ALERT_CRIT, 90, 80, S(50),
                                             S(100)),
                     -1);
    assert_int_equal(ev_alert_engine_active(f->e), 1);
    feed(f, "pdu1", "L1", 90, 100);
    feed(f, "pdu1", "L1", 90, 101);
    assert_int_equal(f->n, 0); /* still firing: not re-announced */
    feed(f, "pdu1", "L1", 60, 102);
    assert_int_equal(f->n, 1);
    assert_int_equal(f->ev[0].level, EV_ALERT_OK);
    assert_int_equal(f->ev[0].prev, EV_ALERT_CRIT);
    assert_true(f->ev[0].starts == S(50));
    teardown_fx(f);
}

static void alert_point_and_topic_scope(void **state)
{
    fx *f = setup_rules("rules:\n"
                        "  - name: hr\n"
                        "    measurement: headroom\n"
                        "    field: headroom_pct\n"
                        "    direction: below\n"
                        "    warn: 20\n");
    ev_batch_clear(f->b);
    ev_point *p = ev_batch_add(f->b, "headroom", S(10));
    ev_point_tag(f->b, p, "site", "cambrai");
    ev_point_tag(f->b, p, "hall", "h1");
    ev_point_tag(f->b, p, "scope", "rack");
    ev_point_tag(f->b, p, "row", "r1");
    ev_point_tag(f->b, p, "rack", "k/01");
    ev_point_tag(f->b, p, "agent", "a1");
    ev_point_float(f->b, p, "headroom_pct", 5);
    ev_alert_engine_feed(f->e, f->b);
    assert_int_equal(f->n, 1);
    assert_string_equal(f->ev[0].topic, "alerts/cambrai/h1/rack/r1/k_01/hr");
    teardown_fx(f);
}

static void each_lists_active(void **state)
{
    fx *f = setup_rules(LOAD_RULES);
    for (int t = 0; t <= 2; t++) {
        feed(f, "pdu1", "L1", 90, t);
        feed(f, "pdu2", "L2", 72, t);
    }
    assert_int_equal(ev_alert_engine_active(f->e), 2);
    f->n = 0;
    ev_alert_engine_each(f->e, on_change, f);
    assert_int_equal(f->n, 2);
    teardown_fx(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fires_after_hold_not_before),
        cmocka_unit_test(hold_in_samples),
        cmocka_unit_test(resolves_at_clear_level),
        cmocka_unit_test(no_flapping_between_clear_and_fire),
        cmocka_unit_test(escalates_and_lowers_with_crit_clear),
        cmocka_unit_test(selector_and_series_are_separate),
        cmocka_unit_test(direction_below_and_no_warn),
        cmocka_unit_test(missing_data_alert),
        cmocka_unit_test(restore_after_restart),
        cmocka_unit_test(alert_point_and_topic_scope),
        cmocka_unit_test(each_lists_active),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
