/*
 * test_lineparse.c - line protocol parsing: escaping in every part, field
 * types, timestamps, round trips through the encoder, and every refusal
 * with its column and message.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "agent/lineparse.h"
#include "agent/lineproto.h"
#include "fixture_batch.h"

/* Parse one line that must be good; return its point. */
static const ev_point *good(fx *f, const char *line)
{
    ev_lp_error err = {0};
    ev_batch_clear(f->b);
    int rc = ev_lp_parse_line(f->b, line, strlen(line), EV_PREC_NS, &err);
    if (rc != 1)
        fail_msg("refused '%s': col %u: %s", line, err.col, err.msg);
    assert_int_equal(f->b->n, 1);
    return &f->b->pts[0];
}

/* Parse one line that must be refused at col with msg in the message. */
static void bad(fx *f, const char *line, unsigned col, const char *msg)
{
    ev_lp_error err = {0};
    ev_batch_clear(f->b);
    int rc = ev_lp_parse_line(f->b, line, strlen(line), EV_PREC_NS, &err);
    if (rc != -1)
        fail_msg("accepted '%s'", line);
    assert_int_equal(f->b->n, 0); /* nothing half-taken */
    if (!strstr(err.msg, msg))
        fail_msg("'%s': message '%s' lacks '%s'", line, err.msg, msg);
    if (err.col != col)
        fail_msg("'%s': error at col %u, expected %u (%s)", line, err.col, col, err.msg);
}

static void test_simple_line(void **state)
{
    fx *f = *state;
    const ev_point *p = good(f, "power,site=cambrai,device=pdu-1 active_power_w=1140,power_factor=0.96 1700000000123456789");
    assert_string_equal(p->measurement, "power");
    assert_int_equal(p->ntags, 2);
    assert_string_equal(ev_point_get_tag(p, "site"), "cambrai");
    assert_string_equal(p->tags[0].key, "device"); /* kept sorted */
    assert_int_equal(p->nfields, 2);
    assert_true(ev_point_get_field(p, "active_power_w")->v.f == 1140);
    assert_true(ev_point_get_field(p, "power_factor")->v.f == 0.96);
    assert_true(p->ts_ns == 1700000000123456789LL);

    p = good(f, "m x=1");
    assert_int_equal(p->ntags, 0);
    assert_true(p->ts_ns == 0); /* none given: the store stamps it */
}

static void test_escaping(void **state)
{
    fx *f = *state;
    const ev_point *p = good(f, "my\\ meas\\,ure=x,tag\\ k\\=e\\,y=v\\ a\\=l\\,ue fi\\ e\\=l\\,d=\"say \\\"hi\\\" c:\\\\dir\" 1");
    assert_string_equal(p->measurement, "my meas,ure=x"); /* '=' is plain in a measurement */
    assert_string_equal(p->tags[0].key, "tag k=e,y");
    assert_string_equal(p->tags[0].val, "v a=l,ue");
    assert_string_equal(p->fields[0].key, "fi e=l,d");
    assert_int_equal(p->fields[0].type, EV_STR);
    assert_string_equal(p->fields[0].v.s, "say \"hi\" c:\\dir");

    /* a backslash before anything else stays, and the pair is no delimiter */
    p = good(f, "a\\b,t=x\\y s=\"a\\nb\",k=1");
    assert_string_equal(p->measurement, "a\\b");
    assert_string_equal(p->tags[0].val, "x\\y");
    assert_string_equal(p->fields[0].v.s, "a\\nb");
    p = good(f, "a\\\\,t=v x=1");
    assert_string_equal(p->measurement, "a\\\\");
    assert_string_equal(p->tags[0].val, "v");
    /* commas, spaces and '=' inside a string need no escape */
    p = good(f, "m s=\"a, b=c d\",n=2");
    assert_string_equal(p->fields[0].v.s, "a, b=c d");
    assert_true(p->fields[1].v.f == 2);
    /* UTF-8 passes through */
    p = good(f, "m,hall=Salle\\ \xc3\xa9t\xc3\xa9 x=1");
    assert_string_equal(p->tags[0].val, "Salle \xc3\xa9t\xc3\xa9");
}

static void test_field_types(void **state)
{
    fx *f = *state;
    const ev_point *p = good(f, "m a=1,b=-1.5,c=2e9,d=.5,e=1.,g=-3E-2,h=42i,i=-9223372036854775808i,"
                                "j=18446744073709551615u,k=t,l=TRUE,n=False,o=f,q=\"\"");
    assert_int_equal(p->nfields, 14);
    assert_int_equal(p->fields[0].type, EV_FLOAT);
    assert_true(p->fields[1].v.f == -1.5);
    assert_true(p->fields[2].v.f == 2e9);
    assert_true(p->fields[3].v.f == 0.5);
    assert_true(p->fields[4].v.f == 1.0);
    assert_true(p->fields[5].v.f == -0.03);
    assert_int_equal(p->fields[6].type, EV_INT);
    assert_true(p->fields[6].v.i == 42);
    assert_true(p->fields[7].v.i == INT64_MIN);
    assert_int_equal(p->fields[8].type, EV_UINT);
    assert_true(p->fields[8].v.u == UINT64_MAX);
    assert_int_equal(p->fields[9].type, EV_BOOL);
    assert_true(p->fields[9].v.b);
    assert_true(p->fields[10].v.b);
    assert_false(p->fields[11].v.b);
    assert_false(p->fields[12].v.b);
    assert_int_equal(p->fields[13].type, EV_STR);
    assert_string_equal(p->fields[13].v.s, "");
}

static void test_timestamps(void **state)
{
    fx *f = *state;
    assert_true(good(f, "m x=1 -1700000000")->ts_ns == -1700000000LL);
    assert_true(good(f, "m x=1 9223372036854775807")->ts_ns == INT64_MAX);
    assert_true(good(f, "m x=1 5   ")->ts_ns == 5); /* trailing blanks */
    assert_true(good(f, "m x=1 5\r")->ts_ns == 5);  /* CRLF */

    ev_lp_error err;
    ev_batch_clear(f->b);
    assert_int_equal(ev_lp_parse_line(f->b, "m x=1 1700000000", 16, EV_PREC_S, &err), 1);
    assert_true(f->b->pts[0].ts_ns == 1700000000000000000LL);
    ev_batch_clear(f->b);
    assert_int_equal(ev_lp_parse_line(f->b, "m x=1 99999999999", 17, EV_PREC_S, &err), -1);
    assert_non_null(strstr(err.msg, "out of range"));
}

static void test_round_trip_through_encoder(void **state)
{
    fx *f = *state;
    static const char *lines[] = {
        "power,device=pdu\\ 1,hall=h\\,1,site=s\\=1 active_power_w=1140.5,count=3i,n=7u,ok=true,s=\"a \\\"q\\\" \\\\\" 17\n",
        "pue,agent=a1,category=2,hall=h1,scope=hall,site=s1,window=15m facility_energy_wh=375000,it_energy_wh=300000,"
        "coverage=1,partial=false,meters_expected=4,meters_reporting=4,pue=1.25,dcie=0.8 1700000000000000000\n",
        "weird\\ name\\,x v=0.1 1\n",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        size_t n = strlen(lines[i]) - 1;
        ev_lp_error err = {0};
        ev_batch_clear(f->b);
        assert_int_equal(ev_lp_parse_line(f->b, lines[i], n, EV_PREC_NS, &err), 1);
        assert_string_equal(fx_encode(f, &f->b->pts[0], EV_PREC_NS), lines[i]);
    }
}

static void test_every_refusal(void **state)
{
    fx *f = *state;
    bad(f, ",t=v x=1", 1, "missing measurement");
    bad(f, " x=1", 5, "no fields"); /* leading blank skipped: "x=1" is a measurement alone */
    bad(f, "m", 2, "no fields");
    bad(f, "m ", 3, "no fields after the space");
    bad(f, "m,=v x=1", 3, "empty tag key");
    bad(f, "m,t x=1", 3, "tag 't' has no value");
    bad(f, "m,t= x=1", 5, "tag 't' has an empty value");
    bad(f, "m,t=a=b x=1", 6, "unescaped '='");
    bad(f, "m,t=a,t=b x=1", 7, "duplicate tag 't'");
    bad(f, "m =1", 3, "empty field key");
    bad(f, "m x", 3, "field 'x' has no value");
    bad(f, "m x=", 5, "field 'x' has no value");
    bad(f, "m x=,y=1", 5, "field 'x' has no value");
    bad(f, "m x=1,x=2", 7, "duplicate field 'x'");
    bad(f, "m x=abc", 5, "bad value 'abc'");
    bad(f, "m x=1.2.3", 5, "bad value");
    bad(f, "m x=NaN", 5, "bad value 'NaN'");
    bad(f, "m x=inf", 5, "bad value 'inf'");
    bad(f, "m x=+1", 5, "bad value '+1'");
    bad(f, "m x=0x10", 5, "bad value");
    bad(f, "m x=1e", 5, "bad value");
    bad(f, "m x=1e999", 5, "out of range");
    bad(f, "m x=1.5i", 5, "bad integer");
    bad(f, "m x=9223372036854775808i", 5, "out of range");
    bad(f, "m x=-1u", 5, "bad unsigned");
    bad(f, "m x=18446744073709551616u", 5, "out of range");
    bad(f, "m x=\"abc", 5, "unterminated string");
    bad(f, "m x=\"abc\\\"", 5, "unterminated string");
    bad(f, "m x=\"a\"b", 8, "unexpected text after the closing");
    bad(f, "m x=1 12a", 7, "bad timestamp");
    bad(f, "m x=1 1.5", 7, "bad timestamp");
    bad(f, "m x=1 99999999999999999999", 7, "out of range");
    bad(f, "m x=1 1 2", 9, "unexpected text after the timestamp");
    bad(f, "m,t=\xff x=1", 5, "invalid UTF-8");
    bad(f, "m x=\"\xc3\x28\"", 5, "invalid UTF-8");
    bad(f, "m\xed\xa0\x80 x=1", 1, "invalid UTF-8"); /* a UTF-16 surrogate */

    static const char nul[] = "m x=1\0 2";
    ev_lp_error err = {0};
    assert_int_equal(ev_lp_parse_line(f->b, nul, sizeof nul - 1, EV_PREC_NS, &err), -1);
    assert_int_equal(err.col, 6);
    assert_non_null(strstr(err.msg, "NUL"));
}

static void test_limits(void **state)
{
    fx *f = *state;
    ev_buf line;
    ev_buf_init(&line);
    ev_buf_puts(&line, "m");
    for (int i = 0; i < EV_MAX_TAGS; i++)
        ev_buf_printf(&line, ",t%02d=v", i);
    ev_buf_puts(&line, " x=1");
    good(f, ev_buf_cstr(&line));
    ev_buf_reset(&line);
    ev_buf_puts(&line, "m");
    for (int i = 0; i <= EV_MAX_TAGS; i++)
        ev_buf_printf(&line, ",t%02d=v", i);
    ev_buf_puts(&line, " x=1");
    bad(f, ev_buf_cstr(&line), 3 + 6 * EV_MAX_TAGS, "too many tags");

    ev_buf_reset(&line);
    ev_buf_puts(&line, "m ");
    for (int i = 0; i <= EV_MAX_FIELDS; i++)
        ev_buf_printf(&line, "%sf%02d=1", i ? "," : "", i);
    bad(f, ev_buf_cstr(&line), 3 + 6 * EV_MAX_FIELDS, "too many fields");
    ev_buf_free(&line);
}

static void test_payload_of_lines(void **state)
{
    fx *f = *state;
    const char *text = "# a comment\n"
                       "a x=1 1\r\n"
                       "\n"
                       "   \n"
                       "b x=oops 2\n"
                       "c x=3 3\n"
                       "d";
    ev_lp_error first = {0};
    size_t n = 0;
    size_t bad_lines = ev_lp_parse(f->b, text, strlen(text), EV_PREC_NS, &first, &n);
    assert_int_equal(bad_lines, 2);
    assert_int_equal(n, 2);
    assert_int_equal(f->b->n, 2); /* the good lines are kept */
    assert_string_equal(f->b->pts[0].measurement, "a");
    assert_string_equal(f->b->pts[1].measurement, "c");
    assert_int_equal(first.line, 5);
    assert_int_equal(first.col, 5);
    assert_non_null(strstr(first.msg, "bad value 'oops'"));

    ev_batch_clear(f->b);
    assert_int_equal(ev_lp_parse(f->b, "", 0, EV_PREC_NS, NULL, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(ev_lp_parse(f->b, "x y=1\n", 6, EV_PREC_NS, NULL, &n), 0);
    assert_int_equal(n, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_simple_line, fx_batch_setup, fx_batch_teardown),
        cmocka_unit_test_setup_teardown(test_escaping, fx_batch_setup, fx_batch_teardown),
        cmocka_unit_test_setup_teardown(test_field_types, fx_batch_setup, fx_batch_teardown),
        cmocka_unit_test_setup_teardown(test_timestamps, fx_batch_setup, fx_batch_teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_through_encoder, fx_batch_setup, fx_batch_teardown),
        cmocka_unit_test_setup_teardown(test_every_refusal, fx_batch_setup, fx_batch_teardown),
        cmocka_unit_test_setup_teardown(test_limits, fx_batch_setup, fx_batch_teardown),
        cmocka_unit_test_setup_teardown(test_payload_of_lines, fx_batch_setup, fx_batch_teardown),
    };
    return cmocka_run_group_tests_name("lineparse", tests, NULL, NULL);
}
