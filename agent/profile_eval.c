/*
 * profile_eval.c - one device's rowset -> points, as its profile says.
 *
 * For every metric and every row of its column: apply the row filters
 * (`where`), render the tag templates, turn the raw value into a number
 * (sentinels and noSuchObject give no value), scale it exactly, and set
 * the field on the point of that measurement and tag set, creating the
 * point on first use. Values that are not used are reported to the trace
 * callback with the reason, so `evmon probe` can show why a reading is
 * missing.
 *
 * Exactness: the scale is held as an integer mantissa and a power of ten
 * (profile_priv.h). raw x mantissa is an exact integer, and the power of
 * ten is applied by one multiplication or one division by an exactly
 * representable 10^k, so 96 x 0.01 gives the double nearest 0.96 and
 * 35128 x 100 gives exactly 3512800.
 *
 * Modbus values arrive as decoded numbers (EV_V_INT/UINT/U64/FLOAT) with
 * their register image in `bits`: a NaN float is no value, a sentinel
 * matches either the decoded number or the image (0xFFFF, 0x8000), and a
 * SunSpec scale-factor register adds its value to the power of ten.
 *
 * Speed: nothing here allocates except the batch's own arena; templates
 * render into a stack buffer; the same row of another column is found by
 * binary search; reasons are formatted only when someone traces. Every
 * point made here carries the same base tags, so the point a value joins
 * is found by a hash of its measurement and the metric's own tags (in any
 * order), confirmed by comparing those tags only: comparing every tag of
 * every point with strcmp was a quarter of the agent's CPU.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/profile.h"
#include "agent/profile_priv.h"

#define TAG_BUF 512
#define WHY_BUF 256
#define OID_TEXT (EV_OID_MAX * 11 + 1)
#define EVAL_POINTS 64 /* points of one evaluation found by hash; more: searched in full */

/* A point this evaluation made: which measurement and own tags it has. */
typedef struct {
    uint64_t hash;
    size_t nown; /* the metric's non-empty tags */
} point_key;

typedef struct {
    const ev_profile *p;
    const ev_rowset *rs;
    const ev_tagset *base;
    int64_t ts;
    ev_batch *out;
    ev_trace_fn trace;
    void *ud;
    size_t produced;
    size_t first;             /* out->n when the evaluation began */
    point_key keys[EVAL_POINTS]; /* of out->pts[first...] */
    size_t nkeys;
    char why[WHY_BUF]; /* reason for the value being considered */
} eval_ctx;

/* The metric's own tags for one row, rendered. */
typedef struct {
    ev_tag tags[EV_MAX_TAGS];
    size_t n;
    char buf[TAG_BUF];
    size_t used;
} row_tags;

/* Running state of an `aggregate: sum` metric. */
typedef struct {
    size_t n, invalid;
    double mant;  /* sum of raw x scale mantissa, exact while exponents agree */
    int exp;
    bool mixed;   /* exponents differ per row: sum the scaled values instead */
    double total;
} sum_state;

static const ev_value none_value = {.type = EV_V_NONE};
static const ev_oid no_index = {.len = 0};

__attribute__((format(printf, 2, 3))) static const char *why(eval_ctx *c, const char *fmt, ...)
{
    if (!c->trace)
        return "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof c->why, fmt, ap);
    va_end(ap);
    return c->why;
}

/* ---- values ----------------------------------------------------------- */

static bool value_matches(const ev_value *v, const ev_literal *lit)
{
    switch (v->type) {
    case EV_V_INT: return lit->is_int && lit->i == v->i;
    case EV_V_UINT:
    case EV_V_U64: return lit->is_int && lit->i >= 0 && (uint64_t)lit->i == v->u;
    case EV_V_STR: return !strcmp(lit->text, v->s);
    case EV_V_FLOAT: return lit->is_int && (double)lit->i == v->d;
    default: return false;
    }
}

static const char *map_label(const ev_label_map *m, const ev_value *v)
{
    for (size_t i = 0; i < m->n; i++)
        if (value_matches(v, &m->e[i].key))
            return m->e[i].label;
    return NULL;
}

/* A raw value as text, for reasons and tags. */
static const char *value_text(const ev_value *v, char *buf, size_t len)
{
    switch (v->type) {
    case EV_V_INT: snprintf(buf, len, "%" PRId64, v->i); break;
    case EV_V_UINT:
    case EV_V_U64: snprintf(buf, len, "%" PRIu64, v->u); break;
    case EV_V_STR: snprintf(buf, len, "\"%s\"", v->s); break;
    case EV_V_FLOAT: snprintf(buf, len, "%.9g", v->d); break;
    default: snprintf(buf, len, "no value"); break;
    }
    return buf;
}

/* The row of column col that goes with this row (same index), or NULL. */
static const ev_row *same_row(const eval_ctx *c, size_t col, const ev_oid *index)
{
    const ev_column *aux = &c->rs->cols[col];
    if (aux->scalar)
        return aux->nrows ? &aux->rows[0] : NULL;
    return ev_column_find(aux, index);
}

static const char *col_text(const eval_ctx *c, size_t col, char *buf, size_t len)
{
    return ev_oid_format(&c->rs->cols[col].oid, buf, len);
}

/* raw is the value as a number (for text, what it parsed to). */
static bool is_sentinel(const ev_metric *m, const ev_value *v, double raw)
{
    for (size_t i = 0; i < m->nsentinels; i++) {
        int64_t s = m->sentinels[i];
        if (v->type == EV_V_INT ? v->i == s
            : v->type == EV_V_STR || v->type == EV_V_FLOAT ? raw == (double)s
                                                           : s >= 0 && v->u == (uint64_t)s)
            return true;
        if (v->nbits && s >= 0 && v->bits == (uint64_t)s) /* Modbus register image */
            return true;
    }
    return false;
}

/* Integer value of an auxiliary column (digits, scale). */
static bool aux_int(const ev_value *v, int64_t *out)
{
    if (v->type == EV_V_INT)
        *out = v->i;
    else if ((v->type == EV_V_UINT || v->type == EV_V_U64) && v->u <= INT32_MAX)
        *out = (int64_t)v->u;
    else
        return false;
    return true;
}

/* x x 10^e, with one rounding when |e| <= 22 (10^0..10^22 are exact). */
static double pow10_apply(double x, int e)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    for (; e > 22; e -= 22)
        x *= 1e22;
    for (; e < -22; e += 22)
        x /= 1e22;
    return e >= 0 ? x * p10[e] : x / p10[-e];
}

/* raw value -> exact mantissa x and decimal exponent e, or false with a
 * reason. */
static bool raw_value(eval_ctx *c, const ev_metric *m, const ev_row *row, double *x, int *e,
                      const char **reason)
{
    const ev_value *v = &row->v;
    double raw;
    switch (v->type) {
    case EV_V_INT: raw = (double)v->i; break;
    case EV_V_UINT:
    case EV_V_U64: raw = (double)v->u; break;
    case EV_V_FLOAT:
        raw = v->d;
        if (isnan(raw) || isinf(raw)) {
            *reason = why(c, "%s (no value)", isnan(raw) ? "NaN" : "infinite");
            return false;
        }
        break;
    case EV_V_STR: {
        char *end;
        raw = strtod(v->s, &end);
        if (end == v->s || *end || !isfinite(raw)) {
            *reason = why(c, "not a number: \"%s\"", v->s);
            return false;
        }
        break;
    }
    default: *reason = "no such object"; return false;
    }
    if (is_sentinel(m, v, raw)) {
        *reason = why(c, "sentinel %.17g (no sensor)", raw);
        return false;
    }
    int exp = m->scale_e;
    int64_t d;
    if (m->decimals_col != EV_NO_COL) {
        const ev_row *r = same_row(c, m->decimals_col, &row->index);
        char oid[OID_TEXT];
        if (!r || !aux_int(&r->v, &d) || d > 30) {
            *reason = why(c, "decimals_from %s: %s", col_text(c, m->decimals_col, oid, sizeof oid),
                          r ? "not a small integer" : "no value for this row");
            return false;
        }
        exp -= d > 0 ? (int)d : 0; /* RFC 3433: negative precision is not a shift */
    }
    if (m->si_scale_col != EV_NO_COL) {
        const ev_row *r = same_row(c, m->si_scale_col, &row->index);
        char oid[OID_TEXT];
        if (!r || !aux_int(&r->v, &d) || d < 1 || d > 17) {
            *reason = why(c, "si_scale_from %s: %s", col_text(c, m->si_scale_col, oid, sizeof oid),
                          r ? "not a scale 1..17" : "no value for this row");
            return false;
        }
        exp += 3 * ((int)d - 9);
    }
    if (m->sf_col != EV_NO_COL) {
        const ev_row *r = same_row(c, m->sf_col, &row->index);
        if (!r || r->v.type != EV_V_INT) {
            *reason = "scale factor register: no value";
            return false;
        }
        if (r->v.i == INT16_MIN) {
            *reason = "scale factor register: 0x8000 (not implemented)";
            return false;
        }
        if (r->v.i < -10 || r->v.i > 10) {
            *reason = why(c, "scale factor register: %" PRId64 " is outside -10..10", r->v.i);
            return false;
        }
        exp += (int)r->v.i;
    }
    *x = raw * (double)m->scale_m;
    *e = exp;
    return true;
}

/* ---- rows: filters and tags ------------------------------------------- */

static bool where_pass(eval_ctx *c, const ev_metric *m, const ev_row *row, const char **reason)
{
    for (size_t i = 0; i < m->nwhere; i++) {
        const ev_where *w = &m->where[i];
        ev_value comp = {.type = EV_V_UINT};
        const ev_value *v = &comp;
        char oid[OID_TEXT], num[64];
        if (w->by_index) {
            if (w->comp > row->index.len) {
                *reason = why(c, "filtered: the index has no component %u", w->comp);
                return false;
            }
            comp.u = row->index.sub[w->comp - 1];
        } else {
            const ev_row *r = same_row(c, w->col, &row->index);
            if (!r) {
                *reason = why(c, "filtered: %s has no value for this row",
                              col_text(c, w->col, oid, sizeof oid));
                return false;
            }
            v = &r->v;
        }
        bool ok = false;
        for (size_t j = 0; j < w->nvalues && !ok; j++)
            ok = value_matches(v, &w->values[j]);
        if (!ok) {
            if (w->by_index)
                *reason = why(c, "filtered: index component %u is %" PRIu64, w->comp, comp.u);
            else if (c->trace)
                *reason = why(c, "filtered: %s is %s", col_text(c, w->col, oid, sizeof oid),
                              value_text(v, num, sizeof num));
            else
                *reason = "";
            return false;
        }
    }
    return true;
}

static bool put(row_tags *rt, const char *s)
{
    size_t n = strlen(s);
    if (rt->used + n >= sizeof rt->buf)
        return false;
    memcpy(rt->buf + rt->used, s, n + 1);
    rt->used += n;
    return true;
}

/* Text of a value as a tag: the map's label when it has one. */
static bool put_value(row_tags *rt, const ev_value *v, const ev_label_map *map)
{
    char num[32];
    const char *label = map ? map_label(map, v) : NULL;
    if (label)
        return put(rt, label);
    if (v->type == EV_V_STR)
        return put(rt, v->s);
    return v->type != EV_V_NONE && put(rt, value_text(v, num, sizeof num));
}

static bool render_tags(eval_ctx *c, const ev_metric *m, const ev_row *row, row_tags *rt,
                        const char **reason)
{
    rt->n = 0;
    rt->used = 0;
    for (size_t i = 0; i < m->ntags; i++) {
        const ev_tag_tmpl *t = &m->tags[i];
        rt->tags[rt->n].key = t->key;
        if (t->literal) {
            rt->tags[rt->n++].val = t->literal;
            continue;
        }
        size_t start = rt->used;
        for (size_t j = 0; j < t->nsegs; j++) {
            const ev_seg *s = &t->segs[j];
            bool ok = true;
            char oid[OID_TEXT];
            if (s->kind == EV_SEG_TEXT) {
                ok = put(rt, s->text);
            } else if (s->kind == EV_SEG_INDEX) {
                ev_value v = {.type = EV_V_STR, .s = ev_oid_format(&row->index, oid, sizeof oid)};
                ok = put_value(rt, &v, s->map);
            } else if (s->kind == EV_SEG_COMP) {
                if (s->comp > row->index.len) {
                    *reason = why(c, "tag %s: the index has no component %u", t->key, s->comp);
                    return false;
                }
                ev_value v = {.type = EV_V_UINT, .u = row->index.sub[s->comp - 1]};
                ok = put_value(rt, &v, s->map);
            } else {
                const ev_row *r = same_row(c, s->col, &row->index);
                if (!r || r->v.type == EV_V_NONE) {
                    *reason = why(c, "tag %s: %s has no value for this row", t->key,
                                  col_text(c, s->col, oid, sizeof oid));
                    return false;
                }
                ok = put_value(rt, &r->v, s->map);
            }
            if (!ok) {
                *reason = why(c, "tag %s: longer than %d bytes", t->key, TAG_BUF);
                return false;
            }
        }
        rt->used++; /* keep the NUL put() wrote */
        if (rt->buf[start] == '\0') {
            *reason = why(c, "tag %s: empty value", t->key);
            return false;
        }
        rt->tags[rt->n++].val = rt->buf + start;
    }
    return true;
}

/* ---- output ------------------------------------------------------------ */

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return (h ^ 0xff) * 0x100000001b3ULL; /* the end of the string counts too */
}

/* Empty tags are never stored. (A profile cannot set a base tag's key:
 * profile_load.c refuses it, so own tags never repeat base tags.) */
static bool adds_nothing(const ev_tag *t)
{
    return !t->val || !*t->val;
}

/* The measurement and the metric's own tags, whatever their order. */
static point_key key_of(const char *measurement, const ev_tag *mt, size_t nmt)
{
    point_key k = {.hash = fnv(0xcbf29ce484222325ULL, measurement)};
    for (size_t i = 0; i < nmt; i++) {
        if (adds_nothing(&mt[i]))
            continue;
        k.hash += fnv(fnv(0x84222325cbf29ce4ULL, mt[i].key), mt[i].val);
        k.nown++;
    }
    return k;
}

/* The point of this evaluation with this measurement and own tags (its
 * base tags are the same as every other's), or NULL. */
static ev_point *find_own(eval_ctx *c, const char *measurement, const ev_tag *mt, size_t nmt,
                          const point_key *k)
{
    for (size_t i = c->nkeys; i-- > 0;) {
        if (c->keys[i].hash != k->hash || c->keys[i].nown != k->nown)
            continue;
        ev_point *p = &c->out->pts[c->first + i];
        bool same = !strcmp(p->measurement, measurement);
        for (size_t j = 0; same && j < nmt; j++) {
            if (adds_nothing(&mt[j]))
                continue;
            const char *have = ev_point_get_tag(p, mt[j].key);
            same = have && !strcmp(have, mt[j].val);
        }
        if (same)
            return p;
    }
    return NULL;
}

static bool emit(eval_ctx *c, const ev_metric *m, const ev_tag *mt, size_t nmt, double v)
{
    ev_tag all[EV_MAX_TAGS];
    size_t n = 0;
    for (size_t i = 0; c->base && i < c->base->n && n < EV_MAX_TAGS; i++)
        if (c->base->tags[i].val && *c->base->tags[i].val)
            all[n++] = c->base->tags[i];
    for (size_t i = 0; i < nmt; i++) {
        if (n == EV_MAX_TAGS)
            return false;
        all[n++] = mt[i];
    }
    /* Hashed while the batch holds only this evaluation's points, every one
     * of them hashed; otherwise the full search, as ev_batch_find does. */
    bool hashed = c->first == 0 && c->nkeys == c->out->n && c->nkeys < EVAL_POINTS;
    point_key k = key_of(m->measurement, mt, nmt);
    ev_point *p = hashed ? find_own(c, m->measurement, mt, nmt, &k)
                         : ev_batch_find(c->out, m->measurement, all, n);
    if (!p) {
        p = ev_batch_add(c->out, m->measurement, c->ts);
        if (!p)
            return false;
        for (size_t i = 0; i < n; i++)
            if (ev_point_tag(c->out, p, all[i].key, all[i].val) < 0)
                return false;
        if (hashed)
            c->keys[c->nkeys++] = k;
    }
    if (ev_point_float(c->out, p, m->field, v) < 0)
        return false;
    c->produced++;
    return true;
}

static void trace(eval_ctx *c, const ev_metric *m, const ev_column *col, const ev_oid *index,
                  const ev_value *raw, const char *reason, double scaled, const row_tags *rt)
{
    if (!c->trace)
        return;
    char oid[2 * OID_TEXT];
    if (c->p->protocol == EV_PROTO_MODBUS)
        ev_mb_read_format(&c->p->mbreads[col - c->rs->cols], oid, sizeof oid);
    else
        ev_oid_format(&col->oid, oid, sizeof oid);
    if (c->p->protocol == EV_PROTO_MODBUS) {
        /* a register has no row index */
    } else if (index && index->len) {
        size_t at = strlen(oid);
        oid[at++] = '.';
        ev_oid_format(index, oid + at, sizeof oid - at);
    } else if (!index) {
        strcat(oid, ".*"); /* a sum over every row */
    }
    ev_trace t = {
        .metric = m->name,
        .oid = oid,
        .raw = raw,
        .valid = reason == NULL,
        .why = reason,
        .scaled = reason ? 0 : scaled,
        .measurement = m->measurement,
        .field = m->field,
        .tags = rt ? rt->tags : NULL,
        .ntags = rt ? rt->n : 0,
    };
    c->trace(c->ud, &t);
}

/* ---- metrics ------------------------------------------------------------ */

static void eval_row(eval_ctx *c, const ev_metric *m, const ev_column *col, const ev_row *row,
                     sum_state *sum)
{
    const char *reason = NULL;
    row_tags rt;
    double x, v;
    int e;
    rt.n = 0;
    if (!where_pass(c, m, row, &reason) || !render_tags(c, m, row, &rt, &reason)) {
        trace(c, m, col, &row->index, &row->v, reason, 0, &rt);
        return;
    }
    if (!raw_value(c, m, row, &x, &e, &reason)) {
        if (sum)
            sum->invalid++;
        trace(c, m, col, &row->index, &row->v, reason, 0, &rt);
        return;
    }
    v = pow10_apply(x, e) + m->offset;
    if (!isfinite(v)) {
        if (sum)
            sum->invalid++;
        trace(c, m, col, &row->index, &row->v, "value out of range", 0, &rt);
        return;
    }
    if (sum) {
        if (sum->n == 0)
            sum->exp = e;
        if (e == sum->exp)
            sum->mant += x;
        else
            sum->mixed = true;
        sum->total += v;
        sum->n++;
        trace(c, m, col, &row->index, &row->v, NULL, v, &rt); /* counted in the sum */
        return;
    }
    if (!emit(c, m, rt.tags, rt.n, v))
        reason = "cannot add to the batch (out of memory, or too many tags/fields)";
    trace(c, m, col, &row->index, &row->v, reason, v, &rt);
}

static void finish_sum(eval_ctx *c, const ev_metric *m, const ev_column *col, const sum_state *s)
{
    const char *reason = NULL;
    row_tags rt;
    double v = 0;
    render_tags(c, m, NULL, &rt, &reason); /* literal tags only: cannot fail */
    if (!s->n)
        reason = "sum: no rows selected";
    else if (s->invalid)
        reason = why(c, "sum incomplete: %zu of %zu rows have no value", s->invalid, s->n + s->invalid);
    if (!reason) {
        v = s->mixed ? s->total : pow10_apply(s->mant, s->exp) + m->offset * (double)s->n;
        if (!emit(c, m, rt.tags, rt.n, v))
            reason = "cannot add to the batch (out of memory, or too many tags/fields)";
    }
    trace(c, m, col, NULL, &none_value, reason, v, &rt);
}

static void eval_metric(eval_ctx *c, const ev_metric *m)
{
    const ev_column *col = &c->rs->cols[m->col];
    if (!col->nrows) {
        trace(c, m, col, &no_index, &none_value,
              m->scalar ? "no such object" : "no rows (column absent or empty)", 0, NULL);
        return;
    }
    sum_state sum = {0};
    for (size_t i = 0; i < col->nrows; i++)
        eval_row(c, m, col, &col->rows[i], m->sum ? &sum : NULL);
    if (m->sum)
        finish_sum(c, m, col, &sum);
}

size_t ev_profile_eval(const ev_profile *p, const ev_rowset *rs, const ev_tagset *base,
                       int64_t ts_ns, ev_batch *out, ev_trace_fn trace_fn, void *ud)
{
    if (!p || !rs || !out || rs->ncols != p->nfetch)
        return 0;
    eval_ctx c = {.p = p, .rs = rs, .base = base, .ts = ts_ns, .out = out, .trace = trace_fn, .ud = ud,
                  .first = out->n};
    for (size_t i = 0; i < p->nmetrics; i++)
        eval_metric(&c, &p->metrics[i]);
    return c.produced;
}
