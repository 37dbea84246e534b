/*
 * test_sim_modbus.c - the pure parts of the Modbus fleet simulator
 * (tests/sim/modbus_frame.c, modbus_image.c): requests built by the
 * agent's own client framing (collectors/modbus_pdu.c) are parsed, and the
 * answers parse back to the same registers and bits; bad requests get
 * the exception the Modbus spec gives them; every shipped Modbus profile's
 * image, read back through that profile, gives plausible values (230 V,
 * 50 Hz, kW in range), also in one merged 125-register read, with word
 * orders, integer scales and SunSpec scale-factor registers; energy
 * counts up at the device's power.
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

#include "agent/profile.h"
#include "collectors/modbus_pdu.h"
#include "tests/sim/modbus_frame.h"
#include "tests/sim/modbus_image.h"

/* ---- framing ---- */

static void test_read_registers_round_trip(void **state)
{
    uint8_t req[EV_MB_TCP_REQ_LEN], out[MBF_MAX_REPLY], exc = 0;
    uint16_t vals[125], back[125];
    char err[128];
    mbf_req q;
    for (unsigned i = 0; i < 125; i++)
        vals[i] = (uint16_t)(0x1234 + 977 * i);
    ev_mb_tcp_request(req, 0xBEEF, 17, 3, 2999, 125);
    assert_int_equal(mbf_parse(req, sizeof req, &q), 0);
    assert_int_equal(q.tid, 0xBEEF);
    assert_int_equal(q.unit, 17);
    assert_int_equal(q.fc, 3);
    assert_int_equal(q.addr, 2999);
    assert_int_equal(q.count, 125);
    size_t n = mbf_reply_read(out, &q, vals);
    assert_int_equal(n, 9 + 250);
    assert_int_equal(ev_mb_tcp_frame_len(out, n), (int)n);
    assert_int_equal(ev_mb_tcp_parse(out, n, 0xBEEF, 17, 3, 125, back, &exc, err, sizeof err), EV_MB_R_OK);
    assert_memory_equal(vals, back, sizeof vals);
}

static void test_read_bits_round_trip(void **state)
{
    uint8_t req[EV_MB_TCP_REQ_LEN], out[MBF_MAX_REPLY], exc = 0;
    uint16_t bits[19], back[19];
    char err[128];
    mbf_req q;
    for (unsigned i = 0; i < 19; i++)
        bits[i] = (i % 3 == 0) || i == 18;
    ev_mb_tcp_request(req, 7, 1, 2, 100, 19);
    assert_int_equal(mbf_parse(req, sizeof req, &q), 0);
    size_t n = mbf_reply_read(out, &q, bits);
    assert_int_equal(n, 9 + 3); /* 19 bits in 3 bytes */
    assert_int_equal(ev_mb_tcp_parse(out, n, 7, 1, 2, 19, back, &exc, err, sizeof err), EV_MB_R_OK);
    assert_memory_equal(bits, back, sizeof bits);
}

/* The exception a request built by hand gets, and that it parses as one. */
static uint8_t exception_for(uint8_t fc, uint16_t addr, uint16_t count, size_t extra)
{
    uint8_t req[EV_MB_TCP_REQ_LEN + 4] = {0}, out[MBF_MAX_REPLY], exc = 0;
    uint16_t none[1];
    char err[128];
    mbf_req q;
    ev_mb_tcp_request(req, 42, 1, fc, addr, count);
    req[5] = (uint8_t)(6 + extra); /* MBAP length: a longer PDU when extra > 0 */
    uint8_t code = mbf_parse(req, EV_MB_TCP_REQ_LEN + extra, &q);
    if (!code)
        return 0;
    size_t n = mbf_reply_exception(out, &q, code);
    assert_int_equal(n, 9);
    assert_int_equal(ev_mb_tcp_parse(out, n, 42, 1, fc, count, none, &exc, err, sizeof err), EV_MB_R_EXCEPTION);
    assert_int_equal(exc, code);
    return code;
}

static void test_bad_requests(void **state)
{
    assert_int_equal(exception_for(5, 0, 1, 0), 1);       /* write single coil: not served */
    assert_int_equal(exception_for(16, 0, 1, 0), 1);
    assert_int_equal(exception_for(3, 0, 0, 0), 3);       /* no registers */
    assert_int_equal(exception_for(3, 0, 126, 0), 3);     /* more than 125 */
    assert_int_equal(exception_for(4, 0, 125, 0), 0);
    assert_int_equal(exception_for(1, 0, 2000, 0), 0);
    assert_int_equal(exception_for(1, 0, 2001, 0), 3);    /* more than 2000 bits */
    assert_int_equal(exception_for(3, 65500, 36, 0), 0);  /* up to 65535 */
    assert_int_equal(exception_for(3, 65500, 37, 0), 2);  /* past it */
    assert_int_equal(exception_for(3, 0, 1, 2), 3);       /* a read PDU of the wrong length */
}

/* ---- images, read back through the profile ---- */

typedef struct {
    const char *metric;
    double v;
    bool valid;
} seen;

typedef struct {
    seen s[64];
    size_t n;
} traced;

static void on_trace(void *ud, const ev_trace *t)
{
    traced *tr = ud;
    if (tr->n < 64)
        tr->s[tr->n++] = (seen){t->metric, t->scaled, t->valid};
}

static const ev_profile *load(ev_profile_set *set, const char *name)
{
    char path[512];
    ev_diag d = {0};
    snprintf(path, sizeof path, "config/profiles/%s.yaml", name);
    assert_int_equal(ev_profiles_load_file(set, path, &d), 0);
    ev_diag_free(&d);
    const ev_profile *p = ev_profiles_find(set, name);
    assert_non_null(p);
    return p;
}

/* Device dev at t as the agent would read it: one request per function
 * code over the whole range the profile names (at most 125 registers),
 * decoded and evaluated with the profile. */
static void read_back(const ev_profile *p, const mbi_image *img, unsigned dev, double t, traced *tr)
{
    size_t n;
    const ev_mb_read *reads = ev_profile_modbus_reads(p, &n);
    uint16_t lo[5], hi[5], words[5][2000];
    memset(lo, 0xff, sizeof lo);
    memset(hi, 0, sizeof hi);
    for (size_t i = 0; i < n; i++) {
        uint8_t fc = reads[i].fc;
        lo[fc] = reads[i].addr < lo[fc] ? reads[i].addr : lo[fc];
        unsigned end = reads[i].addr + ev_mb_type_words(reads[i].type) - 1;
        hi[fc] = end > hi[fc] ? (uint16_t)end : hi[fc];
    }
    for (uint8_t fc = 1; fc <= 4; fc++)
        if (hi[fc] >= lo[fc] && lo[fc] != 0xffff) {
            assert_true(hi[fc] - lo[fc] < 2000);
            mbi_fill(img, dev, t, fc, lo[fc], (uint16_t)(hi[fc] - lo[fc] + 1), words[fc]);
        }
    ev_rowset *rs = ev_rowset_new(p);
    static const ev_oid no_index = {.len = 0};
    for (size_t i = 0; i < n; i++) {
        ev_mb_value mv;
        ev_value v = {0};
        ev_mb_decode(&reads[i], words[reads[i].fc] + (reads[i].addr - lo[reads[i].fc]), &mv);
        v.type = mv.kind == EV_MB_V_INT ? EV_V_INT : mv.kind == EV_MB_V_FLOAT ? EV_V_FLOAT : EV_V_UINT;
        v.i = mv.i, v.u = mv.u, v.d = mv.d, v.bits = mv.bits, v.nbits = mv.nbits;
        assert_int_equal(ev_rowset_add(rs, i, &no_index, &v), 0);
    }
    ev_batch *b = ev_batch_new();
    tr->n = 0;
    ev_profile_eval(p, rs, &(ev_tagset){.n = 0}, 0, b, on_trace, tr);
    ev_batch_free(b);
    ev_rowset_free(rs);
}

static double value_of(const traced *tr, const char *metric)
{
    for (size_t i = 0; i < tr->n; i++)
        if (!strcmp(tr->s[i].metric, metric)) {
            assert_true(tr->s[i].valid);
            return tr->s[i].v;
        }
    fail_msg("no value for %s", metric);
    return NAN;
}

#define assert_between(v, lo, hi)                                                                              \
    do {                                                                                                       \
        double v_ = (v);                                                                                       \
        if (!(v_ >= (lo) && v_ <= (hi)))                                                                       \
            fail_msg("%s = %g, not within %g..%g", #v, v_, (double)(lo), (double)(hi));                        \
    } while (0)

static void test_schneider_merged_read(void **state)
{
    ev_profile_set *set = ev_profiles_new();
    const ev_profile *p = load(set, "schneider-pm5xxx");
    mbi_image img;
    char err[128];
    assert_int_equal(mbi_image_build(&img, p, err, sizeof err), 0);
    traced tr;
    for (unsigned dev = 0; dev < 50; dev += 7) {
        read_back(p, &img, dev, 10.0 * dev, &tr);
        for (size_t i = 0; i < tr.n; i++)
            assert_true(tr.s[i].valid); /* every configured register answers */
        assert_between(value_of(&tr, "voltage_an"), 228, 232);
        assert_between(value_of(&tr, "voltage_ab"), 397, 403);
        assert_between(value_of(&tr, "frequency"), 49.8, 50.2);
        assert_between(value_of(&tr, "current_a"), 32 * 0.5, 32 * 1.0);
        double p1 = value_of(&tr, "power_a"), s1 = value_of(&tr, "apparent_a");
        assert_between(p1, 7000 * 0.5, 7000 * 1.0); /* kW on the wire, W after the scale */
        assert_between(p1 / s1, 0.9, 1.0);          /* apparent moves with active power */
        assert_between(value_of(&tr, "power_total"), 21000 * 0.5, 21000 * 1.0);
    }
    /* the energy counter (int64 Wh) counts at the device's power */
    read_back(p, &img, 3, 0, &tr);
    double e0 = value_of(&tr, "energy_delivered"), w = value_of(&tr, "power_total");
    read_back(p, &img, 3, 3600, &tr);
    double e1 = value_of(&tr, "energy_delivered");
    assert_between(e1 - e0, w * 0.9, w * 1.1);
    mbi_image_free(&img);
    ev_profiles_free(set);
}

/* A request that starts inside a float32 gets that value's second word. */
static void test_straddling_request(void **state)
{
    ev_profile_set *set = ev_profiles_new();
    const ev_profile *p = load(set, "schneider-pm5xxx");
    mbi_image img;
    char err[128];
    uint16_t whole[2], tail[3];
    assert_int_equal(mbi_image_build(&img, p, err, sizeof err), 0);
    mbi_fill(&img, 5, 1.0, 3, 3027, 2, whole);
    mbi_fill(&img, 5, 1.0, 3, 3028, 3, tail);
    assert_int_equal(tail[0], whole[1]);
    assert_int_not_equal(whole[0], 0);
    mbi_fill(&img, 5, 1.0, 4, 3027, 2, whole); /* input registers: not in this profile */
    assert_int_equal(whole[0] | whole[1], 0);
    mbi_image_free(&img);
    ev_profiles_free(set);
}

/* Word orders, integer scales and scale-factor registers of the others. */
static void test_other_profiles(void **state)
{
    static const struct {
        const char *profile, *metric;
        double lo, hi;
    } want[] = {
        {"carlo-gavazzi-em24", "v_l1n", 228, 232},          /* INT32 CDAB x0.1, FC4 */
        {"carlo-gavazzi-em24", "w_sys", 21000 * 0.5, 21000},
        {"carlo-gavazzi-em24", "hz", 49.8, 50.2},          /* int16 x0.1 */
        {"socomec-countis-e3x", "u12", 397, 403},          /* uint32 x0.01 */
        {"socomec-countis-e3x", "p_sum", 21000 * 0.5, 21000},
        {"sunspec-meter-203", "PhVphA", 228, 232},         /* int16 with its _SF register */
        {"sunspec-meter-203", "W", 21000 * 0.5, 21000},
        {"sunspec-meter-203", "TotWhImp", 4e6, 2e7},       /* uint32 with its _SF */
        {"janitza-umg96rm", "voltage_l1l2", 397, 403},
        {"janitza-umg96rm", "pf_l1", 0.94, 0.96},
        {"vertiv-liebert-dcd", "water_supply", 14.9, 15.1}, /* float32 CDAB, FC4 */
        {"liebert-icom-crah", "return_humidity", 44.8, 45.2},
    };
    ev_profile_set *set = ev_profiles_new();
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const ev_profile *p = ev_profiles_find(set, want[i].profile);
        if (!p)
            p = load(set, want[i].profile);
        mbi_image img;
        char err[128];
        traced tr;
        assert_int_equal(mbi_image_build(&img, p, err, sizeof err), 0);
        read_back(p, &img, 11, 20.0, &tr);
        for (size_t k = 0; k < tr.n; k++)
            if (!tr.s[k].valid)
                fail_msg("%s: %s has no valid value", want[i].profile, tr.s[k].metric);
        double v = value_of(&tr, want[i].metric);
        if (!(v >= want[i].lo && v <= want[i].hi))
            fail_msg("%s %s = %g, not within %g..%g", want[i].profile, want[i].metric, v, want[i].lo, want[i].hi);
        mbi_image_free(&img);
    }
    ev_profiles_free(set);
}

static void test_snmp_profile_refused(void **state)
{
    ev_profile_set *set = ev_profiles_new();
    mbi_image img;
    char err[128];
    assert_int_equal(mbi_image_build(&img, load(set, "apc-rpdu2"), err, sizeof err), -1);
    assert_string_equal(err, "profile apc-rpdu2 has no Modbus registers");
    ev_profiles_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_registers_round_trip),
        cmocka_unit_test(test_read_bits_round_trip),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_schneider_merged_read),
        cmocka_unit_test(test_straddling_request),
        cmocka_unit_test(test_other_profiles),
        cmocka_unit_test(test_snmp_profile_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
