/*
 * profile_priv.h - the in-memory form of a loaded profile.
 *
 * Private to the three files that implement profile.h: profile_load.c
 * (YAML -> this form, every check done once at load time), profile.c (the
 * set, OID helpers, rowsets, the memory pool below) and profile_eval.c
 * (rowset -> points). Everything the evaluator needs per value is decided
 * here in advance: fetch-list positions instead of OIDs, parsed tag
 * templates, a decimal scale as mantissa x 10^exponent, so evaluation is a
 * few comparisons and one multiply or divide per value.
 */
#ifndef EVMON_PROFILE_PRIV_H
#define EVMON_PROFILE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/profile.h"

#define EV_NO_COL SIZE_MAX

/* Every allocation of one profile, freed together. */
typedef struct {
    void **ptrs;
    size_t n, cap;
} ev_pool;

void *ev_pool_alloc(ev_pool *pool, size_t size);                /* zeroed */
void *ev_pool_grow(ev_pool *pool, void *old, size_t size);      /* realloc */
char *ev_pool_strdup(ev_pool *pool, const char *s);
void ev_pool_free(ev_pool *pool);

/* A value to compare against: what a YAML scalar said, as text and, when
 * it is an integer, as a number too. */
typedef struct {
    const char *text;
    bool is_int;
    int64_t i;
} ev_literal;

/* `maps:` entry: raw value (index component or column value) -> label. */
typedef struct {
    ev_literal key;
    const char *label;
} ev_map_entry;

typedef struct {
    const char *name;
    ev_map_entry *e;
    size_t n;
} ev_label_map;

/* One piece of a tag template. */
typedef enum {
    EV_SEG_TEXT,   /* literal text */
    EV_SEG_INDEX,  /* {index}: the whole row index, dotted */
    EV_SEG_COMP,   /* {iN}: index component N (1-based) */
    EV_SEG_COLUMN, /* {col:OID}: another column's value in the same row */
} ev_seg_kind;

typedef struct {
    ev_seg_kind kind;
    const char *text;         /* EV_SEG_TEXT */
    unsigned comp;            /* EV_SEG_COMP */
    size_t col;               /* EV_SEG_COLUMN: fetch-list position */
    const ev_label_map *map;  /* optional {...:map} */
} ev_seg;

typedef struct {
    const char *key;
    const char *literal; /* set when the value has no placeholder */
    ev_seg *segs;
    size_t nsegs;
} ev_tag_tmpl;

/* `where:` clause: the row is kept when the selected value is one of
 * `equals`. */
typedef struct {
    bool by_index;     /* index component `comp`, else column `col` */
    unsigned comp;
    size_t col;
    ev_literal *values;
    size_t nvalues;
} ev_where;

typedef struct {
    const char *name;
    unsigned line;
    size_t col;               /* fetch-list position of the value */
    bool scalar;
    const char *measurement, *field;
    int64_t scale_m;          /* scale = scale_m x 10^scale_e, exactly */
    int scale_e;
    double offset;
    int64_t *sentinels;
    size_t nsentinels;
    ev_tag_tmpl *tags;
    size_t ntags;
    ev_where *where;
    size_t nwhere;
    size_t decimals_col;      /* value / 10^v (Raritan decimalDigits, entPhySensorPrecision) */
    size_t si_scale_col;      /* value x 10^(3(v-9)) (entPhySensorScale) */
    size_t sf_col;            /* Modbus: value x 10^v (SunSpec _SF register) */
    bool sum;                 /* aggregate: sum of every row */
} ev_metric;

struct ev_profile {
    const char *name, *description, *file;
    unsigned line;
    ev_metric *metrics;
    size_t nmetrics;
    ev_fetch *fetch;
    size_t nfetch;
    ev_protocol protocol;
    ev_mb_read *mbreads;      /* Modbus: one per fetch entry, same order */
    ev_label_map *maps;
    size_t nmaps;
    ev_pool pool;
};

/* Add a loaded profile to the set (which takes ownership). 0 or -1. */
int ev_profiles_add(ev_profile_set *set, ev_profile *p);
void ev_profile_free(ev_profile *p);

/* The row of column c at exactly this index, or NULL (binary search). */
const ev_row *ev_column_find(const ev_column *c, const ev_oid *index);

#endif
