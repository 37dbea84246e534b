/*
 * alert_rules.c - rule files (YAML) -> ev_alert_rules, every problem as
 * FILE:LINE: message (alert_rule.h; the format is in docs/ALERTS.md).
 *
 * Each rule is read through one cfg_table (config_read.h), like a section
 * of the agent's config: unknown keys get a "did you mean", values are
 * typed. Checks that span keys run once a rule is read: required keys, at
 * least one level, warn/crit/clear/crit_clear in the order the direction
 * needs, missing_severity only with missing. A file with any problem adds
 * no rule at all.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "agent/alert_rule.h"
#include "agent/config_read.h"

/* ---- custom readers ---------------------------------------------------- */

static void read_level(cfg_ctx *cx, double *dst, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    const char *t = cfg_scalar(cx, k, v, label, "a number");
    char *end;
    if (!t)
        return;
    errno = 0;
    double d = strtod(t, &end);
    if (end == t || *end || errno || !isfinite(d)) {
        cfg_error(cx, cfg_line(v), "%s: expected a number, got '%s'", label, t);
        return;
    }
    *dst = d;
}

static void r_warn(cfg_ctx *cx, void *o, const yaml_node_t *k, const yaml_node_t *v, const char *l)
{
    read_level(cx, &((ev_alert_rule *)o)->warn, k, v, l);
}
static void r_crit(cfg_ctx *cx, void *o, const yaml_node_t *k, const yaml_node_t *v, const char *l)
{
    read_level(cx, &((ev_alert_rule *)o)->crit, k, v, l);
}
static void r_clear(cfg_ctx *cx, void *o, const yaml_node_t *k, const yaml_node_t *v, const char *l)
{
    read_level(cx, &((ev_alert_rule *)o)->clear, k, v, l);
}
static void r_crit_clear(cfg_ctx *cx, void *o, const yaml_node_t *k, const yaml_node_t *v, const char *l)
{
    read_level(cx, &((ev_alert_rule *)o)->crit_clear, k, v, l);
}

static void r_direction(cfg_ctx *cx, void *o, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    const char *t = cfg_scalar(cx, k, v, label, "above or below");
    if (!t)
        return;
    if (!strcmp(t, "above"))
        ((ev_alert_rule *)o)->dir = EV_ALERT_ABOVE;
    else if (!strcmp(t, "below"))
        ((ev_alert_rule *)o)->dir = EV_ALERT_BELOW;
    else
        cfg_error(cx, cfg_line(v), "%s: expected above or below, got '%s'", label, t);
}

static void r_missing_severity(cfg_ctx *cx, void *o, const yaml_node_t *k, const yaml_node_t *v,
                               const char *label)
{
    const char *t = cfg_scalar(cx, k, v, label, "warn or crit");
    if (!t)
        return;
    if (!strcmp(t, "warn"))
        ((ev_alert_rule *)o)->missing_level = EV_ALERT_WARN;
    else if (!strcmp(t, "crit"))
        ((ev_alert_rule *)o)->missing_level = EV_ALERT_CRIT;
    else
        cfg_error(cx, cfg_line(v), "%s: expected warn or crit, got '%s'", label, t);
}

/* for: a duration (5m, 30s, 90) or "N samples". */
static void r_for(cfg_ctx *cx, void *o, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_alert_rule *r = o;
    const char *t = cfg_scalar(cx, k, v, label, "a duration or 'N samples'");
    unsigned n;
    int used = 0;
    if (!t)
        return;
    if (sscanf(t, "%u sample%n", &n, &used) == 1 && used && (!t[used] || !strcmp(t + used, "s"))) {
        if (n < 1 || n > 10000)
            cfg_error(cx, cfg_line(v), "%s: '%s' out of range (1..10000 samples)", label, t);
        else
            r->for_samples = n;
        return;
    }
    long long ms = ev_parse_duration_ms(t);
    if (ms < 0 || ms > 7LL * 86400000) {
        cfg_error(cx, cfg_line(v), "%s: expected a duration (30s, 5m, up to 7 days) or 'N samples', got '%s'",
            label, t);
        return;
    }
    r->for_ms = (unsigned)ms;
}

/* Tags a selector may name: the contract's (BRIEF section 6, docs/PROFILES.md). */
static const char *const known_tags[] = {"site", "hall", "row", "rack", "device", "feed", "role", "phase",
                                         "outlet", "breaker", "inlet", "side", "sensor", "scope", "window",
                                         "category", "agent"};
#define NKNOWN_TAGS (sizeof known_tags / sizeof known_tags[0])

static bool read_globs(cfg_ctx *cx, ev_alert_sel *s, const yaml_node_t *v, const char *label)
{
    const yaml_node_item_t *it = NULL, *end = NULL;
    size_t n = 1;
    if (v->type == YAML_SEQUENCE_NODE) {
        it = v->data.sequence.items.start;
        end = v->data.sequence.items.top;
        n = (size_t)(end - it);
    }
    if (!n || !(s->globs = calloc(n, sizeof *s->globs))) {
        cfg_error(cx, cfg_line(v), n ? "out of memory" : "%s: empty list", label);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *g = it ? cfg_node(cx, it[i]) : v;
        char b[80];
        if (g->type != YAML_SCALAR_NODE) {
            cfg_error(cx, cfg_line(g), "%s: expected a pattern, got %s", label, cfg_describe(g, b, sizeof b));
            return false;
        }
        const char *why = ev_alert_glob_problem(cfg_text(g));
        if (why) {
            cfg_error(cx, cfg_line(g), "%s: bad pattern '%s': %s", label, cfg_text(g), why);
            return false;
        }
        s->globs[s->nglobs++] = cfg_strdup(cx, cfg_line(g), cfg_text(g));
    }
    return true;
}

/* select: {tag: glob | [glob, ...], ...} */
static void r_select(cfg_ctx *cx, void *o, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_alert_rule *r = o;
    char sub[300];
    if (!cfg_expect_map(cx, k, v, label))
        return;
    size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    if (!(r->sel = calloc(n ? n : 1, sizeof *r->sel))) {
        cfg_error(cx, cfg_line(k), "out of memory");
        return;
    }
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        const yaml_node_t *tk = cfg_node(cx, p->key), *tv = cfg_node(cx, p->value);
        const char *tag = tk->type == YAML_SCALAR_NODE ? cfg_text(tk) : "?";
        size_t i = 0;
        while (i < NKNOWN_TAGS && strcmp(known_tags[i], tag))
            i++;
        if (i == NKNOWN_TAGS) {
            const char *near = cfg_closest(tag, known_tags, NKNOWN_TAGS);
            if (near)
                cfg_error(cx, cfg_line(tk), "%s: unknown tag '%s' (did you mean '%s'?)", label, tag, near);
            else
                cfg_error(cx, cfg_line(tk), "%s: unknown tag '%s' (known tags: site, hall, row, rack, device, "
                    "feed, role, phase, outlet, breaker, inlet, side, sensor, scope, window, category, agent)",
                    label, tag);
            continue;
        }
        for (size_t j = 0; j < r->nsel; j++)
            if (!strcmp(r->sel[j].tag, tag))
                cfg_error(cx, cfg_line(tk), "%s: duplicate tag '%s'", label, tag);
        snprintf(sub, sizeof sub, "%s.%s", label, tag);
        if (cfg_is_null(tv)) {
            cfg_error(cx, cfg_line(tk), "%s: must not be empty", sub);
            continue;
        }
        ev_alert_sel *s = &r->sel[r->nsel++];
        s->tag = cfg_strdup(cx, cfg_line(tk), tag);
        read_globs(cx, s, tv, sub);
    }
}

/* labels: {key: value, ...}, added to the alert's labels (Alertmanager). */
static void r_labels(cfg_ctx *cx, void *o, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_alert_rule *r = o;
    char b[80];
    if (!cfg_expect_map(cx, k, v, label))
        return;
    size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    if (!(r->labels = calloc(n ? n : 1, sizeof *r->labels))) {
        cfg_error(cx, cfg_line(k), "out of memory");
        return;
    }
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        const yaml_node_t *lk = cfg_node(cx, p->key), *lv = cfg_node(cx, p->value);
        if (lk->type != YAML_SCALAR_NODE || lv->type != YAML_SCALAR_NODE || cfg_is_null(lv)) {
            cfg_error(cx, cfg_line(lk), "%s: expected 'name: value' text, got %s", label,
                cfg_describe(lv, b, sizeof b));
            continue;
        }
        const char *key = cfg_text(lk);
        bool ok = isalpha((unsigned char)key[0]) || key[0] == '_';
        for (const char *c = key; *c; c++)
            ok &= isalnum((unsigned char)*c) || *c == '_';
        if (!ok || !strcmp(key, "alertname") || !strcmp(key, "severity")) {
            cfg_error(cx, cfg_line(lk), "%s: bad label name '%s' (letters, digits, '_'; not alertname or severity)",
                label, key);
            continue;
        }
        r->labels[r->nlabels].key = cfg_strdup(cx, cfg_line(lk), key);
        r->labels[r->nlabels++].val = cfg_strdup(cx, cfg_line(lv), cfg_text(lv));
    }
}

static void r_template(cfg_ctx *cx, void *o, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    const char *t = cfg_scalar(cx, k, v, label, "a string");
    if (!t)
        return;
    int depth = 0;
    for (const char *c = t; *c; c++) {
        depth += *c == '{';
        depth -= *c == '}';
        if (depth < 0 || depth > 1) {
            cfg_error(cx, cfg_line(v), "%s: unbalanced '{' '}' in template", label);
            return;
        }
    }
    if (depth) {
        cfg_error(cx, cfg_line(v), "%s: '{' without a closing '}' in template", label);
        return;
    }
    ev_alert_rule *r = o;
    free(r->description);
    r->description = cfg_strdup(cx, cfg_line(v), t);
}

static const cfg_field rule_fields[] = {
    {.key = "name", .kind = K_NAME, .off = offsetof(ev_alert_rule, name), .required = true},
    {.key = "description", .kind = K_CUSTOM, .fn = r_template},
    {.key = "measurement", .kind = K_NAME, .off = offsetof(ev_alert_rule, measurement), .required = true},
    {.key = "field", .kind = K_NAME, .off = offsetof(ev_alert_rule, field), .required = true},
    {.key = "select", .kind = K_CUSTOM, .fn = r_select},
    {.key = "direction", .kind = K_CUSTOM, .fn = r_direction, .required = true},
    {.key = "warn", .kind = K_CUSTOM, .fn = r_warn, .required = true},
    {.key = "crit", .kind = K_CUSTOM, .fn = r_crit, .required = true},
    {.key = "clear", .kind = K_CUSTOM, .fn = r_clear, .required = true},
    {.key = "crit_clear", .kind = K_CUSTOM, .fn = r_crit_clear, .required = true},
    {.key = "for", .kind = K_CUSTOM, .fn = r_for, .required = true},
    {.key = "missing", .kind = K_DURATION, .off = offsetof(ev_alert_rule, missing_ms), .min = 100,
     .max = 7u * 86400000u},
    {.key = "missing_severity", .kind = K_CUSTOM, .fn = r_missing_severity},
    {.key = "labels", .kind = K_CUSTOM, .fn = r_labels},
};
static const cfg_table rule_table = {FIELDS(rule_fields), NULL, NULL};
#define SEEN(key) seen[cfg_key_at(&rule_table, key)]

/* ---- checks that span keys --------------------------------------------- */

/* Fields of the contract's measurements (BRIEF section 6, docs/PROFILES.md,
 * docs/ENERGY.md); other measurements take any field. */
static const struct {
    const char *m;
    const char *const f[12];
} known_fields[] = {
    {"power", {"active_power_w", "apparent_power_va", "power_factor", "current_a", "voltage_v", "energy_wh",
               "frequency_hz", "load_pct"}},
    {"environment", {"temperature_c", "humidity_pct"}},
    {"ups", {"battery_charge_pct", "runtime_s", "on_battery_s", "battery_voltage_v", "battery_current_a",
             "battery_temperature_c", "battery_status"}},
    {"pue", {"pue", "dcie", "facility_energy_wh", "it_energy_wh", "coverage", "partial", "meters_expected",
             "meters_reporting"}},
    {"headroom", {"capacity_w", "usable_w", "demand_w", "peak_w", "headroom_w", "headroom_pct",
                  "days_to_exhaustion", "arc_w", "facility_power_w", "it_power_w"}},
};

static void check_field(cfg_ctx *cx, const ev_alert_rule *r, unsigned line, const char *sect)
{
    for (size_t i = 0; i < sizeof known_fields / sizeof known_fields[0]; i++) {
        if (strcmp(known_fields[i].m, r->measurement))
            continue;
        size_t n = 0;
        while (n < 12 && known_fields[i].f[n])
            n++;
        for (size_t j = 0; j < n; j++)
            if (!strcmp(known_fields[i].f[j], r->field))
                return;
        const char *near = cfg_closest(r->field, known_fields[i].f, n);
        cfg_error(cx, line, "%s field: '%s' is not a field of measurement '%s'%s%s%s", sect, r->field,
            r->measurement, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
        return;
    }
}

/* beyond(a, b): a is past b in the rule's direction. */
static bool beyond(const ev_alert_rule *r, double a, double b)
{
    return r->dir == EV_ALERT_ABOVE ? a > b : a < b;
}

/* Levels in the order the direction needs: for above,
 * clear <= warn < crit and clear <= crit_clear <= crit (mirrored for below). */
static void check_levels(cfg_ctx *cx, ev_alert_rule *r, const unsigned *seen, const char *sect)
{
    const char *dir = r->dir == EV_ALERT_ABOVE ? "above" : "below";
    const char *lower = r->dir == EV_ALERT_ABOVE ? "below" : "above";
    r->has_warn = SEEN("warn");
    r->has_crit = SEEN("crit");
    if (!r->has_warn && !r->has_crit) {
        cfg_error(cx, r->line, "%s needs a level: warn, crit or both", sect);
        return;
    }
    if (r->has_warn && r->has_crit && !beyond(r, r->crit, r->warn))
        cfg_error(cx, SEEN("crit"), "%s crit: for direction %s, crit (%g) must be %s warn (%g)", sect, dir, r->crit,
            dir, r->warn);
    double first = r->has_warn ? r->warn : r->crit;
    if (!SEEN("clear"))
        r->clear = first;
    else if (beyond(r, r->clear, first))
        cfg_error(cx, SEEN("clear"), "%s clear: for direction %s, clear (%g) must be at or %s %s (%g)", sect, dir,
            r->clear, lower, r->has_warn ? "warn" : "crit", first);
    if (!SEEN("crit_clear")) {
        r->crit_clear = r->crit;
    } else if (!r->has_warn || !r->has_crit) {
        cfg_error(cx, SEEN("crit_clear"), "%s crit_clear: only with both warn and crit (without warn, crit "
            "resolves at clear)", sect);
    } else if (beyond(r, r->crit_clear, r->crit) || beyond(r, r->clear, r->crit_clear)) {
        cfg_error(cx, SEEN("crit_clear"), "%s crit_clear: for direction %s, crit_clear (%g) must be between clear "
            "(%g) and crit (%g)", sect, dir, r->crit_clear, r->clear, r->crit);
    }
    if (SEEN("missing_severity") && !SEEN("missing"))
        cfg_error(cx, SEEN("missing_severity"), "%s missing_severity: only with missing (a duration)", sect);
}

static void read_rule(cfg_ctx *cx, const yaml_node_t *item, size_t idx, ev_alert_rule *r)
{
    unsigned seen[MAX_KEYS] = {0};
    char sect[160], b[80];

    r->line = cfg_line(item);
    r->missing_level = EV_ALERT_WARN;
    r->file = cfg_strdup(cx, r->line, cx->file);
    if (item->type != YAML_MAPPING_NODE) {
        cfg_error(cx, r->line, "rules: item %zu: expected a mapping, got %s", idx + 1,
            cfg_describe(item, b, sizeof b));
        return;
    }
    snprintf(sect, sizeof sect, "rule #%zu:", idx + 1);
    for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = cfg_node(cx, p->key), *v = cfg_node(cx, p->value);
        if (k->type == YAML_SCALAR_NODE && !strcmp(cfg_text(k), "name") && v->type == YAML_SCALAR_NODE &&
            !cfg_is_null(v))
            snprintf(sect, sizeof sect, "rule '%.100s':", cfg_text(v));
    }
    cfg_read_map(cx, item, &rule_table, r, sect, seen);
    static const char *const required[] = {"name", "measurement", "field", "direction"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!SEEN(required[i]))
            cfg_error(cx, r->line, "%s missing required field '%s'", sect, required[i]);
    if (r->measurement && r->field)
        check_field(cx, r, SEEN("field"), sect);
    if (SEEN("direction"))
        check_levels(cx, r, seen, sect);
}

static void rule_free(ev_alert_rule *r)
{
    for (size_t i = 0; i < r->nsel; i++) {
        for (size_t j = 0; j < r->sel[i].nglobs; j++)
            free(r->sel[i].globs[j]);
        free(r->sel[i].globs);
        free(r->sel[i].tag);
    }
    free(r->sel);
    for (size_t i = 0; i < r->nlabels; i++) {
        free(r->labels[i].key);
        free(r->labels[i].val);
    }
    free(r->labels);
    free(r->name);
    free(r->description);
    free(r->measurement);
    free(r->field);
    free(r->file);
}

/* ---- files ------------------------------------------------------------- */

static bool parse_file(cfg_ctx *cx, FILE *f, yaml_document_t *doc)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        cfg_error(cx, 0, "out of memory");
        return false;
    }
    yaml_parser_set_input_file(&p, f);
    bool ok = yaml_parser_load(&p, doc);
    if (!ok && p.context && p.context_mark.line != p.problem_mark.line)
        cfg_error(cx, (unsigned)p.problem_mark.line + 1, "YAML syntax error: %s (%s at line %u)",
            p.problem ? p.problem : "cannot parse", p.context, (unsigned)p.context_mark.line + 1);
    else if (!ok)
        cfg_error(cx, (unsigned)p.problem_mark.line + 1, "YAML syntax error: %s",
            p.problem ? p.problem : "cannot parse");
    yaml_parser_delete(&p);
    return ok;
}

/* Rules of one file into a fresh array; duplicates within the file are errors. */
static void read_rules(cfg_ctx *cx, const yaml_node_t *root, ev_alert_rules *out)
{
    char b[80];
    const yaml_node_t *seq = NULL;
    unsigned rules_line = 1;

    if (!root || cfg_is_null(root)) {
        cfg_error(cx, 1, "empty rules file (expected 'rules:' and a list of rules)");
        return;
    }
    if (root->type != YAML_MAPPING_NODE) {
        cfg_error(cx, cfg_line(root), "expected a mapping with 'rules:' at top level, got %s",
            cfg_describe(root, b, sizeof b));
        return;
    }
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = cfg_node(cx, p->key);
        const char *key = k->type == YAML_SCALAR_NODE ? cfg_text(k) : "?";
        if (!strcmp(key, "rules") && !seq) {
            seq = cfg_node(cx, p->value);
            rules_line = cfg_line(k);
        } else {
            cfg_error(cx, cfg_line(k), "%s key '%s' (a rules file has only 'rules:')",
                strcmp(key, "rules") ? "unknown" : "duplicate", key);
        }
    }
    if (!seq || cfg_is_null(seq))
        return;
    if (seq->type != YAML_SEQUENCE_NODE) {
        cfg_error(cx, rules_line, "rules: expected a list, got %s", cfg_describe(seq, b, sizeof b));
        return;
    }
    size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    if (!(out->v = calloc(n ? n : 1, sizeof *out->v))) {
        cfg_error(cx, rules_line, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        ev_alert_rule *r = &out->v[out->n++];
        read_rule(cx, cfg_node(cx, seq->data.sequence.items.start[i]), i, r);
        for (size_t j = 0; r->name && j + 1 < out->n; j++)
            if (out->v[j].name && !strcmp(out->v[j].name, r->name))
                cfg_error(cx, r->line, "rule '%s': duplicate rule name (first at line %u)", r->name, out->v[j].line);
    }
}

/* Move the file's rules into rules: same name replaces, new ones append. */
static int merge(ev_alert_rules *rules, ev_alert_rules *add)
{
    ev_alert_rule *v = realloc(rules->v, (rules->n + add->n + 1) * sizeof *v);
    if (!v)
        return -1;
    rules->v = v;
    for (size_t i = 0; i < add->n; i++) {
        ev_alert_rule *old = (ev_alert_rule *)ev_alert_rules_find(rules, add->v[i].name);
        if (old) {
            rule_free(old);
            *old = add->v[i];
        } else {
            rules->v[rules->n++] = add->v[i];
        }
    }
    free(add->v);
    add->v = NULL;
    add->n = 0;
    return 0;
}

static size_t load_file(ev_alert_rules *rules, const char *path, ev_diag *diag)
{
    cfg_ctx cx = {.file = path, .diag = diag};
    yaml_document_t doc;
    ev_alert_rules add = {0};

    FILE *f = fopen(path, "rb");
    if (!f) {
        cfg_error(&cx, 0, "cannot open rules file: %s", strerror(errno));
    } else {
        cx.doc = &doc;
        if (parse_file(&cx, f, &doc)) {
            read_rules(&cx, yaml_document_get_root_node(&doc), &add);
            yaml_document_delete(&doc);
        }
        fclose(f);
    }
    if (!cx.nerr && merge(rules, &add) < 0)
        cfg_error(&cx, 0, "out of memory");
    ev_alert_rules_free(&add);
    cfg_flush_errors(&cx);
    return cx.nerr;
}

size_t ev_alert_rules_load(ev_alert_rules *rules, const char *const *paths, size_t npaths, ev_diag *diag)
{
    size_t nerr = 0;
    for (size_t i = 0; i < npaths; i++)
        nerr += load_file(rules, paths[i], diag);
    return nerr;
}

void ev_alert_rules_free(ev_alert_rules *rules)
{
    for (size_t i = 0; i < rules->n; i++)
        rule_free(&rules->v[i]);
    free(rules->v);
    rules->v = NULL;
    rules->n = 0;
}

const ev_alert_rule *ev_alert_rules_find(const ev_alert_rules *rules, const char *name)
{
    for (size_t i = 0; name && i < rules->n; i++)
        if (rules->v[i].name && !strcmp(rules->v[i].name, name))
            return &rules->v[i];
    return NULL;
}

const char *ev_alert_level_name(ev_alert_level l)
{
    return l == EV_ALERT_CRIT ? "crit" : l == EV_ALERT_WARN ? "warn" : "ok";
}
