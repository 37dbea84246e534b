/*
 * config_inventory.h - devices at scale in the config's `devices:` list
 * (private to agent/config*.c; implemented in config_inventory.c).
 *
 * Two forms beside the plain one-device mapping:
 *
 *   - name: pdu-{3}-{4}                # {N}: the value of the Nth [a-b] range
 *     address: 127.2.[0-39].[1-250]    # one device per address, 10,000 here
 *     rack: "R{3}"                     # {n}: 1, 2, 3... ; {n:04}: zero-padded
 *     profile: apc-rpdu2
 *
 *   - csv: dcim/hall1.csv              # a DCIM export, relative to the config
 *
 * A range item is read once, as any device, then copied for every address
 * with name, row and rack rendered from their templates. A CSV row is
 * turned into a YAML mapping (one scalar per non-empty known column, each
 * at the row's line) and read by the same device reader, so a CSV device
 * is checked exactly like a YAML one and its errors read CSV_FILE:LINE.
 */
#ifndef EVMON_CONFIG_INVENTORY_H
#define EVMON_CONFIG_INVENTORY_H

#include "agent/config_read.h"

/* config.c's reader of one device mapping (name, profile, address, ...). */
typedef void (*cfg_device_reader)(cfg_ctx *cx, ev_config *c, const yaml_node_t *item, size_t idx,
                                  ev_device_cfg *out);

/* One item of `devices:` (index idx): a device, a range of devices or a
 * csv: import, appended to c->devices. */
void cfg_inventory_item(cfg_ctx *cx, ev_config *c, const yaml_node_t *item, size_t idx, cfg_device_reader read);

/* Most devices one range item or one CSV file may produce. */
#define CFG_INVENTORY_MAX 100000

#endif
