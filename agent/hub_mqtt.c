/*
 * hub_mqtt.c - the hub's Paho async client (hub_mqtt.h): subscribe on
 * every connect, copy deliveries into an inbox the event loop drains,
 * publish retained summaries.
 *
 * Clean session is off, so while the hub restarts the broker keeps the
 * QoS 1 messages of its subscriptions for it. The client id (default: the
 * hub id) must therefore be unique per hub.
 */
#include "agent/hub_mqtt.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "agent/log.h"
#include "agent/outputs/mqtt_conn.h"

#define NSUBS 4
#define CLOSE_WAIT_MS 2000

struct ev_hub_mqtt {
    MQTTAsync cli;
    char *url, *prefix, *status_topic;
    char *subs[NSUBS];
    int qos;
    int efd;

    pthread_mutex_t mu;
    /* Under mu. */
    ev_hub_msg *head, *tail;
    size_t queued;
    bool fail_logged, full_logged, ever_connected;
};

/* ---- deliveries (Paho's thread) ------------------------------------------ */

static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *msg)
{
    ev_hub_mqtt *m = ctx;
    size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic);
    size_t plen = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;

    pthread_mutex_lock(&m->mu);
    bool full = m->queued >= EV_HUB_INBOX_MAX, log_full = full && !m->full_logged;
    m->full_logged |= full;
    pthread_mutex_unlock(&m->mu);
    if (log_full)
        ev_warn("hub: %d messages wait to be handled; holding deliveries back until they are", EV_HUB_INBOX_MAX);
    if (full)
        return 0; /* Paho offers it again later */

    ev_hub_msg *e = malloc(sizeof *e + plen + 1);
    char *t = malloc(tlen + 1);
    if (!e || !t) {
        free(e);
        free(t);
        return 0;
    }
    memcpy(t, topic, tlen);
    t[tlen] = 0;
    if (plen)
        memcpy(e->payload, msg->payload, plen);
    e->payload[plen] = 0;
    e->len = plen;
    e->topic = t;
    e->next = NULL;

    pthread_mutex_lock(&m->mu);
    if (m->tail)
        m->tail->next = e;
    else
        m->head = e;
    m->tail = e;
    m->queued++;
    pthread_mutex_unlock(&m->mu);
    uint64_t one = 1;
    if (write(m->efd, &one, sizeof one) < 0 && errno != EAGAIN)
        ev_debug("hub: eventfd write: %s", strerror(errno));
    MQTTAsync_freeMessage(&msg);
    MQTTAsync_free(topic);
    return 1;
}

ev_hub_msg *ev_hub_mqtt_take(ev_hub_mqtt *m)
{
    uint64_t n;
    if (read(m->efd, &n, sizeof n) < 0 && errno != EAGAIN)
        ev_debug("hub: eventfd read: %s", strerror(errno));
    pthread_mutex_lock(&m->mu);
    ev_hub_msg *list = m->head;
    m->head = m->tail = NULL;
    m->queued = 0;
    m->full_logged = false;
    pthread_mutex_unlock(&m->mu);
    return list;
}

void ev_hub_msgs_free(ev_hub_msg *list)
{
    while (list) {
        ev_hub_msg *next = list->next;
        free(list->topic);
        free(list);
        list = next;
    }
}

int ev_hub_mqtt_fd(const ev_hub_mqtt *m)
{
    return m->efd;
}

/* ---- connection (Paho's thread) ------------------------------------------------ */

static void on_sub_failed(void *ctx, MQTTAsync_failureData *d)
{
    ev_hub_mqtt *m = ctx;
    ev_err("hub: the broker at %s refused the subscriptions: %s", m->url,
           d && d->message ? d->message : MQTTAsync_strerror(d ? d->code : -1));
}

static void publish_raw(ev_hub_mqtt *m, const char *topic, const void *payload, size_t len, bool retained)
{
    MQTTAsync_message msg = MQTTAsync_message_initializer;
    msg.payload = (void *)(uintptr_t)payload;
    msg.payloadlen = (int)len;
    msg.qos = m->qos;
    msg.retained = retained;
    int rc = MQTTAsync_sendMessage(m->cli, topic, &msg, NULL);
    if (rc != MQTTASYNC_SUCCESS)
        ev_warn("hub: cannot publish on %s: %s", topic, MQTTAsync_strerror(rc));
}

static void on_connected(void *ctx, char *cause)
{
    ev_hub_mqtt *m = ctx;
    int qos[NSUBS];
    for (int i = 0; i < NSUBS; i++)
        qos[i] = m->qos;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.onFailure = on_sub_failed;
    ro.context = m;
    int rc = MQTTAsync_subscribeMany(m->cli, NSUBS, m->subs, qos, &ro);
    pthread_mutex_lock(&m->mu);
    bool again = m->ever_connected;
    m->ever_connected = true;
    m->fail_logged = false;
    pthread_mutex_unlock(&m->mu);
    if (rc != MQTTASYNC_SUCCESS)
        ev_err("hub: cannot subscribe at %s: %s", m->url, MQTTAsync_strerror(rc));
    else
        ev_log(again ? EV_LOG_NOTICE : EV_LOG_INFO, "hub: %s %s; subscribed to %s, %s, %s, %s",
               again ? "reconnected to" : "connected to", m->url, m->subs[0], m->subs[1], m->subs[2], m->subs[3]);
    publish_raw(m, m->status_topic, "online", 6, true);
}

static void on_connection_lost(void *ctx, char *cause)
{
    ev_hub_mqtt *m = ctx;
    ev_warn("hub: lost the connection to %s%s%s; reconnecting", m->url, cause ? ": " : "", cause ? cause : "");
}

static void on_connect_failure(void *ctx, MQTTAsync_failureData *d)
{
    ev_hub_mqtt *m = ctx;
    pthread_mutex_lock(&m->mu);
    bool log_it = !m->fail_logged;
    m->fail_logged = true;
    pthread_mutex_unlock(&m->mu);
    if (log_it)
        ev_warn("hub: cannot connect to %s: %s; retrying", m->url,
                d && d->message ? d->message : MQTTAsync_strerror(d ? d->code : -1));
}

/* ---- publish, free, construction ------------------------------------------------ */

int ev_hub_mqtt_publish(ev_hub_mqtt *m, const char *topic, const void *payload, size_t len, bool retained)
{
    char *full = NULL;
    if (len > INT32_MAX || asprintf(&full, "%s/%s", m->prefix, topic) < 0)
        return -1;
    MQTTAsync_message msg = MQTTAsync_message_initializer;
    msg.payload = (void *)(uintptr_t)payload;
    msg.payloadlen = (int)len;
    msg.qos = m->qos;
    msg.retained = retained;
    int rc = MQTTAsync_sendMessage(m->cli, full, &msg, NULL);
    free(full);
    return rc == MQTTASYNC_SUCCESS ? 0 : -1;
}

static void on_disconnected(void *ctx, MQTTAsync_successData *d)
{
    *(volatile int *)ctx = 1;
}

static void on_disconnect_failed(void *ctx, MQTTAsync_failureData *d)
{
    *(volatile int *)ctx = 1;
}

void ev_hub_mqtt_stop(ev_hub_mqtt *m)
{
    if (m->cli) {
        volatile int done = 0;
        if (MQTTAsync_isConnected(m->cli)) {
            publish_raw(m, m->status_topic, "offline", 7, true);
            MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
            d.timeout = CLOSE_WAIT_MS; /* lets "offline" go out first */
            d.onSuccess = on_disconnected;
            d.onFailure = on_disconnect_failed;
            d.context = (void *)&done;
            if (MQTTAsync_disconnect(m->cli, &d) == MQTTASYNC_SUCCESS)
                for (int i = 0; i < (CLOSE_WAIT_MS + 1000) / 10 && !done; i++)
                    nanosleep(&(struct timespec){0, 10000000}, NULL);
        }
        MQTTAsync_destroy(&m->cli);
        m->cli = NULL;
    }
}

void ev_hub_mqtt_free(ev_hub_mqtt *m)
{
    if (!m)
        return;
    ev_hub_mqtt_stop(m);
    ev_hub_msgs_free(m->head);
    if (m->efd >= 0)
        close(m->efd);
    pthread_mutex_destroy(&m->mu);
    for (int i = 0; i < NSUBS; i++)
        free(m->subs[i]);
    free(m->url);
    free(m->prefix);
    free(m->status_topic);
    free(m);
}

static int make_topics(ev_hub_mqtt *m, const ev_hub_config *cfg)
{
    const char *p = m->prefix, *g = cfg->group;
    if (asprintf(&m->subs[0], "$share/%s/%s/+/+/+/+", g, p) < 0 || asprintf(&m->subs[1], "$share/%s/%s/agents/+/+", g, p) < 0 ||
        asprintf(&m->subs[2], "%s/+/+/summary", p) < 0 || asprintf(&m->subs[3], "%s/agents/+/status", p) < 0 ||
        asprintf(&m->status_topic, "%s/hubs/%s/status", p, cfg->id) < 0)
        return -1;
    return 0;
}

static int start(ev_hub_mqtt *m, const ev_hub_config *cfg)
{
    MQTTAsync_createOptions cro = MQTTAsync_createOptions_initializer;
    cro.sendWhileDisconnected = 1;
    cro.allowDisconnectedSendAtAnyTime = 1;
    cro.maxBufferedMessages = 1000;
    cro.deleteOldestMessages = 1; /* summaries: a newer one replaces an older one anyway */
    const char *cid = cfg->mqtt.client_id ? cfg->mqtt.client_id : cfg->id;
    int rc = MQTTAsync_createWithOptions(&m->cli, m->url, cid, MQTTCLIENT_PERSISTENCE_NONE, NULL, &cro);
    if (rc != MQTTASYNC_SUCCESS) {
        m->cli = NULL;
        ev_err("hub: cannot use MQTT url '%s': %s", m->url, MQTTAsync_strerror(rc));
        return -1;
    }
    MQTTAsync_setCallbacks(m->cli, m, on_connection_lost, on_message, NULL);
    MQTTAsync_setConnected(m->cli, m, on_connected);

    ev_mqtt_conn c;
    ev_mqtt_conn_init(&c, m->url, m->status_topic, cfg->mqtt.username, cfg->mqtt.password, cfg->mqtt.ca_file);
    c.co.onFailure = on_connect_failure;
    c.co.context = m;
    if ((rc = MQTTAsync_connect(m->cli, &c.co)) != MQTTASYNC_SUCCESS) {
        ev_err("hub: cannot start connecting to %s: %s", m->url, MQTTAsync_strerror(rc));
        return -1;
    }
    return 0;
}

ev_hub_mqtt *ev_hub_mqtt_new(const ev_hub_config *cfg)
{
    ev_hub_mqtt *m = calloc(1, sizeof *m);
    if (!m) {
        ev_err("hub: out of memory");
        return NULL;
    }
    m->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&m->mu, NULL);
    m->qos = cfg->mqtt.qos;
    m->url = strdup(cfg->mqtt.url);
    m->prefix = strdup(cfg->mqtt.topic_prefix ? cfg->mqtt.topic_prefix : "evalley");
    if (m->efd < 0 || !m->url || !m->prefix || make_topics(m, cfg) < 0) {
        ev_err("hub: cannot set up the MQTT client: %s", m->efd < 0 ? strerror(errno) : "out of memory");
        ev_hub_mqtt_free(m);
        return NULL;
    }
    if (start(m, cfg) < 0) {
        ev_hub_mqtt_free(m);
        return NULL;
    }
    return m;
}
