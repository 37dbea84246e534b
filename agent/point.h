/*
 * point.h - the point and batch types every stage of evmon passes along.
 *
 * A point is one line of InfluxDB line protocol in structured form: a
 * measurement, a sorted tag set, typed fields and a timestamp. Collectors
 * append points to a batch; the energy model and alerts read them; outputs
 * encode them (lineproto.h). All strings a point refers to are copied into
 * the batch's arena, so a batch outlives the config and device that made it.
 *
 * Numeric readings are always EV_FLOAT: InfluxDB rejects a field whose type
 * changes, and a scaled device value is a real number.
 */
#ifndef EVMON_POINT_H
#define EVMON_POINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EV_MAX_TAGS 12
#define EV_MAX_FIELDS 24

typedef enum { EV_FLOAT, EV_INT, EV_UINT, EV_BOOL, EV_STR } ev_ftype;

typedef struct {
    const char *key;
    const char *val;
} ev_tag;

typedef struct {
    const char *key;
    ev_ftype type;
    union {
        double f;
        int64_t i;
        uint64_t u;
        bool b;
        const char *s;
    } v;
} ev_field;

typedef struct {
    const char *measurement;
    int64_t ts_ns; /* Unix time in nanoseconds */
    uint8_t ntags, nfields;
    ev_tag tags[EV_MAX_TAGS];       /* kept sorted by key */
    ev_field fields[EV_MAX_FIELDS]; /* in insertion order, keys unique */
} ev_point;

typedef struct ev_arena ev_arena;

typedef struct {
    ev_point *pts;
    size_t n, cap;
    ev_arena *arena;
} ev_batch;

ev_batch *ev_batch_new(void);
void ev_batch_free(ev_batch *b);
/* Forget all points and strings; keeps the memory for reuse. */
void ev_batch_clear(ev_batch *b);

/* Append a point. The returned pointer is valid until the next
 * ev_batch_add/ev_batch_clear on the same batch. NULL on out of memory. */
ev_point *ev_batch_add(ev_batch *b, const char *measurement, int64_t ts_ns);

/* Copy a string into the batch's arena (NULL on out of memory). */
const char *ev_batch_strdup(ev_batch *b, const char *s);

/* Set a tag (replacing a tag of the same key). Empty values are skipped, as
 * InfluxDB forbids them. Returns 0, or -1 when full or out of memory. */
int ev_point_tag(ev_batch *b, ev_point *p, const char *key, const char *val);
/* Set a field (replacing a field of the same key). 0, or -1 when full. */
int ev_point_float(ev_batch *b, ev_point *p, const char *key, double v);
int ev_point_int(ev_batch *b, ev_point *p, const char *key, int64_t v);
int ev_point_uint(ev_batch *b, ev_point *p, const char *key, uint64_t v);
int ev_point_bool(ev_batch *b, ev_point *p, const char *key, bool v);
int ev_point_str(ev_batch *b, ev_point *p, const char *key, const char *v);

const char *ev_point_get_tag(const ev_point *p, const char *key);
const ev_field *ev_point_get_field(const ev_point *p, const char *key);

/* Find a point in b with this measurement and exactly these tags, or NULL. */
ev_point *ev_batch_find(ev_batch *b, const char *measurement, const ev_tag *tags, size_t ntags);

/* Append every point of src to dst (strings copied). 0 or -1. */
int ev_batch_append(ev_batch *dst, const ev_batch *src);

#endif
