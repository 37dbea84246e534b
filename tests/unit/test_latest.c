/*
 * test_latest.c - the last-point store (agent/latest.c): keeps only its
 * measurements, one point per series (measurement + tags), the newest wins,
 * every field type copied, and a bounded number of series.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "agent/latest.h"

static const char *const kept[] = {"pue", "headroom", NULL};

static void add_pue(ev_batch *b, int64_t ts, const char *window, double pue)
{
    ev_point *p = ev_batch_add(b, "pue", ts);
    ev_point_tag(b, p, "scope", "hall");
    ev_point_tag(b, p, "window", window);
    ev_point_tag(b, p, "category", "1");
    ev_point_float(b, p, "pue", pue);
    ev_point_bool(b, p, "partial", false);
    ev_point_str(b, p, "note", "interim");
    ev_point_int(b, p, "meters_expected", 4);
    ev_point_uint(b, p, "meters_reporting", 4);
}

typedef struct {
    size_t n;
    double pue[8];
    const char *window[8];
} seen;

static void collect(void *ud, const ev_point *p)
{
    seen *s = ud;
    s->pue[s->n] = ev_point_get_field(p, "pue")->v.f;
    s->window[s->n] = ev_point_get_tag(p, "window");
    s->n++;
}

static void test_keeps_newest_per_series(void **state)
{
    ev_latest *l = ev_latest_new(kept, 100);
    ev_batch *b = ev_batch_new();
    add_pue(b, 10, "24h", 1.40);
    add_pue(b, 10, "1h", 1.30);
    ev_point *p = ev_batch_add(b, "power", 10); /* not kept */
    ev_point_float(b, p, "active_power_w", 1);
    ev_latest_feed(l, b);
    ev_batch_clear(b);
    add_pue(b, 20, "24h", 1.35); /* newer: replaces */
    add_pue(b, 5, "1h", 9.99);   /* older: ignored */
    ev_latest_feed(l, b);
    ev_batch_free(b); /* the store holds copies */

    assert_int_equal(ev_latest_count(l, "pue"), 2);
    assert_int_equal(ev_latest_count(l, "power"), 0);
    seen s = {0};
    ev_latest_each(l, "pue", collect, &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.window[0], "24h"); /* first-seen order */
    assert_true(s.pue[0] == 1.35);
    assert_string_equal(s.window[1], "1h");
    assert_true(s.pue[1] == 1.30);
    ev_latest_free(l);
}

static void check_types(void *ud, const ev_point *p)
{
    assert_int_equal(p->nfields, 5);
    assert_false(ev_point_get_field(p, "partial")->v.b);
    assert_string_equal(ev_point_get_field(p, "note")->v.s, "interim");
    assert_int_equal(ev_point_get_field(p, "meters_expected")->v.i, 4);
    assert_int_equal(ev_point_get_field(p, "meters_reporting")->v.u, 4);
    assert_int_equal(p->ts_ns, 7);
    (*(int *)ud)++;
}

static void test_copies_every_field_type(void **state)
{
    ev_latest *l = ev_latest_new(kept, 100);
    ev_batch *b = ev_batch_new();
    add_pue(b, 7, "15m", 1.2);
    ev_latest_feed(l, b);
    ev_batch_free(b);
    int n = 0;
    ev_latest_each(l, "pue", check_types, &n);
    assert_int_equal(n, 1);
    ev_latest_free(l);
}

static void test_bounded(void **state)
{
    ev_latest *l = ev_latest_new(kept, 2);
    ev_batch *b = ev_batch_new();
    add_pue(b, 1, "15m", 1);
    add_pue(b, 1, "1h", 1);
    add_pue(b, 1, "24h", 1);
    ev_latest_feed(l, b);
    assert_int_equal(ev_latest_count(l, "pue"), 2);
    assert_int_equal(ev_latest_dropped(l), 1);
    ev_latest_feed(l, b); /* known series still update */
    assert_int_equal(ev_latest_dropped(l), 2);
    ev_batch_free(b);
    ev_latest_free(l);
    ev_latest_feed(NULL, NULL); /* no store: nothing to do */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keeps_newest_per_series),
        cmocka_unit_test(test_copies_every_field_type),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
