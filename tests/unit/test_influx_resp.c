/*
 * test_influx_resp.c - what an InfluxDB /write answer means: status
 * classes, Retry-After (seconds and HTTP-date), the JSON error text, and
 * how many lines a 400 says were rejected (texts as InfluxDB 1.x sends).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "agent/outputs/influx_resp.h"

static void test_classify(void **state)
{
    assert_int_equal(ev_inf_classify(204), EV_INF_OK);
    assert_int_equal(ev_inf_classify(200), EV_INF_OK);
    assert_int_equal(ev_inf_classify(400), EV_INF_REJECTED);
    assert_int_equal(ev_inf_classify(401), EV_INF_AUTH);
    assert_int_equal(ev_inf_classify(403), EV_INF_AUTH);
    assert_int_equal(ev_inf_classify(404), EV_INF_NO_DB);
    assert_int_equal(ev_inf_classify(413), EV_INF_TOO_LARGE);
    assert_int_equal(ev_inf_classify(429), EV_INF_RETRY);
    assert_int_equal(ev_inf_classify(500), EV_INF_RETRY);
    assert_int_equal(ev_inf_classify(503), EV_INF_RETRY);
    assert_int_equal(ev_inf_classify(0), EV_INF_RETRY); /* no answer */
    assert_int_equal(ev_inf_classify(302), EV_INF_RETRY);
    assert_int_equal(ev_inf_classify(418), EV_INF_RETRY); /* unknown: keep the points */
}

static void test_retry_after(void **state)
{
    time_t now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
    assert_int_equal(ev_retry_after_ms("120", now), 120000);
    assert_int_equal(ev_retry_after_ms(" 5 \r\n", now), 5000);
    assert_int_equal(ev_retry_after_ms("0", now), 0);
    assert_int_equal(ev_retry_after_ms("Sun, 06 Nov 1994 08:49:47 GMT", now), 10000);
    assert_int_equal(ev_retry_after_ms(" Sun, 06 Nov 1994 08:50:37 GMT\r\n", now), 60000);
    assert_int_equal(ev_retry_after_ms("Sun, 06 Nov 1994 08:00:00 GMT", now), 0); /* past */
    assert_true(ev_retry_after_ms("99999999999999999999", now) >= 999999999LL * 1000);
    assert_int_equal(ev_retry_after_ms("", now), -1);
    assert_int_equal(ev_retry_after_ms("   ", now), -1);
    assert_int_equal(ev_retry_after_ms("soon", now), -1);
    assert_int_equal(ev_retry_after_ms("-5", now), -1);
    assert_int_equal(ev_retry_after_ms("1.5", now), -1);
    assert_int_equal(ev_retry_after_ms(NULL, now), -1);
}

static void test_error_text(void **state)
{
    char out[256];
    const char *b = "{\"error\":\"database not found: \\\"evtest\\\"\"}\n";
    assert_int_equal(ev_inf_error_text(b, strlen(b), out, sizeof out), 0);
    assert_string_equal(out, "database not found: \"evtest\"");

    b = "{ \"code\": 3, \"other\": {\"error\": \"no\"}, \"error\" : \"a\\nb\\u00e9\\ud83d\\ude00\\/\" }";
    assert_int_equal(ev_inf_error_text(b, strlen(b), out, sizeof out), 0);
    assert_string_equal(out, "a\nb\xc3\xa9\xf0\x9f\x98\x80/");

    /* truncated to the buffer, still terminated */
    b = "{\"error\":\"0123456789abcdef\"}";
    assert_int_equal(ev_inf_error_text(b, strlen(b), out, 8), 0);
    assert_string_equal(out, "0123456");

    /* not JSON (a proxy's page): the raw body, trimmed */
    b = "<html>Bad Gateway</html>\n";
    assert_int_equal(ev_inf_error_text(b, strlen(b), out, sizeof out), -1);
    assert_string_equal(out, "<html>Bad Gateway</html>");
    b = "{\"error\":\"unterminated";
    assert_int_equal(ev_inf_error_text(b, strlen(b), out, sizeof out), -1);
    b = "{\"message\":\"x\"}";
    assert_int_equal(ev_inf_error_text(b, strlen(b), out, sizeof out), -1);
    assert_int_equal(ev_inf_error_text(NULL, 0, out, sizeof out), -1);
    assert_string_equal(out, "");
}

static void test_rejected_counts(void **state)
{
    /* field type conflict: the server says how many */
    assert_int_equal(ev_inf_rejected("partial write: field type conflict: input field \"v\" on"
                                     " measurement \"m\" is type integer, already exists as type"
                                     " float dropped=3", 10), 3);
    assert_int_equal(ev_inf_rejected("partial write: points beyond retention policy dropped=2",
                                     10), 2);
    /* parse errors among good lines: one per line, dropped=0 */
    assert_int_equal(ev_inf_rejected("partial write: unable to parse 'm v=': missing field value\n"
                                     "unable to parse 'm x': invalid field format dropped=0", 10),
                     2);
    /* no "partial write": nothing was written */
    assert_int_equal(ev_inf_rejected("unable to parse 'm v=': missing field value", 4), 4);
    assert_int_equal(ev_inf_rejected("database name required", 4), 4);
    assert_int_equal(ev_inf_rejected(NULL, 4), 4);
    /* never more than the batch, never nothing for a partial write */
    assert_int_equal(ev_inf_rejected("partial write: x dropped=99", 5), 5);
    assert_int_equal(ev_inf_rejected("partial write: something", 5), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_error_text),
        cmocka_unit_test(test_rejected_counts),
    };
    return cmocka_run_group_tests_name("influx_resp", tests, NULL, NULL);
}
