/*
 * alert_cfg.h - the agent config's `alerts:` section, typed, and its
 * reader (agent/config_alerts.c, hooked into config.c's top-level table).
 *
 * Without an `alerts:` section the agent evaluates no rules. With one, the
 * rule files it names (default: the shipped pack, see
 * ev_default_rules_file()) are loaded and checked with the config, so
 * `evmon check` reports a bad rule as FILE:LINE: message.
 */
#ifndef EVMON_ALERT_CFG_H
#define EVMON_ALERT_CFG_H

#include "agent/alert_rule.h"
#include "agent/config_read.h"

typedef struct ev_alerts_cfg {
    char **rule_files;      /* as resolved (relative to the config file's directory) */
    size_t nrule_files;
    char *state_file;       /* active alerts across restarts; NULL: not kept */
    char **webhooks;        /* Alertmanager base URLs (POST <url>/api/v2/alerts) */
    size_t nwebhooks;
    unsigned resend_ms;     /* firing alerts re-sent to webhooks this often; default 1m */
    unsigned webhook_timeout_ms; /* per POST; default 5s */
    unsigned webhook_queue; /* bodies held per webhook while it is down; default 1000 */
    ev_alert_rules rules;   /* loaded from rule_files */
} ev_alerts_cfg;

/* Top-level table entry for `alerts:` (obj is the ev_config). */
void cfg_read_alerts(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label);
/* The same section into *dst for any config file (the hub's): relative
 * paths are taken from cfg_path's directory. */
void cfg_alerts_section(cfg_ctx *cx, ev_alerts_cfg **dst, const char *cfg_path, const yaml_node_t *k,
                        const yaml_node_t *v, const char *label);
void ev_alerts_cfg_free(ev_alerts_cfg *a);

/* The shipped rule pack: $EVMON_RULES_FILE, else the source tree's
 * config/rules/default.yaml, else /usr/share/evmon/rules/default.yaml. */
const char *ev_default_rules_file(void);

#endif
