/*
 * profile.c - numeric OIDs, the profile set, and the rowset a collector
 * fills for the evaluator.
 *
 * Loading YAML lives in profile_load.c, turning a rowset into points in
 * profile_eval.c; both share the in-memory form in profile_priv.h. A
 * rowset keeps each column's rows sorted by index (a GETBULK walk already
 * delivers them in order, so adding is an append), which lets the
 * evaluator find "the same row in another column" by binary search. Row
 * arrays and string storage are kept across ev_rowset_clear(), so a
 * rowset reused every poll stops allocating.
 */
#include "agent/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/profile_priv.h"

/* ---- memory pool of one profile ------------------------------------ */

static int pool_track(ev_pool *pool, void *p)
{
    if (pool->n == pool->cap) {
        size_t cap = pool->cap ? pool->cap * 2 : 64;
        void **ptrs = realloc(pool->ptrs, cap * sizeof *ptrs);
        if (!ptrs)
            return -1;
        pool->ptrs = ptrs;
        pool->cap = cap;
    }
    pool->ptrs[pool->n++] = p;
    return 0;
}

void *ev_pool_alloc(ev_pool *pool, size_t size)
{
    void *p = calloc(1, size ? size : 1);
    if (p && pool_track(pool, p) < 0) {
        free(p);
        return NULL;
    }
    return p;
}

void *ev_pool_grow(ev_pool *pool, void *old, size_t size)
{
    if (!old)
        return ev_pool_alloc(pool, size);
    for (size_t i = pool->n; i-- > 0;) {
        if (pool->ptrs[i] != old)
            continue;
        void *p = realloc(old, size);
        if (p)
            pool->ptrs[i] = p;
        return p;
    }
    return NULL; /* not ours: a bug, refuse rather than corrupt */
}

char *ev_pool_strdup(ev_pool *pool, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = ev_pool_alloc(pool, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

void ev_pool_free(ev_pool *pool)
{
    for (size_t i = 0; i < pool->n; i++)
        free(pool->ptrs[i]);
    free(pool->ptrs);
    pool->ptrs = NULL;
    pool->n = pool->cap = 0;
}

/* ---- OIDs ----------------------------------------------------------- */

int ev_oid_parse(const char *s, ev_oid *out)
{
    ev_oid o = {.len = 0};
    if (!s)
        return -1;
    if (*s == '.')
        s++;
    if (!*s)
        return -1;
    for (;;) {
        if (*s < '0' || *s > '9' || o.len == EV_OID_MAX)
            return -1;
        uint64_t v = 0;
        while (*s >= '0' && *s <= '9') {
            v = v * 10 + (uint64_t)(*s++ - '0');
            if (v > UINT32_MAX)
                return -1;
        }
        o.sub[o.len++] = (uint32_t)v;
        if (!*s)
            break;
        if (*s++ != '.')
            return -1;
    }
    *out = o;
    return 0;
}

char *ev_oid_format(const ev_oid *o, char *buf, size_t len)
{
    if (!len)
        return buf;
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < o->len && at < len; i++) {
        /* snprintf truncates safely; `at` may pass len, which ends the loop */
        int n = snprintf(buf + at, len - at, i ? ".%u" : "%u", o->sub[i]);
        if (n < 0)
            break;
        at += (size_t)n;
    }
    return buf;
}

int ev_oid_cmp(const ev_oid *a, const ev_oid *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    for (size_t i = 0; i < n; i++)
        if (a->sub[i] != b->sub[i])
            return a->sub[i] < b->sub[i] ? -1 : 1;
    return a->len < b->len ? -1 : a->len > b->len;
}

bool ev_oid_has_prefix(const ev_oid *o, const ev_oid *prefix)
{
    if (prefix->len > o->len)
        return false;
    return !memcmp(o->sub, prefix->sub, prefix->len * sizeof o->sub[0]);
}

/* ---- the profile set ----------------------------------------------- */

struct ev_profile_set {
    ev_profile **p;
    size_t n, cap;
};

ev_profile_set *ev_profiles_new(void)
{
    return calloc(1, sizeof(ev_profile_set));
}

void ev_profile_free(ev_profile *p)
{
    if (!p)
        return;
    ev_pool_free(&p->pool);
    free(p);
}

void ev_profiles_free(ev_profile_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        ev_profile_free(set->p[i]);
    free(set->p);
    free(set);
}

int ev_profiles_add(ev_profile_set *set, ev_profile *p)
{
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 16;
        ev_profile **np = realloc(set->p, cap * sizeof *np);
        if (!np)
            return -1;
        set->p = np;
        set->cap = cap;
    }
    set->p[set->n++] = p;
    return 0;
}

const ev_profile *ev_profiles_find(const ev_profile_set *set, const char *name)
{
    if (!set || !name)
        return NULL;
    for (size_t i = 0; i < set->n; i++)
        if (!strcmp(set->p[i]->name, name))
            return set->p[i];
    return NULL;
}

size_t ev_profiles_count(const ev_profile_set *set)
{
    return set ? set->n : 0;
}

const ev_profile *ev_profiles_at(const ev_profile_set *set, size_t i)
{
    return set && i < set->n ? set->p[i] : NULL;
}

const char *ev_profile_name(const ev_profile *p)
{
    return p->name;
}

const char *ev_profile_description(const ev_profile *p)
{
    return p->description ? p->description : "";
}

const ev_fetch *ev_profile_fetch_list(const ev_profile *p, size_t *n)
{
    *n = p->nfetch;
    return p->fetch;
}

/* ---- rowsets -------------------------------------------------------- */

/* Strings of a rowset live in blocks that are kept across clears. */
#define STR_BLOCK 4096

struct str_block {
    struct str_block *next;
    size_t used, cap;
    char data[];
};

typedef struct {
    ev_rowset pub; /* first: an ev_rowset * is a rowset_impl * */
    struct str_block *strs;
} rowset_impl;

static char *rowset_strdup(rowset_impl *r, const char *s)
{
    size_t n = strlen(s) + 1;
    struct str_block *b = r->strs;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > STR_BLOCK ? n : STR_BLOCK;
        struct str_block *nb = malloc(sizeof *nb + cap);
        if (!nb)
            return NULL;
        nb->next = b;
        nb->used = 0;
        nb->cap = cap;
        r->strs = b = nb;
    }
    char *p = b->data + b->used;
    memcpy(p, s, n);
    b->used += n;
    return p;
}

ev_rowset *ev_rowset_new(const ev_profile *p)
{
    rowset_impl *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->pub.ncols = p->nfetch;
    r->pub.cols = calloc(p->nfetch ? p->nfetch : 1, sizeof *r->pub.cols);
    if (!r->pub.cols) {
        free(r);
        return NULL;
    }
    for (size_t i = 0; i < p->nfetch; i++) {
        r->pub.cols[i].oid = p->fetch[i].oid;
        r->pub.cols[i].scalar = p->fetch[i].scalar;
    }
    return &r->pub;
}

void ev_rowset_clear(ev_rowset *rs)
{
    rowset_impl *r = (rowset_impl *)rs;
    for (size_t i = 0; i < rs->ncols; i++)
        rs->cols[i].nrows = 0;
    struct str_block *b = r->strs;
    if (!b)
        return;
    for (struct str_block *o = b->next; o;) { /* keep the newest block */
        struct str_block *next = o->next;
        free(o);
        o = next;
    }
    b->next = NULL;
    b->used = 0;
}

void ev_rowset_free(ev_rowset *rs)
{
    if (!rs)
        return;
    rowset_impl *r = (rowset_impl *)rs;
    ev_rowset_clear(rs);
    free(r->strs);
    for (size_t i = 0; i < rs->ncols; i++)
        free(rs->cols[i].rows);
    free(rs->cols);
    free(r);
}

/* Position of the first row whose index is >= idx. */
static size_t row_lower_bound(const ev_column *c, const ev_oid *idx)
{
    size_t lo = 0, hi = c->nrows;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ev_oid_cmp(&c->rows[mid].index, idx) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const ev_row *ev_column_find(const ev_column *c, const ev_oid *index)
{
    size_t at = row_lower_bound(c, index);
    if (at < c->nrows && !ev_oid_cmp(&c->rows[at].index, index))
        return &c->rows[at];
    return NULL;
}

int ev_rowset_add(ev_rowset *rs, size_t ci, const ev_oid *index, const ev_value *v)
{
    static const ev_oid empty = {.len = 0};
    if (ci >= rs->ncols || !v)
        return -1;
    if (!index)
        index = &empty;
    ev_column *c = &rs->cols[ci];

    ev_value val = *v;
    if (val.type == EV_V_STR) {
        val.s = rowset_strdup((rowset_impl *)rs, v->s ? v->s : "");
        if (!val.s)
            return -1;
    } else {
        val.s = NULL;
    }

    size_t at = c->nrows;
    if (at && ev_oid_cmp(&c->rows[at - 1].index, index) >= 0) {
        at = row_lower_bound(c, index); /* out of order: keep sorted */
        if (at < c->nrows && !ev_oid_cmp(&c->rows[at].index, index)) {
            c->rows[at].v = val; /* same instance twice: last one wins */
            return 0;
        }
    }
    if (c->nrows == c->cap) {
        /* from 1, doubling: a row is ~300 bytes and most columns of a PDU have 1-3 rows, so
         * 10,000 devices' rowsets stay small (docs/PERFORMANCE.md); kept across polls */
        size_t cap = c->cap ? c->cap * 2 : 1;
        ev_row *rows = realloc(c->rows, cap * sizeof *rows);
        if (!rows)
            return -1;
        c->rows = rows;
        c->cap = cap;
    }
    memmove(&c->rows[at + 1], &c->rows[at], (c->nrows - at) * sizeof *c->rows);
    c->rows[at].index = *index;
    c->rows[at].v = val;
    c->nrows++;
    return 0;
}
