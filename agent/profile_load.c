/*
 * profile_load.c - device profiles from YAML files (format: docs/PROFILES.md).
 *
 * Uses libyaml's document API: the whole file becomes a node tree whose
 * marks give each key and value its line, so every problem is reported as
 * "FILE:LINE: message" naming the metric and the field. Loading does not
 * stop at the first problem; a profile with any error is left out of the
 * set and the others are kept. Everything the evaluator needs is resolved
 * here once: OIDs become fetch-list positions, tag templates are parsed
 * into segments, scales become exact decimal mantissa/exponent pairs.
 *
 * A Modbus profile (`protocol: modbus`) has `register:` metrics instead of
 * `oid:` ones; each distinct read (function, address, type, order, bit
 * field) becomes one scalar fetch entry, described by p->mbreads, so the
 * evaluator treats both protocols alike.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "agent/profile.h"
#include "agent/profile_priv.h"

typedef struct {
    const char *file;
    yaml_document_t *doc;
    ev_diag *diag;
    unsigned errors;
    ev_profile *p;
    /* Modbus `defaults:` (0 / EV_MB_NTYPES when not given) */
    uint8_t def_fc;
    ev_mb_type def_type;
    ev_mb_order def_order;
} loader;

/* Tags every point already carries (profile.h ev_tagset); a metric may
 * not set them. */
static const char *const base_tags[] = {"site", "hall", "row", "rack", "device", "feed", "role", NULL};
#define MAX_METRIC_TAGS (EV_MAX_TAGS - 7)

/* Fields of the measurements in the line-protocol contract (BRIEF §6 and
 * docs/PROFILES.md). A profile writing one of these measurements must use
 * these names, so a typo cannot create a new series nobody reads. */
static const struct {
    const char *measurement;
    const char *const fields[12];
} known_fields[] = {
    {"power",
     {"active_power_w", "apparent_power_va", "power_factor", "current_a", "voltage_v", "energy_wh",
      "frequency_hz", "load_pct", NULL}},
    {"environment", {"temperature_c", "humidity_pct", NULL}},
    {"cooling",
     {"supply_air_temperature_c", "return_air_temperature_c", "supply_water_temperature_c",
      "return_water_temperature_c", "fan_speed_pct", "fan_speed_rpm", "valve_pct",
      "cooling_load_w", "cooling_capacity_pct", "power_w", "humidity_pct", NULL}},
    {"ups",
     {"battery_charge_pct", "runtime_s", "on_battery_s", "battery_voltage_v", "battery_current_a",
      "battery_temperature_c", "battery_status", NULL}},
};

/* ---- diagnostics and small helpers --------------------------------- */

static unsigned line_of(const yaml_node_t *n)
{
    return n ? (unsigned)n->start_mark.line + 1 : 0;
}

__attribute__((format(printf, 3, 4))) static void fail(loader *L, const yaml_node_t *n,
                                                       const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ev_diag_add(L->diag, L->file, line_of(n), "%s", msg);
    L->errors++;
}

static yaml_node_t *node_at(loader *L, int id)
{
    return yaml_document_get_node(L->doc, id);
}

static const char *scalar_of(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool is_ident(const char *s)
{
    if (!s || !((*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

static bool is_name(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return false;
    return true;
}

/* Base-10 integer, or 0x hex; the whole string. */
static bool parse_int(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    bool hex = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'));
    long long v = strtoll(s, &end, hex ? 16 : 10);
    if (errno || *end || end == s)
        return false;
    *out = v;
    return true;
}

/* "0.01", "10", "-2.5", "1e-3" -> exactly mantissa x 10^exp. */
static bool parse_decimal(const char *s, int64_t *mant, int *exp)
{
    int64_t m = 0;
    int e = 0, digits = 0;
    bool neg = false, dot = false;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    for (; *s; s++) {
        if (*s == '.' && !dot) {
            dot = true;
        } else if (*s >= '0' && *s <= '9') {
            if (m > (INT64_MAX - 9) / 10 / 1000) /* ~15 significant digits is plenty */
                return false;
            m = m * 10 + (*s - '0');
            digits++;
            if (dot)
                e--;
        } else {
            break;
        }
    }
    if (!digits)
        return false;
    if (*s == 'e' || *s == 'E') {
        int64_t x;
        if (!parse_int(s + 1, &x) || x < -300 || x > 300)
            return false;
        e += (int)x;
    } else if (*s) {
        return false;
    }
    while (m && m % 10 == 0) {
        m /= 10;
        e++;
    }
    *mant = neg ? -m : m;
    *exp = m ? e : 0;
    return true;
}

static bool literal_of(loader *L, const yaml_node_t *n, ev_literal *out)
{
    const char *s = scalar_of(n);
    if (!s)
        return false;
    out->text = ev_pool_strdup(&L->p->pool, s);
    out->is_int = parse_int(s, &out->i);
    return out->text != NULL;
}

/* Reads a mapping into vals[] by key (NULL when absent); unknown and
 * duplicate keys are errors. */
static bool get_fields(loader *L, yaml_node_t *map, const char *what, const char *const *keys,
                       yaml_node_t **vals)
{
    size_t nkeys = 0;
    while (keys[nkeys])
        vals[nkeys++] = NULL;
    if (map->type != YAML_MAPPING_NODE) {
        fail(L, map, "%s: expected a mapping of keys", what);
        return false;
    }
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = node_at(L, pr->key);
        const char *key = scalar_of(k);
        size_t i = 0;
        while (key && i < nkeys && strcmp(keys[i], key))
            i++;
        if (!key || i == nkeys) {
            char expected[256] = "";
            for (size_t j = 0; j < nkeys; j++)
                snprintf(expected + strlen(expected), sizeof expected - strlen(expected), "%s%s",
                         j ? ", " : "", keys[j]);
            fail(L, k, "%s: unknown key '%s' (expected one of: %s)", what, key ? key : "?", expected);
            continue;
        }
        if (vals[i]) {
            fail(L, k, "%s: duplicate key '%s'", what, key);
            continue;
        }
        vals[i] = node_at(L, pr->value);
    }
    return true;
}

/* ---- fetch list ------------------------------------------------------ */

static size_t fetch_add(loader *L, const ev_oid *oid, bool scalar)
{
    ev_profile *p = L->p;
    for (size_t i = 0; i < p->nfetch; i++)
        if (p->fetch[i].scalar == scalar && !ev_oid_cmp(&p->fetch[i].oid, oid))
            return i;
    ev_fetch *f = ev_pool_grow(&p->pool, p->fetch, (p->nfetch + 1) * sizeof *f);
    if (!f) {
        fail(L, NULL, "out of memory");
        return EV_NO_COL;
    }
    p->fetch = f;
    f[p->nfetch].oid = *oid;
    f[p->nfetch].scalar = scalar;
    return p->nfetch++;
}

/* An OID-valued field that names another column (or scalar) to fetch. */
static size_t aux_oid(loader *L, const yaml_node_t *n, const char *ctx, const char *key, bool scalar)
{
    ev_oid oid;
    const char *s = scalar_of(n);
    if (!s || ev_oid_parse(s, &oid) < 0) {
        fail(L, n, "%s: %s: \"%s\" is not a numeric OID", ctx, key, s ? s : "?");
        return EV_NO_COL;
    }
    return fetch_add(L, &oid, scalar);
}

/* ---- maps ------------------------------------------------------------ */

static void parse_maps(loader *L, yaml_node_t *n)
{
    ev_profile *p = L->p;
    if (n->type != YAML_MAPPING_NODE) {
        fail(L, n, "maps: expected a mapping of map name -> {value: label}");
        return;
    }
    size_t count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    p->maps = ev_pool_alloc(&p->pool, count * sizeof *p->maps);
    if (!p->maps) {
        fail(L, n, "out of memory");
        return;
    }
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = node_at(L, pr->key), *v = node_at(L, pr->value);
        const char *name = scalar_of(k);
        if (!is_ident(name)) {
            fail(L, k, "maps: map name '%s' must be lower-case letters, digits and _", name ? name : "?");
            continue;
        }
        for (size_t i = 0; i < p->nmaps; i++)
            if (!strcmp(p->maps[i].name, name))
                fail(L, k, "maps: duplicate map '%s'", name);
        if (v->type != YAML_MAPPING_NODE) {
            fail(L, v, "maps.%s: expected a mapping of value -> label", name);
            continue;
        }
        ev_label_map *m = &p->maps[p->nmaps++];
        m->name = ev_pool_strdup(&p->pool, name);
        size_t ne = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
        m->e = ev_pool_alloc(&p->pool, ne * sizeof *m->e);
        if (!m->name || !m->e) {
            fail(L, v, "out of memory");
            return;
        }
        for (yaml_node_pair_t *e = v->data.mapping.pairs.start; e < v->data.mapping.pairs.top; e++) {
            yaml_node_t *ek = node_at(L, e->key), *ev = node_at(L, e->value);
            const char *label = scalar_of(ev);
            if (!scalar_of(ek)) {
                fail(L, ek, "maps.%s: keys must be plain values", name);
                continue;
            }
            if (!label || !*label) {
                fail(L, ev, "maps.%s: label for '%s' must be a non-empty string", name, scalar_of(ek));
                continue;
            }
            ev_map_entry *me = &m->e[m->n++];
            literal_of(L, ek, &me->key);
            me->label = ev_pool_strdup(&p->pool, label);
        }
    }
}

static const ev_label_map *find_map(const ev_profile *p, const char *name)
{
    for (size_t i = 0; i < p->nmaps; i++)
        if (!strcmp(p->maps[i].name, name))
            return &p->maps[i];
    return NULL;
}

/* ---- tag templates --------------------------------------------------- */

typedef struct {
    loader *L;
    const yaml_node_t *node;
    const char *ctx, *key;
    bool scalar;
    ev_tag_tmpl *t;
    size_t cap;
} tmpl_parse;

static ev_seg *seg_new(tmpl_parse *tp)
{
    ev_pool *pool = &tp->L->p->pool;
    if (tp->t->nsegs == tp->cap) {
        size_t cap = tp->cap ? tp->cap * 2 : 4;
        ev_seg *s = ev_pool_grow(pool, tp->t->segs, cap * sizeof *s);
        if (!s)
            return NULL;
        tp->t->segs = s;
        tp->cap = cap;
    }
    ev_seg *s = &tp->t->segs[tp->t->nsegs++];
    memset(s, 0, sizeof *s);
    return s;
}

/* One {placeholder}: "index", "iN" or "col:OID", each optionally ":map". */
static bool parse_placeholder(tmpl_parse *tp, char *in)
{
    loader *L = tp->L;
    char *map = NULL;
    ev_seg *s = seg_new(tp);
    if (!s) {
        fail(L, tp->node, "out of memory");
        return false;
    }
    if (!strncmp(in, "col:", 4) && L->p->protocol == EV_PROTO_MODBUS) {
        fail(L, tp->node, "%s: tags.%s: {%s} reads an SNMP column; a Modbus tag is literal text",
             tp->ctx, tp->key, in);
        return false;
    } else if (!strncmp(in, "col:", 4)) {
        char *oidtext = in + 4;
        map = strchr(oidtext, ':');
        if (map)
            *map++ = '\0';
        ev_oid oid;
        if (ev_oid_parse(oidtext, &oid) < 0) {
            fail(L, tp->node, "%s: tags.%s: {col:%s}: not a numeric OID", tp->ctx, tp->key, oidtext);
            return false;
        }
        s->kind = EV_SEG_COLUMN;
        s->col = fetch_add(L, &oid, tp->scalar);
    } else {
        map = strchr(in, ':');
        if (map)
            *map++ = '\0';
        int64_t comp;
        if (!strcmp(in, "index")) {
            s->kind = EV_SEG_INDEX;
        } else if (in[0] == 'i' && parse_int(in + 1, &comp) && comp >= 1 && comp <= EV_OID_MAX &&
                   in[1] >= '1' && in[1] <= '9') {
            s->kind = EV_SEG_COMP;
            s->comp = (unsigned)comp;
        } else {
            fail(L, tp->node,
                 "%s: tags.%s: unknown placeholder {%s} (use {index}, {i1}, {i2}.., {col:OID}, "
                 "each optionally followed by :map)",
                 tp->ctx, tp->key, in);
            return false;
        }
        if (tp->scalar) {
            fail(L, tp->node, "%s: tags.%s: {%s} needs a column metric (a scalar has no row index)",
                 tp->ctx, tp->key, in);
            return false;
        }
    }
    if (map) {
        s->map = find_map(L->p, map);
        if (!s->map) {
            fail(L, tp->node, "%s: tags.%s: unknown map '%s' (define it under maps:)", tp->ctx, tp->key,
                 map);
            return false;
        }
    }
    return true;
}

static bool parse_template(tmpl_parse *tp, const char *src)
{
    loader *L = tp->L;
    size_t len = strlen(src);
    char *lit = malloc(len + 1), *inner = malloc(len + 1);
    size_t nlit = 0;
    bool ok = lit && inner, placeholders = false;
    if (!ok)
        fail(L, tp->node, "out of memory");
    for (const char *s = src; ok && *s;) {
        if ((s[0] == '{' && s[1] == '{') || (s[0] == '}' && s[1] == '}')) {
            lit[nlit++] = *s;
            s += 2;
        } else if (*s == '{') {
            const char *end = strchr(s, '}');
            if (!end) {
                fail(L, tp->node, "%s: tags.%s: '{' without a closing '}' in \"%s\"", tp->ctx, tp->key, src);
                ok = false;
                break;
            }
            if (nlit) {
                ev_seg *t = seg_new(tp);
                lit[nlit] = '\0';
                if (!t || !(t->text = ev_pool_strdup(&L->p->pool, lit))) {
                    fail(L, tp->node, "out of memory");
                    ok = false;
                    break;
                }
                nlit = 0;
            }
            memcpy(inner, s + 1, (size_t)(end - s - 1));
            inner[end - s - 1] = '\0';
            ok = parse_placeholder(tp, inner);
            placeholders = true;
            s = end + 1;
        } else if (*s == '}') {
            fail(L, tp->node, "%s: tags.%s: '}' without a '{' in \"%s\" (write }} for a literal brace)",
                 tp->ctx, tp->key, src);
            ok = false;
        } else {
            lit[nlit++] = *s++;
        }
    }
    if (ok) {
        lit[nlit] = '\0';
        if (!placeholders) {
            tp->t->literal = ev_pool_strdup(&L->p->pool, lit);
            tp->t->nsegs = 0;
        } else if (nlit) {
            ev_seg *t = seg_new(tp);
            if (!t || !(t->text = ev_pool_strdup(&L->p->pool, lit)))
                ok = false;
        }
    }
    free(lit);
    free(inner);
    return ok;
}

static void parse_tags(loader *L, ev_metric *m, yaml_node_t *n, const char *ctx)
{
    ev_pool *pool = &L->p->pool;
    if (n->type != YAML_MAPPING_NODE) {
        fail(L, n, "%s: tags: expected a mapping of tag -> value, e.g. {phase: total}", ctx);
        return;
    }
    size_t count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    if (count > MAX_METRIC_TAGS) {
        fail(L, n, "%s: tags: %zu tags, at most %d", ctx, count, MAX_METRIC_TAGS);
        return;
    }
    m->tags = ev_pool_alloc(pool, count * sizeof *m->tags);
    if (!m->tags) {
        fail(L, n, "out of memory");
        return;
    }
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = node_at(L, pr->key), *v = node_at(L, pr->value);
        const char *key = scalar_of(k), *val = scalar_of(v);
        if (!is_ident(key)) {
            fail(L, k, "%s: tags: tag name '%s' must be lower-case letters, digits and _", ctx,
                 key ? key : "?");
            continue;
        }
        bool bad = false;
        for (size_t i = 0; base_tags[i]; i++)
            if (!strcmp(key, base_tags[i])) {
                fail(L, k, "%s: tags: '%s' is set from the device config, not by a profile", ctx, key);
                bad = true;
            }
        for (size_t i = 0; i < m->ntags; i++)
            if (!strcmp(m->tags[i].key, key)) {
                fail(L, k, "%s: tags: duplicate tag '%s'", ctx, key);
                bad = true;
            }
        if (v->type == YAML_MAPPING_NODE) {
            fail(L, v, "%s: tags.%s: a template must be quoted, e.g. %s: \"{i1}\"", ctx, key, key);
            continue;
        }
        if (!val || !*val) {
            fail(L, v, "%s: tags.%s: expected a non-empty string", ctx, key);
            continue;
        }
        if (bad)
            continue;
        ev_tag_tmpl *t = &m->tags[m->ntags];
        t->key = ev_pool_strdup(pool, key);
        tmpl_parse tp = {.L = L, .node = v, .ctx = ctx, .key = key, .scalar = m->scalar, .t = t};
        if (t->key && parse_template(&tp, val))
            m->ntags++;
    }
}

/* ---- where ----------------------------------------------------------- */

static void parse_where(loader *L, ev_metric *m, yaml_node_t *n, const char *ctx)
{
    static const char *const keys[] = {"index", "column", "equals", NULL};
    ev_pool *pool = &L->p->pool;
    if (n->type != YAML_SEQUENCE_NODE) {
        fail(L, n, "%s: where: expected a list, e.g. [{index: 3, equals: 1}]", ctx);
        return;
    }
    size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    m->where = ev_pool_alloc(pool, count * sizeof *m->where);
    if (!m->where) {
        fail(L, n, "out of memory");
        return;
    }
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        yaml_node_t *c = node_at(L, *it), *v[3];
        char what[200];
        snprintf(what, sizeof what, "%s: where", ctx);
        if (!get_fields(L, c, what, keys, v))
            continue;
        ev_where *w = &m->where[m->nwhere];
        int64_t comp;
        if (!!v[0] == !!v[1]) {
            fail(L, c, "%s: where: give exactly one of index (component number) or column (OID)", ctx);
            continue;
        }
        if (v[0]) {
            if (!parse_int(scalar_of(v[0]), &comp) || comp < 1 || comp > EV_OID_MAX) {
                fail(L, v[0], "%s: where: index: expected a component number 1..%d", ctx, EV_OID_MAX);
                continue;
            }
            if (m->scalar) {
                fail(L, v[0], "%s: where: index needs a column metric (a scalar has no row index)", ctx);
                continue;
            }
            w->by_index = true;
            w->comp = (unsigned)comp;
        } else {
            w->col = aux_oid(L, v[1], ctx, "where: column", m->scalar);
            if (w->col == EV_NO_COL)
                continue;
        }
        if (!v[2]) {
            fail(L, c, "%s: where: missing equals (a value or a list of values)", ctx);
            continue;
        }
        yaml_node_t *eq = v[2];
        size_t ne = eq->type == YAML_SEQUENCE_NODE
                        ? (size_t)(eq->data.sequence.items.top - eq->data.sequence.items.start)
                        : 1;
        w->values = ev_pool_alloc(pool, ne * sizeof *w->values);
        if (!w->values) {
            fail(L, eq, "out of memory");
            return;
        }
        bool ok = ne > 0;
        for (size_t i = 0; i < ne; i++) {
            yaml_node_t *x = eq->type == YAML_SEQUENCE_NODE ? node_at(L, eq->data.sequence.items.start[i]) : eq;
            if (!literal_of(L, x, &w->values[w->nvalues++])) {
                fail(L, x, "%s: where: equals: expected plain values", ctx);
                ok = false;
            }
        }
        if (!ok && ne == 0)
            fail(L, eq, "%s: where: equals: empty list", ctx);
        if (ok)
            m->nwhere++;
    }
}

/* ---- metrics ----------------------------------------------------------- */

enum {
    K_NAME, K_DESCRIPTION, K_OID, K_TYPE, K_MEASUREMENT, K_FIELD, K_SCALE, K_OFFSET, K_SENTINELS,
    K_TAGS, K_WHERE, K_DECIMALS, K_SISCALE, K_AGGREGATE, K_COUNT
};
static const char *const metric_keys[] = {
    "name", "description", "oid", "type", "measurement", "field", "scale", "offset", "sentinels",
    "tags", "where", "decimals_from", "si_scale_from", "aggregate", NULL};

static const char *required(loader *L, yaml_node_t *mapnode, yaml_node_t *v, const char *ctx,
                            const char *key)
{
    const char *s = scalar_of(v);
    if (!v)
        fail(L, mapnode, "%s: missing %s", ctx, key);
    else if (!s || !*s)
        fail(L, v, "%s: %s: expected a non-empty string", ctx, key);
    return s && *s ? s : NULL;
}

static void check_names(loader *L, ev_metric *m, yaml_node_t *mn, yaml_node_t *fn, const char *ctx)
{
    if (!m->measurement || !m->field)
        return;
    if (!is_ident(m->measurement))
        fail(L, mn, "%s: measurement '%s' must be lower-case letters, digits and _", ctx, m->measurement);
    if (!is_ident(m->field)) {
        fail(L, fn, "%s: field '%s' must be lower-case letters, digits and _", ctx, m->field);
        return;
    }
    for (size_t i = 0; i < sizeof known_fields / sizeof known_fields[0]; i++) {
        if (strcmp(known_fields[i].measurement, m->measurement))
            continue;
        char list[300] = "";
        for (const char *const *f = known_fields[i].fields; *f; f++) {
            if (!strcmp(*f, m->field))
                return;
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", *list ? ", " : "", *f);
        }
        fail(L, fn, "%s: field '%s' is not a field of measurement '%s' (known: %s)", ctx, m->field,
             m->measurement, list);
    }
}

static void parse_sentinels(loader *L, ev_metric *m, yaml_node_t *n, const char *ctx)
{
    size_t count = n->type == YAML_SEQUENCE_NODE
                       ? (size_t)(n->data.sequence.items.top - n->data.sequence.items.start)
                       : 1;
    m->sentinels = ev_pool_alloc(&L->p->pool, count * sizeof *m->sentinels);
    if (!m->sentinels) {
        fail(L, n, "out of memory");
        return;
    }
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *x = n->type == YAML_SEQUENCE_NODE ? node_at(L, n->data.sequence.items.start[i]) : n;
        int64_t v;
        if (!parse_int(scalar_of(x), &v))
            fail(L, x, "%s: sentinels: '%s' is not an integer", ctx, scalar_of(x) ? scalar_of(x) : "?");
        else
            m->sentinels[m->nsentinels++] = v;
    }
}

static void parse_scale_offset(loader *L, ev_metric *m, yaml_node_t *vs, yaml_node_t *vo,
                               const char *ctx)
{
    if (vs) {
        const char *s = scalar_of(vs);
        if (!s || !parse_decimal(s, &m->scale_m, &m->scale_e) || m->scale_m == 0)
            fail(L, vs, "%s: scale: bad scale '%s' (a non-zero number such as 10 or 0.01)", ctx,
                 s ? s : "?");
    }
    if (vo) {
        const char *s = scalar_of(vo);
        char *end = NULL;
        m->offset = s ? strtod(s, &end) : 0;
        if (!s || !*s || *end || !isfinite(m->offset))
            fail(L, vo, "%s: offset: bad number '%s'", ctx, s ? s : "?");
    }
}

/* The metric's name, looked up before anything else so that every message
 * about the metric can name it. */
static const char *metric_name(loader *L, yaml_node_t *n)
{
    if (n->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        const char *key = scalar_of(node_at(L, pr->key));
        if (key && !strcmp(key, "name"))
            return scalar_of(node_at(L, pr->value));
    }
    return NULL;
}

/* How messages name metric n: "metric 'x'", or "metrics[3]" before it has a name. */
static void metric_context(loader *L, yaml_node_t *n, size_t pos, char *ctx, size_t len)
{
    const char *peek = metric_name(L, n);
    if (peek && *peek)
        snprintf(ctx, len, "metric '%s'", peek);
    else
        snprintf(ctx, len, "metrics[%zu]", pos);
}

/* The next metric slot of the profile, cleared, for either protocol. */
static ev_metric *metric_begin(loader *L, yaml_node_t *n)
{
    ev_metric *m = &L->p->metrics[L->p->nmetrics];
    memset(m, 0, sizeof *m);
    m->line = line_of(n);
    m->scale_m = 1;
    m->col = m->decimals_col = m->si_scale_col = m->sf_col = EV_NO_COL;
    return m;
}

static void parse_metric(loader *L, yaml_node_t *n, size_t pos)
{
    ev_profile *p = L->p;
    yaml_node_t *v[K_COUNT];
    char ctx[160];
    metric_context(L, n, pos, ctx, sizeof ctx);
    if (!get_fields(L, n, ctx, metric_keys, v))
        return;

    ev_metric *m = metric_begin(L, n);

    const char *name = required(L, n, v[K_NAME], ctx, "name");
    if (name) {
        if (!is_name(name))
            fail(L, v[K_NAME], "%s: name '%s' may only hold letters, digits, _ - .", ctx, name);
        for (size_t i = 0; i < p->nmetrics; i++)
            if (p->metrics[i].name && !strcmp(p->metrics[i].name, name))
                fail(L, v[K_NAME], "%s: duplicate metric name (first at line %u)", ctx, p->metrics[i].line);
        m->name = ev_pool_strdup(&p->pool, name);
    }

    const char *type = required(L, n, v[K_TYPE], ctx, "type (column or scalar)");
    if (type && strcmp(type, "column") && strcmp(type, "scalar"))
        fail(L, v[K_TYPE], "%s: type: unknown type '%s' (column or scalar)", ctx, type);
    m->scalar = type && !strcmp(type, "scalar");

    const char *oidtext = required(L, n, v[K_OID], ctx, "oid");
    ev_oid oid;
    if (oidtext && ev_oid_parse(oidtext, &oid) < 0)
        fail(L, v[K_OID], "%s: oid: \"%s\" is not a numeric OID", ctx, oidtext);
    else if (oidtext)
        m->col = fetch_add(L, &oid, m->scalar);

    const char *meas = required(L, n, v[K_MEASUREMENT], ctx, "measurement");
    const char *field = required(L, n, v[K_FIELD], ctx, "field");
    m->measurement = meas ? ev_pool_strdup(&p->pool, meas) : NULL;
    m->field = field ? ev_pool_strdup(&p->pool, field) : NULL;
    check_names(L, m, v[K_MEASUREMENT], v[K_FIELD], ctx);

    parse_scale_offset(L, m, v[K_SCALE], v[K_OFFSET], ctx);
    if (v[K_SENTINELS])
        parse_sentinels(L, m, v[K_SENTINELS], ctx);
    if (v[K_DECIMALS])
        m->decimals_col = aux_oid(L, v[K_DECIMALS], ctx, "decimals_from", m->scalar);
    if (v[K_SISCALE])
        m->si_scale_col = aux_oid(L, v[K_SISCALE], ctx, "si_scale_from", m->scalar);
    if (v[K_WHERE])
        parse_where(L, m, v[K_WHERE], ctx);
    if (v[K_TAGS])
        parse_tags(L, m, v[K_TAGS], ctx);
    if (v[K_DESCRIPTION] && !scalar_of(v[K_DESCRIPTION]))
        fail(L, v[K_DESCRIPTION], "%s: description: expected a string", ctx);

    if (v[K_AGGREGATE]) {
        const char *a = scalar_of(v[K_AGGREGATE]);
        if (!a || strcmp(a, "sum"))
            fail(L, v[K_AGGREGATE], "%s: aggregate: unknown aggregate '%s' (only sum)", ctx, a ? a : "?");
        else if (m->scalar)
            fail(L, v[K_AGGREGATE], "%s: aggregate: sum needs a column metric", ctx);
        m->sum = true;
        for (size_t i = 0; i < m->ntags; i++)
            if (!m->tags[i].literal)
                fail(L, v[K_AGGREGATE], "%s: aggregate: tag '%s' depends on the row; a sum is one value",
                     ctx, m->tags[i].key);
    }
    p->nmetrics++; /* kept even when broken, for the duplicate-name check:
                      a profile with any error is dropped whole */
}

/* ---- Modbus metrics ----------------------------------------------------- */

enum {
    M_NAME, M_DESCRIPTION, M_FUNCTION, M_REGISTER, M_TYPE, M_ORDER, M_BIT, M_WIDTH, M_MEASUREMENT,
    M_FIELD, M_SCALE, M_OFFSET, M_SENTINELS, M_SF, M_TAGS, M_COUNT
};
static const char *const modbus_keys[] = {
    "name", "description", "function", "register", "type", "order", "bit", "width", "measurement",
    "field", "scale", "offset", "sentinels", "scale_factor_register", "tags", NULL};

/* The fetch position of a Modbus read, added when new. */
static size_t mb_fetch_add(loader *L, const ev_mb_read *r)
{
    ev_profile *p = L->p;
    for (size_t i = 0; i < p->nfetch; i++) {
        const ev_mb_read *o = &p->mbreads[i];
        if (o->fc == r->fc && o->addr == r->addr && o->type == r->type && o->order == r->order &&
            o->bit == r->bit && o->width == r->width)
            return i;
    }
    ev_mb_read *mr = ev_pool_grow(&p->pool, p->mbreads, (p->nfetch + 1) * sizeof *mr);
    if (!mr) {
        fail(L, NULL, "out of memory");
        return EV_NO_COL;
    }
    p->mbreads = mr;
    ev_oid oid = {.sub = {r->fc, r->addr}, .len = 2};
    size_t before = p->nfetch;
    mr[before] = *r;
    p->nfetch = before; /* fetch_add appends: never a match, reads differ */
    ev_fetch *f = ev_pool_grow(&p->pool, p->fetch, (before + 1) * sizeof *f);
    if (!f) {
        fail(L, NULL, "out of memory");
        return EV_NO_COL;
    }
    p->fetch = f;
    f[before] = (ev_fetch){.oid = oid, .scalar = true};
    return p->nfetch++;
}

/* An integer key within lo..hi; false (reported) when not. */
static bool int_in(loader *L, yaml_node_t *v, const char *ctx, const char *key, int64_t lo,
                   int64_t hi, int64_t *out)
{
    const char *s = scalar_of(v);
    if (!s || !parse_int(s, out) || *out < lo || *out > hi) {
        fail(L, v, "%s: %s: '%s' is not an integer %" PRId64 "..%" PRId64, ctx, key, s ? s : "?", lo,
             hi);
        return false;
    }
    return true;
}

static bool mb_type(loader *L, yaml_node_t *v, const char *ctx, ev_mb_type *out)
{
    const char *s = scalar_of(v);
    if (s && ev_mb_type_parse(s, out))
        return true;
    fail(L, v, "%s: type: unknown type '%s' (int16, uint16, int32, uint32, int64, uint64, float32, "
               "float64 or bool)", ctx, s ? s : "?");
    return false;
}

static bool mb_order(loader *L, yaml_node_t *v, const char *ctx, ev_mb_order *out)
{
    const char *s = scalar_of(v);
    if (s && ev_mb_order_parse(s, out))
        return true;
    fail(L, v, "%s: order: unknown order '%s' (ABCD, CDAB, BADC or DCBA)", ctx, s ? s : "?");
    return false;
}

/* function, type, order and bit field of one metric, from its keys and
 * the profile's defaults; false (reported) when incomplete or wrong. */
static bool mb_read_of(loader *L, yaml_node_t *n, yaml_node_t **v, const char *ctx, ev_mb_read *r)
{
    int64_t x;
    bool ok = true;
    *r = (ev_mb_read){.fc = L->def_fc, .type = L->def_type, .order = L->def_order};
    if (v[M_FUNCTION])
        ok &= int_in(L, v[M_FUNCTION], ctx, "function", 1, 4, &x) && (r->fc = (uint8_t)x);
    if (!v[M_REGISTER]) {
        fail(L, n, "%s: missing register (the 0-based protocol address)", ctx);
        ok = false;
    } else if (int_in(L, v[M_REGISTER], ctx, "register", 0, 65535, &x)) {
        r->addr = (uint16_t)x;
    } else {
        ok = false;
    }
    if (!r->fc) {
        fail(L, n, "%s: missing function (1 coils, 2 discrete inputs, 3 holding, 4 input registers; "
                   "or defaults.function)", ctx);
        return false;
    }
    bool bits = r->fc <= 2;
    if (v[M_TYPE])
        ok &= mb_type(L, v[M_TYPE], ctx, &r->type);
    else if (bits)
        r->type = EV_MB_BOOL;
    if (v[M_ORDER])
        ok &= mb_order(L, v[M_ORDER], ctx, &r->order);
    if (!ok)
        return false;
    if (bits != (r->type == EV_MB_BOOL) && (v[M_TYPE] || r->type != EV_MB_NTYPES)) {
        fail(L, v[M_TYPE] ? v[M_TYPE] : n, "%s: type %s does not go with function %u (%s)", ctx,
             ev_mb_type_name(r->type), r->fc,
             bits ? "coils and discrete inputs are bool" : "registers are not bool");
        return false;
    }
    if (r->type == EV_MB_NTYPES) {
        fail(L, n, "%s: missing type (int16, uint16, int32, uint32, int64, uint64, float32, "
                   "float64; or defaults.type)", ctx);
        return false;
    }
    unsigned words = ev_mb_type_words(r->type);
    if ((unsigned)r->addr + words > 65536u) {
        fail(L, v[M_REGISTER], "%s: register: %s at %u runs past register 65535", ctx,
             ev_mb_type_name(r->type), r->addr);
        return false;
    }
    if (v[M_BIT] || v[M_WIDTH]) {
        unsigned nbits = 16 * words;
        int64_t bit = 0, width = 1;
        if (r->type == EV_MB_BOOL || r->type == EV_MB_FLOAT32 || r->type == EV_MB_FLOAT64 ||
            ev_mb_type_signed(r->type)) {
            fail(L, v[M_BIT] ? v[M_BIT] : v[M_WIDTH], "%s: bit fields need an unsigned integer "
                 "type (uint16, uint32, uint64)", ctx);
            return false;
        }
        if ((v[M_BIT] && !int_in(L, v[M_BIT], ctx, "bit", 0, nbits - 1, &bit)) ||
            (v[M_WIDTH] && !int_in(L, v[M_WIDTH], ctx, "width", 1, nbits - bit, &width)))
            return false;
        r->bit = (uint8_t)bit;
        r->width = (uint8_t)width;
    }
    return true;
}

static void parse_modbus_metric(loader *L, yaml_node_t *n, size_t pos)
{
    ev_profile *p = L->p;
    yaml_node_t *v[M_COUNT];
    char ctx[160];
    metric_context(L, n, pos, ctx, sizeof ctx);
    if (!get_fields(L, n, ctx, modbus_keys, v))
        return;

    ev_metric *m = metric_begin(L, n);
    m->scalar = true;

    const char *name = required(L, n, v[M_NAME], ctx, "name");
    if (name) {
        if (!is_name(name))
            fail(L, v[M_NAME], "%s: name '%s' may only hold letters, digits, _ - .", ctx, name);
        for (size_t i = 0; i < p->nmetrics; i++)
            if (p->metrics[i].name && !strcmp(p->metrics[i].name, name))
                fail(L, v[M_NAME], "%s: duplicate metric name (first at line %u)", ctx, p->metrics[i].line);
        m->name = ev_pool_strdup(&p->pool, name);
    }
    ev_mb_read r;
    if (mb_read_of(L, n, v, ctx, &r))
        m->col = mb_fetch_add(L, &r);

    const char *meas = required(L, n, v[M_MEASUREMENT], ctx, "measurement");
    const char *field = required(L, n, v[M_FIELD], ctx, "field");
    m->measurement = meas ? ev_pool_strdup(&p->pool, meas) : NULL;
    m->field = field ? ev_pool_strdup(&p->pool, field) : NULL;
    check_names(L, m, v[M_MEASUREMENT], v[M_FIELD], ctx);
    parse_scale_offset(L, m, v[M_SCALE], v[M_OFFSET], ctx);
    if (v[M_SENTINELS])
        parse_sentinels(L, m, v[M_SENTINELS], ctx);
    if (v[M_SF]) {
        int64_t a;
        if (int_in(L, v[M_SF], ctx, "scale_factor_register", 0, 65535, &a)) {
            if (r.fc <= 2)
                fail(L, v[M_SF], "%s: scale_factor_register: needs a register function (3 or 4)", ctx);
            ev_mb_read sf = {.fc = r.fc, .addr = (uint16_t)a, .type = EV_MB_INT16};
            m->sf_col = mb_fetch_add(L, &sf);
        }
    }
    if (v[M_TAGS])
        parse_tags(L, m, v[M_TAGS], ctx);
    if (v[M_DESCRIPTION] && !scalar_of(v[M_DESCRIPTION]))
        fail(L, v[M_DESCRIPTION], "%s: description: expected a string", ctx);
    p->nmetrics++;
}

/* `defaults: {function: 3, type: float32, order: CDAB}` */
static void parse_modbus_defaults(loader *L, yaml_node_t *n)
{
    static const char *const keys[] = {"function", "type", "order", NULL};
    yaml_node_t *v[3];
    int64_t x;
    if (L->p->protocol != EV_PROTO_MODBUS) {
        fail(L, n, "profile: defaults: only for Modbus profiles (protocol: modbus)");
        return;
    }
    if (!get_fields(L, n, "defaults", keys, v))
        return;
    if (v[0] && int_in(L, v[0], "defaults", "function", 1, 4, &x))
        L->def_fc = (uint8_t)x;
    if (v[1])
        mb_type(L, v[1], "defaults", &L->def_type);
    if (v[2])
        mb_order(L, v[2], "defaults", &L->def_order);
}

ev_protocol ev_profile_protocol(const ev_profile *p)
{
    return p->protocol;
}

const ev_mb_read *ev_profile_modbus_reads(const ev_profile *p, size_t *n)
{
    *n = p->protocol == EV_PROTO_MODBUS ? p->nfetch : 0;
    return p->mbreads;
}

static void parse_metrics(loader *L, yaml_node_t *n)
{
    ev_profile *p = L->p;
    if (n->type != YAML_SEQUENCE_NODE) {
        fail(L, n, "metrics: expected a list of metrics");
        return;
    }
    size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (!count) {
        fail(L, n, "metrics: empty list");
        return;
    }
    p->metrics = ev_pool_alloc(&p->pool, count * sizeof *p->metrics);
    if (!p->metrics) {
        fail(L, n, "out of memory");
        return;
    }
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = node_at(L, n->data.sequence.items.start[i]);
        if (L->p->protocol == EV_PROTO_MODBUS)
            parse_modbus_metric(L, item, i);
        else
            parse_metric(L, item, i);
    }
}

/* ---- files ------------------------------------------------------------- */

static void parse_profile(loader *L, ev_profile_set *set, yaml_node_t *root)
{
    static const char *const keys[] = {"name", "description", "maps", "metrics", "protocol",
                                       "defaults", NULL};
    yaml_node_t *v[6];
    if (!get_fields(L, root, "profile", keys, v))
        return;
    ev_profile *p = L->p;
    if (v[4]) {
        const char *proto = scalar_of(v[4]);
        if (proto && !strcmp(proto, "modbus"))
            p->protocol = EV_PROTO_MODBUS;
        else if (!proto || strcmp(proto, "snmp"))
            fail(L, v[4], "profile: protocol: unknown protocol '%s' (snmp or modbus)", proto ? proto : "?");
    }
    L->def_type = EV_MB_NTYPES;
    L->def_order = EV_MB_ABCD;
    if (v[5])
        parse_modbus_defaults(L, v[5]);
    p->line = line_of(root);
    const char *name = required(L, root, v[0], "profile", "name");
    if (name && !is_name(name))
        fail(L, v[0], "profile: name '%s' may only hold letters, digits, _ - .", name);
    if (name) {
        const ev_profile *other = ev_profiles_find(set, name);
        if (other)
            fail(L, v[0], "profile: duplicate profile name '%s' (already loaded from %s:%u)", name,
                 other->file, other->line);
        p->name = ev_pool_strdup(&p->pool, name);
    }
    if (v[1]) {
        const char *d = scalar_of(v[1]);
        if (!d)
            fail(L, v[1], "profile: description: expected a string");
        else
            p->description = ev_pool_strdup(&p->pool, d);
    }
    if (v[2])
        parse_maps(L, v[2]); /* before metrics: templates refer to maps */
    if (!v[3])
        fail(L, root, "profile: missing metrics");
    else
        parse_metrics(L, v[3]);
}

int ev_profiles_load_file(ev_profile_set *set, const char *path, ev_diag *diag)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ev_diag_add(diag, path, 0, "cannot open profile: %s", strerror(errno));
        return -1;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        ev_diag_add(diag, path, 0, "out of memory");
        return -1;
    }
    yaml_parser_set_input_file(&parser, f);
    int rc = -1;
    if (!yaml_parser_load(&parser, &doc)) {
        ev_diag_add(diag, path, (unsigned)parser.problem_mark.line + 1, "YAML syntax error: %s%s%s",
                    parser.problem ? parser.problem : "unknown", parser.context ? " " : "",
                    parser.context ? parser.context : "");
        goto out_parser;
    }

    loader L = {.file = path, .doc = &doc, .diag = diag};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        ev_diag_add(diag, path, 0, "empty file (expected a profile: name, metrics, ...)");
        goto out_doc;
    }
    L.p = calloc(1, sizeof *L.p);
    if (!L.p) {
        ev_diag_add(diag, path, 0, "out of memory");
        goto out_doc;
    }
    L.p->file = ev_pool_strdup(&L.p->pool, path);
    parse_profile(&L, set, root);
    if (L.errors || !L.p->file || ev_profiles_add(set, L.p) < 0) {
        ev_profile_free(L.p);
        goto out_doc;
    }
    rc = 0;
out_doc:
    yaml_document_delete(&doc);
out_parser:
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}

static int yaml_file(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    if (d->d_name[0] == '.')
        return 0;
    return (n > 5 && !strcmp(d->d_name + n - 5, ".yaml")) || (n > 4 && !strcmp(d->d_name + n - 4, ".yml"));
}

ev_profile_set *ev_profiles_load_dir(const char *dir, ev_diag *diag)
{
    struct dirent **names;
    int n = scandir(dir, &names, yaml_file, alphasort);
    if (n < 0) {
        ev_diag_add(diag, dir, 0, "cannot read profile directory: %s", strerror(errno));
        return NULL;
    }
    ev_profile_set *set = ev_profiles_new();
    for (int i = 0; i < n; i++) {
        char *path = NULL;
        if (set && asprintf(&path, "%s/%s", dir, names[i]->d_name) >= 0) {
            ev_profiles_load_file(set, path, diag);
            free(path);
        }
        free(names[i]);
    }
    free(names);
    if (!set)
        ev_diag_add(diag, dir, 0, "out of memory");
    return set;
}
