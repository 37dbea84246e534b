/*
 * buf.h - a growable byte buffer (line protocol, HTTP bodies, topics).
 */
#ifndef EVMON_BUF_H
#define EVMON_BUF_H

#include <stddef.h>

typedef struct {
    char *p;
    size_t len, cap;
    int oom; /* set once an allocation failed; further appends are no-ops */
} ev_buf;

void ev_buf_init(ev_buf *b);
void ev_buf_free(ev_buf *b);
void ev_buf_reset(ev_buf *b);
int ev_buf_reserve(ev_buf *b, size_t extra);
void ev_buf_put(ev_buf *b, const void *p, size_t n);
void ev_buf_puts(ev_buf *b, const char *s);
void ev_buf_putc(ev_buf *b, char c);
void ev_buf_printf(ev_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* NUL-terminate without counting it in len; returns b->p (never NULL). */
const char *ev_buf_cstr(ev_buf *b);

#endif
