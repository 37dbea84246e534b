/*
 * fixture_batch.h - test-only fixture for the line protocol tests
 * (test_lineproto.c, test_lineparse.c): a batch to fill or parse into and a
 * buffer to encode into, as cmocka setup/teardown, and fx_encode() to
 * encode one point into that buffer. Header-only (static inline, like
 * snmprec.h); not part of the agent.
 */
#ifndef EVMON_TEST_FIXTURE_BATCH_H
#define EVMON_TEST_FIXTURE_BATCH_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "agent/lineproto.h"

typedef struct {
    ev_batch *b;
    ev_buf out;
} fx;

static inline int fx_batch_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->b = ev_batch_new();
    ev_buf_init(&f->out);
    *state = f;
    return 0;
}

static inline int fx_batch_teardown(void **state)
{
    fx *f = *state;
    ev_batch_free(f->b);
    ev_buf_free(&f->out);
    free(f);
    return 0;
}

/* p as one line of protocol at prec, in f->out (valid until the next call);
 * fails the test when p cannot be written. */
static inline const char *fx_encode(fx *f, const ev_point *p, ev_precision prec)
{
    ev_buf_reset(&f->out);
    assert_int_equal(ev_lp_point(&f->out, p, prec), 0);
    return ev_buf_cstr(&f->out);
}

#endif
