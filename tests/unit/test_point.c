/*
 * test_point.c - batches: tags sorted and replaced, fields replaced, find
 * by tag set, clear/reuse, append, strings owned by the batch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "agent/point.h"

static void test_tags_sorted_and_replaced(void **state)
{
    ev_batch *b = ev_batch_new();
    ev_point *p = ev_batch_add(b, "power", 1);
    ev_point_tag(b, p, "site", "s1");
    ev_point_tag(b, p, "device", "d1");
    ev_point_tag(b, p, "phase", "L1");
    ev_point_tag(b, p, "device", "d2");
    assert_int_equal(p->ntags, 3);
    assert_string_equal(p->tags[0].key, "device");
    assert_string_equal(p->tags[0].val, "d2");
    assert_string_equal(p->tags[1].key, "phase");
    assert_string_equal(p->tags[2].key, "site");
    ev_batch_free(b);
}

static void test_fields_replaced_not_duplicated(void **state)
{
    ev_batch *b = ev_batch_new();
    ev_point *p = ev_batch_add(b, "power", 1);
    ev_point_float(b, p, "active_power_w", 1);
    ev_point_float(b, p, "active_power_w", 2);
    assert_int_equal(p->nfields, 1);
    assert_true(ev_point_get_field(p, "active_power_w")->v.f == 2);
    assert_null(ev_point_get_field(p, "nope"));
    for (int i = 0; i < EV_MAX_FIELDS - 1; i++) {
        char k[16];
        snprintf(k, sizeof k, "f%d", i);
        assert_int_equal(ev_point_float(b, p, k, i), 0);
    }
    assert_int_equal(ev_point_float(b, p, "one_too_many", 0), -1);
    ev_batch_free(b);
}

static void test_find_by_tagset(void **state)
{
    ev_batch *b = ev_batch_new();
    ev_point *p = ev_batch_add(b, "power", 1);
    ev_point_tag(b, p, "device", "d");
    ev_point_tag(b, p, "phase", "L1");
    p = ev_batch_add(b, "power", 1);
    ev_point_tag(b, p, "device", "d");
    ev_point_tag(b, p, "phase", "L2");
    ev_tag want[] = {{"phase", "L1"}, {"device", "d"}, {"rack", ""}};
    ev_point *got = ev_batch_find(b, "power", want, 3);
    assert_non_null(got);
    assert_string_equal(ev_point_get_tag(got, "phase"), "L1");
    ev_tag partial[] = {{"device", "d"}};
    assert_null(ev_batch_find(b, "power", partial, 1));
    assert_null(ev_batch_find(b, "environment", want, 2));
    ev_batch_free(b);
}

static void test_strings_are_copied_and_clear_reuses(void **state)
{
    ev_batch *b = ev_batch_new();
    char name[32];
    strcpy(name, "pdu-7");
    for (int round = 0; round < 3; round++) {
        ev_batch_clear(b);
        for (int i = 0; i < 5000; i++) { /* spans many arena blocks */
            ev_point *p = ev_batch_add(b, "power", i);
            ev_point_tag(b, p, "device", name);
            ev_point_str(b, p, "note", "a fairly long string value to fill the arena quickly");
        }
        strcpy(name, "changed");
        assert_int_equal(b->n, 5000);
        assert_string_equal(ev_point_get_tag(&b->pts[4999], "device"), round == 0 ? "pdu-7" : "changed");
    }
    ev_batch_free(b);
}

static void test_append(void **state)
{
    ev_batch *a = ev_batch_new(), *b = ev_batch_new();
    ev_point *p = ev_batch_add(a, "m", 9);
    ev_point_tag(a, p, "k", "v");
    ev_point_int(a, p, "i", 3);
    ev_point_str(a, p, "s", "x");
    assert_int_equal(ev_batch_append(b, a), 0);
    ev_batch_free(a);
    assert_int_equal(b->n, 1);
    assert_string_equal(ev_point_get_tag(&b->pts[0], "k"), "v");
    assert_int_equal(ev_point_get_field(&b->pts[0], "i")->v.i, 3);
    assert_string_equal(ev_point_get_field(&b->pts[0], "s")->v.s, "x");
    assert_int_equal(b->pts[0].ts_ns, 9);
    ev_batch_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tags_sorted_and_replaced),
        cmocka_unit_test(test_fields_replaced_not_duplicated),
        cmocka_unit_test(test_find_by_tagset),
        cmocka_unit_test(test_strings_are_copied_and_clear_reuses),
        cmocka_unit_test(test_append),
    };
    return cmocka_run_group_tests_name("point", tests, NULL, NULL);
}
