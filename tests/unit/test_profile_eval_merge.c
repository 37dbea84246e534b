/*
 * test_profile_eval_merge.c - which point a value joins (agent/profile_eval.c
 * finds it by a hash of measurement and the metric's own tags): tags given
 * in another order join the same point, a tag more or less or another value
 * makes another point, and a batch that already holds points is searched in
 * full, as ev_batch_find does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/profile.h"
#include "fixture_profile.h"

static const char yaml[] =
    "name: merge-test\n"
    "metrics:\n"
    "  - {name: a, oid: 1.3.6.1.4.1.99.1.0, type: scalar, measurement: m1, field: a,"
    " tags: {phase: L1, side: input}}\n"
    "  - {name: b, oid: 1.3.6.1.4.1.99.2.0, type: scalar, measurement: m1, field: b,"
    " tags: {side: input, phase: L1}}\n"
    "  - {name: c, oid: 1.3.6.1.4.1.99.3.0, type: scalar, measurement: m1, field: c,"
    " tags: {phase: L1}}\n"
    "  - {name: d, oid: 1.3.6.1.4.1.99.4.0, type: scalar, measurement: m1, field: d,"
    " tags: {phase: L2, side: input}}\n"
    "  - {name: e, oid: 1.3.6.1.4.1.99.5.0, type: scalar, measurement: m2, field: e,"
    " tags: {phase: L1, side: input}}\n"
    "  - {name: f, oid: 1.3.6.1.4.1.99.6.1.2, type: column, measurement: m1, field: f,"
    " tags: {outlet: '{i1}'}}\n";

static const ev_tagset base = {.tags = {{"device", "pdu-1"}, {"site", "s1"}}, .n = 2};

typedef struct {
    ev_profile_set *set;
    const ev_profile *p;
    ev_rowset *rs;
    ev_batch *b;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->set = ev_profiles_new();
    fx_profile_load(f->set, yaml);
    f->p = ev_profiles_find(f->set, "merge-test");
    assert_non_null(f->p);
    f->rs = ev_rowset_new(f->p);
    f->b = ev_batch_new();
    size_t n;
    const ev_fetch *fl = ev_profile_fetch_list(f->p, &n);
    for (size_t i = 0; i < n; i++) {
        ev_value v = {.type = EV_V_INT, .i = (int64_t)i + 1};
        if (fl[i].scalar) {
            assert_int_equal(ev_rowset_add(f->rs, i, NULL, &v), 0);
            continue;
        }
        for (uint32_t row = 1; row <= 3; row++) {
            ev_oid idx = {.sub = {row}, .len = 1};
            assert_int_equal(ev_rowset_add(f->rs, i, &idx, &v), 0);
        }
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ev_batch_free(f->b);
    ev_rowset_free(f->rs);
    ev_profiles_free(f->set);
    free(f);
    return 0;
}

/* The point holding field `field`; fails when none or more than one does. */
static const ev_point *holding(const ev_batch *b, const char *field)
{
    const ev_point *hit = NULL;
    for (size_t i = 0; i < b->n; i++)
        if (ev_point_get_field(&b->pts[i], field)) {
            assert_null(hit);
            hit = &b->pts[i];
        }
    assert_non_null(hit);
    return hit;
}

static void same_tags_in_any_order_share_a_point(void **state)
{
    fixture *f = *state;
    assert_int_equal(ev_profile_eval(f->p, f->rs, &base, 1, f->b, NULL, NULL), 8);
    /* a+b | c | d | e | f x 3 outlets */
    assert_int_equal(f->b->n, 7);
    assert_ptr_equal(holding(f->b, "a"), holding(f->b, "b"));
    assert_ptr_not_equal(holding(f->b, "a"), holding(f->b, "c")); /* a tag less */
    assert_ptr_not_equal(holding(f->b, "a"), holding(f->b, "d")); /* another value */
    assert_ptr_not_equal(holding(f->b, "a"), holding(f->b, "e")); /* another measurement */
    const ev_point *p = holding(f->b, "a");
    assert_int_equal(p->ntags, 4);
    assert_string_equal(ev_point_get_tag(p, "device"), "pdu-1");
    assert_string_equal(ev_point_get_tag(p, "phase"), "L1");
}

static void a_batch_with_points_is_searched_in_full(void **state)
{
    fixture *f = *state;
    assert_int_equal(ev_profile_eval(f->p, f->rs, &base, 1, f->b, NULL, NULL), 8);
    /* the same device again into the same batch: every value joins its point */
    assert_int_equal(ev_profile_eval(f->p, f->rs, &base, 1, f->b, NULL, NULL), 8);
    assert_int_equal(f->b->n, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(same_tags_in_any_order_share_a_point, setup, teardown),
        cmocka_unit_test_setup_teardown(a_batch_with_points_is_searched_in_full, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
