/*
 * fuzz_lineproto.c - libFuzzer target: the line-protocol encoder
 * (agent/lineproto.c), checked by a round trip through the hub's parser
 * (agent/lineparse.c). The input is read as a small program that builds
 * points through the point API (measurement, tags, typed fields,
 * timestamp) from ASCII text rich in line protocol's special characters;
 * every point the encoder writes must parse back, alone on its line, to the
 * same measurement, tags and fields, as the encoder documents: non-finite
 * floats left out, a backslash that cannot be kept doubled, no measurement
 * starting with '#' or a tab. Seeds:
 * tests/fuzz/corpus/fuzz_lineproto/.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/buf.h"
#include "agent/lineparse.h"
#include "agent/lineproto.h"
#include "agent/point.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The line being checked, shown when a check fails. */
static const char *cur_line;
static size_t cur_len;

static void __attribute__((noreturn)) fail(const char *why)
{
    fprintf(stderr, "fuzz_lineproto: %s\nline: %.*s\n", why, (int)cur_len, cur_line ? cur_line : "");
    abort();
}

typedef struct {
    const uint8_t *p;
    size_t n;
} input;

static unsigned take(input *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

/* Text of up to 15 characters, rich in what line protocol treats specially. */
static void take_from(input *in, char *out, const char *alphabet, size_t n)
{
    size_t len = take(in) & 15;
    for (size_t i = 0; i < len; i++)
        out[i] = alphabet[take(in) % n];
    out[len] = 0;
}

static const char any_text[] = "ab,= \"\\#xyz0.-\t";
/* Keys (from code and profiles, never from devices) hold no backslash: two
 * keys that differ only in backslashes could read back the same. */
static const char key_text[] = "ab,= \"#xyz0.-\t";
#define take_text(in, out) take_from(in, out, any_text, sizeof any_text - 1)
#define take_key(in, out) take_from(in, out, key_text, sizeof key_text - 1)

/* What must read back for a measurement, key or tag value s written with
 * these special characters: a backslash pairs with an ordinary character
 * after it, and is doubled before a special one or at the end. */
static const char *expect_name(char *buf, const char *s, const char *specials)
{
    char *o = buf;
    for (; *s; s++) {
        if (*s == '\\' && s[1] && !strchr(specials, s[1])) {
            *o++ = *s++;
            *o++ = *s;
        } else if (*s == '\\') {
            *o++ = '\\';
            *o++ = '\\';
        } else {
            *o++ = *s;
        }
    }
    *o = 0;
    return buf;
}

#define KEY ",= "

static void build(ev_batch *b, input *in)
{
    char m[16], k[16], v[16];
    take_text(in, m);
    if (*m == '#' || *m == '\t') /* the encoder writes no such point */
        *m = 'm';
    ev_point *p = ev_batch_add(b, m, (int64_t)(take(in) + 1) * 1000000007LL);
    if (!p)
        abort();
    for (unsigned t = take(in) & 3; t; t--) {
        take_key(in, k);
        take_text(in, v);
        if (*k)
            ev_point_tag(b, p, k, v);
    }
    for (unsigned f = 1 + (take(in) & 3); f; f--) {
        take_key(in, k);
        if (!*k)
            continue;
        unsigned kind = take(in) % 5;
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++)
            bits = bits << 8 | take(in);
        double d;
        memcpy(&d, &bits, sizeof d);
        switch (kind) {
        case 0: ev_point_float(b, p, k, d); break;
        case 1: ev_point_int(b, p, k, (int64_t)bits); break;
        case 2: ev_point_uint(b, p, k, bits); break;
        case 3: ev_point_bool(b, p, k, bits & 1); break;
        default: take_text(in, v); ev_point_str(b, p, k, v); break;
        }
    }
}

static bool same_field(const ev_field *want, const ev_field *got)
{
    if (want->type != got->type)
        return false;
    switch (want->type) {
    case EV_FLOAT: return want->v.f == got->v.f;
    case EV_INT: return want->v.i == got->v.i;
    case EV_UINT: return want->v.u == got->v.u;
    case EV_BOOL: return want->v.b == got->v.b;
    case EV_STR: return !strcmp(want->v.s, got->v.s);
    }
    return false;
}

/* The parsed point got must be the built point want, as encoded. */
static void compare(const ev_point *want, const ev_point *got)
{
    char e[64];
    if (strcmp(expect_name(e, want->measurement, ", "), got->measurement))
        fail("measurement differs");
    if (want->ts_ns != got->ts_ns || want->ntags != got->ntags)
        fail("timestamp or number of tags differs");
    for (size_t i = 0; i < want->ntags; i++) {
        const char *val = ev_point_get_tag(got, expect_name(e, want->tags[i].key, KEY));
        char ev[64];
        if (!val || strcmp(expect_name(ev, want->tags[i].val, KEY), val))
            fail("a tag differs");
    }
    size_t nwritten = 0;
    for (size_t i = 0; i < want->nfields; i++) {
        const ev_field *f = &want->fields[i];
        if (f->type == EV_FLOAT && !isfinite(f->v.f))
            continue;
        nwritten++;
        const ev_field *g = ev_point_get_field(got, expect_name(e, f->key, KEY));
        if (!g || !same_field(f, g))
            fail("a field differs");
    }
    if (nwritten != got->nfields)
        fail("number of fields differs");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {data, size};
    ev_batch *b = ev_batch_new(), *back = ev_batch_new();
    ev_buf out;
    ev_buf_init(&out);
    if (!b || !back)
        abort();
    for (unsigned n = 1 + (take(&in) & 3); n; n--)
        build(b, &in);
    for (size_t i = 0; i < b->n; i++) {
        ev_buf_reset(&out);
        if (ev_lp_point(&out, &b->pts[i], EV_PREC_NS) < 0)
            continue; /* no measurement or no writable field: nothing written */
        cur_line = out.p;
        cur_len = out.len - 1;
        if (memchr(out.p, '\n', out.len) != out.p + out.len - 1)
            fail("more than one line for one point");
        ev_lp_error err = {0};
        ev_batch_clear(back);
        if (ev_lp_parse_line(back, out.p, out.len - 1, EV_PREC_NS, &err) != 1 || back->n != 1)
            fail(err.msg[0] ? err.msg : "the parser took no point from the line");
        compare(&b->pts[i], &back->pts[0]);
    }
    ev_buf_free(&out);
    ev_batch_free(back);
    ev_batch_free(b);
    return 0;
}
