/*
 * mqtt.c - the MQTT output: line protocol to <prefix>/<site>/<hall>/<device>/
 * <measurement> (topics: mqtt_topic.h) with the Paho C asynchronous client.
 *
 * write() groups the batch's points by topic (device and measurement) and
 * hands one message per group to Paho, which sends from its own threads:
 * the caller never waits for the broker. While the broker is away Paho
 * buffers up to EV_MQTT_MAX_BUFFERED messages (sendWhileDisconnected) and
 * reconnects by itself (automaticReconnect, 1 s doubling to 30 s); a
 * message beyond that bound is refused and its points counted as dropped.
 * (Paho can drop the oldest message instead, but then reports nothing
 * about it, so the points could not be counted.)
 *
 * Presence: the connection carries a last will, retained "offline" on
 * <prefix>/agents/<agent_id>/status (QoS 1), which the broker publishes if
 * the agent dies (kill -9, power loss); every (re)connect publishes a
 * retained "online" there. A clean disconnect does not fire the will, so
 * free() publishes the retained "offline" itself before disconnecting.
 *
 * Clean session is off: a publisher has no subscriptions to keep, but with
 * a persistent session Paho resends QoS 1 messages that were in flight when
 * the connection dropped, once it is back, instead of losing them. The
 * client id (default: the agent id) must therefore be unique per agent.
 *
 * Counters: a message's points are "sent" when Paho confirms it (PUBACK for
 * QoS 1, written for QoS 0) and "dropped" when Paho gives up on it;
 * points_in = sent + dropped + queued.
 */
#include <MQTTAsync.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/buf.h"
#include "agent/lineproto.h"
#include "agent/log.h"
#include "agent/outputs/mqtt_topic.h"
#include "agent/outputs/output.h"

#define EV_MQTT_MAX_BUFFERED 20000 /* messages Paho holds while disconnected */
#define EV_MQTT_CLOSE_WAIT_MS 2000 /* free(): for "offline" and the disconnect */

typedef struct {
    ev_output base; /* first: the ev_output * is this struct */
    MQTTAsync cli;
    char *url, *client_id, *username, *password;
    char *prefix, *agent_id, *site, *hall;
    ev_topic_ctx tctx;
    char *status_topic;
    int qos;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* a message settled, or the disconnect finished */
    /* Under mu. */
    uint64_t in, sent, dropped, queued, errors;
    unsigned pending; /* messages handed to Paho, not yet settled */
    bool connected, ever_connected, closing, disconnected;
    bool fail_logged, drop_logged;
} ev_mqtt;

/* One message handed to Paho; freed by whichever callback settles it. */
typedef struct {
    ev_mqtt *o;
    size_t npoints;
} pub_ctx;

/* ---- time ------------------------------------------------------------- */

static struct timespec mono_after(unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* ---- settling messages (Paho's threads) ---------------------------------- */

static void settle(pub_ctx *c, bool ok)
{
    ev_mqtt *o = c->o;
    pthread_mutex_lock(&o->mu);
    o->pending--;
    o->queued -= c->npoints;
    if (ok) {
        o->sent += c->npoints;
    } else {
        o->dropped += c->npoints;
        o->errors++;
    }
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
    free(c);
}

static void on_pub_ok(void *ctx, MQTTAsync_successData *d)
{
    settle(ctx, true);
}

static void on_pub_fail(void *ctx, MQTTAsync_failureData *d)
{
    pub_ctx *c = ctx;
    if (c->npoints)
        ev_debug("mqtt: a message of %zu points failed (%s)", c->npoints,
                 d && d->message ? d->message : MQTTAsync_strerror(d ? d->code : -1));
    settle(c, false);
}

/* Hand one message to Paho. 0, or -1 when Paho refused it (counted). */
static int publish(ev_mqtt *o, const char *topic, const void *payload, size_t len, int qos,
                   bool retained, size_t npoints)
{
    pub_ctx *c = malloc(sizeof *c);
    int rc = MQTTASYNC_FAILURE;
    pthread_mutex_lock(&o->mu);
    o->pending++;
    o->queued += npoints;
    pthread_mutex_unlock(&o->mu);
    if (c && len <= INT32_MAX) {
        c->o = o;
        c->npoints = npoints;
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        ro.onSuccess = on_pub_ok;
        ro.onFailure = on_pub_fail;
        ro.context = c;
        MQTTAsync_message m = MQTTAsync_message_initializer;
        m.payload = (void *)(uintptr_t)payload;
        m.payloadlen = (int)len;
        m.qos = qos;
        m.retained = retained;
        rc = MQTTAsync_sendMessage(o->cli, topic, &m, &ro);
    }
    if (rc == MQTTASYNC_SUCCESS)
        return 0;
    bool log_it = false;
    pthread_mutex_lock(&o->mu);
    o->pending--;
    o->queued -= npoints;
    o->dropped += npoints;
    o->errors++;
    if (!o->drop_logged) {
        o->drop_logged = log_it = true;
    }
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
    if (log_it)
        ev_warn("mqtt: cannot queue a message for %s: %s; dropping points until it can",
                o->url, c ? MQTTAsync_strerror(rc) : "out of memory");
    free(c);
    return -1;
}

/* ---- connection state (Paho's threads) ------------------------------------- */

static void publish_status(ev_mqtt *o, const char *state)
{
    publish(o, o->status_topic, state, strlen(state), 1, true, 0);
}

static void on_connected(void *ctx, char *cause)
{
    ev_mqtt *o = ctx;
    pthread_mutex_lock(&o->mu);
    bool again = o->ever_connected, closing = o->closing;
    o->connected = o->ever_connected = true;
    o->fail_logged = o->drop_logged = false;
    unsigned buffered = o->pending;
    pthread_mutex_unlock(&o->mu);
    if (closing)
        return;
    if (again)
        ev_notice("mqtt: reconnected to %s; sending %u buffered messages", o->url, buffered);
    else
        ev_info("mqtt: connected to %s as '%s'", o->url, o->client_id);
    publish_status(o, "online");
}

static void on_connection_lost(void *ctx, char *cause)
{
    ev_mqtt *o = ctx;
    pthread_mutex_lock(&o->mu);
    o->connected = false;
    bool closing = o->closing;
    pthread_mutex_unlock(&o->mu);
    if (!closing)
        ev_warn("mqtt: lost the connection to %s%s%s; reconnecting, buffering up to %d messages",
                o->url, cause ? ": " : "", cause ? cause : "", EV_MQTT_MAX_BUFFERED);
}

/* Only the first connect reports failures; Paho retries by itself. */
static void on_connect_failure(void *ctx, MQTTAsync_failureData *d)
{
    ev_mqtt *o = ctx;
    pthread_mutex_lock(&o->mu);
    bool log_it = !o->fail_logged;
    o->fail_logged = true;
    pthread_mutex_unlock(&o->mu);
    if (log_it)
        ev_warn("mqtt: cannot connect to %s: %s; retrying, buffering up to %d messages", o->url,
                d && d->message ? d->message : MQTTAsync_strerror(d ? d->code : -1),
                EV_MQTT_MAX_BUFFERED);
}

static void on_disconnected(void *ctx, MQTTAsync_successData *d)
{
    ev_mqtt *o = ctx;
    pthread_mutex_lock(&o->mu);
    o->disconnected = true;
    o->connected = false;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

static void on_disconnect_failed(void *ctx, MQTTAsync_failureData *d)
{
    on_disconnected(ctx, NULL);
}

/* ---- write: one message per (device, measurement) ---------------------------- */

typedef struct {
    size_t idx;   /* point index in the batch */
    size_t topic; /* offset of its NUL-terminated topic in the topics buffer */
} topic_ref;

static int by_topic(const void *a, const void *b, void *topics)
{
    const topic_ref *x = a, *y = b;
    int c = strcmp((const char *)topics + x->topic, (const char *)topics + y->topic);
    if (c)
        return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int mqtt_write(ev_output *base, const ev_batch *b)
{
    ev_mqtt *o = (ev_mqtt *)base;
    if (!b || b->n == 0)
        return 0;
    pthread_mutex_lock(&o->mu);
    bool closing = o->closing;
    pthread_mutex_unlock(&o->mu);
    if (closing)
        return -1;

    ev_buf topics, payload;
    ev_buf_init(&topics);
    ev_buf_init(&payload);
    topic_ref *refs = malloc(b->n * sizeof *refs);
    if (!refs) {
        ev_err("mqtt: out of memory publishing %zu points", b->n);
        return -1;
    }
    for (size_t i = 0; i < b->n; i++) {
        refs[i].idx = i;
        refs[i].topic = topics.len;
        ev_topic_for_point(&topics, &o->tctx, &b->pts[i]);
        ev_buf_putc(&topics, '\0');
    }
    if (topics.oom) {
        ev_err("mqtt: out of memory publishing %zu points", b->n);
        free(refs);
        ev_buf_free(&topics);
        return -1;
    }
    /* Stable grouping: by topic, points keep their order within a topic. */
    qsort_r(refs, b->n, sizeof *refs, by_topic, topics.p);

    size_t total = 0, published = 0;
    for (size_t i = 0; i < b->n;) {
        const char *topic = topics.p + refs[i].topic;
        size_t lines = 0;
        ev_buf_reset(&payload);
        for (; i < b->n && strcmp(topics.p + refs[i].topic, topic) == 0; i++) {
            size_t before = payload.len;
            if (ev_lp_point(&payload, &b->pts[refs[i].idx], EV_PREC_NS) == 0)
                lines++;
            else
                payload.len = before; /* no field to write */
        }
        if (!lines)
            continue;
        pthread_mutex_lock(&o->mu);
        o->in += lines;
        pthread_mutex_unlock(&o->mu);
        total += lines;
        if (payload.oom) {
            pthread_mutex_lock(&o->mu);
            o->dropped += lines;
            o->errors++;
            pthread_mutex_unlock(&o->mu);
            payload.oom = 0;
            continue;
        }
        if (publish(o, topic, payload.p, payload.len, o->qos, false, lines) == 0)
            published += lines;
    }
    free(refs);
    ev_buf_free(&topics);
    ev_buf_free(&payload);
    return total && !published ? -1 : 0;
}

/* ---- flush, stats, free ---------------------------------------------------------- */

/* Wait until no message is pending, at most until `until`. Under mu. */
static bool wait_settled(ev_mqtt *o, const struct timespec *until)
{
    while (o->pending > 0)
        if (pthread_cond_timedwait(&o->cv, &o->mu, until) == ETIMEDOUT)
            break;
    return o->pending == 0;
}

static int mqtt_flush(ev_output *base, unsigned timeout_ms)
{
    ev_mqtt *o = (ev_mqtt *)base;
    struct timespec until = mono_after(timeout_ms);
    pthread_mutex_lock(&o->mu);
    bool done = wait_settled(o, &until);
    pthread_mutex_unlock(&o->mu);
    return done ? 0 : -1;
}

static int mqtt_publish(ev_output *base, const char *topic, const void *payload, size_t len,
                        bool retained)
{
    ev_mqtt *o = (ev_mqtt *)base;
    ev_buf full;
    ev_buf_init(&full);
    ev_buf_printf(&full, "%s/%s", o->prefix, topic);
    int rc = full.oom ? -1 : publish(o, ev_buf_cstr(&full), payload, len, o->qos, retained, 0);
    ev_buf_free(&full);
    return rc;
}

static void mqtt_stats(const ev_output *base, ev_output_stats *st)
{
    ev_mqtt *o = (ev_mqtt *)base;
    pthread_mutex_lock(&o->mu);
    st->points_in = o->in;
    st->points_sent = o->sent;
    st->points_dropped = o->dropped;
    st->points_queued = o->queued;
    st->errors = o->errors;
    pthread_mutex_unlock(&o->mu);
}

/* Graceful stop: retained "offline" (the will only covers a crash), then a
 * clean disconnect, each waited for at most EV_MQTT_CLOSE_WAIT_MS. */
static void say_goodbye(ev_mqtt *o)
{
    pthread_mutex_lock(&o->mu);
    o->closing = true;
    bool connected = o->connected;
    pthread_mutex_unlock(&o->mu);
    if (connected)
        publish_status(o, "offline");

    struct timespec until = mono_after(EV_MQTT_CLOSE_WAIT_MS);
    pthread_mutex_lock(&o->mu);
    if (connected)
        wait_settled(o, &until); /* "offline" goes after the data before it */
    unsigned left = o->pending;
    pthread_mutex_unlock(&o->mu);
    if (left)
        ev_warn("mqtt: %u messages not delivered to %s at shutdown", left, o->url);

    MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
    d.timeout = EV_MQTT_CLOSE_WAIT_MS;
    d.onSuccess = on_disconnected;
    d.onFailure = on_disconnect_failed;
    d.context = o;
    if (MQTTAsync_disconnect(o->cli, &d) != MQTTASYNC_SUCCESS)
        return;
    until = mono_after(EV_MQTT_CLOSE_WAIT_MS + 1000);
    pthread_mutex_lock(&o->mu);
    while (!o->disconnected)
        if (pthread_cond_timedwait(&o->cv, &o->mu, &until) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&o->mu);
}

static void mqtt_free(ev_output *base)
{
    ev_mqtt *o = (ev_mqtt *)base;
    if (!o)
        return;
    if (o->cli) {
        say_goodbye(o);
        MQTTAsync_destroy(&o->cli); /* settles (as failed) what is left */
    }
    pthread_cond_destroy(&o->cv);
    pthread_mutex_destroy(&o->mu);
    free(o->url);
    free(o->client_id);
    free(o->username);
    free(o->password);
    free(o->prefix);
    free(o->agent_id);
    free(o->site);
    free(o->hall);
    free(o->status_topic);
    free(o);
}

/* ---- construction --------------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int init_sync(ev_mqtt *o)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return -1;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_mutex_init(&o->mu, NULL) || pthread_cond_init(&o->cv, &ca);
    pthread_condattr_destroy(&ca);
    return rc ? -1 : 0;
}

static int copy_config(ev_mqtt *o, const ev_config *cfg)
{
    const ev_mqtt_cfg *mc = &cfg->mqtt;
    const char *cid = mc->client_id && *mc->client_id ? mc->client_id : cfg->agent_id;
    o->url = strdup(mc->url);
    o->client_id = dup_or_null(cid);
    o->username = dup_or_null(mc->username);
    o->password = dup_or_null(mc->password);
    o->prefix = strdup(mc->topic_prefix && *mc->topic_prefix ? mc->topic_prefix
                                                              : EV_MQTT_DEFAULT_PREFIX);
    o->agent_id = dup_or_null(cfg->agent_id);
    o->site = dup_or_null(cfg->site);
    o->hall = dup_or_null(cfg->hall);
    o->tctx = (ev_topic_ctx){o->prefix, o->agent_id, o->site, o->hall};
    ev_buf t;
    ev_buf_init(&t);
    ev_topic_status(&t, &o->tctx);
    o->status_topic = t.oom ? NULL : strdup(ev_buf_cstr(&t));
    ev_buf_free(&t);
    o->qos = mc->qos >= 0 && mc->qos <= 2 ? mc->qos : 1;
    return o->url && o->client_id && o->prefix && o->status_topic ? 0 : -1;
}

static int create_client(ev_mqtt *o)
{
    MQTTAsync_createOptions cro = MQTTAsync_createOptions_initializer;
    cro.sendWhileDisconnected = 1;
    cro.allowDisconnectedSendAtAnyTime = 1; /* before the first connect, too */
    cro.maxBufferedMessages = EV_MQTT_MAX_BUFFERED;
    cro.deleteOldestMessages = 0;
    int rc = MQTTAsync_createWithOptions(&o->cli, o->url, o->client_id, MQTTCLIENT_PERSISTENCE_NONE,
                                         NULL, &cro);
    if (rc != MQTTASYNC_SUCCESS) {
        o->cli = NULL;
        ev_err("mqtt: cannot use url '%s' (client id '%s'): %s", o->url, o->client_id,
               MQTTAsync_strerror(rc));
        return -1;
    }
    MQTTAsync_setConnected(o->cli, o, on_connected);
    MQTTAsync_setConnectionLostCallback(o->cli, o, on_connection_lost);
    return 0;
}

static int start_connect(ev_mqtt *o)
{
    MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
    will.topicName = o->status_topic;
    will.message = "offline";
    will.retained = 1;
    will.qos = 1;
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
    co.keepAliveInterval = 30;
    co.cleansession = 0;
    co.connectTimeout = 10;
    co.automaticReconnect = 1;
    co.minRetryInterval = 1;
    co.maxRetryInterval = 30;
    co.will = &will;
    co.username = o->username;
    co.password = o->password;
    co.onFailure = on_connect_failure;
    co.context = o;
    int rc = MQTTAsync_connect(o->cli, &co);
    if (rc != MQTTASYNC_SUCCESS) {
        ev_err("mqtt: cannot start connecting to %s: %s", o->url, MQTTAsync_strerror(rc));
        return -1;
    }
    return 0;
}

ev_output *ev_mqtt_output_new(const ev_config *cfg)
{
    if (!cfg->mqtt.url || !*cfg->mqtt.url) {
        ev_err("mqtt: no url configured");
        return NULL;
    }
    if (!(cfg->mqtt.client_id && *cfg->mqtt.client_id) && !(cfg->agent_id && *cfg->agent_id)) {
        ev_err("mqtt: no client id: set mqtt client_id or the agent id");
        return NULL;
    }
    ev_mqtt *o = calloc(1, sizeof *o);
    if (!o || init_sync(o) < 0) {
        free(o);
        ev_err("mqtt: out of memory");
        return NULL;
    }
    o->base.name = "mqtt";
    o->base.write = mqtt_write;
    o->base.flush = mqtt_flush;
    o->base.stats = mqtt_stats;
    o->base.publish = mqtt_publish;
    o->base.free = mqtt_free;
    if (copy_config(o, cfg) < 0) {
        ev_err("mqtt: out of memory");
        mqtt_free(&o->base);
        return NULL;
    }
    if (create_client(o) < 0 || start_connect(o) < 0) {
        mqtt_free(&o->base);
        return NULL;
    }
    return &o->base;
}
