/*
 * config_read.c - reading YAML nodes through section tables, with every
 * problem reported as FILE:LINE: message (see config_read.h).
 */
#include "agent/config_read.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- load context and diagnostics ------------------------------------ */



void cfg_error(cfg_ctx *cx, unsigned line, const char *fmt, ...)
{
    char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    int rc = vasprintf(&msg, fmt, ap);
    va_end(ap);
    cx->nerr++; /* counted even when it cannot be kept: the file stays rejected */
    if (rc < 0)
        return;
    if (cx->nerrs == cx->caperrs) {
        size_t cap = cx->caperrs ? 2 * cx->caperrs : 16;
        cfg_problem *e = realloc(cx->errs, cap * sizeof *e);
        if (!e) {
            free(msg);
            return;
        }
        cx->errs = e;
        cx->caperrs = cap;
    }
    cx->errs[cx->nerrs] = (cfg_problem){.line = line, .seq = cx->nerrs, .msg = msg};
    cx->nerrs++;
}

static int cmp_err(const void *a, const void *b)
{
    const cfg_problem *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Hand our problems to the caller's diag, in line order. */
void cfg_flush_errors(cfg_ctx *cx)
{
    if (cx->nerrs > 1)
        qsort(cx->errs, cx->nerrs, sizeof *cx->errs, cmp_err);
    for (size_t i = 0; i < cx->nerrs; i++) {
        ev_diag_add(cx->diag, cx->file, cx->errs[i].line, "%s", cx->errs[i].msg);
        free(cx->errs[i].msg);
    }
    free(cx->errs);
    cx->errs = NULL;
    cx->nerrs = cx->caperrs = 0;
}

char *cfg_strdup(cfg_ctx *cx, unsigned line, const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        cfg_error(cx, line, "out of memory");
    return d;
}

/* ---- YAML node helpers ------------------------------------------------ */

unsigned cfg_line(const yaml_node_t *n)
{
    return (unsigned)n->start_mark.line + 1;
}

yaml_node_t *cfg_node(cfg_ctx *cx, int id)
{
    return yaml_document_get_node(cx->doc, id);
}

const char *cfg_text(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* Absent, "~", "null" and empty values all mean "not set". */
bool cfg_is_null(const yaml_node_t *n)
{
    if (!n)
        return true;
    if (n->type != YAML_SCALAR_NODE)
        return false;
    const char *s = cfg_text(n);
    if (!*s)
        return true;
    return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (!strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"));
}

/* "a mapping", "a list" or the scalar quoted, for "expected X, got Y". */
const char *cfg_describe(const yaml_node_t *n, char *buf, size_t len)
{
    if (n->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE)
        return "a list";
    snprintf(buf, len, "'%.60s'", cfg_text(n));
    return buf;
}

/* Field label for messages: section "snmp" + key "retries" -> "snmp.retries";
 * a section ending in ':' ("device 'x':") is joined with a space. */
void cfg_label(char *buf, size_t len, const char *sect, const char *key)
{
    size_t n = strlen(sect);
    if (!n)
        snprintf(buf, len, "%s", key);
    else if (sect[n - 1] == ':')
        snprintf(buf, len, "%s %s", sect, key);
    else
        snprintf(buf, len, "%s.%s", sect, key);
}

/* A scalar's text, or NULL (with an error when it is a list or mapping,
 * reported at the key's line: a block value starts on the next one). */
const char *cfg_scalar(cfg_ctx *cx, const yaml_node_t *k, const yaml_node_t *v, const char *label,
                                 const char *what)
{
    char b[80];
    if (cfg_is_null(v))
        return NULL;
    if (v->type != YAML_SCALAR_NODE) {
        cfg_error(cx, cfg_line(k), "%s: expected %s, got %s", label, what, cfg_describe(v, b, sizeof b));
        return NULL;
    }
    return cfg_text(v);
}

/* A section's value: true when it is a mapping to read; null is an empty
 * section (false, no error); anything else is an error. */
bool cfg_expect_map(cfg_ctx *cx, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    char b[80];
    if (cfg_is_null(v))
        return false;
    if (v->type != YAML_MAPPING_NODE) {
        cfg_error(cx, cfg_line(k), "%s: expected a mapping, got %s", label, cfg_describe(v, b, sizeof b));
        return false;
    }
    return true;
}

/* ---- value parsers ---------------------------------------------------- */

long long ev_parse_duration_ms(const char *s)
{
    static const struct {
        const char *unit;
        long long ms;
    } units[] = {{"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};

    if (!s || !isdigit((unsigned char)*s))
        return -1;
    const char *p = s;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(p, units[i].unit))
            continue;
        double v = strtod(s, NULL) * (double)units[i].ms;
        if (!(v < 9e15)) /* also catches NaN */
            return -1;
        return (long long)(v + 0.5);
    }
    return -1;
}

bool cfg_parse_uint(const char *s, unsigned long long *out)
{
    if (!isdigit((unsigned char)*s))
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

int cfg_parse_bool(const char *s)
{
    static const char *yes[] = {"true", "yes", "on"}, *no[] = {"false", "no", "off"};
    for (size_t i = 0; i < 3; i++) {
        if (!strcasecmp(s, yes[i]))
            return 1;
        if (!strcasecmp(s, no[i]))
            return 0;
    }
    return -1;
}

/* 90000 -> "90s", 300000 -> "5m": durations in messages read like the file. */
const char *cfg_fmt_ms(unsigned long ms, char *buf, size_t len)
{
    if (ms && ms % 3600000 == 0)
        snprintf(buf, len, "%luh", ms / 3600000);
    else if (ms && ms % 60000 == 0)
        snprintf(buf, len, "%lum", ms / 60000);
    else if (ms && ms % 1000 == 0)
        snprintf(buf, len, "%lus", ms / 1000);
    else
        snprintf(buf, len, "%lums", ms);
    return buf;
}

/* Edit distance, for "did you mean". Keys are short; longer ones are cut. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strnlen(a, 63), lb = strnlen(b, 63);
    size_t row[64];

    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The closest of names[] to s, or NULL when none is close enough. */
const char *cfg_closest(const char *s, const char *const *names, size_t n)
{
    size_t len = strlen(s), limit = len < 4 ? 1 : len < 9 ? 2 : 3;
    const char *best = NULL;
    size_t bestd = limit + 1;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(s, names[i]), common = 0;
        while (s[common] && tolower((unsigned char)s[common]) == tolower((unsigned char)names[i][common]))
            common++;
        if (common >= 4 && d > 1) /* a shared stem counts: "retry" -> "retries" */
            d--;
        if (d < bestd) {
            bestd = d;
            best = names[i];
        }
    }
    return best;
}

/* ---- section tables --------------------------------------------------- */



/* Position of key in t, for reading its line out of a seen[] array. */
size_t cfg_key_at(const cfg_table *t, const char *key)
{
    size_t i = 0;
    while (i < t->n && strcmp(t->f[i].key, key))
        i++;
    return i;
}

void cfg_unknown_key(cfg_ctx *cx, unsigned line, const char *key, const cfg_table *t, const char *sect)
{
    const char *names[MAX_KEYS];
    char pfx[200] = "", known[400] = "";
    size_t used = 0;

    if (*sect)
        snprintf(pfx, sizeof pfx, "%s%s ", sect, sect[strlen(sect) - 1] == ':' ? "" : ":");
    for (size_t i = 0; i < t->n; i++) {
        names[i] = t->f[i].key;
        int w = snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", names[i]);
        if (w > 0 && (size_t)w < sizeof known - used)
            used += (size_t)w;
    }
    if (t->misplaced && cfg_key_at(t->misplaced, key) < t->misplaced->n) {
        cfg_error(cx, line, "%sunknown key '%s' (it belongs under '%s:')", pfx, key, t->misplaced_in);
        return;
    }
    const char *near = cfg_closest(key, names, t->n);
    if (near) {
        cfg_error(cx, line, "%sunknown key '%s' (did you mean '%s'?)", pfx, key, near);
        return;
    }
    if (t->misplaced) { /* a typo of a key that belongs below, e.g. 'comunity' on a device */
        const char *below[MAX_KEYS];
        for (size_t i = 0; i < t->misplaced->n; i++)
            below[i] = t->misplaced->f[i].key;
        if ((near = cfg_closest(key, below, t->misplaced->n))) {
            cfg_error(cx, line, "%sunknown key '%s' (did you mean '%s' under '%s:'?)", pfx, key, near, t->misplaced_in);
            return;
        }
    }
    if (!strcmp(key, "<<")) {
        cfg_error(cx, line, "%sYAML merge keys ('<<') are not supported", pfx);
        return;
    }
    cfg_error(cx, line, "%sunknown key '%s' (known keys: %s)", pfx, key, known);
}

void cfg_read_value(cfg_ctx *cx, const cfg_field *f, void *obj, const yaml_node_t *k, const yaml_node_t *v,
                       const char *label)
{
    char b[32], b2[32];
    const char *s;
    unsigned long long u;
    int bv;

    if (f->required && cfg_is_null(v)) {
        cfg_error(cx, cfg_line(k), "%s: must not be empty", label);
        return;
    }
    switch (f->kind) {
    case K_CUSTOM:
        f->fn(cx, obj, k, v, label);
        return;
    case K_STR:
    case K_NAME:
        if (!(s = cfg_scalar(cx, k, v, label, "a string")))
            return;
        if (f->kind == K_NAME && strpbrk(s, "/+# \t\r\n")) {
            cfg_error(cx, cfg_line(v), "%s: '%s' must not contain '/', '+', '#' or blanks "
                "(it becomes an MQTT topic level)", label, s);
            return;
        }
        free(*AT(obj, f->off, char *));
        *AT(obj, f->off, char *) = cfg_strdup(cx, cfg_line(v), s);
        return;
    case K_UINT:
    case K_INT:
        if (!(s = cfg_scalar(cx, k, v, label, "a number")))
            return;
        if (!cfg_parse_uint(s, &u) || u < f->min || u > f->max) {
            cfg_error(cx, cfg_line(v), "%s: expected a whole number %lu..%lu, got '%s'", label, f->min, f->max, s);
            return;
        }
        if (f->kind == K_UINT)
            *AT(obj, f->off, unsigned) = (unsigned)u;
        else
            *AT(obj, f->off, int) = (int)u;
        return;
    case K_DURATION:
        if (!(s = cfg_scalar(cx, k, v, label, "a duration")))
            return;
        long long ms = ev_parse_duration_ms(s);
        if (ms < 0) {
            cfg_error(cx, cfg_line(v), "%s: bad duration '%s' (use e.g. 500ms, 10s, 5m, 1h, or bare seconds)",
                label, s);
            return;
        }
        if ((unsigned long long)ms < f->min || (unsigned long long)ms > f->max) {
            cfg_error(cx, cfg_line(v), "%s: duration '%s' out of range (%s..%s)", label, s,
                cfg_fmt_ms(f->min, b, sizeof b), cfg_fmt_ms(f->max, b2, sizeof b2));
            return;
        }
        *AT(obj, f->off, unsigned) = (unsigned)ms;
        return;
    case K_BOOL:
        if (!(s = cfg_scalar(cx, k, v, label, "true or false")))
            return;
        if ((bv = cfg_parse_bool(s)) < 0) {
            cfg_error(cx, cfg_line(v), "%s: expected true or false, got '%s'", label, s);
            return;
        }
        *AT(obj, f->off, bool) = bv;
        return;
    }
}

/* Read a mapping through a table into obj. seen[i] (if given, t->n long)
 * gets the line of key i, or stays 0 when the key is absent. */
void cfg_read_map(cfg_ctx *cx, const yaml_node_t *map, const cfg_table *t, void *obj, const char *sect,
                     unsigned *seen)
{
    unsigned local[MAX_KEYS] = {0};
    char label[256], b[80];

    if (!seen)
        seen = local;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = cfg_node(cx, p->key), *v = cfg_node(cx, p->value);
        if (k->type != YAML_SCALAR_NODE) {
            cfg_error(cx, cfg_line(k), "%s%sexpected a key name, got %s", sect, *sect ? ": " : "",
                cfg_describe(k, b, sizeof b));
            continue;
        }
        const char *key = cfg_text(k);
        size_t i = cfg_key_at(t, key);
        bool indirect = false; /* a secret's KEY_file / KEY_env */
        if (i == t->n && (i = cfg_secret_field(t, key)) < t->n)
            indirect = true;
        if (i == t->n) {
            cfg_unknown_key(cx, cfg_line(k), key, t, sect);
            continue;
        }
        cfg_label(label, sizeof label, sect, key);
        if (seen[i]) {
            if (t->f[i].secret)
                cfg_error(cx, cfg_line(k), "%s: give only one of %s, %s_file and %s_env (first at line %u)",
                    label, t->f[i].key, t->f[i].key, t->f[i].key, seen[i]);
            else
                cfg_error(cx, cfg_line(k), "%s: duplicate key (first at line %u)", label, seen[i]);
            continue;
        }
        seen[i] = cfg_line(k);
        if (indirect) {
            yaml_node_t secret;
            char *buf;
            if (cfg_secret_read(cx, k, v, label, &secret, &buf))
                cfg_read_value(cx, &t->f[i], obj, k, &secret, label);
            free(buf);
            continue;
        }
        if (t->f[i].secret && !cfg_is_null(v) && !cx->inline_secret_line)
            cx->inline_secret_line = cfg_line(k);
        cfg_read_value(cx, &t->f[i], obj, k, v, label);
    }
}

