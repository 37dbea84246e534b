/*
 * lineq.h - a bounded FIFO of encoded lines (one line protocol line each),
 * the in-memory queue of an HTTP output.
 *
 * The bound counts the lines queued plus the lines the sender has taken
 * and not yet settled ("reserved"), so memory stays bounded while a batch
 * is being retried. When full, the oldest queued line is dropped (the
 * newest data matters most to an operator); with nothing queued (the
 * sender holds everything) the new line is refused instead, so the batch
 * in flight keeps its order. Not thread-safe: the owner holds its lock.
 *
 * This is the seam for the disk spool: a spool would take the lines this
 * queue drops (and give them back when the store is up again) instead of
 * losing them.
 */
#ifndef EVMON_LINEQ_H
#define EVMON_LINEQ_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t len; /* bytes, including the trailing '\n' */
    char s[];
} ev_line;

typedef struct {
    ev_line **ring;
    size_t cap, head, n;
    size_t max;      /* bound on n + reserved (at least 1) */
    size_t reserved; /* lines held by the sender, set by the owner */
} ev_lineq;

void ev_lineq_init(ev_lineq *q, size_t max);
void ev_lineq_free(ev_lineq *q);

typedef enum {
    EV_LINEQ_QUEUED,         /* appended */
    EV_LINEQ_DROPPED_OLDEST, /* appended, after dropping the oldest line */
    EV_LINEQ_REFUSED,        /* full of lines in flight: not appended */
    EV_LINEQ_NOMEM,          /* out of memory: not appended */
} ev_lineq_result;

/* Append a copy of line[0..len), respecting the bound. */
ev_lineq_result ev_lineq_push(ev_lineq *q, const char *line, size_t len);

/* Move up to max lines from the front into out[]; the caller owns them
 * (free() each). Returns how many. */
size_t ev_lineq_take(ev_lineq *q, ev_line **out, size_t max);

static inline size_t ev_lineq_len(const ev_lineq *q)
{
    return q->n;
}

#endif
