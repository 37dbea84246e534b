/*
 * config_modbus.h - the `modbus:` settings of the config file (private to
 * agent/config*.c): transport (tcp or rtu), unit id, serial line settings,
 * timeout, retries and request merging, as defaults in a top-level
 * `modbus:` section and per device under the device's own `modbus:`.
 * The typed result is ev_modbus_cfg in config.h.
 */
#ifndef EVMON_CONFIG_MODBUS_H
#define EVMON_CONFIG_MODBUS_H

#include "agent/config_read.h"

/* The built-in defaults (config_new). */
void cfg_modbus_init(ev_modbus_cfg *m);
/* Top-level `modbus:` (obj: the ev_config) and a device's `modbus:` (obj:
 * the device being read, whose first member is its ev_device_cfg). */
void cfg_modbus_top(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label);
void cfg_modbus_device(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label);
/* Before a device is read: start from the defaults. */
void cfg_modbus_copy(cfg_ctx *cx, ev_modbus_cfg *dst, const ev_modbus_cfg *src);
/* An RTU device is found by its serial line and unit id: no address. */
bool cfg_modbus_address_optional(const ev_device_cfg *d);
/* After a device is read (profile resolved): settings that span keys. */
void cfg_modbus_check(cfg_ctx *cx, ev_device_cfg *d, const char *sect);
void cfg_modbus_free(ev_modbus_cfg *m);

#endif
