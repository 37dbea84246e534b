/*
 * test_modbus_profile.c - the Modbus side of profiles and config: the
 * shipped Modbus profiles load, every bad key or value is reported as
 * FILE:LINE naming the metric, the evaluator applies scale, SunSpec
 * scale-factor registers, sentinels on the register image and NaN, and
 * the config's modbus: sections are read and checked.
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

#include "agent/config.h"
#include "agent/profile.h"

#define BAD_DIR "tests/fixtures/profiles-bad-modbus"

static const char *const modbus_profiles[] = {
    "schneider-pm5xxx", "janitza-umg96rm", "carlo-gavazzi-em24", "socomec-countis-e3x",
    "sunspec-meter-203", "vertiv-liebert-dcd", "liebert-icom-crah",
};

static void test_shipped_profiles_load(void **state)
{
    ev_diag d = {0};
    ev_profile_set *set = ev_profiles_load_dir("config/profiles", &d);
    assert_non_null(set);
    for (size_t i = 0; i < d.n; i++)
        print_message("%s\n", d.msgs[i]);
    assert_int_equal(d.n, 0);
    for (size_t i = 0; i < sizeof modbus_profiles / sizeof *modbus_profiles; i++) {
        const ev_profile *p = ev_profiles_find(set, modbus_profiles[i]);
        assert_non_null(p);
        assert_int_equal(ev_profile_protocol(p), EV_PROTO_MODBUS);
        size_t n;
        assert_non_null(ev_profile_modbus_reads(p, &n));
        assert_true(n > 0);
    }
    assert_int_equal(ev_profile_protocol(ev_profiles_find(set, "apc-rpdu2")), EV_PROTO_SNMP);
    ev_profiles_free(set);
    ev_diag_free(&d);
}

static bool has(const ev_diag *d, const char *want)
{
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->msgs[i], want))
            return true;
    return false;
}

static void test_bad_profiles(void **state)
{
    static const char *const want[] = {
        BAD_DIR "/bad-modbus.yaml:5: metric 'no_register': missing register (the 0-based protocol address)",
        BAD_DIR "/bad-modbus.yaml:6: metric 'bad_type': type: unknown type 'float16' (int16, uint16, int32, "
                "uint32, int64, uint64, float32, float64 or bool)",
        BAD_DIR "/bad-modbus.yaml:7: metric 'bad_order': order: unknown order 'ADCB' (ABCD, CDAB, BADC or DCBA)",
        BAD_DIR "/bad-modbus.yaml:8: metric 'bool_holding': type bool does not go with function 3 (registers "
                "are not bool)",
        BAD_DIR "/bad-modbus.yaml:9: metric 'bits_float': bit fields need an unsigned integer type (uint16, "
                "uint32, uint64)",
        BAD_DIR "/bad-modbus.yaml:10: metric 'past_end': register: float32 at 65535 runs past register 65535",
        BAD_DIR "/bad-modbus.yaml:11: metric 'bad_function': function: '5' is not an integer 1..4",
        BAD_DIR "/bad-modbus.yaml:12: metric 'col_tag': tags.phase: {col:1.2.3} reads an SNMP column; a "
                "Modbus tag is literal text",
        BAD_DIR "/bad-modbus.yaml:13: metric 'sf_coil': scale_factor_register: needs a register function (3 or 4)",
        BAD_DIR "/bad-modbus.yaml:14: metric 'oid_key': unknown key 'oid' (expected one of: name, description, "
                "function, register, type, order, bit, width, measurement, field, scale, offset, sentinels, "
                "scale_factor_register, tags)",
        BAD_DIR "/no-function.yaml:4: metric 'v': missing function (1 coils, 2 discrete inputs, 3 holding, 4 "
                "input registers; or defaults.function)",
        BAD_DIR "/defaults-snmp.yaml:2: profile: defaults: only for Modbus profiles (protocol: modbus)",
    };
    ev_diag d = {0};
    ev_profile_set *set = ev_profiles_load_dir(BAD_DIR, &d);
    assert_non_null(set);
    bool ok = true;
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!has(&d, want[i])) {
            print_message("missing: %s\n", want[i]);
            ok = false;
        }
    if (!ok)
        for (size_t i = 0; i < d.n; i++)
            print_message("got: %s\n", d.msgs[i]);
    assert_true(ok);
    assert_int_equal(ev_profiles_count(set), 0);
    ev_profiles_free(set);
    ev_diag_free(&d);
}

/* ---- evaluation ---- */

typedef struct {
    ev_profile_set *set;
    const ev_profile *p;
    ev_rowset *rs;
    ev_batch *b;
} fx;

static fx *load(const char *name)
{
    fx *f = calloc(1, sizeof *f);
    ev_diag d = {0};
    f->set = ev_profiles_load_dir("config/profiles", &d);
    ev_diag_free(&d);
    f->p = ev_profiles_find(f->set, name);
    f->rs = ev_rowset_new(f->p);
    f->b = ev_batch_new();
    return f;
}

static void unload(fx *f)
{
    ev_rowset_free(f->rs);
    ev_batch_free(f->b);
    ev_profiles_free(f->set);
    free(f);
}

/* Put the value at addr (as the profile reads it) from words. */
static void put(fx *f, uint16_t addr, const uint16_t *words)
{
    size_t n;
    const ev_mb_read *reads = ev_profile_modbus_reads(f->p, &n);
    static const ev_oid none = {.len = 0};
    for (size_t i = 0; i < n; i++) {
        if (reads[i].addr != addr)
            continue;
        ev_mb_value mv;
        ev_value v = {0};
        ev_mb_decode(&reads[i], words, &mv);
        v.type = mv.kind == EV_MB_V_INT ? EV_V_INT : mv.kind == EV_MB_V_UINT ? EV_V_UINT : EV_V_FLOAT;
        v.i = mv.i;
        v.u = mv.u;
        v.d = mv.d;
        v.bits = mv.bits;
        v.nbits = mv.nbits;
        ev_rowset_add(f->rs, i, &none, &v);
    }
}

static const ev_field *field(fx *f, const char *phase, const char *name)
{
    for (size_t i = 0; i < f->b->n; i++) {
        const char *ph = ev_point_get_tag(&f->b->pts[i], "phase");
        if (phase && (!ph || strcmp(ph, phase)))
            continue;
        const ev_field *x = ev_point_get_field(&f->b->pts[i], name);
        if (x)
            return x;
    }
    return NULL;
}

static void test_sunspec_scale_factors(void **state)
{
    fx *f = load("sunspec-meter-203");
    uint16_t a = 123, a_sf = (uint16_t)-1, w = 4567, w_sf = 1, wh[2] = {0x0001, 0x0000}, wh_sf = 3;
    uint16_t v = 0x8000 /* not implemented */, v_sf = (uint16_t)-1, pf = 95, pf_sf = 0;
    put(f, 40072, &a);
    put(f, 40075, &a_sf);
    put(f, 40087, &w);
    put(f, 40091, &w_sf);
    put(f, 40115, wh);
    put(f, 40123, &wh_sf);
    put(f, 40077, &v);
    put(f, 40084, &v_sf);
    put(f, 40102, &pf);
    put(f, 40106, &pf_sf);
    ev_profile_eval(f->p, f->rs, NULL, 1, f->b, NULL, NULL);
    assert_non_null(field(f, "L1", "current_a"));
    assert_true(field(f, "L1", "current_a")->v.f == 12.3);
    assert_true(field(f, "total", "active_power_w")->v.f == 45670);
    assert_true(field(f, "total", "energy_wh")->v.f == 65536000.0);
    assert_true(field(f, "total", "power_factor")->v.f == 0.95);
    assert_null(field(f, "L1", "voltage_v")); /* 0x8000: no value */
    assert_null(field(f, "L2", "current_a")); /* no register answered */
    unload(f);
}

static void test_sunspec_sf_not_implemented(void **state)
{
    fx *f = load("sunspec-meter-203");
    uint16_t a = 123, a_sf = 0x8000;
    put(f, 40072, &a);
    put(f, 40075, &a_sf);
    ev_profile_eval(f->p, f->rs, NULL, 1, f->b, NULL, NULL);
    assert_null(field(f, "L1", "current_a"));
    unload(f);
}

static void test_dcd_absent_values(void **state)
{
    fx *f = load("vertiv-liebert-dcd");
    uint16_t t[2] = {0x0000, 0x41CC}; /* 25.5 word-swapped */
    uint16_t absent[2] = {0xFFFF, 0xFFFF}, fan = 0xFFFF, fan2 = 840;
    put(f, 82, t);
    put(f, 102, absent);
    put(f, 146, &fan);
    put(f, 150, &fan2);
    ev_profile_eval(f->p, f->rs, NULL, 1, f->b, NULL, NULL);
    assert_true(field(f, NULL, "supply_air_temperature_c")->v.f == 25.5);
    assert_null(field(f, NULL, "return_air_temperature_c"));
    /* fan 1 reads 0xFFFF (absent), fan 2 840 rpm */
    size_t fans = 0;
    for (size_t i = 0; i < f->b->n; i++)
        if (ev_point_get_field(&f->b->pts[i], "fan_speed_rpm")) {
            assert_string_equal(ev_point_get_tag(&f->b->pts[i], "fan"), "2");
            assert_true(ev_point_get_field(&f->b->pts[i], "fan_speed_rpm")->v.f == 840);
            fans++;
        }
    assert_int_equal(fans, 1);
    assert_string_equal(f->b->pts[0].measurement, "cooling");
    unload(f);
}

static void test_em24_low_word_first(void **state)
{
    fx *f = load("carlo-gavazzi-em24");
    uint16_t w[2] = {0xFB2E, 0xFFFF}; /* -1234 -> -123.4 W */
    uint16_t kwh[2] = {0x86A0, 0x0001}; /* 100000 x 0.1 kWh = 10000 kWh */
    put(f, 0x0012, w);
    put(f, 0x0034, kwh);
    ev_profile_eval(f->p, f->rs, NULL, 1, f->b, NULL, NULL);
    assert_true(field(f, "L1", "active_power_w")->v.f == -123.4);
    assert_true(field(f, "total", "energy_wh")->v.f == 10000000);
    unload(f);
}

/* ---- config ---- */

static ev_config *load_cfg(const char *yaml, ev_diag *d)
{
    char path[] = "/tmp/evmon-mbcfg-XXXXXX";
    int fd = mkstemp(path);
    FILE *fp = fdopen(fd, "w");
    fprintf(fp, "agent: {id: a, site: s, hall: h, profiles_dir: %s/config/profiles}\n%s", getenv("PWD"), yaml);
    fclose(fp);
    ev_config *c = ev_config_load(path, d);
    remove(path);
    return c;
}

static void test_config_good(void **state)
{
    ev_diag d = {0};
    ev_config *c = load_cfg("modbus: {timeout: 500ms, max_gap: 4}\n"
                            "devices:\n"
                            "  - {name: m1, profile: janitza-umg96rm, address: 10.0.0.5, role: facility}\n"
                            "  - {name: m2, profile: carlo-gavazzi-em24, role: facility,\n"
                            "     modbus: {transport: rtu, serial: /dev/ttyUSB0, unit_id: 7, baud: 19200, parity: none}}\n"
                            "  - {name: gw, profile: sunspec-meter-203, address: \"10.0.0.6:1502\", modbus: {unit_id: 3}}\n",
                            &d);
    for (size_t i = 0; i < d.n; i++)
        print_message("%s\n", d.msgs[i]);
    assert_non_null(c);
    assert_int_equal(c->devices[0].modbus.transport, EV_MB_TCP);
    assert_int_equal(c->devices[0].modbus.timeout_ms, 500);
    assert_int_equal(c->devices[0].modbus.max_gap, 4);
    assert_int_equal(c->devices[0].modbus.unit_id, 1);
    assert_int_equal(c->devices[1].modbus.transport, EV_MB_RTU);
    assert_string_equal(c->devices[1].modbus.serial, "/dev/ttyUSB0");
    assert_string_equal(c->devices[1].address, "/dev/ttyUSB0");
    assert_int_equal(c->devices[1].modbus.unit_id, 7);
    assert_int_equal(c->devices[1].modbus.baud, 19200);
    assert_int_equal(c->devices[1].modbus.parity, 'N');
    assert_int_equal(c->devices[1].modbus.parity, 'N');
    assert_int_equal(c->devices[2].modbus.unit_id, 3);
    ev_config_free(c);
    ev_diag_free(&d);
}

static void test_config_bad(void **state)
{
    ev_diag d = {0};
    ev_config *c = load_cfg("modbus: {transport: udp, parity: mark, baud: 1234}\n"
                            "devices:\n"
                            "  - {name: m1, profile: janitza-umg96rm}\n"
                            "  - {name: m2, profile: carlo-gavazzi-em24, modbus: {transport: rtu}}\n"
                            "  - {name: p1, profile: apc-rpdu2, address: 10.0.0.9, modbus: {unit_id: 2}}\n"
                            "  - {name: m3, profile: carlo-gavazzi-em24, address: 10.0.0.1,\n"
                            "     modbus: {transport: rtu, serial: ttyUSB0}}\n",
                            &d);
    assert_null(c);
    static const char *const want[] = {
        "modbus.transport: bad transport 'udp' (expected tcp or rtu)",
        "modbus.parity: bad parity 'mark' (expected none, even or odd)",
        "modbus.baud: bad baud rate '1234'",
        "device 'm1': missing required field 'address' (host[:port] of the Modbus TCP device)",
        "device 'm2': modbus: transport rtu needs serial (e.g. serial: /dev/ttyUSB0)",
        "device 'p1': modbus: profile 'apc-rpdu2' is an SNMP profile (modbus: is for Modbus profiles)",
        "device 'm3': modbus.serial: 'ttyUSB0' is not a device path (e.g. /dev/ttyUSB0)",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        bool found = false;
        for (size_t j = 0; j < d.n && !found; j++)
            found = strstr(d.msgs[j], want[i]) != NULL;
        if (!found) {
            for (size_t j = 0; j < d.n; j++)
                print_message("got: %s\n", d.msgs[j]);
            fail_msg("missing: %s", want[i]);
        }
    }
    ev_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_profiles_load), cmocka_unit_test(test_bad_profiles),
        cmocka_unit_test(test_sunspec_scale_factors), cmocka_unit_test(test_sunspec_sf_not_implemented),
        cmocka_unit_test(test_dcd_absent_values),     cmocka_unit_test(test_em24_low_word_first),
        cmocka_unit_test(test_config_good),           cmocka_unit_test(test_config_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
