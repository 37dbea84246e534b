/*
 * latest.c - the last point of each series (see latest.h). Each series
 * holds a one-point batch of its own, so replacing a point frees the old
 * strings; series are found by their key "measurement,k=v,..." in a
 * linear list (tens to a few thousand pue/headroom/alert series).
 */
#include <stdlib.h>
#include <string.h>

#include "agent/buf.h"
#include "agent/latest.h"

typedef struct {
    char *key;
    ev_batch *b; /* exactly one point */
} series;

struct ev_latest {
    char **meas;
    size_t nmeas;
    series *s;
    size_t n, cap, max;
    size_t dropped;
};

ev_latest *ev_latest_new(const char *const *measurements, size_t max_series)
{
    ev_latest *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    while (measurements[l->nmeas])
        l->nmeas++;
    l->meas = calloc(l->nmeas + 1, sizeof *l->meas);
    if (!l->meas) {
        free(l);
        return NULL;
    }
    for (size_t i = 0; i < l->nmeas; i++)
        if (!(l->meas[i] = strdup(measurements[i]))) {
            ev_latest_free(l);
            return NULL;
        }
    l->max = max_series;
    return l;
}

void ev_latest_free(ev_latest *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->s[i].key);
        ev_batch_free(l->s[i].b);
    }
    free(l->s);
    for (size_t i = 0; i < l->nmeas; i++)
        free(l->meas[i]);
    free(l->meas);
    free(l);
}

static int wanted(const ev_latest *l, const char *m)
{
    for (size_t i = 0; i < l->nmeas; i++)
        if (!strcmp(l->meas[i], m))
            return 1;
    return 0;
}

/* "measurement,k=v,k=v" (tags are kept sorted by the point). */
static char *series_key(const ev_point *p)
{
    ev_buf k;
    ev_buf_init(&k);
    ev_buf_puts(&k, p->measurement);
    for (size_t i = 0; i < p->ntags; i++) {
        ev_buf_putc(&k, ',');
        ev_buf_puts(&k, p->tags[i].key);
        ev_buf_putc(&k, '=');
        ev_buf_puts(&k, p->tags[i].val);
    }
    ev_buf_cstr(&k);
    if (k.oom) {
        ev_buf_free(&k);
        return NULL;
    }
    return k.p;
}

static series *find(ev_latest *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->s[i].key, key))
            return &l->s[i];
    return NULL;
}

static series *add(ev_latest *l, char *key)
{
    if (l->n == l->max) {
        l->dropped++;
        return NULL;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        series *s = realloc(l->s, cap * sizeof *s);
        if (!s)
            return NULL;
        l->s = s;
        l->cap = cap;
    }
    ev_batch *b = ev_batch_new();
    if (!b)
        return NULL;
    l->s[l->n] = (series){.key = key, .b = b};
    return &l->s[l->n++];
}

/* Replace the series' point with a copy of p. */
static void keep(series *s, const ev_point *p)
{
    ev_batch_clear(s->b);
    ev_point *q = ev_batch_add(s->b, p->measurement, p->ts_ns);
    if (!q)
        return;
    for (size_t i = 0; i < p->ntags; i++)
        ev_point_tag(s->b, q, p->tags[i].key, p->tags[i].val);
    for (size_t i = 0; i < p->nfields; i++) {
        const ev_field *f = &p->fields[i];
        switch (f->type) {
        case EV_FLOAT: ev_point_float(s->b, q, f->key, f->v.f); break;
        case EV_INT: ev_point_int(s->b, q, f->key, f->v.i); break;
        case EV_UINT: ev_point_uint(s->b, q, f->key, f->v.u); break;
        case EV_BOOL: ev_point_bool(s->b, q, f->key, f->v.b); break;
        case EV_STR: ev_point_str(s->b, q, f->key, f->v.s); break;
        }
    }
}

void ev_latest_feed(ev_latest *l, const ev_batch *b)
{
    if (!l)
        return;
    for (size_t i = 0; i < b->n; i++) {
        const ev_point *p = &b->pts[i];
        if (!wanted(l, p->measurement))
            continue;
        char *key = series_key(p);
        if (!key)
            continue;
        series *s = find(l, key);
        if (s) {
            free(key);
            if (s->b->n && s->b->pts[0].ts_ns > p->ts_ns)
                continue;
        } else if (!(s = add(l, key))) {
            free(key);
            continue;
        }
        keep(s, p);
    }
}

void ev_latest_each(const ev_latest *l, const char *measurement, void (*fn)(void *ud, const ev_point *p),
                    void *ud)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->s[i].b->n && !strcmp(l->s[i].b->pts[0].measurement, measurement))
            fn(ud, &l->s[i].b->pts[0]);
}

size_t ev_latest_count(const ev_latest *l, const char *measurement)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->s[i].b->n && !strcmp(l->s[i].b->pts[0].measurement, measurement))
            n++;
    return n;
}

size_t ev_latest_dropped(const ev_latest *l)
{
    return l->dropped;
}
