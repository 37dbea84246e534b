/*
 * test_modbus_reconfigure.c - the Modbus collector's reload (reconfigure
 * op, ev_modbus_reload_*), against a TCP listener bound here that accepts
 * and never answers (so a poll stays in flight as long as the test wants;
 * the test counts the connections it accepted) and a pseudo-terminal whose
 * other end never answers (a serial worker busy with a request):
 *   - an unchanged device keeps its connection and its poll in flight and
 *     reports under its new config, with its new tags;
 *   - a removed or changed device in flight is reported at once with its
 *     old config; a changed one sharing the kept device's connection is
 *     taken off it without disturbing the other;
 *   - prepare + abort leaves the running set as it was;
 *   - poll() marks devices due and the pacer (collectors/pace.c) starts
 *     them: a reload between the two reports a removed or changed queued
 *     device at once, with no request sent, and the pacer still starts a
 *     kept one; a device still queued at the next poll is late; free()
 *     with devices queued cancels the pacer's timer;
 *   - a device removed while its serial worker runs its request is freed
 *     when the request comes back (ASan/valgrind see no leak or misuse);
 *   - each result carries the device's error counters: a timeout, and a
 *     CRC error in an answer written on the pty by the test.
 */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "agent/log.h"
#include "collectors/modbus.h"
#include "fixture_collector.h"

static const char profile1_yaml[] =
    "name: one\nprotocol: modbus\n"
    "metrics:\n"
    "  - {name: p, register: 10, function: 3, type: uint16, measurement: power, field: active_power_w}\n";
static const char profile2_yaml[] =
    "name: two\nprotocol: modbus\n"
    "metrics:\n"
    "  - {name: p, register: 20, function: 3, type: uint16, measurement: power, field: active_power_w}\n";

typedef struct {
    fx_collector x; /* its silent socket is a TCP listener */
    int accepted[16];
    int naccepted;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    fx_collector_init(&f->x, FX_SILENT_TCP);
    fx_profile_load(f->x.set, profile1_yaml);
    fx_profile_load(f->x.set, profile2_yaml);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < f->naccepted; i++)
        close(f->accepted[i]);
    fx_collector_fini(&f->x);
    free(f);
    return 0;
}

/* Connections the silent listener accepted so far. */
static int accept_all(fixture *f)
{
    int fd;
    while (f->naccepted < 16 && (fd = accept(f->x.fd, NULL, NULL)) >= 0)
        f->accepted[f->naccepted++] = fd;
    return f->naccepted;
}

/* Run the loop until the listener has accepted n connections. */
static bool run_until_connected(fixture *f, int n, uint64_t deadline_ms)
{
    uint64_t end = ev_now_ms() + deadline_ms;
    while (accept_all(f) < n && ev_now_ms() < end)
        ev_loop_once(f->x.loop, 20);
    return accept_all(f) >= n;
}

static void kept_removed_changed_added(void **state)
{
    fixture *f = *state;
    fx_sink s = {0};
    /* three unit ids behind one address: one connection, one request at a time */
    ev_device_cfg a = fx_modbus_dev(&f->x, "m-a", "one", 1, 400), b = fx_modbus_dev(&f->x, "m-b", "one", 2, 400),
                  x = fx_modbus_dev(&f->x, "m-x", "one", 3, 400);
    const ev_device_cfg *devs[] = {&a, &b, &x};
    ev_collector *c = ev_modbus_collector_new(f->x.loop, &f->x.cfg, devs, 3, fx_sink_record, &s);
    assert_non_null(c);
    ev_collector_poll(c, ev_wall_ns());
    assert_int_equal(ev_collector_busy(c), 3);
    assert_true(run_until_connected(f, 1, 2000));

    /* m-a unchanged (a copy, as a reload makes, with a new rack), m-b gone,
     * m-x on another unit id (changed), m-c new. */
    ev_device_cfg a2 = fx_modbus_dev(&f->x, "m-a", "one", 1, 400),
                  x2 = fx_modbus_dev(&f->x, "m-x", "one", 4, 400),
                  c2 = fx_modbus_dev(&f->x, "m-c", "one", 5, 400);
    a2.rack = "r09";
    const ev_device_cfg *devs2[] = {&c2, &x2, &a2};
    assert_int_equal(ev_collector_reconfigure(c, &f->x.cfg2, devs2, 3), 0);

    assert_int_equal(s.n, 2); /* m-b and m-x, abandoned now, under their old config */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(s.r[i].status, EV_POLL_ERROR);
        assert_true(s.r[i].has_counters);
    }
    assert_ptr_equal(s.r[0].dev, &b);
    assert_string_equal(s.r[0].error, "poll abandoned: device removed by a configuration reload");
    assert_ptr_equal(s.r[1].dev, &x);
    assert_string_equal(s.r[1].error, "poll abandoned: device changed by a configuration reload");
    assert_int_equal(ev_collector_busy(c), 1); /* m-a still in flight */

    assert_true(fx_run_until_idle(f->x.loop, c, 3000));
    assert_int_equal(s.n, 3); /* m-a's poll ran to its end, under the new config */
    assert_ptr_equal(s.r[2].dev, &a2);
    assert_int_equal(s.r[2].status, EV_POLL_TIMEOUT);
    assert_string_equal(s.r[2].error, "FC3 10 x1: timeout after 1 try (400 ms)");
    assert_int_equal(s.r[2].counters.timeouts, 1);
    assert_int_equal(s.r[2].counters.exceptions, 0);
    assert_int_equal(accept_all(f), 1); /* the same connection all along */

    ev_collector_poll(c, ev_wall_ns()); /* now m-c, m-x (anew) and m-a, on the same connection */
    assert_int_equal(ev_collector_busy(c), 3);
    assert_true(fx_run_until_idle(f->x.loop, c, 5000));
    assert_int_equal(s.n, 6);
    assert_int_equal(accept_all(f), 1);
    ev_modbus_stats st;
    ev_modbus_collector_stats(c, "m-a", &st);
    assert_int_equal(st.polls, 2); /* its count went on: it was never set up again */
    assert_int_equal(st.timeouts_req, 2);
    ev_modbus_collector_stats(c, "m-x", &st);
    assert_int_equal(st.polls, 1); /* set up anew */
    ev_collector_free(c);
}

static void profile_change_is_a_change(void **state)
{
    fixture *f = *state;
    fx_sink s = {0};
    ev_device_cfg a = fx_modbus_dev(&f->x, "m-a", "one", 1, 300);
    const ev_device_cfg *devs[] = {&a};
    ev_collector *c = ev_modbus_collector_new(f->x.loop, &f->x.cfg, devs, 1, fx_sink_record, &s);
    ev_collector_poll(c, ev_wall_ns());
    ev_device_cfg a2 = fx_modbus_dev(&f->x, "m-a", "two", 1, 300); /* other registers */
    const ev_device_cfg *devs2[] = {&a2};
    assert_int_equal(ev_collector_reconfigure(c, &f->x.cfg2, devs2, 1), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.r[0].error, "poll abandoned: device changed by a configuration reload");
    assert_int_equal(ev_collector_busy(c), 0);
    ev_collector_poll(c, ev_wall_ns());
    assert_true(fx_run_until_idle(f->x.loop, c, 3000));
    assert_int_equal(s.n, 2);
    assert_string_equal(s.r[1].error, "FC3 20 x1: timeout after 1 try (300 ms)");
    ev_collector_free(c);
}

static void prepare_abort_keeps_running_set(void **state)
{
    fixture *f = *state;
    fx_sink s = {0};
    ev_device_cfg a = fx_modbus_dev(&f->x, "m-a", "one", 1, 300);
    const ev_device_cfg *devs[] = {&a};
    ev_collector *c = ev_modbus_collector_new(f->x.loop, &f->x.cfg, devs, 1, fx_sink_record, &s);
    ev_collector_poll(c, ev_wall_ns());
    ev_device_cfg b2 = fx_modbus_dev(&f->x, "m-b", "two", 2, 300);
    const ev_device_cfg *devs2[] = {&b2};
    ev_modbus_reload *r = ev_modbus_reload_prepare(c, &f->x.cfg2, devs2, 1);
    assert_non_null(r);
    ev_modbus_reload_abort(c, r);
    assert_int_equal(s.n, 0); /* nothing abandoned */
    assert_true(fx_run_until_idle(f->x.loop, c, 3000));
    assert_int_equal(s.n, 1);
    assert_ptr_equal(s.r[0].dev, &a);
    assert_string_equal(s.r[0].error, "FC3 10 x1: timeout after 1 try (300 ms)");
    ev_collector_free(c);
}

/* poll() starts the first device now and leaves the others queued for the
 * pacer's timer; the loop does not run before the reload here. */
static void reload_with_queued_devices(void **state)
{
    fixture *f = *state;
    fx_sink s = {0};
    ev_device_cfg a = fx_modbus_dev(&f->x, "q-a", "one", 1, 300), d = fx_modbus_dev(&f->x, "q-d", "one", 4, 300),
                  b = fx_modbus_dev(&f->x, "q-b", "one", 2, 300), x = fx_modbus_dev(&f->x, "q-x", "one", 3, 300);
    const ev_device_cfg *devs[] = {&a, &d, &b, &x}; /* the leaving ones last: surely still queued */
    ev_collector *c = ev_modbus_collector_new(f->x.loop, &f->x.cfg, devs, 4, fx_sink_record, &s);
    assert_non_null(c);
    ev_collector_poll(c, ev_wall_ns());
    assert_int_equal(ev_collector_busy(c), 4); /* due: counted busy before they start */

    ev_device_cfg a2 = fx_modbus_dev(&f->x, "q-a", "one", 1, 300), d2 = fx_modbus_dev(&f->x, "q-d", "one", 4, 300),
                  x2 = fx_modbus_dev(&f->x, "q-x", "one", 5, 300); /* q-b gone, q-x changed */
    d2.rack = "r07";
    const ev_device_cfg *devs2[] = {&d2, &x2, &a2}; /* q-d moves ahead of where the pacer was */
    assert_int_equal(ev_collector_reconfigure(c, &f->x.cfg2, devs2, 3), 0);
    assert_int_equal(s.n, 2); /* abandoned at once, under their old config, nothing sent */
    assert_ptr_equal(s.r[0].dev, &b);
    assert_string_equal(s.r[0].error, "poll abandoned: device removed by a configuration reload");
    assert_ptr_equal(s.r[1].dev, &x);
    assert_string_equal(s.r[1].error, "poll abandoned: device changed by a configuration reload");
    for (int i = 0; i < 2; i++) {
        assert_int_equal(s.r[i].status, EV_POLL_ERROR);
        assert_int_equal(s.r[i].requests, 0);
        assert_true(s.r[i].has_counters);
    }
    assert_int_equal(ev_collector_busy(c), 2); /* q-a, and q-d still queued or started since */

    assert_true(fx_run_until_idle(f->x.loop, c, 3000)); /* the pacer starts q-d on the new set */
    assert_int_equal(s.n, 4);
    bool saw_a = false, saw_d = false;
    for (int i = 2; i < 4; i++) {
        assert_int_equal(s.r[i].status, EV_POLL_TIMEOUT);
        assert_int_equal(s.r[i].requests, 1);
        assert_string_equal(s.r[i].error, "FC3 10 x1: timeout after 1 try (300 ms)");
        saw_a |= s.r[i].dev == &a2;
        saw_d |= s.r[i].dev == &d2;
    }
    assert_true(saw_a && saw_d);
    assert_int_equal(accept_all(f), 1); /* one connection for all the unit ids */
    ev_modbus_stats st;
    ev_modbus_collector_stats(c, "q-d", &st);
    assert_int_equal(st.polls, 1);
    assert_int_equal(st.timeouts_req, 1);
    ev_collector_free(c);
}

/* Three devices named name[0..2] behind the silent gateway (unit ids
 * 1..3; d[] and the names must outlive the collector) and a collector on
 * them. */
static ev_collector *three_on_one_gateway(fixture *f, const char *const name[3], ev_device_cfg d[3], fx_sink *s)
{
    const ev_device_cfg *devs[3];
    for (int i = 0; i < 3; i++) {
        d[i] = fx_modbus_dev(&f->x, name[i], "one", (unsigned)i + 1, 300);
        devs[i] = &d[i];
    }
    ev_collector *c = ev_modbus_collector_new(f->x.loop, &f->x.cfg, devs, 3, fx_sink_record, s);
    assert_non_null(c);
    return c;
}

/* Late: still busy, or still waiting for the pacer, at the next poll. */
static void queued_at_the_next_poll_is_late(void **state)
{
    fixture *f = *state;
    fx_sink s = {0};
    ev_device_cfg d[3];
    ev_collector *c = three_on_one_gateway(f, (const char *const[]){"l-a", "l-b", "l-x"}, d, &s);
    ev_collector_poll(c, ev_wall_ns());
    ev_collector_poll(c, ev_wall_ns()); /* before the loop ran: l-x is surely still queued */
    ev_modbus_stats st;
    ev_modbus_collector_stats(c, NULL, &st);
    assert_int_equal(st.polls, 3);
    assert_int_equal(st.late, 3);
    ev_modbus_collector_stats(c, "l-x", &st);
    assert_int_equal(st.polls, 1);
    assert_int_equal(st.late, 1);
    assert_int_equal(ev_collector_busy(c), 3);
    assert_true(fx_run_until_idle(f->x.loop, c, 3000));
    assert_int_equal(s.n, 3); /* one poll each, the first cycle's */
    for (int i = 0; i < 3; i++)
        assert_int_equal(s.r[i].status, EV_POLL_TIMEOUT);
    ev_collector_free(c);
}

/* free() with devices queued: the pacer's timer must not fire on freed
 * memory (ASan and valgrind would see it). */
static void free_with_devices_queued(void **state)
{
    fixture *f = *state;
    fx_sink s = {0};
    ev_device_cfg d[3];
    ev_collector *c = three_on_one_gateway(f, (const char *const[]){"f-a", "f-b", "f-x"}, d, &s);
    ev_collector_poll(c, ev_wall_ns());
    ev_collector_free(c);
    uint64_t end = ev_now_ms() + 30;
    while (ev_now_ms() < end)
        ev_loop_once(f->x.loop, 10); /* past the pacer's next tick */
    assert_int_equal(s.n, 0);
}

/* A serial line whose far end never answers: the pty's master side. */
static int open_pty(char *path, size_t len)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(m >= 0);
    assert_int_equal(grantpt(m), 0);
    assert_int_equal(unlockpt(m), 0);
    snprintf(path, len, "%s", ptsname(m));
    return m;
}

/* A device with profile "one" on the serial line tty (9600 8N1): 1 try
 * of 500 ms. */
static ev_device_cfg rtu_dev(fixture *f, const char *name, unsigned unit, char *tty)
{
    ev_device_cfg d = fx_modbus_dev(&f->x, name, "one", unit, 500);
    d.address = tty;
    d.modbus = (ev_modbus_cfg){.transport = EV_MB_RTU, .serial = tty, .unit_id = unit, .baud = 9600,
                               .parity = 'N', .data_bits = 8, .stop_bits = 1, .timeout_ms = 500, .max_gap = 10,
                               .max_registers = 125};
    return d;
}

/* Run the loop until the master side has bytes (a request was written). */
static bool run_until_written(fixture *f, int master, uint64_t deadline_ms)
{
    uint64_t end = ev_now_ms() + deadline_ms;
    struct pollfd p = {.fd = master, .events = POLLIN};
    while (ev_now_ms() < end) {
        if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN))
            return true;
        ev_loop_once(f->x.loop, 10);
    }
    return false;
}

static void removed_while_serial_worker_runs(void **state)
{
    fixture *f = *state;
    fx_sink s = {0};
    char tty[128];
    int master = open_pty(tty, sizeof tty);
    ev_device_cfg b = rtu_dev(f, "rtu-b", 2, tty), a = rtu_dev(f, "rtu-a", 1, tty);
    const ev_device_cfg *devs[] = {&b, &a}; /* rtu-b's request goes first */
    ev_collector *c = ev_modbus_collector_new(f->x.loop, &f->x.cfg, devs, 2, fx_sink_record, &s);
    assert_non_null(c);
    ev_collector_poll(c, ev_wall_ns());
    assert_true(run_until_written(f, master, 2000)); /* the worker is on rtu-b's request */

    ev_device_cfg a2 = a;
    const ev_device_cfg *devs2[] = {&a2};
    assert_int_equal(ev_collector_reconfigure(c, &f->x.cfg2, devs2, 1), 0);
    assert_int_equal(s.n, 1);
    assert_ptr_equal(s.r[0].dev, &b);
    assert_string_equal(s.r[0].error, "poll abandoned: device removed by a configuration reload");

    /* rtu-b's request comes back (and is dropped), then rtu-a's */
    assert_true(fx_run_until_idle(f->x.loop, c, 5000));
    assert_int_equal(s.n, 2);
    assert_ptr_equal(s.r[1].dev, &a2);
    assert_int_equal(s.r[1].status, EV_POLL_TIMEOUT);
    assert_int_equal(s.r[1].counters.timeouts, 1);
    ev_collector_free(c);
    close(master);
}

static void crc_error_counted(void **state)
{
    fixture *f = *state;
    fx_sink s = {0};
    char tty[128];
    int master = open_pty(tty, sizeof tty);
    ev_device_cfg a = rtu_dev(f, "rtu-a", 1, tty);
    const ev_device_cfg *devs[] = {&a};
    ev_collector *c = ev_modbus_collector_new(f->x.loop, &f->x.cfg, devs, 1, fx_sink_record, &s);
    assert_non_null(c);
    ev_collector_poll(c, ev_wall_ns());
    assert_true(run_until_written(f, master, 2000));
    uint8_t req[8];
    assert_int_equal(read(master, req, sizeof req), 8); /* 01 03 00 0a 00 01 CRC */
    assert_int_equal(req[1], 3);
    static const uint8_t bad[] = {0x01, 0x03, 0x02, 0x00, 0x2a, 0x00, 0x00}; /* the CRC is not 0000 */
    assert_int_equal(write(master, bad, sizeof bad), (ssize_t)sizeof bad);
    assert_true(fx_run_until_idle(f->x.loop, c, 3000));
    assert_int_equal(s.n, 1);
    assert_int_equal(s.r[0].status, EV_POLL_ERROR);
    assert_string_equal(s.r[0].error, "FC3 10 x1: CRC error in the answer");
    assert_int_equal(s.r[0].counters.bad_replies, 1);
    assert_int_equal(s.r[0].counters.crc_errors, 1);
    assert_int_equal(s.r[0].counters.timeouts, 0);
    ev_collector_free(c);
    close(master);
}

int main(void)
{
    ev_log_set_level(EV_LOG_ERR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(kept_removed_changed_added, setup, teardown),
        cmocka_unit_test_setup_teardown(profile_change_is_a_change, setup, teardown),
        cmocka_unit_test_setup_teardown(prepare_abort_keeps_running_set, setup, teardown),
        cmocka_unit_test_setup_teardown(reload_with_queued_devices, setup, teardown),
        cmocka_unit_test_setup_teardown(queued_at_the_next_poll_is_late, setup, teardown),
        cmocka_unit_test_setup_teardown(free_with_devices_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(removed_while_serial_worker_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(crc_error_counted, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
