/*
 * mqtt.c - the MQTT output: line protocol to <prefix>/<site>/<hall>/<device>/
 * <measurement> (topics: mqtt_topic.h) with the Paho C asynchronous client.
 *
 * write_lp() groups the batch's lines (encoded once by the agent for every
 * output; write() encodes them itself) by topic (device and measurement) and
 * hands one message per group to Paho, which sends from its own threads:
 * the caller never waits for the broker. Paho reconnects by itself
 * (automaticReconnect, 1 s doubling to 30 s). With a spool (mqtt_spool.c)
 * a message goes to disk instead while the broker is away or Paho already
 * holds EV_MQTT_WINDOW messages, and is replayed once it is back. Without
 * one, Paho buffers up to EV_MQTT_MAX_BUFFERED messages while disconnected
 * (sendWhileDisconnected); a message beyond that bound is refused and its
 * points counted as dropped. (Paho can drop the oldest message instead,
 * but then reports nothing about it, so the points could not be counted.)
 * Status, summaries and alert state (publish()) never go to disk.
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
 * TLS (ssl://, mqtts://, wss://): the broker's certificate is verified
 * against ca_file (else the system's CAs), host name included; OpenSSL's
 * reason for a failed handshake is logged. Username and password go in
 * the CONNECT; a refusal is logged with what it means.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/buf.h"
#include "agent/lineproto.h"
#include "agent/log.h"
#include "agent/loop.h"
#include "agent/outputs/mqtt_conn.h"
#include "agent/outputs/mqtt_priv.h"

/* ---- time ------------------------------------------------------------- */

/* ---- settling messages (Paho's threads) ---------------------------------- */

static void settle(pub_ctx *c, bool ok)
{
    ev_mqtt *o = c->o;
    if (c->kind == MSG_REPLAY) {
        pthread_mutex_lock(&o->mu);
        o->pending--;
        pthread_mutex_unlock(&o->mu);
        ev_mqtt_replay_settled(o, c->batch, ok);
        free(c);
        return;
    }
    bool to_disk = !ok && c->kind == MSG_LIVE && o->spool && c->reclen;
    if (to_disk) /* before it stops counting as queued: flush() must not see a gap */
        ev_spool_append(o->spool, c->rec, c->reclen, (uint32_t)c->npoints);
    pthread_mutex_lock(&o->mu);
    o->pending--;
    o->queued -= c->npoints;
    if (ok) {
        o->sent += c->npoints;
    } else {
        o->dropped += to_disk ? 0 : c->npoints;
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

int ev_mqtt_send(ev_mqtt *o, const char *topic, const void *payload, size_t len, bool retained,
                 pub_ctx *c)
{
    int rc = MQTTASYNC_FAILURE;
    size_t npoints = c ? c->npoints : 0;
    bool live = c && c->kind == MSG_LIVE;
    pthread_mutex_lock(&o->mu);
    o->pending++;
    if (live)
        o->queued += npoints;
    pthread_mutex_unlock(&o->mu);
    if (c && len <= INT32_MAX) {
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        ro.onSuccess = on_pub_ok;
        ro.onFailure = on_pub_fail;
        ro.context = c;
        MQTTAsync_message m = MQTTAsync_message_initializer;
        m.payload = (void *)(uintptr_t)payload;
        m.payloadlen = (int)len;
        m.qos = o->status_topic && strcmp(topic, o->status_topic) == 0 ? 1 : o->qos;
        m.retained = retained;
        rc = MQTTAsync_sendMessage(o->cli, topic, &m, &ro);
    }
    if (rc == MQTTASYNC_SUCCESS)
        return 0;
    if (c && c->kind == MSG_REPLAY) {
        settle(c, false); /* stays on disk */
        return -1;
    }
    bool log_it = false;
    pthread_mutex_lock(&o->mu);
    o->pending--;
    if (live)
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

/* A data message: to Paho, keeping a copy for the disk when there is a
 * spool (in case Paho gives up on it). */
static int publish_points(ev_mqtt *o, const char *topic, const void *payload, size_t len,
                          size_t npoints)
{
    size_t tl = strlen(topic) + 1, reclen = o->spool ? tl + len : 0;
    pub_ctx *c = malloc(sizeof *c + reclen);
    if (c) {
        *c = (pub_ctx){.o = o, .npoints = npoints, .kind = MSG_LIVE, .reclen = reclen};
        if (reclen) {
            memcpy(c->rec, topic, tl);
            memcpy(c->rec + tl, payload, len);
        }
    }
    return ev_mqtt_send(o, topic, payload, len, false, c);
}

/* Status, summaries, alert state: straight to Paho, never spooled. */
static int publish_control(ev_mqtt *o, const char *topic, const void *payload, size_t len, bool retained)
{
    pub_ctx *c = malloc(sizeof *c);
    if (c)
        *c = (pub_ctx){.o = o, .kind = MSG_CONTROL};
    return ev_mqtt_send(o, topic, payload, len, retained, c);
}

/* ---- connection state (Paho's threads) ------------------------------------- */

static void publish_status(ev_mqtt *o, const char *state)
{
    publish_control(o, o->status_topic, state, strlen(state), true);
}

static void on_connected(void *ctx, char *cause)
{
    ev_mqtt *o = ctx;
    pthread_mutex_lock(&o->mu);
    pthread_cond_broadcast(&o->cv); /* the replayer */
    bool again = o->ever_connected, closing = o->closing;
    o->connected = o->ever_connected = true;
    o->fail_logged = o->drop_logged = o->tls_logged = false;
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

/* Where messages wait meanwhile, for the log. */
static const char *keeping(const ev_mqtt *o, char *buf, size_t len)
{
    if (o->spool)
        return "keeping messages on disk";
    snprintf(buf, len, "buffering up to %d messages", EV_MQTT_MAX_BUFFERED);
    return buf;
}

static void on_connection_lost(void *ctx, char *cause)
{
    ev_mqtt *o = ctx;
    pthread_mutex_lock(&o->mu);
    o->connected = false;
    bool closing = o->closing;
    pthread_mutex_unlock(&o->mu);
    char keep[64];
    if (!closing)
        ev_warn("mqtt: lost the connection to %s%s%s; reconnecting, %s", o->url, cause ? ": " : "",
                cause ? cause : "", keeping(o, keep, sizeof keep));
}

/* What a CONNACK refusal code means (MQTT 3.1.1), for the log. */
static const char *connack_reason(int code)
{
    switch (code) {
    case 1: return " (the broker refused the protocol version)";
    case 2: return " (the broker refused the client id)";
    case 3: return " (the broker is unavailable)";
    case 4: return " (bad user name or password: check mqtt username and password)";
    case 5: return " (not authorised: check mqtt username, password and the broker's ACL)";
    default: return "";
    }
}

/* Only the first connect reports failures; Paho retries by itself. */
static void on_connect_failure(void *ctx, MQTTAsync_failureData *d)
{
    ev_mqtt *o = ctx;
    pthread_mutex_lock(&o->mu);
    bool log_it = !o->fail_logged;
    o->fail_logged = true;
    pthread_mutex_unlock(&o->mu);
    char keep[64];
    if (log_it)
        ev_warn("mqtt: cannot connect to %s: %s%s; retrying, %s", o->url,
                d && d->message ? d->message : MQTTAsync_strerror(d ? d->code : -1),
                connack_reason(d ? d->code : 0), keeping(o, keep, sizeof keep));
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

static int mqtt_write_lp(ev_output *base, const ev_lp_text *t)
{
    ev_mqtt *o = (ev_mqtt *)base;
    const ev_batch *b = t->batch;
    if (!t->lines)
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
    size_t nrefs = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (t->end[i] == ev_lp_start(t, i))
            continue; /* no line: no field to write */
        refs[nrefs].idx = i;
        refs[nrefs].topic = topics.len;
        nrefs++;
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
    qsort_r(refs, nrefs, sizeof *refs, by_topic, topics.p);

    size_t total = 0, published = 0;
    for (size_t i = 0; i < nrefs;) {
        const char *topic = topics.p + refs[i].topic;
        size_t lines = 0;
        ev_buf_reset(&payload);
        for (; i < nrefs && strcmp(topics.p + refs[i].topic, topic) == 0; i++, lines++) {
            size_t start = ev_lp_start(t, refs[i].idx);
            ev_buf_put(&payload, t->text.p + start, t->end[refs[i].idx] - start);
        }
        pthread_mutex_lock(&o->mu);
        o->in += lines;
        /* with a spool, Paho gets a window of messages, and only while connected */
        bool to_disk = o->spool && (!o->connected || o->pending >= EV_MQTT_WINDOW);
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
        if (to_disk) {
            ev_mqtt_spool_put(o, topic, payload.p, payload.len, lines);
            published += lines;
        } else if (publish_points(o, topic, payload.p, payload.len, lines) == 0) {
            published += lines;
        }
    }
    free(refs);
    ev_buf_free(&topics);
    ev_buf_free(&payload);
    return total && !published ? -1 : 0;
}

static int mqtt_write(ev_output *base, const ev_batch *b)
{
    if (!b || b->n == 0)
        return 0;
    ev_lp_text t;
    if (ev_lp_encode(&t, b) < 0) {
        ev_err("mqtt: out of memory publishing %zu points", b->n);
        return -1;
    }
    int rc = mqtt_write_lp(base, &t);
    ev_lp_text_free(&t);
    return rc;
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

/* Everything delivered: nothing in Paho's hands, nothing on disk. Under mu. */
static bool all_sent(ev_mqtt *o)
{
    return o->pending == 0 && !o->batch && ev_mqtt_spool_points(o) == 0;
}

static int mqtt_flush(ev_output *base, unsigned timeout_ms)
{
    ev_mqtt *o = (ev_mqtt *)base;
    struct timespec until = ev_mono_deadline(timeout_ms);
    pthread_mutex_lock(&o->mu);
    o->flushing++;
    pthread_cond_broadcast(&o->cv); /* the replayer: no pacing now */
    while (!all_sent(o))
        if (pthread_cond_timedwait(&o->cv, &o->mu, &until) == ETIMEDOUT)
            break;
    bool done = all_sent(o);
    o->flushing--;
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
    int rc = full.oom ? -1 : publish_control(o, ev_buf_cstr(&full), payload, len, retained);
    ev_buf_free(&full);
    return rc;
}

static void mqtt_stats(const ev_output *base, ev_output_stats *st)
{
    ev_mqtt *o = (ev_mqtt *)base;
    memset(st, 0, sizeof *st);
    pthread_mutex_lock(&o->mu);
    st->points_in = o->in;
    st->points_sent = o->sent;
    st->points_dropped = o->dropped;
    st->points_queued = o->queued;
    st->errors = o->errors;
    ev_mqtt_spool_stats(o, st);
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

    struct timespec until = ev_mono_deadline(EV_MQTT_CLOSE_WAIT_MS);
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
    until = ev_mono_deadline(EV_MQTT_CLOSE_WAIT_MS + 1000);
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
    ev_mqtt_replayer_stop(o);
    if (o->cli) {
        say_goodbye(o);
        MQTTAsync_destroy(&o->cli); /* settles (as failed, so to disk) what is left */
    }
    ev_mqtt_spool_close(o);
    pthread_cond_destroy(&o->cv);
    pthread_mutex_destroy(&o->mu);
    free(o->url);
    free(o->client_id);
    free(o->username);
    free(o->password);
    free(o->ca_file);
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
    o->ca_file = dup_or_null(mc->ca_file);
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

/* OpenSSL's reason for a failed handshake (a wrong CA, say): Paho's
 * connect failure only says "TCP/TLS connect failure". Logged once per
 * connection episode with the connect failure. */
static int on_ssl_error(const char *str, size_t len, void *ctx)
{
    ev_mqtt *o = ctx;
    while (len > 0 && (str[len - 1] == '\n' || str[len - 1] == ':'))
        len--;
    pthread_mutex_lock(&o->mu);
    bool log_it = !o->tls_logged;
    o->tls_logged = true;
    pthread_mutex_unlock(&o->mu);
    if (log_it)
        ev_err("mqtt: TLS with %s failed: %.*s (check ca_file: %s)", o->url, (int)len, str,
               o->ca_file ? o->ca_file : "the system's CAs");
    return 0;
}

static int start_connect(ev_mqtt *o)
{
    ev_mqtt_conn c;
    ev_mqtt_conn_init(&c, o->url, o->status_topic, o->username, o->password, o->ca_file);
    c.co.onFailure = on_connect_failure;
    c.co.context = o;
    c.ssl.ssl_error_cb = on_ssl_error;
    c.ssl.ssl_error_context = o;
    int rc = MQTTAsync_connect(o->cli, &c.co);
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
    o->base.write_lp = mqtt_write_lp;
    o->base.flush = mqtt_flush;
    o->base.stats = mqtt_stats;
    o->base.publish = mqtt_publish;
    o->base.free = mqtt_free;
    if (copy_config(o, cfg) < 0) {
        ev_err("mqtt: out of memory");
        mqtt_free(&o->base);
        return NULL;
    }
    if (ev_mqtt_spool_open(o, cfg) < 0 || create_client(o) < 0 || start_connect(o) < 0 ||
        ev_mqtt_replayer_start(o) < 0) {
        mqtt_free(&o->base);
        return NULL;
    }
    return &o->base;
}
