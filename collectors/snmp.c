/*
 * snmp.c - the SNMP collector (collector.h, snmp.h).
 *
 * Every device has its own Net-SNMP single session (snmp_session.c) whose
 * UDP socket is watched by the shared event loop, and, while a request is
 * in flight, exactly one timer. ev_collector_poll() queues every idle
 * device, and a token bucket (pace.c) starts them spread over a
 * quarter of the interval, all stamped with the cycle's time, so that
 * 10,000 first requests do not leave in the same instant; from then on
 * each device moves by itself:
 *
 *   [SNMPv3 without engine ID: discovery Report -> localise keys]
 *   -> GETs of the scalars -> GETBULKs of the columns (snmp_walk.c)
 *   -> ev_profile_eval() into the collector's batch -> sink.
 *
 * A readable socket is handed to snmp_sess_read2() for that session only
 * (a large fd set with just that fd), and a timer to snmp_sess_timeout()
 * for that session only, so the cost of a packet or a timeout does not
 * depend on how many devices there are, and a silent device costs its
 * timer and nothing else. Net-SNMP does the retries and calls back; the
 * callback only records what happened, and the device acts on it once
 * the library has returned (so no request is sent from inside the
 * library).
 *
 * A device holds its rowset and walk only while it is polled: a slot lent
 * for its profile (snmp_slot.c) and put back once its points are made, so
 * memory follows the devices in flight, not the fleet; what its polls
 * taught the walk stays with the device. Points are built in one batch
 * shared by all devices, since the sink consumes them before the next
 * device can finish. A device's error is logged when it changes, not on
 * every cycle.
 */
#include "collectors/snmp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "agent/log.h"
#include "collectors/snmp_int.h"

typedef enum { D_IDLE, D_QUEUED, D_DISCOVER, D_WALK } dev_phase; /* D_QUEUED: due, not started */

/* What the library reported for the request in flight. */
typedef enum { GOT_NOTHING, GOT_ANSWER, GOT_DISCOVERED, GOT_TIMEOUT, GOT_ERROR } dev_got;

typedef struct {
    struct snmp_collector *c;
    const ev_device_cfg *cfg;
    void *sess;       /* Net-SNMP single session, NULL until opened */
    int fd;
    ev_snmp_slot *slot;       /* rowset and walk, while polled */
    ev_snmp_learned learned; /* the walk's lessons between polls */
    ev_tagset base;

    dev_phase phase;
    dev_got got;
    int report;         /* SNMPERR_* of an error Report */
    unsigned resp_vbs;  /* varbinds in the last message received */
    uint64_t timer, deadline_us;
    uint64_t started_us, sent_us;
    unsigned requests, tries;
    unsigned answers;   /* requests answered this poll */
    bool v3_answered;   /* an authenticated answer since the engine was found */
    bool rediscovered;  /* engine ID looked up again this poll */
    int64_t ts_ns;
    char err[320];

    enum { R_GONE, R_KEPT, R_REPLACED } reload; /* set while a reload sorts devices */

    bool polled_before; /* for logging state changes */
    ev_poll_status last_status;
    char *last_err;     /* NULL: the last poll had no error */
} snmp_dev;

typedef struct snmp_collector {
    ev_collector base; /* first: the generic interface */
    ev_loop *loop;
    const ev_config *cfg;
    snmp_dev **devs; /* each allocated alone: a reload keeps their addresses */
    size_t ndevs, busy;
    ev_sink_fn sink;
    void *ud;
    ev_snmp_observer obs;
    ev_snmp_stats stats;
    ev_snmp_keys *keys;
    ev_snmp_slots *slots;
    ev_batch *batch; /* scratch: the finishing device's points */
    netsnmp_large_fd_set fdset; /* only ever holds the fd being read */
    ev_pace pace;       /* this cycle's starts */
    size_t next_start;  /* devs[] position the pacer looks at next */
    uint64_t pace_timer;
    bool closing;
} snmp_collector;

static void send_next(snmp_dev *d);
/* Start as many queued devices as the bucket allows; come back for the rest. */
static void pace(snmp_collector *c);

/* ---- results ---- */

/* Did this poll read at least one real value (not an exception)? */
static bool have_values(const snmp_dev *d)
{
    const ev_rowset *rs = d->slot ? d->slot->rs : NULL;
    for (size_t i = 0; rs && i < rs->ncols; i++)
        for (size_t r = 0; r < rs->cols[i].nrows; r++)
            if (rs->cols[i].rows[r].v.type != EV_V_NONE)
                return true;
    return false;
}

static void log_change(snmp_dev *d, ev_poll_status st)
{
    const char *err = st == EV_POLL_OK ? "" : d->err;
    bool changed = d->polled_before
                       ? st != d->last_status || strcmp(err, d->last_err ? d->last_err : "")
                       : st != EV_POLL_OK;
    if (changed) {
        if (st == EV_POLL_OK)
            ev_notice("snmp: device '%s' (%s) answers again", d->cfg->name, d->cfg->address);
        else
            ev_warn("snmp: device '%s' (%s): %s", d->cfg->name, d->cfg->address, err);
    }
    d->polled_before = true;
    d->last_status = st;
    if (changed || (*err && !d->last_err)) {
        free(d->last_err);
        d->last_err = *err ? strdup(err) : NULL; /* out of memory: logged again next time */
    }
}

static void on_varbind(void *ud, const ev_oid *oid, const char *type);

/* Borrow a rowset and walk for this poll, primed with the device's lessons. */
static int take_slot(snmp_dev *d)
{
    snmp_collector *c = d->c;
    const ev_device_cfg *cfg = d->cfg;
    if (!(d->slot = ev_snmp_slot_take(c->slots, cfg->profile)))
        return -1;
    ev_snmp_walk *w = &d->slot->walk;
    ev_rowset_clear(d->slot->rs);
    ev_snmp_walk_resume(w, &d->learned, cfg->snmp.max_repetitions, cfg->snmp.version == EV_SNMP_V1);
    ev_snmp_walk_start(w);
    w->vb_ud = d;
    w->on_varbind = c->obs.varbind ? on_varbind : NULL;
    return 0;
}

/* Keep what the poll taught; the slot goes back for the next device. */
static void release_slot(snmp_dev *d)
{
    if (!d->slot)
        return;
    ev_snmp_walk_learned(&d->slot->walk, &d->learned);
    ev_snmp_slot_put(d->c->slots, d->slot, d->cfg->profile);
    d->slot = NULL;
}

static void finish(snmp_dev *d, ev_poll_status st)
{
    snmp_collector *c = d->c;
    if (d->timer) {
        ev_loop_cancel(c->loop, d->timer);
        d->timer = 0;
    }
    ev_batch_clear(c->batch);
    if ((st == EV_POLL_OK || st == EV_POLL_PARTIAL) && d->cfg->profile && d->slot)
        ev_profile_eval(d->cfg->profile, d->slot->rs, &d->base, d->ts_ns, c->batch, c->obs.trace,
                        c->obs.ud);
    release_slot(d);
    if (st == EV_POLL_OK)
        d->err[0] = 0;
    d->phase = D_IDLE;
    c->busy--;
    switch (st) {
    case EV_POLL_OK: c->stats.ok++; break;
    case EV_POLL_PARTIAL: c->stats.partial++; break;
    case EV_POLL_TIMEOUT: c->stats.timeouts++; break;
    case EV_POLL_ERROR: c->stats.errors++; break;
    }
    log_change(d, st);
    uint64_t now = ev_now_us();
    ev_poll_result r = {
        .dev = d->cfg,
        .status = st,
        .error = st == EV_POLL_OK ? NULL : d->err,
        .started_us = d->started_us,
        .duration_us = now - d->started_us,
        .requests = d->requests,
        .points = c->batch,
    };
    c->sink(c->ud, &r);
}

/* A request ended with no usable answer: keep what earlier requests read. */
static void fail(snmp_dev *d, ev_poll_status st)
{
    finish(d, have_values(d) ? EV_POLL_PARTIAL : st);
}

/* ---- requests ---- */

static void note_request(snmp_dev *d, const char *outcome, unsigned vbs_in)
{
    const ev_snmp_observer *o = &d->c->obs;
    if (!o->request)
        return;
    bool disc = d->phase == D_DISCOVER;
    ev_snmp_request_info r = {
        .kind = disc ? "discovery" : d->slot->walk.req_kind,
        .varbinds_out = disc ? 0 : (unsigned)d->slot->walk.nreq,
        .varbinds_in = vbs_in,
        .max_repetitions = disc ? 0 : d->slot->walk.req_reps,
        .tries = d->tries,
        .rtt_us = ev_now_us() - d->sent_us,
        .outcome = outcome,
    };
    o->request(o->ud, d->cfg, &r);
}

static void on_timer(ev_loop *l, uint64_t id, void *ud);
static int on_snmp(int op, netsnmp_session *sp, int reqid, netsnmp_pdu *pdu, void *magic);

/* Keep one timer at the in-flight request's deadline (moved by resends). */
static void arm_timer(snmp_dev *d)
{
    uint64_t deadline = d->sent_us + (uint64_t)d->cfg->snmp.timeout_ms * 1000u + 1000u;
    if (d->timer && deadline == d->deadline_us)
        return;
    if (d->timer)
        ev_loop_cancel(d->c->loop, d->timer);
    uint64_t now = ev_now_us();
    uint64_t ms = deadline > now ? (deadline - now + 999) / 1000 : 1;
    d->timer = ev_loop_after(d->c->loop, ms, on_timer, d);
    d->deadline_us = deadline;
}

static void send_pdu(snmp_dev *d, netsnmp_pdu *pdu, const char *kind)
{
    if (!pdu) {
        snprintf(d->err, sizeof d->err, "out of memory building a %s request", kind);
        fail(d, EV_POLL_ERROR);
        return;
    }
    d->got = GOT_NOTHING;
    if (!snmp_sess_async_send(d->sess, pdu, on_snmp, d)) {
        char msg[200];
        ev_snmp_sess_errtext(d->sess, msg, sizeof msg);
        snmp_free_pdu(pdu);
        snprintf(d->err, sizeof d->err, "cannot send %s: %s", kind, msg);
        fail(d, EV_POLL_ERROR);
        return;
    }
    d->requests++;
    d->c->stats.requests++;
    d->tries = 1;
    d->sent_us = ev_now_us();
    arm_timer(d);
}

static void send_next(snmp_dev *d)
{
    netsnmp_pdu *pdu = ev_snmp_walk_next(&d->slot->walk);
    if (pdu) {
        send_pdu(d, pdu, d->slot->walk.req_kind);
        return;
    }
    if (d->slot->walk.nerrors == 0) {
        finish(d, EV_POLL_OK);
        return;
    }
    if (d->slot->walk.nerrors > 1)
        snprintf(d->err, sizeof d->err, "%s (and %u more problems)", d->slot->walk.err,
                 d->slot->walk.nerrors - 1);
    else
        snprintf(d->err, sizeof d->err, "%s", d->slot->walk.err);
    finish(d, have_values(d) ? EV_POLL_PARTIAL : EV_POLL_ERROR);
}

static void timeout_text(snmp_dev *d)
{
    const ev_snmp_cfg *s = &d->cfg->snmp;
    int n = s->retries ? snprintf(d->err, sizeof d->err, "timeout after %u tries (%u ms each)",
                                  s->retries + 1, s->timeout_ms)
                       : snprintf(d->err, sizeof d->err, "timeout after 1 try (%u ms)", s->timeout_ms);
    if (n < 0 || (size_t)n >= sizeof d->err)
        return;
    char *p = d->err + n;
    size_t left = sizeof d->err - (size_t)n;
    if (d->phase == D_DISCOVER)
        snprintf(p, left, " during SNMPv3 engine ID discovery");
    else if (s->version == EV_SNMP_V3 && s->level == EV_SEC_AUTHPRIV && !d->v3_answered)
        /* With AES a wrong privacy key decrypts to garbage the agent drops
         * without a Report: silence after a good discovery is the sign. */
        snprintf(p, left, " on %s: the device answered SNMPv3 discovery but not the encrypted "
                          "request (wrong priv password or priv protocol?)", d->slot->walk.req_kind);
    else if (d->answers > 0)
        snprintf(p, left, " on %s, after %u answered requests", d->slot->walk.req_kind, d->answers);
}

/* Act on what the library reported, once it has returned. */
static void step(snmp_dev *d)
{
    dev_got got = d->got;
    d->got = GOT_NOTHING;
    switch (got) {
    case GOT_NOTHING: /* still waiting (a resend may have moved the deadline) */
        arm_timer(d);
        return;
    case GOT_DISCOVERED:
        note_request(d, "ok (engine ID)", d->resp_vbs);
        if (ev_snmp_localize(d->sess, d->cfg->name, d->err, sizeof d->err) < 0) {
            ev_snmp_forget_engine(d->sess);
            finish(d, EV_POLL_ERROR);
            return;
        }
        d->phase = D_WALK;
        d->v3_answered = false;
        send_next(d);
        return;
    case GOT_ANSWER:
        note_request(d, d->slot->walk.outcome, d->resp_vbs);
        send_next(d);
        return;
    case GOT_TIMEOUT:
        note_request(d, "timeout", 0);
        timeout_text(d);
        /* A device replaced or reset at this address has a new engine ID,
         * and its Reports about the old one name a user we only know for
         * the old engine, so Net-SNMP drops them: to us it is silence. Look
         * the engine up again next poll (one more round trip, once). */
        if (d->phase == D_WALK && d->cfg->snmp.version == EV_SNMP_V3)
            ev_snmp_forget_engine(d->sess);
        fail(d, EV_POLL_TIMEOUT);
        return;
    case GOT_ERROR:
        note_request(d, "error", d->resp_vbs);
        if (d->report == SNMPERR_UNKNOWN_ENG_ID || d->report == SNMPERR_NOT_IN_TIME_WINDOW) {
            ev_snmp_forget_engine(d->sess);
            if (d->phase == D_WALK && !d->rediscovered) {
                /* A new engine at this address (device replaced or reset):
                 * find it again now rather than fail this poll. */
                d->rediscovered = true;
                d->phase = D_DISCOVER;
                d->err[0] = 0;
                send_pdu(d, ev_snmp_discovery_pdu(), "SNMPv3 discovery");
                return;
            }
        }
        fail(d, EV_POLL_ERROR);
        return;
    }
}

/* ---- Net-SNMP callback: record only ---- */

static void on_report(snmp_dev *d, netsnmp_pdu *pdu)
{
    int type = snmpv3_get_report_type(pdu);
    if (type == SNMPERR_NOT_IN_TIME_WINDOW)
        return; /* the library resends with the agent's time, or gives up (SEC_ERROR) */
    if (d->phase == D_DISCOVER && type == SNMPERR_UNKNOWN_ENG_ID) {
        d->got = GOT_DISCOVERED; /* the library stores the engine ID after this */
        return;
    }
    d->got = GOT_ERROR;
    d->report = type;
    ev_snmp_report_text(type, d->cfg, d->err, sizeof d->err);
}

static int on_snmp(int op, netsnmp_session *sp, int reqid, netsnmp_pdu *pdu, void *magic)
{
    snmp_dev *d = magic;
    (void)reqid;
    if (d->c->closing || d->phase == D_IDLE || d->phase == D_QUEUED)
        return 1;
    switch (op) {
    case NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE:
        d->resp_vbs = 0;
        for (netsnmp_variable_list *vb = pdu->variables; vb; vb = vb->next_variable)
            d->resp_vbs++;
        if (pdu->command == SNMP_MSG_REPORT) {
            on_report(d, pdu);
        } else if (d->phase == D_DISCOVER) {
            /* Answered the probe outright: take the engine ID it carries
             * (the library only does so for Reports). */
            if (!sp->securityEngineIDLen && pdu->securityEngineIDLen &&
                (sp->securityEngineID = malloc(pdu->securityEngineIDLen))) {
                memcpy(sp->securityEngineID, pdu->securityEngineID, pdu->securityEngineIDLen);
                sp->securityEngineIDLen = pdu->securityEngineIDLen;
            }
            d->got = GOT_DISCOVERED;
        } else {
            ev_snmp_walk_response(&d->slot->walk, pdu, d->slot->rs);
            d->got = GOT_ANSWER;
            d->answers++;
            d->v3_answered = true;
        }
        break;
    case NETSNMP_CALLBACK_OP_TIMED_OUT:
        d->got = GOT_TIMEOUT;
        break;
    case NETSNMP_CALLBACK_OP_RESEND:
        d->tries++;
        d->requests++;
        d->c->stats.requests++;
        d->sent_us = ev_now_us();
        break;
    case NETSNMP_CALLBACK_OP_SEC_ERROR:
        if (d->got == GOT_NOTHING) { /* gave up on notInTimeWindow */
            d->got = GOT_ERROR;
            d->report = snmpv3_get_report_type(pdu);
            ev_snmp_report_text(d->report, d->cfg, d->err, sizeof d->err);
        }
        break;
    default: /* SEND_FAILED, DISCONNECT */
        d->got = GOT_ERROR;
        d->report = 0;
        ev_snmp_sess_errtext(d->sess, d->err, sizeof d->err);
        break;
    }
    return 1;
}

/* ---- event-loop glue ---- */

static void on_timer(ev_loop *l, uint64_t id, void *ud)
{
    snmp_dev *d = ud;
    (void)l;
    (void)id;
    d->timer = 0;
    if (d->phase == D_IDLE || d->phase == D_QUEUED)
        return;
    snmp_sess_timeout(d->sess);
    step(d);
}

static void on_readable(ev_loop *l, int fd, int events, void *ud)
{
    snmp_dev *d = ud;
    snmp_collector *c = d->c;
    (void)l;
    (void)events;
    NETSNMP_LARGE_FD_SET(fd, &c->fdset);
    snmp_sess_read2(d->sess, &c->fdset);
    NETSNMP_LARGE_FD_CLR(fd, &c->fdset);
    if (d->phase == D_DISCOVER || d->phase == D_WALK)
        step(d);
}

/* ---- devices ---- */

static int dev_open(snmp_dev *d)
{
    snmp_collector *c = d->c;
    d->sess = ev_snmp_open(d->cfg, c->keys, on_snmp, d, d->err, sizeof d->err);
    if (!d->sess)
        return -1;
    d->fd = ev_snmp_fd(d->sess);
    if (d->fd < 0 || ev_loop_watch(c->loop, d->fd, EV_READ, on_readable, d) < 0) {
        snprintf(d->err, sizeof d->err, "cannot watch the SNMP socket: %s", strerror(errno));
        snmp_sess_close(d->sess);
        d->sess = NULL;
        return -1;
    }
    return 0;
}

static void dev_close(snmp_dev *d)
{
    snmp_collector *c = d->c;
    if (d->timer)
        ev_loop_cancel(c->loop, d->timer);
    if (d->sess) {
        ev_loop_unwatch(c->loop, d->fd);
        snmp_sess_close(d->sess);
    }
    if (d->slot)
        ev_snmp_slot_put(c->slots, d->slot, NULL); /* freed: the collector is closing */
    d->slot = NULL;
    ev_snmp_learned_free(&d->learned);
    free(d->last_err);
}

static void add_tag(ev_tagset *t, const char *key, const char *val)
{
    if (val && *val && t->n < EV_MAX_TAGS)
        t->tags[t->n++] = (ev_tag){key, val};
}

/* The tags every point of the device carries, from its config. */
static void set_base_tags(snmp_dev *d)
{
    const ev_device_cfg *cfg = d->cfg;
    d->base.n = 0;
    add_tag(&d->base, "device", cfg->name);
    add_tag(&d->base, "feed", cfg->feed);
    add_tag(&d->base, "hall", d->c->cfg->hall);
    add_tag(&d->base, "rack", cfg->rack);
    add_tag(&d->base, "role", ev_role_name(cfg->role));
    add_tag(&d->base, "row", cfg->row);
    add_tag(&d->base, "site", d->c->cfg->site);
}

static int dev_init(snmp_collector *c, snmp_dev *d, const ev_device_cfg *cfg)
{
    d->c = c;
    d->cfg = cfg;
    d->fd = -1;
    set_base_tags(d);
    if (!cfg->profile)
        return 0; /* reported at each poll */
    ev_snmp_learned_init(&d->learned, cfg->profile, cfg->snmp.max_repetitions);
    if (dev_open(d) < 0)
        ev_warn("snmp: device '%s' (%s): %s; will retry at each poll", cfg->name, cfg->address,
                d->err);
    return 0;
}

/* A device set up, or NULL (out of memory, logged). */
static snmp_dev *dev_new(snmp_collector *c, const ev_device_cfg *cfg)
{
    snmp_dev *d = calloc(1, sizeof *d);
    if (d && dev_init(c, d, cfg) == 0)
        return d;
    ev_err("snmp: out of memory setting up device '%s'", cfg->name);
    if (d)
        dev_close(d);
    free(d);
    return NULL;
}

static void dev_delete(snmp_dev *d)
{
    dev_close(d);
    free(d);
}

/* Due this cycle: counted busy now, started by the pacer. False when the
 * device is still busy from the last cycle (late, skipped). */
static bool enqueue(snmp_dev *d, int64_t ts_ns)
{
    snmp_collector *c = d->c;
    if (d->phase != D_IDLE) {
        c->stats.late++;
        ev_debug("snmp: device '%s' still busy from the last cycle; skipped", d->cfg->name);
        return false;
    }
    c->stats.polls++;
    c->busy++;
    d->phase = D_QUEUED;
    d->ts_ns = ts_ns;
    d->started_us = ev_now_us(); /* until it starts: an abandoned queued poll reports from here */
    return true;
}

static void start(snmp_dev *d)
{
    snmp_collector *c = d->c;
    d->phase = D_WALK;
    d->started_us = ev_now_us();
    d->requests = 0;
    d->answers = 0;
    d->rediscovered = false;
    d->tries = 0;
    d->report = 0;
    d->err[0] = 0;
    d->got = GOT_NOTHING;
    if (!d->cfg->profile) {
        snprintf(d->err, sizeof d->err, "profile '%s' not loaded",
                 d->cfg->profile_name ? d->cfg->profile_name : "?");
        d->phase = D_IDLE;
        c->busy--;
        c->stats.errors++;
        log_change(d, EV_POLL_ERROR);
        ev_poll_result r = {.dev = d->cfg, .status = EV_POLL_ERROR, .error = d->err,
                            .started_us = d->started_us};
        c->sink(c->ud, &r);
        return;
    }
    if (take_slot(d) < 0) {
        snprintf(d->err, sizeof d->err, "out of memory for the poll's values");
        finish(d, EV_POLL_ERROR);
        return;
    }
    if (!d->sess && dev_open(d) < 0) {
        finish(d, EV_POLL_ERROR);
        return;
    }
    if (ev_snmp_needs_discovery(d->sess)) {
        d->phase = D_DISCOVER;
        send_pdu(d, ev_snmp_discovery_pdu(), "SNMPv3 discovery");
    } else {
        send_next(d);
    }
}

/* Each device holds a socket: make room for them under RLIMIT_NOFILE. */
static void raise_fd_limit(size_t need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
        return;
    rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || want < need)
        ev_warn("snmp: %zu devices need %zu file descriptors but the limit is %llu", need - 64,
                need, (unsigned long long)want);
}

static void snmp_poll(ev_collector *base, int64_t ts_ns);
static size_t snmp_busy(const ev_collector *base);
static int snmp_reconfigure(ev_collector *base, const ev_config *cfg,
                            const ev_device_cfg *const *devices, size_t ndevices);
static void snmp_free(ev_collector *base);

static const ev_collector_ops snmp_ops = {
    .name = "snmp", .poll = snmp_poll, .busy = snmp_busy, .reconfigure = snmp_reconfigure,
    .free = snmp_free,
};

ev_collector *ev_snmp_collector_new(ev_loop *loop, const ev_config *cfg,
                                    const ev_device_cfg *const *devices, size_t ndevices,
                                    ev_sink_fn sink, void *ud)
{
    ev_snmp_lib_init();
    snmp_collector *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->base.ops = &snmp_ops;
    c->loop = loop;
    c->cfg = cfg;
    c->sink = sink;
    c->ud = ud;
    c->keys = ev_snmp_keys_new();
    c->slots = ev_snmp_slots_new();
    c->batch = ev_batch_new();
    c->devs = calloc(ndevices ? ndevices : 1, sizeof *c->devs);
    netsnmp_large_fd_set_init(&c->fdset, FD_SETSIZE);
    if (!c->keys || !c->slots || !c->devs || !c->batch) {
        snmp_free(&c->base);
        return NULL;
    }
    raise_fd_limit(ndevices + 64);
    for (size_t i = 0; i < ndevices; i++) {
        if (!(c->devs[i] = dev_new(c, devices[i]))) {
            snmp_free(&c->base);
            return NULL;
        }
        c->ndevs = i + 1;
    }
    return &c->base;
}

/* ---- reload ---- */

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static bool same_snmp(const ev_snmp_cfg *a, const ev_snmp_cfg *b)
{
    return a->version == b->version && a->level == b->level && a->timeout_ms == b->timeout_ms &&
           a->retries == b->retries && a->max_repetitions == b->max_repetitions &&
           same_str(a->community, b->community) && same_str(a->user, b->user) &&
           same_str(a->auth_protocol, b->auth_protocol) && same_str(a->auth_password, b->auth_password) &&
           same_str(a->priv_protocol, b->priv_protocol) && same_str(a->priv_password, b->priv_password);
}

/* Same OIDs to fetch, in the same order: the walk plan and rowset fit both. */
static bool same_fetch(const ev_profile *a, const ev_profile *b)
{
    size_t na, nb;
    if (!a || !b)
        return false;
    const ev_fetch *fa = ev_profile_fetch_list(a, &na), *fb = ev_profile_fetch_list(b, &nb);
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (fa[i].scalar != fb[i].scalar || ev_oid_cmp(&fa[i].oid, &fb[i].oid))
            return false;
    return true;
}

/* Can the device's session, state and poll in flight carry on under nc? */
static bool can_keep(const snmp_dev *d, const ev_device_cfg *nc)
{
    return same_str(d->cfg->address, nc->address) && same_snmp(&d->cfg->snmp, &nc->snmp) &&
           same_fetch(d->cfg->profile, nc->profile);
}

static int cmp_dev_name(const void *a, const void *b)
{
    const snmp_dev *x = *(snmp_dev *const *)a, *y = *(snmp_dev *const *)b;
    return strcmp(x->cfg->name, y->cfg->name);
}

static snmp_dev *find_dev(snmp_dev **sorted, size_t n, const char *name)
{
    snmp_dev key_dev = {.cfg = &(ev_device_cfg){.name = (char *)name}}, *key = &key_dev;
    snmp_dev **hit = bsearch(&key, sorted, n, sizeof *sorted, cmp_dev_name);
    return hit ? *hit : NULL;
}

/* Moved to its new config: tags and metrics may differ, nothing else. */
static void rebind(snmp_dev *d, const ev_device_cfg *nc)
{
    size_t n;
    d->cfg = nc;
    if (d->slot) { /* in flight: finishes on the new profile, then the slot is freed */
        d->slot->walk.fetch = ev_profile_fetch_list(nc->profile, &n);
        d->slot->p = NULL;
    }
    set_base_tags(d);
}

/* A poll in flight on a device going away: reported, with no points. */
static void abandon(snmp_dev *d, const char *why)
{
    if (d->phase == D_IDLE)
        return;
    snprintf(d->err, sizeof d->err, "poll abandoned: %s by a configuration reload", why);
    finish(d, EV_POLL_ERROR);
}

static int snmp_reconfigure(ev_collector *base, const ev_config *cfg,
                            const ev_device_cfg *const *devices, size_t ndevices)
{
    snmp_collector *c = (snmp_collector *)base;
    const ev_config *old_cfg = c->cfg;
    snmp_dev **next = calloc(ndevices ? ndevices : 1, sizeof *next);
    snmp_dev **sorted = malloc((c->ndevs ? c->ndevs : 1) * sizeof *sorted);
    bool *kept = calloc(ndevices ? ndevices : 1, sizeof *kept);
    size_t nkept = 0, nadded = 0, nchanged = 0;

    if (!next || !sorted || !kept)
        goto oom;
    memcpy(sorted, c->devs, c->ndevs * sizeof *sorted);
    qsort(sorted, c->ndevs, sizeof *sorted, cmp_dev_name);
    for (size_t i = 0; i < c->ndevs; i++)
        c->devs[i]->reload = R_GONE;

    /* Decide, and set up the new devices, before touching the old ones. */
    c->cfg = cfg; /* new devices take site and hall from it */
    for (size_t i = 0; i < ndevices; i++) {
        snmp_dev *d = find_dev(sorted, c->ndevs, devices[i]->name);
        if (d && can_keep(d, devices[i])) {
            d->reload = R_KEPT;
            next[i] = d;
            kept[i] = true;
            nkept++;
            continue;
        }
        if (!(next[i] = dev_new(c, devices[i])))
            goto oom;
        if (d)
            d->reload = R_REPLACED;
        d ? nchanged++ : nadded++;
    }
    /* Old devices not carried over: removed, or replaced by a new setup. */
    for (size_t i = 0; i < c->ndevs; i++) {
        snmp_dev *d = c->devs[i];
        if (d->reload == R_KEPT)
            continue;
        bool changed = d->reload == R_REPLACED;
        ev_info("snmp: device '%s' %s", d->cfg->name, changed ? "changed: set up again" : "removed");
        abandon(d, changed ? "device changed" : "device removed");
        dev_delete(d);
    }
    for (size_t i = 0; i < ndevices; i++)
        if (kept[i])
            rebind(next[i], devices[i]);
    size_t removed = c->ndevs - nkept - nchanged;
    free(c->devs);
    c->devs = next;
    c->ndevs = ndevices;
    ev_snmp_slots_drain(c->slots); /* idle slots were built for the profiles going away */
    c->next_start = 0; /* kept devices may still be queued: the pacer scans again */
    if (c->pace_timer) {
        ev_loop_cancel(c->loop, c->pace_timer);
        c->pace_timer = 0;
    }
    pace(c);
    raise_fd_limit(ndevices + 64);
    ev_notice("snmp: reconfigured: %zu device(s) kept, %zu added, %zu changed, %zu removed", nkept, nadded,
              nchanged, removed);
    free(sorted);
    free(kept);
    return 0;

oom:
    ev_err("snmp: out of memory applying the new configuration; keeping the running one");
    for (size_t i = 0; next && i < ndevices; i++)
        if (next[i] && !kept[i])
            dev_delete(next[i]);
    c->cfg = old_cfg;
    free(next);
    free(sorted);
    free(kept);
    return -1;
}

static void on_pace(ev_loop *l, uint64_t id, void *ud)
{
    snmp_collector *c = ud;
    (void)l;
    (void)id;
    c->pace_timer = 0;
    pace(c);
}

static void pace(snmp_collector *c)
{
    size_t n = ev_pace_take(&c->pace, ev_now_us(), c->ndevs - c->next_start);
    while (n > 0 && c->next_start < c->ndevs) {
        snmp_dev *d = c->devs[c->next_start++];
        if (d->phase == D_QUEUED) {
            start(d);
            n--;
        }
    }
    while (c->next_start < c->ndevs && c->devs[c->next_start]->phase != D_QUEUED)
        c->next_start++; /* late ones, still busy from the last cycle */
    if (c->next_start < c->ndevs && !c->pace_timer)
        c->pace_timer = ev_loop_after(c->loop, ev_pace_wait_ms(&c->pace), on_pace, c);
}

static void snmp_poll(ev_collector *base, int64_t ts_ns)
{
    snmp_collector *c = (snmp_collector *)base;
    size_t due = 0;
    for (size_t i = 0; i < c->ndevs; i++)
        due += enqueue(c->devs[i], ts_ns);
    c->next_start = 0;
    ev_pace_begin(&c->pace, due, c->cfg->interval_ms, EV_SNMP_PACE_TICK_MS, ev_now_us());
    pace(c);
}

static size_t snmp_busy(const ev_collector *base)
{
    const snmp_collector *c = (const snmp_collector *)base;
    return c->busy;
}

static void snmp_free(ev_collector *base)
{
    snmp_collector *c = (snmp_collector *)base;
    if (!c)
        return;
    c->closing = true; /* closing sessions times out their requests */
    ev_loop_cancel(c->loop, c->pace_timer);
    for (size_t i = 0; i < c->ndevs; i++)
        dev_delete(c->devs[i]);
    ev_snmp_keys_free(c->keys);
    ev_snmp_slots_free(c->slots);
    ev_batch_free(c->batch);
    netsnmp_large_fd_set_cleanup(&c->fdset);
    free(c->devs);
    free(c);
}

static void on_varbind(void *ud, const ev_oid *oid, const char *type)
{
    snmp_dev *d = ud;
    const ev_snmp_observer *o = &d->c->obs;
    if (o->varbind)
        o->varbind(o->ud, d->cfg, oid, type);
}

void ev_snmp_collector_observe(ev_collector *base, const ev_snmp_observer *o)
{
    snmp_collector *c = (snmp_collector *)base;
    c->obs = o ? *o : (ev_snmp_observer){0};
    for (size_t i = 0; i < c->ndevs; i++)
        if (c->devs[i]->slot)
            c->devs[i]->slot->walk.on_varbind = c->obs.varbind ? on_varbind : NULL;
}

void ev_snmp_collector_stats(const ev_collector *base, ev_snmp_stats *st)
{
    const snmp_collector *c = (const snmp_collector *)base;
    *st = c->stats;
}
