/*
 * diag.c - the "FILE:LINE: message" list that config and profile loaders
 * fill (see diag.h). Messages are formatted once, when added, and owned by
 * the list; `evmon check` prints them all, the agent logs them at start.
 *
 * Out of memory while adding drops that one message: a loader still counts
 * its own errors, so a lost message never turns a bad file into a good one.
 */
#include "agent/diag.h"

#include <stdarg.h>
#include <stdlib.h>

static int diag_grow(ev_diag *d)
{
    if (d->n < d->cap)
        return 0;
    size_t cap = d->cap ? d->cap * 2 : 16;
    char **msgs = realloc(d->msgs, cap * sizeof *msgs);
    if (!msgs)
        return -1;
    d->msgs = msgs;
    d->cap = cap;
    return 0;
}

void ev_diag_add(ev_diag *d, const char *file, unsigned line, const char *fmt, ...)
{
    char *text = NULL, *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    int rc = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (rc < 0)
        return;

    if (line)
        rc = asprintf(&msg, "%s:%u: %s", file ? file : "-", line, text);
    else
        rc = asprintf(&msg, "%s: %s", file ? file : "-", text);
    free(text);
    if (rc < 0)
        return;

    if (diag_grow(d) < 0) {
        free(msg);
        return;
    }
    d->msgs[d->n++] = msg;
}

void ev_diag_print(const ev_diag *d, FILE *to)
{
    for (size_t i = 0; i < d->n; i++)
        fprintf(to, "%s\n", d->msgs[i]);
}

void ev_diag_free(ev_diag *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->msgs[i]);
    free(d->msgs);
    d->msgs = NULL;
    d->n = d->cap = 0;
}
