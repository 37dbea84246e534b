/*
 * snmp_walk.c - the SNMP request plan for one device and profile.
 *
 * From the profile's fetch list: every scalar in GETs of up to
 * EV_SNMP_GET_CHUNK varbinds, then all columns walked together with
 * GETBULK (one varbind per unfinished column, max-repetitions from the
 * config), each later request carrying only the columns not finished.
 * A column ends when an answer leaves its prefix, at endOfMibView, when
 * the agent returns an OID that does not increase (a looping agent), or
 * at EV_SNMP_MAX_ROWS rows. SNMPv1 uses GETNEXT the same way.
 *
 * Most PDU tables have a handful of rows, and every repetition past a
 * column's end is a varbind the agent encodes and we parse for nothing.
 * So a poll's first GETBULK asks for one more repetition than the longest
 * column had last time (the extra one shows where each column ends); only
 * columns still unfinished after it are asked again with the configured
 * max-repetitions. When the columns differ in length (a PDU's one-row
 * device columns, three phases, eight outlets), fewer repetitions in the
 * first GETBULK and a second one for the long columns alone ask for fewer
 * varbinds in all: plan_first() picks the cheaper, counting a request as
 * EV_SNMP_REQUEST_COST varbinds (14 columns of 1, 3 and 8 rows: 71 varbinds
 * in two requests instead of 126 in one).
 *
 * tooBig halves the repetitions (for good), then the columns per request
 * (or the scalars per GET). Other error-statuses end the columns or scalars
 * concerned and leave the poll partial; noSuchObject, noSuchInstance and
 * endOfMibView are values of type EV_V_NONE, never numbers.
 *
 * The walk only builds PDUs and reads answers; snmp.c sends them.
 */
#include "collectors/snmp_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ev_snmp_walk_init(ev_snmp_walk *w, const ev_profile *p, unsigned max_reps, bool v1)
{
    size_t n;
    memset(w, 0, sizeof *w);
    w->fetch = ev_profile_fetch_list(p, &n);
    w->v1 = v1;
    w->max_reps = max_reps ? max_reps : 1;
    size_t m = n ? n : 1;
    w->scalars = calloc(m, sizeof *w->scalars);
    w->cols = calloc(m, sizeof *w->cols);
    w->skip = calloc(m, 1);
    w->cursor = calloc(m, sizeof *w->cursor);
    w->done = calloc(m, 1);
    w->req = calloc(m, sizeof *w->req);
    w->col_rows = calloc(m, sizeof *w->col_rows);
    if (!w->scalars || !w->cols || !w->skip || !w->cursor || !w->done || !w->req || !w->col_rows) {
        ev_snmp_walk_free(w);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (w->fetch[i].scalar)
            w->scalars[w->nscalars++] = i;
        else
            w->cols[w->ncols++] = i;
    }
    w->get_chunk = EV_SNMP_GET_CHUNK;
    w->reps_cap = w->reps = w->max_reps;
    w->max_cols = w->ncols;
    return 0;
}

void ev_snmp_learned_init(ev_snmp_learned *l, const ev_profile *p, unsigned max_reps)
{
    size_t n, ncols = 0;
    const ev_fetch *f = ev_profile_fetch_list(p, &n);
    for (size_t i = 0; i < n; i++)
        ncols += !f[i].scalar;
    *l = (ev_snmp_learned){.reps_cap = max_reps ? max_reps : 1, .get_chunk = EV_SNMP_GET_CHUNK,
                           .max_cols = ncols, .ncols = ncols,
                           .col_rows = ncols ? calloc(ncols, sizeof *l->col_rows) : NULL};
}

void ev_snmp_learned_free(ev_snmp_learned *l)
{
    free(l->col_rows);
    l->col_rows = NULL;
}

void ev_snmp_walk_resume(ev_snmp_walk *w, const ev_snmp_learned *l, unsigned max_reps, bool v1)
{
    w->v1 = v1;
    w->max_reps = max_reps ? max_reps : 1;
    w->reps_cap = w->reps = l->reps_cap;
    w->reps_hint = l->reps_hint;
    w->get_chunk = l->get_chunk;
    w->max_cols = l->max_cols;
    if (l->col_rows && l->ncols == w->ncols)
        memcpy(w->col_rows, l->col_rows, w->ncols * sizeof *w->col_rows);
    else
        w->reps_hint = 0; /* no lengths to plan with: one GETBULK as at first */
}

void ev_snmp_walk_learned(const ev_snmp_walk *w, ev_snmp_learned *l)
{
    l->reps_cap = w->reps_cap;
    l->reps_hint = w->reps_hint;
    l->get_chunk = w->get_chunk;
    l->max_cols = w->max_cols;
    if (l->col_rows && l->ncols == w->ncols)
        memcpy(l->col_rows, w->col_rows, w->ncols * sizeof *w->col_rows);
}

void ev_snmp_walk_free(ev_snmp_walk *w)
{
    free(w->scalars);
    free(w->cols);
    free(w->skip);
    free(w->cursor);
    free(w->done);
    free(w->req);
    free(w->col_rows);
    free(w->str);
    memset(w, 0, sizeof *w);
}

/* From last poll's column lengths: the first GETBULK's repetitions r, and
 * for the columns longer than r - 1 a second request, when that asks for
 * fewer varbinds (plus EV_SNMP_REQUEST_COST) than one request of the
 * longest column + 1 for all. */
static void plan_first(ev_snmp_walk *w)
{
    unsigned longest = 0;
    for (size_t c = 0; c < w->ncols; c++)
        if (w->col_rows[c] > longest)
            longest = w->col_rows[c];
    if (longest + 1 != w->reps_hint || w->reps_hint > w->reps_cap)
        return; /* lengths from another walk than the hint's, or capped: keep it simple */
    size_t best = w->ncols * (size_t)w->reps_hint;
    for (size_t i = 0; i < w->ncols; i++) {
        unsigned r = w->col_rows[i] + 1u, left = 0;
        if (r >= w->reps_hint)
            continue;
        for (size_t c = 0; c < w->ncols; c++)
            left += w->col_rows[c] + 1u > r;
        size_t cost = w->ncols * (size_t)r + left * (size_t)(longest + 1 - r) + EV_SNMP_REQUEST_COST;
        if (cost < best) {
            best = cost;
            w->reps = r;
            w->reps_next = longest + 1 - r;
        }
    }
}

void ev_snmp_walk_start(ev_snmp_walk *w)
{
    w->scalar_pos = 0;
    memset(w->skip, 0, w->nscalars);
    memset(w->done, 0, w->ncols);
    for (size_t c = 0; c < w->ncols; c++)
        w->cursor[c] = w->fetch[w->cols[c]].oid;
    w->reps = w->reps_hint && w->reps_hint < w->reps_cap ? w->reps_hint : w->reps_cap;
    w->reps_next = 0;
    if (w->reps_hint && !w->v1)
        plan_first(w);
    w->longest = 0;
    w->nerrors = 0;
    w->err[0] = 0;
    w->nreq = 0;
    w->req_kind = NULL;
    w->outcome = NULL;
}

void ev_snmp_walk_error(ev_snmp_walk *w, const char *fmt, ...)
{
    if (w->nerrors++ > 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
}

/* ---- OIDs between evmon and Net-SNMP ---- */

static void add_null_var(netsnmp_pdu *pdu, const ev_oid *o)
{
    oid name[EV_OID_MAX];
    for (size_t i = 0; i < o->len; i++)
        name[i] = o->sub[i];
    snmp_add_null_var(pdu, name, o->len);
}

static int from_net_oid(const oid *name, size_t len, ev_oid *out)
{
    if (len > EV_OID_MAX)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (name[i] > UINT32_MAX)
            return -1;
        out->sub[i] = (uint32_t)name[i];
    }
    out->len = len;
    return 0;
}

static const char *fmt_oid(const ev_oid *o, char *buf, size_t len)
{
    return ev_oid_format(o, buf, len);
}

/* ---- building requests ---- */

static netsnmp_pdu *next_get(ev_snmp_walk *w)
{
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET);
    if (!pdu)
        return NULL;
    w->nreq = 0;
    for (size_t s = w->scalar_pos; s < w->nscalars && w->nreq < w->get_chunk; s++) {
        if (w->skip[s])
            continue;
        add_null_var(pdu, &w->fetch[w->scalars[s]].oid);
        w->req[w->nreq++] = s;
    }
    w->req_scalars = true;
    w->req_kind = "GET";
    w->req_reps = 0;
    return pdu;
}

static netsnmp_pdu *next_columns(ev_snmp_walk *w)
{
    netsnmp_pdu *pdu = snmp_pdu_create(w->v1 ? SNMP_MSG_GETNEXT : SNMP_MSG_GETBULK);
    if (!pdu)
        return NULL;
    w->nreq = 0;
    for (size_t c = 0; c < w->ncols && w->nreq < w->max_cols; c++) {
        if (w->done[c])
            continue;
        add_null_var(pdu, &w->cursor[c]);
        w->req[w->nreq++] = c;
    }
    w->req_scalars = false;
    if (w->v1) {
        w->req_kind = "GETNEXT";
        w->req_reps = 1;
    } else {
        pdu->errstat = 0;               /* non-repeaters */
        pdu->errindex = (long)w->reps;  /* max-repetitions */
        w->req_kind = "GETBULK";
        w->req_reps = w->reps;
    }
    return pdu;
}

static bool scalars_left(const ev_snmp_walk *w)
{
    for (size_t s = w->scalar_pos; s < w->nscalars; s++)
        if (!w->skip[s])
            return true;
    return false;
}

static bool columns_left(const ev_snmp_walk *w)
{
    for (size_t c = 0; c < w->ncols; c++)
        if (!w->done[c])
            return true;
    return false;
}

netsnmp_pdu *ev_snmp_walk_next(ev_snmp_walk *w)
{
    w->resp_vbs = 0;
    w->outcome = NULL;
    if (scalars_left(w))
        return next_get(w);
    if (columns_left(w))
        return next_columns(w);
    if (w->nerrors == 0 && w->ncols) /* learn only from a clean walk */
        w->reps_hint = (unsigned)(w->longest < w->reps_cap ? w->longest + 1 : w->reps_cap);
    w->nreq = 0;
    return NULL;
}

/* ---- reading answers ---- */

/* Printable text stays as it is; anything else is shown as hex bytes. */
static const char *octets(ev_snmp_walk *w, const u_char *p, size_t n)
{
    while (n > 0 && p[n - 1] == 0) /* C-style trailing NULs */
        n--;
    bool text = true;
    for (size_t i = 0; i < n && text; i++)
        if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\r' && p[i] != '\n') || p[i] == 0x7f)
            text = false;
    size_t need = text ? n + 1 : 3 * n + 1;
    if (need > w->strcap) {
        char *s = realloc(w->str, need);
        if (!s)
            return "";
        w->str = s;
        w->strcap = need;
    }
    if (text) {
        memcpy(w->str, p, n);
        w->str[n] = 0;
    } else {
        static const char hex[] = "0123456789abcdef";
        char *o = w->str;
        for (size_t i = 0; i < n; i++) {
            if (i)
                *o++ = ':';
            *o++ = hex[p[i] >> 4];
            *o++ = hex[p[i] & 15];
        }
        *o = 0;
    }
    return w->str;
}

/* Convert one varbind; returns the ASN.1 type's name. */
static const char *convert(ev_snmp_walk *w, const netsnmp_variable_list *vb, ev_value *v)
{
    char buf[64];
    memset(v, 0, sizeof *v);
    switch (vb->type) {
    case ASN_INTEGER:
        v->type = EV_V_INT;
        v->i = *vb->val.integer;
        return "Integer32";
    case ASN_COUNTER:
        v->type = EV_V_UINT;
        v->u = (uint32_t)*vb->val.integer;
        return "Counter32";
    case ASN_GAUGE:
        v->type = EV_V_UINT;
        v->u = (uint32_t)*vb->val.integer;
        return "Gauge32";
    case ASN_TIMETICKS:
        v->type = EV_V_UINT;
        v->u = (uint32_t)*vb->val.integer;
        return "TimeTicks";
    case ASN_UINTEGER:
        v->type = EV_V_UINT;
        v->u = (uint32_t)*vb->val.integer;
        return "UInteger32";
    case ASN_COUNTER64:
        v->type = EV_V_U64;
        v->u = ((uint64_t)vb->val.counter64->high << 32) | (uint32_t)vb->val.counter64->low;
        return "Counter64";
    case ASN_OCTET_STR:
        v->type = EV_V_STR;
        v->s = (char *)octets(w, vb->val.string, vb->val_len);
        return "OctetString";
    case ASN_IPADDRESS:
        v->type = EV_V_STR;
        if (vb->val_len == 4) {
            snprintf(buf, sizeof buf, "%u.%u.%u.%u", vb->val.string[0], vb->val.string[1],
                     vb->val.string[2], vb->val.string[3]);
            v->s = (char *)octets(w, (const u_char *)buf, strlen(buf));
        } else {
            v->s = (char *)octets(w, vb->val.string, vb->val_len);
        }
        return "IpAddress";
    case ASN_OBJECT_ID: {
        ev_oid o;
        char text[EV_OID_MAX * 11 + 2];
        v->type = EV_V_STR;
        if (from_net_oid(vb->val.objid, vb->val_len / sizeof(oid), &o) == 0)
            fmt_oid(&o, text, sizeof text);
        else
            snprintf(text, sizeof text, "?");
        v->s = (char *)octets(w, (const u_char *)text, strlen(text));
        return "OID";
    }
#ifdef NETSNMP_WITH_OPAQUE_SPECIAL_TYPES
    case ASN_OPAQUE_FLOAT:
        v->type = EV_V_STR;
        snprintf(buf, sizeof buf, "%.9g", (double)*vb->val.floatVal);
        v->s = (char *)octets(w, (const u_char *)buf, strlen(buf));
        return "Opaque Float";
    case ASN_OPAQUE_DOUBLE:
        v->type = EV_V_STR;
        snprintf(buf, sizeof buf, "%.17g", *vb->val.doubleVal);
        v->s = (char *)octets(w, (const u_char *)buf, strlen(buf));
        return "Opaque Double";
    case ASN_OPAQUE_I64:
        v->type = EV_V_INT;
        v->i = (int64_t)(((uint64_t)vb->val.counter64->high << 32) |
                         (uint32_t)vb->val.counter64->low);
        return "Opaque I64";
    case ASN_OPAQUE_U64:
    case ASN_OPAQUE_COUNTER64:
        v->type = EV_V_U64;
        v->u = ((uint64_t)vb->val.counter64->high << 32) | (uint32_t)vb->val.counter64->low;
        return "Opaque U64";
#endif
    case SNMP_NOSUCHOBJECT:
        return "noSuchObject";
    case SNMP_NOSUCHINSTANCE:
        return "noSuchInstance";
    case SNMP_ENDOFMIBVIEW:
        return "endOfMibView";
    case ASN_NULL:
        return "Null";
    default:
        return "unsupported type";
    }
}

static void store(ev_snmp_walk *w, ev_rowset *rs, size_t fi, const ev_oid *full,
                  const ev_oid *index, const netsnmp_variable_list *vb)
{
    ev_value v;
    const char *type = convert(w, vb, &v);
    if (ev_rowset_add(rs, fi, index, &v) < 0)
        ev_snmp_walk_error(w, "out of memory storing a value");
    if (w->on_varbind)
        w->on_varbind(w->vb_ud, full, type);
}

static void store_none(ev_snmp_walk *w, ev_rowset *rs, size_t fi, const char *why)
{
    static const ev_oid empty = {.len = 0};
    ev_value v = {.type = EV_V_NONE};
    ev_rowset_add(rs, fi, &empty, &v);
    if (w->on_varbind)
        w->on_varbind(w->vb_ud, &w->fetch[fi].oid, why);
}

/* The varbind at 1-based position errindex in the request, or NULL. */
static const ev_oid *req_oid(const ev_snmp_walk *w, long errindex)
{
    if (errindex < 1 || (size_t)errindex > w->nreq)
        return NULL;
    size_t pos = w->req[errindex - 1];
    return w->req_scalars ? &w->fetch[w->scalars[pos]].oid : &w->cursor[pos];
}

static const char *access_hint(long errstat)
{
    return errstat == SNMP_ERR_AUTHORIZATIONERROR || errstat == SNMP_ERR_NOACCESS
               ? " (the device's access control refuses this community, user or security level)"
               : "";
}

static void get_response(ev_snmp_walk *w, const netsnmp_pdu *resp, ev_rowset *rs)
{
    char ob[EV_OID_MAX * 11 + 2];
    if (resp->errstat == SNMP_ERR_TOOBIG && w->nreq > 1) {
        w->get_chunk = (unsigned)(w->nreq + 1) / 2; /* ask again, fewer at a time */
        return;
    }
    if (resp->errstat == SNMP_ERR_NOSUCHNAME && w->v1 && req_oid(w, resp->errindex)) {
        size_t s = w->req[resp->errindex - 1]; /* v1: leave it out, ask the rest again */
        w->skip[s] = 1;
        store_none(w, rs, w->scalars[s], "noSuchName");
        return;
    }
    if (resp->errstat != SNMP_ERR_NOERROR) {
        const ev_oid *bad = req_oid(w, resp->errindex);
        ev_snmp_walk_error(w, "GET %s: %s%s", bad ? fmt_oid(bad, ob, sizeof ob) : "(whole request)",
                           ev_snmp_errstat_name(resp->errstat), access_hint(resp->errstat));
        for (size_t j = 0; j < w->nreq; j++)
            store_none(w, rs, w->scalars[w->req[j]], ev_snmp_errstat_name(resp->errstat));
    } else {
        const netsnmp_variable_list *vb = resp->variables;
        for (size_t j = 0; j < w->nreq; j++, vb = vb ? vb->next_variable : NULL) {
            size_t fi = w->scalars[w->req[j]];
            const ev_oid *want = &w->fetch[fi].oid;
            ev_oid got;
            static const ev_oid empty = {.len = 0};
            if (!vb || from_net_oid(vb->name, vb->name_length, &got) < 0 || ev_oid_cmp(&got, want)) {
                store_none(w, rs, fi, vb ? "answer for another OID" : "missing from answer");
                continue;
            }
            store(w, rs, fi, want, &empty, vb);
        }
    }
    if (w->nreq)
        w->scalar_pos = w->req[w->nreq - 1] + 1;
}

static void end_columns(ev_snmp_walk *w, const char *why, long errstat)
{
    char ob[EV_OID_MAX * 11 + 2];
    for (size_t j = 0; j < w->nreq; j++)
        w->done[w->req[j]] = 1;
    if (w->nreq)
        ev_snmp_walk_error(w, "%s %s%s: %s%s", w->req_kind,
                           fmt_oid(&w->fetch[w->cols[w->req[0]]].oid, ob, sizeof ob),
                           w->nreq > 1 ? " and other columns" : "",
                           why ? why : ev_snmp_errstat_name(errstat), access_hint(errstat));
}

/* One varbind of a GETBULK/GETNEXT answer for column position c.
 * Returns true when it moved the walk on (a row, or the column's end). */
static bool column_varbind(ev_snmp_walk *w, ev_rowset *rs, size_t c,
                           const netsnmp_variable_list *vb)
{
    char ob[EV_OID_MAX * 11 + 2], ob2[EV_OID_MAX * 11 + 2];
    size_t fi = w->cols[c];
    const ev_oid *col = &w->fetch[fi].oid;
    ev_oid name;
    if (vb->type == SNMP_ENDOFMIBVIEW || vb->type == SNMP_NOSUCHOBJECT ||
        vb->type == SNMP_NOSUCHINSTANCE || from_net_oid(vb->name, vb->name_length, &name) < 0 ||
        name.len <= col->len || !ev_oid_has_prefix(&name, col)) {
        w->done[c] = 1; /* left the column */
        return true;
    }
    if (ev_oid_cmp(&name, &w->cursor[c]) <= 0) {
        w->done[c] = 1;
        ev_snmp_walk_error(w, "agent returned OID %s after %s (not increasing); column cut short",
                           fmt_oid(&name, ob, sizeof ob), fmt_oid(&w->cursor[c], ob2, sizeof ob2));
        return true;
    }
    if (rs->cols[fi].nrows >= EV_SNMP_MAX_ROWS) {
        w->done[c] = 1;
        ev_snmp_walk_error(w, "column %s has more than %d rows; rest ignored",
                           fmt_oid(col, ob, sizeof ob), EV_SNMP_MAX_ROWS);
        return true;
    }
    ev_oid index = {.len = name.len - col->len};
    memcpy(index.sub, name.sub + col->len, index.len * sizeof index.sub[0]);
    store(w, rs, fi, &name, &index, vb);
    w->cursor[c] = name;
    return true;
}

static void columns_response(ev_snmp_walk *w, const netsnmp_pdu *resp, ev_rowset *rs)
{
    if (resp->errstat == SNMP_ERR_TOOBIG) {
        if (w->reps > 1)
            w->reps_cap = w->reps = w->reps / 2;
        else if (w->nreq > 1)
            w->max_cols = (w->nreq + 1) / 2;
        else
            end_columns(w, NULL, resp->errstat);
        return;
    }
    if (resp->errstat == SNMP_ERR_NOSUCHNAME && w->v1 && req_oid(w, resp->errindex)) {
        w->done[w->req[resp->errindex - 1]] = 1; /* v1: end of the MIB view */
        return;
    }
    if (resp->errstat != SNMP_ERR_NOERROR) {
        end_columns(w, NULL, resp->errstat);
        return;
    }
    bool moved = false;
    size_t j = 0;
    for (const netsnmp_variable_list *vb = resp->variables; vb; vb = vb->next_variable, j++) {
        size_t c = w->req[j % w->nreq];
        if (!w->done[c])
            moved |= column_varbind(w, rs, c, vb);
    }
    if (!moved)
        end_columns(w, "empty answer", 0);
    for (size_t k = 0; k < w->nreq; k++) {
        size_t c = w->req[k], n = rs->cols[w->cols[c]].nrows;
        if (n > w->longest)
            w->longest = n;
        w->col_rows[c] = n > UINT16_MAX ? UINT16_MAX : (uint16_t)n;
        if (!w->done[c]) /* the planned rest, or longer than last time: ask for more */
            w->reps = w->reps_next && w->reps_next < w->reps_cap ? w->reps_next : w->reps_cap;
    }
    w->reps_next = 0;
}

void ev_snmp_walk_response(ev_snmp_walk *w, const netsnmp_pdu *resp, ev_rowset *rs)
{
    w->resp_vbs = 0;
    for (const netsnmp_variable_list *vb = resp->variables; vb; vb = vb->next_variable)
        w->resp_vbs++;
    w->outcome = resp->errstat == SNMP_ERR_NOERROR ? "ok" : ev_snmp_errstat_name(resp->errstat);
    if (w->nreq == 0)
        return;
    if (w->req_scalars)
        get_response(w, resp, rs);
    else
        columns_response(w, resp, rs);
}
