/*
 * test_snmp_walk.c - the SNMP request plan (collectors/snmp_walk.c) fed
 * hand-built answers: GET then GETBULK of the unfinished columns only,
 * column ends (prefix, endOfMibView), a looping agent, the row cap,
 * tooBig, value types, SNMPv1 GETNEXT/noSuchName, max-repetitions
 * learned from the previous poll, and short and long columns asked apart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "collectors/snmp_int.h"
#include "fixture_profile.h"

/* Two scalars (S1, S2) and three columns (CA, CB, CC) under .1.3.6.1.4.1.99. */
static const char profile_yaml[] =
    "name: walktest\n"
    "description: unit test profile\n"
    "metrics:\n"
    "  - {name: s1, oid: 1.3.6.1.4.1.99.1.0, type: scalar, measurement: t, field: s1}\n"
    "  - {name: s2, oid: 1.3.6.1.4.1.99.2.0, type: scalar, measurement: t, field: s2}\n"
    "  - {name: ca, oid: 1.3.6.1.4.1.99.3.1.2, type: column, measurement: t, field: ca}\n"
    "  - {name: cb, oid: 1.3.6.1.4.1.99.3.1.3, type: column, measurement: t, field: cb}\n"
    "  - {name: cc, oid: 1.3.6.1.4.1.99.3.1.4, type: column, measurement: t, field: cc}\n";

typedef struct {
    ev_profile_set *set;
    const ev_profile *p;
    ev_rowset *rs;
    ev_snmp_walk w;
    size_t fs1, fs2, fca, fcb, fcc; /* fetch-list positions */
} fixture;

static size_t fetch_pos(const ev_profile *p, const char *dotted)
{
    ev_oid o;
    size_t n;
    const ev_fetch *f = ev_profile_fetch_list(p, &n);
    assert_int_equal(ev_oid_parse(dotted, &o), 0);
    for (size_t i = 0; i < n; i++)
        if (!ev_oid_cmp(&f[i].oid, &o))
            return i;
    fail_msg("%s not in the fetch list", dotted);
    return 0;
}

static int setup_common(void **state, bool v1, unsigned reps)
{
    fixture *f = calloc(1, sizeof *f);
    f->set = ev_profiles_new();
    fx_profile_load(f->set, profile_yaml);
    f->p = ev_profiles_find(f->set, "walktest");
    assert_non_null(f->p);
    f->rs = ev_rowset_new(f->p);
    assert_int_equal(ev_snmp_walk_init(&f->w, f->p, reps, v1), 0);
    f->fs1 = fetch_pos(f->p, "1.3.6.1.4.1.99.1.0");
    f->fs2 = fetch_pos(f->p, "1.3.6.1.4.1.99.2.0");
    f->fca = fetch_pos(f->p, "1.3.6.1.4.1.99.3.1.2");
    f->fcb = fetch_pos(f->p, "1.3.6.1.4.1.99.3.1.3");
    f->fcc = fetch_pos(f->p, "1.3.6.1.4.1.99.3.1.4");
    *state = f;
    return 0;
}

static int setup(void **state) { return setup_common(state, false, 10); }
static int setup_v1(void **state) { return setup_common(state, true, 10); }

static int teardown(void **state)
{
    fixture *f = *state;
    ev_snmp_walk_free(&f->w);
    ev_rowset_free(f->rs);
    ev_profiles_free(f->set);
    free(f);
    return 0;
}

/* ---- building answers ---- */

static netsnmp_pdu *answer(void)
{
    netsnmp_pdu *r = snmp_pdu_create(SNMP_MSG_RESPONSE);
    assert_non_null(r);
    r->errstat = SNMP_ERR_NOERROR; /* snmp_pdu_create leaves "default" (-1) */
    r->errindex = 0;
    return r;
}

static void add_int(netsnmp_pdu *r, const char *dotted, long v)
{
    oid name[MAX_OID_LEN];
    size_t len = MAX_OID_LEN;
    assert_non_null(read_objid(dotted, name, &len));
    snmp_pdu_add_variable(r, name, len, ASN_INTEGER, &v, sizeof v);
}

static void add_typed(netsnmp_pdu *r, const char *dotted, u_char type, const void *val, size_t vlen)
{
    oid name[MAX_OID_LEN];
    size_t len = MAX_OID_LEN;
    assert_non_null(read_objid(dotted, name, &len));
    snmp_pdu_add_variable(r, name, len, type, val, vlen);
}

static void feed(fixture *f, netsnmp_pdu *r)
{
    ev_snmp_walk_response(&f->w, r, f->rs);
    snmp_free_pdu(r);
}

/* The varbind OIDs of a request, dotted, joined by spaces. */
static void req_oids(const netsnmp_pdu *pdu, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = 0;
    for (const netsnmp_variable_list *v = pdu->variables; v; v = v->next_variable) {
        ev_oid o = {.len = v->name_length};
        for (size_t i = 0; i < o.len; i++)
            o.sub[i] = (uint32_t)v->name[i];
        char t[200];
        ev_oid_format(&o, t, sizeof t);
        n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? " " : "", t);
    }
}

static const ev_row *row(const fixture *f, size_t col, size_t i)
{
    assert_true(i < f->rs->cols[col].nrows);
    return &f->rs->cols[col].rows[i];
}

/* ---- tests ---- */

static void scalars_then_all_columns_then_unfinished_only(void **state)
{
    fixture *f = *state;
    char oids[1000];
    ev_snmp_walk_start(&f->w);

    netsnmp_pdu *q = ev_snmp_walk_next(&f->w);
    assert_non_null(q);
    assert_int_equal(q->command, SNMP_MSG_GET);
    req_oids(q, oids, sizeof oids);
    assert_string_equal(oids, "1.3.6.1.4.1.99.1.0 1.3.6.1.4.1.99.2.0");
    snmp_free_pdu(q);
    netsnmp_pdu *r = answer();
    add_int(r, ".1.3.6.1.4.1.99.1.0", 7);
    add_typed(r, ".1.3.6.1.4.1.99.2.0", SNMP_NOSUCHOBJECT, NULL, 0);
    feed(f, r);
    assert_int_equal(row(f, f->fs1, 0)->v.type, EV_V_INT);
    assert_int_equal(row(f, f->fs1, 0)->v.i, 7);
    assert_int_equal(row(f, f->fs1, 0)->index.len, 0);
    assert_int_equal(row(f, f->fs2, 0)->v.type, EV_V_NONE); /* never a number */

    q = ev_snmp_walk_next(&f->w);
    assert_int_equal(q->command, SNMP_MSG_GETBULK);
    assert_int_equal(q->errindex, 10); /* max-repetitions */
    req_oids(q, oids, sizeof oids);
    assert_string_equal(oids, "1.3.6.1.4.1.99.3.1.2 1.3.6.1.4.1.99.3.1.3 1.3.6.1.4.1.99.3.1.4");
    snmp_free_pdu(q);
    /* Row by row, interleaved: CA has rows 1,2 then leaves its prefix;
     * CB has rows 1,2,3 (unfinished); CC ends at endOfMibView. */
    r = answer();
    add_int(r, ".1.3.6.1.4.1.99.3.1.2.1", 10);
    add_int(r, ".1.3.6.1.4.1.99.3.1.3.1", 20);
    add_int(r, ".1.3.6.1.4.1.99.3.1.4.1", 30);
    add_int(r, ".1.3.6.1.4.1.99.3.1.2.2", 11);
    add_int(r, ".1.3.6.1.4.1.99.3.1.3.2", 21);
    add_typed(r, ".1.3.6.1.4.1.99.3.1.4.1", SNMP_ENDOFMIBVIEW, NULL, 0);
    add_int(r, ".1.3.6.1.4.1.99.3.1.3.1", 20); /* CA ran into CB: done */
    add_int(r, ".1.3.6.1.4.1.99.3.1.3.3", 22);
    add_typed(r, ".1.3.6.1.4.1.99.3.1.4.1", SNMP_ENDOFMIBVIEW, NULL, 0);
    feed(f, r);
    assert_int_equal(f->rs->cols[f->fca].nrows, 2);
    assert_int_equal(f->rs->cols[f->fcb].nrows, 3);
    assert_int_equal(f->rs->cols[f->fcc].nrows, 1);
    assert_int_equal(row(f, f->fca, 1)->v.i, 11);
    assert_int_equal(row(f, f->fca, 1)->index.len, 1);
    assert_int_equal(row(f, f->fca, 1)->index.sub[0], 2);
    assert_int_equal(row(f, f->fcb, 2)->v.i, 22);

    /* Only CB goes on, from its last row. */
    q = ev_snmp_walk_next(&f->w);
    assert_int_equal(q->command, SNMP_MSG_GETBULK);
    req_oids(q, oids, sizeof oids);
    assert_string_equal(oids, "1.3.6.1.4.1.99.3.1.3.3");
    snmp_free_pdu(q);
    r = answer();
    add_int(r, ".1.3.6.1.4.1.99.3.1.3.4", 23);
    add_int(r, ".1.3.6.1.4.1.99.3.1.4.1", 30);
    feed(f, r);
    assert_int_equal(f->rs->cols[f->fcb].nrows, 4);
    assert_null(ev_snmp_walk_next(&f->w));
    assert_int_equal(f->w.nerrors, 0);
}

static void looping_agent_is_cut_short(void **state)
{
    fixture *f = *state;
    ev_snmp_walk_start(&f->w);
    f->w.scalar_pos = f->w.nscalars; /* straight to the columns */
    netsnmp_pdu *q = ev_snmp_walk_next(&f->w);
    snmp_free_pdu(q);
    netsnmp_pdu *r = answer();
    add_int(r, ".1.3.6.1.4.1.99.3.1.2.5", 1);
    add_typed(r, ".1.3.6.1.4.1.99.3.1.3.1", SNMP_ENDOFMIBVIEW, NULL, 0);
    add_typed(r, ".1.3.6.1.4.1.99.3.1.4.1", SNMP_ENDOFMIBVIEW, NULL, 0);
    add_int(r, ".1.3.6.1.4.1.99.3.1.2.3", 2); /* goes backwards */
    feed(f, r);
    assert_int_equal(f->rs->cols[f->fca].nrows, 1);
    assert_null(ev_snmp_walk_next(&f->w)); /* nothing left: no endless walk */
    assert_int_equal(f->w.nerrors, 1);
    assert_non_null(strstr(f->w.err, "not increasing"));
}

static void rows_are_capped(void **state)
{
    fixture *f = *state;
    char name[64];
    ev_snmp_walk_start(&f->w);
    f->w.scalar_pos = f->w.nscalars;
    /* An endless CA; CB and CC end at once. */
    f->w.done[1] = f->w.done[2] = 1;
    unsigned next = 1, requests = 0;
    netsnmp_pdu *q;
    while ((q = ev_snmp_walk_next(&f->w)) && requests < 10000) {
        requests++;
        snmp_free_pdu(q);
        netsnmp_pdu *r = answer();
        for (int k = 0; k < 50; k++) {
            snprintf(name, sizeof name, ".1.3.6.1.4.1.99.3.1.2.%u", next++);
            add_int(r, name, k);
        }
        feed(f, r);
    }
    assert_null(q);
    assert_int_equal(f->rs->cols[f->fca].nrows, EV_SNMP_MAX_ROWS);
    assert_non_null(strstr(f->w.err, "rows; rest ignored"));
}

static void toobig_halves_repetitions_then_columns(void **state)
{
    fixture *f = *state;
    ev_snmp_walk_start(&f->w);
    f->w.scalar_pos = f->w.nscalars;
    unsigned reps[8];
    size_t ncols[8];
    for (int k = 0; k < 6; k++) {
        netsnmp_pdu *q = ev_snmp_walk_next(&f->w);
        assert_non_null(q);
        reps[k] = (unsigned)q->errindex;
        ncols[k] = 0;
        for (netsnmp_variable_list *v = q->variables; v; v = v->next_variable)
            ncols[k]++;
        snmp_free_pdu(q);
        netsnmp_pdu *r = answer();
        r->errstat = SNMP_ERR_TOOBIG;
        feed(f, r);
    }
    assert_int_equal(reps[0], 10);
    assert_int_equal(reps[1], 5);
    assert_int_equal(reps[2], 2);
    assert_int_equal(reps[3], 1);
    assert_int_equal(ncols[3], 3);
    assert_int_equal(ncols[4], 2); /* at one repetition: fewer columns */
    assert_int_equal(ncols[5], 1);
}

static void toobig_get_asks_fewer_scalars(void **state)
{
    fixture *f = *state;
    ev_snmp_walk_start(&f->w);
    netsnmp_pdu *q = ev_snmp_walk_next(&f->w);
    snmp_free_pdu(q);
    netsnmp_pdu *r = answer();
    r->errstat = SNMP_ERR_TOOBIG;
    feed(f, r);
    q = ev_snmp_walk_next(&f->w);
    assert_int_equal(q->command, SNMP_MSG_GET);
    assert_non_null(q->variables);
    assert_null(q->variables->next_variable); /* one scalar at a time now */
    snmp_free_pdu(q);
}

static void value_types(void **state)
{
    fixture *f = *state;
    ev_snmp_walk_start(&f->w);
    snmp_free_pdu(ev_snmp_walk_next(&f->w));
    netsnmp_pdu *r = answer();
    struct counter64 c64 = {.high = 1, .low = 2};
    add_typed(r, ".1.3.6.1.4.1.99.1.0", ASN_COUNTER64, &c64, sizeof c64);
    u_long g = 4000000000u;
    add_typed(r, ".1.3.6.1.4.1.99.2.0", ASN_GAUGE, &g, sizeof g);
    feed(f, r);
    assert_int_equal(row(f, f->fs1, 0)->v.type, EV_V_U64);
    assert_true(row(f, f->fs1, 0)->v.u == ((uint64_t)1 << 32 | 2));
    assert_int_equal(row(f, f->fs2, 0)->v.type, EV_V_UINT);
    assert_true(row(f, f->fs2, 0)->v.u == 4000000000u);

    netsnmp_pdu *q = ev_snmp_walk_next(&f->w);
    snmp_free_pdu(q);
    r = answer();
    add_typed(r, ".1.3.6.1.4.1.99.3.1.2.1", ASN_OCTET_STR, "12.5", 4);
    add_typed(r, ".1.3.6.1.4.1.99.3.1.3.1", ASN_OCTET_STR, "\x00\x01\xff", 3);
    u_long cnt = 17;
    add_typed(r, ".1.3.6.1.4.1.99.3.1.4.1", ASN_COUNTER, &cnt, sizeof cnt);
    feed(f, r);
    assert_int_equal(row(f, f->fca, 0)->v.type, EV_V_STR);
    assert_string_equal(row(f, f->fca, 0)->v.s, "12.5");
    assert_string_equal(row(f, f->fcb, 0)->v.s, "00:01:ff"); /* binary shown as hex */
    assert_int_equal(row(f, f->fcc, 0)->v.type, EV_V_UINT);
    assert_true(row(f, f->fcc, 0)->v.u == 17);
}

static void v1_getnext_and_nosuchname(void **state)
{
    fixture *f = *state;
    ev_snmp_walk_start(&f->w);
    netsnmp_pdu *q = ev_snmp_walk_next(&f->w);
    assert_int_equal(q->command, SNMP_MSG_GET);
    snmp_free_pdu(q);
    /* v1: noSuchName for the 2nd scalar fails the whole GET; it is left out
     * and the rest asked again. */
    netsnmp_pdu *r = answer();
    r->errstat = SNMP_ERR_NOSUCHNAME;
    r->errindex = 2;
    feed(f, r);
    assert_int_equal(row(f, f->fs2, 0)->v.type, EV_V_NONE);
    q = ev_snmp_walk_next(&f->w);
    assert_int_equal(q->command, SNMP_MSG_GET);
    assert_null(q->variables->next_variable);
    snmp_free_pdu(q);
    r = answer();
    add_int(r, ".1.3.6.1.4.1.99.1.0", 5);
    feed(f, r);
    assert_int_equal(row(f, f->fs1, 0)->v.i, 5);

    q = ev_snmp_walk_next(&f->w);
    assert_int_equal(q->command, SNMP_MSG_GETNEXT);
    snmp_free_pdu(q);
    /* noSuchName on a GETNEXT: that column is at the end of the MIB. */
    r = answer();
    r->errstat = SNMP_ERR_NOSUCHNAME;
    r->errindex = 3;
    feed(f, r);
    q = ev_snmp_walk_next(&f->w);
    size_t n = 0;
    for (netsnmp_variable_list *v = q->variables; v; v = v->next_variable)
        n++;
    assert_int_equal(n, 2);
    snmp_free_pdu(q);
}

static void empty_answer_ends_the_columns(void **state)
{
    fixture *f = *state;
    ev_snmp_walk_start(&f->w);
    f->w.scalar_pos = f->w.nscalars;
    snmp_free_pdu(ev_snmp_walk_next(&f->w));
    feed(f, answer()); /* no varbinds at all */
    assert_null(ev_snmp_walk_next(&f->w));
    assert_non_null(strstr(f->w.err, "empty answer"));
}

/* Walk the columns once with rows rows each (plus CC empty). */
static void walk_columns(fixture *f, unsigned rows, unsigned *first_reps)
{
    char name[64];
    netsnmp_pdu *q;
    ev_snmp_walk_start(&f->w);
    f->w.scalar_pos = f->w.nscalars;
    bool first = true;
    while ((q = ev_snmp_walk_next(&f->w))) {
        if (first)
            *first_reps = (unsigned)q->errindex;
        first = false;
        /* Answer as an agent would: per repetition, each asked column's next OID. */
        size_t nv = 0;
        const char *cols[3];
        unsigned at[3];
        for (netsnmp_variable_list *v = q->variables; v; v = v->next_variable, nv++) {
            /* .1.3.6.1.4.1.99.3.1.COL[.ROW] */
            cols[nv] = v->name[9] == 2 ? "2" : v->name[9] == 3 ? "3" : "4";
            at[nv] = v->name_length > 10 ? (unsigned)v->name[10] : 0;
        }
        unsigned reps = (unsigned)q->errindex;
        snmp_free_pdu(q);
        netsnmp_pdu *r = answer();
        for (unsigned k = 0; k < reps; k++)
            for (size_t j = 0; j < nv; j++) {
                unsigned i = ++at[j];
                if (cols[j][0] == '4' || i > rows)
                    add_typed(r, ".1.3.6.1.4.1.99.5.0", ASN_INTEGER, &(long){0}, sizeof(long));
                else {
                    snprintf(name, sizeof name, ".1.3.6.1.4.1.99.3.1.%s.%u", cols[j], i);
                    add_int(r, name, (long)i);
                }
            }
        feed(f, r);
    }
}

static void repetitions_learned_from_last_poll(void **state)
{
    fixture *f = *state;
    unsigned first = 0;
    walk_columns(f, 3, &first);
    assert_int_equal(first, 10);                      /* first poll: configured */
    assert_int_equal(f->rs->cols[f->fca].nrows, 3);
    ev_rowset_clear(f->rs);
    walk_columns(f, 3, &first);
    assert_int_equal(first, 4);                       /* longest column + 1 */
    assert_int_equal(f->rs->cols[f->fcb].nrows, 3);
    ev_rowset_clear(f->rs);
    walk_columns(f, 7, &first);                       /* the table grew */
    assert_int_equal(first, 4);
    assert_int_equal(f->rs->cols[f->fca].nrows, 7);   /* still read whole */
    assert_int_equal(f->rs->cols[f->fcb].nrows, 7);
    ev_rowset_clear(f->rs);
    walk_columns(f, 7, &first);
    assert_int_equal(first, 8);
}

/* A poll answered as an agent whose columns CA, CB, CC have len[0..2] rows;
 * each request's max-repetitions and varbind count are recorded. */
static size_t walk_lengths(fixture *f, const unsigned len[3], unsigned *reps_out, size_t *vbs_out)
{
    char name[64];
    netsnmp_pdu *q;
    size_t nreq = 0;
    ev_snmp_walk_start(&f->w);
    f->w.scalar_pos = f->w.nscalars;
    while ((q = ev_snmp_walk_next(&f->w))) {
        size_t nv = 0;
        unsigned col[3], at[3];
        for (netsnmp_variable_list *v = q->variables; v; v = v->next_variable, nv++) {
            col[nv] = (unsigned)v->name[9] - 2; /* .1.3.6.1.4.1.99.3.1.{2,3,4}[.ROW] */
            at[nv] = v->name_length > 10 ? (unsigned)v->name[10] : 0;
        }
        unsigned reps = (unsigned)q->errindex;
        reps_out[nreq] = reps;
        vbs_out[nreq++] = nv;
        snmp_free_pdu(q);
        netsnmp_pdu *r = answer();
        for (unsigned k = 0; k < reps; k++)
            for (size_t j = 0; j < nv; j++) {
                unsigned i = ++at[j];
                if (i > len[col[j]])
                    add_typed(r, ".1.3.6.1.4.1.99.5.0", ASN_INTEGER, &(long){0}, sizeof(long));
                else {
                    snprintf(name, sizeof name, ".1.3.6.1.4.1.99.3.1.%u.%u", col[j] + 2, i);
                    add_int(r, name, (long)i);
                }
            }
        feed(f, r);
    }
    return nreq;
}

static void short_and_long_columns_are_asked_apart(void **state)
{
    fixture *f = *state;
    const unsigned len[3] = {1, 1, 8};
    unsigned reps[8];
    size_t vbs[8];
    assert_int_equal(walk_lengths(f, len, reps, vbs), 1); /* first poll: configured 10 */
    assert_int_equal(reps[0], 10);
    /* 3 columns x 9 = 27 varbinds in one request, or 3 x 2 + 7 for the long one alone */
    ev_rowset_clear(f->rs);
    assert_int_equal(walk_lengths(f, len, reps, vbs), 2);
    assert_int_equal(reps[0], 2);
    assert_int_equal(vbs[0], 3);
    assert_int_equal(reps[1], 7);
    assert_int_equal(vbs[1], 1);
    assert_int_equal(f->rs->cols[f->fca].nrows, 1);
    assert_int_equal(f->rs->cols[f->fcb].nrows, 1);
    assert_int_equal(f->rs->cols[f->fcc].nrows, 8);
    assert_int_equal(f->w.nerrors, 0);
    /* the long column grew: read whole, at the configured repetitions after the plan */
    const unsigned grown[3] = {1, 1, 12};
    ev_rowset_clear(f->rs);
    assert_int_equal(walk_lengths(f, grown, reps, vbs), 3);
    assert_int_equal(reps[2], 10);
    assert_int_equal(f->rs->cols[f->fcc].nrows, 12);
    /* equal columns: one request, as before */
    const unsigned even[3] = {3, 3, 3};
    ev_rowset_clear(f->rs);
    walk_lengths(f, even, reps, vbs);
    ev_rowset_clear(f->rs);
    assert_int_equal(walk_lengths(f, even, reps, vbs), 1);
    assert_int_equal(reps[0], 4);
}

int main(void)
{
    ev_snmp_lib_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(scalars_then_all_columns_then_unfinished_only, setup, teardown),
        cmocka_unit_test_setup_teardown(looping_agent_is_cut_short, setup, teardown),
        cmocka_unit_test_setup_teardown(rows_are_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(toobig_halves_repetitions_then_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(toobig_get_asks_fewer_scalars, setup, teardown),
        cmocka_unit_test_setup_teardown(value_types, setup, teardown),
        cmocka_unit_test_setup_teardown(v1_getnext_and_nosuchname, setup_v1, teardown),
        cmocka_unit_test_setup_teardown(empty_answer_ends_the_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(repetitions_learned_from_last_poll, setup, teardown),
        cmocka_unit_test_setup_teardown(short_and_long_columns_are_asked_apart, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
