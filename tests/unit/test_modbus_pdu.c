/*
 * test_modbus_pdu.c - Modbus TCP framing: the request bytes, and every way
 * an answer is accepted or refused (exception, stale transaction, wrong
 * unit, wrong function, wrong length, bits packed LSB first).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "collectors/modbus_pdu.h"

static void test_request_bytes(void **state)
{
    uint8_t b[12];
    static const uint8_t want[12] = {0x00, 0x07, 0, 0, 0, 6, 0x11, 0x03, 0x0B, 0xB7, 0x00, 0x4F};
    assert_int_equal(ev_mb_tcp_request(b, 7, 0x11, 3, 2999, 79), 12);
    assert_memory_equal(b, want, 12);
}

static void test_frame_len(void **state)
{
    uint8_t f[9] = {0, 1, 0, 0, 0, 3, 1, 0x83, 2};
    assert_int_equal(ev_mb_tcp_frame_len(f, 6), 0);
    assert_int_equal(ev_mb_tcp_frame_len(f, 9), 9);
    f[2] = 1; /* protocol id 256: not Modbus */
    assert_int_equal(ev_mb_tcp_frame_len(f, 9), -1);
}

static void test_registers_ok(void **state)
{
    uint8_t f[] = {0, 5, 0, 0, 0, 7, 1, 3, 4, 0x41, 0xCC, 0x00, 0x01};
    uint16_t out[2];
    uint8_t exc = 0;
    char err[100];
    assert_int_equal(ev_mb_tcp_parse(f, sizeof f, 5, 1, 3, 2, out, &exc, err, sizeof err), EV_MB_R_OK);
    assert_int_equal(out[0], 0x41CC);
    assert_int_equal(out[1], 0x0001);
    /* a late answer to transaction 4 is ignored */
    assert_int_equal(ev_mb_tcp_parse(f, sizeof f, 4, 1, 3, 2, out, &exc, err, sizeof err), EV_MB_R_STALE);
}

static void test_exception(void **state)
{
    uint8_t f[] = {0, 5, 0, 0, 0, 3, 1, 0x84, 2};
    uint16_t out[2];
    uint8_t exc = 0;
    char err[100], name[64];
    assert_int_equal(ev_mb_tcp_parse(f, sizeof f, 5, 1, 4, 2, out, &exc, err, sizeof err), EV_MB_R_EXCEPTION);
    assert_int_equal(exc, 2);
    assert_string_equal(ev_mb_exception_name(exc, name, sizeof name), "exception 2 (illegal data address)");
    assert_string_equal(ev_mb_exception_name(6, name, sizeof name), "exception 6 (server device busy)");
    assert_string_equal(ev_mb_exception_name(99, name, sizeof name), "exception 99");
}

static void test_bad_answers(void **state)
{
    uint16_t out[4];
    uint8_t exc;
    char err[160];
    uint8_t short_reply[] = {0, 5, 0, 0, 0, 5, 1, 3, 4, 0x41, 0xCC}; /* 2 of 4 data bytes */
    assert_int_equal(ev_mb_tcp_parse(short_reply, sizeof short_reply, 5, 1, 3, 2, out, &exc, err, sizeof err),
                     EV_MB_R_BAD);
    assert_non_null(strstr(err, "wrong length"));
    uint8_t other_unit[] = {0, 5, 0, 0, 0, 7, 2, 3, 4, 0, 0, 0, 0};
    assert_int_equal(ev_mb_tcp_parse(other_unit, sizeof other_unit, 5, 1, 3, 2, out, &exc, err, sizeof err),
                     EV_MB_R_BAD);
    assert_string_equal(err, "reply from unit 2 to a request for unit 1");
    uint8_t other_fc[] = {0, 5, 0, 0, 0, 7, 1, 4, 4, 0, 0, 0, 0};
    assert_int_equal(ev_mb_tcp_parse(other_fc, sizeof other_fc, 5, 1, 3, 2, out, &exc, err, sizeof err),
                     EV_MB_R_BAD);
    assert_string_equal(err, "reply for function 4 to a function 3 request");
    uint8_t pdu[] = {3};
    assert_int_equal(ev_mb_pdu_parse(pdu, 1, 3, 1, out, &exc, err, sizeof err), EV_MB_R_BAD);
}

static void test_bits(void **state)
{
    /* 10 coils: 1011 0001, 10 (LSB first: coil 0 is bit 0 of byte 0) */
    uint8_t pdu[] = {1, 2, 0xB1, 0x02};
    uint16_t out[10];
    uint8_t exc;
    char err[100];
    static const uint16_t want[10] = {1, 0, 0, 0, 1, 1, 0, 1, 0, 1};
    assert_int_equal(ev_mb_pdu_parse(pdu, sizeof pdu, 1, 10, out, &exc, err, sizeof err), EV_MB_R_OK);
    assert_memory_equal(out, want, sizeof want);
    assert_int_equal(ev_mb_max_count(2), 2000);
    assert_int_equal(ev_mb_max_count(4), 125);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_bytes), cmocka_unit_test(test_frame_len),
        cmocka_unit_test(test_registers_ok),  cmocka_unit_test(test_exception),
        cmocka_unit_test(test_bad_answers),   cmocka_unit_test(test_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
