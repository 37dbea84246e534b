/*
 * snmprec.h - test-only reader of snmpsim .snmprec walks.
 *
 * Loads "OID|TAG|VALUE" lines (tags 2 Integer32, 4 OctetString, 4x hex
 * OctetString, 6 OID, 64 IpAddress, 65 Counter32, 66 Gauge32, 67 TimeTicks,
 * 70 Counter64) and fills an ev_rowset the way the SNMP collector's GET /
 * GETBULK would: a scalar fetch entry gets the exact OID (one row, empty
 * index), a column entry gets every OID under its prefix, in OID order,
 * keyed by the index suffix. Header-only so each test binary includes it;
 * not part of the agent.
 */
#ifndef EVMON_TEST_SNMPREC_H
#define EVMON_TEST_SNMPREC_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/profile.h"

typedef struct {
    ev_oid oid;
    ev_value v;
} snmprec_entry;

typedef struct {
    snmprec_entry *e;
    size_t n, cap;
} snmprec;

static inline int snmprec_cmp(const void *a, const void *b)
{
    return ev_oid_cmp(&((const snmprec_entry *)a)->oid, &((const snmprec_entry *)b)->oid);
}

static inline void snmprec_free(snmprec *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->e[i].v.s);
    free(w->e);
    w->e = NULL;
    w->n = w->cap = 0;
}

static inline int snmprec_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* One value by tag; 0, or -1 for an unknown tag or a malformed value. */
static inline int snmprec_value(const char *tag, const char *val, ev_value *v)
{
    char *end;
    memset(v, 0, sizeof *v);
    if (!strcmp(tag, "2")) {
        v->type = EV_V_INT;
        v->i = strtoll(val, &end, 10);
        return *val && !*end ? 0 : -1;
    }
    if (!strcmp(tag, "65") || !strcmp(tag, "66") || !strcmp(tag, "67") || !strcmp(tag, "70")) {
        v->type = strcmp(tag, "70") ? EV_V_UINT : EV_V_U64;
        v->u = strtoull(val, &end, 10);
        return *val && *val != '-' && !*end ? 0 : -1;
    }
    if (!strcmp(tag, "4") || !strcmp(tag, "6") || !strcmp(tag, "64")) {
        v->type = EV_V_STR;
        v->s = strdup(val);
        return v->s ? 0 : -1;
    }
    if (!strcmp(tag, "4x") || !strcmp(tag, "64x")) {
        size_t n = strlen(val);
        if (n % 2)
            return -1;
        v->type = EV_V_STR;
        v->s = malloc(n / 2 + 1);
        if (!v->s)
            return -1;
        for (size_t i = 0; i < n / 2; i++) {
            int hi = snmprec_hexval(val[2 * i]), lo = snmprec_hexval(val[2 * i + 1]);
            if (hi < 0 || lo < 0)
                return -1;
            v->s[i] = (char)(hi << 4 | lo);
        }
        v->s[n / 2] = '\0';
        return 0;
    }
    return -1;
}

/* 0, or -1 (file unreadable, or a bad line: reported on stderr). */
static inline int snmprec_load(const char *path, snmprec *w)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    unsigned lineno = 0;
    int rc = 0;
    memset(w, 0, sizeof *w);
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        return -1;
    }
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        char *tag = strchr(line, '|'), *val = tag ? strchr(tag + 1, '|') : NULL;
        if (!val) {
            fprintf(stderr, "%s:%u: not OID|TAG|VALUE\n", path, lineno);
            rc = -1;
            break;
        }
        *tag++ = '\0';
        *val++ = '\0';
        if (w->n == w->cap) {
            size_t cap = w->cap ? w->cap * 2 : 64;
            snmprec_entry *e = realloc(w->e, cap * sizeof *e);
            if (!e) {
                rc = -1;
                break;
            }
            w->e = e;
            w->cap = cap;
        }
        snmprec_entry *e = &w->e[w->n];
        if (ev_oid_parse(line, &e->oid) < 0 || snmprec_value(tag, val, &e->v) < 0) {
            free(e->v.s);
            fprintf(stderr, "%s:%u: bad OID or value (tag %s)\n", path, lineno, tag);
            rc = -1;
            break;
        }
        w->n++;
    }
    fclose(f);
    if (rc < 0)
        snmprec_free(w);
    else
        qsort(w->e, w->n, sizeof *w->e, snmprec_cmp);
    return rc;
}

/* Fill rs (cleared first) from the walk, as the collector would. */
static inline void snmprec_fill(const snmprec *w, ev_rowset *rs)
{
    ev_rowset_clear(rs);
    for (size_t ci = 0; ci < rs->ncols; ci++) {
        const ev_column *c = &rs->cols[ci];
        for (size_t i = 0; i < w->n; i++) {
            const snmprec_entry *e = &w->e[i];
            if (c->scalar) {
                if (!ev_oid_cmp(&e->oid, &c->oid))
                    ev_rowset_add(rs, ci, NULL, &e->v);
            } else if (e->oid.len > c->oid.len && ev_oid_has_prefix(&e->oid, &c->oid)) {
                ev_oid index = {.len = e->oid.len - c->oid.len};
                memcpy(index.sub, e->oid.sub + c->oid.len, index.len * sizeof index.sub[0]);
                ev_rowset_add(rs, ci, &index, &e->v);
            }
        }
    }
}

#endif
