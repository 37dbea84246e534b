/*
 * config_alerts.c - the `alerts:` section of the agent's config
 * (alert_cfg.h), read through config_read.h, and the loading of the rule
 * files it names (alert_rules.c), whose problems count against the config.
 *
 *   alerts:
 *     rules: [rules/site.yaml]        # or one path; default: the shipped pack
 *     state_file: /var/lib/evmon/alerts.json
 *     webhook: [http://127.0.0.1:9093] # Alertmanager(s)
 *     resend: 1m
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "agent/alert_cfg.h"

/* A string or a list of strings, appended to *v. */
static void read_strings(cfg_ctx *cx, char ***v, size_t *n, const yaml_node_t *k, const yaml_node_t *val,
                         const char *label, const char *what)
{
    const yaml_node_item_t *it = NULL;
    size_t count = 1;
    char b[80];
    if (cfg_is_null(val))
        return;
    if (val->type == YAML_SEQUENCE_NODE) {
        it = val->data.sequence.items.start;
        count = (size_t)(val->data.sequence.items.top - it);
    } else if (val->type != YAML_SCALAR_NODE) {
        cfg_error(cx, cfg_line(k), "%s: expected %s or a list of them, got %s", label, what,
            cfg_describe(val, b, sizeof b));
        return;
    }
    char **nv = realloc(*v, (*n + count + 1) * sizeof *nv);
    if (!nv) {
        cfg_error(cx, cfg_line(k), "out of memory");
        return;
    }
    *v = nv;
    for (size_t i = 0; i < count; i++) {
        const yaml_node_t *s = it ? cfg_node(cx, it[i]) : val;
        if (s->type != YAML_SCALAR_NODE || cfg_is_null(s)) {
            cfg_error(cx, cfg_line(s), "%s: item %zu: expected %s, got %s", label, i + 1, what,
                s->type == YAML_SCALAR_NODE ? "nothing" : cfg_describe(s, b, sizeof b));
            continue;
        }
        (*v)[(*n)++] = cfg_strdup(cx, cfg_line(s), cfg_text(s));
    }
}

static void a_rules(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_alerts_cfg *a = obj;
    read_strings(cx, &a->rule_files, &a->nrule_files, k, v, label, "a file path");
}

static void a_webhook(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_alerts_cfg *a = obj;
    size_t first = a->nwebhooks;
    read_strings(cx, &a->webhooks, &a->nwebhooks, k, v, label, "a URL");
    for (size_t i = first; i < a->nwebhooks; i++) {
        CURLU *u = curl_url();
        char *scheme = NULL;
        CURLUcode rc = u ? curl_url_set(u, CURLUPART_URL, a->webhooks[i], 0) : CURLUE_OUT_OF_MEMORY;
        if (rc == CURLUE_OK)
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
        if (rc != CURLUE_OK || !scheme || (strcasecmp(scheme, "http") && strcasecmp(scheme, "https")) ||
            !strstr(a->webhooks[i], "://"))
            cfg_error(cx, cfg_line(v), "%s: bad URL '%s' (expected http:// or https://, e.g. "
                "http://127.0.0.1:9093 for Alertmanager)", label, a->webhooks[i]);
        curl_free(scheme);
        curl_url_cleanup(u);
    }
}

static const cfg_field alerts_fields[] = {
    {.key = "rules", .kind = K_CUSTOM, .fn = a_rules},
    {.key = "state_file", .kind = K_STR, .off = offsetof(ev_alerts_cfg, state_file)},
    {.key = "webhook", .kind = K_CUSTOM, .fn = a_webhook},
    {.key = "resend", .kind = K_DURATION, .off = offsetof(ev_alerts_cfg, resend_ms), .min = 1000,
     .max = 3600000},
    {.key = "webhook_timeout", .kind = K_DURATION, .off = offsetof(ev_alerts_cfg, webhook_timeout_ms),
     .min = 100, .max = 600000},
    {.key = "webhook_queue", .kind = K_UINT, .off = offsetof(ev_alerts_cfg, webhook_queue), .min = 1,
     .max = 1000000},
};
static const cfg_table alerts_table = {FIELDS(alerts_fields), NULL, NULL};

const char *ev_default_rules_file(void)
{
    const char *env = getenv("EVMON_RULES_FILE");
    if (env && *env)
        return env;
#ifdef EVMON_SRC_PROFILES
    static const char src[] = EVMON_SRC_PROFILES "/../rules/default.yaml";
    struct stat st;
    if (stat(src, &st) == 0)
        return src;
#endif
    return "/usr/share/evmon/rules/default.yaml";
}

/* path, relative to the directory of the config file cfg_path. */
static char *relative_to(const char *cfg_path, const char *path)
{
    char *out = NULL;
    const char *slash = strrchr(cfg_path, '/');
    if (path[0] == '/' || !slash)
        return strdup(path);
    if (asprintf(&out, "%.*s/%s", (int)(slash - cfg_path), cfg_path, path) < 0)
        return NULL;
    return out;
}

static void load_rules(cfg_ctx *cx, ev_alerts_cfg *a, const char *cfg_path, unsigned line)
{
    if (!a->nrule_files) {
        a->rule_files = calloc(2, sizeof *a->rule_files);
        if (!a->rule_files || !(a->rule_files[0] = strdup(ev_default_rules_file()))) {
            cfg_error(cx, line, "out of memory");
            return;
        }
        a->nrule_files = 1;
    } else {
        for (size_t i = 0; i < a->nrule_files; i++) {
            char *p = a->rule_files[i] ? relative_to(cfg_path, a->rule_files[i]) : NULL;
            free(a->rule_files[i]);
            a->rule_files[i] = p;
            if (!p) {
                cfg_error(cx, line, "out of memory");
                return;
            }
        }
    }
    cx->nerr += ev_alert_rules_load(&a->rules, (const char *const *)a->rule_files, a->nrule_files, cx->diag);
}

void cfg_alerts_section(cfg_ctx *cx, ev_alerts_cfg **dst, const char *cfg_path, const yaml_node_t *k,
                        const yaml_node_t *v, const char *label)
{
    ev_alerts_cfg *a = calloc(1, sizeof *a);
    if (!a) {
        cfg_error(cx, cfg_line(k), "out of memory");
        return;
    }
    a->resend_ms = 60000;
    a->webhook_timeout_ms = 5000;
    a->webhook_queue = 1000;
    ev_alerts_cfg_free(*dst);
    *dst = a;
    if (cfg_expect_map(cx, k, v, label))
        cfg_read_map(cx, v, &alerts_table, a, label, NULL);
    const char *sd = getenv("STATE_DIRECTORY"); /* systemd StateDirectory= */
    if (!a->state_file && sd && *sd && !strchr(sd, ':') && asprintf(&a->state_file, "%s/alerts.json", sd) < 0)
        a->state_file = NULL;
    if (a->state_file && a->state_file[0] != '/') {
        char *p = relative_to(cfg_path, a->state_file);
        free(a->state_file);
        a->state_file = p;
    }
    load_rules(cx, a, cfg_path, cfg_line(k));
}

void cfg_read_alerts(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_config *c = obj;
    cfg_alerts_section(cx, &c->alerts, c->path, k, v, label);
}

void ev_alerts_cfg_free(ev_alerts_cfg *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->nrule_files; i++)
        free(a->rule_files[i]);
    free(a->rule_files);
    for (size_t i = 0; i < a->nwebhooks; i++)
        free(a->webhooks[i]);
    free(a->webhooks);
    free(a->state_file);
    ev_alert_rules_free(&a->rules);
    free(a);
}
