/*
 * test_snmp_collector.c - the SNMP collector against sockets that never
 * answer (bound here on 127.0.0.1): a timeout costs retries x timeout and
 * is reported once per state change; a device still busy at the next
 * poll is counted late and skipped; an SNMPv3 device with an unknown
 * engine never blocks ev_collector_poll(); a device whose profile is
 * missing is an error, not a crash; a cycle's starts are spread, not sent
 * at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "agent/log.h"
#include "collectors/snmp.h"
#include "fixture_collector.h"

static const char profile_yaml[] =
    "name: silent-test\n"
    "description: unit test profile\n"
    "metrics:\n"
    "  - {name: s1, oid: 1.3.6.1.4.1.99.1.0, type: scalar, measurement: t, field: s1}\n"
    "  - {name: ca, oid: 1.3.6.1.4.1.99.3.1.2, type: column, measurement: t, field: ca}\n";

typedef struct {
    fx_collector x;
    ev_device_cfg dev; /* pdu-silent: 2 tries of 150 ms */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    fx_collector_init(&f->x, FX_SILENT_UDP);
    fx_profile_load(f->x.set, profile_yaml);
    f->dev = fx_snmp_dev(&f->x, "pdu-silent", "silent-test", 150);
    assert_non_null(f->dev.profile);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fx_collector_fini(&f->x);
    free(f);
    return 0;
}

static void timeout_costs_retries_times_timeout(void **state)
{
    fixture *f = *state;
    fx_sink s = {0};
    const ev_device_cfg *devs[] = {&f->dev};
    ev_collector *c = ev_snmp_collector_new(f->x.loop, &f->x.cfg, devs, 1, fx_sink_record, &s);
    assert_non_null(c);
    ev_collector_poll(c, ev_wall_ns());
    assert_int_equal(ev_collector_busy(c), 1);
    assert_int_equal(s.n, 0); /* nothing is decided inside poll */
    assert_true(fx_run_until_idle(f->x.loop, c, 3000));
    assert_int_equal(s.n, 1);
    assert_int_equal(s.last.status, EV_POLL_TIMEOUT);
    assert_string_equal(s.last.error, "timeout after 2 tries (150 ms each)");
    assert_true(s.last.duration_us >= 300000);
    assert_true(s.last.duration_us < 1500000);
    assert_int_equal(s.last.requests, 2); /* the request and one retry */
    ev_snmp_stats st;
    ev_snmp_collector_stats(c, &st);
    assert_int_equal(st.timeouts, 1);
    assert_int_equal(st.requests, 2);
    ev_collector_free(c);
}

static void busy_device_is_late_and_skipped(void **state)
{
    fixture *f = *state;
    fx_sink s = {0};
    const ev_device_cfg *devs[] = {&f->dev};
    ev_collector *c = ev_snmp_collector_new(f->x.loop, &f->x.cfg, devs, 1, fx_sink_record, &s);
    ev_collector_poll(c, ev_wall_ns());
    ev_collector_poll(c, ev_wall_ns()); /* still waiting for the first */
    ev_snmp_stats st;
    ev_snmp_collector_stats(c, &st);
    assert_int_equal(st.late, 1);
    assert_int_equal(st.polls, 1);
    assert_int_equal(ev_collector_busy(c), 1);
    assert_true(fx_run_until_idle(f->x.loop, c, 3000));
    assert_int_equal(s.n, 1); /* one result, not two */
    ev_collector_free(c);
}

static void v3_unknown_engine_never_blocks_poll(void **state)
{
    fixture *f = *state;
    fx_sink s = {0};
    f->dev.snmp = (ev_snmp_cfg){.version = EV_SNMP_V3, .user = "evmon", .level = EV_SEC_AUTHPRIV,
                                .auth_protocol = "SHA-256", .auth_password = "authpass1",
                                .priv_protocol = "AES", .priv_password = "privpass1",
                                .timeout_ms = 300, .retries = 1, .max_repetitions = 10};
    const ev_device_cfg *devs[] = {&f->dev};
    ev_collector *c = ev_snmp_collector_new(f->x.loop, &f->x.cfg, devs, 1, fx_sink_record, &s);
    assert_non_null(c);
    uint64_t t0 = ev_now_us();
    ev_collector_poll(c, ev_wall_ns());
    uint64_t in_poll = ev_now_us() - t0;
    assert_true(in_poll < 100000); /* a blocking engine-ID probe would take 600 ms */
    assert_true(fx_run_until_idle(f->x.loop, c, 3000));
    assert_int_equal(s.last.status, EV_POLL_TIMEOUT);
    assert_non_null(strstr(s.last.error, "during SNMPv3 engine ID discovery"));
    ev_collector_free(c);
}

static void short_v3_password_is_a_clear_error(void **state)
{
    fixture *f = *state;
    fx_sink s = {0};
    f->dev.snmp = (ev_snmp_cfg){.version = EV_SNMP_V3, .user = "evmon", .level = EV_SEC_AUTHNOPRIV,
                                .auth_protocol = "SHA", .auth_password = "short",
                                .timeout_ms = 100, .retries = 0, .max_repetitions = 10};
    const ev_device_cfg *devs[] = {&f->dev};
    ev_collector *c = ev_snmp_collector_new(f->x.loop, &f->x.cfg, devs, 1, fx_sink_record, &s);
    ev_collector_poll(c, ev_wall_ns());
    assert_true(fx_run_until_idle(f->x.loop, c, 1000));
    assert_int_equal(s.last.status, EV_POLL_ERROR);
    assert_non_null(strstr(s.last.error, "shorter than 8 characters"));
    ev_collector_free(c);
}

static void missing_profile_is_an_error(void **state)
{
    fixture *f = *state;
    fx_sink s = {0};
    f->dev.profile = NULL;
    f->dev.profile_name = "nope";
    const ev_device_cfg *devs[] = {&f->dev};
    ev_collector *c = ev_snmp_collector_new(f->x.loop, &f->x.cfg, devs, 1, fx_sink_record, &s);
    ev_collector_poll(c, ev_wall_ns());
    assert_int_equal(s.n, 1);
    assert_int_equal(s.last.status, EV_POLL_ERROR);
    assert_non_null(strstr(s.last.error, "profile 'nope' not loaded"));
    assert_int_equal(ev_collector_busy(c), 0);
    ev_collector_free(c);
}

/* The device's error is logged when it starts and not again while it
 * stays the same. stderr goes to a file for the length of the test. */
static void error_logged_once_per_state_change(void **state)
{
    fixture *f = *state;
    fx_sink s = {0};
    char path[] = "/tmp/test_snmp_collector_log.XXXXXX";
    int logfd = mkstemp(path);
    assert_true(logfd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(logfd, STDERR_FILENO);
    ev_log_set_level(EV_LOG_INFO);

    f->dev.snmp.timeout_ms = 50;
    f->dev.snmp.retries = 0;
    const ev_device_cfg *devs[] = {&f->dev};
    ev_collector *c = ev_snmp_collector_new(f->x.loop, &f->x.cfg, devs, 1, fx_sink_record, &s);
    for (int k = 0; k < 3; k++) {
        ev_collector_poll(c, ev_wall_ns());
        assert_true(fx_run_until_idle(f->x.loop, c, 2000));
    }
    ev_collector_free(c);

    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    ev_log_set_level(EV_LOG_ERR);
    assert_int_equal(s.n, 3);
    char buf[4096] = {0};
    ssize_t n = pread(logfd, buf, sizeof buf - 1, 0);
    close(logfd);
    unlink(path);
    assert_true(n > 0);
    int count = 0;
    for (const char *p = buf; (p = strstr(p, "device 'pdu-silent'")); p++)
        count++;
    assert_int_equal(count, 1);
    assert_non_null(strstr(buf, "timeout after 1 try (50 ms)"));
}

static void starts_are_spread_over_the_interval(void **state)
{
    fixture *f = *state;
    enum { N = 40 };
    fx_sink s = {0};
    ev_device_cfg devs_cfg[N];
    const ev_device_cfg *devs[N];
    char names[N][16];
    for (int i = 0; i < N; i++) {
        devs_cfg[i] = f->dev;
        snprintf(names[i], sizeof names[i], "pdu-%d", i);
        devs_cfg[i].name = names[i];
        devs[i] = &devs_cfg[i];
    }
    f->x.cfg.interval_ms = 10000; /* 40 devices: the minimum rate, 2,000 starts/s */
    ev_collector *c = ev_snmp_collector_new(f->x.loop, &f->x.cfg, devs, N, fx_sink_record, &s);
    assert_non_null(c);
    uint64_t t0 = ev_now_us();
    ev_collector_poll(c, ev_wall_ns());
    ev_snmp_stats st;
    ev_snmp_collector_stats(c, &st);
    assert_int_equal(ev_collector_busy(c), N); /* all due, counted busy at once */
    assert_int_equal(st.polls, N);
    assert_int_equal(st.requests, 1);          /* but only the first one started */
    uint64_t end = ev_now_ms() + 2000;
    while (st.requests < N && ev_now_ms() < end) {
        ev_loop_once(f->x.loop, 5);
        ev_snmp_collector_stats(c, &st);
    }
    assert_int_equal(st.requests, N);
    /* 39 more starts at 2 a millisecond, less the bucket's 4 ms */
    assert_true(ev_now_us() - t0 >= 15000);
    assert_true(fx_run_until_idle(f->x.loop, c, 3000));
    assert_int_equal(s.n, N);
    assert_int_equal(s.last.status, EV_POLL_TIMEOUT);
    ev_collector_free(c);
}

int main(void)
{
    ev_log_set_level(EV_LOG_ERR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(timeout_costs_retries_times_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(busy_device_is_late_and_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(v3_unknown_engine_never_blocks_poll, setup, teardown),
        cmocka_unit_test_setup_teardown(short_v3_password_is_a_clear_error, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_profile_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(starts_are_spread_over_the_interval, setup, teardown),
        cmocka_unit_test_setup_teardown(error_logged_once_per_state_change, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
