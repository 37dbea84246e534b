/*
 * test_modbus_value.c - register words -> numbers for every type and
 * word/byte order, against known bit patterns (not our own encoder), plus
 * bit fields, names and the encoder the simulator uses.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "agent/modbus_value.h"

static ev_mb_value decode(ev_mb_type t, ev_mb_order o, const uint16_t *regs)
{
    ev_mb_read r = {.fc = 3, .type = t, .order = o};
    ev_mb_value v;
    ev_mb_decode(&r, regs, &v);
    return v;
}

/* Value bytes 12 34 56 78 as each order puts them on the wire. */
static void test_assemble_32(void **state)
{
    static const uint16_t wire[EV_MB_NORDERS][2] = {
        [EV_MB_ABCD] = {0x1234, 0x5678},
        [EV_MB_CDAB] = {0x5678, 0x1234},
        [EV_MB_BADC] = {0x3412, 0x7856},
        [EV_MB_DCBA] = {0x7856, 0x3412},
    };
    for (int o = 0; o < EV_MB_NORDERS; o++)
        assert_int_equal(ev_mb_assemble(wire[o], 2, (ev_mb_order)o), 0x12345678);
}

static void test_assemble_64(void **state)
{
    static const uint16_t wire[EV_MB_NORDERS][4] = {
        [EV_MB_ABCD] = {0x0102, 0x0304, 0x0506, 0x0708},
        [EV_MB_CDAB] = {0x0708, 0x0506, 0x0304, 0x0102},
        [EV_MB_BADC] = {0x0201, 0x0403, 0x0605, 0x0807},
        [EV_MB_DCBA] = {0x0807, 0x0605, 0x0403, 0x0201},
    };
    for (int o = 0; o < EV_MB_NORDERS; o++)
        assert_true(ev_mb_assemble(wire[o], 4, (ev_mb_order)o) == UINT64_C(0x0102030405060708));
}

static void test_assemble_16(void **state)
{
    uint16_t w = 0x1234;
    assert_int_equal(ev_mb_assemble(&w, 1, EV_MB_ABCD), 0x1234);
    assert_int_equal(ev_mb_assemble(&w, 1, EV_MB_CDAB), 0x1234); /* no words to swap */
    assert_int_equal(ev_mb_assemble(&w, 1, EV_MB_BADC), 0x3412);
    assert_int_equal(ev_mb_assemble(&w, 1, EV_MB_DCBA), 0x3412);
}

static void test_integers(void **state)
{
    uint16_t m2_16 = 0xFFFE, m2_32[2] = {0xFFFF, 0xFFFE}, m2_64[4] = {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE};
    assert_int_equal(decode(EV_MB_INT16, EV_MB_ABCD, &m2_16).i, -2);
    assert_int_equal(decode(EV_MB_UINT16, EV_MB_ABCD, &m2_16).u, 65534);
    assert_int_equal(decode(EV_MB_INT32, EV_MB_ABCD, m2_32).i, -2);
    assert_true(decode(EV_MB_UINT32, EV_MB_ABCD, m2_32).u == 4294967294u);
    assert_int_equal(decode(EV_MB_INT64, EV_MB_ABCD, m2_64).i, -2);
    assert_true(decode(EV_MB_UINT64, EV_MB_ABCD, m2_64).u == UINT64_MAX - 1);
    /* EM24: INT32 low word first, -1234 (0xFFFFFB2E) */
    uint16_t em24[2] = {0xFB2E, 0xFFFF};
    assert_int_equal(decode(EV_MB_INT32, EV_MB_CDAB, em24).i, -1234);
    assert_int_equal(decode(EV_MB_INT32, EV_MB_CDAB, em24).kind, EV_MB_V_INT);
    /* int16 0x8000 keeps its image for sentinels */
    uint16_t s = 0x8000;
    ev_mb_value v = decode(EV_MB_INT16, EV_MB_ABCD, &s);
    assert_int_equal(v.i, -32768);
    assert_int_equal(v.bits, 0x8000);
    assert_int_equal(v.nbits, 16);
}

/* 25.5f is 0x41CC0000, 25.5 (double) is 0x4039800000000000. */
static void test_floats_every_order(void **state)
{
    static const uint16_t f32[EV_MB_NORDERS][2] = {
        [EV_MB_ABCD] = {0x41CC, 0x0000},
        [EV_MB_CDAB] = {0x0000, 0x41CC},
        [EV_MB_BADC] = {0xCC41, 0x0000},
        [EV_MB_DCBA] = {0x0000, 0xCC41},
    };
    static const uint16_t f64[EV_MB_NORDERS][4] = {
        [EV_MB_ABCD] = {0x4039, 0x8000, 0, 0},
        [EV_MB_CDAB] = {0, 0, 0x8000, 0x4039},
        [EV_MB_BADC] = {0x3940, 0x0080, 0, 0},
        [EV_MB_DCBA] = {0, 0, 0x0080, 0x3940},
    };
    for (int o = 0; o < EV_MB_NORDERS; o++) {
        ev_mb_value v = decode(EV_MB_FLOAT32, (ev_mb_order)o, f32[o]);
        assert_int_equal(v.kind, EV_MB_V_FLOAT);
        assert_true(v.d == 25.5);
        assert_int_equal(v.bits, 0x41CC0000);
        assert_true(decode(EV_MB_FLOAT64, (ev_mb_order)o, f64[o]).d == 25.5);
    }
}

/* A float32 is shown as the decimal it stands for: 50.01f is
 * 50.0099983215332 as a double, and 0.1f is 0.100000001490116. */
static void test_float32_decimal(void **state)
{
    uint16_t hz[2] = {0x4248, 0x0A3D}, tenth[2] = {0x3DCC, 0xCCCD};
    assert_true(decode(EV_MB_FLOAT32, EV_MB_ABCD, hz).d == 50.01);
    assert_true(decode(EV_MB_FLOAT32, EV_MB_ABCD, tenth).d == 0.1);
    uint16_t nan[2] = {0xFFFF, 0xFFFF};
    ev_mb_value v = decode(EV_MB_FLOAT32, EV_MB_CDAB, nan);
    assert_true(isnan(v.d));
    assert_int_equal(v.bits, 0xFFFFFFFFu);
}

static void test_bit_fields(void **state)
{
    uint16_t w = 0x00B0; /* 1011 0000 */
    ev_mb_read r = {.fc = 3, .type = EV_MB_UINT16, .order = EV_MB_ABCD, .bit = 4, .width = 2};
    ev_mb_value v;
    ev_mb_decode(&r, &w, &v);
    assert_int_equal(v.kind, EV_MB_V_UINT);
    assert_int_equal(v.u, 3);
    r.bit = 6;
    r.width = 1;
    ev_mb_decode(&r, &w, &v);
    assert_int_equal(v.u, 0);
    r.bit = 7;
    ev_mb_decode(&r, &w, &v);
    assert_int_equal(v.u, 1);
    uint16_t coil = 1;
    ev_mb_read b = {.fc = 1, .type = EV_MB_BOOL};
    ev_mb_decode(&b, &coil, &v);
    assert_int_equal(v.u, 1);
}

/* Every type x order: what the encoder writes decodes to the same value. */
static void test_encode_round_trip(void **state)
{
    static const double vals[] = {0, 1, -2, 1234.5, 65535, -32768, 123456789};
    for (int t = 0; t < EV_MB_BOOL; t++)
        for (int o = 0; o < EV_MB_NORDERS; o++)
            for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
                double x = vals[i];
                bool isfloat = t == EV_MB_FLOAT32 || t == EV_MB_FLOAT64;
                if (!isfloat)
                    x = trunc(x);
                if (t == EV_MB_INT16 && (x < -32768 || x > 32767))
                    continue;
                if (t == EV_MB_UINT16 && (x < 0 || x > 65535))
                    continue;
                if ((t == EV_MB_UINT32 || t == EV_MB_UINT64) && x < 0)
                    continue;
                uint16_t w[4] = {0};
                ev_mb_encode((ev_mb_type)t, (ev_mb_order)o, x, w);
                ev_mb_value v = decode((ev_mb_type)t, (ev_mb_order)o, w);
                double got = v.kind == EV_MB_V_INT ? (double)v.i : v.kind == EV_MB_V_UINT ? (double)v.u : v.d;
                bool ok = t == EV_MB_FLOAT32 ? fabs(got - x) <= fabs(x) * 1e-7 : got == x; /* 24-bit mantissa */
                if (!ok)
                    fail_msg("%s %s %g -> %g", ev_mb_type_name((ev_mb_type)t), ev_mb_order_name((ev_mb_order)o),
                             x, got);
            }
}

static void test_names(void **state)
{
    ev_mb_type t;
    ev_mb_order o;
    assert_true(ev_mb_type_parse("FLOAT32", &t) && t == EV_MB_FLOAT32);
    assert_false(ev_mb_type_parse("float", &t));
    assert_true(ev_mb_order_parse("cdab", &o) && o == EV_MB_CDAB);
    assert_false(ev_mb_order_parse("ABDC", &o));
    assert_int_equal(ev_mb_type_words(EV_MB_UINT64), 4);
    char buf[64];
    ev_mb_read r = {.fc = 4, .addr = 82, .type = EV_MB_FLOAT32, .order = EV_MB_CDAB};
    assert_string_equal(ev_mb_read_format(&r, buf, sizeof buf), "FC4 82 float32 CDAB");
    r = (ev_mb_read){.fc = 3, .addr = 7, .type = EV_MB_UINT16, .bit = 4, .width = 2};
    assert_string_equal(ev_mb_read_format(&r, buf, sizeof buf), "FC3 7 uint16 bits 4-5");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assemble_32),     cmocka_unit_test(test_assemble_64),
        cmocka_unit_test(test_assemble_16),     cmocka_unit_test(test_integers),
        cmocka_unit_test(test_floats_every_order), cmocka_unit_test(test_float32_decimal),
        cmocka_unit_test(test_bit_fields),      cmocka_unit_test(test_encode_round_trip),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
