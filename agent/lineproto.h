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

#endif
