/*
 * modbus_reload.c - applying a new configuration (SIGHUP) to the Modbus
 * collector (modbus.h: ev_modbus_reload_*; the reconfigure op of
 * collector.h is prepare + commit).
 *
 * Devices are matched by name. One whose address or serial line, Modbus
 * settings and register reads are unchanged is kept: its connection, its
 * request plan (merged or, after a hole, one value per request) and any
 * request in flight carry on; it only takes the new config's tags. Any
 * other device is set up anew. Prepare builds every new device, and the
 * new set of links and lines (kept ones taken over), without touching
 * the running set, so that running out of memory leaves it whole.
 *
 * Commit then reports each changed or removed device that is mid-poll, or
 * due this cycle but not yet started by the pacer (modbus.c, pace.c), to
 * the sink at once (its old config, EV_POLL_ERROR, no points), takes its
 * request back from a link or line that stays (a queued device has none
 * out), closes the links and lines no device uses any more, and frees the
 * old devices. A removed device whose request a serial worker is running
 * cannot be taken back: it stays as a "zombie" until that request comes
 * back, then it is freed. Kept devices still queued stay queued: the pacer
 * goes on through the new set, in this cycle's bucket.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/log.h"
#include "collectors/modbus_coll.h"

struct ev_modbus_reload {
    const ev_config *cfg;
    const ev_device_cfg *const *devices;
    mb_dev **devs;  /* the new set, in the order of devices */
    bool *kept;     /* devs[i] is a running device carried over */
    size_t n;
    mb_transports tr;
    size_t nkept, nadded, nchanged;
};

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* Every Modbus setting but the config line it came from. */
static bool same_modbus(const ev_modbus_cfg *a, const ev_modbus_cfg *b)
{
    return a->transport == b->transport && a->unit_id == b->unit_id && same_str(a->serial, b->serial) &&
           a->baud == b->baud && a->parity == b->parity && a->data_bits == b->data_bits &&
           a->stop_bits == b->stop_bits && a->timeout_ms == b->timeout_ms && a->retries == b->retries &&
           a->max_gap == b->max_gap && a->max_registers == b->max_registers;
}

/* The same reads in the same order: the request plan and rowset fit both. */
static bool same_reads(const ev_profile *a, const ev_profile *b)
{
    size_t na, nb;
    if (!a || !b)
        return false;
    const ev_mb_read *ra = ev_profile_modbus_reads(a, &na), *rb = ev_profile_modbus_reads(b, &nb);
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (ra[i].fc != rb[i].fc || ra[i].addr != rb[i].addr || ra[i].type != rb[i].type ||
            ra[i].order != rb[i].order || ra[i].bit != rb[i].bit || ra[i].width != rb[i].width)
            return false;
    return true;
}

static bool can_keep(const mb_dev *d, const ev_device_cfg *nc)
{
    return ev_profile_protocol(nc->profile) == EV_PROTO_MODBUS && same_str(d->cfg->address, nc->address) &&
           same_modbus(&d->cfg->modbus, &nc->modbus) && same_reads(d->cfg->profile, nc->profile);
}

static int cmp_dev_name(const void *a, const void *b)
{
    const mb_dev *x = *(mb_dev *const *)a, *y = *(mb_dev *const *)b;
    return strcmp(x->cfg->name, y->cfg->name);
}

static mb_dev *find_dev(mb_dev **sorted, size_t n, const char *name)
{
    mb_dev key_dev = {.cfg = &(ev_device_cfg){.name = (char *)name}}, *key = &key_dev;
    mb_dev **hit = bsearch(&key, sorted, n, sizeof *sorted, cmp_dev_name);
    return hit ? *hit : NULL;
}

/* The running device a new one takes over, or NULL. A kept device's
 * transport joins the new set before any new device looks for one, so
 * that a serial path keeps one line. */
static void match_running(mb_collector *c, ev_modbus_reload *r, mb_dev **sorted)
{
    for (size_t i = 0; i < r->n; i++) {
        mb_dev *d = find_dev(sorted, c->ndevs, r->devices[i]->name);
        if (!d)
            continue;
        if (!can_keep(d, r->devices[i])) {
            d->mark = MB_R_REPLACED;
            r->nchanged++;
            continue;
        }
        d->mark = MB_R_KEPT;
        r->devs[i] = d;
        r->kept[i] = true;
        r->nkept++;
        if (d->link && !mb_transports_has_link(&r->tr, d->link))
            r->tr.links[r->tr.nlinks++] = d->link;
        if (d->line && !mb_transports_has_line(&r->tr, d->line))
            r->tr.lines[r->tr.nlines++] = d->line;
    }
}

void ev_modbus_reload_abort(ev_collector *base, ev_modbus_reload *r)
{
    mb_collector *c = (mb_collector *)base;
    if (!r)
        return;
    for (size_t i = 0; r->devs && i < r->n; i++)
        if (!r->kept[i])
            mb_dev_delete(r->devs[i]);
    mb_transports_free(&r->tr, &c->tr); /* only the links and lines made for it */
    free(r->devs);
    free(r->kept);
    free(r);
}

ev_modbus_reload *ev_modbus_reload_prepare(ev_collector *base, const ev_config *cfg,
                                           const ev_device_cfg *const *devices, size_t n)
{
    mb_collector *c = (mb_collector *)base;
    ev_modbus_reload *r = calloc(1, sizeof *r);
    mb_dev **sorted = malloc((c->ndevs ? c->ndevs : 1) * sizeof *sorted);
    if (!r || !sorted)
        goto oom;
    *r = (ev_modbus_reload){.cfg = cfg, .devices = devices, .n = n};
    r->devs = calloc(n ? n : 1, sizeof *r->devs);
    r->kept = calloc(n ? n : 1, sizeof *r->kept);
    if (!r->devs || !r->kept || mb_transports_alloc(&r->tr, n) < 0)
        goto oom;
    memcpy(sorted, c->devs, c->ndevs * sizeof *sorted);
    qsort(sorted, c->ndevs, sizeof *sorted, cmp_dev_name);
    for (size_t i = 0; i < c->ndevs; i++)
        c->devs[i]->mark = MB_R_GONE;
    match_running(c, r, sorted);
    for (int pass = 0; pass < 2; pass++) /* serial lines first, as at start */
        for (size_t i = 0; i < n; i++) {
            if (r->kept[i] || (devices[i]->modbus.transport == EV_MB_RTU) != (pass == 0))
                continue;
            if (!(r->devs[i] = mb_dev_new(c, cfg, devices[i], &r->tr, &c->tr)))
                goto oom;
        }
    r->nadded = n - r->nkept - r->nchanged;
    free(sorted);
    return r;
oom:
    ev_err("modbus: out of memory applying the new configuration; keeping the running one");
    free(sorted);
    ev_modbus_reload_abort(base, r);
    return NULL;
}

/* Take a leaving device's request back from a transport that stays; a
 * serial worker running it keeps the device alive until it returns. */
static void detach(mb_collector *c, mb_dev *d, const mb_transports *staying)
{
    if (d->link && mb_transports_has_link(staying, d->link))
        mb_tcp_cancel(d->link, &d->job);
    if (d->line && mb_transports_has_line(staying, d->line) && !mb_rtu_cancel(d->line, &d->job)) {
        d->mark = MB_R_ZOMBIE;
        d->next_zombie = c->zombies;
        c->zombies = d;
    }
}

/* Zombies whose line just closed: their job will not come back. */
static void bury(mb_collector *c, const mb_transports *staying)
{
    for (mb_dev **p = &c->zombies; *p;) {
        mb_dev *d = *p;
        if (mb_transports_has_line(staying, d->line)) {
            p = &d->next_zombie;
            continue;
        }
        *p = d->next_zombie;
        mb_dev_delete(d);
    }
}

void ev_modbus_reload_commit(ev_collector *base, ev_modbus_reload *r)
{
    mb_collector *c = (mb_collector *)base;
    size_t nold = c->ndevs;
    mb_dev **old = c->devs;
    /* Report and detach first: the old transports and configs still stand. */
    for (size_t i = 0; i < nold; i++) {
        mb_dev *d = old[i];
        if (d->mark == MB_R_KEPT)
            continue;
        bool changed = d->mark == MB_R_REPLACED;
        ev_info("modbus: device '%s' %s", d->cfg->name, changed ? "changed: set up again" : "removed");
        if (!d->busy)
            continue;
        bool queued = d->queued; /* no request out: nothing to take back */
        mb_dev_report(d, EV_POLL_ERROR, changed ? "poll abandoned: device changed by a configuration reload"
                                                : "poll abandoned: device removed by a configuration reload");
        if (!queued)
            detach(c, d, &r->tr);
    }
    mb_transports_free(&c->tr, &r->tr); /* links and lines no device uses any more */
    bury(c, &r->tr);
    for (size_t i = 0; i < nold; i++)
        if (old[i]->mark != MB_R_KEPT && old[i]->mark != MB_R_ZOMBIE)
            mb_dev_delete(old[i]);
    c->cfg = r->cfg;
    for (size_t i = 0; i < r->n; i++)
        if (r->kept[i])
            mb_dev_rebind(r->devs[i], r->cfg, r->devices[i]);
    free(old);
    c->devs = r->devs;
    c->ndevs = r->n;
    c->tr = r->tr;
    mb_pace_rescan(c); /* devs[] changed under the pacer */
    ev_notice("modbus: reconfigured: %zu device(s) kept, %zu added, %zu changed, %zu removed", r->nkept, r->nadded,
              r->nchanged, nold - r->nkept - r->nchanged);
    free(r->kept);
    free(r);
}

bool mb_zombie_done(mb_collector *c, mb_dev *d)
{
    if (d->mark != MB_R_ZOMBIE)
        return false;
    for (mb_dev **p = &c->zombies; *p; p = &(*p)->next_zombie)
        if (*p == d) {
            *p = d->next_zombie;
            mb_dev_delete(d);
            return true;
        }
    return false;
}

void mb_zombies_free(mb_collector *c)
{
    while (c->zombies) {
        mb_dev *d = c->zombies;
        c->zombies = d->next_zombie;
        mb_dev_delete(d);
    }
}
