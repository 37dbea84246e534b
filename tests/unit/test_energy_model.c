/*
 * test_energy_model.c - the energy model on a real config
 * (tests/fixtures/energy/hall.yaml) fed hand-made device points: PUE per
 * window from counters, coverage with a silent meter, estimated energy
 * from power-only meters and after a counter reset, headroom per level
 * (2N hall and row, dual-fed rack with ARC, feed), the hall summary lines,
 * the state file round trip, and a torn or edited state file refused whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/config.h"
#include "agent/energy/model.h"
#include "agent/energy/state.h"
#include "agent/energy/summary.h"
#include "agent/energy/topology.h"

#define S 1000000000LL
#define HALL_YAML "tests/fixtures/energy/hall.yaml"
static const int64_t T0 = 1767225600LL * S; /* 2026-01-01T00:00:00Z */

static void near(double a, double b, int line)
{
    if (!(fabs(a - b) <= 1e-6 * (fabs(b) + 1)))
        fail_msg("line %d: %.17g, expected %.17g", line, a, b);
}
#define NEAR(a, b) near((a), (b), __LINE__)

typedef struct {
    ev_config *cfg;
    ev_topo *t;
    ev_batch *in, *out;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    ev_diag d = {0};
    f->cfg = ev_config_load(HALL_YAML, &d);
    ev_diag_print(&d, stderr);
    ev_diag_free(&d);
    assert_non_null(f->cfg);
    f->t = ev_topo_build(f->cfg);
    f->in = ev_batch_new();
    f->out = ev_batch_new();
    assert_non_null(f->t);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ev_topo_free(f->t);
    ev_batch_free(f->in);
    ev_batch_free(f->out);
    ev_config_free(f->cfg);
    free(f);
    return 0;
}

/* One device's reading: power (W) and, when energy >= 0, its counter (Wh). */
static void feed(fx *f, const char *dev, int64_t ts, double w, double energy)
{
    ev_batch_clear(f->in);
    ev_point *p = ev_batch_add(f->in, "power", ts);
    ev_point_tag(f->in, p, "device", dev);
    ev_point_tag(f->in, p, "phase", "total");
    ev_point_float(f->in, p, "active_power_w", w);
    if (energy >= 0)
        ev_point_float(f->in, p, "energy_wh", energy);
    /* a per-phase point the meter must ignore */
    p = ev_batch_add(f->in, "power", ts);
    ev_point_tag(f->in, p, "phase", "L1");
    ev_point_float(f->in, p, "active_power_w", 1e9);
    ev_model_feed(f->t, dev, f->in);
}

static const ev_point *find(const ev_batch *b, const char *m, const char *k1, const char *v1, const char *k2,
                            const char *v2)
{
    for (size_t i = 0; i < b->n; i++) {
        const ev_point *p = &b->pts[i];
        const char *a = ev_point_get_tag(p, k1), *c = k2 ? ev_point_get_tag(p, k2) : NULL;
        if (!strcmp(p->measurement, m) && a && !strcmp(a, v1) && (!k2 || (c && !strcmp(c, v2))))
            return p;
    }
    return NULL;
}

static double num(const ev_point *p, const char *field)
{
    assert_non_null(p);
    const ev_field *fl = ev_point_get_field(p, field);
    if (!fl)
        fail_msg("no field %s", field);
    return fl->type == EV_BOOL ? fl->v.b : fl->v.f;
}

static bool has(const ev_point *p, const char *field)
{
    return ev_point_get_field(p, field) != NULL;
}

/* Ten cycles of 10 s: facility 1.5 MW, UPS 2 x 600 kW, PDUs 5, 5, 8 kW. */
static void run_hall(fx *f, int cycles, bool ups2_silent)
{
    for (int i = 0; i <= cycles; i++) {
        int64_t ts = T0 + i * 10 * S;
        double h = i * 10 / 3600.0;
        feed(f, "util1", ts, 1.5e6, 1e6 + 1.5e6 * h);
        feed(f, "ups1", ts, 6e5, 2e6 + 6e5 * h);
        if (!ups2_silent)
            feed(f, "ups2", ts, 6e5, 3e6 + 6e5 * h);
        feed(f, "pdu1a", ts, 5000, -1);
        feed(f, "pdu1b", ts, 5000, -1);
        feed(f, "pdu2a", ts, 8000, -1);
        feed(f, "crah1", ts, 40000, 7);
    }
}

static void test_pue_from_counters(void **state)
{
    fx *f = *state;
    run_hall(f, 10, false);
    ev_model_points(f->t, T0 + 100 * S, f->out);
    const ev_point *p = find(f->out, "pue", "window", "15m", NULL, NULL);
    /* 100 s: facility 1.5 MW x 100/3600 h = 41666.67 Wh; IT 1.2 MW -> 33333.33 Wh */
    NEAR(num(p, "facility_energy_wh"), 1.5e6 * 100 / 3600);
    NEAR(num(p, "it_energy_wh"), 1.2e6 * 100 / 3600);
    NEAR(num(p, "pue"), 1.25);
    NEAR(num(p, "dcie"), 0.8);
    NEAR(num(p, "coverage"), 1);
    assert_false(num(p, "partial"));
    NEAR(num(p, "meters_expected"), 3); /* util1, ups1, ups2: the PDUs are category 2 */
    assert_false(has(p, "estimated"));
    assert_string_equal(ev_point_get_tag(p, "category"), "1");
    assert_string_equal(ev_point_get_tag(p, "scope"), "hall");
    const ev_point *i = find(f->out, "pue", "window", "instant", NULL, NULL);
    assert_string_equal(ev_point_get_tag(i, "category"), "0");
    NEAR(num(i, "pue"), 1.25);
}

static void test_partial_coverage(void **state)
{
    fx *f = *state;
    run_hall(f, 10, true);
    ev_model_points(f->t, T0 + 100 * S, f->out);
    const ev_point *p = find(f->out, "pue", "window", "1h", NULL, NULL);
    NEAR(num(p, "coverage"), 2.0 / 3);
    assert_true(num(p, "partial"));
    NEAR(num(p, "meters_reporting"), 2);
    NEAR(num(p, "pue"), 1.5e6 / 6e5); /* what the present meters say, flagged partial */
}

static void test_no_pue_without_it(void **state)
{
    fx *f = *state;
    for (int i = 0; i <= 3; i++)
        feed(f, "util1", T0 + i * 10 * S, 1.5e6, 1e6 + i * 4000.0);
    ev_model_points(f->t, T0 + 30 * S, f->out);
    const ev_point *p = find(f->out, "pue", "window", "24h", NULL, NULL);
    NEAR(num(p, "facility_energy_wh"), 12000);
    NEAR(num(p, "it_energy_wh"), 0);
    assert_false(has(p, "pue"));
    assert_false(has(p, "dcie"));
    assert_null(find(f->out, "pue", "window", "instant", NULL, NULL));
}

static void test_reset_is_estimated(void **state)
{
    fx *f = *state;
    /* ups1 reboots between 10 s and 20 s: its counter drops to 5 Wh */
    feed(f, "util1", T0, 1.5e6, 1e6);
    feed(f, "ups1", T0, 6e5, 2e6);
    feed(f, "ups2", T0, 6e5, 3e6);
    feed(f, "util1", T0 + 10 * S, 1.5e6, 1e6 + 1.5e6 / 360);
    feed(f, "ups1", T0 + 10 * S, 6e5, 2e6 + 6e5 / 360);
    feed(f, "ups2", T0 + 10 * S, 6e5, 3e6 + 6e5 / 360);
    feed(f, "util1", T0 + 20 * S, 1.5e6, 1e6 + 2 * 1.5e6 / 360);
    feed(f, "ups1", T0 + 20 * S, 6e5, 5);
    feed(f, "ups2", T0 + 20 * S, 6e5, 3e6 + 2 * 6e5 / 360);
    ev_model_points(f->t, T0 + 20 * S, f->out);
    const ev_point *p = find(f->out, "pue", "window", "15m", NULL, NULL);
    /* ups1's second interval is 600 kW x 10 s integrated (1666.67 Wh), not negative */
    NEAR(num(p, "it_energy_wh"), 4 * 6e5 / 360);
    assert_true(num(p, "estimated"));
    NEAR(num(p, "pue"), 1.25);
}

static void test_headroom_levels(void **state)
{
    fx *f = *state;
    run_hall(f, 3, false);
    ev_model_points(f->t, T0 + 30 * S, f->out);
    double side = 400 * 32 * sqrt(3.0);
    const ev_point *h = find(f->out, "headroom", "scope", "hall", NULL, NULL);
    NEAR(num(h, "capacity_w"), 1e6);
    NEAR(num(h, "usable_w"), 5e5); /* 2N: one side */
    NEAR(num(h, "demand_w"), 1.2e6); /* A+B against one side */
    NEAR(num(h, "headroom_w"), -7e5);
    NEAR(num(h, "facility_power_w"), 1.5e6);
    const ev_point *r = find(f->out, "headroom", "scope", "row", "row", "row1");
    NEAR(num(r, "usable_w"), 200e3 / 2 * 0.8); /* 2N busway, 80 % */
    NEAR(num(r, "demand_w"), 18000);
    NEAR(num(r, "headroom_pct"), (80000 - 18000) / 80000.0 * 100);
    const ev_point *k = find(f->out, "headroom", "scope", "rack", "rack", "r01");
    NEAR(num(k, "capacity_w"), 2 * side);
    NEAR(num(k, "usable_w"), side * 0.8);
    NEAR(num(k, "arc_w"), side - 10000);
    const ev_point *k2 = find(f->out, "headroom", "scope", "rack", "rack", "r02");
    NEAR(num(k2, "usable_w"), 3680); /* 100 %-rated breaker */
    assert_false(has(k2, "arc_w")); /* single-fed */
    const ev_point *fd = find(f->out, "headroom", "scope", "feed", "feed", "B");
    NEAR(num(fd, "demand_w"), 5000);
    assert_string_equal(ev_point_get_tag(fd, "rack"), "r01");
    assert_false(has(h, "days_to_exhaustion"));
}

static void test_summary_lines(void **state)
{
    fx *f = *state;
    ev_buf b;
    run_hall(f, 3, false);
    ev_model_points(f->t, T0 + 30 * S, f->out);
    ev_buf_init(&b);
    assert_int_equal(ev_summary_payload(f->out, &b), 7);
    const char *s = ev_buf_cstr(&b);
    assert_non_null(strstr(s, "pue,agent=unit-agent,category=1,hall=h1,scope=hall,site=s1,window=15m "
                              "facility_energy_wh="));
    assert_non_null(strstr(s, "headroom,agent=unit-agent,hall=h1,scope=hall,site=s1 capacity_w=1000000,"));
    assert_null(strstr(s, "window=instant"));
    assert_null(strstr(s, "scope=rack"));
    ev_buf_free(&b);
}

static void test_state_round_trip(void **state)
{
    fx *f = *state;
    char path[] = "/tmp/evmon-energy-state-XXXXXX", why[200];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    run_hall(f, 10, false);
    feed(f, "util1", T0 + EV_SLOT_NS + 5 * S, 1.5e6, 1e6 + 1.5e6 * (EV_SLOT_NS / S + 5) / 3600); /* closes a slot */
    assert_int_equal(ev_state_save(f->t, path), 0);

    ev_topo *t2 = ev_topo_build(f->cfg);
    assert_int_equal(ev_state_load(t2, path, why, sizeof why), 0);
    ev_batch *a = ev_batch_new(), *b = ev_batch_new();
    ev_model_points(f->t, T0 + 100 * S, a);
    ev_model_points(t2, T0 + 100 * S, b);
    assert_int_equal(a->n, b->n);
    const ev_point *pa = find(a, "pue", "window", "24h", NULL, NULL), *pb = find(b, "pue", "window", "24h", NULL, NULL);
    NEAR(num(pb, "facility_energy_wh"), num(pa, "facility_energy_wh"));
    NEAR(num(pb, "it_energy_wh"), num(pa, "it_energy_wh"));
    NEAR(num(find(b, "headroom", "scope", "rack", "rack", "r01"), "peak_w"), 10000);
    /* the counters' baselines survived too: the next reading is a delta, not a baseline */
    feed(f, "ups1", T0 + 110 * S, 6e5, 2e6 + 6e5 * 110 / 3600.0);
    ev_meter *m = ev_topo_meter(t2, "ups1");
    assert_true(m->ctr[0].have);
    NEAR(m->ctr[0].last_wh, 2e6 + 6e5 * 100 / 3600.0);
    ev_batch_free(a);
    ev_batch_free(b);
    ev_topo_free(t2);
    unlink(path);
}

static void test_torn_state_refused(void **state)
{
    fx *f = *state;
    char why[200];
    ev_buf b;
    run_hall(f, 10, false);
    ev_buf_init(&b);
    ev_state_encode(f->t, &b);
    ev_topo *t2 = ev_topo_build(f->cfg);
    /* torn at every length short of the whole: refused, nothing applied */
    for (size_t len = 0; len < b.len; len += 7) {
        why[0] = 0;
        assert_int_equal(ev_state_decode(t2, b.p, len, why, sizeof why), -1);
        assert_true(why[0]);
    }
    assert_int_equal(ev_topo_meter(t2, "ups1")->last_report_ns, -1);
    /* one digit changed: checksum mismatch */
    char *copy = strndup(b.p, b.len);
    char *digit = strstr(copy, "meter ups1 ") + strlen("meter ups1 ");
    *digit = *digit == '1' ? '2' : '1';
    assert_int_equal(ev_state_decode(t2, copy, b.len, why, sizeof why), -1);
    assert_non_null(strstr(why, "checksum"));
    /* the whole file: accepted */
    assert_int_equal(ev_state_decode(t2, b.p, b.len, why, sizeof why), 0);
    assert_int_equal(ev_topo_meter(t2, "ups1")->last_report_ns, T0 + 100 * S);
    /* a missing file is not an error */
    assert_int_equal(ev_state_load(t2, "/nonexistent/evmon.state", why, sizeof why), 1);
    free(copy);
    ev_buf_free(&b);
    ev_topo_free(t2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pue_from_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_coverage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_pue_without_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_is_estimated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headroom_levels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_state_refused, setup, teardown),
    };
    return cmocka_run_group_tests_name("energy_model", tests, NULL, NULL);
}
