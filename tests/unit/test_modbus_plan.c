/*
 * test_modbus_plan.c - request merging: adjacent and nearby registers of
 * one function code share a request, the gap allowance and the 125
 * register / 2000 bit limits hold, function codes never mix, and every
 * read knows its request and offset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "collectors/modbus_plan.h"

#define R(f, a, t) {.fc = (f), .addr = (a), .type = (t)}

static void test_merge_adjacent_and_gap(void **state)
{
    /* out of order on purpose; 3010 is 6 registers after 3002's end */
    ev_mb_read reads[] = {R(3, 3010, EV_MB_FLOAT32), R(3, 3000, EV_MB_FLOAT32), R(3, 3002, EV_MB_FLOAT32),
                          R(3, 3100, EV_MB_INT16)};
    ev_mb_plan p;
    assert_int_equal(ev_mb_plan_build(&p, reads, 4, 10, 125), 0);
    assert_int_equal(p.nreqs, 2);
    assert_int_equal(p.reqs[0].addr, 3000);
    assert_int_equal(p.reqs[0].count, 12);
    assert_int_equal(p.reqs[0].nreads, 3);
    assert_int_equal(p.reqs[1].addr, 3100);
    assert_int_equal(p.reqs[1].count, 1);
    assert_int_equal(p.req_of[0], 0);
    assert_int_equal(p.offset[0], 10);
    assert_int_equal(p.offset[2], 2);
    assert_int_equal(p.req_of[3], 1);
    ev_mb_plan_free(&p);
    /* no gap allowed: 3010 starts its own request */
    assert_int_equal(ev_mb_plan_build(&p, reads, 4, 0, 125), 0);
    assert_int_equal(p.nreqs, 3);
    ev_mb_plan_free(&p);
}

static void test_function_codes_apart(void **state)
{
    ev_mb_read reads[] = {R(3, 10, EV_MB_UINT16), R(4, 11, EV_MB_UINT16), R(3, 11, EV_MB_UINT16),
                          R(1, 0, EV_MB_BOOL), R(1, 1999, EV_MB_BOOL), R(1, 2000, EV_MB_BOOL)};
    ev_mb_plan p;
    assert_int_equal(ev_mb_plan_build(&p, reads, 6, 2000, 125), 0);
    /* FC1 0..1999 (2000 bits), FC1 2000, FC3 10..11, FC4 11 */
    assert_int_equal(p.nreqs, 4);
    assert_int_equal(p.reqs[0].fc, 1);
    assert_int_equal(p.reqs[0].count, 2000);
    assert_int_equal(p.reqs[1].addr, 2000);
    assert_int_equal(p.reqs[2].fc, 3);
    assert_int_equal(p.reqs[2].count, 2);
    assert_int_equal(p.reqs[3].fc, 4);
    ev_mb_plan_free(&p);
}

static void test_register_limit(void **state)
{
    ev_mb_read reads[70];
    for (int i = 0; i < 70; i++)
        reads[i] = (ev_mb_read)R(4, (uint16_t)(100 + 2 * i), EV_MB_FLOAT32);
    ev_mb_plan p;
    assert_int_equal(ev_mb_plan_build(&p, reads, 70, 10, 125), 0);
    /* 140 registers: 62 floats fill 124, the 63rd would need 126 */
    assert_int_equal(p.nreqs, 2);
    assert_int_equal(p.reqs[0].count, 124);
    assert_int_equal(p.reqs[1].addr, 224);
    assert_int_equal(p.reqs[1].count, 16);
    for (size_t r = 0; r < p.nreqs; r++)
        assert_true(p.reqs[r].count <= 125);
    ev_mb_plan_free(&p);
    /* a device that takes 32 registers at most */
    assert_int_equal(ev_mb_plan_build(&p, reads, 70, 10, 32), 0);
    assert_int_equal(p.nreqs, 5);
    ev_mb_plan_free(&p);
}

static void test_overlap_and_empty(void **state)
{
    /* the same register read twice (as int32 and as its low half) */
    ev_mb_read reads[] = {R(3, 0, EV_MB_INT32), R(3, 1, EV_MB_UINT16), R(3, 0, EV_MB_INT32)};
    ev_mb_plan p;
    assert_int_equal(ev_mb_plan_build(&p, reads, 3, 0, 125), 0);
    assert_int_equal(p.nreqs, 1);
    assert_int_equal(p.reqs[0].count, 2);
    assert_int_equal(p.offset[1], 1);
    ev_mb_plan_free(&p);
    assert_int_equal(ev_mb_plan_build(&p, NULL, 0, 10, 125), 0);
    assert_int_equal(p.nreqs, 0);
    ev_mb_plan_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_adjacent_and_gap), cmocka_unit_test(test_function_codes_apart),
        cmocka_unit_test(test_register_limit),         cmocka_unit_test(test_overlap_and_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
