/*
 * influx_resp.c - classify InfluxDB 1.x /write answers, parse Retry-After
 * and the JSON error body (see influx_resp.h).
 *
 * The error body is one flat object, {"error":"..."}; a tiny scanner for
 * that shape is enough and keeps the output free of a JSON dependency.
 */
#include "agent/outputs/influx_resp.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

ev_inf_verdict ev_inf_classify(long http_status)
{
    if (http_status >= 200 && http_status < 300)
        return EV_INF_OK;
    switch (http_status) {
    case 400: return EV_INF_REJECTED;
    case 401:
    case 403: return EV_INF_AUTH;
    case 404: return EV_INF_NO_DB;
    case 413: return EV_INF_TOO_LARGE;
    default: return EV_INF_RETRY;
    }
}

long long ev_retry_after_ms(const char *value, time_t now)
{
    if (!value)
        return -1;
    while (isspace((unsigned char)*value))
        value++;
    size_t len = strlen(value);
    while (len && isspace((unsigned char)value[len - 1]))
        len--;
    if (!len)
        return -1;
    size_t digits = strspn(value, "0123456789");
    if (digits == len) {
        if (digits > 9) /* more than ~31 years: cap, the caller caps further */
            return 999999999LL * 1000;
        return strtoll(value, NULL, 10) * 1000;
    }
    char date[64];
    if (len >= sizeof date)
        return -1;
    memcpy(date, value, len);
    date[len] = '\0';
    time_t when = curl_getdate(date, NULL);
    if (when == (time_t)-1)
        return -1;
    return when > now ? (long long)(when - now) * 1000 : 0;
}

/* ---- {"error":"..."} -------------------------------------------------- */

typedef struct {
    const char *p, *end;
} scan;

static void skip_ws(scan *s)
{
    while (s->p < s->end && isspace((unsigned char)*s->p))
        s->p++;
}

static int hex4(const char *p, const char *end, unsigned *v)
{
    if (end - p < 4)
        return -1;
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int c = (unsigned char)p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        *v = *v * 16 + (unsigned)d;
    }
    return 0;
}

/* Append byte c to out[*n] if there is room (one byte kept for the NUL). */
static void emit(char *out, size_t outsz, size_t *n, char c)
{
    if (out && *n + 1 < outsz)
        out[(*n)++] = c;
}

static void emit_utf8(char *out, size_t outsz, size_t *n, unsigned cp)
{
    if (cp < 0x80) {
        emit(out, outsz, n, (char)cp);
    } else if (cp < 0x800) {
        emit(out, outsz, n, (char)(0xc0 | cp >> 6));
        emit(out, outsz, n, (char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        emit(out, outsz, n, (char)(0xe0 | cp >> 12));
        emit(out, outsz, n, (char)(0x80 | ((cp >> 6) & 0x3f)));
        emit(out, outsz, n, (char)(0x80 | (cp & 0x3f)));
    } else {
        emit(out, outsz, n, (char)(0xf0 | cp >> 18));
        emit(out, outsz, n, (char)(0x80 | ((cp >> 12) & 0x3f)));
        emit(out, outsz, n, (char)(0x80 | ((cp >> 6) & 0x3f)));
        emit(out, outsz, n, (char)(0x80 | (cp & 0x3f)));
    }
}

/* Read a JSON string at s->p (which must be '"'), decoding it into out
 * (NULL to skip). 0, or -1 when malformed. */
static int read_string(scan *s, char *out, size_t outsz)
{
    size_t n = 0;
    if (s->p >= s->end || *s->p != '"')
        return -1;
    s->p++;
    while (s->p < s->end && *s->p != '"') {
        char c = *s->p++;
        if (c != '\\') {
            emit(out, outsz, &n, c);
            continue;
        }
        if (s->p >= s->end)
            return -1;
        c = *s->p++;
        switch (c) {
        case 'n': emit(out, outsz, &n, '\n'); break;
        case 't': emit(out, outsz, &n, '\t'); break;
        case 'r': emit(out, outsz, &n, '\r'); break;
        case 'b': emit(out, outsz, &n, '\b'); break;
        case 'f': emit(out, outsz, &n, '\f'); break;
        case 'u': {
            unsigned cp, lo;
            if (hex4(s->p, s->end, &cp) < 0)
                return -1;
            s->p += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && s->end - s->p >= 6 && s->p[0] == '\\' &&
                s->p[1] == 'u' && hex4(s->p + 2, s->end, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                s->p += 6;
            }
            emit_utf8(out, outsz, &n, cp);
            break;
        }
        default: emit(out, outsz, &n, c); break; /* \" \\ \/ */
        }
    }
    if (s->p >= s->end)
        return -1;
    s->p++; /* closing quote */
    if (out && outsz)
        out[n] = '\0';
    return 0;
}

/* Skip one JSON value that is not a string we want: a string, or anything
 * up to the next ',' or '}' at this depth. */
static int skip_value(scan *s)
{
    if (s->p < s->end && *s->p == '"')
        return read_string(s, NULL, 0);
    int depth = 0;
    while (s->p < s->end) {
        char c = *s->p;
        if (c == '"') {
            if (read_string(s, NULL, 0) < 0)
                return -1;
            continue;
        }
        if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']') {
            if (depth == 0)
                return 0;
            depth--;
        } else if (c == ',' && depth == 0)
            return 0;
        s->p++;
    }
    return -1;
}

static void copy_raw(const char *body, size_t len, char *out, size_t outsz)
{
    size_t n = len < outsz - 1 ? len : outsz - 1;
    if (body)
        memcpy(out, body, n);
    else
        n = 0;
    while (n && isspace((unsigned char)out[n - 1]))
        n--;
    out[n] = '\0';
}

int ev_inf_error_text(const char *body, size_t len, char *out, size_t outsz)
{
    if (!out || !outsz)
        return -1;
    copy_raw(body, len, out, outsz);
    if (!body)
        return -1;
    scan s = {body, body + len};
    skip_ws(&s);
    if (s.p >= s.end || *s.p != '{')
        return -1;
    s.p++;
    for (;;) {
        char key[16];
        skip_ws(&s);
        if (read_string(&s, key, sizeof key) < 0)
            return -1;
        skip_ws(&s);
        if (s.p >= s.end || *s.p != ':')
            return -1;
        s.p++;
        skip_ws(&s);
        if (strcmp(key, "error") == 0 && s.p < s.end && *s.p == '"') {
            if (read_string(&s, out, outsz) == 0)
                return 0;
            copy_raw(body, len, out, outsz); /* malformed: show it as it came */
            return -1;
        }
        if (skip_value(&s) < 0)
            return -1;
        skip_ws(&s);
        if (s.p >= s.end || *s.p != ',')
            return -1;
        s.p++;
    }
}

/* ---- counting rejected lines ------------------------------------------ */

static size_t count_occurrences(const char *hay, const char *needle)
{
    size_t n = 0, nl = strlen(needle);
    for (const char *p = strstr(hay, needle); p; p = strstr(p + nl, needle))
        n++;
    return n;
}

size_t ev_inf_rejected(const char *error_text, size_t n)
{
    if (!error_text || !strstr(error_text, "partial write"))
        return n;
    size_t rejected = count_occurrences(error_text, "unable to parse");
    const char *last = NULL;
    for (const char *p = strstr(error_text, "dropped="); p; p = strstr(p + 1, "dropped="))
        last = p;
    if (last)
        rejected += (size_t)strtoull(last + strlen("dropped="), NULL, 10);
    if (rejected == 0)
        rejected = 1;
    return rejected > n ? n : rejected;
}
