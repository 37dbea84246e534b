/*
 * diag.h - a list of "FILE:LINE: message" diagnostics.
 *
 * Config and profile loaders do not stop at the first problem: they collect
 * every diagnostic here so `evmon check` can show them all at once, each
 * naming the file, the line and the field at fault.
 */
#ifndef EVMON_DIAG_H
#define EVMON_DIAG_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    char **msgs;
    size_t n, cap;
} ev_diag;

/* Append "file:line: message" (line 0 omits the line number). */
void ev_diag_add(ev_diag *d, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void ev_diag_print(const ev_diag *d, FILE *to);
void ev_diag_free(ev_diag *d);

#endif
