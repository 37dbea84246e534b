/*
 * lineq.c - bounded FIFO of lines in a growable ring (see lineq.h).
 */
#include "agent/outputs/lineq.h"

#include <stdlib.h>
#include <string.h>

void ev_lineq_init(ev_lineq *q, size_t max)
{
    memset(q, 0, sizeof *q);
    q->max = max ? max : 1;
}

void ev_lineq_free(ev_lineq *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->ring[(q->head + i) % q->cap]);
    free(q->ring);
    size_t max = q->max;
    ev_lineq_init(q, max);
}

/* Make room for one more line in the ring (not the bound: the storage). */
static int grow(ev_lineq *q)
{
    if (q->n < q->cap)
        return 0;
    size_t cap = q->cap ? q->cap * 2 : 64;
    ev_line **ring = malloc(cap * sizeof *ring);
    if (!ring)
        return -1;
    for (size_t i = 0; i < q->n; i++)
        ring[i] = q->ring[(q->head + i) % q->cap];
    free(q->ring);
    q->ring = ring;
    q->cap = cap;
    q->head = 0;
    return 0;
}

static void drop_oldest(ev_lineq *q)
{
    free(q->ring[q->head]);
    q->head = (q->head + 1) % q->cap;
    q->n--;
}

ev_lineq_result ev_lineq_push(ev_lineq *q, const char *line, size_t len)
{
    if (q->n + q->reserved >= q->max && q->n == 0)
        return EV_LINEQ_REFUSED; /* everything is in flight: refuse the newest */
    if (len > UINT32_MAX)
        return EV_LINEQ_NOMEM;
    ev_line *l = malloc(sizeof *l + len);
    if (!l)
        return EV_LINEQ_NOMEM;
    l->len = (uint32_t)len;
    memcpy(l->s, line, len);
    ev_lineq_result rc = EV_LINEQ_QUEUED;
    if (q->n + q->reserved >= q->max) {
        drop_oldest(q); /* frees a ring slot: grow() below cannot fail */
        rc = EV_LINEQ_DROPPED_OLDEST;
    }
    if (grow(q) < 0) {
        free(l);
        return EV_LINEQ_NOMEM;
    }
    q->ring[(q->head + q->n) % q->cap] = l;
    q->n++;
    return rc;
}

size_t ev_lineq_take(ev_lineq *q, ev_line **out, size_t max)
{
    size_t k = q->n < max ? q->n : max;
    for (size_t i = 0; i < k; i++) {
        out[i] = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
    }
    q->n -= k;
    return k;
}
