/*
 * config_read.h - the machinery config sections are read with (private to
 * agent/config*.c).
 *
 * A section is a table of keys (cfg_field: name, kind, where the value
 * goes, range, or a custom reader); cfg_read_map() walks a YAML mapping
 * through it, reporting unknown keys with a "did you mean", wrong types,
 * out-of-range values and duplicates as FILE:LINE: message. Problems are
 * collected in the cfg_ctx and handed to the caller's ev_diag in line
 * order by cfg_flush_errors(). A new section (Modbus transports, alert
 * rules, topology) is a new table and a few custom readers in its own
 * config_<section>.c, hooked into config.c's top-level table.
 */
#ifndef EVMON_CONFIG_READ_H
#define EVMON_CONFIG_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "agent/config.h"

#define MAX_KEYS 16 /* keys per section table */

/* One problem found in the config file, kept until the end so that the
 * file's problems are reported in line order. */
typedef struct {
    unsigned line;
    size_t seq;
    char *msg;
} cfg_problem;

typedef struct {
    const char *file;
    ev_diag *diag;
    yaml_document_t *doc;
    size_t nerr;            /* problems: ours plus the profiles' */
    cfg_problem *errs;      /* ours, flushed into diag by cfg_flush_errors() */
    size_t nerrs, caperrs;
    /* snmp: defaults as read, before devices copy them */
    unsigned snmp_line;     /* line of the top-level "snmp:" key, 0 if none */
    bool snmp_level_set;    /* snmp.level given explicitly */
    bool snmp_checked;      /* v3 checks of the defaults already reported */
    const yaml_node_t *devices; /* deferred until snmp defaults are known */
    unsigned devices_line;
    unsigned agent_line, profiles_dir_line;
    unsigned agent_seen[MAX_KEYS]; /* line of each agent: key, 0 if absent */
    unsigned inline_secret_line;   /* first secret written in the file itself, 0 if none */
} cfg_ctx;

typedef enum {
    K_STR,      /* char *, strdup'd; null keeps the default */
    K_NAME,     /* K_STR that becomes a topic level and a tag: no / + # or blanks */
    K_UINT,     /* unsigned, min..max */
    K_INT,      /* int, min..max */
    K_DURATION, /* unsigned milliseconds, min..max */
    K_BOOL,
    K_CUSTOM,   /* fn does the work */
} cfg_kind;

typedef struct cfg_field cfg_field;
typedef void (*cfg_custom_fn)(cfg_ctx *cx, void *obj, const yaml_node_t *key, const yaml_node_t *val,
                          const char *label);
struct cfg_field {
    const char *key;
    cfg_kind kind;
    size_t off;
    unsigned long min, max;
    cfg_custom_fn fn;
    bool required; /* an empty value is an error (absence is checked by the section) */
    bool secret;   /* also read from KEY_file / KEY_env (config_secret.c); never printed */
};

typedef struct cfg_table {
    const cfg_field *f;
    size_t n;
    const struct cfg_table *misplaced; /* keys that belong in a sub-section */
    const char *misplaced_in;
} cfg_table;

#define FIELDS(a) (a), sizeof(a) / sizeof((a)[0])
#define AT(obj, off, type) ((type *)((char *)(obj) + (off)))

void cfg_error(cfg_ctx *cx, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void cfg_flush_errors(cfg_ctx *cx);
char *cfg_strdup(cfg_ctx *cx, unsigned line, const char *s);
unsigned cfg_line(const yaml_node_t *n);
yaml_node_t *cfg_node(cfg_ctx *cx, int id);
const char *cfg_text(const yaml_node_t *n);
bool cfg_is_null(const yaml_node_t *n);
const char *cfg_describe(const yaml_node_t *n, char *buf, size_t len);
void cfg_label(char *buf, size_t len, const char *sect, const char *key);
const char *cfg_scalar(cfg_ctx *cx, const yaml_node_t *k, const yaml_node_t *v, const char *label,
                                 const char *what);
bool cfg_expect_map(cfg_ctx *cx, const yaml_node_t *k, const yaml_node_t *v, const char *label);
bool cfg_parse_uint(const char *s, unsigned long long *out);
int cfg_parse_bool(const char *s);
const char *cfg_fmt_ms(unsigned long ms, char *buf, size_t len);
const char *cfg_closest(const char *s, const char *const *names, size_t n);
size_t cfg_key_at(const cfg_table *t, const char *key);
void cfg_unknown_key(cfg_ctx *cx, unsigned line, const char *key, const cfg_table *t, const char *sect);
void cfg_read_value(cfg_ctx *cx, const cfg_field *f, void *obj, const yaml_node_t *k, const yaml_node_t *v,
                       const char *label);
void cfg_read_map(cfg_ctx *cx, const yaml_node_t *map, const cfg_table *t, void *obj, const char *sect,
                     unsigned *seen);

/* config_secret.c: secrets given as KEY_file: PATH or KEY_env: NAME.
 * cfg_secret_field: the position in t of the secret field such a key names,
 * or t->n. cfg_secret_read: the secret itself as a scalar node *out (same
 * line as v; its text in *buf, for the caller to free) for the field's
 * reader to take as if written inline; false with the error reported. */
size_t cfg_secret_field(const cfg_table *t, const char *key);
bool cfg_secret_read(cfg_ctx *cx, const yaml_node_t *k, const yaml_node_t *v, const char *label,
                     yaml_node_t *out, char **buf);

/* config.c's sections that other config files reuse (config_hub.c): the
 * influxdb section (defaults, then the mapping under key k), a URL checked
 * against schemes (NULL-terminated), and the MQTT topic_prefix reader
 * (obj: an ev_mqtt_cfg). */
void cfg_influx_defaults(cfg_ctx *cx, ev_influx_cfg *in);
void cfg_influx_section(cfg_ctx *cx, ev_influx_cfg *in, const yaml_node_t *k, const yaml_node_t *v,
                        const char *label);
void cfg_check_url(cfg_ctx *cx, const char *url, unsigned line, const char *label, const char *const *schemes,
                   const char *expected);
void cfg_mqtt_topic_prefix(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label);
/* Open and parse a YAML file into *doc (cx->doc set), syntax errors
 * reported as FILE:LINE; false when there is no document to read. */
bool cfg_load_yaml(cfg_ctx *cx, const char *path, yaml_document_t *doc);

#endif
