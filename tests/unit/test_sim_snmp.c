/*
 * test_sim_snmp.c - the SNMP fleet simulator's BER and walk store
 * (tests/sim/snmp_ber.c, snmp_mib.c), checked against Net-SNMP itself:
 * requests built by Net-SNMP's encoder decode to what was asked;
 * responses we encode parse with Net-SNMP's parser to the values we put
 * in (every type, signs and edges); truncated and malformed datagrams
 * are refused without reading past them; the snmprec reader reports
 * FILE:LINE; lookups and moving values (drift, counters, wraps). And
 * what both fleet simulators share (tests/sim/fleet.c): device addresses,
 * the spread of fault shares, the options every fleet takes.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "collectors/snmp_int.h"
#include "tests/sim/fleet.h"
#include "tests/sim/snmp_ber.h"
#include "tests/sim/snmp_mib.h"

/* A request as Net-SNMP's own client encodes it. Returns the datagram
 * (inside *buf, to free) and its length. */
static const u_char *netsnmp_request(int cmd, long version, const char *community, const char *const *oids,
                                     size_t n, long nonrep, long maxrep, u_char **buf, size_t *len)
{
    netsnmp_session s;
    ev_snmp_lib_init();
    snmp_sess_init(&s);
    s.version = version;
    s.community = (u_char *)community;
    s.community_len = strlen(community);
    netsnmp_pdu *pdu = snmp_pdu_create(cmd);
    assert_non_null(pdu);
    pdu->version = version; /* what snmp_sess_async_send fills in before it builds */
    pdu->community = (u_char *)strdup(community);
    pdu->community_len = strlen(community);
    pdu->reqid = 0x1234567;
    if (cmd == SNMP_MSG_GETBULK) {
        pdu->errstat = nonrep;
        pdu->errindex = maxrep;
    }
    for (size_t i = 0; i < n; i++) {
        oid name[MAX_OID_LEN];
        size_t nl = MAX_OID_LEN;
        assert_non_null(read_objid(oids[i], name, &nl));
        snmp_add_null_var(pdu, name, nl);
    }
    size_t cap = 4096, off = 0;
    *buf = malloc(cap);
    assert_int_equal(snmp_build(buf, &cap, &off, &s, pdu), 0);
    snmp_free_pdu(pdu);
    *len = off;
    /* as snmp_sess_async_send: reverse encoding ends the packet at the buffer's end */
    if (netsnmp_ds_get_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_REVERSE_ENCODE))
        return *buf + cap - off;
    return *buf;
}

static void test_decode_netsnmp_getbulk(void **state)
{
    (void)state;
    const char *oids[] = {".1.3.6.1.2.1.1.3.0", ".1.3.6.1.4.1.318.1.1.26.4.3.1.5",
                          ".1.3.6.1.4.1.318.1.1.26.6.3.1.5"};
    u_char *buf;
    size_t len;
    const u_char *pkt = netsnmp_request(SNMP_MSG_GETBULK, SNMP_VERSION_2c, "fleet", oids, 3, 1, 25, &buf, &len);
    static sim_request q;
    const char *why = NULL;
    assert_int_equal(sim_ber_decode(pkt, len, &q, &why), 0);
    assert_int_equal(q.version, 1);
    assert_int_equal(q.community_len, 5);
    assert_memory_equal(q.community, "fleet", 5);
    assert_int_equal(q.pdu, SIM_PDU_GETBULK);
    assert_int_equal(q.request_id, 0x1234567);
    assert_int_equal(q.non_repeaters, 1);
    assert_int_equal(q.max_repetitions, 25);
    assert_int_equal(q.nvb, 3);
    sim_oid want;
    assert_int_equal(sim_oid_parse("1.3.6.1.4.1.318.1.1.26.6.3.1.5", &want), 0);
    assert_int_equal(sim_oid_cmp(&q.vb[2], &want), 0);
    free(buf);
}

static void test_decode_netsnmp_get_v1(void **state)
{
    (void)state;
    const char *oids[] = {".1.3.6.1.2.1.1.1.0", ".1.3.6.1.4.1.4294967295.200.1"};
    u_char *buf;
    size_t len;
    const u_char *pkt = netsnmp_request(SNMP_MSG_GET, SNMP_VERSION_1, "public", oids, 2, 0, 0, &buf, &len);
    static sim_request q;
    assert_int_equal(sim_ber_decode(pkt, len, &q, NULL), 0);
    assert_int_equal(q.version, 0);
    assert_int_equal(q.pdu, SIM_PDU_GET);
    assert_int_equal(q.nvb, 2);
    assert_int_equal(q.vb[1].len, 9);
    assert_int_equal(q.vb[1].sub[6], 4294967295u); /* a 5-byte sub-identifier */
    assert_int_equal(q.vb[1].sub[7], 200);

    /* every truncation is refused, never read past (ASan watches) */
    for (size_t n = 0; n < len; n++) {
        u_char *cut = malloc(n ? n : 1);
        memcpy(cut, pkt, n);
        assert_int_equal(sim_ber_decode(cut, n, &q, NULL), -1);
        free(cut);
    }
    free(buf);
}

static void test_decode_rejects_malformed(void **state)
{
    (void)state;
    static sim_request q;
    const char *why = NULL;
    /* SNMPv3 (version 3) is not ours */
    static const uint8_t v3[] = {0x30, 0x0b, 0x02, 0x01, 0x03, 0x04, 0x01, 'p', 0xa0, 0x03, 0x02, 0x01, 0x01};
    assert_int_equal(sim_ber_decode(v3, sizeof v3, &q, &why), -1);
    assert_string_equal(why, "not SNMPv1/v2c");
    /* indefinite length */
    static const uint8_t indef[] = {0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00};
    assert_int_equal(sim_ber_decode(indef, sizeof indef, &q, &why), -1);
    /* an OID whose last byte continues */
    static const uint8_t badoid[] = {0x30, 0x19, 0x02, 0x01, 0x01, 0x04, 0x01, 'p', 0xa0, 0x11, 0x02, 0x01,
                                     0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x06, 0x30, 0x04,
                                     0x06, 0x02, 0x2b, 0x86};
    assert_int_equal(sim_ber_decode(badoid, sizeof badoid, &q, &why), -1);
    assert_string_equal(why, "bad OID");
    /* a length beyond the datagram */
    static const uint8_t longer[] = {0x30, 0x7f, 0x02, 0x01, 0x01};
    assert_int_equal(sim_ber_decode(longer, sizeof longer, &q, &why), -1);
}

/* Build a response with our encoder, parse it with Net-SNMP's. */
static netsnmp_pdu *netsnmp_parse(const uint8_t *pkt, size_t len, long *version, char *community)
{
    u_char comm[256];
    size_t clen = sizeof comm - 1, left = len;
    u_char *p = snmp_comstr_parse((u_char *)pkt, &left, comm, &clen, version);
    assert_non_null(p);
    comm[clen] = 0;
    strcpy(community, (char *)comm);
    netsnmp_pdu *pdu = snmp_pdu_create(0);
    assert_int_equal(snmp_pdu_parse(pdu, p, &left), 0);
    return pdu;
}

static void test_encode_every_type(void **state)
{
    (void)state;
    static sim_request q;
    static uint8_t buf[SIM_RESP_HEADROOM + 1472];
    q = (sim_request){.version = 1, .community = (const uint8_t *)"public", .community_len = 6,
                      .pdu = SIM_PDU_GET, .request_id = -5};
    sim_oid name, oidval;
    sim_oid_parse("1.3.6.1.4.1.318.1.1.26.4.3.1.5.1", &name);
    sim_oid_parse("1.3.6.1.4.1.318.1.3.4.6", &oidval);
    static const uint8_t ip[4] = {127, 2, 0, 1};
    const int64_t ints[] = {0, -1, 127, 128, -128, -129, 255, 256, 2147483647, -2147483647 - 1, -410};
    const size_t nints = sizeof ints / sizeof ints[0];
    sim_resp r;
    sim_resp_begin(&r, buf, 1472, &q);
    for (size_t i = 0; i < nints; i++)
        assert_int_equal(sim_resp_add(&r, &name, &(sim_value){.tag = SIM_T_INTEGER, .i = ints[i]}), 0);
    assert_int_equal(sim_resp_add(&r, &name, &(sim_value){.tag = SIM_T_COUNTER32, .u = 0xffffffffu}), 0);
    assert_int_equal(sim_resp_add(&r, &name, &(sim_value){.tag = SIM_T_GAUGE32, .u = 0x80}), 0);
    assert_int_equal(sim_resp_add(&r, &name, &(sim_value){.tag = SIM_T_TIMETICKS, .u = 0}), 0);
    assert_int_equal(sim_resp_add(&r, &name, &(sim_value){.tag = SIM_T_COUNTER64, .u = 0x8000000000000001ull}), 0);
    assert_int_equal(sim_resp_add(&r, &name, &(sim_value){.tag = SIM_T_OCTETS, .s = (const uint8_t *)"AP8853",
                                                          .slen = 6}), 0);
    assert_int_equal(sim_resp_add(&r, &name, &(sim_value){.tag = SIM_T_OCTETS, .slen = 0}), 0);
    assert_int_equal(sim_resp_add(&r, &name, &(sim_value){.tag = SIM_T_OID, .oid = &oidval}), 0);
    assert_int_equal(sim_resp_add(&r, &name, &(sim_value){.tag = SIM_T_IPADDR, .s = ip, .slen = 4}), 0);
    assert_int_equal(sim_resp_add(&r, &name, &(sim_value){.tag = SIM_T_NOSUCHINSTANCE}), 0);
    assert_int_equal(sim_resp_add(&r, &name, &(sim_value){.tag = SIM_T_ENDOFMIBVIEW}), 0);
    const uint8_t *pkt;
    size_t len = sim_resp_finish(&r, &q, 0, 0, &pkt);

    long version;
    char comm[256];
    netsnmp_pdu *pdu = netsnmp_parse(pkt, len, &version, comm);
    assert_int_equal(version, SNMP_VERSION_2c);
    assert_string_equal(comm, "public");
    assert_int_equal(pdu->command, SNMP_MSG_RESPONSE);
    assert_int_equal(pdu->reqid, -5);
    assert_int_equal(pdu->errstat, 0);
    netsnmp_variable_list *vb = pdu->variables;
    for (size_t i = 0; i < nints; i++, vb = vb->next_variable) {
        assert_int_equal(vb->type, ASN_INTEGER);
        assert_int_equal(*vb->val.integer, ints[i]);
        assert_int_equal(vb->name_length, name.len);
        assert_int_equal(vb->name[name.len - 1], 1);
    }
    assert_int_equal(vb->type, ASN_COUNTER);
    assert_int_equal((unsigned long)*vb->val.integer, 0xffffffffu);
    vb = vb->next_variable;
    assert_int_equal(vb->type, ASN_GAUGE);
    assert_int_equal(*vb->val.integer, 0x80);
    vb = vb->next_variable;
    assert_int_equal(vb->type, ASN_TIMETICKS);
    assert_int_equal(*vb->val.integer, 0);
    vb = vb->next_variable;
    assert_int_equal(vb->type, ASN_COUNTER64);
    assert_int_equal(vb->val.counter64->high, 0x80000000u);
    assert_int_equal(vb->val.counter64->low, 1);
    vb = vb->next_variable;
    assert_int_equal(vb->type, ASN_OCTET_STR);
    assert_int_equal(vb->val_len, 6);
    assert_memory_equal(vb->val.string, "AP8853", 6);
    vb = vb->next_variable;
    assert_int_equal(vb->type, ASN_OCTET_STR);
    assert_int_equal(vb->val_len, 0);
    vb = vb->next_variable;
    assert_int_equal(vb->type, ASN_OBJECT_ID);
    assert_int_equal(vb->val_len / sizeof(oid), oidval.len);
    assert_int_equal(vb->val.objid[oidval.len - 1], 6);
    vb = vb->next_variable;
    assert_int_equal(vb->type, ASN_IPADDRESS);
    assert_memory_equal(vb->val.string, ip, 4);
    vb = vb->next_variable;
    assert_int_equal(vb->type, SNMP_NOSUCHINSTANCE);
    vb = vb->next_variable;
    assert_int_equal(vb->type, SNMP_ENDOFMIBVIEW);
    assert_null(vb->next_variable);
    snmp_free_pdu(pdu);
}

static void test_encode_respects_size_and_errors(void **state)
{
    (void)state;
    static sim_request q;
    static uint8_t buf[SIM_RESP_HEADROOM + 484];
    q = (sim_request){.version = 0, .community = (const uint8_t *)"c", .community_len = 1, .request_id = 7};
    sim_oid name;
    sim_oid_parse("1.3.6.1.4.1.318.1.1.26.9.4.3.1.7.24", &name);
    sim_resp r;
    sim_resp_begin(&r, buf, 484, &q);
    size_t n = 0;
    while (sim_resp_add(&r, &name, &(sim_value){.tag = SIM_T_INTEGER, .i = 100000}) == 0)
        n++;
    assert_true(n > 10);
    const uint8_t *pkt;
    size_t len = sim_resp_finish(&r, &q, SIM_ERR_TOOBIG, 3, &pkt);
    assert_true(len <= 484);
    assert_true(len > 400); /* filled, not cut short */
    long version;
    char comm[256];
    netsnmp_pdu *pdu = netsnmp_parse(pkt, len, &version, comm);
    assert_int_equal(version, SNMP_VERSION_1);
    assert_int_equal(pdu->errstat, SNMP_ERR_TOOBIG);
    assert_int_equal(pdu->errindex, 3);
    size_t got = 0;
    for (netsnmp_variable_list *vb = pdu->variables; vb; vb = vb->next_variable)
        got++;
    assert_int_equal(got, n);
    snmp_free_pdu(pdu);
}

/* ---- the walk store ---------------------------------------------------- */

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/evmon-sim-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static const char walk[] = "# a comment\n"
                           "1.3.6.1.4.1.318.1.1.26.4.3.1.9.1|2|35128\n"
                           "1.3.6.1.2.1.1.1.0|4|APC Web/SNMP\n"
                           "1.3.6.1.4.1.318.1.1.26.4.3.1.5.1|2|114\n"
                           "1.3.6.1.4.1.318.1.1.26.10.2.2.1.8.1|2|-1\n"
                           "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.318.1.3.4.6\n"
                           "1.3.6.1.4.1.318.1.1.12.1.1.0|4x|41500a\n"
                           "1.3.6.1.4.1.318.1.1.26.4.3.1.10.1|65|4294967000\n";

static void test_mib_load_and_find(void **state)
{
    (void)state;
    char *path = write_tmp(walk), err[256];
    sim_mib m = {0};
    assert_int_equal(sim_mib_load(&m, path, err, sizeof err), 0);
    assert_int_equal(m.n, 7);
    sim_oid o;
    sim_oid_parse("1.3.6.1.2.1.1.1.0", &o);
    assert_int_equal(sim_mib_find(&m, &o, 0), 0);                /* exact */
    assert_int_equal(sim_mib_find(&m, &o, 1), 1);                /* next */
    sim_oid_parse("1.3.6.1.4.1.318.1.1.26.4.3.1.5", &o);        /* a column: next is its first row */
    assert_int_equal(sim_mib_find(&m, &o, 0), m.n);
    size_t k = sim_mib_find(&m, &o, 1);
    sim_value v;
    sim_mib_value(&m, k, 0, 0, &v);
    assert_int_equal(v.tag, SIM_T_INTEGER);
    assert_int_equal(v.i, 114);
    sim_oid_parse("1.3.6.1.4.1.318.1.1.12.1.1.0", &o);
    sim_mib_value(&m, sim_mib_find(&m, &o, 0), 0, 0, &v);
    assert_int_equal(v.slen, 3);
    assert_memory_equal(v.s, "AP\n", 3);
    sim_oid_parse("1.3.6.1.4.1.318.1.1.26.10.2.2.1.8.1", &o);
    assert_int_equal(sim_mib_find(&m, &o, 1), m.n);              /* past the end */
    sim_mib_free(&m);
    unlink(path);
    free(path);
}

static void test_mib_bad_line(void **state)
{
    (void)state;
    char *path = write_tmp("1.3.6.1.2.1.1.1.0|4|ok\n1.3.6.1.2.1.1.2.0|99|x\n"), err[512], want[600];
    sim_mib m = {0};
    assert_int_equal(sim_mib_load(&m, path, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:2: 99: unknown type tag", path);
    assert_non_null(strstr(err, want));
    sim_mib_free(&m);
    unlink(path);
    free(path);

    path = write_tmp("1.3.6.1.2.1.1.1.0 4 no bars\n");
    assert_int_equal(sim_mib_load(&m, path, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:1: expected OID|TYPE|VALUE", path);
    assert_string_equal(err, want);
    sim_mib_free(&m);
    unlink(path);
    free(path);
}

static void test_mib_motion(void **state)
{
    (void)state;
    char *path = write_tmp(walk), err[256];
    sim_mib m = {.counter_rate = 10};
    assert_int_equal(sim_mib_load(&m, path, err, sizeof err), 0);
    sim_oid power, energy, temp, c32;
    sim_oid_parse("1.3.6.1.4.1.318.1.1.26.4.3.1.5", &power);
    sim_oid_parse("1.3.6.1.4.1.318.1.1.26.4.3.1.9", &energy);
    sim_oid_parse("1.3.6.1.4.1.318.1.1.26.10.2.2.1.8", &temp);
    sim_oid_parse("1.3.6.1.4.1.318.1.1.26.4.3.1.10", &c32);
    assert_int_equal(sim_mib_mark(&m, &power, SIM_DRIFT), 1);
    assert_int_equal(sim_mib_mark(&m, &energy, SIM_COUNTER), 1);
    assert_int_equal(sim_mib_mark(&m, &temp, SIM_DRIFT), 1);
    assert_int_equal(sim_mib_mark(&m, &c32, SIM_COUNTER), 1);
    size_t kp = sim_mib_find(&m, &power, 1), ke = sim_mib_find(&m, &energy, 1);
    size_t kt = sim_mib_find(&m, &temp, 1), kc = sim_mib_find(&m, &c32, 1);

    bool moved = false;
    for (double t = 0; t < 300; t += 7) {
        sim_value v;
        sim_mib_value(&m, kp, 3, t, &v); /* drift: within 5 % of 114 */
        assert_true(v.i >= 108 && v.i <= 120);
        moved |= v.i != 114;
        sim_mib_value(&m, kt, 3, t, &v); /* a sentinel never moves */
        assert_int_equal(v.i, -1);
    }
    assert_true(moved);

    sim_value a, b, c;
    sim_mib_value(&m, ke, 0, 0, &a);
    sim_mib_value(&m, ke, 0, 5, &b);
    sim_mib_value(&m, ke, 1, 5, &c);
    assert_int_equal(a.i, 35128);
    assert_int_equal(b.i, 35128 + 50);       /* 10 per second */
    assert_int_equal(c.i, 35128 + 50 + 1009); /* devices differ */

    sim_mib_value(&m, kc, 0, 29, &a);         /* Counter32 4294967000 + 290 */
    assert_int_equal(a.u, 4294967290u);
    sim_mib_value(&m, kc, 0, 30, &a);         /* wraps at 2^32 */
    assert_int_equal(a.u, 4);

    m.wrap_after_s = 2; /* INTEGER counters wrap at 2^31, 2 s after start */
    sim_mib_value(&m, ke, 0, 1, &a);
    sim_mib_value(&m, ke, 0, 3, &b);
    assert_int_equal(a.i, 2147483648ll - 10);
    assert_int_equal(b.i, 10);
    sim_mib_free(&m);
    unlink(path);
    free(path);
}

static const char *addr_of(struct in_addr base, unsigned i, char *buf)
{
    struct in_addr a = fleet_dev_addr(base, i);
    return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static void test_fleet_addresses(void **state)
{
    (void)state;
    char buf[INET_ADDRSTRLEN];
    sim_fleet fl;
    fleet_init(&fl, "test", "127.2.0.1", 1161);
    assert_string_equal(addr_of(fl.base, 0, buf), "127.2.0.1");
    assert_string_equal(addr_of(fl.base, 249, buf), "127.2.0.250"); /* last octet 1..250 */
    assert_string_equal(addr_of(fl.base, 250, buf), "127.2.1.1");   /* then the next third octet */
    assert_string_equal(addr_of(fl.base, 9999, buf), "127.2.39.250");
    inet_pton(AF_INET, "127.3.255.200", &fl.base); /* from the middle, across the second octet */
    assert_string_equal(addr_of(fl.base, 50, buf), "127.3.255.250");
    assert_string_equal(addr_of(fl.base, 51, buf), "127.4.0.1");

    fl.count = 10000;
    inet_pton(AF_INET, "127.2.0.1", &fl.base);
    assert_int_equal(fleet_check_base(&fl), 0);
    inet_pton(AF_INET, "127.255.255.1", &fl.base); /* 10,000 devices from here leave 127/8 */
    assert_int_equal(fleet_check_base(&fl), -1);
    fl.count = 250;
    assert_int_equal(fleet_check_base(&fl), 0);
    const char *bad[] = {"10.0.0.1", "127.0.0.0", "127.0.0.251", "127.0.0.255"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        inet_pton(AF_INET, bad[i], &fl.base);
        assert_int_equal(fleet_check_base(&fl), -1);
    }
}

static void test_fleet_fault_shares(void **state)
{
    (void)state;
    enum { N = 10000 };
    static fleet_fault faults[N];
    unsigned n[4] = {0};
    sim_fleet fl;
    fleet_init(&fl, "test", "127.2.0.1", 1161);
    fl.count = N;
    fl.faults = faults;
    for (unsigned i = 0; i < N; i++) /* no shares: every device answers */
        assert_int_equal(fleet_fault_of(&fl, i), FLEET_OK);

    fl.silent_pct = 10, fl.slow_pct = 5, fl.error_pct = 2.5;
    for (unsigned i = 0; i < N; i++) {
        faults[i] = fleet_fault_of(&fl, i);
        assert_int_equal(fleet_fault_of(&fl, i), faults[i]); /* the same device, the same fault */
        n[faults[i]]++;
    }
    /* each share within a tenth of its size */
    assert_in_range(n[FLEET_SILENT], 900, 1100);
    assert_in_range(n[FLEET_SLOW], 450, 550);
    assert_in_range(n[FLEET_ERROR], 225, 275);
    /* spread evenly: every block of 100 devices has its silent ones */
    for (unsigned b = 0; b < N; b += 100) {
        unsigned silent = 0;
        for (unsigned i = b; i < b + 100; i++)
            silent += faults[i] == FLEET_SILENT;
        assert_in_range(silent, 3, 17);
    }

    unsigned dev = 0;
    while (faults[dev] != FLEET_SILENT)
        dev++;
    assert_int_equal(fleet_fault_now(&fl, dev), FLEET_SILENT);
    fl.faults_on = false; /* SIGUSR2 */
    assert_int_equal(fleet_fault_now(&fl, dev), FLEET_OK);
}

static void test_fleet_options(void **state)
{
    (void)state;
    static const struct option opts[] = {FLEET_OPTIONS, {"walk", 1, 0, 'w'}, {0, 0, 0, 0}};
    char *argv[] = {"x", "--count", "300", "--walk", "a.snmprec", "--base", "127.9.0.7", "--silent", "2.5",
                    "--slow-ms", "0", "--faults-off", "--stats-every", "5", "--counter-rate", "7", NULL};
    sim_fleet fl;
    fleet_init(&fl, "test", "127.2.0.1", 1161);
    assert_int_equal(fl.count, 1);
    assert_int_equal(fl.slow_ms, 3000);
    assert_true(fl.faults_on);

    optind = 0; /* getopt starts over */
    assert_int_equal(fleet_getopt(&fl, 16, argv, opts), 'w'); /* the simulator's own */
    assert_string_equal(optarg, "a.snmprec");
    assert_int_equal(fleet_getopt(&fl, 16, argv, opts), -1);
    char buf[INET_ADDRSTRLEN];
    assert_string_equal(inet_ntop(AF_INET, &fl.base, buf, sizeof buf), "127.9.0.7");
    assert_int_equal(fl.count, 300);
    assert_int_equal(fl.port, 1161);
    assert_true(fl.silent_pct == 2.5);
    assert_int_equal(fl.slow_ms, 0);
    assert_false(fl.faults_on);
    assert_int_equal(fl.stats_every, 5);
    assert_true(fl.counter_rate == 7);

    char *bad[] = {"x", "--base", "127.0.0.300", NULL};
    optind = 0;
    assert_int_equal(fleet_getopt(&fl, 3, bad, opts), FLEET_O_BAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_netsnmp_getbulk),
        cmocka_unit_test(test_decode_netsnmp_get_v1),
        cmocka_unit_test(test_decode_rejects_malformed),
        cmocka_unit_test(test_encode_every_type),
        cmocka_unit_test(test_encode_respects_size_and_errors),
        cmocka_unit_test(test_mib_load_and_find),
        cmocka_unit_test(test_mib_bad_line),
        cmocka_unit_test(test_mib_motion),
        cmocka_unit_test(test_fleet_addresses),
        cmocka_unit_test(test_fleet_fault_shares),
        cmocka_unit_test(test_fleet_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
