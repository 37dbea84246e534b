/*
 * test_snmp_slot.c - the rowsets and walks lent to SNMP devices in flight
 * (collectors/snmp_slot.c): slots are reused per profile, never across
 * profiles, and a slot re-bound by a reload is freed, not reused.
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

static const char yaml_a[] = "name: slot-a\n"
                             "metrics:\n"
                             "  - {name: s, oid: 1.3.6.1.4.1.99.1.0, type: scalar, measurement: t, field: s}\n"
                             "  - {name: c, oid: 1.3.6.1.4.1.99.3.1.2, type: column, measurement: t, field: c}\n";
static const char yaml_b[] = "name: slot-b\n"
                             "metrics:\n"
                             "  - {name: c, oid: 1.3.6.1.4.1.99.3.1.2, type: column, measurement: t, field: c}\n";

static void slots_are_reused_per_profile(void **state)
{
    (void)state;
    ev_profile_set *set = ev_profiles_new();
    fx_profile_load(set, yaml_a);
    fx_profile_load(set, yaml_b);
    const ev_profile *a = ev_profiles_find(set, "slot-a"), *b = ev_profiles_find(set, "slot-b");
    ev_snmp_slots *s = ev_snmp_slots_new();

    ev_snmp_slot *x = ev_snmp_slot_take(s, a), *y = ev_snmp_slot_take(s, a);
    assert_non_null(x);
    assert_non_null(y);
    assert_ptr_not_equal(x, y);
    assert_int_equal(x->rs->ncols, 2);
    assert_int_equal(ev_snmp_slots_total(s), 2);
    ev_value v = {.type = EV_V_INT, .i = 7};
    assert_int_equal(ev_rowset_add(x->rs, 0, NULL, &v), 0);
    ev_snmp_slot_put(s, x, a);
    assert_ptr_equal(ev_snmp_slot_take(s, a), x); /* the idle one, not a new one */
    assert_int_equal(ev_snmp_slots_total(s), 2);
    ev_snmp_slot_put(s, x, a);

    ev_snmp_slot *z = ev_snmp_slot_take(s, b); /* another profile: its own slot */
    assert_ptr_not_equal(z, x);
    assert_int_equal(z->rs->ncols, 1);
    assert_int_equal(ev_snmp_slots_total(s), 3);

    ev_snmp_slot_put(s, y, NULL); /* re-bound by a reload: freed */
    assert_int_equal(ev_snmp_slots_total(s), 2);
    ev_snmp_slot_put(s, z, b);
    ev_snmp_slots_drain(s); /* a reload: idle slots go */
    assert_int_equal(ev_snmp_slots_total(s), 0);
    x = ev_snmp_slot_take(s, a);
    assert_int_equal(ev_snmp_slots_total(s), 1);
    ev_snmp_slot_put(s, x, a);
    ev_snmp_slots_free(s);
    ev_profiles_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slots_are_reused_per_profile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
