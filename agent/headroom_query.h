/*
 * headroom_query.h - the planner's answer (`evmon headroom`): the latest
 * headroom point of every node at one level, read from InfluxDB's /query
 * JSON (json-c), sorted least headroom first, printed as a table, JSON or
 * CSV. Pure apart from the FILE it prints to; cmd_headroom.c does the HTTP.
 */
#ifndef EVMON_HEADROOM_QUERY_H
#define EVMON_HEADROOM_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum { EV_HR_TABLE, EV_HR_JSON, EV_HR_CSV } ev_hr_format;

typedef struct {
    char *node;  /* "site/hall/row/rack" as far as the level goes; the cluster's name */
    double capacity_w, usable_w, peak_w, headroom_w, headroom_pct, days; /* NAN: absent */
    long long time_s;
} ev_hr_row;

typedef struct {
    ev_hr_row *rows;
    size_t n;
} ev_hr_rows;

/* The levels: cluster, site, hall, row, rack. */
bool ev_hr_level_ok(const char *level);
/* The InfluxQL for the latest point of every node at level within since
 * (an InfluxQL duration such as 1h, 7d). Caller frees. */
char *ev_hr_influxql(const char *level, const char *since);
/* Parse /query's JSON into rows. 0, or -1 with why in err. */
int ev_hr_parse(const char *json, const char *level, ev_hr_rows *out, char *err, size_t len);
/* Least headroom first: by headroom_pct, then headroom_w; rows without either last. */
void ev_hr_sort(ev_hr_rows *r);
void ev_hr_print(FILE *to, const ev_hr_rows *r, const char *level, ev_hr_format fmt);
void ev_hr_rows_free(ev_hr_rows *r);

#endif
