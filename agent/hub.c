/*
 * hub.c - the hub role (hub.h): route each MQTT message by its topic,
 * parse, store, keep the hall state, and publish the roll-up on a timer.
 *
 * Topics below the prefix:
 *   agents/<id>/status           "online" / "offline" -> hub_state
 *   <site>/<hall>/summary        hall summary -> InfluxDB and hub_state
 *   agents/<id>/<measurement>    the agent's own points -> InfluxDB
 *   <site>/<hall>/<dev>/<meas>   device points -> InfluxDB
 * Anything else under the prefix (the hub's own summaries, alert state)
 * is not ingested.
 *
 * With an `http:` section the hub serves the agent's page and API
 * (http.h) with a view of its own: no devices; the hall summaries it
 * receives, its cluster/site roll-up and its alerts (latest.h). With an
 * `alerts:` section each roll-up is fed to the rules (alert.h) and ticks
 * them; alert points go to InfluxDB and the view, retained alert state to
 * MQTT through the hub's client (hub_publish.c). A reload (ev_hub_reload)
 * swaps the file under the running clients: the hall state learns the new
 * expected halls, the timer the new interval, the rules the new rules.
 */
#include "agent/hub.h"

#include <stdlib.h>
#include <string.h>

#include "agent/alert.h"
#include "agent/buf.h"
#include "agent/http.h"
#include "agent/hub_mqtt.h"
#include "agent/hub_rollup.h"
#include "agent/hub_state.h"
#include "agent/latest.h"
#include "agent/lineparse.h"
#include "agent/lineproto.h"
#include "agent/log.h"
#include "agent/outputs/output.h"

#define MAX_LEVELS 5
#define MAX_VIEW_SERIES 10000 /* pue/headroom/alert series the HTTP view keeps */

struct ev_hub {
    const ev_hub_config *cfg;
    ev_loop *loop;
    ev_hub_mqtt *mqtt;
    ev_output *influx;
    ev_hub_state state;
    ev_batch *scratch;  /* one message's points */
    ev_batch *rollup;   /* one roll-up's points */
    uint64_t timer;
    ev_hub_stats stats;
    char **logged;      /* sources whose malformed messages were logged */
    size_t nlogged;
    ev_latest *latest;  /* hall summaries, roll-ups and alerts, for the HTTP view */
    ev_httpd_view view;
    ev_httpd *httpd;    /* NULL without an http: section */
    ev_output *publisher; /* the MQTT client as an output, for retained alert state */
    ev_alerts *alerts;  /* NULL without an alerts: section */
};

/* ---- malformed messages: counted always, logged once per source ------------ */

static bool first_from(ev_hub *h, const char *source)
{
    for (size_t i = 0; i < h->nlogged; i++)
        if (!strcmp(h->logged[i], source))
            return false;
    char **l = realloc(h->logged, (h->nlogged + 1) * sizeof *l);
    if (!l)
        return true;
    h->logged = l;
    if ((l[h->nlogged] = strdup(source)))
        h->nlogged++;
    return true;
}

static void malformed(ev_hub *h, const char *source, const char *topic, const char *what)
{
    h->stats.malformed++;
    if (first_from(h, source))
        ev_warn("hub: malformed message from %s on %s: %s (further ones from %s are counted, not logged)", source,
                topic, what, source);
}

/* ---- ingest ------------------------------------------------------------------ */

/* Parse a payload into h->scratch and hand the good points to InfluxDB. */
static void ingest(ev_hub *h, const char *source, const ev_hub_msg *m)
{
    ev_lp_error err;
    size_t n;
    ev_batch_clear(h->scratch);
    size_t bad = ev_lp_parse(h->scratch, m->payload, m->len, EV_PREC_NS, &err, &n);
    if (bad) {
        char what[300];
        snprintf(what, sizeof what, "%zu bad line%s; line %u, col %u: %s", bad, bad == 1 ? "" : "s", err.line,
                 err.col, err.msg);
        malformed(h, source, m->topic, what);
    }
    if (n && h->influx->write(h->influx, h->scratch) == 0)
        h->stats.points += n;
}

static void on_status(ev_hub *h, const char *agent, const ev_hub_msg *m)
{
    bool online = !strcmp(m->payload, "online"), offline = !strcmp(m->payload, "offline");
    if (!online && !offline) {
        malformed(h, agent, m->topic, "status is neither \"online\" nor \"offline\"");
        return;
    }
    ev_hub_agent_status(&h->state, agent, online);
    ev_info("hub: agent %s is %s", agent, m->payload);
}

static void on_summary(ev_hub *h, const char *site, const char *hall, const ev_hub_msg *m)
{
    char source[300], why[300];
    const char *agent = ev_hub_agent_of(&h->state, site, hall);
    snprintf(source, sizeof source, "%s", agent ? agent : "");
    if (!agent)
        snprintf(source, sizeof source, "%s/%s", site, hall);
    ingest(h, source, m);
    if (ev_hub_take_summary(&h->state, site, hall, h->scratch, ev_wall_ns(), why, sizeof why))
        malformed(h, source, m->topic, why);
    ev_latest_feed(h->latest, h->scratch);
}

/* Split "a/b/c" into levels (in place); MAX_LEVELS + 1 means "more". */
static size_t split(char *s, char **lv)
{
    size_t n = 0;
    char *t;
    while (n <= MAX_LEVELS && (t = strsep(&s, "/")))
        lv[n++] = t;
    return n;
}

static void handle(ev_hub *h, const ev_hub_msg *m)
{
    const char *prefix = h->cfg->mqtt.topic_prefix;
    size_t plen = strlen(prefix);
    if (strncmp(m->topic, prefix, plen) || m->topic[plen] != '/')
        return;
    char rest[512], *lv[MAX_LEVELS + 1];
    if (strlen(m->topic + plen + 1) >= sizeof rest)
        return;
    strcpy(rest, m->topic + plen + 1);
    size_t n = split(rest, lv);
    h->stats.messages++;

    bool agents = !strcmp(lv[0], "agents");
    if (n == 3 && agents && !strcmp(lv[2], "status")) {
        on_status(h, lv[1], m);
    } else if (n == 3 && agents) {
        ingest(h, lv[1], m);
    } else if (n == 3 && !strcmp(lv[2], "summary") && strcmp(lv[0], "hubs")) {
        on_summary(h, lv[0], lv[1], m);
    } else if (n == 4 && strcmp(lv[0], "alerts") && strcmp(lv[0], "hubs")) {
        char source[300];
        const char *agent = ev_hub_agent_of(&h->state, lv[0], lv[1]);
        snprintf(source, sizeof source, "%s%s%s", agent ? agent : lv[0], agent ? "" : "/", agent ? "" : lv[1]);
        ingest(h, source, m);
    } else {
        h->stats.messages--; /* not ours to ingest */
    }
}

static void on_inbox(ev_loop *l, int fd, int events, void *ud)
{
    ev_hub *h = ud;
    ev_hub_msg *list = ev_hub_mqtt_take(h->mqtt);
    for (ev_hub_msg *m = list; m; m = m->next)
        handle(h, m);
    ev_hub_msgs_free(list);
}

/* ---- roll-up ------------------------------------------------------------------- */

/* Publish the points of one scope (site NULL: the cluster) as a retained summary. */
static void publish_summary(ev_hub *h, const char *site, ev_buf *lp)
{
    ev_buf_reset(lp);
    for (size_t i = 0; i < h->rollup->n; i++) {
        const ev_point *p = &h->rollup->pts[i];
        const char *ps = ev_point_get_tag(p, "site"), *scope = ev_point_get_tag(p, "scope");
        bool mine = site ? ps && !strcmp(ps, site) && scope && !strcmp(scope, "site")
                         : scope && !strcmp(scope, "cluster");
        if (mine)
            ev_lp_point(lp, p, EV_PREC_NS);
    }
    if (!lp->len || lp->oom)
        return;
    char topic[300];
    snprintf(topic, sizeof topic, "%s/summary", site ? site : "cluster");
    if (ev_hub_mqtt_publish(h->mqtt, topic, lp->p, lp->len, true) < 0)
        ev_warn("hub: cannot publish %s", topic);
}

static void publish_rollup(ev_hub *h, int64_t ts)
{
    ev_batch_clear(h->rollup);
    if (ev_hub_rollup(&h->state, h->cfg, ev_wall_ns(), ts, h->rollup) < 0) {
        ev_err("hub: out of memory computing the roll-up");
        return;
    }
    ev_point *p = ev_batch_add(h->rollup, "evmon", ts);
    if (p) { /* the hub's own health, beside the agents' */
        ev_point_tag(h->rollup, p, "hub", h->cfg->id);
        ev_point_float(h->rollup, p, "messages", (double)h->stats.messages); /* floats, as every evmon field */
        ev_point_float(h->rollup, p, "points", (double)h->stats.points);
        ev_point_float(h->rollup, p, "malformed", (double)h->stats.malformed);
    }
    h->influx->write(h->influx, h->rollup);
    ev_latest_feed(h->latest, h->rollup);
    if (h->alerts) {
        ev_alerts_feed(h->alerts, h->rollup);
        ev_alerts_tick(h->alerts, ts); /* missing data, webhook resend, state file */
    }

    ev_buf lp;
    ev_buf_init(&lp);
    publish_summary(h, NULL, &lp);
    for (size_t i = 0; i < h->rollup->n; i++) { /* each site once, in order of appearance */
        const char *site = ev_point_get_tag(&h->rollup->pts[i], "site");
        bool before = false;
        for (size_t j = 0; j < i && site && !before; j++) {
            const char *s2 = ev_point_get_tag(&h->rollup->pts[j], "site");
            before = s2 && !strcmp(s2, site);
        }
        if (site && !before)
            publish_summary(h, site, &lp);
    }
    ev_buf_free(&lp);
    h->stats.rollups++;
}

static void schedule(ev_hub *h);

static void on_timer(ev_loop *l, uint64_t id, void *ud)
{
    ev_hub *h = ud;
    uint64_t interval_ns = (uint64_t)h->cfg->interval_ms * 1000000ULL;
    int64_t now = ev_wall_ns();
    h->timer = 0;
    schedule(h);
    publish_rollup(h, now - (int64_t)((uint64_t)now % interval_ns)); /* aligned: every hub stamps alike */
}

/* The next slot of the wall-clock grid, timed on the monotonic clock. */
static void schedule(ev_hub *h)
{
    uint64_t interval_ns = (uint64_t)h->cfg->interval_ms * 1000000ULL;
    uint64_t left_ns = interval_ns - (uint64_t)ev_wall_ns() % interval_ns;
    h->timer = ev_loop_after(h->loop, left_ns / 1000000 + 1, on_timer, h);
}

/* ---- the HTTP view and alerting ------------------------------------------------ */

/* Where the alert pipeline's `alert` points go: InfluxDB and the view. */
static void emit_alert_points(void *ud, const ev_batch *b)
{
    ev_hub *h = ud;
    h->influx->write(h->influx, b);
    ev_latest_feed(h->latest, b);
}

static int open_view(ev_hub *h)
{
    static const char *const kept[] = {"pue", "headroom", "alert", NULL};
    const ev_config *shared = h->cfg->store;
    if (!(h->latest = ev_latest_new(kept, MAX_VIEW_SERIES)))
        return -1;
    h->view = (ev_httpd_view){.role = "hub", .cfg = shared, .latest = h->latest, .outputs = &h->influx,
                              .noutputs = 1};
    if (shared->http.enabled && !(h->httpd = ev_httpd_start(h->loop, shared->http.listen, &h->view)))
        return -1;
    return 0;
}

static int open_alerts(ev_hub *h)
{
    if (!h->cfg->store->alerts)
        return 0;
    if (!(h->publisher = ev_hub_mqtt_publisher(h->mqtt)))
        return -1;
    ev_output *outs[] = {h->influx, h->publisher};
    h->alerts = ev_alerts_new(h->cfg->store->alerts, outs, 2, emit_alert_points, h, ev_wall_ns());
    return h->alerts ? 0 : -1;
}

/* ---- reload ---------------------------------------------------------------------- */

/* New rules (or none): active alerts carry over (alert.h). The publisher is
 * made the first time rules appear and kept, as the client is. */
static int reload_alerts(ev_hub *h, const ev_alerts_cfg *rules)
{
    if (!h->alerts && !rules)
        return 0;
    if (rules && !h->publisher && !(h->publisher = ev_hub_mqtt_publisher(h->mqtt)))
        return -1;
    ev_output *outs[] = {h->influx, h->publisher};
    h->alerts = ev_alerts_reload(h->alerts, rules, outs, 2, emit_alert_points, h, ev_wall_ns());
    return rules && !h->alerts ? -1 : 0;
}

int ev_hub_reload(ev_hub *h, const ev_hub_config *cfg)
{
    if (ev_hub_state_reconfigure(&h->state, cfg) < 0) {
        ev_err("hub: reload: out of memory");
        return -1;
    }
    bool interval_changed = cfg->interval_ms != h->cfg->interval_ms;
    if (reload_alerts(h, cfg->store->alerts) < 0) /* while the old rules are alive */
        ev_err("hub: reload: out of memory setting up the alert rules; alerting is off until the next reload");
    h->cfg = cfg;
    h->view.cfg = cfg->store;
    if (interval_changed) {
        if (h->timer)
            ev_loop_cancel(h->loop, h->timer);
        schedule(h);
    }
    ev_info("hub %s: cluster '%s', target %.0f W, %zu site%s configured, roll-up every %u ms, stale after %u ms",
            cfg->id, cfg->cluster_name, cfg->target_w, cfg->nsites, cfg->nsites == 1 ? "" : "s", cfg->interval_ms,
            cfg->stale_after_ms);
    return 0;
}

/* ---- lifetime ---------------------------------------------------------------- */

void ev_hub_get_stats(const ev_hub *h, ev_hub_stats *st)
{
    *st = h->stats;
}

ev_hub *ev_hub_new(const ev_hub_config *cfg, ev_loop *loop)
{
    ev_hub *h = calloc(1, sizeof *h);
    if (!h) {
        ev_err("hub: out of memory");
        return NULL;
    }
    h->cfg = cfg;
    h->loop = loop;
    if (ev_hub_state_init(&h->state, cfg) < 0 || !(h->scratch = ev_batch_new()) || !(h->rollup = ev_batch_new())) {
        ev_err("hub: out of memory");
        ev_hub_free(h, 0);
        return NULL;
    }
    if (!(h->influx = ev_influx_output_new(cfg->store)) || !(h->mqtt = ev_hub_mqtt_new(cfg)) ||
        ev_loop_watch(loop, ev_hub_mqtt_fd(h->mqtt), EV_READ, on_inbox, h) < 0 || open_view(h) < 0 ||
        open_alerts(h) < 0) {
        ev_hub_free(h, 0);
        return NULL;
    }
    schedule(h);
    ev_info("hub %s: cluster '%s', target %.0f W, %zu site%s configured, roll-up every %u ms", cfg->id,
            cfg->cluster_name, cfg->target_w, cfg->nsites, cfg->nsites == 1 ? "" : "s", cfg->interval_ms);
    return h;
}

void ev_hub_free(ev_hub *h, unsigned flush_ms)
{
    if (!h)
        return;
    if (h->timer)
        ev_loop_cancel(h->loop, h->timer);
    ev_alerts_free(h->alerts); /* saves the alert state; before the outputs go */
    if (h->publisher)
        h->publisher->free(h->publisher);
    ev_httpd_stop(h->httpd);
    if (h->mqtt) {
        ev_loop_unwatch(h->loop, ev_hub_mqtt_fd(h->mqtt));
        ev_hub_mqtt_stop(h->mqtt);
        if (flush_ms) /* acknowledged to the broker: to InfluxDB (or the spool) with the rest */
            on_inbox(h->loop, ev_hub_mqtt_fd(h->mqtt), EV_READ, h);
        ev_hub_mqtt_free(h->mqtt);
    }
    if (h->influx) {
        if (flush_ms && h->influx->flush(h->influx, flush_ms) < 0)
            ev_warn("hub: InfluxDB: not everything was written before stopping");
        h->influx->free(h->influx);
    }
    for (size_t i = 0; i < h->nlogged; i++)
        free(h->logged[i]);
    free(h->logged);
    ev_batch_free(h->scratch);
    ev_batch_free(h->rollup);
    ev_hub_state_free(&h->state);
    ev_latest_free(h->latest);
    free(h);
}
