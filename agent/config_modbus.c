/*
 * config_modbus.c - reading `modbus:` sections (config_modbus.h).
 *
 *   modbus:                      # defaults for every Modbus device
 *     transport: tcp             # tcp (address host[:port], port 502) or rtu
 *     unit_id: 1                 # 0..255 (0: TCP devices that ignore it)
 *     serial: /dev/ttyUSB0       # rtu: the line; with baud, parity, data_bits, stop_bits
 *     timeout: 1s                # per request
 *     retries: 1                 # per request, after a timeout or a garbled answer
 *     max_gap: 10                # registers a merged request may read and discard
 *     max_registers: 125         # per request (some devices accept fewer)
 *
 * Defaults follow the Modbus over Serial Line spec (V1.02 §2.5.1: 8 data
 * bits, even parity, 1 stop bit) and 9600 baud. A device's own modbus:
 * overrides key by key. Cross-key checks (a Modbus profile needs these
 * settings to make sense, an SNMP one must not have them) run once the
 * device's profile is known.
 */
#include "agent/config_modbus.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/profile.h"

static void mb_transport(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_modbus_cfg *m = obj;
    const char *t = cfg_scalar(cx, k, v, label, "tcp or rtu");
    if (!t)
        return;
    if (!strcasecmp(t, "tcp"))
        m->transport = EV_MB_TCP;
    else if (!strcasecmp(t, "rtu"))
        m->transport = EV_MB_RTU;
    else
        cfg_error(cx, cfg_line(v), "%s: bad transport '%s' (expected tcp or rtu)", label, t);
}

static void mb_parity(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_modbus_cfg *m = obj;
    const char *t = cfg_scalar(cx, k, v, label, "none, even or odd");
    if (!t)
        return;
    if (!strcasecmp(t, "none") || !strcasecmp(t, "N"))
        m->parity = 'N';
    else if (!strcasecmp(t, "even") || !strcasecmp(t, "E"))
        m->parity = 'E';
    else if (!strcasecmp(t, "odd") || !strcasecmp(t, "O"))
        m->parity = 'O';
    else
        cfg_error(cx, cfg_line(v), "%s: bad parity '%s' (expected none, even or odd)", label, t);
}

static void mb_serial(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_modbus_cfg *m = obj;
    const char *t = cfg_scalar(cx, k, v, label, "a device path such as /dev/ttyUSB0");
    if (!t)
        return;
    if (t[0] != '/') {
        cfg_error(cx, cfg_line(v), "%s: '%s' is not a device path (e.g. /dev/ttyUSB0)", label, t);
        return;
    }
    free(m->serial);
    m->serial = cfg_strdup(cx, cfg_line(v), t);
}

static void mb_baud(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    static const unsigned rates[] = {1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400};
    ev_modbus_cfg *m = obj;
    unsigned long long b;
    const char *t = cfg_scalar(cx, k, v, label, "a baud rate");
    if (!t)
        return;
    if (cfg_parse_uint(t, &b))
        for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++)
            if (b == rates[i]) {
                m->baud = rates[i];
                return;
            }
    cfg_error(cx, cfg_line(v), "%s: bad baud rate '%s' (expected 1200, 2400, 4800, 9600, 19200, 38400, "
              "57600, 115200 or 230400)", label, t);
}

static const cfg_field modbus_fields[] = {
    {.key = "transport", .kind = K_CUSTOM, .fn = mb_transport},
    {.key = "unit_id", .kind = K_UINT, .off = offsetof(ev_modbus_cfg, unit_id), .min = 0, .max = 255},
    {.key = "serial", .kind = K_CUSTOM, .fn = mb_serial},
    {.key = "baud", .kind = K_CUSTOM, .fn = mb_baud},
    {.key = "parity", .kind = K_CUSTOM, .fn = mb_parity},
    {.key = "data_bits", .kind = K_UINT, .off = offsetof(ev_modbus_cfg, data_bits), .min = 7, .max = 8},
    {.key = "stop_bits", .kind = K_UINT, .off = offsetof(ev_modbus_cfg, stop_bits), .min = 1, .max = 2},
    {.key = "timeout", .kind = K_DURATION, .off = offsetof(ev_modbus_cfg, timeout_ms), .min = 10, .max = 60000},
    {.key = "retries", .kind = K_UINT, .off = offsetof(ev_modbus_cfg, retries), .min = 0, .max = 10},
    {.key = "max_gap", .kind = K_UINT, .off = offsetof(ev_modbus_cfg, max_gap), .min = 0, .max = 124},
    {.key = "max_registers", .kind = K_UINT, .off = offsetof(ev_modbus_cfg, max_registers), .min = 1, .max = 125},
};
static const cfg_table modbus_table = {FIELDS(modbus_fields), NULL, NULL};

void cfg_modbus_init(ev_modbus_cfg *m)
{
    *m = (ev_modbus_cfg){.transport = EV_MB_TCP, .unit_id = 1, .baud = 9600, .parity = 'E', .data_bits = 8,
                         .stop_bits = 1, .timeout_ms = 1000, .retries = 1, .max_gap = 10,
                         .max_registers = 125};
}

static void read_modbus(cfg_ctx *cx, ev_modbus_cfg *m, const yaml_node_t *k, const yaml_node_t *v,
                        const char *label)
{
    m->line = cfg_line(k);
    if (cfg_expect_map(cx, k, v, label))
        cfg_read_map(cx, v, &modbus_table, m, label, NULL);
}

void cfg_modbus_top(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_modbus_cfg *m = &((ev_config *)obj)->modbus_defaults;
    read_modbus(cx, m, k, v, label);
    m->line = 0; /* only a device's own section counts as "given" */
}

void cfg_modbus_device(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    read_modbus(cx, &((ev_device_cfg *)obj)->modbus, k, v, label);
}

void cfg_modbus_copy(cfg_ctx *cx, ev_modbus_cfg *dst, const ev_modbus_cfg *src)
{
    *dst = *src;
    dst->serial = cfg_strdup(cx, 0, src->serial);
}

bool cfg_modbus_address_optional(const ev_device_cfg *d)
{
    return d->modbus.transport == EV_MB_RTU;
}

void cfg_modbus_check(cfg_ctx *cx, ev_device_cfg *d, const char *sect)
{
    ev_modbus_cfg *m = &d->modbus;
    unsigned line = m->line ? m->line : d->line;
    if (!d->profile)
        return;
    if (ev_profile_protocol(d->profile) != EV_PROTO_MODBUS) {
        if (m->line)
            cfg_error(cx, m->line, "%s modbus: profile '%s' is an SNMP profile (modbus: is for Modbus "
                      "profiles)", sect, d->profile_name);
        return;
    }
    if (m->transport == EV_MB_TCP) {
        if (!d->address)
            cfg_error(cx, d->line, "%s missing required field 'address' (host[:port] of the Modbus TCP device)",
                      sect);
        return;
    }
    if (!m->serial) {
        cfg_error(cx, line, "%s modbus: transport rtu needs serial (e.g. serial: /dev/ttyUSB0)", sect);
        return;
    }
    if (d->address) {
        cfg_error(cx, d->line, "%s address: an RTU device is found by modbus.serial and unit_id, not an "
                  "address", sect);
        return;
    }
    d->address = cfg_strdup(cx, line, m->serial); /* what logs and `once` name it by */
}

void cfg_modbus_free(ev_modbus_cfg *m)
{
    free(m->serial);
    m->serial = NULL;
}
