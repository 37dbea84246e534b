/*
 * config_hub.c - the hub's YAML file -> ev_hub_config (hub_config.h).
 *
 * Same machinery as the agent's file (config_read.h: one table per
 * section, FILE:LINE errors naming the field, "did you mean"); the
 * influxdb section is the agent's own reader (config.c), so both files
 * accept the same keys and the hub writes through the same InfluxDB
 * output; `spool:`, `http:` and `alerts:` are the agent's sections too
 * (config_spool.c, config_http.c, config_alerts.c), read into the same
 * ev_config. Checks that span keys
 * run once the sections are read: the hub id is required, site names
 * are unique and cannot be the topic levels the hub itself uses, halls
 * are unique within a site.
 */
#include "agent/hub_config.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "agent/alert_cfg.h"
#include "agent/config_http.h"
#include "agent/config_read.h"
#include "agent/config_spool.h"

/* Topic levels under the prefix that are not sites. */
static const char *const reserved_sites[] = {"agents", "cluster", "hubs"};

double ev_parse_power_w(const char *s)
{
    static const struct {
        const char *unit;
        double w;
    } units[] = {{"", 1}, {"W", 1}, {"kW", 1e3}, {"MW", 1e6}, {"GW", 1e9}};
    if (!s || !(isdigit((unsigned char)*s) || (*s == '.' && isdigit((unsigned char)s[1]))))
        return -1;
    char *end;
    double v = strtod(s, &end);
    while (*end == ' ')
        end++;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcmp(end, units[i].unit) && isfinite(v * units[i].w))
            return v * units[i].w;
    return -1;
}

static void read_power(cfg_ctx *cx, double *dst, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    const char *t = cfg_scalar(cx, k, v, label, "a power");
    if (!t)
        return;
    double w = ev_parse_power_w(t);
    if (w <= 0) {
        cfg_error(cx, cfg_line(v), "%s: bad power '%s' (expected e.g. 2GW, 1.5MW, 800kW, 500W or watts)", label, t);
        return;
    }
    *dst = w;
}

/* ---- hub, mqtt, influxdb, cluster ------------------------------------- */

static const cfg_field hub_fields[] = {
    {.key = "id", .kind = K_NAME, .off = offsetof(ev_hub_config, id), .required = true},
    {.key = "interval", .kind = K_DURATION, .off = offsetof(ev_hub_config, interval_ms), .min = 100, .max = 3600000},
    {.key = "stale_after", .kind = K_DURATION, .off = offsetof(ev_hub_config, stale_after_ms), .min = 1000,
     .max = 86400000},
};
static const cfg_table hub_table = {FIELDS(hub_fields), NULL, NULL};

static void mqtt_prefix(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    cfg_mqtt_topic_prefix(cx, &((ev_hub_config *)obj)->mqtt, k, v, label);
}

static const cfg_field mqtt_fields[] = {
    {.key = "url", .kind = K_STR, .off = offsetof(ev_hub_config, mqtt.url)},
    {.key = "group", .kind = K_NAME, .off = offsetof(ev_hub_config, group)},
    {.key = "client_id", .kind = K_STR, .off = offsetof(ev_hub_config, mqtt.client_id)},
    {.key = "username", .kind = K_STR, .off = offsetof(ev_hub_config, mqtt.username)},
    {.key = "password", .kind = K_STR, .off = offsetof(ev_hub_config, mqtt.password), .secret = true},
    {.key = "ca_file", .kind = K_STR, .off = offsetof(ev_hub_config, mqtt.ca_file)},
    {.key = "topic_prefix", .kind = K_CUSTOM, .fn = mqtt_prefix},
    {.key = "qos", .kind = K_INT, .off = offsetof(ev_hub_config, mqtt.qos), .min = 0, .max = 2},
};
static const cfg_table mqtt_table = {FIELDS(mqtt_fields), NULL, NULL};

static void top_hub(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_hub_config *c = obj;
    unsigned seen[MAX_KEYS] = {0};
    cx->agent_line = cfg_line(k); /* the hub section's line, for "missing id" */
    if (cfg_expect_map(cx, k, v, label))
        cfg_read_map(cx, v, &hub_table, c, label, seen);
    if (!seen[cfg_key_at(&hub_table, "id")])
        cfg_error(cx, cfg_line(k), "hub: missing required field 'id'");
}

static void top_mqtt(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    static const char *const schemes[] = {"tcp", "mqtt", "ssl", "mqtts", "ws", "wss", NULL};
    ev_hub_config *c = obj;
    unsigned seen[MAX_KEYS] = {0};
    if (cfg_expect_map(cx, k, v, label))
        cfg_read_map(cx, v, &mqtt_table, c, label, seen);
    size_t at = cfg_key_at(&mqtt_table, "url");
    if (c->mqtt.url)
        cfg_check_url(cx, c->mqtt.url, seen[at] ? seen[at] : cfg_line(k), "mqtt.url", schemes,
                      "tcp://, ssl://, mqtt://, mqtts://, ws:// or wss://");
}

static void top_influx(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    cfg_influx_section(cx, &((ev_hub_config *)obj)->store->influx, k, v, label);
}

static void cluster_target(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    read_power(cx, &((ev_hub_config *)obj)->target_w, k, v, label);
}

static const cfg_field cluster_fields[] = {
    {.key = "name", .kind = K_NAME, .off = offsetof(ev_hub_config, cluster_name)},
    {.key = "target", .kind = K_CUSTOM, .fn = cluster_target},
};
static const cfg_table cluster_table = {FIELDS(cluster_fields), NULL, NULL};

static void top_cluster(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    if (cfg_expect_map(cx, k, v, label))
        cfg_read_map(cx, v, &cluster_table, obj, label, NULL);
}

/* ---- sites ------------------------------------------------------------ */

static void site_grid(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    read_power(cx, &((ev_hub_site_cfg *)obj)->grid_capacity_w, k, v, label);
}

static void site_halls(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_hub_site_cfg *s = obj;
    char b[80];
    if (cfg_is_null(v))
        return;
    if (v->type != YAML_SEQUENCE_NODE) {
        cfg_error(cx, cfg_line(k), "%s: expected a list of hall names, got %s", label, cfg_describe(v, b, sizeof b));
        return;
    }
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    s->halls = calloc(n ? n : 1, sizeof *s->halls);
    if (!s->halls) {
        cfg_error(cx, cfg_line(k), "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *h = cfg_node(cx, v->data.sequence.items.start[i]);
        const char *t = cfg_scalar(cx, h, h, label, "a hall name");
        if (!t)
            continue;
        if (strpbrk(t, "/+# \t")) {
            cfg_error(cx, cfg_line(h), "%s: hall '%s' must not contain '/', '+', '#' or blanks", label, t);
            continue;
        }
        bool dup = false;
        for (size_t j = 0; j < s->nhalls && !dup; j++)
            dup = !strcmp(s->halls[j], t);
        if (dup) {
            cfg_error(cx, cfg_line(h), "%s: hall '%s' listed twice", label, t);
            continue;
        }
        s->halls[s->nhalls++] = cfg_strdup(cx, cfg_line(h), t);
    }
}

static const cfg_field site_fields[] = {
    {.key = "name", .kind = K_NAME, .off = offsetof(ev_hub_site_cfg, name), .required = true},
    {.key = "grid_capacity", .kind = K_CUSTOM, .fn = site_grid},
    {.key = "halls", .kind = K_CUSTOM, .fn = site_halls},
};
static const cfg_table site_table = {FIELDS(site_fields), NULL, NULL};

static void check_site_name(cfg_ctx *cx, const ev_hub_config *c, size_t idx, unsigned line)
{
    const char *name = c->sites[idx].name;
    for (size_t i = 0; i < sizeof reserved_sites / sizeof reserved_sites[0]; i++)
        if (!strcmp(name, reserved_sites[i]))
            cfg_error(cx, line, "site '%s': the name is reserved (it is a topic level of its own under the prefix)",
                      name);
    for (size_t i = 0; i < idx; i++)
        if (c->sites[i].name && !strcmp(c->sites[i].name, name))
            cfg_error(cx, line, "site '%s': duplicate site name (first at line %u)", name, c->sites[i].line);
}

static void top_sites(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_hub_config *c = obj;
    char b[80], sect[64];
    if (cfg_is_null(v))
        return;
    if (v->type != YAML_SEQUENCE_NODE) {
        cfg_error(cx, cfg_line(k), "sites: expected a list, got %s", cfg_describe(v, b, sizeof b));
        return;
    }
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    c->sites = calloc(n ? n : 1, sizeof *c->sites);
    if (!c->sites) {
        cfg_error(cx, cfg_line(k), "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = cfg_node(cx, v->data.sequence.items.start[i]);
        ev_hub_site_cfg *s = &c->sites[c->nsites++];
        unsigned seen[MAX_KEYS] = {0};
        s->line = cfg_line(item);
        if (item->type != YAML_MAPPING_NODE) {
            cfg_error(cx, s->line, "sites: item %zu: expected a mapping, got %s", i + 1, cfg_describe(item, b, sizeof b));
            continue;
        }
        snprintf(sect, sizeof sect, "site #%zu:", i + 1);
        cfg_read_map(cx, item, &site_table, s, sect, seen);
        if (!seen[cfg_key_at(&site_table, "name")])
            cfg_error(cx, s->line, "%s missing required field 'name'", sect);
        else if (s->name)
            check_site_name(cx, c, c->nsites - 1, s->line);
    }
}

/* ---- http, alerts: the agent's readers, into the hub's ev_config ------ */

static void top_http(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    cfg_read_http(cx, ((ev_hub_config *)obj)->store, k, v, label);
}

static void top_alerts(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_hub_config *c = obj;
    cfg_alerts_section(cx, &c->store->alerts, c->path, k, v, label);
}

/* spool: the agent's reader and defaults; the InfluxDB writer keeps what the
 * store cannot take in <dir>/influx (outputs/spool_dir.c). */
static void top_spool(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    cfg_top_spool(cx, ((ev_hub_config *)obj)->store, k, v, label);
}

static const cfg_field top_fields[] = {
    {.key = "hub", .kind = K_CUSTOM, .fn = top_hub},
    {.key = "mqtt", .kind = K_CUSTOM, .fn = top_mqtt},
    {.key = "influxdb", .kind = K_CUSTOM, .fn = top_influx},
    {.key = "spool", .kind = K_CUSTOM, .fn = top_spool},
    {.key = "cluster", .kind = K_CUSTOM, .fn = top_cluster},
    {.key = "sites", .kind = K_CUSTOM, .fn = top_sites},
    {.key = "http", .kind = K_CUSTOM, .fn = top_http},
    {.key = "alerts", .kind = K_CUSTOM, .fn = top_alerts},
};
static const cfg_table top_table = {FIELDS(top_fields), NULL, NULL};

/* ---- the file ------------------------------------------------------------ */

static ev_hub_config *hub_config_new(cfg_ctx *cx, const char *path)
{
    ev_hub_config *c = calloc(1, sizeof *c);
    if (!c || !(c->store = calloc(1, sizeof *c->store))) {
        free(c);
        return NULL;
    }
    c->path = cfg_strdup(cx, 0, path);
    c->interval_ms = 10000;
    c->stale_after_ms = 120000;
    c->mqtt = (ev_mqtt_cfg){.enabled = true, .qos = 1};
    c->mqtt.url = cfg_strdup(cx, 0, "tcp://127.0.0.1:1883");
    c->mqtt.topic_prefix = cfg_strdup(cx, 0, "evalley");
    c->group = cfg_strdup(cx, 0, EV_HUB_DEFAULT_GROUP);
    cfg_influx_defaults(cx, &c->store->influx);
    c->store->influx.enabled = true;
    cfg_spool_defaults(&c->store->spool);
    c->cluster_name = cfg_strdup(cx, 0, "cluster");
    c->target_w = EV_HUB_DEFAULT_TARGET_W;
    return c;
}

static void read_hub(cfg_ctx *cx, ev_hub_config *c, const yaml_node_t *root)
{
    char b[80];
    if (!root || cfg_is_null(root)) {
        cfg_error(cx, 1, "empty hub config file (expected hub:, mqtt:, influxdb:, cluster: and sites:)");
        return;
    }
    if (root->type != YAML_MAPPING_NODE) {
        cfg_error(cx, cfg_line(root), "expected a mapping at top level (hub:, mqtt:, influxdb:, cluster:, sites:), "
                  "got %s", cfg_describe(root, b, sizeof b));
        return;
    }
    cfg_read_map(cx, root, &top_table, c, "", NULL);
    if (!cx->agent_line)
        cfg_error(cx, 1, "missing required section 'hub' (with id)");
    if (!c->mqtt.client_id && c->id)
        c->mqtt.client_id = cfg_strdup(cx, 0, c->id);
    if (c->id) /* the identity the HTTP view shows (http.h reads an ev_config) */
        c->store->agent_id = cfg_strdup(cx, 0, c->id);
    c->store->interval_ms = c->interval_ms;
}

ev_hub_config *ev_hub_config_load(const char *path, ev_diag *diag)
{
    cfg_ctx cx = {.file = path, .diag = diag};
    yaml_document_t doc;
    ev_hub_config *c = NULL;

    if (cfg_load_yaml(&cx, path, &doc)) {
        c = hub_config_new(&cx, path);
        if (c)
            read_hub(&cx, c, yaml_document_get_root_node(&doc));
        else
            cfg_error(&cx, 0, "out of memory");
        yaml_document_delete(&doc);
    }
    cfg_flush_errors(&cx);
    if (cx.nerr) {
        ev_hub_config_free(c);
        return NULL;
    }
    return c;
}

void ev_hub_config_free(ev_hub_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nsites; i++) {
        for (size_t j = 0; j < c->sites[i].nhalls; j++)
            free(c->sites[i].halls[j]);
        free(c->sites[i].halls);
        free(c->sites[i].name);
    }
    free(c->sites);
    ev_config_free(c->store);
    free(c->mqtt.url);
    free(c->mqtt.client_id);
    free(c->mqtt.username);
    free(c->mqtt.password);
    free(c->mqtt.ca_file);
    free(c->mqtt.topic_prefix);
    free(c->group);
    free(c->path);
    free(c->id);
    free(c->cluster_name);
    free(c);
}

ev_config_kind ev_config_kind_of(const char *path)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    ev_config_kind kind = EV_CONFIG_UNREADABLE;
    FILE *f = fopen(path, "rb");
    if (!f)
        return kind;
    if (yaml_parser_initialize(&parser)) {
        yaml_parser_set_input_file(&parser, f);
        if (yaml_parser_load(&parser, &doc)) {
            const yaml_node_t *root = yaml_document_get_root_node(&doc);
            if (root && root->type == YAML_MAPPING_NODE) {
                kind = EV_CONFIG_NEITHER;
                for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
                    const yaml_node_t *k = yaml_document_get_node(&doc, p->key);
                    const char *key = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";
                    if (!strcmp(key, "hub"))
                        kind = EV_CONFIG_HUB;
                    else if (!strcmp(key, "agent") && kind == EV_CONFIG_NEITHER)
                        kind = EV_CONFIG_AGENT;
                }
            }
            yaml_document_delete(&doc);
        }
        yaml_parser_delete(&parser);
    }
    fclose(f);
    return kind;
}

bool ev_hub_config_detect(const char *path)
{
    return ev_config_kind_of(path) == EV_CONFIG_HUB;
}
