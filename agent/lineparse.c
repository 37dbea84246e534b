/*
 * lineparse.c - parse InfluxDB line protocol into points (lineparse.h).
 *
 * One line at a time: its parts are unescaped into a scratch buffer and
 * checked into a local point first, and only a line found good throughout
 * is copied into the batch, so a refused line leaves nothing behind. Every
 * refusal names the line, the column and the part at fault.
 */
#include "agent/lineparse.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *s;
    size_t len, pos;
    char *out; /* unescaped texts, each NUL-terminated */
    size_t outlen;
    ev_lp_error *err;
} lp;

static int fail(lp *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(lp *p, size_t at, const char *fmt, ...)
{
    va_list ap;
    p->err->col = (unsigned)(at + 1);
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static void emit(lp *p, char c)
{
    p->out[p->outlen++] = c;
}

/* Offset of the first byte that is not valid UTF-8, or -1. */
static long utf8_bad_at(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; s[i];) {
        unsigned c = s[i];
        size_t n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : 9;
        if (n == 9 || (n == 1 && c < 0xC2) || (n == 3 && c > 0xF4))
            return (long)i;
        unsigned cp = n ? c & (0x3Fu >> n) : c;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return (long)i;
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return (long)i;
        i += n + 1;
    }
    return -1;
}

/* An escaped name up to an unescaped byte of `stops` (or the end of the
 * line), unescaped into p->out. A backslash before a byte of `escapable`
 * yields that byte; before any other byte both are kept. */
static const char *scan_name(lp *p, const char *escapable, const char *stops)
{
    const char *start = p->out + p->outlen;
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c == '\\' && p->pos + 1 < p->len) {
            char next = p->s[p->pos + 1];
            if (!strchr(escapable, next))
                emit(p, '\\');
            emit(p, next);
            p->pos += 2;
            continue;
        }
        if (strchr(stops, c))
            break;
        emit(p, c);
        p->pos++;
    }
    emit(p, '\0');
    return start;
}

static int check_utf8(lp *p, size_t at, const char *what, const char *s)
{
    long bad = utf8_bad_at(s);
    if (bad >= 0)
        return fail(p, at, "%s: invalid UTF-8 (byte %ld of the text)", what, bad + 1);
    return 0;
}

static bool at_end(const lp *p)
{
    return p->pos >= p->len;
}

static char cur(const lp *p)
{
    return at_end(p) ? '\0' : p->s[p->pos];
}

static void skip_spaces(lp *p)
{
    while (!at_end(p) && p->s[p->pos] == ' ')
        p->pos++;
}

/* ---- measurement and tags ---------------------------------------------- */

static int parse_measurement(lp *p, ev_point *pt)
{
    size_t at = p->pos;
    pt->measurement = scan_name(p, ", ", ", ");
    if (!*pt->measurement)
        return fail(p, at, "missing measurement name");
    return check_utf8(p, at, "measurement", pt->measurement);
}

static int parse_tag(lp *p, ev_point *pt)
{
    size_t at = p->pos;
    const char *key = scan_name(p, ",= ", ",= ");
    if (!*key)
        return fail(p, at, "empty tag key");
    if (cur(p) != '=')
        return fail(p, at, "tag '%.60s' has no value (expected %.60s=value)", key, key);
    p->pos++;
    size_t vat = p->pos;
    const char *val = scan_name(p, ",= ", ",= ");
    if (cur(p) == '=')
        return fail(p, p->pos, "tag '%.60s': unescaped '=' in the value (write it as \\=)", key);
    if (!*val)
        return fail(p, vat, "tag '%.60s' has an empty value", key);
    if (check_utf8(p, at, "tag key", key) < 0 || check_utf8(p, vat, "tag value", val) < 0)
        return -1;
    for (size_t i = 0; i < pt->ntags; i++)
        if (!strcmp(pt->tags[i].key, key))
            return fail(p, at, "duplicate tag '%.60s'", key);
    if (pt->ntags == EV_MAX_TAGS)
        return fail(p, at, "too many tags (at most %d)", EV_MAX_TAGS);
    pt->tags[pt->ntags++] = (ev_tag){key, val};
    return 0;
}

/* ---- field values -------------------------------------------------------- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* -?(digits[.digits]|.digits)([eE][+-]?digits)? over the whole token. */
static bool float_syntax(const char *t, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && t[i] == '-')
        i++;
    for (; i < n && is_digit(t[i]); i++)
        digits++;
    if (i < n && t[i] == '.')
        for (i++; i < n && is_digit(t[i]); i++)
            digits++;
    if (!digits)
        return false;
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        if (i < n && (t[i] == '+' || t[i] == '-'))
            i++;
        size_t exp = 0;
        for (; i < n && is_digit(t[i]); i++)
            exp++;
        if (!exp)
            return false;
    }
    return i == n;
}

static bool all_digits(const char *t, size_t n)
{
    if (!n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_digit(t[i]))
            return false;
    return true;
}

static int bool_value(const char *t)
{
    static const char *const yes[] = {"t", "T", "true", "True", "TRUE"}, *const no[] = {"f", "F", "false", "False", "FALSE"};
    for (size_t i = 0; i < 5; i++) {
        if (!strcmp(t, yes[i]))
            return 1;
        if (!strcmp(t, no[i]))
            return 0;
    }
    return -1;
}

static int parse_string_value(lp *p, const char *key, ev_field *f)
{
    size_t at = p->pos++;
    const char *start = p->out + p->outlen;
    for (;;) {
        if (at_end(p))
            return fail(p, at, "field '%.60s': unterminated string (no closing '\"')", key);
        char c = p->s[p->pos];
        if (c == '\\' && p->pos + 1 < p->len && (p->s[p->pos + 1] == '"' || p->s[p->pos + 1] == '\\')) {
            emit(p, p->s[p->pos + 1]);
            p->pos += 2;
            continue;
        }
        p->pos++;
        if (c == '"')
            break;
        emit(p, c);
    }
    emit(p, '\0');
    if (!at_end(p) && cur(p) != ',' && cur(p) != ' ')
        return fail(p, p->pos, "field '%.60s': unexpected text after the closing '\"'", key);
    f->type = EV_STR;
    f->v.s = start;
    return check_utf8(p, at, "string field", start);
}

/* A number or boolean: the bytes up to ',', ' ' or the end. */
static int parse_plain_value(lp *p, const char *key, ev_field *f)
{
    size_t at = p->pos;
    while (!at_end(p) && cur(p) != ',' && cur(p) != ' ')
        p->pos++;
    size_t n = p->pos - at;
    if (!n)
        return fail(p, at, "field '%.60s' has no value", key);
    char tok[64];
    if (n >= sizeof tok)
        return fail(p, at, "field '%.60s': value too long for a number (%zu bytes)", key, n);
    memcpy(tok, p->s + at, n);
    tok[n] = 0;

    int b = bool_value(tok);
    if (b >= 0) {
        f->type = EV_BOOL;
        f->v.b = b;
        return 0;
    }
    char last = tok[n - 1];
    errno = 0;
    if (last == 'i') {
        const char *digits = tok[0] == '-' ? tok + 1 : tok;
        if (!all_digits(digits, (size_t)(tok + n - 1 - digits)))
            return fail(p, at, "field '%.60s': bad integer '%s' (expected e.g. 42i or -7i)", key, tok);
        f->type = EV_INT;
        f->v.i = strtoll(tok, NULL, 10);
        if (errno == ERANGE)
            return fail(p, at, "field '%.60s': integer '%s' out of range (64-bit signed)", key, tok);
        return 0;
    }
    if (last == 'u') {
        if (!all_digits(tok, n - 1))
            return fail(p, at, "field '%.60s': bad unsigned integer '%s' (expected e.g. 42u)", key, tok);
        f->type = EV_UINT;
        f->v.u = strtoull(tok, NULL, 10);
        if (errno == ERANGE)
            return fail(p, at, "field '%.60s': unsigned integer '%s' out of range (64-bit)", key, tok);
        return 0;
    }
    if (!float_syntax(tok, n))
        return fail(p, at, "field '%.60s': bad value '%s' (expected a number, 12i, 12u, true/false or a \"string\")",
                    key, tok);
    f->type = EV_FLOAT;
    f->v.f = strtod(tok, NULL);
    if (!isfinite(f->v.f))
        return fail(p, at, "field '%.60s': number '%s' out of range", key, tok);
    return 0;
}

static int parse_field(lp *p, ev_point *pt)
{
    size_t at = p->pos;
    const char *key = scan_name(p, ",= ", ",= ");
    if (!*key)
        return fail(p, at, "empty field key");
    if (cur(p) != '=')
        return fail(p, at, "field '%.60s' has no value (expected %.60s=value)", key, key);
    p->pos++;
    if (check_utf8(p, at, "field key", key) < 0)
        return -1;
    for (size_t i = 0; i < pt->nfields; i++)
        if (!strcmp(pt->fields[i].key, key))
            return fail(p, at, "duplicate field '%.60s'", key);
    if (pt->nfields == EV_MAX_FIELDS)
        return fail(p, at, "too many fields (at most %d)", EV_MAX_FIELDS);
    ev_field *f = &pt->fields[pt->nfields];
    f->key = key;
    int rc = cur(p) == '"' ? parse_string_value(p, key, f) : parse_plain_value(p, key, f);
    if (rc == 0)
        pt->nfields++;
    return rc;
}

/* ---- timestamp ------------------------------------------------------------ */

static int parse_timestamp(lp *p, ev_precision prec, ev_point *pt)
{
    size_t at = p->pos;
    while (!at_end(p) && cur(p) != ' ')
        p->pos++;
    size_t n = p->pos - at;
    char tok[32];
    const char *t = p->s + at;
    if (n >= sizeof tok || !all_digits(t[0] == '-' ? t + 1 : t, t[0] == '-' ? n - 1 : n))
        return fail(p, at, "bad timestamp '%.*s' (expected an integer)", (int)(n < 40 ? n : 40), t);
    memcpy(tok, t, n);
    tok[n] = 0;
    errno = 0;
    long long v = strtoll(tok, NULL, 10);
    if (errno == ERANGE)
        return fail(p, at, "timestamp '%s' out of range", tok);
    if (prec == EV_PREC_S) {
        if (v > INT64_MAX / 1000000000 || v < INT64_MIN / 1000000000)
            return fail(p, at, "timestamp '%s' out of range for seconds", tok);
        v *= 1000000000;
    }
    pt->ts_ns = v;
    skip_spaces(p);
    if (!at_end(p))
        return fail(p, p->pos, "unexpected text after the timestamp");
    return 0;
}

/* ---- a line ------------------------------------------------------------------ */

static int parse_into(lp *p, ev_precision prec, ev_point *pt)
{
    if (parse_measurement(p, pt) < 0)
        return -1;
    while (cur(p) == ',') {
        p->pos++;
        if (parse_tag(p, pt) < 0)
            return -1;
    }
    if (at_end(p))
        return fail(p, p->pos, "no fields (expected a space, then field=value)");
    skip_spaces(p);
    if (at_end(p))
        return fail(p, p->pos, "no fields after the space (expected field=value)");
    for (;;) {
        if (parse_field(p, pt) < 0)
            return -1;
        if (cur(p) != ',')
            break;
        p->pos++;
    }
    skip_spaces(p);
    return at_end(p) ? 0 : parse_timestamp(p, prec, pt);
}

/* Copy the checked local point into the batch. */
static int commit(ev_batch *b, const ev_point *pt)
{
    ev_point *d = ev_batch_add(b, pt->measurement, pt->ts_ns);
    if (!d)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < pt->ntags && rc == 0; i++)
        rc = ev_point_tag(b, d, pt->tags[i].key, pt->tags[i].val);
    for (size_t i = 0; i < pt->nfields && rc == 0; i++) {
        const ev_field *f = &pt->fields[i];
        switch (f->type) {
        case EV_FLOAT: rc = ev_point_float(b, d, f->key, f->v.f); break;
        case EV_INT: rc = ev_point_int(b, d, f->key, f->v.i); break;
        case EV_UINT: rc = ev_point_uint(b, d, f->key, f->v.u); break;
        case EV_BOOL: rc = ev_point_bool(b, d, f->key, f->v.b); break;
        case EV_STR: rc = ev_point_str(b, d, f->key, f->v.s); break;
        }
    }
    if (rc < 0)
        b->n--; /* d is the last point: take it back whole */
    return rc;
}

int ev_lp_parse_line(ev_batch *b, const char *s, size_t len, ev_precision prec, ev_lp_error *err)
{
    lp p = {.s = s, .len = len, .err = err};
    if (len && s[len - 1] == '\r')
        p.len--;
    while (!at_end(&p) && (cur(&p) == ' ' || cur(&p) == '\t'))
        p.pos++;
    if (at_end(&p) || cur(&p) == '#')
        return 0;
    const char *nul = memchr(s, '\0', p.len);
    if (nul)
        return fail(&p, (size_t)(nul - s), "NUL byte in the line");

    /* unescaped texts are never longer than the line; one NUL per part */
    p.out = malloc(2 * p.len + 2);
    if (!p.out)
        return fail(&p, 0, "out of memory");
    ev_point pt = {0};
    int rc = parse_into(&p, prec, &pt);
    if (rc == 0 && commit(b, &pt) < 0)
        rc = fail(&p, 0, "out of memory");
    free(p.out);
    return rc < 0 ? -1 : 1;
}

size_t ev_lp_parse(ev_batch *b, const char *text, size_t len, ev_precision prec, ev_lp_error *first,
                   size_t *npoints)
{
    size_t bad = 0, points = 0;
    unsigned line = 0;
    for (size_t pos = 0; pos < len || (pos == 0 && len == 0);) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        ev_lp_error err = {.line = ++line};
        int rc = ev_lp_parse_line(b, text + pos, end - pos, prec, &err);
        if (rc > 0)
            points++;
        else if (rc < 0 && bad++ == 0 && first)
            *first = err;
        pos = end + 1;
        if (!nl)
            break;
    }
    if (npoints)
        *npoints = points;
    return bad;
}
