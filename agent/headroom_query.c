/*
 * headroom_query.c - InfluxDB /query JSON -> headroom rows -> table, JSON
 * or CSV (headroom_query.h). json-c parses the answer and writes the JSON
 * output, so escaping and number formats are the library's, not ours.
 *
 * The query asks for the newest point of every series of the level
 * (GROUP BY * ... ORDER BY time DESC LIMIT 1): one series per node, its
 * tags naming the node.
 */
#include "agent/headroom_query.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const levels[] = {"cluster", "site", "hall", "row", "rack"};

bool ev_hr_level_ok(const char *level)
{
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
        if (!strcmp(level, levels[i]))
            return true;
    return false;
}

char *ev_hr_influxql(const char *level, const char *since)
{
    char *q = NULL;
    if (asprintf(&q, "SELECT * FROM \"headroom\" WHERE \"scope\" = '%s' AND time > now() - %s "
                     "GROUP BY * ORDER BY time DESC LIMIT 1", level, since) < 0)
        return NULL;
    return q;
}

/* ---- parsing ------------------------------------------------------------ */

static const char *tag(json_object *tags, const char *key)
{
    json_object *v;
    if (!tags || !json_object_object_get_ex(tags, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    const char *s = json_object_get_string(v);
    return *s ? s : NULL;
}

/* The node's name: the cluster's, or site/hall/row/rack as deep as the level. */
static char *node_name(json_object *tags, const char *level)
{
    if (!strcmp(level, "cluster")) {
        const char *c = tag(tags, "cluster");
        return strdup(c ? c : "cluster");
    }
    static const char *const path[] = {"site", "hall", "row", "rack"};
    size_t depth = !strcmp(level, "site") ? 1 : !strcmp(level, "hall") ? 2 : !strcmp(level, "row") ? 3 : 4;
    char buf[512];
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < depth; i++) {
        const char *v = tag(tags, path[i]);
        int w = snprintf(buf + used, sizeof buf - used, "%s%s", i ? "/" : "", v ? v : "-");
        if (w > 0 && (size_t)w < sizeof buf - used)
            used += (size_t)w;
    }
    const char *feed = tag(tags, "feed");
    if (depth == 4 && feed)
        snprintf(buf + used, sizeof buf - used, ":%s", feed);
    return strdup(buf);
}

static double value_at(json_object *row, int idx)
{
    if (idx < 0)
        return NAN;
    json_object *v = json_object_array_get_idx(row, (size_t)idx);
    if (!v || !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
        return NAN;
    return json_object_get_double(v);
}

static int column(json_object *cols, const char *name)
{
    size_t n = json_object_array_length(cols);
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(cols, i);
        if (c && json_object_is_type(c, json_type_string) && !strcmp(json_object_get_string(c), name))
            return (int)i;
    }
    return -1;
}

static int take_series(json_object *s, const char *level, ev_hr_rows *out)
{
    json_object *cols, *values, *tags = NULL;
    if (!json_object_object_get_ex(s, "columns", &cols) || !json_object_is_type(cols, json_type_array) ||
        !json_object_object_get_ex(s, "values", &values) || !json_object_is_type(values, json_type_array) ||
        !json_object_array_length(values))
        return 0;
    json_object_object_get_ex(s, "tags", &tags);
    json_object *row = json_object_array_get_idx(values, 0);
    if (!json_object_is_type(row, json_type_array))
        return 0;
    ev_hr_row r = {
        .capacity_w = value_at(row, column(cols, "capacity_w")),
        .usable_w = value_at(row, column(cols, "usable_w")),
        .peak_w = value_at(row, column(cols, "peak_w")),
        .headroom_w = value_at(row, column(cols, "headroom_w")),
        .headroom_pct = value_at(row, column(cols, "headroom_pct")),
        .days = value_at(row, column(cols, "days_to_exhaustion")),
    };
    double t = value_at(row, column(cols, "time"));
    r.time_s = isnan(t) ? 0 : (long long)t;
    ev_hr_row *rows = realloc(out->rows, (out->n + 1) * sizeof *rows);
    if (!rows || !(r.node = node_name(tags, level))) {
        if (rows)
            out->rows = rows;
        return -1;
    }
    out->rows = rows;
    out->rows[out->n++] = r;
    return 0;
}

int ev_hr_parse(const char *json, const char *level, ev_hr_rows *out, char *err, size_t len)
{
    json_object *doc = json_tokener_parse(json), *results, *e;
    int rc = -1;
    *out = (ev_hr_rows){0};
    if (!doc) {
        snprintf(err, len, "InfluxDB's answer is not JSON");
        return -1;
    }
    if (json_object_object_get_ex(doc, "error", &e)) {
        snprintf(err, len, "InfluxDB: %s", json_object_get_string(e));
        goto out;
    }
    if (!json_object_object_get_ex(doc, "results", &results) || !json_object_is_type(results, json_type_array)) {
        snprintf(err, len, "InfluxDB's answer has no results");
        goto out;
    }
    for (size_t i = 0; i < json_object_array_length(results); i++) {
        json_object *res = json_object_array_get_idx(results, i), *series;
        if (json_object_object_get_ex(res, "error", &e)) {
            snprintf(err, len, "InfluxDB: %s", json_object_get_string(e));
            goto out;
        }
        if (!json_object_object_get_ex(res, "series", &series) || !json_object_is_type(series, json_type_array))
            continue;
        for (size_t j = 0; j < json_object_array_length(series); j++)
            if (take_series(json_object_array_get_idx(series, j), level, out) < 0) {
                snprintf(err, len, "out of memory");
                goto out;
            }
    }
    rc = 0;
out:
    json_object_put(doc);
    if (rc < 0)
        ev_hr_rows_free(out);
    return rc;
}

/* ---- sorting and printing ---------------------------------------------------- */

static int cmp_num(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) - isnan(b); /* absent last */
    return (a > b) - (a < b);
}

static int cmp_rows(const void *x, const void *y)
{
    const ev_hr_row *a = x, *b = y;
    int c = cmp_num(a->headroom_pct, b->headroom_pct);
    if (!c)
        c = cmp_num(a->headroom_w, b->headroom_w);
    return c ? c : strcmp(a->node, b->node);
}

void ev_hr_sort(ev_hr_rows *r)
{
    if (r->n > 1)
        qsort(r->rows, r->n, sizeof *r->rows, cmp_rows);
}

/* "1.25 MW", "800.00 kW", "-" when absent. */
static const char *power(char *buf, size_t len, double w)
{
    double a = fabs(w);
    if (isnan(w))
        snprintf(buf, len, "-");
    else if (a >= 1e9)
        snprintf(buf, len, "%.3f GW", w / 1e9);
    else if (a >= 1e6)
        snprintf(buf, len, "%.3f MW", w / 1e6);
    else if (a >= 1e3)
        snprintf(buf, len, "%.2f kW", w / 1e3);
    else
        snprintf(buf, len, "%.0f W", w);
    return buf;
}

/* v printed with fmt, or `absent` when it is NAN. */
static const char *number(char *buf, size_t len, const char *fmt, double v, const char *absent)
{
    if (isnan(v))
        snprintf(buf, len, "%s", absent);
    else
        snprintf(buf, len, fmt, v);
    return buf;
}

static void print_table(FILE *to, const ev_hr_rows *r, const char *level)
{
    char b[6][32];
    size_t w = strlen(level);
    for (size_t i = 0; i < r->n; i++)
        if (strlen(r->rows[i].node) > w)
            w = strlen(r->rows[i].node);
    fprintf(to, "%-*s %12s %12s %12s %12s %8s %8s\n", (int)w, level, "capacity", "usable", "peak", "headroom",
            "%", "days");
    for (size_t i = 0; i < r->n; i++) {
        const ev_hr_row *x = &r->rows[i];
        fprintf(to, "%-*s %12s %12s %12s %12s %8s %8s\n", (int)w, x->node, power(b[0], 32, x->capacity_w),
                power(b[1], 32, x->usable_w), power(b[2], 32, x->peak_w), power(b[3], 32, x->headroom_w),
                number(b[4], 32, "%.1f", x->headroom_pct, "-"), number(b[5], 32, "%.1f", x->days, "-"));
    }
    if (!r->n)
        fprintf(to, "(no headroom points at level %s)\n", level);
}

static void print_csv(FILE *to, const ev_hr_rows *r, const char *level)
{
    char b[6][40];
    fprintf(to, "%s,capacity_w,usable_w,peak_w,headroom_w,headroom_pct,days_to_exhaustion,time\n", level);
    for (size_t i = 0; i < r->n; i++) {
        const ev_hr_row *x = &r->rows[i];
        bool quote = strpbrk(x->node, ",\"") != NULL; /* names are topic levels: no quotes in practice */
        fprintf(to, "%s%s%s,%s,%s,%s,%s,%s,%s,%lld\n", quote ? "\"" : "", x->node, quote ? "\"" : "",
                number(b[0], 40, "%.12g", x->capacity_w, ""), number(b[1], 40, "%.12g", x->usable_w, ""),
                number(b[2], 40, "%.12g", x->peak_w, ""), number(b[3], 40, "%.12g", x->headroom_w, ""),
                number(b[4], 40, "%.12g", x->headroom_pct, ""), number(b[5], 40, "%.12g", x->days, ""), x->time_s);
    }
}

static void put_num(json_object *o, const char *key, double v)
{
    json_object_object_add(o, key, isnan(v) ? NULL : json_object_new_double(v));
}

static void print_json(FILE *to, const ev_hr_rows *r, const char *level)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; arr && i < r->n; i++) {
        const ev_hr_row *x = &r->rows[i];
        json_object *o = json_object_new_object();
        if (!o)
            break;
        json_object_object_add(o, "level", json_object_new_string(level));
        json_object_object_add(o, "node", json_object_new_string(x->node));
        put_num(o, "capacity_w", x->capacity_w);
        put_num(o, "usable_w", x->usable_w);
        put_num(o, "peak_w", x->peak_w);
        put_num(o, "headroom_w", x->headroom_w);
        put_num(o, "headroom_pct", x->headroom_pct);
        put_num(o, "days_to_exhaustion", x->days);
        json_object_object_add(o, "time", json_object_new_int64(x->time_s));
        json_object_array_add(arr, o);
    }
    fprintf(to, "%s\n", arr ? json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE) : "[]");
    json_object_put(arr);
}

void ev_hr_print(FILE *to, const ev_hr_rows *r, const char *level, ev_hr_format fmt)
{
    switch (fmt) {
    case EV_HR_TABLE: print_table(to, r, level); break;
    case EV_HR_JSON: print_json(to, r, level); break;
    case EV_HR_CSV: print_csv(to, r, level); break;
    }
}

void ev_hr_rows_free(ev_hr_rows *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->rows[i].node);
    free(r->rows);
    *r = (ev_hr_rows){0};
}
