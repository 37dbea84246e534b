/*
 * snmp_ber.c - BER decoding of SNMP requests and encoding of responses for
 * the fleet simulator (snmp_ber.h). Reads top-down: TLV reader, request
 * decoder, OID helpers, then the response writer.
 */
#include "tests/sim/snmp_ber.h"

#include <stdlib.h>
#include <string.h>

/* ---- reading ---------------------------------------------------------- */

typedef struct {
    const uint8_t *p, *end;
} rd;

/* One TLV header: tag and content length, checked against what is left. */
static int rd_tlv(rd *r, uint8_t *tag, size_t *len)
{
    if (r->end - r->p < 2)
        return -1;
    *tag = *r->p++;
    uint8_t b = *r->p++;
    size_t n = b;
    if (b & 0x80) {
        unsigned k = b & 0x7f;
        if (k == 0 || k > 4 || (size_t)(r->end - r->p) < k)
            return -1; /* indefinite form or too long */
        n = 0;
        while (k--)
            n = (n << 8) | *r->p++;
    }
    if (n > (size_t)(r->end - r->p))
        return -1;
    *len = n;
    return 0;
}

/* A TLV with this tag; its content becomes sub. */
static int rd_enter(rd *r, uint8_t want, rd *sub)
{
    uint8_t tag;
    size_t len;
    if (rd_tlv(r, &tag, &len) < 0 || tag != want)
        return -1;
    sub->p = r->p;
    sub->end = r->p + len;
    r->p += len;
    return 0;
}

static int rd_int(rd *r, long *out)
{
    rd c;
    if (rd_enter(r, SIM_T_INTEGER, &c) < 0 || c.p == c.end || c.end - c.p > 8)
        return -1;
    int64_t v = (int8_t)*c.p++; /* sign-extend the first byte */
    while (c.p < c.end)
        v = (int64_t)((uint64_t)v << 8) | *c.p++;
    *out = (long)v;
    return 0;
}

static int oid_decode(const uint8_t *p, size_t len, sim_oid *o)
{
    if (len == 0)
        return -1;
    o->len = 0;
    uint64_t v = 0;
    bool first = true;
    for (size_t i = 0; i < len; i++) {
        v = (v << 7) | (p[i] & 0x7f);
        if (v > UINT32_MAX)
            return -1;
        if (p[i] & 0x80)
            continue;
        if (first) { /* the first byte packs two sub-identifiers */
            uint32_t a = v < 40 ? 0 : v < 80 ? 1 : 2;
            o->sub[o->len++] = a;
            o->sub[o->len++] = (uint32_t)(v - 40u * a);
            first = false;
        } else {
            if (o->len >= SIM_OID_MAX)
                return -1;
            o->sub[o->len++] = (uint32_t)v;
        }
        v = 0;
    }
    return p[len - 1] & 0x80 ? -1 : 0; /* last byte must end a sub-identifier */
}

static int fail(const char **why, const char *what)
{
    if (why)
        *why = what;
    return -1;
}

int sim_ber_decode(const uint8_t *msg, size_t len, sim_request *out, const char **why)
{
    rd r = {msg, msg + len}, m, pdu, vbl;
    uint8_t tag;
    size_t n;
    long v;

    if (rd_enter(&r, 0x30, &m) < 0)
        return fail(why, "not a BER SEQUENCE");
    if (rd_int(&m, &out->version) < 0 || (out->version != 0 && out->version != 1))
        return fail(why, "not SNMPv1/v2c");
    rd comm;
    if (rd_enter(&m, SIM_T_OCTETS, &comm) < 0 || comm.end - comm.p > 200)
        return fail(why, "bad community");
    out->community = comm.p;
    out->community_len = (size_t)(comm.end - comm.p);
    if (m.end - m.p < 2)
        return fail(why, "no PDU");
    out->pdu = m.p[0];
    if ((out->pdu & 0xE0) != 0xA0 || rd_enter(&m, (uint8_t)out->pdu, &pdu) < 0)
        return fail(why, "bad PDU");
    if (rd_int(&pdu, &v) < 0)
        return fail(why, "bad request-id");
    out->request_id = (int32_t)v;
    if (rd_int(&pdu, &out->non_repeaters) < 0 || rd_int(&pdu, &out->max_repetitions) < 0)
        return fail(why, "bad error-status/index");
    if (rd_enter(&pdu, 0x30, &vbl) < 0)
        return fail(why, "bad varbind list");
    out->nvb = 0;
    while (vbl.p < vbl.end) {
        rd vb, name;
        if (out->nvb >= SIM_MAX_VBS)
            return fail(why, "too many varbinds");
        if (rd_enter(&vbl, 0x30, &vb) < 0 || rd_enter(&vb, SIM_T_OID, &name) < 0)
            return fail(why, "bad varbind");
        if (oid_decode(name.p, (size_t)(name.end - name.p), &out->vb[out->nvb]) < 0)
            return fail(why, "bad OID");
        if (rd_tlv(&vb, &tag, &n) < 0) /* the value: skipped */
            return fail(why, "bad varbind value");
        out->nvb++;
    }
    return 0;
}

/* ---- OIDs ------------------------------------------------------------- */

int sim_oid_cmp(const sim_oid *a, const sim_oid *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    for (size_t i = 0; i < n; i++)
        if (a->sub[i] != b->sub[i])
            return a->sub[i] < b->sub[i] ? -1 : 1;
    return (a->len > b->len) - (a->len < b->len);
}

int sim_oid_parse(const char *s, sim_oid *out)
{
    out->len = 0;
    if (*s == '.')
        s++;
    while (*s) {
        char *e;
        if (*s < '0' || *s > '9' || out->len >= SIM_OID_MAX)
            return -1;
        unsigned long v = strtoul(s, &e, 10);
        if (v > UINT32_MAX || (*e && *e != '.') || (*e == '.' && !e[1]))
            return -1;
        out->sub[out->len++] = (uint32_t)v;
        s = *e ? e + 1 : e;
    }
    return out->len >= 2 ? 0 : -1;
}

bool sim_oid_has_prefix(const sim_oid *o, const sim_oid *prefix)
{
    return o->len >= prefix->len && !memcmp(o->sub, prefix->sub, prefix->len * sizeof o->sub[0]);
}

/* ---- writing ---------------------------------------------------------- */

static size_t len_size(size_t n)
{
    return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 4;
}

/* Tag and length at p (forward); returns bytes written. */
static size_t put_hdr(uint8_t *p, uint8_t tag, size_t n)
{
    size_t k = len_size(n);
    p[0] = tag;
    if (k == 1) {
        p[1] = (uint8_t)n;
        return 2;
    }
    p[1] = (uint8_t)(0x80 | (k - 1));
    for (size_t i = 0; i < k - 1; i++)
        p[2 + i] = (uint8_t)(n >> (8 * (k - 2 - i)));
    return 1 + k;
}

static size_t oid_encode(const sim_oid *o, uint8_t *out)
{
    size_t n = 0;
    if (o->len < 2) { /* not sent by a sane client: encode as 0.0 */
        out[0] = 0;
        return 1;
    }
    uint64_t first = 40u * (uint64_t)o->sub[0] + o->sub[1];
    for (size_t i = 1; i < o->len + 0u; i++) {
        uint64_t v = i == 1 ? first : o->sub[i];
        uint8_t tmp[10];
        size_t k = 0;
        do {
            tmp[k++] = (uint8_t)(v & 0x7f);
            v >>= 7;
        } while (v);
        while (k) {
            k--;
            out[n++] = (uint8_t)(tmp[k] | (k ? 0x80 : 0));
        }
    }
    return n;
}

/* Integer content: minimal two's complement (signed), or minimal unsigned
 * with a leading 0 when the top bit would read as a sign. */
static size_t int_encode(int64_t v, uint8_t *out)
{
    uint8_t tmp[8];
    size_t k = 0;
    uint64_t u = (uint64_t)v;
    for (int i = 7; i >= 0; i--)
        tmp[7 - i] = (uint8_t)(u >> (8 * i));
    while (k < 7 && ((tmp[k] == 0x00 && !(tmp[k + 1] & 0x80)) || (tmp[k] == 0xff && (tmp[k + 1] & 0x80))))
        k++;
    memcpy(out, tmp + k, 8 - k);
    return 8 - k;
}

static size_t uint_encode(uint64_t u, uint8_t *out)
{
    uint8_t tmp[9];
    size_t n = 0;
    tmp[0] = 0;
    for (int i = 7; i >= 0; i--)
        tmp[1 + 7 - i] = (uint8_t)(u >> (8 * i));
    size_t k = 0;
    while (k < 8 && tmp[k] == 0 && !(tmp[k + 1] & 0x80))
        k++;
    n = 9 - k;
    memcpy(out, tmp + k, n);
    return n;
}

void sim_resp_begin(sim_resp *r, uint8_t *buf, size_t max_msg, const sim_request *req)
{
    r->buf = buf;
    r->head = SIM_RESP_HEADROOM;
    r->end = r->head;
    size_t hdrs = 40 + (req ? req->community_len : 0);
    r->limit = r->head + (max_msg > hdrs ? max_msg - hdrs : 0);
    r->nvb = 0;
}

void sim_resp_reset(sim_resp *r)
{
    r->end = r->head;
    r->nvb = 0;
}

int sim_resp_add(sim_resp *r, const sim_oid *name, const sim_value *v)
{
    uint8_t oidb[SIM_OID_MAX * 5 + 2], valb[16];
    size_t on = oid_encode(name, oidb), vn = 0;
    const uint8_t *vp = valb;
    uint8_t vbuf_oid[SIM_OID_MAX * 5 + 2];

    switch (v->tag) {
    case SIM_T_INTEGER:
        vn = int_encode(v->i, valb);
        break;
    case SIM_T_COUNTER32:
    case SIM_T_GAUGE32:
    case SIM_T_TIMETICKS:
        vn = uint_encode(v->u & 0xffffffffu, valb);
        break;
    case SIM_T_COUNTER64:
        vn = uint_encode(v->u, valb);
        break;
    case SIM_T_OCTETS:
    case SIM_T_IPADDR:
        vp = v->s;
        vn = v->slen;
        break;
    case SIM_T_OID:
        vn = oid_encode(v->oid, vbuf_oid);
        vp = vbuf_oid;
        break;
    default: /* NULL and the exceptions: no content */
        vn = 0;
        break;
    }
    size_t oid_tlv = 1 + len_size(on) + on, val_tlv = 1 + len_size(vn) + vn;
    size_t body = oid_tlv + val_tlv, total = 1 + len_size(body) + body;
    if (r->end + total > r->limit)
        return -1;
    uint8_t *p = r->buf + r->end;
    p += put_hdr(p, 0x30, body);
    p += put_hdr(p, SIM_T_OID, on);
    memcpy(p, oidb, on);
    p += on;
    p += put_hdr(p, v->tag, vn);
    if (vn)
        memcpy(p, vp, vn);
    r->end += total;
    r->nvb++;
    return 0;
}

/* Prepend a header or an INTEGER in front of r->head. */
static void pre_hdr(sim_resp *r, uint8_t tag, size_t n)
{
    uint8_t tmp[6];
    size_t k = put_hdr(tmp, tag, n);
    r->head -= k;
    memcpy(r->buf + r->head, tmp, k);
}

static void pre_int(sim_resp *r, int64_t v)
{
    uint8_t tmp[8];
    size_t k = int_encode(v, tmp);
    r->head -= k;
    memcpy(r->buf + r->head, tmp, k);
    pre_hdr(r, SIM_T_INTEGER, k);
}

size_t sim_resp_finish(sim_resp *r, const sim_request *req, long errstat, long errindex,
                       const uint8_t **out)
{
    size_t end = r->end;
    pre_hdr(r, 0x30, end - r->head); /* varbind list */
    pre_int(r, errindex);
    pre_int(r, errstat);
    pre_int(r, req->request_id);
    pre_hdr(r, SIM_PDU_RESPONSE, end - r->head);
    r->head -= req->community_len;
    memcpy(r->buf + r->head, req->community, req->community_len);
    pre_hdr(r, SIM_T_OCTETS, req->community_len);
    pre_int(r, req->version);
    pre_hdr(r, 0x30, end - r->head);
    *out = r->buf + r->head;
    return end - r->head;
}
