/*
 * collector.h - the interface between the agent and a protocol collector.
 *
 * A collector owns the devices of one protocol (SNMP, Modbus). The agent
 * calls poll() once per cycle; the collector starts every due device on
 * the shared event loop without waiting for any other (SNMP paces the
 * starts over a quarter of the interval so thousands of answers do not
 * arrive in one burst; Modbus starts them at once) and, as each device
 * finishes (answer, error or timeout), hands its points to the sink. It
 * never blocks and never waits for one device before asking the next.
 * Collectors know nothing of outputs.
 */
#ifndef EVMON_COLLECTOR_H
#define EVMON_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "../agent/config.h"
#include "../agent/loop.h"
#include "../agent/point.h"
#include "../agent/profile.h"

/* Outcome of one device poll. */
typedef enum {
    EV_POLL_OK,       /* answered; points delivered */
    EV_POLL_PARTIAL,  /* answered but some OIDs failed */
    EV_POLL_TIMEOUT,  /* no answer within timeout x (retries+1) */
    EV_POLL_ERROR,    /* auth failure, unreachable, protocol error */
} ev_poll_status;

/* A device's protocol error counters: totals since the collector set the
 * device up (a reload that changes the device starts them again). */
typedef struct {
    uint64_t exceptions;  /* answers carrying an exception code (Modbus) */
    uint64_t bad_replies; /* garbled answers: wrong length, CRC error, wrong unit... */
    uint64_t crc_errors;  /* of those, CRC errors (serial lines) */
    uint64_t timeouts;    /* requests with no answer after every try */
    uint64_t reconnects;  /* connection or serial line opened again after it had been up */
} ev_poll_counters;

typedef struct {
    const ev_device_cfg *dev;
    ev_poll_status status;
    const char *error;      /* human text when status != OK, e.g.
                               "SNMPv3 authentication failure (wrong password?)" */
    uint64_t started_us, duration_us;
    unsigned requests;      /* PDUs sent this poll */
    const ev_batch *points; /* the device's points (empty on failure); valid
                               only during the sink call: copy to keep */
    const ev_poll_counters *counters; /* NULL when the collector keeps none (SNMP
                                         today); valid only during the sink call */
} ev_poll_result;

typedef void (*ev_sink_fn)(void *ud, const ev_poll_result *r);

typedef struct ev_collector ev_collector;

/* What every collector implements. An implementation embeds ev_collector
 * as its first member and points ops at its own table. */
typedef struct {
    const char *name; /* "snmp", "modbus" */
    /* Start a poll of every device not still busy from the last cycle. A
     * device still busy is counted late and skipped this cycle. ts_ns
     * stamps all points of this cycle. */
    void (*poll)(ev_collector *c, int64_t ts_ns);
    /* Devices still in flight. */
    size_t (*busy)(const ev_collector *c);
    /* A new configuration (SIGHUP): cfg and devices replace the ones given
     * so far (same lifetime rules); the caller frees the old ones after this
     * returns. Devices are matched by name. One whose settings (address,
     * protocol options, the profile's fetch list) are unchanged keeps its
     * session, protocol state and any poll in flight: its polling does not
     * restart. A changed or removed device in flight is reported to the
     * sink now, with the old cfg, as EV_POLL_ERROR "abandoned", then closed
     * (a changed one is set up anew); new devices join at the next poll.
     * 0, or -1 when out of memory, with the old set left untouched. */
    int (*reconfigure)(ev_collector *c, const ev_config *cfg, const ev_device_cfg *const *devices,
                       size_t ndevices);
    void (*free)(ev_collector *c);
} ev_collector_ops;

struct ev_collector {
    const ev_collector_ops *ops;
};

static inline void ev_collector_poll(ev_collector *c, int64_t ts_ns)
{
    c->ops->poll(c, ts_ns);
}

static inline size_t ev_collector_busy(const ev_collector *c)
{
    return c->ops->busy(c);
}

static inline int ev_collector_reconfigure(ev_collector *c, const ev_config *cfg,
                                           const ev_device_cfg *const *devices, size_t ndevices)
{
    return c->ops->reconfigure(c, cfg, devices, ndevices);
}

static inline void ev_collector_free(ev_collector *c)
{
    if (c)
        c->ops->free(c);
}

/* SNMP collector (collectors/snmp*.c). devices: those whose profile is an
 * SNMP profile; the array must outlive the collector. */
ev_collector *ev_snmp_collector_new(ev_loop *loop, const ev_config *cfg,
                                    const ev_device_cfg *const *devices, size_t ndevices,
                                    ev_sink_fn sink, void *ud);

/* Modbus collector (collectors/modbus*.c): devices whose profile is a
 * Modbus profile, over TCP or RTU (ev_device_cfg.modbus). */
ev_collector *ev_modbus_collector_new(ev_loop *loop, const ev_config *cfg,
                                      const ev_device_cfg *const *devices, size_t ndevices,
                                      ev_sink_fn sink, void *ud);

/* Every device of a config, each handed to the collector of its profile's
 * protocol (collectors/collectors.c); one collector to poll, reconfigure
 * and free. */
ev_collector *ev_collectors_new(ev_loop *loop, const ev_config *cfg,
                                const ev_device_cfg *const *devices, size_t ndevices,
                                ev_sink_fn sink, void *ud);

#endif
