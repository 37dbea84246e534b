/*
 * test_lineproto.c - line protocol encoding: escaping of tricky names,
 * number formats, timestamps, and points that must not be written.
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

#include "agent/lineproto.h"
#include "fixture_batch.h"

static const char *encode_one(fx *f, ev_precision prec)
{
    return fx_encode(f, &f->b->pts[f->b->n - 1], prec);
}

static void test_simple_point(void **state)
{
    fx *f = *state;
    ev_point *p = ev_batch_add(f->b, "power", 1700000000123456789LL);
    ev_point_tag(f->b, p, "site", "cambrai");
    ev_point_tag(f->b, p, "device", "pdu-1");
    ev_point_tag(f->b, p, "phase", "total");
    ev_point_float(f->b, p, "active_power_w", 1140);
    ev_point_float(f->b, p, "power_factor", 0.96);
    assert_string_equal(encode_one(f, EV_PREC_NS),
                        "power,device=pdu-1,phase=total,site=cambrai active_power_w=1140,power_factor=0.96 "
                        "1700000000123456789\n");
    assert_string_equal(encode_one(f, EV_PREC_S),
                        "power,device=pdu-1,phase=total,site=cambrai active_power_w=1140,power_factor=0.96 "
                        "1700000000\n");
}

static void test_escaping(void **state)
{
    fx *f = *state;
    ev_point *p = ev_batch_add(f->b, "my meas,x=y", 1);
    ev_point_tag(f->b, p, "tag key,=", "val ue,=x");
    ev_point_str(f->b, p, "field key=1,", "say \"hi\" \\ back, a=b");
    assert_string_equal(encode_one(f, EV_PREC_NS),
                        "my\\ meas\\,x=y,tag\\ key\\,\\==val\\ ue\\,\\=x "
                        "field\\ key\\=1\\,=\"say \\\"hi\\\" \\\\ back, a=b\" 1\n");
}

/* A backslash cannot be escaped outside strings: before an ordinary
 * character it stays a pair; before a delimiter or at the end it is doubled,
 * so the delimiter survives (found by tests/fuzz/fuzz_lineproto.c). */
static void test_backslash_never_eats_a_delimiter(void **state)
{
    fx *f = *state;
    ev_point *p = ev_batch_add(f->b, "m\\", 1);
    ev_point_tag(f->b, p, "rack", "r\\");
    ev_point_tag(f->b, p, "sensor", "a\\b\\,c");
    ev_point_float(f->b, p, "v", 1);
    assert_string_equal(encode_one(f, EV_PREC_NS), "m\\\\,rack=r\\\\,sensor=a\\b\\\\\\,c v=1 1\n");
    ev_batch_clear(f->b);
    p = ev_batch_add(f->b, "#m", 1); /* would read as a comment */
    ev_point_float(f->b, p, "v", 1);
    ev_buf out;
    ev_buf_init(&out);
    assert_int_equal(ev_lp_point(&out, p, EV_PREC_NS), -1);
    assert_int_equal(out.len, 0);
    ev_buf_free(&out);
}

static void test_newlines_never_split_a_line(void **state)
{
    fx *f = *state;
    ev_point *p = ev_batch_add(f->b, "m\nx", 5);
    ev_point_tag(f->b, p, "t", "a\nb");
    ev_point_str(f->b, p, "s", "line1\nline2");
    const char *s = encode_one(f, EV_PREC_NS);
    assert_string_equal(s, "m\\ x,t=a\\ b s=\"line1 line2\" 5\n");
    assert_ptr_equal(strchr(s, '\n'), s + strlen(s) - 1);
}

static void test_number_types(void **state)
{
    fx *f = *state;
    ev_point *p = ev_batch_add(f->b, "m", 0);
    ev_point_int(f->b, p, "i", -42);
    ev_point_uint(f->b, p, "u", 18446744073709551615ULL);
    ev_point_bool(f->b, p, "b", true);
    ev_point_float(f->b, p, "third", 1.0 / 3.0);
    ev_point_float(f->b, p, "big", 3512800.0);
    ev_point_float(f->b, p, "neg", -0.1);
    /* no timestamp: the server's time is used */
    assert_string_equal(encode_one(f, EV_PREC_NS),
                        "m i=-42i,u=18446744073709551615u,b=true,third=0.3333333333333333,big=3512800,neg=-0.1\n");
}

static void test_float_round_trip(void **state)
{
    fx *f = *state;
    const double vals[] = {0.1, 0.96, 207.9, 1e-9, 123456789.125, 5047296, 1.0 / 3.0, -1e300};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        ev_batch_clear(f->b);
        ev_point *p = ev_batch_add(f->b, "m", 0);
        ev_point_float(f->b, p, "v", vals[i]);
        const char *s = encode_one(f, EV_PREC_NS);
        assert_true(strtod(s + strlen("m v="), NULL) == vals[i]);
    }
    ev_batch_clear(f->b);
    ev_point *p = ev_batch_add(f->b, "m", 0);
    ev_point_float(f->b, p, "v", 0.96);
    assert_string_equal(encode_one(f, EV_PREC_NS), "m v=0.96\n");
}

static void test_non_finite_skipped(void **state)
{
    fx *f = *state;
    ev_point *p = ev_batch_add(f->b, "m", 7);
    ev_point_float(f->b, p, "nan", NAN);
    ev_point_float(f->b, p, "ok", 2.5);
    ev_point_float(f->b, p, "inf", INFINITY);
    assert_string_equal(encode_one(f, EV_PREC_NS), "m ok=2.5 7\n");

    p = ev_batch_add(f->b, "m", 7);
    ev_point_float(f->b, p, "nan", NAN);
    ev_buf_reset(&f->out);
    assert_int_equal(ev_lp_point(&f->out, p, EV_PREC_NS), -1);
    assert_int_equal(f->out.len, 0);
}

static void test_batch_and_empty_tags(void **state)
{
    fx *f = *state;
    ev_point *p = ev_batch_add(f->b, "a", 1);
    ev_point_tag(f->b, p, "rack", ""); /* empty tags are dropped */
    ev_point_tag(f->b, p, "row", NULL);
    ev_point_float(f->b, p, "x", 1);
    p = ev_batch_add(f->b, "b", 2); /* no fields: not written */
    p = ev_batch_add(f->b, "c", 3);
    ev_point_float(f->b, p, "y", 2);
    ev_buf_reset(&f->out);
    assert_int_equal(ev_lp_batch(&f->out, f->b, EV_PREC_NS), 2);
    assert_string_equal(ev_buf_cstr(&f->out), "a x=1 1\nc y=2 3\n");
}

/* The text the float formatter printed before its fast path: the first of
 * %.15g, %.16g, %.17g that reads back exactly. The fast path must print
 * the same text wherever it applies. */
static void reference_double(char *tmp, size_t n, double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, n, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
}

static void test_float_fast_path_same_text(void **state)
{
    fx *f = *state;
    const double fixed[] = {0, -0.0, 1, -1, 0.5, 0.0001, 0.00012, 9.999999, 230.4, -17.25, 99999999999999.9,
                            999999999999999, 1e15, 1e16, 123456.000001, 0.3, 2.675, 4294967296.5, 1e-5};
    char want[40], line[64];
    unsigned seed = 12345;
    for (size_t i = 0; i < 20000; i++) {
        double v;
        if (i < sizeof fixed / sizeof fixed[0]) {
            v = fixed[i];
        } else { /* readings: k decimals of a random magnitude, and arbitrary doubles */
            seed = seed * 1103515245u + 12345u;
            int k = (int)(seed >> 8) % 8;
            double m = (double)(seed % 100000000u) * ((seed & 1) ? 1 : 1e6);
            v = (i & 1) ? m / pow(10, k) : (double)seed / 7.0 * ((seed & 2) ? -1 : 1);
        }
        ev_batch_clear(f->b);
        ev_point *p = ev_batch_add(f->b, "m", 0);
        ev_point_float(f->b, p, "v", v);
        reference_double(want, sizeof want, v);
        snprintf(line, sizeof line, "m v=%s\n", want);
        assert_string_equal(encode_one(f, EV_PREC_NS), line);
    }
}

static void test_encode_once(void **state)
{
    fx *f = *state;
    ev_point *p = ev_batch_add(f->b, "a", 1);
    ev_point_int(f->b, p, "x", -42);
    p = ev_batch_add(f->b, "b", 2); /* no fields: an empty line */
    p = ev_batch_add(f->b, "c", 3);
    ev_point_uint(f->b, p, "y", 18446744073709551615ULL);
    ev_lp_text t;
    assert_int_equal(ev_lp_encode(&t, f->b), 0);
    assert_int_equal(t.lines, 2);
    assert_ptr_equal(t.batch, f->b);
    assert_string_equal(ev_buf_cstr(&t.text), "a x=-42i 1\nc y=18446744073709551615u 3\n");
    assert_int_equal(ev_lp_start(&t, 0), 0);
    assert_int_equal(t.end[0], strlen("a x=-42i 1\n"));
    assert_int_equal(ev_lp_start(&t, 1), t.end[1]); /* b wrote nothing */
    assert_int_equal(t.end[2], t.text.len);
    ev_lp_text_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_simple_point, fx_batch_setup, fx_batch_teardown),
        cmocka_unit_test_setup_teardown(test_escaping, fx_batch_setup, fx_batch_teardown),
        cmocka_unit_test_setup_teardown(test_newlines_never_split_a_line, fx_batch_setup, fx_batch_teardown),
        cmocka_unit_test_setup_teardown(test_backslash_never_eats_a_delimiter, fx_batch_setup, fx_batch_teardown),
        cmocka_unit_test_setup_teardown(test_number_types, fx_batch_setup, fx_batch_teardown),
        cmocka_unit_test_setup_teardown(test_float_round_trip, fx_batch_setup, fx_batch_teardown),
        cmocka_unit_test_setup_teardown(test_non_finite_skipped, fx_batch_setup, fx_batch_teardown),
        cmocka_unit_test_setup_teardown(test_batch_and_empty_tags, fx_batch_setup, fx_batch_teardown),
        cmocka_unit_test_setup_teardown(test_float_fast_path_same_text, fx_batch_setup, fx_batch_teardown),
        cmocka_unit_test_setup_teardown(test_encode_once, fx_batch_setup, fx_batch_teardown),
    };
    return cmocka_run_group_tests_name("lineproto", tests, NULL, NULL);
}
