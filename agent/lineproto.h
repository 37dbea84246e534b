/*
 * lineproto.h - InfluxDB line protocol encoder.
 *
 * Escaping per InfluxDB's rules: measurement (comma, space), tag keys and
 * values and field keys (comma, equals, space), string field values (double
 * quote, backslash). Floats print with the shortest text that reads back
 * to the same double; integers carry the "i" suffix, unsigned "u".
 * Timestamps in nanoseconds or seconds.
 */
#ifndef EVMON_LINEPROTO_H
#define EVMON_LINEPROTO_H

#include "buf.h"
#include "point.h"

typedef enum { EV_PREC_NS, EV_PREC_S } ev_precision;

/* Append one line (with trailing '\n'). A point without fields writes
 * nothing and returns -1. */
int ev_lp_point(ev_buf *out, const ev_point *p, ev_precision prec);
/* Append every point of b; returns the number of lines written. */
size_t ev_lp_batch(ev_buf *out, const ev_batch *b, ev_precision prec);

/* A batch encoded once (ns precision) for every output that takes line
 * protocol (output.h write_lp): point i's line is text[start(i)..end[i]),
 * start(i) = end[i - 1] (0 for the first); a point without a line (no
 * field to write) has an empty one. */
typedef struct {
    const ev_batch *batch; /* the points, for what the text does not say (topics) */
    ev_buf text;
    size_t *end;  /* one per point of batch */
    size_t lines; /* points that wrote a line */
} ev_lp_text;

/* Encode b into t (initialised here; ev_lp_text_free after). 0, or -1 out
 * of memory (t then holds nothing). */
int ev_lp_encode(ev_lp_text *t, const ev_batch *b);
void ev_lp_text_free(ev_lp_text *t);

static inline size_t ev_lp_start(const ev_lp_text *t, size_t i)
{
    return i ? t->end[i - 1] : 0;
}

#endif
