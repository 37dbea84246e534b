/*
 * alert_engine.c - per-series alert state (alert_engine.h).
 *
 * Series live in an array (for ticks and listings) indexed by a tsearch(3)
 * tree on (rule, measurement + tags), so a point finds its series in
 * O(log n) at fleet scale. A series is created the first time a rule
 * matches a point and kept for the engine's life.
 *
 * One sample, top-down: end a missing-data alert; update each level's hold
 * timer (how long, and for how many consecutive samples, the value has
 * been beyond that level); the level that may fire is the highest one held
 * long enough; the level the alert keeps is what hysteresis allows (crit
 * until crit_clear, warn or crit until clear); the new level is the higher
 * of the two. Rising needs the hold time; falling happens at once.
 */
#include "agent/alert_engine.h"

#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/buf.h"

typedef struct {
    size_t rule;
    char *key;           /* measurement, then "\x1f" key "\x1e" value per tag */
    char *measurement;
    ev_tag *tags;        /* strings in the same allocation */
    size_t ntags;
    ev_alert_level level;
    int64_t starts_ns;
    double value, threshold;
    int64_t last_seen_ns;
    int64_t pend_since[3]; /* per level (WARN, CRIT): first sample beyond it */
    unsigned pend_count[3];
    bool missing;
    int64_t missing_since_ns;
} series;

struct ev_alert_engine {
    const ev_alert_rules *rules;
    ev_alert_fn on_change;
    void *ud;
    series **v;
    size_t n, cap;
    void *index;  /* tsearch root over v's elements */
    ev_buf key;   /* scratch for lookups */
    size_t active;
};

static int cmp_series(const void *a, const void *b)
{
    const series *x = a, *y = b;
    if (x->rule != y->rule)
        return x->rule < y->rule ? -1 : 1;
    return strcmp(x->key, y->key);
}

static void make_key(ev_buf *k, const char *measurement, const ev_tag *tags, size_t n)
{
    ev_buf_reset(k);
    ev_buf_puts(k, measurement);
    for (size_t i = 0; i < n; i++)
        ev_buf_printf(k, "\x1f%s\x1e%s", tags[i].key, tags[i].val);
}

static int cmp_tag(const void *a, const void *b)
{
    return strcmp(((const ev_tag *)a)->key, ((const ev_tag *)b)->key);
}

/* A series owning copies of the measurement, key and tags (one block). */
static series *series_new(size_t rule, const char *key, const char *measurement, const ev_tag *tags, size_t n)
{
    size_t strs = strlen(key) + strlen(measurement) + 2;
    for (size_t i = 0; i < n; i++)
        strs += strlen(tags[i].key) + strlen(tags[i].val) + 2;
    series *s = calloc(1, sizeof *s + n * sizeof(ev_tag) + strs);
    if (!s)
        return NULL;
    s->rule = rule;
    s->tags = (ev_tag *)(s + 1);
    s->ntags = n;
    char *p = (char *)(s->tags + n);
    s->key = strcpy(p, key);
    p += strlen(key) + 1;
    s->measurement = strcpy(p, measurement);
    p += strlen(measurement) + 1;
    for (size_t i = 0; i < n; i++) {
        s->tags[i].key = strcpy(p, tags[i].key);
        p += strlen(p) + 1;
        s->tags[i].val = strcpy(p, tags[i].val);
        p += strlen(p) + 1;
    }
    qsort(s->tags, n, sizeof *s->tags, cmp_tag);
    return s;
}

/* The series of (rule, measurement, tags), created when new. NULL: no memory. */
static series *find_series(ev_alert_engine *e, size_t rule, const char *measurement, const ev_tag *tags,
                           size_t n, bool *created)
{
    make_key(&e->key, measurement, tags, n);
    if (e->key.oom)
        return NULL;
    series probe = {.rule = rule, .key = (char *)ev_buf_cstr(&e->key)};
    series **hit = tfind(&probe, &e->index, cmp_series);
    *created = !hit;
    if (hit)
        return *hit;
    if (e->n == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 64;
        series **v = realloc(e->v, cap * sizeof *v);
        if (!v)
            return NULL;
        e->v = v;
        e->cap = cap;
    }
    series *s = series_new(rule, probe.key, measurement, tags, n);
    if (!s || !tsearch(s, &e->index, cmp_series)) {
        free(s);
        return NULL;
    }
    e->v[e->n++] = s;
    return s;
}

/* ---- notifications ------------------------------------------------------ */

static void notify(ev_alert_engine *e, const series *s, bool missing, ev_alert_level level, ev_alert_level prev,
                   double value, double threshold, int64_t starts_ns, int64_t at_ns)
{
    ev_alert a = {.rule = &e->rules->v[s->rule], .missing = missing, .level = level, .prev = prev,
                  .measurement = s->measurement, .tags = s->tags, .ntags = s->ntags, .value = value,
                  .threshold = threshold, .starts_ns = starts_ns, .at_ns = at_ns};
    if (prev == EV_ALERT_OK && level != EV_ALERT_OK)
        e->active++;
    else if (prev != EV_ALERT_OK && level == EV_ALERT_OK)
        e->active--;
    if (e->on_change)
        e->on_change(e->ud, &a);
}

static void change_level(ev_alert_engine *e, series *s, ev_alert_level to, double v, double threshold, int64_t t)
{
    ev_alert_level prev = s->level;
    if (prev == EV_ALERT_OK)
        s->starts_ns = t;
    s->level = to;
    s->value = v;
    s->threshold = threshold;
    notify(e, s, false, to, prev, v, threshold, s->starts_ns, t);
}

/* ---- one sample ---------------------------------------------------------- */

static bool beyond(const ev_alert_rule *r, double a, double b)
{
    return r->dir == EV_ALERT_ABOVE ? a > b : a < b;
}

static ev_alert_level raw_level(const ev_alert_rule *r, double v)
{
    if (r->has_crit && beyond(r, v, r->crit))
        return EV_ALERT_CRIT;
    if (r->has_warn && beyond(r, v, r->warn))
        return EV_ALERT_WARN;
    return EV_ALERT_OK;
}

/* The level hysteresis keeps from the current one. */
static ev_alert_level sustained(const ev_alert_rule *r, ev_alert_level cur, double v)
{
    if (cur == EV_ALERT_OK || !beyond(r, v, r->clear))
        return EV_ALERT_OK;
    if (cur == EV_ALERT_CRIT && r->has_warn && !beyond(r, v, r->crit_clear))
        return EV_ALERT_WARN;
    return cur;
}

static bool held(const ev_alert_rule *r, const series *s, ev_alert_level l, int64_t t)
{
    if (!s->pend_count[l])
        return false;
    if (r->for_samples)
        return s->pend_count[l] >= r->for_samples;
    return t - s->pend_since[l] >= (int64_t)r->for_ms * 1000000;
}

static double level_value(const ev_alert_rule *r, ev_alert_level l)
{
    return l == EV_ALERT_CRIT ? r->crit : l == EV_ALERT_WARN ? r->warn : r->clear;
}

static void end_missing(ev_alert_engine *e, series *s, const ev_alert_rule *r, int64_t t)
{
    s->missing = false;
    notify(e, s, true, EV_ALERT_OK, r->missing_level, (double)(t - s->last_seen_ns) / 1e9, r->missing_ms / 1000.0,
           s->missing_since_ns, t);
}

static void sample(ev_alert_engine *e, series *s, double v, int64_t t)
{
    const ev_alert_rule *r = &e->rules->v[s->rule];
    if (s->missing)
        end_missing(e, s, r, t);
    s->last_seen_ns = t;

    ev_alert_level raw = raw_level(r, v), fire = EV_ALERT_OK;
    for (int l = EV_ALERT_WARN; l <= EV_ALERT_CRIT; l++) {
        if ((int)raw < l) {
            s->pend_count[l] = 0;
            continue;
        }
        if (!s->pend_count[l]++)
            s->pend_since[l] = t;
        if (held(r, s, (ev_alert_level)l, t))
            fire = (ev_alert_level)l;
    }
    ev_alert_level keep = sustained(r, s->level, v);
    ev_alert_level want = fire > keep ? fire : keep;
    if (want != s->level)
        change_level(e, s, want, v, level_value(r, want), t);
    else if (want != EV_ALERT_OK)
        s->value = v; /* listings show the latest value */
}

static bool field_value(const ev_point *p, const char *key, double *out)
{
    const ev_field *f = ev_point_get_field(p, key);
    switch (f->type) {
    case EV_FLOAT: *out = f->v.f; return true;
    case EV_INT: *out = (double)f->v.i; return true;
    case EV_UINT: *out = (double)f->v.u; return true;
    case EV_BOOL: *out = f->v.b; return true;
    case EV_STR: return false;
    }
    return false;
}

void ev_alert_engine_feed(ev_alert_engine *e, const ev_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        const ev_point *p = &b->pts[i];
        for (size_t r = 0; r < e->rules->n; r++) {
            double v;
            bool created;
            if (!ev_alert_rule_matches(&e->rules->v[r], p) || !field_value(p, e->rules->v[r].field, &v))
                continue;
            series *s = find_series(e, r, p->measurement, p->tags, p->ntags, &created);
            if (s)
                sample(e, s, v, p->ts_ns);
        }
    }
}

void ev_alert_engine_tick(ev_alert_engine *e, int64_t now_ns)
{
    for (size_t i = 0; i < e->n; i++) {
        series *s = e->v[i];
        const ev_alert_rule *r = &e->rules->v[s->rule];
        if (!r->missing_ms || s->missing || now_ns - s->last_seen_ns <= (int64_t)r->missing_ms * 1000000)
            continue;
        s->missing = true;
        s->missing_since_ns = now_ns;
        notify(e, s, true, r->missing_level, EV_ALERT_OK, (double)(now_ns - s->last_seen_ns) / 1e9,
               r->missing_ms / 1000.0, now_ns, now_ns);
    }
}

void ev_alert_engine_each(const ev_alert_engine *e, ev_alert_fn fn, void *ud)
{
    for (size_t i = 0; i < e->n; i++) {
        const series *s = e->v[i];
        const ev_alert_rule *r = &e->rules->v[s->rule];
        ev_alert a = {.rule = r, .measurement = s->measurement, .tags = s->tags, .ntags = s->ntags};
        if (s->level != EV_ALERT_OK) {
            a.level = a.prev = s->level;
            a.value = s->value;
            a.threshold = s->threshold;
            a.starts_ns = a.at_ns = s->starts_ns;
            fn(ud, &a);
        }
        if (s->missing) {
            a.missing = true;
            a.level = a.prev = r->missing_level;
            a.value = 0;
            a.threshold = r->missing_ms / 1000.0;
            a.starts_ns = a.at_ns = s->missing_since_ns;
            fn(ud, &a);
        }
    }
}

size_t ev_alert_engine_active(const ev_alert_engine *e)
{
    return e->active;
}

int ev_alert_engine_restore(ev_alert_engine *e, const char *rule, bool missing, const char *measurement,
                            const ev_tag *tags, size_t ntags, ev_alert_level level, double value,
                            double threshold, int64_t starts_ns, int64_t now_ns)
{
    const ev_alert_rule *r = ev_alert_rules_find(e->rules, rule);
    bool created;
    ev_tag sorted[EV_MAX_TAGS];
    if (!r || level == EV_ALERT_OK || (missing && !r->missing_ms) || ntags > EV_MAX_TAGS)
        return -1;
    memcpy(sorted, tags, ntags * sizeof *tags);
    qsort(sorted, ntags, sizeof *sorted, cmp_tag);
    series *s = find_series(e, (size_t)(r - e->rules->v), measurement, sorted, ntags, &created);
    if (!s)
        return -1;
    if (created)
        s->last_seen_ns = now_ns;
    if (missing) {
        e->active += !s->missing;
        s->missing = true;
        s->missing_since_ns = starts_ns;
        return 0;
    }
    if (level == EV_ALERT_WARN && !r->has_warn)
        level = EV_ALERT_CRIT;
    if (level == EV_ALERT_CRIT && !r->has_crit)
        level = EV_ALERT_WARN;
    e->active += s->level == EV_ALERT_OK;
    s->level = level;
    s->value = value;
    s->threshold = threshold;
    s->starts_ns = starts_ns;
    return 0;
}

const char *ev_alert_name(const ev_alert *a, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s", a->rule->name, a->missing ? "_missing" : "");
    return buf;
}

ev_alert_engine *ev_alert_engine_new(const ev_alert_rules *rules, ev_alert_fn on_change, void *ud)
{
    ev_alert_engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->rules = rules;
    e->on_change = on_change;
    e->ud = ud;
    ev_buf_init(&e->key);
    return e;
}

static void no_free(void *p)
{
    (void)p;
}

void ev_alert_engine_free(ev_alert_engine *e)
{
    if (!e)
        return;
    tdestroy(e->index, no_free);
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i]);
    free(e->v);
    ev_buf_free(&e->key);
    free(e);
}
