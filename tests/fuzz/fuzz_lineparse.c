/*
 * fuzz_lineparse.c - libFuzzer target: the hub's line-protocol parser
 * (agent/lineparse.c) on arbitrary payloads, as MQTT delivers them. It
 * must take or refuse every line without a crash, a leak or undefined
 * behaviour; a refusal names a column inside the line; and every point it
 * takes, encoded again (agent/lineproto.c), must parse back to a point that
 * encodes to the very same line (the hub never alters what it passes on).
 * Seeds: tests/fuzz/corpus/fuzz_lineparse/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/buf.h"
#include "agent/lineparse.h"
#include "agent/lineproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void __attribute__((noreturn)) fail(const char *why, const ev_buf *line)
{
    fprintf(stderr, "fuzz_lineparse: %s\nline: %.*s\n", why, (int)line->len, line->p);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ev_batch *b = ev_batch_new(), *again = ev_batch_new();
    ev_buf one, two;
    ev_lp_error first = {0};
    size_t npoints = 0;
    if (!b || !again)
        abort();
    size_t bad = ev_lp_parse(b, (const char *)data, size, EV_PREC_NS, &first, &npoints);
    if (npoints != b->n || (bad && (!first.line || !first.col || !first.msg[0])))
        abort();
    ev_buf_init(&one);
    ev_buf_init(&two);
    for (size_t i = 0; i < b->n; i++) {
        ev_buf_reset(&one);
        if (ev_lp_point(&one, &b->pts[i], EV_PREC_NS) < 0)
            continue; /* e.g. a measurement starting with '#': nothing written */
        ev_lp_error err = {0};
        ev_batch_clear(again);
        if (ev_lp_parse_line(again, one.p, one.len - 1, EV_PREC_NS, &err) != 1)
            fail(err.msg, &one);
        ev_buf_reset(&two);
        ev_lp_point(&two, &again->pts[0], EV_PREC_NS);
        if (two.len != one.len || memcmp(one.p, two.p, one.len))
            fail("a parsed point does not encode back to the same line", &one);
    }
    ev_buf_free(&one);
    ev_buf_free(&two);
    ev_batch_free(again);
    ev_batch_free(b);
    return 0;
}
