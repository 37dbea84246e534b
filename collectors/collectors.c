/*
 * collectors.c - one collector over all of a config's devices: each
 * device goes to the collector of its profile's protocol (SNMP or
 * Modbus), and poll/busy/reconfigure/free go to both. The agent, `once`
 * and the reload path see one ev_collector whatever the protocols. A
 * reload applies to both or to neither: the Modbus half is prepared first
 * (everything it needs set up), then SNMP switches, then Modbus commits;
 * if SNMP runs out of memory the prepared Modbus set is dropped.
 */
#include <stdlib.h>

#include "collectors/collector.h"
#include "collectors/modbus.h"

typedef struct {
    ev_collector base; /* first: the generic interface */
    ev_collector *snmp, *modbus;
    const ev_device_cfg **sdevs, **mdevs; /* the sub-collectors' device arrays */
} multi;

static bool is_modbus(const ev_device_cfg *d)
{
    return d->profile && ev_profile_protocol(d->profile) == EV_PROTO_MODBUS;
}

/* Split devices by protocol into two new arrays; counts in *ns, *nm. */
static int split(const ev_device_cfg *const *devices, size_t n, const ev_device_cfg ***s, size_t *ns,
                 const ev_device_cfg ***m, size_t *nm)
{
    *s = calloc(n ? n : 1, sizeof **s);
    *m = calloc(n ? n : 1, sizeof **m);
    *ns = *nm = 0;
    if (!*s || !*m) {
        free(*s);
        free(*m);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (is_modbus(devices[i]))
            (*m)[(*nm)++] = devices[i];
        else
            (*s)[(*ns)++] = devices[i];
    }
    return 0;
}

static void multi_poll(ev_collector *base, int64_t ts_ns)
{
    multi *c = (multi *)base;
    ev_collector_poll(c->snmp, ts_ns);
    ev_collector_poll(c->modbus, ts_ns);
}

static size_t multi_busy(const ev_collector *base)
{
    const multi *c = (const multi *)base;
    return ev_collector_busy(c->snmp) + ev_collector_busy(c->modbus);
}

static int multi_reconfigure(ev_collector *base, const ev_config *cfg, const ev_device_cfg *const *devices,
                             size_t n)
{
    multi *c = (multi *)base;
    const ev_device_cfg **s, **m;
    size_t ns, nm;
    if (split(devices, n, &s, &ns, &m, &nm) < 0)
        return -1;
    ev_modbus_reload *mr = ev_modbus_reload_prepare(c->modbus, cfg, m, nm);
    if (!mr || ev_collector_reconfigure(c->snmp, cfg, s, ns) < 0) {
        ev_modbus_reload_abort(c->modbus, mr); /* out of memory: both keep the running set */
        free(s);
        free(m);
        return -1;
    }
    ev_modbus_reload_commit(c->modbus, mr);
    free(c->sdevs);
    free(c->mdevs);
    c->sdevs = s;
    c->mdevs = m;
    return 0;
}

static void multi_free(ev_collector *base)
{
    multi *c = (multi *)base;
    if (!c)
        return;
    ev_collector_free(c->snmp);
    ev_collector_free(c->modbus);
    free(c->sdevs);
    free(c->mdevs);
    free(c);
}

static const ev_collector_ops multi_ops = {
    .name = "all", .poll = multi_poll, .busy = multi_busy, .reconfigure = multi_reconfigure,
    .free = multi_free,
};

ev_collector *ev_collectors_new(ev_loop *loop, const ev_config *cfg, const ev_device_cfg *const *devices,
                                size_t ndevices, ev_sink_fn sink, void *ud)
{
    multi *c = calloc(1, sizeof *c);
    size_t ns, nm;
    if (!c)
        return NULL;
    c->base.ops = &multi_ops;
    if (split(devices, ndevices, &c->sdevs, &ns, &c->mdevs, &nm) < 0) {
        free(c);
        return NULL;
    }
    /* Modbus first: its serial lines open before SNMP's sockets (libmodbus uses select()) */
    c->modbus = ev_modbus_collector_new(loop, cfg, c->mdevs, nm, sink, ud);
    c->snmp = c->modbus ? ev_snmp_collector_new(loop, cfg, c->sdevs, ns, sink, ud) : NULL;
    if (!c->snmp) {
        multi_free(&c->base);
        return NULL;
    }
    return &c->base;
}
