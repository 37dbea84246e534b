/*
 * modbus.c - the Modbus collector (collector.h, modbus.h).
 *
 * Each device has a request plan made once from its profile's reads
 * (modbus_plan.c: same function code, within max_gap, at most 125
 * registers) and a transport: the TCP link of its address
 * (modbus_tcp.c), shared by every unit id behind that address, or the
 * serial line it hangs on (modbus_rtu.c). ev_collector_poll() starts every
 * idle device at once; each then walks its plan one request at a time:
 *
 *   request -> answer into the device's buffer -> next request ... ->
 *   decode every read (modbus_value.c) into the rowset ->
 *   ev_profile_eval() into the collector's batch -> sink.
 *
 * An exception or a garbled answer loses that request's values and the
 * poll goes on (partial); a timeout or a lost connection ends the poll,
 * so a dead device costs one timeout per cycle, and only its own. When a
 * merged request draws "illegal data address" (a hole in the device's
 * map), the device reads one value per request from the next poll on.
 * Errors are counted per device and logged when they change, not every
 * cycle.
 */
#include "collectors/modbus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/log.h"
#include "collectors/modbus_int.h"
#include "collectors/modbus_plan.h"

typedef struct mb_dev {
    struct mb_collector *c;
    const ev_device_cfg *cfg;
    const ev_mb_read *reads;
    size_t nreads;
    ev_mb_plan merged, single;
    const ev_mb_plan *plan;
    bool want_single;      /* a merged request hit a hole: unmerge next poll */
    uint16_t *buf;         /* answers, request after request */
    size_t *req_at;        /* per request: where its answer starts in buf */
    uint8_t *req_ok;
    ev_rowset *rs;
    ev_tagset base;
    mb_tcp_link *link;     /* one of these two, not owned */
    mb_rtu_line *line;
    mb_job job;
    size_t next;           /* next request of the plan */
    bool busy;
    int64_t ts_ns;
    uint64_t started_us;
    unsigned requests, ok_reqs, nerr;
    char err[320];
    ev_modbus_stats st;
    bool polled_before;    /* for logging state changes */
    ev_poll_status last_status;
    char last_err[320];
} mb_dev;

typedef struct mb_collector {
    ev_collector base; /* first: the generic interface */
    ev_loop *loop;
    const ev_config *cfg;
    mb_dev *devs;
    size_t ndevs, busy;
    mb_tcp_link **links;
    size_t nlinks;
    mb_rtu_line **lines;
    size_t nlines;
    ev_sink_fn sink;
    void *ud;
    ev_modbus_observer obs;
    ev_modbus_stats stats;
    ev_batch *batch; /* scratch: the finishing device's points */
} mb_collector;

static void send_next(mb_dev *d);

/* ---- results ---- */

static void log_change(mb_dev *d, ev_poll_status st)
{
    const char *err = st == EV_POLL_OK ? "" : d->err;
    bool changed = d->polled_before ? st != d->last_status || strcmp(err, d->last_err) : st != EV_POLL_OK;
    if (changed) {
        if (st == EV_POLL_OK)
            ev_notice("modbus: device '%s' (%s) answers again", d->cfg->name, d->cfg->address);
        else
            ev_warn("modbus: device '%s' (%s): %s", d->cfg->name, d->cfg->address, err);
    }
    d->polled_before = true;
    d->last_status = st;
    snprintf(d->last_err, sizeof d->last_err, "%s", err);
}

static void to_value(const ev_mb_value *mv, ev_value *v)
{
    memset(v, 0, sizeof *v);
    switch (mv->kind) {
    case EV_MB_V_INT: v->type = EV_V_INT; v->i = mv->i; break;
    case EV_MB_V_UINT: v->type = mv->nbits > 32 ? EV_V_U64 : EV_V_UINT; v->u = mv->u; break;
    case EV_MB_V_FLOAT: v->type = EV_V_FLOAT; v->d = mv->d; break;
    }
    v->bits = mv->bits;
    v->nbits = mv->nbits;
}

/* Every read whose request was answered -> a row of its column. */
static void decode_all(mb_dev *d)
{
    static const ev_oid no_index = {.len = 0};
    const ev_mb_plan *p = d->plan;
    ev_rowset_clear(d->rs);
    for (size_t i = 0; i < d->nreads; i++) {
        size_t r = p->req_of[i];
        if (!d->req_ok[r])
            continue;
        ev_mb_value mv;
        ev_value v;
        ev_mb_decode(&d->reads[i], d->buf + d->req_at[r] + p->offset[i], &mv);
        to_value(&mv, &v);
        ev_rowset_add(d->rs, i, &no_index, &v);
    }
}

static void finish(mb_dev *d, ev_poll_status fail_status)
{
    mb_collector *c = d->c;
    ev_poll_status st = d->ok_reqs == d->plan->nreqs ? EV_POLL_OK
                        : d->ok_reqs                  ? EV_POLL_PARTIAL
                                                      : fail_status;
    ev_batch_clear(c->batch);
    decode_all(d); /* values of unanswered requests stay absent (and are traced so) */
    ev_profile_eval(d->cfg->profile, d->rs, &d->base, d->ts_ns, c->batch, c->obs.trace, c->obs.ud);
    if (d->nerr > 1) {
        size_t n = strlen(d->err);
        snprintf(d->err + n, sizeof d->err - n, " (and %u more problems)", d->nerr - 1);
    }
    d->busy = false;
    c->busy--;
    ev_modbus_stats *t[] = {&c->stats, &d->st};
    for (int i = 0; i < 2; i++)
        switch (st) {
        case EV_POLL_OK: t[i]->ok++; break;
        case EV_POLL_PARTIAL: t[i]->partial++; break;
        case EV_POLL_TIMEOUT: t[i]->timeouts++; break;
        case EV_POLL_ERROR: t[i]->errors++; break;
        }
    log_change(d, st);
    ev_poll_result r = {
        .dev = d->cfg,
        .status = st,
        .error = st == EV_POLL_OK ? NULL : d->err,
        .started_us = d->started_us,
        .duration_us = ev_now_us() - d->started_us,
        .requests = d->requests,
        .points = c->batch,
    };
    c->sink(c->ud, &r);
}

/* ---- requests ---- */

static void note_problem(mb_dev *d, const char *what)
{
    const ev_mb_request *q = &d->plan->reqs[d->next];
    if (d->nerr++ == 0)
        snprintf(d->err, sizeof d->err, "FC%u %u x%u: %s", q->fc, q->addr, q->count, what);
}


static void bump(mb_dev *d, size_t off)
{
    *(uint64_t *)((char *)&d->st + off) += 1;
    *(uint64_t *)((char *)&d->c->stats + off) += 1;
}

static void on_job(mb_job *j)
{
    mb_dev *d = j->ud;
    mb_collector *c = d->c;
    const ev_mb_request *q = &d->plan->reqs[d->next];
    char exc[80];
    const char *outcome = j->outcome == MB_J_OK ? "ok"
                          : j->outcome == MB_J_EXCEPTION ? ev_mb_exception_name(j->exception, exc, sizeof exc)
                                                         : j->err;
    bump(d, offsetof(ev_modbus_stats, requests));
    if (c->obs.request) {
        ev_modbus_request_info info = {.unit = j->unit, .fc = j->fc, .addr = j->addr, .count = j->count,
                                       .nreads = (unsigned)q->nreads, .tries = j->tries,
                                       .rtt_us = j->rtt_us, .outcome = outcome};
        c->obs.request(c->obs.ud, d->cfg, &info);
    }
    switch (j->outcome) {
    case MB_J_OK:
        memcpy(d->buf + d->req_at[d->next], j->data, (size_t)j->count * sizeof *j->data);
        d->req_ok[d->next] = 1;
        d->ok_reqs++;
        break;
    case MB_J_EXCEPTION:
        bump(d, offsetof(ev_modbus_stats, exceptions));
        note_problem(d, outcome);
        if (j->exception == 2 && q->nreads > 1 && d->plan == &d->merged && !d->want_single) {
            d->want_single = true;
            ev_notice("modbus: device '%s': merged read FC%u %u x%u refused (illegal data address); "
                      "reading one value per request from the next poll", d->cfg->name, q->fc, q->addr,
                      q->count);
        }
        break;
    case MB_J_BAD:
        bump(d, offsetof(ev_modbus_stats, bad_replies));
        note_problem(d, outcome);
        break;
    case MB_J_TIMEOUT:
        bump(d, offsetof(ev_modbus_stats, timeouts_req));
        note_problem(d, outcome);
        finish(d, EV_POLL_TIMEOUT);
        return;
    case MB_J_DOWN:
        bump(d, offsetof(ev_modbus_stats, link_errors));
        note_problem(d, outcome);
        finish(d, EV_POLL_ERROR);
        return;
    }
    d->next++;
    send_next(d);
}

static void send_next(mb_dev *d)
{
    if (d->next == d->plan->nreqs) {
        finish(d, EV_POLL_ERROR);
        return;
    }
    const ev_mb_request *q = &d->plan->reqs[d->next];
    const ev_modbus_cfg *m = &d->cfg->modbus;
    mb_job *j = &d->job;
    j->done = on_job;
    j->ud = d;
    j->unit = (uint8_t)m->unit_id;
    j->fc = q->fc;
    j->addr = q->addr;
    j->count = q->count;
    j->timeout_ms = m->timeout_ms;
    j->retries = m->retries;
    j->exception = 0;
    d->requests++;
    if (d->link)
        mb_tcp_submit(d->link, j);
    else
        mb_rtu_submit(d->line, j);
}

static void start(mb_dev *d, int64_t ts_ns)
{
    mb_collector *c = d->c;
    if (d->busy) {
        c->stats.late++;
        d->st.late++;
        ev_debug("modbus: device '%s' still busy from the last cycle; skipped", d->cfg->name);
        return;
    }
    c->stats.polls++;
    d->st.polls++;
    c->busy++;
    d->busy = true;
    d->ts_ns = ts_ns;
    d->started_us = ev_now_us();
    d->requests = d->ok_reqs = d->nerr = 0;
    d->err[0] = 0;
    d->next = 0;
    if (d->want_single)
        d->plan = &d->single;
    size_t at = 0;
    for (size_t r = 0; r < d->plan->nreqs; r++) {
        d->req_at[r] = at;
        d->req_ok[r] = 0;
        at += d->plan->reqs[r].count;
    }
    if (!d->link && !d->line) {
        snprintf(d->err, sizeof d->err, "serial line %s could not be set up", d->cfg->modbus.serial);
        d->nerr = 1;
        finish(d, EV_POLL_ERROR);
        return;
    }
    send_next(d);
}

/* ---- set-up ---- */

static size_t plan_words(const ev_mb_plan *p)
{
    size_t n = 0;
    for (size_t r = 0; r < p->nreqs; r++)
        n += p->reqs[r].count;
    return n;
}

static void add_tag(ev_tagset *t, const char *key, const char *val)
{
    if (val && *val && t->n < EV_MAX_TAGS)
        t->tags[t->n++] = (ev_tag){key, val};
}

static mb_tcp_link *link_for(mb_collector *c, const char *address)
{
    for (size_t i = 0; i < c->nlinks; i++)
        if (!strcmp(mb_tcp_link_address(c->links[i]), address))
            return c->links[i];
    mb_tcp_link *l = mb_tcp_link_new(c->loop, address);
    if (l)
        c->links[c->nlinks++] = l;
    return l;
}

static mb_rtu_line *line_for(mb_collector *c, const ev_device_cfg *cfg)
{
    for (size_t i = 0; i < c->nlines; i++)
        if (!strcmp(mb_rtu_line_path(c->lines[i]), cfg->modbus.serial)) {
            if (!mb_rtu_line_matches(c->lines[i], &cfg->modbus))
                ev_warn("modbus: device '%s': line settings differ from another device on %s; the "
                        "first device's settings are used", cfg->name, cfg->modbus.serial);
            return c->lines[i];
        }
    char err[200];
    mb_rtu_line *l = mb_rtu_line_new(c->loop, &cfg->modbus, err, sizeof err);
    if (!l) {
        ev_err("modbus: device '%s': %s", cfg->name, err);
        return NULL;
    }
    c->lines[c->nlines++] = l;
    return l;
}

static int dev_init(mb_collector *c, mb_dev *d, const ev_device_cfg *cfg)
{
    d->c = c;
    d->cfg = cfg;
    add_tag(&d->base, "device", cfg->name);
    add_tag(&d->base, "feed", cfg->feed);
    add_tag(&d->base, "hall", c->cfg->hall);
    add_tag(&d->base, "rack", cfg->rack);
    add_tag(&d->base, "role", ev_role_name(cfg->role));
    add_tag(&d->base, "row", cfg->row);
    add_tag(&d->base, "site", c->cfg->site);
    d->reads = ev_profile_modbus_reads(cfg->profile, &d->nreads);
    if (ev_mb_plan_build(&d->merged, d->reads, d->nreads, cfg->modbus.max_gap, cfg->modbus.max_registers) < 0 ||
        ev_mb_plan_build(&d->single, d->reads, d->nreads, 0, 1) < 0)
        return -1;
    d->plan = &d->merged;
    size_t words = plan_words(&d->merged) > plan_words(&d->single) ? plan_words(&d->merged)
                                                                   : plan_words(&d->single);
    size_t nreq = d->single.nreqs > d->merged.nreqs ? d->single.nreqs : d->merged.nreqs;
    d->buf = calloc(words ? words : 1, sizeof *d->buf);
    d->req_at = calloc(nreq ? nreq : 1, sizeof *d->req_at);
    d->req_ok = calloc(nreq ? nreq : 1, 1);
    d->rs = ev_rowset_new(cfg->profile);
    if (!d->buf || !d->req_at || !d->req_ok || !d->rs)
        return -1;
    if (cfg->modbus.transport == EV_MB_RTU)
        d->line = line_for(c, cfg); /* NULL: reported, and at each poll */
    else if (!(d->link = link_for(c, cfg->address)))
        return -1;
    return 0;
}

static void dev_free(mb_dev *d)
{
    ev_mb_plan_free(&d->merged);
    ev_mb_plan_free(&d->single);
    free(d->buf);
    free(d->req_at);
    free(d->req_ok);
    ev_rowset_free(d->rs);
}

/* Devices, lines and links for a config; serial lines first, so that
 * libmodbus's descriptors stay low. 0 or -1 (out of memory). */
static int setup(mb_collector *c, const ev_config *cfg, const ev_device_cfg *const *devices, size_t n)
{
    c->cfg = cfg;
    c->devs = calloc(n ? n : 1, sizeof *c->devs);
    c->links = calloc(n ? n : 1, sizeof *c->links);
    c->lines = calloc(n ? n : 1, sizeof *c->lines);
    if (!c->devs || !c->links || !c->lines)
        return -1;
    c->ndevs = n; /* zeroed devices free safely */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            bool rtu = devices[i]->modbus.transport == EV_MB_RTU;
            if (rtu != (pass == 0))
                continue;
            if (dev_init(c, &c->devs[i], devices[i]) < 0) {
                ev_err("modbus: out of memory setting up device '%s'", devices[i]->name);
                return -1;
            }
        }
    return 0;
}

static void teardown(mb_collector *c)
{
    for (size_t i = 0; i < c->nlines; i++)
        mb_rtu_line_free(c->lines[i]);
    for (size_t i = 0; i < c->nlinks; i++)
        mb_tcp_link_free(c->links[i]);
    for (size_t i = 0; c->devs && i < c->ndevs; i++)
        dev_free(&c->devs[i]);
    free(c->devs);
    free(c->links);
    free(c->lines);
    c->devs = NULL;
    c->links = NULL;
    c->lines = NULL;
    c->ndevs = c->nlinks = c->nlines = c->busy = 0;
}

/* ---- the collector interface ---- */

static void mb_poll(ev_collector *base, int64_t ts_ns)
{
    mb_collector *c = (mb_collector *)base;
    for (size_t i = 0; i < c->ndevs; i++)
        start(&c->devs[i], ts_ns);
}

static size_t mb_busy(const ev_collector *base)
{
    return ((const mb_collector *)base)->busy;
}

/* A reload rebuilds every Modbus device: devices in flight are reported
 * as abandoned first (their connections close). Modbus polls are short,
 * and rebuilding is simpler than matching shared links and lines. */
static int mb_reconfigure(ev_collector *base, const ev_config *cfg, const ev_device_cfg *const *devices,
                          size_t n)
{
    mb_collector *c = (mb_collector *)base, fresh = *c;
    /* abandoned devices are reported before the new set is built */
    fresh.devs = NULL;
    fresh.links = NULL;
    fresh.lines = NULL;
    fresh.ndevs = fresh.nlinks = fresh.nlines = fresh.busy = 0;
    for (size_t i = 0; i < c->ndevs; i++) {
        mb_dev *d = &c->devs[i];
        if (!d->busy)
            continue;
        ev_poll_result r = {.dev = d->cfg, .status = EV_POLL_ERROR, .error = "abandoned: configuration reloaded",
                            .started_us = d->started_us, .duration_us = ev_now_us() - d->started_us,
                            .requests = d->requests};
        c->sink(c->ud, &r);
    }
    if (setup(&fresh, cfg, devices, n) < 0) {
        teardown(&fresh);
        return -1;
    }
    teardown(c);
    c->cfg = fresh.cfg;
    c->devs = fresh.devs;
    c->ndevs = fresh.ndevs;
    c->links = fresh.links;
    c->nlinks = fresh.nlinks;
    c->lines = fresh.lines;
    c->nlines = fresh.nlines;
    for (size_t i = 0; i < c->ndevs; i++)
        c->devs[i].c = c;
    ev_notice("modbus: reconfigured: %zu device(s)", n);
    return 0;
}

static void mb_free(ev_collector *base)
{
    mb_collector *c = (mb_collector *)base;
    if (!c)
        return;
    teardown(c);
    ev_batch_free(c->batch);
    free(c);
}

static const ev_collector_ops modbus_ops = {
    .name = "modbus", .poll = mb_poll, .busy = mb_busy, .reconfigure = mb_reconfigure, .free = mb_free,
};

ev_collector *ev_modbus_collector_new(ev_loop *loop, const ev_config *cfg, const ev_device_cfg *const *devices,
                                      size_t ndevices, ev_sink_fn sink, void *ud)
{
    mb_collector *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->base.ops = &modbus_ops;
    c->loop = loop;
    c->sink = sink;
    c->ud = ud;
    c->batch = ev_batch_new();
    if (!c->batch || setup(c, cfg, devices, ndevices) < 0) {
        mb_free(&c->base);
        return NULL;
    }
    return &c->base;
}

void ev_modbus_collector_observe(ev_collector *base, const ev_modbus_observer *o)
{
    mb_collector *c = (mb_collector *)base;
    c->obs = o ? *o : (ev_modbus_observer){0};
}

void ev_modbus_collector_stats(const ev_collector *base, const char *dev, ev_modbus_stats *st)
{
    const mb_collector *c = (const mb_collector *)base;
    *st = (ev_modbus_stats){0};
    if (!dev) {
        *st = c->stats;
        return;
    }
    for (size_t i = 0; i < c->ndevs; i++)
        if (!strcmp(c->devs[i].cfg->name, dev))
            *st = c->devs[i].st;
}
