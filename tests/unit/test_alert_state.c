/*
 * test_alert_state.c - the alert state file and JSON forms
 * (agent/alert_state.c, agent/alert_webhook.c's Alertmanager form):
 * save/restore round trip across a "restart" (a firing alert is not
 * re-announced; one whose rule is gone is resolved), a torn file, and
 * the fields Alertmanager needs.
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

#include "agent/alert.h"
#include "agent/alert_engine.h"
#include "agent/alert_state.h"
#include "agent/alert_webhook.h"

#define S(x) ((int64_t)(x) * 1000000000LL)

static const char *RULES = "rules:\n"
                           "  - name: load\n"
                           "    measurement: power\n"
                           "    field: load_pct\n"
                           "    direction: above\n"
                           "    warn: 70\n"
                           "    crit: 80\n"
                           "    clear: 65\n"
                           "    missing: 5s\n"
                           "    labels: {team: electrical}\n"
                           "  - name: temp\n"
                           "    measurement: environment\n"
                           "    field: temperature_c\n"
                           "    direction: above\n"
                           "    warn: 27\n";

static char dir[] = "/tmp/evmon-test-alertstate-XXXXXX";
static char state_path[300];

typedef struct {
    size_t n;
    ev_alert_level level[8], prev[8];
    char name[8][64];
} events;

static void on_change(void *ud, const ev_alert *a)
{
    events *e = ud;
    if (e->n < 8) {
        e->level[e->n] = a->level;
        e->prev[e->n] = a->prev;
        ev_alert_name(a, e->name[e->n], sizeof e->name[0]);
    }
    e->n++;
}

static void load_rules(ev_alert_rules *r, const char *text)
{
    char path[320];
    snprintf(path, sizeof path, "%s/rules.yaml", dir);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    ev_diag d = {0};
    const char *paths[] = {path};
    assert_int_equal(ev_alert_rules_load(r, paths, 1, &d), 0);
    ev_diag_free(&d);
}

static void feed(ev_alert_engine *e, const char *m, const char *field, const char *dev, double v, int t)
{
    ev_batch *b = ev_batch_new();
    ev_point *p = ev_batch_add(b, m, S(t));
    ev_point_tag(b, p, "site", "s");
    ev_point_tag(b, p, "hall", "h");
    ev_point_tag(b, p, "device", dev);
    ev_point_float(b, p, field, v);
    ev_alert_engine_feed(e, b);
    ev_batch_free(b);
}

static int setup(void **state)
{
    if (!mkdtemp(dir))
        return -1;
    snprintf(state_path, sizeof state_path, "%s/alerts.json", dir);
    return 0;
}

static int teardown(void **state)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

/* Run 1 fires two alerts and saves; run 2 restores them silently; one
 * resolves at its clear level, the other stays without a new announcement. */
static void restart_round_trip(void **state)
{
    ev_alert_rules rules = {0};
    events ev = {0};
    load_rules(&rules, RULES);
    ev_alert_engine *e = ev_alert_engine_new(&rules, on_change, &ev);
    feed(e, "power", "load_pct", "pdu1", 90, 10);
    feed(e, "power", "load_pct", "pdu2", 75, 10);
    feed(e, "environment", "temperature_c", "pdu1", 20, 10);
    assert_int_equal(ev.n, 2);
    assert_int_equal(ev_alert_state_save(state_path, e), 0);
    ev_alert_engine_free(e);
    assert_int_equal(access(state_path, F_OK), 0);

    events ev2 = {0};
    e = ev_alert_engine_new(&rules, on_change, &ev2);
    assert_int_equal(ev_alert_state_load(state_path, e, S(100), on_change, &ev2), 2);
    assert_int_equal(ev2.n, 0);
    assert_int_equal(ev_alert_engine_active(e), 2);
    feed(e, "power", "load_pct", "pdu1", 91, 101); /* still firing: silent */
    feed(e, "power", "load_pct", "pdu2", 60, 101); /* cleared while down: resolved */
    assert_int_equal(ev2.n, 1);
    assert_string_equal(ev2.name[0], "load");
    assert_int_equal(ev2.level[0], EV_ALERT_OK);
    assert_int_equal(ev2.prev[0], EV_ALERT_WARN);
    assert_int_equal(ev_alert_engine_active(e), 1);
    ev_alert_engine_free(e);
    ev_alert_rules_free(&rules);
}

/* A restored alert whose rule is gone is resolved at load. */
static void gone_rule_resolves(void **state)
{
    ev_alert_rules rules = {0}, fewer = {0};
    events ev = {0};
    load_rules(&rules, RULES);
    ev_alert_engine *e = ev_alert_engine_new(&rules, on_change, &ev);
    feed(e, "environment", "temperature_c", "pdu1", 30, 10);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev_alert_state_save(state_path, e), 0);
    ev_alert_engine_free(e);

    char only_load[600];
    snprintf(only_load, sizeof only_load, "%s", RULES);
    *strstr(only_load, "  - name: temp") = 0;
    load_rules(&fewer, only_load);
    events ev2 = {0};
    e = ev_alert_engine_new(&fewer, on_change, &ev2);
    assert_int_equal(ev_alert_state_load(state_path, e, S(100), on_change, &ev2), 0);
    assert_int_equal(ev2.n, 1);
    assert_string_equal(ev2.name[0], "temp");
    assert_int_equal(ev2.level[0], EV_ALERT_OK);
    assert_int_equal(ev2.prev[0], EV_ALERT_WARN);
    ev_alert_engine_free(e);
    ev_alert_rules_free(&rules);
    ev_alert_rules_free(&fewer);
}

static void torn_file_is_ignored(void **state)
{
    ev_alert_rules rules = {0};
    events ev = {0};
    load_rules(&rules, RULES);
    FILE *f = fopen(state_path, "w");
    fputs("{\"version\": 1, \"alerts\": [{\"rule\": \"load\", \"sev", f);
    fclose(f);
    ev_alert_engine *e = ev_alert_engine_new(&rules, on_change, &ev);
    assert_int_equal(ev_alert_state_load(state_path, e, S(100), on_change, &ev), -1);
    assert_int_equal(ev_alert_engine_active(e), 0);
    unlink(state_path);
    assert_int_equal(ev_alert_state_load(state_path, e, S(100), on_change, &ev), 0); /* no file: none */
    ev_alert_engine_free(e);
    ev_alert_rules_free(&rules);
}

static void missing_alert_survives_restart(void **state)
{
    ev_alert_rules rules = {0};
    events ev = {0};
    load_rules(&rules, RULES);
    ev_alert_engine *e = ev_alert_engine_new(&rules, on_change, &ev);
    feed(e, "power", "load_pct", "pdu1", 10, 10);
    ev_alert_engine_tick(e, S(16));
    assert_int_equal(ev.n, 1);
    assert_string_equal(ev.name[0], "load_missing");
    assert_int_equal(ev_alert_state_save(state_path, e), 0);
    ev_alert_engine_free(e);

    events ev2 = {0};
    e = ev_alert_engine_new(&rules, on_change, &ev2);
    assert_int_equal(ev_alert_state_load(state_path, e, S(100), on_change, &ev2), 1);
    ev_alert_engine_tick(e, S(200));
    assert_int_equal(ev2.n, 0); /* still missing: not announced again */
    feed(e, "power", "load_pct", "pdu1", 10, 201);
    assert_int_equal(ev2.n, 1);
    assert_string_equal(ev2.name[0], "load_missing");
    assert_int_equal(ev2.level[0], EV_ALERT_OK);
    ev_alert_engine_free(e);
    ev_alert_rules_free(&rules);
}

static void json_forms(void **state)
{
    ev_alert_rules rules = {0};
    load_rules(&rules, RULES);
    ev_tag tags[] = {{"device", "pdu\"1"}, {"site", "s"}};
    ev_alert a = {.rule = &rules.v[0], .level = EV_ALERT_CRIT, .prev = EV_ALERT_WARN, .measurement = "power",
                  .tags = tags, .ntags = 2, .value = 85, .threshold = 80, .starts_ns = S(1748772000),
                  .at_ns = S(1748772060)};
    json_object *o = ev_alert_json(&a);
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    assert_non_null(strstr(s, "\"alertname\":\"load\""));
    assert_non_null(strstr(s, "\"state\":\"firing\""));
    assert_non_null(strstr(s, "\"severity\":\"crit\""));
    assert_non_null(strstr(s, "\"device\":\"pdu\\\"1\""));
    assert_non_null(strstr(s, "\"startsAt\":\"2025-06-01T10:00:00.000Z\""));
    json_object_put(o);

    o = ev_alert_am_json(&a, S(1748772100), 240000);
    s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    assert_non_null(strstr(s, "\"labels\":{\"device\":\"pdu\\\"1\",\"site\":\"s\",\"team\":\"electrical\","
                              "\"alertname\":\"load\",\"severity\":\"crit\"}"));
    assert_non_null(strstr(s, "\"startsAt\":\"2025-06-01T10:00:00.000Z\""));
    assert_non_null(strstr(s, "\"endsAt\":\"2025-06-01T10:05:40.000Z\"")); /* now + 4 min */
    json_object_put(o);

    a.level = EV_ALERT_OK; /* resolved: endsAt is when */
    o = ev_alert_am_json(&a, S(1748772100), 240000);
    s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    assert_non_null(strstr(s, "\"severity\":\"warn\""));
    assert_non_null(strstr(s, "\"endsAt\":\"2025-06-01T10:01:00.000Z\""));
    json_object_put(o);
    ev_alert_rules_free(&rules);
}

static ev_alerts_cfg *cfg_with(const char *rules_text)
{
    ev_alerts_cfg *c = calloc(1, sizeof *c);
    c->resend_ms = 60000;
    load_rules(&c->rules, rules_text);
    return c;
}

/* SIGHUP: active alerts carry over to the new rules silently; an alert
 * whose rule went away is resolved; no alerts: section turns it off. */
static void reload_carries_alerts(void **state)
{
    ev_alerts_cfg *c1 = cfg_with(RULES), *c2 = cfg_with(RULES);
    char only_temp[600];
    snprintf(only_temp, sizeof only_temp, "rules:\n%s", strstr(RULES, "  - name: temp"));
    ev_alerts_cfg *c3 = cfg_with(only_temp);
    ev_alerts *al = ev_alerts_new(c1, NULL, 0, NULL, NULL, S(1));
    assert_non_null(al);
    ev_batch *b = ev_batch_new();
    ev_point *p = ev_batch_add(b, "power", S(10));
    ev_point_tag(b, p, "device", "pdu1");
    ev_point_float(b, p, "load_pct", 90);
    ev_alerts_feed(al, b);
    assert_int_equal(ev_alerts_active(al), 1);
    al = ev_alerts_reload(al, c2, NULL, 0, NULL, NULL, S(11));
    ev_alerts_cfg_free(c1);
    assert_int_equal(ev_alerts_active(al), 1);
    al = ev_alerts_reload(al, c3, NULL, 0, NULL, NULL, S(12));
    ev_alerts_cfg_free(c2);
    assert_int_equal(ev_alerts_active(al), 0); /* its rule is gone: resolved */
    assert_null(ev_alerts_reload(al, NULL, NULL, 0, NULL, NULL, S(13)));
    ev_alerts_cfg_free(c3);
    ev_batch_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(restart_round_trip),
        cmocka_unit_test(gone_rule_resolves),
        cmocka_unit_test(torn_file_is_ignored),
        cmocka_unit_test(missing_alert_survives_restart),
        cmocka_unit_test(json_forms),
        cmocka_unit_test(reload_carries_alerts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
