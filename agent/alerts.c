/*
 * alerts.c - the alerting pipeline the agent and the hub hold (alert.h):
 * engine state changes -> log, retained MQTT state, `alert` points,
 * Alertmanager webhooks; the state file; re-sending firing alerts.
 *
 * Changes are gathered while a batch (or a tick) is evaluated and sent
 * once it is done: one write of `alert` points per output and one webhook
 * body per batch, however many series changed.
 */
#include "agent/alert.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/alert_notify.h"
#include "agent/alert_state.h"
#include "agent/alert_webhook.h"
#include "agent/log.h"

#define WEBHOOK_FLUSH_ON_EXIT_MS 2000
#define ENDS_AFTER_RESENDS 4 /* a firing alert's endsAt: this many resend intervals ahead */

struct ev_alerts {
    const ev_alerts_cfg *cfg;
    ev_alert_engine *eng;
    ev_output **outs;
    size_t nouts;
    ev_alerts_emit_fn emit;
    void *emit_ud;
    ev_batch *points;        /* `alert` points of the changes being gathered */
    json_object *changes;    /* their Alertmanager form, for the webhooks */
    ev_alert_webhook **hooks;
    size_t nhooks;
    int64_t last_resend_ns;
    bool dirty;              /* the state file is behind */
};

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static unsigned ends_in_ms(const ev_alerts *al)
{
    return al->cfg->resend_ms * ENDS_AFTER_RESENDS;
}

static void publish_state(ev_alerts *al, const ev_alert *a)
{
    ev_buf topic;
    ev_buf_init(&topic);
    ev_alert_topic(a, &topic);
    json_object *o = a->level != EV_ALERT_OK ? ev_alert_json(a) : NULL;
    const char *payload = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                            : "";
    for (size_t i = 0; !topic.oom && i < al->nouts; i++)
        if (al->outs[i]->publish)
            al->outs[i]->publish(al->outs[i], ev_buf_cstr(&topic), payload, strlen(payload), true);
    json_object_put(o);
    ev_buf_free(&topic);
}

/* Engine callback: one series changed state. */
static void on_change(void *ud, const ev_alert *a)
{
    ev_alerts *al = ud;
    ev_alert_log(a);
    publish_state(al, a);
    if (ev_alert_add_point(al->points, a) < 0)
        ev_debug("alerts: the alert point of %s lost a tag or field (too many tags)", a->rule->name);
    if (al->nhooks) {
        json_object *o = ev_alert_am_json(a, wall_ns(), ends_in_ms(al));
        if (o)
            json_object_array_add(al->changes, o);
    }
    al->dirty = true;
}

static void send_hooks(ev_alerts *al, json_object *arr)
{
    if (!json_object_array_length(arr))
        return;
    const char *body = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    for (size_t i = 0; i < al->nhooks; i++)
        if (ev_alert_webhook_send(al->hooks[i], body) < 0)
            ev_err("alerts: out of memory queueing a webhook body");
}

/* Send what the last feed/tick gathered. */
static void deliver(ev_alerts *al)
{
    if (al->points->n) {
        if (al->emit)
            al->emit(al->emit_ud, al->points);
        else
            for (size_t i = 0; i < al->nouts; i++)
                al->outs[i]->write(al->outs[i], al->points);
        ev_batch_clear(al->points);
    }
    if (al->nhooks && json_object_array_length(al->changes)) {
        send_hooks(al, al->changes);
        json_object_put(al->changes);
        al->changes = json_object_new_array();
    }
}

typedef struct {
    json_object *arr;
    int64_t now_ns;
    unsigned ends_in_ms;
} resend_ctx;

static void add_firing(void *ud, const ev_alert *a)
{
    resend_ctx *rc = ud;
    json_object *o = ev_alert_am_json(a, rc->now_ns, rc->ends_in_ms);
    if (o)
        json_object_array_add(rc->arr, o);
}

/* Every firing alert again, so Alertmanager keeps it (and learns it after
 * its own restart). */
static void resend(ev_alerts *al)
{
    resend_ctx rc = {.arr = json_object_new_array(), .now_ns = wall_ns(), .ends_in_ms = ends_in_ms(al)};
    if (!rc.arr)
        return;
    ev_alert_engine_each(al->eng, add_firing, &rc);
    send_hooks(al, rc.arr);
    json_object_put(rc.arr);
}

void ev_alerts_feed(ev_alerts *al, const ev_batch *b)
{
    ev_alert_engine_feed(al->eng, b);
    deliver(al);
}

void ev_alerts_tick(ev_alerts *al, int64_t now_ns)
{
    ev_alert_engine_tick(al->eng, now_ns);
    deliver(al);
    if (al->nhooks && now_ns - al->last_resend_ns >= (int64_t)al->cfg->resend_ms * 1000000) {
        al->last_resend_ns = now_ns;
        resend(al);
    }
    if (al->dirty && al->cfg->state_file)
        al->dirty = ev_alert_state_save(al->cfg->state_file, al->eng) < 0;
}

size_t ev_alerts_active(const ev_alerts *al)
{
    return ev_alert_engine_active(al->eng);
}

static int open_hooks(ev_alerts *al)
{
    const ev_alerts_cfg *c = al->cfg;
    if (!c->nwebhooks)
        return 0;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    al->hooks = calloc(c->nwebhooks, sizeof *al->hooks);
    if (!al->hooks)
        return -1;
    for (size_t i = 0; i < c->nwebhooks; i++) {
        if (!(al->hooks[i] = ev_alert_webhook_new(c->webhooks[i], c->webhook_timeout_ms, c->webhook_queue)))
            return -1;
        al->nhooks++;
    }
    return 0;
}

ev_alerts *ev_alerts_new(const ev_alerts_cfg *cfg, ev_output *const *outputs, size_t noutputs,
                         ev_alerts_emit_fn emit, void *emit_ud, int64_t now_ns)
{
    ev_alerts *al = calloc(1, sizeof *al);
    if (!al)
        return NULL;
    al->cfg = cfg;
    al->outs = calloc(noutputs + 1, sizeof *al->outs);
    al->points = ev_batch_new();
    al->changes = json_object_new_array();
    al->eng = ev_alert_engine_new(&cfg->rules, on_change, al);
    if (!al->outs || !al->points || !al->changes || !al->eng || open_hooks(al) < 0) {
        ev_err("alerts: cannot start (out of memory, or a webhook thread)");
        ev_alerts_free(al);
        return NULL;
    }
    if (outputs && noutputs)
        memcpy(al->outs, outputs, noutputs * sizeof *outputs);
    al->nouts = noutputs;
    al->emit = emit;
    al->emit_ud = emit_ud;
    int restored = cfg->state_file ? ev_alert_state_load(cfg->state_file, al->eng, now_ns, on_change, al) : 0;
    deliver(al);
    ev_notice("alerts: %zu rule(s), %d active alert(s) restored from %s, %zu webhook(s)", cfg->rules.n,
              restored > 0 ? restored : 0, cfg->state_file ? cfg->state_file : "(no state file)", al->nhooks);
    return al;
}

void ev_alerts_free(ev_alerts *al)
{
    if (!al)
        return;
    if (al->eng && al->cfg->state_file)
        ev_alert_state_save(al->cfg->state_file, al->eng);
    for (size_t i = 0; i < al->nhooks; i++)
        if (ev_alert_webhook_flush(al->hooks[i], WEBHOOK_FLUSH_ON_EXIT_MS) < 0)
            ev_warn("alerts: webhook %s: not everything was delivered before exit", al->cfg->webhooks[i]);
    for (size_t i = 0; i < al->nhooks; i++)
        ev_alert_webhook_free(al->hooks[i]);
    if (al->hooks)
        curl_global_cleanup();
    free(al->hooks);
    ev_alert_engine_free(al->eng);
    ev_batch_free(al->points);
    json_object_put(al->changes);
    free(al->outs);
    free(al);
}

/* ---- reload ---------------------------------------------------------------- */

static bool same_hooks(const ev_alerts_cfg *a, const ev_alerts_cfg *b)
{
    if (a->nwebhooks != b->nwebhooks || a->webhook_timeout_ms != b->webhook_timeout_ms ||
        a->webhook_queue != b->webhook_queue)
        return false;
    for (size_t i = 0; i < a->nwebhooks; i++)
        if (strcmp(a->webhooks[i], b->webhooks[i]))
            return false;
    return true;
}

typedef struct {
    ev_alerts *al;
    ev_alert_engine *to;
    int64_t now_ns;
} carry_ctx;

/* One active alert of the old engine into the new one, or resolved. */
static void carry(void *ud, const ev_alert *a)
{
    carry_ctx *cc = ud;
    if (ev_alert_engine_restore(cc->to, a->rule->name, a->missing, a->measurement, a->tags, a->ntags, a->level,
                                a->value, a->threshold, a->starts_ns, cc->now_ns) == 0)
        return;
    ev_alert r = *a;
    r.prev = a->level;
    r.level = EV_ALERT_OK;
    r.at_ns = cc->now_ns;
    on_change(cc->al, &r);
}

ev_alerts *ev_alerts_reload(ev_alerts *al, const ev_alerts_cfg *cfg, ev_output *const *outputs,
                            size_t noutputs, ev_alerts_emit_fn emit, void *emit_ud, int64_t now_ns)
{
    if (!al || !cfg || !same_hooks(al->cfg, cfg)) { /* start over; the state file carries the alerts */
        ev_alerts_free(al);
        return cfg ? ev_alerts_new(cfg, outputs, noutputs, emit, emit_ud, now_ns) : NULL;
    }
    ev_alert_engine *eng = ev_alert_engine_new(&cfg->rules, on_change, al);
    if (!eng) {
        ev_err("alerts: reload: out of memory; keeping the previous rules");
        return al;
    }
    carry_ctx cc = {.al = al, .to = eng, .now_ns = now_ns};
    ev_alert_engine_each(al->eng, carry, &cc);
    deliver(al);
    ev_alert_engine_free(al->eng);
    al->eng = eng;
    al->cfg = cfg;
    al->dirty = true;
    ev_notice("alerts: reloaded: %zu rule(s), %zu active alert(s)", cfg->rules.n, ev_alert_engine_active(eng));
    return al;
}
