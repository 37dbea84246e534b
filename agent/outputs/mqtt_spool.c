/*
 * mqtt_spool.c - store and forward for the MQTT output (mqtt_priv.h).
 *
 * Why our spool and not Paho's persistence: Paho's file persistence keeps
 * one file per message with no bound, no checksum and no count of what
 * it drops, and its in-memory buffer either refuses or silently drops the
 * oldest once full. The spool (spool.h) is bounded, checksummed, counts its
 * drops, and is the same on every output. So with a spool Paho only ever
 * holds a window of messages in flight (EV_MQTT_WINDOW) while connected:
 * while the broker is away, or the window is full, a message goes to disk
 * as one record "topic\0payload"; a live message Paho gives up on (at
 * shutdown, say) goes to disk too. Paho's in-memory session still resends
 * what was in flight when a connection dropped (clean session off).
 *
 * A replay thread sends the spool's oldest records once connected, one
 * batch at a time, paced to replay_rate points/s (not paced while someone
 * flushes), beside live messages. A batch leaves the disk only once every
 * message in it was acknowledged; if any failed it is sent again later
 * (at least once, like QoS 1 itself: a consumer writing to InfluxDB keeps
 * one point per series and timestamp).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/log.h"
#include "agent/loop.h"
#include "agent/outputs/mqtt_priv.h"

#define REPLAY_RECORDS 200 /* messages per replay batch, at most */

struct replay_batch {
    ev_spool_pos pos;
    uint64_t npoints;
    size_t left; /* messages not settled yet (+1 while still sending) */
    bool failed;
};

int ev_mqtt_spool_open(ev_mqtt *o, const ev_config *cfg)
{
    uint64_t found;
    if (ev_output_spool_open(cfg, "mqtt", &o->spool, &found, &o->replay_rate) < 0)
        return -1;
    if (!o->spool)
        ev_info("mqtt: no spool.dir: up to %d messages are buffered in memory while %s is away",
                EV_MQTT_MAX_BUFFERED, o->url);
    o->in += found;
    return 0;
}

void ev_mqtt_spool_put(ev_mqtt *o, const char *topic, const void *payload, size_t len, size_t npoints)
{
    size_t tl = strlen(topic) + 1;
    char *rec = malloc(tl + len);
    if (!rec) {
        pthread_mutex_lock(&o->mu);
        o->dropped += npoints;
        pthread_mutex_unlock(&o->mu);
        return;
    }
    memcpy(rec, topic, tl);
    memcpy(rec + tl, payload, len);
    ev_spool_append(o->spool, rec, tl + len, (uint32_t)npoints); /* failures counted there */
    free(rec);
}

/* The batch is done: acknowledged whole, it leaves the disk. */
static void batch_done(ev_mqtt *o, replay_batch *b)
{
    if (!b->failed)
        ev_spool_ack(o->spool, b->pos, b->npoints);
    pthread_mutex_lock(&o->mu);
    if (!b->failed)
        o->sent += b->npoints;
    o->batch = NULL;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
    free(b);
}

void ev_mqtt_replay_settled(ev_mqtt *o, replay_batch *b, bool ok)
{
    pthread_mutex_lock(&o->mu);
    if (!ok) {
        b->failed = true;
        o->errors++;
    }
    bool done = --b->left == 0;
    pthread_mutex_unlock(&o->mu);
    if (done)
        batch_done(o, b);
}

/* Send the oldest records. Returns how many points (0: nothing sent). */
static uint64_t send_batch(ev_mqtt *o)
{
    ev_spool_rec *recs[REPLAY_RECORDS];
    uint64_t max_points = o->replay_rate / 5 ? o->replay_rate / 5 : 1; /* ~5 batches a second */
    replay_batch *b = calloc(1, sizeof *b);
    if (!b)
        return 0;
    size_t n = ev_spool_peek(o->spool, recs, REPLAY_RECORDS, max_points, &b->pos);
    if (n == 0) {
        free(b);
        return 0;
    }
    b->left = n + 1; /* the +1 is ours until every message is handed over */
    pthread_mutex_lock(&o->mu);
    o->batch = b;
    pthread_mutex_unlock(&o->mu);
    for (size_t i = 0; i < n; i++) {
        b->npoints += recs[i]->npoints;
        size_t tl = strnlen(recs[i]->data, recs[i]->len);
        pub_ctx *c = malloc(sizeof *c);
        if (c)
            *c = (pub_ctx){.o = o, .npoints = recs[i]->npoints, .kind = MSG_REPLAY, .batch = b};
        if (tl >= recs[i]->len) { /* no topic: not ours */
            free(c);
            ev_mqtt_replay_settled(o, b, false);
        } else {
            ev_mqtt_send(o, recs[i]->data, recs[i]->data + tl + 1, recs[i]->len - tl - 1, false, c);
        }
        free(recs[i]);
    }
    uint64_t pts = b->npoints;
    ev_mqtt_replay_settled(o, b, true); /* drop our +1 */
    return pts;
}

static bool before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void *replayer_main(void *arg)
{
    ev_mqtt *o = arg;
    struct timespec next = ev_mono_deadline(0);
    pthread_mutex_lock(&o->mu);
    while (!o->replay_stop) {
        struct timespec now = ev_mono_deadline(0);
        bool ready = o->connected && !o->closing && !o->batch && o->pending < EV_MQTT_WINDOW &&
                     (o->flushing || !before(&now, &next)) && !ev_spool_empty(o->spool);
        if (ready) {
            pthread_mutex_unlock(&o->mu);
            uint64_t pts = send_batch(o);
            next = ev_mono_deadline(pts * 1000 / o->replay_rate);
            pthread_mutex_lock(&o->mu);
            continue;
        }
        struct timespec until = ev_mono_deadline(200);
        if (before(&now, &next) && before(&next, &until))
            until = next;
        pthread_cond_timedwait(&o->cv, &o->mu, &until);
    }
    pthread_mutex_unlock(&o->mu);
    return NULL;
}

int ev_mqtt_replayer_start(ev_mqtt *o)
{
    if (!o->spool)
        return 0;
    if (pthread_create(&o->replayer, NULL, replayer_main, o) != 0) {
        ev_err("mqtt: cannot start the spool's replay thread");
        return -1;
    }
    o->replayer_started = true;
    return 0;
}

void ev_mqtt_replayer_stop(ev_mqtt *o)
{
    if (!o->replayer_started)
        return;
    pthread_mutex_lock(&o->mu);
    o->replay_stop = true;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
    pthread_join(o->replayer, NULL);
    o->replayer_started = false;
}

uint64_t ev_mqtt_spool_points(ev_mqtt *o)
{
    if (!o->spool)
        return 0;
    ev_spool_stats st;
    ev_spool_stats_get(o->spool, &st);
    return st.points;
}

void ev_mqtt_spool_stats(ev_mqtt *o, ev_output_stats *st)
{
    if (!o->spool)
        return;
    ev_spool_stats ss;
    ev_spool_stats_get(o->spool, &ss);
    st->points_queued += ss.points;
    st->points_dropped += ss.dropped_points;
    st->spool_bytes = ss.bytes;
    st->spool_records = ss.records;
    st->spool_points = ss.points;
    st->spool_dropped = ss.dropped_points;
    st->spool_replayed = ss.replayed_points;
}

void ev_mqtt_spool_close(ev_mqtt *o)
{
    if (!o->spool)
        return;
    uint64_t left = ev_mqtt_spool_points(o);
    if (left)
        ev_notice("mqtt: %llu points for %s kept in the spool for the next start",
                  (unsigned long long)left, o->url);
    ev_spool_close(o->spool);
    o->spool = NULL;
}
