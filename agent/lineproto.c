/*
 * lineproto.c - encode points as InfluxDB line protocol.
 *
 *   measurement,tag=v,tag=v field=1.5,count=3i,name="x" 1700000000000000000
 *
 * Tags are already sorted by key (point.c), which is what InfluxDB
 * recommends for ingest speed. Non-finite floats are skipped: InfluxDB
 * rejects NaN and Inf, and a missing value is "no value", never a number.
 * Newlines cannot appear in line protocol; they are written as spaces.
 * Outside string values a backslash cannot be escaped, and readers
 * (InfluxDB, the hub's parser) take it with the character after it as a
 * pair: before an ordinary character (or a backslash) the pair is written
 * as it is and reads back the same; before a special character or at the
 * end it is doubled, so it reads back as two backslashes and no delimiter
 * is lost (found by tests/fuzz/fuzz_lineproto.c). A measurement starting
 * with '#' would read as a comment, one starting with a tab would lose it:
 * such a point is not written.
 */
#include "agent/lineproto.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Characters put_escaped must look at, per set of specials (besides
 * '\\', '\n' and '\r', which it always looks at). */
static const unsigned char special_meas[256] = {[','] = 1, [' '] = 1};
static const unsigned char special_key[256] = {[','] = 1, ['='] = 1, [' '] = 1};
static const unsigned char special_str[256] = {['"'] = 1};

static const unsigned char *special_table(const char *specials)
{
    if (specials[0] == '"')
        return special_str;
    return specials[1] == '=' ? special_key : special_meas;
}

/* Append s, backslash-escaping every character in specials. Most names
 * need nothing escaped: they are appended in one piece. */
static void put_escaped(ev_buf *out, const char *s, const char *specials)
{
    const unsigned char *table = special_table(specials);
    const char *run = s;
    for (; *s; s++) {
        char c = *s;
        if (c != '\\' && c != '\n' && c != '\r' && !table[(unsigned char)c])
            continue;
        if (c == '\\' && !strchr(specials, '\\')) { /* not in a string value */
            char next = s[1];
            ev_buf_put(out, run, (size_t)(s - run));
            if (next && next != '\n' && next != '\r' && !strchr(specials, next)) {
                ev_buf_putc(out, '\\'); /* a pair read back as it is */
                ev_buf_putc(out, *++s);
            } else {
                ev_buf_puts(out, "\\\\");
            }
            run = s + 1;
        } else if (c == '\n' || c == '\r' || strchr(specials, c)) {
            ev_buf_put(out, run, (size_t)(s - run));
            if (c == '\n' || c == '\r') {
                ev_buf_puts(out, strchr(specials, ' ') ? "\\ " : " ");
            } else {
                ev_buf_putc(out, '\\');
                ev_buf_putc(out, c);
            }
            run = s + 1;
        }
    }
    ev_buf_put(out, run, (size_t)(s - run));
}

/* Append the decimal digits of u. */
static void put_u64(ev_buf *out, uint64_t u)
{
    char tmp[24], *e = tmp + sizeof tmp, *d = e;
    do
        *--d = (char)('0' + u % 10);
    while (u /= 10);
    ev_buf_put(out, d, (size_t)(e - d));
}

static void put_i64(ev_buf *out, int64_t i)
{
    if (i < 0)
        ev_buf_putc(out, '-');
    put_u64(out, i < 0 ? -(uint64_t)i : (uint64_t)i);
}

/* The fast path of put_double: v written as m / 10^k, for the smallest k
 * <= 6 at which that quotient is exactly v, and |m| < 10^15. m and 10^k
 * are exact doubles, so IEEE division rounds m / 10^k correctly, which is
 * what strtod does with the text: the text reads back to exactly v. With
 * at most 15 significant digits (DBL_DIG) and 1e-4 <= |v| < 1e15 that is
 * also the text %.15g prints (the slow path's first try). false when v is
 * not such a number. */
static bool put_short_decimal(ev_buf *out, double v)
{
    static const double pow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
    double a = fabs(v);
    if (!(a >= 1e-4 && a < 1e15))
        return false;
    for (int k = 0; k < (int)(sizeof pow10 / sizeof pow10[0]); k++) {
        double scaled = a * pow10[k];
        if (scaled >= 1e15)
            return false;
        double m = nearbyint(scaled);
        if (m / pow10[k] != a)
            continue;
        uint64_t digits = (uint64_t)m, unit = (uint64_t)pow10[k];
        if (v < 0)
            ev_buf_putc(out, '-');
        put_u64(out, digits / unit);
        if (k) {
            char frac[8];
            uint64_t f = digits % unit;
            for (int j = k - 1; j >= 0; j--, f /= 10)
                frac[j] = (char)('0' + f % 10);
            ev_buf_putc(out, '.');
            ev_buf_put(out, frac, (size_t)k);
        }
        return true;
    }
    return false;
}

/* Shortest %g text that reads back to exactly v. */
static void put_double(ev_buf *out, double v)
{
    if (put_short_decimal(out, v))
        return; /* readings: integers and short decimals */
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    ev_buf_puts(out, tmp);
}

static bool field_writable(const ev_field *f)
{
    return f->type != EV_FLOAT || isfinite(f->v.f);
}

static void put_field_value(ev_buf *out, const ev_field *f)
{
    switch (f->type) {
    case EV_FLOAT:
        put_double(out, f->v.f);
        break;
    case EV_INT:
        put_i64(out, f->v.i);
        ev_buf_putc(out, 'i');
        break;
    case EV_UINT:
        put_u64(out, f->v.u);
        ev_buf_putc(out, 'u');
        break;
    case EV_BOOL:
        ev_buf_puts(out, f->v.b ? "true" : "false");
        break;
    case EV_STR:
        ev_buf_putc(out, '"');
        put_escaped(out, f->v.s, "\"\\");
        ev_buf_putc(out, '"');
        break;
    }
}

int ev_lp_point(ev_buf *out, const ev_point *p, ev_precision prec)
{
    size_t nwritable = 0;
    for (size_t i = 0; i < p->nfields; i++)
        nwritable += field_writable(&p->fields[i]);
    if (!nwritable || !p->measurement || !*p->measurement || *p->measurement == '#' ||
        *p->measurement == '\t')
        return -1;

    put_escaped(out, p->measurement, ", ");
    for (size_t i = 0; i < p->ntags; i++) {
        ev_buf_putc(out, ',');
        put_escaped(out, p->tags[i].key, ",= ");
        ev_buf_putc(out, '=');
        put_escaped(out, p->tags[i].val, ",= ");
    }
    char sep = ' ';
    for (size_t i = 0; i < p->nfields; i++) {
        const ev_field *f = &p->fields[i];
        if (!field_writable(f))
            continue;
        ev_buf_putc(out, sep);
        sep = ',';
        put_escaped(out, f->key, ",= ");
        ev_buf_putc(out, '=');
        put_field_value(out, f);
    }
    if (p->ts_ns) {
        int64_t ts = prec == EV_PREC_S ? p->ts_ns / 1000000000 : p->ts_ns;
        ev_buf_putc(out, ' ');
        put_i64(out, ts);
    }
    ev_buf_putc(out, '\n');
    return out->oom ? -1 : 0;
}

size_t ev_lp_batch(ev_buf *out, const ev_batch *b, ev_precision prec)
{
    size_t lines = 0;
    for (size_t i = 0; i < b->n; i++)
        if (ev_lp_point(out, &b->pts[i], prec) == 0)
            lines++;
    return lines;
}

int ev_lp_encode(ev_lp_text *t, const ev_batch *b)
{
    t->batch = b;
    t->lines = 0;
    ev_buf_init(&t->text);
    t->end = malloc((b->n ? b->n : 1) * sizeof *t->end);
    if (!t->end)
        return -1;
    for (size_t i = 0; i < b->n; i++) {
        size_t before = t->text.len;
        if (ev_lp_point(&t->text, &b->pts[i], EV_PREC_NS) == 0)
            t->lines++;
        else
            t->text.len = before; /* no field to write, or out of memory */
        t->end[i] = t->text.len;
    }
    if (t->text.oom) {
        ev_lp_text_free(t);
        return -1;
    }
    return 0;
}

void ev_lp_text_free(ev_lp_text *t)
{
    ev_buf_free(&t->text);
    free(t->end);
    t->end = NULL;
    t->lines = 0;
}
