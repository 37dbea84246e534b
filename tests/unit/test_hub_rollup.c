/*
 * test_hub_rollup.c - the hub's hall state and cluster/site roll-up with
 * hand-computed values: energy-weighted PUE (never an average of ratios),
 * categories, coverage with partial halls, offline agents, stale and
 * never-heard-of halls, facility-level peak and headroom against the
 * target and the grid, days to exhaustion, summaries that break the
 * contract.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/hub_rollup.h"
#include "agent/hub_state.h"
#include "agent/lineparse.h"

#define NOW 1700000000000000000LL
#define SEC 1000000000LL

typedef struct {
    ev_hub_config cfg;
    ev_hub_site_cfg sites[2];
    char *s1_halls[1];
    ev_hub_state st;
    ev_batch *in, *out;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->sites[0] = (ev_hub_site_cfg){.name = "s1", .grid_capacity_w = 2e6};
    f->sites[1] = (ev_hub_site_cfg){.name = "s2"};
    f->cfg = (ev_hub_config){.cluster_name = "hdf", .target_w = 5e6, .stale_after_ms = 60000,
                             .sites = f->sites, .nsites = 2};
    assert_int_equal(ev_hub_state_init(&f->st, &f->cfg), 0);
    f->in = ev_batch_new();
    f->out = ev_batch_new();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ev_hub_state_free(&f->st);
    ev_batch_free(f->in);
    ev_batch_free(f->out);
    free(f);
    return 0;
}

/* Take a summary given as line protocol; returns the contract problems. */
static size_t summary(fx *f, const char *site, const char *hall, const char *lp, char *why)
{
    char local[200];
    ev_batch_clear(f->in);
    assert_int_equal(ev_lp_parse(f->in, lp, strlen(lp), EV_PREC_NS, NULL, NULL), 0);
    return ev_hub_take_summary(&f->st, site, hall, f->in, NOW, why ? why : local, 200);
}

/* A hall's summary as its agent publishes it: one window (1h) and headroom. */
static void hall(fx *f, const char *agent, const char *site, const char *hall, int cat, double fac_wh, double it_wh,
                 int expected, int reporting, double peak_w, double fac_w, double it_w, double headroom_w,
                 double days, int64_t ts)
{
    char lp[1200];
    int n = snprintf(lp, sizeof lp,
                     "pue,agent=%s,category=%d,hall=%s,scope=hall,site=%s,window=1h facility_energy_wh=%.17g,"
                     "it_energy_wh=%.17g,coverage=%.17g,partial=%s,meters_expected=%d,meters_reporting=%d %lld\n",
                     agent, cat, hall, site, fac_wh, it_wh, (double)reporting / expected,
                     reporting < expected ? "true" : "false", expected, reporting, (long long)ts);
    n += snprintf(lp + n, sizeof lp - (size_t)n,
                  "headroom,agent=%s,hall=%s,scope=hall,site=%s capacity_w=3e6,usable_w=2.4e6,demand_w=%.17g,"
                  "peak_w=%.17g,headroom_w=%.17g,headroom_pct=10,facility_power_w=%.17g,it_power_w=%.17g",
                  agent, hall, site, it_w, peak_w, headroom_w, fac_w, it_w);
    if (days > 0)
        n += snprintf(lp + n, sizeof lp - (size_t)n, ",days_to_exhaustion=%.17g", days);
    snprintf(lp + n, sizeof lp - (size_t)n, " %lld\n", (long long)ts);
    assert_int_equal(summary(f, site, hall, lp, NULL), 0);
}

/* The two halls of the brief: 1.5 MW / 1.2 MW and 0.8 / 0.5 (1 h, so Wh = W). */
static void two_halls(fx *f)
{
    hall(f, "a1", "s1", "h1", 1, 1.5e6, 1.2e6, 4, 4, 1.3e6, 1.5e6, 1.2e6, 0.2e6, 100, NOW - 5 * SEC);
    hall(f, "a2", "s2", "h2", 2, 0.8e6, 0.5e6, 6, 5, 0.6e6, 0.8e6, 0.5e6, 0, 0, NOW - 5 * SEC);
}

static const ev_point *find(fx *f, const char *m, const char *scope, const char *site, const char *window)
{
    for (size_t i = 0; i < f->out->n; i++) {
        const ev_point *p = &f->out->pts[i];
        const char *s = ev_point_get_tag(p, "site"), *w = ev_point_get_tag(p, "window");
        if (!strcmp(p->measurement, m) && !strcmp(ev_point_get_tag(p, "scope"), scope) &&
            (site ? s && !strcmp(s, site) : !s) && (window ? w && !strcmp(w, window) : !w))
            return p;
    }
    return NULL;
}

static double num(const ev_point *p, const char *key)
{
    assert_non_null(p);
    const ev_field *fl = ev_point_get_field(p, key);
    if (!fl)
        return NAN;
    switch (fl->type) {
    case EV_FLOAT: return fl->v.f;
    case EV_INT: return (double)fl->v.i;
    case EV_BOOL: return fl->v.b;
    default: return NAN;
    }
}

static void rollup(fx *f)
{
    ev_batch_clear(f->out);
    assert_int_equal(ev_hub_rollup(&f->st, &f->cfg, NOW, NOW, f->out), 0);
}

static void test_energy_weighted_pue(void **state)
{
    fx *f = *state;
    two_halls(f);
    rollup(f);
    const ev_point *p = find(f, "pue", "cluster", NULL, "1h");
    assert_non_null(p);
    assert_string_equal(ev_point_get_tag(p, "cluster"), "hdf");
    /* (1.5 + 0.8) / (1.2 + 0.5) = 1.352941..., not (1.25 + 1.6) / 2 = 1.425 */
    assert_float_equal(num(p, "pue"), 2.3 / 1.7, 1e-12);
    assert_float_equal(num(p, "dcie"), 1.7 / 2.3, 1e-12);
    assert_float_equal(num(p, "facility_energy_wh"), 2.3e6, 1e-6);
    assert_float_equal(num(p, "it_energy_wh"), 1.7e6, 1e-6);
    /* categories 1 and 2: the weaker (1) bounds the whole, flagged mixed */
    assert_string_equal(ev_point_get_tag(p, "category"), "1");
    assert_true(num(p, "mixed_categories") == 1);
    /* coverage: 4 of 4 and 5 of 6 meters -> 9 / 10, partial */
    assert_float_equal(num(p, "coverage"), 0.9, 1e-12);
    assert_true(num(p, "partial") == 1);
    assert_true(num(p, "halls_expected") == 2 && num(p, "halls_reporting") == 2);
    assert_null(find(f, "pue", "cluster", NULL, "24h")); /* no hall reported that window */

    /* each site: its own hall */
    p = find(f, "pue", "site", "s1", "1h");
    assert_float_equal(num(p, "pue"), 1.25, 1e-12);
    assert_float_equal(num(p, "coverage"), 1, 0);
    assert_true(num(p, "partial") == 0);
    assert_null(ev_point_get_field(p, "mixed_categories"));
    assert_float_equal(num(find(f, "pue", "site", "s2", "1h"), "pue"), 1.6, 1e-12);
}

static void test_headroom_against_target_and_grid(void **state)
{
    fx *f = *state;
    two_halls(f);
    rollup(f);
    const ev_point *p = find(f, "headroom", "cluster", NULL, NULL);
    /* facility peaks: 1.3 MW x 1.5/1.2 = 1.625 MW and 0.6 MW x 0.8/0.5 = 0.96 MW */
    assert_float_equal(num(p, "peak_w"), 2.585e6, 1e-6);
    assert_float_equal(num(p, "demand_w"), 2.3e6, 1e-6);
    assert_float_equal(num(p, "capacity_w"), 5e6, 0);
    assert_float_equal(num(p, "usable_w"), 5e6, 0);
    assert_float_equal(num(p, "headroom_w"), 2.415e6, 1e-6);
    assert_float_equal(num(p, "headroom_pct"), 48.3, 1e-9);
    /* growth: h1 uses 0.2 MW in 100 days at hall level = 2 kW/day, 2.5 kW/day at facility level */
    assert_float_equal(num(p, "days_to_exhaustion"), 2.415e6 / 2500, 1e-9);

    p = find(f, "headroom", "site", "s1", NULL);
    assert_float_equal(num(p, "capacity_w"), 2e6, 0);
    assert_float_equal(num(p, "headroom_w"), 0.375e6, 1e-6);
    assert_float_equal(num(p, "headroom_pct"), 18.75, 1e-9);
    assert_float_equal(num(p, "days_to_exhaustion"), 150, 1e-9);
    /* s2 has no grid capacity configured: demand and peak, no headroom */
    p = find(f, "headroom", "site", "s2", NULL);
    assert_float_equal(num(p, "peak_w"), 0.96e6, 1e-6);
    assert_true(isnan(num(p, "headroom_w")));
    assert_true(isnan(num(p, "days_to_exhaustion")));
}

static void test_offline_agent_is_missing(void **state)
{
    fx *f = *state;
    two_halls(f);
    assert_int_equal(ev_hub_agent_status(&f->st, "a2", false), 0);
    rollup(f);
    const ev_point *p = find(f, "pue", "cluster", NULL, "1h");
    assert_float_equal(num(p, "pue"), 1.25, 1e-12);      /* only h1's energy */
    assert_float_equal(num(p, "coverage"), 0.4, 1e-12);  /* 4 of 4 + 6 expected */
    assert_true(num(p, "partial") == 1);
    assert_true(num(p, "halls_expected") == 2 && num(p, "halls_reporting") == 1);
    p = find(f, "headroom", "cluster", NULL, NULL);
    assert_float_equal(num(p, "demand_w"), 1.5e6, 1e-6); /* now: what reports */
    assert_float_equal(num(p, "peak_w"), 2.585e6, 1e-6); /* peak: the silent hall's last known too */
    assert_true(num(p, "partial") == 1);

    assert_int_equal(ev_hub_agent_status(&f->st, "a2", true), 0); /* back */
    rollup(f);
    assert_float_equal(num(find(f, "pue", "cluster", NULL, "1h"), "coverage"), 0.9, 1e-12);
}

static void test_stale_and_never_seen_halls(void **state)
{
    fx *f = *state;
    two_halls(f);
    hall(f, "a1", "s1", "h1", 1, 1.5e6, 1.2e6, 4, 4, 1.3e6, 1.5e6, 1.2e6, 0.2e6, 100, NOW - 61 * SEC);
    rollup(f);
    const ev_point *p = find(f, "pue", "cluster", NULL, "1h");
    assert_float_equal(num(p, "pue"), 1.6, 1e-12); /* h1's summary is stale: missing */
    assert_true(num(p, "halls_reporting") == 1);

    /* a hall the config expects that never reported counts one missing meter */
    char *halls[] = {"h9"};
    f->sites[1].halls = halls;
    f->sites[1].nhalls = 1;
    ev_hub_state_free(&f->st);
    assert_int_equal(ev_hub_state_init(&f->st, &f->cfg), 0);
    two_halls(f);
    rollup(f);
    p = find(f, "pue", "cluster", NULL, "1h");
    assert_float_equal(num(p, "coverage"), 9.0 / 11, 1e-12);
    assert_true(num(p, "halls_expected") == 3 && num(p, "halls_reporting") == 2);
    assert_float_equal(num(find(f, "pue", "site", "s2", "1h"), "coverage"), 5.0 / 7, 1e-12);
    f->sites[1].halls = NULL;
    f->sites[1].nhalls = 0;
}

static void test_no_pue_without_it_energy(void **state)
{
    fx *f = *state;
    hall(f, "a1", "s1", "h1", 2, 1.5e6, 0, 4, 2, 1e6, 1.5e6, 0, 0, 0, NOW);
    rollup(f);
    const ev_point *p = find(f, "pue", "cluster", NULL, "1h");
    assert_non_null(p);
    assert_null(ev_point_get_field(p, "pue"));
    assert_null(ev_point_get_field(p, "dcie"));
    assert_float_equal(num(p, "facility_energy_wh"), 1.5e6, 0);
    assert_float_equal(num(p, "coverage"), 0.5, 0);
}

static void test_unconfigured_site_and_windows(void **state)
{
    fx *f = *state;
    const char *lp =
        "pue,agent=a7,hall=hx,scope=hall,site=s7,window=24h facility_energy_wh=36e6,it_energy_wh=30e6,"
        "meters_expected=2,meters_reporting=2,estimated=true\n"
        "pue,agent=a7,hall=hx,scope=hall,site=s7,window=instant pue=1.3,facility_energy_wh=1,it_energy_wh=1,"
        "meters_expected=2,meters_reporting=2\n"
        "power,device=d1,hall=hx,site=s7 active_power_w=5\n";
    assert_int_equal(summary(f, "s7", "hx", lp, NULL), 0);
    rollup(f);
    const ev_point *p = find(f, "pue", "site", "s7", "24h");
    assert_float_equal(num(p, "pue"), 1.2, 1e-12);
    assert_true(num(p, "estimated") == 1);
    assert_null(ev_point_get_tag(p, "category"));
    assert_null(find(f, "pue", "site", "s7", "instant")); /* not a roll-up window */
    assert_string_equal(ev_hub_agent_of(&f->st, "s7", "hx"), "a7");
}

static void test_summary_contract_problems(void **state)
{
    fx *f = *state;
    char why[200];
    two_halls(f);
    /* wrong hall tag, a pue without energies, more meters reporting than expected; the good line is taken */
    const char *lp =
        "pue,hall=h2,scope=hall,site=s1,window=1h facility_energy_wh=1,it_energy_wh=1,meters_expected=1,"
        "meters_reporting=1\n"
        "pue,hall=h1,scope=hall,site=s1,window=15m coverage=1\n"
        "pue,hall=h1,scope=hall,site=s1,window=30d facility_energy_wh=1,it_energy_wh=1,meters_expected=1,"
        "meters_reporting=2\n"
        "pue,hall=h1,scope=hall,site=s1,window=1h,category=9 facility_energy_wh=1,it_energy_wh=1,meters_expected=1,"
        "meters_reporting=1\n"
        "pue,agent=a1,hall=h1,scope=hall,site=s1,window=24h facility_energy_wh=3,it_energy_wh=2,meters_expected=1,"
        "meters_reporting=1\n";
    assert_int_equal(summary(f, "s1", "h1", lp, why), 4);
    assert_non_null(strstr(why, "tagged site=s1 hall=h2"));
    rollup(f);
    assert_float_equal(num(find(f, "pue", "site", "s1", "24h"), "pue"), 1.5, 1e-12);
    assert_null(find(f, "pue", "site", "s1", "1h")); /* the new summary replaced the old one */

    /* a summary with nothing usable keeps the last good one */
    assert_int_equal(summary(f, "s1", "h1", "pue,scope=hall,window=1h coverage=1\n", why), 1);
    assert_non_null(strstr(why, "needs facility_energy_wh"));
    rollup(f);
    assert_non_null(find(f, "pue", "site", "s1", "24h"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_energy_weighted_pue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headroom_against_target_and_grid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offline_agent_is_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_and_never_seen_halls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_pue_without_it_energy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unconfigured_site_and_windows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary_contract_problems, setup, teardown),
    };
    return cmocka_run_group_tests_name("hub_rollup", tests, NULL, NULL);
}
