/*
 * summary.c - picking and encoding the hall summary's lines (see summary.h).
 */
#include "agent/energy/summary.h"

#include <string.h>

#include "agent/lineproto.h"

static bool in_summary(const ev_point *p)
{
    const char *scope = ev_point_get_tag(p, "scope"), *window = ev_point_get_tag(p, "window");
    if (!scope || strcmp(scope, "hall"))
        return false;
    if (!strcmp(p->measurement, "headroom"))
        return true;
    return !strcmp(p->measurement, "pue") && window && strcmp(window, "instant");
}

size_t ev_summary_payload(const ev_batch *pts, ev_buf *out)
{
    size_t n = 0;
    for (size_t i = 0; i < pts->n; i++)
        if (in_summary(&pts->pts[i]) && ev_lp_point(out, &pts->pts[i], EV_PREC_NS) == 0)
            n++;
    return n;
}
