/*
 * test_hub_reload.c - what a SIGHUP may change in the hub (hub_reload.h):
 * identity refused with the key named, kept settings named, live ones
 * passed; and the hall state following a reloaded file
 * (ev_hub_state_reconfigure): new expected halls added, halls dropped from
 * the file kept while they have reported, what they reported kept.
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

#include "agent/hub_reload.h"
#include "agent/hub_state.h"

#define BASE "hub: {id: hub-1, interval: 2s}\n" \
             "mqtt: {url: \"tcp://127.0.0.1:1883\", group: g, topic_prefix: ev}\n" \
             "influxdb: {url: \"http://127.0.0.1:8086\", database: evmon}\n"

static ev_hub_config *load(const char *text)
{
    char path[] = "/tmp/evmon-hubreload-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    ev_diag d = {0};
    ev_hub_config *c = ev_hub_config_load(path, &d);
    for (size_t i = 0; i < d.n; i++)
        print_error("%s\n", d.msgs[i]);
    ev_diag_free(&d);
    unlink(path);
    assert_non_null(c);
    return c;
}

static void plan_of(const char *old_text, const char *new_text, ev_hub_reload_plan *p)
{
    ev_hub_config *a = load(old_text), *b = load(new_text);
    ev_hub_reload_plan_make(a, b, p);
    ev_hub_config_free(a);
    ev_hub_config_free(b);
}

static void test_identity_is_refused(void **state)
{
    static const struct {
        const char *text, *key;
    } cases[] = {
        {"hub: {id: hub-2, interval: 2s}\nmqtt: {url: \"tcp://127.0.0.1:1883\", group: g, topic_prefix: ev}\n",
         "hub.id changed from 'hub-1' to 'hub-2'"},
        {"hub: {id: hub-1, interval: 2s}\nmqtt: {url: \"tcp://127.0.0.1:1884\", group: g, topic_prefix: ev}\n",
         "mqtt.url changed from 'tcp://127.0.0.1:1883' to 'tcp://127.0.0.1:1884'"},
        {"hub: {id: hub-1, interval: 2s}\nmqtt: {url: \"tcp://127.0.0.1:1883\", group: h, topic_prefix: ev}\n",
         "mqtt.group changed from 'g' to 'h'"},
        {"hub: {id: hub-1, interval: 2s}\nmqtt: {url: \"tcp://127.0.0.1:1883\", group: g, topic_prefix: ev2}\n",
         "mqtt.topic_prefix changed"},
        {"hub: {id: hub-1, interval: 2s}\n"
         "mqtt: {url: \"tcp://127.0.0.1:1883\", group: g, topic_prefix: ev, client_id: other}\n",
         "mqtt.client_id changed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ev_hub_reload_plan p;
        plan_of(BASE, cases[i].text, &p);
        assert_true(p.refuse);
        if (!strstr(p.why, cases[i].key) || !strstr(p.why, "takes a restart"))
            fail_msg("case %zu: '%s' not in '%s'", i, cases[i].key, p.why);
    }
}

static void test_live_changes_pass(void **state)
{
    ev_hub_reload_plan p;
    plan_of(BASE, BASE "cluster: {name: c2, target: 1GW}\n"
                       "sites: [{name: s1, grid_capacity: 500MW, halls: [h1, h2]}]\n",
            &p);
    assert_false(p.refuse);
    assert_null(p.kept_key);
    assert_false(p.interval_changed);

    plan_of(BASE, "hub: {id: hub-1, interval: 5s, stale_after: 10s}\n"
                  "mqtt: {url: \"tcp://127.0.0.1:1883\", group: g, topic_prefix: ev}\n"
                  "influxdb: {url: \"http://127.0.0.1:8086\", database: evmon}\n",
            &p);
    assert_false(p.refuse);
    assert_null(p.kept_key);
    assert_true(p.interval_changed);
}

/* Settings of the running clients: accepted, kept, named (in the hub's own key names). */
static void test_client_settings_are_kept_and_named(void **state)
{
    static const struct {
        const char *text, *key;
    } cases[] = {
        {"hub: {id: hub-1, interval: 2s}\n"
         "mqtt: {url: \"tcp://127.0.0.1:1883\", group: g, topic_prefix: ev, password: pw}\n"
         "influxdb: {url: \"http://127.0.0.1:8086\", database: evmon}\n",
         "mqtt credentials"},
        {"hub: {id: hub-1, interval: 2s}\n"
         "mqtt: {url: \"tcp://127.0.0.1:1883\", group: g, topic_prefix: ev, qos: 0}\n"
         "influxdb: {url: \"http://127.0.0.1:8086\", database: evmon}\n",
         "mqtt.qos"},
        {"hub: {id: hub-1, interval: 2s}\n"
         "mqtt: {url: \"tcp://127.0.0.1:1883\", group: g, topic_prefix: ev}\n"
         "influxdb: {url: \"http://127.0.0.1:8087\", database: evmon}\n",
         "influxdb.url"},
        {BASE "spool: {dir: /tmp/x}\n", "spool"},
        {BASE "http: {listen: \"127.0.0.1:18080\"}\n", "http"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ev_hub_reload_plan p;
        plan_of(BASE, cases[i].text, &p);
        assert_false(p.refuse);
        assert_non_null(p.kept_key);
        if (strcmp(p.kept_key, cases[i].key))
            fail_msg("case %zu: kept_key '%s', want '%s'", i, p.kept_key, cases[i].key);
    }
}

static ev_batch *summary(const char *site, const char *hall)
{
    ev_batch *b = ev_batch_new();
    ev_point *p = ev_batch_add(b, "pue", 1700000000000000000LL);
    ev_point_tag(b, p, "scope", "hall");
    ev_point_tag(b, p, "site", site);
    ev_point_tag(b, p, "hall", hall);
    ev_point_tag(b, p, "window", "1h");
    ev_point_tag(b, p, "agent", "a1");
    ev_point_float(b, p, "facility_energy_wh", 150);
    ev_point_float(b, p, "it_energy_wh", 120);
    ev_point_float(b, p, "meters_expected", 2);
    ev_point_float(b, p, "meters_reporting", 2);
    return b;
}

static const ev_hub_hall *find(const ev_hub_state *st, const char *site, const char *hall)
{
    for (size_t i = 0; i < st->nhalls; i++)
        if (!strcmp(st->halls[i].site, site) && !strcmp(st->halls[i].hall, hall))
            return &st->halls[i];
    return NULL;
}

static void test_state_follows_the_file(void **state)
{
    ev_hub_config *a = load(BASE "sites: [{name: s1, halls: [h1, h2]}]\n");
    ev_hub_config *b = load(BASE "sites: [{name: s1, halls: [h3]}, {name: s2, halls: [h9]}]\n");
    ev_hub_state st;
    assert_int_equal(ev_hub_state_init(&st, a), 0);
    ev_batch *sum = summary("s1", "h1");
    char why[200];
    assert_int_equal(ev_hub_take_summary(&st, "s1", "h1", sum, 0, why, sizeof why), 0);
    assert_int_equal(st.nhalls, 2);

    assert_int_equal(ev_hub_state_reconfigure(&st, b), 0);
    assert_int_equal(st.nhalls, 3); /* h1 (reported), h3, h9; h2 never reported: gone */
    const ev_hub_hall *h1 = find(&st, "s1", "h1");
    assert_non_null(h1);
    assert_false(h1->configured);
    assert_true(h1->seen);
    assert_true(h1->win[1].have); /* what it reported is kept */
    assert_float_equal(h1->win[1].facility_wh, 150, 0);
    assert_string_equal(h1->agent, "a1");
    assert_null(find(&st, "s1", "h2"));
    assert_true(find(&st, "s1", "h3")->configured);
    assert_true(find(&st, "s2", "h9")->configured);
    assert_false(find(&st, "s2", "h9")->seen);

    assert_int_equal(ev_hub_state_reconfigure(&st, a), 0); /* and back */
    assert_int_equal(st.nhalls, 2);
    assert_true(find(&st, "s1", "h1")->configured);
    assert_true(find(&st, "s1", "h2")->configured);
    assert_false(find(&st, "s1", "h2")->seen);

    ev_batch_free(sum);
    ev_hub_state_free(&st);
    ev_hub_config_free(a);
    ev_hub_config_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_is_refused),
        cmocka_unit_test(test_live_changes_pass),
        cmocka_unit_test(test_client_settings_are_kept_and_named),
        cmocka_unit_test(test_state_follows_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
