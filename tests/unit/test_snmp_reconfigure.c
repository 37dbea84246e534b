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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "agent/log.h"
#include "collectors/snmp.h"

static const char profile1_yaml[] =
    "name: one\n"
    "metrics:\n"
    "  - {name: s1, oid: 1.3.6.1.4.1.99.1.0, type: scalar, measurement: t, field: s1}\n";
static const char profile2_yaml[] =
    "name: two\n"
    "metrics:\n"
    "  - {name: s2, oid: 1.3.6.1.4.1.99.2.0, type: scalar, measurement: t, field: s2}\n";

#define MAXR 8
typedef struct {
    int n;
    const ev_device_cfg *dev[MAXR];
    ev_poll_status status[MAXR];
    char error[MAXR][400];
} sink_state;

static void sink(void *ud, const ev_poll_result *r)
{
    sink_state *s = ud;
    assert_true(s->n < MAXR);
    s->dev[s->n] = r->dev;
    s->status[s->n] = r->status;
    snprintf(s->error[s->n], sizeof s->error[0], "%s", r->error ? r->error : "");
    s->n++;
}

typedef struct {
    int silent_fd;
    char address[64];
    ev_profile_set *set;
    ev_config cfg, cfg2;
    ev_loop *loop;
} fixture;

static void load_profile(ev_profile_set *set, const char *yaml)
{
    char path[] = "/tmp/test_snmp_reconfigure.XXXXXX";
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
    f->silent_fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(f->silent_fd >= 0);
    assert_int_equal(bind(f->silent_fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(f->silent_fd, (struct sockaddr *)&sa, &len), 0);
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
    close(f->silent_fd);
    free(f);
    return 0;
}

/* A device on the silent socket: 2 tries of timeout_ms. */
static ev_device_cfg dev(fixture *f, const char *name, const char *profile, unsigned timeout_ms)
{
    return (ev_device_cfg){
        .name = (char *)name,
        .profile_name = (char *)profile,
        .profile = ev_profiles_find(f->set, profile),
        .address = f->address,
        .role = EV_ROLE_IT,
        .snmp = {.version = EV_SNMP_V2C, .community = "public", .timeout_ms = timeout_ms, .retries = 1,
                 .max_repetitions = 10},
    };
}

static bool run_until_idle(fixture *f, ev_collector *c, uint64_t deadline_ms)
{
    uint64_t end = ev_now_ms() + deadline_ms;
    while (ev_collector_busy(c) && ev_now_ms() < end)
        ev_loop_once(f->loop, 50);
    return ev_collector_busy(c) == 0;
}

static void kept_removed_added(void **state)
{
    fixture *f = *state;
    sink_state s = {0};
    ev_device_cfg a = dev(f, "pdu-a", "one", 300), b = dev(f, "pdu-b", "one", 300);
    const ev_device_cfg *devs[] = {&a, &b};
    ev_collector *c = ev_snmp_collector_new(f->loop, &f->cfg, devs, 2, sink, &s);
    assert_non_null(c);
    ev_collector_poll(c, ev_wall_ns());
    assert_int_equal(ev_collector_busy(c), 2);

    /* The same pdu-a (a copy, as a reload makes), no pdu-b, a new pdu-c;
     * tags may change without restarting anything. */
    ev_device_cfg a2 = dev(f, "pdu-a", "one", 300), c2 = dev(f, "pdu-c", "one", 300);
    a2.rack = "r09";
    const ev_device_cfg *devs2[] = {&c2, &a2};
    assert_int_equal(ev_collector_reconfigure(c, &f->cfg2, devs2, 2), 0);

    assert_int_equal(s.n, 1); /* pdu-b, abandoned now, under its old config */
    assert_ptr_equal(s.dev[0], &b);
    assert_int_equal(s.status[0], EV_POLL_ERROR);
    assert_string_equal(s.error[0], "poll abandoned: device removed by a configuration reload");
    assert_int_equal(ev_collector_busy(c), 1); /* pdu-a still in flight */

    assert_true(run_until_idle(f, c, 3000));
    assert_int_equal(s.n, 2); /* pdu-a's poll ran to its end, under the new config */
    assert_ptr_equal(s.dev[1], &a2);
    assert_int_equal(s.status[1], EV_POLL_TIMEOUT);
    assert_string_equal(s.error[1], "timeout after 2 tries (300 ms each)");

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
    sink_state s = {0};
    ev_device_cfg a = dev(f, "pdu-a", "one", 300), b = dev(f, "pdu-b", "one", 300);
    const ev_device_cfg *devs[] = {&a, &b};
    ev_collector *c = ev_snmp_collector_new(f->loop, &f->cfg, devs, 2, sink, &s);
    ev_collector_poll(c, ev_wall_ns());

    /* pdu-a: another timeout; pdu-b: a profile fetching other OIDs. */
    ev_device_cfg a2 = dev(f, "pdu-a", "one", 200), b2 = dev(f, "pdu-b", "two", 300);
    const ev_device_cfg *devs2[] = {&a2, &b2};
    assert_int_equal(ev_collector_reconfigure(c, &f->cfg2, devs2, 2), 0);
    assert_int_equal(s.n, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(s.status[i], EV_POLL_ERROR);
        assert_string_equal(s.error[i], "poll abandoned: device changed by a configuration reload");
    }
    assert_int_equal(ev_collector_busy(c), 0);

    ev_collector_poll(c, ev_wall_ns()); /* set up anew: both poll again */
    assert_int_equal(ev_collector_busy(c), 2);
    assert_true(run_until_idle(f, c, 3000));
    assert_int_equal(s.n, 4);
    assert_string_equal(s.error[2], "timeout after 2 tries (200 ms each)");
    ev_collector_free(c);
}

static void idle_reload_reports_nothing(void **state)
{
    fixture *f = *state;
    sink_state s = {0};
    ev_device_cfg a = dev(f, "pdu-a", "one", 300);
    const ev_device_cfg *devs[] = {&a};
    ev_collector *c = ev_snmp_collector_new(f->loop, &f->cfg, devs, 1, sink, &s);
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
