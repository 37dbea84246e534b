/*
 * test_profile_eval.c - rowset -> points with the shipped profiles over the
 * recorded walks (values from tests/fixtures/snmp/README.md, compared
 * exactly: 0.96 must be the double nearest 0.96), plus the evaluator's
 * rules on hand-built rowsets: sentinels, filters, templates, digit and
 * scale columns, sums, point sharing, and the trace of every value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/profile.h"
#include "tests/unit/snmprec.h"

#define WALKS "tests/fixtures/snmp/"
#define PROFILES "config/profiles/"
#define TS 1700000000000000000LL

/* ---- harness -------------------------------------------------------- */

typedef struct {
    char metric[48], oid[160], why[160];
    bool valid;
    double scaled;
    char tags[160]; /* "k=v,k=v" */
} seen;

typedef struct {
    seen *t;
    size_t n, cap;
} traces;

static void on_trace(void *ud, const ev_trace *t)
{
    traces *tr = ud;
    if (tr->n == tr->cap) {
        tr->cap = tr->cap ? tr->cap * 2 : 64;
        tr->t = realloc(tr->t, tr->cap * sizeof *tr->t);
        assert_non_null(tr->t);
    }
    seen *s = &tr->t[tr->n++];
    memset(s, 0, sizeof *s);
    assert_non_null(t->metric);
    assert_non_null(t->oid);
    assert_non_null(t->raw);
    assert_non_null(t->measurement);
    assert_non_null(t->field);
    assert_true(t->valid == (t->why == NULL));
    snprintf(s->metric, sizeof s->metric, "%s", t->metric);
    snprintf(s->oid, sizeof s->oid, "%s", t->oid);
    snprintf(s->why, sizeof s->why, "%s", t->why ? t->why : "");
    s->valid = t->valid;
    s->scaled = t->scaled;
    for (size_t i = 0; i < t->ntags; i++)
        snprintf(s->tags + strlen(s->tags), sizeof s->tags - strlen(s->tags), "%s%s=%s", i ? "," : "",
                 t->tags[i].key, t->tags[i].val);
}

/* The trace of metric (any metric when NULL) for this OID. */
static const seen *trace_of(const traces *tr, const char *metric, const char *oid)
{
    for (size_t i = 0; i < tr->n; i++)
        if (!strcmp(tr->t[i].oid, oid) && (!metric || !strcmp(tr->t[i].metric, metric)))
            return &tr->t[i];
    fail_msg("no trace for %s %s", metric ? metric : "", oid);
    return NULL;
}
#define find_trace(tr, oid) trace_of(tr, NULL, oid)

typedef struct {
    ev_profile_set *set;
    const ev_profile *p;
    ev_rowset *rs;
    ev_batch *b;
    traces tr;
    size_t fields;
} run;

static const ev_tagset base = {
    .tags = {{"site", "cambrai"}, {"hall", "h1"}, {"device", "pdu-7"}, {"rack", ""}, {"feed", NULL}},
    .n = 5,
};

static const ev_profile *load_one(ev_profile_set *set, const char *path)
{
    ev_diag d = {0};
    int rc = ev_profiles_load_file(set, path, &d);
    if (rc || d.n) {
        ev_diag_print(&d, stderr);
        fail_msg("%s did not load", path);
    }
    ev_diag_free(&d);
    return ev_profiles_at(set, ev_profiles_count(set) - 1);
}

/* Load a profile, fill a rowset from a walk as the collector would, eval. */
static void run_walk(run *r, const char *profile, const char *walk)
{
    memset(r, 0, sizeof *r);
    r->set = ev_profiles_new();
    r->p = load_one(r->set, profile);
    snmprec w;
    assert_int_equal(snmprec_load(walk, &w), 0);
    r->rs = ev_rowset_new(r->p);
    snmprec_fill(&w, r->rs);
    snmprec_free(&w);
    r->b = ev_batch_new();
    r->fields = ev_profile_eval(r->p, r->rs, &base, TS, r->b, on_trace, &r->tr);
}

/* A profile from text and an empty rowset to fill by hand. */
static void run_text(run *r, const char *yaml)
{
    memset(r, 0, sizeof *r);
    char path[] = "/tmp/evmon-test-eval-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
    close(fd);
    r->set = ev_profiles_new();
    r->p = load_one(r->set, path);
    unlink(path);
    r->rs = ev_rowset_new(r->p);
    r->b = ev_batch_new();
}

static void eval_again(run *r)
{
    ev_batch_clear(r->b);
    r->tr.n = 0;
    r->fields = ev_profile_eval(r->p, r->rs, &base, TS, r->b, on_trace, &r->tr);
}

static void run_free(run *r)
{
    ev_batch_free(r->b);
    ev_rowset_free(r->rs);
    ev_profiles_free(r->set);
    free(r->tr.t);
}

/* Add a row to the rowset column fetched for OID col. */
static void add(run *r, const char *col, const char *index, ev_value v)
{
    ev_oid oid, idx = {.len = 0};
    assert_int_equal(ev_oid_parse(col, &oid), 0);
    if (index)
        assert_int_equal(ev_oid_parse(index, &idx), 0);
    for (size_t i = 0; i < r->rs->ncols; i++) {
        if (!ev_oid_cmp(&r->rs->cols[i].oid, &oid)) {
            assert_int_equal(ev_rowset_add(r->rs, i, &idx, &v), 0);
            return;
        }
    }
    fail_msg("the profile fetches no %s", col);
}
#define INT(x) ((ev_value){.type = EV_V_INT, .i = (x)})
#define UINT(x) ((ev_value){.type = EV_V_UINT, .u = (x)})
#define STR(x) ((ev_value){.type = EV_V_STR, .s = (char *)(x)})
#define NONE ((ev_value){.type = EV_V_NONE})

/* The point of measurement m whose tags are the base tags plus the given
 * "key", "value" pairs (NULL-terminated), or NULL. */
static const ev_point *point_with(const run *r, const char *m, ...)
{
    ev_tag tags[EV_MAX_TAGS];
    size_t n = 0;
    for (size_t i = 0; i < base.n; i++)
        tags[n++] = base.tags[i];
    va_list ap;
    va_start(ap, m);
    const char *k;
    while ((k = va_arg(ap, const char *))) {
        tags[n].key = k;
        tags[n++].val = va_arg(ap, const char *);
    }
    va_end(ap);
    return ev_batch_find(r->b, m, tags, n);
}

/* Exact comparison: the value must be the very double expected. */
static void field_is(const ev_point *p, const char *field, double want)
{
    assert_non_null(p);
    const ev_field *f = ev_point_get_field(p, field);
    if (!f)
        fail_msg("no field %s on this %s point", field, p->measurement);
    assert_int_equal(f->type, EV_FLOAT);
    if (f->v.f != want)
        fail_msg("%s = %.17g, want %.17g", field, f->v.f, want);
}

static void no_field(const ev_point *p, const char *field)
{
    assert_non_null(p);
    if (ev_point_get_field(p, field))
        fail_msg("unexpected field %s", field);
}

static size_t count_measurement(const run *r, const char *m)
{
    size_t n = 0;
    for (size_t i = 0; i < r->b->n; i++)
        n += !strcmp(r->b->pts[i].measurement, m);
    return n;
}

static size_t total_fields(const run *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->b->n; i++)
        n += r->b->pts[i].nfields;
    return n;
}

/* ---- recorded walks ----------------------------------------------------- */

static void test_apc_ap8853(void **state)
{
    run r;
    run_walk(&r, PROFILES "apc-rpdu2.yaml", WALKS "apc-ap8853.snmprec");
    const ev_point *total = point_with(&r, "power", "phase", "total", NULL);
    field_is(total, "active_power_w", 1140);
    field_is(total, "apparent_power_va", 1190);
    field_is(total, "power_factor", 0.96);
    field_is(total, "energy_wh", 3512800); /* 35128 tenths of kWh, not 351280 */
    assert_int_equal(total->nfields, 4);
    assert_true(total->ts_ns == TS);
    assert_string_equal(ev_point_get_tag(total, "site"), "cambrai");
    assert_null(ev_point_get_tag(total, "rack")); /* empty base tags are left out */
    assert_null(ev_point_get_tag(total, "feed"));

    const ev_point *l1 = point_with(&r, "power", "phase", "L1", NULL);
    field_is(l1, "current_a", 4.9);
    field_is(l1, "voltage_v", 242);
    field_is(l1, "active_power_w", 1140);
    field_is(l1, "apparent_power_va", 1190);
    field_is(l1, "power_factor", 0.96);

    /* no probe: -1 is "no value", not -0.1 C */
    assert_int_equal(count_measurement(&r, "environment"), 0);
    const seen *t = find_trace(&r.tr, "1.3.6.1.4.1.318.1.1.26.10.2.2.1.8.1");
    assert_non_null(t);
    assert_false(t->valid);
    assert_string_equal(t->why, "sentinel -1 (no sensor)");
    assert_string_equal(t->tags, "sensor=1");
    /* outlet metering absent on this model */
    t = find_trace(&r.tr, "1.3.6.1.4.1.318.1.1.26.9.4.3.1.7");
    assert_non_null(t);
    assert_false(t->valid);

    assert_int_equal(r.b->n, 2);
    assert_int_equal(r.fields, 9);
    assert_int_equal(total_fields(&r), 9);
    run_free(&r);
}

static void test_sentry4(void **state)
{
    run r;
    run_walk(&r, PROFILES "servertech-sentry4.yaml", WALKS "servertech-sentry4.snmprec");
    const ev_point *total = point_with(&r, "power", "phase", "total", "inlet", "1", NULL);
    field_is(total, "active_power_w", 1701);
    field_is(total, "apparent_power_va", 1790);
    field_is(total, "power_factor", 0.95);
    field_is(total, "energy_wh", 893700);
    field_is(total, "frequency_hz", 60.0);
    field_is(total, "load_pct", 16.5);

    field_is(point_with(&r, "power", "phase", "L1", "inlet", "1", NULL), "current_a", 5.60);
    field_is(point_with(&r, "power", "phase", "L2", "inlet", "1", NULL), "current_a", 3.69);
    field_is(point_with(&r, "power", "phase", "L3", "inlet", "1", NULL), "current_a", 5.60);

    const ev_point *ab = point_with(&r, "power", "phase", "L1-L2", "inlet", "1", NULL);
    const ev_point *bc = point_with(&r, "power", "phase", "L2-L3", "inlet", "1", NULL);
    const ev_point *ca = point_with(&r, "power", "phase", "L3-L1", "inlet", "1", NULL);
    field_is(ab, "voltage_v", 207.9);
    field_is(bc, "voltage_v", 208.9);
    field_is(ca, "voltage_v", 209.4);
    field_is(ab, "active_power_w", 415);
    field_is(bc, "active_power_w", 444);
    field_is(ca, "active_power_w", 848);
    field_is(ab, "current_a", 2.09);

    /* -410 and -1: no probe */
    assert_int_equal(count_measurement(&r, "environment"), 0);
    const seen *t = find_trace(&r.tr, "1.3.6.1.4.1.1718.4.1.9.3.1.1.1.1");
    assert_non_null(t);
    assert_string_equal(t->why, "sentinel -410 (no sensor)");
    t = find_trace(&r.tr, "1.3.6.1.4.1.1718.4.1.10.3.1.1.1.2");
    assert_non_null(t);
    assert_string_equal(t->why, "sentinel -1 (no sensor)");
    assert_int_equal(r.b->n, 7);
    run_free(&r);
}

static void test_geist_mn03edr1(void **state)
{
    run r;
    run_walk(&r, PROFILES "vertiv-geist-v5.yaml", WALKS "vertiv-geist-mn03edr1.snmprec");
    static const struct {
        const char *phase;
        double v, a, w, va, wh;
    } want[] = {
        {"L1-L2", 206.8, 7.12, 1434, 1472, 5047296},
        {"L2-L3", 207.9, 7.11, 1440, 1478, 5123811},
        {"L3-L1", 206.2, 7.08, 1425, 1461, 5031780},
    };
    for (size_t i = 0; i < 3; i++) {
        const ev_point *p = point_with(&r, "power", "phase", want[i].phase, NULL);
        field_is(p, "voltage_v", want[i].v);
        field_is(p, "current_a", want[i].a);
        field_is(p, "active_power_w", want[i].w);
        field_is(p, "apparent_power_va", want[i].va);
        field_is(p, "power_factor", 0.97);
        field_is(p, "energy_wh", want[i].wh);
    }
    const ev_point *total = point_with(&r, "power", "phase", "total", NULL);
    field_is(total, "active_power_w", 4299);
    field_is(total, "energy_wh", 5047296.0 + 5123811 + 5031780);
    assert_int_equal(total->nfields, 2);
    const seen *t = find_trace(&r.tr, "1.3.6.1.4.1.21239.5.2.3.2.1.12.*");
    assert_non_null(t);
    assert_true(t->valid);
    assert_true(t->scaled == 4299);

    field_is(point_with(&r, "power", "phase", "L1", NULL), "current_a", 12.26);
    field_is(point_with(&r, "power", "phase", "L3", NULL), "current_a", 12.31);
    static const double breakers[] = {4.55, 4.58, 4.54, 2.56, 2.52, 2.52};
    for (int i = 0; i < 6; i++) {
        char n[16];
        snprintf(n, sizeof n, "%d", i + 1);
        field_is(point_with(&r, "power", "breaker", n, NULL), "current_a", breakers[i]);
    }
    assert_int_equal(r.b->n, 3 + 1 + 3 + 6);
    run_free(&r);
}

/* ---- hand-written walks (tests/fixtures/snmp/README.md) -------------- */

static void test_raritan_px3(void **state)
{
    run r;
    run_walk(&r, PROFILES "raritan-pdu2.yaml", WALKS "raritan-px3.snmprec");
    const ev_point *in = point_with(&r, "power", "phase", "total", "inlet", "1", NULL);
    field_is(in, "current_a", 4.870);   /* 4870, decimalDigits 3 */
    field_is(in, "voltage_v", 230.1);   /* 2301, decimalDigits 1 */
    field_is(in, "active_power_w", 1052);
    field_is(in, "apparent_power_va", 1120);
    field_is(in, "power_factor", 0.94); /* 94, decimalDigits 2 */
    field_is(in, "energy_wh", 8123456);
    field_is(in, "frequency_hz", 50.0);
    assert_int_equal(in->nfields, 7); /* peakCurrent (type 2) not taken for current_a */

    const ev_point *o1 = point_with(&r, "power", "outlet", "1", NULL);
    field_is(o1, "current_a", 1.25);
    field_is(o1, "voltage_v", 230);
    field_is(o1, "active_power_w", 280);
    field_is(o1, "energy_wh", 123456);
    const ev_point *o2 = point_with(&r, "power", "outlet", "2", NULL);
    field_is(o2, "current_a", 3.62);
    field_is(o2, "energy_wh", 654321);
    /* outlet 3: measurementsOutletSensorIsAvailable false(2) */
    assert_null(point_with(&r, "power", "outlet", "3", NULL));
    const seen *t = trace_of(&r.tr, "outlet_power", "1.3.6.1.4.1.13742.6.5.4.3.1.4.1.3.5");
    assert_non_null(t);
    assert_string_equal(t->why, "filtered: 1.3.6.1.4.1.13742.6.5.4.3.1.2 is 2");
    t = trace_of(&r.tr, "inlet_current", "1.3.6.1.4.1.13742.6.5.2.3.1.4.1.1.2");
    assert_non_null(t);
    assert_false(t->valid);
    assert_string_equal(t->why, "filtered: index component 3 is 2");
    assert_int_equal(r.b->n, 3);
    run_free(&r);
}

static void test_eaton_epdu(void **state)
{
    run r;
    run_walk(&r, PROFILES "eaton-epdu.yaml", WALKS "eaton-epdu.snmprec");
    const ev_point *total = point_with(&r, "power", "phase", "total", "inlet", "1", NULL);
    field_is(total, "active_power_w", 3552);
    field_is(total, "apparent_power_va", 3730);
    field_is(total, "energy_wh", 7037034);
    field_is(total, "power_factor", 0.952);
    field_is(total, "frequency_hz", 50.0);
    static const struct {
        const char *phase;
        double v, a, w, va, wh, pf;
    } want[] = {
        {"L1", 230.1, 5.23, 1150, 1210, 2345678, 0.95},
        {"L2", 229.8, 4.875, 1080, 1130, 2234567, 0.956},
        {"L3", 231.05, 6.01, 1322, 1390, 2456789, 0.951},
    };
    for (size_t i = 0; i < 3; i++) {
        const ev_point *p = point_with(&r, "power", "phase", want[i].phase, "inlet", "1", NULL);
        field_is(p, "voltage_v", want[i].v); /* mV / 1000 */
        field_is(p, "current_a", want[i].a); /* mA / 1000 */
        field_is(p, "active_power_w", want[i].w);
        field_is(p, "apparent_power_va", want[i].va);
        field_is(p, "energy_wh", want[i].wh);
        field_is(p, "power_factor", want[i].pf);
    }
    field_is(point_with(&r, "power", "phase", "N", "inlet", "1", NULL), "current_a", 1.12);

    const ev_point *o1 = point_with(&r, "power", "outlet", "1", NULL);
    field_is(o1, "voltage_v", 230.1);
    field_is(o1, "current_a", 0.45);
    field_is(o1, "active_power_w", 98);
    field_is(o1, "energy_wh", 45678);
    const ev_point *o2 = point_with(&r, "power", "outlet", "2", NULL);
    field_is(o2, "current_a", 0); /* a real zero stays */
    no_field(o2, "active_power_w"); /* -1: not available */

    const ev_point *env = point_with(&r, "environment", "sensor", "1", NULL);
    field_is(env, "temperature_c", 24.5);
    field_is(env, "humidity_pct", 41.2);
    assert_null(point_with(&r, "environment", "sensor", "2", NULL)); /* probe disconnected */
    assert_int_equal(r.b->n, 8);
    run_free(&r);
}

static void test_entity_sensor(void **state)
{
    run r;
    run_walk(&r, PROFILES "entity-sensor.yaml", WALKS "entity-sensor.snmprec");
    field_is(point_with(&r, "power", "sensor", "1001", NULL), "active_power_w", 1234);
    field_is(point_with(&r, "power", "sensor", "1002", NULL), "current_a", 5.23); /* milli */
    field_is(point_with(&r, "power", "sensor", "1003", NULL), "voltage_v", 230.1);
    field_is(point_with(&r, "environment", "sensor", "1004", NULL), "temperature_c", 23.5);
    field_is(point_with(&r, "environment", "sensor", "1005", NULL), "humidity_pct", 45);
    /* kilo(10) with precision 2: 123 x 10^3 x 10^-2 */
    field_is(point_with(&r, "power", "sensor", "1006", NULL), "active_power_w", 1230);
    field_is(point_with(&r, "power", "sensor", "1008", NULL), "frequency_hz", 49.9);
    /* 1007 unavailable, 1009 voltsDC (no profile metric) */
    assert_null(point_with(&r, "environment", "sensor", "1007", NULL));
    assert_null(point_with(&r, "power", "sensor", "1009", NULL));
    const seen *t = trace_of(&r.tr, "temperature", "1.3.6.1.2.1.99.1.1.1.4.1007");
    assert_string_equal(t->why, "filtered: 1.3.6.1.2.1.99.1.1.1.5 is 2");
    assert_int_equal(r.b->n, 7);
    assert_int_equal(r.fields, 7);
    run_free(&r);
}

static void test_ups_mib(void **state)
{
    run r;
    run_walk(&r, PROFILES "ups-mib.yaml", WALKS "ups-mib.snmprec");
    static const struct {
        const char *phase;
        double v, a, w, load;
    } out[] = {{"L1", 230, 14.0, 3150, 35}, {"L2", 230, 13.5, 3050, 34}, {"L3", 230, 13.8, 3120, 35}};
    for (size_t i = 0; i < 3; i++) {
        const ev_point *p = point_with(&r, "power", "side", "output", "phase", out[i].phase, NULL);
        field_is(p, "voltage_v", out[i].v);
        field_is(p, "current_a", out[i].a);
        field_is(p, "active_power_w", out[i].w);
        field_is(p, "load_pct", out[i].load);
    }
    const ev_point *total = point_with(&r, "power", "side", "output", "phase", "total", NULL);
    field_is(total, "active_power_w", 9320);
    field_is(total, "frequency_hz", 50.0);

    const ev_point *in3 = point_with(&r, "power", "side", "input", "phase", "L3", NULL);
    field_is(in3, "frequency_hz", 49.9);
    field_is(in3, "voltage_v", 229);
    field_is(in3, "current_a", 15.0);
    field_is(in3, "active_power_w", 3380);
    field_is(point_with(&r, "power", "side", "input", "phase", "L1", NULL), "current_a", 15.2);

    const ev_point *ups = point_with(&r, "ups", NULL);
    field_is(ups, "battery_status", 2);
    field_is(ups, "on_battery_s", 0);
    field_is(ups, "runtime_s", 2520); /* 42 min */
    field_is(ups, "battery_charge_pct", 100);
    field_is(ups, "battery_voltage_v", 546.0);
    field_is(ups, "battery_temperature_c", 25);
    no_field(ups, "battery_current_a"); /* not in the walk */
    const seen *t = find_trace(&r.tr, "1.3.6.1.2.1.33.1.2.6.0");
    assert_non_null(t);
    assert_string_equal(t->why, "no such object");
    assert_int_equal(r.b->n, 8);
    run_free(&r);
}

/* Evaluating twice into a cleared batch gives the same points; the
 * rowset refilled the same way too. */
static void test_repeatable(void **state)
{
    run r;
    run_walk(&r, PROFILES "vertiv-geist-v5.yaml", WALKS "vertiv-geist-mn03edr1.snmprec");
    size_t n = r.b->n, fields = r.fields;
    for (int i = 0; i < 3; i++) {
        eval_again(&r);
        assert_int_equal(r.b->n, n);
        assert_int_equal(r.fields, fields);
    }
    field_is(point_with(&r, "power", "phase", "total", NULL), "active_power_w", 4299);
    run_free(&r);
}

/* ---- evaluator rules on hand-built rowsets ------------------------------ */

#define HEAD "name: t\nmetrics:\n"
#define METRIC(name, oid, type, field) \
    "  - name: " name "\n    oid: " oid "\n    type: " type "\n    measurement: power\n    field: " field "\n"

/* raw x scale must give the double a person expects, not a product of
 * inexact binary fractions. */
static void test_exact_decimal_scaling(void **state)
{
    run r;
    run_text(&r, HEAD METRIC("a", "1.1", "scalar", "power_factor") "    scale: 0.01\n"
                 METRIC("b", "1.2", "scalar", "voltage_v") "    scale: 0.1\n"
                 METRIC("c", "1.3", "scalar", "energy_wh") "    scale: 100\n"
                 METRIC("d", "1.4", "scalar", "active_power_w") "    scale: 10\n"
                 METRIC("e", "1.5", "scalar", "current_a") "    scale: 0.001\n"
                 METRIC("f", "1.6", "scalar", "frequency_hz") "    scale: 2.5\n    offset: -1\n"
                 METRIC("g", "1.7", "scalar", "apparent_power_va") "    scale: 1e3\n");
    add(&r, "1.1", NULL, INT(96));
    add(&r, "1.2", NULL, UINT(3));     /* 3 x 0.1 would give 0.30000000000000004 */
    add(&r, "1.3", NULL, INT(35128));
    add(&r, "1.4", NULL, INT(114));
    add(&r, "1.5", NULL, INT(4875));
    add(&r, "1.6", NULL, INT(20));
    add(&r, "1.7", NULL, STR("1.5")); /* a number sent as text */
    eval_again(&r);
    const ev_point *p = point_with(&r, "power", NULL);
    field_is(p, "power_factor", 0.96);
    field_is(p, "voltage_v", 0.3);
    field_is(p, "energy_wh", 3512800);
    field_is(p, "active_power_w", 1140);
    field_is(p, "current_a", 4.875);
    field_is(p, "frequency_hz", 49);
    field_is(p, "apparent_power_va", 1500);
    assert_int_equal(r.fields, 7);
    assert_int_equal(r.b->n, 1); /* one tag set: one point */
    run_free(&r);
}

static void test_sentinels_and_missing(void **state)
{
    run r;
    run_text(&r, HEAD METRIC("v", "1.1", "column", "current_a")
                 "    sentinels: [-1, -410, 65535]\n    tags: {phase: \"{i1}\"}\n");
    add(&r, "1.1", "1", INT(-1));
    add(&r, "1.1", "2", INT(-410));
    add(&r, "1.1", "3", UINT(65535));
    add(&r, "1.1", "4", NONE);
    add(&r, "1.1", "5", STR("n/a"));
    add(&r, "1.1", "6", INT(65535));
    add(&r, "1.1", "7", UINT(4294967295u)); /* not -1: Gauge32 is unsigned */
    add(&r, "1.1", "8", INT(0));
    add(&r, "1.1", "9", STR("-410"));
    add(&r, "1.1", "10", STR("0"));
    eval_again(&r);
    assert_int_equal(r.fields, 3);
    field_is(point_with(&r, "power", "phase", "10", NULL), "current_a", 0);
    assert_null(point_with(&r, "power", "phase", "1", NULL));
    assert_null(point_with(&r, "power", "phase", "4", NULL));
    field_is(point_with(&r, "power", "phase", "7", NULL), "current_a", 4294967295.0);
    field_is(point_with(&r, "power", "phase", "8", NULL), "current_a", 0);
    assert_int_equal(r.tr.n, 10);
    assert_string_equal(r.tr.t[0].why, "sentinel -1 (no sensor)");
    assert_string_equal(r.tr.t[1].why, "sentinel -410 (no sensor)");
    assert_string_equal(r.tr.t[2].why, "sentinel 65535 (no sensor)");
    assert_string_equal(r.tr.t[3].why, "no such object");
    assert_string_equal(r.tr.t[4].why, "not a number: \"n/a\"");
    assert_string_equal(r.tr.t[5].why, "sentinel 65535 (no sensor)");
    assert_true(r.tr.t[6].valid);
    assert_string_equal(r.tr.t[8].why, "sentinel -410 (no sensor)"); /* a number sent as text */
    assert_string_equal(r.tr.t[6].oid, "1.1.7");
    assert_string_equal(r.tr.t[6].tags, "phase=7");

    /* an empty column is traced once, with its OID */
    ev_rowset_clear(r.rs);
    eval_again(&r);
    assert_int_equal(r.fields, 0);
    assert_int_equal(r.b->n, 0);
    assert_int_equal(r.tr.n, 1);
    assert_string_equal(r.tr.t[0].oid, "1.1");
    assert_false(r.tr.t[0].valid);
    run_free(&r);
}

static void test_templates_and_maps(void **state)
{
    run r;
    run_text(&r, "name: t\n"
                 "maps:\n"
                 "  line: {1: L1, 2: L2, 3: L3}\n"
                 "  label: {\"Phase AB\": L1-L2, 7: seven}\n"
                 "  idx: {\"2.1\": second}\n"
                 "metrics:\n" METRIC("v", "1.1", "column", "current_a")
                 "    tags:\n"
                 "      phase: \"{i2:line}\"\n"
                 "      whole: \"#{index}/{{x}}\"\n"
                 "      name: \"{col:1.2:label}\"\n"
                 "      at: \"{index:idx}\"\n");
    add(&r, "1.1", "1.1", INT(10));
    add(&r, "1.1", "2.1", INT(20));
    add(&r, "1.1", "3.9", INT(30));
    add(&r, "1.1", "4", INT(40));   /* no component 2 */
    add(&r, "1.1", "5.2", INT(50)); /* no tag column for this row */
    add(&r, "1.2", "1.1", STR("Phase AB"));
    add(&r, "1.2", "2.1", INT(7));
    add(&r, "1.2", "3.9", STR("Other"));
    add(&r, "1.2", "4", STR("x"));
    eval_again(&r);
    assert_int_equal(r.fields, 3);
    const ev_point *p = point_with(&r, "power", "phase", "L1", "whole", "#1.1/{x}", "name", "L1-L2",
                                   "at", "1.1", NULL);
    field_is(p, "current_a", 10);
    p = point_with(&r, "power", "phase", "L1", "whole", "#2.1/{x}", "name", "seven", "at", "second", NULL);
    field_is(p, "current_a", 20);
    /* unmapped values fall back to the raw value */
    p = point_with(&r, "power", "phase", "9", "whole", "#3.9/{x}", "name", "Other", "at", "3.9", NULL);
    field_is(p, "current_a", 30);
    const seen *t = find_trace(&r.tr, "1.1.4");
    assert_non_null(t);
    assert_string_equal(t->why, "tag phase: the index has no component 2");
    t = find_trace(&r.tr, "1.1.5.2");
    assert_non_null(t);
    assert_string_equal(t->why, "tag name: 1.2 has no value for this row");
    run_free(&r);
}

static void test_where_filters(void **state)
{
    run r;
    run_text(&r, HEAD METRIC("v", "1.4", "column", "voltage_v")
                 "    where:\n"
                 "      - {index: 3, equals: 4}\n"
                 "      - {column: 1.2, equals: [1, yes]}\n"
                 "    tags: {inlet: \"{i2}\"}\n");
    add(&r, "1.4", "1.1.4", UINT(230));  /* kept */
    add(&r, "1.4", "1.1.1", UINT(5));    /* wrong sensor type */
    add(&r, "1.4", "1.2.4", UINT(231));  /* filter column says 2 */
    add(&r, "1.4", "1.3.4", UINT(232));  /* filter column "yes" */
    add(&r, "1.4", "1.4.4", UINT(233));  /* no filter row */
    add(&r, "1.4", "1.5", UINT(234));    /* index too short */
    add(&r, "1.2", "1.1.4", INT(1));
    add(&r, "1.2", "1.1.1", INT(1));
    add(&r, "1.2", "1.2.4", INT(2));
    add(&r, "1.2", "1.3.4", STR("yes"));
    eval_again(&r);
    assert_int_equal(r.fields, 2);
    field_is(point_with(&r, "power", "inlet", "1", NULL), "voltage_v", 230);
    field_is(point_with(&r, "power", "inlet", "3", NULL), "voltage_v", 232);
    assert_string_equal(find_trace(&r.tr, "1.4.1.1.1")->why, "filtered: index component 3 is 1");
    assert_string_equal(find_trace(&r.tr, "1.4.1.2.4")->why, "filtered: 1.2 is 2");
    assert_string_equal(find_trace(&r.tr, "1.4.1.4.4")->why, "filtered: 1.2 has no value for this row");
    assert_string_equal(find_trace(&r.tr, "1.4.1.5")->why, "filtered: the index has no component 3");
    run_free(&r);
}

static void test_digits_and_si_scale(void **state)
{
    run r;
    run_text(&r, HEAD METRIC("v", "1.4", "column", "active_power_w")
                 "    scale: 10\n"
                 "    si_scale_from: 1.2\n"
                 "    decimals_from: 1.3\n"
                 "    tags: {s: \"{i1}\"}\n");
    /* index: scale, precision, raw -> expected */
    add(&r, "1.2", "1", INT(9));  add(&r, "1.3", "1", INT(0));  add(&r, "1.4", "1", INT(5));    /* 50 */
    add(&r, "1.2", "2", INT(8));  add(&r, "1.3", "2", INT(1));  add(&r, "1.4", "2", INT(1234)); /* 1.234 */
    add(&r, "1.2", "3", INT(10)); add(&r, "1.3", "3", INT(2));  add(&r, "1.4", "3", INT(123));  /* 12300 */
    add(&r, "1.2", "4", INT(9));  add(&r, "1.3", "4", INT(-2)); add(&r, "1.4", "4", INT(7));    /* 70: negative precision moves nothing */
    add(&r, "1.2", "5", INT(9));                            add(&r, "1.4", "5", INT(7));    /* no precision row */
    add(&r, "1.2", "6", INT(0));  add(&r, "1.3", "6", INT(0));  add(&r, "1.4", "6", INT(7));    /* bad scale */
    add(&r, "1.2", "7", STR("9")); add(&r, "1.3", "7", INT(0)); add(&r, "1.4", "7", INT(7));   /* scale not an integer */
    eval_again(&r);
    field_is(point_with(&r, "power", "s", "1", NULL), "active_power_w", 50);
    field_is(point_with(&r, "power", "s", "2", NULL), "active_power_w", 1.234);
    field_is(point_with(&r, "power", "s", "3", NULL), "active_power_w", 12300);
    field_is(point_with(&r, "power", "s", "4", NULL), "active_power_w", 70);
    assert_int_equal(r.fields, 4);
    assert_string_equal(find_trace(&r.tr, "1.4.5")->why, "decimals_from 1.3: no value for this row");
    assert_string_equal(find_trace(&r.tr, "1.4.6")->why, "si_scale_from 1.2: not a scale 1..17");
    assert_string_equal(find_trace(&r.tr, "1.4.7")->why, "si_scale_from 1.2: not a scale 1..17");
    run_free(&r);
}

static void test_sum(void **state)
{
    run r;
    run_text(&r, HEAD METRIC("each", "1.1", "column", "current_a")
                 "    scale: 0.1\n    sentinels: [-1]\n    tags: {phase: \"{i1}\"}\n"
                 METRIC("sum", "1.1", "column", "current_a")
                 "    scale: 0.1\n    sentinels: [-1]\n    aggregate: sum\n    tags: {phase: total}\n"
                 METRIC("digits", "1.2", "column", "energy_wh")
                 "    decimals_from: 1.3\n    aggregate: sum\n    tags: {phase: total}\n");
    add(&r, "1.1", "1", INT(1));
    add(&r, "1.1", "2", INT(2));
    add(&r, "1.2", "1", INT(1)); add(&r, "1.3", "1", INT(1));  /* 0.1 */
    add(&r, "1.2", "2", INT(22)); add(&r, "1.3", "2", INT(2)); /* 0.22 */
    eval_again(&r);
    /* 0.1 + 0.2 summed as tenths: exactly 0.3 */
    field_is(point_with(&r, "power", "phase", "total", NULL), "current_a", 0.3);
    field_is(point_with(&r, "power", "phase", "total", NULL), "energy_wh", 0.1 + 0.22);
    field_is(point_with(&r, "power", "phase", "1", NULL), "current_a", 0.1);

    /* one row without a value: no total at all, and the trace says why */
    add(&r, "1.1", "3", INT(-1));
    eval_again(&r);
    no_field(point_with(&r, "power", "phase", "total", NULL), "current_a");
    const seen *t = find_trace(&r.tr, "1.1.*");
    assert_non_null(t);
    assert_false(t->valid);
    assert_string_equal(t->why, "sum incomplete: 1 of 3 rows have no value");
    assert_string_equal(t->tags, "phase=total");

    /* no rows at all: nothing */
    ev_rowset_clear(r.rs);
    eval_again(&r);
    assert_int_equal(r.b->n, 0);
    run_free(&r);
}

/* Values with equal measurement and tags share one point, also with a
 * point already in the batch; a different tag set is another point. */
static void test_point_sharing(void **state)
{
    run r;
    run_text(&r, HEAD METRIC("a", "1.1", "scalar", "current_a") "    tags: {phase: L1}\n"
                 METRIC("b", "1.2", "scalar", "voltage_v") "    tags: {phase: L1}\n"
                 METRIC("c", "1.3", "scalar", "voltage_v") "    tags: {phase: L2}\n"
                 "  - name: d\n    oid: 1.4\n    type: scalar\n    measurement: environment\n"
                 "    field: temperature_c\n    tags: {phase: L1}\n");
    add(&r, "1.1", NULL, INT(1));
    add(&r, "1.2", NULL, INT(2));
    add(&r, "1.3", NULL, INT(3));
    add(&r, "1.4", NULL, INT(4));
    ev_batch_clear(r.b);
    size_t n1 = ev_profile_eval(r.p, r.rs, &base, TS, r.b, NULL, NULL); /* no trace: fine */
    size_t n2 = ev_profile_eval(r.p, r.rs, &base, TS, r.b, NULL, NULL); /* into the same batch */
    assert_int_equal(n1, 4);
    assert_int_equal(n2, 4);
    assert_int_equal(r.b->n, 3);
    const ev_point *l1 = point_with(&r, "power", "phase", "L1", NULL);
    assert_int_equal(l1->nfields, 2);
    field_is(l1, "current_a", 1);
    field_is(l1, "voltage_v", 2);
    field_is(point_with(&r, "power", "phase", "L2", NULL), "voltage_v", 3);
    field_is(point_with(&r, "environment", "phase", "L1", NULL), "temperature_c", 4);

    /* without base tags */
    ev_batch_clear(r.b);
    assert_int_equal(ev_profile_eval(r.p, r.rs, NULL, TS, r.b, NULL, NULL), 4);
    assert_int_equal(r.b->pts[0].ntags, 1);

    /* a rowset of another profile is refused, not misread */
    ev_profile_set *other = ev_profiles_new();
    const ev_profile *apc = load_one(other, PROFILES "apc-rpdu2.yaml");
    ev_batch_clear(r.b);
    assert_int_equal(ev_profile_eval(apc, r.rs, &base, TS, r.b, NULL, NULL), 0);
    assert_int_equal(r.b->n, 0);
    ev_profiles_free(other);
    run_free(&r);
}

/* Every value considered is traced: with a walk, one trace per row of
 * every metric's column (plus one per sum). */
static void test_trace_covers_every_value(void **state)
{
    run r;
    run_walk(&r, PROFILES "raritan-pdu2.yaml", WALKS "raritan-px3.snmprec");
    /* 7 inlet metrics x 9 inlet rows + 4 outlet metrics x 12 outlet rows */
    assert_int_equal(r.tr.n, 7 * 9 + 4 * 12);
    size_t valid = 0;
    for (size_t i = 0; i < r.tr.n; i++)
        valid += r.tr.t[i].valid;
    assert_int_equal(valid, r.fields);
    assert_int_equal(valid, 7 + 8);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apc_ap8853),
        cmocka_unit_test(test_sentry4),
        cmocka_unit_test(test_geist_mn03edr1),
        cmocka_unit_test(test_raritan_px3),
        cmocka_unit_test(test_eaton_epdu),
        cmocka_unit_test(test_entity_sensor),
        cmocka_unit_test(test_ups_mib),
        cmocka_unit_test(test_repeatable),
        cmocka_unit_test(test_exact_decimal_scaling),
        cmocka_unit_test(test_sentinels_and_missing),
        cmocka_unit_test(test_templates_and_maps),
        cmocka_unit_test(test_where_filters),
        cmocka_unit_test(test_digits_and_si_scale),
        cmocka_unit_test(test_sum),
        cmocka_unit_test(test_point_sharing),
        cmocka_unit_test(test_trace_covers_every_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
