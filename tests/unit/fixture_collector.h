/*
 * fixture_collector.h - test-only fixtures for the collector tests
 * (test_snmp_collector.c, test_snmp_reconfigure.c, test_modbus_reconfigure.c).
 *
 * fx_collector: a loopback socket that never answers (UDP bound, or TCP
 * listening and never reading, so a poll stays in flight as long as a test
 * wants), an event loop, an empty profile set and two agent configs (before
 * and after a reload). fx_sink_record: a collector sink that records what it
 * is told. fx_snmp_dev / fx_modbus_dev: device configs pointed at the silent
 * socket. fx_run_until_idle: run the loop until the collector has nothing in
 * flight. Header-only (static inline, like snmprec.h); not part of the agent.
 */
#ifndef EVMON_TEST_FIXTURE_COLLECTOR_H
#define EVMON_TEST_FIXTURE_COLLECTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "collectors/collector.h"
#include "fixture_profile.h"

typedef enum { FX_SILENT_UDP, FX_SILENT_TCP } fx_silent;

typedef struct {
    int fd;              /* the silent socket */
    char address[64];    /* its "127.0.0.1:port" */
    ev_profile_set *set; /* empty: load with fx_profile_load() */
    ev_config cfg, cfg2; /* before and after a reload: site s1, hall h1 */
    ev_loop *loop;
} fx_collector;

static inline void fx_collector_init(fx_collector *x, fx_silent kind)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    x->fd = socket(AF_INET, kind == FX_SILENT_TCP ? SOCK_STREAM | SOCK_NONBLOCK : SOCK_DGRAM, 0);
    assert_true(x->fd >= 0);
    assert_int_equal(bind(x->fd, (struct sockaddr *)&sa, sizeof sa), 0);
    if (kind == FX_SILENT_TCP)
        assert_int_equal(listen(x->fd, 16), 0);
    assert_int_equal(getsockname(x->fd, (struct sockaddr *)&sa, &len), 0);
    snprintf(x->address, sizeof x->address, "127.0.0.1:%u", ntohs(sa.sin_port));
    x->set = ev_profiles_new();
    x->cfg = (ev_config){.site = "s1", .hall = "h1"};
    x->cfg2 = (ev_config){.site = "s1", .hall = "h1"};
    x->loop = ev_loop_new();
}

static inline void fx_collector_fini(fx_collector *x)
{
    ev_loop_free(x->loop);
    ev_profiles_free(x->set);
    close(x->fd);
}

/* One result as the sink saw it. */
typedef struct {
    const ev_device_cfg *dev;
    ev_poll_status status;
    char error[400];
    uint64_t duration_us;
    unsigned requests;
    bool has_counters;
    ev_poll_counters counters;
} fx_result;

#define FX_SINK_KEEP 8
typedef struct {
    int n;                     /* results reported so far */
    fx_result r[FX_SINK_KEEP]; /* the first FX_SINK_KEEP of them, in order */
    fx_result last;            /* the latest */
} fx_sink;

/* An ev_sink_fn; ud is an fx_sink. */
static inline void fx_sink_record(void *ud, const ev_poll_result *r)
{
    fx_sink *s = ud;
    assert_non_null(r->dev);
    fx_result *o = &s->last;
    o->dev = r->dev;
    o->status = r->status;
    snprintf(o->error, sizeof o->error, "%s", r->error ? r->error : "");
    o->duration_us = r->duration_us;
    o->requests = r->requests;
    o->has_counters = r->counters != NULL;
    o->counters = r->counters ? *r->counters : (ev_poll_counters){0};
    if (s->n < FX_SINK_KEEP)
        s->r[s->n] = *o;
    s->n++;
}

/* An SNMP v2c device on the silent socket: 2 tries of timeout_ms each. */
static inline ev_device_cfg fx_snmp_dev(const fx_collector *x, const char *name, const char *profile,
                                        unsigned timeout_ms)
{
    return (ev_device_cfg){
        .name = (char *)name,
        .profile_name = (char *)profile,
        .profile = ev_profiles_find(x->set, profile),
        .address = (char *)x->address,
        .role = EV_ROLE_IT,
        .snmp = {.version = EV_SNMP_V2C, .community = "public", .timeout_ms = timeout_ms, .retries = 1,
                 .max_repetitions = 10},
    };
}

/* A Modbus TCP device, unit id `unit`, on the silent listener: 1 try of
 * timeout_ms. */
static inline ev_device_cfg fx_modbus_dev(const fx_collector *x, const char *name, const char *profile,
                                          unsigned unit, unsigned timeout_ms)
{
    return (ev_device_cfg){
        .name = (char *)name,
        .profile_name = (char *)profile,
        .profile = ev_profiles_find(x->set, profile),
        .address = (char *)x->address,
        .role = EV_ROLE_FACILITY,
        .modbus = {.transport = EV_MB_TCP, .unit_id = unit, .timeout_ms = timeout_ms, .retries = 0,
                   .max_gap = 10, .max_registers = 125},
    };
}

/* Run the loop until c has nothing in flight; false when deadline_ms
 * passed first. */
static inline bool fx_run_until_idle(ev_loop *loop, ev_collector *c, uint64_t deadline_ms)
{
    uint64_t end = ev_now_ms() + deadline_ms;
    while (ev_collector_busy(c) && ev_now_ms() < end)
        ev_loop_once(loop, 50);
    return ev_collector_busy(c) == 0;
}

#endif
