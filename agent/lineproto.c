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

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Append s, backslash-escaping every character in specials. */
static void put_escaped(ev_buf *out, const char *s, const char *specials)
{
    const char *run = s;
    for (; *s; s++) {
        char c = *s;
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

/* Shortest %g text that reads back to exactly v. */
static void put_double(ev_buf *out, double v)
{
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
        ev_buf_printf(out, "%" PRId64 "i", f->v.i);
        break;
    case EV_UINT:
        ev_buf_printf(out, "%" PRIu64 "u", f->v.u);
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
        ev_buf_printf(out, " %" PRId64, ts);
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
