/*
 * test_hub_headroom.c - the planner query's pure parts: the InfluxQL, a
 * real /query answer parsed into nodes (names by level, absent values),
 * least-headroom-first order, the three output formats, InfluxDB errors.
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

#include "agent/headroom_query.h"

/* What InfluxDB 1.x answers for the query at level rack (epoch=s). */
static const char *answer =
    "{\"results\":[{\"statement_id\":0,\"series\":["
    "{\"name\":\"headroom\",\"tags\":{\"feed\":\"\",\"hall\":\"h1\",\"rack\":\"r2\",\"row\":\"A\",\"scope\":\"rack\","
    "\"site\":\"s1\"},\"columns\":[\"time\",\"capacity_w\",\"days_to_exhaustion\",\"headroom_pct\",\"headroom_w\","
    "\"peak_w\",\"usable_w\"],\"values\":[[1700000000,22170,null,42.5,7540,10196,17736]]},"
    "{\"name\":\"headroom\",\"tags\":{\"feed\":\"A\",\"hall\":\"h1\",\"rack\":\"r1\",\"row\":\"A\",\"scope\":\"rack\","
    "\"site\":\"s1\"},\"columns\":[\"time\",\"capacity_w\",\"days_to_exhaustion\",\"headroom_pct\",\"headroom_w\","
    "\"peak_w\",\"usable_w\"],\"values\":[[1700000010,22170,12.5,-3,-532,18268,17736]]},"
    "{\"name\":\"headroom\",\"tags\":{\"hall\":\"h2\",\"rack\":\"r9\",\"row\":\"B\",\"scope\":\"rack\",\"site\":\"s1\"},"
    "\"columns\":[\"time\",\"peak_w\"],\"values\":[[1700000020,5000]]}"
    "]}]}";

static char *print(const ev_hr_rows *r, const char *level, ev_hr_format fmt)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ev_hr_print(f, r, level, fmt);
    fclose(f);
    return buf;
}

static void test_query_text(void **state)
{
    char *q = ev_hr_influxql("hall", "2h");
    assert_string_equal(q, "SELECT * FROM \"headroom\" WHERE \"scope\" = 'hall' AND time > now() - 2h "
                           "GROUP BY * ORDER BY time DESC LIMIT 1");
    free(q);
    assert_true(ev_hr_level_ok("rack"));
    assert_false(ev_hr_level_ok("floor"));
}

static void test_parse_and_sort(void **state)
{
    ev_hr_rows r;
    char err[200];
    assert_int_equal(ev_hr_parse(answer, "rack", &r, err, sizeof err), 0);
    assert_int_equal(r.n, 3);
    ev_hr_sort(&r);
    assert_string_equal(r.rows[0].node, "s1/h1/A/r1:A"); /* -3 % first */
    assert_float_equal(r.rows[0].headroom_w, -532, 0);
    assert_float_equal(r.rows[0].days, 12.5, 0);
    assert_true(r.rows[0].time_s == 1700000010);
    assert_string_equal(r.rows[1].node, "s1/h1/A/r2"); /* an empty feed tag is no feed */
    assert_true(isnan(r.rows[1].days));
    assert_string_equal(r.rows[2].node, "s1/h2/B/r9"); /* no headroom at all: last */
    assert_true(isnan(r.rows[2].capacity_w));

    char *out = print(&r, "rack", EV_HR_TABLE);
    assert_non_null(strstr(out, "s1/h1/A/r1:A     22.17 kW     17.74 kW     18.27 kW       -532 W     -3.0     12.5\n"));
    assert_non_null(strstr(out, "s1/h2/B/r9              -            -      5.00 kW            -        -        -\n"));
    free(out);
    out = print(&r, "rack", EV_HR_CSV);
    assert_non_null(strstr(out, "rack,capacity_w,usable_w,peak_w,headroom_w,headroom_pct,days_to_exhaustion,time\n"
                                "s1/h1/A/r1:A,22170,17736,18268,-532,-3,12.5,1700000010\n"));
    assert_non_null(strstr(out, "s1/h2/B/r9,,,5000,,,,1700000020\n"));
    free(out);
    out = print(&r, "rack", EV_HR_JSON);
    assert_non_null(strstr(out, "\"node\":\"s1/h1/A/r1:A\",\n    \"capacity_w\":22170.0,"));
    assert_non_null(strstr(out, "\"days_to_exhaustion\":null"));
    free(out);
    ev_hr_rows_free(&r);

    assert_int_equal(ev_hr_parse(answer, "hall", &r, err, sizeof err), 0);
    assert_string_equal(r.rows[0].node, "s1/h1");
    ev_hr_rows_free(&r);
    assert_int_equal(ev_hr_parse("{\"results\":[{\"statement_id\":0}]}", "cluster", &r, err, sizeof err), 0);
    assert_int_equal(r.n, 0);
    out = print(&r, "cluster", EV_HR_TABLE);
    assert_non_null(strstr(out, "(no headroom points at level cluster)"));
    free(out);
    ev_hr_rows_free(&r);
}

static void test_errors(void **state)
{
    ev_hr_rows r;
    char err[200];
    assert_int_equal(ev_hr_parse("not json", "site", &r, err, sizeof err), -1);
    assert_string_equal(err, "InfluxDB's answer is not JSON");
    assert_int_equal(ev_hr_parse("{\"error\":\"authorization failed\"}", "site", &r, err, sizeof err), -1);
    assert_string_equal(err, "InfluxDB: authorization failed");
    assert_int_equal(ev_hr_parse("{\"results\":[{\"statement_id\":0,\"error\":\"database not found: x\"}]}", "site",
                                 &r, err, sizeof err), -1);
    assert_string_equal(err, "InfluxDB: database not found: x");
    assert_int_equal(ev_hr_parse("[1,2]", "site", &r, err, sizeof err), -1);
    assert_string_equal(err, "InfluxDB's answer has no results");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_text),
        cmocka_unit_test(test_parse_and_sort),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests_name("hub_headroom", tests, NULL, NULL);
}
