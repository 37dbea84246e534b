/*
 * point.c - points, batches and the string arena behind them.
 *
 * The arena is a chain of blocks; strings never move once copied, so
 * points keep plain pointers. Clearing a batch keeps its first block and
 * the point array, so a batch reused every cycle stops allocating.
 */
#include "agent/point.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 8192

struct block {
    struct block *next;
    size_t used, cap;
    char data[];
};

struct ev_arena {
    struct block *head; /* current block; older ones follow */
};

static void *arena_alloc(ev_arena *a, size_t n)
{
    struct block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        struct block *nb = malloc(sizeof *nb + cap);
        if (!nb)
            return NULL;
        nb->next = b;
        nb->used = 0;
        nb->cap = cap;
        a->head = b = nb;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

static void arena_reset(ev_arena *a)
{
    struct block *b = a->head;
    if (!b)
        return;
    /* keep the newest block only */
    for (struct block *o = b->next; o;) {
        struct block *next = o->next;
        free(o);
        o = next;
    }
    b->next = NULL;
    b->used = 0;
}

ev_batch *ev_batch_new(void)
{
    ev_batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->arena = calloc(1, sizeof *b->arena);
    if (!b->arena) {
        free(b);
        return NULL;
    }
    return b;
}

void ev_batch_free(ev_batch *b)
{
    if (!b)
        return;
    arena_reset(b->arena);
    free(b->arena->head);
    free(b->arena);
    free(b->pts);
    free(b);
}

void ev_batch_clear(ev_batch *b)
{
    b->n = 0;
    arena_reset(b->arena);
}

const char *ev_batch_strdup(ev_batch *b, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = arena_alloc(b->arena, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

ev_point *ev_batch_add(ev_batch *b, const char *measurement, int64_t ts_ns)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        ev_point *pts = realloc(b->pts, cap * sizeof *pts);
        if (!pts)
            return NULL;
        b->pts = pts;
        b->cap = cap;
    }
    const char *m = ev_batch_strdup(b, measurement);
    if (!m)
        return NULL;
    ev_point *p = &b->pts[b->n++];
    p->measurement = m;
    p->ts_ns = ts_ns;
    p->ntags = p->nfields = 0;
    return p;
}

int ev_point_tag(ev_batch *b, ev_point *p, const char *key, const char *val)
{
    if (!val || !*val || !key || !*key)
        return 0;
    const char *v = ev_batch_strdup(b, val);
    if (!v)
        return -1;
    size_t i = 0;
    while (i < p->ntags && strcmp(p->tags[i].key, key) < 0)
        i++;
    if (i < p->ntags && !strcmp(p->tags[i].key, key)) {
        p->tags[i].val = v;
        return 0;
    }
    if (p->ntags == EV_MAX_TAGS)
        return -1;
    const char *k = ev_batch_strdup(b, key);
    if (!k)
        return -1;
    memmove(&p->tags[i + 1], &p->tags[i], (p->ntags - i) * sizeof p->tags[0]);
    p->tags[i].key = k;
    p->tags[i].val = v;
    p->ntags++;
    return 0;
}

/* The slot for key: the existing field of that key, or a new one. */
static ev_field *field_slot(ev_batch *b, ev_point *p, const char *key)
{
    for (size_t i = 0; i < p->nfields; i++)
        if (!strcmp(p->fields[i].key, key))
            return &p->fields[i];
    if (p->nfields == EV_MAX_FIELDS)
        return NULL;
    const char *k = ev_batch_strdup(b, key);
    if (!k)
        return NULL;
    ev_field *f = &p->fields[p->nfields++];
    f->key = k;
    return f;
}

int ev_point_float(ev_batch *b, ev_point *p, const char *key, double v)
{
    ev_field *f = field_slot(b, p, key);
    if (!f)
        return -1;
    f->type = EV_FLOAT;
    f->v.f = v;
    return 0;
}

int ev_point_int(ev_batch *b, ev_point *p, const char *key, int64_t v)
{
    ev_field *f = field_slot(b, p, key);
    if (!f)
        return -1;
    f->type = EV_INT;
    f->v.i = v;
    return 0;
}

int ev_point_uint(ev_batch *b, ev_point *p, const char *key, uint64_t v)
{
    ev_field *f = field_slot(b, p, key);
    if (!f)
        return -1;
    f->type = EV_UINT;
    f->v.u = v;
    return 0;
}

int ev_point_bool(ev_batch *b, ev_point *p, const char *key, bool v)
{
    ev_field *f = field_slot(b, p, key);
    if (!f)
        return -1;
    f->type = EV_BOOL;
    f->v.b = v;
    return 0;
}

int ev_point_str(ev_batch *b, ev_point *p, const char *key, const char *v)
{
    const char *s = ev_batch_strdup(b, v ? v : "");
    if (!s)
        return -1;
    ev_field *f = field_slot(b, p, key);
    if (!f)
        return -1;
    f->type = EV_STR;
    f->v.s = s;
    return 0;
}

const char *ev_point_get_tag(const ev_point *p, const char *key)
{
    for (size_t i = 0; i < p->ntags; i++)
        if (!strcmp(p->tags[i].key, key))
            return p->tags[i].val;
    return NULL;
}

const ev_field *ev_point_get_field(const ev_point *p, const char *key)
{
    for (size_t i = 0; i < p->nfields; i++)
        if (!strcmp(p->fields[i].key, key))
            return &p->fields[i];
    return NULL;
}

/* tags need not be sorted; p's are. Equal when same keys and values. */
static bool same_tags(const ev_point *p, const ev_tag *tags, size_t ntags)
{
    size_t given = 0;
    for (size_t i = 0; i < ntags; i++) {
        if (!tags[i].val || !*tags[i].val)
            continue; /* empty tags are never stored */
        const char *v = ev_point_get_tag(p, tags[i].key);
        if (!v || strcmp(v, tags[i].val))
            return false;
        given++;
    }
    return given == p->ntags;
}

ev_point *ev_batch_find(ev_batch *b, const char *measurement, const ev_tag *tags, size_t ntags)
{
    /* newest first: the point being built is usually the last one */
    for (size_t i = b->n; i-- > 0;) {
        ev_point *p = &b->pts[i];
        if (!strcmp(p->measurement, measurement) && same_tags(p, tags, ntags))
            return p;
    }
    return NULL;
}

int ev_batch_append(ev_batch *dst, const ev_batch *src)
{
    for (size_t i = 0; i < src->n; i++) {
        const ev_point *s = &src->pts[i];
        ev_point *d = ev_batch_add(dst, s->measurement, s->ts_ns);
        if (!d)
            return -1;
        for (size_t t = 0; t < s->ntags; t++)
            if (ev_point_tag(dst, d, s->tags[t].key, s->tags[t].val) < 0)
                return -1;
        for (size_t f = 0; f < s->nfields; f++) {
            const ev_field *sf = &s->fields[f];
            int rc;
            switch (sf->type) {
            case EV_FLOAT: rc = ev_point_float(dst, d, sf->key, sf->v.f); break;
            case EV_INT: rc = ev_point_int(dst, d, sf->key, sf->v.i); break;
            case EV_UINT: rc = ev_point_uint(dst, d, sf->key, sf->v.u); break;
            case EV_BOOL: rc = ev_point_bool(dst, d, sf->key, sf->v.b); break;
            default: rc = ev_point_str(dst, d, sf->key, sf->v.s); break;
            }
            if (rc < 0)
                return -1;
        }
    }
    return 0;
}
