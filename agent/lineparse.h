/*
 * lineparse.h - InfluxDB line protocol back into points (the inverse of
 * lineproto.h), for the hub, which receives the agents' MQTT payloads and
 * must not pass anything malformed on to the store.
 *
 *   measurement[,tag=val...] field=val[,field=val...] [timestamp]
 *
 * Strict, with InfluxDB 1.x's escaping rules: in a measurement a backslash
 * escapes ',' and ' '; in tag keys, tag values and field keys it escapes
 * ',', '=' and ' '; in a string field value it escapes '"' and '\'. A
 * backslash before any other character is kept as it is (and the pair is
 * never a delimiter), as InfluxDB does. Field values: floats (1, -1.5,
 * 2e9, .5), integers (12i), unsigned (12u), booleans (t, true, True, TRUE,
 * f, false, ...), strings ("..."). NaN and Inf are refused, as InfluxDB
 * refuses them. Timestamps are optional integers (nanoseconds, or seconds
 * with EV_PREC_S). Blank lines and '#' comments are skipped; a '\r' before
 * the newline is ignored.
 *
 * Refused, each with its line, column and a message naming the part at
 * fault: an empty measurement, key or tag value, a tag without '=', an
 * unescaped '=' in a tag value, duplicate tag or field keys, more tags or
 * fields than a point holds (EV_MAX_TAGS, EV_MAX_FIELDS), a bad number, an
 * unterminated string, a bad timestamp, text after the timestamp, a NUL
 * byte, invalid UTF-8. A line is taken whole or not at all.
 */
#ifndef EVMON_LINEPARSE_H
#define EVMON_LINEPARSE_H

#include <stddef.h>

#include "agent/lineproto.h"
#include "agent/point.h"

typedef struct {
    unsigned line; /* 1-based line of the payload */
    unsigned col;  /* 1-based byte column in that line */
    char msg[200];
} ev_lp_error;

/* Parse one line (without its newline) and append its point to b.
 * 1: a point was appended; 0: a blank or comment line; -1: refused, with
 * err->col and err->msg set (err->line is left to the caller). */
int ev_lp_parse_line(ev_batch *b, const char *s, size_t len, ev_precision prec, ev_lp_error *err);

/* Parse every line of text[0..len). Good lines are appended to b, bad ones
 * skipped; returns how many were bad, the first of them described in
 * *first (when not NULL). *npoints (when not NULL) gets the points added. */
size_t ev_lp_parse(ev_batch *b, const char *text, size_t len, ev_precision prec, ev_lp_error *first,
                   size_t *npoints);

#endif
