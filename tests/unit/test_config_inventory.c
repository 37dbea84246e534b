/*
 * test_config_inventory.c - devices at scale (agent/config_inventory.c)
 * through the real loader (ev_config_load): address ranges with name, row
 * and rack templates; CSV imports from a DCIM export (quoting, ';'
 * separators, byte-order mark, extra columns ignored); every bad range or
 * row reported as FILE:LINE naming the field; and a 10,000-device CSV
 * inventory loaded and checked in under a second.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif
#ifdef __SANITIZE_ADDRESS__
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

#include "agent/config.h"

static char dir[] = "/tmp/evmon-test-inventory-XXXXXX";

static int setup_all(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    return setenv("EVMON_PROFILES_DIR", "tests/config/profiles", 1);
}

static int teardown_all(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *put(const char *name, const char *text)
{
    static char path[2][256];
    static int which;
    char *p = path[which ^= 1];
    snprintf(p, sizeof path[0], "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

#define HEAD "agent: {id: a1, site: cambrai, hall: h1}\n"

/* Load; on failure the diagnostics joined by '\n' in msgs. */
static ev_config *load(const char *path, char *msgs, size_t len)
{
    ev_diag d = {0};
    ev_config *c = ev_config_load(path, &d);
    size_t used = 0;
    msgs[0] = 0;
    for (size_t i = 0; i < d.n && used < len; i++)
        used += (size_t)snprintf(msgs + used, len - used, "%s\n", d.msgs[i]);
    ev_diag_free(&d);
    return c;
}

static void expect_error(const char *cfg, const char *want)
{
    char msgs[4096];
    ev_config *c = load(cfg, msgs, sizeof msgs);
    assert_null(c);
    if (!strstr(msgs, want))
        fail_msg("expected '%s' in:\n%s", want, msgs);
}

static void test_range_expands(void **state)
{
    (void)state;
    char msgs[4096];
    const char *p = put("range.yaml", HEAD "devices:\n"
                                         "  - {name: ups-1, profile: test-pdu, address: 127.0.0.1}\n"
                                         "  - name: pdu-r{1}-{2:03}\n"
                                         "    address: 127.2.[3-4].[1-250]:1161\n"
                                         "    profile: test-pdu\n"
                                         "    row: \"{1}\"\n"
                                         "    rack: \"R{n:04}\"\n"
                                         "    feed: b\n");
    ev_config *c = load(p, msgs, sizeof msgs);
    if (!c)
        fail_msg("%s", msgs);
    assert_int_equal(c->ndevices, 501);
    assert_string_equal(c->devices[1].name, "pdu-r3-001");
    assert_string_equal(c->devices[1].address, "127.2.3.1:1161");
    assert_string_equal(c->devices[1].row, "3");
    assert_string_equal(c->devices[1].rack, "R0001");
    assert_string_equal(c->devices[1].feed, "B");
    assert_non_null(c->devices[1].profile);
    assert_string_equal(c->devices[250].name, "pdu-r3-250");
    assert_string_equal(c->devices[251].name, "pdu-r4-001"); /* the last range turns fastest */
    assert_string_equal(c->devices[251].address, "127.2.4.1:1161");
    assert_string_equal(c->devices[500].rack, "R0500");
    assert_int_equal(c->devices[500].line, 4); /* each copy points at its item */
    ev_config_free(c);
}

static void test_range_errors(void **state)
{
    (void)state;
    expect_error(put("e1.yaml", HEAD "devices:\n  - name: p{n}\n    profile: test-pdu\n    address: 127.2.0.[9-1]\n"),
                 "e1.yaml:3: device 'p{n}': address '127.2.0.[9-1]': range [9-1] runs backwards");
    expect_error(put("e2.yaml", HEAD "devices:\n  - {name: pdu, profile: test-pdu, address: \"127.2.0.[1-5]\"}\n"),
                 "e2.yaml:3: device 'pdu': the 5 devices of address '127.2.0.[1-5]' would all be named 'pdu'");
    expect_error(put("e3.yaml", HEAD "devices:\n  - name: p{n}\n    profile: test-pdu\n    address: 127.2.0.[250-256]\n"),
                 "e3.yaml:3: device 'p{n}': address '127.2.0.[250-256]' gives '127.2.0.256', not an IPv4 address");
    expect_error(put("e4.yaml", HEAD "devices:\n  - name: p{3}\n    profile: test-pdu\n    address: 127.2.0.[1-5]\n"),
                 "e4.yaml:3: device 'p{3}': name 'p{3}': unknown placeholder");
    expect_error(put("e5.yaml", HEAD "devices:\n  - name: p{n}\n    profile: test-pdu\n    address: 127.2.0.[1-]\n"),
                 "e5.yaml:3: device 'p{n}': address '127.2.0.[1-]': bad range");
    expect_error(put("e6.yaml", HEAD "devices:\n"
                                     "  - name: p{n}\n"
                                     "    profile: test-pdu\n"
                                     "    address: 127.2.0.[1-3]\n"
                                     "  - {name: p2, profile: test-pdu, address: 127.0.0.9}\n"),
                 "e6.yaml:6: device 'p2': duplicate device name (first at line 3)");
}

static void test_csv_import(void **state)
{
    (void)state;
    char msgs[4096];
    put("dcim.csv", "\xEF\xBB\xBF" "Asset ID,Name,Address,Profile,Row,Rack,Feed,Serial\n"
                    "A-1,pdu-a,127.3.0.1,test-pdu,R01,R01-07,A,ZA123\n"
                    "\n"
                    "A-2,\"pdu-b\",127.3.0.2:1161,test-pdu,R01,\"R01,08\",B,\"ZA \"\"9\"\"\"\n"
                    "# a comment\n"
                    "A-3,pdu-c,127.3.0.3,test-pdu,,,,\n");
    put("semi.csv", "name;address;profile;role\npdu-d;127.3.0.4;test-pdu;facility\n");
    const char *p = put("csv.yaml", HEAD "devices:\n"
                                       "  - {name: ups-1, profile: test-pdu, address: 127.0.0.1}\n"
                                       "  - csv: dcim.csv\n"
                                       "  - csv: " "semi.csv\n");
    ev_config *c = load(p, msgs, sizeof msgs);
    if (!c)
        fail_msg("%s", msgs);
    assert_int_equal(c->ndevices, 5);
    assert_string_equal(c->devices[1].name, "pdu-a");
    assert_string_equal(c->devices[1].address, "127.3.0.1");
    assert_string_equal(c->devices[1].row, "R01");
    assert_string_equal(c->devices[1].rack, "R01-07");
    assert_string_equal(c->devices[1].feed, "A");
    assert_int_equal(c->devices[1].line, 2);
    assert_string_equal(c->devices[2].rack, "R01,08"); /* quoted comma */
    assert_string_equal(c->devices[2].address, "127.3.0.2:1161");
    assert_null(c->devices[3].row); /* empty cells: not set */
    assert_null(c->devices[3].feed);
    assert_string_equal(c->devices[4].name, "pdu-d");
    assert_int_equal(c->devices[4].role, EV_ROLE_FACILITY);
    ev_config_free(c);
}

static void test_csv_errors(void **state)
{
    (void)state;
    char msgs[4096], want[600];
    put("bad.csv", "name,address,profile,feed\n"
                   "pdu-1,127.3.0.1,test-pdu,A\n"
                   "pdu-2,127.3.0.2,test-pdu,C\n"
                   "pdu 3,127.3.0.3,test-pdu,A\n"
                   "pdu-4,127.3.0.4,no-such-profile,A\n"
                   "pdu-5,,test-pdu,A\n"
                   "pdu-1,127.3.0.6,test-pdu,A\n"
                   "pdu-7,\"127.3.0.7,test-pdu\n");
    const char *p = put("bad.yaml", HEAD "devices:\n  - csv: bad.csv\n");
    assert_null(load(p, msgs, sizeof msgs));
    const char *lines[] = {"bad.csv:3: device 'pdu-2': feed: bad feed 'C'",
                           "bad.csv:4: device 'pdu 3': name: 'pdu 3' must not contain",
                           "bad.csv:5: device 'pdu-4': profile: unknown profile 'no-such-profile'",
                           "bad.csv:6: device 'pdu-5': missing required field 'address'",
                           "bad.csv:7: device 'pdu-1': duplicate device name (first at line 2)",
                           "bad.csv:8: unclosed '\"'"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        snprintf(want, sizeof want, "%s/%s", dir, lines[i]);
        if (!strstr(msgs, want))
            fail_msg("expected '%s' in:\n%s", want, msgs);
    }

    put("nohdr.csv", "name,address,rack\npdu-1,127.3.0.1,R1\n");
    snprintf(want, sizeof want, "%s/nohdr.csv:1: header: no 'profile' column", dir);
    expect_error(put("nohdr.yaml", HEAD "devices:\n  - csv: nohdr.csv\n"), want);
    expect_error(put("missing.yaml", HEAD "devices:\n  - csv: nowhere.csv\n"),
                 "missing.yaml:3: devices: csv '");
    expect_error(put("extra.yaml", HEAD "devices:\n  - {csv: dcim.csv, profile: test-pdu}\n"),
                 "extra.yaml:3: devices: item 1: a 'csv:' item takes no other keys");
}

static void test_csv_10000_devices_under_a_second(void **state)
{
    (void)state;
    char path[300], msgs[4096];
    snprintf(path, sizeof path, "%s/big.csv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "name,address,profile,row,rack,feed\n");
    for (int i = 0; i < 10000; i++)
        fprintf(f, "pdu-%05d,127.4.%d.%d:1161,test-pdu,R%02d,R%02d-%02d,%c\n", i, i / 250, 1 + i % 250, i / 400,
                i / 400, (i / 2) % 20, i % 2 ? 'B' : 'A');
    fclose(f);
    const char *p = put("big.yaml", HEAD "devices:\n  - csv: big.csv\n");

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ev_config *c = load(p, msgs, sizeof msgs);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!c)
        fail_msg("%s", msgs);
    assert_int_equal(c->ndevices, 10000);
    assert_string_equal(c->devices[9999].address, "127.4.39.250:1161");
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    /* valgrind and the sanitizers slow everything down; the budget is for the real build */
    double budget = RUNNING_ON_VALGRIND ? 60.0 : SANITIZED ? 5.0 : 1.0;
    if (secs > budget)
        fail_msg("10,000 devices took %.2f s to load (budget %.0f s)", secs, budget);
    ev_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_expands),
        cmocka_unit_test(test_range_errors),
        cmocka_unit_test(test_csv_import),
        cmocka_unit_test(test_csv_errors),
        cmocka_unit_test(test_csv_10000_devices_under_a_second),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
