/*
 * test_profile.c - numeric OIDs, loading profiles (the shipped ones, the
 * minimal form other parts write, and broken ones with their exact
 * FILE:LINE: messages), fetch lists and rowsets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/profile.h"

#define BAD_DIR "tests/fixtures/profiles-bad"

/* ---- OIDs ------------------------------------------------------------ */

static void test_oid_parse(void **state)
{
    ev_oid o;
    char buf[64];
    assert_int_equal(ev_oid_parse("1.3.6.1.2.1.1.3.0", &o), 0);
    assert_int_equal(o.len, 9);
    assert_int_equal(o.sub[8], 0);
    assert_string_equal(ev_oid_format(&o, buf, sizeof buf), "1.3.6.1.2.1.1.3.0");

    assert_int_equal(ev_oid_parse(".1.3.6.1.4.1.318", &o), 0);
    assert_int_equal(o.len, 7);
    assert_int_equal(o.sub[6], 318);

    assert_int_equal(ev_oid_parse("1.3.6.4294967295", &o), 0);
    assert_true(o.sub[3] == 4294967295u);

    const char *bad[] = {"", ".", "1.3.x", "1..3", "1.3.", "1.3.6 ", "-1.3", "1.3.4294967296", "x", NULL};
    for (int i = 0; bad[i]; i++) {
        ev_oid keep = {.len = 99};
        if (ev_oid_parse(bad[i], &keep) != -1)
            fail_msg("\"%s\" parsed as an OID", bad[i]);
        assert_int_equal(keep.len, 99); /* untouched on error */
    }
    assert_int_equal(ev_oid_parse(NULL, &o), -1);
}

static void test_oid_length_limit(void **state)
{
    char s[EV_OID_MAX * 2 + 8] = "1";
    ev_oid o;
    for (int i = 1; i < EV_OID_MAX; i++)
        strcat(s, ".1");
    assert_int_equal(ev_oid_parse(s, &o), 0);
    assert_int_equal(o.len, EV_OID_MAX);
    strcat(s, ".1");
    assert_int_equal(ev_oid_parse(s, &o), -1);
}

static void test_oid_format_truncates(void **state)
{
    ev_oid o;
    char small[8];
    ev_oid_parse("1.3.6.1.4.1.13742", &o);
    ev_oid_format(&o, small, sizeof small);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_memory_equal(small, "1.3.6.1", 7);

    ev_oid empty = {.len = 0};
    char buf[4] = "xyz";
    assert_string_equal(ev_oid_format(&empty, buf, sizeof buf), "");
}

static void test_oid_cmp_and_prefix(void **state)
{
    ev_oid a, b, c, pre;
    ev_oid_parse("1.3.6.1.2", &a);
    ev_oid_parse("1.3.6.1.10", &b); /* numeric, not text, order: 2 < 10 */
    ev_oid_parse("1.3.6.1.2.1", &c);
    ev_oid_parse("1.3.6.1", &pre);
    assert_true(ev_oid_cmp(&a, &b) < 0);
    assert_true(ev_oid_cmp(&b, &a) > 0);
    assert_true(ev_oid_cmp(&a, &c) < 0); /* prefix sorts first */
    assert_int_equal(ev_oid_cmp(&a, &a), 0);
    assert_true(ev_oid_has_prefix(&c, &a));
    assert_true(ev_oid_has_prefix(&a, &pre));
    assert_true(ev_oid_has_prefix(&a, &a));
    assert_false(ev_oid_has_prefix(&b, &c));
    assert_false(ev_oid_has_prefix(&pre, &a));
}

/* ---- loading --------------------------------------------------------- */

static void test_shipped_profiles_load_cleanly(void **state)
{
    ev_diag d = {0};
    ev_profile_set *set = ev_profiles_load_dir("config/profiles", &d);
    assert_non_null(set);
    if (d.n) {
        ev_diag_print(&d, stderr);
        fail_msg("%zu diagnostics for the shipped profiles", d.n);
    }
    const char *names[] = {"apc-rpdu2", "servertech-sentry4", "vertiv-geist-v5", "raritan-pdu2",
                           "eaton-epdu", "ups-mib", "entity-sensor"};
    size_t nsnmp = 0; /* the Modbus profiles are test_modbus_profile.c's */
    for (size_t i = 0; i < ev_profiles_count(set); i++)
        nsnmp += ev_profile_protocol(ev_profiles_at(set, i)) == EV_PROTO_SNMP;
    assert_int_equal(nsnmp, 7);
    for (size_t i = 0; i < 7; i++) {
        const ev_profile *p = ev_profiles_find(set, names[i]);
        if (!p)
            fail_msg("profile %s not loaded", names[i]);
        assert_string_equal(ev_profile_name(p), names[i]);
        assert_true(strlen(ev_profile_description(p)) > 0);
        size_t n;
        assert_non_null(ev_profile_fetch_list(p, &n));
        assert_true(n > 0);
    }
    assert_null(ev_profiles_find(set, "nope"));
    assert_null(ev_profiles_at(set, ev_profiles_count(set)));
    ev_profiles_free(set);
    ev_diag_free(&d);
}

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/evmon-test-profile-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

/* The form other parts of evmon write in their own tests. */
static void test_minimal_form(void **state)
{
    char *path = write_temp("name: test-pdu\n"
                            "description: A test PDU\n"
                            "metrics:\n"
                            "  - name: device_power\n"
                            "    oid: .1.3.6.1.4.1.318.1.1.26.4.3.1.5   # leading dot allowed\n"
                            "    type: column\n"
                            "    measurement: power\n"
                            "    field: active_power_w\n"
                            "    scale: 10\n"
                            "    tags: {phase: total}\n");
    ev_diag d = {0};
    ev_profile_set *set = ev_profiles_new();
    assert_int_equal(ev_profiles_load_file(set, path, &d), 0);
    assert_int_equal(d.n, 0);
    const ev_profile *p = ev_profiles_find(set, "test-pdu");
    assert_non_null(p);
    assert_string_equal(ev_profile_description(p), "A test PDU");
    size_t n;
    const ev_fetch *f = ev_profile_fetch_list(p, &n);
    assert_int_equal(n, 1);
    assert_false(f[0].scalar);
    char buf[64];
    assert_string_equal(ev_oid_format(&f[0].oid, buf, sizeof buf), "1.3.6.1.4.1.318.1.1.26.4.3.1.5");

    /* loading the same file again: a duplicate name, the first one stays */
    assert_int_equal(ev_profiles_load_file(set, path, &d), -1);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.msgs[0], "duplicate profile name 'test-pdu'"));
    assert_int_equal(ev_profiles_count(set), 1);

    unlink(path);
    free(path);
    ev_profiles_free(set);
    ev_diag_free(&d);
}

/* Fetch list: every OID the profile needs once, scalars flagged, aux
 * columns (digits, filters, tag columns) included. */
static void test_fetch_list_dedup(void **state)
{
    ev_diag d = {0};
    ev_profile_set *set = ev_profiles_new();
    assert_int_equal(ev_profiles_load_file(set, "config/profiles/raritan-pdu2.yaml", &d), 0);
    assert_int_equal(ev_profiles_load_file(set, "config/profiles/ups-mib.yaml", &d), 0);
    assert_int_equal(ev_profiles_load_file(set, "config/profiles/eaton-epdu.yaml", &d), 0);
    assert_int_equal(d.n, 0);
    char buf[128];
    size_t n;

    /* Raritan: 11 metrics over 2 value columns, 2 digit columns, 2 availability columns */
    const ev_fetch *f = ev_profile_fetch_list(ev_profiles_find(set, "raritan-pdu2"), &n);
    const char *want_raritan[] = {
        "1.3.6.1.4.1.13742.6.5.2.3.1.4", "1.3.6.1.4.1.13742.6.3.3.4.1.7", "1.3.6.1.4.1.13742.6.5.2.3.1.2",
        "1.3.6.1.4.1.13742.6.5.4.3.1.4", "1.3.6.1.4.1.13742.6.3.5.4.1.7", "1.3.6.1.4.1.13742.6.5.4.3.1.2"};
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(ev_oid_format(&f[i].oid, buf, sizeof buf), want_raritan[i]);
        assert_false(f[i].scalar);
    }

    /* UPS-MIB: scalars flagged */
    f = ev_profile_fetch_list(ev_profiles_find(set, "ups-mib"), &n);
    size_t scalars = 0;
    for (size_t i = 0; i < n; i++) {
        ev_oid_format(&f[i].oid, buf, sizeof buf);
        if (f[i].scalar) {
            scalars++;
            assert_int_equal(strcmp(buf + strlen(buf) - 2, ".0"), 0);
        }
        for (size_t j = 0; j < i; j++)
            assert_false(f[i].scalar == f[j].scalar && !ev_oid_cmp(&f[i].oid, &f[j].oid));
    }
    assert_int_equal(scalars, 8);
    assert_int_equal(n, 8 + 8); /* 4 output + 4 input columns */

    /* Eaton: tag columns ({col:..}) and filter columns are fetched too */
    f = ev_profile_fetch_list(ev_profiles_find(set, "eaton-epdu"), &n);
    bool meas_type = false, probe_status = false;
    for (size_t i = 0; i < n; i++) {
        ev_oid_format(&f[i].oid, buf, sizeof buf);
        meas_type |= !strcmp(buf, "1.3.6.1.4.1.534.6.6.7.3.2.1.2");
        probe_status |= !strcmp(buf, "1.3.6.1.4.1.534.6.6.7.7.1.1.3");
    }
    assert_true(meas_type);
    assert_true(probe_status);

    ev_profiles_free(set);
    ev_diag_free(&d);
}

/* Every broken file is reported, each problem as FILE:LINE: message
 * naming the field; broken profiles are left out, good ones kept. */
static void test_bad_profiles(void **state)
{
    static const char *const want[] = {
        BAD_DIR "/bad-keys.yaml:3: profile: unknown key 'descripton' (expected one of: name, "
                "description, maps, metrics, protocol, defaults)",
        BAD_DIR "/bad-keys.yaml:10: metric 'p': unknown key 'scael' (expected one of: name, "
                "description, oid, type, measurement, field, scale, offset, sentinels, tags, where, "
                "decimals_from, si_scale_from, aggregate)",
        BAD_DIR "/bad-templates.yaml:11: metric 'unknown_placeholder': tags.phase: unknown "
                "placeholder {phase} (use {index}, {i1}, {i2}.., {col:OID}, each optionally followed "
                "by :map)",
        BAD_DIR "/bad-templates.yaml:17: metric 'unknown_map': tags.phase: unknown map 'lines' "
                "(define it under maps:)",
        BAD_DIR "/bad-templates.yaml:23: metric 'scalar_index': tags.phase: {i1} needs a column "
                "metric (a scalar has no row index)",
        BAD_DIR "/bad-templates.yaml:29: metric 'unquoted': tags.phase: a template must be quoted, "
                "e.g. phase: \"{i1}\"",
        BAD_DIR "/bad-templates.yaml:35: metric 'reserved_tag': tags: 'device' is set from the "
                "device config, not by a profile",
        BAD_DIR "/bad-templates.yaml:41: metric 'unclosed': tags.phase: '{' without a closing '}' "
                "in \"{i1\"",
        BAD_DIR "/bad-templates.yaml:47: metric 'sum_by_row': aggregate: tag 'phase' depends on "
                "the row; a sum is one value",
        BAD_DIR "/bad-templates.yaml:54: metric 'where_both': where: give exactly one of index "
                "(component number) or column (OID)",
        BAD_DIR "/bad-values.yaml:4: metric 'no_oid': missing oid",
        BAD_DIR "/bad-values.yaml:9: metric 'bad_oid': oid: \"1.3.x\" is not a numeric OID",
        BAD_DIR "/bad-values.yaml:15: metric 'bad_type': type: unknown type 'colum' (column or scalar)",
        BAD_DIR "/bad-values.yaml:23: metric 'bad_scale': scale: bad scale 'ten' (a non-zero number "
                "such as 10 or 0.01)",
        BAD_DIR "/bad-values.yaml:29: metric 'zero_scale': scale: bad scale '0' (a non-zero number "
                "such as 10 or 0.01)",
        BAD_DIR "/bad-values.yaml:34: metric 'bad_field': field 'active_power' is not a field of "
                "measurement 'power' (known: active_power_w, apparent_power_va, power_factor, "
                "current_a, voltage_v, energy_wh, frequency_hz, load_pct)",
        BAD_DIR "/bad-values.yaml:35: metric 'bad_oid': duplicate metric name (first at line 8)",
        BAD_DIR "/bad-values.yaml:45: metric 'bad_sentinel': sentinels: 'none' is not an integer",
        BAD_DIR "/dup-name-b.yaml:2: profile: duplicate profile name 'twin' (already loaded from "
                BAD_DIR "/dup-name-a.yaml:2)",
        BAD_DIR "/missing.yaml:2: profile: missing name",
        BAD_DIR "/missing.yaml:3: metrics: empty list",
        BAD_DIR "/syntax.yaml:6: YAML syntax error: did not find expected ',' or ']' while parsing "
                "a flow sequence",
    };
    size_t nwant = sizeof want / sizeof want[0];
    ev_diag d = {0};
    ev_profile_set *set = ev_profiles_load_dir(BAD_DIR, &d);
    assert_non_null(set);
    for (size_t i = 0; i < d.n || i < nwant; i++) {
        const char *got = i < d.n ? d.msgs[i] : "(none)";
        const char *exp = i < nwant ? want[i] : "(none)";
        if (strcmp(got, exp))
            fail_msg("diagnostic %zu:\n  got  %s\n  want %s", i, got, exp);
    }
    /* only dup-name-a.yaml is valid */
    assert_int_equal(ev_profiles_count(set), 1);
    const ev_profile *p = ev_profiles_find(set, "twin");
    assert_non_null(p);
    assert_string_equal(ev_profile_description(p), "the first of two profiles named twin (this one is kept)");
    ev_profiles_free(set);
    ev_diag_free(&d);
}

static void test_unreadable(void **state)
{
    ev_diag d = {0};
    assert_null(ev_profiles_load_dir("tests/fixtures/no-such-dir", &d));
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.msgs[0], "tests/fixtures/no-such-dir: cannot read profile directory"));

    ev_profile_set *set = ev_profiles_new();
    assert_int_equal(ev_profiles_load_file(set, "tests/fixtures/no-such-file.yaml", &d), -1);
    assert_int_equal(d.n, 2);
    assert_non_null(strstr(d.msgs[1], "tests/fixtures/no-such-file.yaml: cannot open profile"));
    assert_int_equal(ev_profiles_count(set), 0);
    ev_profiles_free(set);
    ev_diag_free(&d);
}

/* Structure errors that the fixture files do not cover. */
static void test_more_errors(void **state)
{
    static const struct {
        const char *yaml, *want;
    } cases[] = {
        {"- a\n- b\n", ":1: profile: expected a mapping of keys"},
        {"", ": empty file"},
        {"name: x\nmetrics: {a: 1}\n", ":2: metrics: expected a list of metrics"},
        {"name: x\nmetrics:\n  - name: a\n    oid: 1.3.6.1\n    type: column\n    measurement: "
         "power\n    field: current_a\n    offset: abc\n",
         ":8: metric 'a': offset: bad number 'abc'"},
        {"name: x\nmaps:\n  m: [1, 2]\nmetrics:\n  - name: a\n    oid: 1.3.6.1\n    type: column\n"
         "    measurement: power\n    field: current_a\n",
         ":3: maps.m: expected a mapping of value -> label"},
        {"name: x\nmetrics:\n  - name: a\n    oid: 1.3.6.1\n    type: column\n    measurement: "
         "power\n    field: current_a\n    decimals_from: 1.3.y\n",
         ":8: metric 'a': decimals_from: \"1.3.y\" is not a numeric OID"},
        {"name: x\nmetrics:\n  - name: a\n    oid: 1.3.6.1\n    type: column\n    measurement: "
         "power\n    field: current_a\n    aggregate: avg\n",
         ":8: metric 'a': aggregate: unknown aggregate 'avg' (only sum)"},
        {"name: x\nmetrics:\n  - name: a\n    oid: 1.3.6.1\n    type: column\n    measurement: "
         "power\n    field: current_a\n    where: [{index: 0, equals: 1}]\n",
         ":8: metric 'a': where: index: expected a component number 1..64"},
        {"name: x\nmetrics:\n  - name: a\n    oid: 1.3.6.1\n    type: column\n    measurement: "
         "power\n    field: current_a\n    where: [{index: 1}]\n",
         ":8: metric 'a': where: missing equals (a value or a list of values)"},
        {"name: x\nmetrics:\n  - name: a\n    oid: 1.3.6.1\n    type: column\n    measurement: "
         "power\n    field: current_a\n    tags: {phase: \"a}\"}\n",
         ":8: metric 'a': tags.phase: '}' without a '{' in \"a}\" (write }} for a literal brace)"},
        {"name: x\nmetrics:\n  - name: a\n    oid: 1.3.6.1\n    type: column\n    measurement: "
         "power\n    field: current_a\n    tags: {phase: \"{col:1.x}\"}\n",
         ":8: metric 'a': tags.phase: {col:1.x}: not a numeric OID"},
        {"name: x\nmetrics:\n  - name: a\n    oid: 1.3.6.1\n    type: column\n    measurement: "
         "power\n    field: current_a\n    tags: {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6}\n",
         ":8: metric 'a': tags: 6 tags, at most 5"},
        {"name: x\nmetrics:\n  - name: a\n    name: b\n    oid: 1.3.6.1\n    type: column\n"
         "    measurement: power\n    field: current_a\n",
         ":4: metric 'a': duplicate key 'name'"},
        {"name: x\nmetrics:\n  - name: a\n    oid: 1.3.6.1\n    type: column\n    measurement: Power\n"
         "    field: current_a\n",
         ":6: metric 'a': measurement 'Power' must be lower-case letters, digits and _"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *path = write_temp(cases[i].yaml);
        ev_diag d = {0};
        ev_profile_set *set = ev_profiles_new();
        assert_int_equal(ev_profiles_load_file(set, path, &d), -1);
        assert_int_equal(ev_profiles_count(set), 0);
        char want[512];
        snprintf(want, sizeof want, "%s%s", path, cases[i].want);
        bool found = false;
        for (size_t j = 0; j < d.n; j++)
            found |= !strncmp(d.msgs[j], want, strlen(want));
        if (!found) {
            ev_diag_print(&d, stderr);
            fail_msg("case %zu: no diagnostic starting \"%s\"", i, want);
        }
        unlink(path);
        free(path);
        ev_profiles_free(set);
        ev_diag_free(&d);
    }
}

/* A template-free, valid profile using every optional key. */
static void test_every_key(void **state)
{
    char *path = write_temp("# comment\n"
                            "name: every.key_profile-1\n"
                            "description: uses every key\n"
                            "maps:\n"
                            "  line: {1: L1, 2: L2, 3: L3}\n"
                            "  names: {\"Phase A\": L1, 0x10: sixteen}\n"
                            "metrics:\n"
                            "  - name: m\n"
                            "    description: all options\n"
                            "    oid: 1.3.6.1.4.1.99.1.4\n"
                            "    type: column\n"
                            "    measurement: power\n"
                            "    field: current_a\n"
                            "    scale: 1e-3\n"
                            "    offset: -0.5\n"
                            "    sentinels: -1\n"
                            "    decimals_from: 1.3.6.1.4.1.99.1.3\n"
                            "    si_scale_from: 1.3.6.1.4.1.99.1.2\n"
                            "    where:\n"
                            "      - {index: 2, equals: [1, 2]}\n"
                            "      - {column: 1.3.6.1.4.1.99.1.5, equals: ok}\n"
                            "    tags: {phase: \"{i1:line}\", label: \"{col:1.3.6.1.4.1.99.1.6:names}\","
                            " idx: \"#{index}{{x}}\"}\n"
                            "  - name: total\n"
                            "    oid: 1.3.6.1.4.1.99.1.4\n"
                            "    type: column\n"
                            "    measurement: custom_thing\n"
                            "    field: anything_goes\n"
                            "    aggregate: sum\n"
                            "    tags: {phase: total}\n");
    ev_diag d = {0};
    ev_profile_set *set = ev_profiles_new();
    int rc = ev_profiles_load_file(set, path, &d);
    ev_diag_print(&d, stderr);
    assert_int_equal(rc, 0);
    size_t n;
    const ev_fetch *f = ev_profile_fetch_list(ev_profiles_find(set, "every.key_profile-1"), &n);
    assert_non_null(f);
    assert_int_equal(n, 5); /* value, digits, scale, filter column, tag column */
    unlink(path);
    free(path);
    ev_profiles_free(set);
    ev_diag_free(&d);
}

/* ---- rowsets ----------------------------------------------------------- */

static void test_rowset_sorted_and_owned(void **state)
{
    ev_diag d = {0};
    ev_profile_set *set = ev_profiles_new();
    assert_int_equal(ev_profiles_load_file(set, "config/profiles/ups-mib.yaml", &d), 0);
    const ev_profile *p = ev_profiles_find(set, "ups-mib");
    size_t n;
    const ev_fetch *f = ev_profile_fetch_list(p, &n);
    ev_rowset *rs = ev_rowset_new(p);
    assert_non_null(rs);
    assert_int_equal(rs->ncols, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ev_oid_cmp(&rs->cols[i].oid, &f[i].oid), 0);
        assert_int_equal(rs->cols[i].scalar, f[i].scalar);
        assert_int_equal(rs->cols[i].nrows, 0);
    }

    /* out of order, with a duplicate: kept sorted, last value wins */
    ev_oid i1, i2, i3, i10;
    ev_oid_parse("1", &i1);
    ev_oid_parse("2", &i2);
    ev_oid_parse("3", &i3);
    ev_oid_parse("10", &i10);
    char text[] = "first";
    ev_value vs = {.type = EV_V_STR, .s = text};
    ev_value v7 = {.type = EV_V_INT, .i = 7}, v8 = {.type = EV_V_UINT, .u = 8};
    assert_int_equal(ev_rowset_add(rs, 0, &i3, &v7), 0);
    assert_int_equal(ev_rowset_add(rs, 0, &i10, &v7), 0);
    assert_int_equal(ev_rowset_add(rs, 0, &i1, &vs), 0);
    assert_int_equal(ev_rowset_add(rs, 0, &i2, &v7), 0);
    assert_int_equal(ev_rowset_add(rs, 0, &i2, &v8), 0);
    strcpy(text, "XXXXX"); /* the rowset copied the string */
    const ev_column *c = &rs->cols[0];
    assert_int_equal(c->nrows, 4);
    assert_int_equal(c->rows[0].index.sub[0], 1);
    assert_int_equal(c->rows[1].index.sub[0], 2);
    assert_int_equal(c->rows[2].index.sub[0], 3);
    assert_int_equal(c->rows[3].index.sub[0], 10);
    assert_string_equal(c->rows[0].v.s, "first");
    assert_int_equal(c->rows[1].v.type, EV_V_UINT);
    assert_true(c->rows[1].v.u == 8);

    assert_int_equal(ev_rowset_add(rs, n, &i1, &v7), -1); /* no such column */
    assert_int_equal(ev_rowset_add(rs, 1, NULL, &v7), 0);  /* scalar-style empty index */
    assert_int_equal(rs->cols[1].rows[0].index.len, 0);

    /* clear keeps columns and reuses memory; many strings span blocks */
    for (int round = 0; round < 3; round++) {
        ev_rowset_clear(rs);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(rs->cols[i].nrows, 0);
        char big[300];
        memset(big, 'a' + round, sizeof big - 1);
        big[sizeof big - 1] = '\0';
        for (uint32_t k = 0; k < 100; k++) {
            ev_oid idx = {.sub = {k}, .len = 1};
            ev_value v = {.type = EV_V_STR, .s = big};
            assert_int_equal(ev_rowset_add(rs, 2, &idx, &v), 0);
        }
        assert_int_equal(rs->cols[2].nrows, 100);
        assert_int_equal(rs->cols[2].rows[99].v.s[0], 'a' + round);
        assert_int_equal(rs->cols[2].rows[0].v.s[0], 'a' + round);
    }
    ev_rowset_free(rs);
    ev_rowset_free(NULL);
    ev_profiles_free(set);
    ev_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oid_parse),
        cmocka_unit_test(test_oid_length_limit),
        cmocka_unit_test(test_oid_format_truncates),
        cmocka_unit_test(test_oid_cmp_and_prefix),
        cmocka_unit_test(test_shipped_profiles_load_cleanly),
        cmocka_unit_test(test_minimal_form),
        cmocka_unit_test(test_fetch_list_dedup),
        cmocka_unit_test(test_bad_profiles),
        cmocka_unit_test(test_unreadable),
        cmocka_unit_test(test_more_errors),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_rowset_sorted_and_owned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
