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
 *   - a device removed while its serial worker runs its request is freed
 *     when the request comes back (ASan/valgrind see no leak or misuse);
 *   - each result carries the device's error counters: a timeout, and a
 *     CRC error in an answer written on the pty by the test.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "agent/log.h"
#include "collectors/modbus.h"

static const char profile1_yaml[] =
    "name: one\nprotocol: modbus\n"
    "metrics:\n"
    "  - {name: p, register: 10, function: 3, type: uint16, measurement: power, field: active_power_w}\n";
static const char profile2_yaml[] =
    "name: two\nprotocol: modbus\n"
    "metrics:\n"
    "  - {name: p, register: 20, function: 3, type: uint16, measurement: power, field: active_power_w}\n";

#define MAXR 8
typedef struct {
    int n;
    const ev_device_cfg *dev[MAXR];
    ev_poll_status status[MAXR];
    char error[MAXR][400];
    bool has_counters[MAXR];
    ev_poll_counters counters[MAXR];
} sink_state;

static void sink(void *ud, const ev_poll_result *r)
{
    sink_state *s = ud;
    assert_true(s->n < MAXR);
    s->dev[s->n] = r->dev;
    s->status[s->n] = r->status;
    snprintf(s->error[s->n], sizeof s->error[0], "%s", r->error ? r->error : "");
    s->has_counters[s->n] = r->counters != NULL;
    if (r->counters)
        s->counters[s->n] = *r->counters;
    s->n++;
}

typedef struct {
    int listen_fd;
    char address[64];
    int accepted[16];
    int naccepted;
    ev_profile_set *set;
    ev_config cfg, cfg2;
    ev_loop *loop;
} fixture;

static void load_profile(ev_profile_set *set, const char *yaml)
{
    char path[] = "/tmp/test_modbus_reconfigure.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
    close(fd);
    ev_diag d = {0};
    int rc = ev_profiles_load_file(set, path, &d);
    ev_diag_print(&d, stderr);
    assert_int_equal(rc, 0);
    unlink(path);
    ev_diag_free(&d);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(f->listen_fd >= 0);
    assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(f->listen_fd, 16), 0);
    assert_int_equal(getsockname(f->listen_fd, (struct sockaddr *)&sa, &len), 0);
    snprintf(f->address, sizeof f->address, "127.0.0.1:%u", ntohs(sa.sin_port));
    f->set = ev_profiles_new();
    load_profile(f->set, profile1_yaml);
    load_profile(f->set, profile2_yaml);
    f->cfg = (ev_config){.site = "s1", .hall = "h1"};
    f->cfg2 = (ev_config){.site = "s1", .hall = "h1"};
    f->loop = ev_loop_new();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ev_loop_free(f->loop);
    ev_profiles_free(f->set);
    for (int i = 0; i < f->naccepted; i++)
        close(f->accepted[i]);
    close(f->listen_fd);
    free(f);
    return 0;
}

/* Connections the silent listener accepted so far. */
static int accept_all(fixture *f)
{
    int fd;
    while (f->naccepted < 16 && (fd = accept(f->listen_fd, NULL, NULL)) >= 0)
        f->accepted[f->naccepted++] = fd;
    return f->naccepted;
}

static ev_device_cfg dev(fixture *f, const char *name, const char *profile, unsigned unit, unsigned timeout_ms)
{
    return (ev_device_cfg){
        .name = (char *)name,
        .profile_name = (char *)profile,
        .profile = ev_profiles_find(f->set, profile),
        .address = f->address,
        .role = EV_ROLE_FACILITY,
        .modbus = {.transport = EV_MB_TCP, .unit_id = unit, .timeout_ms = timeout_ms, .retries = 0,
                   .max_gap = 10, .max_registers = 125},
    };
}

static bool run_until_idle(fixture *f, ev_collector *c, uint64_t deadline_ms)
{
    uint64_t end = ev_now_ms() + deadline_ms;
    while (ev_collector_busy(c) && ev_now_ms() < end)
        ev_loop_once(f->loop, 50);
    return ev_collector_busy(c) == 0;
}

/* Run the loop until the listener has accepted n connections. */
static bool run_until_connected(fixture *f, int n, uint64_t deadline_ms)
{
    uint64_t end = ev_now_ms() + deadline_ms;
    while (accept_all(f) < n && ev_now_ms() < end)
        ev_loop_once(f->loop, 20);
    return accept_all(f) >= n;
}

static void kept_removed_changed_added(void **state)
{
    fixture *f = *state;
    sink_state s = {0};
    /* three unit ids behind one address: one connection, one request at a time */
    ev_device_cfg a = dev(f, "m-a", "one", 1, 400), b = dev(f, "m-b", "one", 2, 400),
                  x = dev(f, "m-x", "one", 3, 400);
    const ev_device_cfg *devs[] = {&a, &b, &x};
    ev_collector *c = ev_modbus_collector_new(f->loop, &f->cfg, devs, 3, sink, &s);
    assert_non_null(c);
    ev_collector_poll(c, ev_wall_ns());
    assert_int_equal(ev_collector_busy(c), 3);
    assert_true(run_until_connected(f, 1, 2000));

    /* m-a unchanged (a copy, as a reload makes, with a new rack), m-b gone,
     * m-x on another unit id (changed), m-c new. */
    ev_device_cfg a2 = dev(f, "m-a", "one", 1, 400), x2 = dev(f, "m-x", "one", 4, 400),
                  c2 = dev(f, "m-c", "one", 5, 400);
    a2.rack = "r09";
    const ev_device_cfg *devs2[] = {&c2, &x2, &a2};
    assert_int_equal(ev_collector_reconfigure(c, &f->cfg2, devs2, 3), 0);

    assert_int_equal(s.n, 2); /* m-b and m-x, abandoned now, under their old config */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(s.status[i], EV_POLL_ERROR);
        assert_true(s.has_counters[i]);
    }
    assert_ptr_equal(s.dev[0], &b);
    assert_string_equal(s.error[0], "poll abandoned: device removed by a configuration reload");
    assert_ptr_equal(s.dev[1], &x);
    assert_string_equal(s.error[1], "poll abandoned: device changed by a configuration reload");
    assert_int_equal(ev_collector_busy(c), 1); /* m-a still in flight */

    assert_true(run_until_idle(f, c, 3000));
    assert_int_equal(s.n, 3); /* m-a's poll ran to its end, under the new config */
    assert_ptr_equal(s.dev[2], &a2);
    assert_int_equal(s.status[2], EV_POLL_TIMEOUT);
    assert_string_equal(s.error[2], "FC3 10 x1: timeout after 1 try (400 ms)");
    assert_int_equal(s.counters[2].timeouts, 1);
    assert_int_equal(s.counters[2].exceptions, 0);
    assert_int_equal(accept_all(f), 1); /* the same connection all along */

    ev_collector_poll(c, ev_wall_ns()); /* now m-c, m-x (anew) and m-a, on the same connection */
    assert_int_equal(ev_collector_busy(c), 3);
    assert_true(run_until_idle(f, c, 5000));
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
    sink_state s = {0};
    ev_device_cfg a = dev(f, "m-a", "one", 1, 300);
    const ev_device_cfg *devs[] = {&a};
    ev_collector *c = ev_modbus_collector_new(f->loop, &f->cfg, devs, 1, sink, &s);
    ev_collector_poll(c, ev_wall_ns());
    ev_device_cfg a2 = dev(f, "m-a", "two", 1, 300); /* other registers */
    const ev_device_cfg *devs2[] = {&a2};
    assert_int_equal(ev_collector_reconfigure(c, &f->cfg2, devs2, 1), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.error[0], "poll abandoned: device changed by a configuration reload");
    assert_int_equal(ev_collector_busy(c), 0);
    ev_collector_poll(c, ev_wall_ns());
    assert_true(run_until_idle(f, c, 3000));
    assert_int_equal(s.n, 2);
    assert_string_equal(s.error[1], "FC3 20 x1: timeout after 1 try (300 ms)");
    ev_collector_free(c);
}

static void prepare_abort_keeps_running_set(void **state)
{
    fixture *f = *state;
    sink_state s = {0};
    ev_device_cfg a = dev(f, "m-a", "one", 1, 300);
    const ev_device_cfg *devs[] = {&a};
    ev_collector *c = ev_modbus_collector_new(f->loop, &f->cfg, devs, 1, sink, &s);
    ev_collector_poll(c, ev_wall_ns());
    ev_device_cfg b2 = dev(f, "m-b", "two", 2, 300);
    const ev_device_cfg *devs2[] = {&b2};
    ev_modbus_reload *r = ev_modbus_reload_prepare(c, &f->cfg2, devs2, 1);
    assert_non_null(r);
    ev_modbus_reload_abort(c, r);
    assert_int_equal(s.n, 0); /* nothing abandoned */
    assert_true(run_until_idle(f, c, 3000));
    assert_int_equal(s.n, 1);
    assert_ptr_equal(s.dev[0], &a);
    assert_string_equal(s.error[0], "FC3 10 x1: timeout after 1 try (300 ms)");
    ev_collector_free(c);
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

/* Run the loop until the master side has bytes (a request was written). */
static bool run_until_written(fixture *f, int master, uint64_t deadline_ms)
{
    uint64_t end = ev_now_ms() + deadline_ms;
    struct pollfd p = {.fd = master, .events = POLLIN};
    while (ev_now_ms() < end) {
        if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN))
            return true;
        ev_loop_once(f->loop, 10);
    }
    return false;
}

static void removed_while_serial_worker_runs(void **state)
{
    fixture *f = *state;
    sink_state s = {0};
    char tty[128];
    int master = open_pty(tty, sizeof tty);
    ev_device_cfg b = dev(f, "rtu-b", "one", 2, 500), a = dev(f, "rtu-a", "one", 1, 500);
    ev_modbus_cfg line = {.transport = EV_MB_RTU, .serial = tty, .baud = 9600, .parity = 'N', .data_bits = 8,
                          .stop_bits = 1, .timeout_ms = 500, .max_gap = 10, .max_registers = 125};
    b.modbus = line, b.modbus.unit_id = 2, b.address = tty;
    a.modbus = line, a.modbus.unit_id = 1, a.address = tty;
    const ev_device_cfg *devs[] = {&b, &a}; /* rtu-b's request goes first */
    ev_collector *c = ev_modbus_collector_new(f->loop, &f->cfg, devs, 2, sink, &s);
    assert_non_null(c);
    ev_collector_poll(c, ev_wall_ns());
    assert_true(run_until_written(f, master, 2000)); /* the worker is on rtu-b's request */

    ev_device_cfg a2 = a;
    const ev_device_cfg *devs2[] = {&a2};
    assert_int_equal(ev_collector_reconfigure(c, &f->cfg2, devs2, 1), 0);
    assert_int_equal(s.n, 1);
    assert_ptr_equal(s.dev[0], &b);
    assert_string_equal(s.error[0], "poll abandoned: device removed by a configuration reload");

    assert_true(run_until_idle(f, c, 5000)); /* rtu-b's request comes back (and is dropped), then rtu-a's */
    assert_int_equal(s.n, 2);
    assert_ptr_equal(s.dev[1], &a2);
    assert_int_equal(s.status[1], EV_POLL_TIMEOUT);
    assert_int_equal(s.counters[1].timeouts, 1);
    ev_collector_free(c);
    close(master);
}

static void crc_error_counted(void **state)
{
    fixture *f = *state;
    sink_state s = {0};
    char tty[128];
    int master = open_pty(tty, sizeof tty);
    ev_device_cfg a = dev(f, "rtu-a", "one", 1, 500);
    a.modbus = (ev_modbus_cfg){.transport = EV_MB_RTU, .serial = tty, .unit_id = 1, .baud = 9600, .parity = 'N',
                               .data_bits = 8, .stop_bits = 1, .timeout_ms = 500, .max_gap = 10,
                               .max_registers = 125};
    a.address = tty;
    const ev_device_cfg *devs[] = {&a};
    ev_collector *c = ev_modbus_collector_new(f->loop, &f->cfg, devs, 1, sink, &s);
    assert_non_null(c);
    ev_collector_poll(c, ev_wall_ns());
    assert_true(run_until_written(f, master, 2000));
    uint8_t req[8];
    assert_int_equal(read(master, req, sizeof req), 8); /* 01 03 00 0a 00 01 CRC */
    assert_int_equal(req[1], 3);
    static const uint8_t bad[] = {0x01, 0x03, 0x02, 0x00, 0x2a, 0x00, 0x00}; /* the CRC is not 0000 */
    assert_int_equal(write(master, bad, sizeof bad), (ssize_t)sizeof bad);
    assert_true(run_until_idle(f, c, 3000));
    assert_int_equal(s.n, 1);
    assert_int_equal(s.status[0], EV_POLL_ERROR);
    assert_string_equal(s.error[0], "FC3 10 x1: CRC error in the answer");
    assert_int_equal(s.counters[0].bad_replies, 1);
    assert_int_equal(s.counters[0].crc_errors, 1);
    assert_int_equal(s.counters[0].timeouts, 0);
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
        cmocka_unit_test_setup_teardown(removed_while_serial_worker_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(crc_error_counted, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
