/*
 * mqtt_priv.h - the MQTT output's state, shared by mqtt.c (the Paho
 * client: connection, write, flush, free) and mqtt_spool.c (store and
 * forward: messages to disk while the broker is away, replayed once it is
 * back). Private to agent/outputs/mqtt*.c.
 */
#ifndef EVMON_MQTT_PRIV_H
#define EVMON_MQTT_PRIV_H

#include <MQTTAsync.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent/outputs/mqtt_topic.h"
#include "agent/outputs/output.h"
#include "agent/outputs/spool.h"

#define EV_MQTT_MAX_BUFFERED 20000 /* messages Paho holds while disconnected (no spool) */
#define EV_MQTT_WINDOW 1000        /* with a spool: messages handed to Paho at once */
#define EV_MQTT_CLOSE_WAIT_MS 2000 /* free(): for "offline" and the disconnect */

typedef struct replay_batch replay_batch;

typedef struct {
    ev_output base; /* first: the ev_output * is this struct */
    MQTTAsync cli;
    char *url, *client_id, *username, *password, *ca_file;
    char *prefix, *agent_id, *site, *hall;
    ev_topic_ctx tctx;
    char *status_topic;
    int qos;
    ev_spool *spool; /* NULL: Paho's memory buffer only */
    unsigned replay_rate;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* a message settled, connected, flushing, stop */
    /* Under mu. */
    uint64_t in, sent, dropped, queued, errors;
    unsigned pending; /* messages handed to Paho, not yet settled */
    bool connected, ever_connected, closing, disconnected;
    bool fail_logged, drop_logged, tls_logged;
    unsigned flushing;
    replay_batch *batch;  /* spooled messages in Paho's hands */
    bool replay_stop;
    pthread_t replayer;
    bool replayer_started;
} ev_mqtt;

typedef enum { MSG_LIVE, MSG_REPLAY, MSG_CONTROL } msg_kind;

/* One message handed to Paho; freed by whichever callback settles it. */
typedef struct {
    ev_mqtt *o;
    size_t npoints;
    msg_kind kind;
    replay_batch *batch; /* MSG_REPLAY */
    size_t reclen;       /* MSG_LIVE with a spool: rec = "topic\0payload", */
    char rec[];          /* kept to go to disk if Paho gives up on it */
} pub_ctx;

/* mqtt.c: hand one message to Paho; c (malloc'd by the caller, or NULL
 * when out of memory) is freed when it settles. 0, or -1 when refused. */
int ev_mqtt_send(ev_mqtt *o, const char *topic, const void *payload, size_t len, bool retained,
                 pub_ctx *c);

/* mqtt_spool.c */
int ev_mqtt_spool_open(ev_mqtt *o, const ev_config *cfg);
/* Put one message ("topic" + payload of npoints points) on disk. */
void ev_mqtt_spool_put(ev_mqtt *o, const char *topic, const void *payload, size_t len, size_t npoints);
/* A replayed message settled (from Paho's threads; mu not held). */
void ev_mqtt_replay_settled(ev_mqtt *o, replay_batch *b, bool ok);
int ev_mqtt_replayer_start(ev_mqtt *o);
void ev_mqtt_replayer_stop(ev_mqtt *o);
/* Points waiting on disk (0 without a spool). */
uint64_t ev_mqtt_spool_points(ev_mqtt *o);
void ev_mqtt_spool_stats(ev_mqtt *o, ev_output_stats *st);
void ev_mqtt_spool_close(ev_mqtt *o);

#endif
