/*
 * buf.c - growable byte buffer. Allocation failure is sticky (b->oom) so
 * callers can append freely and check once at the end.
 */
#include "agent/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ev_buf_init(ev_buf *b)
{
    memset(b, 0, sizeof *b);
}

void ev_buf_free(ev_buf *b)
{
    free(b->p);
    ev_buf_init(b);
}

void ev_buf_reset(ev_buf *b)
{
    b->len = 0;
    b->oom = 0;
}

int ev_buf_reserve(ev_buf *b, size_t extra)
{
    if (b->oom)
        return -1;
    size_t need = b->len + extra + 1; /* room for a NUL */
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void ev_buf_put(ev_buf *b, const void *p, size_t n)
{
    if (ev_buf_reserve(b, n) < 0)
        return;
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

void ev_buf_puts(ev_buf *b, const char *s)
{
    ev_buf_put(b, s, strlen(s));
}

void ev_buf_putc(ev_buf *b, char c)
{
    if (ev_buf_reserve(b, 1) < 0)
        return;
    b->p[b->len++] = c;
}

void ev_buf_printf(ev_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || ev_buf_reserve(b, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *ev_buf_cstr(ev_buf *b)
{
    if (ev_buf_reserve(b, 0) < 0)
        return "";
    b->p[b->len] = '\0';
    return b->p;
}
