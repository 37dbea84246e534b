/*
 * modbus_value.c - Modbus register words <-> numbers, for every type and
 * word/byte order (see modbus_value.h for the order names).
 */
#include "agent/modbus_value.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const type_names[EV_MB_NTYPES] = {
    "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "bool",
};
static const char *const order_names[EV_MB_NORDERS] = {"ABCD", "CDAB", "BADC", "DCBA"};

const char *ev_mb_type_name(ev_mb_type t)
{
    return t < EV_MB_NTYPES ? type_names[t] : "?";
}

const char *ev_mb_order_name(ev_mb_order o)
{
    return o < EV_MB_NORDERS ? order_names[o] : "?";
}

bool ev_mb_type_parse(const char *s, ev_mb_type *out)
{
    for (int i = 0; i < EV_MB_NTYPES; i++)
        if (!strcasecmp(s, type_names[i])) {
            *out = (ev_mb_type)i;
            return true;
        }
    return false;
}

bool ev_mb_order_parse(const char *s, ev_mb_order *out)
{
    for (int i = 0; i < EV_MB_NORDERS; i++)
        if (!strcasecmp(s, order_names[i])) {
            *out = (ev_mb_order)i;
            return true;
        }
    return false;
}

unsigned ev_mb_type_words(ev_mb_type t)
{
    switch (t) {
    case EV_MB_INT32: case EV_MB_UINT32: case EV_MB_FLOAT32: return 2;
    case EV_MB_INT64: case EV_MB_UINT64: case EV_MB_FLOAT64: return 4;
    default: return 1;
    }
}

bool ev_mb_type_signed(ev_mb_type t)
{
    return t == EV_MB_INT16 || t == EV_MB_INT32 || t == EV_MB_INT64;
}

static bool word_swapped(ev_mb_order o)
{
    return o == EV_MB_CDAB || o == EV_MB_DCBA;
}

static bool byte_swapped(ev_mb_order o)
{
    return o == EV_MB_BADC || o == EV_MB_DCBA;
}

static uint16_t swap16(uint16_t w)
{
    return (uint16_t)((w << 8) | (w >> 8));
}

uint64_t ev_mb_assemble(const uint16_t *regs, unsigned nwords, ev_mb_order order)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < nwords; i++) {
        uint16_t w = regs[word_swapped(order) ? nwords - 1 - i : i];
        v = v << 16 | (byte_swapped(order) ? swap16(w) : w);
    }
    return v;
}

/* The double nearest the shortest decimal that reads back as f: a
 * float32 50.01 is 50.0099983215332 as a double, but the device meant
 * 50.01, and that is what a store and a person should see. */
static double float_as_decimal(float f)
{
    if (!isfinite(f))
        return f;
    char buf[32];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        double d = strtod(buf, NULL);
        if ((float)d == f)
            return d;
    }
    return f;
}

void ev_mb_decode(const ev_mb_read *r, const uint16_t *regs, ev_mb_value *out)
{
    unsigned n = ev_mb_type_words(r->type);
    uint64_t b = r->type == EV_MB_BOOL ? (regs[0] ? 1u : 0u) : ev_mb_assemble(regs, n, r->order);
    memset(out, 0, sizeof *out);
    out->bits = b;
    out->nbits = r->type == EV_MB_BOOL ? 1 : 16 * n;
    if (r->width) {
        uint64_t mask = r->width >= 64 ? UINT64_MAX : (UINT64_C(1) << r->width) - 1;
        out->kind = EV_MB_V_UINT;
        out->u = (b >> r->bit) & mask;
        return;
    }
    switch (r->type) {
    case EV_MB_INT16: out->kind = EV_MB_V_INT; out->i = (int16_t)(uint16_t)b; break;
    case EV_MB_INT32: out->kind = EV_MB_V_INT; out->i = (int32_t)(uint32_t)b; break;
    case EV_MB_INT64: out->kind = EV_MB_V_INT; out->i = (int64_t)b; break;
    case EV_MB_FLOAT32: {
        uint32_t u32 = (uint32_t)b;
        float f;
        memcpy(&f, &u32, sizeof f);
        out->kind = EV_MB_V_FLOAT;
        out->d = float_as_decimal(f);
        break;
    }
    case EV_MB_FLOAT64: {
        double d;
        memcpy(&d, &b, sizeof d);
        out->kind = EV_MB_V_FLOAT;
        out->d = d;
        break;
    }
    default: out->kind = EV_MB_V_UINT; out->u = b; break;
    }
}

void ev_mb_encode(ev_mb_type t, ev_mb_order o, double v, uint16_t *regs)
{
    unsigned n = ev_mb_type_words(t);
    uint64_t b;
    if (t == EV_MB_FLOAT32) {
        float f = (float)v;
        uint32_t u32;
        memcpy(&u32, &f, sizeof u32);
        b = u32;
    } else if (t == EV_MB_FLOAT64) {
        memcpy(&b, &v, sizeof b);
    } else if (ev_mb_type_signed(t)) {
        b = (uint64_t)(int64_t)trunc(v);
    } else if (t == EV_MB_BOOL) {
        regs[0] = v != 0;
        return;
    } else {
        b = (uint64_t)trunc(v);
    }
    /* most significant word first, then place it as the order says */
    for (unsigned i = 0; i < n; i++) {
        uint16_t w = (uint16_t)(b >> (16 * (n - 1 - i)));
        regs[word_swapped(o) ? n - 1 - i : i] = byte_swapped(o) ? swap16(w) : w;
    }
}

char *ev_mb_read_format(const ev_mb_read *r, char *buf, size_t len)
{
    if (r->type == EV_MB_BOOL)
        snprintf(buf, len, "FC%u %u", r->fc, r->addr);
    else if (r->width == 1)
        snprintf(buf, len, "FC%u %u %s bit %u", r->fc, r->addr, ev_mb_type_name(r->type), r->bit);
    else if (r->width)
        snprintf(buf, len, "FC%u %u %s bits %u-%u", r->fc, r->addr, ev_mb_type_name(r->type), r->bit,
                 r->bit + r->width - 1);
    else if (ev_mb_type_words(r->type) == 1 && (r->order == EV_MB_ABCD || r->order == EV_MB_CDAB))
        snprintf(buf, len, "FC%u %u %s", r->fc, r->addr, ev_mb_type_name(r->type));
    else
        snprintf(buf, len, "FC%u %u %s %s", r->fc, r->addr, ev_mb_type_name(r->type),
                 ev_mb_order_name(r->order));
    return buf;
}
