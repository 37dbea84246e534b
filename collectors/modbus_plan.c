/*
 * modbus_plan.c - merging a profile's register reads into requests (see
 * modbus_plan.h). Sort by (function, address), then one pass: a read
 * joins the open request when it starts within max_gap of its end and the
 * request would stay within the size limit, else it opens a new one.
 */
#include "collectors/modbus_plan.h"

#include <stdlib.h>
#include <string.h>

#include "collectors/modbus_pdu.h"

typedef struct {
    const ev_mb_read *reads;
} sort_ctx;

static int cmp_read(const void *a, const void *b, void *ud)
{
    const ev_mb_read *r = ((sort_ctx *)ud)->reads;
    const ev_mb_read *x = &r[*(const size_t *)a], *y = &r[*(const size_t *)b];
    if (x->fc != y->fc)
        return x->fc < y->fc ? -1 : 1;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return 0;
}

static unsigned span(const ev_mb_read *r)
{
    return ev_mb_type_words(r->type); /* a bool is one bit */
}

int ev_mb_plan_build(ev_mb_plan *p, const ev_mb_read *reads, size_t n, unsigned max_gap,
                     unsigned max_count)
{
    memset(p, 0, sizeof *p);
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    p->reqs = malloc((n ? n : 1) * sizeof *p->reqs);
    p->req_of = malloc((n ? n : 1) * sizeof *p->req_of);
    p->offset = malloc((n ? n : 1) * sizeof *p->offset);
    if (!order || !p->reqs || !p->req_of || !p->offset) {
        free(order);
        ev_mb_plan_free(p);
        return -1;
    }
    p->nreads = n;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    sort_ctx sc = {reads};
    qsort_r(order, n, sizeof *order, cmp_read, &sc);

    ev_mb_request *cur = NULL;
    unsigned end = 0; /* one past the open request's last register */
    for (size_t k = 0; k < n; k++) {
        const ev_mb_read *r = &reads[order[k]];
        unsigned limit = ev_mb_max_count(r->fc);
        if (limit == EV_MB_MAX_REGS && max_count && max_count < limit)
            limit = max_count;
        unsigned r_end = (unsigned)r->addr + span(r);
        bool join = cur && cur->fc == r->fc && r->addr <= end + max_gap &&
                    (r_end > end ? r_end : end) - cur->addr <= limit;
        if (!join) {
            cur = &p->reqs[p->nreqs++];
            *cur = (ev_mb_request){.fc = r->fc, .addr = r->addr};
            end = r->addr;
        }
        if (r_end > end)
            end = r_end;
        cur->count = (uint16_t)(end - cur->addr);
        cur->nreads++;
        p->req_of[order[k]] = p->nreqs - 1;
        p->offset[order[k]] = (uint16_t)(r->addr - cur->addr);
    }
    free(order);
    return 0;
}

void ev_mb_plan_free(ev_mb_plan *p)
{
    free(p->reqs);
    free(p->req_of);
    free(p->offset);
    memset(p, 0, sizeof *p);
}
