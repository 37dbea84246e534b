/*
 * config_topology.c - the `topology:` section (config_topology.h): reading
 * it through config_read.h tables, and checking after the devices are read
 * that the two together can work (issue 4 item 1): every device's rack,
 * row and feed exist; IT meters of mixed measurement categories in one
 * scope say which category wins; a hall that asks for PUE has a facility
 * meter and an IT meter. Every problem is FILE:LINE: message.
 *
 *   topology:
 *     hall: {capacity: 2MW, redundancy: N+1, units: 4, derating: 100, it_category: 1, pue: true}
 *     peak_period: 30d          # trailing period of the 15-min peak demand
 *     trend_period: 30d         # least-squares window for days to exhaustion
 *     state_file: /var/lib/evmon/energy.state
 *     rows:
 *       - name: row1
 *         capacity: 400kW
 *         racks:
 *           - name: r01
 *             feeds: [{name: A, breaker: 32, voltage: 400, phases: 3}, {name: B, ...}]
 */
#include "agent/config_topology_read.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/config_topology.h"

/* ---- values ------------------------------------------------------------ */

double cfg_parse_power_w(const char *s)
{
    static const struct { const char *unit; double mul; } units[] = {
        {"GW", 1e9}, {"MW", 1e6}, {"kW", 1e3}, {"KW", 1e3}, {"W", 1}, {"", 1},
    };
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || v <= 0)
        return -1;
    while (*end == ' ')
        end++;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcmp(end, units[i].unit))
            return v * units[i].mul;
    return -1;
}

static void rd_capacity(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    const char *t = cfg_scalar(cx, k, v, label, "a power such as 2MW, 400kW or 22000 (W)");
    if (!t)
        return;
    double w = cfg_parse_power_w(t);
    if (w < 0)
        cfg_error(cx, cfg_line(v), "%s: bad power '%s' (expected a positive number of W, kW, MW or GW, e.g. 2MW)",
            label, t);
    else
        ((ev_capacity_cfg *)obj)->capacity_w = w;
}

static void rd_redundancy(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    const char *t = cfg_scalar(cx, k, v, label, "N, N+1 or 2N");
    if (!t)
        return;
    for (ev_redundancy r = EV_RED_N; r <= EV_RED_2N; r++)
        if (!strcasecmp(t, ev_redundancy_name(r))) {
            ((ev_capacity_cfg *)obj)->redundancy = r;
            return;
        }
    cfg_error(cx, cfg_line(v), "%s: bad redundancy '%s' (expected N, N+1 or 2N)", label, t);
}

/* "30d", "30" (days) or "12w". */
static void rd_days(cfg_ctx *cx, unsigned *dst, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    const char *t = cfg_scalar(cx, k, v, label, "a number of days such as 30d");
    if (!t)
        return;
    char *end;
    unsigned long d = strtoul(t, &end, 10);
    if (end != t && *end == 'w' && !end[1])
        d *= 7;
    else if (end == t || (*end && strcmp(end, "d")))
        d = 0;
    if (d < 1 || d > 365)
        cfg_error(cx, cfg_line(v), "%s: bad period '%s' (expected 1d..365d)", label, t);
    else
        *dst = (unsigned)d;
}

static void rd_peak(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    rd_days(cx, &((ev_topology_cfg *)obj)->peak_days, k, v, label);
}

static void rd_trend(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    rd_days(cx, &((ev_topology_cfg *)obj)->trend_days, k, v, label);
}

/* ---- feeds, racks, rows -------------------------------------------------- */

static void rd_feed_name(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_feed_cfg *f = obj;
    const char *t = cfg_scalar(cx, k, v, label, "A or B");
    if (!t)
        return;
    if (strcasecmp(t, "A") && strcasecmp(t, "B")) {
        cfg_error(cx, cfg_line(v), "%s: bad feed '%s' (expected A or B)", label, t);
        return;
    }
    free(f->name);
    f->name = cfg_strdup(cx, cfg_line(v), toupper((unsigned char)t[0]) == 'A' ? "A" : "B");
}

static const cfg_field feed_fields[] = {
    {.key = "name", .kind = K_CUSTOM, .fn = rd_feed_name, .required = true},
    {.key = "breaker", .kind = K_UINT, .off = offsetof(ev_feed_cfg, breaker_a), .min = 1, .max = 10000,
     .required = true},
    {.key = "voltage", .kind = K_UINT, .off = offsetof(ev_feed_cfg, voltage_v), .min = 1, .max = 100000,
     .required = true},
    {.key = "phases", .kind = K_UINT, .off = offsetof(ev_feed_cfg, phases), .min = 1, .max = 3},
    {.key = "derating", .kind = K_UINT, .off = offsetof(ev_feed_cfg, derating_pct), .min = 1, .max = 100},
};
static const cfg_table feed_table = {FIELDS(feed_fields), NULL, NULL};

/* Every item of a list node through fn; false (reported) when not a list. */
static bool each_item(cfg_ctx *cx, const yaml_node_t *k, const yaml_node_t *v, const char *label, size_t *n)
{
    char b[80];
    if (cfg_is_null(v))
        return false;
    if (v->type != YAML_SEQUENCE_NODE) {
        cfg_error(cx, cfg_line(k), "%s: expected a list, got %s", label, cfg_describe(v, b, sizeof b));
        return false;
    }
    *n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    return true;
}

/* Read one list item as a mapping through table t into obj; missing
 * required keys are reported at the item's line. */
static void read_item(cfg_ctx *cx, const yaml_node_t *item, const cfg_table *t, void *obj, const char *sect)
{
    unsigned seen[MAX_KEYS] = {0};
    char b[80];
    if (item->type != YAML_MAPPING_NODE) {
        cfg_error(cx, cfg_line(item), "%s: expected a mapping, got %s", sect, cfg_describe(item, b, sizeof b));
        return;
    }
    cfg_read_map(cx, item, t, obj, sect, seen);
    for (size_t i = 0; i < t->n; i++)
        if (t->f[i].required && !seen[i])
            cfg_error(cx, cfg_line(item), "%s: missing required field '%s'", sect, t->f[i].key);
}

static void rd_feeds(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_rack_cfg *r = obj;
    size_t n;
    if (!each_item(cx, k, v, label, &n))
        return;
    if (n > 2) {
        cfg_error(cx, cfg_line(k), "%s: %zu feeds (a rack has feed A, or feeds A and B)", label, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = cfg_node(cx, v->data.sequence.items.start[i]);
        ev_feed_cfg *f = &r->feeds[r->nfeeds++];
        char sect[240];
        snprintf(sect, sizeof sect, "%s[%zu]", label, i);
        *f = (ev_feed_cfg){.phases = 3, .derating_pct = 80, .line = cfg_line(item)};
        read_item(cx, item, &feed_table, f, sect);
        if (f->phases == 2)
            cfg_error(cx, cfg_line(item), "%s.phases: 2 is not a supply (expected 1 or 3)", sect);
        if (i == 1 && f->name && r->feeds[0].name && !strcmp(f->name, r->feeds[0].name))
            cfg_error(cx, cfg_line(item), "%s: feed %s given twice (first at line %u)", sect, f->name,
                r->feeds[0].line);
    }
}

static const cfg_field rack_fields[] = {
    {.key = "name", .kind = K_NAME, .off = offsetof(ev_rack_cfg, name), .required = true},
    {.key = "feeds", .kind = K_CUSTOM, .fn = rd_feeds},
};
static const cfg_table rack_table = {FIELDS(rack_fields), NULL, NULL};

static void rd_racks(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_row_cfg *row = obj;
    size_t n;
    char sect[200];
    if (!each_item(cx, k, v, label, &n) || !(row->racks = calloc(n ? n : 1, sizeof *row->racks)))
        return;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = cfg_node(cx, v->data.sequence.items.start[i]);
        ev_rack_cfg *r = &row->racks[row->nracks++];
        r->line = cfg_line(item);
        snprintf(sect, sizeof sect, "%s[%zu]", label, i);
        read_item(cx, item, &rack_table, r, sect);
    }
}

static const cfg_field row_fields[] = {
    {.key = "name", .kind = K_NAME, .off = offsetof(ev_row_cfg, name), .required = true},
    {.key = "capacity", .kind = K_CUSTOM, .fn = rd_capacity},
    {.key = "redundancy", .kind = K_CUSTOM, .fn = rd_redundancy},
    {.key = "units", .kind = K_UINT, .off = offsetof(ev_row_cfg, cap.units), .min = 2, .max = 1000},
    {.key = "derating", .kind = K_UINT, .off = offsetof(ev_row_cfg, cap.derating_pct), .min = 1, .max = 100},
    {.key = "racks", .kind = K_CUSTOM, .fn = rd_racks},
};
static const cfg_table row_table = {FIELDS(row_fields), NULL, NULL};

static void rd_rows(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_topology_cfg *t = obj;
    size_t n;
    char sect[200];
    if (!each_item(cx, k, v, label, &n) || !(t->rows = calloc(n ? n : 1, sizeof *t->rows)))
        return;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = cfg_node(cx, v->data.sequence.items.start[i]);
        ev_row_cfg *r = &t->rows[t->nrows++];
        r->cap.derating_pct = 80;
        r->line = cfg_line(item);
        snprintf(sect, sizeof sect, "%s[%zu]", label, i);
        read_item(cx, item, &row_table, r, sect);
        if (r->cap.redundancy == EV_RED_N1 && r->cap.units < 2)
            cfg_error(cx, r->line, "%s: redundancy N+1 needs units (how many installed, >= 2)", sect);
    }
}

/* ---- hall and the section ------------------------------------------------ */

static const cfg_field hall_fields[] = {
    {.key = "capacity", .kind = K_CUSTOM, .fn = rd_capacity, .required = true},
    {.key = "redundancy", .kind = K_CUSTOM, .fn = rd_redundancy},
    {.key = "units", .kind = K_UINT, .off = offsetof(ev_topology_cfg, hall.units), .min = 2, .max = 1000},
    {.key = "derating", .kind = K_UINT, .off = offsetof(ev_topology_cfg, hall.derating_pct), .min = 1, .max = 100},
    {.key = "it_category", .kind = K_UINT, .off = offsetof(ev_topology_cfg, it_category), .min = 1, .max = 3},
    {.key = "pue", .kind = K_BOOL, .off = offsetof(ev_topology_cfg, pue)},
};
static const cfg_table hall_table = {FIELDS(hall_fields), NULL, NULL};

static void rd_hall(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_topology_cfg *t = obj;
    unsigned seen[MAX_KEYS] = {0};
    if (!cfg_expect_map(cx, k, v, label))
        return;
    cfg_read_map(cx, v, &hall_table, t, label, seen);
    if (!seen[cfg_key_at(&hall_table, "capacity")])
        cfg_error(cx, cfg_line(k), "%s: missing required field 'capacity' (the hall's UPS/electrical capacity, "
            "e.g. 2MW)", label);
    if (t->hall.redundancy == EV_RED_N1 && t->hall.units < 2)
        cfg_error(cx, cfg_line(k), "%s: redundancy N+1 needs units (how many UPS units installed, >= 2)", label);
}

static const cfg_field topo_fields[] = {
    {.key = "hall", .kind = K_CUSTOM, .fn = rd_hall, .required = true},
    {.key = "peak_period", .kind = K_CUSTOM, .fn = rd_peak},
    {.key = "trend_period", .kind = K_CUSTOM, .fn = rd_trend},
    {.key = "state_file", .kind = K_STR, .off = offsetof(ev_topology_cfg, state_file)},
    {.key = "state_interval", .kind = K_DURATION, .off = offsetof(ev_topology_cfg, state_interval_ms), .min = 1000,
     .max = 86400000},
    {.key = "rows", .kind = K_CUSTOM, .fn = rd_rows},
};
static const cfg_table topo_table = {FIELDS(topo_fields), NULL, NULL};

void cfg_topology(cfg_ctx *cx, void *obj, const yaml_node_t *k, const yaml_node_t *v, const char *label)
{
    ev_config *c = obj;
    unsigned seen[MAX_KEYS] = {0};
    if (!cfg_expect_map(cx, k, v, label))
        return;
    ev_topology_cfg *t = calloc(1, sizeof *t);
    if (!t) {
        cfg_error(cx, cfg_line(k), "out of memory");
        return;
    }
    *t = (ev_topology_cfg){.hall = {.derating_pct = 100}, .line = cfg_line(k), .pue = true, .peak_days = 30,
                           .trend_days = 30, .state_interval_ms = 60000};
    c->topology = t;
    cfg_read_map(cx, v, &topo_table, t, label, seen);
    if (!seen[cfg_key_at(&topo_table, "hall")])
        cfg_error(cx, t->line, "topology: missing required section 'hall' (with its capacity)");
}

/* ---- checks against the devices ------------------------------------------ */

static const ev_rack_cfg *find_rack(const ev_topology_cfg *t, const char *name, const ev_row_cfg **row)
{
    for (size_t i = 0; i < t->nrows; i++)
        for (size_t j = 0; j < t->rows[i].nracks; j++)
            if (t->rows[i].racks[j].name && !strcmp(t->rows[i].racks[j].name, name)) {
                *row = &t->rows[i];
                return &t->rows[i].racks[j];
            }
    return NULL;
}

static const ev_row_cfg *find_row(const ev_topology_cfg *t, const char *name)
{
    for (size_t i = 0; i < t->nrows; i++)
        if (t->rows[i].name && !strcmp(t->rows[i].name, name))
            return &t->rows[i];
    return NULL;
}

/* "(did you mean 'r01'?)" or "(known racks: ...)" for an unknown rack. */
static void rack_hint(const ev_topology_cfg *t, const char *name, char *buf, size_t len)
{
    const char *names[256] = {0};
    size_t n = 0, used = 0;
    for (size_t i = 0; i < t->nrows; i++)
        for (size_t j = 0; j < t->rows[i].nracks && n < 256; j++)
            if (t->rows[i].racks[j].name)
                names[n++] = t->rows[i].racks[j].name;
    const char *near = cfg_closest(name, names, n);
    if (near) {
        snprintf(buf, len, " (did you mean '%s'?)", near);
        return;
    }
    used = (size_t)snprintf(buf, len, n ? " (known racks:" : " (topology.rows declares no racks)");
    for (size_t i = 0; i < n && i < 10 && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, " %s", names[i]);
    if (n && used < len)
        snprintf(buf + used, len - used, "%s)", n > 10 ? " ..." : "");
}

static void duplicate_names(cfg_ctx *cx, const ev_topology_cfg *t)
{
    for (size_t i = 0; i < t->nrows; i++) {
        const ev_row_cfg *a = &t->rows[i];
        for (size_t j = 0; j < i && a->name; j++)
            if (t->rows[j].name && !strcmp(t->rows[j].name, a->name))
                cfg_error(cx, a->line, "topology.rows: duplicate row '%s' (first at line %u)", a->name,
                    t->rows[j].line);
        for (size_t r = 0; r < a->nracks; r++) {
            const ev_row_cfg *first_row;
            const ev_rack_cfg *rk = &a->racks[r], *first;
            if (rk->name && (first = find_rack(t, rk->name, &first_row)) != rk)
                cfg_error(cx, rk->line, "topology: duplicate rack '%s' (first at line %u)", rk->name, first->line);
        }
    }
}

static void check_device_place(cfg_ctx *cx, const ev_topology_cfg *t, const ev_device_cfg *d)
{
    const ev_row_cfg *row = NULL;
    char hint[300];
    if (d->rack) {
        const ev_rack_cfg *rk = find_rack(t, d->rack, &row);
        if (!rk) {
            rack_hint(t, d->rack, hint, sizeof hint);
            cfg_error(cx, d->line, "device '%s': rack '%s' is not in the topology%s", d->name, d->rack, hint);
            return;
        }
        if (d->row && strcmp(d->row, row->name))
            cfg_error(cx, d->line, "device '%s': row '%s' but rack '%s' is in row '%s' (line %u)", d->name, d->row,
                d->rack, row->name, rk->line);
        bool fed = !d->feed || !rk->nfeeds;
        for (size_t i = 0; i < rk->nfeeds && !fed; i++)
            fed = rk->feeds[i].name && !strcmp(rk->feeds[i].name, d->feed);
        if (!fed)
            cfg_error(cx, d->line, "device '%s': feed %s is not a feed of rack '%s' (line %u)", d->name, d->feed,
                d->rack, rk->line);
    } else if (d->row && !find_row(t, d->row)) {
        cfg_error(cx, d->line, "device '%s': row '%s' is not in the topology", d->name, d->row);
    } else if (d->feed) {
        cfg_error(cx, d->line, "device '%s': feed %s without a rack (a feed belongs to a rack)", d->name, d->feed);
    }
}

/* A scope (hall, row or rack) and the IT categories of the meters in it. */
typedef struct {
    const char *what, *name;
    unsigned line;
    const ev_device_cfg *first[4]; /* first meter of each category */
} scope_cats;

static void add_cat(scope_cats *s, const ev_device_cfg *d)
{
    if (!s->first[d->category])
        s->first[d->category] = d;
}

/* Mixed categories in one scope must say which wins (BRIEF §2: a PUE
 * carries one category; adding a UPS-output meter to the PDUs below it
 * counts the same load twice). */
static void check_mix(cfg_ctx *cx, const ev_topology_cfg *t, const scope_cats *s)
{
    unsigned ncat = 0;
    const ev_device_cfg *a = NULL, *b = NULL;
    for (unsigned c = 1; c <= 3; c++)
        if (s->first[c]) {
            ncat++;
            if (!a)
                a = s->first[c];
            else if (!b)
                b = s->first[c];
        }
    if (ncat < 2 || (t->it_category && s->first[t->it_category]))
        return;
    unsigned line = s->line ? s->line : b->line;
    if (t->it_category)
        cfg_error(cx, line, "%s '%s' mixes IT meters of categories %u ('%s', line %u) and %u ('%s', line %u) and "
            "has none of topology.hall.it_category %u", s->what, s->name, a->category, a->name, a->line,
            b->category, b->name, b->line, t->it_category);
    else
        cfg_error(cx, line, "%s '%s' mixes IT meters of categories %u ('%s', line %u) and %u ('%s', line %u): "
            "say which one wins with topology.hall.it_category", s->what, s->name, a->category, a->name, a->line,
            b->category, b->name, b->line);
}

static void check_categories(cfg_ctx *cx, const ev_config *c, const ev_topology_cfg *t)
{
    scope_cats hall = {.what = "hall", .name = c->hall ? c->hall : "?", .line = t->line};
    for (size_t i = 0; i < c->ndevices; i++)
        if (c->devices[i].role == EV_ROLE_IT)
            add_cat(&hall, &c->devices[i]);
    check_mix(cx, t, &hall);
    if (t->it_category && !hall.first[t->it_category] && (hall.first[1] || hall.first[2] || hall.first[3]))
        cfg_error(cx, t->line, "topology.hall.it_category: no IT meter of category %u (devices have role: it "
            "and category: 1, 2 or 3)", t->it_category);

    for (size_t i = 0; i < t->nrows; i++) {
        const ev_row_cfg *row = &t->rows[i];
        scope_cats rs = {.what = "row", .name = row->name, .line = row->line};
        for (size_t j = 0; j < row->nracks; j++) {
            scope_cats ks = {.what = "rack", .name = row->racks[j].name, .line = row->racks[j].line};
            for (size_t k = 0; k < c->ndevices; k++) {
                const ev_device_cfg *d = &c->devices[k];
                if (d->role == EV_ROLE_IT && d->rack && ks.name && !strcmp(d->rack, ks.name))
                    add_cat(&ks, d);
            }
            check_mix(cx, t, &ks);
        }
        for (size_t k = 0; k < c->ndevices; k++) {
            const ev_device_cfg *d = &c->devices[k];
            const ev_row_cfg *in = NULL;
            if (d->role != EV_ROLE_IT)
                continue;
            if (d->rack)
                find_rack(t, d->rack, &in);
            else if (d->row)
                in = find_row(t, d->row);
            if (in == row)
                add_cat(&rs, d);
        }
        check_mix(cx, t, &rs);
    }
}

void cfg_topology_check(cfg_ctx *cx, ev_config *c)
{
    const ev_topology_cfg *t = c->topology;
    size_t nfac = 0, nit = 0;

    for (size_t i = 0; i < c->ndevices; i++) {
        ev_device_cfg *d = &c->devices[i];
        if (d->category && d->role != EV_ROLE_IT)
            cfg_error(cx, d->line, "device '%s': category is for IT meters (role: it), not role: %s",
                d->name ? d->name : "?", ev_role_name(d->role));
        if (d->role == EV_ROLE_IT && !d->category)
            d->category = 2; /* a rack PDU's output: the usual IT meter */
        nfac += d->role == EV_ROLE_FACILITY;
        nit += d->role == EV_ROLE_IT;
    }
    if (!t)
        return;
    duplicate_names(cx, t);
    for (size_t i = 0; i < c->ndevices; i++)
        if (c->devices[i].name)
            check_device_place(cx, t, &c->devices[i]);
    check_categories(cx, c, t);
    if (t->pue && !nfac)
        cfg_error(cx, t->line, "topology: hall '%s' asks for PUE (topology.hall.pue, default true) but no device "
            "has role: facility (a utility/intake meter); add one or set pue: false", c->hall ? c->hall : "?");
    if (t->pue && !nit)
        cfg_error(cx, t->line, "topology: hall '%s' asks for PUE but no device has role: it", c->hall ? c->hall : "?");
}

/* ---- names and freeing ----------------------------------------------------- */

const char *ev_redundancy_name(ev_redundancy r)
{
    switch (r) {
    case EV_RED_N:
        return "N";
    case EV_RED_N1:
        return "N+1";
    case EV_RED_2N:
        return "2N";
    }
    return "?";
}

void ev_topology_cfg_free(ev_topology_cfg *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows; i++) {
        for (size_t j = 0; j < t->rows[i].nracks; j++) {
            ev_rack_cfg *r = &t->rows[i].racks[j];
            for (size_t f = 0; f < r->nfeeds; f++)
                free(r->feeds[f].name);
            free(r->name);
        }
        free(t->rows[i].racks);
        free(t->rows[i].name);
    }
    free(t->rows);
    free(t->state_file);
    free(t);
}
