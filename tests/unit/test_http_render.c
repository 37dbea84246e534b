/*
 * test_http_render.c - the HTTP API's bodies (agent/http_api.c) and
 * /metrics (agent/http_metrics.c) from a real device registry, last-point
 * store and an output's stats: valid JSON (parsed back with json-c), null
 * for unknown values, the alert "active" rule, headroom scopes in the
 * summary, Prometheus label escaping and cumulative histogram buckets; and
 * the http: listen address parser (agent/config_http.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config_http.h"
#include "agent/http.h"

static ev_device_cfg devs[2] = {
    {.name = "pdu-a", .profile_name = "apc-rpdu2", .address = "10.0.0.1", .role = EV_ROLE_IT, .row = "r1",
     .rack = "k1", .feed = "A"},
    {.name = "pdu \"quoted\"\\", .profile_name = "apc-rpdu2", .address = "10.0.0.2", .role = EV_ROLE_FACILITY},
};
static ev_config cfg = {.agent_id = "a1", .site = "s1", .hall = "h1", .interval_ms = 10000, .devices = devs,
                        .ndevices = 2};

static void fake_stats(const ev_output *o, ev_output_stats *st)
{
    *st = (ev_output_stats){.points_in = 10, .points_sent = 8, .points_dropped = 1, .points_queued = 1, .errors = 3};
}
static ev_output out = {.name = "influx", .stats = fake_stats};
static ev_output *outs[] = {&out};

typedef struct {
    ev_devstatus *status;
    ev_latest *latest;
    ev_batch *b;
    ev_httpd_view v;
} fixture;

static void add_point(ev_batch *b, const char *m, const char *k1, const char *v1, const char *f, double x)
{
    ev_point *p = ev_batch_add(b, m, 1700000000123000000LL);
    ev_point_tag(b, p, k1, v1);
    ev_point_float(b, p, f, x);
}

static int setup(void **state)
{
    static const char *const kept[] = {"pue", "headroom", "alert", NULL};
    fixture *f = calloc(1, sizeof *f);
    f->status = ev_devstatus_new(&cfg);
    f->latest = ev_latest_new(kept, 100);
    f->b = ev_batch_new();
    add_point(f->b, "power", "phase", "total", "active_power_w", 1140);
    ev_poll_result r = {.dev = &devs[0], .status = EV_POLL_OK, .duration_us = 12500, .requests = 1, .points = f->b};
    ev_devstatus_cycle(f->status, 1700000000000000000LL, 0);
    ev_devstatus_record(f->status, &r, 1700000000500000000LL);
    r = (ev_poll_result){.dev = &devs[1], .status = EV_POLL_TIMEOUT, .duration_us = 3000000,
                         .error = "timeout after 2 tries (1000 ms)"};
    ev_devstatus_record(f->status, &r, 1700000003000000000LL);

    ev_batch_clear(f->b);
    add_point(f->b, "headroom", "scope", "hall", "headroom_pct", 42.5);
    add_point(f->b, "headroom", "scope", "rack", "headroom_pct", 10);
    add_point(f->b, "pue", "window", "24h", "pue", 1.25);
    ev_point *p = ev_batch_add(f->b, "alert", 1);
    ev_point_tag(f->b, p, "rule", "pdu_overload");
    ev_point_str(f->b, p, "state", "firing");
    p = ev_batch_add(f->b, "alert", 1);
    ev_point_tag(f->b, p, "rule", "inlet_hot");
    ev_point_str(f->b, p, "state", "resolved");
    ev_latest_feed(f->latest, f->b);
    f->v = (ev_httpd_view){.role = "agent", .cfg = &cfg, .status = f->status, .latest = f->latest,
                           .outputs = outs, .noutputs = 1};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ev_devstatus_free(f->status);
    ev_latest_free(f->latest);
    ev_batch_free(f->b);
    free(f);
    return 0;
}

/* Parse a body (it must be JSON) and return the object at a dotted path. */
static struct json_object *at(struct json_object *root, const char *path)
{
    char buf[128];
    strcpy(buf, path);
    struct json_object *o = root;
    for (char *tok = strtok(buf, "."); tok && o; tok = strtok(NULL, ".")) {
        if (json_object_is_type(o, json_type_array))
            o = json_object_array_get_idx(o, (size_t)atoi(tok));
        else if (!json_object_object_get_ex(o, tok, &o))
            return NULL;
    }
    return o;
}

static struct json_object *parse(char *body)
{
    assert_non_null(body);
    struct json_object *o = json_tokener_parse(body);
    assert_non_null(o);
    free(body);
    return o;
}

static void test_devices_json(void **state)
{
    fixture *f = *state;
    struct json_object *d = parse(ev_api_devices(&f->v, NULL));
    assert_int_equal(json_object_array_length(at(d, "devices")), 2);
    assert_string_equal(json_object_get_string(at(d, "devices.0.state")), "ok");
    assert_true(json_object_get_double(at(d, "devices.0.power_w")) == 1140);
    assert_true(json_object_get_double(at(d, "devices.0.duration_ms")) == 12.5);
    assert_string_equal(json_object_get_string(at(d, "devices.0.last_poll")), "2023-11-14T22:13:20.500Z");
    assert_int_equal(json_object_get_int64(at(d, "devices.0.last_poll_ms")), 1700000000500LL);
    assert_null(at(d, "devices.0.last_error")); /* present but null */
    assert_string_equal(json_object_get_string(at(d, "devices.1.name")), "pdu \"quoted\"\\");
    assert_string_equal(json_object_get_string(at(d, "devices.1.state")), "timeout");
    assert_string_equal(json_object_get_string(at(d, "devices.1.last_error")), "timeout after 2 tries (1000 ms)");
    assert_null(at(d, "devices.1.power_w"));
    assert_null(at(d, "devices.1.row"));
    json_object_put(d);

    d = parse(ev_api_devices(&f->v, "failing"));
    assert_int_equal(json_object_array_length(at(d, "devices")), 1);
    assert_string_equal(json_object_get_string(at(d, "devices.0.state")), "timeout");
    json_object_put(d);
    d = parse(ev_api_devices(&f->v, "unknown"));
    assert_int_equal(json_object_array_length(at(d, "devices")), 0);
    json_object_put(d);
}

static void test_summary_json(void **state)
{
    fixture *f = *state;
    struct json_object *d = parse(ev_api_summary(&f->v, 1700000004000000000LL));
    assert_string_equal(json_object_get_string(at(d, "agent.id")), "a1");
    assert_true(json_object_get_double(at(d, "agent.interval_s")) == 10);
    assert_int_equal(json_object_get_int64(at(d, "agent.cycles")), 1);
    assert_int_equal(json_object_get_int64(at(d, "devices.total")), 2);
    assert_int_equal(json_object_get_int64(at(d, "devices.ok")), 1);
    assert_int_equal(json_object_get_int64(at(d, "devices.failing")), 1);
    assert_true(json_object_get_double(at(d, "power_w.it")) == 1140);
    assert_null(at(d, "power_w.facility")); /* its only device is failing */
    /* only hall-wide headroom in the summary; PUE with its tags and fields */
    assert_int_equal(json_object_array_length(at(d, "headroom")), 1);
    assert_string_equal(json_object_get_string(at(d, "headroom.0.tags.scope")), "hall");
    assert_true(json_object_get_double(at(d, "pue.0.fields.pue")) == 1.25);
    assert_string_equal(json_object_get_string(at(d, "pue.0.tags.window")), "24h");
    assert_int_equal(json_object_get_int64(at(d, "alerts.active")), 1);
    assert_int_equal(json_object_get_int64(at(d, "outputs.0.points_dropped")), 1);
    json_object_put(d);
}

static void test_headroom_and_alerts_json(void **state)
{
    fixture *f = *state;
    struct json_object *d = parse(ev_api_headroom(&f->v));
    assert_int_equal(json_object_array_length(at(d, "headroom")), 2);
    assert_true(json_object_get_double(at(d, "headroom.1.fields.headroom_pct")) == 10);
    json_object_put(d);
    d = parse(ev_api_alerts(&f->v));
    assert_int_equal(json_object_array_length(at(d, "alerts")), 1);
    assert_string_equal(json_object_get_string(at(d, "alerts.0.tags.rule")), "pdu_overload");
    json_object_put(d);

    ev_httpd_view empty = {.role = "hub", .cfg = &cfg}; /* no registry, no store: empty lists */
    d = parse(ev_api_alerts(&empty));
    assert_int_equal(json_object_array_length(at(d, "alerts")), 0);
    json_object_put(d);
    d = parse(ev_api_devices(&empty, NULL));
    assert_int_equal(json_object_array_length(at(d, "devices")), 0);
    json_object_put(d);
}

static void test_alert_active_rule(void **state)
{
    ev_batch *b = ev_batch_new();
    ev_point *p = ev_batch_add(b, "alert", 1);
    assert_true(ev_api_alert_active(p)); /* an alert point with no state: active */
    ev_point_str(b, p, "state", "Resolved");
    assert_false(ev_api_alert_active(p));
    ev_point_str(b, p, "state", "crit");
    assert_true(ev_api_alert_active(p));
    ev_point_bool(b, p, "active", false); /* an explicit flag wins */
    assert_false(ev_api_alert_active(p));
    ev_point_float(b, p, "active", 1);
    assert_true(ev_api_alert_active(p));
    ev_batch_free(b);
}

static void test_metrics_text(void **state)
{
    fixture *f = *state;
    char *m = ev_metrics_text(&f->v);
    assert_non_null(m);
    assert_non_null(strstr(m, "# TYPE evmon_poll_duration_seconds histogram\n"));
    /* 12.5 ms and 3 s: cumulative buckets */
    assert_non_null(strstr(m, "evmon_poll_duration_seconds_bucket{le=\"0.01\"} 0\n"));
    assert_non_null(strstr(m, "evmon_poll_duration_seconds_bucket{le=\"0.025\"} 1\n"));
    assert_non_null(strstr(m, "evmon_poll_duration_seconds_bucket{le=\"2.5\"} 1\n"));
    assert_non_null(strstr(m, "evmon_poll_duration_seconds_bucket{le=\"5\"} 2\n"));
    assert_non_null(strstr(m, "evmon_poll_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
    assert_non_null(strstr(m, "evmon_poll_duration_seconds_count 2\n"));
    assert_non_null(strstr(m, "evmon_device_up{device=\"pdu-a\"} 1\n"));
    assert_non_null(strstr(m, "evmon_device_up{device=\"pdu \\\"quoted\\\"\\\\\"} 0\n"));
    assert_non_null(strstr(m, "evmon_device_poll_errors_total{device=\"pdu \\\"quoted\\\"\\\\\"} 1\n"));
    assert_non_null(strstr(m, "evmon_output_points_dropped_total{output=\"influx\"} 1\n"));
    assert_non_null(strstr(m, "evmon_output_send_errors_total{output=\"influx\"} 3\n"));
    assert_non_null(strstr(m, "evmon_devices{state=\"failing\"} 1\n"));
    free(m);
}

static void test_listen_parse(void **state)
{
    char host[64];
    unsigned port = 0;
    assert_null(ev_http_parse_listen("127.0.0.1:8080", host, sizeof host, &port));
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8080);
    assert_null(ev_http_parse_listen("[::1]:9", host, sizeof host, &port));
    assert_string_equal(host, "::1");
    assert_int_equal(port, 9);
    assert_non_null(ev_http_parse_listen("localhost:80", host, sizeof host, &port));
    assert_non_null(ev_http_parse_listen("127.0.0.1", host, sizeof host, &port));
    assert_non_null(ev_http_parse_listen("127.0.0.1:65536", host, sizeof host, &port));
    assert_non_null(ev_http_parse_listen("::1:80", host, sizeof host, &port));
    assert_non_null(ev_http_parse_listen("[::1]80", host, sizeof host, &port));
    assert_non_null(ev_http_parse_listen(":80", host, sizeof host, &port));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_devices_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headroom_and_alerts_json, setup, teardown),
        cmocka_unit_test(test_alert_active_rule),
        cmocka_unit_test_setup_teardown(test_metrics_text, setup, teardown),
        cmocka_unit_test(test_listen_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
