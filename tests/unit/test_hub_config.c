/*
 * test_hub_config.c - the hub's YAML file: defaults, every section read
 * (the agent's spool:, http: and alerts: sections too), powers, hub-file
 * detection (and whose file: agent's, hub's, neither), and problems reported as FILE:LINE naming the field.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/alert_cfg.h"
#include "agent/hub_config.h"
#include "agent/outputs/spool.h"

static char path[64];

/* Write text to a fresh temporary file (its name in path). */
static void write_file(const char *text)
{
    strcpy(path, "/tmp/evmon-hubcfg-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
}

/* Load text; NULL when refused, with every diagnostic joined in msgs. */
static ev_hub_config *load(const char *text, char *msgs, size_t len)
{
    ev_diag d = {0};
    write_file(text);
    ev_hub_config *c = ev_hub_config_load(path, &d);
    msgs[0] = 0;
    for (size_t i = 0; i < d.n; i++) {
        const char *m = strncmp(d.msgs[i], path, strlen(path)) ? d.msgs[i] : d.msgs[i] + strlen(path);
        strncat(msgs, m, len - strlen(msgs) - 2);
        strcat(msgs, "\n");
    }
    ev_diag_free(&d);
    unlink(path);
    return c;
}

static void test_power_values(void **state)
{
    assert_float_equal(ev_parse_power_w("2GW"), 2e9, 0);
    assert_float_equal(ev_parse_power_w("1.5 MW"), 1.5e6, 0);
    assert_float_equal(ev_parse_power_w("800kW"), 8e5, 0);
    assert_float_equal(ev_parse_power_w("500W"), 500, 0);
    assert_float_equal(ev_parse_power_w("2e9"), 2e9, 0);
    assert_float_equal(ev_parse_power_w(".5MW"), 5e5, 0);
    assert_true(ev_parse_power_w("2 mW") < 0); /* milliwatts is surely a typo */
    assert_true(ev_parse_power_w("GW") < 0);
    assert_true(ev_parse_power_w("-1MW") < 0);
    assert_true(ev_parse_power_w("1 MWh") < 0);
    assert_true(ev_parse_power_w("1e999") < 0);
}

static void test_minimal_file_and_defaults(void **state)
{
    char msgs[2000];
    ev_hub_config *c = load("hub:\n  id: hub-1\n", msgs, sizeof msgs);
    assert_non_null(c);
    assert_string_equal(c->id, "hub-1");
    assert_int_equal(c->interval_ms, 10000);
    assert_int_equal(c->stale_after_ms, 120000);
    assert_string_equal(c->group, "evmon-hub");
    assert_string_equal(c->mqtt.url, "tcp://127.0.0.1:1883");
    assert_string_equal(c->mqtt.client_id, "hub-1");
    assert_string_equal(c->mqtt.topic_prefix, "evalley");
    assert_int_equal(c->mqtt.qos, 1);
    assert_string_equal(c->store->influx.url, "http://127.0.0.1:8086");
    assert_string_equal(c->store->influx.database, "evmon");
    assert_string_equal(c->cluster_name, "cluster");
    assert_float_equal(c->target_w, 2e9, 0);
    assert_int_equal(c->nsites, 0);
    assert_false(c->store->http.enabled); /* no http: section, no server */
    assert_null(c->store->alerts);        /* no alerts: section, no rules */
    assert_string_equal(c->store->agent_id, "hub-1"); /* the identity the HTTP view shows */
    assert_int_equal(c->store->interval_ms, 10000);
    ev_hub_config_free(c);
}

/* http: and alerts: are the agent's sections, read into the hub's ev_config. */
static void test_http_and_alerts_sections(void **state)
{
    char msgs[2000], rules[64] = "/tmp/evmon-hubrules-XXXXXX", text[600];
    int fd = mkstemp(rules);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("rules:\n  - name: cluster_headroom\n    measurement: headroom\n    field: headroom_pct\n"
          "    select: {scope: cluster}\n    direction: below\n    warn: 20\n",
          f);
    fclose(f);
    snprintf(text, sizeof text,
             "hub: {id: hub-h, interval: 5s}\n"
             "http: {listen: \"127.0.0.1:18080\"}\n"
             "alerts:\n  rules: [%s]\n  state_file: /tmp/hub-alerts.json\n  resend: 30s\n", rules);
    ev_hub_config *c = load(text, msgs, sizeof msgs);
    assert_non_null(c);
    assert_true(c->store->http.enabled);
    assert_string_equal(c->store->http.listen, "127.0.0.1:18080");
    assert_non_null(c->store->alerts);
    assert_int_equal(c->store->alerts->rules.n, 1);
    assert_string_equal(c->store->alerts->state_file, "/tmp/hub-alerts.json");
    assert_int_equal(c->store->alerts->resend_ms, 30000);
    assert_int_equal(c->store->interval_ms, 5000);
    ev_hub_config_free(c);

    c = load("hub: {id: h}\nhttp: {listen: \"localhost:80\"}\nalerts: {resend: 1y}\n", msgs, sizeof msgs);
    assert_null(c);
    assert_non_null(strstr(msgs, ":2: http.listen: bad listen address 'localhost:80': not a numeric IPv4 address"));
    assert_non_null(strstr(msgs, ":3: alerts.resend:"));
    unlink(rules);
}

/* spool: the agent's section, same keys and defaults, into the hub's ev_config. */
static void test_spool_section(void **state)
{
    char msgs[2000];
    ev_hub_config *c = load("hub: {id: h}\n", msgs, sizeof msgs);
    assert_non_null(c); /* the agent's defaults: no dir, 1 GiB, fsync every 1 s, 20000 points/s */
    assert_null(c->store->spool.dir);
    assert_int_equal(c->store->spool.max_bytes, 1ull << 30);
    assert_int_equal(c->store->spool.fsync, EV_FSYNC_PERIODIC);
    assert_int_equal(c->store->spool.fsync_interval_ms, 1000);
    assert_int_equal(c->store->spool.replay_rate, 20000);
    ev_hub_config_free(c);

    c = load("hub: {id: h}\nspool:\n  dir: /var/lib/evmon-hub/spool\n  max_size: 64MiB\n  fsync: always\n"
             "  replay_rate: 500\n", msgs, sizeof msgs);
    assert_non_null(c);
    assert_string_equal(c->store->spool.dir, "/var/lib/evmon-hub/spool");
    assert_int_equal(c->store->spool.max_bytes, 64ull << 20);
    assert_int_equal(c->store->spool.fsync, EV_FSYNC_ALWAYS);
    assert_int_equal(c->store->spool.replay_rate, 500);
    ev_hub_config_free(c);

    c = load("hub: {id: h}\nspool:\n  max_size: 1kB\n  fsync: sometimes\n  dri: /x\n", msgs, sizeof msgs);
    assert_null(c);
    assert_non_null(strstr(msgs, ":3: spool.max_size: bad size '1kB'"));
    assert_non_null(strstr(msgs, ":4: spool.fsync: bad value 'sometimes'"));
    assert_non_null(strstr(msgs, ":5: spool: unknown key 'dri'"));
}

static void test_full_file(void **state)
{
    char msgs[2000];
    ev_hub_config *c = load("hub:\n"
                            "  id: hub-a\n"
                            "  interval: 2s\n"
                            "  stale_after: 30s\n"
                            "mqtt:\n"
                            "  url: tcp://127.0.0.1:18830\n"
                            "  group: hubs\n"
                            "  username: u\n"
                            "  password: secretpw\n"
                            "  topic_prefix: dc1/evalley\n"
                            "influxdb:\n"
                            "  url: http://127.0.0.1:18086/\n"
                            "  database: cluster\n"
                            "  batch_size: 100\n"
                            "cluster:\n"
                            "  name: hauts-de-france\n"
                            "  target: 2.5GW\n"
                            "sites:\n"
                            "  - name: e-valley\n"
                            "    grid_capacity: 1GW\n"
                            "    halls: [h1, h2]\n"
                            "  - name: escaudain\n",
                            msgs, sizeof msgs);
    assert_non_null(c);
    assert_int_equal(c->interval_ms, 2000);
    assert_int_equal(c->stale_after_ms, 30000);
    assert_string_equal(c->group, "hubs");
    assert_string_equal(c->mqtt.password, "secretpw");
    assert_string_equal(c->mqtt.topic_prefix, "dc1/evalley");
    assert_string_equal(c->store->influx.url, "http://127.0.0.1:18086");
    assert_string_equal(c->store->influx.database, "cluster");
    assert_int_equal(c->store->influx.batch_size, 100);
    assert_string_equal(c->cluster_name, "hauts-de-france");
    assert_float_equal(c->target_w, 2.5e9, 0);
    assert_int_equal(c->nsites, 2);
    assert_string_equal(c->sites[0].name, "e-valley");
    assert_float_equal(c->sites[0].grid_capacity_w, 1e9, 0);
    assert_int_equal(c->sites[0].nhalls, 2);
    assert_string_equal(c->sites[0].halls[1], "h2");
    assert_float_equal(c->sites[1].grid_capacity_w, 0, 0);
    ev_hub_config_free(c);
}

static void test_problems_name_line_and_field(void **state)
{
    char msgs[4000];
    ev_hub_config *c = load("hub:\n"                          /* 1 */
                            "  interval: 5x\n"                 /* 2 */
                            "mqtt:\n"                          /* 3 */
                            "  url: http://broker\n"           /* 4 */
                            "  grup: g\n"                      /* 5 */
                            "influxdb:\n"                      /* 6 */
                            "  url: ftp://x\n"                 /* 7 */
                            "cluster:\n"                       /* 8 */
                            "  target: lots\n"                 /* 9 */
                            "sites:\n"                         /* 10 */
                            "  - name: s1\n"                   /* 11 */
                            "    grid_capacity: 5 kWh\n"       /* 12 */
                            "    halls: [h1, h1, 'a b']\n"     /* 13 */
                            "  - name: s1\n"                   /* 14 */
                            "  - name: cluster\n"              /* 15 */
                            "  - grid_capacity: 1MW\n"         /* 16 */
                            "extra: 1\n",                      /* 17 */
                            msgs, sizeof msgs);
    assert_null(c);
    static const char *const want[] = {
        ":1: hub: missing required field 'id'",
        ":2: hub.interval: bad duration '5x'",
        ":4: mqtt.url: bad URL scheme in 'http://broker'",
        ":5: mqtt: unknown key 'grup' (did you mean 'group'?)",
        ":7: influxdb.url: bad URL scheme in 'ftp://x'",
        ":9: cluster.target: bad power 'lots'",
        ":12: site #1: grid_capacity: bad power '5 kWh'",
        ":13: site #1: halls: hall 'h1' listed twice",
        ":13: site #1: halls: hall 'a b' must not contain",
        ":14: site 's1': duplicate site name (first at line 11)",
        ":15: site 'cluster': the name is reserved",
        ":16: site #4: missing required field 'name'",
        ":17: unknown key 'extra'",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(msgs, want[i]))
            fail_msg("missing '%s' in:\n%s", want[i], msgs);
}

static void test_top_level_shape(void **state)
{
    char msgs[2000];
    assert_null(load("", msgs, sizeof msgs));
    assert_non_null(strstr(msgs, ":1: empty hub config file"));
    assert_null(load("- a\n- b\n", msgs, sizeof msgs));
    assert_non_null(strstr(msgs, "expected a mapping at top level"));
    assert_null(load("mqtt: {}\n", msgs, sizeof msgs));
    assert_non_null(strstr(msgs, "missing required section 'hub'"));
    assert_null(load("hub: [\n", msgs, sizeof msgs));
    assert_non_null(strstr(msgs, "YAML syntax error"));
}

static void test_detect(void **state)
{
    write_file("hub:\n  id: x\n");
    assert_true(ev_hub_config_detect(path));
    unlink(path);
    write_file("agent:\n  id: x\nhubby: 1\n");
    assert_false(ev_hub_config_detect(path));
    unlink(path);
    write_file("hub: [\n");
    assert_false(ev_hub_config_detect(path));
    unlink(path);
    assert_false(ev_hub_config_detect("/nonexistent/evmon.yaml"));
}

/* Whose file it is, for the commands that take either (evmon alerts). */
static void test_config_kind(void **state)
{
    static const struct {
        const char *text;
        ev_config_kind kind;
    } cases[] = {
        {"hub:\n  id: x\n", EV_CONFIG_HUB},
        {"agent: {id: a}\nhub: {id: h}\n", EV_CONFIG_HUB}, /* hub: wins: its loader names the stray key */
        {"agent:\n  id: x\nhubby: 1\n", EV_CONFIG_AGENT},
        {"rules: []\n", EV_CONFIG_NEITHER},
        {"{}\n", EV_CONFIG_NEITHER},
        {"- agent\n", EV_CONFIG_UNREADABLE}, /* not a mapping */
        {"agent: [\n", EV_CONFIG_UNREADABLE}, /* not YAML */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(cases[i].text);
        ev_config_kind k = ev_config_kind_of(path);
        unlink(path);
        if (k != cases[i].kind)
            fail_msg("'%s': kind %d, expected %d", cases[i].text, (int)k, (int)cases[i].kind);
    }
    assert_int_equal(ev_config_kind_of("/nonexistent/evmon.yaml"), EV_CONFIG_UNREADABLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_power_values),
        cmocka_unit_test(test_minimal_file_and_defaults),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_http_and_alerts_sections),
        cmocka_unit_test(test_spool_section),
        cmocka_unit_test(test_problems_name_line_and_field),
        cmocka_unit_test(test_top_level_shape),
        cmocka_unit_test(test_detect),
        cmocka_unit_test(test_config_kind),
    };
    return cmocka_run_group_tests_name("hub_config", tests, NULL, NULL);
}
