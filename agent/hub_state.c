/*
 * hub_state.c - the hub's view of halls and agents (hub_state.h): hall
 * summaries taken point by point against the contract, agent status, and
 * whether a hall counts as reporting.
 *
 * Halls and agents are few (one agent per hall, hundreds per cluster), so
 * plain arrays searched linearly are enough and keep this obvious.
 */
#include "agent/hub_state.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const ev_hub_windows[EV_HUB_NWIN] = {"15m", "1h", "24h", "30d", "ytd", "365d"};

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *a = realloc(*arr, ncap * elem);
    if (!a)
        return -1;
    memset((char *)a + *cap * elem, 0, (ncap - *cap) * elem);
    *arr = a;
    *cap = ncap;
    return 0;
}

ev_hub_hall *ev_hub_hall_get(ev_hub_state *st, const char *site, const char *hall)
{
    for (size_t i = 0; i < st->nhalls; i++)
        if (!strcmp(st->halls[i].site, site) && !strcmp(st->halls[i].hall, hall))
            return &st->halls[i];
    if (grow((void **)&st->halls, &st->cap_halls, st->nhalls, sizeof *st->halls) < 0)
        return NULL;
    ev_hub_hall *h = &st->halls[st->nhalls];
    *h = (ev_hub_hall){.site = strdup(site), .hall = strdup(hall), .days_to_exhaustion = -1};
    if (!h->site || !h->hall) {
        free(h->site);
        free(h->hall);
        return NULL;
    }
    st->nhalls++;
    return h;
}

int ev_hub_state_init(ev_hub_state *st, const ev_hub_config *cfg)
{
    *st = (ev_hub_state){0};
    for (size_t i = 0; cfg && i < cfg->nsites; i++)
        for (size_t j = 0; j < cfg->sites[i].nhalls; j++) {
            ev_hub_hall *h = ev_hub_hall_get(st, cfg->sites[i].name, cfg->sites[i].halls[j]);
            if (!h)
                return -1;
            h->configured = true;
        }
    return 0;
}

static bool listed(const ev_hub_config *cfg, const ev_hub_hall *h)
{
    for (size_t i = 0; i < cfg->nsites; i++)
        for (size_t j = 0; j < cfg->sites[i].nhalls; j++)
            if (!strcmp(cfg->sites[i].name, h->site) && !strcmp(cfg->sites[i].halls[j], h->hall))
                return true;
    return false;
}

/* Drop the halls that are neither expected nor ever reported. */
static void prune(ev_hub_state *st)
{
    size_t k = 0;
    for (size_t i = 0; i < st->nhalls; i++) {
        ev_hub_hall *h = &st->halls[i];
        if (!h->configured && !h->seen) {
            free(h->site);
            free(h->hall);
            free(h->agent);
            continue;
        }
        st->halls[k++] = *h;
    }
    st->nhalls = k;
}

int ev_hub_state_reconfigure(ev_hub_state *st, const ev_hub_config *cfg)
{
    int rc = 0;
    for (size_t i = 0; i < cfg->nsites && rc == 0; i++) /* new halls start unexpected: undone by prune on failure */
        for (size_t j = 0; j < cfg->sites[i].nhalls && rc == 0; j++)
            rc = ev_hub_hall_get(st, cfg->sites[i].name, cfg->sites[i].halls[j]) ? 0 : -1;
    for (size_t i = 0; i < st->nhalls && rc == 0; i++)
        st->halls[i].configured = listed(cfg, &st->halls[i]);
    prune(st);
    return rc;
}

void ev_hub_state_free(ev_hub_state *st)
{
    for (size_t i = 0; i < st->nhalls; i++) {
        free(st->halls[i].site);
        free(st->halls[i].hall);
        free(st->halls[i].agent);
    }
    for (size_t i = 0; i < st->nagents; i++)
        free(st->agents[i].id);
    free(st->halls);
    free(st->agents);
    *st = (ev_hub_state){0};
}

/* ---- agents --------------------------------------------------------------- */

static ev_hub_agent *find_agent(const ev_hub_state *st, const char *id)
{
    for (size_t i = 0; id && i < st->nagents; i++)
        if (!strcmp(st->agents[i].id, id))
            return &st->agents[i];
    return NULL;
}

int ev_hub_agent_status(ev_hub_state *st, const char *agent, bool online)
{
    ev_hub_agent *a = find_agent(st, agent);
    if (!a) {
        if (grow((void **)&st->agents, &st->cap_agents, st->nagents, sizeof *st->agents) < 0)
            return -1;
        a = &st->agents[st->nagents];
        if (!(a->id = strdup(agent)))
            return -1;
        st->nagents++;
    }
    a->online = online;
    return 0;
}

const char *ev_hub_agent_of(const ev_hub_state *st, const char *site, const char *hall)
{
    for (size_t i = 0; i < st->nhalls; i++)
        if (!strcmp(st->halls[i].site, site) && !strcmp(st->halls[i].hall, hall))
            return st->halls[i].agent;
    return NULL;
}

bool ev_hub_hall_live(const ev_hub_state *st, const ev_hub_hall *h, int64_t now_ns, int64_t stale_ns)
{
    if (!h->seen)
        return false;
    const ev_hub_agent *a = find_agent(st, h->agent);
    if (a && !a->online)
        return false; /* the agent said "offline", or its last will did */
    return now_ns - h->ts_ns <= stale_ns;
}

/* ---- summaries ------------------------------------------------------------------ */

typedef struct {
    size_t bad;
    char *why;
    size_t len;
} problems;

static void problem(problems *pr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(problems *pr, const char *fmt, ...)
{
    if (pr->bad++ == 0 && pr->len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(pr->why, pr->len, fmt, ap);
        va_end(ap);
    }
}

/* A numeric field of any line-protocol type, as a double. */
static bool number(const ev_point *p, const char *key, double *out)
{
    const ev_field *f = ev_point_get_field(p, key);
    if (!f)
        return false;
    switch (f->type) {
    case EV_FLOAT: *out = f->v.f; return true;
    case EV_INT: *out = (double)f->v.i; return true;
    case EV_UINT: *out = (double)f->v.u; return true;
    default: return false;
    }
}

static bool flag(const ev_point *p, const char *key)
{
    const ev_field *f = ev_point_get_field(p, key);
    return f && f->type == EV_BOOL && f->v.b;
}

static int window_index(const char *w)
{
    for (int i = 0; w && i < EV_HUB_NWIN; i++)
        if (!strcmp(w, ev_hub_windows[i]))
            return i;
    return -1;
}

/* One pue,scope=hall point into its window. True when taken. */
static bool take_pue(ev_hub_hall *h, const ev_point *p, problems *pr)
{
    int wi = window_index(ev_point_get_tag(p, "window"));
    if (wi < 0)
        return false; /* another window (instant, ...): not rolled up */
    ev_hub_win v = {.have = true, .category = -1, .estimated = flag(p, "estimated")};
    double cat;
    if (!number(p, "facility_energy_wh", &v.facility_wh) || !number(p, "it_energy_wh", &v.it_wh)) {
        problem(pr, "pue window=%s: needs facility_energy_wh and it_energy_wh", ev_hub_windows[wi]);
        return false;
    }
    if (!number(p, "meters_expected", &v.meters_expected) || !number(p, "meters_reporting", &v.meters_reporting)) {
        problem(pr, "pue window=%s: needs meters_expected and meters_reporting", ev_hub_windows[wi]);
        return false;
    }
    if (v.facility_wh < 0 || v.it_wh < 0 || v.meters_expected < 0 || v.meters_reporting < 0 ||
        v.meters_reporting > v.meters_expected) {
        problem(pr, "pue window=%s: negative energy or meter count, or more meters reporting than expected",
                ev_hub_windows[wi]);
        return false;
    }
    const char *c = ev_point_get_tag(p, "category");
    if (c) {
        char *end;
        cat = strtod(c, &end);
        if (*end || end == c || cat < 0 || cat > 3 || cat != (int)cat) {
            problem(pr, "pue window=%s: bad category '%s' (expected 0..3)", ev_hub_windows[wi], c);
            return false;
        }
        v.category = (int)cat;
    }
    h->win[wi] = v;
    return true;
}

static bool take_headroom(ev_hub_hall *h, const ev_point *p, problems *pr)
{
    double peak, fac = 0, it = 0;
    if (!number(p, "peak_w", &peak)) {
        problem(pr, "headroom: needs peak_w");
        return false;
    }
    h->have_headroom = true;
    h->peak_w = peak;
    h->capacity_w = h->usable_w = h->demand_w = h->headroom_w = 0;
    number(p, "capacity_w", &h->capacity_w);
    number(p, "usable_w", &h->usable_w);
    number(p, "demand_w", &h->demand_w);
    number(p, "headroom_w", &h->headroom_w);
    number(p, "facility_power_w", &fac);
    number(p, "it_power_w", &it);
    h->facility_power_w = fac;
    h->it_power_w = it;
    if (!number(p, "days_to_exhaustion", &h->days_to_exhaustion))
        h->days_to_exhaustion = -1;
    return true;
}

/* The point belongs to this hall: its site and hall tags, when given, agree
 * with the topic it came on. */
static bool same_hall(const ev_point *p, const char *site, const char *hall, problems *pr)
{
    const char *ps = ev_point_get_tag(p, "site"), *ph = ev_point_get_tag(p, "hall");
    if ((ps && strcmp(ps, site)) || (ph && strcmp(ph, hall))) {
        problem(pr, "%s point tagged site=%s hall=%s on the summary topic of %s/%s", p->measurement,
                ps ? ps : "-", ph ? ph : "-", site, hall);
        return false;
    }
    return true;
}

static void set_agent(ev_hub_hall *h, const char *agent)
{
    if (!agent || (h->agent && !strcmp(h->agent, agent)))
        return;
    char *a = strdup(agent);
    if (!a)
        return;
    free(h->agent);
    h->agent = a;
}

size_t ev_hub_take_summary(ev_hub_state *st, const char *site, const char *hall, const ev_batch *b, int64_t now_ns,
                           char *why, size_t len)
{
    problems pr = {.why = why, .len = len};
    ev_hub_hall *h = ev_hub_hall_get(st, site, hall);
    if (!h) {
        problem(&pr, "out of memory");
        return pr.bad;
    }
    if (len)
        why[0] = 0;
    ev_hub_hall next = *h; /* the new summary replaces the old one whole */
    memset(next.win, 0, sizeof next.win);
    next.have_headroom = false;
    int64_t ts = 0;
    size_t taken = 0;
    for (size_t i = 0; i < b->n; i++) {
        const ev_point *p = &b->pts[i];
        const char *scope = ev_point_get_tag(p, "scope");
        bool pue = !strcmp(p->measurement, "pue"), room = !strcmp(p->measurement, "headroom");
        if ((!pue && !room) || !scope || strcmp(scope, "hall") || !same_hall(p, site, hall, &pr))
            continue;
        if (pue ? take_pue(&next, p, &pr) : take_headroom(&next, p, &pr)) {
            taken++;
            set_agent(&next, ev_point_get_tag(p, "agent"));
            if (p->ts_ns > ts)
                ts = p->ts_ns;
        }
    }
    if (taken) {
        next.seen = true;
        next.ts_ns = ts ? ts : now_ns;
        *h = next;
    }
    return pr.bad;
}
