/*
 * config_spool.h - the `spool:` section of the config (config_spool.c),
 * hooked into config.c's top-level table. Private to agent/config*.c.
 */
#ifndef EVMON_CONFIG_SPOOL_H
#define EVMON_CONFIG_SPOOL_H

#include "agent/config_read.h"

/* Defaults: no dir (see config.h), 1 GiB, fsync every 1 s, 20000 points/s. */
void cfg_spool_defaults(ev_spool_cfg *s);
void cfg_top_spool(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label);
void cfg_spool_free(ev_spool_cfg *s);

#endif
