/*
 * config.c - the agent's YAML file -> a typed ev_config (config.h), every
 * problem reported as "FILE:LINE: message" naming the field.
 *
 * libyaml builds the document tree (yaml_parser_load keeps each node's
 * line); this file walks it with one small table per section - agent,
 * snmp, outputs.influxdb, outputs.mqtt, devices[] - so each key is
 * described once: its name, its kind and where its value goes. Unknown
 * keys get a "did you mean" from the section's table. Checks that span
 * keys (required fields, SNMPv3 user and passwords, profile names,
 * duplicate device names) run once a section is read. Errors are counted,
 * never fatal, so one run shows them all; a file with any error yields no
 * config at all.
 *
 * Order of work: file -> YAML tree -> agent/snmp/outputs -> profiles
 * (profile.h, from agent.profiles_dir) -> devices (each starts from the
 * snmp defaults, then its own overrides) -> duplicate names.
 */
#include "agent/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <yaml.h>

#include "agent/alert_cfg.h"
#include "agent/config_http.h"
#include "agent/config_modbus.h"
#include "agent/config_inventory.h"
#include "agent/config_read.h"
#include "agent/config_topology.h"
#include "agent/config_topology_read.h"
#include "agent/config_spool.h"
#include "agent/profile.h"

/* ---- snmp ------------------------------------------------------------- */

static const struct {
    const char *name, *canon;
} auth_protos[] = {{"MD5", "MD5"},         {"SHA", "SHA"},         {"SHA1", "SHA"},
                   {"SHA-1", "SHA"},       {"SHA-224", "SHA-224"}, {"SHA-256", "SHA-256"},
                   {"SHA-384", "SHA-384"}, {"SHA-512", "SHA-512"}},
  priv_protos[] = {{"DES", "DES"},         {"AES", "AES"},         {"AES-128", "AES"},
                   {"AES128", "AES"},      {"AES-192", "AES-192"}, {"AES192", "AES-192"},
                   {"AES-256", "AES-256"}, {"AES256", "AES-256"}};

static void snmp_version(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_snmp_cfg *s = obj;
    const char *t = cfg_scalar(cx, k, v, label, "1, 2c or 3");
    if (!t)
        return;
    if (!strcmp(t, "1"))
        s->version = EV_SNMP_V1;
    else if (!strcasecmp(t, "2c"))
        s->version = EV_SNMP_V2C;
    else if (!strcmp(t, "3"))
        s->version = EV_SNMP_V3;
    else
        cfg_error(cx, cfg_line(v), "%s: bad SNMP version '%s' (expected 1, 2c or 3)", label, t);
}

static void snmp_level(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    static const char *names[] = {"noAuthNoPriv", "authNoPriv", "authPriv"};
    ev_snmp_cfg *s = obj;
    const char *t = cfg_scalar(cx, k, v, label, "a security level");
    if (!t)
        return;
    for (int i = 0; i < 3; i++)
        if (!strcasecmp(t, names[i])) {
            s->level = (ev_sec_level)i;
            return;
        }
    cfg_error(cx, cfg_line(v), "%s: bad security level '%s' (expected noAuthNoPriv, authNoPriv or authPriv)", label,
        t);
}

static void snmp_proto(cfg_ctx *cx, char **dst, const yaml_node_t *k, const yaml_node_t *v, const char *label,
                       bool auth)
{
    const char *t = cfg_scalar(cx, k, v, label, "a protocol name");
    if (!t)
        return;
    size_t n = auth ? sizeof auth_protos / sizeof auth_protos[0] : sizeof priv_protos / sizeof priv_protos[0];
    for (size_t i = 0; i < n; i++) {
        const char *name = auth ? auth_protos[i].name : priv_protos[i].name;
        if (!strcasecmp(t, name)) {
            free(*dst);
            *dst = cfg_strdup(cx, cfg_line(v), auth ? auth_protos[i].canon : priv_protos[i].canon);
            return;
        }
    }
    if (auth)
        cfg_error(cx, cfg_line(v), "%s: unknown auth protocol '%s' (expected MD5, SHA, SHA-224, SHA-256, SHA-384 "
            "or SHA-512)", label, t);
    else
        cfg_error(cx, cfg_line(v), "%s: unknown priv protocol '%s' (expected DES, AES, AES-192 or AES-256)", label, t);
}

static void snmp_auth_proto(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v,
                            const char *label)
{
    snmp_proto(cx, &((ev_snmp_cfg *)obj)->auth_protocol, k, v, label, true);
}

static void snmp_priv_proto(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v,
                            const char *label)
{
    snmp_proto(cx, &((ev_snmp_cfg *)obj)->priv_protocol, k, v, label, false);
}

/* net-snmp refuses pass phrases shorter than 8 characters (USM_LENGTH_P_MIN).
 * A short one is still kept, so no "needs auth_password" follows from it. */
static void snmp_password(cfg_ctx *cx, char **dst, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    const char *t = cfg_scalar(cx, k, v, label, "a string");
    if (!t)
        return;
    if (strlen(t) < 8)
        cfg_error(cx, cfg_line(v), "%s: too short (%zu characters; net-snmp needs at least 8)", label, strlen(t));
    free(*dst);
    *dst = cfg_strdup(cx, cfg_line(v), t);
}

static void snmp_auth_pw(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    snmp_password(cx, &((ev_snmp_cfg *)obj)->auth_password, k, v, label);
}

static void snmp_priv_pw(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    snmp_password(cx, &((ev_snmp_cfg *)obj)->priv_password, k, v, label);
}

static const cfg_field snmp_fields[] = {
    {.key = "version", .kind = K_CUSTOM, .fn = snmp_version},
    {.key = "community", .kind = K_STR, .off = offsetof(ev_snmp_cfg, community), .secret = true},
    {.key = "timeout", .kind = K_DURATION, .off = offsetof(ev_snmp_cfg, timeout_ms), .min = 10, .max = 600000},
    {.key = "retries", .kind = K_UINT, .off = offsetof(ev_snmp_cfg, retries), .min = 0, .max = 20},
    {.key = "level", .kind = K_CUSTOM, .fn = snmp_level},
    {.key = "max_repetitions", .kind = K_UINT, .off = offsetof(ev_snmp_cfg, max_repetitions), .min = 1, .max = 1000},
    {.key = "user", .kind = K_STR, .off = offsetof(ev_snmp_cfg, user)},
    {.key = "auth_protocol", .kind = K_CUSTOM, .fn = snmp_auth_proto},
    {.key = "auth_password", .kind = K_CUSTOM, .fn = snmp_auth_pw, .secret = true},
    {.key = "priv_protocol", .kind = K_CUSTOM, .fn = snmp_priv_proto},
    {.key = "priv_password", .kind = K_CUSTOM, .fn = snmp_priv_pw, .secret = true},
};
static const cfg_table snmp_table = {FIELDS(snmp_fields), NULL, NULL};

/* Read an snmp: mapping over s (which holds the defaults to override).
 * Returns whether it set the security level explicitly. */
static bool read_snmp(cfg_ctx *cx, ev_snmp_cfg *s, const yaml_node_t *k, const yaml_node_t *v, const char *sect)
{
    unsigned seen[MAX_KEYS] = {0};
    if (!cfg_expect_map(cx, k, v, sect))
        return false;
    cfg_read_map(cx, v, &snmp_table, s, sect, seen);
    return seen[cfg_key_at(&snmp_table, "level")] != 0;
}

/* Fill what follows from the rest: the level from which passwords are
 * given, SHA-256/AES when a level needs a protocol and none is named. */
static void snmp_finish(cfg_ctx *cx, ev_snmp_cfg *s, bool level_set)
{
    if (!level_set)
        s->level = s->priv_password ? EV_SEC_AUTHPRIV : s->auth_password ? EV_SEC_AUTHNOPRIV : EV_SEC_NOAUTH;
    if (s->level >= EV_SEC_AUTHNOPRIV && !s->auth_protocol)
        s->auth_protocol = cfg_strdup(cx, 0, "SHA-256");
    if (s->level == EV_SEC_AUTHPRIV && !s->priv_protocol)
        s->priv_protocol = cfg_strdup(cx, 0, "AES");
}

/* Checks that span keys, on the settings a device will really use. */
static void snmp_check(cfg_ctx *cx, const ev_snmp_cfg *s, unsigned line, const char *sect)
{
    if (s->version != EV_SNMP_V3) {
        if (!s->community)
            cfg_error(cx, line, "%s: SNMPv%s needs a community", sect, s->version == EV_SNMP_V1 ? "1" : "2c");
        return;
    }
    if (!s->user)
        cfg_error(cx, line, "%s: SNMPv3 needs a user (snmp.user)", sect);
    bool need_auth = s->level >= EV_SEC_AUTHNOPRIV && !s->auth_password;
    bool need_priv = s->level == EV_SEC_AUTHPRIV && !s->priv_password;
    if (need_auth || need_priv)
        cfg_error(cx, line, "%s: security level %s needs %s%s%s", sect,
            s->level == EV_SEC_AUTHPRIV ? "authPriv" : "authNoPriv", need_auth ? "auth_password" : "",
            need_auth && need_priv ? " and " : "", need_priv ? "priv_password" : "");
}

static void snmp_init(cfg_ctx *cx, ev_snmp_cfg *s)
{
    *s = (ev_snmp_cfg){.version = EV_SNMP_V2C, .timeout_ms = 2000, .retries = 1, .max_repetitions = 25};
    s->community = cfg_strdup(cx, 0, "public");
}

static void snmp_copy(cfg_ctx *cx, ev_snmp_cfg *dst, const ev_snmp_cfg *src)
{
    *dst = *src;
    dst->community = cfg_strdup(cx, 0, src->community);
    dst->user = cfg_strdup(cx, 0, src->user);
    dst->auth_protocol = cfg_strdup(cx, 0, src->auth_protocol);
    dst->auth_password = cfg_strdup(cx, 0, src->auth_password);
    dst->priv_protocol = cfg_strdup(cx, 0, src->priv_protocol);
    dst->priv_password = cfg_strdup(cx, 0, src->priv_password);
}

static void snmp_free(ev_snmp_cfg *s)
{
    free(s->community);
    free(s->user);
    free(s->auth_protocol);
    free(s->auth_password);
    free(s->priv_protocol);
    free(s->priv_password);
}

/* ---- outputs ---------------------------------------------------------- */

/* Check a URL with libcurl's parser; its scheme must be one of schemes[]. */
void cfg_check_url(cfg_ctx *cx, const char *url, unsigned line, const char *label, const char *const *schemes,
                   const char *expected)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;

    if (!u) {
        cfg_error(cx, line, "out of memory");
        return;
    }
    CURLUcode rc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
    if (rc != CURLUE_OK) {
        cfg_error(cx, line, "%s: bad URL '%s' (%s; expected %s)", label, url, curl_url_strerror(rc), expected);
        goto out;
    }
    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    curl_url_get(u, CURLUPART_HOST, &host, 0);
    bool known = false;
    for (size_t i = 0; scheme && schemes[i]; i++)
        known |= !strcasecmp(scheme, schemes[i]);
    if (!known || !strstr(url, "://"))
        cfg_error(cx, line, "%s: bad URL scheme in '%s' (expected %s)", label, url, expected);
    else if (!host || !*host)
        cfg_error(cx, line, "%s: no host in URL '%s'", label, url);
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
}

static const cfg_field influx_fields[] = {
    {.key = "enabled", .kind = K_BOOL, .off = offsetof(ev_influx_cfg, enabled)},
    {.key = "url", .kind = K_STR, .off = offsetof(ev_influx_cfg, url)},
    {.key = "database", .kind = K_STR, .off = offsetof(ev_influx_cfg, database)},
    {.key = "username", .kind = K_STR, .off = offsetof(ev_influx_cfg, username)},
    {.key = "password", .kind = K_STR, .off = offsetof(ev_influx_cfg, password), .secret = true},
    {.key = "batch_size", .kind = K_UINT, .off = offsetof(ev_influx_cfg, batch_size), .min = 1, .max = 1000000},
    {.key = "timeout", .kind = K_DURATION, .off = offsetof(ev_influx_cfg, timeout_ms), .min = 10, .max = 600000},
    {.key = "gzip", .kind = K_BOOL, .off = offsetof(ev_influx_cfg, gzip)},
    {.key = "max_queue", .kind = K_UINT, .off = offsetof(ev_influx_cfg, max_queue), .min = 1, .max = 100000000},
    {.key = "token", .kind = K_STR, .off = offsetof(ev_influx_cfg, token), .secret = true},
    {.key = "org", .kind = K_STR, .off = offsetof(ev_influx_cfg, org)},
    {.key = "bucket", .kind = K_STR, .off = offsetof(ev_influx_cfg, bucket)},
    {.key = "ca_file", .kind = K_STR, .off = offsetof(ev_influx_cfg, ca_file)},
};
static const cfg_table influx_table = {FIELDS(influx_fields), NULL, NULL};

/* An influxdb: section into in (also the hub's, config_hub.c). */
void cfg_influx_section(cfg_ctx *cx, ev_influx_cfg *in, const yaml_node_t *k, const yaml_node_t *v,
                        const char *label)
{
    static const char *const schemes[] = {"http", "https", NULL};
    unsigned seen[MAX_KEYS] = {0};
    char url_label[300];

    in->enabled = true;
    if (cfg_expect_map(cx, k, v, label))
        cfg_read_map(cx, v, &influx_table, in, label, seen);
    if (in->url) {
        size_t n = strlen(in->url);
        while (n > 1 && in->url[n - 1] == '/') /* the output appends /write */
            in->url[--n] = 0;
        size_t at = cfg_key_at(&influx_table, "url");
        snprintf(url_label, sizeof url_label, "%s.url", label);
        cfg_check_url(cx, in->url, seen[at] ? seen[at] : cfg_line(k), url_label, schemes, "http:// or https://");
    }
}

static void out_influx(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    cfg_influx_section(cx, &((ev_config *)obj)->influx, k, v, label);
}

void cfg_influx_defaults(cfg_ctx *cx, ev_influx_cfg *in)
{
    *in = (ev_influx_cfg){.batch_size = 5000, .timeout_ms = 5000, .gzip = true, .max_queue = 100000};
    in->url = cfg_strdup(cx, 0, "http://127.0.0.1:8086");
    in->database = cfg_strdup(cx, 0, "evmon");
}

void cfg_mqtt_topic_prefix(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_mqtt_cfg *m = obj;
    const char *t = cfg_scalar(cx, k, v, label, "a string");
    if (!t)
        return;
    size_t n = strlen(t);
    if (strpbrk(t, "+#") || t[0] == '/' || t[n - 1] == '/' || strstr(t, "//")) {
        cfg_error(cx, cfg_line(v), "%s: bad topic prefix '%s' (no wildcards, no empty levels)", label, t);
        return;
    }
    free(m->topic_prefix);
    m->topic_prefix = cfg_strdup(cx, cfg_line(v), t);
}

static const cfg_field mqtt_fields[] = {
    {.key = "enabled", .kind = K_BOOL, .off = offsetof(ev_mqtt_cfg, enabled)},
    {.key = "url", .kind = K_STR, .off = offsetof(ev_mqtt_cfg, url)},
    {.key = "client_id", .kind = K_STR, .off = offsetof(ev_mqtt_cfg, client_id)},
    {.key = "username", .kind = K_STR, .off = offsetof(ev_mqtt_cfg, username)},
    {.key = "password", .kind = K_STR, .off = offsetof(ev_mqtt_cfg, password), .secret = true},
    {.key = "topic_prefix", .kind = K_CUSTOM, .fn = cfg_mqtt_topic_prefix},
    {.key = "qos", .kind = K_INT, .off = offsetof(ev_mqtt_cfg, qos), .min = 0, .max = 2},
    {.key = "ca_file", .kind = K_STR, .off = offsetof(ev_mqtt_cfg, ca_file)},
};
static const cfg_table mqtt_table = {FIELDS(mqtt_fields), NULL, NULL};

static void out_mqtt(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    static const char *const schemes[] = {"tcp", "mqtt", "ssl", "mqtts", "ws", "wss", NULL};
    ev_mqtt_cfg *m = &((ev_config *)obj)->mqtt;
    unsigned seen[MAX_KEYS] = {0};

    m->enabled = true;
    if (cfg_expect_map(cx, k, v, label))
        cfg_read_map(cx, v, &mqtt_table, m, label, seen);
    size_t at = cfg_key_at(&mqtt_table, "url");
    if (m->url)
        cfg_check_url(cx, m->url, seen[at] ? seen[at] : cfg_line(k), "outputs.mqtt.url", schemes,
                  "tcp://, ssl://, mqtt://, mqtts://, ws:// or wss://");
}

static const cfg_field outputs_fields[] = {
    {.key = "influxdb", .kind = K_CUSTOM, .fn = out_influx},
    {.key = "mqtt", .kind = K_CUSTOM, .fn = out_mqtt},
};
static const cfg_table outputs_table = {FIELDS(outputs_fields), NULL, NULL};

/* ---- devices ---------------------------------------------------------- */

/* A device while it is read: the ev_device_cfg plus where its snmp came from. */
typedef struct {
    ev_device_cfg d;
    unsigned snmp_line; /* line of its own "snmp:" key, 0 if it has none */
    bool level_set;
} dev_in;

/* "host", "host:port", "[v6]", "[v6]:port". NULL when fine, else why not. */
static const char *address_problem(const char *a, char *why, size_t len)
{
    char host[256];
    const char *port = NULL;

    if (a[0] == '[') {
        const char *close = strchr(a, ']');
        struct in6_addr in6;
        if (!close)
            return "missing ']' after the IPv6 address";
        snprintf(host, sizeof host, "%.*s", (int)(close - a - 1), a + 1);
        if (inet_pton(AF_INET6, host, &in6) != 1) {
            snprintf(why, len, "bad IPv6 address '%.80s'", host);
            return why;
        }
        if (close[1] && close[1] != ':')
            return "expected ':PORT' after ']'";
        port = close[1] ? close + 2 : NULL;
    } else {
        const char *colon = strchr(a, ':');
        if (colon && strchr(colon + 1, ':'))
            return "an IPv6 address needs brackets, e.g. [2001:db8::1]:161";
        if (colon == a)
            return "no host before ':'";
        if (strpbrk(a, " \t/"))
            return "blanks or '/' in host";
        port = colon ? colon + 1 : NULL;
    }
    unsigned long long p;
    if (port && (!cfg_parse_uint(port, &p) || p < 1 || p > 65535)) {
        snprintf(why, len, "bad port '%.20s' (expected 1..65535)", port);
        return why;
    }
    return NULL;
}

static void dev_address(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_device_cfg *d = &((dev_in *)obj)->d;
    char why[128];
    const char *t = cfg_scalar(cx, k, v, label, "host[:port]");
    if (!t)
        return;
    const char *problem = address_problem(t, why, sizeof why);
    if (problem) {
        cfg_error(cx, cfg_line(v), "%s '%s': %s", label, t, problem);
        return;
    }
    free(d->address);
    d->address = cfg_strdup(cx, cfg_line(v), t);
}

static void dev_role(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_device_cfg *d = &((dev_in *)obj)->d;
    const char *t = cfg_scalar(cx, k, v, label, "a role");
    if (!t)
        return;
    for (ev_role r = EV_ROLE_IT; r <= EV_ROLE_OTHER; r++)
        if (!strcasecmp(t, ev_role_name(r))) {
            d->role = r;
            return;
        }
    cfg_error(cx, cfg_line(v), "%s: bad role '%s' (expected it, facility, cooling or other)", label, t);
}

static void dev_feed(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_device_cfg *d = &((dev_in *)obj)->d;
    const char *t = cfg_scalar(cx, k, v, label, "A or B");
    if (!t)
        return;
    if (strcasecmp(t, "A") && strcasecmp(t, "B")) {
        cfg_error(cx, cfg_line(v), "%s: bad feed '%s' (expected A or B)", label, t);
        return;
    }
    free(d->feed);
    d->feed = cfg_strdup(cx, cfg_line(v), toupper((unsigned char)t[0]) == 'A' ? "A" : "B");
}

static void dev_snmp(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    dev_in *di = obj;
    di->snmp_line = cfg_line(k);
    di->level_set |= read_snmp(cx, &di->d.snmp, k, v, label);
}

static const cfg_field dev_fields[] = {
    {.key = "name", .kind = K_NAME, .off = offsetof(dev_in, d.name), .required = true},
    {.key = "profile", .kind = K_STR, .off = offsetof(dev_in, d.profile_name), .required = true},
    {.key = "address", .kind = K_CUSTOM, .fn = dev_address, .required = true},
    {.key = "role", .kind = K_CUSTOM, .fn = dev_role},
    {.key = "row", .kind = K_STR, .off = offsetof(dev_in, d.row)},
    {.key = "rack", .kind = K_STR, .off = offsetof(dev_in, d.rack)},
    {.key = "feed", .kind = K_CUSTOM, .fn = dev_feed},
    {.key = "category", .kind = K_UINT, .off = offsetof(dev_in, d.category), .min = 1, .max = 3},
    {.key = "snmp", .kind = K_CUSTOM, .fn = dev_snmp},
    {.key = "modbus", .kind = K_CUSTOM, .fn = cfg_modbus_device}, /* obj: dev_in, d first */
};
static const cfg_table dev_table = {FIELDS(dev_fields), &snmp_table, "snmp"};

/* Up to 12 names of the loaded profiles, for "unknown profile" errors. */
static void profile_names(const ev_profile_set *set, char *buf, size_t len)
{
    size_t n = ev_profiles_count(set), used = 0;
    buf[0] = 0;
    if (!n) {
        snprintf(buf, len, "no profiles there");
        return;
    }
    for (size_t i = 0; i < n && i < 12; i++) {
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "known: ", ev_profile_name(ev_profiles_at(set, i)));
        if (w < 0 || (size_t)w >= len - used)
            return;
        used += (size_t)w;
    }
    if (n > 12)
        snprintf(buf + used, len - used, ", ... (%zu in all)", n);
}

static void resolve_profile(cfg_ctx *cx, ev_config *c, ev_device_cfg *d, unsigned line, const char *sect)
{
    if (!c->profiles) /* the directory itself failed; already reported */
        return;
    d->profile = ev_profiles_find(c->profiles, d->profile_name);
    if (d->profile)
        return;

    const char *names[64];
    size_t n = ev_profiles_count(c->profiles);
    for (size_t i = 0; i < n && i < 64; i++)
        names[i] = ev_profile_name(ev_profiles_at(c->profiles, i));
    const char *near = cfg_closest(d->profile_name, names, n < 64 ? n : 64);
    char known[600];
    profile_names(c->profiles, known, sizeof known);
    if (near)
        cfg_error(cx, line, "%s profile: unknown profile '%s' (did you mean '%s'?; looked in %s)", sect,
            d->profile_name, near, c->profiles_dir);
    else
        cfg_error(cx, line, "%s profile: unknown profile '%s' (looked in %s; %s)", sect, d->profile_name,
            c->profiles_dir, known);
}

static void read_device(cfg_ctx *cx, ev_config *c, const yaml_node_t *item, size_t idx, ev_device_cfg *out)
{
    dev_in di = {.d = {.role = EV_ROLE_IT, .line = cfg_line(item)}, .level_set = cx->snmp_level_set};
    unsigned seen[MAX_KEYS] = {0};
    char sect[160], b[80];

    snmp_copy(cx, &di.d.snmp, &c->snmp_defaults);
    cfg_modbus_copy(cx, &di.d.modbus, &c->modbus_defaults);
    if (item->type != YAML_MAPPING_NODE) {
        cfg_error(cx, cfg_line(item), "devices: item %zu: expected a mapping, got %s", idx + 1,
            cfg_describe(item, b, sizeof b));
        *out = di.d;
        return;
    }
    /* name the device in messages by its name when it has one */
    snprintf(sect, sizeof sect, "device #%zu:", idx + 1);
    for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = cfg_node(cx, p->key), *v = cfg_node(cx, p->value);
        if (k->type == YAML_SCALAR_NODE && !strcmp(cfg_text(k), "name") && v->type == YAML_SCALAR_NODE &&
            !cfg_is_null(v))
            snprintf(sect, sizeof sect, "device '%.100s':", cfg_text(v));
    }
    cfg_read_map(cx, item, &dev_table, &di, sect, seen);

    for (size_t i = 0; i < dev_table.n; i++)
        if (dev_fields[i].required && !seen[i] &&
            !(dev_fields[i].fn == dev_address && (cfg_modbus_address_optional(&di.d) || di.d.profile_name)))
            cfg_error(cx, di.d.line, "%s missing required field '%s'", sect, dev_fields[i].key);
    if (di.d.profile_name)
        resolve_profile(cx, c, &di.d, seen[cfg_key_at(&dev_table, "profile")], sect);
    if (di.d.profile && ev_profile_protocol(di.d.profile) == EV_PROTO_MODBUS)
        cfg_modbus_check(cx, &di.d, sect); /* address: required for TCP, refused for RTU */
    else if (!di.d.address && !seen[cfg_key_at(&dev_table, "address")] && di.d.profile_name)
        cfg_error(cx, di.d.line, "%s missing required field 'address'", sect);
    else if (di.d.profile)
        cfg_modbus_check(cx, &di.d, sect); /* modbus: on an SNMP profile */

    snmp_finish(cx, &di.d.snmp, di.level_set);
    if (di.snmp_line) {
        char s2[200];
        snprintf(s2, sizeof s2, "%s snmp", sect);
        snmp_check(cx, &di.d.snmp, di.snmp_line, s2);
    } else if (!cx->snmp_checked) { /* same settings as the defaults: say it once */
        cx->snmp_checked = true;
        snmp_check(cx, &di.d.snmp, cx->snmp_line ? cx->snmp_line : di.d.line, "snmp");
    }
    *out = di.d;
}

static int cmp_dev_name(const void *a, const void *b)
{
    const ev_device_cfg *x = *(const ev_device_cfg *const *)a, *y = *(const ev_device_cfg *const *)b;
    int r = strcmp(x->name, y->name);
    return r ? r : (x->line > y->line) - (x->line < y->line);
}

static int cmp_dup_line(const void *a, const void *b)
{
    const ev_device_cfg *x = ((const ev_device_cfg *const *)a)[0], *y = ((const ev_device_cfg *const *)b)[0];
    return (x->line > y->line) - (x->line < y->line);
}

/* Duplicate names, in O(n log n): sort by (name, line), compare neighbours,
 * then report in file order. pairs[] holds (duplicate, first) pairs. */
static void check_duplicates(cfg_ctx *cx, const ev_config *c)
{
    const ev_device_cfg **v = malloc((c->ndevices + 1) * sizeof *v);
    const ev_device_cfg **pairs = malloc((2 * c->ndevices + 1) * sizeof *pairs);
    size_t n = 0, np = 0;

    if (!v || !pairs) {
        cfg_error(cx, 0, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < c->ndevices; i++)
        if (c->devices[i].name)
            v[n++] = &c->devices[i];
    qsort(v, n, sizeof *v, cmp_dev_name);
    for (size_t i = 1, first = 0; i < n; i++) {
        if (strcmp(v[i]->name, v[first]->name)) {
            first = i;
            continue;
        }
        pairs[2 * np] = v[i];
        pairs[2 * np + 1] = v[first];
        np++;
    }
    qsort(pairs, np, 2 * sizeof *pairs, cmp_dup_line);
    for (size_t i = 0; i < np; i++)
        cfg_error(cx, pairs[2 * i]->line, "device '%s': duplicate device name (first at line %u)", pairs[2 * i]->name,
            pairs[2 * i + 1]->line);
out:
    free(v);
    free(pairs);
}

static void read_devices(cfg_ctx *cx, ev_config *c)
{
    const yaml_node_t *seq = cx->devices;
    char b[80];

    if (!seq || cfg_is_null(seq))
        return;
    if (seq->type != YAML_SEQUENCE_NODE) {
        cfg_error(cx, cx->devices_line, "devices: expected a list, got %s", cfg_describe(seq, b, sizeof b));
        return;
    }
    size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    for (size_t i = 0; i < n; i++) /* a device, an address range or a csv: import (config_inventory.c) */
        cfg_inventory_item(cx, c, cfg_node(cx, seq->data.sequence.items.start[i]), i, read_device);
    check_duplicates(cx, c);
}

/* ---- agent and top level ---------------------------------------------- */

static const cfg_field agent_fields[] = {
    {.key = "id", .kind = K_NAME, .off = offsetof(ev_config, agent_id), .required = true},
    {.key = "site", .kind = K_NAME, .off = offsetof(ev_config, site), .required = true},
    {.key = "hall", .kind = K_NAME, .off = offsetof(ev_config, hall), .required = true},
    {.key = "interval", .kind = K_DURATION, .off = offsetof(ev_config, interval_ms), .min = 100, .max = 86400000},
    {.key = "profiles_dir", .kind = K_STR, .off = offsetof(ev_config, profiles_dir)},
};
static const cfg_table agent_table = {FIELDS(agent_fields), NULL, NULL};

static void top_agent(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    cx->agent_line = cfg_line(k);
    if (cfg_expect_map(cx, k, v, label))
        cfg_read_map(cx, v, &agent_table, obj, label, cx->agent_seen);
    cx->profiles_dir_line = cx->agent_seen[cfg_key_at(&agent_table, "profiles_dir")];
}

static void top_snmp(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    cx->snmp_line = cfg_line(k);
    cx->snmp_level_set = read_snmp(cx, &((ev_config *)obj)->snmp_defaults, k, v, label);
}

static void top_outputs(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    if (cfg_expect_map(cx, k, v, label))
        cfg_read_map(cx, v, &outputs_table, obj, label, NULL);
}

static void top_devices(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    cx->devices = v;
    cx->devices_line = cfg_line(k);
}

static const cfg_field top_fields[] = {
    {.key = "agent", .kind = K_CUSTOM, .fn = top_agent},
    {.key = "snmp", .kind = K_CUSTOM, .fn = top_snmp},
    {.key = "modbus", .kind = K_CUSTOM, .fn = cfg_modbus_top},
    {.key = "outputs", .kind = K_CUSTOM, .fn = top_outputs},
    {.key = "spool", .kind = K_CUSTOM, .fn = cfg_top_spool},
    {.key = "devices", .kind = K_CUSTOM, .fn = top_devices},
    {.key = "topology", .kind = K_CUSTOM, .fn = cfg_topology},
    {.key = "http", .kind = K_CUSTOM, .fn = cfg_read_http},
    {.key = "alerts", .kind = K_CUSTOM, .fn = cfg_read_alerts},
};
static const cfg_table top_table = {FIELDS(top_fields), NULL, NULL};

static void check_agent(cfg_ctx *cx, const ev_config *c)
{
    if (!cx->agent_line) {
        cfg_error(cx, 1, "missing required section 'agent' (with id, site and hall)");
        return;
    }
    for (size_t i = 0; i < agent_table.n; i++)
        if (agent_fields[i].required && !cx->agent_seen[i])
            cfg_error(cx, cx->agent_line, "agent: missing required field '%s'", agent_fields[i].key);
}

/* profiles_dir: the caller's, else the file's (relative to the file's
 * directory), else the default; then load every profile in it. */
static void load_profiles(cfg_ctx *cx, ev_config *c, const char *override)
{
    char *dir = NULL;
    unsigned line = 0;

    if (override) {
        dir = strdup(override);
    } else if (c->profiles_dir && c->profiles_dir[0] != '/' && strrchr(c->path, '/')) {
        int len = (int)(strrchr(c->path, '/') - c->path); /* 0 for "/x.yaml" */
        if (asprintf(&dir, "%.*s/%s", len, c->path, c->profiles_dir) < 0)
            dir = NULL;
        line = cx->profiles_dir_line;
    } else if (c->profiles_dir) {
        dir = strdup(c->profiles_dir);
        line = cx->profiles_dir_line;
    } else {
        dir = strdup(ev_default_profiles_dir());
    }
    free(c->profiles_dir);
    c->profiles_dir = dir;
    if (!dir) {
        cfg_error(cx, line, "out of memory");
        return;
    }

    size_t before = cx->diag->n;
    errno = 0;
    c->profiles = ev_profiles_load_dir(dir, cx->diag);
    int e = errno;
    cx->nerr += cx->diag->n - before; /* a broken profile rejects the config too */
    if (c->profiles)
        return;
    if (line) /* point at the line that named it, even if the loader said why */
        cfg_error(cx, line, "agent.profiles_dir: cannot read profiles directory '%s'%s%s", dir, e ? ": " : "",
            e ? strerror(e) : "");
    else if (cx->diag->n == before)
        cfg_error(cx, 0, "cannot read profiles directory '%s'%s%s (set agent.profiles_dir, --profiles or "
            "$EVMON_PROFILES_DIR)", dir, e ? ": " : "", e ? strerror(e) : "");
}

/* Whether line (1-based) of f is indented with a tab: libyaml's "cannot
 * start any token" usually means that, and says nothing of it. */
static bool tab_indented(FILE *f, unsigned line)
{
    int ch = 0;
    rewind(f);
    for (unsigned l = 1; l < line && ch != EOF;)
        if ((ch = getc(f)) == '\n')
            l++;
    while ((ch = getc(f)) == ' ')
        ;
    return ch == '\t';
}

/* libyaml's complaint, at the line most likely at fault. */
static void syntax_error(cfg_ctx *cx, const yaml_parser_t *p, FILE *f)
{
    if (p->error == YAML_READER_ERROR) {
        cfg_error(cx, 0, "YAML: %s at byte %zu", p->problem, p->problem_offset);
        return;
    }
    unsigned line = (unsigned)p->problem_mark.line + 1, ctx_line = (unsigned)p->context_mark.line + 1;
    const char *problem = p->problem ? p->problem : "cannot parse";
    const char *hint = tab_indented(f, line) ? " (tabs are not allowed for indentation: use spaces)" : "";
    if (p->context && strstr(p->context, "simple key")) /* "key value" missing its ':' */
        cfg_error(cx, ctx_line, "YAML syntax error: %s%s", problem, hint);
    else if (p->context && ctx_line != line)
        cfg_error(cx, line, "YAML syntax error: %s (%s at line %u)%s", problem, p->context, ctx_line, hint);
    else
        cfg_error(cx, line, "YAML syntax error: %s%s", problem, hint);
}

/* After the first document: true when nothing follows it. */
static bool no_second_document(cfg_ctx *cx, yaml_parser_t *p)
{
    yaml_document_t extra;
    if (!yaml_parser_load(p, &extra))
        return false; /* a syntax error further down */
    bool none = !yaml_document_get_root_node(&extra);
    if (!none)
        cfg_error(cx, (unsigned)extra.start_mark.line + 1, "only one YAML document is allowed (found a second '---')");
    yaml_document_delete(&extra);
    return none;
}

/* The YAML tree, or false with the syntax error reported. */
static bool parse_yaml(cfg_ctx *cx, FILE *f, yaml_document_t *doc)
{
    yaml_parser_t parser;

    if (!yaml_parser_initialize(&parser)) {
        cfg_error(cx, 0, "out of memory");
        return false;
    }
    yaml_parser_set_input_file(&parser, f);
    bool ok = yaml_parser_load(&parser, doc); /* on failure it frees doc itself */
    if (ok && yaml_document_get_root_node(doc) && !no_second_document(cx, &parser)) {
        yaml_document_delete(doc);
        ok = false;
    }
    if (parser.error != YAML_NO_ERROR)
        syntax_error(cx, &parser, f);
    yaml_parser_delete(&parser);
    return ok;
}

static ev_config *config_new(cfg_ctx *cx, const char *path)
{
    ev_config *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->path = cfg_strdup(cx, 0, path);
    c->interval_ms = 10000;
    snmp_init(cx, &c->snmp_defaults);
    cfg_modbus_init(&c->modbus_defaults);
    cfg_influx_defaults(cx, &c->influx);
    c->mqtt = (ev_mqtt_cfg){.qos = 1};
    c->mqtt.url = cfg_strdup(cx, 0, "tcp://127.0.0.1:1883");
    c->mqtt.topic_prefix = cfg_strdup(cx, 0, "evalley");
    cfg_spool_defaults(&c->spool);
    return c;
}

/* Read the whole tree into c; errors are counted in cx. */
static void read_config(cfg_ctx *cx, ev_config *c, const yaml_node_t *root, const char *profiles_dir)
{
    char b[80];
    if (!root || cfg_is_null(root)) {
        cfg_error(cx, 1, "empty config file (expected agent:, snmp:, outputs: and devices:)");
        return;
    }
    if (root->type != YAML_MAPPING_NODE) {
        cfg_error(cx, cfg_line(root), "expected a mapping at top level (agent:, snmp:, outputs:, devices:), got %s",
            cfg_describe(root, b, sizeof b));
        return;
    }
    cfg_read_map(cx, root, &top_table, c, "", NULL);
    check_agent(cx, c);
    load_profiles(cx, c, profiles_dir);
    read_devices(cx, c);
    cfg_topology_check(cx, c);
    snmp_finish(cx, &c->snmp_defaults, cx->snmp_level_set);
    if (!c->mqtt.client_id && c->agent_id)
        c->mqtt.client_id = cfg_strdup(cx, 0, c->agent_id);
}

/* The file -> a config, or NULL with every problem counted in cx. */
/* Open and parse path into *doc (cx->doc points at it); false with the
 * problem reported. Also the hub's file (config_hub.c). */
bool cfg_load_yaml(cfg_ctx *cx, const char *path, yaml_document_t *doc)
{
    struct stat st;

    FILE *f = fopen(path, "rb");
    if (!f) {
        cfg_error(cx, 0, "cannot open: %s", strerror(errno));
        return false;
    }
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        cfg_error(cx, 0, "cannot read: is a directory");
        fclose(f);
        return false;
    }
    cx->doc = doc;
    bool parsed = parse_yaml(cx, f, doc);
    fclose(f);
    return parsed;
}

static ev_config *load(cfg_ctx *cx, const char *path, const char *profiles_dir)
{
    yaml_document_t doc;

    if (!cfg_load_yaml(cx, path, &doc))
        return NULL;

    ev_config *c = config_new(cx, path);
    if (c)
        read_config(cx, c, yaml_document_get_root_node(&doc), profiles_dir);
    else
        cfg_error(cx, 0, "out of memory");
    yaml_document_delete(&doc);
    return c;
}

ev_config *ev_config_load_with_profiles(const char *path, const char *profiles_dir, ev_diag *diag)
{
    cfg_ctx cx = {.file = path, .diag = diag};
    ev_config *c = load(&cx, path, profiles_dir);
    cfg_flush_errors(&cx);
    if (c)
        c->inline_secret_line = cx.inline_secret_line;
    if (cx.nerr) {
        ev_config_free(c);
        return NULL;
    }
    return c;
}

ev_config *ev_config_load(const char *path, ev_diag *diag)
{
    return ev_config_load_with_profiles(path, NULL, diag);
}

void ev_config_free(ev_config *c)
{
    if (!c)
        return;
    ev_alerts_cfg_free(c->alerts);
    for (size_t i = 0; i < c->ndevices; i++) {
        ev_device_cfg *d = &c->devices[i];
        free(d->name);
        free(d->profile_name);
        free(d->address);
        free(d->row);
        free(d->rack);
        free(d->feed);
        snmp_free(&d->snmp);
        cfg_modbus_free(&d->modbus);
    }
    free(c->devices);
    if (c->profiles)
        ev_profiles_free(c->profiles);
    ev_topology_cfg_free(c->topology);
    snmp_free(&c->snmp_defaults);
    cfg_modbus_free(&c->modbus_defaults);
    free(c->influx.url);
    free(c->influx.database);
    free(c->influx.username);
    free(c->influx.password);
    free(c->mqtt.url);
    free(c->mqtt.client_id);
    free(c->mqtt.username);
    free(c->mqtt.password);
    free(c->mqtt.topic_prefix);
    free(c->influx.token);
    free(c->influx.org);
    free(c->influx.bucket);
    free(c->influx.ca_file);
    free(c->mqtt.ca_file);
    cfg_spool_free(&c->spool);
    ev_http_cfg_free(&c->http);
    free(c->path);
    free(c->agent_id);
    free(c->site);
    free(c->hall);
    free(c->profiles_dir);
    free(c);
}

const char *ev_role_name(ev_role r)
{
    switch (r) {
    case EV_ROLE_IT:
        return "it";
    case EV_ROLE_FACILITY:
        return "facility";
    case EV_ROLE_COOLING:
        return "cooling";
    case EV_ROLE_OTHER:
        return "other";
    }
    return "?";
}

const char *ev_default_profiles_dir(void)
{
    const char *env = getenv("EVMON_PROFILES_DIR");
    if (env && *env)
        return env;
#ifdef EVMON_SRC_PROFILES
    struct stat st;
    if (stat(EVMON_SRC_PROFILES, &st) == 0 && S_ISDIR(st.st_mode))
        return EVMON_SRC_PROFILES;
#endif
    return "/usr/share/evmon/profiles";
}
