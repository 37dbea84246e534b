/*
 * modbus.c - the Modbus collector (collector.h, modbus.h).
 *
 * Each device has a request plan made once from its profile's reads
 * (modbus_plan.c: same function code, within max_gap, at most 125
 * registers) and a transport: the TCP link of its address
 * (modbus_tcp.c), shared by every unit id behind that address, or the
 * serial line it hangs on (modbus_rtu.c). ev_collector_poll() marks every
 * idle device due (counted busy, stamped with the cycle's time) and a
 * token bucket (pace.c, shared with the SNMP collector) starts them from a
 * loop timer, in rounds 10 ms apart spread over a quarter of the interval,
 * so that a device's answers do not queue behind a whole fleet's first
 * requests; devices behind one gateway or serial line still queue on it.
 * Each device then walks its plan one request at a time:
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
 * Errors are counted per device (and handed to the sink with each result)
 * and logged when they change, not every cycle. A reload (SIGHUP) is
 * modbus_reload.c's; the state both files share is in modbus_coll.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/log.h"
#include "collectors/modbus_coll.h"

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
static void decode_all(mb_dev *d, ev_rowset *rs)
{
    static const ev_oid no_index = {.len = 0};
    const ev_mb_plan *p = d->plan;
    for (size_t i = 0; i < d->nreads; i++) {
        size_t r = p->req_of[i];
        if (!d->req_ok[r])
            continue;
        ev_mb_value mv;
        ev_value v;
        ev_mb_decode(&d->reads[i], d->buf + d->req_at[r] + p->offset[i], &mv);
        to_value(&mv, &v);
        ev_rowset_add(rs, i, &no_index, &v);
    }
}

static ev_poll_counters counters_of(const mb_dev *d)
{
    return (ev_poll_counters){.exceptions = d->st.exceptions, .bad_replies = d->st.bad_replies,
                              .crc_errors = d->st.crc_errors, .timeouts = d->st.timeouts_req,
                              .reconnects = d->st.reconnects};
}

static void count_status(mb_dev *d, ev_poll_status st)
{
    ev_modbus_stats *t[] = {&d->c->stats, &d->st};
    for (int i = 0; i < 2; i++)
        switch (st) {
        case EV_POLL_OK: t[i]->ok++; break;
        case EV_POLL_PARTIAL: t[i]->partial++; break;
        case EV_POLL_TIMEOUT: t[i]->timeouts++; break;
        case EV_POLL_ERROR: t[i]->errors++; break;
        }
}

void mb_dev_report(mb_dev *d, ev_poll_status st, const char *why)
{
    mb_collector *c = d->c;
    ev_poll_counters n = counters_of(d);
    d->busy = d->queued = false;
    c->busy--;
    count_status(d, st);
    ev_poll_result r = {.dev = d->cfg, .status = st, .error = why, .started_us = d->started_us,
                        .duration_us = ev_now_us() - d->started_us, .requests = d->requests, .counters = &n};
    c->sink(c->ud, &r);
}

/* The rowset lives only while a finished poll is decoded and evaluated:
 * a profile's rowset is ~12 KB (an OID-sized index per value), which kept
 * per device was most of the collector's memory; a poll's ~20 small
 * allocations cost far less than the evaluation itself. */
static void finish(mb_dev *d, ev_poll_status fail_status)
{
    mb_collector *c = d->c;
    ev_poll_status st = d->ok_reqs == d->plan->nreqs ? EV_POLL_OK
                        : d->ok_reqs                  ? EV_POLL_PARTIAL
                                                      : fail_status;
    ev_rowset *rs = ev_rowset_new(d->cfg->profile);
    if (!rs) {
        mb_dev_report(d, EV_POLL_ERROR, "out of memory decoding the answers");
        return;
    }
    ev_batch_clear(c->batch);
    decode_all(d, rs); /* values of unanswered requests stay absent (and are traced so) */
    ev_profile_eval(d->cfg->profile, rs, &d->base, d->ts_ns, c->batch, c->obs.trace, c->obs.ud);
    ev_rowset_free(rs);
    if (d->nerr > 1) {
        size_t n = strlen(d->err);
        snprintf(d->err + n, sizeof d->err - n, " (and %u more problems)", d->nerr - 1);
    }
    d->busy = false;
    c->busy--;
    count_status(d, st);
    log_change(d, st);
    ev_poll_counters n = counters_of(d);
    ev_poll_result r = {
        .dev = d->cfg,
        .status = st,
        .error = st == EV_POLL_OK ? NULL : d->err,
        .started_us = d->started_us,
        .duration_us = ev_now_us() - d->started_us,
        .requests = d->requests,
        .points = c->batch,
        .counters = &n,
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
    if (mb_zombie_done(c, d))
        return;
    const ev_mb_request *q = &d->plan->reqs[d->next];
    char exc[80];
    const char *outcome = j->outcome == MB_J_OK ? "ok"
                          : j->outcome == MB_J_EXCEPTION ? ev_mb_exception_name(j->exception, exc, sizeof exc)
                                                         : j->err;
    bump(d, offsetof(ev_modbus_stats, requests));
    if (j->reconnected)
        bump(d, offsetof(ev_modbus_stats, reconnects));
    if (c->obs.request) {
        ev_modbus_request_info info = {.unit = j->unit, .fc = j->fc, .addr = j->addr, .count = j->count,
                                       .nreads = (unsigned)q->nreads, .tries = j->tries,
                                       .rtt_us = j->rtt_us, .outcome = outcome};
        c->obs.request(c->obs.ud, d->cfg, &info);
    }
    switch (j->outcome) {
    case MB_J_OK: /* the answer is in d->buf already (send_next) */
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
        if (j->crc)
            bump(d, offsetof(ev_modbus_stats, crc_errors));
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
    j->data = d->buf + d->req_at[d->next];
    j->timeout_ms = m->timeout_ms;
    j->retries = m->retries;
    j->exception = 0;
    d->requests++;
    if (d->link)
        mb_tcp_submit(d->link, j);
    else
        mb_rtu_submit(d->line, j);
}

/* Due this cycle: counted busy now, started by the pacer. False when the
 * device is still busy (or still queued) from the last cycle: late, skipped. */
static bool enqueue(mb_dev *d, int64_t ts_ns)
{
    mb_collector *c = d->c;
    if (d->busy) {
        c->stats.late++;
        d->st.late++;
        ev_debug("modbus: device '%s' still busy from the last cycle; skipped", d->cfg->name);
        return false;
    }
    c->stats.polls++;
    d->st.polls++;
    c->busy++;
    d->busy = d->queued = true;
    d->ts_ns = ts_ns;
    d->started_us = ev_now_us(); /* until it starts: an abandoned queued poll reports from here */
    d->requests = 0;
    return true;
}

static void start(mb_dev *d)
{
    d->queued = false;
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

static void set_tags(mb_dev *d, const ev_config *agent)
{
    const ev_device_cfg *cfg = d->cfg;
    d->base.n = 0;
    add_tag(&d->base, "device", cfg->name);
    add_tag(&d->base, "feed", cfg->feed);
    add_tag(&d->base, "hall", agent->hall);
    add_tag(&d->base, "rack", cfg->rack);
    add_tag(&d->base, "role", ev_role_name(cfg->role));
    add_tag(&d->base, "row", cfg->row);
    add_tag(&d->base, "site", agent->site);
}

int mb_transports_alloc(mb_transports *tr, size_t n)
{
    tr->links = calloc(n ? n : 1, sizeof *tr->links);
    tr->lines = calloc(n ? n : 1, sizeof *tr->lines);
    tr->nlinks = tr->nlines = 0;
    return tr->links && tr->lines ? 0 : -1;
}

bool mb_transports_has_link(const mb_transports *tr, const mb_tcp_link *l)
{
    for (size_t i = 0; tr && i < tr->nlinks; i++)
        if (tr->links[i] == l)
            return true;
    return false;
}

bool mb_transports_has_line(const mb_transports *tr, const mb_rtu_line *l)
{
    for (size_t i = 0; tr && i < tr->nlines; i++)
        if (tr->lines[i] == l)
            return true;
    return false;
}

void mb_transports_free(mb_transports *tr, const mb_transports *keep)
{
    for (size_t i = 0; i < tr->nlines; i++)
        if (!mb_transports_has_line(keep, tr->lines[i]))
            mb_rtu_line_free(tr->lines[i]);
    for (size_t i = 0; i < tr->nlinks; i++)
        if (!mb_transports_has_link(keep, tr->links[i]))
            mb_tcp_link_free(tr->links[i]);
    free(tr->links);
    free(tr->lines);
    *tr = (mb_transports){0};
}

static mb_tcp_link *link_for(mb_collector *c, const char *address, mb_transports *tr, const mb_transports *old)
{
    for (size_t i = 0; i < tr->nlinks; i++)
        if (!strcmp(mb_tcp_link_address(tr->links[i]), address))
            return tr->links[i];
    mb_tcp_link *l = NULL;
    for (size_t i = 0; old && i < old->nlinks && !l; i++)
        if (!strcmp(mb_tcp_link_address(old->links[i]), address))
            l = old->links[i]; /* a reload keeps the connection */
    if (!l)
        l = mb_tcp_link_new(c->loop, address);
    if (l)
        tr->links[tr->nlinks++] = l;
    return l;
}

/* The line a device hangs on: one per path. A reload keeps a line whose
 * settings are unchanged; a line on the same path with new settings opens
 * at its first request, once the old one is closed. */
static mb_rtu_line *line_for(mb_collector *c, const ev_device_cfg *cfg, mb_transports *tr,
                             const mb_transports *old)
{
    for (size_t i = 0; i < tr->nlines; i++)
        if (!strcmp(mb_rtu_line_path(tr->lines[i]), cfg->modbus.serial)) {
            if (!mb_rtu_line_matches(tr->lines[i], &cfg->modbus))
                ev_warn("modbus: device '%s': line settings differ from another device on %s; the "
                        "first device's settings are used", cfg->name, cfg->modbus.serial);
            return tr->lines[i];
        }
    bool path_was_open = false;
    mb_rtu_line *l = NULL;
    for (size_t i = 0; old && i < old->nlines && !l; i++)
        if (!strcmp(mb_rtu_line_path(old->lines[i]), cfg->modbus.serial)) {
            path_was_open = true;
            if (mb_rtu_line_matches(old->lines[i], &cfg->modbus))
                l = old->lines[i];
        }
    if (!l) {
        char err[200];
        if (!(l = mb_rtu_line_new(c->loop, &cfg->modbus, !path_was_open, err, sizeof err))) {
            ev_err("modbus: device '%s': %s", cfg->name, err);
            return NULL;
        }
    }
    tr->lines[tr->nlines++] = l;
    return l;
}

mb_dev *mb_dev_new(mb_collector *c, const ev_config *agent, const ev_device_cfg *cfg, mb_transports *tr,
                   const mb_transports *old)
{
    mb_dev *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->c = c;
    d->cfg = cfg;
    set_tags(d, agent);
    d->reads = ev_profile_modbus_reads(cfg->profile, &d->nreads);
    if (ev_mb_plan_build(&d->merged, d->reads, d->nreads, cfg->modbus.max_gap, cfg->modbus.max_registers) < 0 ||
        ev_mb_plan_build(&d->single, d->reads, d->nreads, 0, 1) < 0)
        goto oom;
    d->plan = &d->merged;
    size_t words = plan_words(&d->merged) > plan_words(&d->single) ? plan_words(&d->merged)
                                                                   : plan_words(&d->single);
    size_t nreq = d->single.nreqs > d->merged.nreqs ? d->single.nreqs : d->merged.nreqs;
    d->buf = calloc(words ? words : 1, sizeof *d->buf);
    d->req_at = calloc(nreq ? nreq : 1, sizeof *d->req_at);
    d->req_ok = calloc(nreq ? nreq : 1, 1);
    if (!d->buf || !d->req_at || !d->req_ok)
        goto oom;
    if (cfg->modbus.transport == EV_MB_RTU)
        d->line = line_for(c, cfg, tr, old); /* NULL: reported, and at each poll */
    else if (!(d->link = link_for(c, cfg->address, tr, old)))
        goto oom;
    return d;
oom:
    mb_dev_delete(d);
    return NULL;
}

void mb_dev_delete(mb_dev *d)
{
    if (!d)
        return;
    ev_mb_plan_free(&d->merged);
    ev_mb_plan_free(&d->single);
    free(d->buf);
    free(d->req_at);
    free(d->req_ok);
    free(d);
}

void mb_dev_rebind(mb_dev *d, const ev_config *agent, const ev_device_cfg *cfg)
{
    size_t n;
    d->cfg = cfg;
    d->reads = ev_profile_modbus_reads(cfg->profile, &n); /* the same reads, in the new profile */
    set_tags(d, agent);
}

/* Devices, lines and links for a config; serial lines first, so that
 * libmodbus's descriptors stay low. 0 or -1 (out of memory). */
static int setup(mb_collector *c, const ev_config *cfg, const ev_device_cfg *const *devices, size_t n)
{
    c->cfg = cfg;
    c->devs = calloc(n ? n : 1, sizeof *c->devs);
    if (!c->devs || mb_transports_alloc(&c->tr, n) < 0)
        return -1;
    c->ndevs = n; /* NULL devices free safely */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            bool rtu = devices[i]->modbus.transport == EV_MB_RTU;
            if (rtu != (pass == 0))
                continue;
            if (!(c->devs[i] = mb_dev_new(c, cfg, devices[i], &c->tr, NULL))) {
                ev_err("modbus: out of memory setting up device '%s'", devices[i]->name);
                return -1;
            }
        }
    return 0;
}

/* Transports first: a link forgets its queued jobs and a line's worker
 * finishes its request before the devices holding those jobs go. */
static void teardown(mb_collector *c)
{
    mb_transports_free(&c->tr, NULL);
    for (size_t i = 0; c->devs && i < c->ndevs; i++)
        mb_dev_delete(c->devs[i]);
    mb_zombies_free(c);
    free(c->devs);
    c->devs = NULL;
    c->ndevs = c->busy = 0;
}

/* ---- the collector interface ---- */

static void pace(mb_collector *c);

static void on_pace(ev_loop *l, uint64_t id, void *ud)
{
    mb_collector *c = ud;
    (void)l;
    (void)id;
    c->pace_timer = 0;
    pace(c);
}

/* Start as many queued devices as the bucket allows; come back for the rest. */
static void pace(mb_collector *c)
{
    size_t n = ev_pace_take(&c->pace, ev_now_us(), c->ndevs - c->next_start);
    while (n > 0 && c->next_start < c->ndevs) {
        mb_dev *d = c->devs[c->next_start++];
        if (d->queued) {
            start(d);
            n--;
        }
    }
    while (c->next_start < c->ndevs && !c->devs[c->next_start]->queued)
        c->next_start++; /* late ones, still busy from the last cycle */
    if (c->next_start < c->ndevs && !c->pace_timer)
        c->pace_timer = ev_loop_after(c->loop, ev_pace_wait_ms(&c->pace), on_pace, c);
}

void mb_pace_rescan(mb_collector *c)
{
    c->next_start = 0;
    ev_loop_cancel(c->loop, c->pace_timer);
    c->pace_timer = 0;
    pace(c);
}

static void mb_poll(ev_collector *base, int64_t ts_ns)
{
    mb_collector *c = (mb_collector *)base;
    size_t due = 0;
    for (size_t i = 0; i < c->ndevs; i++)
        due += enqueue(c->devs[i], ts_ns);
    c->next_start = 0;
    ev_pace_begin(&c->pace, due, c->cfg->interval_ms, MB_PACE_TICK_MS, ev_now_us());
    pace(c);
}

static size_t mb_busy(const ev_collector *base)
{
    return ((const mb_collector *)base)->busy;
}

static int mb_reconfigure(ev_collector *base, const ev_config *cfg, const ev_device_cfg *const *devices,
                          size_t n)
{
    ev_modbus_reload *r = ev_modbus_reload_prepare(base, cfg, devices, n);
    if (!r)
        return -1;
    ev_modbus_reload_commit(base, r);
    return 0;
}

static void mb_free(ev_collector *base)
{
    mb_collector *c = (mb_collector *)base;
    if (!c)
        return;
    ev_loop_cancel(c->loop, c->pace_timer);
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
        if (!strcmp(c->devs[i]->cfg->name, dev))
            *st = c->devs[i]->st;
}
